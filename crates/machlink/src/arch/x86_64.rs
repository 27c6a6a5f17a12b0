//! x86_64: trampolines are `jmp rel32` (5 bytes), reaching ±2 GiB, which
//! covers any image machlink lays out.

use super::Arch;

pub struct X86_64;

const JMP_REL32: u8 = 0xE9;

impl Arch for X86_64 {
    const CPU_TYPE: u32 = 0x0100_0007;
    const MAX_TRAMPOLINE: usize = 5;

    fn write_trampoline(out: &mut [u8], from: u64, to: u64) -> Option<usize> {
        let next = from.checked_add(5)?;
        let disp = i32::try_from(to.wrapping_sub(next) as i64).ok()?;
        let out = out.get_mut(..5)?;
        out[0] = JMP_REL32;
        out[1..].copy_from_slice(&disp.to_le_bytes());
        Some(5)
    }

    fn read_trampoline(code: &[u8], from: u64) -> Option<u64> {
        match code {
            [JMP_REL32, d0, d1, d2, d3, ..] => {
                let disp = i32::from_le_bytes([*d0, *d1, *d2, *d3]);
                Some(from.wrapping_add(5).wrapping_add(disp as i64 as u64))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trampolines_round_trip_forwards_and_backwards() {
        let mut buf = [0u8; 8];
        for (from, to) in [
            (0x1000_0000u64, 0x1000_4000u64),
            (0x1000_4000, 0x1000_0000),
            (0x2000, 0x2005),
        ] {
            assert_eq!(X86_64::write_trampoline(&mut buf, from, to), Some(5));
            assert_eq!(X86_64::read_trampoline(&buf, from), Some(to));
        }
        assert_eq!(buf[0], 0xE9);
    }

    #[test]
    fn out_of_range_targets_are_refused() {
        let mut buf = [0u8; 5];
        assert_eq!(X86_64::write_trampoline(&mut buf, 0, 0x1_0000_0000), None);
        assert_eq!(
            X86_64::write_trampoline(&mut [0u8; 4], 0, 16),
            None,
            "too small a slot"
        );
        assert_eq!(X86_64::read_trampoline(&[0x90; 5], 0), None);
    }
}
