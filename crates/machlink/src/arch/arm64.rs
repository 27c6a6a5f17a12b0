//! arm64 (AArch64): `ARM64_RELOC_*` relocations, whose addends live in the
//! data field (pointers) or in a preceding `ARM64_RELOC_ADDEND` entry
//! (instructions); `adrp` pages of 4 KiB with page offsets in `add` and
//! `ldr`/`str`; `b`/`bl` reaching ±128 MiB; 12-byte `adrp/ldr/br x16`
//! stubs; `brk #1` between functions and 16 KiB pages. The instruction
//! encodings are in [`insn`].

mod insn;
#[cfg(test)]
mod tests;

use super::BackendRelocKind as ImageReloc;
use super::{write_int, ApplyError, Arch, DecodedReloc, LoneForm, PageRef, RelocKind};
use super::{ObjcStub, ObjcStubsMode, TemplateField};
use object::macho;

pub struct Arm64;

const NAME: &str = "arm64";
const STUB_SIZE: u64 = 12;
const STUB_HELPER_HEADER: u64 = 24;
const STUB_HELPER_ENTRY: u64 = 12;
/// `b` (4 bytes) when in reach, else `adrp x16; add x16; br x16`.
const MAX_TRAMPOLINE: usize = 12;
/// `UNWIND_ARM64_MODE_DWARF`. arm64's other modes (frameless, frame)
/// carry no per-function data, so only DWARF rows stay apart.
const UNWIND_MODE_DWARF: u32 = 0x0300_0000;
const UNWIND_MODE_MASK: u32 = 0x0F00_0000;

/// `adrp x1, sel@PAGE; ldr x1, [x1, sel@PAGEOFF]`: the selector is the
/// second argument (x1) of objc_msgSend. Both forms start with it.
const SELREF_FIELDS: [TemplateField; 2] = [
    TemplateField {
        offset: 0,
        kind: RelocKind::Page(PageRef::Direct),
        length: 2,
    },
    TemplateField {
        offset: 4,
        kind: RelocKind::PageOffset(PageRef::Direct),
        length: 2,
    },
];

/// The fast form, as ld64.lld writes it: the selector load, then
/// `adrp x16, _objc_msgSend@GOTPAGE; ldr x16, [x16, @GOTPAGEOFF]; br x16`,
/// padded with traps to 32 bytes (its alignment).
const OBJC_STUB_FAST: [u8; 32] = insn::words(&[
    insn::ADRP | 1,
    insn::LDR_X_IMM | (1 << 5) | 1,
    insn::ADRP | 16,
    insn::LDR_X_IMM | (16 << 5) | 16,
    insn::BR_X16,
    insn::BRK_1,
    insn::BRK_1,
    insn::BRK_1,
]);
const OBJC_FAST_MSGSEND: [TemplateField; 2] = [
    TemplateField {
        offset: 8,
        kind: RelocKind::Page(PageRef::Got),
        length: 2,
    },
    TemplateField {
        offset: 12,
        kind: RelocKind::PageOffset(PageRef::Got),
        length: 2,
    },
];

/// The small form: the selector load, then `b _objc_msgSend` (through its
/// stub when it is imported).
const OBJC_STUB_SMALL: [u8; 12] =
    insn::words(&[insn::ADRP | 1, insn::LDR_X_IMM | (1 << 5) | 1, insn::B]);
const OBJC_SMALL_MSGSEND: [TemplateField; 1] = [TemplateField {
    offset: 8,
    kind: RelocKind::Branch,
    length: 2,
}];

/// How one `ARM64_RELOC_*` type must be stated: its kind, whether it is
/// pc-relative, its field size (log2 bytes) and whether an ADDEND entry
/// may precede it.
struct Form {
    kind: RelocKind,
    pcrel: bool,
    lengths: &'static [u8],
    takes_addend: bool,
}

/// The form of a relocation of type `r_type`, or why there is none.
#[inline]
fn form(r_type: u8) -> Result<Form, String> {
    form_of(r_type).ok_or_else(|| form_error(r_type))
}

