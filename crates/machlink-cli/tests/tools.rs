//! machlink's outputs must be readable by LLVM's Mach-O tools without
//! errors or warnings, and identical inputs must give identical bytes.

use std::path::PathBuf;
use std::process::Command;
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
        let dir = testkit::workspace_root().join("tests/corpus").join(name);
        let work = testkit::scratch_dir(&format!("machlink-tools/{name}"));
        let objs = testkit::compile_all_macos(
            &testkit::c_sources(&dir),
            &work,
            &["-O1", "-fcommon", "-w"],
        );
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
    let dir = testkit::workspace_root().join("tests/corpus/xobj_calls");
    let work = testkit::scratch_dir("machlink-determinism");
    let objs = testkit::compile_all_macos(&testkit::c_sources(&dir), &work, &["-O1"]);
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
