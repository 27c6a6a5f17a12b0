//! What a full incremental link records for later updates, and the
//! identities both sides agree on: an atom's key, an object's symbol-table
//! hash, a literal's content hash, the shape of an atom's dyld fixups.

use super::state::{
    self, Allocation, GlobalKind, GlobalRecord, GlobalRow, GlobalTable, LinkeditRecord, Meta,
    ObjectInfo, SectionRecord, SegmentRecord, Site, SiteKind,
};
use super::Fingerprint;
use crate::arch::RelocKind;
use crate::atom::{Target, NONE};
use crate::input::object::ObjectFile;
use crate::layout::{Content, Headroom, Layout};
use crate::linkedit::fixups::{Fixup, FixupKind};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::write::ImageFacts;
use object::macho;
use rayon::prelude::*;

/// The key that identifies each atom of `obj` across versions of the
/// object, within its output section: its symbol name, or for an unnamed
/// atom its input section's name and its ordinal among that section's
/// unnamed atoms.
///
/// An FDE of `__eh_frame` is named for the function it describes (see
/// [`fde_key`]): its ordinal would change whenever a function before it
/// is added or removed, and it is the function's FDE that an update must
/// find again. A CIE is named for its contents ([`cie_key`]).
///
/// Of several names at an atom's start, the most lasting one is its key: a
/// global before a local, and an assembler label (arm64 objects put
/// `ltmp0` where `__text` starts, before its first function) last, since
/// it moves to whatever comes first when the object changes.
pub fn atom_keys(obj: &ObjectFile) -> Vec<Vec<u8>> {
    let eh = EhFrameKeys::of(obj);
    let keys = AtomKeys::with_eh_frame(obj, &eh);
    (0..obj.atoms.len() as u32)
        .map(|ai| {
            let mut key = Vec::new();
            keys.write(ai, &mut key);
            key
        })
        .collect()
}

/// How each atom's key (see [`atom_keys`]) is made, worked out for every
/// atom at once (ordinals count them all) and spelled out only for the
/// atoms a caller records: a full link keys a small part of an object's
/// atoms (not its compact unwind entries, debug sections or literals).
/// Two numbers an atom (its best name's symbol, its ordinal), each kind
/// of key made of them when asked for.
pub struct AtomKeys<'o, 'a> {
    obj: &'o ObjectFile<'a>,
    eh: &'o EhFrameKeys,
    /// Per section: whether it is a kept `__eh_frame`.
    eh_frame: Vec<bool>,
    /// Per atom: the symbol whose name is its key ([`NONE`]: the first
    /// symbol of the atom, or none).
    named: Vec<u32>,
    /// Per unnamed atom: its ordinal among the unnamed atoms of its
    /// input section.
    ordinal: Vec<u32>,
}

enum KeyOf<'a> {
    Name(&'a [u8]),
    /// Ordinal among the unnamed atoms of its input section.
    Unnamed(u32),
    /// The FDE of the function at `at` in atom `function`.
    Fde {
        function: u32,
        at: u32,
    },
    /// A CIE's key (there are one or two per object).
    Cie(&'a [u8]),
}

/// The keys of an object's `__eh_frame` atoms, which only its
/// relocations tell: the function each FDE describes, and each CIE's key
/// (it names its personality routine). A full link works them out before
/// it lets the relocations go (see [`scan`]).
pub struct EhFrameKeys {
    fdes: rustc_hash::FxHashMap<u32, (u32, u32)>,
    /// (atom, key) of each CIE, by atom.
    cies: Vec<(u32, Vec<u8>)>,
}

impl EhFrameKeys {
    pub fn of(obj: &ObjectFile) -> Self {
        let fdes = fde_functions(obj);
        let mut seen: rustc_hash::FxHashMap<&[u8], u32> = Default::default();
        let mut cies = Vec::new();
        let eh_frame: Vec<bool> = obj.sections.iter().map(is_eh_frame).collect();
        for (ai, a) in obj.atoms.iter().enumerate() {
            let ai = ai as u32;
            if !eh_frame[a.section as usize] || fdes.contains_key(&ai) {
                continue;
            }
            let data = obj.atom_data(ai);
            if crate::input::eh_frame::is_cie(data) {
                // Identical CIEs are told apart by their order.
                let n = seen.entry(data).or_default();
                *n += 1;
                cies.push((ai, cie_key(data, cie_personality(obj, ai), *n - 1)));
            }
        }
        EhFrameKeys { fdes, cies }
    }

    /// The key of `__eh_frame` atom `ai`, if it is an FDE or a CIE.
    fn key_of(&self, ai: u32) -> Option<KeyOf<'_>> {
        if let Some(&(function, at)) = self.fdes.get(&ai) {
            return Some(KeyOf::Fde { function, at });
        }
        let i = self.cies.binary_search_by_key(&ai, |c| c.0).ok()?;
        Some(KeyOf::Cie(&self.cies[i].1))
    }
}

impl<'o, 'a> AtomKeys<'o, 'a> {
    /// The keys, with those of `__eh_frame` worked out already (`eh`,
    /// made of this object).
    pub fn with_eh_frame(obj: &'o ObjectFile<'a>, eh: &'o EhFrameKeys) -> Self {
        // The best name at each atom's start: its rank in the top two
        // bits (see `rank`), its symbol in the rest.
        let mut named = vec![NONE; obj.atoms.len()];
        for (si, s) in obj.symbols.iter().enumerate() {
            if !s.is_defined_in_section() || s.atom == NONE || s.is_stab() {
                continue;
            }
            let a = &obj.atoms[s.atom as usize];
            let sec = &obj.sections[a.section as usize];
            if s.n_value != sec.addr + u64::from(a.offset) {
                continue;
            }
            let rank = if s.is_external() {
                2
            } else if is_label(s.name) {
                0
            } else {
                1
            };
            let entry = (rank << 30) | si as u32;
            let best = &mut named[s.atom as usize];
            // NONE ranks below every name; a later name wins only when it
            // ranks higher.
            if *best == NONE || rank > *best >> 30 {
                *best = entry;
            }
        }
        let eh_frame: Vec<bool> = obj.sections.iter().map(is_eh_frame).collect();
        let mut unnamed = vec![0u32; obj.sections.len()];
        let ordinal = obj
            .atoms
            .iter()
            .enumerate()
            .map(|(ai, a)| {
                let eh_key = eh_frame[a.section as usize] && eh.key_of(ai as u32).is_some();
                if eh_key || a.symbol != NONE {
                    return 0;
                }
                let n = &mut unnamed[a.section as usize];
                *n += 1;
                *n - 1
            })
            .collect();
        AtomKeys {
            obj,
            eh,
            eh_frame,
            named,
            ordinal,
        }
    }

    fn kind(&self, ai: u32) -> KeyOf<'a>
    where
        'o: 'a,
    {
        let a = &self.obj.atoms[ai as usize];
        if self.eh_frame[a.section as usize] {
            if let Some(k) = self.eh.key_of(ai) {
                return k;
            }
        }
        if a.symbol != NONE {
            let best = self.named[ai as usize];
            let symbol = if best == NONE {
                a.symbol
            } else {
                best & !(3 << 30)
            };
            return KeyOf::Name(self.obj.symbols[symbol as usize].name);
        }
        KeyOf::Unnamed(self.ordinal[ai as usize])
    }

    /// The key of atom `ai` when it is a symbol's name.
    pub fn name(&self, ai: u32) -> Option<&'a [u8]>
    where
        'o: 'a,
    {
        match self.kind(ai) {
            KeyOf::Name(name) => Some(name),
            _ => None,
        }
    }

    /// Appends the key of atom `ai` to `out`.
    pub fn write(&self, ai: u32, out: &mut Vec<u8>)
    where
        'o: 'a,
    {
        self.write_kind(ai, self.kind(ai), out);
    }

