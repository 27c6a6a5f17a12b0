//! The long lists of names in a stub, read ahead of the YAML parser.
//!
//! Most of a stub is symbol names in flow sequences over many lines
//! (`symbols: [ _a, _b, 'x$y', ... ]`). yaml-rust2 reads them a character
//! at a time, through a ring buffer, and allocates several strings for each
//! scalar: for libSystem's stub that is most of the cost of every link.
//!
//! [`lift`] reads such a sequence itself when every item is in a subset it
//! reads exactly as yaml-rust2 does, and leaves an empty sequence in its
//! place: the `[` where it was, the same line breaks, and the `]` on the
//! same line and column, so that the text around it scans as before. The
//! YAML parser reads this skeleton and [`super::node`] puts the items back
//! into the sequence that starts where the lifted one did; when the
//! skeleton does not parse, or a placeholder turns out not to be a
//! sequence (a `[` inside a block scalar, a quoted scalar, a comment), the
//! original text is read as a whole instead.
//!
//! The subset: the sequence is the value of a plain block-mapping key
//! (`key: [`, with only `- ` entries and spaces before the key on its line),
//! and holds one or more items, each a plain scalar of printable ASCII
//! without flow indicators, `:`, quotes or a leading indicator, or a
//! single-quoted scalar on one line (`''` its only escape); items are
//! separated by `,` and spaces or line breaks, and there are no comments,
//! tabs, anchors, tags, double quotes or nested collections. An item that
//! starts a line must start right of that key (so no indentation rule of
//! yaml-rust2 can reject it: the block indentation at the `[` is at most
//! the key's column) and so never at column 0 (no document marker).
//!
//! A placeholder differs from the sequence it stands for in one piece of
//! scanner state: a plain item drops the one-column indentation a flow
//! collection opens, the whitespace of a placeholder does not. That only
//! makes the skeleton stricter (a later tab or quoted-scalar line in that
//! column is an error), and an error reads the original instead.

use super::node::Node;

/// A sequence read here: where its `[` is in the skeleton (a byte offset,
/// which is the yaml-rust2 marker index: the text is ASCII), and its items.
pub(super) struct Lifted {
    pub(super) at: usize,
    pub(super) items: Vec<Node>,
}

/// The text with the lifted sequences emptied.
pub(super) struct Skeleton {
    pub(super) text: String,
    pub(super) lifted: Vec<Lifted>,
}

/// Lifts the sequences of names out of `text`; `None` when there are none
/// (or the text is not ASCII, where marker indexes count characters).
pub(super) fn lift(text: &str) -> Option<Skeleton> {
    if !text.is_ascii() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut skeleton = String::new();
    let mut lifted = Vec::new();
    // Bytes of `text` up to `copied` are in the skeleton already.
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'[', &bytes[from..]) {
        let open = from + found;
        from = open + 1;
        let line = memchr::memrchr(b'\n', &bytes[..open]).map_or(0, |at| at + 1);
        let Some(key) = key_column(&bytes[line..open]) else {
            continue;
        };
        let mut items = Vec::new();
        let Some(close) = read_sequence(text, open, line, key, &mut items) else {
            continue;
        };
        if skeleton.is_empty() {
            skeleton.reserve(text.len() / 8);
        }
        skeleton.push_str(&text[copied..=open]);
        lifted.push(Lifted {
            at: skeleton.len() - 1,
            items,
        });
        push_placeholder(&mut skeleton, &bytes[open + 1..close]);
        copied = close;
        from = close + 1;
    }
    if lifted.is_empty() {
        return None;
    }
    skeleton.push_str(&text[copied..]);
    Some(Skeleton {
        text: skeleton,
        lifted,
    })
}

/// What stands for the inside of a sequence: the same line breaks, and as
/// many spaces as put the `]` back in its column. A sequence on one line
/// keeps its length too (one on a line may be a key, if under 1024
/// characters).
fn push_placeholder(skeleton: &mut String, inside: &[u8]) {
    let breaks = memchr::memchr_iter(b'\n', inside).count();
    let last_line = memchr::memrchr(b'\n', inside).map_or(0, |at| at + 1);
    skeleton.extend(std::iter::repeat_n('\n', breaks));
    skeleton.extend(std::iter::repeat_n(' ', inside.len() - last_line));
}

