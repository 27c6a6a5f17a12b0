//! The target layer: every fact and encoding that differs between
//! architectures lives behind [`Arch`], so adding a target means adding a
//! folder here and one line to [`ALL`].
//!
//! The rest of the linker works on arch-neutral relocations
//! ([`RelocKind`] plus an addend, decoded once when an object is parsed)
//! and asks the target to encode values into instructions and data
//! ([`Arch::apply`]), to relax GOT loads, and to write stubs, the stub
//! helper and trampolines.

pub mod arm64;
pub mod x86_64;

use object::macho;
use serde::{Deserialize, Serialize};

pub use arm64::Arm64;
pub use x86_64::X86_64;

/// What a relocated field means, independent of the instruction set.
///
/// A relocation refers to an address `S + A` (its target plus addend);
/// the kind says how the field expresses that address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RelocKind {
    /// The address itself (or, with a subtrahend, a difference of two
    /// addresses) in a 1-, 2-, 4- or 8-byte data field. An 8-byte pointer
    /// to something that slides, or to an import, becomes a dyld fixup.
    Absolute,
    /// A call or jump. A target in a dylib is reached through its stub.
    Branch,
    /// A pc-relative data reference. `bias` is how far the end of the
    /// instruction lies past the end of the field (x86_64 `SIGNED_1/2/4`).
    PcRel { bias: u8 },
    /// A pc-relative load of the target's GOT slot. For a target in the
    /// image the load is relaxed into computing the address directly.
    GotLoad,
    /// A pc-relative reference to the target's GOT slot that is never
    /// relaxed (personality pointers, `x@GOTPCREL` outside a load).
    PointerToGot,
    /// A pc-relative load of a thread-local variable's descriptor: through
    /// a thread-pointer slot for a dylib's variable, relaxed for our own.
    TlvLoad,
    /// The 4 KiB page of an address (arm64 `adrp`).
    Page(PageRef),
    /// The offset of an address within its page (arm64 `add`/`ldr`).
    PageOffset(PageRef),
    /// The target's offset from the image's mach header, in a 4-byte
    /// field: `__init_offsets` entries (see [`crate::init_offsets`]). It
    /// does not change when the image slides, so it needs no fixup.
    ImageOffset,
}

/// What a page or page-offset relocation addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PageRef {
    /// The target itself.
    Direct,
    /// The target's GOT slot.
    Got,
    /// The target's thread-local descriptor (or thread-pointer slot).
    Tlv,
}

/// The synthetic entry a reference needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Stub,
    Got,
    ThreadPtr,
}

impl RelocKind {
    /// Whether the field's value depends on its own address.
    pub fn is_pc_relative(self) -> bool {
        !matches!(
            self,
            RelocKind::Absolute | RelocKind::PageOffset(_) | RelocKind::ImageOffset
        )
    }

    /// The synthetic entry a reference of this kind to a symbol needs:
    /// `imported` when references to the symbol go through dyld (it is
    /// defined in a dylib, looked up dynamically, or a weak definition dyld
    /// coalesces, see [`crate::weak::needs_binding`]).
    pub fn entry(self, imported: bool) -> Option<Entry> {
        match self {
            RelocKind::Branch if imported => Some(Entry::Stub),
            RelocKind::GotLoad
            | RelocKind::Page(PageRef::Got)
            | RelocKind::PageOffset(PageRef::Got)
                if imported =>
            {
                Some(Entry::Got)
            }
            RelocKind::PointerToGot => Some(Entry::Got),
            RelocKind::TlvLoad
            | RelocKind::Page(PageRef::Tlv)
            | RelocKind::PageOffset(PageRef::Tlv)
                if imported =>
            {
                Some(Entry::ThreadPtr)
            }
            _ => None,
        }
    }

    /// A stable one-byte code for the incremental state (0xff is free).
    pub fn code(self) -> u8 {
        let page = |r: PageRef| match r {
            PageRef::Direct => 0,
            PageRef::Got => 1,
            PageRef::Tlv => 2,
        };
        match self {
            RelocKind::Absolute => 0,
            RelocKind::Branch => 1,
            RelocKind::GotLoad => 2,
            RelocKind::PointerToGot => 3,
            RelocKind::TlvLoad => 4,
            RelocKind::ImageOffset => 5,
            RelocKind::PcRel { bias } => 0x10 | (bias & 0x0f),
            RelocKind::Page(r) => 0x20 | page(r),
            RelocKind::PageOffset(r) => 0x30 | page(r),
        }
    }

