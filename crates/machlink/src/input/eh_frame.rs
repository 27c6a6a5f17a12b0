//! `__TEXT,__eh_frame`: DWARF call frame information, one atom per record
//! (CIE or FDE).
//!
//! On x86_64, Mach-O objects leave most eh_frame pointers without
//! relocations: an FDE's CIE pointer is an offset back to its CIE, and its
//! `pc_begin` and LSDA pointers are pc-relative to where they are written.
//! Once records move independently those values go stale, so this module
//! makes them explicit: each becomes a SUBTRACTOR-style [`Reloc`]
//! (`target - field`), which the normal relocation pass rewrites.

use crate::arch::RelocKind;
use crate::atom::{Reloc, Target};

/// Offsets where each record starts; stops at a zero terminator.
pub fn record_cuts(data: &[u8]) -> Result<Vec<u64>, String> {
    let mut cuts = Vec::new();
    let mut at = 0usize;
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        if len == 0xffff_ffff {
            return Err(format!(
                "64-bit eh_frame record at offset {at:#x} is not supported"
            ));
        }
        if at + 4 + len > data.len() {
            return Err(format!(
                "eh_frame record at offset {at:#x} overruns the section"
            ));
        }
        cuts.push(at as u64);
        at += 4 + len;
    }
    if cuts.is_empty() {
        cuts.push(0);
    }
    Ok(cuts)
}

/// How many FDEs (records with a CIE pointer) a section holds; stops at
/// the first malformed record.
pub fn fde_count(data: &[u8]) -> usize {
    let word = |at: usize| {
        data.get(at..at.checked_add(4)?)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
    };
    let mut count = 0;
    let mut at = 0usize;
    while let (Some(len), Some(cie_pointer)) = (word(at), word(at + 4)) {
        if len == 0 || len == 0xffff_ffff {
            break;
        }
        count += usize::from(cie_pointer != 0);
        at += 4 + len as usize;
    }
    count
}

/// Pointer encodings a CIE declares for its FDEs.
#[derive(Clone, Copy, Debug, Default)]
struct CieInfo {
    /// 'R': encoding of pc_begin / pc_range.
    fde_encoding: u8,
    /// 'L': encoding of the LSDA pointer, if the CIE has one.
    lsda_encoding: Option<u8>,
}

fn uleb(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *data.get(*at)?;
        *at += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
}

/// Size in bytes of a pointer with DWARF encoding `enc` (64-bit target).
fn pointer_size(enc: u8) -> Option<usize> {
    match enc & 0x0f {
        0x00 | 0x04 | 0x0c => Some(8),
        0x02 | 0x0a => Some(2),
        0x03 | 0x0b => Some(4),
        _ => None,
    }
}

/// Reads the augmentation of the CIE at `record` (its start offset).
fn parse_cie(data: &[u8], record: usize) -> Option<CieInfo> {
    let mut at = record + 8; // length, CIE id
    let version = *data.get(at)?;
    at += 1;
    let aug_end = at + data.get(at..)?.iter().position(|&b| b == 0)?;
    let aug = &data[at..aug_end];
    at = aug_end + 1;
    uleb(data, &mut at)?; // code alignment
    uleb(data, &mut at)?; // data alignment (sleb, skipped as uleb)
    if version == 1 {
        at += 1;
    } else {
        uleb(data, &mut at)?;
    }
    let mut info = CieInfo::default();
    if aug.first() != Some(&b'z') {
        return Some(info);
    }
    uleb(data, &mut at)?; // augmentation data length
    for &c in &aug[1..] {
        match c {
            b'P' => {
                let enc = *data.get(at)?;
                at += 1 + pointer_size(enc)?;
            }
            b'L' => {
                info.lsda_encoding = Some(*data.get(at)?);
                at += 1;
            }
            b'R' => {
                info.fde_encoding = *data.get(at)?;
                at += 1;
            }
            _ => return None,
        }
    }
    Some(info)
}

fn read_signed(data: &[u8], at: usize, size: usize) -> Option<i64> {
    let b = data.get(at..at + size)?;
    Some(match size {
        2 => i64::from(i16::from_le_bytes(b.try_into().ok()?)),
        4 => i64::from(i32::from_le_bytes(b.try_into().ok()?)),
        _ => i64::from_le_bytes(b.try_into().ok()?),
    })
}

