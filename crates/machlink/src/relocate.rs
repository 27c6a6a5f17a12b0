//! Relocation: copying atoms into the image and making each relocation's
//! field say what it means. This module decides *what* a field refers to
//! (an address in the image, an absolute value, a stub, GOT or
//! thread-pointer slot of an import) and which dyld fixup a pointer
//! needs; the target ([`Arch::apply`]) decides how the value is encoded.
//! Full links and incremental updates both write atoms through here: one
//! code path writes bytes.

use crate::arch::{Arch, RelocKind};
use crate::atom::{Reloc, Target};
use crate::input::object::ObjectFile;
use crate::layout::{Layout, OutSection};
use crate::linkedit::fixups::{Fixup, FixupKind};
use crate::symbols::{Def, SymId, SymbolTable};
use crate::synthetic::{is_imported, ImportSlots, Synthetic};
use object::macho;

/// Addresses the relocation pass needs, beyond the layout.
pub(crate) struct Resolved<'l> {
    pub arch: &'static dyn Arch,
    pub layout: &'l Layout,
    /// The synthetic tables of a full link (None for an update).
    synth: Option<&'l Synthetic>,
    stubs_addr: u64,
    got_addr: u64,
    thread_ptrs_addr: u64,
    pub lazy_ptrs_addr: u64,
    pub stub_helper_addr: u64,
    /// Incremental updates: import entries recorded by the earlier link.
    placed: Option<&'l rustc_hash::FxHashMap<SymId, ImportSlots>>,
    /// Classic dyld info: coalesced weak definitions get weak bind
    /// records (chained fixups bind them to weak-lookup imports instead).
    pub weak_bind_stream: bool,
    /// A full link's range-extension thunks (empty when the code is
    /// within a branch's reach): a branch out of reach goes through one.
    thunks: Option<&'l crate::thunks::Thunks>,
}

impl<'l> Resolved<'l> {
    /// Addresses for a full link: synthetic entries are where the layout
    /// put their sections.
    pub(crate) fn new(arch: &'static dyn Arch, layout: &'l Layout, synth: &'l Synthetic) -> Self {
        let section_addr = |c: crate::layout::Content| {
            layout
                .sections
                .iter()
                .find(|s| s.content == c)
                .map_or(0, |s| s.addr)
        };
        use crate::layout::Content;
        Resolved {
            arch,
            layout,
            synth: Some(synth),
            stubs_addr: section_addr(Content::Stubs),
            got_addr: section_addr(Content::Got),
            thread_ptrs_addr: section_addr(Content::ThreadPtrs),
            lazy_ptrs_addr: section_addr(Content::LazyPointers),
            stub_helper_addr: section_addr(Content::StubHelper),
            placed: None,
            weak_bind_stream: !synth.chained,
            thunks: None,
        }
    }

    /// Branches out of reach go through these thunks.
    pub(crate) fn with_thunks(mut self, thunks: &'l crate::thunks::Thunks) -> Self {
        self.thunks = Some(thunks);
        self
    }

    /// Addresses for relocating atoms into an image laid out earlier:
    /// symbols are [`Def::Placed`] and imports' entries come from `placed`.
    pub(crate) fn placed(
        arch: &'static dyn Arch,
        layout: &'l Layout,
        placed: &'l rustc_hash::FxHashMap<SymId, ImportSlots>,
    ) -> Self {
        Resolved {
            arch,
            layout,
            synth: None,
            stubs_addr: 0,
            got_addr: 0,
            thread_ptrs_addr: 0,
            lazy_ptrs_addr: 0,
            stub_helper_addr: 0,
            placed: Some(placed),
            // Set by `with_weak_bind_stream` for a classic image.
            weak_bind_stream: false,
            thunks: None,
        }
    }

    /// Classic dyld info: pointers to coalesced weak definitions also get
    /// weak bind records (chained fixups bind them to weak-lookup imports).
    pub(crate) fn with_weak_bind_stream(mut self, on: bool) -> Self {
        self.weak_bind_stream = on;
        self
    }

    /// A symbol's (canonical) address.
    pub fn symbol_addr(&self, symtab: &SymbolTable, id: SymId) -> Option<u64> {
        self.symbol_ref(symtab, id, false)
    }

    /// The address a reference to a symbol means; `interior` as for
    /// [`Layout::referenced_addr`].
    pub fn symbol_ref(&self, symtab: &SymbolTable, id: SymId, interior: bool) -> Option<u64> {
        self.def_ref(symtab, id, symtab.syms[id as usize].def, interior)
    }

    /// [`Self::symbol_ref`] for a caller that has read the symbol's
    /// definition `def` already.
    #[inline]
    fn def_ref(&self, symtab: &SymbolTable, id: SymId, def: Def, interior: bool) -> Option<u64> {
        match def {
            Def::Defined {
                file, atom, offset, ..
            } => Some(
                self.layout
                    .referenced_addr(file, atom, interior || offset != 0)
                    + u64::from(offset),
            ),
            Def::Placed { addr, body, .. } => Some(if interior { body } else { addr }),
            Def::Absolute { value } => Some(value),
            Def::Header => Some(self.layout.image_base),
            Def::Boundary => crate::linker_symbols::Boundary::parse(symtab.syms[id as usize].name)?
                .address(self.layout),
            _ => None,
        }
    }

