//! The LINKEDIT tables built from the symbol table and the layout: the
//! export trie, function starts, and the symbol table's three groups.

use crate::atom::NONE;
use crate::formats::{trie, uleb};
use crate::input::object::ObjectFile;
use crate::layout::{Content, Layout};
use crate::linkedit::stabs::{DebugMap, ExtraSymbols, Shared};
use crate::linkedit::symtab::{Externals, LocalRun, Nlist, SymbolGroups};
use crate::options::Options;
use crate::symbols::{Def, SymId, SymbolTable};
use object::macho;

/// The live, defined, non-private external symbols (what the image
/// exports, bar the header and absolute symbols), sorted by name: the bulk
/// of both the exports trie and the symbol table's externals, sorted once
/// for both; with each name's common prefix with the one before, which
/// the trie is built from.
pub struct SortedDefinitions {
    pub ids: Vec<SymId>,
    pub lcp: Vec<u32>,
}

/// See [`SortedDefinitions`].
pub fn sorted_definitions(symtab: &SymbolTable, layout: &Layout) -> SortedDefinitions {
    use rayon::prelude::*;
    let ids: Vec<SymId> = (0..symtab.syms.len() as SymId)
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&id| exported_definition(symtab, layout, id))
        .collect();
    let names: Vec<&[u8]> = ids
        .iter()
        .map(|&id| symtab.syms[id as usize].name)
        .collect();
    let trie::Sorted { order, lcp } = trie::sort(&names);
    SortedDefinitions {
        ids: order.into_iter().map(|k| ids[k as usize]).collect(),
        lcp,
    }
}

/// Whether symbol `id` is a live, defined, non-private external.
fn exported_definition(symtab: &SymbolTable, layout: &Layout, id: SymId) -> bool {
    matches!(symtab.syms[id as usize].def, Def::Defined { file, atom, private_extern: false, .. }
        if layout.atom_addr[file as usize][atom as usize] != 0)
}

/// Where each of `extra` (sorted by name) goes in `sorted` (sorted by
/// name): after the items of its name, as positions in `sorted` before
/// any insertion. A binary search each: the extras are a few symbols (the
/// header, absolute ones) beside 100k definitions.
fn insertion_points<T, U>(
    sorted: &[T],
    extra: &[U],
    name: impl Fn(&T) -> &[u8],
    extra_name: impl Fn(&U) -> &[u8],
) -> Vec<usize> {
    extra
        .iter()
        .map(|e| sorted.partition_point(|x| name(x) <= extra_name(e)))
        .collect()
}

/// Inserts `items` into `v` at `points` (ascending positions in `v` as it
/// was). A few are inserted in place, each moving the tail once; many, by
/// rebuilding the vector in one pass.
fn insert_at<T>(v: &mut Vec<T>, points: &[usize], items: Vec<T>) {
    debug_assert_eq!(points.len(), items.len());
    if items.len() <= 16 {
        v.reserve(items.len());
        for (k, (&at, item)) in points.iter().zip(items).enumerate() {
            v.insert(at + k, item);
        }
        return;
    }
    let mut out = Vec::with_capacity(v.len() + items.len());
    let mut rest = std::mem::take(v).into_iter();
    let mut taken = 0;
    for (&at, item) in points.iter().zip(items) {
        out.extend(rest.by_ref().take(at - taken));
        taken = at;
        out.push(item);
    }
    out.extend(rest);
    *v = out;
}

