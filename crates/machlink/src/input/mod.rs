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
mod residency;
pub mod tbd;

use crate::arch::Arch;
use crate::error::{LinkError, Result};
use crate::options::{InputArg, Options};
use archive::Archive;
use dylib::Dylib;
use memmap2::Mmap;
use object::ObjectFile;
use rayon::prelude::*;
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
    /// Size and modification time (ns) of the file that was mapped: an
    /// incremental link records them with the hash of `map`, so that
    /// stamp and hash describe the same bytes, the ones linked.
    pub stamp: (u64, i128),
    /// (device, inode number) of the file mapped (see
    /// [`crate::incremental::Fingerprint::inode`]).
    pub inode: (u64, u64),
}

impl MappedFile {
    pub fn open(path: &Path, force_load: bool) -> Result<MappedFile> {
        let file = std::fs::File::open(path)
            .map_err(|e| LinkError::file(path.display(), format!("cannot open: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| LinkError::file(path.display(), format!("cannot examine: {e}")))?;
        let stamp = crate::output::stamp_of_meta(&meta);
        // SAFETY: inputs are only read; a concurrent writer could change what
        // we read, as with any linker, but not our memory safety beyond that.
        let map = usize::try_from(stamp.0)
            .map_err(|_| std::io::Error::other("too large to map"))
            .and_then(|len| unsafe { memmap2::MmapOptions::new().len(len).map(&file) })
            .map_err(|e| LinkError::file(path.display(), format!("cannot map: {e}")))?;
        use std::os::unix::fs::MetadataExt;
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
            force_load,
            stamp,
            inode: (meta.dev(), meta.ino()),
        })
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// The slice of a universal file for `arch`, or the whole file. A slice of
/// the target's own subtype wins; else one whose subtype the target
/// accepts (an arm64e slice is no arm64 one, whatever its order).
pub fn thin<'a>(data: &'a [u8], name: &str, arch: &dyn Arch) -> Result<&'a [u8]> {
    use ::object::read::macho::FatArch;
    if data.len() < 8 || data[..4] != [0xca, 0xfe, 0xba, 0xbe] {
        return Ok(data);
    }
    let fat = ::object::read::macho::MachOFatFile32::parse(data)
        .map_err(|e| LinkError::file(name, format!("malformed universal file: {e}")))?;
    let ours = fat
        .arches()
        .iter()
        .filter(|s| s.cputype() == arch.cpu_type());
    let subtype =
        |s: &&::object::macho::FatArch32| s.cpusubtype() & !::object::macho::CPU_SUBTYPE_MASK;
    let exact = ours.clone().find(|s| subtype(s) == arch.cpu_subtype());
    let slice = exact.or_else(|| {
        ours.clone()
            .find(|s| arch.accepts_cpu_subtype(s.cpusubtype()))
    });
    if let Some(slice) = slice {
        return slice
            .data(data)
            .map_err(|e| LinkError::file(name, format!("malformed universal file: {e}")));
    }
    Err(LinkError::file(
        name,
        format!("universal file has no {} slice", arch.name()),
    ))
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
            "is a 32-bit Mach-O file; machlink links 64-bit images",
        ));
    }
    Err(LinkError::file(
        name,
        "unknown file type (not an object, archive, dylib or .tbd)",
    ))
}

/// Finds `-lNAME` in the library search paths: in each directory,
/// `libNAME.tbd`, `libNAME.dylib`, `libNAME.so`, then `libNAME.a` (ld64's
/// default `-search_paths_first` order); with `-search_dylibs_first`,
/// every directory is searched for a dylib before any for a `.a`. A NAME
/// ending in `.o` (`-lcrt1.o`) is that file itself, found in the same
/// directories, as ld64 and lld do for the old C runtime start files.
pub fn find_library(opts: &Options, name: &str) -> Option<PathBuf> {
    let dirs = search_dirs(opts, &opts.library_paths, &["/usr/lib", "/usr/local/lib"]);
    if name.ends_with(".o") {
        return dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    }
    let find = |exts: &[&str]| {
        dirs.iter().find_map(|dir| {
            exts.iter()
                .map(|ext| dir.join(format!("lib{name}.{ext}")))
                .find(|p| p.is_file())
        })
    };
    if opts.search_dylibs_first {
        find(&["tbd", "dylib", "so"]).or_else(|| find(&["a"]))
    } else {
        find(&["tbd", "dylib", "so", "a"])
    }
}

