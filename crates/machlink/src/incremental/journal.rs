//! Writing an update (DESIGN.md, "Writing an update"): the byte patches and
//! the new delta go first to a journal beside the output, synced before
//! anything else is written. The delta goes as the bytes in which it
//! differs from the delta file on disk where that file is overwritten in
//! place (see [`DeltaWrite`]): an edit loop's journal is then a page, not
//! the ~90 KiB of a 500-function object's record. The journal file is kept
//! between updates and overwritten in place: syncing an overwrite of blocks
//! the file already has costs a data write, where a new file (or a rename)
//! also waits for the filesystem's metadata journal (0.12 ms against 0.5 ms
//! here). A journal cut short by a crash fails its checksum and is
//! discarded, as any damaged one is; and since patching starts only after
//! the journal is synced, such a journal never belongs to a half-patched
//! output. Then everything that needs new disk space is found before the
//! output is touched: room for the new delta (see [`DeltaSlot`]), and for
//! an update on a copy, the copy. Only then are the patches written:
//!
//! - an unsigned output is patched in place with its execute bits cleared
//!   from before the first patch until the last one is synced, so nothing
//!   can run a half-patched file. The cleared mode is synced (`fsync` of
//!   the output: 0.09-0.3 ms on a quiet disk here, but one more commit of
//!   the filesystem's own journal, ~4 ms, on a busy one) before the first
//!   patch is written: the journal's `fdatasync` does not cover the
//!   output's inode, nor does an `fdatasync` of the output (a mode is not
//!   data), and writeback may put a patched page on the disk at any moment,
//!   so without it a power loss could leave an executable, half-patched
//!   file (a killed process could not: the page cache survives it);
//! - a signed output (macOS kills a process whose signed file changed in
//!   place), an output we may not write or change the mode of (read-only,
//!   another owner's) and an output with other hard links (which ld64 would
//!   not change either: it writes a new file) are patched on a clone of
//!   it (see [`super::clone`]; a byte copy where the filesystem cannot
//!   clone) that is renamed over it. The rename is the commit point.
//!
//! The output gets the modification time the delta records, the execute
//! bits come back, the new delta goes into place and the journal is marked
//! done (its first eight bytes; not synced: a mark lost in a crash only
//! makes the next run apply the finished journal again, which changes
//! nothing).
//!
//! A run that finds a journal (the last one was interrupted) replays it:
//! patches are absolute bytes at absolute offsets, so applying them twice is
//! the same as once. A journal that cannot be applied (damaged, for another
//! image, or failing) is discarded with the state, and a full link follows.

use super::clone::{clone_or_copy, WritePath};
use super::state::{seal, unseal, Delta};
use super::{delta_path, journal_path, Pending};
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
    /// The delta file after the update ([`Delta::to_bytes`]), whole or as
    /// where it differs from the file the update began with.
    pub delta: DeltaWrite,
    /// The delta's output stamp: the size above and the modification time
    /// the patched output is given.
    pub output: Option<super::Fingerprint>,
}

/// How the journal holds an update's new delta file.
///
/// An edit loop's updates replay the same object again and again, so one
/// delta file differs from the last in a few dozen bytes of its ~90 KiB
/// (stamps, a constant, the UUID, the checksum). Journaling those bytes,
/// not the file, keeps the synced journal to a page or two, and they are
/// all that is written over the file afterwards. Patches are absolute
/// bytes at absolute offsets, like the output's: applied over the old
/// file, a torn mix of it and the new one, or the new one, they give the
/// new one, so replaying them after a crash is safe as replaying the
/// output's is. They need the file they were made against to be where it
/// was (overwritten in place, not renamed); where it is not, the delta is
/// journaled whole. A delta whose bytes shifted (a record that gained an
/// atom, a head that outgrew its room) differs almost everywhere and is
/// journaled whole too; the fields an edit changes are fixed-width and the
/// head has room (see `state::Delta::to_bytes`), so a function moving to a
/// body and back shifts nothing. Where a power loss
/// also lost the last update's unsynced delta write (see [`DeltaSlot`]),
/// the patched file fails its checksum, and the next run links in full,
/// as it does when such a delta is lost without a journal to replay.
#[derive(Serialize, Deserialize)]
pub enum DeltaWrite {
    Whole(#[serde(with = "super::bytes::one")] Vec<u8>),
    /// The new file's length, and (offset, bytes) where it differs from
    /// the old one (everything past the old one's end included).
    Patches(u64, Vec<(u64, Vec<u8>)>),
}

/// Blocks compared when the new delta is diffed against the old one, in
/// chunks skipped whole where they are the same.
const DIFF_BLOCK: usize = 32;
const DIFF_CHUNK: usize = 32 * DIFF_BLOCK;

impl DeltaWrite {
    /// `new` as patches over `old` (the file's bytes now) when they are
    /// much smaller than it, else whole.
    pub fn between(old: &[u8], new: &[u8]) -> DeltaWrite {
        if old.is_empty() {
            return DeltaWrite::Whole(new.to_vec());
        }
        let mut patches: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut size = 0;
        let mut at = 0;
        while at < new.len() {
            // Most of the file is the same: skip it a chunk at a time.
            let chunk = (at + DIFF_CHUNK).min(new.len());
            if at % DIFF_CHUNK == 0 && old.get(at..chunk) == Some(&new[at..chunk]) {
                at = chunk;
                continue;
            }
            let end = (at + DIFF_BLOCK).min(new.len());
            if old.get(at..end) != Some(&new[at..end]) {
                match patches.last_mut() {
                    Some((off, bytes)) if *off as usize + bytes.len() == at => {
                        bytes.extend_from_slice(&new[at..end])
                    }
                    _ => patches.push((at as u64, new[at..end].to_vec())),
                }
                size += end - at + 16;
                if size > new.len() / 4 {
                    return DeltaWrite::Whole(new.to_vec());
                }
            }
            at = end;
        }
        DeltaWrite::Patches(new.len() as u64, patches)
    }

