//! arm64: formatted I/O under Apple's variadic convention.
//!
//! Every `va_list` form (`vprintf(fmt, ap)`) is a Rust function taking
//! Apple's `char *` and calling the `v` function of [`calls`] or glibc with
//! a [`GlibcVaList`] over the same slots. Every `...` form (`printf(fmt,
//! ...)`) is two instructions: at its entry `sp` points at the variadic
//! slots, which is the `va_list` that `va_start` would make, so it moves
//! `sp` into the argument register after the named ones and branches to
//! the `va_list` form.
//!
//! Apple's `long double` is a double, glibc's a 16-byte quad that `va_arg`
//! takes from a 16-byte-aligned pair of slots: a format whose floating
//! conversion says `L` is passed on with `l` instead ([`Format`]), which
//! means a double both for printing and for scanning.

use super::super::calls;
use super::super::file::MacFile;
use crate::shims::variadic::{apple_va_entries, GlibcVaList};
use crate::shims::xlocale::{self, Locale};
use std::ffi::{c_char, c_int, c_void};

type VaList = *mut c_void;
type AppleVaList = *mut c_void;
type File = *mut MacFile;
/// `wchar_t`: 4 bytes on both systems.
type WChar = i32;

mod glibc {
    use super::{VaList, WChar};
    use std::ffi::{c_char, c_int};

