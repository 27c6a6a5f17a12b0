//! The Mach-O export trie (`LC_DYLD_EXPORTS_TRIE`, or `export_off` of
//! `LC_DYLD_INFO_ONLY`): the table dyld searches to resolve a name to an
//! exported symbol of an image.
//!
//! # Format
//!
//! A stream of nodes; the root is the node at offset 0. Each node is
//!
//! ```text
//! uleb128  terminal_size      0 when no symbol ends at this node
//! [terminal_size bytes]       symbol info, when terminal_size != 0:
//!     uleb128 flags           EXPORT_SYMBOL_FLAGS_*
//!     REEXPORT:               uleb128 dylib ordinal, then the name in that
//!                             dylib as a C string ("" = the same name)
//!     STUB_AND_RESOLVER:      uleb128 stub offset, uleb128 resolver offset
//!     otherwise:              uleb128 address (offset from the mach header)
//! u8       child_count
//! child_count times:
//!     C string                edge label: the next bytes of the name
//!     uleb128                 offset of the child node from the trie start
//! ```
//!
//! A name is found by starting at the root and following, at each node, the
//! edge whose label is a prefix of the rest of the name; the symbol is the
//! terminal info of the node reached when the whole name is consumed.
//!
//! # Layout produced by [`build`]
//!
//! The trie is the compressed (radix) trie of the names: an edge carries the
//! whole common prefix of the names under it, so every node except the root
//! either ends a name or has at least two children, and sibling labels start
//! with different bytes. The root is always a node of its own, even when all
//! names share a prefix (`_`), exactly as in ld64 and lld.
//!
//! Order, chosen to follow **lld** (`lld/MachO/ExportTrie.cpp`): nodes are
//! written in depth-first pre-order (a node, then each child's whole subtree
//! in edge order), the order in which lld creates them. lld's *edge* order,
//! though, falls out of its three-way radix quicksort (middle element as
//! pivot; smaller, then larger, then equal characters) run over its symbol
//! table's order, so it depends on input order and is not sorted in
//! general. Ours is canonical: edges in ascending unsigned byte order of
//! their labels. The output is therefore a function of the set of exports
//! alone. It equals lld's byte for byte whenever lld's edges happen to come
//! out sorted (see `same_bytes_as_lld_when_its_edges_are_sorted`);
//! otherwise it has the same nodes with siblings permuted, so the same size
//! give or take offsets' ULEB lengths. (For `_main` and
//! `__mh_execute_header`, lld sees `_main` first and writes the `main` edge
//! first.) Apple's ld64 orders nodes differently again: it sorts the exports
//! by address and appends each node when the first export whose path
//! passes through it is reached.
//!
//! Child offsets are ULEB128, so a node's size depends on the offsets of its
//! children; offsets are recomputed over the pre-order until no ULEB length
//! changes (see [`node_offsets`]). The result is zero-padded to a multiple of 8
//! bytes, as lld and ld64 pad it.
//!
//! # Cost
//!
//! [`build`] sorts the names 16 bytes at a time (each name's next 16
//! bytes as one integer key, names that tie refined by the next 16; names
//! already sorted, as the linker passes them, are only checked), which
//! yields the longest common prefix of sorted neighbours on the way. The
//! whole trie follows from those lengths alone, in one pass over the names
//! from the last to the first with a stack of the nodes on the current
//! path (see [`shape`]), which completes the nodes in the reverse of the
//! layout order; nodes and edges are two vectors of plain indices, with
//! nothing allocated per node, and labels are ranges of the names. Offsets
//! take a few rounds that each read only the nodes before the last ULEB
//! length step an offset can reach, then one pass (see [`node_offsets`]);
//! the bytes are written straight from the exports, in parallel parts.
//! For 100k names like `_f_12_345`, passed in order as the linker does,
//! some 400 instructions a name, counted by callgrind (the
//! `hundred_thousand_exports` test prints the time).

use super::uleb::{read_uleb, uleb_len};
use std::ops::Range;

/// Mask of the symbol kind in the flags.
pub const EXPORT_SYMBOL_FLAGS_KIND_MASK: u64 = 0x03;
pub const EXPORT_SYMBOL_FLAGS_KIND_REGULAR: u64 = 0x00;
pub const EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL: u64 = 0x01;
pub const EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE: u64 = 0x02;
pub const EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION: u64 = 0x04;
/// The symbol lives in another dylib; `address` holds that dylib's ordinal.
pub const EXPORT_SYMBOL_FLAGS_REEXPORT: u64 = 0x08;
/// `address` is a stub, `resolver` the function that returns the real one.
pub const EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER: u64 = 0x10;

/// One exported symbol, as [`build`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export<'a> {
    /// Mach-O symbol name, e.g. `b"_main"`. Must not contain a NUL byte.
    pub name: &'a [u8],
    /// `EXPORT_SYMBOL_FLAGS_*`.
    pub flags: u64,
    /// Offset from the image's mach header; for `REEXPORT`, the dylib
    /// ordinal; for `STUB_AND_RESOLVER`, the stub's offset.
    pub address: u64,
    /// Only with `REEXPORT`: the name in the other library; `None` (or an
    /// empty name) means the same name.
    pub reexport_name: Option<&'a [u8]>,
    /// Only with `STUB_AND_RESOLVER`: the resolver's offset.
    pub resolver: u64,
}

impl<'a> Export<'a> {
    /// A regular (non-weak, non-thread-local) symbol at `address`.
    pub fn regular(name: &'a [u8], address: u64) -> Self {
        Export {
            name,
            flags: EXPORT_SYMBOL_FLAGS_KIND_REGULAR,
            address,
            reexport_name: None,
            resolver: 0,
        }
    }
}

/// One exported symbol, as [`parse`] and [`lookup`] return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedExport {
    pub name: Vec<u8>,
    pub flags: u64,
    pub address: u64,
    /// `None` when absent or empty (re-exported under the same name).
    pub reexport_name: Option<Vec<u8>>,
    pub resolver: u64,
}

impl OwnedExport {
    /// Borrows this as an [`Export`], e.g. to feed a parsed trie back to
    /// [`build`].
    pub fn as_export(&self) -> Export<'_> {
        Export {
            name: &self.name,
            flags: self.flags,
            address: self.address,
            reexport_name: self.reexport_name.as_deref(),
            resolver: self.resolver,
        }
    }
}

/// Byte size of the symbol info of `e` (the value of `terminal_size`).
#[inline]
fn terminal_info_size(e: &Export<'_>) -> usize {
    let mut size = uleb_len(e.flags);
    if e.flags & EXPORT_SYMBOL_FLAGS_REEXPORT != 0 {
        size += uleb_len(e.address) + e.reexport_name.map_or(0, <[u8]>::len) + 1;
    } else {
        size += uleb_len(e.address);
        if e.flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER != 0 {
            size += uleb_len(e.resolver);
        }
    }
    size
}

const NONE: u32 = u32::MAX;

/// Runs of names at least this long are sorted in parallel.
const PARALLEL_RUN: usize = 16384;

/// The 16 bytes of `name` at `offset`, zero-padded, as a big-endian integer.
/// Among names that agree before `offset` (and hold no NUL), a smaller key
/// means a smaller name; equal keys need the following bytes.
#[inline]
fn chunk_key(name: &[u8], offset: usize) -> u128 {
    let rest = name.get(offset..).unwrap_or_default();
    if let Some(chunk) = rest.first_chunk::<16>() {
        return u128::from_be_bytes(*chunk);
    }
    // Shorter: from two overlapping 8-byte loads shifted into place (or
    // byte by byte, under 8), rather than a copy into a zeroed buffer.
    let len = rest.len();
    let word = |at: usize| u64::from_be_bytes(rest[at..at + 8].try_into().unwrap_or_default());
    if len >= 8 {
        let high = word(0);
        // Bytes len - 8 .. len; the first 16 - len of them are high's.
        let low = (u128::from(word(len - 8)) << (8 * (16 - len))) as u64;
        return (u128::from(high) << 64) | u128::from(low);
    }
    let mut high = 0u64;
    for (i, &byte) in rest.iter().enumerate() {
        high |= u64::from(byte) << (56 - 8 * i);
    }
    u128::from(high) << 64
}

/// A name being sorted: its index, its length and the chunk of it that is
/// the current sort key.
#[derive(Clone, Copy, Default)]
struct SortItem {
    key: u128,
    idx: u32,
    len: u32,
}

