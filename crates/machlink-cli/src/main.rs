//! `machlink`: the ld64-compatible command line over the machlink library.
// The process entry is ours, not std's (see `main` below); unit tests keep
// the test harness's.
#![cfg_attr(not(test), no_main)]

mod demo;
// Used by the process entry, which unit tests do not build.
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod detached_exit;
#[cfg_attr(test, allow(dead_code, unused_imports))]
mod heap;

/// glibc's allocator, set up for a link (see heap.rs).
#[global_allocator]
static HEAP: heap::Heap = heap::Heap;
mod verify;

use machlink::options::Options;
use std::io::Write;
use std::process::ExitCode;

/// Writes a line to stderr. A closed or failing stderr is ignored: there is
/// nowhere left to say anything, and the exit status still tells.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod serve;

/// Whether a failed write to stdout is a failure of the command: a reader
/// that went away (`machlink verify X | head`) is no error of ours, like
/// other Unix tools ending quietly on EPIPE; any other failure is reported.
fn stdout_failed(e: &std::io::Error, what: &str) -> bool {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return false;
    }
    say_err!("machlink{what}: cannot write to stdout: {e}");
    true
}

/// The exit status after a write to stdout.
fn printed(result: std::io::Result<()>, what: &str) -> ExitCode {
    match result {
        Err(e) if stdout_failed(&e, what) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// Writes `text` and a newline to stdout, flushed.
fn print_line(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// `machlink verify BINARY...`: exit 0 when every file keeps the
/// invariants, 1 with the list of violations otherwise.
fn verify_command(files: &[String]) -> ExitCode {
    if files.is_empty() {
        say_err!("usage: machlink verify BINARY...");
        return ExitCode::from(2);
    }
    let mut ok = true;
    // Once stdout is gone, the remaining files are still checked (the exit
    // status covers them all), quietly.
    let mut out = Some(std::io::stdout().lock());
    let mut write_error = None;
    let mut say = |line: String| {
        if let Some(o) = out.as_mut() {
            if let Err(e) = writeln!(o, "{line}") {
                write_error = Some(e);
                out = None;
            }
        }
    };
    for f in files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) => {
                say_err!("machlink verify: {f}: cannot read: {e}");
                ok = false;
                continue;
            }
        };
        match verify::verify(&data, f) {
            Err(e) => {
                say_err!("machlink verify: {e}");
                ok = false;
            }
            Ok(r) if r.violations.is_empty() => say(format!(
                "{f}: ok ({} functions, {} branches, {} trampolines, {} fixups, {} exports)",
                r.functions, r.branches, r.trampolines, r.fixups, r.exports
            )),
            Ok(r) => {
                ok = false;
                say(format!("{f}: {} violation(s)", r.violations.len()));
                for v in r.violations {
                    say(format!("  {v}"));
                }
            }
        }
    }
    if let Some(mut o) = out.take() {
        if let Err(e) = o.flush() {
            write_error = Some(e);
        }
    }
    if write_error.is_some_and(|e| stdout_failed(&e, " verify")) {
        return ExitCode::FAILURE;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The process entry, without std's runtime start: that start asks glibc
/// for the main thread's stack bounds (to name a stack overflow), which
/// reads and parses /proc/self/maps, about 0.1 ms: 5% of an incremental
/// run that finds nothing changed. A stack overflow is then a plain
/// SIGSEGV. What else the start does that matters here is done here:
/// SIGPIPE ignored (a closed pipe is an EPIPE error, which the commands
/// handle), a panic ends the process with status 101, and stdout is
/// flushed. (glibc hands the arguments to std before this runs.)
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    // SAFETY: setting a signal's disposition before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    heap::setup();
    let code = std::panic::catch_unwind(run).unwrap_or(ExitCode::from(101));
    let _ = std::io::stdout().flush();
    detached_exit::detach();
    status(code)
}

/// The number an exit code stands for (`ExitCode` shows it only by
/// comparison).
#[cfg(not(test))]
fn status(code: ExitCode) -> std::ffi::c_int {
    status_byte(code).into()
}

/// The exit status byte of `code`.
fn status_byte(code: ExitCode) -> u8 {
    (0..=255u8)
        .find(|&c| ExitCode::from(c) == code)
        .unwrap_or(1)
}

// (Under the test harness nothing calls it.)
#[cfg_attr(test, allow(dead_code))]
fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return match &args[1..] {
            [socket] => serve::serve(std::path::Path::new(socket), run_args),
            _ => {
                say_err!("usage: machlink --serve SOCKET");
                ExitCode::from(2)
            }
        };
    }
    // A resident server named by the environment runs the command, when
    // one listens (see serve.rs).
    if let Some(socket) = std::env::var_os(serve::SERVER_VAR).filter(|s| !s.is_empty()) {
        if let Some(code) = serve::forward(std::path::Path::new(&socket), &args) {
            return code;
        }
    }
    // This process ends after the command: a link may leave its cleanup
    // to the exit (the server, which runs many, never does).
    machlink::teardown::leave_to_exit();
    run_args(args)
}

