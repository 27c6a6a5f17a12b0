//! Replaying changed objects into an incrementally linked image.
//!
//! Each changed object is parsed again and its atoms matched to the
//! recorded ones by key (section and symbol name). A function that still
//! fits its slot is overwritten in place; one that outgrows it gets a body
//! from the section's free list or reserve, and its slot becomes a
//! `jmp rel32` trampoline (a function moved before has its trampoline
//! rewritten and the old body freed: never a chain). Data is overwritten in
//! place when it fits, and moves with its references re-patched when it
//! does not. Relocations are applied by the full link's own writer, against
//! symbol addresses recorded in the state.
//!
//! Everything is written first into a private copy-on-write mapping of the
//! output; the bytes that differ from the file become the patches of a
//! journaled update. Anything this path cannot do correctly is a
//! [`Outcome::Fallback`] with its reason: the caller links in full.
//!
//! This module drives an update (resolve, replay, finish); `plan` decides
//! where atoms go without touching the image, `place` applies those
//! decisions, `references` re-patches other objects' references to
//! moved data, `chains` edits chained fixups and adds imports, and
//! `tables` keeps unwind rows, function starts and symbol tables current.

mod chains;
mod place;
mod plan;
mod records;
mod references;
mod tables;

use super::alloc::Allocator;
use super::journal::{DeltaWrite, Journal};
use super::record::{fixup_shape, is_literal, literal_hash, symbols_hash, AtomKeys, EhFrameKeys};
use super::state::{self, AtomRecord, GlobalKind, GlobalRecord, ObjectRecord, SectionRecord};
use super::symtab_edit::SymbolEdit;
use super::{Fingerprint, Session};
use crate::arch::Arch;
use crate::error::{LinkError, Result};
use crate::input::object::ObjectFile;
use crate::layout::{Headroom, Layout, Segment};
use crate::linkedit::fixups::FixupKind;
use crate::options::Options;
use crate::relocate::Resolved;
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{is_imported, ImportSlots};
use crate::timing::{Phase, Timer};
use object::macho;
use rustc_hash::FxHashMap;
use std::ops::Range;

/// What an update did, for `-v`.
pub struct UpdateStats {
    pub objects: usize,
    pub in_place: usize,
    pub moved: usize,
    pub added: usize,
    pub removed: usize,
    pub trampolines: usize,
    /// Definitions that moved from one changed object to another.
    pub moved_between: usize,
    /// New imports given a stub and GOT slot.
    pub imports: usize,
    pub bytes: u64,
    pub patches: usize,
    /// The symbol and string tables (and exports trie) were written again:
    /// an edit changed which symbols the output lists.
    pub symbols_rewritten: bool,
    /// The replayed object's symbols resolved as the last update found
    /// them, without a lookup (a server's edit loop, see [`ResolvedObject`]).
    pub resolved_again: bool,
    /// In place, on a clone or on a copy.
    pub write_path: super::clone::WritePath,
    /// Wall time of each step, for `-print_statistics`.
    pub phases: Vec<Phase>,
    timer: Timer,
    /// When the update began (its first phase's start), for the caller's
    /// phases before it.
    pub started: std::time::Instant,
}

impl Default for UpdateStats {
    fn default() -> Self {
        UpdateStats {
            objects: 0,
            in_place: 0,
            moved: 0,
            added: 0,
            removed: 0,
            trampolines: 0,
            moved_between: 0,
            imports: 0,
            bytes: 0,
            patches: 0,
            symbols_rewritten: false,
            resolved_again: false,
            write_path: Default::default(),
            phases: Vec::new(),
            timer: Timer::new(),
            started: std::time::Instant::now(),
        }
    }
}

pub enum Outcome {
    Updated(UpdateStats),
    /// The update cannot be done correctly in place: link in full, because…
    Fallback(String),
}

/// Early exit of an update that must fall back.
type Step<T> = std::result::Result<T, Stop>;

pub enum Stop {
    Fallback(String),
    Error(LinkError),
}

impl From<LinkError> for Stop {
    fn from(e: LinkError) -> Stop {
        Stop::Error(e)
    }
}

/// A read of the state that does not check out: a full link, with where.
impl From<state::Damage> for Stop {
    fn from(d: state::Damage) -> Stop {
        damaged(d.0)
    }
}

fn damaged(what: impl std::fmt::Display) -> Stop {
    Stop::Fallback(format!("the incremental state is damaged: {what}"))
}

fn fallback<T>(why: impl Into<String>) -> Step<T> {
    Err(Stop::Fallback(why.into()))
}

fn name(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A symbol name for a message, decoded only if the message is made (a
/// replay resolves every symbol of an object; few of them fall back).
struct Lossy<'a>(&'a [u8]);

impl std::fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.0))
    }
}

/// Updates the image for the changed inputs `changed`.
pub fn run(opts: &Options, session: &mut Session, changed: &[u32]) -> Result<Outcome> {
    let mut lap = |stats: &mut UpdateStats, name: &'static str| stats.timer.lap(name);
    // The update edits the delta it was given (not a copy of it: a
    // replaced object's record is as large as the object); on a fallback
    // the full link records a new state anyway.
    let mut delta = std::mem::take(&mut session.delta);
    if let Err(why) = delta.read_body(&session.base.meta) {
        return Ok(Outcome::Fallback(format!(
            "the incremental state is damaged: {why}"
        )));
    }
    // What earlier updates looked up in the state, as if looked up now.
    session.base.remember(std::mem::take(&mut delta.resolved));
    let kept = &mut *session;
    let session = &*kept;
    // Nothing is written before the journal is committed, so a panic in
    // the planning (a state that passed its checks but is still wrong, or
    // a bug) can fall back to a full link instead of ending the run.
    let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Updater::new(opts, session, delta).and_then(|mut u| {
            lap(&mut u.stats, "map output");
            u.sole = changed.len() == 1;
            u.moved_unchanged = session
                .moved
                .iter()
                .filter(|i| !changed.contains(i))
                .copied()
                .collect();
            let order = u.plan_moves(changed)?;
            for i in order {
                u.object(i)?;
            }
            lap(&mut u.stats, "replay objects");
            u.finish(&mut lap)
        })
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(Stop::Fallback(format!(
            "the update stopped on an internal error ({what}); please report it"
        )))
    });
    match prepared {
        Ok((journal, mut stats, delta)) => {
            stats.timer.begin("journal and patch");
            let mut journal = journal;
            stats.write_path = journal
                .commit(&opts.output, delta.on_disk(), &mut stats.timer)
                .map_err(|e| {
                    LinkError::file(
                        opts.output.display(),
                        format!("cannot write the update: {e}"),
                    )
                })?;
            stats.timer.end();
            stats.phases = std::mem::take(&mut stats.timer).finish();
            stats.bytes = journal.bytes();
            stats.patches = journal.patches.len();
            // The session now describes the updated image (a resident
            // server keeps it for the next request).
            kept.delta = delta;
            Ok(Outcome::Updated(stats))
        }
        Err(Stop::Fallback(why)) => Ok(Outcome::Fallback(why)),
        Err(Stop::Error(e)) => Err(e),
    }
}

/// New debug-map values of a replayed object whose symbols stayed the
/// same, for its group in the image (found by its N_OSO path).
struct StabPatch {
    /// The path its group's N_OSO names now.
    oso: String,
    /// The object's new path, when it moved (its N_OSO is renamed).
    renamed: Option<String>,
    /// (type, value) of each entry of the group, without its closing N_SO.
    values: Vec<(u8, u64)>,
}

/// An import an update adds.
pub struct NewImport {
    pub name: Vec<u8>,
    /// LC_LOAD_DYLIB ordinal.
    pub ordinal: u32,
    pub weak_ref: bool,
    pub slot: ImportSlots,
}

/// A changed object's symbols resolved against the image.
struct Resolution<'a> {
    symtab: SymbolTable<'a>,
    /// Synthetic entries of the symbols it refers to.
    slots: FxHashMap<SymId, ImportSlots>,
    /// Globals it refers to that other objects define.
    others: FxHashMap<SymId, GlobalRecord>,
    /// The definitions resolving gave its symbols (those that differ from
    /// the object's own), and the hash of the symbol table they are for
    /// ([`super::record::symbol_table_hash`]).
    defs: Vec<(SymId, Def)>,
    table: u64,
}

/// How the symbols of the object an update replayed resolved, kept in
/// memory with the delta (a server's session) for the next update.
///
/// The edit loop replays one object again and again, each time with the
/// same symbol table (an edit of a function's body changes values, not
/// names), against an image in which nothing else changed: its thousand
/// symbols then resolve exactly as they did, and looking each one up again
/// was the largest part of a served update after an unrelated program had
/// run (0.18 of 1.6 ms, mostly cache misses). So an update that replayed
/// only this object, where every symbol resolved as before and no import,
/// GOT slot or tentative definition was added, keeps its resolution; the
/// next update takes it out (whatever it replays) and uses it if it too
/// replays only this object and the symbol table hashes the same. Any
/// other update, a full link or a delta read from disk has none.
#[derive(Clone, Debug)]
pub struct ResolvedObject {
    object: u32,
    table: u64,
    /// The ids its symbol table gave the object's symbols.
    ids: Vec<SymId>,
    defs: Vec<(SymId, Def)>,
    slots: FxHashMap<SymId, ImportSlots>,
    others: FxHashMap<SymId, GlobalRecord>,
}

/// A range of the output that an update wrote into its private copy.
type Touched = Range<u64>;