/// The column of the key a `[` is the value of, given the text before it
/// on its line: spaces, any `- ` entries, a plain key and `:`, then spaces.
fn key_column(before: &[u8]) -> Option<usize> {
    let mut at = skip_spaces(before, 0);
    while before[at..].starts_with(b"- ") {
        at = skip_spaces(before, at + 1);
    }
    let key = at;
    if !before.get(key)?.is_ascii_alphanumeric() && before[key] != b'_' {
        return None;
    }
    while before
        .get(at)
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        at += 1;
    }
    let rest = before[at..].strip_prefix(b":")?;
    (!rest.is_empty() && rest.iter().all(|&c| c == b' ')).then_some(key)
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

/// Reads the sequence whose `[` is at `open`, on the line starting at
/// `line`, the value of a key in column `key`, into `items`; returns the
/// offset of its `]`. `None` when anything is outside the subset.
fn read_sequence(
    text: &str,
    open: usize,
    mut line: usize,
    key: usize,
    items: &mut Vec<Node>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = open + 1;
    skip_separation(bytes, &mut at, &mut line);
    loop {
        if at - line <= key {
            return None;
        }
        let item = match *bytes.get(at)? {
            b'\'' => single_quoted(text, &mut at)?,
            first if plain_start(first) => plain(text, &mut at),
            _ => return None,
        };
        items.push(item);
        at = skip_spaces(bytes, at);
        match *bytes.get(at)? {
            b',' => {
                at += 1;
                skip_separation(bytes, &mut at, &mut line);
            }
            b']' => return Some(at),
            _ => return None,
        }
    }
}

/// Skips spaces and line breaks, keeping `line` at the current line's start.
fn skip_separation(bytes: &[u8], at: &mut usize, line: &mut usize) {
    loop {
        match bytes.get(*at) {
            Some(b' ') => *at += 1,
            Some(b'\n') => {
                *at += 1;
                *line = *at;
            }
            _ => return,
        }
    }
}

/// A first character that makes a plain scalar, and nothing else, in a
/// flow sequence (no indicator: `-?:,[]{}#&*!|>'"%@` and backquote).
fn plain_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.' | b'/')
}

/// A later character of a plain scalar, which neither ends it (a blank, a
/// flow indicator, `: `) nor is a quote (allowed, but kept out of the
/// subset).
fn plain_char(c: u8) -> bool {
    PLAIN_CHARS[usize::from(c)]
}

/// [`plain_char`] as a table: names are most of a stub's bytes.
static PLAIN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let byte = c as u8;
        table[c] = byte.is_ascii_graphic()
            && !matches!(byte, b',' | b'[' | b']' | b'{' | b'}' | b':' | b'\'' | b'"');
        c += 1;
    }
    table
};

fn plain(text: &str, at: &mut usize) -> Node {
    let bytes = text.as_bytes();
    let start = *at;
    *at += 1;
    while bytes.get(*at).is_some_and(|&c| plain_char(c)) {
        *at += 1;
    }
    let text = &text[start..*at];
    Node::Text {
        text: text.to_owned(),
        plain: !surely_string(text),
    }
}

/// Whether `Yaml::from_str` makes a plain scalar (of [`plain_char`]s) a
/// string whatever follows its first character: one starting with `_`,
/// `$` or `/`, or a letter (no number starts with one; `inf` and `nan`
/// are not numbers to yaml-rust2), except the words for null and booleans.
/// Such a scalar is kept as a quoted one: it reads the same, and is not
/// typed again at each look.
fn surely_string(text: &str) -> bool {
    match text.as_bytes()[0] {
        b'_' | b'$' | b'/' => true,
        first if first.is_ascii_alphabetic() => !["null", "true", "false"]
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word)),
        _ => false,
    }
}

/// A single-quoted scalar on one line of printable ASCII.
fn single_quoted(text: &str, at: &mut usize) -> Option<Node> {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut start = *at + 1;
    loop {
        let quote = start + memchr::memchr(b'\'', bytes.get(start..)?)?;
        let part = &bytes[start..quote];
        if !part.iter().all(|&c| c == b' ' || c.is_ascii_graphic()) {
            return None;
        }
        let escaped = bytes.get(quote + 1) == Some(&b'\'');
        if !escaped && value.is_empty() {
            value = text[start..quote].to_owned();
        } else {
            value.push_str(&text[start..quote]);
        }
        if escaped {
            value.push('\'');
            start = quote + 2;
        } else {
            *at = quote + 1;
            return Some(Node::Text {
                text: value,
                plain: false,
            });
        }
    }
}