    /// The kind of a [`RelocKind::code`].
    pub fn from_code(code: u8) -> Option<RelocKind> {
        let page = |c: u8| match c & 0x0f {
            0 => Some(PageRef::Direct),
            1 => Some(PageRef::Got),
            2 => Some(PageRef::Tlv),
            _ => None,
        };
        Some(match code {
            0 => RelocKind::Absolute,
            1 => RelocKind::Branch,
            2 => RelocKind::GotLoad,
            3 => RelocKind::PointerToGot,
            4 => RelocKind::TlvLoad,
            5 => RelocKind::ImageOffset,
            0x10..=0x1f => RelocKind::PcRel { bias: code & 0x0f },
            0x20..=0x2f => RelocKind::Page(page(code)?),
            0x30..=0x3f => RelocKind::PageOffset(page(code)?),
            _ => return None,
        })
    }

    /// Whether a reference of this kind to a symbol in the image is
    /// rewritten to address the symbol directly (no GOT or descriptor
    /// slot).
    pub fn relaxes_when_local(self) -> bool {
        matches!(
            self,
            RelocKind::GotLoad
                | RelocKind::TlvLoad
                | RelocKind::Page(PageRef::Got | PageRef::Tlv)
                | RelocKind::PageOffset(PageRef::Got | PageRef::Tlv)
        )
    }
}

/// Why a value could not be encoded into its field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("value {value:#x} does not fit in a {bits}-bit field")]
    OutOfRange { value: i64, bits: u32 },
    #[error("{kind:?} relocation cannot have a {bytes}-byte field")]
    BadLength { kind: RelocKind, bytes: usize },
    #[error("relocated field lies outside the atom")]
    OutsideAtom,
    #[error("cannot relax instruction {found} (expected {expected})")]
    UnexpectedInstruction {
        expected: &'static str,
        found: String,
    },
    #[error("{kind:?} relocations are not used by {arch}")]
    Unsupported { kind: RelocKind, arch: &'static str },
    #[error("address {value:#x} is not a multiple of {align}, as the instruction needs")]
    Misaligned { value: u64, align: u64 },
    #[error("a DTrace probe symbol can only be called (this is a {kind:?} relocation)")]
    NotAProbeCall { kind: RelocKind },
    #[error("{arch} has no single relocation for a backend's {kind:?} reference")]
    UnsupportedBackend {
        kind: BackendRelocKind,
        arch: &'static str,
    },
    #[error("a {kind:?} reference takes no addend (it loads the symbol's own address)")]
    BackendAddend { kind: BackendRelocKind },
}

/// A raw relocation entry decoded by a target: its arch-neutral kind, the
/// raw entries it stands for, and the addend the object file embedded.
#[derive(Clone, Copy, Debug)]
pub struct DecodedReloc {
    pub kind: RelocKind,
    /// The addend the field (or an addend entry) holds, with the meaning
    /// [`Arch::pc_relative_referent`] and [`Arch::apply`] give it. For a
    /// field that is not pc-relative: what it holds (for a difference, the
    /// minuend less the subtrahend, in input addresses).
    pub addend: i64,
    /// The entry naming the target (for a difference, the minuend).
    pub info: macho::RelocationInfo,
    /// A difference's subtrahend entry.
    pub subtrahend: Option<macho::RelocationInfo>,
}

