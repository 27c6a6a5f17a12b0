//! Symbol resolution for a link: objects first, archive members pulled for
//! undefined symbols until nothing changes, dylib exports, then the
//! fix-ups that need the winners: commons become atoms, export lists
//! hide symbols, literals merge, `-dead_strip` runs, and every duplicate or
//! undefined symbol is reported at once.

use crate::atom::{AliasOf, Atom, Target, NONE};
use crate::error::{LinkError, Result};
use crate::input::object::{InputSection, ObjectFile};
use crate::input::{parse_member, Inputs, Library};
use crate::layout;
use crate::options::{Options, OutputKind, UndefinedTreatment};
use crate::symbols::{Def, SymId, SymbolTable};
use object::macho;
use rayon::prelude::*;
use std::collections::HashMap;

/// Resolves symbols: objects first, then archive members pulled for
/// undefined symbols until nothing changes, then dylib exports. Reports all
/// duplicate and undefined symbols at once.
pub(crate) fn resolve<'a>(opts: &Options, inputs: &mut Inputs<'a>) -> Result<SymbolTable<'a>> {
    let mut symtab = SymbolTable::from_objects(&inputs.objects);
    let mut loaded = crate::load_order::Loaded {
        members: Default::default(),
        command_line: inputs.objects.len() as u32,
    };
    // `-sectcreate` and `-init`: the linker's own object.
    if let Some(obj) = crate::cmdline::object(opts)? {
        let idx = inputs.objects.len() as u32;
        inputs.objects.push(obj);
        symtab.add_object(idx, &inputs.objects[idx as usize]);
    }
    // An aliased symbol must be defined: searched for like `-u`.
    let aliases = crate::cmdline::aliases(opts)?;
    for (sym, _) in &aliases {
        let id = symtab.intern(leak(sym));
        symtab.syms[id as usize].referenced = true;
        symtab.syms[id as usize].weak_ref = false;
    }
    for name in &opts.force_undefined {
        let id = symtab.intern(leak(name));
        symtab.syms[id as usize].referenced = true;
        symtab.syms[id as usize].weak_ref = false;
    }
    if !opts.use_chained_fixups() {
        // Classic lazy binding calls dyld_stub_binder (from libSystem).
        let binder = symtab.intern(b"dyld_stub_binder");
        symtab.syms[binder as usize].referenced = true;
        symtab.syms[binder as usize].weak_ref = false;
    }
    // A dylib has no entry point.
    let entry = if opts.output_kind == OutputKind::Executable {
        let entry = symtab.intern(leak(&opts.entry));
        symtab.syms[entry as usize].referenced = true;
        symtab.syms[entry as usize].weak_ref = false;
        entry
    } else {
        NONE
    };
    // Pull archive members until no undefined symbol names one.
    let mut archive_index: rustc_hash::FxHashMap<&'a [u8], (u32, u32)> = Default::default();
    for lib in &inputs.libraries {
        if let Library::Archive(a) = *lib {
            for &(name, member) in &inputs.archives[a as usize].symbols {
                archive_index.entry(name).or_insert((a, member));
            }
        }
    }
    pull_members(opts, inputs, &mut symtab, &archive_index, &mut loaded)?;
    // Message-send stubs for the selectors still undefined; their
    // `_objc_msgSend` may itself come from an archive.
    let objc_stubs = add_objc_stubs(opts, inputs, &mut symtab)?;
    if objc_stubs.is_some() {
        pull_members(opts, inputs, &mut symtab, &archive_index, &mut loaded)?;
    }
    inputs.layout_order = crate::load_order::lld_order(inputs, &loaded);
    // What is still undefined may come from a dylib (first in command-line order).
    let undefined: Vec<SymId> = symtab.undefined().collect();
    // Libraries that symbols of a dylib bind to instead of it (`$ld$previous`
    // targets, implicitly linked re-exports), added after the command
    // line's when first used: (dylib, its other library) -> dylib index.
    let mut others: HashMap<(u32, u32), u32> = HashMap::new();
    for id in undefined {
        let name = symtab.syms[id as usize].name;
        // `-bundle_loader`'s executable comes first, as in lld.
        if let Some(s) = inputs
            .bundle_loader
            .as_ref()
            .and_then(|l| l.exports.get(name))
        {
            symtab.syms[id as usize].def = Def::Dylib {
                dylib: crate::symbols::BUNDLE_LOADER,
                weak: s.weak,
                thread_local: s.thread_local,
            };
            continue;
        }
        // The first dylib that exports it, unless a later one has a strong
        // definition where the first has a weak one (as lld picks).
        let mut found: Option<(u32, crate::input::dylib::DylibSymbol)> = None;
        for lib in &inputs.libraries {
            if let Library::Dylib(d) = *lib {
                if let Some(&s) = inputs.dylibs[d as usize].exports.get(name) {
                    if found.is_none_or(|(_, first)| first.weak && !s.weak) {
                        found = Some((d, s));
                    }
                    if !s.weak {
                        break;
                    }
                }
            }
        }
        if let Some((d, s)) = found {
            let d = match inputs.dylibs[d as usize].moved.get(name) {
                Some(&p) => other_dylib(&mut inputs.dylibs, &mut others, d, p),
                None => d,
            };
            symtab.syms[id as usize].def = Def::Dylib {
                dylib: d,
                weak: s.weak,
                thread_local: s.thread_local,
            };
        }
    }
    crate::weak::mark_overrides(&mut symtab, inputs);
    crate::linker_symbols::define(opts, &mut symtab);
    let mut alias_errors = crate::cmdline::define_aliases(&mut symtab, &aliases);
    alias_errors.extend(commons_against_dylibs(opts, &mut symtab, inputs));
    let mut errors = duplicate_errors(&symtab, &inputs.objects);
    errors.extend(alias_errors);
    allocate_commons(&mut symtab, &mut inputs.objects);
    hide_unexported(opts, &mut symtab)?;
    crate::interpose::mark(opts, &mut symtab);
    merge_literals(&mut inputs.objects, &inputs.layout_order);
    drop_coalesced_weak_definitions(&mut inputs.objects, &symtab);
    if !opts.use_chained_fixups() {
        let idx = inputs.objects.len() as u32;
        inputs.objects.push(dyld_private_object());
        symtab.add_object(idx, &inputs.objects[idx as usize]);
        inputs.layout_order.push(idx);
        inputs.dyld_private = Some(idx);
    }
    // Under -incremental, -dead_strip keeps every atom when it can (see
    // `keep_all_for_incremental` for why).
    let strip = opts.dead_strip
        && (!opts.incremental || {
            inputs.dead_strip_blocker =
                crate::dead_strip::keep_all_for_incremental(opts, &inputs.objects, &symtab);
            inputs.dead_strip_blocker.is_some()
        });
    if strip {
        crate::dead_strip::dead_strip(opts, &mut inputs.objects, &symtab, &inputs.layout_order);
        forget_dead_imports(opts, &mut symtab, &inputs.objects);
    }
    if let Some(idx) = objc_stubs {
        crate::objc::after_dead_strip(&mut inputs.objects[idx as usize]);
    }
    if crate::init_offsets::applies(
        opts.use_chained_fixups() || opts.init_offsets,
        opts.incremental,
    ) {
        crate::init_offsets::convert(&mut inputs.objects);
    }
    if let Some(obj) = crate::objc::merge_image_info(&mut inputs.objects)? {
        let idx = inputs.objects.len() as u32;
        inputs.objects.push(obj);
        symtab.add_object(idx, &inputs.objects[idx as usize]);
    }
    // After dead stripping: a symbol only dead code references is no error.
    errors.extend(undefined_errors(opts, &mut symtab, &inputs.objects, entry));
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    Ok(symtab)
}

