//! The file a signed output's update is written on (DESIGN.md, "Writing an
//! update"): a clone of the output where the filesystem shares blocks
//! between files, so that making it costs the same for a 1 MB and a 1 GB
//! output and only the pages the patches touch get blocks of their own;
//! a byte copy where it cannot.
//!
//! Clones: `ioctl(FICLONE)` on Linux (XFS made with reflink, btrfs,
//! bcachefs, overlayfs over one of those), `clonefile` on macOS (APFS).
//! The copy is `std::fs::copy`, which on Linux is `copy_file_range`: the
//! kernel copies without a trip through this process, and on a filesystem
//! with reflinks it may even share blocks on its own; we report what we
//! asked for, which is what we can know.

use std::path::Path;

/// How an update's patches reached the output, for `-v`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WritePath {
    /// Written into the output itself (unsigned outputs).
    #[default]
    InPlace,
    /// Written on a clone of the output, renamed over it.
    Clone,
    /// Written on a byte copy of the output, renamed over it.
    Copy,
}

impl WritePath {
    pub fn describe(self) -> &'static str {
        match self {
            WritePath::InPlace => "in place",
            WritePath::Clone => "on a clone",
            WritePath::Copy => "on a copy",
        }
    }
}

/// Makes `to`, which must not exist, a copy of `from` that this process
/// may write (mode 0600): a clone when the filesystem can make one, a byte
/// copy otherwise. Returns which it made; on an error nothing is left at
/// `to` (beyond what the caller's guard removes anyway).
pub fn clone_or_copy(from: &Path, to: &Path) -> std::io::Result<WritePath> {
    use std::os::unix::fs::PermissionsExt;
    let path = if clone_file(from, to) {
        WritePath::Clone
    } else {
        std::fs::copy(from, to)?;
        WritePath::Copy
    };
    // The copy is ours to write, whatever the output's mode.
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

/// Clones `from` to `to`; false (with nothing left at `to`) when the
/// filesystem cannot (not supported, two filesystems, any other refusal):
/// the caller copies instead, and a real problem (a full disk) shows there.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn clone_file(from: &Path, to: &Path) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(src) = std::fs::File::open(from) else {
        return false;
    };
    let Ok(dst) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
    else {
        return false;
    };
    // SAFETY: FICLONE takes the source descriptor as its argument; both
    // descriptors are open for the length of the call.
    let cloned = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) } == 0;
    if !cloned {
        drop(dst);
        let _ = std::fs::remove_file(to);
    }
    cloned
}

#[cfg(target_os = "macos")]
fn clone_file(from: &Path, to: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(src), Ok(dst)) = (
        std::ffi::CString::new(from.as_os_str().as_bytes()),
        std::ffi::CString::new(to.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: two NUL-terminated paths. clonefile creates `to` itself and
    // leaves nothing behind when it fails (ENOTSUP off APFS, EXDEV).
    unsafe { libc::clonefile(src.as_ptr(), dst.as_ptr(), 0) == 0 }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
fn clone_file(_from: &Path, _to: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_or_copy_has_the_same_bytes_and_is_writable_by_us() {
        use std::os::unix::fs::PermissionsExt;
        let dir = testkit::scratch_dir("incremental-clone");
        let (from, to) = (dir.join("from"), dir.join("to"));
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::write(&from, &bytes).unwrap();
        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o555)).unwrap();
        let path = clone_or_copy(&from, &to).unwrap();
        assert_ne!(path, WritePath::InPlace);
        assert_eq!(std::fs::read(&to).unwrap(), bytes);
        assert_eq!(
            std::fs::metadata(&to).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A destination that exists is refused, not overwritten by a clone.
        assert!(!clone_file(&from, &to));
        assert_eq!(std::fs::read(&to).unwrap(), bytes);
    }
}
