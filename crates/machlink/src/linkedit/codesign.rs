//! The ad-hoc code signature that `LC_CODE_SIGNATURE` points at, as ld64's
//! `-adhoc_codesign` and lld produce it (arm64 macOS refuses to run unsigned
//! code, so the linker signs every output it writes for it).
//!
//! The blob is an embedded-signature SuperBlob holding a single CodeDirectory
//! with one SHA-256 hash per 4 KiB page of the file up to the signature's own
//! file offset. All fields are big-endian. Layout, byte for byte as lld writes
//! it:
//!
//! ```text
//! 0    SuperBlob   magic 0xfade0cc0, length (whole blob), count 1
//! 12   BlobIndex   type CSSLOT_CODEDIRECTORY (0), offset 24
//! 20   4 bytes of zeros (the two headers are aligned to 8)
//! 24   CodeDirectory (88 bytes: the version 0x20400 layout with execSeg*)
//! 112  identifier, NUL-terminated, zero-padded so that 24 + hashOffset is a
//!      multiple of 16
//!      nCodeSlots hashes of 32 bytes
//!      zeros up to a multiple of 16 bytes
//! ```
//!
//! CodeDirectory.length runs from the CodeDirectory to the end of the padded
//! blob, as in lld.

use std::ops::Range;

use crate::output::HashPart;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// `CSMAGIC_EMBEDDED_SIGNATURE`: the SuperBlob that LC_CODE_SIGNATURE points at.
const CSMAGIC_EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
/// `CSMAGIC_CODEDIRECTORY`.
const CSMAGIC_CODEDIRECTORY: u32 = 0xfade_0c02;
/// `CSSLOT_CODEDIRECTORY`: the BlobIndex type of the CodeDirectory.
const CSSLOT_CODEDIRECTORY: u32 = 0;
/// `CS_SUPPORTSEXECSEG`: the first CodeDirectory version with execSeg* fields.
const CS_SUPPORTSEXECSEG: u32 = 0x20400;
/// `CS_ADHOC`: signed without a certificate.
const CS_ADHOC: u32 = 0x0000_0002;
/// `CS_LINKER_SIGNED`: the ad-hoc signature was made by the linker (a
/// later `codesign` may replace it without `-f`).
const CS_LINKER_SIGNED: u32 = 0x0002_0000;
/// `CS_HASHTYPE_SHA256`.
const CS_HASHTYPE_SHA256: u8 = 2;
/// `CS_EXECSEG_MAIN_BINARY`: execSegFlags bit for MH_EXECUTE outputs.
const CS_EXECSEG_MAIN_BINARY: u64 = 0x1;

/// log2 of the page size the hashes cover.
const PAGE_SHIFT: u8 = 12;
/// The page size the hashes cover (4 KiB on every architecture, as in lld).
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Size of one SHA-256 hash slot.
const HASH_SIZE: usize = 32;
/// The blob's length is padded to this (lld aligns the section to 16).
const BLOB_ALIGN: usize = 16;

/// SuperBlob header (12 bytes) plus one BlobIndex (8 bytes), aligned to 8.
const BLOB_HEADERS_SIZE: usize = 24;
/// `sizeof(CS_CodeDirectory)` for version 0x20400.
const CODE_DIRECTORY_SIZE: usize = 88;
/// Everything before the identifier.
const FIXED_HEADERS_SIZE: usize = BLOB_HEADERS_SIZE + CODE_DIRECTORY_SIZE;

/// Hashing is split across threads once there are at least this many pages
/// (256 KiB); below it, thread hand-off costs more than it saves.
const PARALLEL_PAGES: usize = 64;

/// Where everything goes, derived from the code limit and identifier alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Number of code slots (pages, the last possibly partial).
    n_slots: usize,
    /// Offset of the first hash from the start of the blob.
    hashes_start: usize,
    /// The blob's total (padded) length.
    size: usize,
}

impl Layout {
    fn new(code_limit: u64, identifier: &str) -> Layout {
        let code_limit = usize::try_from(code_limit).expect("code limit fits in memory");
        let n_slots = code_limit.div_ceil(PAGE_SIZE);
        let hashes_start = (FIXED_HEADERS_SIZE + identifier.len() + 1).next_multiple_of(BLOB_ALIGN);
        let size = (hashes_start + n_slots * HASH_SIZE).next_multiple_of(BLOB_ALIGN);
        Layout {
            n_slots,
            hashes_start,
            size,
        }
    }
}

