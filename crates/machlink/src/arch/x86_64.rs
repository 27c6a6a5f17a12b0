//! x86_64: `X86_64_RELOC_*` relocations, rel32 fields relative to the end
//! of the field, `jmp *disp32(%rip)` stubs, `jmp rel32` trampolines (5
//! bytes, reaching ±2 GiB, which covers any image machlink lays out), int3
//! between functions and 4 KiB pages.

use super::BackendRelocKind as ImageReloc;
use super::{write_int, ApplyError, Arch, DecodedReloc, LoneForm, RelocKind};
use super::{ObjcStub, ObjcStubsMode, TemplateField};
use object::macho;

pub struct X86_64;

const JMP_REL32: u8 = 0xE9;
const JMP_RIP_INDIRECT: [u8; 2] = [0xFF, 0x25];
const MOVQ_LOAD: u8 = 0x8B;
const LEAQ: u8 = 0x8D;
const INT3: u8 = 0xCC;
/// A DTrace probe's call site: `nop; nopl 0(%rax)`.
const DTRACE_PROBE_NOPS: [u8; 5] = [0x90, 0x0F, 0x1F, 0x40, 0x00];
/// An is-enabled test's call site: `xorl %eax, %eax; nop; nop; nop`.
const DTRACE_IS_ENABLED_ZERO: [u8; 5] = [0x33, 0xC0, 0x90, 0x90, 0x90];
const STUB_SIZE: u64 = 6;
const STUB_HELPER_HEADER: u64 = 16;
const STUB_HELPER_ENTRY: u64 = 10;
/// `UNWIND_X86_64_MODE_STACK_IND`: frameless, the stack size read from the
/// function's `subq`.
const UNWIND_MODE_STACK_IND: u32 = 0x0300_0000;
const UNWIND_MODE_DWARF: u32 = 0x0400_0000;
const UNWIND_MODE_MASK: u32 = 0x0F00_0000;

/// `movq sel@selref(%rip), %rsi; jmpq *_objc_msgSend@GOT(%rip)`: the
/// selector is the second argument (%rsi) of objc_msgSend.
const OBJC_STUB_FAST: [u8; 13] = [
    0x48, 0x8B, 0x35, 0, 0, 0, 0, // movq disp32(%rip), %rsi
    0xFF, 0x25, 0, 0, 0, 0, // jmpq *disp32(%rip)
];

/// The arch-neutral kind of an `X86_64_RELOC_*` type (SUBTRACTOR, which
/// pairs with the UNSIGNED after it, is [`RelocKind::Absolute`]).
fn kind_of(r_type: u8) -> Option<RelocKind> {
    Some(match r_type {
        macho::X86_64_RELOC_UNSIGNED | macho::X86_64_RELOC_SUBTRACTOR => RelocKind::Absolute,
        macho::X86_64_RELOC_SIGNED => RelocKind::PcRel { bias: 0 },
        macho::X86_64_RELOC_SIGNED_1 => RelocKind::PcRel { bias: 1 },
        macho::X86_64_RELOC_SIGNED_2 => RelocKind::PcRel { bias: 2 },
        macho::X86_64_RELOC_SIGNED_4 => RelocKind::PcRel { bias: 4 },
        macho::X86_64_RELOC_BRANCH => RelocKind::Branch,
        macho::X86_64_RELOC_GOT_LOAD => RelocKind::GotLoad,
        macho::X86_64_RELOC_GOT => RelocKind::PointerToGot,
        macho::X86_64_RELOC_TLV => RelocKind::TlvLoad,
        _ => return None,
    })
}

/// Distance from the end of a rel32 field to the end of its instruction.
fn bias(kind: RelocKind) -> i64 {
    match kind {
        RelocKind::PcRel { bias } => i64::from(bias),
        _ => 0,
    }
}

#[inline]
fn rel32(
    kind: RelocKind,
    length: u8,
    field: &mut [u8],
    pc: u64,
    to: u64,
) -> Result<(), ApplyError> {
    if length != 2 {
        return Err(ApplyError::BadLength {
            kind,
            bytes: 1 << length,
        });
    }
    let v = (to as i64).wrapping_sub(pc.wrapping_add(4) as i64 + bias(kind));
    write_int(field, v, 2)
}

