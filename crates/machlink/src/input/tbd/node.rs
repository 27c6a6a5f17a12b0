//! The YAML documents of a stub, read the way yaml-rust2's `YamlLoader`
//! reads them (the same documents, the same errors), into a tree that is
//! cheaper to build and to take apart.
//!
//! `YamlLoader` types every scalar as it loads it (a copy of each string,
//! number parses) and keys every mapping in a hash table. A libSystem stub
//! is ten thousand symbol names and a few hundred keys: here an untagged
//! scalar keeps the text the parser made and is typed only when asked, a
//! mapping is a list of entries, and the reader moves the names out of the
//! tree instead of copying them.
//!
//! Everything else mirrors `YamlLoader::on_event`: anchors and aliases, the
//! typing of tagged scalars (done by `YamlLoader` itself), and the
//! `duplicated key in mapping` error, which, as there, is reported only if
//! the parser finds no syntax error later in the stream.

use super::flow::{self, Lifted, Skeleton};
use rustc_hash::FxHashSet;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};
use yaml_rust2::{Yaml, YamlLoader};

/// One YAML node.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// An untagged scalar. A plain one is typed as `Yaml::from_str` types
    /// it (`12` is an integer, `_f` a string); a quoted or block one is a
    /// string.
    Text {
        text: String,
        plain: bool,
    },
    /// A scalar typed when loaded: a tagged one (`!!int 3`), or what
    /// `YamlLoader` makes `BadValue` (an empty document, an alias to no
    /// anchor).
    Value(Yaml),
    List(Vec<Node>),
    /// Entries in file order; keys are typed, as `YamlLoader` keys them.
    Map(Vec<(Yaml, Node)>),
}

impl Node {
    /// The text of a node that is a YAML string.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Text { text, plain } => (!plain || plain_is_string(text)).then_some(text),
            Node::Value(Yaml::String(text)) => Some(text),
            _ => None,
        }
    }

    /// [`Node::as_str`], taking the string.
    pub(super) fn into_string(self) -> Option<String> {
        match self {
            Node::Text { text, plain } if !plain || plain_is_string(&text) => Some(text),
            Node::Value(Yaml::String(text)) => Some(text),
            _ => None,
        }
    }

    /// The value of a scalar as `YamlLoader` types it; `None` for a list
    /// or a mapping.
    pub(super) fn scalar(&self) -> Option<Yaml> {
        match self {
            Node::Text { text, plain: true } => Some(Yaml::from_str(text)),
            Node::Text { text, plain: false } => Some(Yaml::String(text.clone())),
            Node::Value(value) => Some(value.clone()),
            Node::List(_) | Node::Map(_) => None,
        }
    }

    /// The node as `YamlLoader` builds it.
    pub(super) fn to_yaml(&self) -> Yaml {
        match self {
            Node::List(items) => Yaml::Array(items.iter().map(Node::to_yaml).collect()),
            Node::Map(entries) => Yaml::Hash(
                entries
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_yaml()))
                    .collect(),
            ),
            scalar => scalar.scalar().unwrap_or(Yaml::BadValue),
        }
    }
}

/// Whether `Yaml::from_str` makes a plain scalar a string. Symbol names
/// start with `_`, which no number, boolean or null does: they skip the
/// copy `from_str` would make.
fn plain_is_string(text: &str) -> bool {
    text.starts_with('_') || matches!(Yaml::from_str(text), Yaml::String(_))
}

/// Reads every document of `text`. The error is the one
/// `YamlLoader::load_from_str` returns.
///
/// The lists of names are read ahead by [`flow::lift`] and the rest by
/// yaml-rust2; when that does not go through cleanly, the whole text is
/// read by yaml-rust2, which also words any error.
pub(super) fn load(text: &str) -> Result<Vec<Node>, ScanError> {
    match flow::lift(text).and_then(load_skeleton) {
        Some(docs) => Ok(docs),
        None => load_plain(text),
    }
}

/// [`load`] with yaml-rust2 alone.
pub(super) fn load_plain(text: &str) -> Result<Vec<Node>, ScanError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, true)?;
    match builder.error {
        Some(error) => Err(error),
        None => Ok(builder.docs),
    }
}

