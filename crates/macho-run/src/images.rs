//! The program and the dylibs it loads, as dyld sees them: every image
//! mapped, fixed up and bound with two-level namespace lookups.
//!
//! System libraries (`/usr/lib/...`, `/System/Library/...`) are not loaded:
//! the host C library stands in for them through [`crate::shims`]. Every
//! other dylib an image names (LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB,
//! LC_REEXPORT_DYLIB, ...) is found on disk the way dyld finds it:
//!
//! - an absolute install name is the path itself;
//! - `@rpath/NAME` tries NAME under every LC_RPATH of the loading image,
//!   then of the image that loaded it, up to the main executable;
//! - `@executable_path/NAME` is relative to the main executable's directory;
//! - `@loader_path/NAME` is relative to the loading image's directory
//!   (also inside LC_RPATH entries, where it means the image holding them).
//!
//! Each dylib is mapped at a free address (they are linked at 0), so every
//! rebase in it moves by its slide. Dylibs are loaded depth first and their
//! initialisers run dependencies first, before the main program's.

use crate::error::LoadError;
use crate::fixups::{self, find_export, is_weak_export, Export, Import, Plan};
use crate::loader::{self, Mapped};
use crate::macho::{DylibKind, Image};
use crate::shims::{self, Host};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SELF_ORDINAL: i32 = 0;
const MAIN_EXECUTABLE: i32 = -1;
const FLAT_LOOKUP: i32 = -2;
const WEAK_LOOKUP: i32 = -3;

/// How deep re-exports may chain before we give up (a cycle).
const MAX_REEXPORT_DEPTH: u32 = 32;

/// What one of an image's dylib ordinals stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dep {
    /// A system library: the host C library and the shims stand in.
    Host,
    /// A loaded image (index into [`Program::images`]).
    Image(usize),
    /// A weak dylib that is not there: its imports stay unbound.
    Missing,
}

/// One mapped image.
pub struct Loaded<'a> {
    pub image: Image<'a>,
    pub plan: Plan,
    pub mapped: Mapped,
    /// The file it was read from (for the main executable: as given).
    pub path: PathBuf,
    /// The image that loaded it (None for the main executable).
    pub parent: Option<usize>,
    /// Per dylib ordinal (1-based, so ordinal n is `deps[n - 1]`).
    pub deps: Vec<Dep>,
}

/// The main executable (index 0) and every dylib it needs, mapped.
pub struct Program<'a> {
    pub images: Vec<Loaded<'a>>,
    /// Dylibs in the order their initialisers run: dependencies first.
    pub init_order: Vec<usize>,
    exe_dir: PathBuf,
    by_path: HashMap<PathBuf, usize>,
}

