//! Assigning addresses: input sections to output sections, output sections
//! to segments, atoms to addresses.
//!
//! Segment order is that of ld64/lld: `__PAGEZERO`, `__TEXT`,
//! `__DATA_CONST`, `__DATA`, any other segments, `__LINKEDIT`. Within a
//! segment, code comes first, then other sections in the order inputs
//! first mention them, zero-fill last (thread-local zero-fill before the
//! rest, so the thread-local template is one contiguous range).

use crate::arch::Arch;
use crate::input::object::ObjectFile;
use object::macho;
use rayon::prelude::*;
/// `__thread_data` and `__thread_bss`: the template each thread's
/// variables are copied from.
fn is_thread_local_template(kind: u32) -> bool {
    matches!(
        kind,
        macho::S_THREAD_LOCAL_REGULAR | macho::S_THREAD_LOCAL_ZEROFILL
    )
}

/// The alignment every section of the thread-local template gets: the
/// largest any of them needs. Descriptors hold offsets from the start of
/// the template, which dyld copies as one block, so (as ld64.lld does) a
/// later section must not be aligned more than the template's start.
fn thread_local_template_align(sections: &[OutSection], objects: &[ObjectFile]) -> u8 {
    let mut align = 0;
    for s in sections
        .iter()
        .filter(|s| is_thread_local_template(s.kind()))
    {
        align = align.max(s.align_log2);
        if let Content::Atoms(list) = &s.content {
            for &(f, a) in list {
                align = align.max(objects[f as usize].atoms[a as usize].align_log2);
            }
        }
    }
    align
}

/// Where an executable's __TEXT starts (after the 4 GiB __PAGEZERO); a
/// dylib's starts at 0.
pub const IMAGE_BASE: u64 = 0x1_0000_0000;

pub fn align_up(v: u64, align: u64) -> u64 {
    v.div_ceil(align) * align
}

/// What fills an output section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Atoms from object files, as (file, atom), in address order.
    Atoms(Vec<(u32, u32)>),
    /// Synthetic sections: entries are laid out by the synthetic module.
    Stubs,
    Got,
    ThreadPtrs,
    /// Classic lazy binding: the code that calls dyld_stub_binder, and the
    /// lazy pointers the stubs jump through until bound.
    StubHelper,
    LazyPointers,
    /// `__TEXT,__unwind_info`, built from the compact unwind entries.
    UnwindInfo,
}

#[derive(Clone, Debug)]
pub struct OutSection {
    pub segname: String,
    pub sectname: String,
    pub flags: u32,
    pub align_log2: u8,
    pub addr: u64,
    pub size: u64,
    /// File offset (0 for zero-fill).
    pub offset: u64,
    pub reserved1: u32,
    pub reserved2: u32,
    pub content: Content,
}

impl OutSection {
    /// An empty section for atoms, before layout.
    pub fn for_atoms(segname: String, sectname: String, flags: u32, align_log2: u8) -> Self {
        OutSection {
            segname,
            sectname,
            flags,
            align_log2,
            addr: 0,
            size: 0,
            offset: 0,
            reserved1: 0,
            reserved2: 0,
            content: Content::Atoms(Vec::new()),
        }
    }

    pub fn kind(&self) -> u32 {
        crate::section_flags::kind(self.flags)
    }
    pub fn is_zerofill(&self) -> bool {
        crate::section_flags::is_zerofill(self.flags)
    }
    pub fn is_code(&self) -> bool {
        crate::section_flags::is_code(self.flags)
    }
    pub fn is_tlv_template(&self) -> bool {
        matches!(
            self.kind(),
            macho::S_THREAD_LOCAL_REGULAR | macho::S_THREAD_LOCAL_ZEROFILL
        )
    }
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    pub vmaddr: u64,
    pub vmsize: u64,
    pub fileoff: u64,
    pub filesize: u64,
    pub maxprot: u32,
    pub initprot: u32,
    pub flags: u32,
    /// Indices into `Layout::sections`.
    pub sections: std::ops::Range<usize>,
}

/// The laid-out image.
#[derive(Debug, Default)]
pub struct Layout {
    pub segments: Vec<Segment>,
    pub sections: Vec<OutSection>,
    /// Address of every atom, per file (`[file][atom]`); 0 = not placed.
    pub atom_addr: Vec<Vec<u64>>,
    /// Output section index of every placed atom, per file.
    pub atom_section: Vec<Vec<u32>>,
    /// Incremental updates only: where a moved function's body is, per
    /// file (0 = at its canonical address). Empty in a full link.
    pub atom_body: Vec<Vec<u64>>,
    /// The thread-local template (`__thread_data` then `__thread_bss`).
    pub tlv_start: u64,
    pub tlv_end: u64,
    /// Address of the mach header: 4 GiB for executables, 0 for dylibs.
    pub image_base: u64,
    /// The target's page size: segments start on one.
    pub page_size: u64,
    /// Where each [`Gap`] went: its address and output section index.
    pub gaps: Vec<(u64, u32)>,
}

