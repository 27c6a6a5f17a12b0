//! The Mach-O header and load commands of an executable, the content-hash
//! UUID, and writing the file so that a failed link leaves nothing behind
//! and never a half-written output.

use crate::error::{LinkError, Result};
use crate::input::dylib::Dylib;
use crate::layout::{OutSection, Segment};
use crate::options::{Options, OutputKind};
use object::macho;
use std::path::Path;

/// Offsets and sizes of the LINKEDIT pieces, as (file offset, size).
#[derive(Debug, Default)]
pub struct LinkeditRanges {
    pub chained_fixups: (u32, u32),
    pub exports_trie: (u32, u32),
    pub rebase: (u32, u32),
    pub bind: (u32, u32),
    pub lazy_bind: (u32, u32),
    pub weak_bind: (u32, u32),
    pub function_starts: (u32, u32),
    pub data_in_code: (u32, u32),
    pub symtab: (u32, u32),
    pub nsyms: u32,
    pub nlocal: u32,
    pub nextdef: u32,
    pub nundef: u32,
    pub indirect: (u32, u32),
    pub strtab: (u32, u32),
    pub code_signature: (u32, u32),
}

/// What the header needs once layout and LINKEDIT are known.
pub struct HeaderInputs<'a> {
    pub segments: &'a [Segment],
    pub linkedit: &'a Segment,
    pub sections: &'a [OutSection],
    pub entry_offset: u64,
    pub ranges: &'a LinkeditRanges,
    pub has_tlv: bool,
    /// MH_WEAK_DEFINES / MH_BINDS_TO_WEAK, as [`crate::weak::header_flags`]
    /// decides them.
    pub weak_flags: u32,
}

/// The load commands' shape, fixed before layout so that their size is
/// known when __TEXT's first section is placed.
pub struct LoadCommandPlan {
    cpu_type: u32,
    cpu_subtype: u32,
    chained: bool,
    /// (install name, current version, compatibility version, load command).
    dylibs: Vec<(String, u32, u32, u32)>,
    rpaths: Vec<String>,
    platform_min: u32,
    platform_sdk: u32,
    /// LC_BUILD_VERSION, or LC_VERSION_MIN_MACOSX for targets before 10.14.
    build_version: bool,
    nsegments: usize,
    nsections: usize,
    uuid_offset: usize,
    codesign: bool,
    /// For a dylib: (install name, current version, compatibility version).
    id_dylib: Option<(String, u32, u32)>,
    no_uuid: bool,
    source_version: u64,
    flat_namespace: bool,
    stack_size: u64,
    function_starts: bool,
    data_in_code: bool,
    dyld_env: Vec<String>,
    /// Header flags from the command line (MH_APP_EXTENSION_SAFE, ...).
    extra_flags: u32,
    /// MH_EXECUTE, MH_DYLIB or MH_BUNDLE.
    filetype: u32,
    /// `-umbrella NAME`: LC_SUB_FRAMEWORK.
    umbrella: Option<String>,
    /// `-allowable_client NAME`s: LC_SUB_CLIENT each.
    clients: Vec<String>,
}

const DYLD_PATH: &str = "/usr/lib/dyld";

/// The header's `cpusubtype`. ld64 and lld add CPU_SUBTYPE_LIB64 (the
/// executable is 64-bit) in an x86_64 macOS executable for targets from
/// 10.5 on; dylibs and bundles keep the plain subtype.
fn header_cpu_subtype(opts: &Options) -> u32 {
    let subtype = opts.target().cpu_subtype();
    let lib64 = opts.output_kind == OutputKind::Executable
        && opts.target().cpu_type() == macho::CPU_TYPE_X86_64
        && subtype == macho::CPU_SUBTYPE_X86_64_ALL
        && opts.platform_min >= 0x000a_0500;
    if lib64 {
        subtype | macho::CPU_SUBTYPE_LIB64
    } else {
        subtype
    }
}

fn padded_len(fixed: usize, s: &str) -> usize {
    (fixed + s.len() + 1).div_ceil(8) * 8
}

