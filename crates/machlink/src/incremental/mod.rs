//! The incremental engine: persistent state beside the output, change
//! detection, in-place patching, slot moves with trampolines (the
//! distributed jump table) and the journal that keeps an interrupted update
//! from leaving a runnable mix.
//!
//! - [`state`]: the memory-mapped state of the last full link and the
//!   delta of the updates since.
//! - [`record`]: what a full link records, and the identities (atom keys,
//!   symbol hashes, fixup shapes) both sides compare.
//! - [`update`]: replaying changed objects into the image.
//! - [`journal`]: writing an update so that a crash cannot leave a
//!   runnable mix.

pub mod alloc;
mod bytes;
pub mod clone;
pub mod fingerprints;
pub mod imports;
pub mod journal;
pub mod record;
pub mod resident;
pub mod state;
pub mod symtab_edit;
pub mod update;
pub mod watch;
mod wire;

use crate::error::{LinkError, Result};
use crate::options::Options;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What identifies a file's contents cheaply (stamp) and exactly (hash).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
    pub hash: u64,
    /// The file's (device, inode number) when it was fingerprinted; (0, 0)
    /// when unknown. An input found at a new path that is this very file
    /// with this stamp (a hard link: rustc links the codegen units it
    /// reuses under each session's new names) is taken as unchanged
    /// without reading it, as an input at its own path with its stamp is.
    pub inode: (u64, u64),
}

fn stamp(path: &Path) -> std::io::Result<(u64, i128)> {
    Ok(stamp_of_meta(&std::fs::metadata(path)?))
}

pub use crate::output::{stamp_of_file, stamp_of_meta};

/// Stamps of files, each looked up in its directory, which is opened once
/// for a run of files in it: a `stat` of a whole path looks up every
/// component again, and the change check of a 200-object link spent more
/// time on the components its objects share than on the objects (70 µs
/// against 50 µs for 200 objects here, warm; more after another process
/// has filled the caches). The same answer as [`stamp`]: the name is
/// looked up (symbolic links followed) in the directory the path names.
#[derive(Default)]
struct Stamper {
    dir: Option<(PathBuf, std::os::fd::OwnedFd)>,
}

/// A directory opened only to look names up in it (`O_PATH` where there
/// is one: no read permission needed).
#[cfg(target_os = "linux")]
const DIR_FLAGS: libc::c_int = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
#[cfg(not(target_os = "linux"))]
const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

impl Stamper {
    fn stamp(&mut self, path: &Path) -> std::io::Result<(u64, i128)> {
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::ffi::OsStrExt;
        // Split at the last '/', as bytes (a `Path`'s parent and name parse
        // its components, which costs more than the `stat` saves).
        let bytes = path.as_os_str().as_bytes();
        let Some(slash) = bytes.iter().rposition(|&b| b == b'/') else {
            return stamp(path);
        };
        let (dir, name) = (&bytes[..slash], &bytes[slash + 1..]);
        // (No directory to open, or a name that is not one file's.)
        if dir.is_empty() || name.is_empty() || name == b"." || name == b".." {
            return stamp(path);
        }
        if self
            .dir
            .as_ref()
            .is_none_or(|(d, _)| d.as_os_str().as_bytes() != dir)
        {
            self.dir = None;
            let Ok(c) = std::ffi::CString::new(dir) else {
                return stamp(path);
            };
            // SAFETY: a plain system call on a NUL-terminated path.
            let fd = unsafe { libc::open(c.as_ptr(), DIR_FLAGS) };
            if fd < 0 {
                // (The whole path's `stat` says what is wrong.)
                return stamp(path);
            }
            // SAFETY: a descriptor just opened, owned from here.
            let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
            self.dir = Some((PathBuf::from(std::ffi::OsStr::from_bytes(dir)), fd));
        }
        let fd = self.dir.as_ref().expect("opened above").1.as_raw_fd();
        // The name NUL-terminated on the stack (object names are short).
        let mut buf = [0u8; 256];
        if name.len() >= buf.len() || name.contains(&0) {
            return stamp(path);
        }
        buf[..name.len()].copy_from_slice(name);
        // SAFETY: a plain system call on a descriptor we own, a
        // NUL-terminated name and a buffer of the right type.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(fd, buf.as_ptr().cast(), &mut st, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((
            st.st_size as u64,
            i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
        ))
    }
}

