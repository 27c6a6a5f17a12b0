//! The test suites of widely used crates from crates.io (issue #15), run
//! with cargo for x86_64-apple-darwin and aarch64-apple-darwin, linked by
//! machlink and run under macho-run (`.cargo/config.toml`'s `linker` and
//! `runner`), against the same suites run natively: every test that passes
//! natively must pass on both targets, except those listed in
//! [`CANNOT_PASS`] with the reason.
//!
//! The unit and integration tests run (`cargo test --lib --tests`); the
//! doctests do not: each of the crates' ~350 examples is compiled and
//! linked on its own, which this machine cannot afford on every run
//! (`rust_programs::cargo_runs_and_tests_for_both_targets` runs doctests
//! through machlink and macho-run).
//!
//! Network: the crates' sources and their dependencies are downloaded by
//! cargo into a `CARGO_HOME` of the test's own under
//! `target/test-cache/crates-io` (falling back to older versions when one
//! cannot be fetched), with their lock files. That directory persists, as
//! do the target directories, so a rerun rebuilds only what changed; the
//! test executables are relinked whenever the machlink binary changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use testkit::rust::{require_rust_target, rust_sdk};
use testkit::{capture, workspace_bin, Outcome, Target};

/// A crate whose test suite runs, with versions to try, newest first.
struct Suite {
    name: &'static str,
    versions: &'static [&'static str],
}

const SUITES: &[Suite] = &[
    Suite {
        name: "regex",
        versions: &["1.11.1", "1.11.0", "1.10.6"],
    },
    Suite {
        name: "serde_json",
        versions: &["1.0.140", "1.0.139", "1.0.138"],
    },
];

/// Tests that pass natively but cannot pass under macho-run: (crate,
/// suite section, test, reason).
const CANNOT_PASS: &[(&str, &str, &str, &str)] = &[];

fn cache() -> PathBuf {
    testkit::workspace_root().join("target/test-cache/crates-io")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env("CARGO_HOME", cache().join("cargo-home"))
        // The outer `cargo test` must not leak its own settings in.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUST_TEST_THREADS")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// Runs a network step up to three times.
fn with_retries(what: &str, mut step: impl FnMut() -> Outcome) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3u64 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(5 * attempt));
        }
        let o = step();
        if o.code == 0 {
            return Ok(());
        }
        last = o.stderr_str();
    }
    Err(format!("{what}: {last}"))
}

/// The unpacked source of one version of `suite`, with a lock file for its
/// dev-dependencies and everything downloaded: fetched once, then reused.
fn source(suite: &Suite) -> PathBuf {
    let mut errors = Vec::new();
    for version in suite.versions {
        let dir = cache().join(format!("src/{}-{version}", suite.name));
        if dir.join(".fetched").is_file() {
            return dir;
        }
        match fetch(suite.name, version, &dir) {
            Ok(()) => return dir,
            Err(e) => errors.push(e),
        }
    }
    panic!(
        "cannot download the sources of {} (tried {:?}) from crates.io: this test needs the \
         network (https://index.crates.io and https://static.crates.io); \
         `scripts/test.sh --offline` leaves it out.\n{}",
        suite.name,
        suite.versions,
        errors.join("\n")
    );
}

