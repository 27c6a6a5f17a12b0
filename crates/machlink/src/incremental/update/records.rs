//! DWARF unwind records (`__TEXT,__eh_frame`) of a replayed object.
//!
//! An FDE is matched to its old self by the function it describes (see
//! [`atom_keys`](super::super::record::atom_keys)) and placed by the
//! planner's [`Kind::UnwindRecord`](super::plan::Kind) rule: in its old
//! room when it fits (padded to that room with `DW_CFA_nop`s, so the stream
//! still walks from record to record), else after the last record. An FDE
//! left behind describes nothing (`retire_record`). A function whose
//! compact unwind encoding defers to DWARF gets the offset of its FDE in
//! its `__unwind_info` row, as in a full link (`crate::unwind::plan`).
//!
//! CIEs must stay as they were: FDEs of other objects and retired ones
//! still point at them. A CIE may name a personality (`zPLR`, through its
//! GOT slot) and its FDEs LSDAs: those are relocated like any other field.
//!
//! C++ exception tables in `__unwind_info` (`exception_rows`): a row
//! names its personality by the GOT slot of the personality routine (a
//! new one is a new import, with its GOT slot) and its LSDA, a data atom
//! of `__gcc_except_tab` placed like any other data, by address. A row
//! that defers to DWARF names the LSDA its FDE names, as a full link's
//! does.

use super::place::Planned;
use super::plan::Decision;
use super::*;
use crate::input::eh_frame;

/// Falls back when a CIE of the object's `__eh_frame` does not parse
/// (the full link reports what is wrong with it).
pub(super) fn check_cies(obj: &ObjectFile) -> Step<()> {
    for sec in obj
        .sections
        .iter()
        .filter(|s| super::super::record::is_eh_frame(s))
    {
        for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
            let data = obj.atom_data(a);
            if !obj.atoms[a as usize].live || !eh_frame::is_cie(data) {
                continue;
            }
            if eh_frame::cie_augmentation(data).is_none() {
                return fallback(format!("{}: an __eh_frame CIE does not parse", obj.name));
            }
        }
    }
    Ok(())
}

/// A record the planner left in its old room: (atom, address, room).
pub(super) type InPlace = (usize, u64, u64);

/// The records of output section `eh_frame` that stay in their room.
pub(super) fn in_place(planned: &[Planned], eh_frame: Option<usize>) -> Vec<InPlace> {
    planned
        .iter()
        .filter(|p| Some(usize::from(p.rec.section)) == eh_frame)
        .filter_map(|p| match p.decision {
            Decision::InPlace { addr, slot, .. } => Some((p.ai, addr, slot)),
            _ => None,
        })
        .collect()
}

/// The CIE an FDE atom points at (its CIE pointer is the difference of
/// the two, a relocation at offset 4).
fn cie_of(obj: &ObjectFile, fde: usize) -> Option<usize> {
    let atom = &obj.atoms[fde];
    obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize]
        .iter()
        .find(|r| r.offset == 4)
        .and_then(|r| match r.subtrahend {
            Some(crate::atom::Target::Atom(c)) => Some(c as usize),
            _ => None,
        })
}

