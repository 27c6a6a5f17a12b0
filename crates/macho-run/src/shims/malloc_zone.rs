//! macOS malloc zones (`<malloc/malloc.h>`). glibc has one heap and no
//! zones, but macOS programs may allocate through a zone and even call its
//! function pointers directly (SQLite's mem1.c calls `zone->size`). A zone
//! here is a struct with macOS's `malloc_zone_t` layout whose functions all
//! use the glibc heap, so blocks can move freely between zones and `free`.

use std::ffi::{c_char, c_uint, c_void};

/// The leading fields of macOS `malloc_zone_t` (version 6: up to
/// `free_definite_size`; callers check `version` before using later ones).
#[repr(C)]
pub struct MallocZone {
    reserved1: usize,
    reserved2: usize,
    size: unsafe extern "C" fn(*mut MallocZone, *const c_void) -> usize,
    malloc: unsafe extern "C" fn(*mut MallocZone, usize) -> *mut c_void,
    calloc: unsafe extern "C" fn(*mut MallocZone, usize, usize) -> *mut c_void,
    valloc: unsafe extern "C" fn(*mut MallocZone, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut MallocZone, *mut c_void),
    realloc: unsafe extern "C" fn(*mut MallocZone, *mut c_void, usize) -> *mut c_void,
    destroy: unsafe extern "C" fn(*mut MallocZone),
    zone_name: *const c_char,
    batch_malloc: usize,
    batch_free: usize,
    introspect: usize,
    version: c_uint,
    memalign: unsafe extern "C" fn(*mut MallocZone, usize, usize) -> *mut c_void,
    free_definite_size: unsafe extern "C" fn(*mut MallocZone, *mut c_void, usize),
}

unsafe extern "C" fn zone_size(_: *mut MallocZone, p: *const c_void) -> usize {
    if p.is_null() {
        0
    } else {
        libc::malloc_usable_size(p as *mut c_void)
    }
}
unsafe extern "C" fn zone_malloc(_: *mut MallocZone, n: usize) -> *mut c_void {
    libc::malloc(n)
}
unsafe extern "C" fn zone_calloc(_: *mut MallocZone, n: usize, size: usize) -> *mut c_void {
    libc::calloc(n, size)
}
unsafe extern "C" fn zone_valloc(_: *mut MallocZone, n: usize) -> *mut c_void {
    zone_memalign(std::ptr::null_mut(), 4096, n)
}
unsafe extern "C" fn zone_free(_: *mut MallocZone, p: *mut c_void) {
    libc::free(p)
}
unsafe extern "C" fn zone_realloc(_: *mut MallocZone, p: *mut c_void, n: usize) -> *mut c_void {
    libc::realloc(p, n)
}
/// Blocks of a destroyed zone stay allocated: they are not told apart.
unsafe extern "C" fn zone_destroy(_: *mut MallocZone) {}
unsafe extern "C" fn zone_memalign(_: *mut MallocZone, align: usize, n: usize) -> *mut c_void {
    let mut p = std::ptr::null_mut();
    if libc::posix_memalign(&mut p, align.max(8), n) == 0 {
        p
    } else {
        std::ptr::null_mut()
    }
}
unsafe extern "C" fn zone_free_definite_size(_: *mut MallocZone, p: *mut c_void, _: usize) {
    libc::free(p)
}

const fn zone(name: *const c_char) -> MallocZone {
    MallocZone {
        reserved1: 0,
        reserved2: 0,
        size: zone_size,
        malloc: zone_malloc,
        calloc: zone_calloc,
        valloc: zone_valloc,
        free: zone_free,
        realloc: zone_realloc,
        destroy: zone_destroy,
        zone_name: name,
        batch_malloc: 0,
        batch_free: 0,
        introspect: 0,
        version: 6,
        memalign: zone_memalign,
        free_definite_size: zone_free_definite_size,
    }
}

static mut DEFAULT_ZONE: MallocZone = zone(c"DefaultMallocZone".as_ptr());

extern "C" fn malloc_default_zone() -> *mut MallocZone {
    &raw mut DEFAULT_ZONE
}

/// Zones are never freed (macOS programs rarely destroy them).
extern "C" fn malloc_create_zone(_start_size: usize, _flags: c_uint) -> *mut MallocZone {
    Box::into_raw(Box::new(zone(std::ptr::null())))
}

unsafe extern "C" fn malloc_set_zone_name(z: *mut MallocZone, name: *const c_char) {
    if !z.is_null() {
        (*z).zone_name = if name.is_null() {
            name
        } else {
            libc::strdup(name)
        };
    }
}

unsafe extern "C" fn malloc_get_zone_name(z: *mut MallocZone) -> *const c_char {
    if z.is_null() {
        std::ptr::null()
    } else {
        (*z).zone_name
    }
}

extern "C" fn malloc_zone_from_ptr(_: *const c_void) -> *mut MallocZone {
    &raw mut DEFAULT_ZONE
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        (
            "_malloc_default_zone",
            malloc_default_zone as *const () as usize,
        ),
        (
            "_malloc_create_zone",
            malloc_create_zone as *const () as usize,
        ),
        ("_malloc_destroy_zone", zone_destroy as *const () as usize),
        (
            "_malloc_set_zone_name",
            malloc_set_zone_name as *const () as usize,
        ),
        (
            "_malloc_get_zone_name",
            malloc_get_zone_name as *const () as usize,
        ),
        (
            "_malloc_zone_from_ptr",
            malloc_zone_from_ptr as *const () as usize,
        ),
        ("_malloc_zone_malloc", zone_malloc as *const () as usize),
        ("_malloc_zone_calloc", zone_calloc as *const () as usize),
        ("_malloc_zone_valloc", zone_valloc as *const () as usize),
        ("_malloc_zone_realloc", zone_realloc as *const () as usize),
        ("_malloc_zone_free", zone_free as *const () as usize),
        ("_malloc_zone_memalign", zone_memalign as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_layout_and_calls_through_the_struct() {
        // size is the third pointer, as SQLite's zone->size call expects.
        assert_eq!(std::mem::offset_of!(MallocZone, size), 16);
        assert_eq!(std::mem::offset_of!(MallocZone, zone_name), 72);
        assert_eq!(std::mem::offset_of!(MallocZone, version), 104);
        let z = malloc_default_zone();
        // SAFETY: the zone's functions are plain glibc heap calls.
        unsafe {
            let p = zone_malloc(z, 100);
            assert!(((*z).size)(z, p) >= 100);
            let p = zone_realloc(z, p, 1000);
            assert!(((*z).size)(z, p) >= 1000);
            libc::free(p);
            let named = malloc_create_zone(4096, 0);
            malloc_set_zone_name(named, c"Sqlite_Heap".as_ptr());
            assert_eq!(
                std::ffi::CStr::from_ptr(malloc_get_zone_name(named)),
                c"Sqlite_Heap"
            );
        }
    }
}
