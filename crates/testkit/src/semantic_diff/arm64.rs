//! arm64 code for the semantic diff: stubs and the stub helper decoded
//! from their bytes, and `llvm-objdump-19 --macho -d` listings of a
//! function rewritten so that every address is a name.
//!
//! An arm64 address is built in two instructions, `adrp` (the 4 KiB page)
//! and an `add` or a load/store (the offset in the page), or in one, `adr`
//! or a literal `ldr`. Linkers apply the optimization hints (LC_LINKER_
//! OPTIMIZATION_HINT) differently: lld 19 turns `adrp; add` into `adr; nop`
//! and `adrp; ldr` into `nop; ldr literal` where the target is near. So the
//! rewrite compares what an instruction *gets*, not how:
//! - `adrp` lines are dropped; the page they leave in a register is
//!   remembered until the register is written again;
//! - `add xD, xN, #lo` on such a page and `adr xD, #rel` both read
//!   `addr xD, [name]`;
//! - a load or store through such a page (`ldr xD, [xN, #lo]`) and a
//!   literal load (`ldr xD, #rel`) both read `ldr xD, [name]`; a 64-bit
//!   load of a local definition's GOT slot reads as the address it holds,
//!   `addr xD, [sym]` (the hint turns it into `adr`, as on x86_64 ld64
//!   relaxes `movq sym@GOTPCREL` to `leaq`);
//! - `nop`s are dropped: inside a function they only stand where a hint
//!   removed an instruction;
//! - branch targets (`b`, `bl`, `b.cc`, `cbz`, `tbz`, ...) are named.

use super::{hex, put, Facts, Image, Namer, Section};
use std::collections::HashMap;

/// The page `adrp` at `pc` computes from its encoding.
fn adrp_page(pc: u64, insn: u32) -> Option<u64> {
    if insn & 0x9f00_0000 != 0x9000_0000 {
        return None;
    }
    let immlo = u64::from((insn >> 29) & 3);
    let immhi = u64::from((insn >> 5) & 0x7_ffff);
    // 21-bit signed page count.
    let pages = (((immhi << 2) | immlo) << 43) as i64 >> 43;
    Some((pc & !0xfff).wrapping_add((pages << 12) as u64))
}

/// The unsigned 12-bit immediate of `add xD, xN, #imm` (no shift).
fn add_imm(insn: u32) -> Option<u64> {
    (insn & 0xffc0_0000 == 0x9100_0000).then_some(u64::from((insn >> 10) & 0xfff))
}

/// The scaled offset of `ldr xT, [xN, #imm]` (64-bit, unsigned offset).
fn ldr64_offset(insn: u32) -> Option<u64> {
    (insn & 0xffc0_0000 == 0xf940_0000).then_some(u64::from((insn >> 10) & 0xfff) * 8)
}

