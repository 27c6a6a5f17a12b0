//! A semantic diff of two linked Mach-O executables (x86_64 or arm64): machlink's
//! output against ld64.lld-19's, linked from the same inputs with the same
//! flags. It compares what the program *means*, not where things landed:
//! every address is named `symbol+offset` (the nearest preceding symbol of
//! the same section), a stub, GOT or lazy-pointer slot by the symbol of its
//! indirect-symbol entry, a C string by its content, and anything else
//! `segment,section+offset`.
//!
//! Categories (see [`Category`]): symbols (and exports), sections, load
//! commands, fixups, unwind, code, data. [`compare_files`] returns the list
//! of [`Difference`]s; a test checks it against a short allowlist of
//! [`Allow`] rules, each with the reason the difference is acceptable, with
//! [`Comparison::unexplained`] / [`Comparison::report`].
//!
//! Decisions:
//! - Assembler-temporary labels (names starting with `l` or `L`: `ltmp0`,
//!   `l_.str`, `L...`) carry no meaning and linkers differ in keeping them;
//!   they are left out of the symbol comparison *and* are never used to
//!   name an address, so one linker keeping them cannot shift the other
//!   categories. Debug (stab) entries are ignored.
//! - Undefined symbols are compared with the dylib their two-level ordinal
//!   names; defined ones with their section's name, never their address.
//! - Load commands are compared by type and meaningful fields; offsets,
//!   sizes, the UUID's bytes, the signature's bytes and the build-tool
//!   versions are ignored. Segment `vmsize`/`filesize` are layout.
//! - Unwind rows are what the runtime lookup gives for each function's
//!   start address (the entry with the greatest start at or below it), so
//!   two tables that merge adjacent identical entries differently compare
//!   equal. A DWARF-mode encoding is compared as "DWARF, FDE of function F"
//!   (its low 24 bits, an `__eh_frame` offset, are layout).
//! - Code is disassembled with `llvm-objdump-19 --macho -d` (which honours
//!   LC_DATA_IN_CODE); every branch target and RIP-relative operand is
//!   renamed; trailing alignment padding (nops, int3, zero bytes) of a
//!   function is dropped. Stubs are decoded here (`jmp *slot(%rip)`).
//!   A `movq` of a local definition's GOT slot is written as the `leaq`
//!   ld64 relaxes it to (lld 19 does not relax).
//!   `__stub_helper` is not compared instruction by instruction: its
//!   `push $imm` operands are offsets into the lazy-binding opcode stream
//!   (layout); what it binds is compared in the fixups.
//! - Data atoms run from a symbol to the next symbol (or section end);
//!   trailing zero bytes are dropped (Mach-O records no symbol sizes, so
//!   alignment padding would otherwise count). Pointer words carrying a
//!   fixup are replaced by their decoded target. C-string and literal
//!   sections compare as multisets of their literals (the strings of
//!   `__objc_classname` and `__objc_methtype` as `__TEXT,__cstring`'s,
//!   where lld merges them).
//! - An `__objc_selrefs` slot is named by the selector it points at
//!   (`selref(cstring("length"))`), so a `_objc_msgSend$sel` stub's load
//!   reads as the selector it sends; the section compares as the multiset
//!   of selectors. Zero-fill sections
//!   are compared by the sections category only.
//! - arm64 code: see the [`arm64`] module (addresses built by `adrp` pairs,
//!   `adr` and literal loads all read as the name they reach; `nop`s that
//!   optimization hints leave are dropped); stubs and the stub helper are
//!   decoded from their bytes as on x86_64.

mod arm64;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::process::Command;

/// What part of the image a difference is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Symbols,
    Sections,
    LoadCommands,
    Fixups,
    Unwind,
    Code,
    Data,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Symbols => "symbols",
            Category::Sections => "sections",
            Category::LoadCommands => "load-commands",
            Category::Fixups => "fixups",
            Category::Unwind => "unwind",
            Category::Code => "code",
            Category::Data => "data",
        })
    }
}

/// One difference: the category, what it is about (a symbol, section,
/// fixup location, function...) and both files' values (`(none)` when one
/// file lacks it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub category: Category,
    pub subject: String,
    /// The value in the first file given to [`compare_files`] (machlink's).
    pub ours: String,
    /// The value in the second file (the reference linker's).
    pub reference: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}: machlink {} | lld {}",
            self.category,
            self.subject,
            clip(&self.ours),
            clip(&self.reference)
        )
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 400;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

/// An accepted difference: its category, glob patterns (`*` matches any
/// run of characters) for the subject and both values, and why it is
/// acceptable.
#[derive(Clone, Copy, Debug)]
pub struct Allow {
    pub category: Category,
    pub subject: &'static str,
    pub ours: &'static str,
    pub reference: &'static str,
    pub reason: &'static str,
}

impl Allow {
    pub fn matches(&self, d: &Difference) -> bool {
        self.category == d.category
            && glob(self.subject, &d.subject)
            && glob(self.ours, &d.ours)
            && glob(self.reference, &d.reference)
    }
}

/// `*` matches any (possibly empty) run of characters; everything else
/// matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The differences between two images.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub differences: Vec<Difference>,
}

impl Comparison {
    /// The differences no rule of `allow` accepts.
    pub fn unexplained(&self, allow: &[Allow]) -> Vec<&Difference> {
        self.differences
            .iter()
            .filter(|d| !allow.iter().any(|a| a.matches(d)))
            .collect()
    }

    /// The differences a rule accepts, with the first such rule.
    pub fn explained<'a>(&'a self, allow: &'a [Allow]) -> Vec<(&'a Difference, &'a Allow)> {
        self.differences
            .iter()
            .filter_map(|d| allow.iter().find(|a| a.matches(d)).map(|a| (d, a)))
            .collect()
    }

    /// One line per difference; accepted ones end with their reason.
    pub fn report(&self, allow: &[Allow]) -> String {
        let mut out = String::new();
        for d in &self.differences {
            match allow.iter().find(|a| a.matches(d)) {
                Some(a) => out.push_str(&format!("  allowed: {d}\n      because {}\n", a.reason)),
                None => out.push_str(&format!("  DIFFERS: {d}\n")),
            }
        }
        out
    }
}

/// Compares `ours` (machlink's output) with `reference` (ld64.lld-19's).
/// Needs `llvm-objdump-19` for the code category.
pub fn compare_files(ours: &Path, reference: &Path) -> Result<Comparison, String> {
    let a = std::fs::read(ours).map_err(|e| format!("read {}: {e}", ours.display()))?;
    let b = std::fs::read(reference).map_err(|e| format!("read {}: {e}", reference.display()))?;
    let a = Image::parse(&a).map_err(|e| format!("{}: {e}", ours.display()))?;
    let b = Image::parse(&b).map_err(|e| format!("{}: {e}", reference.display()))?;
    let sa = Semantics::of(&a, ours).map_err(|e| format!("{}: {e}", ours.display()))?;
    let sb = Semantics::of(&b, reference).map_err(|e| format!("{}: {e}", reference.display()))?;
    let mut differences = Vec::new();
    for (cat, ma, mb) in [
        (Category::Symbols, &sa.symbols, &sb.symbols),
        (Category::Sections, &sa.sections, &sb.sections),
        (Category::LoadCommands, &sa.load_commands, &sb.load_commands),
        (Category::Fixups, &sa.fixups, &sb.fixups),
        (Category::Unwind, &sa.unwind, &sb.unwind),
        (Category::Code, &sa.code, &sb.code),
        (Category::Data, &sa.data, &sb.data),
    ] {
        diff_maps(cat, ma, mb, &mut differences);
    }
    Ok(Comparison { differences })
}

/// What each pointer dyld fixes up in `image` holds: for a bind, the
/// symbol's name; for a rebase, the address it points at (as `0x...`).
/// Tests name GOT slots by it (a personality's, a type info's).
pub fn pointer_targets(image: &Path) -> Result<HashMap<u64, String>, String> {
    let data = std::fs::read(image).map_err(|e| format!("read {}: {e}", image.display()))?;
    let img = Image::parse(&data).map_err(|e| format!("{}: {e}", image.display()))?;
    let (fixups, _) = decode_fixups(&img)?;
    Ok(fixups
        .into_iter()
        .map(|(at, f)| {
            let what = match f {
                Fix::Rebase(t) => format!("{t:#x}"),
                Fix::Bind { name, .. } | Fix::WeakBind { name, .. } => name,
            };
            (at, what)
        })
        .collect())
}

/// Each category as subject -> multiset of values.
type Facts = BTreeMap<String, Vec<String>>;

fn put(facts: &mut Facts, key: impl Into<String>, value: impl Into<String>) {
    facts.entry(key.into()).or_default().push(value.into());
}

fn diff_maps(cat: Category, a: &Facts, b: &Facts, out: &mut Vec<Difference>) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let none = Vec::new();
    for key in keys {
        let mut va = a.get(key).unwrap_or(&none).clone();
        let mut vb = b.get(key).unwrap_or(&none).clone();
        va.sort();
        vb.sort();
        if va == vb {
            continue;
        }
        let (ours, reference) = summarize(&va, &vb);
        out.push(Difference {
            category: cat,
            subject: key.clone(),
            ours,
            reference,
        });
    }
}

