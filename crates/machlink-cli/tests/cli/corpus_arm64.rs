//! arm64: every C program under tests/corpus and a generated program,
//! compiled for arm64 macOS and linked by ld64.lld-19 and by machlink, each
//! in both fixup formats, must behave under macho-run (which runs arm64
//! images through its aarch64 build under qemu-aarch64) exactly as the same
//! C compiled natively with gcc: loaded at its preferred address, slid
//! (`MACHO_RUN_FORCE_SLIDE`), and for classic outputs with lazy binding
//! through the stub helper (`MACHO_RUN_LAZY`). Every output must also read
//! cleanly with `llvm-objdump-19 --macho -d` and carry a valid ad-hoc code
//! signature (arm64 macOS runs nothing unsigned).
//!
//! One list, [`VARIANTS`], names every link; nothing is skipped: a link
//! that fails is a problem naming the program, the linker and the variant,
//! and the other variants still run.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{Linker, Outcome, Target};

const TARGET: Target = Target::Arm64;

/// How one output is run under macho-run: a label and its environment.
type Run = (&'static str, &'static [(&'static str, &'static str)]);

const PLAIN: Run = ("", &[]);
const SLID: Run = ("slid", &[("MACHO_RUN_FORCE_SLIDE", "1")]);
const LAZY: Run = ("lazy", &[("MACHO_RUN_LAZY", "1")]);

/// One way of linking: the linker (which fixes the fixup format) and the
/// runs its output gets. Classic outputs also run with lazy binding.
struct Variant {
    linker: Linker,
    runs: &'static [Run],
}

const VARIANTS: &[Variant] = &[
    Variant {
        linker: Linker::LldChained,
        runs: &[PLAIN, SLID],
    },
    Variant {
        linker: Linker::LldClassic,
        runs: &[PLAIN, SLID, LAZY],
    },
    Variant {
        linker: Linker::MachlinkChained,
        runs: &[PLAIN, SLID],
    },
    Variant {
        linker: Linker::MachlinkClassic,
        runs: &[PLAIN, SLID, LAZY],
    },
];

fn require_tools() {
    testkit::require_tool("ld64.lld-19");
    testkit::require_tool("llvm-objdump-19");
    testkit::require_tool("qemu-aarch64");
    testkit::sdk_root();
}

/// What a variant of a program is called in a failure.
fn label(program: &str, linker: Linker, run: &str) -> String {
    if run.is_empty() {
        format!("{program} [arm64, {}]", linker.name())
    } else {
        format!("{program} [arm64, {}, {run}]", linker.name())
    }
}

/// `llvm-objdump-19 --macho -d` must read the whole output: exit 0 and
/// say nothing on stderr (it warns about a malformed load command, a
/// section outside its segment, an unknown relocation, ...).
pub(crate) fn objdump_problem(exe: &Path) -> Option<String> {
    let o = testkit::capture(
        Command::new("llvm-objdump-19")
            .args(["--macho", "-d"])
            .arg(exe),
    );
    (o.code != 0 || !o.stderr.is_empty()).then(|| {
        format!(
            "llvm-objdump-19 --macho -d exit {}: {}",
            o.code,
            o.stderr_str()
        )
    })
}

pub(crate) fn signature_problem(exe: &Path) -> Option<String> {
    let bytes = std::fs::read(exe).unwrap_or_else(|e| panic!("read {}: {e}", exe.display()));
    testkit::verify_adhoc_signature(&bytes)
        .err()
        .map(|e| format!("ad-hoc code signature: {e}"))
}

/// Links `objs` in every variant, checks each output and runs it; returns
/// one line per problem, each naming program, linker and run.
fn check_variants(
    program: &str,
    objs: &[PathBuf],
    work: &Path,
    expected: &Outcome,
    run: impl Fn(&Path, &[(&str, &str)]) -> Outcome,
) -> Vec<String> {
    let mut problems = Vec::new();
    for v in VARIANTS {
        let exe = work.join(format!("prog-arm64-{}", v.linker.name()));
        if let Err(e) = testkit::try_link_for(TARGET, v.linker, objs, &exe, &[]) {
            problems.push(format!("{}: link: {e}", label(program, v.linker, "")));
            continue;
        }
        for p in [objdump_problem(&exe), signature_problem(&exe)]
            .into_iter()
            .flatten()
        {
            problems.push(format!("{}: {p}", label(program, v.linker, "")));
        }
        for (name, env) in v.runs {
            let got = run(&exe, env);
            if got != *expected {
                let what = label(program, v.linker, name);
                problems.push(testkit::mismatch(&what, expected, &got));
            }
        }
    }
    problems
}

fn macho_run_corpus(exe: &Path, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(testkit::workspace_bin("macho-run"));
    cmd.arg(exe);
    testkit::run_corpus_program(&mut cmd, env)
}

fn check_program(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let work = testkit::scratch_dir(&format!("corpus-arm64/{name}"));
    let srcs = testkit::c_sources(dir);
    let native = work.join("native");
    testkit::build_native(&srcs, &native, testkit::CORPUS_CFLAGS);
    let expected = testkit::run_corpus_program(&mut Command::new(&native), &[]);
    let objs = testkit::compile_all_macos_for(TARGET, &srcs, &work, testkit::CORPUS_CFLAGS);
    check_variants(&name, &objs, &work, &expected, macho_run_corpus)
}

fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn corpus_arm64_programs_linked_by_lld_and_machlink_behave_as_native_builds() {
    require_tools();
    let dirs = testkit::corpus_programs();
    let results = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(dirs.len(), |i| {
        let problems = check_program(&dirs[i]);
        results.lock().unwrap().push((i, problems));
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    let problems: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    assert_no_problems("arm64 corpus", &problems);
    let runs: usize = VARIANTS.iter().map(|v| v.runs.len()).sum();
    eprintln!(
        "arm64 corpus: {} programs x {} links ({runs} runs) match their native builds",
        dirs.len(),
        VARIANTS.len()
    );
}

/// The generated program's size: enough objects and functions for
/// thousands of cross-object calls, GOT loads and pointer tables, small
/// enough to run every variant under qemu in seconds.
const GEN_OBJECTS: &str = "40";
const GEN_FUNCTIONS: &str = "200";

#[test]
fn corpus_arm64_generated_program_linked_by_lld_and_machlink_matches_native() {
    require_tools();
    let work = testkit::scratch_dir("corpus-arm64-genprog");
    let src = work.join("src");
    testkit::check(
        Command::new("python3")
            .arg(testkit::workspace_root().join("tests/gen/genprog.py"))
            .args(["--objects", GEN_OBJECTS, "--functions", GEN_FUNCTIONS])
            .arg("--out")
            .arg(&src),
    );
    let srcs = testkit::c_sources(&src);
    let flags = &["-O1", "-fcommon", "-w"];
    let native = work.join("native");
    testkit::build_native(&srcs, &native, flags);
    let expected = testkit::capture(&mut Command::new(&native));
    assert!(
        expected.code == 0 && expected.stdout_str().contains("checksum="),
        "the native build does not run: {}",
        testkit::mismatch("native", &expected, &expected)
    );
    let objs = testkit::compile_all_macos_for(TARGET, &srcs, &work, flags);
    let problems = check_variants("genprog", &objs, &work, &expected, |exe, env| {
        testkit::cli::macho_run_with(exe, env)
    });
    assert_no_problems("arm64 generated program", &problems);
}
