//! Reader for Apple TAPI text stubs (`.tbd`).
//!
//! A text stub describes a dylib (install name, versions, re-exported
//! libraries, exported symbols) without its code, which is all a static
//! linker needs to bind against it. Two formats exist in the wild and both are
//! read here:
//!
//! * **v1, v2, v3**: YAML, `---` (v1, or `--- !tapi-tbd-v1`),
//!   `--- !tapi-tbd-v2` or `--- !tapi-tbd-v3` documents. A document names
//!   its `archs` and one `platform`; its `exports` sections are keyed by
//!   arch and list re-exported libraries (`re-exports`) next to symbols.
//!   v3 files may inline re-exported libraries as further documents.
//! * **v4**: YAML, one `--- !tapi-tbd` document per library, several
//!   documents per file (an umbrella such as libSystem inlines its
//!   sub-libraries), the stream ending with `...`. Parsed with `yaml-rust2`.
//! * **v5**: JSON, one object with `main_library` and an optional
//!   `libraries` array of inlined libraries. Parsed with `serde_json`.
//!
//! Every list in a v4/v5 stub is keyed by *targets* (`x86_64-macos`,
//! `arm64e-macos`, …). [`parse_tbd`] keeps only what applies to the one
//! target being linked, matching target strings exactly: `arm64` is not
//! `arm64e`, and `x86_64-macos` is not `x86_64-maccatalyst`.
//! [`parse_tbd_for`] also takes the entries of targets compatible with it
//! (an `arm64` link uses `arm64e` entries, as ld64.lld does). For v1–v3 the
//! target is split into its arch (`x86_64`, matched exactly) and platform
//! (`macos` is written `macosx`, or `zippered` for a macOS + Mac Catalyst
//! library).
//!
//! Symbol names come out as Mach-O symbol names, the way ld64 and llvm's
//! TextAPI see them: plain symbols keep the leading underscore written in the
//! file (in every version), Objective-C entries, written bare (v3–v5) or
//! with a leading underscore (v1, v2: `_NSString`), are expanded to the
//! symbols the objc2 ABI defines for them.

mod flow;
mod node;

use rustc_hash::FxHashSet;
use std::fmt;

/// One library described by a .tbd document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TbdLibrary {
    pub install_name: String,
    /// Packed as ld64 does: X.Y.Z -> (X << 16) | (Y << 8) | Z; missing -> 1.0.0 = 0x10000.
    pub current_version: u32,
    /// Same packing; missing -> 0x10000.
    pub compatibility_version: u32,
    /// Install names of libraries this one re-exports (for the requested target).
    pub reexported_libraries: Vec<String>,
    /// Exported symbols for the requested target, with Mach-O names (leading underscore as in the file;
    /// objc classes expanded to `_OBJC_CLASS_$_X` and `_OBJC_METACLASS_$_X`, objc-eh-types to `_OBJC_EHTYPE_$_X`,
    /// objc-ivars to `_OBJC_IVAR_$_X`). Symbols a library re-exports from others (`re-exports` or `reexports` in v4,
    /// `reexported_symbols` in v5) are included. Each name appears once, with the flags of its first listing.
    pub exports: Vec<TbdSymbol>,
}

/// One exported symbol of a [`TbdLibrary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TbdSymbol {
    pub name: String,
    /// A weak definition (listed under `weak-symbols` / `weak`).
    pub weak: bool,
    /// A thread-local variable (listed under `thread-local-symbols` / `thread_local`).
    pub thread_local: bool,
}

/// Why a .tbd file could not be read. `what` names the place: the document
/// (1-based, "document 3 of 40") or JSON library, the key, and a line number
/// where one is known.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct TbdError {
    pub what: String,
}

impl TbdError {
    fn new(what: impl Into<String>) -> Self {
        TbdError { what: what.into() }
    }
}

/// The version ld64 assumes when a stub gives none: 1.0.0.
const DEFAULT_VERSION: u32 = 0x1_0000;

/// Parses every document of a .tbd file and keeps what applies to `target` (e.g. "x86_64-macos", "arm64-macos").
/// Documents that do not list `target` are omitted from the result. Returns an error for malformed input
/// (bad YAML/JSON, missing install-name, unsupported tbd-version, wrong types), never panics.
pub fn parse_tbd(text: &[u8], target: &str) -> Result<Vec<TbdLibrary>, TbdError> {
    parse_tbd_for(
        text,
        &Wanted {
            target,
            compatible: &[],
        },
    )
}

/// The target a stub is read for, and other targets whose entries serve
/// it as well. ld64.lld takes any arch of the same CPU type on the same
/// platform (`isArchABICompatible`): current SDKs list libSystem for
/// `arm64e-macos` only, and `-arch arm64` links use it.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'t> {
    pub target: &'t str,
    pub compatible: &'t [&'t str],
}

impl Wanted<'_> {
    fn matches(&self, listed: &str) -> bool {
        listed == self.target || self.compatible.contains(&listed)
    }

    /// For v1-v3 documents, which name archs and a platform apart.
    fn arch_matches(&self, arch: &str) -> bool {
        std::iter::once(&self.target)
            .chain(self.compatible)
            .any(|t| t.split_once('-').map_or(*t, |(a, _)| a) == arch)
    }
}

/// [`parse_tbd`] for a target and the targets compatible with it.
pub fn parse_tbd_for(text: &[u8], target: &Wanted) -> Result<Vec<TbdLibrary>, TbdError> {
    let mut libraries = parse_tbd_listings(text, target)?;
    for library in &mut libraries {
        dedup_exports(&mut library.exports);
    }
    Ok(libraries)
}

