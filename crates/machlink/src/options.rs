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
    /// `-bundle`: MH_BUNDLE, loaded with dlopen (a plugin).
    Bundle,
}

/// How undefined symbols are treated (`-undefined`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndefinedTreatment {
    Error,
    /// A warning for each, then looked up by dyld (flat namespace only).
    Warning,
    /// Looked up by dyld, silently (flat namespace only).
    Suppress,
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
    /// `-load_hidden`, `-hidden-l`: an archive whose members' global
    /// symbols become private externs.
    pub hidden: bool,
    /// LC_LOAD_UPWARD_DYLIB: a dependency that may depend on the output in
    /// turn (cycles between system libraries).
    pub upward: bool,
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
    /// `-ObjC`: load every archive member that defines an Objective-C
    /// class or category (or holds Swift code).
    pub objc: bool,
    /// `-objc_stubs_fast` (default) / `-objc_stubs_small`.
    pub objc_stubs: crate::arch::ObjcStubsMode,
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
    /// `-bundle_loader EXE`: the executable a bundle's undefined symbols
    /// are bound to.
    pub bundle_loader: Option<PathBuf>,
    /// `-sectalign SEG SECT ALIGN`: (segment, section, log2 of the alignment).
    pub sectalign: Vec<(String, String, u8)>,
    /// `-umbrella NAME`: LC_SUB_FRAMEWORK.
    pub umbrella: Option<String>,
    /// `-sub_library NAME` / `-sub_umbrella NAME`: (flag, name) of a
    /// linked dylib to re-export.
    pub sub_libraries: Vec<(String, String)>,
    /// `-pie` (the default) / `-no_pie`: MH_PIE on an executable.
    pub pie: bool,
    /// `-init_offsets`: `__init_offsets` even without chained fixups (see
    /// [`crate::init_offsets`]).
    pub init_offsets: bool,
    /// The last `-undefined` value that is not a known treatment (lld
    /// warns and keeps `error`).
    pub unknown_undefined: Option<String>,
    /// `-help`: print a usage summary instead of linking.
    pub print_help: bool,
    /// `-no_exported_symbols`: nothing is exported.
    pub no_exported_symbols: bool,
    /// Header flags ld64 sets on request: MH_ALLOW_STACK_EXECUTION,
    /// MH_ROOT_SAFE, MH_SETUID_SAFE, MH_FORCE_FLAT.
    pub header_flags: u32,
    /// `-allowable_client NAME`: LC_SUB_CLIENT (dylibs).
    pub allowable_clients: Vec<String>,
    /// `-add_empty_section SEG SECT`.
    pub empty_sections: Vec<(String, String)>,
    /// `-why_load`: say which symbol loaded each archive member.
    pub why_load: bool,
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
            objc: false,
            objc_stubs: crate::arch::ObjcStubsMode::Fast,
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
            bundle_loader: None,
            sectalign: Vec::new(),
            umbrella: None,
            sub_libraries: Vec::new(),
            pie: true,
            init_offsets: false,
            unknown_undefined: None,
            print_help: false,
            no_exported_symbols: false,
            header_flags: 0,
            allowable_clients: Vec::new(),
            empty_sections: Vec::new(),
            why_load: false,
        }
    }
}