/// The stamp and the hash of a file's contents, read through a mapping:
/// no copy into fresh heap pages, and a replay that maps the object next
/// finds its pages in memory. The stamp is the open file's, so it
/// describes the bytes hashed.
fn hash_file(path: &Path) -> std::io::Result<Hashed> {
    let file = File::open(path)?;
    let stamp = stamp_of_file(&file)?;
    if stamp.0 == 0 {
        return Ok((stamp, xxhash_rust::xxh3::xxh3_64(&[])));
    }
    // SAFETY: inputs are only read; a concurrent writer could change what
    // is hashed, as with any read of them, not our memory safety.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok((stamp, xxhash_rust::xxh3::xxh3_64(&map)))
}

/// A file's stamp (size, mtime) and the hash of the contents it had then.
pub type Hashed = ((u64, i128), u64);

impl Fingerprint {
    /// The fingerprint of a file whose contents are already in memory.
    pub fn of_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<Fingerprint> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(Fingerprint::stamped(
            path,
            stamp_of_meta(&m),
            (m.dev(), m.ino()),
            bytes,
        ))
    }

    /// The fingerprint of bytes read from the file at `path` when it had
    /// stamp `(size, mtime_ns)` and was file `inode` (both taken from the
    /// open file, so no `stat`).
    pub fn stamped(
        path: &Path,
        (size, mtime_ns): (u64, i128),
        inode: (u64, u64),
        bytes: &[u8],
    ) -> Fingerprint {
        Fingerprint {
            path: path.to_path_buf(),
            size,
            mtime_ns,
            hash: xxhash_rust::xxh3::xxh3_64(bytes),
            inode,
        }
    }

    /// Whether the file still has these contents: equal stamps say yes
    /// without reading it; otherwise its hash decides.
    pub fn unchanged(&self) -> bool {
        !matches!(self.check(), Check::Changed(_))
    }

    /// What one look at the file (one `stat`, and a read only when its
    /// stamp moved) says about it.
    pub fn check(&self) -> Check {
        self.check_with(&mut Stamper::default())
    }

    /// [`Fingerprint::check`], with its `stat` through `stamper`.
    fn check_with(&self, stamper: &mut Stamper) -> Check {
        match stamper.stamp(&self.path) {
            Ok(s) if s == (self.size, self.mtime_ns) => Check::Same,
            Ok((size, _)) if size != self.size => Check::Changed(None),
            Ok(_) if self.hash == 0 => Check::Changed(None),
            Ok(s) => match hash_file(&self.path) {
                Ok((_, h)) if h == self.hash => Check::Touched(s),
                Ok(hashed) => Check::Changed(Some(hashed)),
                Err(_) => Check::Changed(None),
            },
            Err(_) => Check::Changed(None),
        }
    }
}

/// What [`Fingerprint::check`] found.
pub enum Check {
    /// The recorded stamp.
    Same,
    /// Another stamp (size, mtime), the recorded contents: touched, not edited.
    Touched((u64, i128)),
    /// Other contents; their stamp and hash when it took hashing to tell
    /// (the same size), which the replay of the object then reuses.
    Changed(Option<Hashed>),
}

/// The state file and lock file that sit beside an output.
pub fn state_path(output: &Path) -> PathBuf {
    sibling(output, "machlink-state")
}

fn sibling(output: &Path, ext: &str) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{ext}"));
    output.with_file_name(name)
}

/// Everything in the options that can change the output, hashed; not
/// `-v` or `-print_statistics`, and not the inputs, which the state lists
/// (resolved to paths) on their own.
pub fn args_hash(opts: &Options) -> u64 {
    let mut o = opts.clone();
    o.verbose = false;
    o.print_statistics = false;
    o.inputs.clear();
    xxhash_rust::xxh3::xxh3_64(format!("{o:?}").as_bytes())
}

/// Nanoseconds since the epoch, as stamps hold them.
pub fn time_ns(t: std::time::SystemTime) -> i128 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// A file written under a temporary name beside its destination and moved
/// into place by [`Pending::commit`]. Dropped uncommitted (a failed write,
/// a failed link), it removes itself: nothing half-written is left.
pub struct Pending {
    tmp: PathBuf,
    path: PathBuf,
}

