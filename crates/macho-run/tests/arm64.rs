//! arm64 Mach-O programs, run by the x86_64 macho-run through its aarch64
//! build under qemu-aarch64 (the one entry point), compared with the same
//! C built natively by gcc. Each program is linked by ld64.lld-19 in both
//! fixup formats and run eagerly, slid, and (classic) with lazy binding
//! through dyld_stub_binder. Also: the arm64 files macho-run must refuse.
//!
//! The programs print with puts/fputs/fwrite only: the arm64 variadic
//! convention (printf and friends) is separate work.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, check, require_tool, Outcome};

/// The x86_64 build under test; it re-executes the aarch64 one.
const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");
const BUILD_AARCH64: &str = "cargo build --release -p macho-run --target aarch64-unknown-linux-gnu";
const LAZY: &str = macho_run::shims::lazy::LAZY_ENV;
const SLIDE: &str = macho_run::loader::FORCE_SLIDE_ENV;

/// Fails (naming the commands that fix it) unless the aarch64 build of
/// macho-run and qemu-aarch64 are there.
fn require_aarch64_build() {
    require_tool("qemu-aarch64");
    let x86 = Path::new(MACHO_RUN);
    let dir = x86.parent().expect("target/<profile>");
    let arm = dir
        .parent()
        .expect("target")
        .join("aarch64-unknown-linux-gnu")
        .join(dir.file_name().expect("profile"))
        .join("macho-run");
    assert!(
        arm.is_file(),
        "{} is not built: run `{BUILD_AARCH64}` (scripts/test.sh does)",
        arm.display()
    );
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/arm64/{name}.c"))
}

/// Compiles C for arm64 macOS 13 with zig's clang and the macOS headers.
fn compile_arm64(src: &Path, obj: &Path, flags: &[&str]) {
    check(
        testkit::zig_cc()
            // zig_cc names the x86_64 target; the last -target wins.
            .args([
                "-target",
                "aarch64-macos.13.0",
                "-O1",
                "-ffp-contract=off",
                "-w",
            ])
            .args(flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(obj),
    );
}

/// Links arm64 objects with ld64.lld-19; `chained` picks the fixup format.
fn link_arm64(objs: &[PathBuf], out: &Path, chained: bool) {
    let mut cmd = Command::new(require_tool("ld64.lld-19"));
    cmd.args([
        "-arch",
        "arm64",
        "-platform_version",
        "macos",
        "13.0",
        "13.0",
    ])
    .arg("-syslibroot")
    .arg(testkit::sdk_root())
    .args(["-lSystem", "-o"])
    .arg(out)
    .arg(if chained {
        "-fixup_chains"
    } else {
        "-no_fixup_chains"
    })
    .args(objs);
    check(&mut cmd);
}

/// An arm64 program in both fixup formats: (chained, classic).
fn build_arm64(name: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    let dir = testkit::scratch_dir(&format!("arm64/{name}"));
    let obj = dir.join(format!("{name}.o"));
    compile_arm64(&source(name), &obj, flags);
    let chained = dir.join(format!("{name}-chained"));
    let classic = dir.join(format!("{name}-classic"));
    link_arm64(std::slice::from_ref(&obj), &chained, true);
    link_arm64(std::slice::from_ref(&obj), &classic, false);
    (chained, classic)
}

fn native(name: &str, flags: &[&str]) -> PathBuf {
    let dir = testkit::scratch_dir(&format!("arm64-native/{name}"));
    let exe = dir.join(name);
    let mut all = vec!["-O1", "-w", "-DNATIVE_GLIBC"];
    all.extend_from_slice(flags);
    testkit::build_native(&[source(name)], &exe, &all);
    exe
}

/// Runs `exe` (directly, or under macho-run) with fixed args and env.
fn run(runner: Option<&Path>, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = match runner {
        Some(r) => {
            let mut c = Command::new(r);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    capture(
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .envs(env.iter().copied()),
    )
}

/// Builds `name` natively and for arm64 and checks every arm64 run
/// (chained, classic, slid, lazy) against the native one: stdout, stderr
/// and exit status. Returns the arm64 builds.
fn matches_native(name: &str, flags: &[&str], args: &[&str]) -> (PathBuf, PathBuf) {
    require_aarch64_build();
    let expected = run(None, &native(name, flags), args, &[]);
    let mut mismatches = Vec::new();
    let (chained, classic) = build_arm64(name, flags);
    let runs: [(&Path, &str, &[(&str, &str)]); 5] = [
        (&chained, "chained", &[]),
        (&chained, "chained, slid", &[(SLIDE, "1")]),
        (&classic, "classic", &[]),
        (&classic, "classic, slid", &[(SLIDE, "1")]),
        (
            &classic,
            "classic, lazy, slid",
            &[(LAZY, "1"), (SLIDE, "1")],
        ),
    ];
    for (exe, what, env) in runs {
        let got = run(Some(Path::new(MACHO_RUN)), exe, args, env);
        if got != expected {
            mismatches.push(testkit::mismatch(
                &format!("{name} ({what})"),
                &expected,
                &got,
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    (chained, classic)
}

#[test]
fn arm64_setjmp_longjmp_keep_registers_masks_and_the_macos_jmp_buf_size() {
    matches_native("setjmp", &[], &[]);
}

#[test]
fn arm64_calls_initialisers_errno_and_stdio_match_native() {
    matches_native("calls", &[], &["first", "second"]);
}

#[test]
fn arm64_ctype_and_signed_char_match_native() {
    matches_native("ctype", &[], &[]);
}

#[test]
fn arm64_thread_locals_per_thread_match_native() {
    matches_native("tlv", &[], &[]);
}

#[test]
fn arm64_stack_protector_passes_and_catches_an_overrun() {
    let (chained, classic) = matches_native("protector", &["-fstack-protector-all"], &[]);
    for exe in [chained, classic] {
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &["smash"], &[]);
        const SIGABRT: i32 = 6;
        assert_eq!(out.code, 128 + SIGABRT, "{}", out.stderr_str());
        assert!(
            out.stderr_str().contains("stack buffer overflow detected"),
            "{}",
            out.stderr_str()
        );
    }
}

#[test]
fn arm64_images_run_at_their_address_or_slid() {
    require_aarch64_build();
    for exe in <[PathBuf; 2]>::from(build_arm64("where", &[])) {
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &[], &[]);
        assert_eq!(
            out.stdout_str(),
            "preferred\nrebased pointer ok\n",
            "{}",
            out.stderr_str()
        );
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &[], &[(SLIDE, "1")]);
        assert_eq!(
            out.stdout_str(),
            "slid\nrebased pointer ok\n",
            "{}",
            out.stderr_str()
        );
    }
}