    /// [`AtomKeys::write`] of atom `ai`, whose kind of key is `kind`.
    fn write_kind(&self, ai: u32, kind: KeyOf<'a>, out: &mut Vec<u8>)
    where
        'o: 'a,
    {
        use std::io::Write;
        match kind {
            KeyOf::Name(name) => out.extend_from_slice(name),
            KeyOf::Unnamed(n) => {
                let sec = &self.obj.section_of(ai).sectname;
                write!(out, "#{sec}#{n}").expect("writes to a Vec");
            }
            KeyOf::Fde { function, at } => {
                out.extend_from_slice(FDE_PREFIX);
                // A function is never an FDE itself.
                let of_function = self.kind(function);
                if !matches!(of_function, KeyOf::Fde { .. }) {
                    self.write_kind(function, of_function, out);
                }
                // A function inside another's atom (no subsections) is
                // told apart by its offset.
                if at != 0 {
                    write!(out, "+{at:#x}").expect("writes to a Vec");
                }
            }
            KeyOf::Cie(key) => out.extend_from_slice(key),
        }
    }

    /// Appends the key of atom `ai` to `out` as the state serialises a
    /// byte string (`scratch` holds a key that is not a name while it is
    /// made).
    fn serialise(&self, ai: u32, out: &mut Vec<u8>, scratch: &mut Vec<u8>)
    where
        'o: 'a,
    {
        match self.kind(ai) {
            // Most keys: a symbol's name, written straight from it.
            KeyOf::Name(name) => wire::bytes(out, name),
            kind => {
                scratch.clear();
                self.write_kind(ai, kind, scratch);
                wire::bytes(out, scratch);
            }
        }
    }
}

/// An assembler-local label (`ltmp0`, `l_name`, `Lname`), not a name
/// from the source.
fn is_label(name: &[u8]) -> bool {
    name.starts_with(b"ltmp") || name.starts_with(b"l_") || name.starts_with(b"L")
}

/// The key of a CIE: its contents and the personality it names (and how
/// many identical ones precede it). Its label, if it has one, is an
/// assembler's section-start label whose number changes with the object's
/// other sections; and a CIE an update may keep is one whose contents did
/// not change: the personality's pointer is a relocated field, whose bytes
/// in the object are the same whichever routine it names.
fn cie_key(data: &[u8], personality: Option<&[u8]>, ordinal: u32) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = Vec::with_capacity(64 + data.len() * 2);
    key.extend_from_slice(b"#__eh_frame#cie#");
    // Two digits a byte, without a formatted string for each.
    for &b in data {
        key.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    if let Some(p) = personality {
        key.extend_from_slice(b"#personality#");
        key.extend_from_slice(p);
    }
    key.extend_from_slice(format!("#{ordinal}").as_bytes());
    key
}

/// The symbol a CIE's personality pointer names (its one relocation to
/// a symbol).
fn cie_personality<'a>(obj: &ObjectFile<'a>, cie: u32) -> Option<&'a [u8]> {
    let a = &obj.atoms[cie as usize];
    obj.relocs[a.relocs_start as usize..a.relocs_end as usize]
        .iter()
        .find_map(|r| match r.target {
            crate::atom::Target::Symbol(s) => obj.symbols.get(s as usize).map(|s| s.name),
            crate::atom::Target::Atom(_) => None,
        })
}

const FDE_PREFIX: &[u8] = b"#__eh_frame#fde#";

/// The key of the FDE of the function whose key is `function`.
pub fn fde_key(function: &[u8]) -> Vec<u8> {
    let mut key = FDE_PREFIX.to_vec();
    key.extend_from_slice(function);
    key
}

/// The FDE atoms of the object's kept `__eh_frame` sections, with the
/// function each describes: its atom, and where in that atom it starts.
pub fn fde_functions(obj: &ObjectFile) -> rustc_hash::FxHashMap<u32, (u32, u32)> {
    let mut out = rustc_hash::FxHashMap::default();
    for sec in obj.sections.iter().filter(|s| is_eh_frame(s)) {
        for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
            if let Some(func) = obj.fde_function(a) {
                out.insert(a, func);
            }
        }
    }
    out
}

/// A kept `__TEXT,__eh_frame` input section.
pub fn is_eh_frame(sec: &crate::input::object::InputSection) -> bool {
    sec.kept && sec.segname == "__TEXT" && sec.sectname == crate::input::object::EH_FRAME
}

/// Whether atom `ai` is the storage the link allocated for a tentative
/// definition (it is not in the object's sections, so updates keep it).
pub fn is_common_storage(obj: &ObjectFile, ai: usize) -> bool {
    let a = &obj.atoms[ai];
    a.symbol != NONE && obj.symbols[a.symbol as usize].is_common()
}

/// Hash of an object's definitions (name, type, description; no values):
/// when it changes, the symbol table and exports would change too. Its
/// references are checked one by one instead (they may grow freely as
/// long as the image already defines or imports what they name).
///
/// The sum of one hash per definition: it does not depend on their order,
/// so nothing is sorted (a full link hashes every object's definitions).
///
/// Local temporary labels (`l`/`L` names) are left out: the output's
/// tables and debug map never list them, and no other object can refer
/// to them (a relocation to one is a reference to its atom). rustc names
/// its anonymous constants so (`l_anon.<hash>.<n>`), and a changed string
/// literal adds or drops one: with them in, such an edit rewrote the whole
/// symbol table (31 of ripgrep's 37 ms update), where the tables stay as
/// they are.
pub fn symbols_hash(obj: &ObjectFile) -> u64 {
    obj.symbols
        .iter()
        .filter(|s| {
            !s.is_stab()
                && (s.is_defined_in_section() || s.is_common() || s.kind() == macho::N_ABS)
                && (s.is_external() || !is_temporary_label(s.name))
        })
        .map(|s| {
            let seed = u64::from(s.n_type) << 16 | u64::from(s.n_desc);
            xxhash_rust::xxh3::xxh3_64_with_seed(s.name, seed)
        })
        .fold(0u64, u64::wrapping_add)
}

/// Hash of an object's external symbols in order: name, type, section
/// and description of each, and the value of the undefined ones (a
/// common's size). Equal hashes: the object's symbol table gives each of
/// these names the same id and the same kind of definition, so it
/// resolves as it did while nothing else changed (see
/// [`super::update::ResolvedObject`]). Defined symbols' values are left
/// out: an edit moves them.
pub fn symbol_table_hash(obj: &ObjectFile) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    obj.symbols
        .iter()
        .filter(|s| s.is_external())
        .fold(0x243f_6a88_85a3_08d3, |h, s| {
            let value = if s.n_type & macho::N_TYPE == macho::N_UNDF {
                s.n_value
            } else {
                0
            };
            let seed = u64::from(s.n_type) | u64::from(s.n_sect) << 8 | u64::from(s.n_desc) << 16;
            let x = xxhash_rust::xxh3::xxh3_64_with_seed(s.name, seed) ^ value.wrapping_mul(K);
            (h.rotate_left(23) ^ x).wrapping_mul(K)
        })
}

/// A name the assembler or compiler made for its own use (`L...` labels,
/// `l...` linker-private ones), never one of the output's symbols.
fn is_temporary_label(name: &[u8]) -> bool {
    name.first().is_none_or(|&c| c == b'l' || c == b'L')
}

