//! How the `machlink` binary starts: where build.rs could link it so (Linux
//! with glibc), with libc as its only shared library, which saves the
//! dynamic loader a library or two at every run.
#![cfg(machlink_libc_only)]

#[test]
fn the_binary_loads_only_libc() {
    // A new use of libm (f64::sin, ...) or another library would be loaded
    // at every start again: look it up when called instead (see macho-run's
    // shims/libc_extras.rs).
    let exe = testkit::workspace_bin("machlink");
    // glibc's dynamic loader lists the libraries it loads, and stops.
    let o = testkit::capture(std::process::Command::new(&exe).env("LD_TRACE_LOADED_OBJECTS", "1"));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let listed = o.stdout_str();
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let expected = |n: &&str| {
        n.starts_with("linux-vdso.so") || n.starts_with("libc.so") || n.contains("/ld-linux")
    };
    assert!(
        names.iter().all(expected),
        "{} loads more than libc:\n{listed}",
        exe.display()
    );
}
