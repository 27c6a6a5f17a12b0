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
//! changes (see [`build`]). The result is zero-padded to a multiple of 8
//! bytes, as lld and ld64 pad it.
//!
//! # Cost
//!
//! [`build`] reads each export once, sequentially, and encodes its symbol
//! info into one buffer. It sorts the names 16 bytes at a time (each
//! name's next 16 bytes as one integer key, names that tie refined by the
//! next 16; already sorted names are only checked), which yields the
//! longest common prefix of sorted neighbours on the way, then derives the whole
//! trie from those lengths alone: a node over sorted names `[lo, hi)` at
//! depth `d` splits where neighbours share exactly `d` bytes, and its child
//! sits at the group's minimum common prefix. Edges carry whole label
//! strings as ranges of the input names; nodes and edges live in two arenas
//! of plain indices, with nothing allocated per node. About 10 ms for 100k
//! names like `_f_12_345` on a 2-core EPYC VM (see the
//! `hundred_thousand_exports` test).

use super::uleb::{read_uleb, uleb_len, write_uleb};

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

fn write_terminal_info(out: &mut Vec<u8>, e: &Export<'_>) {
    write_uleb(out, e.flags);
    write_uleb(out, e.address);
    if e.flags & EXPORT_SYMBOL_FLAGS_REEXPORT != 0 {
        out.extend_from_slice(e.reexport_name.unwrap_or_default());
        out.push(0);
    } else if e.flags & EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER != 0 {
        write_uleb(out, e.resolver);
    }
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
    match rest.first_chunk::<16>() {
        Some(chunk) => u128::from_be_bytes(*chunk),
        None => {
            let mut buf = [0u8; 16];
            buf[..rest.len()].copy_from_slice(rest);
            u128::from_be_bytes(buf)
        }
    }
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
/// chunk compared as one integer key (big runs sorted in parallel), runs
/// that tie on a chunk refined by the next one. The common prefix of neighbours falls out of
/// the keys where they first differ, so name bytes are read once, chunk by
/// chunk, and only as far as needed to tell the names apart.
fn sort_names(names: &[&[u8]]) -> SortedNames {
    let n = names.len();
    if let Some(sorted) = already_sorted(names) {
        return sorted;
    }
    let mut items: Vec<SortItem> = names
        .iter()
        .enumerate()
        .map(|(i, name)| SortItem {
            key: chunk_key(name, 0),
            idx: i as u32,
            len: u32::try_from(name.len()).expect("symbol name over 4 GiB"),
        })
        .collect();
    let mut lcp = vec![0u32; n];
    // items[start..end] agree on their first `offset` bytes and are keyed by
    // the chunk at `offset`; lcp at start and end is already known.
    let mut work = vec![(0usize, n, 0usize)];
    while let Some((start, end, offset)) = work.pop() {
        let run = &mut items[start..end];
        if run.len() < PARALLEL_RUN {
            run.sort_unstable_by_key(|item| item.key);
        } else {
            use rayon::slice::ParallelSliceMut;
            run.par_sort_unstable_by_key(|item| item.key);
        }
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
    SortedNames {
        idx: items.iter().map(|item| item.idx).collect(),
        len: items.iter().map(|item| item.len).collect(),
        lcp,
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
    sort_names(names).idx
}

/// `names` as [`SortedNames`] when they are already sorted (callers that
/// sort the same names for another table pass them in order): only the
/// common prefixes are needed then. Long lists are checked and measured
/// in parallel.
fn already_sorted(names: &[&[u8]]) -> Option<SortedNames> {
    use rayon::prelude::*;
    let n = names.len();
    let prefix = |i: usize| {
        if i == 0 {
            0
        } else {
            common_prefix(names[i - 1], names[i]) as u32
        }
    };
    if n < PARALLEL_RUN {
        if !names.windows(2).all(|w| w[0] < w[1]) {
            return None;
        }
        return Some(SortedNames {
            idx: (0..n as u32).collect(),
            len: names.iter().map(|name| name.len() as u32).collect(),
            lcp: (0..n).map(prefix).collect(),
        });
    }
    if !names.par_windows(2).with_min_len(4096).all(|w| w[0] < w[1]) {
        return None;
    }
    let ((idx, len), lcp) = rayon::join(
        || {
            rayon::join(
                || (0..n as u32).into_par_iter().with_min_len(4096).collect(),
                || {
                    names
                        .par_iter()
                        .with_min_len(4096)
                        .map(|name| name.len() as u32)
                        .collect()
                },
            )
        },
        || {
            (0..n)
                .into_par_iter()
                .with_min_len(4096)
                .map(prefix)
                .collect()
        },
    );
    Some(SortedNames { idx, len, lcp })
}

/// Length of the longest common prefix of `a` and `b`, compared 8 bytes
/// at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
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

/// A node of the trie under construction, in layout (pre-)order.
#[derive(Clone, Copy)]
struct Node {
    /// Index (in `exports`) of the name ending here, or `NONE`.
    terminal: u32,
    /// Outgoing edges are `edges[first_edge..first_edge + edge_count]`.
    first_edge: u32,
    edge_count: u32,
    /// Size of the node without its child offsets.
    fixed_size: u32,
}

/// A node that stands for a subtree expanded on its own (see [`expand`]).
const PLACEHOLDER: Node = Node {
    terminal: NONE,
    first_edge: 0,
    edge_count: 0,
    fixed_size: 0,
};

/// An edge: its label is `names[name][start..end]` (`name` indexes the
/// exports).
#[derive(Clone, Copy)]
struct Edge {
    child: u32,
    name: u32,
    start: u32,
    end: u32,
}

/// A node still to be expanded: sorted names `[lo, hi)` below a prefix of
/// length `depth`, reached through `edge` (`NONE` for the root).
struct Pending {
    lo: u32,
    hi: u32,
    depth: u32,
    edge: u32,
}

/// At least this many exports are built by several threads; below it the
/// threads would cost more than they save.
const PARALLEL_EXPORTS: usize = 16384;

/// What node expansion reads: the sorted names ([`SortedNames`]) and the
/// end of each export's encoded terminal part.
struct Expansion<'s> {
    idx: &'s [u32],
    lens: &'s [u32],
    lcp: &'s [u32],
    terminal_end: &'s [u32],
}

/// Nodes (in pre-order) and edges of the trie or of one subtree of it,
/// with indices local to it.
#[derive(Default)]
struct Arena {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

/// A subtree left out of an expansion: sorted names `[lo, hi)` below a
/// prefix of length `depth`, whose root is the placeholder node `at`.
struct Subtree {
    at: u32,
    lo: u32,
    hi: u32,
    depth: u32,
}

/// Builds the export trie of `exports` (any order, unique names). See the
/// module documentation for the layout. Returns an empty vector when there
/// is nothing to export, as linkers omit the trie then.
pub fn build(exports: &[Export<'_>]) -> Vec<u8> {
    let threads = rayon::current_num_threads();
    let parts = if exports.len() >= PARALLEL_EXPORTS && threads > 1 {
        // A few parts a thread, so that uneven subtrees still balance.
        threads * 4
    } else {
        1
    };
    build_in_parts(exports, parts)
}

/// [`build`], with the work cut into `parts` pieces run in parallel: the
/// exports' encoding, the subtrees of at most `n / parts` names, and the
/// write. The bytes do not depend on `parts`.
fn build_in_parts(exports: &[Export<'_>], parts: usize) -> Vec<u8> {
    let n = exports.len();
    if n == 0 {
        return Vec::new();
    }
    assert!(n < NONE as usize, "too many exports for one trie");

    // 1. The names, and the terminal parts encoded into one buffer.
    let (names, terminal, terminal_end) = encode(exports, parts);

    // 2. Sort by name.
    let SortedNames {
        idx: sorted_idx,
        len: lens,
        lcp,
    } = sort_names(&names);
    debug_assert!(
        (1..n).all(|s| !(lcp[s] == lens[s] && lens[s] == lens[s - 1])),
        "duplicate export names"
    );

    // 3. Nodes and edges: the top of the trie by one thread, leaving out
    // subtrees of at most `n / parts` names, which are expanded side by
    // side and spliced in where they belong.
    let x = Expansion {
        idx: &sorted_idx,
        lens: &lens,
        lcp: &lcp,
        terminal_end: &terminal_end,
    };
    let cutoff = (parts > 1).then(|| n.div_ceil(parts));
    let mut deferred = Vec::new();
    let top = expand(&x, (0, n as u32, 0), cutoff, &mut deferred);
    let arena = if deferred.is_empty() {
        top
    } else {
        use rayon::prelude::*;
        let subtrees: Vec<Arena> = deferred
            .par_iter()
            .map(|t| expand(&x, (t.lo, t.hi, t.depth), None, &mut Vec::new()))
            .collect();
        splice(top, &deferred, subtrees)
    };

    // 4. Offsets, then 5. the bytes.
    let (offsets, total) = node_offsets(&arena);
    let mut out = vec![0u8; total.next_multiple_of(8)];
    let sources = Sources {
        names: &names,
        terminal: &terminal,
        terminal_end: &terminal_end,
    };
    write_nodes_in_parts(&mut out[..total], &arena, &offsets, &sources, parts);
    out
}

/// One sequential pass per part over the exports (random access to them
/// later would miss the cache on every node): their names, and their
/// terminal parts (`terminal_size` and the info) encoded into one buffer,
/// export i's at `terminal[terminal_end[i]..terminal_end[i + 1]]`.
fn encode<'a>(exports: &[Export<'a>], parts: usize) -> (Vec<&'a [u8]>, Vec<u8>, Vec<u32>) {
    use rayon::prelude::*;
    let too_big = "export info over 4 GiB";
    // Each part's bytes, and the end of each of its exports' bytes after
    // a leading 0.
    let mut pieces: Vec<(Vec<u8>, Vec<u32>)> = exports
        .par_chunks(exports.len().div_ceil(parts).max(1))
        .map(|chunk| {
            let mut bytes: Vec<u8> = Vec::with_capacity(chunk.len() * 6);
            let mut ends: Vec<u32> = Vec::with_capacity(chunk.len() + 1);
            ends.push(0);
            for e in chunk {
                debug_assert!(!e.name.contains(&0), "export name with a NUL byte");
                write_uleb(&mut bytes, terminal_info_size(e) as u64);
                write_terminal_info(&mut bytes, e);
                ends.push(u32::try_from(bytes.len()).expect(too_big));
            }
            (bytes, ends)
        })
        .collect();
    let names: Vec<&'a [u8]> = if parts > 1 {
        exports.par_iter().map(|e| e.name).collect()
    } else {
        exports.iter().map(|e| e.name).collect()
    };
    if pieces.len() == 1 {
        let (bytes, ends) = pieces.pop().unwrap_or_default();
        return (names, bytes, ends);
    }
    let mut terminal = Vec::with_capacity(pieces.iter().map(|p| p.0.len()).sum());
    let mut terminal_end = Vec::with_capacity(exports.len() + 1);
    terminal_end.push(0);
    for (bytes, ends) in pieces {
        let base = u32::try_from(terminal.len()).expect(too_big);
        terminal.extend_from_slice(&bytes);
        terminal_end.extend(
            ends[1..]
                .iter()
                .map(|&end| base.checked_add(end).expect(too_big)),
        );
    }
    (names, terminal, terminal_end)
}

/// Expands sorted names `[lo, hi)` below a prefix of length `depth` into
/// nodes and edges, depth-first, so nodes are numbered in pre-order. A node
/// over sorted names [lo, hi) at depth d: the name of length d (sorted
/// first) ends here; the rest split into groups where neighbours share
/// exactly d bytes; a group's child sits at the group's longest common
/// prefix. With a `cutoff`, a child over at most that many names is not
/// expanded: it gets a placeholder node and is listed in `deferred`, for
/// [`splice`].
fn expand(
    x: &Expansion,
    (lo, hi, depth): (u32, u32, u32),
    cutoff: Option<usize>,
    deferred: &mut Vec<Subtree>,
) -> Arena {
    let count = (hi - lo) as usize;
    let mut arena = Arena {
        nodes: Vec::with_capacity(count.min(cutoff.unwrap_or(count)) * 2),
        edges: Vec::with_capacity(count.min(cutoff.unwrap_or(count)) * 2),
    };
    let (nodes, edges) = (&mut arena.nodes, &mut arena.edges);
    let mut stack = vec![Pending {
        lo,
        hi,
        depth,
        edge: NONE,
    }];
    while let Some(Pending {
        lo,
        hi,
        depth,
        edge,
    }) = stack.pop()
    {
        let k = nodes.len() as u32;
        if edge != NONE {
            edges[edge as usize].child = k;
            if cutoff.is_some_and(|c| (hi - lo) as usize <= c) {
                deferred.push(Subtree {
                    at: k,
                    lo,
                    hi,
                    depth,
                });
                nodes.push(PLACEHOLDER);
                continue;
            }
        }
        let (lo, hi) = (lo as usize, hi as usize);
        let mut i = lo;
        let mut ends_here = NONE;
        let mut size = 1; // terminal_size 0
        if x.lens[i] == depth {
            ends_here = x.idx[i];
            let t = ends_here as usize;
            size = (x.terminal_end[t + 1] - x.terminal_end[t]) as usize;
            i += 1;
            // Duplicates (a caller bug) keep the first.
            while i < hi && x.lens[i] == depth {
                i += 1;
            }
        }
        size += 1; // child count
        let first_edge = edges.len() as u32;
        let base = stack.len();
        while i < hi {
            let mut j = i + 1;
            let mut child_depth = u32::MAX;
            while j < hi && x.lcp[j] > depth {
                child_depth = child_depth.min(x.lcp[j]);
                j += 1;
            }
            if j == i + 1 {
                child_depth = x.lens[i];
            }
            size += (child_depth - depth) as usize + 1; // label and its NUL
            stack.push(Pending {
                lo: i as u32,
                hi: j as u32,
                depth: child_depth,
                edge: edges.len() as u32,
            });
            edges.push(Edge {
                child: NONE,
                name: x.idx[i],
                start: depth,
                end: child_depth,
            });
            i = j;
        }
        // First child on top: it is expanded (numbered) next.
        stack[base..].reverse();
        let edge_count = edges.len() as u32 - first_edge;
        debug_assert!(edge_count <= 255, "more than 255 edges from a node");
        nodes.push(Node {
            terminal: ends_here,
            first_edge,
            edge_count,
            fixed_size: u32::try_from(size).expect("export trie node over 4 GiB"),
        });
    }
    arena
}

/// Puts each deferred subtree in place of its placeholder in `top`: the
/// nodes in pre-order, the top's edges first (their `first_edge` stays),
/// then each subtree's.
fn splice(top: Arena, deferred: &[Subtree], subtrees: Vec<Arena>) -> Arena {
    // Where each top node lands.
    let mut landing = Vec::with_capacity(top.nodes.len());
    let mut at = 0u32;
    let mut next = deferred.iter().zip(&subtrees).peekable();
    for k in 0..top.nodes.len() as u32 {
        landing.push(at);
        at += match next.next_if(|(t, _)| t.at == k) {
            Some((_, sub)) => sub.nodes.len() as u32,
            None => 1,
        };
    }
    let edge_total = top.edges.len() + subtrees.iter().map(|s| s.edges.len()).sum::<usize>();
    let mut edges = Vec::with_capacity(edge_total);
    edges.extend(top.edges.iter().map(|e| Edge {
        child: landing[e.child as usize],
        ..*e
    }));
    let mut nodes = Vec::with_capacity(at as usize);
    let mut subtrees = deferred.iter().zip(subtrees).peekable();
    for (k, node) in top.nodes.iter().enumerate() {
        let Some((_, sub)) = subtrees.next_if(|(t, _)| t.at as usize == k) else {
            nodes.push(*node);
            continue;
        };
        let (node_base, edge_base) = (nodes.len() as u32, edges.len() as u32);
        nodes.extend(sub.nodes.iter().map(|n| Node {
            first_edge: n.first_edge + edge_base,
            ..*n
        }));
        edges.extend(sub.edges.iter().map(|e| Edge {
            child: e.child + node_base,
            ..*e
        }));
    }
    Arena { nodes, edges }
}

/// Each node's offset, and the trie's size unpadded, at the fixed point.
/// Children follow their parent, so a pass sizes each node with its
/// children's offsets from the previous pass. The first pass starts from
/// every child offset taking one byte, a lower bound of every offset;
/// iterating from below converges to the least (compact) layout, as
/// iterating from all-zero offsets would, and from this bound in two or
/// three passes. Once no offset changes its ULEB length from one pass to
/// the next, sizes are exact. Offsets are u32, like the load command's
/// `datasize`.
fn node_offsets(arena: &Arena) -> (Vec<u32>, usize) {
    let too_big = "export trie over 4 GiB";
    let Arena { nodes, edges } = arena;
    let mut offsets = vec![0u32; nodes.len()];
    let mut offset = 0u64;
    for (k, node) in nodes.iter().enumerate() {
        offsets[k] = u32::try_from(offset).expect(too_big);
        offset += u64::from(node.fixed_size) + u64::from(node.edge_count);
    }
    loop {
        let mut offset = 0u64;
        let mut stable = true;
        for (k, node) in nodes.iter().enumerate() {
            let new = u32::try_from(offset).expect(too_big);
            stable &= offset_len(offsets[k]) == offset_len(new);
            offsets[k] = new;
            let node_edges = node.first_edge as usize..(node.first_edge + node.edge_count) as usize;
            let mut size = node.fixed_size as usize;
            for e in &edges[node_edges] {
                size += offset_len(offsets[e.child as usize]);
            }
            offset += size as u64;
        }
        if stable {
            return (offsets, usize::try_from(offset).expect(too_big));
        }
    }
}

/// ULEB length of a u32 offset (the same as [`uleb_len`], cheaper: this
/// runs for every node and edge on each pass).
#[inline]
fn offset_len(v: u32) -> usize {
    1 + usize::from(v >= 1 << 7)
        + usize::from(v >= 1 << 14)
        + usize::from(v >= 1 << 21)
        + usize::from(v >= 1 << 28)
}

/// What the write copies bytes from.
struct Sources<'s, 'a> {
    names: &'s [&'a [u8]],
    terminal: &'s [u8],
    terminal_end: &'s [u32],
}

/// Writes the nodes into `out` (exactly the trie's bytes, unpadded):
/// their offsets are known, so `parts` runs of nodes are written side by
/// side, each into its own range of `out`.
fn write_nodes_in_parts(
    mut out: &mut [u8],
    arena: &Arena,
    offsets: &[u32],
    sources: &Sources,
    parts: usize,
) {
    use rayon::prelude::*;
    let n = arena.nodes.len();
    let total = out.len();
    let per_part = n.div_ceil(parts.max(1));
    let mut runs = Vec::with_capacity(parts);
    let mut first = 0;
    while first < n {
        let end = (first + per_part).min(n);
        let end_offset = offsets.get(end).map_or(total, |&o| o as usize);
        let (run, rest) = out.split_at_mut(end_offset - offsets[first] as usize);
        runs.push((first..end, run));
        out = rest;
        first = end;
    }
    runs.into_par_iter()
        .for_each(|(range, run)| write_nodes(run, range, arena, offsets, sources));
}

/// Writes nodes `range` into `out`, which starts at the first one's offset
/// and ends at the next one's.
fn write_nodes(
    out: &mut [u8],
    range: std::ops::Range<usize>,
    arena: &Arena,
    offsets: &[u32],
    s: &Sources,
) {
    let mut w = Cursor { out, at: 0 };
    let start = range.start;
    for (k, node) in arena.nodes[range].iter().enumerate() {
        debug_assert_eq!(w.at, (offsets[start + k] - offsets[start]) as usize);
        if node.terminal == NONE {
            w.put(&[0]);
        } else {
            let t = node.terminal as usize;
            w.put(&s.terminal[s.terminal_end[t] as usize..s.terminal_end[t + 1] as usize]);
        }
        w.put(&[node.edge_count as u8]);
        let node_edges = node.first_edge as usize..(node.first_edge + node.edge_count) as usize;
        for e in &arena.edges[node_edges] {
            w.put(&s.names[e.name as usize][e.start as usize..e.end as usize]);
            w.put(&[0]);
            let (bytes, len) = uleb_u32(offsets[e.child as usize]);
            w.put(&bytes[..len]);
        }
    }
    debug_assert_eq!(w.at, w.out.len());
}

/// Writes bytes one after another into a slice sized for them.
struct Cursor<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// `v` as ULEB128: the bytes and how many of them are used.
#[inline]
fn uleb_u32(mut v: u32) -> ([u8; 5], usize) {
    let mut bytes = [0u8; 5];
    let mut len = 0;
    while v >= 0x80 {
        bytes[len] = (v as u8) | 0x80;
        v >>= 7;
        len += 1;
    }
    bytes[len] = v as u8;
    (bytes, len + 1)
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

    /// Built in parts (subtrees expanded apart and spliced, the encoding
    /// and the write split), the trie has the same bytes as built in one
    /// piece, for names whose subtrees are of every size: deep shared
    /// prefixes, names that are prefixes of others, single-name leaves,
    /// long names that cross the 16-byte sort keys.
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
