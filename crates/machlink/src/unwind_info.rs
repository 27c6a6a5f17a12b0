//! `__TEXT,__unwind_info`: the compact unwind table of a linked image, built
//! from one compact unwind entry per function.
//!
//! Layout (all little-endian `u32`s unless noted; every offset below is a
//! *section* offset except function, LSDA and personality offsets, which are
//! relative to the image base, i.e. the Mach header):
//!
//! ```text
//! header              version=1, common encodings {offset, count},
//!                     personalities {offset, count}, index {offset, count}
//! common encodings    up to 127 encodings, most frequent first
//! personalities       image offsets of the personality pointers (GOT slots);
//!                     an encoding's bits 0x30000000 hold a 1-based index
//! first-level index   {functionOffset, secondLevelPagesSectionOffset,
//!                      lsdaIndexArraySectionOffset} per second-level page,
//!                     then a sentinel {end of the last function, 0, end of
//!                     the LSDA array}
//! LSDA index          {functionOffset, lsdaOffset}, sorted by function
//! second-level pages  4096 bytes each, either
//!                     compressed (kind 3): u32 kind, u16 entryPageOffset,
//!                       u16 entryCount, u16 encodingsPageOffset,
//!                       u16 encodingsCount, then entries
//!                       `encoding_index << 24 | (function - page_base)` and
//!                       the page-local encodings (indexes after the common
//!                       ones); or
//!                     regular (kind 2): u32 kind, u16 entryPageOffset,
//!                       u16 entryCount, then {functionOffset, encoding}.
//! ```
//!
//! The unwinder finds a pc's entry as the last one at or below it, so
//! adjacent functions with identical unwind info share one entry (folding,
//! as ld64 and lld do) unless they have an LSDA (the personality routine
//! takes the entry's address as the function start), use DWARF (the encoding
//! points at the function's own FDE) or, on x86, the `STACK_IND` mode (the
//! unwinder reads the stack size out of the function's own prologue).
//!
//! Page splitting follows lld exactly, so a link's table is byte-identical to
//! lld's for the same entries: a page is compressed as long as entries fit
//! its 4 KiB, its 24-bit offset range and its 8-bit encoding indexes; a
//! non-final page that would hold fewer than the 511 entries a regular page
//! holds becomes a regular page instead. Pages are always padded to their
//! full 4096 bytes (lld's section size too).
//!
//! The size depends on the function addresses (page breaks) but not on the
//! personality or LSDA addresses, so a linker [plans](plan_unwind_info) the
//! table as soon as the functions are placed, sizes the section exactly
//! from the plan, and [encodes](UnwindPlan::encode) it later.

use rustc_hash::FxHashMap;

/// One function's compact unwind entry, with final (output) addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnwindEntry {
    /// Output address of the function start.
    pub function_addr: u64,
    /// Function length in bytes.
    pub length: u32,
    /// Compact unwind encoding (`UNWIND_X86_64_MODE_*` etc.; 0 = no unwind
    /// info). Its personality bits are ignored: the index is assigned from
    /// `personality_got`.
    pub encoding: u32,
    /// Output address of the personality function's GOT slot (the pointer to
    /// the personality), or 0.
    pub personality_got: u64,
    /// Output address of the LSDA, or 0.
    pub lsda: u64,
}

/// The section's format version.
pub const UNWIND_SECTION_VERSION: u32 = 1;
/// Second-level page of {functionOffset, encoding} pairs.
pub const UNWIND_SECOND_LEVEL_REGULAR: u32 = 2;
/// Second-level page of packed entries with page-local encodings.
pub const UNWIND_SECOND_LEVEL_COMPRESSED: u32 = 3;
/// Bits of an encoding holding the 1-based personality index.
pub const UNWIND_PERSONALITY_MASK: u32 = 0x3000_0000;
/// Bits of an encoding holding its mode.
pub const UNWIND_MODE_MASK: u32 = 0x0F00_0000;
/// Size of a second-level page.
pub const SECOND_LEVEL_PAGE_BYTES: usize = 4096;
/// At most this many personality functions can be encoded (2 bits, 1-based).
pub const MAX_PERSONALITIES: usize = 3;

const HEADER_BYTES: usize = 28;
const INDEX_ENTRY_BYTES: usize = 12;
const LSDA_ENTRY_BYTES: usize = 8;
const REGULAR_HEADER_BYTES: usize = 8;
const COMPRESSED_HEADER_BYTES: usize = 12;
const COMMON_ENCODINGS_MAX: usize = 127;
const COMPACT_ENCODINGS_MAX: usize = 256;
const REGULAR_ENTRIES_MAX: usize = (SECOND_LEVEL_PAGE_BYTES - REGULAR_HEADER_BYTES) / 8;
const COMPRESSED_FUNC_OFFSET_MASK: u64 = 0x00FF_FFFF;

/// Why a table cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwindInfoError {
    #[error("too many personality functions ({0}) for compact unwind to encode (at most 3)")]
    TooManyPersonalities(usize),
    #[error("address {addr:#x} is not within 4 GiB above the image base {base:#x}")]
    OutOfRange { addr: u64, base: u64 },
    #[error("a {0} has no address")]
    Unresolved(&'static str),
}

/// Builds the section contents. `image_base` is the mach header address
/// (0x1_0000_0000 for executables); all offsets in `__unwind_info` are
/// relative to it. `entries` may be unsorted; functions without entries
/// (gaps) are fine, but note the unwinder attributes a gap to the entry
/// before it, so (like ld64 and lld) pass an entry with encoding 0 for every
/// function that has no unwind info. Entries at the same address collapse
/// into one (the first with unwind info). `text_end` = end address of the
/// last function (for the sentinel first-level entry). An empty `entries`
/// gives an empty section, which the caller should omit.
///
/// Returns the bytes for x86_64; the caller places them at an address of its
/// choosing (everything is image-base-relative). Panics when the table cannot
/// be encoded (more than 3 personalities, addresses beyond 4 GiB of the
/// image base); [`try_build_unwind_info`] reports those as errors.
pub fn build_unwind_info(
    entries: &[UnwindEntry],
    image_base: u64,
    text_end: u64,
    can_fold: &dyn Fn(u32) -> bool,
) -> Vec<u8> {
    match try_build_unwind_info(entries, image_base, text_end, can_fold) {
        Ok(bytes) => bytes,
        Err(e) => panic!("__unwind_info: {e}"),
    }
}

/// Upper bound of the size [`build_unwind_info`] returns for these entries,
/// whatever their final addresses.
pub fn unwind_info_size_bound(entries: &[UnwindEntry]) -> u64 {
    let n = entries.len() as u64;
    if n == 0 {
        return 0;
    }
    let mut personalities: Vec<u64> = Vec::new();
    for e in entries {
        if e.personality_got != 0 && !personalities.contains(&e.personality_got) {
            personalities.push(e.personality_got);
            if personalities.len() == MAX_PERSONALITIES {
                break;
            }
        }
    }
    let lsdas = entries.iter().filter(|e| e.lsda != 0).count() as u64;
    size_bound_for_counts(n, personalities.len() as u64, lsdas)
}

/// The same bound from counts alone: at most `n` entries, `personalities`
/// distinct personalities and `lsdas` LSDAs. A linker can reserve the
/// section before it builds any entry.
pub fn size_bound_for_counts(n: u64, personalities: u64, lsdas: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // Every page but the last holds at least REGULAR_ENTRIES_MAX entries (a
    // compressed page holding fewer becomes a full regular page).
    let pages = n.div_ceil(REGULAR_ENTRIES_MAX as u64);
    let common = n.min(COMMON_ENCODINGS_MAX as u64);
    HEADER_BYTES as u64
        + 4 * common
        + 4 * personalities.min(MAX_PERSONALITIES as u64)
        + INDEX_ENTRY_BYTES as u64 * (pages + 1)
        + LSDA_ENTRY_BYTES as u64 * lsdas
        + SECOND_LEVEL_PAGE_BYTES as u64 * pages
}

/// One folded entry, image-base-relative, with the personality index in its
/// encoding.
#[derive(Clone, Copy)]
struct Folded {
    offset: u32,
    encoding: u32,
    /// The entry's LSDA key (see [`UnwindPlan`]), 0 for none.
    lsda: u64,
}

struct Page {
    kind: u32,
    /// Index of the first entry in the folded list.
    start: usize,
    count: usize,
    local_encodings: Vec<u32>,
}

/// A table whose layout is settled: entries sorted, deduplicated and
/// folded, common encodings chosen, pages split. Its [`size`](Self::size)
/// is final, because nothing it still needs changes the layout: the
/// `personality_got` and `lsda` values of the entries it was planned from
/// are only keys there (0 = none; equal keys = the same personality), which
/// [`encode`](Self::encode) maps to addresses. A linker plans the table as
/// soon as function addresses are known and encodes it once personality
/// (GOT) and LSDA addresses are.
pub struct UnwindPlan {
    image_base: u64,
    end_offset: u32,
    folded: Vec<Folded>,
    /// Personality keys, in index order (index = position + 1).
    personalities: Vec<u64>,
    common: Vec<u32>,
    common_index: FxHashMap<u32, u32>,
    pages: Vec<Page>,
}

/// [`build_unwind_info`], reporting what cannot be encoded.
/// `can_fold` is the target's rule for which encodings adjacent functions
/// may share a row with ([`crate::arch::Arch::unwind_can_fold`]).
pub fn try_build_unwind_info(
    entries: &[UnwindEntry],
    image_base: u64,
    text_end: u64,
    can_fold: &dyn Fn(u32) -> bool,
) -> Result<Vec<u8>, UnwindInfoError> {
    plan_unwind_info(entries, image_base, text_end, can_fold)?.encode(Some, Some)
}

