//! Shared test support for machlink's crates: finding the toolchain that
//! `scripts/setup.sh` installs, compiling C for macOS (zig cc) and for
//! Linux (gcc), linking with the reference linkers, and running programs.
//!
//! A missing tool is a test failure that names the setup command, never a
//! silent skip.

pub mod semantic_diff;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod cli;
pub mod rust;
pub mod unwind;

/// The command that installs everything the tests need.
pub const SETUP: &str = "scripts/setup.sh";

/// Target triple zig uses for macOS objects and links (x86_64; see
/// [`Target::zig_target`] for the others).
pub const ZIG_TARGET: &str = "x86_64-macos";
/// Deployment target and SDK version passed to ld64.lld-19.
pub const MACOS_VERSION: &str = "15.0";

/// The CPU a macOS object or executable is built for. Every helper without
/// a `_for` suffix builds for [`Target::X86_64`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    X86_64,
    Arm64,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::X86_64, Target::Arm64];

    /// The name ld64's `-arch` takes (and the test labels use).
    pub fn arch(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64",
            Target::Arm64 => "arm64",
        }
    }

    /// zig's `-target` for macOS objects and links. zig ships the macOS
    /// headers for both CPUs; clang-19 would need an SDK with headers, and
    /// .toolchain/sdk only has libSystem.tbd.
    pub fn zig_target(self) -> &'static str {
        match self {
            Target::X86_64 => ZIG_TARGET,
            Target::Arm64 => ZIG_TARGET_ARM64,
        }
    }

    /// Compiler flags every macOS object of this target gets. arm64 has
    /// fused multiply-add, and clang contracts `a * b + c` into one `fmadd`
    /// (rounded once) by default; the expected output of a test is the
    /// x86_64 gcc build, which rounds twice, so arm64 objects are compiled
    /// with contraction off to compute the same doubles.
    pub fn cflags(self) -> &'static [&'static str] {
        match self {
            Target::X86_64 => &[],
            Target::Arm64 => &["-ffp-contract=off"],
        }
    }
}

/// The workspace root (where Cargo.toml with `[workspace]` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("testkit lives at crates/testkit")
        .to_path_buf()
}

/// A fresh scratch directory under target/test-scratch, unique per name.
///
/// Tests of one binary run concurrently in one process, and a scratch
/// directory is wiped when claimed: a name may be claimed once per process,
/// and never inside or around another claimed one ("x" and "x/y"). A clash
/// panics, naming both, instead of letting two tests clobber each other.
pub fn scratch_dir(name: &str) -> PathBuf {
    static CLAIMED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let rel = PathBuf::from(name);
    {
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(other) = claimed
            .iter()
            .find(|c| c.starts_with(&rel) || rel.starts_with(c))
        {
            panic!(
                "scratch directory {name:?} clashes with {:?}, claimed earlier in this \
                 test process: give each test a name of its own",
                other.display()
            );
        }
        claimed.push(rel);
    }
    let dir = workspace_root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Fails the test, naming the setup command, when `tool` is not on PATH.
pub fn require_tool(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("`{tool}` is not installed: run `{SETUP}` first"))
}

/// The -syslibroot that holds the filtered libSystem.tbd.
pub fn sdk_root() -> PathBuf {
    let sdk = workspace_root().join(".toolchain/sdk");
    assert!(
        sdk.join("usr/lib/libSystem.tbd").is_file(),
        "{} has no usr/lib/libSystem.tbd: run `{SETUP}` first",
        sdk.display()
    );
    sdk
}

/// Runs tests/projects/fetch.sh (the real projects' Debian sources into
/// target/projects-src), once at a time: the tests that build the projects
/// run concurrently in one process, and two fetches of a missing source
/// would unpack into the same directory.
pub fn fetch_projects() {
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    check(Command::new("bash").arg(workspace_root().join("tests/projects/fetch.sh")));
}

/// The captured result of running a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code, or 128 + signal number when killed by a signal.
    pub code: i32,
}

