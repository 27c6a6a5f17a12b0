//! Writing the output image, as passes the driver ([`crate::link`]) calls
//! in order, each borrowing what the ones before returned:
//!
//! [`plan`] (synthetic scan, sections, load commands, addresses) →
//! [`fill_code_gaps`] → [`write_atoms`] (parallel, into disjoint ranges) →
//! [`ImportTable::adopt_binds`] → [`write_synthetic`] (stubs, GOT, thread
//! pointers, `__unwind_info`, lazy binding) → [`build_linkedit`] →
//! [`finish_image`] (header, UUID, signature) → [`image_facts`] (what an
//! incremental link records).

use crate::arch::Arch;
use crate::error::{LinkError, Result};
use crate::input::object::ObjectFile;
use crate::input::Inputs;
use crate::layout::{self, Content, Layout, Reserve, IMAGE_BASE};
use crate::linkedit::codesign;
use crate::linkedit::fixups::{self, Fixup, FixupKind, Import};
use crate::linkedit::symtab::{SortedGroups, SymbolGroups};
use crate::linkedit::tables::{
    data_in_code, exports_trie, function_starts, sorted_definitions, symbol_runs,
};
use crate::options::{Options, OutputKind};
use crate::output::{self, LinkeditRanges, LoadCommandPlan};
use crate::relocate::{self, Resolved};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{is_imported, Synthetic};
use crate::timing::Timer;
use object::macho;
use rayon::prelude::*;

/// The image's shape, fixed before any byte is written.
pub(crate) struct Plan {
    pub arch: &'static dyn Arch,
    pub synth: Synthetic,
    /// `__unwind_info`, planned during layout (None: no unwind entries).
    pub unwind: Option<crate::unwind::UnwindTable>,
    pub layout: Layout,
    pub load_commands: LoadCommandPlan,
    /// Bytes for the header, load commands and `-headerpad`.
    pub header_size: u64,
    pub reserve: Reserve,
    /// How many dylibs the image loads (LC_LOAD_DYLIB).
    pub dylibs: u32,
    /// Range-extension thunks (empty unless the code spans more than a
    /// branch reaches).
    pub thunks: crate::thunks::Thunks,
}

/// Pass: which synthetic entries the relocations need, the output
/// sections, the load commands' size, and every address.
pub(crate) fn plan(opts: &Options, inputs: &Inputs, symtab: &SymbolTable) -> Result<Plan> {
    let arch = opts.target();
    let objects = &inputs.objects;
    let chained = opts.use_chained_fixups();
    let lazy_binder = if chained {
        None
    } else {
        symtab.get(b"dyld_stub_binder")
    };
    let mut synth = Synthetic::scan(arch, objects, symtab, lazy_binder);
    if !opts.incremental && !crate::unwind::any_function_described(objects, symtab) {
        // lld leaves `__unwind_info` out when no live function has unwind
        // information (an assembly-only program). An incremental link
        // keeps it: its reserved rows are for the functions later edits
        // add.
        synth.unwind_info = false;
    }
    let reserve = if opts.incremental {
        Reserve::incremental(arch, synth.stubs.entries.len(), chained)
    } else {
        Reserve::default()
    };
    let mut sections = layout::plan_sections(objects, &inputs.layout_order, synth.sections());
    if !opts.incremental {
        drop_dead_sections(&mut sections);
    }
    if synth.lazy_binder.is_none() {
        if let Some(f) = inputs.dyld_private {
            drop_dyld_private(&mut sections, f);
        }
    }
    if !opts.data_const() {
        layout::merge_data_const(&mut sections);
    }
    let empty_segments = crate::linker_symbols::add_missing_sections(opts, symtab, &mut sections)?;
    if opts.init.is_some() {
        // The -init pointer runs before every other initializer.
        for s in &mut sections {
            if let (
                macho::S_MOD_INIT_FUNC_POINTERS | macho::S_INIT_FUNC_OFFSETS,
                Content::Atoms(list),
            ) = (s.kind(), &mut s.content)
            {
                list.sort_by_key(|&(f, _)| {
                    objects[f as usize].name != crate::cmdline::CMDLINE_OBJECT
                });
            }
        }
    }
    crate::cmdline::apply_sectalign(opts, &mut sections);
    if let Some(path) = &opts.order_file {
        crate::order::OrderFile::read(path, &opts.arch)?.apply(objects, &mut sections);
    }
    if reserve.is_incremental() {
        layout::add_reserved_sections(&mut sections, opts.data_const());
    }
    let dylibs: Vec<(&crate::input::dylib::Dylib, u32)> = inputs
        .dylibs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let cmd = inputs.dylib_cmds.get(i).copied();
            (d, cmd.unwrap_or(object::macho::LC_LOAD_DYLIB))
        })
        .collect();
    let mut load_commands = LoadCommandPlan::new(opts, &sections, &dylibs, chained);
    load_commands.add_empty_segments(empty_segments.len());
    let mut pad = u64::from(opts.headerpad);
    if opts.headerpad_max_install_names {
        pad = pad.max(load_commands.max_install_names_pad());
    }
    let header_size = load_commands.header_and_commands_size() + pad;
    let image_base = if opts.output_kind == OutputKind::Executable {
        opts.pagezero_size.unwrap_or(IMAGE_BASE)
    } else {
        0
    };
    let spare_stubs = reserve.imports * arch.stub_size();
    // `__unwind_info` is planned once the functions before it have
    // addresses, so that it gets exactly the size it needs.
    let mut unwind = None;
    let mut size_of = |c: &Content, placed: &layout::Placed| match c {
        Content::UnwindInfo => {
            let table = crate::unwind::plan(arch, objects, symtab, placed, opts.incremental);
            let size = table.as_ref().map_or(0, |t| t.size());
            unwind = Some(table);
            size
        }
        Content::Stubs => synth.size_of(c) + spare_stubs,
        Content::Got => synth.size_of(c) + reserve.imports * 8,
        _ => synth.size_of(c),
    };
    let mut layout = layout::assign_addresses(
        objects,
        sections,
        header_size,
        &mut size_of,
        image_base,
        arch.page_size(),
        reserve.headroom,
        &[],
    );
    let mut thunks = crate::thunks::Thunks::default();
    if crate::thunks::code_exceeds_reach(arch, &layout) {
        // Some branches may be out of reach: plan islands of thunks from
        // these addresses and lay out again with room for them.
        let islands = {
            let res = Resolved::new(arch, &layout, &synth);
            crate::thunks::plan(arch, objects, symtab, &res)
        }
        .map_err(|e| LinkError::usage(format!("{}: {e}", opts.output.display())))?;
        let sections = std::mem::take(&mut layout.sections);
        layout = layout::assign_addresses(
            objects,
            sections,
            header_size,
            &mut size_of,
            image_base,
            arch.page_size(),
            reserve.headroom,
            &islands.gaps,
        );
        if layout.gaps.len() != islands.gaps.len() {
            return Err(LinkError::usage(format!(
                "{}: internal error: {} of {} thunk islands were placed",
                opts.output.display(),
                layout.gaps.len(),
                islands.gaps.len()
            )));
        }
        thunks = crate::thunks::Thunks::new(
            islands.planned,
            &layout.gaps,
            crate::thunks::slot_size(arch),
        );
    }
    layout::add_empty_segments(&mut layout, &empty_segments);
    let unwind = unwind.transpose().map_err(|e| {
        LinkError::usage(format!(
            "{}: cannot build __unwind_info: {e}",
            opts.output.display()
        ))
    })?;
    Ok(Plan {
        arch,
        synth,
        unwind,
        layout,
        load_commands,
        header_size,
        reserve,
        dylibs: dylibs.len() as u32,
        thunks,
    })
}