    pub fn got_slot(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.got).filter(|&a| a != 0);
        }
        self.synth?
            .got
            .get(id)
            .map(|i| self.got_addr + u64::from(i) * 8)
    }

    pub fn stub(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.stub).filter(|&a| a != 0);
        }
        self.synth?
            .stubs
            .get(id)
            .map(|i| self.stubs_addr + u64::from(i) * self.arch.stub_size())
    }

    pub fn thread_ptr(&self, id: SymId) -> Option<u64> {
        if let Some(p) = self.placed {
            return p.get(&id).map(|s| s.thread_ptr).filter(|&a| a != 0);
        }
        self.synth?
            .thread_ptrs
            .get(id)
            .map(|i| self.thread_ptrs_addr + u64::from(i) * 8)
    }

    /// The synthetic entries of a symbol (0: none).
    pub fn slots(&self, id: SymId) -> ImportSlots {
        ImportSlots {
            stub: self.stub(id).unwrap_or(0),
            got: self.got_slot(id).unwrap_or(0),
            thread_ptr: self.thread_ptr(id).unwrap_or(0),
        }
    }
}

/// Per-file results of the relocation pass.
#[derive(Default)]
pub(crate) struct FileOut {
    pub fixups: Vec<Fixup>,
    pub errors: Vec<String>,
}

/// The output bytes of one atom: `(atom index, bytes)`.
pub(crate) type AtomBytes<'i> = (u32, &'i mut [u8]);

/// Hands out disjoint pieces of the output, in increasing file order, so
/// that the parallel writers can never overlap (no shared raw pointer).
struct Splitter<'i> {
    rest: &'i mut [u8],
    /// File offset where `rest` starts.
    cursor: usize,
    /// Per file (relative to `first`): its atoms' bytes.
    out: Vec<Vec<AtomBytes<'i>>>,
    first: u32,
}

impl<'i> Splitter<'i> {
    fn new(image: &'i mut [u8], objects: &[ObjectFile], first: u32) -> Self {
        Splitter {
            rest: image,
            cursor: 0,
            out: objects
                .iter()
                .map(|o| Vec::with_capacity(o.atoms.len()))
                .collect(),
            first,
        }
    }

    /// The `size` bytes at file offset `off` for atom `ai` of file `fi`;
    /// they must lie past every piece handed out before.
    fn take(&mut self, off: usize, size: usize, fi: u32, ai: u32) -> Result<(), String> {
        let bytes = self.piece(off, size, fi, ai)?;
        self.out[(fi - self.first) as usize].push((ai, bytes));
        Ok(())
    }

    /// The `size` bytes at file offset `off` (of atom `ai` of file `fi`),
    /// past every piece handed out before, taken out of `rest`.
    #[inline]
    fn piece(&mut self, off: usize, size: usize, fi: u32, ai: u32) -> Result<&'i mut [u8], String> {
        let gap = off.checked_sub(self.cursor).ok_or_else(|| {
            format!(
                "internal error: atom {ai} of file {fi} at file offset {off:#x} overlaps the \
                 atom before it"
            )
        })?;
        if gap + size > self.rest.len() {
            return Err(format!(
                "internal error: atom {ai} of file {fi} at file offset {off:#x} lies past the \
                 end of the output"
            ));
        }
        let (_, tail) = std::mem::take(&mut self.rest).split_at_mut(gap);
        let (bytes, tail) = tail.split_at_mut(size);
        self.rest = tail;
        self.cursor = off + size;
        Ok(bytes)
    }

    /// Fills what is left before file offset `to` with trap instructions
    /// `trap`, in phase with a section that starts at file offset `base`.
    fn fill_to(&mut self, to: usize, trap: &[u8], base: usize) {
        let n = to.saturating_sub(self.cursor).min(self.rest.len());
        if n == 0 {
            return;
        }
        let (gap, tail) = std::mem::take(&mut self.rest).split_at_mut(n);
        crate::arch::fill_trap(gap, trap, self.cursor - base);
        self.rest = tail;
        self.cursor += n;
    }
}

/// The output bytes of a run of one file's atoms, consecutive in an
/// output section: `(section, the run's atoms, file offset, bytes)`.
pub(crate) type RunBytes<'i, 'l> = (
    &'l crate::layout::OutSection,
    &'l [(u32, u32)],
    usize,
    &'i mut [u8],
);

