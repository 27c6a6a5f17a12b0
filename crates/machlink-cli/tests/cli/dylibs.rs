//! -dylib output and dylib inputs: a dylib machlink builds carries
//! LC_ID_DYLIB and exports its globals; linking against it (as a binary
//! dylib, and through a TAPI v5 stub describing it) binds its symbols to
//! its install name, as ld64.lld-19 does.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::compile;
use testkit::{capture, Linker};

fn objdump(args: &[&str], file: &Path) -> String {
    let o = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args(args)
            .arg(file),
    );
    assert!(o.code == 0 && o.stderr.is_empty(), "{}", o.stderr_str());
    o.stdout_str()
}

/// (library, symbol) pairs an executable imports.
type Imports = Vec<(String, String)>;

/// Imports of an executable with chained fixups: (library, symbol) pairs.
fn imports(exe: &Path) -> Imports {
    let text = objdump(&["--macho", "--chained-fixups"], exe);
    let mut out = Vec::new();
    let mut lib = String::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("lib_ordinal = ") {
            lib = rest
                .split('(')
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(')')
                .to_string();
        } else if let Some(rest) = line.strip_prefix("name_offset = ") {
            let name = rest
                .split('(')
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(')')
                .to_string();
            out.push((lib.clone(), name));
        }
    }
    out.sort();
    out
}

/// Compiles xobj_calls into its own scratch dir `name` (tests run in
/// parallel): (dir, library objects, main.o).
/// Links `main` against `lib` with machlink and with lld (chained fixups);
/// returns machlink's output and both import lists.
fn link_both(work: &Path, tag: &str, main: &Path, lib: &Path) -> (PathBuf, Imports, Imports) {
    let ours = work.join(format!("ours-{tag}"));
    let lld = work.join(format!("lld-{tag}"));
    let inputs = [main.to_path_buf(), lib.to_path_buf()];
    testkit::link(Linker::MachlinkChained, &inputs, &ours, &[]);
    testkit::link(Linker::LldChained, &inputs, &lld, &[]);
    let (a, b) = (imports(&ours), imports(&lld));
    (ours, a, b)
}

fn objects(name: &str) -> (PathBuf, Vec<PathBuf>, PathBuf) {
    let work = testkit::scratch_dir(&format!("machlink-dylibs/{name}"));
    let objs = testkit::compile_corpus_macos("xobj_calls", &work, &["-O1"]);
    let (main, lib): (Vec<PathBuf>, Vec<PathBuf>) =
        objs.into_iter().partition(|o| o.ends_with("main.o"));
    (work, lib, main.into_iter().next().unwrap())
}