/// The documents of a skeleton, its lifted sequences put back; `None` if
/// it has an error or a placeholder did not come out as a sequence.
fn load_skeleton(skeleton: Skeleton) -> Option<Vec<Node>> {
    let mut builder = Builder {
        lifted: skeleton.lifted,
        ..Builder::default()
    };
    Parser::new_from_str(&skeleton.text)
        .load(&mut builder, true)
        .ok()?;
    let complete = builder.error.is_none() && builder.next_lifted == builder.lifted.len();
    complete.then_some(builder.docs)
}

/// How many nodes aliases may copy in all, over a whole stub: far more
/// than any real stub has (they do not use aliases), and little memory.
const ALIAS_BUDGET: usize = 1 << 20;

impl Node {
    /// How many nodes this one is made of.
    fn size(&self) -> usize {
        match self {
            Node::List(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Node::Map(entries) => 1 + entries.iter().map(|(_, n)| 1 + n.size()).sum::<usize>(),
            _ => 1,
        }
    }
}

/// Builds documents from parser events, as `YamlLoader` does.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    /// The current document's root node, once complete.
    root: Option<Node>,
    /// The lists and mappings being built, innermost last.
    open: Vec<Open>,
    /// Anchored nodes by anchor id (ids are unique in the whole stream),
    /// with their sizes in nodes.
    anchors: rustc_hash::FxHashMap<usize, (Node, usize)>,
    /// Nodes copied for aliases so far (see [`ALIAS_BUDGET`]).
    aliased: usize,
    /// The first error; later events are ignored, as by `YamlLoader`.
    error: Option<ScanError>,
    /// The sequences read ahead, in text order, and the next one to meet.
    lifted: Vec<Lifted>,
    next_lifted: usize,
}

/// A list or mapping being built, with its anchor id (0: none).
enum Open {
    List {
        items: Vec<Node>,
        anchor: usize,
    },
    Map {
        entries: Vec<(Yaml, Node)>,
        /// The keys so far once there are many, to find a duplicate.
        keys: FxHashSet<Yaml>,
        /// The key waiting for its value; `BadValue` when none is (so a
        /// key that is itself `BadValue` waits for another, as in
        /// `YamlLoader`).
        key: Yaml,
        anchor: usize,
    },
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        if let Err(error) = self.handle(event, mark) {
            self.error = Some(error);
        }
    }
}

impl Builder {
    fn handle(&mut self, event: Event, mark: Marker) -> Result<(), ScanError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart => {}
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Node::Value(Yaml::BadValue));
                self.docs.push(root);
            }
            Event::SequenceStart(anchor, _) => {
                let items = self.lifted_items(mark);
                self.open.push(Open::List { items, anchor });
            }
            Event::MappingStart(anchor, _) => self.open.push(Open::Map {
                entries: Vec::new(),
                keys: FxHashSet::default(),
                key: Yaml::BadValue,
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.open.pop() {
                    Some(Open::List { items, anchor }) => (Node::List(items), anchor),
                    Some(Open::Map {
                        entries, anchor, ..
                    }) => (Node::Map(entries), anchor),
                    // The parser balances its events.
                    None => return Ok(()),
                };
                self.insert(node, anchor, mark)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar(text, style, tag, mark);
                self.insert(node, anchor, mark)?;
            }
            Event::Alias(id) => {
                let (node, size) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .unwrap_or((Node::Value(Yaml::BadValue), 1));
                // Each alias is a copy: nested ones ("billion laughs")
                // would grow exponentially in the text's size.
                self.aliased = self.aliased.saturating_add(size);
                if self.aliased > ALIAS_BUDGET {
                    return Err(ScanError::new_string(
                        mark,
                        format!("aliases expand to more than {ALIAS_BUDGET} nodes"),
                    ));
                }
                self.insert(node, 0, mark)?;
            }
        }
        Ok(())
    }

    /// The items of the sequence lifted from where one starts at `mark`
    /// (its placeholder holds none).
    fn lifted_items(&mut self, mark: Marker) -> Vec<Node> {
        match self.lifted.get_mut(self.next_lifted) {
            Some(lifted) if lifted.at == mark.index() => {
                self.next_lifted += 1;
                std::mem::take(&mut lifted.items)
            }
            _ => Vec::new(),
        }
    }

    /// Adds a complete node to its parent (`YamlLoader::insert_new_node`).
    fn insert(&mut self, node: Node, anchor: usize, mark: Marker) -> Result<(), ScanError> {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), node.size()));
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::List { items, .. }) => items.push(node),
            Some(Open::Map {
                entries, keys, key, ..
            }) => {
                if key.is_badvalue() {
                    *key = node.to_yaml();
                    return Ok(());
                }
                let key = std::mem::replace(key, Yaml::BadValue);
                if is_duplicate(entries, keys, &key) {
                    return Err(ScanError::new_string(
                        mark,
                        format!("{key:?}: duplicated key in mapping"),
                    ));
                }
                entries.push((key, node));
            }
        }
        Ok(())
    }
}

