//! Dynamic libraries as link inputs: a TAPI stub (.tbd) or a binary dylib.
//! The linker needs only the install name, versions and exported symbols;
//! symbols of re-exported libraries count as exports of the re-exporter
//! (that is how libSystem provides libsystem_c's `printf`), though those of
//! a public re-exported library bind to it (see [`is_public`]). `$ld$`
//! symbols adjust all this to the deployment target (see [`LdSymbols`]).

use crate::error::{LinkError, Result};
use crate::formats::trie;
use crate::input::tbd;
use object::macho;
use object::macho::MachHeader64;
use object::read::macho::MachHeader;
use object::LittleEndian as LE;
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::collections::HashSet;
use std::path::PathBuf;

/// Flags of a symbol a dylib exports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DylibSymbol {
    pub weak: bool,
    pub thread_local: bool,
}

/// A dylib the output may load.
#[derive(Debug)]
pub struct Dylib {
    /// The input path, for diagnostics.
    pub name: String,
    pub install_name: String,
    pub current_version: u32,
    pub compatibility_version: u32,
    /// Keyed by name as the stub's YAML reader or the export trie made it:
    /// a `Vec` takes the name as it is, where a boxed slice would first be
    /// shrunk to fit (a reallocation per symbol, ten thousand for
    /// libSystem).
    pub exports: FxHashMap<Vec<u8>, DylibSymbol>,
    /// Exports that bind to another library than this one: the index of
    /// that library in `others`. Those are the symbols a `$ld$previous`
    /// symbol moves, at the link's deployment target, to another install
    /// name, and those of re-exported libraries ld64 links implicitly
    /// (see [`is_public`]).
    pub moved: FxHashMap<Vec<u8>, u32>,
    pub others: Vec<OtherLibrary>,
}

/// A library some exports of a [`Dylib`] bind to: the install name a
/// `$ld$previous` symbol gives, or a public re-exported library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLibrary {
    pub install_name: String,
    pub current_version: u32,
    pub compatibility_version: u32,
}

/// What reading a dylib depends on besides its bytes: the link's arch (its
/// TAPI target), deployment target (for `$ld$` symbols) and `-syslibroot`s
/// (to find re-exported libraries a stub does not inline).
#[derive(Clone, Copy)]
pub struct DylibEnv<'a> {
    pub arch: &'static dyn crate::arch::Arch,
    /// The deployment target, packed X.Y.Z -> X << 16 | Y << 8 | Z.
    pub min_os: u32,
    pub syslibroots: &'a [PathBuf],
}

impl<'a> DylibEnv<'a> {
    pub fn new(opts: &'a crate::options::Options) -> DylibEnv<'a> {
        DylibEnv {
            arch: opts.target(),
            min_os: opts.platform_min,
            syslibroots: &opts.syslibroots,
        }
    }

    /// The `LC_BUILD_VERSION` platform number of the TAPI target, which
    /// `$ld$previous` symbols name.
    fn platform(&self) -> u32 {
        let target = self.arch.tapi_target();
        let platform = target.split_once('-').map_or("", |(_, p)| p);
        match platform {
            "macos" => macho::PLATFORM_MACOS,
            "ios" => macho::PLATFORM_IOS,
            "tvos" => macho::PLATFORM_TVOS,
            "watchos" => macho::PLATFORM_WATCHOS,
            "bridgeos" => macho::PLATFORM_BRIDGEOS,
            "maccatalyst" => macho::PLATFORM_MACCATALYST,
            "ios-simulator" => macho::PLATFORM_IOSSIMULATOR,
            "tvos-simulator" => macho::PLATFORM_TVOSSIMULATOR,
            "watchos-simulator" => macho::PLATFORM_WATCHOSSIMULATOR,
            "driverkit" => macho::PLATFORM_DRIVERKIT,
            _ => 0,
        }
    }
}

/// Whether a re-exported library is linked implicitly, as ld64 and lld do
/// ("hoisting" public dylibs, `-no_implicit_dylibs` turns it off in ld64):
/// one directly in `/usr/lib`, or a framework's binary under
/// `/System/Library/Frameworks`. Its symbols bind to it, not to the
/// library re-exporting it, and the output loads it if one is used.
pub fn is_public(install_name: &str) -> bool {
    if let Some(file) = install_name.strip_prefix("/usr/lib/") {
        return !file.is_empty() && !file.contains('/');
    }
    let Some(rest) = install_name.strip_prefix("/System/Library/Frameworks/") else {
        return false;
    };
    let Some((framework, _)) = rest.split_once(".framework/") else {
        return false;
    };
    !framework.is_empty() && rest.rsplit('/').next() == Some(framework)
}

impl OtherLibrary {
    fn of(dylib: &Dylib) -> OtherLibrary {
        OtherLibrary {
            install_name: dylib.install_name.clone(),
            current_version: dylib.current_version,
            compatibility_version: dylib.compatibility_version,
        }
    }
}

/// Re-exports are followed at most this deep (a cycle is cut earlier, by
/// install name; this bounds a chain of distinct files).
const MAX_REEXPORT_DEPTH: usize = 32;

impl Dylib {
    /// Reads a .tbd (v1-v3 or v4 YAML, v5 JSON) for the link's target.
    /// Re-exported libraries count as part of the library: those the stub
    /// inlines, and those found under a `-syslibroot` (as ld64 does) by
    /// install name, as `.tbd` and then as the path itself.
    pub fn from_tbd(data: &[u8], name: String, env: &DylibEnv) -> Result<Dylib> {
        let mut seen = Vec::new();
        Self::from_tbd_nested(data, name, env, &mut seen, 0)
    }

