//! Leaving a finished link's memory and files to the process's exit.
//!
//! Once the output is in place, what remains of a one-shot link is
//! freeing: hundreds of input mappings to unmap, tables to free, and the
//! replaced output's blocks and pages to release (the `rename` over a
//! 29 MB output spent 26 ms in the kernel freeing the old file). A
//! command-line process that ends right after the link lets the exit do
//! all of it at once ([`discard`] forgets instead of dropping), and the
//! command line can hand that exit to a detached process so the caller
//! does not wait for it (mold does the same with a forked helper).
//! A library user (the Rust API, the resident server) never opts in, and
//! everything is dropped as usual.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Whether the process ends after this link (see [`leave_to_exit`]).
static ENDING: AtomicBool = AtomicBool::new(false);
/// Whether anything was left to the exit.
static LEFT: AtomicBool = AtomicBool::new(false);
/// Descriptors of files held open for the exit to close ([`hold`]).
static HELD: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Declares that the process exits after the link it runs: from now on
/// [`discard`] leaves values to the exit instead of freeing them.
pub fn leave_to_exit() {
    ENDING.store(true, Ordering::Relaxed);
}

/// Whether the process declared it ends after this link.
pub fn process_ends() -> bool {
    ENDING.load(Ordering::Relaxed)
}

/// Drops `value`, or leaves it to the process's exit when the process
/// declared it ends after this link.
pub fn discard<T>(value: T) {
    if process_ends() {
        LEFT.store(true, Ordering::Relaxed);
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// Whether anything was left to the exit by [`discard`].
pub fn anything_left() -> bool {
    LEFT.load(Ordering::Relaxed)
}

/// Keeps `file` open until the process's exit, whose closing of it is
/// the expensive part (the last reference to a replaced output frees its
/// blocks). Dropped at once unless the process ends after this link.
pub fn hold(file: std::fs::File) {
    use std::os::fd::IntoRawFd;
    if !process_ends() {
        return;
    }
    LEFT.store(true, Ordering::Relaxed);
    let fd = file.into_raw_fd();
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push(fd);
}

/// The descriptors [`hold`] keeps open, for a process that takes over
/// the exit: it must keep them and may close every other one.
pub fn held() -> Vec<i32> {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
