//! Reading a linked image's unwind tables in tests, by hand rather than
//! with machlink's own reader: the rows of `__unwind_info` and the FDEs of
//! `__eh_frame`, so that a test can check that each function's row leads
//! to an FDE that describes exactly that function, and that a search of
//! `__eh_frame` (what an unwinder does without a row) finds the same one.

use crate::Target;
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeMap;
use std::path::Path;

/// `UNWIND_X86_64_MODE_DWARF` / `UNWIND_ARM64_MODE_DWARF`: an encoding
/// whose low 24 bits are an FDE's offset in `__eh_frame`.
pub fn dwarf_mode(target: Target) -> u32 {
    match target {
        Target::X86_64 => 0x0400_0000,
        Target::Arm64 => 0x0300_0000,
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

/// The exception tables of an `__unwind_info` section: the image offsets of
/// its personality pointers (index 1 first), and its LSDA index (function
/// offset → LSDA offset).
pub fn unwind_exception_tables(d: &[u8]) -> Result<(Vec<u32>, BTreeMap<u32, u32>), String> {
    let personalities = (0..u32_at(d, 16)? as usize)
        .map(|i| u32_at(d, u32_at(d, 12)? as usize + 4 * i))
        .collect::<Result<_, _>>()?;
    let index_off = u32_at(d, 20)? as usize;
    let index_count = u32_at(d, 24)? as usize;
    let first = u32_at(d, index_off + 8)? as usize;
    let last = u32_at(d, index_off + 12 * (index_count.max(1) - 1) + 8)? as usize;
    let mut lsdas = BTreeMap::new();
    for at in (first..last).step_by(8) {
        lsdas.insert(u32_at(d, at)?, u32_at(d, at + 4)?);
    }
    Ok((personalities, lsdas))
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
    /// Its CIE's personality pointer: where the pointer to the routine is
    /// (a GOT slot, for the indirect encodings compilers use).
    pub personality: Option<u64>,
    /// Its LSDA's address (from its augmentation data), if any.
    pub lsda: Option<u64>,
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

/// A CIE: its FDEs' pointer encoding ('R'), its LSDA pointers' ('L'), where
/// its personality pointer leads ('P'), and its instructions.
struct Cie {
    fde_encoding: u8,
    lsda_encoding: Option<u8>,
    personality: Option<u64>,
    program: Vec<u8>,
}

/// Reads a pointer of DWARF encoding `enc` at `p` of a section at
/// `addr`; an indirect one gives where the pointer is, not what it holds.
fn read_encoded(d: &[u8], addr: u64, p: &mut usize, enc: u8) -> Result<u64, String> {
    let (value, size) = match enc & 0x0f {
        0x03 => (u64::from(u32_at(d, *p)?), 4),
        0x0b => (u64::from(u32_at(d, *p)?) as i32 as i64 as u64, 4),
        0x00 | 0x04 | 0x0c => (u64_at(d, *p)?, 8),
        e => return Err(format!("pointer encoding {e:#x}")),
    };
    let value = match enc & 0x70 {
        0x00 => value,
        0x10 => value.wrapping_add(addr + *p as u64),
        e => return Err(format!("pointer application {e:#x}")),
    };
    *p += size;
    Ok(value)
}

fn parse_cie(d: &[u8], addr: u64, at: usize) -> Result<Cie, String> {
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
    let mut cie = Cie {
        fde_encoding: 0,
        lsda_encoding: None,
        personality: None,
        program: Vec::new(),
    };
    if aug.first() == Some(&b'z') {
        let len = uleb(d, &mut p)? as usize;
        let data_end = p + len;
        for &c in &aug[1..] {
            let enc = *d.get(p).ok_or("truncated CIE")?;
            p += 1;
            match c {
                b'R' => cie.fde_encoding = enc,
                b'L' => cie.lsda_encoding = Some(enc),
                b'P' => cie.personality = Some(read_encoded(d, addr, &mut p, enc)?),
                _ => return Err(format!("CIE augmentation {c}")),
            }
        }
        p = data_end;
    }
    cie.program = trim_nops(d.get(p..end).ok_or("truncated CIE")?);
    Ok(cie)
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
            let Cie {
                fde_encoding: enc,
                lsda_encoding,
                personality,
                program: cie_program,
            } = parse_cie(d, addr, cie)?;
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
            let mut lsda = None;
            if let Some(le) = lsda_encoding {
                // A zero field is no LSDA, whatever the encoding.
                if u32_at(d, p)? != 0 {
                    let mut q = p;
                    lsda = Some(read_encoded(d, addr, &mut q, le)?);
                }
            }
            p += aug_len;
            out.push(Fde {
                offset: at as u32,
                pc_begin,
                pc_range,
                program: trim_nops(d.get(p..end).ok_or("truncated FDE")?),
                cie_program,
                personality,
                lsda,
            });
        }
        at = end;
    }
    Ok(out)
}

fn sleb(d: &[u8], at: &mut usize) -> Result<i64, String> {
    let (mut v, mut shift) = (0i64, 0);
    loop {
        let b = *d.get(*at).ok_or("truncated LEB128")?;
        *at += 1;
        if shift < 64 {
            v |= i64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 && b & 0x40 != 0 {
                v |= -1 << shift;
            }
            return Ok(v);
        }
    }
}

/// See [`UnwindTables::lsda_contents`]; `d` starts at the LSDA, at `addr`.
fn lsda_contents(d: &[u8], addr: u64, name: &dyn Fn(u64) -> String) -> Result<String, String> {
    let mut p = 0usize;
    let lpstart = *d.first().ok_or("empty")?;
    p += 1;
    if lpstart != 0xff {
        return Err(format!("landing pad base encoding {lpstart:#x}"));
    }
    let ttype_enc = *d.get(p).ok_or("truncated")?;
    p += 1;
    let ttype_base = if ttype_enc != 0xff {
        let off = uleb(d, &mut p)? as usize;
        Some(p + off)
    } else {
        None
    };
    let cs_enc = *d.get(p).ok_or("truncated")?;
    p += 1;
    let cs_len = uleb(d, &mut p)? as usize;
    let cs = d.get(p..p + cs_len).ok_or("truncated call sites")?;
    let actions_at = p + cs_len;
    // Each call site's action: a 1-based offset into the action table.
    let mut q = 0usize;
    let mut actions = Vec::new();
    while q < cs.len() {
        match cs_enc {
            0x01 => {
                for _ in 0..3 {
                    uleb(cs, &mut q)?;
                }
            }
            0x03 => q += 12,
            e => return Err(format!("call-site encoding {e:#x}")),
        }
        let a = uleb(cs, &mut q)?;
        if a != 0 {
            actions.push(actions_at + a as usize - 1);
        }
    }
    // Follow each action chain: (filter, next) records.
    let mut filters = std::collections::BTreeSet::new();
    let mut actions_end = actions_at;
    for mut at in actions {
        for _ in 0..64 {
            let filter = sleb(d, &mut at)?;
            let next_at = at;
            let next = sleb(d, &mut at)?;
            actions_end = actions_end.max(at);
            filters.insert(filter);
            if next == 0 {
                break;
            }
            at = (next_at as i64 + next) as usize;
        }
    }
    let mut types = Vec::new();
    for &f in filters.iter().filter(|&&f| f > 0) {
        let base = ttype_base.ok_or("a type filter without a type table")?;
        let size = match ttype_enc & 0x0f {
            0x03 | 0x0b => 4,
            0x00 | 0x04 | 0x0c => 8,
            e => return Err(format!("type encoding {e:#x}")),
        };
        let mut at = base
            .checked_sub(size * f as usize)
            .ok_or("type table before the LSDA")?;
        let raw = if size == 4 {
            u64::from(u32_at(d, at)?)
        } else {
            u64_at(d, at)?
        };
        let ty = if raw == 0 {
            "catch-all".to_string()
        } else {
            let target = read_encoded(d, addr, &mut at, ttype_enc & 0x7f)?;
            if ttype_enc & 0x80 != 0 {
                name(target)
            } else {
                format!("{target:#x}")
            }
        };
        types.push(format!("{f}: {ty}"));
    }
    Ok(format!(
        "call sites {cs:02x?}, actions {:02x?}, types [{}]",
        d.get(actions_at..actions_end).unwrap_or_default(),
        types.join(", ")
    ))
}

/// Where the trampoline an incremental update writes at `addr` (its
/// bytes `code`) leads: x86_64 `jmp rel32`; arm64 `b imm26`, or
/// `adrp x16` / `add x16` / `br x16`. None: not a trampoline.
pub fn trampoline_target(target: Target, code: &[u8], addr: u64) -> Option<u64> {
    match target {
        Target::X86_64 => (code.first() == Some(&0xe9)).then(|| {
            let d = i32::from_le_bytes(code[1..5].try_into().unwrap());
            (addr as i64 + 5 + i64::from(d)) as u64
        }),
        Target::Arm64 => {
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

/// An image's functions and unwind tables, read with the `object` crate.
pub struct UnwindTables {
    target: Target,
    /// Address of each function symbol.
    symbols: BTreeMap<String, u64>,
    text: (u64, Vec<u8>),
    rows: Vec<(u32, u32)>,
    end: u32,
    fdes: Vec<Fde>,
    base: u64,
    /// `__unwind_info`'s personality pointers and LSDA index.
    personalities: Vec<u32>,
    lsdas: BTreeMap<u32, u32>,
    /// Every section's (address, contents), to read LSDAs.
    sections: Vec<(u64, Vec<u8>)>,
    /// What the pointers dyld fixes up hold (GOT slots by name).
    pointers: std::collections::HashMap<u64, String>,
    /// Every defined symbol by address (the smallest name at each).
    names: BTreeMap<u64, String>,
}

impl UnwindTables {
    pub fn read(target: Target, exe: &Path) -> UnwindTables {
        let data = std::fs::read(exe).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let section = |name: &str| {
            let s = file
                .section_by_name(name)
                .unwrap_or_else(|| panic!("{} has no {name}", exe.display()));
            (s.address(), s.data().unwrap().to_vec())
        };
        let text = section("__text");
        let (_, info) = section("__unwind_info");
        // A link whose functions all have compact encodings has none.
        let (eh_addr, eh) = file
            .section_by_name("__eh_frame")
            .map_or((0, Vec::new()), |s| {
                (s.address(), s.data().unwrap().to_vec())
            });
        let (rows, end) = unwind_rows(&info).unwrap();
        let (personalities, lsdas) = unwind_exception_tables(&info).unwrap();
        let sections = file
            .sections()
            .filter_map(|s| Some((s.address(), s.data().ok()?.to_vec())))
            .collect();
        let pointers = crate::semantic_diff::pointer_targets(exe).unwrap();
        let mut names = BTreeMap::new();
        for sym in file.symbols().filter(|s| s.is_definition()) {
            let name = sym.name().unwrap().to_string();
            let entry = names.entry(sym.address()).or_insert_with(|| name.clone());
            if name < *entry {
                *entry = name;
            }
        }
        let fdes = eh_frame_fdes(&eh, eh_addr).unwrap();
        let symbols = file
            .symbols()
            .filter(|s| {
                let a = s.address();
                s.is_definition() && a >= text.0 && a < text.0 + text.1.len() as u64
            })
            .map(|s| (s.name().unwrap().to_string(), s.address()))
            .collect();
        UnwindTables {
            target,
            symbols,
            text,
            rows,
            end,
            fdes,
            base: 0x1_0000_0000,
            personalities,
            lsdas,
            sections,
            pointers,
            names,
        }
    }

    /// The name of what the pointer at `slot` holds: a bound symbol, or
    /// the function symbol a rebase points at.
    pub fn pointer_name(&self, slot: u64) -> String {
        match self.pointers.get(&slot) {
            Some(t) => {
                let at = u64::from_str_radix(t.trim_start_matches("0x"), 16).ok();
                at.and_then(|a| self.names.get(&a))
                    .map_or_else(|| t.clone(), |n| n.clone())
            }
            None => format!("no pointer at {slot:#x}"),
        }
    }

    /// The personality a row's encoding names (by what its pointer holds).
    pub fn row_personality(&self, encoding: u32) -> Option<String> {
        let i = (encoding >> 28) & 3;
        (i != 0).then(|| {
            let slot = self.personalities.get(i as usize - 1).map_or_else(
                || format!("missing personality {i}"),
                |&o| self.pointer_name(self.base + u64::from(o)),
            );
            slot
        })
    }

    /// The LSDA the index gives the row starting at `start`: its address.
    pub fn row_lsda(&self, start: u64) -> Option<u64> {
        self.lsdas
            .get(&((start - self.base) as u32))
            .map(|&o| self.base + u64::from(o))
    }

    fn bytes_at(&self, addr: u64) -> &[u8] {
        self.sections
            .iter()
            .find(|(a, d)| addr >= *a && addr < a + d.len() as u64)
            .map_or(&[][..], |(a, d)| &d[(addr - a) as usize..])
    }

    /// An LSDA's contents, in terms that do not depend on where the image
    /// put things: its call-site table and action records as bytes (their
    /// offsets are relative to the function and to the tables), and the
    /// type infos its filters name, by the symbols their GOT slots bind.
    pub fn lsda_contents(&self, addr: u64) -> String {
        lsda_contents(self.bytes_at(addr), addr, &|slot| self.pointer_name(slot))
            .unwrap_or_else(|e| format!("an LSDA that does not parse at {addr:#x}: {e}"))
    }

    pub fn addr(&self, sym: &str) -> u64 {
        self.symbols[sym]
    }

    /// Where a function's code is: behind the trampoline in its slot, if
    /// its slot holds one.
    pub fn body(&self, sym: &str) -> u64 {
        let a = self.addr(sym);
        let code = &self.text.1[(a - self.text.0) as usize..];
        trampoline_target(self.target, code, a).unwrap_or(a)
    }

    /// The row covering `addr`: (its start address, encoding).
    pub fn row(&self, addr: u64) -> (u64, u32) {
        let (start, enc) = covering_row(&self.rows, self.end, (addr - self.base) as u32)
            .unwrap_or_else(|| panic!("no __unwind_info row covers {addr:#x}"));
        (self.base + u64::from(start), enc)
    }

    /// Whether the row at `start` may cover the functions after its own
    /// (as rows fold): compact, with no LSDA, and not x86_64's
    /// `STACK_IND` mode (whose stack size is read from the function's own
    /// prologue).
    pub fn folds(&self, start: u64, encoding: u32) -> bool {
        let stack_ind = self.target == Target::X86_64 && encoding & MODE_MASK == 0x0300_0000;
        !self.is_dwarf(encoding) && !stack_ind && self.row_lsda(start).is_none()
    }

    pub fn is_dwarf(&self, encoding: u32) -> bool {
        encoding & MODE_MASK == dwarf_mode(self.target)
    }

    /// The FDE a row's encoding names.
    pub fn fde_of(&self, encoding: u32) -> &Fde {
        let off = encoding & 0x00ff_ffff;
        self.fdes
            .iter()
            .find(|f| f.offset == off)
            .unwrap_or_else(|| panic!("no FDE at __eh_frame offset {off:#x}"))
    }

    /// The FDEs a search of `__eh_frame` finds for `addr`.
    pub fn search(&self, addr: u64) -> Vec<&Fde> {
        self.fdes.iter().filter(|f| f.covers(addr)).collect()
    }
}

/// After an incremental update of `exe`: the fresh link of the same
/// inputs runs and exits 0 with an output `fresh_ok` accepts; `exe` runs
/// exactly like it, passes `machlink verify`, and its unwind tables mean
/// the fresh link's (`check_unwind`, whose encodings it returns).
pub fn check_update_like_fresh(
    ctx: &str,
    target: Target,
    exe: &Path,
    fresh: &Path,
    funcs: &[&str],
    fresh_ok: impl Fn(&str) -> bool,
) -> Vec<u32> {
    use crate::cli::{machlink_verify, macho_run_with};
    let want = macho_run_with(fresh, &[]);
    assert_eq!(want.code, 0, "{ctx}: fresh link: {}", want.stderr_str());
    assert!(
        fresh_ok(&want.stdout_str()),
        "{ctx}: fresh link printed {:?}",
        want.stdout_str()
    );
    let got = macho_run_with(exe, &[]);
    assert_eq!(
        (got.code, got.stdout_str()),
        (want.code, want.stdout_str()),
        "{ctx}: {}",
        got.stderr_str()
    );
    let v = machlink_verify(exe);
    assert_eq!(
        v.code,
        0,
        "{ctx}: verify: {}{}",
        v.stdout_str(),
        v.stderr_str()
    );
    check_unwind(target, exe, fresh, funcs)
}

/// Checks that `exe` (an incrementally updated image) unwinds `funcs`
/// (symbol names, `_f`) as `fresh` (a full link of the same objects)
/// does, and panics naming what differs: each function's code (behind its
/// trampoline, if it moved) has a row of its own; a row that defers to
/// DWARF leads to an FDE for exactly that code, with the fresh link's call
/// frame instructions, and a search of `__eh_frame` finds that FDE and no
/// other; a compact encoding is the fresh link's; a trampoline has a row
/// of its own that no FDE covers and no LSDA; no two FDEs overlap; the
/// personality and LSDA of each row and FDE are the fresh link's (the
/// personality by the symbol its GOT slot binds, the LSDA by its contents,
/// type infos by name). FDE offsets, personality indexes and addresses
/// differ between the two images and are not compared. Returns each function's
/// encoding in `exe`.
pub fn check_unwind(target: Target, exe: &Path, fresh: &Path, funcs: &[&str]) -> Vec<u32> {
    let inc = UnwindTables::read(target, exe);
    let full = UnwindTables::read(target, fresh);
    let mut encodings = Vec::new();
    for &f in funcs {
        // A compact row without an LSDA may cover several functions with
        // its encoding (rows fold), in either image.
        let (fa, fenc) = full.row(full.addr(f));
        assert!(
            fa == full.addr(f) || full.folds(fa, fenc),
            "fresh link: {f} has no row of its own"
        );
        let (canonical, body) = (inc.addr(f), inc.body(f));
        let (start, enc) = inc.row(body);
        assert!(
            start == body || inc.folds(start, enc),
            "{f}'s code at {body:#x} has no row of its own (the row at {start:#x}, \
             encoding {enc:#x}, covers it)"
        );
        encodings.push(enc);
        if full.is_dwarf(fenc) {
            let want = full.fde_of(fenc);
            assert_eq!(want.pc_begin, fa, "fresh link: {f}'s FDE");
            assert!(inc.is_dwarf(enc), "{f}: encoding {enc:#x}, fresh {fenc:#x}");
            let fde = inc.fde_of(enc);
            assert_eq!(
                (fde.pc_begin, fde.pc_range),
                (body, want.pc_range),
                "{f}'s row leads to an FDE for another range"
            );
            assert_eq!(
                (&fde.program, &fde.cie_program),
                (&want.program, &want.cie_program),
                "{f}'s call frame instructions differ from a fresh link's"
            );
            let found: Vec<u32> = inc.search(body).iter().map(|d| d.offset).collect();
            assert_eq!(found, vec![fde.offset], "a search of __eh_frame for {f}");
            let fde_tables = |t: &UnwindTables, fde: &Fde| {
                (
                    fde.personality.map(|p| t.pointer_name(p)),
                    fde.lsda.map(|l| t.lsda_contents(l)),
                )
            };
            assert_eq!(
                fde_tables(&inc, fde),
                fde_tables(&full, want),
                "{f}'s FDE: personality and LSDA"
            );
        } else {
            let plain = |e: u32| e & !0x3000_0000;
            assert_eq!(plain(enc), plain(fenc), "{f}'s compact unwind encoding");
            assert!(inc.search(body).is_empty(), "a stale FDE covers {f}");
        }
        // The personality and LSDA the row names (a DWARF row's LSDA is
        // in the index too, for the personality routine).
        let row_tables = |t: &UnwindTables, start: u64, e: u32| {
            (
                t.row_personality(e),
                t.row_lsda(start).map(|l| t.lsda_contents(l)),
            )
        };
        assert_eq!(
            row_tables(&inc, start, enc),
            row_tables(&full, fa, fenc),
            "{f}'s __unwind_info row: personality and LSDA"
        );
        if canonical != body {
            // The trampoline: a row of its own that does not lead to an FDE
            // describing something else, and no FDE found for it.
            let (start, enc) = inc.row(canonical);
            // Its row may fold with the compact row of what precedes it
            // when that is no function's code (another trampoline, a
            // freed range), or a function's without an LSDA (rows fold
            // only when their encodings are equal, so the trampoline
            // unwinds as its own row would say), as the rows of a full
            // link fold.
            let folded = || {
                !inc.is_dwarf(enc)
                    && (inc.row_lsda(start).is_none()
                        || inc.symbols.keys().all(|g| {
                            let b = inc.body(g);
                            b < start || b >= canonical
                        }))
            };
            assert!(
                start == canonical || folded(),
                "{f}'s trampoline has no row of its own (the row at {start:#x}, encoding \
                 {enc:#x}, covers it)"
            );
            if inc.is_dwarf(enc) {
                assert!(inc.fde_of(enc).covers(canonical), "{f}'s trampoline row");
            }
            assert_eq!(
                inc.row_lsda(canonical),
                None,
                "{f}'s trampoline has an LSDA (its call sites are the body's)"
            );
            assert!(
                inc.search(canonical).is_empty(),
                "an FDE covers {f}'s trampoline"
            );
        }
    }
    // No two live FDEs describe the same code.
    let mut live: Vec<&Fde> = inc.fdes.iter().filter(|f| f.pc_range > 0).collect();
    live.sort_by_key(|f| f.pc_begin);
    for w in live.windows(2) {
        assert!(
            w[0].pc_begin + w[0].pc_range <= w[1].pc_begin,
            "FDEs at {:#x} and {:#x} overlap",
            w[0].offset,
            w[1].offset
        );
    }
    encodings
}
