//! The debug map: dsymutil must build a .dSYM from a -g build linked by
//! machlink, and `llvm-dwarfdump --verify` must pass on it; -S drops it.

use std::process::Command;
use testkit::{capture, Linker};

#[test]
fn dsymutil_builds_a_valid_dsym_from_the_debug_map() {
    let dir = testkit::corpus_dir("xobj_calls");
    let work = testkit::scratch_dir("machlink-debug-map");
    let srcs = testkit::c_sources(&dir);
    let objs = testkit::compile_all_macos(&srcs, &work, &["-g", "-O1", "-fno-sanitize=undefined"]);
    for linker in Linker::MACHLINK {
        let exe = work.join(format!("prog-{}", linker.name()));
        testkit::link(linker, &objs, &exe, &[]);
        let dsym = exe.with_extension("dSYM");
        let _ = std::fs::remove_dir_all(&dsym);
        testkit::cli::dsymutil_quietly(&exe, &dsym, linker.name());
        let v = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--verify")
                .arg(&dsym),
        );
        assert_eq!(v.code, 0, "verify: {}{}", v.stdout_str(), v.stderr_str());
        assert!(v.stdout_str().contains("No errors."), "{}", v.stdout_str());
        let info = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--debug-info")
                .arg(&dsym),
        );
        for src in &srcs {
            let name = src.file_name().unwrap().to_string_lossy();
            assert!(
                info.stdout_str().contains(&*name),
                "{name} missing from the dSYM"
            );
        }
    }
    // -S: no debug map at all.
    let exe = work.join("prog-stripped");
    testkit::link(Linker::MachlinkChained, &objs, &exe, &["-S"]);
    let nm = capture(
        Command::new(testkit::require_tool("llvm-nm-19"))
            .arg("-a")
            .arg(&exe),
    );
    assert!(!nm.stdout_str().contains(" OSO "), "{}", nm.stdout_str());
}

/// Every kind of symbol: functions (global, static, weak, private extern),
/// data (global, static, zero-filled static, weak, private extern,
/// thread-local and its template), common and tentative definitions.
const KINDS_C: &str = r#"
int gdata = 5;
int common_var;
int tentative_var;
__attribute__((weak)) int weak_var = 3;
__attribute__((visibility("hidden"))) int hidden_var = 4;
__attribute__((weak)) int weak_fn(void) { return 1; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return 2; }
__attribute__((noinline)) static int static_fn(int x) { return x + 3; }
static int static_data[4] = {1, 2, 3, 4};
static int zeroed_static[100];
__thread int tls_global = 2;
int gfn(int x) {
  zeroed_static[x & 63] += x;
  return static_fn(x) + static_data[x & 3] + gdata + common_var + tentative_var + weak_var
       + hidden_var + weak_fn() + hidden_fn() + tls_global + zeroed_static[x & 63];
}
"#;

/// A second copy of the weak definitions (which lose: no debug notes for
/// them) and the program's entry.
const MAIN_C: &str = r#"
__attribute__((weak)) int weak_var = 30;
__attribute__((weak)) int weak_fn(void) { return 10; }
extern int gfn(int);
int main(void) { return gfn(1) + weak_fn() + weak_var; }
"#;

/// Symbols in literal sections, and an alias (two names, one address).
const KINDS_S: &str = "
  .cstring
  .globl _named_str
_named_str:
  .asciz \"literal\"
  .literal8
  .globl _named_lit8
_named_lit8:
  .quad 0x1234
  .text
  .globl _asm_fn
  .globl _asm_alias
_asm_fn:
_asm_alias:
  ret
.subsections_via_symbols
";

/// One symbol of a debug map: name, object address, size (as dsymutil
/// prints them) and address in the binary.
type MapSymbol = (String, String, String, u64);

/// `dsymutil --dump-debug-map`: per object file, its symbols.
fn debug_map(exe: &std::path::Path) -> Vec<(String, Vec<MapSymbol>)> {
    let text = testkit::cli::tool("dsymutil-19", &["--dump-debug-map"], exe);
    let mut objects: Vec<(String, Vec<MapSymbol>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("- filename:") {
            let name = name.trim().trim_matches('\'');
            let file = std::path::Path::new(name)
                .file_name()
                .unwrap()
                .to_string_lossy();
            objects.push((file.into_owned(), Vec::new()));
        } else if let Some(fields) = line.strip_prefix("- { ") {
            let get = |key: &str| {
                fields
                    .split(", ")
                    .find_map(|f| f.strip_prefix(&format!("{key}: ")))
                    .unwrap_or("")
                    .trim_end_matches(" }")
                    .trim_matches('\'')
                    .to_string()
            };
            let bin = u64::from_str_radix(get("binAddr").trim_start_matches("0x"), 16).unwrap();
            let entry = (get("sym"), get("objAddr"), get("size"), bin);
            objects
                .last_mut()
                .expect("symbols follow a filename")
                .1
                .push(entry);
        }
    }
    objects
}

