//! Compact unwind: the `__LD,__compact_unwind` entries of the objects
//! become the output's `__TEXT,__unwind_info` (built by
//! [`crate::unwind_info`]). Every placed function gets a row; one without an
//! entry gets encoding 0 ("no unwind info"), as ld64 does.
//!
//! Entry layout: function address (+0, relocated), length (+8), encoding
//! (+12), personality pointer (+16, relocated), LSDA address (+24,
//! relocated).

use crate::atom::{Reloc, Target, NONE};
use crate::input::object::ObjectFile;
use crate::layout::{self, Content, Placed};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::unwind_info::{UnwindEntry, UnwindInfoError, UnwindPlan};
use rayon::prelude::*;

/// Rows planned for one object's functions, with the LSDAs they name
/// (their `lsda` numbers count from 1 within `lsdas`) and the functions'
/// keys (file, atom, offset in the atom).
#[derive(Default)]
struct Rows {
    rows: Vec<UnwindEntry>,
    lsdas: Vec<(u32, u32, i64)>,
    keys: Vec<(u32, u32, u32)>,
}

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
    target_of(fi, r, symtab)
}

/// The relocations of an entry's function (+0), personality (+16) and
/// LSDA (+24) fields, the first of each, found in one pass.
fn entry_fields<'o>(obj: &'o ObjectFile, entry: u32) -> [Option<&'o Reloc>; 3] {
    let a = &obj.atoms[entry as usize];
    let mut fields = [None; 3];
    for r in &obj.relocs[a.relocs_start as usize..a.relocs_end as usize] {
        let slot = match r.offset {
            0 => &mut fields[0],
            16 => &mut fields[1],
            24 => &mut fields[2],
            _ => continue,
        };
        slot.get_or_insert(r);
    }
    fields
}

/// The atom (file, atom, offset) relocation `r` of file `fi` points at.
fn target_of(fi: u32, r: &Reloc, symtab: &SymbolTable) -> Option<(u32, u32, i64)> {
    match r.target {
        Target::Atom(t) => Some((fi, t, r.addend)),
        Target::Symbol(_) => match symtab.syms[symtab.global_of(fi, r.target)? as usize].def {
            Def::Defined {
                file, atom, offset, ..
            } => r
                .addend
                .checked_add(i64::from(offset))
                .map(|at| (file, atom, at)),
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
        out.extend(entries_of(obj, fi as u32, symtab).map(|(e, ff, fa)| (fi as u32, e, ff, fa)));
    }
    out
}

/// The compact unwind entry atoms of object `fi`: (entry atom, function
/// file, function atom).
pub fn entries_of<'a>(
    obj: &'a ObjectFile,
    fi: u32,
    symtab: &'a SymbolTable,
) -> impl Iterator<Item = (u32, u32, u32)> + 'a {
    obj.sections
        .iter()
        .filter(|s| s.metadata)
        .flat_map(|sec| sec.atoms_start..sec.atoms_start + sec.atoms_len)
        .filter_map(move |e| reloc_target(obj, fi, e, 0, symtab).map(|(ff, fa, _)| (e, ff, fa)))
}

/// Every FDE of the `__eh_frame` sections that is still wanted: (file, FDE
/// atom, function atom, the function's offset in that atom). FDEs already
/// dead (of a function with a compact encoding, or of a coalesced weak
/// copy) are left out, so that nothing brings them back.
pub fn fdes(objects: &[ObjectFile]) -> Vec<(u32, u32, u32, u32)> {
    let mut out = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
        let eh = obj.sections.iter().filter(|s| {
            s.kept && s.segname == "__TEXT" && s.sectname == crate::input::object::EH_FRAME
        });
        for sec in eh {
            for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                let atom = &obj.atoms[a as usize];
                if !atom.live {
                    continue;
                }
                if let Some((func, offset)) = obj.fde_function(a) {
                    out.push((fi as u32, a, func, offset));
                }
            }
        }
    }
    out
}