/// Splits the output of a full link into the bytes of runs of atoms that
/// have some in the file (each file's atoms in a section follow one
/// another unless an order file interleaves them), grouped by file. The
/// sections' atom lists are in address order and the sections in file
/// order, so no sorting is needed; the splitter checks that no runs
/// overlap, and [`FileAtoms::for_each`] (each file's, in parallel) that no atoms
/// do. Split run by run rather than atom by atom: this pass is serial.
/// In code, a run's bytes also take in the gap before it (the last one's
/// the section's tail too), which [`FileAtoms::for_each`] fills with traps.
pub(crate) fn split_all_atoms<'i, 'l>(
    image: &'i mut [u8],
    layout: &'l Layout,
    objects: &[ObjectFile],
) -> Result<Vec<Vec<RunBytes<'i, 'l>>>, String> {
    let mut out: Vec<Vec<RunBytes<'i, 'l>>> = objects.iter().map(|_| Vec::new()).collect();
    let mut rest = image;
    let mut cursor = 0usize;
    for s in layout.sections.iter().filter(|s| !s.is_zerofill()) {
        let crate::layout::Content::Atoms(list) = &s.content else {
            continue;
        };
        let offset_of = |(fi, ai): (u32, u32)| {
            let addr = layout.atom_addr[fi as usize][ai as usize];
            (s.offset + (addr - s.addr)) as usize
        };
        let code = s.is_code();
        let mut runs = list.chunk_by(|a, b| a.0 == b.0).peekable();
        while let Some(run) = runs.next() {
            let (fi, first) = run[0];
            let &(_, last) = run.last().expect("a chunk is never empty");
            let mut start = offset_of(run[0]);
            let mut end =
                offset_of((fi, last)) + objects[fi as usize].atoms[last as usize].size as usize;
            if code {
                start = start.min(cursor.max(s.offset as usize));
                if runs.peek().is_none() {
                    end = end.max((s.offset + s.size) as usize);
                }
            }
            let gap = start
                .checked_sub(cursor)
                .filter(|_| end >= start)
                .ok_or_else(|| {
                    format!(
                        "internal error: atom {first} of file {fi} at file offset {start:#x} \
                     overlaps the atom before it"
                    )
                })?;
            if gap + (end - start) > rest.len() {
                return Err(format!(
                    "internal error: atom {last} of file {fi} ends at file offset {end:#x}, \
                     past the end of the output"
                ));
            }
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(gap);
            let (bytes, tail) = tail.split_at_mut(end - start);
            out[fi as usize].push((s, run, start, bytes));
            rest = tail;
            cursor = end;
        }
    }
    Ok(out)
}

/// The atoms a writer copies and relocates, with their bytes: listed
/// one by one (an update's, see [`split_atoms`]), or a full link's runs
/// of one file (see [`split_all_atoms`]), each atom's bytes cut out of
/// its run as it is written, the bytes between them in code filled with
/// the trap instruction `trap`. Cut as they are written, a full link
/// builds no list of every atom's bytes (200k pieces at 100k functions).
pub(crate) enum FileAtoms<'i, 'l> {
    Listed(Vec<AtomBytes<'i>>),
    Runs {
        runs: Vec<RunBytes<'i, 'l>>,
        trap: &'l [u8],
    },
}

impl<'i> FileAtoms<'i, '_> {
    /// Calls `f` with each atom's index, in order.
    #[inline]
    fn each_index(&self, mut f: impl FnMut(u32)) {
        match self {
            FileAtoms::Listed(list) => list.iter().for_each(|&(ai, _)| f(ai)),
            FileAtoms::Runs { runs, .. } => runs
                .iter()
                .flat_map(|r| r.1.iter())
                .for_each(|&(_, ai)| f(ai)),
        }
    }

    /// Calls `f` with each atom of file `fi` (`obj`) and its bytes, in
    /// order; an error if two atoms of a run overlap or one lies past
    /// its run (nothing of the run is handed out from there on).
    #[inline(always)]
    fn for_each(
        self,
        fi: u32,
        layout: &Layout,
        obj: &ObjectFile,
        mut f: impl FnMut(u32, &'i mut [u8]),
    ) -> Result<(), String> {
        let (runs, trap) = match self {
            FileAtoms::Listed(list) => {
                list.into_iter().for_each(|(ai, bytes)| f(ai, bytes));
                return Ok(());
            }
            FileAtoms::Runs { runs, trap } => (runs, trap),
        };
        let mut split = Splitter {
            rest: &mut [],
            cursor: 0,
            out: Vec::new(),
            first: fi,
        };
        for (s, run, start, bytes) in runs {
            split.rest = bytes;
            split.cursor = start;
            let code = s.is_code();
            let addrs = &layout.atom_addr[fi as usize];
            for &(_, ai) in run {
                let off = (s.offset + (addrs[ai as usize] - s.addr)) as usize;
                if code {
                    split.fill_to(off, trap, s.offset as usize);
                }
                let size = obj.atoms[ai as usize].size as usize;
                f(ai, split.piece(off, size, fi, ai)?);
            }
            if code {
                split.fill_to(usize::MAX, trap, s.offset as usize);
            }
        }
        Ok(())
    }
}

/// Splits an image into the bytes of the placed atoms (not aliases, not
/// zero-fill) of `files` (whose objects are `objects`), each at its body
/// address (its own unless it moved): what an update rewrites. Atoms for
/// which `leave(file, atom)` holds are left out (an update leaves them as
/// they are).
pub(crate) fn split_atoms<'i>(
    image: &'i mut [u8],
    layout: &Layout,
    objects: &[ObjectFile],
    files: std::ops::Range<u32>,
    leave: &dyn Fn(u32, u32) -> bool,
) -> Result<Vec<Vec<AtomBytes<'i>>>, String> {
    // (file offset, size, file, atom)
    let mut ranges: Vec<(usize, usize, u32, u32)> = Vec::new();
    for fi in files.clone() {
        let obj = &objects[(fi - files.start) as usize];
        for (ai, atom) in obj.atoms.iter().enumerate() {
            if layout.atom_addr[fi as usize][ai] == 0
                || atom.alias_of.is_some()
                || leave(fi, ai as u32)
            {
                continue;
            }
            let addr = layout.body_addr(fi, ai as u32);
            let sec = &layout.sections[layout.atom_section[fi as usize][ai] as usize];
            if addr != 0 && !sec.is_zerofill() {
                let off = sec.offset + (addr - sec.addr);
                ranges.push((off as usize, atom.size as usize, fi, ai as u32));
            }
        }
    }
    ranges.sort_unstable_by_key(|r| r.0);
    let mut split = Splitter::new(image, objects, files.start);
    for (off, size, fi, ai) in ranges {
        split.take(off, size, fi, ai)?;
    }
    Ok(split.out)
}

