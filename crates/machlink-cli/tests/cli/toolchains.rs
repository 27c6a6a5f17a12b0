//! machlink driven by the toolchains people use, for x86_64-apple-darwin:
//! rustc (as its ld64.lld-flavoured linker, and through clang as the C
//! driver), cargo configured in `.cargo/config.toml` (with crates.io
//! dependencies), and clang's Darwin driver (`--ld-path`, `-fuse-ld`,
//! `-isysroot`). Each output must mean what the same driver produces with
//! ld64.lld-19 as its linker (the semantic diff, with the accepted
//! differences of `semantic_diff::ALLOW`), and `machlink verify` must pass
//! on both. C programs also run under macho-run; Rust programs cannot run
//! there yet (issue #15).

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{machlink_verify, run_ok};
use testkit::semantic_diff::compare_files;
use testkit::{capture, check, require_tool, workspace_bin, Outcome};

/// A Rust program with std, threads and a HashMap.
const RUST_PROGRAM: &str = r#"
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let table: Arc<Mutex<HashMap<String, u64>>> = Arc::new(Mutex::new(HashMap::new()));
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                for i in 0..50u64 {
                    table.lock().unwrap().insert(format!("{t}-{i}"), t * i);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let table = table.lock().unwrap();
    let mut keys: Vec<_> = table.keys().filter(|k| k.ends_with("-7")).collect();
    keys.sort();
    println!("{} entries, sum {}, {keys:?}", table.len(), table.values().sum::<u64>());
}
"#;

/// The SDK directory rustc links against ([`testkit::rust::rust_sdk`]),
/// once the x86_64-apple-darwin standard library is known to be there.
pub(crate) fn rust_sdk(work: &Path) -> PathBuf {
    crate::verify::rust_darwin_target();
    testkit::rust::rust_sdk(work)
}

/// rustc compiling `src` for x86_64-apple-darwin with optimizations.
fn rustc(sdk: &Path, src: &Path, out: &Path) -> Command {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.env("SDKROOT", sdk)
        .args(["--edition", "2021", "-O", "--target", "x86_64-apple-darwin"])
        .arg("-o")
        .arg(out)
        .arg(src);
    cmd
}

