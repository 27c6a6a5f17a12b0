//! Deciding where each atom of a replayed object goes, before any byte of
//! the image is written: in place, into the body it moved to before, into
//! a new body behind a trampoline, a new place for data, a new atom, a
//! removal, or a reason to link in full. The decisions only touch the
//! section's books ([`SectionSpace`]); `place` then patches the image as
//! they say.
//!
//! This is where invariants 2 and 3 are kept (DESIGN.md):
//! - a function's canonical slot is freed only when the function is
//!   removed: once it holds a trampoline, no other atom can be given it;
//! - a moved function that moves again, or comes back to its slot, frees
//!   the body it had, and the trampoline at the canonical address is
//!   rewritten to the new body: at most one hop.

use super::super::alloc::SectionSpace;
use super::super::state::{self, AtomRecord};
use crate::layout::Headroom;
use std::ops::Range;

/// What an output section holds, for the planner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Functions: slots with headroom, trampolines when they outgrow them.
    Code,
    /// Data: moves with its references re-patched.
    Data,
    /// Merged literals: a new one gets exactly its size.
    Literal,
    /// DWARF unwind records (`__eh_frame`): a stream read record by
    /// record, so a record keeps exactly the room it had (a smaller one is
    /// padded to it) and a new or larger one goes to the reserve, right
    /// after the last record. Old room is never freed: a record that left
    /// it stays as a record that describes nothing (see `place`).
    UnwindRecord,
}

/// The alignment of a DWARF unwind record: 4 bytes, whatever its offset in
/// its object suggests, so that the stream stays gapless (a zero word
/// between records would end it).
const RECORD_ALIGN: u64 = 4;

/// The rules an atom is placed by.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub kind: Kind,
    /// The section carries a reserve (new atoms and moved data may go there).
    pub reserves: bool,
    /// The image has chained fixups (moved data with pointers can follow).
    pub chained: bool,
    pub headroom: Headroom,
}

/// An atom of the replayed object.
#[derive(Clone, Debug)]
pub struct NewAtom {
    pub key: Vec<u8>,
    pub section: u16,
    pub size: u32,
    pub align_log2: u8,
    pub unwind: u32,
}

/// Where an atom goes, and what that frees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A new atom: `room` bytes at `addr` (a function's slot, with headroom).
    Add { addr: u64, room: u64 },
    /// Stays at its address: data that still fits, or a function that
    /// fits its canonical slot again (or still). `freed_body`: the body it
    /// had elsewhere, now freed; the slot's trampoline is overwritten.
    InPlace {
        addr: u64,
        slot: u64,
        freed_body: Option<Range<u64>>,
    },
    /// A moved function that still fits the body it moved to.
    InBody { body: u64, cap: u64 },
    /// A function that outgrew its slot (or its body): a new body `to`
    /// with `cap` bytes, and a trampoline in the slot at `from`, which
    /// stays the function's. `freed_body`: the body it moved to before,
    /// now freed (the trampoline is rewritten, never chained).
    Move {
        from: u64,
        slot: u64,
        to: u64,
        cap: u64,
        freed_body: Option<Range<u64>>,
    },
    /// Data that outgrew its room: moves to `to`, its old room is freed,
    /// and every reference to it is re-patched.
    MoveData { from: u64, to: u64 },
    /// An unwind record that outgrew its room: written at `to`; the one
    /// at `from` stays (its room is not freed) and must describe nothing.
    MoveRecord { from: u64, to: u64 },
}

/// Why an atom cannot be placed by an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A new atom in a data section without reserve.
    NewWithoutReserve,
    /// Data that outgrew its room in a section without reserve.
    DataWithoutReserve,
    /// Data with pointers outgrew its room, and the classic rebase and
    /// bind streams cannot follow it.
    DataWithPointers,
    /// A function that must move, but other code refers inside it.
    Interior,
    /// The section is out of room (free list and reserve).
    OutOfRoom { size: u64 },
    /// An unwind record whose size is not a multiple of 4 bytes.
    UnalignedRecord { size: u64 },
}

