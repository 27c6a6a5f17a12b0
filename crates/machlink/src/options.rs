//! The ld64-compatible command line: parsing arguments (and `@response`
//! files) into [`Options`].
//!
//! Flags that clang passes but that cannot change our output are accepted
//! and ignored; ignored flags that could matter to the user get a warning
//! ([`Options::warn`]: silenced by `-w`, fatal under `-fatal_warnings`);
//! unknown flags are an error naming the flag, since silently ignoring one
//! could produce a different binary than the user asked for.

use crate::error::LinkError;
use std::path::PathBuf;

/// What kind of file to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    Executable,
    Dylib,
}

/// How undefined symbols are treated (`-undefined`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndefinedTreatment {
    Error,
    Warning,
    DynamicLookup,
}

/// `-commons`: tentative definitions against dylib exports of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commons {
    /// Allocated, dylibs not consulted (the default).
    IgnoreDylibs,
    /// A dylib's definition replaces the tentative one.
    UseDylibs,
    /// A dylib definition of the same name is an error.
    Error,
}

/// One input in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputArg {
    /// A file named on the command line.
    File(PathBuf),
    /// `-lNAME`: searched in the library paths.
    Library(String),
    /// `-framework NAME`.
    Framework(String),
    /// `-force_load PATH`: every member of the archive is loaded.
    ForceLoad(PathBuf),
}

/// How a library named with `-weak-l`, `-needed_framework`, ... is linked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LibAttr {
    /// LC_LOAD_WEAK_DYLIB; every import from it is weak.
    pub weak: bool,
    /// Kept under `-dead_strip_dylibs` even when nothing binds to it.
    pub needed: bool,
    /// LC_REEXPORT_DYLIB (dylib outputs).
    pub reexport: bool,
}

