//! Compact unwind: the `__LD,__compact_unwind` entries of the objects
//! become the output's `__TEXT,__unwind_info` (built by
//! [`crate::unwind_info`]). Every placed function gets a row; one without an
//! entry gets encoding 0 ("no unwind info"), as ld64 does.
//!
//! Entry layout: function address (+0, relocated), length (+8), encoding
//! (+12), personality pointer (+16, relocated), LSDA address (+24,
//! relocated).

use crate::atom::{Target, NONE};
use crate::input::object::ObjectFile;
use crate::layout::Layout;
use crate::symbols::{Def, SymId, SymbolTable};
use crate::unwind_info::UnwindEntry;

/// The bits of a compact unwind encoding that hold its mode.
const MODE_MASK: u32 = 0x0f00_0000;

/// The atom a relocation in a compact unwind entry points at, with its offset.
fn reloc_target(
    obj: &ObjectFile,
    fi: u32,
    entry: u32,
    field: u32,
    symtab: &SymbolTable,
) -> Option<(u32, u32, i64)> {
    let a = &obj.atoms[entry as usize];
    let r = obj.relocs[a.relocs_start as usize..a.relocs_end as usize]
        .iter()
        .find(|r| r.offset == field)?;
    match r.target {
        Target::Atom(t) => Some((fi, t, r.addend)),
        Target::Symbol(_) => match symtab.syms[symtab.global_of(fi, r.target)? as usize].def {
            Def::Defined {
                file, atom, offset, ..
            } => Some((file, atom, r.addend + i64::from(offset))),
            _ => None,
        },
    }
}

/// The global symbol an entry's personality pointer names.
pub fn personality(obj: &ObjectFile, fi: u32, entry: u32, symtab: &SymbolTable) -> Option<SymId> {
    let a = &obj.atoms[entry as usize];
    let r = obj.relocs[a.relocs_start as usize..a.relocs_end as usize]
        .iter()
        .find(|r| r.offset == 16)?;
    symtab.global_of(fi, r.target)
}

/// Every compact unwind entry atom: (file, entry atom, function file, function atom).
pub fn entries(objects: &[ObjectFile], symtab: &SymbolTable) -> Vec<(u32, u32, u32, u32)> {
    let mut out = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
        for sec in obj.sections.iter().filter(|s| s.metadata) {
            for e in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                if let Some((ff, fa, _)) = reloc_target(obj, fi as u32, e, 0, symtab) {
                    out.push((fi as u32, e, ff, fa));
                }
            }
        }
    }
    out
}

/// Every FDE of the `__eh_frame` sections: (file, FDE atom, function atom).
pub fn fdes(objects: &[ObjectFile]) -> Vec<(u32, u32, u32)> {
    let mut out = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
        let eh = obj.sections.iter().filter(|s| {
            s.kept && s.segname == "__TEXT" && s.sectname == crate::input::object::EH_FRAME
        });
        for sec in eh {
            for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                let atom = &obj.atoms[a as usize];
                let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
                if let Some(Target::Atom(func)) = crate::input::eh_frame::fde_function(relocs) {
                    out.push((fi as u32, a, func));
                }
            }
        }
    }
    out
}

/// Whether an entry names an LSDA (a relocation at +24).
pub fn has_lsda(obj: &ObjectFile, entry: u32) -> bool {
    let a = &obj.atoms[entry as usize];
    obj.relocs[a.relocs_start as usize..a.relocs_end as usize]
        .iter()
        .any(|r| r.offset == 24)
}

/// How many live code atoms start with a symbol (each may need a row).
pub fn code_atoms(objects: &[ObjectFile]) -> u64 {
    objects
        .iter()
        .map(|obj| {
            obj.atoms
                .iter()
                .enumerate()
                .filter(|(ai, a)| {
                    let sec = obj.section_of(*ai as u32);
                    a.live
                        && a.symbol != NONE
                        && sec.kept
                        && !sec.metadata
                        && crate::section_flags::is_code(sec.flags)
                })
                .count() as u64
        })
        .sum()
}

fn read_u32(data: &[u8], at: usize) -> u32 {
    data.get(at..at + 4)
        .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
}

/// The rows of `__unwind_info`, with output addresses.
pub fn rows(
    arch: &dyn crate::arch::Arch,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    layout: &Layout,
    got_slot: &dyn Fn(SymId) -> Option<u64>,
) -> Vec<UnwindEntry> {
    let addr = |f: u32, a: u32| layout.atom_addr[f as usize][a as usize];
    // A function described by an FDE: its offset in the output __eh_frame.
    let eh_frame_addr = layout
        .sections
        .iter()
        .find(|s| s.segname == "__TEXT" && s.sectname == crate::input::object::EH_FRAME)
        .map_or(0, |s| s.addr);
    let fde_of: rustc_hash::FxHashMap<(u32, u32), u32> = fdes(objects)
        .into_iter()
        .filter(|&(f, fde, _)| objects[f as usize].atoms[fde as usize].live)
        .map(|(f, fde, func)| ((f, func), addr(f, fde).saturating_sub(eh_frame_addr) as u32))
        .collect();
    // A DWARF-mode encoding defers to `__eh_frame`.
    let mode_dwarf = arch.unwind_mode_dwarf();
    let dwarf = |f: u32, a: u32| {
        fde_of
            .get(&(f, a))
            .map(|&off| mode_dwarf | (off & 0x00ff_ffff))
    };
    let mut covered = rustc_hash::FxHashSet::default();
    let mut out = Vec::new();
    for (fi, e, ff, fa) in entries(objects, symtab) {
        let obj = &objects[fi as usize];
        let func = &objects[ff as usize].atoms[fa as usize];
        if !func.live || !obj.atoms[e as usize].live || addr(ff, fa) == 0 {
            continue;
        }
        let data = obj.atom_data(e);
        let mut encoding = read_u32(data, 12);
        if encoding & MODE_MASK == mode_dwarf {
            // Point at the FDE's place in the output __eh_frame.
            encoding = dwarf(ff, fa).unwrap_or(0);
        }
        let personality_got =
            personality(obj, fi, e, symtab).map_or(0, |g| got_slot(g).unwrap_or(0));
        let lsda = reloc_target(obj, fi, e, 24, symtab).map_or(0, |(lf, la, off)| {
            let base = addr(lf, la);
            if base == 0 {
                0
            } else {
                (base as i64 + off) as u64
            }
        });
        covered.insert((ff, fa));
        out.push(UnwindEntry {
            function_addr: addr(ff, fa),
            length: read_u32(data, 8),
            encoding,
            personality_got,
            lsda,
        });
    }
    // Functions without an entry still get a row, so the unwinder does not
    // attribute them to the function before.
    for (fi, obj) in objects.iter().enumerate() {
        for (ai, atom) in obj.atoms.iter().enumerate() {
            let sec = obj.section_of(ai as u32);
            let code = crate::section_flags::is_code(sec.flags);
            if !code || !sec.kept || sec.metadata || !atom.live || atom.symbol == NONE {
                continue;
            }
            if covered.contains(&(fi as u32, ai as u32)) || addr(fi as u32, ai as u32) == 0 {
                continue;
            }
            out.push(UnwindEntry {
                function_addr: addr(fi as u32, ai as u32),
                length: atom.size,
                encoding: dwarf(fi as u32, ai as u32).unwrap_or(0),
                personality_got: 0,
                lsda: 0,
            });
        }
    }
    out
}
