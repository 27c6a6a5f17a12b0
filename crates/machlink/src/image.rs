//! The incremental engine as a library, for a compiler backend that has
//! machine code and data in memory rather than object files.
//!
//! An [`IncrementalImage`] is an executable being built: the backend
//! defines functions and data (bytes, relocations naming their targets by
//! symbol, a symbol name) grouped in *units* (think: one per source file or
//! per codegen unit), and calls [`IncrementalImage::flush`] to bring the
//! executable up to date. The first flush links it in full, with headroom;
//! later flushes replay only the units that changed, through the same
//! incremental engine as `machlink -incremental` (functions overwritten in
//! place, or moved behind a trampoline; see DESIGN.md).
//!
//! Relocations name the field's form ([`RelocKind`]): a call, a 64-bit
//! pointer, and per target its data references: x86_64's one 32-bit
//! pc-relative field (`PcRel32`, `GotLoad`), arm64's `adrp` pair, one
//! relocation per instruction (`Page` and `PageOffset`, or `GotPage` and
//! `GotPageOffset` to load an address from the GOT). Set
//! [`ImageConfig::arch`] to `"arm64"` for an arm64 image.
//!
//! Each changed unit is kept as a Mach-O object beside the output
//! (`OUTPUT.machlink-units/UNIT.o`), which is what the engine replays and
//! what lets a restarted backend continue from the same image: the
//! objects are the units' persistent form, the engine's state the image's.
//!
//! ```no_run
//! use machlink::image::{ImageConfig, IncrementalImage, Reloc, RelocKind};
//! let config = ImageConfig::new("/path/to/sdk");
//! let mut image = IncrementalImage::create("prog".as_ref(), config).unwrap();
//! // int answer(void) { return 42; }
//! image.define_function("lib", "_answer", &[0xb8, 42, 0, 0, 0, 0xc3], &[]);
//! // int main(void) { return answer(); }  (a tail call)
//! image.define_function(
//!     "main",
//!     "_main",
//!     &[0xe9, 0, 0, 0, 0],
//!     &[Reloc { offset: 1, kind: RelocKind::Call, target: "_answer".into(), addend: 0 }],
//! );
//! image.flush().unwrap();
//! ```

use crate::arch::Arch;
use crate::error::{LinkError, Result};
use crate::link::Stats;
use crate::options::Options;
use object::write::{Object, Relocation, StandardSection, Symbol, SymbolId, SymbolSection};
use object::{BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a relocation patches its field (defined with the targets, which
/// decide its encoding).
pub use crate::arch::BackendRelocKind as RelocKind;

/// A relocation of a definition: patch `offset` with the address of
/// `target` (a symbol name) plus `addend`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub offset: u32,
    pub kind: RelocKind,
    pub target: String,
    pub addend: i64,
}

/// Where a definition goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Code,
    /// Writable data (`__DATA,__data`).
    Data,
    /// Read-only data (`__TEXT,__const`; no absolute pointers).
    Const,
    /// A NUL-terminated string literal (`__TEXT,__cstring`, merged by
    /// content); its name is local to the unit.
    CString,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Definition {
    name: String,
    kind: Kind,
    bytes: Vec<u8>,
    align_log2: u8,
    relocs: Vec<Reloc>,
    global: bool,
}

/// How the image is linked: what a command line would say.
#[derive(Clone, Debug)]
pub struct ImageConfig {
    /// `-syslibroot`: where `usr/lib/libSystem.tbd` is.
    pub syslibroot: PathBuf,
    /// `-lNAME` libraries (default: System).
    pub libraries: Vec<String>,
    /// Further ld64 arguments (e.g. `-no_fixup_chains`).
    pub extra_args: Vec<String>,
    /// `-arch`: `x86_64` (the default) or `arm64`.
    pub arch: String,
}

impl ImageConfig {
    pub fn new(syslibroot: impl Into<PathBuf>) -> ImageConfig {
        ImageConfig {
            syslibroot: syslibroot.into(),
            libraries: vec!["System".into()],
            extra_args: Vec::new(),
            arch: "x86_64".into(),
        }
    }
}

/// An executable kept up to date incrementally.
pub struct IncrementalImage {
    output: PathBuf,
    config: ImageConfig,
    units: BTreeMap<String, Vec<Definition>>,
    dirty: std::collections::BTreeSet<String>,
}

/// The directory where an image's units are kept as objects.
pub fn units_dir(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".machlink-units");
    output.with_file_name(name)
}

