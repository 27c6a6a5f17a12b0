//! Rewriting the symbol table, string table, indirect symbol table and
//! exports trie when an update adds, removes or renames symbols.
//!
//! The old tables are read back from the output; each changed object's old
//! entries (its debug-map group, found by its N_OSO path, and the symbols
//! whose addresses lie in its old atoms) are replaced by its new ones, made
//! by the full link's own `symbol_groups`. The tables are then written again
//! whole, into the room the full link reserved after each. This costs time
//! in proportion to the symbol table, and happens only when an edit changes
//! which symbols exist (a plain edit of a function leaves every table as it
//! is).

use crate::formats::trie;
use crate::linkedit::symtab::{Nlist, SymbolGroups};
use object::macho;
use std::borrow::Cow;
use std::ops::Range;

/// One changed object's part of the tables.
pub struct SymbolEdit {
    /// Its N_OSO path: its debug-map group.
    pub oso: String,
    /// Where its old atoms were (addresses).
    pub old_ranges: Vec<Range<u64>>,
    /// Its new entries.
    pub new: SymbolGroups<'static>,
}

/// An undefined symbol an update adds (a new import), and the stub and GOT
/// slot addresses whose indirect entries must name it.
pub struct NewUndefined {
    pub name: Vec<u8>,
    pub n_desc: u16,
    pub slots: Vec<u64>,
}

/// File offset of the first load command `cmd`.
pub fn load_command(image: &[u8], cmd: u32) -> Option<usize> {
    let ncmds = u32_at(image, 16)?;
    let mut at = 32;
    for _ in 0..ncmds {
        if u32_at(image, at)? == cmd {
            return Some(at);
        }
        at += (u32_at(image, at + 4)? as usize).max(8);
    }
    None
}

/// The indirect-table index of the stub or pointer slot at `addr`: its
/// section's `reserved1` plus its entry number.
fn indirect_index(image: &[u8], addr: u64) -> Option<usize> {
    let ncmds = u32_at(image, 16)?;
    let mut at = 32;
    for _ in 0..ncmds {
        let (cmd, size) = (u32_at(image, at)?, u32_at(image, at + 4)? as usize);
        if cmd == macho::LC_SEGMENT_64 {
            let nsects = u32_at(image, at + 64)? as usize;
            for k in 0..nsects {
                let h = at + 72 + k * 80;
                let sect_addr = u64::from_le_bytes(image.get(h + 32..h + 40)?.try_into().ok()?);
                let sect_size = u64::from_le_bytes(image.get(h + 40..h + 48)?.try_into().ok()?);
                let flags = u32_at(image, h + 64)?;
                let entry = match flags & macho::SECTION_TYPE {
                    macho::S_SYMBOL_STUBS => u64::from(u32_at(image, h + 72)?),
                    macho::S_NON_LAZY_SYMBOL_POINTERS | macho::S_LAZY_SYMBOL_POINTERS => 8,
                    _ => continue,
                };
                if entry > 0 && (sect_addr..sect_addr + sect_size).contains(&addr) {
                    let reserved1 = u32_at(image, h + 68)? as usize;
                    return Some(reserved1 + ((addr - sect_addr) / entry) as usize);
                }
            }
        }
        at += size.max(8);
    }
    None
}

/// Makes the indirect entries of pointer slots `slots` (reserved ones an
/// update gave defined symbols) `INDIRECT_SYMBOL_LOCAL`, as a full link
/// writes a GOT slot of a symbol bound in the image; returns the ranges
/// written.
pub fn make_local_indirect(
    orig: &[u8],
    img: &mut [u8],
    slots: &[u64],
) -> Result<Vec<Range<u64>>, String> {
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let c = commands(orig).ok_or("the output's load commands lack a symbol table")?;
    let field = |at: usize| {
        u32_at(orig, at)
            .map(|v| v as usize)
            .ok_or("truncated load command")
    };
    let (indirect_off, nindirect) = (field(c.dysymtab + 56)?, field(c.dysymtab + 60)?);
    let mut touched = Vec::new();
    for &slot in slots {
        let k = indirect_index(orig, slot).ok_or("a new GOT slot has no indirect entry")?;
        if k >= nindirect {
            return Err("a new GOT slot is past the indirect symbol table".into());
        }
        let at = indirect_off + k * 4;
        img.get_mut(at..at + 4)
            .ok_or("the indirect symbol table lies outside the file")?
            .copy_from_slice(&macho::INDIRECT_SYMBOL_LOCAL.to_le_bytes());
        touched.push(at as u64..at as u64 + 4);
    }
    Ok(touched)
}