/// Why [`form_of`] knows no form for `r_type`.
#[cold]
fn form_error(r_type: u8) -> String {
    if r_type == macho::ARM64_RELOC_AUTHENTICATED_POINTER {
        "ARM64_RELOC_AUTHENTICATED_POINTER is arm64e pointer authentication, \
         which machlink does not support (was the object built for arm64e?)"
            .into()
    } else {
        format!("unknown relocation type {r_type}")
    }
}

/// The form of the relocation types that stand alone (not ADDEND,
/// SUBTRACTOR or POINTER_TO_GOT).
#[inline]
fn form_of(r_type: u8) -> Option<Form> {
    use RelocKind::{Page, PageOffset};
    let instr = |kind, pcrel, takes_addend| Form {
        kind,
        pcrel,
        lengths: &[2],
        takes_addend,
    };
    Some(match r_type {
        macho::ARM64_RELOC_UNSIGNED => Form {
            kind: RelocKind::Absolute,
            pcrel: false,
            lengths: &[2, 3],
            takes_addend: false,
        },
        macho::ARM64_RELOC_BRANCH26 => instr(RelocKind::Branch, true, true),
        macho::ARM64_RELOC_PAGE21 => instr(Page(PageRef::Direct), true, true),
        macho::ARM64_RELOC_PAGEOFF12 => instr(PageOffset(PageRef::Direct), false, true),
        macho::ARM64_RELOC_GOT_LOAD_PAGE21 => instr(Page(PageRef::Got), true, false),
        macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12 => instr(PageOffset(PageRef::Got), false, false),
        macho::ARM64_RELOC_TLVP_LOAD_PAGE21 => instr(Page(PageRef::Tlv), true, false),
        macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12 => instr(PageOffset(PageRef::Tlv), false, false),
        _ => return None,
    })
}

fn type_name(r_type: u8) -> &'static str {
    match r_type {
        macho::ARM64_RELOC_UNSIGNED => "UNSIGNED",
        macho::ARM64_RELOC_SUBTRACTOR => "SUBTRACTOR",
        macho::ARM64_RELOC_BRANCH26 => "BRANCH26",
        macho::ARM64_RELOC_PAGE21 => "PAGE21",
        macho::ARM64_RELOC_PAGEOFF12 => "PAGEOFF12",
        macho::ARM64_RELOC_GOT_LOAD_PAGE21 => "GOT_LOAD_PAGE21",
        macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12 => "GOT_LOAD_PAGEOFF12",
        macho::ARM64_RELOC_POINTER_TO_GOT => "POINTER_TO_GOT",
        macho::ARM64_RELOC_TLVP_LOAD_PAGE21 => "TLVP_LOAD_PAGE21",
        macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12 => "TLVP_LOAD_PAGEOFF12",
        macho::ARM64_RELOC_ADDEND => "ADDEND",
        _ => "?",
    }
}