/// Downloads `name` `version` the way cargo does (through a probe project
/// that depends on exactly that version), copies its source to `dir` and
/// resolves and downloads its dev-dependencies.
fn fetch(name: &str, version: &str, dir: &Path) -> Result<(), String> {
    let probe = cache().join(format!("probe/{name}-{version}"));
    std::fs::create_dir_all(probe.join("src")).unwrap();
    std::fs::write(
        probe.join("Cargo.toml"),
        format!(
            "[package]\nname = \"probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{name} = \"={version}\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(probe.join("src/lib.rs"), "").unwrap();
    with_retries(&format!("cargo fetch {name} {version}"), || {
        capture(cargo().current_dir(&probe).arg("fetch"))
    })?;
    let registry = cache().join("cargo-home/registry/src");
    let unpacked = std::fs::read_dir(&registry)
        .map_err(|e| format!("{}: {e}", registry.display()))?
        .flatten()
        .map(|index| index.path().join(format!("{name}-{version}")))
        .find(|p| p.join("Cargo.toml").is_file())
        .ok_or_else(|| format!("{name}-{version} is not in {}", registry.display()))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let copied = capture(Command::new("cp").arg("-a").arg(&unpacked).arg(dir));
    if copied.code != 0 {
        return Err(format!(
            "copy {}: {}",
            unpacked.display(),
            copied.stderr_str()
        ));
    }
    // Its own workspace: the cache lies inside machlink's.
    let manifest = dir.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[workspace]\n");
    std::fs::write(&manifest, text).unwrap();
    if !dir.join("Cargo.lock").is_file() {
        with_retries(&format!("cargo generate-lockfile in {name}"), || {
            capture(cargo().current_dir(dir).arg("generate-lockfile"))
        })?;
    }
    with_retries(&format!("cargo fetch in {name}"), || {
        capture(cargo().current_dir(dir).arg("fetch"))
    })?;
    std::fs::write(dir.join(".fetched"), "").unwrap();
    Ok(())
}

/// The `.cargo/config.toml` that links both macOS targets with machlink
/// and runs their tests under macho-run.
fn cargo_config(sdk: &Path) -> String {
    let mut config = String::new();
    for target in Target::ALL {
        config.push_str(&format!(
            "[target.{}]\nlinker = {:?}\nrustflags = [\"-C\", \"linker-flavor=ld64.lld\"]\n\
             rustdocflags = [\"-C\", \"linker-flavor=ld64.lld\"]\nrunner = {:?}\n\n",
            target.rust_triple(),
            workspace_bin("machlink").display().to_string(),
            workspace_bin("macho-run").display().to_string(),
        ));
    }
    config.push_str(&format!(
        "[env]\nSDKROOT = {:?}\n",
        sdk.display().to_string()
    ));
    // Build scripts that compile C or assembly for the target (psm, under
    // serde_json's dev-dependency serde_stacker) need a macOS compiler:
    // clang-19 (cc-rs passes it the target) and an archiver for Mach-O.
    for target in Target::ALL {
        let var = target.rust_triple().replace('-', "_");
        config.push_str(&format!(
            "CC_{var} = \"clang-19\"\nAR_{var} = \"llvm-ar-19\"\n"
        ));
    }
    config
}

/// Removes the test executables of `triple` when machlink changed since
/// they were linked (cargo does not watch the linker binary), so cargo
/// links them again; the compiled libraries stay.
fn relink_if_the_linker_changed(target_dir: &Path, triple: &str) {
    let machlink = std::fs::metadata(workspace_bin("machlink")).unwrap();
    let stamp = format!("{} {:?}", machlink.len(), machlink.modified().unwrap());
    let stamp_file = target_dir.join(format!("machlink-stamp-{triple}"));
    if std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp) {
        return;
    }
    let deps = target_dir.join(triple).join("debug/deps");
    for entry in std::fs::read_dir(&deps).into_iter().flatten().flatten() {
        let path = entry.path();
        let is_exe = std::fs::read(&path).is_ok_and(|b| b.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]));
        if is_exe {
            std::fs::remove_file(&path).unwrap();
        }
    }
    std::fs::create_dir_all(target_dir).unwrap();
    std::fs::write(stamp_file, stamp).unwrap();
}

/// Each test's result, keyed by (section, test): the section is cargo's
/// `Running ...` line without the executable's hash.
type Results = BTreeMap<(String, String), String>;

fn parse_results(output: &str) -> Results {
    let mut results = Results::new();
    let mut section = String::new();
    for line in output.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            section = rest.split(" (").next().unwrap_or(rest).to_string();
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, result)) = rest.rsplit_once(" ... ") {
                results.insert((section.clone(), name.to_string()), result.to_string());
            }
        }
    }
    results
}