/// Size in bytes the signature blob will have, so the linker can reserve it
/// in __LINKEDIT before writing the file. `code_limit` = file offset where the
/// signature starts (the signature covers bytes `[0, code_limit)`);
/// `identifier` = the output's file name (e.g. "a.out").
pub fn signature_size(code_limit: u64, identifier: &str) -> u64 {
    Layout::new(code_limit, identifier).size as u64
}

/// Computes the signature over `file[..code_limit]` and returns the blob
/// (exactly [`signature_size`] bytes, zero-padded at the end).
/// `text_segment` = (fileoff, filesize) of __TEXT for execSegBase and
/// execSegLimit; `is_executable` sets `CS_EXECSEG_MAIN_BINARY` in
/// execSegFlags.
///
/// # Panics
/// If `file` is shorter than `code_limit`, if `code_limit` does not fit the
/// CodeDirectory's 32-bit codeLimit (Mach-O's LC_CODE_SIGNATURE offset is 32
/// bits as well), or if `identifier` contains a NUL byte.
pub fn build_signature(
    file: &[u8],
    code_limit: u64,
    identifier: &str,
    text_segment: (u64, u64),
    is_executable: bool,
) -> Vec<u8> {
    let code = covered(file, code_limit);
    build_signature_of_parts(&[code], identifier, text_segment, is_executable)
}

/// [`build_signature`] of the code made of `parts` laid end to end (one
/// image split, so that some parts can be written into the output while
/// others still change; the code limit is their total length).
pub fn build_signature_of_parts(
    parts: &[&[u8]],
    identifier: &str,
    text_segment: (u64, u64),
    is_executable: bool,
) -> Vec<u8> {
    let parts: Vec<HashPart> = parts.iter().map(|&p| HashPart::Bytes(p)).collect();
    build_signature_of_hashed_parts(&parts, identifier, text_segment, is_executable)
}

/// The page hashes of `bytes` (whole pages), one after the other on the
/// calling thread: for a part of the image final early, hashed by a
/// thread that has time (see `write::AheadHashing`), then given
/// to [`build_signature_of_hashed_parts`] as a [`HashPart::Hashed`].
pub fn page_hashes(bytes: &[u8]) -> Vec<u8> {
    debug_assert_eq!(bytes.len() % PAGE_SIZE, 0);
    let mut hashes = vec![0u8; bytes.len() / PAGE_SIZE * HASH_SIZE];
    hash_pages_serially(bytes, &mut hashes);
    hashes
}

