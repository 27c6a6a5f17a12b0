//! Symbols the linker defines, as ld64 and lld do:
//!
//! - the image's mach header: `__mh_execute_header` in an executable
//!   (exported, in the symbol table), `__mh_dylib_header` in a dylib and
//!   `__mh_bundle_header` in a bundle (private, not in the symbol table);
//!   `___dso_handle` (the header too, private) in all three;
//! - section and segment boundaries: `section$start$SEG$SECT`,
//!   `section$end$SEG$SECT`, `segment$start$SEG`, `segment$end$SEG`
//!   (private, not in the symbol table). A section or segment named but
//!   missing is created empty, as lld does, so that its boundaries have an
//!   address;
//! - DTrace probe symbols (`___dtrace_probe...`, `___dtrace_isenabled...`),
//!   whose call sites are rewritten ([`crate::dtrace`]).
//!
//! A name is defined only when something refers to it and nothing else
//! defines it.

use crate::dtrace::ProbeCall;
use crate::error::{LinkError, Result};
use crate::layout::{Layout, OutSection};
use crate::options::{Options, OutputKind};
use crate::symbols::{Def, SymbolTable};
use object::macho;

/// A boundary symbol's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary<'a> {
    SectionStart(&'a str, &'a str),
    SectionEnd(&'a str, &'a str),
    SegmentStart(&'a str),
    SegmentEnd(&'a str),
}

impl<'a> Boundary<'a> {
    /// Reads `section$start$SEG$SECT` and friends; None for other names
    /// (or a name without its segment or section).
    pub fn parse(name: &'a [u8]) -> Option<Boundary<'a>> {
        let name = std::str::from_utf8(name).ok()?;
        let section = |rest: &'a str| {
            let (seg, sect) = rest.split_once('$')?;
            (!seg.is_empty() && !sect.is_empty()).then_some((seg, sect))
        };
        let segment = |rest: &'a str| (!rest.is_empty() && !rest.contains('$')).then_some(rest);
        if let Some(rest) = name.strip_prefix("section$start$") {
            section(rest).map(|(g, s)| Boundary::SectionStart(g, s))
        } else if let Some(rest) = name.strip_prefix("section$end$") {
            section(rest).map(|(g, s)| Boundary::SectionEnd(g, s))
        } else if let Some(rest) = name.strip_prefix("segment$start$") {
            segment(rest).map(Boundary::SegmentStart)
        } else if let Some(rest) = name.strip_prefix("segment$end$") {
            segment(rest).map(Boundary::SegmentEnd)
        } else {
            None
        }
    }

    /// The output section a section boundary names (`__DATA,__const` is
    /// in `__DATA_CONST` when the image has that segment, as for inputs).
    fn output_section(self, data_const: bool) -> Option<(String, String)> {
        let (seg, sect) = match self {
            Boundary::SectionStart(g, s) | Boundary::SectionEnd(g, s) => (g, s),
            _ => return None,
        };
        let (mut seg, sect) = crate::layout::output_section_name(seg, sect);
        if seg == "__DATA_CONST" && !data_const {
            seg = "__DATA".into();
        }
        Some((seg, sect))
    }

    /// Its address in the laid-out image.
    pub fn address(self, layout: &Layout) -> Option<u64> {
        match self {
            Boundary::SectionStart(..) | Boundary::SectionEnd(..) => {
                // Constant data is in __DATA when the image has no
                // __DATA_CONST segment.
                let data_const = layout.segments.iter().any(|s| s.name == "__DATA_CONST");
                let (seg, sect) = self.output_section(data_const)?;
                let s = layout
                    .sections
                    .iter()
                    .find(|s| s.segname == seg && s.sectname == sect)?;
                Some(match self {
                    Boundary::SectionStart(..) => s.addr,
                    _ => s.addr + s.size,
                })
            }
            Boundary::SegmentStart(name) => {
                Some(layout.segments.iter().find(|s| s.name == name)?.vmaddr)
            }
            Boundary::SegmentEnd(name) => {
                let s = layout.segments.iter().find(|s| s.name == name)?;
                Some(s.vmaddr + s.vmsize)
            }
        }
    }
}

/// An `-incremental` image keeps reserved room at the end of its sections,
/// and updates fill it: a boundary would not stay where a fresh link puts
/// it.
fn incremental_error(name: &[u8]) -> String {
    format!(
        "{} cannot be used with -incremental yet: sections keep reserved room that \
         updates fill, so their boundaries move; link without -incremental",
        String::from_utf8_lossy(name)
    )
}

/// The header symbol of this kind of output.
fn header_symbol(opts: &Options) -> &'static [u8] {
    match opts.output_kind {
        OutputKind::Executable => b"__mh_execute_header",
        OutputKind::Dylib => b"__mh_dylib_header",
        OutputKind::Bundle => b"__mh_bundle_header",
    }
}

