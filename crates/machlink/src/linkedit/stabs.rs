//! The debug map: STABS symbols that tell dsymutil which object file each
//! function and variable came from (N_OSO) and where it ended up (N_FUN,
//! N_STSYM), so it can link the objects' DWARF into a .dSYM. The DWARF
//! itself stays in the object files, as with ld64.

use super::symtab::Nlist;
use crate::atom::NONE;
use crate::input::object::ObjectFile;
use crate::layout::Layout;
use object::macho;

/// The compile unit's source name and directory, from the object's DWARF
/// (read when the object is parsed: [`ObjectFile::compile_unit`]). The
/// sections read here are listed in `crate::input::residency`, which keeps
/// the rest of the DWARF out of memory.
pub(crate) fn compile_unit(obj: &ObjectFile) -> Option<(Vec<u8>, Vec<u8>)> {
    let section = |id: gimli::SectionId| -> Result<gimli::EndianSlice<'_, gimli::LittleEndian>, gimli::Error> {
        // Mach-O spells `.debug_str_offsets` as `__debug_str_offs` (16 chars).
        let mut name = format!("__{}", &id.name()[1..]);
        name.truncate(16);
        let data = obj
            .sections
            .iter()
            .find(|s| s.segname == "__DWARF" && s.sectname == name)
            .map_or(&[][..], |s| s.data);
        Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
    };
    let dwarf = gimli::Dwarf::load(section).ok()?;
    let header = dwarf.units().next().ok()??;
    let unit = dwarf.unit(header).ok()?;
    let name = unit.name?.slice().to_vec();
    let dir = unit
        .comp_dir
        .map(|d| d.slice().to_vec())
        .unwrap_or_default();
    Some((name, dir))
}

fn stab<'a>(
    name: impl Into<std::borrow::Cow<'a, [u8]>>,
    n_type: u8,
    n_sect: u8,
    n_desc: u16,
    n_value: u64,
) -> Nlist<'a> {
    Nlist {
        name: name.into(),
        n_type,
        n_sect,
        n_desc,
        n_value,
    }
}

/// The debug map of object `fi` (empty when it carries no DWARF). `oso`
/// gives its absolute path (`lib.a(member.o)` for archive members) and
/// modification time; `cpu_subtype` goes in the N_OSO's `n_sect`, as ld64
/// writes it. Objects are read in parallel by the caller.
pub fn object_map<'a>(
    fi: usize,
    obj: &ObjectFile<'a>,
    layout: &Layout,
    oso: &(String, u64),
    cpu_subtype: u8,
) -> Vec<Nlist<'a>> {
    match &obj.compile_unit {
        Some(unit) => object_map_for(fi, obj, layout, oso, unit.clone(), cpu_subtype),
        None => Vec::new(),
    }
}

/// One object's stabs without reading its DWARF: the N_SO names are left
/// empty (and the N_OSO's `n_sect`). For an incremental update, which
/// rewrites only the values of a group already in the image (and finds
/// none when the object has no debug information).
pub fn object_map_values<'a>(
    obj: &ObjectFile<'a>,
    layout: &Layout,
    oso: &(String, u64),
) -> Vec<Nlist<'a>> {
    object_map_for(0, obj, layout, oso, (Vec::new(), Vec::new()), 0)
}

/// The symbols the debug map names in each atom of `obj`, with their
/// offsets in it: every defined, non-temporary symbol (aliases and
/// symbols inside an atom too, as ld64 and lld list them), in address
/// order, ties in symbol-table order; and the tentative definition an
/// allocated common atom stands for.
fn symbols_by_atom(obj: &ObjectFile) -> Vec<AtomSymbol> {
    // One flat list sorted by atom, not a list per atom: most atoms have
    // one symbol, and an allocation each would cost more than the rest.
    let mut list: Vec<AtomSymbol> = Vec::with_capacity(obj.atoms.len());
    let temp =
        |name: &[u8]| name.is_empty() || name.first().is_some_and(|&c| c == b'L' || c == b'l');
    for (si, sym) in obj.symbols.iter().enumerate() {
        if sym.is_defined_in_section() && sym.atom != NONE && !temp(sym.name) {
            let atom = &obj.atoms[sym.atom as usize];
            let start = obj.sections[atom.section as usize].addr + u64::from(atom.offset);
            list.push(AtomSymbol {
                atom: sym.atom,
                offset: sym.n_value - start,
                symbol: si as u32,
            });
        }
    }
    for (ai, atom) in obj.atoms.iter().enumerate() {
        if atom.symbol != NONE && obj.symbols[atom.symbol as usize].is_common() {
            list.push(AtomSymbol {
                atom: ai as u32,
                offset: 0,
                symbol: atom.symbol,
            });
        }
    }
    group_by_atom(list, obj.atoms.len())
}