impl Pending {
    /// Writes the concatenation of `parts`, synced when `sync`.
    pub fn write(path: &Path, parts: &[&[u8]], sync: bool) -> std::io::Result<Pending> {
        let pending = Pending {
            tmp: tmp_path(path),
            path: path.to_path_buf(),
        };
        let mut f = create_fresh(&pending.tmp, false)?;
        for p in parts {
            f.write_all(p)?;
        }
        if sync {
            f.sync_data()?;
        }
        Ok(pending)
    }

    /// Creates the file, `len` bytes long with its blocks allocated (a
    /// full disk is an error here, before anything is written), for the
    /// caller to write at offsets (and to extend).
    pub fn sized(path: &Path, len: u64) -> std::io::Result<(Pending, File)> {
        let pending = Pending {
            tmp: tmp_path(path),
            path: path.to_path_buf(),
        };
        let f = create_fresh(&pending.tmp, true)?;
        f.set_len(len)?;
        crate::output::allocate(&f, len)?;
        Ok((pending, f))
    }

    pub fn commit(self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.path)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // After a commit the temporary name is gone already.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Creates `path` as a new file (read and write when `read`), whatever
/// was there: a crash's leftover, or a symbolic link, which is removed,
/// never followed (`O_EXCL` does not follow one). See [`open_beside`].
fn create_fresh(path: &Path, read: bool) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    File::options()
        .read(read)
        .write(true)
        .create_new(true)
        .open(path)
}

/// Opens `path`, one of the files kept beside an output (the lock, the
/// journal), to write it, creating it when `create`, without following a
/// symbolic link at that name: a link there is replaced by the file, as a
/// link at the output's own path is replaced by the output (ld64 and lld
/// rename a new file over it), and its target is left alone. Following it
/// would let whoever can add a name to the output's directory (a shared
/// `/tmp`, another user's build tree) point machlink's writes at a file of
/// their choosing; refusing would be an error that repeats on every run.
pub fn open_beside(path: &Path, create: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        File::options()
            .write(true)
            .create(create)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
    };
    let regular = |file: File| {
        if file.metadata()?.is_file() {
            Ok(file)
        } else {
            Err(std::io::Error::other("not a regular file"))
        }
    };
    match open().and_then(regular) {
        // A symbolic link (ELOOP), a FIFO without a reader (ENXIO) or
        // another file that is not a regular one: not ours, replaced.
        Err(e)
            if create
                && (matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENXIO))
                    || e.kind() == std::io::ErrorKind::Other) =>
        {
            std::fs::remove_file(path)?;
            open().and_then(regular)
        }
        r => r,
    }
}

/// Opens `path`, one of the files kept beside an output, to read it: not
/// through a symbolic link, and never blocking on a FIFO planted there
/// (both are errors, which make the state unusable: a full link, which
/// replaces them).
pub fn open_to_read(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The temporary name a [`Pending`] file is written under. One name per
/// destination: runs that write these files hold the output's lock, and a
/// crash's leftover is simply overwritten.
fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    PathBuf::from(tmp)
}

/// The 16 bytes of the UUID at `at` in an output.
pub fn read_uuid(output: &Path, at: u64) -> std::io::Result<[u8; 16]> {
    use std::os::unix::fs::FileExt;
    let mut uuid = [0u8; 16];
    File::open(output)?.read_exact_at(&mut uuid, at)?;
    Ok(uuid)
}

/// Writes a file beside the output atomically: a temporary file, synced,
/// renamed into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Pending::write(path, &[bytes], true)?.commit()
}

/// Removes the state, delta and journal of an output, and what an
/// interrupted run may have left of their temporaries (before a full link
/// replaces the output, or when they cannot be used).
pub fn forget(output: &Path) -> Result<()> {
    let with_tmp = |p: PathBuf| [tmp_path(&p), p];
    // (Not the state's temporary: a full link writes the new state there
    // before it forgets the old one, and a leftover is overwritten then.)
    let files = [journal_path(output), delta_path(output), image_path(output)]
        .into_iter()
        .flat_map(with_tmp)
        .chain([state_path(output), patching_path(output)]);
    for p in files {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(LinkError::file(
                    p.display(),
                    format!("cannot remove stale incremental state: {e}"),
                ))
            }
        }
    }
    Ok(())
}

pub fn delta_path(output: &Path) -> PathBuf {
    sibling(output, "machlink-delta")
}

pub fn journal_path(output: &Path) -> PathBuf {
    sibling(output, "machlink-journal")
}

