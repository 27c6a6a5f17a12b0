//! `-map FILE`: the link map ld64 writes: the input files (objects, then
//! the dylibs and `.tbd` stubs linked against), the output sections, and
//! every symbol with its address, size and file.
//!
//! Synthetic entries are labelled as ld64 labels them: a stub, its stub
//! helper entry and its lazy pointer carry the name of the symbol they
//! lead to and the dylib that exports it; a GOT slot reads
//! `non-lazy-pointer-to: NAME` (`non-lazy-pointer-to-local: NAME` when the
//! image defines NAME); the stub helper's header is `helper helper`,
//! `__unwind_info` is `compact unwind info`, and C strings read
//! `literal string: TEXT`. Linker-made entries are file 0.

use crate::error::{LinkError, Result};
use crate::input::Inputs;
use crate::layout::{Content, Layout};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{Synthetic, Table};
use object::macho;
use std::fmt::Write as _;
use std::path::Path;

/// One `# Symbols:` row: address, size, file index, label.
type Row = (u64, u64, usize, String);

/// File indices of the map: 0 is the linker, objects come next, then each
/// distinct dylib input.
struct Files {
    /// Object → index (0 for the linker's own object).
    objects: Vec<usize>,
    /// `inputs.dylibs` entry → index (several entries may share one file:
    /// a `.tbd` with re-exported libraries).
    dylibs: Vec<usize>,
    /// Index → name, from 1.
    names: Vec<String>,
}

impl Files {
    fn new(inputs: &Inputs) -> Files {
        let mut names: Vec<String> = Vec::new();
        let objects = inputs
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                if inputs.dyld_private == Some(i as u32) {
                    0
                } else {
                    names.push(o.name.clone());
                    names.len()
                }
            })
            .collect();
        let first_dylib = names.len();
        let dylibs = inputs
            .dylibs
            .iter()
            .map(
                |d| match names[first_dylib..].iter().position(|n| *n == d.name) {
                    Some(i) => first_dylib + i + 1,
                    None => {
                        names.push(d.name.clone());
                        names.len()
                    }
                },
            )
            .collect();
        Files {
            objects,
            dylibs,
            names,
        }
    }

    /// The file a symbol comes from: its dylib, its object, or the linker.
    fn of(&self, def: Def) -> usize {
        match def {
            Def::Dylib { dylib, .. } => self.dylibs.get(dylib as usize).copied().unwrap_or(0),
            Def::Defined { file, .. } => self.objects.get(file as usize).copied().unwrap_or(0),
            _ => 0,
        }
    }
}

fn is_local(def: Def) -> bool {
    matches!(
        def,
        Def::Defined { .. } | Def::Absolute { .. } | Def::Header | Def::Placed { .. }
    )
}

/// A C string's label: its text, escaped as ld64 prints it.
fn literal(bytes: &[u8]) -> String {
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    let mut out = String::from("literal string: ");
    for c in String::from_utf8_lossy(text).chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Rows for a table of synthetic entries, `size` bytes each from `addr`.
fn entries(
    table: &Table,
    addr: u64,
    size: u64,
    symtab: &SymbolTable,
    label: impl Fn(SymId, &str) -> (usize, String),
) -> Vec<Row> {
    let at = |i: usize| addr + i as u64 * size;
    table
        .entries
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let name = String::from_utf8_lossy(symtab.syms[id as usize].name);
            let (file, text) = label(id, &name);
            (at(i), size, file, text)
        })
        .collect()
}

