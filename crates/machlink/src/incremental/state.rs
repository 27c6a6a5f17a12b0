//! The persistent state of an incremental image, in two files beside the
//! output:
//!
//! - `OUTPUT.machlink-state`, written by a full link and never modified
//!   afterwards. It is memory-mapped, and a run reads only what its change
//!   needs: a small header chunk (options hash, input fingerprints,
//!   sections), the records of the objects that changed, and lookups in an
//!   open-addressed global symbol table and a sorted literal table. Nothing
//!   is deserialised in proportion to the program.
//! - `OUTPUT.machlink-delta`, rewritten by every update: what changed since
//!   the full link (replaced objects, their symbols, allocations, new
//!   literals, fingerprints). It grows with the edits, not the program, and
//!   is read whole.
//!
//! The state file is, in order: a 128-byte header (magic, the offsets of
//! the parts, its checksum), the object records (bincode), the global
//! symbol table (index, 40-byte records, their side table, names), the
//! literal table, the reference sites, the header chunk ([`Meta`], in the
//! format of [`super::wire`],
//! last: it describes the finished output, and the full link writes
//! everything before it while it is still writing LINKEDIT, see
//! [`BaseWriter`]), the block checksums, and the checksums of their chunks.
//!
//! Nothing in either file is trusted before it is checked. The state
//! carries a checksum of its header and of the chunk checksums, verified
//! when it is opened, and one checksum per 512-byte block of its body,
//! verified (after the chunk of checksums it is in) when a read first
//! touches the block; so a run checks what it reads, in proportion to its
//! change. The delta carries one checksum.
//! Addresses, sizes and indexes are then checked against the image they
//! describe ([`Meta::validate`], [`ObjectRecord::validate`],
//! [`GlobalRecord::validate`]). Anything that does not check out is
//! [`Unusable::Damaged`], and the caller links in full.

use super::Fingerprint;
use crate::arch::RelocKind;
use crate::synthetic::ImportSlots;
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Version 13 (`D`): atom records carry a replay hash
/// ([`AtomRecord::replay`]), so that an update rewrites only the atoms of
/// an object whose output would change. (12, `C`: the header chunk
/// ([`Meta`]) in a format of its own (see [`super::wire`]), not bincode.
/// 11, `B`: the block checksums are themselves checked in chunks, see
/// [`SUMS_CHUNK`]. 10: 40-byte global
/// records, their synthetic slots and reference sites in a side table; an
/// object's symbols hashed in any order. 9: atom keys prefer a global name
/// to an assembler label, and `__eh_frame` records are keyed by function
/// (FDEs) and contents (CIEs).)
const MAGIC: &[u8; 8] = b"MLSTATEE";
/// The magic without its version digit: a state of another version.
const MAGIC_FAMILY: &[u8; 7] = b"MLSTATE";
const HEADER: usize = 128;
/// The body is checksummed in blocks of this size: small, because a
/// symbol lookup touches a few scattered places (an index slot, a record, a
/// name) and hashes the blocks around them.
const BLOCK: usize = 512;
/// The table of block checksums (1/64 of the body) is checked in chunks of
/// this many checksums (4 KiB, for 256 KiB of body), each when a read first
/// needs one of its blocks; the header's checksum covers the chunks'
/// checksums (1/32768 of the body). Opening a state then reads nothing in
/// proportion to the program: a run that finds nothing changed checks only
/// the header chunk's blocks.
const SUMS_CHUNK: usize = 512;
/// Version 7: atom records carry a replay hash ([`AtomRecord::replay`]).
/// (6: the body also remembers the state's answers to global
/// lookups ([`Delta::resolved`]); 5: the body in a format of its own (see
/// [`super::wire`]), not bincode. 4: the end of the function starts in the head. 3: a head
/// every run reads and a body only updates decode.)
const DELTA_MAGIC: &[u8; 8] = b"MLDELTA9";
/// The most global lookups a delta remembers (see [`Delta::resolved`]).
const REMEMBERED: usize = 1 << 16;
/// One record of the global symbol table.
const GLOBAL: usize = 40;
/// One entry of the globals' side table: synthetic slots and reference
/// sites, which few globals have (imports, data others refer to).
const EXTRA: usize = 32;
/// One reference site.
const SITE: usize = 24;

/// What a global symbol is (`GlobalRecord::kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GlobalKind {
    /// In an atom of object `definer`.
    Defined,
    Absolute,
    /// `__mh_execute_header` and friends.
    Header,
    /// Exported by a dylib (`dylib` is its index in the link).
    Dylib,
    DynamicLookup,
}

pub const WEAK_DEF: u8 = 1;
pub const PRIVATE_EXTERN: u8 = 2;
/// Defined in a data section (its references are indexed as sites).
pub const DATA: u8 = 4;
pub const WEAK_REF: u8 = 8;
pub const THREAD_LOCAL: u8 = 16;

/// A place in another object that refers to a data global: what to
/// re-patch when that global moves (invariant 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The referring object.
    pub object: u32,
    /// How the field refers to the global, and log2 of its size.
    pub kind: SiteKind,
    pub length: u8,
    pub addend: i64,
    /// Address of the field.
    pub addr: u64,
}

/// How a reference site's field refers to its global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SiteKind {
    /// A relocation of this (arch-neutral) kind.
    Field(RelocKind),
    /// A field an update cannot re-patch (a difference of addresses): the
    /// global may not move.
    Unpatchable,
}

impl SiteKind {
    /// The byte that stands for it in the site table.
    pub(crate) fn code(self) -> u8 {
        match self {
            SiteKind::Field(k) => k.code(),
            SiteKind::Unpatchable => 0xff,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<SiteKind> {
        match code {
            0xff => Some(SiteKind::Unpatchable),
            c => RelocKind::from_code(c).map(SiteKind::Field),
        }
    }
}

/// A global symbol as the image has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalRecord {
    pub kind: GlobalKind,
    pub flags: u8,
    pub dylib: u16,
    pub definer: u32,
    /// Canonical address (or absolute value).
    pub value: u64,
    /// Where the code at `value` lives now (a moved function's body).
    pub body: u64,
    pub slots: ImportSlots,
    /// How many objects other than the definer refer to it.
    pub refs: u32,
    /// Its reference sites in the state file (offset, count), data only.
    pub sites: (u32, u32),
}

/// Atom flags.
pub const CODE: u8 = 1;
/// Another atom refers to a place inside it (not its start): it may not
/// move without re-patching those references.
pub const INTERIOR: u8 = 2;
/// It lives in a literal section and is found by content.
pub const LITERAL: u8 = 4;
/// Storage the link allocated for a tentative definition.
pub const COMMON: u8 = 8;

/// One atom of an object as placed in the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomRecord {
    /// Identity within its object and output section: symbol name, or
    /// input section and ordinal.
    #[serde(with = "super::bytes::one")]
    pub key: Vec<u8>,
    pub section: u16,
    pub align_log2: u8,
    pub flags: u8,
    /// Canonical address and the room there.
    pub addr: u64,
    pub slot: u32,
    /// A moved function's body and its room (0 when not moved).
    pub body: u64,
    pub body_cap: u32,
    pub size: u32,
    /// Shape of its dyld fixups (offsets, kinds, imports), 0 for none.
    pub fixups: u64,
    /// Compact unwind encoding (functions).
    pub unwind: u32,
    /// Hash of everything its output bytes and fixups are made of (see
    /// [`super::record::replay_hash`]); an update leaves an atom whose
    /// hash and place stayed as they are (0: unknown, always rewritten).
    pub replay: u64,
}

/// An object's part of the image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Hash of its symbol table (names and kinds).
    pub symbols: u64,
    pub atoms: Vec<AtomRecord>,
    /// The global symbols whose winning definition it holds.
    #[serde(with = "super::bytes::list")]
    pub globals: Vec<Vec<u8>>,
    /// Globals defined elsewhere that it refers to (sorted).
    #[serde(with = "super::bytes::list")]
    pub refs: Vec<Vec<u8>>,
    /// Its references to data globals defined elsewhere.
    #[serde(with = "super::bytes::keyed")]
    pub sites: Vec<(Vec<u8>, Site)>,
    /// Its debug map key (the N_OSO path).
    pub oso: String,
}

/// An output section: where it is and how much of its reserve is used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRecord {
    pub segname: String,
    pub sectname: String,
    pub flags: u32,
    pub align_log2: u8,
    pub addr: u64,
    /// Size including the reserve.
    pub size: u64,
    pub offset: u64,
    pub synthetic: bool,
}

impl SectionRecord {
    pub fn of(s: &crate::layout::OutSection) -> SectionRecord {
        SectionRecord {
            segname: s.segname.clone(),
            sectname: s.sectname.clone(),
            flags: s.flags,
            align_log2: s.align_log2,
            addr: s.addr,
            size: s.size,
            offset: s.offset,
            synthetic: !matches!(s.content, crate::layout::Content::Atoms(_)),
        }
    }

    /// The section as the relocation writer sees it (contents are the
    /// update's business).
    pub fn to_out_section(&self) -> crate::layout::OutSection {
        crate::layout::OutSection {
            segname: self.segname.clone(),
            sectname: self.sectname.clone(),
            flags: self.flags,
            align_log2: self.align_log2,
            addr: self.addr,
            size: self.size,
            offset: self.offset,
            reserved1: 0,
            reserved2: 0,
            content: crate::layout::Content::Atoms(Vec::new()),
        }
    }
}