/// Names sorted in ascending byte order, as parallel arrays over sorted
/// positions.
struct SortedNames {
    /// Index into the input of each position.
    idx: Vec<u32>,
    /// Length of each name.
    len: Vec<u32>,
    /// Longest common prefix of each name with the previous one; `lcp[0]`
    /// is 0.
    lcp: Vec<u32>,
}

/// Sorts `names`: a most-significant-first sort over 16-byte chunks, each
/// chunk one integer key (long runs radix-sorted by its bytes), runs
/// that tie on a chunk refined by the next one. The common prefix of neighbours falls out of
/// the keys where they first differ, so name bytes are read once, chunk by
/// chunk, and only as far as needed to tell the names apart. Long lists
/// are first split by their leading bytes (see [`split_by_leading_bytes`])
/// and the parts sorted on all threads.
fn sort_names(names: &[&[u8]]) -> SortedNames {
    let parallel = names.len() >= PARALLEL_RUN && rayon::current_num_threads() > 1;
    sort_names_with(names, parallel)
}

/// [`sort_names`], its parts sorted side by side when `parallel`.
fn sort_names_with(names: &[&[u8]], parallel: bool) -> SortedNames {
    use rayon::prelude::*;
    let n = names.len();
    if let Some(sorted) = already_sorted(names) {
        return sorted;
    }
    let item = |(i, name): (usize, &&[u8])| SortItem {
        key: chunk_key(name, 0),
        idx: i as u32,
        len: u32::try_from(name.len()).expect("symbol name over 4 GiB"),
    };
    let mut items: Vec<SortItem> = if parallel {
        names
            .par_iter()
            .enumerate()
            .with_min_len(4096)
            .map(item)
            .collect()
    } else {
        names.iter().enumerate().map(item).collect()
    };
    let mut lcp = vec![0u32; n];
    if parallel {
        let parts = split_by_leading_bytes(&mut items);
        // Disjoint pieces of the items and of their common prefixes, one
        // per part, in order.
        let mut pieces = Vec::with_capacity(parts.len());
        let (mut rest_items, mut rest_lcp) = (&mut items[..], &mut lcp[..]);
        for part in &parts {
            let (a, b) = std::mem::take(&mut rest_items).split_at_mut(part.len());
            let (c, d) = std::mem::take(&mut rest_lcp).split_at_mut(part.len());
            pieces.push((a, c));
            (rest_items, rest_lcp) = (b, d);
        }
        pieces
            .into_par_iter()
            .for_each(|(run, lcp)| refine(names, run, lcp, &mut Vec::new()));
        // Each part's first name against the last of the part before.
        for part in parts.iter().skip(1) {
            let (a, b) = (items[part.start - 1].idx, items[part.start].idx);
            lcp[part.start] = common_prefix(names[a as usize], names[b as usize]) as u32;
        }
    } else {
        refine(names, &mut items, &mut lcp, &mut Vec::new());
    }
    SortedNames {
        idx: items.iter().map(|item| item.idx).collect(),
        len: items.iter().map(|item| item.len).collect(),
        lcp,
    }
}

/// Splits `items` (keyed by their names' first chunk) into runs in
/// ascending order, for threads to sort apart: a counting sort by the most
/// significant byte where their keys differ, and the same within a run
/// that holds three quarters of the items or more. Returns the runs,
/// which cover `items` in order.
fn split_by_leading_bytes(items: &mut [SortItem]) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    split_into(items, 0, &mut parts, &mut Vec::new());
    parts
}

/// The bits set in some key of `run` and clear in another.
fn differing_bits(run: &[SortItem]) -> u128 {
    let (mut any, mut all) = (0u128, !0u128);
    for item in run {
        any |= item.key;
        all &= item.key;
    }
    any ^ all
}

/// Appends the runs of `run` (at `from` in the whole list) to `parts`, in
/// order; see [`split_by_leading_bytes`].
fn split_into(
    run: &mut [SortItem],
    from: usize,
    parts: &mut Vec<Range<usize>>,
    scratch: &mut Vec<SortItem>,
) {
    let n = run.len();
    let differ = differing_bits(run);
    if differ == 0 {
        // The first chunks all tie: one run.
        parts.push(from..from + n);
        return;
    }
    // Every more significant byte is the same in all keys.
    let at = ((127 - differ.leading_zeros()) / 8) as usize;
    let byte = |item: &SortItem| usize::from(item.key.to_le_bytes()[at & 15]);
    let mut starts = [0usize; 257];
    for item in run.iter() {
        starts[byte(item) + 1] += 1;
    }
    for b in 0..256 {
        starts[b + 1] += starts[b];
    }
    scratch.clear();
    scratch.resize(n, SortItem::default());
    let mut next = starts;
    for item in run.iter() {
        let slot = &mut next[byte(item)];
        scratch[*slot] = *item;
        *slot += 1;
    }
    run.copy_from_slice(scratch);
    for b in 0..256 {
        let r = starts[b]..starts[b + 1];
        if r.is_empty() {
            continue;
        }
        if r.len() * 4 > n * 3 && r.len() >= PARALLEL_RUN {
            // Most items in one run: split it too (the next byte down).
            split_into(&mut run[r.clone()], from + r.start, parts, scratch);
        } else {
            parts.push(from + r.start..from + r.end);
        }
    }
}

/// Sorts `items` (keyed by their names' first chunk) by name, and fills in
/// `lcp` (the same length) for all but the first of them.
fn refine(names: &[&[u8]], items: &mut [SortItem], lcp: &mut [u32], scratch: &mut Vec<SortItem>) {
    // items[start..end] agree on their first `offset` bytes and are keyed by
    // the chunk at `offset`; lcp at start and end is already known.
    let mut work = vec![(0usize, items.len(), 0usize)];
    while let Some((start, end, offset)) = work.pop() {
        let run = &mut items[start..end];
        sort_by_key(run, scratch);
        let next = offset + 16;
        let mut prev_key = 0; // this level's key of run[i - 1]
        let mut i = 0;
        while i < run.len() {
            let key = run[i].key;
            if i > 0 {
                let differ = offset + ((prev_key ^ key).leading_zeros() / 8) as usize;
                lcp[start + i] = (differ as u32).min(run[i - 1].len).min(run[i].len);
            }
            prev_key = key;
            let mut longer = run[i].len as usize > next;
            let mut j = i + 1;
            while j < run.len() && run[j].key == key {
                longer |= run[j].len as usize > next;
                j += 1;
            }
            if j - i > 1 {
                if longer {
                    for item in &mut run[i..j] {
                        item.key = chunk_key(names[item.idx as usize], next);
                    }
                    work.push((start + i, start + j, next));
                } else {
                    // All end within this chunk: equal (duplicates), unless
                    // they differ in NUL bytes.
                    let tie = &mut run[i..j];
                    tie.sort_unstable_by(|a, b| names[a.idx as usize].cmp(names[b.idx as usize]));
                    for t in 1..tie.len() {
                        let l = common_prefix(
                            names[tie[t - 1].idx as usize],
                            names[tie[t].idx as usize],
                        );
                        lcp[start + i + t] = l as u32;
                    }
                }
            }
            i = j;
        }
    }
}

/// Runs at least this long are sorted by radix; shorter ones by
/// comparisons, which cost less than a radix sort's fixed passes there.
const RADIX_RUN: usize = 512;

/// Runs at least this long are sorted 16 bits a pass (two of the key's
/// bytes where keys differ) rather than 8: half the passes, each with a
/// 65536-entry count, which only long runs repay.
const WIDE_RUN: usize = 32768;

/// Sorts `run` by key (ties in any order); `scratch` is reused between
/// calls.
fn sort_by_key(run: &mut [SortItem], scratch: &mut Vec<SortItem>) {
    if run.len() < RADIX_RUN {
        run.sort_unstable_by_key(|item| item.key);
    } else if run.len() < WIDE_RUN {
        radix_sort::<false>(run, scratch);
    } else {
        radix_sort::<true>(run, scratch);
    }
}

