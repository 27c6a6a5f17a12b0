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

use super::Fingerprint;
use crate::write::ImportSlots;
use memmap2::Mmap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const MAGIC: &[u8; 8] = b"MLSTATE6";
const HEADER: usize = 96;
/// One slot of the global symbol table.
const GLOBAL: usize = 80;
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
    /// `X86_64_RELOC_*` and log2 of the field size.
    pub kind: u8,
    pub length: u8,
    pub addend: i64,
    /// Address of the field.
    pub addr: u64,
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
}

/// An object's part of the image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Hash of its symbol table (names and kinds).
    pub symbols: u64,
    pub atoms: Vec<AtomRecord>,
    /// The global symbols whose winning definition it holds.
    pub globals: Vec<Vec<u8>>,
    /// Globals defined elsewhere that it refers to (sorted).
    pub refs: Vec<Vec<u8>>,
    /// Its references to data globals defined elsewhere.
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
    /// `__unwind_info` holds personalities or LSDAs (updates touching
    /// unwind rows then fall back).
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
}

/// What every update since the full link changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Delta {
    /// Current fingerprints where they differ from the state's.
    pub output: Option<Fingerprint>,
    pub inputs: BTreeMap<u32, Fingerprint>,
    /// Replaced objects, by object index.
    pub objects: BTreeMap<u32, ObjectRecord>,
    /// Globals defined by replaced objects (superseding the state's).
    pub globals: BTreeMap<Vec<u8>, GlobalRecord>,
    /// Changes to globals' reference counts since the full link.
    pub ref_adjust: BTreeMap<Vec<u8>, i64>,
    /// Current allocation per section (empty: the state's).
    pub allocation: Vec<Allocation>,
    /// Literals placed by updates: content hash → address.
    pub literals: BTreeMap<u64, u64>,
    /// How many updates this delta holds.
    pub updates: u64,
    /// Where each object's N_OSO debug-map entry was last found (symbol
    /// index), so an update need not scan the symbol table for it.
    pub oso_index: BTreeMap<String, u32>,
}

/// The memory-mapped state of the last full link.
pub struct Base {
    map: Mmap,
    pub meta: Meta,
    /// The index (offset, capacity) and where the records start.
    globals: (usize, usize),
    globals_records: usize,
    strings: usize,
    literals: (usize, usize),
    sites: (usize, usize),
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

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

pub fn name_hash(name: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name) | 1 // 0 marks an empty slot
}

fn kind_code(k: GlobalKind) -> u8 {
    match k {
        GlobalKind::Defined => 1,
        GlobalKind::Absolute => 2,
        GlobalKind::Header => 3,
        GlobalKind::Dylib => 4,
        GlobalKind::DynamicLookup => 5,
    }
}

fn kind_of_code(c: u8) -> Option<GlobalKind> {
    Some(match c {
        1 => GlobalKind::Defined,
        2 => GlobalKind::Absolute,
        3 => GlobalKind::Header,
        4 => GlobalKind::Dylib,
        5 => GlobalKind::DynamicLookup,
        _ => return None,
    })
}

