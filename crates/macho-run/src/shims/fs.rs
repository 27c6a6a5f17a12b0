//! File-system calls whose structures or constants differ between macOS
//! and Linux: `stat` (macOS's 64-bit-inode layout), `readdir`
//! (`struct dirent`), and `open` (flag bits).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint};
use std::sync::Mutex;

/// macOS `struct stat` with 64-bit inodes (`stat$INODE64`), 144 bytes.
#[repr(C)]
struct MacStat {
    dev: i32,
    mode: u16,
    nlink: u16,
    ino: u64,
    uid: u32,
    gid: u32,
    rdev: i32,
    _pad: u32,
    atime: [i64; 2],
    mtime: [i64; 2],
    ctime: [i64; 2],
    birthtime: [i64; 2],
    size: i64,
    blocks: i64,
    blksize: i32,
    flags: u32,
    gen: u32,
    lspare: i32,
    qspare: [i64; 2],
}

const _: () = assert!(std::mem::size_of::<MacStat>() == 144);

/// macOS packs a device number as major << 24 | minor.
fn mac_dev(dev: u64) -> i32 {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    ((major << 24) | (minor & 0xff_ffff)) as i32
}

fn to_mac_stat(st: &libc::stat) -> MacStat {
    MacStat {
        dev: mac_dev(st.st_dev),
        mode: st.st_mode as u16,
        nlink: u16::try_from(st.st_nlink).unwrap_or(u16::MAX),
        ino: st.st_ino,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: mac_dev(st.st_rdev),
        _pad: 0,
        atime: [st.st_atime, st.st_atime_nsec],
        mtime: [st.st_mtime, st.st_mtime_nsec],
        ctime: [st.st_ctime, st.st_ctime_nsec],
        birthtime: [st.st_ctime, st.st_ctime_nsec],
        size: st.st_size,
        blocks: st.st_blocks,
        blksize: {
            // i64 in glibc x86_64, already i32 in glibc aarch64.
            #[allow(clippy::unnecessary_cast)]
            let size = st.st_blksize as i32;
            size
        },
        flags: 0,
        gen: 0,
        lspare: 0,
        qspare: [0; 2],
    }
}

/// Runs a glibc stat-like call and converts its result into `out`.
unsafe fn stat_into(out: *mut MacStat, call: impl FnOnce(*mut libc::stat) -> c_int) -> c_int {
    let mut st: libc::stat = std::mem::zeroed();
    let rc = call(&mut st);
    if rc == 0 {
        out.write_unaligned(to_mac_stat(&st));
    }
    rc
}

unsafe extern "C" fn stat(path: *const c_char, out: *mut MacStat) -> c_int {
    stat_into(out, |st| libc::stat(path, st))
}

unsafe extern "C" fn lstat(path: *const c_char, out: *mut MacStat) -> c_int {
    stat_into(out, |st| libc::lstat(path, st))
}

unsafe extern "C" fn fstat(fd: c_int, out: *mut MacStat) -> c_int {
    stat_into(out, |st| libc::fstat(fd, st))
}

const MAC_AT_FDCWD: c_int = -2;
/// macOS `AT_*` flag bits and Linux's.
const AT_FLAGS: &[(c_int, c_int)] = &[
    (0x10, libc::AT_EACCESS),
    (0x20, libc::AT_SYMLINK_NOFOLLOW),
    (0x40, libc::AT_SYMLINK_FOLLOW),
    (0x80, libc::AT_REMOVEDIR),
];

fn at_fd(fd: c_int) -> c_int {
    if fd == MAC_AT_FDCWD {
        libc::AT_FDCWD
    } else {
        fd
    }
}

fn at_flags(flags: c_int) -> c_int {
    AT_FLAGS
        .iter()
        .filter(|(m, _)| flags & m != 0)
        .fold(0, |acc, (_, l)| acc | l)
}

// The `*at` calls: macOS's AT_FDCWD is -2 (Linux's -100) and its AT_*
// flags are other bits; the rest of their arguments mean the same.

unsafe extern "C" fn unlinkat(fd: c_int, path: *const c_char, flags: c_int) -> c_int {
    libc::unlinkat(at_fd(fd), path, at_flags(flags))
}

