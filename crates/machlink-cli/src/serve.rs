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
//! The protocol, over a Unix stream socket: the client sends its standard
//! input, output and error descriptors (`SCM_RIGHTS`) with a header
//! (`MLSERVE1` and the length of what follows), then its working
//! directory and arguments, each a length and its bytes; the server runs
//! the command in that directory with its own output and error on the
//! client's, and answers with the exit status, one byte. Requests are
//! served one at a time, in the order they connect.
//!
//! A client that cannot reach the server (no socket, nobody listening)
//! links in its own process; one whose server ends without an answer
//! says so and links in its own process too (the journal makes that
//! safe). Environment variables of the client do not travel: the server
//! links with its own environment (machlink reads none for a link).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::ExitCode;

/// The variable that names a server's socket to clients.
pub const SERVER_VAR: &str = "MACHLINK_SERVER";

const MAGIC: &[u8; 8] = b"MLSERVE1";
/// The largest request accepted (a command line with a long -filelist
/// spelled out is far below it).
const MAX_REQUEST: u32 = 64 << 20;

/// A client's command: its working directory and arguments.
struct Request {
    cwd: String,
    args: Vec<String>,
}

fn encode(cwd: &str, args: &[String]) -> Vec<u8> {
    let mut body = Vec::new();
    for s in std::iter::once(cwd).chain(args.iter().map(String::as_str)) {
        body.extend_from_slice(&(s.len() as u32).to_le_bytes());
        body.extend_from_slice(s.as_bytes());
    }
    body
}

fn decode(body: &[u8]) -> Result<Request, String> {
    let mut strings = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or("a string's length is cut short")?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > tail.len() {
            return Err(format!(
                "a string of {len} bytes where {} are left",
                tail.len()
            ));
        }
        let s = std::str::from_utf8(&tail[..len]).map_err(|e| format!("not UTF-8: {e}"))?;
        strings.push(s.to_owned());
        rest = &tail[len..];
    }
    let mut strings = strings.into_iter();
    let cwd = strings.next().ok_or("no working directory")?;
    Ok(Request {
        cwd,
        args: strings.collect(),
    })
}

/// Sends `bytes` with the descriptors `fds` attached (`SCM_RIGHTS`).
fn send_with_fds(sock: &UnixStream, bytes: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds);
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; every pointer set below outlives the
    // sendmsg call, and the control buffer holds CMSG_SPACE bytes, aligned.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr() as *const u8, libc::CMSG_DATA(cmsg), fd_bytes);
        if libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) != bytes.len() as isize {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Receives exactly `buf.len()` bytes, the first read with up to `N`
/// descriptors attached; returns the descriptors.
fn recv_with_fds<const N: usize>(
    sock: &mut UnixStream,
    buf: &mut [u8],
) -> std::io::Result<Vec<OwnedFd>> {
    let fd_bytes = N * std::mem::size_of::<RawFd>();
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut fds = Vec::new();
    // SAFETY: as in send_with_fds; the kernel writes at most msg_controllen
    // bytes of control data, and each descriptor it passed is taken into
    // an OwnedFd exactly once.
    let got = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let got = libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if got < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned((data as *const RawFd).add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        got as usize
    };
    if got == 0 && !buf.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    sock.read_exact(&mut buf[got..])?;
    Ok(fds)
}

/// The client side: `Some(status)` when the server at `socket` ran the
/// command, `None` when this process should link itself (nobody listens,
/// or the server went away before answering).
pub fn forward(socket: &Path, args: &[String]) -> Option<ExitCode> {
    let mut sock = UnixStream::connect(socket).ok()?;
    let cwd = std::env::current_dir().ok()?;
    let body = encode(cwd.to_str()?, args);
    let mut head = Vec::with_capacity(12);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let sent = send_with_fds(&sock, &head, &[0, 1, 2]).and_then(|()| sock.write_all(&body));
    let mut status = [0u8; 1];
    match sent.and_then(|()| sock.read_exact(&mut status)) {
        Ok(()) => Some(ExitCode::from(status[0])),
        Err(e) => {
            say_err!(
                "machlink: warning: the link server at {} ended without an answer ({e}); \
                 linking in this process",
                socket.display()
            );
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
    let mut head = [0u8; 12];
    let fds = recv_with_fds::<3>(conn, &mut head).map_err(|e| format!("reading: {e}"))?;
    if &head[..8] != MAGIC || fds.len() != 3 {
        return Err("not a machlink client (bad header or descriptors)".into());
    }
    let len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if len > MAX_REQUEST {
        return Err(format!("a request of {len} bytes"));
    }
    let mut body = vec![0u8; len as usize];
    conn.read_exact(&mut body)
        .map_err(|e| format!("reading: {e}"))?;
    let req = decode(&body)?;
    std::env::set_current_dir(&req.cwd).map_err(|e| format!("{}: {e}", req.cwd))?;
    let status = with_client_output(&fds[1], &fds[2], || {
        std::panic::catch_unwind(|| run(req.args)).unwrap_or(ExitCode::from(101))
    })
    .map_err(|e| format!("redirecting output: {e}"))?;
    conn.write_all(&[crate::status_byte(status)])
        .map_err(|e| format!("answering: {e}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_errors() {
        let args = vec!["-o".to_string(), "a b".to_string(), String::new()];
        let req = decode(&encode("/tmp/x", &args)).unwrap();
        assert_eq!(req.cwd, "/tmp/x");
        assert_eq!(req.args, args);
        let body = encode("/tmp/x", &args);
        for cut in 1..body.len() {
            // Every prefix either decodes to fewer strings or is an error.
            if let Ok(r) = decode(&body[..cut]) {
                assert!(r.args.len() < args.len());
            }
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[255, 255, 255, 255, b'x']).is_err());
    }
}