/// Plans the table of `entries` (see [`build_unwind_info`] for the
/// arguments), whose `personality_got` and `lsda` may be keys rather than
/// addresses (see [`UnwindPlan`]). Function addresses must be final.
pub fn plan_unwind_info(
    entries: &[UnwindEntry],
    image_base: u64,
    text_end: u64,
    can_fold: &dyn Fn(u32) -> bool,
) -> Result<UnwindPlan, UnwindInfoError> {
    let mut plan = UnwindPlan {
        image_base,
        end_offset: 0,
        folded: Vec::new(),
        personalities: Vec::new(),
        common: Vec::new(),
        common_index: FxHashMap::default(),
        pages: Vec::new(),
    };
    if entries.is_empty() {
        return Ok(plan);
    }
    let rel = |addr: u64| rel_offset(addr, image_base);

    // Sort by address (stably, so among entries at one address the caller's
    // order decides) and keep one entry per address.
    let mut sorted: Vec<&UnwindEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.function_addr);
    let has_info = |e: &UnwindEntry| e.encoding != 0 || e.lsda != 0 || e.personality_got != 0;
    let mut unique: Vec<&UnwindEntry> = Vec::with_capacity(sorted.len());
    for e in sorted {
        match unique.last_mut() {
            Some(last) if last.function_addr == e.function_addr => {
                if !has_info(last) && has_info(e) {
                    *last = e;
                }
            }
            _ => unique.push(e),
        }
    }

    let last = unique[unique.len() - 1];
    let end = text_end.max(last.function_addr + u64::from(last.length));
    plan.end_offset = rel(end)?;

    // Personalities get 1-based indexes in address order of first use.
    let personalities = &mut plan.personalities;
    let folded = &mut plan.folded;
    folded.reserve(unique.len());
    for e in unique {
        let mut encoding = e.encoding & !UNWIND_PERSONALITY_MASK;
        if e.personality_got != 0 {
            let index = match personalities.iter().position(|&p| p == e.personality_got) {
                Some(i) => i + 1,
                None => {
                    personalities.push(e.personality_got);
                    personalities.len()
                }
            };
            if index > MAX_PERSONALITIES {
                continue; // counted below
            }
            encoding |= (index as u32) << UNWIND_PERSONALITY_MASK.trailing_zeros();
        }
        let offset = rel(e.function_addr)?;
        // Fold into the previous entry when both lack an LSDA and share an
        // encoding (personality included) that may be folded.
        if let Some(prev) = folded.last() {
            if prev.encoding == encoding && prev.lsda == 0 && e.lsda == 0 && can_fold(encoding) {
                continue;
            }
        }
        folded.push(Folded {
            offset,
            encoding,
            lsda: e.lsda,
        });
    }
    if personalities.len() > MAX_PERSONALITIES {
        return Err(UnwindInfoError::TooManyPersonalities(personalities.len()));
    }

    // Common encodings: most frequent first, ties by descending encoding
    // (lld's order).
    let mut frequency: FxHashMap<u32, usize> = FxHashMap::default();
    for f in folded.iter() {
        *frequency.entry(f.encoding).or_insert(0) += 1;
    }
    let mut common: Vec<(u32, usize)> = frequency.into_iter().collect();
    let order = |a: &(u32, usize), b: &(u32, usize)| b.1.cmp(&a.1).then(b.0.cmp(&a.0));
    if common.len() > COMMON_ENCODINGS_MAX {
        // Only the first ones are kept: found without sorting them all
        // (DWARF-mode encodings hold their FDE's offset, so an arm64 link
        // has about one encoding per function). The order is total
        // (encodings differ), so the kept ones are those a full sort keeps.
        common.select_nth_unstable_by(COMMON_ENCODINGS_MAX, order);
        common.truncate(COMMON_ENCODINGS_MAX);
    }
    common.sort_unstable_by(order);
    plan.common = common.iter().map(|&(enc, _)| enc).collect();
    plan.common_index = plan
        .common
        .iter()
        .enumerate()
        .map(|(i, &enc)| (enc, i as u32))
        .collect();
    plan.pages = split_pages(&plan.folded, &plan.common_index);
    Ok(plan)
}

fn rel_offset(addr: u64, image_base: u64) -> Result<u32, UnwindInfoError> {
    addr.checked_sub(image_base)
        .and_then(|o| u32::try_from(o).ok())
        .ok_or(UnwindInfoError::OutOfRange {
            addr,
            base: image_base,
        })
}

/// Section offsets of a planned table's parts.
struct Offsets {
    personality: usize,
    index: usize,
    lsda: usize,
    lsda_count: usize,
    pages: usize,
    total: usize,
}

impl UnwindPlan {
    fn offsets(&self) -> Offsets {
        if self.folded.is_empty() {
            return Offsets {
                personality: 0,
                index: 0,
                lsda: 0,
                lsda_count: 0,
                pages: 0,
                total: 0,
            };
        }
        let personality = HEADER_BYTES + 4 * self.common.len();
        let index = personality + 4 * self.personalities.len();
        let lsda = index + INDEX_ENTRY_BYTES * (self.pages.len() + 1);
        let lsda_count = self.folded.iter().filter(|f| f.lsda != 0).count();
        let pages = lsda + LSDA_ENTRY_BYTES * lsda_count;
        Offsets {
            personality,
            index,
            lsda,
            lsda_count,
            pages,
            total: pages + SECOND_LEVEL_PAGE_BYTES * self.pages.len(),
        }
    }

    /// The size of the section in bytes (0 for no entries).
    pub fn size(&self) -> u64 {
        self.offsets().total as u64
    }

    /// Writes the section, with `personality` and `lsda` giving the address
    /// of each key (None: the key has no address, an error).
    pub fn encode(
        &self,
        mut personality: impl FnMut(u64) -> Option<u64>,
        mut lsda: impl FnMut(u64) -> Option<u64>,
    ) -> Result<Vec<u8>, UnwindInfoError> {
        let o = self.offsets();
        if o.total == 0 {
            return Ok(Vec::new());
        }
        let rel = |addr: u64| rel_offset(addr, self.image_base);
        let personality_offsets: Vec<u32> = self
            .personalities
            .iter()
            .map(|&key| rel(personality(key).ok_or(UnwindInfoError::Unresolved("personality"))?))
            .collect::<Result<_, _>>()?;
        let (folded, pages, common) = (&self.folded, &self.pages, &self.common);

        let mut out: Vec<u8> = Vec::with_capacity(o.total);
        let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());

        // Header.
        for v in [
            UNWIND_SECTION_VERSION,
            HEADER_BYTES as u32,
            common.len() as u32,
            o.personality as u32,
            personality_offsets.len() as u32,
            o.index as u32,
            pages.len() as u32 + 1,
        ] {
            put32(&mut out, v);
        }
        for &enc in common {
            put32(&mut out, enc);
        }
        for &p in &personality_offsets {
            put32(&mut out, p);
        }

        // First-level index; each page points at the LSDAs from its first
        // entry.
        let mut lsdas_before = 0usize;
        let mut scanned = 0usize;
        for (i, page) in pages.iter().enumerate() {
            lsdas_before += folded[scanned..page.start]
                .iter()
                .filter(|f| f.lsda != 0)
                .count();
            scanned = page.start;
            put32(&mut out, folded[page.start].offset);
            put32(&mut out, (o.pages + i * SECOND_LEVEL_PAGE_BYTES) as u32);
            put32(&mut out, (o.lsda + LSDA_ENTRY_BYTES * lsdas_before) as u32);
        }
        put32(&mut out, self.end_offset);
        put32(&mut out, 0);
        put32(&mut out, (o.lsda + LSDA_ENTRY_BYTES * o.lsda_count) as u32);

        // LSDA index.
        for f in folded.iter().filter(|f| f.lsda != 0) {
            let addr = lsda(f.lsda).ok_or(UnwindInfoError::Unresolved("LSDA"))?;
            put32(&mut out, f.offset);
            put32(&mut out, rel(addr)?);
        }
        debug_assert_eq!(out.len(), o.pages);

        // Second-level pages.
        for page in pages {
            let page_start = out.len();
            let entries = &folded[page.start..page.start + page.count];
            put32(&mut out, page.kind);
            if page.kind == UNWIND_SECOND_LEVEL_COMPRESSED {
                let entries_off = COMPRESSED_HEADER_BYTES;
                put16(&mut out, entries_off as u16);
                put16(&mut out, page.count as u16);
                put16(&mut out, (entries_off + 4 * page.count) as u16);
                put16(&mut out, page.local_encodings.len() as u16);
                let base = entries[0].offset;
                let local_index: FxHashMap<u32, u32> = page
                    .local_encodings
                    .iter()
                    .enumerate()
                    .map(|(i, &enc)| (enc, (common.len() + i) as u32))
                    .collect();
                for f in entries {
                    let index = match self.common_index.get(&f.encoding) {
                        Some(&i) => i,
                        None => local_index[&f.encoding],
                    };
                    put32(&mut out, index << 24 | (f.offset - base));
                }
                for &enc in &page.local_encodings {
                    put32(&mut out, enc);
                }
            } else {
                put16(&mut out, REGULAR_HEADER_BYTES as u16);
                put16(&mut out, page.count as u16);
                for f in entries {
                    put32(&mut out, f.offset);
                    put32(&mut out, f.encoding);
                }
            }
            out.resize(page_start + SECOND_LEVEL_PAGE_BYTES, 0);
        }
        debug_assert_eq!(out.len(), o.total);
        Ok(out)
    }
}

