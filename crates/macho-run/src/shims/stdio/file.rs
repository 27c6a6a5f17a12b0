//! macOS's `FILE` (x86_64 `struct __sFILE`, 152 bytes) laid over a glibc
//! `FILE`.
//!
//! Programs built against macOS headers read and write the first fields of
//! a `FILE` inline: `getc_unlocked` is `--_r < 0 ? __srget(fp) : *_p++`,
//! `putc_unlocked` stores through `_p` while `_w` (or, line-buffered,
//! `_lbfsize`) allows, and `feof_unlocked`/`fileno_unlocked` read `_flags`
//! and `_file`. macho-run points `_p` into the glibc stream's own buffer, so
//! the bytes a macro reads or writes are exactly the bytes glibc would read
//! or write next: [`load`] publishes glibc's buffer window in the macOS
//! fields, [`sync`] gives glibc back the position the macros reached. Every
//! shim syncs before calling glibc and loads after, holding the stream's
//! lock, so buffering and ordering stay glibc's (which are macOS's: stdout
//! line-buffered on a tty and fully buffered otherwise, stderr unbuffered).

use std::ffi::{c_int, c_void};

/// macOS `_flags` bits (`<_stdio.h>`).
pub const SLBF: i16 = 0x0001;
pub const SNBF: i16 = 0x0002;
pub const SRD: i16 = 0x0004;
pub const SWR: i16 = 0x0008;
pub const SRW: i16 = 0x0010;
pub const SEOF: i16 = 0x0020;
pub const SERR: i16 = 0x0040;
pub const SAPP: i16 = 0x0100;

/// glibc `_flags` bits (`libio.h`).
const IO_UNBUFFERED: c_int = 0x0002;
const IO_NO_READS: c_int = 0x0004;
const IO_NO_WRITES: c_int = 0x0008;
const IO_EOF_SEEN: c_int = 0x0010;
const IO_ERR_SEEN: c_int = 0x0020;
const IO_LINE_BUF: c_int = 0x0200;
const IO_CURRENTLY_PUTTING: c_int = 0x0800;
const IO_IS_APPENDING: c_int = 0x1000;

#[repr(C)]
pub struct Sbuf {
    pub base: *mut u8,
    pub size: c_int,
}

/// x86_64 macOS `struct __sFILE`. Only the fields the `<stdio.h>` macros
/// touch (`_p`, `_r`, `_w`, `_flags`, `_file`, `_lbfsize`) and `_bf` carry
/// macOS meaning; `_cookie` holds the glibc stream behind this one, `_ur`
/// which buffer window [`load`] published (1: writing, 0: reading) and
/// `_extra` where it started, and `_lb` the line buffer of `fgetln`, as in
/// macOS.
#[repr(C)]
pub struct MacFile {
    pub p: *mut u8,
    pub r: c_int,
    pub w: c_int,
    pub flags: i16,
    pub file: i16,
    pub bf: Sbuf,
    pub lbfsize: c_int,
    pub cookie: *mut c_void,
    pub close: usize,
    pub read: usize,
    pub seek: usize,
    pub write: usize,
    pub ub: Sbuf,
    pub extra: *mut c_void,
    pub ur: c_int,
    pub ubuf: [u8; 3],
    pub nbuf: [u8; 1],
    pub lb: Sbuf,
    pub blksize: c_int,
    pub offset: i64,
}

const _: () = assert!(std::mem::size_of::<MacFile>() == 152);
const _: () = assert!(std::mem::offset_of!(MacFile, lbfsize) == 40);
const _: () = assert!(std::mem::offset_of!(MacFile, offset) == 144);

impl MacFile {
    /// A free slot (`_flags` 0 marks a free FILE on macOS too).
    pub const FREE: MacFile = MacFile {
        p: std::ptr::null_mut(),
        r: 0,
        w: 0,
        flags: 0,
        file: -1,
        bf: Sbuf {
            base: std::ptr::null_mut(),
            size: 0,
        },
        lbfsize: 0,
        cookie: std::ptr::null_mut(),
        close: 0,
        read: 0,
        seek: 0,
        write: 0,
        ub: Sbuf {
            base: std::ptr::null_mut(),
            size: 0,
        },
        extra: std::ptr::null_mut(),
        ur: 0,
        ubuf: [0; 3],
        nbuf: [0; 1],
        lb: Sbuf {
            base: std::ptr::null_mut(),
            size: 0,
        },
        blksize: 0,
        offset: 0,
    };

    /// The glibc stream behind this one; null once closed.
    pub fn host(&self) -> *mut libc::FILE {
        self.cookie as *mut libc::FILE
    }
}

/// The public head of glibc's `struct _IO_FILE` (`<bits/types/struct_FILE.h>`,
/// a stable ABI), up to `_mode`.
#[repr(C)]
struct GlibcFile {
    flags: c_int,
    read_ptr: *mut u8,
    read_end: *mut u8,
    read_base: *mut u8,
    write_base: *mut u8,
    write_ptr: *mut u8,
    write_end: *mut u8,
    buf_base: *mut u8,
    buf_end: *mut u8,
    _save_and_chain: [*mut c_void; 5],
    fileno: c_int,
    _between: [u8; 76],
    /// Orientation: > 0 wide, < 0 byte, 0 not yet decided.
    mode: c_int,
}

const _: () = assert!(std::mem::offset_of!(GlibcFile, fileno) == 112);
const _: () = assert!(std::mem::offset_of!(GlibcFile, mode) == 192);

fn glibc(h: *mut libc::FILE) -> *mut GlibcFile {
    h as *mut GlibcFile
}