impl Outcome {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Arguments every corpus program is run with (see tests/corpus/README.md).
pub const CORPUS_ARGS: &[&str] = &["alpha", "beta", "gamma delta"];
/// Compiler flags for corpus programs, native and macOS alike (-fcommon:
/// the corpus tests tentative definitions).
pub const CORPUS_CFLAGS: &[&str] = &["-O1", "-fcommon", "-w"];

/// Runs a corpus program (native, or under macho-run) with the corpus
/// arguments and a fixed environment plus `extra_env` (e.g. macho-run's
/// test switches), so runs compare byte for byte.
pub fn run_corpus_program(cmd: &mut Command, extra_env: &[(&str, &str)]) -> Outcome {
    capture(
        cmd.args(CORPUS_ARGS)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .env("MACHLINK_TEST_ENV", "hello-env")
            .envs(extra_env.iter().copied()),
    )
}

/// One line pair saying how a run differed from the expected one.
pub fn mismatch(what: &str, expected: &Outcome, got: &Outcome) -> String {
    format!(
        "{what}: expected exit {} stdout {:?} stderr {:?}\n   got exit {} stdout {:?} stderr {:?}",
        expected.code,
        expected.stdout_str(),
        expected.stderr_str(),
        got.code,
        got.stdout_str(),
        got.stderr_str()
    )
}

/// Runs `cmd` to completion with no stdin and captures its output.
pub fn capture(cmd: &mut Command) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let code = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        code,
    }
}

/// Runs a build step; panics with its output when it fails.
pub fn check(cmd: &mut Command) {
    let out = capture(cmd);
    assert!(
        out.code == 0,
        "command failed ({}): {cmd:?}\n{}{}",
        out.code,
        out.stdout_str(),
        out.stderr_str()
    );
}

/// `python3 -m ziglang cc` — the macOS C compiler (and zig's own linker).
pub fn zig_cc() -> Command {
    zig_cc_for(Target::X86_64)
}

/// [`zig_cc`] for `target`, with the target's own compiler flags.
pub fn zig_cc_for(target: Target) -> Command {
    zig_driver_for("cc", target)
}

/// `python3 -m ziglang c++` for `target`: the macOS C++ compiler, whose
/// objects use zig's libc++ headers (link them with [`cxx_runtime`]).
pub fn zig_cxx_for(target: Target) -> Command {
    zig_driver_for("c++", target)
}

/// zig's `cc` or `c++` driver for `target`, with the target's flags.
fn zig_driver_for(driver: &str, target: Target) -> Command {
    static PROBED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *PROBED.get_or_init(|| {
        require_tool("python3");
        capture(Command::new("python3").args(["-m", "ziglang", "version"])).code == 0
    });
    assert!(
        installed,
        "zig is not installed (python3 -m ziglang failed): run `{SETUP}` first"
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "ziglang", driver, "-target", target.zig_target()])
        .args(target.cflags());
    cmd
}

/// Compiles one C file to a macOS x86_64 object.
pub fn compile_macos(src: &Path, obj: &Path, flags: &[&str]) {
    compile_macos_for(Target::X86_64, src, obj, flags);
}

