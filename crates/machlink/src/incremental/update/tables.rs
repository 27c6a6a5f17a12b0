//! The `__TEXT` and LINKEDIT tables an update keeps current: unwind
//! rows, function starts, and the symbol tables.

use super::*;

/// What an update gives a function's `__unwind_info` row: its encoding,
/// and the addresses of its personality's GOT slot and of its LSDA (0:
/// none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct UnwindRow {
    pub encoding: u32,
    pub personality_got: u64,
    pub lsda: u64,
}

impl UnwindRow {
    pub fn plain(encoding: u32) -> UnwindRow {
        UnwindRow {
            encoding,
            personality_got: 0,
            lsda: 0,
        }
    }

    /// Whether it names a personality or an LSDA.
    pub fn names_tables(&self) -> bool {
        self.personality_got != 0 || self.lsda != 0
    }
}

impl Updater<'_> {
    pub(super) fn rewrite_unwind_info(&mut self) -> Step<()> {
        if self.unwind.is_empty() {
            return Ok(());
        }
        let meta = &self.session.base.meta;
        let Some(sec) = meta
            .sections
            .iter()
            .find(|s| s.synthetic && s.sectname == "__unwind_info")
            .cloned()
        else {
            return Ok(());
        };
        let range = sec.offset as usize..(sec.offset + sec.size) as usize;
        let tables = self.unwind_complex
            || self
                .unwind
                .iter()
                .any(|(_, _, r)| r.is_some_and(|r| r.names_tables()));
        if !tables && (self.unwind_rows_covered(&range) || self.patch_unwind_rows(&range)) {
            return Ok(());
        }
        if tables && self.unwind_rows_unchanged(&range) {
            return Ok(());
        }
        let base = meta.image_base;
        let parsed = crate::unwind_info::parse_unwind_info_full(&self.img[range.clone()])
            .ok_or_else(|| Stop::Fallback("the image's __unwind_info does not parse".into()))?;
        // Each row as the full link's planner takes it: addresses, the
        // personality by its GOT slot, the LSDA by its address.
        let personality = |index: u32| match index {
            0 => Some(0),
            i => parsed
                .personalities
                .get(i as usize - 1)
                .map(|&p| base + u64::from(p)),
        };
        let mut rows: Vec<(u64, UnwindRow)> = Vec::with_capacity(parsed.rows.len());
        for &(off, encoding, p, lsda) in &parsed.rows {
            let personality_got = personality(p).ok_or_else(|| {
                Stop::Fallback("the image's __unwind_info names a missing personality".into())
            })?;
            rows.push((
                base + u64::from(off),
                UnwindRow {
                    encoding: encoding & !crate::unwind_info::UNWIND_PERSONALITY_MASK,
                    personality_got,
                    lsda: if lsda == 0 { 0 } else { base + u64::from(lsda) },
                },
            ));
        }
        let mut end = base + u64::from(parsed.end_offset);
        for &(addr, len, row) in &self.unwind {
            let Some(row) = row else {
                // A freed range keeps its row (nothing runs there), but no
                // LSDA: its call sites were the code's that left.
                if let Ok(i) = rows.binary_search_by_key(&addr, |r| r.0) {
                    rows[i].1.lsda = 0;
                }
                continue;
            };
            let after = addr + len.max(1);
            // Whatever covered the first byte after the range still does
            // (rows only mark starts, and a run of one encoding is one
            // row), with no LSDA: an LSDA belongs to the row that starts
            // its function.
            if after < end {
                let i = rows.partition_point(|r| r.0 <= after);
                if i > 0 && rows[i - 1].0 != after {
                    let continued = UnwindRow {
                        lsda: 0,
                        ..rows[i - 1].1
                    };
                    rows.insert(i, (after, continued));
                }
            }
            // Rows inside the range belonged to what lived there before.
            let lo = rows.partition_point(|r| r.0 < addr);
            let hi = rows.partition_point(|r| r.0 < after);
            rows.drain(lo..hi);
            rows.insert(lo, (addr, row));
            end = end.max(after);
        }
        // Function ends extend to the next row (the format stores starts).
        let entries: Vec<crate::unwind_info::UnwindEntry> = rows
            .iter()
            .enumerate()
            .map(|(i, &(addr, row))| {
                let next = rows.get(i + 1).map_or(end, |r| r.0);
                crate::unwind_info::UnwindEntry {
                    function_addr: addr,
                    length: (next.max(addr + 1) - addr) as u32,
                    encoding: row.encoding,
                    personality_got: row.personality_got,
                    lsda: row.lsda,
                }
            })
            .collect();
        let arch = self.arch;
        let bytes = crate::unwind_info::try_build_unwind_info(&entries, base, end, &|e| {
            arch.unwind_can_fold(e)
        })
        .map_err(|e| Stop::Fallback(format!("cannot rebuild __unwind_info: {e}")))?;
        if bytes.len() as u64 > sec.size {
            return fallback("__unwind_info is out of reserved room");
        }
        self.img[range.clone()].fill(0);
        self.img[range.start..range.start + bytes.len()].copy_from_slice(&bytes);
        self.touched.push(range.start as u64..range.end as u64);
        Ok(())
    }

    /// With exception tables (every Rust and most C++ programs), each
    /// replayed function's range is listed, changed or not: whether the
    /// image's table already says for every one of them what a rebuild
    /// would (one row covering the range, with its encoding, personality
    /// and LSDA; a freed range with no LSDA). An edit that leaves its
    /// functions in place with the same unwind rows is then spared the
    /// rebuild, whose cost follows the program's functions (1.1 ms of
    /// ripgrep's x86_64 update, 6 ms on arm64).
    fn unwind_rows_unchanged(&self, range: &Range<usize>) -> bool {
        let base = self.session.base.meta.image_base;
        let Some(table) = crate::unwind_info::RowLookup::new(&self.img[range.clone()]) else {
            return false;
        };
        let rel = |a: u64| u32::try_from(a.wrapping_sub(base)).ok();
        let addr_of = |off: u32| if off == 0 { 0 } else { base + u64::from(off) };
        self.unwind.iter().all(|&(addr, len, row)| {
            let (Some(start), Some(last)) = (rel(addr), rel(addr + len.max(1) - 1)) else {
                return false;
            };
            let Some(covering) = table.row(start) else {
                return false;
            };
            let lsda = addr_of(table.lsda(start));
            match row {
                None => lsda == 0,
                Some(r) => {
                    let mask = crate::unwind_info::UNWIND_PERSONALITY_MASK;
                    table.row(last) == Some(covering)
                        && covering.1 & !mask == r.encoding & !mask
                        && table.personality(covering.1).map(addr_of) == Some(r.personality_got)
                        && lsda == r.lsda
                }
            }
        })
    }

    /// The common case of a table without exception tables: every new
    /// body is already covered by a row with its encoding (rows fold runs
    /// of one encoding), or lies past the covered range where the last row
    /// has its encoding, so that moving the end marker covers it. Then no
    /// row changes, and this patches the end marker if it moved.
    fn unwind_rows_covered(&mut self, range: &Range<usize>) -> bool {
        let base = self.session.base.meta.image_base;
        let arch = self.arch;
        let data = &self.img[range.clone()];
        let mut end_patch = crate::unwind_info::sentinel(data);
        // The table's header and index read once for every row looked up.
        let table = crate::unwind_info::RowLookup::new(data);
        let covering_row = |offset: u32| table.as_ref().and_then(|t| t.row(offset));
        let covered = self.unwind.iter().all(|&(addr, len, row)| {
            let Some(UnwindRow { encoding: e, .. }) = row else {
                return true; // a freed range keeps its row: nothing runs there
            };
            let rel = |a: u64| u32::try_from(a.wrapping_sub(base)).ok();
            let (Some(start), Some(last)) = (rel(addr), rel(addr + len.max(1) - 1)) else {
                return false;
            };
            if !arch.unwind_can_fold(e) {
                return false;
            }
            match &mut end_patch {
                Some((_, end)) if start >= *end => {
                    let last_row = covering_row(*end - 1);
                    if last_row.is_some_and(|r| r.1 == e) {
                        *end = (*end).max(last + 1);
                        return true;
                    }
                    false
                }
                _ => {
                    // One row, with its encoding, from first byte to last.
                    let row = covering_row(start);
                    row.is_some_and(|r| r.1 == e) && covering_row(last) == row
                }
            }
        });
        if !covered {
            return false;
        }
        if let Some((at, end)) = end_patch {
            let at = range.start + at;
            self.img[at..at + 4].copy_from_slice(&end.to_le_bytes());
            self.touched.push(at as u64..at as u64 + 4);
        }
        true
    }

    /// A table without exception tables whose rows change: only the
    /// second-level pages holding changed rows are rewritten (see
    /// [`crate::unwind_info::patch_rows`]), not the whole table, whose
    /// rebuild costs in proportion to the program's functions. False (the
    /// image untouched) when that cannot be done: the caller rebuilds.
    fn patch_unwind_rows(&mut self, range: &Range<usize>) -> bool {
        let base = self.session.base.meta.image_base;
        let rel = |a: u64| u32::try_from(a.wrapping_sub(base)).ok();
        // A freed range keeps its row (nothing runs there); without LSDAs
        // there is nothing to clear in it.
        let changes: Option<Vec<crate::unwind_info::RowChange>> = self
            .unwind
            .iter()
            .filter_map(|&(addr, len, row)| row.map(|r| (addr, len, r)))
            .map(|(addr, len, row)| {
                Some(crate::unwind_info::RowChange {
                    start: rel(addr)?,
                    len: u32::try_from(len).ok()?,
                    encoding: row.encoding,
                })
            })
            .collect();
        let Some(changes) = changes else {
            return false;
        };
        let arch = self.arch;
        let data = &mut self.img[range.clone()];
        let Some(written) =
            crate::unwind_info::patch_rows(data, &changes, &|e| arch.unwind_can_fold(e))
        else {
            return false;
        };
        let at = range.start as u64;
        self.touched.extend(
            written
                .into_iter()
                .map(|r| at + r.start as u64..at + r.end as u64),
        );
        true
    }

    /// Returns whether the tables were rewritten.
    pub(super) fn rewrite_symbols(&mut self) -> Step<bool> {
        if self.symbol_edits.is_empty() && self.imports_added.is_empty() {
            return Ok(false);
        }
        let meta = &self.session.base.meta;
        let rooms = crate::incremental::symtab_edit::Rooms {
            exports: meta.linkedit.exports,
            symtab: meta.linkedit.symtab,
            strtab: meta.linkedit.strtab,
        };
        let sections = &meta.sections;
        let is_tlv = |n_sect: u8| {
            sections
                .get(usize::from(n_sect).wrapping_sub(1))
                .is_some_and(|s| {
                    crate::section_flags::kind(s.flags) == macho::S_THREAD_LOCAL_VARIABLES
                })
        };
        let edits = std::mem::take(&mut self.symbol_edits);
        let imports: Vec<crate::incremental::symtab_edit::NewUndefined> = self
            .imports_added
            .iter()
            .map(|i| crate::incremental::symtab_edit::NewUndefined {
                name: i.name.clone(),
                n_desc: ((i.ordinal as u16) << 8) | if i.weak_ref { macho::N_WEAK_REF } else { 0 },
                slots: vec![i.slot.stub, i.slot.got],
            })
            .collect();
        let touched = crate::incremental::symtab_edit::rewrite(
            &self.orig,
            &mut self.img,
            &rooms,
            meta.image_base,
            &is_tlv,
            edits,
            &imports,
        )
        .map_err(|why| Stop::Fallback(format!("symbol table: {why}")))?;
        self.touched.extend(touched);
        Ok(true)
    }

    /// Rewrites LC_FUNCTION_STARTS from the first changed address on (the
    /// ULEB deltas before it stay as they are): moved bodies land near the
    /// end of their section, so the tail is short. The tail is found from
    /// the list's end, which the delta remembers (see
    /// [`state::Delta::starts_end`]); only without it (the first update
    /// after a full link) is the list read from its start.
    pub(super) fn rewrite_function_starts(&mut self) -> Step<()> {
        if self.starts.is_empty() {
            return Ok(());
        }
        let (off, cap) = self.session.base.meta.linkedit.function_starts;
        let range = off as usize..(off + cap) as usize;
        let blob = self
            .img
            .get(range.clone())
            .ok_or_else(|| Stop::Fallback("function starts lie outside the file".into()))?;
        let first = self.starts.iter().map(|s| s.0).min().unwrap_or(0);
        let base = self.session.base.meta.image_base;
        let found = self
            .delta
            .starts_end
            .and_then(|end| starts_tail_from_end(blob, end, base, first));
        let (write_at, mut prev, mut tail, old_end) =
            found.unwrap_or_else(|| starts_tail_from_start(blob, base, first));
        // Removals first, then additions: an address freed and taken again
        // in one update (a removed function's slot given to a moved body)
        // starts a function afterwards, whatever order the atoms were
        // applied in. Nothing is placed and freed in the same update.
        let (gone, added): (Vec<_>, Vec<_>) = self.starts.iter().partition(|s| !s.1);
        for &(a, add) in gone.iter().chain(&added) {
            let at = tail.partition_point(|&t| t < a);
            let present = tail.get(at) == Some(&a);
            if add && !present {
                tail.insert(at, a);
            } else if !add && present {
                tail.remove(at);
            }
        }
        let mut out = Vec::with_capacity(tail.len() * 3 + 1);
        for a in tail {
            crate::formats::uleb::write_uleb(&mut out, a - prev);
            prev = a;
        }
        out.push(0);
        if write_at + out.len() > cap as usize {
            return fallback("function starts are out of reserved room");
        }
        let end = u32::try_from(write_at + out.len() - 1).ok();
        self.delta.starts_end = end.map(|e| (e, prev));
        // Clear what the old tail occupied beyond the new one.
        out.resize(out.len().max(old_end.min(cap as usize) - write_at), 0);
        let start = range.start + write_at;
        self.img[start..start + out.len()].copy_from_slice(&out);
        self.touched.push(start as u64..(start + out.len()) as u64);
        Ok(())
    }
}

