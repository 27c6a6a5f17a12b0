//! arm64 branch decoding for `machlink verify`. Instructions are 4 bytes
//! and aligned, so decoding cannot fall out of step: padding (`brk`, zero
//! words) and constants decode as instructions that are no branches, and
//! only LC_DATA_IN_CODE ranges need skipping.

use super::{Code, Piece, Report};

/// The scratch register trampolines and stubs use (ip0).
const X16: u32 = 16;

/// Where a pc-relative branch at `pc` lands: `b`, `bl` (imm26), `b.cond`,
/// `cbz`/`cbnz` (imm19), `tbz`/`tbnz` (imm14).
fn branch_target(word: u32, pc: u64) -> Option<u64> {
    let (imm, bits) = if word & 0x7c00_0000 == 0x1400_0000 {
        (word & 0x03ff_ffff, 26) // b, bl
    } else if word & 0xff00_0010 == 0x5400_0000 || word & 0x7e00_0000 == 0x3400_0000 {
        ((word >> 5) & 0x7_ffff, 19) // b.cond, cbz, cbnz
    } else if word & 0x7e00_0000 == 0x3600_0000 {
        ((word >> 5) & 0x3fff, 14) // tbz, tbnz
    } else {
        return None;
    };
    let shift = 32 - bits;
    let words = (((imm << shift) as i32) >> shift) as i64;
    Some(pc.wrapping_add_signed(words * 4))
}

/// `b imm26` (not `bl`).
fn is_b(word: u32) -> bool {
    word & 0xfc00_0000 == 0x1400_0000
}

/// `brk #imm` or a zero word: the fill after a trampoline in its slot.
fn is_fill(word: u32) -> bool {
    word == 0 || word & 0xffe0_001f == 0xd420_0000
}

fn word_at(bytes: &[u8], index: usize) -> Option<u32> {
    let b = bytes.get(4 * index..4 * index + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The target of `adrp x16, page; add x16, x16, #off; br x16` at `pc`,
/// the far form of a trampoline.
fn far_jump_target(bytes: &[u8], pc: u64) -> Option<u64> {
    let (adrp, add, br) = (word_at(bytes, 0)?, word_at(bytes, 1)?, word_at(bytes, 2)?);
    let is_adrp = adrp & 0x9f00_001f == 0x9000_0000 | X16;
    let is_add = add & 0xffc0_03ff == 0x9100_0000 | (X16 << 5) | X16;
    let is_br = br == 0xd61f_0000 | (X16 << 5);
    if !(is_adrp && is_add && is_br) {
        return None;
    }
    let pages = ((adrp >> 29) & 3) | (((adrp >> 5) & 0x7_ffff) << 2);
    let pages = ((pages << 11) as i32 >> 11) as i64;
    let page = (pc & !0xfff).wrapping_add_signed(pages << 12);
    Some(page + u64::from((add >> 10) & 0xfff))
}

/// Where a trampoline at `addr` jumps, and its length: a `b` (or the far
/// form) to a place that is no function or stub (see
/// [`Code::may_be_trampoline`]), followed by fill or
/// the end of the code (a function that starts with a jump into its own
/// code has code after the jump, not fill).
fn hop(code: &Code, addr: u64) -> Option<(u64, u64)> {
    let bytes = code.bytes_at(addr)?;
    let first = word_at(bytes, 0)?;
    let (to, words) = if is_b(first) {
        (branch_target(first, addr)?, 1)
    } else {
        (far_jump_target(bytes, addr)?, 3)
    };
    let padded = word_at(bytes, words).is_none_or(is_fill);
    (padded && code.may_be_trampoline(addr, to)).then_some((to, 4 * words as u64))
}

pub(super) fn check_branches(code: &Code, report: &mut Report) {
    let hop = |addr: u64| hop(code, addr);
    for piece in code.pieces() {
        let Piece { lo, hi, func, body } = piece;
        // A slot that starts with the far form of a trampoline (no direct
        // branch to decode) is checked as one.
        if lo == func.0 {
            if let Some(to) = far_jump_target(body, lo) {
                if code.check_branch(report, lo, to, func, hop) {
                    continue;
                }
            }
        }
        let mut ip = lo;
        while ip + 4 <= hi {
            if let Some(end) = code.data_in_code_end(ip) {
                ip = end.min(hi).next_multiple_of(4).max(ip + 4);
                continue;
            }
            let at = (ip - lo) as usize;
            let word = u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
            if let Some(to) = branch_target(word, ip) {
                if code.check_branch(report, ip, to, func, hop) {
                    // The rest of the trampoline's slot is padding.
                    break;
                }
            }
            ip += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_decode_forwards_and_backwards() {
        // b +8, bl -4, b.ne +12, cbz x0 -8, tbnz w1, #3, +16
        assert_eq!(branch_target(0x1400_0002, 0x1000), Some(0x1008));
        assert_eq!(branch_target(0x97ff_ffff, 0x1000), Some(0x0ffc));
        assert_eq!(branch_target(0x5400_0061, 0x1000), Some(0x100c));
        assert_eq!(branch_target(0xb4ff_ffc0, 0x1000), Some(0x0ff8));
        assert_eq!(branch_target(0x3718_0081, 0x1000), Some(0x1010));
        // ret, nop, brk #1, adrp: no direct branches.
        for word in [0xd65f_03c0, 0xd503_201f, 0xd420_0020, 0x9000_0010] {
            assert_eq!(branch_target(word, 0x1000), None, "{word:#x}");
        }
        assert!(is_b(0x17ff_ffff) && !is_b(0x9400_0000));
        assert!(is_fill(0xd420_0020) && is_fill(0) && !is_fill(0xd503_201f));
    }

    #[test]
    fn the_far_trampoline_form_decodes() {
        // adrp x16, #+2 pages; add x16, x16, #0x123; br x16 at 0x1_0000_4010
        let adrp: u32 = 0x9000_0010 | (2 << 29);
        let add: u32 = 0x9100_0000 | (0x123 << 10) | (16 << 5) | 16;
        let br: u32 = 0xd61f_0200;
        let bytes: Vec<u8> = [adrp, add, br]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(far_jump_target(&bytes, 0x1_0000_4010), Some(0x1_0000_6123));
        // A page below: immlo = 3, immhi all ones (-1 page).
        let back: u32 = 0x9000_0010 | (3 << 29) | (0x7_ffff << 5);
        let bytes: Vec<u8> = [back, add, br]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(far_jump_target(&bytes, 0x1_0000_4010), Some(0x1_0000_3123));
        // Another register: not a trampoline.
        let bytes: Vec<u8> = [adrp | 1, add, br]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(far_jump_target(&bytes, 0x1000), None);
    }
}