/// Everything the command line asks for.
#[derive(Clone, Debug)]
pub struct Options {
    pub output: PathBuf,
    pub arch: String,
    pub output_kind: OutputKind,
    /// Minimum OS version and SDK version, packed as X.Y.Z → X<<16 | Y<<8 | Z.
    pub platform_min: u32,
    pub platform_sdk: u32,
    pub syslibroots: Vec<PathBuf>,
    pub library_paths: Vec<PathBuf>,
    pub framework_paths: Vec<PathBuf>,
    pub inputs: Vec<InputArg>,
    pub entry: String,
    pub force_undefined: Vec<String>,
    pub allowed_undefined: Vec<String>,
    pub undefined: UndefinedTreatment,
    pub dead_strip: bool,
    /// `-fixup_chains` / `-no_fixup_chains`; None = the default for the target.
    pub fixup_chains: Option<bool>,
    pub strip_debug: bool,
    pub strip_locals: bool,
    pub exported_symbols_list: Option<PathBuf>,
    pub unexported_symbols_list: Option<PathBuf>,
    pub map: Option<PathBuf>,
    pub verbose: bool,
    pub print_version: bool,
    pub install_name: Option<String>,
    pub current_version: u32,
    pub compatibility_version: u32,
    pub rpaths: Vec<String>,
    pub headerpad: u32,
    pub adhoc_codesign: Option<bool>,
    pub all_load: bool,
    pub incremental: bool,
    /// Print the time of every phase (`-print_statistics`, `--time`).
    pub print_statistics: bool,
    /// `-w`: no warnings printed.
    pub suppress_warnings: bool,
    /// `-fatal_warnings`: the first warning fails the link.
    pub fatal_warnings: bool,
    /// Warnings found while parsing, reported when the link starts.
    pub parse_warnings: Vec<String>,
    /// `-no_uuid`: no LC_UUID.
    pub no_uuid: bool,
    /// `-random_uuid`: a random UUID instead of the content hash.
    pub random_uuid: bool,
    /// `-stack_size`: LC_MAIN's stacksize.
    pub stack_size: u64,
    /// `-pagezero_size`: __PAGEZERO's size (and so the image base).
    pub pagezero_size: Option<u64>,
    /// `-headerpad_max_install_names`.
    pub headerpad_max_install_names: bool,
    /// `--threads N` / `-threads N`.
    pub threads: Option<usize>,
    /// `-t`: print each input file as it is loaded.
    pub trace_inputs: bool,
    /// `-dependency_info FILE`.
    pub dependency_info: Option<PathBuf>,
    /// `-no_function_starts`.
    pub no_function_starts: bool,
    /// `-no_data_in_code_info`.
    pub no_data_in_code: bool,
    /// `-search_dylibs_first` (false: `-search_paths_first`, the default).
    pub search_dylibs_first: bool,
    /// `-Z`: no default library and framework paths.
    pub no_default_paths: bool,
    /// `-application_extension`: MH_APP_EXTENSION_SAFE.
    pub application_extension: bool,
    /// `-bind_at_load`: MH_BINDATLOAD.
    pub bind_at_load: bool,
    /// `-mark_dead_strippable_dylib`: MH_DEAD_STRIPPABLE_DYLIB.
    pub dead_strippable_dylib: bool,
    /// `-oso_prefix`: stripped from N_OSO paths ("." = the current dir).
    pub oso_prefix: Option<String>,
    /// `-exported_symbol SYM` (patterns like the list's lines).
    pub exported_symbols: Vec<String>,
    /// `-unexported_symbol SYM`.
    pub unexported_symbols: Vec<String>,
    /// `-dyld_env NAME=VALUE`: LC_DYLD_ENVIRONMENT.
    pub dyld_env: Vec<String>,
    /// `-add_ast_path PATH`: N_AST stabs.
    pub ast_paths: Vec<String>,
    /// `-final_output NAME`: a dylib's install name when `-install_name` is absent.
    pub final_output: Option<String>,
    /// Attributes of the libraries at these indices of `inputs`.
    pub lib_attrs: Vec<(usize, LibAttr)>,
    /// `-dead_strip_dylibs`: no load command for a dylib nothing binds to.
    pub dead_strip_dylibs: bool,
    /// `-no_weak_imports`: a weak import is an error.
    pub no_weak_imports: bool,
    /// `-flat_namespace`: imports are looked up in every loaded image.
    pub flat_namespace: bool,
    /// `-order_file FILE`.
    pub order_file: Option<PathBuf>,
    /// `-data_const` (Some(true)) / `-no_data_const` (Some(false)); None:
    /// lld's default, see [`Options::data_const`].
    pub data_const: Option<bool>,
    /// `-why_live SYM`: print why SYM survives `-dead_strip`.
    pub why_live: Vec<String>,
    /// `-sectcreate SEG SECT FILE`.
    pub sectcreate: Vec<(String, String, PathBuf)>,
    /// `-init SYM`: the first initializer.
    pub init: Option<String>,
    /// `-alias SYM ALIAS`.
    pub aliases: Vec<(String, String)>,
    /// `-alias_list FILE`.
    pub alias_lists: Vec<PathBuf>,
    /// `-keep_private_externs`: private externs stay external symbols.
    pub keep_private_externs: bool,
    /// `-commons`.
    pub commons: Commons,
    /// `-source_version A.B.C.D.E`, packed as LC_SOURCE_VERSION holds it.
    pub source_version: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: PathBuf::from("a.out"),
            arch: String::new(),
            output_kind: OutputKind::Executable,
            platform_min: 0,
            platform_sdk: 0,
            syslibroots: Vec::new(),
            library_paths: Vec::new(),
            framework_paths: Vec::new(),
            inputs: Vec::new(),
            entry: "_main".into(),
            force_undefined: Vec::new(),
            allowed_undefined: Vec::new(),
            undefined: UndefinedTreatment::Error,
            dead_strip: false,
            fixup_chains: None,
            strip_debug: false,
            strip_locals: false,
            exported_symbols_list: None,
            unexported_symbols_list: None,
            map: None,
            verbose: false,
            print_version: false,
            install_name: None,
            // lld's and ld64's defaults: 0.0.0 unless given.
            current_version: 0,
            compatibility_version: 0,
            rpaths: Vec::new(),
            headerpad: 32,
            adhoc_codesign: None,
            all_load: false,
            incremental: false,
            print_statistics: false,
            suppress_warnings: false,
            fatal_warnings: false,
            parse_warnings: Vec::new(),
            no_uuid: false,
            random_uuid: false,
            stack_size: 0,
            pagezero_size: None,
            headerpad_max_install_names: false,
            threads: None,
            trace_inputs: false,
            dependency_info: None,
            no_function_starts: false,
            no_data_in_code: false,
            search_dylibs_first: false,
            no_default_paths: false,
            application_extension: false,
            dead_strippable_dylib: false,
            bind_at_load: false,
            oso_prefix: None,
            exported_symbols: Vec::new(),
            unexported_symbols: Vec::new(),
            dyld_env: Vec::new(),
            ast_paths: Vec::new(),
            final_output: None,
            lib_attrs: Vec::new(),
            dead_strip_dylibs: false,
            no_weak_imports: false,
            flat_namespace: false,
            order_file: None,
            data_const: None,
            why_live: Vec::new(),
            sectcreate: Vec::new(),
            init: None,
            aliases: Vec::new(),
            alias_lists: Vec::new(),
            keep_private_externs: false,
            commons: Commons::IgnoreDylibs,
            source_version: 0,
        }
    }
}