/// Defines what is still undefined among the linker's symbols.
pub(crate) fn define(opts: &Options, symtab: &mut SymbolTable) {
    for name in [header_symbol(opts), b"___dso_handle"] {
        if let Some(id) = symtab.get(name) {
            if symtab.syms[id as usize].def == Def::Undefined {
                symtab.syms[id as usize].def = Def::Header;
            }
        }
    }
    for sym in &mut symtab.syms {
        if sym.def == Def::Undefined && Boundary::parse(sym.name).is_some() {
            sym.def = Def::Boundary;
        } else if sym.def == Def::Undefined && ProbeCall::of(sym.name).is_some() {
            sym.def = Def::Dtrace;
        }
    }
}

/// Adds an empty output section for every section boundary that names one
/// the image does not have (only for boundaries something live refers
/// to). Returns the segments that segment boundaries name and the image
/// lacks: layout adds them empty ([`crate::layout::add_empty_segments`]),
/// as lld does.
pub(crate) fn add_missing_sections(
    opts: &Options,
    symtab: &SymbolTable,
    sections: &mut Vec<OutSection>,
) -> Result<Vec<String>> {
    let data_const = opts.data_const();
    let mut added = false;
    let mut empty_segments: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for sym in symtab
        .syms
        .iter()
        .filter(|s| s.def == Def::Boundary && s.referenced)
    {
        let Some(b) = Boundary::parse(sym.name) else {
            continue;
        };
        match b {
            Boundary::SegmentStart(seg) | Boundary::SegmentEnd(seg) => {
                let has = sections.iter().any(|s| s.segname == seg);
                if opts.incremental {
                    errors.push(incremental_error(sym.name));
                } else if !has && !empty_segments.iter().any(|s| s == seg) {
                    empty_segments.push(seg.to_string());
                }
            }
            _ => {
                if opts.incremental {
                    errors.push(incremental_error(sym.name));
                    continue;
                }
                let (seg, sect) = b.output_section(data_const).expect("a section boundary");
                if !sections
                    .iter()
                    .any(|s| s.segname == seg && s.sectname == sect)
                {
                    sections.push(OutSection::for_atoms(seg, sect, macho::S_REGULAR, 0));
                    added = true;
                }
            }
        }
    }
    if added {
        crate::layout::sort_sections(sections);
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(empty_segments),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_names_are_read_as_lld_reads_them() {
        assert_eq!(
            Boundary::parse(b"section$start$__DATA$__mysect"),
            Some(Boundary::SectionStart("__DATA", "__mysect"))
        );
        assert_eq!(
            Boundary::parse(b"section$end$__TEXT$__text"),
            Some(Boundary::SectionEnd("__TEXT", "__text"))
        );
        assert_eq!(
            Boundary::parse(b"segment$start$__DATA"),
            Some(Boundary::SegmentStart("__DATA"))
        );
        assert_eq!(
            Boundary::parse(b"segment$end$__TEXT"),
            Some(Boundary::SegmentEnd("__TEXT"))
        );
        for bad in [
            &b"section$start$__DATA"[..],
            b"section$start$$x",
            b"segment$end$",
            b"segment$start$A$B",
            b"_main",
        ] {
            assert_eq!(
                Boundary::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