/// What the implicit relocations of one FDE need from its object: the
/// atom holding an input address, and that atom's input start address.
pub trait AtomLookup {
    fn atom_at_address(&self, addr: u64) -> Option<(u32, u64)>;
}

/// The implicit relocations of the records of an `__eh_frame` section
/// whose data is `data` at input address `sect_addr`; `atoms` are the
/// record atoms (index, section offset), in section order. `explicit` lists
/// section offsets that already carry a relocation, sorted (those are left
/// alone).
pub fn implicit_relocs(
    data: &[u8],
    sect_addr: u64,
    atoms: &[(u32, u64)],
    explicit: &[u64],
    lookup: &dyn AtomLookup,
) -> Result<Vec<(u32, Reloc)>, String> {
    // Record atoms are in section order.
    let atom_of_offset = |off: u64| {
        atoms
            .binary_search_by_key(&off, |&(_, start)| start)
            .ok()
            .map(|i| atoms[i].0)
    };
    // Up to three pointers per FDE (CIE, function, LSDA).
    let mut out = Vec::with_capacity(atoms.len() * 3);
    // The CIE read last, by offset: the FDEs of a section share one or two.
    let mut last_cie: Option<(u64, CieInfo)> = None;
    for &(fde_atom, start) in atoms {
        let rec = start as usize;
        // (A zerofill __eh_frame has no bytes behind its records at all.)
        let cie_ptr = data
            .get(rec + 4..rec + 8)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| format!("record at {rec:#x} is truncated"))?;
        if cie_ptr == 0 {
            continue; // a CIE
        }
        let cie_off = (rec as u64 + 4)
            .checked_sub(u64::from(cie_ptr))
            .ok_or_else(|| format!("FDE at {rec:#x} points before the section"))?;
        let cie_atom = atom_of_offset(cie_off)
            .ok_or_else(|| format!("FDE at {rec:#x}: no CIE at {cie_off:#x}"))?;
        let cie = match last_cie {
            Some((off, cie)) if off == cie_off => cie,
            _ => {
                let cie = parse_cie(data, cie_off as usize)
                    .ok_or_else(|| format!("malformed CIE at {cie_off:#x}"))?;
                last_cie = Some((cie_off, cie));
                cie
            }
        };
        // The CIE pointer: (this field) - (CIE start).
        out.push((
            fde_atom,
            Reloc {
                offset: 4,
                kind: RelocKind::Absolute,
                length: 2,
                target: Target::Atom(fde_atom),
                addend: 4,
                subtrahend: Some(Target::Atom(cie_atom)),
            },
        ));
        let pc_size = pointer_size(cie.fde_encoding).ok_or("unsupported FDE pointer encoding")?;
        // (offset in the FDE, encoding, size) of the function and LSDA
        // pointers.
        let mut lsda = None;
        if let Some(enc) = cie.lsda_encoding {
            let mut at = rec + 8 + 2 * pc_size;
            uleb(data, &mut at).ok_or("truncated FDE")?;
            if enc != 0xff {
                let size = pointer_size(enc).ok_or("unsupported LSDA pointer encoding")?;
                lsda = Some((at - rec, enc, size));
            }
        }
        let function = (8usize, cie.fde_encoding, pc_size);
        for (field, enc, size) in std::iter::once(function).chain(lsda) {
            let field_off = start + field as u64;
            if explicit.binary_search(&field_off).is_ok() {
                continue;
            }
            if enc & 0x70 != 0x10 {
                return Err(format!(
                    "FDE at {rec:#x}: only pc-relative pointers are supported (encoding {enc:#x})"
                ));
            }
            let value = read_signed(data, field_off as usize, size).ok_or("truncated FDE")?;
            let field_addr = sect_addr.wrapping_add(field_off);
            let target_addr = field_addr.wrapping_add(value as u64);
            if value == 0 && field != 8 {
                continue; // no LSDA
            }
            let (t, t_start) = lookup.atom_at_address(target_addr).ok_or_else(|| {
                format!("FDE at {rec:#x} points at {target_addr:#x}, which no section holds")
            })?;
            // value = target - field = T + (target - T.start) - (FDE + field)
            out.push((
                fde_atom,
                Reloc {
                    offset: field as u32,
                    kind: RelocKind::Absolute,
                    length: if size == 8 { 3 } else { 2 },
                    target: Target::Atom(t),
                    addend: (target_addr - t_start) as i64 - field as i64,
                    subtrahend: Some(Target::Atom(fde_atom)),
                },
            ));
        }
    }
    Ok(out)
}

