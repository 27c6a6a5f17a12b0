//! Objective-C: what the linker adds for it.
//!
//! - **Message-send stubs.** With `-fobjc-msgsend-selector-stubs` (the
//!   default for recent Apple targets) a compiler calls
//!   `_objc_msgSend$sel` instead of loading the selector and calling
//!   `_objc_msgSend`; the linker writes one stub per selector in
//!   `__TEXT,__objc_stubs` that loads the selector from an
//!   `__objc_selrefs` slot (pointing at the name in `__objc_methname`)
//!   and continues in `_objc_msgSend`. They come as a linker-made object
//!   ([`stubs_object`]) so layout, relocation, dead stripping, the symbol
//!   table and incremental updates treat them like any other atoms.
//!   As ld64.lld 19 does, each selector gets one new selref (selrefs of
//!   the inputs are not reused: lld only does that under `--icf`), and the
//!   names join `__objc_methname`, merged with the inputs' copies.
//! - **`-ObjC`**: archive members that define a class or a category (or
//!   hold Swift code) are loaded although no symbol pulls them
//!   ([`archive_members`]), since categories are found by the runtime,
//!   not through symbols.

use crate::arch::{Arch, ObjcStub, ObjcStubsMode, TemplateField};
use crate::atom::{AliasOf, Atom, Reloc, Target, NONE};
use crate::input::archive::Archive;
use crate::input::object::{InputSection, ObjSymbol, ObjectFile};
use object::macho;

/// The prefix of a message-send stub symbol: `_objc_msgSend$sel` sends
/// the selector `sel`.
pub const STUB_PREFIX: &[u8] = b"_objc_msgSend$";
/// How diagnostics (and `-map`) name the linker's Objective-C object.
pub const STUBS_OBJECT: &str = "<objc stubs>";
/// The prefix of an Objective-C class symbol (`_OBJC_CLASS_$_Name`).
const CLASS_PREFIX: &[u8] = b"_OBJC_CLASS_$_";

const SELREFS: &str = "__objc_selrefs";
const IMAGE_INFO: &str = "__objc_imageinfo";
/// How diagnostics name the linker's merged `__objc_imageinfo`.
pub const IMAGE_INFO_OBJECT: &str = "<objc image info>";

/// The stub of `mode` for `arch`, and a warning when `arch` does not
/// implement that mode and the fast form is used instead (as ld64.lld
/// does).
pub fn stub_form(arch: &dyn Arch, mode: ObjcStubsMode) -> (ObjcStub, Option<String>) {
    match arch.objc_stub(mode) {
        Some(stub) => (stub, None),
        None => {
            let fast = arch
                .objc_stub(ObjcStubsMode::Fast)
                .expect("every target writes fast Objective-C stubs");
            let warning = format!(
                "-objc_stubs_small is not yet implemented for {}, defaulting to -objc_stubs_fast",
                arch.name()
            );
            (fast, Some(warning))
        }
    }
}

