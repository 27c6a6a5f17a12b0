//! `-dead_strip`: only atoms reachable from the roots are kept. Roots are
//! the entry point, `-u` symbols, everything exported from a dylib,
//! `N_NO_DEAD_STRIP` symbols, sections marked `S_ATTR_NO_DEAD_STRIP`, and
//! initialiser/terminator pointers. An atom is live when a live atom's
//! relocation reaches it (directly or through a global symbol).

use crate::atom::{Target, NONE};
use crate::input::object::ObjectFile;
use crate::options::{Options, OutputKind};
use crate::symbols::{Def, SymbolTable};
use object::macho;

/// Marks every atom dead, then live from the roots; returns how many
/// atoms were stripped. `order` is the files' layout order (for which
/// copy of a merged literal is kept).
pub fn dead_strip(
    opts: &Options,
    objects: &mut [ObjectFile],
    symtab: &SymbolTable,
    order: &[u32],
) -> usize {
    let (mut live, live_copies) = liveness(opts, objects, symtab, true);
    keep_first_live_copies(objects, &mut live, &live_copies, order);
    let mut stripped = 0;
    for (obj, flags) in objects.iter_mut().zip(live) {
        for (atom, is_live) in obj.atoms.iter_mut().zip(flags) {
            atom.live = is_live;
            stripped += usize::from(!is_live);
        }
    }
    stripped
}

/// `-dead_strip` under `-incremental` keeps every atom, as MSVC's
/// /INCREMENTAL turns /OPT:REF off: an edit can make dead code live again
/// (a new call to a function stripped before), and an update that had to
/// bring back stripped atoms — and everything they reach — would have to
/// redo the whole reachability walk and place code the image has no slots
/// for. Keeping them costs only space (never behaviour: nothing reaches
/// them), and every later edit stays an update.
///
/// The one case where keeping them would change the result is dead code
/// that refers to a symbol nothing defines: a stripping link accepts it,
/// a keeping one could not bind it. Then this returns why (the link strips
/// for real and keeps no incremental state); otherwise `None`, and the
/// caller leaves every atom live.
pub fn keep_all_for_incremental(
    opts: &Options,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
) -> Option<String> {
    let (live, _) = liveness(opts, objects, symtab, false);
    for (fi, obj) in objects.iter().enumerate() {
        for (ai, atom) in obj.atoms.iter().enumerate() {
            // Atoms dropped before (coalesced copies) are no one's concern.
            if !atom.live || live[fi][ai] {
                continue;
            }
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                    let Some(g) = symtab.global_of(fi as u32, t) else {
                        continue;
                    };
                    let sym = &symtab.syms[g as usize];
                    if matches!(sym.def, Def::Undefined) && !sym.weak_ref {
                        return Some(format!(
                            "-dead_strip: code only -dead_strip removes refers to undefined \
                             symbol {} (in {}), so this link stripped it and keeps no \
                             incremental state",
                            String::from_utf8_lossy(sym.name),
                            obj.name
                        ));
                    }
                }
            }
        }
    }
    None
}