/// Splits the folded entries into second-level pages (lld's algorithm).
fn split_pages(folded: &[Folded], common_index: &FxHashMap<u32, u32>) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut i = 0;
    // Page-local encoding → index, reused across pages.
    let mut local_index: FxHashMap<u32, usize> = FxHashMap::default();
    while i < folded.len() {
        let start = i;
        let offset_limit = u64::from(folded[start].offset) + COMPRESSED_FUNC_OFFSET_MASK;
        let mut next_index = common_index.len();
        let mut words = (SECOND_LEVEL_PAGE_BYTES - COMPRESSED_HEADER_BYTES) / 4;
        let mut local_encodings = Vec::new();
        local_index.clear();
        while words >= 1 && i < folded.len() {
            let f = folded[i];
            if u64::from(f.offset) >= offset_limit {
                break;
            }
            if common_index.contains_key(&f.encoding) || local_index.contains_key(&f.encoding) {
                i += 1;
                words -= 1;
            } else if words >= 2 && next_index < COMPACT_ENCODINGS_MAX {
                local_index.insert(f.encoding, next_index);
                local_encodings.push(f.encoding);
                next_index += 1;
                i += 1;
                words -= 2;
            } else {
                break;
            }
        }
        let count = i - start;
        if i < folded.len() && count < REGULAR_ENTRIES_MAX {
            let count = REGULAR_ENTRIES_MAX.min(folded.len() - start);
            i = start + count;
            pages.push(Page {
                kind: UNWIND_SECOND_LEVEL_REGULAR,
                start,
                count,
                local_encodings: Vec::new(),
            });
        } else {
            pages.push(Page {
                kind: UNWIND_SECOND_LEVEL_COMPRESSED,
                start,
                count,
                local_encodings,
            });
        }
    }
    pages
}

/// One second-level page as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPage {
    /// [`UNWIND_SECOND_LEVEL_REGULAR`] or [`UNWIND_SECOND_LEVEL_COMPRESSED`].
    pub kind: u32,
    /// The first-level index entry's function offset.
    pub function_offset: u32,
    /// Number of entries on the page.
    pub entry_count: usize,
    /// Page-local encodings (compressed pages).
    pub local_encodings: Vec<u32>,
}

/// A whole `__unwind_info` section as parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedUnwindInfo {
    pub common_encodings: Vec<u32>,
    /// Image offsets of the personality pointers; index `i` is personality
    /// `i + 1` in encodings.
    pub personalities: Vec<u32>,
    pub pages: Vec<ParsedPage>,
    /// {function offset, LSDA offset}, as stored.
    pub lsdas: Vec<(u32, u32)>,
    /// The sentinel's function offset: the end of the covered range.
    pub end_offset: u32,
    /// (function_offset, encoding, personality_index, lsda_offset) per entry,
    /// in order; the encoding is as stored (personality bits included) and
    /// the LSDA offset is 0 for none.
    pub rows: Vec<(u32, u32, u32, u32)>,
}

/// Parses an `__unwind_info` section back into (function_offset, encoding,
/// personality_index, lsda_offset) rows, for tests and for the linker's
/// `verify` command. None if malformed; never panics. An empty section
/// parses as no rows.
pub fn parse_unwind_info(data: &[u8]) -> Option<Vec<(u32, u32, u32, u32)>> {
    parse_unwind_info_full(data).map(|p| p.rows)
}

