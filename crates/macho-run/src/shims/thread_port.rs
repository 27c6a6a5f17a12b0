//! `pthread_mach_thread_np`: a thread's Mach port name, which libc++abi
//! uses as the owner of a function-local static being initialised (to
//! detect recursive initialisation) and libc++ as a thread's number.
//!
//! There are no Mach ports here. What callers rely on is that the name is
//! non-zero, stable for the life of the thread and different from every
//! other live thread's: each `pthread_t` gets the next number the first
//! time it is asked for, kept in a table. (glibc reuses a `pthread_t` of an
//! exited thread, which then keeps its number, as the kernel reuses port
//! names.)

use std::collections::HashMap;
use std::sync::Mutex;

static PORTS: Mutex<Option<HashMap<usize, u32>>> = Mutex::new(None);

/// The port name of `thread` (`mach_port_t`, 32 bits).
extern "C" fn pthread_mach_thread_np(thread: libc::pthread_t) -> u32 {
    let mut ports = PORTS.lock().unwrap_or_else(|e| e.into_inner());
    let ports = ports.get_or_insert_with(HashMap::new);
    // Port names start above 0x100, as small numbers look like errors.
    let next = 0x103 + ports.len() as u32 * 4;
    *ports.entry(thread as usize).or_insert(next)
}

/// `mach_thread_self()`: the calling thread's port name.
extern "C" fn mach_thread_self() -> u32 {
    // SAFETY: pthread_self has no preconditions.
    pthread_mach_thread_np(unsafe { libc::pthread_self() })
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        (
            "_pthread_mach_thread_np",
            pthread_mach_thread_np as *const () as usize,
        ),
        ("_mach_thread_self", mach_thread_self as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_stable_port() {
        let mine = mach_thread_self();
        assert_ne!(mine, 0);
        assert_eq!(mine, mach_thread_self());
        let other = std::thread::spawn(|| mach_thread_self()).join().unwrap();
        assert_ne!(other, mine);
    }
}
