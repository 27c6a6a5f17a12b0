//! macOS stdio: `FILE` objects with macOS's layout, so that programs can
//! use the `<stdio.h>` macros that work on a FILE's fields inline
//! (`getc_unlocked`, `putc_unlocked`, `feof_unlocked`, ...) and the
//! `__srget`/`__swbuf` they call, each backed by a glibc stream that does
//! the buffering and I/O.
//!
//! - [`file`]: the layout, and how its fields mirror the glibc stream;
//! - [`streams`]: stdin/stdout/stderr, the pool of FILEs, locking;
//! - [`calls`]: every libSystem function that takes or returns a FILE;
//! - [`variadic`]: `fprintf`, `printf`, `fscanf`, ... entry points, and
//!   on arm64 every `va_list` form;
//! - [`funopen`]: streams over the program's own functions.

mod calls;
mod file;
mod funopen;
mod streams;
mod variadic;

pub fn table() -> Vec<(&'static str, usize)> {
    streams::init();
    let mut t = vec![
        ("___stdinp", &raw mut streams::STDINP as usize),
        ("___stdoutp", &raw mut streams::STDOUTP as usize),
        ("___stderrp", &raw mut streams::STDERRP as usize),
        ("___sF", &raw mut streams::SF as usize),
    ];
    t.extend(calls::table());
    t.extend(variadic::table());
    t.extend(funopen::table());
    t
}

/// The variadic entry points alone, for checking them against
/// [`crate::shims::variadic::LIST`].
#[cfg(test)]
pub(crate) fn variadic_table() -> Vec<(&'static str, usize)> {
    variadic::table()
}

#[cfg(test)]
mod tests {
    use super::file::MacFile;
    use crate::shims::Host;

    #[test]
    fn standard_streams_are_the_entries_of_sf() {
        let host = Host::new();
        let addr = |name: &str| {
            host.lookup(name)
                .unwrap_or_else(|| panic!("{name} unbound"))
        };
        let sf = addr("___sF") as usize;
        let size = std::mem::size_of::<MacFile>();
        for (i, name) in ["___stdinp", "___stdoutp", "___stderrp"].iter().enumerate() {
            // SAFETY: the symbol is the address of a FILE pointer.
            let file = unsafe { *(addr(name) as *const *const MacFile) };
            assert_eq!(file as usize, sf + i * size, "{name}");
            // SAFETY: a standard stream, set up by Host::new.
            assert_eq!(unsafe { (*file).file }, i as i16, "{name}: _file");
        }
        assert_ne!(addr("___srget"), 0);
        assert_ne!(addr("___swbuf"), 0);
    }
}