/// Options accepted and ignored because they cannot change machlink's
/// output (see the README's option table for why), with how many values
/// each takes.
const IGNORED: &[(&str, usize)] = &[
    // clang's driver passes `-mllvm -enable-linkonceodr-outlining` to
    // every link.
    ("-mllvm", 1),
    ("-dynamic", 0),
    ("-force_load_swift_libs", 0),
    ("-no_dtrace_dof", 0),
    ("-no_order_inits", 0),
    ("-no_order_data", 0),
    ("-exported_symbols_order", 1),
    ("-no_branch_islands", 0),
    ("-no_deduplicate", 0),
    ("--deduplicate-strings", 0),
    ("--icf=none", 0),
    ("--keep-icf-stabs", 0),
    ("--no-call-graph-profile-sort", 0),
    ("-client_name", 1),
    ("-allow_heap_execute", 0),
    ("-export_dynamic", 0),
    ("-d", 0),
    ("-save-temps", 0),
    ("-trace_symbol_layout", 0),
    ("-warn_stabs", 0),
    ("-reproducible", 0),
    ("-verbose_deduplicate", 0),
    ("-no_warn_inits", 0),
    ("-debug_variant", 0),
    ("-unaligned_pointers", 1),
    ("-section_order", 2),
    ("-segment_order", 1),
    ("-no_eh_labels", 0),
    ("-no_warn_unused_dylibs", 0),
    ("-allow_sub_type_mismatches", 0),
    ("-seg_addr_table", 1),
    ("-seg_addr_table_filename", 1),
    ("-segs_read_write_addr", 1),
    ("-segs_read_only_addr", 1),
    ("-read_only_relocs", 1),
    ("-force_cpusubtype_ALL", 0),
    ("-no_arch_warnings", 0),
    ("-arch_errors_fatal", 0),
    ("-arch_multiple", 0),
    ("-read_only_stubs", 0),
    ("-slow_stubs", 0),
    ("-no_objc_category_merging", 0),
    ("-no_objc_relative_method_lists", 0),
    ("-objc_gc_compaction", 0),
    ("-objc_gc", 0),
    ("-objc_gc_only", 0),
    ("-objc_abi_version", 1),
    ("-object_path_lto", 1),
    ("-lto_library", 1),
    ("-cache_path_lto", 1),
    ("-prune_interval_lto", 1),
    ("-prune_after_lto", 1),
    ("-max_relative_cache_size_lto", 1),
    ("-mcpu", 1),
    ("--thinlto-jobs=", 0),
    ("--thinlto-cache-policy=", 0),
    ("--lto-debug-pass-manager", 0),
    ("--cs-profile-generate", 0),
    ("--cs-profile-path=", 0),
    ("--pgo-warn-mismatch", 0),
    ("--no-pgo-warn-mismatch", 0),
    ("-flto-codegen-only", 0),
    ("-not_for_dyld_shared_cache", 0),
    ("-ld_classic", 0),
    ("-ld_new", 0),
    ("-classic_linker", 0),
    ("-new_linker", 0),
    ("-ignore_auto_link", 0),
    ("--ignore-auto-link-option", 1),
    ("--ignore-auto-link-option=", 0),
    ("--strict-auto-link", 0),
    ("-single_module", 0),
    ("-no_dead_strip_inits_and_terms", 0),
    ("-seglinkedit", 0),
    ("-noseglinkedit", 0),
    ("-fvmlib", 0),
    ("-sectobjectsymbols", 2),
    ("-nofixprebinding", 0),
    ("-noprebind_all_twolevel_modules", 0),
    ("-prebind_all_twolevel_modules", 0),
    ("-prebind_allow_overlap", 0),
    ("-noprebind", 0),
    ("-prebind", 0),
    ("-sect_diff_relocs", 1),
    ("-run_init_lazily", 0),
    ("-A", 1),
    ("-b", 0),
    ("-Sn", 0),
    ("-Si", 0),
    ("-Sp", 0),
    ("-X", 0),
    ("-s", 0),
    ("-m", 0),
    ("-Y", 1),
    ("-nomultidefs", 0),
    ("-multiply_defined_unused", 1),
    ("-multiply_defined", 1),
    ("-private_bundle", 0),
    ("-sectorder", 3),
    ("-sectorder_detail", 0),
    ("-no_compact_linkedit", 0),
    ("-dependent_dr_info", 0),
    ("-no_dependent_dr_info", 0),
    ("-twolevel_namespace_hints", 0),
    ("-M", 0),
    ("-add_source_version", 0),
    ("-allow_simulator_linking_to_macosx_dylibs", 0),
    ("-simulator_support", 0),
    ("-debug_snapshot", 0),
    ("-snapshot_dir", 0),
    ("-pause", 0),
    ("-demangle", 0),
    ("-no_encryption", 0),
    ("-i", 0),
    ("-ignore_optimization_hints", 0),
    ("-verbose_optimization_hints", 0),
    ("-no_kext_objects", 0),
    ("-version_load_command", 0),
    ("-no_warn_duplicate_libraries", 0),
    ("--error-limit=", 0),
    ("--color-diagnostics", 0),
    ("--no-color-diagnostics", 0),
    ("--color-diagnostics=", 0),
    ("-color_diagnostics", 0),
    ("--no-warn-dylib-install-name", 0),
    ("--warn-thin-archive-missing-members", 0),
    ("--no-warn-thin-archive-missing-members", 0),
    ("-deduplicate", 0),
    ("-no_uuid_check", 0),
];

/// Ignored options whose value is joined to them (`-O1`, `--lto-O2`,
/// `-ySYM`).
const IGNORED_JOINED: &[&str] = &["-O", "--lto-O", "--lto-CGO", "-y"];

