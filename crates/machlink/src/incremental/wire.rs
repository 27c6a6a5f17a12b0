//! Two parts of the incremental files in a format of their own, written
//! and read field by field: the delta's body (replaced objects' records,
//! their globals, reference count changes) and the state's header chunk
//! ([`Meta`]: fingerprints, objects, sections), which every run reads.
//!
//! Every update reads the body and writes it back, and it is as large as
//! the objects edited since the full link (a 500-function object's record
//! holds about a thousand names); every run, even one that finds nothing
//! changed, decodes the header chunk (two hundred paths and names for the
//! 100k-function benchmark). Through serde and bincode each field is a
//! visitor call; here integers are LEB128 varints read in a loop, names a
//! length and their bytes, vectors are allocated once at their length, and
//! the reader checks each length against what is left before taking it.
//! Both are checksummed before any of this is read (the delta file whole,
//! the header chunk's blocks); what decodes is then validated against the
//! image like any other record.

use super::state::{
    self, Allocation, AtomRecord, GlobalKind, GlobalRecord, LinkeditRecord, Meta, ObjectInfo,
    ObjectRecord, SectionRecord, SegmentRecord, Site, SiteKind,
};
use super::Fingerprint;
use crate::synthetic::ImportSlots;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// Appends fields to a buffer.
pub struct Writer(pub Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.u64(u64::from(v));
    }
    fn u32(&mut self, v: u32) {
        self.u64(u64::from(v));
    }
    /// LEB128: seven bits a byte, low first (most fields are small or
    /// zero, and the journal carries the whole delta to disk).
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    /// A count or a length (usize, which the format holds as u32).
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("a delta's counts fit in 32 bits"));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    /// Eight bytes as they are: hashes and times, which a varint would
    /// only lengthen, and fields an update changes between zero and an
    /// address (see [`write_atom`]).
    fn fixed64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Four bytes as they are (see [`write_atom`]).
    fn fixed32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pair(&mut self, (a, b): (u64, u64)) {
        self.u64(a);
        self.u64(b);
    }
}

/// Takes fields from the front of a slice; running out is an error.
pub struct Reader<'a>(pub &'a [u8]);

type Got<T> = Result<T, String>;

fn short() -> String {
    "it is truncated".into()
}

fn too_large() -> String {
    "a number is out of its field's range".into()
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Got<&'a [u8]> {
        if n > self.0.len() {
            return Err(short());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Got<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Got<u16> {
        u16::try_from(self.u64()?).map_err(|_| too_large())
    }
    fn u32(&mut self) -> Got<u32> {
        u32::try_from(self.u64()?).map_err(|_| too_large())
    }
    #[inline(always)]
    fn u64(&mut self) -> Got<u64> {
        match self.0.first() {
            // Most fields: one byte.
            Some(&b) if b < 0x80 => {
                self.0 = &self.0[1..];
                Ok(u64::from(b))
            }
            _ => self.long_u64(),
        }
    }
    fn long_u64(&mut self) -> Got<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        let mut i = 0;
        loop {
            let &b = self.0.get(i).ok_or_else(short)?;
            if shift == 63 && b > 1 {
                return Err(too_large());
            }
            v |= u64::from(b & 0x7f) << shift;
            i += 1;
            if b & 0x80 == 0 {
                self.0 = &self.0[i..];
                return Ok(v);
            }
            shift += 7;
        }
    }
    /// A count of items at least `min` bytes each: one the rest of the
    /// input cannot hold is refused before anything is allocated for it.
    fn count(&mut self, min: usize) -> Got<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.0.len() {
            return Err(short());
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Got<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Got<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| "a name is not UTF-8".into())
    }
    fn fixed64(&mut self) -> Got<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn fixed32(&mut self) -> Got<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn bool(&mut self) -> Got<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("a flag is {b}")),
        }
    }
    fn pair(&mut self) -> Got<(u64, u64)> {
        Ok((self.u64()?, self.u64()?))
    }
}

/// A global's kind from its code (the state's global table uses the same
/// codes, [`state::kind_code`]).
fn kind_of_code(c: u8) -> Got<GlobalKind> {
    state::kind_of_code(c).ok_or_else(|| format!("a global has unknown kind {c}"))
}

/// The smallest encoded sizes (a byte a varint), for [`Reader::count`].
const MIN_ATOM: usize = 7 + 8 + 4 + 4 + 4 + 8;
const MIN_NAME: usize = 1;
const SITE: usize = 5;
const GLOBAL: usize = 11 + 8;