/// [`parse_tbd_for`], except that a name listed more than once (say, in
/// sections for different target sets) comes out as often, in file order:
/// for a caller that keeps the first listing of a name itself.
pub(crate) fn parse_tbd_listings(
    text: &[u8],
    target: &Wanted,
) -> Result<Vec<TbdLibrary>, TbdError> {
    let text = std::str::from_utf8(text).map_err(|e| {
        TbdError::new(format!(
            "tbd: not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A v5 stub is a JSON object; v1-v4 stubs are YAML documents. YAML
    // could in principle also start with a flow mapping `{`, but no TAPI
    // version writes one, so the first character decides.
    if text.trim_start().starts_with('{') {
        v5::parse(text, target)
    } else {
        yaml::parse(text, target)
    }
}

/// How a v1-v3 document names what a target string names: the arch and
/// the `platform` values that include the target's platform. `None` for a
/// target string without an arch part.
fn legacy_target(target: &str) -> Option<(&str, &'static [&'static str])> {
    let (arch, platform) = target.split_once('-')?;
    let platforms: &'static [&'static str] = match platform {
        "macos" => &["macosx", "zippered"],
        "maccatalyst" => &["maccatalyst", "iosmac", "zippered"],
        "ios" | "ios-simulator" => &["ios"],
        "tvos" | "tvos-simulator" => &["tvos"],
        "watchos" | "watchos-simulator" => &["watchos"],
        "bridgeos" => &["bridgeos"],
        "driverkit" => &["driverkit"],
        _ => &[],
    };
    Some((arch, platforms))
}

/// The `platform` values v1-v3 documents may hold.
const LEGACY_PLATFORMS: [&str; 9] = [
    "macosx",
    "ios",
    "tvos",
    "watchos",
    "bridgeos",
    "iosmac",
    "maccatalyst",
    "zippered",
    "driverkit",
];

/// Packs a version string the way ld64 and llvm's `PackedVersion::parse32` do:
/// `X[.Y[.Z]]` with X < 2^16 and Y, Z < 2^8, into `X << 16 | Y << 8 | Z`.
/// Returns `None` when the string is not of that form.
pub(crate) fn parse_packed_version(text: &str) -> Option<u32> {
    let mut parts = text.split('.');
    let major: u32 = parse_decimal(parts.next()?)?;
    if major > 0xffff {
        return None;
    }
    let mut packed = major << 16;
    for shift in [8, 0] {
        let Some(part) = parts.next() else { break };
        let value = parse_decimal(part)?;
        if value > 0xff {
            return None;
        }
        packed |= value << shift;
    }
    // A fourth component does not fit in 32 bits.
    parts.next().is_none().then_some(packed)
}

/// Digits only: `str::parse` would also accept a leading `+`.
fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// How a name listed in a stub turns into Mach-O symbols.
#[derive(Debug, Clone, Copy)]
enum SymbolKind {
    Global,
    Weak,
    ThreadLocal,
    ObjcClass,
    ObjcEhType,
    ObjcIvar,
}

/// Collects the exports of one library, expanding Objective-C names.
#[derive(Default)]
struct ExportSink {
    exports: Vec<TbdSymbol>,
}

impl ExportSink {
    /// Adds what a listed name stands for. A plain name is taken as it is
    /// (stubs list thousands: no copy).
    fn add(&mut self, kind: SymbolKind, name: String) {
        match kind {
            SymbolKind::Global => self.push(name, false, false),
            SymbolKind::Weak => self.push(name, true, false),
            SymbolKind::ThreadLocal => self.push(name, false, true),
            SymbolKind::ObjcClass | SymbolKind::ObjcEhType | SymbolKind::ObjcIvar => {
                self.add_objc(kind, &name)
            }
        }
    }

    /// The symbols of an Objective-C entry (`kind` is one of the `Objc`
    /// kinds).
    fn add_objc(&mut self, kind: SymbolKind, name: &str) {
        match kind {
            // The objc2 ABI (every 64-bit target) defines a class through
            // both its class and its metaclass object.
            SymbolKind::ObjcClass => {
                self.push(format!("_OBJC_CLASS_$_{name}"), false, false);
                self.push(format!("_OBJC_METACLASS_$_{name}"), false, false);
            }
            SymbolKind::ObjcEhType => self.push(format!("_OBJC_EHTYPE_$_{name}"), false, false),
            _ => self.push(format!("_OBJC_IVAR_$_{name}"), false, false),
        }
    }

    fn push(&mut self, name: String, weak: bool, thread_local: bool) {
        self.exports.push(TbdSymbol {
            name,
            weak,
            thread_local,
        });
    }

    fn finish(self) -> Vec<TbdSymbol> {
        self.exports
    }
}

/// Keeps each name once, with its first listing: a name may be listed in
/// several sections (say, one per target set) and the linker wants one
/// definition. Duplicates are rare, so a set of borrowed names finds
/// whether there are any before paying for an order-keeping pass.
fn dedup_exports(exports: &mut Vec<TbdSymbol>) {
    let mut names = FxHashSet::with_capacity_and_hasher(exports.len(), Default::default());
    if exports.iter().all(|s| names.insert(s.name.as_str())) {
        return;
    }
    let mut seen = FxHashSet::default();
    exports.retain(|symbol| seen.insert(symbol.name.clone()));
}

/// Versions 1-4: YAML documents.
mod yaml {
    use super::node::{self, Node};
    use super::*;
    use rayon::prelude::*;
    use std::sync::OnceLock;
    use yaml_rust2::Yaml;

    /// A mapping's entries.
    type Map = Vec<(Yaml, Node)>;

    /// The symbol lists of an `exports` / `re-exports` section.
    const SYMBOL_KEYS: [(&str, SymbolKind); 6] = [
        ("symbols", SymbolKind::Global),
        ("weak-symbols", SymbolKind::Weak),
        ("thread-local-symbols", SymbolKind::ThreadLocal),
        ("objc-classes", SymbolKind::ObjcClass),
        ("objc-eh-types", SymbolKind::ObjcEhType),
        ("objc-ivars", SymbolKind::ObjcIvar),
    ];

    pub(super) fn parse(text: &str, target: &Wanted) -> Result<Vec<TbdLibrary>, TbdError> {
        // Only errors and v1-v3 tags need the documents' places in the text.
        let spans = OnceLock::new();
        match parse_split(text, target, &spans) {
            Some(libraries) => libraries,
            None => parse_whole(text, target, &spans),
        }
    }

    /// Reads the file as one YAML stream.
    pub(super) fn parse_whole(
        text: &str,
        target: &Wanted,
        spans: &OnceLock<Vec<Span>>,
    ) -> Result<Vec<TbdLibrary>, TbdError> {
        let docs =
            node::load(text).map_err(|e| TbdError::new(format!("tbd: invalid YAML: {e}")))?;
        if docs.is_empty() {
            return Err(TbdError::new("tbd: the file holds no document"));
        }
        let count = docs.len();
        let mut libraries = Vec::new();
        for (index, yaml) in docs.into_iter().enumerate() {
            let doc = Doc {
                index,
                count,
                spans,
                text,
            };
            if let Some(library) = parse_document(&doc, yaml, target)? {
                libraries.push(library);
            }
        }
        Ok(libraries)
    }

    /// Reads a stub of several documents one document per rayon task: an
    /// umbrella such as libSystem is forty of them, and the YAML scanner,
    /// which reads a character at a time, is most of a small link's work.
    ///
    /// YAML makes a `---` at the start of a line a document marker wherever
    /// it is (a flow collection or quoted scalar around it is an error), so
    /// the text between two markers is a stream of its own with the same
    /// events. This holds when the file starts with a marker and has no
    /// directives (`%TAG` applies to the next document); else, or when any
    /// piece does not hold exactly one document or is not valid YAML, the
    /// whole file is read in one piece (`None`), which also words the errors
    /// as that reading does. Errors about a document's content come out
    /// the same either way: the first one in file order, once the whole
    /// file is known to be valid YAML.
    pub(super) fn parse_split(
        text: &str,
        target: &Wanted,
        spans: &OnceLock<Vec<Span>>,
    ) -> Option<Result<Vec<TbdLibrary>, TbdError>> {
        let starts = split_points(text)?;
        if starts.len() < 2 {
            return None;
        }
        let count = starts.len();
        let ends = starts.iter().skip(1).copied().chain([text.len()]);
        let pieces: Vec<(usize, usize)> = starts.iter().copied().zip(ends).collect();
        let read = |index: usize| {
            let (start, end) = pieces[index];
            let mut docs = node::load(&text[start..end]).ok()?;
            let yaml = docs.pop().filter(|_| docs.is_empty())?;
            let doc = Doc {
                index,
                count,
                spans,
                text,
            };
            Some(parse_document(&doc, yaml, target))
        };
        let results: Vec<Option<Result<Option<TbdLibrary>, TbdError>>> = task_groups(&pieces)
            .into_par_iter()
            .map(|group| group.map(read).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect();
        let results: Vec<_> = results.into_iter().collect::<Option<_>>()?;
        let libraries = results.into_iter().filter_map(Result::transpose);
        Some(libraries.collect())
    }

    /// The documents (as ranges of indexes into `pieces`) each rayon task
    /// reads: runs of about the same size in bytes, two per thread, so that
    /// work moves between threads a few times rather than forty (the
    /// largest document is a seventh of libSystem's stub).
    fn task_groups(pieces: &[(usize, usize)]) -> Vec<std::ops::Range<usize>> {
        let total: usize = pieces.iter().map(|&(start, end)| end - start).sum();
        let tasks = (rayon::current_num_threads() * 2).clamp(1, pieces.len());
        let share = total.div_ceil(tasks);
        let mut groups = Vec::with_capacity(tasks);
        let (mut first, mut bytes) = (0, 0);
        for (index, &(start, end)) in pieces.iter().enumerate() {
            bytes += end - start;
            if bytes >= share {
                groups.push(first..index + 1);
                (first, bytes) = (index + 1, 0);
            }
        }
        if first < pieces.len() {
            groups.push(first..pieces.len());
        }
        groups
    }

    /// The byte offsets of the document markers (`---` then a blank or the
    /// end of a line, as the YAML scanner knows them) when the text can be
    /// split there: it starts with one, and no line is a directive or
    /// starts with `---` followed by anything else (which
    /// [`document_spans`] might count differently from the scanner).
    fn split_points(text: &str) -> Option<Vec<usize>> {
        let bytes = text.as_bytes();
        let mut starts = Vec::new();
        let mut line = 0;
        loop {
            let rest = &bytes[line..];
            match rest.first() {
                Some(b'%') => return None,
                Some(b'-') if rest.starts_with(b"---") => match rest.get(3) {
                    None | Some(b' ' | b'\t' | b'\r' | b'\n') => starts.push(line),
                    Some(_) => return None,
                },
                _ => {}
            }
            match memchr::memchr(b'\n', rest) {
                Some(at) => line += at + 1,
                None => break,
            }
        }
        (starts.first() == Some(&0)).then_some(starts)
    }

    /// Where one document sits in the file, for error messages: its first
    /// line (1-based) and its byte range.
    #[derive(Clone, Copy)]
    pub(super) struct Span {
        line: usize,
        start: usize,
        end: usize,
    }

    /// Finds the documents' spans from their `---` markers. The YAML library
    /// returns plain values without positions, so semantic errors (a missing
    /// key, a wrong type) get their line from here. YAML forbids `---` at the
    /// start of a line inside content, so the markers are unambiguous; the
    /// first document may also start without one.
    fn document_spans(text: &str, count: usize) -> Vec<Span> {
        let mut starts = Vec::new(); // (line, byte offset) of each marker
        let mut offset = 0;
        for (number, line) in text.split_inclusive('\n').enumerate() {
            let rest = line.strip_prefix("---");
            if rest.is_some_and(|r| r.is_empty() || r.starts_with(|c: char| c.is_whitespace())) {
                starts.push((number + 1, offset));
            }
            offset += line.len();
        }
        if starts.len() + 1 == count {
            starts.insert(0, (1, 0));
        }
        if starts.len() != count {
            return Vec::new(); // Unusual layout: report errors without lines.
        }
        let ends = starts
            .iter()
            .skip(1)
            .map(|&(_, start)| start)
            .chain([text.len()]);
        starts
            .iter()
            .zip(ends)
            .map(|(&(line, start), end)| Span { line, start, end })
            .collect()
    }

    /// The document being read, to word errors.
    struct Doc<'t> {
        index: usize,
        count: usize,
        /// All documents' spans, found when first needed.
        spans: &'t OnceLock<Vec<Span>>,
        text: &'t str,
    }

    impl Doc<'_> {
        fn span(&self) -> Option<Span> {
            let spans = self
                .spans
                .get_or_init(|| document_spans(self.text, self.count));
            spans.get(self.index).copied()
        }

        /// An error about `key` (a path such as `exports[2].objc-classes`).
        fn error(&self, key: &str, message: impl fmt::Display) -> TbdError {
            let line = self.key_line(key).or(self.span().map(|s| s.line));
            self.error_at(line, format!(", key `{key}`: {message}"))
        }

        /// An error about the document as a whole.
        fn document_error(&self, message: impl fmt::Display) -> TbdError {
            self.error_at(self.span().map(|s| s.line), format!(": {message}"))
        }

        fn error_at(&self, line: Option<usize>, rest: String) -> TbdError {
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            TbdError::new(format!(
                "tbd document {} of {}{at}{rest}",
                self.index + 1,
                self.count
            ))
        }

        /// The tag written after the document's `---` marker
        /// (`!tapi-tbd-v3`), if any.
        fn tag(&self) -> Option<&str> {
            let span = self.span()?;
            let first = self.text.get(span.start..span.end)?.lines().next()?;
            let rest = first.strip_prefix("---")?.trim_start();
            rest.starts_with('!')
                .then(|| rest.split_whitespace().next())
                .flatten()
        }

        /// The line of the top-level key that `path` starts with.
        fn key_line(&self, path: &str) -> Option<usize> {
            let span = self.span()?;
            let key = path.split(['[', '.']).next()?;
            let body = self.text.get(span.start..span.end)?;
            body.lines()
                .position(|line| line.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
                .map(|i| span.line + i)
        }
    }

    /// One document. It is taken apart as it is read: symbol names move
    /// into the library.
    fn parse_document(
        doc: &Doc,
        yaml: Node,
        target: &Wanted,
    ) -> Result<Option<TbdLibrary>, TbdError> {
        let Node::Map(mut map) = yaml else {
            return Err(doc.document_error(format!(
                "expected a mapping of tbd keys, found {}",
                describe(&yaml)
            )));
        };
        if get(&map, "tbd-version").is_none() {
            if let Some(version) = legacy_version(doc, &map)? {
                return parse_legacy_document(doc, &mut map, version, target);
            }
        }
        check_version(doc, &map)?;
        let targets = string_list(doc, &"targets", required(doc, &map, "targets")?)?;
        let listed = targets.iter().any(|t| target.matches(t));
        let install_name = string(doc, "install-name", required(doc, &map, "install-name")?)?;
        let install_name = install_name.to_owned();
        let current_version = version_of(doc, &map, "current-version")?;
        let compatibility_version = version_of(doc, &map, "compatibility-version")?;
        let reexported_libraries = reexported_libraries(doc, &mut map, target)?;
        let mut sink = ExportSink::default();
        for key in ["exports", "re-exports", "reexports"] {
            collect_exports(doc, &mut map, key, target, &mut sink)?;
        }
        // The whole document is validated before deciding it does not
        // apply, so a broken stub is reported whatever the target.
        if !listed {
            return Ok(None);
        }
        Ok(Some(TbdLibrary {
            install_name,
            current_version,
            compatibility_version,
            reexported_libraries,
            exports: sink.finish(),
        }))
    }

    /// The symbol lists of a v1-v3 `exports` section.
    const LEGACY_SYMBOL_KEYS: [(&str, SymbolKind); 6] = [
        ("symbols", SymbolKind::Global),
        ("weak-def-symbols", SymbolKind::Weak),
        ("thread-local-symbols", SymbolKind::ThreadLocal),
        ("objc-classes", SymbolKind::ObjcClass),
        ("objc-eh-types", SymbolKind::ObjcEhType),
        ("objc-ivars", SymbolKind::ObjcIvar),
    ];

    /// The lists of a v1-v3 `undefineds` section (validated, not used).
    const LEGACY_UNDEFINED_KEYS: [&str; 5] = [
        "symbols",
        "objc-classes",
        "objc-eh-types",
        "objc-ivars",
        "weak-ref-symbols",
    ];

    /// The version of a document without `tbd-version`: its tag says
    /// (`!tapi-tbd-v2`, `!tapi-tbd-v3`); v1 has no tag (or `!tapi-tbd-v1`)
    /// and is known by its `archs` key. `None`: not a v1-v3 document.
    fn legacy_version(doc: &Doc, map: &Map) -> Result<Option<u8>, TbdError> {
        match doc.tag() {
            Some("!tapi-tbd-v1") => Ok(Some(1)),
            Some("!tapi-tbd-v2") => Ok(Some(2)),
            Some("!tapi-tbd-v3") => Ok(Some(3)),
            Some(tag) if tag.starts_with("!tapi-tbd-v") => Err(doc.document_error(format!(
                "unsupported tag `{tag}` (YAML stubs are !tapi-tbd-v1 to -v3, or !tapi-tbd with `tbd-version: 4`)"
            ))),
            None if get(map, "archs").is_some() => Ok(Some(1)),
            _ => Ok(None),
        }
    }

    /// A v1-v3 document: `archs` and `platform` instead of `targets`;
    /// `exports` sections keyed by `archs`, listing re-exported libraries
    /// as well as symbols.
    fn parse_legacy_document(
        doc: &Doc,
        map: &mut Map,
        version: u8,
        target: &Wanted,
    ) -> Result<Option<TbdLibrary>, TbdError> {
        let archs = string_list(doc, &"archs", required(doc, map, "archs")?)?;
        let listed = archs.iter().any(|a| target.arch_matches(a));
        let platform = string(doc, "platform", required(doc, map, "platform")?)?;
        let Some(&platform) = LEGACY_PLATFORMS.iter().find(|&&p| p == platform) else {
            return Err(doc.error(
                "platform",
                format!(
                    "unknown platform `{platform}` (expected one of {})",
                    LEGACY_PLATFORMS.join(", ")
                ),
            ));
        };
        let install_name = string(doc, "install-name", required(doc, map, "install-name")?)?;
        let install_name = install_name.to_owned();
        let current_version = version_of(doc, map, "current-version")?;
        let compatibility_version = version_of(doc, map, "compatibility-version")?;
        if let Some(umbrella) = get(map, "parent-umbrella") {
            string(doc, "parent-umbrella", umbrella)?;
        }
        let (_, platforms) = legacy_target(target.target).unwrap_or((target.target, &[]));
        let platform_applies = platforms.contains(&platform);

        let mut reexported_libraries: Vec<String> = Vec::new();
        let mut sink = ExportSink::default();
        for (path, section) in sections(doc, map, "exports")? {
            let applies = section_archs(doc, &path, section)?
                .iter()
                .any(|a| target.arch_matches(a))
                && platform_applies;
            for key in ["allowed-clients", "allowable-clients"] {
                if let Some(list) = get(section, key) {
                    string_list(doc, &format_args!("{path}.{key}"), list)?;
                }
            }
            if let Some(list) = get(section, "re-exports") {
                let names = string_list(doc, &format_args!("{path}.re-exports"), list)?;
                if applies {
                    for name in names {
                        if !reexported_libraries.iter().any(|l| l == name) {
                            reexported_libraries.push(name.to_owned());
                        }
                    }
                }
            }
            for (list_key, kind) in LEGACY_SYMBOL_KEYS {
                let Some(list) = get_mut(section, list_key) else {
                    continue;
                };
                let names = take_string_list(doc, &format_args!("{path}.{list_key}"), list)?;
                if !applies {
                    continue;
                }
                // v1 and v2 write Objective-C class and ivar names with the
                // underscore of the class's C-level name: `_NSString`.
                let strip =
                    version < 3 && matches!(kind, SymbolKind::ObjcClass | SymbolKind::ObjcIvar);
                for name in names {
                    match name.strip_prefix('_') {
                        Some(bare) if strip => sink.add_objc(kind, bare),
                        _ => sink.add(kind, name),
                    }
                }
            }
        }
        for (path, section) in sections(doc, map, "undefineds")? {
            section_archs(doc, &path, section)?;
            for key in LEGACY_UNDEFINED_KEYS {
                if let Some(list) = get(section, key) {
                    string_list(doc, &format_args!("{path}.{key}"), list)?;
                }
            }
        }
        // As for v4, the whole document is validated first.
        if !platform_applies || !listed {
            return Ok(None);
        }
        Ok(Some(TbdLibrary {
            install_name,
            current_version,
            compatibility_version,
            reexported_libraries,
            exports: sink.finish(),
        }))
    }

    /// A v1-v3 section's `archs` list (required).
    fn section_archs<'y>(
        doc: &Doc,
        path: &SectionPath,
        section: &'y Map,
    ) -> Result<Vec<&'y str>, TbdError> {
        let Some(list) = get(section, "archs") else {
            return Err(doc.error(&format!("{path}.archs"), "missing"));
        };
        string_list(doc, &format_args!("{path}.archs"), list)
    }

    fn check_version(doc: &Doc, map: &Map) -> Result<(), TbdError> {
        let Some(version) = get(map, "tbd-version") else {
            return Err(doc.error(
                "tbd-version",
                "missing (a `--- !tapi-tbd` document gives `tbd-version: 4`; v1-v3 documents are tagged `!tapi-tbd-v2`, `!tapi-tbd-v3` or untagged with `archs`)",
            ));
        };
        if version.scalar() == Some(Yaml::Integer(4)) {
            return Ok(());
        }
        Err(doc.error(
            "tbd-version",
            format!(
                "unsupported version {} (YAML stubs must be version 4, JSON stubs version 5)",
                describe(version)
            ),
        ))
    }

    fn reexported_libraries(
        doc: &Doc,
        map: &mut Map,
        target: &Wanted,
    ) -> Result<Vec<String>, TbdError> {
        let mut libraries = Vec::new();
        for (path, section) in sections(doc, map, "reexported-libraries")? {
            let applies = section_applies(doc, &path, section, target)?;
            let names = match get_mut(section, "libraries") {
                Some(list) => take_string_list(doc, &format_args!("{path}.libraries"), list)?,
                None => names(Vec::new()),
            };
            if applies {
                libraries.extend(names);
            }
        }
        Ok(libraries)
    }

    fn collect_exports(
        doc: &Doc,
        map: &mut Map,
        key: &str,
        target: &Wanted,
        sink: &mut ExportSink,
    ) -> Result<(), TbdError> {
        for (path, section) in sections(doc, map, key)? {
            let applies = section_applies(doc, &path, section, target)?;
            for (list_key, kind) in SYMBOL_KEYS {
                let Some(list) = get_mut(section, list_key) else {
                    continue;
                };
                let names = take_string_list(doc, &format_args!("{path}.{list_key}"), list)?;
                if applies {
                    sink.exports.reserve(names.size_hint().1.unwrap_or(0));
                    names.for_each(|name| sink.add(kind, name));
                }
            }
        }
        Ok(())
    }

    /// The mappings of a list-of-sections key such as `exports`, each with
    /// its path for error messages. A missing key is an empty list.
    /// Where a section is, for errors: `exports[2]`.
    struct SectionPath<'k> {
        key: &'k str,
        index: usize,
    }

    impl fmt::Display for SectionPath<'_> {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "{}[{}]", self.key, self.index)
        }
    }

    fn sections<'y, 'k>(
        doc: &Doc,
        map: &'y mut Map,
        key: &'k str,
    ) -> Result<Vec<(SectionPath<'k>, &'y mut Map)>, TbdError> {
        let Some(value) = get_mut(map, key) else {
            return Ok(Vec::new());
        };
        let Node::List(items) = value else {
            return Err(doc.error(
                key,
                format!("expected a list of sections, found {}", describe(value)),
            ));
        };
        items
            .iter_mut()
            .enumerate()
            .map(|(index, item)| {
                let path = SectionPath { key, index };
                match item {
                    Node::Map(section) => Ok((path, section)),
                    other => Err(doc.error(
                        &path.to_string(),
                        format!("expected a mapping, found {}", describe(other)),
                    )),
                }
            })
            .collect()
    }

    /// Whether a section's own `targets` list names `target`.
    fn section_applies(
        doc: &Doc,
        path: &SectionPath,
        section: &Map,
        target: &Wanted,
    ) -> Result<bool, TbdError> {
        let Some(list) = get(section, "targets") else {
            return Err(doc.error(&format!("{path}.targets"), "missing"));
        };
        Ok(string_list(doc, &format_args!("{path}.targets"), list)?
            .iter()
            .any(|t| target.matches(t)))
    }

    /// A version key: YAML reads `1359` as an integer, `1.2` as a float
    /// (kept as its source text, so `1.10` stays 1.10) and `1.2.3` as a
    /// string; all are the same dotted notation.
    fn version_of(doc: &Doc, map: &Map, key: &str) -> Result<u32, TbdError> {
        let Some(value) = get(map, key) else {
            return Ok(DEFAULT_VERSION);
        };
        let text = match value.scalar() {
            Some(Yaml::Integer(n)) => n.to_string(),
            Some(Yaml::Real(s) | Yaml::String(s)) => s,
            _ => {
                return Err(doc.error(
                    key,
                    format!("expected a version, found {}", describe(value)),
                ))
            }
        };
        parse_packed_version(&text).ok_or_else(|| {
            doc.error(
                key,
                format!(
                    "invalid version `{text}` (expected X[.Y[.Z]] with X < 65536 and Y, Z < 256)"
                ),
            )
        })
    }

    fn required<'y>(doc: &Doc, map: &'y Map, key: &str) -> Result<&'y Node, TbdError> {
        get(map, key).ok_or_else(|| doc.error(key, "missing"))
    }

    /// The value of a string key, as the YAML library's `Hash::get` finds it
    /// (stub mappings hold a handful of keys: a scan is cheapest).
    fn get<'y>(map: &'y Map, key: &str) -> Option<&'y Node> {
        map.iter()
            .find(|(k, _)| matches!(k, Yaml::String(s) if s == key))
            .map(|(_, value)| value)
    }

    fn get_mut<'y>(map: &'y mut Map, key: &str) -> Option<&'y mut Node> {
        map.iter_mut()
            .find(|(k, _)| matches!(k, Yaml::String(s) if s == key))
            .map(|(_, value)| value)
    }

    fn string<'y>(doc: &Doc, key: &str, value: &'y Node) -> Result<&'y str, TbdError> {
        value
            .as_str()
            .ok_or_else(|| doc.error(key, format!("expected a string, found {}", describe(value))))
    }

    /// A list of strings. Names are taken only from YAML strings: a plain
    /// scalar that YAML reads as a number or boolean is not a symbol name
    /// and is reported rather than silently reformatted. `key` (like that
    /// of [`take_string_list`] and [`string_items`]) is formatted only for
    /// an error.
    fn string_list<'y>(
        doc: &Doc,
        key: &dyn fmt::Display,
        value: &'y Node,
    ) -> Result<Vec<&'y str>, TbdError> {
        let items = string_items(doc, key, value)?;
        Ok(items.iter().filter_map(Node::as_str).collect())
    }

    /// The strings of a list, moved out of the document as they are used.
    type Names = std::iter::FilterMap<std::vec::IntoIter<Node>, fn(Node) -> Option<String>>;

    fn names(items: Vec<Node>) -> Names {
        items.into_iter().filter_map(Node::into_string)
    }

    /// [`string_list`], moving the strings out of the document (symbol
    /// lists are long) without collecting them again.
    fn take_string_list(
        doc: &Doc,
        key: &dyn fmt::Display,
        value: &mut Node,
    ) -> Result<Names, TbdError> {
        string_items(doc, key, value)?;
        let items = match value {
            Node::List(items) => std::mem::take(items),
            _ => Vec::new(), // string_items checked it is a list
        };
        Ok(names(items))
    }

    /// The items of a list whose items are all strings.
    fn string_items<'y>(
        doc: &Doc,
        key: &dyn fmt::Display,
        value: &'y Node,
    ) -> Result<&'y [Node], TbdError> {
        let Node::List(items) = value else {
            return Err(doc.error(
                &key.to_string(),
                format!("expected a list of strings, found {}", describe(value)),
            ));
        };
        // The element's path is formatted only on error: lists hold
        // thousands of symbols.
        match items.iter().position(|item| item.as_str().is_none()) {
            None => Ok(items),
            Some(i) => Err(doc.error(
                &format!("{key}[{i}]"),
                format!("expected a string, found {}", describe(&items[i])),
            )),
        }
    }

    fn describe(node: &Node) -> String {
        match node.scalar() {
            None if matches!(node, Node::List(_)) => "a list".to_owned(),
            None => "a mapping".to_owned(),
            Some(Yaml::Real(s)) => format!("number {s}"),
            Some(Yaml::Integer(n)) => format!("integer {n}"),
            Some(Yaml::String(s)) => format!("string {s:?}"),
            Some(Yaml::Boolean(b)) => format!("boolean {b}"),
            Some(Yaml::Array(_)) => "a list".to_owned(),
            Some(Yaml::Hash(_)) => "a mapping".to_owned(),
            Some(Yaml::Alias(_)) => "an alias".to_owned(),
            Some(Yaml::Null) => "null".to_owned(),
            Some(Yaml::BadValue) => "nothing".to_owned(),
        }
    }
}