/// Sections whose every atom dead stripping removed: lld leaves them out
/// (and a segment left without sections goes with them). An incremental
/// link keeps them: their reserved room takes the atoms later edits bring
/// back, instead of forcing a full link.
fn drop_dead_sections(sections: &mut Vec<layout::OutSection>) {
    sections.retain(|s| !matches!(&s.content, Content::Atoms(list) if list.is_empty()));
}

/// Without a stub helper (no stub is bound lazily: chained fixups, or
/// only weak definitions dyld coalesces), nothing uses the dyld-private
/// slot, and lld leaves it out: so does machlink, with its section when it
/// was the only atom there.
fn drop_dyld_private(sections: &mut Vec<layout::OutSection>, file: u32) {
    sections.retain_mut(|s| match &mut s.content {
        Content::Atoms(list) if list.contains(&(file, 0)) => {
            list.retain(|&a| a != (file, 0));
            !list.is_empty()
        }
        _ => true,
    });
}

/// Pass: unused stubs, and code sections without atoms, get the target's
/// trap instruction, so a stray jump traps instead of sliding into a
/// neighbour. The code between functions (alignment, slot headroom,
/// reserved space) gets it as the atoms are written, in parallel (see
/// [`relocate::FileAtoms`]): filling it here, on one thread, was the
/// first touch of every page of the code.
pub(crate) fn fill_code_gaps(arch: &dyn Arch, layout: &Layout, image: &mut [u8]) {
    for s in layout.sections.iter().filter(|s| s.is_code()) {
        let whole = match &s.content {
            Content::Stubs => true,
            Content::Atoms(list) => list.is_empty(),
            _ => false,
        };
        if whole {
            let (start, end) = (s.offset as usize, (s.offset + s.size) as usize);
            crate::arch::fill_trap(&mut image[start..end], arch.trap(), 0);
        }
    }
}

/// Pass: every atom copied and relocated, in parallel per file, each into
/// its own disjoint part of the image. Returns the fixups the pointers
/// need (binds name symbol ids until [`ImportTable::adopt_binds`]).
pub(crate) fn write_atoms(
    image: &mut [u8],
    objects: &[ObjectFile],
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Vec<Fixup>> {
    let per_file =
        relocate::split_all_atoms(image, res.layout, objects).map_err(LinkError::usage)?;
    let outs: Vec<relocate::FileOut> = objects
        .par_iter()
        .zip(per_file)
        .enumerate()
        .map(|(fi, (obj, runs))| {
            let atoms = relocate::FileAtoms::Runs {
                runs,
                trap: res.arch.trap(),
            };
            relocate::write_file_atoms(fi as u32, obj, atoms, symtab, res)
        })
        .collect();
    let mut fixups = Vec::with_capacity(outs.iter().map(|f| f.fixups.len()).sum());
    let mut errors = Vec::new();
    for f in outs {
        fixups.extend(f.fixups);
        errors.extend(f.errors);
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(fixups),
    }
}

/// The imports dyld binds: one per imported symbol that a slot binds, in
/// first-use order.
pub(crate) struct ImportTable<'s> {
    symtab: &'s SymbolTable<'s>,
    pub list: Vec<Import>,
    index: rustc_hash::FxHashMap<SymId, u32>,
    /// `-flat_namespace`: every import is looked up in all images.
    flat: bool,
    /// Chained fixups: weak definitions dyld coalesces are imports with
    /// the weak-lookup ordinal.
    chained: bool,
}

impl<'s> ImportTable<'s> {
    pub fn new(symtab: &'s SymbolTable<'s>, flat: bool, chained: bool) -> Self {
        ImportTable {
            symtab,
            list: Vec::new(),
            index: Default::default(),
            flat,
            chained,
        }
    }

    /// The import of symbol `id`, added on first use.
    pub fn of(&mut self, id: SymId) -> u32 {
        let (list, symtab, flat, chained) = (&mut self.list, self.symtab, self.flat, self.chained);
        *self.index.entry(id).or_insert_with(|| {
            let sym = &symtab.syms[id as usize];
            let ordinal = match sym.def {
                def if chained && crate::weak::coalesced(def) => crate::weak::WEAK_LOOKUP_ORDINAL,
                Def::Dylib { .. } if flat => i32::from(macho::BIND_SPECIAL_DYLIB_FLAT_LOOKUP),
                Def::Dylib {
                    dylib: crate::symbols::BUNDLE_LOADER,
                    ..
                } => i32::from(macho::BIND_SPECIAL_DYLIB_MAIN_EXECUTABLE),
                Def::Dylib { dylib, .. } => dylib as i32 + 1,
                _ => i32::from(macho::BIND_SPECIAL_DYLIB_FLAT_LOOKUP),
            };
            list.push(Import {
                name: sym.name.into(),
                ordinal,
                // The image's own definition is never missing.
                weak: sym.weak_ref && !matches!(sym.def, Def::Defined { .. }),
            });
            list.len() as u32 - 1
        })
    }

    /// Binds from atoms carry a symbol id in `import`; this makes it an
    /// import index.
    pub fn adopt_binds(&mut self, fixups: &mut [Fixup]) {
        for f in fixups {
            if let FixupKind::Bind { import, .. } | FixupKind::WeakBind { import, .. } = &mut f.kind
            {
                *import = self.of(*import);
            }
        }
    }
}

