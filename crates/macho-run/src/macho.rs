//! Reading a Mach-O executable of the host's architecture: the header, the load commands and
//! the ranges of LINKEDIT that the loader needs.
//!
//! Every read is bounds-checked against the file, and every failure names
//! what is wrong and at which file offset, because this tool's job is to
//! judge linker output: a vague error would hide the linker bug.

use crate::error::{Blame, LoadError};
use object::macho;
use object::pod::{self, Pod};
use object::LittleEndian as LE;

use crate::arch::{cpu_name, NAME as HOST_ARCH};

/// A segment as its LC_SEGMENT_64 describes it.
#[derive(Clone, Debug)]
pub struct Segment {
    pub name: String,
    pub vmaddr: u64,
    pub vmsize: u64,
    pub fileoff: u64,
    pub filesize: u64,
    pub maxprot: u32,
    pub initprot: u32,
    pub flags: u32,
    pub sections: Vec<Section>,
}

impl Segment {
    pub fn vm_end(&self) -> u64 {
        self.vmaddr + self.vmsize
    }

    /// `__PAGEZERO` and its kind: a segment at address 0 with no access and
    /// no file content, which only exists to make null pointers fault.
    pub fn is_page_zero(&self) -> bool {
        self.vmaddr == 0 && self.initprot == 0 && self.maxprot == 0 && self.filesize == 0
    }
}

/// A section header inside a segment.
#[derive(Clone, Debug)]
pub struct Section {
    pub segname: String,
    pub sectname: String,
    pub addr: u64,
    pub size: u64,
    pub offset: u32,
    pub align: u32,
    pub flags: u32,
    pub reserved1: u32,
    pub reserved2: u32,
}

impl Section {
    /// The section type (`S_REGULAR`, `S_THREAD_LOCAL_VARIABLES`, ...).
    pub fn kind(&self) -> u32 {
        self.flags & macho::SECTION_TYPE
    }
}

/// A byte range of the file (LINKEDIT tables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileRange {
    pub offset: u64,
    pub size: u64,
}

/// The four opcode streams and the export trie of LC_DYLD_INFO(_ONLY).
#[derive(Clone, Copy, Debug, Default)]
pub struct DyldInfo {
    pub rebase: FileRange,
    pub bind: FileRange,
    pub weak_bind: FileRange,
    pub lazy_bind: FileRange,
    pub export: FileRange,
}

/// LC_SYMTAB and LC_DYSYMTAB fields we use (the indirect symbol table tells
/// which pointer slots back stubs).
#[derive(Clone, Copy, Debug, Default)]
pub struct SymbolTables {
    pub symoff: u64,
    pub nsyms: u32,
    pub stroff: u64,
    pub strsize: u64,
    pub indirectsymoff: u64,
    pub nindirectsyms: u32,
}

/// How an image names a dylib it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DylibKind {
    /// LC_LOAD_DYLIB (and LC_LAZY_LOAD_DYLIB, LC_LOAD_UPWARD_DYLIB): required.
    Load,
    /// LC_LOAD_WEAK_DYLIB: may be missing.
    Weak,
    /// LC_REEXPORT_DYLIB: required, and its exports are the image's too.
    Reexport,
}

/// A parsed executable or dylib: everything the loader needs, borrowed from
/// the file.
#[derive(Debug)]
pub struct Image<'a> {
    pub data: &'a [u8],
    pub blame: Blame,
    /// MH_EXECUTE or MH_DYLIB.
    pub filetype: u32,
    /// May be loaded at another address than its own (MH_PIE executables,
    /// and every dylib).
    pub pie: bool,
    /// MH_DYLIB rather than MH_EXECUTE.
    pub is_dylib: bool,
    /// MH_WEAK_DEFINES: the image has weak definitions (or strong ones
    /// overriding weak ones) that take part in coalescing; dyld looks only
    /// at such images for the definition of a weakly bound symbol.
    pub weak_defines: bool,
    /// MH_BINDS_TO_WEAK: the image uses coalesced symbols; dyld applies
    /// the weak bind stream of such images (and of `weak_defines` ones).
    pub binds_to_weak: bool,
    /// LC_ID_DYLIB's install name (dylibs only).
    pub install_name: Option<String>,
    pub segments: Vec<Segment>,
    /// LC_MAIN's entry point, as a file offset into __TEXT.
    pub entryoff: u64,
    pub chained_fixups: Option<FileRange>,
    pub exports_trie: Option<FileRange>,
    pub dyld_info: Option<DyldInfo>,
    /// Install names of LC_LOAD_DYLIB and friends, in ordinal order (1-based).
    pub dylibs: Vec<String>,
    /// How each of `dylibs` is loaded, in the same order.
    pub dylib_kinds: Vec<DylibKind>,
    /// LC_RPATH entries, in order.
    pub rpaths: Vec<String>,
    pub symtab: Option<SymbolTables>,
}

