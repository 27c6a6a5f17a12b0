//! Sockets: macOS's `struct sockaddr` starts with a length byte and a
//! one-byte family (Linux's family is a u16), `AF_INET6` is 30 (Linux 10),
//! `struct addrinfo` has `ai_canonname` before `ai_addr` (Linux the other
//! way round), `SOL_SOCKET` is 0xffff with its own option numbers, and
//! several `MSG_*`, `AI_*` and `EAI_*` values differ. Rust's `std::net`
//! (and anything else that opens a socket) goes through these calls.

use std::ffi::{c_char, c_int, c_void};

const MAC_AF_INET6: c_int = 30;

/// macOS address family -> Linux (the others agree: AF_UNIX 1, AF_INET 2).
fn linux_family(mac: c_int) -> c_int {
    if mac == MAC_AF_INET6 {
        libc::AF_INET6
    } else {
        mac
    }
}

fn mac_family(linux: c_int) -> c_int {
    if linux == libc::AF_INET6 {
        MAC_AF_INET6
    } else {
        linux
    }
}

/// A Linux socket address big enough for any family.
type Storage = libc::sockaddr_storage;

/// Copies the program's macOS sockaddr into Linux's layout; returns the
/// Linux length. Only the header differs: { len: u8, family: u8 } against
/// { family: u16 }; a `sockaddr_un` path is 104 bytes on macOS, 108 here.
unsafe fn to_linux(addr: *const u8, len: libc::socklen_t, out: &mut Storage) -> libc::socklen_t {
    let len = (len as usize).min(std::mem::size_of::<Storage>());
    if addr.is_null() || len < 2 {
        return len as libc::socklen_t;
    }
    let out_bytes = out as *mut Storage as *mut u8;
    std::ptr::write_bytes(out_bytes, 0, std::mem::size_of::<Storage>());
    std::ptr::copy_nonoverlapping(addr.add(2), out_bytes.add(2), len - 2);
    out.ss_family = linux_family(c_int::from(*addr.add(1))) as libc::sa_family_t;
    len as libc::socklen_t
}

/// Copies a Linux sockaddr of `len` bytes out in macOS's layout, truncated
/// to the program's buffer as the kernel does; `*out_len` gets the full
/// length.
unsafe fn to_mac(
    addr: &Storage,
    len: libc::socklen_t,
    out: *mut u8,
    out_len: *mut libc::socklen_t,
) {
    if out.is_null() || out_len.is_null() {
        return;
    }
    let mut mac = [0u8; std::mem::size_of::<Storage>()];
    let len = (len as usize).min(mac.len());
    let bytes = addr as *const Storage as *const u8;
    std::ptr::copy_nonoverlapping(bytes, mac.as_mut_ptr(), len);
    mac[0] = len.min(255) as u8;
    mac[1] = mac_family(c_int::from(addr.ss_family)) as u8;
    let room = *out_len as usize;
    std::ptr::copy_nonoverlapping(mac.as_ptr(), out, room.min(len));
    *out_len = len as libc::socklen_t;
}

unsafe extern "C" fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int {
    libc::socket(linux_family(domain), kind, protocol)
}

unsafe extern "C" fn socketpair(
    domain: c_int,
    kind: c_int,
    protocol: c_int,
    fds: *mut c_int,
) -> c_int {
    libc::socketpair(linux_family(domain), kind, protocol, fds)
}

unsafe extern "C" fn bind(fd: c_int, addr: *const u8, len: libc::socklen_t) -> c_int {
    let mut s: Storage = std::mem::zeroed();
    let len = to_linux(addr, len, &mut s);
    libc::bind(fd, (&raw const s).cast(), len)
}

unsafe extern "C" fn connect(fd: c_int, addr: *const u8, len: libc::socklen_t) -> c_int {
    let mut s: Storage = std::mem::zeroed();
    let len = to_linux(addr, len, &mut s);
    libc::connect(fd, (&raw const s).cast(), len)
}

/// The shape of `accept`, `getsockname` and `getpeername`: the kernel
/// writes an address, converted on its way out.
unsafe fn address_out(
    out: *mut u8,
    out_len: *mut libc::socklen_t,
    call: impl FnOnce(*mut libc::sockaddr, *mut libc::socklen_t) -> c_int,
) -> c_int {
    let mut s: Storage = std::mem::zeroed();
    let mut len = std::mem::size_of::<Storage>() as libc::socklen_t;
    let rc = if out.is_null() {
        call(std::ptr::null_mut(), std::ptr::null_mut())
    } else {
        call((&raw mut s).cast(), &mut len)
    };
    if rc >= 0 {
        to_mac(&s, len, out, out_len);
    }
    rc
}