    fn from_tbd_nested(
        data: &[u8],
        name: String,
        env: &DylibEnv,
        seen: &mut Vec<String>,
        depth: usize,
    ) -> Result<Dylib> {
        let target = env.arch.tapi_target();
        let wanted = tbd::Wanted {
            target,
            compatible: env.arch.tapi_compatible_targets(),
        };
        let mut libs =
            tbd::parse_tbd_listings(data, &wanted).map_err(|e| LinkError::file(&name, e))?;
        let Some(main) = libs.first() else {
            return Err(LinkError::file(
                &name,
                format!("no library in this stub supports {target}"),
            ));
        };
        // Room for every listed symbol: libSystem's stub lists ten thousand.
        let symbols = libs.iter().map(|l| l.exports.len()).sum();
        let mut dylib = Dylib {
            name,
            install_name: main.install_name.clone(),
            current_version: main.current_version,
            compatibility_version: main.compatibility_version,
            exports: FxHashMap::with_capacity_and_hasher(symbols, Default::default()),
            moved: FxHashMap::default(),
            others: Vec::new(),
        };
        let mut ld = LdSymbols::default();
        // Flatten re-exports over the documents of this file, then over
        // the files found under the syslibroots. Each library (an index in
        // `libs`) carries the index (in `others`) of the public library its
        // symbols bind to, if not this one. A library is queued once (`seen`
        // holds install names), so its exports can be taken, not copied.
        let mut queue: Vec<(usize, Option<u32>)> = vec![(0, None)];
        seen.push(main.install_name.clone());
        let mut outside = Vec::new();
        while let Some((index, owner)) = queue.pop() {
            let is_main = index == 0;
            let exports = std::mem::take(&mut libs[index].exports);
            dylib.add_stub_exports(exports, owner, is_main, &mut ld, env);
            for re in &libs[index].reexported_libraries {
                if seen.contains(re) {
                    continue;
                }
                seen.push(re.clone());
                match libs.iter().position(|l| &l.install_name == re) {
                    Some(child_index) => {
                        let child = &libs[child_index];
                        let owner = if is_public(&child.install_name) {
                            Some(dylib.other_index(&OtherLibrary {
                                install_name: child.install_name.clone(),
                                current_version: child.current_version,
                                compatibility_version: child.compatibility_version,
                            }))
                        } else {
                            owner
                        };
                        queue.push((child_index, owner));
                    }
                    None => outside.push((re.clone(), owner)),
                }
            }
        }
        for (install_name, owner) in outside {
            let child = find_reexport(&install_name, &dylib.name, env, seen, depth)?;
            dylib.absorb(child, owner);
        }
        ld.apply(&mut dylib);
        Ok(dylib)
    }

    /// Reads a binary MH_DYLIB: LC_ID_DYLIB and its export trie, with the
    /// exports of the libraries it re-exports (LC_REEXPORT_DYLIB) that are
    /// found under a `-syslibroot`.
    pub fn from_macho(data: &[u8], name: String, env: &DylibEnv) -> Result<Dylib> {
        let mut seen = Vec::new();
        Self::from_macho_nested(data, name, env, &mut seen, 0)
    }

    /// Reads `-bundle_loader`'s image (an MH_EXECUTE, or an MH_BUNDLE as
    /// lld allows) for its export trie. It has no install name: what binds
    /// to it names the main executable by ordinal.
    pub fn from_loader_image(data: &[u8], name: String, env: &DylibEnv) -> Result<Dylib> {
        let filetype = MachHeader64::<LE>::parse(data, 0)
            .map(|h| h.filetype(LE))
            .map_err(|e| LinkError::file(&name, format!("malformed executable: {e}")))?;
        if filetype != macho::MH_EXECUTE && filetype != macho::MH_BUNDLE {
            return Err(LinkError::file(
                &name,
                format!("is not an executable or bundle (Mach-O file type {filetype})"),
            ));
        }
        let mut seen = Vec::new();
        Self::from_macho_nested(data, name, env, &mut seen, 0)
    }

