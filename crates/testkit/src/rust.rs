//! Building Rust programs for macOS: the rustc target of a [`Target`], the
//! SDK directory rustc links against, and rustc with machlink (or another
//! ld64-style linker) as its ld64.lld-flavoured linker.

use crate::{capture, Target, SETUP};
use std::path::{Path, PathBuf};
use std::process::Command;

impl Target {
    /// rustc's target triple for macOS on this CPU.
    pub fn rust_triple(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64-apple-darwin",
            Target::Arm64 => "aarch64-apple-darwin",
        }
    }
}

/// rustc (or `$RUSTC`).
pub fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

/// Fails, naming the setup script, unless the standard library for
/// `triple` is installed; returns its directory.
pub fn require_rust_target(triple: &str) -> PathBuf {
    let out = capture(rustc().args(["--print", "target-libdir", "--target", triple]));
    let dir = PathBuf::from(out.stdout_str().trim());
    let has_std = std::fs::read_dir(&dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    });
    assert!(
        out.code == 0 && has_std,
        "the Rust target {triple} is not installed (no libstd in {dir:?}): run `{SETUP}` first"
    );
    dir
}

/// What rustc needs to link for macOS here: `SDKROOT` (rustc passes it as
/// `-syslibroot`, clang reads it) names a directory whose `usr/lib` holds
/// libSystem.tbd and copies named libc.tbd and libm.tbd (rustc links
/// `-lSystem -lc -lm`; on macOS all three are libSystem), and a
/// libiconv.tbd. Made in `work`.
pub fn rust_sdk(work: &Path) -> PathBuf {
    let sdk = work.join("rust-sdk");
    let lib = sdk.join("usr/lib");
    std::fs::create_dir_all(&lib).unwrap();
    let tbd = crate::sdk_root().join("usr/lib/libSystem.tbd");
    for name in ["libSystem.tbd", "libc.tbd", "libm.tbd"] {
        std::fs::copy(&tbd, lib.join(name)).unwrap();
    }
    std::fs::write(lib.join("libiconv.tbd"), LIBICONV_TBD).unwrap();
    sdk
}

/// libiconv's interface as the macOS SDK has it (the `libc` crate links
/// `-liconv` on Apple targets): its own dylib, outside libSystem.
const LIBICONV_TBD: &str = "--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
install-name:    '/usr/lib/libiconv.2.dylib'
current-version: 7
compatibility-version: 7
exports:
  - targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
    symbols:         [ _iconv, _iconv_close, _iconv_open, _iconvctl, _libiconv,
                       _libiconv_close, _libiconv_open, _libiconvctl, _libiconvlist ]
...
";

/// rustc compiling `src` (edition 2021, optimized) into the macOS program
/// `out` for `target`, with `linker` as its ld64.lld-flavoured linker.
pub fn rustc_macos(target: Target, sdk: &Path, linker: &Path, src: &Path, out: &Path) -> Command {
    let mut cmd = rustc();
    cmd.env("SDKROOT", sdk)
        .args(["--edition", "2021", "-O", "--target", target.rust_triple()])
        .arg("-C")
        .arg(format!("linker={}", linker.display()))
        .args(["-C", "linker-flavor=ld64.lld", "-o"])
        .arg(out)
        .arg(src);
    cmd
}

/// rustc compiling `src` (edition 2021, optimized) for this Linux host.
pub fn rustc_native(src: &Path, out: &Path) -> Command {
    let mut cmd = rustc();
    cmd.args(["--edition", "2021", "-O", "-o"])
        .arg(out)
        .arg(src);
    cmd
}
