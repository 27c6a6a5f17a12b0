//! The debug map: dsymutil must build a .dSYM from a -g build linked by
//! machlink, and `llvm-dwarfdump --verify` must pass on it; -S drops it.

use std::process::Command;
use testkit::{capture, Linker};

#[test]
fn dsymutil_builds_a_valid_dsym_from_the_debug_map() {
    let dir = testkit::corpus_dir("xobj_calls");
    let work = testkit::scratch_dir("machlink-debug-map");
    let srcs = testkit::c_sources(&dir);
    let objs = testkit::compile_all_macos(&srcs, &work, &["-g", "-O1", "-fno-sanitize=undefined"]);
    for linker in Linker::MACHLINK {
        let exe = work.join(format!("prog-{}", linker.name()));
        testkit::link(linker, &objs, &exe, &[]);
        let dsym = exe.with_extension("dSYM");
        let _ = std::fs::remove_dir_all(&dsym);
        let d = capture(
            Command::new(testkit::require_tool("dsymutil-19"))
                .arg(&exe)
                .arg("-o")
                .arg(&dsym),
        );
        assert!(
            d.code == 0 && d.stderr.is_empty(),
            "dsymutil: {}{}",
            d.stdout_str(),
            d.stderr_str()
        );
        let v = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--verify")
                .arg(&dsym),
        );
        assert_eq!(v.code, 0, "verify: {}{}", v.stdout_str(), v.stderr_str());
        assert!(v.stdout_str().contains("No errors."), "{}", v.stdout_str());
        let info = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--debug-info")
                .arg(&dsym),
        );
        for src in &srcs {
            let name = src.file_name().unwrap().to_string_lossy();
            assert!(
                info.stdout_str().contains(&*name),
                "{name} missing from the dSYM"
            );
        }
    }
    // -S: no debug map at all.
    let exe = work.join("prog-stripped");
    testkit::link(Linker::MachlinkChained, &objs, &exe, &["-S"]);
    let nm = capture(
        Command::new(testkit::require_tool("llvm-nm-19"))
            .arg("-a")
            .arg(&exe),
    );
    assert!(!nm.stdout_str().contains(" OSO "), "{}", nm.stdout_str());
}
