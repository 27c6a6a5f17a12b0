//! The README's option coverage table, checked against the binary: each
//! form in it is run (placeholders replaced by real files and names) and
//! must be accepted (implemented, ignored), accepted with the stated
//! warning, or rejected with the stated error; and the table must name
//! every option of ld64's manual page and of ld64.lld's option table, so
//! that neither side can drift.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::compile;
use testkit::{capture, Outcome};

/// Every option of ld64's manual page (ld64-956, `doc/man/man1/ld-classic.1`)
/// and of ld64.lld's `Options.td`, by name (joined ones without their value).
const ALL_OPTIONS: &[&str] = &[
    "--call-graph-profile-sort",
    "--check-category-conflicts",
    "--color-diagnostics",
    "--color-diagnostics=",
    "--cs-profile-generate",
    "--cs-profile-path=",
    "--dead-strip-duplicates",
    "--deduplicate-strings",
    "--end-lib",
    "--error-limit=",
    "--help",
    "--help-hidden",
    "--icf=",
    "--ignore-auto-link-option",
    "--ignore-auto-link-option=",
    "--keep-icf-stabs",
    "--lto-CGO",
    "--lto-O",
    "--lto-debug-pass-manager",
    "--no-call-graph-profile-sort",
    "--no-color-diagnostics",
    "--no-deduplicate-strings",
    "--no-pgo-warn-mismatch",
    "--no-warn-dylib-install-name",
    "--no-warn-thin-archive-missing-members",
    "--pgo-warn-mismatch",
    "--print-dylib-search",
    "--print-symbol-order=",
    "--reproduce",
    "--reproduce=",
    "--start-lib",
    "--strict-auto-link",
    "--thinlto-cache-policy=",
    "--thinlto-emit-imports-files",
    "--thinlto-emit-index-files",
    "--thinlto-index-only",
    "--thinlto-index-only=",
    "--thinlto-jobs=",
    "--thinlto-object-suffix-replace=",
    "--thinlto-prefix-replace=",
    "--threads=",
    "--time-trace",
    "--time-trace-granularity=",
    "--time-trace=",
    "--verbose",
    "--version",
    "--warn-dylib-install-name",
    "--warn-thin-archive-missing-members",
    "-A",
    "-F",
    "-L",
    "-M",
    "-O",
    "-ObjC",
    "-S",
    "-Si",
    "-Sn",
    "-Sp",
    "-U",
    "-X",
    "-Y",
    "-Z",
    "-add_ast_path",
    "-add_empty_section",
    "-add_linker_option",
    "-add_source_version",
    "-add_split_seg_info",
    "-adhoc_codesign",
    "-alias",
    "-alias_list",
    "-all_load",
    "-allow_dead_duplicates",
    "-allow_heap_execute",
    "-allow_simulator_linking_to_macosx_dylibs",
    "-allow_stack_execute",
    "-allow_sub_type_mismatches",
    "-allowable_client",
    "-application_extension",
    "-arch",
    "-arch_errors_fatal",
    "-arch_multiple",
    "-b",
    "-bind_at_load",
    "-bitcode_bundle",
    "-bitcode_hide_symbols",
    "-bitcode_process_mode",
    "-bitcode_symbol_map",
    "-bitcode_verify",
    "-bridgeos_version_min",
    "-bundle",
    "-bundle_loader",
    "-cache_path_lto",
    "-classic_linker",
    "-client_name",
    "-commons",
    "-compatibility_version",
    "-const_selrefs",
    "-current_version",
    "-d",
    "-data_const",
    "-data_in_code_info",
    "-dead_strip",
    "-dead_strip_dylibs",
    "-debug_snapshot",
    "-debug_variant",
    "-demangle",
    "-dependency_info",
    "-dependent_dr_info",
    "-dirty_data_list",
    "-dot",
    "-driverkit_version_min",
    "-dtrace",
    "-dyld_env",
    "-dylib",
    "-dylib_compatibility_version",
    "-dylib_current_version",
    "-dylib_file",
    "-dylib_install_name",
    "-dylinker",
    "-dylinker_install_name",
    "-dynamic",
    "-e",
    "-encryptable",
    "-executable_path",
    "-execute",
    "-export_dynamic",
    "-exported_symbol",
    "-exported_symbols_list",
    "-exported_symbols_order",
    "-fatal_warnings",
    "-filelist",
    "-final_output",
    "-fixup_chains",
    "-fixup_chains_section",
    "-fixup_chains_section_vm",
    "-flat_namespace",
    "-flto-codegen-only",
    "-force_cpusubtype_ALL",
    "-force_flat_namespace",
    "-force_load",
    "-force_load_swift_libs",
    "-force_symbol_not_weak",
    "-force_symbol_weak",
    "-force_symbols_coalesce_list",
    "-force_symbols_not_weak_list",
    "-force_symbols_weak_list",
    "-framework",
    "-function_starts",
    "-fvmlib",
    "-headerpad",
    "-headerpad_max_install_names",
    "-help",
    "-hidden-l",
    "-i",
    "-ignore_auto_link",
    "-ignore_optimization_hints",
    "-image_base",
    "-image_suffix",
    "-init",
    "-init_offsets",
    "-install_name",
    "-interposable",
    "-interposable_list",
    "-ios_simulator_version_min",
    "-ios_version_min",
    "-iosmac_version_min",
    "-iphoneos_version_min",
    "-keep_dwarf_unwind",
    "-keep_private_externs",
    "-keep_relocs",
    "-kext",
    "-kext_objects_dir",
    "-kexts_use_stubs",
    "-l",
    "-lazy-l",
    "-lazy_framework",
    "-lazy_library",
    "-ld_classic",
    "-load_hidden",
    "-lto_library",
    "-m",
    "-maccatalyst_version_min",
    "-macos_version_min",
    "-macosx_version_min",
    "-map",
    "-mark_dead_strippable_dylib",
    "-max_default_common_align",
    "-max_relative_cache_size_lto",
    "-mcpu",
    "-merge_zero_fill_sections",
    "-mllvm",
    "-move_to_ro_segment",
    "-move_to_rw_segment",
    "-multi_module",
    "-multiply_defined",
    "-multiply_defined_unused",
    "-needed-l",
    "-needed_framework",
    "-needed_library",
    "-new_linker",
    "-no_adhoc_codesign",
    "-no_application_extension",
    "-no_arch_warnings",
    "-no_branch_islands",
    "-no_compact_linkedit",
    "-no_compact_unwind",
    "-no_const_selrefs",
    "-no_data_const",
    "-no_data_in_code_info",
    "-no_dead_strip_inits_and_terms",
    "-no_deduplicate",
    "-no_dependent_dr_info",
    "-no_dtrace_dof",
    "-no_eh_labels",
    "-no_encryption",
    "-no_exported_symbols",
    "-no_fixup_chains",
    "-no_function_starts",
    "-no_implicit_dylibs",
    "-no_inits",
    "-no_keep_dwarf_unwind",
    "-no_kext_objects",
    "-no_new_main",
    "-no_objc_category_merging",
    "-no_objc_relative_method_lists",
    "-no_order_data",
    "-no_order_inits",
    "-no_pie",
    "-no_source_version",
    "-no_uuid",
    "-no_warn_duplicate_libraries",
    "-no_warn_inits",
    "-no_warn_unused_dylibs",
    "-no_weak_exports",
    "-no_weak_imports",
    "-no_zero_fill_sections",
    "-noall_load",
    "-nofixprebinding",
    "-nomultidefs",
    "-non_global_symbols_no_strip_list",
    "-non_global_symbols_strip_list",
    "-noprebind",
    "-noprebind_all_twolevel_modules",
    "-noseglinkedit",
    "-not_for_dyld_shared_cache",
    "-o",
    "-objc_abi_version",
    "-objc_category_merging",
    "-objc_gc",
    "-objc_gc_compaction",
    "-objc_gc_only",
    "-objc_relative_method_lists",
    "-objc_stubs_fast",
    "-objc_stubs_small",
    "-object_path_lto",
    "-order_file",
    "-order_file_statistics",
    "-oso_prefix",
    "-page_align_data_atoms",
    "-pagezero_size",
    "-pause",
    "-pie",
    "-platform_version",
    "-prebind",
    "-prebind_all_twolevel_modules",
    "-prebind_allow_overlap",
    "-preload",
    "-print_statistics",
    "-private_bundle",
    "-prune_after_lto",
    "-prune_interval_lto",
    "-r",
    "-random_uuid",
    "-read_only_relocs",
    "-read_only_stubs",
    "-reexport-l",
    "-reexport_framework",
    "-reexport_library",
    "-reexported_symbols_list",
    "-rename_section",
    "-rename_segment",
    "-reproducible",
    "-root_safe",
    "-rpath",
    "-run_init_lazily",
    "-s",
    "-save-temps",
    "-sdk_version",
    "-search_dylibs_first",
    "-search_in_sparse_frameworks",
    "-search_paths_first",
    "-sect_diff_relocs",
    "-sectalign",
    "-sectcreate",
    "-section_order",
    "-sectobjectsymbols",
    "-sectorder",
    "-sectorder_detail",
    "-seg1addr",
    "-seg_addr_table",
    "-seg_addr_table_filename",
    "-seg_page_size",
    "-segaddr",
    "-segalign",
    "-segcreate",
    "-seglinkedit",
    "-segment_order",
    "-segprot",
    "-segs_read_only_addr",
    "-segs_read_write_addr",
    "-setuid_safe",
    "-simulator_support",
    "-single_module",
    "-slow_stubs",
    "-snapshot_dir",
    "-source_version",
    "-stack_addr",
    "-stack_size",
    "-static",
    "-sub_library",
    "-sub_umbrella",
    "-syslibroot",
    "-t",
    "-text_exec",
    "-threaded_starts_section",
    "-trace_symbol_layout",
    "-tvos_version_min",
    "-twolevel_namespace",
    "-twolevel_namespace_hints",
    "-u",
    "-uikitformac_version_min",
    "-umbrella",
    "-unaligned_pointers",
    "-undefined",
    "-unexported_symbol",
    "-unexported_symbols_list",
    "-upward-l",
    "-upward_framework",
    "-upward_library",
    "-v",
    "-verbose_deduplicate",
    "-verbose_optimization_hints",
    "-version_details",
    "-version_load_command",
    "-w",
    "-warn_commons",
    "-warn_compact_unwind",
    "-warn_stabs",
    "-warn_unused_dylibs",
    "-warn_weak_exports",
    "-watchos_version_min",
    "-weak-l",
    "-weak_framework",
    "-weak_library",
    "-weak_reference_mismatches",
    "-whatsloaded",
    "-why_live",
    "-why_load",
    "-whyload",
    "-x",
    "-y",
];

