//! Which pages of the inputs stay in the link's memory.
//!
//! The inputs are memory-mapped, and Linux's fault-around maps up to
//! 64 KiB of cached file pages around every page fault, bounded only by
//! the mapping's VMA; so, left alone, nearly every page of every input
//! counts towards the link's resident memory, whether read or not. Two
//! pieces of advice keep that down; both leave what the linker reads
//! unchanged (a page read anyway is mapped again on demand):
//!
//! - An object built with `-g` is mostly DWARF (about two thirds of each
//!   benchmark object), which the linker never reads: the DWARF stays in
//!   the objects for dsymutil, and the debug map needs only the first
//!   compile unit's name (see `crate::linkedit::stabs`). Reading
//!   `__eh_frame` would map the `__apple_names` before it and the
//!   `__debug_line` after it. Giving the unread stretches other VMA flags
//!   (`MADV_RANDOM`, [`advise_unread`]) splits them into VMAs of their
//!   own, which fault-around does not cross.
//! - What the link is done with is unmapped ([`release`],
//!   `MADV_DONTNEED`; the mappings are private and never written, so the
//!   file's pages in the page cache are what a later read would see
//!   again): an object's relocation and symbol entries once parsed, its
//!   sections' contents once the image's contents are written, before
//!   LINKEDIT (the symbol table above all) is built. The heap is trimmed
//!   then too ([`trim_heap`]).

/// Sections the debug map reads the start of (the first compile unit's
/// header, its first entry and the strings that entry names): the first
/// [`READ_HEAD`] bytes of each stay as they are.
const READ_AT_START: &[&str] = &[
    "__debug_info",
    "__debug_abbrev",
    "__debug_str",
    "__debug_str_offs",
    "__debug_line_str",
];
const READ_HEAD: usize = 4096;

/// Stretches shorter than this are not worth a system call and a VMA.
const MIN_STRETCH: usize = 16 * 1024;

/// Stretches this close together are one (alignment padding between
/// sections is a few bytes).
const MAX_GAP: usize = 16;

/// Whether an object's section is debug information, which the linker
/// does not read (beyond [`READ_AT_START`]).
pub fn is_debug(segname: &str, flags: u32) -> bool {
    flags & object::macho::S_ATTR_DEBUG != 0 || segname == "__DWARF"
}

/// The part of a debug section's contents the linker never reads.
pub fn unread_part<'a>(sectname: &str, data: &'a [u8]) -> &'a [u8] {
    if READ_AT_START.contains(&sectname) {
        data.get(READ_HEAD..).unwrap_or_default()
    } else {
        data
    }
}

/// Advises the kernel that `stretches`, byte ranges of a file mapping,
/// will not be read (see the module comment). Harmless on other memory.
pub fn advise_unread(stretches: &mut [&[u8]]) {
    #[cfg(unix)]
    advise(stretches, libc::MADV_RANDOM);
}

/// Unmaps the whole pages of `stretches`, byte ranges of read-only file
/// mappings the link has finished reading (see the module comment). The
/// caller makes sure they are: other memory would lose its contents.
pub fn release(stretches: &mut [&[u8]]) {
    #[cfg(unix)]
    advise(stretches, libc::MADV_DONTNEED);
}

/// Returns the heap's free pages to the system. glibc keeps what the
/// parallel parse and resolve allocated and freed (an arena per thread),
/// which LINKEDIT's large tables do not reuse.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `madvise(advice)` on the whole pages inside `stretches`. Adjacent
/// stretches are merged first, so an object costs a few system calls, not
/// one per section.
#[cfg(unix)]
fn advise(stretches: &mut [&[u8]], advice: libc::c_int) {
    let Some(page) = page_size() else { return };
    stretches.sort_unstable_by_key(|s| s.as_ptr() as usize);
    let mut run: Option<(usize, usize)> = None;
    for s in stretches.iter().filter(|s| !s.is_empty()) {
        let (start, end) = (s.as_ptr() as usize, s.as_ptr() as usize + s.len());
        run = match run {
            Some((a, b)) if start <= b + MAX_GAP => Some((a, b.max(end))),
            Some(done) => {
                advise_pages(done, page, advice);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some(done) = run {
        advise_pages(done, page, advice);
    }
}

/// `madvise(advice)` on the whole pages inside `[start, end)`, if there
/// are enough of them.
#[cfg(unix)]
fn advise_pages((start, end): (usize, usize), page: usize, advice: libc::c_int) {
    let first = start.next_multiple_of(page);
    let last = end / page * page;
    if last <= first || last - first < MIN_STRETCH.max(page) {
        return;
    }
    // SAFETY: the pages lie inside borrowed slices, so they are mapped.
    // MADV_RANDOM changes only how they are paged in; MADV_DONTNEED is
    // given only read-only private file mappings (see `release`), never
    // written, where a later read maps the same file page again. A
    // failure leaves the mapping as it was: nothing to report.
    unsafe {
        libc::madvise(first as *mut libc::c_void, last - first, advice);
    }
}

/// The system's page size, asked once.
#[cfg(unix)]
fn page_size() -> Option<usize> {
    static PAGE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a constant of the system.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).ok().filter(|p| p.is_power_of_two())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_sections_the_debug_map_reads_keep_their_start() {
        let data = vec![7u8; 3 * READ_HEAD];
        assert_eq!(unread_part("__debug_info", &data).len(), 2 * READ_HEAD);
        assert!(unread_part("__debug_str", &data[..100]).is_empty());
        assert_eq!(unread_part("__debug_loc", &data).len(), data.len());
        assert_eq!(unread_part("__apple_names", &data).len(), data.len());
    }

    /// Advice changes no byte: unmapped pages of a file mapping read back
    /// the same.
    #[test]
    fn released_and_unread_pages_read_back_unchanged() {
        let dir = std::env::temp_dir().join(format!("machlink-residency-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let bytes: Vec<u8> = (0..256 * 1024u32)
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: a file of this test's own, not changed while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        assert_eq!(&map[..], &bytes[..]);
        advise_unread(&mut [&map[1000..100_000], &map[100_005..150_000]]);
        release(&mut [&map[150_000..], &map[3..40_000]]);
        assert_eq!(&map[..], &bytes[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