    fn from_macho_nested(
        data: &[u8],
        name: String,
        env: &DylibEnv,
        seen: &mut Vec<String>,
        depth: usize,
    ) -> Result<Dylib> {
        let arch = env.arch;
        let err = |what: String| LinkError::file(&name, what);
        let header =
            MachHeader64::<LE>::parse(data, 0).map_err(|e| err(format!("malformed dylib: {e}")))?;
        if header.cputype(LE) != arch.cpu_type() {
            return Err(err(format!(
                "wrong architecture: the dylib is for {} (cputype {:#x}), but the link is for {}",
                crate::arch::cpu_name(header.cputype(LE)),
                header.cputype(LE),
                arch.name()
            )));
        }
        let mut cmds = header
            .load_commands(LE, data, 0)
            .map_err(|e| err(format!("malformed dylib: {e}")))?;
        let mut id = None;
        let mut trie_range = None;
        let mut reexports = Vec::new();
        while let Some(cmd) = cmds
            .next()
            .map_err(|e| err(format!("malformed load command: {e}")))?
        {
            match cmd.cmd() {
                macho::LC_ID_DYLIB => {
                    // (object's `dylib()` covers only the LC_LOAD_* kinds.)
                    let d = cmd
                        .data::<macho::DylibCommand<LE>>()
                        .map_err(|_| err("malformed LC_ID_DYLIB".into()))?;
                    let install = cmd
                        .string(LE, d.dylib.name)
                        .map_err(|e| err(format!("malformed LC_ID_DYLIB: {e}")))?;
                    id = Some((
                        String::from_utf8_lossy(install).into_owned(),
                        d.dylib.current_version.get(LE),
                        d.dylib.compatibility_version.get(LE),
                    ));
                }
                macho::LC_REEXPORT_DYLIB => {
                    let d = cmd
                        .data::<macho::DylibCommand<LE>>()
                        .map_err(|_| err("malformed LC_REEXPORT_DYLIB".into()))?;
                    let path = cmd
                        .string(LE, d.dylib.name)
                        .map_err(|e| err(format!("malformed LC_REEXPORT_DYLIB: {e}")))?;
                    reexports.push(String::from_utf8_lossy(path).into_owned());
                }
                macho::LC_DYLD_EXPORTS_TRIE => {
                    let c = cmd
                        .data::<macho::LinkeditDataCommand<LE>>()
                        .map_err(|e| err(e.to_string()))?;
                    trie_range = Some((c.dataoff.get(LE) as usize, c.datasize.get(LE) as usize));
                }
                macho::LC_DYLD_INFO | macho::LC_DYLD_INFO_ONLY => {
                    let c = cmd
                        .data::<macho::DyldInfoCommand<LE>>()
                        .map_err(|e| err(e.to_string()))?;
                    trie_range = Some((
                        c.export_off.get(LE) as usize,
                        c.export_size.get(LE) as usize,
                    ));
                }
                _ => {}
            }
        }
        let filetype = header.filetype(LE);
        let is_dylib = filetype != macho::MH_EXECUTE && filetype != macho::MH_BUNDLE;
        let (install_name, current_version, compatibility_version) = match id {
            Some(id) => id,
            None if !is_dylib => (String::new(), 0, 0),
            None => return Err(err("dylib has no LC_ID_DYLIB".into())),
        };
        let mut exports = FxHashMap::default();
        let mut ld = LdSymbols::default();
        if let Some((off, size)) = trie_range {
            let bytes = data.get(off..off + size).ok_or_else(|| {
                err(format!(
                    "export trie {off:#x}+{size:#x} is outside the file"
                ))
            })?;
            let entries = trie::parse(bytes)
                .ok_or_else(|| err(format!("malformed export trie at offset {off:#x}")))?;
            exports.reserve(entries.len());
            for e in entries {
                if e.name.starts_with(b"$ld$") {
                    ld.note(&String::from_utf8_lossy(&e.name), true, env);
                    continue;
                }
                let kind = e.flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_MASK);
                exports.insert(
                    e.name,
                    DylibSymbol {
                        weak: e.flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_WEAK_DEFINITION) != 0,
                        thread_local: kind
                            == u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_THREAD_LOCAL),
                    },
                );
            }
        }
        seen.push(install_name.clone());
        let mut dylib = Dylib {
            name,
            install_name,
            current_version,
            compatibility_version,
            exports,
            moved: FxHashMap::default(),
            others: Vec::new(),
        };
        for re in reexports {
            if seen.contains(&re) {
                continue;
            }
            seen.push(re.clone());
            let child = find_reexport(&re, &dylib.name, env, seen, depth)?;
            dylib.absorb(child, None);
        }
        ld.apply(&mut dylib);
        Ok(dylib)
    }
}

