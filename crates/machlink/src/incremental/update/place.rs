//! Where atoms go: the planner's decisions (`plan`) taken for one
//! object's atoms and applied to the image (trap fill, trampolines, unwind
//! rows, function starts); new literals, tentative definitions and imports.

use super::plan::{self, Decision, Kind, NewAtom, Refusal, Removal, Rules};
use super::tables::UnwindRow;
use super::*;

/// An atom's planned place: its new record, and what to patch.
pub(super) struct Planned {
    pub ai: usize,
    pub rec: AtomRecord,
    pub decision: Decision,
    /// It is a function (its slot and body are trap-filled).
    pub code: bool,
    /// Its compact unwind encoding in the image (None: a new atom).
    pub old_unwind: Option<u32>,
    /// The GOT slot of its personality and the address of its LSDA (0:
    /// none), set once every atom of the object has its place.
    pub personality_got: u64,
    pub lsda: u64,
    /// Its replay hash in the image (0: none, see [`AtomRecord::replay`]).
    pub old_replay: u64,
    /// Its bytes (and fixups) in the image are what a replay would write:
    /// it is left as it is (see [`Updater::leave_unchanged`]).
    pub kept: bool,
}

impl Planned {
    /// It keeps the canonical address and the body it had (a function at
    /// its slot, or still in the body it moved to; data that still fits).
    pub fn placed_as_before(&self) -> bool {
        match self.decision {
            Decision::InPlace {
                freed_body: None, ..
            } => self.rec.body == 0,
            Decision::InBody { .. } => true,
            _ => false,
        }
    }
}

