//! The full link, phase by phase. Each phase borrows what earlier phases
//! built, so data flows one way:
//!
//! map inputs → parse (parallel) → resolve (pulling archive members) →
//! allocate commons → scan for stubs/GOT → lay out → write atoms and apply
//! relocations (parallel) → LINKEDIT → header → file.

use crate::atom::{Atom, NONE};
use crate::error::{LinkError, Result};
use crate::input::archive::Archive;
use crate::input::dylib::Dylib;
use crate::input::object::{InputSection, ObjectFile};
use crate::input::{self, FileKind, MappedFile};
use crate::layout::{self, Content, Layout, IMAGE_BASE};
use crate::linkedit::fixups::{self, Fixup, FixupKind, Import};
use crate::linkedit::symtab::{Nlist, SymbolGroups};
use crate::linkedit::{codesign, trie, uleb};
use crate::options::{Options, OutputKind, UndefinedTreatment};
use crate::output;
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{is_imported, Synthetic, STUB_HELPER_ENTRY, STUB_HELPER_HEADER, STUB_SIZE};
use object::macho;
use rayon::prelude::*;
use std::time::Instant;

/// Figures a link reports under `-v` / `-print_statistics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub objects: usize,
    pub atoms: usize,
    pub relocs: usize,
    pub output_size: u64,
    pub phases: Vec<(&'static str, f64)>,
}

struct Timer {
    start: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Timer {
    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases
            .push((name, (now - self.start).as_secs_f64() * 1e3));
        self.start = now;
    }
}

/// Everything parsed from the inputs, borrowing their maps.
pub struct Inputs<'a> {
    pub objects: Vec<ObjectFile<'a>>,
    pub archives: Vec<Archive<'a>>,
    pub dylibs: Vec<Dylib>,
    /// Archives and dylibs in command-line order, for symbol lookup.
    libraries: Vec<Library>,
    /// Archive members already loaded: (archive, member).
    loaded_members: rustc_hash::FxHashSet<(u32, u32)>,
    /// The linker's own object holding `__dyld_private` (classic lazy binding).
    pub dyld_private: Option<u32>,
}

#[derive(Clone, Copy)]
enum Library {
    Archive(u32),
    Dylib(u32),
}

/// Links according to `opts`; writes the output file atomically.
pub fn link(opts: &Options) -> Result<Stats> {
    let mut timer = Timer {
        start: Instant::now(),
        phases: Vec::new(),
    };
    let files = input::map_inputs(opts)?;
    timer.lap("map inputs");
    let mut inputs = parse_inputs(&files)?;
    timer.lap("parse");
    let symtab = resolve(opts, &mut inputs)?;
    timer.lap("resolve");
    let mut stats = Stats {
        objects: inputs.objects.len(),
        atoms: inputs.objects.iter().map(|o| o.atoms.len()).sum(),
        relocs: inputs.objects.iter().map(|o| o.relocs.len()).sum(),
        ..Default::default()
    };
    let file = write_image(opts, &inputs, &symtab, &mut timer)?;
    stats.output_size = file.commit()?;
    timer.lap("write file");
    stats.phases = timer.phases;
    Ok(stats)
}

/// Parses every mapped input; objects in parallel.
fn parse_inputs(files: &[MappedFile]) -> Result<Inputs<'_>> {
    let mut kinds = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        let name = f.name();
        match input::thin(&f.map, &name).and_then(|d| input::kind_of(d, &name).map(|k| (d, k))) {
            Ok((data, kind)) => kinds.push((f, data, kind)),
            Err(e) => errors.extend(e.messages),
        }
    }
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    let parsed: Vec<Result<ObjectFile>> = kinds
        .par_iter()
        .filter(|(_, _, k)| *k == FileKind::Object)
        .map(|(f, data, _)| parse_object(f, data))
        .collect();
    let mut inputs = Inputs {
        objects: Vec::new(),
        archives: Vec::new(),
        dylibs: Vec::new(),
        libraries: Vec::new(),
        loaded_members: Default::default(),
        dyld_private: None,
    };
    let mut errors = Vec::new();
    for r in parsed {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    for (f, data, kind) in &kinds {
        let name = f.name();
        let r = match kind {
            FileKind::Object => Ok(()),
            FileKind::Archive => Archive::parse(data, name).map(|a| {
                let idx = inputs.archives.len() as u32;
                if f.force_load {
                    for m in 0..a.members.len() as u32 {
                        inputs.loaded_members.insert((idx, m));
                    }
                }
                inputs.archives.push(a);
                inputs.libraries.push(Library::Archive(idx));
            }),
            FileKind::Tbd => {
                Dylib::from_tbd(data, name, "x86_64-macos").map(|d| add_dylib(&mut inputs, d))
            }
            FileKind::Dylib => Dylib::from_macho(data, name).map(|d| add_dylib(&mut inputs, d)),
        };
        if let Err(e) = r {
            errors.extend(e.messages);
        }
    }
    // Force-loaded archive members are parsed now, in parallel.
    let forced: Vec<(u32, u32)> = {
        let mut v: Vec<_> = inputs.loaded_members.iter().copied().collect();
        v.sort_unstable();
        v
    };
    let members: Vec<Result<ObjectFile>> = forced
        .par_iter()
        .map(|&(a, m)| parse_member(&inputs.archives[a as usize], m))
        .collect();
    for r in members {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(inputs),
    }
}

