//! The debug map: STABS symbols that tell dsymutil which object file each
//! function and variable came from (N_OSO) and where it ended up (N_FUN,
//! N_STSYM), so it can link the objects' DWARF into a .dSYM. The DWARF
//! itself stays in the object files, as with ld64.

use super::symtab::{record, Nlist, EMPTY, OWN};
use crate::atom::{Atom, NONE};
use crate::formats::uleb::{read_sleb, read_uleb};
use crate::input::object::{ObjSymbol, ObjectFile};
use crate::layout::Layout;
use object::macho;
use std::borrow::Cow;

/// The compile unit's source name and directory, from the object's DWARF
/// (read when the object is parsed: [`ObjectFile::compile_unit`]). The
/// sections read here are listed in `crate::input::residency`, which keeps
/// the rest of the DWARF out of memory.
///
/// Only the first unit's root entry is read, and the strings it names:
/// not gimli's whole `Unit` (its line program header, the other
/// sections' bases), which cost some 50,000 instructions an object.
#[inline(never)]
pub(crate) fn compile_unit(obj: &ObjectFile) -> Option<(Vec<u8>, Vec<u8>)> {
    use gimli::{AttributeValue, EndianSlice, LittleEndian};
    let section = |name: &str| {
        let data = obj
            .sections
            .iter()
            .find(|s| s.segname == "__DWARF" && s.sectname == name)
            .map_or(&[][..], |s| s.data);
        EndianSlice::new(data, LittleEndian)
    };
    let header = gimli::DebugInfo::from(section("__debug_info"))
        .units()
        .next()
        .ok()??;
    // Only the root entry's abbreviation is parsed, not the unit's whole
    // table (some 35,000 instructions an object for a table of ~25).
    let gimli::UnitSectionOffset::DebugInfoOffset(unit) = header.offset() else {
        return None;
    };
    let mut entries_at = unit.0.checked_add(header.size_of_header())?;
    let code = read_uleb(section("__debug_info").slice(), &mut entries_at)?;
    let table = section("__debug_abbrev")
        .slice()
        .get(header.debug_abbrev_offset().0..)?;
    let declaration = abbreviation(table, code)?;
    let abbreviations = gimli::DebugAbbrev::from(EndianSlice::new(&declaration, LittleEndian))
        .abbreviations(gimli::DebugAbbrevOffset(0))
        .ok()?;
    let mut entries = header.entries(&abbreviations);
    let (_, root) = entries.next_dfs().ok()??;
    let (mut name, mut dir) = (None, None);
    let mut str_offsets_base = gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
        header.encoding(),
        gimli::DwarfFileType::Main,
    );
    let mut attrs = root.attrs();
    while let Some(attr) = attrs.next().ok()? {
        match (attr.name(), attr.value()) {
            (gimli::DW_AT_name, value) => name = Some(value),
            (gimli::DW_AT_comp_dir, value) => dir = Some(value),
            (gimli::DW_AT_str_offsets_base, AttributeValue::DebugStrOffsetsBase(base)) => {
                str_offsets_base = base
            }
            _ => {}
        }
    }
    // As gimli's `Dwarf::attr_string` reads them (there is no
    // supplementary file).
    let debug_str = gimli::DebugStr::from(section("__debug_str"));
    let string = |value| -> Option<Vec<u8>> {
        let s = match value {
            AttributeValue::String(s) => s,
            AttributeValue::DebugStrRef(offset) => debug_str.get_str(offset).ok()?,
            AttributeValue::DebugLineStrRef(offset) => {
                gimli::DebugLineStr::from(section("__debug_line_str"))
                    .get_str(offset)
                    .ok()?
            }
            AttributeValue::DebugStrOffsetsIndex(index) => {
                let offset = gimli::DebugStrOffsets::from(section("__debug_str_offs"))
                    .get_str_offset(header.format(), str_offsets_base, index)
                    .ok()?;
                debug_str.get_str(offset).ok()?
            }
            _ => return None,
        };
        Some(s.slice().to_vec())
    };
    let name = string(name?)?;
    let dir = dir.and_then(string).unwrap_or_default();
    Some((name, dir))
}