/// [`build_signature_of_parts`] of `parts`, some of whose pages may be
/// hashed already (by [`page_hashes`]).
pub fn build_signature_of_hashed_parts(
    parts: &[HashPart],
    identifier: &str,
    text_segment: (u64, u64),
    is_executable: bool,
) -> Vec<u8> {
    let code_limit = parts.iter().map(|p| p.size() as u64).sum::<u64>();
    assert!(
        code_limit <= u64::from(u32::MAX),
        "code limit {code_limit:#x} does not fit a 32-bit codeLimit"
    );
    assert!(
        !identifier.as_bytes().contains(&0),
        "code signature identifier {identifier:?} contains a NUL byte"
    );
    let layout = Layout::new(code_limit, identifier);
    let size = u32::try_from(layout.size).expect("code signature larger than 4 GiB");
    let mut blob = vec![0u8; layout.size];

    // SuperBlob and its one BlobIndex.
    put32(&mut blob, 0, CSMAGIC_EMBEDDED_SIGNATURE);
    put32(&mut blob, 4, size);
    put32(&mut blob, 8, 1);
    put32(&mut blob, 12, CSSLOT_CODEDIRECTORY);
    put32(&mut blob, 16, BLOB_HEADERS_SIZE as u32);

    // The CodeDirectory; its offsets are relative to its own start.
    let cd = BLOB_HEADERS_SIZE;
    put32(&mut blob, cd, CSMAGIC_CODEDIRECTORY);
    put32(&mut blob, cd + 4, size - BLOB_HEADERS_SIZE as u32);
    put32(&mut blob, cd + 8, CS_SUPPORTSEXECSEG);
    put32(&mut blob, cd + 12, CS_ADHOC | CS_LINKER_SIGNED);
    put32(&mut blob, cd + 16, (layout.hashes_start - cd) as u32); // hashOffset
    put32(&mut blob, cd + 20, CODE_DIRECTORY_SIZE as u32); // identOffset
    put32(&mut blob, cd + 24, 0); // nSpecialSlots
    put32(&mut blob, cd + 28, layout.n_slots as u32); // nCodeSlots
    put32(&mut blob, cd + 32, code_limit as u32); // codeLimit (checked by `covered`)
    blob[cd + 36] = HASH_SIZE as u8;
    blob[cd + 37] = CS_HASHTYPE_SHA256;
    blob[cd + 38] = 0; // platform
    blob[cd + 39] = PAGE_SHIFT;
    // spare2 (40), scatterOffset (44), teamOffset (48), spare3 (52) and
    // codeLimit64 (56) stay zero.
    put64(&mut blob, cd + 64, text_segment.0); // execSegBase
    put64(&mut blob, cd + 72, text_segment.1); // execSegLimit
    let exec_seg_flags = if is_executable {
        CS_EXECSEG_MAIN_BINARY
    } else {
        0
    };
    put64(&mut blob, cd + 80, exec_seg_flags);

    // The identifier; the NUL and the padding are already zero.
    blob[FIXED_HEADERS_SIZE..FIXED_HEADERS_SIZE + identifier.len()]
        .copy_from_slice(identifier.as_bytes());

    let hashes = &mut blob[layout.hashes_start..layout.hashes_start + layout.n_slots * HASH_SIZE];
    hash_pages_of_parts(parts, hashes);
    blob
}