/// Options ignored with a warning: they cannot change the output either,
/// but the user may expect what they do elsewhere (a report, a check).
const WARNED: &[(&str, usize, &str)] = &[
    (
        "-weak_reference_mismatches",
        1,
        "machlink imports a symbol weakly only when every reference is weak (ld64's non-weak)",
    ),
    (
        "-whatsloaded",
        0,
        "machlink does not list loaded objects separately (-t lists every input)",
    ),
    (
        "-order_file_statistics",
        0,
        "machlink prints no order-file statistics",
    ),
    (
        "--print-dylib-search",
        0,
        "machlink does not log library searches (-t lists what was found)",
    ),
    ("-dot", 1, "machlink writes no dependency graph"),
    (
        "-warn_compact_unwind",
        0,
        "machlink does not report functions left to __eh_frame",
    ),
    (
        "-warn_weak_exports",
        0,
        "machlink does not warn about weak exports",
    ),
    (
        "-warn_unused_dylibs",
        0,
        "machlink does not report unused dylibs (-dead_strip_dylibs drops them)",
    ),
    (
        "-warn_commons",
        0,
        "machlink does not warn about tentative definitions that dylibs define",
    ),
    (
        "--check-category-conflicts",
        0,
        "machlink does not check Objective-C categories",
    ),
    (
        "-no_compact_unwind",
        0,
        "machlink always writes __unwind_info from the objects' compact unwind entries",
    ),
    (
        "-sectalign_defaults",
        1,
        "machlink aligns sections as their inputs ask",
    ),
    ("--reproduce", 1, "machlink writes no reproduction archive"),
    ("--reproduce=", 0, "machlink writes no reproduction archive"),
    (
        "--time-trace",
        0,
        "machlink writes no time trace (-print_statistics prints the phases)",
    ),
    (
        "--time-trace=",
        0,
        "machlink writes no time trace (-print_statistics prints the phases)",
    ),
    (
        "--time-trace-granularity=",
        0,
        "machlink writes no time trace (-print_statistics prints the phases)",
    ),
    (
        "--warn-dylib-install-name",
        0,
        "machlink does not warn about -install_name without -dylib",
    ),
];

