//! LC_SYMTAB and LC_DYSYMTAB: the symbol table (locals, then defined
//! externals, then undefined imports, as dyld and tools expect), its string
//! table, and the indirect symbol table that names the symbol behind each
//! stub and GOT slot.

use std::borrow::Cow;

/// One symbol to write; names borrow from the inputs where they can.
#[derive(Clone, Debug)]
pub struct Nlist<'a> {
    pub name: Cow<'a, [u8]>,
    pub n_type: u8,
    pub n_sect: u8,
    pub n_desc: u16,
    pub n_value: u64,
}

/// The three groups of LC_DYSYMTAB, in order.
#[derive(Default)]
pub struct SymbolGroups<'a> {
    pub locals: Vec<Nlist<'a>>,
    pub externals: Vec<Nlist<'a>>,
    pub undefined: Vec<Nlist<'a>>,
}

/// Serialised symbol and string tables.
pub struct Written {
    pub symbols: Vec<u8>,
    pub strings: Vec<u8>,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
}

impl SymbolGroups<'_> {
    /// Sorts externals and undefined symbols by name (as ld64 does, so
    /// tools can binary-search them) and serialises everything.
    pub fn write(mut self) -> Written {
        use rayon::slice::ParallelSliceMut;
        // Names are unique within each group, so an unstable sort is exact.
        self.externals
            .par_sort_unstable_by(|a, b| a.name.cmp(&b.name));
        self.undefined
            .par_sort_unstable_by(|a, b| a.name.cmp(&b.name));
        // ld64 starts the string table with " \0" so offset 0 is never a name.
        let total: usize = self
            .locals
            .iter()
            .chain(&self.externals)
            .chain(&self.undefined)
            .map(|n| n.name.len() + 1)
            .sum();
        let mut strings = Vec::with_capacity(total + 16);
        strings.extend_from_slice(b" \0");
        let count = self.locals.len() + self.externals.len() + self.undefined.len();
        let mut symbols = Vec::with_capacity(count * 16);
        for n in self
            .locals
            .iter()
            .chain(&self.externals)
            .chain(&self.undefined)
        {
            let strx = strings.len() as u32;
            strings.extend_from_slice(&n.name);
            strings.push(0);
            symbols.extend_from_slice(&strx.to_le_bytes());
            symbols.push(n.n_type);
            symbols.push(n.n_sect);
            symbols.extend_from_slice(&n.n_desc.to_le_bytes());
            symbols.extend_from_slice(&n.n_value.to_le_bytes());
        }
        super::pad_to(&mut strings, 8);
        Written {
            symbols,
            strings,
            nlocal: self.locals.len() as u32,
            nextdef: self.externals.len() as u32,
            nundef: self.undefined.len() as u32,
        }
    }

    /// Index in the written table of the undefined symbol `name`
    /// (after `write` sorted them); for the indirect symbol table.
    pub fn undefined_index(sorted_undefined: &[&[u8]], base: u32, name: &[u8]) -> Option<u32> {
        sorted_undefined
            .binary_search_by(|n| (*n).cmp(name))
            .ok()
            .map(|i| base + i as u32)
    }
}
