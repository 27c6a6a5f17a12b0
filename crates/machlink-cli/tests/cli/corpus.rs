//! Every C program under tests/corpus, compiled for macOS and linked by
//! machlink in both fixup formats, must behave under macho-run exactly as
//! the same C compiled natively with gcc, and as ld64.lld-19's link does.

use std::path::Path;
use std::process::Command;
use testkit::{Linker, Outcome};

use testkit::CORPUS_CFLAGS as CFLAGS;

/// Runs natively, or under macho-run with the given environment variables.
fn run(exe: &Path, under_macho_run: bool, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = if under_macho_run {
        let mut c = Command::new(testkit::workspace_bin("macho-run"));
        c.arg(exe);
        c
    } else {
        Command::new(exe)
    };
    testkit::run_corpus_program(&mut cmd, env)
}

fn check_program(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let work = testkit::scratch_dir(&format!("machlink-corpus/{name}"));
    let srcs = testkit::c_sources(dir);
    let native = work.join("native");
    testkit::build_native(&srcs, &native, CFLAGS);
    let expected = run(&native, false, &[]);
    let objs = testkit::compile_all_macos(&srcs, &work, CFLAGS);
    let mut problems = Vec::new();
    let configs: [(Linker, &[&str]); 5] = [
        (Linker::MachlinkChained, &[]),
        (Linker::MachlinkClassic, &[]),
        (Linker::MachlinkChained, &["-dead_strip"]),
        (Linker::MachlinkChained, &["-incremental"]),
        (Linker::LldChained, &[]),
    ];
    for (linker, flags) in configs {
        let exe = work.join(format!("prog-{}{}", linker.name(), flags.join("")));
        testkit::link(linker, &objs, &exe, flags);
        // Classic outputs also run with lazy pointers bound on first call
        // through machlink's stub helper.
        let lazy: &[&[(&str, &str)]] = if linker == Linker::MachlinkClassic {
            &[&[], &[("MACHO_RUN_LAZY", "1")]]
        } else {
            &[&[]]
        };
        for env in lazy {
            let got = run(&exe, true, env);
            if got != expected {
                let what = format!("{name} linked by {} {flags:?} {env:?}", linker.name());
                problems.push(testkit::mismatch(&what, &expected, &got));
            }
        }
    }
    problems
}

#[test]
fn corpus_programs_linked_by_machlink_behave_as_native_builds() {
    let dirs = testkit::corpus_programs();
    let problems: Vec<String> = dirs.iter().flat_map(|d| check_program(d)).collect();
    assert!(
        problems.is_empty(),
        "{} runs differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "machlink corpus: {} programs x (2 fixup formats, -dead_strip, -incremental) match their native builds",
        dirs.len()
    );
}
