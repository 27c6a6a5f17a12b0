//! MH_OBJECT files: sections, symbols and relocations, split into atoms.
//!
//! With `MH_SUBSECTIONS_VIA_SYMBOLS` every symbol starts an atom (except
//! `N_ALT_ENTRY` ones); without it a section is one atom. C-string and
//! fixed-size literal sections are split per literal so they can be merged.
//! Relocations are decoded once here into atom-relative [`Reloc`]s, so
//! every later pass (and every incremental update) works on atoms only.

use super::residency;
use crate::arch::{relocation_info, Arch, DecodedReloc, InlineDecode};
use crate::atom::{AliasOf, Atom, Reloc, Target, NONE};
use crate::error::{LinkError, Result};
use object::macho;
use object::pod;
use object::LittleEndian as LE;
use std::mem::MaybeUninit;

/// A section header of an object file, with its bytes.
#[derive(Clone, Debug)]
pub struct InputSection<'a> {
    pub segname: String,
    pub sectname: String,
    pub addr: u64,
    pub size: u64,
    pub align_log2: u8,
    pub flags: u32,
    /// Empty for zero-fill sections.
    pub data: &'a [u8],
    /// First atom of this section in the file's atom list, and how many.
    pub atoms_start: u32,
    pub atoms_len: u32,
    /// Whether the section goes into the output at all (debug info and
    /// `__LD` metadata are consumed, not copied).
    pub kept: bool,
    /// Split into atoms and relocated like a kept section, but read by the
    /// linker instead of placed (`__LD,__compact_unwind`).
    pub metadata: bool,
}

impl InputSection<'_> {
    pub fn kind(&self) -> u32 {
        crate::section_flags::kind(self.flags)
    }

    pub fn is_zerofill(&self) -> bool {
        crate::section_flags::is_zerofill(self.flags)
    }
}

/// An nlist entry.
#[derive(Clone, Copy, Debug)]
pub struct ObjSymbol<'a> {
    pub name: &'a [u8],
    pub n_type: u8,
    /// 1-based section ordinal, 0 = none.
    pub n_sect: u8,
    pub n_desc: u16,
    pub n_value: u64,
    /// For symbols defined in a section: the atom holding it, else [`NONE`].
    pub atom: u32,
}

impl ObjSymbol<'_> {
    pub fn is_stab(&self) -> bool {
        self.n_type & macho::N_STAB != 0
    }
    pub fn is_external(&self) -> bool {
        !self.is_stab() && self.n_type & macho::N_EXT != 0
    }
    pub fn is_private_extern(&self) -> bool {
        !self.is_stab() && self.n_type & macho::N_PEXT != 0
    }
    pub fn kind(&self) -> u8 {
        self.n_type & macho::N_TYPE
    }
    pub fn is_defined_in_section(&self) -> bool {
        !self.is_stab() && self.kind() == macho::N_SECT
    }
    /// An undefined symbol with a size: a tentative (common) definition.
    pub fn is_common(&self) -> bool {
        !self.is_stab() && self.kind() == macho::N_UNDF && self.n_value != 0 && self.is_external()
    }
    pub fn is_weak_def(&self) -> bool {
        self.n_desc & macho::N_WEAK_DEF != 0
    }
    pub fn is_weak_ref(&self) -> bool {
        self.n_desc & macho::N_WEAK_REF != 0
    }
    pub fn no_dead_strip(&self) -> bool {
        self.n_desc & macho::N_NO_DEAD_STRIP != 0
    }
}

/// A parsed object file.
#[derive(Debug)]
pub struct ObjectFile<'a> {
    /// How diagnostics name this file: `path` or `archive.a(member.o)`.
    pub name: String,
    pub sections: Vec<InputSection<'a>>,
    pub symbols: Vec<ObjSymbol<'a>>,
    pub atoms: Vec<Atom>,
    pub relocs: Vec<Reloc>,
    /// For the debug map: the object's absolute path (`lib.a(member.o)` for
    /// an archive member) and modification time; set by the driver.
    pub oso_path: String,
    pub mtime: u64,
    /// Which command-line input it came from (index into the resolved
    /// input paths), and whether as an archive member; set by the driver.
    pub input: u32,
    pub member: bool,
    /// LC_DATA_IN_CODE: data (jump tables and the like) inside code, as
    /// (input address, length, kind), for disassemblers.
    pub data_in_code: Vec<(u32, u16, u16)>,
    /// The file's relocation and symbol entries, from the first to the
    /// last (empty if none): parsed into `relocs` and `symbols`, so done
    /// with once parsed (see [`residency`]).
    pub parsed_tables: &'a [u8],
    /// The first compile unit's source name and directory, for the debug
    /// map: read from the DWARF while parsing, before the pages around it
    /// are let go (see [`residency`]).
    pub compile_unit: Option<(Vec<u8>, Vec<u8>)>,
}

const N_ALT_ENTRY: u16 = 0x200;
/// `__LD,__compact_unwind`: one 32-byte entry per function.
pub const COMPACT_UNWIND: &str = "__compact_unwind";
pub const COMPACT_UNWIND_ENTRY: u64 = 32;
/// `__TEXT,__eh_frame`: DWARF call frame records.
pub const EH_FRAME: &str = "__eh_frame";

struct Reader<'a, 'n> {
    data: &'a [u8],
    name: &'n str,
    arch: &'static dyn Arch,
}

impl<'a> Reader<'a, '_> {
    fn err(&self, what: impl std::fmt::Display) -> LinkError {
        LinkError::file(self.name, what)
    }

    fn pod<T: pod::Pod>(&self, offset: u64, what: &str) -> Result<&'a T> {
        let tail = usize::try_from(offset)
            .ok()
            .and_then(|o| self.data.get(o..))
            .ok_or_else(|| {
                self.err(format!(
                    "{what} at offset {offset:#x} is past the end of the file"
                ))
            })?;
        pod::from_bytes::<T>(tail)
            .map(|(v, _)| v)
            .map_err(|()| self.err(format!("{what} at offset {offset:#x} is truncated")))
    }

    fn bytes(&self, offset: u64, size: u64, what: &str) -> Result<&'a [u8]> {
        self.bytes_or(offset, size, || what)
    }

    /// [`Self::bytes`] with the description made only for a message.
    fn bytes_or<W: std::fmt::Display>(
        &self,
        offset: u64,
        size: u64,
        what: impl FnOnce() -> W,
    ) -> Result<&'a [u8]> {
        let end = offset.checked_add(size);
        match end {
            Some(end) if end <= self.data.len() as u64 => {
                Ok(&self.data[offset as usize..end as usize])
            }
            _ => Err(self.err(format!(
                "{} ({offset:#x}+{size:#x}) extends past the end of the file ({:#x} bytes)",
                what(),
                self.data.len()
            ))),
        }
    }
}