/// Fails with every unexplained semantic difference between machlink's
/// output and lld's.
fn assert_same_meaning(label: &str, ours: &Path, reference: &Path) {
    let cmp = compare_files(ours, reference)
        .unwrap_or_else(|e| panic!("{label}: cannot compare {}: {e}", ours.display()));
    let unexplained = cmp.unexplained(crate::semantic_diff::ALLOW);
    assert!(
        unexplained.is_empty(),
        "{label}: {} unexplained differences between machlink's {} and ld64.lld-19's {} \
         (accepted ones are in semantic_diff::ALLOW):\n{}",
        unexplained.len(),
        ours.display(),
        reference.display(),
        unexplained
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `machlink verify` passes on both linkers' outputs.
fn assert_both_verify(ours: &Path, reference: &Path) {
    for exe in [ours, reference] {
        let o = machlink_verify(exe);
        assert_eq!(
            o.code,
            0,
            "verify {}: {}{}",
            exe.display(),
            o.stdout_str(),
            o.stderr_str()
        );
        assert!(o.stdout_str().contains(": ok ("), "{}", o.stdout_str());
    }
}

/// A Mach-O x86_64 executable (not, say, a host ELF the driver made by
/// mistake).
fn assert_macho_executable(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 16 && bytes[..4] == [0xcf, 0xfa, 0xed, 0xfe] && bytes[12] == 2,
        "{} is not an x86_64 Mach-O executable",
        path.display()
    );
}

#[test]
fn rustc_links_with_machlink_as_its_ld64_lld() {
    let work = testkit::scratch_dir("toolchains/rustc-flavor");
    let sdk = rust_sdk(&work);
    let src = work.join("prog.rs");
    std::fs::write(&src, RUST_PROGRAM).unwrap();
    let ours = work.join("prog-machlink");
    let reference = work.join("prog-lld");
    for (linker, out) in [
        (workspace_bin("machlink"), &ours),
        (require_tool("ld64.lld-19"), &reference),
    ] {
        check(
            rustc(&sdk, &src, out)
                .arg(format!("-Clinker={}", linker.display()))
                .arg("-Clinker-flavor=ld64.lld"),
        );
        assert_macho_executable(out);
    }
    assert_same_meaning("rustc -C linker-flavor=ld64.lld", &ours, &reference);
    assert_both_verify(&ours, &reference);
}

/// rustc's default for macOS: a C compiler driver as the linker. clang on
/// Linux needs the target (`-target`); `--ld-path` names machlink, and for
/// the reference `-fuse-ld=lld` makes clang run ld64.lld.
#[test]
fn rustc_links_with_machlink_through_clang() {
    let work = testkit::scratch_dir("toolchains/rustc-clang");
    require_clang_lld();
    let sdk = rust_sdk(&work);
    let clang = require_tool("clang-19");
    let src = work.join("prog.rs");
    std::fs::write(&src, RUST_PROGRAM).unwrap();
    let ours = work.join("prog-machlink");
    let reference = work.join("prog-lld");
    let machlink_arg = format!("--ld-path={}", workspace_bin("machlink").display());
    for (linker_arg, out) in [(machlink_arg.as_str(), &ours), ("-fuse-ld=lld", &reference)] {
        check(
            rustc(&sdk, &src, out)
                .arg(format!("-Clinker={}", clang.display()))
                .args(["-Clink-arg=-target", "-Clink-arg=x86_64-apple-macos10.12"])
                .arg(format!("-Clink-arg={linker_arg}")),
        );
        assert_macho_executable(out);
    }
    assert_same_meaning("rustc through clang", &ours, &reference);
    assert_both_verify(&ours, &reference);
}

/// The `.cargo/config.toml` that makes cargo link x86_64-apple-darwin
/// programs with machlink (the README shows the same).
fn cargo_config(machlink: &Path, sdk: &Path) -> String {
    format!(
        "[target.x86_64-apple-darwin]\n\
         linker = {:?}\n\
         rustflags = [\"-C\", \"linker-flavor=ld64.lld\"]\n\
         \n\
         [env]\n\
         SDKROOT = {:?}\n",
        machlink.display().to_string(),
        sdk.display().to_string()
    )
}

/// Downloads the fixture's dependencies into `cargo_home` (its own: the
/// user's is never touched), retrying; fails naming what is missing.
fn fetch_dependencies(cargo: &Path, project: &Path, cargo_home: &Path) {
    let mut last: Option<Outcome> = None;
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(5 * attempt));
        }
        let o = capture(
            Command::new(cargo)
                .current_dir(project)
                .env("CARGO_HOME", cargo_home)
                .args(["fetch", "--locked"]),
        );
        if o.code == 0 {
            return;
        }
        last = Some(o);
    }
    panic!(
        "cannot download the crates.io dependencies of {} (itoa 1.0.15, smallvec 1.13.2, \
         pinned by its Cargo.lock) after 3 attempts: this test needs the network \
         (https://index.crates.io and https://static.crates.io); `scripts/test.sh --offline` \
         leaves it out. cargo said:\n{}",
        project.display(),
        last.map(|o| o.stderr_str()).unwrap_or_default()
    );
}

/// A cargo project with crates.io dependencies, built for
/// x86_64-apple-darwin with machlink configured in `.cargo/config.toml`;
/// the reference is the same build with ld64.lld-19 as the linker
/// (`CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER` overrides the config file).
#[test]
fn cargo_project_with_crates_io_dependencies_links_with_machlink() {
    let work = testkit::scratch_dir("toolchains/cargo");
    let sdk = rust_sdk(&work);
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let fixture = testkit::workspace_root().join("tests/toolchains/cargo-project");
    let project = work.join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        std::fs::copy(fixture.join(file), project.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.join(file).display()));
    }
    std::fs::create_dir_all(project.join(".cargo")).unwrap();
    std::fs::write(
        project.join(".cargo/config.toml"),
        cargo_config(&workspace_bin("machlink"), &sdk),
    )
    .unwrap();
    let cargo_home = work.join("cargo-home");
    fetch_dependencies(&cargo, &project, &cargo_home);
    let build = |target_dir: &str, linker: Option<&Path>| -> PathBuf {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&project)
            .env("CARGO_HOME", &cargo_home)
            // The outer `cargo test` must not leak its own settings in.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .args(["build", "--release", "--offline", "--locked"])
            .args(["--target", "x86_64-apple-darwin", "--target-dir"])
            .arg(work.join(target_dir));
        if let Some(l) = linker {
            cmd.env("CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER", l);
        }
        check(&mut cmd);
        let exe = work
            .join(target_dir)
            .join("x86_64-apple-darwin/release/machlink-cargo-check");
        assert_macho_executable(&exe);
        exe
    };
    let ours = build("target-machlink", None);
    let reference = build("target-lld", Some(&require_tool("ld64.lld-19")));
    // Both dependencies were built and linked (itoa is inlined whole, so
    // only smallvec leaves symbols in the program).
    let deps = work.join("target-machlink/x86_64-apple-darwin/release/deps");
    for dep in ["libitoa-", "libsmallvec-"] {
        let built = std::fs::read_dir(&deps)
            .unwrap_or_else(|e| panic!("{}: {e}", deps.display()))
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(dep));
        assert!(built, "no {dep}*.rlib in {}", deps.display());
    }
    let nm = testkit::cli::tool("llvm-nm-19", &[], &ours);
    assert!(
        nm.contains("smallvec"),
        "no smallvec symbol in {}",
        ours.display()
    );
    assert_same_meaning("cargo", &ours, &reference);
    assert_both_verify(&ours, &reference);
}

