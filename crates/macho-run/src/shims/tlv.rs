//! Thread-local variables, the way dyld provides them.
//!
//! The compiler reaches a `_Thread_local` through a descriptor in
//! `__thread_vars`: `{ thunk, key, offset }`. Code calls `thunk(desc)` and
//! gets the variable's address back. That call must preserve almost every
//! register (Darwin's TLS calling convention), so the thunk is assembly in
//! [`crate::arch`] that saves what a C call may clobber and calls
//! [`tlv_lookup`]. Each thread's block is allocated on first use, filled
//! from the image's template (`__thread_data` bytes, `__thread_bss` zeros)
//! and freed by the pthread key's destructor when the thread exits.

use crate::arch::macho_run_tlv_get_addr;
use crate::loader::Mapped;
use crate::macho::Image;
use object::macho;

/// A `__thread_vars` entry, as laid out in the image.
#[repr(C)]
pub(crate) struct Descriptor {
    thunk: usize,
    key: usize,
    offset: usize,
}

/// The per-thread initial image of all thread-locals of one image. Each
/// image has its own, leaked; its descriptors' `key` field points at it.
struct Template {
    /// Runtime address of the first thread-local section.
    start: usize,
    size: usize,
    align: usize,
    key: libc::pthread_key_t,
}

extern "C" fn free_block(block: *mut libc::c_void) {
    // SAFETY: blocks come from posix_memalign in tlv_lookup.
    unsafe { libc::free(block) }
}

/// Returns this thread's address of the variable `desc` describes.
pub(crate) extern "C" fn tlv_lookup(desc: *const Descriptor) -> *mut u8 {
    // SAFETY: desc points at a descriptor in the mapped image, whose key
    // setup() set to a leaked Template; the block is allocated with the
    // template's size and alignment and filled from it.
    unsafe {
        let t = &*((*desc).key as *const Template);
        let mut block = libc::pthread_getspecific(t.key) as *mut u8;
        if block.is_null() {
            let mut p: *mut libc::c_void = std::ptr::null_mut();
            if libc::posix_memalign(&mut p, t.align, t.size.max(1)) != 0 {
                eprintln!("macho-run: out of memory for thread-local storage");
                libc::abort();
            }
            block = p as *mut u8;
            std::ptr::copy_nonoverlapping(t.start as *const u8, block, t.size);
            libc::pthread_setspecific(t.key, block as *const libc::c_void);
        }
        block.add((*desc).offset)
    }
}

/// Called if a descriptor's thunk was never replaced: a loader bug, not a
/// program bug, so say so loudly.
extern "C" fn tlv_bootstrap() {
    eprintln!("macho-run: __tlv_bootstrap called: thread-local descriptor was not initialised");
    // SAFETY: abort is always safe to call.
    unsafe { libc::abort() }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![("__tlv_bootstrap", tlv_bootstrap as *const () as usize)]
}

/// Builds the template from the thread-local sections and points every
/// descriptor's thunk at our getter. Must run after fixups (the template is
/// copied from fixed-up memory, so pointers in `__thread_data` are slid)
/// and before protections are final.
pub fn setup(image: &Image, mapped: &Mapped) {
    let is_tls_data = |k| k == macho::S_THREAD_LOCAL_REGULAR || k == macho::S_THREAD_LOCAL_ZEROFILL;
    let data: Vec<_> = image.sections().filter(|s| is_tls_data(s.kind())).collect();
    let descriptors: Vec<_> = image
        .sections()
        .filter(|s| s.kind() == macho::S_THREAD_LOCAL_VARIABLES)
        .collect();
    if descriptors.is_empty() {
        return;
    }
    let start = data.iter().map(|s| s.addr).min().unwrap_or(0);
    let end = data.iter().map(|s| s.addr + s.size).max().unwrap_or(start);
    let align = data
        .iter()
        .map(|s| 1usize << s.align.min(12))
        .max()
        .unwrap_or(1)
        .max(std::mem::size_of::<usize>());
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: key is a valid out-pointer; the destructor frees blocks.
    unsafe { libc::pthread_key_create(&mut key, Some(free_block)) };
    let template: &'static Template = Box::leak(Box::new(Template {
        start: mapped.addr(start) as usize,
        size: (end - start) as usize,
        align,
        key,
    }));
    for section in descriptors {
        let count = section.size / std::mem::size_of::<Descriptor>() as u64;
        for i in 0..count {
            let d = mapped.addr(section.addr) as *mut Descriptor;
            // SAFETY: the section lies in a mapped, still-writable segment.
            unsafe {
                let d = d.add(i as usize);
                (*d).thunk = macho_run_tlv_get_addr as *const () as usize;
                (*d).key = template as *const Template as usize;
            }
        }
    }
}
