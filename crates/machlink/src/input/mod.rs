//! Reading inputs: MH_OBJECT files split into atoms, static archives
//! pulled on demand, TAPI text stubs (.tbd), binary dylibs and universal (fat)
//! files.
//!
//! Files are memory-mapped once and everything parsed from them borrows
//! those maps, so nothing is copied out of an input.

pub mod archive;
pub mod dylib;
pub mod eh_frame;
pub mod object;
pub mod tbd;

use crate::error::{LinkError, Result};
use crate::options::{InputArg, Options};
use memmap2::Mmap;
use std::path::{Path, PathBuf};

/// What a file turned out to be, by its magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Object,
    Archive,
    Dylib,
    Tbd,
}

/// An input file mapped into memory.
pub struct MappedFile {
    pub path: PathBuf,
    pub map: Mmap,
    /// For `-force_load` (and `-all_load`): load every archive member.
    pub force_load: bool,
}

impl MappedFile {
    pub fn open(path: &Path, force_load: bool) -> Result<MappedFile> {
        let file = std::fs::File::open(path)
            .map_err(|e| LinkError::file(path.display(), format!("cannot open: {e}")))?;
        // SAFETY: inputs are only read; a concurrent writer could change what
        // we read, as with any linker, but not our memory safety beyond that.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| LinkError::file(path.display(), format!("cannot map: {e}")))?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
            force_load,
        })
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// The x86_64 slice of a universal file, or the whole file.
pub fn thin<'a>(data: &'a [u8], name: &str) -> Result<&'a [u8]> {
    if data.len() < 8 || data[..4] != [0xca, 0xfe, 0xba, 0xbe] {
        return Ok(data);
    }
    let fat = ::object::read::macho::MachOFatFile32::parse(data)
        .map_err(|e| LinkError::file(name, format!("malformed universal file: {e}")))?;
    for arch in fat.arches() {
        use ::object::read::macho::FatArch;
        if arch.cputype() == ::object::macho::CPU_TYPE_X86_64 {
            return arch
                .data(data)
                .map_err(|e| LinkError::file(name, format!("malformed universal file: {e}")));
        }
    }
    Err(LinkError::file(name, "universal file has no x86_64 slice"))
}

/// Classifies a (thin) file by its first bytes.
pub fn kind_of(data: &[u8], name: &str) -> Result<FileKind> {
    if data.starts_with(b"!<arch>\n") {
        return Ok(FileKind::Archive);
    }
    if data.starts_with(b"--- !tapi") || data.starts_with(b"---") || data.starts_with(b"{") {
        return Ok(FileKind::Tbd);
    }
    if data.len() >= 16 && data[..4] == [0xcf, 0xfa, 0xed, 0xfe] {
        let filetype = u32::from_le_bytes(data[12..16].try_into().unwrap());
        return match filetype {
            ::object::macho::MH_OBJECT => Ok(FileKind::Object),
            ::object::macho::MH_DYLIB | ::object::macho::MH_DYLIB_STUB => Ok(FileKind::Dylib),
            other => Err(LinkError::file(
                name,
                format!("cannot link a Mach-O file of type {other}"),
            )),
        };
    }
    if data.starts_with(b"\x7fELF") {
        return Err(LinkError::file(name, "is an ELF file, not a Mach-O object"));
    }
    if data.len() >= 8 && data[..4] == [0xce, 0xfa, 0xed, 0xfe] {
        return Err(LinkError::file(
            name,
            "is a 32-bit Mach-O file; the link is for x86_64",
        ));
    }
    Err(LinkError::file(
        name,
        "unknown file type (not an object, archive, dylib or .tbd)",
    ))
}

/// Finds `-lNAME` in the library search paths: in each directory,
/// `libNAME.tbd`, `libNAME.dylib`, then `libNAME.a` (ld64's default
/// `-search_paths_first` order).
pub fn find_library(opts: &Options, name: &str) -> Option<PathBuf> {
    let dirs = search_dirs(opts, &opts.library_paths, &["/usr/lib", "/usr/local/lib"]);
    dirs.iter().find_map(|dir| {
        ["tbd", "dylib", "a"]
            .iter()
            .map(|ext| dir.join(format!("lib{name}.{ext}")))
            .find(|p| p.is_file())
    })
}

/// Finds `-framework NAME`: `NAME.framework/NAME(.tbd)` in the framework paths.
pub fn find_framework(opts: &Options, name: &str) -> Option<PathBuf> {
    let dirs = search_dirs(
        opts,
        &opts.framework_paths,
        &["/System/Library/Frameworks", "/Library/Frameworks"],
    );
    dirs.iter().find_map(|dir| {
        let base = dir.join(format!("{name}.framework")).join(name);
        [base.with_extension("tbd"), base]
            .into_iter()
            .find(|p| p.is_file())
    })
}

/// User paths (re-rooted under each -syslibroot when they exist there),
/// then the default paths under each syslibroot.
fn search_dirs(opts: &Options, user: &[PathBuf], defaults: &[&str]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for p in user {
        for root in &opts.syslibroots {
            if p.is_absolute() {
                let rerooted = root.join(p.strip_prefix("/").unwrap_or(p));
                if rerooted.is_dir() {
                    dirs.push(rerooted);
                }
            }
        }
        dirs.push(p.clone());
    }
    let roots: Vec<PathBuf> = if opts.syslibroots.is_empty() {
        vec![PathBuf::from("/")]
    } else {
        opts.syslibroots.clone()
    };
    for root in roots {
        for d in defaults {
            dirs.push(root.join(d.trim_start_matches('/')));
        }
    }
    dirs
}

/// The files the command line names, in order, with `-l` and `-framework`
/// resolved, and whether each is force-loaded; reports every missing one.
pub fn input_paths(opts: &Options) -> Result<Vec<(PathBuf, bool)>> {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for arg in &opts.inputs {
        match arg {
            InputArg::File(p) => paths.push((p.clone(), opts.all_load)),
            InputArg::ForceLoad(p) => paths.push((p.clone(), true)),
            InputArg::Library(name) => match find_library(opts, name) {
                Some(p) => paths.push((p, opts.all_load)),
                None => errors.push(format!("library not found for -l{name}")),
            },
            InputArg::Framework(name) => match find_framework(opts, name) {
                Some(p) => paths.push((p, opts.all_load)),
                None => errors.push(format!("framework not found for -framework {name}")),
            },
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(paths),
    }
}

/// Maps the inputs [`input_paths`] found, reporting every one that fails.
pub fn map_inputs(paths: &[(PathBuf, bool)]) -> Result<Vec<MappedFile>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for (path, force) in paths {
        match MappedFile::open(path, *force) {
            Ok(f) => files.push(f),
            Err(e) => errors.extend(e.messages),
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(files),
    }
}
