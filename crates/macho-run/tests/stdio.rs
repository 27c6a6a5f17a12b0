//! macOS's inline stdio macros under macho-run: programs that use
//! `getc_unlocked`, `putc_unlocked` (which read and write the fields of
//! macOS's `FILE` and call `__srget`/`__swbuf`), `feof_unlocked` and the
//! like, mixed with the stdio functions, on stdin, stdout, stderr and on
//! every kind of stream a program opens. Each C program under
//! `tests/stdio/` is compiled for macOS (linked by ld64.lld-19 in both fixup
//! formats) and natively with gcc; both run the same way (stdout and stderr
//! apart, on one pipe, on a terminal, stdin from a file or a pipe) and must
//! give byte-identical stdout, stderr and exit status.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{Linker, Outcome};

/// How a program is started: a shell line around `"$@"` (the program and
/// its arguments); `$IN` names the stdin file.
#[derive(Clone, Copy)]
enum Setup {
    /// stdout and stderr captured apart, stdin empty.
    Apart,
    /// stdout and stderr on one pipe: the interleaving shows every flush.
    OnePipe,
    /// stdin redirected from a regular file (seekable).
    StdinFile,
    /// stdin read from a pipe.
    StdinPipe,
    /// stdin, stdout and stderr on a terminal (`script` gives a pty).
    Terminal,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Apart => "stdout and stderr apart",
            Setup::OnePipe => "stdout and stderr on one pipe",
            Setup::StdinFile => "stdin from a file",
            Setup::StdinPipe => "stdin from a pipe",
            Setup::Terminal => "on a terminal",
        }
    }

    fn shell(self) -> &'static str {
        match self {
            Setup::Apart => r#"exec "$@" </dev/null"#,
            Setup::OnePipe => r#"exec "$@" </dev/null 2>&1"#,
            Setup::StdinFile => r#"exec "$@" <"$IN""#,
            Setup::StdinPipe => r#"cat "$IN" | "$@""#,
            // script runs one command line: quote every word for it.
            Setup::Terminal => {
                r#"line=; for w in "$@"; do line="$line '$w'"; done
                   exec script -qec "$line" /dev/null </dev/null"#
            }
        }
    }
}

fn source(name: &str) -> PathBuf {
    testkit::workspace_root()
        .join("crates/macho-run/tests/stdio")
        .join(format!("{name}.c"))
}

/// A program built natively and for macOS (once per linker).
struct Program {
    name: &'static str,
    work: PathBuf,
    native: PathBuf,
    macos: Vec<(Linker, PathBuf)>,
}

/// Builds `tests/stdio/NAME.c` in a scratch directory of the test `test`.
fn build(test: &str, name: &'static str) -> Program {
    let work = testkit::scratch_dir(&format!("stdio/{test}/{name}"));
    let src = source(name);
    // Every build is called NAME, in a directory of its own: `warn` and
    // `err` print the program's name.
    let exe_in = |dir: &str| {
        let dir = work.join(dir);
        std::fs::create_dir_all(&dir).expect("create build dir");
        dir.join(name)
    };
    let native = exe_in("native");
    testkit::build_native(std::slice::from_ref(&src), &native, &["-O1", "-Wall"]);
    let obj = work.join(format!("{name}.o"));
    testkit::compile_macos(&src, &obj, &["-O1", "-Wall"]);
    let macos = [Linker::LldChained, Linker::LldClassic]
        .into_iter()
        .map(|linker| {
            let exe = exe_in(linker.name());
            testkit::link(linker, std::slice::from_ref(&obj), &exe, &[]);
            (linker, exe)
        })
        .collect();
    Program {
        name,
        work,
        native,
        macos,
    }
}

