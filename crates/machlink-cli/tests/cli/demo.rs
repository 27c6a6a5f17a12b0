//! `machlink demo`: the embedded sample program is linked incrementally,
//! run, grown past its slot, relinked (a trampoline in the old slot), run
//! again and verified, on x86_64 and on arm64 (under qemu-aarch64), with no
//! compiler or SDK on PATH; its command line and what it says when the
//! aarch64 runner is missing.

use std::path::Path;
use std::process::Command;
use testkit::{capture, Outcome, Target};

/// `machlink demo ARGS` with PATH set to `path` and `env` added.
fn demo(args: &[&str], path: &Path, env: &[(&str, &Path)]) -> Outcome {
    capture(
        Command::new(testkit::workspace_bin("machlink"))
            .arg("demo")
            .args(args)
            .env("PATH", path)
            .envs(env.iter().copied()),
    )
}

fn says_all(o: &Outcome, expected: &[&str]) {
    let out = o.stdout_str();
    assert_eq!(o.code, 0, "{out}{}", o.stderr_str());
    for e in expected {
        assert!(out.contains(e), "missing {e:?} in:\n{out}");
    }
}

/// What every run of the demo prints, whatever the target.
const STORY: &[&str] = &[
    "full link: first link (no output yet)",
    "hello, linker\nhello, world\n",
    // (arm64's __eh_frame record of greet is rewritten in place too)
    "1 moved, 3 added, 0 removed; 1 trampolines written",
    "hello again, linker (2 vowels)",
    "greet returned 3 in total; &greet is stable: yes",
    "3. `machlink verify`",
    "1 trampolines, none leading to another",
];

#[test]
fn the_demo_moves_a_function_behind_a_trampoline_without_a_compiler() {
    // No compiler or SDK on PATH: the demo brings its own objects and stub.
    let o = demo(&["--arch", "x86_64"], Path::new("/nonexistent"), &[]);
    says_all(&o, STORY);
    says_all(
        &o,
        &[
            "machlink demo (x86_64)",
            "is now a 5-byte `jmp rel32` trampoline",
        ],
    );
    // Without --arch, the host's target (this test host is x86_64 or
    // aarch64; see `machlink demo --help`).
    let host = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    if host == "x86_64" {
        let o = demo(&[], Path::new("/nonexistent"), &[]);
        says_all(&o, STORY);
        says_all(&o, &["machlink demo (x86_64)"]);
    }
}

/// A PATH holding qemu-aarch64 and nothing else, so the arm64 demo runs
/// without a compiler in reach.
fn path_with_only_qemu(dir: &Path) -> std::path::PathBuf {
    let qemu = testkit::require_tool("qemu-aarch64");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("qemu-aarch64");
    if !link.exists() {
        std::os::unix::fs::symlink(&qemu, &link).unwrap();
    }
    bin
}

#[test]
fn the_arm64_demo_moves_a_function_behind_a_b_trampoline_under_qemu() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    let dir = testkit::scratch_dir("demo/arm64");
    let o = demo(&["--arch", "arm64"], &path_with_only_qemu(&dir), &[]);
    says_all(&o, STORY);
    says_all(
        &o,
        &["machlink demo (arm64)", "is now a 4-byte `b` trampoline"],
    );
}

/// Without macho-run's aarch64 build the arm64 demo stops before it links
/// anything, naming the command that builds it.
#[test]
fn the_arm64_demo_names_the_missing_aarch64_build() {
    let dir = testkit::scratch_dir("demo/no-aarch64-runner");
    let missing = dir.join("no-such-macho-run");
    let o = demo(
        &["--arch", "arm64"],
        &path_with_only_qemu(&dir),
        &[("MACHO_RUN_AARCH64", &missing)],
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout_str(), o.stderr_str());
    assert_eq!(o.stdout_str(), "", "nothing is linked or run");
    let err = o.stderr_str();
    assert!(
        err.contains(testkit::BUILD_AARCH64_MACHO_RUN) && err.contains(&*missing.to_string_lossy()),
        "{err}"
    );
}

#[test]
fn the_demo_command_line() {
    let nowhere = Path::new("/nonexistent");
    let o = demo(&["--help"], nowhere, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(
        o.stdout_str()
            .contains("usage: machlink demo [--arch x86_64|arm64]")
            && o.stdout_str()
                .contains("defaults to the host's architecture"),
        "{}",
        o.stdout_str()
    );
    for (args, says) in [
        (
            &["--arch", "ppc"][..],
            "no sample for the architecture 'ppc'",
        ),
        (&["--arch"][..], "--arch needs a value"),
        (&["--fast"][..], "unknown argument '--fast'"),
    ] {
        let o = demo(args, nowhere, &[]);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr_str());
        assert!(
            o.stderr_str().contains(says) && o.stderr_str().contains("usage: machlink demo"),
            "{args:?}: {}",
            o.stderr_str()
        );
    }
    // `machlink --help` names the subcommands.
    let o = capture(Command::new(testkit::workspace_bin("machlink")).arg("--help"));
    assert!(
        o.stdout_str()
            .contains("machlink demo [--arch x86_64|arm64]"),
        "{}",
        o.stdout_str()
    );
}

/// The embedded arm64 sample's grown version, linked incrementally from
/// the start: the reserve after `__text` is a quarter of its size (here
/// not a multiple of 4), and `__stubs` after it must still be aligned for
/// the `bl`s to it to encode.
#[test]
fn the_grown_arm64_sample_links_incrementally_with_aligned_stubs() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    let dir = testkit::scratch_dir("demo/arm64-stubs");
    let sample = testkit::workspace_root().join("crates/machlink-cli/demo/arm64");
    let exe = dir.join("prog");
    let o = capture(
        testkit::machlink_command_for(Target::Arm64, &exe)
            .arg("-incremental")
            .arg(sample.join("main.o"))
            .arg(sample.join("greet_v2.o")),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let headers = testkit::cli::tool("llvm-objdump-19", &["--macho", "--section-headers"], &exe);
    let stubs = headers
        .lines()
        .find(|l| l.contains("__stubs"))
        .unwrap_or_else(|| panic!("no __stubs in {headers}"));
    let addr = u64::from_str_radix(stubs.split_whitespace().nth(3).unwrap(), 16).unwrap();
    assert_eq!(addr % 4, 0, "{stubs}");
    let out = testkit::cli::run_ok(&exe);
    assert!(out.contains("hello again, linker (2 vowels)"), "{out}");
}
