//! The incremental engine: persistent state beside the output, change
//! detection, in-place patching, slot moves with trampolines (the distributed
//! jump table) and the journal that keeps an interrupted update from leaving a
//! runnable mix.
//!
//! Built so far: the state file (the link's arguments and a fingerprint of
//! every input and of the output), the lock that serialises runs on one
//! output, and change detection (size and modification time, then a
//! content hash only for files whose stamp moved). A run whose inputs did
//! not change leaves the output alone; any change falls back to a full
//! link, and `-v` says why. In-place updates come next.

use crate::error::{LinkError, Result};
use crate::options::Options;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const MAGIC: &str = "machlink-incremental-state v1";

/// What identifies a file's contents cheaply (stamp) and exactly (hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
    pub hash: u64,
}

fn stamp(path: &Path) -> std::io::Result<(u64, i128)> {
    let m = std::fs::metadata(path)?;
    Ok((
        m.size(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    ))
}

fn hash_file(path: &Path) -> std::io::Result<u64> {
    Ok(xxhash_rust::xxh3::xxh3_64(&std::fs::read(path)?))
}

impl Fingerprint {
    pub fn of(path: &Path) -> std::io::Result<Fingerprint> {
        let (size, mtime_ns) = stamp(path)?;
        Ok(Fingerprint {
            path: path.to_path_buf(),
            size,
            mtime_ns,
            hash: hash_file(path)?,
        })
    }

    /// Whether the file still has these contents: equal stamps say yes
    /// without reading it; otherwise its hash decides.
    pub fn unchanged(&self) -> bool {
        match stamp(&self.path) {
            Ok(s) if s == (self.size, self.mtime_ns) => true,
            Ok((size, _)) if size != self.size => false,
            Ok(_) => hash_file(&self.path).is_ok_and(|h| h == self.hash),
            Err(_) => false,
        }
    }
}

/// What the last incremental link recorded.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    /// Hash of the arguments that shape the output.
    pub args: u64,
    pub output: Fingerprint,
    pub inputs: Vec<Fingerprint>,
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

fn write_fingerprint(out: &mut String, kind: &str, f: &Fingerprint) -> Option<()> {
    let path = f.path.to_str().filter(|p| !p.contains('\n'))?;
    out.push_str(&format!(
        "{kind} {} {} {:016x} {path}\n",
        f.size, f.mtime_ns, f.hash
    ));
    Some(())
}

fn read_fingerprint(line: &str, kind: &str) -> Option<Fingerprint> {
    let rest = line.strip_prefix(kind)?.strip_prefix(' ')?;
    let mut parts = rest.splitn(4, ' ');
    Some(Fingerprint {
        size: parts.next()?.parse().ok()?,
        mtime_ns: parts.next()?.parse().ok()?,
        hash: u64::from_str_radix(parts.next()?, 16).ok()?,
        path: PathBuf::from(parts.next()?),
    })
}

impl State {
    /// Reads the state beside `output`; None when there is none or it is
    /// not ours (a corrupt or foreign state means a full link).
    pub fn load(output: &Path) -> Option<State> {
        let text = std::fs::read_to_string(state_path(output)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let args = u64::from_str_radix(lines.next()?.strip_prefix("args ")?, 16).ok()?;
        let output = read_fingerprint(lines.next()?, "output")?;
        let inputs = lines
            .map(|l| read_fingerprint(l, "input"))
            .collect::<Option<Vec<_>>>()?;
        Some(State {
            args,
            output,
            inputs,
        })
    }

    /// Writes the state atomically (a temporary file renamed into place).
    pub fn save(&self, output: &Path) -> Result<()> {
        let mut text = format!("{MAGIC}\nargs {:016x}\n", self.args);
        let err = |what: &str| LinkError::file(state_path(output).display(), what);
        write_fingerprint(&mut text, "output", &self.output)
            .ok_or_else(|| err("output path cannot be recorded"))?;
        for f in &self.inputs {
            write_fingerprint(&mut text, "input", f)
                .ok_or_else(|| err("an input path cannot be recorded"))?;
        }
        let path = state_path(output);
        let tmp = sibling(output, "machlink-state.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| err(&format!("cannot write incremental state: {e}")))
    }

    /// Records the current stamps of files whose contents were found
    /// unchanged by hash (touched, not edited), so the next run need not
    /// read them again. Returns whether anything was updated.
    pub fn refresh_stamps(&mut self) -> bool {
        let mut updated = false;
        for f in std::iter::once(&mut self.output).chain(self.inputs.iter_mut()) {
            if let Ok((size, mtime_ns)) = stamp(&f.path) {
                if (size, mtime_ns) != (f.size, f.mtime_ns) {
                    (f.size, f.mtime_ns) = (size, mtime_ns);
                    updated = true;
                }
            }
        }
        updated
    }

    /// Why this state cannot be reused for `inputs` and `args`, or None
    /// when nothing changed.
    pub fn change(&self, args: u64, inputs: &[PathBuf]) -> Option<String> {
        if self.args != args {
            return Some("the options changed".into());
        }
        if !self.output.unchanged() {
            return Some("the output was changed since the last link".into());
        }
        if self.inputs.len() != inputs.len()
            || self.inputs.iter().zip(inputs).any(|(f, p)| &f.path != p)
        {
            return Some("the list of inputs changed".into());
        }
        let changed: Vec<String> = self
            .inputs
            .iter()
            .filter(|f| !f.unchanged())
            .map(|f| f.path.display().to_string())
            .collect();
        if changed.is_empty() {
            return None;
        }
        Some(format!(
            "{} input(s) changed ({}); in-place updates are not implemented yet",
            changed.len(),
            changed.join(", ")
        ))
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
        let err = |e: std::io::Error| LinkError::file(path.display(), format!("cannot lock: {e}"));
        let mut file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor we own; the lock ends with it.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!(
                "machlink: waiting for another link of {} to finish",
                output.display()
            );
            // SAFETY: as above, blocking this time.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(err(std::io::Error::last_os_error()));
            }
        }
        let _ = writeln!(file, "{}", std::process::id());
        Ok(Lock { _file: file })
    }
}
