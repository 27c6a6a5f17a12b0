//! The reverse-reference index at work: where other objects refer to a
//! data global, and re-patching those places when it moves (invariant 4).

use super::*;
use crate::arch::{ApplyError, PageRef, RelocKind};
use crate::linkedit::chained;

impl Updater<'_> {
    /// The object's references to data globals of other objects (its
    /// entries in the reverse-reference index).
    pub(super) fn sites_of_object(
        &self,
        oi: u32,
        obj: &ObjectFile,
        symtab: &SymbolTable,
        others: &FxHashMap<SymId, GlobalRecord>,
    ) -> Vec<(Vec<u8>, state::Site)> {
        // Asked for each of the object's relocations: a flag per symbol, not
        // a lookup in `others` (a table of records, mostly out of the cache).
        let mut data_elsewhere = vec![false; symtab.syms.len()];
        for (&g, r) in others {
            data_elsewhere[g as usize] = r.flags & state::DATA != 0;
        }
        let elsewhere = |g: SymId| data_elsewhere[g as usize];
        crate::incremental::record::data_sites(obj, 0, oi, symtab, &self.layout, &elsewhere)
            .into_iter()
            .map(|(g, site)| (symtab.syms[g as usize].name.to_vec(), site))
            .collect()
    }

    /// Where other objects refer to global `sym` (defined by `definer`).
    pub(super) fn sites_of(&self, sym: &[u8], definer: u32) -> Step<Vec<state::Site>> {
        let recorded = match self.session.base.global(sym)? {
            Some(g) => self.session.base.sites(&g)?,
            None => Vec::new(),
        };
        let mut out: Vec<state::Site> = recorded
            .into_iter()
            .filter(|s| s.object != definer && !self.delta.objects.contains_key(&s.object))
            .collect();
        for (&o, rec) in &self.delta.objects {
            if o != definer {
                out.extend(rec.sites.iter().filter(|(n, _)| n == sym).map(|(_, s)| *s));
            }
        }
        Ok(out)
    }

    /// Re-patches other objects' references to the globals of data atoms
    /// this replay moved; returns whether any global moved.
    pub(super) fn repatch_moved_data(&mut self, oi: u32, symtab: &SymbolTable) -> Step<bool> {
        if self.moved_data.is_empty() {
            return Ok(false);
        }
        let moved: Vec<(u64, u64)> = std::mem::take(&mut self.moved_data);
        let mut any = false;
        for sym in &symtab.syms {
            let Def::Defined { atom, offset, .. } = sym.def else {
                continue;
            };
            let addr = self.layout.atom_addr[0][atom as usize];
            if !moved.iter().any(|&(_, new)| new == addr) {
                continue;
            }
            if crate::weak::coalesced(sym.def) {
                // Its export-trie entry and the slots dyld binds to it name
                // the old address.
                return fallback(format!(
                    "{} is a weak definition dyld coalesces, and its data moved",
                    name(sym.name)
                ));
            }
            any = true;
            let target = addr + u64::from(offset);
            for site in self.sites_of(sym.name, oi)? {
                self.repatch(&site, target, sym.name)?;
            }
            // A GOT slot that holds its address.
            if let Some(g) = self.session.base.global(sym.name)? {
                if g.slots.got != 0 {
                    let site = state::Site {
                        object: u32::MAX,
                        kind: state::SiteKind::Field(RelocKind::Absolute),
                        length: 3,
                        addend: 0,
                        addr: g.slots.got,
                    };
                    self.repatch(&site, target, sym.name)?;
                }
            }
        }
        Ok(any)
    }

    /// Points one reference site at `target`, through the same encoder as
    /// the full link's relocations; a pointer's dyld fixup follows.
    pub(super) fn repatch(&mut self, site: &state::Site, target: u64, sym: &[u8]) -> Step<()> {
        let state::SiteKind::Field(kind) = site.kind else {
            return fallback(format!(
                "{} moved, and a reference to it cannot be re-patched",
                name(sym)
            ));
        };
        let size = 1u64 << site.length;
        let off = self.span(site.addr, size as usize)?;
        let referenced = (target as i64).wrapping_add(site.addend) as u64;
        if kind == RelocKind::Absolute && site.length == 3 {
            return self.repatch_pointer(site.addr, off, referenced);
        }
        let kind = self.as_direct(kind, off, sym)?;
        // A page offset (the `add`/`ldr`/`str` after an `adrp`) depends on
        // the target alone; its `adrp` is a site of its own.
        if !kind.is_pc_relative() && !matches!(kind, RelocKind::PageOffset(_)) {
            return fallback(format!(
                "{} moved, and a reference to it cannot be re-patched",
                name(sym)
            ));
        }
        self.arch
            .apply(
                kind,
                site.length,
                &mut self.img[off..],
                0,
                site.addr,
                referenced,
            )
            .map_err(|e| match e {
                ApplyError::OutOfRange { .. } => {
                    Stop::Fallback(format!("{} moved out of a reference's reach", name(sym)))
                }
                e => Stop::Fallback(format!(
                    "{}: a reference cannot be re-patched: {e}",
                    name(sym)
                )),
            })?;
        self.touched.push(off as u64..off as u64 + size);
        Ok(())
    }

    /// How the instruction at `off` now refers to the global: an arm64 GOT
    /// load of a global in the image was relaxed by the full link into
    /// computing its address (`adrp` + `add`), so it is re-patched like a
    /// direct reference. One still loading from the slot (an `ldr`, the
    /// form `relax` accepts) would need no change, as the slot is
    /// re-patched, but its `adrp` cannot tell the two apart: a full link.
    fn as_direct(&self, kind: RelocKind, off: usize, sym: &[u8]) -> Step<RelocKind> {
        match kind {
            RelocKind::Page(PageRef::Got) => Ok(RelocKind::Page(PageRef::Direct)),
            RelocKind::PageOffset(PageRef::Got) => {
                let mut word = self.img[off..off + 4].to_vec();
                if self.arch.relax(kind, &mut word, 0).is_ok() {
                    return fallback(format!(
                        "{} moved, and a load of its GOT slot was not relaxed",
                        name(sym)
                    ));
                }
                Ok(RelocKind::PageOffset(PageRef::Direct))
            }
            RelocKind::Page(PageRef::Tlv) | RelocKind::PageOffset(PageRef::Tlv) => {
                fallback(format!(
                    "{} moved, and a reference to its thread-local descriptor cannot be re-patched",
                    name(sym)
                ))
            }
            k => Ok(k),
        }
    }

    /// A data pointer now pointing at `value`: the word, and with chained
    /// fixups its rebase (keeping its place in the page's chain).
    fn repatch_pointer(&mut self, addr: u64, off: usize, value: u64) -> Step<()> {
        let word = if self.session.base.meta.chained {
            let fixup = chained::rebase(value).map_err(|_| {
                Stop::Fallback("a moved data pointer does not fit a chained pointer".into())
            })?;
            // A page whose chain this update rewrites takes the new word
            // from its entries.
            let (seg, page, page_addr) = self.page_of(addr)?;
            if let Some(entries) = self.pages.get_mut(&(seg, page)) {
                if let Some(e) = entries.iter_mut().find(|e| e.0 == addr - page_addr) {
                    e.1 = fixup;
                }
            }
            let old = u64::from_le_bytes(self.img[off..off + 8].try_into().unwrap());
            chained::replace_keeping_next(old, fixup)
        } else {
            value
        };
        self.img[off..off + 8].copy_from_slice(&word.to_le_bytes());
        self.touched.push(off as u64..off as u64 + 8);
        Ok(())
    }
}