/// The declaration of abbreviation `code` in the abbreviation table
/// `table`, followed by the 0 that ends a table: a table of its own, for
/// gimli to parse. None when the table has no such declaration or is bad
/// before it.
fn abbreviation(table: &[u8], code: u64) -> Option<Vec<u8>> {
    let mut at = 0;
    loop {
        let start = at;
        let this = read_uleb(table, &mut at)?;
        if this == 0 {
            return None;
        }
        read_uleb(table, &mut at)?; // the tag
        at += 1; // whether it has children
                 // Attribute specifications (name, form, and an implicit
                 // constant's value) up to a (0, 0).
        loop {
            let name = read_uleb(table, &mut at)?;
            let form = read_uleb(table, &mut at)?;
            if name == 0 && form == 0 {
                break;
            }
            if form == u64::from(gimli::DW_FORM_implicit_const.0) {
                read_sleb(table, &mut at)?;
            }
        }
        if this == code {
            let mut declaration = table.get(start..at)?.to_vec();
            declaration.push(0);
            return Some(declaration);
        }
    }
}

/// One object's debug map, compact: what its stabs say, without the stabs.
/// A function's four entries (N_BNSYM, N_FUN, N_FUN, N_ENSYM) come from
/// one [`StabSymbol`]; they are written straight into the output's symbol
/// table by [`crate::linkedit::symtab::SortedGroups`], never built as
/// `Nlist`s first (a 100k-function link would hold ~16 MB of them).
pub struct DebugMap<'a> {
    /// The N_SO directory (ending in `/`) and source file names.
    dir: Vec<u8>,
    source: Vec<u8>,
    /// The N_OSO: the object's path, modification time, CPU subtype.
    oso: Vec<u8>,
    mtime: u64,
    cpu_subtype: u8,
    /// The object's index: its local symbols are the run
    /// [`crate::linkedit::symtab::LocalRun::Object`] of the same object.
    object: u32,
    symbols: Vec<StabSymbol<'a>>,
    /// Its number of entries (see [`Self::len`]), counted once.
    len: usize,
}

/// The symbol-table entry whose string a stab's name shares (ld64 and lld
/// write each name once): named by index, so that the writer finds the
/// entry's string offset without looking its name up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shared {
    /// No entry: the stab writes its name itself.
    None,
    /// The external entry of this symbol id.
    External(u32),
    /// Entry `k` of the object's own local symbols.
    Local(u32),
}

/// A function or variable of the debug map.
#[derive(Clone, Copy)]
struct StabSymbol<'a> {
    name: &'a [u8],
    /// The entry whose string the name shares.
    shared: Shared,
    /// Its address (0 for an N_GSYM).
    addr: u64,
    /// A function's size.
    size: u32,
    n_sect: u8,
    /// N_FUN, N_GSYM or N_STSYM.
    kind: u8,
}

/// One entry of the symbol table as it is written (the name is resolved
/// to a string-table offset by the writer).
#[derive(Clone, Copy)]
pub struct Entry<'n> {
    pub name: &'n [u8],
    pub n_type: u8,
    pub n_sect: u8,
    pub n_desc: u16,
    pub n_value: u64,
}

impl<'a> DebugMap<'a> {
    /// Number of entries: N_SO, N_SO, N_OSO, the symbols' stabs, the
    /// closing N_SO.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Counts the entries of `symbols` (see [`Self::len`]).
    fn count(symbols: &[StabSymbol]) -> usize {
        4 + symbols
            .iter()
            .map(|s| if s.kind == macho::N_FUN { 4 } else { 1 })
            .sum::<usize>()
    }

