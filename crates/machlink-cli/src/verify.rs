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
const LC_DATA_IN_CODE: u32 = 0x29;

/// The LINKEDIT blob of the first `linkedit_data_command` of kind `which`.
fn linkedit_blob(data: &[u8], which: u32) -> Option<&[u8]> {
    let header = MachHeader64::<LE>::parse(data, 0).ok()?;
    let mut cmds = header.load_commands(LE, data, 0).ok()?;
    while let Ok(Some(cmd)) = cmds.next() {
        if cmd.cmd() == which {
            let c = cmd.data::<macho::LinkeditDataCommand<LE>>().ok()?;
            let (off, size) = (c.dataoff.get(LE) as usize, c.datasize.get(LE) as usize);
            return data.get(off..off.checked_add(size)?);
        }
    }
    None
}

/// Function start addresses from LC_FUNCTION_STARTS (ULEB deltas from the
/// start of __TEXT).
fn function_starts(data: &[u8], text_vmaddr: u64) -> Option<Vec<u64>> {
    let blob = linkedit_blob(data, LC_FUNCTION_STARTS)?;
    let mut starts = Vec::new();
    let (mut pos, mut addr) = (0usize, text_vmaddr);
    while pos < blob.len() {
        let delta = machlink::formats::uleb::read_uleb(blob, &mut pos)?;
        if delta == 0 {
            break;
        }
        addr = addr.checked_add(delta)?;
        starts.push(addr);
    }
    Some(starts)
}

/// The address ranges LC_DATA_IN_CODE marks as data (jump tables, constant
/// pools) inside code, sorted. Entries give file offsets.
fn data_in_code(data: &[u8], image: &Image) -> Vec<(u64, u64)> {
    let Some(blob) = linkedit_blob(data, LC_DATA_IN_CODE) else {
        return Vec::new();
    };
    let mut ranges: Vec<(u64, u64)> = blob
        .chunks_exact(8)
        .filter_map(|e| {
            let off = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let len = u16::from_le_bytes([e[4], e[5]]);
            let addr = image.fileoff_to_vmaddr(u64::from(off))?;
            Some((addr, addr.saturating_add(u64::from(len))))
        })
        .filter(|r| r.1 > r.0)
        .collect();
    ranges.sort_unstable();
    ranges
}