fn fixed_name(raw: &[u8; 16]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Whether a section is metadata the linker consumes rather than copies.
fn consumed(segname: &str, sectname: &str, flags: u32) -> bool {
    if segname == "__LD" && sectname == COMPACT_UNWIND {
        return false; // marked S_ATTR_DEBUG, but read as metadata
    }
    residency::is_debug(segname, flags)
        || (segname == "__LD" && sectname != COMPACT_UNWIND)
        || segname == "__LLVM"
}

impl<'a> ObjectFile<'a> {
    /// An object with nothing in it yet, named `name` in diagnostics; the
    /// driver fills in where it came from.
    pub fn empty(name: String) -> Self {
        ObjectFile {
            name,
            sections: Vec::new(),
            symbols: Vec::new(),
            atoms: Vec::new(),
            relocs: Vec::new(),
            oso_path: String::new(),
            mtime: 0,
            input: u32::MAX,
            member: false,
            data_in_code: Vec::new(),
            parsed_tables: &[],
            compile_unit: None,
        }
    }

    /// Parses an MH_OBJECT for `arch`.
    pub fn parse(data: &'a [u8], name: String, arch: &'static dyn Arch) -> Result<ObjectFile<'a>> {
        Self::parse_with(data, name, arch, true)
    }

    /// [`ObjectFile::parse`]; with `advise`, the kernel is told which
    /// parts of the mapping the link never reads (see [`residency`]): worth
    /// it across a full link's inputs, not for the one object an update
    /// maps and drops (five `madvise` calls, a VMA split each).
    pub fn parse_with(
        data: &'a [u8],
        name: String,
        arch: &'static dyn Arch,
        advise: bool,
    ) -> Result<ObjectFile<'a>> {
        let r = Reader {
            data,
            name: &name,
            arch,
        };
        let header = r.pod::<macho::MachHeader64<LE>>(0, "Mach-O header")?;
        if header.magic.get(object::BigEndian) != macho::MH_CIGAM_64 {
            return Err(r.err("not a 64-bit little-endian Mach-O object"));
        }
        if header.cputype.get(LE) != arch.cpu_type() {
            return Err(r.err(format!(
                "wrong architecture: the file is for {} (cputype {:#x}), but the link is for {}",
                crate::arch::cpu_name(header.cputype.get(LE)),
                header.cputype.get(LE),
                arch.name()
            )));
        }
        if header.filetype.get(LE) != macho::MH_OBJECT {
            return Err(r.err(format!(
                "not an object file (filetype {})",
                header.filetype.get(LE)
            )));
        }
        let subsections = header.flags.get(LE) & macho::MH_SUBSECTIONS_VIA_SYMBOLS != 0;
        let mut file = ObjectFile::empty(name.clone());
        let mut raw_relocs: Vec<&'a [u8]> = Vec::new();
        let mut offset = 32u64;
        let end = 32 + u64::from(header.sizeofcmds.get(LE));
        for _ in 0..header.ncmds.get(LE) {
            let lc = r.pod::<macho::LoadCommand<LE>>(offset, "load command")?;
            let size = u64::from(lc.cmdsize.get(LE));
            if size < 8 || offset + size > end {
                return Err(r.err(format!(
                    "load command at offset {offset:#x} has bad size {size}"
                )));
            }
            match lc.cmd.get(LE) {
                macho::LC_SEGMENT_64 => file.read_sections(&r, offset, &mut raw_relocs)?,
                macho::LC_SYMTAB => file.read_symbols(&r, offset)?,
                macho::LC_DATA_IN_CODE => file.read_data_in_code(&r, offset)?,
                _ => {}
            }
            offset += size;
        }
        // Before anything reads section contents and faults pages in.
        if advise {
            file.advise_unread(&raw_relocs);
        }
        let mut tables = raw_relocs.clone();
        tables.push(file.parsed_tables); // the symbol entries, for now
        file.parsed_tables = span(data, &tables);
        file.compile_unit = crate::linkedit::stabs::compile_unit(&file);
        file.drop_redundant_eh_frame(arch);
        let starters = file
            .split_atoms(subsections)
            .map_err(|e| r.err(format!("__TEXT,__eh_frame: {e}")))?;
        file.assign_symbols_to_atoms(&r, &starters)?;
        file.read_relocs(&r, &raw_relocs)?;
        file.drop_fdes_with_compact_unwind(arch);
        Ok(file)
    }

    /// Tells the kernel which parts of the file the link never reads: the
    /// debug sections and their relocations (see [`residency`]).
    fn advise_unread(&self, raw_relocs: &[&'a [u8]]) {
        let mut stretches: Vec<&[u8]> = self
            .sections
            .iter()
            .zip(raw_relocs)
            .filter(|(s, _)| never_read(s))
            .flat_map(|(s, relocs)| [residency::unread_part(&s.sectname, s.data), relocs])
            .collect();
        residency::advise_unread(&mut stretches);
    }

    /// The file's section contents and relocation and symbol entries,
    /// which the link has finished reading once the image's contents are
    /// written (the symbols' names, in the string table, are still to be
    /// written).
    pub fn spent_contents(&self) -> Vec<&'a [u8]> {
        self.sections
            .iter()
            .filter(|s| !residency::is_debug(&s.segname, s.flags))
            .map(|s| s.data)
            .chain([self.parsed_tables])
            .collect()
    }

    fn read_data_in_code(&mut self, r: &Reader<'a, '_>, at: u64) -> Result<()> {
        let cmd = r.pod::<macho::LinkeditDataCommand<LE>>(at, "LC_DATA_IN_CODE")?;
        let size = u64::from(cmd.datasize.get(LE));
        let bytes = r.bytes(u64::from(cmd.dataoff.get(LE)), size, "data-in-code entries")?;
        self.data_in_code = bytes
            .chunks_exact(8)
            .map(|e| {
                (
                    u32::from_le_bytes(e[0..4].try_into().unwrap()),
                    u16::from_le_bytes(e[4..6].try_into().unwrap()),
                    u16::from_le_bytes(e[6..8].try_into().unwrap()),
                )
            })
            .collect();
        Ok(())
    }

    fn read_sections(
        &mut self,
        r: &Reader<'a, '_>,
        at: u64,
        raw_relocs: &mut Vec<&'a [u8]>,
    ) -> Result<()> {
        let seg = r.pod::<macho::SegmentCommand64<LE>>(at, "LC_SEGMENT_64")?;
        let head = std::mem::size_of::<macho::SegmentCommand64<LE>>() as u64;
        // The section headers must be in the command and in the file before
        // the count sizes anything: a count is only a claim.
        let nsects = u64::from(seg.nsects.get(LE));
        let cmdsize = u64::from(seg.cmdsize.get(LE));
        if head + nsects * 80 > cmdsize {
            return Err(r.err(format!(
                "LC_SEGMENT_64 at offset {at:#x} claims {nsects} sections, \
                 more than its {cmdsize} bytes hold"
            )));
        }
        r.bytes(at, head + nsects * 80, "LC_SEGMENT_64 section headers")?;
        // One more for the commons resolution may add.
        self.sections.reserve_exact(nsects as usize + 1);
        for i in 0..nsects {
            let s = r.pod::<macho::Section64<LE>>(at + head + i * 80, "section header")?;
            let (segname, sectname) = (fixed_name(&s.segname), fixed_name(&s.sectname));
            let flags = s.flags.get(LE);
            let size = s.size.get(LE);
            let zerofill = crate::section_flags::is_zerofill(flags);
            // Formatted only for a message: this runs for every section.
            let what = || format!("section {segname},{sectname}");
            let data = if zerofill {
                &[][..]
            } else {
                r.bytes_or(u64::from(s.offset.get(LE)), size, what)?
            };
            let nreloc = u64::from(s.nreloc.get(LE));
            raw_relocs.push(r.bytes_or(u64::from(s.reloff.get(LE)), nreloc * 8, || {
                format!("relocations of {}", what())
            })?);
            let align = s.align.get(LE);
            if align > 15 {
                return Err(r.err(format!("{}: alignment 2^{align} is too large", what())));
            }
            if size > u64::from(u32::MAX) {
                return Err(r.err(format!("{}: size {size:#x} is too large", what())));
            }
            self.sections.push(InputSection {
                kept: !consumed(&segname, &sectname, flags),
                metadata: segname == "__LD" && sectname == COMPACT_UNWIND,
                segname,
                sectname,
                addr: s.addr.get(LE),
                size,
                align_log2: align as u8,
                flags,
                data,
                atoms_start: 0,
                atoms_len: 0,
            });
        }
        // An atom's section index is 16 bits; one more for the commons.
        if self.sections.len() >= crate::atom::MAX_SECTIONS {
            return Err(r.err(format!("{} sections are too many", self.sections.len())));
        }
        Ok(())
    }

    fn read_symbols(&mut self, r: &Reader<'a, '_>, at: u64) -> Result<()> {
        let st = r.pod::<macho::SymtabCommand<LE>>(at, "LC_SYMTAB")?;
        let nsyms = u64::from(st.nsyms.get(LE));
        let syms = r.bytes(u64::from(st.symoff.get(LE)), nsyms * 16, "symbol table")?;
        self.parsed_tables = syms;
        let strs = r.bytes(
            u64::from(st.stroff.get(LE)),
            u64::from(st.strsize.get(LE)),
            "string table",
        )?;
        self.symbols.reserve(nsyms as usize);
        for (i, raw) in syms.chunks_exact(16).enumerate() {
            let n = pod::from_bytes::<macho::Nlist64<LE>>(raw).unwrap().0;
            let strx = n.n_strx.get(LE) as usize;
            let name = strs
                .get(strx..)
                .and_then(|s| memchr::memchr(0, s).map(|e| &s[..e]))
                .ok_or_else(|| {
                    r.err(format!(
                        "symbol #{i}: name offset {strx:#x} is outside the string table"
                    ))
                })?;
            self.symbols.push(ObjSymbol {
                name,
                n_type: n.n_type,
                n_sect: n.n_sect,
                n_desc: n.n_desc.get(LE),
                n_value: n.n_value.get(LE),
                atom: NONE,
            });
        }
        Ok(())
    }

    /// Cuts every kept section into atoms. The cuts of every section are
    /// found first, so that the atom list is allocated once, at its size.
    /// Returns the symbols that start atoms, as [`Starters`] (empty
    /// without subsections).
    fn split_atoms(&mut self, subsections: bool) -> std::result::Result<Starters, String> {
        let mut eh_frame_error = None;
        // The symbols that start atoms, sorted by where they start.
        let mut starters: Starters = Vec::new();
        // Where they start, as `section index << 32 | offset` (a section
        // is at most 4 GiB): sorted, each section's are one run.
        let mut starts: Vec<u64> = Vec::new();
        if subsections {
            starters.reserve(self.symbols.len());
            if self.symbols.len() < 1 << 24 {
                starters.extend(
                    (0u64..)
                        .zip(&self.symbols)
                        .filter_map(|(i, s)| Some(self.atom_start(s)? << 24 | i)),
                );
                starters.sort_unstable();
                starts = starters.iter().map(|k| k >> 24).collect();
            } else {
                // Too many to name by 24 bits: symbols are placed one by one.
                starts.extend(self.symbols.iter().filter_map(|s| self.atom_start(s)));
                starts.sort_unstable();
            }
            starts.dedup();
        }
        let cuts: Vec<Cuts> = self
            .sections
            .iter()
            .enumerate()
            .map(|(i, sec)| {
                if !sec.kept {
                    return Cuts::List(Vec::new());
                }
                let is_eh_frame = sec.segname == "__TEXT" && sec.sectname == EH_FRAME;
                match sec.kind() {
                    _ if is_eh_frame => match super::eh_frame::record_cuts(sec.data) {
                        Ok(c) => Cuts::List(c),
                        Err(e) => {
                            eh_frame_error.get_or_insert(e);
                            Cuts::List(vec![0])
                        }
                    },
                    // (Its entries are read from its bytes: a zerofill one
                    // claims 4 GiB of entries with none behind them.)
                    _ if sec.metadata && !sec.is_zerofill() => Cuts::Every(COMPACT_UNWIND_ENTRY),
                    macho::S_CSTRING_LITERALS => Cuts::List(cstring_cuts(sec.data)),
                    macho::S_4BYTE_LITERALS => Cuts::Every(4),
                    macho::S_8BYTE_LITERALS => Cuts::Every(8),
                    macho::S_16BYTE_LITERALS => Cuts::Every(16),
                    _ => {
                        let i = i as u64;
                        let lo = starts.partition_point(|&k| k >> 32 < i);
                        let hi = lo + starts[lo..].partition_point(|&k| k >> 32 == i);
                        Cuts::Symbols(&starts[lo..hi])
                    }
                }
            })
            .collect();
        let total: usize = cuts
            .iter()
            .zip(&self.sections)
            .map(|(c, sec)| c.count(sec.size))
            .sum();
        // Resolution may add an atom per tentative definition that wins
        // (see `resolve::allocate_commons`).
        let commons = self.symbols.iter().filter(|s| s.is_common()).count();
        self.atoms.reserve_exact(total + commons);
        for (i, (sec, cuts)) in self.sections.iter_mut().zip(&cuts).enumerate() {
            sec.atoms_start = self.atoms.len() as u32;
            let atoms = &mut self.atoms;
            // __eh_frame's records follow each other 4-byte aligned: one
            // that happens to start 8-aligned in its object must not ask
            // for 8 in the output, or a record dropped before it (a dead
            // FDE) leaves 4 zero bytes, which every reader walking
            // __eh_frame takes for its terminator.
            let cap = if sec.segname == "__TEXT" && sec.sectname == EH_FRAME {
                2
            } else {
                15
            };
            cuts.for_each_piece(sec.size, |start, end| {
                // An offset's own alignment caps what the atom may promise.
                let natural = if start == 0 {
                    cap
                } else {
                    start.trailing_zeros().min(cap.into()) as u8
                };
                atoms.push(Atom {
                    section: i as u16,
                    offset: start as u32,
                    size: (end - start) as u32,
                    align_log2: sec.align_log2.min(natural),
                    relocs_start: 0,
                    relocs_end: 0,
                    symbol: NONE,
                    alias_of: AliasOf::NONE,
                    live: true,
                });
            });
            sec.atoms_len = self.atoms.len() as u32 - sec.atoms_start;
        }
        eh_frame_error.map_or(Ok(starters), Err)
    }

    /// Where symbol `s` starts an atom when the file has subsections:
    /// `section index << 32 | offset`. None for a symbol that starts none
    /// (not in a section, an alternate entry, or outside its section).
    #[inline]
    fn atom_start(&self, s: &ObjSymbol) -> Option<u64> {
        if !s.is_defined_in_section() || s.n_desc & N_ALT_ENTRY != 0 {
            return None;
        }
        let i = usize::from(s.n_sect).wrapping_sub(1);
        let sec = self.sections.get(i)?;
        (s.n_value >= sec.addr && s.n_value < sec.addr + sec.size)
            .then(|| (i as u64) << 32 | (s.n_value - sec.addr))
    }

    /// The atom of section `sect` (0-based) that contains section offset
    /// `off`; an offset at the very end belongs to the last atom.
    pub fn atom_at(&self, sect: usize, off: u64) -> Option<u32> {
        let sec = self.sections.get(sect)?;
        if !sec.kept || sec.atoms_len == 0 || off > sec.size {
            return None;
        }
        let atoms =
            &self.atoms[sec.atoms_start as usize..(sec.atoms_start + sec.atoms_len) as usize];
        let idx = atoms.partition_point(|a| u64::from(a.offset) <= off);
        Some(sec.atoms_start + idx.saturating_sub(1) as u32)
    }

    /// The one atom of section ordinal `n_sect` (1-based) and its input
    /// address, for a section-relative subtrahend; an error when the
    /// section is split into atoms (which of them is meant is unknown).
    fn whole_section_atom(&self, n_sect: u32) -> std::result::Result<(u32, u64), String> {
        let sec = (n_sect as usize)
            .checked_sub(1)
            .and_then(|i| self.sections.get(i))
            .ok_or_else(|| format!("section ordinal {n_sect} out of range"))?;
        if !sec.kept || sec.atoms_len != 1 {
            return Err(format!(
                "{},{} is {}; only a section that is one atom can be a section-relative subtrahend",
                sec.segname,
                sec.sectname,
                if sec.kept {
                    "split into atoms"
                } else {
                    "not kept"
                }
            ));
        }
        let a = sec.atoms_start;
        Ok((a, sec.addr + u64::from(self.atoms[a as usize].offset)))
    }

    /// Gives every symbol defined in a kept section its atom, and every
    /// atom the first symbol (by index) that starts where it does. The
    /// `starters` are found by walking the atoms alongside them (both are
    /// in address order); the other symbols by a search each.
    fn assign_symbols_to_atoms(&mut self, r: &Reader<'a, '_>, starters: &Starters) -> Result<()> {
        let mut cursor = 0usize;
        for &k in starters {
            let (sect, off, i) = (
                (k >> 56) as usize,
                (k >> 24) & 0xffff_ffff,
                k as u32 & 0xff_ffff,
            );
            let sec = &self.sections[sect];
            if !sec.kept {
                continue;
            }
            let (first, end) = (
                sec.atoms_start as usize,
                (sec.atoms_start + sec.atoms_len) as usize,
            );
            cursor = cursor.max(first);
            while cursor + 1 < end && u64::from(self.atoms[cursor + 1].offset) <= off {
                cursor += 1;
            }
            let atom = if cursor < end && u64::from(self.atoms[cursor].offset) <= off {
                cursor as u32
            } else {
                // Not expected: let the search say what holds it.
                let Some(atom) = self.atom_at(sect, off) else {
                    continue; // reported below
                };
                atom
            };
            self.place_symbol(i, atom, off);
        }
        for i in 0..self.symbols.len() {
            let s = self.symbols[i];
            // (Only the starters have atoms yet.)
            if !s.is_defined_in_section() || s.atom != NONE {
                continue;
            }
            let sect = usize::from(s.n_sect).wrapping_sub(1);
            let Some(sec) = self.sections.get(sect) else {
                return Err(r.err(format!(
                    "symbol {} refers to section #{} which does not exist",
                    String::from_utf8_lossy(s.name),
                    s.n_sect
                )));
            };
            if !sec.kept {
                continue;
            }
            let off = s.n_value.wrapping_sub(sec.addr);
            let atom = self.atom_at(sect, off).ok_or_else(|| {
                r.err(format!(
                    "symbol {} (address {:#x}) lies outside its section {},{}",
                    String::from_utf8_lossy(s.name),
                    s.n_value,
                    sec.segname,
                    sec.sectname
                ))
            })?;
            self.place_symbol(i as u32, atom, off);
        }
        Ok(())
    }

    /// Symbol `i`, at offset `off` of its section, is in `atom`; it names
    /// the atom when it starts there, unless one before it does.
    fn place_symbol(&mut self, i: u32, atom: u32, off: u64) {
        self.symbols[i as usize].atom = atom;
        let a = &mut self.atoms[atom as usize];
        if u64::from(a.offset) == off {
            a.symbol = a.symbol.min(i);
        }
    }

    /// Decodes every kept section's relocations straight into the file's
    /// relocation list, in atom order, and gives each atom its range.
    /// The list is sized once from the section headers (a pair of entries
    /// makes one relocation, so the count of entries is enough); the raw
    /// and decoded forms of a section live in per-thread scratch buffers.
    fn read_relocs(&mut self, r: &Reader<'a, '_>, raw_relocs: &[&'a [u8]]) -> Result<()> {
        let entries: usize = raw_relocs
            .iter()
            .zip(&self.sections)
            .filter(|(_, s)| s.kept)
            .map(|(raw, _)| raw.len() / 8)
            .sum();
        // Each section's entries lie in the file; more than the file holds
        // means sections share them, and the list would grow past what the
        // input justifies.
        if entries > r.data.len() / 8 {
            return Err(r.err(format!(
                "the sections' relocation entries overlap ({entries} entries \
                 in a file of {} bytes)",
                r.data.len()
            )));
        }
        let mut relocs: Vec<Reloc> = Vec::with_capacity(entries);
        // An `__eh_frame` problem is reported only when no relocation of
        // any section is bad (they are looked at first).
        let mut eh_frame_error = None;
        SCRATCH.with_borrow_mut(|scratch| {
            for (sect, raw) in raw_relocs.iter().enumerate() {
                let sec = &self.sections[sect];
                if !sec.kept {
                    continue;
                }
                let first = relocs.len();
                // The atom of each of the section's relocations.
                let mut atom_of = std::mem::take(&mut scratch.atom_of);
                atom_of.clear();
                // Whether the relocations are known to be in atom order.
                let mut in_order = true;
                if !raw.is_empty() {
                    in_order =
                        match self.place_relocs_inline(r, sect, raw, &mut relocs, &mut atom_of) {
                            Some(in_order) => in_order,
                            None => {
                                // Something only the general path handles (or
                                // reports): start the section over with it.
                                relocs.truncate(first);
                                atom_of.clear();
                                self.place_section_relocs(
                                    r,
                                    sect,
                                    raw,
                                    scratch,
                                    &mut relocs,
                                    &mut atom_of,
                                )?
                            }
                        };
                }
                if sec.segname == "__TEXT" && sec.sectname == EH_FRAME {
                    in_order = false;
                    if let Err(e) =
                        self.add_eh_frame_relocs(r, sect, first, &mut relocs, &mut atom_of)
                    {
                        eh_frame_error.get_or_insert(e);
                    }
                }
                if !in_order {
                    sort_by_atom(&mut relocs[first..], &mut atom_of);
                }
                self.set_reloc_ranges(sect, first, &atom_of);
                scratch.atom_of = atom_of;
            }
            Ok(())
        })?;
        if let Some(e) = eh_frame_error {
            return Err(e);
        }
        self.relocs = relocs;
        Ok(())
    }

    /// Gives each atom of section `sect` its range of the file's
    /// relocations: those from `first` on are the section's, whose atoms
    /// `atom_of` lists in ascending order.
    fn set_reloc_ranges(&mut self, sect: usize, first: usize, atom_of: &[u32]) {
        let sec = &self.sections[sect];
        let mut k = 0;
        for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
            let atom = &mut self.atoms[a as usize];
            atom.relocs_start = (first + k) as u32;
            while k < atom_of.len() && atom_of[k] == a {
                k += 1;
            }
            atom.relocs_end = (first + k) as u32;
        }
    }

    /// [`Self::place_section_relocs`] for a section whose relocations are
    /// all good, as nearly all are: one pass over the raw entries, with
    /// the target's decoder inlined and the usual relocation placed
    /// inline. None at the first entry that is not good (what it appended
    /// is then to be dropped, and the general path to say what is wrong).
    fn place_relocs_inline(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        raw: &[u8],
        relocs: &mut Vec<Reloc>,
        atom_of: &mut Vec<u32>,
    ) -> Option<bool> {
        let entries: &[[u8; 8]] = raw.as_chunks().0;
        let address = |e: &[u8; 8]| u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        // The entries of a pair share their address: without two at one
        // address there is none (or a bad one, which decoding rejects),
        // and a loop for lone entries does.
        let descending = entries.windows(2).all(|w| address(&w[0]) > address(&w[1]));
        let pairs = !descending && entries.windows(2).any(|w| address(&w[0]) == address(&w[1]));
        let out = (relocs, atom_of);
        let cpu = r.arch.cpu_type();
        if cpu == macho::CPU_TYPE_X86_64 {
            if pairs {
                self.place_paired_relocs::<crate::arch::X86_64>(r, sect, entries, out)
            } else {
                self.place_lone_relocs::<crate::arch::X86_64>(sect, entries, descending, out)
            }
        } else if cpu == macho::CPU_TYPE_ARM64 {
            if pairs {
                self.place_paired_relocs::<crate::arch::Arm64>(r, sect, entries, out)
            } else {
                self.place_lone_relocs::<crate::arch::Arm64>(sect, entries, descending, out)
            }
        } else {
            None
        }
    }

    /// [`Self::place_relocs_inline`] for entries that all stand alone
    /// (plain ones, see [`decode_plain`]), in ascending or `descending`
    /// order of address. Three passes: one decodes the entries, one finds
    /// the atoms of their fields, one their targets, so that each loop
    /// holds what it needs in registers.
    #[inline(never)]
    fn place_lone_relocs<D: InlineDecode>(
        &self,
        sect: usize,
        entries: &[[u8; 8]],
        descending: bool,
        (relocs, atom_of): (&mut Vec<Reloc>, &mut Vec<u32>),
    ) -> Option<bool> {
        let sec = &self.sections[sect];
        let first = relocs.len();
        let mut fields = FieldCursor::new(self, sec)?;
        if descending {
            decode_plain_all::<D>(relocs, entries.iter().rev(), entries.len(), sec.data)?;
        } else {
            decode_plain_all::<D>(relocs, entries.iter(), entries.len(), sec.data)?;
        }
        place_fields(&mut relocs[first..], atom_of, &mut fields)?;
        self.settle_targets(&mut relocs[first..], &[])?;
        Some(descending || ascending(entries))
    }

    /// [`Self::place_relocs_inline`] for entries some of which are pairs:
    /// as [`Self::place_lone_relocs`], with an addend entry and the plain
    /// entry it applies to taken as one, and any other group placed whole
    /// by the general path.
    #[inline(never)]
    fn place_paired_relocs<D: InlineDecode>(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        entries: &[[u8; 8]],
        (relocs, atom_of): (&mut Vec<Reloc>, &mut Vec<u32>),
    ) -> Option<bool> {
        let sec = &self.sections[sect];
        let info = |i: usize| relocation_info(entries[i]);
        let address = |e: &[u8; 8]| u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        // As `place_section_relocs` decides from the decoded relocations,
        // whose address is that of their entries.
        let descending = entries.windows(2).all(|w| {
            let (a, b) = (address(&w[0]), address(&w[1]));
            a > b || (a == b && D::is_pair_head(&relocation_info(w[0])))
        });
        let first = relocs.len();
        let mut fields = FieldCursor::new(self, sec)?;
        // Where (from `first`) the relocations the general path placed
        // are, whose targets are settled already.
        let mut settled = Vec::new();
        // For what only the general path places.
        let mut walks = (AtomWalk::new(), AtomWalk::new());
        let n = entries.len();
        // Backwards, a pair is an entry and the pair head before it: a
        // head is never the second of a pair, so these are the pairs
        // decoding forwards finds.
        let mut next = if descending { n } else { 0 };
        PlacedOut::fill(relocs, atom_of, n, |out| loop {
            // The group's first entry and how many it has.
            let (at, len) = if descending {
                if next == 0 {
                    break Some(());
                }
                if next >= 2 && D::is_pair_head(&info(next - 2)) {
                    next -= 2;
                    (next, 2)
                } else {
                    next -= 1;
                    (next, 1)
                }
            } else {
                if next == n {
                    break Some(());
                }
                if D::is_pair_head(&info(next)) && next + 1 < n {
                    next += 2;
                    (next - 2, 2)
                } else {
                    next += 1;
                    (next - 1, 1)
                }
            };
            let plain = if len == 1 {
                decode_plain::<D>(&entries[at], sec.data)
            } else {
                decode_addend_pair::<D>(&entries[at], &entries[at + 1], sec.data)
            };
            let (atom, reloc) = match plain.and_then(|reloc| fields.place(reloc)) {
                Some(placed) => placed,
                None => {
                    settled.push(out.len as u32);
                    self.place_group::<D>(r, sect, &entries[at..at + len], &mut walks)?
                }
            };
            out.push(atom, reloc);
        })?;
        self.settle_targets(&mut relocs[first..], &settled)?;
        // The entries of a pair share their address.
        Some(descending || ascending(entries))
    }

    /// A group of entries (one, or a pair) as the general path places
    /// it: decoded by the target, then placed. None when it is bad.
    #[inline(never)]
    fn place_group<D: InlineDecode>(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        group: &[[u8; 8]],
        walks: &mut (AtomWalk, AtomWalk),
    ) -> Option<(u32, Reloc)> {
        let data = self.sections[sect].data;
        let d = match *group {
            [e] => {
                let e = relocation_info(e);
                match D::decode_lone(&e, data) {
                    Some(d) => d,
                    None => D::decode_group(&[e], data)?,
                }
            }
            [e, second] => D::decode_group(&[relocation_info(e), relocation_info(second)], data)?,
            _ => return None,
        };
        match self.place_plain_reloc(sect, &d, walks) {
            Some(placed) => Some(placed),
            None => self.place_reloc(r, sect, &d, walks).ok(),
        }
    }

    /// The second pass of [`Self::place_lone_relocs`]: turns the entry's
    /// target each of `relocs` holds (see [`decode_plain`]) into its
    /// target, but for those at the indices `settled` (ascending), which
    /// have theirs. None when a target is not there.
    fn settle_targets(&self, relocs: &mut [Reloc], settled: &[u32]) -> Option<()> {
        let mut targets = AtomWalk::new();
        let mut from = 0;
        for &k in settled {
            self.settle_run(&mut relocs[from..k as usize], &mut targets)?;
            from = k as usize + 1;
        }
        self.settle_run(&mut relocs[from..], &mut targets)
    }

    /// [`Self::settle_targets`] for relocations none of which has its
    /// target yet; `targets` walks the atoms of section-relative ones.
    #[inline(always)]
    fn settle_run(&self, relocs: &mut [Reloc], targets: &mut AtomWalk) -> Option<()> {
        for reloc in relocs {
            match reloc.target {
                Target::Symbol(index) => {
                    reloc.target = self.extern_target(index, &mut reloc.addend)?;
                }
                Target::Atom(ordinal) => {
                    // The field holds the address in the input's address
                    // space.
                    let tsect = (ordinal as usize).wrapping_sub(1);
                    let toff = (reloc.addend as u64).wrapping_sub(self.sections.get(tsect)?.addr);
                    reloc.target = Target::Atom(targets.find(self, tsect, toff)?);
                    reloc.addend = toff as i64 - targets.start as i64;
                }
            }
        }
        Some(())
    }

    /// Decodes the raw relocation entries of section `sect` and appends
    /// them, atom-relative, to `relocs` (their atoms to `atom_of`); says
    /// whether they came out in (atom, offset) order.
    /// Decoding all entries first reports the first bad entry as decoding
    /// finds it, else the first bad one in placing order.
    fn place_section_relocs(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        raw: &[u8],
        scratch: &mut RelocScratch,
        relocs: &mut Vec<Reloc>,
        atom_of: &mut Vec<u32>,
    ) -> Result<bool> {
        let sec = &self.sections[sect];
        let RelocScratch { infos, decoded, .. } = scratch;
        infos.clear();
        infos.extend(
            raw.chunks_exact(8)
                .map(|e| relocation_info(e.try_into().unwrap())),
        );
        decoded.clear();
        r.arch
            .decode_relocs(infos, sec.data, decoded)
            .map_err(|(i, e)| {
                r.err(format!(
                    "bad relocation at {},{} offset {:#x}: {e}",
                    sec.segname, sec.sectname, infos[i].r_address
                ))
            })?;
        // Assemblers list a section's relocations from its end to its
        // start: taken backwards, they are already in atom order, and the
        // sort after has nothing to do. (Only a strictly descending list
        // is turned: equal offsets keep their order.)
        let descending = decoded
            .windows(2)
            .all(|w| w[0].info.r_address > w[1].info.r_address);
        // Walks over the atoms of the fields and of section-relative
        // targets: both are met in ascending order (fields by the turn
        // above, targets because compact unwind entries name functions in
        // order), so most lookups stay in the atom of the one before.
        let mut walks = (AtomWalk::new(), AtomWalk::new());
        let n = decoded.len();
        let mut order = PlacedOrder::default();
        for i in 0..n {
            let d = &decoded[if descending { n - 1 - i } else { i }];
            let (atom, reloc) = match self.place_plain_reloc(sect, d, &mut walks) {
                Some(placed) => placed,
                None => self.place_reloc(r, sect, d, &mut walks)?,
            };
            order.push(atom, reloc, relocs, atom_of);
        }
        Ok(order.in_order)
    }

    /// When every function has a compact unwind entry that does not defer
    /// to DWARF (the usual case for C), `__eh_frame` adds nothing the
    /// unwinder uses; ld64 and lld drop those FDEs too. Not reading it
    /// saves an atom and three relocations per function. A function whose
    /// frame compact unwind cannot describe has a DWARF-mode entry, or no
    /// entry at all but an FDE (more FDEs than entries, then).
    fn drop_redundant_eh_frame(&mut self, arch: &dyn Arch) {
        let Some(cu) = self.sections.iter().find(|s| s.metadata) else {
            return;
        };
        let entries = cu.data.chunks_exact(COMPACT_UNWIND_ENTRY as usize);
        let fdes: usize = self
            .sections
            .iter()
            .filter(|s| s.segname == "__TEXT" && s.sectname == EH_FRAME)
            .map(|s| super::eh_frame::fde_count(s.data))
            .sum();
        let mode_mask = crate::unwind_info::UNWIND_MODE_MASK;
        let needs_dwarf = fdes > entries.len()
            || entries.into_iter().any(|e| {
                u32::from_le_bytes(e[12..16].try_into().unwrap()) & mode_mask
                    == arch.unwind_mode_dwarf()
            });
        if !needs_dwarf {
            for s in &mut self.sections {
                if s.segname == "__TEXT" && s.sectname == EH_FRAME {
                    s.kept = false;
                }
            }
        }
    }

    /// An FDE whose function also has a compact unwind entry that does not
    /// defer to DWARF is never read: the unwinder follows `__unwind_info`.
    /// ld64 and lld leave such FDEs out; marking them dead here keeps them
    /// out of the output and out of `-dead_strip`'s unwind links (see
    /// [`crate::unwind::fdes`]). Functions are told apart by where they
    /// start, not by their atom: an object without subsections keeps a
    /// section's functions in one atom, where a compact one may sit next
    /// to one that needs its FDE.
    fn drop_fdes_with_compact_unwind(&mut self, arch: &dyn Arch) {
        let kept_eh_frame =
            |s: &InputSection| s.kept && s.segname == "__TEXT" && s.sectname == EH_FRAME;
        if !self.sections.iter().any(kept_eh_frame) {
            return; // no FDE to drop (the usual case, see `drop_redundant_eh_frame`)
        }
        let mode_mask = crate::unwind_info::UNWIND_MODE_MASK;
        let mut compact: rustc_hash::FxHashSet<(u32, u32)> = Default::default();
        for sec in self.sections.iter().filter(|s| s.metadata) {
            for e in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                let atom = &self.atoms[e as usize];
                let data = self.atom_data(e);
                let Some(encoding) = data.get(12..16) else {
                    continue;
                };
                let encoding = u32::from_le_bytes(encoding.try_into().unwrap());
                if encoding & mode_mask == arch.unwind_mode_dwarf() {
                    continue;
                }
                let relocs = &self.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
                let function = relocs
                    .iter()
                    .find(|r| r.offset == 0)
                    .and_then(|r| self.local_point(r.target, r.addend));
                compact.extend(function);
            }
        }
        if compact.is_empty() {
            return;
        }
        for sec in self.sections.iter().filter(|s| kept_eh_frame(s)) {
            for a in sec.atoms_start..sec.atoms_start + sec.atoms_len {
                if self.fde_function(a).is_some_and(|f| compact.contains(&f)) {
                    self.atoms[a as usize].live = false;
                }
            }
        }
    }

    /// Where `target + addend` points inside this object: (atom, offset
    /// in it). None for a symbol defined elsewhere, or before its atom.
    fn local_point(&self, target: Target, addend: i64) -> Option<(u32, u32)> {
        let (atom, base) = match target {
            Target::Atom(a) => (a, 0),
            Target::Symbol(s) => {
                let sym = self.symbols.get(s as usize)?;
                if !sym.is_defined_in_section() || sym.atom == NONE {
                    return None;
                }
                let a = &self.atoms[sym.atom as usize];
                let start = self.sections[a.section as usize].addr + u64::from(a.offset);
                (sym.atom, sym.n_value.checked_sub(start)?)
            }
        };
        let offset = u32::try_from(i64::try_from(base).ok()?.checked_add(addend)?).ok()?;
        Some((atom, offset))
    }

    /// The function the FDE atom `fde` describes: (its atom, where in that
    /// atom it starts). An atom of an object without subsections holds
    /// several functions, each with its own FDE.
    pub fn fde_function(&self, fde: u32) -> Option<(u32, u32)> {
        let atom = &self.atoms[fde as usize];
        let relocs = &self.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
        let r = super::eh_frame::pc_begin(relocs)?;
        // `pc_begin` holds `function - field`, written (see
        // `eh_frame::implicit_relocs`, and `add_eh_frame_relocs` for
        // arm64) as `target + addend - FDE start`, the field being
        // `r.offset` bytes into the FDE.
        // (A hostile addend may not reach past the field.)
        self.local_point(r.target, r.addend.checked_add(i64::from(r.offset))?)
    }

    /// Makes the implicit pointers of the `__eh_frame` section `sect`
    /// explicit; its relocations so far are `relocs[first..]`, in the atoms
    /// `atom_of` lists.
    fn add_eh_frame_relocs(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        first: usize,
        relocs: &mut Vec<Reloc>,
        atom_of: &mut Vec<u32>,
    ) -> Result<()> {
        let sec = &self.sections[sect];
        let atoms: Vec<(u32, u64)> = (sec.atoms_start..sec.atoms_start + sec.atoms_len)
            .map(|a| (a, u64::from(self.atoms[a as usize].offset)))
            .collect();
        let range = sec.atoms_start..sec.atoms_start + sec.atoms_len;
        // arm64 objects state an FDE's pointers as `target - L + k` with L
        // a label at the start of the section (the CIE's atom), so the
        // value holds only while the FDE stays as far from its CIE as in
        // the object. Taken against the FDE itself instead, it holds
        // wherever the FDE goes (an FDE before it left out, an FDE an
        // incremental update moves).
        for (rel, &a) in relocs[first..].iter_mut().zip(atom_of.iter()) {
            if let Some(Target::Atom(s)) = rel.subtrahend {
                if s != a && range.contains(&s) {
                    let (fde, label) =
                        (self.atoms[a as usize].offset, self.atoms[s as usize].offset);
                    // (Wrapping: a hostile addend is wrong either way.)
                    rel.addend = rel.addend.wrapping_add(i64::from(fde) - i64::from(label));
                    rel.subtrahend = Some(Target::Atom(a));
                }
            }
        }
        let mut explicit: Vec<u64> = relocs[first..]
            .iter()
            .zip(atom_of.iter())
            .map(|(rel, &a)| u64::from(self.atoms[a as usize].offset) + u64::from(rel.offset))
            .collect();
        explicit.sort_unstable();
        let implicit =
            super::eh_frame::implicit_relocs(sec.data, sec.addr, &atoms, &explicit, self)
                .map_err(|e| r.err(format!("__TEXT,__eh_frame: {e}")))?;
        for (a, rel) in implicit {
            atom_of.push(a);
            relocs.push(rel);
        }
        Ok(())
    }

    /// [`Self::place_reloc`] for most relocations, those that are not a
    /// difference: a reference to a symbol, or a pointer that holds the
    /// address it points at (compact unwind entries' functions), without
    /// anything that only the others or a bad entry need. None for the
    /// others and for a bad one (which `place_reloc` then reports).
    #[inline(always)]
    fn place_plain_reloc(
        &self,
        sect: usize,
        decoded: &DecodedReloc,
        walks: &mut (AtomWalk, AtomWalk),
    ) -> Option<(u32, Reloc)> {
        let info = decoded.info;
        if !is_plain(decoded) {
            return None;
        }
        let off = u64::from(info.r_address);
        if off + (1u64 << info.r_length) > self.sections[sect].size {
            return None;
        }
        let atom = walks.0.find(self, sect, off)?;
        let (target, addend) = self.plain_target(decoded, &mut walks.1)?;
        let reloc = Reloc {
            offset: (off - walks.0.start) as u32,
            kind: decoded.kind,
            length: info.r_length,
            target,
            addend,
            subtrahend: None,
        };
        Some((atom, reloc))
    }

    /// The target and addend of a plain entry (see [`is_plain`]);
    /// `targets` walks the atoms of section-relative targets. None when
    /// its target is not there.
    #[inline(always)]
    fn plain_target(
        &self,
        decoded: &DecodedReloc,
        targets: &mut AtomWalk,
    ) -> Option<(Target, i64)> {
        let info = decoded.info;
        let mut addend = decoded.addend;
        let target = if info.r_extern {
            self.extern_target(info.r_symbolnum, &mut addend)?
        } else {
            // The field holds the address in the input's address space.
            let tsect = (info.r_symbolnum as usize).wrapping_sub(1);
            let toff = (addend as u64).wrapping_sub(self.sections.get(tsect)?.addr);
            let t = targets.find(self, tsect, toff)?;
            addend = toff as i64 - targets.start as i64;
            Target::Atom(t)
        };
        Some((target, addend))
    }

    /// Makes a relocation the target decoded atom-relative: its atom, and
    /// its target as a symbol or an atom of this file.
    #[inline(never)]
    fn place_reloc(
        &self,
        r: &Reader<'a, '_>,
        sect: usize,
        decoded: &DecodedReloc,
        walks: &mut (AtomWalk, AtomWalk),
    ) -> Result<(u32, Reloc)> {
        let sec = &self.sections[sect];
        let info = decoded.info;
        let where_ = || {
            format!(
                "{},{} offset {:#x}",
                sec.segname, sec.sectname, info.r_address
            )
        };
        let bad = |what: &str| r.err(format!("bad relocation at {}: {what}", where_()));
        let (subtrahend_info, kind) = (decoded.subtrahend, decoded.kind);
        let size = 1u64 << info.r_length;
        let off = u64::from(info.r_address);
        if off + size > sec.size {
            return Err(bad("field extends past the end of the section"));
        }
        let atom = walks
            .0
            .find(self, sect, off)
            .ok_or_else(|| bad("no atom holds the field"))?;
        let atom_off = (off - walks.0.start) as u32;
        if subtrahend_info.is_none() && info.r_extern {
            // The usual case: a reference to a symbol, no difference.
            let mut addend = decoded.addend;
            let target = self
                .extern_target(info.r_symbolnum, &mut addend)
                .ok_or_else(|| bad("symbol index out of range"))?;
            let reloc = Reloc {
                offset: atom_off,
                kind,
                length: info.r_length,
                target,
                addend,
                subtrahend: None,
            };
            return Ok((atom, reloc));
        }
        // A difference `minuend - subtrahend + addend` (a SUBTRACTOR pair)
        // holds in its field the addend plus the input address of each
        // section-relative side (as the assembler resolved it: a side
        // named by a symbol counts as 0). A section-relative subtrahend
        // comes from a file without subsections, whose section is one
        // atom: only how far that atom moves matters, so the difference
        // is taken against the atom's start (`sub_base`).
        let mut sub_base = 0u64;
        let subtrahend = match subtrahend_info {
            Some(sub) if sub.r_extern => {
                let mut sub_addend = 0i64;
                let t = self
                    .extern_target(sub.r_symbolnum, &mut sub_addend)
                    .ok_or_else(|| bad("SUBTRACTOR symbol index out of range"))?;
                Some((t, sub_addend))
            }
            Some(sub) => {
                let (a, base) = self
                    .whole_section_atom(sub.r_symbolnum)
                    .map_err(|why| bad(&format!("section-relative SUBTRACTOR: {why}")))?;
                sub_base = base;
                Some((Target::Atom(a), 0))
            }
            None => None,
        };
        let mut addend = decoded.addend;
        let embedded = decoded.addend;
        let target = if info.r_extern {
            let t = self
                .extern_target(info.r_symbolnum, &mut addend)
                .ok_or_else(|| bad("symbol index out of range"))?;
            addend = addend.wrapping_add(sub_base as i64);
            t
        } else {
            // Section-relative: the field holds the referent's address in the
            // input file's address space; find the atom that holds it.
            let referent = if info.r_pcrel {
                r.arch
                    .pc_relative_referent(kind, sec.addr.wrapping_add(off), addend)
            } else {
                (embedded as u64).wrapping_add(sub_base)
            };
            let tsect = (info.r_symbolnum as usize).wrapping_sub(1);
            let tsec = self
                .sections
                .get(tsect)
                .ok_or_else(|| bad("section ordinal out of range"))?;
            if subtrahend.is_some() && !tsec.is_zerofill() && tsec.atoms_len == 1 {
                // One atom: the difference depends only on how far it
                // moves, wherever in it the minuend lies.
                let a = tsec.atoms_start;
                let start = tsec
                    .addr
                    .wrapping_add(u64::from(self.atoms[a as usize].offset));
                addend = referent.wrapping_sub(start) as i64;
                Target::Atom(a)
            } else {
                let toff = referent.wrapping_sub(tsec.addr);
                let t = walks.1.find(self, tsect, toff).ok_or_else(|| {
                    bad(&format!(
                        "target address {referent:#x} is outside {},{}",
                        tsec.segname, tsec.sectname
                    ))
                })?;
                addend = toff as i64 - walks.1.start as i64;
                Target::Atom(t)
            }
        };
        let subtrahend = subtrahend.map(|(t, sub_addend)| {
            addend -= sub_addend;
            t
        });
        Ok((
            atom,
            Reloc {
                offset: atom_off,
                kind,
                length: info.r_length,
                target,
                addend,
                subtrahend,
            },
        ))
    }

    /// The target of an external relocation: a global symbol stays a symbol
    /// (resolution decides where it lands); a local one becomes its atom,
    /// with the symbol's offset in the atom folded into `addend`.
    fn extern_target(&self, index: u32, addend: &mut i64) -> Option<Target> {
        let s = self.symbols.get(index as usize)?;
        if s.is_external() || !s.is_defined_in_section() || s.atom == NONE {
            return Some(Target::Symbol(index));
        }
        let a = &self.atoms[s.atom as usize];
        let sec = &self.sections[a.section as usize];
        // Wrapping: a bad symbol may lie before its section (its atom is
        // then the section's first); the sum wraps as in a release build.
        let delta = s
            .n_value
            .wrapping_sub(sec.addr)
            .wrapping_sub(u64::from(a.offset));
        *addend = addend.wrapping_add(delta as i64);
        Some(Target::Atom(s.atom))
    }

    /// The input section of an atom.
    pub fn section_of(&self, atom: u32) -> &InputSection<'a> {
        &self.sections[self.atoms[atom as usize].section as usize]
    }

    /// The bytes of an atom (empty for zero-fill).
    pub fn atom_data(&self, atom: u32) -> &'a [u8] {
        let a = &self.atoms[atom as usize];
        let sec = &self.sections[a.section as usize];
        if sec.data.is_empty() {
            return &[];
        }
        &sec.data[a.offset as usize..(a.offset + a.size) as usize]
    }

    /// The name that says most about atom `atom`: its own symbol's, or,
    /// when that is an assembler-temporary label (`ltmp0` at a section's
    /// start, which clang emits on arm64), a source name at the same
    /// address. None for an atom without a symbol.
    pub fn atom_name(&self, atom: u32) -> Option<&'a [u8]> {
        let a = &self.atoms[atom as usize];
        if a.symbol == NONE {
            return None;
        }
        let temporary = |n: &[u8]| n.first().is_some_and(|c| matches!(c, b'l' | b'L'));
        let name = self.symbols[a.symbol as usize].name;
        if !temporary(name) {
            return Some(name);
        }
        let start = self.sections[a.section as usize].addr + u64::from(a.offset);
        let better = self.symbols.iter().find(|s| {
            s.atom == atom && s.is_defined_in_section() && s.n_value == start && !temporary(s.name)
        });
        Some(better.map_or(name, |s| s.name))
    }

    /// `_name+0xOFF` for diagnostics about a place inside an atom.
    pub fn describe(&self, atom: u32, offset: u32) -> String {
        let a = &self.atoms[atom as usize];
        if let Some(name) = self.atom_name(atom) {
            let name = String::from_utf8_lossy(name);
            format!("symbol {name}+{offset:#x}")
        } else {
            let sec = &self.sections[a.section as usize];
            format!("{},{}+{:#x}", sec.segname, sec.sectname, a.offset + offset)
        }
    }
}

