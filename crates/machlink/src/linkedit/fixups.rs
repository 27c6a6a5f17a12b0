//! Dyld fixups of the output: which pointer slots dyld must rebase (slide)
//! or bind (to an imported symbol), encoded either as chained fixups
//! (LC_DYLD_CHAINED_FIXUPS) or as classic rebase/bind opcode streams
//! (LC_DYLD_INFO_ONLY).

use super::chained::{self, ChainedPtr, DYLD_CHAINED_PTR_64, START_NONE};
use crate::formats::uleb::{write_sleb, write_uleb};
use crate::layout::Layout;
use object::macho;

/// What dyld writes into one 8-byte slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixupKind {
    /// The unslid address `target`, slid at load time.
    Rebase { target: u64 },
    /// The address of `imports[import]` plus `addend`.
    Bind { import: u32, addend: i64 },
    /// Classic format only: besides its rebase or bind, the slot takes the
    /// definition of `imports[import]` (plus `addend`) that dyld coalesces
    /// across images (a weak bind record, see [`crate::weak`]).
    WeakBind { import: u32, addend: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup {
    pub addr: u64,
    pub kind: FixupKind,
}

/// Sorts `fixups` by address, as a stable sort would. They come object
/// after object, each object's in ascending runs per output section, and
/// sections are laid out in input order: distributed into one bucket per
/// section (`section_starts`, ascending), in order, each bucket is
/// usually sorted already, and only one that is not (an order file moved
/// atoms) is sorted on its own. Sorting all of them at once cost 29 M
/// instructions on a 100k-function link.
pub fn sort_by_address(fixups: &mut Vec<Fixup>, section_starts: &[u64]) {
    let Some(&first) = fixups.first() else {
        return;
    };
    let mut bucket = Buckets::new(section_starts);
    let mut next = vec![0usize; section_starts.len().max(1) + 1];
    for f in fixups.iter() {
        next[bucket.of(f.addr) + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let bounds = next.clone();
    let mut sorted = vec![first; fixups.len()];
    for f in fixups.iter() {
        let b = bucket.of(f.addr);
        sorted[next[b]] = *f;
        next[b] += 1;
    }
    for w in bounds.windows(2) {
        let run = &mut sorted[w[0]..w[1]];
        if !run.is_sorted_by_key(|f| f.addr) {
            run.sort_by_key(|f| f.addr);
        }
    }
    *fixups = sorted;
}

/// The section (bucket) of an address: the last section starting at or
/// before it (the first, for addresses before all). Fixups come in runs
/// within one section, so the last bucket found is tried first.
struct Buckets<'s> {
    starts: &'s [u64],
    /// The last bucket found and the addresses it covers, `lo..hi`.
    last: (usize, u64, u64),
}

impl<'s> Buckets<'s> {
    fn new(starts: &'s [u64]) -> Self {
        Buckets {
            starts,
            last: (0, 1, 0), // covers nothing
        }
    }

    #[inline]
    fn of(&mut self, addr: u64) -> usize {
        let (b, lo, hi) = self.last;
        if lo <= addr && addr < hi {
            return b;
        }
        let b = self
            .starts
            .partition_point(|&s| s <= addr)
            .saturating_sub(1);
        let lo = if b == 0 { 0 } else { self.starts[b] };
        let hi = self.starts.get(b + 1).copied().unwrap_or(u64::MAX);
        self.last = (b, lo, hi);
        b
    }
}

/// An imported symbol as dyld sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub name: Vec<u8>,
    /// 1-based LC_LOAD_DYLIB ordinal, or BIND_SPECIAL_DYLIB_FLAT_LOOKUP (-2).
    pub ordinal: i32,
    pub weak: bool,
}

/// The output's bytes from file offset `start` on, where the slots of the
/// fixups are (the part before may be in the file already: see
/// `write::text_ahead`).
pub struct SlotBytes<'a> {
    pub bytes: &'a mut [u8],
    pub start: usize,
}

