//! Atoms: the unit of layout. An atom is a contiguous piece of an input
//! section (a function, a data object, a literal) with its relocations;
//! incremental updates replace, grow, move or free atoms one at a time.

/// Marks "no such index" in compact u32 index fields.
pub const NONE: u32 = u32::MAX;

/// A piece of an input section that is placed as a whole.
#[derive(Clone, Debug)]
pub struct Atom {
    /// Index of the input section (in its object file).
    pub section: u32,
    /// Offset of the atom within its input section.
    pub offset: u32,
    pub size: u32,
    pub align_log2: u8,
    /// Relocations of this atom: `relocs[relocs_start..relocs_end]` of its file.
    pub relocs_start: u32,
    pub relocs_end: u32,
    /// The symbol (nlist index) that starts this atom, or [`NONE`].
    pub symbol: u32,
    /// For a deduplicated literal: the canonical copy (file, atom) it aliases.
    pub alias_of: Option<(u32, u32)>,
    /// False once `-dead_strip` found nothing that reaches it.
    pub live: bool,
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
