//! System information: `sysconf` (macOS numbers its `_SC_*` names
//! differently from glibc: `_SC_PAGESIZE` is 29 on macOS, 30 on Linux,
//! where 29 is `_SC_VERSION`) and `sysctl`/`sysctlbyname`, which glibc
//! lacks (a system of macOS 13.6's numbers).

use std::ffi::{c_char, c_int, c_long, c_uint, c_void, CStr};

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

/// The macOS release macho-run stands in for, as `sysctl` reports it.
const OS_PRODUCT_VERSION: &str = "13.6";
const OS_RELEASE: &str = "22.6.0";
const OS_BUILD: &str = "22G120";

#[cfg(target_arch = "x86_64")]
const MACHINE: &str = "x86_64";
#[cfg(target_arch = "aarch64")]
const MACHINE: &str = "arm64";

/// A string value as sysctl returns it: with its NUL.
fn c_string(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// The value of the sysctl `name`: the names programs ask for to size
/// themselves (CPU counts as int, memory and page sizes as 64-bit) or to
/// describe the system (strings). Others are unknown (ENOENT, as on macOS).
unsafe fn sysctl_value(name: &[u8]) -> Option<Vec<u8>> {
    let cpus = libc::sysconf(libc::_SC_NPROCESSORS_ONLN) as i32;
    let page = libc::sysconf(libc::_SC_PAGESIZE) as i64;
    Some(match name {
        b"hw.ncpu"
        | b"hw.activecpu"
        | b"hw.logicalcpu"
        | b"hw.physicalcpu"
        | b"hw.logicalcpu_max"
        | b"hw.physicalcpu_max" => cpus.to_ne_bytes().to_vec(),
        b"hw.pagesize" => page.to_ne_bytes().to_vec(),
        b"hw.memsize" => ((libc::sysconf(libc::_SC_PHYS_PAGES) as i64) * page)
            .to_ne_bytes()
            .to_vec(),
        b"hw.machine" => c_string(MACHINE),
        b"hw.model" => c_string("macho-run"),
        b"kern.ostype" => c_string("Darwin"),
        b"kern.osrelease" => c_string(OS_RELEASE),
        b"kern.osproductversion" => c_string(OS_PRODUCT_VERSION),
        b"kern.osversion" => c_string(OS_BUILD),
        b"kern.argmax" => (libc::sysconf(libc::_SC_ARG_MAX) as i32)
            .to_ne_bytes()
            .to_vec(),
        b"kern.hostname" => {
            let mut buf = [0u8; 256];
            libc::gethostname(buf.as_mut_ptr().cast(), buf.len());
            let n = buf.iter().position(|&b| b == 0).unwrap_or(255);
            buf[..=n].to_vec()
        }
        _ => return None,
    })
}

/// The numeric names (`CTL_KERN`/`CTL_HW` MIBs) of the sysctls above.
const MIBS: &[([c_int; 2], &str)] = &[
    ([1, 1], "kern.ostype"),
    ([1, 2], "kern.osrelease"),
    ([1, 8], "kern.argmax"),
    ([1, 10], "kern.hostname"),
    ([1, 65], "kern.osversion"),
    ([6, 1], "hw.machine"),
    ([6, 2], "hw.model"),
    ([6, 3], "hw.ncpu"),
    ([6, 7], "hw.pagesize"),
    ([6, 24], "hw.memsize"),
    ([6, 25], "hw.activecpu"),
];

fn fail(e: c_int) -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = e };
    -1
}

/// Copies `value` out as sysctl does: the size alone when `oldp` is null,
/// ENOMEM when the buffer is too small; setting values is refused.
unsafe fn answer(
    value: Option<Vec<u8>>,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *const c_void,
) -> c_int {
    let Some(value) = value else {
        return fail(libc::ENOENT);
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

unsafe extern "C" fn sysctlbyname(
    name: *const c_char,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *const c_void,
    _newlen: usize,
) -> c_int {
    answer(
        sysctl_value(CStr::from_ptr(name).to_bytes()),
        oldp,
        oldlenp,
        newp,
    )
}

unsafe extern "C" fn sysctl(
    mib: *const c_int,
    len: c_uint,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *const c_void,
    _newlen: usize,
) -> c_int {
    let mib = std::slice::from_raw_parts(mib, len as usize);
    let name = MIBS.iter().find(|(m, _)| m[..] == *mib).map(|(_, n)| *n);
    answer(
        name.and_then(|n| sysctl_value(n.as_bytes())),
        oldp,
        oldlenp,
        newp,
    )
}

/// `sysctlnametomib(name, mib, &len)` for the names with a MIB above.
unsafe extern "C" fn sysctlnametomib(
    name: *const c_char,
    mib: *mut c_int,
    len: *mut usize,
) -> c_int {
    let name = CStr::from_ptr(name).to_bytes();
    let Some((m, _)) = MIBS.iter().find(|(_, n)| n.as_bytes() == name) else {
        return fail(libc::ENOENT);
    };
    if *len < m.len() {
        return fail(libc::ENOMEM);
    }
    std::ptr::copy_nonoverlapping(m.as_ptr(), mib, m.len());
    *len = m.len();
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_sysconf", sysconf as *const () as usize),
        ("_sysctlbyname", sysctlbyname as *const () as usize),
        ("_sysctl", sysctl as *const () as usize),
        ("_sysctlnametomib", sysctlnametomib as *const () as usize),
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
