//! dyld's image queries (`<mach-o/dyld.h>`), answered from the
//! [registry](super::registry): Rust std's backtrace symbolisation walks
//! the images with them, and unwinders ask for an address's sections.

use super::registry;
use std::ffi::c_char;

extern "C" fn dyld_image_count() -> u32 {
    registry::count() as u32
}

extern "C" fn dyld_get_image_header(i: u32) -> u64 {
    registry::image(i as usize).map_or(0, |r| r.header)
}

extern "C" fn dyld_get_image_vmaddr_slide(i: u32) -> u64 {
    registry::image(i as usize).map_or(0, |r| r.slide)
}

extern "C" fn dyld_get_image_name(i: u32) -> *const c_char {
    registry::image(i as usize).map_or(std::ptr::null(), |r| r.path.as_ptr())
}

extern "C" fn dyld_get_image_slide(header: u64) -> u64 {
    registry::image_by_header(header).map_or(0, |r| r.slide)
}

/// `struct dyld_unwind_sections`.
#[repr(C)]
struct UnwindSections {
    mh: u64,
    dwarf_section: u64,
    dwarf_section_length: u64,
    compact_unwind_section: u64,
    compact_unwind_section_length: u64,
}

/// `_dyld_find_unwind_sections(addr, info)`: true when `addr` is in an
/// image's code, with that image's `__eh_frame` and `__unwind_info`.
extern "C" fn dyld_find_unwind_sections(addr: u64, info: *mut UnwindSections) -> bool {
    let Some(r) = registry::image_for_pc(addr) else {
        return false;
    };
    let (dw, dw_len) = r.eh_frame.map_or((0, 0), |(lo, hi)| (lo, hi - lo));
    let (cu, cu_len) = r.unwind_info.map_or((0, 0), |(lo, hi)| (lo, hi - lo));
    if info.is_null() {
        return false;
    }
    // SAFETY: the caller passes a `struct dyld_unwind_sections` to fill.
    unsafe {
        info.write(UnwindSections {
            mh: r.header,
            dwarf_section: dw,
            dwarf_section_length: dw_len,
            compact_unwind_section: cu,
            compact_unwind_section_length: cu_len,
        })
    };
    true
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("__dyld_image_count", dyld_image_count as *const () as usize),
        (
            "__dyld_get_image_header",
            dyld_get_image_header as *const () as usize,
        ),
        (
            "__dyld_get_image_vmaddr_slide",
            dyld_get_image_vmaddr_slide as *const () as usize,
        ),
        (
            "__dyld_get_image_name",
            dyld_get_image_name as *const () as usize,
        ),
        (
            "__dyld_get_image_slide",
            dyld_get_image_slide as *const () as usize,
        ),
        (
            "__dyld_find_unwind_sections",
            dyld_find_unwind_sections as *const () as usize,
        ),
    ]
}