/// Compiles one C file to a macOS object for `target`.
pub fn compile_macos_for(target: Target, src: &Path, obj: &Path, flags: &[&str]) {
    check(
        zig_cc_for(target)
            .args(flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(obj),
    );
}

/// Compiles one C++ file to a macOS object for `target`.
pub fn compile_cxx_macos_for(target: Target, src: &Path, obj: &Path, flags: &[&str]) {
    check(
        zig_cxx_for(target)
            .args(flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(obj),
    );
}

/// zig's static libc++ and libc++abi for `target` (in that order, the
/// order a link needs them), which `scripts/setup.sh` derives into
/// `.toolchain/cxx/<arch>/`. There is no libunwind for macOS: the
/// `_Unwind_*` calls are libSystem's, bound by macho-run to its unwinder.
pub fn cxx_runtime(target: Target) -> Vec<PathBuf> {
    let dir = workspace_root().join(".toolchain/cxx").join(target.arch());
    ["libc++.a", "libc++abi.a"]
        .iter()
        .map(|lib| {
            let path = dir.join(lib);
            assert!(
                path.is_file(),
                "{} is missing: run `{SETUP}` first (it builds zig's libc++ for macOS)",
                path.display()
            );
            path
        })
        .collect()
}

/// zig's target for macOS arm64 objects ([`Target::zig_target`]).
pub const ZIG_TARGET_ARM64: &str = "aarch64-macos";

/// Compiles one C file to a macOS arm64 object (with
/// [`Target::cflags`]: `-ffp-contract=off`).
pub fn compile_macos_arm64(src: &Path, obj: &Path, flags: &[&str]) {
    compile_macos_for(Target::Arm64, src, obj, flags);
}

/// [`compile_all_macos`] for arm64.
pub fn compile_all_macos_arm64(srcs: &[PathBuf], out_dir: &Path, flags: &[&str]) -> Vec<PathBuf> {
    compile_all_macos_for(Target::Arm64, srcs, out_dir, flags)
}

/// Compiles C sources natively with gcc (each to an object beside `exe`,
/// in parallel) and links them.
pub fn build_native(srcs: &[PathBuf], exe: &Path, flags: &[&str]) {
    build_native_with(srcs, exe, flags, &[]);
}

/// [`build_native`] with more libraries on the link line: gcc compiles a
/// `.cc` source as C++ (by its extension), and `-lstdc++` links its runtime.
pub fn build_native_with(srcs: &[PathBuf], exe: &Path, flags: &[&str], libs: &[&str]) {
    require_tool("gcc");
    let dir = exe.with_extension("native-objs");
    std::fs::create_dir_all(&dir).expect("create object dir");
    let objs = objects_for(srcs, &dir);
    parallel_for(srcs.len(), |i| {
        check(
            Command::new("gcc")
                .args(flags)
                .arg("-c")
                .arg(&srcs[i])
                .arg("-o")
                .arg(&objs[i]),
        )
    });
    check(
        Command::new("gcc")
            .args(&objs)
            .args(libs)
            .args(["-lm", "-lpthread", "-o"])
            .arg(exe),
    );
}

/// How an executable is linked from macOS objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linker {
    /// ld64.lld-19 with its default for macOS 15: chained fixups.
    LldChained,
    /// ld64.lld-19 -no_fixup_chains: classic LC_DYLD_INFO opcodes.
    LldClassic,
    /// zig's own Mach-O linker.
    Zig,
    /// machlink with its default for macOS 15: chained fixups.
    MachlinkChained,
    /// machlink -no_fixup_chains.
    MachlinkClassic,
}

impl Linker {
    /// The reference linkers.
    pub const ALL: [Linker; 3] = [Linker::LldChained, Linker::LldClassic, Linker::Zig];
    /// machlink in both fixup formats.
    pub const MACHLINK: [Linker; 2] = [Linker::MachlinkChained, Linker::MachlinkClassic];

    pub fn name(self) -> &'static str {
        match self {
            Linker::LldChained => "lld-chained",
            Linker::LldClassic => "lld-classic",
            Linker::Zig => "zig",
            Linker::MachlinkChained => "machlink-chained",
            Linker::MachlinkClassic => "machlink-classic",
        }
    }
}

/// The command that builds macho-run's aarch64 side, which the x86_64
/// macho-run re-executes under qemu-aarch64 for arm64 programs.
pub const BUILD_AARCH64_MACHO_RUN: &str =
    "cargo build --release -p macho-run --target aarch64-unknown-linux-gnu";

/// Fails, naming the command that fixes it, unless qemu-aarch64 is
/// installed and the aarch64 build of macho-run sits where the x86_64
/// build `macho_run` (`target/<profile>/macho-run`) looks for it.
pub fn require_aarch64_macho_run(macho_run: &Path) {
    require_tool("qemu-aarch64");
    let dir = macho_run.parent().expect("target/<profile>");
    let arm = dir
        .parent()
        .expect("target")
        .join("aarch64-unknown-linux-gnu")
        .join(dir.file_name().expect("profile"))
        .join("macho-run");
    assert!(
        arm.is_file(),
        "{} is not built: run `{BUILD_AARCH64_MACHO_RUN}` (scripts/test.sh does)",
        arm.display()
    );
}