/// Both value lists as text; multi-line values (listings, byte dumps) are
/// cut down to their first differing line.
fn summarize(a: &[String], b: &[String]) -> (String, String) {
    let show = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(" ; ")
        }
    };
    if a.len() == 1 && b.len() == 1 && (a[0].contains('\n') || b[0].contains('\n')) {
        let la: Vec<&str> = a[0].lines().collect();
        let lb: Vec<&str> = b[0].lines().collect();
        let at = la
            .iter()
            .zip(&lb)
            .position(|(x, y)| x != y)
            .unwrap_or(la.len().min(lb.len()));
        let line = |l: &[&str]| l.get(at).copied().unwrap_or("(end)").to_string();
        return (
            format!("line {at} of {}: `{}`", la.len(), line(&la)),
            format!("line {at} of {}: `{}`", lb.len(), line(&lb)),
        );
    }
    let brief = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|x| match x.split_once('\n') {
                Some((first, _)) => format!("{} lines: `{first}` ...", x.lines().count()),
                None => x.clone(),
            })
            .collect()
    };
    (show(&brief(a)), show(&brief(b)))
}

// ---------------------------------------------------------------------------
// Reading the image.

const LC_SEGMENT_64: u32 = 0x19;
const LC_SYMTAB: u32 = 0x2;
const LC_DYSYMTAB: u32 = 0xb;
const LC_LOAD_DYLIB: u32 = 0xc;
const LC_ID_DYLIB: u32 = 0xd;
const LC_LOAD_DYLINKER: u32 = 0xe;
const LC_LOAD_WEAK_DYLIB: u32 = 0x8000_0018;
const LC_REEXPORT_DYLIB: u32 = 0x8000_001f;
const LC_LAZY_LOAD_DYLIB: u32 = 0x20;
const LC_LOAD_UPWARD_DYLIB: u32 = 0x8000_0023;
const LC_UUID: u32 = 0x1b;
const LC_RPATH: u32 = 0x8000_001c;
const LC_CODE_SIGNATURE: u32 = 0x1d;
const LC_FUNCTION_STARTS: u32 = 0x26;
const LC_DATA_IN_CODE: u32 = 0x29;
const LC_DYLD_INFO: u32 = 0x22;
const LC_DYLD_INFO_ONLY: u32 = 0x8000_0022;
const LC_MAIN: u32 = 0x8000_0028;
const LC_SOURCE_VERSION: u32 = 0x2a;
const LC_BUILD_VERSION: u32 = 0x32;
const LC_DYLD_EXPORTS_TRIE: u32 = 0x8000_0033;
const LC_DYLD_CHAINED_FIXUPS: u32 = 0x8000_0034;

/// `__DATA,__objc_selrefs`: pointers to selector names.
const OBJC_SELREFS: &str = "__objc_selrefs";
/// C-string sections of Objective-C metadata that lld merges into
/// `__TEXT,__cstring` and ld64 keeps apart; their strings are compared as
/// `__TEXT,__cstring`'s.
const OBJC_CSTRING_SECTIONS: [&str; 2] = ["__objc_classname", "__objc_methtype"];
const S_ZEROFILL: u32 = 0x1;
const S_CSTRING_LITERALS: u32 = 0x2;
const S_4BYTE_LITERALS: u32 = 0x3;
const S_8BYTE_LITERALS: u32 = 0x4;
const S_NON_LAZY_SYMBOL_POINTERS: u32 = 0x6;
const S_LAZY_SYMBOL_POINTERS: u32 = 0x7;
const S_SYMBOL_STUBS: u32 = 0x8;
const S_GB_ZEROFILL: u32 = 0xc;
const S_16BYTE_LITERALS: u32 = 0xe;
const S_THREAD_LOCAL_ZEROFILL: u32 = 0x12;
const S_THREAD_LOCAL_VARIABLE_POINTERS: u32 = 0x14;
const S_MOD_INIT_FUNC_POINTERS: u32 = 0x9;
const S_INIT_FUNC_OFFSETS: u32 = 0x16;
const S_ATTR_PURE_INSTRUCTIONS: u32 = 0x8000_0000;
const S_ATTR_SOME_INSTRUCTIONS: u32 = 0x400;

const INDIRECT_SYMBOL_LOCAL: u32 = 0x8000_0000;
const INDIRECT_SYMBOL_ABS: u32 = 0x4000_0000;

/// Bounds-checked little-endian reads.
#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    fn bytes(&self, at: usize, len: usize) -> Result<&'a [u8], String> {
        at.checked_add(len)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| format!("read of {len} bytes at {at:#x} is outside the file"))
    }
    fn u8(&self, at: usize) -> Result<u8, String> {
        Ok(self.bytes(at, 1)?[0])
    }
    fn u16(&self, at: usize) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.bytes(at, 2)?.try_into().unwrap()))
    }
    fn u32(&self, at: usize) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(at, 4)?.try_into().unwrap()))
    }
    fn u64(&self, at: usize) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes(at, 8)?.try_into().unwrap()))
    }
    fn cstr(&self, at: usize) -> Result<String, String> {
        let rest = self.0.get(at..).ok_or("string outside the file")?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated string")?;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
    fn name16(&self, at: usize) -> Result<String, String> {
        let raw = self.bytes(at, 16)?;
        let end = raw.iter().position(|&b| b == 0).unwrap_or(16);
        Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
    }
}

/// A cursor over an opcode or trie stream.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn u8(&mut self) -> Result<u8, String> {
        let b = *self.data.get(self.pos).ok_or("stream ends early")?;
        self.pos += 1;
        Ok(b)
    }
    fn uleb(&mut self) -> Result<u64, String> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
    }
    fn sleb(&mut self) -> Result<i64, String> {
        let (mut value, mut shift) = (0i64, 0);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                value |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }
    fn cstr(&mut self) -> Result<String, String> {
        let rest = self.data.get(self.pos..).ok_or("stream ends early")?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated string")?;
        self.pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

struct Segment {
    name: String,
    vmaddr: u64,
    fileoff: u64,
    filesize: u64,
    maxprot: u32,
    initprot: u32,
    flags: u32,
    nsects: u32,
}

struct Section {
    seg: String,
    name: String,
    addr: u64,
    size: u64,
    offset: u32,
    align: u32,
    flags: u32,
    reserved1: u32,
    reserved2: u32,
}

impl Section {
    fn kind(&self) -> u32 {
        self.flags & 0xff
    }
    fn full(&self) -> String {
        format!("{},{}", self.seg, self.name)
    }
    fn is_code(&self) -> bool {
        self.flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS) != 0
    }
    fn is_zerofill(&self) -> bool {
        matches!(
            self.kind(),
            S_ZEROFILL | S_GB_ZEROFILL | S_THREAD_LOCAL_ZEROFILL
        )
    }
    fn contains(&self, addr: u64) -> bool {
        addr >= self.addr && addr - self.addr < self.size
    }
}

struct Symbol {
    name: String,
    n_type: u8,
    n_sect: u8,
    n_desc: u16,
    value: u64,
}

impl Symbol {
    fn is_stab(&self) -> bool {
        self.n_type & 0xe0 != 0
    }
    fn is_defined_in_section(&self) -> bool {
        !self.is_stab() && self.n_type & 0x0e == 0x0e
    }
}

/// A load command as found: type and its bytes.
struct LoadCommand<'a> {
    cmd: u32,
    at: usize,
    body: &'a [u8],
}

/// The CPU an image is for: it decides how stubs, the stub helper, code
/// listings and compact unwind's DWARF mode are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arch {
    X86_64,
    Arm64,
}

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;

impl Arch {
    /// Compact unwind's mode field for "see the FDE in __eh_frame".
    fn dwarf_mode(self) -> u32 {
        match self {
            Arch::X86_64 => 0x0400_0000,
            Arch::Arm64 => 0x0300_0000,
        }
    }
}

struct Image<'a> {
    arch: Arch,
    data: Buf<'a>,
    commands: Vec<LoadCommand<'a>>,
    segments: Vec<Segment>,
    sections: Vec<Section>,
    symbols: Vec<Symbol>,
    indirect: Vec<u32>,
    dylibs: Vec<String>,
    /// The address of the Mach-O header (the segment mapping file offset 0).
    base: u64,
}

fn linkedit<'a>(data: Buf<'a>, cmd: &LoadCommand<'_>) -> Result<&'a [u8], String> {
    let b = Buf(cmd.body);
    data.bytes(b.u32(8)? as usize, b.u32(12)? as usize)
}

