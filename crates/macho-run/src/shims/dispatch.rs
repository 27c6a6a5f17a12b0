//! The part of libdispatch a standard library uses to park threads:
//! `dispatch_semaphore_*`, `dispatch_time` and the reference counting of
//! dispatch objects (`dispatch_retain`/`dispatch_release`). Rust's std
//! parks and unparks threads with a dispatch semaphore on macOS.
//!
//! A semaphore here is a counter under a mutex with a condition variable.
//! Times are Mach absolute times ([`super::mach`]), in nanoseconds.

use std::ffi::{c_long, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

const DISPATCH_TIME_NOW: u64 = 0;
const DISPATCH_TIME_FOREVER: u64 = !0;
/// What `dispatch_semaphore_wait` returns on timeout.
const KERN_OPERATION_TIMED_OUT: c_long = 49;

struct Semaphore {
    /// Reference count: the creator's reference plus each dispatch_retain.
    refs: AtomicUsize,
    value: Mutex<c_long>,
    available: Condvar,
}

extern "C" fn dispatch_semaphore_create(value: c_long) -> *mut c_void {
    if value < 0 {
        return std::ptr::null_mut();
    }
    Box::into_raw(Box::new(Semaphore {
        refs: AtomicUsize::new(1),
        value: Mutex::new(value),
        available: Condvar::new(),
    }))
    .cast()
}

fn semaphore<'a>(obj: *mut c_void) -> &'a Semaphore {
    // SAFETY: dispatch objects handed back by the program come from
    // dispatch_semaphore_create, the only kind this stand-in makes.
    unsafe { &*obj.cast::<Semaphore>() }
}

/// Returns non-zero when a waiting thread is woken, as libdispatch does.
extern "C" fn dispatch_semaphore_signal(obj: *mut c_void) -> c_long {
    let sem = semaphore(obj);
    let mut value = sem.value.lock().unwrap_or_else(|e| e.into_inner());
    *value += 1;
    let woke = *value <= 0;
    sem.available.notify_one();
    c_long::from(woke)
}

/// Waits until the count is positive and takes one, or until `timeout`
/// (a `dispatch_time`) passes: 0 on success, non-zero on timeout.
extern "C" fn dispatch_semaphore_wait(obj: *mut c_void, timeout: u64) -> c_long {
    let sem = semaphore(obj);
    let mut value = sem.value.lock().unwrap_or_else(|e| e.into_inner());
    while *value <= 0 {
        if timeout == DISPATCH_TIME_FOREVER {
            value = sem.available.wait(value).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        let now = super::mach::absolute_time();
        if now >= timeout {
            return KERN_OPERATION_TIMED_OUT;
        }
        value = sem
            .available
            .wait_timeout(value, Duration::from_nanos(timeout - now))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    *value -= 1;
    0
}

/// `dispatch_time(when, delta)`: `when` (NOW, or an earlier result) plus
/// `delta` nanoseconds; FOREVER stays FOREVER, overflow becomes FOREVER.
extern "C" fn dispatch_time(when: u64, delta: i64) -> u64 {
    if when == DISPATCH_TIME_FOREVER {
        return when;
    }
    let base = if when == DISPATCH_TIME_NOW {
        super::mach::absolute_time()
    } else {
        when
    };
    match base.checked_add_signed(delta) {
        Some(t) if t != DISPATCH_TIME_FOREVER => t.max(1),
        Some(_) => DISPATCH_TIME_FOREVER,
        None if delta < 0 => 1,
        None => DISPATCH_TIME_FOREVER,
    }
}

extern "C" fn dispatch_retain(obj: *mut c_void) {
    semaphore(obj).refs.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn dispatch_release(obj: *mut c_void) {
    if semaphore(obj).refs.fetch_sub(1, Ordering::AcqRel) == 1 {
        // SAFETY: the last reference; the object came from Box::into_raw.
        drop(unsafe { Box::from_raw(obj.cast::<Semaphore>()) });
    }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        (
            "_dispatch_semaphore_create",
            dispatch_semaphore_create as *const () as usize,
        ),
        (
            "_dispatch_semaphore_signal",
            dispatch_semaphore_signal as *const () as usize,
        ),
        (
            "_dispatch_semaphore_wait",
            dispatch_semaphore_wait as *const () as usize,
        ),
        ("_dispatch_time", dispatch_time as *const () as usize),
        ("_dispatch_retain", dispatch_retain as *const () as usize),
        ("_dispatch_release", dispatch_release as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_times_out_then_succeeds_after_a_signal() {
        let sem = dispatch_semaphore_create(0);
        let soon = dispatch_time(DISPATCH_TIME_NOW, 10_000_000);
        assert_ne!(dispatch_semaphore_wait(sem, soon), 0);
        let addr = sem as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            dispatch_semaphore_signal(addr as *mut c_void);
        });
        assert_eq!(dispatch_semaphore_wait(sem, DISPATCH_TIME_FOREVER), 0);
        t.join().unwrap();
        dispatch_semaphore_signal(sem);
        assert_eq!(dispatch_semaphore_wait(sem, DISPATCH_TIME_NOW), 0);
        dispatch_retain(sem);
        dispatch_release(sem);
        dispatch_release(sem);
    }

    #[test]
    fn dispatch_time_saturates() {
        assert_eq!(
            dispatch_time(DISPATCH_TIME_FOREVER, 5),
            DISPATCH_TIME_FOREVER
        );
        assert_eq!(dispatch_time(10, i64::MAX), 10 + i64::MAX as u64);
        assert_eq!(dispatch_time(u64::MAX - 1, 5), DISPATCH_TIME_FOREVER);
        assert!(dispatch_time(DISPATCH_TIME_NOW, 0) > 0);
    }
}