/// An atom's record. The fields an edit changes are fixed-width: a
/// function that moves to a body and back (its body, its room, its size),
/// its unwind encoding and its replay hash, which as varints would change
/// length (a hash takes 9 or 10 bytes) and shift every byte after them, so
/// the next delta would differ from the last almost everywhere and be
/// journaled whole (92 KiB for a 500-function object) instead of as the
/// few bytes that changed.
fn write_atom(w: &mut Writer, a: &AtomRecord) {
    w.bytes(&a.key);
    w.u16(a.section);
    w.u8(a.align_log2);
    w.u8(a.flags);
    w.u64(a.addr);
    w.u32(a.slot);
    w.fixed64(a.body);
    w.fixed32(a.body_cap);
    w.fixed32(a.size);
    w.u64(a.fixups);
    w.fixed32(a.unwind);
    w.fixed64(a.replay);
}

fn read_atom(r: &mut Reader) -> Got<AtomRecord> {
    Ok(AtomRecord {
        key: r.bytes()?.to_vec(),
        section: r.u16()?,
        align_log2: r.u8()?,
        flags: r.u8()?,
        addr: r.u64()?,
        slot: r.u32()?,
        body: r.fixed64()?,
        body_cap: r.fixed32()?,
        size: r.fixed32()?,
        fixups: r.u64()?,
        unwind: r.fixed32()?,
        replay: r.fixed64()?,
    })
}

fn write_names(w: &mut Writer, names: &[Vec<u8>]) {
    w.len(names.len());
    for n in names {
        w.bytes(n);
    }
}

/// Reads `n` items into a vector allocated once (collecting results into
/// a vector would grow it step by step: it cannot know their number).
fn read_n<T>(r: &mut Reader, n: usize, mut item: impl FnMut(&mut Reader) -> Got<T>) -> Got<Vec<T>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}

fn read_names(r: &mut Reader) -> Got<Vec<Vec<u8>>> {
    let n = r.count(MIN_NAME)?;
    read_n(r, n, |r| Ok(r.bytes()?.to_vec()))
}

fn write_site(w: &mut Writer, s: &Site) {
    w.u32(s.object);
    w.u8(s.kind.code());
    w.u8(s.length);
    w.u64(s.addend as u64);
    w.u64(s.addr);
}

fn read_site(r: &mut Reader) -> Got<Site> {
    let object = r.u32()?;
    let code = r.u8()?;
    let kind = SiteKind::from_code(code)
        .ok_or_else(|| format!("a reference site has kind {code:#04x}"))?;
    Ok(Site {
        object,
        kind,
        length: r.u8()?,
        addend: r.u64()? as i64,
        addr: r.u64()?,
    })
}

fn write_object(w: &mut Writer, o: &ObjectRecord) {
    // (A hash: fixed-width, see `write_atom`.)
    w.fixed64(o.symbols);
    w.len(o.atoms.len());
    for a in &o.atoms {
        write_atom(w, a);
    }
    write_names(w, &o.globals);
    write_names(w, &o.refs);
    w.len(o.sites.len());
    for (name, site) in &o.sites {
        w.bytes(name);
        write_site(w, site);
    }
    w.bytes(o.oso.as_bytes());
}

fn read_object(r: &mut Reader) -> Got<ObjectRecord> {
    let symbols = r.fixed64()?;
    let n = r.count(MIN_ATOM)?;
    let atoms = read_n(r, n, read_atom)?;
    let globals = read_names(r)?;
    let refs = read_names(r)?;
    let n = r.count(MIN_NAME + SITE)?;
    let sites = read_n(r, n, |r| Ok((r.bytes()?.to_vec(), read_site(r)?)))?;
    Ok(ObjectRecord {
        symbols,
        atoms,
        globals,
        refs,
        sites,
        oso: r.string()?,
    })
}

fn write_global(w: &mut Writer, g: &GlobalRecord) {
    w.u8(state::kind_code(g.kind));
    w.u8(g.flags);
    w.u16(g.dylib);
    w.u32(g.definer);
    w.u64(g.value);
    // (Zero or an address as its function moves: see `write_atom`.)
    w.fixed64(g.body);
    w.u64(g.slots.stub);
    w.u64(g.slots.got);
    w.u64(g.slots.thread_ptr);
    w.u32(g.refs);
    w.u32(g.sites.0);
    w.u32(g.sites.1);
}