impl Dylib {
    /// Takes in the exports of a library this one re-exports, with the
    /// symbols it binds elsewhere. They bind to the child itself if it is
    /// public, else to `owner` (the public library re-exporting it, if any).
    fn absorb(&mut self, child: Dylib, owner: Option<u32>) {
        let owner = if is_public(&child.install_name) {
            Some(self.other_index(&OtherLibrary::of(&child)))
        } else {
            owner
        };
        self.exports.reserve(child.exports.len());
        for (symbol, flags) in child.exports {
            if self.exports.contains_key(&symbol) {
                continue;
            }
            let moved = match child.moved.get(&symbol) {
                Some(&index) => Some(self.other_index(&child.others[index as usize])),
                None => owner,
            };
            if let Some(index) = moved {
                self.moved.insert(symbol.clone(), index);
            }
            self.exports.insert(symbol, flags);
        }
    }

    /// Takes in the symbols a stub lists for one of its libraries (`main`:
    /// the linked one itself), bound to `owner` if given; `$ld$` symbols go
    /// to `ld`. A name already exported keeps its first listing.
    fn add_stub_exports(
        &mut self,
        exports: Vec<tbd::TbdSymbol>,
        owner: Option<u32>,
        main: bool,
        ld: &mut LdSymbols,
        env: &DylibEnv,
    ) {
        // The stub's listings come in file order, a name perhaps more than
        // once: the first listing counts, as for any exported name.
        let mut noted = rustc_hash::FxHashSet::default();
        for symbol in exports {
            if symbol.name.starts_with("$ld$") {
                if !noted.contains(&symbol.name) {
                    ld.note(&symbol.name, main, env);
                    noted.insert(symbol.name);
                }
                continue;
            }
            let flags = DylibSymbol {
                weak: symbol.weak,
                thread_local: symbol.thread_local,
            };
            let name = symbol.name.into_bytes();
            if let Entry::Vacant(slot) = self.exports.entry(name) {
                if let Some(owner) = owner {
                    self.moved.insert(slot.key().clone(), owner);
                }
                slot.insert(flags);
            }
        }
    }

    /// The index of `library` in `others`, added if new.
    fn other_index(&mut self, library: &OtherLibrary) -> u32 {
        let found = self
            .others
            .iter()
            .position(|p| p.install_name == library.install_name);
        let index = found.unwrap_or_else(|| {
            self.others.push(library.clone());
            self.others.len() - 1
        });
        index as u32
    }
}

/// Finds and reads a re-exported library by its install name the way ld64
/// does: under each `-syslibroot` (or `/` when none is given), first as a
/// `.tbd` stub (the install name with its extension replaced), then as the
/// file itself. Not finding it is an error (as in lld) about `from`, the
/// library re-exporting it.
fn find_reexport(
    install_name: &str,
    from: &str,
    env: &DylibEnv,
    seen: &mut Vec<String>,
    depth: usize,
) -> Result<Dylib> {
    if depth >= MAX_REEXPORT_DEPTH {
        return Err(LinkError::file(
            install_name,
            format!("re-exported libraries nest more than {MAX_REEXPORT_DEPTH} deep"),
        ));
    }
    let relative = install_name.trim_start_matches('/');
    let default_root = [PathBuf::from("/")];
    let roots = if env.syslibroots.is_empty() {
        &default_root[..]
    } else {
        env.syslibroots
    };
    for root in roots.iter().filter(|_| !relative.is_empty()) {
        let base = root.join(relative);
        for path in [base.with_extension("tbd"), base] {
            if !path.is_file() {
                continue;
            }
            let name = path.display().to_string();
            let bytes = std::fs::read(&path)
                .map_err(|e| LinkError::file(&name, format!("cannot read: {e}")))?;
            let data = crate::input::thin(&bytes, &name, env.arch)?;
            let dylib = match crate::input::kind_of(data, &name)? {
                crate::input::FileKind::Tbd => {
                    Dylib::from_tbd_nested(data, name, env, seen, depth + 1)?
                }
                crate::input::FileKind::Dylib => {
                    Dylib::from_macho_nested(data, name, env, seen, depth + 1)?
                }
                _ => {
                    return Err(LinkError::file(
                        name,
                        format!("re-exported library {install_name} is not a dylib"),
                    ))
                }
            };
            return Ok(dylib);
        }
    }
    let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
    Err(LinkError::file(
        from,
        format!(
            "re-exported library {install_name} not found (no .tbd or dylib of that path under {})",
            roots.join(", ")
        ),
    ))
}