/// Hash of what atom `ai` of file `fi` is written from: its bytes and
/// output section, its own address (canonical and body), and for each
/// relocation its place, kind, addend and target. A target that is an atom
/// of the same file (directly, or through a symbol it defines) is hashed
/// by its addresses, since those are what an update moves; any other
/// target by its symbol's name, which the update checks still resolves as
/// it did (the object defines the same symbols, no other object changed,
/// no import or GOT slot is new). Equal hashes at an unchanged place: the
/// relocation pass would write the same bytes and fixups again.
///
/// An update records it for the atoms of the objects it replays and
/// compares it the next time (its object is file 0 of its own symbol table
/// there); never 0 (0: unknown, as the full link leaves it).
pub fn replay_hash(
    fi: u32,
    obj: &ObjectFile,
    ai: u32,
    symtab: &SymbolTable,
    layout: &crate::layout::Layout,
    names: &mut Vec<u64>,
) -> u64 {
    use std::hash::Hash;
    if names.len() != obj.symbols.len() {
        *names = vec![0; obj.symbols.len()];
    }
    let atom = &obj.atoms[ai as usize];
    let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
    let addrs = |a: u32| {
        let addr = layout.atom_addr[fi as usize][a as usize];
        let body = match layout.atom_body.get(fi as usize) {
            Some(b) if b[a as usize] != 0 => b[a as usize],
            _ => addr,
        };
        (addr, body)
    };
    let mut h = Chain(0x243f_6a88_85a3_08d3);
    // A target: its kind, what names it, and the addresses of the atom
    // of the same file it is.
    let mut target = |h: &mut Chain, t: Target| match t {
        Target::Atom(a) => {
            let (addr, body) = addrs(a);
            h.words(&[1, addr, body]);
        }
        Target::Symbol(i) => {
            // By name: an index names another symbol once the object's
            // undefined symbols change.
            h.word(2);
            h.word(match names.get_mut(i as usize) {
                Some(n) if *n != 0 => *n,
                Some(n) => {
                    let mut c = Chain(0x1319_8a2e_0370_7344);
                    c.bytes(obj.symbols[i as usize].name);
                    *n = c.finish_nonzero();
                    *n
                }
                None => 0,
            });
            let own = symtab
                .global_of(fi, t)
                .map(|g| symtab.syms[g as usize].def)
                .and_then(|d| match d {
                    Def::Defined {
                        file, atom, offset, ..
                    } if file == fi => Some((atom, offset)),
                    _ => None,
                });
            if let Some((atom, offset)) = own {
                let (addr, body) = addrs(atom);
                h.words(&[u64::from(offset), addr, body]);
            }
        }
    };
    let (addr, body) = addrs(ai);
    h.words(&[
        addr,
        body,
        u64::from(layout.atom_section[fi as usize][ai as usize]),
        u64::from(atom.size),
        relocs.len() as u64,
    ]);
    for r in relocs {
        h.words(&[
            u64::from(r.offset) | u64::from(r.length) << 32,
            r.addend as u64,
        ]);
        r.kind.hash(&mut h);
        target(&mut h, r.target);
        match r.subtrahend {
            Some(sub) => target(&mut h, sub),
            None => h.word(0),
        }
    }
    h.bytes(obj.atom_data(ai));
    h.finish_nonzero()
}

/// The chain [`replay_hash`] folds words into: each step xors a word in
/// and applies a bijection, so inputs that differ in one word (an edited
/// constant) always hash apart; the end is mixed once more.
struct Chain(u64);

impl Chain {
    #[inline(always)]
    fn word(&mut self, w: u64) {
        let x = (self.0 ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }

    #[inline(always)]
    fn words(&mut self, ws: &[u64]) {
        for &w in ws {
            self.word(w);
        }
    }

    /// Bytes as words, then their length (which ends them).
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
        self.word(b.len() as u64);
    }

    /// The end, never 0 (which means "unknown", see
    /// [`AtomRecord::replay`]): only 0 and 1 share a value, where setting
    /// the low bit would merge every pair that differs only there.
    fn finish_nonzero(&self) -> u64 {
        self.finish_chain().max(1)
    }

    fn finish_chain(&self) -> u64 {
        // splitmix64's finaliser.
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
}

/// What a relocation kind's `Hash` writes goes into the chain.
impl std::hash::Hasher for Chain {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.word(u64::from(v));
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.word(u64::from(v));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.word(v);
    }
    #[inline]
    fn write_i64(&mut self, v: i64) {
        self.word(v as u64);
    }
    #[inline]
    fn write_isize(&mut self, v: isize) {
        self.word(v as u64);
    }
    fn finish(&self) -> u64 {
        self.finish_chain()
    }
}

/// Whether an output section holds literals that are merged by content.
pub fn is_literal(flags: u32) -> bool {
    matches!(
        crate::section_flags::kind(flags),
        macho::S_CSTRING_LITERALS
            | macho::S_4BYTE_LITERALS
            | macho::S_8BYTE_LITERALS
            | macho::S_16BYTE_LITERALS
    )
}

pub fn literal_hash(section: u16, bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, u64::from(section))
}

/// Hash of the fixups inside `[addr, addr + size)`: their offsets, kinds,
/// and for binds the import and addend (rebase targets may change; their
/// places and kinds may not, without re-threading chains).
pub fn fixup_shape<'a>(
    fixups: &[Fixup],
    import_name: &impl Fn(u32) -> &'a [u8],
    addr: u64,
    size: u64,
) -> u64 {
    let start = fixups.partition_point(|f| f.addr < addr);
    let end = start + fixups[start..].partition_point(|f| f.addr < addr + size);
    shape_of(&fixups[start..end], import_name, addr)
}

/// [`fixup_shape`] of the fixups of an atom at `addr`.
fn shape_of<'a>(fixups: &[Fixup], import_name: &impl Fn(u32) -> &'a [u8], addr: u64) -> u64 {
    if fixups.is_empty() {
        return 0;
    }
    // Hashed in one go: a streaming hasher costs more to set up than
    // most atoms' few fixups cost to hash.
    let mut h = Vec::with_capacity(fixups.len() * 24);
    for f in fixups {
        h.extend_from_slice(&(f.addr - addr).to_le_bytes());
        let (tag, import, addend) = match f.kind {
            FixupKind::Rebase { .. } => {
                h.push(0);
                continue;
            }
            FixupKind::Bind { import, addend } => (1, import, addend),
            FixupKind::WeakBind { import, addend } => (2, import, addend),
        };
        h.push(tag);
        h.extend_from_slice(import_name(import));
        h.push(0);
        h.extend_from_slice(&addend.to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&h) | 1
}

/// Finds things in a list sorted by address without a search of all of
/// it: for each page of the image, where its entries start in the list.
/// (Atoms are looked up one by one, a hundred thousand of them.)
struct PageIndex {
    base: u64,
    /// Index of the first entry at or after each page's start.
    first: Vec<u32>,
}

impl PageIndex {
    const PAGE: u64 = 4096;

    /// `addrs`: the entries' addresses, in ascending order.
    fn new(addrs: &[u64], base: u64) -> Self {
        let end = addrs.last().map_or(base, |&a| a.max(base));
        let pages = ((end - base) / Self::PAGE + 2) as usize;
        let mut first = Vec::with_capacity(pages);
        let mut i = 0;
        for p in 0..pages as u64 {
            let start = base + p * Self::PAGE;
            while i < addrs.len() && addrs[i] < start {
                i += 1;
            }
            first.push(i as u32);
        }
        PageIndex { base, first }
    }

    /// The first of `addrs` (the list it was made from) at or after `a`.
    fn first_at(&self, addrs: &[u64], a: u64) -> usize {
        if a < self.base {
            return addrs.partition_point(|&x| x < a);
        }
        let page = ((a - self.base) / Self::PAGE) as usize;
        let at = |p: usize| self.first.get(p).map_or(addrs.len(), |&i| i as usize);
        // Sorted within the page: a search of the page's entries only.
        let (lo, hi) = (at(page), at(page + 1));
        lo + addrs[lo..hi].partition_point(|&x| x < a)
    }
}

/// A position in a list of addresses that [`PageIndex`] indexes, for
/// lookups in ascending order (an object's atoms, section by section):
/// each starts where the last one ended and steps over the few entries
/// between, where a fresh lookup costs a page search. A lookup behind the
/// position, or far ahead of it, is a fresh one.
#[derive(Default)]
struct Cursor {
    next: usize,
}

impl Cursor {
    /// Entries stepped over before a lookup is made fresh instead.
    const STEPS: usize = 8;

    /// The first of `addrs` at or after `a` (`index` made from `addrs`).
    fn first_at(&mut self, addrs: &[u64], index: &PageIndex, a: u64) -> usize {
        let mut i = self.next;
        // Every entry before `i` is below `a`: the answer is `i` or after.
        // (At 0, the first lookup: a fresh one.)
        if i != 0 && i <= addrs.len() && addrs[i - 1] < a {
            let stop = (i + Self::STEPS).min(addrs.len());
            while i < stop && addrs[i] < a {
                i += 1;
            }
            if i == addrs.len() || addrs[i] >= a {
                self.next = i;
                return i;
            }
        }
        let i = index.first_at(addrs, a);
        self.next = i;
        i
    }
}

/// The fixups of each atom.
struct FixupPages<'f> {
    fixups: &'f [Fixup],
    addrs: Vec<u64>,
    index: PageIndex,
}