/// The room an incremental link leaves for growth (DESIGN.md: every
/// function gets a slot with headroom, every section reserved space), so
/// that later updates can overwrite in place or grow without moving
/// neighbours.
#[derive(Clone, Copy, Debug)]
pub struct Headroom {
    /// The largest trampoline: no function slot may be smaller.
    pub min_slot: u64,
    /// The least room left after a section: a page.
    pub page_size: u64,
    /// How far a direct branch reaches (`bl`: 128 MiB on arm64), which
    /// caps a code section's reserve (see [`Headroom::code_reserve`]).
    pub branch_reach: u64,
    /// Whether function slots get growth room (see
    /// [`Headroom::for_code`]).
    pub slot_growth: bool,
}

/// What a code section's reserve leaves within branch reach of the
/// section's start for the code sections placed after it in `__TEXT`
/// (`__stubs` at 12 bytes a stub, `__stub_helper`): 4 MiB, room for some
/// 300,000 stubs.
const CODE_TAIL_ROOM: u64 = 4 << 20;

impl Headroom {
    /// The headroom of `arch`'s images.
    pub fn for_arch(arch: &dyn Arch) -> Headroom {
        Headroom {
            min_slot: arch.max_trampoline() as u64,
            page_size: arch.page_size(),
            branch_reach: arch.branch_reach(),
            slot_growth: true,
        }
    }

    /// A function's slot: its size plus a quarter (at least 16 bytes).
    pub fn slot(&self, size: u64) -> u64 {
        if !self.slot_growth {
            return size.max(self.min_slot);
        }
        (size + (size / 4).max(16)).max(self.min_slot)
    }

    /// The headroom of the code section holding `list`. When its code
    /// fits in a branch's reach (less `CODE_TAIL_ROOM`) but the growth
    /// room of its slots would take it past, slots get room for a
    /// trampoline only: a function that grows then moves into the
    /// reserve (see [`Headroom::code_reserve`]), which stays in reach,
    /// where slots with growth room would have made the full link need
    /// range-extension thunks, and so keep no incremental state. Layout
    /// and the recorded state both size slots through this.
    pub fn for_code(
        self,
        objects: &[crate::input::object::ObjectFile],
        list: &[(u32, u32)],
    ) -> Headroom {
        let span = self.code_span();
        let sizes = || {
            list.iter()
                .map(|&(f, a)| u64::from(objects[f as usize].atoms[a as usize].size))
        };
        let code: u64 = sizes().sum();
        let slotted: u64 = sizes().map(|s| self.slot(s)).sum();
        if code < span && slotted >= span {
            Headroom {
                slot_growth: false,
                ..self
            }
        } else {
            self
        }
    }

    /// How far a code section with its reserve may extend.
    fn code_span(&self) -> u64 {
        self.branch_reach.saturating_sub(CODE_TAIL_ROOM)
    }

    /// Space reserved after a section's last atom: a quarter of what it
    /// holds, at least a page.
    pub fn reserve(&self, size: u64) -> u64 {
        (size / 4).max(self.page_size)
    }

    /// A code section's reserve: [`Headroom::reserve`], cut so that the
    /// section with its reserve, and the stubs after it, stay within one
    /// branch's reach when its slots do (`CODE_TAIL_ROOM` short of it;
    /// [`Headroom::for_code`] drops the slots' growth room to keep them
    /// so). A body an update moves or adds goes into the reserve; placed
    /// there, it reaches every function of the section, and every stub,
    /// with a plain `bl`, and any slot's trampoline to it is a single
    /// `b`: a program with less than 124 MiB of arm64 code never falls
    /// back for reach. (One with more needs range-extension thunks in its
    /// full link, which keeps no state, unless no call spans the reach;
    /// that case, and code sections other than `__text` whose spans add
    /// up, are what an update still checks reach for: a body's field out
    /// of reach falls back with the reference, a slot out of `b` reach of
    /// its body takes the long trampoline.)
    pub fn code_reserve(&self, size: u64) -> u64 {
        let reserve = self.reserve(size);
        let span = self.code_span();
        if size >= span {
            return reserve;
        }
        reserve.min(span - size)
    }

    /// Room left after a table an update rebuilds in place
    /// (`__unwind_info`): a quarter of its size plus a page.
    pub fn table_reserve(&self, size: u64) -> u64 {
        size / 4 + self.page_size
    }

    /// Whether a section may carry reserved space: a pointer section would
    /// hand dyld null pointers to call or bind, so only plain contents do
    /// (and thread-local descriptors: a zero descriptor is never used, and
    /// dyld just points its thunk at the getter like any other).
    ///
    /// `__eh_frame` has one too: an update writes the FDEs that grew (and
    /// new ones) there, and the zeros after the last record read as the
    /// terminator a DWARF unwinder stops at.
    pub fn reserves(section: &OutSection) -> bool {
        (Self::reserves_kind(section.flags) || Self::is_eh_frame(section))
            && matches!(section.content, Content::Atoms(_))
    }

