//! Real C projects from Debian's sources (zlib, bzip2, Lua, SQLite; see
//! tests/projects/README.md), compiled for x86_64-macos and linked by
//! machlink with chained fixups and with classic dyld info (also run with
//! lazy binding through machlink's stub helper), must run under macho-run
//! exactly like their native gcc builds, as their ld64.lld-19 links do.
//! tests/projects/check.sh does the work; this test runs it.

use std::process::Command;

#[test]
fn real_projects_linked_by_machlink_behave_as_native_builds() {
    let root = testkit::workspace_root();
    testkit::require_tool("ld64.lld-19");
    testkit::sdk_root();
    let out = testkit::capture(
        Command::new("bash")
            .arg(root.join("tests/projects/check.sh"))
            .env("CHECK_MACHLINK", "1")
            .env("CHECK_LAZY", "1")
            .env("CHECK_SLID", "1")
            .env("MACHO_RUN_BIN", testkit::workspace_bin("macho-run"))
            .env("MACHLINK_BIN", testkit::workspace_bin("machlink")),
    );
    let log = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert_eq!(out.code, 0, "check.sh failed:\n{log}");
    for project in ["zlib", "bzip2", "lua", "sqlite"] {
        for variant in ["machlink", "machlink-classic", "machlink-lazy", "macos"] {
            let line = format!("{project}: {variant} run");
            assert!(
                log.lines()
                    .any(|l| l.starts_with(&line) && l.contains("same as native")),
                "no matching run for {project} {variant}:\n{log}"
            );
        }
    }
    eprintln!("{log}");
}
