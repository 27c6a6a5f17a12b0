//! The inputs' fingerprints that a full incremental link records: each
//! input's stamp (size, modification time) as it was mapped, and the hash
//! of its whole contents. The next run compares stamps and reads an input
//! again only when its stamp moved; the recorded hash then tells a file
//! rewritten with the same bytes (a `touch`, a rebuild that changed
//! nothing, an object at a new path) from an edited one.
//!
//! Hashing reads every page of every input, two thirds of it debug
//! sections the link itself never reads, and no pass of the link waits for
//! it: only the state, written last, holds the hashes. So it runs beside
//! the link, on a thread of its own that the kernel schedules only on an
//! otherwise idle core (the link's sequential stretches: resolution,
//! layout, LINKEDIT, the output's write), reading each file into a small
//! buffer (the link's mappings never fault in the debug pages, and no page
//! stays resident). It starts once the inputs are parsed: beside the
//! parse, which keeps both cores busy, it only slowed it (20 -> 25 ms for
//! 100k functions), taking what little idle time there was and the memory
//! bandwidth the parse reads its inputs with.
//!
//! Whatever it has not hashed when the state is written, the link's own
//! threads hash then ([`Hasher::finish`]), up to [`LEFTOVER`] bytes: a
//! small link's inputs are always all hashed, but a large one on a busy
//! machine (where an idle-priority thread hardly runs) would otherwise pay
//! for all of it at the end (82 MB for 100k functions: about 10% of the
//! first `-incremental` link's CPU time, a third of what it costs over a
//! plain link). The files left are recorded unhashed, which is sound: a
//! file whose stamp moves is then taken as changed, never as unchanged,
//! and the update that replays it records its hash.
//!
//! A file is hashed only if its stamp is still the one taken when the link
//! mapped it, before and after the read; otherwise its hash is 0, which
//! the next run takes as "changed" whenever the stamp moved (see
//! [`Fingerprint::check`](super::Fingerprint::check)).

use super::Fingerprint;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The inputs being hashed, and the thread hashing them.
pub struct Hasher {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the background thread and the link's threads share: the files,
/// the next one nobody has claimed, and the hashes (0: none).
struct Shared {
    files: Vec<(PathBuf, (u64, i128))>,
    /// Each file's (device, inode number), from its mapping.
    inodes: Vec<(u64, u64)>,
    next: AtomicUsize,
    /// Files from this index on are left unhashed (see [`Hasher::finish`]).
    end: AtomicUsize,
    hashes: Vec<AtomicU64>,
    /// The background thread's id for the scheduler (0: not known yet).
    thread_id: AtomicI64,
}

impl Shared {
    /// Hashes the next unclaimed file, reading it through `buf`; false
    /// when none is left.
    fn hash_next(&self, buf: &mut [u8]) -> bool {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.end.load(Ordering::Relaxed) {
            return false;
        }
        let Some((path, stamp)) = self.files.get(i) else {
            return false;
        };
        let h = hash_if_unchanged(path, *stamp, buf).unwrap_or(0);
        self.hashes[i].store(h, Ordering::Relaxed);
        true
    }
}

impl Hasher {
    /// Starts hashing `files` (each with the stamp it had when mapped) in
    /// the background.
    pub fn start(files: &[crate::input::MappedFile]) -> Hasher {
        let shared = Arc::new(Shared {
            files: files.iter().map(|f| (f.path.clone(), f.stamp)).collect(),
            inodes: files.iter().map(|f| f.inode).collect(),
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(files.len()),
            hashes: files.iter().map(|_| AtomicU64::new(0)).collect(),
            thread_id: AtomicI64::new(0),
        });
        let background = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("machlink-fingerprints".into())
            .spawn(move || {
                background
                    .thread_id
                    .store(set_priority(None, Priority::Idle), Ordering::Relaxed);
                let mut buf = vec![0u8; CHUNK];
                while background.hash_next(&mut buf) {}
            })
            // No thread: the link's threads hash everything at the end.
            .ok();
        Hasher { shared, thread }
    }

