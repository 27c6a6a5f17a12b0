//! Lazy binding the way dyld does it, for testing linkers' stub helpers.
//!
//! macho-run binds lazy pointers at load time. With `MACHO_RUN_LAZY=1` it
//! leaves them pointing at the stub helper instead, and the first call
//! through each stub reaches `macho_run_stub_binder` (assembly in
//! [`crate::arch`]) with the offset of its lazy bind record on the stack: it looks the record up, stores the
//! bound address in the lazy pointer and jumps there, preserving every
//! argument register, exactly as dyld_stub_binder must.

use std::collections::HashMap;
use std::sync::Mutex;

/// Set in the environment, defers lazy binds to the first call.
pub const LAZY_ENV: &str = "MACHO_RUN_LAZY";

/// Lazy bind record offset → (runtime address of the lazy pointer, value).
pub type Records = HashMap<u32, (u64, u64)>;

/// Per image: its runtime address range and its lazy bind records. The
/// stub helper pushes the address of the image's own `__dyld_private`,
/// which tells which image's records an offset refers to.
static RECORDS: Mutex<Vec<((u64, u64), Records)>> = Mutex::new(Vec::new());

/// Registers the lazy binds of the image mapped at `range` to resolve on
/// first call.
pub fn defer(range: (u64, u64), records: Records) {
    RECORDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((range, records));
}

/// Binds the lazy pointer of record `offset` of the image holding
/// `dyld_private` and returns its target.
pub(crate) extern "C" fn resolve(offset: u64, dyld_private: u64) -> u64 {
    let guard = RECORDS.lock().unwrap_or_else(|e| e.into_inner());
    // The image whose range holds its __dyld_private; with a single image,
    // that one whatever the stub helper pushed.
    let records = guard
        .iter()
        .find(|((lo, hi), _)| (*lo..*hi).contains(&dyld_private))
        .or_else(|| guard.first().filter(|_| guard.len() == 1))
        .map(|(_, r)| r);
    let Some(&(slot, value)) = records.and_then(|m| m.get(&(offset as u32))) else {
        eprintln!(
            "macho-run: dyld_stub_binder: no lazy bind record at offset {offset:#x} \
             (image data {dyld_private:#x})"
        );
        // SAFETY: ending the process.
        unsafe { libc::_exit(crate::error::EXIT_UNBOUND) }
    };
    // SAFETY: the slot is a lazy pointer of the mapped image, in a
    // writable segment (__DATA).
    unsafe { (slot as *mut u64).write_unaligned(value) };
    value
}