fn add_dylib(inputs: &mut Inputs, d: Dylib) {
    let idx = inputs.dylibs.len() as u32;
    inputs.dylibs.push(d);
    inputs.libraries.push(Library::Dylib(idx));
}

fn parse_member<'a>(ar: &Archive<'a>, member: u32) -> Result<ObjectFile<'a>> {
    let (_, data, mtime) = ar.members[member as usize];
    let name = ar.member_name(member);
    let mut obj = match input::kind_of(data, &name)? {
        FileKind::Object => ObjectFile::parse(data, name)?,
        _ => {
            return Err(LinkError::file(
                name,
                "archive member is not an object file",
            ))
        }
    };
    obj.oso_path = format!("{}({})", absolute(&ar.name), ar.members[member as usize].0);
    obj.mtime = mtime;
    Ok(obj)
}

/// An absolute form of a path, for the debug map.
fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Parses an object named on the command line, noting its path and time.
fn parse_object<'a>(f: &MappedFile, data: &'a [u8]) -> Result<ObjectFile<'a>> {
    let mut obj = ObjectFile::parse(data, f.name())?;
    obj.oso_path = absolute(&f.name());
    obj.mtime = std::fs::metadata(&f.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(obj)
}

/// Resolves symbols: objects first, then archive members pulled for
/// undefined symbols until nothing changes, then dylib exports. Reports all
/// duplicate and undefined symbols at once.
fn resolve<'a>(opts: &Options, inputs: &mut Inputs<'a>) -> Result<SymbolTable<'a>> {
    let mut symtab = SymbolTable::default();
    for (i, obj) in inputs.objects.iter().enumerate() {
        symtab.add_object(i as u32, obj);
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
    loop {
        let wanted: Vec<(u32, u32)> = symtab
            .undefined()
            .filter_map(|id| archive_index.get(symtab.syms[id as usize].name).copied())
            .filter(|m| !inputs.loaded_members.contains(m))
            .collect::<rustc_hash::FxHashSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            break;
        }
        let mut wanted = wanted;
        wanted.sort_unstable();
        let parsed: Vec<Result<ObjectFile<'a>>> = wanted
            .par_iter()
            .map(|&(a, m)| parse_member(&inputs.archives[a as usize], m))
            .collect();
        for (m, obj) in wanted.into_iter().zip(parsed) {
            inputs.loaded_members.insert(m);
            let obj = obj?;
            let idx = inputs.objects.len() as u32;
            inputs.objects.push(obj);
            symtab.add_object(idx, &inputs.objects[idx as usize]);
        }
    }
    // What is still undefined may come from a dylib (first in command-line order).
    let undefined: Vec<SymId> = symtab.undefined().collect();
    for id in undefined {
        let name = symtab.syms[id as usize].name;
        for lib in &inputs.libraries {
            if let Library::Dylib(d) = *lib {
                if let Some(s) = inputs.dylibs[d as usize].exports.get(name) {
                    symtab.syms[id as usize].def = Def::Dylib {
                        dylib: d,
                        weak: s.weak,
                        thread_local: s.thread_local,
                    };
                    break;
                }
            }
        }
    }
    for name in [&b"__mh_execute_header"[..], b"___dso_handle"] {
        if let Some(id) = symtab.get(name) {
            if symtab.syms[id as usize].def == Def::Undefined {
                symtab.syms[id as usize].def = Def::Header;
            }
        }
    }
    let mut errors = duplicate_errors(&symtab, &inputs.objects);
    allocate_commons(&mut symtab, &mut inputs.objects);
    hide_unexported(opts, &mut symtab)?;
    merge_literals(&mut inputs.objects);
    if !opts.use_chained_fixups() {
        let idx = inputs.objects.len() as u32;
        inputs.objects.push(dyld_private_object());
        symtab.add_object(idx, &inputs.objects[idx as usize]);
        inputs.dyld_private = Some(idx);
    }
    if opts.dead_strip {
        crate::dead_strip::dead_strip(opts, &mut inputs.objects, &symtab);
    }
    // After dead stripping: a symbol only dead code references is no error.
    errors.extend(undefined_errors(opts, &mut symtab, &inputs.objects, entry));
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    Ok(symtab)
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
            alias_of: None,
            live: true,
        }],
        relocs: Vec::new(),
        oso_path: String::new(),
        mtime: 0,
    }
}

