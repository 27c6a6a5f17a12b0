//! The symbol table's name map, split by hash into shards, and the
//! parallel resolution of the command line's objects that the split
//! allows.
//!
//! Resolving a name only ever looks at that name's own entries, in link
//! order; names never interact. So the objects' external symbols are
//! grouped by the shard of their name (per object, in parallel), and
//! each shard then runs the same rules as [`SymbolTable::add_object`]
//! over its names, object by object, in nlist order (shards in parallel).
//! A shard's map is a sliver of the whole, so its probes stay in cache
//! where one big map's would miss on almost every symbol.
//!
//! What must not change is what the serial loop numbered and listed in
//! its order: a symbol's id is the rank of its first entry (by file, then
//! nlist index), and duplicates are listed by the (file, index) of the
//! second definition. One pass over the entries in that order restores
//! the ids; the few duplicates are sorted.

use super::{Found, SymId, Symbol, SymbolTable};
use crate::atom::NONE;
use crate::input::object::{ObjSymbol, ObjectFile};
use hashbrown::HashTable;
use rayon::prelude::*;
use std::hash::Hasher;

/// How many shards the name map has: enough that each of a large link's
/// (some 100k names) fits in the cache, few enough that a small link's
/// empty ones cost nothing (an empty map does not allocate).
const SHARDS: usize = 64;

/// A symbol name with its hash, computed once (in parallel when the
/// command line's objects go in) and reused by its shard's map.
#[derive(Clone, Copy)]
pub(super) struct Key<'a> {
    pub hash: u64,
    pub name: &'a [u8],
}

impl<'a> Key<'a> {
    pub fn new(name: &'a [u8]) -> Self {
        let mut h = rustc_hash::FxHasher::default();
        h.write(name);
        Key {
            hash: h.finish(),
            name,
        }
    }
}

/// A shard of the name map: the ids of its names, found by a name's
/// hash and compared by the name in the symbol list the ids index. Four
/// bytes a name (and a control byte), where a map holding each name's
/// key took 32: at 100k names the shards take 1.3 MiB instead of 8.7,
/// memory the link otherwise has to fault in and keeps to the end, and a
/// shard's table and symbols stay in the cache while it resolves.
pub(super) type ShardMap = HashTable<u32>;

/// Name → symbol id, in [`SHARDS`] tables chosen by hash bits that
/// neither the tables' bucket index (low bits) nor their tag (top 7) use.
pub(super) struct Names {
    shards: Vec<ShardMap>,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            shards: (0..SHARDS).map(|_| ShardMap::new()).collect(),
        }
    }
}

fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// The id of `key`'s name in `map`, whose ids index `syms`.
fn find(map: &ShardMap, key: Key, syms: &[Symbol]) -> Option<u32> {
    map.find(key.hash, |&id| syms[id as usize].name == key.name)
        .copied()
}

/// The id of `key`'s name in `map`, added to `syms` (undefined) when new.
#[inline]
fn intern<'a>(map: &mut ShardMap, key: Key<'a>, syms: &mut Vec<Symbol<'a>>) -> u32 {
    let entry = map.entry(
        key.hash,
        |&id| syms[id as usize].name == key.name,
        // Only when the table grows: the names' hashes again.
        |&id| Key::new(syms[id as usize].name).hash,
    );
    match entry {
        hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
        hashbrown::hash_table::Entry::Vacant(e) => {
            let id = syms.len() as u32;
            syms.push(Symbol::new(key.name));
            e.insert(id);
            id
        }
    }
}

impl Names {
    /// Room for `n` more names spread evenly over the shards (a table made
    /// for one object: its shards would otherwise each grow four times).
    pub fn reserve(&mut self, n: usize, syms: &[Symbol]) {
        let per_shard = n.div_ceil(SHARDS) + n.div_ceil(SHARDS) / 2;
        for shard in &mut self.shards {
            shard.reserve(per_shard, |&id| Key::new(syms[id as usize].name).hash);
        }
    }

    pub fn get(&self, key: Key, syms: &[Symbol]) -> Option<SymId> {
        find(&self.shards[shard_of(key.hash)], key, syms)
    }

    pub fn intern<'a>(&mut self, key: Key<'a>, syms: &mut Vec<Symbol<'a>>) -> SymId {
        intern(&mut self.shards[shard_of(key.hash)], key, syms)
    }
}

/// One external nlist entry: its name's hash and its index.
#[derive(Clone, Copy, Default)]
struct Entry {
    hash: u64,
    sym: u32,
}