/// `LC_ATOM_INFO` (newer than the object crate's list): a LINKEDIT blob.
const LC_ATOM_INFO: u32 = 0x36;

const HEADER_SIZE: u64 = std::mem::size_of::<macho::MachHeader64<LE>>() as u64;

/// Reads a plain-old-data struct at `offset`, or says what was cut short.
fn read_pod<'a, T: Pod>(
    data: &'a [u8],
    offset: u64,
    blame: &Blame,
    what: &str,
) -> Result<&'a T, LoadError> {
    let tail = usize::try_from(offset)
        .ok()
        .and_then(|o| data.get(o..))
        .ok_or_else(|| blame.at(offset, format!("{what} starts past the end of the file")))?;
    pod::from_bytes::<T>(tail)
        .map(|(v, _)| v)
        .map_err(|()| blame.at(offset, format!("{what} is truncated")))
}

/// A fixed-size, NUL-padded name field (segment and section names).
fn fixed_name(raw: &[u8; 16]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Picks the slice of the host's architecture out of a universal ("fat")
/// file, if this is one.
fn thin_slice<'a>(data: &'a [u8], blame: &Blame) -> Result<(&'a [u8], u64), LoadError> {
    let magic = match data.get(..4) {
        Some(m) => u32::from_be_bytes(m.try_into().unwrap()),
        None => return Err(blame.at(0, "file is too short to be a Mach-O (under 4 bytes)")),
    };
    if magic != macho::FAT_MAGIC {
        return Ok((data, 0));
    }
    let count = read_pod::<object::U32Bytes<object::BigEndian>>(data, 4, blame, "fat header")?
        .get(object::BigEndian);
    for i in 0..u64::from(count) {
        let at = 8 + i * 20;
        let arch = read_pod::<macho::FatArch32>(data, at, blame, "fat_arch entry")?;
        if arch.cputype.get(object::BigEndian) == crate::arch::CPU_TYPE {
            let off = u64::from(arch.offset.get(object::BigEndian));
            let size = u64::from(arch.size.get(object::BigEndian));
            let end = off.checked_add(size).filter(|&e| e <= data.len() as u64);
            return match end {
                Some(end) => Ok((&data[off as usize..end as usize], off)),
                None => Err(blame.at(
                    at,
                    format!("fat_arch {HOST_ARCH} slice extends past the end of the file"),
                )),
            };
        }
    }
    Err(blame.at(0, format!("universal file has no {HOST_ARCH} slice")))
}