/// The signed integer a 4- or 8-byte data field holds.
#[inline]
fn embedded(info: &macho::RelocationInfo, data: &[u8]) -> Result<i64, String> {
    let at = info.r_address as usize;
    let field = at
        .checked_add(1usize << info.r_length)
        .and_then(|end| data.get(at..end))
        .ok_or("field extends past the end of the section")?;
    Ok(match *field {
        [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
        _ => i64::from_le_bytes(field.try_into().map_err(|_| "bad field size")?),
    })
}

/// Checks the pc-relative bit and the length an entry of `r_type` needs.
#[inline]
fn check_shape(info: &macho::RelocationInfo, pcrel: bool, lengths: &[u8]) -> Result<(), String> {
    if info.r_pcrel == pcrel && lengths.contains(&info.r_length) {
        return Ok(());
    }
    Err(shape_error(info, pcrel, lengths))
}

/// What is wrong with the shape [`check_shape`] found wrong.
#[cold]
fn shape_error(info: &macho::RelocationInfo, pcrel: bool, lengths: &[u8]) -> String {
    let name = type_name(info.r_type);
    if info.r_pcrel != pcrel {
        return format!(
            "ARM64_RELOC_{name} must {}be pc-relative",
            if pcrel { "" } else { "not " }
        );
    }
    let sizes: Vec<String> = lengths.iter().map(|l| (1u32 << l).to_string()).collect();
    format!(
        "ARM64_RELOC_{name} has a {}-byte field (expected {} bytes)",
        1u32 << info.r_length,
        sizes.join(" or ")
    )
}

/// The 24-bit signed addend an ADDEND entry holds in `r_symbolnum`.
fn addend_entry(info: &macho::RelocationInfo) -> i64 {
    i64::from(((info.r_symbolnum << 8) as i32) >> 8)
}

/// Decodes the relocation at `infos[0]`: an ADDEND with the entry it
/// applies to, a SUBTRACTOR with its UNSIGNED, or one entry. Returns it
/// and how many entries it used.
fn decode_one(
    infos: &[macho::RelocationInfo],
    data: &[u8],
) -> Result<(DecodedReloc, usize), (usize, String)> {
    let first = infos[0];
    let at0 = |e: String| (0, e);
    match first.r_type {
        macho::ARM64_RELOC_ADDEND => {
            let next = infos.get(1).copied().ok_or_else(|| {
                at0(
                    "ADDEND is the last entry (it must precede a BRANCH26, PAGE21 or PAGEOFF12)"
                        .into(),
                )
            })?;
            let takes_addend = form_of(next.r_type).is_some_and(|f| f.takes_addend);
            if !takes_addend || next.r_address != first.r_address {
                return Err(at0(format!(
                    "ADDEND must be followed by a BRANCH26, PAGE21 or PAGEOFF12 at the same \
                     address, not ARM64_RELOC_{} at {:#x}",
                    type_name(next.r_type),
                    next.r_address
                )));
            }
            let (mut d, _) = decode_one(&infos[1..], data).map_err(|(i, e)| (i + 1, e))?;
            d.addend = addend_entry(&first);
            Ok((d, 2))
        }
        macho::ARM64_RELOC_SUBTRACTOR => {
            check_shape(&first, false, &[2, 3]).map_err(at0)?;
            let pair = infos
                .get(1)
                .copied()
                .ok_or_else(|| at0("SUBTRACTOR without its UNSIGNED pair".into()))?;
            if pair.r_type != macho::ARM64_RELOC_UNSIGNED
                || pair.r_address != first.r_address
                || pair.r_length != first.r_length
                || pair.r_pcrel
            {
                return Err(at0(
                    "SUBTRACTOR must be followed by an UNSIGNED of the same size at the same \
                     address"
                        .into(),
                ));
            }
            let addend = embedded(&pair, data).map_err(at0)?;
            let d = DecodedReloc {
                kind: RelocKind::Absolute,
                addend,
                info: pair,
                subtrahend: Some(first),
            };
            Ok((d, 2))
        }
        macho::ARM64_RELOC_POINTER_TO_GOT => {
            // The 4-byte form is the GOT slot's distance from the field
            // (a personality pointer in `__eh_frame`). ld64 also reads an
            // 8-byte absolute form, which ends up holding what the GOT
            // slot holds: the symbol's address, as an UNSIGNED would.
            let kind =
                match (first.r_pcrel, first.r_length) {
                    (true, 2) => RelocKind::PointerToGot,
                    (false, 3) => RelocKind::Absolute,
                    _ => return Err(at0(
                        "ARM64_RELOC_POINTER_TO_GOT must be a pc-relative 4-byte or an absolute \
                         8-byte field"
                            .into(),
                    )),
                };
            if !first.r_extern {
                return Err(at0("ARM64_RELOC_POINTER_TO_GOT must name a symbol".into()));
            }
            embedded(&first, data).map_err(at0)?;
            let d = DecodedReloc {
                kind,
                addend: 0,
                info: first,
                subtrahend: None,
            };
            Ok((d, 1))
        }
        r_type => {
            let f = form(r_type).map_err(at0)?;
            check_shape(&first, f.pcrel, f.lengths).map_err(at0)?;
            // The assembler names a symbol for every instruction fixup; a
            // section-relative one would hide its addend in the
            // instruction's immediate, which ld64.lld does not read either.
            if f.kind != RelocKind::Absolute && !first.r_extern {
                return Err(at0(format!(
                    "section-relative ARM64_RELOC_{} is not supported (it must name a symbol)",
                    type_name(r_type)
                )));
            }
            let addend = if f.kind == RelocKind::Absolute {
                embedded(&first, data).map_err(at0)?
            } else {
                embedded(&first, data).map_err(at0)?;
                0
            };
            let d = DecodedReloc {
                kind: f.kind,
                addend,
                info: first,
                subtrahend: None,
            };
            Ok((d, 1))
        }
    }
}

/// [`decode_one`] for an entry that stands alone (not an ADDEND,
/// SUBTRACTOR or POINTER_TO_GOT) and is good, as nearly all are; None for
/// any other, which `decode_one` then decodes or reports. Without the
/// messages `decode_one` is ready to make, it is small enough to inline
/// into the loop over a section's entries.
#[inline(always)]
fn decode_single(info: &macho::RelocationInfo, data: &[u8]) -> Option<DecodedReloc> {
    let f = form_of(info.r_type)?;
    let shaped = info.r_pcrel == f.pcrel && f.lengths.contains(&info.r_length);
    let absolute = f.kind == RelocKind::Absolute;
    if !shaped || !(absolute || info.r_extern) {
        return None;
    }
    let at = info.r_address as usize;
    let field = data.get(at..at.checked_add(1usize << info.r_length)?)?;
    // Only a data field's addend is in the field (see `decode_one`).
    let addend = match (absolute, field.len()) {
        (false, _) => 0,
        (true, 4) => i64::from(i32::from_le_bytes(field.try_into().ok()?)),
        (true, _) => i64::from_le_bytes(field.try_into().ok()?),
    };
    Some(DecodedReloc {
        kind: f.kind,
        addend,
        info: *info,
        subtrahend: None,
    })
}

fn unsupported(kind: RelocKind) -> ApplyError {
    ApplyError::Unsupported { kind, arch: NAME }
}

fn need_length(kind: RelocKind, length: u8, want: u8) -> Result<(), ApplyError> {
    if length == want {
        Ok(())
    } else {
        Err(ApplyError::BadLength {
            kind,
            bytes: 1 << length,
        })
    }
}

impl super::InlineDecode for Arm64 {
    #[inline(always)]
    fn decode_lone(info: &macho::RelocationInfo, data: &[u8]) -> Option<DecodedReloc> {
        decode_single(info, data)
    }
    #[inline(always)]
    fn is_pair_head(info: &macho::RelocationInfo) -> bool {
        matches!(
            info.r_type,
            macho::ARM64_RELOC_ADDEND | macho::ARM64_RELOC_SUBTRACTOR
        )
    }
    fn decode_group(infos: &[macho::RelocationInfo], data: &[u8]) -> Option<DecodedReloc> {
        match decode_one(infos, data) {
            Ok((d, used)) if used == infos.len() => Some(d),
            _ => None,
        }
    }
    const LONE: [LoneForm; 16] = lone_forms();
    const ADDEND: Option<u8> = Some(macho::ARM64_RELOC_ADDEND);
}

/// [`decode_single`] as a table (see [`LoneForm`]), from the forms of
/// [`form_of`]: UNSIGNED is a 4- or 8-byte data field holding its
/// addend, the instruction types a pc-relative or not 4-byte field that
/// names a symbol (their addend is 0, or an ADDEND entry's).
const fn lone_forms() -> [LoneForm; 16] {
    use RelocKind::{Page, PageOffset};
    const fn instr(kind: RelocKind, pcrel: bool, takes_addend: bool) -> LoneForm {
        LoneForm {
            kind,
            shapes: LoneForm::shapes(Some(pcrel), 1 << 2, true),
            reads_field: false,
            bias: 0,
            takes_addend,
        }
    }
    let mut t = [LoneForm::NONE; 16];
    t[macho::ARM64_RELOC_UNSIGNED as usize] = LoneForm {
        kind: RelocKind::Absolute,
        shapes: LoneForm::shapes(Some(false), (1 << 2) | (1 << 3), false),
        reads_field: true,
        bias: 0,
        takes_addend: false,
    };
    t[macho::ARM64_RELOC_BRANCH26 as usize] = instr(RelocKind::Branch, true, true);
    t[macho::ARM64_RELOC_PAGE21 as usize] = instr(Page(PageRef::Direct), true, true);
    t[macho::ARM64_RELOC_PAGEOFF12 as usize] = instr(PageOffset(PageRef::Direct), false, true);
    t[macho::ARM64_RELOC_GOT_LOAD_PAGE21 as usize] = instr(Page(PageRef::Got), true, false);
    t[macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12 as usize] =
        instr(PageOffset(PageRef::Got), false, false);
    t[macho::ARM64_RELOC_TLVP_LOAD_PAGE21 as usize] = instr(Page(PageRef::Tlv), true, false);
    t[macho::ARM64_RELOC_TLVP_LOAD_PAGEOFF12 as usize] =
        instr(PageOffset(PageRef::Tlv), false, false);
    t
}

impl Arch for Arm64 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn cpu_type(&self) -> u32 {
        macho::CPU_TYPE_ARM64
    }
    fn cpu_subtype(&self) -> u32 {
        macho::CPU_SUBTYPE_ARM64_ALL
    }
    /// arm64e (pointer authentication) objects cannot be linked as arm64.
    fn accepts_cpu_subtype(&self, subtype: u32) -> bool {
        matches!(
            subtype & !macho::CPU_SUBTYPE_MASK,
            macho::CPU_SUBTYPE_ARM64_ALL | macho::CPU_SUBTYPE_ARM64_V8
        )
    }
    fn tapi_target(&self) -> &'static str {
        "arm64-macos"
    }
    /// Current SDK stubs list many libraries (libSystem among them) for
    /// `arm64e-macos` only; ld64.lld links arm64 against them, as any arch
    /// of the same CPU type serves (its `isArchABICompatible`).
    fn tapi_compatible_targets(&self) -> &'static [&'static str] {
        &["arm64e-macos"]
    }
    fn page_size(&self) -> u64 {
        0x4000
    }
    fn trap(&self) -> &'static [u8] {
        const BRK: [u8; 4] = insn::BRK_1.to_le_bytes();
        &BRK
    }
    /// ld64 and ld64.lld sign every arm64 macOS output (the kernel runs
    /// no unsigned arm64 code); `-no_adhoc_codesign` turns it off.
    fn adhoc_sign_by_default(&self) -> bool {
        true
    }
    fn stub_size(&self) -> u64 {
        STUB_SIZE
    }
    fn stub_align_log2(&self) -> u8 {
        2
    }
    fn stub_helper_header_size(&self) -> u64 {
        STUB_HELPER_HEADER
    }
    fn stub_helper_entry_size(&self) -> u64 {
        STUB_HELPER_ENTRY
    }
    fn max_trampoline(&self) -> usize {
        MAX_TRAMPOLINE
    }
    /// imm26 counts words: -2^27 bytes back, 2^27 - 4 forward.
    #[inline]
    fn branch_reach(&self) -> u64 {
        insn::BRANCH_REACH - 4
    }
    fn unwind_mode_dwarf(&self) -> u32 {
        UNWIND_MODE_DWARF
    }
    fn trampoline_unwind(&self) -> u32 {
        // UNWIND_ARM64_MODE_FRAMELESS with no stack: the return address is
        // still in lr (`b`, or `adrp`/`add`/`br x16`, leave it alone).
        0x0200_0000
    }
    fn unwind_can_fold(&self, encoding: u32) -> bool {
        encoding & UNWIND_MODE_MASK != UNWIND_MODE_DWARF
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
            let (d, used) = decode_one(&infos[i..], data).map_err(|(j, e)| (i + j, e))?;
            out.push(d);
            i += used;
        }
        Ok(())
    }

    /// Only data fields may be section-relative on arm64 (see
    /// `decode_one`), and those are not pc-relative; a pc-relative
    /// UNSIGNED does not exist. The field's address plus its addend is
    /// what a pc-relative field would mean.
    fn pc_relative_referent(&self, _kind: RelocKind, field_addr: u64, addend: i64) -> u64 {
        field_addr.wrapping_add(addend as u64)
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
            RelocKind::ImageOffset => {
                need_length(kind, length, 2)?;
                super::write_image_offset(field, value)
            }
            RelocKind::PointerToGot => {
                need_length(kind, length, 2)?;
                write_int(field, value.wrapping_sub(pc) as i64, 2)
            }
            RelocKind::Branch => {
                need_length(kind, length, 2)?;
                let word = insn::get(field)?;
                insn::put(field, insn::branch(word, pc, value)?)
            }
            RelocKind::Page(_) => {
                need_length(kind, length, 2)?;
                let word = insn::get(field)?;
                insn::put(field, insn::adrp(word, pc, value)?)
            }
            RelocKind::PageOffset(_) => {
                need_length(kind, length, 2)?;
                let word = insn::get(field)?;
                insn::put(field, insn::page_offset(word, value)?)
            }
            RelocKind::PcRel { .. } | RelocKind::GotLoad | RelocKind::TlvLoad => {
                Err(unsupported(kind))
            }
        }
    }

    /// As ld64.lld: the page of a GOT (or thread-local descriptor) load
    /// needs no change, as it is re-pointed at the target's own page; the
    /// `ldr xN, [xM, #off]` that loaded the slot becomes
    /// `add xN, xM, #off`, which computes the target's address.
    #[inline]
    fn relax(&self, kind: RelocKind, bytes: &mut [u8], at: usize) -> Result<(), ApplyError> {
        match kind {
            RelocKind::Page(PageRef::Got | PageRef::Tlv) => {
                let word = insn::get(bytes.get(at..).ok_or(ApplyError::OutsideAtom)?)?;
                insn::expect_adrp(word)?;
                Ok(())
            }
            RelocKind::PageOffset(PageRef::Got | PageRef::Tlv) => {
                let field = bytes.get_mut(at..).ok_or(ApplyError::OutsideAtom)?;
                let word = insn::get(field)?;
                insn::put(field, insn::ldr_to_add(word)?)
            }
            _ => Err(unsupported(kind)),
        }
    }

    /// The `bl` becomes `nop` for a probe and `mov x0, #0` for an
    /// is-enabled test, as ld64 and lld patch it.
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
        let field = bytes.get_mut(at..).ok_or(ApplyError::OutsideAtom)?;
        insn::get(field)?;
        insn::put(
            field,
            match call {
                crate::dtrace::ProbeCall::Probe => insn::NOP,
                crate::dtrace::ProbeCall::IsEnabled => insn::MOVZ_X0_0,
            },
        )
    }

    /// `adrp x16, slot@PAGE; ldr x16, [x16, slot@PAGEOFF]; br x16`.
    fn write_stub(&self, out: &mut [u8], stub: u64, slot: u64) -> Result<(), ApplyError> {
        let out = out
            .get_mut(..STUB_SIZE as usize)
            .ok_or(ApplyError::OutsideAtom)?;
        insn::write_page_load(out, stub, insn::LDR_X_IMM | (16 << 5) | 16, slot)?;
        insn::put(&mut out[8..], insn::BR_X16)
    }

    fn read_stub(&self, code: &[u8], stub: u64) -> Option<u64> {
        let target = insn::read_page_pair(code, stub, insn::LDR_X_IMM | (16 << 5) | 16)?;
        (insn::get(code.get(8..)?).ok()? == insn::BR_X16).then_some(target)
    }

    /// Header: `adrp x17, dyld_private@PAGE; add x17, x17, @PAGEOFF;
    /// stp x16, x17, [sp, #-16]!; adrp x16, binder@PAGE; ldr x16, [x16,
    /// @PAGEOFF]; br x16`. Entry: `ldr w16, 1f; b header; 1: .long
    /// lazy_bind_offset`: the binder finds the offset in x16 and the
    /// image's `dyld_private` in x17 on the stack.
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
        insn::write_page_load(out, helper, insn::ADD_X_IMM | (17 << 5) | 17, dyld_private)?;
        insn::put(&mut out[8..], insn::STP_X16_X17_PRE)?;
        insn::write_page_load(
            &mut out[12..],
            helper + 12,
            insn::LDR_X_IMM | (16 << 5) | 16,
            binder_slot,
        )?;
        insn::put(&mut out[20..], insn::BR_X16)?;
        for (i, &offset) in lazy_bind_offsets.iter().enumerate() {
            let at = (STUB_HELPER_HEADER + i as u64 * STUB_HELPER_ENTRY) as usize;
            let entry_addr = helper + at as u64;
            let entry = &mut out[at..at + STUB_HELPER_ENTRY as usize];
            insn::put(entry, insn::LDR_W16_LITERAL_8)?;
            insn::put(
                &mut entry[4..],
                insn::branch(insn::B, entry_addr + 4, helper)?,
            )?;
            entry[8..].copy_from_slice(&offset.to_le_bytes());
        }
        Ok(())
    }

    fn objc_stub(&self, mode: ObjcStubsMode) -> Option<ObjcStub> {
        Some(match mode {
            ObjcStubsMode::Fast => ObjcStub {
                code: &OBJC_STUB_FAST,
                align_log2: 5,
                selref: &SELREF_FIELDS,
                msgsend: &OBJC_FAST_MSGSEND,
            },
            ObjcStubsMode::Small => ObjcStub {
                code: &OBJC_STUB_SMALL,
                align_log2: 2,
                selref: &SELREF_FIELDS,
                msgsend: &OBJC_SMALL_MSGSEND,
            },
        })
    }

    /// `b to` when it reaches, else `adrp x16; add x16; br x16`, which
    /// reaches ±4 GiB (any image's code).
    fn write_trampoline(&self, out: &mut [u8], from: u64, to: u64) -> Option<usize> {
        if let Ok(word) = insn::branch(insn::B, from, to) {
            insn::put(out, word).ok()?;
            return Some(4);
        }
        let out = out.get_mut(..MAX_TRAMPOLINE)?;
        insn::write_page_load(out, from, insn::ADD_X_IMM | (16 << 5) | 16, to).ok()?;
        insn::put(&mut out[8..], insn::BR_X16).ok()?;
        Some(MAX_TRAMPOLINE)
    }

    fn read_trampoline(&self, code: &[u8], from: u64) -> Option<u64> {
        let first = insn::get(code).ok()?;
        if first & insn::B_MASK == insn::B {
            return Some(insn::branch_target(first, from));
        }
        let target = insn::read_page_pair(code, from, insn::ADD_X_IMM | (16 << 5) | 16)?;
        (insn::get(code.get(8..)?).ok()? == insn::BR_X16).then_some(target)
    }

    fn object_architecture(&self) -> object::Architecture {
        object::Architecture::Aarch64
    }

    /// A call is a BRANCH26 and a pointer an UNSIGNED. A pc-relative data
    /// reference takes two instructions on arm64, `adrp` (PAGE21) and an
    /// `add` or load/store (PAGEOFF12), and a GOT load `adrp` and `ldr`
    /// (GOT_LOAD_PAGE21, GOT_LOAD_PAGEOFF12): the backend states each half
    /// ([`ImageReloc::Page`] ...). x86_64's one-field kinds have no arm64
    /// form. The object crate names no generic kind for the page
    /// relocations, so they are given as Mach-O relocation types; an
    /// addend goes into an ARM64_RELOC_ADDEND entry, which a GOT load
    /// does not take.
    fn object_relocation(
        &self,
        kind: ImageReloc,
        addend: i64,
    ) -> Result<(object::RelocationFlags, i64), ApplyError> {
        use object::{RelocationEncoding as E, RelocationKind as K};
        let mach_o = |r_type: u8, r_pcrel: bool| {
            Ok((
                object::RelocationFlags::MachO {
                    r_type,
                    r_pcrel,
                    r_length: 2,
                },
                addend,
            ))
        };
        let (kind, encoding, size) = match kind {
            ImageReloc::Call => (K::Relative, E::AArch64Call, 26),
            ImageReloc::Abs64 => (K::Absolute, E::Generic, 64),
            ImageReloc::Page => return mach_o(macho::ARM64_RELOC_PAGE21, true),
            ImageReloc::PageOffset => return mach_o(macho::ARM64_RELOC_PAGEOFF12, false),
            ImageReloc::GotPage | ImageReloc::GotPageOffset if addend != 0 => {
                return Err(ApplyError::BackendAddend { kind })
            }
            ImageReloc::GotPage => return mach_o(macho::ARM64_RELOC_GOT_LOAD_PAGE21, true),
            ImageReloc::GotPageOffset => {
                return mach_o(macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12, false)
            }
            ImageReloc::PcRel32 | ImageReloc::GotLoad => {
                return Err(ApplyError::UnsupportedBackend { kind, arch: NAME })
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