impl<'f> FixupPages<'f> {
    fn new(fixups: &'f [Fixup], base: u64) -> Self {
        let addrs: Vec<u64> = fixups.iter().map(|f| f.addr).collect();
        let index = PageIndex::new(&addrs, base);
        FixupPages {
            fixups,
            addrs,
            index,
        }
    }

    /// The fixups inside `[addr, addr + size)`, for atoms looked up in
    /// ascending order of address (`cursor` where the last one ended).
    fn within(&self, cursor: &mut Cursor, addr: u64, size: u64) -> &'f [Fixup] {
        let start = cursor.first_at(&self.addrs, &self.index, addr);
        // An atom's fixups are few, and all of them are hashed anyway.
        let mut end = start;
        while end < self.addrs.len() && self.addrs[end] < addr + size {
            end += 1;
        }
        cursor.next = end;
        &self.fixups[start..end]
    }
}

/// Room of every placed atom: up to the next atom of its section, or to
/// the section's used end (a code slot with headroom, a data atom's size).
fn slots_and_used_ends(
    objects: &[ObjectFile],
    layout: &Layout,
    headroom: Headroom,
) -> (Vec<Vec<u32>>, Vec<u64>) {
    let mut slots: Vec<Vec<u32>> = objects.iter().map(|o| vec![0; o.atoms.len()]).collect();
    let mut used = Vec::with_capacity(layout.sections.len());
    for s in &layout.sections {
        let Content::Atoms(list) = &s.content else {
            used.push(s.addr + s.size);
            continue;
        };
        let headroom = headroom.for_code(objects, list);
        let mut end = s.addr;
        let mut placed: Vec<(u64, u32, u32)> = list
            .iter()
            .map(|&(f, a)| (layout.atom_addr[f as usize][a as usize], f, a))
            .collect();
        // Layout places a section's atoms in the order it lists them:
        // sorted already, but for what a caller placed otherwise.
        if !placed.is_sorted() {
            placed.sort_unstable();
        }
        for (i, &(addr, f, a)) in placed.iter().enumerate() {
            let size = u64::from(objects[f as usize].atoms[a as usize].size);
            let own = if s.is_code() {
                headroom.slot(size)
            } else {
                size
            };
            end = end.max(addr + own);
            let room = placed.get(i + 1).map_or(own, |n| n.0 - addr);
            slots[f as usize][a as usize] = room as u32;
        }
        used.push(end);
    }
    (slots, used)
}

fn global_record(
    symtab: &SymbolTable,
    id: usize,
    layout: &Layout,
    slots: &rustc_hash::FxHashMap<SymId, crate::synthetic::ImportSlots>,
    has_slots: &[bool],
) -> Option<GlobalRecord> {
    let sym = &symtab.syms[id];
    let mut flags = if sym.weak_ref { state::WEAK_REF } else { 0 };
    let (kind, definer, value, dylib) = match sym.def {
        Def::Defined {
            file,
            atom,
            offset,
            weak,
            private_extern,
            ..
        } => {
            let base = layout.atom_addr[file as usize][atom as usize];
            if base == 0 {
                return None;
            }
            flags |= if weak { state::WEAK_DEF } else { 0 };
            flags |= if private_extern {
                state::PRIVATE_EXTERN
            } else {
                0
            };
            (GlobalKind::Defined, file, base + u64::from(offset), 0)
        }
        Def::Absolute { value } => (GlobalKind::Absolute, NONE, value, 0),
        Def::Header => (GlobalKind::Header, NONE, layout.image_base, 0),
        Def::Dylib {
            dylib,
            weak,
            thread_local,
        } => {
            flags |= if weak { state::WEAK_DEF } else { 0 };
            flags |= if thread_local { state::THREAD_LOCAL } else { 0 };
            (GlobalKind::Dylib, NONE, 0, dylib as u16)
        }
        Def::DynamicLookup => (GlobalKind::DynamicLookup, NONE, 0, 0),
        // Boundaries exist only in full links (`-incremental` refuses them);
        // DTrace symbols have no address (an update defines them again).
        Def::Undefined | Def::Common { .. } | Def::Placed { .. } | Def::Boundary | Def::Dtrace => {
            return None
        }
    };
    Some(GlobalRecord {
        kind,
        flags,
        dylib,
        definer,
        value,
        body: value,
        // A lookup only for the few with any (a byte each says which).
        slots: if has_slots[id] {
            slots.get(&(id as SymId)).copied().unwrap_or_default()
        } else {
            Default::default()
        },
        refs: 0,
        sites: (0, 0),
    })
}

/// Whether a global is defined in a data (not code) section of the image.
pub fn is_data(symtab: &SymbolTable, layout: &Layout, g: SymId) -> bool {
    match symtab.syms[g as usize].def {
        Def::Defined { file, atom, .. } => {
            let si = layout.atom_section[file as usize][atom as usize];
            layout
                .sections
                .get(si as usize)
                .is_some_and(|s| !s.is_code())
        }
        _ => false,
    }
}

/// Where object `fi` (file index `fi` in `layout` and `symtab`) refers to
/// data globals of other objects: the sites to re-patch when such a global
/// moves. `site_object` is the object index recorded in each site, and
/// `is_data_elsewhere` says whether a global is data another object
/// defines. A field that cannot be re-patched (a difference of addresses)
/// is recorded as [`SiteKind::Unpatchable`].
pub fn data_sites(
    obj: &ObjectFile,
    fi: u32,
    site_object: u32,
    symtab: &SymbolTable,
    layout: &Layout,
    is_data_elsewhere: &dyn Fn(SymId) -> bool,
) -> Vec<(SymId, Site)> {
    let mut out = Vec::new();
    for (ai, atom) in obj.atoms.iter().enumerate() {
        if layout.atom_addr[fi as usize][ai] == 0 || atom.alias_of.is_some() {
            continue;
        }
        let addr = layout.body_addr(fi, ai as u32);
        for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
            for (t, pair) in [
                (Some(r.target), r.subtrahend.is_some()),
                (r.subtrahend, true),
            ] {
                let Some(g) = t.and_then(|t| symtab.global_of(fi, t)) else {
                    continue;
                };
                // A GOT reference goes through a slot that does not move.
                if !is_data_elsewhere(g) || r.kind == RelocKind::PointerToGot {
                    continue;
                }
                out.push((g, site(r, pair, addr, site_object)));
            }
        }
    }
    out
}

/// The site of a relocation's field in an atom at `atom_addr`, referring
/// to a data global (`pair`: as one side of a difference).
fn site(r: &crate::atom::Reloc, pair: bool, atom_addr: u64, site_object: u32) -> Site {
    Site {
        object: site_object,
        kind: if pair {
            SiteKind::Unpatchable
        } else {
            SiteKind::Field(r.kind)
        },
        length: r.length,
        addend: r.addend,
        addr: atom_addr + u64::from(r.offset),
    }
}

/// What a relocation to a global may need recording for, per global
/// ([`global_kinds`]): looked up in a byte per global, not in the symbol
/// table, for each of half a million relocations.
const DEFINED: u8 = 1;
/// Defined in a data section ([`is_data`]).
const IN_DATA: u8 = 2;
/// Defined inside its atom (at a nonzero offset).
const INSIDE: u8 = 4;

fn global_kinds(symtab: &SymbolTable, layout: &Layout) -> Vec<u8> {
    (0..symtab.syms.len() as SymId)
        .into_par_iter()
        .map(|g| match symtab.syms[g as usize].def {
            Def::Defined { offset, .. } => {
                let mut k = DEFINED;
                if is_data(symtab, layout, g) {
                    k |= IN_DATA;
                }
                if offset != 0 {
                    k |= INSIDE;
                }
                k
            }
            _ => 0,
        })
        .collect()
}