/// An object's external entries grouped by shard, each group in nlist
/// order: group `s` is `entries[starts[s]..starts[s + 1]]`, of which
/// `definitions[s]` define their name (rather than refer to it).
struct Grouped {
    entries: Vec<Entry>,
    starts: [u32; SHARDS + 1],
    definitions: [u32; SHARDS],
}

impl Grouped {
    fn of(obj: &ObjectFile) -> Self {
        let mut definitions = [0u32; SHARDS];
        let hashed: Vec<Entry> = obj
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_external())
            .map(|(i, s)| {
                let hash = Key::new(s.name).hash;
                definitions[shard_of(hash)] += u32::from(defines(s));
                Entry {
                    hash,
                    sym: i as u32,
                }
            })
            .collect();
        // A counting sort by shard, stable so each group keeps nlist order.
        let mut starts = [0u32; SHARDS + 1];
        for e in &hashed {
            starts[shard_of(e.hash) + 1] += 1;
        }
        for s in 0..SHARDS {
            starts[s + 1] += starts[s];
        }
        let mut next = starts;
        let mut entries = vec![Entry::default(); hashed.len()];
        for e in hashed {
            let slot = &mut next[shard_of(e.hash)];
            entries[*slot as usize] = e;
            *slot += 1;
        }
        Grouped {
            entries,
            starts,
            definitions,
        }
    }

    fn group(&self, shard: usize) -> &[Entry] {
        &self.entries[self.starts[shard] as usize..self.starts[shard + 1] as usize]
    }
}

/// One shard's names resolved over all objects, with shard-local ids.
struct Shard<'a> {
    map: ShardMap,
    syms: Vec<Symbol<'a>>,
    /// The local id of every entry the shard took in, in the order taken.
    ids: Vec<u32>,
    /// Per object: where its entries start in `ids`.
    starts: Vec<u32>,
    /// Per object, and one past the last: how many names the shard had
    /// before it. The names an object brings first are the local ids
    /// `sym_starts[file]..sym_starts[file + 1]`, in its nlist order.
    sym_starts: Vec<u32>,
    /// (link order of the second definition, local id, first file, its file).
    duplicates: Vec<(u64, u32, u32, u32)>,
}

