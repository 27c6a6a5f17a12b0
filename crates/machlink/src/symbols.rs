//! The global symbol table and resolution: strong, weak and tentative
//! (common) definitions, private externs, weak imports, archive members
//! pulled on demand, dylib exports, and the lld-style reporting of
//! undefined and duplicate symbols.

use crate::atom::{Target, NONE};
use crate::input::object::{ObjSymbol, ObjectFile};
use shards::{Key, Names};

mod shards;

pub type SymId = u32;

/// Where a global symbol's winning definition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Def {
    Undefined,
    /// In an atom of an object file (commons become such atoms too).
    Defined {
        file: u32,
        atom: u32,
        /// Offset of the symbol within its atom.
        offset: u32,
        weak: bool,
        private_extern: bool,
        /// `-flat_namespace` dylibs and bundles: references from inside
        /// the image go through dyld's flat lookup, so that another
        /// image's definition can interpose (see [`crate::interpose`]).
        interposable: bool,
    },
    /// A tentative definition, before commons are allocated.
    Common {
        file: u32,
        sym: u32,
        size: u64,
        align_log2: u8,
    },
    Absolute {
        value: u64,
    },
    /// Exported by a dylib: `dylib` indexes the link's dylib list, or is
    /// [`BUNDLE_LOADER`].
    Dylib {
        dylib: u32,
        weak: bool,
        thread_local: bool,
    },
    /// Left for dyld to find at run time (`-undefined dynamic_lookup`, `-U`).
    DynamicLookup,
    /// Defined by the linker itself (`__mh_execute_header`, `___dso_handle`).
    Header,
    /// A section or segment boundary (`section$start$SEG$SECT` and
    /// friends, see [`crate::linker_symbols`]): its address is known once
    /// the image is laid out.
    Boundary,
    /// A DTrace probe or is-enabled symbol (see [`crate::dtrace`]): it has
    /// no address; every call to it is rewritten in place.
    Dtrace,
    /// Defined in an unchanged part of an incrementally updated image, at a
    /// recorded address: `addr` is the canonical (stable) address, `body`
    /// where the code lives now (different once a function has moved).
    Placed {
        addr: u64,
        body: u64,
        /// An exported weak definition dyld coalesces across images:
        /// references go through the image's slots, as to the definer's
        /// own copy (see [`crate::weak`]).
        coalesced: bool,
    },
}

/// The `dylib` of a symbol exported by `-bundle_loader`'s executable: it
/// has no load command, and binds by the main-executable ordinal.
pub const BUNDLE_LOADER: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Symbol<'a> {
    pub name: &'a [u8],
    pub def: Def,
    /// Every reference is weak (`N_WEAK_REF`): a missing definition is null.
    pub weak_ref: bool,
    /// Some object references it (not just defines it).
    pub referenced: bool,
    /// Its weak definitions are all `.weak_def_can_be_hidden`
    /// (`N_WEAK_DEF | N_WEAK_REF`): hidden like a private extern, unless
    /// an export list names it.
    pub weak_def_can_be_hidden: bool,
    /// A strong definition in an object overrides a dylib's weak one: dyld
    /// must see it when it coalesces (see [`crate::weak`]).
    pub overrides_weak_def: bool,
}

impl<'a> Symbol<'a> {
    /// A name first seen: undefined, and weakly referenced until some
    /// reference is strong.
    fn new(name: &'a [u8]) -> Self {
        Symbol {
            name,
            def: Def::Undefined,
            weak_ref: true,
            referenced: false,
            weak_def_can_be_hidden: false,
            overrides_weak_def: false,
        }
    }

    /// Takes in one more nlist entry of its name. Returns the file of the
    /// first definition when `found` is a second strong one (a duplicate).
    fn record(&mut self, found: Found) -> Option<u32> {
        match found {
            Found::Reference { weak } => {
                self.referenced = true;
                self.weak_ref &= weak;
                None
            }
            Found::Ignored => None,
            Found::Definition { def, can_be_hidden } => self.merge(def, can_be_hidden),
        }
    }

