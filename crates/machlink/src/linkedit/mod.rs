//! Writing __LINKEDIT: chained fixups or dyld-info opcodes, the exports
//! trie, symbol tables, function starts, data-in-code and the code signature.
//! (The byte formats they share with the inputs, LEB128 and the export
//! trie, are in [`crate::formats`].)

pub mod chained;
pub mod codesign;
pub mod fixups;
pub mod stabs;
pub mod symtab;
pub mod tables;

/// Pads a LINKEDIT blob with zeros to a multiple of `align` bytes.
pub fn pad_to(blob: &mut Vec<u8>, align: usize) {
    blob.resize(blob.len().div_ceil(align) * align, 0);
}
