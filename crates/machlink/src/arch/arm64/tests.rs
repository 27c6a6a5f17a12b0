//! Encodings checked against the words clang's assembler and ld64.lld
//! produce (as `llvm-objdump --macho -d` shows them).

use super::*;

const A: &Arm64 = &Arm64;

fn info(r_type: u8, address: u32, pcrel: bool, length: u8) -> macho::RelocationInfo {
    macho::RelocationInfo {
        r_address: address,
        r_symbolnum: 1,
        r_pcrel: pcrel,
        r_length: length,
        r_extern: true,
        r_type,
    }
}

fn addend(value: i32, address: u32) -> macho::RelocationInfo {
    macho::RelocationInfo {
        r_symbolnum: (value as u32) & 0x00ff_ffff,
        r_extern: false,
        ..info(macho::ARM64_RELOC_ADDEND, address, false, 2)
    }
}

fn decode_all(
    infos: &[macho::RelocationInfo],
    data: &[u8],
) -> Result<Vec<DecodedReloc>, (usize, String)> {
    let mut out = Vec::new();
    A.decode_relocs(infos, data, &mut out)?;
    Ok(out)
}

fn decode(infos: &[macho::RelocationInfo], data: &[u8]) -> Result<DecodedReloc, String> {
    let out = decode_all(infos, data).map_err(|e| e.1)?;
    assert_eq!(out.len(), 1);
    Ok(out[0])
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

#[test]
fn every_relocation_type_decodes_to_a_kind() {
    use RelocKind::{Page, PageOffset};
    let cases = [
        (macho::ARM64_RELOC_BRANCH26, true, RelocKind::Branch),
        (macho::ARM64_RELOC_PAGE21, true, Page(PageRef::Direct)),
        (
            macho::ARM64_RELOC_PAGEOFF12,
            false,
            PageOffset(PageRef::Direct),
        ),
        (macho::ARM64_RELOC_GOT_LOAD_PAGE21, true, Page(PageRef::Got)),
        (
            macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12,
            false,
            PageOffset(PageRef::Got),
        ),
        (
            macho::ARM64_RELOC_TLVP_LOAD_PAGE21,
            true,
            Page(PageRef::Tlv),
        ),
        (
            macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12,
            false,
            PageOffset(PageRef::Tlv),
        ),
        (
            macho::ARM64_RELOC_POINTER_TO_GOT,
            true,
            RelocKind::PointerToGot,
        ),
    ];
    let data = [0u8; 16];
    for (t, pcrel, kind) in cases {
        let d = decode(&[info(t, 4, pcrel, 2)], &data).unwrap();
        assert_eq!((d.kind, d.addend, d.subtrahend.is_some()), (kind, 0, false));
        // The wrong pc-relative bit or length is refused, naming the type.
        let e = decode(&[info(t, 4, !pcrel, 2)], &data).unwrap_err();
        assert!(e.contains("ARM64_RELOC_"), "{e}");
        if t != macho::ARM64_RELOC_POINTER_TO_GOT {
            let e = decode(&[info(t, 4, pcrel, 3)], &data).unwrap_err();
            assert!(e.contains("8-byte field"), "{e}");
        }
    }
    // POINTER_TO_GOT's 8-byte absolute form holds the symbol's address.
    let d = decode(
        &[info(macho::ARM64_RELOC_POINTER_TO_GOT, 8, false, 3)],
        &data,
    )
    .unwrap();
    assert_eq!(d.kind, RelocKind::Absolute);
    assert!(decode(
        &[info(macho::ARM64_RELOC_POINTER_TO_GOT, 8, true, 3)],
        &data
    )
    .is_err());
}

#[test]
fn data_fields_hold_their_addends() {
    let mut data = [0u8; 16];
    data[..4].copy_from_slice(&(-8i32).to_le_bytes());
    data[8..].copy_from_slice(&0x1234_5678_9abcu64.to_le_bytes());
    let d = decode(&[info(macho::ARM64_RELOC_UNSIGNED, 0, false, 2)], &data).unwrap();
    assert_eq!((d.kind, d.addend), (RelocKind::Absolute, -8));
    let d = decode(&[info(macho::ARM64_RELOC_UNSIGNED, 8, false, 3)], &data).unwrap();
    assert_eq!(d.addend, 0x1234_5678_9abc);
    // Section-relative pointers are fine; the field is past the end is not.
    let local = macho::RelocationInfo {
        r_extern: false,
        ..info(macho::ARM64_RELOC_UNSIGNED, 8, false, 3)
    };
    assert_eq!(decode(&[local], &data).unwrap().addend, 0x1234_5678_9abc);
    assert!(decode(&[info(macho::ARM64_RELOC_UNSIGNED, 12, false, 3)], &data).is_err());
    assert!(decode(&[info(macho::ARM64_RELOC_UNSIGNED, 0, false, 1)], &data).is_err());
    assert!(decode(&[info(macho::ARM64_RELOC_UNSIGNED, 0, true, 3)], &data).is_err());
}

#[test]
fn subtractor_pairs_with_the_unsigned_after_it() {
    let mut data = [0u8; 16];
    data[8..12].copy_from_slice(&12i32.to_le_bytes());
    for length in [2u8, 3] {
        let pair = [
            info(macho::ARM64_RELOC_SUBTRACTOR, 8, false, length),
            info(macho::ARM64_RELOC_UNSIGNED, 8, false, length),
        ];
        let d = decode(&pair, &data).unwrap();
        assert_eq!((d.kind, d.addend), (RelocKind::Absolute, 12));
        assert_eq!(d.subtrahend.unwrap().r_type, macho::ARM64_RELOC_SUBTRACTOR);
        assert_eq!(d.info.r_type, macho::ARM64_RELOC_UNSIGNED);
        assert!(decode(&pair[..1], &data).is_err());
    }
    let mismatched = [
        info(macho::ARM64_RELOC_SUBTRACTOR, 8, false, 3),
        info(macho::ARM64_RELOC_UNSIGNED, 8, false, 2),
    ];
    assert!(decode(&mismatched, &data).is_err());
    let elsewhere = [
        info(macho::ARM64_RELOC_SUBTRACTOR, 8, false, 3),
        info(macho::ARM64_RELOC_UNSIGNED, 0, false, 3),
    ];
    assert!(decode(&elsewhere, &data).is_err());
}

#[test]
fn an_addend_entry_applies_to_the_next_instruction_fixup() {
    let data = [0u8; 16];
    for (t, pcrel) in [
        (macho::ARM64_RELOC_BRANCH26, true),
        (macho::ARM64_RELOC_PAGE21, true),
        (macho::ARM64_RELOC_PAGEOFF12, false),
    ] {
        for value in [0x10, -4, 0x7f_ffff, -0x80_0000] {
            let d = decode(&[addend(value, 4), info(t, 4, pcrel, 2)], &data).unwrap();
            assert_eq!(d.addend, i64::from(value));
            assert_eq!(d.info.r_type, t);
        }
    }
    // Not followed by an entry that takes one: an error at the ADDEND.
    let cases: [&[macho::RelocationInfo]; 4] = [
        &[addend(8, 4)],
        &[
            addend(8, 4),
            info(macho::ARM64_RELOC_GOT_LOAD_PAGE21, 4, true, 2),
        ],
        &[addend(8, 4), info(macho::ARM64_RELOC_PAGE21, 8, true, 2)],
        &[addend(8, 4), addend(8, 4)],
    ];
    for infos in cases {
        let mut all = vec![info(macho::ARM64_RELOC_BRANCH26, 0, true, 2)];
        all.extend_from_slice(infos);
        let (index, message) = decode_all(&all, &data).unwrap_err();
        assert_eq!(index, 1, "{message}");
        assert!(message.contains("ADDEND"), "{message}");
    }
    // A malformed entry after an ADDEND is reported at its own index.
    let bad_next = [addend(8, 4), info(macho::ARM64_RELOC_PAGE21, 4, false, 2)];
    assert_eq!(decode_all(&bad_next, &data).unwrap_err().0, 1);
}

#[test]
fn arm64e_unknown_and_section_relative_instruction_fixups_are_refused() {
    let data = [0u8; 16];
    let e = decode(
        &[info(macho::ARM64_RELOC_AUTHENTICATED_POINTER, 0, false, 3)],
        &data,
    )
    .unwrap_err();
    assert!(e.contains("arm64e"), "{e}");
    assert!(decode(&[info(12, 0, false, 2)], &data)
        .unwrap_err()
        .contains("unknown relocation type 12"));
    let local_branch = macho::RelocationInfo {
        r_extern: false,
        ..info(macho::ARM64_RELOC_BRANCH26, 0, true, 2)
    };
    assert!(decode(&[local_branch], &data)
        .unwrap_err()
        .contains("section-relative"));
    // The index of the entry at fault comes back.
    let second_bad = [
        info(macho::ARM64_RELOC_BRANCH26, 0, true, 2),
        info(macho::ARM64_RELOC_BRANCH26, 14, true, 2),
    ];
    assert_eq!(decode_all(&second_bad, &data).unwrap_err().0, 1);
}

/// Applies one relocation to `insn` placed at `pc`.
fn apply(kind: RelocKind, insn: u32, pc: u64, value: u64) -> Result<u32, ApplyError> {
    let mut bytes = [0u8; 8];
    bytes[4..].copy_from_slice(&insn.to_le_bytes());
    A.apply(kind, 2, &mut bytes, 4, pc, value)?;
    Ok(word(&bytes, 4))
}

#[test]
fn branches_encode_imm26_and_report_their_reach() {
    const BL: u32 = 0x9400_0000;
    // bl 0x100003f9c from 0x100003f80, as clang/lld print it.
    assert_eq!(
        apply(RelocKind::Branch, BL, 0x1_0000_3f80, 0x1_0000_3f9c),
        Ok(0x9400_0007)
    );
    assert_eq!(apply(RelocKind::Branch, BL, 0x1000, 0xff8), Ok(0x97ff_fffe));
    assert_eq!(
        apply(RelocKind::Branch, insn::B, 0x1000, 0x1000),
        Ok(0x1400_0000)
    );
    let far = 0x1000 + (128 << 20) - 4;
    assert_eq!(apply(RelocKind::Branch, BL, 0x1000, far), Ok(0x95ff_ffff));
    assert_eq!(
        apply(RelocKind::Branch, BL, 0x1000, far + 4),
        Err(ApplyError::OutOfRange {
            value: 128 << 20,
            bits: 28
        })
    );
    let back = 0x1000_0000u64;
    assert_eq!(
        apply(RelocKind::Branch, BL, back, back - (128 << 20)),
        Ok(0x9600_0000)
    );
    assert!(matches!(
        apply(RelocKind::Branch, BL, back, back - (128 << 20) - 4),
        Err(ApplyError::OutOfRange { .. })
    ));
    assert!(matches!(
        apply(RelocKind::Branch, BL, 0x1000, 0x1002),
        Err(ApplyError::Misaligned { align: 4, .. })
    ));
    assert!(matches!(
        apply(RelocKind::Branch, insn::NOP, 0x1000, 0x1004),
        Err(ApplyError::UnexpectedInstruction { .. })
    ));
    let mut bytes = [0u8; 8];
    assert!(matches!(
        A.apply(RelocKind::Branch, 3, &mut bytes, 0, 0, 0),
        Err(ApplyError::BadLength { bytes: 8, .. })
    ));
}

#[test]
fn adrp_encodes_the_page_distance() {
    use RelocKind::Page;
    let adrp_x8 = insn::ADRP | 8;
    // adrp x8, 1 page forward: immlo 1.
    assert_eq!(
        apply(Page(PageRef::Direct), adrp_x8, 0x1_0000_3f80, 0x1_0000_4010),
        Ok(0xb000_0008)
    );
    // Same page: zero.
    assert_eq!(
        apply(Page(PageRef::Got), adrp_x8, 0x1_0000_3f80, 0x1_0000_3004),
        Ok(adrp_x8)
    );
    // 4 pages forward: immhi 1.
    assert_eq!(
        apply(Page(PageRef::Tlv), adrp_x8, 0x1000, 0x5fff),
        Ok(0x9000_0028)
    );
    // One page back: all ones.
    assert_eq!(
        apply(Page(PageRef::Direct), adrp_x8, 0x2000, 0x1000),
        Ok(0xf0ff_ffe8)
    );
    for (pc, to) in [
        (0x1000u64, 0x1000 + (4u64 << 30) - 0x1000),
        (0x1_0000_0000, 0),
    ] {
        let got = apply(Page(PageRef::Direct), adrp_x8, pc, to).unwrap();
        assert_eq!(insn::adrp_target(got, pc), to & !0xfff);
    }
    assert!(matches!(
        apply(
            Page(PageRef::Direct),
            adrp_x8,
            0x1000,
            0x1000 + (4u64 << 30)
        ),
        Err(ApplyError::OutOfRange { bits: 33, .. })
    ));
    assert!(matches!(
        apply(Page(PageRef::Direct), insn::NOP, 0, 0),
        Err(ApplyError::UnexpectedInstruction { .. })
    ));
}

#[test]
fn page_offsets_scale_by_the_access_size() {
    use RelocKind::PageOffset;
    let direct = PageOffset(PageRef::Direct);
    // add x0, x0, #0xf9c
    assert_eq!(
        apply(direct, 0x9100_0000, 0, 0x1_0000_3f9c),
        Ok(0x913e_7000)
    );
    // ldr x8, [x8, #0x10] (scale 3); ldr w8 (2); ldrh (1); ldrb (0)
    assert_eq!(apply(direct, 0xf940_0108, 0, 0x4010), Ok(0xf940_0908));
    assert_eq!(apply(direct, 0xb940_0108, 0, 0x4010), Ok(0xb940_1108));
    assert_eq!(apply(direct, 0x7940_0108, 0, 0x4010), Ok(0x7940_2108));
    assert_eq!(apply(direct, 0x3940_0108, 0, 0x4011), Ok(0x3940_4508));
    // str x9, [x8, #0x18]; str d0 (64-bit fp, scale 3)
    assert_eq!(apply(direct, 0xf900_0109, 0, 0x18), Ok(0xf900_0d09));
    assert_eq!(apply(direct, 0xfd40_0100, 0, 0x18), Ok(0xfd40_0d00));
    // ldr q0, [x8, #0x20] and str q0: 128-bit, scale 4.
    assert_eq!(apply(direct, 0x3dc0_0100, 0, 0x7020), Ok(0x3dc0_0900));
    assert_eq!(apply(direct, 0x3d80_0100, 0, 0x7020), Ok(0x3d80_0900));
    // ldrsw x0, [x8, #4] (scale 2).
    assert_eq!(apply(direct, 0xb980_0100, 0, 0x4), Ok(0xb980_0500));
    // An offset that is not a multiple of the access size.
    for (insn, value, align) in [
        (0xf940_0108u32, 0x4014u64, 8u64),
        (0x3dc0_0100, 0x7028, 16),
        (0xb940_0108, 0x4002, 4),
    ] {
        assert_eq!(
            apply(direct, insn, 0, value),
            Err(ApplyError::Misaligned { value, align })
        );
    }
    // Any old immediate is replaced, not or-ed in.
    assert_eq!(apply(direct, 0x913e_7000, 0, 0x8), Ok(0x9100_2000));
    assert!(matches!(
        apply(direct, insn::B, 0, 0),
        Err(ApplyError::UnexpectedInstruction { .. })
    ));
}

#[test]
fn data_fields_absolute_and_pointer_to_got() {
    let mut bytes = [0u8; 16];
    A.apply(RelocKind::Absolute, 3, &mut bytes, 8, 0, 0x1_0000_4000)
        .unwrap();
    assert_eq!(
        u64::from_le_bytes(bytes[8..].try_into().unwrap()),
        0x1_0000_4000
    );
    A.apply(RelocKind::Absolute, 2, &mut bytes, 0, 0, (-16i64) as u64)
        .unwrap();
    assert_eq!(word(&bytes, 0) as i32, -16);
    assert!(A
        .apply(RelocKind::Absolute, 2, &mut bytes, 0, 0, 1 << 31)
        .is_err());
    // A personality's GOT slot, from the field.
    A.apply(
        RelocKind::PointerToGot,
        2,
        &mut bytes,
        4,
        0x1_0000_8004,
        0x1_0000_4000,
    )
    .unwrap();
    assert_eq!(word(&bytes, 4) as i32, -0x4004);
    assert!(matches!(
        A.apply(RelocKind::PointerToGot, 2, &mut bytes, 4, 0, 1 << 32),
        Err(ApplyError::OutOfRange { bits: 32, .. })
    ));
    A.apply(RelocKind::ImageOffset, 2, &mut bytes, 0, 0, 0x3f80)
        .unwrap();
    assert_eq!(word(&bytes, 0), 0x3f80);
    for kind in [
        RelocKind::GotLoad,
        RelocKind::TlvLoad,
        RelocKind::PcRel { bias: 0 },
    ] {
        assert_eq!(
            A.apply(kind, 2, &mut bytes, 0, 0, 0),
            Err(ApplyError::Unsupported {
                kind,
                arch: "arm64"
            })
        );
    }
    assert_eq!(
        A.apply(RelocKind::Absolute, 3, &mut bytes, 12, 0, 0),
        Err(ApplyError::OutsideAtom)
    );
}

#[test]
fn got_and_tlv_loads_relax_to_adds() {
    for r in [PageRef::Got, PageRef::Tlv] {
        // ldr x8, [x8] -> add x8, x8, #0; ldr w0, [x1] -> add x0, x1.
        let mut code = 0xf940_0108u32.to_le_bytes();
        A.relax(RelocKind::PageOffset(r), &mut code, 0).unwrap();
        assert_eq!(u32::from_le_bytes(code), 0x9100_0108);
        let mut code = 0xb940_0020u32.to_le_bytes();
        A.relax(RelocKind::PageOffset(r), &mut code, 0).unwrap();
        assert_eq!(u32::from_le_bytes(code), 0x9100_0020);
        // The adrp stays (apply re-points it).
        let mut code = (insn::ADRP | 8).to_le_bytes();
        A.relax(RelocKind::Page(r), &mut code, 0).unwrap();
        assert_eq!(u32::from_le_bytes(code), insn::ADRP | 8);
        // Anything else is an error, not a silent rewrite.
        let mut not_ldr = 0x3940_0108u32.to_le_bytes();
        assert!(matches!(
            A.relax(RelocKind::PageOffset(r), &mut not_ldr, 0),
            Err(ApplyError::UnexpectedInstruction { .. })
        ));
        assert!(A
            .relax(RelocKind::Page(r), &mut insn::NOP.to_le_bytes(), 0)
            .is_err());
    }
    // The relaxed add then takes the target's offset unscaled.
    let mut code = 0xf940_0108u32.to_le_bytes();
    A.relax(RelocKind::PageOffset(PageRef::Got), &mut code, 0)
        .unwrap();
    A.apply(
        RelocKind::PageOffset(PageRef::Got),
        2,
        &mut code,
        0,
        0,
        0x4005,
    )
    .unwrap();
    assert_eq!(u32::from_le_bytes(code), 0x9100_1508);
    assert!(A.relax(RelocKind::Branch, &mut [0; 4], 0).is_err());
    assert!(A
        .relax(RelocKind::PageOffset(PageRef::Got), &mut [0; 2], 0)
        .is_err());
}

#[test]
fn dtrace_calls_become_nop_or_zero() {
    use crate::dtrace::ProbeCall;
    let mut code = 0x9400_0000u32.to_le_bytes();
    A.rewrite_probe_call(ProbeCall::Probe, RelocKind::Branch, &mut code, 0)
        .unwrap();
    assert_eq!(u32::from_le_bytes(code), insn::NOP);
    A.rewrite_probe_call(ProbeCall::IsEnabled, RelocKind::Branch, &mut code, 0)
        .unwrap();
    assert_eq!(u32::from_le_bytes(code), 0xd280_0000);
    assert!(matches!(
        A.rewrite_probe_call(
            ProbeCall::Probe,
            RelocKind::Page(PageRef::Direct),
            &mut code,
            0
        ),
        Err(ApplyError::NotAProbeCall { .. })
    ));
}

#[test]
fn stubs_round_trip() {
    let mut stub = [0u8; 12];
    // As ld64.lld: adrp x16, 1 page on; ldr x16, [x16, #0x8]; br x16.
    A.write_stub(&mut stub, 0x1_0000_3fa4, 0x1_0000_4008)
        .unwrap();
    assert_eq!(
        [word(&stub, 0), word(&stub, 4), word(&stub, 8)],
        [0xb000_0010, 0xf940_0610, 0xd61f_0200]
    );
    assert_eq!(A.read_stub(&stub, 0x1_0000_3fa4), Some(0x1_0000_4008));
    assert_eq!(A.read_stub(&stub, 0x1_0000_2fa4), Some(0x1_0000_3008));
    // A slot must be 8-byte aligned for the ldr.
    assert!(matches!(
        A.write_stub(&mut stub, 0, 0x4004),
        Err(ApplyError::Misaligned { align: 8, .. })
    ));
    assert!(A.write_stub(&mut [0u8; 8], 0, 8).is_err());
    assert_eq!(A.read_stub(&[0u8; 12], 0), None);
    let mut other = stub;
    other[8..].copy_from_slice(&insn::NOP.to_le_bytes());
    assert_eq!(A.read_stub(&other, 0x1_0000_3fa4), None);
}

#[test]
fn stub_helper_header_and_entries() {
    let helper = 0x1_0000_3fb0u64;
    let (private, binder) = (0x1_0000_8000u64, 0x1_0000_4000u64);
    let mut out = vec![0u8; 24 + 2 * 12];
    A.write_stub_helper(&mut out, helper, private, binder, &[0x10, 0x24])
        .unwrap();
    assert_eq!(
        insn::read_page_pair(&out, helper, insn::ADD_X_IMM | (17 << 5) | 17),
        Some(private)
    );
    assert_eq!(word(&out, 8), 0xa9bf_47f0);
    assert_eq!(A.read_stub(&out[12..], helper + 12), Some(binder));
    for (i, offset) in [0x10u32, 0x24].into_iter().enumerate() {
        let at = 24 + 12 * i;
        assert_eq!(word(&out, at), 0x1800_0050, "ldr w16, #8");
        let b = word(&out, at + 4);
        assert_eq!(b & insn::B_MASK, insn::B);
        assert_eq!(insn::branch_target(b, helper + at as u64 + 4), helper);
        assert_eq!(word(&out, at + 8), offset);
    }
    assert!(A
        .write_stub_helper(&mut [0u8; 30], helper, 0, 0, &[1])
        .is_err());
}

#[test]
fn trampolines_branch_when_in_reach_and_else_go_through_x16() {
    let mut buf = [0u8; 12];
    for (from, to) in [
        (0x1_0000_0000u64, 0x1_0000_4000u64),
        (0x1_0400_0000, 0x1_0000_0000),
    ] {
        assert_eq!(A.write_trampoline(&mut buf, from, to), Some(4));
        assert_eq!(A.read_trampoline(&buf, from), Some(to));
    }
    for (from, to) in [
        (0x1_0000_0000u64, 0x1_2000_0040u64),
        (0x1_2000_0000, 0x1_0000_0ff0),
    ] {
        assert_eq!(A.write_trampoline(&mut buf, from, to), Some(12));
        assert_eq!(word(&buf, 8), insn::BR_X16);
        assert_eq!(A.read_trampoline(&buf, from), Some(to));
    }
    assert_eq!(
        A.write_trampoline(&mut [0u8; 8], 0, 1 << 30),
        None,
        "too small a slot"
    );
    assert_eq!(
        A.write_trampoline(&mut buf, 0, 1 << 40),
        None,
        "out of adrp's reach"
    );
    assert_eq!(A.read_trampoline(&insn::NOP.to_le_bytes(), 0), None);
    assert!(A.max_trampoline() >= 12);
}

#[test]
fn target_facts() {
    assert_eq!(A.page_size(), 0x4000);
    assert_eq!(A.trap(), &0xd420_0020u32.to_le_bytes());
    assert_eq!(
        (
            A.stub_size(),
            A.stub_helper_header_size(),
            A.stub_helper_entry_size()
        ),
        (12, 24, 12)
    );
    assert_eq!(A.branch_reach(), (128 << 20) - 4);
    assert!(!A.unwind_can_fold(0x0300_0000));
    assert!(A.unwind_can_fold(0x0400_0000));
    assert!(A.unwind_can_fold(0x0200_1000));
    assert_eq!(A.unwind_mode_dwarf(), 0x0300_0000);
    assert!(A.accepts_cpu_subtype(0) && A.accepts_cpu_subtype(1));
    assert!(!A.accepts_cpu_subtype(macho::CPU_SUBTYPE_ARM64E));
    assert!(!A.accepts_cpu_subtype(macho::CPU_SUBTYPE_ARM64E | 0x8000_0000));
    assert!(A.adhoc_sign_by_default());
    assert_eq!(A.tapi_target(), "arm64-macos");
    assert_eq!(
        super::super::by_name("arm64").unwrap().cpu_type(),
        macho::CPU_TYPE_ARM64
    );
}

#[test]
fn objc_stubs_take_a_page_and_an_offset_per_reference() {
    let fast = A.objc_stub(ObjcStubsMode::Fast).unwrap();
    assert_eq!((fast.code.len(), fast.align_log2), (32, 5));
    assert_eq!(word(fast.code, 0), 0x9000_0001, "adrp x1");
    assert_eq!(word(fast.code, 4), 0xf940_0021, "ldr x1, [x1]");
    assert_eq!(word(fast.code, 8), 0x9000_0010, "adrp x16");
    assert_eq!(word(fast.code, 12), 0xf940_0210, "ldr x16, [x16]");
    assert_eq!(word(fast.code, 16), insn::BR_X16);
    assert_eq!(word(fast.code, 28), insn::BRK_1);
    let kinds: Vec<RelocKind> = fast.msgsend.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            RelocKind::Page(PageRef::Got),
            RelocKind::PageOffset(PageRef::Got)
        ]
    );
    let small = A.objc_stub(ObjcStubsMode::Small).unwrap();
    assert_eq!((small.code.len(), small.align_log2), (12, 2));
    assert_eq!(word(small.code, 8), insn::B);
    assert_eq!(small.msgsend[0].kind, RelocKind::Branch);
    for stub in [fast, small] {
        assert_eq!(stub.selref.len(), 2);
        for f in stub.selref.iter().chain(stub.msgsend) {
            assert!(f.offset as usize + 4 <= stub.code.len());
        }
    }
}