impl Base {
    /// Maps and checks the state file; None when absent, foreign or corrupt.
    pub fn open(path: &Path) -> Option<Base> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: the state is ours and only replaced by rename, never
        // written in place, so the mapping does not change under us.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        if map.get(..8)? != MAGIC {
            return None;
        }
        let field = |i: usize| u64_at(&map, 8 + i * 8).map(|v| v as usize);
        let (meta_off, meta_len) = (field(0)?, field(1)?);
        let globals = (field(2)?, field(3)?);
        let strings = field(4)?;
        let literals = (field(5)?, field(6)?);
        let sites = (field(7)?, field(8)?);
        let globals_records = field(9)?;
        let end = map.len();
        let in_bounds = |off: usize, len: usize| off.checked_add(len).is_some_and(|e| e <= end);
        if !in_bounds(meta_off, meta_len)
            || !in_bounds(globals.0, globals.1.checked_mul(4)?)
            || globals_records > end
            || !globals.1.is_power_of_two()
            || strings > end
            || !in_bounds(literals.0, literals.1.checked_mul(16)?)
            || !in_bounds(sites.0, sites.1.checked_mul(SITE)?)
        {
            return None;
        }
        let meta: Meta = decode(&map[meta_off..meta_off + meta_len]).ok()?;
        Some(Base {
            map,
            meta,
            globals,
            globals_records,
            strings,
            literals,
            sites,
        })
    }

    /// The reference sites recorded for a global (by the full link).
    pub fn sites(&self, g: &GlobalRecord) -> Vec<Site> {
        let (off, n) = (g.sites.0 as usize, g.sites.1 as usize);
        if off + n > self.sites.1 {
            return Vec::new();
        }
        (off..off + n)
            .filter_map(|i| {
                let at = self.sites.0 + i * SITE;
                let b = self.map.get(at..at + SITE)?;
                Some(Site {
                    object: u32_at(b, 0)?,
                    kind: b[4],
                    length: b[5],
                    addend: u64_at(b, 8)? as i64,
                    addr: u64_at(b, 16)?,
                })
            })
            .collect()
    }

    /// The record of object `i` as the full link placed it.
    pub fn object(&self, i: u32) -> Option<ObjectRecord> {
        let (off, len) = self.meta.objects.get(i as usize)?.record;
        let bytes = self.map.get(off as usize..(off + len) as usize)?;
        decode(bytes).ok()
    }

    /// Looks a global symbol up: an open-addressed index of u32 (record
    /// number + 1, 0 for empty) over dense records.
    pub fn global(&self, name: &[u8]) -> Option<GlobalRecord> {
        let h = name_hash(name);
        let (index, cap, records) = (self.globals.0, self.globals.1, self.globals_records);
        let mask = cap - 1;
        let mut i = h as usize & mask;
        for _ in 0..cap {
            let slot = u32_at(&self.map, index + i * 4)? as usize;
            if slot == 0 {
                return None;
            }
            let at = records + (slot - 1) * GLOBAL;
            if u64_at(&self.map, at)? == h {
                let (off, len) = (u32_at(&self.map, at + 8)?, u32_at(&self.map, at + 12)?);
                let start = self.strings + off as usize;
                if self.map.get(start..start + len as usize)? == name {
                    return decode_global(self.map.get(at..at + GLOBAL)?);
                }
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The address of a literal with this content hash, if the full link
    /// placed one (the caller compares the bytes).
    pub fn literal(&self, hash: u64) -> Vec<u64> {
        let n = self.literals.1;
        let key = |i: usize| u64_at(&self.map, self.literals.0 + i * 16).unwrap_or(u64::MAX);
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(mid) < hash {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        while lo < n && key(lo) == hash {
            out.extend(u64_at(&self.map, self.literals.0 + lo * 16 + 8));
            lo += 1;
        }
        out
    }
}

fn encode_global(out: &mut [u8], hash: u64, name: (u32, u32), g: &GlobalRecord) {
    out[0..8].copy_from_slice(&hash.to_le_bytes());
    out[8..12].copy_from_slice(&name.0.to_le_bytes());
    out[12..16].copy_from_slice(&name.1.to_le_bytes());
    out[16..24].copy_from_slice(&g.value.to_le_bytes());
    out[24..32].copy_from_slice(&g.slots.stub.to_le_bytes());
    out[32..40].copy_from_slice(&g.slots.got.to_le_bytes());
    out[40..48].copy_from_slice(&g.slots.thread_ptr.to_le_bytes());
    out[48..52].copy_from_slice(&g.definer.to_le_bytes());
    out[52] = kind_code(g.kind);
    out[53] = g.flags;
    out[54..56].copy_from_slice(&g.dylib.to_le_bytes());
    out[56..64].copy_from_slice(&g.body.to_le_bytes());
    out[64..68].copy_from_slice(&g.refs.to_le_bytes());
    out[68..72].copy_from_slice(&g.sites.0.to_le_bytes());
    out[72..76].copy_from_slice(&g.sites.1.to_le_bytes());
}

fn decode_global(b: &[u8]) -> Option<GlobalRecord> {
    Some(GlobalRecord {
        kind: kind_of_code(b[52])?,
        flags: b[53],
        dylib: u16::from_le_bytes([b[54], b[55]]),
        definer: u32_at(b, 48)?,
        value: u64_at(b, 16)?,
        body: u64_at(b, 56)?,
        slots: ImportSlots {
            stub: u64_at(b, 24)?,
            got: u64_at(b, 32)?,
            thread_ptr: u64_at(b, 40)?,
        },
        refs: u32_at(b, 64)?,
        sites: (u32_at(b, 68)?, u32_at(b, 72)?),
    })
}

/// Writes a state file: `meta` (its object record ranges are filled in
/// here), the object records, the globals and the literals.
pub fn write_base(
    path: &Path,
    mut meta: Meta,
    records: &[Vec<u8>],
    globals: &[(&[u8], GlobalRecord)],
    literals: &mut [(u64, u64)],
    sites: &[Site],
) -> std::io::Result<()> {
    // Object records first, after the header.
    let mut body: Vec<u8> = Vec::new();
    for (info, rec) in meta.objects.iter_mut().zip(records) {
        info.record = ((HEADER + body.len()) as u64, rec.len() as u64);
        body.extend_from_slice(rec);
    }
    let meta_bytes = encode(&meta).map_err(std::io::Error::other)?;
    let meta_off = HEADER + body.len();
    body.extend_from_slice(&meta_bytes);
    crate::linkedit::pad_to(&mut body, 8);
    let cap = (globals.len() * 3 / 2).next_power_of_two().max(16);
    let globals_off = HEADER + body.len();
    let mut index = vec![0u8; cap * 4];
    let mut records = vec![0u8; globals.len() * GLOBAL];
    let mut strings = Vec::new();
    for (n, (name, g)) in globals.iter().enumerate() {
        let h = name_hash(name);
        let mut i = h as usize & (cap - 1);
        while u32_at(&index, i * 4) != Some(0) {
            i = (i + 1) & (cap - 1);
        }
        index[i * 4..i * 4 + 4].copy_from_slice(&(n as u32 + 1).to_le_bytes());
        let name_ref = (strings.len() as u32, name.len() as u32);
        strings.extend_from_slice(name);
        encode_global(&mut records[n * GLOBAL..(n + 1) * GLOBAL], h, name_ref, g);
    }
    body.extend_from_slice(&index);
    let records_off = HEADER + body.len();
    body.extend_from_slice(&records);
    let strings_off = HEADER + body.len();
    body.extend_from_slice(&strings);
    crate::linkedit::pad_to(&mut body, 8);
    literals.sort_unstable();
    let literals_off = HEADER + body.len();
    for &(h, a) in literals.iter() {
        body.extend_from_slice(&h.to_le_bytes());
        body.extend_from_slice(&a.to_le_bytes());
    }
    let sites_off = HEADER + body.len();
    for s in sites {
        body.extend_from_slice(&s.object.to_le_bytes());
        body.extend_from_slice(&[s.kind, s.length, 0, 0]);
        body.extend_from_slice(&s.addend.to_le_bytes());
        body.extend_from_slice(&s.addr.to_le_bytes());
    }
    let mut out = Vec::with_capacity(HEADER);
    out.extend_from_slice(MAGIC);
    for v in [
        meta_off,
        meta_bytes.len(),
        globals_off,
        cap,
        strings_off,
        literals_off,
        literals.len(),
        sites_off,
        sites.len(),
        records_off,
    ] {
        out.extend_from_slice(&(v as u64).to_le_bytes());
    }
    out.resize(HEADER, 0);
    // Not synced, like the output it describes (neither linker syncs its
    // output); a state that does not parse means a full link.
    super::write_parts(path, &[&out, &body])
}

impl Delta {
    pub fn load(path: &Path) -> Option<Delta> {
        match std::fs::read(path) {
            Ok(bytes) => decode(&bytes).ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Delta::default()),
            Err(_) => None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self).expect("the delta serialises")
    }
}