impl IncrementalImage {
    /// Starts an image at `output` (nothing is written until [`Self::flush`]).
    pub fn create(output: &Path, config: ImageConfig) -> Result<IncrementalImage> {
        let dir = units_dir(output);
        std::fs::create_dir_all(&dir).map_err(|e| {
            LinkError::file(
                dir.display(),
                format!("cannot create the units directory: {e}"),
            )
        })?;
        Ok(IncrementalImage {
            output: output.to_path_buf(),
            config,
            units: BTreeMap::new(),
            dirty: Default::default(),
        })
    }

    /// Defines or redefines a global function.
    pub fn define_function(&mut self, unit: &str, name: &str, code: &[u8], relocs: &[Reloc]) {
        self.define(unit, name, Kind::Code, code, 4, relocs, true);
    }

    /// Defines or redefines a global data object (`writable`: in __DATA,
    /// else read-only).
    pub fn define_data(
        &mut self,
        unit: &str,
        name: &str,
        bytes: &[u8],
        relocs: &[Reloc],
        writable: bool,
    ) {
        let kind = if writable { Kind::Data } else { Kind::Const };
        self.define(unit, name, kind, bytes, 3, relocs, true);
    }

    /// Defines a string literal, local to its unit (`name` is how the
    /// unit's relocations refer to it); a NUL is appended.
    pub fn define_cstring(&mut self, unit: &str, name: &str, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        self.define(unit, name, Kind::CString, &bytes, 0, &[], false);
    }

    #[allow(clippy::too_many_arguments)]
    fn define(
        &mut self,
        unit: &str,
        name: &str,
        kind: Kind,
        bytes: &[u8],
        align_log2: u8,
        relocs: &[Reloc],
        global: bool,
    ) {
        let def = Definition {
            name: name.to_string(),
            kind,
            bytes: bytes.to_vec(),
            align_log2,
            relocs: relocs.to_vec(),
            global,
        };
        let defs = self.units.entry(unit.to_string()).or_default();
        // A redefinition keeps its place, so its identity (and slot) stays.
        match defs.iter_mut().find(|d| d.name == name) {
            Some(d) if *d == def => return,
            Some(d) => *d = def,
            None => defs.push(def),
        }
        self.dirty.insert(unit.to_string());
    }

    /// Removes a definition; returns whether there was one.
    pub fn remove(&mut self, unit: &str, name: &str) -> bool {
        let Some(defs) = self.units.get_mut(unit) else {
            return false;
        };
        let before = defs.len();
        defs.retain(|d| d.name != name);
        let removed = defs.len() != before;
        if removed {
            self.dirty.insert(unit.to_string());
        }
        removed
    }

    fn unit_path(&self, unit: &str) -> PathBuf {
        units_dir(&self.output).join(format!("{unit}.o"))
    }

    /// Brings the executable up to date: writes the changed units and links
    /// (incrementally when the engine can). `Stats::incremental` says what
    /// happened.
    pub fn flush(&mut self) -> Result<Stats> {
        let arch = crate::arch::by_name(&self.config.arch).ok_or_else(|| {
            LinkError::usage(format!("unsupported architecture '{}'", self.config.arch))
        })?;
        for unit in std::mem::take(&mut self.dirty) {
            let bytes = unit_object(&unit, &self.units[&unit], arch)?;
            let path = self.unit_path(&unit);
            crate::incremental::write_atomically(&path, &bytes)
                .map_err(|e| LinkError::file(path.display(), format!("cannot write: {e}")))?;
        }
        let mut args: Vec<String> = vec![
            "-arch".into(),
            self.config.arch.clone(),
            "-platform_version".into(),
            "macos".into(),
            "13.0".into(),
            "13.0".into(),
            "-syslibroot".into(),
            self.config.syslibroot.display().to_string(),
            "-incremental".into(),
            "-o".into(),
            self.output.display().to_string(),
        ];
        args.extend(self.config.libraries.iter().map(|l| format!("-l{l}")));
        args.extend(self.config.extra_args.iter().cloned());
        args.extend(
            self.units
                .keys()
                .map(|u| self.unit_path(u).display().to_string()),
        );
        let opts = Options::parse(args)?;
        crate::link::link(&opts)
    }
}

