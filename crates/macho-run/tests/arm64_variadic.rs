//! arm64 programs that call variadic libSystem functions (printf and
//! scanf families, open, fcntl, execl, syslog, err/warn) and functions
//! taking a va_list (wide forms and BSD's warnc/errc too), run by the x86_64 macho-run (through its aarch64
//! build under qemu-aarch64), must print exactly what the same C built
//! natively by gcc prints: Apple's arm64 convention passes every variadic
//! argument on the stack, glibc's in registers, and a call bound straight
//! to glibc would print the wrong arguments. A program importing a
//! variadic function macho-run has no arm64 shim for must be refused,
//! naming it. The sources are in `tests/arm64_variadic/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, check, require_tool, Outcome};

/// The x86_64 build under test; it re-executes the aarch64 one.
const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");

/// Fails (naming the command that fixes it) unless the aarch64 build of
/// macho-run and qemu-aarch64 are there.
fn require_aarch64_build() {
    testkit::require_aarch64_macho_run(Path::new(MACHO_RUN));
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/arm64_variadic/{name}.c"))
}

/// An arm64 macOS 13 build of `tests/arm64_variadic/NAME.c` (zig's clang
/// and macOS headers, ld64.lld-19), called NAME in a directory of its
/// own: `warn` and `err` print the program's name.
fn build_arm64(name: &str, chained: bool) -> PathBuf {
    let format = if chained { "chained" } else { "classic" };
    let dir = testkit::scratch_dir(&format!("arm64_variadic/{name}-{format}"));
    let obj = dir.join(format!("{name}.o"));
    check(
        testkit::zig_cc()
            // zig_cc names the x86_64 target; the last -target wins.
            .args(["-target", "aarch64-macos.13.0", "-O1", "-ffp-contract=off"])
            .args(["-w", "-c"])
            .arg(source(name))
            .arg("-o")
            .arg(&obj),
    );
    let exe = dir.join(name);
    check(
        Command::new(require_tool("ld64.lld-19"))
            .args([
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
            .arg(&exe)
            .arg(if chained {
                "-fixup_chains"
            } else {
                "-no_fixup_chains"
            })
            .arg(&obj),
    );
    exe
}

/// The native gcc build of NAME, in a directory of the test `test`'s own.
fn build_native(name: &str, test: &str) -> PathBuf {
    let dir = testkit::scratch_dir(&format!("arm64_variadic/{name}-native-{test}"));
    let exe = dir.join(name);
    testkit::build_native(&[source(name)], &exe, &["-O1", "-w", "-ffp-contract=off"]);
    exe
}

/// Runs `exe` (directly, or under macho-run) with `args`, a clean
/// environment and stdin from /dev/null.
fn run(runner: Option<&str>, exe: &Path, args: &[&Path]) -> Outcome {
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
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C"),
    )
}

/// Builds NAME natively and for arm64 in both fixup formats and checks
/// that both arm64 builds behave as the native one; `args` makes the
/// arguments of a run from a fresh scratch directory.
fn refs(v: &[PathBuf]) -> Vec<&Path> {
    v.iter().map(PathBuf::as_path).collect()
}

fn same_as_native(name: &str, args: impl Fn(&Path) -> Vec<PathBuf>) {
    require_aarch64_build();
    let native = build_native(name, "arm64");
    let scratch = |who: &str| {
        let d = testkit::scratch_dir(&format!("arm64_variadic/{name}-run-{who}"));
        args(&d)
    };
    let expected = run(None, &native, &refs(&scratch("native")));
    assert!(
        !expected.stdout.is_empty(),
        "the native {name} printed nothing"
    );
    for chained in [true, false] {
        let exe = build_arm64(name, chained);
        let who = if chained { "chained" } else { "classic" };
        let got = run(Some(MACHO_RUN), &exe, &refs(&scratch(who)));
        assert!(
            got.code == expected.code
                && got.stdout == expected.stdout
                && got.stderr == expected.stderr,
            "{}",
            testkit::mismatch(&format!("{name} ({who}) under macho-run"), &expected, &got)
        );
    }
}

#[test]
fn printf_and_scanf_families_pass_mixed_arguments() {
    same_as_native("format", |_| Vec::new());
}

#[test]
fn open_fcntl_and_file_formatting_take_their_optional_arguments() {
    same_as_native("files", |dir| vec![dir.to_path_buf()]);
}

#[test]
fn wide_formatting_on_files_and_warnc_errc() {
    same_as_native("wide", |_| Vec::new());
}

/// BSD's warnc/errc are shims on x86_64 too (glibc has none), through the
/// System V entry points.
#[test]
fn warnc_and_errc_on_x86_64_too() {
    let native = build_native("wide", "x86_64");
    let dir = testkit::scratch_dir("arm64_variadic/wide-x86_64");
    let obj = dir.join("wide.o");
    testkit::compile_macos(&source("wide"), &obj, &["-O1", "-w"]);
    let exe = dir.join("wide");
    testkit::link(testkit::Linker::LldChained, &[obj], &exe, &[]);
    let expected = run(None, &native, &[]);
    let got = run(Some(MACHO_RUN), &exe, &[]);
    assert!(
        got.code == expected.code && got.stdout == expected.stdout && got.stderr == expected.stderr,
        "{}",
        testkit::mismatch("wide (x86_64) under macho-run", &expected, &got)
    );
}

#[test]
fn exec_argument_lists_and_syslog() {
    same_as_native("exec", |_| Vec::new());
}

#[test]
fn a_variadic_import_without_a_shim_is_refused_by_name() {
    require_aarch64_build();
    for chained in [true, false] {
        let exe = build_arm64("refused", chained);
        let got = run(Some(MACHO_RUN), &exe, &[]);
        let err = got.stderr_str();
        assert!(
            got.code == macho_run::EXIT_UNBOUND
                && err.contains("variadic import(s) with no arm64 shim")
                && err.contains("_strfmon"),
            "expected the refusal of _strfmon, got exit {}: {err}",
            got.code
        );
        assert!(
            got.stdout.is_empty(),
            "the program ran: {}",
            got.stdout_str()
        );
    }
}
