//! The program's streams: macOS `FILE` objects in a pool, each backed by a
//! glibc stream, the standard three first (`__sF`, as on macOS), and the
//! session every stdio shim opens on a stream (lock, sync, then load and
//! unlock).

use super::file::{self, MacFile};
use std::ffi::{c_int, c_void};
use std::sync::{Mutex, Once};

extern "C" {
    #[link_name = "stdin"]
    static mut HOST_STDIN: *mut libc::FILE;
    #[link_name = "stdout"]
    static mut HOST_STDOUT: *mut libc::FILE;
    #[link_name = "stderr"]
    static mut HOST_STDERR: *mut libc::FILE;
    fn flockfile(f: *mut libc::FILE);
    fn funlockfile(f: *mut libc::FILE);
    fn fflush(f: *mut libc::FILE) -> c_int;
    fn __cxa_atexit(f: extern "C" fn(*mut c_void), arg: *mut c_void, dso: *mut c_void) -> c_int;
}

/// `__sF`: stdin, stdout and stderr, contiguous as old macOS binaries
/// index them (`&__sF[1]` is stdout).
pub static mut SF: [MacFile; 3] = [MacFile::FREE, MacFile::FREE, MacFile::FREE];

/// `__stdinp`, `__stdoutp`, `__stderrp`: what `stdin`, `stdout` and
/// `stderr` expand to on macOS. Programs may assign them.
pub static mut STDINP: *mut MacFile = std::ptr::null_mut();
pub static mut STDOUTP: *mut MacFile = std::ptr::null_mut();
pub static mut STDERRP: *mut MacFile = std::ptr::null_mut();

/// `__sF[i]`: the FILE over glibc's stdin (0), stdout (1) or stderr (2),
/// whatever the program assigned to `__stdoutp` and the others since.
pub fn standard(i: usize) -> *mut MacFile {
    assert!(i < 3);
    // SAFETY: in bounds; only the address is taken.
    unsafe { (&raw mut SF as *mut MacFile).add(i) }
}

/// Every FILE ever handed out, in allocation order; closed ones (null
/// host) are reused, the standard three first, as macOS's `__sfp` does.
/// Slots are never freed, so a pointer from this list stays valid.
struct Pool(Vec<*mut MacFile>);
// SAFETY: the pointers are to leaked or static FILEs, shared on purpose.
unsafe impl Send for Pool {}

static POOL: Mutex<Pool> = Mutex::new(Pool(Vec::new()));

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets up the standard streams over glibc's, once per process, and the
/// exit handler that hands inline writes to glibc before it flushes.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: runs once, before the program; the statics are only
        // handed out by address.
        unsafe {
            let sf = &raw mut SF as *mut MacFile;
            let hosts = [HOST_STDIN, HOST_STDOUT, HOST_STDERR];
            let mut p = pool();
            for (i, h) in hosts.into_iter().enumerate() {
                let m = sf.add(i);
                (*m).cookie = h as *mut c_void;
                file::load(m, h);
                p.0.push(m);
            }
            STDINP = sf;
            STDOUTP = sf.add(1);
            STDERRP = sf.add(2);
            __cxa_atexit(sync_all_at_exit, std::ptr::null_mut(), std::ptr::null_mut());
        }
    });
}

/// The open streams now.
pub fn open_streams() -> Vec<*mut MacFile> {
    pool()
        .0
        .iter()
        .copied()
        // SAFETY: pool slots are never freed.
        .filter(|&m| unsafe { !(*m).host().is_null() })
        .collect()
}

/// Runs (through `exit`, before glibc's own cleanup flushes every stream):
/// bytes the program wrote inline are given to glibc. Like glibc's exit
/// flush, it takes no locks: another thread may hold one forever.
extern "C" fn sync_all_at_exit(_: *mut c_void) {
    for m in open_streams() {
        // SAFETY: an open stream of the pool.
        unsafe { file::sync(m, (*m).host()) };
    }
}