struct Updater<'s> {
    opts: &'s Options,
    /// The target the image was linked for.
    arch: &'static dyn Arch,
    session: &'s Session,
    /// The output as it is on disk, and a private copy-on-write mapping of
    /// it that the update writes (only touched pages are copied).
    orig: memmap2::Mmap,
    img: memmap2::MmapMut,
    layout: Layout,
    alloc: Allocator,
    delta: state::Delta,
    touched: Vec<Touched>,
    /// Changes to `__unwind_info` rows (address, length, encoding; None:
    /// the range was freed) and to function starts (address, added?).
    unwind: Vec<(u64, u64, Option<tables::UnwindRow>)>,
    /// The image's `__unwind_info` has personalities or LSDAs: rows of
    /// replayed functions are then rewritten even where their encoding
    /// stayed, since what they name may have changed.
    unwind_complex: bool,
    starts: Vec<(u64, bool)>,
    /// Symbol-table changes of objects whose symbols changed, and new
    /// debug-map values of the others: (N_OSO path, (type, value) each).
    symbol_edits: Vec<SymbolEdit>,
    stab_patches: Vec<StabPatch>,
    /// String-table bytes the renames in `stab_patches` take, at most.
    oso_rename_bytes: u64,
    /// Inputs at a new path with their recorded contents (not replayed):
    /// their debug-map groups' N_OSO follow them where they can.
    moved_unchanged: Vec<u32>,
    /// Globals the changed objects no longer define, and by whom.
    removed: Vec<(Vec<u8>, String)>,
    /// Data atoms this update moved: (old address, new address).
    moved_data: Vec<(u64, u64)>,
    /// The chained-fixups blob (opened on first use) and the fixup chains
    /// of the pages this update edits: (segment, page) → (offset in page,
    /// word without `next`), written back by `finish`.
    chained: Option<super::imports::ChainedFixups>,
    pages: std::collections::BTreeMap<(usize, u64), Vec<(u64, u64)>>,
    /// File ranges of atoms that stayed where they were (for the count of
    /// atoms updated in place).
    stayed: Vec<Range<usize>>,
    /// Tentative definitions the object being replayed adds: their storage
    /// records and symbols.
    new_commons: Vec<(AtomRecord, crate::linkedit::symtab::Nlist<'static>)>,
    /// The link's libraries, read when a first new import needs them.
    libraries: Option<super::imports::Libraries>,
    /// Imports this update adds, and once written, added.
    new_imports: Vec<NewImport>,
    imports_added: Vec<NewImport>,
    /// GOT slots this update gives symbols the image defines: (slot,
    /// the symbol's address), rebased by `finish`.
    local_gots: Vec<(u64, u64)>,
    /// Canonical addresses of atoms this update moved or added (the rest
    /// that changed bytes count as updated in place).
    relocated: rustc_hash::FxHashSet<u64>,
    /// Old records of changed objects as [`Updater::plan_moves`] left them:
    /// definitions that moved between them already moved here.
    reworked: FxHashMap<u32, ObjectRecord>,
    /// The update replays one object: nothing another object defines
    /// changes under it (see [`Updater::leave_unchanged`]).
    sole: bool,
    /// The resolution the last update kept (see [`ResolvedObject`]):
    /// taken from the delta, so that an update that keeps none leaves
    /// none; and the one this update keeps.
    resolved_before: Option<Box<ResolvedObject>>,
    resolved_now: Option<Box<ResolvedObject>>,
    stats: UpdateStats,
}