unsafe extern "C" fn accept(fd: c_int, addr: *mut u8, len: *mut libc::socklen_t) -> c_int {
    address_out(addr, len, |a, l| libc::accept(fd, a, l))
}

unsafe extern "C" fn getsockname(fd: c_int, addr: *mut u8, len: *mut libc::socklen_t) -> c_int {
    address_out(addr, len, |a, l| libc::getsockname(fd, a, l))
}

unsafe extern "C" fn getpeername(fd: c_int, addr: *mut u8, len: *mut libc::socklen_t) -> c_int {
    address_out(addr, len, |a, l| libc::getpeername(fd, a, l))
}

/// macOS `MSG_*` bits and Linux's (OOB, PEEK, DONTROUTE agree).
const MSG_FLAGS: &[(c_int, c_int)] = &[
    (0x1, libc::MSG_OOB),
    (0x2, libc::MSG_PEEK),
    (0x4, libc::MSG_DONTROUTE),
    (0x10, libc::MSG_TRUNC),
    (0x20, libc::MSG_CTRUNC),
    (0x40, libc::MSG_WAITALL),
    (0x80, libc::MSG_DONTWAIT),
    (0x80000, libc::MSG_NOSIGNAL),
];

fn msg_flags(mac: c_int) -> c_int {
    MSG_FLAGS
        .iter()
        .filter(|(m, _)| mac & m != 0)
        .fold(0, |acc, (_, l)| acc | l)
}

unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize {
    libc::send(fd, buf, len, msg_flags(flags))
}

unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize {
    libc::recv(fd, buf, len, msg_flags(flags))
}

unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    addr: *const u8,
    addr_len: libc::socklen_t,
) -> isize {
    let mut s: Storage = std::mem::zeroed();
    let (a, l) = if addr.is_null() {
        (std::ptr::null(), 0)
    } else {
        let l = to_linux(addr, addr_len, &mut s);
        ((&raw const s).cast(), l)
    };
    libc::sendto(fd, buf, len, msg_flags(flags), a, l)
}

unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    addr: *mut u8,
    addr_len: *mut libc::socklen_t,
) -> isize {
    let mut n = 0;
    address_out(addr, addr_len, |a, l| {
        n = libc::recvfrom(fd, buf, len, msg_flags(flags), a, l);
        n.clamp(-1, 0) as c_int
    });
    n
}

const MAC_SOL_SOCKET: c_int = 0xffff;
/// SO_NOSIGPIPE: Linux has no such option (MSG_NOSIGNAL per call instead;
/// Rust ignores SIGPIPE anyway): accepted and ignored.
const MAC_SO_NOSIGPIPE: c_int = 0x1022;
const MAC_SO_SNDTIMEO: c_int = 0x1005;
const MAC_SO_RCVTIMEO: c_int = 0x1006;
const MAC_SO_ERROR: c_int = 0x1007;