/// Exported symbols: every defined, non-private external, plus the header.
/// `sorted` is [`sorted_definitions`].
pub fn exports_trie(
    opts: &Options,
    symtab: &SymbolTable,
    layout: &Layout,
    objects: &[ObjectFile],
    sorted: &SortedDefinitions,
) -> Vec<u8> {
    use rayon::prelude::*;
    let export = |&id: &SymId| {
        let sym = &symtab.syms[id as usize];
        let Def::Defined {
            file,
            atom,
            offset,
            weak,
            ..
        } = sym.def
        else {
            unreachable!("an exported definition")
        };
        let base = layout.atom_addr[file as usize][atom as usize];
        let addr = base + u64::from(offset);
        let sec = &layout.sections[layout.atom_section[file as usize][atom as usize] as usize];
        let mut e = trie::Export::regular(sym.name, addr - layout.image_base);
        if weak {
            e.flags |= u64::from(macho::EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION);
        }
        if sec.kind() == macho::S_THREAD_LOCAL_VARIABLES {
            e.flags |= u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL);
        }
        e
    };
    // The header, when it is defined here, is exported below (or not).
    // Cut out by position, the rest keeps a known length: the threads
    // fill the list in place.
    let ids = &sorted.ids;
    let header = ids
        .binary_search_by(|&id| symtab.syms[id as usize].name.cmp(b"__mh_execute_header"))
        .ok();
    let (before, after) = match header {
        Some(at) => (&ids[..at], &ids[at + 1..]),
        None => (&ids[..], &[][..]),
    };
    // Each export reads its symbol and its atom's address and section:
    // scattered reads, spread over the threads.
    let exports: Vec<trie::Export> = before
        .par_iter()
        .chain(after.par_iter())
        .with_min_len(4096)
        .map(export)
        .collect();
    // The common prefixes, as the sort found them, but where the header
    // was cut out.
    let mut lcp = Vec::with_capacity(exports.len() + 2);
    match header {
        Some(at) => {
            lcp.extend_from_slice(&sorted.lcp[..at]);
            lcp.extend_from_slice(&sorted.lcp[at + 1..]);
            fix_common_prefixes(&exports, &mut lcp, &[at]);
        }
        None => lcp.extend_from_slice(&sorted.lcp),
    }
    // An executable exports its mach header (unless an export list leaves
    // it out); a dylib does not.
    let mut extra = Vec::new();
    if layout.image_base != 0 && crate::exports::header_exported(opts) {
        extra.push(trie::Export::regular(b"__mh_execute_header", 0));
    }
    // Exported absolute symbols: their value as it is (ld64; dyld does not
    // add the image's address to an absolute export).
    for (fi, obj) in objects.iter().enumerate() {
        for (si, s) in obj.symbols.iter().enumerate() {
            if s.is_stab() || s.kind() != macho::N_ABS || !s.is_external() || s.is_private_extern()
            {
                continue;
            }
            let id = symtab.file_globals[fi].get(si).copied().unwrap_or(NONE);
            let listed = |list: &[trie::Export]| list.iter().any(|e| e.name == s.name);
            if symtab.syms.get(id as usize).map(|g| g.def)
                != Some(Def::Absolute { value: s.n_value })
                || exports
                    .binary_search_by(|e: &trie::Export| e.name.cmp(s.name))
                    .is_ok()
                || listed(&extra)
            {
                continue;
            }
            extra.push(trie::Export {
                flags: u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE),
                ..trie::Export::regular(s.name, s.n_value)
            });
        }
    }
    let (exports, lcp) = merge_exports(exports, lcp, extra);
    trie::build_sorted(&exports, lcp)
}

/// Merges `extra` (any order, names not in `sorted`) into `sorted`
/// (sorted by name, with the common prefixes `lcp`), keeping `lcp` in
/// step: only the common prefixes around an inserted name are measured.
fn merge_exports<'a>(
    mut sorted: Vec<trie::Export<'a>>,
    mut lcp: Vec<u32>,
    mut extra: Vec<trie::Export<'a>>,
) -> (Vec<trie::Export<'a>>, Vec<u32>) {
    if extra.is_empty() {
        return (sorted, lcp);
    }
    extra.sort_by(|a, b| a.name.cmp(b.name));
    let at = insertion_points(&sorted, &extra, |e| e.name, |e| e.name);
    let count = extra.len();
    insert_at(&mut sorted, &at, extra);
    insert_at(&mut lcp, &at, vec![0; count]);
    // Where the extras went: each after the ones before it.
    let placed: Vec<usize> = at.iter().enumerate().map(|(k, &p)| p + k).collect();
    fix_common_prefixes(&sorted, &mut lcp, &placed);
    (sorted, lcp)
}