impl<'s> Updater<'s> {
    fn new(opts: &'s Options, session: &'s Session, delta: state::Delta) -> Step<Updater<'s>> {
        // The first phase, "map output", runs from here.
        let timer = Timer::new();
        // -dead_strip needs nothing here: under -incremental the full link
        // kept every atom (see `dead_strip::keep_all_for_incremental`), so
        // an update replays every atom of a changed object, as it would
        // without it.
        let meta = &session.base.meta;
        // Session::open checked that the state is for this target.
        let arch = opts.target();
        let err = |e: std::io::Error| {
            Stop::Error(LinkError::file(
                opts.output.display(),
                format!("cannot map the output: {e}"),
            ))
        };
        let file = std::fs::File::open(&opts.output).map_err(err)?;
        // SAFETY: the output is only written under the lock we hold; the
        // private mapping never writes back to the file.
        let orig = unsafe { memmap2::Mmap::map(&file) }.map_err(err)?;
        let img = unsafe { memmap2::MmapOptions::new().map_copy(&file) }.map_err(err)?;
        let layout = Layout {
            segments: meta
                .segments
                .iter()
                .map(|s| Segment {
                    name: String::new(),
                    vmaddr: s.vmaddr,
                    vmsize: s.vmsize,
                    fileoff: s.fileoff,
                    filesize: s.filesize,
                    maxprot: 0,
                    initprot: 0,
                    flags: 0,
                    sections: 0..0,
                })
                .collect(),
            sections: meta
                .sections
                .iter()
                .map(SectionRecord::to_out_section)
                .collect(),
            tlv_start: meta.tlv_start,
            tlv_end: meta.tlv_end,
            image_base: meta.image_base,
            page_size: arch.page_size(),
            ..Default::default()
        };
        let mut delta = delta;
        let resolved_before = delta.resolved_object.take();
        let alloc = Allocator::new(
            &meta.sections,
            if delta.allocation.is_empty() {
                meta.allocation.clone()
            } else {
                std::mem::take(&mut delta.allocation)
            },
        );
        let unwind_complex = meta
            .sections
            .iter()
            .find(|s| s.synthetic && s.sectname == "__unwind_info")
            .is_some_and(|s| {
                orig.get(s.offset as usize..(s.offset + s.size) as usize)
                    .is_none_or(crate::unwind_info::has_exception_tables)
            });
        Ok(Updater {
            opts,
            arch,
            session,
            orig,
            img,
            layout,
            alloc,
            delta,
            touched: Vec::new(),
            unwind: Vec::new(),
            unwind_complex,
            starts: Vec::new(),
            relocated: Default::default(),
            reworked: Default::default(),
            sole: false,
            resolved_before,
            resolved_now: None,
            symbol_edits: Vec::new(),
            stab_patches: Vec::new(),
            oso_rename_bytes: 0,
            moved_unchanged: Vec::new(),
            removed: Vec::new(),
            moved_data: Vec::new(),
            libraries: None,
            new_imports: Vec::new(),
            imports_added: Vec::new(),
            local_gots: Vec::new(),
            new_commons: Vec::new(),
            stayed: Vec::new(),
            chained: None,
            pages: Default::default(),
            stats: UpdateStats {
                timer,
                ..Default::default()
            },
        })
    }

    /// Where input `i` is now (an input may have moved, see
    /// `Session::change`, which recorded it in the delta).
    fn input_path(&self, i: u32) -> std::path::PathBuf {
        let meta = &self.session.base.meta;
        self.delta
            .inputs
            .get(&i)
            .unwrap_or(&meta.inputs[i as usize])
            .path
            .clone()
    }

    /// The global symbol as the full link recorded it. A replay asks for
    /// each of an object's symbols more than once (resolving them, then
    /// recording its globals): the state file is read, and its blocks
    /// checked, once per name while the state is open (a resident server
    /// keeps it open across updates).
    fn base_global(&self, sym: &[u8]) -> Step<Option<GlobalRecord>> {
        Ok(self.session.base.global_cached(sym)?)
    }

    /// The global symbol as the image has it now.
    fn global(&self, sym: &[u8]) -> Step<Option<GlobalRecord>> {
        if let Some(g) = self.delta.globals.get(sym) {
            return Ok(Some(*g));
        }
        let Some(g) = self.base_global(sym)? else {
            return Ok(None);
        };
        // A replaced object's symbols are all in the delta: one missing
        // there was removed.
        if g.kind == GlobalKind::Defined && self.delta.objects.contains_key(&g.definer) {
            return Ok(None);
        }
        Ok(Some(g))
    }

    /// The file offset of an address; one the image does not map means the
    /// state does not describe it.
    fn file_offset(&self, addr: u64) -> Step<usize> {
        match self.layout.file_offset(addr) {
            Some(o) if (o as usize) < self.img.len() => Ok(o as usize),
            _ => Err(damaged(format_args!(
                "it names address {addr:#x}, which is not in the output file"
            ))),
        }
    }

    /// The file offset of `len` bytes at `addr`, all inside the file.
    fn span(&self, addr: u64, len: usize) -> Step<usize> {
        let off = self.file_offset(addr)?;
        if off + len > self.img.len() {
            return Err(damaged(format_args!(
                "it names {len} bytes at {addr:#x}, past the end of the output file"
            )));
        }
        Ok(off)
    }

    /// Fills code with the target's trap instruction.
    fn trap(&mut self, addr: u64, len: u64) -> Step<()> {
        if len == 0 {
            return Ok(());
        }
        let off = self.file_offset(addr)?;
        let end = (off + len as usize).min(self.img.len());
        crate::arch::fill_pattern(&mut self.img[off..end], self.arch.trap());
        self.touched.push(off as u64..end as u64);
        Ok(())
    }

    fn touch(&mut self, addr: u64, len: u64) -> Step<()> {
        let off = self.file_offset(addr)? as u64;
        self.touched.push(off..off + len);
        Ok(())
    }

    /// Takes `size` bytes aligned to `align` from section `si` (see
    /// [`SectionSpace::allocate`](super::alloc::SectionSpace::allocate));
    /// a section out of room falls back.
    fn allocate(&mut self, si: usize, size: u64, align: u64) -> Step<u64> {
        match self.alloc.allocate(si, size, align) {
            Some(at) => Ok(at),
            None => {
                let sec = &self.session.base.meta.sections[si];
                fallback(out_of_room(sec, size))
            }
        }
    }

    /// Replays one changed input.
    fn object(&mut self, input: u32) -> Step<()> {
        // Where it is now (an input may have moved, see `Session::change`).
        let path = self.input_path(input);
        let Some(oi) = self.object_of_input(input) else {
            return fallback(format!(
                "{} changed and is not an object file (archives and dylibs relink in full)",
                path.display()
            ));
        };
        let mapped = crate::input::MappedFile::open(&path, false)?;
        let name = mapped.name();
        let data = crate::input::thin(&mapped.map, &name, self.arch)?;
        if crate::input::kind_of(data, &name)? != crate::input::FileKind::Object {
            return fallback(format!("{} is no longer an object file", path.display()));
        }
        let mut obj = crate::input::parse_object(&mapped, data, self.arch, false)?;
        let mut old = match self.reworked.remove(&oi) {
            Some(r) => r,
            None => self.take_old_record(oi)?,
        };
        let record = self.replay(oi, &mut obj, &mut old)?;
        // The process ends soon after an update (a server answers its
        // client first): freeing the old record's hundreds of small
        // allocations one by one costs more than its journal takes to
        // write, and the exit frees them at once.
        super::resident::defer_drop(old);
        self.delta.objects.insert(oi, record);
        // Hashed already when the change was found, if the bytes mapped
        // are those (the same stamp).
        let known = self
            .session
            .hashed
            .iter()
            .find(|(i, (s, _))| *i == input && *s == mapped.stamp);
        let fp = match known {
            Some(&(_, ((size, mtime_ns), hash))) => Fingerprint {
                path: path.clone(),
                size,
                mtime_ns,
                hash,
                inode: mapped.inode,
            },
            // The stamp of the file mapped: it describes the bytes hashed
            // (and needs no second `stat`).
            None => Fingerprint::stamped(&path, mapped.stamp, mapped.inode, &mapped.map),
        };
        self.delta.inputs.insert(input, fp);
        self.stats.objects += 1;
        Ok(())
    }

    /// An object's record as the image has it now.
    fn old_record(&self, oi: u32) -> Step<ObjectRecord> {
        Ok(match self.delta.objects.get(&oi) {
            Some(r) => r.clone(),
            None => self.session.base.object(oi)?,
        })
    }

    /// An object's record as the image has it now, for the object's replay,
    /// which replaces it: taken out of the delta (leaving an empty record,
    /// so that the object still counts as replaced), not copied.
    fn take_old_record(&mut self, oi: u32) -> Step<ObjectRecord> {
        Ok(match self.delta.objects.get_mut(&oi) {
            Some(r) => std::mem::take(r),
            None => self.session.base.object(oi)?,
        })
    }

    /// The object (index into the state's objects) that input `input` is.
    fn object_of_input(&self, input: u32) -> Option<u32> {
        self.session.base.meta.object_of_input(input)
    }

    /// Definitions that moved from one changed object to another (rustc's
    /// codegen units re-partition functions between their objects on every
    /// edit): the global and its atom record go from the old definer's
    /// record to the new one's before either is replayed, so the new
    /// definer finds it as its own atom and keeps its address and slot
    /// (invariant 1), overwritten in place or moved behind a trampoline like
    /// any edited function; the old definer neither removes nor frees it.
    /// A global defined before by an object that did not change, or that
    /// two changed objects now define, is left to `resolve` (a fallback).
    ///
    /// Returns the order to replay the changed inputs in: an object that
    /// defines a global new to the image goes before the changed objects
    /// that use it (rustc puts a new generic instantiation in one codegen
    /// unit and calls it from others), so they find it defined, not as an
    /// import. A cycle keeps the given order (and falls back if it must).
    fn plan_moves(&mut self, changed: &[u32]) -> Step<Vec<u32>> {
        if changed.len() < 2 {
            return Ok(changed.to_vec());
        }
        // The globals each changed object defines now, and those it uses.
        let mut now: FxHashMap<u32, rustc_hash::FxHashSet<Vec<u8>>> = FxHashMap::default();
        let mut uses: FxHashMap<u32, Vec<Vec<u8>>> = FxHashMap::default();
        let mut input_of: FxHashMap<u32, u32> = FxHashMap::default();
        for &input in changed {
            let Some(oi) = self.object_of_input(input) else {
                continue; // `object` falls back on it
            };
            let path = self.input_path(input);
            let Ok(mapped) = crate::input::MappedFile::open(&path, false) else {
                continue;
            };
            let name = mapped.name();
            let Ok(data) = crate::input::thin(&mapped.map, &name, self.arch) else {
                continue;
            };
            let Ok(obj) = crate::input::parse_object(&mapped, data, self.arch, false) else {
                continue;
            };
            let defined = obj
                .symbols
                .iter()
                .filter(|s| s.is_defined_in_section() && s.is_external() && !s.is_stab())
                .map(|s| s.name.to_vec())
                .collect();
            now.insert(oi, defined);
            let undefined = obj
                .symbols
                .iter()
                .filter(|s| s.is_external() && s.kind() == object::macho::N_UNDF)
                .map(|s| s.name.to_vec())
                .collect();
            uses.insert(oi, undefined);
            input_of.insert(oi, input);
        }
        let order = self.definers_first(changed, &now, &uses, &input_of)?;
        let mut moves: FxHashMap<Vec<u8>, Option<(u32, u32)>> = FxHashMap::default();
        for (&to, names) in &now {
            for n in names {
                let Some(g) = self.global(n)? else { continue };
                let from = g.definer;
                let movable = g.kind == GlobalKind::Defined
                    && from != to
                    && now.get(&from).is_some_and(|defs| !defs.contains(n));
                if movable {
                    // Two new definers: neither may take it.
                    moves
                        .entry(n.clone())
                        .and_modify(|m| *m = None)
                        .or_insert(Some((from, to)));
                }
            }
        }
        let mut moves: Vec<(Vec<u8>, u32, u32)> = moves
            .into_iter()
            .filter_map(|(n, m)| m.map(|(from, to)| (n, from, to)))
            .collect();
        moves.sort_unstable();
        for (n, from, to) in moves {
            self.move_definition(&n, from, to)?;
        }
        Ok(order)
    }

    /// `changed` reordered so that the definer of a global new to the image
    /// comes before the changed objects that use it (see
    /// [`Updater::plan_moves`]); otherwise in the given order.
    fn definers_first(
        &self,
        changed: &[u32],
        now: &FxHashMap<u32, rustc_hash::FxHashSet<Vec<u8>>>,
        uses: &FxHashMap<u32, Vec<Vec<u8>>>,
        input_of: &FxHashMap<u32, u32>,
    ) -> Step<Vec<u32>> {
        let mut new_definer: FxHashMap<&[u8], u32> = FxHashMap::default();
        for (&oi, defs) in now {
            for n in defs {
                if self.global(n)?.is_none() {
                    new_definer.insert(n.as_slice(), oi);
                }
            }
        }
        // Inputs each input must wait for.
        let mut waits: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for (&oi, names) in uses {
            for n in names {
                if let Some(&d) = new_definer.get(n.as_slice()).filter(|&&d| d != oi) {
                    waits.entry(input_of[&oi]).or_default().push(input_of[&d]);
                }
            }
        }
        if waits.is_empty() {
            return Ok(changed.to_vec());
        }
        // Repeatedly take, in the given order, the first input whose
        // definers are all placed.
        let mut order: Vec<u32> = Vec::with_capacity(changed.len());
        let mut left: Vec<u32> = changed.to_vec();
        while !left.is_empty() {
            let ready = left.iter().position(|i| {
                waits
                    .get(i)
                    .is_none_or(|ds| ds.iter().all(|d| order.contains(d)))
            });
            match ready {
                Some(k) => order.push(left.remove(k)),
                None => {
                    // A cycle: the rest as given.
                    order.append(&mut left);
                }
            }
        }
        Ok(order)
    }

    /// Moves global `n`'s atom record from object `from`'s old record to
    /// `to`'s (see [`Updater::plan_moves`]).
    fn move_definition(&mut self, n: &[u8], from: u32, to: u32) -> Step<()> {
        let mut src = match self.reworked.remove(&from) {
            Some(r) => r,
            None => self.old_record(from)?,
        };
        let movable =
            |a: &AtomRecord| a.key == n && a.flags & (state::LITERAL | state::COMMON) == 0;
        let Some(at) = src.atoms.iter().position(movable) else {
            // Not an atom of its own (an alias inside another): `resolve`
            // decides.
            self.reworked.insert(from, src);
            return Ok(());
        };
        let atom = src.atoms.remove(at);
        // Its FDE in __eh_frame goes with it: the new definer's FDE for it
        // is then found again (rewritten where it is), and no second FDE
        // is left to describe the function.
        let fde_key = super::record::fde_key(n);
        let fde = src
            .atoms
            .iter()
            .position(|a| a.key == fde_key)
            .map(|i| src.atoms.remove(i));
        src.globals.retain(|g| g != n);
        self.reworked.insert(from, src);
        let mut dst = match self.reworked.remove(&to) {
            Some(r) => r,
            None => self.old_record(to)?,
        };
        dst.atoms.push(atom);
        dst.atoms.extend(fde);
        if let Err(i) = dst.globals.binary_search_by(|g| g.as_slice().cmp(n)) {
            dst.globals.insert(i, n.to_vec());
        }
        self.reworked.insert(to, dst);
        if let Some(mut g) = self.global(n)? {
            g.definer = to;
            self.delta.globals.insert(n.to_vec(), g);
        }
        self.stats.moved_between += 1;
        Ok(())
    }

    /// Resolves the changed object's symbols against the image: its own
    /// definitions must be the ones that won before, and everything it
    /// references must already be defined or imported.
    fn resolve<'a>(&mut self, oi: u32, obj: &ObjectFile<'a>) -> Step<Resolution<'a>> {
        let table = super::record::symbol_table_hash(obj);
        // The same object and symbol table, nothing else replayed since or
        // now: each symbol resolves as the last update found, and has the
        // id it had then.
        let again = self
            .resolved_before
            .take()
            .filter(|r| self.sole && r.object == oi && r.table == table)
            .and_then(|r| Some((SymbolTable::of_object_as(obj, &r.ids)?, r)));
        let (mut symtab, again) = match again {
            Some((symtab, r)) => (symtab, Some(r)),
            None => (SymbolTable::of_object(obj), None),
        };
        crate::resolve::hide_unexported(self.opts, &mut symtab)?;
        let (mut slots, others, defs) = match again {
            Some(r) => {
                let ResolvedObject {
                    defs,
                    slots,
                    others,
                    ..
                } = *r;
                for &(id, def) in &defs {
                    symtab.syms[id as usize].def = def;
                }
                self.stats.resolved_again = true;
                (slots, others, defs)
            }
            _ => self.resolve_symbols(oi, obj, &mut symtab)?,
        };
        // Imports must already have the entries these references use.
        for atom in &obj.atoms {
            for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
                let Some(g) = symtab.global_of(0, r.target) else {
                    continue;
                };
                let def = symtab.syms[g as usize].def;
                let mut s = slots.get(&g).copied().unwrap_or_default();
                let entry = crate::synthetic::entry_for(r.kind, def);
                if let (Some(crate::arch::Entry::Got), 0, Def::Placed { addr, .. }) =
                    (entry, s.got, def)
                {
                    // Another object's definition, reached through the
                    // GOT for the first time (a type info a new handler
                    // catches): a slot of its own, as a full link gives it.
                    s.got = self.local_got(obj, symtab.syms[g as usize].name, addr)?;
                    slots.insert(g, s);
                }
                let missing = match entry {
                    Some(crate::arch::Entry::Stub) => s.stub == 0,
                    Some(crate::arch::Entry::Got) => s.got == 0,
                    Some(crate::arch::Entry::ThreadPtr) => s.thread_ptr == 0,
                    None => false,
                };
                if missing && crate::weak::coalesced(def) {
                    // Its new stub or slot would bind through a new
                    // weak-lookup import or weak bind record.
                    return fallback(format!(
                        "{}: {} is a weak definition dyld coalesces, reached through a stub or \
                         GOT entry the image does not have yet",
                        obj.name,
                        name(symtab.syms[g as usize].name)
                    ));
                }
                if missing {
                    return fallback(format!(
                        "{}: {} needs a stub or GOT entry the image does not have yet",
                        obj.name,
                        name(symtab.syms[g as usize].name)
                    ));
                }
            }
        }
        Ok(Resolution {
            symtab,
            slots,
            others,
            defs,
            table,
        })
    }

    /// Resolves each symbol of object `oi` against the image, adding the
    /// imports, GOT slots and tentative definitions it needs; returns the
    /// symbols' synthetic entries, the globals of other objects they name,
    /// and the definitions that differ from the object's own.
    #[allow(clippy::type_complexity)]
    fn resolve_symbols(
        &mut self,
        oi: u32,
        obj: &ObjectFile,
        symtab: &mut SymbolTable,
    ) -> Step<(
        FxHashMap<SymId, ImportSlots>,
        FxHashMap<SymId, GlobalRecord>,
        Vec<(SymId, Def)>,
    )> {
        // Sized once: most of an object's symbols are references to other
        // objects' definitions or to imports.
        let mut slots = FxHashMap::with_capacity_and_hasher(symtab.syms.len(), Default::default());
        let mut others = FxHashMap::with_capacity_and_hasher(symtab.syms.len(), Default::default());
        let parsed: Vec<Def> = symtab.syms.iter().map(|s| s.def).collect();
        for id in 0..symtab.syms.len() {
            let sym = &symtab.syms[id];
            let rec = self.global(sym.name)?;
            let sname = Lossy(sym.name);
            // A weak definition dyld coalesces keeps its slots, weak binds
            // (or weak-lookup imports) and export as long as the same copy
            // wins at the same address; anything else is a full link's.
            let was_coalesced = rec.as_ref().is_some_and(recorded_coalesced);
            if let Some(why) = weak_change(sym.def, rec.as_ref(), oi) {
                return fallback(format!("{}: {sname} {why}", obj.name));
            }
            match (sym.def, rec) {
                (Def::Defined { .. }, Some(r))
                    if r.kind == GlobalKind::Defined && r.definer == oi =>
                {
                    if was_coalesced {
                        // References go through its slots, as before.
                        slots.insert(id as SymId, r.slots);
                    }
                }
                (Def::Defined { weak: true, .. }, Some(r))
                    if r.kind == GlobalKind::Defined && loses_to(&r, oi) =>
                {
                    // Its copy is coalesced away (as the full link did):
                    // references are to the winning one, and its atom is
                    // not placed (`drop_coalesced_weak_definitions`).
                    others.insert(id as SymId, r);
                    symtab.syms[id].def = Def::Placed {
                        addr: r.value,
                        body: r.body,
                        coalesced: was_coalesced,
                    };
                    slots.insert(id as SymId, r.slots);
                }
                (Def::Defined { .. }, Some(r)) if r.kind == GlobalKind::Defined => {
                    let other = &self.session.base.meta.objects[r.definer as usize].name;
                    return fallback(format!(
                        "{}: the definition of {sname} that wins is now in {other}",
                        obj.name
                    ));
                }
                // A new global nothing else defines or imports.
                (Def::Defined { .. }, None) => {}
                (Def::Defined { .. }, _) => {
                    return fallback(format!(
                        "{}: {sname} now resolves to a different definition",
                        obj.name
                    ))
                }
                (Def::Common { .. }, Some(r)) if r.kind == GlobalKind::Defined => {
                    // Its storage stays where the full link put it (a size
                    // change shows in the symbols hash and falls back).
                    if r.definer != oi {
                        others.insert(id as SymId, r);
                    }
                    symtab.syms[id].def = Def::Placed {
                        addr: r.value,
                        body: r.value,
                        coalesced: false,
                    };
                }
                (
                    Def::Common {
                        size, align_log2, ..
                    },
                    None,
                ) => {
                    // A new tentative definition nothing else has: storage
                    // from the commons' (or zero-fill) reserve.
                    let name_bytes = sym.name;
                    let addr = self.new_common(oi, name_bytes, size, align_log2)?;
                    symtab.syms[id].def = Def::Placed {
                        addr,
                        body: addr,
                        coalesced: false,
                    };
                }
                (Def::Common { .. }, _) => {
                    return fallback(format!("{}: tentative definition {sname}", obj.name))
                }
                (Def::Absolute { .. }, _) => {
                    return fallback(format!("{}: absolute symbol {sname}", obj.name))
                }
                (Def::Undefined, None) if crate::objc::is_stub_symbol(sym.name) => {
                    return fallback(format!(
                        "{}: {sname} is a new Objective-C message-send stub (__objc_stubs is \
                         synthesized by a full link)",
                        obj.name
                    ))
                }
                // A DTrace probe: its call sites are rewritten when the
                // object's atoms are relocated, as in a full link.
                (Def::Undefined, None) if crate::dtrace::ProbeCall::of(sym.name).is_some() => {
                    symtab.syms[id].def = Def::Dtrace;
                }
                (Def::Undefined, None) => {
                    let weak_ref = sym.weak_ref;
                    let name_bytes = sym.name;
                    let (def, slot) = self.new_import(obj, name_bytes, weak_ref)?;
                    if crate::weak::coalesced(def) {
                        return fallback(format!(
                            "{}: new import {sname} is a weak definition dyld coalesces",
                            obj.name
                        ));
                    }
                    symtab.syms[id].def = def;
                    slots.insert(id as SymId, slot);
                }
                (Def::Undefined, Some(r)) => {
                    let def = match r.kind {
                        GlobalKind::Defined => Def::Placed {
                            addr: r.value,
                            body: r.body,
                            coalesced: was_coalesced,
                        },
                        GlobalKind::Absolute => Def::Absolute { value: r.value },
                        GlobalKind::Header => Def::Header,
                        GlobalKind::Dylib => Def::Dylib {
                            dylib: u32::from(r.dylib),
                            weak: r.flags & state::WEAK_DEF != 0,
                            thread_local: r.flags & state::THREAD_LOCAL != 0,
                        },
                        GlobalKind::DynamicLookup => Def::DynamicLookup,
                    };
                    if is_imported(def) && (r.flags & state::WEAK_REF != 0) != sym.weak_ref {
                        return fallback(format!(
                            "{}: {sname} changed between a weak and a strong import",
                            obj.name
                        ));
                    }
                    if r.kind == GlobalKind::Defined && r.definer != oi {
                        others.insert(id as SymId, r);
                    }
                    symtab.syms[id].def = def;
                    slots.insert(id as SymId, r.slots);
                }
                (_, _) => return fallback(format!("{}: {sname} cannot be resolved", obj.name)),
            }
        }
        let defs = (0..symtab.syms.len())
            .filter(|&id| symtab.syms[id].def != parsed[id])
            .map(|id| (id as SymId, symtab.syms[id].def))
            .collect();
        Ok((slots, others, defs))
    }

    /// The names object `oi` defines and those of other objects' globals it
    /// refers to, each sorted; whether both are the old record's (taken
    /// from it then). A change updates the delta's globals and reference
    /// counts.
    #[allow(clippy::type_complexity)]
    fn symbol_lists(
        &mut self,
        oi: u32,
        obj: &ObjectFile,
        symtab: &SymbolTable,
        others: &FxHashMap<SymId, GlobalRecord>,
        old: &mut ObjectRecord,
    ) -> Step<(Vec<Vec<u8>>, Vec<Vec<u8>>, bool)> {
        let globals = self.defined_globals(oi, symtab, others)?;
        // (An edit seldom adds or removes a symbol: the lists are compared
        // once before either is searched for the other's names, and an
        // unchanged list is the old record's, not a copy of every name.)
        let same_globals = same_names(&globals, &old.globals);
        let globals = if same_globals {
            std::mem::take(&mut old.globals)
        } else {
            for removed in missing_from(&old.globals, &globals) {
                // Whether others still refer to it is known once every
                // changed object is replayed (see `finish`).
                self.removed.push((removed.clone(), obj.name.clone()));
                self.delta.globals.remove(removed.as_slice());
            }
            globals.iter().map(|n| n.to_vec()).collect()
        };
        // Reference counts follow what the object refers to now. Taken in
        // symbol-table order, not the map's: an object lists its undefined
        // symbols sorted, so the sort below finds one sorted run.
        let mut refs: Vec<&[u8]> = (0..symtab.syms.len() as SymId)
            .filter(|g| others.contains_key(g))
            .map(|g| symtab.syms[g as usize].name)
            .collect();
        refs.sort_unstable();
        refs.dedup();
        let same_refs = same_names(&refs, &old.refs);
        let refs = if same_refs {
            std::mem::take(&mut old.refs)
        } else {
            for n in missing_from(&refs, &old.refs) {
                *self.delta.ref_adjust.entry(n.to_vec()).or_default() += 1;
            }
            for n in missing_from(&old.refs, &refs) {
                *self.delta.ref_adjust.entry(n.clone()).or_default() -= 1;
            }
            refs.iter().map(|n| n.to_vec()).collect()
        };
        Ok((globals, refs, same_globals && same_refs))
    }

    /// Places and writes one object's atoms (object `oi`, parsed as `obj`,
    /// over its old record `old`); returns its new record, which takes the
    /// old one's lists of globals and references where they stayed the
    /// same (the caller frees the rest after answering).
    fn replay(
        &mut self,
        oi: u32,
        obj: &mut ObjectFile,
        old: &mut ObjectRecord,
    ) -> Step<ObjectRecord> {
        // The path its group's N_OSO names now (an update may have renamed
        // it without replaying it).
        let old_oso = self
            .delta
            .oso_paths
            .remove(&oi)
            .unwrap_or_else(|| old.oso.clone());
        let symbols = symbols_hash(obj);
        records::check_cies(obj)?;
        // A symbol inside a code atom is a function start of its own
        // (an object without subsections, an alternate entry); updates
        // track function starts per atom.
        let inner = obj.symbols.iter().find(|s| {
            s.is_defined_in_section()
                && s.atom != crate::atom::NONE
                && crate::section_flags::is_code(obj.section_of(s.atom).flags)
                && {
                    let a = &obj.atoms[s.atom as usize];
                    s.n_value != obj.section_of(s.atom).addr + u64::from(a.offset)
                }
        });
        if let Some(s) = inner {
            return fallback(format!(
                "{}: {} lies inside another function's atom (no subsections via symbols)",
                obj.name,
                name(s.name)
            ));
        }
        let entries_before = (self.new_imports.len(), self.local_gots.len());
        let Resolution {
            symtab,
            slots,
            others,
            defs,
            table,
        } = self.resolve(oi, obj)?;
        // Whether every symbol resolves as it did when the image was
        // written: the same definitions and references, no entry new.
        let same_resolution = self.sole
            && symbols == old.symbols
            && entries_before == (self.new_imports.len(), self.local_gots.len())
            && self.new_commons.is_empty();
        // Weak copies that lose to another object's are not placed, as in
        // the full link.
        crate::resolve::drop_coalesced_weak_definitions(std::slice::from_mut(obj), &symtab);
        // Its lists of definitions and references: the old record's where
        // the symbols resolved as in the last update (which kept them).
        let (globals, refs, same_lists) = if self.stats.resolved_again {
            (
                std::mem::take(&mut old.globals),
                std::mem::take(&mut old.refs),
                true,
            )
        } else {
            self.symbol_lists(oi, obj, &symtab, &others, old)?
        };
        let entries = unwind_entries(obj, &symtab)?;
        let encodings = &entries.encodings;
        let n = obj.atoms.len();
        self.layout.atom_addr = vec![vec![0; n]];
        self.layout.atom_section = vec![vec![u32::MAX; n]];
        self.layout.atom_body = vec![vec![0; n]];
        // Keys of the atoms placed below, spelled out for those only (not
        // for compact unwind entries or debug sections, most of an object's).
        // Each key is made in one scratch buffer and copied out at its
        // size: an FDE's key (a prefix, then its function's name) grown in
        // its own vector was two allocations and a copy.
        let keys: Vec<Option<Vec<u8>>> = {
            let eh = EhFrameKeys::of(obj);
            let keys = AtomKeys::with_eh_frame(obj, &eh);
            let mut scratch = Vec::new();
            (0..n)
                .map(|ai| {
                    let sec = obj.section_of(ai as u32);
                    (sec.kept && !sec.metadata && obj.atoms[ai].live).then(|| {
                        scratch.clear();
                        keys.write(ai as u32, &mut scratch);
                        scratch.clone()
                    })
                })
                .collect()
        };
        // (Sized once: a filtered iterator would grow the map step by step.)
        let mut old_by_key: FxHashMap<(u16, &[u8]), usize> =
            FxHashMap::with_capacity_and_hasher(old.atoms.len(), Default::default());
        old_by_key.extend(
            old.atoms
                .iter()
                .enumerate()
                .filter(|(_, a)| a.flags & (state::LITERAL | state::COMMON) == 0)
                .map(|(i, a)| ((a.section, a.key.as_slice()), i)),
        );
        // First where every atom goes (nothing written), then the patches.
        let mut seen = vec![false; old.atoms.len()];
        // At most one planned atom per atom: sized once, not regrown (a
        // planned atom is over a hundred bytes).
        let mut planned = Vec::with_capacity(n);
        // Output section of each input section, found at its first atom.
        let mut out_sections: Vec<Option<usize>> = vec![None; obj.sections.len()];
        for (ai, key) in keys.into_iter().enumerate() {
            let Some(key) = key else {
                continue;
            };
            let isec = obj.atoms[ai].section as usize;
            let si = match out_sections[isec] {
                Some(si) => si,
                None => *out_sections[isec].insert(self.output_section(obj, isec)?),
            };
            let old_atom = old_by_key.get(&(si as u16, key.as_slice())).copied();
            if let Some(o) = old_atom {
                if seen[o] {
                    // Two atoms with one identity: they cannot both own its slot.
                    return fallback(format!("{}: two atoms named {}", obj.name, name(&key)));
                }
                seen[o] = true;
            }
            planned.extend(self.plan(
                obj,
                ai,
                si,
                key,
                old_atom.map(|o| &old.atoms[o]),
                encodings.get(&(ai as u32)).copied().unwrap_or(0),
            )?);
        }
        let mut kept = Vec::new();
        let mut removals = Vec::new();
        for (o, rec) in old.atoms.iter().enumerate() {
            if rec.flags & state::COMMON != 0 {
                // Storage of tentative definitions: the link's, not the object's.
                kept.push(rec.clone());
            } else if !seen[o] && rec.flags & state::LITERAL == 0 {
                removals.push(self.plan_removal(rec));
            }
        }
        self.fdes_after_cies(obj, &mut planned)?;
        self.dwarf_unwind(obj, encodings, &mut planned)?;
        self.exception_rows(obj, &entries, &symtab, &slots, &mut planned)?;
        let kept_records = records::in_place(&planned, self.eh_frame().map(|(si, _)| si));
        for p in &planned {
            self.layout.atom_addr[0][p.ai] = p.rec.addr;
            self.layout.atom_body[0][p.ai] = p.rec.body;
            self.layout.atom_section[0][p.ai] = u32::from(p.rec.section);
        }
        let leave = self.leave_unchanged(obj, &symtab, &mut planned, same_resolution);
        // An object replayed before has its globals in the delta, and where
        // its symbols resolve as before, those of a function that stayed
        // where it was are what they were: the same flags (the symbols hash
        // the same), and the function's addresses (a symbol inside a
        // function fell back above; one inside data may have moved within
        // it, so data is recorded again).
        let mut settled = Vec::new();
        if same_resolution && self.delta.objects.contains_key(&oi) {
            settled = vec![false; n];
            for p in &planned {
                settled[p.ai] = p.placed_as_before() && p.rec.flags & state::CODE != 0;
            }
        }
        let mut atoms = Vec::with_capacity(planned.len());
        for p in planned {
            self.apply(&obj.name, &p)?;
            atoms.push((p.ai, p.rec));
        }
        for r in &removals {
            self.apply_removal(r)?;
        }
        // The fixups of atoms left as they are stay in their chains.
        let mut left: rustc_hash::FxHashSet<u64> =
            rustc_hash::FxHashSet::with_capacity_and_hasher(atoms.len(), Default::default());
        left.extend(
            atoms
                .iter()
                .filter(|(ai, _)| leave[*ai])
                .map(|(_, r)| r.addr),
        );
        let old_fixup_ranges: Vec<Range<u64>> = old
            .atoms
            .iter()
            .filter(|a| a.fixups != 0 && !left.contains(&a.addr))
            .map(|a| a.addr..a.addr + u64::from(a.slot.max(a.size)))
            .collect();
        self.write_atoms(obj, &symtab, &slots, &mut atoms, &leave, &old_fixup_ranges)?;
        self.finish_records(obj, &kept_records)?;
        self.record_globals(oi, &symtab, &others, &settled)?;
        let sites = self.sites_of_object(oi, obj, &symtab, &others);
        let moved_globals = self.repatch_moved_data(oi, &symtab)?;
        // The debug map names where code is: a moved function's body.
        let stabs = if self.opts.strip_debug {
            Vec::new()
        } else {
            let mut at_bodies = self.layout.atom_addr.clone();
            for (ai, a) in at_bodies[0].iter_mut().enumerate() {
                if *a != 0 {
                    *a = self.layout.body_addr(0, ai as u32);
                }
            }
            let layout = Layout {
                atom_addr: at_bodies,
                atom_section: self.layout.atom_section.clone(),
                sections: self.layout.sections.clone(),
                ..Default::default()
            };
            crate::linkedit::stabs::object_map_values(obj, &layout, (&obj.oso_path, obj.mtime))
        };
        // A new path for the group's N_OSO goes at the string table's end,
        // in its reserved room; once that is full, the tables are written
        // again (which packs them) rather than the output linked in full.
        let renamed = (old_oso != obj.oso_path).then(|| obj.oso_path.clone());
        let rename_fits = renamed.as_ref().is_none_or(|path| {
            let need = self.oso_rename_bytes + super::symtab_edit::oso_rename_bytes(path);
            let room = self.session.base.meta.linkedit.strtab;
            need <= super::symtab_edit::string_room_left(&self.img, room)
        });
        if symbols != old.symbols || moved_globals || !rename_fits {
            let mut new = owned_groups(crate::linkedit::tables::symbol_groups(
                self.opts,
                &symtab,
                &self.layout,
                std::slice::from_ref(obj),
            ));
            // symbol_groups puts the debug map first (when the object has
            // debug information).
            if new.locals.first().is_some_and(|n| n.n_type == macho::N_SO) {
                for (n, s) in new.locals.iter_mut().zip(&stabs) {
                    n.n_value = s.n_value;
                }
            }
            new.externals
                .extend(self.new_commons.iter().map(|(_, n)| n.clone()));
            self.symbol_edits.push(SymbolEdit {
                oso: old_oso.clone(),
                old_ranges: old
                    .atoms
                    .iter()
                    .filter(|a| a.flags & (state::LITERAL | state::COMMON) == 0)
                    .flat_map(|a| {
                        [
                            a.addr..a.addr + u64::from(a.slot),
                            a.body..a.body + u64::from(a.body_cap),
                        ]
                    })
                    .filter(|r| !r.is_empty())
                    .collect(),
                new,
            });
        } else if !stabs.is_empty() {
            // Applied once the tables are final (another object's edit may
            // rewrite them). An object at a new path (see `Session::change`:
            // rustc renames the codegen units it recompiles) has its N_OSO
            // name the new one.
            let body = &stabs[..stabs.len() - 1]; // without the closing N_SO
            let values = body.iter().map(|n| (n.n_type, n.n_value)).collect();
            if let Some(path) = &renamed {
                self.oso_rename_bytes += super::symtab_edit::oso_rename_bytes(path);
            }
            self.stab_patches.push(StabPatch {
                oso: old_oso.clone(),
                renamed,
                values,
            });
        }
        let commons = std::mem::take(&mut self.new_commons);
        // Kept for the next update only where it is how the symbols would
        // resolve then: nothing added to the image, nothing defined or
        // referred to differently (see [`ResolvedObject`]).
        self.resolved_now = (same_resolution && same_lists).then(|| {
            Box::new(ResolvedObject {
                object: oi,
                table,
                ids: symtab.file_globals[0].clone(),
                defs,
                slots,
                others,
            })
        });
        Ok(ObjectRecord {
            symbols,
            atoms: atoms
                .into_iter()
                .map(|(_, r)| r)
                .chain(kept)
                .chain(commons.into_iter().map(|(r, _)| r))
                .collect(),
            globals,
            refs,
            sites,
            oso: obj.oso_path.clone(),
        })
    }

    /// Gives each planned atom its replay hash (see
    /// [`super::record::replay_hash`]) and marks those whose bytes and
    /// fixups in the image are what writing them again would make: the
    /// same hash at the same place, while every symbol resolves as it did
    /// (`same_resolution`). Those are left as they are, so that an edit of
    /// one function costs that function, not its object (invariant 7).
    /// DWARF unwind records are always rewritten (they point at shared
    /// CIEs). Returns, per atom of the object, whether it is left.
    fn leave_unchanged(
        &self,
        obj: &ObjectFile,
        symtab: &SymbolTable,
        planned: &mut [place::Planned],
        same_resolution: bool,
    ) -> Vec<bool> {
        let mut leave = vec![false; obj.atoms.len()];
        let eh_frame = self.eh_frame().map(|(si, _)| si);
        let mut names = Vec::new();
        for p in planned.iter_mut() {
            p.rec.replay =
                super::record::replay_hash(0, obj, p.ai as u32, symtab, &self.layout, &mut names);
            p.kept = same_resolution
                && p.placed_as_before()
                && p.old_replay == p.rec.replay
                && p.rec.flags & (state::LITERAL | state::COMMON) == 0
                && Some(usize::from(p.rec.section)) != eh_frame;
            leave[p.ai] = p.kept;
        }
        leave
    }

    /// Writes the placed atoms with the full link's writer and checks that
    /// their dyld fixups kept their shape.
    fn write_atoms(
        &mut self,
        obj: &ObjectFile,
        symtab: &SymbolTable,
        slots: &FxHashMap<SymId, ImportSlots>,
        atoms: &mut [(usize, AtomRecord)],
        leave: &[bool],
        old_fixup_ranges: &[Range<u64>],
    ) -> Step<()> {
        let chained = self.session.base.meta.chained;
        let res = Resolved::placed(self.arch, &self.layout, slots).with_weak_bind_stream(!chained);
        let bytes = crate::relocate::split_atoms(
            &mut self.img,
            &self.layout,
            std::slice::from_ref(obj),
            0..1,
            &|_, ai| leave.get(ai as usize).copied().unwrap_or(false),
        )
        .map_err(|e| damaged(format_args!("{e}")))?;
        let out = crate::relocate::write_file_atoms(
            0,
            obj,
            crate::relocate::FileAtoms::Listed(bytes.into_iter().next().unwrap_or_default()),
            symtab,
            &res,
        );
        if let Some(first) = out.errors.first() {
            // At the update's addresses a field may be out of its
            // instruction's reach (a body moved into reserve far from a
            // callee, a stub or its data): a full link answers that with
            // thunks or a new layout. An error in the input itself is
            // reported by that full link just the same.
            let more = match out.errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return fallback(format!(
                "a relocation at the update's addresses: {first}{more}"
            ));
        }
        let mut fixups = out.fixups;
        // Stable: a classic pointer's rebase stays before its weak bind,
        // the order its recorded shape has.
        fixups.sort_by_key(|f| f.addr);
        let import_name = |i: u32| symtab.syms[i as usize].name;
        for (ai, rec) in atoms.iter_mut() {
            if leave[*ai] {
                continue;
            }
            let at = self.layout.body_addr(0, *ai as u32);
            let size = u64::from(rec.size);
            if !self.layout.sections[usize::from(rec.section)].is_zerofill() {
                self.touch(at, size)?;
            }
            let shape = fixup_shape(&fixups, &import_name, at, size);
            if shape != rec.fixups && !chained {
                return fallback(format!(
                    "{}: the pointers in {} changed (with -no_fixup_chains the rebase and \
                     bind streams would be re-encoded: a full link does that)",
                    obj.name,
                    name(&rec.key)
                ));
            }
            rec.fixups = shape;
        }
        if chained {
            // The object's old fixups leave their pages' chains; its new
            // ones are threaded in.
            self.rethread(old_fixup_ranges, &fixups, symtab)?;
        } else {
            // Same places and kinds: rebases get their new targets, binds
            // keep their words.
            for f in &fixups {
                let off = self.span(f.addr, 8)?;
                let old = u64::from_le_bytes(self.orig[off..off + 8].try_into().unwrap());
                let word = match f.kind {
                    FixupKind::Rebase { target } => target,
                    FixupKind::Bind { .. } => old,
                    // The word is its rebase's (the weak bind record,
                    // at the same place, stays in its stream).
                    FixupKind::WeakBind { .. } => continue,
                };
                self.img[off..off + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
        // Counted once chains are written (`finish`): atoms that stayed and
        // whose bytes changed (unwind records aside, see
        // `is_unwind_record`).
        for (ai, rec) in atoms.iter() {
            if leave[*ai]
                || self.relocated.contains(&rec.addr)
                || self.layout.sections[usize::from(rec.section)].is_zerofill()
                || self.is_unwind_record(rec)
            {
                continue;
            }
            let off = self.span(self.layout.body_addr(0, *ai as u32), rec.size as usize)?;
            self.stayed.push(off..off + rec.size as usize);
        }
        Ok(())
    }

    /// The image's section for the atoms of input section `isec`.
    fn output_section(&self, obj: &ObjectFile, isec: usize) -> Step<usize> {
        let sections = &self.session.base.meta.sections;
        let sec = &obj.sections[isec];
        let (mut seg, sect) = crate::layout::output_section_name(&sec.segname, &sec.sectname);
        if seg == "__DATA_CONST" && !sections.iter().any(|s| s.segname == "__DATA_CONST") {
            // Linked without __DATA_CONST (-no_data_const, or a target
            // before macOS 10.15): constant data is in __DATA.
            seg = "__DATA".into();
        }
        match sections
            .iter()
            .position(|s| !s.synthetic && s.segname == seg && s.sectname == sect)
        {
            Some(si) => Ok(si),
            None => fallback(format!("{}: new output section {seg},{sect}", obj.name)),
        }
    }

    /// The globals the object's definitions win (sorted): its own
    /// definitions, and tentative ones whose storage it holds. (`others`,
    /// what `resolve` found defined by other objects, is not looked up
    /// again.)
    fn defined_globals<'n>(
        &self,
        oi: u32,
        symtab: &SymbolTable<'n>,
        others: &FxHashMap<SymId, GlobalRecord>,
    ) -> Step<Vec<&'n [u8]>> {
        let mut out: Vec<&'n [u8]> = Vec::new();
        for (id, s) in symtab.syms.iter().enumerate() {
            let ours = match s.def {
                Def::Defined { .. } => true,
                Def::Placed { .. } if others.contains_key(&(id as SymId)) => false,
                Def::Placed { .. } => self
                    .global(s.name)?
                    .is_some_and(|g| g.kind == GlobalKind::Defined && g.definer == oi),
                _ => false,
            };
            if ours {
                out.push(s.name);
            }
        }
        // Nearly sorted already (an object lists its definitions sorted
        // within their kinds): the stable sort merges the few runs, where
        // the unstable one compared names n log n times.
        out.sort();
        Ok(out)
    }

    /// The object's definitions at their (possibly new) addresses.
    /// (`others` are defined by other objects: nothing to record.)
    /// `settled`: per atom, whether its globals' records are known to be
    /// as they are (empty: none is).
    fn record_globals(
        &mut self,
        oi: u32,
        symtab: &SymbolTable,
        others: &FxHashMap<SymId, GlobalRecord>,
        settled: &[bool],
    ) -> Step<()> {
        for (id, sym) in symtab.syms.iter().enumerate() {
            if let Def::Defined { atom, .. } = sym.def {
                if settled.get(atom as usize) == Some(&true) {
                    continue;
                }
            }
            if others.contains_key(&(id as SymId)) {
                continue;
            }
            let Def::Defined {
                atom,
                offset,
                weak,
                private_extern,
                ..
            } = sym.def
            else {
                // A tentative definition whose storage this object holds
                // keeps its record.
                if let Some(g) = self.global(sym.name)?.filter(|g| g.definer == oi) {
                    self.delta.globals.insert(sym.name.to_vec(), g);
                }
                continue;
            };
            let base = self.global(sym.name)?;
            let addr = self.layout.atom_addr[0][atom as usize];
            if addr == 0 {
                continue;
            }
            let body = self.layout.body_addr(0, atom);
            let section = self.layout.atom_section[0][atom as usize];
            let data = !self.layout.sections[section as usize].is_code();
            let mut g = base.unwrap_or(GlobalRecord {
                kind: GlobalKind::Defined,
                flags: 0,
                dylib: 0,
                definer: oi,
                value: 0,
                body: 0,
                slots: ImportSlots::default(),
                refs: 0,
                sites: (0, 0),
            });
            g.flags = (g.flags & (state::WEAK_REF | state::THREAD_LOCAL))
                | if weak { state::WEAK_DEF } else { 0 }
                | if private_extern {
                    state::PRIVATE_EXTERN
                } else {
                    0
                }
                | if data { state::DATA } else { 0 };
            g.value = addr + u64::from(offset);
            g.body = body + u64::from(offset);
            // (An object replayed before has its names in the delta
            // already: no new copy of each.)
            match self.delta.globals.get_mut(sym.name) {
                Some(r) => *r = g,
                None => {
                    self.delta.globals.insert(sym.name.to_vec(), g);
                }
            }
        }
        Ok(())
    }

    /// Points the N_OSO of each object found at a new path with its
    /// recorded contents (not replayed) to that path, where the new path
    /// fits over the old one (see `symtab_edit::rename_osos_in_place`);
    /// one that does not keeps the old path until a replay or a full link.
    fn rename_moved_objects(&mut self) -> std::result::Result<(), String> {
        let meta = &self.session.base.meta;
        let mut renames: Vec<(u32, String, String)> = Vec::new(); // (object, now, new)
        for &input in &self.moved_unchanged {
            let Some(oi) = meta.object_of_input(input) else {
                continue;
            };
            let now = match (self.delta.oso_paths.get(&oi), self.delta.objects.get(&oi)) {
                (Some(p), _) => p.clone(),
                (None, Some(r)) => r.oso.clone(),
                (None, None) => {
                    crate::input::absolute(&meta.inputs[input as usize].path.display().to_string())
                }
            };
            let new = crate::input::absolute(&self.input_path(input).display().to_string());
            if now != new {
                renames.push((oi, now, new));
            }
        }
        if renames.is_empty() {
            return Ok(());
        }
        let names: std::collections::HashSet<&[u8]> =
            renames.iter().map(|(_, now, _)| now.as_bytes()).collect();
        let found = super::symtab_edit::find_osos(&self.img, &names)?;
        let listed: Vec<(u32, &[u8])> = renames
            .iter()
            .filter_map(|(_, now, new)| Some((*found.get(now.as_bytes())?, new.as_bytes())))
            .collect();
        let (written, done) = super::symtab_edit::rename_osos_in_place(&mut self.img, &listed)?;
        self.touched.extend(written);
        let mut k = 0;
        for (oi, now, new) in renames {
            let Some(&index) = found.get(now.as_bytes()) else {
                continue; // no debug map for it
            };
            if done[k] {
                self.delta.oso_index.remove(&now);
                self.delta.oso_index.insert(new.clone(), index);
                self.delta.oso_paths.insert(oi, new);
            }
            k += 1;
        }
        Ok(())
    }

    /// LINKEDIT and header pieces, then the patches.
    fn finish(
        mut self,
        lap: &mut impl FnMut(&mut UpdateStats, &'static str),
    ) -> Step<(Journal, UpdateStats, state::Delta)> {
        for (g, by) in &self.removed {
            let before = self
                .session
                .base
                .global(g)?
                .map_or(0, |r| i64::from(r.refs));
            let adjust = self.delta.ref_adjust.get(g).copied().unwrap_or(0);
            if before + adjust > 0 {
                return fallback(format!(
                    "{by}: {} was removed and other objects still refer to it",
                    name(g)
                ));
            }
        }
        self.rewrite_unwind_info()?;
        lap(&mut self.stats, "unwind info");
        self.rewrite_function_starts()?;
        lap(&mut self.stats, "function starts");
        self.write_new_imports()?;
        self.write_local_gots()?;
        self.write_chains()?;
        self.stats.in_place = self
            .stayed
            .iter()
            .filter(|r| self.orig[(*r).clone()] != self.img[(*r).clone()])
            .count();
        if self.rewrite_symbols()? {
            self.stats.symbols_rewritten = true;
            // The tables moved their entries: remembered places are stale.
            self.delta.oso_index.clear();
        }
        let strtab_room = self.session.base.meta.linkedit.strtab;
        for StabPatch {
            oso,
            renamed,
            values,
        } in std::mem::take(&mut self.stab_patches)
        {
            let hint = self.delta.oso_index.get(&oso).copied();
            match super::symtab_edit::patch_debug_map(&mut self.img, oso.as_bytes(), &values, hint)
            {
                Ok(Some((range, index))) => {
                    self.touched.push(range);
                    let key = match renamed {
                        Some(path) => {
                            let written = super::symtab_edit::rename_oso(
                                &mut self.img,
                                index,
                                path.as_bytes(),
                                strtab_room,
                            )
                            .map_err(|why| Stop::Fallback(format!("{path}: {why}")))?;
                            self.touched.extend(written);
                            self.delta.oso_index.remove(&oso);
                            path
                        }
                        None => oso,
                    };
                    self.delta.oso_index.insert(key, index);
                }
                Ok(None) => {}
                Err(why) => return fallback(format!("{oso}: {why}")),
            }
        }
        self.rename_moved_objects()
            .map_err(|why| Stop::Fallback(format!("the debug map: {why}")))?;
        lap(&mut self.stats, "symbols");
        let mut patches = diff(&self.orig, &self.img, &mut self.touched);
        let meta = &self.session.base.meta;
        // A new UUID: the old one and the patches hashed together.
        if !patches.is_empty() {
            let at = meta.linkedit.uuid_offset as usize;
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(&self.orig[at..at + 16]);
            for (off, bytes) in &patches {
                h.update(&off.to_le_bytes());
                h.update(bytes);
            }
            let mut uuid = h.digest128().to_le_bytes();
            uuid[6] = (uuid[6] & 0x0f) | 0x30;
            uuid[8] = (uuid[8] & 0x3f) | 0x80;
            self.img[at..at + 16].copy_from_slice(&uuid);
            self.touched.clear();
            self.touched.push(at as u64..at as u64 + 16);
            patches.extend(diff(&self.orig, &self.img, &mut self.touched));
        }
        lap(&mut self.stats, "diff and uuid");
        let (code_limit, sig_off, sig_len) = meta.linkedit.signature;
        if sig_len > 0 && !patches.is_empty() {
            let changed: Vec<Range<u64>> = patches
                .iter()
                .map(|(o, b)| *o..*o + b.len() as u64)
                .collect();
            let mut sig = self.img[sig_off as usize..(sig_off + sig_len) as usize].to_vec();
            crate::linkedit::codesign::rehash_pages(&self.img, code_limit, &mut sig, &changed);
            self.img[sig_off as usize..(sig_off + sig_len) as usize].copy_from_slice(&sig);
            self.touched.clear();
            self.touched.push(sig_off..sig_off + sig_len);
            patches.extend(diff(&self.orig, &self.img, &mut self.touched));
            lap(&mut self.stats, "rehash signature");
        }
        let mode = std::fs::metadata(&self.opts.output)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
            .map_err(|e| LinkError::file(self.opts.output.display(), e.to_string()))?;
        let at = meta.linkedit.uuid_offset as usize;
        let uuid: [u8; 16] = self.img[at..at + 16].try_into().expect("16 bytes");
        let mut delta = self.delta;
        delta.resolved_object = self.resolved_now;
        delta.resolved = self
            .session
            .base
            .remembered(|oi| delta.objects.contains_key(&oi));
        delta.allocation = self.alloc.into_allocation();
        delta.updates += 1;
        delta.uuid = Some(uuid);
        // The patched output gets this modification time, so the delta can
        // record its stamp before it is patched.
        delta.output = Some(Fingerprint {
            path: self.opts.output.clone(),
            size: self.orig.len() as u64,
            mtime_ns: super::time_ns(std::time::SystemTime::now()),
            hash: 0,
            // (An output's identity is its stamp and UUID.)
            inode: (0, 0),
        });
        // The new delta file, journaled as where it differs from the one
        // on disk when it can be (see `DeltaWrite`).
        let bytes = delta.to_bytes();
        let journal = Journal {
            mode,
            copy: sig_len > 0,
            uuid: (
                at as u64,
                self.orig[at..at + 16].try_into().expect("16 bytes"),
                uuid,
            ),
            size: self.orig.len() as u64,
            patches,
            delta: DeltaWrite::between(delta.on_disk(), &bytes),
            output: delta.output.clone(),
        };
        delta.written(bytes);
        // The image's mappings and the layout are freed after the answer
        // (a server) or never (a process): unmapping a 40 MB copy-on-write
        // image and freeing the layout's vectors cost 0.05-0.1 ms here,
        // before the journal could be written.
        super::resident::defer_drop((self.orig, self.img, self.layout, self.reworked));
        Ok((journal, self.stats, delta))
    }
}

/// The names of sorted list `a` that sorted list `b` has not got, in one
/// walk of both (an object's globals and references are hundreds of names
/// with long common prefixes: a search of `b` for each costs ten
/// comparisons of them). Both are sorted where they are made (`replay`,
/// and the records it wrote before).
fn missing_from<'a, A: AsRef<[u8]>, B: AsRef<[u8]>>(a: &'a [A], b: &[B]) -> Vec<&'a A> {
    let mut out = Vec::new();
    let mut rest = b;
    for n in a {
        let n_bytes = n.as_ref();
        while rest.first().is_some_and(|m| m.as_ref() < n_bytes) {
            rest = &rest[1..];
        }
        if rest.first().map(AsRef::as_ref) != Some(n_bytes) {
            out.push(n);
        }
    }
    out
}