/// Offsets of the load commands an edit patches.
#[derive(Default)]
struct Commands {
    symtab: usize,
    dysymtab: usize,
    /// LC_DYLD_EXPORTS_TRIE (its datasize at +12), or LC_DYLD_INFO_ONLY
    /// (export size at +44).
    exports_size_at: usize,
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn commands(image: &[u8]) -> Option<Commands> {
    let ncmds = u32_at(image, 16)?;
    let mut at = 32;
    let mut c = Commands::default();
    for _ in 0..ncmds {
        let (cmd, size) = (u32_at(image, at)?, u32_at(image, at + 4)? as usize);
        match cmd {
            macho::LC_SYMTAB => c.symtab = at,
            macho::LC_DYSYMTAB => c.dysymtab = at,
            macho::LC_DYLD_EXPORTS_TRIE => c.exports_size_at = at + 12,
            macho::LC_DYLD_INFO_ONLY => c.exports_size_at = at + 44,
            _ => {}
        }
        at += size.max(8);
    }
    (c.symtab != 0 && c.dysymtab != 0 && c.exports_size_at != 0).then_some(c)
}

/// The load commands, and LC_SYMTAB's symbol table offset, symbol count,
/// string table offset and size.
fn symtab_fields(image: &[u8]) -> Result<(Commands, [usize; 4]), String> {
    let c = commands(image).ok_or("the output's load commands lack a symbol table")?;
    let field = |at: usize| {
        u32_at(image, at)
            .map(|v| v as usize)
            .ok_or("truncated load command")
    };
    let fields = [
        field(c.symtab + 8)?,
        field(c.symtab + 12)?,
        field(c.symtab + 16)?,
        field(c.symtab + 20)?,
    ];
    Ok((c, fields))
}

fn read_nlists<'a>(
    image: &'a [u8],
    symoff: usize,
    n: usize,
    strings: &'a [u8],
) -> Option<Vec<Nlist<'a>>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let e = image.get(symoff + i * 16..symoff + i * 16 + 16)?;
        let strx = u32::from_le_bytes(e[0..4].try_into().ok()?) as usize;
        let rest = strings.get(strx..)?;
        let name = &rest[..rest.iter().position(|&b| b == 0)?];
        out.push(Nlist {
            name: Cow::Borrowed(name),
            n_type: e[4],
            n_sect: e[5],
            n_desc: u16::from_le_bytes([e[6], e[7]]),
            n_value: u64::from_le_bytes(e[8..16].try_into().ok()?),
        });
    }
    Some(out)
}

fn in_ranges(ranges: &[Range<u64>], addr: u64) -> bool {
    ranges.iter().any(|r| r.contains(&addr))
}

