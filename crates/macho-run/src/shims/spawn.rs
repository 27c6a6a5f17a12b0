//! `posix_spawn` and its attribute and file-action objects. On macOS
//! `posix_spawnattr_t` and `posix_spawn_file_actions_t` are one pointer
//! each (the library allocates the real object); glibc's are structures of
//! 336 and 80 bytes the caller provides. So the program's pointer-sized
//! object here holds a pointer to a glibc object on the heap. Flags and
//! signal sets are converted to Linux's numbering (Rust's
//! `std::process::Command` spawns through these calls).

use std::ffi::{c_char, c_int, c_short, CStr, CString};

type Attr = libc::posix_spawnattr_t;
type Actions = libc::posix_spawn_file_actions_t;

/// macOS `POSIX_SPAWN_*` flags with a Linux equivalent.
const SPAWN_FLAGS: &[(c_short, c_int)] = &[
    (0x01, libc::POSIX_SPAWN_RESETIDS),
    (0x02, libc::POSIX_SPAWN_SETPGROUP),
    (0x04, libc::POSIX_SPAWN_SETSIGDEF),
    (0x08, libc::POSIX_SPAWN_SETSIGMASK),
    (0x400, libc::POSIX_SPAWN_SETSID as c_int),
];

/// The glibc object behind a program's handle (null before `init`).
unsafe fn inner<T>(handle: *const *mut T) -> *mut T {
    if handle.is_null() {
        std::ptr::null_mut()
    } else {
        *handle
    }
}

unsafe extern "C" fn attr_init(handle: *mut *mut Attr) -> c_int {
    let attr = Box::into_raw(Box::new(std::mem::zeroed::<Attr>()));
    let rc = libc::posix_spawnattr_init(attr);
    if rc != 0 {
        drop(Box::from_raw(attr));
        return rc;
    }
    *handle = attr;
    0
}

unsafe extern "C" fn attr_destroy(handle: *mut *mut Attr) -> c_int {
    let attr = inner(handle);
    if attr.is_null() {
        return libc::EINVAL;
    }
    libc::posix_spawnattr_destroy(attr);
    drop(Box::from_raw(attr));
    *handle = std::ptr::null_mut();
    0
}

unsafe extern "C" fn attr_setflags(handle: *mut *mut Attr, flags: c_short) -> c_int {
    let known = SPAWN_FLAGS.iter().fold(0, |acc, (m, _)| acc | m);
    if flags & !known != 0 {
        // POSIX_SPAWN_SETEXEC, START_SUSPENDED, CLOEXEC_DEFAULT: Darwin's own.
        return libc::ENOTSUP;
    }
    let linux = SPAWN_FLAGS
        .iter()
        .filter(|(m, _)| flags & m != 0)
        .fold(0, |acc, (_, l)| acc | l);
    libc::posix_spawnattr_setflags(inner(handle), linux as c_short)
}

unsafe extern "C" fn attr_getflags(handle: *const *mut Attr, flags: *mut c_short) -> c_int {
    let mut linux: c_short = 0;
    let rc = libc::posix_spawnattr_getflags(inner(handle), &mut linux);
    if rc == 0 {
        *flags = SPAWN_FLAGS
            .iter()
            .filter(|(_, l)| c_int::from(linux) & l != 0)
            .fold(0, |acc, (m, _)| acc | m);
    }
    rc
}

unsafe extern "C" fn attr_setpgroup(handle: *mut *mut Attr, pgroup: libc::pid_t) -> c_int {
    libc::posix_spawnattr_setpgroup(inner(handle), pgroup)
}

unsafe extern "C" fn attr_setsigdefault(handle: *mut *mut Attr, set: *const u32) -> c_int {
    let set = super::signal::linux_set(*set);
    libc::posix_spawnattr_setsigdefault(inner(handle), &set)
}