/// What [`write_synthetic`] produced beyond bytes and fixups.
pub(crate) struct SyntheticOut {
    /// `__unwind_info` rows (function address → encoding; personality and
    /// LSDA only as present or not, see [`crate::unwind::UnwindTable`]).
    pub unwind_rows: Vec<crate::unwind_info::UnwindEntry>,
    /// The lazy bind opcode stream (classic lazy binding only).
    pub lazy_binds: Vec<u8>,
}

/// Pass: stub code, GOT and thread-pointer slot fixups, `__unwind_info`
/// and classic lazy binding, now that every address is known. Leaves the
/// fixups sorted by address.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_synthetic(
    opts: &Options,
    inputs: &Inputs,
    symtab: &SymbolTable,
    synth: &Synthetic,
    unwind: Option<crate::unwind::UnwindTable>,
    res: &Resolved,
    image: &mut [u8],
    fixups: &mut Vec<Fixup>,
    imports: &mut ImportTable,
) -> Result<SyntheticOut> {
    let err = |e: String| LinkError::usage(format!("{}: {e}", opts.output.display()));
    write_stubs_and_slots(synth, res, symtab, image, fixups, imports).map_err(err)?;
    let dyld_private = inputs
        .dyld_private
        .map_or(0, |f| res.layout.atom_addr[f as usize][0]);
    if !synth.chained {
        bind_weak_lazy_pointers(synth, res, symtab, fixups, imports);
    }
    // (lazy pointer, import) of each lazily bound stub.
    let lazy: Vec<(u64, u32)> = synth
        .lazy
        .entries
        .iter()
        .map(|&id| {
            let stub = synth.stubs.get(id).unwrap_or(0);
            (res.lazy_ptrs_addr + u64::from(stub) * 8, imports.of(id))
        })
        .collect();
    // An interposable definition's lazy pointer starts out at the image's
    // own definition rather than its stub helper entry, as lld writes it
    // (dyld binds it at launch).
    let initial: Vec<Option<u64>> = synth
        .lazy
        .entries
        .iter()
        .map(|&id| {
            let def = symtab.syms[id as usize].def;
            crate::interpose::interposable(def)
                .then(|| res.symbol_addr(symtab, id))
                .flatten()
        })
        .collect();
    let lazy_binds = match synth.lazy_binder {
        Some(binder) => write_lazy_binding(
            res,
            binder,
            dyld_private,
            image,
            fixups,
            &imports.list,
            (&lazy, &initial),
        )
        .map_err(err)?,
        None => Vec::new(),
    };
    let mut starts: Vec<u64> = res.layout.sections.iter().map(|s| s.addr).collect();
    starts.sort_unstable();
    // `__unwind_info` (its bytes only) is encoded beside the sort of the
    // fixups: both are serial.
    let (unwind_rows, ()) = rayon::join(
        || write_unwind_info(unwind, res, image),
        || crate::linkedit::fixups::sort_by_address(fixups, &starts),
    );
    let unwind_rows = unwind_rows.map_err(err)?;
    Ok(SyntheticOut {
        unwind_rows,
        lazy_binds,
    })
}

/// Stub code and GOT / thread-pointer slot fixups.
fn write_stubs_and_slots(
    synth: &Synthetic,
    res: &Resolved,
    symtab: &SymbolTable,
    image: &mut [u8],
    fixups: &mut Vec<Fixup>,
    imports: &mut ImportTable,
) -> std::result::Result<(), String> {
    let stub_size = res.arch.stub_size();
    for s in &res.layout.sections {
        match s.content {
            Content::Stubs => {
                for (i, &id) in synth.stubs.entries.iter().enumerate() {
                    let at = s.addr + i as u64 * stub_size;
                    let slot = if !synth.chained {
                        res.lazy_ptrs_addr + i as u64 * 8
                    } else {
                        res.got_slot(id).ok_or("a stub has no GOT slot")?
                    };
                    let off = (s.offset + i as u64 * stub_size) as usize;
                    res.arch
                        .write_stub(&mut image[off..], at, slot)
                        .map_err(|e| format!("stub at {at:#x}: {e}"))?;
                }
            }
            Content::Got | Content::ThreadPtrs => {
                let table = if s.content == Content::Got {
                    &synth.got
                } else {
                    &synth.thread_ptrs
                };
                for (i, &id) in table.entries.iter().enumerate() {
                    let addr = s.addr + i as u64 * 8;
                    let def = symtab.syms[id as usize].def;
                    if let Def::Absolute { value } = def {
                        // A constant: no fixup, dyld must not slide it.
                        let off = (s.offset + i as u64 * 8) as usize;
                        image[off..off + 8].copy_from_slice(&value.to_le_bytes());
                        continue;
                    }
                    let bound = is_imported(def) || (synth.chained && crate::weak::bound_here(def));
                    let kind = if bound {
                        FixupKind::Bind {
                            import: imports.of(id),
                            addend: 0,
                        }
                    } else {
                        FixupKind::Rebase {
                            target: res.symbol_addr(symtab, id).unwrap_or(0),
                        }
                    };
                    fixups.push(Fixup { addr, kind });
                    // Classic: the rebased slot is then bound by flat
                    // lookup (interposable) or weakly (coalesced).
                    if !synth.chained
                        && crate::weak::bound_here(def)
                        && !crate::weak::coalesced(def)
                    {
                        fixups.push(Fixup {
                            addr,
                            kind: FixupKind::Bind {
                                import: imports.of(id),
                                addend: 0,
                            },
                        });
                    }
                    if !synth.chained && crate::weak::coalesced(def) {
                        fixups.push(Fixup {
                            addr,
                            kind: FixupKind::WeakBind {
                                import: imports.of(id),
                                addend: 0,
                            },
                        });
                    }
                }
            }
            Content::Atoms(_)
            | Content::StubHelper
            | Content::LazyPointers
            | Content::UnwindInfo => {}
        }
    }
    Ok(())
}

