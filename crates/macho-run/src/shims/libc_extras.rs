//! libSystem functions glibc lacks or names differently: BSD string and
//! memory helpers and math entry points clang emits for macOS. (The x86_64
//! stack probe for large frames is assembly, in [`crate::arch`].)

use std::ffi::{c_char, c_void};

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
    SinCos {
        // SAFETY: libm functions on plain values.
        sin: unsafe { libc_sin(x) },
        cos: unsafe { libc_cos(x) },
    }
}

extern "C" fn sincosf_stret(x: f32) -> SinCosF {
    SinCosF {
        // SAFETY: libm functions on plain values.
        sin: unsafe { libc_sinf(x) },
        cos: unsafe { libc_cosf(x) },
    }
}

extern "C" {
    #[link_name = "sin"]
    fn libc_sin(x: f64) -> f64;
    #[link_name = "cos"]
    fn libc_cos(x: f64) -> f64;
    #[link_name = "sinf"]
    fn libc_sinf(x: f32) -> f32;
    #[link_name = "cosf"]
    fn libc_cosf(x: f32) -> f32;
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
