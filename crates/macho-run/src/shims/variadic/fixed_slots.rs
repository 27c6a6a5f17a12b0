//! arm64 entry points of the variadic functions that have no `va_list`
//! form: each reads the fixed number of Apple argument slots it can need
//! into the registers of a shim that takes them as fixed arguments (the
//! ones that translate macOS constants, shared with x86_64), or hands the
//! slots over as an array (`execl`'s NULL-terminated argument list).
//!
//! Reading a slot the caller did not fill (`open` without O_CREAT passes
//! no mode) is harmless: it is the caller's own stack, above its `sp`, and
//! the shim ignores the value as the real function would.

use super::apple_abi::apple_va_entries;
use super::optional_arg;
use crate::shims::{fcntl, fs};
use std::ffi::{c_char, c_int};

apple_va_entries! {
    fn entries;
    // open(path, flags, ...): mode_t, promoted to int.
    "_open" = macho_run_a64_open["ldr w2, [sp]"] => fs::open;
    "_open$NOCANCEL" = macho_run_a64_open_nocancel["ldr w2, [sp]"] => fs::open;
    "_openat" = macho_run_a64_openat["ldr w3, [sp]"] => fs::openat;
    "_openat$NOCANCEL" = macho_run_a64_openat_nocancel["ldr w3, [sp]"] => fs::openat;
    // fcntl(fd, cmd, ...) and ioctl(fd, request, ...): an int or a pointer.
    "_fcntl" = macho_run_a64_fcntl["ldr x2, [sp]"] => fcntl::fcntl;
    "_fcntl$NOCANCEL" = macho_run_a64_fcntl_nocancel["ldr x2, [sp]"] => fcntl::fcntl;
    "_ioctl" = macho_run_a64_ioctl["ldr x2, [sp]"] => optional_arg::ioctl;
    "_shm_open" = macho_run_a64_shm_open["ldr w2, [sp]"] => optional_arg::shm_open;
    // sem_open(name, oflag, ...): mode_t and unsigned int.
    "_sem_open" = macho_run_a64_sem_open["ldr w2, [sp]", "ldr w3, [sp, #8]"] => optional_arg::sem_open;
    // execl(path, arg0, ...): arg0 is named; the rest of argv (and, for
    // execle, envp after its NULL) are the slots.
    "_execl" = macho_run_a64_execl["mov x2, sp"] => execl;
    "_execlp" = macho_run_a64_execlp["mov x2, sp"] => execlp;
    "_execle" = macho_run_a64_execle["mov x2, sp"] => execle;
}

pub fn table() -> Vec<(&'static str, usize)> {
    entries()
}

/// argv from `arg0` and the slots after it, up to and including the NULL
/// that ends the list; and the slot after that (`execle`'s envp).
unsafe fn argv_from_slots(
    arg0: *const c_char,
    slots: *const *const c_char,
) -> (Vec<*const c_char>, *const *const c_char) {
    let mut argv = vec![arg0];
    let mut next = slots;
    if !arg0.is_null() {
        loop {
            let arg = *next;
            next = next.add(1);
            argv.push(arg);
            if arg.is_null() {
                break;
            }
        }
    }
    (argv, next)
}

unsafe extern "C" fn execl(
    path: *const c_char,
    arg0: *const c_char,
    slots: *const *const c_char,
) -> c_int {
    let (argv, _) = argv_from_slots(arg0, slots);
    libc::execv(path, argv.as_ptr())
}

unsafe extern "C" fn execlp(
    file: *const c_char,
    arg0: *const c_char,
    slots: *const *const c_char,
) -> c_int {
    let (argv, _) = argv_from_slots(arg0, slots);
    libc::execvp(file, argv.as_ptr())
}

unsafe extern "C" fn execle(
    path: *const c_char,
    arg0: *const c_char,
    slots: *const *const c_char,
) -> c_int {
    let (argv, rest) = argv_from_slots(arg0, slots);
    // The slot after the NULL holds envp.
    libc::execve(path, argv.as_ptr(), *rest as *const *const c_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_ends_at_the_null_slot_and_envp_follows() {
        let (a, b) = (c"a".as_ptr(), c"b".as_ptr());
        let envp = [c"X=1".as_ptr(), std::ptr::null()];
        let slots = [b, std::ptr::null(), envp.as_ptr().cast()];
        // SAFETY: the slots end with a NULL and one more slot.
        let (argv, rest) = unsafe { argv_from_slots(a, slots.as_ptr()) };
        assert_eq!(argv, vec![a, b, std::ptr::null()]);
        assert_eq!(unsafe { *rest } as usize, envp.as_ptr() as usize);
        // SAFETY: arg0 NULL: no slot is read.
        let (argv, _) = unsafe { argv_from_slots(std::ptr::null(), std::ptr::null()) };
        assert_eq!(argv, vec![std::ptr::null()]);
    }

    use crate::shims::variadic::caller::{call, ptr};
    use crate::shims::Host;

    fn addr(name: &str) -> u64 {
        Host::new()
            .lookup(name)
            .unwrap_or_else(|| panic!("{name} unbound"))
    }

    #[test]
    fn open_takes_its_mode_from_the_slot_and_fcntl_its_argument() {
        let dir = std::env::temp_dir().join(format!("macho-run-va-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::ffi::CString::new(dir.join("f").to_str().unwrap()).unwrap();
        // O_WRONLY | O_CREAT | O_TRUNC | O_APPEND in macOS's bits, mode 0640.
        let fd = call(addr("_open"), &[ptr(path.as_ptr()), 0x601 | 0x8], &[0o640]) as i32;
        assert!(fd >= 0, "open: {}", std::io::Error::last_os_error());
        let meta = std::fs::metadata(dir.join("f")).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o640
        );
        let fcntl = addr("_fcntl");
        // F_GETFL: O_WRONLY | O_APPEND in macOS's bits; no slot needed.
        assert_eq!(call(fcntl, &[fd as u64, 3], &[]) as i32, 0x1 | 0x8);
        // F_SETFD FD_CLOEXEC, then F_GETFD.
        assert_eq!(call(fcntl, &[fd as u64, 2], &[1]) as i32, 0);
        assert_eq!(call(fcntl, &[fd as u64, 1], &[]) as i32, 1);
        // openat with macOS's AT_FDCWD (-2) and O_RDONLY.
        let fd2 = call(
            addr("_openat$NOCANCEL"),
            &[(-2i64) as u64, ptr(path.as_ptr()), 0],
            &[0],
        );
        assert!(fd2 as i32 >= 0);
        // SAFETY: closing descriptors this test opened.
        unsafe {
            libc::close(fd);
            libc::close(fd2 as i32);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ioctl_takes_its_argument_from_the_slot() {
        let mut fds = [0; 2];
        let mut n: i32 = -1;
        // SAFETY: a fresh pipe.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            assert_eq!(libc::write(fds[1], b"ab".as_ptr().cast(), 2), 2);
        }
        // FIONREAD.
        assert_eq!(
            call(
                addr("_ioctl"),
                &[fds[0] as u64, 0x4004_667f],
                &[ptr(&raw mut n)]
            ),
            0
        );
        assert_eq!(n, 2);
        // SAFETY: closing the pipe.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}
