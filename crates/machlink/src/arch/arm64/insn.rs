//! AArch64 instruction words: the fixed instructions machlink writes and
//! the immediates relocations fill in (`b`/`bl` imm26, `adrp` imm21 pages,
//! the 12-bit page offset of `add` and of `ldr`/`str`, scaled by the
//! access size).

use super::super::ApplyError;

pub const ADRP: u32 = 0x9000_0000;
const ADRP_MASK: u32 = 0x9f00_0000;
/// `ldr xT, [xN, #imm]` (unsigned offset), with T, N and imm zero.
pub const LDR_X_IMM: u32 = 0xf940_0000;
/// `add xD, xN, #imm`, with D, N and imm zero.
pub const ADD_X_IMM: u32 = 0x9100_0000;
pub const BR_X16: u32 = 0xd61f_0200;
/// `brk #1`: what ld64 and lld fill code gaps with.
pub const BRK_1: u32 = 0xd420_0020;
/// `b` with a zero displacement; `bl` sets bit 31 as well.
pub const B: u32 = 0x1400_0000;
pub const B_MASK: u32 = 0xfc00_0000;
pub const NOP: u32 = 0xd503_201f;
/// `mov x0, #0` (movz).
pub const MOVZ_X0_0: u32 = 0xd280_0000;
/// `stp x16, x17, [sp, #-16]!`.
pub const STP_X16_X17_PRE: u32 = 0xa9bf_47f0;
/// `ldr w16, #8`: the word two instructions on.
pub const LDR_W16_LITERAL_8: u32 = 0x1800_0050;
/// How far `b`/`bl` reach back; forward, one instruction less.
pub const BRANCH_REACH: u64 = 1 << 27;
/// The imm12 field of `add` and of unsigned-offset loads and stores.
const IMM12: u32 = 0xfff << 10;

/// Little-endian instruction bytes of `w` (for constant templates).
pub const fn words<const N: usize>(w: &[u32]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (w[i / 4] >> (8 * (i % 4))) as u8;
        i += 1;
    }
    out
}

pub fn get(field: &[u8]) -> Result<u32, ApplyError> {
    let w = field.get(..4).ok_or(ApplyError::OutsideAtom)?;
    Ok(u32::from_le_bytes(w.try_into().expect("4 bytes")))
}

pub fn put(field: &mut [u8], word: u32) -> Result<(), ApplyError> {
    let w = field.get_mut(..4).ok_or(ApplyError::OutsideAtom)?;
    w.copy_from_slice(&word.to_le_bytes());
    Ok(())
}

fn unexpected(expected: &'static str, word: u32) -> ApplyError {
    ApplyError::UnexpectedInstruction {
        expected,
        found: format!("{word:#010x}"),
    }
}

/// `word` (a `b` or `bl` at `pc`) made to land on `to`.
pub fn branch(word: u32, pc: u64, to: u64) -> Result<u32, ApplyError> {
    if word & 0x7c00_0000 != B {
        return Err(unexpected("b or bl", word));
    }
    let delta = to.wrapping_sub(pc) as i64;
    if delta % 4 != 0 {
        return Err(ApplyError::Misaligned {
            value: to,
            align: 4,
        });
    }
    if !(-(BRANCH_REACH as i64)..BRANCH_REACH as i64).contains(&delta) {
        return Err(ApplyError::OutOfRange {
            value: delta,
            bits: 28,
        });
    }
    Ok(word & B_MASK | ((delta >> 2) as u32 & 0x03ff_ffff))
}

/// Where the `b`/`bl` `word` at `pc` lands.
pub fn branch_target(word: u32, pc: u64) -> u64 {
    let imm = (((word << 6) as i32) >> 6) as i64;
    pc.wrapping_add((imm * 4) as u64)
}

pub fn expect_adrp(word: u32) -> Result<(), ApplyError> {
    if word & ADRP_MASK == ADRP {
        Ok(())
    } else {
        Err(unexpected("adrp", word))
    }
}

fn page(addr: u64) -> u64 {
    addr & !0xfff
}

