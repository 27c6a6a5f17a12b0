//! `getpwuid`/`getpwnam` (and the `_r` forms): macOS's `struct passwd` has
//! `pw_change` and `pw_class` before `pw_gecos` and `pw_expire` at the end,
//! so `pw_dir` is at offset 48 where glibc has `pw_shell`'s neighbour. The
//! SQLite shell reads `pw_dir` to find `~/.sqliterc`.

use std::ffi::{c_char, c_int};
use std::sync::Mutex;

#[repr(C)]
#[derive(Clone, Copy)]
struct MacPasswd {
    name: *mut c_char,
    passwd: *mut c_char,
    uid: u32,
    gid: u32,
    change: i64,
    class: *mut c_char,
    gecos: *mut c_char,
    dir: *mut c_char,
    shell: *mut c_char,
    expire: i64,
}

const _: () = assert!(std::mem::size_of::<MacPasswd>() == 72);

/// The static entry `getpwuid`/`getpwnam` return (their strings stay in
/// glibc's static storage, valid until the next call, as on macOS).
struct Entry(MacPasswd);
// SAFETY: the pointers are only handed to the program, never dereferenced here.
unsafe impl Send for Entry {}
static ENTRY: Mutex<Option<Box<Entry>>> = Mutex::new(None);

fn to_mac(pw: &libc::passwd) -> MacPasswd {
    MacPasswd {
        name: pw.pw_name,
        passwd: pw.pw_passwd,
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        change: 0,
        class: c"".as_ptr() as *mut c_char,
        gecos: pw.pw_gecos,
        dir: pw.pw_dir,
        shell: pw.pw_shell,
        expire: 0,
    }
}

unsafe fn publish(pw: *mut libc::passwd) -> *mut MacPasswd {
    if pw.is_null() {
        return std::ptr::null_mut();
    }
    let mut slot = ENTRY.lock().unwrap_or_else(|e| e.into_inner());
    let entry = slot.get_or_insert_with(|| Box::new(Entry(to_mac(&*pw))));
    entry.0 = to_mac(&*pw);
    &mut entry.0
}

unsafe extern "C" fn getpwuid(uid: u32) -> *mut MacPasswd {
    publish(libc::getpwuid(uid))
}

unsafe extern "C" fn getpwnam(name: *const c_char) -> *mut MacPasswd {
    publish(libc::getpwnam(name))
}

/// The `_r` forms: glibc fills a Linux entry whose strings live in the
/// caller's buffer, which is then rewritten in the caller's macOS struct.
unsafe fn reentrant(
    out: *mut MacPasswd,
    result: *mut *mut MacPasswd,
    call: impl FnOnce(*mut libc::passwd, *mut *mut libc::passwd) -> c_int,
) -> c_int {
    let mut pw: libc::passwd = std::mem::zeroed();
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = call(&mut pw, &mut found);
    if rc == 0 && !found.is_null() {
        out.write(to_mac(&pw));
        *result = out;
    } else {
        *result = std::ptr::null_mut();
    }
    rc
}

unsafe extern "C" fn getpwuid_r(
    uid: u32,
    out: *mut MacPasswd,
    buf: *mut c_char,
    len: usize,
    result: *mut *mut MacPasswd,
) -> c_int {
    reentrant(out, result, |pw, found| {
        libc::getpwuid_r(uid, pw, buf, len, found)
    })
}

unsafe extern "C" fn getpwnam_r(
    name: *const c_char,
    out: *mut MacPasswd,
    buf: *mut c_char,
    len: usize,
    result: *mut *mut MacPasswd,
) -> c_int {
    reentrant(out, result, |pw, found| {
        libc::getpwnam_r(name, pw, buf, len, found)
    })
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_getpwuid", getpwuid as *const () as usize),
        ("_getpwnam", getpwnam as *const () as usize),
        ("_getpwuid_r", getpwuid_r as *const () as usize),
        ("_getpwnam_r", getpwnam_r as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn root_entry_in_macos_layout() {
        // SAFETY: uid 0 exists on any Linux host; the strings are C strings.
        unsafe {
            let pw = getpwuid(0);
            assert!(!pw.is_null());
            assert_eq!(CStr::from_ptr((*pw).name).to_bytes(), b"root");
            assert_eq!((*pw).uid, 0);
            assert!(!CStr::from_ptr((*pw).dir).to_bytes().is_empty());
            let mut out: MacPasswd = std::mem::zeroed();
            let mut res = std::ptr::null_mut();
            let mut buf = [0 as c_char; 1024];
            assert_eq!(
                getpwnam_r(c"root".as_ptr(), &mut out, buf.as_mut_ptr(), 1024, &mut res),
                0
            );
            assert_eq!(res, &raw mut out);
            assert_eq!(CStr::from_ptr(out.dir), CStr::from_ptr((*pw).dir));
        }
    }
}