    /// Applies the precedence rules: strong definition > weak definition >
    /// common (largest wins) > dylib export > undefined. Two strong
    /// definitions are a duplicate-symbol error, reported later with all
    /// others: returns the first one's file.
    fn merge(&mut self, new: Def, can_be_hidden: bool) -> Option<u32> {
        let cur = self.def;
        if let (
            Def::Defined {
                weak: true,
                private_extern: hidden,
                ..
            },
            Def::Defined {
                weak: true,
                private_extern: new_hidden,
                ..
            },
        ) = (cur, new)
        {
            // Weak definitions of one name coalesce: the first one's body,
            // exported if any of them is (lld merges the visibility).
            if let Def::Defined { private_extern, .. } = &mut self.def {
                *private_extern = hidden && new_hidden;
            }
            self.weak_def_can_be_hidden &= can_be_hidden;
            return None;
        }
        let mut duplicate = None;
        let replace = match (cur, new) {
            (Def::Undefined | Def::Dylib { .. } | Def::DynamicLookup, _) => true,
            (
                Def::Defined {
                    weak: false, file, ..
                },
                Def::Defined { weak: false, .. },
            ) => {
                duplicate = Some(file);
                false
            }
            (Def::Defined { weak: true, .. }, Def::Defined { weak: false, .. }) => true,
            (Def::Common { .. }, Def::Defined { .. } | Def::Absolute { .. }) => true,
            (Def::Common { size, .. }, Def::Common { size: bigger, .. }) => bigger > size,
            _ => false,
        };
        if replace {
            self.def = new;
            self.weak_def_can_be_hidden = can_be_hidden;
        }
        duplicate
    }
}

/// What one external nlist entry of an object says about its name.
#[derive(Clone, Copy)]
enum Found {
    /// An undefined entry: the object references the name.
    Reference { weak: bool },
    /// Defined in a section the link does not keep (debug info).
    Ignored,
    /// A definition that competes with the others of its name.
    Definition { def: Def, can_be_hidden: bool },
}

impl Found {
    /// Entry `i` (`s`) of object `obj`, the link's file `file_idx`.
    #[inline]
    fn of(file_idx: u32, obj: &ObjectFile, s: &ObjSymbol, i: u32) -> Found {
        let def = if s.is_defined_in_section() {
            if s.atom == NONE {
                return Found::Ignored;
            }
            let a = &obj.atoms[s.atom as usize];
            let sec = &obj.sections[a.section as usize];
            // A weak definition that can be hidden is kept out of the
            // exports like a private extern (as lld does), unless an
            // export list names it.
            let can_be_hidden = s.is_weak_def() && s.is_weak_ref();
            Def::Defined {
                file: file_idx,
                atom: s.atom,
                offset: (s.n_value - sec.addr - u64::from(a.offset)) as u32,
                weak: s.is_weak_def(),
                private_extern: s.is_private_extern() || can_be_hidden,
                interposable: false,
            }
        } else if s.is_common() {
            Def::Common {
                file: file_idx,
                sym: i,
                size: s.n_value,
                align_log2: common_align_log2(s.n_desc, s.n_value),
            }
        } else if s.kind() == object::macho::N_ABS {
            Def::Absolute { value: s.n_value }
        } else {
            return Found::Reference {
                weak: s.is_weak_ref(),
            };
        };
        let can_be_hidden = s.is_weak_def() && s.is_weak_ref() && !s.is_private_extern();
        Found::Definition { def, can_be_hidden }
    }
}

/// All global symbols of a link.
#[derive(Default)]
pub struct SymbolTable<'a> {
    /// Name → symbol, split by hash into shards (see [`Names`]).
    names: Names,
    pub syms: Vec<Symbol<'a>>,
    /// For each object file, its nlist index → global symbol (or NONE).
    pub file_globals: Vec<Vec<SymId>>,
    /// Duplicate strong definitions: (symbol, file that defined it first,
    /// file that defined it again).
    pub duplicates: Vec<(SymId, u32, u32)>,
}