    /// Never empty: the group has its N_SO and N_OSO entries.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether it names no function or variable.
    pub fn symbols_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// Every entry, in table order.
    pub fn for_each<'s>(&'s self, mut f: impl FnMut(Entry<'s>)) {
        self.entries(
            |own| own,
            |name| name,
            |name, n_type, n_sect, n_desc, n_value| {
                f(Entry {
                    name,
                    n_type,
                    n_sect,
                    n_desc,
                    n_value,
                })
            },
        )
    }

    /// Every entry, in table order, as `f(name, n_type, n_sect, n_desc,
    /// n_value)`: each name made by `own` from the group's own bytes (its
    /// paths) or by `symbol` from a name the object's symbols lend.
    fn entries<'s, N>(
        &'s self,
        own: impl Fn(&'s [u8]) -> N,
        symbol: impl Fn(&'a [u8]) -> N,
        mut f: impl FnMut(N, u8, u8, u16, u64),
    ) {
        f(own(&self.dir), macho::N_SO, 0, 0, 0);
        f(own(&self.source), macho::N_SO, 0, 0, 0);
        f(
            own(&self.oso),
            macho::N_OSO,
            self.cpu_subtype,
            1,
            self.mtime,
        );
        for s in &self.symbols {
            match s.kind {
                macho::N_FUN => {
                    f(symbol(b""), macho::N_BNSYM, s.n_sect, 0, s.addr);
                    f(symbol(s.name), macho::N_FUN, s.n_sect, 0, s.addr);
                    f(symbol(b""), macho::N_FUN, 0, 0, u64::from(s.size));
                    f(symbol(b""), macho::N_ENSYM, s.n_sect, 0, s.addr);
                }
                macho::N_GSYM => f(symbol(s.name), macho::N_GSYM, 0, 0, 0),
                _ => f(symbol(s.name), macho::N_STSYM, s.n_sect, 0, s.addr),
            }
        }
        f(symbol(b""), macho::N_SO, 1, 0, 0);
    }

    /// The object whose debug map this is.
    pub fn object(&self) -> u32 {
        self.object
    }

    /// Sizes the group's names for the string table (see
    /// [`crate::linkedit::symtab`]): the bytes of those it writes itself
    /// (its paths, and names no symbol has) and, per named function or
    /// variable, the offset of the symbol string it shares (`find`, given
    /// the entry [`Shared`] names), or `OWN`. A direct pass over the
    /// symbols: a 100k-function debug map has 400k entries, most without a
    /// name.
    pub fn size_names(&self, find: impl Fn(Shared) -> Option<u32>) -> (usize, Vec<u32>) {
        let own = |name: &[u8]| if name.is_empty() { 0 } else { name.len() + 1 };
        let mut size = own(&self.dir) + own(&self.source) + own(&self.oso);
        let shared = self
            .symbols
            .iter()
            .map(|s| match find(s.shared) {
                _ if s.name.is_empty() => EMPTY,
                Some(strx) => strx,
                None => {
                    size += s.name.len() + 1;
                    OWN
                }
            })
            .collect();
        (size, shared)
    }

    /// Writes the group's `nlist_64` records into `records` (exactly
    /// [`Self::len`] of them), with the name offsets [`Self::size_names`]
    /// found; its own names go into `strings`, which starts at string
    /// table offset `start`.
    pub fn write(&self, records: &mut [u8], shared: &[u32], strings: &mut [u8], start: u32) {
        let mut at = 0usize;
        let mut own = |name: &[u8]| {
            if name.is_empty() {
                return EMPTY;
            }
            strings[at..at + name.len()].copy_from_slice(name);
            let strx = start + at as u32;
            at += name.len() + 1; // the NUL is already there
            strx
        };
        let mut out = records.chunks_exact_mut(16);
        let mut put = |r: [u8; 16]| out.next().expect("sized by len").copy_from_slice(&r);
        put(record(own(&self.dir), macho::N_SO, 0, 0, 0));
        put(record(own(&self.source), macho::N_SO, 0, 0, 0));
        let oso = own(&self.oso);
        put(record(oso, macho::N_OSO, self.cpu_subtype, 1, self.mtime));
        for (s, &strx) in self.symbols.iter().zip(shared) {
            let strx = if strx == OWN { own(s.name) } else { strx };
            match s.kind {
                macho::N_FUN => {
                    put(record(EMPTY, macho::N_BNSYM, s.n_sect, 0, s.addr));
                    put(record(strx, macho::N_FUN, s.n_sect, 0, s.addr));
                    put(record(EMPTY, macho::N_FUN, 0, 0, u64::from(s.size)));
                    put(record(EMPTY, macho::N_ENSYM, s.n_sect, 0, s.addr));
                }
                macho::N_GSYM => put(record(strx, macho::N_GSYM, 0, 0, 0)),
                _ => put(record(strx, macho::N_STSYM, s.n_sect, 0, s.addr)),
            }
        }
        put(record(EMPTY, macho::N_SO, 1, 0, 0));
    }

    /// The entries as `Nlist`s (for an incremental update, which edits
    /// one object's group at a time). Symbols' names are borrowed (a 500-function object's group has a
    /// thousand entries, and an update makes its list on every run).
    pub fn nlists(&self) -> Vec<Nlist<'a>> {
        let mut out = Vec::with_capacity(self.len());
        self.entries(
            |own| Cow::Owned(own.to_vec()),
            Cow::Borrowed,
            |name, n_type, n_sect, n_desc, n_value| {
                out.push(Nlist {
                    name,
                    n_type,
                    n_sect,
                    n_desc,
                    n_value,
                })
            },
        );
        out
    }

