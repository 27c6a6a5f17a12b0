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
    if opts.print_version || opts.verbose {
        println!(
            "machlink {} (ld64-compatible; targets: x86_64)",
            machlink::VERSION
        );
        if opts.print_version {
            return ExitCode::SUCCESS;
        }
    }
    match machlink::link::link(&opts) {
        Ok(stats) => {
            if opts.verbose {
                if let Some(what) = &stats.incremental {
                    eprintln!("machlink: incremental: {what}");
                }
            }
            if (opts.print_statistics || opts.verbose) && stats.objects > 0 {
                let phases: Vec<String> = stats
                    .phases
                    .iter()
                    .map(|(n, ms)| format!("{n} {ms:.2}ms"))
                    .collect();
                eprintln!(
                    "machlink: {} objects, {} atoms, {} relocations, {} bytes written; {}",
                    stats.objects,
                    stats.atoms,
                    stats.relocs,
                    stats.output_size,
                    phases.join(", ")
                );
            } else if opts.print_statistics && !stats.phases.is_empty() {
                let phases: Vec<String> = stats
                    .phases
                    .iter()
                    .map(|(n, ms)| format!("{n} {ms:.2}ms"))
                    .collect();
                eprintln!("machlink: update phases: {}", phases.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("machlink: {e}");
            ExitCode::FAILURE
        }
    }
}
