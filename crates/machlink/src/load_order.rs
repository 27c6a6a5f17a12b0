//! The order in which input files are laid out, as ld64.lld orders them.
//!
//! Resolution here pulls archive members in rounds (parsed in parallel);
//! lld instead pulls a member the moment a symbol it defines is wanted
//! and parses it at once, so a member's own needs are pulled, and placed,
//! before it. The set of files is the same; only their order differs, and
//! with it every address. This pass replays lld's order over the files
//! already loaded:
//!
//! - command-line objects in order (an object's undefined symbols, in
//!   symbol-table order, pull the members that define them from archives
//!   already seen; each pulled member is placed after what it pulls);
//! - then each archive in command-line order: for every symbol of its
//!   table, in order, still undefined, its member is pulled (the same way).
//!
//! Anything the replay does not reach (the linker's own objects) follows
//! in load order. Objects interleaved with archives on the command line
//! are replayed as if they came first, which is where compilers put them.

use crate::input::object::ObjectFile;
use crate::input::{Inputs, Library};
use rustc_hash::{FxHashMap, FxHashSet};

/// Which object each archive member on demand became: (archive, member)
/// → object index; the other objects (command line, `-force_load`) come
/// first in `objects`.
pub(crate) struct Loaded {
    pub members: FxHashMap<(u32, u32), u32>,
    /// How many objects came from the command line (and forced loads).
    pub command_line: u32,
}

struct Replay<'i, 'a> {
    objects: &'i [ObjectFile<'a>],
    members: &'i FxHashMap<(u32, u32), u32>,
    /// Names some placed (or being placed) object defines.
    defined: FxHashSet<&'a [u8]>,
    /// Names some placed (or being placed) object refers to undefined.
    referenced: FxHashSet<&'a [u8]>,
    /// Archive symbols of the archives replayed so far (first wins).
    lazy: FxHashMap<&'a [u8], (u32, u32)>,
    visited: Vec<bool>,
    order: Vec<u32>,
}

impl<'a> Replay<'_, 'a> {
    /// Places object `oi` after the members its undefined symbols pull.
    fn visit(&mut self, oi: u32) {
        if std::mem::replace(&mut self.visited[oi as usize], true) {
            return;
        }
        let obj = &self.objects[oi as usize];
        for s in obj.symbols.iter().filter(|s| s.is_external()) {
            let undefined = s.kind() == object::macho::N_UNDF && !s.is_common();
            if !undefined || self.defined.contains(s.name) {
                continue;
            }
            self.referenced.insert(s.name);
            if let Some(&m) = self.lazy.get(s.name) {
                if let Some(&member) = self.members.get(&m) {
                    self.visit(member);
                }
            }
        }
        for s in obj.symbols.iter() {
            if s.is_external() && (s.is_defined_in_section() || s.is_common()) {
                self.defined.insert(s.name);
            }
        }
        self.order.push(oi);
    }
}

/// The layout order of `inputs.objects` (a permutation of its indices).
pub(crate) fn lld_order(inputs: &Inputs, loaded: &Loaded) -> Vec<u32> {
    let n = inputs.objects.len();
    if loaded.members.is_empty() {
        // Nothing pulled from an archive: the replay would give the
        // command line's order, which is the index order.
        return (0..n as u32).collect();
    }
    let mut replay = Replay {
        objects: &inputs.objects,
        members: &loaded.members,
        defined: Default::default(),
        referenced: Default::default(),
        lazy: Default::default(),
        visited: vec![false; n],
        order: Vec::with_capacity(n),
    };
    for oi in 0..loaded.command_line.min(n as u32) {
        replay.visit(oi);
    }
    for lib in &inputs.libraries {
        let Library::Archive(a) = *lib else {
            continue;
        };
        for &(name, member) in &inputs.archives[a as usize].symbols {
            if replay.defined.contains(name) {
                continue;
            }
            replay.lazy.entry(name).or_insert((a, member));
            // lld pulls the member only for a symbol some object wants;
            // a member that was loaded is wanted (resolution pulled it).
            if let Some(&oi) = loaded.members.get(&(a, member)) {
                if replay.referenced.contains(name) {
                    replay.visit(oi);
                }
            }
        }
    }
    for oi in 0..n as u32 {
        if !replay.visited[oi as usize] {
            replay.order.push(oi);
        }
    }
    replay.order
}
