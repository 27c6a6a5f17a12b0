//! `machlink`: the ld64-compatible command line over the machlink library.

use machlink::options::Options;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
            if opts.print_statistics || opts.verbose {
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
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("machlink: {e}");
            ExitCode::FAILURE
        }
    }
}