/// Of one object's relocations: the atoms (file, atom) they point inside
/// of, and its sites with the globals they refer to.
type Scanned = (Vec<(u32, u32)>, Vec<(SymId, Site)>);

/// What a full link records of one object's relocations, in one pass over
/// them: the code atoms they point inside of, which must not move (their
/// body is reachable only through the canonical slot), and
/// its sites ([`data_sites`]); `kinds` from [`global_kinds`].
fn scan_relocations(
    obj: &ObjectFile,
    fi: u32,
    symtab: &SymbolTable,
    layout: &Layout,
    kinds: &[u8],
) -> Scanned {
    let (mut interior, mut sites) = (Vec::new(), Vec::new());
    // An FDE's pointer into its function is rewritten with the rest of
    // its object when the function moves. (Per section, not per atom: a
    // test of two names.)
    let section_marks: Vec<bool> = obj
        .sections
        .iter()
        .map(|sec| !(sec.metadata || is_eh_frame(sec)))
        .collect();
    // The kind of the global each of the object's symbols resolves to (0:
    // none), by symbol index: one load per relocation where the symbol
    // table took three (its file's list, the global, its kind), each
    // checked against its bounds.
    let file_globals = &symtab.file_globals[fi as usize];
    let local: Vec<u8> = file_globals
        .iter()
        .map(|&g| if g == NONE { 0 } else { kinds[g as usize] })
        .collect();
    let atom_addr = &layout.atom_addr[fi as usize];
    for (ai, atom) in obj.atoms.iter().enumerate() {
        let marks = section_marks[atom.section as usize];
        let placed = atom_addr[ai] != 0 && atom.alias_of.is_none();
        if !marks && !placed {
            continue;
        }
        // What a global's kind must have for a reference to it at offset
        // 0 to need anything (most: calls to functions' starts need none).
        let wanted = if marks { INSIDE } else { 0 } | if placed { IN_DATA } else { 0 };
        let addr = if placed {
            layout.body_addr(fi, ai as u32)
        } else {
            0
        };
        let me = (fi, ai as u32);
        for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
            let pair = r.subtrahend.is_some();
            for (t, inside, site_pair) in [
                (Some(r.target), pair || r.addend != 0, pair),
                (r.subtrahend, true, true),
            ] {
                let (g, k) = match t {
                    Some(Target::Atom(a)) => {
                        if marks && inside && a != me.1 {
                            interior.push((fi, a));
                        }
                        continue;
                    }
                    Some(Target::Symbol(i)) => {
                        let k = local.get(i as usize).copied().unwrap_or(0);
                        if k & (wanted | if inside { DEFINED } else { 0 }) == 0 {
                            continue;
                        }
                        (file_globals[i as usize], k)
                    }
                    None => continue,
                };
                let mark = marks && k & DEFINED != 0 && (inside || k & INSIDE != 0);
                // A GOT reference goes through a slot that does not move.
                let data_site = placed && k & IN_DATA != 0 && r.kind != RelocKind::PointerToGot;
                if !mark && !data_site {
                    continue;
                }
                let Def::Defined { file, atom, .. } = symtab.syms[g as usize].def else {
                    continue;
                };
                if mark && (file, atom) != me {
                    interior.push((file, atom));
                }
                if data_site && file != fi {
                    sites.push((g, site(r, site_pair, addr, fi)));
                }
            }
        }
    }
    (interior, sites)
}

/// What the full link knows of every object that its record is made of.
struct RecordContext<'r, 'a> {
    objects: &'r [ObjectFile<'a>],
    symtab: &'r SymbolTable<'a>,
    image: &'r Image<'r>,
    interior: Vec<Vec<bool>>,
    eh_frame: Vec<EhFrameKeys>,
    slots: Vec<Vec<u32>>,
    /// `image.unwind_rows` by function address.
    unwind: UnwindLookup<'r>,
    fixups: FixupPages<'r>,
}

/// Per object (its record in the state's serialisation aside): its
/// literals (hash, address), the globals it refers to and its sites.
struct Recorded {
    literals: Vec<(u64, u64)>,
    refs: Vec<SymId>,
    sites: Vec<(SymId, Site)>,
}

/// The compact unwind encoding of a function, by its address.
struct UnwindLookup<'r> {
    rows: std::borrow::Cow<'r, [crate::unwind_info::UnwindEntry]>,
    addrs: Vec<u64>,
    index: PageIndex,
}

impl<'r> UnwindLookup<'r> {
    /// `rows` as `__unwind_info` has them: sorted by address (sorted here
    /// if they are not).
    fn new(rows: &'r [crate::unwind_info::UnwindEntry], base: u64) -> Self {
        let rows = if rows.is_sorted_by_key(|r| r.function_addr) {
            std::borrow::Cow::Borrowed(rows)
        } else {
            let mut sorted = rows.to_vec();
            sorted.sort_by_key(|r| r.function_addr);
            std::borrow::Cow::Owned(sorted)
        };
        let addrs: Vec<u64> = rows.iter().map(|r| r.function_addr).collect();
        let index = PageIndex::new(&addrs, base);
        UnwindLookup { rows, addrs, index }
    }

    /// The encoding of the last row for the function at `addr` (0: none),
    /// for functions looked up in ascending order of address (`cursor`
    /// where the last one was).
    fn encoding(&self, cursor: &mut Cursor, addr: u64) -> u32 {
        match cursor.first_at(&self.addrs, &self.index, addr + 1) {
            0 => 0,
            i if self.addrs[i - 1] == addr => self.rows[i - 1].encoding,
            _ => 0,
        }
    }
}

