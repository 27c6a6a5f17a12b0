//! The stand-in for libSystem: macOS symbol names resolved to the host C
//! library, with shims wherever macOS and glibc differ in name, layout or
//! constants.

mod arc4random;
mod copyfile;
mod ctype;
mod cxa_thread_atexit;
mod darwin_rt;
mod dispatch;
pub(crate) mod errno;
mod fcntl;
mod fs;
pub mod lazy;
mod libc_extras;
mod mach;
mod malloc_zone;
mod mman;
mod process;
mod pthread;
mod pwd;
pub(crate) mod setjmp;
mod signal;
mod socket;
mod spawn;
mod statfs;
mod stdio;
mod sysinfo;
mod thread_port;
pub mod tlv;
mod ulock;
pub mod variadic;
pub(crate) mod xlocale;

pub use process::{set_args, ProgramVars, VARS};

use std::collections::HashMap;
use std::ffi::CString;

/// macOS names whose glibc counterpart has another name but the same
/// meaning and layout (data symbols included: their address is what binds).
const RENAMES: &[(&str, &str)] = &[("___exp10", "exp10"), ("___exp10f", "exp10f")];

/// `$INODE64` variants whose arguments do not depend on the inode size, so
/// the glibc function of the base name is right. Every other `$INODE64`
/// symbol needs a layout-converting shim (or stays unbound).
const INODE64_SAFE: &[&str] = &[
    "opendir",
    "fdopendir",
    "rewinddir",
    "seekdir",
    "telldir",
    "dirfd",
];

/// Functions with a `$INODE64` variant on x86_64 macOS: their structures
/// (`stat`, `dirent`, `statfs`, `glob_t`, `FTSENT`...) hold 64-bit inodes.
/// arm64 macOS has only that layout, under the plain names.
const INODE64: &[&str] = &[
    "stat",
    "lstat",
    "fstat",
    "fstatat",
    "statfs",
    "fstatfs",
    "getfsstat",
    "getmntinfo",
    "getmntinfo_r_np",
    "readdir",
    "readdir_r",
    "scandir",
    "scandir_b",
    "alphasort",
    "glob",
    "glob_b",
    "globfree",
    "fts_open",
    "fts_open_b",
    "fts_read",
    "fts_children",
    "fts_close",
    "fts_set",
    "opendir",
    "fdopendir",
    "rewinddir",
    "seekdir",
    "telldir",
    "dirfd",
];

/// Resolves macOS symbol names to addresses in this process.
pub struct Host {
    shims: HashMap<&'static str, usize>,
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    pub fn new() -> Host {
        // libSystem includes the math library; glibc keeps it apart.
        load_libm();
        let shims = [
            arc4random::table(),
            copyfile::table(),
            ctype::table(),
            cxa_thread_atexit::table(),
            darwin_rt::table(),
            dispatch::table(),
            errno::table(),
            fcntl::table(),
            fs::table(),
            libc_extras::table(),
            mach::table(),
            malloc_zone::table(),
            mman::table(),
            process::table(),
            pthread::table(),
            pwd::table(),
            setjmp::table(),
            signal::table(),
            socket::table(),
            spawn::table(),
            statfs::table(),
            stdio::table(),
            sysinfo::table(),
            thread_port::table(),
            tlv::table(),
            ulock::table(),
            xlocale::table(),
            // macho-run's own unwinder: never the host's libgcc_s, which
            // cannot read Mach-O unwind info.
            crate::unwind::table(),
            crate::arch::shims(),
            // Last: on arm64 its entry points replace the x86_64-convention
            // shims of the same names (`_open`, `_fcntl`).
            variadic::table(),
        ]
        .into_iter()
        .flatten()
        .collect();
        Host { shims }
    }

