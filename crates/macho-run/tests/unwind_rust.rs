//! Rust programs unwinding under macho-run's own unwinder, on both
//! targets: tests/unwind/panics.rs (panics caught by `catch_unwind` with
//! destructors run, a panic in a spawned thread seen by `join`, a rethrow,
//! four threads unwinding at once, `Backtrace::force_capture()` naming the
//! program's frames) linked by machlink and by ld64.lld-19, against the
//! same source built natively.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::rust::{require_rust_target, rust_sdk, rustc_macos, rustc_native};
use testkit::{capture, check, mismatch, Target};

const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/unwind/panics.rs")
}

#[test]
fn rust_panics_unwind_and_backtraces_name_frames_on_both_targets() {
    let dir = testkit::scratch_dir("unwind_rust");
    let sdk = rust_sdk(&dir);
    let native = dir.join("panics-native");
    check(&mut rustc_native(&source(), &native));
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
            require_rust_target(target.rust_triple());
            let exe = dir.join(format!("panics-{}-{name}", target.arch()));
            check(&mut rustc_macos(target, &sdk, linker, &source(), &exe));
            let got = capture(Command::new(MACHO_RUN).arg(&exe));
            if got.stdout != expected.stdout || got.code != expected.code {
                let what = format!("{} {name}", target.arch());
                failures.push(mismatch(&what, &expected, &got));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
