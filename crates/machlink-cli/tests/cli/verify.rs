//! `machlink verify`: outputs of machlink and ld64.lld-19 pass; a branch
//! into the middle of a function, a trampoline, and a trampoline chain are
//! told apart.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::machlink_verify;
use testkit::{capture, Linker};

fn build(work: &Path, linker: Linker, flags: &[&str], tag: &str) -> PathBuf {
    let objs = testkit::compile_corpus_macos("xobj_calls", work, &["-O1"]);
    let exe = work.join(format!("prog-{tag}"));
    testkit::link(linker, &objs, &exe, flags);
    exe
}

#[test]
fn outputs_of_both_linkers_verify() {
    let work = testkit::scratch_dir("verify/ok");
    for (linker, flags, tag) in [
        (Linker::MachlinkChained, &[][..], "chained"),
        (Linker::MachlinkClassic, &[][..], "classic"),
        (
            Linker::MachlinkChained,
            &["-incremental"][..],
            "incremental",
        ),
        (Linker::LldChained, &[][..], "lld"),
    ] {
        let exe = build(&work, linker, flags, tag);
        let o = machlink_verify(&exe);
        assert_eq!(o.code, 0, "{tag}: {}{}", o.stdout_str(), o.stderr_str());
        assert!(o.stdout_str().contains(": ok ("), "{}", o.stdout_str());
    }
}

/// Address → file offset for __TEXT (file offset 0 maps the image base).
fn text_offset(addr: u64) -> usize {
    (addr - 0x1_0000_0000) as usize
}

fn functions(exe: &Path) -> Vec<u64> {
    let nm = capture(
        Command::new(testkit::require_tool("llvm-nm-19"))
            .args(["-n"])
            .arg(exe),
    )
    .stdout_str();
    nm.lines()
        .filter(|l| l.contains(" T ") && !l.ends_with("__mh_execute_header"))
        .map(|l| u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).unwrap())
        .collect()
}

fn write_jmp(bytes: &mut [u8], at: u64, to: u64) {
    let off = text_offset(at);
    bytes[off] = 0xe9;
    let disp = (to as i64 - (at as i64 + 5)) as i32;
    bytes[off + 1..off + 5].copy_from_slice(&disp.to_le_bytes());
}

#[test]
fn bad_branches_trampolines_and_chains_are_told_apart() {
    let work = testkit::scratch_dir("verify/bad");
    let exe = build(&work, Linker::MachlinkChained, &["-incremental"], "inc");
    let funcs = functions(&exe);
    assert!(funcs.len() >= 3, "{funcs:?}");
    let original = std::fs::read(&exe).unwrap();
    let sections = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args(["--macho", "--section-headers"])
            .arg(&exe),
    )
    .stdout_str();
    let text = sections.lines().find(|l| l.contains("__text")).unwrap();
    let f: Vec<&str> = text.split_whitespace().collect();
    let text_end = u64::from_str_radix(f[3], 16).unwrap() + u64::from_str_radix(f[2], 16).unwrap();
    let spare = text_end - 64; // in the reserved space at the end of __text

    // A branch into the middle of another function.
    let mut bytes = original.clone();
    write_jmp(&mut bytes, funcs[0] + 1, funcs[1] + 1);
    let bad = work.join("bad-branch");
    std::fs::write(&bad, &bytes).unwrap();
    let o = machlink_verify(&bad);
    assert_eq!(o.code, 1, "{}", o.stdout_str());
    assert!(
        o.stdout_str().contains("which is no function start"),
        "{}",
        o.stdout_str()
    );

    // A trampoline: the first function's slot jumps to a moved body.
    let mut bytes = original.clone();
    write_jmp(&mut bytes, funcs[0], spare);
    let tramp = work.join("trampoline");
    std::fs::write(&tramp, &bytes).unwrap();
    let o = machlink_verify(&tramp);
    assert_eq!(o.code, 0, "{}", o.stdout_str());
    assert!(
        o.stdout_str().contains("1 trampolines"),
        "{}",
        o.stdout_str()
    );

    // A chain: the moved body jumps on again.
    write_jmp(&mut bytes, spare, spare + 32);
    let chain = work.join("chain");
    std::fs::write(&chain, &bytes).unwrap();
    let o = machlink_verify(&chain);
    assert_eq!(o.code, 1, "{}", o.stdout_str());
    assert!(o.stdout_str().contains("a chain"), "{}", o.stdout_str());
}
