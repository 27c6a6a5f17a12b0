//! Weak definitions across images, as ld64 and lld treat them.
//!
//! An image's exported weak definition is not final: at load time dyld
//! *coalesces* every image's definition of the name into one (the first
//! strong definition in load order, else the first weak one), so that,
//! say, an executable's strong `operator new` replaces a dylib's weak
//! default everywhere. For that, every reference that could be coalesced
//! goes through a slot dyld writes:
//!
//! - calls through a stub, address loads through a GOT slot (never relaxed
//!   to a direct `leaq`), pointers in data bound like an import;
//! - classic dyld info: the slot is rebased to the image's own definition
//!   (or bound to a dylib's), and a *weak bind* record in LC_DYLD_INFO's
//!   weak_bind stream tells dyld to overwrite it with the coalesced one;
//! - chained fixups: the slot binds to an import of the name with the
//!   special ordinal BIND_SPECIAL_DYLIB_WEAK_LOOKUP (-3).
//!
//! A strong definition that overrides a weak one some linked dylib exports
//! is announced too: a `BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION` record in
//! the weak bind stream (classic), and in both formats the header flag
//! `MH_WEAK_DEFINES`, without which dyld does not look at the image when it
//! coalesces. Images with weak binds (or weak exports) carry
//! `MH_BINDS_TO_WEAK`.
//!
//! Not coalesced: private externs, weak definitions that can be hidden
//! (`.weak_def_can_be_hidden`, unless an export list names them), and
//! names an export list leaves out; those bind inside the image.

use crate::formats::uleb::{write_sleb, write_uleb};
use crate::input::{Inputs, Library};
use crate::interpose::interposable;
use crate::layout::Layout;
use crate::linkedit::fixups::{Fixup, FixupKind, Import};
use crate::symbols::{Def, SymbolTable};
use crate::synthetic::is_imported;
use object::macho;

/// BIND_SPECIAL_DYLIB_WEAK_LOOKUP: the import's ordinal in chained fixups
/// for a symbol dyld coalesces.
pub const WEAK_LOOKUP_ORDINAL: i32 = -3;

/// Whether dyld coalesces this definition with other images' (an exported
/// weak definition in the image, or a dylib's weak export).
pub fn coalesced(def: Def) -> bool {
    matches!(
        def,
        Def::Defined {
            weak: true,
            private_extern: false,
            ..
        } | Def::Dylib { weak: true, .. }
            | Def::Placed {
                coalesced: true,
                ..
            }
    )
}

/// A weak definition in the image that dyld may replace.
pub fn coalesced_here(def: Def) -> bool {
    matches!(def, Def::Defined { .. } | Def::Placed { .. }) && coalesced(def)
}

/// A definition in the image that references reach through dyld: a weak
/// one dyld may coalesce, or one a flat-namespace lookup may interpose
/// (see [`crate::interpose`]).
pub fn bound_here(def: Def) -> bool {
    coalesced_here(def) || interposable(def)
}

/// Whether references to a symbol go through a slot dyld writes: an
/// import, a weak definition dyld may coalesce, or an interposable one.
pub fn needs_binding(def: Def) -> bool {
    is_imported(def) || coalesced(def) || interposable(def)
}

/// Whether a stub's lazy pointer is bound lazily, on first call through
/// the stub helper (classic format). A coalesced symbol's is bound (or
/// rebased) at load time and weakly bound, as lld does; an interposable
/// one's is bound lazily like an import's.
pub fn lazily_bound(def: Def) -> bool {
    (is_imported(def) || interposable(def)) && !coalesced(def)
}

/// Marks every strong definition that overrides a weak definition some
/// linked dylib exports (dyld must see it when coalescing), as lld does
/// for every dylib export of the name.
pub(crate) fn mark_overrides(symtab: &mut SymbolTable, inputs: &Inputs) {
    let dylibs: Vec<u32> = inputs
        .libraries
        .iter()
        .filter_map(|l| match *l {
            Library::Dylib(d) => Some(d),
            Library::Archive(_) => None,
        })
        .collect();
    // The dylibs' weak exports are few; looking each definition up in
    // every dylib's exports would cost a hash per symbol per dylib.
    let weak_exports: rustc_hash::FxHashSet<&[u8]> = dylibs
        .iter()
        .flat_map(|&d| inputs.dylibs[d as usize].exports.iter())
        .filter(|(_, s)| s.weak)
        .map(|(name, _)| &name[..])
        .collect();
    if weak_exports.is_empty() {
        return;
    }
    // The few weak exports are looked up among the symbols, not every
    // symbol among them.
    for name in weak_exports {
        if let Some(id) = symtab.get(name) {
            let sym = &mut symtab.syms[id as usize];
            if matches!(sym.def, Def::Defined { weak: false, .. }) {
                sym.overrides_weak_def = true;
            }
        }
    }
}

