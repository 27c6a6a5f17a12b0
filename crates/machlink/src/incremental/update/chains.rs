//! Chained fixups during an update: the blob's import table and the
//! fixup chains of the pages an update edits (re-threaded from the
//! object's new pointers), and the stubs and GOT binds of new imports.

use super::*;
use crate::linkedit::chained;

impl Updater<'_> {
    /// The chained-fixups blob, opened on first use.
    pub(super) fn chained(&mut self) -> Step<&mut crate::incremental::imports::ChainedFixups> {
        if self.chained.is_none() {
            let (offset, room) = self.session.base.meta.linkedit.chained_fixups;
            let cmd = crate::incremental::symtab_edit::load_command(
                &self.orig,
                macho::LC_DYLD_CHAINED_FIXUPS,
            )
            .ok_or_else(|| Stop::Fallback("no LC_DYLD_CHAINED_FIXUPS".into()))?;
            let size =
                u32::from_le_bytes(self.orig[cmd + 12..cmd + 16].try_into().unwrap()) as usize;
            self.chained = Some(crate::incremental::imports::ChainedFixups {
                offset: offset as usize,
                room: room as usize,
                size,
            });
        }
        Ok(self.chained.as_mut().expect("opened above"))
    }

    /// The segment (index in the chained starts, which count segments as
    /// the layout does) and page of an address, and the page's address.
    pub(super) fn page_of(&self, addr: u64) -> Step<(usize, u64, u64)> {
        let (seg, s) = self
            .session
            .base
            .meta
            .segments
            .iter()
            .enumerate()
            .find(|(_, s)| addr >= s.vmaddr && addr < s.vmaddr + s.vmsize)
            .ok_or_else(|| Stop::Fallback(format!("fixup at {addr:#x} is in no segment")))?;
        let page_size = self.layout.page_size;
        let page = (addr - s.vmaddr) / page_size;
        Ok((seg, page, s.vmaddr + page * page_size))
    }

    /// The fixups of a page as this update has them: the chain's places
    /// as the file had them, with their current words.
    pub(super) fn page_entries(
        &mut self,
        seg: usize,
        page: u64,
        page_addr: u64,
    ) -> Step<&mut Vec<(u64, u64)>> {
        if !self.pages.contains_key(&(seg, page)) {
            let file = self.file_offset(page_addr)?;
            self.chained()?;
            let places = self
                .chained
                .as_ref()
                .expect("opened above")
                .read_page(&self.orig, seg, page, file)
                .map_err(Stop::Fallback)?;
            let entries = places
                .into_iter()
                .map(|(at, _)| {
                    let off = file + at as usize;
                    let w = u64::from_le_bytes(self.img[off..off + 8].try_into().unwrap());
                    (at, chained::without_next(w))
                })
                .collect();
            self.pages.insert((seg, page), entries);
        }
        Ok(self.pages.get_mut(&(seg, page)).expect("inserted above"))
    }

    /// Replaces the chained fixups in `old_ranges` (the object's old data
    /// with pointers) with `fixups` (its new ones).
    pub(super) fn rethread(
        &mut self,
        old_ranges: &[Range<u64>],
        fixups: &[crate::linkedit::fixups::Fixup],
        symtab: &SymbolTable,
    ) -> Step<()> {
        let page_size = self.layout.page_size;
        let mut pages = std::collections::BTreeSet::new();
        for r in old_ranges {
            let mut a = r.start - r.start % page_size;
            while a < r.end {
                pages.insert(self.page_of(a)?);
                a += page_size;
            }
        }
        for f in fixups {
            pages.insert(self.page_of(f.addr)?);
        }
        let mut raws = Vec::with_capacity(fixups.len());
        for f in fixups {
            let raw = match f.kind {
                FixupKind::WeakBind { .. } => {
                    return fallback("weak binds are rewritten only by a full link")
                }
                FixupKind::Rebase { target } => chained::rebase(target).map_err(|_| {
                    Stop::Fallback("a rebase target does not fit a chained pointer".into())
                })?,
                FixupKind::Bind { import, addend } => {
                    let sym = symtab.syms[import as usize].name;
                    if !(0..=255).contains(&addend) {
                        return fallback(format!(
                            "a pointer to {} with addend {addend} needs the addend import format",
                            name(sym)
                        ));
                    }
                    let ordinal = self.import_index(sym)?;
                    chained::ChainedPtr::Bind {
                        ordinal,
                        addend: addend as u8,
                    }
                    .encode()
                    .map_err(Stop::Fallback)?
                }
            };
            raws.push((f.addr, raw));
        }
        // (Searched for every entry of every page: an object's data is
        // hundreds of ranges.)
        let old_union = union(old_ranges);
        for (seg, page, page_addr) in pages {
            let entries = self.page_entries(seg, page, page_addr)?;
            entries.retain(|&(at, _)| {
                let a = page_addr + at;
                !covers(&old_union, a) && raws.binary_search_by_key(&a, |r| r.0).is_err()
            });
            for &(a, raw) in raws
                .iter()
                .filter(|r| r.0 >= page_addr && r.0 < page_addr + page_size)
            {
                entries.push((a - page_addr, raw));
            }
            entries.sort_unstable_by_key(|e| e.0);
        }
        Ok(())
    }

    /// The chained import index of an imported symbol, added to the import
    /// table if no zero-addend entry names it yet.
    pub(super) fn import_index(&mut self, sym: &[u8]) -> Step<u32> {
        let rec = self.global(sym)?;
        self.chained()?;
        let chained = self.chained.as_ref().expect("opened above");
        if let Some(i) = chained
            .find_import(&self.img, sym)
            .map_err(Stop::Fallback)?
        {
            return Ok(i);
        }
        if rec.as_ref().is_some_and(|r| {
            r.kind == GlobalKind::Defined
                && r.flags & state::WEAK_DEF != 0
                && r.flags & state::PRIVATE_EXTERN == 0
        }) {
            // Its weak-lookup import is a full link's to add.
            return fallback(format!(
                "a pointer binds {}, a weak definition dyld coalesces that no pointer bound \
                 before",
                name(sym)
            ));
        }
        let Some(rec) = rec.filter(|r| r.kind == GlobalKind::Dylib) else {
            return fallback(format!(
                "a pointer binds {}, which is not an import",
                name(sym)
            ));
        };
        let ordinal = u8::try_from(u32::from(rec.dylib) + 1)
            .map_err(|_| Stop::Fallback("dylib ordinal above 255".into()))?;
        let chained = self.chained.as_mut().expect("opened above");
        chained
            .add_import(
                &mut self.img,
                ordinal,
                rec.flags & state::WEAK_REF != 0,
                sym,
            )
            .map_err(Stop::Fallback)
    }

    /// Writes the edited pages' chains and the blob's new size.
    pub(super) fn write_chains(&mut self) -> Step<()> {
        let pages = std::mem::take(&mut self.pages);
        for ((seg, page), entries) in pages {
            let page_size = self.layout.page_size;
            let page_addr = self.session.base.meta.segments[seg].vmaddr + page * page_size;
            let file = self.file_offset(page_addr)?;
            let chained = self.chained.as_ref().expect("pages come from the blob");
            chained
                .write_page(&mut self.img, seg, page, file, &entries)
                .map_err(Stop::Fallback)?;
            let end = (file + page_size as usize).min(self.img.len());
            self.touched.push(file as u64..end as u64);
        }
        if let Some(chained) = &self.chained {
            let (offset, room) = self.session.base.meta.linkedit.chained_fixups;
            let cmd = crate::incremental::symtab_edit::load_command(
                &self.orig,
                macho::LC_DYLD_CHAINED_FIXUPS,
            )
            .ok_or_else(|| Stop::Fallback("no LC_DYLD_CHAINED_FIXUPS".into()))?;
            self.img[cmd + 12..cmd + 16].copy_from_slice(&(chained.size as u32).to_le_bytes());
            self.touched.push(cmd as u64 + 12..cmd as u64 + 16);
            self.touched.push(offset..offset + room);
        }
        Ok(())
    }

    /// Stub code, GOT binds threaded into their page chains, and import
    /// table entries for the imports this update adds.
    pub(super) fn write_new_imports(&mut self) -> Step<()> {
        if self.new_imports.is_empty() {
            return Ok(());
        }
        let imports = std::mem::take(&mut self.new_imports);
        for imp in &imports {
            let size = self.arch.stub_size();
            let stub = self.span(imp.slot.stub, size as usize)?;
            self.arch
                .write_stub(&mut self.img[stub..], imp.slot.stub, imp.slot.got)
                .map_err(|e| Stop::Fallback(format!("a new stub: {e}")))?;
            self.touched.push(stub as u64..stub as u64 + size);
            let index = self.import_index(&imp.name)?;
            self.span(imp.slot.got, 8)?;
            let (seg, page, page_addr) = self.page_of(imp.slot.got)?;
            let entries = self.page_entries(seg, page, page_addr)?;
            let bind = chained::ChainedPtr::Bind {
                ordinal: index,
                addend: 0,
            }
            .encode()
            .map_err(Stop::Fallback)?;
            entries.push((imp.slot.got - page_addr, bind));
            entries.sort_unstable_by_key(|e| e.0);
        }
        self.imports_added = imports;
        Ok(())
    }

    /// Rebases of the GOT slots this update gives defined symbols
    /// (`local_got`), threaded into their pages' chains, and their
    /// indirect entries made local, as a full link writes them.
    pub(super) fn write_local_gots(&mut self) -> Step<()> {
        let gots = std::mem::take(&mut self.local_gots);
        for &(slot, target) in &gots {
            self.span(slot, 8)?;
            let raw = chained::rebase(target).map_err(|_| {
                Stop::Fallback("a GOT slot's target does not fit a chained pointer".into())
            })?;
            let (seg, page, page_addr) = self.page_of(slot)?;
            let entries = self.page_entries(seg, page, page_addr)?;
            entries.push((slot - page_addr, raw));
            entries.sort_unstable_by_key(|e| e.0);
        }
        let slots: Vec<u64> = gots.iter().map(|g| g.0).collect();
        let touched =
            crate::incremental::symtab_edit::make_local_indirect(&self.orig, &mut self.img, &slots)
                .map_err(|why| Stop::Fallback(format!("indirect symbol table: {why}")))?;
        self.touched.extend(touched);
        Ok(())
    }
}

/// The union of `ranges` as sorted, disjoint ranges.
fn union(ranges: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.iter().filter(|r| !r.is_empty()).cloned().collect();
    sorted.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether sorted, disjoint `ranges` hold `a`.
fn covers(ranges: &[Range<u64>], a: u64) -> bool {
    let i = ranges.partition_point(|r| r.end <= a);
    ranges.get(i).is_some_and(|r| r.start <= a)
}

#[cfg(test)]
mod tests {
    use super::{covers, union};

    #[test]
    fn a_union_of_ranges_holds_what_any_of_them_holds() {
        let ranges = [10..20, 40..40, 15..30, 50..60, 30..35, 5..8];
        let u = union(&ranges);
        assert_eq!(u, [5..8, 10..35, 50..60]);
        for a in 0..70 {
            assert_eq!(covers(&u, a), ranges.iter().any(|r| r.contains(&a)), "{a}");
        }
    }
}