/// Writes object `fi`'s [`ObjectRecord`](state::ObjectRecord) straight from the link's data, in
/// the state's serialisation (what [`state::encode`] would make of it),
/// into `out` (cleared first), without building the record: no key, name
/// or record is allocated.
fn record_object(
    cx: &RecordContext,
    fi: usize,
    sites: Vec<(SymId, Site)>,
    out: &mut Vec<u8>,
) -> Recorded {
    let obj = &cx.objects[fi];
    let symtab = cx.symtab;
    let layout = cx.image.layout;
    let imports = cx.image.imports;
    let keys = AtomKeys::with_eh_frame(obj, &cx.eh_frame[fi]);
    // Room for all from the start: grown a push at a time, they were
    // copied over and over.
    let mut literals = Vec::new();
    let mut chosen: Vec<u32> = Vec::with_capacity(obj.atoms.len());
    for (ai, atom) in obj.atoms.iter().enumerate() {
        if layout.atom_addr[fi][ai] == 0 || atom.alias_of.is_some() {
            continue;
        }
        let si = layout.atom_section[fi][ai];
        if is_literal(layout.sections[si as usize].flags) {
            // Found by content (the literal table), not by key.
            let addr = layout.atom_addr[fi][ai];
            literals.push((literal_hash(si as u16, obj.atom_data(ai as u32)), addr));
            continue;
        }
        chosen.push(ai as u32);
    }
    // About what records take (keys, fields, names), to grow it seldom
    // (it is reused, object after object).
    out.clear();
    out.reserve(64 + chosen.len() * 64 + obj.symbols.len() * 16);
    wire::varint(out, symbols_hash(obj));
    wire::varint(out, chosen.len() as u64);
    let mut key = Vec::new();
    let (mut fixup_at, mut unwind_at) = (Cursor::default(), Cursor::default());
    for &ai in &chosen {
        let ai = ai as usize;
        let atom = &obj.atoms[ai];
        let addr = layout.atom_addr[fi][ai];
        let si = layout.atom_section[fi][ai];
        let sec = &layout.sections[si as usize];
        let mut flags = 0;
        if sec.is_code() {
            flags |= state::CODE;
        }
        if cx.interior[fi][ai] {
            flags |= state::INTERIOR;
        }
        if is_common_storage(obj, ai) {
            flags |= state::COMMON;
        }
        keys.serialise(ai as u32, out, &mut key);
        wire::atom_fields(
            out,
            &AtomFields {
                section: si as u16,
                align_log2: atom.align_log2,
                flags,
                addr,
                slot: cx.slots[fi][ai],
                body: 0,
                body_cap: 0,
                size: atom.size,
                fixups: shape_of(
                    cx.fixups.within(&mut fixup_at, addr, u64::from(atom.size)),
                    &|i| imports[i as usize].name.as_slice(),
                    addr,
                ),
                unwind: cx.unwind.encoding(&mut unwind_at, addr),
                // Unknown: hashed by the first update that replays the
                // object (hashing every atom here would cost the full
                // link a tenth more for an update's first edit of each
                // object).
                replay: 0,
            },
        );
    }
    let fi = fi as u32;
    let name = |g: SymId| symtab.syms[g as usize].name;
    // The globals whose winning definition it holds, and those defined
    // elsewhere that it refers to (by an undefined or tentative symbol),
    // each sorted by name and unique. An object's symbol table has them
    // sorted already, in a run or two (tentative definitions come with the
    // undefined symbols): a stable sort merges the runs.
    let mut globals: Vec<&[u8]> = Vec::with_capacity(obj.symbols.len());
    let mut refs: Vec<(&[u8], SymId)> = Vec::with_capacity(obj.symbols.len());
    for (s, &g) in obj.symbols.iter().zip(&symtab.file_globals[fi as usize]) {
        if g == NONE {
            continue;
        }
        let Def::Defined { file, .. } = symtab.syms[g as usize].def else {
            continue;
        };
        if file == fi {
            globals.push(name(g));
        } else if s.is_external() && !s.is_defined_in_section() {
            refs.push((name(g), g));
        }
    }
    globals.sort();
    globals.dedup();
    refs.sort_by(|a, b| a.0.cmp(b.0));
    refs.dedup_by(|a, b| a.0 == b.0);
    wire::names(out, &globals);
    wire::varint(out, refs.len() as u64);
    for (n, _) in &refs {
        wire::bytes(out, n);
    }
    wire::varint(out, sites.len() as u64);
    let mut kinds = wire::SiteKinds::default();
    for (g, site) in &sites {
        wire::bytes(out, name(*g));
        kinds.site(out, site);
    }
    wire::bytes(out, obj.oso_path.as_bytes());
    Recorded {
        literals,
        refs: refs.into_iter().map(|(_, g)| g).collect(),
        sites,
    }
}

/// The fields of an [`AtomRecord`](state::AtomRecord) after its key.
struct AtomFields {
    section: u16,
    align_log2: u8,
    flags: u8,
    addr: u64,
    slot: u32,
    body: u64,
    body_cap: u32,
    size: u32,
    fixups: u64,
    unwind: u32,
    replay: u64,
}

/// The state's serialisation ([`state::encode`]: bincode with
/// variable-length integers) of the parts of an [`ObjectRecord`](state::ObjectRecord), for
/// writing one without building it. The test below holds it to
/// `state::encode` of the same record.
mod wire {
    use super::AtomFields;
    use crate::incremental::state::{self, Site};

    /// An unsigned integer of any width: one byte up to 250, else a marker
    /// byte (251, 252, 253) and the value as u16, u32 or u64. Returns the
    /// encoding's bytes and how many of them are used.
    #[inline]
    fn encode_varint(v: u64) -> ([u8; 9], usize) {
        let mut b = [0u8; 9];
        let len = if v <= 250 {
            b[0] = v as u8;
            1
        } else if v <= u64::from(u16::MAX) {
            b[0] = 251;
            b[1..3].copy_from_slice(&(v as u16).to_le_bytes());
            3
        } else if v <= u64::from(u32::MAX) {
            b[0] = 252;
            b[1..5].copy_from_slice(&(v as u32).to_le_bytes());
            5
        } else {
            b[0] = 253;
            b[1..9].copy_from_slice(&v.to_le_bytes());
            9
        };
        (b, len)
    }

    /// [`encode_varint`] appended to `out`.
    pub fn varint(out: &mut Vec<u8>, v: u64) {
        if v <= 250 {
            // Most (lengths, counts): one byte, no copy of a slice.
            out.push(v as u8);
            return;
        }
        let (b, len) = encode_varint(v);
        out.extend_from_slice(&b[..len]);
    }

    /// A byte string (`Vec<u8>`, `String`): its length, then its bytes.
    #[inline]
    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }

    /// A `Vec<Vec<u8>>`.
    pub fn names(out: &mut Vec<u8>, names: &[&[u8]]) {
        varint(out, names.len() as u64);
        for n in names {
            bytes(out, n);
        }
    }

    /// Room for a few fields at the end of the output, filled without a
    /// capacity check per byte ([`Fields::ROOM`] bytes, zeroed, cut to
    /// what was used once filled).
    struct Fields<'b> {
        bytes: &'b mut [u8],
        len: usize,
    }

    impl Fields<'_> {
        /// Enough for any caller's fields and the nine bytes a varint
        /// copies (at most 65 are used).
        const ROOM: usize = 96;

        #[inline(always)]
        fn byte(&mut self, b: u8) {
            self.bytes[self.len] = b;
            self.len += 1;
        }

        fn raw(&mut self, b: &[u8]) {
            self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
        }

        /// All nine bytes of the encoding are copied (a fixed-size copy,
        /// two moves, where a copy of `len` bytes is a `memcpy` call: nine
        /// calls an atom), and the unused ones overwritten by what
        /// follows. Every caller leaves nine bytes of room past its last
        /// field.
        #[inline(always)]
        fn varint(&mut self, v: u64) {
            if v <= 250 {
                // Most fields (section, size, slot, the zeros): one byte.
                self.byte(v as u8);
                return;
            }
            let (b, len) = encode_varint(v);
            self.bytes[self.len..self.len + 9].copy_from_slice(&b);
            self.len += len;
        }
    }

    /// Fills [`Fields`] at the end of `out` with `fill`.
    #[inline(always)]
    fn fields(out: &mut Vec<u8>, fill: impl FnOnce(&mut Fields)) {
        let start = out.len();
        out.resize(start + Fields::ROOM, 0);
        let mut f = Fields {
            bytes: &mut out[start..],
            len: 0,
        };
        fill(&mut f);
        let used = f.len;
        out.truncate(start + used);
    }

    pub fn atom_fields(out: &mut Vec<u8>, a: &AtomFields) {
        // Written in place at `out`'s end: a fixed-size fill where a
        // buffer of its own cost a copy of a varying length (a `memcpy`
        // call) for each atom.
        fields(out, |f| {
            f.varint(u64::from(a.section));
            f.byte(a.align_log2);
            f.byte(a.flags);
            f.varint(a.addr);
            f.varint(u64::from(a.slot));
            f.varint(a.body);
            f.varint(u64::from(a.body_cap));
            f.varint(u64::from(a.size));
            f.varint(a.fixups);
            f.varint(u64::from(a.unwind));
            f.varint(a.replay);
        });
    }

    /// A [`Site`]'s serialisation. Its kind is a nested enum, serialised
    /// by serde once per kind.
    #[derive(Default)]
    pub struct SiteKinds(Vec<(u8, Vec<u8>)>);

    impl SiteKinds {
        pub fn site(&mut self, out: &mut Vec<u8>, site: &Site) {
            let code = site.kind.code();
            let kind = match self.0.iter().position(|(c, _)| *c == code) {
                Some(i) => &self.0[i].1,
                None => {
                    let bytes = state::encode(&site.kind).expect("a site kind serialises");
                    self.0.push((code, bytes));
                    &self.0.last().expect("just pushed").1
                }
            };
            fields(out, |f| {
                f.varint(u64::from(site.object));
                f.raw(kind);
                f.byte(site.length);
                f.varint(zigzag(site.addend));
                f.varint(site.addr);
            });
        }
    }

    /// A signed integer as bincode writes it: zigzag, then a varint.
    fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }
}

