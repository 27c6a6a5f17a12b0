//! Writing an update (DESIGN.md, "Writing an update"): the byte patches and
//! the new delta go first to a journal beside the output, synced and renamed
//! into place, so it exists whole or not at all. Then:
//!
//! - an unsigned output is patched in place with its execute bits cleared
//!   from before the first patch until the last one is synced, so nothing
//!   can run a half-patched file;
//! - a signed output (macOS kills a process whose signed file changed in
//!   place) is patched on a copy that is renamed over it.
//!
//! The delta follows, then the execute bits come back and the journal goes.
//! A run that finds a journal (the last one was interrupted) replays it:
//! patches are absolute bytes at absolute offsets, so applying them twice is
//! the same as once.

use super::state::Delta;
use super::{delta_path, journal_path, write_atomically, write_replacing, Fingerprint};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::{FileExt, PermissionsExt};
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
    /// (file offset, bytes).
    pub patches: Vec<(u64, Vec<u8>)>,
    /// The delta after the update; its output stamp is filled in once the
    /// patches are on disk.
    pub delta: Delta,
}

const MAGIC: &[u8; 8] = b"MLJRNL01";

impl Journal {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(super::state::encode(self).expect("the journal serialises"));
        let sum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Journal> {
        let (body, sum) = bytes.split_at(bytes.len().checked_sub(8)?);
        if !body.starts_with(MAGIC) || xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != sum[..] {
            return None;
        }
        super::state::decode(&body[MAGIC.len()..]).ok()
    }

    /// Whether the output is the image this journal updates (before or
    /// after its patches).
    fn matches(&self, output: &Path) -> bool {
        use std::io::Read;
        use std::io::Seek;
        let (at, before, after) = self.uuid;
        let mut uuid = [0u8; 16];
        std::fs::File::open(output)
            .and_then(|mut f| {
                f.seek(std::io::SeekFrom::Start(at))?;
                f.read_exact(&mut uuid)
            })
            .is_ok_and(|()| uuid == before || uuid == after)
    }

    /// Bytes the update writes into the output.
    pub fn bytes(&self) -> u64 {
        self.patches.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Records the journal, then applies it.
    pub fn commit(&self, output: &Path) -> std::io::Result<()> {
        write_atomically(&journal_path(output), &self.to_bytes())?;
        self.apply(output)
    }

    fn apply(&self, output: &Path) -> std::io::Result<()> {
        let target = if self.copy {
            let mut tmp = output.as_os_str().to_os_string();
            tmp.push(".machlink-patching");
            let tmp = std::path::PathBuf::from(tmp);
            std::fs::copy(output, &tmp)?;
            tmp
        } else {
            output.to_path_buf()
        };
        let mode = self.mode & 0o7777;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & !0o111))?;
        let file = std::fs::OpenOptions::new().write(true).open(&target)?;
        for (i, (offset, bytes)) in self.patches.iter().enumerate() {
            file.write_all_at(bytes, *offset)?;
            if i == 0 && std::env::var_os("MACHLINK_TEST_CRASH").is_some_and(|v| v == "mid-patch") {
                // Fault injection for the tests: die as a crash would.
                std::process::abort();
            }
        }
        file.sync_data()?;
        drop(file);
        if self.copy {
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
            std::fs::rename(&target, output)?;
        }
        let mut delta = self.delta.clone();
        delta.output = Some(Fingerprint::stamp_of(output)?);
        // Not synced: if it is lost, the output's stamp no longer matches
        // the delta's, and the next run links in full.
        write_replacing(&delta_path(output), &delta.to_bytes())?;
        std::fs::set_permissions(output, std::fs::Permissions::from_mode(mode))?;
        std::fs::remove_file(journal_path(output))
    }
}

/// Finishes an update that an earlier run left half done. Returns what it
/// did, for `-v`; an unreadable journal is removed (it was never applied:
/// patching starts only once the journal is whole), and the state checks
/// that follow decide whether the output can still be updated.
pub fn recover(output: &Path) -> std::io::Result<Option<String>> {
    let path = journal_path(output);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match Journal::from_bytes(&bytes) {
        Some(j) if j.matches(output) => {
            j.apply(output)?;
            Ok(Some(format!(
                "finished an interrupted update ({} patches)",
                j.patches.len()
            )))
        }
        Some(_) => {
            // The output was replaced since (say, by a full link): the
            // journal is for another image.
            std::fs::remove_file(&path)?;
            Ok(Some(
                "discarded the journal of an interrupted update to another image".into(),
            ))
        }
        None => {
            std::fs::remove_file(&path)?;
            Ok(Some("discarded an unreadable journal".into()))
        }
    }
}