/// The object holding a stub, a selref and a method name for each
/// selector of `selectors` (the stub symbols' names, `_objc_msgSend$sel`,
/// in the order the stubs are laid out). Its stubs define those symbols
/// (private externs) and refer to `_objc_msgSend`, which resolution then
/// finds like any undefined symbol. The selrefs' section lacks
/// `S_ATTR_NO_DEAD_STRIP` until [`after_dead_strip`], so `-dead_strip`
/// keeps only the selrefs of live stubs, as lld creates none for dead ones.
pub fn stubs_object<'a>(stub: &ObjcStub, selectors: &[&'a [u8]]) -> ObjectFile<'a> {
    let n = selectors.len() as u32;
    let code_len = stub.code.len() as u32;
    let mut code = Vec::with_capacity((code_len * n) as usize);
    let mut names = Vec::new();
    let mut name_offsets = Vec::with_capacity(selectors.len());
    for sel in selectors {
        code.extend_from_slice(stub.code);
        name_offsets.push(names.len() as u32);
        names.extend_from_slice(&sel[STUB_PREFIX.len()..]);
        names.push(0);
    }
    let mut obj = ObjectFile::empty(STUBS_OBJECT.into());
    // `_objc_msgSend`, which every stub continues in.
    let msgsend = obj.symbols.len() as u32;
    obj.symbols.push(ObjSymbol {
        name: b"_objc_msgSend",
        n_type: macho::N_UNDF | macho::N_EXT,
        n_sect: 0,
        n_desc: 0,
        n_value: 0,
        atom: NONE,
    });
    // Atoms section by section (a section's atoms are contiguous): the n
    // stubs, then the n method names, then the n selrefs.
    let name_atom = |i: u32| n + i;
    let selref_atom = |i: u32| 2 * n + i;
    let stubs = add_section(
        &mut obj,
        ("__TEXT", "__objc_stubs"),
        macho::S_REGULAR | macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS,
        stub.align_log2,
        leak(code),
    );
    for (i, sel) in selectors.iter().enumerate() {
        let i = i as u32;
        let sym = obj.symbols.len() as u32;
        let at = i * code_len;
        obj.symbols.push(ObjSymbol {
            name: sel,
            n_type: macho::N_SECT | macho::N_EXT | macho::N_PEXT,
            n_sect: stubs as u8 + 1,
            n_desc: 0,
            n_value: obj.sections[stubs as usize].addr + u64::from(at),
            atom: NONE,
        });
        // The atom names no symbol: a stub is not a function (no function
        // start, no unwind row: lld lists neither for its stubs).
        let atom = add_atom(&mut obj, stubs, at, code_len, stub.align_log2, NONE);
        obj.symbols[sym as usize].atom = atom;
        let field = |f: TemplateField, target: Target| Reloc {
            offset: f.offset,
            kind: f.kind,
            length: f.length,
            target,
            addend: 0,
            subtrahend: None,
        };
        for &f in stub.selref {
            push_reloc(&mut obj, atom, field(f, Target::Atom(selref_atom(i))));
        }
        for &f in stub.msgsend {
            push_reloc(&mut obj, atom, field(f, Target::Symbol(msgsend)));
        }
    }
    // One atom per string, as the parser splits C-string sections, so
    // they merge with the inputs' copies.
    let methnames = add_section(
        &mut obj,
        ("__TEXT", "__objc_methname"),
        macho::S_CSTRING_LITERALS,
        0,
        leak(names),
    );
    for (i, sel) in selectors.iter().enumerate() {
        let len = (sel.len() - STUB_PREFIX.len() + 1) as u32;
        let atom = add_atom(&mut obj, methnames, name_offsets[i], len, 0, NONE);
        debug_assert_eq!(atom, name_atom(i as u32));
    }
    let selrefs = add_section(
        &mut obj,
        ("__DATA", SELREFS),
        macho::S_LITERAL_POINTERS,
        3,
        leak(vec![0; 8 * selectors.len()]),
    );
    for i in 0..n {
        let atom = add_atom(&mut obj, selrefs, 8 * i, 8, 3, NONE);
        debug_assert_eq!(atom, selref_atom(i));
        push_reloc(
            &mut obj,
            atom,
            Reloc {
                offset: 0,
                kind: crate::arch::RelocKind::Absolute,
                length: 3,
                target: Target::Atom(name_atom(i)),
                addend: 0,
                subtrahend: None,
            },
        );
    }
    obj
}

/// After `-dead_strip`: the selrefs section gets `S_ATTR_NO_DEAD_STRIP`,
/// the attribute every `__objc_selrefs` carries (the runtime fixes the
/// slots up at load, so they must never be stripped once placed).
/// A section left without live atoms is dropped, as lld creates no stub
/// (and no section) for a selector only dead code sends.
pub fn after_dead_strip(obj: &mut ObjectFile) {
    for i in 0..obj.sections.len() {
        let sec = &obj.sections[i];
        let atoms = sec.atoms_start as usize..(sec.atoms_start + sec.atoms_len) as usize;
        let live = obj.atoms[atoms].iter().any(|a| a.live);
        let sec = &mut obj.sections[i];
        sec.kept &= live;
        if sec.sectname == SELREFS {
            sec.flags |= macho::S_ATTR_NO_DEAD_STRIP;
        }
    }
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// Appends a section (its atoms follow with [`add_atom`], contiguously);
/// input addresses are made distinct per section.
fn add_section<'a>(
    obj: &mut ObjectFile<'a>,
    (segname, sectname): (&str, &str),
    flags: u32,
    align_log2: u8,
    data: &'a [u8],
) -> u32 {
    let addr = obj.sections.last().map_or(0, |s| s.addr + s.size + 16) & !15;
    obj.sections.push(InputSection {
        segname: segname.into(),
        sectname: sectname.into(),
        addr,
        size: data.len() as u64,
        align_log2,
        flags,
        data,
        atoms_start: obj.atoms.len() as u32,
        atoms_len: 0,
        kept: true,
        metadata: false,
    });
    obj.sections.len() as u32 - 1
}

fn add_atom(
    obj: &mut ObjectFile,
    section: u32,
    offset: u32,
    size: u32,
    align_log2: u8,
    symbol: u32,
) -> u32 {
    let sec = &mut obj.sections[section as usize];
    debug_assert_eq!(
        sec.atoms_start + sec.atoms_len,
        obj.atoms.len() as u32,
        "a section's atoms are contiguous"
    );
    sec.atoms_len += 1;
    let relocs = obj.relocs.len() as u32;
    obj.atoms.push(Atom {
        section: u16::try_from(section).expect("fewer than MAX_SECTIONS sections"),
        offset,
        size,
        align_log2,
        relocs_start: relocs,
        relocs_end: relocs,
        symbol,
        alias_of: AliasOf::NONE,
        live: true,
    });
    obj.atoms.len() as u32 - 1
}