/// Placeholders of the table's forms, longest first where one ends another.
const PLACEHOLDERS: &[&str] = &[
    "FRAMEWORK",
    "ARCHIVE",
    "VERSION",
    "DYLIB",
    "ALIAS",
    "NAME",
    "FILE",
    "PATH",
    "SIZE",
    "ADDR",
    "SECT",
    "SEG",
    "SYM",
    "DIR",
    "EXE",
    "OUT",
    "ALIGN",
    "OPTION",
    "CPU",
    "VALUE",
    "LIST",
    "POLICY",
    "COUNT",
];

struct Row {
    forms: Vec<String>,
    status: String,
    note: String,
}

/// The rows of the "Option coverage" table.
fn table() -> Vec<Row> {
    let readme = std::fs::read_to_string(testkit::workspace_root().join("README.md")).unwrap();
    let start = readme
        .find("### Option coverage")
        .expect("README has an Option coverage section");
    let mut rows = Vec::new();
    for line in readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| option |"))
        .skip(2)
    {
        if !line.starts_with('|') {
            break;
        }
        // Split on the cells' `|`, not on escaped `\|` inside them.
        let cells: Vec<String> = line
            .replace("\\|", "\u{1}")
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().replace('\u{1}', "|"))
            .collect();
        assert_eq!(cells.len(), 3, "malformed row: {line}");
        let forms = cells[0]
            .split("`, `")
            .map(|f| f.trim_matches('`').to_string())
            .collect();
        rows.push(Row {
            forms,
            status: cells[1].clone(),
            note: cells[2].replace('`', ""),
        });
    }
    assert!(rows.len() > 200, "only {} rows", rows.len());
    rows
}

