//! Range-extension thunks: when the code of an image spans more than a
//! direct branch reaches (±128 MiB on arm64), calls to far functions (or
//! to far stubs of imports) go through a thunk, a short far jump the
//! linker places in an *island* between functions, near the call.
//!
//! The design, simpler than lld's one-pass finalisation:
//!
//! 1. Layout runs once without islands. If the code (every code section
//!    of the image, `__stubs` included) spans less than the branch reach,
//!    no call can be out of range and nothing else happens: one check per
//!    section, so ordinary links cost nothing more.
//! 2. Otherwise the code atoms are cut, in address order, into *windows*
//!    of at most [`spacing`] bytes; an island may follow each window.
//!    Every call whose target lies farther than the reach less a margin
//!    gets a thunk for that target in its window's island (one per
//!    distinct target), or in the island before its window when the
//!    window's own is too far (a window that is one huge function).
//!    [`plan_islands`] is that step, a pure function.
//! 3. Layout runs again with each island as extra space after its window's
//!    last atom. Addresses only grow, by at most the islands' total size,
//!    which the margin covers; so every call that ends up out of direct
//!    reach has its thunk, and every thunk is still in reach of its calls.
//! 4. Relocation redirects a branch to its thunk only when the target is
//!    out of direct reach at the final addresses; a thunk is a trampoline
//!    ([`crate::arch::Arch::write_trampoline`]) to the target.

use crate::arch::{Arch, RelocKind};
use crate::atom::{Reloc, Target, NONE};
use crate::input::object::ObjectFile;
use crate::layout::{Content, Gap, Layout};
use crate::linkedit::symtab::Nlist;
use crate::relocate::Resolved;
use crate::symbols::{Def, SymId, SymbolTable};
use rustc_hash::FxHashMap;

/// What a thunk jumps to: an identity that survives re-layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Callee {
    /// A global symbol (a function in the image, or an import through
    /// its stub).
    Symbol(SymId),
    /// An atom a section-relative branch names.
    Atom { file: u32, atom: u32 },
}

/// A thunk's target: the callee plus the branch's addend (lld names a
/// thunk with an addend `_f+8.thunk.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ThunkKey {
    pub callee: Callee,
    pub addend: i64,
}

/// A code atom's address range, for the planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeAtom {
    pub start: u64,
    pub end: u64,
}

/// A direct branch: where it is, in which code atom (an index into the
/// planner's atom list), what it calls and where that is.
#[derive(Clone, Copy, Debug)]
pub struct CallSite<K> {
    pub site: u64,
    pub atom: usize,
    pub key: K,
    pub target: u64,
}

/// An island the planner decided on: after which code atom it goes and
/// the targets of its thunks, in first-use order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedIsland<K> {
    pub after: usize,
    pub thunks: Vec<K>,
}

/// A far call that no island can serve: it sits too deep inside a code
/// atom larger than the reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreachable<K> {
    pub key: K,
    pub site: u64,
    pub target: u64,
}

/// How far apart islands are: a quarter of the reach, so that a call is
/// well within reach of the island after its window, with room for the
/// margin.
pub fn spacing(reach: u64) -> u64 {
    reach / 4
}

/// Cuts the code atoms (in address order) into windows of at most
/// `spacing` bytes, each ending at an atom boundary; an atom larger than
/// `spacing` is a window of its own. Returns each atom's window and each
/// window's last atom.
fn windows(atoms: &[CodeAtom], spacing: u64) -> (Vec<u32>, Vec<usize>) {
    let mut of_atom = Vec::with_capacity(atoms.len());
    let mut last = Vec::new();
    let mut start = atoms.first().map_or(0, |a| a.start);
    for (i, a) in atoms.iter().enumerate() {
        if i > 0 && a.end - start > spacing {
            last.push(i - 1);
            start = a.start;
        }
        of_atom.push(last.len() as u32);
    }
    if !atoms.is_empty() {
        last.push(atoms.len() - 1);
    }
    (of_atom, last)
}