/// Adds a relocation to the last atom added.
fn push_reloc(obj: &mut ObjectFile, atom: u32, r: Reloc) {
    debug_assert_eq!(atom as usize + 1, obj.atoms.len());
    obj.relocs.push(r);
    obj.atoms[atom as usize].relocs_end = obj.relocs.len() as u32;
}

/// `__objc_imageinfo`: the runtime reads one 8-byte record per image
/// (version 0, then flags), so the inputs' records are merged into one, as
/// ld64 and lld do: "has category class properties" (bit 6) only when
/// every input has it, and the Swift ABI version (bits 8-15) that the
/// inputs agree on. The inputs' sections are dropped and the record comes
/// from a linker-made object, returned when some input has one (to be added
/// after dead stripping). A
/// malformed record or two Swift versions are errors.
pub fn merge_image_info(
    objects: &mut [ObjectFile],
) -> crate::error::Result<Option<ObjectFile<'static>>> {
    const HAS_CATEGORY_CLASS_PROPERTIES: u32 = 1 << 6;
    let mut merged: Option<(u32, u8, String)> = None;
    let mut errors = Vec::new();
    for obj in objects.iter_mut() {
        for sec in obj.sections.iter_mut() {
            if !sec.kept || sec.sectname != IMAGE_INFO || sec.segname != "__DATA" {
                continue;
            }
            sec.kept = false;
            let Some(flags) = sec.data.get(4..8) else {
                errors.push(format!(
                    "{}: __objc_imageinfo is {} bytes, expected 8",
                    obj.name,
                    sec.data.len()
                ));
                continue;
            };
            let flags = u32::from_le_bytes(flags.try_into().expect("4 bytes"));
            let swift = (flags >> 8) as u8;
            merged = Some(match merged.take() {
                None => (
                    flags & HAS_CATEGORY_CLASS_PROPERTIES,
                    swift,
                    obj.name.clone(),
                ),
                Some((category, have, from)) => {
                    if have != 0 && swift != 0 && have != swift {
                        errors.push(format!(
                            "Swift ABI version mismatch: {from} has version {have}, {} has version {swift}",
                            obj.name
                        ));
                    }
                    let (swift, from) = if have != 0 {
                        (have, from)
                    } else {
                        (swift, obj.name.clone())
                    };
                    (category & flags, swift, from)
                }
            });
        }
    }
    if let Some(e) = crate::error::LinkError::many(errors) {
        return Err(e);
    }
    let Some((category, swift, _)) = merged else {
        return Ok(None);
    };
    let flags = category | u32::from(swift) << 8;
    let mut record = vec![0u8; 8];
    record[4..].copy_from_slice(&flags.to_le_bytes());
    let mut obj = ObjectFile::empty(IMAGE_INFO_OBJECT.into());
    // No S_ATTR_NO_DEAD_STRIP, as in lld's record: the object joins the
    // link after dead stripping, so nothing can strip it.
    let sec = add_section(
        &mut obj,
        ("__DATA", IMAGE_INFO),
        macho::S_REGULAR,
        0,
        leak(record),
    );
    add_atom(&mut obj, sec, 0, 8, 0, NONE);
    Ok(Some(obj))
}

/// Whether `name` is a message-send stub symbol with a selector.
pub fn is_stub_symbol(name: &[u8]) -> bool {
    name.len() > STUB_PREFIX.len() && name.starts_with(STUB_PREFIX)
}

/// `-ObjC`: the members of `archive` to load although no symbol pulls
/// them, as ld64 and lld choose them: members defining an Objective-C
/// class (`_OBJC_CLASS_$_…` in the archive's symbol table), and members
/// with a category list (`__DATA,__objc_catlist`) or Swift code
/// (`__TEXT,__swift…`).
pub fn archive_members(archive: &Archive) -> Vec<u32> {
    let mut members: Vec<u32> = archive
        .symbols
        .iter()
        .filter(|(name, _)| name.starts_with(CLASS_PREFIX))
        .map(|&(_, m)| m)
        .collect();
    for (i, (_, data, _)) in archive.members.iter().enumerate() {
        if has_objc_section(data) {
            members.push(i as u32);
        }
    }
    members.sort_unstable();
    members.dedup();
    members
}