/// A unit as a Mach-O object: one atom per definition (subsections via
/// symbols), relocations by symbol.
fn unit_object(unit: &str, defs: &[Definition], arch: &dyn Arch) -> Result<Vec<u8>> {
    let mut obj = Object::new(
        BinaryFormat::MachO,
        arch.object_architecture(),
        Endianness::Little,
    );
    obj.set_subsections_via_symbols();
    // Names are Mach-O symbol names already (C names start with `_`).
    obj.set_mangling(object::write::Mangling::None);
    let mut ids: BTreeMap<&str, SymbolId> = BTreeMap::new();
    let mut placed = Vec::new();
    for d in defs {
        let section = obj.section_id(match d.kind {
            Kind::Code => StandardSection::Text,
            Kind::Data => StandardSection::Data,
            Kind::Const => StandardSection::ReadOnlyData,
            Kind::CString => StandardSection::ReadOnlyString,
        });
        let id = obj.add_symbol(Symbol {
            name: d.name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: if d.kind == Kind::Code {
                SymbolKind::Text
            } else {
                SymbolKind::Data
            },
            scope: if d.global {
                SymbolScope::Dynamic
            } else {
                SymbolScope::Compilation
            },
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
        let offset = obj.add_symbol_data(id, section, &d.bytes, 1 << d.align_log2);
        ids.insert(&d.name, id);
        placed.push((section, offset));
    }
    for (d, &(section, at)) in defs.iter().zip(&placed) {
        for r in &d.relocs {
            if r.offset as usize + if r.kind == RelocKind::Abs64 { 8 } else { 4 } > d.bytes.len() {
                return Err(LinkError::usage(format!(
                    "unit {unit}: relocation at {:#x} lies outside {}",
                    r.offset, d.name
                )));
            }
            let symbol = match ids.get(r.target.as_str()) {
                Some(&id) => id,
                None => {
                    let id = obj.add_symbol(Symbol {
                        name: r.target.as_bytes().to_vec(),
                        value: 0,
                        size: 0,
                        kind: SymbolKind::Unknown,
                        scope: SymbolScope::Dynamic,
                        weak: false,
                        section: SymbolSection::Undefined,
                        flags: SymbolFlags::None,
                    });
                    ids.insert(&r.target, id);
                    id
                }
            };
            let (flags, addend) = arch
                .object_relocation(r.kind, r.addend)
                .map_err(|e| LinkError::usage(format!("unit {unit}: in {}: {e}", d.name)))?;
            obj.add_relocation(
                section,
                Relocation {
                    offset: at + u64::from(r.offset),
                    symbol,
                    addend,
                    flags,
                },
            )
            .map_err(|e| LinkError::usage(format!("unit {unit}: {e}")))?;
        }
    }
    obj.write()
        .map_err(|e| LinkError::usage(format!("unit {unit}: cannot write its object: {e}")))
}

/// A minimal libSystem stub, written by us, for programs that need only a
/// few C library functions (the demo and the API example): a TAPI v4 file
/// to put at `SYSLIBROOT/usr/lib/libSystem.tbd`.
pub const MINIMAL_LIBSYSTEM_TBD: &str = "--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/usr/lib/libSystem.B.dylib'
current-version: 1
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ _printf, _puts, _putchar, _exit, _strlen, _malloc, _free,
                       dyld_stub_binder ]
...
";

/// Writes [`MINIMAL_LIBSYSTEM_TBD`] under `root` (as a syslibroot).
pub fn write_minimal_sdk(root: &Path) -> Result<()> {
    let lib = root.join("usr/lib");
    std::fs::create_dir_all(&lib)
        .and_then(|()| std::fs::write(lib.join("libSystem.tbd"), MINIMAL_LIBSYSTEM_TBD))
        .map_err(|e| LinkError::file(lib.display(), format!("cannot write the SDK stub: {e}")))
}