/// Copies a file's atoms into their bytes and applies their relocations.
pub(crate) fn write_file_atoms(
    fi: u32,
    obj: &ObjectFile,
    atoms: FileAtoms<'_, '_>,
    symtab: &SymbolTable,
    res: &Resolved,
) -> FileOut {
    // The target's encoders called with its type known, so that they
    // inline into the loop over the relocations: through `dyn Arch` each
    // relocation was a call with its arguments on the stack, which cost
    // as much as the encoding.
    match res.arch.cpu_type() {
        macho::CPU_TYPE_X86_64 => write_atoms_as(&crate::arch::X86_64, fi, obj, atoms, symtab, res),
        macho::CPU_TYPE_ARM64 => write_atoms_as(&crate::arch::Arm64, fi, obj, atoms, symtab, res),
        _ => write_atoms_as(res.arch, fi, obj, atoms, symtab, res),
    }
}

/// [`write_file_atoms`] for target `arch` (`res.arch`).
fn write_atoms_as<A: Arch + ?Sized>(
    arch: &A,
    fi: u32,
    obj: &ObjectFile,
    atoms: FileAtoms<'_, '_>,
    symtab: &SymbolTable,
    res: &Resolved,
) -> FileOut {
    let mut result = FileOut::default();
    let layout = res.layout;
    // The atoms' relocations, and those outside code (nearly all
    // pointers), which get room for a fixup each rather than growing the
    // list step by step.
    let (mut relocs, mut data_relocs) = (0usize, 0usize);
    let sections = &layout.atom_section[fi as usize];
    atoms.each_index(|ai| {
        let a = &obj.atoms[ai as usize];
        let n = (a.relocs_end - a.relocs_start) as usize;
        relocs += n;
        if !layout.sections[sections[ai as usize] as usize].is_code() {
            data_relocs += n;
        }
    });
    let symbol_addrs = plain_symbol_addrs(fi, obj, relocs, symtab, layout);
    result.fixups.reserve(data_relocs);
    let split = atoms.for_each(fi, layout, obj, |ai, bytes| {
        let atom = &obj.atoms[ai as usize];
        let sec = &layout.sections[sections[ai as usize] as usize];
        bytes.copy_from_slice(obj.atom_data(ai));
        let mut place = Place {
            file: fi,
            obj,
            atom_addr: layout.body_addr(fi, ai),
            section: sec,
            bytes,
            symbol_addrs: &symbol_addrs,
            rebases: rebases_pointers(sec),
        };
        for r in &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize] {
            let applied = match relocate_plain(arch, &mut place, r, res, &mut result.fixups) {
                Some(applied) => applied,
                None => relocate(arch, &mut place, r, symtab, res, &mut result.fixups),
            };
            if let Err(e) = applied {
                result.errors.push(format!(
                    "{}: {} in {}",
                    obj.name,
                    e,
                    obj.describe(ai, r.offset)
                ));
            }
        }
    });
    if let Err(e) = split {
        result.errors.push(e);
    }
    result
}

/// The atom being relocated: its file, address, output section and bytes.
pub(crate) struct Place<'p, 'a> {
    pub file: u32,
    pub obj: &'p ObjectFile<'a>,
    pub atom_addr: u64,
    pub section: &'p OutSection,
    pub bytes: &'p mut [u8],
    /// The file's [`plain_symbol_addrs`] (empty: none worked out).
    symbol_addrs: &'p [u64],
    /// Whether a pointer to a plain definition here is a rebased address
    /// (see [`rebases_pointers`]).
    rebases: bool,
}

/// Whether a 64-bit pointer in `section` to an address in the image is
/// that address, rebased by dyld: not in code (where it would need a text
/// relocation) nor in thread-local descriptors (whose offset words are
/// relative to the template); [`absolute`] says what those get instead.
fn rebases_pointers(section: &OutSection) -> bool {
    !section.is_code() && section.kind() != macho::S_THREAD_LOCAL_VARIABLES
}

impl Place<'_, '_> {
    /// The address of a symbol target that is a plain definition in the
    /// image (see [`plain_symbol_addrs`]), which is all its referent is.
    #[inline(always)]
    fn plain_addr(&self, t: Target) -> Option<u64> {
        match t {
            Target::Symbol(i) => self
                .symbol_addrs
                .get(i as usize)
                .copied()
                .filter(|&a| a != NOT_PLAIN),
            Target::Atom(_) => None,
        }
    }
}