/// Whether a 64-bit Mach-O object has a category list or Swift code,
/// read from its section headers only (a malformed member is left for the
/// parser to report if something loads it).
fn has_objc_section(data: &[u8]) -> bool {
    use object::read::macho::{MachHeader, Segment};
    use object::LittleEndian as LE;
    let Ok(header) = macho::MachHeader64::<LE>::parse(data, 0) else {
        return false;
    };
    let Ok(mut commands) = header.load_commands(LE, data, 0) else {
        return false;
    };
    while let Ok(Some(cmd)) = commands.next() {
        let Ok(Some((segment, section_data))) = cmd.segment_64() else {
            continue;
        };
        let Ok(sections) = segment.sections(LE, section_data) else {
            continue;
        };
        for s in sections {
            let seg = object::read::macho::Section::segment_name(s);
            let sect = object::read::macho::Section::name(s);
            if (seg == b"__DATA" && sect == b"__objc_catlist")
                || (seg == b"__TEXT" && sect.starts_with(b"__swift"))
            {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::X86_64;

    #[test]
    fn one_stub_selref_and_name_per_selector() {
        let (stub, warning) = stub_form(&X86_64, ObjcStubsMode::Fast);
        assert!(warning.is_none());
        let obj = stubs_object(&stub, &[b"_objc_msgSend$length", b"_objc_msgSend$foo:bar:"]);
        let names: Vec<&str> = obj.sections.iter().map(|s| s.sectname.as_str()).collect();
        assert_eq!(names, ["__objc_stubs", "__objc_methname", "__objc_selrefs"]);
        assert_eq!(obj.sections[1].data, b"length\0foo:bar:\0");
        assert_eq!(obj.sections[0].data.len(), 2 * stub.code.len());
        // Each stub: its selref (pc-relative) and objc_msgSend (GOT).
        let stubs: Vec<&Atom> = obj.atoms.iter().filter(|a| a.section == 0).collect();
        assert_eq!(stubs.len(), 2);
        let r = &obj.relocs[stubs[1].relocs_start as usize..stubs[1].relocs_end as usize];
        assert_eq!(r.len(), 2);
        assert!(matches!(r[1].target, Target::Symbol(0)));
        assert_eq!(obj.symbols[0].name, b"_objc_msgSend");
        let Target::Atom(selref) = r[0].target else {
            panic!("selref is an atom")
        };
        let sr = &obj.relocs[obj.atoms[selref as usize].relocs_start as usize];
        let Target::Atom(name) = sr.target else {
            panic!("method name is an atom")
        };
        assert_eq!(obj.atom_data(name), b"foo:bar:\0");
        // The stub symbols are private externs at their atoms.
        let s = &obj.symbols[2];
        assert_eq!(obj.sections[1].atoms_start, 2);
        assert_eq!(obj.sections[2].atoms_start, 4);
        assert_eq!(s.name, b"_objc_msgSend$foo:bar:");
        assert!(s.is_private_extern() && s.atom != NONE);
        assert_eq!(obj.sections[2].flags & macho::S_ATTR_NO_DEAD_STRIP, 0);
    }

    #[test]
    fn arm64_stubs_take_a_page_and_an_offset_for_each_reference() {
        use crate::arch::{Arm64, PageRef, RelocKind};
        for mode in [ObjcStubsMode::Fast, ObjcStubsMode::Small] {
            let (stub, warning) = stub_form(&Arm64, mode);
            assert!(warning.is_none(), "arm64 has both forms");
            let obj = stubs_object(&stub, &[b"_objc_msgSend$length"]);
            let atom = &obj.atoms[0];
            let r = &obj.relocs[atom.relocs_start as usize..atom.relocs_end as usize];
            let kinds: Vec<RelocKind> = r.iter().map(|r| r.kind).collect();
            let msgsend: &[RelocKind] = match mode {
                ObjcStubsMode::Fast => &[
                    RelocKind::Page(PageRef::Got),
                    RelocKind::PageOffset(PageRef::Got),
                ],
                ObjcStubsMode::Small => &[RelocKind::Branch],
            };
            assert_eq!(
                kinds[..2],
                [
                    RelocKind::Page(PageRef::Direct),
                    RelocKind::PageOffset(PageRef::Direct)
                ]
            );
            assert_eq!(&kinds[2..], msgsend);
            assert!(matches!(r[0].target, Target::Atom(_)) && r[0].target == r[1].target);
            assert!(r[2..].iter().all(|r| r.target == Target::Symbol(0)));
        }
    }

    #[test]
    fn small_stubs_fall_back_to_fast_on_x86_64_with_a_warning() {
        let (stub, warning) = stub_form(&X86_64, ObjcStubsMode::Small);
        assert_eq!(stub.code.len(), 13);
        assert!(warning.unwrap().contains("-objc_stubs_small"));
        assert!(is_stub_symbol(b"_objc_msgSend$x"));
        assert!(!is_stub_symbol(b"_objc_msgSend$"));
        assert!(!is_stub_symbol(b"_objc_msgSend"));
    }
}