/// Pulls archive members until no undefined symbol names one.
fn pull_members<'a>(
    opts: &Options,
    inputs: &mut Inputs<'a>,
    symtab: &mut SymbolTable<'a>,
    archive_index: &rustc_hash::FxHashMap<&'a [u8], (u32, u32)>,
    loaded: &mut crate::load_order::Loaded,
) -> Result<()> {
    loop {
        // Each member wanted, with the first symbol that wants it.
        let mut why: rustc_hash::FxHashMap<(u32, u32), &[u8]> = Default::default();
        for id in symtab.undefined() {
            let name = symtab.syms[id as usize].name;
            if let Some(&m) = archive_index.get(name) {
                if !inputs.loaded_members.contains(&m) {
                    why.entry(m).or_insert(name);
                }
            }
        }
        if why.is_empty() {
            break;
        }
        let mut wanted: Vec<(u32, u32)> = why.keys().copied().collect();
        wanted.sort_unstable();
        if opts.why_load {
            // `-why_load`, in lld's words, on stdout as ld64 prints it.
            for m in &wanted {
                println!(
                    "{} forced load of {}",
                    String::from_utf8_lossy(why[m]),
                    inputs.archives[m.0 as usize].member_name(m.1)
                );
            }
        }
        let parsed: Vec<Result<ObjectFile<'a>>> = wanted
            .par_iter()
            .map(|&(a, m)| parse_member(&inputs.archives[a as usize], m, opts.target()))
            .collect();
        for (m, obj) in wanted.into_iter().zip(parsed) {
            inputs.loaded_members.insert(m);
            let obj = obj?;
            let idx = inputs.objects.len() as u32;
            loaded.members.insert(m, idx);
            inputs.objects.push(obj);
            symtab.add_object(idx, &inputs.objects[idx as usize]);
        }
    }
    Ok(())
}

