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

/// Entries in a row, written as a unit: a slice, or a slice in a given
/// order (sorted groups are written through their order, never permuted).
#[derive(Clone, Copy)]
pub enum Run<'r, 'a> {
    Slice(&'r [Nlist<'a>]),
    Ordered(&'r [Nlist<'a>], &'r [u32]),
}

impl<'r, 'a> Run<'r, 'a> {
    fn len(&self) -> usize {
        match self {
            Run::Slice(s) => s.len(),
            Run::Ordered(_, order) => order.len(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&'r Nlist<'a>)) {
        match *self {
            Run::Slice(s) => s.iter().for_each(f),
            Run::Ordered(s, order) => order.iter().for_each(|&i| f(&s[i as usize])),
        }
    }

    /// Runs of at most `max` entries (so that big groups are written in
    /// parallel too).
    fn split(self, max: usize) -> impl Iterator<Item = Run<'r, 'a>> {
        let n = self.len();
        (0..n).step_by(max.max(1)).map(move |lo| {
            let hi = (lo + max).min(n);
            match self {
                Run::Slice(s) => Run::Slice(&s[lo..hi]),
                Run::Ordered(s, order) => Run::Ordered(s, &order[lo..hi]),
            }
        })
    }
}

/// The symbol table sorted and sized before any byte of it is written:
/// the locals as runs (see [`crate::linkedit::tables::SymbolRuns`]), the
/// externals and imports with the orders that sort them by name, and where
/// each run's strings start. Sizing first lets the tables be written
/// straight into the output, every run in parallel, with no table built
/// and then copied.
pub struct SortedGroups<'a> {
    pub locals: Vec<Vec<Nlist<'a>>>,
    pub externals: Vec<Nlist<'a>>,
    /// `externals` in name order (indices).
    pub ext_order: Vec<u32>,
    pub undefined: Vec<Nlist<'a>>,
    pub undef_order: Vec<u32>,
    /// Offset in the string table of each run's first name (runs as
    /// [`Self::runs`] lists them).
    string_starts: Vec<u32>,
    /// Bytes of the string table (with its leading " \0" and the padding
    /// to 8 bytes).
    pub strings_size: usize,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
}

/// Entries per run when groups are split for parallel writing.
const RUN_ENTRIES: usize = 8192;

impl<'a> SortedGroups<'a> {
    /// Sorts externals and undefined symbols by name (as ld64 does, so
    /// tools can binary-search them) and sizes both tables.
    pub fn new(
        locals: Vec<Vec<Nlist<'a>>>,
        externals: Vec<Nlist<'a>>,
        undefined: Vec<Nlist<'a>>,
    ) -> Self {
        use rayon::prelude::*;
        let (ext_order, undef_order) =
            rayon::join(|| name_order(&externals), || name_order(&undefined));
        let nlocal = locals.iter().map(Vec::len).sum::<usize>() as u32;
        let mut g = SortedGroups {
            locals,
            nextdef: externals.len() as u32,
            nundef: undefined.len() as u32,
            externals,
            ext_order,
            undefined,
            undef_order,
            string_starts: Vec::new(),
            strings_size: 0,
            nlocal,
        };
        let sizes: Vec<usize> = g
            .runs()
            .par_iter()
            .map(|r| {
                let mut size = 0;
                r.for_each(|n| size += n.name.len() + 1);
                size
            })
            .collect();
        // ld64 starts the string table with " \0" so offset 0 is never a name.
        let mut offset = 2usize;
        g.string_starts = sizes
            .iter()
            .map(|s| {
                let start = u32::try_from(offset).expect("string table over 4 GiB");
                offset += s;
                start
            })
            .collect();
        g.strings_size = offset.next_multiple_of(8);
        g
    }

    /// Every entry, as runs in table order.
    fn runs(&self) -> Vec<Run<'_, 'a>> {
        let mut runs: Vec<Run> = self
            .locals
            .iter()
            .flat_map(|r| Run::Slice(r).split(RUN_ENTRIES))
            .collect();
        runs.extend(Run::Ordered(&self.externals, &self.ext_order).split(RUN_ENTRIES));
        runs.extend(Run::Ordered(&self.undefined, &self.undef_order).split(RUN_ENTRIES));
        runs
    }

    /// Bytes of the symbol table (16 per entry).
    pub fn symbols_size(&self) -> usize {
        (self.nlocal + self.nextdef + self.nundef) as usize * 16
    }

    /// The externals' names in table order.
    pub fn external_names(&self) -> Vec<&[u8]> {
        self.ext_order
            .iter()
            .map(|&i| &self.externals[i as usize].name[..])
            .collect()
    }

    /// Writes both tables, every run in parallel: `symbols` and `strings`
    /// are exactly [`Self::symbols_size`] and [`Self::strings_size`] bytes
    /// of zeros (the NULs and the padding are left as they are).
    pub fn write_into(&self, symbols: &mut [u8], strings: &mut [u8]) {
        use rayon::prelude::*;
        assert_eq!(symbols.len(), self.symbols_size());
        assert_eq!(strings.len(), self.strings_size);
        strings[..2].copy_from_slice(b" \0");
        let runs = self.runs();
        // Each run's disjoint parts of both tables.
        let mut parts = Vec::with_capacity(runs.len());
        let (mut syms, mut strs) = (symbols, &mut strings[2..]);
        for (k, run) in runs.iter().enumerate() {
            let len = self
                .string_starts
                .get(k + 1)
                .map_or(strs.len(), |&e| (e - self.string_starts[k]) as usize);
            let (s, rest) = std::mem::take(&mut syms).split_at_mut(run.len() * 16);
            let (t, rest_t) = std::mem::take(&mut strs).split_at_mut(len);
            syms = rest;
            strs = rest_t;
            parts.push((run, self.string_starts[k], s, t));
        }
        parts.into_par_iter().for_each(|(run, start, syms, strs)| {
            write_run(run, start, syms, strs);
        });
    }