    /// The new delta file's bytes, given the file they patch: read now,
    /// whatever mix of the old and new bytes it holds.
    fn bytes(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self {
            DeltaWrite::Whole(bytes) => Ok(bytes.clone()),
            DeltaWrite::Patches(len, patches) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut super::open_to_read(path)?, &mut bytes)?;
                bytes.resize(usize::try_from(*len).map_err(std::io::Error::other)?, 0);
                for (off, b) in patches {
                    usize::try_from(*off)
                        .ok()
                        .and_then(|at| bytes.get_mut(at..at.checked_add(b.len())?))
                        .ok_or_else(|| std::io::Error::other("a delta patch lies outside it"))?
                        .copy_from_slice(b);
                }
                Ok(bytes)
            }
        }
    }

    /// The length of the new delta file.
    fn len(&self) -> u64 {
        match self {
            DeltaWrite::Whole(bytes) => bytes.len() as u64,
            DeltaWrite::Patches(len, _) => *len,
        }
    }
}

const MAGIC: &[u8; 8] = b"MLJRNL05";
/// The file's first eight bytes: an update to finish (then the length of
/// the sealed journal and the journal follow), or none.
const ACTIVE: &[u8; 8] = b"MLJRNACT";
const DONE: &[u8; 8] = b"MLJRDONE";
const PREFIX: usize = 16;

/// Writes `journal` over the journal file (created on first use) and syncs
/// it. Bytes past its end, left by a longer journal before, are not read.
fn write_journal(path: &Path, journal: &Journal) -> std::io::Result<()> {
    let sealed = seal(MAGIC, journal);
    let mut bytes = Vec::with_capacity(PREFIX + sealed.len());
    bytes.extend_from_slice(ACTIVE);
    bytes.extend_from_slice(&(sealed.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&sealed);
    let file = super::open_beside(path, true)?;
    file.write_all_at(&bytes, 0)?;
    file.sync_data()
}

/// Marks the journal file done (nothing to recover). Not synced, see the
/// module's comment.
fn mark_done(path: &Path) -> std::io::Result<()> {
    super::open_beside(path, false)?.write_all_at(DONE, 0)
}

/// The sealed journal an interrupted update left, if any: `Ok(None)` for
/// no journal file or one marked done.
fn read_journal(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let file = match super::open_to_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut prefix = [0u8; PREFIX];
    let got = read_up_to(&file, &mut prefix, 0)?;
    if got >= 8 && &prefix[..8] == DONE {
        return Ok(None);
    }
    if got < PREFIX || &prefix[..8] != ACTIVE {
        // Not one of ours (or cut short): unseal says what is wrong.
        let mut all = prefix[..got].to_vec();
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut rest)?;
        all.extend(rest);
        return Ok(Some(all));
    }
    let len = u64::from_le_bytes(prefix[8..].try_into().expect("8 bytes"));
    let avail = file.metadata()?.len().saturating_sub(PREFIX as u64);
    // A length past the file's end is damage; unseal reports what is there.
    let mut body = vec![0u8; len.min(avail) as usize];
    let got = read_up_to(&file, &mut body, PREFIX as u64)?;
    body.truncate(got);
    Ok(Some(body))
}