/// Adds the linker's Objective-C object (see [`crate::objc`]) when some
/// `_objc_msgSend$sel` is still undefined: one stub per such symbol, in
/// symbol-table order (first reference first, as lld orders them).
/// Returns its index among the objects.
fn add_objc_stubs<'a>(
    opts: &Options,
    inputs: &mut Inputs<'a>,
    symtab: &mut SymbolTable<'a>,
) -> Result<Option<u32>> {
    let selectors: Vec<&'a [u8]> = symtab
        .undefined()
        .map(|id| symtab.syms[id as usize].name)
        .filter(|name| crate::objc::is_stub_symbol(name))
        .collect();
    if selectors.is_empty() {
        return Ok(None);
    }
    let (stub, warning) = crate::objc::stub_form(opts.target(), opts.objc_stubs);
    if let Some(w) = warning {
        opts.warn(&w)?;
    }
    let idx = inputs.objects.len() as u32;
    inputs
        .objects
        .push(crate::objc::stubs_object(&stub, &selectors));
    symtab.add_object(idx, &inputs.objects[idx as usize]);
    Ok(Some(idx))
}

/// The dylib standing for other library `p` of dylib `d` (see
/// [`Dylib::moved`](crate::input::dylib::Dylib::moved)), added to the
/// link's dylibs the first time a symbol binds to it (so the output loads
/// it only when used). A dylib of the same install name is shared.
fn other_dylib(
    dylibs: &mut Vec<crate::input::dylib::Dylib>,
    added: &mut HashMap<(u32, u32), u32>,
    d: u32,
    p: u32,
) -> u32 {
    if let Some(&index) = added.get(&(d, p)) {
        return index;
    }
    let library = dylibs[d as usize].others[p as usize].clone();
    // A library of that install name already loaded (on the command line,
    // or added before) is used as it is: one load command per library.
    let existing = dylibs
        .iter()
        .position(|other| other.install_name == library.install_name)
        .map(|i| i as u32);
    let index = existing.unwrap_or_else(|| {
        dylibs.push(crate::input::dylib::Dylib {
            name: format!("{} (for {})", library.install_name, dylibs[d as usize].name),
            install_name: library.install_name,
            current_version: library.current_version,
            compatibility_version: library.compatibility_version,
            exports: Default::default(),
            moved: Default::default(),
            others: Vec::new(),
        });
        dylibs.len() as u32 - 1
    });
    added.insert((d, p), index);
    index
}

