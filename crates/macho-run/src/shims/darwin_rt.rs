//! The Darwin-only runtime calls a Rust (or C++) standard library makes on
//! macOS: thread stack and identity queries (`pthread_get_stackaddr_np`,
//! `pthread_threadid_np`, the one-argument `pthread_setname_np`), random
//! bytes (`CCRandomGenerateBytes`), the XSI `strerror_r`, thread-local
//! destructors (`_tlv_atexit`), and `dlsym` with macOS's pseudo-handles.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// The stack of `thread` as glibc describes it: (lowest address, size).
unsafe fn stack_of(thread: libc::pthread_t) -> Option<(usize, usize)> {
    let mut attr: libc::pthread_attr_t = std::mem::zeroed();
    if libc::pthread_getattr_np(thread, &mut attr) != 0 {
        return None;
    }
    let mut addr: *mut c_void = std::ptr::null_mut();
    let mut size = 0usize;
    let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
    libc::pthread_attr_destroy(&mut attr);
    (rc == 0).then_some((addr as usize, size))
}

/// macOS answers with the stack's *top* (stacks grow down from it).
unsafe extern "C" fn pthread_get_stackaddr_np(thread: libc::pthread_t) -> *mut c_void {
    stack_of(thread).map_or(std::ptr::null_mut(), |(low, size)| {
        (low + size) as *mut c_void
    })
}

unsafe extern "C" fn pthread_get_stacksize_np(thread: libc::pthread_t) -> usize {
    stack_of(thread).map_or(0, |(_, size)| size)
}

/// macOS names only the calling thread, with up to 63 bytes; Linux keeps
/// 15, so longer names are cut (a thread's name is advisory on both).
unsafe extern "C" fn pthread_setname_np(name: *const c_char) -> c_int {
    let bytes = CStr::from_ptr(name).to_bytes();
    let mut short = [0u8; 16];
    let n = bytes.len().min(15);
    short[..n].copy_from_slice(&bytes[..n]);
    libc::pthread_setname_np(libc::pthread_self(), short.as_ptr().cast())
}

/// The kernel's id of a thread. Only the calling thread's is known here
/// (glibc keeps other threads' ids private); null means the caller.
unsafe extern "C" fn pthread_threadid_np(thread: libc::pthread_t, id: *mut u64) -> c_int {
    if thread != 0 && libc::pthread_equal(thread, libc::pthread_self()) == 0 {
        return libc::ESRCH;
    }
    if id.is_null() {
        return libc::EINVAL;
    }
    *id = libc::gettid() as u64;
    0
}

/// `pthread_main_np`: 1 on the thread that runs `main`.
unsafe extern "C" fn pthread_main_np() -> c_int {
    c_int::from(libc::gettid() == libc::getpid())
}

/// CommonCrypto's `CCRandomGenerateBytes`: 0 (`kCCSuccess`) once `len`
/// random bytes are written, `kCCRNGFailure` otherwise.
unsafe extern "C" fn cc_random_generate_bytes(buf: *mut c_void, len: usize) -> c_int {
    const CC_RNG_FAILURE: c_int = -4302;
    let mut done = 0;
    while done < len {
        let n = libc::getrandom(buf.cast::<u8>().add(done).cast(), len - done, 0);
        if n < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            return CC_RNG_FAILURE;
        }
        done += n as usize;
    }
    0
}

extern "C" {
    fn __xpg_strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> c_int;
    fn __cxa_thread_atexit_impl(
        f: unsafe extern "C" fn(*mut c_void),
        obj: *mut c_void,
        dso: *mut c_void,
    ) -> c_int;
    static __dso_handle: u8;
}

/// macOS's `strerror_r` is the XSI one (an int back); glibc exports the
/// GNU one under that name. `errnum` is a macOS number.
unsafe extern "C" fn strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> c_int {
    __xpg_strerror_r(super::errno::to_linux(errnum), buf, len)
}

pub(super) type TlvDtor = unsafe extern "C" fn(*mut c_void);

thread_local! {
    /// This thread's `_tlv_atexit` registrations, newest last. A raw
    /// pointer, not a Vec, so the list has no destructor of its own whose
    /// order against the program's could matter.
    static TLV_DTORS: Cell<*mut Vec<(TlvDtor, *mut c_void)>> =
        const { Cell::new(std::ptr::null_mut()) };
}

/// Runs the thread's registered destructors, newest first as dyld does;
/// destructors may register more, which run too.
unsafe extern "C" fn run_tlv_dtors(_: *mut c_void) {
    loop {
        let list = TLV_DTORS.with(|l| l.replace(std::ptr::null_mut()));
        if list.is_null() {
            return;
        }
        let list = Box::from_raw(list);
        for &(dtor, obj) in list.iter().rev() {
            dtor(obj);
        }
    }
}