/// Writes `__unwind_info`, planned during layout, now that every GOT slot
/// and LSDA has its address; returns its rows.
fn write_unwind_info(
    table: Option<crate::unwind::UnwindTable>,
    res: &Resolved,
    image: &mut [u8],
) -> std::result::Result<Vec<crate::unwind_info::UnwindEntry>, String> {
    let layout = res.layout;
    let (Some(table), Some(sec)) = (
        table,
        layout
            .sections
            .iter()
            .find(|s| s.content == Content::UnwindInfo),
    ) else {
        return Ok(Vec::new());
    };
    let bytes = table
        .encode(&layout.atom_addr, &|g| res.got_slot(g))
        .map_err(|e| format!("cannot build __unwind_info: {e}"))?;
    if bytes.len() as u64 != table.size() || bytes.len() as u64 > sec.size {
        return Err(format!(
            "__unwind_info needs {} bytes, {} were planned and {} reserved",
            bytes.len(),
            table.size(),
            sec.size
        ));
    }
    let off = sec.offset as usize;
    image[off..off + bytes.len()].copy_from_slice(&bytes);
    Ok(table.rows)
}

/// Classic format: the lazy pointers of stubs that dyld coalesces are not
/// bound lazily but at load time (a dylib's weak definition) or rebased to
/// the image's own copy, and weakly bound (as lld does).
fn bind_weak_lazy_pointers(
    synth: &Synthetic,
    res: &Resolved,
    symtab: &SymbolTable,
    fixups: &mut Vec<Fixup>,
    imports: &mut ImportTable,
) {
    for (i, &id) in synth.stubs.entries.iter().enumerate() {
        let def = symtab.syms[id as usize].def;
        if synth.lazy.get(id).is_some() || !crate::weak::coalesced(def) {
            continue;
        }
        let addr = res.lazy_ptrs_addr + i as u64 * 8;
        let import = imports.of(id);
        let kind = if is_imported(def) {
            FixupKind::Bind { import, addend: 0 }
        } else {
            FixupKind::Rebase {
                target: res.symbol_addr(symtab, id).unwrap_or(0),
            }
        };
        fixups.push(Fixup { addr, kind });
        fixups.push(Fixup {
            addr,
            kind: FixupKind::WeakBind { import, addend: 0 },
        });
    }
}

/// Classic lazy binding: each lazy pointer starts out pointing at its stub
/// helper entry, which pushes the offset of the symbol's record in the lazy
/// bind stream and jumps to the helper header, which calls dyld_stub_binder.
/// `entries` are the lazy pointer and import of each lazily bound stub, in
/// stub helper order, `initial` where a lazy pointer starts out instead of
/// its stub helper entry. Returns the lazy bind stream.
fn write_lazy_binding(
    res: &Resolved,
    binder: SymId,
    dyld_private: u64,
    image: &mut [u8],
    fixups: &mut Vec<Fixup>,
    imports: &[Import],
    (entries, initial): (&[(u64, u32)], &[Option<u64>]),
) -> std::result::Result<Vec<u8>, String> {
    let layout = res.layout;
    let (stream, offsets) = fixups::encode_lazy_binds(entries, imports, layout)?;
    let helper = res.stub_helper_addr;
    let off = layout
        .file_offset(helper)
        .ok_or("stub helper is not in the file")? as usize;
    let binder_slot = res
        .got_slot(binder)
        .ok_or("no GOT slot for dyld_stub_binder")?;
    res.arch
        .write_stub_helper(
            &mut image[off..],
            helper,
            dyld_private,
            binder_slot,
            &offsets,
        )
        .map_err(|e| format!("stub helper: {e}"))?;
    let (header, entry) = (
        res.arch.stub_helper_header_size(),
        res.arch.stub_helper_entry_size(),
    );
    for (i, &(slot, _)) in entries.iter().enumerate() {
        fixups.push(Fixup {
            addr: slot,
            kind: FixupKind::Rebase {
                target: initial
                    .get(i)
                    .copied()
                    .flatten()
                    .unwrap_or(helper + header + i as u64 * entry),
            },
        });
    }
    Ok(stream)
}

/// The LINKEDIT segment's contents, before the signature: its size and
/// what goes where, written into the output by [`finish_image`] once the
/// file has grown to hold it. Only the pieces are written: everything
/// else (room after a piece, padding, NULs of the string table) is the
/// zeros of the freshly grown file.
pub(crate) struct Linkedit<'a> {
    /// Bytes from the segment's start to the signature (or the end).
    pub size: u64,
    /// Blobs and their file offsets.
    pieces: Vec<(u64, Vec<u8>)>,
    /// The symbol and string tables, written in place.
    symbols: SortedGroups<'a>,
    pub ranges: LinkeditRanges,
    /// Where the room after the pieces an update rewrites ends (file
    /// offsets; equal to the piece's end without room).
    pub chained_end: u64,
    pub exports_end: u64,
    pub symtab_end: u64,
    pub strtab_end: u64,
    /// Per output section: its first indirect-symbol entry, if it has any.
    pub indirect_starts: Vec<Option<u32>>,
    /// Size of the ad-hoc signature that follows (0: unsigned).
    pub signature_size: u64,
    /// MH_WEAK_DEFINES / MH_BINDS_TO_WEAK (see [`crate::weak`]).
    pub weak_flags: u32,
}

impl Linkedit<'_> {
    /// The file offset the signature covers up to.
    pub fn code_limit(&self, linkedit_off: u64) -> u64 {
        linkedit_off + self.size
    }

    /// Writes every piece into `linkedit`, the zeros of LINKEDIT, which
    /// starts at file offset `base`.
    fn write_into(&self, linkedit: &mut [u8], base: u64) {
        let at = |off: u64| (off - base) as usize;
        for (off, blob) in &self.pieces {
            linkedit[at(*off)..][..blob.len()].copy_from_slice(blob);
        }
        let (symoff, symsize) = self.ranges.symtab;
        let (stroff, strsize) = self.ranges.strtab;
        let (symoff, stroff) = (at(u64::from(symoff)) as u32, at(u64::from(stroff)) as u32);
        // The string table follows the symbol table.
        let (head, tail) = linkedit.split_at_mut(stroff as usize);
        self.symbols.write_into(
            &mut head[symoff as usize..][..symsize as usize],
            &mut tail[..strsize as usize],
        );
    }
}

/// LINKEDIT's pieces as they are placed, one after another from the
/// segment's start: only offsets advance; blobs are kept to be written
/// later.
struct Placer {
    /// File offset of the next piece.
    at: u64,
    pieces: Vec<(u64, Vec<u8>)>,
}

impl Placer {
    /// Places `blob` next; returns its (offset, size).
    fn put(&mut self, blob: Vec<u8>) -> (u32, u32) {
        let placed = (self.at as u32, blob.len() as u32);
        self.at += blob.len() as u64;
        if !blob.is_empty() {
            self.pieces.push((u64::from(placed.0), blob));
        }
        placed
    }