    /// `__TEXT,__eh_frame`, whose reserve is for DWARF unwind records.
    pub fn is_eh_frame(section: &OutSection) -> bool {
        section.segname == "__TEXT" && section.sectname == crate::input::object::EH_FRAME
    }

    /// [`Headroom::reserves`] by section flags alone. A thread-local
    /// template's reserve is part of the template, so variables placed
    /// there later keep offsets inside it.
    pub fn reserves_kind(flags: u32) -> bool {
        matches!(
            crate::section_flags::kind(flags),
            macho::S_REGULAR
                | macho::S_ZEROFILL
                | macho::S_CSTRING_LITERALS
                | macho::S_4BYTE_LITERALS
                | macho::S_8BYTE_LITERALS
                | macho::S_16BYTE_LITERALS
                | macho::S_THREAD_LOCAL_REGULAR
                | macho::S_THREAD_LOCAL_ZEROFILL
                | macho::S_THREAD_LOCAL_VARIABLES
        )
    }
}

/// The room an incremental link leaves for later updates, decided once
/// here rather than at each place that writes: function slots with
/// headroom and room after sections ([`Headroom`]), spare stubs and GOT
/// slots for new imports, and room after the
/// LINKEDIT pieces an update rewrites. A full link reserves nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reserve {
    pub headroom: Option<Headroom>,
    /// Spare stub and GOT entries (chained fixups only: classic lazy
    /// binding would also need stub helper entries).
    pub imports: u64,
}

impl Reserve {
    /// What an incremental link of a program with `stubs` imported
    /// functions reserves.
    pub fn incremental(arch: &dyn Arch, stubs: usize, chained: bool) -> Reserve {
        Reserve {
            headroom: Some(Headroom::for_arch(arch)),
            imports: if chained {
                (stubs as u64 / 4).max(32)
            } else {
                0
            },
        }
    }

    pub fn is_incremental(&self) -> bool {
        self.headroom.is_some()
    }

    /// Room after a LINKEDIT piece (exports, symbols, strings, chained
    /// fixups) of `used` bytes: a quarter more, and at least `min`.
    pub fn linkedit(&self, used: usize, min: usize) -> usize {
        if self.is_incremental() {
            (used / 4).max(min)
        } else {
            0
        }
    }

    /// Zeros after the function starts' terminator: room for functions
    /// that move or appear later, without moving the rest of LINKEDIT.
    pub fn function_starts(&self, used: usize) -> usize {
        if self.is_incremental() {
            used / 4 + 64
        } else {
            0
        }
    }
}

/// Which output section an input section goes to (lld's mapping).
pub fn output_section_name(segname: &str, sectname: &str) -> (String, String) {
    match (segname, sectname) {
        ("__TEXT", "__StaticInit") => ("__TEXT".into(), "__text".into()),
        (
            "__DATA",
            "__const" | "__mod_init_func" | "__mod_term_func" | "__cfstring"
            // Objective-C lists and the image info: read-only after load.
            | "__objc_classlist" | "__objc_nlclslist" | "__objc_catlist" | "__objc_nlcatlist"
            | "__objc_protolist" | "__objc_imageinfo",
        ) => ("__DATA_CONST".into(), sectname.into()),
        _ => (segname.into(), sectname.into()),
    }
}

fn segment_rank(name: &str) -> u32 {
    match name {
        "__PAGEZERO" => 0,
        "__TEXT" => 1,
        "__DATA_CONST" => 2,
        "__DATA" => 3,
        "__LINKEDIT" => 5,
        _ => 4,
    }
}

/// Orders sections within a segment: code, then stubs, then data in
/// first-seen order; thread-local zero-fill, then other zero-fill, last.
fn section_rank(s: &OutSection) -> u32 {
    match (s.sectname.as_str(), &s.content) {
        ("__text", _) => 0,
        (_, Content::Stubs | Content::StubHelper) => 2,
        (_, Content::UnwindInfo) => 7,
        ("__eh_frame", _) => 8,
        (_, Content::Got | Content::LazyPointers) => 3,
        // After the stubs, before constants, as lld places it.
        (crate::init_offsets::SECTION, _) => 3,
        _ if s.kind() == macho::S_THREAD_LOCAL_ZEROFILL => 8,
        _ if s.is_zerofill() => 9,
        _ if s.is_code() => 1,
        _ if s.kind() == macho::S_THREAD_LOCAL_REGULAR => 6,
        (_, Content::ThreadPtrs) => 5,
        _ => 4,
    }
}

