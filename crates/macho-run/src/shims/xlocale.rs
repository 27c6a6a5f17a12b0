//! macOS locales (`<xlocale.h>`): `newlocale`, `setlocale`, `localeconv`
//! and the `*_l` functions that take a locale explicitly, which libc++
//! calls for every number it formats or parses.
//!
//! A macOS `locale_t` here is a glibc `locale_t`: `newlocale` returns
//! glibc's object. What differs is translated at the boundary:
//! - the category numbers (`LC_CTYPE` is 2 on macOS, 0 on glibc) and the
//!   `LC_*_MASK` bits (macOS: collate 1, ctype 2, messages 4, monetary 8,
//!   numeric 16, time 32);
//! - the locale handles: macOS's `NULL` (`LC_C_LOCALE`) means the "C"
//!   locale in a `*_l` call, which glibc would dereference, and
//!   `LC_GLOBAL_LOCALE` (-1 on both) is not accepted by glibc's `*_l`;
//! - `struct lconv`, whose last four `int_*` fields are in another order;
//! - the `*_l` functions glibc does not have (`mbrtowc_l`, `snprintf_l`,
//!   `___mb_cur_max_l`, ...), which run glibc's plain function with the
//!   locale made the thread's own for the call, as libc++ does on Linux.

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

/// A `locale_t`, macOS's or glibc's: the same pointer (see the module doc).
pub(crate) type Locale = libc::locale_t;
type WChar = libc::wchar_t;
type MbState = *mut c_void;

/// macOS's `LC_GLOBAL_LOCALE`.
const GLOBAL: Locale = -1isize as Locale;

/// glibc's "C" locale object, made once, standing for macOS's `NULL`.
fn c_locale() -> Locale {
    struct Handle(Locale);
    // SAFETY: a locale object is immutable once made; it is never freed.
    unsafe impl Send for Handle {}
    unsafe impl Sync for Handle {}
    static C: OnceLock<Handle> = OnceLock::new();
    C.get_or_init(|| {
        // SAFETY: "C" always exists; a null base makes a fresh object.
        Handle(unsafe { libc::newlocale(libc::LC_ALL_MASK, c"C".as_ptr(), std::ptr::null_mut()) })
    })
    .0
}

/// The glibc locale a macOS `*_l` call means: `NULL` is "C"; the global
/// locale is what `uselocale` accepts, never a `*_l` argument of glibc's.
fn host_locale(loc: Locale) -> Locale {
    if loc.is_null() {
        c_locale()
    } else {
        loc
    }
}

/// A locale object glibc's `*_l` functions accept (the global one is not).
fn object_for_l(loc: Locale) -> Locale {
    if loc == GLOBAL {
        // SAFETY: querying the thread's locale has no preconditions.
        let current = unsafe { libc::uselocale(std::ptr::null_mut()) };
        return if current == GLOBAL {
            global_object()
        } else {
            current
        };
    }
    host_locale(loc)
}

/// An object for the global locale, made from the name `setlocale`
/// reports and remade only when that name changes (the replaced object is
/// left alive: another thread may be using it).
fn global_object() -> Locale {
    struct Made(std::ffi::CString, Locale);
    // SAFETY: locale objects are immutable; the Mutex guards the slot.
    unsafe impl Send for Made {}
    static MADE: std::sync::Mutex<Option<Made>> = std::sync::Mutex::new(None);
    // SAFETY: setlocale(LC_ALL, NULL) only queries; its string is copied
    // before anything else can change it.
    let name = unsafe {
        let p = libc::setlocale(libc::LC_ALL, std::ptr::null());
        if p.is_null() {
            return c_locale();
        }
        std::ffi::CStr::from_ptr(p).to_owned()
    };
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = made.as_ref().filter(|m| m.0 == name) {
        return m.1;
    }
    // SAFETY: a name setlocale accepted; a null base makes a fresh object.
    let obj = unsafe { libc::newlocale(libc::LC_ALL_MASK, name.as_ptr(), std::ptr::null_mut()) };
    if obj.is_null() {
        return c_locale();
    }
    *made = Some(Made(name, obj));
    obj
}

/// The thread's locale switched to another for the length of one call.
struct InLocale(Locale);

impl InLocale {
    fn enter(loc: Locale) -> InLocale {
        let loc = if loc.is_null() { c_locale() } else { loc };
        // SAFETY: loc is a glibc locale object or LC_GLOBAL_LOCALE.
        InLocale(unsafe { libc::uselocale(loc) })
    }
}