/// `-commons use_dylibs` / `-commons error`: a tentative definition that a
/// dylib also defines is replaced by the dylib's, or is an error.
fn commons_against_dylibs(
    opts: &Options,
    symtab: &mut SymbolTable,
    inputs: &Inputs,
) -> Vec<String> {
    let mut errors = Vec::new();
    if opts.commons == crate::options::Commons::IgnoreDylibs {
        return errors;
    }
    for sym in &mut symtab.syms {
        let Def::Common { file, .. } = sym.def else {
            continue;
        };
        let found = inputs.libraries.iter().find_map(|lib| match *lib {
            Library::Dylib(d) => inputs.dylibs[d as usize]
                .exports
                .get(sym.name)
                .map(|s| (d, *s)),
            Library::Archive(_) => None,
        });
        let Some((d, s)) = found else {
            continue;
        };
        if opts.commons == crate::options::Commons::UseDylibs {
            // Its object's references now bind to the dylib (strongly).
            sym.referenced = true;
            sym.weak_ref = false;
            sym.def = Def::Dylib {
                dylib: d,
                weak: s.weak,
                thread_local: s.thread_local,
            };
        } else {
            errors.push(format!(
                "tentative definition of {} in {} conflicts with a definition in {} (-commons error)",
                String::from_utf8_lossy(sym.name),
                inputs.objects[file as usize].name,
                inputs.dylibs[d as usize].name
            ));
        }
    }
    errors
}

/// An object of the linker's own with one 8-byte `__DATA,__data` atom:
/// `__dyld_private`, which the stub helper hands to dyld_stub_binder.
fn dyld_private_object() -> ObjectFile<'static> {
    static ZEROS: [u8; 8] = [0; 8];
    ObjectFile {
        name: "<internal>".into(),
        sections: vec![InputSection {
            segname: "__DATA".into(),
            sectname: "__data".into(),
            addr: 0,
            size: 8,
            align_log2: 3,
            flags: macho::S_REGULAR,
            data: &ZEROS,
            atoms_start: 0,
            atoms_len: 1,
            kept: true,
            metadata: false,
        }],
        symbols: Vec::new(),
        atoms: vec![Atom {
            section: 0,
            offset: 0,
            size: 8,
            align_log2: 3,
            relocs_start: 0,
            relocs_end: 0,
            symbol: NONE,
            alias_of: AliasOf::NONE,
            live: true,
        }],
        relocs: Vec::new(),
        oso_path: String::new(),
        mtime: 0,
        input: u32::MAX,
        member: false,
        data_in_code: Vec::new(),
        parsed_tables: &[],
        compile_unit: None,
    }
}

/// Applies -exported_symbols_list / -unexported_symbols_list: globals they
/// leave out become private externs.
pub(crate) fn hide_unexported(opts: &Options, symtab: &mut SymbolTable) -> Result<()> {
    if opts.exported_symbols_list.is_none()
        && opts.unexported_symbols_list.is_none()
        && opts.exported_symbols.is_empty()
        && opts.unexported_symbols.is_empty()
        && !opts.no_exported_symbols
    {
        return Ok(());
    }
    let filter = crate::exports::ExportFilter::from_options(opts)?;
    for sym in &mut symtab.syms {
        if let Def::Defined { private_extern, .. } = &mut sym.def {
            if !*private_extern && !filter.exports(sym.name) {
                *private_extern = true;
            } else if *private_extern && sym.weak_def_can_be_hidden && filter.listed(sym.name) {
                // Hidden only because it could be: an export list that
                // names it exports it (as ld64 and lld do).
                *private_extern = false;
            }
        }
    }
    Ok(())
}

