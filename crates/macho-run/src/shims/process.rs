//! Process-level pieces of libSystem: program arguments, exit handlers, the
//! stack protector, assertions, and dyld entry points a program may import.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// `argc`/`argv`/`environ` as handed to the program, for `_NSGetArgc` and
/// friends; set once before initialisers run.
pub static ARGC: AtomicU64 = AtomicU64::new(0);
pub static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());
pub static PROGNAME: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());

/// The program's view of its arguments, laid out as macOS's C runtime
/// variables (`NXArgc` is an int, the rest are pointers).
#[repr(C)]
pub struct ProgramVars {
    pub nx_argc: c_int,
    pub nx_argv: *mut *mut c_char,
    pub progname: *mut c_char,
}

pub static mut VARS: ProgramVars = ProgramVars {
    nx_argc: 0,
    nx_argv: std::ptr::null_mut(),
    progname: std::ptr::null_mut(),
};

extern "C" {
    static mut environ: *mut *mut c_char;
    // glibc's own idea of the program's name (`__progname` is the short
    // one), which its `warn`/`err`/`error` print.
    static mut program_invocation_name: *mut c_char;
    static mut program_invocation_short_name: *mut c_char;
    fn __cxa_atexit(f: extern "C" fn(*mut c_void), arg: *mut c_void, dso: *mut c_void) -> c_int;
}

/// Records the arguments for the `_NSGet*` accessors.
///
/// # Safety
/// `argv` must hold `argc` valid C strings followed by a null pointer, and
/// live for the rest of the process.
pub unsafe fn set_args(argc: usize, argv: *mut *mut c_char) {
    ARGC.store(argc as u64, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
    // SAFETY: argv[0] is a valid C string when argc > 0; VARS is written
    // once, before the program (the only other reader) starts.
    unsafe {
        let progname = if argc > 0 {
            let full = CStr::from_ptr(*argv).to_bytes();
            let base = full.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
            (*argv).add(base)
        } else {
            std::ptr::null_mut()
        };
        PROGNAME.store(progname, Ordering::Relaxed);
        if argc > 0 {
            program_invocation_name = *argv;
            program_invocation_short_name = progname;
        }
        VARS = ProgramVars {
            nx_argc: argc as c_int,
            nx_argv: argv,
            progname,
        };
    }
}

extern "C" fn ns_get_argc() -> *mut c_int {
    // SAFETY: only the address is taken.
    unsafe { &raw mut VARS.nx_argc }
}

extern "C" fn ns_get_argv() -> *mut *mut *mut c_char {
    // SAFETY: only the address is taken.
    unsafe { &raw mut VARS.nx_argv }
}

extern "C" fn ns_get_environ() -> *mut *mut *mut c_char {
    &raw mut environ
}

extern "C" fn ns_get_progname() -> *mut *mut c_char {
    // SAFETY: only the address is taken.
    unsafe { &raw mut VARS.progname }
}

/// `_NSGetExecutablePath(buf, &size)`: 0 and the path, or -1 and the size needed.
extern "C" fn ns_get_executable_path(buf: *mut c_char, size: *mut u32) -> c_int {
    // SAFETY: VARS.nx_argv[0] is the program path; buf holds *size bytes.
    unsafe {
        let path = CStr::from_ptr(*VARS.nx_argv).to_bytes_with_nul();
        if path.len() > *size as usize {
            *size = path.len() as u32;
            return -1;
        }
        std::ptr::copy_nonoverlapping(path.as_ptr() as *const c_char, buf, path.len());
        0
    }
}

/// glibc keeps `atexit` in libc_nonshared.a, so it is not in libc.so; this
/// is what that wrapper does.
extern "C" fn atexit(f: extern "C" fn()) -> c_int {
    // SAFETY: calling a no-argument function with one argument in a
    // register is harmless in the System V ABI.
    unsafe {
        let f: extern "C" fn(*mut c_void) = std::mem::transmute(f);
        __cxa_atexit(f, std::ptr::null_mut(), std::ptr::null_mut())
    }
}

/// The stack-protector canary the program compares against.
static STACK_CHK_GUARD: AtomicU64 = AtomicU64::new(0);

extern "C" fn stack_chk_fail() -> ! {
    eprintln!("macho-run: stack buffer overflow detected (__stack_chk_fail)");
    // SAFETY: abort is always safe to call.
    unsafe { libc::abort() }
}

/// `__assert_rtn(func, file, line, expr)`, with macOS's message.
extern "C" fn assert_rtn(
    func: *const c_char,
    file: *const c_char,
    line: c_int,
    expr: *const c_char,
) -> ! {
    let s = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: the arguments are C strings from the program.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    if func.is_null() {
        eprintln!(
            "Assertion failed: ({}), file {}, line {}.",
            s(expr),
            s(file),
            line
        );
    } else {
        eprintln!(
            "Assertion failed: ({}), function {}, file {}, line {}.",
            s(expr),
            s(func),
            s(file),
            line
        );
    }
    // SAFETY: abort is always safe to call.
    unsafe { libc::abort() }
}

/// Lazy binding goes through `dyld_stub_binder`, but macho-run binds every
/// lazy pointer at load time, so reaching it means a lazy pointer was missed.
extern "C" fn dyld_stub_binder() -> ! {
    eprintln!("macho-run: dyld_stub_binder called: a lazy pointer was not bound at load time");
    // SAFETY: abort is always safe to call.
    unsafe { libc::abort() }
}

pub fn table() -> Vec<(&'static str, usize)> {
    let guard = {
        let mut bytes = [0u8; 8];
        // SAFETY: getrandom writes at most 8 bytes into bytes.
        unsafe { libc::getrandom(bytes.as_mut_ptr() as *mut c_void, 8, 0) };
        // Like glibc, keep a zero low byte so string overflows stop at it.
        u64::from_le_bytes(bytes) & !0xff
    };
    STACK_CHK_GUARD.store(guard, Ordering::Relaxed);
    vec![
        ("__NSGetArgc", ns_get_argc as *const () as usize),
        ("__NSGetArgv", ns_get_argv as *const () as usize),
        ("__NSGetEnviron", ns_get_environ as *const () as usize),
        ("__NSGetProgname", ns_get_progname as *const () as usize),
        (
            "__NSGetExecutablePath",
            ns_get_executable_path as *const () as usize,
        ),
        // SAFETY (all three): only addresses are taken.
        ("_NXArgc", unsafe { &raw mut VARS.nx_argc } as usize),
        ("_NXArgv", unsafe { &raw mut VARS.nx_argv } as usize),
        ("___progname", unsafe { &raw mut VARS.progname } as usize),
        ("_atexit", atexit as *const () as usize),
        ("___stack_chk_guard", STACK_CHK_GUARD.as_ptr() as usize),
        ("___stack_chk_fail", stack_chk_fail as *const () as usize),
        ("___assert_rtn", assert_rtn as *const () as usize),
        (
            "dyld_stub_binder",
            if std::env::var_os(super::lazy::LAZY_ENV).is_some() {
                crate::arch::macho_run_stub_binder as *const () as usize
            } else {
                dyld_stub_binder as *const () as usize
            },
        ),
    ]
}