impl Drop for InLocale {
    fn drop(&mut self) {
        // SAFETY: restores what uselocale returned in enter.
        unsafe { libc::uselocale(self.0) };
    }
}

/// macOS `LC_*_MASK` bits and the glibc masks they stand for.
const MASKS: [(c_int, c_int); 6] = [
    (1, libc::LC_COLLATE_MASK),
    (2, libc::LC_CTYPE_MASK),
    (4, libc::LC_MESSAGES_MASK),
    (8, libc::LC_MONETARY_MASK),
    (16, libc::LC_NUMERIC_MASK),
    (32, libc::LC_TIME_MASK),
];

fn host_mask(mac: c_int) -> c_int {
    // macOS's LC_ALL_MASK is every category it has; glibc has more (paper,
    // address, ...), which "all" must cover too.
    if mac & 0x3f == 0x3f {
        return libc::LC_ALL_MASK;
    }
    MASKS
        .iter()
        .filter(|(m, _)| mac & m != 0)
        .fold(0, |acc, (_, g)| acc | g)
}

/// macOS's category numbers (`LC_ALL` 0 ... `LC_MESSAGES` 6) as glibc's.
fn host_category(mac: c_int) -> Option<c_int> {
    Some(match mac {
        0 => libc::LC_ALL,
        1 => libc::LC_COLLATE,
        2 => libc::LC_CTYPE,
        3 => libc::LC_MONETARY,
        4 => libc::LC_NUMERIC,
        5 => libc::LC_TIME,
        6 => libc::LC_MESSAGES,
        _ => return None,
    })
}

unsafe extern "C" fn newlocale(mask: c_int, name: *const c_char, base: Locale) -> Locale {
    let base = if base == GLOBAL {
        libc::duplocale(global_object())
    } else if base.is_null() || base == c_locale() {
        // glibc's null base is the C locale; ours must never be consumed.
        std::ptr::null_mut()
    } else {
        base
    };
    libc::newlocale(host_mask(mask), name, base)
}

unsafe extern "C" fn duplocale(loc: Locale) -> Locale {
    libc::duplocale(object_for_l(loc))
}

unsafe extern "C" fn freelocale(loc: Locale) -> c_int {
    if !loc.is_null() && loc != GLOBAL && loc != c_locale() {
        libc::freelocale(loc);
    }
    0
}

unsafe extern "C" fn setlocale(category: c_int, name: *const c_char) -> *mut c_char {
    match host_category(category) {
        Some(c) => libc::setlocale(c, name),
        None => std::ptr::null_mut(),
    }
}

/// macOS's `struct lconv`: glibc's, with the `int_*` flags reordered.
#[repr(C)]
struct MacLconv {
    strings: [*mut c_char; 10],
    int_frac_digits: c_char,
    frac_digits: c_char,
    p_cs_precedes: c_char,
    p_sep_by_space: c_char,
    n_cs_precedes: c_char,
    n_sep_by_space: c_char,
    p_sign_posn: c_char,
    n_sign_posn: c_char,
    int_p_cs_precedes: c_char,
    int_n_cs_precedes: c_char,
    int_p_sep_by_space: c_char,
    int_n_sep_by_space: c_char,
    int_p_sign_posn: c_char,
    int_n_sign_posn: c_char,
}

thread_local! {
    /// What `localeconv` returns: per thread, as the strings it points at
    /// are the locale's own and stay valid.
    static LCONV: std::cell::UnsafeCell<MacLconv> = const {
        std::cell::UnsafeCell::new(MacLconv {
            strings: [std::ptr::null_mut(); 10],
            int_frac_digits: 0,
            frac_digits: 0,
            p_cs_precedes: 0,
            p_sep_by_space: 0,
            n_cs_precedes: 0,
            n_sep_by_space: 0,
            p_sign_posn: 0,
            n_sign_posn: 0,
            int_p_cs_precedes: 0,
            int_n_cs_precedes: 0,
            int_p_sep_by_space: 0,
            int_n_sep_by_space: 0,
            int_p_sign_posn: 0,
            int_n_sign_posn: 0,
        })
    };
}