/// The target of `b` at `pc`.
fn branch_target(pc: u64, insn: u32) -> Option<u64> {
    if insn & 0xfc00_0000 != 0x1400_0000 {
        return None;
    }
    let words = (((insn & 0x03ff_ffff) << 6) as i32 >> 6) as i64;
    Some(pc.wrapping_add((words * 4) as u64))
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// `adrp xN, page; ldr xN, [xN, #off]` at `addr`: the slot it loads.
fn adrp_ldr_slot(bytes: &[u8], at: usize, addr: u64) -> Option<u64> {
    let page = adrp_page(addr, word(bytes, at)?)?;
    Some(page + ldr64_offset(word(bytes, at + 4)?)?)
}

/// One 12-byte stub (`adrp x16, slot@page; ldr x16, [x16, slot@pageoff];
/// br x16`), named by the slot it jumps through.
pub(super) fn stub_text(stub: &[u8], addr: u64, namer: &Namer) -> String {
    let br_x16 = word(stub, 8) == Some(BR_X16);
    match adrp_ldr_slot(stub, 0, addr) {
        Some(slot) if stub.len() == 12 && br_x16 => {
            format!("ldr x16, [{}]; br x16", namer.name(slot))
        }
        _ => format!("bytes {}", hex(stub)),
    }
}

/// `br x16`.
const BR_X16: u32 = 0xd61f_0200;

/// The size of the stub helper's header and of each entry.
const HELPER_HEADER: usize = 24;
const HELPER_ENTRY: usize = 12;
/// `ldr w16, #8`: an entry's first instruction, loading the lazy-bind
/// offset stored after its branch.
const LDR_W16_ENTRY_OFFSET: u32 = 0x1800_0050;

/// The lazy-bind offset of the stub-helper entry at `off`, if one is there.
pub(super) fn stub_helper_entry_offset(bytes: &[u8], off: u64) -> Option<u64> {
    let at = usize::try_from(off).ok()?;
    if at < HELPER_HEADER || !(at - HELPER_HEADER).is_multiple_of(HELPER_ENTRY) {
        return None;
    }
    (word(bytes, at)? == LDR_W16_ENTRY_OFFSET).then_some(())?;
    Some(u64::from(word(bytes, at + 8)?))
}

/// `__stub_helper`: its header (`adrp x17; add x17, dyld_private; stp x16,
/// x17, [sp, #-16]!; adrp x16; ldr x16, binder's GOT slot; br x16`) and its
/// entries (`ldr w16, offset; b header; .long lazy_bind_offset`), each
/// named by the symbol its lazy-bind entry binds.
pub(super) fn stub_helper(
    img: &Image,
    s: &Section,
    namer: &Namer,
    facts: &mut Facts,
) -> Result<(), String> {
    let bytes = img.section_bytes(s)?;
    let header = (|| {
        let private = adrp_page(s.addr, word(bytes, 0)?)? + add_imm(word(bytes, 4)?)?;
        let push = word(bytes, 8)? == 0xa9bf_47f0; // stp x16, x17, [sp, #-16]!
        let binder = adrp_ldr_slot(bytes, 12, s.addr + 12)?;
        let br = word(bytes, 20)? == BR_X16;
        (push && br).then(|| {
            format!(
                "addr x17, [{}]; stp x16, x17, [sp, #-16]!; ldr x16, [{}]; br x16",
                namer.name(private),
                namer.name(binder)
            )
        })
    })()
    .unwrap_or_else(|| format!("bytes {}", hex(&bytes[..bytes.len().min(HELPER_HEADER)])));
    put(facts, "__stub_helper header", header);
    let mut off = HELPER_HEADER;
    while off + HELPER_ENTRY <= bytes.len() {
        let addr = s.addr + off as u64;
        let text = match (
            stub_helper_entry_offset(bytes, off as u64),
            word(bytes, off + 4).and_then(|w| branch_target(addr + 4, w)),
        ) {
            (Some(_), Some(target)) => {
                format!("ldr w16, lazy-bind entry; b {}", namer.name(target))
            }
            _ => format!("bytes {}", hex(&bytes[off..off + HELPER_ENTRY])),
        };
        put(facts, namer.name(addr), text);
        off += HELPER_ENTRY;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Function listings.

/// A register's number, the same for its x and w names (`x20`, `w20`).
fn reg_number(operand: &str) -> Option<&str> {
    let r = operand.trim();
    let n = r.strip_prefix('x').or_else(|| r.strip_prefix('w'))?;
    n.bytes().all(|b| b.is_ascii_digit()).then_some(n)
}

/// Splits operands at top-level commas (not those inside `[...]`).
fn operands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// A signed immediate as objdump prints it (`#1627`, `#-0x10`, `0x1f`).
fn immediate(text: &str) -> Option<i64> {
    let t = text.trim().trim_start_matches('#');
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |r| (true, r));
    let v = match t.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => t.parse().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn is_branch(mnemonic: &str) -> bool {
    matches!(mnemonic, "b" | "bl" | "cbz" | "cbnz" | "tbz" | "tbnz") || mnemonic.starts_with("b.")
}

/// How many leading operands `mnemonic` writes (a load pair two).
fn written_count(mnemonic: &str) -> usize {
    let no_write = mnemonic.starts_with("st")
        || mnemonic.starts_with("cmp")
        || mnemonic.starts_with("cmn")
        || mnemonic == "tst"
        || mnemonic.starts_with("ccmp")
        || mnemonic.starts_with("fcmp")
        || mnemonic.starts_with("prfm")
        || mnemonic == "ret"
        || mnemonic.starts_with("br")
        || mnemonic.starts_with("blr")
        || is_branch(mnemonic);
    match () {
        _ if no_write => 0,
        _ if mnemonic.starts_with("ldp") || mnemonic.starts_with("ldnp") => 2,
        _ => 1,
    }
}

/// The general registers (by number) named in operand text.
fn registers_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(reg_number)
        .map(str::to_string)
        .collect()
}

/// What a register is known to hold: a page from `adrp`, or an exact
/// address from `adr`, `add` on a page, or a local GOT slot's load.
#[derive(Clone, Copy)]
enum Known {
    Page(u64),
    Addr(u64),
}

impl Known {
    fn value(self) -> u64 {
        match self {
            Known::Page(v) | Known::Addr(v) => v,
        }
    }
}

/// One instruction in named form: its text, the register it used as a
/// known base (consumed), and the exact address it leaves in a register.
struct Named {
    text: String,
    /// The operand index and register number of the consumed base.
    base: Option<(usize, String)>,
    defines: Option<(String, u64)>,
}

/// An `addr xD, [name]` line kept only while something else reads xD:
/// when its only use is as the base of one load or store (the use an
/// `adrp; add; ldr` hint allows, which lld folds into one literal load),
/// the line is dropped, so both forms read `ldr wT, [name]`.
struct Pending {
    line: usize,
    consumed: bool,
    read: bool,
}

/// A load of a local definition's GOT slot means the address it holds.
fn load_text(namer: &Namer, mnemonic: &str, rd: &str, target: u64) -> (String, Option<u64>) {
    let name = namer.name(target);
    let local = name
        .strip_prefix("got(local ")
        .and_then(|n| n.strip_suffix(')'));
    match (local, namer.rebases.get(&target)) {
        (Some(local), Some(&holds)) if mnemonic == "ldr" && rd.starts_with('x') => {
            (format!("addr\t{rd}, [{local}]"), Some(holds))
        }
        _ => (format!("{mnemonic}\t{rd}, [{name}]"), None),
    }
}

/// Rewrites one function's listing (`(address, objdump text)` in order);
/// see the module documentation. Registers are followed in listing order
/// (branches are not followed): good enough to name what a compiler's
/// address sequences reach. Returns `(address, text)` of what is kept.
pub(super) fn normalize_body(body: &[(u64, String)], namer: &Namer) -> Vec<(u64, String)> {
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut lines: Vec<Option<(u64, String)>> = Vec::new();
    let finish = |pending: &mut HashMap<String, Pending>, lines: &mut Vec<_>, r: &str| {
        if let Some(p) = pending.remove(r) {
            if p.consumed && !p.read {
                lines[p.line] = None;
            }
        }
    };
    for (addr, raw) in body {
        let text = raw.split(';').next().unwrap_or("").trim();
        let (mnemonic, rest) = text.split_once('\t').unwrap_or((text, ""));
        let ops = operands(rest);
        if mnemonic == "nop" {
            continue;
        }
        if mnemonic == "adrp" {
            if let (Some(r), Some(n)) = (
                ops.first().and_then(|o| reg_number(o)),
                ops.get(1).and_then(|o| immediate(o)),
            ) {
                finish(&mut pending, &mut lines, r);
                let page = (addr & !0xfff).wrapping_add((n << 12) as u64);
                known.insert(r.to_string(), Known::Page(page));
                continue;
            }
        }
        let named = rewrite(*addr, mnemonic, &ops, &known, namer);
        let written = written_count(mnemonic).min(ops.len());
        // Registers read: every operand past the written ones, except the
        // base a named form consumed.
        let base = named.as_ref().and_then(|n| n.base.clone());
        for (i, op) in ops.iter().enumerate().skip(written) {
            if base.as_ref().is_some_and(|b| b.0 == i) {
                continue;
            }
            for r in registers_in(op) {
                if let Some(p) = pending.get_mut(&r) {
                    p.read = true;
                }
            }
        }
        if let Some((_, r)) = &base {
            if let Some(p) = pending.get_mut(r) {
                if p.consumed {
                    p.read = true; // a second use: the address is live
                }
                p.consumed = true;
            }
        }
        // `mov xD, xS` copies what xS is known to hold (a page kept in a
        // callee-saved register across calls, say).
        let copied = match (mnemonic, ops.as_slice()) {
            ("mov", [rd, rs]) if rd.starts_with('x') && rs.starts_with('x') => reg_number(rs)
                .and_then(|r| known.get(r).copied())
                .and_then(|k| Some((reg_number(rd)?.to_string(), k))),
            _ => None,
        };
        for op in &ops[..written] {
            if let Some(r) = reg_number(op) {
                finish(&mut pending, &mut lines, r);
                known.remove(r);
            }
        }
        if let Some((rd, k)) = copied {
            known.insert(rd, k);
        }
        let (text, defines) = match named {
            Some(n) => (n.text, n.defines),
            None => (text.to_string(), None),
        };
        if let Some((rd, value)) = defines {
            known.insert(rd.clone(), Known::Addr(value));
            let line = lines.len();
            pending.insert(
                rd,
                Pending {
                    line,
                    consumed: false,
                    read: false,
                },
            );
        }
        lines.push(Some((*addr, text)));
    }
    let regs: Vec<String> = pending.keys().cloned().collect();
    for r in regs {
        finish(&mut pending, &mut lines, &r);
    }
    lines.into_iter().flatten().collect()
}

/// The named form of one instruction, or None to keep it as listed.
fn rewrite(
    addr: u64,
    mnemonic: &str,
    ops: &[String],
    known: &HashMap<String, Known>,
    namer: &Namer,
) -> Option<Named> {
    let known_of = |op: &str| reg_number(op).and_then(|r| known.get(r)).copied();
    let plain = |text: String| Named {
        text,
        base: None,
        defines: None,
    };
    let absolute = |op: &str| u64::from_str_radix(op.strip_prefix("0x")?, 16).ok();
    if is_branch(mnemonic) {
        let last = ops.last()?;
        let target = absolute(last)?;
        let head: String = ops[..ops.len() - 1]
            .iter()
            .map(|o| format!("{o}, "))
            .collect();
        return Some(plain(format!("{mnemonic}\t{head}{}", namer.name(target))));
    }
    match (mnemonic, ops) {
        ("adr", [rd, rel]) => {
            let target = addr.wrapping_add(immediate(rel)? as u64);
            Some(Named {
                text: format!("addr\t{rd}, [{}]", namer.name(target)),
                base: None,
                defines: Some((reg_number(rd)?.to_string(), target)),
            })
        }
        ("add", [rd, rn, imm]) if rd.starts_with('x') && imm.starts_with('#') => {
            let target = known_of(rn)?.value() + u64::try_from(immediate(imm)?).ok()?;
            Some(Named {
                text: format!("addr\t{rd}, [{}]", namer.name(target)),
                base: Some((1, reg_number(rn)?.to_string())),
                defines: Some((reg_number(rd)?.to_string(), target)),
            })
        }
        (m, [rd, lit]) if m.starts_with("ldr") && !lit.starts_with('[') => {
            // A literal load: objdump prints `#rel` for some forms and the
            // absolute address for others.
            let target = match lit.strip_prefix('#') {
                Some(rel) => addr.wrapping_add(immediate(rel)? as u64),
                None => absolute(lit)?,
            };
            let (text, holds) = load_text(namer, m, rd, target);
            let defines = holds.and_then(|h| Some((reg_number(rd)?.to_string(), h)));
            Some(Named {
                text,
                base: None,
                defines,
            })
        }
        (m, [regs @ .., mem])
            if (m.starts_with("ld") || m.starts_with("st")) && !regs.is_empty() =>
        {
            let inner = mem.strip_prefix('[')?.strip_suffix(']')?;
            let mut parts = inner.split(',');
            let base_reg = parts.next()?.trim();
            let base = known_of(base_reg)?;
            let off = match parts.next() {
                Some(imm) => u64::try_from(immediate(imm)?).ok()?,
                None => 0,
            };
            if parts.next().is_some() {
                return None;
            }
            let target = base.value() + off;
            let base = Some((regs.len(), reg_number(base_reg)?.to_string()));
            if let [rd] = regs {
                if m.starts_with("ld") {
                    let (text, holds) = load_text(namer, m, rd, target);
                    let defines = holds.and_then(|h| Some((reg_number(rd)?.to_string(), h)));
                    return Some(Named {
                        text,
                        base,
                        defines,
                    });
                }
            }
            Some(Named {
                text: format!("{m}\t{}, [{}]", regs.join(", "), namer.name(target)),
                base,
                defines: None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_adrp_add_ldr_and_branches() {
        // adrp x16 at 0x100000cc0: one page on (immlo 1), four (immhi 1).
        assert_eq!(adrp_page(0x1_0000_0cc0, 0xb000_0010), Some(0x1_0000_1000));
        assert_eq!(adrp_page(0x1_0000_0cc0, 0x9000_0030), Some(0x1_0000_4000));
        assert_eq!(adrp_page(0x1_0000_0cc0, 0xd61f_0200), None);
        assert_eq!(add_imm(0x9105_4231), Some(0x150));
        assert_eq!(ldr64_offset(0xf940_0210), Some(0));
        assert_eq!(ldr64_offset(0xf940_0610), Some(8));
        // b -0x18
        assert_eq!(branch_target(0x1000, 0x17ff_fffa), Some(0x1000 - 0x18));
    }

    #[test]
    fn splits_operands_and_reads_immediates() {
        assert_eq!(
            operands("x8, [x24, x8, lsl #3]"),
            vec!["x8".to_string(), "[x24, x8, lsl #3]".to_string()]
        );
        assert_eq!(immediate("#31056"), Some(31056));
        assert_eq!(immediate("#-0x10"), Some(-16));
        assert_eq!(reg_number("w20"), Some("20"));
        assert_eq!(reg_number("sp"), None);
    }
}