/// Reads into `buf` at `at` until it is full or the file ends; how much.
fn read_up_to(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at + n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

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
        let fits = |patches: &[(u64, Vec<u8>)], len: u64| {
            patches
                .iter()
                .all(|(off, b)| off.checked_add(b.len() as u64).is_some_and(|e| e <= len))
        };
        if let DeltaWrite::Patches(len, patches) = &self.delta {
            if !fits(patches, *len) {
                return Some("its patches of the delta lie outside it".into());
            }
        }
        (!fits(&self.patches, self.size)).then(|| "its patches lie outside the output".into())
    }

    /// Why the opened `file` is not the image this journal updates (its
    /// size, its UUID before or after the patches), if it is not.
    fn other_file(&self, file: &std::fs::File) -> Option<String> {
        let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        let (at, before, after) = self.uuid;
        let mut uuid = [0u8; 16];
        let same = len == self.size
            && file.read_exact_at(&mut uuid, at).is_ok()
            && (uuid == before || uuid == after);
        (!same).then(|| "the output was replaced while the update was being made".into())
    }

    /// Bytes the update writes into the output.
    pub fn bytes(&self) -> u64 {
        self.patches.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Records the journal, then applies it; says how the patches were
    /// written. `new_delta` is the new delta file whole. Each step is a
    /// phase of `timer`.
    pub fn commit(
        &mut self,
        output: &Path,
        new_delta: &[u8],
        timer: &mut Timer,
    ) -> std::io::Result<WritePath> {
        let journal = journal_path(output);
        // Patches of the delta need the file they were made against, to
        // be overwritten in place: found before they are journaled (the
        // file opened is the one written), or the delta goes whole.
        let mut slot = None;
        if let DeltaWrite::Patches(len, _) = self.delta {
            let delta_file = delta_path(output);
            match DeltaSlot::overwritable(&delta_file, len) {
                Ok(Some((file, had))) => slot = Some(DeltaSlot::InPlace(file, had)),
                _ => self.delta = DeltaWrite::Whole(new_delta.to_vec()),
            }
        }
        fault("journal")
            .and_then(|()| write_journal(&journal, self))
            .map_err(|e| {
                // Whatever was written holds no update (the last one was
                // finished before this one began): nothing to leave behind.
                let _ = std::fs::remove_file(&journal);
                with_path(e, "cannot write the journal", &journal)
            })?;
        timer.lap("write journal");
        let mut started = false;
        let r = fault("after-journal").and_then(|()| self.apply(output, &mut started, timer, slot));
        if r.is_err() && !started {
            // The output is untouched: the update did not happen, and the
            // state still describes the output.
            let _ = mark_done(&journal);
        }
        r
    }

    /// Applies the journal; `started` is set once the output may differ
    /// from what it was. `slot`: the delta file, if already opened for
    /// its patches. Returns how the patches were written; each step is a
    /// phase of `timer`.
    fn apply(
        &self,
        output: &Path,
        started: &mut bool,
        timer: &mut Timer,
        slot: Option<DeltaSlot>,
    ) -> std::io::Result<WritePath> {
        let delta_file = delta_path(output);
        let mut delta = fault("delta")
            .and_then(|()| match slot {
                Some(slot) => Ok(slot),
                None => DeltaSlot::prepare(&delta_file, &self.delta),
            })
            .map_err(|e| with_path(e, "cannot write the delta", &delta_file))?;
        // The delta with the output's stamp as the filesystem kept it, if
        // that differs from the journal's.
        let mut restamped = None;
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
            .read(true)
            .write(true)
            .open(target)
            .map_err(|e| with_path(e, "cannot open the output to patch it", target))?;
        // The file opened is the image this journal was made for: a plain
        // link (which takes no lock) may have renamed another output over
        // it since this run looked, and patches meant for one layout would
        // tear another.
        if let Some(why) = self.other_file(&file) {
            return Err(std::io::Error::other(format!(
                "{}: {why}; the update was not applied",
                output.display()
            )));
        }
        *started = !copy;
        // No execute bits while any patch is missing (on a copy, nothing
        // can run it before the rename anyway).
        file.set_permissions(std::fs::Permissions::from_mode(mode & !0o111))?;
        if !copy && mode & 0o111 != 0 {
            // And on disk before any patch can be: the journal's sync does
            // not cover this file, nor would the patches' (an fdatasync
            // leaves a mode alone), and writeback may write a patched page
            // at any time, so after a power loss the file could otherwise
            // be executable and half patched.
            file.sync_all()?;
            timer.lap("clear execute bits");
        }
        for (i, (offset, bytes)) in self.patches.iter().enumerate() {
            file.write_all_at(bytes, *offset)?;
            if i == 0 {
                fault("mid-patch")?;
            }
        }
        if let Some(fp) = &self.output {
            file.set_modified(system_time(fp.mtime_ns))?;
            // A filesystem with coarser times keeps a rounded one: the
            // delta must record what the file has.
            let kept = super::stamp_of_file(&file)?;
            if kept != (fp.size, fp.mtime_ns) {
                let mut d = Delta::from_bytes(&self.delta.bytes(&delta_file)?)
                    .map_err(std::io::Error::other)?;
                d.output = Some(super::Fingerprint {
                    size: kept.0,
                    mtime_ns: kept.1,
                    ..fp.clone()
                });
                let bytes = d.to_bytes();
                delta = delta
                    .replace(&delta_file, &bytes)
                    .map_err(|e| with_path(e, "cannot write the delta", &delta_file))?;
                restamped = Some(DeltaWrite::Whole(bytes));
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
        // The output is whole and on disk: it may run again.
        std::fs::set_permissions(output, std::fs::Permissions::from_mode(mode))?;
        delta
            .commit(restamped.as_ref().unwrap_or(&self.delta))
            .map_err(|e| with_path(e, "cannot write the delta", &delta_file))?;
        mark_done(&journal_path(output))?;
        timer.lap("rename and clean up");
        Ok(path)
    }
}

/// Where an update's new delta goes, made ready before the output is
/// touched so that a full disk stops the update while the old output and
/// its state still agree.
///
/// The delta is overwritten in place where that needs no new disk space:
/// renaming a new file over the old one (the other way) makes ext4 flush the
/// new file's data first (`auto_da_alloc`), which costs more than the rest
/// of a small update's writes together. Overwriting stays crash-safe
/// because the journal, synced before the output was touched, holds the
/// new delta whole, and the delta is written only after the patches are
/// synced and before the journal is marked done: a crash while it is
/// written leaves the journal active, and the next run applies it again,
/// delta included. Neither the delta nor the mark is synced (as the rename
/// was not): if the mark reaches the disk and the delta does not, the delta
/// is the old one (its output stamp no longer matches the output's) or a
/// torn one (it fails its checksum), and either way the next run links in
/// full, saying why.
enum DeltaSlot {
    /// The delta file, opened to be overwritten, and its length.
    InPlace(std::fs::File, u64),
    /// The new delta, written under a temporary name and renamed into
    /// place (no delta yet, one with other links, or no room reserved).
    Renamed(Pending),
}

impl DeltaSlot {
    fn prepare(path: &Path, write: &DeltaWrite) -> std::io::Result<DeltaSlot> {
        match (Self::overwritable(path, write.len())?, write) {
            (Some((file, len)), _) => Ok(DeltaSlot::InPlace(file, len)),
            (None, DeltaWrite::Whole(bytes)) => {
                Ok(DeltaSlot::Renamed(Pending::write(path, &[bytes], false)?))
            }
            (None, DeltaWrite::Patches(..)) => Err(std::io::Error::other(
                "the delta file its patches were made for cannot be overwritten",
            )),
        }
    }

    /// The delta file, when it can be overwritten with `len` bytes without
    /// asking the filesystem for more room than it has reserved.
    fn overwritable(path: &Path, len: u64) -> std::io::Result<Option<(std::fs::File, u64)>> {
        // (Not through a symbolic link: one there is replaced by the rename.)
        let Ok(file) = super::open_beside(path, false) else {
            // None yet, or not ours to write: the rename path says why if
            // it cannot either.
            return Ok(None);
        };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.nlink() != 1 {
            return Ok(None);
        }
        if len > meta.len() && !reserve(&file, len)? {
            return Ok(None);
        }
        Ok(Some((file, meta.len())))
    }

    /// The slot for other bytes than those it was prepared for (the same
    /// delta with another output stamp, a few bytes apart).
    fn replace(self, path: &Path, bytes: &[u8]) -> std::io::Result<DeltaSlot> {
        match self {
            DeltaSlot::InPlace(file, len) if bytes.len() as u64 <= len => {
                Ok(DeltaSlot::InPlace(file, len))
            }
            slot => {
                // (The old one goes first: both have one temporary name.)
                drop(slot);
                DeltaSlot::prepare(path, &DeltaWrite::Whole(bytes.to_vec()))
            }
        }
    }

    /// Puts the delta in place; `write` is what the slot was prepared for.
    fn commit(self, write: &DeltaWrite) -> std::io::Result<()> {
        match self {
            DeltaSlot::InPlace(file, len) => {
                match write {
                    DeltaWrite::Whole(bytes) => file.write_all_at(bytes, 0)?,
                    DeltaWrite::Patches(_, patches) => {
                        for (off, bytes) in patches {
                            file.write_all_at(bytes, *off)?;
                        }
                    }
                }
                if write.len() < len {
                    // Drop the older delta's tail (a shorter length needs
                    // no room, and is no truncation to zero, which ext4
                    // would flush on close).
                    file.set_len(write.len())?;
                }
                Ok(())
            }
            DeltaSlot::Renamed(pending) => pending.commit(),
        }
    }
}

/// Reserves disk blocks for a file to grow to `len` bytes without changing
/// its size or contents; whether it did (`Err` for a full disk).
#[cfg(target_os = "linux")]
fn reserve(file: &std::fs::File, len: u64) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let Ok(len) = libc::off_t::try_from(len) else {
        return Ok(false);
    };
    // SAFETY: a plain system call on a descriptor we own.
    if unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => Err(e),
        _ => Ok(false),
    }
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &std::fs::File, _len: u64) -> std::io::Result<bool> {
    Ok(false)
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
    let bytes = match read_journal(&path) {
        Ok(Some(b)) => b,
        Ok(None) => return Ok(Recovery::None),
        Err(e) => return discard(output, format!("it cannot be read ({e})")),
    };
    let journal: Journal = match unseal(MAGIC, &bytes) {
        Ok(j) => j,
        Err(why) => return discard(output, format!("it is damaged ({why})")),
    };
    if let Some(why) = journal.mismatch(output) {
        return discard(output, why);
    }
    match journal.apply(output, &mut false, &mut Timer::new(), None) {
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

/// Fuzzing entry (see `fuzz/`): `data` as a journal file's sealed body, its
/// checksum made right, decoded and checked against an output that is not
/// there. Nothing is written.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8], scratch: &Path) {
    let mut bytes = data.to_vec();
    if bytes.len() >= 8 {
        let end = bytes.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..end]);
        bytes[end..].copy_from_slice(&sum.to_le_bytes());
    }
    if let Ok(journal) = unseal::<Journal>(MAGIC, &bytes) {
        let _ = journal.mismatch(&scratch.join("no-output"));
        let _ = journal.bytes();
        match &journal.delta {
            DeltaWrite::Whole(bytes) => {
                if let Ok(d) = Delta::from_bytes(bytes) {
                    let _ = d.to_bytes();
                }
            }
            DeltaWrite::Patches(..) => {
                let _ = journal.delta.bytes(&scratch.join("no-delta"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delta's patches give the new file over the old one, over the
    /// new one, and over any mix of the two a crash can leave.
    #[test]
    fn delta_patches_give_the_new_file_over_any_mix_of_old_and_new() {
        let dir = std::env::temp_dir().join(format!("machlink-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("delta");
        let old: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        for new_len in [4000usize, 5000, 5100] {
            let mut new: Vec<u8> = (0..new_len as u32).map(|i| (i * 7) as u8).collect();
            new[10] ^= 1;
            new[3333] ^= 0x80;
            let write = DeltaWrite::between(&old, &new);
            let DeltaWrite::Patches(len, patches) = &write else {
                panic!("a few changed bytes are journaled as patches");
            };
            assert_eq!(*len as usize, new.len());
            let grown = new.len().saturating_sub(old.len());
            let patched: usize = patches.iter().map(|(_, b)| b.len()).sum();
            assert!(patched <= 3 * DIFF_BLOCK + grown, "{patched} bytes patched");
            // The torn mix: the new file's first half over the old file.
            let mut torn = old.clone();
            let half = new.len().min(old.len()) / 2;
            torn[..half].copy_from_slice(&new[..half]);
            for start in [&old, &new, &torn] {
                std::fs::write(&path, start).unwrap();
                assert_eq!(write.bytes(&path).unwrap(), new);
                let slot = DeltaSlot::prepare(&path, &write).unwrap();
                slot.commit(&write).unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), new);
            }
        }
        // A delta that shifted goes whole, as does a first one.
        let shifted: Vec<u8> = std::iter::once(0).chain(old.iter().copied()).collect();
        assert!(matches!(
            DeltaWrite::between(&old, &shifted),
            DeltaWrite::Whole(_)
        ));
        assert!(matches!(
            DeltaWrite::between(&[], &old),
            DeltaWrite::Whole(_)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