/// Allocation state of one section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// End of the used part; the rest up to the section's end is reserve.
    pub used_end: u64,
    /// Freed ranges (address, size), sorted and coalesced.
    pub free: Vec<(u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRecord {
    pub vmaddr: u64,
    pub vmsize: u64,
    pub fileoff: u64,
    pub filesize: u64,
}

/// Where the header and LINKEDIT pieces an update may touch are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkeditRecord {
    pub uuid_offset: u64,
    /// LC_FUNCTION_STARTS data (file offset, reserved size).
    pub function_starts: (u64, u64),
    /// `__unwind_info` held personalities or LSDAs at the full link. Kept
    /// for the state's layout; updates read this from the image itself
    /// (it changes with them).
    pub unwind_complex: bool,
    /// Ad-hoc signature: (code limit, signature offset, size); 0 if none.
    pub signature: (u64, u64, u64),
    /// (file offset, room) of the chained fixups, the exports trie, the
    /// symbol and string tables.
    pub chained_fixups: (u64, u64),
    pub exports: (u64, u64),
    pub symtab: (u64, u64),
    pub strtab: (u64, u64),
}

/// Each object of the link: which input it came from and where its record is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// Index into `Meta::inputs`, or u32::MAX for the linker's own.
    pub input: u32,
    pub member: bool,
    pub name: String,
    /// Byte range of its bincode [`ObjectRecord`] in the state file.
    pub record: (u64, u64),
}

/// The header chunk of the state file, read on every run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub args: u64,
    pub output: Fingerprint,
    pub inputs: Vec<Fingerprint>,
    pub objects: Vec<ObjectInfo>,
    pub sections: Vec<SectionRecord>,
    pub allocation: Vec<Allocation>,
    pub segments: Vec<SegmentRecord>,
    pub image_base: u64,
    pub tlv_start: u64,
    pub tlv_end: u64,
    pub chained: bool,
    pub linkedit: LinkeditRecord,
    /// The output's UUID when the full link wrote it: a state describes
    /// one image.
    pub uuid: [u8; 16],
    /// How many dylibs the image loads (a dylib global's index is below).
    pub dylibs: u32,
    /// The Mach-O `cputype` the image was linked for: a state made for
    /// another target is never used.
    pub cpu_type: u32,
}

/// What every update since the full link changed.
///
/// Its file holds two parts: the head (fingerprints, allocation, literals,
/// UUID), which every run reads, and the body (the records of replaced
/// objects and their globals, as large as those objects), which only an
/// update reads: [`Delta::load`] checks the whole file's checksum but
/// decodes the body only when [`Delta::read_body`] asks, so a run that finds
/// nothing changed does not pay for the objects edited before.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    /// Current fingerprints where they differ from the state's.
    pub output: Option<Fingerprint>,
    pub inputs: BTreeMap<u32, Fingerprint>,
    /// Replaced objects, by object index.
    pub objects: BTreeMap<u32, ObjectRecord>,
    /// Globals defined by replaced objects (superseding the state's):
    /// looked up for every symbol a replayed object has, so hashed.
    pub globals: rustc_hash::FxHashMap<Vec<u8>, GlobalRecord>,
    /// Changes to globals' reference counts since the full link.
    pub ref_adjust: BTreeMap<Vec<u8>, i64>,
    /// The state's answers to the global lookups of earlier updates (see
    /// [`Base::remember`]): the state never changes under its delta, so an
    /// object replayed again (the usual edit loop) finds what its
    /// references resolved to here, not through the state's table (a
    /// scattered read, and its blocks' checksums, per name).
    pub resolved: Answers,
    /// Current allocation per section (empty: the state's).
    pub allocation: Vec<Allocation>,
    /// Literals placed by updates: content hash → address.
    pub literals: BTreeMap<u64, u64>,
    /// How many updates this delta holds.
    pub updates: u64,
    /// Where each object's N_OSO debug-map entry was last found (symbol
    /// index), so an update need not scan the symbol table for it.
    pub oso_index: BTreeMap<String, u32>,
    /// The path an object's N_OSO names now, for objects an update renamed
    /// without replaying them (rustc's reused codegen units at new names);
    /// a replay takes it over (its record then holds the path).
    pub oso_paths: BTreeMap<u32, String>,
    /// Where LC_FUNCTION_STARTS ends (the offset of its terminating zero in
    /// the blob) and the last address it lists, as the last update left
    /// them: an update walks back from there to the entries it changes,
    /// not forward through every function before them.
    pub starts_end: Option<(u32, u64)>,
    /// The output's UUID after the last update (None: the full link's).
    pub uuid: Option<[u8; 16]>,
    /// In memory only, never written: how the object the last update
    /// replayed resolved, for a server's next update of it (see
    /// [`super::update::ResolvedObject`]).
    pub resolved_object: Option<Box<super::update::ResolvedObject>>,
    /// The file as read, while its body is not decoded (the body's fields
    /// are then empty): the body is `unread[body]`, kept where it was read
    /// (not copied: a run that finds nothing changed never decodes it).
    unread: Vec<u8>,
    body: std::ops::Range<usize>,
    /// The room the file gives its head (see [`Delta::to_bytes`]).
    head_room: usize,
    /// The delta file's bytes as they are on disk once the body is
    /// decoded (`unread` until then), or as an update last wrote them: an
    /// update journals only where its delta differs from them (see
    /// [`Delta::on_disk`]). Empty when there is no delta file.
    on_disk: Vec<u8>,
}

/// The head of a delta file, written from borrowed fields.
#[derive(Serialize)]
struct HeadOut<'a> {
    output: &'a Option<Fingerprint>,
    inputs: &'a BTreeMap<u32, Fingerprint>,
    allocation: &'a [Allocation],
    literals: &'a BTreeMap<u64, u64>,
    updates: u64,
    oso_index: &'a BTreeMap<String, u32>,
    oso_paths: &'a BTreeMap<u32, String>,
    starts_end: &'a Option<(u32, u64)>,
    uuid: &'a Option<[u8; 16]>,
}

#[derive(Deserialize)]
struct HeadIn {
    output: Option<Fingerprint>,
    inputs: BTreeMap<u32, Fingerprint>,
    allocation: Vec<Allocation>,
    literals: BTreeMap<u64, u64>,
    updates: u64,
    oso_index: BTreeMap<String, u32>,
    oso_paths: BTreeMap<u32, String>,
    starts_end: Option<(u32, u64)>,
    uuid: Option<[u8; 16]>,
}

/// Why there is no usable state.
#[derive(Debug, PartialEq, Eq)]
pub enum Unusable {
    /// No state file.
    Missing,
    /// A state written by another version of machlink.
    OtherVersion,
    /// It does not check out: what is wrong and where.
    Damaged(String),
}

/// A read of the state that did not check out (for the fallback reason).
#[derive(Debug, PartialEq, Eq)]
pub struct Damage(pub String);

impl From<Damage> for Unusable {
    fn from(d: Damage) -> Unusable {
        Unusable::Damaged(d.0)
    }
}

/// The memory-mapped state of the last full link.
pub struct Base {
    map: Mmap,
    pub meta: Meta,
    /// The index (offset, capacity) and where the records start.
    globals: (usize, usize),
    globals_records: usize,
    /// The globals' side table (offset, entries).
    extras: (usize, usize),
    /// The names of globals: (start, end).
    strings: (usize, usize),
    literals: (usize, usize),
    sites: (usize, usize),
    /// End of the checksummed body, where the block checksums are, and
    /// where their chunks' checksums are.
    body_end: usize,
    sums: usize,
    chunks: usize,
    /// One bit per body block: its checksum was verified.
    verified: Vec<AtomicU64>,
    /// One bit per chunk of block checksums: it was verified.
    chunks_verified: Vec<AtomicU64>,
    /// Globals looked up so far (see [`Base::global_cached`]): an update
    /// asks for each of an object's symbols more than once, and a resident
    /// server replays the same objects again and again.
    found: std::sync::Mutex<Found>,
}

/// The lookups of [`Base::global_cached`]: this run's, and those of
/// earlier runs that the delta remembered.
#[derive(Default)]
struct Found {
    fresh: rustc_hash::FxHashMap<Vec<u8>, Option<GlobalRecord>>,
    earlier: Answers,
}

/// The state's answers to global lookups, by name (see
/// [`Delta::resolved`]): flat, so that reading them from the delta costs
/// two allocations, not one per name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answers {
    /// (name hash, the name's range in `names`, the answer), by hash.
    entries: Vec<(u64, (u32, u32), Option<GlobalRecord>)>,
    names: Vec<u8>,
}

