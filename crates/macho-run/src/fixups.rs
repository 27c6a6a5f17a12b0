//! Decoding dyld fixups into one plan: the pointer slots to rebase and the
//! slots to bind to imported symbols.
//!
//! Both encodings are read from the file, before anything is mapped:
//! LC_DYLD_CHAINED_FIXUPS (pointer chains threaded through the data pages)
//! and LC_DYLD_INFO's rebase / bind / weak-bind / lazy-bind opcode streams.
//! Every slot is checked to lie in a segment's file-backed range, so a bad
//! chain or opcode is an error naming its offset rather than a wild write.

use crate::error::LoadError;
use crate::macho::{FileRange, Image};
use object::macho;
use std::collections::HashMap;

/// A symbol the image imports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The Mach-O symbol name, with its leading underscore.
    pub name: String,
    /// Dylib ordinal: 1-based index into LC_LOAD_DYLIBs, or one of the
    /// special values 0 (self), -1 (main executable), -2 (flat lookup),
    /// -3 (weak lookup).
    pub lib_ordinal: i32,
    /// A weak import may stay unbound: its slots then hold 0.
    pub weak: bool,
    /// Added to the symbol's address (chained import formats with addends).
    pub addend: i64,
}

/// What to store into one pointer slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Store the unslid address `target` plus the slide, with `high8` as the
    /// pointer's top byte.
    Rebase { target: u64, high8: u8 },
    /// Store the address of `imports[import]` plus `addend`.
    Bind { import: u32, addend: i64 },
}

/// One pointer slot and what goes into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup {
    /// Unslid address of the 8-byte slot.
    pub vmaddr: u64,
    pub action: Action,
}

/// All fixups of an image.
#[derive(Debug, Default)]
pub struct Plan {
    pub imports: Vec<Import>,
    pub fixups: Vec<Fixup>,
    /// Classic lazy binds: (offset of the record in the lazy bind stream,
    /// index in `fixups`). The stub helper pushes that offset for
    /// dyld_stub_binder.
    pub lazy: Vec<(u32, usize)>,
    /// Classic weak binds: slots that take the coalesced definition of a
    /// weak symbol (the first strong one in load order, else the first
    /// weak one), when some image defines it.
    pub weak_binds: Vec<WeakBind>,
}

/// One slot of the weak bind stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeakBind {
    pub name: String,
    /// Unslid address of the 8-byte slot.
    pub vmaddr: u64,
    pub addend: i64,
}

/// Decodes whichever fixup encoding the image carries (none is fine: a
/// static, non-PIE image needs no fixups).
pub fn plan(image: &Image) -> Result<Plan, LoadError> {
    let mut plan = Plan::default();
    if let Some(range) = image.chained_fixups {
        Chained::new(image, range)?.decode(&mut plan)?;
    }
    if let Some(info) = image.dyld_info {
        let mut imports = ImportTable::default();
        rebase_opcodes(image, info.rebase, &mut plan)?;
        bind_opcodes(
            image,
            info.bind,
            BindStream::Regular,
            &mut imports,
            &mut plan,
        )?;
        bind_opcodes(
            image,
            info.lazy_bind,
            BindStream::Lazy,
            &mut imports,
            &mut plan,
        )?;
        // Weak binds coalesce weak definitions across images: applied
        // after the other fixups, where some image defines the symbol.
        bind_opcodes(
            image,
            info.weak_bind,
            BindStream::Weak,
            &mut ImportTable::default(),
            &mut plan,
        )?;
        plan.imports.extend(imports.list);
    }
    Ok(plan)
}

