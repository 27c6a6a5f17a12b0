//! What a full incremental link records for later updates, and the
//! identities both sides agree on: an atom's key, an object's symbol-table
//! hash, a literal's content hash, the shape of an atom's dyld fixups.

use super::state::{
    self, Allocation, AtomRecord, GlobalKind, GlobalRecord, LinkeditRecord, Meta, ObjectInfo,
    ObjectRecord, SectionRecord, SegmentRecord, Site, SiteKind,
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
use std::hash::Hasher;
use xxhash_rust::xxh3::Xxh3;

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
    let fdes = fde_functions(obj);
    let mut named: Vec<Option<(u8, &[u8])>> = vec![None; obj.atoms.len()];
    for s in &obj.symbols {
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
        let best = &mut named[s.atom as usize];
        if best.is_none_or(|(r, _)| rank > r) {
            *best = Some((rank, s.name));
        }
    }
    let mut unnamed = vec![0u32; obj.sections.len()];
    let mut cies: rustc_hash::FxHashMap<&[u8], u32> = Default::default();
    let mut keys: Vec<Vec<u8>> = obj
        .atoms
        .iter()
        .enumerate()
        .map(|(ai, a)| {
            if is_eh_frame(&obj.sections[a.section as usize]) {
                if fdes.contains_key(&(ai as u32)) {
                    return Vec::new(); // named below, after its function
                }
                let data = obj.atom_data(ai as u32);
                if crate::input::eh_frame::is_cie(data) {
                    let n = cies.entry(data).or_default();
                    *n += 1;
                    return cie_key(data, cie_personality(obj, ai as u32), *n - 1);
                }
            }
            if a.symbol != NONE {
                let first = obj.symbols[a.symbol as usize].name;
                return named[ai].map_or(first, |(_, name)| name).to_vec();
            }
            let n = &mut unnamed[a.section as usize];
            *n += 1;
            format!("#{}#{}", obj.sections[a.section as usize].sectname, *n - 1).into_bytes()
        })
        .collect();
    for (&fde, &(func, at)) in &fdes {
        if keys[fde as usize].is_empty() {
            let mut key = fde_key(&keys[func as usize]);
            // A function inside another's atom (no subsections) is told
            // apart by its offset.
            if at != 0 {
                key.extend_from_slice(format!("+{at:#x}").as_bytes());
            }
            keys[fde as usize] = key;
        }
    }
    keys
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
    let mut key = b"#__eh_frame#cie#".to_vec();
    for b in data {
        key.extend_from_slice(format!("{b:02x}").as_bytes());
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

/// The key of the FDE of the function whose key is `function`.
pub fn fde_key(function: &[u8]) -> Vec<u8> {
    let mut key = b"#__eh_frame#fde#".to_vec();
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
pub fn symbols_hash(obj: &ObjectFile) -> u64 {
    let mut names: Vec<(&[u8], u8, u16)> = obj
        .symbols
        .iter()
        .filter(|s| {
            !s.is_stab() && (s.is_defined_in_section() || s.is_common() || s.kind() == macho::N_ABS)
        })
        .map(|s| (s.name, s.n_type, s.n_desc))
        .collect();
    names.sort_unstable();
    let mut h = Xxh3::new();
    for (name, t, d) in names {
        h.write(name);
        h.write_u8(0);
        h.write_u8(t);
        h.write_u16(d);
    }
    h.finish()
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
    if start == end {
        return 0;
    }
    let mut h = Xxh3::new();
    for f in &fixups[start..end] {
        h.write_u64(f.addr - addr);
        match f.kind {
            FixupKind::Rebase { .. } => h.write_u8(0),
            FixupKind::Bind { import, addend } => {
                h.write_u8(1);
                h.write(import_name(import));
                h.write_u8(0);
                h.write_i64(addend);
            }
            FixupKind::WeakBind { import, addend } => {
                h.write_u8(2);
                h.write(import_name(import));
                h.write_u8(0);
                h.write_i64(addend);
            }
        }
    }
    h.finish() | 1
}

/// Code atoms that some other atom refers to at a nonzero offset: they
/// must not move (their body is reachable only through the canonical slot).
fn interior_targets(objects: &[ObjectFile], symtab: &SymbolTable) -> Vec<Vec<bool>> {
    let per_file: Vec<Vec<(u32, u32)>> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let mut out = Vec::new();
            for (ai, atom) in obj.atoms.iter().enumerate() {
                // An FDE's pointer into its function is rewritten with the
                // rest of its object when the function moves.
                let sec = obj.section_of(ai as u32);
                if sec.metadata || is_eh_frame(sec) {
                    continue;
                }
                for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                    let pair = r.subtrahend.is_some();
                    for (t, interior) in [
                        (Some(r.target), pair || r.addend != 0),
                        (r.subtrahend, true),
                    ] {
                        let target = match t {
                            Some(Target::Atom(a)) => Some((fi as u32, a, 0)),
                            Some(tg @ Target::Symbol(_)) => symtab
                                .global_of(fi as u32, tg)
                                .and_then(|g| match symtab.syms[g as usize].def {
                                    Def::Defined {
                                        file, atom, offset, ..
                                    } => Some((file, atom, offset)),
                                    _ => None,
                                }),
                            None => None,
                        };
                        if let Some((f, a, offset)) = target {
                            if (interior || offset != 0) && (f, a) != (fi as u32, ai as u32) {
                                out.push((f, a));
                            }
                        }
                    }
                }
            }
            out
        })
        .collect();
    let mut marks: Vec<Vec<bool>> = objects.iter().map(|o| vec![false; o.atoms.len()]).collect();
    for (f, a) in per_file.into_iter().flatten() {
        marks[f as usize][a as usize] = true;
    }
    marks
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
        placed.sort_unstable();
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

fn global_record(symtab: &SymbolTable, id: usize, facts: &ImageFacts) -> Option<GlobalRecord> {
    let sym = &symtab.syms[id];
    let layout = &facts.layout;
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
        slots: facts.slots[id],
        refs: 0,
        sites: (0, 0),
    })
}

