//! System information: `sysconf` (macOS numbers its `_SC_*` names
//! differently from glibc: `_SC_PAGESIZE` is 29 on macOS, 30 on Linux,
//! where 29 is `_SC_VERSION`) and `sysctlbyname`, which glibc lacks.

use std::ffi::{c_char, c_int, c_long, c_void, CStr};

/// macOS `_SC_*` values and their glibc equivalents.
const SYSCONF_NAMES: &[(c_int, c_int)] = &[
    (1, libc::_SC_ARG_MAX),
    (2, libc::_SC_CHILD_MAX),
    (3, libc::_SC_CLK_TCK),
    (4, libc::_SC_NGROUPS_MAX),
    (5, libc::_SC_OPEN_MAX),
    (6, libc::_SC_JOB_CONTROL),
    (7, libc::_SC_SAVED_IDS),
    (8, libc::_SC_VERSION),
    (15, libc::_SC_LINE_MAX),
    (16, libc::_SC_RE_DUP_MAX),
    (26, libc::_SC_STREAM_MAX),
    (27, libc::_SC_TZNAME_MAX),
    (29, libc::_SC_PAGESIZE),
    (56, libc::_SC_IOV_MAX),
    (57, libc::_SC_NPROCESSORS_CONF),
    (58, libc::_SC_NPROCESSORS_ONLN),
    (70, libc::_SC_GETGR_R_SIZE_MAX),
    (71, libc::_SC_GETPW_R_SIZE_MAX),
    (72, libc::_SC_HOST_NAME_MAX),
    (73, libc::_SC_LOGIN_NAME_MAX),
    (93, libc::_SC_THREAD_STACK_MIN),
    (101, libc::_SC_TTY_NAME_MAX),
    (107, libc::_SC_ATEXIT_MAX),
    (120, libc::_SC_SYMLOOP_MAX),
    (200, libc::_SC_PHYS_PAGES),
];

unsafe extern "C" fn sysconf(name: c_int) -> c_long {
    match SYSCONF_NAMES.iter().find(|(mac, _)| *mac == name) {
        Some(&(_, linux)) => libc::sysconf(linux),
        None => {
            *libc::__errno_location() = libc::EINVAL;
            -1
        }
    }
}

/// The `sysctlbyname` names programs ask for to size themselves: CPU
/// counts (int) and memory and page sizes (64-bit). Others fail with
/// ENOENT, as an unknown name does on macOS.
unsafe extern "C" fn sysctlbyname(
    name: *const c_char,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *const c_void,
    _newlen: usize,
) -> c_int {
    let fail = |e| {
        *libc::__errno_location() = e;
        -1
    };
    let cpus = libc::sysconf(libc::_SC_NPROCESSORS_ONLN) as i32;
    let value: Vec<u8> = match CStr::from_ptr(name).to_bytes() {
        b"hw.ncpu" | b"hw.activecpu" | b"hw.logicalcpu" | b"hw.physicalcpu" => {
            cpus.to_ne_bytes().to_vec()
        }
        b"hw.pagesize" => (libc::sysconf(libc::_SC_PAGESIZE) as i64)
            .to_ne_bytes()
            .to_vec(),
        b"hw.memsize" => ((libc::sysconf(libc::_SC_PHYS_PAGES) as u64)
            * (libc::sysconf(libc::_SC_PAGESIZE) as u64))
            .to_ne_bytes()
            .to_vec(),
        _ => return fail(libc::ENOENT),
    };
    if !newp.is_null() {
        return fail(libc::EPERM);
    }
    if oldlenp.is_null() {
        return fail(libc::EINVAL);
    }
    if !oldp.is_null() {
        if *oldlenp < value.len() {
            return fail(libc::ENOMEM);
        }
        std::ptr::copy_nonoverlapping(value.as_ptr(), oldp as *mut u8, value.len());
    }
    *oldlenp = value.len();
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_sysconf", sysconf as *const () as usize),
        ("_sysctlbyname", sysctlbyname as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysconf_pagesize_uses_the_macos_number() {
        // SAFETY: plain calls.
        unsafe {
            assert_eq!(sysconf(29), libc::sysconf(libc::_SC_PAGESIZE));
            assert_eq!(sysconf(12345), -1);
        }
    }

    #[test]
    fn sysctlbyname_reports_cpu_count_and_size() {
        let mut n: i32 = 0;
        let mut len = std::mem::size_of::<i32>();
        // SAFETY: n and len are valid for the call.
        let rc = unsafe {
            sysctlbyname(
                c"hw.ncpu".as_ptr(),
                (&raw mut n).cast(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        assert_eq!((rc, len), (0, 4));
        assert!(n >= 1);
        // SAFETY: as above.
        let rc = unsafe {
            sysctlbyname(
                c"kern.nothing".as_ptr(),
                (&raw mut n).cast(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        assert_eq!(rc, -1);
    }
}