/// Rewrites the values of one object's debug-map group in place (its
/// N_OSO modification time, and the addresses and sizes of its functions
/// and variables), when the group keeps its shape: `values` are the new
/// group's (n_type, n_value) in order, without its closing N_SO (the
/// image's group may go on with entries for the commons the link placed
/// for the object, which keep their values). Returns the range written,
/// None when the image has no group for `oso`, or why the shape differs.
///
/// `hint` is where the group's N_OSO was last time (checked before use);
/// the index found is returned with the range, for the next time.
pub fn patch_debug_map(
    img: &mut [u8],
    oso: &[u8],
    values: &[(u8, u64)],
    hint: Option<u32>,
) -> Result<Option<(Range<u64>, u32)>, String> {
    let (symoff, start) = {
        let image: &[u8] = img;
        let (c, [symoff, _, stroff, strsize]) = symtab_fields(image)?;
        let nlocal = u32_at(image, c.dysymtab + 12).ok_or("truncated load command")? as usize;
        let strings = image
            .get(stroff..stroff + strsize)
            .ok_or("the string table lies outside the file")?;
        // Find the group's N_OSO by type byte first; names only for those.
        let entry = |i: usize| image.get(symoff + i * 16..symoff + i * 16 + 16);
        let name_of = |e: &[u8]| {
            let strx = u32::from_le_bytes(e[0..4].try_into().unwrap()) as usize;
            let rest = strings.get(strx..)?;
            Some(&rest[..rest.iter().position(|&b| b == 0)?])
        };
        let is_ours = |i: usize| {
            i < nlocal && entry(i).is_some_and(|e| e[4] == macho::N_OSO && name_of(e) == Some(oso))
        };
        let found = match hint.map(|h| h as usize) {
            Some(h) if is_ours(h) => Some(h),
            // Without a hint (the first update after a full link, or after
            // the tables were rewritten), every local is looked at: by its
            // type byte alone, in one pass over the entries, and by name
            // only for debug-map headers.
            _ => find_osos(image, &std::collections::HashSet::from([oso]))?
                .get(oso)
                .map(|&i| i as usize),
        };
        let Some(j) = found else {
            return Ok(None);
        };
        let start = j
            .checked_sub(2)
            .ok_or("a debug-map group without its N_SO")?;
        let shape_kept = start + values.len() <= nlocal
            && values
                .iter()
                .enumerate()
                .all(|(k, &(t, _))| entry(start + k).is_some_and(|e| e[4] == t));
        if !shape_kept {
            return Err("an object's debug map changed shape".into());
        }
        (symoff, start)
    };
    for (k, &(_, v)) in values.iter().enumerate() {
        let at = symoff + (start + k) * 16 + 8;
        // Only where it differs: most values stay (an edit moves a function
        // or two), and a write to a page of the private mapping copies it.
        let v = v.to_le_bytes();
        if img[at..at + 8] != v {
            img[at..at + 8].copy_from_slice(&v);
        }
    }
    Ok(Some((
        (symoff + start * 16) as u64..(symoff + (start + values.len()) * 16) as u64,
        (start + 2) as u32,
    )))
}

/// Points the N_OSO at local entry `index` to a new object path, added at
/// the string table's end in its reserved `room` (file offset, bytes): an
/// object rustc recompiled comes under a new name, and its debug-map group
/// must name it for dsymutil, while every other entry stays where it is.
/// The old path's bytes stay behind, unreferenced, until a rewrite of the
/// tables packs them. Returns the file ranges written, or why it cannot
/// (out of room: a full link makes new room).
pub fn rename_oso(
    img: &mut [u8],
    index: u32,
    path: &[u8],
    room: (u64, u64),
) -> Result<Vec<Range<u64>>, String> {
    let (c, [symoff, nsyms, stroff, strsize]) = symtab_fields(img)?;
    if stroff as u64 != room.0 {
        return Err("the string table is not where the state says".into());
    }
    let entry = symoff + index as usize * 16;
    if index as usize >= nsyms || img.get(entry + 4) != Some(&macho::N_OSO) {
        return Err("its debug-map entry is not where it was found".into());
    }
    if path.contains(&0) {
        return Err("its path holds a NUL byte".into());
    }
    // Sizes stay multiples of 8, as the full link leaves them.
    let end = (strsize + path.len() + 1).next_multiple_of(8);
    if end as u64 > room.1 {
        return Err("the string table is out of reserved room".into());
    }
    let (from, to) = (stroff + strsize, stroff + end);
    img[from..from + path.len()].copy_from_slice(path);
    img[from + path.len()..to].fill(0);
    img[entry..entry + 4].copy_from_slice(&(strsize as u32).to_le_bytes());
    let size_at = c.symtab + 20;
    img[size_at..size_at + 4].copy_from_slice(&(end as u32).to_le_bytes());
    Ok(vec![
        from as u64..to as u64,
        entry as u64..entry as u64 + 4,
        size_at as u64..size_at as u64 + 4,
    ])
}

/// The local N_OSO entries (debug-map headers) named in `names`: name ->
/// entry index, found in one pass over the locals by type byte.
pub fn find_osos(
    image: &[u8],
    names: &std::collections::HashSet<&[u8]>,
) -> Result<std::collections::HashMap<Vec<u8>, u32>, String> {
    let (c, [symoff, _, stroff, strsize]) = symtab_fields(image)?;
    let nlocal = u32_at(image, c.dysymtab + 12).ok_or("truncated load command")? as usize;
    let strings = image
        .get(stroff..stroff + strsize)
        .ok_or("the string table lies outside the file")?;
    // (As many locals as the file holds.)
    let locals = image.get(symoff..).map_or(&[][..], |syms| {
        &syms[..nlocal.saturating_mul(16).min(syms.len())]
    });
    let mut found = std::collections::HashMap::new();
    for (i, e) in locals.chunks_exact(16).enumerate() {
        if e[4] != macho::N_OSO {
            continue;
        }
        let strx = u32::from_le_bytes(e[0..4].try_into().expect("4 bytes")) as usize;
        let Some(rest) = strings.get(strx..) else {
            continue;
        };
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            continue;
        };
        if names.contains(&rest[..len]) {
            // The first entry of a name, as a search would find.
            found.entry(rest[..len].to_vec()).or_insert(i as u32);
        }
    }
    Ok(found)
}

