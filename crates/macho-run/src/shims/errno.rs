//! `errno` with macOS's numbers. Linux and macOS agree on 1-34 except 11
//! (EAGAIN on Linux, EDEADLK on macOS, whose EAGAIN is 35) and number
//! everything above differently. A macOS program reads errno through
//! `___error()`, and compares what it finds with macOS constants (Rust's
//! std treats EAGAIN/EWOULDBLOCK 35 as "would block", a non-blocking read
//! that finds nothing returns Linux's 11).
//!
//! So `___error()` hands out a per-thread macOS slot. Each call first takes
//! over what glibc left in its own errno since the previous call: a
//! non-zero glibc errno is translated into the slot and glibc's is reset
//! to 0, so the next failure is seen even if it has the same number, and a
//! value the program stores (`errno = 0` before `strtol`) stays until a
//! call fails. The few glibc functions that read errno themselves
//! (`perror`, `warn`, `err`) are given it back first ([`linux_current`]).

use std::cell::Cell;
use std::ffi::{c_char, c_int};

/// (Linux, macOS) for every number that differs.
const DIFFERENT: &[(c_int, c_int)] = &[
    (libc::EAGAIN, 35),
    (libc::EDEADLK, 11),
    (libc::EINPROGRESS, 36),
    (libc::EALREADY, 37),
    (libc::ENOTSOCK, 38),
    (libc::EDESTADDRREQ, 39),
    (libc::EMSGSIZE, 40),
    (libc::EPROTOTYPE, 41),
    (libc::ENOPROTOOPT, 42),
    (libc::EPROTONOSUPPORT, 43),
    (libc::ESOCKTNOSUPPORT, 44),
    (libc::EOPNOTSUPP, 45),
    (libc::EPFNOSUPPORT, 46),
    (libc::EAFNOSUPPORT, 47),
    (libc::EADDRINUSE, 48),
    (libc::EADDRNOTAVAIL, 49),
    (libc::ENETDOWN, 50),
    (libc::ENETUNREACH, 51),
    (libc::ENETRESET, 52),
    (libc::ECONNABORTED, 53),
    (libc::ECONNRESET, 54),
    (libc::ENOBUFS, 55),
    (libc::EISCONN, 56),
    (libc::ENOTCONN, 57),
    (libc::ESHUTDOWN, 58),
    (libc::ETOOMANYREFS, 59),
    (libc::ETIMEDOUT, 60),
    (libc::ECONNREFUSED, 61),
    (libc::ELOOP, 62),
    (libc::ENAMETOOLONG, 63),
    (libc::EHOSTDOWN, 64),
    (libc::EHOSTUNREACH, 65),
    (libc::ENOTEMPTY, 66),
    (libc::EUSERS, 68),
    (libc::EDQUOT, 69),
    (libc::ESTALE, 70),
    (libc::EREMOTE, 71),
    (libc::ENOLCK, 77),
    (libc::ENOSYS, 78),
    (libc::EOVERFLOW, 84),
    (libc::ECANCELED, 89),
    (libc::EIDRM, 90),
    (libc::ENOMSG, 91),
    (libc::EILSEQ, 92),
    (libc::EBADMSG, 94),
    (libc::EMULTIHOP, 95),
    (libc::ENODATA, 96),
    (libc::ENOLINK, 97),
    (libc::ENOSR, 98),
    (libc::ENOSTR, 99),
    (libc::EPROTO, 100),
    (libc::ETIME, 101),
    (libc::ENOTRECOVERABLE, 104),
    (libc::EOWNERDEAD, 105),
];

/// Linux numbers with no macOS equivalent (ECHRNG, EBADE, ...) become
/// EIO rather than a macOS number that means something else.
pub fn to_mac(linux: c_int) -> c_int {
    if let Some(&(_, mac)) = DIFFERENT.iter().find(|(l, _)| *l == linux) {
        return mac;
    }
    if (0..=34).contains(&linux) {
        linux
    } else {
        libc::EIO
    }
}

pub fn to_linux(mac: c_int) -> c_int {
    if let Some(&(linux, _)) = DIFFERENT.iter().find(|(_, m)| *m == mac) {
        return linux;
    }
    mac
}

thread_local! {
    static MAC_ERRNO: Cell<c_int> = const { Cell::new(0) };
}

fn glibc_errno() -> *mut c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno_location() }
}

/// `___error()`: the calling thread's errno, in macOS numbers.
extern "C" fn error() -> *mut c_int {
    // SAFETY: glibc's errno is thread-local and valid.
    unsafe {
        let g = *glibc_errno();
        if g != 0 {
            MAC_ERRNO.with(|m| m.set(to_mac(g)));
            *glibc_errno() = 0;
        }
    }
    MAC_ERRNO.with(Cell::as_ptr)
}

/// The errno the program would read now, in Linux numbers, for the glibc
/// functions that print it.
pub fn linux_current() -> c_int {
    // SAFETY: glibc's errno is thread-local and valid.
    let g = unsafe { *glibc_errno() };
    if g != 0 {
        g
    } else {
        to_linux(MAC_ERRNO.with(Cell::get))
    }
}

/// Puts the program's errno back into glibc's, before a glibc function
/// that reads it.
pub fn publish() {
    let current = linux_current();
    // SAFETY: as above.
    unsafe { *glibc_errno() = current };
}

unsafe extern "C" fn strerror(mac: c_int) -> *mut c_char {
    libc::strerror(to_linux(mac))
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("___error", error as *const () as usize),
        ("_strerror", strerror as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_the_shared_range_is_kept() {
        for &(l, m) in DIFFERENT {
            assert_eq!((to_mac(l), to_linux(m)), (m, l));
        }
        assert_eq!(to_mac(libc::ENOENT), 2);
        assert_eq!(to_mac(libc::EAGAIN), 35);
        assert_eq!(to_mac(libc::ECHRNG), libc::EIO);
    }

    #[test]
    fn a_failure_after_a_stored_value_is_seen_even_with_the_same_number() {
        std::thread::spawn(|| unsafe {
            *libc::__errno_location() = libc::EAGAIN;
            assert_eq!(*error(), 35);
            *error() = 0;
            assert_eq!(*error(), 0, "the program's own store stays");
            *libc::__errno_location() = libc::EAGAIN;
            assert_eq!(*error(), 35);
            assert_eq!(linux_current(), libc::EAGAIN);
        })
        .join()
        .unwrap();
    }
}