/// Every object's sites grouped by the global they refer to (a counting
/// sort), each group by address; and each global's group (first, count),
/// (0, 0) for none.
fn sites_by_global(records: &[Recorded], globals: usize) -> (Vec<Site>, Vec<(u32, u32)>) {
    let mut range = vec![(0u32, 0u32); globals];
    for &(g, _) in records.iter().flat_map(|r| &r.sites) {
        range[g as usize].1 += 1;
    }
    let mut total = 0;
    for r in range.iter_mut().filter(|r| r.1 != 0) {
        r.0 = total;
        total += r.1;
    }
    let Some(&(_, any)) = records.iter().flat_map(|r| &r.sites).next() else {
        return (Vec::new(), range);
    };
    let mut next: Vec<u32> = range.iter().map(|r| r.0).collect();
    let mut sites = vec![any; total as usize];
    for &(g, site) in records.iter().flat_map(|r| &r.sites) {
        sites[next[g as usize] as usize] = site;
        next[g as usize] += 1;
    }
    for &(first, n) in range.iter().filter(|r| r.1 > 1) {
        sites[first as usize..(first + n) as usize].sort_unstable_by_key(|s| s.addr);
    }
    (sites, range)
}

/// What a full link records of its objects: everything of the state but
/// the header chunk, the records written already. It needs only the
/// laid-out image and its fixups, so the link makes it, and writes it
/// ([`Prepared::begin`]), while it writes LINKEDIT (mostly sequential
/// work, which leaves cores to this).
pub(crate) struct Prepared<'s> {
    /// The state file, each object's record written.
    records: state::RecordStream,
    /// The global symbol table.
    globals: state::GlobalTable<'s>,
    /// The literals: (content hash, address).
    literals: Vec<(u64, u64)>,
    /// The reference sites, grouped by global.
    sites: Vec<Site>,
    /// Per output section: the end of its used part.
    used: Vec<u64>,
}

/// A state file whose body is written: all of it but the header chunk.
pub(crate) struct Begun {
    writer: state::BaseWriter,
    used: Vec<u64>,
}

impl Prepared<'_> {
    /// Writes the rest of the state file's body (after the records).
    pub(crate) fn begin(mut self) -> std::io::Result<Begun> {
        let writer = state::BaseWriter::after_records(
            self.records,
            &self.globals,
            &mut self.literals,
            &self.sites,
        )?;
        Ok(Begun {
            writer,
            used: self.used,
        })
    }
}

/// The image a [`Prepared`] describes: its layout, dyld fixups (sorted by
/// address) and the imports they bind, and `__unwind_info`'s rows.
pub(crate) struct Image<'i> {
    pub layout: &'i Layout,
    pub fixups: &'i [Fixup],
    pub imports: &'i [crate::linkedit::fixups::Import],
    pub unwind_rows: &'i [crate::unwind_info::UnwindEntry],
    pub arch: &'static dyn crate::arch::Arch,
    /// The stubs, GOT and thread-pointer slots of the symbols with any.
    pub slots: &'i rustc_hash::FxHashMap<SymId, crate::synthetic::ImportSlots>,
}

/// What the record takes of the objects' relocations, which a full link
/// lets go of once it has written its atoms (as a plain link does, and
/// what it frees is the memory LINKEDIT is then written in): the atoms
/// pointed inside of, the reference sites, the `__eh_frame` keys, and
/// `kinds` ([`global_kinds`]).
pub(crate) struct Scan {
    kinds: Vec<u8>,
    interior: Vec<Vec<bool>>,
    sites: Vec<Vec<(SymId, Site)>>,
    eh_frame: Vec<EhFrameKeys>,
}

/// Scans every object's relocations (in parallel) for the record.
pub(crate) fn scan(objects: &[ObjectFile], symtab: &SymbolTable, layout: &Layout) -> Scan {
    let kinds = global_kinds(symtab, layout);
    let scanned: Vec<(Scanned, EhFrameKeys)> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let scanned = scan_relocations(obj, fi as u32, symtab, layout, &kinds);
            (scanned, EhFrameKeys::of(obj))
        })
        .collect();
    let mut interior: Vec<Vec<bool>> = objects.iter().map(|o| vec![false; o.atoms.len()]).collect();
    let mut sites = Vec::with_capacity(objects.len());
    let mut eh_frame = Vec::with_capacity(objects.len());
    for ((pairs, object_sites), eh) in scanned {
        for (f, a) in pairs {
            interior[f as usize][a as usize] = true;
        }
        sites.push(object_sites);
        eh_frame.push(eh);
    }
    Scan {
        kinds,
        interior,
        sites,
        eh_frame,
    }
}

/// Records every object (in parallel, each record written into the state
/// file beside `output` as it is made) and the global symbols, ready to
/// be written into the state file; `scan` made of the same link.
pub(crate) fn prepare<'s>(
    output: &std::path::Path,
    objects: &[ObjectFile],
    symtab: &'s SymbolTable,
    image: &Image,
    scan: Scan,
) -> std::io::Result<Prepared<'s>> {
    let layout = image.layout;
    let headroom = Headroom::for_arch(image.arch);
    let (slots, used) = slots_and_used_ends(objects, layout, headroom);
    let Scan {
        kinds,
        interior,
        sites: object_sites,
        eh_frame,
    } = scan;
    let cx = RecordContext {
        objects,
        symtab,
        image,
        interior,
        eh_frame,
        slots,
        unwind: UnwindLookup::new(image.unwind_rows, layout.image_base),
        fixups: FixupPages::new(image.fixups, layout.image_base),
    };
    let stream = state::RecordStream::create(&super::state_path(output), objects.len())?;
    let stream = std::sync::Mutex::new(stream);
    // Each thread makes its records in one buffer; the stream takes a
    // record at a time (a copy into its buffer, a write now and then).
    let records: Vec<Recorded> = object_sites
        .into_par_iter()
        .enumerate()
        .map_init(Vec::new, |out, (fi, sites)| {
            let recorded = record_object(&cx, fi, sites, out);
            let mut stream = stream.lock().unwrap_or_else(|e| e.into_inner());
            stream.put(fi, out).map(|()| recorded)
        })
        .collect::<std::io::Result<_>>()?;
    let records_stream = stream.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut refs = vec![0u32; symtab.syms.len()];
    for &g in records.iter().flat_map(|r| &r.refs) {
        refs[g as usize] += 1;
    }
    let (sites, site_range) = sites_by_global(&records, symtab.syms.len());
    let mut has_slots = vec![false; symtab.syms.len()];
    for &id in image.slots.keys() {
        has_slots[id as usize] = true;
    }
    let record = |id: usize| {
        let mut g = global_record(symtab, id, layout, image.slots, &has_slots)?;
        if kinds[id] & IN_DATA != 0 {
            g.flags |= state::DATA;
        }
        g.refs = refs[id];
        g.sites = site_range[id];
        Some(g)
    };
    // Rows at their ids, gaps and all (a parallel collect of just those
    // with rows would gather them in pieces and copy them again), encoded
    // already: half the memory of the records. The few side-table
    // entries are made again from their records.
    let rows: Vec<Option<GlobalRow>> = (0..symtab.syms.len())
        .into_par_iter()
        .map(|id| Some(GlobalRow::of(symtab.syms[id].name, &record(id)?)))
        .collect();
    let extras = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| row.is_some_and(|r| r.has_extra()))
        .filter_map(|(id, _)| state::global_extra(&record(id)?))
        .collect();
    let globals = GlobalTable {
        rows,
        name: Box::new(move |id| symtab.syms[id].name),
        extras,
    };
    let literals: Vec<(u64, u64)> = records
        .iter()
        .flat_map(|r| r.literals.iter().copied())
        .collect();
    Ok(Prepared {
        records: records_stream,
        globals,
        literals,
        sites,
        used,
    })
}