/// A binary built from this workspace (`machlink`, `macho-run`), found
/// beside the running test's own target directory.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build --release --workspace` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The command that builds `machlink-client` (static against musl on
/// x86_64 Linux, a plain release build elsewhere).
pub const BUILD_MACHLINK_CLIENT: &str = "scripts/build-client.sh";

/// The target `machlink-client` is built for on this host, when not the
/// host's own: on x86_64 Linux it is static against musl, so that it
/// starts in a tenth of a glibc program's time.
pub const CLIENT_TARGET: Option<&str> = if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
    Some("x86_64-unknown-linux-musl")
} else {
    None
};

/// `machlink-client` as [`BUILD_MACHLINK_CLIENT`] builds it for the
/// running test's profile; fails, naming the command that fixes it, when
/// it is not there (or its Rust target is not installed).
pub fn machlink_client_bin() -> PathBuf {
    let Some(target) = CLIENT_TARGET else {
        return workspace_bin("machlink-client");
    };
    let profile_dir = workspace_bin("machlink")
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let profile = profile_dir.file_name().expect("profile");
    let bin = profile_dir
        .parent()
        .expect("target")
        .join(target)
        .join(profile)
        .join("machlink-client");
    if bin.is_file() {
        return bin;
    }
    // The script builds the release profile, which scripts/test.sh tests.
    let build = if profile == "release" {
        BUILD_MACHLINK_CLIENT.to_string()
    } else {
        format!("cargo build -p machlink-client --target {target}")
    };
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.is_some_and(|s| s.join("lib/rustlib").join(target).is_dir());
    assert!(
        installed,
        "the Rust target {target} that machlink-client is built for is not installed: \
         run `{SETUP}`, then `{build}`"
    );
    panic!(
        "{} is not built: run `{build}` (scripts/test.sh does)",
        bin.display()
    );
}

/// The ld64-style command line for an executable, minus the objects.
fn ld64_command(target: Target, linker: &Path, out: &Path) -> Command {
    ld64_command_in_for(target, linker, &sdk_root(), out)
}

/// [`ld64_command`] with another linker binary and -syslibroot.
pub fn ld64_command_in(linker: &Path, sdk: &Path, out: &Path) -> Command {
    ld64_command_in_for(Target::X86_64, linker, sdk, out)
}

/// The ld64-style command line of an arm64 executable, minus the objects:
/// `linker` is ld64.lld-19 or machlink.
pub fn ld64_arm64_command(linker: &Path, out: &Path) -> Command {
    ld64_command_in_for(Target::Arm64, linker, &sdk_root(), out)
}

/// [`ld64_command_in`] for `target` (`-arch x86_64` or `-arch arm64`).
pub fn ld64_command_in_for(target: Target, linker: &Path, sdk: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(linker);
    cmd.args([
        "-arch",
        target.arch(),
        "-platform_version",
        "macos",
        MACOS_VERSION,
        MACOS_VERSION,
    ])
    .arg("-syslibroot")
    .arg(sdk)
    .args(["-lSystem", "-o"])
    .arg(out);
    cmd
}

/// The ld64.lld-19 command line for an executable, minus the objects.
pub fn lld_command(out: &Path) -> Command {
    lld_command_for(Target::X86_64, out)
}

/// [`lld_command`] for `target`.
pub fn lld_command_for(target: Target, out: &Path) -> Command {
    ld64_command(target, &require_tool("ld64.lld-19"), out)
}

/// The machlink command line for an executable, minus the objects.
pub fn machlink_command(out: &Path) -> Command {
    machlink_command_for(Target::X86_64, out)
}

/// [`machlink_command`] for `target`.
pub fn machlink_command_for(target: Target, out: &Path) -> Command {
    ld64_command(target, &workspace_bin("machlink"), out)
}