    /// Skips `size` bytes (written later, or zeros).
    fn skip(&mut self, size: u64) -> (u32, u32) {
        let placed = (self.at as u32, size as u32);
        self.at += size;
        placed
    }

    /// Pads to a multiple of `align` bytes from `base` with zeros.
    fn pad(&mut self, base: u64, align: u64) {
        self.at = base + (self.at - base).next_multiple_of(align);
    }
}

/// The dyld fixups' LINKEDIT blobs, in one format or the other.
enum FixupBlobs {
    Chained(Vec<u8>),
    Opcodes {
        rebase: Vec<u8>,
        bind: Vec<u8>,
        weak_bind: Vec<u8>,
    },
}

/// Encodes the fixups (chained fixups are also written into their slots
/// in `image`; `all_data_segments`: see [`fixups::encode_chained`]).
fn fixup_blobs(
    opts: &Options,
    symtab: &SymbolTable,
    layout: &Layout,
    (fixup_list, imports): (&[Fixup], &[Import]),
    image: fixups::SlotBytes,
    all_data_segments: bool,
) -> std::result::Result<FixupBlobs, String> {
    if opts.use_chained_fixups() {
        let blob = fixups::encode_chained(fixup_list, imports, layout, image, all_data_segments)?;
        return Ok(FixupBlobs::Chained(blob));
    }
    let (rebase, bind) = fixups::encode_opcodes(fixup_list, imports, layout, image)?;
    let overrides = crate::weak::strong_overrides(symtab, layout);
    let weak_bind = crate::weak::encode_weak_binds(&overrides, fixup_list, imports, layout)?;
    Ok(FixupBlobs::Opcodes {
        rebase,
        bind,
        weak_bind,
    })
}

/// Pass: the LINKEDIT pieces (fixups, exports, function starts, symbols,
/// indirect symbols, strings; room for the signature), each followed by
/// the reserve an incremental link keeps. Chained fixups are also written
/// into their slots in `image`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_linkedit<'a>(
    opts: &Options,
    plan: &Plan,
    objects: &[ObjectFile<'a>],
    symtab: &SymbolTable<'a>,
    fixup_list: &[Fixup],
    imports: &[Import],
    lazy_binds: &[u8],
    image: fixups::SlotBytes,
    timer: &mut Timer,
) -> Result<Linkedit<'a>> {
    let layout = &plan.layout;
    let reserve = plan.reserve;
    let (linkedit_off, _) = layout.linkedit_start();
    let mut out = Placer {
        at: linkedit_off,
        pieces: Vec::new(),
    };
    let mut ranges = LinkeditRanges::default();
    let with_room = |out: &mut Placer, used: usize, min: usize| -> u64 {
        let room = reserve.linkedit(used, min);
        if room > 0 {
            out.skip(room as u64);
            out.pad(linkedit_off, 8);
        }
        out.at
    };
    let err = |e: String| LinkError::usage(format!("{}: {e}", opts.output.display()));
    // The fixups and the function starts need no sorted names: they run
    // beside the sort of the definitions, which the exports trie and the
    // symbol table's externals share; the trie and the symbol table then
    // run side by side (the trie's build is serial in parts; the symbol
    // runs are per object, and the string table's layout follows them
    // there rather than after the trie).
    let ((trie, groups), (fixup_blobs, (starts, dice))) = rayon::join(
        || {
            let sorted = sorted_definitions(symtab, layout);
            rayon::join(
                || exports_trie(opts, symtab, layout, objects, &sorted),
                || {
                    let mut runs = symbol_runs(opts, symtab, layout, objects, Some(&sorted.ids));
                    runs.locals.push(crate::linkedit::symtab::LocalRun::Entries(
                        crate::thunks::symbols(&plan.thunks, objects, symtab),
                    ));
                    runs.locals.retain(|r| !r.is_empty());
                    SortedGroups::with_externals(runs.locals, runs.externals, runs.undefined)
                },
            )
        },
        || {
            rayon::join(
                || {
                    let all_data_segments = reserve.is_incremental();
                    fixup_blobs(
                        opts,
                        symtab,
                        layout,
                        (fixup_list, imports),
                        image,
                        all_data_segments,
                    )
                },
                || {
                    // `-no_function_starts` drops the table (an incremental
                    // link keeps it: updates find functions through it;
                    // only the load command goes).
                    let starts = if opts.no_function_starts && !reserve.is_incremental() {
                        Vec::new()
                    } else {
                        function_starts(layout, objects)
                    };
                    // An update rewrites code without revisiting these
                    // entries (only disassemblers read them), so
                    // incremental links leave them out rather than let
                    // them go stale.
                    let dice = if reserve.is_incremental() || opts.no_data_in_code {
                        Vec::new()
                    } else {
                        data_in_code(layout, objects)
                    };
                    (starts, dice)
                },
            )
        },
    );
    let mut chained_end = 0;
    match fixup_blobs.map_err(err)? {
        FixupBlobs::Chained(blob) => {
            let used = blob.len();
            ranges.chained_fixups = out.put(blob);
            chained_end = with_room(&mut out, used, 1024);
        }
        FixupBlobs::Opcodes {
            rebase,
            bind,
            weak_bind,
        } => {
            ranges.rebase = out.put(rebase);
            ranges.bind = out.put(bind);
            ranges.weak_bind = out.put(weak_bind);
            ranges.lazy_bind = out.put(lazy_binds.to_vec());
        }
    }
    let weak_flags = crate::weak::header_flags(
        crate::weak::exports_weak(symtab, layout),
        !crate::weak::strong_overrides(symtab, layout).is_empty(),
        fixup_list,
        imports,
        opts.use_chained_fixups(),
    );
    ranges.exports_trie = out.put(trie);
    let exports_end = with_room(&mut out, ranges.exports_trie.1 as usize, 256);
    let mut starts = starts;
    starts.resize(starts.len() + reserve.function_starts(starts.len()), 0);
    ranges.function_starts = out.put(starts);
    ranges.data_in_code = out.put(dice);
    timer.lap("fixups+exports+symbols");
    // The stubs, GOT and thread-pointer slots of definitions dyld may
    // replace (coalesced weak, flat-namespace interposable) name their
    // defined, external symbol in the indirect symbol table, found among
    // the sorted externals.
    let synth = &plan.synth;
    let names_own = synth
        .stubs
        .entries
        .iter()
        .chain(&synth.got.entries)
        .chain(&synth.thread_ptrs.entries)
        .any(|&id| crate::weak::bound_here(symtab.syms[id as usize].def));
    let externals: Vec<&[u8]> = if names_own {
        groups.external_names()
    } else {
        Vec::new()
    };
    let symbols_size = groups.symbols_size();
    ranges.symtab = out.skip(symbols_size as u64);
    let symtab_end = with_room(&mut out, symbols_size, 64 * 16);
    ranges.nsyms = groups.nlocal + groups.nextdef + groups.nundef;
    ranges.nlocal = groups.nlocal;
    ranges.nextdef = groups.nextdef;
    ranges.nundef = groups.nundef;
    let (indirect, indirect_starts) = indirect_symbols(
        plan,
        symtab,
        (&externals, groups.nlocal),
        groups.nlocal + groups.nextdef,
    );
    drop(externals);
    ranges.indirect = out.put(indirect);
    ranges.strtab = out.skip(groups.strings_size as u64);
    let strtab_end = with_room(&mut out, groups.strings_size, 2048);
    // The ad-hoc signature comes last, 16-byte aligned, and covers
    // everything before it.
    let signature_size = if plan.load_commands.codesign() {
        out.pad(linkedit_off, 16);
        let code_limit = out.at;
        let size = codesign::signature_size(code_limit, &identifier(opts));
        ranges.code_signature = (code_limit as u32, size as u32);
        size
    } else {
        0
    };
    timer.lap("linkedit");
    Ok(Linkedit {
        size: out.at - linkedit_off,
        pieces: out.pieces,
        symbols: groups,
        ranges,
        chained_end,
        exports_end,
        symtab_end,
        strtab_end,
        indirect_starts,
        signature_size,
        weak_flags,
    })
}