/// Decodes the relocation at `infos[0]` (and the UNSIGNED a SUBTRACTOR
/// pairs with); returns it and how many entries it used. The field holds
/// the addend. For SIGNED_1/2/4 it is relative to the end of the
/// instruction, 1, 2 or 4 bytes past the field's end: the bias makes it
/// relative to the field's end like the others.
fn decode_one(
    infos: &[macho::RelocationInfo],
    data: &[u8],
) -> Result<(DecodedReloc, usize), String> {
    let first = infos[0];
    let (kind, info, subtrahend, used) = if first.r_type == macho::X86_64_RELOC_SUBTRACTOR {
        let pair = infos
            .get(1)
            .copied()
            .ok_or("SUBTRACTOR without its UNSIGNED pair")?;
        if pair.r_type != macho::X86_64_RELOC_UNSIGNED || pair.r_address != first.r_address {
            return Err("SUBTRACTOR must be followed by an UNSIGNED at the same address".into());
        }
        (RelocKind::Absolute, pair, Some(first), 2)
    } else {
        let kind = kind_of(first.r_type)
            .ok_or_else(|| format!("unknown relocation type {}", first.r_type))?;
        (kind, first, None, 1)
    };
    let at = info.r_address as usize;
    let field = data
        .get(at..at + (1usize << info.r_length))
        .ok_or("field extends past the end of the section")?;
    let embedded = match *field {
        [b] => i64::from(b as i8),
        [a, b] => i64::from(i16::from_le_bytes([a, b])),
        [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
        _ => i64::from_le_bytes(field.try_into().expect("8 bytes")),
    };
    let addend = if info.r_pcrel {
        embedded + bias(kind)
    } else {
        embedded
    };
    let decoded = DecodedReloc {
        kind,
        addend,
        info,
        subtrahend,
    };
    Ok((decoded, used))
}

/// [`decode_one`] for an entry that stands alone (not a SUBTRACTOR) and
/// is good; None for any other, which `decode_one` then decodes or
/// reports.
#[inline(always)]
fn decode_single(info: &macho::RelocationInfo, data: &[u8]) -> Option<DecodedReloc> {
    if info.r_type == macho::X86_64_RELOC_SUBTRACTOR {
        return None;
    }
    let kind = kind_of(info.r_type)?;
    let at = info.r_address as usize;
    let embedded = match info.r_length {
        0 => i64::from(*data.get(at)? as i8),
        1 => i64::from(i16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?)),
        2 => i64::from(i32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?)),
        _ => i64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?),
    };
    let addend = if info.r_pcrel {
        embedded + bias(kind)
    } else {
        embedded
    };
    Some(DecodedReloc {
        kind,
        addend,
        info: *info,
        subtrahend: None,
    })
}

impl super::InlineDecode for X86_64 {
    #[inline(always)]
    fn decode_lone(info: &macho::RelocationInfo, data: &[u8]) -> Option<DecodedReloc> {
        decode_single(info, data)
    }
    #[inline(always)]
    fn is_pair_head(info: &macho::RelocationInfo) -> bool {
        info.r_type == macho::X86_64_RELOC_SUBTRACTOR
    }
    fn decode_group(infos: &[macho::RelocationInfo], data: &[u8]) -> Option<DecodedReloc> {
        match decode_one(infos, data) {
            Ok((d, used)) if used == infos.len() => Some(d),
            _ => None,
        }
    }
    const LONE: [LoneForm; 16] = lone_forms();
    const ADDEND: Option<u8> = None;
}