/// The whole command line that links `objs` into `out` with `linker`
/// for `target`, with `extra` flags before the objects.
pub fn link_command_for(
    target: Target,
    linker: Linker,
    objs: &[PathBuf],
    out: &Path,
    extra: &[&str],
) -> Command {
    let mut cmd = match linker {
        Linker::LldChained => lld_command_for(target, out),
        Linker::LldClassic => {
            let mut c = lld_command_for(target, out);
            c.arg("-no_fixup_chains");
            c
        }
        Linker::Zig => {
            let mut c = zig_cc_for(target);
            c.arg("-o").arg(out);
            c
        }
        Linker::MachlinkChained => machlink_command_for(target, out),
        Linker::MachlinkClassic => {
            let mut c = machlink_command_for(target, out);
            c.arg("-no_fixup_chains");
            c
        }
    };
    cmd.args(extra).args(objs);
    cmd
}

/// Links macOS x86_64 objects into an executable with the given linker.
pub fn link(linker: Linker, objs: &[PathBuf], out: &Path, extra: &[&str]) {
    link_for(Target::X86_64, linker, objs, out, extra);
}

/// [`link`] for `target`; panics with the linker's output when it fails.
pub fn link_for(target: Target, linker: Linker, objs: &[PathBuf], out: &Path, extra: &[&str]) {
    check(&mut link_command_for(target, linker, objs, out, extra));
}

/// [`link_for`] that returns the failed link's message instead of
/// panicking, for tests that go on with their other linkers.
pub fn try_link_for(
    target: Target,
    linker: Linker,
    objs: &[PathBuf],
    out: &Path,
    extra: &[&str],
) -> Result<(), String> {
    let mut cmd = link_command_for(target, linker, objs, out, extra);
    let o = capture(&mut cmd);
    if o.code == 0 {
        return Ok(());
    }
    Err(format!(
        "{} -arch {} failed ({}): {}{}",
        linker.name(),
        target.arch(),
        o.code,
        o.stdout_str(),
        o.stderr_str()
    ))
}

/// The C sources (`*.c`) of a directory, sorted.
pub fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("c")))
        .collect();
    srcs.sort();
    srcs
}

/// A program of the C corpus: `tests/corpus/NAME`.
pub fn corpus_dir(name: &str) -> PathBuf {
    workspace_root().join("tests/corpus").join(name)
}

/// Every corpus program's directory, sorted by name.
pub fn corpus_programs() -> Vec<PathBuf> {
    let root = workspace_root().join("tests/corpus");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Compiles every source of the corpus program `name` for macOS into
/// `out_dir`, in parallel.
pub fn compile_corpus_macos(name: &str, out_dir: &Path, flags: &[&str]) -> Vec<PathBuf> {
    compile_all_macos(&c_sources(&corpus_dir(name)), out_dir, flags)
}

/// [`compile_corpus_macos`] for `target`.
pub fn compile_corpus_macos_for(
    target: Target,
    name: &str,
    out_dir: &Path,
    flags: &[&str],
) -> Vec<PathBuf> {
    compile_all_macos_for(target, &c_sources(&corpus_dir(name)), out_dir, flags)
}

/// `out_dir/<stem>.o` for every source.
fn objects_for(srcs: &[PathBuf], out_dir: &Path) -> Vec<PathBuf> {
    srcs.iter()
        .map(|s| out_dir.join(s.file_stem().unwrap()).with_extension("o"))
        .collect()
}

/// Runs `job(0..count)` on as many threads as there are cores.
pub fn parallel_for(count: usize, job: impl Fn(usize) + Sync) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(count) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                job(i);
            });
        }
    });
}

/// Compiles every source to `out_dir/<stem>.o` for macOS, in parallel.
pub fn compile_all_macos(srcs: &[PathBuf], out_dir: &Path, flags: &[&str]) -> Vec<PathBuf> {
    compile_all_macos_for(Target::X86_64, srcs, out_dir, flags)
}

/// [`compile_all_macos`] for `target`.
pub fn compile_all_macos_for(
    target: Target,
    srcs: &[PathBuf],
    out_dir: &Path,
    flags: &[&str],
) -> Vec<PathBuf> {
    let objs = objects_for(srcs, out_dir);
    parallel_for(srcs.len(), |i| {
        compile_macos_for(target, &srcs[i], &objs[i], flags)
    });
    objs
}