/// Applies -exported_symbols_list / -unexported_symbols_list: globals they
/// leave out become private externs.
fn hide_unexported(opts: &Options, symtab: &mut SymbolTable) -> Result<()> {
    if opts.exported_symbols_list.is_none() && opts.unexported_symbols_list.is_none() {
        return Ok(());
    }
    let filter = crate::exports::ExportFilter::from_options(opts)?;
    for sym in &mut symtab.syms {
        if let Def::Defined { private_extern, .. } = &mut sym.def {
            if !*private_extern && !filter.exports(sym.name) {
                *private_extern = true;
            }
        }
    }
    Ok(())
}

/// Deduplicates C strings and fixed-size literals across all objects: the
/// first copy (in input order) is placed; later identical ones alias it.
fn merge_literals(objects: &mut [ObjectFile]) {
    let mut canonical: rustc_hash::FxHashMap<(u32, u8, &[u8]), (u32, u32)> = Default::default();
    let mut aliases = Vec::new();
    for (fi, obj) in objects.iter().enumerate() {
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
                let key = (kind, atom.align_log2, obj.atom_data(a));
                match canonical.get(&key) {
                    Some(&c) => aliases.push((fi, a, c)),
                    None => {
                        canonical.insert(key, (fi as u32, a));
                    }
                }
            }
        }
    }
    for (fi, a, c) in aliases {
        objects[fi].atoms[a as usize].alias_of = Some(c);
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
fn undefined_errors(
    opts: &Options,
    symtab: &mut SymbolTable,
    objects: &[ObjectFile],
    entry: SymId,
) -> Vec<String> {
    let mut errors = Vec::new();
    let undefined: Vec<SymId> = symtab.undefined().collect();
    let mut missing = Vec::new();
    for id in undefined {
        let sym = &mut symtab.syms[id as usize];
        let allowed = opts
            .allowed_undefined
            .iter()
            .any(|n| n.as_bytes() == sym.name);
        if id != entry && (allowed || opts.undefined != UndefinedTreatment::Error) {
            if opts.undefined == UndefinedTreatment::Warning && !allowed {
                eprintln!(
                    "warning: undefined symbol: {}",
                    String::from_utf8_lossy(sym.name)
                );
            }
            sym.def = Def::DynamicLookup;
            continue;
        }
        if !sym.referenced && id != entry {
            continue;
        }
        missing.push(id);
    }
    if missing.is_empty() {
        return errors;
    }
    let missing_set: rustc_hash::FxHashSet<SymId> = missing.iter().copied().collect();
    let mut refs: rustc_hash::FxHashMap<SymId, Vec<String>> = Default::default();
    for (fi, obj) in objects.iter().enumerate() {
        for (ai, atom) in obj.atoms.iter().enumerate().filter(|(_, a)| a.live) {
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                for t in [Some(r.target), r.subtrahend].into_iter().flatten() {
                    if let Some(g) = symtab.global_of(fi as u32, t) {
                        if missing_set.contains(&g) {
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
    let forced: Vec<&[u8]> = opts.force_undefined.iter().map(|n| n.as_bytes()).collect();
    for id in missing {
        let sym_name = symtab.syms[id as usize].name;
        if opts.dead_strip && id != entry && !refs.contains_key(&id) && !forced.contains(&sym_name)
        {
            continue; // referenced from stripped code only
        }
        let name = String::from_utf8_lossy(sym_name);
        let mut msg = format!("undefined symbol: {name}");
        let list = refs.remove(&id).unwrap_or_default();
        for r in list.iter().take(3) {
            msg.push_str(&format!("\n>>> referenced by {r}"));
        }
        if list.len() > 3 {
            msg.push_str(&format!("\n>>> referenced {} more times", list.len() - 3));
        }
        if list.is_empty() {
            msg.push_str(if id == entry {
                "\n>>> referenced by the entry point (-e)"
            } else {
                "\n>>> referenced by the command line (-u)"
            });
        }
        errors.push(msg);
    }
    errors
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
            section: sect as u32,
            offset: offset as u32,
            size: size as u32,
            align_log2,
            relocs_start: obj.relocs.len() as u32,
            relocs_end: obj.relocs.len() as u32,
            symbol: sym,
            alias_of: None,
            live: true,
        });
        symtab.syms[id].def = Def::Defined {
            file,
            atom,
            offset: 0,
            weak: false,
            private_extern: false,
        };
        if symtab.file_globals[file as usize].len() <= sym as usize {
            continue;
        }
        symtab.file_globals[file as usize][sym as usize] = id as SymId;
    }
}

/// Addresses the relocation pass needs, beyond the layout.
pub(crate) struct Resolved<'l> {
    pub layout: &'l Layout,
    synth: &'l Synthetic,
    stubs_addr: u64,
    got_addr: u64,
    thread_ptrs_addr: u64,
    lazy_ptrs_addr: u64,
    stub_helper_addr: u64,
}

impl Resolved<'_> {
    pub fn symbol_addr(&self, symtab: &SymbolTable, id: SymId) -> Option<u64> {
        match symtab.syms[id as usize].def {
            Def::Defined {
                file, atom, offset, ..
            } => Some(self.layout.atom_addr[file as usize][atom as usize] + u64::from(offset)),
            Def::Absolute { value } => Some(value),
            Def::Header => Some(self.layout.image_base),
            _ => None,
        }
    }

    pub fn got_slot(&self, id: SymId) -> Option<u64> {
        self.synth
            .got
            .get(id)
            .map(|i| self.got_addr + u64::from(i) * 8)
    }

    pub fn stub(&self, id: SymId) -> Option<u64> {
        self.synth
            .stubs
            .get(id)
            .map(|i| self.stubs_addr + u64::from(i) * STUB_SIZE)
    }

    pub fn thread_ptr(&self, id: SymId) -> Option<u64> {
        self.synth
            .thread_ptrs
            .get(id)
            .map(|i| self.thread_ptrs_addr + u64::from(i) * 8)
    }
}

/// Per-file results of the relocation pass.
#[derive(Default)]
struct FileOut {
    fixups: Vec<Fixup>,
    errors: Vec<String>,
}

/// Raw output buffer shared by the parallel writers; every atom writes
/// only its own disjoint range.
#[derive(Clone, Copy)]
struct OutPtr(*mut u8, usize);
// SAFETY: writers touch disjoint ranges (each atom has its own bytes).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// # Safety
    /// The range must be in bounds and written by one thread only.
    unsafe fn slice(self, off: usize, len: usize) -> &'static mut [u8] {
        assert!(off + len <= self.1);
        std::slice::from_raw_parts_mut(self.0.add(off), len)
    }
}

