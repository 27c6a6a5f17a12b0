//! Reading a linked image's unwind tables in tests, by hand rather than
//! with machlink's own reader: the rows of `__unwind_info` and the FDEs of
//! `__eh_frame`, so that a test can check that each function's row leads
//! to an FDE that describes exactly that function, and that a search of
//! `__eh_frame` (what an unwinder does without a row) finds the same one.

/// `UNWIND_X86_64_MODE_DWARF` / `UNWIND_ARM64_MODE_DWARF`: an encoding
/// whose low 24 bits are an FDE's offset in `__eh_frame`.
pub fn dwarf_mode(target: crate::Target) -> u32 {
    match target {
        crate::Target::X86_64 => 0x0400_0000,
        crate::Target::Arm64 => 0x0300_0000,
    }
}

/// The bits of an encoding that hold its mode.
pub const MODE_MASK: u32 = 0x0f00_0000;

fn u16_at(d: &[u8], at: usize) -> Result<u16, String> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes(b.try_into().unwrap()))
        .ok_or_else(|| format!("unwind table truncated at {at:#x}"))
}

fn u32_at(d: &[u8], at: usize) -> Result<u32, String> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .ok_or_else(|| format!("unwind table truncated at {at:#x}"))
}

fn u64_at(d: &[u8], at: usize) -> Result<u64, String> {
    d.get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .ok_or_else(|| format!("unwind table truncated at {at:#x}"))
}

/// The rows of an `__unwind_info` section: (function offset from the
/// image base, encoding), sorted; and the end offset of the last function.
pub fn unwind_rows(d: &[u8]) -> Result<(Vec<(u32, u32)>, u32), String> {
    let common_off = u32_at(d, 4)? as usize;
    let common: Vec<u32> = (0..u32_at(d, 8)? as usize)
        .map(|i| u32_at(d, common_off + 4 * i))
        .collect::<Result<_, _>>()?;
    let index_off = u32_at(d, 20)? as usize;
    let index_count = u32_at(d, 24)? as usize;
    let mut rows = Vec::new();
    let mut end = 0;
    for i in 0..index_count {
        let e = index_off + 12 * i;
        let func = u32_at(d, e)?;
        let page = u32_at(d, e + 4)? as usize;
        if i + 1 == index_count {
            end = func;
            break;
        }
        match u32_at(d, page)? {
            2 => {
                let entries = page + usize::from(u16_at(d, page + 4)?);
                for k in 0..usize::from(u16_at(d, page + 6)?) {
                    rows.push((u32_at(d, entries + 8 * k)?, u32_at(d, entries + 8 * k + 4)?));
                }
            }
            3 => {
                let entries = page + usize::from(u16_at(d, page + 4)?);
                let count = usize::from(u16_at(d, page + 6)?);
                let local = page + usize::from(u16_at(d, page + 8)?);
                let local_count = usize::from(u16_at(d, page + 10)?);
                for k in 0..count {
                    let v = u32_at(d, entries + 4 * k)?;
                    let idx = (v >> 24) as usize;
                    let enc = match common.get(idx) {
                        Some(&e) => e,
                        None if idx - common.len() < local_count => {
                            u32_at(d, local + 4 * (idx - common.len()))?
                        }
                        None => return Err(format!("row uses encoding {idx}, which is not there")),
                    };
                    rows.push((func + (v & 0x00ff_ffff), enc));
                }
            }
            k => return Err(format!("unknown second-level page kind {k}")),
        }
    }
    rows.sort_unstable();
    Ok((rows, end))
}

/// The row that covers image offset `off`: (start, encoding).
pub fn covering_row(rows: &[(u32, u32)], end: u32, off: u32) -> Option<(u32, u32)> {
    let i = rows.partition_point(|r| r.0 <= off);
    (i > 0 && off < end).then(|| rows[i - 1])
}

/// One FDE of `__eh_frame`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fde {
    /// Its offset in the section.
    pub offset: u32,
    pub pc_begin: u64,
    pub pc_range: u64,
    /// Its call frame instructions, without the trailing `DW_CFA_nop`s
    /// (padding), and those of its CIE: what an unwinder runs.
    pub program: Vec<u8>,
    pub cie_program: Vec<u8>,
}

impl Fde {
    pub fn covers(&self, addr: u64) -> bool {
        addr >= self.pc_begin && addr - self.pc_begin < self.pc_range
    }
}

fn uleb(d: &[u8], at: &mut usize) -> Result<u64, String> {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = *d.get(*at).ok_or("truncated LEB128")?;
        *at += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
}

fn trim_nops(p: &[u8]) -> Vec<u8> {
    let end = p.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    p[..end].to_vec()
}