/// A small deterministic pseudo-random generator (64-bit LCG), so that
/// randomised tests reproduce from their seed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Checks an ad-hoc code signature: LC_CODE_SIGNATURE ends the file and
/// points at a SuperBlob whose CodeDirectory holds the SHA-256 of every
/// 4 KiB page before it. Panics with the first page that does not match.
pub fn check_adhoc_signature(bytes: &[u8]) {
    if let Err(e) = verify_adhoc_signature(bytes) {
        panic!("{e}");
    }
}

/// [`check_adhoc_signature`] that returns what is wrong (a truncated
/// header or blob included) instead of panicking.
pub fn verify_adhoc_signature(bytes: &[u8]) -> Result<(), String> {
    use sha2::Digest;
    let field = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| <[u8; 4]>::try_from(b).unwrap())
            .ok_or_else(|| format!("the file ends before offset {at:#x}"))
    };
    let u32le = |at: usize| field(at).map(|b| u32::from_le_bytes(b) as usize);
    let u32be = |at: usize| field(at).map(|b| u32::from_be_bytes(b) as usize);
    let expect = |what: &str, got: usize, want: usize| {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: {got:#x}, expected {want:#x}"))
        }
    };
    let (mut at, mut sig) = (32, None);
    for _ in 0..u32le(16)? {
        if u32le(at)? == 0x1d {
            sig = Some((u32le(at + 8)?, u32le(at + 12)?));
        }
        at += u32le(at + 4)?.max(8);
    }
    let (off, size) = sig.ok_or("no LC_CODE_SIGNATURE")?;
    expect(
        "the signature's end (it must end the file)",
        off + size,
        bytes.len(),
    )?;
    expect("SuperBlob magic", u32be(off)?, 0xfade_0cc0)?;
    let cd = off + u32be(off + 16)?;
    expect("CodeDirectory magic", u32be(cd)?, 0xfade_0c02)?;
    let hash_offset = u32be(cd + 16)?;
    let n_code_slots = u32be(cd + 28)?;
    let code_limit = u32be(cd + 32)?;
    expect("CodeDirectory codeLimit", code_limit, off)?;
    expect(
        "CodeDirectory nCodeSlots",
        n_code_slots,
        code_limit.div_ceil(4096),
    )?;
    for page in 0..n_code_slots {
        let data = &bytes[page * 4096..((page + 1) * 4096).min(code_limit)];
        let want = sha2::Sha256::digest(data);
        let slot = cd + hash_offset + page * 32;
        let have = bytes
            .get(slot..slot + 32)
            .ok_or_else(|| format!("page {page}'s hash slot is past the end of the file"))?;
        if have != want.as_slice() {
            return Err(format!("page {page} does not match its hash"));
        }
    }
    Ok(())
}

/// A small XFS filesystem made with reflinks, so that files on it can be
/// cloned (`FICLONE`), on a loop file in the scratch directory `name` and
/// mounted at [`ReflinkMount::dir`]; unmounted when dropped. Needs root,
/// loop devices and `mkfs.xfs` (xfsprogs: `scripts/setup.sh`); fails,
/// naming what is missing, without them.
pub struct ReflinkMount {
    pub dir: PathBuf,
}

impl ReflinkMount {
    pub fn new(name: &str) -> ReflinkMount {
        let scratch = scratch_dir(name);
        let image = scratch.join("xfs.img");
        // XFS's smallest filesystem; a sparse file, so it costs little.
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(320 << 20))
            .unwrap();
        let mkfs = require_tool("mkfs.xfs");
        check(
            Command::new(mkfs)
                .args(["-q", "-m", "reflink=1"])
                .arg(&image),
        );
        let dir = scratch.join("mnt");
        std::fs::create_dir(&dir).unwrap();
        let o = capture(
            Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&dir),
        );
        assert_eq!(
            o.code,
            0,
            "cannot mount an XFS loop file at {} ({}): this test needs root and loop \
             devices, and xfsprogs from `{SETUP}`",
            dir.display(),
            o.stderr_str().trim()
        );
        ReflinkMount { dir }
    }
}

impl Drop for ReflinkMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}
