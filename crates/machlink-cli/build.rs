//! Links the `machlink` binary statically on Linux with glibc, where the
//! C library's static archives are installed.
//!
//! Every incremental relink is a fresh process, and a dynamically linked
//! one spends much of a short run before `main`: the dynamic loader maps
//! libgcc_s, libm and libc, and relocates and binds them all. A static
//! executable starts with none of that (about 0.3 ms less for a run that
//! finds nothing changed, out of 1.2 ms; see README.md, "Building").
//!
//! `-C target-feature=+crt-static` would do it, but Cargo applies rustflags
//! to proc-macros and build scripts too unless `--target` is given, which
//! moves the binaries out of target/release. Here only this binary gets the
//! static link, through its own link arguments. std still names its
//! libraries for a dynamic link (`-Bdynamic -lgcc_s ... -lc`, with the
//! dynamic unwinder libgcc_s that a static link replaces with libgcc_eh),
//! so a directory searched before the system's maps each of those names to
//! its static archive, as a linker script named like the shared library.
//!
//! The executable is not position-independent: a static PIE relocates
//! itself at every start (4,000 relocations, 20 pages written), which costs
//! a short run another 0.07 ms; nothing in machlink relies on its own
//! address being random.
//!
//! Falls back to the usual dynamic link, with a warning, where an archive
//! is missing (Debian and Ubuntu ship libc.a in libc6-dev, which a C
//! compiler brings; Fedora in glibc-static). `MACHLINK_DYNAMIC=1` asks for
//! the dynamic link (for tools that preload libraries, such as Valgrind's
//! memcheck or a sanitizer's runtime).
//!
//! The `machlink_static` cfg tells the code it runs without a dynamic
//! loader: `machlink demo` then runs its program with the macho-run binary
//! rather than in this process (macho-run finds the C functions a Mach-O
//! program calls with `dlsym` in the process's libc).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libraries std and the libc crate name for a dynamic link on Linux
/// with glibc, each with the archive that stands for it in a static link
/// (`None`: the archive of the same name). Since glibc 2.34 libutil, librt,
/// libpthread and libdl are empty archives kept for old command lines.
const LIBRARIES: &[(&str, Option<&str>)] = &[
    ("gcc_s", Some("gcc_eh")),
    ("util", None),
    ("rt", None),
    ("pthread", None),
    ("m", None),
    ("dl", None),
    ("c", None),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MACHLINK_DYNAMIC");
    println!("cargo:rustc-check-cfg=cfg(machlink_static)");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let features = var("CARGO_CFG_TARGET_FEATURE");
    if features.split(',').any(|f| f == "crt-static") {
        // Already static by the target's own means (e.g. `--target` with
        // `+crt-static`): nothing to add.
        println!("cargo:rustc-cfg=machlink_static");
        return;
    }
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    if !var("MACHLINK_DYNAMIC").is_empty() && var("MACHLINK_DYNAMIC") != "0" {
        return;
    }
    let Some(compiler) = link_compiler() else {
        return;
    };
    let dir = PathBuf::from(var("OUT_DIR")).join("static-libs");
    match shadow_libraries(&compiler, &dir) {
        Ok(()) => {
            for arg in ["-static", "-no-pie", &format!("-L{}", dir.display())] {
                println!("cargo:rustc-link-arg-bin=machlink={arg}");
            }
            println!("cargo:rustc-cfg=machlink_static");
        }
        Err(why) => println!(
            "cargo:warning=machlink is linked dynamically (it starts about 0.3 ms slower): {why}"
        ),
    }
}

/// The C compiler that drives the link: Cargo's linker for the target, or
/// `cc` when building for this machine. None for a cross build with the
/// default linker, whose archives `cc` would not know.
fn link_compiler() -> Option<String> {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if let Ok(linker) = env::var("RUSTC_LINKER") {
        return Some(linker);
    }
    (env::var("HOST").ok() == env::var("TARGET").ok()).then(|| "cc".to_string())
}

/// Writes, for each of [`LIBRARIES`], a linker script `lib<name>.so` in
/// `dir` that names the static archive (the linker finds these before the
/// shared libraries of the same names). Fails naming what is missing.
fn shadow_libraries(compiler: &str, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut missing = Vec::new();
    for &(name, archive) in LIBRARIES {
        let archive = format!("lib{}.a", archive.unwrap_or(name));
        let Some(path) = archive_path(compiler, &archive) else {
            missing.push(archive);
            continue;
        };
        // A C library upgraded in place is linked in again.
        println!("cargo:rerun-if-changed={}", path.display());
        // libc.a and libgcc_eh.a call each other (the unwinder uses
        // dl_iterate_phdr, glibc's cancellation unwinds), and both need
        // libgcc.a's helpers: one group, as a C compiler's static link has.
        let script = if name == "c" {
            let gcc = archive_path(compiler, "libgcc.a").ok_or("libgcc.a is not installed")?;
            let eh = archive_path(compiler, "libgcc_eh.a").ok_or("libgcc_eh.a is not installed")?;
            format!(
                "GROUP ( {} {} {} )\n",
                path.display(),
                gcc.display(),
                eh.display()
            )
        } else {
            format!("INPUT ( {} )\n", path.display())
        };
        let shadow = dir.join(format!("lib{name}.so"));
        fs::write(&shadow, script).map_err(|e| format!("{}: {e}", shadow.display()))?;
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{compiler} finds no {} (Debian and Ubuntu: install libc6-dev; Fedora: glibc-static)",
            missing.join(", ")
        ))
    }
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