/// The option a form names: its first word without a joined placeholder
/// (`-lNAME` is `-l`), `--name=` for `--name=value`.
fn option_name(form: &str) -> String {
    let first = form.split_whitespace().next().unwrap();
    if first.starts_with("--") {
        if let Some((k, _)) = first.split_once('=') {
            return format!("{k}=");
        }
    }
    for p in PLACEHOLDERS {
        if let Some(stem) = first.strip_suffix(p).filter(|s| !s.is_empty()) {
            return stem.to_string();
        }
    }
    first.to_string()
}

/// The files and names the placeholders stand for.
struct Fixture {
    dir: PathBuf,
    obj: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = testkit::scratch_dir("option_table");
        let obj = compile(&dir, "main", "int main(void) { return 0; }\n");
        let bar = compile(&dir, "bar", "int bar_fn(void) { return 1; }\n");
        let ar = capture(
            Command::new(testkit::require_tool("llvm-ar-19"))
                .arg("rcs")
                .arg(dir.join("libbar.a"))
                .arg(&bar),
        );
        assert_eq!(ar.code, 0, "{}", ar.stderr_str());
        let stub = |install: &str, symbol: &str| {
            format!(
                "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
                 install-name: '{install}'\nexports:\n  - targets: [ x86_64-macos ]\n    \
                 symbols: [ {symbol} ]\n...\n"
            )
        };
        std::fs::write(
            dir.join("libfoo.tbd"),
            stub("/usr/lib/libfoo.dylib", "_foo_api"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("Foo.framework")).unwrap();
        std::fs::write(
            dir.join("Foo.framework/Foo.tbd"),
            stub("/Library/Frameworks/Foo.framework/Foo", "_foo_fw"),
        )
        .unwrap();
        std::fs::write(dir.join("empty.txt"), "").unwrap();
        let host = link(&dir.join("host"), &[], &obj);
        assert_eq!(host.code, 0, "{}", host.stderr_str());
        Fixture { dir, obj }
    }