/// Recomputes only the page hashes for pages overlapping `changed` byte
/// ranges of `file` into an existing signature blob `sig` (made by
/// [`build_signature`] with the same `code_limit` and identifier), so an
/// incremental relink rehashes only the pages it touched. Ranges, or parts of
/// them, at or past `code_limit` are ignored, as are empty ranges; a page
/// touched by several ranges is hashed once. Returns the number of pages
/// rehashed.
///
/// # Panics
/// If `file` is shorter than `code_limit`, or `sig` is not a signature made
/// for this `code_limit`.
pub fn rehash_pages(file: &[u8], code_limit: u64, sig: &mut [u8], changed: &[Range<u64>]) -> usize {
    let code = covered(file, code_limit);
    let hashes = hash_slots_mut(sig, code_limit);

    // Page ranges touched, clipped to the code limit, sorted and merged.
    let mut pages: Vec<Range<usize>> = changed
        .iter()
        .filter_map(|r| {
            let end = r.end.min(code_limit);
            (r.start < end)
                .then(|| (r.start >> PAGE_SHIFT) as usize..(end - 1) as usize / PAGE_SIZE + 1)
        })
        .collect();
    pages.sort_unstable_by_key(|p| p.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(pages.len());
    for p in pages {
        match merged.last_mut() {
            Some(last) if p.start <= last.end => last.end = last.end.max(p.end),
            _ => merged.push(p),
        }
    }

    let count = merged.iter().map(|p| p.len()).sum();
    if count >= PARALLEL_PAGES {
        // Split the hash area at the merged ranges so each range gets a
        // disjoint mutable slice, then hash all of them in parallel.
        let mut jobs = Vec::with_capacity(merged.len());
        let mut rest = hashes;
        let mut consumed = 0;
        for p in &merged {
            let (_, tail) = rest.split_at_mut((p.start - consumed) * HASH_SIZE);
            let (slots, tail) = tail.split_at_mut(p.len() * HASH_SIZE);
            rest = tail;
            consumed = p.end;
            let bytes = &code[p.start * PAGE_SIZE..(p.end * PAGE_SIZE).min(code.len())];
            jobs.push((bytes, slots));
        }
        jobs.into_par_iter()
            .for_each(|(bytes, slots)| hash_all_pages(bytes, slots));
    } else {
        for p in &merged {
            let bytes = &code[p.start * PAGE_SIZE..(p.end * PAGE_SIZE).min(code.len())];
            hash_all_pages(bytes, &mut hashes[p.start * HASH_SIZE..p.end * HASH_SIZE]);
        }
    }
    count
}

/// `file[..code_limit]`, after checking the limit against the file and the
/// CodeDirectory's 32-bit codeLimit field.
fn covered(file: &[u8], code_limit: u64) -> &[u8] {
    assert!(
        code_limit <= u64::from(u32::MAX),
        "code limit {code_limit:#x} does not fit a 32-bit codeLimit"
    );
    assert!(
        code_limit <= file.len() as u64,
        "code limit {code_limit:#x} is past the end of the {:#x}-byte file",
        file.len()
    );
    &file[..code_limit as usize]
}

/// The hash slots of a signature `sig` made for `code_limit`, after checking
/// the fields that locate them.
fn hash_slots_mut(sig: &mut [u8], code_limit: u64) -> &mut [u8] {
    let cd = BLOB_HEADERS_SIZE;
    assert!(
        sig.len() >= FIXED_HEADERS_SIZE
            && get32(sig, 0) == CSMAGIC_EMBEDDED_SIGNATURE
            && get32(sig, 16) as usize == cd
            && get32(sig, cd) == CSMAGIC_CODEDIRECTORY,
        "not an ad-hoc code signature"
    );
    let n_slots = (code_limit as usize).div_ceil(PAGE_SIZE);
    assert!(
        get32(sig, cd + 32) as u64 == code_limit
            && get32(sig, cd + 28) as usize == n_slots
            && sig[cd + 36] as usize == HASH_SIZE
            && sig[cd + 39] == PAGE_SHIFT,
        "code signature was made for another code limit or page size"
    );
    let start = cd + get32(sig, cd + 16) as usize;
    let end = start + n_slots * HASH_SIZE;
    assert!(
        end <= sig.len(),
        "code signature hash slots run past its end"
    );
    &mut sig[start..end]
}

/// Hashes each 4 KiB page of `code` (the last possibly partial) into the
/// consecutive 32-byte slots of `hashes`, in parallel when there are many.
/// [`hash_all_pages`] of `parts` laid end to end: a page that straddles
/// two parts is gathered into a buffer first.
fn hash_pages_of_parts(parts: &[HashPart], mut hashes: &mut [u8]) {
    let mut page: Vec<u8> = Vec::new();
    for &part in parts {
        let mut part = match part {
            HashPart::Bytes(b) => b,
            HashPart::Hashed { len, hashes: known } => {
                assert!(
                    page.is_empty() && len % PAGE_SIZE == 0,
                    "hashed pages off the pages' boundaries"
                );
                let (slots, rest) = std::mem::take(&mut hashes).split_at_mut(known.len());
                slots.copy_from_slice(known);
                hashes = rest;
                continue;
            }
        };
        if !page.is_empty() {
            let n = (PAGE_SIZE - page.len()).min(part.len());
            page.extend_from_slice(&part[..n]);
            part = &part[n..];
            if page.len() == PAGE_SIZE {
                let (slot, rest) = std::mem::take(&mut hashes).split_at_mut(HASH_SIZE);
                slot.copy_from_slice(&Sha256::digest(&page));
                hashes = rest;
                page.clear();
            }
        }
        let (whole, rest) = part.split_at(part.len() / PAGE_SIZE * PAGE_SIZE);
        let (slots, others) =
            std::mem::take(&mut hashes).split_at_mut(whole.len() / PAGE_SIZE * HASH_SIZE);
        hash_all_pages(whole, slots);
        hashes = others;
        page.extend_from_slice(rest);
    }
    if !page.is_empty() {
        hashes[..HASH_SIZE].copy_from_slice(&Sha256::digest(&page));
    }
}

fn hash_all_pages(code: &[u8], hashes: &mut [u8]) {
    debug_assert_eq!(hashes.len(), code.len().div_ceil(PAGE_SIZE) * HASH_SIZE);
    if hashes.len() / HASH_SIZE >= PARALLEL_PAGES {
        // Chunks of several pages per task keep rayon's overhead small
        // relative to hashing.
        const PAGES_PER_TASK: usize = 16;
        hashes
            .par_chunks_mut(HASH_SIZE * PAGES_PER_TASK)
            .zip(code.par_chunks(PAGE_SIZE * PAGES_PER_TASK))
            .for_each_init(RepeatedPage::default, |repeated, (slots, pages)| {
                slots
                    .chunks_mut(HASH_SIZE)
                    .zip(pages.chunks(PAGE_SIZE))
                    .for_each(|(slot, page)| repeated.hash(slot, page))
            });
    } else {
        hash_pages_serially(code, hashes);
    }
}

/// The page hashes of `code` into `hashes`, one page after the other on
/// the calling thread (pages of one repeated word hashed once).
fn hash_pages_serially(code: &[u8], hashes: &mut [u8]) {
    let mut repeated = RepeatedPage::default();
    hashes
        .chunks_mut(HASH_SIZE)
        .zip(code.chunks(PAGE_SIZE))
        .for_each(|(slot, page)| repeated.hash(slot, page));
}

/// The hash of the last page seen that is one 4-byte word over and over:
/// an image's unused room (zeros, or a trap instruction repeated), which
/// an `-incremental` link reserves by the megabyte (14 MiB of 50 for 100k
/// arm64 functions) and whose pages are then all alike. Each is hashed
/// once per thread instead of once per page; a page is told to be one
/// word repeated by a comparison with itself four bytes on, which stops
/// at the first difference (within a few bytes for code or data).
#[derive(Default)]
struct RepeatedPage {
    last: Option<(u32, [u8; HASH_SIZE])>,
}

impl RepeatedPage {
    fn hash(&mut self, slot: &mut [u8], page: &[u8]) {
        let word = (page.len() == PAGE_SIZE && page[4..] == page[..PAGE_SIZE - 4])
            .then(|| u32::from_le_bytes(page[..4].try_into().expect("4 bytes")));
        match (word, self.last) {
            (Some(w), Some((seen, hash))) if w == seen => slot.copy_from_slice(&hash),
            _ => {
                let hash: [u8; HASH_SIZE] = Sha256::digest(page).into();
                slot.copy_from_slice(&hash);
                if let Some(w) = word {
                    self.last = Some((w, hash));
                }
            }
        }
    }
}

fn put32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

fn put64(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_be_bytes());
}