/// A target's relocation decoding called with the target's type known, so
/// that the common case inlines into the loop over a section's entries
/// (the dynamic [`Arch::decode_relocs`] decodes into a list first, which
/// costs more per entry than the decoding itself).
pub trait InlineDecode {
    /// An entry that stands alone and is good, decoded; None for any
    /// other ([`Self::decode_group`] decodes or rejects those).
    fn decode_lone(info: &macho::RelocationInfo, data: &[u8]) -> Option<DecodedReloc>;
    /// Whether an entry is the first of a pair (it applies to the entry
    /// after it, which is never itself the first of one).
    fn is_pair_head(info: &macho::RelocationInfo) -> bool;
    /// One relocation from all of `infos` (one entry or a pair), as
    /// [`Arch::decode_relocs`] decodes it; None when they are not one
    /// good relocation.
    fn decode_group(infos: &[macho::RelocationInfo], data: &[u8]) -> Option<DecodedReloc>;
    /// [`Self::decode_lone`] as a table for the parse's loop over a
    /// section's entries, by `r_type`: which entries of the type it
    /// decodes and that are plain (see [`LoneForm`]), and how.
    const LONE: [LoneForm; 16];
    /// The type of an entry that only carries the addend of the entry
    /// after it (arm64 `ADDEND`), if the target has one.
    const ADDEND: Option<u8>;
}

/// How [`InlineDecode::decode_lone`] decodes an entry of one `r_type`,
/// for the entries it decodes whose relocation is plain: a reference to
/// a symbol, or a section-relative one that is not pc-relative (no
/// subtrahend, so nothing the field's own address decides).
#[derive(Clone, Copy, Debug)]
pub struct LoneForm {
    pub kind: RelocKind,
    /// Bit `(word >> 24) & 15` of an entry's second word (bit 0
    /// pc-relative, bits 1-2 the length, bit 3 extern) set: an entry of
    /// this shape is one such. 0 for a type none of whose entries is.
    pub shapes: u16,
    /// Whether the field holds the addend (a sign-extended integer); else
    /// the addend is 0 (the field still has to lie in the section).
    pub reads_field: bool,
    /// Added to the field's value (x86_64 `SIGNED_1/2/4`, whose `shapes`
    /// are pc-relative ones only).
    pub bias: i8,
    /// Whether an addend entry ([`InlineDecode::ADDEND`]) may precede it.
    pub takes_addend: bool,
}

impl LoneForm {
    /// A type no entry of which the table decodes.
    pub const NONE: LoneForm = LoneForm {
        kind: RelocKind::Absolute,
        shapes: 0,
        reads_field: false,
        bias: 0,
        takes_addend: false,
    };

    /// The shapes of the plain entries among those with a pc-relative bit
    /// of `pcrel` (any, if None), a length in the bit set `lengths`, and
    /// that name a symbol when `extern_only`.
    pub const fn shapes(pcrel: Option<bool>, lengths: u8, extern_only: bool) -> u16 {
        let mut mask = 0u16;
        let mut shape = 0u16;
        while shape < 16 {
            let (is_pcrel, length, is_extern) = (shape & 1 != 0, (shape >> 1) & 3, shape & 8 != 0);
            let pcrel_ok = match pcrel {
                Some(p) => p == is_pcrel,
                None => true,
            };
            let plain = is_extern || !is_pcrel;
            if pcrel_ok && lengths & (1 << length) != 0 && (is_extern || !extern_only) && plain {
                mask |= 1 << shape;
            }
            shape += 1;
        }
        mask
    }
}

/// The fields of a little-endian relocation entry (x86_64 and arm64 have
/// no scattered relocations: bit 31 of the address is part of it).
#[inline(always)]
pub fn relocation_info(raw: [u8; 8]) -> macho::RelocationInfo {
    let r_address = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let info = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
    macho::RelocationInfo {
        r_address,
        r_symbolnum: info & 0x00ff_ffff,
        r_pcrel: (info >> 24) & 1 != 0,
        r_length: ((info >> 25) & 3) as u8,
        r_extern: (info >> 27) & 1 != 0,
        r_type: (info >> 28) as u8,
    }
}

/// Which form of Objective-C message-send stub to write
/// (`-objc_stubs_fast`, the default, or `-objc_stubs_small`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjcStubsMode {
    /// Loads `_objc_msgSend` from its GOT slot and jumps to it.
    Fast,
    /// Calls `_objc_msgSend` directly (or through its stub): smaller,
    /// one more hop when it is imported.
    Small,
}