impl<'a> Shard<'a> {
    /// Runs the resolution rules over shard `s`'s entries of every object.
    fn resolve(s: usize, objects: &[ObjectFile<'a>], grouped: &[Grouped]) -> Self {
        let entries: usize = grouped.iter().map(|g| g.group(s).len()).sum();
        let definitions: usize = grouped.iter().map(|g| g.definitions[s] as usize).sum();
        let mut shard = Shard {
            map: ShardMap::with_capacity(expected_names(entries, definitions)),
            syms: Vec::with_capacity(expected_names(entries, definitions)),
            ids: Vec::with_capacity(entries),
            starts: Vec::with_capacity(objects.len()),
            sym_starts: Vec::with_capacity(objects.len() + 1),
            duplicates: Vec::new(),
        };
        for (file, (obj, g)) in objects.iter().zip(grouped).enumerate() {
            shard.starts.push(shard.ids.len() as u32);
            shard.sym_starts.push(shard.syms.len() as u32);
            for e in g.group(s) {
                let sym = &obj.symbols[e.sym as usize];
                let local = shard.intern(Key {
                    hash: e.hash,
                    name: sym.name,
                });
                shard.ids.push(local);
                let found = Found::of(file as u32, obj, sym, e.sym);
                if let Some(first) = shard.syms[local as usize].record(found) {
                    let order = (file as u64) << 32 | u64::from(e.sym);
                    shard.duplicates.push((order, local, first, file as u32));
                }
            }
        }
        shard.sym_starts.push(shard.syms.len() as u32);
        shard
    }

    fn intern(&mut self, key: Key<'a>) -> u32 {
        intern(&mut self.map, key, &mut self.syms)
    }
}

/// Whether an external nlist entry defines its name (in a section, as a
/// common or absolute symbol) rather than refers to it.
fn defines(s: &ObjSymbol) -> bool {
    s.kind() != object::macho::N_UNDF || s.is_common()
}

/// How many names a shard should make room for, from its entries and
/// how many of them are definitions. Not one per entry (the worst case):
/// a program refers mostly to names it defines once, so that reserved
/// about twice what a large link fills (5 MiB more of memory to fault
/// in at 100k functions). The names defined nowhere (the dylibs') are
/// among the references, referred to from several objects each: an
/// eighth of the references is room for them, and the tables grow if
/// not.
fn expected_names(entries: usize, definitions: usize) -> usize {
    definitions + (entries - definitions) / 8
}

/// A shard-local id as one `u32` (see [`shard_locals`]).
fn pack(shard: usize, local: u32) -> u32 {
    local * SHARDS as u32 + shard as u32
}

fn unpack(packed: u32) -> (usize, usize) {
    (packed as usize % SHARDS, packed as usize / SHARDS)
}

/// The symbol table of `objects` (files 0..n), equal to adding them one
/// by one with [`SymbolTable::add_object`].
pub(super) fn resolve_objects<'a>(objects: &[ObjectFile<'a>]) -> SymbolTable<'a> {
    let grouped: Vec<Grouped> = objects.par_iter().map(Grouped::of).collect();
    let entries: usize = grouped.iter().map(|g| g.entries.len()).sum();
    if entries >= (NONE / SHARDS as u32) as usize {
        // Too many for packed shard-local ids (billions of symbols):
        // the serial way.
        let mut table = SymbolTable::default();
        for (i, obj) in objects.iter().enumerate() {
            table.add_object(i as u32, obj);
        }
        return table;
    }
    let shards: Vec<Shard<'a>> = (0..SHARDS)
        .into_par_iter()
        .map(|s| Shard::resolve(s, objects, &grouped))
        .collect();
    let mut file_globals: Vec<Vec<SymId>> = objects
        .par_iter()
        .zip(&grouped)
        .enumerate()
        .map(|(file, (obj, g))| shard_locals(file, obj, g, &shards))
        .collect();
    let (syms, to_global) = number_in_link_order(&shards, &file_globals);
    file_globals.par_iter_mut().for_each(|globals| {
        for id in globals.iter_mut().filter(|id| **id != NONE) {
            let (s, local) = unpack(*id);
            *id = to_global[s][local];
        }
    });
    let duplicates = duplicates_in_link_order(&shards, &to_global);
    let maps = shards
        .into_par_iter()
        .zip(&to_global)
        .map(|(shard, to_global)| {
            let mut map = shard.map;
            for id in map.iter_mut() {
                *id = to_global[*id as usize];
            }
            map
        })
        .collect();
    SymbolTable {
        names: Names { shards: maps },
        syms,
        file_globals,
        duplicates,
    }
}

/// Object `file`'s nlist index → its symbol's [`pack`]ed shard-local id
/// (NONE for non-externals).
fn shard_locals(file: usize, obj: &ObjectFile, grouped: &Grouped, shards: &[Shard]) -> Vec<u32> {
    let mut locals = vec![NONE; obj.symbols.len()];
    for (s, shard) in shards.iter().enumerate() {
        let start = shard.starts[file] as usize;
        let group = grouped.group(s);
        for (e, &local) in group.iter().zip(&shard.ids[start..start + group.len()]) {
            locals[e.sym as usize] = pack(s, local);
        }
    }
    locals
}

/// Global ids as the serial loop handed them out: in order of each
/// name's first entry (file, then nlist index). Returns the symbols in
/// that order and, per shard, local id → global id.
///
/// Each object's share is found on its own: the names it brings first
/// get the ids after those of the objects before it (counted by the
/// shards), in its nlist order; and an entry is its name's first exactly
/// when its local id is the next one its shard handed out in that object
/// (a shard numbers the names new in an object in nlist order).
fn number_in_link_order<'a>(
    shards: &[Shard<'a>],
    locals: &[Vec<u32>],
) -> (Vec<Symbol<'a>>, Vec<Vec<SymId>>) {
    let first_entries: Vec<Vec<u32>> = locals
        .par_iter()
        .enumerate()
        .map(|(file, locals)| {
            let mut next = [0u32; SHARDS];
            let mut count = 0;
            for (next, shard) in next.iter_mut().zip(shards) {
                *next = shard.sym_starts[file];
                count += shard.sym_starts[file + 1] - shard.sym_starts[file];
            }
            let mut firsts = Vec::with_capacity(count as usize);
            for &packed in locals.iter().filter(|&&p| p != NONE) {
                let (s, local) = unpack(packed);
                if local as u32 == next[s] {
                    next[s] += 1;
                    firsts.push(packed);
                }
            }
            firsts
        })
        .collect();
    // Global id → packed shard-local id.
    let order: Vec<u32> = first_entries.concat();
    drop(first_entries);
    let syms: Vec<Symbol<'a>> = order
        .par_iter()
        .map(|&packed| {
            let (s, local) = unpack(packed);
            shards[s].syms[local].clone()
        })
        .collect();
    let mut to_global: Vec<Vec<SymId>> = shards.iter().map(|s| vec![NONE; s.syms.len()]).collect();
    for (id, &packed) in order.iter().enumerate() {
        let (s, local) = unpack(packed);
        to_global[s][local] = id as SymId;
    }
    (syms, to_global)
}