impl LoadCommandPlan {
    pub fn new(
        opts: &Options,
        sections: &[OutSection],
        dylibs: &[(&Dylib, u32)],
        chained: bool,
    ) -> Self {
        let mut segs: Vec<&str> = sections.iter().map(|s| s.segname.as_str()).collect();
        segs.dedup();
        LoadCommandPlan {
            cpu_type: opts.target().cpu_type(),
            cpu_subtype: header_cpu_subtype(opts),
            chained,
            dylibs: dylibs
                .iter()
                .map(|&(d, cmd)| {
                    (
                        d.install_name.clone(),
                        d.current_version,
                        d.compatibility_version,
                        cmd,
                    )
                })
                .collect(),
            rpaths: opts.rpaths.clone(),
            platform_min: opts.platform_min,
            platform_sdk: opts.platform_sdk,
            build_version: opts.uses_build_version(),
            // + __LINKEDIT, and __PAGEZERO for an executable.
            nsegments: segs.len()
                + if opts.output_kind == OutputKind::Executable {
                    2
                } else {
                    1
                },
            nsections: sections.len(),
            uuid_offset: 0,
            // arm64 outputs are signed unless `-no_adhoc_codesign`.
            codesign: opts
                .adhoc_codesign
                .unwrap_or_else(|| opts.target().adhoc_sign_by_default()),
            id_dylib: (opts.output_kind == OutputKind::Dylib).then(|| {
                let name = opts
                    .install_name
                    .clone()
                    .or_else(|| opts.final_output.clone())
                    .unwrap_or_else(|| opts.output.display().to_string());
                (name, opts.current_version, opts.compatibility_version)
            }),
            no_uuid: opts.no_uuid,
            source_version: opts.source_version,
            flat_namespace: opts.flat_namespace,
            stack_size: opts.stack_size,
            function_starts: !opts.no_function_starts,
            data_in_code: !opts.no_data_in_code,
            dyld_env: opts.dyld_env.clone(),
            filetype: match opts.output_kind {
                OutputKind::Executable => macho::MH_EXECUTE,
                OutputKind::Dylib => macho::MH_DYLIB,
                OutputKind::Bundle => macho::MH_BUNDLE,
            },
            umbrella: opts.umbrella.clone(),
            clients: opts.allowable_clients.clone(),
            extra_flags: {
                let mut f = 0;
                if opts.bind_at_load {
                    f |= macho::MH_BINDATLOAD;
                }
                if opts.application_extension {
                    f |= macho::MH_APP_EXTENSION_SAFE;
                }
                if opts.dead_strippable_dylib && opts.output_kind == OutputKind::Dylib {
                    f |= macho::MH_DEAD_STRIPPABLE_DYLIB;
                }
                if opts.output_kind == OutputKind::Executable && opts.pie {
                    f |= macho::MH_PIE;
                }
                f |= opts.header_flags;
                f
            },
        }
    }

    /// Counts segments without sections (see
    /// [`crate::layout::add_empty_segments`]) among the load commands.
    pub fn add_empty_segments(&mut self, count: usize) {
        self.nsegments += count;
    }

    /// The room `-headerpad_max_install_names` asks for, as ld64 computes
    /// it: MAXPATHLEN (1024) bytes per dylib load command (and one more
    /// for a dylib's own LC_ID_DYLIB), so that install_name_tool can
    /// rewrite every path to the longest one.
    pub fn max_install_names_pad(&self) -> u64 {
        const MAXPATHLEN: u64 = 1024;
        let n = self.dylibs.len() as u64 + u64::from(self.id_dylib.is_some());
        n * MAXPATHLEN
    }

    fn commands_size(&self) -> usize {
        let mut n = self.nsegments * 72 + self.nsections * 80;
        n += if self.chained { 16 + 16 } else { 48 };
        n += 24 + 80; // symtab, dysymtab
        n += match &self.id_dylib {
            Some((name, ..)) => padded_len(24, name),
            None if self.filetype == macho::MH_EXECUTE => padded_len(12, DYLD_PATH) + 24, // dylinker, main
            None => 0,
        };
        n += self.umbrella.as_ref().map_or(0, |u| padded_len(12, u));
        n += self
            .clients
            .iter()
            .map(|c| padded_len(12, c))
            .sum::<usize>();
        n += if self.build_version { 32 } else { 16 };
        n += 16; // source version
        if !self.no_uuid {
            n += 24;
        }
        n += self
            .dyld_env
            .iter()
            .map(|p| padded_len(12, p))
            .sum::<usize>();
        n += self
            .dylibs
            .iter()
            .map(|(name, ..)| padded_len(24, name))
            .sum::<usize>();
        n += self.rpaths.iter().map(|p| padded_len(12, p)).sum::<usize>();
        n += 16 * (usize::from(self.function_starts) + usize::from(self.data_in_code));
        if self.codesign {
            n += 16;
        }
        n
    }

    /// Whether the output gets an ad-hoc code signature.
    pub fn codesign(&self) -> bool {
        self.codesign
    }

    pub fn header_and_commands_size(&self) -> u64 {
        (32 + self.commands_size()) as u64
    }

    /// Whether the output gets an LC_UUID (not under `-no_uuid`).
    pub fn has_uuid(&self) -> bool {
        !self.no_uuid
    }

    pub fn uuid_offset(&self) -> usize {
        self.uuid_offset
    }

