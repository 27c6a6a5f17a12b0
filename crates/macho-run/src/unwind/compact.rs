//! Looking a function up in `__TEXT,__unwind_info` (the two-level table
//! ld64 and machlink write) and stepping a frame by its compact encoding.
//!
//! Every offset in the section is relative to the image's mach header.
//! The first level is an index of (first function, second-level page,
//! LSDA entries); a page is regular (function, encoding pairs) or
//! compressed (24-bit function offset from the index entry's and an 8-bit
//! encoding index into the common encodings, then the page's own).

use super::registry::ImageRecord;
use super::Mem;

pub const MODE_MASK: u32 = 0x0f00_0000;
const HAS_LSDA: u32 = 0x4000_0000;
const PERSONALITY_MASK: u32 = 0x3000_0000;

const REGULAR_PAGE: u32 = 2;
const COMPRESSED_PAGE: u32 = 3;

/// A function's row: where it starts and ends (runtime addresses), its
/// encoding, personality routine and LSDA (0 when none).
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub start: u64,
    pub end: u64,
    pub encoding: u32,
    pub personality: u64,
    pub lsda: u64,
}

struct Table<'a> {
    d: &'a [u8],
}

impl Table<'_> {
    fn u32(&self, at: usize) -> Result<u32, String> {
        self.d
            .get(at..at.wrapping_add(4))
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("__unwind_info is truncated at offset {at:#x}"))
    }

    fn u16(&self, at: usize) -> Result<u16, String> {
        self.d
            .get(at..at.wrapping_add(2))
            .map(|b| u16::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("__unwind_info is truncated at offset {at:#x}"))
    }
}