/// A macOS FILE for a new glibc stream (null for null, errno kept).
///
/// # Safety
/// `h` is null or a glibc stream nobody else wraps.
pub unsafe fn adopt(h: *mut libc::FILE) -> *mut MacFile {
    if h.is_null() {
        return std::ptr::null_mut();
    }
    let mut p = pool();
    let m = match p.0.iter().copied().find(|&m| (*m).host().is_null()) {
        Some(m) => m,
        None => {
            let m = Box::into_raw(Box::new(MacFile::FREE));
            p.0.push(m);
            m
        }
    };
    m.write(MacFile::FREE);
    (*m).cookie = h as *mut c_void;
    file::load(m, h);
    m
}

/// Marks `m` closed (its glibc stream is about to go) and returns the
/// `fgetln` buffer for the caller to free after the close.
///
/// # Safety
/// `m` is a FILE of the pool.
pub unsafe fn release(m: *mut MacFile) -> *mut u8 {
    let _p = pool();
    let lb = (*m).lb.base;
    m.write(MacFile::FREE);
    lb
}

/// An open stream, locked and synced for a glibc call; dropping it loads
/// the result back into the macOS fields and unlocks.
pub struct Session {
    m: *mut MacFile,
    h: *mut libc::FILE,
}

impl Session {
    /// None (errno EBADF) for a null or closed FILE.
    ///
    /// # Safety
    /// `m` is null or a FILE this module handed out.
    pub unsafe fn open(m: *mut MacFile) -> Option<Session> {
        let h = if m.is_null() {
            std::ptr::null_mut()
        } else {
            (*m).host()
        };
        if h.is_null() {
            *libc::__errno_location() = libc::EBADF;
            return None;
        }
        flockfile(h);
        file::sync(m, h);
        Some(Session { m, h })
    }

    pub fn host(&self) -> *mut libc::FILE {
        self.h
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: the stream is open and locked by this session.
        unsafe {
            file::load(self.m, self.h);
            funlockfile(self.h);
        }
    }
}

/// Runs a glibc call on the stream behind `m`, or returns `closed`.
///
/// # Safety
/// `m` is null or a FILE this module handed out; `f` is a glibc call on it.
pub unsafe fn with<R>(m: *mut MacFile, closed: R, f: impl FnOnce(*mut libc::FILE) -> R) -> R {
    match Session::open(m) {
        Some(s) => f(s.host()),
        None => closed,
    }
}

/// [`with`] for a call that may read from the stream's file: as macOS
/// does before refilling a line-buffered or unbuffered input, every
/// line-buffered output is flushed first. glibc's refill may then touch
/// stdout (it flushes it, the same rule narrowed to stdout), so stdout is
/// brought up to date afterwards.
///
/// # Safety
/// As for [`with`].
pub unsafe fn reading<R>(m: *mut MacFile, closed: R, f: impl FnOnce(*mut libc::FILE) -> R) -> R {
    let h = if m.is_null() {
        std::ptr::null_mut()
    } else {
        (*m).host()
    };
    let interactive = !h.is_null() && file::interactive(h);
    if interactive {
        // macOS flushes when it refills: when the buffer is empty (the
        // getc macro leaves _r at -1 then). Either way glibc gets the bytes
        // written inline, for its own flush of stdout in the middle of a
        // longer read.
        hand_over_line_buffered(m, (*m).r <= 0);
    }
    let r = with(m, closed, f);
    if interactive {
        let stdout = standard(1);
        if !(*stdout).host().is_null() {
            drop(Session::open(stdout));
        }
    }
    r
}

/// Syncs every line-buffered stream but `skip`, and flushes those with
/// output pending if `flush`.
unsafe fn hand_over_line_buffered(skip: *mut MacFile, flush: bool) {
    for m in open_streams() {
        if m == skip || !file::line_buffered((*m).host()) {
            continue;
        }
        if let Some(s) = Session::open(m) {
            if flush && file::pending_output(s.host()) {
                fflush(s.host());
            }
        }
    }
}

/// `fflush(NULL)`: every open stream with output pending (as glibc's and
/// macOS's, it leaves input streams alone).
///
/// # Safety
/// Any time.
pub unsafe fn flush_all() -> c_int {
    let mut rc = 0;
    for m in open_streams() {
        if let Some(s) = Session::open(m) {
            if file::pending_output(s.host()) && fflush(s.host()) != 0 {
                rc = libc::EOF;
            }
        }
    }
    rc
}
