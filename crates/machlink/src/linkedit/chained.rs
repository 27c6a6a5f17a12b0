//! The `DYLD_CHAINED_PTR_64` pointer format: the one encoder and decoder
//! of chained-fixup words, used by full links and updates alike.
//!
//! Each fixup slot holds a 64-bit word that is both the fixup and a link
//! to the next slot of its page:
//!
//! ```text
//! rebase: target:36  high8:8  reserved:7  next:12  bind=0:1
//! bind:   ordinal:24 addend:8 reserved:19 next:12  bind=1:1
//! ```
//!
//! `next` counts 4-byte strides to the next slot in the same page (0: the
//! chain ends here).

/// `DYLD_CHAINED_PTR_64` in a segment's `pointer_format`.
pub const DYLD_CHAINED_PTR_64: u16 = 2;
/// A page-start entry for a page without fixups.
pub const START_NONE: u16 = 0xFFFF;
/// `next` counts units of this many bytes.
pub const STRIDE: u64 = 4;

const BIND: u64 = 1 << 63;
const NEXT_SHIFT: u32 = 51;
const NEXT_MASK: u64 = 0xFFF << NEXT_SHIFT;
const TARGET_BITS: u32 = 36;
const ORDINAL_BITS: u32 = 24;

/// What one chained word asks dyld to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainedPtr {
    /// Write the image's address of `target` (an unslid address whose top
    /// byte, if any, is `high8`).
    Rebase { target: u64, high8: u8 },
    /// Write the address of import `ordinal` plus `addend`.
    Bind { ordinal: u32, addend: u8 },
}

impl ChainedPtr {
    /// The word without its `next` field, or why it cannot be encoded.
    pub fn encode(self) -> Result<u64, String> {
        match self {
            ChainedPtr::Rebase { target, high8 } => {
                if target >> TARGET_BITS != 0 {
                    return Err(format!(
                        "rebase target {target:#x} does not fit a 36-bit chained pointer"
                    ));
                }
                Ok(target | u64::from(high8) << TARGET_BITS)
            }
            ChainedPtr::Bind { ordinal, addend } => {
                if ordinal >> ORDINAL_BITS != 0 {
                    return Err(format!(
                        "import {ordinal} does not fit a 24-bit chained bind ordinal"
                    ));
                }
                Ok(BIND | u64::from(addend) << ORDINAL_BITS | u64::from(ordinal))
            }
        }
    }

    /// Decodes a word (its `next` field is ignored).
    pub fn decode(word: u64) -> ChainedPtr {
        if word & BIND != 0 {
            ChainedPtr::Bind {
                ordinal: (word & ((1 << ORDINAL_BITS) - 1)) as u32,
                addend: (word >> ORDINAL_BITS) as u8,
            }
        } else {
            ChainedPtr::Rebase {
                target: word & ((1 << TARGET_BITS) - 1),
                high8: (word >> TARGET_BITS) as u8,
            }
        }
    }
}

/// The rebase word of an unslid address. A pointer's top byte travels in
/// `high8`, which dyld puts back after sliding the rest: arm64 libc++ marks
/// the name pointer of a type_info that may be duplicated across images
/// by setting bit 63 (its "non-unique RTTI" bit), so such words are common
/// in C++ programs.
pub fn rebase(target: u64) -> Result<u64, String> {
    ChainedPtr::Rebase {
        target: target & ((1 << 56) - 1),
        high8: (target >> 56) as u8,
    }
    .encode()
}

/// A word's `next` field: strides to the next slot of its page.
pub fn next(word: u64) -> u64 {
    (word & NEXT_MASK) >> NEXT_SHIFT
}

/// A word without its `next` field.
pub fn without_next(word: u64) -> u64 {
    word & !NEXT_MASK
}

/// `word` (without `next`) linked to a slot `distance` bytes further on in
/// the same page (0: the end of the chain).
pub fn with_next(word: u64, distance: u64) -> u64 {
    debug_assert!(distance.is_multiple_of(STRIDE) && distance / STRIDE <= 0xFFF);
    without_next(word) | (distance / STRIDE) << NEXT_SHIFT
}

/// `word`'s fixup replaced by `fixup` (without `next`), keeping its link.
pub fn replace_keeping_next(word: u64, fixup: u64) -> u64 {
    (word & NEXT_MASK) | without_next(fixup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebases_and_binds_round_trip() {
        for p in [
            ChainedPtr::Rebase {
                target: 0x1_0000_4000,
                high8: 0,
            },
            ChainedPtr::Rebase {
                target: (1 << 36) - 1,
                high8: 0xAB,
            },
            ChainedPtr::Bind {
                ordinal: 0,
                addend: 0,
            },
            ChainedPtr::Bind {
                ordinal: (1 << 24) - 1,
                addend: 255,
            },
        ] {
            let word = p.encode().unwrap();
            assert_eq!(next(word), 0);
            assert_eq!(ChainedPtr::decode(word), p);
            let linked = with_next(word, 4 * 0xFFF);
            assert_eq!(next(linked), 0xFFF);
            assert_eq!(ChainedPtr::decode(linked), p);
            assert_eq!(without_next(linked), word);
        }
    }

    #[test]
    fn a_pointer_s_top_byte_goes_to_high8() {
        let word = rebase(0x8000_0001_0002_8860).unwrap();
        assert_eq!(
            ChainedPtr::decode(word),
            ChainedPtr::Rebase {
                target: 0x1_0002_8860,
                high8: 0x80
            }
        );
        assert!(
            rebase(0x0100_0010_0000_0000).is_err(),
            "bits 36..56 do not fit"
        );
    }

    #[test]
    fn the_bit_layout_is_dyld_s() {
        // A bind of import 5 with addend 3, next slot 16 bytes on.
        let w = with_next(
            ChainedPtr::Bind {
                ordinal: 5,
                addend: 3,
            }
            .encode()
            .unwrap(),
            16,
        );
        assert_eq!(w, 1 << 63 | 4 << 51 | 3 << 24 | 5);
        assert_eq!(rebase(0x1_0000_0000).unwrap(), 0x1_0000_0000);
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        assert!(rebase(1 << 36).is_err());
        assert!(ChainedPtr::Bind {
            ordinal: 1 << 24,
            addend: 0
        }
        .encode()
        .is_err());
    }

    #[test]
    fn replacing_a_fixup_keeps_the_chain() {
        let old = with_next(rebase(0x1000).unwrap(), 8);
        let new = replace_keeping_next(old, rebase(0x2000).unwrap());
        assert_eq!(next(new), 2);
        assert_eq!(
            ChainedPtr::decode(new),
            ChainedPtr::Rebase {
                target: 0x2000,
                high8: 0
            }
        );
    }
}