impl Updater<'_> {
    /// An FDE must follow its CIE. One that could stay in its room but
    /// whose CIE is new (its personality changed, or the function gained
    /// one) and went after it in the reserve follows it there; its room
    /// is retired like any record left behind.
    pub(super) fn fdes_after_cies(
        &mut self,
        obj: &ObjectFile,
        planned: &mut [Planned],
    ) -> Step<()> {
        let fdes = super::super::record::fde_functions(obj);
        let Some((si, _)) = self.eh_frame() else {
            return Ok(());
        };
        if fdes.is_empty() {
            return Ok(());
        }
        let addr_of: FxHashMap<usize, u64> = planned.iter().map(|p| (p.ai, p.rec.addr)).collect();
        for p in planned.iter_mut() {
            if !fdes.contains_key(&(p.ai as u32)) {
                continue;
            }
            let Decision::InPlace { addr, .. } = p.decision else {
                continue;
            };
            let Some(&cie) = cie_of(obj, p.ai).and_then(|c| addr_of.get(&c)) else {
                continue; // `dwarf_unwind` reports it
            };
            if cie < addr {
                continue;
            }
            let size = u64::from(p.rec.size);
            let to = self.allocate(si, size, 4)?;
            p.rec.addr = to;
            p.rec.slot = size as u32;
            p.rec.align_log2 = p.rec.align_log2.min(2);
            p.decision = Decision::MoveRecord { from: addr, to };
        }
        Ok(())
    }

    /// Gives each planned function whose unwind defers to DWARF (a
    /// DWARF-mode compact entry, or no entry but an FDE) its FDE's offset
    /// in `__eh_frame`, and checks that each FDE follows its CIE (the CIE
    /// pointer is an offset backwards).
    pub(super) fn dwarf_unwind(
        &self,
        obj: &ObjectFile,
        encodings: &FxHashMap<u32, u32>,
        planned: &mut [Planned],
    ) -> Step<()> {
        let fdes = super::super::record::fde_functions(obj);
        if fdes.is_empty() {
            return Ok(());
        }
        let Some((_, eh)) = self.eh_frame() else {
            return fallback(format!(
                "{}: new output section __TEXT,__eh_frame",
                obj.name
            ));
        };
        let addr_of: FxHashMap<usize, u64> = planned.iter().map(|p| (p.ai, p.rec.addr)).collect();
        let mut fde_of: FxHashMap<u32, u64> = FxHashMap::default();
        for (&fde, &func) in &fdes {
            let Some(&at) = addr_of.get(&(fde as usize)) else {
                continue; // dead: the function has a compact encoding
            };
            match cie_of(obj, fde as usize).and_then(|c| addr_of.get(&c)) {
                Some(&c) if c < at => {}
                _ => {
                    return fallback(format!(
                        "{}: an FDE would precede its CIE in __eh_frame",
                        obj.name
                    ))
                }
            }
            fde_of.insert(func, at);
        }
        let mode = self.arch.unwind_mode_dwarf();
        for p in planned.iter_mut().filter(|p| p.code) {
            let ai = p.ai as u32;
            let defers = match encodings.get(&ai) {
                Some(&e) => self.is_dwarf(e),
                None => fde_of.contains_key(&ai),
            };
            if !defers {
                continue;
            }
            p.rec.unwind = match fde_of.get(&ai) {
                Some(&at) => {
                    let off = at - eh.addr;
                    if off > 0x00ff_ffff {
                        return fallback(format!(
                            "{}: an FDE lies past the 16 MiB a compact unwind encoding reaches",
                            obj.name
                        ));
                    }
                    mode | off as u32
                }
                None => 0,
            };
        }
        Ok(())
    }

    /// Gives each planned function its personality's GOT slot and its
    /// LSDA's address, as the full link's planner does
    /// (`crate::unwind::plan`): the personality its compact unwind entry
    /// names; the LSDA its entry names or, for a row that defers to DWARF,
    /// the one its FDE names.
    pub(super) fn exception_rows(
        &self,
        obj: &ObjectFile,
        entries: &super::UnwindEntries,
        symtab: &SymbolTable,
        slots: &FxHashMap<SymId, ImportSlots>,
        planned: &mut [Planned],
    ) -> Step<()> {
        let fdes = super::super::record::fde_functions(obj);
        let fde_of: FxHashMap<u32, u32> = fdes.iter().map(|(&fde, &func)| (func, fde)).collect();
        if entries.personality.is_empty() && entries.lsda.is_empty() && fdes.is_empty() {
            return Ok(());
        }
        let addr_of: FxHashMap<usize, u64> = planned.iter().map(|p| (p.ai, p.rec.addr)).collect();
        let lsda_addr = |(atom, off): (u32, i64)| -> Step<u64> {
            match addr_of.get(&(atom as usize)) {
                Some(&a) => Ok(a.wrapping_add(off as u64)),
                None => fallback(format!(
                    "{}: an LSDA is not in a section the update places",
                    obj.name
                )),
            }
        };
        let mut rows: FxHashMap<usize, (u64, u64)> = FxHashMap::default();
        for p in planned.iter().filter(|p| p.code) {
            let ai = p.ai as u32;
            let personality_got = match entries.personality.get(&ai) {
                Some(&g) => self.personality_slot(obj, symtab, slots, g)?,
                None => 0,
            };
            let mut lsda = match entries.lsda.get(&ai) {
                Some(&l) => lsda_addr(l)?,
                None => 0,
            };
            if lsda == 0 && p.rec.unwind != 0 && self.is_dwarf(p.rec.unwind) {
                if let Some(&fde) = fde_of.get(&ai) {
                    let atom = &obj.atoms[fde as usize];
                    let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
                    if let Some(l) = eh_frame::fde_lsda(relocs) {
                        lsda = lsda_addr(l)?;
                    }
                }
            }
            rows.insert(p.ai, (personality_got, lsda));
        }
        for p in planned.iter_mut() {
            if let Some(&(personality_got, lsda)) = rows.get(&p.ai) {
                p.personality_got = personality_got;
                p.lsda = lsda;
            }
        }
        Ok(())
    }

    /// The GOT slot through which the image reaches personality routine
    /// `g` (a new import has been given one).
    fn personality_slot(
        &self,
        obj: &ObjectFile,
        symtab: &SymbolTable,
        slots: &FxHashMap<SymId, ImportSlots>,
        g: SymId,
    ) -> Step<u64> {
        let sym = &symtab.syms[g as usize];
        let got = match slots.get(&g) {
            Some(s) if s.got != 0 => s.got,
            _ => self.global(sym.name)?.map_or(0, |r| r.slots.got),
        };
        if got == 0 {
            return fallback(format!(
                "{}: personality {} has no GOT slot in the image",
                obj.name,
                name(sym.name)
            ));
        }
        Ok(got)
    }

    /// Once the object's atoms are written: each FDE that stayed in a
    /// larger room is padded to it (its length covers the room, the rest
    /// is `DW_CFA_nop`), and each CIE that stayed must be unchanged.
    pub(super) fn finish_records(&mut self, obj: &ObjectFile, records: &[InPlace]) -> Step<()> {
        for &(ai, addr, room) in records {
            let size = u64::from(obj.atoms[ai].size);
            let off = self.span(addr, room as usize)?;
            let record = &self.img[off..off + size as usize];
            if eh_frame::is_cie(record) {
                if record != &self.orig[off..off + size as usize] {
                    return fallback(format!("{}: a CIE of __eh_frame changed", obj.name));
                }
                continue;
            }
            if size < room {
                let len = u32::try_from(room - 4).expect("a record's room fits its length");
                self.img[off..off + 4].copy_from_slice(&len.to_le_bytes());
                self.img[off + size as usize..off + room as usize].fill(0);
                self.touched.push(off as u64..off as u64 + room);
            }
        }
        Ok(())
    }
}