/// `_tlv_atexit(dtor, obj)`: call `dtor(obj)` when this thread exits (at
/// `exit` for the main thread). glibc's thread-exit destructors run before
/// its pthread keys are destroyed, so the thread's thread-local block (a
/// key's value, see tlv.rs) is still there when the destructors read it.
pub(super) unsafe extern "C" fn tlv_atexit(dtor: TlvDtor, obj: *mut c_void) {
    TLV_DTORS.with(|l| {
        if l.get().is_null() {
            l.set(Box::into_raw(Box::default()));
            __cxa_thread_atexit_impl(
                run_tlv_dtors,
                std::ptr::null_mut(),
                (&raw const __dso_handle).cast_mut().cast(),
            );
        }
        (*l.get()).push((dtor, obj));
    });
}

/// macOS's pseudo-handles (`RTLD_NEXT` .. `RTLD_MAIN_ONLY`).
const MAC_RTLD_PSEUDO: std::ops::RangeInclusive<isize> = -5..=-1;

/// `dlsym` as a program sees it on macOS: the pseudo-handles search the
/// loaded code, whose libSystem part is macho-run's stand-in, so a name
/// resolves to the shim a direct import of it would get (a weak lookup of
/// a function macOS has and glibc lacks finds the shim, or nothing).
/// Handles from `dlopen` are the host's.
unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    if !MAC_RTLD_PSEUDO.contains(&(handle as isize)) {
        return libc::dlsym(handle, name);
    }
    static HOST: OnceLock<super::Host> = OnceLock::new();
    let Ok(name) = CStr::from_ptr(name).to_str() else {
        return std::ptr::null_mut();
    };
    let host = HOST.get_or_init(super::Host::new);
    host.lookup(&format!("_{name}"))
        .map_or(std::ptr::null_mut(), |a| a as *mut c_void)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        (
            "_pthread_get_stackaddr_np",
            pthread_get_stackaddr_np as *const () as usize,
        ),
        (
            "_pthread_get_stacksize_np",
            pthread_get_stacksize_np as *const () as usize,
        ),
        (
            "_pthread_setname_np",
            pthread_setname_np as *const () as usize,
        ),
        (
            "_pthread_threadid_np",
            pthread_threadid_np as *const () as usize,
        ),
        ("_pthread_main_np", pthread_main_np as *const () as usize),
        (
            "_CCRandomGenerateBytes",
            cc_random_generate_bytes as *const () as usize,
        ),
        ("_strerror_r", strerror_r as *const () as usize),
        ("__tlv_atexit", tlv_atexit as *const () as usize),
        ("_dlsym", dlsym as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_top_is_above_a_local_and_within_the_size() {
        let local = 0u8;
        // SAFETY: queries about the calling thread.
        let (top, size) = unsafe {
            let me = libc::pthread_self();
            (
                pthread_get_stackaddr_np(me) as usize,
                pthread_get_stacksize_np(me),
            )
        };
        let here = &local as *const u8 as usize;
        assert!(
            here < top && here > top - size,
            "{here:#x} in {top:#x}-{size:#x}"
        );
    }

    #[test]
    fn random_bytes_fill_the_buffer() {
        let mut buf = [0u8; 64];
        // SAFETY: buf holds 64 bytes.
        assert_eq!(
            unsafe { cc_random_generate_bytes(buf.as_mut_ptr().cast(), 64) },
            0
        );
        assert!(buf.iter().any(|&b| b != 0));
    }

    #[test]
    fn strerror_r_returns_an_int_and_fills_the_buffer() {
        let mut buf = [0 as c_char; 64];
        // SAFETY: buf holds 64 bytes.
        let rc = unsafe { strerror_r(66, buf.as_mut_ptr(), 64) };
        assert_eq!(rc, 0);
        // SAFETY: strerror_r wrote a C string.
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(msg.to_str().unwrap(), "Directory not empty");
    }

    static RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    unsafe extern "C" fn count(obj: *mut c_void) {
        RAN.fetch_add(obj as usize, std::sync::atomic::Ordering::SeqCst);
    }

    #[test]
    fn tlv_destructors_run_when_the_thread_exits() {
        std::thread::spawn(|| unsafe {
            tlv_atexit(count, 2 as *mut c_void);
            tlv_atexit(count, 20 as *mut c_void);
        })
        .join()
        .unwrap();
        assert_eq!(RAN.load(std::sync::atomic::Ordering::SeqCst), 22);
    }
}