    fn value(&self, placeholder: &str, n: usize) -> String {
        let d = |f: &str| self.dir.join(f).display().to_string();
        match placeholder {
            "FRAMEWORK" => "Foo".into(),
            "ARCHIVE" => d("libbar.a"),
            "VERSION" => "1.0".into(),
            "DYLIB" => d("libfoo.tbd"),
            "ALIAS" => "_main_alias".into(),
            "NAME" => "foo".into(),
            "FILE" => d("empty.txt"),
            "PATH" => "/usr/lib/libx.dylib".into(),
            "SIZE" => "0x4000".into(),
            "ADDR" => "0x200000000".into(),
            "SECT" => "__extra".into(),
            "SEG" => "__DATA".into(),
            "SYM" => "_main".into(),
            "DIR" => self.dir.display().to_string(),
            "EXE" => d("host"),
            "OUT" => d(&format!("aux{n}")),
            "ALIGN" => "0x20".into(),
            "OPTION" => "-foo".into(),
            "CPU" => "haswell".into(),
            "VALUE" => "0x10".into(),
            "LIST" => "__text".into(),
            "POLICY" => "prune_interval=1h".into(),
            "COUNT" => "2".into(),
            other => panic!("no value for {other}"),
        }
    }

    /// A form's words with placeholders (whole words, or joined to an
    /// option) replaced, and the first of `a|b|c` alternatives taken.
    fn args(&self, form: &str, n: usize) -> Vec<String> {
        form.split_whitespace()
            .map(|w| {
                let w = w.split('|').next().unwrap();
                for p in PLACEHOLDERS {
                    if w == *p {
                        return self.value(p, n);
                    }
                    if w.starts_with('-') {
                        if let Some(stem) = w.strip_suffix(p).filter(|s| !s.is_empty()) {
                            return format!("{stem}{}", self.value(p, n));
                        }
                    }
                }
                w.to_string()
            })
            .collect()
    }
}