unsafe extern "C" fn attr_setsigmask(handle: *mut *mut Attr, set: *const u32) -> c_int {
    let set = super::signal::linux_set(*set);
    libc::posix_spawnattr_setsigmask(inner(handle), &set)
}

unsafe extern "C" fn actions_init(handle: *mut *mut Actions) -> c_int {
    let actions = Box::into_raw(Box::new(std::mem::zeroed::<Actions>()));
    let rc = libc::posix_spawn_file_actions_init(actions);
    if rc != 0 {
        drop(Box::from_raw(actions));
        return rc;
    }
    *handle = actions;
    0
}

unsafe extern "C" fn actions_destroy(handle: *mut *mut Actions) -> c_int {
    let actions = inner(handle);
    if actions.is_null() {
        return libc::EINVAL;
    }
    libc::posix_spawn_file_actions_destroy(actions);
    drop(Box::from_raw(actions));
    *handle = std::ptr::null_mut();
    0
}

unsafe extern "C" fn actions_adddup2(handle: *mut *mut Actions, fd: c_int, to: c_int) -> c_int {
    libc::posix_spawn_file_actions_adddup2(inner(handle), fd, to)
}

unsafe extern "C" fn actions_addclose(handle: *mut *mut Actions, fd: c_int) -> c_int {
    libc::posix_spawn_file_actions_addclose(inner(handle), fd)
}

unsafe extern "C" fn actions_addopen(
    handle: *mut *mut Actions,
    fd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: libc::mode_t,
) -> c_int {
    let flags = super::fs::linux_open_flags(flags);
    libc::posix_spawn_file_actions_addopen(inner(handle), fd, path, flags, mode)
}

extern "C" {
    fn posix_spawn_file_actions_addchdir_np(actions: *mut Actions, path: *const c_char) -> c_int;
    fn posix_spawn_file_actions_addfchdir_np(actions: *mut Actions, fd: c_int) -> c_int;
}

unsafe extern "C" fn actions_addchdir(handle: *mut *mut Actions, path: *const c_char) -> c_int {
    posix_spawn_file_actions_addchdir_np(inner(handle), path)
}

unsafe extern "C" fn actions_addfchdir(handle: *mut *mut Actions, fd: c_int) -> c_int {
    posix_spawn_file_actions_addfchdir_np(inner(handle), fd)
}