    /// Serialises header and load commands.
    pub fn write(&mut self, h: &HeaderInputs) -> Vec<u8> {
        let mut cmds = Cmds::default();
        for seg in h.segments.iter().chain(std::iter::once(h.linkedit)) {
            cmds.segment(seg, &h.sections[seg.sections.clone()]);
        }
        let r = h.ranges;
        if self.chained {
            cmds.linkedit_data(macho::LC_DYLD_CHAINED_FIXUPS, r.chained_fixups);
            cmds.linkedit_data(macho::LC_DYLD_EXPORTS_TRIE, r.exports_trie);
        } else {
            cmds.begin(macho::LC_DYLD_INFO_ONLY);
            for (off, size) in [r.rebase, r.bind, r.weak_bind, r.lazy_bind, r.exports_trie] {
                cmds.u32(off);
                cmds.u32(size);
            }
            cmds.end();
        }
        cmds.begin(macho::LC_SYMTAB);
        for v in [r.symtab.0, r.nsyms, r.strtab.0, r.strtab.1] {
            cmds.u32(v);
        }
        cmds.end();
        cmds.begin(macho::LC_DYSYMTAB);
        let dysym = [
            0,
            r.nlocal,
            r.nlocal,
            r.nextdef,
            r.nlocal + r.nextdef,
            r.nundef,
            0,
            0,
            0,
            0,
            0,
            0,
            r.indirect.0,
            r.indirect.1 / 4,
            0,
            0,
            0,
            0,
        ];
        for v in dysym {
            cmds.u32(v);
        }
        cmds.end();
        if let Some(umbrella) = &self.umbrella {
            cmds.begin(macho::LC_SUB_FRAMEWORK);
            cmds.u32(12);
            cmds.cstr(umbrella);
            cmds.end();
        }
        for client in &self.clients {
            cmds.begin(macho::LC_SUB_CLIENT);
            cmds.u32(12);
            cmds.cstr(client);
            cmds.end();
        }
        if let Some((name, current, compat)) = &self.id_dylib {
            cmds.begin(macho::LC_ID_DYLIB);
            for v in [24, 2, *current, *compat] {
                cmds.u32(v);
            }
            cmds.cstr(name);
            cmds.end();
        } else if self.filetype == macho::MH_EXECUTE {
            cmds.begin(macho::LC_LOAD_DYLINKER);
            cmds.u32(12);
            cmds.cstr(DYLD_PATH);
            cmds.end();
        }
        if !self.no_uuid {
            cmds.begin(macho::LC_UUID);
            self.uuid_offset = 32 + cmds.buf.len();
            cmds.buf.extend_from_slice(&[0; 16]);
            cmds.end();
        }
        if self.build_version {
            cmds.begin(macho::LC_BUILD_VERSION);
            for v in [
                macho::PLATFORM_MACOS,
                self.platform_min,
                self.platform_sdk,
                1,
                macho::TOOL_LD,
                0x0001_0000,
            ] {
                cmds.u32(v);
            }
            cmds.end();
        } else {
            cmds.begin(macho::LC_VERSION_MIN_MACOSX);
            cmds.u32(self.platform_min);
            cmds.u32(self.platform_sdk);
            cmds.end();
        }
        cmds.begin(macho::LC_SOURCE_VERSION);
        cmds.u64(self.source_version);
        cmds.end();
        if self.filetype == macho::MH_EXECUTE {
            cmds.begin(macho::LC_MAIN);
            cmds.u64(h.entry_offset);
            cmds.u64(self.stack_size);
            cmds.end();
        }
        for (name, current, compat, cmd) in &self.dylibs {
            cmds.begin(*cmd);
            for v in [24, 2, *current, *compat] {
                cmds.u32(v);
            }
            cmds.cstr(name);
            cmds.end();
        }
        for path in &self.rpaths {
            cmds.begin(macho::LC_RPATH);
            cmds.u32(12);
            cmds.cstr(path);
            cmds.end();
        }
        if self.function_starts {
            cmds.linkedit_data(macho::LC_FUNCTION_STARTS, r.function_starts);
        }
        if self.data_in_code {
            cmds.linkedit_data(macho::LC_DATA_IN_CODE, r.data_in_code);
        }
        for env in &self.dyld_env {
            cmds.begin(macho::LC_DYLD_ENVIRONMENT);
            cmds.u32(12);
            cmds.cstr(env);
            cmds.end();
        }
        if self.codesign {
            cmds.linkedit_data(macho::LC_CODE_SIGNATURE, r.code_signature);
        }

        let mut flags = macho::MH_DYLDLINK;
        // As in lld, a flat-namespace image may have symbols no library
        // is known to define: it claims neither.
        if !self.flat_namespace {
            flags |= macho::MH_NOUNDEFS | macho::MH_TWOLEVEL;
        }
        let reexports = self.dylibs.iter().any(|d| d.3 == macho::LC_REEXPORT_DYLIB);
        if self.filetype == macho::MH_DYLIB && !reexports {
            flags |= macho::MH_NO_REEXPORTED_DYLIBS;
        }
        if h.has_tlv {
            flags |= macho::MH_HAS_TLV_DESCRIPTORS;
        }
        flags |= self.extra_flags | h.weak_flags;
        let mut out = Vec::with_capacity(32 + cmds.buf.len());
        for v in [
            macho::MH_MAGIC_64,
            self.cpu_type,
            self.cpu_subtype,
            self.filetype,
            cmds.count,
            cmds.buf.len() as u32,
            flags,
            0,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&cmds.buf);
        out
    }
}