/// Whether the host stands in for a dylib of this install name.
pub fn is_host_library(install_name: &str) -> bool {
    install_name.starts_with("/usr/lib/") || install_name.starts_with("/System/Library/")
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl<'a> Program<'a> {
    /// Maps the main executable (already parsed and planned), then finds,
    /// maps and plans every dylib it needs, recursively.
    pub fn load(main: Image<'a>, plan: Plan, file: &str) -> Result<Program<'a>, LoadError> {
        let mapped = loader::map(&main)?;
        let path = PathBuf::from(file);
        let mut program = Program {
            exe_dir: dir_of(&path),
            images: Vec::new(),
            init_order: Vec::new(),
            by_path: HashMap::new(),
        };
        if let Ok(canon) = std::fs::canonicalize(&path) {
            program.by_path.insert(canon, 0);
        }
        program.images.push(Loaded {
            image: main,
            plan,
            mapped,
            path,
            parent: None,
            deps: Vec::new(),
        });
        program.load_deps(0)?;
        Ok(program)
    }

    /// Resolves every dylib ordinal of image `i`, loading what is new.
    fn load_deps(&mut self, i: usize) -> Result<(), LoadError> {
        let names: Vec<(String, DylibKind)> = {
            let image = &self.images[i].image;
            image
                .dylibs
                .iter()
                .cloned()
                .zip(image.dylib_kinds.iter().copied())
                .collect()
        };
        for (name, kind) in names {
            let dep = if is_host_library(&name) {
                Dep::Host
            } else {
                self.find_and_load(i, &name, kind)?
            };
            self.images[i].deps.push(dep);
        }
        Ok(())
    }

    fn find_and_load(
        &mut self,
        loader_index: usize,
        name: &str,
        kind: DylibKind,
    ) -> Result<Dep, LoadError> {
        let candidates = self.candidates(loader_index, name);
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            if kind == DylibKind::Weak {
                return Ok(Dep::Missing);
            }
            return Err(LoadError::MissingDylib {
                file: self.images[loader_index].path.display().to_string(),
                install_name: name.to_string(),
                tried: candidates.iter().map(|p| p.display().to_string()).collect(),
            });
        };
        let canon = std::fs::canonicalize(found).unwrap_or_else(|_| found.clone());
        if let Some(&j) = self.by_path.get(&canon) {
            return Ok(Dep::Image(j));
        }
        let file = found.display().to_string();
        let data = std::fs::read(found).map_err(|source| LoadError::Io {
            file: file.clone(),
            source,
        })?;
        // Leaked on purpose: the image's code and data live as long as the
        // process, and so does everything borrowed from the file.
        let data: &'static [u8] = Vec::leak(data);
        let image = Image::parse_dylib(data, &file)?;
        let plan = fixups::plan(&image)?;
        let mapped = loader::map(&image)?;
        let j = self.images.len();
        self.by_path.insert(canon, j);
        self.images.push(Loaded {
            image,
            plan,
            mapped,
            path: found.clone(),
            parent: Some(loader_index),
            deps: Vec::new(),
        });
        self.load_deps(j)?;
        self.init_order.push(j);
        Ok(Dep::Image(j))
    }

    /// Every path dyld would try for `name` loaded by image `i`, in order.
    fn candidates(&self, i: usize, name: &str) -> Vec<PathBuf> {
        let loader_dir = dir_of(&self.images[i].path);
        if let Some(rest) = name.strip_prefix("@rpath/") {
            let mut out = Vec::new();
            let mut at = Some(i);
            while let Some(k) = at {
                let holder_dir = dir_of(&self.images[k].path);
                for rpath in &self.images[k].image.rpaths {
                    out.push(self.expand(rpath, &holder_dir).join(rest));
                }
                at = self.images[k].parent;
            }
            out
        } else {
            vec![self.expand(name, &loader_dir)]
        }
    }

    /// Replaces a leading `@executable_path` or `@loader_path` (relative to
    /// `loader_dir`).
    fn expand(&self, path: &str, loader_dir: &Path) -> PathBuf {
        let rel = |rest: &str, dir: &Path| {
            let rest = rest.trim_start_matches('/');
            if rest.is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(rest)
            }
        };
        if let Some(rest) = path.strip_prefix("@executable_path") {
            rel(rest, &self.exe_dir)
        } else if let Some(rest) = path.strip_prefix("@loader_path") {
            rel(rest, loader_dir)
        } else {
            PathBuf::from(path)
        }
    }

    /// The runtime address of `name` as image `j` exports it, following
    /// re-exports (trie entries and LC_REEXPORT_DYLIB libraries).
    fn export(&self, j: usize, name: &str, host: &Host, depth: u32) -> Option<u64> {
        if depth > MAX_REEXPORT_DEPTH {
            return None;
        }
        let img = &self.images[j];
        match find_export(&img.image, name) {
            Some(Export::Address(a)) => Some(img.mapped.addr(a)),
            Some(Export::Absolute(v)) => Some(v),
            Some(Export::Reexport { ordinal, name }) => {
                let dep = usize::try_from(ordinal)
                    .ok()
                    .and_then(|o| o.checked_sub(1))
                    .and_then(|o| img.deps.get(o))?;
                self.in_dep(*dep, &name, host, depth + 1)
            }
            None => img
                .image
                .dylib_kinds
                .iter()
                .zip(&img.deps)
                .filter(|(k, _)| **k == DylibKind::Reexport)
                .find_map(|(_, &dep)| self.in_dep(dep, name, host, depth + 1)),
        }
    }

    fn in_dep(&self, dep: Dep, name: &str, host: &Host, depth: u32) -> Option<u64> {
        match dep {
            Dep::Host => host.lookup(name),
            Dep::Image(k) => self.export(k, name, host, depth),
            Dep::Missing => None,
        }
    }

    /// The coalesced definition of a weak symbol, as dyld picks it: among
    /// the images that take part in coalescing (MH_WEAK_DEFINES), the
    /// first in load order (the executable first) with a strong
    /// definition, else the first with a weak one.
    fn weak_definition(&self, name: &str, host: &Host) -> Option<u64> {
        let mut first_weak = None;
        for (j, img) in self.images.iter().enumerate() {
            if !img.image.weak_defines {
                continue;
            }
            let Some(addr) = self.export(j, name, host, 0) else {
                continue;
            };
            if !is_weak_export(&img.image, name) {
                return Some(addr);
            }
            first_weak.get_or_insert(addr);
        }
        first_weak
    }

    /// The address an import of image `i` binds to, if anything has it.
    fn resolve(&self, i: usize, import: &Import, host: &Host) -> Option<u64> {
        let name = import.name.as_str();
        match import.lib_ordinal {
            SELF_ORDINAL => self.export(i, name, host, 0),
            MAIN_EXECUTABLE => self.export(0, name, host, 0),
            // Every image in load order (the main executable first), then
            // the host.
            FLAT_LOOKUP => (0..self.images.len())
                .find_map(|j| self.export(j, name, host, 0))
                .or_else(|| host.lookup(name)),
            WEAK_LOOKUP => self
                .weak_definition(name, host)
                .or_else(|| host.lookup(name)),
            n if n > 0 => match self.images[i].deps.get(n as usize - 1) {
                Some(&dep) => self.in_dep(dep, name, host, 0),
                // An ordinal past the load commands: the host, as before
                // macho-run loaded dylibs.
                None => host.lookup(name),
            },
            _ => host.lookup(name),
        }
    }

    /// Binds and writes the fixups of every image, sets up its
    /// thread-locals and gives its segments their final protection.
    pub fn bind_and_fix(&self, host: &Host) -> Result<(), LoadError> {
        let lazy = std::env::var_os(shims::lazy::LAZY_ENV).is_some();
        for (i, img) in self.images.iter().enumerate() {
            let addrs =
                crate::binder::bind(&img.image, &img.plan, |imp| self.resolve(i, imp, host))?;
            let (plan, mapped) = (&img.plan, &img.mapped);
            // With MACHO_RUN_LAZY, lazy pointers keep pointing at the stub
            // helper and are bound on first call, as dyld does.
            let mut skip = vec![false; plan.fixups.len()];
            if lazy && !plan.lazy.is_empty() {
                let mut records = HashMap::new();
                for &(offset, k) in &plan.lazy {
                    skip[k] = true;
                    let f = &plan.fixups[k];
                    records.insert(
                        offset,
                        (
                            mapped.addr(f.vmaddr),
                            loader::value_of(mapped, plan, &addrs, f),
                        ),
                    );
                }
                shims::lazy::defer(mapped.range(), records);
            }
            loader::apply(mapped, plan, &addrs, &skip);
            // dyld applies the weak binds of images that take part in
            // coalescing.
            let coalesces = img.image.weak_defines || img.image.binds_to_weak;
            for w in plan.weak_binds.iter().filter(|_| coalesces) {
                if let Some(addr) = self.weak_definition(&w.name, host) {
                    // SAFETY: the slot was checked against the segments
                    // when decoded, and protections are not final yet.
                    unsafe { mapped.write_u64(w.vmaddr, addr.wrapping_add(w.addend as u64)) };
                }
            }
            shims::tlv::setup(&img.image, mapped);
            loader::protect(&img.image, mapped)?;
        }
        Ok(())
    }
}
