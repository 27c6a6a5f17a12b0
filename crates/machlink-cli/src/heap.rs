//! The process's heap: glibc's allocator, set up for a link.
//!
//! A link allocates its tables in a burst (about 120 MiB for 100k
//! functions) and frees them at the end, and most of its cost in the
//! kernel is first touches of that memory: in 4 KiB pages, 29,000 page
//! faults, each a trap into a virtual machine's kernel. So:
//! - freed memory stays in the heap for reuse: by default glibc returns
//!   large blocks to the kernel as soon as they are freed (each one its
//!   own mapping) and trims the heap's top, so a link's passes fault the
//!   same memory in again and again. Blocks up to 32 MiB come from the
//!   heap, which is never trimmed and grows 64 MiB at a time (43,000 page
//!   faults down to 33,000);
//! - two arenas: glibc gives threads their own arenas, separate mappings
//!   that grow page by page; few of them let most growth be advised at
//!   once, and fragment less (peak RSS 213 -> 200 MiB with one). But one
//!   alone is a lock that parallel work allocating small blocks takes
//!   turns on: reading libSystem's stub on two threads (the YAML scanner
//!   allocates a few strings per symbol) took 15 ms instead of 8 for a
//!   1k-function link, more than reading it on one. A second arena costs
//!   the 100k-function link 7,400 page faults and 9 MiB of peak RSS;
//! - every growth of the heap is advised to use transparent huge pages
//!   (`MADV_HUGEPAGE`; the system's default here is "only where
//!   advised"), as glibc's own `glibc.malloc.hugetlb=1` tunable would do
//!   if the environment set it: 29,000 page faults down to 4,000.
//!
//! Elsewhere the system allocator is used as it is.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use linux::{setup, Heap};

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub use std::alloc::System as Heap;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn setup() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod linux {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The system allocator, with each growth of the heap advised to use
    /// huge pages (see the module's comment).
    pub struct Heap;

    /// End of the heap range advised so far (0 before [`setup`]: nothing
    /// is advised until the allocator is configured).
    static ADVISED: AtomicUsize = AtomicUsize::new(0);

    /// Configures glibc's allocator; runs first, before any thread exists.
    pub fn setup() {
        // SAFETY: mallopt only adjusts the allocator's parameters, and
        // sbrk(0) only reads the current end of the heap.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            libc::mallopt(libc::M_TOP_PAD, 64 << 20);
            libc::mallopt(libc::M_ARENA_MAX, 2);
            ADVISED.store(libc::sbrk(0) as usize, Ordering::Relaxed);
        }
    }

    /// Advises what the heap grew by since the last call. Cheap when it
    /// did not grow: `sbrk(0)` reads a variable.
    #[inline]
    fn after_allocation() {
        let advised = ADVISED.load(Ordering::Relaxed);
        if advised == 0 {
            return;
        }
        // SAFETY: sbrk(0) only reads the current end of the heap.
        let end = unsafe { libc::sbrk(0) } as usize;
        if end > advised {
            advise(advised, end);
        }
    }

    #[cold]
    fn advise(from: usize, to: usize) {
        let page = 4096;
        let start = from & !(page - 1);
        // SAFETY: advice on pages of our own heap; it changes no contents.
        // A failure only leaves the pages small.
        unsafe {
            libc::madvise(start as *mut libc::c_void, to - start, libc::MADV_HUGEPAGE);
        }
        ADVISED.fetch_max(to, Ordering::Relaxed);
    }

    // SAFETY: every call is the system allocator's; the advice changes no
    // memory contents.
    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc(layout) };
            after_allocation();
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc_zeroed(layout) };
            after_allocation();
            p
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            after_allocation();
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}
