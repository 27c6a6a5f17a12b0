//! Resident mode: `machlink --serve SOCKET` links for clients that set
//! `MACHLINK_SERVER=SOCKET`. A served link must be the link the client's
//! own process would have made (same bytes, same messages on the client's
//! stdout and stderr, same exit status, paths taken from the client's
//! working directory), and a server that dies in the middle of an update
//! must leave what a killed process leaves: the client links itself and
//! the journal is recovered.
//!
//! Every test of a client runs twice: with `machlink` itself as the
//! client, and with `machlink-client` (the small static client of
//! scripts/build-client.sh), which must behave exactly the same.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{compile, incremental_line, machlink_verify, run_ok, Server};
use testkit::{
    capture, ld64_command_in, machlink_client_bin, machlink_command, scratch_dir, sdk_root,
    workspace_bin,
};

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int main(void) { printf("f(3)=%d\n", f(3)); return 0; }
"#;

fn lib(k: i32) -> String {
    format!("__attribute__((noinline)) int f(int x) {{ return x * {k} + 1; }}\n")
}

/// The program a test runs as the client.
#[derive(Clone, Copy, Debug)]
enum Client {
    /// `machlink` itself, which hands its command to the server.
    Machlink,
    /// `machlink-client`, which does the same and otherwise runs machlink.
    Small,
}

impl Client {
    /// The client's executable.
    fn bin(self) -> PathBuf {
        match self {
            Client::Machlink => workspace_bin("machlink"),
            Client::Small => machlink_client_bin(),
        }
    }

    /// A scratch directory name of this client's run of test `name`.
    fn scratch(self, name: &str) -> PathBuf {
        match self {
            Client::Machlink => scratch_dir(name),
            Client::Small => scratch_dir(&format!("{name}_client")),
        }
    }

    /// The scratch directory of this client's run of test `name`, with
    /// the program's objects compiled there: main.o and lib.o (`lib(2)`).
    fn program(self, name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = self.scratch(name);
        let main_o = compile(&dir, "main", MAIN);
        let lib_o = compile(&dir, "lib", &lib(2));
        (dir, main_o, lib_o)
    }

    /// The ld64-style link of `out` by this client, minus the objects,
    /// with no server named.
    fn command(self, out: &Path) -> Command {
        ld64_command_in(&self.bin(), &sdk_root(), out)
    }

    /// The link command of `out`, sent to `server`.
    fn served(self, server: &Server, out: &Path) -> Command {
        let mut cmd = self.command(out);
        cmd.env("MACHLINK_SERVER", &server.socket);
        cmd
    }
}

/// Two tests of `body`: one with each client.
macro_rules! both_clients {
    ($body:ident: $machlink:ident, $small:ident) => {
        #[test]
        fn $machlink() {
            $body(Client::Machlink);
        }
        #[test]
        fn $small() {
            $body(Client::Small);
        }
    };
}

both_clients!(same_link: a_served_link_is_the_clients_own_link, a_served_link_is_the_small_clients_own_link);

