//! macOS stdio: `FILE` objects with macOS's layout, so that programs can
//! use the `<stdio.h>` macros that work on a FILE's fields inline
//! (`getc_unlocked`, `putc_unlocked`, `feof_unlocked`, ...) and the
//! `__srget`/`__swbuf` they call, each backed by a glibc stream that does
//! the buffering and I/O.
//!
//! - [`file`]: the layout, and how its fields mirror the glibc stream;
//! - [`streams`]: stdin/stdout/stderr, the pool of FILEs, locking;
//! - [`calls`]: every libSystem function that takes or returns a FILE;
//! - [`variadic`]: `fprintf`, `printf`, `fscanf`, ... entry points;
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