/// Version 5: one JSON object (see llvm's `TextStubV5.cpp` for the format).
mod v5 {
    use super::*;
    use serde::Deserialize;

    /// Only the version, read first so that another version's layout is
    /// reported as such rather than as a confusing missing field.
    #[derive(Deserialize)]
    struct VersionOnly {
        tapi_tbd_version: Option<serde_json::Value>,
    }

    #[derive(Deserialize)]
    struct File {
        main_library: Library,
        #[serde(default)]
        libraries: Vec<Library>,
    }

    /// One library. Keys we do not use (`flags`, `rpaths`,
    /// `parent_umbrellas`, `allowable_clients`, `swift_abi`,
    /// `undefined_symbols`, …) are skipped by serde.
    #[derive(Deserialize)]
    struct Library {
        target_info: Vec<TargetInfo>,
        install_names: Vec<InstallName>,
        #[serde(default)]
        current_versions: Vec<Version>,
        #[serde(default)]
        compatibility_versions: Vec<Version>,
        #[serde(default)]
        reexported_libraries: Vec<LibrarySection>,
        #[serde(default)]
        exported_symbols: Vec<SymbolSection>,
        #[serde(default)]
        reexported_symbols: Vec<SymbolSection>,
    }

    #[derive(Deserialize)]
    struct TargetInfo {
        target: String,
    }

