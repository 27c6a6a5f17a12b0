//! C++ programs linked by machlink run under macho-run exactly like their
//! g++ builds, on x86_64 and arm64.
//!
//! Each program is a directory of several `.cpp` files under `cxx/`
//! (iostreams, static constructors and destructors, RTTI and
//! `dynamic_cast`, threads and `thread_local` objects with destructors,
//! templates and inline functions coalesced across objects, containers,
//! and exceptions thrown across objects). For each target, its objects are
//! compiled by `zig c++` and linked with zig's static libc++ and libc++abi
//! (`scripts/setup.sh` derives them into `.toolchain/cxx/`) by machlink,
//! with chained fixups and with `-no_fixup_chains`, and by ld64.lld-19.
//! Every output runs under macho-run at its preferred address and slid
//! (`MACHO_RUN_FORCE_SLIDE`), must print and exit as the same sources
//! built natively with g++, and must pass `machlink verify`.
//! The `_Unwind_*` calls of libc++abi bind to macho-run's unwinder, which
//! reads the image's own unwind tables, so a wrong table fails here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testkit::cli::{machlink_verify, macho_run_with};
use testkit::{
    capture, check, compile_cxx_macos_for, cxx_runtime, parallel_for, require_aarch64_macho_run,
    require_tool, scratch_dir, try_link_for, workspace_bin, workspace_root, Linker, Outcome,
    Target,
};

/// The programs, one directory each under `cxx/`.
const PROGRAMS: [&str; 8] = [
    "iostreams",
    "statics",
    "rtti",
    "threads",
    "templates",
    "containers",
    "exceptions",
    "exception_flow",
];

/// Flags for both compilers: the same language and optimisation level.
const CXXFLAGS: &[&str] = &["-std=c++20", "-O1"];

/// The linkers each program is linked with: machlink in both fixup formats
/// (arm64 libc++'s type_info name pointers carry bit 63, which chained
/// rebases keep in `high8` and classic ones in the slot) and the reference.
const LINKERS: [Linker; 3] = [
    Linker::MachlinkChained,
    Linker::MachlinkClassic,
    Linker::LldChained,
];

fn program_dir(name: &str) -> PathBuf {
    workspace_root()
        .join("crates/machlink-cli/tests/cli/cxx")
        .join(name)
}

/// The `.cpp` files of a program, sorted: the link order, which decides
/// the order of static initialisers, is the same for every build.
fn sources(name: &str) -> Vec<PathBuf> {
    let dir = program_dir(name);
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cpp"))
        .collect();
    srcs.sort();
    assert!(srcs.len() >= 2, "{name} must have several objects");
    srcs
}

/// What the g++ build of a program does: built and run once per program
/// for both targets' tests.
fn native_outcome(name: &str) -> &'static Outcome {
    static NATIVE: [OnceLock<Outcome>; PROGRAMS.len()] =
        [const { OnceLock::new() }; PROGRAMS.len()];
    let index = PROGRAMS.iter().position(|p| *p == name).unwrap();
    NATIVE[index].get_or_init(|| {
        let gxx = require_tool("g++");
        let exe = scratch_dir(&format!("cxx_programs/{name}/native")).join(name);
        check(
            Command::new(gxx)
                .args(CXXFLAGS)
                .args(sources(name))
                .args(["-pthread", "-o"])
                .arg(&exe),
        );
        capture(&mut Command::new(&exe))
    })
}

/// Compiles a program's sources for `target`, in parallel, into `dir`.
fn compile(name: &str, target: Target, dir: &Path) -> Vec<PathBuf> {
    let srcs = sources(name);
    let objs: Vec<PathBuf> = srcs
        .iter()
        .map(|s| dir.join(s.file_name().unwrap()).with_extension("o"))
        .collect();
    parallel_for(srcs.len(), |i| {
        compile_cxx_macos_for(target, &srcs[i], &objs[i], CXXFLAGS)
    });
    objs
}

/// The first line where two outputs differ, for a short failure message.
fn first_difference(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    for i in 0..e.len().max(g.len()) {
        if e.get(i) != g.get(i) {
            return format!(
                "line {}: expected {:?}, got {:?}",
                i + 1,
                e.get(i),
                g.get(i)
            );
        }
    }
    "same lines".into()
}

/// Why `got` is not `expected`, or None when it is.
fn compare(what: &str, expected: &Outcome, got: &Outcome) -> Option<String> {
    if expected == got {
        return None;
    }
    let (es, gs) = (expected.stdout_str(), got.stdout_str());
    Some(format!(
        "{what}: exit {} (expected {}); stdout {}; stderr {:?} (expected {:?})",
        got.code,
        expected.code,
        first_difference(&es, &gs),
        tail(&got.stderr_str()),
        tail(&expected.stderr_str()),
    ))
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(600);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

/// Builds `name` for `target` with each linker and checks every run and
/// `machlink verify`; reports every failure at once.
fn check_program(name: &str, target: Target) {
    let macho_run = workspace_bin("macho-run");
    if target == Target::Arm64 {
        require_aarch64_macho_run(&macho_run);
    }
    let runtime = cxx_runtime(target);
    let expected = native_outcome(name);
    let dir = scratch_dir(&format!("cxx_programs/{name}/{}", target.arch()));
    let mut inputs = compile(name, target, &dir);
    inputs.extend(runtime);

    let mut failures = Vec::new();
    for linker in LINKERS {
        let exe = dir.join(format!("{name}-{}", linker.name()));
        if let Err(e) = try_link_for(target, linker, &inputs, &exe, &[]) {
            failures.push(e);
            continue;
        }
        for (how, env) in [
            ("plain", &[][..]),
            ("slid", &[("MACHO_RUN_FORCE_SLIDE", "1")][..]),
        ] {
            let got = macho_run_with(&exe, env);
            let what = format!("{} {how}", linker.name());
            failures.extend(compare(&what, expected, &got));
        }
        let v = machlink_verify(&exe);
        if v.code != 0 {
            failures.push(format!(
                "machlink verify {}: {}{}",
                exe.display(),
                v.stdout_str(),
                v.stderr_str()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name} ({}) differs from its g++ build:\n{}",
        target.arch(),
        failures.join("\n")
    );
}

macro_rules! cxx_program {
    ($name:ident) => {
        mod $name {
            use testkit::Target;

            #[test]
            fn x86_64() {
                super::check_program(stringify!($name), Target::X86_64);
            }

            #[test]
            fn arm64() {
                super::check_program(stringify!($name), Target::Arm64);
            }
        }
    };
}

cxx_program!(iostreams);
cxx_program!(statics);
cxx_program!(rtti);
cxx_program!(threads);
cxx_program!(templates);
cxx_program!(containers);
cxx_program!(exceptions);
cxx_program!(exception_flow);

#[test]
fn every_program_directory_is_tested() {
    let root = workspace_root().join("crates/machlink-cli/tests/cli/cxx");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = PROGRAMS.iter().map(|p| p.to_string()).collect();
    listed.sort();
    assert_eq!(
        dirs, listed,
        "cxx/ and PROGRAMS must name the same programs"
    );
}
