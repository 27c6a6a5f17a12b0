//! Real C projects from Debian's sources (zlib, bzip2, Lua, SQLite; see
//! tests/projects/README.md), compiled for x86_64-macos and for arm64 macOS
//! and linked by ld64.lld-19 and by machlink, each with chained fixups and
//! with classic dyld info (also run with lazy binding through the stub
//! helper, and slid away from the preferred address), must run under
//! macho-run exactly like their native gcc builds.
//! tests/projects/check.sh does the work; these tests run it, once per
//! architecture (`TARGET_ARCH`).

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::Target;

/// Every variant check.sh runs with CHECK_MACHLINK, CHECK_LAZY and
/// CHECK_SLID: lld's and machlink's links in both fixup formats, slid
/// and lazily bound.
const VARIANTS: [&str; 8] = [
    "macos",
    "macos-slid",
    "macos-classic",
    "macos-lazy",
    "machlink",
    "machlink-slid",
    "machlink-classic",
    "machlink-lazy",
];

fn check_projects(target: Target) {
    let root = testkit::workspace_root();
    testkit::require_tool("ld64.lld-19");
    testkit::sdk_root();
    testkit::fetch_projects();
    let out = testkit::capture(
        Command::new("bash")
            .arg(root.join("tests/projects/check.sh"))
            .env("TARGET_ARCH", target.arch())
            .env("CHECK_MACHLINK", "1")
            .env("CHECK_LAZY", "1")
            .env("CHECK_SLID", "1")
            .env("MACHO_RUN_BIN", testkit::workspace_bin("macho-run"))
            .env("MACHLINK_BIN", testkit::workspace_bin("machlink")),
    );
    let arch = target.arch();
    let log = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert_eq!(out.code, 0, "check.sh ({arch}) failed:\n{log}");
    for project in ["zlib", "bzip2", "lua", "sqlite"] {
        for variant in VARIANTS {
            let line = format!("{project}: {variant} run");
            assert!(
                log.lines()
                    .any(|l| l.starts_with(&line) && l.contains("same as native")),
                "no matching run for {project} {variant} ({arch}):\n{log}"
            );
        }
    }
    if target == Target::Arm64 {
        check_arm64_outputs(&root.join("target/projects-out-arm64"));
    }
    eprintln!("{arch}:\n{log}");
}

/// The executables (MH_EXECUTE Mach-O files) of a build directory.
fn mach_o_executables(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut exes: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let head = std::fs::read(p)
                .ok()
                .and_then(|b| b.get(..16).map(<[u8]>::to_vec));
            head.is_some_and(|h| h[..4] == [0xcf, 0xfa, 0xed, 0xfe] && h[12] == 2)
        })
        .collect();
    exes.sort();
    exes
}

/// machlink's arm64 builds of the projects, in both fixup formats: read
/// by llvm-objdump-19 without a warning, with a code signature whose page
/// hashes check (check.sh has run them).
fn check_arm64_outputs(out_root: &Path) {
    let mut problems = Vec::new();
    let mut checked = 0;
    for project in ["zlib", "bzip2", "lua", "sqlite"] {
        for variant in ["machlink", "machlink-classic"] {
            let exes = mach_o_executables(&out_root.join(project).join(variant));
            assert!(!exes.is_empty(), "{project}/{variant}: no executables");
            for exe in exes {
                let found = crate::corpus_arm64::objdump_problem(&exe)
                    .into_iter()
                    .chain(crate::corpus_arm64::signature_problem(&exe));
                problems.extend(found.map(|p| format!("{}: {p}", exe.display())));
                checked += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("arm64: {checked} machlink executables read cleanly and their signatures check");
}

#[test]
fn real_projects_linked_by_machlink_behave_as_native_builds() {
    check_projects(Target::X86_64);
}

#[test]
fn real_projects_arm64_linked_by_lld_and_machlink_behave_as_native_builds() {
    check_projects(Target::Arm64);
}

/// The archive can list a source version it no longer serves (a security
/// update's files are removed while the index still names them). fetch.sh
/// tries every listed version, newest first; here an undownloadable version
/// is put first and the fetch must fall back to a real one. Needs the
/// network (see README.md, "Tests").
#[test]
fn fetch_falls_back_when_a_source_version_cannot_be_downloaded() {
    let root = testkit::workspace_root();
    let dest = testkit::scratch_dir("projects-fetch");
    let out = testkit::capture(
        Command::new("bash")
            .arg(root.join("tests/projects/fetch.sh"))
            .env("PROJECTS_SRC", &dest)
            .env("MACHLINK_FETCH_PACKAGES", "bzip2")
            .env("MACHLINK_FETCH_TRY_FIRST", "bzip2=99.0-1"),
    );
    let log = out.stderr_str();
    assert_eq!(out.code, 0, "fetch.sh failed:\n{log}");
    assert!(
        log.contains("fetch.sh: apt-get source bzip2=99.0-1")
            && log.contains("bzip2 99.0-1 could not be fetched, trying the next version"),
        "the bad version was not tried first:\n{log}"
    );
    let fetched = log
        .lines()
        .filter(|l| l.starts_with("fetch.sh: apt-get source bzip2="))
        .nth(1);
    assert!(fetched.is_some(), "no second version was tried:\n{log}");
    let unpacked = std::fs::read_dir(&dest)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.path().is_dir() && e.file_name().to_string_lossy().starts_with("bzip2-"));
    assert!(
        unpacked,
        "no bzip2 source tree in {}:\n{log}",
        dest.display()
    );
}
