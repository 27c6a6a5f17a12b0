//! Programs for the other architecture: an x86_64 macho-run handed an
//! arm64 Mach-O runs it through an aarch64 build of itself under
//! qemu-aarch64, so that `macho-run PROG` is the one entry point whatever
//! PROG was built for.
//!
//! The aarch64 build is started through the aarch64 glibc's dynamic loader
//! with `--library-path`, not with `qemu-aarch64 -L`: `-L` makes qemu look
//! up every absolute path under its prefix first, which would change what
//! the program sees of the file system.

use crate::error::EXIT_CANNOT_EXECUTE;
use object::macho;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Names the aarch64 build of macho-run to use instead of the default.
pub const AARCH64_ENV: &str = "MACHO_RUN_AARCH64";
/// Where the aarch64 glibc (and its dynamic loader) lives.
pub const AARCH64_SYSROOT_LIB: &str = "/usr/aarch64-linux-gnu/lib";
const AARCH64_LD_SO: &str = "ld-linux-aarch64.so.1";
const QEMU: &str = "qemu-aarch64";
const BUILD_HINT: &str = "cargo build --release -p macho-run --target aarch64-unknown-linux-gnu";
const SETUP_HINT: &str = "scripts/setup.sh";

/// The CPU type `data` would run as: a thin file's, or for a universal
/// file, `host`'s when it has that slice and else its first slice's.
/// None when the file is too short or not a Mach-O (the loader then says
/// what is wrong).
pub fn cputype(data: &[u8], host: u32) -> Option<u32> {
    let word = |at: usize, big: bool| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    match word(0, true)? {
        macho::FAT_MAGIC => {
            let count = word(4, true)? as usize;
            let slices: Vec<u32> = (0..count.min(64))
                .map_while(|i| word(8 + i * 20, true))
                .collect();
            slices
                .iter()
                .copied()
                .find(|&c| c == host)
                .or(slices.first().copied())
        }
        _ if word(0, false)? == macho::MH_MAGIC_64 => word(4, false),
        _ => None,
    }
}

/// An arm64 program started on x86_64 runs through the aarch64 build: this
/// replaces the process then (and never returns). Anything else is for
/// this build to load or refuse, so this returns.
pub fn exec_if_foreign(data: &[u8], prog: &Path, args: &[OsString]) {
    let arm64 = cputype(data, crate::arch::CPU_TYPE) == Some(macho::CPU_TYPE_ARM64);
    if cfg!(target_arch = "x86_64") && arm64 {
        exec_aarch64(prog, args)
    }
}

/// The aarch64 macho-run: `$MACHO_RUN_AARCH64`, else the build beside this
/// one: from `target/<profile>/macho-run` (or another binary of the
/// workspace, a test or an example) to
/// `target/aarch64-unknown-linux-gnu/<profile>/macho-run`.
pub fn aarch64_build() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(AARCH64_ENV) {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    // Test binaries and examples (through run_file_in_child) live one
    // level further down, in target/<profile>/{deps,examples}.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir = dir.parent()?;
    }
    let profile = dir.file_name()?;
    Some(
        dir.parent()?
            .join("aarch64-unknown-linux-gnu")
            .join(profile)
            .join("macho-run"),
    )
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(tool))
        .find(|p| p.is_file())
}

/// Refuses to run `prog`: prints why and exits 126, as for any program
/// that cannot be executed.
fn refuse(prog: &str, why: String) -> ! {
    eprintln!("macho-run: error: {prog}: {why}");
    std::process::exit(EXIT_CANNOT_EXECUTE)
}

/// What running an arm64 program on an x86_64 host takes: qemu-aarch64,
/// the aarch64 glibc's dynamic loader, and the aarch64 build of macho-run.
pub struct Aarch64Runner {
    qemu: PathBuf,
    ld_so: PathBuf,
    build: PathBuf,
}

/// Finds the pieces of [`Aarch64Runner`], or says which is missing and how
/// to get it, as a phrase that follows "an arm64 Mach-O" ("needs the
/// aarch64 build of macho-run (...): build it with `cargo build ...`").
/// A program that runs arm64 programs (`machlink demo --arch arm64`) asks
/// this first, so it can stop before doing work whose result cannot run.
pub fn aarch64_runner() -> Result<Aarch64Runner, String> {
    let build = match aarch64_build() {
        Some(b) if b.is_file() => b,
        other => {
            return Err(format!(
                "needs the aarch64 build of macho-run{}: \
                 build it with `{BUILD_HINT}` (or set {AARCH64_ENV})",
                other.map_or(String::new(), |b| format!(" ({} is missing)", b.display()))
            ))
        }
    };
    let Some(qemu) = find_in_path(QEMU) else {
        return Err(format!("needs {QEMU} on PATH: run `{SETUP_HINT}`"));
    };
    let ld_so = Path::new(AARCH64_SYSROOT_LIB).join(AARCH64_LD_SO);
    if !ld_so.is_file() {
        return Err(format!(
            "needs the aarch64 C library ({} is missing): run `{SETUP_HINT}`",
            ld_so.display()
        ));
    }
    Ok(Aarch64Runner { qemu, ld_so, build })
}

/// Replaces this process with the aarch64 macho-run running `prog` with
/// `args` under qemu-aarch64 (environment inherited, so its exit status is
/// ours). Exits 126 naming what to install when a piece is missing.
pub fn exec_aarch64(prog: &Path, args: &[OsString]) -> ! {
    use std::os::unix::process::CommandExt;
    let name = prog.display().to_string();
    let runner = aarch64_runner()
        .unwrap_or_else(|why| refuse(&name, format!("is an arm64 Mach-O, which {why}")));
    let err = std::process::Command::new(&runner.qemu)
        .arg(&runner.ld_so)
        .arg("--library-path")
        .arg(AARCH64_SYSROOT_LIB)
        .arg(&runner.build)
        .arg(prog)
        .args(args)
        .exec();
    refuse(
        &name,
        format!("cannot start {}: {err}", runner.qemu.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thin(cputype: u32) -> Vec<u8> {
        let mut d = macho::MH_MAGIC_64.to_le_bytes().to_vec();
        d.extend_from_slice(&cputype.to_le_bytes());
        d
    }

    fn fat(cputypes: &[u32]) -> Vec<u8> {
        let mut d = macho::FAT_MAGIC.to_be_bytes().to_vec();
        d.extend_from_slice(&(cputypes.len() as u32).to_be_bytes());
        for &c in cputypes {
            d.extend_from_slice(&c.to_be_bytes());
            d.extend_from_slice(&[0; 16]);
        }
        d
    }

    #[test]
    fn thin_and_universal_files_name_their_architecture() {
        let (x86, arm) = (macho::CPU_TYPE_X86_64, macho::CPU_TYPE_ARM64);
        assert_eq!(cputype(&thin(arm), x86), Some(arm));
        assert_eq!(cputype(&thin(x86), x86), Some(x86));
        assert_eq!(cputype(&fat(&[arm, x86]), x86), Some(x86));
        assert_eq!(cputype(&fat(&[arm]), x86), Some(arm));
        assert_eq!(cputype(b"\x7fELF\x02\x01\x01\x00", x86), None);
        assert_eq!(cputype(&thin(arm)[..6], x86), None);
    }
}