/// The symbols that start atoms in a file with subsections, as
/// `section index << 56 | offset << 24 | symbol index`, ascending.
type Starters = Vec<u64>;

/// Where a section is cut into atoms.
enum Cuts<'s> {
    /// At the section's start and where each of these symbols starts
    /// (`section << 32 | offset`, ascending).
    Symbols(&'s [u64]),
    /// Every so many bytes (fixed-size literals, compact unwind entries).
    Every(u64),
    /// At these offsets, ascending (none: a section that is not kept).
    List(Vec<u64>),
}

impl Cuts<'_> {
    fn count(&self, size: u64) -> usize {
        match self {
            Cuts::Symbols(s) => s.len() + usize::from(s.first().is_none_or(|&k| k as u32 != 0)),
            Cuts::Every(n) => size.div_ceil(*n) as usize,
            Cuts::List(v) => v.len(),
        }
    }

    /// Calls `f(start, end)` for each piece, in section order.
    fn for_each_piece(&self, size: u64, mut f: impl FnMut(u64, u64)) {
        let mut previous: Option<u64> = None;
        let mut cut = |at: u64| {
            if let Some(start) = previous.replace(at) {
                f(start, at);
            }
        };
        match self {
            Cuts::Symbols(s) => {
                if s.first().is_none_or(|&k| k as u32 != 0) {
                    cut(0);
                }
                s.iter().for_each(|&k| cut(k & 0xffff_ffff));
            }
            Cuts::Every(n) => (0..size).step_by(*n as usize).for_each(cut),
            Cuts::List(v) => v.iter().copied().for_each(cut),
        }
        if let Some(start) = previous {
            f(start, size);
        }
    }
}