/// Gives the N_OSO entries `renames` (entry index, new path) their new
/// paths by overwriting their old ones in place, where the new path is no
/// longer than the old and no other entry's name lies in the old one's
/// bytes (so nothing else reads them). rustc's session names keep their
/// length, so its reused codegen units renamed at every link take no new
/// room. Returns the ranges written and which renames were done.
pub fn rename_osos_in_place(
    img: &mut [u8],
    renames: &[(u32, &[u8])],
) -> Result<(Vec<Range<u64>>, Vec<bool>), String> {
    let (_, [symoff, nsyms, stroff, strsize]) = symtab_fields(img)?;
    let strx_of = |img: &[u8], i: usize| {
        img.get(symoff + i * 16..symoff + i * 16 + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
    };
    // Each old path's bytes (string offsets, its NUL included).
    let mut spans: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, rename)
    let mut possible = vec![false; renames.len()];
    for (k, &(index, path)) in renames.iter().enumerate() {
        if index as usize >= nsyms || path.contains(&0) {
            continue;
        }
        let Some(strx) = strx_of(img, index as usize) else {
            continue;
        };
        let Some(rest) = img.get(stroff + strx..stroff + strsize) else {
            continue;
        };
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            continue;
        };
        if path.len() <= len {
            spans.push((strx, strx + len + 1, k));
            possible[k] = true;
        }
    }
    spans.sort_unstable();
    // No other entry may name a string inside one of those bytes. (The
    // paths lie together among the stabs' own names, after the symbols':
    // most entries are told apart by the bounds alone.)
    let (Some(low), Some(high)) = (spans.first().map(|s| s.0), spans.iter().map(|s| s.1).max())
    else {
        return Ok((Vec::new(), possible));
    };
    let entries = img
        .get(symoff..symoff + nsyms * 16)
        .ok_or("the symbol table lies outside the file")?;
    for (i, e) in entries.chunks_exact(16).enumerate() {
        let strx = u32::from_le_bytes(e[0..4].try_into().expect("4 bytes")) as usize;
        if strx < low || strx >= high {
            continue;
        }
        let j = spans.partition_point(|s| s.0 <= strx);
        if j > 0 && strx < spans[j - 1].1 && renames[spans[j - 1].2].0 as usize != i {
            possible[spans[j - 1].2] = false;
        }
    }
    let mut written = Vec::new();
    for &(start, end, k) in &spans {
        if !possible[k] {
            continue;
        }
        let path = renames[k].1;
        let (from, to) = (stroff + start, stroff + end);
        img[from..from + path.len()].copy_from_slice(path);
        img[from + path.len()..to].fill(0);
        written.push(from as u64..to as u64);
    }
    Ok((written, possible))
}

/// Bytes left after the string table in its reserved `room` (file offset,
/// bytes); 0 when the tables are not where the state says.
pub fn string_room_left(image: &[u8], room: (u64, u64)) -> u64 {
    match symtab_fields(image) {
        Ok((_, [_, _, stroff, strsize])) if stroff as u64 == room.0 => {
            room.1.saturating_sub(strsize as u64)
        }
        _ => 0,
    }
}

/// The bytes [`rename_oso`] adds to the string table for `path`, at most.
pub fn oso_rename_bytes(path: &str) -> u64 {
    path.len() as u64 + 8
}

/// Room for each rewritten piece: (file offset, bytes).
pub struct Rooms {
    pub exports: (u64, u64),
    pub symtab: (u64, u64),
    pub strtab: (u64, u64),
}