/// The strong definitions (of placed atoms) that override a dylib's weak
/// one, in symbol order.
pub fn strong_overrides<'s>(symtab: &'s SymbolTable, layout: &Layout) -> Vec<&'s [u8]> {
    symtab
        .syms
        .iter()
        .filter(|s| s.overrides_weak_def)
        .filter(|s| match s.def {
            Def::Defined { file, atom, .. } => layout.atom_addr[file as usize][atom as usize] != 0,
            _ => false,
        })
        .map(|s| s.name)
        .collect()
}

/// Whether the image exports a weak definition (of a placed atom).
pub fn exports_weak(symtab: &SymbolTable, layout: &Layout) -> bool {
    symtab.syms.iter().any(|s| match s.def {
        Def::Defined {
            file,
            atom,
            weak: true,
            private_extern: false,
            ..
        } => layout.atom_addr[file as usize][atom as usize] != 0,
        _ => false,
    })
}

/// MH_WEAK_DEFINES and MH_BINDS_TO_WEAK, as lld sets them: weak exports
/// set both; a strong definition overriding a dylib's weak one sets the
/// first; a weak bind (classic) or a weak-lookup import (chained) the
/// second.
pub fn header_flags(
    exports_weak: bool,
    overrides: bool,
    fixups: &[Fixup],
    imports: &[Import],
    chained: bool,
) -> u32 {
    let binds_weakly = if chained {
        imports.iter().any(|i| i.ordinal == WEAK_LOOKUP_ORDINAL)
    } else {
        fixups
            .iter()
            .any(|f| matches!(f.kind, FixupKind::WeakBind { .. }))
    };
    let mut flags = 0;
    if exports_weak || overrides {
        flags |= macho::MH_WEAK_DEFINES;
    }
    if exports_weak || binds_weakly {
        flags |= macho::MH_BINDS_TO_WEAK;
    }
    flags
}