/// The form first (`-flavor darwin` must be), then the output kind, the
/// usual command line with the fixture's search paths, and the object.
fn run(fx: &Fixture, args: &[String], kind: Option<&str>, n: usize) -> Outcome {
    let out = fx.dir.join(format!("out{n}"));
    let mut cmd = Command::new(testkit::workspace_bin("machlink"));
    cmd.args(args).args(kind);
    let base = testkit::machlink_command(&out);
    cmd.args(base.get_args())
        .arg("-L")
        .arg(&fx.dir)
        .arg("-F")
        .arg(&fx.dir)
        .arg("-L")
        .arg(testkit::sdk_root().join("usr/lib"));
    // What the sub-library options name must be linked.
    match args.first().map(String::as_str) {
        Some("-sub_library") => {
            cmd.arg(fx.dir.join("libfoo.tbd"));
        }
        Some("-sub_umbrella") => {
            cmd.args(["-framework", "Foo"]);
        }
        _ => {}
    }
    capture(cmd.arg(&fx.obj))
}

fn link(out: &Path, extra: &[&str], obj: &Path) -> Outcome {
    capture(testkit::machlink_command(out).args(extra).arg(obj))
}

#[test]
fn every_option_of_ld64_and_lld_is_in_the_table() {
    let rows = table();
    let names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.forms.iter().map(|f| option_name(f)))
        .collect();
    let covered = |n: &str| {
        names.iter().any(|x| {
            x == n
                || (n.ends_with('=') && x.starts_with(n))
                || x.strip_prefix(n).is_some_and(|rest| {
                    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
                })
        })
    };
    let missing: Vec<&&str> = ALL_OPTIONS.iter().filter(|n| !covered(n)).collect();
    assert!(
        missing.is_empty(),
        "options missing from the README table: {missing:?}"
    );
    for r in &rows {
        assert!(
            ["implemented", "ignored", "ignored, warns", "rejected"].contains(&r.status.as_str()),
            "{:?}: unknown status {}",
            r.forms,
            r.status
        );
    }
}

