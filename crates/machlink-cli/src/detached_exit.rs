//! The end of a one-shot link without waiting for the kernel to clean up.
//!
//! A link leaves its memory, its input mappings and the replaced output to
//! the process's exit (see `machlink::teardown`). That exit is still tens
//! of milliseconds of kernel work: unmapping 200 MB, freeing the old
//! output's blocks. On Linux a helper process that shares this process's
//! memory (`clone` with `CLONE_VM`) and holds copies of the descriptors
//! that matter takes the work over: this process's exit then only drops
//! references, and the helper, which waits for that exit, does the
//! freeing after the caller has its exit status. Everything the link
//! promised is done before: the output is in place, the state written, the
//! lock released, the statistics printed.
//!
//! The helper closes every other descriptor first, the standard ones
//! above all, so a caller reading the linker's output through a pipe sees
//! its end at this process's exit, not the helper's.

/// Hands the exit's cleanup to a helper process when the link left any
/// worth it (does nothing where that is not possible; the exit then does
/// it).
pub fn detach() {
    if machlink::teardown::anything_left() {
        #[cfg(target_os = "linux")]
        {
            let held = machlink::teardown::held();
            if !held.is_empty() || linux::peak_rss_kib() >= WORTH_A_HELPER_KIB {
                linux::spawn_helper(held);
            }
        }
    }
}

/// The peak resident size from which the exit's freeing costs more than
/// starting the helper (a process, a pipe, a stack). An incremental run
/// that finds nothing changed or updates an object in place peaks at
/// 17 MiB, and its exit was 0.05 ms sooner without the helper (the helper
/// only pays off for a full link's 130-200 MiB). Files held open, whose
/// closing frees a replaced output's blocks, always get the helper.
#[cfg(target_os = "linux")]
const WORTH_A_HELPER_KIB: i64 = 64 << 10;

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::{c_int, c_void};

    /// The process's peak resident size so far, in KiB (0 if unknown).
    pub fn peak_rss_kib() -> i64 {
        // SAFETY: getrusage fills the struct it is given.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
                return 0;
            }
            usage.ru_maxrss
        }
    }

    /// What the helper needs, in memory it shares with this process and
    /// that nothing frees before the helper ends.
    struct Plan {
        /// Read end of a pipe whose write end only this process holds.
        wait_on: c_int,
        /// Sorted descriptors to keep: `wait_on` and the held files.
        keep: Vec<c_int>,
    }

    /// Bytes of the helper's stack: it calls a few system calls.
    const STACK: usize = 64 << 10;

    pub fn spawn_helper(held: Vec<c_int>) {
        if under_valgrind() {
            return;
        }
        let mut pipe = [0 as c_int; 2];
        // SAFETY: plain system calls on memory and descriptors we own.
        unsafe {
            if libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return;
            }
            let stack = libc::mmap(
                std::ptr::null_mut(),
                STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if stack == libc::MAP_FAILED {
                libc::close(pipe[0]);
                libc::close(pipe[1]);
                return;
            }
            let mut keep = held;
            keep.push(pipe[0]);
            keep.sort_unstable();
            // Leaked on purpose: the helper reads it after this process
            // is gone (the memory lives as long as the helper).
            let plan = Box::into_raw(Box::new(Plan {
                wait_on: pipe[0],
                keep,
            }));
            let top = stack.cast::<u8>().add(STACK).cast::<c_void>();
            let pid = libc::clone(
                helper,
                top,
                libc::CLONE_VM | libc::SIGCHLD,
                plan.cast::<c_void>(),
            );
            // This process keeps only the write end: its exit is the
            // helper's signal. (Without a helper the exit does the work.)
            libc::close(pipe[0]);
            if pid < 0 {
                libc::close(pipe[1]);
            }
        }
    }

    /// Whether the process runs under Valgrind, which ends the program on
    /// a `clone` it does not emulate (`CLONE_VM` without `CLONE_THREAD`)
    /// instead of failing the call; its preloaded library gives it away.
    fn under_valgrind() -> bool {
        std::env::var_os("LD_PRELOAD").is_some_and(|p| p.to_string_lossy().contains("/vgpreload_"))
    }

    /// The helper: closes what it must not hold, waits for this process
    /// to end, then ends itself, and its exit frees the shared memory and
    /// the held files. Only system calls: it runs on a bare stack, beside
    /// this process's threads.
    extern "C" fn helper(arg: *mut c_void) -> c_int {
        // SAFETY: `arg` is the leaked `Plan`; nothing else writes it.
        let plan = unsafe { &*arg.cast::<Plan>() };
        close_all_but(&plan.keep);
        let mut byte = 0u8;
        loop {
            // SAFETY: reading one byte into a local.
            let n = unsafe { libc::read(plan.wait_on, (&raw mut byte).cast::<c_void>(), 1) };
            // EOF (the write end closed with this process) or an error
            // other than an interruption: either way, stop waiting.
            if n >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        // SAFETY: ends this helper process only (it is no thread of ours).
        unsafe { libc::_exit(0) }
    }

    /// Closes every descriptor not in `keep` (sorted).
    fn close_all_but(keep: &[c_int]) {
        let mut from: c_int = 0;
        for &k in keep.iter().chain(std::iter::once(&c_int::MAX)) {
            if k > from {
                close_range(from, k - 1);
            }
            from = k.saturating_add(1);
        }
    }

    /// Closes descriptors `lo..=hi`: one system call where the kernel has
    /// it (5.9 on), else one by one up to the descriptor limit.
    fn close_range(lo: c_int, hi: c_int) {
        // SAFETY: closing descriptors in this helper's own table (a copy).
        unsafe {
            if libc::syscall(libc::SYS_close_range, lo as u32, hi as u32, 0u32) == 0 {
                return;
            }
            let limit = c_int::try_from(libc::sysconf(libc::_SC_OPEN_MAX)).unwrap_or(1024);
            for fd in lo..=hi.min(limit.saturating_sub(1)) {
                libc::close(fd);
            }
        }
    }
}
