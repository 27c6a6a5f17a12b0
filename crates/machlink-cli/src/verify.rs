//! `machlink verify BINARY`: checks an x86_64 output against the invariants
//! of DESIGN.md that can be read from the file alone:
//!
//! - every direct branch (call, jmp, jcc) lands inside its own function, on
//!   a function start, or on a stub; a function slot may instead begin
//!   with a trampoline (`jmp rel32` to a moved body), which must reach a
//!   body directly (at most one hop);
//! - function starts are strictly increasing (slots do not overlap);
//! - every fixup slot lies in a mapped segment, and every rebase target
//!   inside the image;
//! - the exports trie and the symbol table agree on every exported address.
//!
//! The fixup decoder is macho-run's, which validates every chain and
//! opcode against the segments.

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction};
use macho_run::fixups::{self, Action};
use macho_run::macho::{Image, Section};
use object::macho;
use object::macho::MachHeader64;
use object::read::macho::{MachHeader, Nlist};
use object::LittleEndian as LE;

/// What was checked, for the summary line.
#[derive(Debug, Default)]
pub struct Report {
    pub functions: usize,
    pub branches: usize,
    pub trampolines: usize,
    pub fixups: usize,
    pub exports: usize,
    pub violations: Vec<String>,
}

const LC_FUNCTION_STARTS: u32 = 0x26;

/// Function start addresses from LC_FUNCTION_STARTS (ULEB deltas from the
/// start of __TEXT).
fn function_starts(data: &[u8], text_vmaddr: u64) -> Option<Vec<u64>> {
    let header = MachHeader64::<LE>::parse(data, 0).ok()?;
    let mut cmds = header.load_commands(LE, data, 0).ok()?;
    while let Ok(Some(cmd)) = cmds.next() {
        if cmd.cmd() == LC_FUNCTION_STARTS {
            let c = cmd.data::<macho::LinkeditDataCommand<LE>>().ok()?;
            let (off, size) = (c.dataoff.get(LE) as usize, c.datasize.get(LE) as usize);
            let blob = data.get(off..off + size)?;
            let mut starts = Vec::new();
            let (mut pos, mut addr) = (0usize, text_vmaddr);
            while pos < blob.len() {
                let delta = machlink::formats::uleb::read_uleb(blob, &mut pos)?;
                if delta == 0 {
                    break;
                }
                addr += delta;
                starts.push(addr);
            }
            return Some(starts);
        }
    }
    None
}

/// Exported symbols' (name, address) from the symbol table.
fn symtab_exports(data: &[u8]) -> Option<Vec<(Vec<u8>, u64)>> {
    let header = MachHeader64::<LE>::parse(data, 0).ok()?;
    let mut cmds = header.load_commands(LE, data, 0).ok()?;
    while let Ok(Some(cmd)) = cmds.next() {
        if let Ok(Some(st)) = cmd.symtab() {
            let table = st.symbols::<MachHeader64<LE>, _>(LE, data).ok()?;
            let mut out = Vec::new();
            for n in table.iter() {
                let kind = n.n_type() & macho::N_TYPE;
                if !n.is_stab() && n.n_type() & macho::N_EXT != 0 && kind == macho::N_SECT {
                    out.push((n.name(LE, table.strings()).ok()?.to_vec(), n.n_value(LE)));
                }
            }
            return Some(out);
        }
    }
    None
}

fn is_code(s: &Section) -> bool {
    s.flags & (macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS) != 0
        && s.kind() != macho::S_SYMBOL_STUBS
}

/// Verifies one file; `Err` when it cannot be read as a Mach-O at all.
pub fn verify(data: &[u8], name: &str) -> Result<Report, String> {
    let image = Image::parse(data, name).map_err(|e| e.to_string())?;
    let mut report = Report::default();
    check_fixups(&image, &mut report);
    check_branches(data, &image, &mut report);
    check_exports(data, &image, &mut report);
    Ok(report)
}

fn check_fixups(image: &Image, report: &mut Report) {
    let plan = match fixups::plan(image) {
        Ok(p) => p,
        Err(e) => {
            report.violations.push(format!("fixups: {e}"));
            return;
        }
    };
    report.fixups = plan.fixups.len();
    let inside = |addr: u64| {
        image
            .segments
            .iter()
            .any(|s| !s.is_page_zero() && addr >= s.vmaddr && addr <= s.vm_end())
    };
    for f in &plan.fixups {
        if let Action::Rebase { target, .. } = f.action {
            if !inside(target) {
                report.violations.push(format!(
                    "rebase at {:#x} points at {target:#x}, outside every segment",
                    f.vmaddr
                ));
            }
        }
    }
}

fn section_bytes<'a>(data: &'a [u8], s: &Section) -> &'a [u8] {
    data.get(s.offset as usize..(s.offset as u64 + s.size) as usize)
        .unwrap_or(&[])
}