/// The copy an update of a signed (or read-only) output patches.
pub fn patching_path(output: &Path) -> PathBuf {
    sibling(output, "machlink-patching")
}

/// The state of an incremental image: the full link's, plus the updates since.
pub struct Session {
    pub base: state::Base,
    pub delta: state::Delta,
    /// Inputs found at a new path with [`Session::change`] (compiler
    /// temporaries); the delta records their new fingerprints.
    pub moved: Vec<u32>,
    /// Inputs [`Session::change`] found touched but not edited, with their
    /// new stamps (so that refreshing them needs no second `stat`).
    pub touched: Vec<(u32, (u64, i128))>,
    /// Changed inputs [`Session::change`] hashed to tell (same size, new
    /// contents): the replay takes their fingerprints from here when the
    /// file it maps has the same stamp, instead of hashing it again.
    pub hashed: Vec<(u32, Hashed)>,
    /// In a server: what it knows of the inputs between requests, so that
    /// [`Session::change`] stamps only those that may have changed (see
    /// [`watch`]). `None` in a process.
    pub watch: Option<watch::InputWatch>,
}

/// The hard link to the output that the state keeps beside it
/// (`OUTPUT.machlink-image`, the same inode): rustc deletes its output
/// before it calls the linker, and this link keeps the image (and the
/// update's work) alive across that deletion. It is only ever trusted after
/// the same checks as the output itself (stamp and UUID, see
/// [`Session::revive_output`]).
pub fn image_path(output: &Path) -> PathBuf {
    sibling(output, "machlink-image")
}