fn read_global(r: &mut Reader) -> Got<GlobalRecord> {
    Ok(GlobalRecord {
        kind: kind_of_code(r.u8()?)?,
        flags: r.u8()?,
        dylib: r.u16()?,
        definer: r.u32()?,
        value: r.u64()?,
        body: r.fixed64()?,
        slots: ImportSlots {
            stub: r.u64()?,
            got: r.u64()?,
            thread_ptr: r.u64()?,
        },
        refs: r.u32()?,
        sites: (r.u32()?, r.u32()?),
    })
}

/// The body's four parts.
pub struct Body {
    pub objects: BTreeMap<u32, ObjectRecord>,
    pub globals: FxHashMap<Vec<u8>, GlobalRecord>,
    pub ref_adjust: BTreeMap<Vec<u8>, i64>,
    pub resolved: state::Answers,
}

/// Writes the body: objects (index, record), globals (name, record) in the
/// map's order (a reader builds a map, whatever the order), reference
/// count changes (name, change), and the state's answers to global
/// lookups (name, then 0 for none or 1 and the record).
pub fn write(
    out: &mut Vec<u8>,
    objects: &BTreeMap<u32, ObjectRecord>,
    globals: &FxHashMap<Vec<u8>, GlobalRecord>,
    ref_adjust: &BTreeMap<Vec<u8>, i64>,
    resolved: &state::Answers,
) {
    let mut w = Writer(std::mem::take(out));
    w.len(objects.len());
    for (&i, o) in objects {
        w.u32(i);
        write_object(&mut w, o);
    }
    w.len(globals.len());
    for (name, g) in globals {
        w.bytes(name);
        write_global(&mut w, g);
    }
    w.len(ref_adjust.len());
    for (name, &d) in ref_adjust {
        w.bytes(name);
        w.u64(d as u64);
    }
    w.len(resolved.len());
    for (name, g) in resolved.iter() {
        w.bytes(name);
        w.0.extend_from_slice(&state::encode_answer(g.as_ref()));
    }
    *out = w.0;
}

/// Reads what [`write`] wrote; anything left over is an error.
pub fn read(bytes: &[u8]) -> Got<Body> {
    let mut r = Reader(bytes);
    let n = r.count(1)?;
    let mut objects = BTreeMap::new();
    for _ in 0..n {
        let i = r.u32()?;
        objects.insert(i, read_object(&mut r)?);
    }
    let n = r.count(MIN_NAME + GLOBAL)?;
    let mut globals = FxHashMap::default();
    globals.reserve(n);
    for _ in 0..n {
        let name = r.bytes()?.to_vec();
        globals.insert(name, read_global(&mut r)?);
    }
    let n = r.count(MIN_NAME + 1)?;
    let mut ref_adjust = BTreeMap::new();
    for _ in 0..n {
        let name = r.bytes()?.to_vec();
        ref_adjust.insert(name, r.u64()? as i64);
    }
    let n = r.count(MIN_NAME + state::ANSWER)?;
    let mut resolved = state::Answers::default();
    for _ in 0..n {
        let name = r.bytes()?;
        let g = state::decode_answer(r.take(state::ANSWER)?)
            .ok_or("a remembered global has no known kind")?;
        resolved.push(name, g);
    }
    resolved.sort();
    if !r.0.is_empty() {
        return Err("it has bytes after its end".into());
    }
    Ok(Body {
        objects,
        globals,
        ref_adjust,
        resolved,
    })
}

fn write_fingerprint(w: &mut Writer, f: &Fingerprint) {
    use std::os::unix::ffi::OsStrExt;
    w.bytes(f.path.as_os_str().as_bytes());
    w.u64(f.size);
    // Two's complement, low half first.
    w.fixed64(f.mtime_ns as u64);
    w.fixed64((f.mtime_ns >> 64) as u64);
    w.fixed64(f.hash);
    w.u64(f.inode.0);
    w.u64(f.inode.1);
}

fn read_fingerprint(r: &mut Reader) -> Got<Fingerprint> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::OsStr::from_bytes(r.bytes()?).into();
    let size = r.u64()?;
    let (lo, hi) = (r.fixed64()?, r.fixed64()?);
    Ok(Fingerprint {
        path,
        size,
        mtime_ns: ((u128::from(hi) << 64) | u128::from(lo)) as i128,
        hash: r.fixed64()?,
        inode: (r.u64()?, r.u64()?),
    })
}

/// The smallest encoded sizes of [`Meta`]'s items.
const MIN_FINGERPRINT: usize = 28;
const MIN_OBJECT: usize = 5;
const MIN_SECTION: usize = 8;
const MIN_ALLOCATION: usize = 2;
const MIN_SEGMENT: usize = 4;