#[test]
fn a_dylib_built_by_machlink_links_like_lld_links_it() {
    let (work, lib_objs, main) = objects("binary");
    let dylib = work.join("libparts.dylib");
    let o = capture(
        testkit::machlink_command(&dylib)
            .args([
                "-dylib",
                "-install_name",
                "@rpath/libparts.dylib",
                "-current_version",
                "1.2.3",
            ])
            .args(&lib_objs),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let headers = objdump(&["--macho", "--private-headers"], &dylib);
    assert!(
        headers.contains("DYLIB") && headers.contains("LC_ID_DYLIB"),
        "{headers}"
    );
    assert!(
        headers.contains("name @rpath/libparts.dylib") && headers.contains("current version 1.2.3"),
        "{headers}"
    );
    assert!(
        !headers.contains("LC_MAIN") && !headers.contains("__PAGEZERO"),
        "{headers}"
    );
    let exports = objdump(&["--macho", "--exports-trie"], &dylib);
    for sym in ["_alpha_add", "_beta_mul", "_gamma_fold", "_alpha_calls"] {
        assert!(exports.contains(sym), "{sym} not exported: {exports}");
    }
    // Link against the binary dylib with machlink and with lld: same imports.
    let (ours, a, b) = link_both(&work, "binary", &main, &dylib);
    assert!(
        a.iter().any(|(l, s)| l == "libparts" && s == "_alpha_add"),
        "{a:?}"
    );
    assert_eq!(a, b, "machlink and lld import differently");
    let loads = objdump(&["--macho", "--private-headers"], &ours);
    assert!(loads.contains("name @rpath/libparts.dylib"), "{loads}");
    // Classic format too.
    testkit::link(
        Linker::MachlinkClassic,
        &[main, dylib],
        &work.join("classic"),
        &[],
    );
    let binds = objdump(&["--macho", "--bind", "--lazy-bind"], &work.join("classic"));
    assert!(
        binds.contains("libparts") && binds.contains("_alpha_add"),
        "{binds}"
    );
}

#[test]
fn a_tapi_v5_stub_stands_in_for_the_dylib() {
    let (work, _, main) = objects("tbd-v5");
    let tbd = work.join("libparts.tbd");
    std::fs::write(
        &tbd,
        r#"{
  "tapi_tbd_version": 5,
  "main_library": {
    "target_info": [{ "target": "x86_64-macos", "min_deployment": "11" }],
    "install_names": [{ "name": "/usr/local/lib/libparts.dylib" }],
    "current_versions": [{ "version": "2.0" }],
    "exported_symbols": [{
      "data": { "global": ["_alpha_calls", "_beta_calls", "_gamma_calls"] },
      "text": { "global": ["_alpha_add", "_alpha_chain", "_beta_chain", "_beta_hash", "_beta_mul",
                           "_gamma_chain", "_gamma_fold", "_gamma_name"] }
    }]
  }
}"#,
    )
    .unwrap();
    let (_, a, b) = link_both(&work, "tbd", &main, &tbd);
    assert!(
        a.iter().any(|(l, s)| l == "libparts" && s == "_gamma_fold"),
        "{a:?}"
    );
    assert_eq!(a, b);
}

/// A thread-local variable exported by a dylib is reached through
/// `__thread_ptrs`, bound to the dylib's symbol, as lld does it.
#[test]
fn dylib_thread_locals_go_through_thread_pointers() {
    let work = testkit::scratch_dir("machlink-dylibs/tlv");
    let lib = compile(&work, "lib", "_Thread_local int shared_tlv = 7;\n");
    let main = compile(
        &work,
        "main",
        "extern _Thread_local int shared_tlv;\nint main(void) { return shared_tlv; }\n",
    );
    let dylib = work.join("libtlv.dylib");
    let o = capture(testkit::machlink_command(&dylib).arg("-dylib").arg(&lib));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let exports = objdump(&["--macho", "--exports-trie"], &dylib);
    assert!(
        exports.contains("_shared_tlv") && exports.contains("[per-thread]"),
        "{exports}"
    );
    let (ours, a, b) = link_both(&work, "tlv", &main, &dylib);
    let sections = objdump(&["--macho", "--section-headers"], &ours);
    assert!(sections.contains("__thread_ptrs"), "{sections}");
    assert_eq!(a, b);
}

