//! Writing an update (DESIGN.md, "Writing an update"): the byte patches and
//! the new delta go first to a journal beside the output, synced and renamed
//! into place, so it exists whole or not at all. Then everything that needs
//! new disk space is written before the output is touched: the new delta
//! under a temporary name, and for an update on a copy, the copy. Only then
//! are the patches written:
//!
//! - an unsigned output is patched in place with its execute bits cleared
//!   from before the first patch until the last one is synced, so nothing
//!   can run a half-patched file;
//! - a signed output (macOS kills a process whose signed file changed in
//!   place), an output we may not write or change the mode of (read-only,
//!   another owner's) and an output with other hard links (which ld64 would
//!   not change either: it writes a new file) are patched on a clone of
//!   it (see [`super::clone`]; a byte copy where the filesystem cannot
//!   clone) that is renamed over it. The rename is the commit point.
//!
//! The output gets the modification time the delta records, the delta is
//! renamed into place, the execute bits come back and the journal goes.
//!
//! A run that finds a journal (the last one was interrupted) replays it:
//! patches are absolute bytes at absolute offsets, so applying them twice is
//! the same as once. A journal that cannot be applied (damaged, for another
//! image, or failing) is discarded with the state, and a full link follows.

use super::clone::{clone_or_copy, WritePath};
use super::state::{seal, unseal, Delta};
use super::{delta_path, journal_path, write_atomically, Pending};
use crate::timing::Timer;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// One update, as the journal holds it.
#[derive(Serialize, Deserialize)]
pub struct Journal {
    /// The output's permission bits before the update.
    pub mode: u32,
    /// Patch a copy and rename it (signed outputs), not the file itself.
    pub copy: bool,
    /// Where the output's UUID is, and its value before and after the
    /// update: a journal applies only to the image it was made for.
    pub uuid: (u64, [u8; 16], [u8; 16]),
    /// The output's size (updates do not change it).
    pub size: u64,
    /// (file offset, bytes).
    pub patches: Vec<(u64, Vec<u8>)>,
    /// The delta after the update. Its output stamp is the size above and
    /// the modification time the patched output is given.
    pub delta: Delta,
}

const MAGIC: &[u8; 8] = b"MLJRNL02";

/// Test hooks standing in for a crash (`MACHLINK_TEST_CRASH=point`: the
/// process aborts there) or an I/O error (`MACHLINK_TEST_FAIL=point`) at a
/// point of an update. Points: `journal` (writing it), `after-journal`,
/// `delta` (writing the new delta), `before-patch` (the clone or copy made,
/// if any; nothing patched), `mid-patch` (after the first patch),
/// `after-patch` (patches synced, delta not yet in place).
fn fault(point: &str) -> std::io::Result<()> {
    let is = |var: &str| std::env::var_os(var).is_some_and(|v| v == point);
    if is("MACHLINK_TEST_CRASH") {
        std::process::abort();
    }
    if is("MACHLINK_TEST_FAIL") {
        return Err(std::io::Error::other(format!(
            "injected failure at {point} (MACHLINK_TEST_FAIL)"
        )));
    }
    Ok(())
}

