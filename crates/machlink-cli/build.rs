//! Links the `machlink` binary for a quick start on Linux with glibc: with
//! libc as its only shared library, at a fixed address.
//!
//! Every incremental relink is a fresh process, and much of a short run is
//! spent before `main`. The dynamic loader maps each shared library the
//! binary needs, relocates it and binds its symbols, and the kernel pays
//! for each mapping's page faults; a position-independent binary is
//! relocated too (4,000 relocations over some 20 pages). std links the
//! unwinder as a shared library (`-lgcc_s`), and libm came in for four
//! functions of macho-run's (now looked up when a program calls them). So
//! here, for this binary only:
//! - std's `-lgcc_s` finds a linker script named `libgcc_s.so`, in a
//!   directory searched before the system's, that stands for the static
//!   unwinder libgcc_eh.a: what `gcc -static-libgcc` does for C programs
//!   (std names libgcc_s itself, so that option alone would not do it);
//! - `-no-pie`: nothing in machlink relies on its own address being
//!   random (the heap, stacks and mappings still are).
//!
//! Together about 0.2 ms less per run (see README.md, "Building").
//!
//! A fully static binary would start another 0.1 ms sooner, but macho-run,
//! which `machlink demo` uses in this process, finds the C functions a
//! Mach-O program calls with `dlsym` in the process's shared libc. And
//! `-C target-feature=+crt-static` would apply to proc-macros and build
//! scripts too, unless `--target` moved the binaries out of target/release.
//!
//! Where libgcc_eh.a is missing the usual link is kept, with a warning.
//! The `machlink_libc_only` cfg tells the tests which link was made.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(machlink_libc_only)");
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
    {
        return;
    }
    // Not position-independent (see above).
    println!("cargo:rustc-link-arg-bin=machlink=-no-pie");
    let dir = PathBuf::from(var("OUT_DIR")).join("libgcc_s");
    match link_compiler().map(|cc| static_unwinder(&cc, &dir)) {
        Some(Ok(())) => {
            println!("cargo:rustc-link-arg-bin=machlink=-L{}", dir.display());
            println!("cargo:rustc-cfg=machlink_libc_only");
        }
        Some(Err(why)) => println!(
            "cargo:warning=machlink is linked with libgcc_s (it starts about 0.1 ms slower): {why}"
        ),
        None => {}
    }
}

/// The C compiler that drives the link: Cargo's linker for the target, or
/// `cc` when building for this machine. None for a cross build with the
/// default linker, whose libraries `cc` would not know.
fn link_compiler() -> Option<String> {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if let Ok(linker) = env::var("RUSTC_LINKER") {
        return Some(linker);
    }
    (env::var("HOST").ok() == env::var("TARGET").ok()).then(|| "cc".to_string())
}

/// Writes `dir/libgcc_s.so`, a linker script naming the C compiler's
/// libgcc_eh.a.
fn static_unwinder(compiler: &str, dir: &Path) -> Result<(), String> {
    let archive = archive_path(compiler, "libgcc_eh.a")
        .ok_or_else(|| format!("{compiler} finds no libgcc_eh.a"))?;
    // An upgraded compiler's archive is linked in again.
    println!("cargo:rerun-if-changed={}", archive.display());
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = dir.join("libgcc_s.so");
    fs::write(&script, format!("INPUT ( {} )\n", archive.display()))
        .map_err(|e| format!("{}: {e}", script.display()))
}

/// Where the C compiler finds `file` among its libraries; None when it
/// does not (it then prints the bare name back).
fn archive_path(compiler: &str, file: &str) -> Option<PathBuf> {
    let out = Command::new(compiler)
        .arg(format!("-print-file-name={file}"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (path.is_absolute() && path.is_file()).then_some(path)
}