/// Names of the globals whose winning definition object `fi` holds.
pub fn defined_globals(obj: &ObjectFile, fi: u32, symtab: &SymbolTable) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..obj.symbols.len() as u32)
        .filter_map(|i| symtab.global_of(fi, Target::Symbol(i)))
        .filter(|&g| matches!(symtab.syms[g as usize].def, Def::Defined { file, .. } if file == fi))
        .map(|g| symtab.syms[g as usize].name.to_vec())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The globals defined in other objects that object `fi` refers to (by an
/// undefined or tentative symbol), sorted and unique.
fn references(obj: &ObjectFile, fi: u32, symtab: &SymbolTable) -> Vec<SymId> {
    let mut out: Vec<SymId> = obj
        .symbols
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_external() && !s.is_defined_in_section())
        .filter_map(|(i, _)| symtab.global_of(fi, Target::Symbol(i as u32)))
        .filter(|&g| matches!(symtab.syms[g as usize].def, Def::Defined { file, .. } if file != fi))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Names sorted byte-wise, as an object record's `refs` must be: an
/// update compares them by binary search, and symbol ids (the order
/// [`references`] gives) follow the inputs, not the names.
fn sorted_names(names: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = names.collect();
    out.sort_unstable();
    out
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
                out.push((
                    g,
                    Site {
                        object: site_object,
                        kind: if pair {
                            SiteKind::Unpatchable
                        } else {
                            SiteKind::Field(r.kind)
                        },
                        length: r.length,
                        addend: r.addend,
                        addr: addr + u64::from(r.offset),
                    },
                ));
            }
        }
    }
    out
}