/// A field of a synthesized code template: where it is and how it is
/// relocated (`length` as in [`crate::atom::Reloc`]: log2 of its bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateField {
    pub offset: u32,
    pub kind: RelocKind,
    pub length: u8,
}

/// The code of one `_objc_msgSend$sel` stub in `__objc_stubs`: it loads
/// the selector from its `__objc_selrefs` slot into the selector argument
/// register and continues in `_objc_msgSend`. A reference may take more
/// than one field (arm64: a page and an offset in it).
#[derive(Clone, Copy, Debug)]
pub struct ObjcStub {
    pub code: &'static [u8],
    pub align_log2: u8,
    /// The load of the selector from its selref slot.
    pub selref: &'static [TemplateField],
    /// The jump to `_objc_msgSend` (through its GOT slot, or a branch).
    pub msgsend: &'static [TemplateField],
}

/// A relocation as a compiler backend states it through
/// [`crate::image`] (`image::RelocKind`); the target says how an object
/// file expresses it ([`Arch::object_relocation`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendRelocKind {
    /// The displacement of a call or jump (imports go through a stub).
    Call,
    /// A 32-bit pc-relative displacement that ends the instruction (`lea`,
    /// `mov` of a defined symbol).
    PcRel32,
    /// The displacement of a load from the symbol's GOT slot.
    GotLoad,
    /// A 64-bit absolute pointer in data (rebased or bound by dyld).
    Abs64,
    /// The 4 KiB page of the symbol, in an arm64 `adrp` (its pair, at
    /// another offset, is a [`BackendRelocKind::PageOffset`]).
    Page,
    /// The symbol's offset within its page, in the arm64 `add` or
    /// load/store immediate that follows an `adrp` (scaled as the
    /// instruction's access size says).
    PageOffset,
    /// The page of the symbol's GOT slot, in an arm64 `adrp` (imports and
    /// any symbol whose address is loaded rather than computed).
    GotPage,
    /// The GOT slot's offset within its page, in the arm64 `ldr x, [x, #]`
    /// that loads the symbol's address.
    GotPageOffset,
}