/// A [`plain_symbol_addrs`] entry for a symbol that needs the full look-up.
const NOT_PLAIN: u64 = u64::MAX;

/// For each nlist symbol of file `fi`: the address of the definition it
/// resolves to when that is a plain one in the image (neither coalesced
/// nor interposable, and at the same address whether a reference means
/// its start or a place inside it), else [`NOT_PLAIN`]. A file's
/// relocations name the same symbols many times over, and a reference's
/// referent then takes one read of this table instead of three scattered
/// ones (the file's global, its definition, its atom's address).
/// Worked out only when the atoms written have more relocations (`relocs`)
/// than the file has
/// symbols: an update that rewrites one function of a large file looks
/// its few symbols up one by one instead.
fn plain_symbol_addrs(
    fi: u32,
    obj: &ObjectFile,
    relocs: usize,
    symtab: &SymbolTable,
    layout: &Layout,
) -> Vec<u64> {
    let Some(globals) = symtab.file_globals.get(fi as usize) else {
        return Vec::new();
    };
    if relocs <= obj.symbols.len() {
        return Vec::new();
    }
    let plain = |&g: &SymId| {
        if g == crate::atom::NONE {
            return NOT_PLAIN;
        }
        match symtab.syms[g as usize].def {
            Def::Defined {
                file,
                atom,
                offset,
                weak: false,
                interposable: false,
                ..
            } => {
                let addr = layout.atom_addr[file as usize][atom as usize];
                if layout.body_addr(file, atom) == addr {
                    addr + u64::from(offset)
                } else {
                    NOT_PLAIN
                }
            }
            _ => NOT_PLAIN,
        }
    };
    globals.iter().map(plain).collect()
}

/// What a relocation's target turned out to be.
#[derive(Clone, Copy)]
enum Referent {
    /// An address in the image (slides with it).
    Local { addr: u64 },
    /// A fixed value that does not slide (absolute symbols).
    Absolute(u64),
    /// A symbol dyld binds.
    Imported(SymId),
    /// A definition in the image at `addr` that dyld may replace by
    /// another image's: a weak one it coalesces (see [`crate::weak`]) or
    /// an interposable one (see [`crate::interpose`]).
    Coalesced { sym: SymId, addr: u64 },
}

impl Referent {
    /// The address in the image, for references that do not go through
    /// dyld (a coalesced definition's own copy).
    fn local_addr(self) -> Option<u64> {
        match self {
            Referent::Local { addr } | Referent::Coalesced { addr, .. } => Some(addr),
            Referent::Absolute(_) | Referent::Imported(_) => None,
        }
    }
}