#[test]
fn every_option_behaves_as_the_table_says() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    let mut n = 0;
    for row in table() {
        for form in &row.forms {
            n += 1;
            let args = fx.args(form, n);
            let name = option_name(form);
            let o = run(&fx, &args, None, n);
            let err = o.stderr_str();
            let problem = match row.status.as_str() {
                "implemented" | "ignored" => {
                    // Some options need another kind of output.
                    let mut ok = o.code == 0;
                    let mut errs = err.clone();
                    for kind in ["-dylib", "-bundle"] {
                        if !ok {
                            let again = run(&fx, &args, Some(kind), n);
                            ok = again.code == 0;
                            errs.push_str(&again.stderr_str());
                        }
                    }
                    let warned = errs.contains(&format!("{name} is ignored"));
                    (!ok || warned).then(|| format!("not accepted silently: {errs}"))
                }
                "ignored, warns" => {
                    let want = format!("machlink: warning: {name} is ignored: {}", row.note);
                    (o.code != 0 || !err.contains(&want))
                        .then(|| format!("expected '{want}', got {}: {err}", o.code))
                }
                "rejected" => {
                    let want = format!("machlink: error: {name} is not supported: {}", row.note);
                    (o.code != 1 || !err.contains(&want))
                        .then(|| format!("expected '{want}', got {}: {err}", o.code))
                }
                other => Some(format!("unknown status {other}")),
            };
            if let Some(p) = problem {
                failures.push(format!("`{form}` ({}): {p}", row.status));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} forms disagree with the README:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // And an option nobody knows is still an error.
    let o = run(&fx, &["-frobnicate".to_string()], None, 0);
    assert!(
        o.code == 1 && o.stderr_str().contains("unknown option: -frobnicate"),
        "{}",
        o.stderr_str()
    );
}

/// For each `implemented` row of the table (by its first form's option),
/// the tests (`module::function` in this test binary) that check the
/// option's effect on the output, not merely that it is accepted.
// One row per line, as the README table has them.
#[rustfmt::skip]
const EFFECT_TESTS: &[(&str, &[&str])] = &[
    ("-execute", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-dylib", &["dylibs::a_dylib_built_by_machlink_links_like_lld_links_it"]),
    ("-bundle", &["output_flags::bundle_binds_to_its_loader_by_the_main_executable_ordinal"]),
    ("-arch", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-o", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-l", &["ld64_flags::library_search_order_and_z"]),
    ("-needed-l", &["ld64_flags::weak_needed_and_dead_stripped_dylibs"]),
    ("-reexport-l", &["ld64_flags::reexported_dylibs_and_flat_namespace"]),
    ("-weak-l", &["ld64_flags::weak_needed_and_dead_stripped_dylibs"]),
    ("-hidden-l", &["output_flags::framework_suffix_load_hidden_and_object_libraries"]),
    ("-upward-l", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-needed_library", &["option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-reexport_library", &["option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-weak_library", &["ld64_flags::weak_needed_and_dead_stripped_dylibs"]),
    ("-upward_library", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-L", &["ld64_flags::library_search_order_and_z"]),
    ("-Z", &["ld64_flags::library_search_order_and_z"]),
    ("-syslibroot", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-search_paths_first", &["ld64_flags::library_search_order_and_z"]),
    ("-search_dylibs_first", &["ld64_flags::library_search_order_and_z"]),
    ("-framework", &["output_flags::framework_suffix_load_hidden_and_object_libraries"]),
    ("-needed_framework", &["option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-weak_framework", &["output_flags::framework_suffix_load_hidden_and_object_libraries"]),
    ("-reexport_framework", &["option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-upward_framework", &["option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-F", &["output_flags::umbrella_and_sub_libraries", "option_effects::libraries_by_path_and_frameworks_get_their_load_commands"]),
    ("-all_load", &["archives::members_are_pulled_on_demand_or_all_with_all_load"]),
    ("-noall_load", &["option_effects::noall_load_and_dash_u_decide_which_members_load"]),
    ("-ObjC", &["objc::objc_flag_loads_class_and_category_members"]),
    ("-force_load", &["archives::members_are_pulled_on_demand_or_all_with_all_load"]),
    ("-load_hidden", &["output_flags::framework_suffix_load_hidden_and_object_libraries"]),
    ("-sectcreate", &["ld64_flags::init_alias_and_sectcreate"]),
    ("-add_empty_section", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-add_ast_path", &["ld64_flags::dyld_env_oso_prefix_and_ast_paths"]),
    ("-filelist", &["ld64_flags::flavor_darwin_first_and_filelist"]),
    ("-dead_strip", &["flags::dead_strip_drops_unreachable_code_and_its_undefined_references"]),
    ("-no_dead_strip", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-order_file", &["ld64_flags::order_file_orders_functions"]),
    ("-platform_version", &["toolchains::old_deployment_targets_link_like_lld"]),
    ("-sdk_version", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-macos_version_min", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-install_name", &["dylibs::a_dylib_built_by_machlink_links_like_lld_links_it"]),
    ("-mark_dead_strippable_dylib", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-compatibility_version", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-current_version", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-umbrella", &["output_flags::umbrella_and_sub_libraries"]),
    ("-sub_library", &["output_flags::umbrella_and_sub_libraries"]),
    ("-allowable_client", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-pie", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-no_pie", &["output_flags::no_pie_executables_bind_with_opcodes_and_run"]),
    ("-pagezero_size", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-stack_size", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-allow_stack_execute", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-bundle_loader", &["output_flags::bundle_binds_to_its_loader_by_the_main_executable_ordinal"]),
    ("-keep_private_externs", &["ld64_flags::commons_treatment_and_keep_private_externs"]),
    ("-exported_symbols_list", &["flags::export_lists_decide_what_the_trie_exports"]),
    ("-exported_symbol", &["ld64_flags::single_symbol_export_options"]),
    ("-no_exported_symbols", &["output_flags::why_load_and_no_exported_symbols"]),
    ("-unexported_symbols_list", &["flags::export_lists_decide_what_the_trie_exports"]),
    ("-unexported_symbol", &["ld64_flags::single_symbol_export_options"]),
    ("-alias", &["ld64_flags::init_alias_and_sectcreate"]),
    ("-alias_list", &["ld64_flags::init_alias_and_sectcreate"]),
    ("-flat_namespace", &["ld64_flags::reexported_dylibs_and_flat_namespace", "flat_namespace::flat_namespace_dylib_definitions_are_interposable"]),
    ("-twolevel_namespace", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-force_flat_namespace", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-u", &["option_effects::noall_load_and_dash_u_decide_which_members_load"]),
    ("-U", &["output_flags::undefined_treatments_and_dash_u_as_lld"]),
    ("-undefined", &["output_flags::undefined_treatments_and_dash_u_as_lld"]),
    ("-rpath", &["flags::map_rpath_headerpad_and_entry"]),
    ("-commons", &["ld64_flags::commons_treatment_and_keep_private_externs"]),
    ("-why_load", &["output_flags::why_load_and_no_exported_symbols"]),
    ("-why_live", &["ld64_flags::why_live_prints_the_chain_to_a_root"]),
    ("-print_statistics", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-t", &["ld64_flags::threads_trace_and_dependency_info"]),
    ("-map", &["flags::map_lists_dylibs_and_labels_synthetic_sections"]),
    ("-dependency_info", &["ld64_flags::threads_trace_and_dependency_info"]),
    ("-S", &["debug_map::dsymutil_builds_a_valid_dsym_from_the_debug_map"]),
    ("-x", &["flags::response_files_strip_locals_and_version"]),
    ("-oso_prefix", &["ld64_flags::dyld_env_oso_prefix_and_ast_paths"]),
    ("-v", &["failures::verbose_prints_one_line_per_run"]),
    ("--version", &["flags::response_files_strip_locals_and_version"]),
    ("-help", &["option_effects::sdk_target_versions_statistics_and_help"]),
    ("-adhoc_codesign", &["tools::adhoc_signatures_hash_every_page"]),
    ("-no_adhoc_codesign", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-data_const", &["output_flags::no_pie_executables_bind_with_opcodes_and_run"]),
    ("-no_data_const", &["ld64_flags::no_data_const_keeps_constant_data_in_data"]),
    ("-no_weak_imports", &["ld64_flags::weak_needed_and_dead_stripped_dylibs"]),
    ("-application_extension", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-no_application_extension", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-fatal_warnings", &["ld64_flags::warnings_are_suppressed_by_w_and_fatal_under_fatal_warnings"]),
    ("-w", &["ld64_flags::warnings_are_suppressed_by_w_and_fatal_under_fatal_warnings"]),
    ("-dead_strip_dylibs", &["ld64_flags::weak_needed_and_dead_stripped_dylibs"]),
    ("-no_uuid", &["ld64_flags::uuid_options"]),
    ("-random_uuid", &["ld64_flags::uuid_options"]),
    ("-root_safe", &["output_flags::header_flags_clients_upward_dylibs_and_empty_sections"]),
    ("-init", &["ld64_flags::init_alias_and_sectcreate"]),
    ("-init_offsets", &["ld64_flags::initializers_are_offsets_with_chained_fixups_as_lld"]),
    ("-headerpad", &["flags::map_rpath_headerpad_and_entry"]),
    ("-headerpad_max_install_names", &["ld64_flags::headerpad_max_install_names_leaves_maxpathlen_per_dylib"]),
    ("-bind_at_load", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-sectalign", &["output_flags::sectalign_aligns_a_section"]),
    ("-e", &["flags::map_rpath_headerpad_and_entry"]),
    ("-final_output", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("-no_function_starts", &["ld64_flags::no_function_starts_and_no_data_in_code_info"]),
    ("-function_starts", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-no_data_in_code_info", &["ld64_flags::no_function_starts_and_no_data_in_code_info"]),
    ("-data_in_code_info", &["option_effects::the_last_of_an_option_and_its_opposite_wins"]),
    ("-objc_stubs_fast", &["objc::objc_msgsend_stubs_mean_the_same_as_lld_in_both_modes"]),
    ("-fixup_chains", &["ld64_flags::reexported_dylibs_and_flat_namespace"]),
    ("-no_fixup_chains", &["ld64_flags::reexported_dylibs_and_flat_namespace", "output_flags::no_pie_executables_bind_with_opcodes_and_run"]),
    ("-dyld_env", &["ld64_flags::dyld_env_oso_prefix_and_ast_paths"]),
    ("-source_version", &["ld64_flags::stack_size_pagezero_size_and_header_flags"]),
    ("--threads=", &["ld64_flags::threads_trace_and_dependency_info"]),
    ("-flavor", &["ld64_flags::flavor_darwin_first_and_filelist"]),
    ("-incremental", &["incremental::concurrent_incremental_links_of_one_output_take_turns", "update_statistics::arm64_update_statistics_count_what_each_update_did"]),
];

/// Whether `tests/cli/MODULE.rs` has a `#[test]` function named `function`
/// (with or without attributes and doc lines between the two).
fn test_exists(path: &str) -> bool {
    let Some((module, function)) = path.split_once("::") else {
        return false;
    };
    let file = testkit::workspace_root()
        .join("crates/machlink-cli/tests/cli")
        .join(format!("{module}.rs"));
    let Ok(src) = std::fs::read_to_string(file) else {
        return false;
    };
    let needle = format!("fn {function}()");
    src.split("#[test]").skip(1).any(|after| {
        after
            .lines()
            .take(4)
            .any(|l| l.trim_start().starts_with(&needle))
    })
}

/// Every `implemented` row of the README's table has tests checking its
/// effect, each named test exists, and no entry outlives its row.
#[test]
fn every_implemented_option_has_an_effect_test() {
    let implemented: Vec<String> = table()
        .into_iter()
        .filter(|r| r.status == "implemented")
        .map(|r| option_name(&r.forms[0]))
        .collect();
    let mut problems = Vec::new();
    for name in &implemented {
        match EFFECT_TESTS.iter().find(|(n, _)| n == name) {
            None => problems.push(format!("{name}: no entry in EFFECT_TESTS")),
            Some((_, [])) => problems.push(format!("{name}: no test named")),
            Some((_, tests)) => problems.extend(
                tests
                    .iter()
                    .filter(|t| !test_exists(t))
                    .map(|t| format!("{name}: no test function {t}")),
            ),
        }
    }
    for (name, _) in EFFECT_TESTS {
        if !implemented.iter().any(|n| n == name) {
            problems.push(format!(
                "{name}: in EFFECT_TESTS but not an implemented row"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
