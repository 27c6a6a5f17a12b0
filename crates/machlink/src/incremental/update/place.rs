//! Where atoms go: in place, into a moved body behind a trampoline, into
//! the section's free list or reserve; freeing what an edit removes; new
//! literals, tentative definitions and imports.

use super::*;

impl Updater<'_> {
    /// Storage for a new tentative definition, recorded as the link's (like
    /// the full link's commons) and as a global of object `oi`.
    pub(super) fn new_common(
        &mut self,
        oi: u32,
        sym: &[u8],
        size: u64,
        align_log2: u8,
    ) -> Step<u64> {
        let meta = &self.session.base.meta;
        let find = |n: &str| {
            meta.sections
                .iter()
                .position(|s| !s.synthetic && s.segname == "__DATA" && s.sectname == n)
        };
        let Some(si) = find("__common").or_else(|| find("__bss")) else {
            return fallback(format!("new tentative definition {}", name(sym)));
        };
        let addr = self.allocate(si, size.max(1), 1 << align_log2)?;
        self.delta.globals.insert(
            sym.to_vec(),
            GlobalRecord {
                kind: GlobalKind::Defined,
                flags: state::DATA,
                dylib: 0,
                definer: oi,
                value: addr,
                body: addr,
                slots: ImportSlots::default(),
                refs: 0,
                sites: (0, 0),
            },
        );
        self.new_commons.push((
            AtomRecord {
                key: sym.to_vec(),
                section: si as u16,
                align_log2,
                flags: state::COMMON,
                addr,
                slot: size as u32,
                body: 0,
                body_cap: 0,
                size: size as u32,
                fixups: 0,
                unwind: 0,
            },
            crate::linkedit::symtab::Nlist {
                name: std::borrow::Cow::Owned(sym.to_vec()),
                n_type: macho::N_SECT | macho::N_EXT,
                n_sect: (si + 1) as u8,
                n_desc: 0,
                n_value: addr,
            },
        ));
        self.stats.added += 1;
        Ok(addr)
    }

    /// A dylib symbol the image did not import yet: a stub and a GOT slot
    /// from the room in `__stubs` and `__got` (written by `finish`).
    pub(super) fn new_import(
        &mut self,
        obj: &ObjectFile,
        sym: &[u8],
        weak_ref: bool,
    ) -> Step<(Def, ImportSlots)> {
        let meta = &self.session.base.meta;
        if !meta.chained {
            return fallback(format!(
                "{}: new import {} (classic lazy binding has no room for it; chained fixups do)",
                obj.name,
                name(sym)
            ));
        }
        if self.libraries.is_none() {
            self.libraries = Some(crate::incremental::imports::Libraries::load(self.opts)?);
        }
        let libraries = self.libraries.as_ref().expect("loaded above");
        let exporter = match libraries.exporter(sym) {
            Ok(e) if !e.thread_local => e,
            Ok(_) => {
                return fallback(format!(
                    "{}: new thread-local import {}",
                    obj.name,
                    name(sym)
                ))
            }
            Err(why) => return fallback(format!("{}: {why}", obj.name)),
        };
        let section = |n: &str| {
            meta.sections
                .iter()
                .position(|s| s.synthetic && s.sectname == n)
        };
        let (Some(stubs), Some(got)) = (section("__stubs"), section("__got")) else {
            return fallback(format!(
                "{}: new import {}, and the image has no stubs to add to",
                obj.name,
                name(sym)
            ));
        };
        let slot = ImportSlots {
            stub: self.allocate(stubs, self.arch.stub_size(), 1)?,
            got: self.allocate(got, 8, 8)?,
            thread_ptr: 0,
        };
        self.delta.globals.insert(
            sym.to_vec(),
            GlobalRecord {
                kind: GlobalKind::Dylib,
                flags: if exporter.weak { state::WEAK_DEF } else { 0 }
                    | if weak_ref { state::WEAK_REF } else { 0 },
                dylib: exporter.dylib as u16,
                definer: crate::atom::NONE,
                value: 0,
                body: 0,
                slots: slot,
                refs: 0,
                sites: (0, 0),
            },
        );
        self.new_imports.push(NewImport {
            name: sym.to_vec(),
            ordinal: exporter.dylib + 1,
            weak_ref,
            slot,
        });
        self.stats.imports += 1;
        Ok((
            Def::Dylib {
                dylib: exporter.dylib,
                weak: exporter.weak,
                thread_local: false,
            },
            slot,
        ))
    }

    /// Decides where atom `ai` goes; None for a literal that already exists.
    pub(super) fn place(
        &mut self,
        obj: &mut ObjectFile,
        ai: usize,
        si: usize,
        key: Vec<u8>,
        old: Option<&AtomRecord>,
        unwind: u32,
    ) -> Step<Option<AtomRecord>> {
        let sec = self.session.base.meta.sections[si].clone();
        let atom = &obj.atoms[ai];
        let (size, align) = (u64::from(atom.size), 1u64 << atom.align_log2);
        let mut rec = AtomRecord {
            key,
            section: si as u16,
            align_log2: atom.align_log2,
            flags: 0,
            addr: 0,
            slot: 0,
            body: 0,
            body_cap: 0,
            size: atom.size,
            fixups: 0,
            unwind,
        };
        if is_literal(sec.flags) {
            rec.flags |= state::LITERAL;
            let bytes = obj.atom_data(ai as u32);
            let h = literal_hash(si as u16, bytes);
            if let Some(addr) = self.find_literal(h, bytes)? {
                // Merged with an existing copy: nothing to write.
                obj.atoms[ai].alias_of = Some((0, ai as u32));
                self.layout.atom_addr[0][ai] = addr;
                self.layout.atom_section[0][ai] = si as u32;
                return Ok(None);
            }
            rec.addr = self.allocate(si, size, align)?;
            rec.slot = size as u32;
            self.relocated.insert(rec.addr);
            self.delta.literals.insert(h, rec.addr);
            self.stats.added += 1;
            return Ok(Some(rec));
        }
        let code = crate::section_flags::is_code(sec.flags);
        debug_assert!(old.is_none_or(|o| usize::from(o.section) == si));
        let Some(o) = old else {
            if !code && !reserves(sec.flags) {
                return fallback(format!(
                    "{}: new atom in {},{}, which has no reserve",
                    obj.name, sec.segname, sec.sectname
                ));
            }
            let room = if code {
                Headroom::for_arch(self.arch).slot(size)
            } else {
                size
            };
            rec.addr = self.allocate(si, room, align)?;
            rec.slot = room as u32;
            self.relocated.insert(rec.addr);
            if code {
                rec.flags |= state::CODE;
                self.trap(rec.addr, room)?;
                self.unwind.push((rec.addr, room, Some(unwind)));
                self.starts.push((rec.addr, true));
            }
            self.stats.added += 1;
            return Ok(Some(rec));
        };
        rec.flags = o.flags;
        // An atom's alignment is inferred from its offset in its section, so
        // it can look stricter only because neighbours changed; what the old
        // place satisfied is what staying there must keep.
        let stay_align = 1u64 << atom.align_log2.min(o.align_log2);
        rec.addr = o.addr;
        rec.slot = o.slot;
        rec.fixups = o.fixups;
        if !code {
            if size <= u64::from(o.slot) && o.addr % stay_align == 0 {
                rec.align_log2 = rec.align_log2.min(o.align_log2);
                return Ok(Some(rec));
            }
            // Data has no trampolines: it moves, and every reference to it
            // is re-patched (the object's own by its replay, other objects'
            // from the reverse-reference index, after the replay).
            if !reserves(sec.flags) {
                return fallback(format!(
                    "{}: data {} outgrew its room in {},{}, which has no reserve",
                    obj.name,
                    name(&o.key),
                    sec.segname,
                    sec.sectname
                ));
            }
            if o.fixups != 0 && !self.session.base.meta.chained {
                // Its pointers would need new rebase and bind opcodes.
                return fallback(format!(
                    "{}: data {} with pointers outgrew its room",
                    obj.name,
                    name(&o.key)
                ));
            }
            rec.addr = self.allocate(si, size, align)?;
            rec.slot = size as u32;
            self.relocated.insert(rec.addr);
            self.moved_data.push((o.addr, rec.addr));
            self.free(si, o.addr, u64::from(o.slot));
            self.stats.moved += 1;
            return Ok(Some(rec));
        }
        if size <= u64::from(o.slot) && o.addr % stay_align == 0 {
            rec.align_log2 = rec.align_log2.min(o.align_log2);
            // In place; a body it had elsewhere is freed.
            if o.body != 0 {
                self.drop_body(si, o)?;
            }
            self.trap(o.addr, u64::from(o.slot))?;
            if o.unwind != unwind || o.body != 0 {
                self.unwind.push((o.addr, u64::from(o.slot), Some(unwind)));
            }
            return Ok(Some(rec));
        }
        if o.body != 0 && size <= u64::from(o.body_cap) && o.body % stay_align == 0 {
            // Still fits the body it moved to.
            rec.body = o.body;
            rec.body_cap = o.body_cap;
            self.trap(o.body, u64::from(o.body_cap))?;
            if o.unwind != unwind {
                self.unwind
                    .push((o.body, u64::from(o.body_cap), Some(unwind)));
            }
            return Ok(Some(rec));
        }
        if o.flags & state::INTERIOR != 0 {
            return fallback(format!(
                "{}: {} must move, but other code refers to a place inside it",
                obj.name,
                name(&o.key)
            ));
        }
        // Move: a new body with headroom, the slot becomes a trampoline
        // (rewritten, never chained, when it already was one).
        let cap = Headroom::for_arch(self.arch).slot(size);
        let body = self.allocate(si, cap, align)?;
        if o.body != 0 {
            self.drop_body(si, o)?;
        }
        self.trap(body, cap)?;
        self.trap(o.addr, u64::from(o.slot))?;
        let off = self.file_offset(o.addr)?;
        let arch = self.arch;
        arch.write_trampoline(&mut self.img[off..], o.addr, body)
            .ok_or_else(|| {
                Stop::Fallback(format!("{}: a trampoline cannot reach {body:#x}", obj.name))
            })?;
        rec.body = body;
        rec.body_cap = cap as u32;
        self.relocated.insert(rec.addr);
        self.unwind.push((body, cap, Some(unwind)));
        // Function starts keep naming the canonical address: the body is
        // reached through it, which is what `machlink verify` checks.
        self.stats.moved += 1;
        self.stats.trampolines += 1;
        Ok(Some(rec))
    }

    /// Frees a moved function's body.
    pub(super) fn drop_body(&mut self, si: usize, o: &AtomRecord) -> Step<()> {
        self.trap(o.body, u64::from(o.body_cap))?;
        self.free(si, o.body, u64::from(o.body_cap));
        self.unwind.push((o.body, 0, None));
        Ok(())
    }

    /// An atom the new object no longer has.
    pub(super) fn remove(&mut self, o: &AtomRecord) -> Step<()> {
        let si = usize::from(o.section);
        if o.flags & state::CODE != 0 {
            if o.body != 0 {
                self.drop_body(si, o)?;
            }
            self.trap(o.addr, u64::from(o.slot))?;
            self.free(si, o.addr, u64::from(o.slot));
            self.unwind.push((o.addr, 0, None));
            self.starts.push((o.addr, false));
        } else if o.fixups == 0 || self.session.base.meta.chained {
            // Chained fixups of removed data leave their chains (see
            // `rethread`); the classic streams would still name its words,
            // so then nothing else may live there.
            self.free(si, o.addr, u64::from(o.slot));
        }
        self.stats.removed += 1;
        Ok(())
    }

    pub(super) fn find_literal(&self, h: u64, bytes: &[u8]) -> Step<Option<u64>> {
        let candidates = self
            .delta
            .literals
            .get(&h)
            .copied()
            .into_iter()
            .chain(self.session.base.literal(h)?);
        for addr in candidates {
            let off = self.file_offset(addr)?;
            if self.img.get(off..off + bytes.len()) == Some(bytes) {
                return Ok(Some(addr));
            }
        }
        Ok(None)
    }
}