/// `interior`: the reference means a place inside its target (a nonzero
/// offset, or one side of a difference), which for a moved function is in
/// its body rather than at its canonical address.
fn referent(
    p: &Place,
    t: Target,
    interior: bool,
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Referent, String> {
    referent_of(p, t, symtab.global_of(p.file, t), interior, symtab, res)
}

/// [`referent`] for a caller that has looked up the global `global` the
/// target resolves to already. Most targets are atoms of the file or
/// plain definitions in the image, whose address is all there is to find.
#[inline(always)]
fn referent_of(
    p: &Place,
    t: Target,
    global: Option<SymId>,
    interior: bool,
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Referent, String> {
    match (t, global) {
        (Target::Atom(a), _) => {
            if let Some(r) = atom_referent(p, a, interior, res) {
                return Ok(r);
            }
        }
        (Target::Symbol(_), Some(g)) => {
            if let Def::Defined {
                file,
                atom,
                offset,
                weak: false,
                interposable: false,
                ..
            } = symtab.syms[g as usize].def
            {
                // Neither coalesced nor interposable: nothing binds it,
                // and its address is what `Resolved::symbol_ref` says.
                let addr = res
                    .layout
                    .referenced_addr(file, atom, interior || offset != 0);
                return Ok(Referent::Local {
                    addr: addr + u64::from(offset),
                });
            }
        }
        (Target::Symbol(_), None) => {}
    }
    any_referent(p, t, global, interior, symtab, res)
}

/// An atom of the relocation's own file, by its address: none for an atom
/// in a section the image does not keep (its address is 0).
#[inline(always)]
fn atom_referent(p: &Place, atom: u32, interior: bool, res: &Resolved) -> Option<Referent> {
    let addr = res.layout.referenced_addr(p.file, atom, interior);
    (addr != 0).then_some(Referent::Local { addr })
}

/// [`referent_of`] for any target.
#[inline(never)]
fn any_referent(
    p: &Place,
    t: Target,
    global: Option<SymId>,
    interior: bool,
    symtab: &SymbolTable,
    res: &Resolved,
) -> Result<Referent, String> {
    match t {
        Target::Atom(a) => atom_referent(p, a, interior, res)
            .ok_or_else(|| "reference to a section machlink does not keep".into()),
        Target::Symbol(i) => {
            let Some(g) = global else {
                let name = p.obj.symbols.get(i as usize).map_or(&b"?"[..], |s| s.name);
                return Err(format!(
                    "reference to local symbol {} in a section machlink does not keep",
                    String::from_utf8_lossy(name)
                ));
            };
            let def = symtab.syms[g as usize].def;
            if is_imported(def) {
                return Ok(Referent::Imported(g));
            }
            if let Def::Absolute { value } = def {
                return Ok(Referent::Absolute(value));
            }
            let addr = res
                .def_ref(symtab, g, def, interior)
                .ok_or_else(|| format!("symbol {} has no address", name_of(symtab, g)))?;
            if crate::weak::bound_here(def) {
                return Ok(Referent::Coalesced { sym: g, addr });
            }
            Ok(Referent::Local { addr })
        }
    }
}

/// A relocation that calls a DTrace probe symbol: its call site is
/// rewritten rather than relocated.
fn probe_call(global: Option<SymId>, symtab: &SymbolTable) -> Option<crate::dtrace::ProbeCall> {
    let sym = &symtab.syms[global? as usize];
    (sym.def == Def::Dtrace)
        .then(|| crate::dtrace::ProbeCall::of(sym.name))
        .flatten()
}

/// What a relocation refers to, for messages: a symbol's name, or the
/// section the atom belongs to.
fn target_name(p: &Place, t: Target, symtab: &SymbolTable) -> String {
    match symtab.global_of(p.file, t) {
        Some(g) => name_of(symtab, g),
        None => match t {
            Target::Symbol(i) => p.obj.symbols.get(i as usize).map_or_else(
                || "a local symbol".into(),
                |s| String::from_utf8_lossy(s.name).into_owned(),
            ),
            Target::Atom(a) => p.obj.describe(a, 0),
        },
    }
}

fn name_of(symtab: &SymbolTable, g: SymId) -> String {
    String::from_utf8_lossy(symtab.syms[g as usize].name).into_owned()
}

/// [`relocate`] for the relocations that make up most of a link: one
/// whose target is a plain definition in the image (see
/// [`Place::plain_addr`]), no subtrahend, and a branch, a pc-relative
/// reference or a GOT load that becomes an address, or a pointer that is
/// rebased. Inlined into the loop over the relocations, with nothing to
/// look up beyond the target's address. None, with the bytes untouched,
/// for any other relocation and for a branch or pointer whose value does
/// not fit, which [`relocate`] applies or reports in its words.
#[inline(always)]
fn relocate_plain<A: Arch + ?Sized>(
    arch: &A,
    p: &mut Place,
    r: &Reloc,
    res: &Resolved,
    fixups: &mut Vec<Fixup>,
) -> Option<Result<(), String>> {
    use crate::arch::PageRef;
    if r.subtrahend.is_some() {
        return None;
    }
    let addr = p.plain_addr(r.target)?;
    let at = r.offset as usize;
    let pc = p.atom_addr + u64::from(r.offset);
    let value = (addr as i64).wrapping_add(r.addend) as u64;
    match r.kind {
        RelocKind::Branch
        | RelocKind::PcRel { .. }
        | RelocKind::Page(PageRef::Direct)
        | RelocKind::PageOffset(PageRef::Direct) => {
            // A branch out of direct reach goes through a thunk.
            let thunk = res.thunks.is_some()
                && r.kind == RelocKind::Branch
                && !crate::thunks::in_reach(pc, value, arch.branch_reach());
            (!thunk && arch.apply(r.kind, r.length, p.bytes, at, pc, value).is_ok())
                .then_some(Ok(()))
        }
        RelocKind::GotLoad | RelocKind::TlvLoad | RelocKind::Page(_) | RelocKind::PageOffset(_)
            if at + (1usize << r.length) <= p.bytes.len() =>
        {
            // The load becomes the address's computation, as in `relocate`.
            Some(
                arch.relax(r.kind, p.bytes, at)
                    .map_err(|e| e.to_string())
                    .and_then(|()| encode(arch, r.kind, r.length, p.bytes, at, pc, value)),
            )
        }
        RelocKind::Absolute if r.length == 3 && p.rebases => {
            arch.apply(r.kind, 3, p.bytes, at, pc, value).ok()?;
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Rebase { target: value },
            });
            Some(Ok(()))
        }
        _ => None,
    }
}