/// Lays out and writes the output; returns it written but not yet moved
/// into place.
fn write_image(
    opts: &Options,
    inputs: &Inputs,
    symtab: &SymbolTable,
    timer: &mut Timer,
) -> Result<output::OutputFile> {
    let objects = &inputs.objects;
    let lazy_binder = if opts.use_chained_fixups() {
        None
    } else {
        symtab.get(b"dyld_stub_binder")
    };
    let synth = Synthetic::scan(objects, symtab, lazy_binder);
    let sections = layout::plan_sections(objects, synth.sections());
    let chained = opts.use_chained_fixups();
    let used_dylibs: Vec<&Dylib> = inputs.dylibs.iter().collect();
    let mut lc_plan = output::LoadCommandPlan::new(opts, &sections, &used_dylibs, chained);
    let header_size = lc_plan.header_and_commands_size() + u64::from(opts.headerpad);
    let image_base = if opts.output_kind == OutputKind::Executable {
        IMAGE_BASE
    } else {
        0
    };
    let layout = layout::assign_addresses(
        objects,
        sections,
        header_size,
        |c| synth.size_of(c),
        image_base,
    );
    timer.lap("layout");
    if let Some(map) = &opts.map {
        crate::map::write_map(map, &opts.output, objects, &layout)?;
    }
    let section_addr = |c: Content| {
        layout
            .sections
            .iter()
            .find(|s| s.content == c)
            .map_or(0, |s| s.addr)
    };
    let res = Resolved {
        layout: &layout,
        synth: &synth,
        stubs_addr: section_addr(Content::Stubs),
        got_addr: section_addr(Content::Got),
        thread_ptrs_addr: section_addr(Content::ThreadPtrs),
        lazy_ptrs_addr: section_addr(Content::LazyPointers),
        stub_helper_addr: section_addr(Content::StubHelper),
    };
    let (linkedit_off, linkedit_vm) = layout.linkedit_start();
    let mut file = output::OutputFile::create(&opts.output, linkedit_off)?;
    let image = file.bytes();

    // Atoms and their relocations, in parallel per file.
    let out = OutPtr(image.as_mut_ptr(), image.len());
    let per_file: Vec<FileOut> = objects
        .par_iter()
        .enumerate()
        .map(|(fi, obj)| write_file_atoms(fi as u32, obj, symtab, &res, out))
        .collect();
    let mut fixup_list = Vec::new();
    let mut errors = Vec::new();
    for f in per_file {
        fixup_list.extend(f.fixups);
        errors.extend(f.errors);
    }
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    timer.lap("write atoms");

    // Imports: one per imported symbol that a slot binds.
    let mut imports: Vec<Import> = Vec::new();
    let mut import_of: rustc_hash::FxHashMap<SymId, u32> = Default::default();
    let mut import_for = |id: SymId| -> u32 {
        *import_of.entry(id).or_insert_with(|| {
            let sym = &symtab.syms[id as usize];
            let ordinal = match sym.def {
                Def::Dylib { dylib, .. } => dylib as i32 + 1,
                _ => i32::from(macho::BIND_SPECIAL_DYLIB_FLAT_LOOKUP),
            };
            imports.push(Import {
                name: sym.name.into(),
                ordinal,
                weak: sym.weak_ref,
            });
            imports.len() as u32 - 1
        })
    };
    // Deferred binds from atoms carry the symbol id in `import` for now.
    for f in &mut fixup_list {
        if let FixupKind::Bind { import, .. } = &mut f.kind {
            *import = import_for(*import);
        }
    }
    write_synthetic(&res, symtab, image, &mut fixup_list, &mut import_for);
    write_unwind_info(objects, symtab, &res, image)
        .map_err(|e| LinkError::usage(format!("{}: {e}", opts.output.display())))?;
    let dyld_private = inputs
        .dyld_private
        .map_or(0, |f| layout.atom_addr[f as usize][0]);
    let lazy_imports: Vec<u32> = synth
        .stubs
        .entries
        .iter()
        .map(|&id| import_for(id))
        .collect();
    let lazy_index: rustc_hash::FxHashMap<SymId, u32> = synth
        .stubs
        .entries
        .iter()
        .copied()
        .zip(lazy_imports)
        .collect();
    let lazy_stream = write_lazy_binding(
        &res,
        dyld_private,
        image,
        &mut fixup_list,
        &imports,
        &|id| lazy_index[&id],
    )
    .map_err(|e| LinkError::usage(format!("{}: {e}", opts.output.display())))?;
    fixup_list.sort_unstable_by_key(|f| f.addr);
    timer.lap("synthetic");

    // LINKEDIT pieces.
    let mut linkedit = Vec::new();
    let mut ranges = output::LinkeditRanges::default();
    let put = |blob: &[u8], linkedit: &mut Vec<u8>| -> (u32, u32) {
        let off = linkedit_off + linkedit.len() as u64;
        linkedit.extend_from_slice(blob);
        (off as u32, blob.len() as u32)
    };
    let err = |e: String| LinkError::usage(format!("{}: {e}", opts.output.display()));
    if chained {
        let blob = fixups::encode_chained(&fixup_list, &imports, &layout, image).map_err(err)?;
        ranges.chained_fixups = put(&blob, &mut linkedit);
        ranges.exports_trie = put(&exports_trie(symtab, &layout, objects), &mut linkedit);
    } else {
        let (rebase, bind) =
            fixups::encode_opcodes(&fixup_list, &imports, &layout, image).map_err(err)?;
        ranges.rebase = put(&rebase, &mut linkedit);
        ranges.bind = put(&bind, &mut linkedit);
        ranges.lazy_bind = put(&lazy_stream, &mut linkedit);
        ranges.exports_trie = put(&exports_trie(symtab, &layout, objects), &mut linkedit);
    }
    timer.lap("fixups+exports");
    ranges.function_starts = put(&function_starts(&layout, objects), &mut linkedit);
    ranges.data_in_code = put(&[], &mut linkedit);
    let groups = symbol_groups(opts, symtab, &layout, objects);
    let undefined_names: Vec<&[u8]> = {
        let mut v: Vec<&[u8]> = symtab
            .syms
            .iter()
            .filter(|s| s.referenced && is_imported(s.def))
            .map(|s| s.name)
            .collect();
        v.sort_unstable();
        v
    };
    timer.lap("symbols");
    let written = groups.write();
    ranges.symtab = put(&written.symbols, &mut linkedit);
    ranges.nsyms = written.nlocal + written.nextdef + written.nundef;
    ranges.nlocal = written.nlocal;
    ranges.nextdef = written.nextdef;
    ranges.nundef = written.nundef;
    let undef_base = written.nlocal + written.nextdef;
    let mut indirect = Vec::new();
    let mut indirect_starts: Vec<Option<u32>> = Vec::new();
    for s in &layout.sections {
        let table = match s.content {
            Content::Stubs | Content::LazyPointers => &synth.stubs,
            Content::Got => &synth.got,
            Content::ThreadPtrs => &synth.thread_ptrs,
            Content::Atoms(_) | Content::StubHelper | Content::UnwindInfo => {
                indirect_starts.push(None);
                continue;
            }
        };
        indirect_starts.push(Some((indirect.len() / 4) as u32));
        for &id in &table.entries {
            let sym = &symtab.syms[id as usize];
            let idx = if is_imported(sym.def) {
                SymbolGroups::undefined_index(&undefined_names, undef_base, sym.name)
                    .unwrap_or(macho::INDIRECT_SYMBOL_LOCAL)
            } else {
                macho::INDIRECT_SYMBOL_LOCAL
            };
            indirect.extend_from_slice(&idx.to_le_bytes());
        }
    }
    crate::linkedit::pad_to(&mut indirect, 8);
    ranges.indirect = put(&indirect, &mut linkedit);
    ranges.strtab = put(&written.strings, &mut linkedit);
    // The ad-hoc signature comes last, 16-byte aligned, and covers
    // everything before it.
    let identifier = opts
        .output
        .file_name()
        .map_or_else(|| "a.out".to_string(), |n| n.to_string_lossy().into_owned());
    let signature_size = if lc_plan.codesign() {
        crate::linkedit::pad_to(&mut linkedit, 16);
        let code_limit = linkedit_off + linkedit.len() as u64;
        let size = codesign::signature_size(code_limit, &identifier);
        ranges.code_signature = (code_limit as u32, size as u32);
        size
    } else {
        0
    };
    timer.lap("linkedit");

    let linkedit_size = linkedit.len() as u64 + signature_size;
    file.resize(linkedit_off + linkedit_size)?;
    let image = file.bytes();
    image[linkedit_off as usize..][..linkedit.len()].copy_from_slice(&linkedit);
    let linkedit_seg = layout::Segment {
        name: "__LINKEDIT".into(),
        vmaddr: linkedit_vm,
        vmsize: layout::align_up(linkedit_size, layout::PAGE_SIZE),
        fileoff: linkedit_off,
        filesize: linkedit_size,
        maxprot: 1,
        initprot: 1,
        flags: 0,
        sections: 0..0,
    };
    let entry_offset = if opts.output_kind == OutputKind::Executable {
        let entry = symtab
            .get(opts.entry.as_bytes())
            .and_then(|id| res.symbol_addr(symtab, id))
            .ok_or_else(|| {
                LinkError::usage(format!("entry point {} is not defined", opts.entry))
            })?;
        entry - layout.image_base
    } else {
        0
    };
    let mut sections_with_indirect = layout.sections.clone();
    for (s, start) in sections_with_indirect.iter_mut().zip(&indirect_starts) {
        if let Some(start) = start {
            s.reserved1 = *start;
        }
    }
    let header = lc_plan.write(&output::HeaderInputs {
        segments: &layout.segments,
        linkedit: &linkedit_seg,
        sections: &sections_with_indirect,
        entry_offset,
        ranges: &ranges,
        has_tlv: layout.tlv_start != 0,
    });
    if header.len() as u64 > header_size {
        return Err(LinkError::usage(
            "internal error: load commands outgrew their reserved size".to_string(),
        ));
    }
    image[..header.len()].copy_from_slice(&header);
    let code_limit = (linkedit_off + linkedit.len() as u64) as usize;
    output::fill_uuid(&mut image[..code_limit], lc_plan.uuid_offset());
    if signature_size > 0 {
        let text = layout
            .segments
            .iter()
            .find(|s| s.name == "__TEXT")
            .expect("__TEXT");
        let sig = codesign::build_signature(
            image,
            code_limit as u64,
            &identifier,
            (text.fileoff, text.filesize),
            true,
        );
        image[code_limit..code_limit + sig.len()].copy_from_slice(&sig);
    }
    timer.lap("header");
    Ok(file)
}