/// The relocation a plain entry stands for (one that [`is_plain`] takes
/// and [`InlineDecode::decode_lone`] decodes), as far as the entry alone
/// says: `offset` is the field's offset in the section, and `target` the
/// entry's own, `Symbol(index)` for one naming a symbol and
/// `Atom(ordinal)` (the 1-based section) for a section-relative one,
/// which [`ObjectFile::settle_targets`] turns into the target. None for
/// any other entry (the general path decodes or reports those).
#[inline(always)]
fn decode_plain<D: InlineDecode>(e: &[u8; 8], data: &[u8]) -> Option<Reloc> {
    let address = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
    let word = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
    let form = &D::LONE[(word >> 28) as usize];
    if (form.shapes >> ((word >> 24) & 15)) & 1 == 0 {
        return None;
    }
    let length = ((word >> 25) & 3) as u8;
    let at = address as usize;
    // The field lies in the section.
    let rest = data.get(at..)?;
    if rest.len() < 1 << length {
        return None;
    }
    let addend = if form.reads_field {
        field_value(rest, length).wrapping_add(i64::from(form.bias))
    } else {
        0
    };
    let index = word & 0x00ff_ffff;
    let target = if word & (1 << 27) != 0 {
        Target::Symbol(index)
    } else {
        Target::Atom(index)
    };
    Some(Reloc {
        offset: address,
        kind: form.kind,
        length,
        target,
        addend,
        subtrahend: None,
    })
}