/// Runs one command line (without the program name), in this process.
#[cfg_attr(test, allow(dead_code))]
fn run_args(args: Vec<String>) -> ExitCode {
    if args.first().map(String::as_str) == Some("verify") {
        return verify_command(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("demo") {
        return match demo::main(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // A closed stdout ends the demo quietly.
                match e.downcast_ref::<std::io::Error>() {
                    Some(io) if io.kind() == std::io::ErrorKind::BrokenPipe => {}
                    _ => say_err!("machlink demo: {e}"),
                }
                if e.is::<demo::UsageError>() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                }
            }
        };
    }
    if args
        .iter()
        .any(|a| a == "--help" || a == "-help" || a == "--help-hidden")
    {
        let usage = "usage: machlink [ld64 options] file...\n\
                     \x20      machlink verify BINARY...\n\
                     \x20      machlink demo [--arch x86_64|arm64]   (--arch defaults to the host's)\n\
                     \x20      machlink --serve SOCKET   (resident mode; clients set MACHLINK_SERVER=SOCKET)\n\
                     An ld64-compatible Mach-O linker for x86_64 and arm64 (see README.md for the flags).";
        return printed(print_line(usage), "");
    }
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            say_err!("machlink: {e}");
            return ExitCode::FAILURE;
        }
    };
    if opts.print_version {
        let banner = format!(
            "machlink {} (ld64-compatible; targets: x86_64, arm64)",
            machlink::VERSION
        );
        // --version answers on stdout; `-v` speaks on stderr.
        if opts.verbose {
            say_err!("{banner}");
            return ExitCode::SUCCESS;
        }
        return printed(print_line(&banner), "");
    }
    let start = std::time::Instant::now();
    match machlink::link::link(&opts) {
        Ok(stats) => {
            if opts.verbose {
                say_err!("{}", verbose_line(&opts, &stats, start.elapsed()));
            }
            if opts.print_statistics && !stats.phases.is_empty() {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "{}", machlink::timing::table(&stats.phases));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            say_err!("machlink: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The one line `-v` prints for a run: what the incremental engine did (and
/// why, for a full link), and for a full link what it linked.
fn verbose_line(
    opts: &machlink::options::Options,
    stats: &machlink::link::Stats,
    took: std::time::Duration,
) -> String {
    let linked = format!(
        "{} objects, {} atoms, {} relocations, {} bytes written in {:.2} ms",
        stats.objects,
        stats.atoms,
        stats.relocs,
        stats.output_size,
        took.as_secs_f64() * 1e3
    );
    match &stats.incremental {
        Some(what) if stats.objects > 0 => format!("machlink: incremental: {what}; {linked}"),
        Some(what) => format!("machlink: incremental: {what}"),
        None => format!("machlink: linked {}: {linked}", opts.output.display()),
    }
}

#[cfg(test)]
mod tests {
    /// The process entry's `catch_unwind` relies on the unwinder, which this
    /// binary links in from libgcc_eh rather than loading libgcc_s (see
    /// build.rs; this test binary is linked like the command): a panic,
    /// here and on another thread, unwinds to where it is caught.
    #[test]
    fn a_panic_unwinds_to_its_catch() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let here = std::panic::catch_unwind(|| panic!("here"));
        let there = std::thread::spawn(|| panic!("there")).join();
        std::panic::set_hook(quiet);
        assert!(here.is_err() && there.is_err());
    }
}