/// [`decode_single`] as a table (see [`LoneForm`]): every type but
/// SUBTRACTOR stands alone in any shape, and its field holds the addend;
/// SIGNED_1/2/4 add their bias when pc-relative (the table takes only
/// those shapes of them).
const fn lone_forms() -> [LoneForm; 16] {
    let any = LoneForm::shapes(None, 0b1111, false);
    let pcrel = LoneForm::shapes(Some(true), 0b1111, false);
    const fn form(kind: RelocKind, shapes: u16, bias: i8) -> LoneForm {
        LoneForm {
            kind,
            shapes,
            reads_field: true,
            bias,
            takes_addend: false,
        }
    }
    let mut t = [LoneForm::NONE; 16];
    t[macho::X86_64_RELOC_UNSIGNED as usize] = form(RelocKind::Absolute, any, 0);
    t[macho::X86_64_RELOC_SIGNED as usize] = form(RelocKind::PcRel { bias: 0 }, any, 0);
    t[macho::X86_64_RELOC_SIGNED_1 as usize] = form(RelocKind::PcRel { bias: 1 }, pcrel, 1);
    t[macho::X86_64_RELOC_SIGNED_2 as usize] = form(RelocKind::PcRel { bias: 2 }, pcrel, 2);
    t[macho::X86_64_RELOC_SIGNED_4 as usize] = form(RelocKind::PcRel { bias: 4 }, pcrel, 4);
    t[macho::X86_64_RELOC_BRANCH as usize] = form(RelocKind::Branch, any, 0);
    t[macho::X86_64_RELOC_GOT_LOAD as usize] = form(RelocKind::GotLoad, any, 0);
    t[macho::X86_64_RELOC_GOT as usize] = form(RelocKind::PointerToGot, any, 0);
    t[macho::X86_64_RELOC_TLV as usize] = form(RelocKind::TlvLoad, any, 0);
    t
}