/// What a library's `$ld$` symbols ask for at the link's deployment target
/// (ld64's semantics; lld implements the same subset but `add`):
///
/// * `$ld$hide$os<V>$<sym>`: `<sym>` is not exported when the deployment
///   target is exactly V (`$ld$hide$<sym>`: never exported);
/// * `$ld$add$os<V>$<sym>`: `<sym>` is exported when the target is V;
/// * `$ld$install_name$os<V>$<path>`: the library's install name is
///   `<path>` when the target is V;
/// * `$ld$previous$<path>$<compat>$<platform>$<start>$<end>$$`: for
///   targets in [start, end) on that platform the library's install name
///   is `<path>` (and its compatibility version `<compat>`, if given).
///
/// With a symbol name (`...$<end>$<sym>$`), `$ld$previous` moves just that
/// symbol to a library `<path>` (exported from it even if the library does
/// not otherwise list it); the linker then loads `<path>` too, if the
/// symbol is used.
///
/// The `$ld$` names themselves are never exported. Malformed ones are
/// ignored, as by ld64 and lld.
#[derive(Default)]
struct LdSymbols {
    hidden: HashSet<Box<[u8]>>,
    added: Vec<Vec<u8>>,
    install_name: Option<String>,
    compatibility_version: Option<u32>,
    /// (symbol, install name, compatibility version) of `$ld$previous`
    /// symbols that name a symbol.
    moved: Vec<(Vec<u8>, String, Option<u32>)>,
}