/// A growing list of load commands.
#[derive(Default)]
struct Cmds {
    buf: Vec<u8>,
    count: u32,
    start: usize,
}

impl Cmds {
    fn begin(&mut self, cmd: u32) {
        self.start = self.buf.len();
        self.u32(cmd);
        self.u32(0); // size, patched by end()
    }

    fn end(&mut self) {
        let len = self.start + (self.buf.len() - self.start).div_ceil(8) * 8;
        self.buf.resize(len, 0);
        let size = (self.buf.len() - self.start) as u32;
        self.buf[self.start + 4..self.start + 8].copy_from_slice(&size.to_le_bytes());
        self.count += 1;
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn name16(&mut self, s: &str) {
        let mut raw = [0u8; 16];
        raw[..s.len().min(16)].copy_from_slice(&s.as_bytes()[..s.len().min(16)]);
        self.buf.extend_from_slice(&raw);
    }

    fn cstr(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn linkedit_data(&mut self, cmd: u32, (off, size): (u32, u32)) {
        self.begin(cmd);
        self.u32(off);
        self.u32(size);
        self.end();
    }

    fn segment(&mut self, seg: &Segment, sections: &[OutSection]) {
        self.begin(macho::LC_SEGMENT_64);
        self.name16(&seg.name);
        for v in [seg.vmaddr, seg.vmsize, seg.fileoff, seg.filesize] {
            self.u64(v);
        }
        for v in [seg.maxprot, seg.initprot, sections.len() as u32, seg.flags] {
            self.u32(v);
        }
        for s in sections {
            self.name16(&s.sectname);
            self.name16(&s.segname);
            self.u64(s.addr);
            self.u64(s.size);
            for v in [
                s.offset as u32,
                u32::from(s.align_log2),
                0,
                0,
                s.flags,
                s.reserved1,
                s.reserved2,
                0,
            ] {
                self.u32(v);
            }
        }
        self.end();
    }
}

/// `-random_uuid`: a random (version 4) UUID, from the kernel's random
/// source, or from the clock and process id if that cannot be read.
pub fn fill_random_uuid(uuid: &mut [u8]) {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{now} {}", std::process::id());
        bytes = xxhash_rust::xxh3::xxh3_128(seed.as_bytes()).to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid.copy_from_slice(&bytes);
}

/// Bytes hashed per task for the UUID. Fixed (not derived from the number
/// of threads), so the UUID depends on the image alone.
pub const UUID_CHUNK: usize = 1 << 20;

/// Fills LC_UUID at `at` with a hash of the whole file (UUID bytes zero
/// while hashing), so identical inputs give identical outputs: the hash of
/// the hashes of its 1 MiB chunks, computed in parallel.
pub fn fill_uuid(image: &mut [u8], at: usize) {
    let uuid = uuid_of(&[image]);
    image[at..at + 16].copy_from_slice(&uuid);
}

/// A part of an image that is hashed in pieces (the UUID's chunks, the
/// signature's pages): its bytes, or, for a part whose pieces were hashed
/// earlier, its length and those hashes, in order (it must start and end
/// on a piece's boundary).
#[derive(Clone, Copy)]
pub enum HashPart<'a> {
    Bytes(&'a [u8]),
    Hashed { len: usize, hashes: &'a [u8] },
}

impl HashPart<'_> {
    /// Its length in the image.
    pub fn size(&self) -> usize {
        match self {
            HashPart::Bytes(b) => b.len(),
            HashPart::Hashed { len, .. } => *len,
        }
    }
}

/// The UUID's hashes of `bytes`, whole chunks (see [`uuid_of_parts`]),
/// one after the other on the calling thread: for a part of the image
/// final early, hashed by a thread that has time (see
/// `write::AheadHashing`).
pub fn uuid_chunk_hashes(bytes: &[u8]) -> Vec<u8> {
    debug_assert_eq!(bytes.len() % UUID_CHUNK, 0);
    bytes
        .chunks(UUID_CHUNK)
        .flat_map(|c| xxhash_rust::xxh3::xxh3_128(c).to_le_bytes())
        .collect()
}

/// [`fill_uuid`]'s UUID of the file made of `parts` laid end to end (one
/// image split, so that some parts can be written into the output while
/// others still change): the same as that of the whole.
pub fn uuid_of(parts: &[&[u8]]) -> [u8; 16] {
    let parts: Vec<HashPart> = parts.iter().map(|&p| HashPart::Bytes(p)).collect();
    uuid_of_parts(&parts)
}

/// [`uuid_of`] of `parts`, some of whose chunks may be hashed already
/// ([`HashPart::Hashed`], by [`uuid_chunk_hashes`]).
pub fn uuid_of_parts(parts: &[HashPart]) -> [u8; 16] {
    use rayon::prelude::*;
    let mut hashes: Vec<u8> = Vec::new();
    // A chunk that straddles parts, hashed as a stream, and how many of
    // its bytes it has so far.
    let mut straddling: Option<(xxhash_rust::xxh3::Xxh3, usize)> = None;
    for &part in parts {
        let mut part = match part {
            HashPart::Bytes(b) => b,
            HashPart::Hashed { len, hashes: known } => {
                assert!(
                    straddling.is_none() && len % UUID_CHUNK == 0,
                    "hashed UUID chunks off the chunks' boundaries"
                );
                debug_assert_eq!(known.len(), len / UUID_CHUNK * 16);
                hashes.extend_from_slice(known);
                continue;
            }
        };
        if let Some((h, len)) = &mut straddling {
            let n = (UUID_CHUNK - *len).min(part.len());
            h.update(&part[..n]);
            *len += n;
            part = &part[n..];
            if *len == UUID_CHUNK {
                hashes.extend(h.digest128().to_le_bytes());
                straddling = None;
            }
        }
        let (chunks, rest) = part.split_at(part.len() / UUID_CHUNK * UUID_CHUNK);
        hashes.par_extend(
            chunks
                .par_chunks(UUID_CHUNK)
                .flat_map_iter(|c| xxhash_rust::xxh3::xxh3_128(c).to_le_bytes()),
        );
        if !rest.is_empty() {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            h.update(rest);
            straddling = Some((h, rest.len()));
        }
    }
    if let Some((h, _)) = straddling {
        hashes.extend(h.digest128().to_le_bytes());
    }
    let len: usize = parts.iter().map(HashPart::size).sum();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&(len as u64).to_le_bytes());
    h.update(&hashes);
    let digest = h.digest128();
    let mut uuid = digest.to_le_bytes();
    // Mark it as an RFC 4122 name-based UUID, as ld64 does.
    uuid[6] = (uuid[6] & 0x0f) | 0x30;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

/// How an output path is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputTarget {
    /// A regular file, or nothing yet: a temporary file beside it is
    /// renamed over it (as ld64 and ld64.lld do; a symbolic link is
    /// replaced by the file, and a hard link's other names keep the old
    /// contents).
    Replace,
    /// Something that is not a regular file (`/dev/null`, a FIFO, a
    /// terminal, a file reached through `/dev/stdout` or `/proc/*/fd`):
    /// written into, never replaced. The string says what it is.
    InPlace(String),
}

/// Decides how `path` is written. A directory is an error.
pub fn output_target(path: &Path) -> Result<OutputTarget> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        // Missing (or unreadable: the write will say why).
        Err(_) => return Ok(OutputTarget::Replace),
    };
    let t = meta.file_type();
    let what = if t.is_dir() {
        return Err(LinkError::file(
            path.display(),
            "cannot write output: it is a directory",
        ));
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if through_descriptor_link(path) {
        "a file reached through a file descriptor link"
    } else {
        return Ok(OutputTarget::Replace);
    };
    Ok(OutputTarget::InPlace(what.to_string()))
}

