//! `machlink-client ARGS...`: `machlink ARGS...` for resident mode, in a
//! process that starts in a tenth of the time.
//!
//! Why: with a warm server (`machlink --serve SOCKET`), an incremental
//! relink costs a few milliseconds, and a `machlink` process that only
//! hands its command over still pays for starting a large glibc program
//! (about 0.7 ms here: the dynamic loader, glibc's start, the binary's
//! pages). This client is small and, on Linux, built static against musl
//! (`scripts/build-client.sh`), which starts in well under 0.1 ms.
//!
//! It behaves exactly as `machlink ARGS...` with the same environment:
//! with `MACHLINK_SERVER=SOCKET` and a server answering there, the server
//! runs the command (same protocol, crate `serve-wire`) and the client
//! exits with its status; in every other case it becomes machlink
//! (`exec`, same arguments and environment), which links in this very
//! process. A server that ends without an answer gets machlink's warning
//! first; the linker then finishes or discards the journal as usual.
//!
//! The machlink it runs is `MACHLINK_CLIENT_FALLBACK` when set, else the
//! `machlink` beside this executable, else, for cargo's layout of a build
//! for another target (`target/TRIPLE/PROFILE/machlink-client`), the
//! `machlink` of `target/PROFILE/`.

use serve_wire::{Forwarded, SERVER_VAR};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The variable that names the machlink to run when no server answers.
const FALLBACK_VAR: &str = "MACHLINK_CLIENT_FALLBACK";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(status) = served(args.get(1..).unwrap_or_default()) {
        // Ends here, without freeing what it allocated one block at a
        // time: the exit frees it at once, and the build waits for it.
        std::process::exit(i32::from(status));
    }
    exec_machlink(&args)
}

/// The exit status of the command when a server ran it; `None` when
/// machlink must run it in this process.
fn served(args: &[OsString]) -> Option<u8> {
    let socket = std::env::var_os(SERVER_VAR).filter(|s| !s.is_empty())?;
    // `--serve` is machlink's own business, whatever the environment says.
    if args.first().is_some_and(|a| a == "--serve") {
        return None;
    }
    // Arguments that are not UTF-8 get machlink's own answer to them.
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    let socket = Path::new(&socket);
    match serve_wire::forward(socket, &args) {
        Forwarded::Answered(status) => Some(status),
        Forwarded::NotSent => None,
        Forwarded::Died(e) => {
            say_err(&serve_wire::died_message(socket, &e));
            None
        }
    }
}

/// Becomes machlink with the same arguments (the program name included)
/// and environment; returns only when that fails. `MACHLINK_SERVER` is
/// left out: this process already asked the server, and machlink must link
/// here rather than ask it (and warn) a second time.
fn exec_machlink(args: &[OsString]) -> ExitCode {
    let machlink = match machlink_path() {
        Ok(p) => p,
        Err(e) => {
            say_err(&format!("machlink-client: {e}"));
            return ExitCode::from(127);
        }
    };
    let mut cmd = Command::new(&machlink);
    if let Some((name, rest)) = args.split_first() {
        cmd.arg0(name).args(rest);
    }
    let e = cmd.env_remove(SERVER_VAR).exec();
    say_err(&format!(
        "machlink-client: cannot run {}: {e} (set {FALLBACK_VAR} to machlink's path)",
        machlink.display()
    ));
    ExitCode::from(127)
}

/// The machlink to run (see the module's comment), never this client
/// itself: without `MACHLINK_SERVER` it would run itself forever.
fn machlink_path() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let path = match std::env::var_os(FALLBACK_VAR).filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => beside(&exe).ok_or_else(|| {
            format!(
                "no machlink beside {} to link without a server (set {FALLBACK_VAR} to its path)",
                exe.display()
            )
        })?,
    };
    if is_same_file(&path, &exe) {
        return Err(format!(
            "{} is this client, not machlink (set {FALLBACK_VAR} to machlink's path)",
            path.display()
        ));
    }
    Ok(path)
}

/// `machlink` beside `exe`, or in cargo's host directory for `exe`'s
/// profile when `exe` was built for another target.
fn beside(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    let here = dir.join("machlink");
    if here.is_file() {
        return Some(here);
    }
    let profile = dir.file_name()?;
    let host = dir.parent()?.parent()?.join(profile).join("machlink");
    host.is_file().then_some(host)
}

fn is_same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Writes a line to stderr; a closed stderr leaves nowhere to say it.
fn say_err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