/// The indirect symbol table (one entry per stub, GOT, lazy and
/// thread-pointer slot, naming its symbol) and each section's first entry.
fn indirect_symbols(
    plan: &Plan,
    symtab: &SymbolTable,
    (externals, extdef_base): (&[&[u8]], u32),
    undef_base: u32,
) -> (Vec<u8>, Vec<Option<u32>>) {
    let synth = &plan.synth;
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
    let mut indirect = Vec::new();
    let mut starts: Vec<Option<u32>> = Vec::new();
    for s in &plan.layout.sections {
        let table = match s.content {
            Content::Stubs | Content::LazyPointers => &synth.stubs,
            Content::Got => &synth.got,
            Content::ThreadPtrs => &synth.thread_ptrs,
            Content::Atoms(_) | Content::StubHelper | Content::UnwindInfo => {
                starts.push(None);
                continue;
            }
        };
        starts.push(Some((indirect.len() / 4) as u32));
        for &id in &table.entries {
            let sym = &symtab.syms[id as usize];
            let idx = if is_imported(sym.def) {
                SymbolGroups::undefined_index(&undefined_names, undef_base, sym.name)
                    .unwrap_or(macho::INDIRECT_SYMBOL_LOCAL)
            } else if crate::weak::bound_here(sym.def) {
                externals
                    .binary_search_by(|n| (*n).cmp(sym.name))
                    .map_or(macho::INDIRECT_SYMBOL_LOCAL, |i| extdef_base + i as u32)
            } else {
                macho::INDIRECT_SYMBOL_LOCAL
            };
            indirect.extend_from_slice(&idx.to_le_bytes());
        }
        // Reserved entries (room for new imports) name no symbol yet.
        let entry_size = if s.content == Content::Stubs {
            plan.arch.stub_size()
        } else {
            8
        };
        for _ in table.entries.len() as u64..s.size / entry_size {
            indirect.extend_from_slice(&macho::INDIRECT_SYMBOL_ABS.to_le_bytes());
        }
    }
    crate::linkedit::pad_to(&mut indirect, 8);
    (indirect, starts)
}

/// The signature's identifier: the output's file name.
fn identifier(opts: &Options) -> String {
    opts.output
        .file_name()
        .map_or_else(|| "a.out".to_string(), |n| n.to_string_lossy().into_owned())
}

