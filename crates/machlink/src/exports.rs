//! `-exported_symbols_list` / `-unexported_symbols_list`: which defined
//! globals the output exports. A symbol that is not exported stays in the
//! symbol table as a private external (like `__private_extern__`), and is
//! left out of the export trie. Lists hold one name per line, `#` starts a
//! comment, and `*`, `?` and `[...]` match as in ld64.

use crate::error::{LinkError, Result};
use crate::options::Options;
use std::path::Path;

#[derive(Debug, Default)]
pub struct ExportFilter {
    exported: Option<Vec<String>>,
    unexported: Vec<String>,
}

fn read_list(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LinkError::file(path.display(), format!("cannot read symbol list: {e}")))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

impl ExportFilter {
    pub fn from_options(opts: &Options) -> Result<ExportFilter> {
        // `-exported_symbol` / `-unexported_symbol` add single lines to
        // the lists; any `-exported_symbol` makes an export list.
        let mut exported = opts
            .exported_symbols_list
            .as_deref()
            .map(read_list)
            .transpose()?;
        if opts.no_exported_symbols {
            // An export list that matches nothing.
            exported = Some(Vec::new());
        }
        if !opts.exported_symbols.is_empty() {
            exported
                .get_or_insert_with(Vec::new)
                .extend(opts.exported_symbols.iter().cloned());
        }
        let mut unexported = match &opts.unexported_symbols_list {
            Some(p) => read_list(p)?,
            None => Vec::new(),
        };
        unexported.extend(opts.unexported_symbols.iter().cloned());
        Ok(ExportFilter {
            exported,
            unexported,
        })
    }

    /// Whether an export list (`-exported_symbols_list`,
    /// `-exported_symbol`) names `name`: that exports even a weak
    /// definition that can be hidden.
    pub fn listed(&self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        self.exported
            .as_ref()
            .is_some_and(|list| list.iter().any(|p| glob(p.as_bytes(), name.as_bytes())))
    }

    /// Whether a defined, non-private global is exported.
    pub fn exports(&self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        if let Some(list) = &self.exported {
            if !list.iter().any(|p| glob(p.as_bytes(), name.as_bytes())) {
                return false;
            }
        }
        !self
            .unexported
            .iter()
            .any(|p| glob(p.as_bytes(), name.as_bytes()))
    }
}

/// Whether an executable exports `__mh_execute_header`. lld treats it as
/// any other global: an export list that does not name it, or
/// `-no_exported_symbols`, leaves it out of the export trie and makes it a
/// private external in the symbol table.
pub fn header_exported(opts: &Options) -> bool {
    // A list that cannot be read has already failed the link in
    // `hide_unexported`; nothing is hidden without a filter.
    ExportFilter::from_options(opts).map_or(true, |f| f.exports(b"__mh_execute_header"))
}

/// ld64's wildcard match: `*` any run, `?` one character, `[abc]` / `[a-z]`
/// one of a set.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&pat[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&pat[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = pat.iter().position(|&c| c == b']') else {
                return s.first() == Some(&b'[') && glob(&pat[1..], &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let set = &pat[1..end];
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit && glob(&pat[end + 1..], &s[1..])
        }
        Some(&p) => s.first() == Some(&p) && glob(&pat[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn wildcards_match_like_ld64() {
        assert!(glob(b"_foo*", b"_foobar"));
        assert!(glob(b"_f?o", b"_fxo"));
        assert!(glob(b"_[a-c]x", b"_bx"));
        assert!(!glob(b"_[a-c]x", b"_dx"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"_main", b"_mainx"));
    }
}