/// Whether some live function has unwind information: a compact unwind
/// entry or an FDE. Without any, lld writes no `__unwind_info`.
pub fn any_function_described(objects: &[ObjectFile], symtab: &SymbolTable) -> bool {
    let live = |f: u32, a: u32| objects[f as usize].atoms[a as usize].live;
    // Stops at the first (usually in the first object).
    objects.iter().enumerate().any(|(fi, obj)| {
        entries_of(obj, fi as u32, symtab).any(|(e, ff, fa)| live(fi as u32, e) && live(ff, fa))
    }) || fdes(objects)
        .into_iter()
        .any(|(f, _, func, _)| live(f, func))
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

/// The `__unwind_info` of a link: planned during layout, as soon as every
/// function has its address (code precedes `__unwind_info`), so that the
/// section gets exactly the size it needs; encoded once the personality GOT
/// slots and the LSDAs have their addresses, which do not change that size.
pub struct UnwindTable {
    /// One row per function (kept for an incremental link's state only,
    /// else empty), with output addresses, except that
    /// `personality_got` is the personality's symbol id + 1 and `lsda` an
    /// index + 1 into `lsdas` (keys, see [`UnwindPlan`]); 0 is none.
    pub rows: Vec<UnwindEntry>,
    /// The LSDAs the rows name: (file, atom, offset).
    lsdas: Vec<(u32, u32, i64)>,
    plan: UnwindPlan,
}

impl UnwindTable {
    /// Bytes the section needs.
    pub fn size(&self) -> u64 {
        self.plan.size()
    }

    /// The section contents, with the final personality and LSDA addresses.
    pub fn encode(
        &self,
        atom_addr: &[Vec<u64>],
        got_slot: &dyn Fn(SymId) -> Option<u64>,
    ) -> Result<Vec<u8>, UnwindInfoError> {
        self.plan.encode(
            |key| got_slot((key - 1) as SymId),
            |key| {
                let (f, a, off) = self.lsdas[key as usize - 1];
                let base = atom_addr[f as usize][a as usize];
                (base != 0).then(|| (base as i64 + off) as u64)
            },
        )
    }
}

/// Plans `__unwind_info` from what layout has placed: the functions (every
/// code section comes before `__unwind_info`; a function not placed yet
/// gets no row) and the `__eh_frame` section's contents, whose offsets
/// DWARF-mode encodings hold. `keep_rows`: whether the table keeps its
/// rows for the incremental state (see [`UnwindTable::rows`]); a plain
/// link drops them once planned, some 32 bytes a function it would
/// otherwise hold through LINKEDIT, the link's peak of memory.
pub fn plan(
    arch: &dyn crate::arch::Arch,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    placed: &Placed,
    keep_rows: bool,
) -> Result<UnwindTable, UnwindInfoError> {
    let addr = |f: u32, a: u32| placed.atom_addr[f as usize][a as usize];
    // A DWARF-mode encoding defers to `__eh_frame`.
    let mode_dwarf = arch.unwind_mode_dwarf();
    // Functions are keyed by where they start, (file, atom, offset in the
    // atom): an object without subsections keeps a section's functions
    // in one atom, each with its own compact entry or FDE.
    // An FDE atom's offset in the output __eh_frame.
    let mut fde_offset: rustc_hash::FxHashMap<(u32, u32), u64> = Default::default();
    let eh_frame = placed
        .sections
        .iter()
        .find(|s| s.segname == "__TEXT" && s.sectname == crate::input::object::EH_FRAME);
    if let Some(Content::Atoms(list)) = eh_frame.map(|s| &s.content) {
        // Sized once: an arm64 link has an FDE for most functions.
        fde_offset.reserve(list.len());
        // Not code, so no slots even in an incremental link.
        layout::place_atoms(objects, list, None, |f, a, off| {
            fde_offset.insert((f, a), off);
        });
    }
    // A function's FDE: its offset in the output and the FDE atom.
    let fde_of: rustc_hash::FxHashMap<(u32, u32, u32), (u32, u32)> = if fde_offset.is_empty() {
        Default::default()
    } else {
        let fdes = fdes(objects);
        let mut fde_of = rustc_hash::FxHashMap::default();
        fde_of.reserve(fdes.len());
        fde_of.extend(fdes.into_iter().filter_map(|(f, fde, func, at)| {
            Some(((f, func, at), (*fde_offset.get(&(f, fde))? as u32, fde)))
        }));
        fde_of
    };
    let dwarf = |key: (u32, u32, u32)| {
        fde_of
            .get(&key)
            .map(|&(off, _)| mode_dwarf | (off & 0x00ff_ffff))
    };
    // A row that defers to DWARF names the LSDA its FDE names (as lld
    // does), so that the personality routine finds it in the index too.
    let fde_lsda = |(f, a, at): (u32, u32, u32), lsdas: &mut Vec<(u32, u32, i64)>| -> u64 {
        let Some(&(_, fde)) = fde_of.get(&(f, a, at)) else {
            return 0;
        };
        let obj = &objects[f as usize];
        let atom = &obj.atoms[fde as usize];
        let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
        match crate::input::eh_frame::fde_lsda(relocs) {
            Some((la, off)) if obj.atoms[la as usize].live => {
                lsdas.push((f, la, off));
                lsdas.len() as u64
            }
            _ => 0,
        }
    };
    // The rows of the functions with a compact unwind entry, each
    // object's on its own thread.
    let with_entries: Vec<Rows> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let fi = fi as u32;
            // What `entries_of` yields, with every field's relocation read
            // in one pass over the entry's.
            let metadata = || obj.sections.iter().filter(|s| s.metadata);
            let count: u32 = metadata().map(|sec| sec.atoms_len).sum();
            let mut out = Rows {
                rows: Vec::with_capacity(count as usize),
                lsdas: Vec::new(),
                keys: Vec::with_capacity(count as usize),
            };
            let entries =
                metadata().flat_map(|sec| sec.atoms_start..sec.atoms_start + sec.atoms_len);
            for e in entries {
                let [function, personality, lsda] = entry_fields(obj, e);
                let Some((ff, fa, offset)) = function.and_then(|r| target_of(fi, r, symtab)) else {
                    continue;
                };
                let func = &objects[ff as usize].atoms[fa as usize];
                if !func.live || !obj.atoms[e as usize].live || addr(ff, fa) == 0 {
                    continue;
                }
                // An object without subsections keeps a section's functions
                // in one atom: the entry names where in it its function starts.
                let key = (ff, fa, u32::try_from(offset).unwrap_or(u32::MAX));
                let data = obj.atom_data(e);
                let mut encoding = read_u32(data, 12);
                if encoding & MODE_MASK == mode_dwarf {
                    // Point at the FDE's place in the output __eh_frame.
                    encoding = dwarf(key).unwrap_or(0);
                }
                let personality_got = personality
                    .and_then(|r| symtab.global_of(fi, r.target))
                    .map_or(0, |g| u64::from(g) + 1);
                // An LSDA in a live atom is placed by the time the table is
                // encoded.
                let mut lsda = match lsda.and_then(|r| target_of(fi, r, symtab)) {
                    Some((lf, la, off)) if objects[lf as usize].atoms[la as usize].live => {
                        out.lsdas.push((lf, la, off));
                        out.lsdas.len() as u64
                    }
                    _ => 0,
                };
                if lsda == 0 && encoding & MODE_MASK == mode_dwarf {
                    lsda = fde_lsda(key, &mut out.lsdas);
                }
                out.keys.push(key);
                out.rows.push(UnwindEntry {
                    function_addr: addr(ff, fa).wrapping_add(offset as u64),
                    length: read_u32(data, 8),
                    encoding,
                    personality_got,
                    lsda,
                });
            }
            out
        })
        .collect();
    // Atoms with a row of an entry (an entry may name a function of
    // another object: a coalesced definition).
    let mut covered_atoms: Vec<Vec<bool>> =
        objects.iter().map(|o| vec![false; o.atoms.len()]).collect();
    for &(f, a, _) in with_entries.iter().flat_map(|r| &r.keys) {
        covered_atoms[f as usize][a as usize] = true;
    }
    // Functions without an entry still get a row, so the unwinder does not
    // attribute them to the function before.
    let without: Vec<Rows> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let mut out = Rows::default();
            for (ai, atom) in obj.atoms.iter().enumerate() {
                let sec = obj.section_of(ai as u32);
                let code = crate::section_flags::is_code(sec.flags);
                if !code || !sec.kept || sec.metadata || !atom.live || atom.symbol == NONE {
                    continue;
                }
                if covered_atoms[fi][ai] || addr(fi as u32, ai as u32) == 0 {
                    continue;
                }
                let key = (fi as u32, ai as u32, 0);
                let encoding = dwarf(key).unwrap_or(0);
                let lsda = if encoding == 0 {
                    0
                } else {
                    fde_lsda(key, &mut out.lsdas)
                };
                out.keys.push(key);
                out.rows.push(UnwindEntry {
                    function_addr: addr(fi as u32, ai as u32),
                    length: atom.size,
                    encoding,
                    personality_got: 0,
                    lsda,
                });
            }
            out
        })
        .collect();
    // One list, in the order of a single pass over the objects (entries
    // first), with each part's LSDA numbers moved past the parts before.
    let parts = || with_entries.iter().chain(&without);
    let mut lsdas = Vec::with_capacity(parts().map(|p| p.lsdas.len()).sum());
    let mut rows = Vec::with_capacity(parts().map(|p| p.rows.len()).sum());
    let mut covered = rustc_hash::FxHashSet::default();
    if !fde_of.is_empty() {
        covered.reserve(rows.capacity());
    }
    for part in with_entries.into_iter().chain(without) {
        let base = lsdas.len() as u64;
        lsdas.extend(part.lsdas);
        rows.extend(part.rows.into_iter().map(|mut r| {
            if r.lsda != 0 {
                r.lsda += base;
            }
            r
        }));
        if !fde_of.is_empty() {
            covered.extend(part.keys);
        }
    }
    // A function an FDE describes, inside an atom, without an entry of
    // its own (an object without subsections or compact unwind entries):
    // its DWARF row, where it starts.
    let mut inner: Vec<(u32, u32, u32)> = fde_of
        .keys()
        .copied()
        .filter(|k| !covered.contains(k))
        .collect();
    inner.sort_unstable();
    for key @ (f, a, at) in inner {
        let atom = &objects[f as usize].atoms[a as usize];
        if !atom.live || addr(f, a) == 0 || at >= atom.size {
            continue;
        }
        let lsda = fde_lsda(key, &mut lsdas);
        rows.push(UnwindEntry {
            function_addr: addr(f, a) + u64::from(at),
            length: atom.size - at,
            encoding: dwarf(key).unwrap_or(0),
            personality_got: 0,
            lsda,
        });
    }
    // The end marker follows the last function (the planner takes the
    // larger of this and the last row's end).
    let text_end = 0;
    let plan = crate::unwind_info::plan_unwind_info(&rows, placed.image_base, text_end, &|e| {
        arch.unwind_can_fold(e)
    })?;
    if !keep_rows {
        rows = Vec::new();
    }
    Ok(UnwindTable { rows, lsdas, plan })
}
