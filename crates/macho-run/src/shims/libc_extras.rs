//! libSystem functions glibc lacks or names differently: BSD string and
//! memory helpers and math entry points clang emits for macOS. (The x86_64
//! stack probe for large frames is assembly, in [`crate::arch`].)

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

/// BSD `strlcpy`: copies with truncation, always NUL-terminates, returns
/// strlen(src). (glibc gained it only in 2.38.)
unsafe extern "C" fn strlcpy(dst: *mut c_char, src: *const c_char, size: usize) -> usize {
    let len = libc::strlen(src);
    if size > 0 {
        let n = len.min(size - 1);
        std::ptr::copy_nonoverlapping(src, dst, n);
        *dst.add(n) = 0;
    }
    len
}

/// BSD `strlcat`: appends with truncation, returns the length it tried to make.
unsafe extern "C" fn strlcat(dst: *mut c_char, src: *const c_char, size: usize) -> usize {
    let dlen = libc::strnlen(dst, size);
    if dlen == size {
        return size + libc::strlen(src);
    }
    dlen + strlcpy(dst.add(dlen), src, size - dlen)
}

/// BSD `reallocf`: like realloc, but frees the block when growing fails.
unsafe extern "C" fn reallocf(p: *mut c_void, size: usize) -> *mut c_void {
    let q = libc::realloc(p, size);
    if q.is_null() && size != 0 {
        libc::free(p);
    }
    q
}

unsafe extern "C" fn malloc_size(p: *const c_void) -> usize {
    libc::malloc_usable_size(p as *mut c_void)
}

/// `memset_pattern4/8/16`: fill `len` bytes by repeating an N-byte pattern.
unsafe fn fill_pattern(dst: *mut c_void, pattern: *const c_void, n: usize, len: usize) {
    let dst = dst as *mut u8;
    let pattern = std::slice::from_raw_parts(pattern as *const u8, n);
    for i in 0..len {
        *dst.add(i) = pattern[i % n];
    }
}

unsafe extern "C" fn memset_pattern4(dst: *mut c_void, pattern: *const c_void, len: usize) {
    fill_pattern(dst, pattern, 4, len)
}

unsafe extern "C" fn memset_pattern8(dst: *mut c_void, pattern: *const c_void, len: usize) {
    fill_pattern(dst, pattern, 8, len)
}

unsafe extern "C" fn memset_pattern16(dst: *mut c_void, pattern: *const c_void, len: usize) {
    fill_pattern(dst, pattern, 16, len)
}

#[repr(C)]
struct SinCos {
    sin: f64,
    cos: f64,
}

#[repr(C)]
struct SinCosF {
    sin: f32,
    cos: f32,
}

/// `__sincos_stret`: clang's macOS call for sin and cos of one argument,
/// returning both in xmm0/xmm1.
extern "C" fn sincos_stret(x: f64) -> SinCos {
    static SIN: AtomicUsize = AtomicUsize::new(0);
    static COS: AtomicUsize = AtomicUsize::new(0);
    // SAFETY: libm's sin and cos have this type; on plain values.
    unsafe {
        let sin: unsafe extern "C" fn(f64) -> f64 = std::mem::transmute(libm(&SIN, c"sin"));
        let cos: unsafe extern "C" fn(f64) -> f64 = std::mem::transmute(libm(&COS, c"cos"));
        SinCos {
            sin: sin(x),
            cos: cos(x),
        }
    }
}

extern "C" fn sincosf_stret(x: f32) -> SinCosF {
    static SIN: AtomicUsize = AtomicUsize::new(0);
    static COS: AtomicUsize = AtomicUsize::new(0);
    // SAFETY: libm's sinf and cosf have this type; on plain values.
    unsafe {
        let sin: unsafe extern "C" fn(f32) -> f32 = std::mem::transmute(libm(&SIN, c"sinf"));
        let cos: unsafe extern "C" fn(f32) -> f32 = std::mem::transmute(libm(&COS, c"cosf"));
        SinCosF {
            sin: sin(x),
            cos: cos(x),
        }
    }
}

/// The address of libm's function `name`, looked up at its first call and
/// kept in `slot`. Not a link-time reference: that would make every program
/// built with this crate load libm at its start (the `machlink` command
/// among them, which runs programs only for its demo and starts for every
/// relink), while libm is here for the Mach-O programs ([`super::Host`]
/// loads it before they run).
fn libm(slot: &AtomicUsize, name: &CStr) -> usize {
    let known = slot.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    // (Already loaded by the host: this only counts a reference.)
    let handle = super::load_libm();
    // SAFETY: dlsym of a NUL-terminated name in a library's handle.
    let found = unsafe { libc::dlsym(handle, name.as_ptr()) } as usize;
    if found == 0 {
        eprintln!("macho-run: libm has no {}", name.to_string_lossy());
        std::process::abort();
    }
    slot.store(found, Ordering::Relaxed);
    found
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_strlcpy", strlcpy as *const () as usize),
        ("_strlcat", strlcat as *const () as usize),
        ("_reallocf", reallocf as *const () as usize),
        ("_malloc_size", malloc_size as *const () as usize),
        ("_memset_pattern4", memset_pattern4 as *const () as usize),
        ("_memset_pattern8", memset_pattern8 as *const () as usize),
        ("_memset_pattern16", memset_pattern16 as *const () as usize),
        ("___sincos_stret", sincos_stret as *const () as usize),
        ("___sincosf_stret", sincosf_stret as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sincos_finds_libm_at_its_first_call() {
        for x in [0.0, 0.5, -2.0, 10.0] {
            let r = sincos_stret(x);
            assert_eq!((r.sin, r.cos), (x.sin(), x.cos()));
            let r = sincosf_stret(x as f32);
            assert_eq!((r.sin, r.cos), ((x as f32).sin(), (x as f32).cos()));
        }
    }
}
