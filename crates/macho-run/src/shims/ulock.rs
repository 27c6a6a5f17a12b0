//! `__ulock_wait` and `__ulock_wake`: Darwin's private futex, on which
//! libc++ builds `std::atomic<T>::wait`/`notify` (and so `std::latch`,
//! `std::barrier`, `std::counting_semaphore`). They map onto Linux's futex.
//!
//! The operation's low byte says what the address holds: a 32-bit value
//! (`UL_COMPARE_AND_WAIT`, 1, and its `_SHARED` twin, 3) or a 64-bit one
//! (`UL_COMPARE_AND_WAIT64`, 5, and 6). A Linux futex compares 32 bits, so a
//! 64-bit wait compares the whole value first and then waits on its low
//! half: a change to the high half alone wakes no one by itself, but every
//! change libc++ makes is followed by a wake, and a spurious return is
//! allowed (callers re-check the value).

use std::ffi::{c_int, c_void};

const UL_OPCODE_MASK: u32 = 0xff;
const UL_COMPARE_AND_WAIT: u32 = 1;
const UL_UNFAIR_LOCK: u32 = 2;
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
const UL_UNFAIR_LOCK64_SHARED: u32 = 4;
const UL_COMPARE_AND_WAIT64: u32 = 5;
const UL_COMPARE_AND_WAIT64_SHARED: u32 = 6;
const ULF_WAKE_ALL: u32 = 0x100;

fn is_64(op: u32) -> bool {
    matches!(
        op & UL_OPCODE_MASK,
        UL_COMPARE_AND_WAIT64 | UL_COMPARE_AND_WAIT64_SHARED
    )
}

fn fail(errno: c_int) -> c_int {
    // SAFETY: errno is this thread's.
    unsafe { *libc::__errno_location() = errno };
    -1
}

/// Waits while `*addr == value`, at most `timeout_us` microseconds (0:
/// no limit). Returns 0 (after a wake, a change or a spurious return) or
/// -1 with `errno` (`ETIMEDOUT`).
unsafe extern "C" fn ulock_wait(op: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> c_int {
    if addr.is_null() {
        return fail(libc::EINVAL);
    }
    let kind = op & UL_OPCODE_MASK;
    if !matches!(
        kind,
        UL_COMPARE_AND_WAIT
            | UL_UNFAIR_LOCK
            | UL_COMPARE_AND_WAIT_SHARED
            | UL_UNFAIR_LOCK64_SHARED
            | UL_COMPARE_AND_WAIT64
            | UL_COMPARE_AND_WAIT64_SHARED
    ) {
        return fail(libc::EINVAL);
    }
    let word = addr as *const u32;
    if is_64(op) {
        let current = std::ptr::read_volatile(addr as *const u64);
        if current != value {
            return 0;
        }
    }
    let timeout = libc::timespec {
        tv_sec: (timeout_us / 1_000_000) as libc::time_t,
        tv_nsec: ((timeout_us % 1_000_000) * 1000) as libc::c_long,
    };
    let timeout_ptr = if timeout_us == 0 {
        std::ptr::null()
    } else {
        &timeout as *const libc::timespec
    };
    let r = libc::syscall(
        libc::SYS_futex,
        word,
        libc::FUTEX_WAIT,
        value as u32,
        timeout_ptr,
    );
    if r == -1 && *libc::__errno_location() == libc::ETIMEDOUT {
        return fail(libc::ETIMEDOUT);
    }
    // EAGAIN (the value had changed) and EINTR are ordinary returns.
    0
}

/// Wakes one waiter on `addr`, or all of them with `ULF_WAKE_ALL`. Returns
/// 0, or -1 with `errno` `ENOENT` when nobody was waiting (as Darwin).
unsafe extern "C" fn ulock_wake(op: u32, addr: *mut c_void, _wake_value: u64) -> c_int {
    if addr.is_null() {
        return fail(libc::EINVAL);
    }
    let count = if op & ULF_WAKE_ALL != 0 {
        c_int::MAX
    } else {
        1
    };
    let woken = libc::syscall(libc::SYS_futex, addr as *const u32, libc::FUTEX_WAKE, count);
    if woken <= 0 {
        return fail(libc::ENOENT);
    }
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("___ulock_wait", ulock_wait as *const () as usize),
        ("___ulock_wake", ulock_wake as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_wait_returns_at_once_on_another_value_and_after_a_wake() {
        let word = Arc::new(AtomicU64::new(7));
        let p = word.as_ptr() as *mut c_void;
        // SAFETY: p points at a live u64 for the whole test.
        unsafe {
            assert_eq!(ulock_wait(UL_COMPARE_AND_WAIT64, p, 8, 0), 0);
            assert_eq!(ulock_wait(UL_COMPARE_AND_WAIT, p, 7, 1000), -1);
        }
        let waiter = {
            let word = Arc::clone(&word);
            std::thread::spawn(move || {
                while word.load(Ordering::SeqCst) == 7 {
                    // SAFETY: as above.
                    unsafe { ulock_wait(UL_COMPARE_AND_WAIT64, word.as_ptr().cast(), 7, 0) };
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        word.store(9, Ordering::SeqCst);
        // SAFETY: as above.
        unsafe { ulock_wake(UL_COMPARE_AND_WAIT64 | ULF_WAKE_ALL, p, 0) };
        waiter.join().unwrap();
    }
}
