//! File copies the macOS way: `fclonefileat` (an APFS clone) and
//! `fcopyfile` with its state object. Rust's `fs::copy` tries the clone
//! first and falls back to `fcopyfile` when the clone is not supported,
//! which is what this file system says (ENOTSUP).

use std::ffi::{c_char, c_int, c_void};

/// `COPYFILE_*` flags: what to copy.
const COPYFILE_STAT: u32 = 1 << 1;
const COPYFILE_DATA: u32 = 1 << 3;
/// `copyfile_state_get` key for the bytes copied so far.
const COPYFILE_STATE_COPIED: u32 = 8;

unsafe extern "C" fn fclonefileat(
    _src: c_int,
    _dir: c_int,
    _dst: *const c_char,
    _flags: u32,
) -> c_int {
    *libc::__errno_location() = libc::EOPNOTSUPP;
    -1
}

/// The state `copyfile_state_alloc` hands out: what the last copy did.
#[derive(Default)]
struct State {
    copied: i64,
}

extern "C" fn copyfile_state_alloc() -> *mut c_void {
    Box::into_raw(Box::<State>::default()).cast()
}

unsafe extern "C" fn copyfile_state_free(state: *mut c_void) -> c_int {
    if !state.is_null() {
        drop(Box::from_raw(state.cast::<State>()));
    }
    0
}

unsafe extern "C" fn copyfile_state_get(state: *mut c_void, key: u32, dst: *mut c_void) -> c_int {
    if state.is_null() || key != COPYFILE_STATE_COPIED {
        *libc::__errno_location() = libc::EINVAL;
        return -1;
    }
    *dst.cast::<i64>() = (*state.cast::<State>()).copied;
    0
}

/// Copies the bytes from `from`'s position to `to`'s, counting them.
unsafe fn copy_data(from: c_int, to: c_int, copied: &mut i64) -> c_int {
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let n = libc::read(from, buf.as_mut_ptr().cast(), buf.len());
        if n < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            return -1;
        }
        if n == 0 {
            return 0;
        }
        let mut done = 0;
        while done < n as usize {
            let w = libc::write(to, buf.as_ptr().add(done).cast(), n as usize - done);
            if w < 0 {
                if *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                return -1;
            }
            done += w as usize;
            *copied += w as i64;
        }
    }
}

/// `fcopyfile(from, to, state, flags)`: the data and the permission bits
/// (`COPYFILE_STAT`); ACLs and extended attributes have nothing to copy
/// here.
unsafe extern "C" fn fcopyfile(from: c_int, to: c_int, state: *mut c_void, flags: u32) -> c_int {
    let mut copied = 0;
    if flags & COPYFILE_DATA != 0 && copy_data(from, to, &mut copied) != 0 {
        return -1;
    }
    if flags & COPYFILE_STAT != 0 {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(from, &mut st) != 0 || libc::fchmod(to, st.st_mode & 0o7777) != 0 {
            return -1;
        }
    }
    if !state.is_null() {
        (*state.cast::<State>()).copied = copied;
    }
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_fclonefileat", fclonefileat as *const () as usize),
        ("_fcopyfile", fcopyfile as *const () as usize),
        (
            "_copyfile_state_alloc",
            copyfile_state_alloc as *const () as usize,
        ),
        (
            "_copyfile_state_free",
            copyfile_state_free as *const () as usize,
        ),
        (
            "_copyfile_state_get",
            copyfile_state_get as *const () as usize,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn fcopyfile_copies_data_and_mode_and_counts_bytes() {
        let dir = std::env::temp_dir().join(format!("macho-run-copyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, vec![7u8; 300_000]).unwrap();
        std::fs::set_permissions(&a, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let from = std::fs::File::open(&a).unwrap();
        let to = std::fs::File::create(&b).unwrap();
        // SAFETY: both descriptors are open; the state is freed once.
        unsafe {
            let state = copyfile_state_alloc();
            assert_eq!(fcopyfile(from.as_raw_fd(), to.as_raw_fd(), state, 0xf), 0);
            let mut copied = 0i64;
            assert_eq!(
                copyfile_state_get(state, COPYFILE_STATE_COPIED, (&raw mut copied).cast()),
                0
            );
            assert_eq!(copied, 300_000);
            copyfile_state_free(state);
            assert_eq!(fclonefileat(from.as_raw_fd(), -2, c"x".as_ptr(), 0), -1);
        }
        assert_eq!(std::fs::read(&b).unwrap(), vec![7u8; 300_000]);
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&b).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o640);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