fn run(setup: Setup, argv: &[OsString], stdin: Option<&Path>) -> Outcome {
    if matches!(setup, Setup::Terminal) {
        testkit::require_tool("script");
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(setup.shell())
        .arg("sh")
        .args(argv)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C");
    if let Some(file) = stdin {
        cmd.env("IN", file);
    }
    testkit::capture(&mut cmd)
}

impl Program {
    /// Runs the native build and every macOS build under macho-run with
    /// `args` (`{dir}` is replaced by a fresh directory per run); returns
    /// every difference.
    fn compare(&self, setup: Setup, args: &[&str], stdin: Option<&Path>) -> Vec<String> {
        self.compare_by(setup, args, stdin, |o| o)
    }

    /// [`Program::compare`] on what `view` keeps of each run.
    fn compare_by(
        &self,
        setup: Setup,
        args: &[&str],
        stdin: Option<&Path>,
        view: impl Fn(Outcome) -> Outcome,
    ) -> Vec<String> {
        let mut runs = 0;
        let mut argv_for = |exe: &[&Path]| -> Vec<OsString> {
            runs += 1;
            let dir = self.work.join(format!("run{runs}"));
            std::fs::create_dir_all(&dir).expect("create run dir");
            let mut argv: Vec<OsString> = exe.iter().map(|p| p.as_os_str().to_owned()).collect();
            for a in args {
                argv.push(match *a {
                    "{dir}" => dir.clone().into_os_string(),
                    a => a.into(),
                });
            }
            argv
        };
        let expected = view(run(setup, &argv_for(&[&self.native]), stdin));
        assert_eq!(
            expected.code,
            0,
            "{} ({}): the native build fails: {}",
            self.name,
            setup.name(),
            expected.stderr_str()
        );
        let macho_run = Path::new(env!("CARGO_BIN_EXE_macho-run"));
        let mut problems = Vec::new();
        for (linker, exe) in &self.macos {
            let got = view(run(setup, &argv_for(&[macho_run, exe]), stdin));
            if got != expected {
                let what = format!(
                    "{} linked by {}, {}",
                    self.name,
                    linker.name(),
                    setup.name()
                );
                problems.push(testkit::mismatch(&what, &expected, &got));
            }
        }
        problems
    }
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The input of `stdin_mix`: a first line to read by characters, two
/// numbers to scan, then enough lines (16 KB) to refill the buffer several
/// times.
fn stdin_text(dir: &Path) -> PathBuf {
    let mut text = String::from("ABCDEFGHIJKLMNOPQRSTUVWXYZ first line\n  12   345\n");
    for i in 0..400 {
        text += &format!("line {i:03}: {}\n", "xyz".repeat(i % 20));
    }
    let path = dir.join("stdin.txt");
    std::fs::write(&path, text).expect("write stdin text");
    path
}

#[test]
fn stdout_and_stderr_keep_their_order_and_buffering() {
    let p = build("order", "stdout_mix");
    let mut problems = p.compare(Setup::Apart, &[], None);
    problems.extend(p.compare(Setup::OnePipe, &[], None));
    assert_none(problems);
}

#[test]
fn on_a_terminal_stdout_is_line_buffered_and_flushed_before_reading() {
    let mut problems = Vec::new();
    for name in ["tty", "stdout_mix"] {
        let p = build("terminal", name);
        problems.extend(p.compare(Setup::Terminal, &[], None));
    }
    assert_none(problems);
}

#[test]
fn stdin_is_read_inline_from_a_file_and_from_a_pipe() {
    let p = build("stdin", "stdin_mix");
    let input = stdin_text(&p.work);
    let mut problems = p.compare(Setup::StdinFile, &["seek"], Some(&input));
    problems.extend(p.compare(Setup::StdinPipe, &[], Some(&input)));
    assert_none(problems);
}

#[test]
fn every_kind_of_stream_works_with_the_macros() {
    let p = build("streams", "file_streams");
    let mut problems = p.compare(Setup::Apart, &["{dir}"], None);
    problems.extend(p.compare(Setup::OnePipe, &["{dir}"], None));
    assert_none(problems);
}

/// The lines of stdout sorted: threads finish their lines in any order.
fn sorted_lines(mut o: Outcome) -> Outcome {
    let mut lines: Vec<&[u8]> = o.stdout.split_inclusive(|&b| b == b'\n').collect();
    lines.sort();
    o.stdout = lines.concat();
    o
}

#[test]
fn threads_locking_a_stream_write_and_read_whole_lines() {
    let p = build("threads", "threads");
    let input = stdin_text(&p.work);
    let input = input.to_str().expect("scratch paths are UTF-8");
    assert_none(p.compare_by(Setup::Apart, &[input], None, sorted_lines));
}
