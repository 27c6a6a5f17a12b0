//! Writing the output image: atoms copied and relocated in parallel,
//! synthetic sections, `__unwind_info`, lazy binding, LINKEDIT, the header
//! and the signature, all into the memory-mapped output file.

use crate::error::{LinkError, Result};
use crate::input::dylib::Dylib;
use crate::input::object::ObjectFile;
use crate::layout::{self, Content, Layout, IMAGE_BASE};
use crate::link::{Inputs, Timer};
use crate::linkedit::codesign;
use crate::linkedit::fixups::{self, Fixup, FixupKind, Import};
use crate::linkedit::symtab::SymbolGroups;
use crate::linkedit::tables::{exports_trie, function_starts, symbol_groups};
use crate::options::{Options, OutputKind};
use crate::output;
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{is_imported, Synthetic, STUB_HELPER_ENTRY, STUB_HELPER_HEADER, STUB_SIZE};
use object::macho;
use rayon::prelude::*;

/// Addresses the relocation pass needs, beyond the layout.
pub(crate) struct Resolved<'l> {
    pub layout: &'l Layout,
    synth: &'l Synthetic,
    stubs_addr: u64,
    got_addr: u64,
    thread_ptrs_addr: u64,
    lazy_ptrs_addr: u64,
    stub_helper_addr: u64,
    /// Incremental updates: import entries recorded by the earlier link.
    placed: Option<&'l rustc_hash::FxHashMap<SymId, ImportSlots>>,
}

impl Resolved<'_> {
    /// A symbol's (canonical) address.
    pub fn symbol_addr(&self, symtab: &SymbolTable, id: SymId) -> Option<u64> {
        self.symbol_ref(symtab, id, false)
    }

    /// The address a reference to a symbol means; `interior` as for
    /// [`Layout::referenced_addr`].
    pub fn symbol_ref(&self, symtab: &SymbolTable, id: SymId, interior: bool) -> Option<u64> {
        match symtab.syms[id as usize].def {
            Def::Defined {
                file, atom, offset, ..
            } => Some(
                self.layout
                    .referenced_addr(file, atom, interior || offset != 0)
                    + u64::from(offset),
            ),
            Def::Placed { addr, body } => Some(if interior { body } else { addr }),
            Def::Absolute { value } => Some(value),
            Def::Header => Some(self.layout.image_base),
            _ => None,
        }
    }

    pub fn got_slot(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.got).filter(|&a| a != 0);
        }
        self.synth
            .got
            .get(id)
            .map(|i| self.got_addr + u64::from(i) * 8)
    }

    pub fn stub(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.stub).filter(|&a| a != 0);
        }
        self.synth
            .stubs
            .get(id)
            .map(|i| self.stubs_addr + u64::from(i) * STUB_SIZE)
    }

    pub fn thread_ptr(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.thread_ptr).filter(|&a| a != 0);
        }
        self.synth
            .thread_ptrs
            .get(id)
            .map(|i| self.thread_ptrs_addr + u64::from(i) * 8)
    }
}

/// An imported symbol's synthetic entries as an earlier link placed them
/// (0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportSlots {
    pub stub: u64,
    pub got: u64,
    pub thread_ptr: u64,
}

impl<'l> Resolved<'l> {
    /// Addresses for relocating atoms into an image laid out earlier:
    /// symbols are [`Def::Placed`] and imports' entries come from `placed`.
    pub(crate) fn placed(
        layout: &'l Layout,
        synth: &'l Synthetic,
        placed: &'l rustc_hash::FxHashMap<SymId, ImportSlots>,
    ) -> Self {
        Resolved {
            layout,
            synth,
            stubs_addr: 0,
            got_addr: 0,
            thread_ptrs_addr: 0,
            lazy_ptrs_addr: 0,
            stub_helper_addr: 0,
            placed: Some(placed),
        }
    }
}

/// Per-file results of the relocation pass.
#[derive(Default)]
pub(crate) struct FileOut {
    pub fixups: Vec<Fixup>,
    pub errors: Vec<String>,
}

/// Raw output buffer shared by the parallel writers; every atom writes
/// only its own disjoint range.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(*mut u8, usize);
// SAFETY: writers touch disjoint ranges (each atom has its own bytes).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    pub(crate) fn new(image: &mut [u8]) -> OutPtr {
        OutPtr(image.as_mut_ptr(), image.len())
    }

    /// # Safety
    /// The range must be in bounds and written by one thread only.
    unsafe fn slice(self, off: usize, len: usize) -> &'static mut [u8] {
        assert!(off + len <= self.1);
        std::slice::from_raw_parts_mut(self.0.add(off), len)
    }
}

