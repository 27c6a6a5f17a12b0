//! Options that change the kind of output and how undefined symbols and
//! libraries are treated: `-bundle` / `-bundle_loader`, `-no_pie`,
//! `-sectalign`, `-umbrella`, `-sub_library` / `-sub_umbrella`, the
//! `-undefined` modes and `-U`, `-framework NAME,SUFFIX`, `-load_hidden` /
//! `-hidden-l` and `-lNAME.o`. Each test reads the effect back with the
//! LLVM tools, runs the program under macho-run where it can run, and
//! compares with ld64.lld-19 where lld's behaviour is the reference.
//! (Named so that `cargo test --test cli flags::` runs these too.)

use std::path::Path;
use std::process::Command;
use testkit::cli::{
    compile, fails_with, link_ok as link, macho_run, private_headers as headers, tool, try_link,
};
use testkit::{capture, Outcome};

/// The same command line given to ld64.lld-19 (its warnings about object
/// versions are its own business).
fn lld_link(out: &Path, objs: &[&Path], extra: &[&str]) -> Outcome {
    capture(testkit::lld_command(out).args(extra).args(objs))
}

/// The header line: file type and flags.
fn header_line(file: &Path) -> String {
    headers(file)
        .lines()
        .find(|l| l.starts_with("MH_MAGIC_64"))
        .unwrap_or_default()
        .to_string()
}

/// The names of the load commands, in order.
fn load_commands(file: &Path) -> Vec<String> {
    headers(file)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("cmd "))
        .map(str::to_string)
        .collect()
}

fn segments(file: &Path) -> Vec<String> {
    headers(file)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("segname "))
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn binds(file: &Path) -> String {
    tool(
        "llvm-objdump-19",
        &["--macho", "--dyld-info", "--bind", "--lazy-bind"],
        file,
    )
}

fn nm(file: &Path) -> String {
    tool("llvm-nm-19", &["-m"], file)
}

const HOST: &str = "#include <stdio.h>\nint host_value = 20;\n\
                    int host_twice(int x) { return 2 * x; }\n\
                    int main(void) { printf(\"%d\\n\", host_twice(host_value)); return 0; }\n";
const PLUGIN: &str = "extern int host_value;\nint host_twice(int);\n\
                      int plugin_entry(void) { return host_twice(host_value) + 2; }\n";