/// (level, macOS option) -> (Linux level, Linux option).
fn sockopt(level: c_int, name: c_int) -> Option<(c_int, c_int)> {
    let linux = match (level, name) {
        (MAC_SOL_SOCKET, n) => (
            libc::SOL_SOCKET,
            match n {
                0x1 => libc::SO_DEBUG,
                0x2 => libc::SO_ACCEPTCONN,
                0x4 => libc::SO_REUSEADDR,
                0x8 => libc::SO_KEEPALIVE,
                0x10 => libc::SO_DONTROUTE,
                0x20 => libc::SO_BROADCAST,
                0x80 | 0x1080 => libc::SO_LINGER,
                0x100 => libc::SO_OOBINLINE,
                0x200 => libc::SO_REUSEPORT,
                0x1001 => libc::SO_SNDBUF,
                0x1002 => libc::SO_RCVBUF,
                0x1003 => libc::SO_SNDLOWAT,
                0x1004 => libc::SO_RCVLOWAT,
                MAC_SO_SNDTIMEO => libc::SO_SNDTIMEO,
                MAC_SO_RCVTIMEO => libc::SO_RCVTIMEO,
                MAC_SO_ERROR => libc::SO_ERROR,
                0x1008 => libc::SO_TYPE,
                _ => return None,
            },
        ),
        (libc::IPPROTO_IP, n) => (
            libc::IPPROTO_IP,
            match n {
                2 => libc::IP_HDRINCL,
                3 => libc::IP_TOS,
                4 => libc::IP_TTL,
                9 => libc::IP_MULTICAST_IF,
                10 => libc::IP_MULTICAST_TTL,
                11 => libc::IP_MULTICAST_LOOP,
                12 => libc::IP_ADD_MEMBERSHIP,
                13 => libc::IP_DROP_MEMBERSHIP,
                _ => return None,
            },
        ),
        (libc::IPPROTO_IPV6, n) => (
            libc::IPPROTO_IPV6,
            match n {
                4 => libc::IPV6_UNICAST_HOPS,
                9 => libc::IPV6_MULTICAST_IF,
                10 => libc::IPV6_MULTICAST_HOPS,
                11 => libc::IPV6_MULTICAST_LOOP,
                12 => libc::IPV6_ADD_MEMBERSHIP,
                13 => libc::IPV6_DROP_MEMBERSHIP,
                27 => libc::IPV6_V6ONLY,
                _ => return None,
            },
        ),
        (libc::IPPROTO_TCP, n) => (
            libc::IPPROTO_TCP,
            match n {
                0x1 => libc::TCP_NODELAY,
                0x2 => libc::TCP_MAXSEG,
                0x10 => libc::TCP_KEEPIDLE,
                0x101 => libc::TCP_KEEPINTVL,
                0x102 => libc::TCP_KEEPCNT,
                _ => return None,
            },
        ),
        _ => return None,
    };
    Some(linux)
}

/// macOS's `struct timeval` is { long, int } (16 bytes with padding);
/// glibc's { long, long } reads the padding as the high half.
#[repr(C)]
#[derive(Clone, Copy)]
struct MacTimeval {
    sec: i64,
    usec: i32,
}

fn enoprotoopt() -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = libc::ENOPROTOOPT };
    -1
}

unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: libc::socklen_t,
) -> c_int {
    if (level, name) == (MAC_SOL_SOCKET, MAC_SO_NOSIGPIPE) {
        return 0;
    }
    let Some((l, n)) = sockopt(level, name) else {
        return enoprotoopt();
    };
    if level == MAC_SOL_SOCKET && matches!(name, MAC_SO_SNDTIMEO | MAC_SO_RCVTIMEO) {
        let tv = *value.cast::<MacTimeval>();
        let linux = libc::timeval {
            tv_sec: tv.sec,
            tv_usec: tv.usec.into(),
        };
        let size = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        return libc::setsockopt(fd, l, n, (&raw const linux).cast(), size);
    }
    libc::setsockopt(fd, l, n, value, len)
}

unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut libc::socklen_t,
) -> c_int {
    if (level, name) == (MAC_SOL_SOCKET, MAC_SO_NOSIGPIPE) {
        *value.cast::<c_int>() = 1;
        *len = 4;
        return 0;
    }
    let Some((l, n)) = sockopt(level, name) else {
        return enoprotoopt();
    };
    if level == MAC_SOL_SOCKET && matches!(name, MAC_SO_SNDTIMEO | MAC_SO_RCVTIMEO) {
        let mut linux: libc::timeval = std::mem::zeroed();
        let mut size = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
        let rc = libc::getsockopt(fd, l, n, (&raw mut linux).cast(), &mut size);
        if rc == 0 {
            value.cast::<MacTimeval>().write_unaligned(MacTimeval {
                sec: linux.tv_sec,
                usec: linux.tv_usec as i32,
            });
            *len = std::mem::size_of::<MacTimeval>() as libc::socklen_t;
        }
        return rc;
    }
    let rc = libc::getsockopt(fd, l, n, value, len);
    if rc == 0 && level == MAC_SOL_SOCKET && name == MAC_SO_ERROR {
        // A pending error, in macOS's numbers like errno.
        let e = value.cast::<c_int>();
        *e = super::errno::to_mac(*e);
    }
    rc
}

/// macOS `struct addrinfo`.
#[repr(C)]
struct MacAddrinfo {
    flags: c_int,
    family: c_int,
    socktype: c_int,
    protocol: c_int,
    addrlen: libc::socklen_t,
    canonname: *mut c_char,
    addr: *mut u8,
    next: *mut MacAddrinfo,
}