/// Whether two sorted lists hold the same names.
fn same_names(a: &[&[u8]], b: &[Vec<u8>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| *x == y.as_slice())
}

/// A changed object's symbol groups, owning their names (the object's
/// mapping ends with the update of that object).
fn owned_groups(
    g: crate::linkedit::symtab::SymbolGroups,
) -> crate::linkedit::symtab::SymbolGroups<'static> {
    let own = |v: Vec<crate::linkedit::symtab::Nlist>| {
        v.into_iter()
            .map(|n| crate::linkedit::symtab::Nlist {
                name: std::borrow::Cow::Owned(n.name.into_owned()),
                ..n
            })
            .collect()
    };
    crate::linkedit::symtab::SymbolGroups {
        locals: own(g.locals),
        externals: own(g.externals),
        undefined: own(g.undefined),
    }
}

/// Why an allocation in `sec` failed.
/// Whether the image recorded a global as a weak definition dyld
/// coalesces (see [`crate::weak`]): an exported weak definition of its
/// own, or a dylib's weak export.
fn recorded_coalesced(r: &GlobalRecord) -> bool {
    let weak = r.flags & state::WEAK_DEF != 0;
    let exported = r.flags & state::PRIVATE_EXTERN == 0;
    match r.kind {
        GlobalKind::Defined => weak && exported,
        GlobalKind::Dylib => weak,
        _ => false,
    }
}

