//! `machlink`: the ld64-compatible command line over the machlink library.

use std::process::ExitCode;

const USAGE: &str = "usage: machlink [options] file...\n\
An ld64-compatible Mach-O linker with incremental relinking.\n\
  --version   print the version\n\
  -v          print the version and the configuration";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-v") => {
            println!(
                "machlink {} (ld64-compatible; targets: x86_64)",
                machlink::VERSION
            );
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("machlink: error: linking is not implemented yet (issue: the full x86_64 linker)\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}