impl<'a> Image<'a> {
    /// Parses and validates an executable. `data` is the whole file.
    pub fn parse(data: &'a [u8], file: &str) -> Result<Image<'a>, LoadError> {
        Image::parse_kind(data, file, &[macho::MH_EXECUTE])
    }

    /// Parses and validates a dylib (MH_DYLIB). `data` is the whole file.
    pub fn parse_dylib(data: &'a [u8], file: &str) -> Result<Image<'a>, LoadError> {
        Image::parse_kind(data, file, &[macho::MH_DYLIB])
    }

    /// Parses and validates a linked image: an executable as [`Image::parse`]
    /// does, or a dylib as [`Image::parse_dylib`]. For tools that read
    /// outputs.
    pub fn parse_linked(data: &'a [u8], file: &str) -> Result<Image<'a>, LoadError> {
        Image::parse_kind(data, file, &[macho::MH_EXECUTE, macho::MH_DYLIB])
    }

    fn parse_kind(data: &'a [u8], file: &str, want: &[u32]) -> Result<Image<'a>, LoadError> {
        let blame = Blame::new(file);
        let (data, slice_off) = thin_slice(data, &blame)?;
        if slice_off != 0 {
            // Offsets inside a slice are relative to the slice; say so once.
            let blame = Blame::new(format!("{file} ({HOST_ARCH} slice)"));
            return Image::parse_thin(data, blame, want);
        }
        Image::parse_thin(data, blame, want)
    }

    fn parse_thin(data: &'a [u8], blame: Blame, want: &[u32]) -> Result<Image<'a>, LoadError> {
        check_magic(data, &blame)?;
        let header = read_pod::<macho::MachHeader64<LE>>(data, 0, &blame, "Mach-O header")?;
        let cputype = header.cputype.get(LE);
        if cputype != crate::arch::CPU_TYPE {
            return Err(blame.at(
                4,
                format!(
                    "wrong architecture: {} Mach-O, but this macho-run runs {HOST_ARCH}",
                    cpu_name(cputype)
                ),
            ));
        }
        crate::arch::check_subtype(header.cpusubtype.get(LE)).map_err(|what| blame.at(8, what))?;
        let filetype = header.filetype.get(LE);
        if !want.contains(&filetype) {
            let (what, expected) = match want {
                [macho::MH_DYLIB] => ("a dylib", "MH_DYLIB = 6"),
                [macho::MH_EXECUTE] => ("an executable", "MH_EXECUTE = 2"),
                _ => ("an executable or a dylib", "MH_EXECUTE = 2 or MH_DYLIB = 6"),
            };
            return Err(blame.at(
                12,
                format!("not {what} (filetype {filetype}, expected {expected})"),
            ));
        }
        let is_dylib = filetype == macho::MH_DYLIB;
        let sizeofcmds = u64::from(header.sizeofcmds.get(LE));
        if HEADER_SIZE + sizeofcmds > data.len() as u64 {
            return Err(blame.at(
                20,
                format!(
                    "load commands ({sizeofcmds} bytes) extend past the end of the file ({} bytes)",
                    data.len()
                ),
            ));
        }
        let mut image = Image {
            data,
            blame,
            filetype,
            pie: is_dylib || header.flags.get(LE) & macho::MH_PIE != 0,
            is_dylib,
            weak_defines: header.flags.get(LE) & macho::MH_WEAK_DEFINES != 0,
            binds_to_weak: header.flags.get(LE) & macho::MH_BINDS_TO_WEAK != 0,
            install_name: None,
            segments: Vec::new(),
            entryoff: 0,
            chained_fixups: None,
            exports_trie: None,
            dyld_info: None,
            dylibs: Vec::new(),
            dylib_kinds: Vec::new(),
            rpaths: Vec::new(),
            symtab: None,
        };
        let mut has_main = false;
        let mut offset = HEADER_SIZE;
        let end = HEADER_SIZE + sizeofcmds;
        for index in 0..header.ncmds.get(LE) {
            let lc =
                read_pod::<macho::LoadCommand<LE>>(data, offset, &image.blame, "load command")?;
            let (cmd, cmdsize) = (lc.cmd.get(LE), u64::from(lc.cmdsize.get(LE)));
            if cmdsize < 8 || cmdsize % 8 != 0 || offset + cmdsize > end {
                return Err(image.blame.at(
                    offset,
                    format!(
                        "load command #{index} (cmd {cmd:#x}) has bad size {cmdsize} \
                         (must be a multiple of 8, at least 8, and within sizeofcmds)"
                    ),
                ));
            }
            let body = &data[offset as usize..(offset + cmdsize) as usize];
            has_main |= image.load_command(cmd, body, offset)?;
            offset += cmdsize;
        }
        if is_dylib {
            if has_main {
                return Err(image.blame.whole("a dylib must not have LC_MAIN"));
            }
        } else if !has_main {
            return Err(image
                .blame
                .whole("no LC_MAIN load command (macho-run runs LC_MAIN executables only)"));
        }
        image.check_segments()?;
        Ok(image)
    }

    /// Interprets one load command; returns whether it was LC_MAIN.
    fn load_command(&mut self, cmd: u32, body: &'a [u8], at: u64) -> Result<bool, LoadError> {
        let blame = self.blame.clone();
        let name = |what| format!("{} load command", what);
        match cmd {
            macho::LC_SEGMENT_64 => self.segment(body, at)?,
            macho::LC_MAIN => {
                let ep = read_pod::<macho::EntryPointCommand<LE>>(body, 0, &blame, "LC_MAIN")
                    .map_err(|_| blame.at(at, "LC_MAIN is truncated"))?;
                self.entryoff = ep.entryoff.get(LE);
                return Ok(true);
            }
            macho::LC_DYLD_CHAINED_FIXUPS => {
                self.chained_fixups = Some(self.linkedit(body, at, "LC_DYLD_CHAINED_FIXUPS")?)
            }
            macho::LC_DYLD_EXPORTS_TRIE => {
                self.exports_trie = Some(self.linkedit(body, at, "LC_DYLD_EXPORTS_TRIE")?)
            }
            macho::LC_DYLD_INFO | macho::LC_DYLD_INFO_ONLY => self.dyld_info(body, at)?,
            macho::LC_LOAD_DYLIB
            | macho::LC_LOAD_WEAK_DYLIB
            | macho::LC_REEXPORT_DYLIB
            | macho::LC_LAZY_LOAD_DYLIB
            | macho::LC_LOAD_UPWARD_DYLIB => {
                let dylib = read_pod::<macho::DylibCommand<LE>>(body, 0, &blame, "dylib command")
                    .map_err(|_| blame.at(at, "LC_LOAD_DYLIB is truncated"))?;
                let name_off = dylib.dylib.name.offset.get(LE) as usize;
                let raw = body.get(name_off..).ok_or_else(|| {
                    blame.at(at, "LC_LOAD_DYLIB name offset is outside the command")
                })?;
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                self.dylibs
                    .push(String::from_utf8_lossy(&raw[..end]).into_owned());
                self.dylib_kinds.push(match cmd {
                    macho::LC_LOAD_WEAK_DYLIB => DylibKind::Weak,
                    macho::LC_REEXPORT_DYLIB => DylibKind::Reexport,
                    _ => DylibKind::Load,
                });
            }
            macho::LC_ID_DYLIB if self.is_dylib => {
                self.install_name = Some(lc_string(body, 8, at, &blame, "LC_ID_DYLIB")?);
            }
            macho::LC_SYMTAB => self.symtab_cmd(body, at)?,
            macho::LC_DYSYMTAB => self.dysymtab_cmd(body, at)?,
            macho::LC_FUNCTION_STARTS
            | macho::LC_DATA_IN_CODE
            | macho::LC_CODE_SIGNATURE
            | macho::LC_SEGMENT_SPLIT_INFO
            | macho::LC_DYLIB_CODE_SIGN_DRS
            | macho::LC_LINKER_OPTIMIZATION_HINT
            | LC_ATOM_INFO => {
                self.linkedit(body, at, "LINKEDIT data")?;
            }
            macho::LC_UNIXTHREAD | macho::LC_THREAD => {
                return Err(blame.at(
                    at,
                    "LC_UNIXTHREAD executables are not supported (macho-run needs LC_MAIN)",
                ))
            }
            macho::LC_SEGMENT => {
                return Err(blame.at(at, "32-bit LC_SEGMENT in a 64-bit Mach-O is not supported"))
            }
            macho::LC_ENCRYPTION_INFO_64 => {
                let enc = read_pod::<macho::EncryptionInfoCommand64<LE>>(
                    body,
                    0,
                    &blame,
                    "LC_ENCRYPTION_INFO_64",
                )
                .map_err(|_| blame.at(at, "LC_ENCRYPTION_INFO_64 is truncated"))?;
                if enc.cryptid.get(LE) != 0 {
                    return Err(blame.at(at, "encrypted executables are not supported"));
                }
            }
            macho::LC_ID_DYLIB | macho::LC_ID_DYLINKER | macho::LC_FILESET_ENTRY => {
                return Err(blame.at(at, format!("unsupported {}", name(lc_name(cmd)))))
            }
            // Run-path search entries, for finding `@rpath/` dylibs.
            macho::LC_RPATH => {
                let path = lc_string(body, 8, at, &blame, "LC_RPATH")?;
                self.rpaths.push(path);
            }
            // dyld refuses a command it does not know only when it carries
            // LC_REQ_DYLD; everything else (LC_UUID, LC_BUILD_VERSION, LC_RPATH,
            // LC_SOURCE_VERSION, LC_LOAD_DYLINKER, ...) does not affect running.
            _ if cmd & macho::LC_REQ_DYLD != 0 => {
                return Err(blame.at(
                    at,
                    format!("unsupported load command {cmd:#x} (required by dyld)"),
                ))
            }
            _ => {}
        }
        Ok(false)
    }

    fn segment(&mut self, body: &'a [u8], at: u64) -> Result<(), LoadError> {
        let blame = &self.blame;
        let seg = read_pod::<macho::SegmentCommand64<LE>>(body, 0, blame, "LC_SEGMENT_64")
            .map_err(|_| blame.at(at, "LC_SEGMENT_64 is truncated"))?;
        let name = fixed_name(&seg.segname);
        let nsects = u64::from(seg.nsects.get(LE));
        let head = std::mem::size_of::<macho::SegmentCommand64<LE>>() as u64;
        let sect_size = std::mem::size_of::<macho::Section64<LE>>() as u64;
        if head + nsects * sect_size != body.len() as u64 {
            return Err(blame.at(
                at,
                format!(
                    "segment {name}: cmdsize {} does not match {nsects} sections",
                    body.len()
                ),
            ));
        }
        let mut segment = Segment {
            vmaddr: seg.vmaddr.get(LE),
            vmsize: seg.vmsize.get(LE),
            fileoff: seg.fileoff.get(LE),
            filesize: seg.filesize.get(LE),
            maxprot: seg.maxprot.get(LE),
            initprot: seg.initprot.get(LE),
            flags: seg.flags.get(LE),
            sections: Vec::with_capacity(nsects as usize),
            name,
        };
        let vm_ok = segment.vmaddr.checked_add(segment.vmsize).is_some();
        let file_end = segment.fileoff.checked_add(segment.filesize);
        if !vm_ok {
            return Err(blame.at(
                at,
                format!("segment {}: vmaddr + vmsize overflows", segment.name),
            ));
        }
        if file_end.is_none_or(|e| e > self.data.len() as u64) {
            return Err(blame.at(
                at,
                format!(
                    "segment {}: file range {:#x}+{:#x} is outside the file ({:#x} bytes)",
                    segment.name,
                    segment.fileoff,
                    segment.filesize,
                    self.data.len()
                ),
            ));
        }
        if segment.filesize > segment.vmsize {
            return Err(blame.at(
                at,
                format!(
                    "segment {}: filesize {:#x} exceeds vmsize {:#x}",
                    segment.name, segment.filesize, segment.vmsize
                ),
            ));
        }
        for i in 0..nsects {
            let sect_at = head + i * sect_size;
            let s = read_pod::<macho::Section64<LE>>(body, sect_at, blame, "section")?;
            let section = Section {
                segname: fixed_name(&s.segname),
                sectname: fixed_name(&s.sectname),
                addr: s.addr.get(LE),
                size: s.size.get(LE),
                offset: s.offset.get(LE),
                align: s.align.get(LE),
                flags: s.flags.get(LE),
                reserved1: s.reserved1.get(LE),
                reserved2: s.reserved2.get(LE),
            };
            let inside = section.addr >= segment.vmaddr
                && section
                    .addr
                    .checked_add(section.size)
                    .is_some_and(|e| e <= segment.vm_end());
            if !inside {
                return Err(blame.at(
                    at + sect_at,
                    format!(
                        "section {},{} ({:#x}+{:#x}) lies outside its segment",
                        section.segname, section.sectname, section.addr, section.size
                    ),
                ));
            }
            segment.sections.push(section);
        }
        self.segments.push(segment);
        Ok(())
    }

    /// Reads a `linkedit_data_command` and checks its range lies in the file.
    fn linkedit(&self, body: &[u8], at: u64, what: &str) -> Result<FileRange, LoadError> {
        let cmd = read_pod::<macho::LinkeditDataCommand<LE>>(body, 0, &self.blame, what)
            .map_err(|_| self.blame.at(at, format!("{what} command is truncated")))?;
        self.range(
            u64::from(cmd.dataoff.get(LE)),
            u64::from(cmd.datasize.get(LE)),
            at,
            what,
        )
    }

    fn range(&self, offset: u64, size: u64, at: u64, what: &str) -> Result<FileRange, LoadError> {
        if offset + size > self.data.len() as u64 {
            return Err(self.blame.at(
                at,
                format!(
                    "{what} range {offset:#x}+{size:#x} extends past the end of the file ({:#x} bytes)",
                    self.data.len()
                ),
            ));
        }
        Ok(FileRange { offset, size })
    }

    fn dyld_info(&mut self, body: &[u8], at: u64) -> Result<(), LoadError> {
        let c = read_pod::<macho::DyldInfoCommand<LE>>(body, 0, &self.blame, "LC_DYLD_INFO")
            .map_err(|_| self.blame.at(at, "LC_DYLD_INFO is truncated"))?;
        let r = |off: &object::U32<LE>, size: &object::U32<LE>, what| {
            self.range(u64::from(off.get(LE)), u64::from(size.get(LE)), at, what)
        };
        self.dyld_info = Some(DyldInfo {
            rebase: r(&c.rebase_off, &c.rebase_size, "rebase info")?,
            bind: r(&c.bind_off, &c.bind_size, "bind info")?,
            weak_bind: r(&c.weak_bind_off, &c.weak_bind_size, "weak bind info")?,
            lazy_bind: r(&c.lazy_bind_off, &c.lazy_bind_size, "lazy bind info")?,
            export: r(&c.export_off, &c.export_size, "export info")?,
        });
        Ok(())
    }

    fn symtab_cmd(&mut self, body: &[u8], at: u64) -> Result<(), LoadError> {
        let c = read_pod::<macho::SymtabCommand<LE>>(body, 0, &self.blame, "LC_SYMTAB")
            .map_err(|_| self.blame.at(at, "LC_SYMTAB is truncated"))?;
        let nsyms = c.nsyms.get(LE);
        let syms = self.range(
            u64::from(c.symoff.get(LE)),
            u64::from(nsyms) * 16,
            at,
            "symbol table",
        )?;
        let strs = self.range(
            u64::from(c.stroff.get(LE)),
            u64::from(c.strsize.get(LE)),
            at,
            "string table",
        )?;
        let t = self.symtab.get_or_insert_with(SymbolTables::default);
        t.symoff = syms.offset;
        t.nsyms = nsyms;
        t.stroff = strs.offset;
        t.strsize = strs.size;
        Ok(())
    }

    fn dysymtab_cmd(&mut self, body: &[u8], at: u64) -> Result<(), LoadError> {
        let c = read_pod::<macho::DysymtabCommand<LE>>(body, 0, &self.blame, "LC_DYSYMTAB")
            .map_err(|_| self.blame.at(at, "LC_DYSYMTAB is truncated"))?;
        let n = c.nindirectsyms.get(LE);
        let r = self.range(
            u64::from(c.indirectsymoff.get(LE)),
            u64::from(n) * 4,
            at,
            "indirect symbol table",
        )?;
        let t = self.symtab.get_or_insert_with(SymbolTables::default);
        t.indirectsymoff = r.offset;
        t.nindirectsyms = n;
        Ok(())
    }

    /// Segments must not overlap in memory, and mapped ones must be page aligned.
    fn check_segments(&self) -> Result<(), LoadError> {
        let mut mapped: Vec<&Segment> = self.segments.iter().filter(|s| s.vmsize > 0).collect();
        mapped.sort_by_key(|s| s.vmaddr);
        for pair in mapped.windows(2) {
            if pair[0].vm_end() > pair[1].vmaddr {
                return Err(self.blame.whole(format!(
                    "segments {} ({:#x}..{:#x}) and {} ({:#x}..{:#x}) overlap",
                    pair[0].name,
                    pair[0].vmaddr,
                    pair[0].vm_end(),
                    pair[1].name,
                    pair[1].vmaddr,
                    pair[1].vm_end()
                )));
            }
        }
        for s in &mapped {
            let align = crate::arch::SEGMENT_ALIGN;
            if s.vmaddr % align != 0 || s.fileoff % align != 0 {
                return Err(self.blame.whole(format!(
                    "segment {} is not aligned to {HOST_ARCH}'s {} KiB pages \
                     (vmaddr {:#x}, fileoff {:#x})",
                    s.name,
                    align / 1024,
                    s.vmaddr,
                    s.fileoff
                )));
            }
        }
        Ok(())
    }

    /// The address the image expects to be loaded at (its mach header).
    pub fn preferred_base(&self) -> u64 {
        self.segments
            .iter()
            .find(|s| s.fileoff == 0 && s.filesize > 0)
            .map_or(0, |s| s.vmaddr)
    }

    /// The segment that holds an unslid address, if any.
    pub fn segment_at(&self, vmaddr: u64) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| vmaddr >= s.vmaddr && vmaddr < s.vm_end())
    }

    /// The unslid address of a file offset inside a mapped segment.
    pub fn fileoff_to_vmaddr(&self, off: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| off >= s.fileoff && off < s.fileoff + s.filesize)
            .map(|s| s.vmaddr + (off - s.fileoff))
    }

    /// The file bytes of a range checked at parse time.
    pub fn bytes(&self, r: FileRange) -> &'a [u8] {
        &self.data[r.offset as usize..(r.offset + r.size) as usize]
    }

    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.segments.iter().flat_map(|s| s.sections.iter())
    }
}