/// What the linker needs to know about, and do for, one target.
pub trait Arch: Sync + Send {
    /// The name `-arch` takes and ld64 prints ("x86_64").
    fn name(&self) -> &'static str;
    /// Mach-O `cputype` and `cpusubtype` of images for this target.
    fn cpu_type(&self) -> u32;
    fn cpu_subtype(&self) -> u32;
    /// Whether an object or a universal slice of this `cputype` with
    /// `cpusubtype` (capability bits included) can be linked for this
    /// target.
    fn accepts_cpu_subtype(&self, subtype: u32) -> bool;
    /// The TAPI target of macOS dylib stubs (`x86_64-macos`).
    fn tapi_target(&self) -> &'static str;
    /// Other TAPI targets whose stubs serve this one (same CPU type, as
    /// ld64.lld accepts them), tried when a stub lacks [`Arch::tapi_target`].
    fn tapi_compatible_targets(&self) -> &'static [&'static str];
    /// Page size of images: segment alignment and fixup-chain pages.
    fn page_size(&self) -> u64;
    /// The instruction that fills code gaps, so a stray jump traps.
    fn trap(&self) -> &'static [u8];
    /// Whether outputs carry an ad-hoc, linker-signed code signature
    /// unless `-no_adhoc_codesign` says otherwise.
    fn adhoc_sign_by_default(&self) -> bool;
    /// Size of a stub, of the stub helper's header and of one of its
    /// entries (classic lazy binding).
    fn stub_size(&self) -> u64;
    /// The alignment of `__stubs` (log2): ld64's 2 bytes on x86_64, an
    /// instruction (4 bytes) on arm64. On arm64 it matters beyond taste:
    /// an incremental link's reserve after `__text` is a quarter of its
    /// size, so only the stubs' own alignment keeps `bl` targets aligned.
    fn stub_align_log2(&self) -> u8;
    fn stub_helper_header_size(&self) -> u64;
    fn stub_helper_entry_size(&self) -> u64;
    /// Size of the largest trampoline; every function slot is at least
    /// this large (invariant 3).
    fn max_trampoline(&self) -> usize;
    /// How far a direct branch reaches, either way.
    fn branch_reach(&self) -> u64;
    /// `UNWIND_*_MODE_DWARF`: a compact unwind encoding that defers to
    /// `__eh_frame` (its low 24 bits are an FDE offset).
    fn unwind_mode_dwarf(&self) -> u32;
    /// The compact unwind encoding of a trampoline (`write_trampoline`):
    /// no frame, the return address where the call left it. An update
    /// gives it to the slot of a moved function whose own row deferred to
    /// an FDE, which now describes the body elsewhere.
    fn trampoline_unwind(&self) -> u32;
    /// Whether two adjacent functions with this encoding may share one
    /// `__unwind_info` row (modes that carry per-function data may not).
    fn unwind_can_fold(&self, encoding: u32) -> bool;

    /// Decodes the relocation entries of a section whose contents are
    /// `data`, appending one [`DecodedReloc`] per relocation (a pair of
    /// entries makes one). Fails with the index of the entry at fault.
    fn decode_relocs(
        &self,
        infos: &[macho::RelocationInfo],
        data: &[u8],
        out: &mut Vec<DecodedReloc>,
    ) -> Result<(), (usize, String)>;
    /// For a section-relative pc-relative relocation: the input address it
    /// refers to, given the field's input address and its addend.
    fn pc_relative_referent(&self, kind: RelocKind, field_addr: u64, addend: i64) -> u64;

    /// Encodes a relocation into `bytes[at..]`: `value` is the address the
    /// relocation refers to (`S + A`) for pc-relative and page kinds, and
    /// the field's whole value for [`RelocKind::Absolute`]; `pc` is the
    /// field's address.
    fn apply(
        &self,
        kind: RelocKind,
        length: u8,
        bytes: &mut [u8],
        at: usize,
        pc: u64,
        value: u64,
    ) -> Result<(), ApplyError>;
    /// Rewrites the instruction of a GOT or thread-local load at
    /// `bytes[at..]` so that it computes the address itself; [`Arch::apply`]
    /// then encodes the address.
    fn relax(&self, kind: RelocKind, bytes: &mut [u8], at: usize) -> Result<(), ApplyError>;
    /// Rewrites the call instruction whose relocated field is at
    /// `bytes[at..]` and that calls a DTrace symbol: a probe becomes
    /// no-ops, an is-enabled test sets the result to 0 (as ld64 and lld
    /// patch it; see [`crate::dtrace`]).
    fn rewrite_probe_call(
        &self,
        call: crate::dtrace::ProbeCall,
        kind: RelocKind,
        bytes: &mut [u8],
        at: usize,
    ) -> Result<(), ApplyError>;

    /// Writes the stub at `stub` that jumps through the pointer at `slot`.
    fn write_stub(&self, out: &mut [u8], stub: u64, slot: u64) -> Result<(), ApplyError>;
    /// The pointer slot a stub at `stub` jumps through, if `code` is one.
    fn read_stub(&self, code: &[u8], stub: u64) -> Option<u64>;
    /// Writes the stub helper (classic lazy binding): its header, which
    /// passes `dyld_private` to the binder reached through `binder_slot`,
    /// then one entry per lazy-bind offset, each jumping to the header.
    fn write_stub_helper(
        &self,
        out: &mut [u8],
        helper: u64,
        dyld_private: u64,
        binder_slot: u64,
        lazy_bind_offsets: &[u32],
    ) -> Result<(), ApplyError>;

    /// The Objective-C message-send stub of `mode`, or `None` when the
    /// target does not implement that mode (the caller then uses the fast
    /// one, as ld64.lld does).
    fn objc_stub(&self, mode: ObjcStubsMode) -> Option<ObjcStub>;

    /// Encodes a jump placed at `from` that lands on `to`. Returns the
    /// bytes written, or `None` when `to` is out of reach or `out` is too
    /// small.
    fn write_trampoline(&self, out: &mut [u8], from: u64, to: u64) -> Option<usize>;
    /// Decodes a trampoline at `from`: where it jumps, if `code` starts
    /// with one.
    fn read_trampoline(&self, code: &[u8], from: u64) -> Option<u64>;

    /// For [`crate::image`], which writes a backend's code as objects with
    /// the `object` crate: the architecture, and how one of its relocation
    /// kinds is expressed (flags and the addend to store), or
    /// [`ApplyError::UnsupportedBackend`] when no one relocation states it.
    fn object_architecture(&self) -> object::Architecture;
    fn object_relocation(
        &self,
        kind: BackendRelocKind,
        addend: i64,
    ) -> Result<(object::RelocationFlags, i64), ApplyError>;
}

