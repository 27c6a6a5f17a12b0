//! `__TEXT,__init_offsets`: initializers as 32-bit offsets.
//!
//! With chained fixups, ld64.lld (and Apple's current ld) do not write
//! `__mod_init_func`'s 8-byte pointers, each of which needs a rebase;
//! they write one 4-byte offset from the image's mach header per
//! initializer into `__TEXT,__init_offsets` (`S_INIT_FUNC_OFFSETS`), which
//! dyld reads in order, adding the header's address. The section is read
//! only and needs no fixups.
//!
//! The rewrite is done on the input sections, after dead stripping and
//! before the synthetic scan and layout: each `__mod_init_func` section's
//! bytes, atoms and relocations are halved in place, and its relocations
//! become [`RelocKind::ImageOffset`]. Everything after (layout, the
//! relocator, `-init` ordering, the map) then sees an ordinary section.
//!
//! Not done for `-incremental` links: updates keep the pointers they
//! recorded, and `__mod_init_func` is what dyld reads from older images
//! too. A section the rewrite cannot express (a pointer without a
//! relocation, a symbol inside it) stays `__mod_init_func`; dyld runs
//! both kinds.

use crate::arch::RelocKind;
use crate::input::object::{InputSection, ObjectFile};
use object::macho;

/// The output section of the offsets.
pub const SEGMENT: &str = "__TEXT";
pub const SECTION: &str = "__init_offsets";

/// Whether a link writes `__init_offsets`, as lld decides
/// (`emitInitOffsets`): `asked` is chained fixups or `-init_offsets`
/// (which `-incremental` refuses).
pub fn applies(asked: bool, incremental: bool) -> bool {
    asked && !incremental
}

/// Rewrites every live `__mod_init_func` section of `objects` into an
/// `__init_offsets` section.
pub fn convert(objects: &mut [ObjectFile]) {
    for obj in objects.iter_mut() {
        for si in 0..obj.sections.len() {
            if convertible(obj, si) {
                convert_section(obj, si);
            }
        }
    }
}

/// Whether section `si` is a kept `__mod_init_func` whose every 8-byte
/// entry is one pointer relocation, with no symbol past its start.
fn convertible(obj: &ObjectFile, si: usize) -> bool {
    let sec = &obj.sections[si];
    if sec.kind() != macho::S_MOD_INIT_FUNC_POINTERS || !sec.kept || !sec.size.is_multiple_of(8) {
        return false;
    }
    let atoms = &obj.atoms[sec.atoms_start as usize..(sec.atoms_start + sec.atoms_len) as usize];
    let entries_relocated = atoms.iter().all(|a| {
        let relocs = &obj.relocs[a.relocs_start as usize..a.relocs_end as usize];
        a.offset.is_multiple_of(8)
            && a.size.is_multiple_of(8)
            && relocs.len() as u32 == a.size / 8
            && relocs.iter().all(|r| {
                r.kind == RelocKind::Absolute
                    && r.length == 3
                    && r.subtrahend.is_none()
                    && r.offset.is_multiple_of(8)
            })
    });
    // Symbol addresses are kept as input addresses; halving the section
    // would misplace any symbol but one at its start.
    let symbol_inside = obj.symbols.iter().any(|s| {
        s.is_defined_in_section() && usize::from(s.n_sect) == si + 1 && s.n_value != sec.addr
    });
    entries_relocated && !symbol_inside
}

fn convert_section(obj: &mut ObjectFile, si: usize) {
    let sec: &mut InputSection = &mut obj.sections[si];
    sec.segname = SEGMENT.into();
    sec.sectname = SECTION.into();
    sec.flags = macho::S_INIT_FUNC_OFFSETS;
    sec.align_log2 = 2;
    sec.size /= 2;
    sec.data = Box::leak(vec![0u8; sec.size as usize].into_boxed_slice());
    let atoms = sec.atoms_start as usize..(sec.atoms_start + sec.atoms_len) as usize;
    for a in &mut obj.atoms[atoms] {
        a.offset /= 2;
        a.size /= 2;
        a.align_log2 = 2;
        for r in &mut obj.relocs[a.relocs_start as usize..a.relocs_end as usize] {
            r.offset /= 2;
            r.length = 2;
            r.kind = RelocKind::ImageOffset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chained_full_links_write_offsets() {
        assert!(applies(true, false));
        assert!(!applies(false, false));
        assert!(!applies(true, true));
    }
}
