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