/// Options machlink does not implement and that would change the output:
/// an error saying so.
const REJECTED: &[(&str, &str)] = &[
    (
        "-r",
        "machlink writes final images, not relocatable objects",
    ),
    ("-dylinker", "building dyld itself is not supported"),
    (
        "-static",
        "static images (kernels, firmware) are not supported",
    ),
    ("-preload", "unsegmented (preload) images are not supported"),
    ("-image_suffix", "image suffixes are not searched"),
    ("-lazy_library", "ld64 dropped lazy dylibs too"),
    ("-lazy_framework", "ld64 dropped lazy dylibs too"),
    ("-dtrace", "DTrace static probes (DOF) are not generated"),
    (
        "-image_base",
        "a preferred base address is not supported (dylibs and bundles are based at 0)",
    ),
    (
        "-seg1addr",
        "a preferred base address is not supported (dylibs and bundles are based at 0)",
    ),
    (
        "-no_implicit_dylibs",
        "public re-exported libraries are always linked implicitly",
    ),
    (
        "-no_zero_fill_sections",
        "zero-fill sections are always left zero-fill",
    ),
    (
        "-merge_zero_fill_sections",
        "zero-fill sections are not merged",
    ),
    (
        "--no-deduplicate-strings",
        "identical literals are always merged",
    ),
    ("--icf=", "identical code folding is not implemented"),
    (
        "--call-graph-profile-sort",
        "call-graph profile sorting is not implemented",
    ),
    (
        "--print-symbol-order=",
        "call-graph profile sorting is not implemented",
    ),
    (
        "--start-lib",
        "lazily loaded object groups are not supported",
    ),
    ("--end-lib", "lazily loaded object groups are not supported"),
    ("-ios_version_min", "machlink targets macOS only"),
    ("-iphoneos_version_min", "machlink targets macOS only"),
    ("-ios_simulator_version_min", "machlink targets macOS only"),
    ("-maccatalyst_version_min", "machlink targets macOS only"),
    ("-iosmac_version_min", "machlink targets macOS only"),
    ("-uikitformac_version_min", "machlink targets macOS only"),
    ("-tvos_version_min", "machlink targets macOS only"),
    ("-watchos_version_min", "machlink targets macOS only"),
    ("-bridgeos_version_min", "machlink targets macOS only"),
    ("-driverkit_version_min", "machlink targets macOS only"),
    (
        "-reexported_symbols_list",
        "re-exporting single symbols is not supported",
    ),
    (
        "--dead-strip-duplicates",
        "duplicate symbols are errors even in dead code",
    ),
    (
        "-allow_dead_duplicates",
        "duplicate symbols are errors even in dead code",
    ),
    (
        "-non_global_symbols_strip_list",
        "stripping chosen local symbols is not supported",
    ),
    (
        "-non_global_symbols_no_strip_list",
        "stripping chosen local symbols is not supported",
    ),
    (
        "-const_selrefs",
        "choosing where __objc_selrefs goes is not supported",
    ),
    (
        "-no_const_selrefs",
        "choosing where __objc_selrefs goes is not supported",
    ),
    ("-no_inits", "refusing static initializers is not supported"),
    ("-dirty_data_list", "__DATA_DIRTY is not supported"),
    (
        "-max_default_common_align",
        "common alignment cannot be capped",
    ),
    (
        "-move_to_rw_segment",
        "moving symbols between segments is not supported",
    ),
    (
        "-move_to_ro_segment",
        "moving symbols between segments is not supported",
    ),
    ("-rename_section", "renaming sections is not supported"),
    ("-rename_segment", "renaming sections is not supported"),
    ("-text_exec", "__TEXT_EXEC is not supported"),
    ("-no_weak_exports", "refusing weak exports is not supported"),
    ("-interposable", "interposable exports are not supported"),
    ("-multi_module", "interposable exports are not supported"),
    (
        "-interposable_list",
        "interposable exports are not supported",
    ),
    ("-segalign", "segment alignment is the page size"),
    ("-stack_addr", "a fixed stack address is not supported"),
    ("-segprot", "segment protections cannot be changed"),
    ("-segaddr", "segment addresses cannot be chosen"),
    ("-seg_page_size", "segment page sizes cannot be chosen"),
    ("-dylib_file", "dylib path remapping is not supported"),
    ("-keep_relocs", "section relocations are not kept"),
    (
        "-objc_category_merging",
        "Objective-C category merging is not supported",
    ),
    (
        "-objc_relative_method_lists",
        "relative method lists are not written",
    ),
    ("--thinlto-index-only", "machlink does no (Thin)LTO"),
    ("--thinlto-index-only=", "machlink does no (Thin)LTO"),
    ("--thinlto-emit-imports-files", "machlink does no (Thin)LTO"),
    ("--thinlto-emit-index-files", "machlink does no (Thin)LTO"),
    (
        "--thinlto-object-suffix-replace=",
        "machlink does no (Thin)LTO",
    ),
    ("--thinlto-prefix-replace=", "machlink does no (Thin)LTO"),
    (
        "-fixup_chains_section",
        "__chain_starts sections (firmware) are not supported",
    ),
    (
        "-fixup_chains_section_vm",
        "__chain_starts sections (firmware) are not supported",
    ),
    (
        "-threaded_starts_section",
        "__chain_starts sections (firmware) are not supported",
    ),
    (
        "-page_align_data_atoms",
        "page-aligning data is not supported",
    ),
    (
        "-search_in_sparse_frameworks",
        "frameworks without a binary are not searched",
    ),
    ("-bitcode_bundle", "embedded bitcode is obsolete"),
    ("-bitcode_hide_symbols", "embedded bitcode is obsolete"),
    ("-bitcode_symbol_map", "embedded bitcode is obsolete"),
    ("-bitcode_process_mode", "embedded bitcode is obsolete"),
    ("-bitcode_verify", "embedded bitcode is obsolete"),
    ("-add_linker_option", "LC_LINKER_OPTION is not written"),
    ("-no_source_version", "LC_SOURCE_VERSION is always written"),
    ("-add_split_seg_info", "split-segment info is not written"),
    ("-encryptable", "LC_ENCRYPTION_INFO is not written"),
    (
        "-executable_path",
        "@executable_path resolution at link time is not supported",
    ),
    (
        "-force_symbol_not_weak",
        "changing a symbol's weakness is not supported",
    ),
    (
        "-force_symbol_weak",
        "changing a symbol's weakness is not supported",
    ),
    (
        "-force_symbols_coalesce_list",
        "changing a symbol's weakness is not supported",
    ),
    (
        "-force_symbols_not_weak_list",
        "changing a symbol's weakness is not supported",
    ),
    (
        "-force_symbols_weak_list",
        "changing a symbol's weakness is not supported",
    ),
    (
        "-keep_dwarf_unwind",
        "choosing whether to keep __eh_frame is not supported",
    ),
    (
        "-no_keep_dwarf_unwind",
        "choosing whether to keep __eh_frame is not supported",
    ),
    ("-kext", "kernel extensions are not supported"),
    ("-kext_objects_dir", "kernel extensions are not supported"),
    ("-kexts_use_stubs", "kernel extensions are not supported"),
    (
        "-no_new_main",
        "LC_UNIXTHREAD entry points are not supported",
    ),
];