    /// Entries `dropped` (ascending) of the object's local symbols were
    /// removed: the stabs sharing later ones follow them down.
    pub fn drop_locals(&mut self, dropped: &[usize]) {
        for s in &mut self.symbols {
            match s.shared {
                Shared::Local(k) if dropped.binary_search(&(k as usize)).is_ok() => {
                    s.shared = Shared::None
                }
                Shared::Local(k) => {
                    let below = dropped.partition_point(|&d| d < k as usize);
                    s.shared = Shared::Local(k - below as u32);
                }
                _ => {}
            }
        }
    }
}

/// The debug map of object `fi` (None when it carries no DWARF). `oso`
/// gives its absolute path (`lib.a(member.o)` for archive members) and
/// modification time; `cpu_subtype` goes in the N_OSO's `n_sect`, as ld64
/// writes it. Objects are read in parallel by the caller.
pub fn object_map<'a>(
    fi: usize,
    obj: &ObjectFile<'a>,
    layout: &Layout,
    (path, mtime): (&str, u64),
    cpu_subtype: u8,
    extra: ExtraSymbols,
    shared: impl Fn(usize) -> Shared,
) -> Option<DebugMap<'a>> {
    let (source, mut dir) = obj.compile_unit.clone()?;
    if !dir.is_empty() && !dir.ends_with(b"/") {
        dir.push(b'/');
    }
    let symbols = stab_symbols(fi, obj, layout, extra, shared);
    Some(DebugMap {
        dir,
        source,
        oso: path.as_bytes().to_vec(),
        mtime,
        cpu_subtype,
        object: fi as u32,
        len: DebugMap::count(&symbols),
        symbols,
    })
}

/// One object's stabs without reading its DWARF: the N_SO names are left
/// empty (and the N_OSO's `n_sect`). For an incremental update, which
/// rewrites only the values of a group already in the image (and finds
/// none when the object has no debug information).
pub fn object_map_values<'a>(
    obj: &ObjectFile<'a>,
    layout: &Layout,
    (path, mtime): (&str, u64),
) -> Vec<Nlist<'a>> {
    let symbols = stab_symbols(0, obj, layout, ExtraSymbols::of(obj), |_| Shared::None);
    DebugMap {
        dir: Vec::new(),
        source: Vec::new(),
        oso: path.as_bytes().to_vec(),
        mtime,
        cpu_subtype: 0,
        object: 0,
        len: DebugMap::count(&symbols),
        symbols,
    }
    .nlists()
}