    #[derive(Deserialize)]
    struct InstallName {
        name: String,
    }

    #[derive(Deserialize)]
    struct Version {
        version: VersionValue,
    }

    /// llvm writes versions as strings; a bare integer is accepted too.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum VersionValue {
        Text(String),
        Number(u64),
    }

    /// Sections without `targets` apply to all of the library's targets.
    #[derive(Deserialize)]
    struct LibrarySection {
        targets: Option<Vec<String>>,
        names: Vec<String>,
    }

    #[derive(Deserialize)]
    struct SymbolSection {
        targets: Option<Vec<String>>,
        data: Option<Segment>,
        text: Option<Segment>,
    }

    /// The symbols of one segment. Which segment a symbol lives in does not
    /// matter to a linker binding against the library.
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Segment {
        global: Vec<String>,
        weak: Vec<String>,
        thread_local: Vec<String>,
        objc_class: Vec<String>,
        objc_eh_type: Vec<String>,
        objc_ivar: Vec<String>,
    }

    pub(super) fn parse(text: &str, target: &Wanted) -> Result<Vec<TbdLibrary>, TbdError> {
        let version: VersionOnly = serde_json::from_str(text)
            .map_err(|e| TbdError::new(format!("tbd: invalid JSON: {e}")))?;
        match version.tapi_tbd_version {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(5) => {}
            None => return Err(TbdError::new("tbd (JSON): missing `tapi_tbd_version`")),
            Some(other) => {
                return Err(TbdError::new(format!(
                    "tbd (JSON): key `tapi_tbd_version`: unsupported version {other} (JSON stubs must be version 5)"
                )))
            }
        }
        let file: File = serde_json::from_str(text)
            .map_err(|e| TbdError::new(format!("tbd (JSON, version 5): {e}")))?;
        let named = std::iter::once(("main_library".to_owned(), &file.main_library)).chain(
            file.libraries
                .iter()
                .enumerate()
                .map(|(i, library)| (format!("libraries[{i}]"), library)),
        );
        let mut libraries = Vec::new();
        for (path, library) in named {
            if let Some(library) = convert(&path, library, target)? {
                libraries.push(library);
            }
        }
        Ok(libraries)
    }

    /// Turns one deserialized library into a [`TbdLibrary`] for `target`, or
    /// `None` when the library is not built for it.
    fn convert(
        path: &str,
        library: &Library,
        target: &Wanted,
    ) -> Result<Option<TbdLibrary>, TbdError> {
        let error = |key: &str, message: &str| {
            TbdError::new(format!("tbd (JSON): `{path}.{key}`: {message}"))
        };
        // Like llvm, the first entry is the library's install name and version.
        let install_name = library
            .install_names
            .first()
            .ok_or_else(|| error("install_names", "empty"))?;
        let current_version = first_version(&library.current_versions)
            .map_err(|message| error("current_versions", &message))?;
        let compatibility_version = first_version(&library.compatibility_versions)
            .map_err(|message| error("compatibility_versions", &message))?;
        if !library
            .target_info
            .iter()
            .any(|info| target.matches(&info.target))
        {
            return Ok(None);
        }
        let reexported_libraries = library
            .reexported_libraries
            .iter()
            .filter(|section| applies(&section.targets, target))
            .flat_map(|section| section.names.iter().cloned())
            .collect();
        let mut sink = ExportSink::default();
        let sections = library
            .exported_symbols
            .iter()
            .chain(&library.reexported_symbols);
        for section in sections.filter(|section| applies(&section.targets, target)) {
            for segment in [&section.data, &section.text].into_iter().flatten() {
                add_segment(&mut sink, segment);
            }
        }
        Ok(Some(TbdLibrary {
            install_name: install_name.name.clone(),
            current_version,
            compatibility_version,
            reexported_libraries,
            exports: sink.finish(),
        }))
    }

    /// A section applies when its targets name `target`; one without targets
    /// applies to the whole library, which is only converted for its own
    /// targets.
    fn applies(targets: &Option<Vec<String>>, target: &Wanted) -> bool {
        targets
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| target.matches(t)))
    }

    /// The packed first version of a list, or why it is invalid.
    fn first_version(versions: &[Version]) -> Result<u32, String> {
        let text = match versions.first().map(|v| &v.version) {
            None => return Ok(DEFAULT_VERSION),
            Some(VersionValue::Text(text)) => text.clone(),
            Some(VersionValue::Number(n)) => n.to_string(),
        };
        parse_packed_version(&text).ok_or_else(|| {
            format!("invalid version `{text}` (expected X[.Y[.Z]] with X < 65536 and Y, Z < 256)")
        })
    }

    fn add_segment(sink: &mut ExportSink, segment: &Segment) {
        let lists = [
            (&segment.global, SymbolKind::Global),
            (&segment.weak, SymbolKind::Weak),
            (&segment.thread_local, SymbolKind::ThreadLocal),
            (&segment.objc_class, SymbolKind::ObjcClass),
            (&segment.objc_eh_type, SymbolKind::ObjcEhType),
            (&segment.objc_ivar, SymbolKind::ObjcIvar),
        ];
        for (names, kind) in lists {
            names.iter().for_each(|name| sink.add(kind, name.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const V4_SAMPLE: &str = "--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
uuids:
  - target:          x86_64-macos
    value:           00000000-0000-0000-0000-000000000000
install-name:    '/usr/lib/libFoo.dylib'
current-version: 1359
compatibility-version: 1.2
flags:           [ not_app_extension_safe ]
reexported-libraries:
  - targets:         [ x86_64-macos, arm64-macos ]
    libraries:       [ '/usr/lib/system/libbar.dylib' ]
  - targets:         [ arm64e-macos ]
    libraries:       [ '/usr/lib/system/libbar_e.dylib' ]
exports:
  - targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
    symbols:         [ _foo, _bar ]
    weak-symbols:    [ _weakling ]
    thread-local-symbols: [ _tls_var ]
    objc-classes:    [ NSThing ]
    objc-eh-types:   [ NSThing ]
    objc-ivars:      [ NSThing._field ]
  - targets:         [ x86_64-macos ]
    symbols:         [ _x86_only, _foo ]
  - targets:         [ arm64e-macos ]
    symbols:         [ _arm64e_only ]
re-exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ _reexported ]
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, x86_64-maccatalyst ]
install-name:    '/usr/lib/system/libbar.dylib'
current-version: '1.2.3'
parent-umbrella:
  - targets:         [ x86_64-macos, x86_64-maccatalyst ]
    umbrella:        System
allowable-clients:
  - targets:         [ x86_64-macos ]
    clients:         [ Foo ]
swift-abi-version: 5
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _bar_func, dyld_stub_binder ]
  - targets:         [ x86_64-maccatalyst ]
    symbols:         [ _catalyst_only ]
--- !tapi-tbd
tbd-version:     4
targets:         [ arm64e-macos ]
install-name:    '/usr/lib/system/libbar_e.dylib'
exports:
  - targets:         [ arm64e-macos ]
    symbols:         [ _e ]
...
";

    const V5_SAMPLE: &str = r#"{
"tapi_tbd_version": 5,
"main_library": {
  "target_info": [
    { "target": "x86_64-macos", "min_deployment": "10.14" },
    { "target": "arm64-macos", "min_deployment": "11.0" }
  ],
  "flags": [ { "attributes": [ "not_app_extension_safe" ] } ],
  "install_names": [ { "name": "/S/L/F/Foo.framework/Foo" } ],
  "current_versions": [ { "version": "1.2" } ],
  "compatibility_versions": [ { "version": "1.1.5" } ],
  "parent_umbrellas": [ { "umbrella": "System" } ],
  "reexported_libraries": [
    { "names": [ "/u/l/l/libboth.dylib" ] },
    { "targets": [ "arm64-macos" ], "names": [ "/u/l/l/libarm.dylib" ] }
  ],
  "exported_symbols": [
    {
      "targets": [ "x86_64-macos", "arm64-macos" ],
      "data": { "global": [ "_global" ], "objc_class": [ "ClassA" ], "weak": [], "thread_local": [ "_tlv" ] },
      "text": { "global": [ "_func" ], "weak": [ "_weak_func" ] }
    },
    {
      "targets": [ "x86_64-macos" ],
      "data": { "objc_eh_type": [ "ClassB" ], "objc_ivar": [ "ClassA.ivar1" ] },
      "text": { "global": [ "_x86_func" ] }
    }
  ],
  "reexported_symbols": [ { "text": { "global": [ "_funcA" ] } } ],
  "undefined_symbols": [ { "data": { "global": [ "_undefined" ] } } ]
},
"libraries": [
  {
    "target_info": [ { "target": "arm64-macos", "min_deployment": "11.0" } ],
    "install_names": [ { "name": "/u/l/l/libarm.dylib" } ],
    "exported_symbols": [ { "text": { "global": [ "_arm_func" ] } } ]
  }
]
}"#;

    /// v1: no tag, `allowed-clients`, Objective-C names with underscores.
    const V1_SAMPLE: &str = "---
