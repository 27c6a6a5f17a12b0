//! Resident mode: `machlink --serve SOCKET` links for clients that set
//! `MACHLINK_SERVER=SOCKET`. A served link must be the link the client's
//! own process would have made (same bytes, same messages on the client's
//! stdout and stderr, same exit status, paths taken from the client's
//! working directory), and a server that dies in the middle of an update
//! must leave what a killed process leaves: the client links itself and
//! the journal is recovered.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use testkit::cli::{compile, incremental_line, machlink_verify, run_ok};
use testkit::{capture, machlink_command, scratch_dir, workspace_bin};

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int main(void) { printf("f(3)=%d\n", f(3)); return 0; }
"#;

fn lib(k: i32) -> String {
    format!("__attribute__((noinline)) int f(int x) {{ return x * {k} + 1; }}\n")
}

/// A server on `dir/machlink.sock` (with `env` in its environment), stopped
/// when dropped.
struct Server {
    child: Child,
    socket: PathBuf,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
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

    /// Whether the server process has ended (within 5 s: its socket is
    /// closed while it exits, so a client can see its end before it is
    /// reaped).
    fn ended(&mut self) -> bool {
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

/// The machlink command for `out`, sent to `server`.
fn served(server: &Server, out: &Path) -> Command {
    let mut cmd = machlink_command(out);
    cmd.env("MACHLINK_SERVER", &server.socket);
    cmd
}

#[test]
fn a_served_link_is_the_clients_own_link() {
    let dir = scratch_dir("serve_same_link");
    let main_o = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(2));
    let server = Server::start(&dir, &[]);
    for sub in ["served", "local"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Relative paths: the server must resolve them in the client's
    // working directory. `-t` lists the inputs on stdout.
    let mut cmd = served(&server, Path::new("served/prog"));
    cmd.current_dir(&dir).args(["-t", "main.o", "lib.o"]);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 0, "served link failed: {}", o.stderr_str());
    assert!(
        o.stdout_str().contains("main.o") && o.stdout_str().contains("lib.o"),
        "-t's list did not reach the client's stdout: {:?}",
        o.stdout_str()
    );
    let mut cmd = machlink_command(Path::new("local/prog"));
    cmd.current_dir(&dir).args(["-t", "main.o", "lib.o"]);
    let local = capture(&mut cmd);
    assert_eq!(local.code, 0, "{}", local.stderr_str());
    assert_eq!(
        std::fs::read(dir.join("served/prog")).unwrap(),
        std::fs::read(dir.join("local/prog")).unwrap(),
        "the served output differs from the local one"
    );
    assert_eq!(run_ok(&dir.join("served/prog")), "f(3)=7\n");
    // Errors: the same message on the client's stderr, the same status.
    let bad = compile(&dir, "bad", "int g(int); int main(void) { return g(1); }\n");
    let mut cmd = served(&server, &dir.join("bad"));
    cmd.arg(&bad);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    assert!(
        o.stderr_str().contains("undefined symbol: _g"),
        "the error did not reach the client: {}",
        o.stderr_str()
    );
    assert!(!dir.join("bad").exists(), "a failed link left an output");
    let _ = (main_o, lib_o);
}

#[test]
fn served_incremental_updates_and_a_server_killed_mid_update() {
    let dir = scratch_dir("serve_incremental");
    let main_o = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(2));
    let out = dir.join("prog");
    let link = |server: &Server| {
        let mut cmd = served(server, &out);
        cmd.args(["-incremental", "-v"]).arg(&main_o).arg(&lib_o);
        capture(&mut cmd)
    };
    let server = Server::start(&dir, &[]);
    let o = link(&server);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(
        incremental_line(&o).contains("full link"),
        "{}",
        o.stderr_str()
    );
    compile(&dir, "lib", &lib(5));
    let o = link(&server);
    assert!(
        incremental_line(&o).contains("updated 1 object"),
        "expected a served update: {}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "f(3)=16\n");
    let o = link(&server);
    assert!(
        incremental_line(&o).contains("nothing changed"),
        "{}",
        o.stderr_str()
    );
    drop(server);

    // A server that dies between patches (the crash hook aborts it): the
    // client gets no answer, says so, and links itself, finishing or
    // discarding the journal first.
    let mut dying = Server::start(&dir, &[("MACHLINK_TEST_CRASH", "mid-patch")]);
    compile(&dir, "lib", &lib(9));
    let o = link(&dying);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(
        o.stderr_str().contains("ended without an answer"),
        "the client did not notice its server's death: {}",
        o.stderr_str()
    );
    assert!(dying.ended(), "the crash hook did not stop the server");
    assert_eq!(run_ok(&out), "f(3)=28\n");
    let v = machlink_verify(&out);
    assert_eq!(v.code, 0, "{}", v.stdout_str());
}

/// A server keeps an output's opened state between requests; it must
/// notice every change made outside it: a link by another process, and
/// a state file edited in place with its size and time put back.
#[test]
fn a_server_trusts_nothing_changed_behind_its_back() {
    let dir = scratch_dir("serve_behind_its_back");
    let main_o = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(2));
    let out = dir.join("prog");
    let args = |cmd: &mut Command| {
        cmd.args(["-incremental", "-v"]).arg(&main_o).arg(&lib_o);
    };
    let server = Server::start(&dir, &[]);
    let link = |what: &str| {
        let mut cmd = served(&server, &out);
        args(&mut cmd);
        let o = capture(&mut cmd);
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        let line = incremental_line(&o);
        assert!(line.contains(what), "expected {what:?}: {}", o.stderr_str());
        line
    };
    link("full link");
    compile(&dir, "lib", &lib(5));
    link("updated 1 object");
    // Another process updates the output: the server's session is stale.
    compile(&dir, "lib", &lib(7));
    let mut local = machlink_command(&out);
    args(&mut local);
    let o = capture(&mut local);
    assert!(
        incremental_line(&o).contains("updated 1 object"),
        "{}",
        o.stderr_str()
    );
    compile(&dir, "lib", &lib(9));
    link("updated 1 object");
    assert_eq!(run_ok(&out), "f(3)=28\n");
    link("nothing changed");
    // A byte of the delta flipped in place, its size and time restored:
    // the state is read again, its checksum fails, and a full link follows.
    let delta = dir.join("prog.machlink-delta");
    let mtime = std::fs::metadata(&delta).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&delta).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&delta, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&delta)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    compile(&dir, "lib", &lib(4));
    let line = link("full link");
    assert!(line.contains("damaged"), "{line}");
    assert_eq!(run_ok(&out), "f(3)=13\n");
    let v = machlink_verify(&out);
    assert_eq!(v.code, 0, "{}", v.stdout_str());
}

#[test]
fn without_a_server_the_client_links_itself() {
    let dir = scratch_dir("serve_absent");
    let main_o = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(2));
    let mut cmd = machlink_command(&dir.join("prog"));
    cmd.env("MACHLINK_SERVER", dir.join("nobody.sock"))
        .arg(&main_o)
        .arg(&lib_o);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(o.stderr_str(), "", "a missing server is no message");
    assert_eq!(run_ok(&dir.join("prog")), "f(3)=7\n");
}

#[test]
fn serve_never_replaces_a_file_that_is_not_a_socket() {
    let dir = scratch_dir("serve_not_a_socket");
    let path = dir.join("precious");
    std::fs::write(&path, "keep me").unwrap();
    let o = capture(
        Command::new(workspace_bin("machlink"))
            .arg("--serve")
            .arg(&path),
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr_str().contains("is not a socket"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    // A second server on a live socket is refused too.
    let server = Server::start(&dir, &[]);
    let o = capture(
        Command::new(workspace_bin("machlink"))
            .arg("--serve")
            .arg(&server.socket),
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr_str().contains("already listens"),
        "{}",
        o.stderr_str()
    );
}