/// Why `path` cannot be executed (an error number), if it cannot.
///
/// glibc's posix_spawn reports a failed exec through memory its child
/// shares with the parent (a vfork-style clone); under qemu-user, which
/// runs arm64 programs here, the child does not share it, so the failure
/// would become a child that exits 127. Checking first gives the program
/// the error macOS gives (Rust's `Command` turns it into `NotFound`).
unsafe fn exec_error(path: &CStr) -> Option<c_int> {
    if libc::access(path.as_ptr(), libc::X_OK) == 0 {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::stat(path.as_ptr(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return Some(libc::EACCES);
        }
        return None;
    }
    Some(*libc::__errno_location())
}

/// [`exec_error`] for a name looked up in `PATH` as `posix_spawnp` does.
unsafe fn search_error(file: &CStr) -> Option<c_int> {
    if file.to_bytes().contains(&b'/') {
        return exec_error(file);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let mut error = libc::ENOENT;
    for dir in std::env::split_paths(&path) {
        let mut candidate = std::os::unix::ffi::OsStrExt::as_bytes(dir.as_os_str()).to_vec();
        if candidate.is_empty() {
            candidate.push(b'.');
        }
        candidate.push(b'/');
        candidate.extend_from_slice(file.to_bytes());
        let Ok(candidate) = CString::new(candidate) else {
            continue;
        };
        match exec_error(&candidate) {
            None => return None,
            Some(libc::EACCES) => error = libc::EACCES,
            Some(_) => {}
        }
    }
    Some(error)
}

unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    actions: *const *mut Actions,
    attr: *const *mut Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    // A relative path is relative to the child's working directory, which
    // file actions may change: only absolute ones are checked.
    if *path == b'/' as c_char {
        if let Some(e) = exec_error(CStr::from_ptr(path)) {
            return e;
        }
    }
    libc::posix_spawn(pid, path, inner(actions), inner(attr), argv, envp)
}

unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const c_char,
    actions: *const *mut Actions,
    attr: *const *mut Attr,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    let name = CStr::from_ptr(file);
    if *file == b'/' as c_char || !name.to_bytes().contains(&b'/') {
        if let Some(e) = search_error(name) {
            return e;
        }
    }
    libc::posix_spawnp(pid, file, inner(actions), inner(attr), argv, envp)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_posix_spawn", posix_spawn as *const () as usize),
        ("_posix_spawnp", posix_spawnp as *const () as usize),
        ("_posix_spawnattr_init", attr_init as *const () as usize),
        (
            "_posix_spawnattr_destroy",
            attr_destroy as *const () as usize,
        ),
        (
            "_posix_spawnattr_setflags",
            attr_setflags as *const () as usize,
        ),
        (
            "_posix_spawnattr_getflags",
            attr_getflags as *const () as usize,
        ),
        (
            "_posix_spawnattr_setpgroup",
            attr_setpgroup as *const () as usize,
        ),
        (
            "_posix_spawnattr_setsigdefault",
            attr_setsigdefault as *const () as usize,
        ),
        (
            "_posix_spawnattr_setsigmask",
            attr_setsigmask as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_init",
            actions_init as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_destroy",
            actions_destroy as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_adddup2",
            actions_adddup2 as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_addclose",
            actions_addclose as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_addopen",
            actions_addopen as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_addchdir_np",
            actions_addchdir as *const () as usize,
        ),
        (
            "_posix_spawn_file_actions_addfchdir_np",
            actions_addfchdir as *const () as usize,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawns_with_pointer_sized_objects_and_macos_flags() {
        // SAFETY: the handles are pointer-sized, as on macOS; the argument
        // vectors are null-terminated C strings.
        unsafe {
            let mut attr: *mut Attr = std::ptr::null_mut();
            let mut actions: *mut Actions = std::ptr::null_mut();
            assert_eq!(attr_init(&mut attr), 0);
            assert_eq!(actions_init(&mut actions), 0);
            assert_eq!(attr_setflags(&mut attr, 0x04 | 0x08), 0);
            let mut flags = 0;
            assert_eq!(attr_getflags(&attr, &mut flags), 0);
            assert_eq!(flags, 0x0c);
            assert_eq!(attr_setflags(&mut attr, 0x40), libc::ENOTSUP);
            let all: u32 = !0;
            assert_eq!(attr_setsigdefault(&mut attr, &all), 0);
            assert_eq!(actions_addchdir(&mut actions, c"/".as_ptr()), 0);
            let argv = [
                c"sh".as_ptr().cast_mut(),
                c"-c".as_ptr().cast_mut(),
                c"test \"$PWD\" = / && exit 7".as_ptr().cast_mut(),
                std::ptr::null_mut(),
            ];
            let envp = [std::ptr::null_mut()];
            let mut pid = 0;
            let rc = posix_spawnp(
                &mut pid,
                c"sh".as_ptr(),
                &actions,
                &attr,
                argv.as_ptr(),
                envp.as_ptr(),
            );
            assert_eq!(rc, 0);
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert_eq!(libc::WEXITSTATUS(status), 7);
            let missing = posix_spawnp(
                &mut pid,
                c"/nonexistent/program".as_ptr(),
                &actions,
                &attr,
                argv.as_ptr(),
                envp.as_ptr(),
            );
            assert_eq!(missing, libc::ENOENT);
            assert_eq!(attr_destroy(&mut attr), 0);
            assert_eq!(actions_destroy(&mut actions), 0);
        }
    }
}