/// Collects output sections from every kept input section, adds the
/// synthetic ones, and sorts them into segment order.
///
/// `order`: the files in layout order (see `crate::load_order`); empty
/// means in index order.
pub fn plan_sections(
    objects: &[ObjectFile],
    order: &[u32],
    synthetic: Vec<OutSection>,
) -> Vec<OutSection> {
    let mut sections: Vec<OutSection> = Vec::new();
    let mut index: rustc_hash::FxHashMap<(String, String), usize> = Default::default();
    let in_index_order: Vec<u32>;
    let order = if order.len() == objects.len() {
        order
    } else {
        in_index_order = (0..objects.len() as u32).collect();
        &in_index_order
    };
    for &fi in order {
        let obj = &objects[fi as usize];
        for sec in obj
            .sections
            .iter()
            .filter(|s| s.kept && !s.metadata && s.atoms_len > 0)
        {
            let key = output_section_name(&sec.segname, &sec.sectname);
            let idx = *index.entry(key.clone()).or_insert_with(|| {
                // Thread-local descriptors hold pointers dyld fixes up:
                // 8-byte aligned whatever the objects say (as lld does).
                let align =
                    if crate::section_flags::kind(sec.flags) == macho::S_THREAD_LOCAL_VARIABLES {
                        3
                    } else {
                        0
                    };
                sections.push(OutSection::for_atoms(key.0, key.1, sec.flags, align));
                sections.len() - 1
            });
            let out = &mut sections[idx];
            // Merged sections keep the attributes of all their inputs.
            out.flags |= sec.flags & macho::SECTION_ATTRIBUTES;
            if let Content::Atoms(list) = &mut out.content {
                for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                    let atom = &obj.atoms[a as usize];
                    if atom.alias_of.is_none() && atom.live {
                        list.push((fi, a));
                    }
                }
            }
        }
    }
    // __eh_frame's S_ATTR_LIVE_SUPPORT does not carry over: each FDE
    // lives with its function here, and lld drops the flag too.
    for s in &mut sections {
        if s.segname == "__TEXT" && s.sectname == crate::input::object::EH_FRAME {
            s.flags &= !macho::S_ATTR_LIVE_SUPPORT;
        }
    }
    sections.extend(synthetic);
    sort_sections(&mut sections);
    sections
}

/// Puts sections in segment order (stable: equal ranks keep first-seen
/// order).
pub(crate) fn sort_sections(sections: &mut [OutSection]) {
    sections.sort_by_key(|s| (segment_rank(&s.segname), s.segname.clone(), section_rank(s)));
}

/// `-no_data_const`: no `__DATA_CONST` segment; its sections (constant
/// data, the GOT, initializer lists) stay in `__DATA`, merged with a
/// `__DATA` section of the same name when there is one.
pub fn merge_data_const(sections: &mut Vec<OutSection>) {
    let mut merged: Vec<OutSection> = Vec::with_capacity(sections.len());
    for mut s in std::mem::take(sections) {
        if s.segname == "__DATA_CONST" {
            s.segname = "__DATA".into();
        }
        let same = merged.iter_mut().find(|m| {
            m.segname == s.segname
                && m.sectname == s.sectname
                && matches!(m.content, Content::Atoms(_))
                && matches!(s.content, Content::Atoms(_))
        });
        match same {
            Some(m) => {
                m.flags |= s.flags & macho::SECTION_ATTRIBUTES;
                m.align_log2 = m.align_log2.max(s.align_log2);
                if let (Content::Atoms(into), Content::Atoms(from)) = (&mut m.content, s.content) {
                    into.extend(from);
                }
            }
            None => merged.push(s),
        }
    }
    *sections = merged;
    sort_sections(sections);
}

/// For an incremental link: the sections a later edit most often needs
/// that the inputs do not have yet (a program's first string, constant
/// table, initialised or zeroed variable, thread-local variable, its first
/// exception table and DWARF unwind record: a C function that gains a
/// cleanup under `-fexceptions`), created empty so that their reserve can
/// take new atoms instead of forcing a full link. `data_const`: whether
/// constant data has its own segment.
pub fn add_reserved_sections(sections: &mut Vec<OutSection>, data_const: bool) {
    let const_segment = if data_const { "__DATA_CONST" } else { "__DATA" };
    // An output __eh_frame's flags (without S_ATTR_LIVE_SUPPORT, see
    // `plan_sections`).
    let eh_frame = macho::S_COALESCED | macho::S_ATTR_NO_TOC | macho::S_ATTR_STRIP_STATIC_SYMS;
    let wanted: [(&str, &str, u32); 10] = [
        ("__TEXT", "__cstring", macho::S_CSTRING_LITERALS),
        ("__TEXT", "__const", macho::S_REGULAR),
        ("__TEXT", "__gcc_except_tab", macho::S_REGULAR),
        ("__TEXT", crate::input::object::EH_FRAME, eh_frame),
        (const_segment, "__const", macho::S_REGULAR),
        ("__DATA", "__data", macho::S_REGULAR),
        ("__DATA", "__bss", macho::S_ZEROFILL),
        ("__DATA", "__thread_vars", macho::S_THREAD_LOCAL_VARIABLES),
        ("__DATA", "__thread_data", macho::S_THREAD_LOCAL_REGULAR),
        ("__DATA", "__thread_bss", macho::S_THREAD_LOCAL_ZEROFILL),
    ];
    let mut added = false;
    for (seg, sect, flags) in wanted {
        if sections
            .iter()
            .any(|s| s.segname == seg && s.sectname == sect)
        {
            continue;
        }
        sections.push(OutSection::for_atoms(seg.into(), sect.into(), flags, 3));
        added = true;
    }
    if added {
        sort_sections(sections);
    }
}

