//! A resident server's knowledge of which inputs cannot have changed since
//! it last looked at them, so that a request need not `stat` every input
//! again.
//!
//! A process finds changes by taking every input's stamp (one `stat` each:
//! 0.2-0.4 ms for the 200 objects of a 100k-function program here, an
//! eighth of a served update). A server that keeps a session can instead
//! ask the kernel to tell it about changes (inotify on Linux): once an
//! input's stamp was taken *after* its watches were in place and matched
//! the session's record, no event since means the file is as recorded.
//!
//! What is watched, and why each:
//! - the input's directory, for names that come and go (a compiler that
//!   writes a temporary and renames it over the object, `rm`, `cp` onto a
//!   new file);
//! - the input's inode, for writes through any name (a hard link in
//!   another directory) and attribute changes (`touch`);
//! - the directory's own identity (device, inode), checked with one `stat`
//!   per directory on every request: a rename of the directory or of any
//!   directory above it, or a symbolic link on the way now pointing
//!   elsewhere, makes the same path name other files without an event on
//!   the watched ones.
//!
//! An input is never taken as clean when it cannot be watched that way:
//! its last component is a symbolic link (its target's directory is not
//! watched), its filesystem is not a local one the kernel sees every write
//! to (network filesystems change on other machines), or the kernel
//! refused a watch (the user's watch limit). Such inputs are stamped on
//! every request, as in a process. An overflow of the event queue, a
//! watched directory going away, or a request from another working
//! directory (relative paths name other files) drop the whole watch: the
//! next request stamps everything again and starts over.
//!
//! Known blind spot, shared with every inotify-based build tool: a write
//! through a shared writable mapping made after the writer closed the
//! file raises no event. Tools that produce objects and libraries write
//! them with `write` or replace them by rename.
//!
//! Going through the list of inputs to ask the watch about each one is
//! itself work in proportion to the program (a hash and a few cache misses
//! per input, after the build ran other programs). So the watch also keeps
//! what its last full pass over the list found (the list's hash, each
//! path's place in it, the inputs it could not watch) and which inputs
//! lost their clean mark since: a request with the same list looks at
//! those alone.
//!
//! Elsewhere than Linux there is no watch: every input is stamped.

use std::path::Path;

#[cfg(target_os = "linux")]
pub use linux::InputWatch;

#[cfg(not(target_os = "linux"))]
pub use other::InputWatch;

