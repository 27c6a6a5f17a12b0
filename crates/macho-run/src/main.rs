//! `macho-run PROG [ARGS...]`: run an x86_64 Mach-O executable on Linux and
//! exit with its exit status (126 when it cannot be loaded, 127 when its
//! imports cannot be bound).

use std::ffi::OsString;

const USAGE: &str = "usage: macho-run PROG [ARGS...]\n\
Runs an x86_64 macOS executable (MH_EXECUTE with LC_MAIN) on Linux x86_64,\n\
loading the dylibs it names (absolute, @rpath, @executable_path, @loader_path)\n\
and binding its libSystem imports to the host C library.";

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(prog) = args.next() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    if prog == "--help" || prog == "-h" {
        println!("{USAGE}");
        return;
    }
    if prog == "--version" {
        println!("macho-run {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let rest: Vec<OsString> = args.collect();
    let name = prog.to_string_lossy().into_owned();
    let loaded = std::fs::File::open(&prog)
        .and_then(|f| {
            // SAFETY: the file is only read, and macho-run copies what it
            // maps; a concurrent writer could only change what we copy.
            unsafe { memmap2::Mmap::map(&f) }
        })
        .map_err(|source| macho_run::LoadError::Io {
            file: name.clone(),
            source,
        })
        .and_then(|data| macho_run::load(&data, &name));
    match loaded {
        Ok(program) => program.run(&name, &rest),
        Err(e) => {
            eprintln!("macho-run: error: {e}");
            std::process::exit(e.exit_status());
        }
    }
}