impl<'a> Image<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let data = Buf(bytes);
        if data.u32(0)? != 0xfeed_facf {
            return Err("not a 64-bit little-endian Mach-O file".into());
        }
        let arch = match data.u32(4)? {
            CPU_TYPE_X86_64 => Arch::X86_64,
            CPU_TYPE_ARM64 => Arch::Arm64,
            other => return Err(format!("CPU type {other:#x} is neither x86_64 nor arm64")),
        };
        let ncmds = data.u32(16)?;
        let mut commands = Vec::new();
        let mut at = 32usize;
        for _ in 0..ncmds {
            let cmd = data.u32(at)?;
            let size = data.u32(at + 4)? as usize;
            if size < 8 {
                return Err(format!("load command at {at:#x} has size {size}"));
            }
            commands.push(LoadCommand {
                cmd,
                at,
                body: data.bytes(at, size)?,
            });
            at += size;
        }
        let mut image = Image {
            arch,
            data,
            commands: Vec::new(),
            segments: Vec::new(),
            sections: Vec::new(),
            symbols: Vec::new(),
            indirect: Vec::new(),
            dylibs: Vec::new(),
            base: 0,
        };
        for lc in &commands {
            let b = Buf(lc.body);
            match lc.cmd {
                LC_SEGMENT_64 => {
                    let seg = Segment {
                        name: b.name16(8)?,
                        vmaddr: b.u64(24)?,
                        fileoff: b.u64(40)?,
                        filesize: b.u64(48)?,
                        maxprot: b.u32(56)?,
                        initprot: b.u32(60)?,
                        nsects: b.u32(64)?,
                        flags: b.u32(68)?,
                    };
                    for i in 0..seg.nsects as usize {
                        let s = 72 + i * 80;
                        image.sections.push(Section {
                            name: b.name16(s)?,
                            seg: b.name16(s + 16)?,
                            addr: b.u64(s + 32)?,
                            size: b.u64(s + 40)?,
                            offset: b.u32(s + 48)?,
                            align: b.u32(s + 52)?,
                            flags: b.u32(s + 64)?,
                            reserved1: b.u32(s + 68)?,
                            reserved2: b.u32(s + 72)?,
                        });
                    }
                    if seg.fileoff == 0 && seg.filesize != 0 {
                        image.base = seg.vmaddr;
                    }
                    image.segments.push(seg);
                }
                LC_SYMTAB => {
                    let (symoff, nsyms) = (b.u32(8)? as usize, b.u32(12)? as usize);
                    let strtab = data.bytes(b.u32(16)? as usize, b.u32(20)? as usize)?;
                    for i in 0..nsyms {
                        let e = symoff + i * 16;
                        let strx = data.u32(e)? as usize;
                        image.symbols.push(Symbol {
                            name: Buf(strtab).cstr(strx)?,
                            n_type: data.u8(e + 4)?,
                            n_sect: data.u8(e + 5)?,
                            n_desc: data.u16(e + 6)?,
                            value: data.u64(e + 8)?,
                        });
                    }
                }
                LC_DYSYMTAB => {
                    let (off, n) = (b.u32(56)? as usize, b.u32(60)? as usize);
                    for i in 0..n {
                        image.indirect.push(data.u32(off + i * 4)?);
                    }
                }
                LC_LOAD_DYLIB | LC_LOAD_WEAK_DYLIB | LC_REEXPORT_DYLIB | LC_LAZY_LOAD_DYLIB
                | LC_LOAD_UPWARD_DYLIB => {
                    image.dylibs.push(b.cstr(b.u32(8)? as usize)?);
                }
                _ => {}
            }
        }
        image.commands = commands;
        Ok(image)
    }

    fn file_offset(&self, addr: u64) -> Option<usize> {
        self.segments
            .iter()
            .find(|s| addr >= s.vmaddr && addr - s.vmaddr < s.filesize)
            .map(|s| (s.fileoff + addr - s.vmaddr) as usize)
    }

    fn read_u64(&self, addr: u64) -> Result<u64, String> {
        let off = self
            .file_offset(addr)
            .ok_or_else(|| format!("address {addr:#x} is not in the file"))?;
        self.data.u64(off)
    }

    fn section_bytes(&self, s: &Section) -> Result<&'a [u8], String> {
        if s.is_zerofill() {
            return Ok(&[]);
        }
        self.data.bytes(s.offset as usize, s.size as usize)
    }

    fn command(&self, cmd: u32) -> Option<&LoadCommand<'a>> {
        self.commands.iter().find(|c| c.cmd == cmd)
    }

    fn dylib(&self, ordinal: i64) -> String {
        match ordinal {
            0 => "self".into(),
            -1 => "main-executable".into(),
            -2 => "flat-lookup".into(),
            -3 => "weak-lookup".into(),
            n if n > 0 && (n as usize) <= self.dylibs.len() => self.dylibs[n as usize - 1].clone(),
            n => format!("dylib-ordinal-{n}"),
        }
    }
}

/// A section of 4-, 8- or 16-byte literals: ld64's typed `__literal4/8/16`,
/// or lld's `__TEXT,__literals` (where lld 19 puts all three, untyped).
/// Literals are named, and compared, by 4-byte chunks of content: the
/// width is not known in lld's form.
fn is_literal_pool(s: &Section) -> bool {
    matches!(
        s.kind(),
        S_4BYTE_LITERALS | S_8BYTE_LITERALS | S_16BYTE_LITERALS
    ) || (s.seg == "__TEXT" && s.name == "__literals")
}

fn is_temporary(name: &str) -> bool {
    name.starts_with('l') || name.starts_with('L')
}

// ---------------------------------------------------------------------------
// Fixups.

#[derive(Clone, Debug)]
enum Fix {
    Rebase(u64),
    Bind {
        name: String,
        dylib: String,
        addend: i64,
        weak_import: bool,
        lazy: bool,
    },
    WeakBind {
        name: String,
        addend: i64,
        strong_definition: bool,
    },
}

/// The decoded fixups, and the symbol each lazy-binding entry (by its
/// offset in the lazy-bind stream) binds.
type Fixups = (Vec<(u64, Fix)>, HashMap<u64, String>);

fn decode_fixups(img: &Image) -> Result<Fixups, String> {
    let mut out = Vec::new();
    let mut lazy = HashMap::new();
    if let Some(lc) = img.command(LC_DYLD_CHAINED_FIXUPS) {
        decode_chained(img, linkedit(img.data, lc)?, &mut out)?;
    }
    if let Some(lc) = img
        .command(LC_DYLD_INFO_ONLY)
        .or_else(|| img.command(LC_DYLD_INFO))
    {
        let b = Buf(lc.body);
        let part = |i: usize| -> Result<&[u8], String> {
            img.data
                .bytes(b.u32(8 + i * 8)? as usize, b.u32(12 + i * 8)? as usize)
        };
        decode_rebases(img, part(0)?, &mut out)?;
        decode_binds(img, part(1)?, BindStream::Regular, &mut out, &mut lazy)?;
        decode_binds(img, part(2)?, BindStream::Weak, &mut out, &mut lazy)?;
        decode_binds(img, part(3)?, BindStream::Lazy, &mut out, &mut lazy)?;
    }
    Ok((out, lazy))
}

fn segment_address(img: &Image, seg: u64, offset: u64) -> Result<u64, String> {
    let s = img
        .segments
        .get(seg as usize)
        .ok_or_else(|| format!("fixup names segment {seg}, which does not exist"))?;
    Ok(s.vmaddr.wrapping_add(offset))
}