/// The entry point's address (executables only).
pub(crate) fn entry_point(
    opts: &Options,
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Option<u64>> {
    if opts.output_kind != OutputKind::Executable {
        return Ok(None);
    }
    symtab
        .get(opts.entry.as_bytes())
        .and_then(|id| res.symbol_addr(symtab, id))
        .map(Some)
        .ok_or_else(|| LinkError::usage(format!("entry point {} is not defined", opts.entry)))
}

/// The part of `__TEXT` that is final once the synthetic sections are
/// written, as file offsets: from the end of the header's piece (the
/// header is written last, with the UUID) to the end of the segment, or
/// to the first fixup's slot should `__TEXT` hold one (LINKEDIT's fixups
/// still write those), in whole [`output::AHEAD_ALIGN`] pieces. It goes
/// into the output file while LINKEDIT is built (mostly serial work that
/// leaves a core idle; the write is a system call that keeps one busy
/// for milliseconds). Empty when there is too little to be worth a
/// thread. `fixups` are sorted by address.
pub(crate) fn text_ahead(plan: &Plan, fixups: &[Fixup]) -> std::ops::Range<usize> {
    let align = output::AHEAD_ALIGN as u64;
    let Some(text) = plan.layout.segments.iter().find(|s| s.name == "__TEXT") else {
        return 0..0;
    };
    let mut end = text.fileoff + text.filesize;
    if let Some(first) = fixups.first() {
        if first.addr < text.vmaddr + text.filesize {
            end = end.min(text.fileoff + first.addr.saturating_sub(text.vmaddr));
        }
    }
    let start = layout::align_up(plan.header_size, align);
    let end = end / align * align;
    if end < start + output::AHEAD_MIN as u64 {
        return 0..0;
    }
    start as usize..end as usize
}

/// Pass: LINKEDIT copied in, then the header and load commands, the UUID
/// (a hash of everything before the signature) and the signature, while
/// `ahead` writes what they cover past the header's piece into the file,
/// but for `written`, which it wrote earlier (see [`text_ahead`]), and
/// hashed, in part, in `hashed`.
/// Returns the UUID's file offset.
pub(crate) fn finish_image(
    opts: &Options,
    plan: &mut Plan,
    entry: Option<u64>,
    linkedit: &Linkedit,
    image: &mut [u8],
    ahead: &output::Ahead,
    (written, hashed): (std::ops::Range<usize>, &AheadHashes),
) -> Result<usize> {
    let layout = &plan.layout;
    let (linkedit_off, linkedit_vm) = layout.linkedit_start();
    let linkedit_size = linkedit.size + linkedit.signature_size;
    let linkedit_seg = layout::Segment {
        name: "__LINKEDIT".into(),
        vmaddr: linkedit_vm,
        vmsize: layout::align_up(linkedit_size, layout.page_size),
        fileoff: linkedit_off,
        filesize: linkedit_size,
        maxprot: 1,
        initprot: 1,
        flags: 0,
        sections: 0..0,
    };
    let entry_offset = entry.map_or(0, |e| e - layout.image_base);
    let mut sections = layout.sections.clone();
    for (s, start) in sections.iter_mut().zip(&linkedit.indirect_starts) {
        if let Some(start) = start {
            s.reserved1 = *start;
        }
    }
    let header = plan.load_commands.write(&output::HeaderInputs {
        segments: &layout.segments,
        linkedit: &linkedit_seg,
        sections: &sections,
        entry_offset,
        ranges: &linkedit.ranges,
        has_tlv: layout.tlv_start != 0,
        weak_flags: linkedit.weak_flags,
    });
    if header.len() as u64 > plan.header_size {
        return Err(LinkError::usage(
            "internal error: load commands outgrew their reserved size".to_string(),
        ));
    }
    let code_limit = linkedit.code_limit(linkedit_off) as usize;
    let uuid_offset = plan.load_commands.uuid_offset();
    let has_uuid = plan.load_commands.has_uuid();
    let text = if linkedit.signature_size > 0 {
        let text = layout
            .segments
            .iter()
            .find(|s| s.name == "__TEXT")
            .ok_or_else(|| LinkError::usage("internal error: no __TEXT segment".to_string()))?;
        Some((text.fileoff, text.filesize))
    } else {
        None
    };
    // The image in parts: the head (the header, with the UUID, which
    // hashes of the rest fill in), the segments' contents (final now),
    // LINKEDIT (final once copied in) and the signature. The segments and
    // LINKEDIT go into the file while the rest is worked out: the write is
    // a system call on one core, beside the copy and the hashes.
    let linkedit_start = linkedit_off as usize;
    let split = layout::align_up(header.len() as u64, output::AHEAD_ALIGN as u64).min(linkedit_off)
        as usize;
    let (before, after) = image.split_at_mut(linkedit_start);
    let (head, segments) = before.split_at_mut(split);
    let (linkedit_bytes, signature) = after.split_at_mut(code_limit - linkedit_start);
    let segments: &[u8] = segments;
    let early = ahead.writes() && code_limit >= output::AHEAD_MIN;
    // The segments' pieces around what was written earlier.
    let (before, after) = if written.is_empty() {
        (segments, &segments[segments.len()..])
    } else {
        let cut = |at: usize| at.clamp(split, linkedit_start) - split;
        (
            &segments[..cut(written.start)],
            &segments[cut(written.end)..],
        )
    };
    let after_at = (linkedit_start - after.len()) as u64;
    let written = std::thread::scope(|scope| {
        let writer = |pieces| {
            early
                .then(|| write_ahead(scope, ahead, pieces, None))
                .flatten()
        };
        let first = writer(vec![(before, split as u64), (after, after_at)]);
        linkedit.write_into(linkedit_bytes, linkedit_off);
        let linkedit_bytes: &[u8] = linkedit_bytes;
        let second = writer(vec![(linkedit_bytes, linkedit_off)]);
        head[..header.len()].copy_from_slice(&header);
        if has_uuid {
            let uuid = if opts.random_uuid {
                let mut uuid = [0u8; 16];
                output::fill_random_uuid(&mut uuid);
                uuid
            } else {
                output::uuid_of_parts(&hashed.parts([head, segments, linkedit_bytes], &hashed.uuid))
            };
            head[uuid_offset..uuid_offset + 16].copy_from_slice(&uuid);
        }
        if let Some(text) = text {
            let sig = codesign::build_signature_of_hashed_parts(
                &hashed.parts([head, segments, linkedit_bytes], &hashed.pages),
                &identifier(opts),
                text,
                opts.output_kind == OutputKind::Executable,
            );
            signature[..sig.len()].copy_from_slice(&sig);
        }
        [first, second]
            .into_iter()
            .flatten()
            .try_for_each(|w| w.join().expect("the output's writer panicked"))
    });
    written
        .map_err(|e| LinkError::file(opts.output.display(), format!("cannot write output: {e}")))?;
    Ok(uuid_offset)
}

/// The hashes of a part of `__TEXT` taken while LINKEDIT is built (see
/// [`AheadHashing`]): the UUID's chunks and the
/// signature's pages of `range` (file offsets, on the UUID chunks'
/// boundaries, which are pages' too), so that [`finish_image`] hashes
/// only the rest. Both empty when not taken.
#[derive(Default)]
pub(crate) struct AheadHashes {
    range: std::ops::Range<usize>,
    uuid: Vec<u8>,
    pages: Vec<u8>,
}

impl AheadHashes {
    /// `parts` (head, segments, LINKEDIT: the image before the signature,
    /// end to end) with `range` given by `hashes` (when there are any)
    /// instead of its bytes.
    fn parts<'a>(&'a self, parts: [&'a [u8]; 3], hashes: &'a [u8]) -> Vec<output::HashPart<'a>> {
        let [head, segments, linkedit] = parts;
        if hashes.is_empty() || self.range.is_empty() {
            return parts.into_iter().map(output::HashPart::Bytes).collect();
        }
        // The range lies within the segments (past the head's piece).
        let cut = |at: usize| at - head.len();
        vec![
            output::HashPart::Bytes(head),
            output::HashPart::Bytes(&segments[..cut(self.range.start)]),
            output::HashPart::Hashed {
                len: self.range.len(),
                hashes,
            },
            output::HashPart::Bytes(&segments[cut(self.range.end)..]),
            output::HashPart::Bytes(linkedit),
        ]
    }
}

/// What of the image [`AheadHashing`] hashes.
pub(crate) struct HashAhead {
    pub uuid: bool,
    pub sign: bool,
}

impl HashAhead {
    /// The hashes the image needs: the UUID's (unless random), the
    /// signature's pages (when it is signed).
    pub fn of(opts: &Options, plan: &Plan) -> Self {
        HashAhead {
            uuid: plan.load_commands.has_uuid() && !opts.random_uuid,
            sign: plan.load_commands.codesign(),
        }
    }
}