/// Deduplicates C strings and fixed-size literals across all objects: the
/// first copy (in layout order) is placed; later identical ones alias it
/// (`-dead_strip` may hand that role to the first live copy).
/// Copies may promise different alignments (a section's alignment applies
/// to its every string): the placed copy keeps the strictest, as lld does.
fn merge_literals(objects: &mut [ObjectFile], order: &[u32]) {
    type Canonical = (u32, u32, u8);
    let mut canonical: rustc_hash::FxHashMap<(u32, &[u8]), Canonical> = Default::default();
    let mut aliases = Vec::new();
    // The first copy in layout order is kept, as lld keeps it.
    for &fi in order {
        let fi = fi as usize;
        let obj = &objects[fi];
        for sec in obj.sections.iter().filter(|s| s.kept) {
            let kind = sec.kind();
            if !matches!(
                kind,
                macho::S_CSTRING_LITERALS
                    | macho::S_4BYTE_LITERALS
                    | macho::S_8BYTE_LITERALS
                    | macho::S_16BYTE_LITERALS
            ) {
                continue;
            }
            for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                let atom = &obj.atoms[a as usize];
                let key = (kind, obj.atom_data(a));
                match canonical.get_mut(&key) {
                    Some(c) => {
                        c.2 = c.2.max(atom.align_log2);
                        aliases.push((fi, a, (c.0, c.1)));
                    }
                    None => {
                        canonical.insert(key, (fi as u32, a, atom.align_log2));
                    }
                }
            }
        }
    }
    let raised: Vec<Canonical> = canonical.into_values().collect();
    for (fi, a, align) in raised {
        let atom = &mut objects[fi as usize].atoms[a as usize];
        atom.align_log2 = atom.align_log2.max(align);
    }
    for (fi, a, c) in aliases {
        objects[fi].atoms[a as usize].alias_of = Some(c).into();
    }
}

/// A weak definition that lost to another definition of its name is
/// coalesced away, as ld64 and lld do: its atom is not placed, nor its
/// unwind entry and FDE. (An atom something refers to directly, not
/// through the symbol, stays.)
pub(crate) fn drop_coalesced_weak_definitions(objects: &mut [ObjectFile], symtab: &SymbolTable) {
    let mut lost: rustc_hash::FxHashSet<(u32, u32)> = Default::default();
    for (fi, obj) in objects.iter().enumerate() {
        for (i, s) in obj.symbols.iter().enumerate() {
            if !s.is_external() || !s.is_weak_def() || s.atom == NONE || !s.is_defined_in_section()
            {
                continue;
            }
            let Some(g) = symtab.global_of(fi as u32, Target::Symbol(i as u32)) else {
                continue;
            };
            match symtab.syms[g as usize].def {
                Def::Defined { file, atom, .. } if (file, atom) != (fi as u32, s.atom) => {
                    lost.insert((fi as u32, s.atom));
                }
                // An incremental update: the winner is in the image already.
                Def::Placed { .. } => {
                    lost.insert((fi as u32, s.atom));
                }
                _ => {}
            }
        }
    }
    if lost.is_empty() {
        return;
    }
    // Keep what a relocation names as an atom, and atoms that still start
    // a winning symbol (an alias of the lost one).
    for (fi, obj) in objects.iter().enumerate() {
        // Unwind entries and FDEs name their function's atom; they go with it.
        let unwind_info = |a: &Atom| {
            let sec = &obj.sections[a.section as usize];
            sec.metadata || sec.sectname == crate::input::object::EH_FRAME
        };
        for atom in obj.atoms.iter().filter(|a| !unwind_info(a)) {
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                    if let Target::Atom(a) = t {
                        lost.remove(&(fi as u32, a));
                    }
                }
            }
        }
        for (i, s) in obj.symbols.iter().enumerate() {
            if s.atom != NONE && s.is_external() && lost.contains(&(fi as u32, s.atom)) {
                let won = symtab
                    .global_of(fi as u32, Target::Symbol(i as u32))
                    .is_some_and(|g| {
                        matches!(symtab.syms[g as usize].def,
                            Def::Defined { file, atom, .. } if (file, atom) == (fi as u32, s.atom))
                    });
                if won {
                    lost.remove(&(fi as u32, s.atom));
                }
            }
        }
    }
    let unwind: Vec<(u32, u32)> = crate::unwind::entries(objects, symtab)
        .into_iter()
        .filter(|&(_, _, ff, fa)| lost.contains(&(ff, fa)))
        .map(|(f, e, _, _)| (f, e))
        .chain(
            crate::unwind::fdes(objects)
                .into_iter()
                .filter(|&(f, _, func, _)| lost.contains(&(f, func)))
                .map(|(f, fde, _, _)| (f, fde)),
        )
        .collect();
    for (f, a) in lost.into_iter().chain(unwind) {
        objects[f as usize].atoms[a as usize].live = false;
    }
}