/// Measures again the common prefixes of names `at` and those after them
/// (where a name was inserted, or cut out): `exports` sorted by name.
fn fix_common_prefixes(exports: &[trie::Export], lcp: &mut [u32], at: &[usize]) {
    for &p in at {
        for i in [p, p + 1] {
            if let Some(slot) = lcp.get_mut(i) {
                *slot = match i {
                    0 => 0,
                    _ => trie::common_prefix(exports[i - 1].name, exports[i].name) as u32,
                };
            }
        }
    }
}

/// The symbol-table entry of an absolute symbol (`N_ABS`) of object
/// `fi`, as ld64 and lld list them: a local one stays local; a global one
/// is written once, by the first object defining it (the definition that
/// won), external, or local with `N_PEXT` when private. A global one comes
/// with its symbol id: [`symbol_runs`] keeps the first object's entry.
fn absolute_symbol(
    opts: &Options,
    symtab: &SymbolTable,
    (fi, si): (usize, usize),
    s: &crate::input::object::ObjSymbol,
) -> Option<(Nlist<'static>, Option<u32>)> {
    let temp = s.name.first().is_some_and(|&c| c == b'L' || c == b'l') || s.name.is_empty();
    if temp {
        return None;
    }
    let mut global = None;
    let n_type = if s.is_external() {
        let id = symtab.file_globals[fi].get(si).copied().unwrap_or(NONE);
        let def = symtab.syms.get(id as usize).map(|g| g.def);
        if !matches!(def, Some(Def::Absolute { .. })) {
            return None;
        }
        global = Some(id);
        match (s.is_private_extern(), opts.keep_private_externs) {
            (false, _) => macho::N_ABS | macho::N_EXT,
            (true, true) => macho::N_ABS | macho::N_EXT | macho::N_PEXT,
            (true, false) => macho::N_ABS | macho::N_PEXT,
        }
    } else {
        macho::N_ABS
    };
    let external = n_type & macho::N_EXT != 0;
    if opts.strip_locals && !external && n_type & macho::N_PEXT == 0 {
        return None;
    }
    let entry = Nlist {
        name: s.name.to_vec().into(),
        n_type,
        n_sect: 0,
        n_desc: 0,
        n_value: s.n_value,
    };
    Some((entry, global))
}

/// LC_FUNCTION_STARTS: ULEB deltas between the starts of code atoms.
pub fn function_starts(layout: &Layout, objects: &[ObjectFile]) -> Vec<u8> {
    // The output sections whose atoms with a symbol start functions.
    let code: Vec<bool> = layout
        .sections
        .iter()
        .map(|s| s.is_code() && matches!(s.content, Content::Atoms(_)))
        .collect();
    // Code atoms in layout order: already sorted by address.
    let atoms = layout
        .sections
        .iter()
        .zip(&code)
        .filter_map(|(s, &code)| match &s.content {
            Content::Atoms(list) if code => Some(list),
            _ => None,
        });
    let mut starts: Vec<u64> = Vec::with_capacity(atoms.clone().map(Vec::len).sum());
    for list in atoms {
        starts.extend(
            list.iter()
                .filter(|&&(f, a)| objects[f as usize].atoms[a as usize].symbol != NONE)
                .map(|&(f, a)| layout.atom_addr[f as usize][a as usize]),
        );
    }
    // Symbols inside atoms start functions too (as lld lists every
    // symbol in code): alternate entries, and the functions of objects
    // without subsections, whose code section is one atom. The linker's
    // Objective-C stubs are not functions. A symbol at the start of an
    // atom listed above (placed in a code section, with a symbol) adds
    // nothing; the few others are sorted apart and merged, so the common
    // case sorts nothing.
    let mut inner: Vec<u64> = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
        if obj.name == crate::objc::STUBS_OBJECT {
            continue;
        }
        let (addrs, sections) = (&layout.atom_addr[fi], &layout.atom_section[fi]);
        for sym in obj
            .symbols
            .iter()
            .filter(|s| s.is_defined_in_section() && s.atom != NONE)
        {
            let a = sym.atom as usize;
            let base = addrs[a];
            let atom = &obj.atoms[a];
            let sec = &obj.sections[atom.section as usize];
            if base == 0 || !crate::section_flags::is_code(sec.flags) || atom.alias_of.is_some() {
                continue;
            }
            let off = sym.n_value - sec.addr - u64::from(atom.offset);
            if off == 0 && atom.symbol != NONE && code[sections[a] as usize] {
                continue;
            }
            inner.push(base + off);
        }
    }
    if !inner.is_empty() {
        inner.sort_unstable();
        starts.extend(inner);
        // Two sorted runs: the stable sort merges them in one pass.
        starts.sort();
    }
    starts.dedup();
    // Most deltas take two or three bytes.
    let mut out = Vec::with_capacity(3 * starts.len() + 8);
    let mut prev = layout.image_base;
    for s in starts {
        uleb::write_uleb(&mut out, s - prev);
        prev = s;
    }
    out.push(0);
    crate::linkedit::pad_to(&mut out, 8);
    out
}