impl Answers {
    /// The answers for these names (at most [`REMEMBERED`] of them: an
    /// edit loop replays a few objects, and every update reads the delta
    /// whole).
    pub fn new<'a>(answers: impl Iterator<Item = (&'a [u8], Option<GlobalRecord>)>) -> Answers {
        let mut out = Answers::default();
        for (name, g) in answers.take(REMEMBERED) {
            out.push(name, g);
        }
        out.sort();
        out
    }

    pub(super) fn push(&mut self, name: &[u8], g: Option<GlobalRecord>) {
        self.push_hashed(name_hash(name), name, g);
    }

    fn push_hashed(&mut self, hash: u64, name: &[u8], g: Option<GlobalRecord>) {
        let at = self.names.len() as u32;
        self.names.extend_from_slice(name);
        self.entries.push((hash, (at, name.len() as u32), g));
    }

    /// Orders the entries by hash (once all are pushed).
    pub(super) fn sort(&mut self) {
        if !self.entries.is_sorted_by_key(|e| e.0) {
            self.entries.sort_unstable_by_key(|e| e.0);
        }
    }

    fn name(&self, (at, len): (u32, u32)) -> &[u8] {
        &self.names[at as usize..(at + len) as usize]
    }

    /// The answer remembered for `name`, if there is one.
    pub fn get(&self, name: &[u8]) -> Option<Option<GlobalRecord>> {
        if self.entries.is_empty() {
            return None;
        }
        let h = name_hash(name);
        let first = self.entries.partition_point(|e| e.0 < h);
        self.entries[first..]
            .iter()
            .take_while(|e| e.0 == h)
            .find(|e| self.name(e.1) == name)
            .map(|e| e.2)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Option<GlobalRecord>)> {
        self.entries.iter().map(|e| (self.name(e.1), e.2))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The bytes of a remembered answer in the delta: the global table's
/// record and side-table entry (see [`encode_global`]; so, as there, its
/// body is its value); a kind of 0 is no such global.
pub(super) const ANSWER: usize = GLOBAL + EXTRA;

pub(super) fn encode_answer(g: Option<&GlobalRecord>) -> [u8; ANSWER] {
    let mut out = [0u8; ANSWER];
    if let Some(g) = g {
        encode_global(&mut out[..GLOBAL], 0, (0, 0), g, 0);
        encode_extra(&mut out[GLOBAL..], g);
    }
    out
}

pub(super) fn decode_answer(b: &[u8]) -> Option<Option<GlobalRecord>> {
    if b[28] == 0 {
        return Some(None);
    }
    decode_global(&b[..GLOBAL], Some(&b[GLOBAL..])).map(Some)
}

/// A small file written whole: `magic`, the bincode of `value`, and an
/// xxh3 checksum of both (the delta and the journal).
pub fn seal<T: Serialize>(magic: &[u8; 8], value: &T) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend(encode(value).expect("the value serialises"));
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The value of a [`seal`]ed file, or what is wrong with it.
pub fn unseal<T: for<'a> Deserialize<'a>>(magic: &[u8; 8], bytes: &[u8]) -> Result<T, String> {
    let Some(body_len) = bytes.len().checked_sub(8) else {
        return Err("it is truncated".into());
    };
    let (body, sum) = bytes.split_at(body_len);
    if !body.starts_with(magic) {
        return Err("its header is not machlink's".into());
    }
    if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != sum {
        return Err("checksum mismatch".into());
    }
    decode(&body[magic.len()..]).map_err(|e| format!("it does not decode ({e})"))
}

/// Header fields, in order after the magic.
const F_META_OFF: usize = 0;
const F_META_LEN: usize = 1;
const F_GLOBALS_OFF: usize = 2;
const F_GLOBALS_CAP: usize = 3;
const F_STRINGS_OFF: usize = 4;
const F_LITERALS_OFF: usize = 5;
const F_LITERALS_LEN: usize = 6;
const F_SITES_OFF: usize = 7;
const F_SITES_LEN: usize = 8;
const F_RECORDS_OFF: usize = 9;
const F_STRINGS_END: usize = 10;
const F_BODY_END: usize = 11;
const F_EXTRAS_OFF: usize = 12;
const F_EXTRAS_LEN: usize = 13;
const FIELDS: usize = 14;

fn blocks(body_end: usize) -> usize {
    (body_end - HEADER).div_ceil(BLOCK)
}

/// The checksums of the chunks of a table of block checksums.
fn chunk_sums(sums: &[u8]) -> Vec<u8> {
    sums.chunks(SUMS_CHUNK * 8)
        .flat_map(|c| xxhash_rust::xxh3::xxh3_64(c).to_le_bytes())
        .collect()
}

/// The checksum of a state's header: its fields and the checksums of the
/// block checksums' chunks.
fn header_sum(header: &[u8], chunk_sums: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&header[..HEADER - 8]);
    h.update(chunk_sums);
    h.digest()
}

