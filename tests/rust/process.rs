//! std::process: Command with output, status, exit codes, stdin piped to a
//! child, environment and working directory of the child, and the
//! process's own exit code.
use std::io::Write;
use std::process::{Command, Stdio};

fn main() {
    let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output().unwrap();
    println!("output {:?} {:?} code {:?}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), out.status.code());
    let st = Command::new("true").status().unwrap();
    println!("true success {}", st.success());
    let st = Command::new("false").status().unwrap();
    println!("false code {:?}", st.code());

    let mut child = Command::new("sh")
        .args(["-c", "tr a-z A-Z; echo \"in $PWD with $CHILD_VAR\""])
        .env("CHILD_VAR", "child value")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"shout this\n").unwrap();
    let out = child.wait_with_output().unwrap();
    println!("piped {:?}", String::from_utf8_lossy(&out.stdout));

    let big = Command::new("sh").args(["-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done"]).output().unwrap();
    println!("big output lines {}", String::from_utf8_lossy(&big.stdout).lines().count());
    let cleared = Command::new("sh").args(["-c", "echo ${HOME:-no home}"]).env_clear().env("PATH", "/usr/bin:/bin").output().unwrap();
    println!("env_clear {:?}", String::from_utf8_lossy(&cleared.stdout));
    println!("missing program: {:?}", Command::new("/nonexistent/program").status().map_err(|e| e.kind()));
    let killed = Command::new("sh").args(["-c", "kill -9 $$"]).status().unwrap();
    println!("killed code {:?} success {}", killed.code(), killed.success());
    println!("pid positive: {}", std::process::id() > 0);
    std::io::stdout().flush().unwrap();
    std::process::exit(7);
}
