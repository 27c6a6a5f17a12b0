//! pthread objects initialised statically with macOS initialisers.
//!
//! macOS's `PTHREAD_MUTEX_INITIALIZER` and friends are not all zeros: the
//! first word is a signature (`0x32AAABA7` for a mutex). glibc would read
//! it as a held lock. glibc's own initial state is all zeros, and the rest
//! of the macOS initialiser is zeros, so before handing such an object to
//! glibc we atomically swap the signature for 0. A word glibc wrote can
//! never equal a signature (its lock word holds small values).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};

const MUTEX_SIG_INIT: u64 = 0x32AA_ABA7;
const COND_SIG_INIT: u64 = 0x3CB0_B1BB;
const RWLOCK_SIG_INIT: u64 = 0x2DA8_B3B4;
const ONCE_SIG_INIT: u64 = 0x30B1_BCBA;

/// Turns a statically initialised macOS object into glibc's initial state.
unsafe fn adopt(obj: *mut c_void, sig: u64) {
    let word = &*(obj as *const AtomicU64);
    let _ = word.compare_exchange(sig, 0, Ordering::AcqRel, Ordering::Acquire);
}

macro_rules! adopting {
    ($name:ident, $sig:expr, $glibc:path, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(obj: *mut c_void $(, $arg: $ty)*) -> c_int {
            adopt(obj, $sig);
            $glibc(obj.cast() $(, $arg)*)
        }
    };
}

adopting!(mutex_lock, MUTEX_SIG_INIT, libc::pthread_mutex_lock, ());
adopting!(
    mutex_trylock,
    MUTEX_SIG_INIT,
    libc::pthread_mutex_trylock,
    ()
);
adopting!(mutex_unlock, MUTEX_SIG_INIT, libc::pthread_mutex_unlock, ());
adopting!(
    mutex_destroy,
    MUTEX_SIG_INIT,
    libc::pthread_mutex_destroy,
    ()
);
adopting!(cond_signal, COND_SIG_INIT, libc::pthread_cond_signal, ());
adopting!(
    cond_broadcast,
    COND_SIG_INIT,
    libc::pthread_cond_broadcast,
    ()
);
adopting!(cond_destroy, COND_SIG_INIT, libc::pthread_cond_destroy, ());
adopting!(
    rwlock_rdlock,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_rdlock,
    ()
);
adopting!(
    rwlock_wrlock,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_wrlock,
    ()
);
adopting!(
    rwlock_tryrdlock,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_tryrdlock,
    ()
);
adopting!(
    rwlock_trywrlock,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_trywrlock,
    ()
);
adopting!(
    rwlock_unlock,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_unlock,
    ()
);
adopting!(
    rwlock_destroy,
    RWLOCK_SIG_INIT,
    libc::pthread_rwlock_destroy,
    ()
);

unsafe extern "C" fn cond_wait(cond: *mut c_void, mutex: *mut c_void) -> c_int {
    adopt(cond, COND_SIG_INIT);
    adopt(mutex, MUTEX_SIG_INIT);
    libc::pthread_cond_wait(cond.cast(), mutex.cast())
}

unsafe extern "C" fn cond_timedwait(
    cond: *mut c_void,
    mutex: *mut c_void,
    t: *const libc::timespec,
) -> c_int {
    adopt(cond, COND_SIG_INIT);
    adopt(mutex, MUTEX_SIG_INIT);
    match libc::pthread_cond_timedwait(cond.cast(), mutex.cast(), t) {
        // The error number comes back as the result: macOS's ETIMEDOUT is 60.
        libc::ETIMEDOUT => 60,
        rc => rc,
    }
}

/// `pthread_cond_timedwait_relative_np`: waits at most `rel` (Rust's
/// `Condvar::wait_timeout` on macOS). Measured on the monotonic clock, so
/// a change of the wall clock does not stretch the wait.
unsafe extern "C" fn cond_timedwait_relative(
    cond: *mut c_void,
    mutex: *mut c_void,
    rel: *const libc::timespec,
) -> c_int {
    adopt(cond, COND_SIG_INIT);
    adopt(mutex, MUTEX_SIG_INIT);
    let mut deadline = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut deadline);
    let nanos = deadline.tv_nsec + (*rel).tv_nsec;
    deadline.tv_sec = deadline
        .tv_sec
        .saturating_add((*rel).tv_sec)
        .saturating_add(nanos / 1_000_000_000);
    deadline.tv_nsec = nanos % 1_000_000_000;
    match pthread_cond_clockwait(cond, mutex, libc::CLOCK_MONOTONIC, &deadline) {
        libc::ETIMEDOUT => 60,
        rc => rc,
    }
}

extern "C" {
    fn pthread_cond_clockwait(
        cond: *mut c_void,
        mutex: *mut c_void,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> c_int;
    fn pthread_once(once: *mut c_void, f: extern "C" fn()) -> c_int;
}

unsafe extern "C" fn once(obj: *mut c_void, f: extern "C" fn()) -> c_int {
    // macOS pthread_once_t is { long sig; char opaque[8]; }; glibc's is an
    // int that starts at 0, which the adopted first word now is.
    adopt(obj, ONCE_SIG_INIT);
    pthread_once(obj, f)
}

/// macOS numbers mutex types differently (RECURSIVE is 2, ERRORCHECK 1).
unsafe extern "C" fn mutexattr_settype(attr: *mut libc::pthread_mutexattr_t, kind: c_int) -> c_int {
    let kind = match kind {
        1 => libc::PTHREAD_MUTEX_ERRORCHECK,
        2 => libc::PTHREAD_MUTEX_RECURSIVE,
        other => other,
    };
    libc::pthread_mutexattr_settype(attr, kind)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_pthread_mutex_lock", mutex_lock as *const () as usize),
        (
            "_pthread_mutex_trylock",
            mutex_trylock as *const () as usize,
        ),
        ("_pthread_mutex_unlock", mutex_unlock as *const () as usize),
        (
            "_pthread_mutex_destroy",
            mutex_destroy as *const () as usize,
        ),
        ("_pthread_cond_signal", cond_signal as *const () as usize),
        (
            "_pthread_cond_broadcast",
            cond_broadcast as *const () as usize,
        ),
        ("_pthread_cond_destroy", cond_destroy as *const () as usize),
        ("_pthread_cond_wait", cond_wait as *const () as usize),
        (
            "_pthread_cond_wait$UNIX2003",
            cond_wait as *const () as usize,
        ),
        (
            "_pthread_cond_timedwait",
            cond_timedwait as *const () as usize,
        ),
        (
            "_pthread_cond_timedwait$UNIX2003",
            cond_timedwait as *const () as usize,
        ),
        (
            "_pthread_rwlock_rdlock",
            rwlock_rdlock as *const () as usize,
        ),
        (
            "_pthread_rwlock_wrlock",
            rwlock_wrlock as *const () as usize,
        ),
        (
            "_pthread_rwlock_tryrdlock",
            rwlock_tryrdlock as *const () as usize,
        ),
        (
            "_pthread_rwlock_trywrlock",
            rwlock_trywrlock as *const () as usize,
        ),
        (
            "_pthread_rwlock_unlock",
            rwlock_unlock as *const () as usize,
        ),
        (
            "_pthread_rwlock_destroy",
            rwlock_destroy as *const () as usize,
        ),
        (
            "_pthread_cond_timedwait_relative_np",
            cond_timedwait_relative as *const () as usize,
        ),
        ("_pthread_once", once as *const () as usize),
        (
            "_pthread_mutexattr_settype",
            mutexattr_settype as *const () as usize,
        ),
    ]
}