archs:           [ i386, x86_64 ]
platform:        macosx
install-name:    /usr/lib/libV1.dylib
current-version: 2.3.4
compatibility-version: 1.0
swift-version:   0
objc-constraint: none
exports:
  - archs:           [ i386, x86_64 ]
    allowed-clients: [ Client ]
    re-exports:      [ /usr/lib/libV1sub.dylib ]
    symbols:         [ _v1_func, _OBJC_EHTYPE_$_V1Thing ]
    objc-classes:    [ _V1Thing ]
    objc-ivars:      [ _V1Thing._ivar ]
    weak-def-symbols: [ _v1_weak ]
    thread-local-symbols: [ _v1_tls ]
  - archs:           [ i386 ]
    symbols:         [ _i386_only ]
undefineds:
  - archs:           [ x86_64 ]
    symbols:         [ _needed ]
...
";

    /// v2: tagged, `allowable-clients`, uuids and flags, `parent-umbrella`.
    const V2_SAMPLE: &str = "--- !tapi-tbd-v2
archs:           [ armv7, x86_64, x86_64h ]
uuids:           [ 'armv7: 00000000-0000-0000-0000-000000000000',
                   'x86_64: 11111111-1111-1111-1111-111111111111' ]
platform:        macosx
flags:           [ flat_namespace, not_app_extension_safe ]
install-name:    /System/Library/Frameworks/V2.framework/Versions/A/V2
current-version: 1.2
parent-umbrella: Umbrella
exports:
  - archs:           [ x86_64, x86_64h ]
    allowable-clients: [ Client ]
    symbols:         [ _v2_func ]
    objc-classes:    [ _V2Class ]
    weak-def-symbols: [ _v2_weak ]
  - archs:           [ x86_64h ]
    symbols:         [ _haswell_only ]
  - archs:           [ armv7 ]
    re-exports:      [ /usr/lib/libarm.dylib ]
    symbols:         [ _arm_only ]