/// LC_DATA_IN_CODE: the objects' entries (data such as jump tables inside
/// code, for disassemblers), moved to where their atoms landed, as
/// 8-byte `data_in_code_entry` records sorted by offset from the header.
pub fn data_in_code(layout: &Layout, objects: &[ObjectFile]) -> Vec<u8> {
    use crate::input::eh_frame::AtomLookup;
    let mut entries: Vec<(u64, u16, u16)> = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
        for &(addr, length, kind) in &obj.data_in_code {
            let Some((atom, atom_start)) = obj.atom_at_address(u64::from(addr)) else {
                continue;
            };
            let placed = layout.atom_addr[fi][atom as usize];
            if placed == 0 || obj.atoms[atom as usize].alias_of.is_some() {
                continue; // dead-stripped, or not kept
            }
            let at = layout.body_addr(fi as u32, atom) + (u64::from(addr) - atom_start);
            entries.push((at - layout.image_base, length, kind));
        }
    }
    entries.sort_unstable();
    let mut out = Vec::with_capacity(entries.len() * 8);
    for (offset, length, kind) in entries {
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
    }
    out
}

/// The text `-oso_prefix PATH` strips from N_OSO paths: PATH made
/// absolute and resolved, keeping a trailing `/` (and `.` is the current
/// directory with a `/`, as ld64 reads it).
fn oso_prefix(p: &str) -> String {
    let mut out = std::fs::canonicalize(p)
        .map(|c| c.display().to_string())
        .unwrap_or_else(|_| p.to_string());
    if (p == "." || p.ends_with('/')) && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The symbol table: locals (unless -x), defined externals, imports.
pub fn symbol_groups<'a>(
    opts: &Options,
    symtab: &SymbolTable<'a>,
    layout: &Layout,
    objects: &[ObjectFile<'a>],
) -> SymbolGroups<'a> {
    let runs = symbol_runs(opts, symtab, layout, objects, None);
    let mut locals = Vec::with_capacity(runs.locals.iter().map(LocalRun::len).sum());
    for run in runs.locals {
        match run {
            LocalRun::Entries(v) | LocalRun::Object { entries: v, .. } => locals.extend(v),
            LocalRun::DebugMap(m) => locals.extend(m.nlists()),
        }
    }
    SymbolGroups {
        locals,
        externals: runs.externals.list,
        undefined: runs.undefined,
    }
}

/// The symbol table's groups with the locals as runs, in order: the
/// `-add_ast_path` stabs, each object's debug map, each object's local
/// symbols, then the header when it is not exported. Each object's runs
/// are built in parallel and written from where they are (see
/// [`crate::linkedit::symtab::TableLayout`]), never gathered into one list.
pub struct SymbolRuns<'a> {
    pub locals: Vec<LocalRun<'a>>,
    /// Sorted when [`symbol_runs`] is given the sorted definitions (names
    /// are unique: otherwise the writer sorts them), with their symbol
    /// ids, which the debug maps' stabs name.
    pub externals: Externals<'a>,
    pub undefined: Vec<Nlist<'a>>,
}

/// One object's part of the symbol table.
#[derive(Default)]
struct ObjectSymbols<'a> {
    stabs: Option<DebugMap<'a>>,
    locals: Vec<Nlist<'a>>,
    /// With the symbol id a stab shares the entry by (or `NONE`).
    externals: Vec<(Nlist<'a>, SymId)>,
    /// Entries of global absolute symbols: (in `externals`, index, id).
    absolute: Vec<(bool, usize, u32)>,
    /// By symbol index (when the object has a debug map): the entry the
    /// symbol's stab shares the string of.
    shared: Vec<Shared>,
    /// The symbols its debug map names that their atoms do not.
    extra: ExtraSymbols,
}