/// Whether `path` is, or leads through symbolic links to, a link to an
/// open file descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`).
/// Replacing such a link would replace the machine's `/dev/stdout`.
fn through_descriptor_link(path: &Path) -> bool {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let abs = std::path::absolute(&p).unwrap_or_else(|_| p.clone());
        let s = abs.to_string_lossy();
        if s.starts_with("/dev/fd/") || s.starts_with("/proc/") || s.starts_with("/dev/std") {
            return true;
        }
        match std::fs::read_link(&abs) {
            Ok(target) => p = abs.parent().unwrap_or(Path::new("/")).join(target),
            Err(_) => return false,
        }
    }
    false
}

/// The output being written. For a regular file: the image is built in
/// anonymous memory (huge pages where the system has them) and written
/// into a temporary file beside the destination in one call, which is
/// renamed over the destination only by [`OutputFile::commit`]; dropped
/// uncommitted (a failed link), it removes itself, so the previous output
/// is never touched and no half-written file is left. Memory rather than
/// a mapping of the file: each first write to a page of a shared file
/// mapping is a page fault that asks the filesystem for the page (on ext4,
/// converting a preallocated block), and a 29 MB image took 7,000 of them,
/// several times the cost of one `write`. For an output that is not a
/// regular file: the same buffer, written into the path by `commit`.
pub struct OutputFile {
    path: std::path::PathBuf,
    backing: Backing,
    image: ImageBuffer,
    /// Size and modification time once [`OutputFile::seal`]ed.
    sealed: Option<(u64, i128)>,
    /// The byte ranges (start, end) already in the file, written ahead
    /// by an [`Ahead`]: `seal` writes the rest.
    written: std::sync::Mutex<Vec<(u64, u64)>>,
}