fn check_branches(data: &[u8], image: &Image, report: &mut Report) {
    let text_vmaddr = image
        .segments
        .iter()
        .find(|s| s.name == "__TEXT")
        .map_or(0, |s| s.vmaddr);
    let code: Vec<&Section> = image.sections().filter(|s| is_code(s)).collect();
    let stubs: Vec<&Section> = image
        .sections()
        .filter(|s| s.kind() == macho::S_SYMBOL_STUBS)
        .collect();
    let mut starts = function_starts(data, text_vmaddr).unwrap_or_default();
    if starts.windows(2).any(|w| w[0] >= w[1]) {
        report
            .violations
            .push("function starts are not strictly increasing (overlapping slots)".into());
    }
    starts.dedup();
    report.functions = starts.len();
    let is_start = |a: u64| starts.binary_search(&a).is_ok();
    let is_stub = |a: u64| {
        stubs.iter().any(|s| {
            a >= s.addr
                && a < s.addr + s.size
                && s.reserved2 > 0
                && (a - s.addr).is_multiple_of(u64::from(s.reserved2))
        })
    };
    // The function slot holding an address: [start, next start or section end).
    let slot_of = |a: u64| -> Option<(u64, u64)> {
        let sec = code.iter().find(|s| a >= s.addr && a < s.addr + s.size)?;
        let i = starts.partition_point(|&s| s <= a);
        let start = *starts.get(i.checked_sub(1)?)?;
        let end = starts
            .get(i)
            .copied()
            .unwrap_or(sec.addr + sec.size)
            .min(sec.addr + sec.size);
        (start >= sec.addr).then_some((start, end))
    };
    // Where the code at `addr` jumps, if it is a trampoline: a `jmp rel32`
    // to a place that is no function start or stub, followed by int3
    // padding (a function that starts with a jump into its own code has
    // code after the jump, not padding).
    let hop = |addr: u64| -> Option<u64> {
        let sec = code
            .iter()
            .find(|s| addr >= s.addr && addr < s.addr + s.size)?;
        let bytes = section_bytes(data, sec);
        let mut d = Decoder::with_ip(
            64,
            bytes.get((addr - sec.addr) as usize..)?,
            addr,
            DecoderOptions::NONE,
        );
        let i = d.decode();
        let to = i.near_branch_target();
        let padded = bytes
            .get((addr - sec.addr) as usize + 5)
            .is_none_or(|&b| b == 0xcc);
        (i.is_jmp_near() && i.len() == 5 && padded && !is_start(to) && !is_stub(to)).then_some(to)
    };
    // Decode function by function: padding between functions need not
    // decode in step with the code.
    for &start in &starts {
        let Some((lo, hi)) = slot_of(start) else {
            continue;
        };
        let Some(sec) = code.iter().find(|s| lo >= s.addr && lo < s.addr + s.size) else {
            continue;
        };
        let bytes = section_bytes(data, sec);
        let Some(body) = bytes.get((lo - sec.addr) as usize..(hi - sec.addr) as usize) else {
            continue;
        };
        let mut d = Decoder::with_ip(64, body, lo, DecoderOptions::NONE);
        let mut instr = Instruction::default();
        while d.can_decode() {
            d.decode_out(&mut instr);
            let flow = instr.flow_control();
            if !matches!(
                flow,
                FlowControl::Call
                    | FlowControl::UnconditionalBranch
                    | FlowControl::ConditionalBranch
            ) || !(instr.is_call_near()
                || instr.is_jmp_near()
                || instr.is_jcc_short_or_near()
                || instr.is_jmp_short())
            {
                continue;
            }
            report.branches += 1;
            let at = instr.ip();
            let to = instr.near_branch_target();
            // A slot that holds a trampoline (the last function's slot runs
            // to the section's end, so its body may lie "inside" it).
            let trampoline = at == lo && hop(at) == Some(to);
            if !trampoline && ((lo..hi).contains(&to) || is_start(to) || is_stub(to)) {
                continue;
            }
            if at == lo {
                // A trampoline: its target must be a body, not another trampoline.
                report.trampolines += 1;
                if slot_of(to).is_none() {
                    report.violations.push(format!(
                        "trampoline at {at:#x} jumps outside the code to {to:#x}"
                    ));
                } else if let Some(next) = hop(to) {
                    report.violations.push(format!(
                        "trampoline at {at:#x} leads to {to:#x}, which jumps on to {next:#x} (a chain: more than one hop)"
                    ));
                }
                // The rest of the slot is padding.
                break;
            }
            report.violations.push(format!(
                "branch at {at:#x} (in the function at {lo:#x}) lands at {to:#x}, which is no function start, stub or trampoline"
            ));
        }
    }
}

fn check_exports(data: &[u8], image: &Image, report: &mut Report) {
    let range = image
        .exports_trie
        .or_else(|| image.dyld_info.map(|d| d.export));
    let Some(range) = range.filter(|r| r.size > 0) else {
        return;
    };
    let Some(exports) = machlink::formats::trie::parse(image.bytes(range)) else {
        report
            .violations
            .push("the exports trie does not parse".into());
        return;
    };
    report.exports = exports.len();
    let symbols = symtab_exports(data).unwrap_or_default();
    let base = image.preferred_base();
    for e in exports {
        if e.flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_REEXPORT) != 0 {
            continue;
        }
        let want = base + e.address;
        match symbols.iter().find(|(n, _)| *n == e.name) {
            Some((_, v)) if *v == want => {}
            Some((_, v)) => report.violations.push(format!(
                "export {} is at {want:#x} in the trie but {v:#x} in the symbol table",
                String::from_utf8_lossy(&e.name)
            )),
            None => report.violations.push(format!(
                "export {} is not an external symbol of the symbol table",
                String::from_utf8_lossy(&e.name)
            )),
        }
    }
}