/// Applies one relocation to the atom's bytes; records the dyld fixup a
/// pointer needs. Bind fixups carry the symbol id in `import` until the
/// import table is built.
/// `arch` is `res.arch`, with its type known where the caller knows it.
/// Not inlined: the loop over the relocations inlines [`relocate_plain`],
/// which takes nearly all of them, and stays small without this.
#[inline(never)]
fn relocate<A: Arch + ?Sized>(
    arch: &A,
    p: &mut Place,
    r: &Reloc,
    symtab: &SymbolTable,
    res: &Resolved,
    fixups: &mut Vec<Fixup>,
) -> Result<(), String> {
    let at = r.offset as usize;
    // The field's own address: where the bytes actually go.
    let pc = p.atom_addr + u64::from(r.offset);
    if at + (1usize << r.length) > p.bytes.len() {
        return Err("relocated field lies outside the atom".into());
    }
    let pair = r.subtrahend.is_some();
    let target = match p.plain_addr(r.target) {
        Some(addr) => Referent::Local { addr },
        None => {
            // The global a symbol target resolves to, looked up once.
            let global = symtab.global_of(p.file, r.target);
            if let Some(call) = probe_call(global, symtab) {
                return arch
                    .rewrite_probe_call(call, r.kind, p.bytes, at)
                    .map_err(|e| e.to_string());
            }
            referent_of(p, r.target, global, pair || r.addend != 0, symtab, res)?
        }
    };
    let subtrahend = r
        .subtrahend
        .map(|sub| referent(p, sub, true, symtab, res))
        .transpose()?;
    if let Some(sub) = subtrahend {
        // A difference of two addresses in the image.
        let (Some(a), Some(b)) = (target.local_addr(), sub.local_addr()) else {
            return Err("SUBTRACTOR pair must name two symbols defined in the image".into());
        };
        let v = (a as i64).wrapping_sub(b as i64).wrapping_add(r.addend);
        return encode(
            arch,
            RelocKind::Absolute,
            r.length,
            p.bytes,
            at,
            pc,
            v as u64,
        );
    }
    let plus_addend = |s: u64| (s as i64).wrapping_add(r.addend) as u64;
    match r.kind {
        RelocKind::Absolute => {
            let value = absolute(p, r, target, pc, symtab, res, fixups)?;
            encode(arch, r.kind, r.length, p.bytes, at, pc, value as u64)
        }
        RelocKind::ImageOffset => {
            // An initializer in `__init_offsets`: dyld adds the header's
            // address at run time, so it must be in this image.
            let addr = target.local_addr().ok_or_else(|| {
                format!(
                    "an initializer in __init_offsets must be a function in the image, \
                     not {}",
                    match r.target {
                        Target::Symbol(_) => symtab
                            .global_of(p.file, r.target)
                            .map_or_else(|| "a local symbol".into(), |g| name_of(symtab, g)),
                        Target::Atom(_) => "a section address".into(),
                    }
                )
            })?;
            let offset = plus_addend(addr)
                .checked_sub(res.layout.image_base)
                .ok_or("an initializer below the image's header")?;
            encode(arch, r.kind, r.length, p.bytes, at, pc, offset)
        }
        RelocKind::Branch
        | RelocKind::PcRel { .. }
        | RelocKind::Page(crate::arch::PageRef::Direct)
        | RelocKind::PageOffset(crate::arch::PageRef::Direct) => {
            let s = match target {
                Referent::Local { addr } | Referent::Absolute(addr) => addr,
                // A call that dyld may redirect goes through the stub; other
                // pc-relative references mean the image's own copy.
                Referent::Coalesced { sym, addr } => match r.kind {
                    RelocKind::Branch => res.stub(sym).ok_or("no stub for call")?,
                    _ => addr,
                },
                Referent::Imported(g) if r.kind == RelocKind::Branch => {
                    res.stub(g).ok_or("no stub for call")?
                }
                Referent::Imported(g) => {
                    return Err(format!(
                    "{} is defined in a dylib and cannot be addressed directly (it needs the GOT)",
                    name_of(symtab, g)
                ))
                }
            };
            let mut value = plus_addend(s);
            if let (Some(thunks), RelocKind::Branch) = (res.thunks, r.kind) {
                // Out of direct reach: through a thunk for the target.
                let key = || crate::thunks::key_of(p.file, r, symtab);
                value = crate::thunks::branch_value(thunks, arch.branch_reach(), pc, value, key)
                    .ok_or_else(|| {
                        format!(
                            "branch to {} is out of range: {:#x} bytes away, and {} branches \
                             reach {:#x}; no thunk for it is in reach",
                            target_name(p, r.target, symtab),
                            pc.abs_diff(value),
                            arch.name(),
                            arch.branch_reach()
                        )
                    })?;
            }
            arch.apply(r.kind, r.length, p.bytes, at, pc, value)
                .map_err(|e| match e {
                    crate::arch::ApplyError::OutOfRange { value, .. }
                        if r.kind == RelocKind::Branch =>
                    {
                        format!(
                            "branch to {} is out of range: {}{:#x} bytes away, and {} \
                             branches reach {:#x}",
                            target_name(p, r.target, symtab),
                            if value < 0 { "-" } else { "" },
                            value.unsigned_abs(),
                            arch.name(),
                            arch.branch_reach()
                        )
                    }
                    e => e.to_string(),
                })
        }
        RelocKind::PointerToGot => {
            let g = match r.target {
                Target::Symbol(_) => symtab
                    .global_of(p.file, r.target)
                    .ok_or("GOT reference to a local symbol")?,
                Target::Atom(_) => return Err("GOT reference to a section".into()),
            };
            let slot = res.got_slot(g).ok_or("no GOT slot")?;
            encode(arch, r.kind, r.length, p.bytes, at, pc, plus_addend(slot))
        }
        RelocKind::GotLoad | RelocKind::TlvLoad | RelocKind::Page(_) | RelocKind::PageOffset(_) => {
            let s = match (target, r.kind.entry(true)) {
                (
                    Referent::Imported(g) | Referent::Coalesced { sym: g, .. },
                    Some(crate::arch::Entry::Got),
                ) => res.got_slot(g).ok_or("no GOT slot")?,
                (Referent::Imported(g) | Referent::Coalesced { sym: g, .. }, _) => {
                    res.thread_ptr(g).ok_or("no thread pointer slot")?
                }
                // An absolute symbol's value is loaded from its GOT slot
                // (see `synthetic::entry_for`): a pc-relative `lea` could
                // not reach a value that does not slide with the image.
                (Referent::Absolute(_), Some(crate::arch::Entry::Got)) => {
                    let g = symtab
                        .global_of(p.file, r.target)
                        .ok_or("GOT load of a local absolute symbol")?;
                    res.got_slot(g).ok_or("no GOT slot")?
                }
                (Referent::Local { addr } | Referent::Absolute(addr), _) => {
                    arch.relax(r.kind, p.bytes, at).map_err(|e| e.to_string())?;
                    addr
                }
            };
            encode(arch, r.kind, r.length, p.bytes, at, pc, plus_addend(s))
        }
    }
}

