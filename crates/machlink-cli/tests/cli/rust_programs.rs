//! Rust programs run under macho-run (issue #15): every program in
//! `tests/rust/` is compiled by rustc for x86_64-apple-darwin and
//! aarch64-apple-darwin, linked by machlink (rustc's ld64.lld-flavoured
//! linker) and by ld64.lld-19, and run under macho-run at the preferred
//! address and slid. Each run must print what the same program built for
//! this Linux host prints (stdout and stderr, thread ids and timings
//! masked) and exit with the same status. The programs cover std's
//! threads and synchronisation, collections with random hash seeds,
//! arguments, environment, files and directories, child processes, TCP
//! and UDP sockets on the loopback, panics (caught, in threads, uncaught,
//! backtraces) and the libtest harness with `#[should_panic]` tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use testkit::cli::machlink_verify;
use testkit::rust::{require_rust_target, rust_sdk, rustc_macos, rustc_native};
use testkit::{capture, check, require_tool, workspace_bin, Outcome, Target};

/// A program of `tests/rust/` and how it is run.
struct Program {
    name: &'static str,
    args: &'static [&'static str],
    /// Built with `rustc --test` (the libtest harness).
    harness: bool,
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "threads",
        args: &[],
        harness: false,
    },
    Program {
        name: "collections",
        args: &[],
        harness: false,
    },
    Program {
        name: "files",
        args: &["first", "two words", "--flag=3"],
        harness: false,
    },
    Program {
        name: "process",
        args: &[],
        harness: false,
    },
    Program {
        name: "net",
        args: &[],
        harness: false,
    },
    Program {
        name: "panics",
        args: &[],
        harness: false,
    },
    Program {
        name: "unit_tests",
        // One test at a time, so the report's order is fixed.
        args: &["--test-threads=1"],
        harness: true,
    },
];

fn source(p: &Program) -> PathBuf {
    testkit::workspace_root()
        .join("tests/rust")
        .join(p.name)
        .with_extension("rs")
}

/// The native builds and their runs, made once per test process (both
/// targets' tests compare against them).
fn native_runs() -> &'static [Outcome] {
    static RUNS: OnceLock<Vec<Outcome>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let work = testkit::scratch_dir("rust_programs/native");
        let exes: Vec<PathBuf> = PROGRAMS.iter().map(|p| work.join(p.name)).collect();
        testkit::parallel_for(PROGRAMS.len(), |i| {
            let mut cmd = rustc_native(&source(&PROGRAMS[i]), &exes[i]);
            if PROGRAMS[i].harness {
                cmd.arg("--test");
            }
            check(&mut cmd);
        });
        PROGRAMS
            .iter()
            .zip(&exes)
            .map(|(p, exe)| run(p, &mut std::process::Command::new(exe), &work))
            .collect()
    })
}

/// Runs one program with its arguments, a fixed environment and a private
/// temporary directory (the programs make files there).
fn run(p: &Program, cmd: &mut std::process::Command, work: &Path) -> Outcome {
    let tmp = work.join(format!("tmp-{}", p.name));
    std::fs::create_dir_all(&tmp).unwrap();
    capture(
        cmd.args(p.args)
            .env("TMPDIR", &tmp)
            .env("RUST_PROGRAMS_INPUT", "from the test")
            .env("RUST_BACKTRACE", "0")
            .env_remove("RUST_TEST_THREADS")
            .current_dir(work),
    )
}