/// The row of the function holding `pc_off` (an offset from the header),
/// or None when the table has no entry for it.
pub fn lookup(rec: &ImageRecord, range: (u64, u64), pc_off: u32) -> Result<Option<Row>, String> {
    // SAFETY: the registry's section ranges are mapped read-only for the
    // life of the process.
    let t = Table {
        d: unsafe { ImageRecord::bytes(range) },
    };
    if t.u32(0)? != 1 {
        return Err(format!("__unwind_info version {} (expected 1)", t.u32(0)?));
    }
    let common_off = t.u32(4)? as usize;
    let common_count = t.u32(8)?;
    let pers_off = t.u32(12)? as usize;
    let pers_count = t.u32(16)?;
    let index_off = t.u32(20)? as usize;
    let index_count = t.u32(24)? as usize;
    if index_count < 2 {
        return Ok(None);
    }
    // The last index entry is a sentinel holding the end of the last
    // function; find the last entry that starts at or before pc_off.
    let entry = |i: usize| t.u32(index_off + 12 * i);
    let (mut lo, mut hi) = (0, index_count - 1);
    if pc_off < entry(0)? || pc_off >= entry(hi)? {
        return Ok(None);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if entry(mid)? <= pc_off {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let first_level = index_off + 12 * lo;
    let page_func_base = t.u32(first_level)?;
    let next_first = t.u32(first_level + 12)?;
    let page = t.u32(first_level + 4)? as usize;
    let lsda_lo = t.u32(first_level + 8)? as usize;
    let lsda_hi = t.u32(first_level + 12 + 8)? as usize;
    if page == 0 {
        return Ok(None);
    }
    let (start, end, encoding) = match t.u32(page)? {
        REGULAR_PAGE => {
            let entries = page + t.u16(page + 4)? as usize;
            let count = t.u16(page + 6)? as usize;
            let func = |i: usize| t.u32(entries + 8 * i);
            let Some(i) = last_at_or_before(count, pc_off, func)? else {
                return Ok(None);
            };
            let end = if i + 1 < count {
                func(i + 1)?
            } else {
                next_first
            };
            (func(i)?, end, t.u32(entries + 8 * i + 4)?)
        }
        COMPRESSED_PAGE => {
            let entries = page + t.u16(page + 4)? as usize;
            let count = t.u16(page + 6)? as usize;
            let enc_off = page + t.u16(page + 8)? as usize;
            let enc_count = u32::from(t.u16(page + 10)?);
            let word = |i: usize| t.u32(entries + 4 * i);
            let func = |i: usize| word(i).map(|w| page_func_base.wrapping_add(w & 0x00ff_ffff));
            let Some(i) = last_at_or_before(count, pc_off, func)? else {
                return Ok(None);
            };
            let end = if i + 1 < count {
                func(i + 1)?
            } else {
                next_first
            };
            let idx = word(i)? >> 24;
            let encoding = if idx < common_count {
                t.u32(common_off + 4 * idx as usize)?
            } else if idx - common_count < enc_count {
                t.u32(enc_off + 4 * (idx - common_count) as usize)?
            } else {
                return Err(format!(
                    "compressed page entry names encoding {idx}, past the {common_count} common and {enc_count} page encodings"
                ));
            };
            (func(i)?, end, encoding)
        }
        kind => return Err(format!("second-level page of unknown kind {kind}")),
    };
    let mut row = Row {
        start: rec.header.wrapping_add(u64::from(start)),
        end: rec.header.wrapping_add(u64::from(end)),
        encoding,
        personality: 0,
        lsda: 0,
    };
    let pers = (encoding & PERSONALITY_MASK) >> 28;
    if pers != 0 {
        if pers > pers_count {
            return Err(format!(
                "personality index {pers} past the {pers_count} personalities"
            ));
        }
        // Each entry is the offset of a pointer-sized slot (a GOT entry)
        // that holds the bound personality routine.
        let slot = rec
            .header
            .wrapping_add(u64::from(t.u32(pers_off + 4 * (pers as usize - 1))?));
        row.personality = Mem::image_word(rec, slot)
            .ok_or_else(|| format!("personality slot {slot:#x} is outside the image"))?;
    }
    if encoding & HAS_LSDA != 0 {
        let n = lsda_hi.saturating_sub(lsda_lo) / 8;
        let func = |i: usize| t.u32(lsda_lo + 8 * i);
        let found = match last_at_or_before(n, start, func)? {
            Some(i) if func(i)? == start => t.u32(lsda_lo + 8 * i + 4)?,
            _ => {
                return Err(format!(
                    "no LSDA entry for the function at offset {start:#x}"
                ))
            }
        };
        row.lsda = rec.header.wrapping_add(u64::from(found));
    }
    Ok(Some(row))
}

/// The last of `count` sorted keys that is <= `key`.
fn last_at_or_before(
    count: usize,
    key: u32,
    at: impl Fn(usize) -> Result<u32, String>,
) -> Result<Option<usize>, String> {
    if count == 0 || at(0)? > key {
        return Ok(None);
    }
    let (mut lo, mut hi) = (0, count);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if at(mid)? <= key {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(Some(lo))
}

/// Whether an encoding sends the unwinder to an FDE (and which offset in
/// `__eh_frame`).
pub fn dwarf_offset(encoding: u32) -> Option<u64> {
    (encoding & MODE_MASK == super::arch_modes::DWARF).then_some(u64::from(encoding & 0x00ff_ffff))
}

#[cfg(target_arch = "x86_64")]
pub use x86_64_step::step;

#[cfg(target_arch = "x86_64")]
mod x86_64_step {
    use super::super::{Mem, Regs};
    use super::Row;

    const RBP_FRAME: u32 = 0x0100_0000;
    const STACK_IMMD: u32 = 0x0200_0000;
    const STACK_IND: u32 = 0x0300_0000;

    /// The DWARF number of a compact register number (1 rbx, 2 r12, 3 r13,
    /// 4 r14, 5 r15, 6 rbp).
    fn dwarf_reg(n: u32) -> Option<u16> {
        Some(match n {
            1 => 3,
            2 => 12,
            3 => 13,
            4 => 14,
            5 => 15,
            6 => 6,
            _ => return None,
        })
    }

    /// Steps `regs` from the frame of `row`'s function to its caller.
    pub fn step(row: &Row, regs: &mut Regs, mem: &Mem) -> Result<(), String> {
        let e = row.encoding;
        match e & super::MODE_MASK {
            RBP_FRAME => rbp_frame(e, regs, mem),
            STACK_IMMD => frameless(e, ((e >> 16) & 0xff) * 8, regs, mem),
            STACK_IND => {
                // The function's `sub $N, %rsp` holds the size: the encoding
                // says where its 32-bit immediate is, and how much more
                // the pushes add.
                let at = row.start + u64::from((e >> 16) & 0xff);
                let imm = mem
                    .code_u32(at)
                    .ok_or_else(|| format!("stack size at {at:#x} is outside the image"))?;
                let size = imm.wrapping_add(((e >> 13) & 7) * 8);
                frameless(e, size, regs, mem)
            }
            mode => Err(format!(
                "compact encoding {e:#010x} has mode {:#x}, which x86_64 has no step for",
                mode >> 24
            )),
        }
    }

    fn rbp_frame(e: u32, regs: &mut Regs, mem: &Mem) -> Result<(), String> {
        let rbp = regs.r[6];
        let offset = u64::from((e >> 16) & 0xff);
        let mut at = rbp.wrapping_sub(offset * 8);
        let mut saved = e & 0x7fff;
        let mut new = *regs;
        for _ in 0..5 {
            let n = saved & 7;
            saved >>= 3;
            if n != 0 {
                let reg = dwarf_reg(n)
                    .ok_or_else(|| format!("RBP frame encoding {e:#010x} names register {n}"))?;
                new.r[reg as usize] = mem.stack(at)?;
            }
            at = at.wrapping_add(8);
        }
        new.r[6] = mem.stack(rbp)?;
        new.pc = mem.stack(rbp.wrapping_add(8))?;
        new.r[7] = rbp.wrapping_add(16);
        *regs = new;
        Ok(())
    }

    /// Undoes the permutation (a Lehmer code over the six registers)
    /// that names which registers, in push order, a frameless function
    /// saved.
    pub(super) fn permutation(count: u32, mut perm: u32) -> Result<Vec<u32>, String> {
        let radices: &[u32] = match count {
            0 => &[],
            1 => &[1],
            2 => &[5, 1],
            3 => &[20, 4, 1],
            4 => &[60, 12, 3, 1],
            5 => &[120, 24, 6, 2, 1],
            6 => &[120, 24, 6, 2, 1, 1],
            _ => return Err(format!("frameless encoding saves {count} registers")),
        };
        let mut digits = Vec::new();
        for &r in radices {
            digits.push(perm / r);
            perm %= r;
        }
        if count == 6 {
            digits[5] = 0;
        }
        let mut used = [false; 7];
        let mut out = Vec::new();
        for d in digits {
            let reg = (1..7)
                .filter(|&u| !used[u as usize])
                .nth(d as usize)
                .ok_or_else(|| "frameless register permutation out of range".to_string())?;
            used[reg as usize] = true;
            out.push(reg);
        }
        Ok(out)
    }

    fn frameless(e: u32, size: u32, regs: &mut Regs, mem: &Mem) -> Result<(), String> {
        let count = (e >> 10) & 7;
        let order = permutation(count, e & 0x3ff)?;
        let sp = regs.r[7];
        // The return address is at the top of the frame, the saved
        // registers just below it in push order.
        let ret_at = sp.wrapping_add(u64::from(size)).wrapping_sub(8);
        let mut at = ret_at.wrapping_sub(8 * u64::from(count));
        let mut new = *regs;
        for n in order {
            let reg = dwarf_reg(n).expect("permutation yields 1..=6");
            new.r[reg as usize] = mem.stack(at)?;
            at = at.wrapping_add(8);
        }
        new.pc = mem.stack(ret_at)?;
        new.r[7] = ret_at.wrapping_add(8);
        *regs = new;
        Ok(())
    }
}

#[cfg(target_arch = "aarch64")]
pub use aarch64_step::step;

#[cfg(target_arch = "aarch64")]
mod aarch64_step {
    use super::super::{Mem, Regs};
    use super::Row;

    const FRAMELESS: u32 = 0x0200_0000;
    const FRAME: u32 = 0x0400_0000;

    /// The register pairs an encoding may name, in the order they sit
    /// downwards from the top of the save area: (bit, first, second)
    /// DWARF numbers.
    const PAIRS: [(u32, u16, u16); 9] = [
        (0x001, 19, 20),
        (0x002, 21, 22),
        (0x004, 23, 24),
        (0x008, 25, 26),
        (0x010, 27, 28),
        (0x100, 72, 73),
        (0x200, 74, 75),
        (0x400, 76, 77),
        (0x800, 78, 79),
    ];

    fn restore_pairs(e: u32, mut at: u64, new: &mut Regs, mem: &Mem) -> Result<(), String> {
        for (bit, a, b) in PAIRS {
            if e & bit != 0 {
                new.r[a as usize] = mem.stack(at)?;
                new.r[b as usize] = mem.stack(at.wrapping_sub(8))?;
                at = at.wrapping_sub(16);
            }
        }
        Ok(())
    }

    /// Steps `regs` from the frame of `row`'s function to its caller.
    pub fn step(row: &Row, regs: &mut Regs, mem: &Mem) -> Result<(), String> {
        let e = row.encoding;
        let mut new = *regs;
        match e & super::MODE_MASK {
            FRAME => {
                // x29 points at the saved (x29, x30) pair; the saved
                // registers sit just below it.
                let fp = regs.r[29];
                restore_pairs(e, fp.wrapping_sub(8), &mut new, mem)?;
                new.r[29] = mem.stack(fp)?;
                new.pc = mem.stack(fp.wrapping_add(8))?;
                new.r[31] = fp.wrapping_add(16);
            }
            FRAMELESS => {
                // The saved registers are at the top of the frame; the
                // return address is still in lr.
                let size = u64::from((e >> 12) & 0xfff) * 16;
                let top = regs.r[31].wrapping_add(size);
                restore_pairs(e, top.wrapping_sub(8), &mut new, mem)?;
                new.r[31] = top;
                new.pc = regs.r[30];
            }
            mode => {
                return Err(format!(
                    "compact encoding {e:#010x} has mode {:#x}, which arm64 has no step for",
                    mode >> 24
                ))
            }
        }
        *regs = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(buf: &mut [u8], at: usize, words: &[u32]) {
        for (i, w) in words.iter().enumerate() {
            buf[at + 4 * i..at + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
    }

    fn put16(buf: &mut [u8], at: usize, halves: &[u16]) {
        for (i, h) in halves.iter().enumerate() {
            buf[at + 2 * i..at + 2 * i + 2].copy_from_slice(&h.to_le_bytes());
        }
    }

    const ENC_A: u32 = 0x0100_0001;
    const ENC_B: u32 = 0x0200_0002;
    const ENC_C: u32 = 0x0100_0003 | HAS_LSDA | 0x1000_0000;
    const ENC_D: u32 = 0x0300_0004;

    /// An `__unwind_info` with a regular page (functions 0x1000 and
    /// 0x1100, the second with personality 1 and an LSDA) and a
    /// compressed one (0x2000 with the common encoding, 0x2080 with the
    /// page's own), ending at 0x3000.
    fn table() -> Vec<u8> {
        let mut t = vec![0u8; 128];
        put(&mut t, 0, &[1, 28, 1, 32, 1, 36, 3]);
        put(&mut t, 28, &[ENC_A]);
        put(&mut t, 32, &[0x4000]); // the personality's GOT slot
        put(
            &mut t,
            36,
            &[0x1000, 80, 72, 0x2000, 104, 80, 0x3000, 0, 80],
        );
        put(&mut t, 72, &[0x1100, 0x5000]); // LSDA entry
        put(&mut t, 80, &[2]);
        put16(&mut t, 84, &[8, 2]);
        put(&mut t, 88, &[0x1000, ENC_B, 0x1100, ENC_C]);
        put(&mut t, 104, &[3]);
        put16(&mut t, 108, &[12, 2, 20, 1]);
        put(&mut t, 116, &[0, 1 << 24 | 0x80]);
        put(&mut t, 124, &[ENC_D]);
        t
    }

    #[test]
    fn regular_and_compressed_pages_personality_and_lsda() {
        let info = Box::leak(table().into_boxed_slice());
        let image: &mut [u64] = Box::leak(vec![0u64; 0x6000 / 8].into_boxed_slice());
        image[0x4000 / 8] = 0xdead_beef;
        let header = image.as_ptr() as u64;
        let range = (
            info.as_ptr() as u64,
            info.as_ptr() as u64 + info.len() as u64,
        );
        let rec = ImageRecord {
            path: c"test".into(),
            header,
            slide: 0,
            text: (header, header + 0x6000),
            range: (header, header + 0x6000),
            unwind_info: Some(range),
            eh_frame: None,
        };
        let row = |off| lookup(&rec, range, off).unwrap();
        let at = |off: u64| header + off;
        let r = row(0x1050).unwrap();
        assert_eq!(
            (r.start, r.end, r.encoding),
            (at(0x1000), at(0x1100), ENC_B)
        );
        assert_eq!((r.personality, r.lsda), (0, 0));
        let r = row(0x1fff).unwrap();
        assert_eq!(
            (r.start, r.end, r.encoding),
            (at(0x1100), at(0x2000), ENC_C)
        );
        assert_eq!((r.personality, r.lsda), (0xdead_beef, at(0x5000)));
        let r = row(0x2000).unwrap();
        assert_eq!(
            (r.start, r.end, r.encoding),
            (at(0x2000), at(0x2080), ENC_A)
        );
        let r = row(0x2fff).unwrap();
        assert_eq!(
            (r.start, r.end, r.encoding),
            (at(0x2080), at(0x3000), ENC_D)
        );
        assert!(row(0x3000).is_none(), "past the sentinel");
        assert!(row(0xfff).is_none(), "before the first function");
        assert_eq!(dwarf_offset(super::super::arch_modes::DWARF | 4), Some(4));
    }

    #[test]
    fn a_truncated_table_is_an_error() {
        let info = Box::leak(table()[..60].to_vec().into_boxed_slice());
        let range = (info.as_ptr() as u64, info.as_ptr() as u64 + 60);
        let rec = ImageRecord {
            path: c"test".into(),
            header: 0x1_0000_0000,
            slide: 0,
            text: (0, 0),
            range: (0, 0),
            unwind_info: Some(range),
            eh_frame: None,
        };
        let e = lookup(&rec, range, 0x1050).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod x86_64_tests {
    use super::x86_64_step::*;
    use super::Row;
    use crate::unwind::{Mem, Regs};

    /// The Lehmer code of a sequence of distinct registers 1..=6, as
    /// compilers encode frameless saved registers.
    fn encode(regs: &[u32]) -> u32 {
        let radices: &[u32] = match regs.len() {
            0 => &[],
            1 => &[1],
            2 => &[5, 1],
            3 => &[20, 4, 1],
            4 => &[60, 12, 3, 1],
            5 => &[120, 24, 6, 2, 1],
            _ => &[120, 24, 6, 2, 1, 1],
        };
        let mut used = [false; 7];
        let mut perm = 0;
        for (r, radix) in regs.iter().zip(radices) {
            let digit = (1..*r).filter(|&u| !used[u as usize]).count() as u32;
            used[*r as usize] = true;
            perm += digit * radix;
        }
        perm
    }

    #[test]
    fn every_register_permutation_decodes() {
        fn all(prefix: &mut Vec<u32>, k: usize, out: &mut Vec<Vec<u32>>) {
            if prefix.len() == k {
                out.push(prefix.clone());
                return;
            }
            for r in 1..=6 {
                if !prefix.contains(&r) {
                    prefix.push(r);
                    all(prefix, k, out);
                    prefix.pop();
                }
            }
        }
        for k in 0..=6 {
            let mut perms = Vec::new();
            all(&mut Vec::new(), k, &mut perms);
            for p in perms {
                let got = permutation(k as u32, encode(&p)).unwrap();
                assert_eq!(got, p, "{k} registers");
            }
        }
        assert!(permutation(7, 0).is_err());
    }

    fn regs(sp: u64, rbp: u64) -> Regs {
        let mut r = Regs { r: [0; 16], pc: 0 };
        r.r[7] = sp;
        r.r[6] = rbp;
        r
    }

    fn row(encoding: u32, start: u64) -> Row {
        Row {
            start,
            end: start + 16,
            encoding,
            personality: 0,
            lsda: 0,
        }
    }

    #[test]
    fn frameless_rows_restore_registers_in_push_order() {
        // Five words: two of locals, r12 (pushed last), rbx, the return
        // address.
        let stack: [u64; 6] = [0, 7, 0x12, 0x3, 0xaaaa, 0];
        let sp = stack.as_ptr() as u64;
        let mem = Mem::current();
        let e = 0x0200_0000 | (5 << 16) | (2 << 10) | encode(&[2, 1]);
        let mut r = regs(sp, 0);
        step(&row(e, 0), &mut r, &mem).unwrap();
        assert_eq!((r.r[12], r.r[3]), (0x12, 0x3));
        assert_eq!((r.pc, r.r[7]), (0xaaaa, sp + 40));
        // The same frame, its size read from a `sub $24, %rsp` immediate
        // plus the two pushes.
        let code: [u8; 8] = [0x48, 0x83, 0xec, 24, 0, 0, 0, 0];
        let start = code.as_ptr() as u64;
        let e = 0x0300_0000 | (3 << 16) | (2 << 13) | (2 << 10) | encode(&[2, 1]);
        let mut r = regs(sp, 0);
        // The code is not in a registered image: an error, not a wild read.
        let err = step(&row(e, start), &mut r, &mem).unwrap_err();
        assert!(err.contains("outside the image"), "{err}");
    }

    #[test]
    fn rbp_frames_restore_saved_registers_below_rbp() {
        // rbx at rbp-16, r12 at rbp-8, then saved rbp and the return address.
        let stack: [u64; 4] = [0x3, 0x12, 0x5555, 0xbbbb];
        let rbp = stack.as_ptr() as u64 + 16;
        // offset 2 words; registers rbx (1), r12 (2) upwards from rbp-16.
        let e = 0x0100_0000 | (2 << 16) | (2 << 3) | 1;
        let mut r = regs(rbp - 32, rbp);
        step(&row(e, 0), &mut r, &Mem::current()).unwrap();
        assert_eq!((r.r[3], r.r[12], r.r[6]), (0x3, 0x12, 0x5555));
        assert_eq!((r.pc, r.r[7]), (0xbbbb, rbp + 16));
    }

    #[test]
    fn reads_outside_the_stack_are_errors() {
        let e = 0x0100_0000;
        let mut r = regs(0x10, 0x1000);
        let err = step(&row(e, 0), &mut r, &Mem::current()).unwrap_err();
        assert!(err.contains("outside this thread's stack"), "{err}");
    }
}

#[cfg(all(test, target_arch = "aarch64"))]
mod aarch64_tests {
    use super::aarch64_step::*;
    use super::Row;
    use crate::unwind::{Mem, Regs};

    fn row(encoding: u32) -> Row {
        Row {
            start: 0,
            end: 16,
            encoding,
            personality: 0,
            lsda: 0,
        }
    }

    fn regs() -> Regs {
        // SAFETY: Regs is plain integers.
        unsafe { std::mem::zeroed() }
    }

    #[test]
    fn frame_rows_restore_pairs_below_the_frame_record() {
        // d9, d8, x20, x19, then the frame record (fp, lr).
        let stack: [u64; 6] = [9, 8, 20, 19, 0x7777, 0xcccc];
        let fp = stack.as_ptr() as u64 + 32;
        let mut r = regs();
        r.r[29] = fp;
        r.r[31] = fp - 32;
        step(&row(0x0400_0101), &mut r, &Mem::current()).unwrap();
        assert_eq!((r.r[19], r.r[20], r.r[72], r.r[73]), (19, 20, 8, 9));
        assert_eq!((r.r[29], r.pc, r.r[31]), (0x7777, 0xcccc, fp + 16));
    }

    #[test]
    fn frameless_rows_take_the_return_address_from_lr() {
        // 32 bytes: locals, then x20 and x19 at the top.
        let stack: [u64; 4] = [0, 0, 20, 19];
        let sp = stack.as_ptr() as u64;
        let mut r = regs();
        r.r[31] = sp;
        r.r[30] = 0xdddd;
        step(&row(0x0200_0000 | (2 << 12) | 1), &mut r, &Mem::current()).unwrap();
        assert_eq!((r.r[19], r.r[20]), (19, 20));
        assert_eq!((r.pc, r.r[31]), (0xdddd, sp + 32));
    }
}