/// Whether the changed object's weak copy of a global still loses to the
/// recorded winner in another object, as a fresh link would decide: a
/// strong winner beats any weak copy, a weak one only copies after it in
/// load order (the first weak definition wins).
fn loses_to(r: &GlobalRecord, oi: u32) -> bool {
    r.definer != oi && (r.flags & state::WEAK_DEF == 0 || r.definer < oi)
}

/// Why a changed object's use of a weak definition dyld coalesces cannot
/// be an update, if it cannot. What the update keeps is the image's
/// coalescing: which names are coalesced, each one's winner and address,
/// and so its export-trie entry, slots and weak binds (or weak-lookup
/// imports). A name that becomes coalesced or stops being so, or a new
/// coalesced definition (a new template instantiation: a new export and
/// weak binds), changes that and needs a full link.
fn weak_change(def: Def, rec: Option<&GlobalRecord>, oi: u32) -> Option<&'static str> {
    let now = crate::weak::coalesced(def);
    match (def, rec) {
        (Def::Defined { .. }, None) if now => Some(
            "is a new weak definition dyld coalesces (its export and weak binds are a full \
             link's to write)",
        ),
        (Def::Defined { weak, .. }, Some(r)) => {
            let was = recorded_coalesced(r);
            let ours = r.kind == GlobalKind::Defined && r.definer == oi;
            if ours && now != was {
                Some("changed between a weak definition dyld coalesces and one it does not")
            } else if !ours && weak && r.kind == GlobalKind::Defined && !loses_to(r, oi) {
                Some("is a weak definition whose winning copy would now be this object's")
            } else if !ours && now && (r.kind != GlobalKind::Defined || !was) {
                Some("is a weak definition dyld coalesces, resolved differently before")
            } else {
                None
            }
        }
        _ => None,
    }
}