/// What layout has placed by the time it sizes a synthetic section: the
/// addresses of the atoms in the sections before it (0 for later ones),
/// and every section (later ones without addresses yet).
pub struct Placed<'a> {
    pub sections: &'a [OutSection],
    pub atom_addr: &'a [Vec<u64>],
    pub image_base: u64,
}

/// Lays out a section's atoms: calls `place(file, atom, offset)` with each
/// atom's offset from the section start (aligned to the largest alignment
/// of its atoms) and returns the end of the last. `slots`: an incremental
/// link's headroom, for code.
pub fn place_atoms(
    objects: &[ObjectFile],
    list: &[(u32, u32)],
    slots: Option<Headroom>,
    place: impl FnMut(u32, u32, u64),
) -> u64 {
    place_run(objects, list, slots, 0, place)
}

/// Room left after a code atom for an island of range-extension thunks
/// (see [`crate::thunks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The atom (file, atom) the island follows.
    pub after: (u32, u32),
    pub size: u64,
    pub align_log2: u8,
}

/// Below this many atoms, layout works on one thread: handing work to
/// others costs more than it saves, and much more when the machine is
/// busy and a helper thread waits its turn for a core.
const PARALLEL_ATOMS: usize = 8192;

/// A section's atoms split into runs: stretches of one file's atoms
/// (the order inputs list them in, unless an order file interleaves
/// them), each ended early by an island of thunks after its last atom.
/// A run's size is worked out on its own (in parallel), its offset from
/// the ones before it (a sum over runs, not atoms), and its atoms are
/// placed by their file's thread: the atoms of a file are disjoint from
/// every other file's, so no two threads write one address table.
struct Runs {
    /// `list[bounds[r]..bounds[r + 1]]` is run `r`.
    bounds: Vec<u32>,
    sizes: Vec<RunSize>,
    /// Each run's offset from the section start.
    offsets: Vec<u64>,
    /// (run, offset from the run's start) of each island, in order.
    gaps: Vec<(usize, u64)>,
    /// The end of the last run and its island.
    end: u64,
}

/// What one run needs of its atoms to be laid out from any offset.
#[derive(Clone, Copy, Default)]
struct RunSize {
    /// Its first atom's alignment, and the largest of any.
    align_first: u8,
    align_max: u8,
    /// Its size when it starts at offset 0: the same, shifted, from any
    /// offset aligned to `align_max`.
    size: u64,
}

impl RunSize {
    fn of(objects: &[ObjectFile], run: &[(u32, u32)], slots: Option<Headroom>) -> RunSize {
        let mut r = RunSize::default();
        if let Some(&(f, a)) = run.first() {
            r.align_first = objects[f as usize].atoms[a as usize].align_log2;
        }
        r.size = place_run(objects, run, slots, 0, |_, _, _| {});
        for &(f, a) in run {
            r.align_max = r
                .align_max
                .max(objects[f as usize].atoms[a as usize].align_log2);
        }
        r
    }
}

/// Lays out `run` from `offset`: calls `place(file, atom, offset)` for
/// each atom, and returns the end of the last.
#[inline]
fn place_run(
    objects: &[ObjectFile],
    run: &[(u32, u32)],
    slots: Option<Headroom>,
    mut offset: u64,
    mut place: impl FnMut(u32, u32, u64),
) -> u64 {
    for &(f, a) in run {
        let atom = &objects[f as usize].atoms[a as usize];
        offset = align_up(offset, 1 << atom.align_log2);
        place(f, a, offset);
        offset += slots.map_or(u64::from(atom.size), |h| h.slot(u64::from(atom.size)));
    }
    offset
}

