//! machlink's outputs must be readable by LLVM's Mach-O tools without
//! errors or warnings, and identical inputs must give identical bytes.

use std::path::PathBuf;
use std::process::Command;
use testkit::cli::{macho_run, run_ok};
use testkit::{capture, Linker};

/// Links a few corpus programs covering TLVs, commons, constructors and
/// many imports, in both fixup formats.
fn outputs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in [
        "tls_threads",
        "globals_common",
        "ctor_dtor",
        "fnptr_tables",
        "interp",
    ] {
        let work = testkit::scratch_dir(&format!("machlink-tools/{name}"));
        let objs = testkit::compile_corpus_macos(name, &work, &["-O1", "-fcommon", "-w"]);
        for linker in Linker::MACHLINK {
            let exe = work.join(format!("prog-{}", linker.name()));
            testkit::link(linker, &objs, &exe, &[]);
            out.push(exe);
        }
    }
    out
}

#[test]
fn llvm_tools_read_every_output_cleanly() {
    let objdump = testkit::require_tool("llvm-objdump-19");
    let readobj = testkit::require_tool("llvm-readobj-19");
    for exe in outputs() {
        let runs = [
            capture(
                Command::new(&objdump)
                    .args([
                        "--macho",
                        "--private-headers",
                        "--bind",
                        "--lazy-bind",
                        "--weak-bind",
                        "--rebase",
                        "--exports-trie",
                        "--unwind-info",
                        "--dyld-info",
                    ])
                    .arg(&exe),
            ),
            capture(
                Command::new(&readobj)
                    .args(["--macho-dysymtab", "--macho-segment", "--symbols"])
                    .arg(&exe),
            ),
        ];
        for o in runs {
            let err = o.stderr_str().to_lowercase();
            assert!(
                o.code == 0 && !err.contains("warning") && !err.contains("error"),
                "{}: exit {}: {}",
                exe.display(),
                o.code,
                o.stderr_str()
            );
        }
    }
}

#[test]
fn identical_inputs_give_identical_outputs() {
    let work = testkit::scratch_dir("machlink-determinism");
    let objs = testkit::compile_corpus_macos("xobj_calls", &work, &["-O1"]);
    for linker in Linker::MACHLINK {
        let a = work.join("a");
        let b = work.join("b");
        testkit::link(linker, &objs, &a, &[]);
        testkit::link(linker, &objs, &b, &[]);
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{}: outputs differ",
            linker.name()
        );
    }
}

/// -adhoc_codesign: LC_CODE_SIGNATURE points at a SuperBlob whose
/// CodeDirectory hashes every 4 KiB page before it with SHA-256.
#[test]
fn adhoc_signatures_hash_every_page() {
    let work = testkit::scratch_dir("machlink-codesign");
    let objs = testkit::compile_corpus_macos("xobj_calls", &work, &["-O1"]);
    let exe = work.join("signed");
    testkit::link(Linker::MachlinkChained, &objs, &exe, &["-adhoc_codesign"]);
    testkit::check_adhoc_signature(&std::fs::read(&exe).unwrap());
    run_ok(&exe);
}

/// `__unwind_info` rows (function offset, encoding) from llvm-objdump.
fn unwind_rows(exe: &std::path::Path) -> Vec<String> {
    let o = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args(["--macho", "--unwind-info"])
            .arg(exe),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o.stdout_str()
        .lines()
        .filter(|l| l.trim_start().starts_with('[') && l.contains("encoding"))
        .map(|l| l.split("encoding").nth(1).unwrap().to_string())
        .collect()
}

/// machlink's __unwind_info carries the same encodings, row for row, as
/// ld64.lld-19's for the same objects (addresses differ with layout).
#[test]
fn unwind_info_matches_lld_row_for_row() {
    for name in ["interp", "setjmp_longjmp", "xobj_calls", "qsort_bsearch"] {
        let work = testkit::scratch_dir(&format!("machlink-unwind/{name}"));
        let objs = testkit::compile_corpus_macos(name, &work, &["-O1", "-fcommon", "-w"]);
        let ours = work.join("ours");
        let lld = work.join("lld");
        testkit::link(Linker::MachlinkChained, &objs, &ours, &[]);
        testkit::link(Linker::LldChained, &objs, &lld, &[]);
        let (a, b) = (unwind_rows(&ours), unwind_rows(&lld));
        assert!(!a.is_empty(), "{name}: no unwind rows");
        assert_eq!(a, b, "{name}: unwind encodings differ from lld's");
    }
}

/// `__eh_frame` is carried over with its implicit pointers rewritten for
/// objects whose compact unwind defers to DWARF: every FDE's pc range starts
/// at a function of the output, llvm-dwarfdump parses the section (CIE
/// pointers intact), and the DWARF-mode `__unwind_info` row of the function
/// points at that function's FDE.
#[test]
fn eh_frame_fdes_point_at_their_functions() {
    let programs = testkit::workspace_root().join("tests/programs");
    let work = testkit::scratch_dir("machlink-eh-frame");
    let asm = work.join("dwarf_unwind.o");
    let main = work.join("main.o");
    testkit::compile_macos(&programs.join("dwarf_unwind.s"), &asm, &[]);
    testkit::compile_macos(&programs.join("dwarf_unwind_main.c"), &main, &["-O1"]);
    for flags in [&[][..], &["-dead_strip"][..]] {
        let exe = work.join(format!("prog{}", flags.join("")));
        testkit::link(
            Linker::MachlinkChained,
            &[main.clone(), asm.clone()],
            &exe,
            flags,
        );
        let run = macho_run(&exe);
        assert_eq!(
            (run.code, run.stdout_str()),
            (0, "15 6\n".to_string()),
            "{}",
            run.stderr_str()
        );
        let dump = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--eh-frame")
                .arg(&exe),
        );
        assert!(
            dump.code == 0 && dump.stderr.is_empty(),
            "{}",
            dump.stderr_str()
        );
        let nm = capture(Command::new(testkit::require_tool("llvm-nm-19")).arg(&exe)).stdout_str();
        let symbol = |name: &str| {
            nm.lines()
                .find(|l| l.ends_with(name))
                .map(|l| u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).unwrap())
                .unwrap_or_else(|| panic!("{name} missing: {nm}"))
        };
        // (record offset, pc start) of every FDE.
        let fdes: Vec<(u64, u64)> = dump
            .stdout_str()
            .lines()
            .filter(|l| l.contains(" FDE "))
            .map(|l| {
                let off = u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).unwrap();
                let pc = l.split("pc=").nth(1).unwrap().split("...").next().unwrap();
                (off, u64::from_str_radix(pc, 16).unwrap())
            })
            .collect();
        let odd = symbol("_odd_frame");
        assert!(
            fdes.iter().any(|&(_, pc)| pc == odd),
            "no FDE for _odd_frame: {fdes:?}"
        );
        for &(_, pc) in &fdes {
            assert!(
                nm.lines().any(|l| l.starts_with(&format!("{pc:016x}"))),
                "FDE at {pc:#x} starts no symbol"
            );
        }
        // The DWARF-mode row of _odd_frame names its FDE's offset.
        let fde_off = fdes.iter().find(|&&(_, pc)| pc == odd).unwrap().0;
        let rows = unwind_rows(&exe);
        let want = format!("{:#010x}", 0x0400_0000 | fde_off);
        assert!(
            rows.iter().any(|r| r.ends_with(&want)),
            "no row with {want}: {rows:?}"
        );
    }
}
