//! Weak definitions across images, compared with ld64.lld-19 in both
//! fixup formats: the header flags MH_WEAK_DEFINES / MH_BINDS_TO_WEAK,
//! weak binds (the classic weak_bind stream, chained imports with the
//! weak-lookup ordinal -3), strong definitions that override a dylib's
//! weak one, weak definitions that stay inside the image (private
//! externs, `.weak_def_can_be_hidden`, export lists), and `-incremental`
//! falling back to a full link where dyld coalesces.

use std::path::{Path, PathBuf};
use testkit::cli::{compile, incremental_command, incremental_line, run_ok, tool};
use testkit::{capture, Linker};

const MH_WEAK_DEFINES: u32 = 0x8000;
const MH_BINDS_TO_WEAK: u32 = 0x1_0000;
const WEAK_FLAGS: u32 = MH_WEAK_DEFINES | MH_BINDS_TO_WEAK;

/// The mach header's MH_WEAK_DEFINES and MH_BINDS_TO_WEAK bits.
fn weak_flags(file: &Path) -> u32 {
    let bytes = std::fs::read(file).unwrap();
    u32::from_le_bytes(bytes[24..28].try_into().unwrap()) & WEAK_FLAGS
}

/// The classic weak bind table: (symbol, is a strong-definition record),
/// sorted, one entry per slot.
fn weak_binds(file: &Path) -> Vec<(String, bool)> {
    let text = tool("llvm-objdump-19", &["--macho", "--weak-bind"], file);
    let mut out: Vec<(String, bool)> = text
        .lines()
        .skip_while(|l| !l.starts_with("segment"))
        .skip(1)
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let name = words.last()?.to_string();
            Some((name, words.first() == Some(&"strong")))
        })
        .collect();
    out.sort();
    out
}