/// Whether a mapping has `key` already. Stub mappings have a few keys:
/// those are compared in turn; the set of keys is for large mappings.
fn is_duplicate(entries: &[(Yaml, Node)], keys: &mut FxHashSet<Yaml>, key: &Yaml) -> bool {
    const FEW: usize = 16;
    if entries.len() < FEW {
        return entries.iter().any(|(listed, _)| listed == key);
    }
    if keys.is_empty() {
        keys.extend(entries.iter().map(|(listed, _)| listed.clone()));
    }
    !keys.insert(key.clone())
}

/// A scalar event's node. Tagged scalars (rare in stubs) are typed by
/// `YamlLoader` itself, fed the one event.
fn scalar(text: String, style: TScalarStyle, tag: Option<Tag>, mark: Marker) -> Node {
    let plain = style == TScalarStyle::Plain;
    if tag.is_none() || !plain {
        return Node::Text { text, plain };
    }
    let mut loader = YamlLoader::default();
    for event in [
        Event::DocumentStart,
        Event::Scalar(text, style, 0, tag),
        Event::DocumentEnd,
    ] {
        loader.on_event(event, mark);
    }
    let value = loader.documents().first().cloned();
    Node::Value(value.unwrap_or(Yaml::BadValue))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `load` and `YamlLoader` agree: the same documents, or the same error.
    /// And `load` and `load_plain` build the same nodes.
    fn same_as_loader(text: &str) {
        same_as_plain(text);
        let ours = load(text).map(|docs| docs.iter().map(Node::to_yaml).collect::<Vec<_>>());
        let theirs = YamlLoader::load_from_str(text);
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text:?}"),
            (Err(ours), Err(theirs)) => {
                assert_eq!(ours.to_string(), theirs.to_string(), "{text:?}")
            }
            (ours, theirs) => panic!("{text:?}: {ours:?} vs {theirs:?}"),
        }
    }

    #[test]
    fn tbd_node_loads_as_yaml_loader() {
        for text in [
            "",
            "---\n",
            "--- !tapi-tbd\na: 1\n...\n--- !tapi-tbd\nb: [ x, 'y', \"z\" ]\n...\n",
            "a: [ 12, 0x1f, 0o17, +5, -3, 1.5, .inf, -.Inf, .nan, 1e3, ~, null, true, False ]\n",
            "a: [ _sym, '$ld$hide$_x', inf, nan, infinity, e5, NULL, '12', \"true\", '' ]\n",
            "a: [ !!int 3, !!int x, !!float 1.5, !!float y, !!bool true, !!bool z ]\n",
            "a: [ !!null ~, !!null n, !!str 12, !foo 12, !!int '3', !!binary abc ]\n",
            "a: &x [ _one, _two ]\nb: *x\nc: *nothing\n",
            "a: &s _scalar\nb: *s\n",
            "- &m { k: v }\n- *m\n",
            "a: 1\na: 2\n",
            "a: 1\nb: 2\nc: { d: 3, d: 4 }\n",
            "1: a\n0x1: b\n",
            "? [ a, b ]\n: 1\n? [ a, b ]\n: 2\n",
            "? { a: b }\n: 1\n",
            "*nothing : a\nb: c\n",
            "!!int x : a\nb: c\n",
            "a: 1\na: 2\nb: [ unclosed\n",
            "a: |\n  text\nb: >\n  folded\n",
            "[ a, b\n",
            "a: b: c\n",
            "%YAML 1.2\n--- x\n...\n--- y\n",
        ] {
            same_as_loader(text);
        }
        // Mappings past the few keys compared in turn.
        let many: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        for text in [
            many.clone(),
            format!("{many}k3: again\n"),
            format!("{many}k39: again\n"),
            format!("{many}0x10: a\n16: b\n"),
        ] {
            same_as_loader(&text);
        }
    }

    #[test]
    fn tbd_node_types_plain_scalars_lazily() {
        let docs = load("[ _f, f, '12', 12, true, !!str 7, !!int 7 ]").unwrap();
        let Node::List(items) = &docs[0] else {
            panic!("{docs:?}")
        };
        let strings: Vec<Option<&str>> = items.iter().map(Node::as_str).collect();
        assert_eq!(
            strings,
            [
                Some("_f"),
                Some("f"),
                Some("12"),
                None,
                None,
                Some("7"),
                None
            ]
        );
        let owned: Vec<Option<String>> = items.iter().cloned().map(Node::into_string).collect();
        assert_eq!(
            owned,
            strings
                .iter()
                .map(|s| s.map(str::to_owned))
                .collect::<Vec<_>>()
        );
        assert_eq!(items[3].scalar(), Some(Yaml::Integer(12)));
        assert_eq!(items[6].scalar(), Some(Yaml::Integer(7)));
    }

    /// `load` (lifting lists of names when it can) and `load_plain` build
    /// the same nodes, or fail with the same error.
    fn same_as_plain(text: &str) {
        let strings = |docs: Vec<Node>| {
            let yaml: Vec<Yaml> = docs.iter().map(Node::to_yaml).collect();
            let text: Vec<Option<String>> = docs.into_iter().map(Node::into_string).collect();
            (yaml, text)
        };
        let ours = load(text).map(strings).map_err(|e| e.to_string());
        let theirs = load_plain(text).map(strings).map_err(|e| e.to_string());
        assert_eq!(ours, theirs, "{text:?}");
    }

    /// Whether `load` reads `text` with sequences lifted.
    fn lifts(text: &str) -> bool {
        flow::lift(text).and_then(load_skeleton).is_some()
    }

    const LIFTED_SAMPLE: &str = "--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64e-macos ]