/// Writes the state of a full incremental link: the header chunk after
/// `begun` (the body, made of the same link).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_state(
    begun: Begun,
    output: Fingerprint,
    uuid: [u8; 16],
    args: u64,
    inputs: Vec<Fingerprint>,
    objects: &[ObjectFile],
    facts: &ImageFacts,
    chained: bool,
) -> std::io::Result<super::Pending> {
    let layout = &facts.layout;
    let Begun { writer, used } = begun;
    let meta = Meta {
        args,
        output,
        uuid,
        dylibs: facts.dylibs,
        cpu_type: facts.cpu_type,
        inputs,
        objects: objects
            .iter()
            .map(|o| ObjectInfo {
                input: o.input,
                member: o.member,
                name: o.name.clone(),
                record: (0, 0),
            })
            .collect(),
        sections: layout.sections.iter().map(SectionRecord::of).collect(),
        allocation: layout
            .sections
            .iter()
            .zip(&used)
            .map(|(s, &used_end)| Allocation {
                used_end: match s.content {
                    Content::Stubs => s.addr + facts.stubs_used,
                    Content::Got => s.addr + facts.got_used,
                    _ => used_end,
                },
                free: Vec::new(),
            })
            .collect(),
        segments: layout
            .segments
            .iter()
            .map(|s| SegmentRecord {
                vmaddr: s.vmaddr,
                vmsize: s.vmsize,
                fileoff: s.fileoff,
                filesize: s.filesize,
            })
            .collect(),
        image_base: layout.image_base,
        tlv_start: layout.tlv_start,
        tlv_end: layout.tlv_end,
        chained,
        linkedit: LinkeditRecord {
            uuid_offset: facts.uuid_offset,
            function_starts: facts.function_starts,
            unwind_complex: facts
                .unwind_rows
                .iter()
                .any(|r| r.personality_got != 0 || r.lsda != 0),
            signature: facts.signature,
            chained_fixups: facts.chained_fixups,
            exports: facts.exports,
            symtab: facts.symtab,
            strtab: facts.strtab,
        },
    };
    writer.finish(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object, StandardSection, Symbol, SymbolSection};
    use object::{SymbolFlags, SymbolKind, SymbolScope};

    /// An arm64 object as clang writes it: `ltmp0` (a local, so before the
    /// globals in the symbol table) labels the start of __text, where
    /// `first` is; `second` follows.
    fn object_with_ltmp(first: &str, second: &str) -> Vec<u8> {
        let mut obj = Object::new(
            object::BinaryFormat::MachO,
            object::Architecture::Aarch64,
            object::Endianness::Little,
        );
        obj.set_subsections_via_symbols();
        obj.set_mangling(object::write::Mangling::None);
        let text = obj.section_id(StandardSection::Text);
        let ret = 0xd65f_03c0u32.to_le_bytes();
        obj.append_section_data(text, &[ret, ret].concat(), 4);
        for (name, value, scope) in [
            ("ltmp0", 0, SymbolScope::Compilation),
            (first, 0, SymbolScope::Dynamic),
            (second, 4, SymbolScope::Dynamic),
        ] {
            obj.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size: 0,
                kind: SymbolKind::Text,
                scope,
                weak: false,
                section: SymbolSection::Section(text),
                flags: SymbolFlags::None,
            });
        }
        obj.write().unwrap()
    }

    fn keys(bytes: &[u8]) -> Vec<String> {
        let arch = crate::arch::by_name("arm64").unwrap();
        let obj = ObjectFile::parse(bytes, "t.o".into(), arch).unwrap();
        atom_keys(&obj)
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect()
    }

    /// A cursor finds what a search of the whole list finds, whether a
    /// lookup steps on from the last, jumps far ahead, or goes back.
    #[test]
    fn cursor_lookups_match_a_search_of_the_list() {
        let base = 0x1000;
        let addrs: Vec<u64> = (0..400u64).map(|i| base + i * 24 + (i % 7) * 3).collect();
        let index = PageIndex::new(&addrs, base);
        let mut cursor = Cursor::default();
        let probes = (0..300u64).map(|i| base + i * 29).chain([
            base + 9000,
            base,
            0,
            base + 50,
            u64::MAX / 2,
            base + 51,
        ]);
        for a in probes {
            let want = addrs.partition_point(|&x| x < a);
            assert_eq!(cursor.first_at(&addrs, &index, a), want, "at {a:#x}");
        }
    }

    #[test]
    fn atoms_are_keyed_by_their_names_not_the_assembler_temporary_before_them() {
        let before = keys(&object_with_ltmp("_helper", "_value"));
        assert_eq!(before, ["_helper", "_value"]);
        // `helper` deleted: `value` comes first, and keeps its identity.
        let after = keys(&object_with_ltmp("_value", "_other"));
        assert_eq!(after, ["_value", "_other"]);
    }

    /// A record written piece by piece as [`record_object`] writes it.
    fn written(rec: &state::ObjectRecord) -> Vec<u8> {
        let mut out = Vec::new();
        wire::varint(&mut out, rec.symbols);
        wire::varint(&mut out, rec.atoms.len() as u64);
        for a in &rec.atoms {
            wire::bytes(&mut out, &a.key);
            wire::atom_fields(
                &mut out,
                &AtomFields {
                    section: a.section,
                    align_log2: a.align_log2,
                    flags: a.flags,
                    addr: a.addr,
                    slot: a.slot,
                    body: a.body,
                    body_cap: a.body_cap,
                    size: a.size,
                    fixups: a.fixups,
                    unwind: a.unwind,
                    replay: a.replay,
                },
            );
        }
        fn names(v: &[Vec<u8>]) -> Vec<&[u8]> {
            v.iter().map(|n| n.as_slice()).collect()
        }
        wire::names(&mut out, &names(&rec.globals));
        wire::names(&mut out, &names(&rec.refs));
        wire::varint(&mut out, rec.sites.len() as u64);
        let mut kinds = wire::SiteKinds::default();
        for (n, site) in &rec.sites {
            wire::bytes(&mut out, n);
            kinds.site(&mut out, site);
        }
        wire::bytes(&mut out, rec.oso.as_bytes());
        out
    }

    #[test]
    fn records_written_in_place_are_what_the_state_decodes() {
        use crate::arch::{PageRef, RelocKind};
        // Values of every width a varint takes, keys long and short.
        let widths = [
            0u64,
            250,
            251,
            65_535,
            65_536,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ];
        let atoms = widths
            .iter()
            .enumerate()
            .map(|(i, &v)| state::AtomRecord {
                key: vec![b'k'; i * 40],
                section: v as u16,
                align_log2: i as u8,
                flags: 0xff - i as u8,
                addr: v,
                slot: v as u32,
                body: v.rotate_left(8),
                body_cap: (v >> 3) as u32,
                size: (v >> 7) as u32,
                fixups: !v,
                unwind: v as u32 ^ 0x8000_0000,
                replay: v.rotate_left(17),
            })
            .collect();
        let kinds = [
            SiteKind::Field(RelocKind::Absolute),
            SiteKind::Field(RelocKind::PcRel { bias: 4 }),
            SiteKind::Field(RelocKind::Page(PageRef::Got)),
            SiteKind::Field(RelocKind::PageOffset(PageRef::Tlv)),
            SiteKind::Unpatchable,
            SiteKind::Field(RelocKind::Absolute),
        ];
        let addends = [0i64, -1, 1, i64::MIN, i64::MAX, -300];
        let sites = kinds
            .iter()
            .zip(addends)
            .enumerate()
            .map(|(i, (&kind, addend))| {
                let site = Site {
                    object: widths[i] as u32,
                    kind,
                    length: 3,
                    addend,
                    addr: widths[i + 2],
                };
                (format!("_data{i}").into_bytes(), site)
            })
            .collect();
        let rec = state::ObjectRecord {
            symbols: 0xdead_beef_f00d,
            atoms,
            globals: vec![b"_a".to_vec(), vec![b'g'; 300]],
            refs: vec![],
            sites,
            oso: "/tmp/libx.a(y.o)".into(),
        };
        let bytes = written(&rec);
        assert_eq!(bytes, state::encode(&rec).unwrap());
        let back: state::ObjectRecord = state::decode(&bytes).unwrap();
        assert_eq!(back, rec);
    }
}