/// Points the image link at the output as it is now (after a full link, or
/// an update that renamed a patched copy over it). Best effort: where hard
/// links are not possible, a deleted output just means a full link.
pub fn keep_image(output: &Path) {
    let image = image_path(output);
    let tmp = tmp_path(&image);
    let _ = std::fs::remove_file(&tmp);
    // A new name first, renamed over the old: the image link never names
    // a half-made state (a crash leaves the old link, which the stamp and
    // UUID checks then refuse, or the new one).
    if std::fs::hard_link(output, &tmp).is_ok() && std::fs::rename(&tmp, &image).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Whether `output` has no hard links but the image link (which an
/// in-place update is meant to change too).
pub fn only_image_links(output: &Path, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    match meta.nlink() {
        1 => true,
        2 => std::fs::symlink_metadata(image_path(output))
            .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino()),
        _ => false,
    }
}

/// What changed since the last run.
pub enum Change {
    Nothing,
    /// These inputs (indexes) changed contents; everything else is as recorded.
    Inputs(Vec<u32>),
    /// Something that needs a full link, and why.
    Other(String),
}

impl Change {
    /// The inputs found changed: nothing, or these.
    fn of(changed: Vec<u32>) -> Change {
        if changed.is_empty() {
            Change::Nothing
        } else {
            Change::Inputs(changed)
        }
    }
}

impl Session {
    /// Opens the state beside `output`, or says why it cannot be used (the
    /// reason a full link gives under `-v`).
    /// Opens the state beside `output` for a link for `arch`; `Err` says
    /// why there is none to use (a full link follows).
    pub fn open(
        output: &Path,
        arch: &dyn crate::arch::Arch,
    ) -> std::result::Result<Session, String> {
        use state::Unusable;
        let reason = |u: Unusable| match u {
            Unusable::Missing if !output.exists() => "first link (no output yet)".to_string(),
            Unusable::Missing => {
                "no incremental state beside the output (its first -incremental link, \
                 or the state was removed)"
                    .to_string()
            }
            Unusable::OtherVersion => {
                "the incremental state was written by another version of machlink".to_string()
            }
            Unusable::Damaged(what) => format!("the incremental state is damaged: {what}"),
        };
        let base = state::Base::open(&state_path(output)).map_err(reason)?;
        if base.meta.cpu_type != arch.cpu_type() {
            return Err(format!(
                "the incremental state was made for {}, and the link is for {}",
                crate::arch::cpu_name(base.meta.cpu_type),
                arch.name()
            ));
        }
        let delta = state::Delta::load(&delta_path(output)).map_err(reason)?;
        delta
            .validate(&base.meta)
            .map_err(|e| reason(Unusable::Damaged(e)))?;
        Ok(Session {
            base,
            delta,
            moved: Vec::new(),
            touched: Vec::new(),
            hashed: Vec::new(),
            watch: None,
        })
    }

    pub fn input(&self, i: u32) -> &Fingerprint {
        self.delta
            .inputs
            .get(&i)
            .unwrap_or(&self.base.meta.inputs[i as usize])
    }

    pub fn output(&self) -> &Fingerprint {
        self.delta.output.as_ref().unwrap_or(&self.base.meta.output)
    }

    /// What changed for a run with `args` over `inputs`.
    ///
    /// An input is matched by its position. One at a new path (rustc's
    /// `symbols.o` in a fresh `/tmp/rustcXXXX/` on every link, the clang
    /// driver's `/tmp/main-abc123.o` when it compiles and links in one
    /// step) is the same input if it is an object file and its old path is
    /// not elsewhere in the list: its contents are hashed (a stamp at a new
    /// path proves nothing), and it is unchanged when the hash is the
    /// recorded one, else a changed object read from its new path.
    ///
    /// `inputs` are as [`crate::input::input_paths`] resolved them (the
    /// flag, a forced load, is the options' business: not looked at).
    pub fn change(&mut self, args: u64, inputs: &[(PathBuf, bool)]) -> Change {
        let meta = &self.base.meta;
        if meta.args != args {
            return Change::Other("the options changed".into());
        }
        if let Some(why) = self.output_changed() {
            return Change::Other(why);
        }
        if meta.inputs.len() != inputs.len() {
            return Change::Other("the list of inputs changed".into());
        }
        let mut changed = Vec::new();
        let mut stamper = Stamper::default();
        let mut watch = self.take_watch(inputs.len());
        // (A process has no watch: nothing to tell the list from.)
        let list = if watch.is_some() {
            watch::list_hash(inputs)
        } else {
            0
        };
        // The list the watch last went through: only the inputs it heard
        // of (or cannot watch) may have changed, and the others are at
        // their recorded paths.
        if let Some(suspects) = watch.as_mut().and_then(|w| w.suspects(list, inputs)) {
            let mut unwatched = Vec::new();
            for i in suspects {
                let path = &inputs[i as usize].0;
                if !self.look_at(i, path, &mut watch, &mut stamper, &mut changed) {
                    unwatched.push(i);
                }
            }
            if let Some(w) = &mut watch {
                w.set_listing(list, unwatched);
            }
            self.watch = watch;
            return Change::of(changed);
        }
        // The listed paths, as a set once an input has moved (rustc renames
        // hundreds at once, and a search of the list for each compared
        // paths component by component: 99 M instructions for ripgrep).
        let mut listed = None;
        let mut unwatched = Vec::new();
        for (i, (path, _)) in (0..inputs.len() as u32).zip(inputs) {
            let recorded = self.input(i);
            // (Equal bytes are equal paths; the component-wise comparison
            // only for the rest.)
            if recorded.path.as_os_str() == path.as_os_str() || &recorded.path == path {
                if !self.look_at(i, path, &mut watch, &mut stamper, &mut changed) {
                    unwatched.push(i);
                }
                continue;
            }
            let listed = listed.get_or_insert_with(|| {
                inputs
                    .iter()
                    .map(|(p, _)| p.as_path())
                    .collect::<std::collections::HashSet<&Path>>()
            });
            let fp = match self.moved_input(i, path, listed) {
                Ok(fp) => fp,
                Err(why) => return Change::Other(why),
            };
            if fp.hash != recorded.hash {
                changed.push(i);
            }
            self.delta.inputs.insert(i, fp);
            self.moved.push(i);
            // Not watched at its new path yet: looked at next time.
            unwatched.push(i);
        }
        if let Some(w) = &mut watch {
            w.set_listing(list, unwatched);
        }
        self.watch = watch;
        Change::of(changed)
    }

    /// Looks at input `i`, at its recorded path `path`: unless the watch
    /// knows it clean, its stamp (and, the same size, its hash) against
    /// the record, noting it changed or touched. Returns whether the
    /// watch has it (false: it is looked at on every request).
    fn look_at(
        &mut self,
        i: u32,
        path: &Path,
        watch: &mut Option<watch::InputWatch>,
        stamper: &mut Stamper,
        changed: &mut Vec<u32>,
    ) -> bool {
        if watch.as_ref().is_some_and(|w| w.is_clean(path)) {
            return true;
        }
        // Watched before the stamp is taken: a change after it is heard of.
        let watched = watch.as_mut().is_some_and(|w| w.watch(path));
        match self.input(i).check_with(stamper) {
            Check::Same => {}
            Check::Touched(stamp) => self.touched.push((i, stamp)),
            Check::Changed(hashed) => {
                changed.push(i);
                self.hashed.extend(hashed.map(|h| (i, h)));
            }
        }
        // Its contents are the recorded ones, or (changed) the ones the
        // update records; a run that does not record them (a full link, a
        // failure) drops the session and this watch with it.
        if watched {
            watch.as_mut().expect("watched").mark_clean(path);
        }
        watched
    }

    /// The session's watch over its `inputs` inputs, caught up with what
    /// happened since the last request; a new one in a server that has
    /// none (or whose watch can no longer be trusted, or has grown far past
    /// the inputs it serves); `None` in a process.
    fn take_watch(&mut self, inputs: usize) -> Option<watch::InputWatch> {
        if !resident::enabled() {
            return None;
        }
        match self.watch.take() {
            Some(mut w) if w.names() <= 4 * inputs + 64 => match w.catch_up() {
                true => Some(w),
                false => watch::InputWatch::new(),
            },
            _ => watch::InputWatch::new(),
        }
    }

    /// The fingerprint of input `i`, found at `path` instead of its
    /// recorded one, if it may be taken for the same input.
    fn moved_input(
        &self,
        i: u32,
        path: &Path,
        listed: &std::collections::HashSet<&Path>,
    ) -> std::result::Result<Fingerprint, String> {
        let old = &self.input(i).path;
        let list_changed = || {
            format!(
                "the list of inputs changed ({} is now {})",
                old.display(),
                path.display()
            )
        };
        // Reordered inputs, or a library, are a new link: only a plain
        // object whose old path is gone from the list moves.
        let object = self.base.meta.object_of_input(i).is_some();
        if !object || listed.contains(old.as_path()) {
            return Err(list_changed());
        }
        // The very file recorded, under another name, with its stamp: its
        // contents are the ones hashed then (rustc's reused codegen units;
        // reading and hashing each again cost ripgrep's update 11.7 ms).
        let recorded = self.input(i);
        if recorded.hash != 0 && recorded.inode != (0, 0) {
            use std::os::unix::fs::MetadataExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.is_file()
                    && (m.dev(), m.ino()) == recorded.inode
                    && stamp_of_meta(&m) == (recorded.size, recorded.mtime_ns)
                {
                    return Ok(Fingerprint {
                        path: path.to_path_buf(),
                        ..recorded.clone()
                    });
                }
            }
        }
        let bytes = std::fs::read(path).map_err(|_| list_changed())?;
        let fp = Fingerprint::of_bytes(path, &bytes).map_err(|_| list_changed())?;
        let is_object = crate::input::kind_of(&bytes, &path.display().to_string())
            .is_ok_and(|k| k == crate::input::FileKind::Object);
        if !is_object {
            return Err(list_changed());
        }
        Ok(fp)
    }

    /// rustc deletes its output before it runs the linker. When the output
    /// is missing and the image link beside it is the image the state
    /// describes (its stamp and UUID, the checks a present output gets),
    /// the output is linked back to it so the run can update it; says so
    /// for `-v`. Anything else (no link, or a stale one) leaves it missing:
    /// a full link follows.
    pub fn revive_output(&self, output: &Path) -> Option<String> {
        if std::fs::symlink_metadata(output).is_ok() {
            return None;
        }
        let image = image_path(output);
        let m = std::fs::symlink_metadata(&image).ok()?;
        let fp = self.output();
        if !m.is_file() || stamp_of_meta(&m) != (fp.size, fp.mtime_ns) {
            return None;
        }
        let expected = self.delta.uuid.unwrap_or(self.base.meta.uuid);
        if read_uuid(&image, self.base.meta.linkedit.uuid_offset).ok() != Some(expected) {
            return None;
        }
        std::fs::hard_link(&image, output).ok()?;
        Some("the output was deleted since the last link; its image was kept".into())
    }

    /// Why the output is not the image the state describes, if it is not:
    /// missing, replaced by a link, or modified (its stamp or UUID).
    fn output_changed(&self) -> Option<String> {
        let fp = self.output();
        let m = match std::fs::symlink_metadata(&fp.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Some("the output is missing (it was deleted since the last link)".into())
            }
            Err(e) => return Some(format!("the output cannot be examined ({e})")),
        };
        if m.file_type().is_symlink() {
            return Some("the output was replaced by a symbolic link since the last link".into());
        }
        if stamp_of_meta(&m) != (fp.size, fp.mtime_ns) {
            return Some("the output was changed since the last link".into());
        }
        // Every link gives the output execute bits (0755, as ld64 does) and
        // an update keeps them, clearing them only while it patches. A file
        // without any is an update whose last step (giving them back, not
        // synced) was lost with a power failure, or a chmod: an update
        // would keep the mode, a full link gives back what a link makes.
        if std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 == 0 {
            return Some("the output has no execute bits (a link gives them)".into());
        }
        let expected = self.delta.uuid.unwrap_or(self.base.meta.uuid);
        let uuid = read_uuid(&fp.path, self.base.meta.linkedit.uuid_offset);
        if uuid.ok() != Some(expected) {
            return Some(
                "the output was changed since the last link (its UUID is not the recorded one)"
                    .into(),
            );
        }
        None
    }

    /// Records the stamps [`Session::change`] found on inputs whose
    /// contents were unchanged by hash (touched, not edited), so the next
    /// run need not read them again. Returns whether anything was updated.
    pub fn refresh_stamps(&mut self) -> bool {
        let touched = std::mem::take(&mut self.touched);
        for &(i, (size, mtime_ns)) in &touched {
            let mut f = self.input(i).clone();
            (f.size, f.mtime_ns) = (size, mtime_ns);
            self.delta.inputs.insert(i, f);
        }
        !touched.is_empty()
    }

    pub fn save_delta(&mut self, output: &Path) -> Result<()> {
        let bytes = self.delta.to_bytes();
        write_atomically(&delta_path(output), &bytes).map_err(|e| {
            LinkError::file(
                delta_path(output).display(),
                format!("cannot write incremental state: {e}"),
            )
        })?;
        self.delta.written(bytes);
        Ok(())
    }
}