/// Duplicate definitions as the serial loop listed them: by the link
/// order of the second definition.
fn duplicates_in_link_order(shards: &[Shard], to_global: &[Vec<SymId>]) -> Vec<(SymId, u32, u32)> {
    let mut all: Vec<(u64, SymId, u32, u32)> = shards
        .iter()
        .zip(to_global)
        .flat_map(|(shard, to_global)| {
            shard
                .duplicates
                .iter()
                .map(|&(order, local, first, again)| {
                    (order, to_global[local as usize], first, again)
                })
        })
        .collect();
    all.sort_unstable_by_key(|&(order, ..)| order);
    all.into_iter()
        .map(|(_, id, first, again)| (id, first, again))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::SymbolTable;
    use crate::atom::{AliasOf, Atom, NONE};
    use crate::input::object::{InputSection, ObjSymbol, ObjectFile};
    use object::macho;

    /// An object with one text section of one atom per definition, and
    /// the given external entries: (name, n_type, n_desc, n_value).
    fn object(entries: &[(&'static str, u8, u16, u64)]) -> ObjectFile<'static> {
        let defined =
            |&(_, n_type, _, _): &&(&str, u8, u16, u64)| n_type & macho::N_TYPE == macho::N_SECT;
        let atoms: Vec<Atom> = entries
            .iter()
            .filter(defined)
            .enumerate()
            .map(|(i, _)| Atom {
                section: 0,
                offset: 4 * i as u32,
                size: 4,
                align_log2: 2,
                relocs_start: 0,
                relocs_end: 0,
                symbol: NONE,
                alias_of: AliasOf::NONE,
                live: true,
            })
            .collect();
        let mut next_atom = 0;
        let symbols = entries
            .iter()
            .map(|&(name, n_type, n_desc, n_value)| {
                let in_section = n_type & macho::N_TYPE == macho::N_SECT;
                let atom = if in_section { next_atom } else { NONE };
                next_atom += u32::from(in_section);
                ObjSymbol {
                    name: name.as_bytes(),
                    n_type,
                    n_sect: u8::from(in_section),
                    n_desc,
                    n_value: if in_section {
                        4 * u64::from(atom)
                    } else {
                        n_value
                    },
                    atom,
                }
            })
            .collect();
        ObjectFile {
            name: "t.o".into(),
            sections: vec![InputSection {
                segname: "__TEXT".into(),
                sectname: "__text".into(),
                addr: 0,
                size: 4 * atoms.len() as u64,
                align_log2: 2,
                flags: macho::S_REGULAR,
                data: &[],
                atoms_start: 0,
                atoms_len: atoms.len() as u32,
                kept: true,
                metadata: false,
            }],
            symbols,
            atoms,
            relocs: Vec::new(),
            oso_path: String::new(),
            mtime: 0,
            input: 0,
            member: false,
            data_in_code: Vec::new(),
            parsed_tables: &[],
            compile_unit: None,
        }
    }

    fn summary(t: &SymbolTable) -> String {
        let names: Vec<_> = (0..t.syms.len() as u32)
            .map(|id| t.get(t.syms[id as usize].name))
            .collect();
        format!(
            "{:?}\n{:?}\n{:?}\n{names:?}",
            t.syms, t.file_globals, t.duplicates
        )
    }

    /// What a served update's kept resolution relies on: an object's table
    /// rebuilt from the ids interning gave its names is the same table, ids
    /// that do not fit the object are refused, and the hash that tells an
    /// object's symbol table from the last one follows its names, types and
    /// undefined values, not its definitions' addresses.
    #[test]
    fn an_object_table_rebuilt_from_its_ids_is_the_interned_one() {
        const DEF: u8 = macho::N_SECT | macho::N_EXT;
        const UNDEF: u8 = macho::N_UNDF | macho::N_EXT;
        let entries = [
            ("_main", DEF, 0, 0),
            ("_local", macho::N_SECT, 0, 0),
            ("_puts", UNDEF, 0, 0),
            ("_dup", DEF, 0, 0),
            ("_common", UNDEF, 0, 16),
            ("_dup", DEF, 0, 0),
            ("_weak", UNDEF, macho::N_WEAK_REF, 0),
        ];
        let obj = object(&entries);
        let interned = SymbolTable::of_object(&obj);
        let ids = interned.file_globals[0].clone();
        let rebuilt = SymbolTable::of_object_as(&obj, &ids).expect("the ids fit");
        assert_eq!(
            format!(
                "{:?}\n{:?}\n{:?}",
                interned.syms, interned.file_globals, interned.duplicates
            ),
            format!(
                "{:?}\n{:?}\n{:?}",
                rebuilt.syms, rebuilt.file_globals, rebuilt.duplicates
            )
        );
        assert!(!rebuilt.duplicates.is_empty(), "_dup is defined twice");
        // Ids for another table: too few, a local given one, one skipped,
        // a repeated id under another name.
        assert!(SymbolTable::of_object_as(&obj, &ids[1..]).is_none());
        let mut local = ids.clone();
        local[1] = 0;
        assert!(SymbolTable::of_object_as(&obj, &local).is_none());
        let mut skipped = ids.clone();
        skipped[2] += 1;
        assert!(SymbolTable::of_object_as(&obj, &skipped).is_none());
        let mut renamed = ids.clone();
        renamed[2] = ids[0];
        assert!(SymbolTable::of_object_as(&obj, &renamed).is_none());

        use crate::incremental::record::symbol_table_hash;
        let hash = |entries: &[(&'static str, u8, u16, u64)]| symbol_table_hash(&object(entries));
        let base = hash(&entries);
        let mut moved = object(&entries);
        moved.symbols[0].n_value += 64;
        assert_eq!(symbol_table_hash(&moved), base, "a definition's address");
        let mut more = entries.to_vec();
        more.push(("_abs", UNDEF, 0, 0));
        assert_ne!(hash(&more), base, "a new reference");
        let mut bigger = entries.to_vec();
        bigger[4].3 = 32;
        assert_ne!(hash(&bigger), base, "a common's size");
        let mut weak = entries.to_vec();
        weak[2].2 = macho::N_WEAK_REF;
        assert_ne!(hash(&weak), base, "a reference made weak");
        let mut swapped = entries.to_vec();
        swapped.swap(2, 6);
        assert_ne!(hash(&swapped), base, "the order of the names");
    }

    #[test]
    fn sharded_resolution_equals_adding_objects_in_order() {
        const DEF: u8 = macho::N_SECT | macho::N_EXT;
        const UNDEF: u8 = macho::N_UNDF | macho::N_EXT;
        const WEAK: u16 = macho::N_WEAK_DEF;
        // Many names, so that every shard gets some, and every rule:
        // duplicates, weak and common definitions, weak references,
        // private externs and local entries.
        let mut a = vec![
            ("_main", DEF, 0, 0),
            ("_dup", DEF, 0, 0),
            ("_w", DEF, WEAK, 0),
        ];
        let mut b = vec![
            ("_dup", DEF, 0, 0),
            ("_w", DEF, WEAK, 0),
            ("_c", UNDEF, 0, 16),
        ];
        let mut c = vec![("_c", UNDEF, 0, 64), ("_dup", DEF, 0, 0), ("_w", DEF, 0, 0)];
        let names: Vec<&'static str> = (0..600)
            .map(|i| &*Box::leak(format!("_f{i}").into_boxed_str()))
            .collect();
        for (i, &n) in names.iter().enumerate() {
            match i % 5 {
                0 => a.push((n, DEF, 0, 0)),
                1 => b.push((n, DEF | macho::N_PEXT, 0, 0)),
                2 => c.push((n, DEF, WEAK, 0)),
                3 => a.push((n, UNDEF, macho::N_WEAK_REF, 0)),
                _ => b.push((n, macho::N_SECT, 0, 0)),
            }
            c.push((names[(i * 7) % names.len()], UNDEF, 0, 0));
            b.push((names[(i * 13) % names.len()], UNDEF, 0, 0));
        }
        let objects = vec![object(&a), object(&b), object(&c)];
        let mut serial = SymbolTable::default();
        for (i, obj) in objects.iter().enumerate() {
            serial.add_object(i as u32, obj);
        }
        let sharded = SymbolTable::from_objects(&objects);
        assert_eq!(summary(&sharded), summary(&serial));
        assert_eq!(sharded.duplicates.len(), 2, "_dup is defined three times");
    }
}
