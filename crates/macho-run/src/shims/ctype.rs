//! macOS ctype: `_DefaultRuneLocale` and the `__maskrune` family.
//!
//! macOS's `<ctype.h>` inlines `isalpha(c)` and friends as a lookup in
//! `_DefaultRuneLocale.__runetype[c]` for ASCII and a call to `__maskrune`
//! otherwise, so the table must have macOS's layout and bit values. We fill
//! it for the "C" locale, which is what a program sees until it calls
//! setlocale.

use std::sync::OnceLock;

// _CTYPE_* bits from macOS <_ctype.h>.
const A: u32 = 0x100; // alpha
const C: u32 = 0x200; // control
const D: u32 = 0x400; // digit
const G: u32 = 0x800; // graph
const L: u32 = 0x1000; // lower
const P: u32 = 0x2000; // punct
const S: u32 = 0x4000; // space
const U: u32 = 0x8000; // upper
const X: u32 = 0x10000; // xdigit
const B: u32 = 0x20000; // blank
const R: u32 = 0x40000; // print
const SW1: u32 = 0x4000_0000; // one column wide

/// Byte offsets inside macOS's `_RuneLocale` (x86_64 and arm64 alike).
const RUNETYPE: usize = 60;
const MAPLOWER: usize = RUNETYPE + 256 * 4;
const MAPUPPER: usize = MAPLOWER + 256 * 4;
/// `sizeof(_RuneLocale)` is 3208; round up.
const RUNE_LOCALE_SIZE: usize = 4096;

fn class_of(c: u8) -> u32 {
    let mut bits = 0;
    let ch = c as char;
    if c < 0x80 {
        if ch.is_ascii_alphabetic() {
            bits |= A;
        }
        if ch.is_ascii_control() {
            bits |= C;
        }
        if ch.is_ascii_digit() {
            bits |= D | (c - b'0') as u32;
        }
        if ch.is_ascii_graphic() {
            bits |= G | R | SW1;
        }
        if ch.is_ascii_lowercase() {
            bits |= L;
        }
        if ch.is_ascii_punctuation() {
            bits |= P;
        }
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            bits |= S;
        }
        if ch.is_ascii_uppercase() {
            bits |= U;
        }
        if ch.is_ascii_hexdigit() {
            bits |= X;
            if !ch.is_ascii_digit() {
                bits |= (ch.to_ascii_lowercase() as u32 - 'a' as u32) + 10;
            }
        }
        if c == b' ' || c == b'\t' {
            bits |= B;
        }
        if c == b' ' {
            bits |= R | SW1;
        }
    }
    bits
}

struct Table(Box<[u8; RUNE_LOCALE_SIZE]>);

static LOCALE: OnceLock<Table> = OnceLock::new();

fn locale() -> &'static [u8; RUNE_LOCALE_SIZE] {
    &LOCALE
        .get_or_init(|| {
            let mut t = Box::new([0u8; RUNE_LOCALE_SIZE]);
            t[..8].copy_from_slice(b"RuneMagA");
            t[8..12].copy_from_slice(b"NONE");
            t[56..60].copy_from_slice(&0xFFFDi32.to_le_bytes()); // __invalid_rune
            for c in 0..=255u8 {
                let i = c as usize * 4;
                t[RUNETYPE + i..RUNETYPE + i + 4].copy_from_slice(&class_of(c).to_le_bytes());
                let lower = c.to_ascii_lowercase() as i32;
                let upper = c.to_ascii_uppercase() as i32;
                t[MAPLOWER + i..MAPLOWER + i + 4].copy_from_slice(&lower.to_le_bytes());
                t[MAPUPPER + i..MAPUPPER + i + 4].copy_from_slice(&upper.to_le_bytes());
            }
            Table(t)
        })
        .0
}

fn runetype(c: i32) -> u32 {
    match u8::try_from(c) {
        Ok(c) => class_of(c),
        Err(_) => 0,
    }
}

extern "C" fn maskrune(c: i32, mask: libc::c_ulong) -> i32 {
    (runetype(c) & mask as u32) as i32
}

extern "C" fn isctype(c: i32, mask: libc::c_ulong) -> i32 {
    i32::from(runetype(c) & mask as u32 != 0)
}

extern "C" fn tolower(c: i32) -> i32 {
    match u8::try_from(c) {
        Ok(b) => b.to_ascii_lowercase() as i32,
        Err(_) => c,
    }
}

extern "C" fn toupper(c: i32) -> i32 {
    match u8::try_from(c) {
        Ok(b) => b.to_ascii_uppercase() as i32,
        Err(_) => c,
    }
}

/// `MB_CUR_MAX` in the "C" locale.
static MB_CUR_MAX: i32 = 1;

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("__DefaultRuneLocale", locale().as_ptr() as usize),
        ("___maskrune", maskrune as *const () as usize),
        ("___maskrune_l", maskrune as *const () as usize),
        ("___istype", isctype as *const () as usize),
        ("___isctype", isctype as *const () as usize),
        ("___tolower", tolower as *const () as usize),
        ("___toupper", toupper as *const () as usize),
        ("___tolower_l", tolower as *const () as usize),
        ("___toupper_l", toupper as *const () as usize),
        ("___mb_cur_max", &MB_CUR_MAX as *const i32 as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_carry_their_value_and_letters_their_case() {
        assert_eq!(class_of(b'7') & 0xff, 7);
        assert_eq!(class_of(b'c') & 0xff, 12);
        assert_ne!(class_of(b'c') & L, 0);
        assert_eq!(class_of(b'C') & L, 0);
        assert_ne!(class_of(b' ') & (S | B | R), 0);
        assert_eq!(class_of(b' ') & G, 0);
        assert_eq!(class_of(0xe9), 0);
    }
}