/// Whether the debug map names symbol `sym`: a defined, non-temporary
/// symbol in an atom (aliases and symbols inside an atom too, as ld64 and
/// lld list them).
#[inline]
fn named_in_map(sym: &ObjSymbol) -> bool {
    let temp = sym.name.first().is_none_or(|&c| c == b'L' || c == b'l');
    sym.is_defined_in_section() && sym.atom != NONE && !temp
}

/// A symbol named in the debug map, by the atom holding it.
#[derive(Clone, Copy)]
struct AtomSymbol {
    atom: u32,
    /// Offset of the symbol within its atom.
    offset: u64,
    /// Its nlist index in the object.
    symbol: u32,
}

/// The symbols of an object the debug map names that are not their
/// atom's [`Atom::symbol`] (aliases, symbols inside an atom, a name after
/// a temporary one at an atom's start). Most objects have none or a few:
/// every other named symbol is found from its atom, in atom order, with
/// no sort. Gathered by the pass over the object's symbols that writes
/// its local ones ([`Self::note`]), or by [`Self::of`].
#[derive(Default)]
pub struct ExtraSymbols(Vec<AtomSymbol>);

impl ExtraSymbols {
    /// Notes symbol `si` of `obj` if the debug map names it and its atom
    /// does not.
    #[inline]
    pub fn note(&mut self, obj: &ObjectFile, si: usize, sym: &ObjSymbol) {
        if named_in_map(sym) && obj.atoms[sym.atom as usize].symbol != si as u32 {
            self.0.push(AtomSymbol {
                atom: sym.atom,
                offset: sym.n_value - atom_start(obj, sym.atom as usize),
                symbol: si as u32,
            });
        }
    }

    /// Every symbol of `obj` [`Self::note`] would note.
    pub fn of(obj: &ObjectFile) -> Self {
        let mut extra = ExtraSymbols::default();
        for (si, sym) in obj.symbols.iter().enumerate() {
            extra.note(obj, si, sym);
        }
        extra
    }

    /// The symbols ordered by (atom, offset, symbol).
    fn sorted(mut self) -> Vec<AtomSymbol> {
        self.0
            .sort_unstable_by_key(|a| (a.atom, a.offset, a.symbol));
        self.0
    }
}

/// The address of atom `ai` in its object.
#[inline]
fn atom_start(obj: &ObjectFile, ai: usize) -> u64 {
    let atom = &obj.atoms[ai];
    obj.sections[atom.section as usize].addr + u64::from(atom.offset)
}

/// The symbol the debug map names by atom `ai`'s own [`Atom::symbol`]:
/// a named symbol in it, or the tentative definition an allocated common
/// atom stands for.
#[inline]
fn primary_symbol(obj: &ObjectFile, ai: usize, atom: &Atom) -> Option<AtomSymbol> {
    let sym = obj.symbols.get(atom.symbol as usize)?;
    let offset = if sym.is_common() {
        0
    } else if named_in_map(sym) && sym.atom as usize == ai {
        sym.n_value - atom_start(obj, ai)
    } else {
        return None;
    };
    Some(AtomSymbol {
        atom: ai as u32,
        offset,
        symbol: atom.symbol,
    })
}

