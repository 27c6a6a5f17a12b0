//! `machlink`: the ld64-compatible command line over the machlink library.

mod demo;
mod verify;

use machlink::options::Options;
use std::process::ExitCode;

/// `machlink verify BINARY...`: exit 0 when every file keeps the
/// invariants, 1 with the list of violations otherwise.
fn verify_command(files: &[String]) -> ExitCode {
    if files.is_empty() {
        eprintln!("usage: machlink verify BINARY...");
        return ExitCode::from(2);
    }
    let mut ok = true;
    for f in files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("machlink verify: {f}: cannot read: {e}");
                ok = false;
                continue;
            }
        };
        match verify::verify(&data, f) {
            Err(e) => {
                eprintln!("machlink verify: {e}");
                ok = false;
            }
            Ok(r) if r.violations.is_empty() => println!(
                "{f}: ok ({} functions, {} branches, {} trampolines, {} fixups, {} exports)",
                r.functions, r.branches, r.trampolines, r.fixups, r.exports
            ),
            Ok(r) => {
                ok = false;
                println!("{f}: {} violation(s)", r.violations.len());
                for v in r.violations {
                    println!("  {v}");
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("verify") {
        return verify_command(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("demo") {
        return match demo::main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("machlink demo: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "--help" || a == "-help") {
        println!("usage: machlink [ld64 options] file...\nAn ld64-compatible Mach-O linker for x86_64 (see README.md for the flags).");
        return ExitCode::SUCCESS;
    }
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("machlink: {e}");
            return ExitCode::FAILURE;
        }
    };
    if opts.print_version {
        let banner = format!(
            "machlink {} (ld64-compatible; targets: x86_64)",
            machlink::VERSION
        );
        // --version answers on stdout; `-v` speaks on stderr.
        if opts.verbose {
            eprintln!("{banner}");
        } else {
            println!("{banner}");
        }
        return ExitCode::SUCCESS;
    }
    let start = std::time::Instant::now();
    match machlink::link::link(&opts) {
        Ok(stats) => {
            if opts.verbose {
                eprintln!("{}", verbose_line(&opts, &stats, start.elapsed()));
            }
            if opts.print_statistics && !stats.phases.is_empty() {
                eprint!("{}", machlink::timing::table(&stats.phases));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("machlink: {e}");
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
