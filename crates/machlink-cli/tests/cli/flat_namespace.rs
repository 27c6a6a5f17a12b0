//! `-flat_namespace` dylibs: their external definitions are interposable,
//! as lld makes them. Calls from inside the dylib go through stubs, address
//! loads through GOT slots and pointers in data are bound, all by flat
//! lookup (ordinal -2) naming the dylib's own symbol; at run time an
//! executable's definition of the name takes the dylib's place.

use std::path::{Path, PathBuf};
use testkit::cli::{compile, run_ok, tool};
use testkit::semantic_diff::{Allow, Category};
use testkit::Linker;

/// The semantic diff's accepted differences, and lld's flat-namespace
/// spelling of its unused `dyld_stub_binder`.
fn allow() -> Vec<Allow> {
    let mut allow = crate::semantic_diff::ALLOW.to_vec();
    allow.push(Allow {
        category: Category::Symbols,
        subject: "dyld_stub_binder",
        ours: "(none)",
        reference: "undefined from flat-lookup, external",
        reason: "with chained fixups nothing is bound lazily, so nothing calls dyld_stub_binder; \
                 lld 19 still lists it as an undefined symbol with no fixup using it",
    });
    allow
}

/// `foo` is called, kept as a data pointer and (via `counter`, defined in
/// another object) a GOT load; `hidden_fn` is a private extern.
const LIB_C: &str = r#"
extern int counter;
/* Read through a volatile so that the compiler cannot fold the call. */
static volatile int one = 1;
__attribute__((noinline)) int foo(void) { return one; }
int (*foo_ptr)(void) = foo;
__attribute__((visibility("hidden"), noinline)) int hidden_fn(void) { __asm__ volatile(""); return 5; }
int bar(void) { return foo() * 10 + foo_ptr() * 100 + counter * 1000 + hidden_fn(); }
/* A thread-local definition is interposable too (its thread pointer is bound). */
__thread int tl_count = 2;
int tl_bump(void) { return ++tl_count; }
"#;
const COUNTER_C: &str = "int counter = 1;\n";
/// Defines `foo` strongly: under flat lookup it interposes the dylib's.
const INTERPOSING_MAIN_C: &str = r#"
#include <stdio.h>
int bar(void);
int foo(void) { __asm__ volatile(""); return 7; }
int main(void) { printf("%d\n", bar()); return 0; }
"#;
const PLAIN_MAIN_C: &str = r#"
#include <stdio.h>
int bar(void);
int main(void) { printf("%d\n", bar()); return 0; }
"#;