/// The functions and variables of object `fi`'s debug map, in address
/// order: per function (in a code section) its address and size, per
/// variable an N_GSYM (external, found by name) or N_STSYM (local, with
/// its address). Symbols come by atom, in atom order; within an atom by
/// offset, ties in symbol-table order. A function's size runs to the next
/// symbol in its atom (an alias before another name at the same address
/// has size 0, as in ld64) or to the atom's end.
///
/// `shared(si)` names the symbol-table entry of symbol `si` (whose string
/// the stab shares), if it has one.
fn stab_symbols<'a>(
    fi: usize,
    obj: &ObjectFile<'a>,
    layout: &Layout,
    extra: ExtraSymbols,
    shared: impl Fn(usize) -> Shared,
) -> Vec<StabSymbol<'a>> {
    let extra = extra.sorted();
    let mut extra = &extra[..];
    // Each named symbol at most once: no more than the object's symbols
    // (fewer than its atoms, which count every literal).
    let mut out = Vec::with_capacity(obj.symbols.len().min(obj.atoms.len() + extra.len()));
    let (addrs, sections) = (&layout.atom_addr[fi], &layout.atom_section[fi]);
    debug_assert!(addrs.len() == obj.atoms.len() && sections.len() == obj.atoms.len());
    // Whether each output section holds code, read once rather than per
    // symbol from the (large) section records.
    let code: Vec<bool> = layout.sections.iter().map(|s| s.is_code()).collect();
    // An atom's symbols when it has several (reused).
    let mut group: Vec<AtomSymbol> = Vec::new();
    let atoms = obj.atoms.iter().zip(addrs).zip(sections).enumerate();
    for (ai, ((atom, &addr), &si)) in atoms {
        let has_extra = extra.first().is_some_and(|e| e.atom as usize == ai);
        if !has_extra {
            // Nearly every atom: its own symbol at most, which runs to
            // the atom's end. Unplaced atoms (dead, or not in the output:
            // unwind entries, DWARF) and those without a symbol go first.
            if addr == 0 || atom.symbol == NONE || atom.alias_of.is_some() {
                continue;
            }
            if let Some(p) = primary_symbol(obj, ai, atom) {
                let end = u64::from(atom.size);
                out.push(stab_symbol(
                    obj,
                    (addr, si, code[si as usize]),
                    p,
                    end,
                    &shared,
                ));
            }
            continue;
        }
        // This atom's extra symbols.
        let more = extra.iter().take_while(|e| e.atom as usize == ai).count();
        let (here, rest) = extra.split_at(more);
        extra = rest;
        if addr == 0 || atom.alias_of.is_some() {
            continue;
        }
        group.clear();
        group.extend(primary_symbol(obj, ai, atom));
        group.extend_from_slice(here);
        group.sort_unstable_by_key(|a| (a.offset, a.symbol));
        let placed = (addr, si, code[si as usize]);
        for (k, &s) in group.iter().enumerate() {
            let end = group.get(k + 1).map_or(u64::from(atom.size), |n| n.offset);
            out.push(stab_symbol(obj, placed, s, end, &shared));
        }
    }
    out
}

