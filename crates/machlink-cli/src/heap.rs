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
//!   if the environment set it: 29,000 page faults down to 4,000. Both
//!   arenas: the second one (the parallel parse's allocations, some
//!   28 MiB) is a mapping of its own, advised whole when first seen; and
//!   the main heap's top, which `malloc_trim` gives back once the image
//!   is written, is advised again as it grows back (about 15,000 page
//!   faults down to 5,500 for the 100k-function link, for 3 MiB more
//!   peak RSS).
//! - the first small blocks (up to 256 KiB of them) are cut from a bump
//!   arena in the program's zero-filled data and never reused: a run that
//!   finds nothing changed allocates 1,600 blocks, 105 KiB in all, and
//!   glibc spent a third of the run's instructions on them (150 per
//!   `malloc`, 100 per `free`: fresh memory goes through `_int_malloc`'s
//!   bins and the top chunk). Larger runs soon go on to glibc.
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

    /// The main heap's end when last seen (0 before [`setup`]: nothing is
    /// advised until the allocator is configured).
    static ADVISED: AtomicUsize = AtomicUsize::new(0);
    /// Where the main heap starts.
    static HEAP_START: AtomicUsize = AtomicUsize::new(0);

    /// glibc's other arenas keep their memory in heaps of this size, each
    /// a mapping aligned to it (`HEAP_MAX_SIZE` on 64-bit targets).
    const ARENA_HEAP: usize = 64 << 20;
    /// Allocations from this size up get mappings of their own (see
    /// `M_MMAP_THRESHOLD` in [`setup`]).
    const MMAP_THRESHOLD: usize = 32 << 20;
    /// The other arenas' heaps advised so far (0: a free slot). Two arenas
    /// use one or two heaps; more than fit here are left as they are.
    static ARENA_HEAPS: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

    /// Configures glibc's allocator; runs first, before any thread exists.
    pub fn setup() {
        // SAFETY: mallopt only adjusts the allocator's parameters, and
        // sbrk(0) only reads the current end of the heap.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as i32);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            libc::mallopt(libc::M_TOP_PAD, 64 << 20);
            libc::mallopt(libc::M_ARENA_MAX, 2);
            let start = libc::sbrk(0) as usize;
            HEAP_START.store(start, Ordering::Relaxed);
            ADVISED.store(start, Ordering::Relaxed);
        }
    }

    /// Advises what the heap grew by since the last call, and the heap of
    /// another arena the first time one of its blocks is handed out.
    /// Cheap otherwise: `sbrk(0)` reads a variable.
    #[inline]
    fn after_allocation(p: *mut u8, size: usize) {
        let seen = ADVISED.load(Ordering::Relaxed);
        if seen == 0 {
            return;
        }
        // SAFETY: sbrk(0) only reads the current end of the heap.
        let end = unsafe { libc::sbrk(0) } as usize;
        if end != seen {
            main_heap_moved(end);
        }
        // A block outside the main heap, too small for a mapping of its
        // own, is in another arena's heap. (Should glibc fall back to a
        // mapping for it, advice on the memory around it only changes
        // which page size that takes.)
        let p = p as usize;
        let outside = p < HEAP_START.load(Ordering::Relaxed) || p >= end;
        if p != 0 && outside && size < MMAP_THRESHOLD {
            arena_heap(p & !(ARENA_HEAP - 1));
        }
    }

    /// The main heap's end moved: when it grew, the whole heap is advised
    /// again, not just from the last end seen, since `malloc_trim` may have
    /// cut it shorter in between (a new stretch of the heap is a new
    /// mapping, without the advice the old one had).
    #[cold]
    fn main_heap_moved(end: usize) {
        let seen = ADVISED.swap(end, Ordering::Relaxed);
        let start = HEAP_START.load(Ordering::Relaxed);
        if end > seen {
            advise(start, end - start);
        }
    }

    /// Advises another arena's heap, once: glibc maps each whole, aligned
    /// to its size, and extends it within that mapping.
    #[inline]
    fn arena_heap(base: usize) {
        for slot in &ARENA_HEAPS {
            match slot.load(Ordering::Relaxed) {
                b if b == base => return,
                0 => {
                    if slot
                        .compare_exchange(0, base, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                    {
                        advise(base, ARENA_HEAP);
                        return;
                    }
                    if slot.load(Ordering::Relaxed) == base {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    #[cold]
    fn advise(from: usize, len: usize) {
        let page = 4096;
        let start = from & !(page - 1);
        // SAFETY: advice on pages of our own heap; it changes no contents.
        // A failure (part of the range not mapped) only leaves pages small.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                from + len - start,
                libc::MADV_HUGEPAGE,
            );
        }
    }

    /// The bump arena of the first small blocks (see the module's comment).
    mod arena {
        use std::alloc::Layout;
        use std::cell::UnsafeCell;
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// Bytes of the arena: what a short run allocates, with room.
        const SIZE: usize = 256 << 10;
        /// Larger blocks go to glibc: a few would fill the arena.
        const LARGEST: usize = 8 << 10;

        #[repr(C, align(4096))]
        struct Space(UnsafeCell<[u8; SIZE]>);

        // SAFETY: disjoint ranges of the space are handed out, once each
        // (see `alloc`); the space itself is never read or written here.
        unsafe impl Sync for Space {}

        /// In the zero-filled data: its pages cost nothing until touched.
        static SPACE: Space = Space(UnsafeCell::new([0; SIZE]));
        /// Bytes of the space handed out (or skipped to align a block).
        static USED: AtomicUsize = AtomicUsize::new(0);

        fn base() -> usize {
            SPACE.0.get() as usize
        }

        /// A block for `layout` from the arena, never handed out before
        /// (so still zero); null when it is too large or does not fit.
        #[inline]
        pub fn alloc(layout: Layout) -> *mut u8 {
            if layout.size() > LARGEST {
                return std::ptr::null_mut();
            }
            let base = base();
            let mut used = USED.load(Ordering::Relaxed);
            loop {
                let start = (base + used).next_multiple_of(layout.align()) - base;
                let end = start + layout.size();
                if end > SIZE {
                    return std::ptr::null_mut();
                }
                // Relaxed: the counter only splits the space; what is
                // written into a block reaches other threads through the
                // program's own synchronisation.
                match USED.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return (base + start) as *mut u8,
                    Err(now) => used = now,
                }
            }
        }

        /// Whether `p` is one of the arena's blocks.
        #[inline]
        pub fn contains(p: *mut u8) -> bool {
            (p as usize).wrapping_sub(base()) < SIZE
        }

        /// Grows the arena's last block `p` (of `old` bytes) to `new` bytes
        /// where it lies, if it is the last one and the arena has the room:
        /// a vector filled by pushes grows so. False otherwise.
        pub fn grow_last(p: *mut u8, old: usize, new: usize) -> bool {
            let start = p as usize - base();
            let end = start + new;
            new <= LARGEST
                && end <= SIZE
                && USED
                    .compare_exchange(start + old, end, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
        }
    }

    /// A block of the system allocator, advised (see [`after_allocation`]).
    ///
    /// # Safety
    /// As [`GlobalAlloc::alloc`]: `layout` has a non-zero size.
    unsafe fn system_alloc(layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        after_allocation(p, layout.size());
        p
    }

    // SAFETY: blocks are the arena's (disjoint, never handed out twice,
    // aligned and sized as asked) or the system allocator's; each is freed
    // or resized by the allocator it came from; the advice changes no
    // memory contents.
    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = arena::alloc(layout);
            if !p.is_null() {
                return p;
            }
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { system_alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // The arena's blocks are fresh zero-filled memory.
            let p = arena::alloc(layout);
            if !p.is_null() {
                return p;
            }
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc_zeroed(layout) };
            after_allocation(p, layout.size());
            p
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !arena::contains(ptr) {
                // SAFETY: forwarded with the caller's guarantees.
                let p = unsafe { System.realloc(ptr, layout, new_size) };
                after_allocation(p, new_size);
                return p;
            }
            if new_size <= layout.size() || arena::grow_last(ptr, layout.size(), new_size) {
                return ptr;
            }
            // SAFETY: the caller guarantees `new_size`, rounded up to the
            // alignment, does not overflow.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a new block (of non-zero size: it is larger than the
            // old one), distinct from `ptr`, which stays valid for its
            // `layout.size()` bytes; the arena's old block is not reused.
            unsafe {
                let p = self.alloc(new_layout);
                if !p.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, p, layout.size());
                }
                p
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if arena::contains(ptr) {
                return;
            }
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}