/// Which atoms are reachable from the roots, and the live copies of merged
/// literals (settled by [`keep_first_live_copies`]); prints `-why_live`
/// when `explain` (only for the liveness a link applies).
fn liveness(
    opts: &Options,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    explain: bool,
) -> (Vec<Vec<bool>>, Vec<(u32, u32)>) {
    let mut live: Vec<Vec<bool>> = objects.iter().map(|o| vec![false; o.atoms.len()]).collect();
    let mut work: Vec<(u32, u32)> = Vec::new();
    // A function's compact unwind entry and FDE live with it (and keep its
    // LSDA and CIE alive).
    let mut unwind_of: rustc_hash::FxHashMap<(u32, u32), Vec<(u32, u32)>> = Default::default();
    for (f, e, ff, fa) in crate::unwind::entries(objects, symtab) {
        unwind_of.entry((ff, fa)).or_default().push((f, e));
    }
    for (f, fde, func, _) in crate::unwind::fdes(objects) {
        unwind_of.entry((f, func)).or_default().push((f, fde));
    }
    // `-why_live`: what made each atom live (another atom, or a root's
    // reason), recorded only when asked for.
    let tracing = explain && !opts.why_live.is_empty();
    let why: std::cell::RefCell<rustc_hash::FxHashMap<(u32, u32), Why>> = Default::default();
    let from: std::cell::Cell<Why> = std::cell::Cell::new(Why::Root("a root"));
    let mark = |live: &mut Vec<Vec<bool>>, work: &mut Vec<(u32, u32)>, f: u32, a: u32| {
        if !std::mem::replace(&mut live[f as usize][a as usize], true) {
            work.push((f, a));
            if tracing {
                why.borrow_mut().insert((f, a), from.get());
            }
            for &(uf, ua) in unwind_of.get(&(f, a)).into_iter().flatten() {
                if !std::mem::replace(&mut live[uf as usize][ua as usize], true) {
                    work.push((uf, ua));
                    if tracing {
                        why.borrow_mut().insert((uf, ua), Why::Atom(f, a));
                    }
                }
            }
        }
    };
    let root_symbol = |live: &mut Vec<Vec<bool>>, work: &mut Vec<(u32, u32)>, name: &[u8]| {
        if let Some(id) = symtab.get(name) {
            if let Def::Defined { file, atom, .. } = symtab.syms[id as usize].def {
                mark(live, work, file, atom);
            }
        }
    };
    from.set(Why::Root("the entry point"));
    root_symbol(&mut live, &mut work, opts.entry.as_bytes());
    from.set(Why::Root("-u"));
    for name in &opts.force_undefined {
        root_symbol(&mut live, &mut work, name.as_bytes());
    }
    from.set(Why::Root("exported"));
    // A dylib's or bundle's exports are what its loader uses.
    if opts.output_kind != OutputKind::Executable {
        for sym in &symtab.syms {
            if let Def::Defined {
                file,
                atom,
                private_extern: false,
                ..
            } = sym.def
            {
                mark(&mut live, &mut work, file, atom);
            }
        }
    }
    from.set(Why::Root("no dead strip"));
    for (fi, obj) in objects.iter().enumerate() {
        for (ai, atom) in obj.atoms.iter().enumerate() {
            let sec = obj.section_of(ai as u32);
            let pinned = (sec.flags & macho::S_ATTR_NO_DEAD_STRIP != 0 && !sec.metadata)
                || matches!(
                    sec.kind(),
                    macho::S_MOD_INIT_FUNC_POINTERS | macho::S_MOD_TERM_FUNC_POINTERS
                )
                || (atom.symbol != NONE && obj.symbols[atom.symbol as usize].no_dead_strip())
                || obj.name == "<internal>";
            if pinned {
                mark(&mut live, &mut work, fi as u32, ai as u32);
            }
        }
        for s in &obj.symbols {
            if s.is_defined_in_section() && s.no_dead_strip() && s.atom != NONE {
                mark(&mut live, &mut work, fi as u32, s.atom);
            }
        }
    }
    // Live copies of merged literals: the copy kept is settled once
    // liveness is known (see `keep_first_live_copies`).
    let mut live_copies: Vec<(u32, u32)> = Vec::new();
    while let Some((f, a)) = work.pop() {
        from.set(Why::Atom(f, a));
        let obj = &objects[f as usize];
        let atom = &obj.atoms[a as usize];
        if atom.alias_of.is_some() {
            live_copies.push((f, a));
        }
        for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
            for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                match t {
                    Target::Atom(ta) => mark(&mut live, &mut work, f, ta),
                    Target::Symbol(_) => {
                        if let Some(g) = symtab.global_of(f, t) {
                            if let Def::Defined { file, atom, .. } = symtab.syms[g as usize].def {
                                mark(&mut live, &mut work, file, atom);
                            }
                        }
                    }
                }
            }
        }
    }
    if tracing {
        let why = why.into_inner();
        for name in &opts.why_live {
            let Some(Def::Defined { file, atom, .. }) = symtab
                .get(name.as_bytes())
                .map(|id| symtab.syms[id as usize].def)
            else {
                continue;
            };
            if !live[file as usize][atom as usize] {
                continue;
            }
            println!("{}", why_live_chain(objects, &why, (file, atom)));
        }
    }
    (live, live_copies)
}