/// After `-dead_strip`: a dylib symbol that only stripped atoms referred
/// to is no import (no symbol table entry, no fixup, no reason to keep its
/// dylib under `-dead_strip_dylibs`), as with lld; nor does a boundary
/// symbol only they used create its section. What the linker itself
/// asks for (`dyld_stub_binder`, `-u`, the entry point) stays.
fn forget_dead_imports(opts: &Options, symtab: &mut SymbolTable, objects: &[ObjectFile]) {
    let mut live_refs: rustc_hash::FxHashSet<SymId> = Default::default();
    for (fi, obj) in objects.iter().enumerate() {
        for atom in obj.atoms.iter().filter(|a| a.live) {
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                    if let Some(g) = symtab.global_of(fi as u32, t) {
                        live_refs.insert(g);
                    }
                }
            }
        }
    }
    let mut kept: Vec<&[u8]> = vec![b"dyld_stub_binder", opts.entry.as_bytes()];
    kept.extend(opts.force_undefined.iter().map(|n| n.as_bytes()));
    for (id, sym) in symtab.syms.iter_mut().enumerate() {
        if matches!(sym.def, Def::Dylib { .. } | Def::Boundary)
            && sym.referenced
            && !live_refs.contains(&(id as SymId))
            && !kept.contains(&sym.name)
        {
            sym.referenced = false;
        }
    }
}

/// Command-line names live as long as the link; interning needs `'a`.
fn leak(s: &str) -> &'static [u8] {
    Box::leak(s.as_bytes().to_vec().into_boxed_slice())
}

fn duplicate_errors(symtab: &SymbolTable, objects: &[ObjectFile]) -> Vec<String> {
    symtab
        .duplicates
        .iter()
        .map(|&(id, first, again)| {
            format!(
                "duplicate symbol: {}\n>>> defined in {}\n>>> defined in {}",
                String::from_utf8_lossy(symtab.syms[id as usize].name),
                objects[first as usize].name,
                objects[again as usize].name
            )
        })
        .collect()
}

/// Undefined symbols, lld-style: the symbol, then where it is referenced.
/// Those `-U` names, or all under `-undefined dynamic_lookup` (and, with
/// `-flat_namespace`, `warning` or `suppress`), are left for dyld to look
/// up; `warning` reports each as a warning.
fn undefined_errors(
    opts: &Options,
    symtab: &mut SymbolTable,
    objects: &[ObjectFile],
    entry: SymId,
) -> Vec<String> {
    let mut errors = Vec::new();
    let undefined: Vec<SymId> = symtab.undefined().collect();
    let mut missing = Vec::new();
    let mut warned = Vec::new();
    for id in undefined {
        let sym = &mut symtab.syms[id as usize];
        let allowed = opts
            .allowed_undefined
            .iter()
            .any(|n| n.as_bytes() == sym.name);
        if id != entry && (allowed || opts.undefined != UndefinedTreatment::Error) {
            if opts.undefined == UndefinedTreatment::Warning && !allowed && sym.referenced {
                warned.push(id);
            }
            sym.def = Def::DynamicLookup;
            continue;
        }
        if !sym.referenced && id != entry {
            continue;
        }
        missing.push(id);
    }
    if missing.is_empty() && warned.is_empty() {
        return errors;
    }
    let mut refs = references(symtab, objects, missing.iter().chain(&warned).copied());
    for id in warned {
        let list = refs.remove(&id).unwrap_or_default();
        if let Err(e) = opts.warn(&undefined_message(symtab, id, &list, "")) {
            errors.extend(e.messages);
        }
    }
    let forced: Vec<&[u8]> = opts.force_undefined.iter().map(|n| n.as_bytes()).collect();
    for id in missing {
        let sym_name = symtab.syms[id as usize].name;
        if opts.dead_strip && id != entry && !refs.contains_key(&id) && !forced.contains(&sym_name)
        {
            continue; // referenced from stripped code only
        }
        let list = refs.remove(&id).unwrap_or_default();
        let origin = if id == entry {
            "\n>>> referenced by the entry point (-e)"
        } else {
            "\n>>> referenced by the command line (-u)"
        };
        errors.push(undefined_message(symtab, id, &list, origin));
    }
    errors
}

