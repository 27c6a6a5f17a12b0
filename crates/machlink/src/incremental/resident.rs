//! What a resident machlink (`machlink --serve`) keeps between requests.
//!
//! A process opens an output's incremental state on every run: it maps and
//! checks the state file, reads the delta and decodes its body, and (for an
//! update) verifies the checksum of every block of the state it reads. A
//! server keeps the [`Session`] an update or a run with nothing changed
//! ended with, and hands it to the next request for the same output, so
//! none of that is done again.
//!
//! A kept session is trusted only while the files it was read from are the
//! ones on disk: the state, the delta and the output must have the
//! identity (device, inode, size, modification and change time) they had
//! when the session was kept. Anything else (another process linked the
//! output, an editor touched the state, a crash left a journal) drops it
//! and the request opens the state from its files, checks and all, as a
//! process would. The change time is in the identity because it cannot be
//! set back: a write that restores the modification time still moves it.
//! Everything after the open (recovery of a journal, the output's stamp
//! and UUID check, change detection, the journaled write) runs on every
//! request as it does in a process.
//!
//! Outside a server nothing is kept: a process ends after one link.

use super::{delta_path, state_path, Session};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// How many outputs a server keeps sessions for (the least recently used
/// one goes first); each holds its state's mapping and its delta.
const KEPT: usize = 4;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Sessions kept, the most recently used last.
static SESSIONS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// What a request left to free after the server answered it (see
/// [`defer_drop`]).
static GARBAGE: Mutex<Vec<Box<dyn Send>>> = Mutex::new(Vec::new());

struct Kept {
    /// The output's absolute path.
    output: PathBuf,
    ids: Ids,
    session: Session,
}

/// What identifies one version of a file without reading it; `None` for a
/// file that does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// The identities of the state, the delta and the output.
type Ids = [Option<FileId>; 3];

/// Turns resident mode on: from now on sessions are kept (for the server).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The sessions, also after a panic in another request (entries are only
/// ever inserted whole).
fn sessions() -> std::sync::MutexGuard<'static, Vec<Kept>> {
    SESSIONS.lock().unwrap_or_else(|e| e.into_inner())
}

fn file_id(path: &Path) -> std::io::Result<Option<FileId>> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The identities of an output's files now; `None` if one cannot be
/// examined (nothing is kept or reused then).
fn ids(output: &Path) -> Option<Ids> {
    Some([
        file_id(&state_path(output)).ok()?,
        file_id(&delta_path(output)).ok()?,
        file_id(output).ok()?,
    ])
}

fn absolute(output: &Path) -> Option<PathBuf> {
    std::path::absolute(output).ok()
}

/// The session kept for `output`, if the server kept one and the files it
/// was read from are still the ones on disk. Taken: a request that does
/// not give it back (a full link, a failure) leaves nothing kept.
pub fn take(output: &Path) -> Option<Session> {
    if !enabled() {
        return None;
    }
    let key = absolute(output)?;
    let kept = {
        let mut sessions = sessions();
        let at = sessions.iter().position(|k| k.output == key)?;
        sessions.remove(at)
    };
    if ids(output) != Some(kept.ids) {
        defer_drop(kept);
        return None;
    }
    let mut session = kept.session;
    session.moved.clear();
    session.touched.clear();
    session.hashed.clear();
    Some(session)
}

/// Keeps `session` for the next request of a server, once the request is
/// done with it and its files are written; a process that ends after the
/// link leaves it to its exit (freeing its many small allocations one by
/// one costs more than the update wrote), a library user drops it (see
/// [`crate::teardown::discard`]). Not kept when the output's stamp is not the one the
/// session records (a filesystem that rounded the time the update gave
/// it: the delta on disk then records what the file has), or when a file
/// cannot be examined.
pub fn release(output: &Path, session: Session) {
    if !enabled() {
        crate::teardown::discard(session);
        return;
    }
    let fp = session.output();
    let (Some(key), Some(ids)) = (absolute(output), ids(output)) else {
        return defer_drop(session);
    };
    let stamp_kept = ids[2].is_some_and(|id| (id.size, id.mtime_ns) == (fp.size, fp.mtime_ns));
    if !stamp_kept || ids[0].is_none() {
        return defer_drop(session);
    }
    let mut sessions = sessions();
    sessions.retain(|k| k.output != key);
    if sessions.len() >= KEPT {
        let oldest = sessions.remove(0);
        defer_drop(oldest);
    }
    sessions.push(Kept {
        output: key,
        ids,
        session,
    });
}

/// Forgets what is kept for `output` (its state is being replaced or
/// repaired).
pub fn forget(output: &Path) {
    if !enabled() {
        return;
    }
    let Some(key) = absolute(output) else { return };
    let mut sessions = sessions();
    if let Some(at) = sessions.iter().position(|k| k.output == key) {
        let kept = sessions.remove(at);
        defer_drop(kept);
    }
}

/// Frees `value` after the server has answered the request (see
/// [`collect_garbage`]); in a process that ends after the link, at its
/// exit (never one by one); in a library user's process, now (see
/// [`crate::teardown::discard`]).
pub fn defer_drop<T: Send + 'static>(value: T) {
    if enabled() {
        GARBAGE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(value));
    } else {
        crate::teardown::discard(value);
    }
}

/// Frees what requests left to free: the server calls this after it has
/// answered a client, so the client does not wait for it.
pub fn collect_garbage() {
    let garbage = std::mem::take(&mut *GARBAGE.lock().unwrap_or_else(|e| e.into_inner()));
    drop(garbage);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_changes_with_a_rewrite_that_keeps_size_and_mtime() {
        let dir = std::env::temp_dir().join(format!("machlink-resident-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, b"abcd").unwrap();
        let before = file_id(&f).unwrap().unwrap();
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"abce").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = file_id(&f).unwrap().unwrap();
        assert_eq!((before.size, before.mtime_ns), (after.size, after.mtime_ns));
        assert_ne!(before, after, "the change time moved");
        assert_eq!(file_id(&dir.join("missing")).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