impl Base {
    /// Maps and checks the state file's header and header chunk.
    pub fn open(path: &Path) -> Result<Base, Unusable> {
        let file = match super::open_to_read(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
            Err(e) => return Err(Unusable::Damaged(format!("it cannot be read ({e})"))),
        };
        // SAFETY: the state is ours and only replaced by rename, never
        // written in place, so the mapping does not change under us.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| Unusable::Damaged(format!("it cannot be mapped ({e})")))?;
        let damaged = |what: &str| Unusable::Damaged(what.to_string());
        match map.get(..8) {
            Some(m) if m == MAGIC => {}
            Some(m) if m.starts_with(MAGIC_FAMILY) => return Err(Unusable::OtherVersion),
            _ => return Err(damaged("its header is not a machlink state's")),
        }
        if map.len() < HEADER {
            return Err(damaged("it is shorter than its header"));
        }
        let field = |i: usize| u64_at(&map, 8 + i * 8).map_or(usize::MAX, |v| v as usize);
        let body_end = field(F_BODY_END);
        if body_end < HEADER || body_end % 8 != 0 || body_end > map.len() {
            return Err(damaged("its header's body size is wrong"));
        }
        let nblocks = blocks(body_end);
        let nchunks = nblocks.div_ceil(SUMS_CHUNK);
        if map.len() != body_end + nblocks * 8 + nchunks * 8 {
            return Err(damaged("its length does not match its header"));
        }
        let sums = body_end;
        let chunks = sums + nblocks * 8;
        if u64_at(&map, HEADER - 8) != Some(header_sum(&map[..HEADER], &map[chunks..])) {
            return Err(damaged("checksum mismatch in its header"));
        }
        let meta = (field(F_META_OFF), field(F_META_LEN));
        let globals = (field(F_GLOBALS_OFF), field(F_GLOBALS_CAP));
        let globals_records = field(F_RECORDS_OFF);
        let extras = (field(F_EXTRAS_OFF), field(F_EXTRAS_LEN));
        let strings = (field(F_STRINGS_OFF), field(F_STRINGS_END));
        let literals = (field(F_LITERALS_OFF), field(F_LITERALS_LEN));
        let sites = (field(F_SITES_OFF), field(F_SITES_LEN));
        let within = |off: usize, len: Option<usize>| {
            len.and_then(|l| off.checked_add(l))
                .is_some_and(|e| off >= HEADER && e <= body_end)
        };
        // The checksum says these are what was written; the checks say
        // what was written is sound.
        if !within(meta.0, Some(meta.1))
            || !globals.1.is_power_of_two()
            || !within(globals.0, globals.1.checked_mul(4))
            || !within(globals_records, Some(0))
            || !within(extras.0, extras.1.checked_mul(EXTRA))
            || !within(strings.0, strings.1.checked_sub(strings.0))
            || !within(literals.0, literals.1.checked_mul(16))
            || !within(sites.0, sites.1.checked_mul(SITE))
        {
            return Err(damaged("its header names ranges outside the file"));
        }
        let mut base = Base {
            map,
            meta: Meta::placeholder(),
            globals,
            globals_records,
            extras,
            strings,
            literals,
            sites,
            body_end,
            sums,
            chunks,
            verified: (0..nblocks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            chunks_verified: (0..nchunks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            found: Default::default(),
        };
        let bytes = base.read(meta.0, meta.1, "its header chunk")?;
        let decoded = super::wire::read_meta(bytes)
            .map_err(|e| Unusable::Damaged(format!("its header chunk does not decode ({e})")))?;
        decoded.validate().map_err(Unusable::Damaged)?;
        base.meta = decoded;
        Ok(base)
    }

    /// `len` bytes at `off` of the body, each block they touch checked
    /// against its checksum (once per run).
    fn read(&self, off: usize, len: usize, what: &str) -> Result<&[u8], Damage> {
        let end = off
            .checked_add(len)
            .filter(|&e| off >= HEADER && e <= self.body_end)
            .ok_or_else(|| Damage(format!("{what} lies outside the file")))?;
        if len == 0 {
            return Ok(&[]);
        }
        for b in (off - HEADER) / BLOCK..=(end - 1 - HEADER) / BLOCK {
            let (word, bit) = (&self.verified[b / 64], 1u64 << (b % 64));
            if word.load(Ordering::Relaxed) & bit != 0 {
                continue;
            }
            self.check_sums_chunk(b / SUMS_CHUNK, what)?;
            let start = HEADER + b * BLOCK;
            let block = &self.map[start..(start + BLOCK).min(self.body_end)];
            if u64_at(&self.map, self.sums + b * 8) != Some(xxhash_rust::xxh3::xxh3_64(block)) {
                return Err(Damage(format!(
                    "checksum mismatch in {what} (bytes {start}..{} of the state)",
                    start + block.len()
                )));
            }
            word.fetch_or(bit, Ordering::Relaxed);
        }
        Ok(&self.map[off..end])
    }

    /// Checks chunk `c` of the block checksums against its checksum (once
    /// per run).
    fn check_sums_chunk(&self, c: usize, what: &str) -> Result<(), Damage> {
        let (word, bit) = (&self.chunks_verified[c / 64], 1u64 << (c % 64));
        if word.load(Ordering::Relaxed) & bit != 0 {
            return Ok(());
        }
        let start = self.sums + c * SUMS_CHUNK * 8;
        let chunk = &self.map[start..(start + SUMS_CHUNK * 8).min(self.chunks)];
        if u64_at(&self.map, self.chunks + c * 8) != Some(xxhash_rust::xxh3::xxh3_64(chunk)) {
            return Err(Damage(format!(
                "checksum mismatch in the checksums of {what} (bytes {start}..{} of the state)",
                start + chunk.len()
            )));
        }
        word.fetch_or(bit, Ordering::Relaxed);
        Ok(())
    }

    fn u32_at(&self, at: usize, what: &str) -> Result<u32, Damage> {
        let b = self.read(at, 4, what)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn u64_at(&self, at: usize, what: &str) -> Result<u64, Damage> {
        let b = self.read(at, 8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// The reference sites recorded for a global (by the full link).
    pub fn sites(&self, g: &GlobalRecord) -> Result<Vec<Site>, Damage> {
        let (first, n) = (g.sites.0 as usize, g.sites.1 as usize);
        if first.checked_add(n).is_none_or(|e| e > self.sites.1) {
            return Err(Damage(
                "a global's reference sites lie outside the site table".into(),
            ));
        }
        let bytes = self.read(self.sites.0 + first * SITE, n * SITE, "the reference sites")?;
        bytes
            .chunks_exact(SITE)
            .map(|b| {
                let kind = SiteKind::from_code(b[4]).ok_or_else(|| {
                    Damage(format!("a reference site has unknown kind {:#04x}", b[4]))
                })?;
                let site = Site {
                    object: u32_at(b, 0).expect("in the chunk"),
                    kind,
                    length: b[5],
                    addend: u64_at(b, 8).expect("in the chunk") as i64,
                    addr: u64_at(b, 16).expect("in the chunk"),
                };
                site.validate(&self.meta).map_err(Damage)?;
                Ok(site)
            })
            .collect()
    }

    /// The record of object `i` as the full link placed it.
    pub fn object(&self, i: u32) -> Result<ObjectRecord, Damage> {
        let info = self
            .meta
            .objects
            .get(i as usize)
            .ok_or_else(|| Damage(format!("it has no object {i}")))?;
        let what = format!("the record of {}", info.name);
        let (off, len) = info.record;
        let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) else {
            return Err(Damage(format!("{what} lies outside the file")));
        };
        let rec: ObjectRecord = decode(self.read(off, len, &what)?)
            .map_err(|e| Damage(format!("{what} does not decode ({e})")))?;
        rec.validate(&self.meta)
            .map_err(|e| Damage(format!("{what}: {e}")))?;
        Ok(rec)
    }

    /// [`Base::global`], remembered: the state's records never change
    /// while it is open, so each name is looked up (and its blocks
    /// checked) once, and the answers of earlier runs ([`Base::remember`])
    /// stand. A damaged record is not remembered: it is reported every
    /// time.
    pub fn global_cached(&self, name: &[u8]) -> Result<Option<GlobalRecord>, Damage> {
        // (A lock poisoned by a panic still holds whole entries.)
        let found = || self.found.lock().unwrap_or_else(|e| e.into_inner());
        {
            let f = found();
            if let Some(g) = f.earlier.get(name) {
                // Checked as a record read from the table is.
                if let Some(g) = &g {
                    g.validate(&self.meta).map_err(|e| {
                        Damage(format!(
                            "its delta's global {}: {e}",
                            String::from_utf8_lossy(name)
                        ))
                    })?;
                }
                return Ok(g);
            }
            if let Some(g) = f.fresh.get(name) {
                return Ok(*g);
            }
        }
        let g = self.global(name)?;
        found().fresh.insert(name.to_vec(), g);
        Ok(g)
    }

    /// Takes the answers of [`Base::global`] that earlier runs remembered
    /// (the delta carries them, checked with it) as looked up already.
    pub fn remember(&self, answers: Answers) {
        self.found.lock().unwrap_or_else(|e| e.into_inner()).earlier = answers;
    }

    /// The answers looked up so far, this run's and those remembered, for
    /// the delta to carry to the next run; not those about globals of
    /// `replaced` objects (the delta has their records: the state's are
    /// not asked for again).
    pub fn remembered(&self, replaced: impl Fn(u32) -> bool) -> Answers {
        let f = self.found.lock().unwrap_or_else(|e| e.into_inner());
        let wanted = |g: &Option<GlobalRecord>| {
            !g.is_some_and(|g| g.kind == GlobalKind::Defined && replaced(g.definer))
        };
        let mut out = Answers::default();
        // The earlier answers keep their order (and hashes).
        for &(h, range, g) in f.earlier.entries.iter().filter(|e| wanted(&e.2)) {
            out.push_hashed(h, f.earlier.name(range), g);
        }
        let mut fresh = f
            .fresh
            .iter()
            .filter(|(n, g)| wanted(g) && f.earlier.get(n).is_none())
            .peekable();
        if fresh.peek().is_some() {
            for (n, g) in fresh.take(REMEMBERED.saturating_sub(out.len())) {
                out.push(n, *g);
            }
            out.sort();
        }
        out
    }

    /// Looks a global symbol up: an open-addressed index of u32 (record
    /// number + 1, 0 for empty) over dense records.
    pub fn global(&self, name: &[u8]) -> Result<Option<GlobalRecord>, Damage> {
        const WHAT: &str = "the global symbol table";
        let h = name_hash(name);
        let (index, cap, records) = (self.globals.0, self.globals.1, self.globals_records);
        let mask = cap - 1;
        let mut i = h as usize & mask;
        for _ in 0..cap {
            let slot = self.u32_at(index + i * 4, WHAT)? as usize;
            if slot == 0 {
                return Ok(None);
            }
            let at = (slot - 1)
                .checked_mul(GLOBAL)
                .and_then(|o| o.checked_add(records))
                .ok_or_else(|| Damage(format!("{WHAT} names a record outside the file")))?;
            let record = self.read(at, GLOBAL, WHAT)?;
            if u64_at(record, 0) == Some(h) {
                let field = |at: usize| u32_at(record, at).expect("within a record");
                let (off, len) = (field(8), field(12));
                let start = self.strings.0 + off as usize;
                if start + len as usize > self.strings.1 {
                    return Err(Damage(format!("{WHAT} names a string outside its strings")));
                }
                if self.read(start, len as usize, WHAT)? == name {
                    let extra = match u32_at(record, 36).expect("within a record") as usize {
                        0 => None,
                        e if e <= self.extras.1 => {
                            let at = self.extras.0 + (e - 1) * EXTRA;
                            Some(self.read(at, EXTRA, WHAT)?)
                        }
                        _ => return Err(Damage(format!("{WHAT} names an entry outside it"))),
                    };
                    let g = decode_global(record, extra)
                        .ok_or_else(|| Damage(format!("{WHAT} has a record of no known kind")))?;
                    g.validate(&self.meta).map_err(|e| {
                        Damage(format!("{WHAT}: {}: {e}", String::from_utf8_lossy(name)))
                    })?;
                    return Ok(Some(g));
                }
            }
            i = (i + 1) & mask;
        }
        Ok(None)
    }

    /// The addresses of literals with this content hash that the full link
    /// placed (the caller compares the bytes).
    pub fn literal(&self, hash: u64) -> Result<Vec<u64>, Damage> {
        const WHAT: &str = "the literal table";
        let n = self.literals.1;
        let key = |i: usize| self.u64_at(self.literals.0 + i * 16, WHAT);
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(mid)? < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        while lo < n && key(lo)? == hash {
            out.push(self.u64_at(self.literals.0 + lo * 16 + 8, WHAT)?);
            lo += 1;
        }
        Ok(out)
    }
}

/// Whether `len` bytes at `addr` lie in one segment of the image.
fn in_image(meta: &Meta, addr: u64, len: u64) -> bool {
    addr.checked_add(len).is_some_and(|end| {
        meta.segments
            .iter()
            .any(|s| addr >= s.vmaddr && end <= s.vmaddr.saturating_add(s.vmsize))
    })
}

impl Meta {
    /// The object (index into `objects`) that input `input` is, when it is
    /// an object file on the command line (not an archive's member).
    pub fn object_of_input(&self, input: u32) -> Option<u32> {
        let oi = self
            .objects
            .iter()
            .position(|o| o.input == input && !o.member)?;
        Some(oi as u32)
    }

    /// A stand-in until the real one is decoded.
    pub(crate) fn placeholder() -> Meta {
        Meta {
            cpu_type: 0,
            args: 0,
            output: Fingerprint {
                path: Default::default(),
                size: 0,
                mtime_ns: 0,
                hash: 0,
                // (An output's identity is its stamp and UUID.)
                inode: (0, 0),
            },
            inputs: Vec::new(),
            objects: Vec::new(),
            sections: Vec::new(),
            allocation: Vec::new(),
            segments: Vec::new(),
            image_base: 0,
            tlv_start: 0,
            tlv_end: 0,
            chained: false,
            linkedit: LinkeditRecord::default(),
            uuid: [0; 16],
            dylibs: 0,
        }
    }

    /// Checks that everything the header chunk names lies in the image it
    /// describes (whose size is the recorded output's: updates never change
    /// it).
    pub fn validate(&self) -> Result<(), String> {
        let len = self.output.size;
        let in_file = |what: &str, (off, size): (u64, u64)| {
            if off.checked_add(size).is_some_and(|e| e <= len) {
                Ok(())
            } else {
                Err(format!("{what} lies outside the output"))
            }
        };
        for (i, s) in self.segments.iter().enumerate() {
            in_file(&format!("segment {i}"), (s.fileoff, s.filesize))?;
            if s.vmaddr.checked_add(s.vmsize).is_none() || s.filesize > s.vmsize {
                return Err(format!("segment {i} has impossible bounds"));
            }
        }
        if self.sections.len() >= usize::from(u16::MAX) {
            return Err("it has too many sections".into());
        }
        for (i, s) in self.sections.iter().enumerate() {
            let what = format!("section {},{}", s.segname, s.sectname);
            if !in_image(self, s.addr, s.size) || s.align_log2 >= 64 {
                return Err(format!("{what} (number {i}) lies outside the image"));
            }
            if !s.to_out_section().is_zerofill() {
                in_file(&what, (s.offset, s.size))?;
            }
        }
        validate_allocation(&self.sections, &self.allocation)?;
        for o in &self.objects {
            if o.input != u32::MAX && o.input as usize >= self.inputs.len() {
                return Err(format!("object {} names an input it does not have", o.name));
            }
        }
        let l = &self.linkedit;
        in_file("the UUID", (l.uuid_offset, 16))?;
        in_file("the function starts", l.function_starts)?;
        in_file("the chained fixups", l.chained_fixups)?;
        in_file("the exports trie", l.exports)?;
        in_file("the symbol table", l.symtab)?;
        in_file("the string table", l.strtab)?;
        in_file("the code signature", (l.signature.1, l.signature.2))?;
        if l.signature.0 > len || self.tlv_start > self.tlv_end {
            return Err("its signature or thread-local bounds are impossible".into());
        }
        Ok(())
    }
}

/// Checks that every used end and free range lies in its section.
pub fn validate_allocation(
    sections: &[SectionRecord],
    allocation: &[Allocation],
) -> Result<(), String> {
    if allocation.len() != sections.len() {
        return Err("its allocation table does not match the sections".into());
    }
    for (s, a) in sections.iter().zip(allocation) {
        let end = s.addr + s.size;
        let inside = |start: u64, len: u64| {
            start >= s.addr && start.checked_add(len).is_some_and(|e| e <= end)
        };
        if !inside(a.used_end, 0) || a.free.iter().any(|&(f, l)| !inside(f, l)) {
            return Err(format!(
                "the allocation of section {},{} lies outside it",
                s.segname, s.sectname
            ));
        }
    }
    Ok(())
}

impl ObjectRecord {
    /// Checks that its atoms lie in their sections and its sites in the image.
    pub fn validate(&self, meta: &Meta) -> Result<(), String> {
        for a in &self.atoms {
            // (Decoded for a message only: most records check out.)
            let key = || String::from_utf8_lossy(&a.key);
            let Some(s) = meta.sections.get(usize::from(a.section)) else {
                let key = key();
                return Err(format!("atom {key} names a section the image has not got"));
            };
            let inside = |start: u64, len: u64| {
                start >= s.addr && start.checked_add(len).is_some_and(|e| e <= s.addr + s.size)
            };
            let room = u64::from(a.slot).max(u64::from(a.size));
            let body_ok = a.body == 0 || inside(a.body, u64::from(a.body_cap));
            if !inside(a.addr, room) || !body_ok || a.align_log2 >= 64 {
                let key = key();
                return Err(format!(
                    "atom {key} lies outside its section {},{}",
                    s.segname, s.sectname
                ));
            }
        }
        for (_, site) in &self.sites {
            site.validate(meta)?;
        }
        Ok(())
    }
}

impl Site {
    pub fn validate(&self, meta: &Meta) -> Result<(), String> {
        if self.length > 3 || !in_image(meta, self.addr, 1 << self.length) {
            return Err(format!(
                "a reference site at {:#x} lies outside the image",
                self.addr
            ));
        }
        Ok(())
    }
}

impl GlobalRecord {
    /// Checks that its definer is an object and its addresses lie in the image.
    pub fn validate(&self, meta: &Meta) -> Result<(), String> {
        let addr_ok = |a: u64| a == 0 || in_image(meta, a, 1);
        if self.kind == GlobalKind::Defined && self.definer as usize >= meta.objects.len() {
            return Err("its definer is not an object of the link".into());
        }
        if self.kind == GlobalKind::Dylib && u32::from(self.dylib) >= meta.dylibs {
            return Err("it names a dylib the image does not load".into());
        }
        let code_or_data = matches!(self.kind, GlobalKind::Defined);
        if (code_or_data && (!addr_ok(self.value) || !addr_ok(self.body)))
            || !addr_ok(self.slots.stub)
            || !addr_ok(self.slots.got)
            || !addr_ok(self.slots.thread_ptr)
        {
            return Err("it names an address outside the image".into());
        }
        Ok(())
    }
}

/// The state's serialisation: bincode with variable-length integers
/// (most addresses, sizes and counts are small or zero).
pub fn encode<T: Serialize>(value: &T) -> bincode::Result<Vec<u8>> {
    use bincode::Options;
    bincode::DefaultOptions::new().serialize(value)
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> bincode::Result<T> {
    use bincode::Options;
    bincode::DefaultOptions::new().deserialize(bytes)
}

/// A delta file's head: its length and the room it has (the body starts
/// after the room), if both fit in `file` (without its checksum).
fn head_span(file: &[u8]) -> Option<(usize, usize)> {
    let at = |i: usize| Some(u32::from_le_bytes(file.get(i..i + 4)?.try_into().ok()?) as usize);
    let (len, room) = (at(8)?, at(12)?);
    (len <= room && room <= file.len().checked_sub(16)?).then_some((len, room))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

pub fn name_hash(name: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name) | 1 // 0 marks an empty slot
}

/// A global's kind as one byte, in the global table and the delta.
pub(super) fn kind_code(k: GlobalKind) -> u8 {
    match k {
        GlobalKind::Defined => 1,
        GlobalKind::Absolute => 2,
        GlobalKind::Header => 3,
        GlobalKind::Dylib => 4,
        GlobalKind::DynamicLookup => 5,
    }
}

pub(super) fn kind_of_code(c: u8) -> Option<GlobalKind> {
    Some(match c {
        1 => GlobalKind::Defined,
        2 => GlobalKind::Absolute,
        3 => GlobalKind::Header,
        4 => GlobalKind::Dylib,
        5 => GlobalKind::DynamicLookup,
        _ => return None,
    })
}

/// A global's record: `hash`, its `name` in the strings (offset, length),
/// its value, definer (or dylib), kind, flags, reference count, and 1 + the
/// index of its entry in the side table (0: none). Its body is its value:
/// a full link moves no function.
fn encode_global(out: &mut [u8], hash: u64, name: (u32, u32), g: &GlobalRecord, extra: u32) {
    let owner = match g.kind {
        GlobalKind::Dylib => u32::from(g.dylib),
        _ => g.definer,
    };
    out[0..8].copy_from_slice(&hash.to_le_bytes());
    out[8..12].copy_from_slice(&name.0.to_le_bytes());
    out[12..16].copy_from_slice(&name.1.to_le_bytes());
    out[16..24].copy_from_slice(&g.value.to_le_bytes());
    out[24..28].copy_from_slice(&owner.to_le_bytes());
    out[28] = kind_code(g.kind);
    out[29] = g.flags;
    out[30..32].fill(0);
    out[32..36].copy_from_slice(&g.refs.to_le_bytes());
    out[36..40].copy_from_slice(&extra.to_le_bytes());
}

/// Whether a global needs an entry in the side table.
fn has_extra(g: &GlobalRecord) -> bool {
    g.slots != ImportSlots::default() || g.sites != (0, 0)
}

fn encode_extra(out: &mut [u8], g: &GlobalRecord) {
    out[0..8].copy_from_slice(&g.slots.stub.to_le_bytes());
    out[8..16].copy_from_slice(&g.slots.got.to_le_bytes());
    out[16..24].copy_from_slice(&g.slots.thread_ptr.to_le_bytes());
    out[24..28].copy_from_slice(&g.sites.0.to_le_bytes());
    out[28..32].copy_from_slice(&g.sites.1.to_le_bytes());
}

/// A global's row of the state's table as a full link makes it (in
/// parallel, ahead of the writing, 40 bytes where a record and its name
/// take 80): encoded but for where its name goes among the strings and its
/// number in the side table, which [`BaseWriter::after_records`] fills in. Until
/// then the side table's field says whether it has an entry there.
#[derive(Clone, Copy)]
pub struct GlobalRow([u8; GLOBAL]);

impl GlobalRow {
    pub fn of(name: &[u8], g: &GlobalRecord) -> GlobalRow {
        let mut row = [0u8; GLOBAL];
        let name_ref = (0, name.len() as u32);
        encode_global(
            &mut row,
            name_hash(name),
            name_ref,
            g,
            u32::from(has_extra(g)),
        );
        GlobalRow(row)
    }

    fn hash(&self) -> u64 {
        u64::from_le_bytes(self.0[0..8].try_into().expect("8 bytes"))
    }

    fn name_len(&self) -> usize {
        u32::from_le_bytes(self.0[12..16].try_into().expect("4 bytes")) as usize
    }

    /// Whether it has an entry in the side table.
    pub fn has_extra(&self) -> bool {
        self.0[36..40] != [0; 4]
    }
}

/// A global's entry in the side table (its synthetic slots and reference
/// sites), if it needs one.
pub fn global_extra(g: &GlobalRecord) -> Option<[u8; EXTRA]> {
    has_extra(g).then(|| {
        let mut out = [0u8; EXTRA];
        encode_extra(&mut out, g);
        out
    })
}

/// The global symbol table as a full link hands it to [`BaseWriter`]: a
/// row for each global that has one, at its id; its name, by id; and the
/// side table's entries, in the order of their rows.
pub struct GlobalTable<'g> {
    pub rows: Vec<Option<GlobalRow>>,
    pub name: Box<dyn Fn(usize) -> &'g [u8] + Send + Sync + 'g>,
    pub extras: Vec<[u8; EXTRA]>,
}

impl<'g> GlobalTable<'g> {
    /// The table of `globals` (name and record), in their order.
    pub fn of(globals: &'g [(&'g [u8], GlobalRecord)]) -> Self {
        GlobalTable {
            rows: globals
                .iter()
                .map(|(n, g)| Some(GlobalRow::of(n, g)))
                .collect(),
            name: Box::new(|i| globals[i].0),
            extras: globals
                .iter()
                .filter_map(|(_, g)| global_extra(g))
                .collect(),
        }
    }

    fn rows(&self) -> impl Iterator<Item = (usize, &GlobalRow)> {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(id, r)| r.as_ref().map(|r| (id, r)))
    }
}

fn decode_global(b: &[u8], extra: Option<&[u8]>) -> Option<GlobalRecord> {
    let kind = kind_of_code(b[28])?;
    let owner = u32_at(b, 24)?;
    let (definer, dylib) = match kind {
        GlobalKind::Dylib => (crate::atom::NONE, u16::try_from(owner).ok()?),
        _ => (owner, 0),
    };
    let value = u64_at(b, 16)?;
    let (slots, sites) = match extra {
        Some(e) => (
            ImportSlots {
                stub: u64_at(e, 0)?,
                got: u64_at(e, 8)?,
                thread_ptr: u64_at(e, 16)?,
            },
            (u32_at(e, 24)?, u32_at(e, 28)?),
        ),
        None => (ImportSlots::default(), (0, 0)),
    };
    Some(GlobalRecord {
        kind,
        flags: b[29],
        dylib,
        definer,
        value,
        body: value,
        slots,
        refs: u32_at(b, 32)?,
        sites,
    })
}

/// Where each part of a state file goes: offsets from the file's start.
/// The header chunk comes last, after everything a full link knows before
/// its output is finished (see [`BaseWriter`]).
struct Plan {
    index: usize,
    cap: usize,
    globals: usize,
    extras: usize,
    strings: usize,
    strings_end: usize,
    literals: usize,
    sites: usize,
    /// Where the header chunk goes.
    meta: usize,
}

impl Plan {
    fn new(
        records: usize,
        globals: usize,
        extras: usize,
        strings: usize,
        literals: usize,
        sites: usize,
    ) -> Plan {
        let pad = |n: usize| n.next_multiple_of(8);
        let cap = (globals * 3 / 2).next_power_of_two().max(16);
        let index = pad(HEADER + records);
        let globals_off = index + cap * 4;
        let extras_off = globals_off + globals * GLOBAL;
        let strings_off = extras_off + extras * EXTRA;
        let strings_end = strings_off + strings;
        let literals_off = pad(strings_end);
        let sites_off = literals_off + literals * 16;
        Plan {
            index,
            cap,
            globals: globals_off,
            extras: extras_off,
            strings: strings_off,
            strings_end,
            literals: literals_off,
            sites: sites_off,
            meta: sites_off + sites * SITE,
        }
    }
}

/// A state file being written: everything but its header chunk (the
/// options, fingerprints, sections and LINKEDIT ranges, known once the
/// output is finished), under a temporary name. A [`RecordStream`] writes
/// the object records while the link is still writing LINKEDIT;
/// [`BaseWriter::after_records`] the global symbols, literals and sites,
/// and the checksums of the blocks they fill, while the output goes to
/// its file; [`BaseWriter::finish`] adds the header chunk.
pub struct BaseWriter {
    pending: super::Pending,
    file: std::fs::File,
    /// The body's bytes past its last whole block, which
    /// [`BaseWriter::finish`] sums with the header chunk.
    partial: Vec<u8>,
    plan: Plan,
    /// Where each object's record is (offset, length).
    record_ranges: Vec<(u64, u64)>,
    literals: usize,
    sites: usize,
    extras: usize,
    /// Checksums of the body's blocks that lie wholly before the header
    /// chunk.
    sums: Vec<u64>,
}

/// A state file whose object records are being written, each as soon as
/// it is made (by any thread, in any order: each object's range goes into
/// the header chunk), under a temporary name; [`BaseWriter::after_records`]
/// writes the rest of its body after them. Records written as they come
/// are never gathered in memory (6 MiB for 100k functions, fresh pages a
/// link pays to fault in and zero), and their checksums and write come
/// off the link's last, sequential stretch.
pub struct RecordStream {
    pending: super::Pending,
    file: std::fs::File,
    body: BodyStream,
    /// Where each object's record is (offset, length).
    ranges: Vec<(u64, u64)>,
}

impl RecordStream {
    /// Creates the state file at `path` (under its temporary name) for
    /// `objects` records.
    pub fn create(path: &Path, objects: usize) -> std::io::Result<RecordStream> {
        // Sized to the header for now (an allocation cannot be empty).
        let (pending, file) = super::Pending::sized(path, HEADER as u64)?;
        let body = BodyStream::new(&file)?;
        Ok(RecordStream {
            pending,
            file,
            body,
            ranges: vec![(0, 0); objects],
        })
    }

