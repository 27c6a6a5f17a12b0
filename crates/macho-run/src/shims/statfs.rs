//! `statfs`/`fstatfs`: macOS's `struct statfs` (64-bit-inode layout, 2168
//! bytes) names the file system (`f_fstypename`) where Linux gives a magic
//! number, and numbers its mount flags differently. SQLite reads the name
//! to pick a locking style.

use std::ffi::{c_char, c_int};

#[repr(C)]
struct MacStatfs {
    bsize: u32,
    iosize: i32,
    blocks: u64,
    bfree: u64,
    bavail: u64,
    files: u64,
    ffree: u64,
    fsid: [i32; 2],
    owner: u32,
    fstype: u32,
    flags: u32,
    fssubtype: u32,
    fstypename: [u8; 16],
    mntonname: [u8; 1024],
    mntfromname: [u8; 1024],
    flags_ext: u32,
    reserved: [u32; 7],
}

const _: () = assert!(std::mem::size_of::<MacStatfs>() == 2168);

/// Linux file-system magic numbers and the names macOS tools would show.
const FS_NAMES: &[(u32, &str)] = &[
    (0xEF53, "ext4"),
    (0x0102_1994, "tmpfs"),
    (0x794C_7630, "overlay"),
    (0x9123_683E, "btrfs"),
    (0x5846_5342, "xfs"),
    (0x2FC1_2FC1, "zfs"),
    (0x6969, "nfs"),
    (0xFF53_4D42, "smbfs"),
    (0xFE53_4D42, "smbfs"),
    (0x4D44, "msdos"),
    (0x2011_BAB0, "exfat"),
    (0x6573_5546, "fuse"),
    (0x0102_1997, "9p"),
    (0x9FA0, "proc"),
];

/// Linux ST_* mount flags and macOS MNT_* bits.
const MOUNT_FLAGS: &[(u64, u32)] = &[
    (libc::ST_RDONLY, 0x1),
    (libc::ST_SYNCHRONOUS, 0x2),
    (libc::ST_NOEXEC, 0x4),
    (libc::ST_NOSUID, 0x8),
    (libc::ST_NODEV, 0x10),
    (libc::ST_NOATIME, 0x1000_0000),
];
const MNT_LOCAL: u32 = 0x1000;

unsafe fn convert(st: &libc::statfs, vfs: &libc::statvfs, out: *mut MacStatfs) {
    let magic = st.f_type as u32;
    let name = FS_NAMES
        .iter()
        .find(|(m, _)| *m == magic)
        .map_or("unknown", |(_, n)| n);
    let mut flags = MOUNT_FLAGS
        .iter()
        .filter(|(l, _)| vfs.f_flag & l != 0)
        .fold(0, |acc, (_, m)| acc | m);
    if !matches!(name, "nfs" | "smbfs" | "9p") {
        flags |= MNT_LOCAL;
    }
    let mut m: MacStatfs = std::mem::zeroed();
    m.bsize = st.f_bsize as u32;
    m.iosize = st.f_bsize as i32;
    m.blocks = st.f_blocks;
    m.bfree = st.f_bfree;
    m.bavail = st.f_bavail;
    m.files = st.f_files;
    m.ffree = st.f_ffree;
    // SAFETY: fsid_t is two ints whose fields libc keeps private.
    m.fsid = std::mem::transmute::<libc::fsid_t, [i32; 2]>(st.f_fsid);
    m.fstype = magic;
    m.flags = flags;
    m.fstypename[..name.len()].copy_from_slice(name.as_bytes());
    out.write_unaligned(m);
}

unsafe extern "C" fn statfs(path: *const c_char, out: *mut MacStatfs) -> c_int {
    let mut st: libc::statfs = std::mem::zeroed();
    let mut vfs: libc::statvfs = std::mem::zeroed();
    if libc::statfs(path, &mut st) != 0 || libc::statvfs(path, &mut vfs) != 0 {
        return -1;
    }
    convert(&st, &vfs, out);
    0
}

unsafe extern "C" fn fstatfs(fd: c_int, out: *mut MacStatfs) -> c_int {
    let mut st: libc::statfs = std::mem::zeroed();
    let mut vfs: libc::statvfs = std::mem::zeroed();
    if libc::fstatfs(fd, &mut st) != 0 || libc::fstatvfs(fd, &mut vfs) != 0 {
        return -1;
    }
    convert(&st, &vfs, out);
    0
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_statfs$INODE64", statfs as *const () as usize),
        ("_statfs64", statfs as *const () as usize),
        ("_fstatfs$INODE64", fstatfs as *const () as usize),
        ("_fstatfs64", fstatfs as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statfs_fills_the_macos_layout() {
        let mut out: MacStatfs = unsafe { std::mem::zeroed() };
        // SAFETY: out is a MacStatfs.
        assert_eq!(unsafe { statfs(c"/".as_ptr(), &mut out) }, 0);
        assert!(out.bsize > 0 && out.blocks > 0);
        assert!(out.fstypename[0] != 0, "a type name is always set");
        // SAFETY: as above, with a bad path.
        assert_eq!(unsafe { statfs(c"/no/such/dir".as_ptr(), &mut out) }, -1);
    }
}