/// [`decode_plain`] for an addend entry (`head`, [`InlineDecode::ADDEND`])
/// and the entry it applies to at the same address: that entry's
/// relocation, with the addend the head holds (a signed 24-bit number).
#[inline(always)]
fn decode_addend_pair<D: InlineDecode>(head: &[u8; 8], e: &[u8; 8], data: &[u8]) -> Option<Reloc> {
    let head_word = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let word = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
    if D::ADDEND != Some((head_word >> 28) as u8)
        || head[..4] != e[..4]
        || !D::LONE[(word >> 28) as usize].takes_addend
    {
        return None;
    }
    let mut reloc = decode_plain::<D>(e, data)?;
    reloc.addend = i64::from(((head_word << 8) as i32) >> 8);
    Some(reloc)
}

/// The signed integer of `1 << length` bytes at the start of `field`
/// (which holds at least that many).
#[inline(always)]
fn field_value(field: &[u8], length: u8) -> i64 {
    let word = match field.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => short_word(field),
    };
    let unused = 64 - (8u32 << length);
    ((word << unused) as i64) >> unused
}

/// The little-endian word of a field near the end of its section (fewer
/// than 8 bytes left), the missing bytes 0.
#[cold]
fn short_word(field: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = field.len().min(8);
    w[..n].copy_from_slice(&field[..n]);
    u64::from_le_bytes(w)
}

