//! `-flat_namespace` interposition, as lld does it.
//!
//! A dylib or bundle linked with `-flat_namespace` cannot assume its own
//! external definitions are final: dyld looks every name up in all loaded
//! images (the main executable first), so another image's definition of the
//! name must take the place of this one even for calls from inside the
//! image. lld therefore makes such definitions *interposable*: references
//! that can be redirected reach them through dyld, like imports, using the
//! machinery weak definitions already have (see [`crate::weak`]):
//!
//! - calls go through a stub, address loads through a GOT slot, pointers
//!   in data are bound;
//! - the binds name the image's own symbol with the flat-lookup ordinal
//!   (`BIND_SPECIAL_DYLIB_FLAT_LOOKUP`, -2); in the classic format the slot
//!   is also rebased to the image's own definition, and a stub's lazy
//!   pointer is bound lazily like an import's;
//! - other pc-relative references (a `leaq` of the symbol) keep meaning
//!   the image's own copy: nothing can redirect them.
//!
//! Executables are not affected (nothing is looked up before them), nor are
//! private externs and names an export list leaves out. (lld 19 decides
//! before applying export lists, and so binds names the image does not
//! export, which dyld's flat lookup then cannot find in it; like ld64,
//! machlink asks once the export list has decided.) Weak definitions
//! dyld coalesces keep their weak binding, which already lets another
//! image's definition win.

use crate::options::{Options, OutputKind};
use crate::symbols::{Def, SymbolTable};

/// Whether references to this definition go through dyld's flat lookup.
pub fn interposable(def: Def) -> bool {
    matches!(
        def,
        Def::Defined {
            interposable: true,
            ..
        }
    )
}

/// Marks the image's exported definitions interposable when the output is
/// a flat-namespace dylib or bundle. Runs once export lists have decided
/// what is exported.
pub(crate) fn mark(opts: &Options, symtab: &mut SymbolTable) {
    if !opts.flat_namespace || opts.output_kind == OutputKind::Executable {
        return;
    }
    for sym in &mut symtab.syms {
        if let Def::Defined {
            private_extern: false,
            interposable,
            ..
        } = &mut sym.def
        {
            *interposable = true;
        }
    }
}