fn out_of_room(sec: &SectionRecord, size: u64) -> String {
    format!(
        "section {},{} is out of reserved room ({} bytes needed)",
        sec.segname, sec.sectname, size
    )
}

/// Sections that carry a reserve (the full link's rule).
fn reserves(flags: u32) -> bool {
    crate::layout::Headroom::reserves_kind(flags)
}

/// The compact unwind entries of the object's functions: their encodings
/// (atom → encoding; one that defers to DWARF gets its FDE's offset once
/// the FDEs are placed, see `records`) and, for C++ exception tables,
/// their personalities and LSDAs.
#[derive(Default)]
struct UnwindEntries {
    encodings: FxHashMap<u32, u32>,
    /// Function atom → the personality symbol its entry names.
    personality: FxHashMap<u32, SymId>,
    /// Function atom → its entry's LSDA: (atom of this object, offset).
    lsda: FxHashMap<u32, (u32, i64)>,
}

fn unwind_entries(obj: &ObjectFile, symtab: &SymbolTable) -> Step<UnwindEntries> {
    let mut out = UnwindEntries::default();
    let entries = crate::unwind::entries(std::slice::from_ref(obj), symtab);
    // Sized once (an entry per function).
    out.encodings.reserve(entries.len());
    for (_, e, ff, fa) in entries {
        if ff != 0 {
            continue;
        }
        let data = obj.atom_data(e);
        let encoding = data
            .get(12..16)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()));
        out.encodings.insert(fa, encoding);
        if let Some(g) = crate::unwind::personality(obj, 0, e, symtab) {
            out.personality.insert(fa, g);
        }
        let atom = &obj.atoms[e as usize];
        let relocs = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
        if let Some(r) = relocs.iter().find(|r| r.offset == 24) {
            // The LSDA is the object's own data: a section-relative
            // reference (local labels are made atoms at parse time), or a
            // global it defines.
            let target =
                match r.target {
                    crate::atom::Target::Atom(a) => Some((a, r.addend)),
                    crate::atom::Target::Symbol(_) => symtab.global_of(0, r.target).and_then(|g| {
                        match symtab.syms[g as usize].def {
                            Def::Defined { atom, offset, .. } => {
                                r.addend.checked_add(i64::from(offset)).map(|at| (atom, at))
                            }
                            _ => None,
                        }
                    }),
                };
            match target {
                Some(t) => {
                    out.lsda.insert(fa, t);
                }
                None => {
                    return fallback(format!(
                        "{}: an unwind entry's LSDA is not in the object",
                        obj.name
                    ))
                }
            }
        }
        // Rows are kept per atom: an entry for code inside another
        // function's atom (no subsections) would share its row.
        let inside = relocs
            .iter()
            .find(|r| r.offset == 0)
            .is_some_and(|r| matches!(r.target, crate::atom::Target::Atom(_)) && r.addend != 0);
        if inside {
            return fallback(format!(
                "{}: an unwind entry describes code inside another function's atom (no subsections via symbols)",
                obj.name
            ));
        }
    }
    Ok(out)
}