/// Where each of `ids` is referenced from live atoms: `file:(place)`.
fn references(
    symtab: &SymbolTable,
    objects: &[ObjectFile],
    ids: impl Iterator<Item = SymId>,
) -> rustc_hash::FxHashMap<SymId, Vec<String>> {
    let wanted: rustc_hash::FxHashSet<SymId> = ids.collect();
    let mut refs: rustc_hash::FxHashMap<SymId, Vec<String>> = Default::default();
    for (fi, obj) in objects.iter().enumerate() {
        for (ai, atom) in obj.atoms.iter().enumerate().filter(|(_, a)| a.live) {
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                    if let Some(g) = symtab.global_of(fi as u32, t) {
                        if wanted.contains(&g) {
                            refs.entry(g).or_default().push(format!(
                                "{}:({})",
                                obj.name,
                                obj.describe(ai as u32, r.offset)
                            ));
                        }
                    }
                }
            }
        }
    }
    refs
}

/// `undefined symbol: NAME` and up to three places that reference it (or
/// `unreferenced`, when no object does).
fn undefined_message(
    symtab: &SymbolTable,
    id: SymId,
    refs: &[String],
    unreferenced: &str,
) -> String {
    let name = String::from_utf8_lossy(symtab.syms[id as usize].name);
    let mut msg = format!("undefined symbol: {name}");
    for r in refs.iter().take(3) {
        msg.push_str(&format!("\n>>> referenced by {r}"));
    }
    if refs.len() > 3 {
        msg.push_str(&format!("\n>>> referenced {} more times", refs.len() - 3));
    }
    if refs.is_empty() {
        msg.push_str(unreferenced);
    }
    msg
}

/// Turns each winning tentative definition into a zero-fill atom in
/// `__DATA,__common` of the file that defined it.
fn allocate_commons(symtab: &mut SymbolTable, objects: &mut [ObjectFile]) {
    // The section each file's commons go to: a new one, appended after the
    // file's own sections so its atoms stay contiguous.
    let mut common_section: rustc_hash::FxHashMap<u32, usize> = Default::default();
    for id in 0..symtab.syms.len() {
        let Def::Common {
            file,
            sym,
            size,
            align_log2,
        } = symtab.syms[id].def
        else {
            continue;
        };
        let obj = &mut objects[file as usize];
        let sect = *common_section.entry(file).or_insert_with(|| {
            obj.sections.push(InputSection {
                metadata: false,
                segname: "__DATA".into(),
                sectname: "__common".into(),
                addr: 0,
                size: 0,
                align_log2: 0,
                flags: macho::S_ZEROFILL,
                data: &[],
                atoms_start: obj.atoms.len() as u32,
                atoms_len: 0,
                kept: true,
            });
            obj.sections.len() - 1
        });
        let atom = obj.atoms.len() as u32;
        let sec = &mut obj.sections[sect];
        let offset = layout::align_up(sec.size, 1 << align_log2);
        sec.size = offset + size;
        sec.align_log2 = sec.align_log2.max(align_log2);
        sec.atoms_len += 1;
        obj.atoms.push(Atom {
            // Parsing left room for this one (see `MAX_SECTIONS`).
            section: sect as u16,
            offset: offset as u32,
            size: size as u32,
            align_log2,
            relocs_start: obj.relocs.len() as u32,
            relocs_end: obj.relocs.len() as u32,
            symbol: sym,
            alias_of: AliasOf::NONE,
            live: true,
        });
        symtab.syms[id].def = Def::Defined {
            file,
            atom,
            offset: 0,
            weak: false,
            private_extern: false,
            interposable: false,
        };
        if symtab.file_globals[file as usize].len() <= sym as usize {
            continue;
        }
        symtab.file_globals[file as usize][sym as usize] = id as SymId;
    }
}