/// Why an atom is live: an atom that reaches it, or a root's reason.
#[derive(Clone, Copy)]
enum Why {
    Atom(u32, u32),
    Root(&'static str),
}

/// `-why_live`'s answer for one atom, as lld prints it: the atom, then
/// each atom that keeps the one above it alive, indented one step more,
/// down to a root and why it is one.
fn why_live_chain(
    objects: &[ObjectFile],
    why: &rustc_hash::FxHashMap<(u32, u32), Why>,
    start: (u32, u32),
) -> String {
    let name = |(f, a): (u32, u32)| {
        let obj = &objects[f as usize];
        let atom = &obj.atoms[a as usize];
        let sym = if atom.symbol == NONE {
            format!("<atom {a}>")
        } else {
            String::from_utf8_lossy(obj.symbols[atom.symbol as usize].name).into_owned()
        };
        format!("{sym} from {}", obj.name)
    };
    let mut out = name(start);
    let mut at = start;
    let mut seen = rustc_hash::FxHashSet::default();
    for depth in 1.. {
        if !seen.insert(at) {
            break;
        }
        match why.get(&at) {
            Some(Why::Atom(f, a)) => {
                at = (*f, *a);
                out.push_str(&format!("\n{}{}", "  ".repeat(depth), name(at)));
            }
            Some(Why::Root(reason)) => {
                out.push_str(&format!(" ({reason})"));
                break;
            }
            None => break,
        }
    }
    out
}

/// Merged literals after `-dead_strip`, as lld settles them: of the copies
/// of one literal, the first live one in layout order is placed, and the
/// others alias it. A copy nothing reaches is not placed, and its symbols
/// are not written, even when it was the first copy (lld drops a dead
/// string's symbols too).
fn keep_first_live_copies(
    objects: &mut [ObjectFile],
    live: &mut [Vec<bool>],
    live_copies: &[(u32, u32)],
    order: &[u32],
) {
    if live_copies.is_empty() {
        return;
    }
    let mut rank = vec![u32::MAX; objects.len()];
    for (i, &f) in order.iter().enumerate() {
        if let Some(r) = rank.get_mut(f as usize) {
            *r = i as u32;
        }
    }
    // canonical -> its first live copy (by layout rank, then atom index).
    let mut first: rustc_hash::FxHashMap<(u32, u32), (u32, u32)> = Default::default();
    for &(f, a) in live_copies {
        let Some(c) = objects[f as usize].atoms[a as usize].alias_of.get() else {
            continue;
        };
        if live[c.0 as usize][c.1 as usize] {
            continue; // the placed copy is live itself
        }
        let key = |(f, a): (u32, u32)| (rank[f as usize], a);
        first
            .entry(c)
            .and_modify(|best| {
                if key((f, a)) < key(*best) {
                    *best = (f, a);
                }
            })
            .or_insert((f, a));
    }
    if first.is_empty() {
        return;
    }
    for (fi, obj) in objects.iter_mut().enumerate() {
        for (ai, atom) in obj.atoms.iter_mut().enumerate() {
            let this = (fi as u32, ai as u32);
            if let Some(&keep) = first.get(&this) {
                // The old canonical copy: dead, now an alias of the kept one.
                atom.alias_of = Some(keep).into();
            } else if let Some(c) = atom.alias_of.get() {
                if let Some(&keep) = first.get(&c) {
                    atom.alias_of = (keep != this).then_some(keep).into();
                }
            }
        }
    }
    // The kept copy takes the strictest alignment its group promised.
    for (&(cf, ca), &(kf, ka)) in &first {
        let align = objects[cf as usize].atoms[ca as usize].align_log2;
        let kept = &mut objects[kf as usize].atoms[ka as usize];
        kept.align_log2 = kept.align_log2.max(align);
        live[kf as usize][ka as usize] = true;
    }
}