/// Whether a decoded entry is one of the plain majority: no subtrahend,
/// and not a pc-relative reference to a section (whose target the
/// general path works out from the field's own address).
#[inline(always)]
fn is_plain(d: &DecodedReloc) -> bool {
    d.subtrahend.is_none() && (d.info.r_extern || !d.info.r_pcrel)
}

/// Appends placed relocations and tells whether they came in atom order:
/// (atom, offset) as one number never going down, so no sort is needed.
struct PlacedOrder {
    in_order: bool,
    last: u64,
}

impl Default for PlacedOrder {
    fn default() -> Self {
        Self {
            in_order: true,
            last: 0,
        }
    }
}

impl PlacedOrder {
    #[inline(always)]
    fn push(&mut self, atom: u32, reloc: Reloc, relocs: &mut Vec<Reloc>, atom_of: &mut Vec<u32>) {
        let key = u64::from(atom) << 32 | u64::from(reloc.offset);
        self.in_order &= key >= self.last;
        self.last = key;
        atom_of.push(atom);
        relocs.push(reloc);
    }
}

/// Whether the entries' addresses never go down, so that what they
/// place comes in atom order (the atoms of a section, and so the
/// (atom, offset) of its fields, follow the fields' section offsets).
/// With [`ObjectFile::place_relocs_inline`]'s strictly descending
/// entries taken backwards, these are the orders that need no sort.
fn ascending(entries: &[[u8; 8]]) -> bool {
    let address = |e: &[u8; 8]| u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
    entries.windows(2).all(|w| address(&w[0]) <= address(&w[1]))
}

