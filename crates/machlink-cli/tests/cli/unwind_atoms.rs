//! Unwind rows of functions that share an atom: an object without
//! `.subsections_via_symbols` keeps each section's functions in one atom,
//! where a function with a compact row may sit next to one that defers to
//! DWARF (an FDE in `__eh_frame`). Each function keeps its own row and,
//! if it defers to DWARF, its own FDE, as with ld64.lld-19, on both
//! targets; the program walks the chain with `_Unwind_Backtrace` under
//! macho-run's unwinder, so a missing or wrong row loses frames.
//!
//! (machlink once keyed FDEs by atom: the compact row of the atom's first
//! function dropped the FDE of the DWARF one after it, whose row became
//! encoding 0.)

use std::path::{Path, PathBuf};
use testkit::cli::{incremental_line, machlink_verify, macho_run};
use testkit::unwind::{check_unwind, UnwindTables};
use testkit::{capture, Linker, Target};

/// The chain's functions, in their order in the one `__text` atom:
/// compact, DWARF, DWARF, compact.
const CHAIN: [&str; 4] = ["_compact_a", "_dwarf_b", "_dwarf_c", "_compact_d"];

const EXPECTED: &str = "frame 0: leaf\nframe 1: compact_d\nframe 2: dwarf_c\n\
                        frame 3: dwarf_b\nframe 4: compact_a\nframe 5: main\n6 frames\n";

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/cli/unwind_atoms/{name}"))
}

/// The objects: main.c, and the assembly chain (`edit` applied to its
/// text) without subsections.
fn objects(target: Target, dir: &Path, edit: &dyn Fn(String) -> String) -> Vec<PathBuf> {
    let asm = std::fs::read_to_string(source(&format!("chain-{}.s", target.arch()))).unwrap();
    assert!(!asm.lines().any(|l| l.trim() == ".subsections_via_symbols"));
    let s = dir.join("chain.s");
    std::fs::write(&s, edit(asm)).unwrap();
    let chain = dir.join("chain.o");
    testkit::compile_macos_for(target, &s, &chain, &[]);
    let main = dir.join("main.o");
    testkit::compile_macos_for(target, &source("main.c"), &main, &["-O1", "-fexceptions"]);
    vec![main, chain]
}

/// Runs `exe` under macho-run: the backtrace names every frame.
fn runs(exe: &Path, what: &str) {
    let got = macho_run(exe);
    assert_eq!(
        (got.stdout_str().as_str(), got.code),
        (EXPECTED, 0),
        "{what}: {}",
        got.stderr_str()
    );
    let v = machlink_verify(exe);
    assert_eq!(
        v.code,
        0,
        "{what}: verify: {}{}",
        v.stdout_str(),
        v.stderr_str()
    );
}

/// The rows machlink gives the chain are lld's: each function has its
/// own row; a DWARF one leads to an FDE of exactly that function (the
/// one a search of `__eh_frame` finds too), a compact one has lld's
/// encoding and no FDE.
fn rows_match(target: Target, ours: &Path, lld: &Path) -> Vec<u32> {
    let encodings = check_unwind(target, ours, lld, &CHAIN);
    let t = UnwindTables::read(target, ours);
    let dwarf: Vec<bool> = encodings.iter().map(|&e| t.is_dwarf(e)).collect();
    assert_eq!(
        dwarf,
        [false, true, true, false],
        "{}: rows {encodings:#x?}",
        target.arch()
    );
    encodings
}

#[test]
fn functions_sharing_an_atom_keep_their_own_unwind_rows() {
    for target in Target::ALL {
        if target == Target::Arm64 {
            testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
        }
        let dir = testkit::scratch_dir(&format!("unwind-atoms/{}", target.arch()));
        let objs = objects(target, &dir, &|s| s);
        let (ours, lld) = (dir.join("machlink"), dir.join("lld"));
        testkit::link_for(target, Linker::MachlinkChained, &objs, &ours, &[]);
        testkit::link_for(target, Linker::LldChained, &objs, &lld, &[]);
        runs(&lld, &format!("{} lld", target.arch()));
        runs(&ours, &format!("{} machlink", target.arch()));
        rows_match(target, &ours, &lld);
    }
}

/// An incremental link does the same; an update of such an object falls
/// back to a full link (updates keep rows per atom), saying why under
/// `-v`, and its output is right too.
#[test]
fn an_update_of_functions_sharing_an_atom_falls_back() {
    for target in Target::ALL {
        if target == Target::Arm64 {
            testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
        }
        let dir = testkit::scratch_dir(&format!("unwind-atoms-inc/{}", target.arch()));
        let (out, lld) = (dir.join("prog"), dir.join("lld"));
        for (step, edit) in [("first link", "77"), ("update", "78")] {
            let objs = objects(target, &dir, &|s| s.replace("77", edit));
            let mut cmd = testkit::cli::incremental_command_for(target, &out);
            let o = capture(cmd.args(&objs));
            assert_eq!(o.code, 0, "{step}: {}", o.stderr_str());
            let line = incremental_line(&o);
            let why = match step {
                "first link" => "full link: first link",
                _ => "another function's atom (no subsections via symbols)",
            };
            assert!(
                line.contains("full link") && line.contains(why),
                "{} {step}: {}",
                target.arch(),
                o.stderr_str()
            );
            testkit::link_for(target, Linker::LldChained, &objs, &lld, &[]);
            runs(&out, &format!("{} {step}", target.arch()));
            rows_match(target, &out, &lld);
        }
    }
}