unsafe extern "C" fn localeconv() -> *mut MacLconv {
    let g = &*libc::localeconv();
    LCONV.with(|cell| {
        let m = cell.get();
        *m = MacLconv {
            strings: [
                g.decimal_point,
                g.thousands_sep,
                g.grouping,
                g.int_curr_symbol,
                g.currency_symbol,
                g.mon_decimal_point,
                g.mon_thousands_sep,
                g.mon_grouping,
                g.positive_sign,
                g.negative_sign,
            ],
            int_frac_digits: g.int_frac_digits,
            frac_digits: g.frac_digits,
            p_cs_precedes: g.p_cs_precedes,
            p_sep_by_space: g.p_sep_by_space,
            n_cs_precedes: g.n_cs_precedes,
            n_sep_by_space: g.n_sep_by_space,
            p_sign_posn: g.p_sign_posn,
            n_sign_posn: g.n_sign_posn,
            int_p_cs_precedes: g.int_p_cs_precedes,
            int_n_cs_precedes: g.int_n_cs_precedes,
            int_p_sep_by_space: g.int_p_sep_by_space,
            int_n_sep_by_space: g.int_n_sep_by_space,
            int_p_sign_posn: g.int_p_sign_posn,
            int_n_sign_posn: g.int_n_sign_posn,
        };
        m
    })
}

unsafe extern "C" fn localeconv_l(loc: Locale) -> *mut MacLconv {
    let _in = InLocale::enter(loc);
    localeconv()
}

/// `MB_CUR_MAX_L(loc)`: the longest multibyte character of the locale.
unsafe extern "C" fn mb_cur_max_l(loc: Locale) -> c_int {
    extern "C" {
        fn __ctype_get_mb_cur_max() -> usize;
    }
    let _in = InLocale::enter(loc);
    __ctype_get_mb_cur_max() as c_int
}

mod glibc {
    use super::Locale;
    use std::ffi::{c_char, c_int};

    extern "C" {
        pub fn strtod_l(s: *const c_char, end: *mut *mut c_char, loc: Locale) -> f64;
        pub fn strtof_l(s: *const c_char, end: *mut *mut c_char, loc: Locale) -> f32;
        pub fn strcoll_l(a: *const c_char, b: *const c_char, loc: Locale) -> c_int;
        pub fn strxfrm_l(d: *mut c_char, s: *const c_char, n: usize, loc: Locale) -> usize;
        pub fn wcscoll_l(a: *const i32, b: *const i32, loc: Locale) -> c_int;
        pub fn wcsxfrm_l(d: *mut i32, s: *const i32, n: usize, loc: Locale) -> usize;
        pub fn strftime_l(
            s: *mut c_char,
            max: usize,
            fmt: *const c_char,
            tm: *const libc::tm,
            loc: Locale,
        ) -> usize;
    }
}

/// `*_l` functions glibc has too: the same call with the locale made one
/// glibc accepts.
macro_rules! with_host_locale {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $glibc:path;)+) => {
        $(
            unsafe extern "C" fn $name($($arg: $ty,)* loc: Locale) -> $ret {
                $glibc($($arg,)* object_for_l(loc))
            }
        )+
    };
}

with_host_locale! {
    fn strtod_l(s: *const c_char, end: *mut *mut c_char) -> f64 = glibc::strtod_l;
    fn strtof_l(s: *const c_char, end: *mut *mut c_char) -> f32 = glibc::strtof_l;
    fn strcoll_l(a: *const c_char, b: *const c_char) -> c_int = glibc::strcoll_l;
    fn strxfrm_l(d: *mut c_char, s: *const c_char, n: usize) -> usize = glibc::strxfrm_l;
    fn wcscoll_l(a: *const i32, b: *const i32) -> c_int = glibc::wcscoll_l;
    fn wcsxfrm_l(d: *mut i32, s: *const i32, n: usize) -> usize = glibc::wcsxfrm_l;
    fn strftime_l(s: *mut c_char, max: usize, fmt: *const c_char, tm: *const libc::tm) -> usize
        = glibc::strftime_l;
}

mod plain {
    use super::{MbState, WChar};
    use std::ffi::{c_char, c_int};