impl Runs {
    /// Splits `list` into runs (taking the islands of `gaps` that follow
    /// its atoms) and sizes each.
    fn of<'g>(
        objects: &[ObjectFile],
        list: &[(u32, u32)],
        slots: Option<Headroom>,
        gaps: &mut std::iter::Peekable<std::slice::Iter<'g, Gap>>,
    ) -> Runs {
        let mut bounds = vec![0u32];
        let mut islands: Vec<(usize, &Gap)> = Vec::new();
        // Islands are rare (code beyond a branch's reach): without any
        // left, runs end only where the file changes.
        let mut any_gaps = gaps.peek().is_some();
        for (i, &(f, a)) in list.iter().enumerate() {
            if i > 0 && f != list[i - 1].0 && *bounds.last().unwrap() != i as u32 {
                bounds.push(i as u32);
            }
            if !any_gaps {
                continue;
            }
            if let Some(g) = gaps.next_if(|g| g.after == (f, a)) {
                islands.push((bounds.len() - 1, g));
                bounds.push(i as u32 + 1);
                any_gaps = gaps.peek().is_some();
            }
        }
        if *bounds.last().unwrap() != list.len() as u32 || bounds.len() == 1 {
            bounds.push(list.len() as u32);
        }
        let runs = bounds.len() - 1;
        let size = |r: usize| {
            RunSize::of(
                objects,
                &list[bounds[r] as usize..bounds[r + 1] as usize],
                slots,
            )
        };
        let sizes: Vec<RunSize> = if list.len() < PARALLEL_ATOMS {
            (0..runs).map(size).collect()
        } else {
            (0..runs)
                .into_par_iter()
                .with_min_len(16)
                .map(size)
                .collect()
        };
        // The runs' offsets: a run starting where its atoms' alignment
        // puts it at a multiple of its largest has its size from 0; one
        // that does not (mixed alignments) is walked from its offset.
        let mut offsets = Vec::with_capacity(runs);
        let mut gaps_at = Vec::with_capacity(islands.len());
        let mut islands = islands.into_iter().peekable();
        let mut end = 0u64;
        for (r, size) in sizes.iter().enumerate() {
            offsets.push(end);
            let first = align_up(end, 1 << size.align_first);
            end = if first.is_multiple_of(1 << size.align_max) {
                first + size.size
            } else {
                let run = &list[bounds[r] as usize..bounds[r + 1] as usize];
                place_run(objects, run, slots, end, |_, _, _| {})
            };
            if let Some((_, g)) = islands.next_if(|&(ir, _)| ir == r) {
                end = align_up(end, 1 << g.align_log2);
                gaps_at.push((r, end - offsets[r]));
                end += g.size;
            }
        }
        Runs {
            bounds,
            sizes,
            offsets,
            gaps: gaps_at,
            end,
        }
    }

    /// Hands the runs of section `section`, at address `base`, to
    /// `pending`; returns the section's size.
    fn place(
        &self,
        base: u64,
        section: u32,
        slots: Option<Headroom>,
        list: &[(u32, u32)],
        pending: &mut Pending,
    ) -> u64 {
        for r in 0..self.sizes.len() {
            let (start, end) = (self.bounds[r], self.bounds[r + 1]);
            if start == end {
                continue;
            }
            pending.runs.push(PendingRun {
                file: list[start as usize].0,
                section,
                start,
                end,
                base,
                offset: self.offsets[r],
                slots,
            });
        }
        self.end
    }
}

/// Runs laid out but not placed yet: their atoms get their addresses in
/// one parallel pass per file, when something needs them (see
/// [`Placed`]) and at the end.
#[derive(Default)]
struct Pending {
    runs: Vec<PendingRun>,
}

/// A run of `sections[section]`'s atoms, `list[start..end]`, all of
/// `file`: laid out from `offset` in the section, which is at `base`.
#[derive(Clone, Copy)]
struct PendingRun {
    file: u32,
    section: u32,
    start: u32,
    end: u32,
    base: u64,
    offset: u64,
    slots: Option<Headroom>,
}

impl Pending {
    /// Places every pending run's atoms, each file's on one thread.
    fn place_all(&mut self, objects: &[ObjectFile], sections: &[OutSection], layout: &mut Layout) {
        if self.runs.is_empty() {
            return;
        }
        // By file, each file's runs in the order laid out.
        self.runs.sort_by_key(|r| r.file);
        let runs = &self.runs;
        let mut by_file: Vec<&[PendingRun]> = vec![&[]; objects.len()];
        for chunk in runs.chunk_by(|a, b| a.file == b.file) {
            by_file[chunk[0].file as usize] = chunk;
        }
        let place = |((addr, section), runs): ((&mut Vec<u64>, &mut Vec<u32>), &[PendingRun])| {
            for r in runs {
                let Content::Atoms(list) = &sections[r.section as usize].content else {
                    continue;
                };
                let run = &list[r.start as usize..r.end as usize];
                place_run(objects, run, r.slots, r.offset, |_, a, off| {
                    addr[a as usize] = r.base + off;
                    section[a as usize] = r.section;
                });
            }
        };
        let atoms: usize = runs.iter().map(|r| (r.end - r.start) as usize).sum();
        if atoms < PARALLEL_ATOMS {
            layout
                .atom_addr
                .iter_mut()
                .zip(layout.atom_section.iter_mut())
                .zip(by_file)
                .for_each(place);
        } else {
            layout
                .atom_addr
                .par_iter_mut()
                .zip(layout.atom_section.par_iter_mut())
                .zip(by_file)
                .for_each(place);
        }
        self.runs.clear();
    }
}