impl LdSymbols {
    /// Notes one `$ld$` symbol; `main`: it is the linked library's own
    /// (not a re-exported one's), so it may rename the library.
    fn note(&mut self, symbol: &str, main: bool, env: &DylibEnv) {
        let Some((action, rest)) = symbol.strip_prefix("$ld$").and_then(|r| r.split_once('$'))
        else {
            return;
        };
        let at_target = |rest: &'_ str| -> Option<bool> {
            let version = rest.strip_prefix("os")?;
            Some(tbd::parse_packed_version(version)? == env.min_os)
        };
        match action {
            "hide" => match rest.strip_prefix("os") {
                Some(_) => {
                    if let Some((version, name)) = rest.split_once('$') {
                        if at_target(version) == Some(true) && !name.is_empty() {
                            self.hidden.insert(name.as_bytes().into());
                        }
                    }
                }
                None if !rest.is_empty() => {
                    self.hidden.insert(rest.as_bytes().into());
                }
                None => {}
            },
            "add" => {
                if let Some((version, name)) = rest.split_once('$') {
                    if at_target(version) == Some(true) && !name.is_empty() {
                        self.added.push(name.as_bytes().to_vec());
                    }
                }
            }
            "install_name" => {
                if let Some((version, path)) = rest.split_once('$') {
                    if main && at_target(version) == Some(true) && !path.is_empty() {
                        self.install_name = Some(path.to_owned());
                    }
                }
            }
            "previous" => self.note_previous(rest, main, env),
            _ => {}
        }
    }

    /// `<path>$<compat>$<platform>$<start>$<end>$<symbol>$`.
    fn note_previous(&mut self, rest: &str, main: bool, env: &DylibEnv) {
        let mut fields = rest.splitn(6, '$');
        let (Some(path), Some(compat), Some(platform), Some(start), Some(end)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return;
        };
        // The symbol and the final `$` may both be left out.
        let tail = fields.next().unwrap_or("");
        let symbol = tail.strip_suffix('$').unwrap_or(tail);
        let Ok(platform) = platform.parse::<u32>() else {
            return;
        };
        let (Some(start), Some(end)) = (
            tbd::parse_packed_version(start),
            tbd::parse_packed_version(end),
        ) else {
            return;
        };
        let compat = match compat {
            "" => None,
            text => match tbd::parse_packed_version(text) {
                Some(v) => Some(v),
                None => return,
            },
        };
        if platform != env.platform() || env.min_os < start || env.min_os >= end {
            return;
        }
        if path.is_empty() {
            return;
        }
        if !symbol.is_empty() {
            self.moved
                .push((symbol.as_bytes().to_vec(), path.to_owned(), compat));
        } else if main {
            self.install_name = Some(path.to_owned());
            if compat.is_some() {
                self.compatibility_version = compat;
            }
        }
    }

    fn apply(self, dylib: &mut Dylib) {
        for name in self.added {
            dylib.exports.entry(name).or_default();
        }
        for (name, install_name, compat) in self.moved {
            // As lld does: the symbol's current version is the given
            // compatibility version, when there is one.
            let library = OtherLibrary {
                install_name,
                current_version: compat.unwrap_or(dylib.current_version),
                compatibility_version: compat.unwrap_or(dylib.compatibility_version),
            };
            let index = dylib.other_index(&library);
            dylib.exports.entry(name.clone()).or_default();
            dylib.moved.insert(name, index);
        }
        for name in &self.hidden {
            dylib.exports.remove(&name[..]);
            dylib.moved.remove(&name[..]);
        }
        if let Some(name) = self.install_name {
            dylib.install_name = name;
        }
        if let Some(version) = self.compatibility_version {
            dylib.compatibility_version = version;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v3 umbrella: an inlined sub-library, one found under a syslibroot,
    /// and `$ld$` symbols of every kind.
    const UMBRELLA: &str = "--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/libUmbrella.dylib
current-version: 3
compatibility-version: 2
exports:
  - archs:           [ x86_64, arm64 ]
    re-exports:      [ /usr/lib/system/libinlined.dylib, /usr/lib/libext.dylib ]
    symbols:         [ _plain, _gone_in_10_14, _moved,
                       '$ld$hide$os10.14$_gone_in_10_14',
                       '$ld$hide$os10.14$_inlined_hidden',
                       '$ld$hide$_never',
                       '$ld$add$os10.14$_added_in_10_14',
                       '$ld$install_name$os10.13$/usr/lib/libOld13.dylib',
                       '$ld$previous$/usr/lib/libOld.dylib$1.5$1$10.10$10.12$$',
                       '$ld$previous$/usr/lib/libMoved.dylib$$1$10.14$10.16$_moved$',
                       '$ld$previous$/usr/lib/libMoved.dylib$4$1$10.14$10.16$_new_old$',
                       '$ld$previous$/usr/lib/libIos.dylib$$2$1.0$99.0$$',
                       '$ld$previous$/usr/lib/libBad.dylib$$1$x$10.16$$',
                       '$ld$hide$osBAD$_plain', '$ld$bogus', '$ld$', _never ]
    weak-def-symbols: [ _weak ]
    thread-local-symbols: [ _tls ]
    objc-classes:    [ Cls ]
--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/system/libinlined.dylib
exports:
  - archs:           [ x86_64, arm64 ]
    symbols:         [ _inlined, _inlined_hidden,
                       '$ld$install_name$os10.14$/usr/lib/libNotTheUmbrella.dylib' ]
...
";

    const EXT: &str = "--- !tapi-tbd-v2
archs:           [ x86_64 ]
platform:        macosx
install-name:    /usr/lib/libext.dylib
exports:
  - archs:           [ x86_64 ]
    re-exports:      [ /usr/lib/libUmbrella.dylib ]
    symbols:         [ _ext, _ext_plain, '$ld$previous$/usr/lib/libExtOld.dylib$$1$10.14$10.15$_ext$' ]
...
";

    fn version(text: &str) -> u32 {
        tbd::parse_packed_version(text).unwrap()
    }

    /// A syslibroot holding libext.tbd (which UMBRELLA re-exports), shared
    /// by the tests that do not give their own.
    fn ext_root() -> PathBuf {
        static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        ROOT.get_or_init(|| {
            let root =
                std::env::temp_dir().join(format!("machlink-dylib-ext-{}", std::process::id()));
            std::fs::create_dir_all(root.join("usr/lib")).unwrap();
            std::fs::write(root.join("usr/lib/libext.tbd"), EXT).unwrap();
            root
        })
        .clone()
    }

    fn read(text: &str, min_os: &str, roots: &[PathBuf]) -> Dylib {
        let default_roots = [ext_root()];
        let roots = if roots.is_empty() {
            &default_roots[..]
        } else {
            roots
        };
        let env = DylibEnv {
            arch: &crate::arch::X86_64,
            min_os: version(min_os),
            syslibroots: roots,
        };
        Dylib::from_tbd(text.as_bytes(), "test.tbd".into(), &env).unwrap()
    }

    fn exports(dylib: &Dylib) -> Vec<&str> {
        let mut names: Vec<&str> = dylib
            .exports
            .keys()
            .map(|k| std::str::from_utf8(k).unwrap())
            .collect();
        names.sort_unstable();
        names
    }

    fn has(dylib: &Dylib, name: &str) -> bool {
        dylib.exports.contains_key(name.as_bytes())
    }

    #[test]
    fn dylib_tbd_v3_reexports_and_flags() {
        let dylib = read(UMBRELLA, "11.0", &[]);
        assert_eq!(dylib.install_name, "/usr/lib/libUmbrella.dylib");
        assert_eq!(dylib.current_version, 3 << 16);
        assert_eq!(dylib.compatibility_version, 2 << 16);
        assert_eq!(
            exports(&dylib),
            [
                "_OBJC_CLASS_$_Cls",
                "_OBJC_METACLASS_$_Cls",
                "_ext",
                "_ext_plain",
                "_gone_in_10_14",
                "_inlined",
                "_inlined_hidden",
                "_moved",
                "_plain",
                "_tls",
                "_weak",
            ]
        );
        assert!(dylib.exports[&b"_weak"[..]].weak);
        assert!(dylib.exports[&b"_tls"[..]].thread_local);
        // Only libext's symbols (a public library) bind elsewhere.
        let mut moved: Vec<&[u8]> = dylib.moved.keys().map(|k| &k[..]).collect();
        moved.sort_unstable();
        assert_eq!(moved, [&b"_ext"[..], b"_ext_plain"]);
        assert_eq!(dylib.others.len(), 1);
        assert_eq!(dylib.others[0].install_name, "/usr/lib/libext.dylib");
    }

    #[test]
    fn dylib_ld_hide_add_install_name() {
        let dylib = read(UMBRELLA, "10.14", &[]);
        for gone in ["_gone_in_10_14", "_inlined_hidden", "_never"] {
            assert!(!has(&dylib, gone), "{gone}");
        }
        assert!(has(&dylib, "_added_in_10_14") && has(&dylib, "_plain"));
        // Only the library's own `$ld$install_name` renames it.
        assert_eq!(dylib.install_name, "/usr/lib/libUmbrella.dylib");
        let dylib = read(UMBRELLA, "10.13", &[]);
        assert_eq!(dylib.install_name, "/usr/lib/libOld13.dylib");
        assert!(has(&dylib, "_gone_in_10_14") && !has(&dylib, "_added_in_10_14"));
        assert!(exports(&dylib).iter().all(|n| !n.starts_with("$ld$")));
    }

    #[test]
    fn dylib_ld_previous() {
        // [10.10, 10.12): the whole library was /usr/lib/libOld.dylib, compat 1.5.
        for min_os in ["10.10", "10.11.6"] {
            let dylib = read(UMBRELLA, min_os, &[]);
            assert_eq!(dylib.install_name, "/usr/lib/libOld.dylib", "{min_os}");
            assert_eq!(dylib.compatibility_version, 0x1_0500);
            assert_eq!(dylib.current_version, 3 << 16);
        }
        let dylib = read(UMBRELLA, "10.12", &[]);
        assert_eq!(dylib.install_name, "/usr/lib/libUmbrella.dylib");
        assert_eq!(dylib.compatibility_version, 2 << 16);

        // [10.14, 10.16): _moved and _new_old live in /usr/lib/libMoved.dylib.
        let dylib = read(UMBRELLA, "10.15", &[]);
        assert_eq!(
            dylib.others[1..],
            [OtherLibrary {
                install_name: "/usr/lib/libMoved.dylib".into(),
                current_version: 3 << 16,
                compatibility_version: 2 << 16,
            }]
        );
        assert_eq!(dylib.moved[&b"_moved"[..]], 1);
        assert_eq!(dylib.moved[&b"_new_old"[..]], 1);
        // Exported (from the previous library) even if not listed otherwise.
        assert!(has(&dylib, "_new_old"));
        assert!(!read(UMBRELLA, "10.16", &[])
            .moved
            .contains_key(&b"_moved"[..]));
    }

    #[test]
    fn dylib_reexport_found_under_syslibroot() {
        let root = std::env::temp_dir().join(format!("machlink-dylib-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::write(root.join("usr/lib/libext.tbd"), EXT).unwrap();
        // A second root is searched too; the first hit wins.
        let roots = [root.join("nonexistent"), root.clone()];
        let dylib = read(UMBRELLA, "10.14", &roots);
        assert!(has(&dylib, "_ext") && has(&dylib, "_inlined"));
        // libext is public (directly in /usr/lib): linked implicitly, its
        // symbols bind to it; its own `$ld$previous` carries over.
        let others: Vec<&str> = dylib
            .others
            .iter()
            .map(|o| o.install_name.as_str())
            .collect();
        assert_eq!(
            others,
            [
                "/usr/lib/libext.dylib",
                "/usr/lib/libExtOld.dylib",
                "/usr/lib/libMoved.dylib"
            ]
        );
        assert_eq!(dylib.moved[&b"_ext"[..]], 1);
        assert_eq!(dylib.moved[&b"_ext_plain"[..]], 0);
        // The inlined libinlined is in /usr/lib/system: not public.
        assert!(!dylib.moved.contains_key(&b"_inlined"[..]));
        // Without the root, the library is not found: an error naming the stub and the library.
        let env = DylibEnv {
            arch: &crate::arch::X86_64,
            min_os: version("11.0"),
            syslibroots: &roots[..1],
        };
        let message = Dylib::from_tbd(UMBRELLA.as_bytes(), "test.tbd".into(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("test.tbd") && message.contains("/usr/lib/libext.dylib not found"),
            "{message}"
        );

        // A malformed re-exported stub is an error naming it.
        std::fs::write(
            root.join("usr/lib/libext.tbd"),
            "--- !tapi-tbd-v2\narchs: [ x86_64 ]\n",
        )
        .unwrap();
        let env = DylibEnv {
            arch: &crate::arch::X86_64,
            min_os: version("11.0"),
            syslibroots: &roots,
        };
        let err = Dylib::from_tbd(UMBRELLA.as_bytes(), "test.tbd".into(), &env).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("libext.tbd") && message.contains("platform"),
            "{message}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dylib_public_reexports_are_linked_implicitly() {
        for public in [
            "/usr/lib/libz.1.dylib",
            "/System/Library/Frameworks/Foo.framework/Foo",
            "/System/Library/Frameworks/Foo.framework/Versions/A/Foo",
        ] {
            assert!(is_public(public), "{public}");
        }
        for private in [
            "/usr/lib/system/libsystem_c.dylib",
            "/usr/lib/",
            "/usr/local/lib/libz.dylib",
            "/System/Library/Frameworks/Foo.framework/Versions/A/Bar",
            "/System/Library/PrivateFrameworks/Foo.framework/Foo",
            "@rpath/libz.dylib",
        ] {
            assert!(!is_public(private), "{private}");
        }
        // An inlined public library, and a private one it re-exports: both
        // bind to the public one.
        let text = "--- !tapi-tbd-v3
archs: [ x86_64 ]
platform: macosx
install-name: /usr/lib/libtop.dylib
exports:
  - archs: [ x86_64 ]
    re-exports: [ /usr/lib/libpub.dylib ]
    symbols: [ _top ]
--- !tapi-tbd-v3
archs: [ x86_64 ]
platform: macosx
install-name: /usr/lib/libpub.dylib
current-version: 7
exports:
  - archs: [ x86_64 ]
    re-exports: [ /usr/lib/system/libpriv.dylib ]
    symbols: [ _pub ]
--- !tapi-tbd-v3
archs: [ x86_64 ]
platform: macosx
install-name: /usr/lib/system/libpriv.dylib
exports:
  - archs: [ x86_64 ]
    symbols: [ _priv ]
...
";
        let dylib = read(text, "11.0", &[]);
        assert_eq!(exports(&dylib), ["_priv", "_pub", "_top"]);
        assert_eq!(
            dylib.others,
            [OtherLibrary {
                install_name: "/usr/lib/libpub.dylib".into(),
                current_version: 7 << 16,
                compatibility_version: DEFAULT_COMPAT,
            }]
        );
        assert_eq!(dylib.moved[&b"_pub"[..]], 0);
        assert_eq!(dylib.moved[&b"_priv"[..]], 0);
        assert!(!dylib.moved.contains_key(&b"_top"[..]));
    }

    const DEFAULT_COMPAT: u32 = 0x1_0000;

    #[test]
    fn dylib_truncated_stubs_never_panic() {
        let env = DylibEnv {
            arch: &crate::arch::X86_64,
            min_os: version("10.15"),
            syslibroots: &[],
        };
        for text in [UMBRELLA, EXT] {
            for end in (0..text.len()).filter(|&end| text.is_char_boundary(end)) {
                if let Err(e) = Dylib::from_tbd(&text.as_bytes()[..end], "cut.tbd".into(), &env) {
                    assert!(e.to_string().contains("cut.tbd"), "{e}");
                }
            }
        }
    }

    #[test]
    fn dylib_ld_symbols_never_panic() {
        let env = DylibEnv {
            arch: &crate::arch::X86_64,
            min_os: version("10.14"),
            syslibroots: &[],
        };
        let mut ld = LdSymbols::default();
        for symbol in [
            "$ld$",
            "$ld$hide",
            "$ld$hide$",
            "$ld$hide$os",
            "$ld$hide$os$",
            "$ld$hide$os10.14$",
            "$ld$add$os10.14",
            "$ld$install_name$os10.14$",
            "$ld$previous$",
            "$ld$previous$a$b$c$d$e",
            "$ld$previous$$$$$$$",
            "$ld$previous$/a$$1$10.14$10.15",
            "$ld$previous$/a$99999999$1$1$2$$",
            "$ld$hide$os10.14.1.1$_x",
            "$ld$add$os\u{e9}$_x",
        ] {
            ld.note(symbol, true, &env);
        }
        // `$ld$previous$/a$$1$10.14$10.15` (no trailing `$`) still names no symbol.
        assert_eq!(ld.install_name.as_deref(), Some("/a"));
        assert!(ld.hidden.is_empty() && ld.added.is_empty() && ld.moved.is_empty());
    }
}
