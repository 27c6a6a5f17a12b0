//! New imports in headroom: when an edited object calls a dylib function the
//! image did not import before, the update gives it a stub and a GOT slot
//! from the room the full link left in `__stubs` and `__got`, appends it to
//! the chained-fixups import table (in LINKEDIT room), threads the GOT
//! slot's bind into its page's fixup chain, and adds the undefined symbol
//! (and the slots' indirect entries) to the symbol table.
//!
//! Only chained fixups are handled; the classic format would also need a
//! lazy pointer, a stub-helper entry and new opcode streams, and falls back.

use crate::input::archive::Archive;
use crate::input::dylib::Dylib;
use crate::input::{self, FileKind};
use crate::linkedit::chained;
use crate::options::Options;

/// The dylib that exports a symbol, as a full link would pick it.
#[derive(Clone, Copy, Debug)]
pub struct Exporter {
    /// Index among the link's dylibs (the LC_LOAD_DYLIB ordinal is this + 1).
    pub dylib: u32,
    pub weak: bool,
    pub thread_local: bool,
}

/// The link's libraries, read once per update that needs a new import.
pub struct Libraries {
    /// Names archives define (a member would be pulled), and the archive.
    archive_symbols: rustc_hash::FxHashMap<Vec<u8>, String>,
    /// Dylibs and TAPI stubs in command-line order.
    dylibs: Vec<Dylib>,
}

impl Libraries {
    pub fn load(opts: &Options) -> crate::error::Result<Libraries> {
        let arch = opts.target();
        let env = crate::input::dylib::DylibEnv::new(opts);
        let paths = input::input_paths(opts)?;
        let files = input::map_inputs(&paths)?;
        let mut libs = Libraries {
            archive_symbols: Default::default(),
            dylibs: Vec::new(),
        };
        for f in &files {
            let fname = f.name();
            let data = input::thin(&f.map, &fname, arch)?;
            match input::kind_of(data, &fname)? {
                FileKind::Object => {}
                FileKind::Archive => {
                    let ar = Archive::parse(data, fname.clone())?;
                    for &(sym, _) in &ar.symbols {
                        libs.archive_symbols
                            .entry(sym.to_vec())
                            .or_insert_with(|| fname.clone());
                    }
                }
                FileKind::Tbd => libs.dylibs.push(Dylib::from_tbd(data, fname, &env)?),
                FileKind::Dylib => libs.dylibs.push(Dylib::from_macho(data, fname, &env)?),
            }
        }
        Ok(libs)
    }

    /// Which library a full link would resolve `name` from: archives first
    /// (a member would be pulled: the update cannot do that), then dylibs
    /// in command-line order. `Err(why)` says why the update cannot use it.
    pub fn exporter(&self, name: &[u8]) -> Result<Exporter, String> {
        if let Some(archive) = self.archive_symbols.get(name) {
            return Err(format!(
                "{} is defined in archive {archive}: a member would be pulled",
                String::from_utf8_lossy(name)
            ));
        }
        let (i, d, s) = self
            .dylibs
            .iter()
            .enumerate()
            .find_map(|(i, d)| d.exports.get(name).map(|s| (i, d, s)))
            .ok_or_else(|| {
                format!(
                    "{} is not exported by any library (a full link reports it)",
                    String::from_utf8_lossy(name)
                )
            })?;
        if d.moved.contains_key(name) {
            return Err(format!(
                "{} binds to a $ld$previous library of {}: a full link adds it",
                String::from_utf8_lossy(name),
                d.name
            ));
        }
        Ok(Exporter {
            dylib: i as u32,
            weak: s.weak,
            thread_local: s.thread_local,
        })
    }
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

/// The chained-fixups blob of an image, to be extended in place.
pub struct ChainedFixups {
    /// File offset of the blob and the room it may grow into.
    pub offset: usize,
    pub room: usize,
    /// Current size (LC_DYLD_CHAINED_FIXUPS datasize).
    pub size: usize,
}

impl ChainedFixups {
    fn header(&self, img: &[u8], field: usize) -> Result<usize, String> {
        u32_at(img, self.offset + field * 4)
            .map(|v| v as usize)
            .ok_or_else(|| "the chained fixups header lies outside the file".into())
    }

    /// The import table: (imports offset, names offset, count, entry size)
    /// for the formats an update extends (DYLD_CHAINED_IMPORT, _ADDEND).
    fn import_table(&self, img: &[u8]) -> Result<(usize, usize, usize, usize), String> {
        let (imports_off, symbols_off) = (self.header(img, 2)?, self.header(img, 3)?);
        let (count, format) = (self.header(img, 4)?, self.header(img, 5)?);
        let entry = match format {
            1 => 4,
            2 => 8,
            _ => return Err(format!("chained import format {format}")),
        };
        Ok((imports_off, symbols_off, count, entry))
    }