/// Writes the state of a full incremental link.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_state(
    output: Fingerprint,
    uuid: [u8; 16],
    args: u64,
    inputs: Vec<Fingerprint>,
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    facts: &ImageFacts,
    chained: bool,
) -> std::io::Result<super::Pending> {
    let layout = &facts.layout;
    let arch = crate::arch::by_cpu_type(facts.cpu_type).ok_or_else(|| {
        std::io::Error::other(format!("no target for cputype {:#x}", facts.cpu_type))
    })?;
    let headroom = Headroom::for_arch(arch);
    let interior = interior_targets(objects, symtab);
    let (slots, used) = slots_and_used_ends(objects, layout, headroom);
    let unwind: rustc_hash::FxHashMap<u64, u32> = facts
        .unwind_rows
        .iter()
        .map(|r| (r.function_addr, r.encoding))
        .collect();
    // Per object: its serialised record, its literals (hash, address), the
    // globals it refers to and its sites.
    type Recorded = (Vec<u8>, Vec<(u64, u64)>, Vec<SymId>, Vec<(SymId, Site)>);
    let records: Vec<Recorded> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let keys = atom_keys(obj);
            let mut literals = Vec::new();
            let mut atoms = Vec::new();
            for (ai, (atom, key)) in obj.atoms.iter().zip(keys).enumerate() {
                let addr = layout.atom_addr[fi][ai];
                if addr == 0 || atom.alias_of.is_some() {
                    continue;
                }
                let si = layout.atom_section[fi][ai];
                let sec = &layout.sections[si as usize];
                if is_literal(sec.flags) {
                    // Found by content (the literal table), not by key.
                    literals.push((literal_hash(si as u16, obj.atom_data(ai as u32)), addr));
                    continue;
                }
                let mut flags = 0;
                if sec.is_code() {
                    flags |= state::CODE;
                }
                if interior[fi][ai] {
                    flags |= state::INTERIOR;
                }
                if is_common_storage(obj, ai) {
                    flags |= state::COMMON;
                }
                atoms.push(AtomRecord {
                    key,
                    section: si as u16,
                    align_log2: atom.align_log2,
                    flags,
                    addr,
                    slot: slots[fi][ai],
                    body: 0,
                    body_cap: 0,
                    size: atom.size,
                    fixups: fixup_shape(
                        &facts.fixups,
                        &|i| facts.imports[i as usize].name.as_slice(),
                        addr,
                        u64::from(atom.size),
                    ),
                    unwind: unwind.get(&addr).copied().unwrap_or(0),
                });
            }
            let refs = references(obj, fi as u32, symtab);
            let elsewhere = |g: SymId| {
                matches!(symtab.syms[g as usize].def, Def::Defined { file, .. } if file != fi as u32)
                    && is_data(symtab, layout, g)
            };
            let sites = data_sites(obj, fi as u32, fi as u32, symtab, layout, &elsewhere);
            let name = |g: SymId| symtab.syms[g as usize].name.to_vec();
            let rec = ObjectRecord {
                symbols: symbols_hash(obj),
                atoms,
                globals: defined_globals(obj, fi as u32, symtab),
                refs: sorted_names(refs.iter().map(|&g| name(g))),
                sites: sites.iter().map(|&(g, s)| (name(g), s)).collect(),
                oso: obj.oso_path.clone(),
            };
            (
                super::state::encode(&rec).expect("records serialise"),
                literals,
                refs,
                sites,
            )
        })
        .collect();
    let mut refs = vec![0u32; symtab.syms.len()];
    for &g in records.iter().flat_map(|r| &r.2) {
        refs[g as usize] += 1;
    }
    let mut sites: Vec<(SymId, Site)> = records.iter().flat_map(|r| r.3.iter().copied()).collect();
    sites.sort_unstable_by_key(|&(g, s)| (g, s.addr));
    let mut site_range = vec![(0u32, 0u32); symtab.syms.len()];
    for (i, &(g, _)) in sites.iter().enumerate() {
        let r = &mut site_range[g as usize];
        if r.1 == 0 {
            r.0 = i as u32;
        }
        r.1 += 1;
    }
    let globals: Vec<(&[u8], GlobalRecord)> = (0..symtab.syms.len())
        .filter_map(|id| {
            let mut g = global_record(symtab, id, facts)?;
            if is_data(symtab, layout, id as SymId) {
                g.flags |= state::DATA;
            }
            g.refs = refs[id];
            g.sites = site_range[id];
            Some((symtab.syms[id].name, g))
        })
        .collect();
    let sites: Vec<Site> = sites.into_iter().map(|(_, s)| s).collect();
    let mut literals: Vec<(u64, u64)> = records.iter().flat_map(|r| r.1.iter().copied()).collect();
    let path = super::state_path(&output.path);
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
    let blobs: Vec<Vec<u8>> = records.into_iter().map(|r| r.0).collect();
    state::write_base(&path, meta, &blobs, &globals, &mut literals, &sites)
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

    #[test]
    fn atoms_are_keyed_by_their_names_not_the_assembler_temporary_before_them() {
        let before = keys(&object_with_ltmp("_helper", "_value"));
        assert_eq!(before, ["_helper", "_value"]);
        // `helper` deleted: `value` comes first, and keeps its identity.
        let after = keys(&object_with_ltmp("_value", "_other"));
        assert_eq!(after, ["_value", "_other"]);
    }
}
