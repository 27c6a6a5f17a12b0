//! `funopen`: a stream over the program's own read/write/seek/close
//! functions, built on glibc's `fopencookie`.
//!
//! The callbacks differ in types (macOS passes `int` sizes and an `fpos_t`
//! by value; glibc `size_t` and an offset by pointer) and in contract (a
//! glibc write callback must write everything or report an error, while
//! macOS calls the program's write function again after a short write), so
//! adapters sit between. As on macOS, such a stream has no descriptor and a
//! buffer of BUFSIZ (1024) bytes, which decides the chunks the program's
//! functions see.

use super::file::MacFile;
use super::streams::adopt;
use std::ffi::{c_char, c_int, c_void};

type ReadFn = unsafe extern "C" fn(*mut c_void, *mut c_char, c_int) -> c_int;
type WriteFn = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;
type SeekFn = unsafe extern "C" fn(*mut c_void, i64, c_int) -> i64;
type CloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;

/// macOS's BUFSIZ, the buffer size of a stream without a descriptor.
const MAC_BUFSIZ: usize = 1024;

/// The program's cookie and functions, and the stream's buffer; owned by
/// the glibc stream, freed by its close.
struct Funcs {
    cookie: *mut c_void,
    read: Option<ReadFn>,
    write: Option<WriteFn>,
    seek: Option<SeekFn>,
    close: Option<CloseFn>,
    buf: [u8; MAC_BUFSIZ],
}

/// glibc's `cookie_io_functions_t`.
#[repr(C)]
struct CookieIo {
    read: Option<unsafe extern "C" fn(*mut c_void, *mut c_char, usize) -> isize>,
    write: Option<unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> isize>,
    seek: Option<unsafe extern "C" fn(*mut c_void, *mut i64, c_int) -> c_int>,
    close: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

extern "C" {
    fn fopencookie(cookie: *mut c_void, mode: *const c_char, io: CookieIo) -> *mut libc::FILE;
    fn setvbuf(f: *mut libc::FILE, buf: *mut c_char, mode: c_int, size: usize) -> c_int;
}

unsafe extern "C" fn read(c: *mut c_void, buf: *mut c_char, n: usize) -> isize {
    let f = &*(c as *const Funcs);
    let Some(read) = f.read else {
        return -1;
    };
    read(f.cookie, buf, n.min(c_int::MAX as usize) as c_int) as isize
}

unsafe extern "C" fn write(c: *mut c_void, buf: *const c_char, n: usize) -> isize {
    let f = &*(c as *const Funcs);
    let Some(write) = f.write else {
        return 0;
    };
    let mut done = 0;
    while done < n {
        let chunk = (n - done).min(c_int::MAX as usize) as c_int;
        let w = write(f.cookie, buf.add(done), chunk);
        if w <= 0 {
            break;
        }
        done += w as usize;
    }
    // glibc takes a short count as the error (it must not be negative).
    done as isize
}

unsafe extern "C" fn seek(c: *mut c_void, off: *mut i64, whence: c_int) -> c_int {
    let f = &*(c as *const Funcs);
    let Some(seek) = f.seek else {
        *libc::__errno_location() = libc::ESPIPE;
        return -1;
    };
    let at = seek(f.cookie, *off, whence);
    if at < 0 {
        return -1;
    }
    *off = at;
    0
}

unsafe extern "C" fn close(c: *mut c_void) -> c_int {
    let f = Box::from_raw(c as *mut Funcs);
    f.close.map_or(0, |close| close(f.cookie))
}

/// `funopen(cookie, readfn, writefn, seekfn, closefn)`.
pub unsafe extern "C" fn funopen(
    cookie: *mut c_void,
    readfn: Option<ReadFn>,
    writefn: Option<WriteFn>,
    seekfn: Option<SeekFn>,
    closefn: Option<CloseFn>,
) -> *mut MacFile {
    let mode = match (readfn.is_some(), writefn.is_some()) {
        (true, true) => c"r+",
        (true, false) => c"r",
        (false, true) => c"w",
        (false, false) => {
            *libc::__errno_location() = libc::EINVAL;
            return std::ptr::null_mut();
        }
    };
    let funcs = Box::into_raw(Box::new(Funcs {
        cookie,
        read: readfn,
        write: writefn,
        seek: seekfn,
        close: closefn,
        buf: [0; MAC_BUFSIZ],
    }));
    let io = CookieIo {
        read: Some(read),
        write: Some(write),
        seek: Some(seek),
        close: Some(close),
    };
    let h = fopencookie(funcs as *mut c_void, mode.as_ptr(), io);
    if h.is_null() {
        drop(Box::from_raw(funcs));
        return std::ptr::null_mut();
    }
    // A buffer of the program's size (glibc would pick 8192); glibc does
    // not free a buffer it was given, and close frees it with the rest.
    setvbuf(
        h,
        (*funcs).buf.as_mut_ptr() as *mut c_char,
        libc::_IOFBF,
        MAC_BUFSIZ,
    );
    adopt(h)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![("_funopen", funopen as *const () as usize)]
}
