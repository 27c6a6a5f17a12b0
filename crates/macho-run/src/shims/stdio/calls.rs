//! libSystem's stdio functions on macOS FILEs: each opens a session on the
//! stream (see [`super::streams`]) and calls glibc's function on the glibc
//! stream behind it. Functions that use `stdin`/`stdout`/`stderr`
//! implicitly use the program's `__stdinp`/`__stdoutp`/`__stderrp`, which
//! the program may have reassigned.

use super::file::MacFile;
use super::streams::{self, adopt, reading, release, with, Session, STDERRP, STDINP, STDOUTP};
use std::ffi::{c_char, c_int, c_long, c_void};

type Host = *mut libc::FILE;
/// A `va_list` argument: a pointer to a glibc `va_list`. On x86_64 that is
/// the caller's own (macOS's is the same); on arm64 one that
/// [`super::variadic`] builds over Apple's argument slots.
pub type VaList = *mut c_void;
type WInt = u32;
type WChar = i32;

const EOF: c_int = libc::EOF;
const WEOF: WInt = 0xffff_ffff;

mod host {
    use super::{Host, VaList, WChar, WInt};
    use std::ffi::{c_char, c_int, c_long, c_void};

    extern "C" {
        pub fn getc_unlocked(f: Host) -> c_int;
        pub fn putc_unlocked(c: c_int, f: Host) -> c_int;
        pub fn fgets(s: *mut c_char, n: c_int, f: Host) -> *mut c_char;
        pub fn fputs(s: *const c_char, f: Host) -> c_int;
        pub fn fread(p: *mut c_void, size: usize, n: usize, f: Host) -> usize;
        pub fn fwrite(p: *const c_void, size: usize, n: usize, f: Host) -> usize;
        pub fn fseek(f: Host, off: c_long, whence: c_int) -> c_int;
        pub fn fseeko(f: Host, off: i64, whence: c_int) -> c_int;
        pub fn ftell(f: Host) -> c_long;
        pub fn ftello(f: Host) -> i64;
        pub fn rewind(f: Host);
        pub fn fflush(f: Host) -> c_int;
        pub fn fclose(f: Host) -> c_int;
        pub fn pclose(f: Host) -> c_int;
        pub fn feof(f: Host) -> c_int;
        pub fn ferror(f: Host) -> c_int;
        pub fn clearerr(f: Host);
        pub fn fileno(f: Host) -> c_int;
        pub fn setvbuf(f: Host, buf: *mut c_char, mode: c_int, size: usize) -> c_int;
        pub fn setbuffer(f: Host, buf: *mut c_char, size: usize);
        pub fn setlinebuf(f: Host);
        pub fn ungetc(c: c_int, f: Host) -> c_int;
        pub fn getdelim(line: *mut *mut c_char, cap: *mut usize, delim: c_int, f: Host) -> isize;
        pub fn getw(f: Host) -> c_int;
        pub fn putw(w: c_int, f: Host) -> c_int;
        pub fn fopen(path: *const c_char, mode: *const c_char) -> Host;
        pub fn fdopen(fd: c_int, mode: *const c_char) -> Host;
        pub fn freopen(path: *const c_char, mode: *const c_char, f: Host) -> Host;
        pub fn popen(cmd: *const c_char, mode: *const c_char) -> Host;
        pub fn tmpfile() -> Host;
        pub fn fmemopen(buf: *mut c_void, size: usize, mode: *const c_char) -> Host;
        pub fn open_memstream(buf: *mut *mut c_char, size: *mut usize) -> Host;
        pub fn open_wmemstream(buf: *mut *mut WChar, size: *mut usize) -> Host;
        pub fn flockfile(f: Host);
        pub fn funlockfile(f: Host);
        pub fn ftrylockfile(f: Host) -> c_int;
        pub fn __fpurge(f: Host);
        pub fn vfprintf(f: Host, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vfscanf(f: Host, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn fgetwc(f: Host) -> WInt;
        pub fn fputwc(c: WChar, f: Host) -> WInt;
        pub fn fgetws(s: *mut WChar, n: c_int, f: Host) -> *mut WChar;
        pub fn fputws(s: *const WChar, f: Host) -> c_int;
        pub fn ungetwc(c: WInt, f: Host) -> WInt;
        pub fn fwide(f: Host, mode: c_int) -> c_int;
        pub fn vfwprintf(f: Host, fmt: *const WChar, ap: VaList) -> c_int;
        pub fn vfwscanf(f: Host, fmt: *const WChar, ap: VaList) -> c_int;
        pub fn vwarn(fmt: *const c_char, ap: VaList);
        pub fn vwarnx(fmt: *const c_char, ap: VaList);
        pub fn verr(status: c_int, fmt: *const c_char, ap: VaList) -> !;
        pub fn verrx(status: c_int, fmt: *const c_char, ap: VaList) -> !;
    }
}

type File = *mut MacFile;

/// `__srget`: the `getc` macro found the buffer empty; refill it.
pub unsafe extern "C" fn srget(m: File) -> c_int {
    reading(m, EOF, |h| host::getc_unlocked(h))
}

/// `__swbuf`: the `putc` macro found the buffer full, or wrote a newline to
/// a line-buffered stream, or the stream is unbuffered.
pub unsafe extern "C" fn swbuf(c: c_int, m: File) -> c_int {
    with(m, EOF, |h| host::putc_unlocked(c, h))
}

pub unsafe extern "C" fn fgetc(m: File) -> c_int {
    reading(m, EOF, |h| host::getc_unlocked(h))
}

pub unsafe extern "C" fn fputc(c: c_int, m: File) -> c_int {
    with(m, EOF, |h| host::putc_unlocked(c, h))
}

pub unsafe extern "C" fn getchar() -> c_int {
    fgetc(STDINP)
}

pub unsafe extern "C" fn putchar(c: c_int) -> c_int {
    fputc(c, STDOUTP)
}

pub unsafe extern "C" fn fgets(s: *mut c_char, n: c_int, m: File) -> *mut c_char {
    reading(m, std::ptr::null_mut(), |h| host::fgets(s, n, h))
}

/// `gets`: a line of stdin without its newline (no bound, as ever).
pub unsafe extern "C" fn gets(s: *mut c_char) -> *mut c_char {
    reading(STDINP, std::ptr::null_mut(), |h| {
        let mut n = 0;
        loop {
            let c = host::getc_unlocked(h);
            if c == EOF {
                if n == 0 || host::ferror(h) != 0 {
                    return std::ptr::null_mut();
                }
                break;
            }
            if c == c_int::from(b'\n') {
                break;
            }
            *s.add(n) = c as c_char;
            n += 1;
        }
        *s.add(n) = 0;
        s
    })
}

pub unsafe extern "C" fn fputs(s: *const c_char, m: File) -> c_int {
    with(m, EOF, |h| host::fputs(s, h))
}

pub unsafe extern "C" fn puts(s: *const c_char) -> c_int {
    with(STDOUTP, EOF, |h| {
        if host::fputs(s, h) == EOF || host::putc_unlocked(c_int::from(b'\n'), h) == EOF {
            EOF
        } else {
            c_int::from(b'\n')
        }
    })
}

pub unsafe extern "C" fn fread(p: *mut c_void, size: usize, n: usize, m: File) -> usize {
    reading(m, 0, |h| host::fread(p, size, n, h))
}

pub unsafe extern "C" fn fwrite(p: *const c_void, size: usize, n: usize, m: File) -> usize {
    with(m, 0, |h| host::fwrite(p, size, n, h))
}

pub unsafe extern "C" fn fseek(m: File, off: c_long, whence: c_int) -> c_int {
    with(m, -1, |h| host::fseek(h, off, whence))
}

pub unsafe extern "C" fn fseeko(m: File, off: i64, whence: c_int) -> c_int {
    with(m, -1, |h| host::fseeko(h, off, whence))
}

pub unsafe extern "C" fn ftell(m: File) -> c_long {
    with(m, -1, |h| host::ftell(h))
}

pub unsafe extern "C" fn ftello(m: File) -> i64 {
    with(m, -1, |h| host::ftello(h))
}

pub unsafe extern "C" fn rewind(m: File) {
    with(m, (), |h| host::rewind(h))
}

/// macOS `fpos_t` is an `off_t` (glibc's is a struct with a shift state).
pub unsafe extern "C" fn fgetpos(m: File, pos: *mut i64) -> c_int {
    with(m, -1, |h| {
        let at = host::ftello(h);
        if at < 0 {
            return -1;
        }
        *pos = at;
        0
    })
}

pub unsafe extern "C" fn fsetpos(m: File, pos: *const i64) -> c_int {
    with(m, -1, |h| host::fseeko(h, *pos, libc::SEEK_SET))
}

pub unsafe extern "C" fn fflush(m: File) -> c_int {
    if m.is_null() {
        return streams::flush_all();
    }
    with(m, EOF, |h| host::fflush(h))
}

/// Syncs and unlocks `m`, marks it closed and runs `close` on its glibc
/// stream.
unsafe fn close_with(m: File, close: unsafe extern "C" fn(Host) -> c_int) -> c_int {
    let Some(s) = Session::open(m) else {
        return EOF;
    };
    let h = s.host();
    drop(s);
    let lb = release(m);
    let rc = close(h);
    libc::free(lb as *mut c_void);
    rc
}

pub unsafe extern "C" fn fclose(m: File) -> c_int {
    close_with(m, host::fclose)
}

pub unsafe extern "C" fn pclose(m: File) -> c_int {
    close_with(m, host::pclose)
}

pub unsafe extern "C" fn feof(m: File) -> c_int {
    with(m, 0, |h| host::feof(h))
}

pub unsafe extern "C" fn ferror(m: File) -> c_int {
    with(m, 0, |h| host::ferror(h))
}

pub unsafe extern "C" fn clearerr(m: File) {
    with(m, (), |h| host::clearerr(h))
}

pub unsafe extern "C" fn fileno(m: File) -> c_int {
    with(m, -1, |h| host::fileno(h))
}

pub unsafe extern "C" fn setvbuf(m: File, buf: *mut c_char, mode: c_int, size: usize) -> c_int {
    with(m, EOF, |h| host::setvbuf(h, buf, mode, size))
}

pub unsafe extern "C" fn setbuf(m: File, buf: *mut c_char) {
    let mode = if buf.is_null() {
        libc::_IONBF
    } else {
        libc::_IOFBF
    };
    // macOS's BUFSIZ: the size a setbuf buffer has.
    setvbuf(m, buf, mode, 1024);
}

pub unsafe extern "C" fn setbuffer(m: File, buf: *mut c_char, size: c_int) {
    with(m, (), |h| host::setbuffer(h, buf, size.max(0) as usize))
}

pub unsafe extern "C" fn setlinebuf(m: File) -> c_int {
    with(m, EOF, |h| {
        host::setlinebuf(h);
        0
    })
}

pub unsafe extern "C" fn fpurge(m: File) -> c_int {
    with(m, EOF, |h| {
        host::__fpurge(h);
        0
    })
}

pub unsafe extern "C" fn ungetc(c: c_int, m: File) -> c_int {
    with(m, EOF, |h| host::ungetc(c, h))
}

pub unsafe extern "C" fn getdelim(
    line: *mut *mut c_char,
    cap: *mut usize,
    delim: c_int,
    m: File,
) -> isize {
    reading(m, -1, |h| host::getdelim(line, cap, delim, h))
}

pub unsafe extern "C" fn getline(line: *mut *mut c_char, cap: *mut usize, m: File) -> isize {
    getdelim(line, cap, c_int::from(b'\n'), m)
}

/// `fgetln`: the next line (newline included if there is one), not
/// NUL-terminated, in a buffer of the stream's own (`_lb`, as on macOS)
/// that the next call reuses.
pub unsafe extern "C" fn fgetln(m: File, len: *mut usize) -> *mut c_char {
    reading(m, std::ptr::null_mut(), |h| {
        let lb = &mut (*m).lb;
        let mut buf = lb.base.cast::<c_char>();
        let mut cap = lb.size.max(0) as usize;
        let n = host::getdelim(&mut buf, &mut cap, c_int::from(b'\n'), h);
        lb.base = buf.cast::<u8>();
        lb.size = cap.min(c_int::MAX as usize) as c_int;
        if n <= 0 {
            return std::ptr::null_mut();
        }
        *len = n as usize;
        buf
    })
}

pub unsafe extern "C" fn getw(m: File) -> c_int {
    reading(m, EOF, |h| host::getw(h))
}

pub unsafe extern "C" fn putw(w: c_int, m: File) -> c_int {
    with(m, EOF, |h| host::putw(w, h))
}

pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> File {
    adopt(host::fopen(path, mode))
}

pub unsafe extern "C" fn fdopen(fd: c_int, mode: *const c_char) -> File {
    adopt(host::fdopen(fd, mode))
}

pub unsafe extern "C" fn popen(cmd: *const c_char, mode: *const c_char) -> File {
    adopt(host::popen(cmd, mode))
}

pub unsafe extern "C" fn tmpfile() -> File {
    adopt(host::tmpfile())
}

pub unsafe extern "C" fn fmemopen(buf: *mut c_void, size: usize, mode: *const c_char) -> File {
    adopt(host::fmemopen(buf, size, mode))
}

pub unsafe extern "C" fn open_memstream(buf: *mut *mut c_char, size: *mut usize) -> File {
    adopt(host::open_memstream(buf, size))
}

pub unsafe extern "C" fn open_wmemstream(buf: *mut *mut WChar, size: *mut usize) -> File {
    adopt(host::open_wmemstream(buf, size))
}

/// `freopen`: the same FILE, now over the new file (glibc reopens its
/// stream in place); closed, and null, when that fails.
pub unsafe extern "C" fn freopen(path: *const c_char, mode: *const c_char, m: File) -> File {
    let Some(s) = Session::open(m) else {
        return std::ptr::null_mut();
    };
    let h = s.host();
    drop(s);
    let nh = host::freopen(path, mode, h);
    if nh.is_null() {
        libc::free(release(m) as *mut c_void);
        return std::ptr::null_mut();
    }
    (*m).cookie = nh as *mut c_void;
    host::flockfile(nh);
    super::file::load(m, nh);
    host::funlockfile(nh);
    m
}

pub unsafe extern "C" fn flockfile(m: File) {
    if let Some(h) = host_of(m) {
        host::flockfile(h);
    }
}

pub unsafe extern "C" fn funlockfile(m: File) {
    if let Some(h) = host_of(m) {
        host::funlockfile(h);
    }
}

pub unsafe extern "C" fn ftrylockfile(m: File) -> c_int {
    host_of(m).map_or(-1, |h| host::ftrylockfile(h))
}

unsafe fn host_of(m: File) -> Option<Host> {
    if m.is_null() {
        return None;
    }
    let h = (*m).host();
    (!h.is_null()).then_some(h)
}

pub unsafe extern "C" fn vfprintf(m: File, fmt: *const c_char, ap: VaList) -> c_int {
    with(m, -1, |h| host::vfprintf(h, fmt, ap))
}

pub unsafe extern "C" fn vprintf(fmt: *const c_char, ap: VaList) -> c_int {
    vfprintf(STDOUTP, fmt, ap)
}

pub unsafe extern "C" fn vfscanf(m: File, fmt: *const c_char, ap: VaList) -> c_int {
    reading(m, EOF, |h| host::vfscanf(h, fmt, ap))
}

pub unsafe extern "C" fn vscanf(fmt: *const c_char, ap: VaList) -> c_int {
    vfscanf(STDINP, fmt, ap)
}

/// `perror` as macOS writes it: stderr is flushed, then the message goes
/// straight to its descriptor.
pub unsafe extern "C" fn perror(s: *const c_char) {
    let errno = crate::shims::errno::linux_current();
    let mut msg = Vec::new();
    if !s.is_null() && *s != 0 {
        msg.extend_from_slice(std::ffi::CStr::from_ptr(s).to_bytes());
        msg.extend_from_slice(b": ");
    }
    msg.extend_from_slice(std::ffi::CStr::from_ptr(libc::strerror(errno)).to_bytes());
    msg.push(b'\n');
    let fd = with(STDERRP, libc::STDERR_FILENO, |h| {
        host::fflush(h);
        host::fileno(h)
    });
    libc::write(fd, msg.as_ptr() as *const c_void, msg.len());
    *libc::__errno_location() = errno;
}

/// Runs a glibc function that writes to glibc's own stderr (the `err`
/// family), with the macOS FILE over it synced first and loaded after.
unsafe fn on_host_stderr<R>(f: impl FnOnce() -> R) -> R {
    let stderr = streams::standard(2);
    if (*stderr).host().is_null() {
        return f();
    }
    let _session = Session::open(stderr);
    f()
}

pub unsafe extern "C" fn vwarn(fmt: *const c_char, ap: VaList) {
    crate::shims::errno::publish();
    on_host_stderr(|| host::vwarn(fmt, ap))
}

pub unsafe extern "C" fn vwarnx(fmt: *const c_char, ap: VaList) {
    on_host_stderr(|| host::vwarnx(fmt, ap))
}

/// `verr` exits: the stream is synced, the rest is glibc's `verr`.
pub unsafe extern "C" fn verr(status: c_int, fmt: *const c_char, ap: VaList) -> ! {
    crate::shims::errno::publish();
    on_host_stderr(|| ());
    host::verr(status, fmt, ap)
}

pub unsafe extern "C" fn verrx(status: c_int, fmt: *const c_char, ap: VaList) -> ! {
    on_host_stderr(|| ());
    host::verrx(status, fmt, ap)
}

/// BSD `vwarnc` (glibc has none): `vwarn` with the message of `code`
/// rather than errno's (a macOS number).
pub unsafe extern "C" fn vwarnc(code: c_int, fmt: *const c_char, ap: VaList) {
    *libc::__errno_location() = crate::shims::errno::to_linux(code);
    vwarn(fmt, ap)
}

/// BSD `verrc`: `verr` with the message of `code`.
pub unsafe extern "C" fn verrc(status: c_int, code: c_int, fmt: *const c_char, ap: VaList) -> ! {
    *libc::__errno_location() = crate::shims::errno::to_linux(code);
    verr(status, fmt, ap)
}

pub unsafe extern "C" fn fgetwc(m: File) -> WInt {
    reading(m, WEOF, |h| host::fgetwc(h))
}

pub unsafe extern "C" fn getwchar() -> WInt {
    fgetwc(STDINP)
}

pub unsafe extern "C" fn fputwc(c: WChar, m: File) -> WInt {
    with(m, WEOF, |h| host::fputwc(c, h))
}

pub unsafe extern "C" fn putwchar(c: WChar) -> WInt {
    fputwc(c, STDOUTP)
}

pub unsafe extern "C" fn fgetws(s: *mut WChar, n: c_int, m: File) -> *mut WChar {
    reading(m, std::ptr::null_mut(), |h| host::fgetws(s, n, h))
}

pub unsafe extern "C" fn fputws(s: *const WChar, m: File) -> c_int {
    with(m, -1, |h| host::fputws(s, h))
}

pub unsafe extern "C" fn ungetwc(c: WInt, m: File) -> WInt {
    with(m, WEOF, |h| host::ungetwc(c, h))
}

pub unsafe extern "C" fn fwide(m: File, mode: c_int) -> c_int {
    with(m, 0, |h| host::fwide(h, mode))
}

pub unsafe extern "C" fn vfwprintf(m: File, fmt: *const WChar, ap: VaList) -> c_int {
    with(m, -1, |h| host::vfwprintf(h, fmt, ap))
}

pub unsafe extern "C" fn vwprintf(fmt: *const WChar, ap: VaList) -> c_int {
    vfwprintf(STDOUTP, fmt, ap)
}

pub unsafe extern "C" fn vfwscanf(m: File, fmt: *const WChar, ap: VaList) -> c_int {
    reading(m, EOF, |h| host::vfwscanf(h, fmt, ap))
}

pub unsafe extern "C" fn vwscanf(fmt: *const WChar, ap: VaList) -> c_int {
    vfwscanf(STDINP, fmt, ap)
}

/// The macOS name of each function here.
pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("___srget", srget as *const () as usize),
        ("___swbuf", swbuf as *const () as usize),
        ("_fgetc", fgetc as *const () as usize),
        ("_getc", fgetc as *const () as usize),
        ("_getc_unlocked", fgetc as *const () as usize),
        ("_fputc", fputc as *const () as usize),
        ("_putc", fputc as *const () as usize),
        ("_putc_unlocked", fputc as *const () as usize),
        ("_getchar", getchar as *const () as usize),
        ("_getchar_unlocked", getchar as *const () as usize),
        ("_putchar", putchar as *const () as usize),
        ("_putchar_unlocked", putchar as *const () as usize),
        ("_fgets", fgets as *const () as usize),
        ("_gets", gets as *const () as usize),
        ("_fputs", fputs as *const () as usize),
        ("_puts", puts as *const () as usize),
        ("_fread", fread as *const () as usize),
        ("_fwrite", fwrite as *const () as usize),
        ("_fseek", fseek as *const () as usize),
        ("_fseeko", fseeko as *const () as usize),
        ("_ftell", ftell as *const () as usize),
        ("_ftello", ftello as *const () as usize),
        ("_rewind", rewind as *const () as usize),
        ("_fgetpos", fgetpos as *const () as usize),
        ("_fsetpos", fsetpos as *const () as usize),
        ("_fflush", fflush as *const () as usize),
        ("_fclose", fclose as *const () as usize),
        ("_pclose", pclose as *const () as usize),
        ("_feof", feof as *const () as usize),
        ("_ferror", ferror as *const () as usize),
        ("_clearerr", clearerr as *const () as usize),
        ("_fileno", fileno as *const () as usize),
        // Macros in macOS's header; glibc has functions of these names,
        // which must not see a macOS FILE.
        ("_feof_unlocked", feof as *const () as usize),
        ("_ferror_unlocked", ferror as *const () as usize),
        ("_clearerr_unlocked", clearerr as *const () as usize),
        ("_fileno_unlocked", fileno as *const () as usize),
        ("_setvbuf", setvbuf as *const () as usize),
        ("_setbuf", setbuf as *const () as usize),
        ("_setbuffer", setbuffer as *const () as usize),
        ("_setlinebuf", setlinebuf as *const () as usize),
        ("_fpurge", fpurge as *const () as usize),
        ("_ungetc", ungetc as *const () as usize),
        ("_getdelim", getdelim as *const () as usize),
        ("_getline", getline as *const () as usize),
        ("_fgetln", fgetln as *const () as usize),
        ("_getw", getw as *const () as usize),
        ("_putw", putw as *const () as usize),
        ("_fopen", fopen as *const () as usize),
        ("_fdopen", fdopen as *const () as usize),
        ("_freopen", freopen as *const () as usize),
        ("_popen", popen as *const () as usize),
        ("_tmpfile", tmpfile as *const () as usize),
        ("_fmemopen", fmemopen as *const () as usize),
        ("_open_memstream", open_memstream as *const () as usize),
        ("_open_wmemstream", open_wmemstream as *const () as usize),
        ("_flockfile", flockfile as *const () as usize),
        ("_funlockfile", funlockfile as *const () as usize),
        ("_ftrylockfile", ftrylockfile as *const () as usize),
        ("_vfprintf", vfprintf as *const () as usize),
        ("_vprintf", vprintf as *const () as usize),
        ("_vfscanf", vfscanf as *const () as usize),
        ("___svfscanf", vfscanf as *const () as usize),
        ("_vscanf", vscanf as *const () as usize),
        ("_perror", perror as *const () as usize),
        ("_vwarn", vwarn as *const () as usize),
        ("_vwarnx", vwarnx as *const () as usize),
        ("_verr", verr as *const () as usize),
        ("_verrx", verrx as *const () as usize),
        ("_vwarnc", vwarnc as *const () as usize),
        ("_verrc", verrc as *const () as usize),
        ("_fgetwc", fgetwc as *const () as usize),
        ("_getwc", fgetwc as *const () as usize),
        ("_getwchar", getwchar as *const () as usize),
        ("_fputwc", fputwc as *const () as usize),
        ("_putwc", fputwc as *const () as usize),
        ("_putwchar", putwchar as *const () as usize),
        ("_fgetws", fgetws as *const () as usize),
        ("_fputws", fputws as *const () as usize),
        ("_ungetwc", ungetwc as *const () as usize),
        ("_fwide", fwide as *const () as usize),
        ("_vfwprintf", vfwprintf as *const () as usize),
        ("_vwprintf", vwprintf as *const () as usize),
        ("_vfwscanf", vfwscanf as *const () as usize),
        ("_vwscanf", vwscanf as *const () as usize),
    ]
}