    /// The fingerprints, in the order of the files given to
    /// [`Hasher::start`]: the files nobody has hashed yet are hashed now,
    /// in parallel, in order up to [`LEFTOVER`] bytes (the rest keep hash
    /// 0: see the module's comment), and the background thread's last file
    /// awaited. In order: a program's own objects usually come before the
    /// large runtime and library inputs, and they are the files a rebuild
    /// rewrites with the same bytes.
    pub fn finish(mut self) -> Vec<Fingerprint> {
        use rayon::prelude::*;
        let shared = Arc::clone(&self.shared);
        let claimed = shared.next.load(Ordering::Relaxed).min(shared.files.len());
        let mut budget = LEFTOVER;
        let within = shared.files[claimed..]
            .iter()
            .take_while(|(_, (size, _))| {
                let fits = *size <= budget;
                budget = budget.saturating_sub(*size);
                fits
            })
            .count();
        shared.end.store(claimed + within, Ordering::Relaxed);
        (0..shared.files.len())
            .into_par_iter()
            .for_each_init(|| vec![0u8; CHUNK], |buf, _| _ = shared.hash_next(buf));
        self.await_thread();
        shared
            .files
            .iter()
            .zip(&shared.hashes)
            .zip(&shared.inodes)
            .map(|(((path, (size, mtime_ns)), h), inode)| Fingerprint {
                path: path.clone(),
                size: *size,
                mtime_ns: *mtime_ns,
                hash: h.load(Ordering::Relaxed),
                inode: *inode,
            })
            .collect()
    }
}

impl Hasher {
    /// Waits for the background thread's last file, at the link's own
    /// priority now that the link waits for it (an idle-priority thread
    /// can wait long on a busy machine).
    fn await_thread(&mut self) {
        let Some(t) = self.thread.take() else {
            return;
        };
        let id = self.shared.thread_id.load(Ordering::Relaxed);
        if id != 0 && !t.is_finished() {
            set_priority(Some(id), Priority::Normal);
        }
        // A panic there left a hash at 0, which is only conservative.
        _ = t.join();
    }
}

impl Drop for Hasher {
    /// A link that fails stops the thread at its current file.
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.next.store(shared.files.len(), Ordering::Relaxed);
        self.await_thread();
    }
}

/// The most bytes of inputs the link's own threads hash when the state is
/// written (about 1 ms of work on two cores): all of a small link's.
const LEFTOVER: u64 = 8 << 20;

/// Bytes read at a time: small enough to stay in the cache between the
/// read and the hash. (One buffer per thread, not per file: a fresh one
/// is zeroed, which cost as much as a third of the hashing.)
const CHUNK: usize = 256 * 1024;

/// The hash of the file at `path` (what [`Fingerprint::of_bytes`] and the
/// next run's check compute from its whole contents), if it still has
/// `stamp` before and after it is read.
fn hash_if_unchanged(path: &std::path::Path, stamp: (u64, i128), buf: &mut [u8]) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let same = |f: &std::fs::File| {
        f.metadata()
            .is_ok_and(|m| super::stamp_of_meta(&m) == stamp)
    };
    if !same(&file) {
        return None;
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut total = 0u64;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    (total == stamp.0 && same(&file)).then(|| hasher.digest())
}

enum Priority {
    /// Run only on a core the link's threads leave idle: Linux's
    /// `SCHED_IDLE`, or for a link run under a real-time policy (`chrt`),
    /// the next lower real-time priority.
    Idle,
    /// The calling thread's own (a thread of the link).
    Normal,
}

/// Sets the scheduling of thread `id` (the calling thread for `None`) and
/// returns the thread's id (0 where threads are not scheduled by id, or
/// the scheduler cannot be set: the thread then keeps the default, which
/// is only less polite).
fn set_priority(id: Option<i64>, priority: Priority) -> i64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on a thread of this process.
        unsafe {
            let id = id.unwrap_or_else(|| i64::from(libc::gettid()));
            let mut param = libc::sched_param { sched_priority: 0 };
            let policy = match priority {
                Priority::Idle => match libc::sched_getscheduler(0) {
                    p @ (libc::SCHED_FIFO | libc::SCHED_RR)
                        if libc::sched_getparam(0, &mut param) == 0 && param.sched_priority > 1 =>
                    {
                        param.sched_priority -= 1;
                        p
                    }
                    _ => libc::SCHED_IDLE,
                },
                // The calling thread's, a thread of the link.
                Priority::Normal => match libc::sched_getparam(0, &mut param) {
                    0 => libc::sched_getscheduler(0),
                    _ => libc::SCHED_OTHER,
                },
            };
            match libc::sched_setscheduler(id as libc::pid_t, policy, &param) {
                0 => id,
                _ => 0,
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        _ = (id, priority);
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_in_chunks_hashes_as_its_whole_contents() {
        let dir = std::env::temp_dir().join(format!("machlink-fp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0, 1, 240, 1000, CHUNK - 1, CHUNK, CHUNK + 17, 3 * CHUNK + 5] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            let path = dir.join(format!("f{len}"));
            std::fs::write(&path, &bytes).unwrap();
            let stamp = super::super::stamp(&path).unwrap();
            let whole = Fingerprint::of_bytes(&path, &bytes).unwrap().hash;
            let mut buf = vec![0u8; CHUNK];
            let hash = hash_if_unchanged(&path, stamp, &mut buf);
            assert_eq!(hash, Some(whole), "{len} bytes");
            // Another stamp: not hashed.
            let moved = (stamp.0 + 1, stamp.1);
            assert_eq!(hash_if_unchanged(&path, moved, &mut buf), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