/// `word` (an `adrp` at `pc`) made to give the 4 KiB page of `value`.
pub fn adrp(word: u32, pc: u64, value: u64) -> Result<u32, ApplyError> {
    expect_adrp(word)?;
    let delta = page(value).wrapping_sub(page(pc)) as i64;
    if !(-(1i64 << 32)..1i64 << 32).contains(&delta) {
        return Err(ApplyError::OutOfRange {
            value: delta,
            bits: 33,
        });
    }
    let imm = (delta >> 12) as u32;
    Ok(word & !0x60ff_ffe0 | (imm & 3) << 29 | ((imm >> 2) & 0x7ffff) << 5)
}

/// The page the `adrp` `word` at `pc` gives.
pub fn adrp_target(word: u32, pc: u64) -> u64 {
    let imm = (word >> 29) & 3 | ((word >> 5) & 0x7ffff) << 2;
    let pages = ((imm << 11) as i32 >> 11) as i64;
    page(pc).wrapping_add((pages << 12) as u64)
}

/// log2 of the bytes an unsigned-offset load or store moves (its
/// immediate counts units of that size); 0 for `add`/`sub` (immediate).
fn offset_scale(word: u32) -> Result<u32, ApplyError> {
    if word & 0x3b00_0000 == 0x3900_0000 {
        let size = word >> 30;
        // opc bit 23 with V (bit 26) and size 0: a 128-bit q register.
        let q = size == 0 && word & 0x0480_0000 == 0x0480_0000;
        return Ok(if q { 4 } else { size });
    }
    if word & 0x1f80_0000 == 0x1100_0000 {
        return Ok(0);
    }
    Err(unexpected("add or an unsigned-offset load or store", word))
}

/// `word` (an `add`, `ldr` or `str`) given `value`'s offset in its page.
pub fn page_offset(word: u32, value: u64) -> Result<u32, ApplyError> {
    let scale = offset_scale(word)?;
    let offset = (value & 0xfff) as u32;
    if offset & ((1 << scale) - 1) != 0 {
        return Err(ApplyError::Misaligned {
            value,
            align: 1 << scale,
        });
    }
    Ok(word & !IMM12 | (offset >> scale) << 10)
}

/// The byte offset an `add`, `ldr` or `str` adds.
fn page_offset_of(word: u32) -> Option<u64> {
    let scale = offset_scale(word).ok()?;
    Some(u64::from((word & IMM12) >> 10) << scale)
}

/// `ldr xT/wT, [xN, #off]` becomes `add xT, xN, #off`: the address of the
/// slot rather than what it holds.
pub fn ldr_to_add(word: u32) -> Result<u32, ApplyError> {
    if word & 0xbfc0_0000 != 0xb940_0000 {
        return Err(unexpected(
            "ldr (unsigned offset) of a w or x register",
            word,
        ));
    }
    Ok(ADD_X_IMM | word & 0x3ff)
}

/// Writes `adrp xN, target@PAGE` then `second` (an `add` or `ldr` whose
/// base is xN) with `target@PAGEOFF`, at address `at`.
pub fn write_page_load(
    out: &mut [u8],
    at: u64,
    second: u32,
    target: u64,
) -> Result<(), ApplyError> {
    let base = (second >> 5) & 0x1f;
    put(out, adrp(ADRP | base, at, target)?)?;
    let rest = out.get_mut(4..).ok_or(ApplyError::OutsideAtom)?;
    put(rest, page_offset(second, target)?)
}

/// The address an `adrp xN` and a `second` of the template's form (its
/// immediate zero) at `at` compute, if `code` starts with that pair.
pub fn read_page_pair(code: &[u8], at: u64, template: u32) -> Option<u64> {
    let first = get(code).ok()?;
    let second = get(code.get(4..)?).ok()?;
    let base = (template >> 5) & 0x1f;
    if first & ADRP_MASK != ADRP || first & 0x1f != base || second & !IMM12 != template {
        return None;
    }
    Some(adrp_target(first, at).wrapping_add(page_offset_of(second)?))
}
