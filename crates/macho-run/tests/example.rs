//! The bundled example that README.md's main command runs.

use std::process::Command;

#[test]
fn the_bundled_example_runs() {
    let exe = testkit::workspace_root().join("examples/hello-x86_64-macos");
    let out = testkit::capture(
        Command::new(env!("CARGO_BIN_EXE_macho-run"))
            .arg(&exe)
            .args(["linker", "world"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_str());
    assert_eq!(
        out.stdout_str(),
        "Hello from a macOS executable, running on Linux under macho-run.\nLINKER\nWORLD\n\
         2 argument(s), thread-local counter now 102\n"
    );
}