/// Deduplicated literals live at their canonical copy's address, in its
/// section.
fn place_aliases(objects: &[ObjectFile], layout: &mut Layout) {
    let found: Vec<Vec<(u32, u64, u32)>> = objects
        .par_iter()
        .map(|obj| {
            obj.atoms
                .iter()
                .enumerate()
                .filter_map(|(a, atom)| {
                    let (cf, ca) = atom.alias_of.get()?;
                    Some((
                        a as u32,
                        layout.atom_addr[cf as usize][ca as usize],
                        layout.atom_section[cf as usize][ca as usize],
                    ))
                })
                .collect()
        })
        .collect();
    layout
        .atom_addr
        .par_iter_mut()
        .zip(layout.atom_section.par_iter_mut())
        .zip(found)
        .for_each(|((addr, section), found)| {
            for (a, at, sec) in found {
                addr[a as usize] = at;
                section[a as usize] = sec;
            }
        });
}

/// Assigns addresses and file offsets. `header_size` is the Mach-O header
/// plus load commands plus header padding; `synthetic_size` gives the size
/// of a synthetic section, from what is placed before it (the alignment
/// comes with the section); `headroom` is set for an incremental link;
/// `gaps` (in address order) leave room for islands of thunks, whose
/// addresses end up in [`Layout::gaps`].
#[allow(clippy::too_many_arguments)]
pub fn assign_addresses(
    objects: &[ObjectFile],
    mut sections: Vec<OutSection>,
    header_size: u64,
    mut synthetic_size: impl FnMut(&Content, &Placed) -> u64,
    image_base: u64,
    page_size: u64,
    headroom: Option<Headroom>,
    gaps: &[Gap],
) -> Layout {
    let mut gaps = gaps.iter().peekable();
    let mut layout = Layout {
        atom_addr: objects.iter().map(|o| vec![0; o.atoms.len()]).collect(),
        atom_section: objects
            .iter()
            .map(|o| vec![u32::MAX; o.atoms.len()])
            .collect(),
        ..Default::default()
    };
    layout.image_base = image_base;
    layout.page_size = page_size;
    if image_base > 0 {
        // Executables keep the low 4 GiB unmapped so null pointers fault.
        layout.segments.push(Segment {
            name: "__PAGEZERO".into(),
            vmaddr: 0,
            vmsize: image_base,
            fileoff: 0,
            filesize: 0,
            maxprot: 0,
            initprot: 0,
            flags: 0,
            sections: 0..0,
        });
    }
    let mut vm = image_base;
    let mut fileoff = 0u64;
    let mut i = 0;
    let mut pending = Pending::default();
    while i < sections.len() {
        let segname = sections[i].segname.clone();
        let start = i;
        while i < sections.len() && sections[i].segname == segname {
            i += 1;
        }
        let seg_vm = vm;
        let seg_file = fileoff;
        let mut cursor = if segname == "__TEXT" { header_size } else { 0 };
        let mut file_end = cursor;
        let tlv_align = thread_local_template_align(&sections[start..i], objects);
        for si in start..i {
            let s = &sections[si];
            let mut align = s.align_log2;
            let mut size;
            if let Content::Atoms(list) = &s.content {
                let slots = headroom
                    .filter(|_| s.is_code())
                    .map(|h| h.for_code(objects, list));
                let runs = Runs::of(objects, list, slots, &mut gaps);
                // The section is aligned as its most aligned atom.
                align = runs.sizes.iter().fold(align, |a, r| a.max(r.align_max));
                // __eh_frame's records are packed 4-aligned (see
                // input::object), the section itself 8-aligned as ld64
                // writes it.
                if Headroom::is_eh_frame(s) {
                    align = align.max(3);
                }
                if is_thread_local_template(s.kind()) {
                    align = align.max(tlv_align);
                }
                cursor = align_up(cursor, 1 << align);
                let base = seg_vm + cursor;
                size = runs.place(base, si as u32, slots, list, &mut pending);
                for (run, off) in runs.gaps {
                    layout
                        .gaps
                        .push((base + runs.offsets[run] + off, si as u32));
                }
                if let Some(h) = headroom.filter(|_| Headroom::reserves(s)) {
                    size += if s.is_code() {
                        h.code_reserve(size)
                    } else {
                        h.reserve(size)
                    };
                }
            } else {
                // Synthetic sections come with their alignment.
                cursor = align_up(cursor, 1 << align);
                // What is sized here sees the atoms of the sections
                // before it at their addresses.
                pending.place_all(objects, &sections, &mut layout);
                let placed = Placed {
                    sections: &sections,
                    atom_addr: &layout.atom_addr,
                    image_base,
                };
                size = synthetic_size(&s.content, &placed);
                if let Some(h) = headroom.filter(|_| s.content == Content::UnwindInfo) {
                    // Room for the rows of functions that move or appear
                    // in later updates.
                    size += h.table_reserve(size);
                }
            }
            let s = &mut sections[si];
            s.align_log2 = align;
            s.addr = seg_vm + cursor;
            s.size = size;
            s.offset = if s.is_zerofill() {
                0
            } else {
                seg_file + cursor
            };
            cursor += size;
            if !s.is_zerofill() {
                file_end = cursor;
            }
        }
        let (maxprot, initprot, flags) = match segname.as_str() {
            "__TEXT" => (5, 5, 0),
            "__DATA_CONST" => (3, 3, macho::SG_READ_ONLY),
            _ => (3, 3, 0),
        };
        layout.segments.push(Segment {
            name: segname,
            vmaddr: seg_vm,
            vmsize: align_up(cursor.max(1), page_size),
            fileoff: seg_file,
            filesize: align_up(file_end, page_size),
            maxprot,
            initprot,
            flags,
            sections: start..i,
        });
        vm = seg_vm + align_up(cursor.max(1), page_size);
        fileoff = seg_file + align_up(file_end, page_size);
    }
    pending.place_all(objects, &sections, &mut layout);
    place_aliases(objects, &mut layout);
    let template = sections.iter().filter(|s| s.is_tlv_template());
    layout.tlv_start = template.clone().map(|s| s.addr).min().unwrap_or(0);
    layout.tlv_end = template.map(|s| s.addr + s.size).max().unwrap_or(0);
    layout.sections = sections;
    layout
}

