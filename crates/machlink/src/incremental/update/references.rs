//! The reverse-reference index at work: where other objects refer to a
//! data global, and re-patching those places when it moves (invariant 4).

use super::*;

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
        let elsewhere = |g: SymId| others.get(&g).is_some_and(|r| r.flags & state::DATA != 0);
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
            any = true;
            let target = addr + u64::from(offset);
            for site in self.sites_of(sym.name, oi)? {
                self.repatch(&site, target, sym.name)?;
            }
            // A GOT slot that holds its address (X86_64_RELOC_GOT).
            if let Some(g) = self.session.base.global(sym.name)? {
                if g.slots.got != 0 {
                    let site = state::Site {
                        object: u32::MAX,
                        kind: macho::X86_64_RELOC_UNSIGNED,
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

    /// Points one reference site at `target`.
    pub(super) fn repatch(&mut self, site: &state::Site, target: u64, sym: &[u8]) -> Step<()> {
        let off = self.span(site.addr, 8)?;
        match (site.kind, site.length) {
            (macho::X86_64_RELOC_UNSIGNED, 3) => {
                let value = (target as i64).wrapping_add(site.addend) as u64;
                let word = if self.session.base.meta.chained {
                    if value >> 36 != 0 {
                        return fallback("a moved data pointer does not fit a chained pointer");
                    }
                    // A page whose chain this update rewrites takes the new
                    // word from its entries.
                    let (seg, page, page_addr) = self.page_of(site.addr)?;
                    if let Some(entries) = self.pages.get_mut(&(seg, page)) {
                        if let Some(e) = entries.iter_mut().find(|e| e.0 == site.addr - page_addr) {
                            e.1 = value;
                        }
                    }
                    let old = u64::from_le_bytes(self.img[off..off + 8].try_into().unwrap());
                    (old & (0xfff << 51)) | value
                } else {
                    value
                };
                self.img[off..off + 8].copy_from_slice(&word.to_le_bytes());
                self.touched.push(off as u64..off as u64 + 8);
            }
            (
                macho::X86_64_RELOC_SIGNED
                | macho::X86_64_RELOC_SIGNED_1
                | macho::X86_64_RELOC_SIGNED_2
                | macho::X86_64_RELOC_SIGNED_4
                | macho::X86_64_RELOC_BRANCH
                | macho::X86_64_RELOC_GOT_LOAD,
                2,
            ) => {
                let v = (target as i64).wrapping_add(site.addend).wrapping_sub(
                    (site.addr + 4) as i64 + crate::input::object::pcrel_bias(site.kind),
                );
                let v = i32::try_from(v).map_err(|_| {
                    Stop::Fallback(format!("{} moved out of a reference's reach", name(sym)))
                })?;
                self.img[off..off + 4].copy_from_slice(&v.to_le_bytes());
                self.touched.push(off as u64..off as u64 + 4);
            }
            _ => {
                return fallback(format!(
                    "{} moved, and a reference to it cannot be re-patched",
                    name(sym)
                ))
            }
        }
        Ok(())
    }
}