/// Little-endian cursor over a LINKEDIT blob that reports file offsets.
struct Cursor<'a> {
    image: &'a Image<'a>,
    bytes: &'a [u8],
    base: u64,
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(image: &'a Image<'a>, range: FileRange, what: &'static str) -> Self {
        Cursor {
            image,
            bytes: image.bytes(range),
            base: range.offset,
            pos: 0,
            what,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn err(&self, what: impl std::fmt::Display) -> LoadError {
        self.image
            .blame
            .at(self.offset(), format!("{}: {what}", self.what))
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn u8(&mut self) -> Result<u8, LoadError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.err("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn uleb(&mut self) -> Result<u64, LoadError> {
        let start = self.offset();
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 && b & 0x7f != 0 {
                return Err(self
                    .image
                    .blame
                    .at(start, format!("{}: ULEB128 overflows 64 bits", self.what)));
            }
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
    }

    fn sleb(&mut self) -> Result<i64, LoadError> {
        let mut value = 0i64;
        let mut shift = 0;
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

    fn cstr(&mut self) -> Result<String, LoadError> {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.err("unterminated symbol name"))?;
        let s = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.pos += len + 1;
        Ok(s)
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Reads the 8 file bytes behind an unslid slot address; `None` when the
/// slot is not inside a segment's file-backed range.
fn slot_in_file(image: &Image, vmaddr: u64) -> Option<u64> {
    let seg = image.segment_at(vmaddr)?;
    let off = vmaddr - seg.vmaddr;
    if off.checked_add(8)? > seg.filesize {
        return None;
    }
    read_u64(image.data, (seg.fileoff + off) as usize)
}

// ---------------------------------------------------------------------------
// LC_DYLD_CHAINED_FIXUPS
// ---------------------------------------------------------------------------

const CHAINED_HEADER_SIZE: usize = 28;
const DYLD_CHAINED_PTR_START_NONE: u16 = 0xFFFF;
const DYLD_CHAINED_PTR_START_MULTI: u16 = 0x8000;
const DYLD_CHAINED_PTR_64: u16 = 2;
const DYLD_CHAINED_PTR_64_OFFSET: u16 = 6;
const DYLD_CHAINED_IMPORT: u32 = 1;
const DYLD_CHAINED_IMPORT_ADDEND: u32 = 2;
const DYLD_CHAINED_IMPORT_ADDEND64: u32 = 3;

struct Chained<'a> {
    image: &'a Image<'a>,
    bytes: &'a [u8],
    base: u64,
}

impl<'a> Chained<'a> {
    fn new(image: &'a Image<'a>, range: FileRange) -> Result<Self, LoadError> {
        let c = Chained {
            image,
            bytes: image.bytes(range),
            base: range.offset,
        };
        if c.bytes.len() < CHAINED_HEADER_SIZE {
            return Err(c.err(0, "header is truncated"));
        }
        Ok(c)
    }

    fn err(&self, at: usize, what: impl std::fmt::Display) -> LoadError {
        self.image
            .blame
            .at(self.base + at as u64, format!("chained fixups: {what}"))
    }

    fn u32(&self, at: usize, what: &str) -> Result<u32, LoadError> {
        read_u32(self.bytes, at).ok_or_else(|| self.err(at, format!("{what} is out of range")))
    }

    fn decode(&self, plan: &mut Plan) -> Result<(), LoadError> {
        let version = self.u32(0, "fixups_version")?;
        if version != 0 {
            return Err(self.err(0, format!("unsupported fixups_version {version}")));
        }
        let starts_offset = self.u32(4, "starts_offset")? as usize;
        let imports_offset = self.u32(8, "imports_offset")? as usize;
        let symbols_offset = self.u32(12, "symbols_offset")? as usize;
        let imports_count = self.u32(16, "imports_count")?;
        let imports_format = self.u32(20, "imports_format")?;
        let symbols_format = self.u32(24, "symbols_format")?;
        if symbols_format != 0 {
            return Err(self.err(24, "compressed (zlib) symbol names are not supported"));
        }
        let first_import = plan.imports.len() as u32;
        for i in 0..imports_count as usize {
            plan.imports
                .push(self.import(imports_offset, symbols_offset, imports_format, i)?);
        }
        let seg_count = self.u32(starts_offset, "starts_in_image")? as usize;
        if seg_count > self.image.segments.len() {
            return Err(self.err(
                starts_offset,
                format!(
                    "starts_in_image lists {seg_count} segments but the image has {}",
                    self.image.segments.len()
                ),
            ));
        }
        for seg in 0..seg_count {
            let info_at = starts_offset + 4 + seg * 4;
            let seg_info = self.u32(info_at, "seg_info_offset")? as usize;
            if seg_info != 0 {
                self.segment_starts(starts_offset + seg_info, imports_count, first_import, plan)?;
            }
        }
        Ok(())
    }

    fn import(
        &self,
        table: usize,
        symbols: usize,
        format: u32,
        i: usize,
    ) -> Result<Import, LoadError> {
        let (lib_ordinal, weak, name_offset, addend, at) = match format {
            DYLD_CHAINED_IMPORT | DYLD_CHAINED_IMPORT_ADDEND => {
                let size = if format == DYLD_CHAINED_IMPORT { 4 } else { 8 };
                let at = table + i * size;
                let raw = self.u32(at, "import entry")?;
                let addend = if format == DYLD_CHAINED_IMPORT_ADDEND {
                    i64::from(self.u32(at + 4, "import addend")? as i32)
                } else {
                    0
                };
                // An 8-bit ordinal: 0xF0..0xFF are the negative special values.
                (
                    i32::from(raw as u8 as i8),
                    raw & 0x100 != 0,
                    raw >> 9,
                    addend,
                    at,
                )
            }
            DYLD_CHAINED_IMPORT_ADDEND64 => {
                let at = table + i * 16;
                let raw = read_u64(self.bytes, at)
                    .ok_or_else(|| self.err(at, "import entry is out of range"))?;
                let addend = read_u64(self.bytes, at + 8)
                    .ok_or_else(|| self.err(at, "import addend is out of range"))?;
                let ordinal = raw as u16;
                let ordinal = if ordinal >= 0xFFF0 {
                    i32::from(ordinal as i16)
                } else {
                    i32::from(ordinal)
                };
                (
                    ordinal,
                    raw & 0x1_0000 != 0,
                    (raw >> 32) as u32,
                    addend as i64,
                    at,
                )
            }
            other => return Err(self.err(20, format!("unsupported imports_format {other}"))),
        };
        let name_at = symbols + name_offset as usize;
        let name = self
            .bytes
            .get(name_at..)
            .and_then(|rest| rest.iter().position(|&b| b == 0).map(|n| &rest[..n]))
            .ok_or_else(|| {
                self.err(
                    at,
                    format!("import #{i} name offset {name_offset:#x} is out of range"),
                )
            })?;
        Ok(Import {
            name: String::from_utf8_lossy(name).into_owned(),
            lib_ordinal,
            weak,
            addend,
        })
    }

    /// Walks the chains of one `dyld_chained_starts_in_segment`.
    fn segment_starts(
        &self,
        at: usize,
        imports: u32,
        first_import: u32,
        plan: &mut Plan,
    ) -> Result<(), LoadError> {
        let page_size = read_u16(self.bytes, at + 4)
            .ok_or_else(|| self.err(at, "starts_in_segment is truncated"))?;
        let format = read_u16(self.bytes, at + 6)
            .ok_or_else(|| self.err(at, "starts_in_segment is truncated"))?;
        let segment_offset = read_u64(self.bytes, at + 8)
            .ok_or_else(|| self.err(at, "starts_in_segment is truncated"))?;
        let page_count = read_u16(self.bytes, at + 20)
            .ok_or_else(|| self.err(at, "starts_in_segment is truncated"))?;
        if format != DYLD_CHAINED_PTR_64 && format != DYLD_CHAINED_PTR_64_OFFSET {
            return Err(self.err(at + 6, format!("unsupported pointer_format {format}")));
        }
        if page_size == 0 {
            return Err(self.err(at + 4, "page_size is 0"));
        }
        let base = self.image.preferred_base();
        for page in 0..usize::from(page_count) {
            let start_at = at + 22 + page * 2;
            let start = read_u16(self.bytes, start_at)
                .ok_or_else(|| self.err(start_at, "page_start is out of range"))?;
            if start == DYLD_CHAINED_PTR_START_NONE {
                continue;
            }
            if start & DYLD_CHAINED_PTR_START_MULTI != 0 {
                return Err(self.err(
                    start_at,
                    "DYLD_CHAINED_PTR_START_MULTI is only valid for 32-bit formats",
                ));
            }
            let mut offset = segment_offset + page as u64 * u64::from(page_size) + u64::from(start);
            // A chain advances at least 4 bytes per link, so a page holds at
            // most page_size / 4 links; more means a cycle-free walk is impossible.
            for _ in 0..=usize::from(page_size) / 4 {
                let vmaddr = base.wrapping_add(offset);
                let raw = slot_in_file(self.image, vmaddr).ok_or_else(|| {
                    self.err(
                        start_at,
                        format!("fixup chain points outside any segment (address {vmaddr:#x}, page {page})"),
                    )
                })?;
                let action = if raw >> 63 != 0 {
                    let ordinal = (raw & 0xFF_FFFF) as u32;
                    if ordinal >= imports {
                        return Err(self.err(
                            start_at,
                            format!("bind at {vmaddr:#x} uses import #{ordinal} of {imports}"),
                        ));
                    }
                    Action::Bind {
                        import: first_import + ordinal,
                        addend: ((raw >> 24) & 0xFF) as i64,
                    }
                } else {
                    let target = raw & 0xF_FFFF_FFFF;
                    let target = if format == DYLD_CHAINED_PTR_64_OFFSET {
                        base + target
                    } else {
                        target
                    };
                    Action::Rebase {
                        target,
                        high8: ((raw >> 36) & 0xFF) as u8,
                    }
                };
                plan.fixups.push(Fixup { vmaddr, action });
                let next = (raw >> 51) & 0xFFF;
                if next == 0 {
                    break;
                }
                offset += next * 4;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// LC_DYLD_INFO opcode streams
// ---------------------------------------------------------------------------

/// Where a slot described by segment index + offset lives, checked.
fn opcode_slot(c: &Cursor, seg_index: usize, seg_offset: u64) -> Result<u64, LoadError> {
    let seg = c
        .image
        .segments
        .get(seg_index)
        .ok_or_else(|| c.err(format!("segment index {seg_index} does not exist")))?;
    // __PAGEZERO is reserved, never mapped: a slot there cannot be written.
    if seg.is_page_zero() {
        return Err(c.err(format!(
            "slot at {}+{seg_offset:#x} lies in a segment that is never mapped",
            seg.name
        )));
    }
    if seg_offset.checked_add(8).is_none_or(|e| e > seg.vmsize) {
        return Err(c.err(format!(
            "slot at {}+{seg_offset:#x} lies outside the segment",
            seg.name
        )));
    }
    Ok(seg.vmaddr + seg_offset)
}

/// Checks that the opcode streams have not described more fixups than an
/// image of this size can have: every slot is a pointer in the file's
/// data, and a slot takes at most a rebase, a bind and a lazy bind. A few
/// opcode bytes can repeat a slot any number of times (`..._ULEB_TIMES`
/// with a skip that wraps back), which would otherwise grow the plan
/// without end. `weak_names` is the bytes of the weak binds' names so far
/// (each keeps its own copy).
fn room_for_fixup(c: &Cursor, plan: &Plan, weak_names: usize) -> Result<(), LoadError> {
    let size = c.image.data.len();
    let limit = size / 8 * 3 + 64;
    let count = plan.fixups.len() + plan.weak_binds.len();
    if count >= limit || weak_names > size.saturating_mul(8) + 4096 {
        return Err(c.err(format!(
            "the opcodes describe more fixups than a {size}-byte file has pointer slots for"
        )));
    }
    Ok(())
}

fn rebase_opcodes(image: &Image, range: FileRange, plan: &mut Plan) -> Result<(), LoadError> {
    let mut c = Cursor::new(image, range, "rebase opcodes");
    let (mut kind, mut seg, mut off) = (0u8, usize::MAX, 0u64);
    let mut rebase = |c: &Cursor, kind: u8, seg: usize, off: u64| -> Result<(), LoadError> {
        if kind != macho::REBASE_TYPE_POINTER {
            return Err(c.err(format!("unsupported rebase type {kind}")));
        }
        let vmaddr = opcode_slot(c, seg, off)?;
        room_for_fixup(c, plan, 0)?;
        let value = slot_in_file(image, vmaddr).unwrap_or(0);
        // The top byte is not part of the address (arm64 libc++ sets bit 63
        // of some type_info name pointers): kept aside, as in a chained word.
        plan.fixups.push(Fixup {
            vmaddr,
            action: Action::Rebase {
                target: value & ((1 << 56) - 1),
                high8: (value >> 56) as u8,
            },
        });
        Ok(())
    };
    while !c.at_end() {
        let byte = c.u8()?;
        let imm = byte & macho::REBASE_IMMEDIATE_MASK;
        match byte & macho::REBASE_OPCODE_MASK {
            macho::REBASE_OPCODE_DONE => break,
            macho::REBASE_OPCODE_SET_TYPE_IMM => kind = imm,
            macho::REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB => {
                seg = usize::from(imm);
                off = c.uleb()?;
            }
            macho::REBASE_OPCODE_ADD_ADDR_ULEB => off = off.wrapping_add(c.uleb()?),
            macho::REBASE_OPCODE_ADD_ADDR_IMM_SCALED => off = off.wrapping_add(u64::from(imm) * 8),
            macho::REBASE_OPCODE_DO_REBASE_IMM_TIMES => {
                for _ in 0..imm {
                    rebase(&c, kind, seg, off)?;
                    off = off.wrapping_add(8);
                }
            }
            macho::REBASE_OPCODE_DO_REBASE_ULEB_TIMES => {
                for _ in 0..c.uleb()? {
                    rebase(&c, kind, seg, off)?;
                    off = off.wrapping_add(8);
                }
            }
            macho::REBASE_OPCODE_DO_REBASE_ADD_ADDR_ULEB => {
                rebase(&c, kind, seg, off)?;
                off = off.wrapping_add(c.uleb()?).wrapping_add(8);
            }
            macho::REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB => {
                let count = c.uleb()?;
                let skip = c.uleb()?;
                for _ in 0..count {
                    rebase(&c, kind, seg, off)?;
                    off = off.wrapping_add(skip).wrapping_add(8);
                }
            }
            other => return Err(c.err(format!("unknown opcode {other:#04x}"))),
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BindStream {
    Regular,
    Lazy,
    Weak,
}

/// Deduplicates classic-bind imports by (name, ordinal, weak, addend).
#[derive(Default)]
struct ImportTable {
    list: Vec<Import>,
    index: HashMap<(String, i32, bool, i64), u32>,
}

impl ImportTable {
    fn intern(&mut self, first: usize, import: Import) -> u32 {
        let key = (
            import.name.clone(),
            import.lib_ordinal,
            import.weak,
            import.addend,
        );
        let next = (first + self.list.len()) as u32;
        *self.index.entry(key).or_insert_with(|| {
            self.list.push(import);
            next
        })
    }
}

/// The registers of the bind opcode interpreter.
struct BindState {
    ordinal: i32,
    name: Option<String>,
    flags: u8,
    kind: u8,
    addend: i64,
    seg: usize,
    off: u64,
    /// Where the current lazy record started (lazy records are independent).
    record_start: usize,
}

fn bind_opcodes(
    image: &Image,
    range: FileRange,
    stream: BindStream,
    imports: &mut ImportTable,
    plan: &mut Plan,
) -> Result<(), LoadError> {
    let what = match stream {
        BindStream::Regular => "bind opcodes",
        BindStream::Lazy => "lazy bind opcodes",
        BindStream::Weak => "weak bind opcodes",
    };
    let mut c = Cursor::new(image, range, what);
    let first = plan.imports.len();
    let mut st = BindState {
        ordinal: 0,
        name: None,
        flags: 0,
        kind: macho::BIND_TYPE_POINTER,
        addend: 0,
        seg: usize::MAX,
        off: 0,
        record_start: 0,
    };
    let mut weak_names = 0usize;
    // Binds the slot the state points at.
    let mut bind = |c: &Cursor, st: &BindState| -> Result<(), LoadError> {
        room_for_fixup(c, plan, weak_names)?;
        let name = st
            .name
            .clone()
            .ok_or_else(|| c.err("bind before any symbol name was set"))?;
        if st.kind != macho::BIND_TYPE_POINTER {
            return Err(c.err(format!("unsupported bind type {}", st.kind)));
        }
        let vmaddr = opcode_slot(c, st.seg, st.off)?;
        if stream == BindStream::Weak {
            weak_names += name.len();
            plan.weak_binds.push(WeakBind {
                name,
                vmaddr,
                addend: st.addend,
            });
            return Ok(());
        }
        let import = imports.intern(
            first,
            Import {
                name,
                lib_ordinal: st.ordinal,
                weak: st.flags & macho::BIND_SYMBOL_FLAGS_WEAK_IMPORT != 0,
                addend: 0,
            },
        );
        if stream == BindStream::Lazy {
            plan.lazy.push((st.record_start as u32, plan.fixups.len()));
        }
        plan.fixups.push(Fixup {
            vmaddr,
            action: Action::Bind {
                import,
                addend: st.addend,
            },
        });
        Ok(())
    };
    while !c.at_end() {
        let byte = c.u8()?;
        let imm = byte & macho::BIND_IMMEDIATE_MASK;
        match byte & macho::BIND_OPCODE_MASK {
            macho::BIND_OPCODE_DONE => {
                // The lazy stream is a sequence of independent records, each
                // closed by DONE; the others end at their first DONE.
                if stream != BindStream::Lazy {
                    break;
                }
                st.record_start = c.pos;
            }
            macho::BIND_OPCODE_SET_DYLIB_ORDINAL_IMM => st.ordinal = i32::from(imm),
            macho::BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB => {
                st.ordinal =
                    i32::try_from(c.uleb()?).map_err(|_| c.err("dylib ordinal too large"))?
            }
            macho::BIND_OPCODE_SET_DYLIB_SPECIAL_IMM => {
                st.ordinal = if imm == 0 {
                    0
                } else {
                    i32::from((imm | 0xF0) as i8)
                }
            }
            macho::BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM => {
                st.flags = imm;
                st.name = Some(c.cstr()?);
            }
            macho::BIND_OPCODE_SET_TYPE_IMM => st.kind = imm,
            macho::BIND_OPCODE_SET_ADDEND_SLEB => st.addend = c.sleb()?,
            macho::BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB => {
                st.seg = usize::from(imm);
                st.off = c.uleb()?;
            }
            macho::BIND_OPCODE_ADD_ADDR_ULEB => st.off = st.off.wrapping_add(c.uleb()?),
            macho::BIND_OPCODE_DO_BIND => {
                bind(&c, &st)?;
                st.off = st.off.wrapping_add(8);
            }
            macho::BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB => {
                bind(&c, &st)?;
                st.off = st.off.wrapping_add(c.uleb()?).wrapping_add(8);
            }
            macho::BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED => {
                bind(&c, &st)?;
                st.off = st.off.wrapping_add(u64::from(imm) * 8 + 8);
            }
            macho::BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB => {
                let count = c.uleb()?;
                let skip = c.uleb()?;
                for _ in 0..count {
                    bind(&c, &st)?;
                    st.off = st.off.wrapping_add(skip).wrapping_add(8);
                }
            }
            macho::BIND_OPCODE_THREADED => {
                return Err(c.err("BIND_OPCODE_THREADED (arm64e) is not supported"))
            }
            other => return Err(c.err(format!("unknown opcode {other:#04x}"))),
        }
    }
    Ok(())
}

/// What an export trie says about a symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Export {
    /// Defined in the image at this unslid address.
    Address(u64),
    /// An absolute value (`EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE`), not slid.
    Absolute(u64),
    /// Re-exported from the image's dylib `ordinal` (1-based) under `name`.
    Reexport { ordinal: u64, name: String },
}

/// Looks a symbol up in the image's export trie; returns its unslid address.
/// Re-exports are not followed (see [`find_export`]).
pub fn lookup_export(image: &Image, name: &str) -> Option<u64> {
    match find_export(image, name)? {
        Export::Address(a) => Some(a),
        _ => None,
    }
}

/// Looks a symbol up in the image's export trie.
pub fn find_export(image: &Image, name: &str) -> Option<Export> {
    find_export_flags(image, name).map(|(e, _)| e)
}

/// Whether the image exports `name` as a weak definition.
pub fn is_weak_export(image: &Image, name: &str) -> bool {
    find_export_flags(image, name).is_some_and(|(_, flags)| {
        flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION) != 0
    })
}

/// [`find_export`], with the entry's flags.
fn find_export_flags(image: &Image, name: &str) -> Option<(Export, u64)> {
    let range = image
        .exports_trie
        .or_else(|| image.dyld_info.map(|d| d.export))?;
    let trie = image.bytes(range);
    let want = name.as_bytes();
    let (mut node, mut matched) = (0usize, 0usize);
    // Each step consumes at least one byte of the name, so the walk ends.
    loop {
        let mut c = TrieCursor {
            bytes: trie,
            pos: node,
        };
        let terminal_size = c.uleb()?;
        let children_at = c.pos.checked_add(terminal_size as usize)?;
        if matched == want.len() {
            if terminal_size == 0 {
                return None;
            }
            let flags = c.uleb()?;
            if flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_REEXPORT) != 0 {
                let ordinal = c.uleb()?;
                let rest = trie.get(c.pos..children_at)?;
                let len = rest.iter().position(|&b| b == 0)?;
                let imported = String::from_utf8_lossy(&rest[..len]).into_owned();
                let export = Export::Reexport {
                    ordinal,
                    name: if imported.is_empty() {
                        name.to_string()
                    } else {
                        imported
                    },
                };
                return Some((export, flags));
            }
            // For a stub-and-resolver export the first value is the stub,
            // which calls the resolver through a lazy pointer itself.
            let offset = c.uleb()?;
            let kind = flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_MASK);
            if kind == u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE) {
                return Some((Export::Absolute(offset), flags));
            }
            let addr = image.preferred_base().wrapping_add(offset);
            return Some((Export::Address(addr), flags));
        }
        c.pos = children_at;
        let count = *trie.get(c.pos)?;
        c.pos += 1;
        let mut next = None;
        for _ in 0..count {
            let edge_len = trie.get(c.pos..)?.iter().position(|&b| b == 0)?;
            let edge = &trie[c.pos..c.pos + edge_len];
            c.pos += edge_len + 1;
            let child = c.uleb()? as usize;
            if !edge.is_empty() && want[matched..].starts_with(edge) {
                next = Some((child, edge.len()));
                break;
            }
        }
        let (child, len) = next?;
        node = child;
        matched += len;
    }
}

struct TrieCursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl TrieCursor<'_> {
    fn uleb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.pos)?;
            self.pos += 1;
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
    }
}