/// Applies `edits` to the tables in `img` (a copy of `orig`); returns the
/// file ranges written, or why it cannot.
pub fn rewrite(
    orig: &[u8],
    img: &mut [u8],
    rooms: &Rooms,
    image_base: u64,
    is_thread_local: &dyn Fn(u8) -> bool,
    edits: Vec<SymbolEdit>,
    imports: &[NewUndefined],
) -> Result<Vec<Range<u64>>, String> {
    let (c, [symoff, nsyms, stroff, strsize]) = symtab_fields(orig)?;
    let field = |at: usize| {
        u32_at(orig, at)
            .map(|v| v as usize)
            .ok_or("truncated load command")
    };
    let d = c.dysymtab;
    let (nlocal, nextdef, nundef) = (field(d + 12)?, field(d + 20)?, field(d + 28)?);
    let (indirect_off, nindirect) = (field(d + 56)?, field(d + 60)?);
    if nlocal + nextdef + nundef != nsyms {
        return Err("the symbol table's groups do not add up".into());
    }
    let strings = orig
        .get(stroff..stroff + strsize)
        .ok_or("the string table lies outside the file")?;
    let old = read_nlists(orig, symoff, nsyms, strings).ok_or("the symbol table does not parse")?;
    let (locals, rest) = old.split_at(nlocal);
    let (externals, undefined) = rest.split_at(nextdef);

    // Old entries of the changed objects go; their new ones come in.
    let mut dropped_exports: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut groups = SymbolGroups::default();
    // Debug-map groups of the changed objects: N_SO dir, N_SO name, N_OSO
    // path, ..., then an empty N_SO.
    let mut in_group = vec![false; locals.len()];
    for (j, n) in locals.iter().enumerate() {
        if n.n_type != macho::N_OSO || !edits.iter().any(|e| e.oso.as_bytes() == &*n.name) {
            continue;
        }
        let start = j.saturating_sub(2);
        let end = locals[j..]
            .iter()
            .position(|m| m.n_type == macho::N_SO && m.name.is_empty())
            .map_or(locals.len(), |k| j + k + 1);
        in_group[start..end].fill(true);
    }
    for (n, &stab_of_edit) in locals.iter().zip(&in_group) {
        let drop = stab_of_edit
            || (n.n_type & macho::N_STAB == 0
                && edits.iter().any(|e| in_ranges(&e.old_ranges, n.n_value)));
        if !drop {
            groups.locals.push(n.clone());
        }
    }
    for n in externals {
        if edits.iter().any(|e| in_ranges(&e.old_ranges, n.n_value))
            && n.name.as_ref() != b"__mh_execute_header"
        {
            dropped_exports.insert(n.name.to_vec());
        } else {
            groups.externals.push(n.clone());
        }
    }
    groups.undefined.extend(undefined.iter().cloned());
    let undefined_before: Vec<Vec<u8>> = undefined.iter().map(|n| n.name.to_vec()).collect();
    let mut new_exports: Vec<(Vec<u8>, u64, u64)> = Vec::new();
    for e in edits {
        groups.locals.extend(e.new.locals);
        for n in e.new.externals {
            if n.name.as_ref() == b"__mh_execute_header" {
                continue;
            }
            let mut flags = trie::EXPORT_SYMBOL_FLAGS_KIND_REGULAR;
            if n.n_desc & macho::N_WEAK_DEF != 0 {
                flags |= trie::EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION;
            }
            if is_thread_local(n.n_sect) {
                flags |= trie::EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL;
            }
            new_exports.push((n.name.to_vec(), n.n_value - image_base, flags));
            groups.externals.push(n);
        }
        for n in e.new.undefined {
            let known = undefined_before.iter().any(|u| u[..] == *n.name)
                || imports.iter().any(|i| i.name[..] == *n.name);
            if !known {
                return Err(format!(
                    "undefined symbol {} is neither imported nor new",
                    String::from_utf8_lossy(&n.name)
                ));
            }
        }
    }
    for i in imports {
        groups.undefined.push(Nlist {
            name: Cow::Owned(i.name.clone()),
            n_type: macho::N_UNDF | macho::N_EXT,
            n_sect: 0,
            n_desc: i.n_desc,
            n_value: 0,
        });
    }
    let written = groups.write();
    let mut touched = Vec::new();
    let put = |img: &mut [u8],
               touched: &mut Vec<Range<u64>>,
               (off, room): (u64, u64),
               bytes: &[u8],
               what: &str| {
        if bytes.len() as u64 > room {
            return Err(format!("the {what} is out of reserved room"));
        }
        let off = off as usize;
        img[off..off + room as usize].fill(0);
        img[off..off + bytes.len()].copy_from_slice(bytes);
        touched.push(off as u64..off as u64 + room);
        Ok(())
    };
    if rooms.symtab.0 as usize != symoff || rooms.strtab.0 as usize != stroff {
        return Err("the symbol tables are not where the state says".into());
    }
    put(
        img,
        &mut touched,
        rooms.symtab,
        &written.symbols,
        "symbol table",
    )?;
    put(
        img,
        &mut touched,
        rooms.strtab,
        &written.strings,
        "string table",
    )?;

    // Indirect entries name undefined symbols by index: each follows its
    // name to its place in the rewritten (sorted) undefined group.
    let old_base = (nlocal + nextdef) as u32;
    let new_base = written.nlocal + written.nextdef;
    let mut new_undefined: Vec<&[u8]> = undefined_before
        .iter()
        .map(|u| u.as_slice())
        .chain(imports.iter().map(|i| i.name.as_slice()))
        .collect();
    new_undefined.sort_unstable();
    let index_of = |name: &[u8]| {
        new_undefined
            .binary_search(&name)
            .map(|i| new_base + i as u32)
            .map_err(|_| "an indirect entry names an unknown symbol".to_string())
    };
    for k in 0..nindirect {
        let at = indirect_off + k * 4;
        let v = u32_at(orig, at).ok_or("the indirect symbol table lies outside the file")?;
        if v & (macho::INDIRECT_SYMBOL_LOCAL | macho::INDIRECT_SYMBOL_ABS) == 0 && v >= old_base {
            let name = undefined_before
                .get((v - old_base) as usize)
                .ok_or("an indirect entry is out of range")?;
            img[at..at + 4].copy_from_slice(&index_of(name)?.to_le_bytes());
        }
    }
    for i in imports {
        for &slot in &i.slots {
            let k =
                indirect_index(orig, slot).ok_or("a new stub or GOT slot has no indirect entry")?;
            if k >= nindirect {
                return Err("a new stub or GOT slot is past the indirect symbol table".into());
            }
            let at = indirect_off + k * 4;
            img[at..at + 4].copy_from_slice(&index_of(&i.name)?.to_le_bytes());
        }
    }
    touched.push(indirect_off as u64..(indirect_off + nindirect * 4) as u64);

    // The exports trie, when the exported names changed.
    let exports_changed = !dropped_exports.is_empty() || !new_exports.is_empty();
    let (trie_off, _) = rooms.exports;
    let trie_size = u32_at(orig, c.exports_size_at).ok_or("truncated load command")? as usize;
    let old_trie = orig
        .get(trie_off as usize..trie_off as usize + trie_size)
        .ok_or("the exports trie lies outside the file")?;
    let mut exports = if exports_changed {
        trie::parse(old_trie).ok_or("the exports trie does not parse")?
    } else {
        Vec::new()
    };
    exports.retain(|e| !dropped_exports.contains(&e.name));
    exports.extend(
        new_exports
            .into_iter()
            .map(|(name, address, flags)| trie::OwnedExport {
                name,
                flags,
                address,
                reexport_name: None,
                resolver: 0,
            }),
    );
    let list: Vec<trie::Export> = exports.iter().map(|e| e.as_export()).collect();
    let trie_bytes = if exports_changed {
        let bytes = trie::build(&list);
        put(img, &mut touched, rooms.exports, &bytes, "exports trie")?;
        bytes
    } else {
        old_trie.to_vec()
    };

    // Load commands: counts and sizes.
    let mut patch = |at: usize, v: u32| {
        img[at..at + 4].copy_from_slice(&v.to_le_bytes());
        touched.push(at as u64..at as u64 + 4);
    };
    patch(
        c.symtab + 12,
        written.nlocal + written.nextdef + written.nundef,
    );
    patch(c.symtab + 20, written.strings.len() as u32);
    patch(d + 8, 0);
    patch(d + 12, written.nlocal);
    patch(d + 16, written.nlocal);
    patch(d + 20, written.nextdef);
    patch(d + 24, written.nlocal + written.nextdef);
    patch(d + 28, written.nundef);
    patch(c.exports_size_at, trie_bytes.len() as u32);
    Ok(touched)
}
