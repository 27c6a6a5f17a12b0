//! Synthetic sections the linker creates from relocations: `__stubs` (calls
//! to dylib functions), `__got` (pointers loaded through the GOT) and
//! `__thread_ptrs` (thread-local variables of dylibs). Weak definitions
//! dyld coalesces across images get the same entries as imports (see
//! [`crate::weak`]).
//!
//! With chained fixups a stub jumps through its symbol's GOT slot, which
//! dyld binds at load time; the classic format jumps through lazy
//! pointers, bound on first call through `__stub_helper` (or at load time
//! for coalesced weak definitions).

use crate::arch::{Arch, Entry};
use crate::atom::NONE;
use crate::input::object::ObjectFile;
use crate::layout::{Content, OutSection};
use crate::symbols::{Def, SymId, SymbolTable};
use object::macho;
use rayon::prelude::*;

/// An imported symbol's synthetic entries as an earlier link placed them
/// (0: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportSlots {
    pub stub: u64,
    pub got: u64,
    pub thread_ptr: u64,
}

/// One synthetic table: the symbols it holds, in first-use order.
#[derive(Debug, Default)]
pub struct Table {
    pub entries: Vec<SymId>,
    /// Symbol → entry index (NONE when absent); allocated with the first
    /// entry, since most links leave some tables empty (thread pointers,
    /// the classic format's lazy stubs) and each would be 4 bytes a
    /// symbol to fill and keep.
    index: Vec<u32>,
    /// How many symbols the link has: the index's size once allocated.
    nsyms: usize,
}

impl Table {
    fn new(nsyms: usize) -> Table {
        Table {
            entries: Vec::new(),
            index: Vec::new(),
            nsyms,
        }
    }

    fn add(&mut self, sym: SymId) {
        let i = sym as usize;
        if i >= self.index.len() {
            self.index.resize(self.nsyms.max(i + 1), NONE);
        }
        if self.index[i] == NONE {
            self.index[i] = self.entries.len() as u32;
            self.entries.push(sym);
        }
    }

    pub fn get(&self, sym: SymId) -> Option<u32> {
        self.index.get(sym as usize).copied().filter(|&i| i != NONE)
    }
}

/// The stubs, GOT and thread-pointer tables of a link.
pub struct Synthetic {
    pub arch: &'static dyn Arch,
    pub stubs: Table,
    pub got: Table,
    pub thread_ptrs: Table,
    /// Classic lazy binding: stubs jump through lazy pointers (one per stub)
    /// that first lead to the stub helper; `Some` holds dyld_stub_binder.
    pub lazy_binder: Option<SymId>,
    /// Classic format: the stubs whose lazy pointer is bound lazily, each
    /// with a stub helper entry (those of weak definitions dyld coalesces
    /// are bound at load time instead, see [`crate::weak`]).
    pub lazy: Table,
    /// Whether the image has chained fixups (else classic dyld info).
    pub chained: bool,
    /// Whether the image gets `__unwind_info` (any function); layout sizes
    /// it (see [`crate::unwind::plan`]).
    pub unwind_info: bool,
}

/// Whether references to a symbol must go through dyld.
pub fn is_imported(def: Def) -> bool {
    matches!(def, Def::Dylib { .. } | Def::DynamicLookup)
}

/// The synthetic entry a reference of `kind` to a symbol defined as `def`
/// needs. Besides what [`crate::arch::RelocKind::entry`] says for imports
/// and pointers to the GOT: a GOT load of an absolute symbol keeps its GOT
/// slot (holding the value, never slid), because the load cannot become
/// a pc-relative address computation: the value does not move with the
/// image.
pub fn entry_for(kind: crate::arch::RelocKind, def: Def) -> Option<Entry> {
    entry_of_class(kind, DefClass::of(def))
}

/// What [`entry_for`] needs to know of a definition, in a byte: whether
/// references go through dyld ([`crate::weak::needs_binding`]) and
/// whether it is absolute. The scan over every relocation reads these
/// from a table of one byte per symbol, which stays in the cache, rather
/// than each target's 48-byte symbol (most relocations of a large link
/// name a different one).
#[derive(Clone, Copy)]
struct DefClass(u8);

impl DefClass {
    const BINDS: u8 = 1;
    const ABSOLUTE: u8 = 2;