/// Plans the islands: for every call whose target is more than `limit`
/// bytes away (the reach less a margin for the growth islands cause), a
/// thunk for its target in the island after its window when that is
/// within `limit` of the call, else in the island before its window.
/// Islands without thunks are left out; the rest come in address order.
pub fn plan_islands<K: Copy + Eq + std::hash::Hash>(
    atoms: &[CodeAtom],
    calls: &[CallSite<K>],
    spacing: u64,
    limit: u64,
) -> Result<Vec<PlannedIsland<K>>, Unreachable<K>> {
    let (window_of, window_last) = windows(atoms, spacing);
    // Per window: its island's thunks, and which targets it has.
    let mut islands: Vec<PlannedIsland<K>> = Vec::new();
    let mut island_of_window: FxHashMap<usize, (usize, rustc_hash::FxHashSet<K>)> =
        FxHashMap::default();
    for c in calls {
        if c.target.abs_diff(c.site) <= limit {
            continue;
        }
        let w = window_of[c.atom] as usize;
        let after_end = atoms[window_last[w]].end;
        let window = if after_end - c.site <= limit {
            w
        } else if w > 0 && c.site - atoms[window_last[w - 1]].end <= limit {
            w - 1
        } else {
            return Err(Unreachable {
                key: c.key,
                site: c.site,
                target: c.target,
            });
        };
        let (index, keys) = island_of_window.entry(window).or_insert_with(|| {
            islands.push(PlannedIsland {
                after: window_last[window],
                thunks: Vec::new(),
            });
            (islands.len() - 1, Default::default())
        });
        if keys.insert(c.key) {
            islands[*index].thunks.push(c.key);
        }
    }
    islands.sort_by_key(|i| i.after);
    Ok(islands)
}

/// One island in the image: where it is, its section and its thunks.
#[derive(Clone, Debug)]
pub(crate) struct Island {
    pub addr: u64,
    /// Index of the output section holding it.
    pub section: u32,
    pub thunks: Vec<ThunkKey>,
    index: FxHashMap<ThunkKey, u32>,
}

/// Every thunk of the image; empty when the code is within reach.
#[derive(Clone, Debug, Default)]
pub(crate) struct Thunks {
    /// In address order.
    pub islands: Vec<Island>,
    /// Bytes of one thunk (the largest trampoline, 4-byte aligned).
    pub slot: u64,
}

impl Thunks {
    pub fn is_empty(&self) -> bool {
        self.islands.is_empty()
    }

    pub fn count(&self) -> usize {
        self.islands.iter().map(|i| i.thunks.len()).sum()
    }

    /// Builds the table from the planned islands and where the second
    /// layout put them (`addrs[i]`, in section `sections[i]`).
    pub fn new(planned: Vec<PlannedIsland<ThunkKey>>, placed: &[(u64, u32)], slot: u64) -> Self {
        let islands = planned
            .into_iter()
            .zip(placed)
            .map(|(p, &(addr, section))| Island {
                addr,
                section,
                index: p
                    .thunks
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| (k, i as u32))
                    .collect(),
                thunks: p.thunks,
            })
            .collect();
        Thunks { islands, slot }
    }

    /// The thunk for `key` that a branch at `pc` reaches, searching the
    /// islands nearest to it.
    pub fn find(&self, pc: u64, key: ThunkKey, reach: u64) -> Option<u64> {
        let split = self.islands.partition_point(|i| i.addr < pc);
        // Islands farther than the reach (plus their own size) cannot
        // hold a thunk the branch reaches: stop at the first such one.
        let near = |i: &&Island| i.addr.abs_diff(pc) <= reach + i.thunks.len() as u64 * self.slot;
        let after = self.islands[split..].iter().take_while(near);
        let before = self.islands[..split].iter().rev().take_while(near);
        after.chain(before).find_map(|island| {
            let i = island.index.get(&key)?;
            let thunk = island.addr + u64::from(*i) * self.slot;
            in_reach(pc, thunk, reach).then_some(thunk)
        })
    }

    /// Every thunk as (address, key, sequence number among the thunks of
    /// the same target), in address order.
    pub fn each(&self) -> impl Iterator<Item = (u64, ThunkKey, u32, u32)> + '_ {
        let mut seq: FxHashMap<ThunkKey, u32> = FxHashMap::default();
        self.islands.iter().flat_map(move |island| {
            island
                .thunks
                .iter()
                .enumerate()
                .map(|(i, &k)| {
                    let n = seq.entry(k).or_insert(0);
                    *n += 1;
                    (
                        island.addr + i as u64 * self.slot,
                        k,
                        *n - 1,
                        island.section,
                    )
                })
                .collect::<Vec<_>>()
        })
    }
}

