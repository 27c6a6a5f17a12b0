//! machlink: an ld64-compatible Mach-O linker whose headline is
//! near-instant incremental relinking through a *distributed jump table*
//! (see `../shared/DESIGN.md` in the steering repository).
//!
//! The pipeline of a full link ([`link::link`] drives it as a flat list of
//! passes), one module per stage:
//!
//! inputs ([`input`]: objects split into atoms ([`atom`]), archives, dylibs, TAPI
//! stubs; [`cmdline`]: what `-sectcreate`, `-init` and `-alias` add) →
//! resolution (`resolve`, over [`symbols`]; then [`dead_strip`], and
//! `dylib_use` for weak, re-exported and dead-stripped dylibs) →
//! synthetic sections ([`synthetic`], [`unwind`]; [`weak`] for weak
//! definitions dyld coalesces across images) → [`layout`] (in
//! `-order_file` order, [`order`]) →
//! writing (`write`'s passes: atoms through `relocate`, then [`linkedit`]
//! and [`output`]). Everything that depends on the target architecture is
//! behind [`arch::Arch`]; byte formats shared by inputs and output are in
//! [`formats`]; [`timing`] times the passes. The incremental engine
//! ([`incremental`]) keeps the laid-out image and a state beside it, and
//! replays only changed objects through the same relocation writer;
//! [`image`] offers it to compiler backends as a library.

pub mod arch;
pub mod atom;
pub mod cmdline;
pub mod dead_strip;
pub mod dtrace;
pub(crate) mod dylib_use;
pub mod error;
pub mod exports;
pub mod formats;
#[doc(hidden)]
pub mod fuzzing;
pub mod image;
pub mod incremental;
pub mod init_offsets;
pub mod input;
pub mod interpose;
pub mod layout;
pub mod link;
pub mod linkedit;
pub mod linker_symbols;
pub(crate) mod load_order;
pub mod map;
pub mod objc;
pub mod options;
pub mod order;
pub mod output;
pub mod platform;
pub(crate) mod relocate;
pub(crate) mod resolve;
pub mod section_flags;
pub mod symbols;
pub mod synthetic;
pub mod teardown;
pub(crate) mod thunks;
pub mod timing;
pub mod unwind;
pub mod unwind_info;
pub mod weak;
pub(crate) mod write;

/// The version printed by `machlink --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
