//! x86_64: trampolines are `jmp rel32` (5 bytes), reaching ±2 GiB, which
//! covers any image machlink lays out.

use super::Arch;

pub struct X86_64;

const JMP_REL32: u8 = 0xE9;

impl Arch for X86_64 {
    const CPU_TYPE: u32 = 0x0100_0007;
    const MAX_TRAMPOLINE: usize = 5;

    fn write_trampoline(out: &mut [u8], from: u64, to: u64) -> Option<usize> {
        let next = from.checked_add(5)?;
        let disp = i32::try_from(to.wrapping_sub(next) as i64).ok()?;
        let out = out.get_mut(..5)?;
        out[0] = JMP_REL32;
        out[1..].copy_from_slice(&disp.to_le_bytes());
        Some(5)
    }

    fn read_trampoline(code: &[u8], from: u64) -> Option<u64> {
        match code {
            [JMP_REL32, d0, d1, d2, d3, ..] => {
                let disp = i32::from_le_bytes([*d0, *d1, *d2, *d3]);
                Some(from.wrapping_add(5).wrapping_add(disp as i64 as u64))
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Relocations
// ---------------------------------------------------------------------------

use crate::atom::{Reloc, Target};
use crate::input::object::{pcrel_bias, ObjectFile};
use crate::layout::OutSection;
use crate::linkedit::fixups::{Fixup, FixupKind};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::is_imported;
use crate::write::Resolved;
use object::macho;

/// The atom being relocated: its file, address, output section and bytes.
pub(crate) struct Place<'p, 'a> {
    pub file: u32,
    pub obj: &'p ObjectFile<'a>,
    pub atom_addr: u64,
    pub section: &'p OutSection,
    pub bytes: &'p mut [u8],
}

/// What a relocation's target turned out to be.
enum Referent {
    /// An address in the image (slides with it).
    Local { addr: u64 },
    /// A fixed value that does not slide (absolute symbols).
    Absolute(u64),
    /// A symbol dyld binds.
    Imported(SymId),
}

/// `interior`: the reference means a place inside its target (a nonzero
/// offset, or one side of a difference), which for a moved function is in
/// its body rather than at its canonical address.
fn referent(
    p: &Place,
    t: Target,
    interior: bool,
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Referent, String> {
    let layout = res.layout;
    match t {
        Target::Atom(a) => {
            let addr = layout.referenced_addr(p.file, a, interior);
            if addr == 0 {
                return Err("reference to a section machlink does not keep".into());
            }
            Ok(Referent::Local { addr })
        }
        Target::Symbol(i) => {
            let Some(g) = symtab.global_of(p.file, t) else {
                let name = p.obj.symbols.get(i as usize).map_or(&b"?"[..], |s| s.name);
                return Err(format!(
                    "reference to local symbol {} in a section machlink does not keep",
                    String::from_utf8_lossy(name)
                ));
            };
            let def = symtab.syms[g as usize].def;
            if is_imported(def) {
                return Ok(Referent::Imported(g));
            }
            if let Def::Absolute { value } = def {
                return Ok(Referent::Absolute(value));
            }
            let addr = res.symbol_ref(symtab, g, interior).ok_or_else(|| {
                format!(
                    "symbol {} has no address",
                    String::from_utf8_lossy(symtab.syms[g as usize].name)
                )
            })?;
            Ok(Referent::Local { addr })
        }
    }
}

fn name_of(symtab: &SymbolTable, g: SymId) -> String {
    String::from_utf8_lossy(symtab.syms[g as usize].name).into_owned()
}

/// Applies one relocation to the atom's bytes; records the dyld fixup a
/// pointer needs. Bind fixups carry the symbol id in `import` until the
/// import table is built.
pub(crate) fn relocate(
    p: &mut Place,
    r: &Reloc,
    symtab: &SymbolTable,
    res: &Resolved,
    fixups: &mut Vec<Fixup>,
) -> Result<(), String> {
    let at = r.offset as usize;
    // The field's own address: where the bytes actually go.
    let pc = p.atom_addr + u64::from(r.offset);
    let size = 1usize << r.length;
    if at + size > p.bytes.len() {
        return Err("relocated field lies outside the atom".into());
    }
    let pair = r.subtrahend.is_some();
    let target = referent(p, r.target, pair || r.addend != 0, symtab, res)?;
    let subtrahend = r
        .subtrahend
        .map(|sub| referent(p, sub, true, symtab, res))
        .transpose()?;
    let field = &mut p.bytes[at..at + size];
    if let Some(sub) = subtrahend {
        // SUBTRACTOR pair: a difference of two addresses in the image.
        let (Referent::Local { addr: a, .. }, Referent::Local { addr: b, .. }) = (target, sub)
        else {
            return Err("SUBTRACTOR pair must name two symbols defined in the image".into());
        };
        let v = (a as i64).wrapping_sub(b as i64).wrapping_add(r.addend);
        return write_int(field, v, r.length);
    }
    match r.kind {
        macho::X86_64_RELOC_UNSIGNED => {
            let code = p.section.is_code();
            let tlv_vars = p.section.kind() == macho::S_THREAD_LOCAL_VARIABLES;
            unsigned(code, tlv_vars, r, target, pc, field, res, fixups)
        }
        macho::X86_64_RELOC_SIGNED
        | macho::X86_64_RELOC_SIGNED_1
        | macho::X86_64_RELOC_SIGNED_2
        | macho::X86_64_RELOC_SIGNED_4
        | macho::X86_64_RELOC_BRANCH => {
            let s = match target {
                Referent::Local { addr, .. } | Referent::Absolute(addr) => addr,
                Referent::Imported(g) if r.kind == macho::X86_64_RELOC_BRANCH => {
                    res.stub(g).ok_or("no stub for call")?
                }
                Referent::Imported(g) => {
                    return Err(format!(
                    "{} is defined in a dylib and cannot be addressed directly (it needs the GOT)",
                    name_of(symtab, g)
                ))
                }
            };
            pcrel(field, s, r, pc)
        }
        macho::X86_64_RELOC_GOT_LOAD | macho::X86_64_RELOC_TLV => {
            let s = match target {
                Referent::Imported(g) if r.kind == macho::X86_64_RELOC_GOT_LOAD => {
                    res.got_slot(g).ok_or("no GOT slot")?
                }
                Referent::Imported(g) => res.thread_ptr(g).ok_or("no thread pointer slot")?,
                Referent::Local { addr, .. } | Referent::Absolute(addr) => {
                    // Relax `movq x@GOTPCREL(%rip), %reg` to `leaq x(%rip), %reg`.
                    let opcode = at
                        .checked_sub(2)
                        .and_then(|o| p.bytes.get_mut(o))
                        .ok_or("no instruction before the field")?;
                    if *opcode != 0x8b {
                        return Err(format!(
                            "cannot relax instruction with opcode {:#04x} (expected movq)",
                            opcode
                        ));
                    }
                    *opcode = 0x8d;
                    addr
                }
            };
            let field = &mut p.bytes[at..at + size];
            pcrel(field, s, r, pc)
        }
        macho::X86_64_RELOC_GOT => {
            let g = match r.target {
                Target::Symbol(_) => symtab
                    .global_of(p.file, r.target)
                    .ok_or("GOT reference to a local symbol")?,
                Target::Atom(_) => return Err("GOT reference to a section".into()),
            };
            let slot = res.got_slot(g).ok_or("no GOT slot")?;
            pcrel(field, slot, r, pc)
        }
        other => Err(format!("unsupported relocation type {other}")),
    }
}

#[allow(clippy::too_many_arguments)]
fn unsigned(
    in_code: bool,
    in_tlv_descriptors: bool,
    r: &Reloc,
    target: Referent,
    pc: u64,
    field: &mut [u8],
    res: &Resolved,
    fixups: &mut Vec<Fixup>,
) -> Result<(), String> {
    // The `offset` word of a thread-local descriptor is relative to the
    // start of the thread-local template, and is not slid.
    if in_tlv_descriptors {
        let template = res.layout.tlv_start..res.layout.tlv_end;
        if let Referent::Local { addr } = target {
            if template.contains(&addr) {
                return write_int(
                    field,
                    (addr - res.layout.tlv_start) as i64 + r.addend,
                    r.length,
                );
            }
        }
    }
    match (target, r.length) {
        (Referent::Absolute(v), _) => write_int(field, v as i64 + r.addend, r.length),
        (_, 3) if in_code => {
            Err("absolute 64-bit address in code would need a text relocation".into())
        }
        (Referent::Local { addr, .. }, 3) => {
            let value = (addr as i64 + r.addend) as u64;
            field.copy_from_slice(&value.to_le_bytes());
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Rebase { target: value },
            });
            Ok(())
        }
        (Referent::Imported(g), 3) => {
            field.copy_from_slice(&0u64.to_le_bytes());
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Bind {
                    import: g,
                    addend: r.addend,
                },
            });
            Ok(())
        }
        _ => Err("32-bit absolute address cannot be used in a position-independent image".into()),
    }
}

/// Writes `S + A - (P + 4 + bias)` into a 32-bit pc-relative field.
fn pcrel(field: &mut [u8], s: u64, r: &Reloc, pc: u64) -> Result<(), String> {
    if r.length != 2 {
        return Err("pc-relative relocation must be 4 bytes".into());
    }
    let v = (s as i64)
        .wrapping_add(r.addend)
        .wrapping_sub((pc + 4) as i64 + pcrel_bias(r.kind));
    write_int(field, v, 2)
}

fn write_int(field: &mut [u8], v: i64, length: u8) -> Result<(), String> {
    match length {
        2 => {
            let v =
                i32::try_from(v).map_err(|_| format!("value {v:#x} does not fit in 32 bits"))?;
            field.copy_from_slice(&v.to_le_bytes());
        }
        3 => field.copy_from_slice(&v.to_le_bytes()),
        1 => field.copy_from_slice(&(v as i16).to_le_bytes()),
        _ => field[0] = v as u8,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trampolines_round_trip_forwards_and_backwards() {
        let mut buf = [0u8; 8];
        for (from, to) in [
            (0x1000_0000u64, 0x1000_4000u64),
            (0x1000_4000, 0x1000_0000),
            (0x2000, 0x2005),
        ] {
            assert_eq!(X86_64::write_trampoline(&mut buf, from, to), Some(5));
            assert_eq!(X86_64::read_trampoline(&buf, from), Some(to));
        }
        assert_eq!(buf[0], 0xE9);
    }

    #[test]
    fn out_of_range_targets_are_refused() {
        let mut buf = [0u8; 5];
        assert_eq!(X86_64::write_trampoline(&mut buf, 0, 0x1_0000_0000), None);
        assert_eq!(
            X86_64::write_trampoline(&mut [0u8; 4], 0, 16),
            None,
            "too small a slot"
        );
        assert_eq!(X86_64::read_trampoline(&[0x90; 5], 0), None);
    }
}