/// (name, ordinal) of the classic bind and lazy bind records, sorted.
fn classic_binds(file: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in ["--bind", "--lazy-bind"] {
        let text = tool("llvm-objdump-19", &["--macho", table], file);
        for l in text
            .lines()
            .skip_while(|l| !l.starts_with("segment"))
            .skip(1)
        {
            let words: Vec<&str> = l.split_whitespace().collect();
            let (Some(name), Some(dylib)) = (words.last(), words.iter().rev().nth(1)) else {
                continue;
            };
            out.push((name.to_string(), dylib.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Chained-fixups imports with the flat-lookup ordinal (-2), sorted.
fn flat_imports(file: &Path) -> Vec<String> {
    let text = tool("llvm-objdump-19", &["--macho", "--chained-fixups"], file);
    let mut out = Vec::new();
    let mut flat = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("lib_ordinal = ") {
            flat = rest.starts_with("-2 ");
        } else if let Some(rest) = line.strip_prefix("name_offset = ") {
            if flat {
                let name = rest.split('(').nth(1).unwrap_or("").trim_end_matches(')');
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    out
}

/// Links `libflat.dylib` (with `lib_flags`) and two programs using it into
/// `dir`; returns the dylib and the programs (interposing, plain).
fn link_set(
    dir: &Path,
    linker: Linker,
    objs: &[PathBuf],
    mains: &[PathBuf; 2],
    lib_flags: &[&str],
) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let lib = dir.join("libflat.dylib");
    let mut flags = vec!["-dylib", "-install_name", "@executable_path/libflat.dylib"];
    flags.extend_from_slice(lib_flags);
    testkit::link(linker, objs, &lib, &flags);
    let exes = ["interposing", "plain"].map(|n| dir.join(n));
    for (exe, main) in exes.iter().zip(mains) {
        testkit::link(linker, &[main.clone(), lib.clone()], exe, &[]);
    }
    let [a, b] = exes;
    (lib, a, b)
}

/// A `-flat_namespace` dylib matches lld's under the semantic diff in both
/// formats, binds its own `_foo` and `_counter` by flat lookup (never the
/// private extern), and an executable's `foo` interposes the dylib's
/// internal call and pointer under macho-run. Without `-flat_namespace`
/// the dylib keeps calling its own.
#[test]
fn flat_namespace_dylib_definitions_are_interposable() {
    crate::semantic_diff::require_tools();
    let dir = testkit::scratch_dir("flat_namespace/dylib");
    let objs = [
        compile(&dir, "lib", LIB_C),
        compile(&dir, "counter", COUNTER_C),
    ];
    let mains = [
        compile(&dir, "interposing", INTERPOSING_MAIN_C),
        compile(&dir, "plain", PLAIN_MAIN_C),
    ];
    let flat = ["-flat_namespace"];
    let mut problems = Vec::new();
    for (format, ours, lld) in [
        ("chained", Linker::MachlinkChained, Linker::LldChained),
        ("classic", Linker::MachlinkClassic, Linker::LldClassic),
    ] {
        let (lib, interposing, plain) = link_set(
            &dir.join(format!("ours-{format}")),
            ours,
            &objs,
            &mains,
            &flat,
        );
        let (lld_lib, lld_interposing, _) = link_set(
            &dir.join(format!("lld-{format}")),
            lld,
            &objs,
            &mains,
            &flat,
        );
        problems.extend(crate::semantic_diff::diff_pair(
            &format!("flat dylib ({format})"),
            &lib,
            &lld_lib,
            &allow(),
        ));
        if format == "classic" {
            let binds = classic_binds(&lib);
            assert_eq!(binds, classic_binds(&lld_lib), "{}", lib.display());
            for name in ["_foo", "_counter"] {
                assert!(
                    binds.contains(&(name.to_string(), "flat-namespace".to_string())),
                    "{name} is bound by flat lookup: {binds:?}"
                );
            }
            assert!(!binds.iter().any(|(n, _)| n == "_hidden_fn"), "{binds:?}");
        } else {
            let imports = flat_imports(&lib);
            assert_eq!(imports, flat_imports(&lld_lib), "{}", lib.display());
            assert!(imports.contains(&"_foo".to_string()), "{imports:?}");
            assert!(imports.contains(&"_counter".to_string()), "{imports:?}");
            assert!(!imports.contains(&"_hidden_fn".to_string()), "{imports:?}");
        }
        // A bundle is treated like a dylib.
        let bundles = ["ours", "lld"].map(|w| dir.join(format!("{w}-{format}.bundle")));
        let bundle_flags = ["-bundle", "-flat_namespace"];
        testkit::link(ours, &objs, &bundles[0], &bundle_flags);
        testkit::link(lld, &objs, &bundles[1], &bundle_flags);
        problems.extend(crate::semantic_diff::diff_pair(
            &format!("flat bundle ({format})"),
            &bundles[0],
            &bundles[1],
            &allow(),
        ));
        // 10 * foo + 100 * foo + 1000 * counter + 5.
        assert_eq!(
            run_ok(&interposing),
            "1775\n",
            "{format}: foo is interposed"
        );
        assert_eq!(run_ok(&lld_interposing), "1775\n", "{format}: lld's output");
        assert_eq!(run_ok(&plain), "1115\n", "{format}: the dylib's own foo");
        // A name the export list leaves out stays inside the image (lld
        // would bind it by a flat lookup nothing can answer).
        let (hidden_lib, hidden_interposing, _) = link_set(
            &dir.join(format!("unexported-{format}")),
            ours,
            &objs,
            &mains,
            &["-flat_namespace", "-unexported_symbol", "_foo"],
        );
        if format == "classic" {
            assert!(!classic_binds(&hidden_lib).iter().any(|(n, _)| n == "_foo"));
        } else {
            assert!(!flat_imports(&hidden_lib).contains(&"_foo".to_string()));
        }
        assert_eq!(
            run_ok(&hidden_interposing),
            "1115\n",
            "{format}: _foo unexported"
        );
        // Two-level namespace: the dylib's references stay inside it.
        let (_, two_level, _) = link_set(
            &dir.join(format!("two-level-{format}")),
            ours,
            &objs,
            &mains,
            &[],
        );
        assert_eq!(run_ok(&two_level), "1115\n", "{format}: not interposable");
    }
    crate::semantic_diff::assert_no_problems("-flat_namespace dylib", &problems);
}

/// Executables are not affected: a `-flat_namespace` executable calls its
/// own definitions directly (no stub, no bind), as lld links it.
#[test]
fn flat_namespace_executables_bind_only_imports() {
    crate::semantic_diff::require_tools();
    let dir = testkit::scratch_dir("flat_namespace/exe");
    let src = "#include <stdio.h>\n__attribute__((noinline)) int foo(void) { __asm__ volatile(\"\"); return 3; }\n\
               int (*p)(void) = foo;\nint main(void) { printf(\"%d\\n\", foo() + p()); return 0; }\n";
    let obj = compile(&dir, "main", src);
    for (format, ours, lld) in [
        ("chained", Linker::MachlinkChained, Linker::LldChained),
        ("classic", Linker::MachlinkClassic, Linker::LldClassic),
    ] {
        let a = dir.join(format!("ours-{format}"));
        let b = dir.join(format!("lld-{format}"));
        testkit::link(ours, std::slice::from_ref(&obj), &a, &["-flat_namespace"]);
        testkit::link(lld, std::slice::from_ref(&obj), &b, &["-flat_namespace"]);
        let problems = crate::semantic_diff::diff_pair(format, &a, &b, &allow());
        crate::semantic_diff::assert_no_problems("-flat_namespace executable", &problems);
        if format == "classic" {
            assert!(!classic_binds(&a).iter().any(|(n, _)| n == "_foo"));
        } else {
            assert!(!flat_imports(&a).contains(&"_foo".to_string()));
        }
        assert_eq!(run_ok(&a), "6\n");
    }
}