pub fn write_map(
    path: &Path,
    output: &Path,
    arch: &dyn crate::arch::Arch,
    inputs: &Inputs,
    symtab: &SymbolTable,
    synth: &Synthetic,
    layout: &Layout,
) -> Result<()> {
    let files = Files::new(inputs);
    let objects = &inputs.objects;
    let mut m = String::new();
    let _ = writeln!(m, "# Path: {}", output.display());
    let _ = writeln!(m, "# Arch: {}", arch.name());
    let _ = writeln!(m, "# Object files:");
    let _ = writeln!(m, "[{:>3}] linker synthesized", 0);
    for (i, name) in files.names.iter().enumerate() {
        let _ = writeln!(m, "[{:>3}] {name}", i + 1);
    }
    let _ = writeln!(m, "# Sections:\n# Address\tSize    \tSegment\tSection");
    for s in &layout.sections {
        let _ = writeln!(
            m,
            "0x{:08X}\t0x{:08X}\t{}\t{}",
            s.addr, s.size, s.segname, s.sectname
        );
    }
    let _ = writeln!(m, "# Symbols:\n# Address\tSize    \tFile  Name");
    let def = |id: SymId| symtab.syms[id as usize].def;
    // Stubs, stub helper entries and lazy pointers: the imported symbol.
    let imported = |id: SymId, name: &str| (files.of(def(id)), name.to_string());
    let mut rows: Vec<Row> = Vec::new();
    for s in &layout.sections {
        match &s.content {
            Content::Stubs => rows.extend(entries(
                &synth.stubs,
                s.addr,
                arch.stub_size(),
                symtab,
                imported,
            )),
            Content::LazyPointers => {
                rows.extend(entries(&synth.stubs, s.addr, 8, symtab, imported))
            }
            Content::StubHelper => {
                let header = arch.stub_helper_header_size();
                rows.push((s.addr, header, 0, "helper helper".into()));
                rows.extend(entries(
                    &synth.lazy,
                    s.addr + header,
                    arch.stub_helper_entry_size(),
                    symtab,
                    imported,
                ));
            }
            Content::Got => rows.extend(entries(&synth.got, s.addr, 8, symtab, |id, name| {
                let to = if is_local(def(id)) {
                    "non-lazy-pointer-to-local"
                } else {
                    "non-lazy-pointer-to"
                };
                (0, format!("{to}: {name}"))
            })),
            Content::ThreadPtrs => {
                rows.extend(entries(&synth.thread_ptrs, s.addr, 8, symtab, |_, name| {
                    (0, format!("thread-local-pointer-to: {name}"))
                }))
            }
            Content::UnwindInfo => rows.push((s.addr, s.size, 0, "compact unwind info".into())),
            Content::Atoms(list) => {
                for &(f, a) in list {
                    let obj = &objects[f as usize];
                    let atom = &obj.atoms[a as usize];
                    let file = files.objects.get(f as usize).copied().unwrap_or(0);
                    let section = obj.sections.get(atom.section as usize);
                    let name = if inputs.dyld_private == Some(f) {
                        "__dyld_private".to_string()
                    } else if let Some(name) = obj.atom_name(a) {
                        String::from_utf8_lossy(name).into_owned()
                    } else if let Some(sec) = section
                        .filter(|sec| sec.flags & macho::SECTION_TYPE == macho::S_CSTRING_LITERALS)
                    {
                        let start = atom.offset as usize;
                        let bytes = sec
                            .data
                            .get(start..start + atom.size as usize)
                            .unwrap_or(&[]);
                        literal(bytes)
                    } else {
                        "<anonymous>".to_string()
                    };
                    rows.push((
                        layout.atom_addr[f as usize][a as usize],
                        u64::from(atom.size),
                        file,
                        name,
                    ));
                }
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    for (addr, size, file, name) in rows {
        let _ = writeln!(m, "0x{addr:08X}\t0x{size:08X}\t[{file:>3}] {name}");
    }
    crate::output::write_named(path, m.as_bytes())
        .map_err(|e| LinkError::file(path.display(), format!("cannot write link map: {e}")))
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn map_literal_strings_read_as_ld64_prints_them() {
        assert_eq!(literal(b"%d\n\0"), "literal string: %d\\n");
        assert_eq!(literal(b"a\tb"), "literal string: a\\tb");
        assert_eq!(literal(b""), "literal string: ");
    }
}