/// The image's parts written ahead start on these boundaries (see
/// [`WRITE_PIECE`]).
pub const AHEAD_ALIGN: usize = WRITE_PIECE;

/// Below this many bytes, the write is not worth a thread of its own.
pub const AHEAD_MIN: usize = 4 << 20;

/// Writes finished parts of the image into the output file while the
/// rest is still being worked out (LINKEDIT copied in, the UUID and the
/// signature hashed): the write is a system call that keeps one core busy
/// for milliseconds (29 MB), which otherwise followed all of that. For an
/// output that is not a regular file, nothing is written ahead.
pub struct Ahead<'f> {
    file: Option<&'f std::fs::File>,
    written: &'f std::sync::Mutex<Vec<(u64, u64)>>,
}

impl Ahead<'_> {
    /// Whether [`Ahead::write`] writes anything.
    pub fn writes(&self) -> bool {
        self.file.is_some()
    }

    /// Writes `bytes`, the image's final bytes at file offset `at`, into
    /// the file now (with their blocks reserved first, as `seal` does);
    /// several threads may write at once. `seal` leaves them out, so they
    /// must not change afterwards.
    pub fn write(&self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        let Some(file) = self.file else {
            return Ok(());
        };
        let end = at + bytes.len() as u64;
        allocate(file, end)?;
        write_in_pieces_at(file, bytes, at)?;
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((at, end));
        Ok(())
    }
}

enum Backing {
    Temp {
        tmp: std::path::PathBuf,
        file: std::fs::File,
    },
    InPlace,
}

/// The image's bytes: anonymous memory that can grow keeping its contents.
struct ImageBuffer {
    map: memmap2::MmapMut,
    len: usize,
}

impl ImageBuffer {
    fn new(len: usize) -> std::io::Result<ImageBuffer> {
        let map = Self::map(len)?;
        Ok(ImageBuffer { map, len })
    }

    /// Zeroed anonymous memory of at least one byte (a mapping cannot be
    /// empty), advised to use huge pages: every page of the image is
    /// written, so a 2 MiB page is one fault where small ones are 512.
    fn map(len: usize) -> std::io::Result<memmap2::MmapMut> {
        let map = memmap2::MmapMut::map_anon(len.max(1))?;
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(map)
    }

    /// Grows or shrinks to `len` bytes; bytes below both lengths stay,
    /// new ones are zero.
    fn resize(&mut self, len: usize) -> std::io::Result<()> {
        if len > self.map.len() {
            self.grow(len)?;
        } else if len < self.len {
            // Bytes past the end must read as zero if it grows again.
            self.map[len..self.len].fill(0);
        }
        self.len = len;
        Ok(())
    }

    /// A larger mapping with the same contents: moved by the kernel's
    /// page tables where it can (Linux), copied elsewhere.
    #[cfg(target_os = "linux")]
    fn grow(&mut self, len: usize) -> std::io::Result<()> {
        // SAFETY: the mapping is private to this buffer and no slice of
        // it outlives the `&mut self` borrow.
        unsafe {
            self.map
                .remap(len, memmap2::RemapOptions::new().may_move(true))
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn grow(&mut self, len: usize) -> std::io::Result<()> {
        let mut bigger = Self::map(len)?;
        bigger[..self.len].copy_from_slice(&self.map[..self.len]);
        self.map = bigger;
        Ok(())
    }

    fn bytes(&mut self) -> &mut [u8] {
        &mut self.map[..self.len]
    }
}

impl OutputFile {
    pub fn create(path: &Path, size: u64) -> Result<OutputFile> {
        let backing = match output_target(path)? {
            OutputTarget::InPlace(_) => Backing::InPlace,
            OutputTarget::Replace => {
                let tmp = temporary_beside(path, "machlink");
                let create = || {
                    std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create_new(true)
                        .open(&tmp)
                };
                let file = create()
                    .or_else(|e| {
                        // A killed link's leftover under a reused process id.
                        if e.kind() != std::io::ErrorKind::AlreadyExists {
                            return Err(e);
                        }
                        std::fs::remove_file(&tmp)?;
                        create()
                    })
                    .map_err(|e| {
                        LinkError::file(
                            path.display(),
                            format!("cannot create output: cannot create {}: {e}", tmp.display()),
                        )
                    })?;
                Backing::Temp { tmp, file }
            }
        };
        let image = Self::image_of(path, size)?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            backing,
            image,
            sealed: None,
            written: Default::default(),
        })
    }