/// The fallback reason for a refusal of the planner.
fn refusal(obj: &str, sec: &SectionRecord, old: Option<&AtomRecord>, r: Refusal) -> String {
    let key = || name(old.map_or(&[][..], |o| &o.key));
    match r {
        Refusal::NewWithoutReserve => format!(
            "{obj}: new atom in {},{}, which has no reserve",
            sec.segname, sec.sectname
        ),
        Refusal::DataWithoutReserve => format!(
            "{obj}: data {} outgrew its room in {},{}, which has no reserve",
            key(),
            sec.segname,
            sec.sectname
        ),
        // Its pointers would need new rebase and bind opcodes.
        Refusal::DataWithPointers => {
            format!(
                "{obj}: data {} with pointers outgrew its room (with -no_fixup_chains its \
                 rebases and binds would be re-encoded: a full link does that)",
                key()
            )
        }
        Refusal::Interior => format!(
            "{obj}: {} must move, but other code refers to a place inside it",
            key()
        ),
        Refusal::OutOfRoom { size } => out_of_room(sec, size),
        Refusal::UnalignedRecord { size } => {
            format!("{obj}: a {size}-byte __eh_frame record (not a multiple of 4 bytes)")
        }
    }
}

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
                replay: 0,
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

    /// A GOT slot for `sym`, which the image defines at `addr`, from the
    /// room in `__got` (its rebase is written by `finish`); the symbol's
    /// record keeps it, so that later updates and a move of its data find
    /// it.
    pub(super) fn local_got(&mut self, obj: &ObjectFile, sym: &[u8], addr: u64) -> Step<u64> {
        let meta = &self.session.base.meta;
        if !meta.chained {
            return fallback(format!(
                "{}: {} needs a GOT slot (classic rebase opcodes have no room for it; chained \
                 fixups do)",
                obj.name,
                name(sym)
            ));
        }
        let Some(got) = meta
            .sections
            .iter()
            .position(|s| s.synthetic && s.sectname == "__got")
        else {
            return fallback(format!(
                "{}: {} needs a GOT slot, and the image has no GOT",
                obj.name,
                name(sym)
            ));
        };
        let Some(mut rec) = self.global(sym)? else {
            return fallback(format!("{}: {} cannot be resolved", obj.name, name(sym)));
        };
        let slot = self.allocate(got, 8, 8)?;
        rec.slots.got = slot;
        self.delta.globals.insert(sym.to_vec(), rec);
        self.local_gots.push((slot, addr));
        Ok(slot)
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

    /// Decides where atom `ai` goes (see [`plan::plan_atom`]), taking and
    /// freeing room but writing nothing; None for a literal that already
    /// exists.
    pub(super) fn plan(
        &mut self,
        obj: &mut ObjectFile,
        ai: usize,
        si: usize,
        key: Vec<u8>,
        old: Option<&AtomRecord>,
        unwind: u32,
    ) -> Step<Option<Planned>> {
        let sec = &self.session.base.meta.sections[si];
        let atom = &obj.atoms[ai];
        let new = NewAtom {
            key,
            section: si as u16,
            size: atom.size,
            align_log2: atom.align_log2,
            unwind,
        };
        let kind = if sec.segname == "__TEXT" && sec.sectname == crate::input::object::EH_FRAME {
            Kind::UnwindRecord
        } else if is_literal(sec.flags) {
            Kind::Literal
        } else if crate::section_flags::is_code(sec.flags) {
            Kind::Code
        } else {
            Kind::Data
        };
        let rules = Rules {
            kind,
            reserves: reserves(sec.flags),
            chained: self.session.base.meta.chained,
            headroom: Headroom::for_arch(self.arch),
        };
        let mut literal = None;
        if kind == Kind::Literal {
            let bytes = obj.atom_data(ai as u32);
            let h = literal_hash(si as u16, bytes);
            if let Some(addr) = self.find_literal(h, bytes)? {
                // Merged with an existing copy: nothing to write.
                obj.atoms[ai].alias_of = Some((0, ai as u32)).into();
                self.layout.atom_addr[0][ai] = addr;
                self.layout.atom_section[0][ai] = si as u32;
                return Ok(None);
            }
            literal = Some(h);
        }
        let old = old.filter(|_| kind != Kind::Literal);
        let (rec, decision) = plan::plan_atom(self.alloc.section(si), &rules, new, old)
            .map_err(|r| Stop::Fallback(refusal(&obj.name, sec, old, r)))?;
        if let Some(h) = literal {
            self.delta.literals.insert(h, rec.addr);
        }
        Ok(Some(Planned {
            ai,
            rec,
            decision,
            code: kind == Kind::Code,
            old_unwind: old.map(|o| o.unwind),
            personality_got: 0,
            lsda: 0,
            old_replay: old.map_or(0, |o| o.replay),
            kept: false,
        }))
    }

    /// Patches the image as `p` says: slots and bodies filled with traps,
    /// trampolines written, unwind rows and function starts noted.
    pub(super) fn apply(&mut self, obj_name: &str, p: &Planned) -> Step<()> {
        let unwind = p.rec.unwind;
        let row = UnwindRow {
            encoding: unwind,
            personality_got: p.personality_got,
            lsda: p.lsda,
        };
        // With exception tables in the image (or in this function), a row
        // may change with the encoding unchanged: its personality or LSDA
        // did, or the LSDA moved.
        let row_changed = p.old_unwind != Some(unwind) || self.unwind_complex || row.names_tables();
        match p.decision {
            Decision::Add { addr, room } => {
                self.relocated.insert(addr);
                if p.code {
                    self.trap(addr, room)?;
                    self.unwind.push((addr, room, Some(row)));
                    self.starts.push((addr, true));
                }
                if !self.is_unwind_record(&p.rec) {
                    self.stats.added += 1;
                }
            }
            Decision::InPlace {
                addr,
                slot,
                ref freed_body,
            } => {
                if p.code {
                    if let Some(body) = freed_body {
                        self.drop_body(body)?;
                    }
                    if !p.kept {
                        self.trap(addr, slot)?;
                    }
                    if row_changed || freed_body.is_some() {
                        self.unwind.push((addr, slot, Some(row)));
                    }
                }
            }
            Decision::InBody { body, cap } => {
                if !p.kept {
                    self.trap(body, cap)?;
                }
                if row_changed {
                    self.unwind.push((body, cap, Some(row)));
                }
            }
            Decision::Move {
                from,
                slot,
                to,
                cap,
                ref freed_body,
            } => {
                if let Some(body) = freed_body {
                    self.drop_body(body)?;
                }
                self.trap(to, cap)?;
                self.trap(from, slot)?;
                let off = self.file_offset(from)?;
                let arch = self.arch;
                arch.write_trampoline(&mut self.img[off..], from, to)
                    .ok_or_else(|| {
                        Stop::Fallback(format!("{obj_name}: a trampoline cannot reach {to:#x}"))
                    })?;
                self.relocated.insert(from);
                self.unwind.push((to, cap, Some(row)));
                if self.is_dwarf(unwind)
                    || p.old_unwind.is_some_and(|u| self.is_dwarf(u))
                    || self.unwind_complex
                    || row.names_tables()
                {
                    // The slot's row may lead to the FDE, which describes
                    // the body (or nothing) now, or name the function's
                    // LSDA, whose call sites are the body's; the trampoline
                    // has no frame of its own and catches nothing.
                    let tramp = UnwindRow::plain(self.arch.trampoline_unwind());
                    self.unwind.push((from, slot, Some(tramp)));
                }
                // The body starts a function of its own in
                // LC_FUNCTION_STARTS, next to the canonical address (the
                // trampoline's slot): the image then tells where every
                // slot ends. Without it, a body placed in a neighbour's
                // freed slot would read as part of the trampoline's slot,
                // and tools that symbolize by function starts (profilers,
                // `machlink verify`) would not find it.
                self.starts.push((to, true));
                self.stats.moved += 1;
                self.stats.trampolines += 1;
            }
            Decision::MoveData { from, to } => {
                self.relocated.insert(to);
                self.moved_data.push((from, to));
                self.stats.moved += 1;
            }
            Decision::MoveRecord { from, to } => {
                // (Not counted: see `is_unwind_record`.)
                self.relocated.insert(to);
                self.retire_record(from)?;
            }
        }
        Ok(())
    }

    /// Whether a compact unwind encoding defers to an FDE.
    pub(super) fn is_dwarf(&self, encoding: u32) -> bool {
        encoding & crate::unwind_info::UNWIND_MODE_MASK == self.arch.unwind_mode_dwarf()
    }

    /// Whether `rec` is a DWARF unwind record (an FDE in `__eh_frame`).
    /// `-v` counts the atoms of the program, not these: an FDE changes with
    /// its function, and the same edit should report the same counts
    /// whether the compiler described the function with an FDE (clang for
    /// arm64 does for any function with a frame) or with compact unwind
    /// alone.
    pub(super) fn is_unwind_record(&self, rec: &AtomRecord) -> bool {
        self.eh_frame()
            .is_some_and(|(si, _)| si == usize::from(rec.section))
    }

    /// The output `__eh_frame`: its index and record.
    pub(super) fn eh_frame(&self) -> Option<(usize, &SectionRecord)> {
        self.session
            .base
            .meta
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| {
                !s.synthetic
                    && s.segname == "__TEXT"
                    && s.sectname == crate::input::object::EH_FRAME
            })
    }

    /// Makes the unwind record at `addr`, which nothing owns any more,
    /// describe nothing: an FDE gets a `pc_range` of 0, so that a search
    /// of `__eh_frame` for an address never finds it (its function, or
    /// what now runs where it was, is described elsewhere). The record
    /// itself stays, so that the stream still walks from record to record;
    /// a CIE stays as it is (FDEs that stay may still point at it).
    pub(super) fn retire_record(&mut self, addr: u64) -> Step<()> {
        let Some((_, sec)) = self.eh_frame() else {
            return Err(damaged("it names an __eh_frame record, and there is none"));
        };
        let (start, size) = (sec.offset as usize, sec.size as usize);
        let data = self
            .img
            .get(start..start + size)
            .ok_or_else(|| damaged("__eh_frame lies outside the file"))?;
        let at = addr.wrapping_sub(sec.addr) as usize;
        let record = data.get(at..).unwrap_or_default();
        if record.len() < 8 {
            return Err(damaged(format_args!("no __eh_frame record at {addr:#x}")));
        }
        if crate::input::eh_frame::is_cie(record) {
            return Ok(());
        }
        let Some((field, len)) = crate::input::eh_frame::fde_pc_range(data, at) else {
            return Err(damaged(format_args!("the FDE at {addr:#x} does not parse")));
        };
        let off = start + at + field;
        self.img[off..off + len].fill(0);
        self.touched.push(off as u64..(off + len) as u64);
        Ok(())
    }

    /// Traps where a moved function's body was (its room is freed), and
    /// drops its function start.
    fn drop_body(&mut self, body: &Range<u64>) -> Step<()> {
        self.trap(body.start, body.end - body.start)?;
        self.unwind.push((body.start, 0, None));
        self.starts.push((body.start, false));
        Ok(())
    }

    /// An atom the new object no longer has: its room is freed (see
    /// [`plan::plan_removal`]), nothing written yet.
    pub(super) fn plan_removal(&mut self, o: &AtomRecord) -> Removal {
        let chained = self.session.base.meta.chained;
        let record = self
            .eh_frame()
            .is_some_and(|(si, _)| si == usize::from(o.section));
        plan::plan_removal(
            self.alloc.section(usize::from(o.section)),
            o,
            chained,
            record,
        )
    }

    /// Traps where a removed function was.
    pub(super) fn apply_removal(&mut self, r: &Removal) -> Step<()> {
        if r.record {
            self.retire_record(r.addr)?;
        }
        if r.code {
            if let Some(body) = &r.body {
                self.drop_body(body)?;
            }
            self.trap(r.addr, r.slot)?;
            self.unwind.push((r.addr, 0, None));
            // Its start goes, as in a fresh link; a body later placed in
            // this freed range gets a start of its own (`Decision::Move`).
            self.starts.push((r.addr, false));
        }
        // Chained fixups of removed data leave their chains (see
        // `rethread`).
        if !r.record {
            self.stats.removed += 1;
        }
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