/// Whether a branch at `pc` reaches `to`: a displacement in
/// `[-reach, reach)`, as a two's complement field holds it.
pub fn in_reach(pc: u64, to: u64, reach: u64) -> bool {
    let d = to.wrapping_sub(pc) as i64;
    d >= -(reach as i64) && d < reach as i64
}

/// lld's name for the `seq`-th thunk of a target: `_f.thunk.0`, with the
/// addend when there is one (`_f+8.thunk.0`).
pub fn thunk_name(target: &str, addend: i64, seq: u32) -> String {
    if addend != 0 {
        format!("{target}+{addend}.thunk.{seq}")
    } else {
        format!("{target}.thunk.{seq}")
    }
}

/// Islands are 4-byte aligned: every fixed-width instruction set needs
/// it, and it costs x86_64 (which never needs thunks) nothing.
const ISLAND_ALIGN_LOG2: u8 = 2;

/// The bytes of one thunk: the largest trampoline, 4-byte aligned.
pub(crate) fn slot_size(arch: &dyn Arch) -> u64 {
    crate::layout::align_up(arch.max_trampoline() as u64, 1 << ISLAND_ALIGN_LOG2)
}

/// Whether any branch could be out of reach: the code of the image (from
/// the first code section to the end of the last, `__stubs` included)
/// spans at least the reach. One look at each section.
pub(crate) fn code_exceeds_reach(arch: &dyn Arch, layout: &Layout) -> bool {
    let code = layout.sections.iter().filter(|s| s.is_code());
    let start = code.clone().map(|s| s.addr).min();
    let end = code.map(|s| s.addr + s.size).max();
    match (start, end) {
        (Some(start), Some(end)) => end - start >= arch.branch_reach(),
        _ => false,
    }
}

/// The thunk key of a branch relocation of file `file`: None for calls
/// the linker rewrites rather than relocates (DTrace probes) and for
/// targets relocation itself reports.
pub(crate) fn key_of(file: u32, r: &Reloc, symtab: &SymbolTable) -> Option<ThunkKey> {
    let callee = match r.target {
        Target::Symbol(_) => {
            let g = symtab.global_of(file, r.target)?;
            if symtab.syms[g as usize].def == Def::Dtrace {
                return None;
            }
            Callee::Symbol(g)
        }
        Target::Atom(atom) => Callee::Atom { file, atom },
    };
    Some(ThunkKey {
        callee,
        addend: r.addend,
    })
}

/// Where a branch to `key` lands: as relocation resolves it (an import,
/// or a definition dyld may replace, through its stub).
pub(crate) fn callee_addr(key: ThunkKey, symtab: &SymbolTable, res: &Resolved) -> Option<u64> {
    let interior = key.addend != 0;
    let base = match key.callee {
        Callee::Symbol(g) => {
            let def = symtab.syms[g as usize].def;
            if crate::synthetic::is_imported(def) || crate::weak::bound_here(def) {
                res.stub(g)?
            } else {
                res.symbol_ref(symtab, g, interior)?
            }
        }
        Callee::Atom { file, atom } => {
            let addr = res.layout.referenced_addr(file, atom, interior);
            (addr != 0).then_some(addr)?
        }
    };
    Some((base as i64).wrapping_add(key.addend) as u64)
}

/// A callee's name, for thunk symbols and messages.
pub(crate) fn callee_name(callee: Callee, objects: &[ObjectFile], symtab: &SymbolTable) -> String {
    match callee {
        Callee::Symbol(g) => String::from_utf8_lossy(symtab.syms[g as usize].name).into_owned(),
        Callee::Atom { file, atom } => {
            let obj = &objects[file as usize];
            match obj.atoms[atom as usize].symbol {
                NONE => format!("{}({})", obj.name, obj.describe(atom, 0)),
                s => String::from_utf8_lossy(obj.symbols[s as usize].name).into_owned(),
            }
        }
    }
}