/// A least-significant-first radix sort of `run` by its keys' bytes,
/// skipping the bytes all keys share: symbol names share much (a leading
/// `_`, a common stem, the zero padding past the shortest name's end), so
/// a name list takes a pass for each of the few bytes where names differ
/// (each pair of them, when `WIDE`), each pass a counting scatter, where a
/// comparison sort spends a dozen 16-byte comparisons a name.
fn radix_sort<const WIDE: bool>(run: &mut [SortItem], scratch: &mut Vec<SortItem>) {
    // The bytes where keys differ (little-endian: byte 0 is the least
    // significant), from the bits set in some key and clear in another.
    let differ = differing_bits(run).to_le_bytes();
    let varying: Vec<usize> = (0..16).filter(|&p| differ[p] != 0).collect();
    // Each pass's digit: one varying byte, or two (least significant
    // first), the last one paired, if it is alone, with a byte all keys
    // share (there is one: 16 varying bytes pair up).
    let digits: Vec<(usize, usize)> = if WIDE {
        let shared = (0..16).find(|&p| differ[p] == 0).unwrap_or(0);
        varying
            .chunks(2)
            .map(|pair| (pair[0], pair.get(1).copied().unwrap_or(shared)))
            .collect()
    } else {
        varying.iter().map(|&p| (p, p)).collect()
    };
    let buckets = if WIDE { 1 << 16 } else { 256 };
    // The first digit is counted on its own; each pass counts the next
    // digit as it moves the items.
    let mut counts = vec![0u32; buckets];
    let mut next_counts = vec![0u32; buckets];
    if let Some(&d) = digits.first() {
        for item in run.iter() {
            counts[digit::<WIDE>(&item.key, d)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(run.len(), SortItem::default());
    let (mut src, mut dst): (&mut [SortItem], &mut [SortItem]) = (run, &mut scratch[..]);
    let mut in_scratch = false;
    for (k, &d) in digits.iter().enumerate() {
        // The counts become where each digit's items go next.
        let mut sum = 0;
        for slot in counts.iter_mut() {
            let count = *slot;
            *slot = sum;
            sum += count;
        }
        let at = &mut counts[..];
        match digits.get(k + 1) {
            Some(&next) => {
                next_counts.fill(0);
                for item in src.iter() {
                    let slot = &mut at[digit::<WIDE>(&item.key, d)];
                    dst[*slot as usize] = *item;
                    *slot += 1;
                    next_counts[digit::<WIDE>(&item.key, next)] += 1;
                }
            }
            None => {
                for item in src.iter() {
                    let slot = &mut at[digit::<WIDE>(&item.key, d)];
                    dst[*slot as usize] = *item;
                    *slot += 1;
                }
            }
        }
        std::mem::swap(&mut counts, &mut next_counts);
        std::mem::swap(&mut src, &mut dst);
        in_scratch = !in_scratch;
    }
    if in_scratch {
        // `src` is the scratch, `dst` the run.
        dst.copy_from_slice(src);
    }
}

/// The digit of `key` at bytes `(low, high)`: the byte `low`, with byte
/// `high` above it when `WIDE`.
#[inline(always)]
fn digit<const WIDE: bool>(key: &u128, (low, high): (usize, usize)) -> usize {
    let bytes = key.to_le_bytes();
    if WIDE {
        usize::from(bytes[low & 15]) | usize::from(bytes[high & 15]) << 8
    } else {
        usize::from(bytes[low & 15])
    }
}

/// The order that sorts `names` in ascending byte order (indices into
/// `names`), by the sort the trie uses; for other tables that list names
/// sorted (the symbol table's externals and imports): comparing whole
/// 16-byte keys costs a fraction of comparing names byte by byte.
pub fn sorted_order(names: &[&[u8]]) -> Vec<u32> {
    if names.is_empty() {
        return Vec::new();
    }
    // Lists sorted already (as the linker passes its externals) need no
    // common prefixes.
    if in_order(names) {
        return (0..names.len() as u32).collect();
    }
    sort_names(names).idx
}

/// Names in ascending byte order: the order (indices into the names) and
/// each sorted name's common prefix with the one before it (`lcp[0]` is
/// 0), which [`build_sorted`] takes so that the trie of names sorted for
/// another table needs no second pass over them.
pub struct Sorted {
    pub order: Vec<u32>,
    pub lcp: Vec<u32>,
}

/// `names` sorted (unique names), with their common prefixes: see
/// [`Sorted`].
pub fn sort(names: &[&[u8]]) -> Sorted {
    let SortedNames { idx, lcp, .. } = sort_names(names);
    Sorted { order: idx, lcp }
}

/// Whether `a` < `b`, given their common prefix `l`: `a` is a proper
/// prefix of `b`, or has the smaller byte where they differ.
#[inline]
fn ordered_at(a: &[u8], b: &[u8], l: usize) -> bool {
    match (a.get(l), b.get(l)) {
        (None, Some(_)) => true,
        (Some(x), Some(y)) => x < y,
        _ => false,
    }
}

/// Whether `names` are strictly ascending (long lists checked in
/// parallel).
fn in_order(names: &[&[u8]]) -> bool {
    use rayon::prelude::*;
    let pair = |w: &[&[u8]]| ordered_at(w[0], w[1], common_prefix(w[0], w[1]));
    if names.len() < PARALLEL_RUN {
        names.windows(2).all(pair)
    } else {
        names.par_windows(2).with_min_len(4096).all(pair)
    }
}

/// `names` as [`SortedNames`] when they are already sorted, strictly
/// (callers that sort the same names for another table pass them in
/// order): one pass measures each name's common prefix with the previous
/// one and, from the bytes just after it, checks their order. Long lists
/// are checked in parallel.
fn already_sorted(names: &[&[u8]]) -> Option<SortedNames> {
    use rayon::prelude::*;
    const CHUNK: usize = 4096;
    let n = names.len();
    // Fills in the common prefixes of names `first..first + out.len()`
    // with the names before them, while they are in order.
    let measure = |first: usize, out: &mut [u32]| -> bool {
        for (slot, i) in out.iter_mut().zip(first..) {
            if i == 0 {
                continue;
            }
            let (a, b) = (names[i - 1], names[i]);
            let l = common_prefix(a, b);
            if !ordered_at(a, b, l) {
                return false;
            }
            *slot = l as u32;
        }
        true
    };
    let mut lcp = vec![0u32; n];
    let in_order = if n < PARALLEL_RUN {
        measure(0, &mut lcp)
    } else {
        lcp.par_chunks_mut(CHUNK)
            .enumerate()
            .all(|(c, out)| measure(c * CHUNK, out))
    };
    in_order.then(|| SortedNames {
        idx: (0..n as u32).collect(),
        len: names.iter().map(|name| name.len() as u32).collect(),
        lcp,
    })
}

/// Length of the longest common prefix of `a` and `b`, compared 8 bytes
/// at a time.
#[inline]
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut at = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or_default());
        let y = u64::from_le_bytes(y.try_into().unwrap_or_default());
        if x != y {
            return at + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + a[at..]
        .iter()
        .zip(&b[at..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// A node of the trie.
#[derive(Clone, Copy)]
struct Node {
    /// Index (in `exports`) of the name ending here, or `NONE`.
    terminal: u32,
    /// Size of the node without its children's offsets.
    fixed_size: u32,
    /// Number of edges from the node.
    edge_count: u32,
}

/// An edge: its label is `names[name][start..end]` (`name` indexes the
/// exports); `child` is the number of the node it leads to.
#[derive(Clone, Copy)]
struct Edge {
    child: u32,
    name: u32,
    start: u32,
    end: u32,
}

/// The trie's nodes and edges in the order [`shape`] completes them, the
/// reverse of the layout's: node r (its number) is the (n - 1 - r)th in
/// pre-order. The edges are node by node in the same order, each node's
/// from its last child to its first: read backwards, both come in layout
/// order.
struct Shape {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// A node of [`shape`] whose first name (in sorted order) is not reached
/// yet: at `depth` on the path of the names seen, with its children so far
/// at `kids[first_kid..]`.
struct Open {
    depth: u32,
    terminal: u32,
    first_kid: u32,
}

/// At least this many exports are built by several threads; below it the
/// threads would cost more than they save.
const PARALLEL_EXPORTS: usize = 16384;

/// What [`shape`] reads: the sorted names ([`SortedNames`]) and the
/// exports.
struct Expansion<'s, 'a> {
    idx: &'s [u32],
    lens: &'s [u32],
    lcp: &'s [u32],
    exports: &'s [Export<'a>],
}

/// Builds the export trie of `exports` (any order, unique names). See the
/// module documentation for the layout. Returns an empty vector when there
/// is nothing to export, as linkers omit the trie then.
pub fn build(exports: &[Export<'_>]) -> Vec<u8> {
    build_in_parts(exports, parts_for(exports.len()))
}

/// How many parts the bytes of `n` exports are written in.
fn parts_for(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if n >= PARALLEL_EXPORTS && threads > 1 {
        // A few parts a thread, so that uneven parts still balance.
        threads * 4
    } else {
        1
    }
}

/// [`build`], with the write cut into `parts` pieces run in parallel.
/// The bytes do not depend on `parts`.
fn build_in_parts(exports: &[Export<'_>], parts: usize) -> Vec<u8> {
    let n = exports.len();
    if n == 0 {
        return Vec::new();
    }
    assert!(n < (NONE / 2) as usize, "too many exports for one trie");

    // 1. Sort by name.
    let names: Vec<&[u8]> = exports.iter().map(|e| e.name).collect();
    debug_assert!(
        names.iter().all(|name| !name.contains(&0)),
        "export name with a NUL byte"
    );
    let sorted = sort_names(&names);
    drop(names);
    write_trie(exports, sorted, parts)
}

/// [`build`] of `exports` sorted by name already (strictly), `lcp` being
/// each name's common prefix with the one before ([`Sorted::lcp`], in the
/// order of `exports`): the sort's work is not done twice.
pub fn build_sorted(exports: &[Export<'_>], lcp: Vec<u32>) -> Vec<u8> {
    let n = exports.len();
    assert_eq!(lcp.len(), n, "a common prefix for each export");
    if n == 0 {
        return Vec::new();
    }
    assert!(n < (NONE / 2) as usize, "too many exports for one trie");
    debug_assert!((1..n).all(|s| {
        let (a, b) = (exports[s - 1].name, exports[s].name);
        let l = common_prefix(a, b);
        l == lcp[s] as usize && ordered_at(a, b, l)
    }));
    let sorted = SortedNames {
        idx: (0..n as u32).collect(),
        len: exports.iter().map(|e| e.name.len() as u32).collect(),
        lcp,
    };
    write_trie(exports, sorted, parts_for(n))
}

/// Steps 2 to 4 of [`build_in_parts`], from the sorted names.
fn write_trie(exports: &[Export<'_>], sorted: SortedNames, parts: usize) -> Vec<u8> {
    let n = exports.len();
    let SortedNames {
        idx: sorted_idx,
        len: lens,
        lcp,
    } = sorted;
    debug_assert!(
        (1..n).all(|s| !(lcp[s] == lens[s] && lens[s] == lens[s - 1])),
        "duplicate export names"
    );

    // 2. Nodes and edges, 3. offsets, then 4. the bytes.
    let shape = shape(&Expansion {
        idx: &sorted_idx,
        lens: &lens,
        lcp: &lcp,
        exports,
    });
    let (offsets, total) = node_offsets(&shape);
    let mut out = vec![0u8; total.next_multiple_of(8)];
    write_nodes_in_parts(&mut out[..total], &shape, &offsets, exports, parts);
    out
}

/// ULEB128 length of `v` (as [`uleb_len`], from a table).
#[inline]
fn uleb_size(v: u64) -> u32 {
    const BY_LEADING_ZEROS: [u8; 65] = {
        let mut table = [1u8; 65];
        let mut zeros = 0;
        while zeros < 64 {
            table[zeros] = (64 - zeros).div_ceil(7) as u8;
            zeros += 1;
        }
        table
    };
    u32::from(BY_LEADING_ZEROS[v.leading_zeros() as usize])
}

/// `v` as ULEB128 into `out` at `at`; returns the position after it.
/// Values under 2^28 (offsets, and the addresses of most images) are
/// written without a loop.
#[inline(always)]
fn put_uleb(out: &mut [u8], at: usize, v: u64) -> usize {
    let low = |shift: u32| (v >> shift) as u8 | 0x80;
    if v < 1 << 7 {
        out[at] = v as u8;
        at + 1
    } else if v < 1 << 14 {
        out[at..at + 2].copy_from_slice(&[low(0), (v >> 7) as u8]);
        at + 2
    } else if v < 1 << 21 {
        out[at..at + 3].copy_from_slice(&[low(0), low(7), (v >> 14) as u8]);
        at + 3
    } else if v < 1 << 28 {
        out[at..at + 4].copy_from_slice(&[low(0), low(7), low(14), (v >> 21) as u8]);
        at + 4
    } else {
        let mut at = at;
        let mut v = v;
        while v >= 0x80 {
            out[at] = (v as u8) | 0x80;
            v >>= 7;
            at += 1;
        }
        out[at] = v as u8;
        at + 1
    }
}

/// Whether the info of `e` is more than its flags and address.
#[inline]
fn has_extra_info(e: &Export<'_>) -> bool {
    e.flags & (EXPORT_SYMBOL_FLAGS_REEXPORT | EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER) != 0
}

/// Size of the terminal part of `e` in a node: `terminal_size`, then the
/// info.
#[inline(always)]
fn terminal_part_size(e: &Export<'_>) -> u32 {
    if !has_extra_info(e) {
        // Flags and address take at most 20 bytes: a one-byte size.
        return 1 + uleb_size(e.flags) + uleb_size(e.address);
    }
    let info = terminal_info_size(e);
    let size = uleb_len(info as u64) + info;
    u32::try_from(size).expect("export info over 4 GiB")
}

/// Writes the terminal part of `e` into `out` at `at`, which has room for
/// it; returns the position after it.
#[inline]
fn put_terminal(out: &mut [u8], at: usize, e: &Export<'_>) -> usize {
    if !has_extra_info(e) {
        let end = put_uleb(out, at + 1, e.flags);
        let end = put_uleb(out, end, e.address);
        out[at] = (end - at - 1) as u8; // under 0x80: a one-byte ULEB
        return end;
    }
    let at = put_uleb(out, at, terminal_info_size(e) as u64);
    let at = put_uleb(out, at, e.flags);
    let mut at = put_uleb(out, at, e.address);
    if e.flags & EXPORT_SYMBOL_FLAGS_REEXPORT != 0 {
        let name = e.reexport_name.unwrap_or_default();
        out[at..at + name.len()].copy_from_slice(name);
        out[at + name.len()] = 0;
        at += name.len() + 1;
    } else {
        at = put_uleb(out, at, e.resolver);
    }
    at
}

/// The trie's nodes and edges, from the sorted names and their common
/// prefixes alone, in one pass over the names from the last to the first.
///
/// A node is the prefix `name[..d]` of the first sorted name `name` that
/// has it, so pre-order (a node before its subtree, subtrees in label
/// order) is the order of (first name, depth), and its reverse, last name
/// first and deeper first, is the order in which nodes are completed when
/// the names are read backwards. The nodes on the path of the names read
/// so far that still wait for their first name are kept on a stack, deepest
/// on top: name s (of length `len`, sharing `lcp` bytes with name s - 1)
/// ends at the top one when it is at `len` (name s is a prefix of name
/// s + 1), else at a new leaf; every open node deeper than `lcp` has its
/// first name in s and is completed; the rest of the path, to depth `lcp`,
/// stays open, with a node at exactly `lcp` opened if there is none, since
/// names s - 1 and s part there. A completed node's children are completed
/// before it, last child first, and are exactly the top of a second stack
/// (`kids`) of edges. Linear in the names, with nothing allocated per
/// node.
fn shape(x: &Expansion) -> Shape {
    let n = x.idx.len();
    let mut b = ShapeBuilder {
        nodes: Vec::with_capacity(2 * n + 1),
        edges: Vec::with_capacity(2 * n),
        kids: Vec::new(),
    };
    // The root, open to the end: names may share no prefix, and the root
    // is a node of its own even when they all do.
    let mut open = vec![Open {
        depth: 0,
        terminal: NONE,
        first_kid: 0,
    }];
    for s in (0..n).rev() {
        let (len, lcp) = (x.lens[s], x.lcp[s]);
        if s > 0 && lcp == len && x.lens[s - 1] == len {
            continue; // a duplicate (a caller bug): the first one is kept
        }
        let name = x.idx[s];
        if len == 0 {
            open[0].terminal = name; // the empty name (first) ends at the root
            continue;
        }
        let mut terminal_size = terminal_part_size(&x.exports[name as usize]);
        let mut node = match open.last() {
            Some(top) if top.depth == len => {
                let mut top = open.pop().expect("just seen");
                top.terminal = name;
                top
            }
            _ => Open {
                depth: len,
                terminal: name,
                first_kid: b.kids.len() as u32,
            },
        };
        loop {
            let end = node.depth;
            let child = b.complete(node, terminal_size);
            terminal_size = 1; // terminal_size 0: only the first ends a name
            let parent = open.last().expect("the root stays open").depth;
            if parent > lcp {
                // Still on name s's own part: the parent starts at s too.
                b.kids.push(Edge {
                    child,
                    name,
                    start: parent,
                    end,
                });
                node = open.pop().expect("just seen");
                continue;
            }
            if parent < lcp {
                // Names s - 1 and s part at `lcp`: a node there.
                open.push(Open {
                    depth: lcp,
                    terminal: NONE,
                    first_kid: b.kids.len() as u32,
                });
            }
            b.kids.push(Edge {
                child,
                name,
                start: lcp,
                end,
            });
            break;
        }
    }
    let root = open.pop().expect("the root");
    debug_assert!(open.is_empty());
    let root_terminal_size = match root.terminal {
        NONE => 1,
        t => terminal_part_size(&x.exports[t as usize]),
    };
    b.complete(root, root_terminal_size);
    debug_assert!(b.kids.is_empty());
    Shape {
        nodes: b.nodes,
        edges: b.edges,
    }
}

/// The nodes and edges [`shape`] has completed, in completion order, and
/// the edges of nodes still open.
struct ShapeBuilder {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    kids: Vec<Edge>,
}

impl ShapeBuilder {
    /// Completes `node`, whose terminal part takes `terminal_size` bytes:
    /// its children are the top of `kids`. Returns its number in
    /// completion order.
    #[inline(always)]
    fn complete(&mut self, node: Open, terminal_size: u32) -> u32 {
        debug_assert_eq!(node.terminal == NONE, terminal_size == 1);
        let number = self.nodes.len() as u32;
        let own = &self.kids[node.first_kid as usize..];
        // The terminal part and the child count, then the edges, one by
        // one: nodes have a child or two, too few for a memcpy.
        let mut size = terminal_size + 1;
        for k in own {
            size += k.end - k.start + 1; // label and its NUL
            self.edges.push(*k);
        }
        debug_assert!(own.len() <= 255, "more than 255 edges from a node");
        self.nodes.push(Node {
            terminal: node.terminal,
            fixed_size: size,
            edge_count: own.len() as u32,
        });
        self.kids.truncate(node.first_kid as usize);
        number
    }
}

/// ULEB128 lengths step up at these offsets.
const ULEB_STEPS: [u64; 4] = [1 << 7, 1 << 14, 1 << 21, 1 << 28];

/// Each node's offset (by number), and the trie's size unpadded, at the
/// fixed point.
///
/// A node's size depends on its children's offsets, through their ULEB
/// lengths, and the offsets on the sizes before them. From the lower bound
/// of every child offset taking one byte, sizing every node with its
/// children's offsets from the previous round converges to the least
/// (compact) layout, in a few rounds; once no offset's ULEB length changes
/// from one round to the next, sizes are exact.
///
/// Offsets grow along the layout (children follow their parent), so a
/// round's ULEB lengths are fixed by the nodes where offsets first reach
/// each [`ULEB_STEPS`] step: a child's length is one plus the steps
/// reached at or before it. A round therefore finds just those nodes,
/// reading nodes only as far as the last step any offset can reach; one
/// full pass then writes the offsets out. Offsets are u32, like the load
/// command's `datasize`.
fn node_offsets(shape: &Shape) -> (Vec<u32>, usize) {
    let Shape { nodes, edges } = shape;
    // Steps no offset can reach, each child offset taking 5 bytes, count
    // for nothing.
    let most: u64 = nodes
        .iter()
        .map(|node| u64::from(node.fixed_size) + 5 * u64::from(node.edge_count))
        .sum();
    let steps = ULEB_STEPS.iter().filter(|&&step| step <= most).count();
    // For each step, one more than the number of the first node (in
    // layout order) at or past it; 0 for none, as in the lower bound.
    let mut reached = [0u32; 4];
    loop {
        let found = first_past_steps(shape, &reached, steps);
        if found == reached {
            break;
        }
        reached = found;
    }
    let mut offsets = vec![0u32; nodes.len()];
    let mut offset = 0u64;
    let mut edge = edges.len();
    for (number, node) in nodes.iter().enumerate().rev() {
        offsets[number] = offset as u32;
        let mut size = node.fixed_size;
        let first = edge - node.edge_count as usize;
        for e in &edges[first..edge] {
            size += offset_len_at(&reached, e.child);
        }
        edge = first;
        offset += u64::from(size);
    }
    assert!(offset <= u64::from(u32::MAX), "export trie over 4 GiB");
    debug_assert!(edges.iter().all(
        |e| uleb_size(u64::from(offsets[e.child as usize])) == offset_len_at(&reached, e.child)
    ));
    (offsets, offset as usize)
}

/// [`node_offsets`]' round: for each of the first `steps` steps of
/// [`ULEB_STEPS`], one more than the number of the first node whose offset
/// reaches it (0 if none does), with nodes sized by the child offset
/// lengths `reached` gives ([`offset_len_at`]).
fn first_past_steps(shape: &Shape, reached: &[u32; 4], steps: usize) -> [u32; 4] {
    let mut found = [0u32; 4];
    let mut next = 0; // the next step to reach
    let mut offset = 0u64;
    let mut edge = shape.edges.len();
    for (number, node) in shape.nodes.iter().enumerate().rev() {
        while next < steps && offset >= ULEB_STEPS[next] {
            found[next] = number as u32 + 1;
            next += 1;
        }
        if next == steps {
            break;
        }
        let mut size = node.fixed_size;
        let first = edge - node.edge_count as usize;
        for e in &shape.edges[first..edge] {
            size += offset_len_at(reached, e.child);
        }
        edge = first;
        offset += u64::from(size);
    }
    found
}

/// ULEB length of the offset of node number `child`, given (one more
/// than) the first node past each step of [`ULEB_STEPS`]: nodes after it
/// in the layout have lower numbers.
#[inline]
fn offset_len_at(reached: &[u32; 4], child: u32) -> u32 {
    1 + u32::from(child < reached[0])
        + u32::from(child < reached[1])
        + u32::from(child < reached[2])
        + u32::from(child < reached[3])
}

/// Writes the nodes into `out` (exactly the trie's bytes, unpadded):
/// their offsets are known, so `parts` runs of nodes are written side by
/// side, each into its own range of `out`.
fn write_nodes_in_parts(
    mut out: &mut [u8],
    shape: &Shape,
    offsets: &[u32],
    exports: &[Export<'_>],
    parts: usize,
) {
    use rayon::prelude::*;
    let n = shape.nodes.len();
    let total = out.len();
    let per_part = n.div_ceil(parts.max(1));
    // Runs of node numbers, from the layout's start (the highest numbers),
    // with the end of their edges.
    let mut runs = Vec::with_capacity(parts);
    let mut end = n;
    let mut edge_end = shape.edges.len();
    while end > 0 {
        let first = end.saturating_sub(per_part);
        let run_end = if first == 0 {
            total
        } else {
            offsets[first - 1] as usize
        };
        let (run, rest) = out.split_at_mut(run_end - offsets[end - 1] as usize);
        runs.push((first..end, edge_end, run));
        edge_end -= shape.nodes[first..end]
            .iter()
            .map(|node| node.edge_count as usize)
            .sum::<usize>();
        out = rest;
        end = first;
    }
    runs.into_par_iter().for_each(|(numbers, edge_end, run)| {
        write_nodes(run, numbers, edge_end, shape, offsets, exports)
    });
}

/// Writes the nodes numbered `numbers`, whose edges end at `edge_end`,
/// into `out`, in layout order (from the last number): `out` starts at
/// the first one's offset and ends at the next one's.
fn write_nodes(
    out: &mut [u8],
    numbers: std::ops::Range<usize>,
    edge_end: usize,
    shape: &Shape,
    offsets: &[u32],
    exports: &[Export<'_>],
) {
    let mut at = 0;
    let mut edge = edge_end;
    let base = numbers.end - 1;
    for number in numbers.rev() {
        let node = &shape.nodes[number];
        debug_assert_eq!(at, (offsets[number] - offsets[base]) as usize);
        if node.terminal == NONE {
            out[at] = 0;
            at += 1;
        } else {
            at = put_terminal(out, at, &exports[node.terminal as usize]);
        }
        out[at] = node.edge_count as u8;
        at += 1;
        let first = edge - node.edge_count as usize;
        for e in shape.edges[first..edge].iter().rev() {
            let label = &exports[e.name as usize].name[e.start as usize..e.end as usize];
            match label {
                // Most labels are one byte, below a branch.
                [byte] => out[at] = *byte,
                _ => out[at..at + label.len()].copy_from_slice(label),
            }
            at += label.len();
            out[at] = 0;
            at = put_uleb(out, at + 1, u64::from(offsets[e.child as usize]));
        }
        edge = first;
    }
    debug_assert_eq!(at, out.len());
}

/// Position of the first NUL at or after `pos`.
#[inline]
fn find_nul(data: &[u8], pos: usize) -> Option<usize> {
    data.get(pos..)?
        .iter()
        .position(|&b| b == 0)
        .map(|i| pos + i)
}

/// Decodes symbol info from `info` (exactly the `terminal_size` bytes).
fn read_terminal_info(info: &[u8], name: &[u8]) -> Option<OwnedExport> {
    let mut p = 0;
    let flags = read_uleb(info, &mut p)?;
    let address = read_uleb(info, &mut p)?;
    let mut reexport_name = None;
    let mut resolver = 0;
    if flags & EXPORT_SYMBOL_FLAGS_REEXPORT != 0 {
        let end = find_nul(info, p)?;
        if end > p {
            reexport_name = Some(info[p..end].to_vec());
        }
    } else if flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER != 0 {
        resolver = read_uleb(info, &mut p)?;
    }
    Some(OwnedExport {
        name: name.to_vec(),
        flags,
        address,
        reexport_name,
        resolver,
    })
}

/// Reads the node header at `offset`: its symbol info bytes (empty when not
/// terminal) and the position of its child count.
#[inline]
fn read_node_header(trie: &[u8], offset: usize) -> Option<(&[u8], usize)> {
    let mut p = offset;
    let terminal_size = usize::try_from(read_uleb(trie, &mut p)?).ok()?;
    let end = p.checked_add(terminal_size)?;
    // The child count byte must follow the info.
    if end >= trie.len() {
        return None;
    }
    Some((&trie[p..end], end))
}

/// Parses a whole trie into its exports, sorted by name. Returns `None` when
/// the trie is malformed: anything out of bounds, a node reached twice (a
/// cycle, or a shared subtree, which no linker writes), a name longer than
/// the trie, or the same name twice. Trailing padding is ignored; an empty
/// trie has no exports. Never panics; each node is visited at most once.
pub fn parse(trie: &[u8]) -> Option<Vec<OwnedExport>> {
    let mut out = Vec::new();
    if trie.is_empty() {
        return Some(out);
    }
    let mut visited = vec![false; trie.len()];
    visited[0] = true;
    let mut name: Vec<u8> = Vec::new();
    // (node offset, length of the parent's name, label range)
    let mut stack: Vec<(usize, usize, usize, usize)> = vec![(0, 0, 0, 0)];
    while let Some((offset, parent_len, label_start, label_end)) = stack.pop() {
        name.truncate(parent_len);
        name.extend_from_slice(&trie[label_start..label_end]);
        if name.len() > trie.len() {
            return None;
        }
        let (info, mut p) = read_node_header(trie, offset)?;
        if !info.is_empty() {
            out.push(read_terminal_info(info, &name)?);
        }
        let child_count = trie[p];
        p += 1;
        for _ in 0..child_count {
            let label_start = p;
            let label_end = find_nul(trie, p)?;
            p = label_end + 1;
            let child = usize::try_from(read_uleb(trie, &mut p)?).ok()?;
            if *visited.get(child)? {
                return None;
            }
            visited[child] = true;
            stack.push((child, name.len(), label_start, label_end));
        }
    }
    out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    if out.windows(2).any(|w| w[0].name == w[1].name) {
        return None;
    }
    Some(out)
}

/// Looks `name` up by walking edges from the root, as dyld does: at each
/// node, the first edge whose (non-empty) label is a prefix of the rest of
/// the name. `None` when absent or when the walk meets malformed data. Each
/// step consumes at least one byte of `name`, so the walk always ends.
pub fn lookup(trie: &[u8], name: &[u8]) -> Option<OwnedExport> {
    let mut offset = 0usize;
    let mut rest = name;
    loop {
        let (info, mut p) = read_node_header(trie, offset)?;
        if rest.is_empty() {
            if info.is_empty() {
                return None;
            }
            return read_terminal_info(info, name);
        }
        let child_count = trie[p];
        p += 1;
        let mut next = None;
        for _ in 0..child_count {
            let label_start = p;
            let label_end = find_nul(trie, p)?;
            p = label_end + 1;
            let child = read_uleb(trie, &mut p)?;
            let label = &trie[label_start..label_end];
            if !label.is_empty() && rest.starts_with(label) {
                next = Some((child, label.len()));
                break;
            }
        }
        let (child, consumed) = next?;
        offset = usize::try_from(child).ok()?;
        rest = &rest[consumed..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn owned(e: &Export<'_>) -> OwnedExport {
        OwnedExport {
            name: e.name.to_vec(),
            flags: e.flags,
            address: e.address,
            reexport_name: e
                .reexport_name
                .filter(|n| !n.is_empty())
                .map(<[u8]>::to_vec),
            resolver: if e.flags & EXPORT_SYMBOL_FLAGS_REEXPORT == 0
                && e.flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER != 0
            {
                e.resolver
            } else {
                0
            },
        }
    }

    fn sorted_owned(exports: &[Export<'_>]) -> Vec<OwnedExport> {
        let mut v: Vec<OwnedExport> = exports.iter().map(owned).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Deterministic shuffle (xorshift), so tests need no dependency.
    fn shuffle<T>(v: &mut [T], mut seed: u64) {
        for i in (1..v.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }

    /// Walks the trie checking the layout `build` promises: pre-order with
    /// no gaps, sibling labels non-empty and in ascending order of distinct
    /// first bytes, every node but the root terminal or branching, and
    /// zero padding to 8 bytes.
    fn check_layout(trie: &[u8]) {
        assert_eq!(trie.len() % 8, 0);
        let mut next = 0usize; // where the next pre-order node must start
        let mut stack = vec![(0usize, true)];
        while let Some((offset, is_root)) = stack.pop() {
            assert_eq!(offset, next, "nodes not contiguous in pre-order");
            let (info, mut p) = read_node_header(trie, offset).unwrap();
            let count = trie[p] as usize;
            p += 1;
            assert!(
                is_root || !info.is_empty() || count >= 2,
                "non-compact node at {offset}"
            );
            let mut children = Vec::new();
            let mut prev_first: Option<u8> = None;
            for _ in 0..count {
                let end = find_nul(trie, p).unwrap();
                assert!(end > p, "empty label");
                let first = trie[p];
                if let Some(prev) = prev_first {
                    assert!(prev < first, "labels out of order at node {offset}");
                }
                prev_first = Some(first);
                p = end + 1;
                children.push(read_uleb(trie, &mut p).unwrap() as usize);
            }
            next = p;
            stack.extend(children.into_iter().rev().map(|c| (c, false)));
        }
        assert!(trie[next..].iter().all(|&b| b == 0));
        assert!(trie.len() - next < 8);
    }

    /// The two exports of a minimal executable, derived by hand.
    ///
    /// Sorted: `__mh_execute_header` < `_main` (`_` 0x5f < `m` 0x6d). They
    /// share `_`, so: root --"_"--> A; A --"_mh_execute_header"--> B (flags
    /// 0, address 0); A --"main"--> C (flags 0, address 0x3f0 = ULEB f0 07).
    /// Pre-order: root, A, B, C.
    ///
    /// ```text
    /// root @0x00: 00 | 01 | "_" 00 05                       5 bytes
    /// A    @0x05: 00 | 02 | "_mh_execute_header" 00 21      1+1+20
    ///                     | "main" 00 25                    +6 = 28 bytes
    /// B    @0x21: 02 00 00 | 00                             4 bytes
    /// C    @0x25: 03 00 f0 07 | 00                          5 bytes
    /// end  @0x2a (42), zero-padded to 48
    /// ```
    ///
    /// ld64.lld-19 writes the same nodes for these two symbols but, seeing
    /// `_main` first in its symbol table, puts A's `main` edge (and so node
    /// C) first: `00 01 5f 00 05 | 00 02 "main" 00 21 "_mh_execute_header"
    /// 00 26 | 03 00 f0 07 00 | 02 00 00 00`. Our edge order is sorted.
    #[test]
    fn tiny_trie_byte_exact() {
        let exports = [
            Export::regular(b"_main", 0x3f0),
            Export::regular(b"__mh_execute_header", 0),
        ];
        let mut expected = vec![0x00, 0x01, b'_', 0x00, 0x05];
        expected.extend([0x00, 0x02]);
        expected.extend(b"_mh_execute_header\0");
        expected.push(0x21);
        expected.extend(b"main\0");
        expected.push(0x25);
        expected.extend([0x02, 0x00, 0x00, 0x00]);
        expected.extend([0x03, 0x00, 0xf0, 0x07, 0x00]);
        assert_eq!(expected.len(), 42);
        expected.resize(48, 0);

        let trie = build(&exports);
        assert_eq!(trie, expected);
        check_layout(&trie);
        assert_eq!(parse(&trie).unwrap(), sorted_owned(&exports));
        assert_eq!(lookup(&trie, b"_main").unwrap(), owned(&exports[0]));
        assert_eq!(
            lookup(&trie, b"__mh_execute_header").unwrap(),
            owned(&exports[1])
        );
        assert_eq!(lookup(&trie, b"_"), None);
        assert_eq!(lookup(&trie, b""), None);
        assert_eq!(lookup(&trie, b"_mai"), None);
        assert_eq!(lookup(&trie, b"_mainx"), None);
    }

    /// The export trie ld64.lld-19 wrote for `int Amain(void){return 0;}`
    /// linked with `-e _Amain` (x86_64, `_Amain` at 0x360): lld's quicksort
    /// happens to emit `A` (0x41) before `_` (0x5f) here, so the bytes agree.
    #[test]
    fn same_bytes_as_lld_when_its_edges_are_sorted() {
        let lld: [u8; 48] = [
            0x00, 0x01, 0x5f, 0x00, 0x05, 0x00, 0x02, 0x41, 0x6d, 0x61, 0x69, 0x6e, 0x00, 0x22,
            0x5f, 0x6d, 0x68, 0x5f, 0x65, 0x78, 0x65, 0x63, 0x75, 0x74, 0x65, 0x5f, 0x68, 0x65,
            0x61, 0x64, 0x65, 0x72, 0x00, 0x27, 0x03, 0x00, 0xe0, 0x06, 0x00, 0x02, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let exports = [
            Export::regular(b"__mh_execute_header", 0),
            Export::regular(b"_Amain", 0x360),
        ];
        assert_eq!(build(&exports), lld);
        assert_eq!(parse(&lld).unwrap(), sorted_owned(&exports));
    }

    #[test]
    fn empty_and_single() {
        assert!(build(&[]).is_empty());
        assert_eq!(parse(&[]), Some(vec![]));
        assert_eq!(lookup(&[], b"_x"), None);

        // root --"_x"--> {flags 0, address 0x10}
        let trie = build(&[Export::regular(b"_x", 0x10)]);
        assert_eq!(
            trie,
            [0, 1, b'_', b'x', 0, 6, 2, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]
        );
        // The empty name ends at the root.
        let trie = build(&[Export::regular(b"", 7)]);
        assert_eq!(trie, [2, 0, 7, 0, 0, 0, 0, 0]);
        assert_eq!(lookup(&trie, b"").unwrap().address, 7);
    }

    #[test]
    fn all_kinds_round_trip() {
        let exports = vec![
            Export::regular(b"_foo", 0x1000),
            Export::regular(b"_foobar", 0x1010),
            Export::regular(b"_fo", 0x1020),
            Export::regular(b"_fop", 0x1030),
            Export {
                flags: EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION,
                ..Export::regular(b"_weak", 0x2000)
            },
            Export {
                flags: EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL,
                ..Export::regular(b"_tlv", 0x3000)
            },
            Export {
                flags: EXPORT_SYMBOL_FLAGS_KIND_ABSOLUTE,
                ..Export::regular(b"_abs", 0xdead_beef)
            },
            Export {
                flags: EXPORT_SYMBOL_FLAGS_REEXPORT,
                address: 2,
                reexport_name: Some(b"_other_name"),
                ..Export::regular(b"_alias", 0)
            },
            Export {
                flags: EXPORT_SYMBOL_FLAGS_REEXPORT,
                address: 1,
                ..Export::regular(b"_same", 0)
            },
            // Symbol info over 127 bytes: a two-byte terminal_size.
            Export {
                flags: EXPORT_SYMBOL_FLAGS_REEXPORT,
                address: 300,
                reexport_name: Some(&[b'y'; 200]),
                ..Export::regular(b"_long_alias", 0)
            },
            Export {
                flags: EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER,
                address: 0x4000,
                resolver: 0x4100,
                ..Export::regular(b"_resolved", 0)
            },
            Export::regular(b"_big", u64::MAX),
            Export::regular(b"\xff\xfe", 1),
            Export::regular(b"a", 2),
            Export::regular(b"_", 3),
        ];
        let trie = build(&exports);
        check_layout(&trie);
        assert_eq!(parse(&trie).unwrap(), sorted_owned(&exports));
        for e in &exports {
            assert_eq!(
                lookup(&trie, e.name).as_ref(),
                Some(&owned(e)),
                "{:?}",
                e.name
            );
        }
        for absent in [
            &b"_f"[..],
            b"_foob",
            b"_foobarx",
            b"_x",
            b"b",
            b"\xff",
            b"__",
        ] {
            assert_eq!(lookup(&trie, absent), None);
        }
        // Same set, other orders: same bytes.
        for seed in 1..20 {
            let mut v = exports.clone();
            shuffle(&mut v, seed);
            assert_eq!(build(&v), trie);
        }
        // And a parsed trie rebuilds to itself.
        let parsed = parse(&trie).unwrap();
        let again: Vec<Export<'_>> = parsed.iter().map(OwnedExport::as_export).collect();
        assert_eq!(build(&again), trie);
    }

    #[test]
    fn offsets_reach_a_fixed_point() {
        // Enough nodes that child offsets cross the 1- and 2-byte ULEB
        // boundaries, with long labels and large terminal info.
        let names: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| {
                let mut s = format!("_sym{}", i % 97).into_bytes();
                s.extend(std::iter::repeat_n(b'x', (i % 13) as usize * 20));
                s.extend(format!("_{i}").bytes());
                s
            })
            .collect();
        let exports: Vec<Export<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Export::regular(n, (i as u64) << (i % 50)))
            .collect();
        let trie = build(&exports);
        assert!(trie.len() > 20_000);
        check_layout(&trie);
        assert_eq!(parse(&trie).unwrap(), sorted_owned(&exports));
        for e in exports.iter().step_by(37) {
            assert_eq!(lookup(&trie, e.name).unwrap(), owned(e));
        }
    }

    #[test]
    fn random_names_with_long_shared_prefixes() {
        // Names over a two-letter alphabet after long common prefixes: runs
        // that tie past 16 and 32 bytes, names that are prefixes of others.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let stems: [&[u8]; 3] = [
            b"__ZN4llvm12DenseMapBaseINS_",
            b"__ZN4llvm12DenseMapBaseINS_8Dense",
            b"_x",
        ];
        let mut names: Vec<Vec<u8>> = (0..5000)
            .map(|_| {
                let mut name = stems[rand(3) as usize].to_vec();
                for _ in 0..rand(24) {
                    name.push(if rand(2) == 0 { b'a' } else { b'b' });
                }
                name
            })
            .collect();
        names.sort();
        names.dedup();
        let exports: Vec<Export<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Export::regular(n, i as u64 * 4))
            .collect();
        let trie = build(&exports);
        check_layout(&trie);
        assert_eq!(parse(&trie).unwrap(), sorted_owned(&exports));
        for e in exports.iter().step_by(7) {
            assert_eq!(lookup(&trie, e.name).unwrap(), owned(e));
        }
        let mut shuffled = exports.clone();
        shuffle(&mut shuffled, 7);
        assert_eq!(build(&shuffled), trie);
    }

    #[test]
    fn malformed_input_is_rejected_without_panicking() {
        // A child pointing back at the root: a cycle.
        let cycle = [0x00, 0x01, b'a', 0x00, 0x00];
        assert_eq!(parse(&cycle), None);
        assert_eq!(lookup(&cycle, b"aaaaaaaa"), None);
        // A node pointing at itself through an empty label.
        let self_loop = [0x00, 0x01, 0x00, 0x00];
        assert_eq!(parse(&self_loop), None);
        assert_eq!(lookup(&self_loop, b"a"), None);
        // Two parents sharing a child.
        let shared = [
            0x00, 0x02, b'a', 0x00, 0x09, b'b', 0x00, 0x09, 0x00, 0x02, 0x00, 0x01, 0x00,
        ];
        assert_eq!(parse(&shared), None);
        // Child offset out of bounds; terminal size past the end; no child
        // count; unterminated label; overlong ULEB.
        assert_eq!(parse(&[0x00, 0x01, b'a', 0x00, 0x40]), None);
        assert_eq!(parse(&[0x05, 0x00, 0x00]), None);
        assert_eq!(parse(&[0x00]), None);
        assert_eq!(parse(&[0x00, 0x01, b'a', b'b']), None);
        assert_eq!(parse(&[0xff; 12]), None);
        // Padding-only trie: a root with no symbols.
        assert_eq!(parse(&[0; 8]), Some(vec![]));

        // Every truncation and many byte corruptions of a real trie.
        let names: Vec<Vec<u8>> = (0..200)
            .map(|i| format!("_n{}_{}", i % 7, i).into_bytes())
            .collect();
        let exports: Vec<Export<'_>> = names.iter().map(|n| Export::regular(n, 0x1000)).collect();
        let trie = build(&exports);
        for cut in 0..trie.len() {
            let _ = parse(&trie[..cut]);
            let _ = lookup(&trie[..cut], b"_n3_10");
        }
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..3000 {
            let mut t = trie.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % t.len() as u64) as usize;
                t[at] = (seed >> 32) as u8;
            }
            let _ = parse(&t);
            let _ = lookup(&t, b"_n3_10");
            let _ = lookup(&t, b"_n6_199");
        }
    }

    /// Written in parts (runs of nodes side by side), the trie has the
    /// same bytes as written in one piece, for names whose subtrees are of
    /// every size: deep shared prefixes, names that are prefixes of
    /// others, single-name leaves, long names that cross the 16-byte sort
    /// keys.
    #[test]
    fn parts_give_the_same_bytes() {
        let mut names: Vec<Vec<u8>> = Vec::new();
        for obj in 0..40 {
            for idx in 0..(obj * 37 % 300 + 1) {
                names.push(format!("_f_{obj}_{idx}").into_bytes());
            }
            names.push(format!("_f_{obj}").into_bytes());
            names.push(format!("_{obj}_a_very_long_shared_prefix_of_names_{obj}").into_bytes());
        }
        for k in 0..500 {
            names.push(format!("_Z{}name{k}", "N".repeat(k % 23)).into_bytes());
        }
        names.push(b"__mh_execute_header".to_vec());
        let mut exports: Vec<Export<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Export {
                flags: (i as u64 % 3) * EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION,
                ..Export::regular(n, 0x1000 + 4099 * i as u64)
            })
            .collect();
        shuffle(&mut exports, 7);
        let whole = build_in_parts(&exports, 1);
        check_layout(&whole);
        assert_eq!(parse(&whole).unwrap(), sorted_owned(&exports));
        for parts in [2, 3, 8, 64, 1000, exports.len(), 3 * exports.len()] {
            assert_eq!(build_in_parts(&exports, parts), whole, "{parts} parts");
        }
        exports.sort_by(|a, b| a.name.cmp(b.name));
        assert_eq!(build_in_parts(&exports, 8), whole);
        // A single export in parts.
        assert_eq!(build_in_parts(&exports[..1], 8), build(&exports[..1]));
    }

    /// The radix sort of long runs orders names as a comparison sort
    /// does: bytes over 0x7f, names that are prefixes of others, ties past
    /// the first 16 bytes, and lists long and short.
    #[test]
    fn sorted_order_matches_a_comparison_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for count in [
            3usize,
            RADIX_RUN - 1,
            RADIX_RUN,
            4 * RADIX_RUN + 7,
            20_000,
            WIDE_RUN + 5,
        ] {
            let mut names: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let stem: &[u8] =
                        [&b"_"[..], b"_abcdefghijklmnopq", b"\xff\x80"][rand(3) as usize];
                    let mut name = stem.to_vec();
                    for _ in 0..rand(20) {
                        name.push([b'a', b'b', 0xc3, 0x7f][rand(4) as usize]);
                    }
                    name
                })
                .collect();
            names.sort();
            names.dedup();
            shuffle(&mut names, count as u64);
            let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
            let order = sorted_order(&refs);
            let got: Vec<&[u8]> = order.iter().map(|&k| refs[k as usize]).collect();
            let mut want = refs.clone();
            want.sort();
            assert_eq!(got, want, "{count} names");
            // Split into parts sorted apart, or not: the same order and
            // common prefixes.
            for parallel in [false, true] {
                let sorted = sort_names_with(&refs, parallel);
                let got: Vec<&[u8]> = sorted.idx.iter().map(|&k| refs[k as usize]).collect();
                assert_eq!(got, want, "{count} names, parallel {parallel}");
                assert_eq!(sorted.lcp[0], 0);
                for s in 1..got.len() {
                    assert_eq!(sorted.lcp[s] as usize, common_prefix(got[s - 1], got[s]));
                }
            }
        }
        // Long lists differing in an odd number of bytes (the last wide
        // digit pairs one with a byte all share), or in few.
        for (count, step) in [(WIDE_RUN + 1, 7919u64), (70_000, 1)] {
            let mut names: Vec<Vec<u8>> = (0..count as u64)
                .map(|i| format!("_f_{}", (i * step) % 100_003).into_bytes())
                .collect();
            shuffle(&mut names, count as u64);
            let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
            let sorted = sort(&refs);
            let got: Vec<&[u8]> = sorted.order.iter().map(|&k| refs[k as usize]).collect();
            let mut want = refs.clone();
            want.sort();
            assert_eq!(got, want, "{count} numbered names");
            for s in 1..got.len() {
                assert_eq!(sorted.lcp[s] as usize, common_prefix(got[s - 1], got[s]));
            }
        }
    }

    /// 100k exports named like the benchmark's functions; prints the build
    /// time (meaningful with `--release`).
    #[test]
    fn hundred_thousand_exports() {
        let mut names: Vec<Vec<u8>> = Vec::with_capacity(100_000);
        for obj in 0..100 {
            for idx in 0..1000 {
                names.push(format!("_f_{obj}_{idx}").into_bytes());
            }
        }
        let mut exports: Vec<Export<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Export::regular(n, 0x1000 + 16 * i as u64))
            .collect();
        shuffle(&mut exports, 42);

        let start = Instant::now();
        let trie = build(&exports);
        let first = start.elapsed();
        let mut best = first;
        for _ in 0..5 {
            let start = Instant::now();
            let again = build(&exports);
            best = best.min(start.elapsed());
            assert_eq!(again, trie);
        }
        let start = Instant::now();
        let parsed = parse(&trie).unwrap();
        let parse_time = start.elapsed();
        eprintln!(
            "export trie: {} names -> {} bytes; build {:?} (first {:?}), parse {:?}",
            exports.len(),
            trie.len(),
            best,
            first,
            parse_time
        );
        check_layout(&trie);
        assert_eq!(parsed, sorted_owned(&exports));
        // Names passed in order take the already-sorted path: same bytes.
        let mut in_order = exports.clone();
        in_order.sort_by(|a, b| a.name.cmp(b.name));
        assert_eq!(build(&in_order), trie);
        for e in exports.iter().step_by(997) {
            assert_eq!(lookup(&trie, e.name).unwrap(), owned(e));
        }
        assert_eq!(lookup(&trie, b"_f_100_0"), None);
        assert_eq!(lookup(&trie, b"_f_1_"), None);
    }
}