/// Copies a file's atoms into the image and applies their relocations.
fn write_file_atoms(
    fi: u32,
    obj: &ObjectFile,
    symtab: &SymbolTable,
    res: &Resolved,
    out: OutPtr,
) -> FileOut {
    let mut result = FileOut::default();
    let layout = res.layout;
    for (ai, atom) in obj.atoms.iter().enumerate() {
        let addr = layout.atom_addr[fi as usize][ai];
        if addr == 0 || atom.alias_of.is_some() {
            continue;
        }
        let sec = &layout.sections[layout.atom_section[fi as usize][ai] as usize];
        if sec.is_zerofill() {
            continue;
        }
        let off = (sec.offset + (addr - sec.addr)) as usize;
        // SAFETY: each atom owns [off, off+size) of the image.
        let bytes = unsafe { out.slice(off, atom.size as usize) };
        bytes.copy_from_slice(obj.atom_data(ai as u32));
        for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
            let mut place = crate::arch::x86_64::Place {
                file: fi,
                obj,
                atom_addr: addr,
                section: sec,
                bytes: &mut *bytes,
            };
            if let Err(e) =
                crate::arch::x86_64::relocate(&mut place, r, symtab, res, &mut result.fixups)
            {
                result.errors.push(format!(
                    "{}: {} in {}",
                    obj.name,
                    e,
                    obj.describe(ai as u32, r.offset)
                ));
            }
        }
    }
    result
}

