//! What the command line itself adds to the link: `-sectcreate` sections,
//! the `-init` initializer pointer (one object made by the linker, named
//! [`CMDLINE_OBJECT`]), `-alias` / `-alias_list` symbols, and
//! `-sectalign` alignments.

use crate::atom::{AliasOf, Atom, Reloc, Target, NONE};
use crate::error::{LinkError, Result};
use crate::input::object::{InputSection, ObjSymbol, ObjectFile};
use crate::options::Options;
use crate::symbols::{Def, SymbolTable};
use object::macho;

/// How diagnostics (and `-t`, `-map`) name the linker's own object.
pub const CMDLINE_OBJECT: &str = "<command line>";

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// The object holding `-sectcreate` contents and the `-init` pointer, if
/// the command line asks for either.
pub fn object(opts: &Options) -> Result<Option<ObjectFile<'static>>> {
    if opts.sectcreate.is_empty() && opts.init.is_none() && opts.empty_sections.is_empty() {
        return Ok(None);
    }
    let mut obj = ObjectFile::empty(CMDLINE_OBJECT.into());
    let add = |obj: &mut ObjectFile<'static>,
               seg: &str,
               sect: &str,
               flags: u32,
               align: u8,
               data: &'static [u8]| {
        let index = obj.sections.len() as u32;
        let addr = obj.sections.last().map_or(0, |s| s.addr + s.size.max(1)) + 8;
        obj.sections.push(InputSection {
            segname: seg.into(),
            sectname: sect.into(),
            addr,
            size: data.len() as u64,
            align_log2: align,
            flags,
            data,
            atoms_start: obj.atoms.len() as u32,
            atoms_len: 1,
            kept: true,
            metadata: false,
        });
        obj.atoms.push(Atom {
            section: u16::try_from(index).expect("fewer than MAX_SECTIONS sections"),
            offset: 0,
            size: data.len() as u32,
            align_log2: align,
            relocs_start: obj.relocs.len() as u32,
            relocs_end: obj.relocs.len() as u32,
            symbol: NONE,
            alias_of: AliasOf::NONE,
            live: true,
        });
    };
    if let Some(init) = &opts.init {
        // One pointer in __mod_init_func, to the -init function; layout
        // puts it before every other initializer.
        static ZEROS: [u8; 8] = [0; 8];
        obj.symbols.push(ObjSymbol {
            name: leak(init.as_bytes().to_vec()),
            n_type: macho::N_UNDF | macho::N_EXT,
            n_sect: 0,
            n_desc: 0,
            n_value: 0,
            atom: NONE,
        });
        add(
            &mut obj,
            "__DATA",
            "__mod_init_func",
            macho::S_MOD_INIT_FUNC_POINTERS,
            3,
            &ZEROS,
        );
        obj.relocs.push(Reloc {
            offset: 0,
            kind: crate::arch::RelocKind::Absolute,
            length: 3,
            target: Target::Symbol(0),
            addend: 0,
            subtrahend: None,
        });
        obj.atoms.last_mut().expect("just added").relocs_end += 1;
    }
    for (seg, sect, path) in &opts.sectcreate {
        let data = std::fs::read(path).map_err(|e| {
            LinkError::file(
                path.display(),
                format!("-sectcreate {seg} {sect}: cannot read: {e}"),
            )
        })?;
        if data.len() > u32::MAX as usize {
            return Err(LinkError::file(
                path.display(),
                format!("-sectcreate {seg} {sect}: too large"),
            ));
        }
        add(
            &mut obj,
            seg,
            sect,
            macho::S_REGULAR | macho::S_ATTR_NO_DEAD_STRIP,
            0,
            leak(data),
        );
    }
    // `-add_empty_section`: kept though nothing is in it.
    for (seg, sect) in &opts.empty_sections {
        add(
            &mut obj,
            seg,
            sect,
            macho::S_REGULAR | macho::S_ATTR_NO_DEAD_STRIP,
            0,
            &[],
        );
    }
    Ok(Some(obj))
}

/// `-alias_list FILE` lines (`SYMBOL ALIAS`, `#` comments) and `-alias`
/// pairs, in command-line order.
pub fn aliases(opts: &Options) -> Result<Vec<(String, String)>> {
    let mut out = opts.aliases.clone();
    for path in &opts.alias_lists {
        let text = std::fs::read_to_string(path).map_err(|e| {
            LinkError::file(path.display(), format!("cannot read -alias_list: {e}"))
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(sym), Some(alias), None) => out.push((sym.into(), alias.into())),
                _ => {
                    return Err(LinkError::file(
                        path.display(),
                        format!("line {}: expected 'SYMBOL ALIAS', found '{line}'", n + 1),
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// Defines every alias at its symbol's definition (a global, whatever the
/// symbol's own visibility). The symbols were marked referenced before
/// archives were searched, so that a member defining one is loaded.
pub fn define_aliases(symtab: &mut SymbolTable, aliases: &[(String, String)]) -> Vec<String> {
    let mut errors = Vec::new();
    for (sym, alias) in aliases {
        let target = symtab
            .get(sym.as_bytes())
            .map(|id| symtab.syms[id as usize].def);
        let Some(Def::Defined {
            file,
            atom,
            offset,
            weak,
            ..
        }) = target
        else {
            errors.push(format!(
                "-alias: symbol {sym} (aliased as {alias}) is not defined in the output"
            ));
            continue;
        };
        let id = symtab.intern(Box::leak(alias.as_bytes().to_vec().into_boxed_slice()));
        let entry = &mut symtab.syms[id as usize];
        match entry.def {
            Def::Undefined | Def::Dylib { .. } | Def::DynamicLookup => {
                entry.def = Def::Defined {
                    file,
                    atom,
                    offset,
                    weak,
                    private_extern: false,
                    interposable: false,
                };
            }
            _ => errors.push(format!(
                "-alias: {alias} (an alias of {sym}) is already defined"
            )),
        }
    }
    errors
}

/// `-sectalign SEG SECT ALIGN`: the section starts on that boundary (the
/// last one given for a section counts; a section the output does not
/// have is ignored, as by lld). An ALIGN smaller than the section's
/// contents need has no effect: lld would lower the section's alignment
/// below its atoms' and misalign them.
pub fn apply_sectalign(opts: &Options, sections: &mut [crate::layout::OutSection]) {
    for s in sections.iter_mut() {
        let last = opts
            .sectalign
            .iter()
            .rev()
            .find(|(seg, sect, _)| *seg == s.segname && *sect == s.sectname);
        if let Some(&(_, _, align)) = last {
            s.align_log2 = s.align_log2.max(align);
        }
    }
}
