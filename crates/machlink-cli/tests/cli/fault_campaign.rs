//! A fast sample of the crash and fault campaign (`campaigns/faults.py`,
//! issue #17): 30 `kill -9`s (and named crash points) at random moments of
//! updates, first links, full relinks and plain links, on both targets and
//! signed and unsigned outputs; a few full-disk points (the journal's
//! write among them) and read-only cases on a private tmpfs; and pairs of
//! concurrent runs. Each must leave the old output, the new one, or a file
//! that cannot run, and the next run must recover. The script prints its
//! counts; the long campaign is the same script with `--kills 1000`.

use std::process::Command;

#[test]
fn a_sample_of_the_fault_campaign_finds_nothing_torn_lost_or_unrecovered() {
    let work = testkit::scratch_dir("fault_campaign");
    testkit::require_tool("python3");
    testkit::require_tool("qemu-aarch64");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "the fault campaign mounts a private tmpfs and needs root (the test command runs as \
         root: scripts/test.sh, see README.md)"
    );
    let script = testkit::workspace_root().join("campaigns/faults.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args([
            "--kills",
            "30",
            "--seed",
            "17",
            "--objects",
            "3",
            "--functions",
            "12",
        ])
        .args(["--enospc-points", "2", "--concurrent", "8"])
        .arg("--workdir")
        .arg(work.join("w"))
        .arg("--machlink")
        .arg(testkit::workspace_bin("machlink"))
        .arg("--macho-run")
        .arg(testkit::workspace_bin("macho-run"))
        .arg("--sdk")
        .arg(testkit::sdk_root());
    let o = testkit::capture(&mut cmd);
    let report = o.stdout_str();
    assert_eq!(
        o.code,
        0,
        "the fault campaign failed (cases kept under {}):\n{report}\n{}",
        work.display(),
        o.stderr_str()
    );
    assert!(report.contains("failures: 0"), "{report}");
    assert!(
        report.contains("kills (SIGKILL landed, or a crash point fired): 30"),
        "{report}"
    );
    for section in ["[kill]", "[enospc]", "[readonly]", "[concurrent]"] {
        assert!(report.contains(section), "{section} missing:\n{report}");
    }
    let _ = std::fs::remove_dir_all(&work);
}
