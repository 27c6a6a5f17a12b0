//! Dynamic libraries as link inputs: a TAPI stub (.tbd) or a binary dylib.
//! The linker needs only the install name, versions and exported symbols;
//! symbols of re-exported libraries count as exports of the re-exporter
//! (that is how libSystem provides libsystem_c's `printf`).

use crate::error::{LinkError, Result};
use crate::formats::trie;
use crate::input::tbd;
use object::macho;
use object::macho::MachHeader64;
use object::read::macho::MachHeader;
use object::LittleEndian as LE;
use std::collections::{HashMap, HashSet};
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
    pub exports: HashMap<Box<[u8]>, DylibSymbol>,
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
        let libs = tbd::parse_tbd(data, target).map_err(|e| LinkError::file(&name, e))?;
        let Some(main) = libs.first() else {
            return Err(LinkError::file(
                &name,
                format!("no library in this stub supports {target}"),
            ));
        };
        let mut dylib = Dylib {
            name,
            install_name: main.install_name.clone(),
            current_version: main.current_version,
            compatibility_version: main.compatibility_version,
            exports: HashMap::new(),
        };
        let mut ld = LdSymbols::default();
        // Flatten re-exports over the documents of this file, then over
        // the files found under the syslibroots.
        let mut queue = vec![main];
        seen.push(main.install_name.clone());
        let mut outside = Vec::new();
        while let Some(lib) = queue.pop() {
            let is_main = std::ptr::eq(lib, main);
            for s in &lib.exports {
                if s.name.starts_with("$ld$") {
                    ld.note(&s.name, is_main, env);
                    continue;
                }
                let flags = DylibSymbol {
                    weak: s.weak,
                    thread_local: s.thread_local,
                };
                dylib
                    .exports
                    .entry(s.name.as_bytes().into())
                    .or_insert(flags);
            }
            for re in &lib.reexported_libraries {
                if seen.contains(re) {
                    continue;
                }
                seen.push(re.clone());
                match libs.iter().find(|l| &l.install_name == re) {
                    Some(child) => queue.push(child),
                    None => outside.push(re.clone()),
                }
            }
        }
        for install_name in outside {
            let Some(child) = find_reexport(&install_name, env, seen, depth)? else {
                continue;
            };
            for (symbol, flags) in child.exports {
                dylib.exports.entry(symbol).or_insert(flags);
            }
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
        let (install_name, current_version, compatibility_version) =
            id.ok_or_else(|| err("dylib has no LC_ID_DYLIB".into()))?;
        let mut exports = HashMap::new();
        let mut ld = LdSymbols::default();
        if let Some((off, size)) = trie_range {
            let bytes = data.get(off..off + size).ok_or_else(|| {
                err(format!(
                    "export trie {off:#x}+{size:#x} is outside the file"
                ))
            })?;
            let entries = trie::parse(bytes)
                .ok_or_else(|| err(format!("malformed export trie at offset {off:#x}")))?;
            for e in entries {
                if e.name.starts_with(b"$ld$") {
                    ld.note(&String::from_utf8_lossy(&e.name), true, env);
                    continue;
                }
                let kind = e.flags & u64::from(macho::EXPORT_SYMBOL_FLAGS_KIND_MASK);
                exports.insert(
                    e.name.into_boxed_slice(),
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
        };
        for re in reexports {
            if seen.contains(&re) {
                continue;
            }
            seen.push(re.clone());
            if let Some(child) = find_reexport(&re, env, seen, depth)? {
                for (symbol, flags) in child.exports {
                    dylib.exports.entry(symbol).or_insert(flags);
                }
            }
        }
        ld.apply(&mut dylib);
        Ok(dylib)
    }
}

/// Finds and reads a re-exported library by its install name the way ld64
/// does: under each `-syslibroot` (or `/` when none is given), first as a
/// `.tbd` stub (the install name with its extension replaced), then as the
/// file itself. `None` when no such file exists: the library's symbols are
/// then not known to the link.
fn find_reexport(
    install_name: &str,
    env: &DylibEnv,
    seen: &mut Vec<String>,
    depth: usize,
) -> Result<Option<Dylib>> {
    if depth >= MAX_REEXPORT_DEPTH {
        return Err(LinkError::file(
            install_name,
            format!("re-exported libraries nest more than {MAX_REEXPORT_DEPTH} deep"),
        ));
    }
    let relative = install_name.trim_start_matches('/');
    if relative.is_empty() {
        return Ok(None);
    }
    let default_root = [PathBuf::from("/")];
    let roots = if env.syslibroots.is_empty() {
        &default_root[..]
    } else {
        env.syslibroots
    };
    for root in roots {
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
            return Ok(Some(dylib));
        }
    }
    Ok(None)
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
/// The `$ld$` names themselves are never exported. Malformed ones are
/// ignored, as by ld64 and lld. A `$ld$previous` naming a symbol (which
/// moves just that symbol to another install name) is not supported: the
/// symbol stays in this library.
#[derive(Default)]
struct LdSymbols {
    hidden: HashSet<Box<[u8]>>,
    added: Vec<Box<[u8]>>,
    install_name: Option<String>,
    compatibility_version: Option<u32>,
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
                        self.added.push(name.as_bytes().into());
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
        let (Some(path), Some(compat), Some(platform), Some(start), Some(end), Some(tail)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return;
        };
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
        if symbol.is_empty() && main && !path.is_empty() {
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
        for name in &self.hidden {
            dylib.exports.remove(name);
        }
        if let Some(name) = self.install_name {
            dylib.install_name = name;
        }
        if let Some(version) = self.compatibility_version {
            dylib.compatibility_version = version;
        }
    }
}