    extern "C" {
        pub fn btowc(c: c_int) -> u32;
        pub fn wctob(c: u32) -> c_int;
        pub fn mbrtowc(pwc: *mut WChar, s: *const c_char, n: usize, ps: MbState) -> usize;
        pub fn mbtowc(pwc: *mut WChar, s: *const c_char, n: usize) -> c_int;
        pub fn mbrlen(s: *const c_char, n: usize, ps: MbState) -> usize;
        pub fn wcrtomb(s: *mut c_char, wc: WChar, ps: MbState) -> usize;
        pub fn mbsrtowcs(d: *mut WChar, s: *mut *const c_char, n: usize, ps: MbState) -> usize;
        pub fn mbsnrtowcs(
            d: *mut WChar,
            s: *mut *const c_char,
            nms: usize,
            n: usize,
            ps: MbState,
        ) -> usize;
        pub fn wcsnrtombs(
            d: *mut c_char,
            s: *mut *const WChar,
            nwc: usize,
            n: usize,
            ps: MbState,
        ) -> usize;
        pub fn wcsrtombs(d: *mut c_char, s: *mut *const WChar, n: usize, ps: MbState) -> usize;
    }
}

/// `*_l` functions glibc lacks: its plain function, run in the locale.
macro_rules! in_locale {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $plain:path;)+) => {
        $(
            unsafe extern "C" fn $name($($arg: $ty,)* loc: Locale) -> $ret {
                let _in = InLocale::enter(loc);
                $plain($($arg),*)
            }
        )+
    };
}

in_locale! {
    fn btowc_l(c: c_int) -> u32 = plain::btowc;
    fn wctob_l(c: u32) -> c_int = plain::wctob;
    fn mbrtowc_l(pwc: *mut WChar, s: *const c_char, n: usize, ps: MbState) -> usize
        = plain::mbrtowc;
    fn mbtowc_l(pwc: *mut WChar, s: *const c_char, n: usize) -> c_int = plain::mbtowc;
    fn mbrlen_l(s: *const c_char, n: usize, ps: MbState) -> usize = plain::mbrlen;
    fn wcrtomb_l(s: *mut c_char, wc: WChar, ps: MbState) -> usize = plain::wcrtomb;
    fn mbsrtowcs_l(d: *mut WChar, s: *mut *const c_char, n: usize, ps: MbState) -> usize
        = plain::mbsrtowcs;
    fn mbsnrtowcs_l(d: *mut WChar, s: *mut *const c_char, nms: usize, n: usize, ps: MbState)
        -> usize = plain::mbsnrtowcs;
    fn wcsnrtombs_l(d: *mut c_char, s: *mut *const WChar, nwc: usize, n: usize, ps: MbState)
        -> usize = plain::wcsnrtombs;
    fn wcsrtombs_l(d: *mut c_char, s: *mut *const WChar, n: usize, ps: MbState) -> usize
        = plain::wcsrtombs;
}

/// `va_list` as glibc's `v*` functions take it (a pointer on both CPUs).
pub(crate) type VaList = *mut c_void;

mod formatted {
    use super::VaList;
    use std::ffi::{c_char, c_int};

    extern "C" {
        pub fn vsnprintf(s: *mut c_char, n: usize, fmt: *const c_char, ap: VaList) -> c_int;
        pub fn vasprintf(ret: *mut *mut c_char, fmt: *const c_char, ap: VaList) -> c_int;
        #[link_name = "__isoc99_vsscanf"]
        pub fn vsscanf(s: *const c_char, fmt: *const c_char, ap: VaList) -> c_int;
    }
}

/// `vsnprintf_l`, with a glibc `va_list`: the entry points of the `...`
/// forms (per CPU, in [`super::stdio`]) end here.
pub(crate) unsafe extern "C" fn vsnprintf_l(
    s: *mut c_char,
    n: usize,
    loc: Locale,
    fmt: *const c_char,
    ap: VaList,
) -> c_int {
    let _in = InLocale::enter(loc);
    formatted::vsnprintf(s, n, fmt, ap)
}

pub(crate) unsafe extern "C" fn vasprintf_l(
    ret: *mut *mut c_char,
    loc: Locale,
    fmt: *const c_char,
    ap: VaList,
) -> c_int {
    let _in = InLocale::enter(loc);
    formatted::vasprintf(ret, fmt, ap)
}

pub(crate) unsafe extern "C" fn vsscanf_l(
    s: *const c_char,
    loc: Locale,
    fmt: *const c_char,
    ap: VaList,
) -> c_int {
    let _in = InLocale::enter(loc);
    formatted::vsscanf(s, fmt, ap)
}

/// `strtold_l`. arm64 macOS's `long double` is a double.
#[cfg(target_arch = "aarch64")]
unsafe extern "C" fn strtold_l(s: *const c_char, end: *mut *mut c_char, loc: Locale) -> f64 {
    glibc::strtod_l(s, end, object_for_l(loc))
}

