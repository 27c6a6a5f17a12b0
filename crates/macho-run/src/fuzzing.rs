//! Entry point for the fuzz target `macho_run_load` in `fuzz/` (and for
//! the replay test that runs its corpus on stable): the loader up to the
//! point of running code. The image is parsed and validated, its fixups
//! decoded, its imports bound (to made-up addresses: no dylib is looked
//! up, no host symbol resolved), its segments mapped into address space of
//! their own and its fixups written there, then everything is unmapped. No
//! initialiser or code of the image runs, and no file is read.

use crate::fixups::{self, Import};
use crate::macho::Image;

/// Loads `data` (an executable or dylib, x86_64 or arm64) as far as
/// running it; any error is fine, a panic or a stray write is not.
pub fn load(data: &[u8]) {
    let Ok(image) = Image::parse_linked_any_arch(data, "fuzz") else {
        return;
    };
    let _ = image.fileoff_to_vmaddr(image.entryoff);
    for name in ["_main", "_printf", ""] {
        let _ = fixups::find_export(&image, name);
        let _ = fixups::is_weak_export(&image, name);
    }
    let Ok(plan) = fixups::plan(&image) else {
        return;
    };
    // Every import resolves (so no trap stub is made): to an address made
    // from its index, as a host library's would be.
    let mut next = 0x7000_0000_0000u64;
    let resolve = |_: &Import| {
        next += 16;
        Some(next)
    };
    let Ok(addrs) = crate::binder::bind(&image, &plan, resolve) else {
        return;
    };
    let Ok(mapped) = crate::loader::map_with(&image, false) else {
        return;
    };
    crate::loader::apply(&mapped, &plan, &addrs, &[]);
    // As if some image defined each weakly bound symbol.
    for w in &plan.weak_binds {
        // SAFETY: the decoder checked the slot against the segments, as
        // for the real loader's weak binds.
        unsafe { mapped.write_u64(w.vmaddr, 0x7100_0000_0000u64.wrapping_add(w.addend as u64)) };
    }
    mapped.unmap();
}