const C_PROGRAM: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *names[] = {"alpha", "beta", "gamma"};
int counter = 3;
extern int twice(int);
static int by_length(const void *a, const void *b) {
    return (int)strlen(*(const char *const *)a) - (int)strlen(*(const char *const *)b);
}
int main(int argc, char **argv) {
    const char *sorted[3];
    memcpy(sorted, names, sizeof sorted);
    qsort(sorted, 3, sizeof sorted[0], by_length);
    for (int i = 0; i < counter; i++)
        printf("%s %d\n", sorted[i], twice(argc + i));
    return 0;
}
"#;

const C_LIBRARY: &str = r#"
int twice(int x) { return 2 * x; }
"#;

/// clang's `-fuse-ld=lld` runs `ld64.lld` from clang's own directory (the
/// reference links); fails naming the setup script when it is missing.
fn require_clang_lld() {
    let clang = std::fs::canonicalize(require_tool("clang-19")).unwrap();
    let lld = clang.with_file_name("ld64.lld");
    assert!(
        lld.exists(),
        "{} is missing (clang-19 -fuse-ld=lld runs it): run `{}` first",
        lld.display(),
        testkit::SETUP
    );
}

/// The objects of the C program, compiled for macOS 13.
fn c_objects(work: &Path) -> Vec<PathBuf> {
    let flags = ["-O1", "-target", "x86_64-macos.13.0"];
    vec![
        testkit::cli::compile_with(work, "main", C_PROGRAM, &flags),
        testkit::cli::compile_with(work, "twice", C_LIBRARY, &flags),
    ]
}

/// clang's Darwin driver, for macOS 13, linking with `linker_args`.
fn clang_link(objs: &[PathBuf], out: &Path, linker_args: &[&str]) -> Outcome {
    capture(
        Command::new(require_tool("clang-19"))
            .args(["-target", "x86_64-apple-macos13", "-isysroot"])
            .arg(testkit::sdk_root())
            .args(linker_args)
            .args(objs)
            .arg("-o")
            .arg(out),
    )
}

/// `clang -target x86_64-apple-macos13 --ld-path=machlink` and
/// `-fuse-ld=machlink`, with the flags clang's Darwin driver passes
/// (`-dynamic -arch -macosx_version_min -syslibroot -mllvm ... -lSystem`;
/// with `-mlinker-version=705` also `-demangle -lto_library` and
/// `-platform_version`), an executable and a dylib (`-dynamiclib`).
#[test]
fn clang_driver_links_with_machlink() {
    let work = testkit::scratch_dir("toolchains/clang");
    require_clang_lld();
    let objs = c_objects(&work);
    let machlink = workspace_bin("machlink");
    let ld_path = format!("--ld-path={}", machlink.display());
    let fuse_ld = format!("-fuse-ld={}", machlink.display());
    let reference = work.join("prog-lld");
    let o = clang_link(&objs, &reference, &["-fuse-ld=lld"]);
    assert_eq!(o.code, 0, "clang with ld64.lld: {}", o.stderr_str());
    let expected = "beta 2\nalpha 4\ngamma 6\n";
    assert_eq!(run_ok(&reference), expected);
    for (tag, args) in [
        ("ld-path", vec![ld_path.as_str()]),
        ("fuse-ld", vec![fuse_ld.as_str()]),
        (
            "ld-path-linker-version",
            vec![ld_path.as_str(), "-mlinker-version=705"],
        ),
    ] {
        let ours = work.join(format!("prog-{tag}"));
        let o = clang_link(&objs, &ours, &args);
        assert_eq!(o.code, 0, "{tag}: {}", o.stderr_str());
        assert!(
            !o.stderr_str().contains("error"),
            "{tag}: {}",
            o.stderr_str()
        );
        assert_eq!(run_ok(&ours), expected, "{tag}");
        assert_same_meaning(&format!("clang {tag}"), &ours, &reference);
        assert_both_verify(&ours, &reference);
    }

    // A dylib through the driver: `-dynamiclib -install_name`.
    let lib_args = |linker: &str| {
        vec![
            linker.to_string(),
            "-dynamiclib".into(),
            "-install_name".into(),
            "@rpath/libtwice.dylib".into(),
        ]
    };
    let lib_obj = &objs[1..];
    let (ours, theirs) = (work.join("libtwice.dylib"), work.join("libtwice-lld.dylib"));
    for (linker, out) in [(ld_path.as_str(), &ours), ("-fuse-ld=lld", &theirs)] {
        let args = lib_args(linker);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = clang_link(lib_obj, out, &args);
        assert_eq!(o.code, 0, "dylib with {linker}: {}", o.stderr_str());
    }
    assert_same_meaning("clang -dynamiclib", &ours, &theirs);
    assert_both_verify(&ours, &theirs);
}

