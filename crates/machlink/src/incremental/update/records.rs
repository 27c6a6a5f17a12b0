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
//! still point at them. Personalities and LSDAs (C++ exceptions) need
//! `__unwind_info` rows an update does not rebuild: those fall back.

use super::place::Planned;
use super::plan::Decision;
use super::*;
use crate::input::eh_frame;

/// Falls back when a CIE of the object's `__eh_frame` names a personality
/// or LSDAs.
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
            match eh_frame::cie_augmentation(data) {
                Some(aug) if !aug.iter().any(|c| matches!(c, b'P' | b'L')) => {}
                Some(_) => {
                    return fallback(format!(
                        "{}: __eh_frame names a personality or LSDAs (C++ exceptions)",
                        obj.name
                    ))
                }
                None => return fallback(format!("{}: an __eh_frame CIE does not parse", obj.name)),
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

impl Updater<'_> {
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
        for (&fde, &(func, offset)) in &fdes {
            let Some(&at) = addr_of.get(&(fde as usize)) else {
                continue; // dead: the function has a compact encoding
            };
            // Rows are kept per atom: a function inside another's atom
            // (no subsections) would share its row.
            if offset != 0 {
                return fallback(format!(
                    "{}: an FDE describes code inside another function's atom (no subsections via symbols)",
                    obj.name
                ));
            }
            let atom = &obj.atoms[fde as usize];
            let cie = obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize]
                .iter()
                .find(|r| r.offset == 4)
                .and_then(|r| match r.subtrahend {
                    Some(crate::atom::Target::Atom(c)) => addr_of.get(&(c as usize)),
                    _ => None,
                });
            match cie {
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
