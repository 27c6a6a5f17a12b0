//! How the output uses its dylibs, once symbols are resolved:
//! `-weak_library` and friends (LC_LOAD_WEAK_DYLIB, every import from it
//! weak), `-reexport_library` (LC_REEXPORT_DYLIB), `-no_weak_imports`, and
//! `-dead_strip_dylibs` (no load command for a dylib nothing binds to,
//! unless it is needed or re-exported). Dropped dylibs leave the list, so
//! the ordinals of the others close up.

use crate::error::{LinkError, Result};
use crate::input::Inputs;
use crate::options::{LibAttr, Options};
use crate::symbols::{Def, SymbolTable, BUNDLE_LOADER};
use object::macho;
use std::path::PathBuf;

/// `-sub_library NAME` and `-sub_umbrella NAME`: the first linked dylib
/// whose file is NAME (`libfoo` for `libfoo.dylib` / `libfoo.tbd`; a
/// framework's `Foo` or `Foo.tbd`) is re-exported, as lld does (it writes
/// LC_REEXPORT_DYLIB, not the old LC_SUB_LIBRARY / LC_SUB_UMBRELLA).
fn mark_sub_libraries(opts: &Options, inputs: &Inputs, attrs: &mut [LibAttr]) -> Result<()> {
    let mut errors = Vec::new();
    for (flag, name) in &opts.sub_libraries {
        let extensions: &[&str] = if flag == "-sub_library" {
            &[".dylib", ".tbd"]
        } else {
            &[".tbd"]
        };
        let found = inputs.dylibs.iter().position(|d| {
            let file = std::path::Path::new(&d.name)
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
            file.strip_prefix(name.as_str())
                .is_some_and(|rest| rest.is_empty() || extensions.contains(&rest))
        });
        match found {
            Some(d) => attrs[d].reexport = true,
            None => errors.push(format!("{flag} {name} does not match a supplied dylib")),
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Applies the passes above; fills `inputs.dylib_cmds`.
pub(crate) fn apply(
    opts: &Options,
    paths: &[(PathBuf, bool)],
    inputs: &mut Inputs,
    symtab: &mut SymbolTable,
) -> Result<()> {
    let mut by_path: rustc_hash::FxHashMap<String, LibAttr> = Default::default();
    for &(i, a) in &opts.lib_attrs {
        if let Some((p, _)) = paths.get(i) {
            let e = by_path.entry(p.display().to_string()).or_default();
            e.weak |= a.weak;
            e.needed |= a.needed;
            e.reexport |= a.reexport;
            e.upward |= a.upward;
        }
    }
    let mut attrs: Vec<LibAttr> = inputs
        .dylibs
        .iter()
        .map(|d| by_path.get(&d.name).copied().unwrap_or_default())
        .collect();
    mark_sub_libraries(opts, inputs, &mut attrs)?;
    let mut used = vec![false; inputs.dylibs.len()];
    let mut errors = Vec::new();
    for sym in &mut symtab.syms {
        let Def::Dylib { dylib, .. } = sym.def else {
            continue;
        };
        if !sym.referenced || dylib == BUNDLE_LOADER {
            continue;
        }
        used[dylib as usize] = true;
        if attrs[dylib as usize].weak {
            sym.weak_ref = true;
        }
        if opts.no_weak_imports && sym.weak_ref {
            errors.push(format!(
                "weak import of symbol '{}' not supported because of option: -no_weak_imports",
                String::from_utf8_lossy(sym.name)
            ));
        }
    }
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    let keep: Vec<bool> = (0..inputs.dylibs.len())
        .map(|d| !opts.dead_strip_dylibs || used[d] || attrs[d].needed || attrs[d].reexport)
        .collect();
    let mut new_index = Vec::with_capacity(keep.len());
    let mut next = 0u32;
    for &k in &keep {
        new_index.push(next);
        next += u32::from(k);
    }
    if keep.iter().any(|k| !k) {
        for sym in &mut symtab.syms {
            if let Def::Dylib { dylib, .. } = &mut sym.def {
                if *dylib == BUNDLE_LOADER {
                    continue;
                }
                // An unreferenced symbol of a dropped dylib keeps an index
                // that no import uses.
                *dylib = new_index[*dylib as usize].min(next.saturating_sub(1));
            }
        }
        let mut i = 0;
        inputs.dylibs.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    inputs.dylib_cmds = attrs
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(a, _)| {
            if a.reexport {
                macho::LC_REEXPORT_DYLIB
            } else if a.weak {
                macho::LC_LOAD_WEAK_DYLIB
            } else if a.upward {
                macho::LC_LOAD_UPWARD_DYLIB
            } else {
                macho::LC_LOAD_DYLIB
            }
        })
        .collect();
    Ok(())
}