    fn of(def: Def) -> DefClass {
        let binds = if crate::weak::needs_binding(def) {
            DefClass::BINDS
        } else {
            0
        };
        let absolute = if matches!(def, Def::Absolute { .. }) {
            DefClass::ABSOLUTE
        } else {
            0
        };
        DefClass(binds | absolute)
    }
}

/// Whether a relocation of `kind` can need an entry at all, whatever its
/// target: most (direct calls and pointers to definitions in the image
/// aside) cannot, and need no look at their symbol.
fn may_need_entry(kind: crate::arch::RelocKind) -> bool {
    kind.entry(true).is_some() || is_got_load(kind)
}

fn is_got_load(kind: crate::arch::RelocKind) -> bool {
    use crate::arch::{PageRef, RelocKind};
    matches!(
        kind,
        RelocKind::GotLoad | RelocKind::Page(PageRef::Got) | RelocKind::PageOffset(PageRef::Got)
    )
}

/// [`entry_for`] of a definition's [`DefClass`].
fn entry_of_class(kind: crate::arch::RelocKind, class: DefClass) -> Option<Entry> {
    kind.entry(class.0 & DefClass::BINDS != 0)
        .or_else(|| (is_got_load(kind) && class.0 & DefClass::ABSOLUTE != 0).then_some(Entry::Got))
}

/// What one object needs of the synthetic tables.
struct Needs {
    /// The entries its live atoms' relocations refer to, in relocation
    /// order (with repeats).
    entries: Vec<(Entry, SymId)>,
    /// The personalities of its live compact unwind entries, in order.
    personalities: Vec<SymId>,
    /// Whether it has a live compact unwind entry.
    live_unwind_entry: bool,
}

impl Needs {
    fn of(fi: u32, obj: &ObjectFile, symtab: &SymbolTable, classes: &[DefClass]) -> Needs {
        let live = obj.atoms.iter().filter(|a| a.live);
        let entries = live
            .flat_map(|a| &obj.relocs[a.relocs_start as usize..a.relocs_end as usize])
            .filter(|r| may_need_entry(r.kind))
            .filter_map(|r| {
                let g = symtab.global_of(fi, r.target)?;
                Some((entry_of_class(r.kind, classes[g as usize])?, g))
            })
            .collect();
        let mut personalities = Vec::new();
        let mut live_unwind_entry = false;
        for (e, _, _) in crate::unwind::entries_of(obj, fi, symtab) {
            if obj.atoms[e as usize].live {
                live_unwind_entry = true;
                personalities.extend(crate::unwind::personality(obj, fi, e, symtab));
            }
        }
        Needs {
            entries,
            personalities,
            live_unwind_entry,
        }
    }
}

impl Synthetic {
    /// Scans every relocation for the entries it needs.
    /// `lazy_binder` is dyld_stub_binder for classic lazy binding, None
    /// when stubs jump through GOT slots bound at load (chained fixups).
    pub fn scan(
        arch: &'static dyn Arch,
        objects: &[ObjectFile],
        symtab: &SymbolTable,
        lazy_binder: Option<SymId>,
    ) -> Synthetic {
        let n = symtab.syms.len();
        let mut s = Synthetic {
            arch,
            stubs: Table::new(n),
            got: Table::new(n),
            thread_ptrs: Table::new(n),
            lazy_binder,
            lazy: Table::new(n),
            chained: lazy_binder.is_none(),
            unwind_info: false,
        };
        // Each object's needs are found on its own thread (most references
        // need no entry) and added in input order, so the tables come out
        // in first-use order as from one pass.
        let classes: Vec<DefClass> = symtab
            .syms
            .par_iter()
            .with_min_len(4096)
            .map(|sym| DefClass::of(sym.def))
            .collect();
        let needs: Vec<Needs> = objects
            .par_iter()
            .enumerate()
            .map(|(fi, obj)| Needs::of(fi as u32, obj, symtab, &classes))
            .collect();
        for (entry, g) in needs.iter().flat_map(|n| &n.entries) {
            match entry {
                Entry::Stub => s.stubs.add(*g),
                Entry::Got => s.got.add(*g),
                Entry::ThreadPtr => s.thread_ptrs.add(*g),
            }
        }
        // Personality routines are reached through GOT slots (after every
        // relocation's). Every function gets an `__unwind_info` row, with
        // or without an entry.
        for n in &needs {
            s.unwind_info |= n.live_unwind_entry;
            for &g in &n.personalities {
                s.got.add(g);
            }
        }
        s.unwind_info = s.unwind_info || crate::unwind::code_atoms(objects) > 0;
        if lazy_binder.is_some() {
            for i in 0..s.stubs.entries.len() {
                let sym = s.stubs.entries[i];
                if crate::weak::lazily_bound(symtab.syms[sym as usize].def) {
                    s.lazy.add(sym);
                }
            }
        }
        match lazy_binder {
            // The stub helper calls the binder through the GOT.
            Some(binder) if !s.lazy.entries.is_empty() => s.got.add(binder),
            Some(_) => s.lazy_binder = None,
            // Every stub jumps through a GOT slot of its own symbol.
            None => {
                for i in 0..s.stubs.entries.len() {
                    let sym = s.stubs.entries[i];
                    s.got.add(sym);
                }
            }
        }
        s
    }