/// Rejected options whose value is joined to them (`-lazy-lNAME`).
const REJECTED_JOINED: &[(&str, &str)] = &[("-lazy-l", "ld64 dropped lazy dylibs too")];

/// The attribute a `-weak...`, `-needed...` or `-reexport...` flag gives.
fn lib_attr(flag: &str) -> LibAttr {
    LibAttr {
        weak: flag.starts_with("-weak"),
        needed: flag.starts_with("-needed"),
        reexport: flag.starts_with("-reexport"),
        hidden: flag.starts_with("-hidden") || flag == "-load_hidden",
        upward: flag.starts_with("-upward"),
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

/// Segment and section names fit the 16 bytes Mach-O gives them.
fn check_section_names(flag: &str, seg: &str, sect: &str) -> Result<(), LinkError> {
    for (what, name) in [("segment", seg), ("section", sect)] {
        if name.is_empty() || name.len() > 16 {
            return Err(LinkError::usage(format!(
                "{flag}: {what} name '{name}' must be 1 to 16 characters"
            )));
        }
    }
    Ok(())
}

/// `-sectalign`'s ALIGN: a hexadecimal power of two (with or without
/// `0x`), as log2.
fn parse_sectalign(v: &str) -> Result<u8, LinkError> {
    let digits = v.trim_start_matches("0x").trim_start_matches("0X");
    let n = u64::from_str_radix(digits, 16)
        .map_err(|_| LinkError::usage(format!("-sectalign: failed to parse '{v}' as number")))?;
    if !n.is_power_of_two() {
        return Err(LinkError::usage(format!(
            "-sectalign: '{v}' (in base 16) not a power of two"
        )));
    }
    if n > 0x8000 {
        return Err(LinkError::usage(format!(
            "-sectalign: '{v}' is larger than the maximum alignment (0x8000)"
        )));
    }
    Ok(n.trailing_zeros() as u8)
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
        if o.print_help {
            return Ok(o);
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
        o.check_output_kind()?;
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
            ("-bundle", o.output_kind == OutputKind::Bundle),
            ("-no_pie", !o.pie),
            ("-sectalign", !o.sectalign.is_empty()),
            ("-umbrella", o.umbrella.is_some()),
            ("-allowable_client", !o.allowable_clients.is_empty()),
            ("-add_empty_section", !o.empty_sections.is_empty()),
            ("-no_exported_symbols", o.no_exported_symbols),
            (
                "-force_flat_namespace",
                o.header_flags & object::macho::MH_FORCE_FLAT != 0,
            ),
            (
                "-sub_library and -sub_umbrella",
                !o.sub_libraries.is_empty(),
            ),
            (
                "-load_hidden and -hidden-l",
                o.lib_attrs.iter().any(|(_, a)| a.hidden),
            ),
            ("-dead_strip_dylibs", o.dead_strip_dylibs),
            ("-flat_namespace", o.flat_namespace),
            ("-sectcreate", !o.sectcreate.is_empty()),
            ("-keep_private_externs", o.keep_private_externs),
            ("-init", o.init.is_some()),
            ("-init_offsets", o.init_offsets),
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

    /// What `-bundle`, `-bundle_loader`, `-no_pie`, `-umbrella` and
    /// `-undefined` mean together, checked as lld checks them.
    fn check_output_kind(&mut self) -> Result<(), LinkError> {
        if self.bundle_loader.is_some() && self.output_kind != OutputKind::Bundle {
            return Err(LinkError::usage(
                "-bundle_loader can only be used with MachO bundle output",
            ));
        }
        if self.no_exported_symbols
            && (self.exported_symbols_list.is_some() || !self.exported_symbols.is_empty())
        {
            return Err(LinkError::usage(
                "cannot use both -exported_symbol* and -no_exported_symbols options",
            ));
        }
        if !self.allowable_clients.is_empty() && self.output_kind != OutputKind::Dylib {
            return Err(LinkError::usage(
                "-allowable_client can only be used when creating a dynamic library",
            ));
        }
        if self.umbrella.is_some() && self.output_kind != OutputKind::Dylib {
            self.parse_warnings
                .push("-umbrella used, but not creating dylib".into());
        }
        if let Some(v) = &self.unknown_undefined {
            self.parse_warnings.push(format!(
                "unknown -undefined TREATMENT '{v}', defaulting to 'error'"
            ));
        }
        // Under two-level namespace a symbol must be bound to a library;
        // only dyld's flat lookup can find one nobody defines.
        if !self.flat_namespace {
            for (t, name) in [
                (UndefinedTreatment::Warning, "warning"),
                (UndefinedTreatment::Suppress, "suppress"),
            ] {
                if self.undefined == t {
                    return Err(LinkError::usage(format!(
                        "'-undefined {name}' only valid with '-flat_namespace'"
                    )));
                }
            }
        }
        // Only an executable can be position-dependent (dylibs and bundles
        // are always PIC); it then binds with opcodes, as lld does, since
        // chained fixups need PIE, and keeps its constants in __DATA.
        if self.output_kind != OutputKind::Executable {
            self.pie = true;
        }
        if !self.pie && self.fixup_chains == Some(true) {
            return Err(LinkError::usage(
                "-fixup_chains is incompatible with -no_pie",
            ));
        }
        Ok(())
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
            .unwrap_or(self.platform_min >= 0x000c_0000 && self.pie)
    }

    /// Options of the README's table that machlink ignores (silently or
    /// with a warning) or rejects: true when `arg` was one of the ignored
    /// ones (its values consumed), an error when it is rejected.
    fn table_option(&mut self, arg: &str, it: &mut ArgIter) -> Result<bool, LinkError> {
        // `--name=value` is looked up as `--name=`.
        let key = match arg.split_once('=') {
            Some((k, _)) if arg.starts_with("--") => &arg[..=k.len()],
            _ => arg,
        };
        let digits = |prefix: &str| {
            arg.strip_prefix(prefix)
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        };
        if let Some(&(_, values)) = IGNORED.iter().find(|(f, _)| *f == arg || *f == key) {
            for _ in 0..values {
                it.value(arg)?;
            }
            return Ok(true);
        }
        let joined_ignored = IGNORED_JOINED.iter().any(|p| {
            if *p == "-y" {
                arg.len() > 2 && arg.starts_with(p)
            } else {
                digits(p)
            }
        });
        if joined_ignored {
            return Ok(true);
        }
        if let Some(&(flag, values, why)) = WARNED.iter().find(|(f, ..)| *f == arg || *f == key) {
            for _ in 0..values {
                it.value(arg)?;
            }
            self.parse_warnings
                .push(format!("{flag} is ignored: {why}"));
            return Ok(true);
        }
        let rejected = REJECTED
            .iter()
            .find(|(f, _)| *f == arg || *f == key)
            .or_else(|| {
                REJECTED_JOINED
                    .iter()
                    .find(|(p, _)| arg.starts_with(p) && arg.len() > p.len())
            });
        if let Some(&(flag, why)) = rejected {
            return Err(LinkError::usage(format!("{flag} is not supported: {why}")));
        }
        Ok(false)
    }

    fn parse_one(&mut self, arg: &str, it: &mut ArgIter) -> Result<(), LinkError> {
        // An input file (most arguments of a large link) matches no option:
        // said first, it skips comparing it with each of them.
        if !arg.starts_with('-') {
            self.inputs.push(InputArg::File(arg.into()));
            return Ok(());
        }
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
            "-ObjC" => self.objc = true,
            "-objc_stubs_fast" => self.objc_stubs = crate::arch::ObjcStubsMode::Fast,
            "-objc_stubs_small" => self.objc_stubs = crate::arch::ObjcStubsMode::Small,
            "-e" => self.entry = it.value(arg)?,
            "-u" => self.force_undefined.push(it.value(arg)?),
            "-U" => self.allowed_undefined.push(it.value(arg)?),
            "-undefined" => {
                // The last one counts; an unknown one is a warning and
                // means `error`, as in lld.
                let v = it.value(arg)?;
                self.unknown_undefined = None;
                self.undefined = match v.as_str() {
                    "error" => UndefinedTreatment::Error,
                    "warning" => UndefinedTreatment::Warning,
                    "suppress" => UndefinedTreatment::Suppress,
                    "dynamic_lookup" => UndefinedTreatment::DynamicLookup,
                    _ => {
                        self.unknown_undefined = Some(v);
                        UndefinedTreatment::Error
                    }
                }
            }
            "-dead_strip" => self.dead_strip = true,
            "-no_dead_strip" => self.dead_strip = false,
            "-fixup_chains" => self.fixup_chains = Some(true),
            "-no_fixup_chains" => self.fixup_chains = Some(false),
            "-pie" => self.pie = true,
            "-no_pie" => self.pie = false,
            "-init_offsets" => self.init_offsets = true,
            "-S" => self.strip_debug = true,
            "-x" => self.strip_locals = true,
            "-exported_symbols_list" => self.exported_symbols_list = Some(it.value(arg)?.into()),
            "-unexported_symbols_list" => {
                self.unexported_symbols_list = Some(it.value(arg)?.into())
            }
            "-map" => self.map = Some(it.value(arg)?.into()),
            "-v" | "--verbose" => self.verbose = true,
            "-help" | "--help" | "--help-hidden" => self.print_help = true,
            "--version" | "-version_details" => self.print_version = true,
            // The last of -execute, -dylib and -bundle wins, as in lld.
            "-dylib" => self.output_kind = OutputKind::Dylib,
            "-bundle" => self.output_kind = OutputKind::Bundle,
            "-execute" => self.output_kind = OutputKind::Executable,
            "-bundle_loader" => self.bundle_loader = Some(it.value(arg)?.into()),
            "-sectalign" => {
                let seg = it.value(arg)?;
                let sect = it.value(arg)?;
                let align = parse_sectalign(&it.value(arg)?)?;
                self.sectalign.push((seg, sect, align));
            }
            "-umbrella" => self.umbrella = Some(it.value(arg)?),
            "-allowable_client" => self.allowable_clients.push(it.value(arg)?),
            "-add_empty_section" => {
                let seg = it.value(arg)?;
                let sect = it.value(arg)?;
                check_section_names(arg, &seg, &sect)?;
                self.empty_sections.push((seg, sect));
            }
            "-no_exported_symbols" => self.no_exported_symbols = true,
            "-why_load" | "-whyload" => self.why_load = true,
            "-allow_stack_execute" => self.header_flags |= object::macho::MH_ALLOW_STACK_EXECUTION,
            "-root_safe" => self.header_flags |= object::macho::MH_ROOT_SAFE,
            "-setuid_safe" => self.header_flags |= object::macho::MH_SETUID_SAFE,
            "-force_flat_namespace" => {
                self.header_flags |= object::macho::MH_FORCE_FLAT;
                self.flat_namespace = true;
            }
            "-sub_library" | "-sub_umbrella" => {
                let name = it.value(arg)?;
                self.sub_libraries.push((arg.to_string(), name));
            }
            "-load_hidden" => {
                self.inputs.push(InputArg::File(it.value(arg)?.into()));
                self.lib_attrs.push((self.inputs.len() - 1, lib_attr(arg)));
            }
            "-install_name" | "-dylib_install_name" | "-dylinker_install_name" => self.install_name = Some(it.value(arg)?),
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
            _ if self.table_option(arg, it)? => {}
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
                check_section_names(arg, &seg, &sect)?;
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
            "-weak_library" | "-needed_library" | "-reexport_library" | "-upward_library" => {
                let attr = lib_attr(arg);
                self.inputs.push(InputArg::File(it.value(arg)?.into()));
                self.lib_attrs.push((self.inputs.len() - 1, attr));
            }
            "-weak_framework" | "-needed_framework" | "-reexport_framework"
            | "-upward_framework" => {
                let attr = lib_attr(arg);
                // NAME[,SUFFIX]: found as `-framework` finds it.
                self.inputs.push(InputArg::Framework(it.value(arg)?));
                self.lib_attrs.push((self.inputs.len() - 1, attr));
            }
            _ if ["-weak-l", "-needed-l", "-reexport-l", "-hidden-l", "-upward-l"]
                .iter()
                .any(|p| arg.starts_with(p) && arg.len() > p.len()) =>
            {
                let (flag, name) = arg.split_at(arg.find("-l").map_or(0, |i| i + 2));
                self.inputs.push(InputArg::Library(name.to_string()));
                self.lib_attrs.push((self.inputs.len() - 1, lib_attr(flag)));
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
                InputArg::Framework("Bar,_debug".into()),
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
        let o = parse(&["-w", "-fatal_warnings", "-no_compact_unwind", "a.o"]).unwrap();
        assert!(o.warn("x").is_err());
        let o = parse(&["-w", "a.o"]).unwrap();
        assert!(o.warn("x").is_ok());
    }

    #[test]
    fn unknown_flags_are_errors_and_no_pie_is_not_chained() {
        let e = parse(&["-frobnicate", "a.o"]).unwrap_err();
        assert!(e.to_string().contains("unknown option: -frobnicate"), "{e}");
        let e = parse(&["-no_pie", "-fixup_chains", "a.o"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("-fixup_chains is incompatible with -no_pie"),
            "{e}"
        );
        let o = parse(&["-no_pie", "a.o"]).unwrap();
        assert!(!o.pie && !o.data_const() && !o.use_chained_fixups());
        // Dylibs and bundles are position-independent whatever is asked.
        assert!(parse(&["-no_pie", "-bundle", "a.o"]).unwrap().pie);
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
        assert!(
            e.to_string()
                .contains("-lazy-l is not supported: ld64 dropped lazy dylibs too"),
            "{e}"
        );
    }

    #[test]
    fn table_options_ignore_warn_or_reject() {
        // Ignored: values consumed, joined and `--name=value` forms too.
        let o = parse(&[
            "-lto_library",
            "/x",
            "-O2",
            "--lto-O3",
            "-y_main",
            "--icf=none",
            "--error-limit=5",
            "-sectorder",
            "__TEXT",
            "__text",
            "f",
            "a.o",
        ])
        .unwrap();
        assert_eq!(o.inputs, vec![InputArg::File("a.o".into())]);
        assert!(o.parse_warnings.is_empty(), "{:?}", o.parse_warnings);
        // -ObjC is an option, not -O with a level.
        let o = parse(&["-ObjC", "--reproduce=x.tar", "a.o"]).unwrap();
        assert!(o.objc, "-ObjC is implemented");
        assert_eq!(o.parse_warnings.len(), 1, "{:?}", o.parse_warnings);
        assert!(o.parse_warnings[0].starts_with("--reproduce= is ignored: "));
        for (args, want) in [
            (&["-r", "a.o"][..], "-r is not supported: "),
            (&["--icf=all", "a.o"], "--icf= is not supported: "),
            (&["-lazy-lfoo", "a.o"], "-lazy-l is not supported: "),
            (
                &["-ios_version_min", "16.0", "a.o"],
                "machlink targets macOS only",
            ),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.to_string().contains(want), "{args:?}: {e}");
        }
    }

    #[test]
    fn output_kinds_and_their_rules() {
        assert_eq!(
            parse(&["-dylib", "-bundle", "a.o"]).unwrap().output_kind,
            OutputKind::Bundle
        );
        let e = parse(&["-bundle_loader", "x", "a.o"]).unwrap_err();
        assert!(e
            .to_string()
            .contains("only be used with MachO bundle output"));
        let e = parse(&["-undefined", "suppress", "a.o"]).unwrap_err();
        assert!(e
            .to_string()
            .contains("'-undefined suppress' only valid with '-flat_namespace'"));
        let o = parse(&["-undefined", "suppress", "-flat_namespace", "a.o"]).unwrap();
        assert_eq!(o.undefined, UndefinedTreatment::Suppress);
        let o = parse(&["-undefined", "bogus", "a.o"]).unwrap();
        assert_eq!(o.undefined, UndefinedTreatment::Error);
        assert!(o.parse_warnings[0].contains("unknown -undefined TREATMENT 'bogus'"));
        let o = parse(&["-umbrella", "U", "a.o"]).unwrap();
        assert!(o.parse_warnings[0].contains("-umbrella used, but not creating dylib"));
        assert_eq!(parse_sectalign("0x1000").unwrap(), 12);
        assert_eq!(parse_sectalign("10").unwrap(), 4);
        assert!(parse_sectalign("0").is_err());
        assert!(parse_sectalign("10000").is_err());
        let o = parse(&["-weak_framework", "Foo,_debug", "-upward-lbar", "a.o"]).unwrap();
        assert_eq!(o.inputs[0], InputArg::Framework("Foo,_debug".into()));
        assert!(o.lib_attrs[1].1.upward);
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