    /// Writes object `i`'s record.
    pub fn put(&mut self, i: usize, record: &[u8]) -> std::io::Result<()> {
        self.ranges[i] = (self.body.at() as u64, record.len() as u64);
        self.body.put(record)
    }
}

impl BaseWriter {
    /// [`BaseWriter::after_records`] of `records`, in order.
    pub fn begin(
        path: &Path,
        records: &[Vec<u8>],
        globals: &GlobalTable,
        literals: &mut [(u64, u64)],
        sites: &[Site],
    ) -> std::io::Result<BaseWriter> {
        let mut stream = RecordStream::create(path, records.len())?;
        for (i, r) in records.iter().enumerate() {
            stream.put(i, r)?;
        }
        Self::after_records(stream, globals, literals, sites)
    }

    /// Allocates the rest of the file (a full disk is an error here) and
    /// writes every other part after the records in file order through
    /// one small buffer, checksumming each block as it fills
    /// ([`BodyStream`]). Fresh memory is what a link pays for most (every
    /// first touch of a page is a fault, and zeroing it), so the body is
    /// not laid out whole in memory first: that took a mapping as large as
    /// the state (14 MiB for 100k functions), and a copy of the records
    /// into it.
    pub fn after_records(
        stream: RecordStream,
        globals: &GlobalTable,
        literals: &mut [(u64, u64)],
        sites: &[Site],
    ) -> std::io::Result<BaseWriter> {
        let RecordStream {
            pending,
            file,
            mut body,
            ranges: record_ranges,
        } = stream;
        let at = body.at();
        let (mut count, mut strings) = (0usize, 0usize);
        for (_, row) in globals.rows() {
            count += 1;
            strings += row.name_len();
        }
        let extras = globals.extras.len();
        if u32::try_from(strings).is_err() || u32::try_from(count).is_err() {
            return Err(std::io::Error::other("too many global symbols for a state"));
        }
        let plan = Plan::new(
            at - HEADER,
            count,
            extras,
            strings,
            literals.len(),
            sites.len(),
        );
        crate::output::allocate(&file, plan.meta as u64)?;
        body.pad_to(plan.index)?;
        write_globals(&mut body, plan.cap, globals)?;
        debug_assert_eq!(body.at(), plan.strings_end);
        body.pad_to(plan.literals)?;
        literals.sort_unstable();
        for &(h, a) in literals.iter() {
            body.put(&h.to_le_bytes())?;
            body.put(&a.to_le_bytes())?;
        }
        for s in sites {
            let mut out = [0u8; SITE];
            out[0..4].copy_from_slice(&s.object.to_le_bytes());
            out[4..8].copy_from_slice(&[s.kind.code(), s.length, 0, 0]);
            out[8..16].copy_from_slice(&s.addend.to_le_bytes());
            out[16..24].copy_from_slice(&s.addr.to_le_bytes());
            body.put(&out)?;
        }
        debug_assert_eq!(body.at(), plan.meta);
        // The header goes last, in `finish`, with the last partial block.
        let (sums, partial) = body.end()?;
        Ok(BaseWriter {
            pending,
            file,
            partial,
            plan,
            record_ranges,
            literals: literals.len(),
            sites: sites.len(),
            extras,
            sums,
        })
    }

