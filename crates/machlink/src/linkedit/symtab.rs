//! LC_SYMTAB and LC_DYSYMTAB: the symbol table (locals, then defined
//! externals, then undefined imports, as dyld and tools expect), its string
//! table, and the indirect symbol table that names the symbol behind each
//! stub and GOT slot.

pub use super::stabs::{DebugMap, Entry, Shared};
use object::macho;
use std::borrow::Cow;

/// One symbol to write; names borrow from the inputs where they can.
#[derive(Clone, Debug)]
pub struct Nlist<'a> {
    pub name: Cow<'a, [u8]>,
    pub n_type: u8,
    pub n_sect: u8,
    pub n_desc: u16,
    pub n_value: u64,
}

/// The three groups of LC_DYSYMTAB, in order.
#[derive(Default)]
pub struct SymbolGroups<'a> {
    pub locals: Vec<Nlist<'a>>,
    pub externals: Vec<Nlist<'a>>,
    pub undefined: Vec<Nlist<'a>>,
}

/// Serialised symbol and string tables.
pub struct Written {
    pub symbols: Vec<u8>,
    pub strings: Vec<u8>,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
}

/// A run of local entries: symbols (or stabs) as `Nlist`s, or an
/// object's debug map, kept compact until it is written.
pub enum LocalRun<'a> {
    Entries(Vec<Nlist<'a>>),
    /// Object `object`'s local symbols (which its debug map's stabs share
    /// by index: [`Shared::Local`]).
    Object {
        object: u32,
        entries: Vec<Nlist<'a>>,
    },
    DebugMap(DebugMap<'a>),
}

impl LocalRun<'_> {
    pub fn len(&self) -> usize {
        match self {
            LocalRun::Entries(v) | LocalRun::Object { entries: v, .. } => v.len(),
            LocalRun::DebugMap(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Entries in a row, written as a unit: a slice, a slice in a given order
/// (sorted groups are written through their order, never permuted), or a
/// debug map.
#[derive(Clone, Copy)]
enum Run<'r, 'a> {
    Slice(&'r [Nlist<'a>]),
    Ordered(&'r [Nlist<'a>], &'r [u32]),
    DebugMap(&'r DebugMap<'a>),
}

impl<'r, 'a> Run<'r, 'a> {
    fn len(&self) -> usize {
        match self {
            Run::Slice(s) => s.len(),
            Run::Ordered(_, order) => order.len(),
            Run::DebugMap(m) => m.len(),
        }
    }

    #[inline(always)]
    fn for_each(&self, mut f: impl FnMut(Entry<'r>)) {
        let entry = |n: &'r Nlist<'a>| Entry {
            name: &n.name,
            n_type: n.n_type,
            n_sect: n.n_sect,
            n_desc: n.n_desc,
            n_value: n.n_value,
        };
        // One call of `f` for both kinds of slices, so that it is inlined
        // (a run of 100k externals calls it as many times).
        let (list, order) = match *self {
            Run::Slice(s) => (s, None),
            Run::Ordered(s, order) => (s, Some(order)),
            Run::DebugMap(m) => return m.for_each(f),
        };
        for k in 0..self.len() {
            let n = match order {
                Some(order) => &list[order[k] as usize],
                None => &list[k],
            };
            f(entry(n));
        }
    }

    /// Runs of at most `max` entries (so that big groups are written in
    /// parallel too; a debug map, one object's, stays whole).
    fn split(self, max: usize) -> impl Iterator<Item = Run<'r, 'a>> {
        let n = match self {
            Run::DebugMap(_) => 1,
            _ => self.len(),
        };
        (0..n).step_by(max.max(1)).map(move |lo| {
            let hi = (lo + max).min(n);
            match self {
                Run::Slice(s) => Run::Slice(&s[lo..hi]),
                Run::Ordered(s, order) => Run::Ordered(s, &order[lo..hi]),
                Run::DebugMap(m) => Run::DebugMap(m),
            }
        })
    }
}

/// Where an entry's name goes in the string table. The table holds the
/// symbols' names first (in table order), then the stabs' own names (in
/// table order): a stab that names a function or variable shares the
/// string of the symbol with that name when there is one, as ld64 and
/// lld write them, and an empty name is the NUL at offset 1 (after the
/// leading space), so neither adds bytes.
#[derive(PartialEq)]
enum Name {
    Empty,
    Symbol,
    /// A stab that may share a symbol's string.
    Shareable,
    /// A stab's own string (a path, a source file).
    Stab,
}

fn name_kind(e: &Entry) -> Name {
    if e.name.is_empty() {
        Name::Empty
    } else if e.n_type & macho::N_STAB == 0 {
        Name::Symbol
    } else if matches!(e.n_type, macho::N_FUN | macho::N_GSYM | macho::N_STSYM) {
        Name::Shareable
    } else {
        Name::Stab
    }
}

/// The offset of the empty string: the NUL after the table's leading space.
pub(crate) const EMPTY: u32 = 1;

/// A shareable stab name that found no symbol: written as its own.
pub(crate) const OWN: u32 = u32::MAX;

/// One `nlist_64` record.
pub(crate) fn record(strx: u32, n_type: u8, n_sect: u8, n_desc: u16, n_value: u64) -> [u8; 16] {
    let mut r = [0u8; 16];
    r[..4].copy_from_slice(&strx.to_le_bytes());
    r[4] = n_type;
    r[5] = n_sect;
    r[6..8].copy_from_slice(&n_desc.to_le_bytes());
    r[8..].copy_from_slice(&n_value.to_le_bytes());
    r
}

/// One run's part of the string table.
#[derive(Default)]
struct RunStrings {
    /// Offset of its first symbol name, and of its first own stab name.
    symbols_start: u32,
    stabs_start: u32,
    /// The offsets of its shareable stab names, in order (or [`OWN`]).
    shared: Vec<u32>,
}

/// The symbol table sorted and sized before any byte of it is written:
/// the locals as runs (see [`crate::linkedit::tables::SymbolRuns`]), the
/// externals and imports with the orders that sort them by name, and where
/// each run's strings start. Sizing first lets the tables be written
/// straight into the output, every run in parallel, with no table built
/// and then copied.
pub struct SortedGroups<'a> {
    pub locals: Vec<LocalRun<'a>>,
    pub externals: Vec<Nlist<'a>>,
    /// `externals` in name order (indices); empty when they came sorted
    /// (then they are written as they are, with no order to go through).
    ext_order: Vec<u32>,
    /// The symbol id of each of `externals` (or `NONE`), for the stabs
    /// that share their strings ([`Shared::External`]); empty when none
    /// do.
    ext_ids: Vec<u32>,
    pub undefined: Vec<Nlist<'a>>,
    pub undef_order: Vec<u32>,
    /// Each run's strings (runs as [`Self::runs`] lists them).
    strings: Vec<RunStrings>,
    /// Bytes of the string table (with its leading " \0" and the padding
    /// to 8 bytes).
    pub strings_size: usize,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
}

/// Entries per run when groups are split for parallel writing.
const RUN_ENTRIES: usize = 8192;

impl<'a> SortedGroups<'a> {
    /// Sorts externals and undefined symbols by name (as ld64 does, so
    /// tools can binary-search them) and sizes both tables.
    pub fn new(
        locals: Vec<LocalRun<'a>>,
        externals: Vec<Nlist<'a>>,
        undefined: Vec<Nlist<'a>>,
    ) -> Self {
        Self::with_externals(
            locals,
            Externals {
                list: externals,
                ids: Vec::new(),
                sorted: false,
            },
            undefined,
        )
    }

    /// [`Self::new`], with the externals' symbol ids (for the debug maps'
    /// [`Shared::External`]) and, when they come sorted by name, no sort.
    pub fn with_externals(
        locals: Vec<LocalRun<'a>>,
        externals: Externals<'a>,
        undefined: Vec<Nlist<'a>>,
    ) -> Self {
        let Externals {
            list: externals,
            ids: ext_ids,
            sorted,
        } = externals;
        debug_assert!(ext_ids.is_empty() || ext_ids.len() == externals.len());
        let ext_sort = || {
            if sorted {
                debug_assert!(externals.windows(2).all(|w| w[0].name < w[1].name));
                Vec::new()
            } else {
                name_order(&externals)
            }
        };
        let (ext_order, undef_order) = rayon::join(ext_sort, || name_order(&undefined));
        let nlocal = locals.iter().map(LocalRun::len).sum::<usize>() as u32;
        let mut g = SortedGroups {
            locals,
            nextdef: externals.len() as u32,
            nundef: undefined.len() as u32,
            externals,
            ext_order,
            ext_ids,
            undefined,
            undef_order,
            strings: Vec::new(),
            strings_size: 0,
            nlocal,
        };
        let links = (!g.ext_ids.is_empty() || g.has_object_runs()).then(|| g.stab_links());
        let (strings, size) = lay_out_strings(&g.runs(), links.as_ref());
        g.strings = strings;
        g.strings_size = size;
        g
    }

    fn has_object_runs(&self) -> bool {
        self.locals
            .iter()
            .any(|r| matches!(r, LocalRun::Object { .. }))
    }

    /// Where the entries a debug map's stabs share are (see
    /// [`StabLinks`]).
    fn stab_links(&self) -> StabLinks {
        let mut object_base = Vec::new();
        let mut at = 0u32;
        for r in &self.locals {
            match r {
                LocalRun::DebugMap(_) => continue,
                LocalRun::Object { object, entries } => {
                    let o = *object as usize;
                    if object_base.len() <= o {
                        object_base.resize(o + 1, OWN);
                    }
                    object_base[o] = at;
                    at += entries.len() as u32;
                }
                LocalRun::Entries(v) => at += v.len() as u32,
            }
        }
        let top = self.ext_ids.iter().filter(|&&id| id != OWN).max();
        let mut external = vec![OWN; top.map_or(0, |&id| id as usize + 1)];
        if !self.ext_ids.is_empty() {
            for p in 0..self.externals.len() {
                let id = self.ext_ids[self.ext_index(p)];
                if id != OWN {
                    external[id as usize] = at + p as u32;
                }
            }
        }
        StabLinks {
            object_base,
            external,
        }
    }

    /// Every entry, as runs in table order.
    fn runs(&self) -> Vec<Run<'_, 'a>> {
        let mut runs: Vec<Run> = self
            .locals
            .iter()
            .flat_map(|r| match r {
                LocalRun::Entries(v) | LocalRun::Object { entries: v, .. } => {
                    Run::Slice(v).split(RUN_ENTRIES)
                }
                LocalRun::DebugMap(m) => Run::DebugMap(m).split(RUN_ENTRIES),
            })
            .collect();
        let externals = if self.ext_order.is_empty() {
            Run::Slice(&self.externals)
        } else {
            Run::Ordered(&self.externals, &self.ext_order)
        };
        runs.extend(externals.split(RUN_ENTRIES));
        runs.extend(Run::Ordered(&self.undefined, &self.undef_order).split(RUN_ENTRIES));
        runs
    }

    /// Bytes of the symbol table (16 per entry).
    pub fn symbols_size(&self) -> usize {
        (self.nlocal + self.nextdef + self.nundef) as usize * 16
    }

    /// The externals' names in table order.
    pub fn external_names(&self) -> Vec<&[u8]> {
        (0..self.externals.len())
            .map(|p| &self.externals[self.ext_index(p)].name[..])
            .collect()
    }

    /// The index in `externals` of the external at position `p` in the
    /// table.
    fn ext_index(&self, p: usize) -> usize {
        match self.ext_order.get(p) {
            Some(&i) => i as usize,
            None => p,
        }
    }

    /// Writes both tables, every run in parallel: `symbols` and `strings`
    /// are exactly [`Self::symbols_size`] and [`Self::strings_size`] bytes
    /// of zeros (the NULs and the padding are left as they are).
    pub fn write_into(&self, symbols: &mut [u8], strings: &mut [u8]) {
        use rayon::prelude::*;
        assert_eq!(symbols.len(), self.symbols_size());
        assert_eq!(strings.len(), self.strings_size);
        strings[..2].copy_from_slice(b" \0");
        let runs = self.runs();
        // Each run's disjoint parts of both tables: its records, its
        // symbols' names, its stabs' own names.
        let stabs_base = self.strings.first().map_or(2, |s| s.stabs_start) as usize;
        let (head, stab_strs) = strings.split_at_mut(stabs_base);
        let mut parts = Vec::with_capacity(runs.len());
        let (mut syms, mut strs, mut stab_strs) = (symbols, &mut head[2..], stab_strs);
        for (k, run) in runs.iter().enumerate() {
            let here = &self.strings[k];
            let next = self.strings.get(k + 1);
            let len = next.map_or(strs.len(), |n| {
                (n.symbols_start - here.symbols_start) as usize
            });
            let stab_len = next.map_or(stab_strs.len(), |n| {
                (n.stabs_start - here.stabs_start) as usize
            });
            let (s, rest) = std::mem::take(&mut syms).split_at_mut(run.len() * 16);
            let (t, rest_t) = std::mem::take(&mut strs).split_at_mut(len);
            let (u, rest_u) = std::mem::take(&mut stab_strs).split_at_mut(stab_len);
            syms = rest;
            strs = rest_t;
            stab_strs = rest_u;
            parts.push((run, here, s, t, u));
        }
        parts
            .into_par_iter()
            .for_each(|(run, at, syms, strs, stab_strs)| {
                write_run(run, at, syms, (strs, stab_strs));
            });
    }

    /// Both tables as vectors (for an incremental update, which writes
    /// them into reserved room).
    pub fn write(&self) -> Written {
        let mut symbols = vec![0; self.symbols_size()];
        let mut strings = vec![0; self.strings_size];
        self.write_into(&mut symbols, &mut strings);
        Written {
            symbols,
            strings,
            nlocal: self.nlocal,
            nextdef: self.nextdef,
            nundef: self.nundef,
        }
    }
}

/// The externals of a symbol table: in any order, or `sorted` by name;
/// `ids`, the symbol id of each (`NONE` for those without), or empty.
pub struct Externals<'a> {
    pub list: Vec<Nlist<'a>>,
    pub ids: Vec<u32>,
    pub sorted: bool,
}

/// Where the entries that debug maps' stabs share are, as indices among
/// the entries of the runs that are not debug maps, in table order (the
/// symbols' entries: a debug map's stabs come in runs of their own).
struct StabLinks {
    /// By object: the index of its first local symbol (`OWN` if none).
    object_base: Vec<u32>,
    /// By symbol id: the index of its external entry (`OWN` if none).
    external: Vec<u32>,
}

/// Places every run's names (see [`Name`]): the symbols' names, from
/// offset 2; then, after them, the stabs' own names. Returns each run's
/// part and the table's size.
fn lay_out_strings(runs: &[Run], links: Option<&StabLinks>) -> (Vec<RunStrings>, usize) {
    use rayon::prelude::*;
    // A debug map's stabs name the entries they share (see
    // `stabs::object_map`): found by index, in the string offsets of the
    // symbols' entries (`entry_strx`); stabs given as entries (read back
    // by an incremental update) by their bytes (`by_name`). Without
    // shareable stabs (-S, or no debug information) neither is needed.
    let links = links.filter(|_| {
        runs.iter()
            .any(|r| matches!(r, Run::DebugMap(m) if !m.symbols_empty()))
    });
    // By entry (of the runs that are not debug maps, in table order): its
    // string's offset, or `OWN` for a stab. Each run fills its part while
    // it sizes its names, with offsets from the run's first name (stored
    // plus one; 0 is an empty name), made absolute once the runs are
    // placed.
    let mut entry_strx: Vec<u32> = Vec::new();
    let mut parts: Vec<Option<&mut [u32]>> = Vec::with_capacity(runs.len());
    if links.is_some() {
        let entries = runs
            .iter()
            .filter(|r| !matches!(r, Run::DebugMap(_)))
            .map(Run::len)
            .sum();
        entry_strx.resize(entries, 0);
        let mut rest = &mut entry_strx[..];
        for r in runs {
            if matches!(r, Run::DebugMap(_)) {
                parts.push(None);
                continue;
            }
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(r.len());
            rest = tail;
            parts.push(Some(part));
        }
    } else {
        parts.resize_with(runs.len(), || None);
    }
    // Per run: bytes and count of its symbols' names, whether it has
    // shareable stab names.
    let symbol_names: Vec<(usize, usize, bool)> = runs
        .par_iter()
        .zip(parts.par_iter_mut())
        .map(|(r, part)| {
            if let Run::DebugMap(m) = r {
                // Stabs only: no symbol names.
                return (0, 0, !m.symbols_empty());
            }
            let (mut size, mut count, mut shareable) = (0, 0, false);
            let mut slots = part.as_deref_mut().map(|p| p.iter_mut());
            r.for_each(|e| {
                let kind = name_kind(&e);
                if let Some(slot) = slots.as_mut().and_then(Iterator::next) {
                    *slot = match kind {
                        Name::Symbol => size as u32 + 1,
                        Name::Empty => 0,
                        _ => OWN,
                    };
                }
                match kind {
                    Name::Symbol => {
                        size += e.name.len() + 1;
                        count += 1;
                    }
                    Name::Shareable => shareable = true,
                    Name::Empty | Name::Stab => {}
                }
            });
            (size, count, shareable)
        })
        .collect();
    let mut offset = 2usize;
    let mut strings: Vec<RunStrings> = symbol_names
        .iter()
        .map(|&(size, _, _)| {
            let start = RunStrings {
                symbols_start: string_offset(offset),
                ..Default::default()
            };
            offset += size;
            start
        })
        .collect();
    parts.into_par_iter().zip(&strings).for_each(|(part, s)| {
        for slot in part.into_iter().flatten() {
            *slot = match *slot {
                0 => EMPTY,
                OWN => OWN,
                rel => s.symbols_start + rel - 1,
            };
        }
    });
    // The symbols' strings by name, for stabs given as entries to share
    // (any symbol with the name will do: only the bytes matter).
    let need_name = runs
        .iter()
        .zip(&symbol_names)
        .any(|(r, &(_, _, shareable))| shareable && !matches!(r, Run::DebugMap(_)));
    let mut by_name: rustc_hash::FxHashMap<&[u8], u32> = Default::default();
    if need_name {
        by_name.reserve(symbol_names.iter().map(|&(_, count, _)| count).sum());
        for (r, s) in runs.iter().zip(&strings) {
            if matches!(r, Run::DebugMap(_)) {
                continue;
            }
            let mut at = s.symbols_start;
            r.for_each(|e| {
                if name_kind(&e) == Name::Symbol {
                    by_name.entry(e.name).or_insert(at);
                    at += e.name.len() as u32 + 1;
                }
            });
        }
    }
    let strx = |entry: u32| -> Option<u32> {
        let strx = *entry_strx.get(entry as usize)?;
        (strx != OWN).then_some(strx)
    };
    // Then each run's own stab names, and the offsets of shared ones.
    let stab_bytes: Vec<(usize, Vec<u32>)> = runs
        .par_iter()
        .map(|r| {
            if let Run::DebugMap(m) = r {
                let Some(links) = links else {
                    return m.size_names(|_| None);
                };
                let base = links.object_base.get(m.object() as usize).copied();
                return m.size_names(|shared| match shared {
                    Shared::None => None,
                    Shared::External(id) => strx(*links.external.get(id as usize)?),
                    Shared::Local(k) => strx(base.filter(|&b| b != OWN)? + k),
                });
            }
            let (mut size, mut shared) = (0, Vec::new());
            r.for_each(|e| match name_kind(&e) {
                Name::Shareable => {
                    let found = by_name.get(e.name).copied();
                    shared.push(found.unwrap_or(OWN));
                    if found.is_none() {
                        size += e.name.len() + 1;
                    }
                }
                Name::Stab => size += e.name.len() + 1,
                Name::Empty | Name::Symbol => {}
            });
            (size, shared)
        })
        .collect();
    drop((by_name, entry_strx));
    for (s, (size, shared)) in strings.iter_mut().zip(stab_bytes) {
        s.stabs_start = string_offset(offset);
        s.shared = shared;
        offset += size;
    }
    (strings, offset.next_multiple_of(8))
}

fn string_offset(offset: usize) -> u32 {
    u32::try_from(offset).expect("string table over 4 GiB")
}

/// One run's entries as whole 16-byte `nlist_64` records; its symbols'
/// names go in `symbol_strs` (from string-table offset
/// `at.symbols_start`), its stabs' own names in `stab_strs`.
fn write_run(
    run: &Run,
    at: &RunStrings,
    symbols: &mut [u8],
    (symbol_strs, stab_strs): (&mut [u8], &mut [u8]),
) {
    if let Run::DebugMap(m) = run {
        m.write(symbols, &at.shared, stab_strs, at.stabs_start);
        return;
    }
    let mut records = symbols.chunks_exact_mut(16);
    let mut shared = at.shared.iter();
    let (mut sym_at, mut stab_at) = (0usize, 0usize);
    // Copies `name` to `to` at `*cursor`; its offset from `start`.
    #[inline(always)]
    fn place(to: &mut [u8], cursor: &mut usize, start: u32, name: &[u8]) -> u32 {
        to[*cursor..*cursor + name.len()].copy_from_slice(name);
        let strx = start + *cursor as u32;
        *cursor += name.len() + 1; // the NUL is already there
        strx
    }
    run.for_each(
        #[inline(always)]
        |n| {
            let record = records.next().expect("sized by SortedGroups");
            let strx = match name_kind(&n) {
                Name::Empty => EMPTY,
                Name::Symbol => place(symbol_strs, &mut sym_at, at.symbols_start, n.name),
                Name::Shareable => match *shared.next().expect("sized by SortedGroups") {
                    OWN => place(stab_strs, &mut stab_at, at.stabs_start, n.name),
                    strx => strx,
                },
                Name::Stab => place(stab_strs, &mut stab_at, at.stabs_start, n.name),
            };
            record.copy_from_slice(&self::record(strx, n.n_type, n.n_sect, n.n_desc, n.n_value));
        },
    );
}

/// The order that sorts `list` by name.
pub fn name_order(list: &[Nlist]) -> Vec<u32> {
    let names: Vec<&[u8]> = list.iter().map(|n| &n.name[..]).collect();
    crate::formats::trie::sorted_order(&names)
}

impl SymbolGroups<'_> {
    /// Sorts externals and undefined symbols by name and serialises
    /// everything (see [`SortedGroups`]).
    pub fn write(self) -> Written {
        SortedGroups::new(
            vec![LocalRun::Entries(self.locals)],
            self.externals,
            self.undefined,
        )
        .write()
    }

    /// Index in the written table of the undefined symbol `name`
    /// (after `write` sorted them); for the indirect symbol table.
    pub fn undefined_index(sorted_undefined: &[&[u8]], base: u32, name: &[u8]) -> Option<u32> {
        sorted_undefined
            .binary_search_by(|n| (*n).cmp(name))
            .ok()
            .map(|i| base + i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlist(name: String, n_value: u64) -> Nlist<'static> {
        Nlist {
            name: name.into_bytes().into(),
            n_type: (n_value % 251) as u8,
            n_sect: (n_value % 7) as u8,
            n_desc: (n_value % 65521) as u16,
            n_value,
        }
    }

    /// The tables as the format defines them, written one entry at a time:
    /// the symbols' names in table order, then the stabs' own names; a
    /// function or variable stab shares the first symbol string with its
    /// name, an empty name is offset 1.
    fn reference(locals: &[Nlist], externals: &[Nlist], undefined: &[Nlist]) -> Written {
        let mut ext = externals.to_vec();
        ext.sort_by(|a, b| a.name.cmp(&b.name));
        let mut undef = undefined.to_vec();
        undef.sort_by(|a, b| a.name.cmp(&b.name));
        let all: Vec<&Nlist> = locals.iter().chain(&ext).chain(&undef).collect();
        let is_stab = |n: &Nlist| n.n_type & macho::N_STAB != 0;
        let mut strings = b" \0".to_vec();
        let mut strx = vec![1u32; all.len()];
        let mut first = std::collections::HashMap::new();
        for (i, n) in all.iter().enumerate() {
            if !is_stab(n) && !n.name.is_empty() {
                strx[i] = strings.len() as u32;
                first.entry(n.name.to_vec()).or_insert(strx[i]);
                strings.extend_from_slice(&n.name);
                strings.push(0);
            }
        }
        for (i, n) in all.iter().enumerate() {
            if is_stab(n) && !n.name.is_empty() {
                let shareable = matches!(n.n_type, macho::N_FUN | macho::N_GSYM | macho::N_STSYM);
                match first.get(&n.name.to_vec()) {
                    Some(&at) if shareable => strx[i] = at,
                    _ => {
                        strx[i] = strings.len() as u32;
                        strings.extend_from_slice(&n.name);
                        strings.push(0);
                    }
                }
            }
        }
        let mut symbols = Vec::new();
        for (n, strx) in all.iter().zip(strx) {
            symbols.extend_from_slice(&strx.to_le_bytes());
            symbols.extend_from_slice(&[n.n_type, n.n_sect]);
            symbols.extend_from_slice(&n.n_desc.to_le_bytes());
            symbols.extend_from_slice(&n.n_value.to_le_bytes());
        }
        crate::linkedit::pad_to(&mut strings, 8);
        Written {
            symbols,
            strings,
            nlocal: locals.len() as u32,
            nextdef: ext.len() as u32,
            nundef: undef.len() as u32,
        }
    }

    /// Runs of several sizes (empty, one entry, more than a parallel run),
    /// names unsorted and of lengths across the 16-byte sort keys: the
    /// parallel writer gives the same bytes as one entry at a time.
    #[test]
    fn runs_written_in_parallel_match_one_at_a_time() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut name = |prefix: &str| {
            let len = (next() % 40) as usize;
            let tail: String = (0..len)
                .map(|_| (b'a' + (next() % 3) as u8) as char)
                .collect();
            format!("{prefix}{tail}{}", next() % 1000)
        };
        let locals: Vec<Vec<Nlist>> = [0usize, 1, 20_000, 5]
            .iter()
            .enumerate()
            .map(|(r, &n)| {
                (0..n)
                    .map(|i| nlist(name("_l"), (r * 100_000 + i) as u64))
                    .collect()
            })
            .collect();
        let mut externals: Vec<Nlist> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while externals.len() < 30_000 {
            let n = name("_x");
            if seen.insert(n.clone()) {
                externals.push(nlist(n, externals.len() as u64));
            }
        }
        let undefined: Vec<Nlist> = (0..300).map(|i| nlist(format!("_u{i}"), 0)).collect();
        // A debug map naming externals, locals and names no symbol has,
        // with empty names between.
        let stab = |name: &[u8], n_type: u8| Nlist {
            name: name.to_vec().into(),
            n_type,
            n_sect: 1,
            n_desc: 0,
            n_value: 7,
        };
        let mut debug_map = vec![stab(b"/src/", macho::N_SO), stab(b"a.o", macho::N_OSO)];
        for (k, n) in externals
            .iter()
            .step_by(3)
            .chain(&locals[2][..50])
            .enumerate()
        {
            let name = if k % 7 == 0 {
                &b"_nowhere"[..]
            } else {
                &n.name
            };
            let n_type = [macho::N_FUN, macho::N_GSYM, macho::N_STSYM][k % 3];
            debug_map.extend([stab(b"", macho::N_BNSYM), stab(name, n_type)]);
            debug_map.push(stab(b"", macho::N_FUN));
        }
        debug_map.push(stab(b"", macho::N_SO));
        let locals: Vec<Vec<Nlist>> = std::iter::once(debug_map).chain(locals).collect();
        let flat: Vec<Nlist> = locals.concat();
        let want = reference(&flat, &externals, &undefined);
        let locals = locals.into_iter().map(LocalRun::Entries).collect();
        let got = SortedGroups::new(locals, externals.clone(), undefined.clone()).write();
        assert_eq!(
            (got.nlocal, got.nextdef, got.nundef),
            (want.nlocal, want.nextdef, want.nundef)
        );
        assert!(got.symbols == want.symbols, "symbol tables differ");
        assert!(got.strings == want.strings, "string tables differ");
        // Already sorted externals take the sort's shortcut: same bytes.
        let mut sorted = externals;
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let again = SortedGroups::new(vec![LocalRun::Entries(flat)], sorted, undefined).write();
        assert!(again.symbols == want.symbols && again.strings == want.strings);
    }
}