    /// The address for a macOS symbol (`_printf`, `___stdoutp`, ...), or
    /// None when neither a shim nor the host C library has it.
    pub fn lookup(&self, name: &str) -> Option<u64> {
        if let Some(&addr) = self.shims.get(name) {
            return Some(addr as u64);
        }
        // The unwinder's other entry points are not the host's either: the
        // host's would read ELF unwind tables (and hide a linker's bugs).
        if crate::unwind::is_unwinder_symbol(name) {
            return None;
        }
        if let Some((_, to)) = RENAMES.iter().find(|(from, _)| *from == name) {
            return dlsym(to);
        }
        if let Some(to) = crate::arch::rename(name) {
            return dlsym(to);
        }
        if crate::arch::unsupported(name) {
            return None;
        }
        // C symbols carry a leading underscore on macOS; others (rare in
        // libSystem) have no glibc equivalent.
        let c_name = name.strip_prefix('_')?;
        let (base, suffix) = match c_name.split_once('$') {
            Some((base, suffix)) => (base, Some(suffix)),
            None => (c_name, None),
        };
        if suffix.is_none() && crate::arch::PLAIN_NAMES_ARE_INODE64 && INODE64.contains(&base) {
            // The plain name has the layout `$INODE64` has on x86_64.
            let inode64 = format!("_{base}$INODE64");
            if let Some(&addr) = self.shims.get(inode64.as_str()) {
                return Some(addr as u64);
            }
            if !INODE64_SAFE.contains(&base) {
                return None;
            }
        }
        if let Some(suffix) = suffix {
            if suffix.contains("INODE64") && !INODE64_SAFE.contains(&base) {
                return None;
            }
            // `$UNIX2003`, `$NOCANCEL`, `$DARWIN_EXTSN`, `$1050`: variants
            // of the same function, which glibc has under the plain name.
            if let Some(&addr) = self.shims.get(format!("_{base}").as_str()) {
                return Some(addr as u64);
            }
        }
        // Never glibc's: it would read the arguments from the wrong place.
        if variadic::refused(name) {
            return None;
        }
        dlsym(base)
    }
}

/// glibc's math library, loaded into the global scope (libSystem includes
/// it; glibc keeps it apart), as a handle for `dlsym`. Loaded at run time,
/// not linked: see `libc_extras::libm`.
pub(super) fn load_libm() -> *mut std::ffi::c_void {
    // SAFETY: dlopen of a system library by its soname.
    unsafe { libc::dlopen(c"libm.so.6".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) }
}

fn dlsym(name: &str) -> Option<u64> {
    let c = CString::new(name).ok()?;
    // SAFETY: RTLD_DEFAULT searches the global scope; c is NUL-terminated.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    (!p.is_null()).then_some(p as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_plain_renamed_suffixed_and_shimmed_names() {
        let host = Host::new();
        assert!(host.lookup("_printf").is_some());
        assert!(host.lookup("_sqrt").is_some(), "libm must be searched");
        assert_eq!(host.lookup("_strlen"), dlsym("strlen"));
        assert_eq!(host.lookup("_opendir$INODE64"), dlsym("opendir"));
        assert_eq!(host.lookup("_fopen$DARWIN_EXTSN"), host.lookup("_fopen"));
        assert_ne!(host.lookup("_fopen"), dlsym("fopen"), "FILEs are macOS's");
        assert_ne!(host.lookup("___stdoutp"), dlsym("stdout"));
        assert_ne!(host.lookup("_stat$INODE64"), dlsym("stat"));
        assert!(host.lookup("_glob$INODE64").is_none());
        assert!(host.lookup("_no_such_function_anywhere").is_none());
        assert!(host.lookup("__Unwind_RaiseException").is_some());
        assert_ne!(
            host.lookup("__Unwind_RaiseException"),
            dlsym("_Unwind_RaiseException"),
            "never the host's unwinder"
        );
        assert!(
            host.lookup("__Unwind_Find_FDE").is_none(),
            "libgcc_s has it, and it reads ELF tables"
        );
        assert!(
            host.lookup("printf").is_none(),
            "no underscore: not a C symbol"
        );
    }
}