/// Flags that take no value and cannot change machlink's output: accepted
/// silently.
const IGNORED_FLAGS: &[&str] = &[
    "-demangle",
    "-dynamic",
    "-no_deduplicate",
    "-deduplicate",
    "-no_uuid_check",
    "-no_application_extension",
    "-warn_commons",
    "-no_warn_duplicate_libraries",
    "-no_objc_category_merging",
    "-objc_category_merging",
    "-execute",
    "-no_implicit_dylibs",
    // machlink does no LTO, the only thing -export_dynamic affects in ld64.
    "-export_dynamic",
    "-color_diagnostics",
    "--color-diagnostics",
    // machlink's output is already deterministic.
    "-reproducible",
    "-ld_classic",
    "-ld_new",
    "-search_paths_first",
];

/// Flags that take no value and are ignored although they could matter to
/// the user: accepted with a warning saying why.
const WARNED_FLAGS: &[(&str, &str)] = &[
    (
        "-no_compact_unwind",
        "machlink always writes __unwind_info from the objects' compact unwind entries",
    ),
    (
        "-ObjC",
        "machlink does not link Objective-C (archive members are loaded only for the symbols they define)",
    ),
];

/// Flags that take one value and cannot change machlink's output.
const IGNORED_WITH_VALUE: &[&str] = &[
    "-lto_library",
    "-object_path_lto",
    "-cache_path_lto",
    "-prune_interval_lto",
    "-prune_after_lto",
    "-max_relative_cache_size_lto",
    "-objc_abi_version",
];

/// Flags that take one value and are ignored with a warning.
const WARNED_WITH_VALUE: &[(&str, &str)] = &[
    (
        "-mllvm",
        "machlink does no LTO, so there is no LLVM to pass options to",
    ),
    (
        "-sectalign_defaults",
        "machlink aligns sections as their inputs ask",
    ),
];

/// The attribute a `-weak...`, `-needed...` or `-reexport...` flag gives.
fn lib_attr(flag: &str) -> LibAttr {
    LibAttr {
        weak: flag.starts_with("-weak"),
        needed: flag.starts_with("-needed"),
        reexport: flag.starts_with("-reexport"),
    }
}

/// Packs "X[.Y[.Z]]" as ld64 does: X << 16 | Y << 8 | Z.
pub fn parse_version(s: &str) -> Option<u32> {
    let mut parts = s.split('.');
    let x: u32 = parts.next()?.parse().ok()?;
    let y: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let z: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() || x > 0xffff || y > 0xff || z > 0xff {
        return None;
    }
    Some(x << 16 | y << 8 | z)
}

/// Packs "A[.B[.C[.D[.E]]]]" as LC_SOURCE_VERSION does: A in 24 bits,
/// the others in 10 bits each.
pub fn parse_source_version(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 5 {
        return None;
    }
    let mut v = 0u64;
    for (i, p) in parts.iter().enumerate() {
        let n: u64 = p.parse().ok()?;
        let bits = if i == 0 { 24 } else { 10 };
        if n >= 1 << bits {
            return None;
        }
        v |= n << (40 - 10 * i as u64);
    }
    Some(v)
}

/// Splits a response file's text into arguments: whitespace separates,
/// single and double quotes group, backslash escapes the next character.
fn split_response(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_arg = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_arg = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    args
}

struct ArgIter {
    args: std::collections::VecDeque<String>,
    /// Response files expanded so far, against include loops.
    expanded: u32,
}

impl ArgIter {
    /// The next argument in flag position; `@file` there is replaced by
    /// the file's arguments (but not when it is the value of a flag, as in
    /// `-rpath @loader_path/..`).
    fn next_flag(&mut self) -> Result<Option<String>, LinkError> {
        while let Some(arg) = self.args.pop_front() {
            let Some(path) = arg.strip_prefix('@').filter(|p| !p.is_empty()) else {
                return Ok(Some(arg));
            };
            self.expanded += 1;
            if self.expanded > 1000 {
                return Err(LinkError::usage(format!(
                    "too many nested response files at {arg}"
                )));
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| LinkError::usage(format!("cannot read response file {path}: {e}")))?;
            for (i, a) in split_response(&text).into_iter().enumerate() {
                self.args.insert(i, a);
            }
        }
        Ok(None)
    }

    fn value(&mut self, flag: &str) -> Result<String, LinkError> {
        self.args
            .pop_front()
            .ok_or_else(|| LinkError::usage(format!("{flag} needs an argument")))
    }

    /// A hexadecimal number, with or without `0x`, as ld64 reads sizes.
    fn hex(&mut self, flag: &str) -> Result<u64, LinkError> {
        let v = self.value(flag)?;
        let digits = v.trim_start_matches("0x").trim_start_matches("0X");
        u64::from_str_radix(digits, 16)
            .map_err(|_| LinkError::usage(format!("{flag}: malformed hexadecimal number '{v}'")))
    }