fn same_link(client: Client) {
    let (dir, main_o, lib_o) = client.program("serve_same_link");
    let server = Server::start(&dir, &[]);
    for sub in ["served", "local"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Relative paths: the server must resolve them in the client's
    // working directory. `-t` lists the inputs on stdout.
    let mut cmd = client.served(&server, Path::new("served/prog"));
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
    let mut cmd = client.served(&server, &dir.join("bad"));
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

both_clients!(served_updates: served_incremental_updates_and_a_server_killed_mid_update,
    served_incremental_updates_and_a_server_killed_mid_update_small_client);

fn served_updates(client: Client) {
    let (dir, main_o, lib_o) = client.program("serve_incremental");
    let out = dir.join("prog");
    let link = |server: &Server| {
        let mut cmd = client.served(server, &out);
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

both_clients!(behind_its_back: a_server_trusts_nothing_changed_behind_its_back,
    a_server_trusts_nothing_changed_behind_its_back_small_client);

/// A server keeps an output's opened state between requests; it must
/// notice every change made outside it: a link by another process, and
/// a state file edited in place with its size and time put back.
fn behind_its_back(client: Client) {
    let (dir, main_o, lib_o) = client.program("serve_behind_its_back");
    let out = dir.join("prog");
    let args = |cmd: &mut Command| {
        cmd.args(["-incremental", "-v"]).arg(&main_o).arg(&lib_o);
    };
    let server = Server::start(&dir, &[]);
    let link = |what: &str| {
        let mut cmd = client.served(&server, &out);
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

both_clients!(without_a_server: without_a_server_the_client_links_itself,
    without_a_server_the_small_client_links_itself);

fn without_a_server(client: Client) {
    let (dir, main_o, lib_o) = client.program("serve_absent");
    let mut cmd = client.command(&dir.join("prog"));
    cmd.env("MACHLINK_SERVER", dir.join("nobody.sock"))
        .arg(&main_o)
        .arg(&lib_o);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(o.stderr_str(), "", "a missing server is no message");
    assert_eq!(run_ok(&dir.join("prog")), "f(3)=7\n");
    // No variable at all: machlink's own messages, status and stdout.
    let bad = compile(&dir, "bad", "int g(int); int main(void) { return g(1); }\n");
    let mut cmd = client.command(&dir.join("bad"));
    cmd.env_remove("MACHLINK_SERVER").arg(&bad);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    assert!(
        o.stderr_str().contains("undefined symbol: _g"),
        "{}",
        o.stderr_str()
    );
    let o = capture(
        Command::new(client.bin())
            .arg("--version")
            .env("MACHLINK_SERVER", dir.join("nobody.sock")),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(
        o.stdout_str().starts_with("machlink "),
        "{}",
        o.stdout_str()
    );
}

both_clients!(dropped_request: a_server_that_drops_a_request_is_asked_once,
    a_server_that_drops_a_request_is_asked_once_by_the_small_client);

/// A server that reads a request and closes the connection without an
/// answer, but keeps listening: the client warns once and links itself,
/// without asking that server again.
fn dropped_request(client: Client) {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (dir, main_o, lib_o) = client.program("serve_dropped_request");
    let socket = dir.join("rude.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let rude = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut requests = 0;
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        let mut head = [0u8; 12];
                        let _ = conn.read_exact(&mut head);
                        requests += 1;
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
            requests
        })
    };
    let mut cmd = client.command(&dir.join("prog"));
    cmd.env("MACHLINK_SERVER", &socket).arg(&main_o).arg(&lib_o);
    let o = capture(&mut cmd);
    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        rude.join().unwrap(),
        1,
        "the server was asked more than once"
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(
        o.stderr_str().matches("ended without an answer").count(),
        1,
        "{}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&dir.join("prog")), "f(3)=7\n");
}

/// When no server answers, machlink-client becomes the machlink
/// `MACHLINK_CLIENT_FALLBACK` names, with the client's arguments and
/// environment (less `MACHLINK_SERVER`: it asked already), and exits
/// with its status; a fallback that cannot run, or that is the client
/// itself, is an error that names the variable.
#[test]
fn the_small_client_runs_the_machlink_its_variable_names() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("serve_client_fallback");
    let fake = dir.join("fake-machlink");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"args: $*\"\necho \"server: ${MACHLINK_SERVER-unset} keep: $KEEP\"\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let client = machlink_client_bin();
    let run = |fallback: &Path| {
        capture(
            Command::new(&client)
                .args(["-o", "a b", "x.o"])
                .env("MACHLINK_SERVER", dir.join("nobody.sock"))
                .env("MACHLINK_CLIENT_FALLBACK", fallback)
                .env("KEEP", "kept"),
        )
    };
    let o = run(&fake);
    assert_eq!(o.code, 3, "{}", o.stderr_str());
    assert_eq!(
        o.stdout_str(),
        "args: -o a b x.o\nserver: unset keep: kept\n"
    );
    for (fallback, what) in [
        (dir.join("missing"), "cannot run"),
        (client.clone(), "is this client"),
    ] {
        let o = run(&fallback);
        assert_eq!(o.code, 127, "{}", o.stderr_str());
        assert!(
            o.stderr_str().contains(what) && o.stderr_str().contains("MACHLINK_CLIENT_FALLBACK"),
            "{}",
            o.stderr_str()
        );
    }
}

/// `--serve` never replaces a file that is not a socket; machlink-client
/// leaves `--serve` to machlink even with a server named (it does not
/// send it to the server).
#[test]
fn serve_never_replaces_a_file_that_is_not_a_socket() {
    let dir = scratch_dir("serve_not_a_socket");
    let path = dir.join("precious");
    std::fs::write(&path, "keep me").unwrap();
    let server = Server::start(&dir, &[]);
    for (program, named) in [
        (workspace_bin("machlink"), None),
        (machlink_client_bin(), Some(&server.socket)),
    ] {
        let mut cmd = Command::new(&program);
        cmd.arg("--serve").arg(&path);
        if let Some(socket) = named {
            cmd.env("MACHLINK_SERVER", socket);
        }
        let o = capture(&mut cmd);
        assert_eq!(o.code, 1, "{}: {}", program.display(), o.stderr_str());
        assert!(
            o.stderr_str().contains("is not a socket"),
            "{}: {}",
            program.display(),
            o.stderr_str()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    }
    // A second server on a live socket is refused too.
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

/// A server stamps only the inputs it has heard of a change to (inotify:
/// see machlink::incremental::watch); every way a build changes an input
/// must still be heard of: a write into the file, a new file renamed over
/// it, a write through a hard link in another directory, its directory
/// renamed away with another put in its place, and a symbolic link on its
/// path pointed elsewhere. A touch alone changes nothing. Each step's
/// output runs with the new code.
#[test]
fn a_server_hears_of_every_change_to_an_input() {
    let dir = scratch_dir("serve_watches_inputs");
    let objs = dir.join("objs");
    std::fs::create_dir_all(&objs).unwrap();
    let variants = dir.join("variants");
    std::fs::create_dir_all(&variants).unwrap();
    compile(&objs, "main", MAIN);
    let variant = |k: i32| std::fs::read(compile(&variants, &format!("lib{k}"), &lib(k))).unwrap();
    let lib_o = objs.join("lib.o");
    std::fs::write(&lib_o, variant(2)).unwrap();
    let out = dir.join("prog");
    let server = Server::start(&dir, &[]);
    // Relative input paths, as build systems give them: the server
    // resolves them in the client's directory.
    let link = |what: &str, k: i32| {
        let mut cmd = Client::Machlink.served(&server, &out);
        cmd.current_dir(&dir)
            .args(["-incremental", "-v", "objs/main.o", "objs/lib.o"]);
        let o = capture(&mut cmd);
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        let line = incremental_line(&o);
        assert!(line.contains(what), "expected {what:?}: {}", o.stderr_str());
        assert_eq!(run_ok(&out), format!("f(3)={}\n", 3 * k + 1));
    };
    link("full link", 2);
    // The first served run with a state watches the inputs.
    link("nothing changed", 2);
    link("nothing changed", 2);
    // Written into (truncated, the same inode).
    std::fs::write(&lib_o, variant(3)).unwrap();
    link("updated 1 object", 3);
    // A new file renamed over it.
    let tmp = objs.join("lib.o.tmp");
    std::fs::write(&tmp, variant(4)).unwrap();
    std::fs::rename(&tmp, &lib_o).unwrap();
    link("updated 1 object", 4);
    link("nothing changed", 4);
    // Written through another name of the same inode, elsewhere.
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let alias = elsewhere.join("alias.o");
    std::fs::hard_link(&lib_o, &alias).unwrap();
    std::fs::write(&alias, variant(5)).unwrap();
    link("updated 1 object", 5);
    // Touched, not edited.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&lib_o)
        .unwrap()
        .set_modified(later)
        .unwrap();
    link("nothing changed", 5);
    // The directory renamed away, another in its place.
    std::fs::rename(&objs, dir.join("objs.old")).unwrap();
    std::fs::create_dir_all(&objs).unwrap();
    std::fs::copy(dir.join("objs.old/main.o"), objs.join("main.o")).unwrap();
    std::fs::write(&lib_o, variant(6)).unwrap();
    link("updated 1 object", 6);
    // Its directory reached through a symbolic link that is moved.
    std::fs::rename(&objs, dir.join("objs.6")).unwrap();
    std::os::unix::fs::symlink("objs.6", &objs).unwrap();
    link("nothing changed", 6);
    let seven = dir.join("objs.7");
    std::fs::create_dir_all(&seven).unwrap();
    std::fs::copy(dir.join("objs.6/main.o"), seven.join("main.o")).unwrap();
    std::fs::write(seven.join("lib.o"), variant(7)).unwrap();
    std::fs::remove_file(&objs).unwrap();
    std::os::unix::fs::symlink("objs.7", &objs).unwrap();
    link("updated 1 object", 7);
    let v = machlink_verify(&out);
    assert_eq!(v.code, 0, "{}", v.stdout_str());
}

/// The object of [`a_served_edit_loop_resolves_as_the_last_update_did`]:
/// functions that call each other, one outside it (`twice`, in main.o), a
/// data global of main.o, an import (`abs`) and a function pointer.
fn loop_lib(k: i32, grown: usize, extra_call: bool) -> String {
    let body: String = (0..grown)
        .map(|i| format!("    x ^= x >> {}; x *= {}u;\n", 3 + i % 5, 2 * i + 3))
        .collect();
    let call = if extra_call { "x += twice(x);" } else { "" };
    format!(
        r#"#include <stdlib.h>
extern int counter;
int twice(int);
__attribute__((noinline)) int g(int x) {{ counter += 1; return abs(x - {k}); }}
__attribute__((noinline)) int f(int x) {{
    unsigned u = (unsigned)x;
{body}    x = g(x) + (int)(u & 7u); {call}
    return x;
}}
int (*pick(void))(int) {{ return g; }}
"#
    )
}

const LOOP_MAIN: &str = r#"#include <stdio.h>
int counter;
int f(int);
int (*pick(void))(int);
int twice(int x) { return 2 * x; }
int main(void) {
    int a = f(3), b = pick()(10);
    printf("f(3)=%d g(10)=%d counter=%d\n", a, b, counter);
    return 0;
}
"#;

/// A server's edit loop replays one object again and again with the same
/// symbol table, and then resolves its symbols as the last update did,
/// without looking them up (see machlink's `ResolvedObject`). Edits that
/// keep the table (a constant, a function grown out of its slot and shrunk
/// back) must then give what a fresh link of the same objects gives; one
/// that adds a reference resolves afresh, and the next update that keeps
/// the new table uses what that one found.
#[test]
fn a_served_edit_loop_resolves_as_the_last_update_did() {
    let dir = scratch_dir("serve_resolves_again");
    let main_o = compile(&dir, "main", LOOP_MAIN);
    let out = dir.join("prog");
    let fresh = dir.join("fresh");
    let server = Server::start(&dir, &[]);
    let mut steps = 0;
    let mut step = |k: i32, grown: usize, extra_call: bool, expect: &str, again: bool| {
        let lib_o = compile(&dir, "lib", &loop_lib(k, grown, extra_call));
        let mut cmd = Client::Machlink.served(&server, &out);
        cmd.args(["-incremental", "-v"]).arg(&main_o).arg(&lib_o);
        let o = capture(&mut cmd);
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        let line = incremental_line(&o);
        let what = format!("step {steps} (k={k}, grown={grown}, extra call: {extra_call})");
        assert!(line.contains(expect), "{what}: expected {expect:?}: {line}");
        assert_eq!(
            line.contains("symbols resolved as the last update found them"),
            again,
            "{what}: {line}"
        );
        let mut cmd = machlink_command(&fresh);
        cmd.arg(&main_o).arg(&lib_o);
        let f = capture(&mut cmd);
        assert_eq!(f.code, 0, "{}", f.stderr_str());
        assert_eq!(
            run_ok(&out),
            run_ok(&fresh),
            "{what}: the update runs differently"
        );
        let v = machlink_verify(&out);
        assert_eq!(v.code, 0, "{what}: {}", v.stdout_str());
        steps += 1;
    };
    step(5, 0, false, "full link", false);
    // The first update resolves every symbol and keeps what it found.
    step(6, 0, false, "updated 1 object", false);
    step(7, 0, false, "updated 1 object", true);
    // Outgrows its slot (a trampoline), then fits it again.
    step(7, 60, false, "1 moved", true);
    step(8, 60, false, "updated 1 object", true);
    step(8, 0, false, "updated 1 object", true);
    // A new reference: a new table, resolved afresh, and its references
    // changed (so nothing is kept); the next edit resolves afresh and
    // keeps; the one after uses it.
    step(9, 0, true, "updated 1 object", false);
    step(10, 0, true, "updated 1 object", false);
    step(11, 30, true, "updated 1 object", true);
    // Back to the old table.
    step(12, 0, false, "updated 1 object", false);
}

/// A server looks only at the inputs its watch heard of while the list of
/// inputs stays the one it went through last; an input found at a new
/// path (a compiler's temporary) is not watched there yet, and must still
/// be looked at by the requests that follow with the same list.
#[test]
fn a_server_looks_at_an_input_that_moved_until_it_watches_it() {
    let dir = scratch_dir("serve_moved_then_edited");
    let main_o = compile(&dir, "main", MAIN);
    let variant = |k: i32| std::fs::read(compile(&dir, &format!("lib{k}"), &lib(k))).unwrap();
    let (first, second) = (dir.join("first.o"), dir.join("second.o"));
    std::fs::write(&first, variant(2)).unwrap();
    let out = dir.join("prog");
    let server = Server::start(&dir, &[]);
    let link = |lib_o: &Path, what: &str, k: i32| {
        let mut cmd = Client::Machlink.served(&server, &out);
        cmd.args(["-incremental", "-v"]).arg(&main_o).arg(lib_o);
        let o = capture(&mut cmd);
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        let line = incremental_line(&o);
        assert!(line.contains(what), "expected {what:?}: {}", o.stderr_str());
        assert_eq!(run_ok(&out), format!("f(3)={}\n", 3 * k + 1));
    };
    link(&first, "full link", 2);
    link(&first, "nothing changed", 2);
    // The same object at a new path: the same input, unchanged.
    std::fs::rename(&first, &second).unwrap();
    link(&second, "nothing changed", 2);
    // Edited there, with the list the server went through last time.
    std::fs::write(&second, variant(3)).unwrap();
    link(&second, "updated 1 object", 3);
    link(&second, "nothing changed", 3);
    std::fs::write(&second, variant(4)).unwrap();
    link(&second, "updated 1 object", 4);
}