/// macOS `AI_*` bits and Linux's (PASSIVE, CANONNAME, NUMERICHOST agree).
const AI_FLAGS: &[(c_int, c_int)] = &[
    (0x1, libc::AI_PASSIVE),
    (0x2, libc::AI_CANONNAME),
    (0x4, libc::AI_NUMERICHOST),
    (0x100, libc::AI_ALL),
    (0x400, libc::AI_ADDRCONFIG),
    (0x800, libc::AI_V4MAPPED),
    (0x1000, libc::AI_NUMERICSERV),
];

/// macOS `EAI_*` codes (positive) and glibc's (negative).
const EAI_CODES: &[(c_int, c_int)] = &[
    (2, libc::EAI_AGAIN),
    (3, libc::EAI_BADFLAGS),
    (4, libc::EAI_FAIL),
    (5, libc::EAI_FAMILY),
    (6, libc::EAI_MEMORY),
    (7, libc::EAI_NODATA),
    (8, libc::EAI_NONAME),
    (9, libc::EAI_SERVICE),
    (10, libc::EAI_SOCKTYPE),
    (11, libc::EAI_SYSTEM),
    (14, libc::EAI_OVERFLOW),
];

/// One macOS result node with its address and name in the same block, so
/// `freeaddrinfo` frees each node with one `free`.
unsafe fn mac_node(ai: &libc::addrinfo) -> *mut MacAddrinfo {
    let name = if ai.ai_canonname.is_null() {
        &[][..]
    } else {
        std::ffi::CStr::from_ptr(ai.ai_canonname).to_bytes_with_nul()
    };
    let node_size = std::mem::size_of::<MacAddrinfo>();
    let addr_size = std::mem::size_of::<Storage>();
    let block = libc::calloc(1, node_size + addr_size + name.len()).cast::<u8>();
    if block.is_null() {
        return std::ptr::null_mut();
    }
    let addr = block.add(node_size);
    let mut linux: Storage = std::mem::zeroed();
    let len = (ai.ai_addrlen as usize).min(addr_size);
    std::ptr::copy_nonoverlapping(ai.ai_addr.cast::<u8>(), (&raw mut linux).cast::<u8>(), len);
    let mut mac_len = addr_size as libc::socklen_t;
    to_mac(&linux, len as libc::socklen_t, addr, &mut mac_len);
    let canonname = if name.is_empty() {
        std::ptr::null_mut()
    } else {
        let p = addr.add(addr_size);
        std::ptr::copy_nonoverlapping(name.as_ptr(), p, name.len());
        p.cast()
    };
    let node = block.cast::<MacAddrinfo>();
    node.write(MacAddrinfo {
        flags: ai.ai_flags,
        family: mac_family(ai.ai_family),
        socktype: ai.ai_socktype,
        protocol: ai.ai_protocol,
        addrlen: mac_len,
        canonname,
        addr,
        next: std::ptr::null_mut(),
    });
    node
}

unsafe extern "C" fn freeaddrinfo(mut ai: *mut MacAddrinfo) {
    while !ai.is_null() {
        let next = (*ai).next;
        libc::free(ai.cast());
        ai = next;
    }
}

unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const MacAddrinfo,
    res: *mut *mut MacAddrinfo,
) -> c_int {
    let mut linux_hints: libc::addrinfo = std::mem::zeroed();
    if !hints.is_null() {
        let h = &*hints;
        linux_hints.ai_flags = AI_FLAGS
            .iter()
            .filter(|(m, _)| h.flags & m != 0)
            .fold(0, |acc, (_, l)| acc | l);
        linux_hints.ai_family = linux_family(h.family);
        linux_hints.ai_socktype = h.socktype;
        linux_hints.ai_protocol = h.protocol;
    }
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    let rc = libc::getaddrinfo(
        node,
        service,
        if hints.is_null() {
            std::ptr::null()
        } else {
            &linux_hints
        },
        &mut list,
    );
    if rc != 0 {
        return EAI_CODES
            .iter()
            .find(|(_, l)| *l == rc)
            .map_or(4, |&(m, _)| m);
    }
    let mut head: *mut MacAddrinfo = std::ptr::null_mut();
    let mut tail: *mut *mut MacAddrinfo = &mut head;
    let mut ai = list;
    while !ai.is_null() {
        let node = mac_node(&*ai);
        if node.is_null() {
            freeaddrinfo(head);
            libc::freeaddrinfo(list);
            return 6; // EAI_MEMORY
        }
        *tail = node;
        tail = &raw mut (*node).next;
        ai = (*ai).ai_next;
    }
    libc::freeaddrinfo(list);
    *res = head;
    0
}

