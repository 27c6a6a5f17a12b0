//! Writing __LINKEDIT: chained fixups or dyld-info opcodes, the exports
//! trie, symbol tables, function starts, data-in-code and the code signature.