/// See [`SymbolRuns`]. With `sorted` ([`sorted_definitions`]), the
/// externals come sorted by name.
pub fn symbol_runs<'a>(
    opts: &Options,
    symtab: &SymbolTable<'a>,
    layout: &Layout,
    objects: &[ObjectFile<'a>],
    sorted: Option<&[SymId]>,
) -> SymbolRuns<'a> {
    use rayon::prelude::*;
    let prefix = opts.oso_prefix.as_deref().map(oso_prefix);
    let cpu_subtype = opts.target().cpu_subtype() as u8;
    let mut per_object: Vec<ObjectSymbols<'a>> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| {
            let stabs = !opts.strip_debug && obj.compile_unit.is_some();
            let mut out = object_symbols(opts, symtab, layout, (fi, obj), stabs);
            if stabs {
                let shared = std::mem::take(&mut out.shared);
                let extra = std::mem::take(&mut out.extra);
                let globals = &symtab.file_globals[fi];
                let path = match &prefix {
                    Some(p) => obj
                        .oso_path
                        .strip_prefix(p.as_str())
                        .unwrap_or(&obj.oso_path),
                    None => &obj.oso_path,
                };
                out.stabs = crate::linkedit::stabs::object_map(
                    fi,
                    obj,
                    layout,
                    (path, obj.mtime),
                    cpu_subtype,
                    extra,
                    // An exported symbol's stab shares the string of its
                    // entry among the externals; other stabs, their
                    // object's entry's. `object_symbols` found both for
                    // the symbols defined in sections; the rest (a common
                    // symbol's allocated atom) are looked up here.
                    |si| match shared.get(si) {
                        Some(&found) if found != Shared::None => found,
                        _ => match globals.get(si) {
                            Some(&id) if id != NONE && exported_definition(symtab, layout, id) => {
                                Shared::External(id)
                            }
                            _ => Shared::None,
                        },
                    },
                );
            }
            out
        })
        .collect();
    keep_first_absolutes(&mut per_object);
    let mut locals: Vec<LocalRun<'a>> = Vec::with_capacity(2 * objects.len() + 2);
    if !opts.strip_debug {
        // `-add_ast_path`: N_AST stabs naming Swift module files for the
        // debugger, before the objects' debug maps.
        locals.push(LocalRun::Entries(
            opts.ast_paths
                .iter()
                .map(|p| Nlist {
                    name: p.as_bytes().to_vec().into(),
                    n_type: object::macho::N_AST,
                    n_sect: 0,
                    n_desc: 0,
                    n_value: 0,
                })
                .collect(),
        ));
    }
    let mut externals = Vec::new();
    let mut object_locals = Vec::with_capacity(objects.len());
    for (fi, o) in per_object.into_iter().enumerate() {
        locals.extend(o.stabs.map(LocalRun::DebugMap));
        object_locals.push(LocalRun::Object {
            object: fi as u32,
            entries: o.locals,
        });
        externals.extend(o.externals);
    }
    locals.extend(object_locals);
    let mut header_run = Vec::new();
    if layout.image_base != 0 {
        let exported = crate::exports::header_exported(opts);
        let header = Nlist {
            name: b"__mh_execute_header"[..].into(),
            // Hidden by an export list: a private external, as lld
            // writes it (still referenced dynamically).
            n_type: macho::N_SECT
                | if exported {
                    macho::N_EXT
                } else {
                    macho::N_PEXT
                },
            n_sect: 1,
            n_desc: macho::REFERENCED_DYNAMICALLY,
            n_value: layout.image_base,
        };
        if exported {
            externals.push((header, NONE));
        } else {
            header_run.push(header);
        }
    }
    locals.push(LocalRun::Entries(header_run));
    locals.retain(|r| !r.is_empty());
    let sect_ordinal = |f: usize, a: usize| (layout.atom_section[f][a] + 1) as u8;
    let entry = |id: SymId| {
        let sym = &symtab.syms[id as usize];
        match sym.def {
            Def::Defined {
                file,
                atom,
                offset,
                weak,
                ..
            } => Nlist {
                name: sym.name.into(),
                n_type: macho::N_SECT | macho::N_EXT,
                n_sect: sect_ordinal(file as usize, atom as usize),
                n_desc: if weak { macho::N_WEAK_DEF } else { 0 },
                n_value: layout.atom_addr[file as usize][atom as usize] + u64::from(offset),
            },
            _ => unreachable!("an exported definition"),
        }
    };
    let (list, ids) = match sorted {
        Some(sorted) => {
            // The entries and their ids as two lists from the start, the
            // few other externals inserted into both.
            let mut list: Vec<Nlist<'a>> = sorted
                .par_iter()
                .with_min_len(4096)
                .map(|&id| entry(id))
                .collect();
            let mut ids = sorted.to_vec();
            externals.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            let at = insertion_points(&list, &externals, |n| &n.name, |e| &e.0.name);
            let (extra, extra_ids) = externals.into_iter().unzip();
            insert_at(&mut list, &at, extra);
            insert_at(&mut ids, &at, extra_ids);
            (list, ids)
        }
        None => {
            externals.par_extend(
                (0..symtab.syms.len() as SymId)
                    .into_par_iter()
                    .with_min_len(4096)
                    .filter(|&id| exported_definition(symtab, layout, id))
                    .map(|id| (entry(id), id)),
            );
            externals.into_iter().unzip()
        }
    };
    let externals = Externals {
        list,
        ids,
        sorted: sorted.is_some(),
    };
    let mut undefined = Vec::new();
    for sym in &symtab.syms {
        match sym.def {
            Def::Dylib { dylib, weak, .. } if sym.referenced => undefined.push(Nlist {
                name: sym.name.into(),
                n_type: macho::N_UNDF | macho::N_EXT,
                n_sect: 0,
                n_desc: if opts.flat_namespace {
                    u16::from(macho::DYNAMIC_LOOKUP_ORDINAL) << 8
                } else if dylib == crate::symbols::BUNDLE_LOADER {
                    u16::from(macho::EXECUTABLE_ORDINAL) << 8
                } else {
                    ((dylib + 1) as u16) << 8
                } | if sym.weak_ref { macho::N_WEAK_REF } else { 0 }
                    // A reference to a weak definition (dyld coalesces it).
                    | if weak { macho::N_REF_TO_WEAK } else { 0 },
                n_value: 0,
            }),
            Def::DynamicLookup if sym.referenced => undefined.push(Nlist {
                name: sym.name.into(),
                n_type: macho::N_UNDF | macho::N_EXT,
                n_sect: 0,
                n_desc: (u16::from(macho::DYNAMIC_LOOKUP_ORDINAL) << 8)
                    | if sym.weak_ref { macho::N_WEAK_REF } else { 0 },
                n_value: 0,
            }),
            _ => {}
        }
    }
    SymbolRuns {
        locals,
        externals,
        undefined,
    }
}