    /// Both tables as vectors (for an incremental update, which writes
    /// them into reserved room).
    pub fn write(&self) -> Written {
        let mut symbols = vec![0; self.symbols_size()];
        let mut strings = vec![0; self.strings_size];
        self.write_into(&mut symbols, &mut strings);
        Written {
            symbols,
            strings,
            nlocal: self.nlocal,
            nextdef: self.nextdef,
            nundef: self.nundef,
        }
    }
}

/// One run's entries as whole 16-byte `nlist_64` records, its names from
/// string-table offset `start` on.
fn write_run(run: &Run, start: u32, symbols: &mut [u8], strings: &mut [u8]) {
    let mut records = symbols.chunks_exact_mut(16);
    let mut at = 0usize;
    run.for_each(|n| {
        let record = records.next().expect("sized by TableLayout");
        let strx = start + at as u32;
        let mut r = [0u8; 16];
        r[..4].copy_from_slice(&strx.to_le_bytes());
        r[4] = n.n_type;
        r[5] = n.n_sect;
        r[6..8].copy_from_slice(&n.n_desc.to_le_bytes());
        r[8..].copy_from_slice(&n.n_value.to_le_bytes());
        record.copy_from_slice(&r);
        strings[at..at + n.name.len()].copy_from_slice(&n.name);
        at += n.name.len() + 1; // the NUL is already there
    });
}

/// The order that sorts `list` by name.
pub fn name_order(list: &[Nlist]) -> Vec<u32> {
    let names: Vec<&[u8]> = list.iter().map(|n| &n.name[..]).collect();
    crate::formats::trie::sorted_order(&names)
}

impl SymbolGroups<'_> {
    /// Sorts externals and undefined symbols by name and serialises
    /// everything (see [`SortedGroups`]).
    pub fn write(self) -> Written {
        SortedGroups::new(vec![self.locals], self.externals, self.undefined).write()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nlist(name: String, n_value: u64) -> Nlist<'static> {
        Nlist {
            name: name.into_bytes().into(),
            n_type: (n_value % 251) as u8,
            n_sect: (n_value % 7) as u8,
            n_desc: (n_value % 65521) as u16,
            n_value,
        }
    }

    /// The tables as the format defines them, written one entry at a time.
    fn reference(locals: &[Nlist], externals: &[Nlist], undefined: &[Nlist]) -> Written {
        let mut ext = externals.to_vec();
        ext.sort_by(|a, b| a.name.cmp(&b.name));
        let mut undef = undefined.to_vec();
        undef.sort_by(|a, b| a.name.cmp(&b.name));
        let mut strings = b" \0".to_vec();
        let mut symbols = Vec::new();
        for n in locals.iter().chain(&ext).chain(&undef) {
            symbols.extend_from_slice(&(strings.len() as u32).to_le_bytes());
            symbols.extend_from_slice(&[n.n_type, n.n_sect]);
            symbols.extend_from_slice(&n.n_desc.to_le_bytes());
            symbols.extend_from_slice(&n.n_value.to_le_bytes());
            strings.extend_from_slice(&n.name);
            strings.push(0);
        }
        crate::linkedit::pad_to(&mut strings, 8);
        Written {
            symbols,
            strings,
            nlocal: locals.len() as u32,
            nextdef: ext.len() as u32,
            nundef: undef.len() as u32,
        }
    }

    /// Runs of several sizes (empty, one entry, more than a parallel run),
    /// names unsorted and of lengths across the 16-byte sort keys: the
    /// parallel writer gives the same bytes as one entry at a time.
    #[test]
    fn runs_written_in_parallel_match_one_at_a_time() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut name = |prefix: &str| {
            let len = (next() % 40) as usize;
            let tail: String = (0..len)
                .map(|_| (b'a' + (next() % 3) as u8) as char)
                .collect();
            format!("{prefix}{tail}{}", next() % 1000)
        };
        let locals: Vec<Vec<Nlist>> = [0usize, 1, 20_000, 5]
            .iter()
            .enumerate()
            .map(|(r, &n)| {
                (0..n)
                    .map(|i| nlist(name("_l"), (r * 100_000 + i) as u64))
                    .collect()
            })
            .collect();
        let mut externals: Vec<Nlist> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while externals.len() < 30_000 {
            let n = name("_x");
            if seen.insert(n.clone()) {
                externals.push(nlist(n, externals.len() as u64));
            }
        }
        let undefined: Vec<Nlist> = (0..300).map(|i| nlist(format!("_u{i}"), 0)).collect();
        let flat: Vec<Nlist> = locals.concat();
        let want = reference(&flat, &externals, &undefined);
        let got = SortedGroups::new(locals, externals.clone(), undefined.clone()).write();
        assert_eq!(
            (got.nlocal, got.nextdef, got.nundef),
            (want.nlocal, want.nextdef, want.nundef)
        );
        assert!(got.symbols == want.symbols, "symbol tables differ");
        assert!(got.strings == want.strings, "string tables differ");
        // Already sorted externals take the sort's shortcut: same bytes.
        let mut sorted = externals;
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let again = SortedGroups::new(vec![flat], sorted, undefined).write();
        assert!(again.symbols == want.symbols && again.strings == want.strings);
    }
}
