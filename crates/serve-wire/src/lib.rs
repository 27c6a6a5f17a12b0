//! The resident-mode protocol between a client (`MACHLINK_SERVER=SOCKET
//! machlink ARGS...`, or the small `machlink-client`) and a server
//! (`machlink --serve SOCKET`), in one place: both sides use this crate,
//! so they cannot drift apart.
//!
//! Over a Unix stream socket, the client sends its standard input, output
//! and error descriptors (`SCM_RIGHTS`) with a header (`MLSERVE1` and the
//! length of what follows, u32 little-endian), then its working directory
//! and arguments, each a length (u32 little-endian) and its UTF-8 bytes.
//! The server runs the command in that directory with its output and error
//! on the client's, and answers with the exit status, one byte.
//!
//! A client that cannot send its request (no socket, nobody listening, a
//! working directory that is not UTF-8) links in its own process,
//! silently; one whose server ends without an answer says so
//! ([`died_message`]) and links in its own process too (the journal makes
//! that safe).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The variable that names a server's socket to clients.
pub const SERVER_VAR: &str = "MACHLINK_SERVER";

const MAGIC: &[u8; 8] = b"MLSERVE1";
const HEADER_LEN: usize = 12;
/// The largest request accepted (a command line with a long -filelist
/// spelled out is far below it).
const MAX_REQUEST: u32 = 64 << 20;

/// A client's command: its working directory and arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub cwd: String,
    pub args: Vec<String>,
}

/// What became of a client's request.
#[derive(Debug)]
pub enum Forwarded {
    /// The server ran the command and answered this exit status.
    Answered(u8),
    /// Nothing was sent (no socket, nobody listening, a working directory
    /// that is not UTF-8): the client links itself, silently.
    NotSent,
    /// The server took the request and ended without an answer: the client
    /// says so ([`died_message`]) and links itself.
    Died(std::io::Error),
}

/// The client side: sends `args` (without the program name), the working
/// directory and descriptors 0, 1 and 2 to the server at `socket`, and
/// waits for its answer.
pub fn forward(socket: &Path, args: &[String]) -> Forwarded {
    let Ok(mut sock) = UnixStream::connect(socket) else {
        return Forwarded::NotSent;
    };
    let Some(cwd) = std::env::current_dir()
        .ok()
        .and_then(|d| d.into_os_string().into_string().ok())
    else {
        return Forwarded::NotSent;
    };
    let request = encode(&cwd, args);
    let mut status = [0u8; 1];
    match send_with_fds(&mut sock, &request, &[0, 1, 2]).and_then(|()| sock.read_exact(&mut status))
    {
        Ok(()) => Forwarded::Answered(status[0]),
        Err(e) => Forwarded::Died(e),
    }
}

/// What a client says on stderr when its server ended without answering.
pub fn died_message(socket: &Path, e: &std::io::Error) -> String {
    format!(
        "machlink: warning: the link server at {} ended without an answer ({e}); \
         linking in this process",
        socket.display()
    )
}

/// The whole request, header included: one buffer, so that the client
/// sends it with one `sendmsg` (the server reads the header first).
fn encode(cwd: &str, args: &[String]) -> Vec<u8> {
    let strings = std::iter::once(cwd).chain(args.iter().map(String::as_str));
    let body_len: usize = strings.clone().map(|s| 4 + s.len()).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + body_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    for s in strings {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out
}

/// The strings of a request's body (after its header).
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

/// The server side: reads one request and the client's standard input,
/// output and error.
pub fn read_request(conn: &mut UnixStream) -> Result<(Request, [OwnedFd; 3]), String> {
    let mut head = [0u8; HEADER_LEN];
    let fds = recv_with_fds::<3>(conn, &mut head).map_err(|e| format!("reading: {e}"))?;
    let fds: [OwnedFd; 3] = match fds.try_into() {
        Ok(fds) if &head[..8] == MAGIC => fds,
        _ => return Err("not a machlink client (bad header or descriptors)".into()),
    };
    let len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    if len > MAX_REQUEST {
        return Err(format!("a request of {len} bytes"));
    }
    let mut body = vec![0u8; len as usize];
    conn.read_exact(&mut body)
        .map_err(|e| format!("reading: {e}"))?;
    Ok((decode(&body)?, fds))
}

/// The server's answer: the command's exit status.
pub fn answer(conn: &mut UnixStream, status: u8) -> Result<(), String> {
    conn.write_all(&[status])
        .map_err(|e| format!("answering: {e}"))
}

/// Sends `bytes` with the descriptors `fds` attached (`SCM_RIGHTS`) to the
/// first of them.
fn send_with_fds(sock: &mut UnixStream, bytes: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
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
    let sent = unsafe {
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
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // A blocking stream socket sends it all, unless a signal cut it short.
    sock.write_all(&bytes[sent as usize..])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_errors() {
        let args = vec!["-o".to_string(), "a b".to_string(), String::new()];
        let request = encode("/tmp/x", &args);
        assert_eq!(&request[..8], MAGIC);
        let body = &request[HEADER_LEN..];
        assert_eq!(
            u32::from_le_bytes(request[8..12].try_into().unwrap()) as usize,
            body.len()
        );
        let req = decode(body).unwrap();
        assert_eq!(req.cwd, "/tmp/x");
        assert_eq!(req.args, args);
        for cut in 1..body.len() {
            // Every prefix either decodes to fewer strings or is an error.
            if let Ok(r) = decode(&body[..cut]) {
                assert!(r.args.len() < args.len());
            }
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[255, 255, 255, 255, b'x']).is_err());
    }

    /// A request crosses a socket pair whole, with its three descriptors,
    /// and the answer comes back.
    #[test]
    fn a_request_crosses_a_socket_with_its_descriptors() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        let args = vec!["-v".to_string(); 20_000];
        let request = encode("/", &args);
        let sender = std::thread::spawn(move || {
            send_with_fds(&mut client, &request, &[0, 1, 2]).unwrap();
            let mut status = [0u8];
            client.read_exact(&mut status).unwrap();
            status[0]
        });
        let (req, fds) = read_request(&mut server).unwrap();
        assert_eq!(req.cwd, "/");
        assert_eq!(req.args, args);
        assert!(fds.iter().all(|fd| fd.as_raw_fd() > 2));
        answer(&mut server, 7).unwrap();
        assert_eq!(sender.join().unwrap(), 7);
    }

    #[test]
    fn a_request_without_descriptors_is_refused() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        client.write_all(&encode("/", &[])).unwrap();
        let err = read_request(&mut server).unwrap_err();
        assert!(err.contains("not a machlink client"), "{err}");
    }
}