/// A global absolute symbol is written once, by the first object that
/// defines it: later objects' entries go.
fn keep_first_absolutes(per_object: &mut [ObjectSymbols]) {
    let mut seen = rustc_hash::FxHashSet::default();
    for o in per_object.iter_mut().filter(|o| !o.absolute.is_empty()) {
        let mut drop_local: Vec<usize> = Vec::new();
        let mut drop_external = Vec::new();
        for &(external, index, id) in &o.absolute {
            if !seen.insert(id) {
                if external {
                    drop_external.push(index);
                } else {
                    drop_local.push(index);
                }
            }
        }
        fn retain<T>(list: &mut Vec<T>, dropped: &[usize]) {
            let mut k = 0;
            list.retain(|_| {
                k += 1;
                !dropped.contains(&(k - 1))
            });
        }
        retain(&mut o.locals, &drop_local);
        retain(&mut o.externals, &drop_external);
        if let Some(m) = o.stabs.as_mut().filter(|_| !drop_local.is_empty()) {
            m.drop_locals(&drop_local);
        }
    }
}

/// Object `fi`'s local symbols (and the private externals it defines that
/// stay external with `-keep_private_externs`, and its absolute ones);
/// with `stabs`, which entry each symbol's stab may share.
fn object_symbols<'a>(
    opts: &Options,
    symtab: &SymbolTable<'a>,
    layout: &Layout,
    (fi, obj): (usize, &ObjectFile<'a>),
    stabs: bool,
) -> ObjectSymbols<'a> {
    let mut g = ObjectSymbols::default();
    if stabs {
        g.shared = vec![Shared::None; obj.symbols.len()];
    }
    let sect_ordinal = |f: usize, a: usize| (layout.atom_section[f][a] + 1) as u8;
    for (si, s) in obj.symbols.iter().enumerate() {
        if !s.is_stab() && s.kind() == macho::N_ABS {
            if let Some((entry, global)) = absolute_symbol(opts, symtab, (fi, si), s) {
                let external = entry.n_type & macho::N_EXT != 0;
                let index = if external {
                    g.externals.len()
                } else {
                    g.locals.len()
                };
                if let Some(id) = global {
                    g.absolute.push((external, index, id));
                }
                // Absolute symbols have no stabs: no id to share by.
                if external {
                    g.externals.push((entry, NONE));
                } else {
                    g.locals.push(entry);
                }
            }
            continue;
        }
        if s.is_stab() || !s.is_defined_in_section() || s.atom == NONE {
            continue;
        }
        if stabs {
            // The debug map's symbols, found in the same pass.
            g.extra.note(obj, si, s);
        }
        // An external symbol is written here only when its winning
        // definition is this one and it is not exported (private
        // extern, or left out by an export list); exported ones are
        // written once, from the global table.
        let id = if s.is_external() {
            symtab.file_globals[fi].get(si).copied().unwrap_or(NONE)
        } else {
            NONE
        };
        let private = if s.is_external() {
            match symtab.syms.get(id as usize).map(|g| g.def) {
                Some(Def::Defined {
                    file,
                    atom,
                    private_extern: true,
                    ..
                }) if file == fi as u32 && atom == s.atom => true,
                Some(Def::Defined {
                    file,
                    atom,
                    private_extern: false,
                    ..
                }) => {
                    // Exported (if its definition is live): its stab
                    // shares the string of its entry among the
                    // externals, found here while the definition is at
                    // hand (see `exported_definition`).
                    if let Some(slot) = g.shared.get_mut(si) {
                        if layout.atom_addr[file as usize][atom as usize] != 0 {
                            *slot = Shared::External(id);
                        }
                    }
                    continue;
                }
                _ => continue,
            }
        } else {
            false
        };
        let temp = s.name.first().is_some_and(|&c| c == b'L' || c == b'l') || s.name.is_empty();
        if temp || (opts.strip_locals && !private) {
            continue;
        }
        // `-keep_private_externs`: they stay external (N_EXT | N_PEXT),
        // among the defined externals, and are still not exported.
        let keep_external = private && opts.keep_private_externs;
        let a = s.atom as usize;
        if layout.atom_addr[fi][a] == 0 {
            continue; // dead-stripped
        }
        let atom = &obj.atoms[a];
        if atom.alias_of.is_some() && !atom.live {
            // A dead copy of a merged literal: its address is the
            // kept copy's, but nothing live names it (lld drops it too).
            continue;
        }
        let sec = &obj.sections[atom.section as usize];
        let addr = layout.atom_addr[fi][a] + (s.n_value - sec.addr - u64::from(atom.offset));
        let entry = Nlist {
            name: s.name.into(),
            n_type: macho::N_SECT
                | if private { macho::N_PEXT } else { 0 }
                | if keep_external { macho::N_EXT } else { 0 },
            n_sect: sect_ordinal(fi, a),
            n_desc: 0,
            n_value: addr,
        };
        let shared = if keep_external {
            g.externals.push((entry, id));
            Shared::External(id)
        } else {
            g.locals.push(entry);
            Shared::Local(g.locals.len() as u32 - 1)
        };
        if let Some(slot) = g.shared.get_mut(si) {
            *slot = shared;
        }
    }
    g
}