/// Every target machlink links for.
pub static ALL: &[&dyn Arch] = &[&X86_64, &Arm64];

/// The target `-arch` names.
pub fn by_name(name: &str) -> Option<&'static dyn Arch> {
    ALL.iter().copied().find(|a| a.name() == name)
}

/// The target of a Mach-O `cputype`.
pub fn by_cpu_type(cpu_type: u32) -> Option<&'static dyn Arch> {
    ALL.iter().copied().find(|a| a.cpu_type() == cpu_type)
}

/// The architecture name of a `cputype`, for messages about inputs built
/// for another one.
pub fn cpu_name(cpu_type: u32) -> String {
    match cpu_type {
        macho::CPU_TYPE_X86_64 => "x86_64".into(),
        macho::CPU_TYPE_ARM64 => "arm64".into(),
        macho::CPU_TYPE_X86 => "i386".into(),
        macho::CPU_TYPE_ARM => "arm".into(),
        macho::CPU_TYPE_ARM64_32 => "arm64_32".into(),
        other => format!("cputype {other:#x}"),
    }
}

/// Fills `out` with copies of `pattern` (a trap instruction), starting at
/// its first byte.
pub fn fill_pattern(out: &mut [u8], pattern: &[u8]) {
    if let [byte] = pattern {
        out.fill(*byte);
        return;
    }
    let n = pattern.len().min(out.len());
    out[..n].copy_from_slice(&pattern[..n]);
    let mut filled = n;
    while filled < out.len() && filled > 0 {
        let more = filled.min(out.len() - filled);
        out.copy_within(..more, filled);
        filled += more;
    }
}

/// Fills `out` with trap instructions `trap` that keep their phase with a
/// run of them starting `phase` bytes before `out` (its section's start).
pub fn fill_trap(out: &mut [u8], trap: &[u8], phase: usize) {
    let phase = phase % trap.len();
    let mut rotated = [0u8; 16];
    let rotated = &mut rotated[..trap.len()];
    rotated[..trap.len() - phase].copy_from_slice(&trap[phase..]);
    rotated[trap.len() - phase..].copy_from_slice(&trap[..phase]);
    fill_pattern(out, rotated);
}

/// Writes `value` into a little-endian field of `1 << length` bytes. A
/// 4-byte field must hold it as a signed number (pc-relative displacements
/// and differences are signed); a 1- or 2-byte field as signed or unsigned.
#[inline]
pub fn write_int(field: &mut [u8], value: i64, length: u8) -> Result<(), ApplyError> {
    // The common widths as stores of their own (the general copy below is
    // a call to `memcpy` for the variable length).
    match length {
        3 => {
            let field = field.get_mut(..8).ok_or(ApplyError::OutsideAtom)?;
            field.copy_from_slice(&value.to_le_bytes());
            return Ok(());
        }
        2 => {
            let field = field.get_mut(..4).ok_or(ApplyError::OutsideAtom)?;
            let v = i32::try_from(value).map_err(|_| ApplyError::OutOfRange { value, bits: 32 })?;
            field.copy_from_slice(&v.to_le_bytes());
            return Ok(());
        }
        _ => {}
    }
    let bytes = 1usize << length;
    let field = field.get_mut(..bytes).ok_or(ApplyError::OutsideAtom)?;
    if bytes < 8 {
        let bits = 8 * bytes as u32;
        let max = if bits == 32 { 1i64 << 31 } else { 1i64 << bits };
        let fits = value >= -(1i64 << (bits - 1)) && value < max;
        if !fits {
            return Err(ApplyError::OutOfRange { value, bits });
        }
    }
    field.copy_from_slice(&value.to_le_bytes()[..bytes]);
    Ok(())
}

