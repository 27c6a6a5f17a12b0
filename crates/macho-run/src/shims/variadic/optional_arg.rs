//! Variadic system calls whose constants differ between macOS and Linux,
//! written with their optional argument as a fixed one: `ioctl` (request
//! numbers), `shm_open` and `sem_open` (`O_CREAT`, `O_EXCL` bits; macOS's
//! `SEM_FAILED` is -1, glibc's 0).
//!
//! On x86_64 these are bound as they are: a System V caller passes an
//! optional integer or pointer in the register a fixed one would use. On
//! arm64 an entry point of [`super::fixed_slots`] loads it from Apple's
//! argument slots first.

use std::ffi::{c_char, c_int, c_uint, c_ulong};

/// macOS `ioctl` requests (`_IOC(dir, group, num, len)`, with IOC_OUT
/// 0x40000000 for "the kernel writes") and Linux's number for the same
/// request, whose argument has the same layout on both (an int, a
/// `struct winsize` of four u16, or none).
const IOCTLS: &[(c_ulong, c_ulong)] = &[
    (0x2000_6601, libc::FIOCLEX as c_ulong),
    (0x2000_6602, libc::FIONCLEX as c_ulong),
    (0x4004_667f, libc::FIONREAD as c_ulong),
    (0x8004_667e, libc::FIONBIO as c_ulong),
    (0x8004_667d, libc::FIOASYNC as c_ulong),
    (0x4008_7468, libc::TIOCGWINSZ as c_ulong),
    (0x8008_7467, libc::TIOCSWINSZ as c_ulong),
    (0x2000_7461, libc::TIOCSCTTY as c_ulong),
    (0x2000_7471, libc::TIOCNOTTY as c_ulong),
    (0x4004_7477, libc::TIOCGPGRP as c_ulong),
    (0x8004_7476, libc::TIOCSPGRP as c_ulong),
    (0x4004_7473, libc::TIOCOUTQ as c_ulong),
    (0x2000_740d, libc::TIOCEXCL as c_ulong),
    (0x2000_740e, libc::TIOCNXCL as c_ulong),
];

/// `ioctl(fd, request, ...)`. A request with no Linux counterpart fails
/// with ENOTTY, as an unsupported one does on macOS: passed through, its
/// number could name another Linux request (macOS's "kernel writes" bit
/// is Linux's "kernel reads") and let the kernel write into the program.
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    // Callers declare the request `unsigned long` but macOS only ever
    // looks at its low 32 bits.
    let request = request & 0xffff_ffff;
    match IOCTLS.iter().find(|(mac, _)| *mac == request) {
        Some(&(_, linux)) => libc::ioctl(fd, linux as _, arg),
        None => {
            *libc::__errno_location() = libc::ENOTTY;
            -1
        }
    }
}

/// `shm_open(name, oflag, ...)`: the mode follows when O_CREAT is set.
pub unsafe extern "C" fn shm_open(name: *const c_char, oflag: c_int, mode: c_uint) -> c_int {
    libc::shm_open(name, super::super::fs::linux_open_flags(oflag), mode as _)
}

/// `sem_open(name, oflag, ...)`: the mode and initial value follow when
/// O_CREAT is set.
pub unsafe extern "C" fn sem_open(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> *mut libc::sem_t {
    let sem = libc::sem_open(
        name,
        super::super::fs::linux_open_flags(oflag),
        mode as libc::mode_t,
        value,
    );
    if sem == libc::SEM_FAILED {
        // macOS's SEM_FAILED.
        usize::MAX as *mut libc::sem_t
    } else {
        sem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_requests_translate_and_unknown_ones_fail() {
        let (mut r, mut w) = (0, 0);
        let mut fds = [0; 2];
        // SAFETY: a fresh pipe; the ints outlive the calls.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            assert_eq!(libc::write(fds[1], b"abc".as_ptr().cast(), 3), 3);
            // FIONREAD: three bytes are waiting.
            assert_eq!(ioctl(fds[0], 0x4004_667f, (&raw mut r) as usize), 0);
            assert_eq!(r, 3);
            // FIOCLEX sets close-on-exec.
            assert_eq!(ioctl(fds[1], 0x2000_6601, 0), 0);
            assert_eq!(libc::fcntl(fds[1], libc::F_GETFD), libc::FD_CLOEXEC);
            // TIOCGWINSZ on a pipe fails as on macOS; an unknown request
            // fails with ENOTTY.
            assert_eq!(ioctl(fds[0], 0x4008_7468, (&raw mut w) as usize), -1);
            assert_eq!(ioctl(fds[0], 0x4004_7400, (&raw mut w) as usize), -1);
            assert_eq!(*libc::__errno_location(), libc::ENOTTY);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn shm_open_and_sem_open_take_macos_flags() {
        let name = format!("/macho-run-va-{}\0", std::process::id());
        let name = name.as_ptr().cast();
        // SAFETY: NUL-terminated names; the objects are unlinked after.
        unsafe {
            // O_CREAT | O_EXCL | O_RDWR in macOS's bits.
            let fd = shm_open(name, 0x200 | 0x800 | 2, 0o600);
            assert!(fd >= 0, "shm_open: {}", std::io::Error::last_os_error());
            assert_eq!(shm_open(name, 0x200 | 0x800 | 2, 0o600), -1, "O_EXCL");
            libc::close(fd);
            libc::shm_unlink(name);
            let sem = sem_open(name, 0x200 | 0x800, 0o600, 2);
            assert_ne!(sem as usize, usize::MAX, "sem_open failed");
            assert_eq!(libc::sem_trywait(sem), 0);
            assert_eq!(libc::sem_trywait(sem), 0);
            assert_eq!(libc::sem_trywait(sem), -1, "the initial value was 2");
            assert_eq!(sem_open(name, 0x200 | 0x800, 0o600, 0) as usize, usize::MAX);
            libc::sem_close(sem);
            libc::sem_unlink(name);
        }
    }
}