    /// The output sections to create (only non-empty ones).
    pub fn sections(&self) -> Vec<OutSection> {
        let mk = |seg: &str, sect: &str, flags: u32, content: Content, reserved2: u32| OutSection {
            segname: seg.into(),
            sectname: sect.into(),
            flags,
            align_log2: match content {
                Content::Stubs => self.arch.stub_align_log2(),
                Content::StubHelper | Content::UnwindInfo => 2,
                _ => 3,
            },
            addr: 0,
            size: 0,
            offset: 0,
            reserved1: 0,
            reserved2,
            content,
        };
        let mut out = Vec::new();
        if !self.stubs.entries.is_empty() {
            out.push(mk(
                "__TEXT",
                "__stubs",
                macho::S_SYMBOL_STUBS
                    | macho::S_ATTR_PURE_INSTRUCTIONS
                    | macho::S_ATTR_SOME_INSTRUCTIONS,
                Content::Stubs,
                self.arch.stub_size() as u32,
            ));
        }
        if self.lazy_binder.is_some() {
            out.push(mk(
                "__TEXT",
                "__stub_helper",
                macho::S_REGULAR
                    | macho::S_ATTR_PURE_INSTRUCTIONS
                    | macho::S_ATTR_SOME_INSTRUCTIONS,
                Content::StubHelper,
                0,
            ));
        }
        if !self.chained && !self.stubs.entries.is_empty() {
            out.push(mk(
                "__DATA",
                "__la_symbol_ptr",
                macho::S_LAZY_SYMBOL_POINTERS,
                Content::LazyPointers,
                0,
            ));
        }
        if self.unwind_info {
            out.push(mk(
                "__TEXT",
                "__unwind_info",
                macho::S_REGULAR,
                Content::UnwindInfo,
                0,
            ));
        }
        if !self.got.entries.is_empty() {
            out.push(mk(
                "__DATA_CONST",
                "__got",
                macho::S_NON_LAZY_SYMBOL_POINTERS,
                Content::Got,
                0,
            ));
        }
        if !self.thread_ptrs.entries.is_empty() {
            out.push(mk(
                "__DATA",
                "__thread_ptrs",
                macho::S_THREAD_LOCAL_VARIABLE_POINTERS,
                Content::ThreadPtrs,
                0,
            ));
        }
        out
    }

    /// Size in bytes of a synthetic section; 0 for `__unwind_info`, which
    /// layout sizes from the function addresses (see
    /// [`crate::unwind::plan`]).
    pub fn size_of(&self, content: &Content) -> u64 {
        match content {
            Content::Stubs => self.stubs.entries.len() as u64 * self.arch.stub_size(),
            Content::Got => self.got.entries.len() as u64 * 8,
            Content::ThreadPtrs => self.thread_ptrs.entries.len() as u64 * 8,
            Content::StubHelper => {
                self.arch.stub_helper_header_size()
                    + self.lazy.entries.len() as u64 * self.arch.stub_helper_entry_size()
            }
            Content::LazyPointers => self.stubs.entries.len() as u64 * 8,
            Content::UnwindInfo => 0,
            Content::Atoms(_) => 0,
        }
    }
}