/// The relocation of an FDE atom's `pc_begin`, which names the function
/// it describes (see [`ObjectFile::fde_function`](super::object::ObjectFile::fde_function)).
/// x86_64 objects leave the field to the linker (see [`implicit_relocs`]:
/// a section-relative atom); arm64 objects state it with a SUBTRACTOR
/// pair whose minuend names the function's symbol, which may be a global
/// one.
pub fn pc_begin(relocs: &[Reloc]) -> Option<&Reloc> {
    relocs.iter().find(|r| r.offset == 8)
}

/// The LSDA an FDE atom names, as (atom of the same file, offset in it):
/// the relocation after `pc_begin` and `pc_range`. Its value is
/// `LSDA - field`, written as `target + addend - FDE start`, so the LSDA
/// is at `target + addend + field offset`.
pub fn fde_lsda(relocs: &[Reloc]) -> Option<(u32, i64)> {
    let r = relocs.iter().find(|r| r.offset > 8)?;
    match (r.target, r.subtrahend) {
        (Target::Atom(t), Some(_)) => Some((t, r.addend.checked_add(i64::from(r.offset))?)),
        _ => None,
    }
}

/// Whether the record `record` (its bytes, from its length word on) is a
/// CIE: its second word, the CIE pointer of an FDE, is 0.
pub fn is_cie(record: &[u8]) -> bool {
    record.get(4..8) == Some(&[0, 0, 0, 0])
}

/// A CIE's augmentation string (`record` starts at its length word).
pub fn cie_augmentation(record: &[u8]) -> Option<&[u8]> {
    let aug = record.get(9..)?;
    Some(&aug[..aug.iter().position(|&b| b == 0)?])
}

/// Where the `pc_range` field of the FDE at offset `fde` of an
/// `__eh_frame` section's bytes `data` is (offset from the FDE's start,
/// size), read through the CIE it points at.
pub fn fde_pc_range(data: &[u8], fde: usize) -> Option<(usize, usize)> {
    let cie_ptr = u32::from_le_bytes(data.get(fde + 4..fde + 8)?.try_into().ok()?);
    let cie = (fde + 4).checked_sub(cie_ptr as usize)?;
    if cie_ptr == 0 || !is_cie(data.get(cie..)?) {
        return None;
    }
    let size = pointer_size(parse_cie(data, cie)?.fde_encoding)?;
    let len = u32::from_le_bytes(data.get(fde..fde + 4)?.try_into().ok()?) as usize;
    (8 + 2 * size <= 4 + len).then_some((8 + size, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CIE ("zR", pc-relative sdata4 pointers) and an FDE after it.
    fn cie_and_fde() -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&16u32.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&[1, b'z', b'R', 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8]);
        assert_eq!(d.len(), 20);
        d.extend_from_slice(&20u32.to_le_bytes());
        d.extend_from_slice(&24u32.to_le_bytes()); // back to offset 0
        d.extend_from_slice(&(-0x100i32).to_le_bytes());
        d.extend_from_slice(&0x40u32.to_le_bytes());
        d.extend_from_slice(&[0; 8]);
        d
    }

    #[test]
    fn an_fdes_pc_range_is_found_through_its_cie() {
        let d = cie_and_fde();
        assert!(is_cie(&d) && !is_cie(&d[20..]));
        assert_eq!(cie_augmentation(&d), Some(&b"zR"[..]));
        // pc_begin at +8 is 4 bytes (sdata4): pc_range follows it.
        assert_eq!(fde_pc_range(&d, 20), Some((12, 4)));
        // Not an FDE, or an FDE whose CIE pointer leads nowhere.
        assert_eq!(fde_pc_range(&d, 0), None);
        let mut bad = d.clone();
        bad[24..28].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(fde_pc_range(&bad, 20), None);
    }

    #[test]
    fn records_are_cut_at_their_lengths() {
        let mut d = vec![0u8; 0];
        d.extend_from_slice(&4u32.to_le_bytes());
        d.extend_from_slice(&[0; 4]);
        d.extend_from_slice(&8u32.to_le_bytes());
        d.extend_from_slice(&[1; 8]);
        d.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(record_cuts(&d).unwrap(), vec![0, 8]);
        assert!(record_cuts(&[0xff, 0, 0, 0]).is_err());
    }
}
