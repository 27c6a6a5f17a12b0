//! The corpus programs split into a dylib and an executable: every object
//! but the one defining `_main` goes into `lib.dylib` (install name
//! `@rpath/lib.dylib`), and the executable links that object against the
//! dylib with `-rpath @executable_path`. Both images are linked by machlink
//! and by ld64.lld-19, with chained fixups and with classic dyld info, and
//! for each of the four:
//!
//! - macho-run loads the dylib with the program, which must behave exactly
//!   as the native gcc build (stdout, stderr, exit code), at the preferred
//!   address, slid, and (classic) lazily bound;
//! - `machlink verify` passes on the dylib;
//! - machlink's dylib and executable mean what lld's do (semantic diff,
//!   with only the accepted differences of `semantic_diff::ALLOW`).
//!
//! `weak_defs` and `weak_shared` put weak definitions on both sides: the
//! winner of each name (the executable's strong or first weak definition,
//! else the dylib's strong one) must be used by both images, which needs
//! dyld's weak coalescing (weak binds, weak-lookup imports,
//! MH_WEAK_DEFINES) to be right in both linkers' outputs.

use super::semantic_diff::{assert_no_problems, diff_pair, require_tools, ALLOW};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::machlink_verify;
use testkit::{run_corpus_program, CORPUS_CFLAGS};

/// Corpus programs that cannot be split, with the reason. Single-source
/// programs are left out without one (there is nothing to put in a dylib).
const NOT_SPLIT: &[(&str, &str)] = &[
    (
        "globals_common",
        "main.c's tentative definitions merge with a.c's and b.c's commons in one \
         image; across a dylib boundary each image keeps its own copy (as under dyld), \
         so the program prints something else than its native build",
    ),
    (
        "tls_threads",
        "other.c uses a thread-local variable main.c defines: a dylib cannot import a \
         thread-local from the executable that loads it (ld64.lld-19 refuses the TLV \
         reference)",
    ),
];

/// The versions both linkers write into LC_ID_DYLIB (their defaults differ,
/// which is not what this test is about).
const VERSIONS: &[&str] = &["-current_version", "1.0", "-compatibility_version", "1.0"];

#[derive(Clone, Copy, PartialEq)]
enum Ld {
    Machlink,
    Lld,
}

impl Ld {
    fn command(self, out: &Path, classic: bool) -> Command {
        let mut cmd = match self {
            Ld::Machlink => testkit::machlink_command(out),
            Ld::Lld => testkit::lld_command(out),
        };
        if classic {
            cmd.arg("-no_fixup_chains");
        }
        cmd
    }

    fn name(self) -> &'static str {
        match self {
            Ld::Machlink => "machlink",
            Ld::Lld => "lld",
        }
    }
}

/// The objects of a program: (the one defining `_main`, the others).
fn split_objects(objs: &[PathBuf]) -> Option<(PathBuf, Vec<PathBuf>)> {
    let defines_main = |o: &PathBuf| {
        testkit::cli::tool("llvm-nm-19", &["--defined-only", "--extern-only"], o)
            .lines()
            .any(|l| l.ends_with(" _main"))
    };
    let (main, rest): (Vec<PathBuf>, Vec<PathBuf>) = objs.iter().cloned().partition(defines_main);
    match (main.len(), rest.len()) {
        (1, n) if n > 0 => Some((main.into_iter().next().unwrap(), rest)),
        _ => None,
    }
}

/// What one program's split links showed: runs that differ from the native
/// build, verify failures and semantic differences; and the number of runs.
#[derive(Default)]
struct Report {
    problems: Vec<String>,
    differences: Vec<String>,
    runs: usize,
}