/// LC_DYLD_INFO's weak bind stream: first a
/// `BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION` record per strong definition
/// that overrides a dylib's weak one, then, per symbol (in order of its
/// first slot's address), the slots dyld must point at the coalesced
/// definition. Empty when there is nothing to say.
pub fn encode_weak_binds(
    overrides: &[&[u8]],
    fixups: &[Fixup],
    imports: &[Import],
    layout: &Layout,
) -> Result<Vec<u8>, String> {
    let mut binds: Vec<(u32, i64, u64)> = fixups
        .iter()
        .filter_map(|f| match f.kind {
            FixupKind::WeakBind { import, addend } => Some((import, addend, f.addr)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    if overrides.is_empty() && binds.is_empty() {
        return Ok(out);
    }
    for name in overrides {
        out.push(
            macho::BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM
                | macho::BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION,
        );
        out.extend_from_slice(name);
        out.push(0);
    }
    // Grouped by symbol, each group in address order, the groups in the
    // order of their first slot.
    binds.sort_by_key(|&(import, _, addr)| (import, addr));
    let mut groups: Vec<&[(u32, i64, u64)]> = binds.chunk_by(|a, b| a.0 == b.0).collect();
    groups.sort_by_key(|g| g[0].2);
    let mut addend = 0i64;
    for group in groups {
        let name = &imports
            .get(group[0].0 as usize)
            .ok_or("weak bind of an unknown import")?
            .name;
        out.push(macho::BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM);
        out.extend_from_slice(name);
        out.push(0);
        out.push(macho::BIND_OPCODE_SET_TYPE_IMM | macho::BIND_TYPE_POINTER);
        for &(_, a, addr) in group {
            if a != addend {
                out.push(macho::BIND_OPCODE_SET_ADDEND_SLEB);
                write_sleb(&mut out, a);
                addend = a;
            }
            let si = layout
                .segment_of(addr)
                .ok_or_else(|| format!("weak bind at {addr:#x} is outside every segment"))?;
            out.push(macho::BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB | si as u8);
            write_uleb(&mut out, addr - layout.segments[si].vmaddr);
            out.push(macho::BIND_OPCODE_DO_BIND);
        }
    }
    out.push(macho::BIND_OPCODE_DONE);
    crate::linkedit::pad_to(&mut out, 8);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defined(weak: bool, private_extern: bool) -> Def {
        Def::Defined {
            file: 0,
            atom: 0,
            offset: 0,
            weak,
            private_extern,
            interposable: false,
        }
    }

    #[test]
    fn only_exported_weak_definitions_and_weak_dylib_exports_are_coalesced() {
        assert!(coalesced(defined(true, false)));
        assert!(!coalesced(defined(true, true)), "a private extern");
        assert!(!coalesced(defined(false, false)), "a strong definition");
        let dylib = |weak| Def::Dylib {
            dylib: 0,
            weak,
            thread_local: false,
        };
        assert!(coalesced(dylib(true)) && !coalesced_here(dylib(true)));
        assert!(!coalesced(dylib(false)) && needs_binding(dylib(false)));
        assert!(lazily_bound(dylib(false)) && !lazily_bound(dylib(true)));
        assert!(needs_binding(defined(true, false)) && !needs_binding(defined(true, true)));
    }

    #[test]
    fn the_weak_bind_stream_has_strong_records_then_slots_grouped_by_symbol() {
        let layout = Layout {
            segments: vec![crate::layout::Segment {
                name: "__DATA".into(),
                vmaddr: 0x4000,
                vmsize: 0x1000,
                fileoff: 0x4000,
                filesize: 0x1000,
                maxprot: 3,
                initprot: 3,
                flags: 0,
                sections: 0..0,
            }],
            ..Default::default()
        };
        let import = |name: &[u8]| Import {
            name: name.to_vec(),
            ordinal: -2,
            weak: false,
        };
        let weak = |addr, import, addend| Fixup {
            addr,
            kind: FixupKind::WeakBind { import, addend },
        };
        let rebase = Fixup {
            addr: 0x4000,
            kind: FixupKind::Rebase { target: 0x1000 },
        };
        // `_b`'s first slot comes first; `_a` has an addend on one slot.
        let fixups = [
            rebase,
            weak(0x4010, 0, 0),
            weak(0x4008, 1, 0),
            weak(0x4018, 0, 4),
        ];
        let stream =
            encode_weak_binds(&[b"_s"], &fixups, &[import(b"_a"), import(b"_b")], &layout).unwrap();
        use macho::*;
        let set_sym = BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM;
        let mut want = vec![
            set_sym | BIND_SYMBOL_FLAGS_NON_WEAK_DEFINITION,
            b'_',
            b's',
            0,
        ];
        want.extend([
            set_sym,
            b'_',
            b'b',
            0,
            BIND_OPCODE_SET_TYPE_IMM | BIND_TYPE_POINTER,
        ]);
        want.extend([
            BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB,
            0x08,
            BIND_OPCODE_DO_BIND,
        ]);
        want.extend([
            set_sym,
            b'_',
            b'a',
            0,
            BIND_OPCODE_SET_TYPE_IMM | BIND_TYPE_POINTER,
        ]);
        want.extend([
            BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB,
            0x10,
            BIND_OPCODE_DO_BIND,
        ]);
        want.extend([BIND_OPCODE_SET_ADDEND_SLEB, 4]);
        want.extend([
            BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB,
            0x18,
            BIND_OPCODE_DO_BIND,
        ]);
        want.push(BIND_OPCODE_DONE);
        while want.len() % 8 != 0 {
            want.push(0);
        }
        assert_eq!(stream, want);
        let none = encode_weak_binds(&[], &[rebase], &[], &layout).unwrap();
        assert!(none.is_empty(), "nothing to say: no stream");
        let outside = encode_weak_binds(&[], &[weak(0x9000, 0, 0)], &[import(b"_a")], &layout);
        assert!(outside.is_err(), "a slot outside every segment");
    }

    #[test]
    fn header_flags_follow_lld() {
        let weak_bind = Fixup {
            addr: 0x1000,
            kind: FixupKind::WeakBind {
                import: 0,
                addend: 0,
            },
        };
        let lookup = Import {
            name: b"_f".to_vec(),
            ordinal: WEAK_LOOKUP_ORDINAL,
            weak: false,
        };
        let both = macho::MH_WEAK_DEFINES | macho::MH_BINDS_TO_WEAK;
        assert_eq!(header_flags(true, false, &[], &[], true), both);
        assert_eq!(
            header_flags(false, true, &[], &[], false),
            macho::MH_WEAK_DEFINES
        );
        assert_eq!(
            header_flags(false, false, &[weak_bind], &[], false),
            macho::MH_BINDS_TO_WEAK
        );
        assert_eq!(
            header_flags(false, false, &[], &[lookup], true),
            macho::MH_BINDS_TO_WEAK
        );
        assert_eq!(header_flags(false, false, &[], &[], true), 0);
    }
}