    /// Appends an import (library ordinal, weak flag, name) and returns its
    /// index; the caller patches the load command's datasize.
    pub fn add_import(
        &mut self,
        img: &mut [u8],
        ordinal: u8,
        weak: bool,
        name: &[u8],
    ) -> Result<u32, String> {
        let (imports_off, symbols_off, count, entry) = self.import_table(img)?;
        if imports_off + count * entry != symbols_off {
            return Err("the chained imports are not followed by their names".into());
        }
        let blob = self.offset;
        let pool = img[blob + symbols_off..blob + self.size].to_vec();
        let name_offset = pool.len();
        if name_offset >= 1 << 23 {
            return Err("import names exceed the DYLD_CHAINED_IMPORT limit".into());
        }
        let new_size = (symbols_off + entry + pool.len() + name.len() + 1).div_ceil(8) * 8;
        if new_size > self.room {
            return Err("the chained fixups are out of reserved room".into());
        }
        let raw = u32::from(ordinal) | (u32::from(weak) << 8) | ((name_offset as u32) << 9);
        let at = blob + symbols_off;
        img[at..at + 4].copy_from_slice(&raw.to_le_bytes());
        if entry == 8 {
            img[at + 4..at + 8].fill(0); // addend 0
        }
        let pool_at = at + entry;
        img[pool_at..pool_at + pool.len()].copy_from_slice(&pool);
        let name_at = pool_at + pool.len();
        img[name_at..name_at + name.len()].copy_from_slice(name);
        img[name_at + name.len()..blob + new_size].fill(0);
        let put = |img: &mut [u8], field: usize, v: usize| {
            img[blob + field * 4..blob + field * 4 + 4].copy_from_slice(&(v as u32).to_le_bytes())
        };
        put(img, 3, symbols_off + entry);
        put(img, 4, count + 1);
        self.size = new_size;
        Ok(count as u32)
    }

    /// The byte offset (in the image) of the page-start entry of page
    /// `page` of segment `segment`, and the segment's page size.
    fn page_start(&self, img: &[u8], segment: usize, page: u64) -> Result<(usize, u64), String> {
        let starts = self.offset + self.header(img, 1)?;
        let nsegs = u32_at(img, starts).ok_or("bad chained starts")? as usize;
        if segment >= nsegs {
            return Err("the segment has no chained starts".into());
        }
        let info = u32_at(img, starts + 4 + 4 * segment).ok_or("bad chained starts")? as usize;
        if info == 0 {
            return Err("the segment has no chained fixups".into());
        }
        let seg = starts + info;
        let page_size = u64::from(u16_at(img, seg + 4).ok_or("bad chained starts")?);
        let page_count = u64::from(u16_at(img, seg + 20).ok_or("bad chained starts")?);
        if page >= page_count {
            return Err("a fixup lies past its segment's pages".into());
        }
        Ok((seg + 22 + 2 * page as usize, page_size))
    }

    /// The fixups of one page: (offset in page, word without `next`).
    /// `page_file` is the page's file offset.
    pub fn read_page(
        &self,
        img: &[u8],
        segment: usize,
        page: u64,
        page_file: usize,
    ) -> Result<Vec<(u64, u64)>, String> {
        let (start_at, page_size) = self.page_start(img, segment, page)?;
        let first = u16_at(img, start_at).ok_or("bad chained starts")?;
        let mut out = Vec::new();
        if first == chained::START_NONE {
            return Ok(out);
        }
        let mut at = u64::from(first);
        loop {
            let w = img
                .get(page_file + at as usize..page_file + at as usize + 8)
                .ok_or("a fixup chain runs past the file")?;
            let w = u64::from_le_bytes(w.try_into().unwrap());
            out.push((at, chained::without_next(w)));
            let next = chained::next(w);
            if next == 0 {
                return Ok(out);
            }
            at += next * chained::STRIDE;
            if at + 8 > page_size {
                return Err("a fixup chain leaves its page".into());
            }
        }
    }

    /// Rewrites one page's chain from its fixups (offset in page, word
    /// without `next`), sorted by offset.
    pub fn write_page(
        &self,
        img: &mut [u8],
        segment: usize,
        page: u64,
        page_file: usize,
        fixups: &[(u64, u64)],
    ) -> Result<(), String> {
        let (start_at, _) = self.page_start(img, segment, page)?;
        let first = fixups.first().map_or(chained::START_NONE, |f| f.0 as u16);
        img[start_at..start_at + 2].copy_from_slice(&first.to_le_bytes());
        for (i, &(at, raw)) in fixups.iter().enumerate() {
            let next = fixups.get(i + 1).map_or(0, |n| n.0 - at);
            let off = page_file + at as usize;
            img[off..off + 8].copy_from_slice(&chained::with_next(raw, next).to_le_bytes());
        }
        Ok(())
    }

    /// The import-table index of `name` with a zero addend, if any.
    pub fn find_import(&self, img: &[u8], name: &[u8]) -> Result<Option<u32>, String> {
        let (imports_off, symbols_off, count, entry) = self.import_table(img)?;
        let pool = &img[self.offset + symbols_off..self.offset + self.size];
        for i in 0..count {
            let at = self.offset + imports_off + i * entry;
            let raw = u32_at(img, at).ok_or("bad chained imports")?;
            if entry == 8 && u32_at(img, at + 4) != Some(0) {
                continue;
            }
            let start = (raw >> 9) as usize;
            let rest = pool.get(start..).ok_or("bad chained import name")?;
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("bad chained import name")?;
            if &rest[..end] == name {
                return Ok(Some(i as u32));
            }
        }
        Ok(None)
    }
}