/// Links, runs, verifies and compares one split program.
fn check_program(dir: &Path) -> Option<Report> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let srcs = testkit::c_sources(dir);
    if srcs.len() < 2 || NOT_SPLIT.iter().any(|(n, _)| *n == name) {
        return None;
    }
    let work = testkit::scratch_dir(&format!("split-corpus/{name}"));
    let objs = testkit::compile_all_macos(&srcs, &work, CORPUS_CFLAGS);
    let Some((main, lib_objs)) = split_objects(&objs) else {
        panic!("{name}: no single object defines _main; list it in NOT_SPLIT with why");
    };
    let native = work.join("native");
    testkit::build_native(&srcs, &native, CORPUS_CFLAGS);
    let expected = run_corpus_program(&mut Command::new(&native), &[]);

    let mut report = Report::default();
    for classic in [false, true] {
        let format = if classic { "classic" } else { "chained" };
        for ld in [Ld::Machlink, Ld::Lld] {
            let out = work.join(format!("{}-{format}", ld.name()));
            std::fs::create_dir_all(&out).unwrap();
            let (lib, exe) = (out.join("lib.dylib"), out.join("prog"));
            testkit::check(
                ld.command(&lib, classic)
                    .args(["-dylib", "-install_name", "@rpath/lib.dylib"])
                    .args(VERSIONS)
                    .args(&lib_objs),
            );
            testkit::check(
                ld.command(&exe, classic)
                    .args(["-rpath", "@executable_path"])
                    .arg(&main)
                    .arg(&lib),
            );
            let variant = format!("{name} split, {} {format}", ld.name());
            let verified = machlink_verify(&lib);
            if verified.code != 0 {
                report.problems.push(format!(
                    "{variant}: machlink verify fails on lib.dylib: {}{}",
                    verified.stdout_str(),
                    verified.stderr_str()
                ));
            }
            let mut modes = vec![("", None), (" (slid)", Some("MACHO_RUN_FORCE_SLIDE"))];
            if classic {
                modes.push((" (lazy)", Some("MACHO_RUN_LAZY")));
            }
            for (mode, env) in modes {
                let env: Vec<(&str, &str)> = env.iter().map(|&v| (v, "1")).collect();
                let mut cmd = Command::new(testkit::workspace_bin("macho-run"));
                let got = run_corpus_program(cmd.arg(&exe), &env);
                report.runs += 1;
                if got != expected {
                    let what = format!("{variant}{mode}");
                    report
                        .problems
                        .push(testkit::mismatch(&what, &expected, &got));
                }
            }
        }
        for image in ["lib.dylib", "prog"] {
            report.differences.extend(diff_pair(
                &format!("{name} split {image} ({format})"),
                &work.join(format!("machlink-{format}")).join(image),
                &work.join(format!("lld-{format}")).join(image),
                ALLOW,
            ));
        }
    }
    Some(report)
}

#[test]
fn split_corpus_programs_run_verify_and_mean_what_lld_links_mean() {
    require_tools();
    testkit::require_tool("llvm-nm-19");
    testkit::require_tool("gcc");
    let dirs = testkit::corpus_programs();
    let reports = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(dirs.len(), |i| {
        if let Some(r) = check_program(&dirs[i]) {
            reports.lock().unwrap().push((i, r));
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by_key(|r| r.0);
    let split: Vec<String> = reports
        .iter()
        .map(|(i, _)| dirs[*i].file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in ["weak_defs", "weak_shared", "xobj_calls", "fnptr_tables"] {
        assert!(
            split.iter().any(|s| s == required),
            "{required} must be among the split programs: {split:?}"
        );
    }
    let runs: usize = reports.iter().map(|(_, r)| r.runs).sum();
    let problems: Vec<String> = reports
        .iter()
        .flat_map(|(_, r)| r.problems.clone())
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems in {runs} runs of {} split programs:\n{}",
        problems.len(),
        split.len(),
        problems.join("\n")
    );
    let differences: Vec<String> = reports
        .into_iter()
        .flat_map(|(_, r)| r.differences)
        .collect();
    assert_no_problems("split corpus programs", &differences);
    eprintln!(
        "split corpus: {} programs ({}), {runs} runs match their native builds",
        split.len(),
        split.join(", ")
    );
}