const OLD_TARGET_PROGRAM: &str = r#"
#include <stdio.h>
static const char *const names[] = {"zero", "one", "two"};
const int weights[3] = {VALUE, 20, 30};
int main(void) {
    for (int i = 0; i < 3; i++)
        printf("%s %d\n", names[i], weights[i]);
    return 0;
}
"#;

/// rustc's default target, macOS 10.12: as ld64.lld, no `__DATA_CONST`
/// (constant data stays in `__DATA`, before 10.15) and LC_VERSION_MIN_MACOSX
/// (before 10.14); the same output meaning as lld's. `-incremental` links
/// for such targets update in place, and `-data_const` still asks for the
/// segment.
#[test]
fn old_deployment_targets_link_like_lld() {
    let work = testkit::scratch_dir("toolchains/old-target");
    let target = ["-platform_version", "macos", "10.12", "10.12"];
    let obj = |value: i32| {
        testkit::cli::compile_with(
            &work,
            &format!("prog{value}"),
            OLD_TARGET_PROGRAM,
            &["-O1", &format!("-DVALUE={value}")],
        )
    };
    let first = obj(10);
    let headers =
        |exe: &Path| testkit::cli::tool("llvm-objdump-19", &["--macho", "--private-headers"], exe);
    let ours = work.join("prog-machlink");
    let reference = work.join("prog-lld");
    check(testkit::machlink_command(&ours).args(target).arg(&first));
    check(testkit::lld_command(&reference).args(target).arg(&first));
    let h = headers(&ours);
    assert!(!h.contains("__DATA_CONST"), "{h}");
    assert!(
        h.contains("LC_VERSION_MIN_MACOSX") && !h.contains("LC_BUILD_VERSION"),
        "{h}"
    );
    assert!(h.contains("version 10.12"), "{h}");
    assert_eq!(run_ok(&ours), "zero 10\none 20\ntwo 30\n");
    assert_same_meaning("macOS 10.12", &ours, &reference);

    // -data_const overrides the target's default.
    let forced = work.join("prog-data-const");
    check(
        testkit::machlink_command(&forced)
            .args(target)
            .arg("-data_const")
            .arg(&first),
    );
    assert!(headers(&forced).contains("segname __DATA_CONST"));
    assert_eq!(run_ok(&forced), "zero 10\none 20\ntwo 30\n");

    // An incremental link for 10.12 updates constant data in place.
    let inc = work.join("prog-incremental");
    let link = |o: &Path| {
        let out = capture(testkit::cli::incremental_command(&inc).args(target).arg(o));
        assert_eq!(out.code, 0, "{}", out.stderr_str());
        testkit::cli::incremental_line(&out)
    };
    link(&first);
    assert!(!headers(&inc).contains("__DATA_CONST"));
    assert_eq!(run_ok(&inc), "zero 10\none 20\ntwo 30\n");
    let second = obj(11);
    std::fs::copy(&second, &first).unwrap();
    let line = link(&first);
    assert!(line.contains("updated 1 object(s)"), "{line}");
    assert_eq!(run_ok(&inc), "zero 11\none 20\ntwo 30\n");
    let o = machlink_verify(&inc);
    assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
}