/// A load command's string: its offset is the u32 at `field` in the body.
fn lc_string(
    body: &[u8],
    field: usize,
    at: u64,
    blame: &Blame,
    what: &str,
) -> Result<String, LoadError> {
    let off = body
        .get(field..field + 4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
        .ok_or_else(|| blame.at(at, format!("{what} is truncated")))?;
    let raw = body
        .get(off..)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| blame.at(at, format!("{what} string offset is outside the command")))?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Ok(String::from_utf8_lossy(&raw[..end]).into_owned())
}

fn check_magic(data: &[u8], blame: &Blame) -> Result<(), LoadError> {
    let head = data.get(..4).unwrap_or(data);
    match head {
        [0xcf, 0xfa, 0xed, 0xfe] => Ok(()),
        [0x7f, b'E', b'L', b'F'] => Err(blame.at(0, "is an ELF file, not a Mach-O executable")),
        [0xce, 0xfa, 0xed, 0xfe] => Err(blame.at(0, "32-bit Mach-O is not supported")),
        [0xfe, 0xed, 0xfa, 0xce] | [0xfe, 0xed, 0xfa, 0xcf] => {
            Err(blame.at(0, "big-endian Mach-O is not supported"))
        }
        _ if data.len() < 4 => Err(blame.at(0, "file is too short to be a Mach-O")),
        _ => Err(blame.at(0, "not a Mach-O file (bad magic)")),
    }
}

fn lc_name(cmd: u32) -> &'static str {
    match cmd {
        macho::LC_ID_DYLIB => "LC_ID_DYLIB",
        macho::LC_ID_DYLINKER => "LC_ID_DYLINKER",
        macho::LC_FILESET_ENTRY => "LC_FILESET_ENTRY",
        _ => "load command",
    }
}