/// Stub code and GOT / thread-pointer slot fixups.
fn write_synthetic(
    res: &Resolved,
    symtab: &SymbolTable,
    image: &mut [u8],
    fixups: &mut Vec<Fixup>,
    import_for: &mut impl FnMut(SymId) -> u32,
) {
    let layout = res.layout;
    for s in &layout.sections {
        match s.content {
            Content::Stubs => {
                for (i, &id) in res.synth.stubs.entries.iter().enumerate() {
                    let at = s.addr + i as u64 * STUB_SIZE;
                    let slot = if res.synth.lazy_binder.is_some() {
                        res.lazy_ptrs_addr + i as u64 * 8
                    } else {
                        res.got_slot(id).expect("every stub has a GOT slot")
                    };
                    let disp = (slot as i64 - (at + STUB_SIZE) as i64) as i32;
                    let off = (s.offset + i as u64 * STUB_SIZE) as usize;
                    image[off..off + 2].copy_from_slice(&[0xff, 0x25]);
                    image[off + 2..off + 6].copy_from_slice(&disp.to_le_bytes());
                }
            }
            Content::Got | Content::ThreadPtrs => {
                let table = if s.content == Content::Got {
                    &res.synth.got
                } else {
                    &res.synth.thread_ptrs
                };
                for (i, &id) in table.entries.iter().enumerate() {
                    let addr = s.addr + i as u64 * 8;
                    let kind = if is_imported(symtab.syms[id as usize].def) {
                        FixupKind::Bind {
                            import: import_for(id),
                            addend: 0,
                        }
                    } else {
                        FixupKind::Rebase {
                            target: res.symbol_addr(symtab, id).unwrap_or(0),
                        }
                    };
                    fixups.push(Fixup { addr, kind });
                }
            }
            Content::Atoms(_)
            | Content::StubHelper
            | Content::LazyPointers
            | Content::UnwindInfo => {}
        }
    }
}