/// The function starts at or after `first`, read forward from the start of
/// the list: (where they begin in the blob, the address before them, them,
/// the end of the list's terminating zero).
fn starts_tail_from_start(blob: &[u8], base: u64, first: u64) -> (usize, u64, Vec<u64>, usize) {
    let (mut pos, mut last) = (0usize, base);
    let mut tail: Vec<u64> = Vec::new();
    let mut tail_pos = None;
    loop {
        let here = pos;
        match crate::formats::uleb::read_uleb(blob, &mut pos) {
            Some(d) if d != 0 => {
                let addr = last + d;
                if addr >= first {
                    tail_pos.get_or_insert((here, last));
                    tail.push(addr);
                }
                last = addr;
            }
            _ => {
                tail_pos.get_or_insert((here, last));
                break;
            }
        }
    }
    let (write_at, prev) = tail_pos.expect("set before the loop ends");
    (write_at, prev, tail, pos)
}

/// [`starts_tail_from_start`], read backward from the list's end: `end` is
/// the offset of its terminating zero and the last address listed. ULEBs
/// read backward unambiguously (only a number's last byte has its top bit
/// clear). None when `end` does not describe the blob (the caller then
/// reads it forward).
fn starts_tail_from_end(
    blob: &[u8],
    (end, last): (u32, u64),
    base: u64,
    first: u64,
) -> Option<(usize, u64, Vec<u64>, usize)> {
    let end = end as usize;
    if *blob.get(end)? != 0 || (end > 0 && blob[end - 1] & 0x80 != 0) {
        return None;
    }
    let (mut pos, mut addr) = (end, last);
    let mut tail = Vec::new();
    while pos > 0 && addr >= first {
        let mut start = pos - 1;
        while start > 0 && blob[start - 1] & 0x80 != 0 {
            start -= 1;
        }
        let mut at = start;
        let d = crate::formats::uleb::read_uleb(blob, &mut at)?;
        if at != pos || d == 0 {
            return None;
        }
        tail.push(addr);
        addr = addr.checked_sub(d)?;
        pos = start;
    }
    if pos == 0 && addr != base {
        return None;
    }
    tail.reverse();
    Some((pos, addr, tail, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_starts_read_backward_as_forward() {
        let base = 0x1_0000_0000u64;
        // Deltas of one, two and three ULEB bytes.
        let addrs: Vec<u64> = (0..300u64)
            .scan(base, |a, i| {
                *a += [0x10, 0x300, 0x2_0000][i as usize % 3];
                Some(*a)
            })
            .collect();
        let mut blob = Vec::new();
        let mut prev = base;
        for &a in &addrs {
            crate::formats::uleb::write_uleb(&mut blob, a - prev);
            prev = a;
        }
        let end = blob.len() as u32;
        blob.extend([0u8; 9]);
        let last = *addrs.last().unwrap();
        for first in [base, addrs[0], addrs[1] + 1, addrs[150], last, last + 1] {
            let forward = starts_tail_from_start(&blob, base, first);
            let backward = starts_tail_from_end(&blob, (end, last), base, first);
            assert_eq!(backward, Some(forward), "{first:#x}");
        }
        // An end that does not describe the list is not used.
        assert_eq!(
            starts_tail_from_end(&blob, (end - 1, last), base, last),
            None
        );
        assert_eq!(
            starts_tail_from_end(&blob, (end, last + 1), base, base),
            None
        );
    }
}