unsafe extern "C" fn mkdirat(fd: c_int, path: *const c_char, mode: libc::mode_t) -> c_int {
    libc::mkdirat(at_fd(fd), path, mode)
}

unsafe extern "C" fn renameat(
    from_fd: c_int,
    from: *const c_char,
    to_fd: c_int,
    to: *const c_char,
) -> c_int {
    libc::renameat(at_fd(from_fd), from, at_fd(to_fd), to)
}

unsafe extern "C" fn linkat(
    from_fd: c_int,
    from: *const c_char,
    to_fd: c_int,
    to: *const c_char,
    flags: c_int,
) -> c_int {
    libc::linkat(at_fd(from_fd), from, at_fd(to_fd), to, at_flags(flags))
}

unsafe extern "C" fn symlinkat(target: *const c_char, fd: c_int, path: *const c_char) -> c_int {
    libc::symlinkat(target, at_fd(fd), path)
}

unsafe extern "C" fn readlinkat(
    fd: c_int,
    path: *const c_char,
    buf: *mut c_char,
    len: usize,
) -> isize {
    libc::readlinkat(at_fd(fd), path, buf, len)
}

unsafe extern "C" fn faccessat(fd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int {
    libc::faccessat(at_fd(fd), path, mode, at_flags(flags))
}

unsafe extern "C" fn fchmodat(
    fd: c_int,
    path: *const c_char,
    mode: libc::mode_t,
    flags: c_int,
) -> c_int {
    libc::fchmodat(at_fd(fd), path, mode, at_flags(flags))
}

unsafe extern "C" fn fchownat(
    fd: c_int,
    path: *const c_char,
    uid: libc::uid_t,
    gid: libc::gid_t,
    flags: c_int,
) -> c_int {
    libc::fchownat(at_fd(fd), path, uid, gid, at_flags(flags))
}

/// `utimensat`: also macOS's UTIME_NOW (-1) and UTIME_OMIT (-2).
unsafe extern "C" fn utimensat(
    fd: c_int,
    path: *const c_char,
    times: *const libc::timespec,
    flags: c_int,
) -> c_int {
    let mut linux = [libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    }; 2];
    let times = if times.is_null() {
        std::ptr::null()
    } else {
        for (i, t) in linux.iter_mut().enumerate() {
            *t = *times.add(i);
            t.tv_nsec = match t.tv_nsec {
                -1 => libc::UTIME_NOW,
                -2 => libc::UTIME_OMIT,
                n => n,
            };
        }
        linux.as_ptr()
    };
    libc::utimensat(at_fd(fd), path, times, at_flags(flags))
}

unsafe extern "C" fn futimens(fd: c_int, times: *const libc::timespec) -> c_int {
    utimensat(fd, std::ptr::null(), times, 0)
}

unsafe extern "C" fn fstatat(
    fd: c_int,
    path: *const c_char,
    out: *mut MacStat,
    flags: c_int,
) -> c_int {
    stat_into(out, |st| {
        libc::fstatat(at_fd(fd), path, st, at_flags(flags))
    })
}

/// macOS `open` flag bits and their Linux equivalents (the access mode,
/// the low two bits, is the same on both).
const OPEN_FLAGS: &[(c_int, c_int)] = &[
    (0x4, libc::O_NONBLOCK),
    (0x8, libc::O_APPEND),
    (0x80, libc::O_SYNC),
    (0x100, libc::O_NOFOLLOW),
    (0x200, libc::O_CREAT),
    (0x400, libc::O_TRUNC),
    (0x800, libc::O_EXCL),
    (0x20000, libc::O_NOCTTY),
    (0x100000, libc::O_DIRECTORY),
    (0x400000, libc::O_DSYNC),
    (0x1000000, libc::O_CLOEXEC),
];

pub fn linux_open_flags(mac: c_int) -> c_int {
    OPEN_FLAGS
        .iter()
        .filter(|(m, _)| mac & m != 0)
        .fold(mac & libc::O_ACCMODE, |acc, (_, l)| acc | l)
}

pub(super) unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    libc::open(path, linux_open_flags(flags), mode)
}