#[test]
fn bundle_binds_to_its_loader_by_the_main_executable_ordinal() {
    let dir = testkit::scratch_dir("output_flags/bundle");
    let host_obj = compile(&dir, "host", HOST);
    let plugin = compile(&dir, "plugin", PLUGIN);
    let host = link(&dir.join("host"), &[&host_obj], &[]);
    assert_eq!(macho_run(&host).stdout_str(), "40\n");
    let loader = host.to_str().unwrap();
    for (name, chained) in [
        ("plugin.bundle", "-fixup_chains"),
        ("plugin_classic.bundle", "-no_fixup_chains"),
    ] {
        let b = link(
            &dir.join(name),
            &[&plugin],
            &["-bundle", "-bundle_loader", loader, chained, "-dead_strip"],
        );
        let line = header_line(&b);
        assert!(line.contains(" BUNDLE "), "{line}");
        // As lld: no PIE flag (that is for executables), no re-export flag
        // (that is for dylibs).
        assert!(
            !line.contains("PIE") && !line.contains("NO_REEXPORTED_DYLIBS"),
            "{line}"
        );
        let cmds = load_commands(&b);
        for absent in ["LC_MAIN", "LC_LOAD_DYLINKER", "LC_ID_DYLIB"] {
            assert!(!cmds.iter().any(|c| c == absent), "{absent}: {cmds:?}");
        }
        assert!(!segments(&b).iter().any(|s| s == "__PAGEZERO"));
        // The loader gets no load command; its symbols bind by ordinal -1.
        let used = tool("llvm-objdump-19", &["--macho", "--dylibs-used"], &b);
        assert!(!used.contains("host"), "{used}");
        let fixups = binds(&b);
        for sym in ["_host_value", "_host_twice"] {
            assert!(
                fixups
                    .lines()
                    .any(|l| l.contains("main-executable") && l.contains(sym)),
                "{sym} not bound to the main executable:\n{fixups}"
            );
        }
        let symbols = nm(&b);
        assert!(
            symbols.contains("(undefined) external _host_twice (from executable)"),
            "{symbols}"
        );
        // A bundle's exports are what its loader uses: -dead_strip keeps them.
        assert!(
            symbols.contains("(__TEXT,__text) external _plugin_entry"),
            "{symbols}"
        );
    }
    // lld binds the same way.
    let theirs = dir.join("lld.bundle");
    let o = lld_link(&theirs, &[&plugin], &["-bundle", "-bundle_loader", loader]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(binds(&theirs).contains("main-executable"));

    // Without a loader the host's symbols are undefined; with
    // `-undefined dynamic_lookup` (how Python extensions link) they are
    // looked up by dyld.
    fails_with(
        &try_link(&dir.join("x.bundle"), &[&plugin], &["-bundle"]),
        "undefined symbol: _host_twice\n>>> referenced by",
    );
    let b = link(
        &dir.join("lookup.bundle"),
        &[&plugin],
        &["-bundle", "-undefined", "dynamic_lookup"],
    );
    assert!(binds(&b).contains("flat-namespace"), "{}", binds(&b));
    // -bundle_loader needs -bundle, and an executable.
    fails_with(
        &try_link(&dir.join("y"), &[&plugin], &["-bundle_loader", loader]),
        "-bundle_loader can only be used with MachO bundle output",
    );
    let obj_loader = plugin.to_str().unwrap();
    fails_with(
        &try_link(
            &dir.join("z.bundle"),
            &[&plugin],
            &["-bundle", "-bundle_loader", obj_loader],
        ),
        "(-bundle_loader): is not an executable or bundle",
    );
    // The last of -execute, -dylib and -bundle wins.
    let e = link(&dir.join("exe"), &[&host_obj], &["-bundle", "-execute"]);
    assert!(header_line(&e).contains(" EXECUTE "));
}

#[test]
fn no_pie_executables_bind_with_opcodes_and_run() {
    let dir = testkit::scratch_dir("output_flags/no_pie");
    let obj = compile(&dir, "host", HOST);
    let exe = link(&dir.join("nopie"), &[&obj], &["-no_pie"]);
    let line = header_line(&exe);
    assert!(
        line.contains(" EXECUTE ") && !line.contains("PIE"),
        "{line}"
    );
    let cmds = load_commands(&exe);
    assert!(cmds.iter().any(|c| c == "LC_DYLD_INFO_ONLY"), "{cmds:?}");
    assert!(!segments(&exe).iter().any(|s| s == "__DATA_CONST"));
    assert_eq!(macho_run(&exe).stdout_str(), "40\n");
    // As lld: the same commands and segments.
    let theirs = dir.join("lld_nopie");
    let o = lld_link(&theirs, &[&obj], &["-no_pie"]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(!header_line(&theirs).contains("PIE"));
    assert_eq!(segments(&exe), segments(&theirs));
    // -data_const keeps __DATA_CONST; chained fixups need PIE.
    let exe = link(&dir.join("dc"), &[&obj], &["-no_pie", "-data_const"]);
    assert!(segments(&exe).iter().any(|s| s == "__DATA_CONST"));
    assert_eq!(macho_run(&exe).stdout_str(), "40\n");
    fails_with(
        &try_link(&dir.join("x"), &[&obj], &["-no_pie", "-fixup_chains"]),
        "-fixup_chains is incompatible with -no_pie",
    );
    // A dylib is position-independent whatever is asked.
    let lib = compile(&dir, "lib", "int f(void) { return 1; }\n");
    let d = link(&dir.join("lib.dylib"), &[&lib], &["-dylib", "-no_pie"]);
    assert!(load_commands(&d)
        .iter()
        .any(|c| c == "LC_DYLD_CHAINED_FIXUPS"));
}

/// The `align` line of a section.
fn section_align(file: &Path, sect: &str) -> String {
    let h = headers(file);
    let at = h
        .find(&format!("sectname {sect}\n"))
        .unwrap_or_else(|| panic!("{sect}: {h}"));
    h[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix("align "))
        .unwrap()
        .to_string()
}

#[test]
fn sectalign_aligns_a_section() {
    let dir = testkit::scratch_dir("output_flags/sectalign");
    let obj = compile(&dir, "host", HOST);
    let exe = link(
        &dir.join("a"),
        &[&obj],
        &[
            "-sectalign",
            "__TEXT",
            "__text",
            "0x1000",
            "-sectalign",
            "__DATA",
            "__data",
            "100",
        ],
    );
    assert_eq!(section_align(&exe, "__text"), "2^12 (4096)");
    assert_eq!(section_align(&exe, "__data"), "2^8 (256)");
    let h = headers(&exe);
    assert!(h.contains("addr 0x0000000100001000"), "{h}");
    assert_eq!(macho_run(&exe).stdout_str(), "40\n");
    // lld agrees.
    let theirs = dir.join("lld");
    let o = lld_link(
        &theirs,
        &[&obj],
        &["-sectalign", "__TEXT", "__text", "0x1000"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(section_align(&theirs, "__text"), "2^12 (4096)");
    // The last one counts; a smaller one than the contents need is not
    // applied; a section the output lacks is no error.
    let exe = link(
        &dir.join("b"),
        &[&obj],
        &[
            "-sectalign",
            "__TEXT",
            "__text",
            "0x40",
            "-sectalign",
            "__TEXT",
            "__text",
            "0x20",
            "-sectalign",
            "__DATA",
            "__data",
            "1",
            "-sectalign",
            "__FOO",
            "__bar",
            "8",
        ],
    );
    assert_eq!(section_align(&exe, "__text"), "2^5 (32)");
    assert_eq!(section_align(&exe, "__data"), "2^2 (4)");
    for (v, what) in [
        ("3", "-sectalign: '3' (in base 16) not a power of two"),
        ("zz", "-sectalign: failed to parse 'zz' as number"),
        ("0", "-sectalign: '0' (in base 16) not a power of two"),
    ] {
        fails_with(
            &try_link(
                &dir.join("x"),
                &[&obj],
                &["-sectalign", "__TEXT", "__text", v],
            ),
            what,
        );
    }
}

/// A TAPI v4 stub for `install` exporting `symbol`.
fn stub(path: &Path, install: &str, symbol: &str) {
    std::fs::write(
        path,
        format!(
            "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
             install-name: '{install}'\nexports:\n  - targets: [ x86_64-macos ]\n    \
             symbols: [ {symbol} ]\n...\n"
        ),
    )
    .unwrap();
}

#[test]
fn umbrella_and_sub_libraries() {
    let dir = testkit::scratch_dir("output_flags/umbrella");
    let lib = compile(
        &dir,
        "lib",
        "int sub_fn(void);\nint own(void) { return sub_fn(); }\n",
    );
    stub(&dir.join("libsub.tbd"), "/usr/lib/libsub.dylib", "_sub_fn");
    std::fs::create_dir_all(dir.join("Inner.framework")).unwrap();
    stub(
        &dir.join("Inner.framework/Inner.tbd"),
        "/Library/Frameworks/Inner.framework/Inner",
        "_inner_fn",
    );
    let l = format!("-L{}", dir.display());
    let f = format!("-F{}", dir.display());
    let d = link(
        &dir.join("libu.dylib"),
        &[&lib],
        &["-dylib", "-umbrella", "Umb", &l, "-lsub"],
    );
    let h = headers(&d);
    assert!(h.contains("cmd LC_SUB_FRAMEWORK"), "{h}");
    assert!(h.contains("umbrella Umb"), "{h}");
    // An executable gets it too, with lld's warning.
    let host = compile(&dir, "host", HOST);
    let o = try_link(&dir.join("exe"), &[&host], &["-umbrella", "Umb"]);
    assert!(
        o.code == 0
            && o.stderr_str()
                .contains("warning: -umbrella used, but not creating dylib"),
        "{}",
        o.stderr_str()
    );

    // -sub_library / -sub_umbrella re-export the linked library of that name.
    let d = link(
        &dir.join("libs.dylib"),
        &[&lib],
        &[
            "-dylib",
            &l,
            "-lsub",
            &f,
            "-framework",
            "Inner",
            "-sub_library",
            "libsub",
            "-sub_umbrella",
            "Inner",
        ],
    );
    let h = headers(&d);
    let reexported: Vec<&str> = h
        .split("cmd LC_REEXPORT_DYLIB")
        .skip(1)
        .filter_map(|s| s.lines().find_map(|l| l.trim().strip_prefix("name ")))
        .collect();
    assert_eq!(reexported.len(), 2, "{h}");
    assert!(reexported[0].starts_with("/usr/lib/libsub.dylib"), "{h}");
    assert!(
        reexported[1].starts_with("/Library/Frameworks/Inner"),
        "{h}"
    );
    assert!(!header_line(&d).contains("NO_REEXPORTED_DYLIBS"));
    // lld writes the same command.
    let theirs = dir.join("lld.dylib");
    let o = lld_link(
        &theirs,
        &[&lib],
        &["-dylib", &l, "-lsub", "-sub_library", "libsub"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(headers(&theirs).contains("cmd LC_REEXPORT_DYLIB"));
    fails_with(
        &try_link(
            &dir.join("x.dylib"),
            &[&lib],
            &["-dylib", &l, "-lsub", "-sub_library", "libnope"],
        ),
        "-sub_library libnope does not match a supplied dylib",
    );
    // -sub_umbrella names a framework (or a stub), never a `.dylib` file.
    let bin = compile(&dir, "bin", "int bin_fn(void) { return 1; }\n");
    link(
        &dir.join("libbin.dylib"),
        &[&bin],
        &["-dylib", "-install_name", "/usr/lib/libbin.dylib"],
    );
    fails_with(
        &try_link(
            &dir.join("y.dylib"),
            &[&lib],
            &["-dylib", &l, "-lsub", "-lbin", "-sub_umbrella", "libbin"],
        ),
        "-sub_umbrella libbin does not match a supplied dylib",
    );
    let d = link(
        &dir.join("z.dylib"),
        &[&lib],
        &["-dylib", &l, "-lsub", "-lbin", "-sub_library", "libbin"],
    );
    assert!(headers(&d).contains("name /usr/lib/libbin.dylib"));
}

const USES_MISSING: &str = "int missing_fn(void);\n\
                            int main(void) { return missing_fn(); }\n";

#[test]
fn undefined_treatments_and_dash_u_as_lld() {
    let dir = testkit::scratch_dir("output_flags/undefined");
    let obj = compile(&dir, "main", USES_MISSING);
    // Two-level namespace: warning and suppress are errors, as in lld.
    for t in ["warning", "suppress"] {
        let want = format!("'-undefined {t}' only valid with '-flat_namespace'");
        fails_with(
            &try_link(&dir.join("x"), &[&obj], &["-undefined", t]),
            &want,
        );
        let o = lld_link(&dir.join("lx"), &[&obj], &["-undefined", t]);
        assert!(o.stderr_str().contains(&want), "{}", o.stderr_str());
    }
    // An unknown treatment warns and means error.
    let o = try_link(&dir.join("x"), &[&obj], &["-undefined", "bogus"]);
    fails_with(&o, "undefined symbol: _missing_fn");
    assert!(o
        .stderr_str()
        .contains("warning: unknown -undefined TREATMENT 'bogus', defaulting to 'error'"));
    // dynamic_lookup and -U: bound by flat lookup, in both fixup formats.
    for (name, extra) in [
        ("dyn", &["-undefined", "dynamic_lookup"][..]),
        (
            "dyn_classic",
            &["-undefined", "dynamic_lookup", "-no_fixup_chains"],
        ),
        ("u", &["-U", "_missing_fn"]),
        ("flat_warn", &["-flat_namespace", "-undefined", "warning"]),
        (
            "flat_suppress",
            &["-flat_namespace", "-undefined", "suppress"],
        ),
    ] {
        let o = try_link(&dir.join(name), &[&obj], extra);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr_str());
        let warned = o.stderr_str();
        if name == "flat_warn" {
            assert!(
                warned.contains("warning: undefined symbol: _missing_fn\n>>> referenced by "),
                "{warned}"
            );
        } else {
            assert!(warned.is_empty(), "{name}: {warned}");
        }
        let b = binds(&dir.join(name));
        assert!(
            b.lines()
                .any(|l| l.contains("flat-namespace") && l.contains("_missing_fn")),
            "{name}:\n{b}"
        );
        let theirs = dir.join(format!("lld_{name}"));
        let o = lld_link(&theirs, &[&obj], extra);
        assert_eq!(o.code, 0, "lld {name}: {}", o.stderr_str());
        assert!(binds(&theirs).contains("flat-namespace"));
    }
    assert!(nm(&dir.join("u")).contains("_missing_fn (dynamically looked up)"));
    // A flat-namespace image claims neither two-level lookup nor that
    // every symbol is defined (as lld).
    let line = header_line(&dir.join("flat_suppress"));
    assert!(
        !line.contains("TWOLEVEL") && !line.contains("NOUNDEFS"),
        "{line}"
    );
    // dyld (here macho-run) finds a dynamically looked-up symbol wherever
    // it is: puts, with libSystem not even on the command line.
    let hello = compile(
        &dir,
        "hello",
        "int puts(const char *);\nint main(void) { puts(\"looked up\"); return 0; }\n",
    );
    let exe = dir.join("hello");
    let o = capture(
        Command::new(testkit::workspace_bin("machlink"))
            .args([
                "-arch",
                "x86_64",
                "-platform_version",
                "macos",
                "13.0",
                "13.0",
            ])
            .args(["-undefined", "dynamic_lookup", "-o"])
            .arg(&exe)
            .arg(&hello),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(macho_run(&exe).stdout_str(), "looked up\n");
}

#[test]
fn framework_suffix_load_hidden_and_object_libraries() {
    let dir = testkit::scratch_dir("output_flags/libraries");
    // Foo.framework/Versions/A/Foo and its _debug variant, Foo a symlink.
    let versions = dir.join("Foo.framework/Versions/A");
    std::fs::create_dir_all(&versions).unwrap();
    let foo = compile(&dir, "foo", "int foo_fn(void) { return 3; }\n");
    for (file, install) in [("Foo", "/F/Foo"), ("Foo_debug", "/F/Foo_debug")] {
        link(
            &versions.join(file),
            &[&foo],
            &["-dylib", "-install_name", install],
        );
    }
    std::os::unix::fs::symlink("Versions/A/Foo", dir.join("Foo.framework/Foo")).unwrap();
    let main = compile(
        &dir,
        "main",
        "int foo_fn(void);\nint main(void) { return foo_fn(); }\n",
    );
    let f = format!("-F{}", dir.display());
    let used = |exe: &Path| tool("llvm-objdump-19", &["--macho", "--dylibs-used"], exe);
    let exe = link(
        &dir.join("debug"),
        &[&main],
        &[&f, "-framework", "Foo,_debug"],
    );
    assert!(used(&exe).contains("/F/Foo_debug"), "{}", used(&exe));
    let exe = link(
        &dir.join("weak_debug"),
        &[&main],
        &[&f, "-weak_framework", "Foo,_debug"],
    );
    let u = used(&exe);
    assert!(
        u.lines()
            .any(|l| l.contains("/F/Foo_debug (") && l.contains("weak")),
        "{u}"
    );
    // No such variant: the framework itself.
    let exe = link(
        &dir.join("plain"),
        &[&main],
        &[&f, "-framework", "Foo,_nope"],
    );
    let u = used(&exe);
    assert!(u.contains("/F/Foo ") && !u.contains("_debug"), "{u}");
    fails_with(
        &try_link(&dir.join("x"), &[&main], &[&f, "-framework", "Nope,_debug"]),
        "framework not found for -framework Nope,_debug",
    );

    // -load_hidden / -hidden-l: the archive's globals are not exported.
    let ar = dir.join("libfoo.a");
    let o = capture(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(&ar)
            .arg(&foo),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let uses = compile(
        &dir,
        "uses",
        "int foo_fn(void);\nint api(void) { return foo_fn() + 1; }\n",
    );
    let l = format!("-L{}", dir.display());
    let trie = |d: &Path| tool("llvm-objdump-19", &["--macho", "--exports-trie"], d);
    let plain = link(
        &dir.join("plain.dylib"),
        &[&uses],
        &["-dylib", ar.to_str().unwrap()],
    );
    assert!(trie(&plain).contains("_foo_fn"));
    for (name, how) in [
        ("hidden.dylib", vec!["-load_hidden", ar.to_str().unwrap()]),
        ("hidden_l.dylib", vec![l.as_str(), "-hidden-lfoo"]),
    ] {
        let mut args = vec!["-dylib"];
        args.extend(how);
        let d = link(&dir.join(name), &[&uses], &args);
        let t = trie(&d);
        assert!(t.contains("_api") && !t.contains("_foo_fn"), "{name}: {t}");
        assert!(
            nm(&d).contains("non-external (was a private external) _foo_fn"),
            "{}",
            nm(&d)
        );
        let theirs = dir.join(format!("lld_{name}"));
        let o = lld_link(&theirs, &[&uses], &args);
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        assert!(!trie(&theirs).contains("_foo_fn"));
    }
    let exe = link(
        &dir.join("hidden_exe"),
        &[&main],
        &["-load_hidden", ar.to_str().unwrap()],
    );
    assert_eq!(macho_run(&exe).code, 3);

    // -lNAME.o: the object NAME.o in the library paths, as for crt1.o.
    let objdir = dir.join("objs");
    std::fs::create_dir_all(&objdir).unwrap();
    std::fs::copy(&foo, objdir.join("crtfoo.o")).unwrap();
    let lo = format!("-L{}", objdir.display());
    let exe = link(&dir.join("lo"), &[&main], &[&lo, "-lcrtfoo.o"]);
    assert_eq!(macho_run(&exe).code, 3);
    fails_with(
        &try_link(&dir.join("y"), &[&main], &[&lo, "-lnope.o"]),
        "library not found for -lnope.o",
    );
}

#[test]
fn header_flags_clients_upward_dylibs_and_empty_sections() {
    let dir = testkit::scratch_dir("output_flags/header");
    let obj = compile(&dir, "host", HOST);
    let exe = link(
        &dir.join("flags"),
        &[&obj],
        &["-allow_stack_execute", "-root_safe", "-setuid_safe"],
    );
    let line = header_line(&exe);
    // llvm-objdump names the first; the other two are 0x40000 | 0x80000.
    assert!(
        line.contains("ALLOW_STACK_EXECUTION") && line.contains("0x000c0000"),
        "{line}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "40\n");
    let exe = link(&dir.join("force_flat"), &[&obj], &["-force_flat_namespace"]);
    let line = header_line(&exe);
    assert!(
        line.contains("FORCE_FLAT") && !line.contains("TWOLEVEL"),
        "{line}"
    );
    assert!(binds(&exe).contains("flat-namespace"));

    // LC_SUB_CLIENT, dylibs only.
    let lib = compile(&dir, "lib", "int f(void) { return 1; }\n");
    let d = link(
        &dir.join("libc.dylib"),
        &[&lib],
        &["-dylib", "-allowable_client", "Client"],
    );
    let h = headers(&d);
    assert!(
        h.contains("cmd LC_SUB_CLIENT") && h.contains("client Client"),
        "{h}"
    );
    fails_with(
        &try_link(&dir.join("x"), &[&obj], &["-allowable_client", "Client"]),
        "-allowable_client can only be used when creating a dynamic library",
    );

    // Upward dylibs.
    stub(&dir.join("libup.tbd"), "/usr/lib/libup.dylib", "_up_fn");
    let l = format!("-L{}", dir.display());
    let exe = link(&dir.join("upward"), &[&obj], &[&l, "-upward-lup"]);
    let h = headers(&exe);
    assert!(
        field_after(&h, "cmd LC_LOAD_UPWARD_DYLIB", "name ").starts_with("/usr/lib/libup.dylib"),
        "{h}"
    );
    let path = dir.join("libup.tbd");
    let exe = link(
        &dir.join("upward2"),
        &[&obj],
        &["-upward_library", path.to_str().unwrap()],
    );
    assert!(headers(&exe).contains("cmd LC_LOAD_UPWARD_DYLIB"));

    // An empty section, there though empty, as lld makes it.
    let exe = link(
        &dir.join("empty"),
        &[&obj],
        &["-add_empty_section", "__DATA", "__nothing"],
    );
    let h = headers(&exe);
    let at = h.find("sectname __nothing").expect("the empty section");
    assert!(h[at..].contains("size 0x0000000000000000"), "{h}");
    let theirs = dir.join("lld_empty");
    let o = lld_link(
        &theirs,
        &[&obj],
        &["-add_empty_section", "__DATA", "__nothing"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(headers(&theirs).contains("sectname __nothing"));
}

/// The value after `key` on the first line after `after` that has it.
fn field_after<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("{after}: {text}"));
    text[at..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("{key} after {after}: {text}"))
}

#[test]
fn why_load_and_no_exported_symbols() {
    let dir = testkit::scratch_dir("output_flags/why_load");
    let lib = compile(&dir, "lib", "int lib_fn(void) { return 5; }\n");
    let ar = dir.join("liblib.a");
    let o = capture(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(&ar)
            .arg(&lib),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let main = compile(
        &dir,
        "main",
        "int lib_fn(void);\nint main(void) { return lib_fn(); }\n",
    );
    let a = ar.to_str().unwrap();
    // The same lines as lld's, on stdout.
    for extra in [&["-why_load", a][..], &["-why_load", "-force_load", a]] {
        let ours = try_link(&dir.join("w"), &[&main], extra);
        assert_eq!(ours.code, 0, "{}", ours.stderr_str());
        let theirs = lld_link(&dir.join("lw"), &[&main], extra);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr_str());
        assert_eq!(ours.stdout_str(), theirs.stdout_str());
        assert!(
            ours.stdout_str().contains("forced load of"),
            "{}",
            ours.stdout_str()
        );
    }

    // -no_exported_symbols: nothing of the program's is exported.
    let d = link(
        &dir.join("libn.dylib"),
        &[&lib],
        &["-dylib", "-no_exported_symbols"],
    );
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &d);
    assert!(!trie.contains("_lib_fn"), "{trie}");
    assert!(nm(&d).contains("non-external (was a private external) _lib_fn"));
    let exe = link(&dir.join("n"), &[&main], &["-no_exported_symbols", a]);
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(!trie.contains("_main"), "{trie}");
    assert_eq!(macho_run(&exe).code, 5);
    fails_with(
        &try_link(
            &dir.join("x"),
            &[&main],
            &["-no_exported_symbols", "-exported_symbol", "_main"],
        ),
        "cannot use both -exported_symbol* and -no_exported_symbols options",
    );
}