fn span(from: *const u8, to: *const u8) -> c_int {
    (to as isize - from as isize).clamp(0, c_int::MAX as isize) as c_int
}

/// Publishes the glibc stream's state in the macOS fields: the buffer
/// window the inline macros may use, error/EOF flags, buffering mode and
/// descriptor.
///
/// # Safety
/// `m` is a macOS FILE whose host is `h`, a live glibc stream, and the
/// caller holds `h`'s lock (or no other thread runs).
pub unsafe fn load(m: *mut MacFile, h: *mut libc::FILE) {
    let m = &mut *m;
    let g = &*glibc(h);
    let putting = g.flags & IO_CURRENTLY_PUTTING != 0;
    // glibc marks a stream without a descriptor -2, macOS -1.
    m.file = i16::try_from(g.fileno).unwrap_or(-1).max(-1);
    let mut flags = 0;
    if g.flags & IO_LINE_BUF != 0 {
        flags |= SLBF;
    }
    if g.flags & IO_UNBUFFERED != 0 {
        flags |= SNBF;
    }
    if g.flags & IO_EOF_SEEN != 0 {
        flags |= SEOF;
    }
    if g.flags & IO_ERR_SEEN != 0 {
        flags |= SERR;
    }
    if g.flags & IO_IS_APPENDING != 0 {
        flags |= SAPP;
    }
    flags |= match (g.flags & IO_NO_READS != 0, g.flags & IO_NO_WRITES != 0) {
        (false, false) if putting => SRW | SWR,
        (false, false) => SRW | SRD,
        (false, true) => SRD,
        _ => SWR,
    };
    m.flags = flags;
    m.bf = Sbuf {
        base: g.buf_base,
        size: span(g.buf_base, g.buf_end),
    };
    m.ur = c_int::from(putting);
    m.extra = std::ptr::null_mut();
    m.r = 0;
    m.w = 0;
    m.lbfsize = 0;
    if g.mode > 0 {
        // Wide-oriented: the byte macros must reach __srget/__swbuf, which
        // fail as glibc's byte functions do on such a stream.
        m.p = std::ptr::null_mut();
    } else if putting {
        m.p = g.write_ptr;
        m.extra = g.write_ptr as *mut c_void;
        if g.flags & IO_UNBUFFERED != 0 {
            // Every byte goes through __swbuf and out at once.
        } else if g.flags & IO_LINE_BUF != 0 {
            // macOS's line-buffered scheme: _w stays 0 and counts down
            // inline writes to -room; a '\n' or a full buffer calls __swbuf.
            m.lbfsize = -span(g.write_ptr, g.buf_end);
        } else {
            m.w = span(g.write_ptr, g.write_end);
        }
    } else {
        m.p = g.read_ptr;
        m.extra = g.read_ptr as *mut c_void;
        m.r = span(g.read_ptr, g.read_end);
    }
}

/// Gives the glibc stream the position the inline macros reached, and the
/// EOF/error flags as the program left them (`clearerr_unlocked` is a
/// macro on macOS).
///
/// # Safety
/// As for [`load`].
pub unsafe fn sync(m: *mut MacFile, h: *mut libc::FILE) {
    let m = &*m;
    let g = &mut *glibc(h);
    // The macros only move _p forward inside the window load published.
    // If glibc's position is no longer where that window started, glibc
    // moved on without a load since (a C library call that writes to its
    // own stderr, or its flush of stdout before a terminal read), and the
    // window is stale: there is nothing to hand back.
    let start = m.extra as *mut u8;
    if g.mode <= 0 && !m.p.is_null() && !start.is_null() && m.p >= start {
        let putting = g.flags & IO_CURRENTLY_PUTTING != 0;
        if m.ur != 0 && putting && g.write_ptr == start && m.p <= g.buf_end {
            g.write_ptr = m.p;
        } else if m.ur == 0 && !putting && g.read_ptr == start && m.p <= g.read_end {
            g.read_ptr = m.p;
        }
    }
    g.flags &= !(IO_EOF_SEEN | IO_ERR_SEEN);
    if m.flags & SEOF != 0 {
        g.flags |= IO_EOF_SEEN;
    }
    if m.flags & SERR != 0 {
        g.flags |= IO_ERR_SEEN;
    }
}

/// Whether reading from `h` first flushes line-buffered output (macOS's
/// `__srefill` does for line-buffered and unbuffered input; an input
/// without a buffer yet becomes line-buffered if it is a terminal).
///
/// # Safety
/// `h` is a live glibc stream.
pub unsafe fn interactive(h: *mut libc::FILE) -> bool {
    let g = &*glibc(h);
    if g.flags & (IO_LINE_BUF | IO_UNBUFFERED) != 0 {
        return true;
    }
    if !g.buf_base.is_null() || g.fileno < 0 {
        return false;
    }
    // isatty sets errno on a non-terminal; the program must not see that
    // (bzip2recover checks errno after getc returns EOF).
    let errno = *libc::__errno_location();
    let tty = libc::isatty(g.fileno) == 1;
    *libc::__errno_location() = errno;
    tty
}

/// Whether `h` holds written bytes not yet flushed.
///
/// # Safety
/// `h` is a live glibc stream, synced.
pub unsafe fn pending_output(h: *mut libc::FILE) -> bool {
    let g = &*glibc(h);
    g.mode <= 0 && g.flags & IO_CURRENTLY_PUTTING != 0 && g.write_ptr > g.write_base
}

/// Whether `h` is line-buffered.
///
/// # Safety
/// `h` is a live glibc stream.
pub unsafe fn line_buffered(h: *mut libc::FILE) -> bool {
    (*glibc(h)).flags & IO_LINE_BUF != 0
}