impl Journal {
    /// Why the output is not the image this journal updates (before or
    /// after its patches), if it is not.
    fn mismatch(&self, output: &Path) -> Option<String> {
        let meta = match std::fs::symlink_metadata(output) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Some("the output is no longer a regular file".into()),
            Err(e) => return Some(format!("the output cannot be examined ({e})")),
        };
        if meta.size() != self.size {
            return Some(format!(
                "the output is {} bytes, the journal is for {} bytes",
                meta.size(),
                self.size
            ));
        }
        let (at, before, after) = self.uuid;
        if !super::read_uuid(output, at).is_ok_and(|u| u == before || u == after) {
            return Some("it was made for another image".into());
        }
        let fits = self.patches.iter().all(|(off, b)| {
            off.checked_add(b.len() as u64)
                .is_some_and(|e| e <= self.size)
        });
        (!fits).then(|| "its patches lie outside the output".into())
    }

    /// Bytes the update writes into the output.
    pub fn bytes(&self) -> u64 {
        self.patches.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Records the journal, then applies it; says how the patches were
    /// written. Each step is a phase of `timer`.
    pub fn commit(&self, output: &Path, timer: &mut Timer) -> std::io::Result<WritePath> {
        let journal = journal_path(output);
        fault("journal")
            .and_then(|()| write_atomically(&journal, &seal(MAGIC, self)))
            .map_err(|e| with_path(e, "cannot write the journal", &journal))?;
        timer.lap("write journal");
        let mut started = false;
        let r = fault("after-journal").and_then(|()| self.apply(output, &mut started, timer));
        if r.is_err() && !started {
            // The output is untouched: the update did not happen, and the
            // state still describes the output.
            let _ = std::fs::remove_file(&journal);
        }
        r
    }

    /// Applies the journal; `started` is set once the output may differ
    /// from what it was. Returns how the patches were written; each step
    /// is a phase of `timer`.
    fn apply(
        &self,
        output: &Path,
        started: &mut bool,
        timer: &mut Timer,
    ) -> std::io::Result<WritePath> {
        let delta_file = delta_path(output);
        let write_delta = |d: &Delta| {
            fault("delta")
                .and_then(|()| Pending::write(&delta_file, &[&d.to_bytes()], false))
                .map_err(|e| with_path(e, "cannot write the delta", &delta_file))
        };
        let mut delta = Some(write_delta(&self.delta)?);
        timer.lap("write delta");
        let mode = self.mode & 0o7777;
        let copy = self.copy || !patchable_in_place(output);
        let mut path = WritePath::InPlace;
        let patching = if copy {
            let tmp = super::patching_path(output);
            let _ = std::fs::remove_file(&tmp);
            // A guard, so that a failure leaves no copy behind.
            let guard = Pending {
                tmp: tmp.clone(),
                path: output.to_path_buf(),
            };
            path = clone_or_copy(output, &tmp)
                .map_err(|e| with_path(e, "cannot copy the output to patch it", &tmp))?;
            timer.lap(match path {
                WritePath::Clone => "clone output",
                _ => "copy output",
            });
            Some(guard)
        } else {
            None
        };
        fault("before-patch")?;
        let target = patching.as_ref().map_or(output, |p| p.tmp.as_path());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(target)
            .map_err(|e| with_path(e, "cannot open the output to patch it", target))?;
        *started = !copy;
        // No execute bits while any patch is missing (on a copy, nothing
        // can run it before the rename anyway).
        file.set_permissions(std::fs::Permissions::from_mode(mode & !0o111))?;
        for (i, (offset, bytes)) in self.patches.iter().enumerate() {
            file.write_all_at(bytes, *offset)?;
            if i == 0 {
                fault("mid-patch")?;
            }
        }
        if let Some(fp) = &self.delta.output {
            file.set_modified(system_time(fp.mtime_ns))?;
            // A filesystem with coarser times keeps a rounded one: the
            // delta must record what the file has.
            let kept = super::stamp_of_file(&file)?;
            if kept != (fp.size, fp.mtime_ns) {
                let mut d = self.delta.clone();
                d.output = Some(super::Fingerprint {
                    size: kept.0,
                    mtime_ns: kept.1,
                    ..fp.clone()
                });
                // (The old one goes first: both have one temporary name.)
                drop(delta.take());
                delta = Some(write_delta(&d)?);
            }
        }
        file.sync_data()?;
        timer.lap("patch and sync");
        if let Some(p) = patching {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            drop(file);
            *started = true;
            p.commit()?;
            // The output is a new file: the image link follows it.
            super::keep_image(output);
        } else {
            drop(file);
        }
        fault("after-patch")?;
        // Not synced: if it is lost, the output's stamp no longer matches
        // the delta's, and the next run links in full.
        delta.expect("written above").commit()?;
        std::fs::set_permissions(output, std::fs::Permissions::from_mode(mode))?;
        std::fs::remove_file(journal_path(output))?;
        timer.lap("rename and clean up");
        Ok(path)
    }
}

fn with_path(e: std::io::Error, what: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

fn system_time(ns: i128) -> std::time::SystemTime {
    let d = std::time::Duration::from_nanos(ns.unsigned_abs() as u64);
    if ns >= 0 {
        std::time::UNIX_EPOCH + d
    } else {
        std::time::UNIX_EPOCH - d
    }
}

/// Whether the output may be patched where it is: a regular file with no
/// other hard links (but the state's image link) that this process may write and change the mode of.
fn patchable_in_place(output: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(meta) = std::fs::symlink_metadata(output) else {
        return false;
    };
    let Ok(c) = std::ffi::CString::new(output.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: plain system calls on a NUL-terminated path.
    let (writable, euid) = unsafe { (libc::access(c.as_ptr(), libc::W_OK) == 0, libc::geteuid()) };
    meta.is_file()
        && super::only_image_links(output, &meta)
        && writable
        && (euid == 0 || meta.uid() == euid)
}

/// What [`recover`] did with a journal an earlier run left behind.
pub enum Recovery {
    /// No journal.
    None,
    /// The interrupted update was finished.
    Finished(String),
    /// The journal was discarded, and the state with it: the caller links
    /// in full, for this reason.
    Discarded(String),
}

/// Finishes an update that an earlier run left half done, or discards its
/// journal (and the state, whose image the journal may have half changed)
/// when it cannot be applied. Errors only when the journal can be neither
/// read nor removed.
pub fn recover(output: &Path) -> std::io::Result<Recovery> {
    let path = journal_path(output);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovery::None),
        Err(e) => return discard(output, format!("it cannot be read ({e})")),
    };
    let journal: Journal = match unseal(MAGIC, &bytes) {
        Ok(j) => j,
        Err(why) => return discard(output, format!("it is damaged ({why})")),
    };
    if let Some(why) = journal.mismatch(output) {
        return discard(output, why);
    }
    match journal.apply(output, &mut false, &mut Timer::new()) {
        Ok(path) => Ok(Recovery::Finished(format!(
            "finished an interrupted update ({} patches, written {})",
            journal.patches.len(),
            path.describe()
        ))),
        Err(e) => discard(output, format!("it could not be applied ({e})")),
    }
}

fn discard(output: &Path, why: String) -> std::io::Result<Recovery> {
    super::forget(output).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Recovery::Discarded(format!(
        "discarded the journal of an interrupted update: {why}"
    )))
}
