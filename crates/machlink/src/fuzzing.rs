//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, nightly) and
//! for the replay tests that run their corpora and regression inputs on
//! stable: each takes the fuzzer's bytes, runs one reader over them and
//! drops the result. A reader may reject any input with an error; it must
//! never panic, hang, or allocate memory the input's size does not justify.
//!
//! Targets that read files (response files, a state file) work in a
//! private scratch directory ([`scratch`]), and nothing reads files the
//! input names outside it.

use crate::arch::Arch;
use crate::input::archive::Archive;
use crate::input::dylib::{Dylib, DylibEnv};
use crate::input::object::ObjectFile;
use std::path::{Path, PathBuf};

/// The architecture a selector byte picks (low bit: x86_64 or arm64).
fn arch_of(selector: u8) -> &'static dyn Arch {
    if selector & 1 == 0 {
        &crate::arch::X86_64
    } else {
        &crate::arch::Arm64
    }
}

/// The first byte picks the architecture; the rest is the file.
fn split(data: &[u8]) -> (&'static dyn Arch, &[u8]) {
    match data.split_first() {
        Some((&s, rest)) => (arch_of(s), rest),
        None => (&crate::arch::X86_64, data),
    }
}

static SCRATCH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// A directory of this process's own under the system's temporary
/// directory, created on first use (its few files are overwritten by each
/// run) and removed when the process exits.
pub fn scratch() -> &'static Path {
    SCRATCH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("machlink-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory for the fuzz entries");
        // SAFETY: registers a plain function; it runs once, at exit.
        unsafe { libc::atexit(remove_scratch) };
        dir
    })
}

extern "C" fn remove_scratch() {
    if let Some(dir) = SCRATCH.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The object-file reader: selector byte, then an MH_OBJECT (or a
/// universal file holding one).
pub fn object(data: &[u8]) {
    let (arch, file) = split(data);
    let Ok(thin) = crate::input::thin(file, "fuzz.o", arch) else {
        return;
    };
    if let Ok(obj) = ObjectFile::parse(thin, "fuzz.o".into(), arch) {
        for atom in 0..obj.atoms.len().min(64) as u32 {
            let _ = obj.atom_data(atom);
            let _ = obj.describe(atom, 0);
        }
        let _ = crate::incremental::record::atom_keys(&obj);
        let _ = crate::incremental::record::symbols_hash(&obj);
    }
}

/// The archive reader: selector byte, then a `!<arch>` file; each member
/// (up to 64) is parsed as an object.
pub fn archive(data: &[u8]) {
    let (arch, file) = split(data);
    let Ok(ar) = Archive::parse(file, "fuzz.a".into()) else {
        return;
    };
    for member in 0..ar.members.len().min(64) as u32 {
        let _ = crate::input::parse_member(&ar, member, arch);
    }
}

fn env(arch: &'static dyn Arch) -> DylibEnv<'static> {
    static ROOTS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    DylibEnv {
        arch,
        min_os: 0x000e_0000,
        // Re-exports are looked up here (empty) rather than under `/`.
        syslibroots: ROOTS.get_or_init(|| vec![scratch().join("sdk")]),
    }
}

/// The .tbd reader (v1-v4 YAML, v5 JSON): selector byte, then the text.
/// Bit 1 of the selector reads it as the linker does for a library
/// (re-exports, `$ld$` symbols), else as the bare parser.
pub fn tbd(data: &[u8]) {
    let (arch, text) = split(data);
    if data.first().is_some_and(|s| s & 2 != 0) {
        let _ = Dylib::from_tbd(text, "fuzz.tbd".into(), &env(arch));
    } else {
        let _ = crate::input::tbd::parse_tbd(text, arch.tapi_target());
    }
}

/// The dylib reader: selector byte, then an MH_DYLIB (bit 1 of the
/// selector: read as `-bundle_loader`'s executable instead).
pub fn dylib(data: &[u8]) {
    let (arch, file) = split(data);
    let Ok(thin) = crate::input::thin(file, "fuzz.dylib", arch) else {
        return;
    };
    if data.first().is_some_and(|s| s & 2 != 0) {
        let _ = Dylib::from_loader_image(thin, "fuzz".into(), &env(arch));
    } else {
        let _ = Dylib::from_macho(thin, "fuzz.dylib".into(), &env(arch));
    }
}

/// The incremental state's decoders: the header chunk, the delta body,
/// an object record, a delta file and a whole state file.
pub fn state(data: &[u8]) {
    crate::incremental::state::fuzz::decode_all(data, scratch());
}

/// The journal decoder: a sealed journal (the file minus its 16-byte
/// prefix).
pub fn journal(data: &[u8]) {
    crate::incremental::journal::fuzz_decode(data, scratch());
}

/// The option parser with response files. The input is split at NUL
/// bytes: the first part is the command line, one argument per line; the
/// next (up to three) are response files `1`, `2` and `3`, which `@1`,
/// `@2` and `@3` name (in the command line and in response files).
pub fn options(data: &[u8]) {
    let dir = scratch().join("rsp");
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let command = parts.next().unwrap_or("");
    // No '/' survives but those of our response files' paths: a file list
    // or order file the input names could otherwise be a device.
    let local = |s: &str| {
        let mut s = s.replace('/', "_");
        for n in ["1", "2", "3"] {
            s = s.replace(&format!("@{n}"), &format!("@{}/{n}", dir.display()));
        }
        s
    };
    for (n, part) in ["1", "2", "3"].iter().zip(parts) {
        if std::fs::write(dir.join(n), local(part)).is_err() {
            return;
        }
    }
    let args: Vec<String> = command.lines().map(local).collect();
    let _ = crate::options::Options::parse(args);
}
