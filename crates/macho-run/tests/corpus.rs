//! Every C program under tests/corpus, compiled for macOS and linked three
//! ways (ld64.lld-19 with chained fixups, ld64.lld-19 with classic dyld
//! info, zig's linker), must behave under macho-run exactly as the same C
//! compiled natively with gcc: byte-identical stdout and stderr, same exit
//! code.

use macho_run::loader::FORCE_SLIDE_ENV;
use macho_run::shims::lazy::LAZY_ENV;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{run_corpus_program, Linker, CORPUS_CFLAGS};

fn macho_run(exe: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_macho-run"));
    cmd.arg(exe);
    cmd
}

/// Builds and runs one corpus program; returns a description of every way
/// it differed from the native build.
fn check_program(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let work = testkit::scratch_dir(&format!("corpus/{name}"));
    let srcs = testkit::c_sources(dir);
    assert!(!srcs.is_empty(), "{}: no .c files", dir.display());
    let native = work.join("native");
    testkit::build_native(&srcs, &native, CORPUS_CFLAGS);
    let expected = run_corpus_program(&mut Command::new(&native), &[]);
    let objs = testkit::compile_all_macos(&srcs, &work, CORPUS_CFLAGS);
    let mut problems = Vec::new();
    for linker in Linker::ALL {
        let exe = work.join(format!("prog-{}", linker.name()));
        testkit::link(linker, &objs, &exe, &[]);
        // At the preferred address, slid, and (for classic lazy binding)
        // with lazy pointers bound on first call through the stub helper.
        let modes: &[(&str, Option<&str>)] = match linker {
            Linker::LldChained => &[("", None), (" (slid)", Some(FORCE_SLIDE_ENV))],
            _ => &[
                ("", None),
                (" (slid)", Some(FORCE_SLIDE_ENV)),
                (" (lazy)", Some(LAZY_ENV)),
            ],
        };
        for &(mode, env) in modes {
            let extra: Vec<(&str, &str)> = env.iter().map(|&v| (v, "1")).collect();
            let got = run_corpus_program(&mut macho_run(&exe), &extra);
            if got == expected {
                continue;
            }
            let what = format!("{name} linked by {}{mode}", linker.name());
            problems.push(testkit::mismatch(&what, &expected, &got));
        }
    }
    problems
}

fn corpus_dirs() -> Vec<PathBuf> {
    testkit::corpus_programs()
}

#[test]
fn corpus_programs_behave_as_native_builds() {
    let dirs = corpus_dirs();
    assert!(
        dirs.len() >= 15,
        "corpus too small: {} programs",
        dirs.len()
    );
    let problems: Vec<String> = dirs.iter().flat_map(|d| check_program(d)).collect();
    assert!(
        problems.is_empty(),
        "{} of {} runs differ from the native build:\n{}",
        problems.len(),
        dirs.len() * 8,
        problems.join("\n")
    );
    eprintln!(
        "corpus: {} programs x {} linkers (at the preferred address, slid, and lazily bound) match their native builds",
        dirs.len(),
        Linker::ALL.len()
    );
}
