//! LEB128 integers, the variable-length encoding used throughout
//! `__LINKEDIT` (export trie, dyld-info opcodes, function starts).
//!
//! Each byte carries 7 bits of the value, least significant group first; the
//! high bit is set on every byte but the last. Signed values (SLEB128) are
//! sign-extended from bit 6 of the last byte.
//!
//! Readers are lenient in one way only, like LLVM's decoders: redundant
//! padding bytes beyond bit 63 are accepted when they carry no information
//! (zero for ULEB, a copy of the sign for SLEB). Anything that does not fit
//! in 64 bits, and any encoding cut short by the end of `data`, is `None`.

/// Appends `v` as ULEB128 (the shortest encoding).
#[inline]
pub fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as SLEB128 (the shortest encoding).
#[inline]
pub fn write_sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v as u8) & 0x7f;
        v >>= 7; // arithmetic shift: keeps the sign
        let sign_bit_clear = byte & 0x40 == 0;
        if (v == 0 && sign_bit_clear) || (v == -1 && !sign_bit_clear) {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Number of bytes [`write_uleb`] writes for `v` (1 to 10).
#[inline]
pub const fn uleb_len(v: u64) -> usize {
    // Significant bits, at least 1 (zero still takes one byte), 7 per byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Number of bytes [`write_sleb`] writes for `v` (1 to 10).
#[inline]
pub const fn sleb_len(v: i64) -> usize {
    // Bits needed for the magnitude plus one sign bit.
    let magnitude = if v < 0 { !v } else { v } as u64;
    let bits = 64 - magnitude.leading_zeros() as usize + 1;
    bits.div_ceil(7)
}

/// Reads a ULEB128 at `*pos`, advancing `*pos` past it. Returns `None` (and
/// leaves `*pos` untouched) when the encoding runs past the end of `data` or
/// the value does not fit in a `u64`.
#[inline]
pub fn read_uleb(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut p = *pos;
    // Fast path: one byte, which is most offsets, flags and sizes.
    let first = *data.get(p)?;
    p += 1;
    if first < 0x80 {
        *pos = p;
        return Some(u64::from(first));
    }
    let mut value = u64::from(first & 0x7f);
    let mut shift = 7u32;
    loop {
        let byte = *data.get(p)?;
        p += 1;
        let slice = u64::from(byte & 0x7f);
        if shift < 64 {
            // At shift 63 only the low bit of the slice still fits.
            if shift == 63 && slice > 1 {
                return None;
            }
            value |= slice << shift;
        } else if slice != 0 {
            return None;
        }
        if byte < 0x80 {
            *pos = p;
            return Some(value);
        }
        shift = shift.saturating_add(7);
    }
}

/// Reads an SLEB128 at `*pos`, advancing `*pos` past it. Returns `None` (and
/// leaves `*pos` untouched) when the encoding runs past the end of `data` or
/// the value does not fit in an `i64`.
#[inline]
pub fn read_sleb(data: &[u8], pos: &mut usize) -> Option<i64> {
    let mut p = *pos;
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *data.get(p)?;
        p += 1;
        let slice = u64::from(byte & 0x7f);
        let last = byte < 0x80;
        if shift < 63 {
            value |= slice << shift;
        } else {
            // Bits from 63 on must all equal the sign: bit 63 of the result
            // when it is already known (shift > 63), else this slice decides.
            let negative = if shift == 63 {
                slice & 1 != 0
            } else {
                value >> 63 != 0
            };
            let expected = if negative { 0x7f } else { 0 };
            let checked = if shift == 63 { slice >> 1 } else { slice };
            let expected = if shift == 63 { expected >> 1 } else { expected };
            if checked != expected {
                return None;
            }
            if shift == 63 {
                value |= slice << 63;
            }
        }
        shift = shift.saturating_add(7);
        if last {
            if shift < 64 && byte & 0x40 != 0 {
                value |= u64::MAX << shift;
            }
            *pos = p;
            return Some(value as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uleb(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_uleb(&mut out, v);
        out
    }

    fn sleb(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_sleb(&mut out, v);
        out
    }

    #[test]
    fn uleb_known_encodings() {
        assert_eq!(uleb(0), [0x00]);
        assert_eq!(uleb(1), [0x01]);
        assert_eq!(uleb(127), [0x7f]);
        assert_eq!(uleb(128), [0x80, 0x01]);
        assert_eq!(uleb(624_485), [0xe5, 0x8e, 0x26]);
        assert_eq!(uleb(0x3f0), [0xf0, 0x07]);
        assert_eq!(
            uleb(u64::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn sleb_known_encodings() {
        assert_eq!(sleb(0), [0x00]);
        assert_eq!(sleb(2), [0x02]);
        assert_eq!(sleb(-1), [0x7f]);
        assert_eq!(sleb(63), [0x3f]);
        assert_eq!(sleb(64), [0xc0, 0x00]);
        assert_eq!(sleb(-64), [0x40]);
        assert_eq!(sleb(-65), [0xbf, 0x7f]);
        assert_eq!(sleb(-123_456), [0xc0, 0xbb, 0x78]);
        assert_eq!(
            sleb(i64::MIN),
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]
        );
        assert_eq!(
            sleb(i64::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]
        );
    }

    fn interesting_u64() -> Vec<u64> {
        let mut v = vec![0, 1, 0x7f, 0x80, 0x3fff, 0x4000, u64::MAX, u64::MAX - 1];
        for bit in 0..64 {
            let p = 1u64 << bit;
            v.extend([p, p - 1, p | 1, p.wrapping_add(1)]);
        }
        // A deterministic spread of other values.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x >> (x % 64));
        }
        v
    }

    #[test]
    fn uleb_round_trip_and_len() {
        for v in interesting_u64() {
            let enc = uleb(v);
            assert_eq!(enc.len(), uleb_len(v), "len of {v:#x}");
            let mut pos = 0;
            assert_eq!(read_uleb(&enc, &mut pos), Some(v));
            assert_eq!(pos, enc.len());
            // Truncation anywhere is detected and leaves pos alone.
            for cut in 0..enc.len() {
                let mut pos = 0;
                assert_eq!(read_uleb(&enc[..cut], &mut pos), None);
                assert_eq!(pos, 0);
            }
        }
    }

    #[test]
    fn sleb_round_trip_and_len() {
        let mut values: Vec<i64> = interesting_u64().into_iter().map(|v| v as i64).collect();
        values.extend([i64::MIN, i64::MIN + 1, -1, -2, -63, -64, -65, -8192, -8193]);
        for v in values {
            let enc = sleb(v);
            assert_eq!(enc.len(), sleb_len(v), "len of {v}");
            let mut pos = 0;
            assert_eq!(read_sleb(&enc, &mut pos), Some(v), "{enc:x?}");
            assert_eq!(pos, enc.len());
            for cut in 0..enc.len() {
                let mut pos = 0;
                assert_eq!(read_sleb(&enc[..cut], &mut pos), None);
                assert_eq!(pos, 0);
            }
        }
    }

    #[test]
    fn read_at_offset_in_stream() {
        let mut buf = vec![0xaa];
        write_uleb(&mut buf, 300);
        write_sleb(&mut buf, -300);
        write_uleb(&mut buf, 5);
        let mut pos = 1;
        assert_eq!(read_uleb(&buf, &mut pos), Some(300));
        assert_eq!(read_sleb(&buf, &mut pos), Some(-300));
        assert_eq!(read_uleb(&buf, &mut pos), Some(5));
        assert_eq!(pos, buf.len());
        assert_eq!(read_uleb(&buf, &mut pos), None);
    }

    #[test]
    fn uleb_overflow_and_padding() {
        // 2^64: the tenth byte carries bit 64.
        let too_big = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02];
        assert_eq!(read_uleb(&too_big, &mut 0), None);
        // An eleventh byte with payload overflows too.
        let eleven = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01,
        ];
        assert_eq!(read_uleb(&eleven, &mut 0), None);
        // Zero padding past bit 63 is harmless.
        let padded = [
            0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        let mut pos = 0;
        assert_eq!(read_uleb(&padded, &mut pos), Some(1));
        assert_eq!(pos, padded.len());
        // Non-minimal but valid.
        assert_eq!(read_uleb(&[0x85, 0x00], &mut 0), Some(5));
        // Endless continuation bytes end at the end of the data.
        assert_eq!(read_uleb(&[0x80; 64], &mut 0), None);
    }

    #[test]
    fn sleb_overflow_and_padding() {
        // 2^63 does not fit in an i64.
        let too_big = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        assert_eq!(read_sleb(&too_big, &mut 0), None);
        // -(2^63) - 1 neither.
        let too_small = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7e];
        assert_eq!(read_sleb(&too_small, &mut 0), None);
        // Sign padding is harmless: -1 spelled out in 12 bytes, 5 in 11.
        let mut minus_one = vec![0xff; 11];
        minus_one.push(0x7f);
        assert_eq!(read_sleb(&minus_one, &mut 0), Some(-1));
        let mut five = vec![0x85];
        five.extend([0x80; 9]);
        five.push(0x00);
        assert_eq!(read_sleb(&five, &mut 0), Some(5));
        // Padding that contradicts the sign overflows.
        let mut bad = vec![0xff; 10];
        bad.push(0x00);
        assert_eq!(read_sleb(&bad, &mut 0), None);
        assert_eq!(read_sleb(&[0x80; 64], &mut 0), None);
    }
}