/// `list` ordered by (atom, offset, symbol): placed by atom in one
/// counting pass (which keeps each atom's entries in list order), then the
/// few atoms with several symbols sorted on their own. A general sort
/// would cost a dozen comparisons an entry, mostly to find what the
/// atom numbers already say.
fn group_by_atom(list: Vec<AtomSymbol>, atom_count: usize) -> Vec<AtomSymbol> {
    // start[a]: where atom a's entries begin.
    let mut start = vec![0u32; atom_count + 1];
    for a in &list {
        start[a.atom as usize + 1] += 1;
    }
    for a in 1..start.len() {
        start[a] += start[a - 1];
    }
    let mut grouped = list.clone();
    for a in list {
        let at = &mut start[a.atom as usize];
        grouped[*at as usize] = a;
        *at += 1;
    }
    for group in grouped.chunk_by_mut(|a, b| a.atom == b.atom) {
        if group.len() > 1 {
            group.sort_unstable_by_key(|a| (a.offset, a.symbol));
        }
    }
    grouped
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

/// One object's stabs: N_SO (directory, file), N_OSO, then per function
/// N_BNSYM, N_FUN (address), N_FUN (size), N_ENSYM, and per variable an
/// N_GSYM (external, found by name) or N_STSYM (local, with its address),
/// closed by an empty N_SO. A function's size runs to the next symbol in
/// its atom (an alias before another name at the same address has size 0,
/// as in ld64) or to the atom's end.
fn object_map_for<'a>(
    fi: usize,
    obj: &ObjectFile<'a>,
    layout: &Layout,
    oso: &(String, u64),
    (name, mut dir): (Vec<u8>, Vec<u8>),
    cpu_subtype: u8,
) -> Vec<Nlist<'a>> {
    let by_atom = symbols_by_atom(obj);
    // At most four stabs a symbol (a function's), and four around them.
    let mut out = Vec::with_capacity(4 + 4 * by_atom.len());
    if !dir.is_empty() && !dir.ends_with(b"/") {
        dir.push(b'/');
    }
    let (path, mtime) = oso;
    out.push(stab(dir, macho::N_SO, 0, 0, 0));
    out.push(stab(name, macho::N_SO, 0, 0, 0));
    out.push(stab(
        path.as_bytes().to_vec(),
        macho::N_OSO,
        cpu_subtype,
        1,
        *mtime,
    ));
    for syms in by_atom.chunk_by(|a, b| a.atom == b.atom) {
        let ai = syms[0].atom as usize;
        let atom = &obj.atoms[ai];
        let addr = layout.atom_addr[fi][ai];
        if addr == 0 || atom.alias_of.is_some() {
            continue;
        }
        let si = layout.atom_section[fi][ai];
        let sect = &layout.sections[si as usize];
        let n_sect = (si + 1) as u8;
        for (k, s) in syms.iter().enumerate() {
            let (offset, sym) = (s.offset, &obj.symbols[s.symbol as usize]);
            let at = addr + offset;
            if sect.is_code() {
                let end = syms.get(k + 1).map_or(u64::from(atom.size), |n| n.offset);
                out.push(stab(&b""[..], macho::N_BNSYM, n_sect, 0, at));
                out.push(stab(sym.name, macho::N_FUN, n_sect, 0, at));
                out.push(stab(&b""[..], macho::N_FUN, 0, 0, end - offset));
                out.push(stab(&b""[..], macho::N_ENSYM, n_sect, 0, at));
            } else if sym.is_external() {
                // Private externs too: ld64 gives only translation-unit
                // (static) symbols an N_STSYM.
                out.push(stab(sym.name, macho::N_GSYM, 0, 0, 0));
            } else {
                out.push(stab(sym.name, macho::N_STSYM, n_sect, 0, at));
            }
        }
    }
    out.push(stab(&b""[..], macho::N_SO, 1, 0, 0));
    out
}
