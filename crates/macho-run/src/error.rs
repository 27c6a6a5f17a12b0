//! Errors that stop a program before it runs, and the exit status each maps to.

use std::fmt;

/// Exit status for a file we cannot load: malformed, truncated, wrong
/// architecture or using a load command we do not support (as a shell does
/// for "cannot execute").
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status when imports cannot be bound or a dylib cannot be found (as
/// a shell does for "not found").
pub const EXIT_UNBOUND: i32 = 127;

/// Why a Mach-O file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file itself is wrong: `what` says how, `offset` where (file offset).
    #[error("{}: {what}{}", file, OffsetSuffix(*offset))]
    Malformed {
        file: String,
        what: String,
        offset: Option<u64>,
    },
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The operating system refused a mapping we need.
    #[error("{file}: cannot map {what}: {source}")]
    Map {
        file: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Imports that neither the host C library nor our shims provide, and
    /// which the program uses as data (so a lazy trap cannot stand in).
    #[error("{file}: {} unbound import(s): {}", names.len(), names.join(", "))]
    Unbound { file: String, names: Vec<String> },
    /// Variadic libSystem functions (see [`crate::shims::variadic`]) that
    /// the program imports and macho-run has no arm64 shim for: bound to
    /// glibc, they would read their arguments from the wrong place.
    #[error(
        "{file}: {} variadic import(s) with no arm64 shim (macOS passes `...` on the stack, \
         glibc in registers): {}",
        names.len(),
        names.join(", ")
    )]
    Refused { file: String, names: Vec<String> },
    /// A required dylib (not one the host stands in for) is nowhere to be
    /// found: `tried` lists every path looked at.
    #[error("{file}: cannot find dylib {install_name} ({})", Tried(tried))]
    MissingDylib {
        file: String,
        install_name: String,
        tried: Vec<String>,
    },
}

struct Tried<'a>(&'a [String]);

impl fmt::Display for Tried<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            write!(f, "no path to try: the loading images have no LC_RPATH")
        } else {
            write!(f, "tried {}", self.0.join(", "))
        }
    }
}

struct OffsetSuffix(Option<u64>);

impl fmt::Display for OffsetSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(off) => write!(f, " (at file offset {off:#x})"),
            None => Ok(()),
        }
    }
}

impl LoadError {
    /// The process exit status this error maps to.
    pub fn exit_status(&self) -> i32 {
        match self {
            LoadError::Unbound { .. }
            | LoadError::Refused { .. }
            | LoadError::MissingDylib { .. } => EXIT_UNBOUND,
            _ => EXIT_CANNOT_EXECUTE,
        }
    }
}

/// Builds `LoadError::Malformed` values for one file.
#[derive(Clone, Debug)]
pub struct Blame {
    pub file: String,
}

impl Blame {
    pub fn new(file: impl Into<String>) -> Self {
        Blame { file: file.into() }
    }

    /// An error at a known file offset.
    pub fn at(&self, offset: u64, what: impl Into<String>) -> LoadError {
        LoadError::Malformed {
            file: self.file.clone(),
            what: what.into(),
            offset: Some(offset),
        }
    }

    /// An error with no single offset to point at.
    pub fn whole(&self, what: impl Into<String>) -> LoadError {
        LoadError::Malformed {
            file: self.file.clone(),
            what: what.into(),
            offset: None,
        }
    }
}