/// The hashes of the whole UUID chunks of a range of `__TEXT` written
/// early (see [`text_ahead`]), taken by whichever thread has time: the
/// one that writes the range, once it has, and the link's own threads
/// once LINKEDIT is built, chunk by chunk, each chunk by one of them.
/// What the thread that writes takes while LINKEDIT is built (work that
/// leaves a core idle at times), [`finish_image`] does not, after
/// everything else; and none waits for another's hashing.
pub(crate) struct AheadHashing<'a> {
    /// The chunks' bytes, and where they are in the image.
    bytes: &'a [u8],
    range: std::ops::Range<usize>,
    what: HashAhead,
    /// The next chunk to hash.
    next: std::sync::atomic::AtomicUsize,
    /// Per chunk: its UUID hash and page hashes, once taken.
    done: Vec<std::sync::OnceLock<([u8; 16], Vec<u8>)>>,
}

impl<'a> AheadHashing<'a> {
    /// The whole UUID chunks of `image[range]` (none if nothing is to be
    /// hashed).
    pub fn new(image: &'a [u8], range: std::ops::Range<usize>, what: HashAhead) -> Self {
        let chunk = output::UUID_CHUNK;
        let mut range = range.start.next_multiple_of(chunk)..range.end / chunk * chunk;
        if range.is_empty() || !(what.uuid || what.sign) {
            range = 0..0;
        }
        AheadHashing {
            bytes: &image[range.clone()],
            done: (0..range.len() / chunk)
                .map(|_| Default::default())
                .collect(),
            range,
            what,
            next: Default::default(),
        }
    }

    /// Hashes chunks until none is left.
    pub fn work(&self) {
        let chunk = output::UUID_CHUNK;
        loop {
            let k = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(slot) = self.done.get(k) else {
                return;
            };
            let bytes = &self.bytes[k * chunk..(k + 1) * chunk];
            let uuid = if self.what.uuid {
                output::uuid_chunk_hashes(bytes)
                    .try_into()
                    .expect("one chunk's hash")
            } else {
                [0; 16]
            };
            let pages = if self.what.sign {
                codesign::page_hashes(bytes)
            } else {
                Vec::new()
            };
            let _ = slot.set((uuid, pages));
        }
    }

    /// The hashes, all taken: [`Self::work`] has returned on some thread
    /// and every thread that ran it has finished.
    pub fn finish(self) -> AheadHashes {
        let mut out = AheadHashes {
            range: self.range,
            ..Default::default()
        };
        for slot in self.done {
            let (uuid, pages) = slot.into_inner().expect("every chunk hashed");
            if self.what.uuid {
                out.uuid.extend_from_slice(&uuid);
            }
            out.pages.extend(pages);
        }
        out
    }
}

/// A thread that writes `pieces` (bytes, final, and their file offset)
/// one after the other (see [`output::Ahead`]), then takes its share of
/// `then`'s hashes; none if it cannot be started, which leaves the
/// pieces to the output's `seal`.
pub(crate) fn write_ahead<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    ahead: &'env output::Ahead,
    pieces: Vec<(&'env [u8], u64)>,
    then: Option<&'env AheadHashing<'env>>,
) -> Option<std::thread::ScopedJoinHandle<'scope, std::io::Result<()>>> {
    std::thread::Builder::new()
        .spawn_scoped(scope, move || {
            pieces
                .into_iter()
                .filter(|(bytes, _)| !bytes.is_empty())
                .try_for_each(|(bytes, at)| ahead.write(bytes, at))?;
            if let Some(hashing) = then {
                hashing.work();
            }
            Ok(())
        })
        .ok()
}

/// What an incremental link records about the image it wrote, beyond the
/// inputs and symbols (see `incremental::record`).
pub(crate) struct ImageFacts {
    pub cpu_type: u32,
    pub layout: Layout,
    /// `__unwind_info` rows (function address → encoding).
    pub unwind_rows: Vec<crate::unwind_info::UnwindEntry>,
    pub uuid_offset: u64,
    /// LC_FUNCTION_STARTS data: file offset and size (with reserve).
    pub function_starts: (u64, u64),
    /// (code limit, offset, size) of the ad-hoc signature, zeros if none.
    pub signature: (u64, u64, u64),
    /// File offset and room (with reserve) of the chained fixups, the
    /// exports trie, the symbol table and the string table.
    pub chained_fixups: (u64, u64),
    /// Bytes of `__stubs` and `__got` in use (the rest is room).
    pub stubs_used: u64,
    pub got_used: u64,
    pub exports: (u64, u64),
    pub symtab: (u64, u64),
    pub strtab: (u64, u64),
    /// How many dylibs the image loads (LC_LOAD_DYLIB).
    pub dylibs: u32,
}

/// What the passes wrote that an incremental link's state records.
pub(crate) struct Written {
    pub unwind_rows: Vec<crate::unwind_info::UnwindEntry>,
    pub uuid_offset: usize,
}

/// Pass (incremental links): the facts the state records.
pub(crate) fn image_facts(plan: Plan, written: Written, linkedit: &Linkedit) -> ImageFacts {
    let (linkedit_off, _) = plan.layout.linkedit_start();
    let ranges = &linkedit.ranges;
    let code_limit = linkedit.code_limit(linkedit_off);
    let span =
        |(off, _): (u32, u32), end: u64| (u64::from(off), end.saturating_sub(u64::from(off)));
    ImageFacts {
        cpu_type: plan.arch.cpu_type(),
        dylibs: plan.dylibs,
        unwind_rows: written.unwind_rows,
        uuid_offset: written.uuid_offset as u64,
        function_starts: (
            u64::from(ranges.function_starts.0),
            u64::from(ranges.function_starts.1),
        ),
        chained_fixups: span(ranges.chained_fixups, linkedit.chained_end),
        stubs_used: plan.synth.stubs.entries.len() as u64 * plan.arch.stub_size(),
        got_used: plan.synth.got.entries.len() as u64 * 8,
        exports: span(ranges.exports_trie, linkedit.exports_end),
        symtab: span(ranges.symtab, linkedit.symtab_end),
        strtab: span(ranges.strtab, linkedit.strtab_end),
        signature: if linkedit.signature_size > 0 {
            (code_limit, code_limit, linkedit.signature_size)
        } else {
            (0, 0, 0)
        },
        layout: plan.layout,
    }
}
