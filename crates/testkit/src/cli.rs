//! Helpers shared by the modules of machlink-cli's test binary
//! (`crates/machlink-cli/tests/cli/`): compiling a C snippet, running an
//! output under macho-run, `machlink verify`, and the `-incremental -v`
//! command line, its `-v` line and its crash hook, and reading an output
//! with an LLVM tool.

use crate::{capture, compile_macos_for, machlink_command_for, workspace_bin, Outcome, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `src` to `dir/NAME.c` and compiles it with -O1 to `dir/NAME.o`
/// (x86_64).
pub fn compile(dir: &Path, name: &str, src: &str) -> PathBuf {
    compile_for(Target::X86_64, dir, name, src)
}

/// [`compile`] for `target`.
pub fn compile_for(target: Target, dir: &Path, name: &str, src: &str) -> PathBuf {
    compile_with_for(target, dir, name, src, &["-O1"])
}

/// [`compile`] with other compiler flags.
pub fn compile_with(dir: &Path, name: &str, src: &str, flags: &[&str]) -> PathBuf {
    compile_with_for(Target::X86_64, dir, name, src, flags)
}

/// [`compile_with`] for `target`.
pub fn compile_with_for(
    target: Target,
    dir: &Path,
    name: &str,
    src: &str,
    flags: &[&str],
) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    compile_macos_for(target, &c, &o, flags);
    o
}

/// Runs an output under macho-run.
pub fn macho_run(exe: &Path) -> Outcome {
    macho_run_with(exe, &[])
}

/// Runs an output under macho-run with extra environment variables (e.g.
/// `MACHO_RUN_FORCE_SLIDE`).
pub fn macho_run_with(exe: &Path, env: &[(&str, &str)]) -> Outcome {
    capture(
        Command::new(workspace_bin("macho-run"))
            .envs(env.iter().copied())
            .arg(exe),
    )
}

/// What an output prints under macho-run; it must exit 0.
pub fn run_ok(exe: &Path) -> String {
    let o = macho_run(exe);
    assert_eq!(
        o.code,
        0,
        "{} does not run: {}",
        exe.display(),
        o.stderr_str()
    );
    o.stdout_str()
}

/// `machlink verify EXE`.
pub fn machlink_verify(exe: &Path) -> Outcome {
    capture(
        Command::new(workspace_bin("machlink"))
            .arg("verify")
            .arg(exe),
    )
}

/// The machlink command line for an incremental x86_64 link with `-v`,
/// minus the objects.
pub fn incremental_command(out: &Path) -> Command {
    incremental_command_for(Target::X86_64, out)
}

/// [`incremental_command`] for `target`.
pub fn incremental_command_for(target: Target, out: &Path) -> Command {
    let mut cmd = machlink_command_for(target, out);
    cmd.args(["-incremental", "-v"]);
    cmd
}

/// The `-v` line about the incremental run ("" when there is none).
pub fn incremental_line(o: &Outcome) -> String {
    o.stderr_str()
        .lines()
        .find(|l| l.starts_with("machlink: incremental: "))
        .unwrap_or_default()
        .to_string()
}

/// The points of an update where machlink's crash hook can stop it (see
/// `fault` in crates/machlink/src/incremental/journal.rs), in order.
pub const CRASH_POINTS: [&str; 6] = [
    "journal",
    "after-journal",
    "delta",
    "before-patch",
    "mid-patch",
    "after-patch",
];

/// Runs `cmd` (an incremental link) with machlink's crash hook at `point`
/// (`MACHLINK_TEST_CRASH`: the run dies there, standing in for a crash or
/// kill -9) and checks that the hook fired.
pub fn interrupted(cmd: &mut Command, point: &str) -> Outcome {
    let o = capture(cmd.env("MACHLINK_TEST_CRASH", point));
    assert_ne!(
        o.code,
        0,
        "the crash hook at {point} did not fire: {}",
        o.stderr_str()
    );
    o
}

/// Whether an incremental output has an update to finish: a journal file
/// beside it not marked done (machlink keeps the file between updates and
/// overwrites it, so that syncing it needs no new file).
pub fn journal_pending(out: &Path) -> bool {
    let mut journal = out.as_os_str().to_os_string();
    journal.push(".machlink-journal");
    std::fs::read(journal).is_ok_and(|b| !b.starts_with(b"MLJRDONE"))
}

/// The stdout of an LLVM tool (`llvm-objdump-19`, `llvm-nm-19`, ...) run
/// with `args` on `file`; the test fails if it does.
pub fn tool(name: &str, args: &[&str], file: &Path) -> String {
    let o = capture(Command::new(crate::require_tool(name)).args(args).arg(file));
    assert_eq!(o.code, 0, "{name}: {}", o.stderr_str());
    o.stdout_str()
}

/// Builds `exe`'s .dSYM at `dsym` with dsymutil, which must succeed
/// without a word on stderr (a warning names an object whose debug
/// information it could not read); `what` says which in a failure.
pub fn dsymutil_quietly(exe: &Path, dsym: &Path, what: &str) {
    let o = capture(
        Command::new(crate::require_tool("dsymutil-19"))
            .arg(exe)
            .arg("-o")
            .arg(dsym),
    );
    assert!(
        o.code == 0 && o.stderr.is_empty(),
        "{what}: dsymutil: {}{}",
        o.stdout_str(),
        o.stderr_str()
    );
}

/// Links `objs` into `out` with machlink's usual executable command line
/// plus `extra`.
pub fn try_link(out: &Path, objs: &[&Path], extra: &[&str]) -> Outcome {
    capture(
        machlink_command_for(Target::X86_64, out)
            .args(extra)
            .args(objs),
    )
}

/// [`try_link`], which must succeed; returns `out`.
pub fn link_ok(out: &Path, objs: &[&Path], extra: &[&str]) -> PathBuf {
    let o = try_link(out, objs, extra);
    assert_eq!(o.code, 0, "link failed: {}", o.stderr_str());
    out.to_path_buf()
}

/// `llvm-objdump --macho --private-headers`: the mach header and the load
/// commands, as text.
pub fn private_headers(file: &Path) -> String {
    tool("llvm-objdump-19", &["--macho", "--private-headers"], file)
}

/// Asserts that `o` is a failed link whose message contains `what`.
pub fn fails_with(o: &Outcome, what: &str) {
    assert!(
        o.code == 1 && o.stderr_str().contains(what),
        "expected an error with '{what}', got {}: {}",
        o.code,
        o.stderr_str()
    );
}

/// A `machlink --serve` on `dir/machlink.sock` (with `env` in its
/// environment), stopped when dropped.
pub struct Server {
    child: std::process::Child,
    pub socket: PathBuf,
}

impl Server {
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let socket = dir.join("machlink.sock");
        let child = Command::new(workspace_bin("machlink"))
            .arg("--serve")
            .arg(&socket)
            .envs(env.iter().copied())
            .spawn()
            .expect("start machlink --serve");
        // Owned at once, so that a server that never answers is still
        // killed and reaped (by Drop) when the test fails.
        let server = Server { child, socket };
        for _ in 0..500 {
            if std::os::unix::net::UnixStream::connect(&server.socket).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!(
            "machlink --serve {} never answered",
            server.socket.display()
        );
    }

    /// Whether the server process is still running (now, without waiting).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Whether the server process has ended (within 5 s: its socket is
    /// closed while it exits, so a client can see its end before it is
    /// reaped).
    pub fn ended(&mut self) -> bool {
        for _ in 0..500 {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
