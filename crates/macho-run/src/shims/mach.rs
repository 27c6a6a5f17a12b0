//! Clocks and locks from the Mach and libplatform layers of libSystem:
//! `mach_absolute_time` and its timebase, `clock_gettime` with macOS's
//! clock ids (Rust's `Instant` reads `CLOCK_UPTIME_RAW`, 8, which is
//! Linux's `CLOCK_REALTIME_ALARM`), and `os_unfair_lock`.

use std::ffi::c_int;
use std::sync::atomic::{AtomicU32, Ordering};

/// macOS clock id -> Linux clock id.
fn linux_clock(mac: c_int) -> Option<libc::clockid_t> {
    Some(match mac {
        0 => libc::CLOCK_REALTIME,
        // MONOTONIC_RAW and its _APPROX variant.
        4 | 5 => libc::CLOCK_MONOTONIC_RAW,
        // MONOTONIC counts sleep on macOS; BOOTTIME is Linux's match.
        6 => libc::CLOCK_BOOTTIME,
        // UPTIME_RAW and _APPROX stop while asleep, as MONOTONIC does here.
        8 | 9 => libc::CLOCK_MONOTONIC,
        12 => libc::CLOCK_PROCESS_CPUTIME_ID,
        16 => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return None,
    })
}

fn einval() -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = libc::EINVAL };
    -1
}

unsafe extern "C" fn clock_gettime(clock: c_int, ts: *mut libc::timespec) -> c_int {
    match linux_clock(clock) {
        Some(id) => libc::clock_gettime(id, ts),
        None => einval(),
    }
}

unsafe extern "C" fn clock_getres(clock: c_int, ts: *mut libc::timespec) -> c_int {
    match linux_clock(clock) {
        Some(id) => libc::clock_getres(id, ts),
        None => einval(),
    }
}

fn nanos(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer; the clock ids come from linux_clock.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `clock_gettime_nsec_np`: the clock in nanoseconds, 0 on a bad id.
unsafe extern "C" fn clock_gettime_nsec_np(clock: c_int) -> u64 {
    match linux_clock(clock) {
        Some(id) => nanos(id),
        None => {
            einval();
            0
        }
    }
}

/// Mach absolute time ticks in nanoseconds here (a timebase of 1/1, as on
/// Intel Macs), on the clock `CLOCK_UPTIME_RAW` reads, so both agree.
pub(super) fn absolute_time() -> u64 {
    nanos(libc::CLOCK_MONOTONIC)
}

extern "C" fn mach_absolute_time() -> u64 {
    absolute_time()
}

extern "C" fn mach_continuous_time() -> u64 {
    nanos(libc::CLOCK_BOOTTIME)
}

#[repr(C)]
struct TimebaseInfo {
    numer: u32,
    denom: u32,
}

unsafe extern "C" fn mach_timebase_info(info: *mut TimebaseInfo) -> c_int {
    info.write(TimebaseInfo { numer: 1, denom: 1 });
    0 // KERN_SUCCESS
}

/// `os_unfair_lock` is one 32-bit word, 0 when unlocked. Here: 1 held,
/// 2 held with waiters, who sleep on the word with a futex.
fn lock_word<'a>(lock: *mut u32) -> &'a AtomicU32 {
    // SAFETY: the program hands a valid, aligned os_unfair_lock.
    unsafe { AtomicU32::from_ptr(lock) }
}

fn futex(word: &AtomicU32, op: c_int, val: u32) {
    // SAFETY: the word is valid for the call; FUTEX_WAIT rechecks its value.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op | libc::FUTEX_PRIVATE_FLAG,
            val,
            std::ptr::null::<libc::timespec>(),
        )
    };
}

extern "C" fn os_unfair_lock_lock(lock: *mut u32) {
    let word = lock_word(lock);
    if word
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return;
    }
    while word.swap(2, Ordering::Acquire) != 0 {
        futex(word, libc::FUTEX_WAIT, 2);
    }
}

extern "C" fn os_unfair_lock_trylock(lock: *mut u32) -> bool {
    lock_word(lock)
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

extern "C" fn os_unfair_lock_unlock(lock: *mut u32) {
    let word = lock_word(lock);
    if word.swap(0, Ordering::Release) == 2 {
        futex(word, libc::FUTEX_WAKE, 1);
    }
}

/// macOS traps when the caller does not own the lock; ownership is not
/// recorded here, so only a lock nobody holds is caught.
extern "C" fn os_unfair_lock_assert_owner(lock: *mut u32) {
    if lock_word(lock).load(Ordering::Relaxed) == 0 {
        eprintln!("macho-run: os_unfair_lock_assert_owner: the lock is not held");
        // SAFETY: abort is always safe to call.
        unsafe { libc::abort() }
    }
}

extern "C" fn os_unfair_lock_assert_not_owner(_lock: *mut u32) {}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_clock_gettime", clock_gettime as *const () as usize),
        ("_clock_getres", clock_getres as *const () as usize),
        (
            "_clock_gettime_nsec_np",
            clock_gettime_nsec_np as *const () as usize,
        ),
        (
            "_mach_absolute_time",
            mach_absolute_time as *const () as usize,
        ),
        (
            "_mach_approximate_time",
            mach_absolute_time as *const () as usize,
        ),
        (
            "_mach_continuous_time",
            mach_continuous_time as *const () as usize,
        ),
        (
            "_mach_timebase_info",
            mach_timebase_info as *const () as usize,
        ),
        (
            "_os_unfair_lock_lock",
            os_unfair_lock_lock as *const () as usize,
        ),
        (
            "_os_unfair_lock_trylock",
            os_unfair_lock_trylock as *const () as usize,
        ),
        (
            "_os_unfair_lock_unlock",
            os_unfair_lock_unlock as *const () as usize,
        ),
        (
            "_os_unfair_lock_assert_owner",
            os_unfair_lock_assert_owner as *const () as usize,
        ),
        (
            "_os_unfair_lock_assert_not_owner",
            os_unfair_lock_assert_not_owner as *const () as usize,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macos_clock_ids_map_to_working_linux_clocks() {
        for id in [0, 4, 5, 6, 8, 9, 12, 16] {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: ts is a valid out-pointer.
            assert_eq!(unsafe { clock_gettime(id, &mut ts) }, 0, "clock {id}");
        }
        // SAFETY: as above.
        assert_eq!(unsafe { clock_gettime(3, std::ptr::null_mut()) }, -1);
        let (a, b) = (mach_absolute_time(), nanos(libc::CLOCK_MONOTONIC));
        assert!(b >= a && b - a < 1_000_000_000);
    }

    #[test]
    fn unfair_lock_excludes_other_threads() {
        static LOCK: AtomicU32 = AtomicU32::new(0);
        static mut COUNT: u64 = 0;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        os_unfair_lock_lock(LOCK.as_ptr());
                        // SAFETY: guarded by LOCK.
                        unsafe { COUNT += 1 };
                        os_unfair_lock_unlock(LOCK.as_ptr());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // SAFETY: every writer has finished.
        assert_eq!(unsafe { COUNT }, 40_000);
        assert!(os_unfair_lock_trylock(LOCK.as_ptr()));
        assert!(!os_unfair_lock_trylock(LOCK.as_ptr()));
        os_unfair_lock_unlock(LOCK.as_ptr());
    }
}
