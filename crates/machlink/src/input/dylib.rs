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
use std::collections::HashMap;

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

impl Dylib {
    /// Reads a .tbd (v4 YAML or v5 JSON) for `target` ("x86_64-macos").
    pub fn from_tbd(data: &[u8], name: String, target: &str) -> Result<Dylib> {
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
        // Flatten re-exports breadth-first over the documents of this file.
        let mut queue = vec![main];
        let mut seen = vec![main.install_name.as_str()];
        while let Some(lib) = queue.pop() {
            for s in &lib.exports {
                dylib
                    .exports
                    .entry(s.name.as_bytes().into())
                    .or_insert(DylibSymbol {
                        weak: s.weak,
                        thread_local: s.thread_local,
                    });
            }
            for re in &lib.reexported_libraries {
                if seen.contains(&re.as_str()) {
                    continue;
                }
                seen.push(re);
                if let Some(child) = libs.iter().find(|l| &l.install_name == re) {
                    queue.push(child);
                }
            }
        }
        Ok(dylib)
    }

    /// Reads a binary MH_DYLIB: LC_ID_DYLIB and its export trie.
    pub fn from_macho(data: &[u8], name: String, arch: &dyn crate::arch::Arch) -> Result<Dylib> {
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
        if let Some((off, size)) = trie_range {
            let bytes = data.get(off..off + size).ok_or_else(|| {
                err(format!(
                    "export trie {off:#x}+{size:#x} is outside the file"
                ))
            })?;
            let entries = trie::parse(bytes)
                .ok_or_else(|| err(format!("malformed export trie at offset {off:#x}")))?;
            for e in entries {
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
        Ok(Dylib {
            name,
            install_name,
            current_version,
            compatibility_version,
            exports,
        })
    }
}
