//! `macho-run`: runs x86_64 macOS (Mach-O) executables on Linux x86_64.
//!
//! It is machlink's test oracle: a linker's output is right when the program
//! it produced behaves here exactly as the same C code compiled natively.
//! The loader does what dyld does for a single-image program:
//!
//! 1. [`macho`] parses and validates the header and load commands;
//! 2. [`fixups`] decodes chained fixups or the classic dyld-info opcodes;
//! 3. [`loader`] maps the segments at their addresses (sliding if needed);
//! 4. [`binder`] binds imports to the host C library through [`shims`],
//!    where macOS and glibc differ;
//! 5. [`run`] sets up thread-locals, runs initialisers and calls `main`.

pub mod binder;
pub mod error;
pub mod fixups;
pub mod loader;
pub mod macho;
pub mod run;
pub mod shims;

pub use error::{LoadError, EXIT_CANNOT_EXECUTE, EXIT_UNBOUND};
pub use run::{load, run_file_in_child, Loaded};
