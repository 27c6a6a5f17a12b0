//! Bad links must fail cleanly: a clear lld-style error, exit status 1, no
//! output file left behind (and an existing output left untouched), no panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{compile, macho_run};
use testkit::{capture, Outcome};

/// Runs machlink on `objs` (plus `extra` flags) into `dir/out`.
fn machlink(dir: &Path, objs: &[PathBuf], extra: &[&str]) -> (PathBuf, Outcome) {
    let out = dir.join("out");
    let mut cmd = testkit::machlink_command(&out);
    cmd.args(extra).args(objs);
    (out.clone(), capture(&mut cmd))
}

/// A failed link: status 1, `error:` lines containing every expected
/// fragment, no panic, no output file and no temporary left behind.
fn assert_fails(dir: &Path, out: &Path, o: &Outcome, expected: &[&str]) {
    let err = o.stderr_str();
    assert_eq!(o.code, 1, "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for e in expected {
        assert!(err.contains(e), "missing {e:?} in:\n{err}");
    }
    assert!(
        !out.exists(),
        "a failed link must not leave {}",
        out.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("machlink-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn undefined_symbols_are_all_reported_with_their_references() {
    let dir = testkit::scratch_dir("errors/undefined");
    let a = compile(
        &dir,
        "a",
        "void missing_one(void); void missing_two(int);\n\
         void helper(void) { missing_one(); }\n\
         int main(void) { helper(); missing_one(); missing_two(3); return 0; }\n",
    );
    let (out, o) = machlink(&dir, &[a], &[]);
    assert_fails(
        &dir,
        &out,
        &o,
        &[
            "error: undefined symbol: _missing_one",
            ">>> referenced by ",
            "a.o:(symbol _helper+0x",
            "a.o:(symbol _main+0x",
            "error: undefined symbol: _missing_two",
        ],
    );
}

#[test]
fn duplicate_symbols_name_both_files() {
    let dir = testkit::scratch_dir("errors/duplicate");
    let a = compile(
        &dir,
        "a",
        "int twice(void) { return 1; }\nint main(void) { return twice(); }\n",
    );
    let b = compile(&dir, "b", "int twice(void) { return 2; }\n");
    let (out, o) = machlink(&dir, &[a, b], &[]);
    assert_fails(
        &dir,
        &out,
        &o,
        &[
            "error: duplicate symbol: _twice",
            ">>> defined in ",
            "a.o",
            "b.o",
        ],
    );
}

#[test]
fn unknown_flags_and_missing_libraries_are_errors() {
    let dir = testkit::scratch_dir("errors/flags");
    let a = compile(&dir, "a", "int main(void) { return 0; }\n");
    let (out, o) = machlink(&dir, std::slice::from_ref(&a), &["-frobnicate"]);
    assert_fails(&dir, &out, &o, &["unknown option: -frobnicate"]);
    let (out, o) = machlink(&dir, std::slice::from_ref(&a), &["-lnosuchlibrary"]);
    assert_fails(&dir, &out, &o, &["library not found for -lnosuchlibrary"]);
    // An option machlink does not implement says so.
    let (out, o) = machlink(&dir, std::slice::from_ref(&a), &["-r"]);
    assert_fails(
        &dir,
        &out,
        &o,
        &["error: -r is not supported: machlink writes final images"],
    );
    let (out, o) = machlink(&dir, &[a], &["-no_pie", "-fixup_chains"]);
    assert_fails(
        &dir,
        &out,
        &o,
        &["-fixup_chains is incompatible with -no_pie"],
    );
}

#[test]
fn wrong_architecture_and_truncated_objects_are_errors() {
    let dir = testkit::scratch_dir("errors/inputs");
    let src = dir.join("arm.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let arm = dir.join("arm.o");
    testkit::check(
        Command::new("python3")
            .args(["-m", "ziglang", "cc", "-target", "aarch64-macos", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&arm),
    );
    let (out, o) = machlink(&dir, std::slice::from_ref(&arm), &[]);
    assert_fails(&dir, &out, &o, &["arm.o: wrong architecture"]);

    let good = compile(&dir, "good", "int main(void) { return 0; }\n");
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.o");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let (out, o) = machlink(&dir, &[truncated], &[]);
    assert_fails(
        &dir,
        &out,
        &o,
        &["truncated.o: ", "extends past the end of the file"],
    );
}

#[test]
fn a_bad_relocation_is_an_error_naming_its_place() {
    let dir = testkit::scratch_dir("errors/reloc");
    let good = compile(
        &dir,
        "r",
        "int puts(const char *);\nint main(void) { return puts(\"hi\"); }\n",
    );
    let mut bytes = std::fs::read(&good).unwrap();
    // First section of the only segment: __text; patch its first
    // relocation's type nibble to 15 (no such X86_64_RELOC).
    let sect = 32 + 72;
    let reloff = u32::from_le_bytes(bytes[sect + 56..sect + 60].try_into().unwrap()) as usize;
    let nreloc = u32::from_le_bytes(bytes[sect + 60..sect + 64].try_into().unwrap());
    assert!(nreloc > 0, "__text has relocations");
    bytes[reloff + 7] = (bytes[reloff + 7] & 0x0f) | 0xf0;
    let bad = dir.join("bad.o");
    std::fs::write(&bad, &bytes).unwrap();
    let (out, o) = machlink(&dir, &[bad], &[]);
    assert_fails(
        &dir,
        &out,
        &o,
        &[
            "bad.o: bad relocation at __TEXT,__text offset 0x",
            "unknown relocation type 15",
        ],
    );
}

#[test]
fn a_failed_link_leaves_the_previous_output_untouched() {
    let dir = testkit::scratch_dir("errors/keep-previous");
    let out = dir.join("out");
    std::fs::write(&out, b"previous output").unwrap();
    let a = compile(
        &dir,
        "a",
        "void nowhere(void);\nint main(void) { nowhere(); return 0; }\n",
    );
    let o = capture(testkit::machlink_command(&out).arg(&a));
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous output");
}

#[test]
fn universal_files_give_their_x86_64_slice_or_a_clear_error() {
    let dir = testkit::scratch_dir("errors/fat");
    let src = "#include <stdio.h>\nint main(void) { puts(\"fat\"); return 0; }\n";
    let x86 = compile(&dir, "x86", src);
    let c = dir.join("arm.c");
    std::fs::write(&c, src).unwrap();
    let arm = dir.join("arm.o");
    testkit::check(
        Command::new("python3")
            .args(["-m", "ziglang", "cc", "-target", "aarch64-macos", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(&arm),
    );
    let lipo = testkit::require_tool("llvm-lipo-19");
    let fat = dir.join("fat.o");
    testkit::check(
        Command::new(&lipo)
            .arg("-create")
            .arg(&x86)
            .arg(&arm)
            .arg("-output")
            .arg(&fat),
    );
    let (out, o) = machlink(&dir, std::slice::from_ref(&fat), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let run = macho_run(&out);
    assert_eq!(run.stdout_str(), "fat\n");
    std::fs::remove_file(&out).unwrap();

    let arm_only = dir.join("arm-only.o");
    testkit::check(
        Command::new(&lipo)
            .arg("-create")
            .arg(&arm)
            .arg("-output")
            .arg(&arm_only),
    );
    let (out, o) = machlink(&dir, &[arm_only], &[]);
    assert_fails(
        &dir,
        &out,
        &o,
        &["arm-only.o: universal file has no x86_64 slice"],
    );
}
