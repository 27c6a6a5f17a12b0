//! Rust programs unwinding under macho-run's own unwinder, on both
//! targets: tests/unwind/panics.rs (panics caught by `catch_unwind` with
//! destructors run, a panic in a spawned thread seen by `join`, a rethrow,
//! `Backtrace::force_capture()` naming the program's frames) linked by
//! machlink and by ld64.lld-19, against the same source built natively.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, check, mismatch, Target};

const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/unwind/panics.rs")
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

fn rust_triple(target: Target) -> &'static str {
    match target {
        Target::X86_64 => "x86_64-apple-darwin",
        Target::Arm64 => "aarch64-apple-darwin",
    }
}

/// A -syslibroot for rustc: rustc links `-lSystem -lc -lm`, all three
/// libSystem on macOS, so the SDK's libSystem.tbd goes under each name.
fn rust_sdk(dir: &Path) -> PathBuf {
    let lib = dir.join("sdk/usr/lib");
    std::fs::create_dir_all(&lib).unwrap();
    let tbd = testkit::sdk_root().join("usr/lib/libSystem.tbd");
    for name in ["libSystem.tbd", "libc.tbd", "libm.tbd"] {
        std::fs::copy(&tbd, lib.join(name)).unwrap();
    }
    dir.join("sdk")
}

/// rustc for a macOS target, linking with `linker` (ld64-style).
fn build(target: Target, linker: &Path, sdk: &Path, out: &Path) {
    let triple = rust_triple(target);
    let libdir = capture(rustc().args(["--print", "target-libdir", "--target", triple]));
    let has_std = std::fs::read_dir(libdir.stdout_str().trim()).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    });
    assert!(
        libdir.code == 0 && has_std,
        "the Rust target {triple} is not installed: run `{}` first",
        testkit::SETUP
    );
    check(
        rustc()
            .env("SDKROOT", sdk)
            .args(["--edition", "2021", "-O", "-g", "--target", triple])
            .arg("-C")
            .arg(format!("linker={}", linker.display()))
            .args(["-C", "linker-flavor=ld64.lld", "-o"])
            .arg(out)
            .arg(source()),
    );
}

#[test]
fn rust_panics_unwind_and_backtraces_name_frames_on_both_targets() {
    let dir = testkit::scratch_dir("unwind_rust");
    let sdk = rust_sdk(&dir);
    let native = dir.join("panics-native");
    check(
        rustc()
            .args(["--edition", "2021", "-O", "-g", "-o"])
            .arg(&native)
            .arg(source()),
    );
    let expected = capture(&mut Command::new(&native));
    assert!(
        expected
            .stdout_str()
            .contains("backtrace: panics::capture_here <- panics::main"),
        "the native build names its frames: {}",
        expected.stdout_str()
    );
    let linkers = [
        ("machlink", testkit::workspace_bin("machlink")),
        ("lld", testkit::require_tool("ld64.lld-19")),
    ];
    let mut failures = Vec::new();
    for target in Target::ALL {
        if target == Target::Arm64 {
            testkit::require_aarch64_macho_run(Path::new(MACHO_RUN));
        }
        for (name, linker) in &linkers {
            let exe = dir.join(format!("panics-{}-{name}", target.arch()));
            build(target, linker, &sdk, &exe);
            let got = capture(Command::new(MACHO_RUN).arg(&exe));
            if got.stdout != expected.stdout || got.code != expected.code {
                let what = format!("{} {name}", target.arch());
                failures.push(mismatch(&what, &expected, &got));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