/// An exclusive lock on an output, held for the whole run: concurrent
/// incremental links of the same output wait for each other.
pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn acquire(output: &Path) -> Result<Lock> {
        let path = sibling(output, "machlink-lock");
        let err = |e: std::io::Error| {
            LinkError::file(
                path.display(),
                format!(
                    "cannot lock: {e} (-incremental keeps its state beside the output, \
                     so its directory must be writable)"
                ),
            )
        };
        let mut file = open_beside(&path, true).map_err(err)?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own; the lock ends with it.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            // A closed stderr must not end the link.
            let _ = writeln!(
                std::io::stderr(),
                "machlink: waiting for another link of {} to finish",
                output.display()
            );
            // SAFETY: as above, blocking this time.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(err(std::io::Error::last_os_error()));
            }
        }
        // One write (writeln! on a file makes two system calls).
        let _ = file.write_all(format!("{}\n", std::process::id()).as_bytes());
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory named `name` with a 4 KiB output and an empty
    /// state for `cpu_type` beside it; returns the directory and output.
    fn output_with_state(name: &str, cpu_type: u32) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("a.out");
        std::fs::write(&output, [0u8; 4096]).unwrap();
        let mut meta = state::Meta::placeholder();
        meta.output.size = 4096;
        meta.cpu_type = cpu_type;
        state::write_base(&state_path(&output), meta, &[], &[], &mut [], &[])
            .unwrap()
            .commit()
            .unwrap();
        (dir, output)
    }

    #[test]
    fn a_state_made_for_another_architecture_is_not_used() {
        let (dir, output) = output_with_state("machlink-arch-state", object::macho::CPU_TYPE_ARM64);
        let why = Session::open(&output, &crate::arch::X86_64).err().unwrap();
        assert_eq!(
            why,
            "the incremental state was made for arm64, and the link is for x86_64"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_state_of_an_earlier_format_is_not_used_and_says_so() {
        let (dir, output) = output_with_state("machlink-old-state", object::macho::CPU_TYPE_X86_64);
        assert!(Session::open(&output, &crate::arch::X86_64).is_ok());
        // Version 9, the format before 40-byte global records.
        let mut bytes = std::fs::read(state_path(&output)).unwrap();
        bytes[..8].copy_from_slice(b"MLSTATE9");
        std::fs::write(state_path(&output), bytes).unwrap();
        let why = Session::open(&output, &crate::arch::X86_64).err().unwrap();
        assert_eq!(
            why,
            "the incremental state was written by another version of machlink"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