/// Builds `__unwind_info` from the compact unwind entries, now that every
/// function and GOT slot has its address.
fn write_unwind_info(
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    res: &Resolved,
    image: &mut [u8],
) -> std::result::Result<(), String> {
    let layout = res.layout;
    let Some(sec) = layout
        .sections
        .iter()
        .find(|s| s.content == Content::UnwindInfo)
    else {
        return Ok(());
    };
    let rows = crate::unwind::rows(objects, symtab, Some(layout), &|g| res.got_slot(g));
    // The end marker follows the last function (the builder takes the
    // larger of this and the last row's end).
    let text_end = 0;
    let bytes = crate::unwind_info::try_build_unwind_info(
        &rows,
        layout.image_base,
        text_end,
        crate::unwind_info::UnwindArch::X86_64,
    )
    .map_err(|e| format!("cannot build __unwind_info: {e}"))?;
    if bytes.len() as u64 > sec.size {
        return Err(format!(
            "__unwind_info needs {} bytes, {} were reserved",
            bytes.len(),
            sec.size
        ));
    }
    let off = sec.offset as usize;
    image[off..off + bytes.len()].copy_from_slice(&bytes);
    Ok(())
}

/// Classic lazy binding: each lazy pointer starts out pointing at its stub
/// helper entry, which pushes the offset of the symbol's record in the lazy
/// bind stream and jumps to the helper header, which calls dyld_stub_binder.
/// Returns the lazy bind stream.
fn write_lazy_binding(
    res: &Resolved,
    dyld_private: u64,
    image: &mut [u8],
    fixups: &mut Vec<Fixup>,
    imports: &[Import],
    import_of: &impl Fn(SymId) -> u32,
) -> std::result::Result<Vec<u8>, String> {
    let layout = res.layout;
    let Some(binder) = res.synth.lazy_binder else {
        return Ok(Vec::new());
    };
    let entries: Vec<(u64, u32)> = res
        .synth
        .stubs
        .entries
        .iter()
        .enumerate()
        .map(|(i, &id)| (res.lazy_ptrs_addr + i as u64 * 8, import_of(id)))
        .collect();
    let (stream, offsets) = fixups::encode_lazy_binds(&entries, imports, layout)?;
    let helper = res.stub_helper_addr;
    let off = layout
        .file_offset(helper)
        .ok_or("stub helper is not in the file")? as usize;
    let rel = |from_end: u64, to: u64| ((to as i64) - (from_end as i64)) as i32;
    let binder_slot = res
        .got_slot(binder)
        .ok_or("no GOT slot for dyld_stub_binder")?;
    let mut code = Vec::with_capacity(16 + 10 * entries.len());
    code.extend_from_slice(&[0x4c, 0x8d, 0x1d]); // lea __dyld_private(%rip), %r11
    code.extend_from_slice(&rel(helper + 7, dyld_private).to_le_bytes());
    code.extend_from_slice(&[0x41, 0x53]); // push %r11
    code.extend_from_slice(&[0xff, 0x25]); // jmp *dyld_stub_binder@GOT(%rip)
    code.extend_from_slice(&rel(helper + 15, binder_slot).to_le_bytes());
    code.push(0x90);
    for (i, &(slot, _)) in entries.iter().enumerate() {
        let entry = helper + STUB_HELPER_HEADER + i as u64 * STUB_HELPER_ENTRY;
        code.push(0x68); // push $offset
        code.extend_from_slice(&offsets[i].to_le_bytes());
        code.push(0xe9); // jmp header
        code.extend_from_slice(&rel(entry + STUB_HELPER_ENTRY, helper).to_le_bytes());
        fixups.push(Fixup {
            addr: slot,
            kind: FixupKind::Rebase { target: entry },
        });
    }
    image[off..off + code.len()].copy_from_slice(&code);
    Ok(stream)
}

/// Exported symbols: every defined, non-private external, plus the header.
fn exports_trie(symtab: &SymbolTable, layout: &Layout, objects: &[ObjectFile]) -> Vec<u8> {
    // An executable exports its mach header; a dylib does not.
    let mut exports = Vec::new();
    if layout.image_base != 0 {
        exports.push(trie::Export::regular(b"__mh_execute_header", 0));
    }
    for sym in &symtab.syms {
        if let Def::Defined {
            file,
            atom,
            offset,
            weak,
            private_extern: false,
        } = sym.def
        {
            let base = layout.atom_addr[file as usize][atom as usize];
            if sym.name == b"__mh_execute_header" || base == 0 {
                continue; // dead-stripped
            }
            let addr = base + u64::from(offset);
            let sec = &layout.sections[layout.atom_section[file as usize][atom as usize] as usize];
            let _ = objects;
            let mut e = trie::Export::regular(sym.name, addr - layout.image_base);
            if weak {
                e.flags |= u64::from(macho::EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION);
            }
            if sec.kind() == macho::S_THREAD_LOCAL_VARIABLES {
                e.flags |= u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL);
            }
            exports.push(e);
        }
    }
    trie::build(&exports)
}