#[test]
fn backend_relocations_are_single_mach_o_relocations_or_refused() {
    use object::{RelocationEncoding as E, RelocationFlags as F, RelocationKind as K};
    assert_eq!(
        A.object_relocation(ImageReloc::Call, 0).unwrap(),
        (
            F::Generic {
                kind: K::Relative,
                encoding: E::AArch64Call,
                size: 26
            },
            0
        )
    );
    assert!(A.object_relocation(ImageReloc::Abs64, 8).is_ok());
    for kind in [ImageReloc::PcRel32, ImageReloc::GotLoad] {
        let e = A.object_relocation(kind, 0).unwrap_err();
        assert!(e.to_string().contains("arm64"), "{e}");
    }
    // Each half of an adrp pair is one Mach-O relocation; only the direct
    // ones take an addend (an ARM64_RELOC_ADDEND entry).
    for (kind, r_type, r_pcrel, addend) in [
        (ImageReloc::Page, macho::ARM64_RELOC_PAGE21, true, 8),
        (
            ImageReloc::PageOffset,
            macho::ARM64_RELOC_PAGEOFF12,
            false,
            8,
        ),
        (
            ImageReloc::GotPage,
            macho::ARM64_RELOC_GOT_LOAD_PAGE21,
            true,
            0,
        ),
        (
            ImageReloc::GotPageOffset,
            macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12,
            false,
            0,
        ),
    ] {
        let flags = F::MachO {
            r_type,
            r_pcrel,
            r_length: 2,
        };
        assert_eq!(A.object_relocation(kind, addend).unwrap(), (flags, addend));
    }
    for kind in [ImageReloc::GotPage, ImageReloc::GotPageOffset] {
        let e = A.object_relocation(kind, 8).unwrap_err();
        assert!(e.to_string().contains("no addend"), "{e}");
    }
    // x86_64 has no page relocations.
    let e = crate::arch::x86_64::X86_64
        .object_relocation(ImageReloc::Page, 0)
        .unwrap_err();
    assert!(e.to_string().contains("x86_64"), "{e}");
    assert_eq!(A.object_architecture(), object::Architecture::Aarch64);
}