/// Masks what differs from run to run: thread ids in panic messages
/// (`thread 'main' (1234) panicked`) and libtest's timings.
fn masked(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if let Some(start) = line.find("' (") {
            if let Some(len) = line[start + 3..].find(')') {
                if line[start + 3..start + 3 + len]
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                {
                    line.replace_range(start + 1..start + 4 + len, "");
                }
            }
        }
        if let Some(at) = line.find("; finished in ") {
            line.truncate(at);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The differences between an expected and an actual run, if any.
fn mismatch(label: &str, expected: &Outcome, got: &Outcome) -> Option<String> {
    let (eo, go) = (masked(&expected.stdout_str()), masked(&got.stdout_str()));
    let (ee, ge) = (masked(&expected.stderr_str()), masked(&got.stderr_str()));
    if expected.code == got.code && eo == go && ee == ge {
        return None;
    }
    Some(format!(
        "{label}: exit {} (native {})\n--- stdout (native) ---\n{eo}--- stdout ---\n{go}\
         --- stderr (native) ---\n{ee}--- stderr ---\n{ge}",
        got.code, expected.code
    ))
}

/// Builds every program for `target` with machlink and with ld64.lld-19,
/// runs each output plain and slid, and compares with the native runs.
fn programs_run_like_native_builds(target: Target) {
    let work = testkit::scratch_dir(&format!("rust_programs/{}", target.arch()));
    require_rust_target(target.rust_triple());
    let macho_run = workspace_bin("macho-run");
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&macho_run);
    }
    let sdk = rust_sdk(&work);
    let linkers = [
        ("machlink", workspace_bin("machlink")),
        ("ld64.lld-19", require_tool("ld64.lld-19")),
    ];
    let builds: Vec<(usize, usize, PathBuf)> = (0..PROGRAMS.len())
        .flat_map(|p| (0..linkers.len()).map(move |l| (p, l)))
        .map(|(p, l)| {
            (
                p,
                l,
                work.join(format!("{}-{}", PROGRAMS[p].name, linkers[l].0)),
            )
        })
        .collect();
    testkit::parallel_for(builds.len(), |i| {
        let (p, l, ref exe) = builds[i];
        let mut cmd = rustc_macos(target, &sdk, &linkers[l].1, &source(&PROGRAMS[p]), exe);
        if PROGRAMS[p].harness {
            cmd.arg("--test");
        }
        check(&mut cmd);
    });
    let native = native_runs();
    let mut failures = Vec::new();
    for (p, l, exe) in &builds {
        let program = &PROGRAMS[*p];
        if linkers[*l].0 == "machlink" {
            let o = machlink_verify(exe);
            if o.code != 0 {
                failures.push(format!("verify {}: {}", exe.display(), o.stdout_str()));
            }
        }
        for slide in [false, true] {
            let mut cmd = std::process::Command::new(&macho_run);
            if slide {
                cmd.env("MACHO_RUN_FORCE_SLIDE", "1");
            }
            let got = run(program, cmd.arg(exe), &work);
            let label = format!(
                "{} for {} linked by {}{}",
                program.name,
                target.arch(),
                linkers[*l].0,
                if slide { ", slid" } else { "" }
            );
            failures.extend(mismatch(&label, &native[*p], &got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs differ from the native builds:\n{}",
        failures.len(),
        builds.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn x86_64_programs_run_like_their_native_builds() {
    programs_run_like_native_builds(Target::X86_64);
}

#[test]
fn arm64_programs_run_like_their_native_builds() {
    programs_run_like_native_builds(Target::Arm64);
}

#[test]
fn masking_removes_thread_ids_and_timings_only() {
    assert_eq!(
        masked("thread 'main' (1234) panicked at x.rs:1:2:\nok. 3 passed; finished in 0.01s\n(7)"),
        "thread 'main' panicked at x.rs:1:2:\nok. 3 passed\n(7)\n"
    );
    assert_eq!(masked("a ' (x) b"), "a ' (x) b\n");
}

/// The cargo project of [`cargo_runs_and_tests_for_both_targets`]: a
/// library with unit tests (one `#[should_panic]`), a doctest, an
/// integration test with threads and a caught panic, and a binary.
const CARGO_PROJECT: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        // Its own workspace: the scratch directory lies inside machlink's.
        "[package]\nname = \"machlink-e2e\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    ),
    (
        "src/lib.rs",
        r#"/// Sums the squares of `1..=n`.
///
/// ```
/// assert_eq!(machlink_e2e::squares(3), 14);
/// ```
pub fn squares(n: u64) -> u64 {
    (1..=n).map(|i| i.checked_mul(i).expect("overflow")).sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn small() {
        assert_eq!(super::squares(4), 30);
    }

    #[test]
    #[should_panic(expected = "overflow")]
    fn too_big() {
        super::squares(std::hint::black_box(u64::MAX));
    }
}
"#,
    ),
    (
        "src/main.rs",
        r#"fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    println!("args {args:?}");
    println!("squares({n}) = {}", machlink_e2e::squares(n));
    println!("env {:?}", std::env::var("E2E_VAR"));
    std::process::exit(3);
}
"#,
    ),
    (
        "tests/api.rs",
        r#"#[test]
fn squares_in_threads() {
    let handles: Vec<_> = (1..=4u64).map(|n| std::thread::spawn(move || machlink_e2e::squares(n))).collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums, [1, 5, 14, 30]);
}

#[test]
fn a_panic_is_caught() {
    let r = std::panic::catch_unwind(|| machlink_e2e::squares(u64::MAX));
    assert!(r.is_err());
}
"#,
    ),
];

/// The `.cargo/config.toml` that builds for both macOS targets with
/// machlink (rustdoc too: doctests are linked for the target) and runs
/// what it builds under macho-run.
fn cargo_config(machlink: &Path, macho_run: &Path, sdk: &Path) -> String {
    let mut config = String::new();
    for target in Target::ALL {
        config.push_str(&format!(
            "[target.{}]\nlinker = {:?}\nrustflags = [\"-C\", \"linker-flavor=ld64.lld\"]\n\
             rustdocflags = [\"-C\", \"linker-flavor=ld64.lld\"]\nrunner = {:?}\n\n",
            target.rust_triple(),
            machlink.display().to_string(),
            macho_run.display().to_string(),
        ));
    }
    config.push_str(&format!(
        "[env]\nSDKROOT = {:?}\n",
        sdk.display().to_string()
    ));
    config
}

/// cargo in `project`, isolated from the cargo running this test, with
/// its target directory in `target_dir`.
fn cargo(project: &Path, target_dir: &Path, args: &[&str]) -> Outcome {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    capture(
        std::process::Command::new(cargo)
            .current_dir(project)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("RUST_TEST_THREADS")
            .env("CARGO_TARGET_DIR", target_dir)
            .env("RUST_BACKTRACE", "0")
            .env("E2E_VAR", "passed through")
            .arg("--offline")
            .args(args),
    )
}

/// The `test NAME ... RESULT` lines and the count of `test result: ok`
/// summaries of a `cargo test` output, sorted.
fn test_report(o: &Outcome) -> (Vec<String>, usize) {
    let out = o.stdout_str();
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| l.starts_with("test ") && l.contains(" ... "))
        .map(str::to_string)
        .collect();
    lines.sort();
    let ok = out
        .lines()
        .filter(|l| l.starts_with("test result: ok."))
        .count();
    (lines, ok)
}

/// cargo end to end, as a developer sets it up: `.cargo/config.toml` names
/// machlink as the linker and macho-run as the runner for both macOS
/// targets; `cargo run` and `cargo test` (unit, integration and doc tests)
/// for each must report what the native `cargo run`/`cargo test` report.
/// The target directory persists between runs (the project's files are
/// rewritten, so the crate is rebuilt and relinked each time).
#[test]
fn cargo_runs_and_tests_for_both_targets() {
    let work = testkit::scratch_dir("rust_programs/cargo");
    let macho_run = workspace_bin("macho-run");
    for target in Target::ALL {
        require_rust_target(target.rust_triple());
    }
    testkit::require_aarch64_macho_run(&macho_run);
    let sdk = rust_sdk(&work);
    let project = work.join("project");
    for (path, text) in CARGO_PROJECT {
        let file = project.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    std::fs::create_dir_all(project.join(".cargo")).unwrap();
    std::fs::write(
        project.join(".cargo/config.toml"),
        cargo_config(&workspace_bin("machlink"), &macho_run, &sdk),
    )
    .unwrap();
    let target_dir = testkit::workspace_root().join("target/test-cache/rust-programs-cargo");

    let native_run = cargo(&project, &target_dir, &["run", "-q", "--", "12", "x"]);
    let native_test = cargo(&project, &target_dir, &["test"]);
    assert_eq!(
        native_test.code,
        0,
        "native cargo test: {}",
        native_test.stderr_str()
    );
    let (native_lines, native_ok) = test_report(&native_test);
    // The library's and the binary's unit tests, the integration test, the doctest.
    assert_eq!(native_ok, 4, "{}", native_test.stdout_str());

    let mut failures = Vec::new();
    for target in Target::ALL {
        let triple = target.rust_triple();
        let run = cargo(
            &project,
            &target_dir,
            &["run", "-q", "--target", triple, "--", "12", "x"],
        );
        if (run.code, run.stdout_str()) != (native_run.code, native_run.stdout_str()) {
            failures.push(format!(
                "cargo run --target {triple}: exit {} (native {}), stdout:\n{}native:\n{}stderr:\n{}",
                run.code,
                native_run.code,
                run.stdout_str(),
                native_run.stdout_str(),
                run.stderr_str()
            ));
        }
        let test = cargo(&project, &target_dir, &["test", "--target", triple]);
        let (lines, ok) = test_report(&test);
        if test.code != 0 || lines != native_lines || ok != native_ok {
            failures.push(format!(
                "cargo test --target {triple}: exit {}, {ok} suites ok (native {native_ok}), \
                 tests {lines:?} (native {native_lines:?})\n{}{}",
                test.code,
                test.stdout_str(),
                test.stderr_str()
            ));
        }
        // What cargo ran is a Mach-O linked by machlink.
        let exe = target_dir.join(triple).join("debug/machlink-e2e");
        let o = machlink_verify(&exe);
        if o.code != 0 {
            failures.push(format!(
                "verify {}: {}{}",
                exe.display(),
                o.stdout_str(),
                o.stderr_str()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