fn decode_rebases(img: &Image, ops: &[u8], out: &mut Vec<(u64, Fix)>) -> Result<(), String> {
    let mut c = Cursor { data: ops, pos: 0 };
    let (mut seg, mut offset) = (0u64, 0u64);
    let rebase = |seg: u64, offset: u64, out: &mut Vec<(u64, Fix)>| -> Result<(), String> {
        let addr = segment_address(img, seg, offset)?;
        out.push((addr, Fix::Rebase(img.read_u64(addr)?)));
        Ok(())
    };
    while !c.done() {
        let byte = c.u8()?;
        let imm = u64::from(byte & 0x0f);
        match byte & 0xf0 {
            0x00 => break,
            0x10 => {}
            0x20 => {
                seg = imm;
                offset = c.uleb()?;
            }
            0x30 => offset = offset.wrapping_add(c.uleb()?),
            0x40 => offset = offset.wrapping_add(imm * 8),
            0x50 => {
                for _ in 0..imm {
                    rebase(seg, offset, out)?;
                    offset = offset.wrapping_add(8);
                }
            }
            0x60 => {
                let n = c.uleb()?;
                for _ in 0..n.min(1 << 24) {
                    rebase(seg, offset, out)?;
                    offset = offset.wrapping_add(8);
                }
            }
            0x70 => {
                rebase(seg, offset, out)?;
                offset = offset.wrapping_add(c.uleb()?.wrapping_add(8));
            }
            0x80 => {
                let (n, skip) = (c.uleb()?, c.uleb()?);
                for _ in 0..n.min(1 << 24) {
                    rebase(seg, offset, out)?;
                    offset = offset.wrapping_add(skip.wrapping_add(8));
                }
            }
            op => return Err(format!("unknown rebase opcode {op:#x}")),
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BindStream {
    Regular,
    Weak,
    Lazy,
}

fn decode_binds(
    img: &Image,
    ops: &[u8],
    kind: BindStream,
    out: &mut Vec<(u64, Fix)>,
    lazy_entries: &mut HashMap<u64, String>,
) -> Result<(), String> {
    let mut c = Cursor { data: ops, pos: 0 };
    let mut entry = 0u64;
    let (mut seg, mut offset, mut ordinal, mut addend) = (0u64, 0u64, 0i64, 0i64);
    let (mut name, mut flags) = (String::new(), 0u8);
    let bind = |seg: u64,
                offset: u64,
                ordinal: i64,
                name: &str,
                flags: u8,
                addend: i64,
                out: &mut Vec<(u64, Fix)>|
     -> Result<(), String> {
        let addr = segment_address(img, seg, offset)?;
        let fix = match kind {
            BindStream::Weak => Fix::WeakBind {
                name: name.to_string(),
                addend,
                strong_definition: flags & 0x8 != 0,
            },
            _ => Fix::Bind {
                name: name.to_string(),
                dylib: img.dylib(ordinal),
                addend,
                weak_import: flags & 0x1 != 0,
                lazy: kind == BindStream::Lazy,
            },
        };
        out.push((addr, fix));
        Ok(())
    };
    while !c.done() {
        let byte = c.u8()?;
        let imm = byte & 0x0f;
        match byte & 0xf0 {
            0x00 => {
                if kind != BindStream::Lazy {
                    break;
                }
                entry = c.pos as u64;
            }
            0x10 => ordinal = i64::from(imm),
            0x20 => ordinal = c.uleb()? as i64,
            0x30 => {
                ordinal = if imm == 0 {
                    0
                } else {
                    i64::from((0xf0 | imm) as i8)
                }
            }
            0x40 => {
                flags = imm;
                name = c.cstr()?;
                if flags & 0x8 != 0 && kind == BindStream::Weak {
                    let addr = 0;
                    out.push((
                        addr,
                        Fix::WeakBind {
                            name: name.clone(),
                            addend: 0,
                            strong_definition: true,
                        },
                    ));
                }
            }
            0x50 => {}
            0x60 => addend = c.sleb()?,
            0x70 => {
                seg = u64::from(imm);
                offset = c.uleb()?;
            }
            0x80 => offset = offset.wrapping_add(c.uleb()?),
            0x90 => {
                if kind == BindStream::Lazy {
                    lazy_entries.insert(entry, name.clone());
                }
                bind(seg, offset, ordinal, &name, flags, addend, out)?;
                offset = offset.wrapping_add(8);
            }
            0xa0 => {
                bind(seg, offset, ordinal, &name, flags, addend, out)?;
                offset = offset.wrapping_add(c.uleb()?.wrapping_add(8));
            }
            0xb0 => {
                bind(seg, offset, ordinal, &name, flags, addend, out)?;
                offset = offset.wrapping_add(u64::from(imm) * 8 + 8);
            }
            0xc0 => {
                let (n, skip) = (c.uleb()?, c.uleb()?);
                for _ in 0..n.min(1 << 24) {
                    bind(seg, offset, ordinal, &name, flags, addend, out)?;
                    offset = offset.wrapping_add(skip.wrapping_add(8));
                }
            }
            op => return Err(format!("unknown bind opcode {op:#x}")),
        }
    }
    Ok(())
}

fn decode_chained(img: &Image, blob: &[u8], out: &mut Vec<(u64, Fix)>) -> Result<(), String> {
    let b = Buf(blob);
    let starts = b.u32(4)? as usize;
    let imports_off = b.u32(8)? as usize;
    let symbols_off = b.u32(12)? as usize;
    let imports_count = b.u32(16)? as usize;
    let imports_format = b.u32(20)?;
    let mut imports = Vec::with_capacity(imports_count.min(1 << 20));
    for i in 0..imports_count {
        let (ordinal, weak, name_off, addend) = match imports_format {
            1 | 2 => {
                let stride = if imports_format == 1 { 4 } else { 8 };
                let v = b.u32(imports_off + i * stride)?;
                let addend = if imports_format == 2 {
                    i64::from(b.u32(imports_off + i * 8 + 4)? as i32)
                } else {
                    0
                };
                (
                    i64::from((v & 0xff) as u8 as i8),
                    v >> 8 & 1 != 0,
                    (v >> 9) as usize,
                    addend,
                )
            }
            3 => {
                let v = b.u64(imports_off + i * 16)?;
                let addend = b.u64(imports_off + i * 16 + 8)? as i64;
                (
                    i64::from((v & 0xffff) as u16 as i16),
                    v >> 16 & 1 != 0,
                    (v >> 32) as usize,
                    addend,
                )
            }
            f => return Err(format!("unknown chained imports format {f}")),
        };
        // Ordinals above the special values are plain dylib ordinals.
        let ordinal = if ordinal < -3 {
            ordinal & 0xff
        } else {
            ordinal
        };
        imports.push((
            b.cstr(symbols_off + name_off)?,
            img.dylib(ordinal),
            weak,
            addend,
        ));
    }
    let seg_count = b.u32(starts)? as usize;
    for seg in 0..seg_count {
        let info = b.u32(starts + 4 + seg * 4)? as usize;
        if info == 0 {
            continue;
        }
        let s = starts + info;
        let page_size = u64::from(b.u16(s + 4)?);
        let format = b.u16(s + 6)?;
        let segment_offset = b.u64(s + 8)?;
        let page_count = b.u16(s + 20)? as usize;
        if format != 2 && format != 6 {
            return Err(format!("unsupported chained pointer format {format}"));
        }
        for page in 0..page_count {
            let start = b.u16(s + 22 + page * 2)?;
            if start == 0xffff {
                continue;
            }
            if start & 0x8000 != 0 {
                return Err("DYLD_CHAINED_PTR_START_MULTI in a 64-bit chain".into());
            }
            let mut off = segment_offset + page as u64 * page_size + u64::from(start);
            for _ in 0..(page_size.max(8) / 4 + 1) {
                let addr = img.base + off;
                let raw = img.read_u64(addr)?;
                let next = (raw >> 51) & 0xfff;
                if raw >> 63 != 0 {
                    let index = (raw & 0xff_ffff) as usize;
                    let inline = ((raw >> 24) & 0xff) as i64;
                    let (name, dylib, weak, addend) = imports.get(index).ok_or_else(|| {
                        format!("chained bind uses import {index} of {}", imports.len())
                    })?;
                    out.push((
                        addr,
                        Fix::Bind {
                            name: name.clone(),
                            dylib: dylib.clone(),
                            addend: addend + inline,
                            weak_import: *weak,
                            lazy: false,
                        },
                    ));
                } else {
                    let target = raw & 0xf_ffff_ffff;
                    let high8 = (raw >> 36) & 0xff;
                    let target = if format == 6 {
                        img.base + target
                    } else {
                        target
                    };
                    out.push((addr, Fix::Rebase(target | high8 << 56)));
                }
                if next == 0 {
                    break;
                }
                off += next * 4;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Naming addresses.

struct Namer<'i, 'a> {
    img: &'i Image<'a>,
    /// Per section index: (address, name) of its symbols, sorted.
    anchors: Vec<Vec<(u64, String)>>,
    /// Rebase targets by location, to name local GOT slots.
    rebases: HashMap<u64, u64>,
    /// Lazy-bind entry offset -> symbol, to name stub-helper entries.
    lazy: HashMap<u64, String>,
}

impl<'i, 'a> Namer<'i, 'a> {
    fn new(img: &'i Image<'a>, fixups: &[(u64, Fix)], lazy: HashMap<u64, String>) -> Self {
        let mut anchors: Vec<Vec<(u64, String)>> = vec![Vec::new(); img.sections.len()];
        for s in &img.symbols {
            if !s.is_defined_in_section() || is_temporary(&s.name) || s.n_sect == 0 {
                continue;
            }
            // Only symbols inside their section name addresses
            // (`__mh_execute_header` claims __text but is the header).
            let si = s.n_sect as usize - 1;
            if let (Some(list), Some(sec)) = (anchors.get_mut(si), img.sections.get(si)) {
                if sec.contains(s.value) {
                    list.push((s.value, s.name.clone()));
                }
            }
        }
        for list in &mut anchors {
            // At one address, the smallest name wins (aliases).
            list.sort();
            list.dedup_by(|later, earlier| later.0 == earlier.0);
        }
        let rebases = fixups
            .iter()
            .filter_map(|(at, f)| match f {
                Fix::Rebase(t) => Some((*at, *t)),
                _ => None,
            })
            .collect();
        Namer {
            img,
            anchors,
            rebases,
            lazy,
        }
    }

    fn section_of(&self, addr: u64) -> Option<usize> {
        let secs = &self.img.sections;
        secs.iter().position(|s| s.contains(addr)).or_else(|| {
            secs.iter()
                .position(|s| s.addr + s.size == addr && s.size > 0)
        })
    }

    fn indirect_name(&self, s: &Section, slot: u64) -> String {
        let Some(&entry) = self.img.indirect.get(s.reserved1 as usize + slot as usize) else {
            return "?".into();
        };
        if entry & INDIRECT_SYMBOL_LOCAL != 0 || entry & INDIRECT_SYMBOL_ABS != 0 {
            return String::new();
        }
        self.img
            .symbols
            .get(entry as usize)
            .map_or_else(|| "?".into(), |sym| sym.name.clone())
    }

    fn name(&self, addr: u64) -> String {
        self.name_depth(addr, 0)
    }

    fn name_depth(&self, addr: u64, depth: u32) -> String {
        let Some(si) = self.section_of(addr) else {
            if addr == self.img.base {
                return "__mh_execute_header".into();
            }
            return format!(
                "(outside sections: image+{:#x})",
                addr.wrapping_sub(self.img.base)
            );
        };
        let s = &self.img.sections[si];
        let off = addr - s.addr;
        let with_off = |base: String, off: u64| {
            if off == 0 {
                base
            } else {
                format!("{base}+{off:#x}")
            }
        };
        match s.kind() {
            S_SYMBOL_STUBS if s.reserved2 > 0 => {
                let stub = u64::from(s.reserved2);
                let name = self.indirect_name(s, off / stub);
                return with_off(format!("stub({name})"), off % stub);
            }
            S_NON_LAZY_SYMBOL_POINTERS
            | S_LAZY_SYMBOL_POINTERS
            | S_THREAD_LOCAL_VARIABLE_POINTERS => {
                let what = match s.kind() {
                    S_LAZY_SYMBOL_POINTERS => "lazy_ptr",
                    S_THREAD_LOCAL_VARIABLE_POINTERS => "tlv_ptr",
                    _ => "got",
                };
                let mut name = self.indirect_name(s, off / 8);
                if name.is_empty() {
                    let slot = addr - off % 8;
                    name = match self.rebases.get(&slot) {
                        Some(&t) if depth == 0 => format!("local {}", self.name_depth(t, 1)),
                        _ => "local ?".into(),
                    };
                }
                return with_off(format!("{what}({name})"), off % 8);
            }
            S_CSTRING_LITERALS => {
                if let Ok(bytes) = self.img.section_bytes(s) {
                    let at = off as usize;
                    if at < bytes.len() {
                        let start = bytes[..at]
                            .iter()
                            .rposition(|&b| b == 0)
                            .map_or(0, |p| p + 1);
                        let end = bytes[at..]
                            .iter()
                            .position(|&b| b == 0)
                            .map_or(bytes.len(), |p| at + p);
                        return with_off(literal(&bytes[start..end]), (at - start) as u64);
                    }
                }
            }
            _ if is_literal_pool(s) => {
                if let Ok(bytes) = self.img.section_bytes(s) {
                    let start = (off - off % 4) as usize;
                    if let Some(v) = bytes.get(start..start + 4) {
                        return with_off(format!("literal({})", hex(v)), off % 4);
                    }
                }
            }
            _ if s.name == "__stub_helper" => {
                if let Some(name) = self.stub_helper_entry(s, off) {
                    return name;
                }
            }
            // A selector reference means the selector it points at,
            // wherever the linker put the slot (lld and machlink append
            // the slots of `_objc_msgSend$sel` stubs after the inputs').
            _ if s.name == OBJC_SELREFS && depth == 0 => {
                let slot = addr - off % 8;
                if let Some(&t) = self.rebases.get(&slot) {
                    return with_off(format!("selref({})", self.name_depth(t, 1)), off % 8);
                }
            }
            _ => {}
        }
        let list = &self.anchors[si];
        let i = list.partition_point(|(a, _)| *a <= addr);
        if i > 0 {
            let (a, name) = &list[i - 1];
            return with_off(name.clone(), addr - a);
        }
        with_off(s.full(), off)
    }

    /// A stub-helper entry (`push $lazy_bind_offset; jmp helper`) at
    /// `off`, named by the symbol its lazy-bind entry binds.
    fn stub_helper_entry(&self, s: &Section, off: u64) -> Option<String> {
        let bytes = self.img.section_bytes(s).ok()?;
        let imm = match self.img.arch {
            Arch::Arm64 => arm64::stub_helper_entry_offset(bytes, off)?,
            Arch::X86_64 => {
                let entry = bytes.get(off as usize..off as usize + 10)?;
                if entry[0] != 0x68 || entry[5] != 0xe9 {
                    return None;
                }
                u64::from(u32::from_le_bytes(entry[1..5].try_into().ok()?))
            }
        };
        let name = self.lazy.get(&imm).map_or("?", |n| n.as_str());
        Some(format!("stub_helper({name})"))
    }

    fn describe(&self, fix: &Fix) -> String {
        match fix {
            Fix::Rebase(t) => format!("rebase -> {}", self.name(*t)),
            Fix::Bind {
                name,
                dylib,
                addend,
                weak_import,
                lazy,
            } => format!(
                "{}bind {name}{} from {dylib}{}",
                if *lazy { "lazy-" } else { "" },
                addend_text(*addend),
                if *weak_import { " (weak import)" } else { "" }
            ),
            Fix::WeakBind {
                name,
                addend,
                strong_definition,
            } => format!(
                "weak-bind {name}{}{}",
                addend_text(*addend),
                if *strong_definition {
                    " (strong definition)"
                } else {
                    ""
                }
            ),
        }
    }
}

fn addend_text(a: i64) -> String {
    match a {
        0 => String::new(),
        a if a > 0 => format!("+{a:#x}"),
        a => format!("-{:#x}", a.unsigned_abs()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn literal(bytes: &[u8]) -> String {
    let mut s = String::from("cstring(\"");
    for &b in bytes.iter().take(120) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > 120 {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s.push_str("\")");
    s
}

fn version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

// ---------------------------------------------------------------------------
// The facts of one image.

struct Semantics {
    symbols: Facts,
    sections: Facts,
    load_commands: Facts,
    fixups: Facts,
    unwind: Facts,
    code: Facts,
    data: Facts,
}

impl Semantics {
    fn of(img: &Image, path: &Path) -> Result<Self, String> {
        let (raw, lazy) = decode_fixups(img)?;
        let namer = Namer::new(img, &raw, lazy);
        let mut fixups = Facts::new();
        // Pointer words carrying a fixup, for the data category.
        let mut pointers: HashMap<u64, String> = HashMap::new();
        for (addr, fix) in &raw {
            let text = namer.describe(fix);
            if let Fix::WeakBind {
                strong_definition: true,
                name,
                ..
            } = fix
            {
                if *addr == 0 {
                    put(
                        &mut fixups,
                        format!("strong definition of {name}"),
                        "weak-bind",
                    );
                    continue;
                }
            }
            if !matches!(fix, Fix::WeakBind { .. }) {
                pointers.insert(*addr, text.clone());
            }
            put(&mut fixups, namer.name(*addr), text);
        }
        Ok(Semantics {
            symbols: symbols(img, &namer)?,
            sections: sections(img),
            load_commands: load_commands(img, &namer)?,
            fixups,
            unwind: unwind(img, &namer)?,
            code: code(img, &namer, path)?,
            data: data(img, &namer, &pointers)?,
        })
    }
}

fn symbols(img: &Image, namer: &Namer) -> Result<Facts, String> {
    let mut facts = Facts::new();
    for s in &img.symbols {
        if s.is_stab() || is_temporary(&s.name) {
            continue;
        }
        let mut v = match s.n_type & 0x0e {
            0x0 => format!(
                "undefined from {}",
                img.dylib(i64::from((s.n_desc >> 8) as u8 as i8))
            ),
            0x2 => format!("absolute {:#x}", s.value),
            0xe => {
                let sec = img
                    .sections
                    .get((s.n_sect as usize).wrapping_sub(1))
                    .map_or_else(|| format!("section #{}", s.n_sect), |x| x.full());
                format!("defined in {sec}")
            }
            0xa => "indirect".to_string(),
            t => format!("n_type {t:#x}"),
        };
        if s.n_type & 0x01 != 0 {
            v.push_str(", external");
        }
        if s.n_type & 0x10 != 0 {
            v.push_str(", private-extern");
        }
        for (bit, what) in [
            (0x40u16, "weak-ref"),
            (0x80, "weak-def"),
            (0x20, "no-dead-strip"),
            (0x10, "referenced-dynamically"),
            (0x200, "alt-entry"),
        ] {
            // For undefined symbols 0x80 is N_REF_TO_WEAK; 0x20/0x10 mean
            // nothing in a linked image's undefined entries.
            if s.n_desc & bit != 0 && (s.n_type & 0x0e != 0 || bit == 0x40 || bit == 0x80) {
                v.push_str(", ");
                v.push_str(what);
            }
        }
        put(&mut facts, s.name.clone(), v);
    }
    // Exports trie.
    let trie = if let Some(lc) = img.command(LC_DYLD_EXPORTS_TRIE) {
        Some(linkedit(img.data, lc)?)
    } else if let Some(lc) = img
        .command(LC_DYLD_INFO_ONLY)
        .or_else(|| img.command(LC_DYLD_INFO))
    {
        let b = Buf(lc.body);
        Some(img.data.bytes(b.u32(40)? as usize, b.u32(44)? as usize)?)
    } else {
        None
    };
    if let Some(trie) = trie {
        let mut exports = Vec::new();
        walk_trie(trie, 0, String::new(), &mut exports, 0)?;
        for (name, flags, value) in exports {
            let kind = match flags & 3 {
                0 => format!("at {}", namer.name(img.base + value)),
                1 => format!("thread-local at {}", namer.name(img.base + value)),
                _ => format!("absolute {value:#x}"),
            };
            let mut v = kind;
            if flags & 4 != 0 {
                v.push_str(", weak-def");
            }
            if flags & 8 != 0 {
                v.push_str(", re-export");
            }
            put(&mut facts, format!("export {name}"), v);
        }
    }
    Ok(facts)
}

fn walk_trie(
    trie: &[u8],
    node: usize,
    prefix: String,
    out: &mut Vec<(String, u64, u64)>,
    depth: u32,
) -> Result<(), String> {
    if depth > 512 || node >= trie.len() {
        return Err(format!("export trie node at {node:#x} is bad"));
    }
    let mut c = Cursor {
        data: trie,
        pos: node,
    };
    let info = c.uleb()? as usize;
    let children = c.pos + info;
    if info > 0 {
        let flags = c.uleb()?;
        // A re-export carries a dylib ordinal and a name, not an address.
        let value = c.uleb()?;
        if flags & 8 != 0 {
            c.cstr()?;
        }
        out.push((prefix.clone(), flags, value));
    }
    c.pos = children;
    let count = c.u8()?;
    for _ in 0..count {
        let edge = c.cstr()?;
        let child = c.uleb()? as usize;
        walk_trie(trie, child, format!("{prefix}{edge}"), out, depth + 1)?;
    }
    Ok(())
}

fn section_type_name(kind: u32) -> String {
    let names = [
        "S_REGULAR",
        "S_ZEROFILL",
        "S_CSTRING_LITERALS",
        "S_4BYTE_LITERALS",
        "S_8BYTE_LITERALS",
        "S_LITERAL_POINTERS",
        "S_NON_LAZY_SYMBOL_POINTERS",
        "S_LAZY_SYMBOL_POINTERS",
        "S_SYMBOL_STUBS",
        "S_MOD_INIT_FUNC_POINTERS",
        "S_MOD_TERM_FUNC_POINTERS",
        "S_COALESCED",
        "S_GB_ZEROFILL",
        "S_INTERPOSING",
        "S_16BYTE_LITERALS",
        "S_DTRACE_DOF",
        "S_LAZY_DYLIB_SYMBOL_POINTERS",
        "S_THREAD_LOCAL_REGULAR",
        "S_THREAD_LOCAL_ZEROFILL",
        "S_THREAD_LOCAL_VARIABLES",
        "S_THREAD_LOCAL_VARIABLE_POINTERS",
        "S_THREAD_LOCAL_INIT_FUNCTION_POINTERS",
        "S_INIT_FUNC_OFFSETS",
    ];
    names
        .get(kind as usize)
        .map_or_else(|| format!("type {kind:#x}"), |n| n.to_string())
}

fn sections(img: &Image) -> Facts {
    let mut facts = Facts::new();
    // One fact per field, so an allowlist rule can accept one field.
    for s in &img.sections {
        let name = s.full();
        put(&mut facts, format!("{name} size"), format!("{:#x}", s.size));
        let mut v = format!(
            "{}, attributes {:#x}",
            section_type_name(s.kind()),
            s.flags & 0xffff_ff00
        );
        if s.kind() == S_SYMBOL_STUBS {
            v.push_str(&format!(", stub size {}", s.reserved2));
        }
        put(&mut facts, format!("{name} flags"), v);
        put(
            &mut facts,
            format!("{name} align"),
            format!("2^{}", s.align),
        );
    }
    facts
}

fn prot(p: u32) -> String {
    let bit = |b: u32, c: char| if p & b != 0 { c } else { '-' };
    [bit(1, 'r'), bit(2, 'w'), bit(4, 'x')].iter().collect()
}

/// The mach header's flags by name (what dyld reads from them: the
/// namespace, PIE, weak-definition coalescing, thread-locals, ...).
fn header_flags(flags: u32) -> String {
    const NAMES: &[(u32, &str)] = &[
        (0x1, "MH_NOUNDEFS"),
        (0x4, "MH_DYLDLINK"),
        (0x8, "MH_BINDATLOAD"),
        (0x80, "MH_TWOLEVEL"),
        (0x8000, "MH_WEAK_DEFINES"),
        (0x1_0000, "MH_BINDS_TO_WEAK"),
        (0x20_0000, "MH_PIE"),
        (0x40_0000, "MH_DEAD_STRIPPABLE_DYLIB"),
        (0x80_0000, "MH_HAS_TLV_DESCRIPTORS"),
        (0x10_0000, "MH_NO_REEXPORTED_DYLIBS"),
        (0x200_0000, "MH_APP_EXTENSION_SAFE"),
    ];
    let mut names: Vec<String> = NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = NAMES.iter().fold(flags, |f, (bit, _)| f & !bit);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join(" ")
}

fn load_commands(img: &Image, namer: &Namer) -> Result<Facts, String> {
    let mut facts = Facts::new();
    put(
        &mut facts,
        "mach header flags",
        header_flags(img.data.u32(24)?),
    );
    // The CPU the image is for, with the subtype's capability bits
    // (CPU_SUBTYPE_LIB64 in an x86_64 executable).
    put(
        &mut facts,
        "mach header cpu",
        format!(
            "cputype {:#x} cpusubtype {:#x}",
            img.data.u32(4)?,
            img.data.u32(8)?
        ),
    );
    let mut ordinal = 0;
    for lc in &img.commands {
        let b = Buf(lc.body);
        let _ = lc.at;
        match lc.cmd {
            LC_SEGMENT_64 => {
                let name = b.name16(8)?;
                let seg = img.segments.iter().find(|s| s.name == name);
                let v = seg.map_or_else(String::new, |s| {
                    format!(
                        "maxprot {} initprot {} flags {:#x}",
                        prot(s.maxprot),
                        prot(s.initprot),
                        s.flags
                    )
                });
                put(&mut facts, format!("LC_SEGMENT_64 {name}"), v);
            }
            LC_LOAD_DYLIB | LC_LOAD_WEAK_DYLIB | LC_REEXPORT_DYLIB | LC_LAZY_LOAD_DYLIB
            | LC_LOAD_UPWARD_DYLIB | LC_ID_DYLIB => {
                let kind = match lc.cmd {
                    LC_LOAD_DYLIB => "LC_LOAD_DYLIB",
                    LC_LOAD_WEAK_DYLIB => "LC_LOAD_WEAK_DYLIB",
                    LC_REEXPORT_DYLIB => "LC_REEXPORT_DYLIB",
                    LC_LAZY_LOAD_DYLIB => "LC_LAZY_LOAD_DYLIB",
                    LC_LOAD_UPWARD_DYLIB => "LC_LOAD_UPWARD_DYLIB",
                    _ => "LC_ID_DYLIB",
                };
                let mut v = format!(
                    "current {} compatibility {}",
                    version(b.u32(16)?),
                    version(b.u32(20)?)
                );
                if lc.cmd != LC_ID_DYLIB {
                    ordinal += 1;
                    v.push_str(&format!(", ordinal {ordinal}"));
                }
                put(
                    &mut facts,
                    format!("{kind} {}", b.cstr(b.u32(8)? as usize)?),
                    v,
                );
            }
            LC_LOAD_DYLINKER => put(&mut facts, "LC_LOAD_DYLINKER", b.cstr(b.u32(8)? as usize)?),
            LC_RPATH => put(
                &mut facts,
                format!("LC_RPATH {}", b.cstr(b.u32(8)? as usize)?),
                "",
            ),
            LC_BUILD_VERSION => {
                let platform = match b.u32(8)? {
                    1 => "macos".to_string(),
                    p => format!("platform {p}"),
                };
                put(
                    &mut facts,
                    "LC_BUILD_VERSION",
                    format!(
                        "{platform} minos {} sdk {}",
                        version(b.u32(12)?),
                        version(b.u32(16)?)
                    ),
                );
            }
            LC_SOURCE_VERSION => put(&mut facts, "LC_SOURCE_VERSION", format!("{:#x}", b.u64(8)?)),
            LC_MAIN => put(
                &mut facts,
                "LC_MAIN",
                format!(
                    "entry {}, stack size {:#x}",
                    namer.name(img.base + b.u64(8)?),
                    b.u64(16)?
                ),
            ),
            LC_FUNCTION_STARTS => {
                put(&mut facts, "LC_FUNCTION_STARTS", "present");
                let mut c = Cursor {
                    data: linkedit(img.data, lc)?,
                    pos: 0,
                };
                let mut addr = img.base;
                while !c.done() {
                    let delta = c.uleb()?;
                    if delta == 0 {
                        break;
                    }
                    addr += delta;
                    put(
                        &mut facts,
                        format!("function start {}", namer.name(addr)),
                        "listed",
                    );
                }
            }
            LC_DATA_IN_CODE => {
                put(&mut facts, "LC_DATA_IN_CODE", "present");
                let entries = linkedit(img.data, lc)?;
                let e = Buf(entries);
                for i in 0..entries.len() / 8 {
                    let off = u64::from(e.u32(i * 8)?);
                    put(
                        &mut facts,
                        format!("data in code at {}", namer.name(img.base + off)),
                        format!("length {} kind {}", e.u16(i * 8 + 4)?, e.u16(i * 8 + 6)?),
                    );
                }
            }
            cmd => {
                let name = match cmd {
                    LC_SYMTAB => "LC_SYMTAB".to_string(),
                    LC_DYSYMTAB => "LC_DYSYMTAB".into(),
                    LC_UUID => "LC_UUID".into(),
                    LC_CODE_SIGNATURE => "LC_CODE_SIGNATURE".into(),
                    LC_DYLD_INFO => "LC_DYLD_INFO (classic fixups)".into(),
                    LC_DYLD_INFO_ONLY => "LC_DYLD_INFO_ONLY (classic fixups)".into(),
                    LC_DYLD_EXPORTS_TRIE => "LC_DYLD_EXPORTS_TRIE".into(),
                    LC_DYLD_CHAINED_FIXUPS => "LC_DYLD_CHAINED_FIXUPS (chained fixups)".into(),
                    c => format!("load command {c:#x}"),
                };
                put(&mut facts, name, "present");
            }
        }
    }
    Ok(facts)
}

// ---------------------------------------------------------------------------
// Unwind.

fn function_starts(img: &Image, namer: &Namer) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (i, s) in img.sections.iter().enumerate() {
        if s.flags & S_ATTR_PURE_INSTRUCTIONS == 0 || s.kind() == S_SYMBOL_STUBS {
            continue;
        }
        out.extend(namer.anchors[i].iter().cloned());
    }
    out
}

/// pc_begin of every FDE in `__eh_frame`, by the FDE's offset.
fn eh_frame_fdes(img: &Image) -> Result<BTreeMap<u64, u64>, String> {
    let mut out = BTreeMap::new();
    let Some(s) = img.sections.iter().find(|s| s.name == "__eh_frame") else {
        return Ok(out);
    };
    let bytes = img.section_bytes(s)?;
    let b = Buf(bytes);
    let mut cie_encodings: HashMap<usize, u8> = HashMap::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let len = b.u32(at)? as usize;
        if len == 0 || len == 0xffff_ffff {
            break;
        }
        let id = b.u32(at + 4)? as usize;
        if id == 0 {
            cie_encodings.insert(at, cie_fde_encoding(bytes, at)?);
        } else {
            let cie = (at + 4)
                .checked_sub(id)
                .ok_or("FDE points before __eh_frame")?;
            let enc = *cie_encodings.get(&cie).unwrap_or(&0x1b);
            let field = at + 8;
            let value = match enc & 0x0f {
                0x0b => i64::from(b.u32(field)? as i32),
                0x03 => i64::from(b.u32(field)?),
                _ => b.u64(field)? as i64,
            };
            let pc = if enc & 0x70 == 0x10 {
                (s.addr + field as u64).wrapping_add(value as u64)
            } else {
                value as u64
            };
            out.insert(at as u64, pc);
        }
        at += 4 + len;
    }
    Ok(out)
}

fn cie_fde_encoding(bytes: &[u8], at: usize) -> Result<u8, String> {
    let mut c = Cursor {
        data: bytes,
        pos: at + 8,
    };
    let version = c.u8()?;
    let aug = c.cstr()?;
    c.uleb()?;
    c.sleb()?;
    if version == 1 {
        c.u8()?;
    } else {
        c.uleb()?;
    }
    if !aug.starts_with('z') {
        return Ok(0);
    }
    c.uleb()?;
    for ch in aug.chars().skip(1) {
        match ch {
            'R' => return c.u8(),
            'L' => {
                c.u8()?;
            }
            'P' => {
                let enc = c.u8()?;
                let size = match enc & 0x0f {
                    0x02 | 0x0a => 2,
                    0x03 | 0x0b => 4,
                    _ => 8,
                };
                c.pos += size;
            }
            _ => break,
        }
    }
    Ok(0)
}

fn unwind(img: &Image, namer: &Namer) -> Result<Facts, String> {
    let mut facts = Facts::new();
    let fdes = eh_frame_fdes(img)?;
    for pc in fdes.values() {
        put(
            &mut facts,
            format!("eh_frame FDE for {}", namer.name(*pc)),
            "present",
        );
    }
    let Some(s) = img.sections.iter().find(|s| s.name == "__unwind_info") else {
        return Ok(facts);
    };
    let b = Buf(img.section_bytes(s)?);
    let common_off = b.u32(4)? as usize;
    let common_count = b.u32(8)? as usize;
    let pers_off = b.u32(12)? as usize;
    let pers_count = b.u32(16)? as usize;
    let index_off = b.u32(20)? as usize;
    let index_count = b.u32(24)? as usize;
    let common: Vec<u32> = (0..common_count)
        .map(|i| b.u32(common_off + i * 4))
        .collect::<Result<_, _>>()?;
    let personalities: Vec<u32> = (0..pers_count)
        .map(|i| b.u32(pers_off + i * 4))
        .collect::<Result<_, _>>()?;
    // (function offset, encoding) rows, and LSDAs by function offset.
    let mut rows: Vec<(u64, u32)> = Vec::new();
    let mut lsdas: HashMap<u64, u64> = HashMap::new();
    let mut end = 0u64;
    for i in 0..index_count {
        let e = index_off + i * 12;
        let func = u64::from(b.u32(e)?);
        let page = b.u32(e + 4)? as usize;
        let lsda_start = b.u32(e + 8)? as usize;
        if i + 1 == index_count {
            end = func;
            break;
        }
        let lsda_end = b.u32(e + 12 + 8)? as usize;
        for l in (lsda_start..lsda_end).step_by(8) {
            lsdas.insert(u64::from(b.u32(l)?), u64::from(b.u32(l + 4)?));
        }
        if page == 0 {
            continue;
        }
        match b.u32(page)? {
            2 => {
                let entries = page + b.u16(page + 4)? as usize;
                for k in 0..b.u16(page + 6)? as usize {
                    rows.push((
                        u64::from(b.u32(entries + k * 8)?),
                        b.u32(entries + k * 8 + 4)?,
                    ));
                }
            }
            3 => {
                let entries = page + b.u16(page + 4)? as usize;
                let count = b.u16(page + 6)? as usize;
                let encodings = page + b.u16(page + 8)? as usize;
                let enc_count = b.u16(page + 10)? as usize;
                for k in 0..count {
                    let v = b.u32(entries + k * 4)?;
                    let idx = (v >> 24) as usize;
                    let enc = if idx < common.len() {
                        common[idx]
                    } else if idx - common.len() < enc_count {
                        b.u32(encodings + (idx - common.len()) * 4)?
                    } else {
                        return Err(format!("unwind page entry uses encoding {idx}"));
                    };
                    rows.push((func + u64::from(v & 0xff_ffff), enc));
                }
            }
            k => return Err(format!("unknown unwind second-level page kind {k}")),
        }
    }
    rows.sort_by_key(|r| r.0);
    for (addr, name) in function_starts(img, namer) {
        let off = addr - img.base;
        let i = rows.partition_point(|r| r.0 <= off);
        let value = if i == 0 || off >= end {
            "no unwind entry".to_string()
        } else {
            let enc = rows[i - 1].1;
            let mut v = match enc & 0x0f00_0000 {
                mode if mode == img.arch.dwarf_mode() => {
                    let fde = u64::from(enc & 0xff_ffff);
                    let target = fdes
                        .get(&fde)
                        .map_or_else(|| format!("no FDE at {fde:#x}"), |pc| namer.name(*pc));
                    format!("DWARF, FDE of {target}")
                }
                _ => format!("encoding {:#010x}", enc & !0x3000_0000),
            };
            let p = ((enc >> 28) & 3) as usize;
            if p > 0 {
                let slot = personalities
                    .get(p - 1)
                    .map_or_else(|| "?".to_string(), |o| namer.name(img.base + u64::from(*o)));
                v.push_str(&format!(", personality {slot}"));
            }
            if let Some(l) = lsdas.get(&off) {
                v.push_str(&format!(", LSDA {}", namer.name(img.base + l)));
            }
            v
        };
        put(&mut facts, name, value);
    }
    Ok(facts)
}

// ---------------------------------------------------------------------------
// Code.

fn is_padding(ins: &str) -> bool {
    ins.starts_with("nop")
        || ins == "int3"
        || ins.starts_with("addb\t%al, (%rax)")
        || ins.starts_with("udf\t#0x0")
}

/// Renames a branch target or RIP-relative operand of one instruction
/// (`text` as objdump prints it, comment removed) at `addr`, whose next
/// instruction starts at `next`.
fn normalize(text: &str, next: u64, namer: &Namer) -> String {
    let text = text.split("##").next().unwrap_or("").trim_end();
    let (mnemonic, operands) = text.split_once('\t').unwrap_or((text, ""));
    if let Some(at) = operands.find("(%rip)") {
        let head = &operands[..at];
        let start = head
            .rfind(|c: char| !(c.is_ascii_hexdigit() || c == 'x' || c == '-'))
            .map_or(0, |p| p + 1);
        let disp = &head[start..];
        let value = if disp.is_empty() {
            Some(0)
        } else {
            let (neg, digits) = disp.strip_prefix('-').map_or((false, disp), |d| (true, d));
            digits
                .strip_prefix("0x")
                .and_then(|h| i64::from_str_radix(h, 16).ok())
                .map(|v| if neg { -v } else { v })
        };
        if let Some(v) = value {
            let target = next.wrapping_add(v as u64);
            let name = namer.name(target);
            // A load of a local definition's address from the GOT means the
            // same as ld64's relaxed form, `leaq sym(%rip)`.
            if let (Some(local), "movq", "") = (
                name.strip_prefix("got(local ")
                    .and_then(|n| n.strip_suffix(')')),
                mnemonic,
                &operands[..start],
            ) {
                return format!("leaq\t[{local}]{}", &operands[at..]);
            }
            return format!(
                "{mnemonic}\t{}[{}]{}",
                &operands[..start],
                namer.name(target),
                &operands[at..]
            );
        }
    }
    let is_branch = mnemonic.starts_with('j')
        || mnemonic.starts_with("call")
        || mnemonic.starts_with("loop")
        || mnemonic.starts_with("xbegin");
    if is_branch {
        if let Some(h) = operands.strip_prefix("0x") {
            if let Ok(target) = u64::from_str_radix(h, 16) {
                return format!("{mnemonic}\t{}", namer.name(target));
            }
        }
    }
    text.to_string()
}

fn code(img: &Image, namer: &Namer, path: &Path) -> Result<Facts, String> {
    let mut facts = Facts::new();
    // Stubs: decoded here.
    for s in &img.sections {
        if s.kind() != S_SYMBOL_STUBS || s.reserved2 == 0 {
            continue;
        }
        let bytes = img.section_bytes(s)?;
        for (i, stub) in bytes.chunks(s.reserved2 as usize).enumerate() {
            let addr = s.addr + (i as u64) * u64::from(s.reserved2);
            let text = if img.arch == Arch::Arm64 {
                arm64::stub_text(stub, addr, namer)
            } else if stub.len() == 6 && stub[0] == 0xff && stub[1] == 0x25 {
                let disp = i32::from_le_bytes(stub[2..6].try_into().unwrap());
                format!(
                    "jmpq\t*[{}](%rip)",
                    namer.name((addr + 6).wrapping_add(disp as u64))
                )
            } else {
                format!("bytes {}", hex(stub))
            };
            put(&mut facts, namer.name(addr), text);
        }
    }
    if let Some(s) = img.sections.iter().find(|s| s.name == "__stub_helper") {
        match img.arch {
            Arch::X86_64 => stub_helper(img, s, namer, &mut facts)?,
            Arch::Arm64 => arm64::stub_helper(img, s, namer, &mut facts)?,
        }
    }
    let code_sections: Vec<&Section> = img
        .sections
        .iter()
        .filter(|s| {
            s.is_code() && s.kind() != S_SYMBOL_STUBS && s.name != "__stub_helper" && s.size > 0
        })
        .collect();
    if code_sections.is_empty() {
        return Ok(facts);
    }
    let objdump = crate::require_tool("llvm-objdump-19");
    let mut listing = String::new();
    for s in &code_sections {
        let mut cmd = Command::new(&objdump);
        if s.seg == "__TEXT" && s.name == "__text" {
            // --macho honours LC_DATA_IN_CODE.
            cmd.args(["--macho", "-d"]);
        } else {
            cmd.args(["-D", "-j", &s.name]);
        }
        let out = cmd
            .args(["--no-show-raw-insn", "--no-symbolic-operands"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", objdump.display()))?;
        if !out.status.success() {
            return Err(format!(
                "llvm-objdump-19 failed on {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        listing.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    let mut insns: Vec<(u64, String)> = Vec::new();
    for line in listing.lines() {
        let line = line.trim_start();
        let Some((addr, rest)) = line.split_once(':') else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let rest = rest.trim();
        if rest.is_empty() || !code_sections.iter().any(|s| s.contains(addr)) {
            continue;
        }
        insns.push((addr, rest.to_string()));
    }
    insns.sort_by_key(|i| i.0);
    insns.dedup_by_key(|i| i.0);
    // (address, the next instruction's address, objdump's text).
    type Body = (String, u64, Vec<(u64, u64, String)>);
    let mut functions: BTreeMap<(usize, u64), Body> = BTreeMap::new();
    for (k, (addr, text)) in insns.iter().enumerate() {
        let Some(si) = namer.section_of(*addr) else {
            continue;
        };
        let s = &img.sections[si];
        let next = insns
            .get(k + 1)
            .map(|n| n.0)
            .filter(|n| s.contains(*n))
            .unwrap_or(s.addr + s.size);
        let list = &namer.anchors[si];
        let i = list.partition_point(|(a, _)| *a <= *addr);
        let (start, name) = if i > 0 {
            list[i - 1].clone()
        } else {
            (s.addr, s.full())
        };
        let end = list.get(i).map_or(s.addr + s.size, |a| a.0);
        functions
            .entry((si, start))
            .or_insert_with(|| (name, end, Vec::new()))
            .2
            .push((*addr, next, text.clone()));
    }
    for ((si, _), (name, end, mut body)) in functions {
        // Trailing alignment padding: nops, int3, or zero bytes (which
        // objdump may decode as instructions running into the next symbol).
        let bytes = img.section_bytes(&img.sections[si])?;
        let base = img.sections[si].addr;
        let zeros = |from: u64| {
            let (a, b) = ((from - base) as usize, (end.saturating_sub(base)) as usize);
            bytes.get(a..b).is_some_and(|r| r.iter().all(|&x| x == 0))
        };
        while body
            .last()
            .is_some_and(|(a, _, l)| is_padding(l) || zeros(*a))
        {
            body.pop();
        }
        let text: Vec<String> = match img.arch {
            Arch::X86_64 => body
                .into_iter()
                .map(|(_, next, t)| normalize(&t, next, namer))
                .collect(),
            Arch::Arm64 => {
                let listed: Vec<(u64, String)> = body.into_iter().map(|(a, _, t)| (a, t)).collect();
                arm64::normalize_body(&listed, namer)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect()
            }
        };
        put(&mut facts, name, text.join("\n"));
    }
    Ok(facts)
}

/// `__stub_helper`: its header (`lea dyld_private(%rip), %r11; push %r11;
/// jmp *binder`) and its entries (`push $lazy_bind_offset; jmp header`),
/// each named by the symbol its lazy-bind entry binds.
fn stub_helper(img: &Image, s: &Section, namer: &Namer, facts: &mut Facts) -> Result<(), String> {
    let bytes = img.section_bytes(s)?;
    let rel = |at: usize, len: usize| -> Option<String> {
        let d = i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        Some(namer.name((s.addr + (at + 4 + len) as u64).wrapping_add(d as u64)))
    };
    let header = match (bytes.get(0..3), bytes.get(7..11)) {
        (Some([0x4c, 0x8d, 0x1d]), Some([0x41, 0x53, 0xff, 0x25])) => format!(
            "leaq [{}](%rip), %r11; pushq %r11; jmpq *[{}](%rip)",
            rel(3, 0).unwrap_or_default(),
            rel(11, 0).unwrap_or_default()
        ),
        _ => format!("bytes {}", hex(&bytes[..bytes.len().min(16)])),
    };
    put(facts, "__stub_helper header", header);
    let mut off = 16;
    while off + 10 <= bytes.len() {
        let text = match namer.stub_helper_entry(s, off as u64) {
            Some(_) => format!(
                "pushq lazy-bind entry; jmp {}",
                rel(off + 6, 0).unwrap_or_default()
            ),
            None => format!("bytes {}", hex(&bytes[off..off + 10])),
        };
        put(facts, namer.name(s.addr + off as u64), text);
        off += 10;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Data.

fn data(img: &Image, namer: &Namer, pointers: &HashMap<u64, String>) -> Result<Facts, String> {
    let mut facts = Facts::new();
    for (si, s) in img.sections.iter().enumerate() {
        if s.is_zerofill()
            || s.is_code()
            || s.name == "__unwind_info"
            || s.name == "__eh_frame"
            || matches!(
                s.kind(),
                S_NON_LAZY_SYMBOL_POINTERS
                    | S_LAZY_SYMBOL_POINTERS
                    | S_SYMBOL_STUBS
                    | S_THREAD_LOCAL_VARIABLE_POINTERS
            )
        {
            continue;
        }
        let bytes = img.section_bytes(s)?;
        match s.kind() {
            S_CSTRING_LITERALS => {
                let section =
                    if s.seg == "__TEXT" && OBJC_CSTRING_SECTIONS.contains(&s.name.as_str()) {
                        "__TEXT,__cstring".to_string()
                    } else {
                        s.full()
                    };
                for piece in bytes.split_inclusive(|&b| b == 0) {
                    let text = piece.strip_suffix(&[0]).unwrap_or(piece);
                    if piece.len() == 1 && text.is_empty() && s.size > 0 {
                        // Alignment padding between strings, or "".
                        put(
                            &mut facts,
                            format!("{section} empty string or padding"),
                            "1",
                        );
                        continue;
                    }
                    put(
                        &mut facts,
                        format!("{section} {}", literal(text)),
                        "present",
                    );
                }
                continue;
            }
            S_MOD_INIT_FUNC_POINTERS => {
                let list: Vec<String> = (0..s.size / 8)
                    .map(|i| {
                        pointers
                            .get(&(s.addr + i * 8))
                            .cloned()
                            .unwrap_or_else(|| "no fixup".into())
                    })
                    .map(|p| p.strip_prefix("rebase -> ").unwrap_or(&p).to_string())
                    .collect();
                put(&mut facts, "initializers", list.join(", "));
                continue;
            }
            S_INIT_FUNC_OFFSETS => {
                let b = Buf(bytes);
                let list: Vec<String> = (0..bytes.len() / 4)
                    .map(|i| b.u32(i * 4).map(|o| namer.name(img.base + u64::from(o))))
                    .collect::<Result<_, _>>()?;
                put(&mut facts, "initializers", list.join(", "));
                continue;
            }
            // Selector references: the multiset of selectors they name,
            // in whatever order the linker placed them.
            _ if s.name == OBJC_SELREFS => {
                for slot in (s.addr..s.addr + s.size).step_by(8) {
                    let what = pointers
                        .get(&slot)
                        .map_or_else(|| "no fixup".to_string(), |p| p.clone());
                    put(&mut facts, s.full(), what);
                }
                continue;
            }
            _ if is_literal_pool(s) => {
                for v in bytes.chunks(4) {
                    put(
                        &mut facts,
                        format!("literal pool chunk {}", hex(v)),
                        "present",
                    );
                }
                continue;
            }
            _ => {}
        }
        let mut bounds: Vec<(u64, String)> = namer.anchors[si].clone();
        if bounds.first().is_none_or(|b| b.0 > s.addr) {
            bounds.insert(0, (s.addr, s.full()));
        }
        for (k, (start, name)) in bounds.iter().enumerate() {
            let end = bounds.get(k + 1).map_or(s.addr + s.size, |b| b.0);
            let mut items: Vec<String> = Vec::new();
            let mut addr = *start;
            while addr < end {
                if let Some(p) = pointers.get(&addr) {
                    items.push(format!("[{p}]"));
                    addr += 8;
                    continue;
                }
                let at = (addr - s.addr) as usize;
                items.push(format!("{:02x}", bytes.get(at).copied().unwrap_or(0)));
                addr += 1;
            }
            while items.last().is_some_and(|i| i == "00") {
                items.pop();
            }
            // Sixteen items a line, so a difference names its offset.
            let lines: Vec<String> = items
                .chunks(16)
                .enumerate()
                .map(|(i, c)| format!("+{:#x}: {}", i * 16, c.join(" ")))
                .collect();
            put(&mut facts, name.clone(), lines.join("\n"));
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("a*c", "abbc"));
        assert!(glob("__TEXT,__unwind_info", "__TEXT,__unwind_info"));
        assert!(!glob("a*c", "abbd"));
        assert!(glob("*x*y*", "0x1y2"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn leb128() {
        let mut c = Cursor {
            data: &[0xe5, 0x8e, 0x26, 0x7f],
            pos: 0,
        };
        assert_eq!(c.uleb().unwrap(), 624485);
        assert_eq!(c.sleb().unwrap(), -1);
        assert!(c.done());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(Image::parse(&[]).is_err());
        assert!(Image::parse(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]).is_err());
        let mut header = vec![0u8; 32];
        header[..4].copy_from_slice(&0xfeed_facfu32.to_le_bytes());
        header[4..8].copy_from_slice(&0x0100_0007u32.to_le_bytes());
        header[16..20].copy_from_slice(&5u32.to_le_bytes());
        assert!(Image::parse(&header).is_err());
    }
}