/// Addresses of the symbol table's defined symbols (local or external).
fn symbol_addresses(data: &[u8]) -> Vec<u64> {
    let Ok(header) = MachHeader64::<LE>::parse(data, 0) else {
        return Vec::new();
    };
    let Ok(mut cmds) = header.load_commands(LE, data, 0) else {
        return Vec::new();
    };
    while let Ok(Some(cmd)) = cmds.next() {
        if let Ok(Some(st)) = cmd.symtab() {
            let Ok(table) = st.symbols::<MachHeader64<LE>, _>(LE, data) else {
                return Vec::new();
            };
            return table
                .iter()
                .filter(|n| !n.is_stab() && n.n_type() & macho::N_TYPE == macho::N_SECT)
                .map(|n| n.n_value(LE))
                .collect();
        }
    }
    Vec::new()
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
    let image = Image::parse_linked(data, name).map_err(|e| e.to_string())?;
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

/// The range `[start, next start or section end)` holding `a`, with
/// `starts` sorted, when `a` lies in one of the `code` sections.
fn range_of(starts: &[u64], code: &[&Section], a: u64) -> Option<(u64, u64)> {
    let sec = code.iter().find(|s| a >= s.addr && a < s.addr + s.size)?;
    let sec_end = sec.addr + sec.size;
    let i = starts.partition_point(|&s| s <= a);
    let start = *starts.get(i.checked_sub(1)?)?;
    let end = starts.get(i).copied().unwrap_or(sec_end).min(sec_end);
    (start >= sec.addr).then_some((start, end))
}

/// Bytes that pad code rather than being code: int3 fill and zeros.
fn is_fill(b: u8) -> bool {
    b == 0xcc || b == 0
}

/// Reads the jump table at `body[pos..]` (piece address `lo`): 32-bit
/// entries, each an offset from the table's start to a case in the
/// function `func`. Records the cases; returns where the table ends (`pos`
/// itself when the bytes there are no such table).
fn skip_jump_table(
    body: &[u8],
    lo: u64,
    mut pos: usize,
    func: (u64, u64),
    tables: &[u64],
    cases: &mut Vec<u64>,
) -> usize {
    let mut base = lo + pos as u64;
    while let Some(e) = body.get(pos..pos + 4) {
        let at = lo + pos as u64;
        if cases.contains(&at) {
            break; // code resumes: a case lands here
        }
        if tables.contains(&at) {
            base = at; // the next table, adjacent to this one
        }
        let entry = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let case = base.wrapping_add_signed(i64::from(entry));
        if case < func.0 || case >= func.1 || (case >= base && case < at + 4) {
            break;
        }
        cases.push(case);
        pos += 4;
    }
    pos
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
    let in_code = |a: u64| code.iter().any(|s| a >= s.addr && a < s.addr + s.size);
    let mut starts = function_starts(data, text_vmaddr).unwrap_or_default();
    if starts.windows(2).any(|w| w[0] >= w[1]) {
        report
            .violations
            .push("function starts are not strictly increasing (overlapping slots)".into());
    }
    starts.sort_unstable();
    starts.dedup();
    report.functions = starts.len();
    // Where decoding (re)starts: every function start and every symbol in
    // code. Each piece between two of them is decoded on its own, so data
    // or padding in one cannot throw the decoding of the next out of step.
    let mut entries: Vec<u64> = symbol_addresses(data)
        .into_iter()
        .filter(|&a| in_code(a))
        .chain(starts.iter().copied())
        .collect();
    entries.sort_unstable();
    entries.dedup();
    // Functions (for "a branch within its own function"): the function
    // starts, or the symbols when the image has no LC_FUNCTION_STARTS.
    let functions: &[u64] = if starts.is_empty() { &entries } else { &starts };
    let dic = data_in_code(data, image);
    let is_entry = |a: u64| entries.binary_search(&a).is_ok();
    let is_stub = |a: u64| {
        stubs.iter().any(|s| {
            a >= s.addr
                && a < s.addr + s.size
                && s.reserved2 > 0
                && (a - s.addr).is_multiple_of(u64::from(s.reserved2))
        })
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
        (i.is_jmp_near() && i.len() == 5 && padded && !is_entry(to) && !is_stub(to)).then_some(to)
    };
    let mut instr = Instruction::default();
    for &entry in &entries {
        let Some((lo, hi)) = range_of(&entries, &code, entry) else {
            continue;
        };
        // The function this piece belongs to; a piece before the first
        // function start is a function of its own.
        let (flo, fhi) = range_of(functions, &code, lo).unwrap_or((lo, hi));
        let Some(sec) = code.iter().find(|s| lo >= s.addr && lo < s.addr + s.size) else {
            continue;
        };
        let bytes = section_bytes(data, sec);
        let Some(body) = bytes.get((lo - sec.addr) as usize..(hi - sec.addr) as usize) else {
            continue;
        };
        let mut d = Decoder::with_ip(64, body, lo, DecoderOptions::NONE);
        // After an instruction control does not fall through (ret, jmp,
        // ud2, ...), int3 and zero fill is padding, not code.
        let mut after_end = false;
        // Jump tables this piece's code points at (`lea reg, [rip+table]`
        // into its own function), and the case targets read from them.
        let mut tables: Vec<u64> = Vec::new();
        let mut cases: Vec<u64> = Vec::new();
        let mut pos = 0usize;
        while pos < body.len() {
            let ip = lo + pos as u64;
            // Data in code (a jump table): skip it, decode on after it.
            let i = dic.partition_point(|r| r.1 <= ip);
            if let Some(&(_, dhi)) = dic.get(i).filter(|r| r.0 <= ip) {
                pos = (dhi.min(hi) - lo) as usize;
                after_end = true;
                continue;
            }
            if after_end && is_fill(body[pos]) {
                pos += 1;
                continue;
            }
            // Images without LC_DATA_IN_CODE (incremental ones leave it
            // out): a jump table is data too. Code seldom falls into one,
            // but a call that does not return may precede it; then it must
            // read as a table of several entries (LLVM makes tables of
            // four cases or more).
            if tables.contains(&ip) && !cases.contains(&ip) {
                let skipped = skip_jump_table(body, lo, pos, (flo, fhi), &tables, &mut cases);
                let entries = (skipped - pos) / 4;
                if entries >= if after_end { 1 } else { 3 } {
                    pos = skipped;
                    after_end = true;
                    continue;
                }
            }
            if d.set_position(pos).is_err() {
                break;
            }
            d.set_ip(ip);
            d.decode_out(&mut instr);
            pos += instr.len().max(1);
            if instr.mnemonic() == iced_x86::Mnemonic::Lea && instr.is_ip_rel_memory_operand() {
                let table = instr.ip_rel_memory_address();
                if table > ip && table < fhi && !tables.contains(&table) {
                    tables.push(table);
                }
            }
            let flow = instr.flow_control();
            after_end = match flow {
                FlowControl::Return
                | FlowControl::UnconditionalBranch
                | FlowControl::IndirectBranch
                | FlowControl::Exception
                | FlowControl::Interrupt => true,
                _ => after_end && instr.mnemonic() == iced_x86::Mnemonic::Nop,
            };
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
            let trampoline = at == flo && hop(at) == Some(to);
            if !trampoline && ((flo..fhi).contains(&to) || is_entry(to) || is_stub(to)) {
                continue;
            }
            if at == flo {
                // A trampoline: its target must be a body, not another trampoline.
                report.trampolines += 1;
                if range_of(functions, &code, to).is_none() {
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
                "branch at {at:#x} (in the function at {flo:#x}) lands at {to:#x}, which is no function start, stub or trampoline"
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
