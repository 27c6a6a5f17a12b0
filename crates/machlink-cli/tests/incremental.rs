//! The incremental driver so far (issue #4): a state file beside the
//! output, change detection by stamp then content hash, a lock, and a full
//! link with its reason under -v whenever something changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, Outcome};

fn compile(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    testkit::compile_macos(&c, &o, &["-O1"]);
    o
}

fn link(out: &Path, objs: &[&Path], extra: &[&str]) -> Outcome {
    let o = capture(
        testkit::machlink_command(out)
            .args(["-incremental", "-v"])
            .args(extra)
            .args(objs),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o
}

fn said(o: &Outcome, what: &str) -> bool {
    o.stderr_str()
        .lines()
        .any(|l| l.starts_with("machlink: incremental: ") && l.contains(what))
}

fn run(exe: &Path) -> String {
    capture(Command::new(testkit::workspace_bin("macho-run")).arg(exe)).stdout_str()
}

#[test]
fn unchanged_inputs_leave_the_output_alone_and_changes_relink_with_a_reason() {
    let dir = testkit::scratch_dir("incremental/driver");
    let main = compile(&dir, "main", "#include <stdio.h>\nint value(void);\nint main(void) { printf(\"%d\\n\", value()); return 0; }\n");
    let lib = compile(&dir, "lib", "int value(void) { return 1; }\n");
    let out = dir.join("prog");
    let state = dir.join("prog.machlink-state");

    let o = link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "full link: no usable incremental state"),
        "{}",
        o.stderr_str()
    );
    assert!(state.is_file());
    assert_eq!(run(&out), "1\n");
    let written = std::fs::metadata(&out).unwrap().modified().unwrap();

    let o = link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "nothing changed in 3 inputs"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().modified().unwrap(),
        written,
        "output rewritten"
    );

    // A new stamp on the same contents: the hash says nothing changed.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&lib, std::fs::read(&lib).unwrap()).unwrap();
    let o = link(&out, &[&main, &lib], &[]);
    assert!(said(&o, "nothing changed"), "{}", o.stderr_str());
    let recorded = std::fs::read_to_string(&state).unwrap();
    let stamp = std::fs::metadata(&lib).unwrap();
    use std::os::unix::fs::MetadataExt;
    let mtime_ns = i128::from(stamp.mtime()) * 1_000_000_000 + i128::from(stamp.mtime_nsec());
    assert!(
        recorded.contains(&format!(" {mtime_ns} ")),
        "the touched input's new stamp is recorded"
    );

    // New contents: a full link that says which input changed.
    let lib2 = compile(&dir, "lib2", "int value(void) { return 2; }\n");
    std::fs::copy(&lib2, &lib).unwrap();
    let o = link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "full link: 1 input(s) changed") && o.stderr_str().contains("lib.o"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(run(&out), "2\n");

    // Other options, an output changed behind our back, a broken state.
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the options changed"), "{}", o.stderr_str());
    std::fs::write(&out, b"tampered").unwrap();
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the output was changed"), "{}", o.stderr_str());
    assert_eq!(run(&out), "2\n");
    std::fs::write(&state, b"not a state").unwrap();
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(
        said(&o, "no usable incremental state"),
        "{}",
        o.stderr_str()
    );
    let o = link(&out, &[&lib, &main], &["-dead_strip"]);
    assert!(said(&o, "the list of inputs changed"), "{}", o.stderr_str());
}

#[test]
fn concurrent_incremental_links_of_one_output_take_turns() {
    let dir = testkit::scratch_dir("incremental/lock");
    let main = compile(&dir, "main", "int main(void) { return 7; }\n");
    let out = dir.join("prog");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            testkit::machlink_command(&out)
                .args(["-incremental"])
                .arg(&main)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let code = capture(Command::new(testkit::workspace_bin("macho-run")).arg(&out)).code;
    assert_eq!(code, 7);
    assert!(dir.join("prog.machlink-state").is_file());
}