impl<'a> SymbolTable<'a> {
    /// The table of the command line's objects, as if each had gone
    /// through [`add_object`](Self::add_object) in order, built in
    /// parallel: see [`crate::symbols::shards`].
    pub fn from_objects(objects: &[ObjectFile<'a>]) -> Self {
        shards::resolve_objects(objects)
    }

    pub fn intern(&mut self, name: &'a [u8]) -> SymId {
        // One hash and one probe, whether the name is new or not.
        self.names.intern(Key::new(name), &mut self.syms)
    }

    /// The table of one object's symbols, sized for them at once (an
    /// incremental update resolves each object it replays on its own).
    pub fn of_object(obj: &ObjectFile<'a>) -> Self {
        let externals = obj.symbols.iter().filter(|s| s.is_external()).count();
        let mut table = SymbolTable::default();
        table.syms.reserve(externals);
        table.names.reserve(externals, &table.syms);
        table.add_object(0, obj);
        table
    }

    /// The table [`of_object`](Self::of_object) made of an object with the
    /// same external symbols, given the ids it gave them (its
    /// `file_globals[0]`): built without interning a name, so nothing may
    /// look names up in it. None if `ids` do not fit the object.
    pub fn of_object_as(obj: &ObjectFile<'a>, ids: &[SymId]) -> Option<Self> {
        if ids.len() != obj.symbols.len() {
            return None;
        }
        let mut table = SymbolTable::default();
        for (i, (s, &id)) in obj.symbols.iter().zip(ids).enumerate() {
            if (id == NONE) == s.is_external() {
                return None;
            }
            if id == NONE {
                continue;
            }
            match (id as usize).cmp(&table.syms.len()) {
                std::cmp::Ordering::Equal => table.syms.push(Symbol::new(s.name)),
                std::cmp::Ordering::Less if table.syms[id as usize].name == s.name => {}
                _ => return None,
            }
            let found = Found::of(0, obj, s, i as u32);
            if let Some(first) = table.syms[id as usize].record(found) {
                table.duplicates.push((id, first, 0));
            }
        }
        table.file_globals = vec![ids.to_vec()];
        Some(table)
    }

    pub fn get(&self, name: &[u8]) -> Option<SymId> {
        self.names.get(Key::new(name), &self.syms)
    }

    /// Adds the global symbols of object file `file_idx`.
    pub fn add_object(&mut self, file_idx: u32, obj: &ObjectFile<'a>) {
        let mut globals = vec![NONE; obj.symbols.len()];
        for (i, s) in obj.symbols.iter().enumerate() {
            if !s.is_external() {
                continue;
            }
            let id = self.intern(s.name);
            globals[i] = id;
            let found = Found::of(file_idx, obj, s, i as u32);
            if let Some(first) = self.syms[id as usize].record(found) {
                self.duplicates.push((id, first, file_idx));
            }
        }
        if self.file_globals.len() <= file_idx as usize {
            self.file_globals.resize(file_idx as usize + 1, Vec::new());
        }
        self.file_globals[file_idx as usize] = globals;
    }

    /// Symbols still undefined, in id order.
    pub fn undefined(&self) -> impl Iterator<Item = SymId> + '_ {
        self.syms
            .iter()
            .enumerate()
            .filter(|(_, s)| s.def == Def::Undefined)
            .map(|(i, _)| i as SymId)
    }

    /// The global a relocation target of `file` resolves to, if any.
    pub fn global_of(&self, file: u32, target: Target) -> Option<SymId> {
        match target {
            Target::Symbol(i) => self
                .file_globals
                .get(file as usize)
                .and_then(|g| g.get(i as usize))
                .copied()
                .filter(|&id| id != NONE),
            Target::Atom(_) => None,
        }
    }
}

/// A common symbol's alignment: `n_desc` bits 8-11 (GET_COMM_ALIGN), or,
/// when they say 0 (arm64 compilers leave them so for arrays), the
/// natural alignment of its size up to a 4 KiB page, as ld64.lld lays
/// such commons out (a 64-byte buffer 64-aligned).
pub fn common_align_log2(n_desc: u16, size: u64) -> u8 {
    match ((n_desc >> 8) & 0x0f) as u8 {
        0 if size > 1 => (63 - size.leading_zeros()).min(12) as u8,
        align => align,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn commons_without_an_alignment_are_naturally_aligned() {
        use super::common_align_log2;
        assert_eq!(common_align_log2(0x0300, 64), 3, "stated");
        assert_eq!(common_align_log2(0, 64), 6);
        assert_eq!(common_align_log2(0, 12), 3);
        assert_eq!(common_align_log2(0, 1), 0);
        assert_eq!(common_align_log2(0, 1 << 20), 12);
    }
}
