//! Memory mappings: macOS numbers several `mmap` flags differently
//! (`MAP_ANON` is 0x1000, Linux's `MAP_ANONYMOUS` 0x20, where 0x1000 is
//! nothing glibc accepts for anonymous memory), as well as `MADV_FREE` and
//! `MS_SYNC`. Rust's std maps its signal stacks with `MAP_ANON`.

use std::ffi::{c_int, c_void};

/// macOS `MAP_*` bits with a Linux equivalent (`MAP_SHARED`, `MAP_PRIVATE`
/// and `MAP_FIXED` have the same values on both).
const MAP_FLAGS: &[(c_int, c_int)] = &[
    (0x0001, libc::MAP_SHARED),
    (0x0002, libc::MAP_PRIVATE),
    (0x0010, libc::MAP_FIXED),
    (0x0040, libc::MAP_NORESERVE),
    (0x1000, libc::MAP_ANONYMOUS),
];

/// Bits that only tune macOS's VM (`MAP_NOCACHE`, `MAP_JIT`, the
/// `MAP_RESILIENT_*` pair, `MAP_32BIT`'s neighbours): dropped here.
const MAP_IGNORED: c_int = 0x0400 | 0x0800 | 0x2000 | 0x4000 | 0x8000;

const MAC_MAP_ANON: c_int = 0x1000;

unsafe extern "C" fn mmap(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    offset: libc::off_t,
) -> *mut c_void {
    let known = MAP_FLAGS.iter().fold(MAP_IGNORED, |acc, (m, _)| acc | m);
    if flags & !known != 0 {
        *libc::__errno_location() = libc::EINVAL;
        return libc::MAP_FAILED;
    }
    let linux = MAP_FLAGS
        .iter()
        .filter(|(m, _)| flags & m != 0)
        .fold(0, |acc, (_, l)| acc | l);
    // An anonymous mapping's fd may carry a VM tag (VM_MAKE_TAG) on macOS.
    let fd = if flags & MAC_MAP_ANON != 0 { -1 } else { fd };
    libc::mmap(addr, len, prot, linux, fd, offset)
}

unsafe extern "C" fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int {
    let linux = match advice {
        // NORMAL, RANDOM, SEQUENTIAL, WILLNEED, DONTNEED: same numbers.
        0..=4 => advice,
        // MADV_FREE, MADV_FREE_REUSABLE: the pages' contents may go.
        5 | 7 => libc::MADV_FREE,
        // ZERO_WIRED_PAGES, FREE_REUSE, and the rest: hints only.
        _ => return 0,
    };
    libc::madvise(addr, len, linux)
}

unsafe extern "C" fn msync(addr: *mut c_void, len: usize, flags: c_int) -> c_int {
    // MS_ASYNC 1 and MS_INVALIDATE 2 agree; MS_SYNC is 0x10 on macOS.
    let linux = (flags & 0x3) | if flags & 0x10 != 0 { libc::MS_SYNC } else { 0 };
    libc::msync(addr, len, linux)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_mmap", mmap as *const () as usize),
        ("_madvise", madvise as *const () as usize),
        ("_msync", msync as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_mappings_use_the_macos_flag() {
        // SAFETY: a fresh private anonymous mapping, written then unmapped.
        unsafe {
            let p = mmap(std::ptr::null_mut(), 8192, 3, 0x1002, 0x0100_0000, 0);
            assert_ne!(p, libc::MAP_FAILED);
            *(p as *mut u8) = 7;
            assert_eq!(madvise(p, 8192, 5), 0);
            assert_eq!(libc::munmap(p, 8192), 0);
            assert_eq!(
                mmap(std::ptr::null_mut(), 8192, 3, 0x1002 | 0x10_0000, -1, 0),
                libc::MAP_FAILED
            );
        }
    }
}
