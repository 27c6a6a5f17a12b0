//! Bad input gets a clear error, never a panic: machlink links truncated
//! and byte-mutated copies of a real object (deterministic mutations), and
//! every run must end with exit status 0 or 1 and no panic message.

use std::process::Command;
use testkit::{capture, Lcg};

#[test]
fn truncated_and_mutated_objects_never_panic() {
    let work = testkit::scratch_dir("machlink-robustness");
    let objs = testkit::compile_corpus_macos("interp", &work, &["-O1"]);
    let original = std::fs::read(&objs[0]).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let step = (original.len() / 60).max(1);
    for cut in (0..original.len()).step_by(step) {
        cases.push((
            format!("truncated to {cut} bytes"),
            original[..cut].to_vec(),
        ));
    }
    let mut rng = Lcg(0x6d61_6368_6c69_6e6b);
    for i in 0..120 {
        let mut bytes = original.clone();
        let mut what = format!("mutation #{i}:");
        for _ in 0..4 {
            let at = (rng.next_u64() as usize) % bytes.len();
            let value = rng.next_u64() as u8;
            bytes[at] = value;
            what.push_str(&format!(" [{at:#x}]={value:#04x}"));
        }
        cases.push((what, bytes));
    }
    let input = work.join("case.o");
    for (what, bytes) in &cases {
        std::fs::write(&input, bytes).unwrap();
        let o = capture(
            testkit::machlink_command(&work.join("out"))
                .arg(&input)
                .args(&objs[1..]),
        );
        let err = o.stderr_str();
        assert!(
            (o.code == 0 || o.code == 1) && !err.contains("panicked"),
            "{what}: exit {} stderr {err}",
            o.code
        );
    }
    // The last run's output, when there was one, is still a Mach-O tools read.
    let out = work.join("out");
    if out.exists() {
        let o = capture(
            Command::new(testkit::require_tool("llvm-objdump-19"))
                .args(["--macho", "--private-headers"])
                .arg(&out),
        );
        assert_eq!(o.code, 0, "{}", o.stderr_str());
    }
}
