//! Rust programs run under macho-run (issue #15): every program in
//! `tests/rust/` is compiled by rustc for x86_64-apple-darwin and
//! aarch64-apple-darwin, linked by machlink (rustc's ld64.lld-flavoured
//! linker) and by ld64.lld-19, and run under macho-run at the preferred
//! address and slid. Each run must print what the same program built for
//! this Linux host prints (stdout and stderr, thread ids and timings
//! masked) and exit with the same status. The programs cover std's
//! threads and synchronisation, collections with random hash seeds,
//! arguments, environment, files and directories, child processes,
//! panics (caught, in threads, uncaught, backtraces) and the libtest
//! harness with `#[should_panic]` tests.

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