/// Appends [`decode_plain`] of each of `entries` (in placing order, at
/// most `room` of them) to `relocs`, written into its spare room without
/// a check of capacity each; None at the first entry it does not take.
#[inline(always)]
fn decode_plain_all<'e, D: InlineDecode>(
    relocs: &mut Vec<Reloc>,
    entries: impl Iterator<Item = &'e [u8; 8]>,
    room: usize,
    data: &[u8],
) -> Option<()> {
    relocs.reserve(room);
    let mut written = 0;
    for (e, slot) in entries.zip(&mut relocs.spare_capacity_mut()[..room]) {
        slot.write(decode_plain::<D>(e, data)?);
        written += 1;
    }
    // SAFETY: the loop wrote the first `written` slots of the spare
    // capacity.
    unsafe { relocs.set_len(relocs.len() + written) };
    Some(())
}

/// The second pass of [`ObjectFile::place_lone_relocs`]: the atom of
/// each of `relocs`' fields (whose section offset its `offset` is, made
/// atom-relative here), appended to `atom_of`. None when no atom holds
/// one.
fn place_fields(
    relocs: &mut [Reloc],
    atom_of: &mut Vec<u32>,
    fields: &mut FieldCursor,
) -> Option<()> {
    atom_of.reserve(relocs.len());
    for reloc in relocs {
        let off = u64::from(reloc.offset);
        let (atom, start) = fields.find(off)?;
        reloc.offset = (off - start) as u32;
        atom_of.push(atom);
    }
    Some(())
}

/// Where the fast loops put what they place: the spare room of the
/// file's relocation list and of the list of their atoms, written in
/// turn without a check of capacity.
struct PlacedOut<'v> {
    relocs: &'v mut [MaybeUninit<Reloc>],
    atoms: &'v mut [MaybeUninit<u32>],
    /// How many of each are written.
    len: usize,
}

impl PlacedOut<'_> {
    /// Lets `place` write at most `room` relocations after those of
    /// `relocs` (their atoms after `atom_of`'s), and keeps them if it
    /// succeeds.
    #[inline(always)]
    fn fill(
        relocs: &mut Vec<Reloc>,
        atom_of: &mut Vec<u32>,
        room: usize,
        place: impl FnOnce(&mut PlacedOut) -> Option<()>,
    ) -> Option<()> {
        relocs.reserve(room);
        atom_of.reserve(room);
        let mut out = PlacedOut {
            relocs: &mut relocs.spare_capacity_mut()[..room],
            atoms: &mut atom_of.spare_capacity_mut()[..room],
            len: 0,
        };
        place(&mut out)?;
        let len = out.len;
        // SAFETY: `out` wrote the first `len` slots of both lists' spare
        // capacity (`push` writes each slot before counting it).
        unsafe {
            relocs.set_len(relocs.len() + len);
            atom_of.set_len(atom_of.len() + len);
        }
        Some(())
    }

    #[inline(always)]
    fn push(&mut self, atom: u32, reloc: Reloc) {
        self.relocs[self.len].write(reloc);
        self.atoms[self.len].write(atom);
        self.len += 1;
    }
}

/// A cursor over the atoms of a section for offsets met mostly in
/// ascending order: the answer is usually the atom of the previous
/// lookup or the one after it, which a comparison or two tell without the
/// binary search of [`ObjectFile::atom_at`] (whose answers it gives).
struct AtomWalk {
    /// The section (0-based) of `atom`; `usize::MAX` before the first lookup.
    sect: usize,
    atom: u32,
    /// Where `atom` starts in its section, and where the next atom starts
    /// (for the last one: `past_end`).
    start: u64,
    next: u64,
    /// One past the section's last atom (an index of the file's atoms),
    /// and one past the section's end (its end is the last offset the
    /// last atom holds).
    end: u32,
    past_end: u64,
}

impl AtomWalk {
    fn new() -> Self {
        AtomWalk {
            sect: usize::MAX,
            atom: NONE,
            start: 0,
            next: 0,
            end: 0,
            past_end: 0,
        }
    }

    /// The atom of section `sect` that holds offset `off`, as
    /// [`ObjectFile::atom_at`] finds it.
    #[inline(always)]
    fn find(&mut self, file: &ObjectFile, sect: usize, off: u64) -> Option<u32> {
        if sect == self.sect && off >= self.start {
            if off < self.next {
                return Some(self.atom);
            }
            // The next atom starts at `self.next <= off`: it is the one
            // unless `off` is past its end too.
            let following = self.atom + 1;
            if following < self.end {
                let after = self.bound(file, following + 1);
                if off < after {
                    self.atom = following;
                    self.start = self.next;
                    self.next = after;
                    return Some(following);
                }
            }
        }
        self.seek(file, sect, off)
    }

    /// [`Self::find`] by a binary search of the section's atoms.
    #[inline(never)]
    fn seek(&mut self, file: &ObjectFile, sect: usize, off: u64) -> Option<u32> {
        let atom = file.atom_at(sect, off)?;
        let sec = &file.sections[sect];
        self.sect = sect;
        self.atom = atom;
        self.end = sec.atoms_start + sec.atoms_len;
        self.past_end = sec.size + 1;
        self.start = u64::from(file.atoms[atom as usize].offset);
        self.next = self.bound(file, atom + 1);
        Some(atom)
    }

    /// Where atom `atom` of the section starts, or `past_end` when the
    /// section has no such atom.
    #[inline(always)]
    fn bound(&self, file: &ObjectFile, atom: u32) -> u64 {
        if atom < self.end {
            u64::from(file.atoms[atom as usize].offset)
        } else {
            self.past_end
        }
    }
}