...
";

    /// v3: tagged, bare Objective-C names, `objc-eh-types`, and an inlined
    /// re-exported library (a second document) plus one for another arch.
    const V3_SAMPLE: &str = "--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
uuids:           [ 'x86_64: 22222222-2222-2222-2222-222222222222' ]
platform:        macosx
install-name:    /usr/lib/libUmbrella.dylib
current-version: 10
compatibility-version: 1.1.1
swift-abi-version: 5
exports:
  - archs:           [ x86_64, arm64 ]
    re-exports:      [ /usr/lib/system/libsub.dylib ]
    symbols:         [ _umbrella_func, '$ld$hide$os10.9$_umbrella_func' ]
    objc-classes:    [ U3Class ]
    objc-eh-types:   [ U3Class ]
    objc-ivars:      [ U3Class.field ]
    weak-def-symbols: [ _u3_weak ]
    thread-local-symbols: [ _u3_tls ]
  - archs:           [ arm64 ]
    re-exports:      [ /usr/lib/system/libarmsub.dylib ]
    symbols:         [ _arm64_only ]
undefineds:
  - archs:           [ x86_64 ]
    objc-eh-types:   [ Base ]
--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/system/libsub.dylib
parent-umbrella: Umbrella
exports:
  - archs:           [ x86_64, arm64 ]
    symbols:         [ _sub_func ]
--- !tapi-tbd-v3
archs:           [ arm64 ]
platform:        macosx
install-name:    /usr/lib/system/libarmsub.dylib
exports:
  - archs:           [ arm64 ]
    symbols:         [ _armsub_func ]