/// Writes the state's header chunk.
pub fn write_meta(m: &Meta) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        64 * (m.inputs.len() + m.objects.len()) + 1024,
    ));
    w.u64(m.args);
    write_fingerprint(&mut w, &m.output);
    w.len(m.inputs.len());
    for f in &m.inputs {
        write_fingerprint(&mut w, f);
    }
    w.len(m.objects.len());
    for o in &m.objects {
        w.u32(o.input);
        w.bool(o.member);
        w.bytes(o.name.as_bytes());
        w.pair(o.record);
    }
    w.len(m.sections.len());
    for s in &m.sections {
        w.bytes(s.segname.as_bytes());
        w.bytes(s.sectname.as_bytes());
        w.u32(s.flags);
        w.u8(s.align_log2);
        w.u64(s.addr);
        w.u64(s.size);
        w.u64(s.offset);
        w.bool(s.synthetic);
    }
    w.len(m.allocation.len());
    for a in &m.allocation {
        w.u64(a.used_end);
        w.len(a.free.len());
        for &f in &a.free {
            w.pair(f);
        }
    }
    w.len(m.segments.len());
    for s in &m.segments {
        w.u64(s.vmaddr);
        w.u64(s.vmsize);
        w.u64(s.fileoff);
        w.u64(s.filesize);
    }
    w.u64(m.image_base);
    w.u64(m.tlv_start);
    w.u64(m.tlv_end);
    w.bool(m.chained);
    let l = &m.linkedit;
    w.u64(l.uuid_offset);
    w.pair(l.function_starts);
    w.bool(l.unwind_complex);
    w.u64(l.signature.0);
    w.u64(l.signature.1);
    w.u64(l.signature.2);
    w.pair(l.chained_fixups);
    w.pair(l.exports);
    w.pair(l.symtab);
    w.pair(l.strtab);
    w.0.extend_from_slice(&m.uuid);
    w.u32(m.dylibs);
    w.u32(m.cpu_type);
    w.0
}

