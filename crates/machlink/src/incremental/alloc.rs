//! The room an incremental update hands out (DESIGN.md, invariants 2 and 3).
//!
//! Each section has a free list (ranges freed by earlier updates: bodies
//! of functions that moved again or came back, moved or removed data,
//! removed functions) and a reserve (from the used end to the section's
//! end, left by the full link). An allocation takes the first free range
//! that fits, else the reserve; a section out of both is `None`, and the
//! caller links in full.
//!
//! What is never freed is as important as what is: a function slot that
//! holds a trampoline stays owned by it (invariant 3). That decision is
//! the planner's (`update::plan`); this module only keeps the books.
//!
//! The books are the state's [`Allocation`] records, unchanged on disk: a
//! [`SectionSpace`] is built from one and turned back into one.

use super::state::{Allocation, SectionRecord};
use crate::layout::align_up;
use std::ops::Range;

/// The free list and reserve of one section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionSpace {
    /// One past the section's last byte: the reserve ends here.
    end: u64,
    /// End of the used part; from here to `end` is reserve.
    used_end: u64,
    /// Freed ranges (address, size), sorted and coalesced.
    free: Vec<(u64, u64)>,
}

impl SectionSpace {
    /// The space of a section spanning `section`, as `allocation` left it.
    pub fn new(section: Range<u64>, allocation: Allocation) -> SectionSpace {
        SectionSpace {
            end: section.end,
            used_end: allocation.used_end,
            free: allocation.free,
        }
    }

    /// Takes `size` bytes aligned to `align` (a power of two): the first
    /// free range they fit (what is left of it on either side stays free),
    /// else the reserve. None: the section is out of room.
    pub fn allocate(&mut self, size: u64, align: u64) -> Option<u64> {
        for i in 0..self.free.len() {
            let (start, len) = self.free[i];
            let at = align_up(start, align);
            if at + size <= start + len {
                self.free.remove(i);
                if at > start {
                    self.free.push((start, at - start));
                }
                if at + size < start + len {
                    self.free.push((at + size, start + len - at - size));
                }
                self.free.sort_unstable();
                return Some(at);
            }
        }
        let at = align_up(self.used_end, align);
        if at + size > self.end {
            return None;
        }
        // The alignment padding before `at` is neither used nor free.
        self.used_end = at + size;
        Some(at)
    }

    /// Returns `len` bytes at `start` to the free list, merged with the
    /// free ranges they touch or overlap. The reserve does not grow back.
    pub fn free(&mut self, start: u64, len: u64) {
        if len == 0 {
            return;
        }
        self.free.push((start, len));
        self.free.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.free.len());
        for &(s, l) in &self.free {
            match merged.last_mut() {
                Some(last) if last.0 + last.1 >= s => {
                    last.1 = last.1.max(s + l - last.0);
                }
                _ => merged.push((s, l)),
            }
        }
        self.free = merged;
    }

    /// The free ranges (address, size), sorted and coalesced.
    pub fn free_ranges(&self) -> &[(u64, u64)] {
        &self.free
    }

    /// Where the reserve starts.
    pub fn used_end(&self) -> u64 {
        self.used_end
    }

    /// The state's record of this space.
    pub fn into_allocation(self) -> Allocation {
        Allocation {
            used_end: self.used_end,
            free: self.free,
        }
    }
}

/// The spaces of all of an image's sections, by section index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocator {
    spaces: Vec<SectionSpace>,
}

impl Allocator {
    /// Built from the sections and their allocation records (one each).
    pub fn new(sections: &[SectionRecord], allocation: Vec<Allocation>) -> Allocator {
        Allocator {
            spaces: sections
                .iter()
                .zip(allocation)
                .map(|(s, a)| SectionSpace::new(s.addr..s.addr + s.size, a))
                .collect(),
        }
    }

    /// Section `si`'s space.
    pub fn section(&mut self, si: usize) -> &mut SectionSpace {
        &mut self.spaces[si]
    }

    /// See [`SectionSpace::allocate`].
    pub fn allocate(&mut self, si: usize, size: u64, align: u64) -> Option<u64> {
        self.spaces[si].allocate(size, align)
    }