pub(super) unsafe extern "C" fn openat(
    fd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    libc::openat(at_fd(fd), path, linux_open_flags(flags), mode)
}

/// macOS `struct dirent` with 64-bit inodes (`readdir$INODE64`).
#[repr(C)]
struct MacDirent {
    ino: u64,
    seekoff: u64,
    reclen: u16,
    namlen: u16,
    kind: u8,
    name: [u8; 1024],
}

/// One converted entry per open directory stream, valid until the next
/// readdir on that stream, as POSIX promises.
static DIRENTS: Mutex<Option<HashMap<usize, Box<MacDirent>>>> = Mutex::new(None);

unsafe extern "C" fn readdir(dir: *mut libc::DIR) -> *mut MacDirent {
    let ent = libc::readdir(dir);
    if ent.is_null() {
        return std::ptr::null_mut();
    }
    let name = std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()).to_bytes();
    let mut guard = DIRENTS.lock().unwrap_or_else(|e| e.into_inner());
    let slot = guard
        .get_or_insert_with(HashMap::new)
        .entry(dir as usize)
        .or_insert_with(|| {
            Box::new(MacDirent {
                ino: 0,
                seekoff: 0,
                reclen: 0,
                namlen: 0,
                kind: 0,
                name: [0; 1024],
            })
        });
    let n = name.len().min(1023);
    slot.ino = (*ent).d_ino;
    slot.seekoff = (*ent).d_off as u64;
    slot.reclen = std::mem::size_of::<MacDirent>() as u16;
    slot.namlen = n as u16;
    slot.kind = (*ent).d_type;
    slot.name[..n].copy_from_slice(&name[..n]);
    slot.name[n] = 0;
    &mut **slot
}

/// `readdir_r(dir, entry, &result)`: the next entry into the caller's
/// macOS `dirent`; `*result` is null at the end. Returns an error number.
unsafe extern "C" fn readdir_r(
    dir: *mut libc::DIR,
    entry: *mut MacDirent,
    result: *mut *mut MacDirent,
) -> c_int {
    let saved = *libc::__errno_location();
    *libc::__errno_location() = 0;
    let next = readdir(dir);
    let err = *libc::__errno_location();
    *libc::__errno_location() = saved;
    if next.is_null() {
        *result = std::ptr::null_mut();
        return err;
    }
    std::ptr::copy_nonoverlapping(next, entry, 1);
    *result = entry;
    0
}

unsafe extern "C" fn closedir(dir: *mut libc::DIR) -> c_int {
    if let Some(map) = DIRENTS.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        map.remove(&(dir as usize));
    }
    libc::closedir(dir)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_stat$INODE64", stat as *const () as usize),
        ("_lstat$INODE64", lstat as *const () as usize),
        ("_fstat$INODE64", fstat as *const () as usize),
        ("_fstatat$INODE64", fstatat as *const () as usize),
        ("_open", open as *const () as usize),
        ("_open$NOCANCEL", open as *const () as usize),
        ("_openat", openat as *const () as usize),
        ("_openat$NOCANCEL", openat as *const () as usize),
        ("_unlinkat", unlinkat as *const () as usize),
        ("_mkdirat", mkdirat as *const () as usize),
        ("_renameat", renameat as *const () as usize),
        ("_linkat", linkat as *const () as usize),
        ("_symlinkat", symlinkat as *const () as usize),
        ("_readlinkat", readlinkat as *const () as usize),
        ("_faccessat", faccessat as *const () as usize),
        ("_fchmodat", fchmodat as *const () as usize),
        ("_fchownat", fchownat as *const () as usize),
        ("_utimensat", utimensat as *const () as usize),
        ("_futimens", futimens as *const () as usize),
        ("_readdir$INODE64", readdir as *const () as usize),
        ("_readdir_r$INODE64", readdir_r as *const () as usize),
        ("_closedir", closedir as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_translate_bit_by_bit() {
        assert_eq!(
            linux_open_flags(0x601),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC
        );
        assert_eq!(linux_open_flags(0x0a), libc::O_RDWR | libc::O_APPEND);
        assert_eq!(linux_open_flags(0), libc::O_RDONLY);
    }
}