    fn image_of(path: &Path, size: u64) -> Result<ImageBuffer> {
        usize::try_from(size)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))
            .and_then(ImageBuffer::new)
            .map_err(|e| {
                LinkError::file(
                    path.display(),
                    format!("cannot write output: {size} bytes of memory for the image: {e}"),
                )
            })
    }

    fn err(&self, e: std::io::Error) -> LinkError {
        LinkError::file(self.path.display(), format!("cannot write output: {e}"))
    }

    /// Grows (or shrinks) the output; bytes already written stay.
    pub fn resize(&mut self, size: u64) -> Result<()> {
        let r = usize::try_from(size)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))
            .and_then(|len| self.image.resize(len));
        r.map_err(|e| self.err(e))
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        self.image.bytes()
    }

    /// The image's bytes, and a writer for the parts of it that are final
    /// (see [`Ahead`]).
    pub fn split(&mut self) -> (&mut [u8], Ahead<'_>) {
        let file = match &self.backing {
            Backing::Temp { file, .. } if self.sealed.is_none() => Some(file),
            _ => None,
        };
        let ahead = Ahead {
            file,
            written: &self.written,
        };
        (self.image.bytes(), ahead)
    }

    /// Whether the output is a regular file that `commit` renames into place.
    pub fn replaces(&self) -> bool {
        matches!(self.backing, Backing::Temp { .. })
    }

    /// Ends the writing: writes the image into the temporary file, makes
    /// it executable and gives it a modification time, which it returns
    /// with its size (the stamp an incremental state records; renaming
    /// keeps both). A full disk is an error here, before anything is
    /// renamed.
    pub fn seal(&mut self) -> Result<(u64, i128)> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(stamp) = self.sealed {
            return Ok(stamp);
        }
        let r = match &mut self.backing {
            Backing::InPlace => Ok((self.image.len as u64, 0)),
            Backing::Temp { file, .. } => {
                let now = std::time::SystemTime::now();
                // What the file keeps (a filesystem may round the time).
                // Blocks reserved in one call before the write: ext4 then
                // skips reserving them page by page (a 29 MB write: 9.4 ->
                // 8.1 ms median here, and none of the 50 ms outliers).
                let len = self.image.len as u64;
                let image = self.image.bytes();
                let written = self.written.get_mut().unwrap_or_else(|e| e.into_inner());
                allocate(file, len)
                    .and_then(|()| {
                        // What was not written ahead.
                        written.sort_unstable();
                        let mut at = 0u64;
                        for &(start, end) in written.iter().chain([&(len, len)]) {
                            let start = start.min(len);
                            if start > at {
                                let piece = &image[at as usize..start as usize];
                                write_in_pieces_at(file, piece, at)?;
                            }
                            at = at.max(end);
                        }
                        Ok(())
                    })
                    .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(0o755)))
                    .and_then(|()| file.set_modified(now))
                    .and_then(|()| stamp_of_file(file))
            }
        };
        let stamp = r.map_err(|e| self.err(e))?;
        self.sealed = Some(stamp);
        Ok(stamp)
    }

    /// Moves the output into place (or writes it into a path that is not
    /// a regular file); returns its size.
    pub fn commit(mut self) -> Result<u64> {
        let (len, _) = self.seal()?;
        let r = match &self.backing {
            Backing::InPlace => write_into(&self.path, self.image.bytes()),
            Backing::Temp { tmp, .. } => {
                let replaced = hold_replaced(&self.path);
                let r = std::fs::rename(tmp, &self.path);
                if let Some(file) = replaced {
                    crate::teardown::hold(file);
                }
                r
            }
        };
        r.map_err(|e| self.err(e))?;
        // The image (and, after the rename, nothing else) is freed.
        crate::teardown::discard(self);
        Ok(len)
    }
}

/// The file a rename over `path` will replace, held open so that the
/// rename does not free it: the last reference to a replaced file frees
/// its blocks and pages (26 ms for a 29 MB output here), which a process
/// that ends after the link leaves to its exit (see [`crate::teardown`]).
/// `O_PATH` holds the file without opening it for reading (no permission
/// needed, nothing a FIFO could block on); a symbolic link is held itself.
#[cfg(target_os = "linux")]
fn hold_replaced(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    if !crate::teardown::process_ends() {
        return None;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn hold_replaced(_: &Path) -> Option<std::fs::File> {
    None
}

/// A temporary name beside `path` for this process.
pub fn temporary_beside(path: &Path, what: &str) -> std::path::PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.{what}-{}", std::process::id()))
}

/// Reserves the blocks of a file's first `size` bytes. Filesystems that
/// cannot (EOPNOTSUPP) are left to allocate on write.
pub(crate) fn allocate(file: &std::fs::File, size: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let Ok(len) = libc::off_t::try_from(size) else {
        return Err(std::io::Error::from_raw_os_error(libc::EFBIG));
    };
    // SAFETY: a plain system call on a descriptor we own.
    match unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) } {
        0 => Ok(()),
        _ => {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(()),
                _ => Err(e),
            }
        }
    }
}

