//! The ld64 options build systems pass (`-Wl,...`, rustc's `-flavor
//! darwin`): each test checks what the option does to the output, read back
//! with llvm-objdump / llvm-readobj or by running it under macho-run.
//! (Named so that `cargo test --test cli flags::` runs these too.)

use std::path::Path;
use std::process::Command;
use testkit::capture;
use testkit::cli::{
    compile, compile_with, fails_with, link_ok as link, macho_run, private_headers as headers,
    tool, try_link,
};

const PROGRAM: &str = "#include <stdio.h>\nint helper_one(void) { return 1; }\n\
                       int helper_two(void) { return 2; }\n\
                       int main(void) { printf(\"%d\\n\", helper_one() + helper_two()); return 0; }\n";

/// The value after `key` on the first line that starts with it (trimmed).
fn field<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("{after}: {text}"));
    text[start..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .unwrap_or_else(|| panic!("{key} after {after}: {text}"))
        .trim()
}

#[test]
fn flavor_darwin_first_and_filelist() {
    let dir = testkit::scratch_dir("ld64_flags/flavor");
    let obj = compile(&dir, "p", PROGRAM);
    // rustc's ld64.lld flavour: `-flavor darwin` before everything else.
    let mut cmd = Command::new(testkit::workspace_bin("machlink"));
    cmd.args(["-flavor", "darwin"]);
    let base = testkit::machlink_command(&dir.join("out"));
    cmd.args(base.get_args()).arg(&obj);
    let o = capture(&mut cmd);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(macho_run(&dir.join("out")).stdout_str(), "3\n");
    let o = capture(
        Command::new(testkit::workspace_bin("machlink"))
            .args(["-flavor", "gnu"])
            .arg(&obj),
    );
    fails_with(&o, "-flavor gnu");
    // Anywhere else it is an error too.
    fails_with(
        &try_link(&dir.join("x"), &[&obj], &["-flavor", "darwin"]),
        "-flavor must be the first argument",
    );

    // -filelist: one path a line; with ",DIR" relative ones are under DIR.
    let a = compile(&dir, "a", "int helper_one(void) { return 40; }\n");
    let b = compile(
        &dir,
        "b",
        "int helper_one(void);\nint main(void) { return helper_one() + 2; }\n",
    );
    let list = dir.join("files.txt");
    std::fs::write(&list, "a.o\nb.o\n").unwrap();
    let arg = format!("{},{}", list.display(), dir.display());
    let exe = link(&dir.join("filelist"), &[], &["-filelist", &arg]);
    assert_eq!(macho_run(&exe).code, 42);
    std::fs::write(&list, format!("{}\n{}\n", a.display(), b.display())).unwrap();
    let exe = link(
        &dir.join("filelist2"),
        &[],
        &["-filelist", list.to_str().unwrap()],
    );
    assert_eq!(macho_run(&exe).code, 42);
    fails_with(
        &try_link(&dir.join("y"), &[], &["-filelist", "/nonexistent/list"]),
        "-filelist: cannot read /nonexistent/list",
    );
}

#[test]
fn warnings_are_suppressed_by_w_and_fatal_under_fatal_warnings() {
    let dir = testkit::scratch_dir("ld64_flags/warnings");
    let obj = compile(&dir, "p", PROGRAM);
    let o = try_link(&dir.join("a"), &[&obj], &["-no_compact_unwind"]);
    assert!(
        o.code == 0
            && o.stderr_str()
                .contains("machlink: warning: -no_compact_unwind is ignored"),
        "{}",
        o.stderr_str()
    );
    let o = try_link(&dir.join("b"), &[&obj], &["-no_compact_unwind", "-w"]);
    assert!(
        o.code == 0 && o.stderr_str().is_empty(),
        "{}",
        o.stderr_str()
    );
    let o = try_link(
        &dir.join("c"),
        &[&obj],
        &["-no_compact_unwind", "-fatal_warnings"],
    );
    fails_with(&o, "error: -no_compact_unwind is ignored");
    assert!(!dir.join("c").exists());
    // A link-time warning (an undefined symbol under -undefined warning,
    // which needs the flat namespace).
    let u = compile(
        &dir,
        "u",
        "void missing(void);\nint main(void) { missing(); return 0; }\n",
    );
    let o = try_link(
        &dir.join("d"),
        &[&u],
        &["-flat_namespace", "-undefined", "warning"],
    );
    assert!(
        o.code == 0
            && o.stderr_str()
                .contains("warning: undefined symbol: _missing"),
        "{}",
        o.stderr_str()
    );
    let o = try_link(
        &dir.join("e"),
        &[&u],
        &[
            "-flat_namespace",
            "-undefined",
            "warning",
            "-fatal_warnings",
        ],
    );
    fails_with(&o, "undefined symbol: _missing");
    // Options that cannot change the output are silent.
    let o = try_link(
        &dir.join("f"),
        &[&obj],
        &[
            "-demangle",
            "-ld_classic",
            "-ld_new",
            "-reproducible",
            "-export_dynamic",
            "-search_paths_first",
        ],
    );
    assert!(
        o.code == 0 && o.stderr_str().is_empty(),
        "{}",
        o.stderr_str()
    );
}