/// Decides where `new` goes (`old`: its record in the image, if it had
/// one), taking and freeing room in `space`; returns its new record.
pub fn plan_atom(
    space: &mut SectionSpace,
    rules: &Rules,
    new: NewAtom,
    old: Option<&AtomRecord>,
) -> Result<(AtomRecord, Decision), Refusal> {
    let (size, align) = (u64::from(new.size), 1u64 << new.align_log2);
    let mut rec = AtomRecord {
        key: new.key,
        section: new.section,
        align_log2: new.align_log2,
        flags: 0,
        addr: 0,
        slot: 0,
        body: 0,
        body_cap: 0,
        size: new.size,
        fixups: 0,
        unwind: new.unwind,
        replay: 0,
    };
    let mut take = |size: u64, align: u64| {
        space
            .allocate(size, align)
            .ok_or(Refusal::OutOfRoom { size })
    };
    let code = rules.kind == Kind::Code;
    if rules.kind == Kind::UnwindRecord {
        return plan_record(space, rec, old);
    }
    if rules.kind == Kind::Literal {
        rec.flags |= state::LITERAL;
        rec.addr = take(size, align)?;
        rec.slot = size as u32;
        return Ok((
            rec.clone(),
            Decision::Add {
                addr: rec.addr,
                room: size,
            },
        ));
    }
    let Some(o) = old else {
        if !code && !rules.reserves {
            return Err(Refusal::NewWithoutReserve);
        }
        let room = if code {
            rules.headroom.slot(size)
        } else {
            size
        };
        rec.addr = take(room, align)?;
        rec.slot = room as u32;
        if code {
            rec.flags |= state::CODE;
        }
        let addr = rec.addr;
        return Ok((rec, Decision::Add { addr, room }));
    };
    debug_assert!(o.section == new.section);
    rec.flags = o.flags;
    // An atom's alignment is inferred from its offset in its section, so
    // it can look stricter only because neighbours changed; what the old
    // place satisfied is what staying there must keep.
    let stay_align = 1u64 << new.align_log2.min(o.align_log2);
    let fits_slot = size <= u64::from(o.slot) && o.addr % stay_align == 0;
    rec.addr = o.addr;
    rec.slot = o.slot;
    rec.fixups = o.fixups;
    let in_place = |rec: &mut AtomRecord, freed_body| {
        rec.align_log2 = rec.align_log2.min(o.align_log2);
        Decision::InPlace {
            addr: o.addr,
            slot: u64::from(o.slot),
            freed_body,
        }
    };
    if !code {
        if fits_slot {
            let d = in_place(&mut rec, None);
            return Ok((rec, d));
        }
        // Data has no trampolines: it moves, and every reference to it is
        // re-patched.
        if !rules.reserves {
            return Err(Refusal::DataWithoutReserve);
        }
        if o.fixups != 0 && !rules.chained {
            return Err(Refusal::DataWithPointers);
        }
        rec.addr = take(size, align)?;
        rec.slot = size as u32;
        space.free(o.addr, u64::from(o.slot));
        let to = rec.addr;
        return Ok((rec, Decision::MoveData { from: o.addr, to }));
    }
    // A body it had elsewhere, freed when it leaves it.
    let free_body = |space: &mut SectionSpace| {
        (o.body != 0).then(|| {
            space.free(o.body, u64::from(o.body_cap));
            o.body..o.body + u64::from(o.body_cap)
        })
    };
    if fits_slot {
        let freed = free_body(space);
        let d = in_place(&mut rec, freed);
        return Ok((rec, d));
    }
    if o.body != 0 && size <= u64::from(o.body_cap) && o.body % stay_align == 0 {
        rec.body = o.body;
        rec.body_cap = o.body_cap;
        return Ok((
            rec,
            Decision::InBody {
                body: o.body,
                cap: u64::from(o.body_cap),
            },
        ));
    }
    if o.flags & state::INTERIOR != 0 {
        return Err(Refusal::Interior);
    }
    // Move: a new body with headroom; the slot keeps the trampoline and is
    // not freed (invariant 3).
    let cap = rules.headroom.slot(size);
    let to = space
        .allocate(cap, align)
        .ok_or(Refusal::OutOfRoom { size: cap })?;
    let freed_body = free_body(space);
    rec.body = to;
    rec.body_cap = cap as u32;
    Ok((
        rec,
        Decision::Move {
            from: o.addr,
            slot: u64::from(o.slot),
            to,
            cap,
            freed_body,
        },
    ))
}

