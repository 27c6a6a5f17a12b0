//! `-order_file FILE`: functions and data placed in their sections in the
//! order the file lists their symbols, unlisted atoms after them in input
//! order. A line is a symbol name, optionally prefixed by `ARCH:` (lines
//! for another architecture are skipped) and/or `FILE.o:` (only that
//! object's symbol; an archive member is named by its member name); `#`
//! starts a comment.

use crate::error::{LinkError, Result};
use crate::input::object::ObjectFile;
use crate::layout::{Content, OutSection};
use rustc_hash::FxHashMap;
use std::path::Path;

/// The order file's entries: symbol name → (object filter, priority) list.
pub struct OrderFile {
    entries: FxHashMap<Vec<u8>, Vec<(Option<String>, usize)>>,
}

const ARCHES: &[&str] = &[
    "x86_64", "x86_64h", "arm64", "arm64e", "arm64_32", "i386", "armv7", "armv7s", "armv7k", "ppc",
    "ppc64",
];

impl OrderFile {
    pub fn read(path: &Path, arch: &str) -> Result<OrderFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            LinkError::file(path.display(), format!("cannot read -order_file: {e}"))
        })?;
        Ok(Self::parse(&text, arch))
    }

    pub fn parse(text: &str, arch: &str) -> OrderFile {
        let mut entries: FxHashMap<Vec<u8>, Vec<(Option<String>, usize)>> = Default::default();
        for (priority, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut rest = line;
            if let Some((a, tail)) = rest.split_once(':') {
                if ARCHES.contains(&a) {
                    if a != arch {
                        continue;
                    }
                    rest = tail;
                }
            }
            // `FILE.o:SYMBOL` (a symbol itself may not hold ".o:").
            let (file, sym) = match rest.find(".o:") {
                Some(i) => (Some(rest[..i + 2].to_string()), &rest[i + 3..]),
                None => (None, rest),
            };
            entries
                .entry(sym.as_bytes().to_vec())
                .or_default()
                .push((file, priority));
        }
        OrderFile { entries }
    }

    /// The priority of symbol `name` defined in `obj` (lower comes first).
    fn priority(&self, name: &[u8], obj: &ObjectFile) -> Option<usize> {
        let list = self.entries.get(name)?;
        list.iter()
            .filter(|(file, _)| file.as_deref().is_none_or(|f| object_is(obj, f)))
            .map(|&(_, p)| p)
            .min()
    }

    /// Sorts every atom section: listed atoms first, by their best
    /// priority, then the rest as they were (a stable sort).
    pub fn apply(&self, objects: &[ObjectFile], sections: &mut [OutSection]) {
        // Each atom's best priority over the symbols it holds.
        let prio: Vec<FxHashMap<u32, usize>> = objects
            .iter()
            .map(|obj| {
                let mut m: FxHashMap<u32, usize> = Default::default();
                for s in &obj.symbols {
                    if s.atom == crate::atom::NONE || s.is_stab() {
                        continue;
                    }
                    if let Some(p) = self.priority(s.name, obj) {
                        let e = m.entry(s.atom).or_insert(p);
                        *e = (*e).min(p);
                    }
                }
                m
            })
            .collect();
        for s in sections {
            if let Content::Atoms(list) = &mut s.content {
                list.sort_by_key(|&(f, a)| prio[f as usize].get(&a).copied().unwrap_or(usize::MAX));
            }
        }
    }
}

/// Whether `obj` is the object an order file line names: its file name,
/// or for an archive member (`lib.a(x.o)`) the member name.
fn object_is(obj: &ObjectFile, file: &str) -> bool {
    let name = obj.name.as_str();
    if let Some(member) = name
        .strip_suffix(')')
        .and_then(|n| n.rsplit_once('(').map(|(_, m)| m))
    {
        return member == file;
    }
    name == file || Path::new(name).file_name().is_some_and(|n| n == file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_arch_and_file_prefixes() {
        let o = OrderFile::parse(
            "# comment\n_a\nx86_64:_b\narm64:_c\nfoo.o:_d\nx86_64:bar.o:_e\n",
            "x86_64",
        );
        assert_eq!(o.entries[&b"_a"[..]], vec![(None, 1)]);
        assert_eq!(o.entries[&b"_b"[..]], vec![(None, 2)]);
        assert!(!o.entries.contains_key(&b"_c"[..]));
        assert_eq!(o.entries[&b"_d"[..]], vec![(Some("foo.o".into()), 4)]);
        assert_eq!(o.entries[&b"_e"[..]], vec![(Some("bar.o".into()), 5)]);
    }
}