install-name:    '/usr/lib/libfoo.dylib'
exports:
  - targets:         [ x86_64-macos ]
    symbols:         [ _a, '_b$c', 'it''s', '', ' sp ', a#b, 12, true, .inf,
                       $x, /p, 'R8289209$_close', _tail ]
    weak-symbols:    [ _w ]
  - targets:         [ arm64e-macos ]
    objc-classes:    [ NSFoo,
                       'NSBar' ]
...
";

    #[test]
    fn tbd_node_lifts_lists_of_names() {
        assert!(lifts(LIFTED_SAMPLE));
        same_as_loader(LIFTED_SAMPLE);
        for text in [
            "a: [ _a, 'x$y', 'it''s', '', ' sp ', a#b, 12, true, .inf, $x, /p ]\n",
            "a: [ null, Null, NULL, True, FALSE, inf, nan, Infinity, e5, x1e5, 0x1f, 0o17, 1.5 ]\n",
            "a: [x,y]\nb: [ 'z' ]   # a comment after the sequence\n",
            "- k:  [ _a,\n        _b ]\n- k-2: [ 'c',\n\n   d ]\n",
        ] {
            assert!(lifts(text), "{text:?}");
            same_as_loader(text);
        }
    }

    /// Sequences outside the subset are left to yaml-rust2; `[` that turn
    /// out to be no sequence make the whole text read by yaml-rust2.
    #[test]
    fn tbd_node_reads_other_sequences_as_yaml() {
        for text in [
            "a: [ [ b ], c ]\n",
            "a: [ b, ~ ]\n",
            "a: [ x, 'y' ]: 1\n",
            "? x\n: [ _a,\n  _b ]\n",
            "a: { b: [ c,\n  d ] }\n",
            "a: [ b, \"c\" ]\n",
            "a: [ b, # comment\n  d ]\n",
            "a: [ &x b, *x ]\n",
            "a: [ !!str b, c ]\n",
            "a: &x [ b ]\n",
            "a: [ b: c ]\n",
            "a: [ b\n  c ]\n",
            "a: [ b, ]\n",
            "a: [ ]\n",
            "a: [ b,\tc ]\n",
            "a: [ 'b\n  c' ]\n",
            "a: [ -b ]\n",
            "a: [ b, -]\n",
            "a: [ b-, c- ]\n",
            "a: [ a'b ]\n",
            "a: [ b,\r\n  c ]\r\n",
            "a: [ b ]\nc: \u{e9}\n",
            "a:\n  b: [ c,\n d ]\n",
            "a:\n  b: [ c,\n  d ]\n",
            "  k: [\n [ a,\n  b ] ]\n",
            "a: [ b,\n--- ]\n",
            "a: [ b,\n... ]\n",
            "? [ a, b ]\n: 1\n",
            "- [ a, b ]\n",
            "a: |\n  b: [ c, d ]\ne: f\n",
            "a: >\n  b: [ c,\n    d ]\n",
            "a: 'x\n  b: [ c ]'\n",
            "a: \"x\n  b: [ c ]\"\n",
            "# b: [ c ]\na: 1 # b: [ c ]\n",
            "a: [ x, y ]\nb: |\n  c: [ d ]\n",
            "a:[ x ]\n",
            "a: [ x ]\n\tb: 1\n",
            "a: [ 'x',\n  y ]\n\tb: 1\n",
        ] {
            same_as_loader(text);
        }
        assert!(!lifts("a: |\n  b: [ c, d ]\ne: f\n"));
        assert!(!lifts("a: 'x\n  b: [ c ]'\n"));
        assert!(flow::lift("a: [ [ b ], c ]\n").is_none());
        assert!(flow::lift("a: [ b, \"c\" ]\n").is_none());
    }

    /// An error after a placeholder is reported where it is in the text.
    #[test]
    fn tbd_node_errors_after_lifted_lists() {
        for text in [
            "a: [ x,\n  y ]\nb: [ c\n",
            "a: [ x,\n  y ]\nb: c: d\n",
            "a: [ x,\n  y ]\na: 1\n",
            "a: [ x,\n      y ] z\nb: 1\n",
            "a: [ x,\n  y ]\n  b: 1\n",
        ] {
            assert!(flow::lift(text).is_some(), "{text:?}");
            let ours = load(text).unwrap_err().to_string();
            let theirs = YamlLoader::load_from_str(text).unwrap_err().to_string();
            assert_eq!(ours, theirs, "{text:?}");
        }
        let ours = load("a: [ x,\n  y ]\nb: [ c\n").unwrap_err();
        assert_eq!(ours.marker().line(), 4, "{ours}");
    }

    #[test]
    fn tbd_node_truncated_lifted_lists_never_panic() {
        for end in 0..=LIFTED_SAMPLE.len() {
            same_as_plain(&LIFTED_SAMPLE[..end]);
        }
    }

    /// Every stub of the SDK, whole and document by document, reads the
    /// same with and without lifting, and libSystem's documents lift.
    #[test]
    fn tbd_node_sdk_stubs_read_as_plain() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.toolchain/sdk");
        let mut stubs = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "tbd") {
                    stubs.push(path);
                }
            }
        }
        for path in &stubs {
            let text = std::fs::read_to_string(path).unwrap();
            same_as_plain(&text);
            let starts: Vec<usize> = text.match_indices("\n--- ").map(|(at, _)| at + 1).collect();
            let ends = starts.iter().copied().chain([text.len()]);
            for (start, end) in std::iter::once(0).chain(starts.iter().copied()).zip(ends) {
                let piece = &text[start..end];
                same_as_plain(piece);
                if path.ends_with("libSystem.tbd") {
                    assert!(lifts(piece), "{}: {piece}", path.display());
                }
            }
            for end in (0..text.len().min(6000)).step_by(29) {
                same_as_plain(&text[..end]);
            }
        }
    }
}