// `strtold_l`. x86_64's `long double` is the same x87 type on both
// systems, returned in `st(0)`, which Rust cannot name: a few
// instructions replace the locale argument and jump to glibc's.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl macho_run_strtold_l",
    "macho_run_strtold_l:",
    "    push rdi",
    "    push rsi",
    "    sub rsp, 8",
    "    mov rdi, rdx",
    "    call {object_for_l}",
    "    mov rdx, rax",
    "    add rsp, 8",
    "    pop rsi",
    "    pop rdi",
    "    jmp {strtold_l}",
    object_for_l = sym object_for_l_c,
    strtold_l = sym strtold_l_glibc,
);

#[cfg(target_arch = "x86_64")]
extern "C" fn object_for_l_c(loc: Locale) -> Locale {
    object_for_l(loc)
}

#[cfg(target_arch = "x86_64")]
extern "C" {
    #[link_name = "strtold_l"]
    fn strtold_l_glibc();
    fn macho_run_strtold_l();
}

#[cfg(target_arch = "x86_64")]
fn strtold_l_entry() -> usize {
    macho_run_strtold_l as *const () as usize
}

#[cfg(target_arch = "aarch64")]
fn strtold_l_entry() -> usize {
    strtold_l as *const () as usize
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_newlocale", newlocale as *const () as usize),
        ("_duplocale", duplocale as *const () as usize),
        ("_freelocale", freelocale as *const () as usize),
        ("_setlocale", setlocale as *const () as usize),
        ("_localeconv", localeconv as *const () as usize),
        ("_localeconv_l", localeconv_l as *const () as usize),
        ("____mb_cur_max_l", mb_cur_max_l as *const () as usize),
        ("_strtod_l", strtod_l as *const () as usize),
        ("_strtof_l", strtof_l as *const () as usize),
        ("_strtold_l", strtold_l_entry()),
        ("_strcoll_l", strcoll_l as *const () as usize),
        ("_strxfrm_l", strxfrm_l as *const () as usize),
        ("_wcscoll_l", wcscoll_l as *const () as usize),
        ("_wcsxfrm_l", wcsxfrm_l as *const () as usize),
        ("_strftime_l", strftime_l as *const () as usize),
        ("_btowc_l", btowc_l as *const () as usize),
        ("_wctob_l", wctob_l as *const () as usize),
        ("_mbrtowc_l", mbrtowc_l as *const () as usize),
        ("_mbtowc_l", mbtowc_l as *const () as usize),
        ("_mbrlen_l", mbrlen_l as *const () as usize),
        ("_wcrtomb_l", wcrtomb_l as *const () as usize),
        ("_mbsrtowcs_l", mbsrtowcs_l as *const () as usize),
        ("_mbsnrtowcs_l", mbsnrtowcs_l as *const () as usize),
        ("_wcsnrtombs_l", wcsnrtombs_l as *const () as usize),
        ("_wcsrtombs_l", wcsrtombs_l as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_categories_are_translated() {
        assert_eq!(host_mask(0x3f), libc::LC_ALL_MASK);
        assert_eq!(host_mask(2), libc::LC_CTYPE_MASK);
        assert_eq!(
            host_mask(16 | 1),
            libc::LC_NUMERIC_MASK | libc::LC_COLLATE_MASK
        );
        assert_eq!(host_category(2), Some(libc::LC_CTYPE));
        assert_eq!(host_category(0), Some(libc::LC_ALL));
        assert_eq!(host_category(7), None);
    }

    #[test]
    fn the_null_locale_is_c() {
        // SAFETY: strings are NUL-terminated; the locale is ours.
        unsafe {
            let mut end = std::ptr::null_mut();
            let v = strtod_l(c"2.5x".as_ptr(), &mut end, std::ptr::null_mut());
            assert_eq!(v, 2.5);
            assert_eq!(*end as u8, b'x');
            let loc = newlocale(0x3f, c"C".as_ptr(), std::ptr::null_mut());
            assert!(!loc.is_null());
            assert_eq!(mb_cur_max_l(loc), 1);
            let lc = &*localeconv_l(loc);
            assert_eq!(*lc.strings[0] as u8, b'.');
            assert_eq!(lc.int_n_sign_posn, c_char::MAX);
            freelocale(loc);
        }
    }
}
