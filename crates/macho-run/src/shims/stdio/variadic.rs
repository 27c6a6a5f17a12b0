//! The formatted-I/O functions that take `...` or a `va_list` (`printf`,
//! `vfprintf`, `snprintf`, `sscanf`, the wide forms, `err`/`warn`,
//! `syslog`): their entry points for each architecture's convention, which
//! reach the `v` forms of [`super::calls`] (on macOS FILEs) or of glibc
//! with a glibc `va_list`.
//!
//! - [`x86_64`]: System V passes `...` and `va_list` the same on macOS and
//!   Linux, so only the functions on FILEs need an entry point;
//! - [`arm64`]: Apple's convention is not glibc's (see
//!   [`crate::shims::variadic`]), so every one does, and every `va_list`
//!   form takes Apple's `char *`.

#[cfg(target_arch = "aarch64")]
mod arm64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

pub fn table() -> Vec<(&'static str, usize)> {
    #[cfg(target_arch = "aarch64")]
    return arm64::table();
    #[cfg(target_arch = "x86_64")]
    return x86_64::table();
}