    /// Adds `meta` (its object record ranges are filled in here), the
    /// last blocks' checksums and the header.
    pub fn finish(mut self, mut meta: Meta) -> std::io::Result<super::Pending> {
        use std::os::unix::fs::FileExt;
        for (info, &range) in meta.objects.iter_mut().zip(&self.record_ranges) {
            info.record = range;
        }
        let meta_bytes = super::wire::write_meta(&meta);
        let plan = &self.plan;
        let body_end = (plan.meta + meta_bytes.len()).next_multiple_of(8);
        let nblocks = blocks(body_end);
        let len = body_end + nblocks * 8 + nblocks.div_ceil(SUMS_CHUNK) * 8;
        // The body from the first block not yet summed: the end of what
        // `begin` wrote, then the header chunk.
        let tail_start = HEADER + self.sums.len() * BLOCK;
        let mut tail = std::mem::take(&mut self.partial);
        tail.extend_from_slice(&meta_bytes);
        tail.resize(body_end - tail_start, 0);
        self.sums
            .extend(tail.chunks(BLOCK).map(xxhash_rust::xxh3::xxh3_64));
        let mut sums: Vec<u8> = self.sums.iter().flat_map(|h| h.to_le_bytes()).collect();
        let chunks = chunk_sums(&sums);
        sums.extend_from_slice(&chunks);
        self.file.set_len(len as u64)?;
        crate::output::allocate(&self.file, len as u64)?;
        self.file
            .write_all_at(&tail[plan.meta - tail_start..], plan.meta as u64)?;
        self.file.write_all_at(&sums, body_end as u64)?;
        let mut fields = [0usize; FIELDS];
        fields[F_META_OFF] = plan.meta;
        fields[F_META_LEN] = meta_bytes.len();
        fields[F_GLOBALS_OFF] = plan.index;
        fields[F_GLOBALS_CAP] = plan.cap;
        fields[F_STRINGS_OFF] = plan.strings;
        fields[F_LITERALS_OFF] = plan.literals;
        fields[F_LITERALS_LEN] = self.literals;
        fields[F_SITES_OFF] = plan.sites;
        fields[F_SITES_LEN] = self.sites;
        fields[F_RECORDS_OFF] = plan.globals;
        fields[F_STRINGS_END] = plan.strings_end;
        fields[F_BODY_END] = body_end;
        fields[F_EXTRAS_OFF] = plan.extras;
        fields[F_EXTRAS_LEN] = self.extras;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        for (i, v) in fields.iter().enumerate() {
            header[8 + i * 8..16 + i * 8].copy_from_slice(&(*v as u64).to_le_bytes());
        }
        let sum = header_sum(&header, &chunks);
        header[HEADER - 8..].copy_from_slice(&sum.to_le_bytes());
        self.file.write_all_at(&header, 0)?;
        // Not synced, like the output it describes (neither linker syncs
        // its output): a state that does not check out means a full link.
        Ok(self.pending)
    }
}

/// Writes a state file under a temporary name (moved into place by the
/// caller, once the output it describes is): see [`BaseWriter`].
pub fn write_base(
    path: &Path,
    meta: Meta,
    records: &[Vec<u8>],
    globals: &[(&[u8], GlobalRecord)],
    literals: &mut [(u64, u64)],
    sites: &[Site],
) -> std::io::Result<super::Pending> {
    let table = GlobalTable::of(globals);
    BaseWriter::begin(path, records, &table, literals, sites)?.finish(meta)
}

/// The global symbol table: an open-addressed index of u32 (a record's
/// number plus one, 0 for empty) over dense records, their side table and
/// names, each part streamed in file order (the index, built whole first, is the only
/// part with room of its own: `cap` slots).
fn write_globals(body: &mut BodyStream, cap: usize, globals: &GlobalTable) -> std::io::Result<()> {
    let mut index = vec![0u8; cap * 4];
    for (n, (_, row)) in globals.rows().enumerate() {
        let mut i = row.hash() as usize & (cap - 1);
        while index[i * 4..i * 4 + 4] != [0; 4] {
            i = (i + 1) & (cap - 1);
        }
        index[i * 4..i * 4 + 4].copy_from_slice(&(n as u32 + 1).to_le_bytes());
    }
    body.put(&index)?;
    drop(index);
    let (mut name_at, mut extra) = (0u32, 0u32);
    for (_, row) in globals.rows() {
        let mut out = row.0;
        out[8..12].copy_from_slice(&name_at.to_le_bytes());
        name_at += row.name_len() as u32;
        if row.has_extra() {
            extra += 1;
            out[36..40].copy_from_slice(&extra.to_le_bytes());
        }
        body.put(&out)?;
    }
    if extra as usize != globals.extras.len() {
        return Err(std::io::Error::other(
            "global side table out of step with its rows",
        ));
    }
    for e in &globals.extras {
        body.put(e)?;
    }
    for (id, _) in globals.rows() {
        body.put((globals.name)(id))?;
    }
    Ok(())
}

/// A state body written in file order from its start (just past the
/// header) through a buffer of [`BodyStream::FLUSH`] bytes, reused: each
/// whole block is checksummed as it leaves the buffer, while it is in
/// the cache, and written with the rest of the buffer in one call.
struct BodyStream {
    /// The state file (a handle of its own).
    file: std::fs::File,
    buf: Vec<u8>,
    /// File offset of `buf[0]` (a block boundary).
    start: usize,
    sums: Vec<u64>,
}

impl BodyStream {
    /// Bytes buffered before a write: large enough that system calls are
    /// few, small enough to stay in the cache.
    const FLUSH: usize = 256 * 1024;