/// Every kind of symbol gets the debug note ld64 writes, and dsymutil
/// reads the same debug map from machlink's output as from ld64.lld-19's
/// (same symbols, object addresses and sizes), in full and `-incremental`
/// links, with every binary address that of the symbol in the binary; the
/// .dSYM built from it verifies.
#[test]
fn every_kind_of_symbol_is_in_the_debug_map_as_lld_reads_it() {
    testkit::require_tool("ld64.lld-19");
    let work = testkit::scratch_dir("machlink-debug-map-kinds");
    let flags = ["-g", "-O1", "-fcommon", "-fno-sanitize=undefined"];
    let kinds = testkit::cli::compile_with(&work, "kinds", KINDS_C, &flags);
    let main = testkit::cli::compile_with(&work, "main", MAIN_C, &flags);
    let s = work.join("asm.s");
    std::fs::write(&s, KINDS_S).unwrap();
    let asm = work.join("asm.o");
    testkit::check(
        Command::new(testkit::require_tool("clang-19"))
            .args(["-target", "x86_64-apple-macos13", "-g", "-c"])
            .arg(&s)
            .arg("-o")
            .arg(&asm),
    );
    let objs = [kinds, main, asm];
    let reference = work.join("lld");
    testkit::link(Linker::LldChained, &objs, &reference, &[]);
    let want: Vec<_> = debug_map(&reference)
        .into_iter()
        .map(|(f, syms)| {
            (
                f,
                syms.into_iter()
                    .map(|s| (s.0, s.1, s.2))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    // The kinds this test is about are all there.
    let names: Vec<&str> = want
        .iter()
        .flat_map(|o| o.1.iter().map(|s| s.0.as_str()))
        .collect();
    for kind in [
        "_gfn",
        "_static_fn",
        "_weak_fn",
        "_hidden_fn",
        "_gdata",
        "_static_data",
        "_zeroed_static",
        "_weak_var",
        "_hidden_var",
        "_common_var",
        "_tentative_var",
        "_tls_global",
        "_tls_global$tlv$init",
        "_named_str",
        "_named_lit8",
        "_asm_fn",
        "_asm_alias",
        "_main",
    ] {
        assert!(
            names.contains(&kind),
            "lld's debug map lacks {kind}: {want:?}"
        );
    }
    let incremental = work.join("incremental");
    let _ = std::fs::remove_file(&incremental);
    let o = capture(testkit::cli::incremental_command(&incremental).args(&objs));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let mut outputs = vec![incremental];
    for linker in Linker::MACHLINK {
        let exe = work.join(linker.name());
        testkit::link(linker, &objs, &exe, &[]);
        outputs.push(exe);
    }
    for exe in &outputs {
        let map = debug_map(exe);
        let got: Vec<_> = map
            .iter()
            .map(|(f, syms)| {
                let list: Vec<_> = syms
                    .iter()
                    .map(|s| (s.0.clone(), s.1.clone(), s.2.clone()))
                    .collect();
                (f.clone(), list)
            })
            .collect();
        assert_eq!(got, want, "{}: debug map differs from lld's", exe.display());
        // Binary addresses are the symbols' (nm lists locals too).
        let nm = testkit::cli::tool("llvm-nm-19", &["-p"], exe);
        let addr_of = |name: &str| {
            nm.lines().find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[2] == name).then(|| u64::from_str_radix(f[0], 16).unwrap())
            })
        };
        for (_, syms) in &map {
            for (name, _, _, bin) in syms {
                assert_eq!(addr_of(name), Some(*bin), "{}: {name}", exe.display());
            }
        }
        // The notes as ld64 writes them: N_OSO's n_sect is the CPU
        // subtype, each function bracketed by N_BNSYM / N_ENSYM.
        let stabs = testkit::cli::tool("dsymutil-19", &["-s"], exe);
        let oso: Vec<&str> = stabs.lines().filter(|l| l.contains("(N_OSO")).collect();
        assert_eq!(oso.len(), 3, "{stabs}");
        assert!(oso.iter().all(|l| l.contains(") 03     0001")), "{oso:?}");
        let count = |what: &str| stabs.lines().filter(|l| l.contains(what)).count();
        assert_eq!(count("(N_BNSYM"), count("(N_ENSYM"));
        assert_eq!(2 * count("(N_BNSYM"), count("(N_FUN"));
        let dsym = exe.with_extension("dSYM");
        let _ = std::fs::remove_dir_all(&dsym);
        testkit::cli::dsymutil_quietly(exe, &dsym, "the program");
        let v = testkit::cli::tool("llvm-dwarfdump-19", &["--verify"], &dsym);
        assert!(v.contains("No errors."), "{v}");
    }
}
