//! Byte formats of Mach-O that both the inputs and the output use, with
//! no knowledge of the link: LEB128 numbers and the export trie (read
//! from dylibs, written into LINKEDIT).

pub mod trie;
pub mod uleb;
