//! `fcntl`: macOS numbers the record-lock commands differently (F_GETLK is
//! 7 on macOS, 5 on Linux, where 7 is F_SETLKW), orders `struct flock`
//! differently and numbers the lock types differently (F_WRLCK is 3 on
//! macOS, 1 on Linux). It also has commands Linux lacks (F_FULLFSYNC,
//! F_GETPATH, F_NOCACHE) and other file-status flag bits.

use std::ffi::{c_int, c_short};

/// macOS `struct flock`.
#[repr(C)]
struct MacFlock {
    start: i64,
    len: i64,
    pid: c_int,
    kind: c_short,
    whence: c_short,
}

/// macOS lock types (F_RDLCK, F_UNLCK, F_WRLCK) and Linux's.
const LOCK_TYPES: &[(c_short, c_short)] = &[
    (1, libc::F_RDLCK as c_short),
    (2, libc::F_UNLCK as c_short),
    (3, libc::F_WRLCK as c_short),
];

/// File-status flags F_GETFL/F_SETFL carry, macOS bit and Linux bit.
const STATUS_FLAGS: &[(c_int, c_int)] = &[
    (0x4, libc::O_NONBLOCK),
    (0x8, libc::O_APPEND),
    (0x40, libc::O_ASYNC),
    (0x80, libc::O_SYNC),
    (0x400000, libc::O_DSYNC),
];

fn convert_flags(flags: c_int, to_linux: bool) -> c_int {
    STATUS_FLAGS
        .iter()
        .map(|&(mac, linux)| if to_linux { (mac, linux) } else { (linux, mac) })
        .filter(|(from, _)| flags & from != 0)
        .fold(flags & libc::O_ACCMODE, |acc, (_, to)| acc | to)
}

fn einval() -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = libc::EINVAL };
    -1
}

unsafe fn lock(fd: c_int, cmd: c_int, mac: *mut MacFlock) -> c_int {
    let Some(&(_, kind)) = LOCK_TYPES.iter().find(|(m, _)| *m == (*mac).kind) else {
        return einval();
    };
    let mut fl: libc::flock = std::mem::zeroed();
    fl.l_type = kind;
    fl.l_whence = (*mac).whence;
    fl.l_start = (*mac).start;
    fl.l_len = (*mac).len;
    fl.l_pid = (*mac).pid;
    let rc = libc::fcntl(fd, cmd, &mut fl);
    if rc != -1 && cmd == libc::F_GETLK {
        let kind = LOCK_TYPES.iter().find(|(_, l)| *l == fl.l_type);
        (*mac).kind = kind.map_or(fl.l_type, |&(m, _)| m);
        (*mac).whence = fl.l_whence;
        (*mac).start = fl.l_start;
        (*mac).len = fl.l_len;
        (*mac).pid = fl.l_pid;
    }
    rc
}

/// `fcntl(fd, cmd, ...)`: every command takes at most one int or pointer,
/// which the System V ABI passes in the same register either way.
pub(super) unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    match cmd {
        // F_DUPFD, F_GETFD, F_SETFD: same numbers, FD_CLOEXEC is 1 on both.
        0..=2 => libc::fcntl(fd, cmd, arg as c_int),
        3 => {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags == -1 {
                -1
            } else {
                convert_flags(flags, false)
            }
        }
        4 => libc::fcntl(fd, libc::F_SETFL, convert_flags(arg as c_int, true)),
        5 => libc::fcntl(fd, libc::F_GETOWN),
        6 => libc::fcntl(fd, libc::F_SETOWN, arg as c_int),
        7 => lock(fd, libc::F_GETLK, arg as *mut MacFlock),
        8 => lock(fd, libc::F_SETLK, arg as *mut MacFlock),
        9 => lock(fd, libc::F_SETLKW, arg as *mut MacFlock),
        // F_RDAHEAD, F_NOCACHE: caching hints, nothing to do.
        45 | 48 => 0,
        // F_GETPATH: the path behind fd into a MAXPATHLEN (1024) buffer.
        50 => {
            let link = format!("/proc/self/fd/{fd}\0");
            let buf = arg as *mut libc::c_char;
            let n = libc::readlink(link.as_ptr().cast(), buf, 1023);
            if n < 0 {
                return -1;
            }
            *buf.add(n as usize) = 0;
            0
        }
        // F_FULLFSYNC, F_BARRIERFSYNC: fsync is the closest Linux has.
        51 | 85 => libc::fsync(fd),
        67 => libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, arg as c_int),
        _ => einval(),
    }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![("_fcntl", fcntl as *const () as usize)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_locks_and_status_flags_convert() {
        let path = std::env::temp_dir().join(format!("macho-run-fcntl-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let mut fl = MacFlock {
            start: 0,
            len: 1,
            pid: 0,
            kind: 3, // F_WRLCK
            whence: 0,
        };
        // SAFETY: fd is open and fl outlives the calls.
        unsafe {
            assert_eq!(fcntl(fd, 8, (&raw mut fl) as usize), 0);
            // Our own lock does not conflict: F_GETLK says F_UNLCK (2).
            assert_eq!(fcntl(fd, 7, (&raw mut fl) as usize), 0);
            assert_eq!(fl.kind, 2);
            assert_eq!(fcntl(fd, 4, 0x8 | 0x4), 0);
            assert_eq!(fcntl(fd, 3, 0) & 0xc, 0xc);
            assert_eq!(fcntl(fd, 51, 0), 0);
            assert_eq!(fcntl(fd, 9999, 0), -1);
        }
        drop(file);
        let _ = std::fs::remove_file(path);
    }
}