/// [`plan_atom`] for a DWARF unwind record ([`Kind::UnwindRecord`]).
fn plan_record(
    space: &mut SectionSpace,
    mut rec: AtomRecord,
    old: Option<&AtomRecord>,
) -> Result<(AtomRecord, Decision), Refusal> {
    let size = u64::from(rec.size);
    if size % RECORD_ALIGN != 0 {
        return Err(Refusal::UnalignedRecord { size });
    }
    if let Some(o) = old.filter(|o| size <= u64::from(o.slot)) {
        rec.flags = o.flags;
        rec.addr = o.addr;
        rec.slot = o.slot;
        let d = Decision::InPlace {
            addr: o.addr,
            slot: u64::from(o.slot),
            freed_body: None,
        };
        return Ok((rec, d));
    }
    rec.addr = space
        .allocate(size, RECORD_ALIGN)
        .ok_or(Refusal::OutOfRoom { size })?;
    rec.slot = size as u32;
    rec.align_log2 = rec.align_log2.min(RECORD_ALIGN.trailing_zeros() as u8);
    let d = match old {
        Some(o) => Decision::MoveRecord {
            from: o.addr,
            to: rec.addr,
        },
        None => Decision::Add {
            addr: rec.addr,
            room: size,
        },
    };
    Ok((rec, d))
}

/// What removing an atom the new object no longer has frees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    pub code: bool,
    /// Its address and room there.
    pub addr: u64,
    pub slot: u64,
    /// The body a moved function had.
    pub body: Option<Range<u64>>,
    /// Its room went back to the free list.
    pub slot_freed: bool,
    /// A DWARF unwind record ([`Kind::UnwindRecord`]): its room stays
    /// taken, and an FDE there must be made to describe nothing.
    pub record: bool,
}

