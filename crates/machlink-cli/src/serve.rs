//! Resident mode: `machlink --serve SOCKET` stays running and links for
//! clients, and `MACHLINK_SERVER=SOCKET machlink ARGS...` hands its command
//! to that server instead of linking in its own, new process.
//!
//! Why: an incremental update costs milliseconds, and a fresh process adds
//! its own start (loading the binary and its libraries) and faults in
//! every page it uses again; the server keeps its allocator's memory, its
//! thread pool and its mappings warm from one link to the next, and the
//! incremental state it opened for an output, reused while the state's,
//! delta's and output's files are the ones it read
//! (`machlink::incremental::resident`). Each
//! request runs exactly the code a process would (`crate::run_args`):
//! the same lock, journal and recovery, so a server killed in the middle
//! of an update leaves what a killed process leaves, and the next run
//! (served or not) finishes or discards the journal.
//!
//! The protocol (crate `serve-wire`, shared with the small client
//! `machlink-client`): the client sends its command line, working
//! directory and standard input, output and error (as descriptors); the
//! server runs the command in that directory with its own output and
//! error on the client's, and answers with the exit status. Requests are
//! served one at a time, in the order they connect.
//!
//! A client that cannot reach the server (no socket, nobody listening)
//! links in its own process; one whose server ends without an answer
//! says so and links in its own process too (the journal makes that
//! safe). Environment variables of the client do not travel: the server
//! links with its own environment (machlink reads none for a link).

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::ExitCode;

pub use serve_wire::SERVER_VAR;

/// The client side: `Some(status)` when the server at `socket` ran the
/// command, `None` when this process should link itself (nobody listens,
/// or the server went away before answering).
pub fn forward(socket: &Path, args: &[String]) -> Option<ExitCode> {
    match serve_wire::forward(socket, args) {
        serve_wire::Forwarded::Answered(status) => Some(ExitCode::from(status)),
        serve_wire::Forwarded::NotSent => None,
        serve_wire::Forwarded::Died(e) => {
            say_err!("{}", serve_wire::died_message(socket, &e));
            None
        }
    }
}

/// Binds `socket`, replacing only a stale socket (one nobody answers on):
/// never another kind of file.
fn bind(socket: &Path) -> Result<UnixListener, String> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(socket) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "{}: exists and is not a socket (not replaced)",
                socket.display()
            ));
        }
        if UnixStream::connect(socket).is_ok() {
            return Err(format!(
                "{}: a server already listens there",
                socket.display()
            ));
        }
        std::fs::remove_file(socket)
            .map_err(|e| format!("{}: cannot remove a stale socket: {e}", socket.display()))?;
    }
    let listener = UnixListener::bind(socket)
        .map_err(|e| format!("{}: cannot listen: {e}", socket.display()))?;
    // Only this user may hand the server commands: they run with its rights.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("{}: cannot restrict the socket: {e}", socket.display()))?;
    Ok(listener)
}

/// `machlink --serve SOCKET`: serves clients until killed.
pub fn serve(socket: &Path, run: fn(Vec<String>) -> ExitCode) -> ExitCode {
    let listener = match bind(socket) {
        Ok(l) => l,
        Err(e) => {
            say_err!("machlink --serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let home = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            say_err!("machlink --serve: cannot read the working directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Requests keep what they opened for the next one (see
    // machlink::incremental::resident).
    machlink::incremental::resident::enable();
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        if let Err(e) = serve_one(&mut conn, run) {
            say_err!("machlink --serve: a request failed: {e}");
        }
        // The client has its answer: free what its request left.
        drop(conn);
        machlink::incremental::resident::collect_garbage();
        // The next request starts where the server started.
        let _ = std::env::set_current_dir(&home);
    }
    ExitCode::SUCCESS
}

/// Reads one request, runs it with the client's output and error, and
/// answers its status.
fn serve_one(conn: &mut UnixStream, run: fn(Vec<String>) -> ExitCode) -> Result<(), String> {
    let (req, fds) = serve_wire::read_request(conn)?;
    std::env::set_current_dir(&req.cwd).map_err(|e| format!("{}: {e}", req.cwd))?;
    let status = with_client_output(&fds[1], &fds[2], || {
        std::panic::catch_unwind(|| run(req.args)).unwrap_or(ExitCode::from(101))
    })
    .map_err(|e| format!("redirecting output: {e}"))?;
    serve_wire::answer(conn, crate::status_byte(status))
}

/// Runs `f` with file descriptors 1 and 2 on the client's, then puts the
/// server's back.
fn with_client_output<T>(
    out: &OwnedFd,
    err: &OwnedFd,
    f: impl FnOnce() -> T,
) -> std::io::Result<T> {
    // What the server itself left in stdout's buffer is not the client's.
    let _ = std::io::stdout().flush();
    let saved = [dup(1)?, dup(2)?];
    dup2(out.as_raw_fd(), 1)?;
    dup2(err.as_raw_fd(), 2)?;
    let result = f();
    let _ = std::io::stdout().flush();
    dup2(saved[0].as_raw_fd(), 1)?;
    dup2(saved[1].as_raw_fd(), 2)?;
    Ok(result)
}

fn dup(fd: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor of this process; the new one
    // is owned by the returned OwnedFd.
    match unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) } {
        -1 => Err(std::io::Error::last_os_error()),
        new => Ok(unsafe { OwnedFd::from_raw_fd(new) }),
    }
}

fn dup2(from: RawFd, to: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 between descriptors this process holds.
    match unsafe { libc::dup2(from, to) } {
        -1 => Err(std::io::Error::last_os_error()),
        _ => Ok(()),
    }
}
