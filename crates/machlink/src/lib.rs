//! machlink: an ld64-compatible Mach-O linker whose headline is
//! near-instant incremental relinking through a *distributed jump table*
//! (see `../shared/DESIGN.md` in the steering repository).
//!
//! The pipeline of a full link, one module per stage:
//!
//! inputs ([`input`]) → symbols and resolution ([`symbols`]) → atoms
//! ([`atom`]) → synthetic sections ([`synthetic`]) → layout ([`layout`]) →
//! relocation through the target architecture ([`arch`]) → LINKEDIT
//! ([`linkedit`]) → output file. The incremental engine ([`incremental`])
//! keeps the laid-out image and replays only changed atoms through the
//! same stages.
//!
//! Status: the architecture layer (trampoline encoding for x86_64) is in
//! place; the other stages are being built issue by issue.

pub mod arch;
pub mod atom;
pub mod dead_strip;
pub mod error;
pub mod exports;
pub mod incremental;
pub mod input;
pub mod layout;
pub mod link;
pub mod linkedit;
pub mod map;
pub mod options;
pub mod output;
pub mod section_flags;
pub mod symbols;
pub mod synthetic;
pub mod unwind;
pub mod unwind_info;

/// The version printed by `machlink --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