fn read_u32(data: &[u8], off: usize) -> Option<u32> {
    let bytes = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn read_u16(data: &[u8], off: usize) -> Option<u16> {
    let bytes = data.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads `count` u32s at `off`, checking the bounds first.
fn read_u32_array(data: &[u8], off: usize, count: usize) -> Option<Vec<u32>> {
    let end = count.checked_mul(4)?.checked_add(off)?;
    let bytes = data.get(off..end)?;
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Where the first-level index's sentinel keeps the end of the covered
/// range (byte offset in the section), and that end.
pub fn sentinel(data: &[u8]) -> Option<(usize, u32)> {
    let h = read_u32_array(data, 0, 7)?;
    if h[0] != UNWIND_SECTION_VERSION || h[6] == 0 {
        return None;
    }
    let at = (h[5] as usize).checked_add((h[6] as usize - 1).checked_mul(12)?)?;
    Some((at, read_u32(data, at)?))
}

/// Whether a table names personalities or LSDAs (C++ exception tables),
/// read from its header and first-level index alone. A malformed table
/// says yes: the caller then takes its careful path, which parses it.
pub fn has_exception_tables(data: &[u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    let Some(h) = read_u32_array(data, 0, 7) else {
        return true;
    };
    if h[4] != 0 {
        return true;
    }
    let first = read_u32(data, h[5] as usize + 8);
    let last = (h[6] as usize)
        .checked_sub(1)
        .and_then(|i| i.checked_mul(INDEX_ENTRY_BYTES))
        .and_then(|at| read_u32(data, (h[5] as usize).checked_add(at)? + 8));
    !matches!((first, last), (Some(a), Some(b)) if a == b)
}

/// The row covering image offset `offset`: (its function offset, its
/// encoding), found through the first-level index and one second-level
/// page without reading the rest; None when `offset` is outside the
/// covered range or the section is malformed.
pub fn covering_row(data: &[u8], offset: u32) -> Option<(u32, u32)> {
    RowLookup::new(data)?.row(offset)
}

/// A table's header, first-level index, shared encodings, personalities
/// and LSDA array, read once for many lookups of single rows (an update
/// checks each replayed function's row; reading the table whole per
/// function cost in proportion to the program).
pub struct RowLookup<'a> {
    data: &'a [u8],
    common: Vec<u32>,
    personalities: Vec<u32>,
    /// (first function offset, page offset, LSDA offset) per page, the
    /// sentinel last.
    index: Vec<[u32; 3]>,
    /// (function offset, LSDA offset) pairs, sorted by function.
    lsdas: Vec<u32>,
}

impl<'a> RowLookup<'a> {
    pub fn new(data: &'a [u8]) -> Option<RowLookup<'a>> {
        let h = read_u32_array(data, 0, 7)?;
        if h[0] != UNWIND_SECTION_VERSION || h[6] < 2 {
            return None;
        }
        let raw = read_u32_array(data, h[5] as usize, (h[6] as usize).checked_mul(3)?)?;
        let index: Vec<[u32; 3]> = raw.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        // The LSDA array runs from the first page's pointer to the
        // sentinel's.
        let (start, end) = (index[0][2] as usize, index[index.len() - 1][2] as usize);
        if end < start || !(end - start).is_multiple_of(LSDA_ENTRY_BYTES) {
            return None;
        }
        Some(RowLookup {
            data,
            common: read_u32_array(data, h[1] as usize, h[2] as usize)?,
            personalities: read_u32_array(data, h[3] as usize, h[4] as usize)?,
            lsdas: read_u32_array(data, start, (end - start) / 4)?,
            index,
        })
    }

    /// The offset where the covered range ends (the sentinel's).
    pub fn end(&self) -> u32 {
        self.index[self.index.len() - 1][0]
    }

    /// The row covering `offset`: (its function offset, its encoding,
    /// personality bits included).
    pub fn row(&self, offset: u32) -> Option<(u32, u32)> {
        let data = self.data;
        if offset >= self.end() || offset < self.index[0][0] {
            return None;
        }
        let pages = &self.index[..self.index.len() - 1];
        let [first, page, _] = pages[pages.partition_point(|e| e[0] <= offset) - 1];
        let page = page as usize;
        let kind = read_u32(data, page)?;
        let entries_at = page + read_u16(data, page + 4)? as usize;
        let count = read_u16(data, page + 6)? as usize;
        if count == 0 {
            return None;
        }
        // The last entry of the page at or before `offset`, by bisection
        // over the entries in place.
        let last_at_or_before = |start_of: &dyn Fn(usize) -> Option<u32>| -> Option<usize> {
            let (mut lo, mut hi) = (0, count);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if start_of(mid)? <= offset {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo.checked_sub(1)
        };
        if kind == UNWIND_SECOND_LEVEL_REGULAR {
            let i = last_at_or_before(&|k| read_u32(data, entries_at + 8 * k))?;
            let at = entries_at + 8 * i;
            return Some((read_u32(data, at)?, read_u32(data, at + 4)?));
        }
        if kind != UNWIND_SECOND_LEVEL_COMPRESSED {
            return None;
        }
        let entry = |k: usize| read_u32(data, entries_at + 4 * k);
        let i = last_at_or_before(&|k| Some(first + (entry(k)? & 0x00ff_ffff)))?;
        let e = entry(i)?;
        let enc_index = (e >> 24) as usize;
        let encoding = match self.common.get(enc_index) {
            Some(&c) => c,
            None => {
                let local_at = page + read_u16(data, page + 8)? as usize;
                let local = read_u32_array(data, local_at, read_u16(data, page + 10)? as usize)?;
                *local.get(enc_index - self.common.len())?
            }
        };
        Some((first + (e & 0x00ff_ffff), encoding))
    }

    /// The personality an encoding names: its pointer's offset, 0 for
    /// none; None for an index past the table's.
    pub fn personality(&self, encoding: u32) -> Option<u32> {
        match (encoding & UNWIND_PERSONALITY_MASK) >> UNWIND_PERSONALITY_MASK.trailing_zeros() {
            0 => Some(0),
            i => self.personalities.get(i as usize - 1).copied(),
        }
    }

    /// The LSDA recorded for a function starting at `offset` (0: none).
    pub fn lsda(&self, offset: u32) -> u32 {
        let (mut lo, mut hi) = (0, self.lsdas.len() / 2);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.lsdas[2 * mid] < offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        match self.lsdas.get(2 * lo..2 * lo + 2) {
            Some(&[at, lsda]) if at == offset => lsda,
            _ => 0,
        }
    }
}

/// Just the (function offset, encoding) rows and the end offset, read
/// without the checks and tables of [`parse_unwind_info_full`]: the fast
/// path for an incremental update, which rebuilds the section from them.
/// Encodings keep their personality bits. None if malformed.
pub fn read_rows(data: &[u8]) -> Option<(Vec<(u32, u32)>, u32)> {
    if data.is_empty() {
        return Some((Vec::new(), 0));
    }
    let h = read_u32_array(data, 0, 7)?;
    if h[0] != UNWIND_SECTION_VERSION || h[6] == 0 {
        return None;
    }
    let common = read_u32_array(data, h[1] as usize, h[2] as usize)?;
    let index = read_u32_array(data, h[5] as usize, (h[6] as usize).checked_mul(3)?)?;
    let mut rows = Vec::new();
    for entry in index.chunks_exact(3) {
        let (first, page) = (entry[0], entry[1] as usize);
        if page == 0 {
            continue; // the sentinel
        }
        let kind = read_u32(data, page)?;
        let entries_at = page + read_u16(data, page + 4)? as usize;
        let count = read_u16(data, page + 6)? as usize;
        if kind == UNWIND_SECOND_LEVEL_REGULAR {
            let raw = read_u32_array(data, entries_at, count.checked_mul(2)?)?;
            rows.extend(raw.chunks_exact(2).map(|c| (c[0], c[1])));
        } else if kind == UNWIND_SECOND_LEVEL_COMPRESSED {
            let local_at = page + read_u16(data, page + 8)? as usize;
            let local = read_u32_array(data, local_at, read_u16(data, page + 10)? as usize)?;
            for e in read_u32_array(data, entries_at, count)? {
                let i = (e >> 24) as usize;
                let encoding = match common.get(i) {
                    Some(&c) => c,
                    None => *local.get(i - common.len())?,
                };
                rows.push((first.checked_add(e & 0x00ff_ffff)?, encoding));
            }
        } else {
            return None;
        }
    }
    let end = index[index.len() - 3];
    Some((rows, end))
}

/// [`parse_unwind_info`] with the section's tables as well as its rows.
/// Checks the structure, that encoding and personality indexes resolve, and
/// that the rows ascend.
pub fn parse_unwind_info_full(data: &[u8]) -> Option<ParsedUnwindInfo> {
    if data.is_empty() {
        return Some(ParsedUnwindInfo::default());
    }
    let h = read_u32_array(data, 0, 7)?;
    if h[0] != UNWIND_SECTION_VERSION {
        return None;
    }
    let common_encodings = read_u32_array(data, h[1] as usize, h[2] as usize)?;
    let personalities = read_u32_array(data, h[3] as usize, h[4] as usize)?;
    let index_count = h[6] as usize;
    if index_count == 0 {
        return None;
    }
    let index = read_u32_array(data, h[5] as usize, index_count.checked_mul(3)?)?;
    let index: Vec<[u32; 3]> = index.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    let sentinel = index[index_count - 1];

    // The LSDA array runs from the first page's pointer to the sentinel's.
    let lsda_start = index[0][2] as usize;
    let lsda_end = sentinel[2] as usize;
    if lsda_end < lsda_start || !(lsda_end - lsda_start).is_multiple_of(LSDA_ENTRY_BYTES) {
        return None;
    }
    let raw = read_u32_array(data, lsda_start, (lsda_end - lsda_start) / 4)?;
    let lsdas: Vec<(u32, u32)> = raw.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    let mut lsda_lookup = lsdas.clone();
    lsda_lookup.sort_unstable();

    let mut pages = Vec::with_capacity(index_count - 1);
    let mut rows = Vec::new();
    let push_row = |rows: &mut Vec<(u32, u32, u32, u32)>, func: u32, enc: u32| -> Option<()> {
        let personality =
            (enc & UNWIND_PERSONALITY_MASK) >> UNWIND_PERSONALITY_MASK.trailing_zeros();
        if personality as usize > personalities.len() {
            return None;
        }
        if let Some(&(prev, ..)) = rows.last() {
            if func < prev {
                return None;
            }
        }
        let lsda = match lsda_lookup.binary_search_by_key(&func, |&(f, _)| f) {
            Ok(i) => lsda_lookup[i].1,
            Err(_) => 0,
        };
        rows.push((func, enc, personality, lsda));
        Some(())
    };
    for &[function_offset, page_off, _] in &index[..index_count - 1] {
        let page_off = page_off as usize;
        if page_off == 0 {
            return None;
        }
        let kind = read_u32(data, page_off)?;
        let entry_off = page_off.checked_add(read_u16(data, page_off + 4)? as usize)?;
        let entry_count = read_u16(data, page_off + 6)? as usize;
        let mut local_encodings = Vec::new();
        match kind {
            UNWIND_SECOND_LEVEL_REGULAR => {
                let raw = read_u32_array(data, entry_off, entry_count * 2)?;
                for c in raw.chunks_exact(2) {
                    push_row(&mut rows, c[0], c[1])?;
                }
            }
            UNWIND_SECOND_LEVEL_COMPRESSED => {
                let enc_off = page_off.checked_add(read_u16(data, page_off + 8)? as usize)?;
                let enc_count = read_u16(data, page_off + 10)? as usize;
                local_encodings = read_u32_array(data, enc_off, enc_count)?;
                for e in read_u32_array(data, entry_off, entry_count)? {
                    let i = (e >> 24) as usize;
                    let enc = match common_encodings.get(i) {
                        Some(&enc) => enc,
                        None => *local_encodings.get(i - common_encodings.len())?,
                    };
                    let func = function_offset.checked_add(e & 0x00FF_FFFF)?;
                    push_row(&mut rows, func, enc)?;
                }
            }
            _ => return None,
        }
        pages.push(ParsedPage {
            kind,
            function_offset,
            entry_count,
            local_encodings,
        });
    }
    Some(ParsedUnwindInfo {
        common_encodings,
        personalities,
        pages,
        lsdas,
        end_offset: sentinel[0],
        rows,
    })
}

/// A row change an incremental update makes: from image offset `start`
/// for `len` bytes, the code has `encoding` (see [`patch_rows`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowChange {
    pub start: u32,
    pub len: u32,
    pub encoding: u32,
}

/// Puts one row change on a list of `(function offset, encoding)` rows
/// sorted by offset: the rows the changed range covers give way to one
/// row at its start, and the row that was in force at its end continues
/// after it (unless the range runs to `end`, the table's end, which moves
/// past it).
fn apply_change(rows: &mut Vec<(u32, u32)>, end: &mut u32, c: &RowChange) {
    let after = c.start + c.len.max(1);
    if after < *end {
        let i = rows.partition_point(|r| r.0 <= after);
        if i > 0 && rows[i - 1].0 != after {
            let continued = rows[i - 1].1;
            rows.insert(i, (after, continued));
        }
    }
    let lo = rows.partition_point(|r| r.0 < c.start);
    let hi = rows.partition_point(|r| r.0 < after);
    rows.drain(lo..hi);
    rows.insert(lo, (c.start, c.encoding));
    *end = (*end).max(after);
}

/// Edits a table without personalities or LSDAs in place for `changes`,
/// rewriting only the second-level pages whose rows change (and the
/// first-level index when their count does), so that an update's cost
/// follows its edit rather than the number of functions. Each change gives
/// `[start, start + len)` its own row (the rows inside it go; whatever
/// covered the first byte after it still does), as a rebuild from the
/// changed rows would; rows are folded again within the rewritten pages.
/// The table stays a valid one, though not byte for byte the table a full
/// link would plan (page breaks stay where they were).
///
/// `data` is the whole section, its reserve included: pages that no longer
/// fit their place go to the reserve after the last page. Returns the byte
/// ranges written, or None, changing nothing, when the table has
/// personalities or LSDAs, is malformed, or has no room: the caller then
/// rebuilds it.
pub fn patch_rows(
    data: &mut [u8],
    changes: &[RowChange],
    can_fold: &dyn Fn(u32) -> bool,
) -> Option<Vec<std::ops::Range<usize>>> {
    let table = PatchTable::read(data)?;
    let mut end = table.end;
    // The pages each change touches (by the page boundaries, which do not
    // move: a change never removes the first row of its first page), merged
    // into disjoint groups of adjacent pages.
    let n = table.first.len();
    let page_of = |off: u32| table.first.partition_point(|&f| f <= off).checked_sub(1);
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(changes.len());
    for c in changes {
        let after = c.start.checked_add(c.len.max(1))?;
        let first = if c.start >= end {
            n - 1
        } else {
            page_of(c.start)?
        };
        let last = if after >= end { n - 1 } else { page_of(after)? };
        spans.push((first, last));
        end = end.max(after);
    }
    let mut groups: Vec<(usize, usize)> = spans.clone();
    groups.sort_unstable();
    groups.dedup();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(groups.len());
    for (a, b) in groups {
        match merged.last_mut() {
            Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut rows: Vec<Vec<(u32, u32)>> = merged
        .iter()
        .map(|&(a, b)| {
            let mut r = Vec::new();
            for p in a..=b {
                r.extend(table.page_rows(data, p)?);
            }
            Some(r)
        })
        .collect::<Option<_>>()?;
    // The changes, in order, on their groups' rows.
    let mut end = table.end;
    for (c, &(a, _)) in changes.iter().zip(&spans) {
        let g = merged.partition_point(|m| m.1 < a);
        apply_change(&mut rows[g], &mut end, c);
    }
    // Pages, in index order: (first function offset, where its bytes are,
    // new bytes if any).
    let mut pages: Vec<(u32, usize, Option<Vec<u8>>)> = Vec::with_capacity(n + 2);
    let mut free_at = table.pages_end;
    let mut same_shape = true;
    let mut next = 0;
    for ((a, b), mut rows) in merged.iter().copied().zip(rows) {
        pages.extend((next..a).map(|p| (table.first[p], table.at[p], None)));
        next = b + 1;
        // Fold again: a run of one foldable encoding is one row (the
        // group's first row stays: it is the index's key for its page).
        let mut k = 1;
        while k < rows.len() {
            if rows[k].1 == rows[k - 1].1 && can_fold(rows[k].1) {
                rows.remove(k);
            } else {
                k += 1;
            }
        }
        let mut slots = (a..=b).map(|p| table.at[p]);
        let before = pages.len();
        let mut i = 0;
        while i < rows.len() {
            let (count, bytes) = table.pack(&rows[i..])?;
            let at = slots.next().unwrap_or_else(|| {
                free_at += SECOND_LEVEL_PAGE_BYTES;
                free_at - SECOND_LEVEL_PAGE_BYTES
            });
            pages.push((rows[i].0, at, Some(bytes)));
            i += count;
        }
        same_shape &= pages.len() - before == b + 1 - a;
    }
    pages.extend((next..n).map(|p| (table.first[p], table.at[p], None)));
    // The index grows or shrinks with the page count: pages it would now
    // overlap move to the reserve.
    let index_end = table.index_at + INDEX_ENTRY_BYTES * (pages.len() + 1);
    for page in pages.iter_mut() {
        if page.1 < index_end {
            let bytes = match page.2.take() {
                Some(b) => b,
                None => data.get(page.1..page.1 + SECOND_LEVEL_PAGE_BYTES)?.to_vec(),
            };
            *page = (page.0, free_at, Some(bytes));
            free_at += SECOND_LEVEL_PAGE_BYTES;
        }
    }
    if free_at > data.len() {
        return None;
    }
    // Everything is decided: write.
    let mut touched = Vec::new();
    let old_index_end = table.index_at + INDEX_ENTRY_BYTES * (n + 1);
    if same_shape {
        // Each page kept its place in the index: only the entries of
        // rewritten pages, and the sentinel, may change.
        for (p, &(first, at, ref bytes)) in pages.iter().enumerate() {
            if bytes.is_some() {
                let e = table.index_at + p * INDEX_ENTRY_BYTES;
                data[e..e + 4].copy_from_slice(&first.to_le_bytes());
                data[e + 4..e + 8].copy_from_slice(&(at as u32).to_le_bytes());
                touched.push(e..e + 8);
            }
        }
        if end != table.end {
            let e = table.index_at + n * INDEX_ENTRY_BYTES;
            data[e..e + 4].copy_from_slice(&end.to_le_bytes());
            touched.push(e..e + 4);
        }
    } else {
        let mut index = Vec::with_capacity(index_end - table.index_at);
        for &(first, at, _) in &pages {
            for v in [first, at as u32, index_end as u32] {
                index.extend_from_slice(&v.to_le_bytes());
            }
        }
        for v in [end, 0, index_end as u32] {
            index.extend_from_slice(&v.to_le_bytes());
        }
        data[table.index_at..index_end].copy_from_slice(&index);
        if old_index_end > index_end {
            data[index_end..old_index_end].fill(0);
        }
        data[24..28].copy_from_slice(&(pages.len() as u32 + 1).to_le_bytes());
        touched.push(24..28);
        touched.push(table.index_at..index_end.max(old_index_end));
    }
    for (_, at, bytes) in pages {
        if let Some(bytes) = bytes {
            data[at..at + SECOND_LEVEL_PAGE_BYTES].copy_from_slice(&bytes);
            touched.push(at..at + SECOND_LEVEL_PAGE_BYTES);
        }
    }
    Some(touched)
}

/// What [`patch_rows`] reads of a table: its common encodings and
/// first-level index.
struct PatchTable {
    common: Vec<u32>,
    common_index: FxHashMap<u32, u32>,
    index_at: usize,
    /// Per page: first function offset and section offset.
    first: Vec<u32>,
    at: Vec<usize>,
    /// The sentinel's function offset.
    end: u32,
    /// The end of the last page's bytes.
    pages_end: usize,
}

impl PatchTable {
    fn read(data: &[u8]) -> Option<PatchTable> {
        let h = read_u32_array(data, 0, 7)?;
        if h[0] != UNWIND_SECTION_VERSION || h[4] != 0 || h[6] < 2 {
            return None;
        }
        let common = read_u32_array(data, h[1] as usize, h[2] as usize)?;
        let index_at = h[5] as usize;
        let n = h[6] as usize - 1;
        let index = read_u32_array(data, index_at, (n + 1).checked_mul(3)?)?;
        let lsdas = index[2];
        let (mut first, mut at) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for e in index.chunks_exact(3) {
            // No LSDAs: every entry points at the same empty array.
            if e[2] != lsdas {
                return None;
            }
        }
        for e in index[..n * 3].chunks_exact(3) {
            let page = e[1] as usize;
            if page < index_at + INDEX_ENTRY_BYTES * (n + 1)
                || page + SECOND_LEVEL_PAGE_BYTES > data.len()
                || first.last().is_some_and(|&f| f >= e[0])
            {
                return None;
            }
            first.push(e[0]);
            at.push(page);
        }
        let end = index[n * 3];
        if first.last().is_some_and(|&f| f >= end) {
            return None;
        }
        let pages_end = at.iter().max()? + SECOND_LEVEL_PAGE_BYTES;
        let common_index = common
            .iter()
            .enumerate()
            .map(|(i, &e)| (e, i as u32))
            .collect();
        Some(PatchTable {
            common,
            common_index,
            index_at,
            first,
            at,
            end,
            pages_end,
        })
    }

    /// The (function offset, encoding) rows of page `p`.
    fn page_rows(&self, data: &[u8], p: usize) -> Option<Vec<(u32, u32)>> {
        let page = self.at[p];
        let kind = read_u32(data, page)?;
        let entries_at = page + read_u16(data, page + 4)? as usize;
        let count = read_u16(data, page + 6)? as usize;
        if count == 0 {
            return None;
        }
        let rows: Vec<(u32, u32)> = if kind == UNWIND_SECOND_LEVEL_REGULAR {
            let raw = read_u32_array(data, entries_at, count.checked_mul(2)?)?;
            raw.chunks_exact(2).map(|c| (c[0], c[1])).collect()
        } else if kind == UNWIND_SECOND_LEVEL_COMPRESSED {
            let local_at = page + read_u16(data, page + 8)? as usize;
            let local = read_u32_array(data, local_at, read_u16(data, page + 10)? as usize)?;
            let first = self.first[p];
            read_u32_array(data, entries_at, count)?
                .into_iter()
                .map(|e| {
                    let i = (e >> 24) as usize;
                    let encoding = match self.common.get(i) {
                        Some(&c) => c,
                        None => *local.get(i - self.common.len())?,
                    };
                    Some((first.checked_add(e & 0x00ff_ffff)?, encoding))
                })
                .collect::<Option<_>>()?
        } else {
            return None;
        };
        // The page's rows start at its key and ascend.
        let ascending = rows.windows(2).all(|w| w[0].0 < w[1].0);
        (rows[0].0 == self.first[p] && ascending).then_some(rows)
    }

    /// The most of `rows` one page holds (compressed when that holds as
    /// many as a regular page would), and that page's bytes.
    fn pack(&self, rows: &[(u32, u32)]) -> Option<(usize, Vec<u8>)> {
        let base = rows.first()?.0;
        let mut local: Vec<u32> = Vec::new();
        let mut words = (SECOND_LEVEL_PAGE_BYTES - COMPRESSED_HEADER_BYTES) / 4;
        let mut compressed = 0;
        for &(off, enc) in rows {
            if u64::from(off - base) > COMPRESSED_FUNC_OFFSET_MASK || words == 0 {
                break;
            }
            if self.common_index.contains_key(&enc) || local.contains(&enc) {
                words -= 1;
            } else if words >= 2 && self.common.len() + local.len() < COMPACT_ENCODINGS_MAX {
                local.push(enc);
                words -= 2;
            } else {
                break;
            }
            compressed += 1;
        }
        let regular = rows.len().min(REGULAR_ENTRIES_MAX);
        let mut out = Vec::with_capacity(SECOND_LEVEL_PAGE_BYTES);
        let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
        let count = if compressed >= regular {
            let rows = &rows[..compressed];
            put32(&mut out, UNWIND_SECOND_LEVEL_COMPRESSED);
            put16(&mut out, COMPRESSED_HEADER_BYTES as u16);
            put16(&mut out, compressed as u16);
            put16(&mut out, (COMPRESSED_HEADER_BYTES + 4 * compressed) as u16);
            put16(&mut out, local.len() as u16);
            for &(off, enc) in rows {
                let index = match self.common_index.get(&enc) {
                    Some(&i) => i,
                    None => (self.common.len() + local.iter().position(|&e| e == enc)?) as u32,
                };
                put32(&mut out, index << 24 | (off - base));
            }
            for &enc in &local {
                put32(&mut out, enc);
            }
            compressed
        } else {
            put32(&mut out, UNWIND_SECOND_LEVEL_REGULAR);
            put16(&mut out, REGULAR_HEADER_BYTES as u16);
            put16(&mut out, regular as u16);
            for &(off, enc) in &rows[..regular] {
                put32(&mut out, off);
                put32(&mut out, enc);
            }
            regular
        };
        out.resize(SECOND_LEVEL_PAGE_BYTES, 0);
        Some((count, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x86_64 and arm64 compact unwind modes the tests use.
    const UNWIND_X86_64_MODE_STACK_IND: u32 = 0x0300_0000;
    const UNWIND_X86_64_MODE_DWARF: u32 = 0x0400_0000;
    const UNWIND_ARM64_MODE_DWARF: u32 = 0x0300_0000;

    fn x86_fold(encoding: u32) -> bool {
        crate::arch::Arch::unwind_can_fold(&crate::arch::X86_64, encoding)
    }

    fn arm64_fold(encoding: u32) -> bool {
        encoding & UNWIND_MODE_MASK != UNWIND_ARM64_MODE_DWARF
    }

    const BASE: u64 = 0x1_0000_0000;
    const RBP: u32 = 0x0100_0000;
    const IMMD: u32 = 0x0200_0000;

    fn entry(addr: u64, len: u32, encoding: u32) -> UnwindEntry {
        UnwindEntry {
            function_addr: BASE + addr,
            length: len,
            encoding,
            personality_got: 0,
            lsda: 0,
        }
    }

    fn end_of(entries: &[UnwindEntry]) -> u64 {
        entries
            .iter()
            .map(|e| e.function_addr + u64::from(e.length))
            .max()
            .unwrap_or(BASE)
    }

    /// Builds, checks the size bound, and parses back.
    fn build_parse(entries: &[UnwindEntry]) -> (Vec<u8>, ParsedUnwindInfo) {
        let bytes = build_unwind_info(entries, BASE, end_of(entries), &x86_fold);
        assert!(bytes.len() as u64 <= unwind_info_size_bound(entries));
        let parsed = parse_unwind_info_full(&bytes).expect("parses");
        assert_eq!(parse_unwind_info(&bytes).unwrap(), parsed.rows);
        (bytes, parsed)
    }

    #[test]
    fn unwind_round_trip_folds_as_expected() {
        let dwarf = UNWIND_X86_64_MODE_DWARF;
        let stack_ind = UNWIND_X86_64_MODE_STACK_IND | 0x10;
        let mut entries = vec![
            entry(0x1000, 0x10, RBP),
            entry(0x1010, 0x10, RBP), // folds into 0x1000
            entry(0x1020, 0x20, RBP), // folds into 0x1000
            entry(0x1040, 0x10, IMMD | 0x20000),
            entry(0x1050, 0x10, dwarf), // DWARF entries never fold
            entry(0x1060, 0x10, dwarf),
            entry(0x1070, 0x10, stack_ind), // nor STACK_IND ones
            entry(0x1080, 0x10, stack_ind),
            entry(0x1090, 0x10, 0),
            entry(0x10a0, 0x10, 0), // folds
            entry(0x10b0, 0x10, RBP),
            entry(0x10c0, 0x10, RBP), // has an LSDA: its own entry
            entry(0x10d0, 0x10, RBP), // follows an LSDA entry: its own entry
        ];
        entries[11].lsda = BASE + 0x8000;
        entries.reverse(); // unsorted input
        let (_, parsed) = build_parse(&entries);
        let r = |off: u32, enc: u32| (off, enc, 0, 0);
        assert_eq!(
            parsed.rows,
            vec![
                r(0x1000, RBP),
                r(0x1040, IMMD | 0x20000),
                r(0x1050, dwarf),
                r(0x1060, dwarf),
                r(0x1070, stack_ind),
                r(0x1080, stack_ind),
                r(0x1090, 0),
                r(0x10b0, RBP),
                (0x10c0, RBP, 0, 0x8000),
                r(0x10d0, RBP),
            ]
        );
        assert_eq!(parsed.end_offset, 0x10e0);
        assert_eq!(parsed.lsdas, vec![(0x10c0, 0x8000)]);
        // Most frequent first: RBP (4), then ties by descending encoding.
        assert_eq!(
            parsed.common_encodings,
            vec![RBP, dwarf, stack_ind, IMMD | 0x20000, 0]
        );
        assert_eq!(parsed.pages.len(), 1);
        assert_eq!(parsed.pages[0].kind, UNWIND_SECOND_LEVEL_COMPRESSED);

        // Rebuilding from the parsed rows gives the same bytes.
        let (bytes, _) = build_parse(&entries);
        let again: Vec<UnwindEntry> = rows_to_entries(&parsed);
        assert_eq!(
            build_unwind_info(&again, BASE, BASE + 0x10e0, &x86_fold),
            bytes
        );
    }

    fn rows_to_entries(p: &ParsedUnwindInfo) -> Vec<UnwindEntry> {
        p.rows
            .iter()
            .enumerate()
            .map(|(i, &(off, enc, pers, lsda))| {
                let next = p.rows.get(i + 1).map_or(p.end_offset, |r| r.0);
                UnwindEntry {
                    function_addr: BASE + u64::from(off),
                    length: next - off,
                    encoding: enc & !UNWIND_PERSONALITY_MASK,
                    personality_got: if pers == 0 {
                        0
                    } else {
                        BASE + u64::from(p.personalities[pers as usize - 1])
                    },
                    lsda: if lsda == 0 { 0 } else { BASE + u64::from(lsda) },
                }
            })
            .collect()
    }

    #[test]
    fn unwind_header_layout() {
        let entries = [entry(0x1000, 0x10, RBP), entry(0x1010, 0x30, IMMD)];
        let (bytes, _) = build_parse(&entries);
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        // version, common {28, 2}, personalities {36, 0}, index {36, 2}
        assert_eq!(&words[..7], &[1, 28, 2, 36, 0, 36, 2]);
        // common encodings (equal frequency: descending)
        assert_eq!(&words[7..9], &[IMMD, RBP]);
        // index: page at 60, LSDAs at 60; sentinel
        assert_eq!(&words[9..15], &[0x1000, 60, 60, 0x1040, 0, 60]);
        // compressed page: kind 3, entries at 12 (count 2), encodings at 20 (0)
        assert_eq!(words[15], 3);
        assert_eq!(&bytes[64..72], &[12, 0, 2, 0, 20, 0, 0, 0]);
        assert_eq!(&words[18..20], &[1 << 24, 0x10]);
        assert_eq!(bytes.len(), 60 + 4096);
    }

    #[test]
    fn unwind_compressed_then_regular_pages() {
        // Alternating encodings so nothing folds: 1100 entries fill one
        // compressed page (1021 entries) and a final compressed one.
        let entries: Vec<UnwindEntry> = (0..1100)
            .map(|i| entry(0x1000 + 16 * i, 16, if i % 2 == 0 { RBP } else { IMMD }))
            .collect();
        let (_, p) = build_parse(&entries);
        let kinds: Vec<(u32, usize)> = p.pages.iter().map(|p| (p.kind, p.entry_count)).collect();
        assert_eq!(
            kinds,
            vec![
                (UNWIND_SECOND_LEVEL_COMPRESSED, 1021),
                (UNWIND_SECOND_LEVEL_COMPRESSED, 79)
            ]
        );
        assert_eq!(p.rows.len(), 1100);
        assert_eq!(p.pages[1].function_offset, 0x1000 + 16 * 1021);

        // 600 distinct encodings: 127 are common, the first page runs out of
        // local encoding indexes after 129 entries and becomes a regular page
        // of 511; the rest (all common) are compressed.
        let entries: Vec<UnwindEntry> = (0..600)
            .map(|i| entry(0x1000 + 16 * i as u64, 16, IMMD | i))
            .collect();
        let (_, p) = build_parse(&entries);
        let kinds: Vec<(u32, usize)> = p.pages.iter().map(|p| (p.kind, p.entry_count)).collect();
        assert_eq!(
            kinds,
            vec![
                (UNWIND_SECOND_LEVEL_REGULAR, 511),
                (UNWIND_SECOND_LEVEL_COMPRESSED, 89)
            ]
        );
        assert_eq!(p.common_encodings.len(), 127);
        assert_eq!(p.common_encodings[0], IMMD | 599);
        assert!(p.pages[1].local_encodings.is_empty());
        let expect: Vec<(u32, u32, u32, u32)> = (0..600)
            .map(|i| (0x1000 + 16 * i, IMMD | i, 0, 0))
            .collect();
        assert_eq!(p.rows, expect);

        // A page with local encodings: 200 distinct encodings, 127 common
        // (the highest), 73 local.
        let entries: Vec<UnwindEntry> = (0..200)
            .map(|i| entry(0x1000 + 16 * i as u64, 16, IMMD | i))
            .collect();
        let (_, p) = build_parse(&entries);
        assert_eq!(p.pages.len(), 1);
        assert_eq!(p.pages[0].kind, UNWIND_SECOND_LEVEL_COMPRESSED);
        assert_eq!(
            p.pages[0].local_encodings,
            (0..73).map(|i| IMMD | i).collect::<Vec<_>>()
        );
        assert_eq!(p.rows.len(), 200);

        // Beyond the 24-bit range: a regular page for everything left.
        let entries = [
            entry(0x1000, 16, RBP),
            entry(0x1000 + 0x0100_0000, 16, IMMD),
            entry(0x1010 + 0x0100_0000, 16, RBP),
        ];
        let (_, p) = build_parse(&entries);
        assert_eq!(p.pages.len(), 1);
        assert_eq!(p.pages[0].kind, UNWIND_SECOND_LEVEL_REGULAR);
        assert_eq!(p.rows.len(), 3);
        assert_eq!(p.rows[1].0, 0x0100_1000);

        // Just inside the range stays compressed.
        let entries = [
            entry(0x1000, 16, RBP),
            entry(0x1000 + 0x00FF_FFFE, 16, IMMD),
        ];
        let (_, p) = build_parse(&entries);
        assert_eq!(p.pages[0].kind, UNWIND_SECOND_LEVEL_COMPRESSED);
        assert_eq!(p.rows[1].0, 0x0100_0FFE);
    }

    #[test]
    fn unwind_lsda_index() {
        // 1100 unfoldable entries; every 100th has an LSDA.
        let entries: Vec<UnwindEntry> = (0..1100u64)
            .map(|i| {
                let mut e = entry(0x1000 + 16 * i, 16, if i % 2 == 0 { RBP } else { IMMD });
                if i % 100 == 0 {
                    e.lsda = BASE + 0x10_0000 + 8 * i;
                }
                e
            })
            .collect();
        let (bytes, p) = build_parse(&entries);
        let expect: Vec<(u32, u32)> = (0..1100u32)
            .step_by(100)
            .map(|i| (0x1000 + 16 * i, 0x10_0000 + 8 * i))
            .collect();
        assert_eq!(p.lsdas, expect);
        for (i, row) in p.rows.iter().enumerate() {
            let want = if i % 100 == 0 {
                0x10_0000 + 8 * i as u32
            } else {
                0
            };
            assert_eq!(row.3, want);
        }
        // Page 2 starts at entry 1021, after 11 LSDAs (0, 100, .., 1000).
        let idx = read_u32(&bytes, 20).unwrap() as usize;
        let lsda0 = read_u32(&bytes, idx + 8).unwrap();
        let lsda1 = read_u32(&bytes, idx + 12 + 8).unwrap();
        let lsda_end = read_u32(&bytes, idx + 24 + 8).unwrap();
        assert_eq!(lsda1 - lsda0, 11 * 8);
        assert_eq!(lsda_end - lsda0, 11 * 8);
        assert_eq!(lsda0 as usize, idx + 3 * 12);
    }

    #[test]
    fn row_lookup_agrees_with_the_full_parse() {
        // Regular and compressed pages, two personalities, LSDAs on some
        // rows, runs that fold: every row, personality and LSDA one lookup
        // finds is the full parse's, and offsets inside a row find it.
        let entries: Vec<UnwindEntry> = (0..2500u64)
            .map(|i| {
                let mut e = entry(0x1000 + 16 * i, 16, if i % 3 == 0 { RBP } else { IMMD });
                if i % 7 == 0 {
                    e.personality_got = BASE + 0x4000 + 8 * (i % 2);
                }
                if i % 11 == 0 {
                    e.lsda = BASE + 0x10_0000 + 8 * i;
                }
                e
            })
            .collect();
        let (bytes, p) = build_parse(&entries);
        let table = RowLookup::new(&bytes).expect("a table we built");
        for (k, &(start, encoding, personality, lsda)) in p.rows.iter().enumerate() {
            let end = p.rows.get(k + 1).map_or(table.end(), |r| r.0);
            for at in [start, (start + end) / 2, end - 1] {
                assert_eq!(table.row(at), Some((start, encoding)), "at {at:#x}");
            }
            let want = match personality {
                0 => 0,
                i => p.personalities[i as usize - 1],
            };
            assert_eq!(table.personality(encoding), Some(want));
            assert_eq!(table.lsda(start), lsda);
            assert_eq!(covering_row(&bytes, start), Some((start, encoding)));
        }
        assert_eq!(table.row(table.end()), None);
        assert_eq!(table.row(0), None);
        // An offset no LSDA entry starts at has none.
        assert_eq!(table.lsda(0x1000 + 16), 0);
    }

    #[test]
    fn unwind_personality_array() {
        let got_a = BASE + 0x4000;
        let got_b = BASE + 0x4008;
        let mut entries = vec![
            entry(0x1000, 0x10, RBP),
            entry(0x1010, 0x10, RBP),
            entry(0x1020, 0x10, RBP),
            entry(0x1030, 0x10, RBP),
        ];
        entries[1].personality_got = got_b;
        entries[1].lsda = BASE + 0x9000;
        entries[2].personality_got = got_a;
        entries[2].lsda = BASE + 0x9010;
        entries[3].personality_got = got_b;
        // Stray personality bits in the input are replaced.
        entries[3].encoding |= UNWIND_PERSONALITY_MASK;
        let (_, p) = build_parse(&entries);
        assert_eq!(p.personalities, vec![0x4008, 0x4000]);
        assert_eq!(
            p.rows,
            vec![
                (0x1000, RBP, 0, 0),
                (0x1010, RBP | 0x1000_0000, 1, 0x9000),
                (0x1020, RBP | 0x2000_0000, 2, 0x9010),
                (0x1030, RBP | 0x1000_0000, 1, 0),
            ]
        );
        // Same personality, no LSDA: folds.
        let mut folding = [entry(0x1000, 0x10, RBP), entry(0x1010, 0x10, RBP)];
        folding[0].personality_got = got_a;
        folding[1].personality_got = got_a;
        let (_, p) = build_parse(&folding);
        assert_eq!(p.rows, vec![(0x1000, RBP | 0x1000_0000, 1, 0)]);

        // Four personalities cannot be encoded.
        let many: Vec<UnwindEntry> = (0..4u64)
            .map(|i| UnwindEntry {
                personality_got: BASE + 0x4000 + 8 * i,
                ..entry(0x1000 + 16 * i, 16, RBP)
            })
            .collect();
        assert_eq!(
            try_build_unwind_info(&many, BASE, BASE + 0x1040, &x86_fold),
            Err(UnwindInfoError::TooManyPersonalities(4))
        );
    }

    #[test]
    fn unwind_plan_size_is_final_before_personality_and_lsda_addresses() {
        // Keys now, addresses at encoding: the same bytes as a build from
        // the addresses, and exactly the planned size.
        let mut rng = Lcg(11);
        for n in [1usize, 5, 700, 1500, 4000] {
            let keyed: Vec<UnwindEntry> = (0..n)
                .map(|i| {
                    let mut e = entry(0x1000 + 32 * i as u64, 32, IMMD | (i as u32 % 150));
                    if rng.next_u64().is_multiple_of(7) {
                        e.personality_got = 1 + rng.next_u64() % 3;
                        e.lsda = 1 + i as u64;
                    }
                    e
                })
                .collect();
            let got = |key: u64| BASE + 0x40_0000 + 8 * key;
            let lsda = |key: u64| BASE + 0x50_0000 + 4 * key;
            let addressed: Vec<UnwindEntry> = keyed
                .iter()
                .map(|e| UnwindEntry {
                    personality_got: if e.personality_got == 0 {
                        0
                    } else {
                        got(e.personality_got)
                    },
                    lsda: if e.lsda == 0 { 0 } else { lsda(e.lsda) },
                    ..*e
                })
                .collect();
            let plan = plan_unwind_info(&keyed, BASE, 0, &x86_fold).unwrap();
            let bytes = plan.encode(|k| Some(got(k)), |k| Some(lsda(k))).unwrap();
            assert_eq!(bytes.len() as u64, plan.size());
            assert_eq!(bytes, build_unwind_info(&addressed, BASE, 0, &x86_fold));
            assert!(bytes.len() as u64 <= unwind_info_size_bound(&keyed));
        }
        // An unresolved key is an error, not a silent zero.
        let mut one = [entry(0x1000, 16, RBP)];
        one[0].lsda = 1;
        let plan = plan_unwind_info(&one, BASE, 0, &x86_fold).unwrap();
        assert_eq!(
            plan.encode(Some, |_| None),
            Err(UnwindInfoError::Unresolved("LSDA"))
        );
    }

    #[test]
    fn unwind_zero_entries() {
        assert!(build_unwind_info(&[], BASE, BASE, &x86_fold).is_empty());
        assert_eq!(unwind_info_size_bound(&[]), 0);
        assert_eq!(parse_unwind_info(&[]), Some(vec![]));
    }

    #[test]
    fn unwind_duplicates_and_ranges() {
        // Two entries at one address: the one with unwind info wins.
        let entries = [entry(0x1000, 0x10, 0), entry(0x1000, 0x10, RBP)];
        let (_, p) = build_parse(&entries);
        assert_eq!(p.rows, vec![(0x1000, RBP, 0, 0)]);
        // Below the image base or beyond 4 GiB of it.
        let low = [UnwindEntry {
            function_addr: 0x1000,
            ..entry(0, 0x10, RBP)
        }];
        assert!(matches!(
            try_build_unwind_info(&low, BASE, BASE, &x86_fold),
            Err(UnwindInfoError::OutOfRange { .. })
        ));
        let high = [entry(0x1_0000_0000, 0x10, RBP)];
        assert!(try_build_unwind_info(&high, BASE, 0, &x86_fold).is_err());
        // arm64: its DWARF mode (3) does not fold, its frame mode (4) does.
        let arm = [
            entry(0x1000, 0x10, 0x0400_0000),
            entry(0x1010, 0x10, 0x0400_0000),
            entry(0x1020, 0x10, UNWIND_ARM64_MODE_DWARF),
            entry(0x1030, 0x10, UNWIND_ARM64_MODE_DWARF),
        ];
        let bytes = try_build_unwind_info(&arm, BASE, BASE + 0x1040, &arm64_fold).unwrap();
        assert_eq!(parse_unwind_info(&bytes).unwrap().len(), 3);
    }

    use testkit::Lcg;

    #[test]
    fn unwind_10k_entries() {
        let mut rng = Lcg(7);
        let mut addr = 0x1000u64;
        let encodings = [RBP, IMMD | 0x10000, IMMD | 0x20000, 0, RBP | 0x1];
        let entries: Vec<UnwindEntry> = (0..10_000)
            .map(|i| {
                let len = 16 + 16 * (rng.next_u64() % 20) as u32;
                let mut enc = encodings[(rng.next_u64() % 5) as usize];
                if i % 37 == 0 {
                    enc = UNWIND_X86_64_MODE_DWARF | (i * 24);
                }
                let mut e = entry(addr, len, enc);
                addr += u64::from(len);
                if i % 53 == 0 {
                    e.lsda = BASE + 0x80_0000 + 16 * u64::from(i);
                    e.personality_got = BASE + 0x90_0000;
                }
                e
            })
            .collect();
        let mut shuffled = entries.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let start = std::time::Instant::now();
        let bytes = build_unwind_info(&shuffled, BASE, BASE + addr, &x86_fold);
        let elapsed = start.elapsed();
        println!(
            "__unwind_info for 10k entries: {} bytes in {:?}",
            bytes.len(),
            elapsed
        );
        assert!(elapsed.as_millis() < 500);
        assert!(bytes.len() as u64 <= unwind_info_size_bound(&shuffled));
        let p = parse_unwind_info_full(&bytes).unwrap();
        assert_eq!(p.end_offset as u64, addr);
        // Every original function resolves (last row at or below it) to its
        // own encoding.
        for e in &entries {
            let off = (e.function_addr - BASE) as u32;
            let i = p.rows.partition_point(|r| r.0 <= off) - 1;
            let row = p.rows[i];
            assert_eq!(row.1 & !UNWIND_PERSONALITY_MASK, e.encoding);
            assert_eq!(row.2 != 0, e.personality_got != 0);
            if e.lsda != 0 {
                assert_eq!(row.0, off);
                assert_eq!(u64::from(row.3), e.lsda - BASE);
            }
        }
        assert_eq!(
            build_unwind_info(&entries, BASE, BASE + addr, &x86_fold),
            bytes
        );
    }

    #[test]
    fn unwind_size_bound_holds_for_any_layout() {
        let mut rng = Lcg(42);
        for round in 0..40 {
            let n = 1 + (rng.next_u64() % 3000) as usize;
            let spread = if round % 4 == 0 { 0x0100_0000 } else { 64 };
            let distinct = 1 + rng.next_u64() % if round % 3 == 0 { 400 } else { 4 };
            let entries: Vec<UnwindEntry> = (0..n)
                .map(|_| {
                    let mut e = entry(
                        rng.next_u64() % (spread * n as u64 / 8 + 1),
                        16,
                        IMMD | (rng.next_u64() % distinct) as u32,
                    );
                    if rng.next_u64().is_multiple_of(10) {
                        e.lsda = BASE + 0x1000 * (1 + rng.next_u64() % 100);
                    }
                    e
                })
                .collect();
            let bytes = build_unwind_info(&entries, BASE, end_of(&entries), &x86_fold);
            assert!(bytes.len() as u64 <= unwind_info_size_bound(&entries));
            assert!(parse_unwind_info(&bytes).is_some());
        }
    }

    #[test]
    fn unwind_parse_rejects_garbage_without_panicking() {
        let entries: Vec<UnwindEntry> = (0..700)
            .map(|i| {
                let mut e = entry(0x1000 + 16 * i as u64, 16, IMMD | (i % 300));
                if i % 9 == 0 {
                    e.lsda = BASE + 0x9000 + i as u64;
                    e.personality_got = BASE + 0x4000;
                }
                e
            })
            .collect();
        let (bytes, _) = build_parse(&entries);
        for len in 0..200 {
            let _ = parse_unwind_info(&bytes[..len]);
        }
        assert!(parse_unwind_info(&bytes[..bytes.len() - 4096]).is_none());
        let mut rng = Lcg(3);
        for _ in 0..2000 {
            let mut bad = bytes.clone();
            for _ in 0..4 {
                let at = (rng.next_u64() as usize) % 200.min(bad.len());
                bad[at] = rng.next_u64() as u8;
            }
            let at = (rng.next_u64() as usize) % bad.len();
            bad[at] ^= 0xFF;
            let _ = parse_unwind_info(&bad);
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(parse_unwind_info(&v2).is_none());
    }

    /// Applies row changes to a whole row list, as an update's rebuild
    /// does (the model [`patch_rows`] must agree with).
    fn apply_model(rows: &mut Vec<(u32, u32)>, end: &mut u32, changes: &[RowChange]) {
        for c in changes {
            apply_change(rows, end, c);
        }
    }

    /// The encoding that covers each of `probes`, as an unwinder finds it.
    fn lookups(data: &[u8], probes: &[u32]) -> Vec<Option<u32>> {
        probes
            .iter()
            .map(|&p| covering_row(data, p).map(|r| r.1))
            .collect()
    }

    #[test]
    fn patched_rows_unwind_as_a_rebuild_would() {
        // Three encodings in a pattern that folds some runs; enough rows
        // for full compressed pages.
        let enc = |i: u64| match i % 7 {
            0 | 1 => RBP,
            2 => IMMD | 0x10000,
            3 => UNWIND_X86_64_MODE_DWARF | (i as u32 & 0xffff),
            _ => RBP | 0x100,
        };
        let entries: Vec<UnwindEntry> = (0..6000)
            .map(|i| entry(0x1000 + 32 * i, 32, enc(i)))
            .collect();
        let built = build_unwind_info(&entries, BASE, end_of(&entries), &x86_fold);
        let parsed = parse_unwind_info_full(&built).unwrap();
        assert!(parsed.pages.len() >= 3);
        let cases: Vec<Vec<RowChange>> = vec![
            // A moved body past the end, with another encoding.
            vec![RowChange {
                start: 0x1000 + 32 * 6000 + 64,
                len: 200,
                encoding: IMMD | 0x30000,
            }],
            // A row in the middle of a full page (one more row: the page
            // splits) and a body at the end.
            vec![
                RowChange {
                    start: 0x1000 + 32 * 10 + 8,
                    len: 8,
                    encoding: 0,
                },
                RowChange {
                    start: 0x1000 + 32 * 6000,
                    len: 64,
                    encoding: RBP,
                },
            ],
            // A range across a page boundary, and one at the very start.
            vec![
                RowChange {
                    start: parsed.pages[1].function_offset - 40,
                    len: 100,
                    encoding: UNWIND_X86_64_MODE_DWARF | 0x4242,
                },
                RowChange {
                    start: 0x1000,
                    len: 32,
                    encoding: IMMD | 0x50000,
                },
            ],
            // Many new encodings on one page: its local encodings grow.
            (0..40)
                .map(|k| RowChange {
                    start: 0x1000 + 32 * (1100 + 2 * k),
                    len: 32,
                    encoding: 0x0200_0000 | (k << 16),
                })
                .collect(),
        ];
        let mut grew = 0;
        for changes in cases {
            let mut data = built.clone();
            data.resize(built.len() + 4 * SECOND_LEVEL_PAGE_BYTES, 0);
            let touched = patch_rows(&mut data, &changes, &x86_fold).expect("patched");
            assert!(touched.iter().all(|r| r.end <= data.len()));
            let p = parse_unwind_info_full(&data).expect("the patched table parses");
            let mut rows: Vec<(u32, u32)> = parsed.rows.iter().map(|r| (r.0, r.1)).collect();
            let mut end = parsed.end_offset;
            apply_model(&mut rows, &mut end, &changes);
            assert_eq!(p.end_offset, end);
            // Every row start of either table, and the bytes after each,
            // unwind alike.
            let mut probes: Vec<u32> = rows
                .iter()
                .chain(p.rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>().iter())
                .flat_map(|r| [r.0, r.0 + 1])
                .filter(|&o| o < end)
                .collect();
            probes.sort_unstable();
            probes.dedup();
            let model = {
                let model_entries: Vec<UnwindEntry> = rows
                    .iter()
                    .enumerate()
                    .map(|(i, &(off, e))| {
                        let next = rows.get(i + 1).map_or(end, |r| r.0);
                        entry(u64::from(off), next - off, e)
                    })
                    .collect();
                build_unwind_info(&model_entries, BASE, BASE + u64::from(end), &x86_fold)
            };
            assert_eq!(lookups(&data, &probes), lookups(&model, &probes));
            grew += usize::from(p.pages.len() > parsed.pages.len());
        }
        // Some pages overflowed: the index grew over the first page.
        assert!(grew >= 2, "{grew}");
    }

    #[test]
    fn patch_rows_leaves_tables_with_lsdas_to_a_rebuild() {
        let mut entries = vec![entry(0x1000, 0x10, RBP), entry(0x1010, 0x30, IMMD)];
        entries[1].lsda = BASE + 0x8000;
        let mut data = build_unwind_info(&entries, BASE, end_of(&entries), &x86_fold);
        let before = data.clone();
        let change = RowChange {
            start: 0x1000,
            len: 8,
            encoding: 0,
        };
        assert!(patch_rows(&mut data, &[change], &x86_fold).is_none());
        assert_eq!(data, before);
    }
}