/// What an incremental link records about the image it wrote, beyond the
/// inputs and symbols (see `incremental::record`).
pub(crate) struct ImageFacts {
    pub layout: Layout,
    /// Every dyld fixup, sorted by address, and the imports binds name.
    pub fixups: Vec<Fixup>,
    pub imports: Vec<Import>,
    /// Synthetic entries of every symbol that has any (by symbol id).
    pub slots: Vec<ImportSlots>,
    /// `__unwind_info` rows (function address → encoding; personality and
    /// LSDA only as present or not, see [`crate::unwind::UnwindTable`]).
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

/// Lays out and writes the output; returns it written but not yet moved
/// into place, and for an incremental link the facts its state records.
pub(crate) fn write_image(
    opts: &Options,
    inputs: &Inputs,
    symtab: &SymbolTable,
    timer: &mut Timer,
) -> Result<(output::OutputFile, Option<ImageFacts>)> {
    let objects = &inputs.objects;
    let lazy_binder = if opts.use_chained_fixups() {
        None
    } else {
        symtab.get(b"dyld_stub_binder")
    };
    let synth = Synthetic::scan(objects, symtab, lazy_binder);
    let mut sections = layout::plan_sections(objects, synth.sections());
    if opts.incremental {
        layout::add_reserved_sections(&mut sections);
    }
    // Incremental links with chained fixups leave room for new imports
    // (a stub and a GOT slot each) after the ones the link needs.
    let import_reserve = if opts.incremental && opts.use_chained_fixups() {
        (synth.stubs.entries.len() as u64 / 4).max(32)
    } else {
        0
    };
    let chained = opts.use_chained_fixups();
    let used_dylibs: Vec<&Dylib> = inputs.dylibs.iter().collect();
    let mut lc_plan = output::LoadCommandPlan::new(opts, &sections, &used_dylibs, chained);
    let header_size = lc_plan.header_and_commands_size() + u64::from(opts.headerpad);
    let image_base = if opts.output_kind == OutputKind::Executable {
        IMAGE_BASE
    } else {
        0
    };
    // Planned once the functions before it have addresses.
    let mut unwind_table = None;
    let layout = layout::assign_addresses(
        objects,
        sections,
        header_size,
        |c, placed| match c {
            Content::UnwindInfo => {
                let table = crate::unwind::plan(objects, symtab, placed);
                let size = table.as_ref().map_or(0, |t| t.size());
                unwind_table = Some(table);
                size
            }
            Content::Stubs => synth.size_of(c) + import_reserve * STUB_SIZE,
            Content::Got => synth.size_of(c) + import_reserve * 8,
            _ => synth.size_of(c),
        },
        image_base,
        opts.incremental.then_some(layout::Headroom {
            min_slot: <crate::arch::x86_64::X86_64 as crate::arch::Arch>::MAX_TRAMPOLINE as u64,
        }),
    );
    let unwind_table = unwind_table.transpose().map_err(|e| {
        LinkError::usage(format!(
            "{}: cannot build __unwind_info: {e}",
            opts.output.display()
        ))
    })?;
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
        placed: None,
    };
    let (linkedit_off, linkedit_vm) = layout.linkedit_start();
    let mut file = output::OutputFile::create(&opts.output, linkedit_off)?;
    let image = file.bytes();
    // Code between functions (alignment, slot headroom, reserved space) is
    // int3, so a stray jump traps instead of sliding into a neighbour.
    for s in layout
        .sections
        .iter()
        .filter(|s| s.is_code() && matches!(s.content, Content::Atoms(_)))
    {
        image[s.offset as usize..(s.offset + s.size) as usize].fill(0xcc);
    }

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
    let unwind_rows = write_unwind_info(unwind_table, &res, image)
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
    // An incremental link leaves room after the pieces an update may
    // rewrite with more entries (exports, symbols, strings): a quarter
    // more, and at least `min`; the room is zeros outside their ranges.
    let reserve = |linkedit: &mut Vec<u8>, used: usize, min: usize| -> u64 {
        if opts.incremental {
            linkedit.resize(linkedit.len() + (used / 4).max(min), 0);
            crate::linkedit::pad_to(linkedit, 8);
        }
        linkedit_off + linkedit.len() as u64
    };
    let put = |blob: &[u8], linkedit: &mut Vec<u8>| -> (u32, u32) {
        let off = linkedit_off + linkedit.len() as u64;
        linkedit.extend_from_slice(blob);
        (off as u32, blob.len() as u32)
    };
    let err = |e: String| LinkError::usage(format!("{}: {e}", opts.output.display()));
    let exports_end;
    let mut chained_end = 0;
    if chained {
        let blob = fixups::encode_chained(&fixup_list, &imports, &layout, image, opts.incremental)
            .map_err(err)?;
        ranges.chained_fixups = put(&blob, &mut linkedit);
        chained_end = reserve(&mut linkedit, blob.len(), 1024);
        ranges.exports_trie = put(&exports_trie(symtab, &layout, objects), &mut linkedit);
        exports_end = reserve(&mut linkedit, ranges.exports_trie.1 as usize, 256);
    } else {
        let (rebase, bind) =
            fixups::encode_opcodes(&fixup_list, &imports, &layout, image).map_err(err)?;
        ranges.rebase = put(&rebase, &mut linkedit);
        ranges.bind = put(&bind, &mut linkedit);
        ranges.lazy_bind = put(&lazy_stream, &mut linkedit);
        ranges.exports_trie = put(&exports_trie(symtab, &layout, objects), &mut linkedit);
        exports_end = reserve(&mut linkedit, ranges.exports_trie.1 as usize, 256);
    }
    timer.lap("fixups+exports");
    let mut starts = function_starts(&layout, objects);
    if opts.incremental {
        // Zeros after the terminator are harmless: room for functions that
        // move or appear later, without moving the rest of LINKEDIT.
        starts.resize(starts.len() + starts.len() / 4 + 64, 0);
    }
    ranges.function_starts = put(&starts, &mut linkedit);
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
    let symtab_end = reserve(&mut linkedit, written.symbols.len(), 64 * 16);
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
        // Reserved entries (room for new imports) name no symbol yet.
        let entry_size = if s.content == Content::Stubs {
            STUB_SIZE
        } else {
            8
        };
        for _ in table.entries.len() as u64..s.size / entry_size {
            indirect.extend_from_slice(&macho::INDIRECT_SYMBOL_ABS.to_le_bytes());
        }
    }
    crate::linkedit::pad_to(&mut indirect, 8);
    ranges.indirect = put(&indirect, &mut linkedit);
    ranges.strtab = put(&written.strings, &mut linkedit);
    let strtab_end = reserve(&mut linkedit, written.strings.len(), 2048);
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
    if !opts.incremental {
        return Ok((file, None));
    }
    let slots = (0..symtab.syms.len() as SymId)
        .map(|id| ImportSlots {
            stub: res.stub(id).unwrap_or(0),
            got: res.got_slot(id).unwrap_or(0),
            thread_ptr: res.thread_ptr(id).unwrap_or(0),
        })
        .collect();
    let facts = ImageFacts {
        dylibs: used_dylibs.len() as u32,
        fixups: fixup_list,
        imports,
        slots,
        unwind_rows,
        uuid_offset: lc_plan.uuid_offset() as u64,
        function_starts: (
            u64::from(ranges.function_starts.0),
            u64::from(ranges.function_starts.1),
        ),
        chained_fixups: (
            u64::from(ranges.chained_fixups.0),
            chained_end.saturating_sub(u64::from(ranges.chained_fixups.0)),
        ),
        stubs_used: synth.stubs.entries.len() as u64 * STUB_SIZE,
        got_used: synth.got.entries.len() as u64 * 8,
        exports: (
            u64::from(ranges.exports_trie.0),
            exports_end - u64::from(ranges.exports_trie.0),
        ),
        symtab: (
            u64::from(ranges.symtab.0),
            symtab_end - u64::from(ranges.symtab.0),
        ),
        strtab: (
            u64::from(ranges.strtab.0),
            strtab_end - u64::from(ranges.strtab.0),
        ),
        signature: if signature_size > 0 {
            (code_limit as u64, code_limit as u64, signature_size)
        } else {
            (0, 0, 0)
        },
        layout,
    };
    Ok((file, Some(facts)))
}

/// Copies a file's atoms into the image and applies their relocations.
/// An atom goes to its body address (its own address unless it moved).
pub(crate) fn write_file_atoms(
    fi: u32,
    obj: &ObjectFile,
    symtab: &SymbolTable,
    res: &Resolved,
    out: OutPtr,
) -> FileOut {
    let mut result = FileOut::default();
    let layout = res.layout;
    for (ai, atom) in obj.atoms.iter().enumerate() {
        if layout.atom_addr[fi as usize][ai] == 0 || atom.alias_of.is_some() {
            continue;
        }
        let addr = layout.body_addr(fi, ai as u32);
        if addr == 0 {
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
                // Room for stubs of later imports traps until it is used.
                image[s.offset as usize..(s.offset + s.size) as usize].fill(0xcc);
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