/// Finds `-framework NAME[,SUFFIX]`: in each framework directory,
/// `NAME.framework/NAME` with SUFFIX appended to its resolved path (the
/// `_debug` / `_profile` variants, which have no symlink of their own),
/// else `NAME.framework/NAME.tbd`, else `NAME.framework/NAME`, as lld does.
pub fn find_framework(opts: &Options, name: &str) -> Option<PathBuf> {
    let (name, suffix) = name.split_once(',').unwrap_or((name, ""));
    let dirs = search_dirs(
        opts,
        &opts.framework_paths,
        &["/System/Library/Frameworks", "/Library/Frameworks"],
    );
    dirs.iter().find_map(|dir| {
        let base = dir.join(format!("{name}.framework")).join(name);
        let suffixed = (!suffix.is_empty())
            .then(|| std::fs::canonicalize(&base).ok())
            .flatten()
            .map(|real| {
                let mut s = real.into_os_string();
                s.push(suffix);
                PathBuf::from(s)
            });
        suffixed
            .into_iter()
            .chain([base.with_extension("tbd"), base])
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
    if opts.no_default_paths {
        return dirs;
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

/// Everything parsed from the inputs, borrowing their maps.
pub struct Inputs<'a> {
    pub objects: Vec<ObjectFile<'a>>,
    pub archives: Vec<Archive<'a>>,
    pub dylibs: Vec<Dylib>,
    /// The load command of each of `dylibs` (LC_LOAD_DYLIB when absent).
    pub dylib_cmds: Vec<u32>,
    /// Archives and dylibs in command-line order, for symbol lookup.
    pub(crate) libraries: Vec<Library>,
    /// Archive members already loaded: (archive, member).
    pub(crate) loaded_members: rustc_hash::FxHashSet<(u32, u32)>,
    /// The linker's own object holding `__dyld_private` (classic lazy binding).
    pub dyld_private: Option<u32>,
    /// `-bundle_loader`: the executable whose exports a bundle binds to
    /// (ordinal BIND_SPECIAL_DYLIB_MAIN_EXECUTABLE; no load command).
    pub bundle_loader: Option<Dylib>,
    /// The order in which `objects` are laid out (lld's load order, see
    /// `crate::load_order`); empty: index order.
    pub layout_order: Vec<u32>,
    /// `-dead_strip -incremental`: `None` when every atom was kept (see
    /// [`crate::dead_strip::keep_all_for_incremental`]), or why the link
    /// stripped for real and can keep no incremental state.
    pub dead_strip_blocker: Option<String>,
}

impl<'f> Inputs<'f> {
    /// Lets go of what the link has finished with once the image's
    /// contents are written, before LINKEDIT (whose symbol table is the
    /// link's largest allocation) is built: the objects' parsed
    /// relocations are freed, and their section contents and relocation
    /// entries unmapped (see [`residency`]), within the input files'
    /// mappings only: an object of the linker's own lives in ordinary
    /// memory, which `MADV_DONTNEED` would discard.
    pub fn release_contents(&mut self, files: &[MappedFile]) {
        for obj in &mut self.objects {
            obj.relocs = Vec::new();
        }
        self.release_mapped(files, ObjectFile::spent_contents);
        residency::trim_heap();
    }

    /// Unmaps `stretches` of each object, within the input files'
    /// mappings only: an object of the linker's own lives in ordinary
    /// memory, which `MADV_DONTNEED` would discard.
    fn release_mapped(
        &self,
        files: &[MappedFile],
        stretches: impl Fn(&ObjectFile<'f>) -> Vec<&'f [u8]>,
    ) {
        let mut maps: Vec<&[u8]> = files.iter().map(|f| &f.map[..]).collect();
        maps.sort_unstable_by_key(|m| m.as_ptr());
        let mapped = |s: &&[u8]| {
            let i = maps.partition_point(|m| m.as_ptr() <= s.as_ptr());
            i > 0 && within(maps[i - 1], s)
        };
        for obj in &self.objects {
            let mut spent = stretches(obj);
            spent.retain(mapped);
            residency::release(&mut spent);
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Library {
    Archive(u32),
    Dylib(u32),
}

/// Parses every mapped input; objects in parallel.
pub fn parse_inputs<'f>(files: &'f [MappedFile], opts: &Options) -> Result<Inputs<'f>> {
    let arch = opts.target();
    let env = dylib::DylibEnv::new(opts);
    let mut kinds = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        let name = f.name();
        match thin(&f.map, &name, arch).and_then(|d| kind_of(d, &name).map(|k| (d, k))) {
            Ok((data, kind)) => kinds.push((f, data, kind)),
            Err(e) => errors.extend(e.messages),
        }
    }
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    let copies = earlier_copies(&kinds);
    let read_dylib = |(f, data, kind): &(&MappedFile, &[u8], FileKind)| match kind {
        FileKind::Tbd => Some(Dylib::from_tbd(data, f.name(), &env)),
        FileKind::Dylib => Some(Dylib::from_macho(data, f.name(), &env)),
        _ => None,
    };
    // Objects and dylib stubs parse in parallel (a large .tbd is a few ms
    // of YAML on its own).
    let (parsed, mut dylibs): (Vec<Result<ObjectFile>>, Vec<Option<Result<Dylib>>>) = rayon::join(
        || {
            kinds
                .par_iter()
                .enumerate()
                .filter(|(_, (_, _, k))| *k == FileKind::Object)
                .map(|(i, (f, data, _))| {
                    parse_object(f, data, arch, true).map(|mut o| {
                        o.input = i as u32;
                        o
                    })
                })
                .collect()
        },
        || {
            kinds
                .par_iter()
                .zip(&copies)
                .map(|(k, copy)| if copy.is_some() { None } else { read_dylib(k) })
                .collect()
        },
    );
    let mut inputs = Inputs {
        objects: Vec::new(),
        archives: Vec::new(),
        dylibs: Vec::new(),
        dylib_cmds: Vec::new(),
        libraries: Vec::new(),
        loaded_members: Default::default(),
        dyld_private: None,
        bundle_loader: None,
        layout_order: Vec::new(),
        dead_strip_blocker: None,
    };
    let mut errors = Vec::new();
    // Which libraries were read (for their copies, see `earlier_copies`).
    let mut read_ok = vec![false; kinds.len()];
    if let Some(path) = &opts.bundle_loader {
        match read_bundle_loader(path, &env) {
            Ok(d) => inputs.bundle_loader = Some(d),
            Err(e) => errors.extend(e.messages),
        }
    }
    for r in parsed {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    for (i, (f, data, kind)) in kinds.iter().enumerate() {
        let name = f.name();
        let r = match kind {
            FileKind::Object => Ok(()),
            FileKind::Archive => Archive::parse(data, name).map(|mut a| {
                a.hidden = hidden(opts, i);
                let idx = inputs.archives.len() as u32;
                if f.force_load {
                    let reason = match opts.inputs.get(i) {
                        Some(InputArg::ForceLoad(_)) => "-force_load",
                        _ => "-all_load",
                    };
                    for m in 0..a.members.len() as u32 {
                        inputs.loaded_members.insert((idx, m));
                        if opts.why_load {
                            println!("{reason} forced load of {}", a.member_name(m));
                        }
                    }
                } else if opts.objc {
                    for m in crate::objc::archive_members(&a) {
                        inputs.loaded_members.insert((idx, m));
                    }
                }
                inputs.archives.push(a);
                inputs.libraries.push(Library::Archive(idx));
            }),
            FileKind::Tbd | FileKind::Dylib => match (dylibs[i].take(), copies[i]) {
                (Some(parsed), _) => {
                    read_ok[i] = parsed.is_ok();
                    parsed.map(|d| add_dylib(&mut inputs, d))
                }
                // The bytes of library `j`, read into the same install
                // name, which is in the link already (a second copy adds
                // nothing); if `j` could not be read, neither can this
                // one, which is read now for its own message.
                (None, Some(j)) if read_ok[j] => Ok(()),
                (None, _) => read_dylib(&kinds[i])
                    .expect("a library")
                    .map(|d| add_dylib(&mut inputs, d)),
            },
        };
        if let Err(e) = r {
            errors.extend(e.messages);
        }
    }
    // Force-loaded archive members are parsed now, in parallel.
    let forced: Vec<(u32, u32)> = {
        let mut v: Vec<_> = inputs.loaded_members.iter().copied().collect();
        v.sort_unstable();
        v
    };
    let members: Vec<Result<ObjectFile>> = forced
        .par_iter()
        .map(|&(a, m)| parse_member(&inputs.archives[a as usize], m, arch))
        .collect();
    for r in members {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(inputs),
    }
}

/// For each library input (stub or dylib), the earlier library input
/// with the same bytes, if there is one. rustc links `-lSystem -lc -lm`,
/// and macOS's SDK makes `libc.tbd` and `libm.tbd` links to
/// `libSystem.tbd`: each copy would be read (~17 M instructions for
/// libSystem's stub) only for [`add_dylib`] to drop it as a second library
/// of its install name. Same bytes read the same way give the same
/// library, so a copy is not read.
fn earlier_copies(kinds: &[(&MappedFile, &[u8], FileKind)]) -> Vec<Option<usize>> {
    let library = |k: &FileKind| matches!(k, FileKind::Tbd | FileKind::Dylib);
    kinds
        .iter()
        .enumerate()
        .map(|(i, (_, data, kind))| {
            if !library(kind) {
                return None;
            }
            kinds[..i]
                .iter()
                .position(|(_, other, k)| k == kind && other == data)
        })
        .collect()
}

/// Whether `part` lies inside `whole` (a file's mapping, say).
fn within(whole: &[u8], part: &[u8]) -> bool {
    let (start, at) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    start <= at && at + part.len() <= start + whole.len()
}

/// Whether input `i` is an archive loaded with `-load_hidden` / `-hidden-l`.
fn hidden(opts: &Options, i: usize) -> bool {
    opts.lib_attrs.iter().any(|&(at, a)| at == i && a.hidden)
}

/// Reads `-bundle_loader`'s executable (or bundle) for its exports.
fn read_bundle_loader(path: &Path, env: &dylib::DylibEnv) -> Result<Dylib> {
    let file = MappedFile::open(path, false)?;
    let name = format!("{} (-bundle_loader)", file.name());
    let data = thin(&file.map, &name, env.arch)?;
    Dylib::from_loader_image(data, name, env)
}

/// Adds a dylib to the link, unless one of the same install name is in
/// already: rustc links `-lSystem -lc -lm`, three stubs of one library,
/// and the output loads it once (as lld does).
fn add_dylib(inputs: &mut Inputs, d: Dylib) {
    if inputs
        .dylibs
        .iter()
        .any(|other| other.install_name == d.install_name)
    {
        return;
    }
    let idx = inputs.dylibs.len() as u32;
    inputs.dylibs.push(d);
    inputs.libraries.push(Library::Dylib(idx));
}

/// Parses archive member `member` (an object file).
pub fn parse_member<'a>(
    ar: &Archive<'a>,
    member: u32,
    arch: &'static dyn Arch,
) -> Result<ObjectFile<'a>> {
    let (_, data, mtime) = ar.members[member as usize];
    let name = ar.member_name(member);
    let mut obj = match kind_of(data, &name)? {
        FileKind::Object => ObjectFile::parse(data, name, arch)?,
        _ => {
            return Err(LinkError::file(
                name,
                "archive member is not an object file",
            ))
        }
    };
    obj.oso_path = format!("{}({})", absolute(&ar.name), ar.members[member as usize].0);
    obj.mtime = mtime;
    obj.member = true;
    if ar.hidden {
        hide_globals(&mut obj);
    }
    Ok(obj)
}

/// `-load_hidden`: every global a member defines becomes a private
/// extern, visible to the rest of the link but not exported. (Undefined
/// and tentative symbols are references, left as they are.)
fn hide_globals(obj: &mut ObjectFile) {
    use ::object::macho::{N_PEXT, N_SECT, N_TYPE};
    for s in &mut obj.symbols {
        if s.is_external() && s.n_type & N_TYPE == N_SECT {
            s.n_type |= N_PEXT;
        }
    }
}

/// An absolute form of a path, for the debug map.
pub(crate) fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Parses an object named on the command line, noting its path and time.
/// With `residency`, what the link will not read again is given back to
/// the kernel (see [`residency`]): a full link's inputs; an update maps one
/// object and drops it soon.
pub fn parse_object<'a>(
    f: &MappedFile,
    data: &'a [u8],
    arch: &'static dyn Arch,
    residency: bool,
) -> Result<ObjectFile<'a>> {
    let mut obj = ObjectFile::parse_with(data, f.name(), arch, residency)?;
    // Parsed, the relocation and symbol entries can go.
    if residency && within(&f.map, obj.parsed_tables) {
        residency::release(&mut [obj.parsed_tables]);
    }
    obj.oso_path = absolute(&f.name());
    // The time of the file mapped (the debug map's N_OSO carries it for
    // dsymutil, which compares it with the object's): its stamp, not a
    // second `stat`.
    obj.mtime = u64::try_from(f.stamp.1 / 1_000_000_000).unwrap_or(0);
    Ok(obj)
}