/// Removes `old` from `space`'s books. A removed function's slot and body
/// are freed (nothing can call it any more: a global others still refer
/// to makes the update fall back). Data with classic rebase or bind
/// entries keeps its room: the streams would still name its words.
/// An unwind record (`record`) keeps its room: the records after it are
/// found by walking the stream through it.
pub fn plan_removal(
    space: &mut SectionSpace,
    old: &AtomRecord,
    chained: bool,
    record: bool,
) -> Removal {
    let code = old.flags & state::CODE != 0;
    let slot = u64::from(old.slot);
    let mut body = None;
    let slot_freed = !record && (code || old.fixups == 0 || chained);
    if code && old.body != 0 {
        space.free(old.body, u64::from(old.body_cap));
        body = Some(old.body..old.body + u64::from(old.body_cap));
    }
    if slot_freed {
        space.free(old.addr, slot);
    }
    Removal {
        code,
        addr: old.addr,
        slot,
        body,
        slot_freed,
        record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incremental::state::Allocation;

    const HEADROOM: Headroom = Headroom {
        min_slot: 5,
        page_size: 0x1000,
        branch_reach: 1 << 31,
        slot_growth: true,
    };

    /// A section at 0x1000..0x2000 whose first 0x800 bytes are used.
    fn space() -> SectionSpace {
        SectionSpace::new(
            0x1000..0x2000,
            Allocation {
                used_end: 0x1800,
                free: Vec::new(),
            },
        )
    }

    fn rules(kind: Kind) -> Rules {
        Rules {
            kind,
            reserves: true,
            chained: true,
            headroom: HEADROOM,
        }
    }

    fn atom(key: &str, size: u32, align_log2: u8) -> NewAtom {
        NewAtom {
            key: key.as_bytes().to_vec(),
            section: 0,
            size,
            align_log2,
            unwind: 0,
        }
    }

    /// A function the full link placed at `addr` with a `slot`-byte slot.
    fn function(key: &str, addr: u64, slot: u32) -> AtomRecord {
        AtomRecord {
            key: key.as_bytes().to_vec(),
            section: 0,
            align_log2: 4,
            flags: state::CODE,
            addr,
            slot,
            body: 0,
            body_cap: 0,
            size: slot / 2,
            fixups: 0,
            unwind: 0,
            replay: 0,
        }
    }

    fn data(key: &str, addr: u64, slot: u32) -> AtomRecord {
        AtomRecord {
            flags: 0,
            align_log2: 3,
            ..function(key, addr, slot)
        }
    }

    fn code(s: &mut SectionSpace, new: NewAtom, old: &AtomRecord) -> (AtomRecord, Decision) {
        plan_atom(s, &rules(Kind::Code), new, Some(old)).expect("placed")
    }

    fn overlaps(a: Range<u64>, b: Range<u64>) -> bool {
        a.start < b.end && b.start < a.end
    }

    /// Whether any free range of `s` overlaps `r`.
    fn freed(s: &SectionSpace, r: Range<u64>) -> bool {
        s.free_ranges()
            .iter()
            .any(|&(f, l)| overlaps(f..f + l, r.clone()))
    }

    #[test]
    fn a_function_that_shrinks_stays_in_place() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (rec, d) = code(&mut s, atom("f", 0x10, 4), &old);
        assert_eq!(
            d,
            Decision::InPlace {
                addr: 0x1100,
                slot: 0x40,
                freed_body: None
            }
        );
        assert_eq!(
            (rec.addr, rec.slot, rec.body, rec.size),
            (0x1100, 0x40, 0, 0x10)
        );
        assert_eq!(s, space(), "nothing taken, nothing freed");
    }

    #[test]
    fn a_function_that_grows_within_its_slot_stays_in_place() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (rec, d) = code(&mut s, atom("f", 0x40, 4), &old);
        assert!(matches!(d, Decision::InPlace { addr: 0x1100, .. }));
        assert_eq!((rec.addr, rec.slot, rec.body), (0x1100, 0x40, 0));
        assert_eq!(s, space());
    }

    #[test]
    fn a_function_that_outgrows_its_slot_moves_and_keeps_its_slot() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (rec, d) = code(&mut s, atom("f", 0x41, 4), &old);
        let cap = HEADROOM.slot(0x41);
        assert_eq!(
            d,
            Decision::Move {
                from: 0x1100,
                slot: 0x40,
                to: 0x1800,
                cap,
                freed_body: None
            }
        );
        // Its canonical address is unchanged; the body is in the reserve.
        assert_eq!((rec.addr, rec.slot, rec.body), (0x1100, 0x40, 0x1800));
        assert_eq!(u64::from(rec.body_cap), cap);
        // Invariant 3: the slot, now a trampoline, is not free.
        assert!(!freed(&s, 0x1100..0x1140));
        assert_eq!(s.free_ranges(), &[]);
    }

    #[test]
    fn a_trampoline_slot_is_never_given_to_a_neighbour_that_grows() {
        let mut s = space();
        // Two neighbours: f at 0x1100, g right after it.
        let f = function("f", 0x1100, 0x40);
        let g = function("g", 0x1140, 0x40);
        let (f2, _) = code(&mut s, atom("f", 0x80, 4), &f);
        // g grows into a body of the size f's slot had: the free list is
        // empty, so it comes from the reserve, never from f's slot.
        let (g2, d) = code(&mut s, atom("g", 0x30, 4), &g);
        assert!(matches!(d, Decision::InPlace { .. }));
        let (g3, d) = code(&mut s, atom("g", 0x41, 4), &g2);
        let Decision::Move { to, cap, .. } = d else {
            panic!("{d:?}")
        };
        assert!(!overlaps(to..to + cap, 0x1100..0x1140), "g took f's slot");
        assert!(!overlaps(
            to..to + cap,
            f2.body..f2.body + u64::from(f2.body_cap)
        ));
        // Whatever else happens in the section, f's slot stays its own:
        // g moving again frees g's body, not f's slot.
        let (_, d) = code(&mut s, atom("g", 0x200, 4), &g3);
        assert!(matches!(
            d,
            Decision::Move {
                freed_body: Some(_),
                ..
            }
        ));
        assert!(!freed(&s, 0x1100..0x1140));
        assert!(
            !freed(&s, 0x1140..0x1180),
            "g's own slot is a trampoline too"
        );
        for _ in 0..20 {
            let at = s.allocate(0x10, 1).expect("room");
            assert!(!overlaps(at..at + 0x10, 0x1100..0x1180));
        }
    }

    #[test]
    fn a_function_that_moves_twice_frees_the_first_body_and_rewrites_its_trampoline() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (r1, d1) = code(&mut s, atom("f", 0x50, 4), &old);
        let Decision::Move {
            to: b1, cap: c1, ..
        } = d1
        else {
            panic!("{d1:?}")
        };
        // Grows again past its body: a second body; the first is freed and
        // the trampoline at the canonical address points at the second.
        let (r2, d2) = code(&mut s, atom("f", 0x200, 4), &r1);
        let Decision::Move {
            from,
            to: b2,
            freed_body,
            ..
        } = d2
        else {
            panic!("{d2:?}")
        };
        assert_eq!(
            from, 0x1100,
            "the trampoline stays at the canonical address"
        );
        assert_eq!(freed_body, Some(b1..b1 + c1));
        assert_ne!(b2, b1);
        assert!(freed(&s, b1..b1 + c1), "the intermediate body is free");
        assert!(!freed(&s, 0x1100..0x1140));
        assert_eq!((r2.addr, r2.body), (0x1100, b2));
        // The freed body serves the next allocation that fits it.
        assert_eq!(s.allocate(c1, 1), Some(b1));
    }

    #[test]
    fn a_moved_function_that_still_fits_its_body_stays_there() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (r1, _) = code(&mut s, atom("f", 0x50, 4), &old);
        let before = s.clone();
        let (r2, d) = code(&mut s, atom("f", 0x60, 4), &r1);
        assert_eq!(
            d,
            Decision::InBody {
                body: r1.body,
                cap: u64::from(r1.body_cap)
            }
        );
        assert_eq!(
            (r2.addr, r2.body, r2.body_cap),
            (r1.addr, r1.body, r1.body_cap)
        );
        assert_eq!(s, before);
    }

    #[test]
    fn a_moved_function_back_in_its_slot_frees_its_body() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (r1, _) = code(&mut s, atom("f", 0x50, 4), &old);
        let body = r1.body..r1.body + u64::from(r1.body_cap);
        let (r2, d) = code(&mut s, atom("f", 0x20, 4), &r1);
        assert_eq!(
            d,
            Decision::InPlace {
                addr: 0x1100,
                slot: 0x40,
                freed_body: Some(body.clone())
            }
        );
        assert_eq!((r2.addr, r2.body, r2.body_cap), (0x1100, 0, 0));
        assert_eq!(s.free_ranges(), &[(body.start, body.end - body.start)]);
        assert!(!freed(&s, 0x1100..0x1140));
    }

    #[test]
    fn data_that_outgrows_its_room_moves_and_frees_it() {
        let mut s = space();
        let old = data("d", 0x1200, 0x10);
        let r = rules(Kind::Data);
        let (rec, d) = plan_atom(&mut s, &r, atom("d", 0x10, 3), Some(&old)).unwrap();
        assert!(matches!(d, Decision::InPlace { addr: 0x1200, .. }));
        assert_eq!(rec.addr, 0x1200);
        let (rec, d) = plan_atom(&mut s, &r, atom("d", 0x18, 3), Some(&old)).unwrap();
        assert_eq!(
            d,
            Decision::MoveData {
                from: 0x1200,
                to: 0x1800
            }
        );
        // Data has no trampoline: its address changes and its room is free.
        assert_eq!((rec.addr, rec.slot, rec.body), (0x1800, 0x18, 0));
        assert_eq!(s.free_ranges(), &[(0x1200, 0x10)]);
    }

    #[test]
    fn data_that_cannot_move_falls_back() {
        let mut s = space();
        let old = data("d", 0x1200, 0x10);
        let no_reserve = Rules {
            reserves: false,
            ..rules(Kind::Data)
        };
        assert_eq!(
            plan_atom(&mut s, &no_reserve, atom("d", 0x18, 3), Some(&old)),
            Err(Refusal::DataWithoutReserve)
        );
        assert_eq!(
            plan_atom(&mut s, &no_reserve, atom("e", 0x8, 3), None),
            Err(Refusal::NewWithoutReserve)
        );
        let classic = Rules {
            chained: false,
            ..rules(Kind::Data)
        };
        let pointers = AtomRecord { fixups: 1, ..old };
        assert_eq!(
            plan_atom(&mut s, &classic, atom("d", 0x18, 3), Some(&pointers)),
            Err(Refusal::DataWithPointers)
        );
        assert_eq!(s, space(), "a refusal takes no room");
    }

    #[test]
    fn a_section_out_of_room_falls_back() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let size = 0x800;
        let cap = HEADROOM.slot(size);
        assert_eq!(
            code(&mut s, atom("f", 0x20, 4), &old).1,
            Decision::InPlace {
                addr: 0x1100,
                slot: 0x40,
                freed_body: None
            }
        );
        assert_eq!(
            plan_atom(
                &mut s,
                &rules(Kind::Code),
                atom("f", size as u32, 4),
                Some(&old)
            ),
            Err(Refusal::OutOfRoom { size: cap })
        );
        assert_eq!(
            plan_atom(&mut s, &rules(Kind::Code), atom("n", size as u32, 4), None),
            Err(Refusal::OutOfRoom { size: cap })
        );
        assert_eq!(
            plan_atom(&mut s, &rules(Kind::Literal), atom("l", 0x801, 0), None),
            Err(Refusal::OutOfRoom { size: 0x801 })
        );
    }

    #[test]
    fn a_function_others_refer_inside_cannot_move() {
        let mut s = space();
        let old = AtomRecord {
            flags: state::CODE | state::INTERIOR,
            ..function("f", 0x1100, 0x40)
        };
        assert_eq!(
            plan_atom(&mut s, &rules(Kind::Code), atom("f", 0x41, 4), Some(&old)),
            Err(Refusal::Interior)
        );
        // It may still change in place.
        assert!(plan_atom(&mut s, &rules(Kind::Code), atom("f", 0x40, 4), Some(&old)).is_ok());
    }

    #[test]
    fn new_atoms_get_a_slot_with_headroom_or_their_size() {
        let mut s = space();
        let (rec, d) = plan_atom(&mut s, &rules(Kind::Code), atom("n", 1, 0), None).unwrap();
        let room = HEADROOM.slot(1);
        assert!(room >= HEADROOM.min_slot, "room for a trampoline");
        assert_eq!(d, Decision::Add { addr: 0x1800, room });
        assert_eq!((rec.flags, u64::from(rec.slot)), (state::CODE, room));
        let (rec, d) = plan_atom(&mut s, &rules(Kind::Data), atom("d", 3, 0), None).unwrap();
        assert_eq!(
            d,
            Decision::Add {
                addr: 0x1800 + room,
                room: 3
            }
        );
        assert_eq!((rec.flags, rec.slot), (0, 3));
        let (rec, _) = plan_atom(&mut s, &rules(Kind::Literal), atom("l", 4, 2), None).unwrap();
        assert_eq!((rec.flags, rec.addr % 4, rec.slot), (state::LITERAL, 0, 4));
    }

    #[test]
    fn a_removed_function_frees_its_slot_and_its_body() {
        let mut s = space();
        let old = function("f", 0x1100, 0x40);
        let (r1, _) = code(&mut s, atom("f", 0x50, 4), &old);
        let body = r1.body..r1.body + u64::from(r1.body_cap);
        let gone = plan_removal(&mut s, &r1, true, false);
        assert_eq!(
            gone,
            Removal {
                code: true,
                addr: 0x1100,
                slot: 0x40,
                body: Some(body.clone()),
                slot_freed: true,
                record: false
            }
        );
        assert!(freed(&s, 0x1100..0x1140) && freed(&s, body));
    }

    fn record(key: &str, addr: u64, slot: u32) -> AtomRecord {
        AtomRecord {
            flags: 0,
            align_log2: 2,
            size: slot,
            ..function(key, addr, slot)
        }
    }

    fn unwind_record(
        s: &mut SectionSpace,
        new: NewAtom,
        old: Option<&AtomRecord>,
    ) -> (AtomRecord, Decision) {
        plan_atom(s, &rules(Kind::UnwindRecord), new, old).expect("placed")
    }

    #[test]
    fn an_fde_that_fits_its_room_stays_and_keeps_the_room() {
        let mut s = space();
        let old = record("fde", 0x1104, 0x24);
        for size in [0x24, 0x18] {
            let (rec, d) = unwind_record(&mut s, atom("fde", size, 3), Some(&old));
            assert_eq!(
                d,
                Decision::InPlace {
                    addr: 0x1104,
                    slot: 0x24,
                    freed_body: None
                }
            );
            // The room stays whole: the record is padded to it.
            assert_eq!((rec.addr, rec.slot, rec.size), (0x1104, 0x24, size));
        }
        assert_eq!(s, space());
    }

    #[test]
    fn an_fde_that_outgrows_its_room_goes_after_the_last_record_and_frees_nothing() {
        let mut s = SectionSpace::new(
            0x1000..0x2000,
            Allocation {
                used_end: 0x1804,
                free: Vec::new(),
            },
        );
        let old = record("fde", 0x1104, 0x24);
        // An 8-byte alignment from the object does not open a gap: records
        // follow each other at 4 bytes.
        let (rec, d) = unwind_record(&mut s, atom("fde", 0x2c, 3), Some(&old));
        assert_eq!(
            d,
            Decision::MoveRecord {
                from: 0x1104,
                to: 0x1804
            }
        );
        assert_eq!((rec.addr, rec.slot, rec.align_log2), (0x1804, 0x2c, 2));
        assert_eq!(s.used_end(), 0x1830);
        assert_eq!(s.free_ranges(), &[], "the old room still holds a record");
        let (rec, d) = unwind_record(&mut s, atom("new", 0x20, 3), None);
        assert_eq!(
            d,
            Decision::Add {
                addr: 0x1830,
                room: 0x20
            }
        );
        assert_eq!(rec.slot, 0x20);
        let gone = plan_removal(&mut s, &rec, true, true);
        assert!(gone.record && !gone.slot_freed);
        assert_eq!(s.free_ranges(), &[]);
    }

    #[test]
    fn unwind_records_out_of_room_or_not_whole_words_fall_back() {
        let mut s = space();
        assert_eq!(
            plan_atom(
                &mut s,
                &rules(Kind::UnwindRecord),
                atom("fde", 0x801, 2),
                None
            ),
            Err(Refusal::UnalignedRecord { size: 0x801 })
        );
        assert_eq!(
            plan_atom(
                &mut s,
                &rules(Kind::UnwindRecord),
                atom("fde", 0x804, 2),
                None
            ),
            Err(Refusal::OutOfRoom { size: 0x804 })
        );
        assert_eq!(s, space());
    }

    #[test]
    fn removed_data_with_classic_pointers_keeps_its_room() {
        let mut s = space();
        let old = AtomRecord {
            fixups: 7,
            ..data("d", 0x1200, 0x10)
        };
        assert!(!plan_removal(&mut s, &old, false, false).slot_freed);
        assert_eq!(s.free_ranges(), &[]);
        assert!(plan_removal(&mut s, &old, true, false).slot_freed);
        assert_eq!(s.free_ranges(), &[(0x1200, 0x10)]);
    }
}