/// Hash of a list of inputs (their paths, in order), to tell a request's
/// list from the one a watch's last full pass went through.
pub fn list_hash(inputs: &[(std::path::PathBuf, bool)]) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    inputs.iter().fold(inputs.len() as u64, |h, (path, _)| {
        let x = xxhash_rust::xxh3::xxh3_64(path.as_os_str().as_bytes());
        (h.rotate_left(23) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    })
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Path;
    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};
    use std::collections::{HashMap, HashSet};
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    /// Events on an input's directory that can change what one of its names
    /// stands for, or the file's stamp.
    fn dir_mask() -> WatchMask {
        WatchMask::CREATE
            | WatchMask::DELETE
            | WatchMask::MOVED_FROM
            | WatchMask::MOVED_TO
            | WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::ONLYDIR
    }

    /// Events on an input's inode, whatever name it was reached by.
    fn file_mask() -> WatchMask {
        WatchMask::MODIFY
            | WatchMask::ATTRIB
            | WatchMask::CLOSE_WRITE
            | WatchMask::DELETE_SELF
            | WatchMask::MOVE_SELF
            | WatchMask::DONT_FOLLOW
    }

    /// A watched directory: the path inputs name it by, and the identity
    /// it had when the watch was added.
    struct Dir {
        path: PathBuf,
        id: (u64, u64),
    }

    pub struct InputWatch {
        inotify: Inotify,
        /// The working directory the watch was made in: relative input
        /// paths mean other files elsewhere.
        cwd: PathBuf,
        /// Each watched directory by the paths inputs name it by (one
        /// inode can be reached by several, each checked).
        dirs: HashMap<WatchDescriptor, Vec<Dir>>,
        dir_of: HashMap<PathBuf, WatchDescriptor>,
        /// The input paths each (directory, name) stands for.
        names: HashMap<(WatchDescriptor, OsString), Vec<PathBuf>>,
        /// The input paths each watched inode was reached by.
        files: HashMap<WatchDescriptor, Vec<PathBuf>>,
        /// Inputs stamped after their watches were added, with nothing
        /// heard about them since. (Keyed by the path's bytes: a `Path`
        /// hashes component by component, which cost more than the `stat`
        /// it saves.)
        clean: HashSet<OsString, rustc_hash::FxBuildHasher>,
        /// Inputs that lost their clean mark since [`InputWatch::suspects`]
        /// last asked.
        lost: Vec<OsString>,
        /// What the last full pass over the list of inputs found.
        listing: Option<Listing>,
        buf: Vec<u8>,
    }

    /// A list of inputs as a full pass found it.
    struct Listing {
        /// [`super::list_hash`] of the list.
        hash: u64,
        /// Each path's place in the list, made when the same list comes
        /// again (a list new at every link, as rustc's with its temporary
        /// directory, never pays for it).
        index: Option<HashMap<OsString, u32, rustc_hash::FxBuildHasher>>,
        /// The list names a path twice: no index, a full pass every time.
        twice: bool,
        /// The inputs it could not watch, stamped on every request.
        unwatched: Vec<u32>,
    }

    impl InputWatch {
        /// A watch with nothing watched yet; `None` when the kernel gives
        /// no inotify instance (every input is then stamped).
        pub fn new() -> Option<InputWatch> {
            Some(InputWatch {
                inotify: Inotify::init().ok()?,
                cwd: std::env::current_dir().ok()?,
                dirs: HashMap::new(),
                dir_of: HashMap::new(),
                names: HashMap::new(),
                files: HashMap::new(),
                clean: HashSet::default(),
                lost: Vec::new(),
                listing: None,
                buf: vec![0; 16 * 1024],
            })
        }

        /// For `inputs`, whose list hashes to `list` (see
        /// [`super::list_hash`]): if it is the list of the last full pass,
        /// the inputs that may have changed since (those that lost their
        /// clean mark, and those never watched), in order; else None (a
        /// full pass is due).
        pub fn suspects(&mut self, list: u64, inputs: &[(PathBuf, bool)]) -> Option<Vec<u32>> {
            let lost = std::mem::take(&mut self.lost);
            let listing = self
                .listing
                .as_mut()
                .filter(|l| l.hash == list && !l.twice)?;
            if listing.index.is_none() {
                let mut index = HashMap::with_capacity_and_hasher(inputs.len(), Default::default());
                for (i, (path, _)) in inputs.iter().enumerate() {
                    if index
                        .insert(path.as_os_str().to_os_string(), i as u32)
                        .is_some()
                    {
                        listing.twice = true;
                        return None;
                    }
                }
                listing.index = Some(index);
            }
            let index = listing.index.as_ref().expect("made above");
            let mut out: Vec<u32> = lost
                .iter()
                .filter_map(|p| index.get(p).copied())
                .chain(listing.unwatched.iter().copied())
                .collect();
            out.sort_unstable();
            out.dedup();
            Some(out)
        }

        /// Records a pass over a list that hashes to `list`, which could
        /// not watch `unwatched` (those it looked at, for a pass over
        /// [`InputWatch::suspects`] alone).
        pub fn set_listing(&mut self, list: u64, unwatched: Vec<u32>) {
            match &mut self.listing {
                Some(l) if l.hash == list => l.unwatched = unwatched,
                _ => {
                    self.listing = Some(Listing {
                        hash: list,
                        index: None,
                        twice: false,
                        unwatched,
                    })
                }
            }
        }

        /// Takes away the clean mark of `path`, noting that it lost it.
        fn unclean(
            clean: &mut HashSet<OsString, rustc_hash::FxBuildHasher>,
            lost: &mut Vec<OsString>,
            path: &Path,
        ) {
            if let Some(p) = clean.take(path.as_os_str()) {
                lost.push(p);
            }
        }

        /// Takes in what happened since the last request: inputs with an
        /// event, and those in a directory that went away or is no longer
        /// the one their path names, are no longer clean. False when the
        /// watch can no longer be trusted for anything (drop it).
        pub fn catch_up(&mut self) -> bool {
            if std::env::current_dir().ok().as_ref() != Some(&self.cwd) {
                return false;
            }
            loop {
                let events = match self.inotify.read_events(&mut self.buf) {
                    Ok(events) => events,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return false,
                };
                let mut any = false;
                let mut gone_dirs = Vec::new();
                for event in events {
                    any = true;
                    if event.mask.contains(EventMask::Q_OVERFLOW) {
                        return false;
                    }
                    if self.dirs.contains_key(&event.wd) {
                        let gone = EventMask::DELETE_SELF
                            | EventMask::MOVE_SELF
                            | EventMask::IGNORED
                            | EventMask::UNMOUNT;
                        if event.mask.intersects(gone) {
                            // (rustc's temporary directory of each link.)
                            gone_dirs.push(event.wd.clone());
                            continue;
                        }
                        if let Some(name) = event.name {
                            let key = (event.wd.clone(), name.to_os_string());
                            for path in self.names.get(&key).into_iter().flatten() {
                                Self::unclean(&mut self.clean, &mut self.lost, path);
                            }
                        }
                    }
                    if let Some(paths) = self.files.get(&event.wd) {
                        for path in paths {
                            Self::unclean(&mut self.clean, &mut self.lost, path);
                        }
                        // The kernel dropped the watch (the inode is gone):
                        // its paths are watched again when next stamped.
                        if event.mask.contains(EventMask::IGNORED) {
                            self.files.remove(&event.wd);
                        }
                    }
                }
                for wd in gone_dirs {
                    self.forget_dir(&wd);
                }
                if !any {
                    break;
                }
            }
            // A directory renamed, or replaced under its path, or a
            // directory above it renamed (no event on the watched one).
            let moved: Vec<WatchDescriptor> = self
                .dirs
                .iter()
                .filter(|(_, ds)| ds.iter().any(|d| dir_id(&d.path) != Some(d.id)))
                .map(|(wd, _)| wd.clone())
                .collect();
            for wd in moved {
                self.forget_dir(&wd);
                let _ = self.inotify.watches().remove(wd);
            }
            true
        }

        /// Forgets a watched directory: the inputs named through it are
        /// stamped (and watched again) when next looked at.
        fn forget_dir(&mut self, wd: &WatchDescriptor) {
            for d in self.dirs.remove(wd).into_iter().flatten() {
                self.dir_of.remove(&d.path);
            }
            let (clean, lost) = (&mut self.clean, &mut self.lost);
            self.names.retain(|(w, _), paths| {
                if w != wd {
                    return true;
                }
                for path in paths.iter() {
                    Self::unclean(clean, lost, path);
                }
                false
            });
        }

        /// How many names it watches: inputs that moved (rustc's codegen
        /// units at new paths in every session) leave their old names
        /// behind, so a server drops a watch that grew far past its inputs.
        pub fn names(&self) -> usize {
            self.names.len()
        }

        /// Whether `path` is as it was when last stamped.
        pub fn is_clean(&self, path: &Path) -> bool {
            self.clean.contains(path.as_os_str())
        }

        /// Watches `path` before its stamp is taken; false when it cannot
        /// be (it is then never clean).
        pub fn watch(&mut self, path: &Path) -> bool {
            let bytes = path.as_os_str().as_bytes();
            let (dir, name) = match bytes.iter().rposition(|&b| b == b'/') {
                Some(0) => (&b"/"[..], &bytes[1..]),
                Some(slash) => (&bytes[..slash], &bytes[slash + 1..]),
                None => (&b"."[..], bytes),
            };
            if name.is_empty() || name == b"." || name == b".." {
                return false;
            }
            let dir = PathBuf::from(std::ffi::OsStr::from_bytes(dir));
            let Some(dir_wd) = self.watch_dir(&dir) else {
                return false;
            };
            // Its own name a symbolic link: the target's directory is not
            // the one watched.
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_file() => {}
                _ => return false,
            }
            let Ok(wd) = self.inotify.watches().add(path, file_mask()) else {
                return false;
            };
            let by_inode = self.files.entry(wd).or_default();
            if !by_inode.iter().any(|p| p == path) {
                by_inode.push(path.to_path_buf());
            }
            let key = (dir_wd, std::ffi::OsStr::from_bytes(name).to_os_string());
            let by_name = self.names.entry(key).or_default();
            if !by_name.iter().any(|p| p == path) {
                by_name.push(path.to_path_buf());
            }
            true
        }

        /// Records that `path`, watched, was stamped and matches the
        /// session's record.
        pub fn mark_clean(&mut self, path: &Path) {
            self.clean.insert(path.as_os_str().to_os_string());
        }

        /// The watch on directory `dir`, added if new; `None` when it
        /// cannot be trusted (not a local filesystem, or it changed while
        /// the watch was added).
        fn watch_dir(&mut self, dir: &Path) -> Option<WatchDescriptor> {
            if let Some(wd) = self.dir_of.get(dir) {
                return Some(wd.clone());
            }
            if !local_filesystem(dir) {
                return None;
            }
            let before = dir_id(dir)?;
            let wd = self.inotify.watches().add(dir, dir_mask()).ok()?;
            // (A watch added for a directory that moved meanwhile is left
            // alone: another path may have it, and no input uses it here.)
            if dir_id(dir) != Some(before) {
                return None;
            }
            self.dirs.entry(wd.clone()).or_default().push(Dir {
                path: dir.to_path_buf(),
                id: before,
            });
            self.dir_of.insert(dir.to_path_buf(), wd.clone());
            Some(wd)
        }
    }

    fn dir_id(dir: &Path) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
    }

    /// Whether `dir` is on a filesystem whose every change this kernel
    /// makes, and so reports: local disk filesystems and memory ones, not
    /// network or FUSE filesystems.
    fn local_filesystem(dir: &Path) -> bool {
        const LOCAL: &[i64] = &[
            0xEF53,      // ext2, ext3, ext4
            0x5846_5342, // xfs
            0x9123_683E, // btrfs
            0x0102_1994, // tmpfs
            0xF2F5_2010, // f2fs
            0x2FC1_2FC1, // zfs
            0xCA45_1A4E, // bcachefs
            0x794C_7630, // overlayfs
        ];
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a NUL-terminated path and a buffer of the right type.
        let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statfs(c.as_ptr(), &mut fs) } != 0 {
            return false;
        }
        #[allow(clippy::unnecessary_cast)]
        LOCAL.contains(&(fs.f_type as i64))
    }
}

#[cfg(not(target_os = "linux"))]
mod other {
    use super::Path;
    use std::path::PathBuf;

    /// No watch here: every input is stamped on every request.
    pub struct InputWatch;

    impl InputWatch {
        pub fn new() -> Option<InputWatch> {
            None
        }
        pub fn catch_up(&mut self) -> bool {
            false
        }
        pub fn is_clean(&self, _: &Path) -> bool {
            false
        }
        pub fn watch(&mut self, _: &Path) -> bool {
            false
        }
        pub fn mark_clean(&mut self, _: &Path) {}
        pub fn names(&self) -> usize {
            0
        }
        pub fn suspects(&mut self, _: u64, _: &[(PathBuf, bool)]) -> Option<Vec<u32>> {
            None
        }
        pub fn set_listing(&mut self, _: u64, _: Vec<u32>) {}
    }
}