fn get32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(buf[at..at + 4].try_into().unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_of_parts_is_that_of_the_whole() {
        let file: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 4096) as u8).collect();
        let whole = build_signature(&file, file.len() as u64, "a.out", (0, 8192), true);
        // Parts on page boundaries, inside pages, and empty ones.
        for cuts in [
            vec![65536, 200_704],
            vec![1000, 5000, 5001, 299_999],
            vec![0, 4096, 4096, 300_000],
        ] {
            let mut parts = Vec::new();
            let mut at = 0;
            for &c in cuts.iter().chain([&file.len()]) {
                parts.push(&file[at..c]);
                at = c;
            }
            let sig = build_signature_of_parts(&parts, "a.out", (0, 8192), true);
            assert_eq!(sig, whole, "cut at {cuts:?}");
        }
        // Pages hashed earlier (the 2nd to 17th), between parts that cut
        // pages elsewhere.
        let known = page_hashes(&file[4096..69632]);
        let parts = [
            HashPart::Bytes(&file[..100]),
            HashPart::Bytes(&file[100..4096]),
            HashPart::Hashed {
                len: 65536,
                hashes: &known,
            },
            HashPart::Bytes(&file[69632..70000]),
            HashPart::Bytes(&file[70000..]),
        ];
        let sig = build_signature_of_hashed_parts(&parts, "a.out", (0, 8192), true);
        assert_eq!(sig, whole, "pages hashed earlier");
    }

    fn get64(buf: &[u8], at: usize) -> u64 {
        u64::from_be_bytes(buf[at..at + 8].try_into().unwrap())
    }

    /// Deterministic pseudo-random bytes (xorshift), so pages differ.
    fn sample_file(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Parses `sig` back independently of the writer and checks every field.
    fn check_blob(
        sig: &[u8],
        file: &[u8],
        code_limit: u64,
        identifier: &str,
        text: (u64, u64),
        exec: bool,
    ) {
        assert_eq!(sig.len() as u64, signature_size(code_limit, identifier));
        assert!(sig.len().is_multiple_of(16));
        // SuperBlob.
        assert_eq!(get32(sig, 0), 0xfade0cc0);
        assert_eq!(get32(sig, 4) as usize, sig.len());
        assert_eq!(get32(sig, 8), 1);
        assert_eq!(get32(sig, 12), 0);
        let cd = get32(sig, 16) as usize;
        assert_eq!(cd, 24);
        assert_eq!(&sig[20..24], &[0; 4]);
        // CodeDirectory.
        assert_eq!(get32(sig, cd), 0xfade0c02);
        assert_eq!(get32(sig, cd + 4) as usize, sig.len() - cd);
        assert_eq!(get32(sig, cd + 8), 0x20400);
        assert_eq!(get32(sig, cd + 12), 0x20002);
        let hash_offset = get32(sig, cd + 16) as usize;
        let ident_offset = get32(sig, cd + 20) as usize;
        assert_eq!(ident_offset, 88);
        assert_eq!(get32(sig, cd + 24), 0);
        let n_slots = get32(sig, cd + 28) as usize;
        assert_eq!(n_slots as u64, code_limit.div_ceil(4096));
        assert_eq!(get32(sig, cd + 32) as u64, code_limit);
        assert_eq!(&sig[cd + 36..cd + 40], &[32, 2, 0, 12]);
        assert_eq!(&sig[cd + 40..cd + 64], &[0; 24]);
        assert_eq!(get64(sig, cd + 64), text.0);
        assert_eq!(get64(sig, cd + 72), text.1);
        assert_eq!(get64(sig, cd + 80), u64::from(exec));
        // Identifier: NUL-terminated, zero-padded, hashes 16-aligned.
        let ident = &sig[cd + ident_offset..cd + hash_offset];
        assert_eq!(&ident[..identifier.len()], identifier.as_bytes());
        assert!(ident[identifier.len()..].iter().all(|&b| b == 0));
        assert!(ident.len() > identifier.len());
        assert!((cd + hash_offset).is_multiple_of(16));
        assert!(ident.len() - identifier.len() <= 16);
        // Hashes, then only zero padding (less than 16 bytes).
        let hashes_end = cd + hash_offset + n_slots * 32;
        for (i, page) in file[..code_limit as usize].chunks(4096).enumerate() {
            let at = cd + hash_offset + i * 32;
            assert_eq!(
                &sig[at..at + 32],
                Sha256::digest(page).as_slice(),
                "page {i}"
            );
        }
        assert!(sig.len() - hashes_end < 16);
        assert!(sig[hashes_end..].iter().all(|&b| b == 0));
    }

    #[test]
    fn pages_of_one_repeated_word_hash_as_any_page() {
        // Runs of zero pages and of a trap word, broken by pages that
        // differ only in their last byte or repeat the word with another
        // period, in both the serial and the parallel hashing.
        for pages in [8usize, 200] {
            let mut file = Vec::new();
            for p in 0..pages {
                let mut page = match p % 7 {
                    0..=2 => vec![0u8; 4096],
                    3 | 4 => 0xd420_0020u32.to_le_bytes().repeat(1024),
                    5 => 0xd420_0020_0000_0000u64.to_le_bytes().repeat(512),
                    _ => 0xccu8.to_le_bytes().repeat(4096),
                };
                if p % 11 == 10 {
                    page[4095] ^= 1;
                }
                file.extend_from_slice(&page);
            }
            let limit = file.len() as u64;
            let sig = build_signature(&file, limit, "t", (0, 0x4000), true);
            check_blob(&sig, &file, limit, "t", (0, 0x4000), true);
        }
    }

    #[test]
    fn codesign_round_trip() {
        let file = sample_file(300 * 4096 + 123, 7);
        let limits = [
            0u64,
            1,
            100,
            4095,
            4096,
            4097,
            3 * 4096 + 5,
            64 * 4096,
            64 * 4096 + 1,
            300 * 4096 + 123,
        ];
        for &limit in &limits {
            for ident_len in 0..20 {
                let identifier: String = "abcdefghijklmnopqrstuvwxyz"[..ident_len].into();
                for exec in [false, true] {
                    let text = (0, limit.min(0x4000));
                    let sig = build_signature(&file, limit, &identifier, text, exec);
                    check_blob(&sig, &file, limit, &identifier, text, exec);
                }
            }
        }
    }

    #[test]
    fn codesign_size_matches_build() {
        let file = sample_file(20 * 4096, 3);
        for limit in (0..=20 * 4096).step_by(997) {
            for identifier in ["", "a", "a.out", "libfoo.dylib", "x".repeat(40).as_str()] {
                let sig = build_signature(&file, limit, identifier, (0, 4096), true);
                assert_eq!(sig.len() as u64, signature_size(limit, identifier));
            }
        }
        // lld's tiny executable: 8496 bytes signed as "s" take 224 bytes.
        assert_eq!(signature_size(8496, "s"), 224);
    }

    #[test]
    fn codesign_is_deterministic_and_independent_of_trailing_bytes() {
        let mut file = sample_file(10 * 4096, 5);
        let limit = 9 * 4096 + 17;
        let a = build_signature(&file, limit, "a.out", (0, 4096), true);
        // Bytes past the code limit (where the signature itself goes) do not
        // matter.
        file[limit as usize..].fill(0xee);
        let b = build_signature(&file, limit, "a.out", (0, 4096), true);
        assert_eq!(a, b);
    }

    #[test]
    fn codesign_rehash_pages_touched_only() {
        let limit = 40 * 4096 + 1000;
        let orig = sample_file(limit as usize, 11);
        let mut sig = build_signature(&orig, limit, "prog", (0, 8192), true);

        let mut file = orig.clone();
        // Page 2 (one byte), pages 5..=6 (a range across a boundary), the
        // partial last page, and a byte past the code limit.
        file[2 * 4096 + 10] ^= 0xff;
        file[6 * 4096 - 3..6 * 4096 + 3].fill(0x42);
        file[40 * 4096 + 999] ^= 1;
        let changed = [
            2 * 4096 + 10..2 * 4096 + 11,
            6 * 4096 - 3..6 * 4096 + 3,
            40 * 4096 + 999..40 * 4096 + 1000,
            // Duplicate, empty and out-of-range reports are harmless.
            2 * 4096..2 * 4096 + 4096,
            7 * 4096..7 * 4096,
            limit..limit + 50,
        ];

        let before = sig.clone();
        let count = rehash_pages(&file, limit, &mut sig, &changed);
        assert_eq!(count, 4, "pages 2, 5, 6 and 40");
        let full = build_signature(&file, limit, "prog", (0, 8192), true);
        assert_eq!(sig, full);

        // Exactly those slots changed.
        let hashes = get32(&sig, 24 + 16) as usize + 24;
        for page in 0..41 {
            let slot = hashes + page * 32..hashes + page * 32 + 32;
            let differs = sig[slot.clone()] != before[slot];
            assert_eq!(differs, [2, 5, 6, 40].contains(&page), "page {page}");
        }

        // A change that is not reported stays stale: only reported pages are
        // rehashed.
        file[20 * 4096] ^= 1;
        assert_eq!(
            rehash_pages(&file, limit, &mut sig, std::slice::from_ref(&(0..1))),
            1
        );
        assert_ne!(sig, build_signature(&file, limit, "prog", (0, 8192), true));
        assert_eq!(
            rehash_pages(
                &file,
                limit,
                &mut sig,
                std::slice::from_ref(&(20 * 4096..20 * 4096 + 1))
            ),
            1
        );
        assert_eq!(sig, build_signature(&file, limit, "prog", (0, 8192), true));
        assert_eq!(rehash_pages(&file, limit, &mut sig, &[]), 0);
    }

    #[test]
    fn codesign_rehash_many_pages_in_parallel() {
        let limit = 1000 * 4096 + 7;
        let mut file = sample_file(limit as usize, 13);
        let mut sig = build_signature(&file, limit, "big", (0, 1 << 20), false);
        // Many scattered ranges (more than PARALLEL_PAGES pages in total).
        let changed: Vec<Range<u64>> = (0..200u64)
            .map(|i| i * 5 * 4096 + 100..i * 5 * 4096 + 4096 + 200)
            .collect();
        for r in &changed {
            for b in &mut file[r.start as usize..r.end.min(limit) as usize] {
                *b = b.wrapping_add(1);
            }
        }
        let count = rehash_pages(&file, limit, &mut sig, &changed);
        assert_eq!(count, 400, "two pages for each range");
        assert_eq!(
            sig,
            build_signature(&file, limit, "big", (0, 1 << 20), false)
        );
        // Rehashing everything equals a rebuild, too.
        assert_eq!(
            rehash_pages(&file, limit, &mut sig, std::slice::from_ref(&(0..u64::MAX))),
            1001
        );
    }

    #[test]
    #[should_panic(expected = "another code limit")]
    fn codesign_rehash_rejects_other_limit() {
        let file = sample_file(3 * 4096, 1);
        let mut sig = build_signature(&file, 2 * 4096, "x", (0, 4096), true);
        rehash_pages(&file, 3 * 4096, &mut sig, std::slice::from_ref(&(0..1)));
    }

    #[test]
    fn codesign_hashes_100mb_quickly() {
        let file = vec![0x5au8; 100 << 20];
        let start = std::time::Instant::now();
        let sig = build_signature(&file, file.len() as u64, "big", (0, 1 << 20), true);
        let elapsed = start.elapsed();
        eprintln!("signed 100 MiB in {elapsed:?}");
        assert_eq!(sig.len() as u64, signature_size(file.len() as u64, "big"));
        let page_hash = Sha256::digest(&file[..4096]);
        let at = get32(&sig, 24 + 16) as usize + 24;
        assert_eq!(&sig[at..at + 32], page_hash.as_slice());
    }

    /// Reads (fileoff, filesize) of __TEXT and (dataoff, datasize) of
    /// LC_CODE_SIGNATURE from a 64-bit little-endian Mach-O.
    fn macho_text_and_signature(file: &[u8]) -> ((u64, u64), (u64, u64)) {
        let le32 = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
        let le64 = |at: usize| u64::from_le_bytes(file[at..at + 8].try_into().unwrap());
        assert_eq!(le32(0), 0xfeedfacf, "not a 64-bit Mach-O");
        let (mut text, mut signature) = (None, None);
        let mut at = 32;
        for _ in 0..le32(16) {
            let (cmd, size) = (le32(at), le32(at + 4) as usize);
            if cmd == 0x19 && &file[at + 8..at + 16] == b"__TEXT\0\0" {
                text = Some((le64(at + 40), le64(at + 48)));
            } else if cmd == 0x1d {
                signature = Some((u64::from(le32(at + 8)), u64::from(le32(at + 12))));
            }
            at += size;
        }
        (text.expect("__TEXT"), signature.expect("LC_CODE_SIGNATURE"))
    }

    /// Links a tiny program and a dylib with ld64.lld-19 -adhoc_codesign and
    /// checks that our signature over the same bytes is identical to lld's.
    #[test]
    fn codesign_matches_lld() {
        use std::path::Path;
        use std::process::Command;
        const SETUP: &str = "run scripts/setup.sh";
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let sdk = root.join(".toolchain/sdk");
        assert!(
            sdk.join("usr/lib/libSystem.tbd").is_file(),
            "{} is missing: {SETUP}",
            sdk.display()
        );
        let dir = root.join("target/test-scratch/codesign_matches_lld");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("s.c"),
            "static char big[10000] = {1};\nint f(int i){return big[i];}\nint main(void){return f(0)-1;}\n",
        )
        .unwrap();
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("{what}: {e}; {SETUP}"));
            assert!(
                out.status.success(),
                "{what} failed ({SETUP}?): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            Command::new("python3").args([
                "-m",
                "ziglang",
                "cc",
                "-target",
                "x86_64-macos",
                "-O2",
                "-c",
                "s.c",
                "-o",
                "s.o",
            ]),
            "zig cc",
        );
        for (output, extra, is_executable) in [
            ("s", None, true),
            ("libcodesign_check.dylib", Some("-dylib"), false),
        ] {
            run(
                Command::new("ld64.lld-19")
                    .args([
                        "-arch",
                        "x86_64",
                        "-platform_version",
                        "macos",
                        "15.0",
                        "15.0",
                    ])
                    .arg("-syslibroot")
                    .arg(&sdk)
                    .args(extra)
                    .args(["-lSystem", "-adhoc_codesign", "-o", output, "s.o"]),
                "ld64.lld-19",
            );
            let linked = std::fs::read(dir.join(output)).unwrap();
            let (text, (dataoff, datasize)) = macho_text_and_signature(&linked);
            let theirs = &linked[dataoff as usize..(dataoff + datasize) as usize];
            assert_eq!(signature_size(dataoff, output), datasize, "{output}");
            let ours = build_signature(&linked, dataoff, output, text, is_executable);
            assert!(ours == theirs, "{output}: signature differs from lld's");
        }
    }
}
