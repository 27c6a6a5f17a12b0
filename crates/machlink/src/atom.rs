//! Atoms: the unit of layout. An atom is a contiguous piece of an input
//! section (a function, a data object, a literal) with its relocations;
//! incremental updates replace, grow, move or free atoms one at a time.

/// Marks "no such index" in compact u32 index fields.
pub const NONE: u32 = u32::MAX;

/// A piece of an input section that is placed as a whole.
///
/// 32 bytes: a large link has one for every function, compact unwind
/// entry and literal (some 330,000 for 100k functions), made while
/// parsing and walked by most passes after.
#[derive(Clone, Debug)]
pub struct Atom {
    /// Offset of the atom within its input section.
    pub offset: u32,
    pub size: u32,
    /// Relocations of this atom: `relocs[relocs_start..relocs_end]` of its file.
    pub relocs_start: u32,
    pub relocs_end: u32,
    /// The symbol (nlist index) that starts this atom, or [`NONE`].
    pub symbol: u32,
    /// For a deduplicated literal: the canonical copy (file, atom) it aliases.
    pub alias_of: AliasOf,
    /// Index of the input section (in its object file); an object has at
    /// most [`MAX_SECTIONS`].
    pub section: u16,
    pub align_log2: u8,
    /// False once `-dead_strip` found nothing that reaches it.
    pub live: bool,
}

/// The most sections an object file may have, so that an atom's section
/// index fits its 16 bits (symbols can name only the first 255 anyway).
pub const MAX_SECTIONS: usize = u16::MAX as usize;

/// An `Option<(u32, u32)>` (a file and an atom in it) in 8 bytes instead
/// of 12: the file is [`NONE`] for none. Keeps [`Atom`] at 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AliasOf {
    file: u32,
    atom: u32,
}

impl AliasOf {
    pub const NONE: AliasOf = AliasOf {
        file: NONE,
        atom: NONE,
    };

    #[inline]
    pub fn get(self) -> Option<(u32, u32)> {
        (self.file != NONE).then_some((self.file, self.atom))
    }

    #[inline]
    pub fn is_some(self) -> bool {
        self.file != NONE
    }

    #[inline]
    pub fn is_none(self) -> bool {
        self.file == NONE
    }
}

impl From<Option<(u32, u32)>> for AliasOf {
    #[inline]
    fn from(alias: Option<(u32, u32)>) -> Self {
        match alias {
            // A file index is always less than NONE (a link has fewer files).
            Some((file, atom)) => AliasOf { file, atom },
            None => AliasOf::NONE,
        }
    }
}

/// What a relocation points at, before symbol resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// An external symbol, by nlist index in the same file; resolution maps
    /// it to the global definition that won.
    Symbol(u32),
    /// An atom of the same file (section-relative relocations and
    /// references to local symbols).
    Atom(u32),
}

/// One relocation, decoded once when its object is parsed and made
/// atom-relative; everything after parsing works on this form.
///
/// It refers to the address `S + addend`, S being the target's address
/// (or the GOT slot, stub or thread-pointer slot the kind asks for); the
/// target layer ([`crate::arch::Arch::apply`]) encodes that into the
/// field. A difference of two addresses (a SUBTRACTOR pair) is one
/// `Reloc` with a `subtrahend`, whose value is `S - subtrahend + addend`.
#[derive(Clone, Copy, Debug)]
pub struct Reloc {
    /// Offset of the relocated field within the atom.
    pub offset: u32,
    pub kind: crate::arch::RelocKind,
    /// log2 of the field size in bytes.
    pub length: u8,
    pub target: Target,
    pub addend: i64,
    pub subtrahend: Option<Target>,
}

const _: () = assert!(std::mem::size_of::<Atom>() == 32);
