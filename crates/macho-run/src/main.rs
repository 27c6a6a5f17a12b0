//! `macho-run PROG [ARGS...]`: run an x86_64 or arm64 Mach-O executable on
//! Linux and exit with its exit status (126 when it cannot be loaded, 127
//! when its imports cannot be bound).

use std::ffi::OsString;

const USAGE: &str = "usage: macho-run PROG [ARGS...]\n\
Runs a macOS executable (MH_EXECUTE with LC_MAIN) on Linux, loading the\n\
dylibs it names (absolute, @rpath, @executable_path, @loader_path) and\n\
binding its libSystem imports to the host C library. x86_64 programs run\n\
natively on x86_64; arm64 programs run on aarch64, or from x86_64 through\n\
the aarch64 build of macho-run under qemu-aarch64 (MACHO_RUN_AARCH64 names\n\
it; by default target/aarch64-unknown-linux-gnu/<profile>/macho-run).";

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
        .and_then(|data| {
            run_foreign(&data, &prog, &rest);
            macho_run::load(&data, &name)
        });
    match loaded {
        Ok(program) => program.run(&name, &rest),
        Err(e) => {
            eprintln!("macho-run: error: {e}");
            std::process::exit(e.exit_status());
        }
    }
}

/// An arm64 program started on x86_64 runs through the aarch64 build
/// (this never returns then); anything else is for this build to load or
/// refuse.
#[cfg(target_arch = "x86_64")]
fn run_foreign(data: &[u8], prog: &std::ffi::OsStr, args: &[OsString]) {
    use macho_run::foreign;
    if foreign::cputype(data, macho_run::arch::CPU_TYPE) == Some(object::macho::CPU_TYPE_ARM64) {
        foreign::exec_aarch64(std::path::Path::new(prog), args)
    }
}

/// The aarch64 build runs arm64 programs itself and refuses others.
#[cfg(not(target_arch = "x86_64"))]
fn run_foreign(_data: &[u8], _prog: &std::ffi::OsStr, _args: &[OsString]) {}