    fn version(&mut self, flag: &str) -> Result<u32, LinkError> {
        let v = self.value(flag)?;
        parse_version(&v)
            .ok_or_else(|| LinkError::usage(format!("{flag}: malformed version '{v}'")))
    }
}

impl Options {
    /// The target `-arch` names (checked when the options were parsed;
    /// x86_64 by default).
    pub fn target(&self) -> &'static dyn crate::arch::Arch {
        crate::arch::by_name(&self.arch).unwrap_or(&crate::arch::X86_64)
    }

    /// Parses ld64-style arguments (without the program name).
    pub fn parse(args: Vec<String>) -> Result<Options, LinkError> {
        let mut o = Options::default();
        let mut args: std::collections::VecDeque<String> = args.into();
        // `-flavor darwin` (what rustc passes to an ld64.lld-flavoured
        // linker) is only recognised as the first argument pair, as in lld.
        if args.front().map(String::as_str) == Some("-flavor") {
            args.pop_front();
            match args.pop_front() {
                Some(f) if f == "darwin" || f == "ld64" || f == "ld64.lld" => {}
                Some(f) => {
                    return Err(LinkError::usage(format!(
                        "-flavor {f}: machlink is a Mach-O linker; the only flavor is darwin"
                    )))
                }
                None => return Err(LinkError::usage("-flavor needs an argument")),
            }
        }
        let mut it = ArgIter { args, expanded: 0 };
        while let Some(arg) = it.next_flag()? {
            o.parse_one(&arg, &mut it)?;
        }
        // `-v` alone asks for the version, as with ld64.
        if o.print_version || (o.verbose && o.inputs.is_empty()) {
            o.print_version = true;
            return Ok(o);
        }
        if o.arch.is_empty() {
            o.arch = "x86_64".into();
        }
        if crate::arch::by_name(&o.arch).is_none() {
            let known: Vec<&str> = crate::arch::ALL.iter().map(|a| a.name()).collect();
            return Err(LinkError::usage(format!(
                "unsupported architecture '{}' (machlink links {})",
                o.arch,
                known.join(", ")
            )));
        }
        if o.inputs.is_empty() {
            return Err(LinkError::usage("no input files".to_string()));
        }
        if o.platform_min == 0 {
            o.platform_min = 0x000b_0000; // macOS 11, the oldest x86_64 target we default to
        }
        if o.platform_sdk == 0 {
            o.platform_sdk = o.platform_min;
        }
        if o.stack_size != 0 && o.output_kind != OutputKind::Executable {
            return Err(LinkError::usage(
                "-stack_size option can only be used when linking a main executable",
            ));
        }
        if o.pagezero_size.is_some() && o.output_kind != OutputKind::Executable {
            o.parse_warnings
                .push("-pagezero_size is ignored when not linking a main executable".into());
            o.pagezero_size = None;
        }
        if o.incremental && (o.no_uuid || o.random_uuid) {
            return Err(LinkError::usage(
                "-no_uuid and -random_uuid cannot be used with -incremental (updates keep the UUID current)",
            ));
        }
        if o.lib_attrs.iter().any(|(_, a)| a.reexport) && o.output_kind != OutputKind::Dylib {
            return Err(LinkError::usage(
                "-reexport_library, -reexport_framework and -reexport-l can only be used when creating a dynamic library",
            ));
        }
        for (what, on) in [
            ("-dead_strip_dylibs", o.dead_strip_dylibs),
            ("-flat_namespace", o.flat_namespace),
            ("-sectcreate", !o.sectcreate.is_empty()),
            ("-keep_private_externs", o.keep_private_externs),
            ("-init", o.init.is_some()),
            (
                "-alias and -alias_list",
                !o.aliases.is_empty() || !o.alias_lists.is_empty(),
            ),
            (
                "-weak_library, -weak_framework and -weak-l",
                o.lib_attrs.iter().any(|(_, a)| a.weak),
            ),
        ] {
            if o.incremental && on {
                return Err(LinkError::usage(format!(
                    "{what} cannot be used with -incremental yet"
                )));
            }
        }
        if o.incremental && o.oso_prefix.is_some() {
            return Err(LinkError::usage(
                "-oso_prefix is not supported with -incremental yet",
            ));
        }
        if o.incremental && o.no_function_starts {
            o.parse_warnings.push(
                "-no_function_starts is ignored with -incremental: updates find functions through the table".into(),
            );
            o.no_function_starts = false;
        }
        if !o.dyld_env.is_empty() && o.output_kind != OutputKind::Executable {
            return Err(LinkError::usage(
                "-dyld_env can only be used when linking a main executable",
            ));
        }
        Ok(o)
    }

    /// Reports a warning: printed as `machlink: warning: ...` on stderr,
    /// nothing under `-w`, and an error under `-fatal_warnings` (which
    /// wins over `-w`, as in lld).
    pub fn warn(&self, what: &str) -> Result<(), LinkError> {
        if self.fatal_warnings {
            return Err(LinkError::usage(what.to_string()));
        }
        if !self.suppress_warnings {
            // A closed stderr must not end the link.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "machlink: warning: {what}");
        }
        Ok(())
    }

    /// Whether this link writes LC_DYLD_CHAINED_FIXUPS (the default from macOS 12 on).
    pub fn use_chained_fixups(&self) -> bool {
        self.fixup_chains
            .unwrap_or(self.platform_min >= 0x000c_0000)
    }

    fn parse_one(&mut self, arg: &str, it: &mut ArgIter) -> Result<(), LinkError> {
        match arg {
            "-o" => self.output = it.value(arg)?.into(),
            "-arch" => self.arch = it.value(arg)?,
            "-platform_version" => {
                let platform = it.value(arg)?;
                if platform != "macos" && platform != "1" {
                    return Err(LinkError::usage(format!(
                        "-platform_version: unsupported platform '{platform}' (machlink targets macos)"
                    )));
                }
                self.platform_min = it.version(arg)?;
                self.platform_sdk = it.version(arg)?;
            }
            "-macos_version_min" | "-macosx_version_min" => self.platform_min = it.version(arg)?,
            "-syslibroot" => self.syslibroots.push(it.value(arg)?.into()),
            "-L" => self.library_paths.push(it.value(arg)?.into()),
            "-F" => self.framework_paths.push(it.value(arg)?.into()),
            "-l" => self.inputs.push(InputArg::Library(it.value(arg)?)),
            "-framework" => self.inputs.push(InputArg::Framework(it.value(arg)?)),
            "-force_load" => self.inputs.push(InputArg::ForceLoad(it.value(arg)?.into())),
            "-all_load" => self.all_load = true,
            "-noall_load" => self.all_load = false,
            "-e" => self.entry = it.value(arg)?,
            "-u" => self.force_undefined.push(it.value(arg)?),
            "-U" => self.allowed_undefined.push(it.value(arg)?),
            "-undefined" => {
                self.undefined = match it.value(arg)?.as_str() {
                    "error" => UndefinedTreatment::Error,
                    "warning" | "suppress" => UndefinedTreatment::Warning,
                    "dynamic_lookup" => UndefinedTreatment::DynamicLookup,
                    other => {
                        return Err(LinkError::usage(format!(
                            "-undefined: unknown treatment '{other}'"
                        )))
                    }
                }
            }
            "-dead_strip" => self.dead_strip = true,
            "-no_dead_strip" => self.dead_strip = false,
            "-fixup_chains" => self.fixup_chains = Some(true),
            "-no_fixup_chains" => self.fixup_chains = Some(false),
            "-pie" => {}
            "-no_pie" => {
                return Err(LinkError::usage(
                    "-no_pie is not supported for x86_64: macOS requires PIE executables"
                        .to_string(),
                ))
            }
            "-S" => self.strip_debug = true,
            "-x" => self.strip_locals = true,
            "-exported_symbols_list" => self.exported_symbols_list = Some(it.value(arg)?.into()),
            "-unexported_symbols_list" => {
                self.unexported_symbols_list = Some(it.value(arg)?.into())
            }
            "-map" => self.map = Some(it.value(arg)?.into()),
            "-v" => self.verbose = true,
            "--version" | "-version_details" => self.print_version = true,
            "-dylib" => self.output_kind = OutputKind::Dylib,
            "-install_name" | "-dylib_install_name" => self.install_name = Some(it.value(arg)?),
            "-current_version" | "-dylib_current_version" => {
                self.current_version = it.version(arg)?
            }
            "-compatibility_version" | "-dylib_compatibility_version" => {
                self.compatibility_version = it.version(arg)?
            }
            "-rpath" => self.rpaths.push(it.value(arg)?),
            "-headerpad" => {
                let v = it.value(arg)?;
                let hex = v.trim_start_matches("0x").trim_start_matches("0X");
                self.headerpad = u32::from_str_radix(hex, 16)
                    .map_err(|_| LinkError::usage(format!("-headerpad: malformed size '{v}'")))?;
            }
            "-adhoc_codesign" => self.adhoc_codesign = Some(true),
            "-no_adhoc_codesign" => self.adhoc_codesign = Some(false),
            "-incremental" => self.incremental = true,
            "-print_statistics" | "--time" => self.print_statistics = true,
            "-flavor" => {
                return Err(LinkError::usage(
                    "-flavor must be the first argument (-flavor darwin)",
                ))
            }
            "-filelist" => {
                let v = it.value(arg)?;
                let (list, dir) = match v.split_once(',') {
                    Some((l, d)) => (l.to_string(), Some(PathBuf::from(d))),
                    None => (v.clone(), None),
                };
                let text = std::fs::read_to_string(&list).map_err(|e| {
                    LinkError::usage(format!("-filelist: cannot read {list}: {e}"))
                })?;
                for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                    let p = PathBuf::from(line);
                    let p = match &dir {
                        Some(d) if p.is_relative() => d.join(p),
                        _ => p,
                    };
                    self.inputs.push(InputArg::File(p));
                }
            }
            "-w" => self.suppress_warnings = true,
            "-fatal_warnings" => self.fatal_warnings = true,
            "-no_uuid" => self.no_uuid = true,
            "-random_uuid" => self.random_uuid = true,
            "-stack_size" => {
                let n = it.hex(arg)?;
                if n % 0x1000 != 0 {
                    return Err(LinkError::usage(format!(
                        "-stack_size {n:#x}: must be a multiple of the page size (0x1000)"
                    )));
                }
                self.stack_size = n;
            }
            "-pagezero_size" => {
                let n = it.hex(arg)?;
                if n % 0x1000 != 0 {
                    return Err(LinkError::usage(format!(
                        "-pagezero_size {n:#x}: must be page aligned (a multiple of 0x1000)"
                    )));
                }
                if n == 0 {
                    return Err(LinkError::usage(
                        "-pagezero_size 0 is not supported yet (an executable without __PAGEZERO)",
                    ));
                }
                self.pagezero_size = Some(n);
            }
            "-headerpad_max_install_names" => self.headerpad_max_install_names = true,
            "--threads" | "-threads" => {
                let v = it.value(arg)?;
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => self.threads = Some(n),
                    _ => {
                        return Err(LinkError::usage(format!(
                            "{arg}: expected a positive integer, but got '{v}'"
                        )))
                    }
                }
            }
            _ if arg.starts_with("--threads=") => {
                let v = &arg["--threads=".len()..];
                match v.parse::<usize>() {
                    Ok(n) if n > 0 => self.threads = Some(n),
                    _ => {
                        return Err(LinkError::usage(format!(
                            "--threads: expected a positive integer, but got '{v}'"
                        )))
                    }
                }
            }
            "-t" => self.trace_inputs = true,
            "-dependency_info" => self.dependency_info = Some(it.value(arg)?.into()),
            "-no_function_starts" => self.no_function_starts = true,
            "-function_starts" => self.no_function_starts = false,
            "-no_data_in_code_info" => self.no_data_in_code = true,
            "-data_in_code_info" => self.no_data_in_code = false,
            "-search_dylibs_first" => self.search_dylibs_first = true,
            "-search_paths_first" => self.search_dylibs_first = false,
            "-Z" => self.no_default_paths = true,
            "-application_extension" => self.application_extension = true,
            "-no_application_extension" => self.application_extension = false,
            "-mark_dead_strippable_dylib" => self.dead_strippable_dylib = true,
            "-bind_at_load" => self.bind_at_load = true,
            "-oso_prefix" => self.oso_prefix = Some(it.value(arg)?),
            "-exported_symbol" => self.exported_symbols.push(it.value(arg)?),
            "-unexported_symbol" => self.unexported_symbols.push(it.value(arg)?),
            "-sdk_version" => self.platform_sdk = it.version(arg)?,
            "-dyld_env" => {
                let v = it.value(arg)?;
                if !v.contains('=') {
                    return Err(LinkError::usage(format!(
                        "-dyld_env: '{v}' is not of the form NAME=VALUE"
                    )));
                }
                self.dyld_env.push(v);
            }
            "-add_ast_path" => self.ast_paths.push(it.value(arg)?),
            "-final_output" => self.final_output = Some(it.value(arg)?),
            "-commons" => match it.value(arg)?.as_str() {
                "ignore_dylibs" => self.commons = Commons::IgnoreDylibs,
                "use_dylibs" => self.commons = Commons::UseDylibs,
                "error" => self.commons = Commons::Error,
                v => {
                    return Err(LinkError::usage(format!(
                        "-commons: unknown treatment '{v}' (expected ignore_dylibs, use_dylibs or error)"
                    )))
                }
            },
            _ if IGNORED_FLAGS.contains(&arg) => {}
            _ if IGNORED_WITH_VALUE.contains(&arg) => {
                it.value(arg)?;
            }
            _ if WARNED_FLAGS.iter().any(|(f, _)| *f == arg) => {
                let why = WARNED_FLAGS.iter().find(|(f, _)| *f == arg).map_or("", |w| w.1);
                self.parse_warnings.push(format!("{arg} is ignored: {why}"));
            }
            _ if WARNED_WITH_VALUE.iter().any(|(f, _)| *f == arg) => {
                it.value(arg)?;
                let why = WARNED_WITH_VALUE
                    .iter()
                    .find(|(f, _)| *f == arg)
                    .map_or("", |w| w.1);
                self.parse_warnings.push(format!("{arg} is ignored: {why}"));
            }
            "-dead_strip_dylibs" => self.dead_strip_dylibs = true,
            "-no_weak_imports" => self.no_weak_imports = true,
            "-flat_namespace" => self.flat_namespace = true,
            "-order_file" => self.order_file = Some(it.value(arg)?.into()),
            "-no_data_const" => self.data_const = Some(false),
            "-why_live" => self.why_live.push(it.value(arg)?),
            "-sectcreate" | "-segcreate" => {
                let seg = it.value(arg)?;
                let sect = it.value(arg)?;
                let file = it.value(arg)?;
                for (what, name) in [("segment", &seg), ("section", &sect)] {
                    if name.is_empty() || name.len() > 16 {
                        return Err(LinkError::usage(format!(
                            "{arg}: {what} name '{name}' must be 1 to 16 characters"
                        )));
                    }
                }
                self.sectcreate.push((seg, sect, file.into()));
            }
            "-init" => self.init = Some(it.value(arg)?),
            "-alias" => {
                let sym = it.value(arg)?;
                let alias = it.value(arg)?;
                self.aliases.push((sym, alias));
            }
            "-alias_list" => self.alias_lists.push(it.value(arg)?.into()),
            "-keep_private_externs" => self.keep_private_externs = true,
            "-source_version" => {
                let v = it.value(arg)?;
                self.source_version = parse_source_version(&v).ok_or_else(|| {
                    LinkError::usage(format!("-source_version: malformed version '{v}'"))
                })?;
            }
            "-data_const" => self.data_const = Some(true),
            "-twolevel_namespace" => self.flat_namespace = false,
            "-weak_library" | "-needed_library" | "-reexport_library" => {
                let attr = lib_attr(arg);
                self.inputs.push(InputArg::File(it.value(arg)?.into()));
                self.lib_attrs.push((self.inputs.len() - 1, attr));
            }
            "-weak_framework" | "-needed_framework" | "-reexport_framework" => {
                let attr = lib_attr(arg);
                let v = it.value(arg)?;
                // NAME[,SUFFIX]: the suffixed variant is not looked for.
                let name = v.split(',').next().unwrap_or(&v).to_string();
                self.inputs.push(InputArg::Framework(name));
                self.lib_attrs.push((self.inputs.len() - 1, attr));
            }
            _ if ["-weak-l", "-needed-l", "-reexport-l"]
                .iter()
                .any(|p| arg.starts_with(p) && arg.len() > p.len()) =>
            {
                let (flag, name) = arg.split_at(arg.find("-l").map_or(0, |i| i + 2));
                self.inputs.push(InputArg::Library(name.to_string()));
                self.lib_attrs.push((self.inputs.len() - 1, lib_attr(flag)));
            }
            _ if arg.starts_with("-lazy-l") || arg == "-lazy_library" || arg == "-lazy_framework" => {
                let flag = if arg.starts_with("-lazy-l") { "-lazy-l" } else { arg };
                return Err(LinkError::usage(format!(
                    "{flag} is not supported (ld64 no longer supports lazy dylibs either)"
                )));
            }
            _ if arg.starts_with("-l") && arg.len() > 2 => {
                self.inputs.push(InputArg::Library(arg[2..].into()))
            }
            _ if arg.starts_with("-L") && arg.len() > 2 => self.library_paths.push(arg[2..].into()),
            _ if arg.starts_with("-F") && arg.len() > 2 => {
                self.framework_paths.push(arg[2..].into())
            }
            _ if arg.starts_with('-') && arg.len() > 1 => {
                return Err(LinkError::usage(format!("unknown option: {arg}")))
            }
            _ => self.inputs.push(InputArg::File(arg.into())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, LinkError> {
        Options::parse(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_clang_style_command_line_parses() {
        let o = parse(&[
            "-demangle",
            "-lto_library",
            "/x/libLTO.dylib",
            "-dynamic",
            "-arch",
            "x86_64",
            "-platform_version",
            "macos",
            "15.0.0",
            "15.0",
            "-syslibroot",
            "/sdk",
            "-o",
            "out",
            "-L/usr/local/lib",
            "a.o",
            "-lSystem",
            "-no_fixup_chains",
        ])
        .unwrap();
        assert_eq!(o.output, PathBuf::from("out"));
        assert_eq!(o.platform_min, 0x000f_0000);
        assert_eq!(
            o.inputs,
            vec![
                InputArg::File("a.o".into()),
                InputArg::Library("System".into())
            ]
        );
        assert!(!o.use_chained_fixups());
    }

    #[test]
    fn flavor_darwin_only_first() {
        let o = parse(&["-flavor", "darwin", "-o", "x", "a.o"]).unwrap();
        assert_eq!(o.output, PathBuf::from("x"));
        let e = parse(&["-flavor", "gnu", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("-flavor gnu"), "{e}");
        let e = parse(&["a.o", "-flavor", "darwin"]).unwrap_err();
        assert!(e.to_string().contains("first argument"), "{e}");
        let e = parse(&["-flavor"]).unwrap_err();
        assert!(e.to_string().contains("-flavor needs an argument"), "{e}");
    }

    #[test]
    fn library_attributes_and_sizes() {
        let o = parse(&[
            "-weak-lfoo",
            "-needed_framework",
            "Bar,_debug",
            "-reexport_library",
            "/x/libz.dylib",
            "-dylib",
            "-stack_size",
            "0x2000",
        ]);
        assert!(o.unwrap_err().to_string().contains("-stack_size option"));
        let o = parse(&[
            "-weak-lfoo",
            "-needed_framework",
            "Bar,_debug",
            "-reexport_library",
            "/x/libz.dylib",
            "-dylib",
            "-pagezero_size",
            "1000",
        ])
        .unwrap();
        assert_eq!(
            o.inputs,
            vec![
                InputArg::Library("foo".into()),
                InputArg::Framework("Bar".into()),
                InputArg::File("/x/libz.dylib".into()),
            ]
        );
        let attrs: Vec<LibAttr> = o.lib_attrs.iter().map(|a| a.1).collect();
        assert!(attrs[0].weak && attrs[1].needed && attrs[2].reexport);
        // Not an executable: -pagezero_size is dropped with a warning.
        assert_eq!(o.pagezero_size, None);
        assert_eq!(o.parse_warnings.len(), 1);
        let e = parse(&["-stack_size", "0x1234", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("multiple of the page size"), "{e}");
        let e = parse(&["-stack_size", "zz", "a.o"]).unwrap_err();
        assert!(
            e.to_string().contains("malformed hexadecimal number 'zz'"),
            "{e}"
        );
        let e = parse(&["--threads", "x", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("expected a positive integer"), "{e}");
        assert_eq!(parse(&["--threads=3", "a.o"]).unwrap().threads, Some(3));
    }

    #[test]
    fn incremental_rejects_what_updates_cannot_keep() {
        for flag in [
            &["-no_uuid"][..],
            &["-dead_strip_dylibs"],
            &["-flat_namespace"],
            &["-init", "_f"],
            &["-oso_prefix", "/x"],
        ] {
            let mut args = vec!["-incremental", "a.o"];
            args.extend_from_slice(flag);
            assert!(parse(&args).is_err(), "{flag:?}");
        }
    }

    #[test]
    fn warnings_fatal_wins_over_w() {
        let o = parse(&["-w", "-fatal_warnings", "-ObjC", "a.o"]).unwrap();
        assert!(o.warn("x").is_err());
        let o = parse(&["-w", "a.o"]).unwrap();
        assert!(o.warn("x").is_ok());
    }

    #[test]
    fn unknown_flags_and_no_pie_are_errors() {
        let e = parse(&["-frobnicate", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("unknown option: -frobnicate"), "{e}");
        let e = parse(&["-no_pie", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("-no_pie"), "{e}");
    }

    #[test]
    fn source_versions_pack_like_ld64() {
        assert_eq!(
            parse_source_version("1.2.3.4.5"),
            Some(1 << 40 | 2 << 30 | 3 << 20 | 4 << 10 | 5)
        );
        assert_eq!(parse_source_version("7"), Some(7 << 40));
        assert_eq!(parse_source_version("1.1024"), None);
        assert_eq!(parse_source_version("1.2.3.4.5.6"), None);
        let e = parse(&["-lazy-lfoo", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("-lazy-l is not supported"), "{e}");
    }

    #[test]
    fn versions_pack_like_ld64() {
        assert_eq!(parse_version("10.15.4"), Some(0x000a_0f04));
        assert_eq!(parse_version("12"), Some(0x000c_0000));
        assert_eq!(parse_version("1.x"), None);
    }

    #[test]
    fn response_files_split_with_quotes() {
        assert_eq!(
            split_response("a 'b c' \"d e\" f\\ g\n"),
            vec!["a", "b c", "d e", "f g"]
        );
    }
}