/// Writes an image offset ([`RelocKind::ImageOffset`]: `value` is the
/// target's offset from the mach header) into a 4-byte field.
pub fn write_image_offset(field: &mut [u8], value: u64) -> Result<(), ApplyError> {
    let offset = u32::try_from(value).map_err(|_| ApplyError::OutOfRange {
        value: value as i64,
        bits: 32,
    })?;
    let field = field.get_mut(..4).ok_or(ApplyError::OutsideAtom)?;
    field.copy_from_slice(&offset.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_found_by_name_and_cpu_type() {
        for a in ALL {
            assert_eq!(by_name(a.name()).unwrap().cpu_type(), a.cpu_type());
            assert_eq!(by_cpu_type(a.cpu_type()).unwrap().name(), a.name());
            assert!(a.max_trampoline() as u64 <= a.stub_size() * 4);
            assert!(a.page_size().is_power_of_two());
            // A stub is code: aligned at least as an instruction (the trap).
            assert!(1 << a.stub_align_log2() >= a.trap().len(), "{}", a.name());
            assert!(a.stub_size().is_multiple_of(1 << a.stub_align_log2()));
        }
        assert!(by_name("ppc").is_none());
        assert_eq!(cpu_name(macho::CPU_TYPE_ARM64), "arm64");
    }

    #[test]
    fn entries_follow_the_kind_and_where_the_symbol_lives() {
        assert_eq!(RelocKind::Branch.entry(true), Some(Entry::Stub));
        assert_eq!(RelocKind::Branch.entry(false), None);
        assert_eq!(RelocKind::GotLoad.entry(true), Some(Entry::Got));
        assert_eq!(RelocKind::GotLoad.entry(false), None);
        assert_eq!(RelocKind::PointerToGot.entry(false), Some(Entry::Got));
        assert_eq!(RelocKind::TlvLoad.entry(true), Some(Entry::ThreadPtr));
        assert_eq!(RelocKind::Page(PageRef::Got).entry(true), Some(Entry::Got));
        assert_eq!(RelocKind::Absolute.entry(true), None);
        assert!(RelocKind::GotLoad.relaxes_when_local());
        assert!(!RelocKind::PointerToGot.relaxes_when_local());
    }

    #[test]
    fn state_codes_round_trip_and_unknown_ones_are_refused() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..=255u8 {
            if let Some(kind) = RelocKind::from_code(code) {
                assert_eq!(kind.code(), code);
                assert!(seen.insert(kind));
            }
        }
        assert_eq!(seen.len(), 6 + 16 + 3 + 3);
        assert!(RelocKind::from_code(0xff).is_none());
        assert!(RelocKind::from_code(0x23).is_none());
    }

    #[test]
    fn patterns_fill_whole_and_partial_copies() {
        let mut out = [0u8; 11];
        fill_pattern(&mut out, &[1, 2, 3, 4]);
        assert_eq!(out, [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3]);
        let mut out = [0u8; 3];
        fill_pattern(&mut out, &[0xcc]);
        assert_eq!(out, [0xcc; 3]);
        fill_pattern(&mut [], &[1, 2]);
        let mut short = [0u8; 1];
        fill_pattern(&mut short, &[7, 8]);
        assert_eq!(short, [7]);
    }

    #[test]
    fn write_int_checks_the_width() {
        let mut f = [0u8; 8];
        write_int(&mut f, -1, 2).unwrap();
        assert_eq!(f[..4], [0xff; 4]);
        write_int(&mut f, i64::from(i32::MAX), 2).unwrap();
        assert_eq!(
            write_int(&mut f, 1 << 31, 2),
            Err(ApplyError::OutOfRange {
                value: 1 << 31,
                bits: 32
            })
        );
        write_int(&mut f, 0xffff, 1).unwrap();
        assert!(write_int(&mut f, -129, 0).is_err());
        write_int(&mut f, 0x1234, 1).unwrap();
        assert_eq!(f[..2], [0x34, 0x12]);
        write_int(&mut f, i64::MIN, 3).unwrap();
        assert_eq!(write_int(&mut f[..3], 0, 2), Err(ApplyError::OutsideAtom));
    }
}