    fn new(file: &std::fs::File) -> std::io::Result<Self> {
        Ok(BodyStream {
            file: file.try_clone()?,
            buf: Vec::with_capacity(Self::FLUSH + BLOCK),
            start: HEADER,
            sums: Vec::new(),
        })
    }

    /// The file offset of the next byte put.
    fn at(&self) -> usize {
        self.start + self.buf.len()
    }

    // Inlined always: a put of a fixed-size row or field is then a few
    // moves, not a `memcpy` call.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        // Most puts: a field or a name, with room to spare.
        if self.buf.len() + bytes.len() <= Self::FLUSH {
            self.buf.extend_from_slice(bytes);
            return Ok(());
        }
        self.put_across(bytes)
    }

    /// [`BodyStream::put`] of bytes that fill the buffer.
    #[cold]
    fn put_across(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let n = bytes
                .len()
                .min(Self::FLUSH - self.buf.len().min(Self::FLUSH));
            if n == 0 {
                self.flush()?;
                continue;
            }
            self.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Zeros up to file offset `to`.
    fn pad_to(&mut self, to: usize) -> std::io::Result<()> {
        const ZEROS: [u8; 64] = [0; 64];
        while self.at() < to {
            let n = (to - self.at()).min(ZEROS.len());
            self.put(&ZEROS[..n])?;
        }
        Ok(())
    }

    /// Checksums and writes the buffer's whole blocks; the rest stays.
    fn flush(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let whole = self.buf.len() / BLOCK * BLOCK;
        self.sums.extend(
            self.buf[..whole]
                .chunks(BLOCK)
                .map(xxhash_rust::xxh3::xxh3_64),
        );
        self.file
            .write_all_at(&self.buf[..whole], self.start as u64)?;
        self.buf.drain(..whole);
        self.start += whole;
        Ok(())
    }

    /// Writes what is left; returns the checksums of the whole blocks,
    /// and the bytes past the last (summed with what follows them).
    fn end(mut self) -> std::io::Result<(Vec<u64>, Vec<u8>)> {
        use std::os::unix::fs::FileExt;
        self.flush()?;
        self.file.write_all_at(&self.buf, self.start as u64)?;
        Ok((self.sums, self.buf))
    }
}

impl Delta {
    /// The delta beside an output: empty when there is none (no update
    /// since the full link).
    pub fn load(path: &Path) -> Result<Delta, Unusable> {
        let read = |path| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut super::open_to_read(path)?, &mut bytes)?;
            Ok::<_, std::io::Error>(bytes)
        };
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Delta::default()),
            Err(e) => return Err(Unusable::Damaged(format!("its delta cannot be read ({e})"))),
        };
        if !bytes.starts_with(DELTA_MAGIC) && bytes.starts_with(&DELTA_MAGIC[..7]) {
            return Err(Unusable::OtherVersion);
        }
        Delta::from_file(bytes).map_err(|e| Unusable::Damaged(format!("its delta: {e}")))
    }

    /// The file: magic, the head's length and its room (u32 each), the head
    /// and zeros to fill its room, the body, and an xxh3 checksum of all
    /// that.
    ///
    /// The head grows and shrinks by a few bytes with most updates (the
    /// allocation's free ranges, stamps); given the room it had in the file
    /// written before, it leaves the body where it was, so the new file
    /// differs from the old only where the update changed something and is
    /// journaled as those bytes (see `journal::DeltaWrite`), not whole.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head = encode(&HeadOut {
            output: &self.output,
            inputs: &self.inputs,
            allocation: &self.allocation,
            literals: &self.literals,
            updates: self.updates,
            oso_index: &self.oso_index,
            oso_paths: &self.oso_paths,
            starts_end: &self.starts_end,
            uuid: &self.uuid,
        })
        .expect("the delta's head serialises");
        // Room for a body as large as the objects edited (a 500-function
        // object's record and remembered lookups take some 90 KiB): pages
        // reserved and not written cost nothing, a copy on each growth does.
        let room = if head.len() <= self.head_room {
            self.head_room
        } else {
            (head.len() + head.len() / 2 + 256).next_multiple_of(64)
        };
        let mut out = Vec::with_capacity(16 + room + self.unread.len().max(1 << 20) + 8);
        out.extend_from_slice(DELTA_MAGIC);
        let len32 = |n: usize| u32::try_from(n).expect("a delta's head fits in 4 GiB");
        out.extend_from_slice(&len32(head.len()).to_le_bytes());
        out.extend_from_slice(&len32(room).to_le_bytes());
        out.extend_from_slice(&head);
        out.resize(16 + room, 0);
        if self.unread.is_empty() {
            super::wire::write(
                &mut out,
                &self.objects,
                &self.globals,
                &self.ref_adjust,
                &self.resolved,
            );
        } else {
            // Never decoded: written back as it was read.
            out.extend_from_slice(&self.unread[self.body.clone()]);
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// The delta [`Delta::to_bytes`] wrote, whole, or what is wrong with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Delta, String> {
        let mut d = Delta::from_file(bytes.to_vec())?;
        d.decode_body()?;
        Ok(d)
    }

    /// The delta with its head decoded and its body kept as bytes.
    fn from_file(bytes: Vec<u8>) -> Result<Delta, String> {
        let Some(body_end) = bytes.len().checked_sub(8) else {
            return Err("it is truncated".into());
        };
        let (all, sum) = bytes.split_at(body_end);
        if !all.starts_with(DELTA_MAGIC) || all.len() < 16 {
            return Err("its header is not machlink's".into());
        }
        if xxhash_rust::xxh3::xxh3_64(all).to_le_bytes() != sum {
            return Err("checksum mismatch".into());
        }
        let (head_len, head_room) = head_span(all).ok_or("its head's length is wrong")?;
        let head: HeadIn =
            decode(&all[16..16 + head_len]).map_err(|e| format!("it does not decode ({e})"))?;
        let head_end = 16 + head_room;
        Ok(Delta {
            output: head.output,
            inputs: head.inputs,
            allocation: head.allocation,
            literals: head.literals,
            updates: head.updates,
            oso_index: head.oso_index,
            oso_paths: head.oso_paths,
            starts_end: head.starts_end,
            uuid: head.uuid,
            body: head_end..body_end,
            unread: bytes,
            head_room,
            ..Default::default()
        })
    }

    fn decode_body(&mut self) -> Result<(), String> {
        if self.unread.is_empty() {
            return Ok(());
        }
        let body = super::wire::read(&self.unread[self.body.clone()])
            .map_err(|e| format!("its body: {e}"))?;
        // (Kept: the next update's journal says how its delta differs.)
        self.on_disk = std::mem::take(&mut self.unread);
        self.body = 0..0;
        self.objects = body.objects;
        self.globals = body.globals;
        self.ref_adjust = body.ref_adjust;
        self.resolved = body.resolved;
        Ok(())
    }

    /// The delta file's bytes, as this delta read or wrote them (empty:
    /// no delta file). Only true while nothing else writes the file: a
    /// process holds the output's lock from reading it to writing it, and
    /// a server keeps a delta only while the file's identity is the one it
    /// left (see [`super::resident`]).
    pub fn on_disk(&self) -> &[u8] {
        if self.unread.is_empty() {
            &self.on_disk
        } else {
            &self.unread
        }
    }

    /// Records that the delta file now holds `bytes`, which
    /// [`Delta::to_bytes`] made of this delta.
    pub fn written(&mut self, bytes: Vec<u8>) {
        let (_, room) = head_span(&bytes).expect("a delta's head as to_bytes wrote it");
        self.head_room = room;
        if self.unread.is_empty() {
            self.on_disk = bytes;
            return;
        }
        // Not decoded: the same body, after a head that may have changed.
        self.body = 16 + room..bytes.len() - 8;
        self.unread = bytes;
    }

    /// Decodes the body (the records of replaced objects and their
    /// globals), which an update needs, and checks it against the state.
    pub fn read_body(&mut self, meta: &Meta) -> Result<(), String> {
        if self.unread.is_empty() {
            return Ok(());
        }
        self.decode_body().map_err(|e| format!("its delta: {e}"))?;
        self.validate(meta)
    }

    /// Checks what it says against the state it extends.
    pub fn validate(&self, meta: &Meta) -> Result<(), String> {
        if !self.allocation.is_empty() {
            validate_allocation(&meta.sections, &self.allocation)
                .map_err(|e| format!("its delta: {e}"))?;
        }
        if self.inputs.keys().any(|&i| i as usize >= meta.inputs.len())
            || self
                .objects
                .keys()
                .any(|&i| i as usize >= meta.objects.len())
        {
            return Err("its delta names inputs or objects the state has not got".into());
        }
        for (i, rec) in &self.objects {
            rec.validate(meta)
                .map_err(|e| format!("its delta's record of object {i}: {e}"))?;
        }
        // (Remembered answers are checked when they are used, as the
        // state's records are.)
        for (name, g) in &self.globals {
            g.validate(meta).map_err(|e| {
                format!("its delta's global {}: {e}", String::from_utf8_lossy(name))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod delta_tests {
    use super::*;

    fn sample() -> Delta {
        let mut d = Delta {
            updates: 3,
            uuid: Some([7; 16]),
            ..Default::default()
        };
        d.inputs.insert(
            1,
            Fingerprint {
                path: "a.o".into(),
                size: 10,
                mtime_ns: 5,
                hash: 9,
                inode: (3, 1 << 40),
            },
        );
        d.objects.insert(
            0,
            ObjectRecord {
                symbols: 1,
                globals: vec![b"_f".to_vec()],
                refs: vec![b"_g".to_vec(), b"_h".to_vec()],
                oso: "a.o".into(),
                ..Default::default()
            },
        );
        d.ref_adjust.insert(b"_g".to_vec(), -1);
        d.resolved = Answers::new(
            [
                (&b"_new"[..], None),
                (
                    &b"_g"[..],
                    Some(GlobalRecord {
                        kind: GlobalKind::Dylib,
                        flags: WEAK_REF,
                        dylib: 1,
                        definer: crate::atom::NONE,
                        value: 0,
                        body: 0,
                        slots: ImportSlots {
                            stub: 0x1000,
                            got: 0,
                            thread_ptr: 0,
                        },
                        refs: 2,
                        sites: (0, 0),
                    }),
                ),
            ]
            .into_iter(),
        );
        assert_eq!(d.resolved.get(b"_new"), Some(None));
        assert_eq!(d.resolved.get(b"_h"), None);
        d
    }

    /// A body streamed in pieces of every size (across the buffer's
    /// flushes, in the file, with padding) is in the file as one write of
    /// it would put it, with the checksums of its whole blocks, and the
    /// bytes past the last one handed back.
    #[test]
    fn a_streamed_body_is_written_and_summed_block_by_block() {
        let dir = std::env::temp_dir().join(format!("machlink-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state");
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let mut want = vec![0u8; HEADER];
        let mut body = BodyStream::new(&file).unwrap();
        let lens = [
            0,
            1,
            7,
            511,
            512,
            513,
            40,
            BodyStream::FLUSH - 3,
            24,
            2 * BodyStream::FLUSH + 5,
        ];
        for (n, len) in lens.into_iter().enumerate() {
            let piece: Vec<u8> = (0..len).map(|i| (i * 31 + n) as u8).collect();
            body.put(&piece).unwrap();
            want.extend_from_slice(&piece);
            let to = want.len().next_multiple_of(8) + 3;
            body.pad_to(to).unwrap();
            want.resize(to, 0);
            assert_eq!(body.at(), want.len());
        }
        let (sums, partial) = body.end().unwrap();
        let whole = (want.len() - HEADER) / BLOCK * BLOCK;
        let expected: Vec<u64> = want[HEADER..HEADER + whole]
            .chunks(BLOCK)
            .map(xxhash_rust::xxh3::xxh3_64)
            .collect();
        assert_eq!(sums, expected);
        assert_eq!(partial, &want[HEADER + whole..]);
        let written = std::fs::read(&path).unwrap();
        assert_eq!(&written[HEADER..], &want[HEADER..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_delta_body_is_decoded_only_when_asked_and_written_back_as_read() {
        let d = sample();
        let bytes = d.to_bytes();
        let head_only = Delta::from_file(bytes.clone()).unwrap();
        assert!(head_only.objects.is_empty() && head_only.ref_adjust.is_empty());
        assert_eq!(head_only.inputs, d.inputs);
        assert_eq!((head_only.updates, head_only.uuid), (3, Some([7; 16])));
        // Saved without being decoded (a run that only refreshed stamps):
        // the body goes back as it was.
        assert_eq!(head_only.to_bytes(), bytes);
        let whole = Delta::from_bytes(&bytes).unwrap();
        assert_eq!(whole.objects, d.objects);
        assert_eq!(whole.ref_adjust, d.ref_adjust);
        assert_eq!(whole.resolved, d.resolved);
        assert_eq!(whole.to_bytes(), bytes);
    }

    #[test]
    fn a_damaged_delta_is_refused_before_anything_is_decoded() {
        let bytes = sample().to_bytes();
        for at in [0, 9, bytes.len() / 2, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            assert!(Delta::from_file(b).is_err(), "byte {at}");
        }
        assert!(Delta::from_file(bytes[..bytes.len() - 3].to_vec()).is_err());
    }
}

/// Fuzzing entries (see `fuzz/` and [`crate::fuzzing`]): every decoder of
/// the state and the delta, fed bytes whose checksums are first made right
/// so that the fuzzer gets past them to the decoding they guard. None of
/// them may panic or allocate more than the bytes given justify.
#[doc(hidden)]
pub mod fuzz {
    use super::*;

    /// Decodes `data` as each part of a state and as a delta; a whole state
    /// file goes through `scratch/state` (the reader maps a file).
    pub fn decode_all(data: &[u8], scratch: &Path) {
        if let Ok(meta) = super::super::wire::read_meta(data) {
            let _ = meta.validate();
        }
        let _ = super::super::wire::read(data);
        if let Ok(rec) = decode::<ObjectRecord>(data) {
            let _ = rec.validate(&Meta::placeholder());
        }
        delta(data);
        state_file(data, scratch);
    }

    /// `data` as a delta file, its checksum made right.
    pub fn delta(data: &[u8]) {
        let mut bytes = data.to_vec();
        if bytes.len() >= 8 {
            let end = bytes.len() - 8;
            let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..end]);
            bytes[end..].copy_from_slice(&sum.to_le_bytes());
        }
        if let Ok(d) = Delta::from_bytes(&bytes) {
            let _ = d.validate(&Meta::placeholder());
            let _ = d.to_bytes();
        }
    }

    /// `data` as a state file, its block, chunk and header checksums made
    /// right, opened and read as an update would.
    pub fn state_file(data: &[u8], scratch: &Path) {
        let path = scratch.join("state");
        if std::fs::write(&path, reseal(data.to_vec())).is_err() {
            return;
        }
        let Ok(base) = Base::open(&path) else {
            return;
        };
        for i in 0..base.meta.objects.len().min(8) as u32 {
            let _ = base.object(i);
        }
        for name in [&b"_main"[..], b"_printf", b""] {
            if let Ok(Some(g)) = base.global(name) {
                let _ = base.sites(&g);
            }
            let _ = base.global_cached(name);
        }
        let _ = base.literal(0);
    }

    /// The bytes with the checksums [`Base::open`] checks recomputed (when
    /// the header's body size leaves room for them).
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        if bytes.len() < HEADER || !bytes.starts_with(MAGIC) {
            return bytes;
        }
        let body_end = u64_at(&bytes, 8 + F_BODY_END * 8).map_or(usize::MAX, |v| v as usize);
        if body_end < HEADER || !body_end.is_multiple_of(8) || body_end > bytes.len() {
            return bytes;
        }
        bytes.truncate(body_end);
        let sums: Vec<u8> = (0..blocks(body_end))
            .flat_map(|b| {
                let start = HEADER + b * BLOCK;
                xxhash_rust::xxh3::xxh3_64(&bytes[start..(start + BLOCK).min(body_end)])
                    .to_le_bytes()
            })
            .collect();
        let chunks = chunk_sums(&sums);
        bytes.extend_from_slice(&sums);
        bytes.extend_from_slice(&chunks);
        let sum = header_sum(&bytes[..HEADER], &chunks);
        bytes[HEADER - 8..HEADER].copy_from_slice(&sum.to_le_bytes());
        bytes
    }
}