/// The byte runs where `img` differs from `orig` inside the touched ranges
/// (runs closer than 16 bytes are joined).
fn diff(orig: &[u8], img: &[u8], touched: &mut Vec<Touched>) -> Vec<(u64, Vec<u8>)> {
    touched.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Touched> = Vec::new();
    for r in touched.drain(..) {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    for r in merged {
        let end = (r.end as usize).min(orig.len());
        let mut i = r.start as usize;
        while i < end {
            // Skip equal stretches a chunk at a time.
            if i + 64 <= end && orig[i..i + 64] == img[i..i + 64] {
                i += 64;
                continue;
            }
            if orig[i] == img[i] {
                i += 1;
                continue;
            }
            let start = i;
            let mut last = i;
            while i < end && i - last < 16 {
                if orig[i] != img[i] {
                    last = i;
                }
                i += 1;
            }
            out.push((start as u64, img[start..=last].to_vec()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{missing_from, same_names};

    #[test]
    fn names_missing_from_a_list_are_found_in_order_or_not() {
        let v = |names: &[&str]| {
            names
                .iter()
                .map(|n| n.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        let (a, b) = (v(&["_a", "_b", "_d", "_e"]), v(&["_b", "_c", "_e", "_f"]));
        assert_eq!(missing_from(&a, &b), [&a[0], &a[2]]);
        assert_eq!(missing_from(&b, &a), [&b[1], &b[3]]);
        assert!(missing_from(&a, &a).is_empty());
        assert_eq!(missing_from::<_, Vec<u8>>(&a, &[]).len(), 4);
        // Borrowed names against owned ones, as a replay compares them.
        let borrowed: Vec<&[u8]> = b.iter().map(Vec::as_slice).collect();
        assert_eq!(missing_from(&borrowed, &a), [&borrowed[1], &borrowed[3]]);
        assert!(same_names(&borrowed, &b) && !same_names(&borrowed, &a));
    }
}