...
";

    fn names(library: &TbdLibrary) -> Vec<&str> {
        library.exports.iter().map(|s| s.name.as_str()).collect()
    }

    fn symbol<'l>(library: &'l TbdLibrary, name: &str) -> &'l TbdSymbol {
        library
            .exports
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} not exported by {}", library.install_name))
    }

    fn error_of(text: &str) -> String {
        match parse_tbd(text.as_bytes(), "x86_64-macos") {
            Ok(libraries) => panic!("expected an error, parsed {libraries:?}"),
            Err(e) => {
                eprintln!("error: {}", e.what);
                e.what
            }
        }
    }

    #[test]
    fn tbd_packed_versions() {
        assert_eq!(parse_packed_version("1359"), Some(1359 << 16));
        assert_eq!(parse_packed_version("1.2"), Some(0x1_0200));
        assert_eq!(parse_packed_version("1.2.3"), Some(0x1_0203));
        assert_eq!(parse_packed_version("65535.255.255"), Some(0xffff_ffff));
        for bad in [
            "", "1.", ".1", "1.2.3.4", "65536", "1.256", "+1", "1.x", "-1",
        ] {
            assert_eq!(parse_packed_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tbd_v4_multi_document_x86_64() {
        let libraries = parse_tbd(V4_SAMPLE.as_bytes(), "x86_64-macos").unwrap();
        let install_names: Vec<_> = libraries.iter().map(|l| l.install_name.as_str()).collect();
        assert_eq!(
            install_names,
            ["/usr/lib/libFoo.dylib", "/usr/lib/system/libbar.dylib"]
        );

        let foo = &libraries[0];
        assert_eq!(foo.current_version, 1359 << 16);
        assert_eq!(foo.compatibility_version, 0x1_0200);
        assert_eq!(foo.reexported_libraries, ["/usr/lib/system/libbar.dylib"]);
        assert_eq!(
            names(foo),
            [
                "_foo",
                "_bar",
                "_weakling",
                "_tls_var",
                "_OBJC_CLASS_$_NSThing",
                "_OBJC_METACLASS_$_NSThing",
                "_OBJC_EHTYPE_$_NSThing",
                "_OBJC_IVAR_$_NSThing._field",
                "_x86_only",
                "_reexported",
            ]
        );
        assert!(symbol(foo, "_weakling").weak);
        assert!(!symbol(foo, "_weakling").thread_local);
        assert!(symbol(foo, "_tls_var").thread_local);
        assert!(!symbol(foo, "_foo").weak && !symbol(foo, "_foo").thread_local);

        let bar = &libraries[1];
        assert_eq!(bar.current_version, 0x1_0203);
        assert_eq!(bar.compatibility_version, DEFAULT_VERSION);
        assert!(bar.reexported_libraries.is_empty());
        // The maccatalyst section is not x86_64-macos.
        assert_eq!(names(bar), ["_bar_func", "dyld_stub_binder"]);
    }

    #[test]
    fn tbd_v4_target_filtering() {
        // arm64 is not arm64e: only documents listing arm64-macos itself.
        let arm64 = parse_tbd(V4_SAMPLE.as_bytes(), "arm64-macos").unwrap();
        assert_eq!(arm64.len(), 1);
        assert_eq!(
            arm64[0].reexported_libraries,
            ["/usr/lib/system/libbar.dylib"]
        );
        assert!(!names(&arm64[0]).contains(&"_x86_only"));
        assert!(!names(&arm64[0]).contains(&"_arm64e_only"));
        assert!(names(&arm64[0]).contains(&"_reexported"));

        let arm64e = parse_tbd(V4_SAMPLE.as_bytes(), "arm64e-macos").unwrap();
        let install_names: Vec<_> = arm64e.iter().map(|l| l.install_name.as_str()).collect();
        assert_eq!(
            install_names,
            ["/usr/lib/libFoo.dylib", "/usr/lib/system/libbar_e.dylib"]
        );
        assert_eq!(
            arm64e[0].reexported_libraries,
            ["/usr/lib/system/libbar_e.dylib"]
        );
        assert!(names(&arm64e[0]).contains(&"_arm64e_only"));
        assert!(!names(&arm64e[0]).contains(&"_reexported"));

        // With arm64e as a compatible target (ld64.lld's rule for -arch
        // arm64): both, and an arm64e-only library too.
        let wanted = Wanted {
            target: "arm64-macos",
            compatible: &["arm64e-macos"],
        };
        let both = parse_tbd_for(V4_SAMPLE.as_bytes(), &wanted).unwrap();
        let install_names: Vec<_> = both.iter().map(|l| l.install_name.as_str()).collect();
        assert_eq!(
            install_names,
            ["/usr/lib/libFoo.dylib", "/usr/lib/system/libbar_e.dylib"]
        );
        assert_eq!(
            both[0].reexported_libraries,
            [
                "/usr/lib/system/libbar.dylib",
                "/usr/lib/system/libbar_e.dylib"
            ]
        );
        assert!(names(&both[0]).contains(&"_arm64e_only"));
        assert!(names(&both[0]).contains(&"_reexported"));
        assert!(!names(&both[0]).contains(&"_x86_only"));
        let legacy = V3_SAMPLE.replace("arm64 ]", "arm64e ]");
        let arm = parse_tbd_for(legacy.as_bytes(), &wanted).unwrap();
        assert!(!arm.is_empty(), "v3 archs match the compatible arch too");
        assert!(parse_tbd(legacy.as_bytes(), "arm64-macos")
            .unwrap()
            .is_empty());

        let catalyst = parse_tbd(V4_SAMPLE.as_bytes(), "x86_64-maccatalyst").unwrap();
        assert_eq!(catalyst.len(), 1);
        assert_eq!(names(&catalyst[0]), ["_catalyst_only"]);

        assert!(parse_tbd(V4_SAMPLE.as_bytes(), "arm64-ios")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn tbd_v4_float_like_version_keeps_its_digits() {
        // `1.10` must be 1.10.0, not the float 1.1.
        let text = "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
                    install-name: /usr/lib/libA.dylib\ncurrent-version: 1.10\n...\n";
        let libraries = parse_tbd(text.as_bytes(), "x86_64-macos").unwrap();
        assert_eq!(libraries[0].current_version, 0x1_0a00);
        assert!(libraries[0].exports.is_empty());
    }

    #[test]
    fn tbd_v5_json() {
        let libraries = parse_tbd(V5_SAMPLE.as_bytes(), "x86_64-macos").unwrap();
        assert_eq!(libraries.len(), 1, "the inlined library is arm64 only");
        let foo = &libraries[0];
        assert_eq!(foo.install_name, "/S/L/F/Foo.framework/Foo");
        assert_eq!(foo.current_version, 0x1_0200);
        assert_eq!(foo.compatibility_version, 0x1_0105);
        assert_eq!(foo.reexported_libraries, ["/u/l/l/libboth.dylib"]);
        assert_eq!(
            names(foo),
            [
                "_global",
                "_tlv",
                "_OBJC_CLASS_$_ClassA",
                "_OBJC_METACLASS_$_ClassA",
                "_func",
                "_weak_func",
                "_OBJC_EHTYPE_$_ClassB",
                "_OBJC_IVAR_$_ClassA.ivar1",
                "_x86_func",
                "_funcA",
            ]
        );
        assert!(symbol(foo, "_weak_func").weak);
        assert!(symbol(foo, "_tlv").thread_local);
        assert!(!names(foo).contains(&"_undefined"));

        let arm64 = parse_tbd(V5_SAMPLE.as_bytes(), "arm64-macos").unwrap();
        assert_eq!(arm64.len(), 2);
        assert_eq!(
            arm64[0].reexported_libraries,
            ["/u/l/l/libboth.dylib", "/u/l/l/libarm.dylib"]
        );
        assert!(!names(&arm64[0]).contains(&"_x86_func"));
        assert_eq!(arm64[1].install_name, "/u/l/l/libarm.dylib");
        assert_eq!(arm64[1].current_version, DEFAULT_VERSION);
        assert_eq!(names(&arm64[1]), ["_arm_func"]);
    }

    #[test]
    fn tbd_v1_plain_weak_tls_objc() {
        let libraries = parse_tbd(V1_SAMPLE.as_bytes(), "x86_64-macos").unwrap();
        assert_eq!(libraries.len(), 1);
        let v1 = &libraries[0];
        assert_eq!(v1.install_name, "/usr/lib/libV1.dylib");
        assert_eq!(v1.current_version, 0x2_0304);
        assert_eq!(v1.compatibility_version, 0x1_0000);
        assert_eq!(v1.reexported_libraries, ["/usr/lib/libV1sub.dylib"]);
        assert_eq!(
            names(v1),
            [
                "_v1_func",
                "_OBJC_EHTYPE_$_V1Thing",
                "_v1_weak",
                "_v1_tls",
                "_OBJC_CLASS_$_V1Thing",
                "_OBJC_METACLASS_$_V1Thing",
                "_OBJC_IVAR_$_V1Thing._ivar",
            ]
        );
        assert!(symbol(v1, "_v1_weak").weak);
        assert!(symbol(v1, "_v1_tls").thread_local);
        assert!(!symbol(v1, "_v1_func").weak && !symbol(v1, "_v1_func").thread_local);
        // The undefineds are not exports; i386 is not x86_64.
        assert!(!names(v1).contains(&"_needed"));
        assert!(!names(v1).contains(&"_i386_only"));
        // Same stub, other platform or arch: nothing.
        assert!(parse_tbd(V1_SAMPLE.as_bytes(), "x86_64-ios-simulator")
            .unwrap()
            .is_empty());
        assert!(parse_tbd(V1_SAMPLE.as_bytes(), "arm64-macos")
            .unwrap()
            .is_empty());
        // The tag spelled out is the same version.
        let tagged = V1_SAMPLE.replacen("---", "--- !tapi-tbd-v1", 1);
        assert_eq!(
            parse_tbd(tagged.as_bytes(), "x86_64-macos").unwrap(),
            libraries
        );
    }

    #[test]
    fn tbd_v2_arch_selection() {
        let libraries = parse_tbd(V2_SAMPLE.as_bytes(), "x86_64-macos").unwrap();
        assert_eq!(libraries.len(), 1);
        let v2 = &libraries[0];
        assert_eq!(
            v2.install_name,
            "/System/Library/Frameworks/V2.framework/Versions/A/V2"
        );
        assert_eq!(v2.current_version, 0x1_0200);
        assert_eq!(v2.compatibility_version, DEFAULT_VERSION);
        // The re-export is armv7's only; x86_64h is not x86_64.
        assert!(v2.reexported_libraries.is_empty());
        assert_eq!(
            names(v2),
            [
                "_v2_func",
                "_v2_weak",
                "_OBJC_CLASS_$_V2Class",
                "_OBJC_METACLASS_$_V2Class",
            ]
        );
        assert!(symbol(v2, "_v2_weak").weak);
        let haswell = parse_tbd(V2_SAMPLE.as_bytes(), "x86_64h-macos").unwrap();
        assert!(names(&haswell[0]).contains(&"_haswell_only"));
        let arm = parse_tbd(V2_SAMPLE.as_bytes(), "armv7-macos").unwrap();
        assert_eq!(arm[0].reexported_libraries, ["/usr/lib/libarm.dylib"]);
        assert_eq!(names(&arm[0]), ["_arm_only"]);
    }

    #[test]
    fn tbd_v3_documents_and_reexports() {
        let libraries = parse_tbd(V3_SAMPLE.as_bytes(), "x86_64-macos").unwrap();
        let install_names: Vec<_> = libraries.iter().map(|l| l.install_name.as_str()).collect();
        assert_eq!(
            install_names,
            ["/usr/lib/libUmbrella.dylib", "/usr/lib/system/libsub.dylib"]
        );
        let umbrella = &libraries[0];
        assert_eq!(umbrella.current_version, 10 << 16);
        assert_eq!(umbrella.compatibility_version, 0x1_0101);
        assert_eq!(
            umbrella.reexported_libraries,
            ["/usr/lib/system/libsub.dylib"]
        );
        assert_eq!(
            names(umbrella),
            [
                "_umbrella_func",
                "$ld$hide$os10.9$_umbrella_func",
                "_u3_weak",
                "_u3_tls",
                "_OBJC_CLASS_$_U3Class",
                "_OBJC_METACLASS_$_U3Class",
                "_OBJC_EHTYPE_$_U3Class",
                "_OBJC_IVAR_$_U3Class.field",
            ]
        );
        assert!(symbol(umbrella, "_u3_weak").weak);
        assert!(symbol(umbrella, "_u3_tls").thread_local);
        assert_eq!(names(&libraries[1]), ["_sub_func"]);

        let arm64 = parse_tbd(V3_SAMPLE.as_bytes(), "arm64-macos").unwrap();
        assert_eq!(arm64.len(), 3);
        assert_eq!(
            arm64[0].reexported_libraries,
            [
                "/usr/lib/system/libsub.dylib",
                "/usr/lib/system/libarmsub.dylib"
            ]
        );
        assert!(names(&arm64[0]).contains(&"_arm64_only"));
        assert!(parse_tbd(V3_SAMPLE.as_bytes(), "x86_64-maccatalyst")
            .unwrap()
            .is_empty());

        // `zippered` is macOS and Mac Catalyst.
        let zippered = V3_SAMPLE.replace("platform:        macosx", "platform:        zippered");
        assert_eq!(
            parse_tbd(zippered.as_bytes(), "x86_64-macos")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            parse_tbd(zippered.as_bytes(), "x86_64-maccatalyst")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn tbd_v3_mixed_with_v4_documents() {
        // A v4 document may follow v3 ones in one stream; each is read by its own rules.
        let v4_doc = "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
                      install-name: /usr/lib/libv4.dylib\nexports:\n  - targets: [ x86_64-macos ]\n    \
                      objc-classes: [ Four ]\n...\n";
        let text = V3_SAMPLE.trim_end().trim_end_matches("...").to_owned() + v4_doc;
        let libraries = parse_tbd(text.as_bytes(), "x86_64-macos").unwrap();
        assert_eq!(libraries.len(), 3);
        assert_eq!(
            names(&libraries[2]),
            ["_OBJC_CLASS_$_Four", "_OBJC_METACLASS_$_Four"]
        );
    }

    #[test]
    fn tbd_legacy_errors() {
        let no_archs = error_of(&V3_SAMPLE.replacen("archs:           [ x86_64, arm64 ]\n", "", 1));
        assert!(
            no_archs.contains("document 1 of 3")
                && no_archs.contains("`archs`")
                && no_archs.contains("missing")
                && no_archs.contains("(line 1)"),
            "{no_archs}"
        );
        let platform =
            error_of(&V2_SAMPLE.replace("platform:        macosx", "platform:        amiga"));
        assert!(
            platform.contains("unknown platform `amiga`") && platform.contains("(line 5)"),
            "{platform}"
        );
        let no_platform = error_of(&V1_SAMPLE.replace("platform:        macosx\n", ""));
        assert!(no_platform.contains("`platform`: missing"), "{no_platform}");
        let section = error_of(&V3_SAMPLE.replace(
            "  - archs:           [ arm64 ]\n    re-exports",
            "  - re-exports",
        ));
        assert!(
            section.contains("exports[1].archs") && section.contains("missing"),
            "{section}"
        );
        let reexports = error_of(&V3_SAMPLE.replace(
            "re-exports:      [ /usr/lib/system/libsub.dylib ]",
            "re-exports:      /usr/lib/system/libsub.dylib",
        ));
        assert!(
            reexports.contains("exports[0].re-exports") && reexports.contains("expected a list"),
            "{reexports}"
        );
        let symbol = error_of(&V3_SAMPLE.replace("[ _sub_func ]", "[ 12 ]"));
        assert!(
            symbol.contains("document 2 of 3")
                && symbol.contains("exports[0].symbols[0]")
                && symbol.contains("integer 12"),
            "{symbol}"
        );
        let undefined = error_of(
            &V1_SAMPLE.replace("symbols:         [ _needed ]", "symbols:         { a: b }"),
        );
        assert!(undefined.contains("undefineds[0].symbols"), "{undefined}");
        let version = error_of(&V1_SAMPLE.replace("2.3.4", "2.3.4.5"));
        assert!(
            version.contains("current-version") && version.contains("`2.3.4.5`"),
            "{version}"
        );
        let tag = error_of(&V3_SAMPLE.replacen("!tapi-tbd-v3", "!tapi-tbd-v7", 1));
        assert!(tag.contains("unsupported tag `!tapi-tbd-v7`"), "{tag}");
        let umbrella =
            error_of(&V2_SAMPLE.replace("parent-umbrella: Umbrella", "parent-umbrella: [ a ]"));
        assert!(umbrella.contains("parent-umbrella"), "{umbrella}");
    }

    #[test]
    fn tbd_errors_for_malformed_input() {
        let bad_yaml =
            error_of("--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos\ninstall-name: x\n");
        assert!(
            bad_yaml.contains("invalid YAML") && bad_yaml.contains("line"),
            "{bad_yaml}"
        );

        // `!tapi-tbd` (v4) without its version.
        let v4 = error_of(
            "--- !tapi-tbd\ntargets: [ x86_64-macos ]\ninstall-name: /usr/lib/libA.dylib\n...\n",
        );
        assert!(
            v4.contains("tbd-version") && v4.contains("document 1 of 1"),
            "{v4}"
        );
        let v3 =
            error_of("--- !tapi-tbd\ntbd-version: 3\ntargets: [ x86_64-macos ]\ninstall-name: a\n");
        assert!(v3.contains("unsupported version integer 3"), "{v3}");

        // The error names the second document and, its key being absent, its first line.
        let missing_name =
            V4_SAMPLE.replace("install-name:    '/usr/lib/system/libbar.dylib'\n", "");
        let missing_name = error_of(&missing_name);
        assert!(missing_name.contains("document 2 of 3") && missing_name.contains("install-name"));
        assert!(
            missing_name.contains("missing") && missing_name.contains("(line 31)"),
            "{missing_name}"
        );

        let wrong_type = V4_SAMPLE.replace("symbols:         [ _e ]", "symbols:         _e");
        let wrong_type = error_of(&wrong_type);
        assert!(
            wrong_type.contains("exports[0].symbols") && wrong_type.contains("line 52"),
            "{wrong_type}"
        );

        let bad_version = V4_SAMPLE.replace("current-version: 1359", "current-version: 1.2.3.4");
        assert!(error_of(&bad_version).contains("invalid version `1.2.3.4`"));

        assert!(error_of("").contains("no document"));
        assert!(error_of("--- !tapi-tbd\n- a\n- b\n").contains("expected a mapping"));
        assert!(parse_tbd(b"\xff\xfe", "x86_64-macos")
            .unwrap_err()
            .what
            .contains("UTF-8"));

        let json = error_of(r#"{ "tapi_tbd_version": 5, "main_library": { "target_info": [] } }"#);
        assert!(
            json.contains("install_names") && json.contains("line 1"),
            "{json}"
        );
        let json =
            error_of(&V5_SAMPLE.replace("\"tapi_tbd_version\": 5", "\"tapi_tbd_version\": 4"));
        assert!(json.contains("unsupported version 4"), "{json}");
        let json = error_of(&V5_SAMPLE.replace("\"1.2\"", "\"1.x\""));
        assert!(
            json.contains("main_library.current_versions") && json.contains("`1.x`"),
            "{json}"
        );
        let json = error_of(&V5_SAMPLE.replace("[ \"_x86_func\" ]", "[ 7 ]"));
        assert!(json.contains("line 26"), "{json}");
        assert!(error_of("{ \"tapi_tbd_version\": 5, ").contains("invalid JSON"));
    }

    #[test]
    fn tbd_truncated_input_never_panics() {
        for sample in [V1_SAMPLE, V2_SAMPLE, V3_SAMPLE, V4_SAMPLE, V5_SAMPLE] {
            for end in (0..sample.len()).filter(|&end| sample.is_char_boundary(end)) {
                let _ = parse_tbd(&sample.as_bytes()[..end], "x86_64-macos");
            }
        }
    }

    /// The reading of a stub one document per task gives what reading it
    /// whole gives (the libraries, or the same error), and leaves to the
    /// whole reading the files it cannot split.
    #[test]
    fn tbd_split_reads_as_whole() {
        use std::sync::OnceLock;
        let libsystem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../.toolchain/sdk/usr/lib/libSystem.tbd"
        ))
        .unwrap_or_default();
        let split = |text: &str, target: &str| {
            let wanted = Wanted {
                target,
                compatible: &[],
            };
            yaml::parse_split(text, &wanted, &OnceLock::new()).map(|r| r.map_err(|e| e.what))
        };
        let whole = |text: &str, target: &str| {
            let wanted = Wanted {
                target,
                compatible: &[],
            };
            yaml::parse_whole(text, &wanted, &OnceLock::new()).map_err(|e| e.what)
        };
        let v4_second_missing_name =
            V4_SAMPLE.replacen("install-name:    '/usr/lib/system/libbar.dylib'", "", 1);
        let splits = [
            libsystem.as_str(),
            V4_SAMPLE,
            V3_SAMPLE,
            &v4_second_missing_name,
            &V4_SAMPLE.replace("symbols:         [ _e ]", "symbols:         _e"),
            "--- !tapi-tbd-v3\narchs: [ x86_64 ]\n--- !tapi-tbd\ntbd-version: 4\n",
        ];
        let whole_only = [
            // A directive, a second document without a marker, a piece that
            // is no YAML on its own, a marker the scanner does not see.
            "%YAML 1.2\n--- !tapi-tbd\na: 1\n--- !tapi-tbd\nb: 2\n",
            "--- !tapi-tbd\na: 1\n...\nb: 2\n--- !tapi-tbd\nc: 3\n",
            "--- !tapi-tbd\na: [ 1,\n--- !tapi-tbd\nc: 3 ]\n",
            "--- !tapi-tbd\na: 1\n---x\n--- !tapi-tbd\nc: 3\n",
            "# comment\n--- !tapi-tbd\na: 1\n--- !tapi-tbd\nc: 3\n",
            V1_SAMPLE,
        ];
        for target in ["x86_64-macos", "arm64e-macos", "arm64-macos"] {
            for text in splits.iter().filter(|t| !t.is_empty()) {
                let ours = split(text, target).expect("split");
                assert_eq!(ours, whole(text, target), "{target}: {text}");
            }
            for text in whole_only {
                assert!(split(text, target).is_none(), "{text}");
            }
        }
    }

    /// The zig-derived libSystem stub that scripts/setup.sh installs.
    #[test]
    fn tbd_real_libsystem() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../.toolchain/sdk/usr/lib/libSystem.tbd"
        );
        let text =
            std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/setup.sh"));
        let start = std::time::Instant::now();
        let libraries = parse_tbd(&text, "x86_64-macos").unwrap();
        let elapsed = start.elapsed();
        let symbol_count: usize = libraries.iter().map(|l| l.exports.len()).sum();
        eprintln!(
            "parsed libSystem.tbd ({} bytes) for x86_64-macos in {elapsed:?}: {} documents, {symbol_count} symbols",
            text.len(),
            libraries.len()
        );

        assert_eq!(libraries[0].install_name, "/usr/lib/libSystem.B.dylib");
        assert_eq!(libraries[0].current_version, 1359 << 16);
        assert!(libraries[0]
            .reexported_libraries
            .iter()
            .any(|l| l == "/usr/lib/system/libsystem_c.dylib"));
        let all: HashSet<&str> = libraries.iter().flat_map(names).collect();
        for name in [
            "_printf",
            "_malloc",
            "___stdoutp",
            "__tlv_bootstrap",
            "dyld_stub_binder",
        ] {
            assert!(all.contains(name), "{name} missing");
        }
    }
}