impl SlotBytes<'_> {
    /// The 8 bytes of the slot at file offset `off`.
    fn slot(&mut self, off: usize) -> Result<&mut [u8], String> {
        let start = self.start;
        off.checked_sub(start)
            .and_then(|o| self.bytes.get_mut(o..o + 8))
            .ok_or_else(|| {
                format!("internal error: a fixup's slot at file offset {off:#x} is not writable")
            })
    }
}

/// Encodes LC_DYLD_CHAINED_FIXUPS: writes each slot's chained pointer into
/// `image` (the output file bytes) and returns the LINKEDIT blob.
/// `fixups` must be sorted by address. With `all_data_segments` (an
/// incremental link), every data segment gets a page table, even one
/// without fixups yet, so that an update can start chains there.
pub fn encode_chained(
    fixups: &[Fixup],
    imports: &[Import],
    layout: &Layout,
    mut image: SlotBytes,
    all_data_segments: bool,
) -> Result<Vec<u8>, String> {
    // Which import format: inline 8-bit addends fit DYLD_CHAINED_IMPORT;
    // wider ones need an addend table.
    let needs_addend_table = fixups
        .iter()
        .any(|f| matches!(f.kind, FixupKind::Bind { addend, .. } if !(0..=255).contains(&addend)));
    // Binds with a wide addend get an import entry of their own.
    let mut imports_out: Vec<(usize, i64)> = (0..imports.len()).map(|i| (i, 0)).collect();
    let mut wide: rustc_hash::FxHashMap<(u32, i64), u32> = Default::default();
    let mut slots: Vec<(u64, u64)> = Vec::with_capacity(fixups.len()); // (addr, raw pointer minus `next`)
    for f in fixups {
        let raw = match f.kind {
            FixupKind::WeakBind { .. } => {
                return Err(format!(
                    "internal error: a weak bind record at {:#x} in a chained-fixups image",
                    f.addr
                ))
            }
            FixupKind::Rebase { target } => chained::rebase(target)?,
            FixupKind::Bind { import, addend } => {
                let (ordinal, inline) = if (0..=255).contains(&addend) {
                    (import, addend as u64)
                } else {
                    let next = imports_out.len() as u32;
                    let id = *wide.entry((import, addend)).or_insert_with(|| {
                        imports_out.push((import as usize, addend));
                        next
                    });
                    (id, 0)
                };
                ChainedPtr::Bind {
                    ordinal,
                    addend: inline as u8,
                }
                .encode()?
            }
        };
        if f.addr % 4 != 0 {
            return Err(format!(
                "pointer at {:#x} is not 4-byte aligned; chained fixups need that",
                f.addr
            ));
        }
        slots.push((f.addr, raw));
    }
    let format = if !needs_addend_table {
        1
    } else if imports_out.iter().all(|&(_, a)| i32::try_from(a).is_ok()) {
        2
    } else {
        3
    };
    // Thread chains page by page: each slot links to the next one in the
    // same page. The slots are sorted by address, so each segment's are
    // one run of them, found by binary search rather than a segment
    // lookup per slot.
    debug_assert!(
        slots.windows(2).all(|w| w[0].0 <= w[1].0),
        "fixups sorted by address"
    );
    let page_size = layout.page_size;
    // Pages are a power of two: page numbers by shifts, not divisions
    // (two a slot otherwise).
    assert!(page_size.is_power_of_two(), "page size {page_size:#x}");
    let page_shift = page_size.trailing_zeros();
    let mut by_segment: Vec<&[(u64, u64)]> = Vec::with_capacity(layout.segments.len());
    let mut covered = 0;
    // The lowest slot that is not in a file-backed part of a segment.
    let mut first_bad: Option<u64> = None;
    for seg in &layout.segments {
        let start = slots.partition_point(|&(a, _)| a < seg.vmaddr);
        let end = slots.partition_point(|&(a, _)| a < seg.vmaddr + seg.vmsize);
        let run = &slots[start..end];
        covered += run.len();
        by_segment.push(run);
        for (i, &(addr, raw)) in run.iter().enumerate() {
            let off = addr - seg.vmaddr;
            if seg.name == "__PAGEZERO" || off >= seg.filesize {
                first_bad = Some(first_bad.map_or(addr, |b| b.min(addr)));
                break;
            }
            let next = run
                .get(i + 1)
                .filter(|&&(n, _)| (n ^ addr) >> page_shift == 0)
                .map_or(0, |&(n, _)| n - addr);
            let at = (seg.fileoff + off) as usize;
            image
                .slot(at)?
                .copy_from_slice(&chained::with_next(raw, next).to_le_bytes());
        }
    }
    if covered != slots.len() {
        // Some slots lie outside every segment.
        let outside = slots.iter().map(|&(a, _)| a).find(|&a| {
            !layout
                .segments
                .iter()
                .any(|s| a >= s.vmaddr && a < s.vmaddr + s.vmsize)
        });
        if let Some(a) = outside {
            first_bad = Some(first_bad.map_or(a, |b| b.min(a)));
        }
    }
    if let Some(addr) = first_bad {
        return Err(format!(
            "fixup at {addr:#x} is not in a file-backed segment"
        ));
    }

    let mut out = vec![0u8; 32]; // header, padded to 8
    let starts_offset = out.len();
    let nsegs = layout.segments.len() + 1; // + __LINKEDIT
    out.extend_from_slice(&(nsegs as u32).to_le_bytes());
    let seg_info_at = out.len();
    out.resize(out.len() + 4 * nsegs, 0);
    super::pad_to(&mut out, 8);
    for (si, seg) in layout.segments.iter().enumerate() {
        let in_seg = by_segment[si];
        let data_segment = seg.name != "__PAGEZERO" && seg.name != "__TEXT";
        if in_seg.is_empty() && !(all_data_segments && data_segment) {
            continue;
        }
        let info = out.len() - starts_offset;
        out[seg_info_at + 4 * si..seg_info_at + 4 * si + 4]
            .copy_from_slice(&(info as u32).to_le_bytes());
        let page_count = seg.vmsize.div_ceil(page_size) as usize;
        let mut starts = vec![START_NONE; page_count];
        for &(addr, _) in in_seg {
            let off = addr - seg.vmaddr;
            let page = (off >> page_shift) as usize;
            if starts[page] == START_NONE {
                starts[page] = (off & (page_size - 1)) as u16;
            }
        }
        let size = 22 + 2 * page_count;
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&(page_size as u16).to_le_bytes());
        out.extend_from_slice(&DYLD_CHAINED_PTR_64.to_le_bytes());
        out.extend_from_slice(&(seg.vmaddr - layout.image_base).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // max_valid_pointer
        out.extend_from_slice(&(page_count as u16).to_le_bytes());
        for s in starts {
            out.extend_from_slice(&s.to_le_bytes());
        }
        super::pad_to(&mut out, 8);
    }
    let imports_offset = out.len();
    let mut names = Vec::new();
    for &(i, addend) in &imports_out {
        let imp = &imports[i];
        let name_offset = names.len() as u64;
        names.extend_from_slice(&imp.name);
        names.push(0);
        let ordinal = imp.ordinal;
        match format {
            1 | 2 => {
                if name_offset >= 1 << 23 {
                    return Err("import names exceed the 8 MiB DYLD_CHAINED_IMPORT limit".into());
                }
                let raw = (ordinal as u8 as u32)
                    | (u32::from(imp.weak) << 8)
                    | ((name_offset as u32) << 9);
                out.extend_from_slice(&raw.to_le_bytes());
                if format == 2 {
                    out.extend_from_slice(&(addend as i32).to_le_bytes());
                }
            }
            _ => {
                let raw =
                    u64::from(ordinal as u16) | (u64::from(imp.weak) << 16) | (name_offset << 32);
                out.extend_from_slice(&raw.to_le_bytes());
                out.extend_from_slice(&addend.to_le_bytes());
            }
        }
    }
    let symbols_offset = out.len();
    out.extend_from_slice(&names);
    super::pad_to(&mut out, 8);
    let header = [
        0u32, // fixups_version
        starts_offset as u32,
        imports_offset as u32,
        symbols_offset as u32,
        imports_out.len() as u32,
        format,
        0, // symbols_format: uncompressed
    ];
    for (i, v) in header.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes rebased and bound slots' unslid contents into the image for the
/// classic format (dyld adds the slide / overwrites binds), and returns the
/// (rebase, bind) opcode streams.
pub fn encode_opcodes(
    fixups: &[Fixup],
    imports: &[Import],
    layout: &Layout,
    mut image: SlotBytes,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let seg_of = |addr: u64| -> Result<(usize, u64), String> {
        let si = layout
            .segment_of(addr)
            .ok_or_else(|| format!("fixup at {addr:#x} is outside every segment"))?;
        Ok((si, addr - layout.segments[si].vmaddr))
    };
    let mut rebase = vec![macho::REBASE_OPCODE_SET_TYPE_IMM | macho::REBASE_TYPE_POINTER];
    let mut binds: Vec<(u32, i64, u64)> = Vec::new();
    let mut last: Option<(usize, u64)> = None;
    // A slot both rebased and bound (an interposable definition's, see
    // `crate::interpose`) keeps the image's own address until dyld binds it.
    let rebased: rustc_hash::FxHashSet<u64> = fixups
        .iter()
        .filter(|f| matches!(f.kind, FixupKind::Rebase { .. }))
        .map(|f| f.addr)
        .collect();
    for f in fixups {
        let off = layout
            .file_offset(f.addr)
            .ok_or_else(|| format!("fixup at {:#x} is not in a file-backed segment", f.addr))?
            as usize;
        match f.kind {
            FixupKind::Rebase { target } => {
                image.slot(off)?.copy_from_slice(&target.to_le_bytes());
                let (si, so) = seg_of(f.addr)?;
                match last {
                    Some((ls, lo)) if ls == si && so >= lo => {
                        if so > lo {
                            rebase.push(macho::REBASE_OPCODE_ADD_ADDR_ULEB);
                            write_uleb(&mut rebase, so - lo);
                        }
                    }
                    _ => {
                        rebase.push(macho::REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | si as u8);
                        write_uleb(&mut rebase, so);
                    }
                }
                rebase.push(macho::REBASE_OPCODE_DO_REBASE_IMM_TIMES | 1);
                last = Some((si, so + 8));
            }
            FixupKind::Bind { import, addend } => {
                if !rebased.contains(&f.addr) {
                    image.slot(off)?.copy_from_slice(&0u64.to_le_bytes());
                }
                binds.push((import, addend, f.addr));
            }
            // In the weak bind stream (`crate::weak::encode_weak_binds`).
            FixupKind::WeakBind { .. } => {}
        }
    }
    rebase.push(macho::REBASE_OPCODE_DONE);
    binds.sort_by_key(|&(i, a, addr)| (i, a, addr));
    let mut bind = Vec::new();
    let mut cur: Option<(u32, i64)> = None;
    for &(import, addend, addr) in &binds {
        let imp = &imports[import as usize];
        if cur.map(|c| c.0) != Some(import) {
            write_ordinal(&mut bind, imp.ordinal);
            let flags = if imp.weak {
                macho::BIND_SYMBOL_FLAGS_WEAK_IMPORT
            } else {
                0
            };
            bind.push(macho::BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM | flags);
            bind.extend_from_slice(&imp.name);
            bind.push(0);
            bind.push(macho::BIND_OPCODE_SET_TYPE_IMM | macho::BIND_TYPE_POINTER);
        }
        if cur != Some((import, addend)) {
            bind.push(macho::BIND_OPCODE_SET_ADDEND_SLEB);
            write_sleb(&mut bind, addend);
        }
        cur = Some((import, addend));
        let (si, so) = seg_of(addr)?;
        bind.push(macho::BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | si as u8);
        write_uleb(&mut bind, so);
        bind.push(macho::BIND_OPCODE_DO_BIND);
    }
    bind.push(macho::BIND_OPCODE_DONE);
    super::pad_to(&mut rebase, 8);
    super::pad_to(&mut bind, 8);
    Ok((rebase, bind))
}

/// Encodes the lazy bind stream: one record per lazy pointer, each ending
/// in DONE. Returns the stream and each record's offset (the stub helper
/// pushes it for dyld_stub_binder).
pub fn encode_lazy_binds(
    entries: &[(u64, u32)],
    imports: &[Import],
    layout: &Layout,
) -> Result<(Vec<u8>, Vec<u32>), String> {
    let mut out = Vec::new();
    let mut offsets = Vec::with_capacity(entries.len());
    for &(addr, import) in entries {
        offsets.push(out.len() as u32);
        let si = layout
            .segment_of(addr)
            .ok_or_else(|| format!("lazy pointer at {addr:#x} is outside every segment"))?;
        out.push(macho::BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | si as u8);
        write_uleb(&mut out, addr - layout.segments[si].vmaddr);
        let imp = &imports[import as usize];
        write_ordinal(&mut out, imp.ordinal);
        let flags = if imp.weak {
            macho::BIND_SYMBOL_FLAGS_WEAK_IMPORT
        } else {
            0
        };
        out.push(macho::BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM | flags);
        out.extend_from_slice(&imp.name);
        out.push(0);
        out.push(macho::BIND_OPCODE_DO_BIND);
        out.push(macho::BIND_OPCODE_DONE);
    }
    super::pad_to(&mut out, 8);
    Ok((out, offsets))
}

/// The opcode that selects a dylib ordinal (or a special one: self, main
/// executable, flat lookup).
fn write_ordinal(out: &mut Vec<u8>, ordinal: i32) {
    if ordinal <= 0 {
        out.push(macho::BIND_OPCODE_SET_DYLIB_SPECIAL_IMM | (ordinal as u8 & 0x0f));
    } else if ordinal < 16 {
        out.push(macho::BIND_OPCODE_SET_DYLIB_ORDINAL_IMM | ordinal as u8);
    } else {
        out.push(macho::BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB);
        write_uleb(out, ordinal as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucketed sort gives what a stable sort gives, for fixups in
    /// per-object runs and for scrambled ones (an order file), duplicates
    /// and addresses before the first section included.
    #[test]
    fn sort_by_address_matches_a_stable_sort() {
        let starts = [0x1000, 0x4000, 0x8000, 0x9000];
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for scrambled in [false, true] {
            let mut fixups = Vec::new();
            for object in 0..20u64 {
                for (si, &start) in starts.iter().enumerate() {
                    for i in 0..(next() % 30) {
                        let addr = if scrambled {
                            next() % 0xa000
                        } else {
                            start + object * 0x80 + i * 8
                        };
                        let kind = FixupKind::Bind {
                            import: (object * 10 + si as u64) as u32,
                            addend: i as i64,
                        };
                        fixups.push(Fixup { addr, kind });
                        if i % 7 == 3 {
                            // A second fixup at the same address keeps its place.
                            fixups.push(Fixup {
                                addr,
                                kind: FixupKind::Rebase { target: i },
                            });
                        }
                    }
                }
            }
            let mut expected = fixups.clone();
            expected.sort_by_key(|f| f.addr);
            sort_by_address(&mut fixups, &starts);
            assert_eq!(fixups, expected, "scrambled: {scrambled}");
        }
        let mut none = Vec::new();
        sort_by_address(&mut none, &starts);
        assert!(none.is_empty());
    }
}
