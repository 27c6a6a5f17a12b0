//! `machlink verify BINARY`: checks an x86_64 or arm64 output against the
//! invariants of DESIGN.md that can be read from the file alone:
//!
//! - every direct branch (x86_64 call, jmp, jcc; arm64 b, bl, b.cond, cbz,
//!   tbz) lands inside its own function, on a function start or symbol
//!   (range-extension thunks have one), or on a stub; a function slot may
//!   instead begin with a trampoline (x86_64 `jmp rel32`; arm64 `b`, or
//!   `adrp x16 / add x16 / br x16`) to a moved body, which must reach a body
//!   directly (at most one hop). The body lies in the trampoline's own code
//!   section, starts on an instruction boundary with code (not trap or zero
//!   fill), and not inside a slot another trampoline owns; a slot that holds
//!   a trampoline is at least the target's largest trampoline (invariant 3:
//!   12 bytes on arm64, 5 on x86_64). (A slot without a trampoline has no
//!   size the file shows: an alternate entry starts a function inside its
//!   atom's slot.) Slots are read from LC_FUNCTION_STARTS, where an update
//!   lists each moved body (with no symbol of its own): a body placed in a
//!   removed neighbour's slot then ends the trampoline's slot instead of
//!   lying inside it.
//! - function starts are strictly increasing (slots do not overlap);
//! - every fixup slot lies in a mapped segment, and every rebase target
//!   inside the image;
//! - the exports trie and the symbol table agree on every exported address.
//!
//! The fixup decoder is macho-run's, which validates every chain and
//! opcode against the segments.

mod arm64;
mod x86_64;

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
    let image = Image::parse_linked_any_arch(data, name).map_err(|e| e.to_string())?;
    let mut report = Report::default();
    check_fixups(&image, &mut report);
    let arch = machlink::arch::by_cpu_type(image.arch.cputype)
        .ok_or_else(|| format!("{name}: no machlink target for this CPU type"))?;
    let code = Code::new(data, &image, arch, &mut report);
    match image.arch.cputype {
        macho::CPU_TYPE_ARM64 => arm64::check_branches(&code, &mut report),
        _ => x86_64::check_branches(&code, &mut report),
    }
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

/// The code of an image as the branch checks see it: its code sections,
/// stubs, function starts and the places decoding restarts.
struct Code<'a> {
    data: &'a [u8],
    /// The target: its trap fill and largest trampoline.
    arch: &'static dyn machlink::arch::Arch,
    sections: Vec<&'a Section>,
    stubs: Vec<&'a Section>,
    /// Where decoding (re)starts: every function start and every symbol in
    /// code, sorted. Each piece between two of them is decoded on its own,
    /// so data or padding in one cannot throw the decoding of the next out
    /// of step.
    entries: Vec<u64>,
    /// Functions (for "a branch within its own function"): the function
    /// starts, or the entries when the image has no LC_FUNCTION_STARTS.
    functions: Vec<u64>,
    /// Symbol addresses in code, sorted: a moved body starts a function
    /// but has no symbol of its own (its function's symbol stays at the
    /// canonical address, where the trampoline is).
    symbols: Vec<u64>,
    /// LC_DATA_IN_CODE ranges, sorted.
    data_in_code: Vec<(u64, u64)>,
}

/// One piece of code between two entries, inside the function `func`.
struct Piece<'a> {
    lo: u64,
    hi: u64,
    func: (u64, u64),
    body: &'a [u8],
}