/// The stab of symbol `s`, in an atom placed at `addr` in output section
/// `si` (`code` if it holds code), that runs to offset `end` of its atom.
#[inline(always)]
fn stab_symbol<'a>(
    obj: &ObjectFile<'a>,
    (addr, si, code): (u64, u32, bool),
    s: AtomSymbol,
    end: u64,
    shared: &impl Fn(usize) -> Shared,
) -> StabSymbol<'a> {
    let (offset, sym) = (s.offset, &obj.symbols[s.symbol as usize]);
    let at = addr + offset;
    let (kind, at, size) = if code {
        (macho::N_FUN, at, (end - offset) as u32)
    } else if sym.is_external() {
        // Private externs too: ld64 gives only translation-unit (static)
        // symbols an N_STSYM.
        (macho::N_GSYM, 0, 0)
    } else {
        (macho::N_STSYM, at, 0)
    };
    StabSymbol {
        name: sym.name,
        shared: shared(s.symbol as usize),
        addr: at,
        size,
        n_sect: (si + 1) as u8,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linkedit::symtab::{Externals, LocalRun, SortedGroups};

    /// A debug map written straight from its compact form gives the same
    /// tables as its entries written one by one: names shared with the
    /// symbols where they have them, empty names at offset 1.
    #[test]
    fn a_debug_map_is_written_as_its_entries() {
        let names: Vec<&'static [u8]> = (0..40)
            .map(|i| &*format!("_f{i}").into_bytes().leak())
            .collect();
        let kinds = [macho::N_FUN, macho::N_GSYM, macho::N_STSYM];
        // Every other name is a symbol's too (a local and an external),
        // which the stab names by index: local i / 4, external id i.
        let shared = |i: usize| match i % 4 {
            0 => Shared::Local(i as u32 / 4),
            2 => Shared::External(i as u32),
            _ => Shared::None,
        };
        let map = |dir: &[u8]| {
            let symbols: Vec<StabSymbol> = names
                .iter()
                .enumerate()
                .map(|(i, n)| StabSymbol {
                    name: n,
                    shared: shared(i),
                    addr: 0x1000 + i as u64 * 16,
                    size: 16,
                    n_sect: 1,
                    kind: kinds[i % 3],
                })
                .collect();
            DebugMap {
                dir: dir.to_vec(),
                source: b"a.c".to_vec(),
                oso: b"/obj/a.o".to_vec(),
                mtime: 77,
                cpu_subtype: 3,
                object: 5,
                len: DebugMap::count(&symbols),
                symbols,
            }
        };
        let symbol = |n: &'static [u8], n_type: u8| Nlist {
            name: n.into(),
            n_type,
            n_sect: 1,
            n_desc: 0,
            n_value: 5,
        };
        let locals: Vec<Nlist> = names
            .iter()
            .step_by(4)
            .map(|n| symbol(n, macho::N_SECT))
            .collect();
        let externals: Vec<Nlist> = names
            .iter()
            .skip(2)
            .step_by(4)
            .map(|n| symbol(n, macho::N_SECT | macho::N_EXT))
            .collect();
        for dir in [&b"/src/"[..], b""] {
            // The externals' ids: external k is name 2 + 4k's.
            let ids = (0..externals.len() as u32).map(|k| 2 + 4 * k).collect();
            let compact = SortedGroups::with_externals(
                vec![
                    LocalRun::DebugMap(map(dir)),
                    LocalRun::Object {
                        object: 5,
                        entries: locals.clone(),
                    },
                ],
                Externals {
                    list: externals.clone(),
                    ids,
                    sorted: false,
                },
                Vec::new(),
            )
            .write();
            let entries = SortedGroups::new(
                vec![
                    LocalRun::Entries(map(dir).nlists()),
                    LocalRun::Entries(locals.clone()),
                ],
                externals.clone(),
                Vec::new(),
            )
            .write();
            assert!(compact.symbols == entries.symbols);
            assert!(compact.strings == entries.strings);
            // Shared: the table holds each name once, and the paths.
            let unshared: usize = names.iter().skip(1).step_by(2).map(|n| n.len() + 1).sum();
            let shared: usize = names.iter().step_by(2).map(|n| n.len() + 1).sum();
            let paths = b"a.c\0/obj/a.o\0".len() + if dir.is_empty() { 0 } else { dir.len() + 1 };
            assert_eq!(
                compact.strings.len(),
                (2 + shared + unshared + paths).next_multiple_of(8)
            );
        }
    }

    #[test]
    fn abbreviation_finds_one_declaration() {
        // 1: compile unit, children, name/strp, implicit const 7; 2:
        // subprogram, no children, name/string; then the table's end.
        let table = [
            1, 0x11, 1, 0x03, 0x0e, 0x3e, 0x21, 7, 0, 0, //
            2, 0x2e, 0, 0x03, 0x08, 0, 0, //
            0,
        ];
        assert_eq!(
            abbreviation(&table, 1).unwrap(),
            [&table[..10], &[0]].concat()
        );
        assert_eq!(
            abbreviation(&table, 2).unwrap(),
            [&table[10..17], &[0]].concat()
        );
        assert_eq!(abbreviation(&table, 3), None);
        // A table cut short before the declaration.
        assert_eq!(abbreviation(&table[..12], 2), None);
    }
}