/// [`Arch::apply`], its error in words. Inlined: called from several
/// places, a closure was not, and its call cost as much as the encoding.
#[inline(always)]
fn encode<A: Arch + ?Sized>(
    arch: &A,
    kind: RelocKind,
    length: u8,
    bytes: &mut [u8],
    at: usize,
    pc: u64,
    value: u64,
) -> Result<(), String> {
    arch.apply(kind, length, bytes, at, pc, value)
        .map_err(apply_error)
}

#[cold]
fn apply_error(e: crate::arch::ApplyError) -> String {
    e.to_string()
}

/// The value of an absolute field, recording the fixup a pointer needs.
fn absolute(
    p: &Place,
    r: &Reloc,
    target: Referent,
    pc: u64,
    symtab: &SymbolTable,
    res: &Resolved,
    fixups: &mut Vec<Fixup>,
) -> Result<i64, String> {
    // The `offset` word of a thread-local descriptor is relative to the
    // start of the thread-local template, and is not slid.
    if p.section.kind() == macho::S_THREAD_LOCAL_VARIABLES {
        let template = res.layout.tlv_start..res.layout.tlv_end;
        if let Some(addr) = target.local_addr() {
            if template.contains(&addr) {
                return Ok(((addr - res.layout.tlv_start) as i64).wrapping_add(r.addend));
            }
        }
    }
    match (target, r.length) {
        (Referent::Absolute(v), _) => Ok((v as i64).wrapping_add(r.addend)),
        (_, 3) if p.section.is_code() => {
            Err("absolute 64-bit address in code would need a text relocation".into())
        }
        (Referent::Local { addr }, 3) => {
            // (Addresses wrap as the target's arithmetic does.)
            let value = (addr as i64).wrapping_add(r.addend) as u64;
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Rebase { target: value },
            });
            Ok(value as i64)
        }
        (Referent::Imported(g), 3) => {
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Bind {
                    import: g,
                    addend: r.addend,
                },
            });
            if res.weak_bind_stream && crate::weak::coalesced(symtab.syms[g as usize].def) {
                fixups.push(Fixup {
                    addr: pc,
                    kind: FixupKind::WeakBind {
                        import: g,
                        addend: r.addend,
                    },
                });
            }
            Ok(0)
        }
        (Referent::Coalesced { sym, .. }, 3) if !res.weak_bind_stream => {
            // Chained fixups: bound to the weak-lookup import.
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Bind {
                    import: sym,
                    addend: r.addend,
                },
            });
            Ok(0)
        }
        (Referent::Coalesced { sym, addr }, 3) => {
            // Classic: the image's own copy, unless dyld coalesces it
            // with another image's (a weak bind) or finds another image's
            // first (an interposable definition's flat-lookup bind).
            // (Addresses wrap as the target's arithmetic does.)
            let value = (addr as i64).wrapping_add(r.addend) as u64;
            fixups.push(Fixup {
                addr: pc,
                kind: FixupKind::Rebase { target: value },
            });
            let (import, addend) = (sym, r.addend);
            let kind = if crate::weak::coalesced(symtab.syms[sym as usize].def) {
                FixupKind::WeakBind { import, addend }
            } else {
                FixupKind::Bind { import, addend }
            };
            fixups.push(Fixup { addr: pc, kind });
            Ok(value as i64)
        }
        _ => Err("32-bit absolute address cannot be used in a position-independent image".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_splitter_hands_out_disjoint_pieces_in_file_order() {
        let mut image: Vec<u8> = (0..32).collect();
        let mut split = Splitter {
            rest: &mut image,
            cursor: 0,
            out: vec![Vec::new(), Vec::new()],
            first: 0,
        };
        split.take(4, 4, 0, 7).unwrap();
        split.take(8, 0, 1, 2).unwrap(); // an empty atom
        split.take(8, 8, 1, 3).unwrap();
        assert!(
            split.take(12, 4, 0, 8).is_err(),
            "a piece that overlaps the one before"
        );
        assert!(split.take(30, 4, 0, 9).is_err(), "a piece past the end");
        split.take(20, 12, 0, 10).unwrap();
        let out = split.out;
        assert_eq!(out[0].len(), 2);
        assert_eq!((out[0][0].0, &out[0][0].1[..]), (7, &[4u8, 5, 6, 7][..]));
        assert_eq!(out[0][1].1.len(), 12);
        assert_eq!(out[1].iter().map(|a| a.0).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(out[1][1].1[0], 8);
    }
}