/// Adds segments without sections (named by `segment$start$SEG` or
/// `segment$end$SEG` only), as lld creates them: empty (no memory, no
/// file bytes), readable and writable, in segment order where the next
/// segment starts; nothing after them moves.
pub fn add_empty_segments(layout: &mut Layout, names: &[String]) {
    for name in names {
        let at = layout
            .segments
            .iter()
            .position(|s| {
                (segment_rank(&s.name), s.name.as_str()) > (segment_rank(name), name.as_str())
            })
            .unwrap_or(layout.segments.len());
        let (vmaddr, fileoff, section) = match at.checked_sub(1).map(|i| &layout.segments[i]) {
            Some(prev) => (
                prev.vmaddr + prev.vmsize,
                prev.fileoff + prev.filesize,
                prev.sections.end,
            ),
            None => (layout.image_base, 0, 0),
        };
        layout.segments.insert(
            at,
            Segment {
                name: name.clone(),
                vmaddr,
                vmsize: 0,
                fileoff,
                filesize: 0,
                maxprot: 3,
                initprot: 3,
                flags: 0,
                sections: section..section,
            },
        );
    }
}

impl Layout {
    /// Where an atom's bytes go: its body when it moved, else its address.
    #[inline]
    pub fn body_addr(&self, file: u32, atom: u32) -> u64 {
        match self.atom_body.get(file as usize).map(|b| b[atom as usize]) {
            Some(body) if body != 0 => body,
            _ => self.atom_addr[file as usize][atom as usize],
        }
    }

    /// The address a reference to an atom means: a function's canonical
    /// address for its start (which stays valid when the body moves,
    /// through the trampoline), its body for anything `interior` to it.
    #[inline]
    pub fn referenced_addr(&self, file: u32, atom: u32, interior: bool) -> u64 {
        if !interior {
            self.atom_addr[file as usize][atom as usize]
        } else {
            self.body_addr(file, atom)
        }
    }

    /// The segment holding an address.
    pub fn segment_of(&self, addr: u64) -> Option<usize> {
        self.segments
            .iter()
            .position(|s| addr >= s.vmaddr && addr < s.vmaddr + s.vmsize && s.name != "__PAGEZERO")
    }

    /// File offset of an address in a file-backed part of a segment.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        let seg = &self.segments[self.segment_of(addr)?];
        let off = addr - seg.vmaddr;
        (off < seg.filesize).then_some(seg.fileoff + off)
    }

    /// First byte of LINKEDIT (file and vm): after the last segment.
    pub fn linkedit_start(&self) -> (u64, u64) {
        let last = self.segments.last().unwrap();
        (last.fileoff + last.filesize, last.vmaddr + last.vmsize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARM64: Headroom = Headroom {
        min_slot: 12,
        page_size: 0x4000,
        branch_reach: (128 << 20) - 4,
        slot_growth: true,
    };
    const MIB: u64 = 1 << 20;

    #[test]
    fn a_code_reserve_keeps_the_section_and_its_stubs_in_branch_reach() {
        // Small code: the usual quarter (at least a page).
        assert_eq!(ARM64.code_reserve(0x1000), 0x4000);
        assert_eq!(ARM64.code_reserve(40 * MIB), 10 * MIB);
        // Close to the reach: cut to end 4 MiB short of it.
        let size = 110 * MIB;
        let reserve = ARM64.code_reserve(size);
        assert!(reserve < size / 4);
        assert_eq!(size + reserve + CODE_TAIL_ROOM, ARM64.branch_reach);
        // Past it (thunks, or no call spans it): the usual quarter.
        assert_eq!(ARM64.code_reserve(200 * MIB), 50 * MIB);
    }

    #[test]
    fn a_slot_without_growth_room_holds_its_function_or_a_trampoline() {
        assert_eq!(ARM64.slot(4), 20);
        let no_growth = Headroom {
            slot_growth: false,
            ..ARM64
        };
        assert_eq!(no_growth.slot(4), 12);
        assert_eq!(no_growth.slot(400), 400);
    }
}