    extern "C" {
        pub fn vsprintf(s: *mut c_char, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vsnprintf(s: *mut c_char, n: usize, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vasprintf(ret: *mut *mut c_char, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vdprintf(fd: c_int, fmt: *const c_char, ap: VaList) -> c_int;
        // The C99 scanf: `%a` is a float conversion, as on macOS, not
        // glibc's old allocating `%as`.
        #[link_name = "__isoc99_vsscanf"]
        pub fn vsscanf(s: *const c_char, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vswprintf(s: *mut WChar, n: usize, fmt: *const WChar, ap: VaList) -> c_int;
        #[link_name = "__isoc99_vswscanf"]
        pub fn vswscanf(s: *const WChar, fmt: *const WChar, ap: VaList) -> c_int;
        pub fn vsyslog(priority: c_int, fmt: *const c_char, ap: VaList);
        // The same arguments as Apple's, and the same checks: abort when
        // the object is smaller than what is written (or than `maxlen`).
        pub fn __vsprintf_chk(
            s: *mut c_char,
            flag: c_int,
            slen: usize,
            fmt: *const c_char,
            ap: VaList,
        ) -> c_int;
        pub fn __vsnprintf_chk(
            s: *mut c_char,
            maxlen: usize,
            flag: c_int,
            slen: usize,
            fmt: *const c_char,
            ap: VaList,
        ) -> c_int;
    }
}

/// A character of a format string (`char` or `wchar_t`).
trait Unit: Copy {
    fn ascii(self) -> Option<u8>;
    fn from_ascii(c: u8) -> Self;
}

/// `char`, which is unsigned on AArch64 Linux (`c_char` is `u8`).
impl Unit for u8 {
    fn ascii(self) -> Option<u8> {
        Some(self).filter(u8::is_ascii)
    }
    fn from_ascii(c: u8) -> Self {
        c
    }
}

impl Unit for WChar {
    fn ascii(self) -> Option<u8> {
        u8::try_from(self).ok().filter(u8::is_ascii)
    }
    fn from_ascii(c: u8) -> Self {
        WChar::from(c)
    }
}

/// A format string as glibc must see it: the program's own, or a copy
/// with `L` made `l` in floating conversions.
struct Format<T> {
    original: *const T,
    fixed: Option<Vec<T>>,
}

impl<T: Unit> Format<T> {
    /// # Safety
    /// `fmt` is null or NUL-terminated.
    unsafe fn fix(fmt: *const T) -> Format<T> {
        let mut fixed = None;
        if !fmt.is_null() {
            let mut len = 0;
            while (*fmt.add(len)).ascii() != Some(0) {
                len += 1;
            }
            let units = std::slice::from_raw_parts(fmt, len + 1);
            let at = long_double_modifiers(units);
            if !at.is_empty() {
                let mut copy = units.to_vec();
                for i in at {
                    copy[i] = T::from_ascii(b'l');
                }
                fixed = Some(copy);
            }
        }
        Format {
            original: fmt,
            fixed,
        }
    }

    fn ptr(&self) -> *const T {
        self.fixed.as_ref().map_or(self.original, |v| v.as_ptr())
    }
}

/// Indices of the `L` length modifiers of floating conversions (`%Lf`,
/// `%-12.3Lg`, `%*Le`) in a NUL-terminated format, for printf and scanf.
fn long_double_modifiers<T: Unit>(units: &[T]) -> Vec<usize> {
    let at = |i: usize| units.get(i).and_then(|u| u.ascii());
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i).filter(|&c| c != 0) {
        i += 1;
        if c != b'%' {
            continue;
        }
        let mut long_double = None;
        while let Some(c) = at(i).filter(|c| b"0123456789.-+ #'*$hlLqjztI".contains(c)) {
            if c == b'L' {
                long_double = Some(i);
            }
            i += 1;
        }
        match at(i) {
            Some(b'a' | b'A' | b'e' | b'E' | b'f' | b'F' | b'g' | b'G') => {
                found.extend(long_double);
            }
            // scanf's `%[set]`: a `]` first in the set is part of it.
            Some(b'[') => {
                i += 1;
                if at(i) == Some(b'^') {
                    i += 1;
                }
                if at(i) == Some(b']') {
                    i += 1;
                }
                while at(i).is_some_and(|c| c != 0 && c != b']') {
                    i += 1;
                }
            }
            Some(0) | None => break,
            _ => {}
        }
        i += 1;
    }
    found
}

/// Defines `$name(args..., fmt, ap)` taking Apple's `va_list` and calling
/// `$target(args..., fmt, glibc va_list)`.
macro_rules! from_apple_va_list {
    ($(fn $name:ident($($arg:ident: $ty:ty),*; $fmt:ty) -> $ret:ty = $target:path;)+) => {
        $(
            unsafe extern "C" fn $name($($arg: $ty,)* fmt: *const $fmt, ap: AppleVaList) -> $ret {
                let fmt = Format::fix(fmt);
                let mut va = GlibcVaList::over(ap);
                $target($($arg,)* fmt.ptr(), va.as_arg())
            }
        )+
    };
}

from_apple_va_list! {
    fn vprintf(; c_char) -> c_int = calls::vprintf;
    fn vfprintf(f: File; c_char) -> c_int = calls::vfprintf;
    fn vsprintf(s: *mut c_char; c_char) -> c_int = glibc::vsprintf;
    fn vsnprintf(s: *mut c_char, n: usize; c_char) -> c_int = glibc::vsnprintf;
    fn vasprintf(ret: *mut *mut c_char; c_char) -> c_int = glibc::vasprintf;
    fn vdprintf(fd: c_int; c_char) -> c_int = glibc::vdprintf;
    fn vsprintf_chk(s: *mut c_char, flag: c_int, slen: usize; c_char) -> c_int
        = glibc::__vsprintf_chk;
    fn vsnprintf_chk(s: *mut c_char, maxlen: usize, flag: c_int, slen: usize; c_char) -> c_int
        = glibc::__vsnprintf_chk;
    fn vscanf(; c_char) -> c_int = calls::vscanf;
    fn vfscanf(f: File; c_char) -> c_int = calls::vfscanf;
    fn vsscanf(s: *const c_char; c_char) -> c_int = glibc::vsscanf;
    fn vwprintf(; WChar) -> c_int = calls::vwprintf;
    fn vfwprintf(f: File; WChar) -> c_int = calls::vfwprintf;
    fn vswprintf(s: *mut WChar, n: usize; WChar) -> c_int = glibc::vswprintf;
    fn vwscanf(; WChar) -> c_int = calls::vwscanf;
    fn vfwscanf(f: File; WChar) -> c_int = calls::vfwscanf;
    fn vswscanf(s: *const WChar; WChar) -> c_int = glibc::vswscanf;
    fn vwarn(; c_char) -> () = calls::vwarn;
    fn vwarnx(; c_char) -> () = calls::vwarnx;
    fn vsyslog(priority: c_int; c_char) -> () = glibc::vsyslog;
    fn vsnprintf_l(s: *mut c_char, n: usize, loc: Locale; c_char) -> c_int = xlocale::vsnprintf_l;
    fn vasprintf_l(ret: *mut *mut c_char, loc: Locale; c_char) -> c_int = xlocale::vasprintf_l;
    fn vsscanf_l(s: *const c_char, loc: Locale; c_char) -> c_int = xlocale::vsscanf_l;
}

unsafe extern "C" fn verr(status: c_int, fmt: *const c_char, ap: AppleVaList) -> ! {
    let fmt = Format::fix(fmt);
    calls::verr(status, fmt.ptr(), GlibcVaList::over(ap).as_arg())
}

unsafe extern "C" fn verrx(status: c_int, fmt: *const c_char, ap: AppleVaList) -> ! {
    let fmt = Format::fix(fmt);
    calls::verrx(status, fmt.ptr(), GlibcVaList::over(ap).as_arg())
}

unsafe extern "C" fn vwarnc(code: c_int, fmt: *const c_char, ap: AppleVaList) {
    let fmt = Format::fix(fmt);
    calls::vwarnc(code, fmt.ptr(), GlibcVaList::over(ap).as_arg())
}

unsafe extern "C" fn verrc(status: c_int, code: c_int, fmt: *const c_char, ap: AppleVaList) -> ! {
    let fmt = Format::fix(fmt);
    calls::verrc(status, code, fmt.ptr(), GlibcVaList::over(ap).as_arg())
}

apple_va_entries! {
    fn entries;
    "_printf" = macho_run_a64_printf["mov x1, sp"] => vprintf;
    "_fprintf" = macho_run_a64_fprintf["mov x2, sp"] => vfprintf;
    "_sprintf" = macho_run_a64_sprintf["mov x2, sp"] => vsprintf;
    "_snprintf" = macho_run_a64_snprintf["mov x3, sp"] => vsnprintf;
    "_asprintf" = macho_run_a64_asprintf["mov x2, sp"] => vasprintf;
    "_dprintf" = macho_run_a64_dprintf["mov x2, sp"] => vdprintf;
    "___sprintf_chk" = macho_run_a64_sprintf_chk["mov x4, sp"] => vsprintf_chk;
    "___snprintf_chk" = macho_run_a64_snprintf_chk["mov x5, sp"] => vsnprintf_chk;
    "_scanf" = macho_run_a64_scanf["mov x1, sp"] => vscanf;
    "_fscanf" = macho_run_a64_fscanf["mov x2, sp"] => vfscanf;
    "_sscanf" = macho_run_a64_sscanf["mov x2, sp"] => vsscanf;
    "_wprintf" = macho_run_a64_wprintf["mov x1, sp"] => vwprintf;
    "_fwprintf" = macho_run_a64_fwprintf["mov x2, sp"] => vfwprintf;
    "_swprintf" = macho_run_a64_swprintf["mov x3, sp"] => vswprintf;
    "_wscanf" = macho_run_a64_wscanf["mov x1, sp"] => vwscanf;
    "_fwscanf" = macho_run_a64_fwscanf["mov x2, sp"] => vfwscanf;
    "_swscanf" = macho_run_a64_swscanf["mov x2, sp"] => vswscanf;
    "_warn" = macho_run_a64_warn["mov x1, sp"] => vwarn;
    "_warnx" = macho_run_a64_warnx["mov x1, sp"] => vwarnx;
    "_warnc" = macho_run_a64_warnc["mov x2, sp"] => vwarnc;
    "_err" = macho_run_a64_err["mov x2, sp"] => verr;
    "_errx" = macho_run_a64_errx["mov x2, sp"] => verrx;
    "_errc" = macho_run_a64_errc["mov x3, sp"] => verrc;
    "_syslog" = macho_run_a64_syslog["mov x2, sp"] => vsyslog;
    "_snprintf_l" = macho_run_a64_snprintf_l["mov x4, sp"] => vsnprintf_l;
    "_asprintf_l" = macho_run_a64_asprintf_l["mov x3, sp"] => vasprintf_l;
    "_sscanf_l" = macho_run_a64_sscanf_l["mov x3, sp"] => vsscanf_l;
}

/// The `va_list` forms, by Mach-O name.
fn va_list_forms() -> Vec<(&'static str, usize)> {
    vec![
        ("_vprintf", vprintf as *const () as usize),
        ("_vfprintf", vfprintf as *const () as usize),
        ("_vsprintf", vsprintf as *const () as usize),
        ("_vsnprintf", vsnprintf as *const () as usize),
        ("_vasprintf", vasprintf as *const () as usize),
        ("_vdprintf", vdprintf as *const () as usize),
        ("___vsprintf_chk", vsprintf_chk as *const () as usize),
        ("___vsnprintf_chk", vsnprintf_chk as *const () as usize),
        ("_vscanf", vscanf as *const () as usize),
        ("_vfscanf", vfscanf as *const () as usize),
        ("___svfscanf", vfscanf as *const () as usize),
        ("_vsscanf", vsscanf as *const () as usize),
        ("_vwprintf", vwprintf as *const () as usize),
        ("_vfwprintf", vfwprintf as *const () as usize),
        ("_vswprintf", vswprintf as *const () as usize),
        ("_vwscanf", vwscanf as *const () as usize),
        ("_vfwscanf", vfwscanf as *const () as usize),
        ("_vswscanf", vswscanf as *const () as usize),
        ("_vwarn", vwarn as *const () as usize),
        ("_vwarnx", vwarnx as *const () as usize),
        ("_vwarnc", vwarnc as *const () as usize),
        ("_verr", verr as *const () as usize),
        ("_verrx", verrx as *const () as usize),
        ("_verrc", verrc as *const () as usize),
        ("_vsyslog", vsyslog as *const () as usize),
        ("_vsnprintf_l", vsnprintf_l as *const () as usize),
        ("_vasprintf_l", vasprintf_l as *const () as usize),
        ("_vsscanf_l", vsscanf_l as *const () as usize),
    ]
}

pub fn table() -> Vec<(&'static str, usize)> {
    let mut t = entries();
    t.extend(va_list_forms());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(fmt: &str) -> String {
        let c = std::ffi::CString::new(fmt).unwrap();
        // SAFETY: a NUL-terminated string.
        let f = unsafe { Format::fix(c.as_ptr()) };
        // SAFETY: ptr() is NUL-terminated, the copy or the original.
        unsafe { std::ffi::CStr::from_ptr(f.ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn long_double_conversions_become_double_ones() {
        assert_eq!(fixed("%Lf %-12.3Lg %*Le %La"), "%lf %-12.3lg %*le %la");
        assert_eq!(fixed("%Ld %d %% %L %s"), "%Ld %d %% %L %s");
        assert_eq!(fixed("%[]L]f %Lf"), "%[]L]f %lf");
        assert_eq!(fixed("%[^L%]f %1$Lf"), "%[^L%]f %1$lf");
        assert_eq!(fixed("100%"), "100%");
    }

    #[test]
    fn wide_formats_are_fixed_too() {
        let w: Vec<WChar> = "%Lg\u{263a}%Lx\0".chars().map(|c| c as WChar).collect();
        // SAFETY: NUL-terminated.
        let f = unsafe { Format::fix(w.as_ptr()) };
        let out: String = f
            .fixed
            .unwrap()
            .iter()
            .map(|&c| char::from_u32(c as u32).unwrap())
            .collect();
        assert_eq!(out, "%lg\u{263a}%Lx\0");
    }

    use crate::shims::variadic::caller::{call, double, ptr};
    use crate::shims::Host;

    fn addr(name: &str) -> u64 {
        Host::new()
            .lookup(name)
            .unwrap_or_else(|| panic!("{name} unbound"))
    }

    /// `snprintf` called as an arm64 macOS program calls it.
    fn apple_snprintf(fmt: &std::ffi::CStr, slots: &[u64], size: usize) -> (i32, String) {
        let mut buf = vec![0u8; size.max(1)];
        let n = call(
            addr("_snprintf"),
            &[ptr(buf.as_mut_ptr()), size as u64, ptr(fmt.as_ptr())],
            slots,
        ) as i32;
        let s = std::ffi::CStr::from_bytes_until_nul(&buf).unwrap();
        (n, s.to_string_lossy().into_owned())
    }

    #[test]
    fn snprintf_reads_more_than_eight_mixed_arguments_from_the_slots() {
        let fmt = c"%d|%ld|%.3f|%s|%c|%p|%u|%x|%lld|%g|%s|%hhd|%5.1Lf|%d";
        let slots = [
            (-7i64) as u64,
            i64::MIN as u64,
            double(12.34567),
            ptr(c"str".as_ptr()),
            u64::from(b'z'),
            0x1234,
            4_000_000_000,
            0xbeef,
            u64::MAX,
            double(1e-5),
            ptr(c"last".as_ptr()),
            300,
            double(2.25),
            99,
        ];
        let expect =
            "-7|-9223372036854775808|12.346|str|z|0x1234|4000000000|beef|-1|1e-05|last|44|  2.2|99";
        assert_eq!(
            apple_snprintf(fmt, &slots, 256),
            (expect.len() as i32, expect.into())
        );
    }

    #[test]
    fn snprintf_truncates_and_returns_the_full_length() {
        let slots = [ptr(c"abcdef".as_ptr()), 12];
        assert_eq!(apple_snprintf(c"%s-%d", &slots, 5), (9, "abcd".into()));
    }

    #[test]
    fn vsnprintf_takes_apples_va_list() {
        let f = addr("_vsnprintf");
        // SAFETY: the address of the vsnprintf shim.
        let vsnprintf: unsafe extern "C" fn(*mut u8, usize, *const c_char, *const u64) -> c_int =
            unsafe { std::mem::transmute(f as usize) };
        let slots = [5, double(-0.5), ptr(c"x".as_ptr())];
        let mut buf = [0u8; 32];
        // SAFETY: buf and the slots outlive the call.
        let n = unsafe { vsnprintf(buf.as_mut_ptr(), 32, c"%d %.2f %s".as_ptr(), slots.as_ptr()) };
        assert_eq!(n, 9);
        assert_eq!(&buf[..10], b"5 -0.50 x\0");
    }

    #[test]
    fn sprintf_chk_and_asprintf_format_from_the_slots() {
        let mut buf = [0u8; 16];
        let n = call(
            addr("___sprintf_chk"),
            &[ptr(buf.as_mut_ptr()), 0, 16, ptr(c"%d-%s".as_ptr())],
            &[42, ptr(c"ok".as_ptr())],
        );
        assert_eq!((n, &buf[..6]), (5, &b"42-ok\0"[..]));
        let mut out: *mut c_char = std::ptr::null_mut();
        let n = call(
            addr("_asprintf"),
            &[ptr(&raw mut out), ptr(c"%x.%c".as_ptr())],
            &[255, u64::from(b'!')],
        );
        assert_eq!(n, 4);
        // SAFETY: asprintf made a NUL-terminated string, freed here.
        unsafe {
            assert_eq!(std::ffi::CStr::from_ptr(out), c"ff.!");
            libc::free(out.cast());
        }
    }

    #[test]
    fn sscanf_stores_through_pointers_in_the_slots() {
        let (mut i, mut d, mut ld) = (0i32, 0f64, [0f64, 7.0]);
        let mut word = [0u8; 8];
        let n = call(
            addr("_sscanf"),
            &[
                ptr(c"-12 2.5 word 0.125".as_ptr()),
                ptr(c"%d %lf %7s %Lf".as_ptr()),
            ],
            &[
                ptr(&raw mut i),
                ptr(&raw mut d),
                ptr(word.as_mut_ptr()),
                ptr(ld.as_mut_ptr()),
            ],
        );
        assert_eq!(n, 4);
        assert_eq!((i, d), (-12, 2.5));
        assert_eq!(&word[..5], b"word\0");
        // macOS's long double is a double: eight bytes written, no more.
        assert_eq!(ld, [0.125, 7.0]);
    }

    #[test]
    fn dprintf_and_swprintf_format_from_the_slots() {
        let mut fds = [0; 2];
        // SAFETY: a fresh pipe.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let n = call(
            addr("_dprintf"),
            &[fds[1] as u64, ptr(c"%s=%d\n".as_ptr())],
            &[ptr(c"k".as_ptr()), 3],
        );
        assert_eq!(n, 4);
        let mut got = [0u8; 4];
        // SAFETY: reading what was written.
        unsafe {
            assert_eq!(libc::read(fds[0], got.as_mut_ptr().cast(), 4), 4);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        assert_eq!(&got, b"k=3\n");
        let fmt: Vec<WChar> = "%d:%ls\0".chars().map(|c| c as WChar).collect();
        let arg: Vec<WChar> = "\u{e9}t\u{e9}\0".chars().map(|c| c as WChar).collect();
        let mut out = [0 as WChar; 16];
        let n = call(
            addr("_swprintf"),
            &[ptr(out.as_mut_ptr()), 16, ptr(fmt.as_ptr())],
            &[7, ptr(arg.as_ptr())],
        );
        assert_eq!(n, 5);
        let want: Vec<WChar> = "7:\u{e9}t\u{e9}\0".chars().map(|c| c as WChar).collect();
        assert_eq!(&out[..6], &want[..]);
    }
}