fn uuid_of(exe: &Path) -> Option<String> {
    let h = headers(exe);
    h.contains("LC_UUID")
        .then(|| field(&h, "LC_UUID", "uuid").to_string())
}

#[test]
fn uuid_options() {
    let dir = testkit::scratch_dir("ld64_flags/uuid");
    let obj = compile(&dir, "p", PROGRAM);
    let a = uuid_of(&link(&dir.join("a"), &[&obj], &[])).unwrap();
    let b = uuid_of(&link(&dir.join("b"), &[&obj], &["-reproducible"])).unwrap();
    assert_eq!(a, b, "the content-hash UUID is reproducible");
    let r1 = uuid_of(&link(&dir.join("r1"), &[&obj], &["-random_uuid"])).unwrap();
    let r2 = uuid_of(&link(&dir.join("r2"), &[&obj], &["-random_uuid"])).unwrap();
    assert!(r1 != r2 && r1 != a, "{a} {r1} {r2}");
    let exe = link(&dir.join("n"), &[&obj], &["-no_uuid"]);
    assert_eq!(uuid_of(&exe), None);
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
}

#[test]
fn stack_size_pagezero_size_and_header_flags() {
    let dir = testkit::scratch_dir("ld64_flags/sizes");
    let obj = compile(&dir, "p", PROGRAM);
    let exe = link(
        &dir.join("a"),
        &[&obj],
        &[
            "-stack_size",
            "0x100000",
            "-pagezero_size",
            "0x200000",
            "-application_extension",
            "-bind_at_load",
            "-sdk_version",
            "15.4",
            "-source_version",
            "1.2.3.4.5",
        ],
    );
    assert_eq!(
        field(&headers(&exe), "LC_SOURCE_VERSION", "version"),
        "1.2.3.4.5"
    );
    let h = headers(&exe);
    assert_eq!(field(&h, "LC_MAIN", "stacksize"), "1048576");
    assert_eq!(field(&h, "__PAGEZERO", "vmsize"), "0x0000000000200000");
    assert_eq!(field(&h, "segname __TEXT", "vmaddr"), "0x0000000000200000");
    assert_eq!(field(&h, "LC_BUILD_VERSION", "sdk"), "15.4");
    let header_line = h.lines().find(|l| l.starts_with("MH_MAGIC_64")).unwrap();
    assert!(
        header_line.contains("APP_EXTENSION_SAFE") && header_line.contains("BINDATLOAD"),
        "{header_line}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
    fails_with(
        &try_link(&dir.join("b"), &[&obj], &["-pagezero_size", "0x1234"]),
        "must be page aligned",
    );
    fails_with(
        &try_link(
            &dir.join("c"),
            &[&obj],
            &["-dylib", "-stack_size", "0x1000"],
        ),
        "-stack_size option can only be used when linking a main executable",
    );
    // A dylib marked dead-strippable.
    let lib = link(
        &dir.join("lib.dylib"),
        &[&obj],
        &[
            "-dylib",
            "-mark_dead_strippable_dylib",
            "-final_output",
            "@rpath/libfinal.dylib",
        ],
    );
    let h = headers(&lib);
    assert!(h.contains("DEAD_STRIPPABLE_DYLIB"), "{h}");
    assert!(
        field(&h, "LC_ID_DYLIB", "name").starts_with("@rpath/libfinal.dylib"),
        "{h}"
    );
}

#[test]
fn headerpad_max_install_names_leaves_maxpathlen_per_dylib() {
    let dir = testkit::scratch_dir("ld64_flags/headerpad");
    let obj = compile(&dir, "p", PROGRAM);
    let exe = link(&dir.join("a"), &[&obj], &["-headerpad_max_install_names"]);
    let h = headers(&exe);
    let header_line: Vec<&str> = h
        .lines()
        .find(|l| l.starts_with("MH_MAGIC_64"))
        .unwrap()
        .split_whitespace()
        .collect();
    let sizeofcmds: u64 = header_line[6].parse().unwrap();
    let dylibs = h.matches("cmd LC_LOAD_DYLIB").count() as u64;
    assert!(dylibs >= 1);
    let text: u64 = u64::from_str_radix(
        field(&h, "sectname __text", "addr").trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(
        text - 0x1_0000_0000 >= 32 + sizeofcmds + 1024 * dylibs,
        "__text at {text:#x}, {sizeofcmds} bytes of commands, {dylibs} dylibs"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
}

#[test]
fn threads_trace_and_dependency_info() {
    let dir = testkit::scratch_dir("ld64_flags/threads");
    let obj = compile(&dir, "p", PROGRAM);
    let a = link(&dir.join("a"), &[&obj], &[]);
    let b = link(&dir.join("b"), &[&obj], &["--threads", "1"]);
    let c = link(&dir.join("c"), &[&obj], &["-threads", "3"]);
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    // (The output name is part of the signature's identifier only when signed.)
    assert!(bytes(&a) == bytes(&b) && bytes(&a) == bytes(&c));
    fails_with(
        &try_link(&dir.join("d"), &[&obj], &["--threads", "0"]),
        "--threads: expected a positive integer, but got '0'",
    );

    // -t: every input on stdout as it is loaded, archive members included.
    let m = compile(&dir, "m", "int helper_three(void) { return 3; }\n");
    let archive = dir.join("libm3.a");
    let o = capture(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(&archive)
            .arg(&m),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let user = compile(
        &dir,
        "user",
        "int helper_three(void);\nint main(void) { return helper_three(); }\n",
    );
    let deps = dir.join("deps.dat");
    let o = try_link(
        &dir.join("e"),
        &[&user, &archive],
        &["-t", "-dependency_info", deps.to_str().unwrap()],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let out = o.stdout_str();
    assert!(
        out.contains(user.to_str().unwrap())
            && out.contains(archive.to_str().unwrap())
            && out.contains("libm3.a(m.o)")
            && out.contains("libSystem.tbd"),
        "{out}"
    );
    // ld64's format: a version record, then inputs (0x10), then the output (0x40).
    let data = std::fs::read(&deps).unwrap();
    let mut records: Vec<(u8, String)> = Vec::new();
    let mut rest = &data[..];
    while let Some((&op, tail)) = rest.split_first() {
        let end = tail.iter().position(|&b| b == 0).expect("NUL-terminated");
        records.push((op, String::from_utf8_lossy(&tail[..end]).into_owned()));
        rest = &tail[end + 1..];
    }
    assert_eq!(records[0].0, 0x00);
    assert!(records[0].1.starts_with("machlink"), "{records:?}");
    assert!(records
        .iter()
        .any(|(op, s)| *op == 0x10 && s == user.to_str().unwrap()));
    assert!(records
        .iter()
        .any(|(op, s)| *op == 0x10 && s.ends_with("libSystem.tbd")));
    assert_eq!(
        records.last().unwrap(),
        &(0x40, dir.join("e").display().to_string())
    );
}

#[test]
fn no_function_starts_and_no_data_in_code_info() {
    let dir = testkit::scratch_dir("ld64_flags/linkedit");
    let obj = compile(&dir, "p", PROGRAM);
    let h = headers(&link(&dir.join("a"), &[&obj], &[]));
    assert!(h.contains("LC_FUNCTION_STARTS") && h.contains("LC_DATA_IN_CODE"));
    let exe = link(
        &dir.join("b"),
        &[&obj],
        &["-no_function_starts", "-no_data_in_code_info"],
    );
    let h = headers(&exe);
    assert!(
        !h.contains("LC_FUNCTION_STARTS") && !h.contains("LC_DATA_IN_CODE"),
        "{h}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
}

#[test]
fn library_search_order_and_z() {
    let dir = testkit::scratch_dir("ld64_flags/search");
    let (first, second) = (dir.join("first"), dir.join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    // libfoo.a in the first directory returns 1, libfoo.dylib in the second 2.
    let a = compile(&dir, "a", "int foo(void) { return 1; }\n");
    let o = capture(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(first.join("libfoo.a"))
            .arg(&a),
    );
    assert_eq!(o.code, 0);
    let d = compile(&dir, "d", "int foo(void) { return 2; }\n");
    link(
        &second.join("libfoo.dylib"),
        &[&d],
        &["-dylib", "-install_name", "@rpath/libfoo.dylib"],
    );
    let main = compile(
        &dir,
        "main",
        "int foo(void);\nint main(void) { return foo(); }\n",
    );
    let args = |extra: &'static str| {
        let mut v = vec![
            "-L".to_string(),
            first.display().to_string(),
            "-L".to_string(),
            second.display().to_string(),
            "-lfoo".to_string(),
        ];
        if !extra.is_empty() {
            v.push(extra.to_string());
        }
        v
    };
    let run = |out: &str, extra: &'static str| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let exe = link(&dir.join(out), &[&main], &refs);
        headers(&exe).contains("@rpath/libfoo.dylib")
    };
    assert!(
        !run("paths_first", ""),
        "default: the first directory's libfoo.a"
    );
    assert!(!run("paths_first2", "-search_paths_first"));
    assert!(
        run("dylibs_first", "-search_dylibs_first"),
        "-search_dylibs_first: the second directory's libfoo.dylib"
    );
    // -Z: no default paths, so -lSystem (found under the syslibroot's
    // /usr/lib) is missing.
    fails_with(
        &try_link(&dir.join("z"), &[&main], &["-Z"]),
        "library not found for -lSystem",
    );
}

#[test]
fn single_symbol_export_options() {
    let dir = testkit::scratch_dir("ld64_flags/exports");
    let obj = compile(&dir, "p", PROGRAM);
    let exe = link(&dir.join("a"), &[&obj], &["-exported_symbol", "_main"]);
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(
        trie.contains("_main") && !trie.contains("_helper_one"),
        "{trie}"
    );
    let exe = link(
        &dir.join("b"),
        &[&obj],
        &["-unexported_symbol", "_helper_*"],
    );
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(
        trie.contains("_main") && !trie.contains("_helper_two"),
        "{trie}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
}

#[test]
fn dyld_env_oso_prefix_and_ast_paths() {
    let dir = testkit::scratch_dir("ld64_flags/debug");
    let obj = compile_with(&dir, "p", PROGRAM, &["-O1", "-g"]);
    let exe = link(
        &dir.join("a"),
        &[&obj],
        &[
            "-dyld_env",
            "DYLD_VERSIONED_LIBRARY_PATH=/opt/lib",
            "-oso_prefix",
            &format!("{}/", dir.display()),
            "-add_ast_path",
            "/build/Mod.swiftmodule",
        ],
    );
    let h = headers(&exe);
    assert!(
        field(&h, "LC_DYLD_ENVIRONMENT", "name")
            .starts_with("DYLD_VERSIONED_LIBRARY_PATH=/opt/lib"),
        "{h}"
    );
    let nm = tool("llvm-nm-19", &["-a"], &exe);
    let oso = nm.lines().find(|l| l.contains(" OSO ")).unwrap();
    assert!(oso.ends_with(" OSO p.o"), "{oso}");
    let syms = tool("llvm-readobj-19", &["--symbols"], &exe);
    let ast = syms.find("/build/Mod.swiftmodule").expect("N_AST stab");
    assert!(syms[ast..].contains("(0x32)"), "{syms}");
    assert_eq!(macho_run(&exe).stdout_str(), "3\n");
    fails_with(
        &try_link(&dir.join("b"), &[&obj], &["-dyld_env", "NOEQUALS"]),
        "not of the form NAME=VALUE",
    );
}

#[test]
fn commons_treatment_and_keep_private_externs() {
    let dir = testkit::scratch_dir("ld64_flags/commons");
    dylib(&dir, "shared", "int shared = 7;\n");
    let obj = compile_with(
        &dir,
        "c",
        "int shared;\n__attribute__((visibility(\"hidden\"))) int hidden_fn(void) { return 1; }\n\
         int main(void) { return shared + hidden_fn(); }\n",
        &["-O1", "-fcommon"],
    );
    let l = format!("-L{}", dir.display());
    let nm_of = |exe: &Path| tool("llvm-nm-19", &["-m"], exe);
    // Default (ignore_dylibs): the tentative definition is allocated.
    // (-rpath: macho-run loads libshared as dyld would.)
    let rpath = dir.to_str().unwrap();
    let exe = link(&dir.join("a"), &[&obj], &[&l, "-lshared", "-rpath", rpath]);
    assert!(
        nm_of(&exe).contains("external _shared\n"),
        "{}",
        nm_of(&exe)
    );
    assert_eq!(macho_run(&exe).code, 1);
    let exe = link(
        &dir.join("b"),
        &[&obj],
        &[&l, "-lshared", "-commons", "ignore_dylibs"],
    );
    assert!(!nm_of(&exe).contains("(undefined) external _shared"));
    // use_dylibs: the dylib's definition replaces it.
    let exe = link(
        &dir.join("c"),
        &[&obj],
        &[&l, "-lshared", "-commons", "use_dylibs", "-rpath", rpath],
    );
    assert!(
        nm_of(&exe).contains("(undefined) external _shared (from libshared)"),
        "{}",
        nm_of(&exe)
    );
    assert_eq!(macho_run(&exe).code, 8, "the dylib's shared (7) + 1");
    fails_with(
        &try_link(
            &dir.join("d"),
            &[&obj],
            &[&l, "-lshared", "-commons", "error"],
        ),
        "tentative definition of _shared in",
    );
    fails_with(
        &try_link(&dir.join("e"), &[&obj], &["-commons", "maybe"]),
        "-commons: unknown treatment 'maybe'",
    );

    // -keep_private_externs: a hidden symbol stays a private external.
    let nm = nm_of(&link(&dir.join("f"), &[&obj], &[]));
    assert!(
        nm.contains("non-external (was a private external) _hidden_fn"),
        "{nm}"
    );
    let exe = link(&dir.join("g"), &[&obj], &["-keep_private_externs"]);
    let nm = nm_of(&exe);
    assert!(
        nm.contains("private external _hidden_fn") && !nm.contains("was a private external"),
        "{nm}"
    );
    let trie = tool("llvm-objdump-19", &["--macho", "--exports-trie"], &exe);
    assert!(!trie.contains("_hidden_fn"), "{trie}");
    assert_eq!(macho_run(&exe).code, 1);
}

/// Builds `dir/libNAME.dylib` (install name `@rpath/libNAME.dylib`) from C.
fn dylib(dir: &Path, name: &str, src: &str) {
    let obj = compile(dir, &format!("lib{name}"), src);
    link(
        &dir.join(format!("lib{name}.dylib")),
        &[&obj],
        &[
            "-dylib",
            "-install_name",
            &format!("@rpath/lib{name}.dylib"),
        ],
    );
}

fn dylibs_used(exe: &Path) -> String {
    tool("llvm-objdump-19", &["--macho", "--dylibs-used"], exe)
}

#[test]
fn weak_needed_and_dead_stripped_dylibs() {
    let dir = testkit::scratch_dir("ld64_flags/dylib_use");
    dylib(&dir, "foo", "int foo(void) { return 7; }\n");
    dylib(&dir, "bar", "int bar(void) { return 9; }\n");
    // Whether foo was bound: macho-run loads libfoo when it is found, and
    // binds a weak import of a missing dylib to null.
    let main = compile(
        &dir,
        "main",
        "int foo(void);\nint (*volatile p)(void);\n\
         int main(void) { p = foo; return p ? p() : 42; }\n",
    );
    let l = format!("-L{}", dir.display());
    let exe = link(&dir.join("weak"), &[&main], &[&l, "-weak-lfoo", "-lbar"]);
    let used = dylibs_used(&exe);
    assert!(
        used.contains(
            "@rpath/libfoo.dylib (compatibility version 0.0.0, current version 0.0.0, weak)"
        ) && used.contains("@rpath/libbar.dylib"),
        "{used}"
    );
    let nm = tool("llvm-nm-19", &["-m"], &exe);
    assert!(
        nm.contains("(undefined) weak external _foo (from libfoo)"),
        "{nm}"
    );
    let found = link(
        &dir.join("weak_found"),
        &[&main],
        &[&l, "-weak-lfoo", "-rpath", dir.to_str().unwrap()],
    );
    assert_eq!(
        macho_run(&found).code,
        7,
        "a weak import of a loaded dylib binds"
    );
    let missing = link(&dir.join("weak_missing"), &[&main], &[&l, "-weak-lfoo"]);
    assert_eq!(
        macho_run(&missing).code,
        42,
        "a missing weak import is null"
    );
    // -weak_library PATH and -weak_framework work the same way.
    let lib = dir.join("libfoo.dylib");
    let exe = link(
        &dir.join("weak2"),
        &[&main],
        &["-weak_library", lib.to_str().unwrap()],
    );
    assert_eq!(macho_run(&exe).code, 42);
    // The same program without -weak-l: the import is strong.
    let exe = link(&dir.join("strong"), &[&main], &[&l, "-lfoo"]);
    assert!(!tool("llvm-nm-19", &["-m"], &exe).contains("weak external _foo"));
    assert_ne!(macho_run(&exe).code, 42);

    // -dead_strip_dylibs drops libbar (nothing binds to it) unless needed.
    let exe = link(
        &dir.join("dead"),
        &[&main],
        &[&l, "-lbar", "-lfoo", "-dead_strip_dylibs"],
    );
    let used = dylibs_used(&exe);
    assert!(
        used.contains("libfoo") && !used.contains("libbar"),
        "{used}"
    );
    // libfoo's ordinal closed up to 1 (libSystem, also unused, went too).
    let nm = tool("llvm-nm-19", &["-m"], &exe);
    assert!(
        nm.contains("(undefined) external _foo (from libfoo)"),
        "{nm}"
    );
    let exe = link(
        &dir.join("needed"),
        &[&main],
        &[&l, "-needed-lbar", "-lfoo", "-dead_strip_dylibs"],
    );
    let used = dylibs_used(&exe);
    assert!(used.contains("libfoo") && used.contains("libbar"), "{used}");
    let exe = link(&dir.join("all"), &[&main], &[&l, "-lbar", "-lfoo"]);
    assert!(dylibs_used(&exe).contains("libbar"));

    // -no_weak_imports: a weak import is an error.
    fails_with(
        &try_link(
            &dir.join("noweak"),
            &[&main],
            &[&l, "-weak-lfoo", "-no_weak_imports"],
        ),
        "weak import of symbol '_foo' not supported because of option: -no_weak_imports",
    );
}

#[test]
fn reexported_dylibs_and_flat_namespace() {
    let dir = testkit::scratch_dir("ld64_flags/reexport");
    dylib(&dir, "foo", "int foo(void) { return 7; }\n");
    let bar = compile(&dir, "bar", "int bar(void) { return 9; }\n");
    let l = format!("-L{}", dir.display());
    let lib = link(
        &dir.join("libre.dylib"),
        &[&bar],
        &["-dylib", &l, "-reexport-lfoo"],
    );
    let h = headers(&lib);
    assert!(
        field(&h, "LC_REEXPORT_DYLIB", "name").starts_with("@rpath/libfoo.dylib"),
        "{h}"
    );
    let flags = h.lines().find(|l| l.starts_with("MH_MAGIC_64")).unwrap();
    assert!(!flags.contains("NO_REEXPORTED_DYLIBS"), "{flags}");
    fails_with(
        &try_link(&dir.join("x"), &[&bar], &[&l, "-reexport-lfoo"]),
        "can only be used when creating a dynamic library",
    );

    let main = compile(
        &dir,
        "main",
        "int foo(void);\nint main(void) { return foo(); }\n",
    );
    for (name, chained) in [
        ("flat", "-fixup_chains"),
        ("flat_classic", "-no_fixup_chains"),
    ] {
        let exe = link(
            &dir.join(name),
            &[&main],
            &[&l, "-lfoo", "-flat_namespace", chained],
        );
        let h = headers(&exe);
        let flags = h.lines().find(|l| l.starts_with("MH_MAGIC_64")).unwrap();
        assert!(!flags.contains("TWOLEVEL"), "{flags}");
        let nm = tool("llvm-nm-19", &["-m"], &exe);
        // Without MH_TWOLEVEL nm names no library for the import.
        assert!(
            nm.contains("(undefined) external _foo") && !nm.contains("(from libfoo)"),
            "{nm}"
        );
        let binds = if chained == "-fixup_chains" {
            tool("llvm-objdump-19", &["--macho", "--chained-fixups"], &exe)
        } else {
            tool(
                "llvm-objdump-19",
                &["--macho", "--lazy-bind", "--bind"],
                &exe,
            )
        };
        assert!(
            binds.contains("flat-namespace") || binds.contains("flat lookup"),
            "{binds}"
        );
    }
}

const DATA_PROGRAM: &str = "#include <stdio.h>\nconst char *const names[] = {\"a\", \"b\"};\nint counter = 3;\n\
                            __attribute__((noinline)) int helper_one(void) { return 1; }\n\
                            __attribute__((noinline)) int helper_two(void) { return 2; }\n\
                            int main(void) { printf(\"%s %d\\n\", names[1], helper_one() + helper_two() + counter); return 0; }\n";

/// Defined text symbols in address order.
fn text_order(exe: &Path) -> Vec<String> {
    tool("llvm-nm-19", &["-n"], exe)
        .lines()
        .filter_map(|l| l.split_once(" T "))
        .map(|(_, n)| n.to_string())
        .filter(|n| n != "__mh_execute_header")
        .collect()
}

#[test]
fn order_file_orders_functions() {
    let dir = testkit::scratch_dir("ld64_flags/order");
    let obj = compile(&dir, "q", DATA_PROGRAM);
    assert_eq!(
        text_order(&link(&dir.join("plain"), &[&obj], &[])),
        ["_helper_one", "_helper_two", "_main"]
    );
    let order = dir.join("order.txt");
    std::fs::write(
        &order,
        "# hot first\n_helper_two\nx86_64:q.o:_main\narm64:_helper_one\nother.o:_helper_one\n",
    )
    .unwrap();
    let exe = link(
        &dir.join("ordered"),
        &[&obj],
        &["-order_file", order.to_str().unwrap()],
    );
    // Listed ones in the file's order; `arm64:` and `other.o:` lines do not
    // apply, so _helper_one follows unlisted.
    assert_eq!(text_order(&exe), ["_helper_two", "_main", "_helper_one"]);
    assert_eq!(macho_run(&exe).stdout_str(), "b 6\n");
    fails_with(
        &try_link(
            &dir.join("x"),
            &[&obj],
            &["-order_file", "/nonexistent/order"],
        ),
        "cannot read -order_file",
    );
}

#[test]
fn no_data_const_keeps_constant_data_in_data() {
    let dir = testkit::scratch_dir("ld64_flags/data_const");
    let obj = compile(&dir, "q", DATA_PROGRAM);
    let h = headers(&link(&dir.join("a"), &[&obj], &[]));
    assert!(h.contains("segname __DATA_CONST"), "{h}");
    let exe = link(&dir.join("b"), &[&obj], &["-no_data_const"]);
    let h = headers(&exe);
    assert!(!h.contains("__DATA_CONST"), "{h}");
    let data = &h[h.find("segname __DATA\n").expect("__DATA")..];
    assert!(
        data.contains("sectname __got") && data.contains("sectname __const"),
        "{h}"
    );
    assert_eq!(macho_run(&exe).stdout_str(), "b 6\n");
}

#[test]
fn why_live_prints_the_chain_to_a_root() {
    let dir = testkit::scratch_dir("ld64_flags/why_live");
    let one = compile(
        &dir,
        "one",
        "int b(void);\n__attribute__((noinline)) int a(void) { return b() + 1; }\n\
         int main(void) { return a(); }\n",
    );
    let two = compile(
        &dir,
        "two",
        "int b(void) { return 41; }\nint unused(void) { return 0; }\n",
    );
    let o = try_link(
        &dir.join("a"),
        &[&one, &two],
        &["-dead_strip", "-why_live", "_b", "-why_live", "_unused"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let expected = format!(
        "_b from {two}\n  _a from {one}\n    _main from {one} (the entry point)\n",
        one = one.display(),
        two = two.display()
    );
    // _unused is dead: nothing is printed for it.
    assert_eq!(o.stdout_str(), expected);
    assert_eq!(macho_run(&dir.join("a")).code, 42);
}

#[test]
fn init_alias_and_sectcreate() {
    let dir = testkit::scratch_dir("ld64_flags/cmdline");
    let obj = compile(
        &dir,
        "i",
        "#include <stdio.h>\n__attribute__((constructor)) static void ctor(void) { puts(\"ctor\"); }\n\
         void first(void) { puts(\"first\"); }\nint target(void) { return 5; }\n\
         int target_alias(void);\nint listed_alias(void);\n\
         int main(void) { puts(\"main\"); return target_alias() + listed_alias(); }\n",
    );
    let blob = dir.join("blob.txt");
    std::fs::write(&blob, "hello sect").unwrap();
    let list = dir.join("aliases.txt");
    std::fs::write(&list, "# symbol alias\n_target _listed_alias\n").unwrap();
    let exe = link(
        &dir.join("a"),
        &[&obj],
        &[
            "-init",
            "_first",
            "-alias",
            "_target",
            "_target_alias",
            "-alias_list",
            list.to_str().unwrap(),
            "-sectcreate",
            "__DATA",
            "__blob",
            blob.to_str().unwrap(),
            "-sectcreate",
            "__INFO",
            "__plist",
            blob.to_str().unwrap(),
        ],
    );
    // -init runs before the object's own constructor.
    let o = macho_run(&exe);
    assert_eq!(
        (o.code, o.stdout_str().as_str()),
        (10, "first\nctor\nmain\n")
    );
    let nm = tool("llvm-nm-19", &[], &exe);
    let addr = |name: &str| {
        nm.lines()
            .find(|l| l.ends_with(&format!(" T {name}")))
            .map(|l| l[..16].to_string())
            .unwrap_or_else(|| panic!("{name}: {nm}"))
    };
    assert_eq!(addr("_target"), addr("_target_alias"));
    assert_eq!(addr("_target"), addr("_listed_alias"));
    for sect in ["__DATA,__blob", "__INFO,__plist"] {
        let dump = tool(
            "llvm-objdump-19",
            &["--macho", "-s", &format!("--section={sect}")],
            &exe,
        );
        assert!(
            dump.contains("68 65 6c 6c 6f 20 73 65 63 74"),
            "{sect}: {dump}"
        );
    }
    // A section survives -dead_strip.
    let exe = link(
        &dir.join("b"),
        &[&obj],
        &[
            "-dead_strip",
            "-alias",
            "_target",
            "_target_alias",
            "-alias",
            "_target",
            "_listed_alias",
            "-sectcreate",
            "__DATA",
            "__blob",
            blob.to_str().unwrap(),
        ],
    );
    assert!(headers(&exe).contains("sectname __blob"));
    assert_eq!(macho_run(&exe).code, 10);
    fails_with(
        &try_link(
            &dir.join("c"),
            &[&obj],
            &["-alias", "_nothere", "_target_alias"],
        ),
        "-alias: symbol _nothere (aliased as _target_alias) is not defined",
    );
    fails_with(
        &try_link(&dir.join("d"), &[&obj], &["-init", "_nothere"]),
        "undefined symbol: _nothere",
    );
    fails_with(
        &try_link(
            &dir.join("e"),
            &[&obj],
            &["-sectcreate", "__DATA", "__x", "/nonexistent"],
        ),
        "-sectcreate __DATA __x: cannot read",
    );
}

/// The initializer sections' (segment, section) names in `exe`.
fn init_sections(exe: &Path) -> Vec<String> {
    tool("llvm-objdump-19", &["--section-headers"], exe)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|s| s == "__init_offsets" || s == "__mod_init_func")
        .collect()
}

#[test]
fn initializers_are_offsets_with_chained_fixups_as_lld() {
    let dir = testkit::scratch_dir("ld64_flags/init_offsets");
    let obj = compile(
        &dir,
        "c",
        "#include <stdio.h>\n__attribute__((constructor)) static void one(void) { puts(\"one\"); }\n\
         __attribute__((constructor)) void two(void) { puts(\"two\"); }\n\
         void first(void) { puts(\"first\"); }\n\
         int main(void) { puts(\"main\"); return 0; }\n",
    );
    // (flags, the section machlink writes, the section lld writes)
    let cases: [(&[&str], &str); 5] = [
        (&["-fixup_chains"], "__init_offsets"),
        (&["-no_fixup_chains"], "__mod_init_func"),
        (&["-no_fixup_chains", "-init_offsets"], "__init_offsets"),
        (&["-fixup_chains", "-init", "_first"], "__init_offsets"),
        // Updates keep the pointers they recorded.
        (&["-fixup_chains", "-incremental"], "__mod_init_func"),
    ];
    for (i, (flags, want)) in cases.iter().enumerate() {
        let exe = link(&dir.join(format!("a{i}")), &[&obj], flags);
        assert_eq!(init_sections(&exe), vec![want.to_string()], "{flags:?}");
        let o = macho_run(&exe);
        let first = if flags.contains(&"-init") {
            "first\n"
        } else {
            ""
        };
        assert_eq!(
            (o.code, o.stdout_str()),
            (0, format!("{first}one\ntwo\nmain\n")),
            "{flags:?}"
        );
    }
    // lld writes the same section in the same cases (it has no -init).
    for (flags, want) in &cases[..3] {
        let out = dir.join("lld");
        let o = capture(testkit::lld_command(&out).args(flags.iter()).arg(&obj));
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        assert_eq!(init_sections(&out), vec![want.to_string()], "lld {flags:?}");
    }
    fails_with(
        &try_link(&dir.join("b"), &[&obj], &["-init_offsets", "-incremental"]),
        "-init_offsets cannot be used with -incremental",
    );
}