unsafe extern "C" fn gai_strerror(code: c_int) -> *const c_char {
    let linux = EAI_CODES
        .iter()
        .find(|(m, _)| *m == code)
        .map_or(code, |&(_, l)| l);
    libc::gai_strerror(linux)
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_socket", socket as *const () as usize),
        ("_socketpair", socketpair as *const () as usize),
        ("_bind", bind as *const () as usize),
        ("_connect", connect as *const () as usize),
        ("_connect$NOCANCEL", connect as *const () as usize),
        ("_accept", accept as *const () as usize),
        ("_accept$NOCANCEL", accept as *const () as usize),
        ("_getsockname", getsockname as *const () as usize),
        ("_getpeername", getpeername as *const () as usize),
        ("_send", send as *const () as usize),
        ("_recv", recv as *const () as usize),
        ("_sendto", sendto as *const () as usize),
        ("_sendto$NOCANCEL", sendto as *const () as usize),
        ("_recvfrom", recvfrom as *const () as usize),
        ("_recvfrom$NOCANCEL", recvfrom as *const () as usize),
        ("_setsockopt", setsockopt as *const () as usize),
        ("_getsockopt", getsockopt as *const () as usize),
        ("_getaddrinfo", getaddrinfo as *const () as usize),
        ("_freeaddrinfo", freeaddrinfo as *const () as usize),
        ("_gai_strerror", gai_strerror as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_connection_through_macos_layouts() {
        // SAFETY: the structures are macOS-shaped buffers of the right size.
        unsafe {
            let hints = MacAddrinfo {
                flags: 0x4 | 0x1000, // NUMERICHOST | NUMERICSERV
                family: 2,
                socktype: libc::SOCK_STREAM,
                protocol: 0,
                addrlen: 0,
                canonname: std::ptr::null_mut(),
                addr: std::ptr::null_mut(),
                next: std::ptr::null_mut(),
            };
            let mut res = std::ptr::null_mut();
            assert_eq!(
                getaddrinfo(c"127.0.0.1".as_ptr(), c"0".as_ptr(), &hints, &mut res),
                0
            );
            let ai = &*res;
            assert_eq!(
                (ai.family, ai.addrlen, *ai.addr, *ai.addr.add(1)),
                (2, 16, 16, 2)
            );
            let listener = socket(2, libc::SOCK_STREAM, 0);
            let one: c_int = 1;
            assert_eq!(
                setsockopt(listener, MAC_SOL_SOCKET, 0x4, (&raw const one).cast(), 4),
                0
            );
            assert_eq!(
                setsockopt(
                    listener,
                    MAC_SOL_SOCKET,
                    MAC_SO_NOSIGPIPE,
                    (&raw const one).cast(),
                    4
                ),
                0
            );
            assert_eq!(bind(listener, ai.addr, ai.addrlen), 0);
            assert_eq!(libc::listen(listener, 1), 0);
            let mut bound = [0u8; 128];
            let mut len = 128;
            assert_eq!(getsockname(listener, bound.as_mut_ptr(), &mut len), 0);
            assert_eq!((len, bound[0], bound[1]), (16, 16, 2));
            assert_ne!(
                u16::from_be_bytes([bound[2], bound[3]]),
                0,
                "a port was chosen"
            );
            let client = socket(2, libc::SOCK_STREAM, 0);
            assert_eq!(connect(client, bound.as_ptr(), len), 0);
            let mut peer = [0u8; 128];
            let mut peer_len = 128;
            let server = accept(listener, peer.as_mut_ptr(), &mut peer_len);
            assert!(server >= 0);
            assert_eq!((peer[1], &peer[4..8]), (2, &[127, 0, 0, 1][..]));
            assert_eq!(send(client, b"hi".as_ptr().cast(), 2, 0x80000), 2);
            let mut buf = [0u8; 2];
            assert_eq!(recv(server, buf.as_mut_ptr().cast(), 2, 0x40), 2);
            assert_eq!(&buf, b"hi");
            let mut err: c_int = -1;
            let mut elen = 4;
            assert_eq!(
                getsockopt(
                    client,
                    MAC_SOL_SOCKET,
                    MAC_SO_ERROR,
                    (&raw mut err).cast(),
                    &mut elen
                ),
                0
            );
            assert_eq!(err, 0);
            for fd in [client, server, listener] {
                libc::close(fd);
            }
            freeaddrinfo(res);
            assert_eq!(
                getaddrinfo(c"not a number".as_ptr(), std::ptr::null(), &hints, &mut res),
                8 // EAI_NONAME
            );
        }
    }
}
