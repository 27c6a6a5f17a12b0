//! setjmp/longjmp with macOS's jmp_buf size.
//!
//! The entry points are assembly in [`crate::arch`] (each architecture
//! saves its own callee-saved registers, in a layout that fits macOS's
//! `jmp_buf`); this module has the parts they call in Rust.
//!
//! `setjmp` saves the signal mask (BSD semantics), `_setjmp` does not,
//! `sigsetjmp` when its second argument is non-zero. Every longjmp variant
//! restores the mask exactly when it was saved.

use crate::arch::{
    macho_run_longjmp, macho_run_setjmp, macho_run_sigsetjmp, macho_run_underscore_setjmp,
};

/// Stores the current signal mask (first 64 signals) at `slot`, the
/// mask's place in the program's jmp_buf.
pub(crate) extern "C" fn save_mask(slot: *mut u8) {
    // SAFETY: a zeroed sigset_t is valid; slot is 8 bytes inside the
    // program's jmp_buf.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        let first = std::ptr::read_unaligned(&set as *const _ as *const u64);
        std::ptr::write_unaligned(slot as *mut u64, first);
    }
}

/// Restores the signal mask saved by [`save_mask`].
pub(crate) extern "C" fn restore_mask(slot: *const u8) {
    // SAFETY: as in save_mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let first = std::ptr::read_unaligned(slot as *const u64);
        std::ptr::write_unaligned(&mut set as *mut _ as *mut u64, first);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// (macOS symbol, shim) pairs for the setjmp family.
pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_setjmp", macho_run_setjmp as *const () as usize),
        (
            "__setjmp",
            macho_run_underscore_setjmp as *const () as usize,
        ),
        ("_sigsetjmp", macho_run_sigsetjmp as *const () as usize),
        ("_longjmp", macho_run_longjmp as *const () as usize),
        ("__longjmp", macho_run_longjmp as *const () as usize),
        ("_siglongjmp", macho_run_longjmp as *const () as usize),
    ]
}