impl<'a> Code<'a> {
    fn new(
        data: &'a [u8],
        image: &'a Image,
        arch: &'static dyn machlink::arch::Arch,
        report: &mut Report,
    ) -> Code<'a> {
        let text_vmaddr = image
            .segments
            .iter()
            .find(|s| s.name == "__TEXT")
            .map_or(0, |s| s.vmaddr);
        let sections: Vec<&Section> = image.sections().filter(|s| is_code(s)).collect();
        let stubs = image
            .sections()
            .filter(|s| s.kind() == macho::S_SYMBOL_STUBS)
            .collect();
        let mut starts = function_starts(data, text_vmaddr).unwrap_or_default();
        if starts.windows(2).any(|w| w[0] >= w[1]) {
            report
                .violations
                .push("function starts are not strictly increasing (overlapping slots)".into());
        }
        starts.sort_unstable();
        starts.dedup();
        report.functions = starts.len();
        let in_code = |a: u64| sections.iter().any(|s| a >= s.addr && a < s.addr + s.size);
        let mut symbols: Vec<u64> = symbol_addresses(data)
            .into_iter()
            .filter(|&a| in_code(a))
            .collect();
        symbols.sort_unstable();
        symbols.dedup();
        let mut entries: Vec<u64> = symbols.iter().chain(&starts).copied().collect();
        entries.sort_unstable();
        entries.dedup();
        let functions = if starts.is_empty() {
            entries.clone()
        } else {
            starts
        };
        Code {
            data,
            arch,
            sections,
            stubs,
            entries,
            functions,
            symbols,
            data_in_code: data_in_code(data, image),
        }
    }

    fn is_entry(&self, a: u64) -> bool {
        self.entries.binary_search(&a).is_ok()
    }

    /// Whether a padded jump at the function start `at` to `to` may be a
    /// trampoline rather than a tail call: `to` is no stub and no symbol,
    /// and either no function start at all (images that do not list
    /// moved bodies), or a start the symbol table does not name reached
    /// from a slot it does name: updates list each moved body in
    /// LC_FUNCTION_STARTS. (A stripped image's tail call jumps from an
    /// unnamed function to an unnamed one, and stays a tail call.)
    fn may_be_trampoline(&self, at: u64, to: u64) -> bool {
        let named = |a: u64| self.symbols.binary_search(&a).is_ok();
        !self.is_stub(to) && !named(to) && (!self.is_entry(to) || named(at))
    }

    fn is_stub(&self, a: u64) -> bool {
        self.stubs.iter().any(|s| {
            a >= s.addr
                && a < s.addr + s.size
                && s.reserved2 > 0
                && (a - s.addr).is_multiple_of(u64::from(s.reserved2))
        })
    }

    /// The code section holding `a`.
    fn section_of(&self, a: u64) -> Option<&'a Section> {
        self.sections
            .iter()
            .copied()
            .find(|s| a >= s.addr && a < s.addr + s.size)
    }

    /// The bytes from `a` to the end of its code section.
    fn bytes_at(&self, a: u64) -> Option<&'a [u8]> {
        let sec = self.section_of(a)?;
        section_bytes(self.data, sec).get((a - sec.addr) as usize..)
    }

    /// The function holding `a`, as `[start, end)`.
    fn function_of(&self, a: u64) -> Option<(u64, u64)> {
        range_of(&self.functions, &self.sections, a)
    }

    /// The end of the slot that starts at the function start `start`: the
    /// next function start in the same section. None for a section's last
    /// function, whose slot runs on into the section's reserve.
    fn slot_end(&self, start: u64) -> Option<u64> {
        let sec = self.section_of(start)?;
        let i = self.functions.partition_point(|&s| s <= start);
        self.functions
            .get(i)
            .copied()
            .filter(|&next| next < sec.addr + sec.size)
    }

    /// Whether the bytes at `a` are fill (the target's trap, or zeros) and
    /// so begin no body.
    fn is_fill(&self, a: u64) -> bool {
        let trap = self.arch.trap();
        self.bytes_at(a)
            .and_then(|b| b.get(..trap.len()))
            .is_some_and(|b| b == trap || b.iter().all(|&x| x == 0))
    }

    /// The pieces of code, in address order.
    fn pieces(&self) -> impl Iterator<Item = Piece<'a>> + '_ {
        self.entries.iter().filter_map(|&entry| {
            let (lo, hi) = range_of(&self.entries, &self.sections, entry)?;
            // A piece before the first function start is a function of
            // its own.
            let func = self.function_of(lo).unwrap_or((lo, hi));
            let sec = self.section_of(lo)?;
            let body = section_bytes(self.data, sec)
                .get((lo - sec.addr) as usize..(hi - sec.addr) as usize)?;
            Some(Piece { lo, hi, func, body })
        })
    }

    /// The end of the data-in-code range holding `ip`, if one does.
    fn data_in_code_end(&self, ip: u64) -> Option<u64> {
        let i = self.data_in_code.partition_point(|r| r.1 <= ip);
        self.data_in_code
            .get(i)
            .filter(|r| r.0 <= ip)
            .map(|&(_, hi)| hi)
    }

    /// Checks a direct branch at `at`, inside the function `func`, to `to`;
    /// `hop` says where a trampoline at an address jumps, and how long it
    /// is. Returns true when the branch is a trampoline filling its slot,
    /// so the rest of the piece is padding.
    fn check_branch(
        &self,
        report: &mut Report,
        at: u64,
        to: u64,
        func: (u64, u64),
        hop: impl Fn(u64) -> Option<(u64, u64)>,
    ) -> bool {
        report.branches += 1;
        let (flo, fhi) = func;
        // A slot that holds a trampoline (the last function's slot runs to
        // the section's end, so its body may lie "inside" it).
        let trampoline = if at == flo {
            hop(at).filter(|&(t, _)| t == to)
        } else {
            None
        };
        if trampoline.is_none()
            && ((flo..fhi).contains(&to) || self.is_entry(to) || self.is_stub(to))
        {
            return false;
        }
        if at != flo {
            report.violations.push(format!(
                "branch at {at:#x} (in the function at {flo:#x}) lands at {to:#x}, which is no function start, stub or trampoline"
            ));
            return false;
        }
        // A branch that starts a slot and leaves it is a trampoline, padded
        // or not (its length is then the branch's, unknown here).
        let len = trampoline.map_or(0, |(_, len)| len);
        report.trampolines += 1;
        self.check_trampoline(report, at, to, len, &hop);
        true
    }

    /// The invariants of a trampoline at the slot `at`, `len` bytes long,
    /// to `to`: its slot has room for the largest trampoline, and it leads
    /// to a body (not fill, not another trampoline's slot, not a second
    /// trampoline) in its own section.
    fn check_trampoline(
        &self,
        report: &mut Report,
        at: u64,
        to: u64,
        len: u64,
        hop: impl Fn(u64) -> Option<(u64, u64)>,
    ) {
        let largest = self.arch.max_trampoline() as u64;
        let mut say = |what: String| {
            report
                .violations
                .push(format!("trampoline at {at:#x} {what}"))
        };
        if let Some(end) = self.slot_end(at) {
            if end - at < largest.max(len) {
                say(format!(
                    "fills a slot of {} bytes, less than the largest trampoline ({largest} bytes)",
                    end - at
                ));
            }
        }
        let section = self.section_of(at);
        if self.section_of(to).map(|s| s.addr) != section.map(|s| s.addr) {
            return say(format!(
                "jumps to {to:#x}, outside its section ({})",
                section.map_or("?", |s| s.sectname.as_str())
            ));
        }
        let align = self.arch.trap().len() as u64;
        if !to.is_multiple_of(align) {
            return say(format!(
                "jumps to {to:#x}, which is no instruction boundary"
            ));
        }
        if self.is_fill(to) {
            return say(format!(
                "jumps to {to:#x}, which is trap or zero fill, not a function body"
            ));
        }
        if let Some(next) = hop(to) {
            return say(format!(
                "leads to {to:#x}, which jumps on to {:#x} (a chain: more than one hop)",
                next.0
            ));
        }
        // A slot that holds a trampoline is owned by it: nothing else lives
        // in the rest of it (a section's last slot excepted: its end is the
        // section's reserve, where moved bodies go).
        if let Some((owner, end)) = self.function_of(to) {
            if owner != to && hop(owner).is_some() && self.slot_end(owner) == Some(end) {
                say(format!(
                    "jumps to {to:#x}, inside the slot of the trampoline at {owner:#x}"
                ));
            }
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