    /// See [`SectionSpace::free`].
    pub fn free(&mut self, si: usize, start: u64, len: u64) {
        self.spaces[si].free(start, len)
    }

    /// The state's records, one per section.
    pub fn into_allocation(self) -> Vec<Allocation> {
        self.spaces
            .into_iter()
            .map(SectionSpace::into_allocation)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section at 0x1000..0x2000 with its used part ending at `used_end`.
    fn space(used_end: u64, free: &[(u64, u64)]) -> SectionSpace {
        SectionSpace::new(
            0x1000..0x2000,
            Allocation {
                used_end,
                free: free.to_vec(),
            },
        )
    }

    #[test]
    fn first_fit_takes_the_lowest_free_range_that_fits() {
        let mut s = space(0x1800, &[(0x1100, 0x10), (0x1200, 0x40), (0x1300, 0x40)]);
        // Too big for the first range: the second.
        assert_eq!(s.allocate(0x20, 1), Some(0x1200));
        assert_eq!(
            s.free_ranges(),
            &[(0x1100, 0x10), (0x1220, 0x20), (0x1300, 0x40)]
        );
        // Fits the first exactly: it is used up.
        assert_eq!(s.allocate(0x10, 1), Some(0x1100));
        assert_eq!(s.free_ranges(), &[(0x1220, 0x20), (0x1300, 0x40)]);
        // Nothing came from the reserve.
        assert_eq!(s.used_end(), 0x1800);
    }

    #[test]
    fn alignment_skips_into_a_range_and_keeps_both_ends_free() {
        let mut s = space(0x1800, &[(0x1104, 0x40)]);
        assert_eq!(s.allocate(0x10, 0x10), Some(0x1110));
        assert_eq!(s.free_ranges(), &[(0x1104, 0xc), (0x1120, 0x24)]);
        // A range that fits the size but not once aligned is passed over.
        let mut s = space(0x1800, &[(0x1101, 0x10), (0x1200, 0x10)]);
        assert_eq!(s.allocate(0x10, 0x10), Some(0x1200));
        assert_eq!(s.free_ranges(), &[(0x1101, 0x10)]);
    }

    #[test]
    fn the_reserve_is_used_when_no_free_range_fits_and_is_aligned() {
        let mut s = space(0x1803, &[(0x1100, 0x8)]);
        assert_eq!(s.allocate(0x20, 0x10), Some(0x1810));
        assert_eq!(s.used_end(), 0x1830);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x8)]);
        assert_eq!(s.allocate(0x1, 1), Some(0x1100));
        assert_eq!(s.free_ranges(), &[(0x1101, 0x7)]);
    }

    #[test]
    fn an_exhausted_reserve_is_none_and_leaves_the_books_alone() {
        let mut s = space(0x1f00, &[(0x1100, 0x10)]);
        assert_eq!(s.allocate(0x100, 1), Some(0x1f00));
        assert_eq!(s.used_end(), 0x2000);
        // Bigger than any free range, and no reserve left: the caller
        // links in full.
        let before = s.clone();
        assert_eq!(s.allocate(0x11, 1), None);
        assert_eq!(s, before);
        // The free list still serves what fits it.
        assert_eq!(s.allocate(0x10, 1), Some(0x1100));
        assert_eq!(s.allocate(1, 1), None);
        // Room for the size but not once aligned: out of room too.
        let mut t = space(0x1ff1, &[]);
        assert_eq!(t.allocate(0x8, 0x10), None);
        assert_eq!(t.used_end(), 0x1ff1);
        assert_eq!(t.allocate(0x8, 1), Some(0x1ff1));
    }

    #[test]
    fn freeing_merges_with_the_ranges_it_touches() {
        let mut s = space(0x1800, &[]);
        s.free(0x1100, 0x10);
        s.free(0x1200, 0x10);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x10), (0x1200, 0x10)]);
        // Touches the first on its left.
        s.free(0x1110, 0x10);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x20), (0x1200, 0x10)]);
        // Touches the second on its right.
        s.free(0x11f0, 0x10);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x20), (0x11f0, 0x20)]);
        // Bridges both.
        s.free(0x1120, 0xd0);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x110)]);
        // Empty ranges are no-ops.
        s.free(0x1500, 0);
        assert_eq!(s.free_ranges(), &[(0x1100, 0x110)]);
        // The merged range serves an allocation no piece could.
        assert_eq!(s.allocate(0x100, 1), Some(0x1100));
        assert_eq!(s.free_ranges(), &[(0x1200, 0x10)]);
    }

    #[test]
    fn freeing_next_to_the_reserve_does_not_give_it_back() {
        let mut s = space(0x1800, &[]);
        s.free(0x17f0, 0x10);
        assert_eq!(s.used_end(), 0x1800);
        assert_eq!(s.free_ranges(), &[(0x17f0, 0x10)]);
    }

    #[test]
    fn the_state_records_round_trip() {
        let a = Allocation {
            used_end: 0x1234,
            free: vec![(0x1100, 0x10), (0x1200, 0x8)],
        };
        let sections = [section(0x1000, 0x1000), section(0x3000, 0x100)];
        let b = Allocation {
            used_end: 0x3010,
            free: vec![],
        };
        let mut al = Allocator::new(&sections, vec![a.clone(), b.clone()]);
        assert_eq!(al.clone().into_allocation(), vec![a, b]);
        // Each section allocates from its own room only.
        assert_eq!(al.allocate(1, 0xf0, 1), Some(0x3010));
        assert_eq!(al.allocate(1, 1, 1), None);
        assert_eq!(al.allocate(0, 0x10, 1), Some(0x1100));
        al.free(1, 0x3010, 0x10);
        assert_eq!(al.section(1).free_ranges(), &[(0x3010, 0x10)]);
    }

    fn section(addr: u64, size: u64) -> SectionRecord {
        SectionRecord {
            segname: "__TEXT".into(),
            sectname: "__text".into(),
            flags: 0,
            align_log2: 0,
            addr,
            size,
            offset: 0,
            synthetic: false,
        }
    }

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn random_allocations_and_frees_never_overlap_or_leave_the_section() {
        const START: u64 = 0x4000;
        const END: u64 = 0x6000;
        for seed in 1..=200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let used = START + rng.below(END - START);
            let mut s = SectionSpace::new(
                START..END,
                Allocation {
                    used_end: used,
                    free: Vec::new(),
                },
            );
            // What is live: everything below the used end at first.
            let mut live: Vec<(u64, u64)> = vec![(START, used - START)];
            for _ in 0..300 {
                if live.is_empty() || rng.below(3) != 0 {
                    let size = 1 + rng.below(0x100);
                    let align = 1 << rng.below(6);
                    let Some(at) = s.allocate(size, align) else {
                        // Out of room: no free range and no reserve fits.
                        assert!(
                            s.free_ranges()
                                .iter()
                                .all(|&(f, l)| align_up(f, align) + size > f + l),
                            "seed {seed}: None while a free range fits"
                        );
                        assert!(align_up(s.used_end(), align) + size > END);
                        continue;
                    };
                    assert_eq!(at % align, 0, "seed {seed}: misaligned");
                    assert!(
                        at >= START && at + size <= END,
                        "seed {seed}: {at:#x}+{size:#x} is outside the section"
                    );
                    for &(l, n) in &live {
                        assert!(
                            at + size <= l || l + n <= at,
                            "seed {seed}: {at:#x}+{size:#x} overlaps live {l:#x}+{n:#x}"
                        );
                    }
                    live.push((at, size));
                } else {
                    // Free a whole live range, or a piece of it (a body
                    // or a slot freed on its own).
                    let (l, n) = live.swap_remove(rng.below(live.len() as u64) as usize);
                    let cut = rng.below(n);
                    if cut > 0 && rng.below(2) == 0 {
                        live.push((l, cut));
                        s.free(l + cut, n - cut);
                    } else {
                        s.free(l, n);
                    }
                }
                // The books stay sorted, coalesced, inside the used part
                // and apart from what is live.
                let free = s.free_ranges();
                for w in free.windows(2) {
                    assert!(w[0].0 + w[0].1 < w[1].0, "seed {seed}: {free:x?}");
                }
                for &(f, n) in free {
                    assert!(f >= START && f + n <= s.used_end(), "seed {seed}");
                    for &(l, m) in &live {
                        assert!(f + n <= l || l + m <= f, "seed {seed}: free overlaps live");
                    }
                }
            }
        }
    }
}