/// Runs `cmd` with stdout and stderr in one pipe, so cargo's `Running`
/// lines (stderr) stay in order with the tests' results (stdout).
fn capture_merged(cmd: &mut Command) -> (i32, String) {
    use std::io::Read;
    let (mut reader, writer) = std::io::pipe().unwrap();
    cmd.stdin(std::process::Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    // Only the child holds the writing end now, so the read ends with it.
    drop(std::mem::replace(cmd, Command::new("true")));
    let mut output = Vec::new();
    reader.read_to_end(&mut output).unwrap();
    let status = child.wait().unwrap();
    (
        status.code().unwrap_or(128),
        String::from_utf8_lossy(&output).into_owned(),
    )
}

/// `cargo test --lib --tests` of one crate, natively (`None`) or for a
/// macOS target; prints how long it took.
fn run_suite(src: &Path, target: Option<Target>) -> (i32, String, Results) {
    let name = src.file_name().unwrap().to_string_lossy().to_string();
    let target_dir = cache().join(format!("target/{name}"));
    let mut cmd = cargo();
    cmd.current_dir(src)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["test", "--offline", "--lib", "--tests", "--no-fail-fast"]);
    if let Some(t) = target {
        relink_if_the_linker_changed(&target_dir, t.rust_triple());
        cmd.args(["--target", t.rust_triple()]);
    }
    let start = Instant::now();
    let (code, output) = capture_merged(&mut cmd);
    let results = parse_results(&output);
    eprintln!(
        "crates_io: {name} {}: {} tests, {} ok, exit {} in {:.0?}",
        target.map_or("native", |t| t.rust_triple()),
        results.len(),
        results.values().filter(|r| *r == "ok").count(),
        code,
        start.elapsed()
    );
    (code, output, results)
}

/// The suites' native results, run once per test process.
fn native_results() -> &'static Vec<(PathBuf, Results)> {
    static NATIVE: OnceLock<Vec<(PathBuf, Results)>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        SUITES
            .iter()
            .map(|suite| {
                let src = prepared(suite);
                let (code, output, results) = run_suite(&src, None);
                assert!(
                    results.values().any(|r| r == "ok"),
                    "no test of {} passed natively (exit {code}):\n{output}",
                    suite.name,
                );
                (src, results)
            })
            .collect()
    })
}

/// The source of `suite` with the config file written (once per process;
/// both targets' tests share it).
fn prepared(suite: &Suite) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let src = source(suite);
    let sdk = rust_sdk(&cache());
    std::fs::create_dir_all(src.join(".cargo")).unwrap();
    std::fs::write(src.join(".cargo/config.toml"), cargo_config(&sdk)).unwrap();
    src
}

fn suites_pass_as_natively(target: Target) {
    require_rust_target(target.rust_triple());
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&workspace_bin("macho-run"));
    }
    let native = native_results();
    let mut failures = Vec::new();
    for (suite, (src, expected)) in SUITES.iter().zip(native) {
        let (code, output, got) = run_suite(src, Some(target));
        let mut missing = 0;
        for (key, result) in expected {
            if result != "ok" {
                continue;
            }
            let excused = CANNOT_PASS
                .iter()
                .any(|(c, s, t, _)| *c == suite.name && *s == key.0 && *t == key.1);
            match got.get(key).map(String::as_str) {
                Some("ok") => {}
                _ if excused => {}
                None => missing += 1,
                Some(other) => failures.push(format!(
                    "{} {}: {} {}: {other} (ok natively)",
                    suite.name,
                    target.rust_triple(),
                    key.0,
                    key.1
                )),
            }
        }
        if missing > 0 {
            failures.push(format!(
                "{} {}: {missing} tests that pass natively did not run (exit {code}):\n{}",
                suite.name,
                target.rust_triple(),
                tail(&output)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crates_io_suites_pass_as_natively_x86_64() {
    suites_pass_as_natively(Target::X86_64);
}

#[test]
fn crates_io_suites_pass_as_natively_arm64() {
    suites_pass_as_natively(Target::Arm64);
}

/// The end of a long output, for failure messages.
fn tail(output: &str) -> &str {
    let start = output.len().saturating_sub(4000);
    let start = (start..output.len())
        .find(|&i| output.is_char_boundary(i))
        .unwrap_or(output.len());
    &output[start..]
}

#[test]
fn results_are_keyed_by_section_and_test() {
    let output = "     Running unittests src/lib.rs (target/debug/deps/regex-123)\n\
                  test a::b ... ok\n\
                  test c ... FAILED\n\
                  Running tests/lib.rs (target/debug/deps/lib-456)\n\
                  test c ... ignored, slow\n";
    let r = parse_results(output);
    assert_eq!(r.len(), 3);
    assert_eq!(r[&("unittests src/lib.rs".into(), "a::b".into())], "ok");
    assert_eq!(r[&("unittests src/lib.rs".into(), "c".into())], "FAILED");
    assert_eq!(r[&("tests/lib.rs".into(), "c".into())], "ignored, slow");
}
