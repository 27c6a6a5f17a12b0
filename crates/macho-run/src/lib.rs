//! `macho-run`: runs macOS (Mach-O) executables on Linux: x86_64 programs
//! on x86_64, arm64 programs on aarch64 (and, through [`foreign`], under
//! qemu-aarch64 when started on x86_64). [`arch`] holds what differs.
//!
//! It is machlink's test oracle: a linker's output is right when the program
//! it produced behaves here exactly as the same C code compiled natively.
//! The loader does what dyld does for a program and its own dylibs:
//!
//! 1. [`macho`] parses and validates the header and load commands;
//! 2. [`fixups`] decodes chained fixups or the classic dyld-info opcodes;
//! 3. [`loader`] maps the segments at their addresses (sliding if needed);
//! 4. [`images`] finds and maps the dylibs the program names (recursively),
//!    and resolves imports two-level: to a loaded image's exports, or for
//!    system libraries to the host C library through [`shims`], where
//!    macOS and glibc differ; [`binder`] gives every import its address;
//! 5. [`unwind`] records every image for the unwinder and dyld's image
//!    queries;
//! 6. [`run`] sets up thread-locals, runs initialisers (dylibs' first) and
//!    calls `main`.

pub mod arch;
pub mod binder;
pub mod error;
pub mod fixups;
pub mod foreign;
#[doc(hidden)]
pub mod fuzzing;
pub mod images;
pub mod loader;
pub mod macho;
pub mod run;
pub mod shims;
pub mod unwind;

pub use error::{LoadError, EXIT_CANNOT_EXECUTE, EXIT_UNBOUND};
pub use run::{load, run_file_in_child, Loaded};