/// The islands the first layout calls for: what [`plan_islands`] decided
/// and the gaps the second layout leaves for them.
pub(crate) struct IslandPlan {
    pub planned: Vec<PlannedIsland<ThunkKey>>,
    pub gaps: Vec<Gap>,
}

/// Plans the islands from the first layout (`res` resolves addresses in
/// it). The margin starts at a sixteenth of the reach and doubles until
/// it covers what the islands add (their size and the realignment of what
/// follows them), so that the plan holds after re-layout.
pub(crate) fn plan(
    arch: &dyn Arch,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<IslandPlan, String> {
    let (atoms, ids, calls) = call_sites(objects, symtab, res);
    let reach = arch.branch_reach();
    let slot = slot_size(arch);
    // What re-layout may add per island beyond its thunks: realigning the
    // atom after it.
    let max_align = atoms_max_align(objects, &ids).max(1 << ISLAND_ALIGN_LOG2);
    let mut margin = reach / 16;
    loop {
        let limit = reach - margin;
        let planned = plan_islands(&atoms, &calls, spacing(reach), limit).map_err(|u| {
            format!(
                "a call to {} at {:#x} is {} bytes from its target at {:#x}, beyond the \
                 ±{reach} bytes a branch reaches, and no island of thunks can be placed \
                 within reach of it (it lies deep inside a function larger than that)",
                callee_name(u.key.callee, objects, symtab),
                u.site,
                u.site.abs_diff(u.target),
                u.target
            )
        })?;
        let growth: u64 = planned
            .iter()
            .map(|p| p.thunks.len() as u64 * slot + max_align)
            .sum();
        if growth <= margin {
            let gaps = planned
                .iter()
                .map(|p| Gap {
                    after: ids[p.after],
                    size: p.thunks.len() as u64 * slot,
                    align_log2: ISLAND_ALIGN_LOG2,
                })
                .collect();
            return Ok(IslandPlan { planned, gaps });
        }
        if margin >= reach / 2 {
            return Err(format!(
                "the code needs {growth} bytes of thunks, more than the {margin} bytes of \
                 margin a ±{reach}-byte branch leaves"
            ));
        }
        margin *= 2;
    }
}

/// The code atoms in address order, their (file, atom), and the direct
/// branches in them, with their targets in the layout `res` describes.
#[allow(clippy::type_complexity)]
fn call_sites(
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    res: &Resolved,
) -> (Vec<CodeAtom>, Vec<(u32, u32)>, Vec<CallSite<ThunkKey>>) {
    let layout = res.layout;
    let mut atoms = Vec::new();
    let mut ids = Vec::new();
    let mut calls = Vec::new();
    for s in layout.sections.iter().filter(|s| s.is_code()) {
        let Content::Atoms(list) = &s.content else {
            continue;
        };
        for &(f, a) in list {
            let obj = &objects[f as usize];
            let atom = &obj.atoms[a as usize];
            let start = layout.atom_addr[f as usize][a as usize];
            let index = atoms.len();
            atoms.push(CodeAtom {
                start,
                end: start + u64::from(atom.size),
            });
            ids.push((f, a));
            let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
            for r in relocs.iter().filter(|r| r.kind == RelocKind::Branch) {
                let Some(key) = key_of(f, r, symtab) else {
                    continue;
                };
                let Some(target) = callee_addr(key, symtab, res) else {
                    continue;
                };
                calls.push(CallSite {
                    site: start + u64::from(r.offset),
                    atom: index,
                    key,
                    target,
                });
            }
        }
    }
    (atoms, ids, calls)
}

fn atoms_max_align(objects: &[ObjectFile], ids: &[(u32, u32)]) -> u64 {
    ids.iter()
        .map(|&(f, a)| 1u64 << objects[f as usize].atoms[a as usize].align_log2)
        .max()
        .unwrap_or(1)
}

/// Pass: every thunk written as a trampoline to its target, into the
/// islands the layout left (already filled with traps).
pub(crate) fn write_thunks(
    thunks: &Thunks,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    res: &Resolved,
    image: &mut [u8],
) -> Result<(), String> {
    for (addr, key, seq, _) in thunks.each() {
        let name = || thunk_name(&callee_name(key.callee, objects, symtab), key.addend, seq);
        let to = callee_addr(key, symtab, res)
            .ok_or_else(|| format!("thunk {} has no target address", name()))?;
        let off = res
            .layout
            .file_offset(addr)
            .ok_or_else(|| format!("thunk {} at {addr:#x} is outside the file", name()))?
            as usize;
        let out = image
            .get_mut(off..off + thunks.slot as usize)
            .ok_or_else(|| format!("thunk {} at {addr:#x} is outside the file", name()))?;
        res.arch
            .write_trampoline(out, addr, to)
            .ok_or_else(|| format!("thunk {} at {addr:#x} cannot reach {to:#x}", name()))?;
    }
    Ok(())
}

/// The thunks' symbols, as lld writes them: private externals named
/// `<target>.thunk.<n>` (local symbols of the output).
pub(crate) fn symbols(
    thunks: &Thunks,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
) -> Vec<Nlist<'static>> {
    thunks
        .each()
        .map(|(addr, key, seq, section)| Nlist {
            name: thunk_name(&callee_name(key.callee, objects, symtab), key.addend, seq)
                .into_bytes()
                .into(),
            n_type: object::macho::N_SECT | object::macho::N_PEXT,
            n_sect: (section + 1) as u8,
            n_desc: 0,
            n_value: addr,
        })
        .collect()
}