/// The v3 stub of [`a_tapi_v3_stub_with_reexports_and_ld_symbols`]: an
/// inlined re-exported library, one left to be found under the
/// syslibroot, and `$ld$` symbols for the tests' deployment target (15.0).
const UMBRELLA_V3: &str = "--- !tapi-tbd-v3
archs:           [ i386, x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/libumbrella.dylib
current-version: 3.1
compatibility-version: 3
exports:
  - archs:           [ x86_64, arm64 ]
    re-exports:      [ /usr/lib/system/libsub.dylib, /usr/lib/libext.dylib ]
    symbols:         [ _umb_func, _hidden_func, _moved_func,
                       '$ld$hide$os15.0$_hidden_func',
                       '$ld$install_name$os15.0$/usr/lib/libumbrella_renamed.dylib',
                       '$ld$previous$/usr/lib/libMoved.dylib$$1$14.0$16.0$_moved_func$' ]
    weak-def-symbols: [ _umb_weak ]
  - archs:           [ i386 ]
    symbols:         [ _i386_func ]
--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/system/libsub.dylib
parent-umbrella: umbrella
exports:
  - archs:           [ x86_64, arm64 ]
    symbols:         [ _sub_func ]
...
";

/// The re-exported library the stub above does not inline.
const EXT_V2: &str = "--- !tapi-tbd-v2
archs:           [ x86_64 ]
platform:        macosx
install-name:    /usr/lib/libext.dylib
exports:
  - archs:           [ x86_64 ]
    symbols:         [ _ext_func ]
...
";

/// A C program linked against a v3 stub: symbols of its re-exported
/// libraries bind to the umbrella's install name, which `$ld$install_name`
/// changes for the deployment target, when the re-exported library is
/// private (inlined libsub); a public one (/usr/lib/libext.dylib, found
/// under -syslibroot by install name) is linked implicitly and its symbols
/// bind to it. `$ld$previous` moves one symbol to another library;
/// `$ld$hide` hides one. lld reads the same stub the same way.
#[test]
fn a_tapi_v3_stub_with_reexports_and_ld_symbols() {
    let work = testkit::scratch_dir("machlink-dylibs/tbd-v3");
    // A syslibroot of our own: the SDK's libSystem plus libext.tbd.
    let sdk = work.join("sdk");
    std::fs::create_dir_all(sdk.join("usr/lib")).unwrap();
    std::fs::copy(
        testkit::sdk_root().join("usr/lib/libSystem.tbd"),
        sdk.join("usr/lib/libSystem.tbd"),
    )
    .unwrap();
    std::fs::write(sdk.join("usr/lib/libext.tbd"), EXT_V2).unwrap();
    let tbd = work.join("libumbrella.tbd");
    std::fs::write(&tbd, UMBRELLA_V3).unwrap();
    let main = compile(
        &work,
        "main",
        "int umb_func(void), sub_func(void), ext_func(void), moved_func(void);\n\
         int main(void) { return umb_func() + sub_func() + ext_func() + moved_func(); }\n",
    );
    let link = |linker: &Path, out: &Path, extra: &[&str], objs: &[&Path]| {
        capture(
            testkit::ld64_command_in(linker, &sdk, out)
                .args(extra)
                .args(objs),
        )
    };
    let machlink = testkit::workspace_bin("machlink");
    let ours = work.join("ours");
    let o = link(&machlink, &ours, &[], &[&main, &tbd]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());

    let dylibs = objdump(&["--macho", "--dylibs-used"], &ours);
    let names: Vec<&str> = dylibs
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "/usr/lib/libSystem.B.dylib",
            "/usr/lib/libumbrella_renamed.dylib",
            "/usr/lib/libext.dylib",
            "/usr/lib/libMoved.dylib",
        ],
        "{dylibs}"
    );
    let expected: Imports = [
        ("libMoved", "_moved_func"),
        ("libext", "_ext_func"),
        ("libumbrella_renamed", "_sub_func"),
        ("libumbrella_renamed", "_umb_func"),
    ]
    .iter()
    .map(|&(l, s)| (l.to_owned(), s.to_owned()))
    .collect();
    assert_eq!(imports(&ours), expected);

    // Classic binding opcodes name the same libraries.
    let classic = work.join("classic");
    let o = link(&machlink, &classic, &["-no_fixup_chains"], &[&main, &tbd]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let binds = objdump(&["--macho", "--bind", "--lazy-bind"], &classic);
    for (lib, sym) in &expected {
        assert!(
            binds
                .lines()
                .any(|l| l.contains(lib.as_str()) && l.trim_end().ends_with(sym.as_str())),
            "{lib} {sym}: {binds}"
        );
    }

    // lld reads the stub alike: same load commands, same imports.
    let lld = work.join("lld");
    let o = link(
        &testkit::require_tool("ld64.lld-19"),
        &lld,
        &[],
        &[&main, &tbd],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert_eq!(
        objdump(&["--macho", "--dylibs-used"], &lld),
        dylibs.replace(&ours.display().to_string(), &lld.display().to_string())
    );
    assert_eq!(imports(&lld), expected);

    // libext named on the command line too (after the umbrella): still
    // loaded once, as lld does.
    let ext = sdk.join("usr/lib/libext.tbd");
    let twice = work.join("twice");
    let o = link(&machlink, &twice, &[], &[&main, &tbd, &ext]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let lld_twice = work.join("lld-twice");
    let o = link(
        &testkit::require_tool("ld64.lld-19"),
        &lld_twice,
        &[],
        &[&main, &tbd, &ext],
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let used = objdump(&["--macho", "--dylibs-used"], &twice);
    assert_eq!(used.matches("/usr/lib/libext.dylib").count(), 1, "{used}");
    assert_eq!(imports(&twice), imports(&lld_twice));
    assert_eq!(imports(&twice), expected);

    // Under a syslibroot without libext, the re-export is not found: an
    // error naming the stub and the library.
    let o = capture(
        testkit::ld64_command_in(&machlink, &testkit::sdk_root(), &work.join("no-ext"))
            .arg(&main)
            .arg(&tbd),
    );
    assert_ne!(o.code, 0);
    let stderr = o.stderr_str();
    assert!(
        stderr.contains("libumbrella.tbd") && stderr.contains("/usr/lib/libext.dylib not found"),
        "{stderr}"
    );

    // The hidden symbol is undefined at 15.0, but there at 14.0.
    let hidden = compile(
        &work,
        "hidden",
        "int hidden_func(void);\nint main(void) { return hidden_func(); }\n",
    );
    let o = link(&machlink, &work.join("hidden"), &[], &[&hidden, &tbd]);
    assert_ne!(o.code, 0);
    let stderr = o.stderr_str();
    assert!(
        stderr.contains("_hidden_func") && stderr.contains("ndefined"),
        "{stderr}"
    );
    let o = link(
        &testkit::require_tool("ld64.lld-19"),
        &work.join("hidden-lld"),
        &[],
        &[&hidden, &tbd],
    );
    assert!(
        o.code != 0 && o.stderr_str().contains("_hidden_func"),
        "lld: {}",
        o.stderr_str()
    );
    let older = ["-platform_version", "macos", "14.0", "15.0"];
    let o = link(&machlink, &work.join("hidden-14"), &older, &[&hidden, &tbd]);
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let dylibs = objdump(&["--macho", "--dylibs-used"], &work.join("hidden-14"));
    // At 14.0 neither `$ld$install_name` (15.0 only) nor anything moved applies.
    assert!(
        dylibs.contains("/usr/lib/libumbrella.dylib") && !dylibs.contains("libMoved"),
        "{dylibs}"
    );
}

/// rustc links `-lSystem -lc -lm`, three copies of one stub (links to
/// libSystem.tbd in macOS's SDK, copies here): the copies are not read
/// again, and the output is the one `-lSystem` alone gives. A broken stub
/// and its copy each get their own error.
#[test]
fn copies_of_one_stub_are_one_library() {
    let work = testkit::scratch_dir("machlink-dylibs/copies");
    let main = compile(
        &work,
        "main",
        "#include <stdio.h>\n#include <math.h>\nint main(int c, char **v) { printf(\"%d %.1f\\n\", c, sqrt((double)c * 4)); return 0; }\n",
    );
    let system = testkit::sdk_root().join("usr/lib/libSystem.tbd");
    let (libc, libm) = (work.join("libc.tbd"), work.join("libm.tbd"));
    std::fs::copy(&system, &libc).unwrap();
    std::fs::copy(&system, &libm).unwrap();
    let alone = testkit::cli::link_ok(&work.join("alone"), &[&main], &[]);
    let copies = testkit::cli::link_ok(&work.join("copies"), &[&main, &libc, &libm], &[]);
    assert!(
        std::fs::read(&alone).unwrap() == std::fs::read(&copies).unwrap(),
        "linking copies of libSystem's stub changed the output"
    );
    let dylibs = objdump(&["--macho", "--dylibs-used"], &copies);
    assert_eq!(dylibs.matches("libSystem").count(), 1, "{dylibs}");
    assert_eq!(testkit::cli::run_ok(&copies), "1 2.0\n");

    let (broken, copy) = (work.join("broken.tbd"), work.join("broken-copy.tbd"));
    std::fs::write(
        &broken,
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos\n",
    )
    .unwrap();
    std::fs::copy(&broken, &copy).unwrap();
    let o = testkit::cli::try_link(&work.join("broken-out"), &[&main, &broken, &copy], &[]);
    let stderr = o.stderr_str();
    assert!(
        o.code == 1 && stderr.contains("broken.tbd") && stderr.contains("broken-copy.tbd"),
        "{}: {stderr}",
        o.code
    );
}