/// [`AtomWalk`] for the fields of one section, met mostly in ascending
/// order: the atom holding an offset, and where that atom starts.
struct FieldCursor<'s> {
    /// The section's atoms, the first of them the file's atom `first`.
    atoms: &'s [Atom],
    first: u32,
    /// Which of them the last lookup found, where it starts, and where
    /// the next one starts (one past the section's end for the last).
    at: usize,
    start: u64,
    next: u64,
    past_end: u64,
}

impl<'s> FieldCursor<'s> {
    /// None for a section without atoms.
    fn new(file: &'s ObjectFile, sec: &InputSection) -> Option<Self> {
        let first = sec.atoms_start;
        let atoms = file
            .atoms
            .get(first as usize..(first + sec.atoms_len) as usize)
            .filter(|a| !a.is_empty())?;
        let mut cursor = FieldCursor {
            atoms,
            first,
            at: 0,
            start: 0,
            next: 0,
            past_end: sec.size + 1,
        };
        cursor.settle(0);
        Some(cursor)
    }

    fn bound(&self, at: usize) -> u64 {
        self.atoms
            .get(at)
            .map_or(self.past_end, |a| u64::from(a.offset))
    }

    fn settle(&mut self, at: usize) {
        self.at = at;
        self.start = u64::from(self.atoms[at].offset);
        self.next = self.bound(at + 1);
    }

    /// The file's atom holding section offset `off` (as
    /// [`ObjectFile::atom_at`] finds it) and where it starts; None when
    /// no atom holds it or it lies before the first one.
    #[inline(always)]
    fn find(&mut self, off: u64) -> Option<(u32, u64)> {
        if off < self.start || off >= self.next {
            // Usually the next atom.
            let after = self.bound(self.at + 2);
            (self.at, self.start, self.next) = if off >= self.next && off < after {
                (self.at + 1, self.next, after)
            } else {
                seek_field(self.atoms, self.past_end, off)?
            };
        }
        Some((self.first + self.at as u32, self.start))
    }

    /// `reloc` with the file's atom holding its field, whose section
    /// offset its `offset` is, made relative to that atom.
    #[inline(always)]
    fn place(&mut self, mut reloc: Reloc) -> Option<(u32, Reloc)> {
        let off = u64::from(reloc.offset);
        let (atom, start) = self.find(off)?;
        reloc.offset = (off - start) as u32;
        Some((atom, reloc))
    }
}

/// [`FieldCursor::find`] by a binary search of the section's `atoms`
/// (`past_end` one past the section's end): the atom that holds `off`,
/// where it starts and where the next one does. A function of its own
/// that returns them, so that the cursor's state can stay in registers.
#[inline(never)]
fn seek_field(atoms: &[Atom], past_end: u64, off: u64) -> Option<(usize, u64, u64)> {
    if off >= past_end {
        return None;
    }
    let at = atoms
        .partition_point(|a| u64::from(a.offset) <= off)
        .checked_sub(1)?;
    let next = atoms.get(at + 1).map_or(past_end, |a| u64::from(a.offset));
    Some((at, u64::from(atoms[at].offset), next))
}

/// Buffers [`ObjectFile::read_relocs`] decodes a section's relocations
/// into, kept by each parsing thread so that a link allocates them once
/// per thread rather than once per section.
#[derive(Default)]
struct RelocScratch {
    infos: Vec<macho::RelocationInfo>,
    decoded: Vec<DecodedReloc>,
    atom_of: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<RelocScratch> = Default::default();
}

/// Whether the link never reads a section past the start the debug map
/// takes (see [`residency::unread_part`]): a debug section not kept in
/// the image.
fn never_read(s: &InputSection) -> bool {
    !s.kept && residency::is_debug(&s.segname, s.flags)
}

/// The part of `data` from the first of `parts` (subslices of it) to
/// the end of the last.
fn span<'a>(data: &'a [u8], parts: &[&'a [u8]]) -> &'a [u8] {
    let base = data.as_ptr() as usize;
    let nonempty = || parts.iter().filter(|p| !p.is_empty());
    let start = nonempty().map(|p| p.as_ptr() as usize - base).min();
    let end = nonempty()
        .map(|p| p.as_ptr() as usize - base + p.len())
        .max();
    match (start, end) {
        (Some(start), Some(end)) => &data[start..end],
        _ => &[],
    }
}

/// Puts a section's relocations in (atom, offset) order, keeping the
/// order of equal keys; usually they already are (see
/// [`ObjectFile::place_section_relocs`]).
fn sort_by_atom(relocs: &mut [Reloc], atom_of: &mut [u32]) {
    let key = |(a, r): (&u32, &Reloc)| u64::from(*a) << 32 | u64::from(r.offset);
    if atom_of.iter().zip(relocs.iter()).map(key).is_sorted() {
        return;
    }
    // Sorted as small (key, position) pairs rather than whole
    // relocations; the sort is stable (equal keys keep their order) and
    // finds the runs already in order (usually two: the explicit
    // relocations and those `add_eh_frame_relocs` added).
    let mut order: Vec<(u64, u32)> = atom_of
        .iter()
        .zip(relocs.iter())
        .map(key)
        .zip(0u32..)
        .collect();
    order.sort_by_key(|&(k, _)| k);
    let sorted: Vec<Reloc> = order.iter().map(|&(_, i)| relocs[i as usize]).collect();
    relocs.copy_from_slice(&sorted);
    for (slot, &(k, _)) in atom_of.iter_mut().zip(&order) {
        *slot = (k >> 32) as u32;
    }
}

/// Offsets where each NUL-terminated string of a C-string section starts.
fn cstring_cuts(data: &[u8]) -> Vec<u64> {
    let mut cuts = vec![0u64];
    for (i, &b) in data.iter().enumerate() {
        if b == 0 && i + 1 < data.len() {
            cuts.push(i as u64 + 1);
        }
    }
    cuts
}

impl super::eh_frame::AtomLookup for ObjectFile<'_> {
    fn atom_at_address(&self, addr: u64) -> Option<(u32, u64)> {
        let (i, sec) = self
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.kept && addr >= s.addr && addr < s.addr + s.size.max(1))?;
        let atom = self.atom_at(i, addr - sec.addr)?;
        Some((atom, sec.addr + u64::from(self.atoms[atom as usize].offset)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::{Arm64, X86_64};

    /// Entries of every type and shape, at the start, middle and end of
    /// a section, some naming a symbol.
    fn entries() -> Vec<[u8; 8]> {
        let mut out = Vec::new();
        for r_type in 0u32..16 {
            for shape in 0u32..16 {
                for address in [0u32, 5, 8, 9, 12, 13, 14, 15, 16, 40] {
                    let word = r_type << 28 | shape << 24 | 0x00ab_cd01;
                    let mut e = [0u8; 8];
                    e[..4].copy_from_slice(&address.to_le_bytes());
                    e[4..].copy_from_slice(&word.to_le_bytes());
                    out.push(e);
                }
            }
        }
        out
    }

    /// The table's decoding is the target's, for the plain entries but
    /// those `left` to the general path, and takes no other.
    fn check_plain<D: InlineDecode>(left: fn(&macho::RelocationInfo) -> bool) {
        let data: Vec<u8> = (0..16u8).map(|b| b.wrapping_mul(37) ^ 0x80).collect();
        for e in entries() {
            let info = relocation_info(e);
            let want = D::decode_lone(&info, &data).filter(is_plain);
            let got = decode_plain::<D>(&e, &data);
            match (want, got) {
                (None, None) => {}
                (Some(_), None) if left(&info) => {}
                (Some(d), Some(r)) => {
                    assert_eq!(d.kind, r.kind, "{info:?}");
                    assert_eq!(d.addend, r.addend, "{info:?}");
                    assert_eq!(d.info.r_length, r.length, "{info:?}");
                    assert_eq!(d.info.r_address, r.offset, "{info:?}");
                    let target = if info.r_extern {
                        Target::Symbol(info.r_symbolnum)
                    } else {
                        Target::Atom(info.r_symbolnum)
                    };
                    assert_eq!(r.target, target, "{info:?}");
                    assert_eq!(r.subtrahend, None);
                }
                (want, got) => panic!("{info:?}: target {want:?}, table {got:?}"),
            }
        }
    }

    #[test]
    fn lone_tables_decode_as_the_targets_do() {
        // SIGNED_1/2/4 that are not pc-relative (no bias then).
        check_plain::<X86_64>(|info| {
            !info.r_pcrel
                && [
                    macho::X86_64_RELOC_SIGNED_1,
                    macho::X86_64_RELOC_SIGNED_2,
                    macho::X86_64_RELOC_SIGNED_4,
                ]
                .contains(&info.r_type)
        });
        check_plain::<Arm64>(|_| false);
    }

    #[test]
    fn addend_pairs_decode_as_the_target_does() {
        let data = [0u8; 16];
        let all = entries();
        for second in &all {
            let mut head = *second;
            // An ADDEND of -3 at the same address (and one elsewhere).
            let word = u32::from(object::macho::ARM64_RELOC_ADDEND) << 28 | 0x00ff_fffd;
            head[4..].copy_from_slice(&word.to_le_bytes());
            for moved in [false, true] {
                if moved {
                    head[0] ^= 4;
                }
                let infos = [relocation_info(head), relocation_info(*second)];
                let want = Arm64::decode_group(&infos, &data).filter(is_plain);
                let got = decode_addend_pair::<Arm64>(&head, second, &data);
                match (want, got) {
                    (None, None) => {}
                    (Some(d), Some(r)) => {
                        assert_eq!((d.kind, d.addend), (r.kind, r.addend), "{infos:?}");
                        assert_eq!(d.addend, -3);
                    }
                    (want, got) => panic!("{infos:?}: target {want:?}, table {got:?}"),
                }
                assert!(decode_addend_pair::<X86_64>(&head, second, &data).is_none());
            }
        }
    }
}