/// For relocation: the value a branch at `pc` to `value` (the callee
/// `key` names) encodes: the callee itself when in reach, else its thunk;
/// None when neither is in reach. The key is looked up only for a branch
/// out of reach, which is rare.
pub(crate) fn branch_value(
    thunks: &Thunks,
    reach: u64,
    pc: u64,
    value: u64,
    key: impl FnOnce() -> Option<ThunkKey>,
) -> Option<u64> {
    if in_reach(pc, value, reach) {
        return Some(value);
    }
    thunks.find(pc, key()?, reach)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// Code atoms of the given sizes, back to back from 0.
    fn atoms(sizes: &[u64]) -> Vec<CodeAtom> {
        let mut at = 0;
        sizes
            .iter()
            .map(|&s| {
                let a = CodeAtom {
                    start: at,
                    end: at + s,
                };
                at += s;
                a
            })
            .collect()
    }

    fn call(atoms: &[CodeAtom], atom: usize, key: u32, target: u64) -> CallSite<u32> {
        CallSite {
            site: atoms[atom].start,
            atom,
            key,
            target,
        }
    }

    #[test]
    fn windows_end_at_atom_boundaries_and_a_huge_atom_is_alone() {
        let a = atoms(&[10, 10, 10, 100, 10, 10]);
        let (of, last) = windows(&a, 25);
        assert_eq!(of, [0, 0, 1, 2, 3, 3]);
        assert_eq!(last, [1, 2, 3, 5]);
        assert_eq!(windows(&[], 25), (vec![], vec![]));
    }

    #[test]
    fn near_calls_need_no_island() {
        let a = atoms(&[MIB; 8]);
        let calls = [call(&a, 0, 1, 7 * MIB), call(&a, 7, 2, 0)];
        assert_eq!(plan_islands(&a, &calls, 2 * MIB, 100 * MIB), Ok(vec![]));
    }

    #[test]
    fn far_calls_get_one_thunk_per_target_in_their_windows_island() {
        // 200 atoms of 1 MiB; windows of 32 MiB; limit 120 MiB.
        let a = atoms(&[MIB; 200]);
        let calls = [
            // Window 0 calls forward far: atom 199 twice, and a stub past
            // the end of the code (key 9).
            call(&a, 0, 199, a[199].start),
            call(&a, 5, 199, a[199].start),
            call(&a, 6, 9, 210 * MIB),
            // A near call from the same window stays direct.
            call(&a, 7, 50, a[50].start),
            // Window 5 (atoms 160..191) calls backward far.
            call(&a, 170, 0, 0),
            call(&a, 171, 9, 210 * MIB),
        ];
        let islands = plan_islands(&a, &calls, 32 * MIB, 120 * MIB).unwrap();
        assert_eq!(
            islands,
            [
                PlannedIsland {
                    after: 31,
                    thunks: vec![199, 9]
                },
                PlannedIsland {
                    after: 191,
                    thunks: vec![0]
                },
            ]
        );
    }

    #[test]
    fn the_same_target_gets_a_thunk_in_each_window_that_calls_it() {
        let a = atoms(&[MIB; 300]);
        let calls = [
            call(&a, 0, 299, a[299].start),
            call(&a, 40, 299, a[299].start),
            call(&a, 41, 299, a[299].start),
        ];
        let islands = plan_islands(&a, &calls, 32 * MIB, 120 * MIB).unwrap();
        assert_eq!(islands.len(), 2);
        assert_eq!(islands[0].after, 31);
        assert_eq!(islands[1].after, 63);
        assert!(islands.iter().all(|i| i.thunks == [299]));
    }

    #[test]
    fn a_call_deep_in_a_huge_atom_uses_the_island_before_it() {
        // Atom 1 is 200 MiB: its window's island (after it) is too far for
        // a call at its start, so the island before it takes the thunk.
        let a = atoms(&[MIB, 200 * MIB, MIB]);
        let calls = [call(&a, 1, 2, a[2].start), call(&a, 2, 0, 0)];
        let islands = plan_islands(&a, &calls, 32 * MIB, 120 * MIB).unwrap();
        assert_eq!(
            islands,
            [
                PlannedIsland {
                    after: 0,
                    thunks: vec![2]
                },
                PlannedIsland {
                    after: 2,
                    thunks: vec![0]
                },
            ]
        );
    }

    #[test]
    fn a_call_no_island_reaches_is_an_error() {
        let a = atoms(&[MIB, 300 * MIB, MIB]);
        let mut c = call(&a, 1, 2, a[2].start);
        c.site += 150 * MIB;
        assert_eq!(
            plan_islands(&a, &[c], 32 * MIB, 120 * MIB),
            Err(Unreachable {
                key: 2,
                site: c.site,
                target: a[2].start
            })
        );
    }

    #[test]
    fn thunks_are_found_in_reach_and_numbered_per_target() {
        let key = |s: u32| ThunkKey {
            callee: Callee::Symbol(s),
            addend: 0,
        };
        let planned = vec![
            PlannedIsland {
                after: 3,
                thunks: vec![key(1), key(2)],
            },
            PlannedIsland {
                after: 9,
                thunks: vec![key(2)],
            },
        ];
        let t = Thunks::new(planned, &[(100 * MIB, 0), (200 * MIB, 1)], 12);
        assert_eq!(t.count(), 3);
        let reach = 128 * MIB;
        assert_eq!(t.find(50 * MIB, key(2), reach), Some(100 * MIB + 12));
        assert_eq!(t.find(250 * MIB, key(2), reach), Some(200 * MIB));
        assert_eq!(t.find(250 * MIB, key(1), reach), None, "out of reach");
        assert_eq!(t.find(150 * MIB, key(1), reach), Some(100 * MIB));
        assert_eq!(t.find(150 * MIB, key(3), reach), None);
        let all: Vec<_> = t.each().collect();
        assert_eq!(
            all,
            [
                (100 * MIB, key(1), 0, 0),
                (100 * MIB + 12, key(2), 0, 0),
                (200 * MIB, key(2), 1, 1)
            ]
        );
        assert_eq!(thunk_name("_f", 0, 1), "_f.thunk.1");
        assert_eq!(thunk_name("_f", 8, 0), "_f+8.thunk.0");
    }

    #[test]
    fn reach_is_a_signed_field() {
        assert!(in_reach(1000, 1000 + 127, 128));
        assert!(!in_reach(1000, 1000 + 128, 128));
        assert!(in_reach(1000, 1000 - 128, 128));
        assert!(!in_reach(1000, 1000 - 129, 128));
    }
}