/// The size of the writes that fill a new output: it bounds the page
/// cache's folios of the file (Linux allocates a write's folios as large
/// as the write, up to 2 MiB). An incremental update patches a few bytes
/// here and there: the first write into a clean 2 MiB folio took 35-75 us
/// here (ext4, Linux 6.18), into a 64 KiB one 3 us, so a 100k-function
/// output's patches cost more than a small one's for the same edit.
const WRITE_PIECE: usize = 64 << 10;

/// Writes `bytes` at file offset `at` in [`WRITE_PIECE`]s (aligned to
/// them in the file, so the page cache's folios are the same whatever
/// part of the image goes first).
fn write_in_pieces_at(file: &std::fs::File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut done = 0usize;
    while done < bytes.len() {
        let pos = at + done as u64;
        let room = WRITE_PIECE - (pos % WRITE_PIECE as u64) as usize;
        let n = room.min(bytes.len() - done);
        file.write_all_at(&bytes[done..done + n], pos)?;
        done += n;
    }
    Ok(())
}

/// Writes a file an option names (`-map`, `-dependency_info`) as the
/// output is written: a regular file (or a new one) goes under a temporary
/// name beside it and is renamed into place, so a symbolic link at that
/// name is replaced and its target left alone (as for `-o`), and a reader
/// never sees half of it; a device or FIFO is written into.
pub fn write_named(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if matches!(output_target(path), Ok(OutputTarget::InPlace(_))) {
        return write_into(path, bytes);
    }
    let tmp = temporary_beside(path, "machlink-file");
    let _ = std::fs::remove_file(&tmp);
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes `bytes` into an existing path that is not replaced: a device, a
/// FIFO (this waits for its reader), a descriptor's file.
fn write_into(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    if f.metadata()?.is_file() {
        // A regular file behind a descriptor link: drop an older tail.
        f.set_len(bytes.len() as u64)?;
    }
    Ok(())
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Backing::Temp { tmp, .. } = &mut self.backing {
            // After a successful commit the temporary name is gone already.
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// A file's size and modification time in nanoseconds, as the incremental
/// engine fingerprints an output.
pub fn stamp_of_file(file: &std::fs::File) -> std::io::Result<(u64, i128)> {
    Ok(stamp_of_meta(&file.metadata()?))
}

/// [`stamp_of_file`] from metadata already read.
pub fn stamp_of_meta(m: &std::fs::Metadata) -> (u64, i128) {
    use std::os::unix::fs::MetadataExt;
    (
        m.size(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uuid_of_parts_is_that_of_the_whole() {
        use rayon::prelude::*;
        let image: Vec<u8> = (0..3_500_000u32).map(|i| (i ^ (i >> 9)) as u8).collect();
        // The hash as first defined: of the whole, in 1 MiB chunks.
        let chunks: Vec<u8> = image
            .par_chunks(UUID_CHUNK)
            .flat_map_iter(|c| xxhash_rust::xxh3::xxh3_128(c).to_le_bytes())
            .collect();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(image.len() as u64).to_le_bytes());
        h.update(&chunks);
        let mut expected = h.digest128().to_le_bytes();
        expected[6] = (expected[6] & 0x0f) | 0x30;
        expected[8] = (expected[8] & 0x3f) | 0x80;
        assert_eq!(uuid_of(&[&image]), expected);
        for cuts in [
            vec![65536, 2_000_000],
            vec![0, 1 << 20, 1 << 20, 3 << 20],
            vec![10, 20, 1_500_000],
        ] {
            let mut parts = Vec::new();
            let mut at = 0;
            for &c in cuts.iter().chain([&image.len()]) {
                parts.push(&image[at..c]);
                at = c;
            }
            assert_eq!(uuid_of(&parts), expected, "cut at {cuts:?}");
        }
        // Chunks hashed earlier (the second), between parts that cut
        // chunks elsewhere.
        let known = uuid_chunk_hashes(&image[1 << 20..2 << 20]);
        let parts = [
            HashPart::Bytes(&image[..1000]),
            HashPart::Bytes(&image[1000..1 << 20]),
            HashPart::Hashed {
                len: 1 << 20,
                hashes: &known,
            },
            HashPart::Bytes(&image[2 << 20..2_500_000]),
            HashPart::Bytes(&image[2_500_000..]),
        ];
        assert_eq!(uuid_of_parts(&parts), expected);
    }
}