impl Arch for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }
    fn cpu_type(&self) -> u32 {
        macho::CPU_TYPE_X86_64
    }
    fn cpu_subtype(&self) -> u32 {
        macho::CPU_SUBTYPE_X86_64_ALL
    }
    /// x86_64h (Haswell) objects link as x86_64, as before.
    fn accepts_cpu_subtype(&self, _subtype: u32) -> bool {
        true
    }
    fn tapi_target(&self) -> &'static str {
        "x86_64-macos"
    }
    fn tapi_compatible_targets(&self) -> &'static [&'static str] {
        &[]
    }
    fn page_size(&self) -> u64 {
        0x1000
    }
    fn trap(&self) -> &'static [u8] {
        &[INT3]
    }
    fn adhoc_sign_by_default(&self) -> bool {
        false
    }
    fn stub_size(&self) -> u64 {
        STUB_SIZE
    }
    fn stub_align_log2(&self) -> u8 {
        1
    }
    fn stub_helper_header_size(&self) -> u64 {
        STUB_HELPER_HEADER
    }
    fn stub_helper_entry_size(&self) -> u64 {
        STUB_HELPER_ENTRY
    }
    fn max_trampoline(&self) -> usize {
        5
    }
    #[inline]
    fn branch_reach(&self) -> u64 {
        1 << 31
    }
    fn unwind_mode_dwarf(&self) -> u32 {
        UNWIND_MODE_DWARF
    }
    fn trampoline_unwind(&self) -> u32 {
        // UNWIND_X86_64_MODE_STACK_IMMD, a stack of one word: the return
        // address at [rsp] (a `jmp` pushes nothing).
        0x0200_0000 | (1 << 16)
    }
    fn unwind_can_fold(&self, encoding: u32) -> bool {
        let mode = encoding & UNWIND_MODE_MASK;
        mode != UNWIND_MODE_DWARF && mode != UNWIND_MODE_STACK_IND
    }

    fn decode_relocs(
        &self,
        infos: &[macho::RelocationInfo],
        data: &[u8],
        out: &mut Vec<DecodedReloc>,
    ) -> Result<(), (usize, String)> {
        out.reserve(infos.len());
        let mut i = 0;
        while i < infos.len() {
            if let Some(d) = decode_single(&infos[i], data) {
                out.push(d);
                i += 1;
                continue;
            }
            let (d, used) = decode_one(&infos[i..], data).map_err(|e| (i, e))?;
            out.push(d);
            i += used;
        }
        Ok(())
    }

    fn pc_relative_referent(&self, _kind: RelocKind, field_addr: u64, addend: i64) -> u64 {
        field_addr.wrapping_add(4).wrapping_add(addend as u64)
    }

    // Always: relocation writes it in its loop (see `relocate`).
    #[inline(always)]
    fn apply(
        &self,
        kind: RelocKind,
        length: u8,
        bytes: &mut [u8],
        at: usize,
        pc: u64,
        value: u64,
    ) -> Result<(), ApplyError> {
        let field = bytes.get_mut(at..).ok_or(ApplyError::OutsideAtom)?;
        match kind {
            RelocKind::Absolute => write_int(field, value as i64, length),
            RelocKind::ImageOffset => super::write_image_offset(field, value),
            RelocKind::Branch
            | RelocKind::PcRel { .. }
            | RelocKind::GotLoad
            | RelocKind::PointerToGot
            | RelocKind::TlvLoad => rel32(kind, length, field, pc, value),
            RelocKind::Page(_) | RelocKind::PageOffset(_) => Err(ApplyError::Unsupported {
                kind,
                arch: "x86_64",
            }),
        }
    }

    /// `movq x@GOTPCREL(%rip), %reg` (or `x@TLVP`) becomes
    /// `leaq x(%rip), %reg`.
    #[inline]
    fn relax(&self, kind: RelocKind, bytes: &mut [u8], at: usize) -> Result<(), ApplyError> {
        if !matches!(kind, RelocKind::GotLoad | RelocKind::TlvLoad) {
            return Err(ApplyError::Unsupported {
                kind,
                arch: "x86_64",
            });
        }
        let opcode = at
            .checked_sub(2)
            .and_then(|o| bytes.get_mut(o))
            .ok_or_else(|| ApplyError::UnexpectedInstruction {
                expected: "movq",
                found: "no instruction before the field".into(),
            })?;
        if *opcode != MOVQ_LOAD {
            return Err(ApplyError::UnexpectedInstruction {
                expected: "movq",
                found: format!("with opcode {:#04x}", *opcode),
            });
        }
        *opcode = LEAQ;
        Ok(())
    }

    /// The 5 bytes of `call rel32` become `nop; nopl 0(%rax)` for a probe
    /// and `xorl %eax, %eax; nop; nop; nop` for an is-enabled test: the
    /// bytes lld and ld64 write.
    fn rewrite_probe_call(
        &self,
        call: crate::dtrace::ProbeCall,
        kind: RelocKind,
        bytes: &mut [u8],
        at: usize,
    ) -> Result<(), ApplyError> {
        if kind != RelocKind::Branch {
            return Err(ApplyError::NotAProbeCall { kind });
        }
        let site = at
            .checked_sub(1)
            .and_then(|start| bytes.get_mut(start..at + 4))
            .ok_or(ApplyError::OutsideAtom)?;
        site.copy_from_slice(match call {
            crate::dtrace::ProbeCall::Probe => &DTRACE_PROBE_NOPS,
            crate::dtrace::ProbeCall::IsEnabled => &DTRACE_IS_ENABLED_ZERO,
        });
        Ok(())
    }

    /// `jmp *slot(%rip)`.
    fn write_stub(&self, out: &mut [u8], stub: u64, slot: u64) -> Result<(), ApplyError> {
        let out = out
            .get_mut(..STUB_SIZE as usize)
            .ok_or(ApplyError::OutsideAtom)?;
        out[..2].copy_from_slice(&JMP_RIP_INDIRECT);
        rel32(RelocKind::GotLoad, 2, &mut out[2..], stub + 2, slot)
    }

    fn read_stub(&self, code: &[u8], stub: u64) -> Option<u64> {
        match code {
            [0xFF, 0x25, d0, d1, d2, d3, ..] => {
                let disp = i32::from_le_bytes([*d0, *d1, *d2, *d3]);
                Some((stub + STUB_SIZE).wrapping_add(disp as i64 as u64))
            }
            _ => None,
        }
    }

    /// Header: `leaq dyld_private(%rip), %r11; pushq %r11; jmp
    /// *binder(%rip); nop`. Entry: `pushq $lazy_bind_offset; jmp header`.
    fn write_stub_helper(
        &self,
        out: &mut [u8],
        helper: u64,
        dyld_private: u64,
        binder_slot: u64,
        lazy_bind_offsets: &[u32],
    ) -> Result<(), ApplyError> {
        let size = STUB_HELPER_HEADER + STUB_HELPER_ENTRY * lazy_bind_offsets.len() as u64;
        let out = out
            .get_mut(..size as usize)
            .ok_or(ApplyError::OutsideAtom)?;
        out[..3].copy_from_slice(&[0x4c, LEAQ, 0x1d]);
        rel32(
            RelocKind::GotLoad,
            2,
            &mut out[3..],
            helper + 3,
            dyld_private,
        )?;
        out[7..9].copy_from_slice(&[0x41, 0x53]);
        out[9..11].copy_from_slice(&JMP_RIP_INDIRECT);
        rel32(
            RelocKind::GotLoad,
            2,
            &mut out[11..],
            helper + 11,
            binder_slot,
        )?;
        out[15] = 0x90;
        for (i, &offset) in lazy_bind_offsets.iter().enumerate() {
            let at = (STUB_HELPER_HEADER + i as u64 * STUB_HELPER_ENTRY) as usize;
            let entry = &mut out[at..at + STUB_HELPER_ENTRY as usize];
            entry[0] = 0x68;
            entry[1..5].copy_from_slice(&offset.to_le_bytes());
            entry[5] = JMP_REL32;
            rel32(
                RelocKind::Branch,
                2,
                &mut entry[6..],
                helper + at as u64 + 6,
                helper,
            )?;
        }
        Ok(())
    }

    fn objc_stub(&self, mode: ObjcStubsMode) -> Option<ObjcStub> {
        match mode {
            ObjcStubsMode::Fast => Some(ObjcStub {
                code: &OBJC_STUB_FAST,
                align_log2: 0,
                selref: &[TemplateField {
                    offset: 3,
                    kind: RelocKind::PcRel { bias: 0 },
                    length: 2,
                }],
                msgsend: &[TemplateField {
                    offset: 9,
                    kind: RelocKind::PointerToGot,
                    length: 2,
                }],
            }),
            // ld64.lld implements the small form only for arm64 and falls
            // back to the fast one; machlink writes what lld writes.
            ObjcStubsMode::Small => None,
        }
    }

    fn write_trampoline(&self, out: &mut [u8], from: u64, to: u64) -> Option<usize> {
        let out = out.get_mut(..5)?;
        out[0] = JMP_REL32;
        rel32(
            RelocKind::Branch,
            2,
            &mut out[1..],
            from.checked_add(1)?,
            to,
        )
        .ok()?;
        Some(5)
    }

    fn read_trampoline(&self, code: &[u8], from: u64) -> Option<u64> {
        match code {
            [JMP_REL32, d0, d1, d2, d3, ..] => {
                let disp = i32::from_le_bytes([*d0, *d1, *d2, *d3]);
                Some(from.wrapping_add(5).wrapping_add(disp as i64 as u64))
            }
            _ => None,
        }
    }

    fn object_architecture(&self) -> object::Architecture {
        object::Architecture::X86_64
    }

    /// rel32 fields are relative to their own end: 4 less than the addend.
    fn object_relocation(
        &self,
        kind: ImageReloc,
        addend: i64,
    ) -> Result<(object::RelocationFlags, i64), ApplyError> {
        use object::{RelocationEncoding as E, RelocationKind as K};
        let (kind, encoding, size, addend) = match kind {
            ImageReloc::Call => (K::Relative, E::X86Branch, 32, addend - 4),
            ImageReloc::PcRel32 => (K::Relative, E::X86RipRelative, 32, addend - 4),
            ImageReloc::GotLoad => (K::GotRelative, E::X86RipRelativeMovq, 32, addend - 4),
            ImageReloc::Abs64 => (K::Absolute, E::Generic, 64, addend),
            ImageReloc::Page
            | ImageReloc::PageOffset
            | ImageReloc::GotPage
            | ImageReloc::GotPageOffset => {
                return Err(ApplyError::UnsupportedBackend {
                    kind,
                    arch: "x86_64",
                })
            }
        };
        Ok((
            object::RelocationFlags::Generic {
                kind,
                encoding,
                size,
            },
            addend,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &X86_64 = &X86_64;

    fn info(r_type: u8, address: i32, pcrel: bool, length: u8) -> macho::RelocationInfo {
        macho::RelocationInfo {
            r_address: address as u32,
            r_symbolnum: 1,
            r_pcrel: pcrel,
            r_length: length,
            r_extern: true,
            r_type,
        }
    }

    #[test]
    fn trampolines_round_trip_forwards_and_backwards() {
        let mut buf = [0u8; 8];
        for (from, to) in [
            (0x1000_0000u64, 0x1000_4000u64),
            (0x1000_4000, 0x1000_0000),
            (0x2000, 0x2005),
        ] {
            assert_eq!(A.write_trampoline(&mut buf, from, to), Some(5));
            assert_eq!(A.read_trampoline(&buf, from), Some(to));
        }
        assert_eq!(buf[0], 0xE9);
    }

    #[test]
    fn out_of_range_trampolines_are_refused() {
        let mut buf = [0u8; 5];
        assert_eq!(A.write_trampoline(&mut buf, 0, 0x1_0000_0000), None);
        assert_eq!(
            A.write_trampoline(&mut [0u8; 4], 0, 16),
            None,
            "too small a slot"
        );
        assert_eq!(A.read_trampoline(&[0x90; 5], 0), None);
    }

    /// Decodes entries that make one relocation.
    fn decode(infos: &[macho::RelocationInfo], data: &[u8]) -> Result<DecodedReloc, String> {
        let mut out = Vec::new();
        A.decode_relocs(infos, data, &mut out).map_err(|e| e.1)?;
        assert_eq!(out.len(), 1);
        Ok(out[0])
    }

    #[test]
    fn every_relocation_type_decodes_to_a_kind() {
        let cases = [
            (macho::X86_64_RELOC_UNSIGNED, RelocKind::Absolute),
            (macho::X86_64_RELOC_SIGNED, RelocKind::PcRel { bias: 0 }),
            (macho::X86_64_RELOC_SIGNED_1, RelocKind::PcRel { bias: 1 }),
            (macho::X86_64_RELOC_SIGNED_2, RelocKind::PcRel { bias: 2 }),
            (macho::X86_64_RELOC_SIGNED_4, RelocKind::PcRel { bias: 4 }),
            (macho::X86_64_RELOC_BRANCH, RelocKind::Branch),
            (macho::X86_64_RELOC_GOT_LOAD, RelocKind::GotLoad),
            (macho::X86_64_RELOC_GOT, RelocKind::PointerToGot),
            (macho::X86_64_RELOC_TLV, RelocKind::TlvLoad),
        ];
        let data = [0u8; 16];
        for (t, kind) in cases {
            let d = decode(&[info(t, 8, true, 2)], &data).unwrap();
            assert_eq!((d.kind, d.subtrahend.is_some()), (kind, false));
        }
        let pair = [
            info(macho::X86_64_RELOC_SUBTRACTOR, 8, false, 3),
            info(macho::X86_64_RELOC_UNSIGNED, 8, false, 3),
        ];
        let d = decode(&pair, &data).unwrap();
        assert_eq!(
            (d.kind, d.subtrahend.is_some()),
            (RelocKind::Absolute, true)
        );
        assert!(decode(&pair[..1], &data).is_err());
        let unpaired = [pair[0], info(macho::X86_64_RELOC_UNSIGNED, 16, false, 3)];
        assert!(decode(&unpaired, &data).is_err());
        assert!(decode(&[info(10, 0, false, 2)], &data).is_err());
        let past_the_end = [info(macho::X86_64_RELOC_BRANCH, 14, true, 2)];
        assert!(decode(&past_the_end, &data).is_err());
        // The index of the entry at fault comes back.
        let mut out = Vec::new();
        let second_bad = [
            info(macho::X86_64_RELOC_BRANCH, 0, true, 2),
            info(10, 4, true, 2),
        ];
        assert_eq!(
            A.decode_relocs(&second_bad, &data, &mut out).unwrap_err().0,
            1
        );
    }

    #[test]
    fn embedded_addends_count_from_the_end_of_the_field() {
        let mut data = [0u8; 16];
        data[..4].copy_from_slice(&(-8i32).to_le_bytes());
        data[8..].copy_from_slice(&7u64.to_le_bytes());
        let addend = |t, at, pcrel, length, data: &[u8]| {
            decode(&[info(t, at, pcrel, length)], data).unwrap().addend
        };
        assert_eq!(addend(macho::X86_64_RELOC_SIGNED, 0, true, 2, &data), -8);
        assert_eq!(addend(macho::X86_64_RELOC_SIGNED_4, 0, true, 2, &data), -4);
        assert_eq!(addend(macho::X86_64_RELOC_UNSIGNED, 8, false, 3, &data), 7);
        assert_eq!(
            addend(macho::X86_64_RELOC_UNSIGNED, 0, false, 0, &[0xff]),
            -1
        );
        assert_eq!(
            A.pc_relative_referent(RelocKind::Branch, 0x100, 0x10),
            0x114
        );
    }

    /// Applies one relocation at offset 2 of a 12-byte buffer at 0x1000.
    fn apply(kind: RelocKind, length: u8, value: u64) -> Result<[u8; 12], ApplyError> {
        let mut bytes = [0u8; 12];
        A.apply(kind, length, &mut bytes, 2, 0x1002, value)?;
        Ok(bytes)
    }

    fn rel32_at_2(bytes: &[u8; 12]) -> i32 {
        i32::from_le_bytes(bytes[2..6].try_into().unwrap())
    }

    #[test]
    fn pc_relative_kinds_count_from_the_end_of_the_instruction() {
        for kind in [
            RelocKind::Branch,
            RelocKind::GotLoad,
            RelocKind::PointerToGot,
            RelocKind::TlvLoad,
            RelocKind::PcRel { bias: 0 },
        ] {
            assert_eq!(
                rel32_at_2(&apply(kind, 2, 0x2000).unwrap()),
                0x2000 - 0x1006
            );
            assert_eq!(rel32_at_2(&apply(kind, 2, 0x1000).unwrap()), -6);
        }
        for bias in [1u8, 2, 4] {
            let b = apply(RelocKind::PcRel { bias }, 2, 0x2000).unwrap();
            assert_eq!(rel32_at_2(&b), 0x2000 - 0x1006 - i32::from(bias));
        }
    }

    #[test]
    fn pc_relative_kinds_out_of_range_or_the_wrong_size_fail() {
        for kind in [
            RelocKind::Branch,
            RelocKind::GotLoad,
            RelocKind::PointerToGot,
            RelocKind::TlvLoad,
            RelocKind::PcRel { bias: 2 },
        ] {
            assert!(matches!(
                apply(kind, 2, 0x1_0000_2000),
                Err(ApplyError::OutOfRange { bits: 32, .. })
            ));
            assert!(matches!(
                apply(kind, 3, 0x2000),
                Err(ApplyError::BadLength { bytes: 8, .. })
            ));
        }
        let mut short = [0u8; 4];
        assert_eq!(
            A.apply(RelocKind::Branch, 2, &mut short, 2, 0, 0),
            Err(ApplyError::OutsideAtom)
        );
    }

    #[test]
    fn absolute_fields_of_every_width() {
        let b = apply(RelocKind::Absolute, 3, 0x1_0000_4000).unwrap();
        assert_eq!(
            u64::from_le_bytes(b[2..10].try_into().unwrap()),
            0x1_0000_4000
        );
        let b = apply(RelocKind::Absolute, 2, (-16i64) as u64).unwrap();
        assert_eq!(rel32_at_2(&b), -16);
        let b = apply(RelocKind::Absolute, 1, 0x1234).unwrap();
        assert_eq!(b[2..4], [0x34, 0x12]);
        let b = apply(RelocKind::Absolute, 0, 0x7f).unwrap();
        assert_eq!(b[2], 0x7f);
        assert!(matches!(
            apply(RelocKind::Absolute, 2, 0x1_0000_0000),
            Err(ApplyError::OutOfRange { bits: 32, .. })
        ));
        assert!(matches!(
            apply(RelocKind::Absolute, 0, 0x1ff),
            Err(ApplyError::OutOfRange { bits: 8, .. })
        ));
        assert!(matches!(
            apply(RelocKind::Page(super::super::PageRef::Direct), 2, 0),
            Err(ApplyError::Unsupported { .. })
        ));
    }

    #[test]
    fn got_loads_relax_to_lea_and_nothing_else_does() {
        // movq x@GOTPCREL(%rip), %rax
        let mut code = [0x48, 0x8b, 0x05, 0, 0, 0, 0];
        A.relax(RelocKind::GotLoad, &mut code, 3).unwrap();
        assert_eq!(code[1], 0x8d);
        let mut code = [0x48, 0x8b, 0x05, 0, 0, 0, 0];
        A.relax(RelocKind::TlvLoad, &mut code, 3).unwrap();
        assert_eq!(code[1], 0x8d);
        let mut call = [0x48, 0x03, 0x05, 0, 0, 0, 0];
        assert!(matches!(
            A.relax(RelocKind::GotLoad, &mut call, 3),
            Err(ApplyError::UnexpectedInstruction { .. })
        ));
        assert!(A.relax(RelocKind::GotLoad, &mut [0u8; 4], 1).is_err());
        assert!(A.relax(RelocKind::Branch, &mut [0x8b; 8], 3).is_err());
    }

    #[test]
    fn stubs_round_trip_and_check_reach() {
        let mut stub = [0u8; 6];
        A.write_stub(&mut stub, 0x1_0000_1000, 0x1_0000_4008)
            .unwrap();
        assert_eq!(stub[..2], [0xff, 0x25]);
        assert_eq!(A.read_stub(&stub, 0x1_0000_1000), Some(0x1_0000_4008));
        assert!(A.write_stub(&mut stub, 0, 0x1_0000_0000).is_err());
        assert!(A.write_stub(&mut [0u8; 5], 0, 8).is_err());
        assert_eq!(A.read_stub(&[0xe9; 6], 0), None);
    }

    #[test]
    fn stub_helper_entries_push_their_offset_and_jump_to_the_header() {
        let helper = 0x1_0000_2000u64;
        let mut out = vec![0u8; 16 + 2 * 10];
        A.write_stub_helper(
            &mut out,
            helper,
            0x1_0000_8000,
            0x1_0000_4000,
            &[0x10, 0x24],
        )
        .unwrap();
        // leaq dyld_private(%rip), %r11: rel32 from the end of the lea.
        assert_eq!(out[..3], [0x4c, 0x8d, 0x1d]);
        let lea = i32::from_le_bytes(out[3..7].try_into().unwrap());
        assert_eq!(helper + 7 + lea as u64, 0x1_0000_8000);
        assert_eq!(A.read_stub(&out[9..], helper + 9), Some(0x1_0000_4000));
        for (i, offset) in [0x10u32, 0x24].into_iter().enumerate() {
            let e = &out[16 + 10 * i..];
            assert_eq!(e[0], 0x68);
            assert_eq!(u32::from_le_bytes(e[1..5].try_into().unwrap()), offset);
            let at = helper + 16 + 10 * i as u64 + 5;
            assert_eq!(A.read_trampoline(&e[5..], at), Some(helper));
        }
        assert!(A
            .write_stub_helper(&mut [0u8; 20], helper, 0, 0, &[1])
            .is_err());
    }
}