/// A CIE's pointer encoding for its FDEs ('R') and its instructions.
fn parse_cie(d: &[u8], at: usize) -> Result<(u8, Vec<u8>), String> {
    let end = at + 4 + u32_at(d, at)? as usize;
    let mut p = at + 8;
    let version = *d.get(p).ok_or("truncated CIE")?;
    p += 1;
    let aug_len = d[p..]
        .iter()
        .position(|&b| b == 0)
        .ok_or("CIE augmentation")?;
    let aug = d[p..p + aug_len].to_vec();
    p += aug_len + 1;
    uleb(d, &mut p)?; // code alignment
    uleb(d, &mut p)?; // data alignment (sleb; only skipped)
    if version == 1 {
        p += 1;
    } else {
        uleb(d, &mut p)?;
    }
    let mut encoding = 0;
    if aug.first() == Some(&b'z') {
        let len = uleb(d, &mut p)? as usize;
        let data_end = p + len;
        for &c in &aug[1..] {
            match c {
                b'R' => encoding = d[p],
                b'L' => {}
                b'P' => return Err("CIE with a personality".into()),
                _ => return Err(format!("CIE augmentation {c}")),
            }
            p += 1;
        }
        p = data_end;
    }
    Ok((encoding, trim_nops(d.get(p..end).ok_or("truncated CIE")?)))
}

/// The FDEs of an `__eh_frame` section at address `addr`, up to its
/// terminator (a zero length word) or its end.
pub fn eh_frame_fdes(d: &[u8], addr: u64) -> Result<Vec<Fde>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 4 <= d.len() {
        let len = u32_at(d, at)? as usize;
        if len == 0 {
            break;
        }
        let end = at + 4 + len;
        if len == 0xffff_ffff || end > d.len() {
            return Err(format!("bad record length at {at:#x}"));
        }
        let id = u32_at(d, at + 4)? as usize;
        if id != 0 {
            let cie = (at + 4)
                .checked_sub(id)
                .ok_or_else(|| format!("FDE at {at:#x} points before the section"))?;
            if u32_at(d, cie + 4)? != 0 {
                return Err(format!("FDE at {at:#x} points at {cie:#x}, not a CIE"));
            }
            let (enc, cie_program) = parse_cie(d, cie)?;
            let size = match enc & 0x0f {
                0x03 | 0x0b => 4,
                0x00 | 0x04 | 0x0c => 8,
                e => return Err(format!("FDE pointer encoding {e:#x}")),
            };
            let read = |p: usize| -> Result<u64, String> {
                Ok(if size == 4 {
                    u64::from(u32_at(d, p)?) as i32 as i64 as u64
                } else {
                    u64_at(d, p)?
                })
            };
            let field = at + 8;
            let mut pc_begin = read(field)?;
            if enc & 0x70 == 0x10 {
                pc_begin = pc_begin.wrapping_add(addr + field as u64);
            }
            let pc_range = read(field + size)? & if size == 4 { 0xffff_ffff } else { u64::MAX };
            let mut p = field + 2 * size;
            let aug_len = uleb(d, &mut p)? as usize; // 'z' CIEs only, as clang writes
            p += aug_len;
            out.push(Fde {
                offset: at as u32,
                pc_begin,
                pc_range,
                program: trim_nops(d.get(p..end).ok_or("truncated FDE")?),
                cie_program,
            });
        }
        at = end;
    }
    Ok(out)
}

/// Where the trampoline an incremental update writes at `addr` (its
/// bytes `code`) leads: x86_64 `jmp rel32`; arm64 `b imm26`, or
/// `adrp x16` / `add x16` / `br x16`. None: not a trampoline.
pub fn trampoline_target(target: crate::Target, code: &[u8], addr: u64) -> Option<u64> {
    match target {
        crate::Target::X86_64 => (code.first() == Some(&0xe9)).then(|| {
            let d = i32::from_le_bytes(code[1..5].try_into().unwrap());
            (addr as i64 + 5 + i64::from(d)) as u64
        }),
        crate::Target::Arm64 => {
            let word = |i: usize| {
                code.get(4 * i..4 * i + 4)
                    .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            };
            let w0 = word(0)?;
            if w0 & 0xfc00_0000 == 0x1400_0000 {
                let imm = ((w0 << 6) as i32 >> 6) as i64 * 4;
                return Some((addr as i64 + imm) as u64);
            }
            let (w1, w2) = (word(1)?, word(2)?);
            // adrp x16, page; add x16, x16, #lo12; br x16
            if w0 & 0x9f00_001f != 0x9000_0010 || w1 & 0xffc0_03ff != 0x9100_0210 {
                return None;
            }
            if w2 != 0xd61f_0200 {
                return None;
            }
            let immlo = u64::from((w0 >> 29) & 3);
            let immhi = u64::from((w0 >> 5) & 0x7_ffff);
            let pages = (((immhi << 2 | immlo) << 43) as i64) >> 43;
            let page = ((addr & !0xfff) as i64 + (pages << 12)) as u64;
            Some(page + u64::from((w1 >> 10) & 0xfff))
        }
    }
}