/// Chained-fixups imports with the weak-lookup ordinal (-3), sorted.
fn weak_lookups(file: &Path) -> Vec<String> {
    let text = tool("llvm-objdump-19", &["--macho", "--chained-fixups"], file);
    let mut out = Vec::new();
    let mut weak = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("lib_ordinal = ") {
            weak = rest.starts_with("-3 ");
        } else if let Some(rest) = line.strip_prefix("name_offset = ") {
            if weak {
                let name = rest.split('(').nth(1).unwrap_or("").trim_end_matches(')');
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    out
}

/// Links `objs` (plus `extra`) with machlink and with lld in one format;
/// returns (machlink's output, lld's).
fn link_pair(
    dir: &Path,
    tag: &str,
    classic: bool,
    objs: &[PathBuf],
    extra: &[&str],
) -> (PathBuf, PathBuf) {
    let (ours, theirs) = if classic {
        (Linker::MachlinkClassic, Linker::LldClassic)
    } else {
        (Linker::MachlinkChained, Linker::LldChained)
    };
    let format = if classic { "classic" } else { "chained" };
    let a = dir.join(format!("{tag}-machlink-{format}"));
    let b = dir.join(format!("{tag}-lld-{format}"));
    testkit::link(ours, objs, &a, extra);
    testkit::link(theirs, objs, &b, extra);
    (a, b)
}

/// Asserts that machlink's and lld's outputs agree on the weak flags and
/// weak binds, and returns machlink's (flags, classic weak binds or
/// chained weak lookups as names).
fn same_weak_facts(ours: &Path, lld: &Path, classic: bool) -> (u32, Vec<String>) {
    assert_eq!(
        weak_flags(ours),
        weak_flags(lld),
        "{}: header weak flags differ from lld's",
        ours.display()
    );
    let names = if classic {
        let (a, b) = (weak_binds(ours), weak_binds(lld));
        assert_eq!(a, b, "{}: weak binds differ from lld's", ours.display());
        a.into_iter()
            .map(|(n, strong)| if strong { format!("strong {n}") } else { n })
            .collect()
    } else {
        let (a, b) = (weak_lookups(ours), weak_lookups(lld));
        assert_eq!(
            a,
            b,
            "{}: weak-lookup imports differ from lld's",
            ours.display()
        );
        a
    };
    (weak_flags(ours), names)
}

/// An executable's exported weak definitions: every reference goes through
/// a weakly bound slot, and both flags are set; definitions a strong one
/// replaced are not coalesced.
#[test]
fn exported_weak_definitions_are_weakly_bound_in_both_formats() {
    let dir = testkit::scratch_dir("weak/exported");
    let objs = testkit::compile_corpus_macos("weak_defs", &dir, testkit::CORPUS_CFLAGS);
    for classic in [false, true] {
        let (ours, lld) = link_pair(&dir, "weak_defs", classic, &objs, &[]);
        let (flags, names) = same_weak_facts(&ours, &lld, classic);
        assert_eq!(flags, WEAK_FLAGS, "{}", ours.display());
        for name in ["_fallback_value", "_main_weak_helper", "_only_weak_fn"] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        for strong in ["_backend_name", "_backend_version", "_tuning_value"] {
            assert!(!names.iter().any(|n| n == strong), "{strong} in {names:?}");
        }
        assert_eq!(run_ok(&ours), run_ok(&lld));
    }
}

const PICK_LIB_C: &str = "__attribute__((weak)) int pick(void) { return 1; }\n\
                          int lib_pick(void) { return pick(); }\n";
const PICK_MAIN_C: &str = "#include <stdio.h>\nint pick(void) { return 2; }\nint lib_pick(void);\n\
                           int main(void) { printf(\"%d\\n\", lib_pick()); return 0; }\n";

/// A strong definition overriding a weak one a linked dylib exports: a
/// `strong` record in the classic weak bind stream and MH_WEAK_DEFINES in
/// both formats (so that dyld looks at the executable when coalescing),
/// no MH_BINDS_TO_WEAK; at run time the dylib's own call reaches it.
#[test]
fn a_strong_definition_overriding_a_dylibs_weak_one_is_announced() {
    let dir = testkit::scratch_dir("weak/override");
    let lib_obj = compile(&dir, "lib", PICK_LIB_C);
    let main_obj = compile(&dir, "main", PICK_MAIN_C);
    for classic in [false, true] {
        let format = if classic { "classic" } else { "chained" };
        let lib = dir.join(format!("libpick-{format}.dylib"));
        let name = format!("@rpath/libpick-{format}.dylib");
        let mut cmd = testkit::machlink_command(&lib);
        if classic {
            cmd.arg("-no_fixup_chains");
        }
        testkit::check(cmd.args(["-dylib", "-install_name", &name]).arg(&lib_obj));
        let objs = [main_obj.clone(), lib.clone()];
        let (ours, lld) = link_pair(
            &dir,
            "override",
            classic,
            &objs,
            &["-rpath", "@executable_path"],
        );
        let (flags, names) = same_weak_facts(&ours, &lld, classic);
        assert_eq!(flags, MH_WEAK_DEFINES, "{}", ours.display());
        if classic {
            assert_eq!(names, ["strong _pick"]);
        }
        assert_eq!(
            run_ok(&ours),
            "2\n",
            "the executable's pick wins in the dylib too"
        );
        assert_eq!(run_ok(&lld), "2\n");
    }
}

/// `_hid` is `.weak_def_can_be_hidden`, `_pv` a private extern weak
/// definition, `_w` an ordinary one: C calls all three and keeps pointers
/// to them.
const HIDDEN_S: &str = "\t.section __TEXT,__text,regular,pure_instructions\n\
    \t.globl _hid\n\t.weak_def_can_be_hidden _hid\n\t.p2align 4\n_hid:\n\tmovl $7, %eax\n\tretq\n\
    \t.globl _pv\n\t.private_extern _pv\n\t.weak_definition _pv\n\t.p2align 4\n_pv:\n\tmovl $8, %eax\n\tretq\n\
    \t.globl _w\n\t.weak_definition _w\n\t.p2align 4\n_w:\n\tmovl $9, %eax\n\tretq\n\
    .subsections_via_symbols\n";
const HIDDEN_MAIN_C: &str = "#include <stdio.h>\nint hid(void); int pv(void); int w(void);\n\
    int (*ptrs[])(void) = { hid, pv, w };\n\
    int main(void) { printf(\"%d %d %d %d\\n\", hid(), pv(), w(), ptrs[0]() + ptrs[1]() + ptrs[2]()); return 0; }\n";

/// Weak definitions that dyld must not coalesce bind inside the image: a
/// private extern, a `.weak_def_can_be_hidden` one (unless an export list
/// names it), and one an export list leaves out. As lld decides, in both
/// formats.
#[test]
fn hidden_weak_definitions_bind_inside_the_image() {
    let dir = testkit::scratch_dir("weak/hidden");
    let asm = dir.join("hidden.s");
    std::fs::write(&asm, HIDDEN_S).unwrap();
    let hidden_obj = dir.join("hidden.o");
    testkit::compile_macos(&asm, &hidden_obj, &[]);
    let main_obj = compile(&dir, "main", HIDDEN_MAIN_C);
    let objs = [main_obj, hidden_obj];
    let list = dir.join("exports.txt");
    std::fs::write(&list, "_main\n_hid\n").unwrap();
    let list_arg = list.display().to_string();
    let cases: [(&str, Vec<&str>, &[&str]); 3] = [
        // Only `_w` is coalesced.
        ("plain", vec![], &["_w"]),
        // The list exports `_hid` (it could be hidden, so it can be
        // exported) and hides `_w`.
        (
            "listed",
            vec!["-exported_symbols_list", &list_arg],
            &["_hid"],
        ),
        ("unexported", vec!["-unexported_symbol", "_w"], &[]),
    ];
    for (tag, flags, coalesced) in &cases {
        for classic in [false, true] {
            let (ours, lld) = link_pair(&dir, tag, classic, &objs, flags);
            let (weak, mut names) = same_weak_facts(&ours, &lld, classic);
            names.dedup();
            assert_eq!(&names, coalesced, "{tag}: {}", ours.display());
            let expected = if coalesced.is_empty() { 0 } else { WEAK_FLAGS };
            assert_eq!(weak, expected, "{tag}: {}", ours.display());
            assert_eq!(run_ok(&ours), "7 8 9 24\n", "{tag}");
        }
    }
}

/// `-incremental`, in both fixup formats: an edit of an object whose
/// weak definition dyld coalesces is an update when the definition keeps
/// its winner and address (its export, slots and weak binds or weak-lookup
/// imports stay right); the result runs, verifies and keeps the flags. A
/// definition that stops being weak, or a new weak one (a new export and
/// weak binds), is a full link with the reason.
#[test]
fn incremental_links_update_coalesced_weak_definitions_that_keep_their_winner() {
    for classic in [false, true] {
        let tag = if classic { "classic" } else { "chained" };
        let dir = testkit::scratch_dir(&format!("weak/incremental-{tag}"));
        let out = dir.join("prog");
        let main_src = "#include <stdio.h>\nint shared(void); int other(void);\n\
                        int (*volatile p)(void) = shared;\n\
                        int main(void) { printf(\"%d %d %d\\n\", shared(), p(), other()); \
                        return 0; }\n";
        let main = compile(&dir, "main", main_src);
        let weak_src =
            |body: &str| format!("__attribute__((weak)) int shared(void) {{ {body} }}\n");
        let weak = compile(&dir, "weak", &weak_src("return 1;"));
        let other = compile(&dir, "other", "int other(void) { return 10; }\n");
        let link = |want: &str| {
            let mut cmd = incremental_command(&out);
            if classic {
                cmd.arg("-no_fixup_chains");
            }
            let o = capture(cmd.args([&main, &weak, &other]));
            assert_eq!(o.code, 0, "{tag}: {}", o.stderr_str());
            let line = incremental_line(&o);
            assert!(line.contains(want), "{tag}: wanted {want:?}: {line}");
            let v = testkit::cli::machlink_verify(&out);
            assert_eq!(v.code, 0, "{tag}: {}{}", v.stdout_str(), v.stderr_str());
        };
        link("full link: first link");
        assert_eq!(run_ok(&out), "1 1 10\n", "{tag}");
        assert_eq!(weak_flags(&out), WEAK_FLAGS, "{tag}");
        compile(&dir, "weak", &weak_src("return 2;"));
        link("updated 1 object(s)");
        assert_eq!(run_ok(&out), "2 2 10\n", "{tag}");
        assert_eq!(weak_flags(&out), WEAK_FLAGS, "{tag}");
        // Grown past its slot: it moves behind a trampoline, its export
        // and weak binds keep the canonical address.
        let grown = "volatile int n = 3; int s = 0; for (int i = 0; i < n; i++) s += i * i + \
                     (s ^ i) * 7 - (s >> 2) + (i << 3); return s % 5 + 3;";
        compile(&dir, "weak", &weak_src(grown));
        link("updated 1 object(s)");
        assert_eq!(run_ok(&out), "6 6 10\n", "{tag}");
        assert_eq!(weak_flags(&out), WEAK_FLAGS, "{tag}");
        compile(
            &dir,
            "weak",
            &format!(
                "{}__attribute__((weak)) int extra(void) {{ return 5; }}\n",
                weak_src("return 4;")
            ),
        );
        link("is a new weak definition dyld coalesces");
        assert_eq!(run_ok(&out), "4 4 10\n", "{tag}");
        compile(&dir, "weak", "int shared(void) { return 7; }\n");
        link("changed between a weak definition dyld coalesces and one it does not");
        assert_eq!(run_ok(&out), "7 7 10\n", "{tag}");
        compile(&dir, "other", "int other(void) { return 20; }\n");
        link("updated 1 object(s)");
        assert_eq!(run_ok(&out), "7 7 20\n", "{tag}");
    }
}

const WEAK_TBD: &str = "--- !tapi-tbd
tbd-version: 4
targets: [ x86_64-macos ]
install-name: '/usr/lib/libweakdefs.dylib'
current-version: 1
exports:
  - targets: [ x86_64-macos ]
    symbols: [ _strong_fn ]
    weak-symbols: [ _weak_fn, _weak_var ]
...
";
const WEAK_TBD_MAIN_C: &str = "int strong_fn(void); int weak_fn(void); extern int weak_var;\n\
    int *ptr = &weak_var;\n\
    int main(void) { return strong_fn() + weak_fn() + *ptr; }\n";

/// Imports of a dylib's weak definitions (from a `.tbd`): weakly bound
/// (classic bind plus weak bind, chained weak-lookup imports), marked
/// N_REF_TO_WEAK, and MH_BINDS_TO_WEAK alone; the strong import is bound
/// as usual. As lld links them, in both formats.
#[test]
fn imports_of_a_dylibs_weak_definitions_are_weakly_bound() {
    let dir = testkit::scratch_dir("weak/tbd-imports");
    let tbd = dir.join("libweakdefs.tbd");
    std::fs::write(&tbd, WEAK_TBD).unwrap();
    let main = compile(&dir, "main", WEAK_TBD_MAIN_C);
    let objs = [main, tbd];
    for classic in [false, true] {
        let (ours, lld) = link_pair(&dir, "tbd", classic, &objs, &[]);
        let (flags, mut names) = same_weak_facts(&ours, &lld, classic);
        assert_eq!(flags, MH_BINDS_TO_WEAK, "{}", ours.display());
        names.dedup();
        assert_eq!(names, ["_weak_fn", "_weak_var"], "{}", ours.display());
        // `weak external` is N_REF_TO_WEAK on an undefined symbol.
        let nm = |f: &Path| {
            let text = tool("llvm-nm-19", &["-m", "--undefined-only"], f);
            text.lines()
                .filter(|l| {
                    ["_strong_fn", "_weak_fn", "_weak_var"]
                        .iter()
                        .any(|n| l.contains(n))
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let undefined = nm(&ours);
        assert_eq!(undefined, nm(&lld), "undefined symbols and their flags");
        assert_eq!(
            undefined
                .iter()
                .filter(|l| l.contains("weak external"))
                .count(),
            2,
            "{undefined:?}"
        );
    }
}

/// A `.tbd` exporting `_f` (weak or strong) and `_only_NAME`.
fn tbd(dir: &Path, name: &str, weak: bool) -> PathBuf {
    let symbols = if weak {
        format!("symbols: [ _only_{name} ]\n    weak-symbols: [ _f ]")
    } else {
        format!("symbols: [ _f, _only_{name} ]")
    };
    let text = format!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
         install-name: '/usr/lib/lib{name}.dylib'\nexports:\n\
         \x20 - targets: [ x86_64-macos ]\n    {symbols}\n...\n"
    );
    let path = dir.join(format!("lib{name}.tbd"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The (library, weak-lookup or not) each chained import of `_f` binds to.
fn import_of_f(file: &Path) -> String {
    let text = tool("llvm-objdump-19", &["--macho", "--chained-fixups"], file);
    let mut lib = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("lib_ordinal = ") {
            lib = rest.to_string();
        } else if line.starts_with("name_offset = ") && line.ends_with("(_f)") {
            return lib;
        }
    }
    panic!("{}: no import of _f:\n{text}", file.display())
}

/// Between dylibs, the first export of a name wins unless it is weak and a
/// later dylib's is strong (as lld picks): `_f` binds to libstrong whether
/// or not libweak comes first; with weak exports only, it is a weak-lookup
/// import.
#[test]
fn a_later_dylibs_strong_export_beats_an_earlier_weak_one() {
    let dir = testkit::scratch_dir("weak/dylib-precedence");
    let weak = tbd(&dir, "weak", true);
    let strong = tbd(&dir, "strong", false);
    let other_weak = tbd(&dir, "weak2", true);
    let main = compile(
        &dir,
        "main",
        "int f(void);\nint main(void) { return f(); }\n",
    );
    let orders: [(&str, [&PathBuf; 3], &str); 2] = [
        ("weak-first", [&weak, &strong, &other_weak], "(libstrong)"),
        ("strong-first", [&strong, &weak, &other_weak], "(libstrong)"),
    ];
    for (tag, libs, want) in orders {
        let objs: Vec<PathBuf> = std::iter::once(main.clone())
            .chain(libs.iter().map(|p| (*p).clone()))
            .collect();
        let (ours, lld) = link_pair(&dir, tag, false, &objs, &[]);
        let (a, b) = (import_of_f(&ours), import_of_f(&lld));
        assert_eq!(a, b, "{tag}: _f's import differs from lld's");
        assert!(a.ends_with(want), "{tag}: _f from {a}");
        same_weak_facts(&ours, &lld, false);
    }
    // Only weak exports: a weak-lookup import, as lld makes it.
    let objs = vec![main.clone(), other_weak.clone(), weak.clone()];
    let (ours, lld) = link_pair(&dir, "weak-weak", false, &objs, &[]);
    assert_eq!(import_of_f(&ours), import_of_f(&lld));
    assert!(
        import_of_f(&ours).starts_with("-3 "),
        "{}",
        import_of_f(&ours)
    );
}