/// LC_FUNCTION_STARTS: ULEB deltas between the starts of code atoms.
fn function_starts(layout: &Layout, objects: &[ObjectFile]) -> Vec<u8> {
    let mut starts: Vec<u64> = Vec::new();
    for s in layout.sections.iter().filter(|s| s.is_code()) {
        if let Content::Atoms(list) = &s.content {
            for &(f, a) in list {
                if objects[f as usize].atoms[a as usize].symbol != NONE {
                    starts.push(layout.atom_addr[f as usize][a as usize]);
                }
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::new();
    let mut prev = layout.image_base;
    for s in starts {
        uleb::write_uleb(&mut out, s - prev);
        prev = s;
    }
    out.push(0);
    crate::linkedit::pad_to(&mut out, 8);
    out
}

/// The symbol table: locals (unless -x), defined externals, imports.
fn symbol_groups<'a>(
    opts: &Options,
    symtab: &SymbolTable<'a>,
    layout: &Layout,
    objects: &[ObjectFile<'a>],
) -> SymbolGroups<'a> {
    let mut g = SymbolGroups::default();
    if !opts.strip_debug {
        let oso: Vec<(String, u64)> = objects
            .iter()
            .map(|o| (o.oso_path.clone(), o.mtime))
            .collect();
        g.locals = crate::linkedit::stabs::debug_map(objects, layout, &oso);
    }
    let sect_ordinal = |f: usize, a: usize| (layout.atom_section[f][a] + 1) as u8;
    for (fi, obj) in objects.iter().enumerate() {
        for (si, s) in obj.symbols.iter().enumerate() {
            if s.is_stab() || !s.is_defined_in_section() || s.atom == NONE {
                continue;
            }
            // An external symbol is written here only when its winning
            // definition is this one and it is not exported (private
            // extern, or left out by an export list); exported ones are
            // written once below, from the global table.
            let private = if s.is_external() {
                let id = symtab.file_globals[fi].get(si).copied().unwrap_or(NONE);
                match symtab.syms.get(id as usize).map(|g| g.def) {
                    Some(Def::Defined {
                        file,
                        atom,
                        private_extern: true,
                        ..
                    }) if file == fi as u32 && atom == s.atom => true,
                    _ => continue,
                }
            } else {
                false
            };
            let temp = s.name.first().is_some_and(|&c| c == b'L' || c == b'l') || s.name.is_empty();
            if temp || (opts.strip_locals && !private) {
                continue;
            }
            let a = s.atom as usize;
            if layout.atom_addr[fi][a] == 0 {
                continue; // dead-stripped
            }
            let atom = &obj.atoms[a];
            let sec = &obj.sections[atom.section as usize];
            let addr = layout.atom_addr[fi][a] + (s.n_value - sec.addr - u64::from(atom.offset));
            g.locals.push(Nlist {
                name: s.name.into(),
                n_type: macho::N_SECT | if private { macho::N_PEXT } else { 0 },
                n_sect: sect_ordinal(fi, a),
                n_desc: 0,
                n_value: addr,
            });
        }
    }
    if layout.image_base != 0 {
        g.externals.push(Nlist {
            name: b"__mh_execute_header"[..].into(),
            n_type: macho::N_SECT | macho::N_EXT,
            n_sect: 1,
            n_desc: macho::REFERENCED_DYNAMICALLY,
            n_value: layout.image_base,
        });
    }
    for sym in &symtab.syms {
        match sym.def {
            Def::Defined {
                file,
                atom,
                offset,
                weak,
                private_extern: false,
            } if layout.atom_addr[file as usize][atom as usize] != 0 => g.externals.push(Nlist {
                name: sym.name.into(),
                n_type: macho::N_SECT | macho::N_EXT,
                n_sect: sect_ordinal(file as usize, atom as usize),
                n_desc: if weak { macho::N_WEAK_DEF } else { 0 },
                n_value: layout.atom_addr[file as usize][atom as usize] + u64::from(offset),
            }),
            Def::Dylib { dylib, .. } if sym.referenced => g.undefined.push(Nlist {
                name: sym.name.into(),
                n_type: macho::N_UNDF | macho::N_EXT,
                n_sect: 0,
                n_desc: ((dylib + 1) as u16) << 8
                    | if sym.weak_ref { macho::N_WEAK_REF } else { 0 },
                n_value: 0,
            }),
            Def::DynamicLookup if sym.referenced => g.undefined.push(Nlist {
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
    g
}
