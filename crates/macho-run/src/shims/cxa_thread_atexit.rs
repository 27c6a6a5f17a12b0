//! `__cxa_thread_atexit`: the Itanium C++ ABI's way to register a
//! thread-local object's destructor. clang for macOS calls `_tlv_atexit`
//! instead, but libSystem exports this too (libc++abi's, which forwards to
//! `_tlv_atexit`), and code written against the ABI calls it directly. It
//! joins the same per-thread list, so the two kinds of registration run
//! newest first together, as on macOS.

use super::darwin_rt::{tlv_atexit, TlvDtor};
use std::ffi::{c_int, c_void};

/// `dso` names the image that registered: macOS ignores it (images with
/// thread-local destructors are never unloaded), and so does this.
unsafe extern "C" fn cxa_thread_atexit(
    dtor: TlvDtor,
    obj: *mut c_void,
    _dso: *mut c_void,
) -> c_int {
    tlv_atexit(dtor, obj);
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![(
        "___cxa_thread_atexit",
        cxa_thread_atexit as *const () as usize,
    )]
}