/// Reads what [`write_meta`] wrote; anything left over is an error.
pub fn read_meta(bytes: &[u8]) -> Got<Meta> {
    let mut r = Reader(bytes);
    let args = r.u64()?;
    let output = read_fingerprint(&mut r)?;
    let n = r.count(MIN_FINGERPRINT)?;
    let inputs = read_n(&mut r, n, read_fingerprint)?;
    let n = r.count(MIN_OBJECT)?;
    let objects = read_n(&mut r, n, |r| {
        Ok(ObjectInfo {
            input: r.u32()?,
            member: r.bool()?,
            name: r.string()?,
            record: r.pair()?,
        })
    })?;
    let n = r.count(MIN_SECTION)?;
    let sections = read_n(&mut r, n, |r| {
        Ok(SectionRecord {
            segname: r.string()?,
            sectname: r.string()?,
            flags: r.u32()?,
            align_log2: r.u8()?,
            addr: r.u64()?,
            size: r.u64()?,
            offset: r.u64()?,
            synthetic: r.bool()?,
        })
    })?;
    let n = r.count(MIN_ALLOCATION)?;
    let allocation = read_n(&mut r, n, |r| {
        let used_end = r.u64()?;
        let n = r.count(2)?;
        Ok(Allocation {
            used_end,
            free: read_n(r, n, |r| r.pair())?,
        })
    })?;
    let n = r.count(MIN_SEGMENT)?;
    let segments = read_n(&mut r, n, |r| {
        Ok(SegmentRecord {
            vmaddr: r.u64()?,
            vmsize: r.u64()?,
            fileoff: r.u64()?,
            filesize: r.u64()?,
        })
    })?;
    let image_base = r.u64()?;
    let tlv_start = r.u64()?;
    let tlv_end = r.u64()?;
    let chained = r.bool()?;
    let linkedit = LinkeditRecord {
        uuid_offset: r.u64()?,
        function_starts: r.pair()?,
        unwind_complex: r.bool()?,
        signature: (r.u64()?, r.u64()?, r.u64()?),
        chained_fixups: r.pair()?,
        exports: r.pair()?,
        symtab: r.pair()?,
        strtab: r.pair()?,
    };
    let uuid = r.take(16)?.try_into().expect("16 bytes");
    let meta = Meta {
        args,
        output,
        inputs,
        objects,
        sections,
        allocation,
        segments,
        image_base,
        tlv_start,
        tlv_end,
        chained,
        linkedit,
        uuid,
        dylibs: r.u32()?,
        cpu_type: r.u32()?,
    };
    if !r.0.is_empty() {
        return Err("it has bytes after its end".into());
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::RelocKind;

    #[test]
    fn a_body_reads_back_as_written_and_a_cut_one_is_refused() {
        let mut objects = BTreeMap::new();
        objects.insert(
            3,
            ObjectRecord {
                symbols: 0xfeed,
                atoms: vec![AtomRecord {
                    key: b"_f".to_vec(),
                    section: 1,
                    align_log2: 4,
                    flags: 1,
                    addr: 0x1_0000_3f00,
                    slot: 64,
                    body: 0x1_0000_8000,
                    body_cap: 128,
                    size: 40,
                    fixups: 7,
                    unwind: 0x0100_0000,
                    replay: 0xdead_beef_f00d,
                }],
                globals: vec![b"_f".to_vec()],
                refs: vec![b"_g".to_vec(), Vec::new()],
                sites: vec![(
                    b"_d".to_vec(),
                    Site {
                        object: 3,
                        kind: SiteKind::Field(RelocKind::Absolute),
                        length: 3,
                        addend: -8,
                        addr: 0x1_0000_c000,
                    },
                )],
                oso: "/a/b.o".into(),
            },
        );
        let mut globals = FxHashMap::default();
        globals.insert(
            b"_f".to_vec(),
            GlobalRecord {
                kind: GlobalKind::Defined,
                flags: 4,
                dylib: 0,
                definer: 3,
                value: 0x1_0000_3f00,
                body: 0x1_0000_8000,
                slots: ImportSlots {
                    stub: 1,
                    got: 2,
                    thread_ptr: 0,
                },
                refs: 2,
                sites: (5, 1),
            },
        );
        let ref_adjust: BTreeMap<Vec<u8>, i64> = [(b"_g".to_vec(), -2)].into_iter().collect();
        // A lookup the state answered with a record, and one it had none for.
        // (The state's records have their bodies at their values.)
        let answer = globals.get(&b"_f"[..]).map(|g| GlobalRecord {
            body: g.value,
            ..*g
        });
        let resolved = state::Answers::new([(&b"_f"[..], answer), (&b"_x"[..], None)].into_iter());
        let mut out = Vec::new();
        write(&mut out, &objects, &globals, &ref_adjust, &resolved);
        let back = read(&out).unwrap();
        assert_eq!(back.objects, objects);
        assert_eq!(back.globals, globals);
        assert_eq!(back.ref_adjust, ref_adjust);
        assert_eq!(back.resolved, resolved);
        for cut in [0, 1, out.len() / 2, out.len() - 1] {
            assert!(read(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = out.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
    }

    #[test]
    fn a_header_chunk_reads_back_as_written_and_a_cut_one_is_refused() {
        let f = |p: &str, t: i128| Fingerprint {
            path: p.into(),
            size: 4242,
            mtime_ns: t,
            hash: 0xdead_beef,
            inode: (u64::MAX, 12),
        };
        let mut meta = Meta::placeholder();
        meta.args = 77;
        meta.output = f("/out/prog", 1_796_327_195_703_589_201);
        meta.inputs = vec![f("a.o", -5), f("/x/b.o", i128::MAX)];
        meta.objects = vec![ObjectInfo {
            input: 1,
            member: true,
            name: "lib.a(b.o)".into(),
            record: (128, 4096),
        }];
        meta.sections = vec![SectionRecord {
            segname: "__TEXT".into(),
            sectname: "__text".into(),
            flags: 0x8000_0400,
            align_log2: 4,
            addr: 0x1_0000_0f00,
            size: 1 << 20,
            offset: 0xf00,
            synthetic: false,
        }];
        meta.allocation = vec![Allocation {
            used_end: 0x1_0000_8000,
            free: vec![(0x1_0000_1000, 64)],
        }];
        meta.segments = vec![SegmentRecord {
            vmaddr: 0x1_0000_0000,
            vmsize: 1 << 21,
            fileoff: 0,
            filesize: 1 << 21,
        }];
        meta.chained = true;
        meta.linkedit.signature = (1, 2, 3);
        meta.linkedit.unwind_complex = true;
        meta.uuid = [9; 16];
        meta.dylibs = 2;
        meta.cpu_type = 0x0100_000c;
        let bytes = write_meta(&meta);
        assert_eq!(read_meta(&bytes).unwrap(), meta);
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(read_meta(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
