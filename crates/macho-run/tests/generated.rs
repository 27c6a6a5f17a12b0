//! A large generated program (tests/gen/genprog.py: 200 objects x 200
//! functions) linked by ld64.lld-19 must run under macho-run with the same
//! output, checksum included, as its native gcc build.

use std::process::Command;
use testkit::{capture, Linker};

const OBJECTS: usize = 200;
const FUNCTIONS: usize = 200;

#[test]
fn a_200_by_200_generated_program_matches_its_native_checksum() {
    let dir = testkit::scratch_dir("generated-200x200");
    let src = dir.join("src");
    testkit::check(
        Command::new("python3")
            .arg(testkit::workspace_root().join("tests/gen/genprog.py"))
            .args([
                "--objects",
                &OBJECTS.to_string(),
                "--functions",
                &FUNCTIONS.to_string(),
            ])
            .arg("--out")
            .arg(&src),
    );
    let srcs = testkit::c_sources(&src);
    assert_eq!(srcs.len(), OBJECTS + 1, "objects plus main.c");

    let native = dir.join("native");
    testkit::build_native(&srcs, &native, &["-O1", "-fcommon", "-w"]);
    let expected = capture(&mut Command::new(&native));
    assert_eq!(
        expected.code,
        0,
        "native build failed to run: {}",
        expected.stderr_str()
    );
    assert!(
        expected.stdout_str().contains("checksum="),
        "{}",
        expected.stdout_str()
    );

    let objs = testkit::compile_all_macos(&srcs, &dir, &["-O1", "-fcommon", "-w"]);
    for linker in [Linker::LldChained, Linker::LldClassic] {
        let exe = dir.join(format!("prog-{}", linker.name()));
        testkit::link(linker, &objs, &exe, &[]);
        let got = capture(Command::new(env!("CARGO_BIN_EXE_macho-run")).arg(&exe));
        assert_eq!(
            got.code,
            expected.code,
            "{}: {}",
            linker.name(),
            got.stderr_str()
        );
        assert!(
            got.stdout == expected.stdout,
            "{}: output differs from the native build",
            linker.name()
        );
    }
}
