//! The symbols the linker defines: `__mh_execute_header`,
//! `__mh_dylib_header`, `___dso_handle`, `section$start$SEG$SECT`,
//! `section$end$...`, `segment$start$SEG`, `segment$end$SEG`. C programs
//! refer to them through asm labels and print offsets from the header;
//! the expected values are read from the output's own load commands with
//! llvm-objdump. machlink's outputs must also mean what lld's do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use testkit::capture;
use testkit::cli::{compile, run_ok, tool};
use testkit::semantic_diff::{Allow, Category};
use testkit::Linker;

const PROGRAM: &str = r#"
#include <stdio.h>
extern char mh[] __asm("__mh_execute_header");
extern char dso[] __asm("___dso_handle");
extern int items_start[] __asm("section$start$__DATA$__items");
extern int items_end[] __asm("section$end$__DATA$__items");
extern char none_start[] __asm("section$start$__DATA$__none");
extern char none_end[] __asm("section$end$__DATA$__none");
extern char text_start[] __asm("section$start$__TEXT$__text");
extern char text_end[] __asm("section$end$__TEXT$__text");
extern char const_start[] __asm("section$start$__DATA$__const");
extern char tseg_start[] __asm("segment$start$__TEXT");
extern char tseg_end[] __asm("segment$end$__TEXT");
extern char dseg_start[] __asm("segment$start$__DATA");
extern char dseg_end[] __asm("segment$end$__DATA");
__attribute__((section("__DATA,__items"), used)) int items[3] = {10, 20, 30};
const char *const table[2] = {"a", "b"};
static long off(const void *p) { return (long)((const char *)p - mh); }
int main(void) {
    int sum = 0;
    for (int *p = items_start; p < items_end; p++)
        sum += *p;
    printf("sum %d\n", sum);
    printf("dso %lx\n", off(dso));
    printf("__DATA,__items %lx %lx\n", off(items_start), off(items_end));
    printf("__DATA,__none %lx %lx\n", off(none_start), off(none_end));
    printf("__TEXT,__text %lx %lx\n", off(text_start), off(text_end));
    printf("const %lx %s\n", off(const_start), table[1]);
    printf("__TEXT %lx %lx\n", off(tseg_start), off(tseg_end));
    printf("__DATA %lx %lx\n", off(dseg_start), off(dseg_end));
    return 0;
}
"#;

/// Segments (vmaddr, vmsize) and sections (addr, size) of an output, by
/// name ("SEG" and "SEG,SECT"), from llvm-objdump's load commands.
fn load_commands(exe: &Path) -> HashMap<String, (u64, u64)> {
    let text = tool("llvm-objdump-19", &["--macho", "--private-headers"], exe);
    let mut out = HashMap::new();
    let hex = |l: &str| {
        u64::from_str_radix(l.split_whitespace().last()?.trim_start_matches("0x"), 16).ok()
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("cmd LC_SEGMENT_64") {
            let seg = lines[i + 2].trim_start_matches("segname ").to_string();
            out.insert(
                seg,
                (hex(lines[i + 3]).unwrap(), hex(lines[i + 4]).unwrap()),
            );
        }
        if let Some(sect) = l.strip_prefix("sectname ") {
            let seg = lines[i + 1].trim_start_matches("segname ");
            out.insert(
                format!("{seg},{sect}"),
                (hex(lines[i + 2]).unwrap(), hex(lines[i + 3]).unwrap()),
            );
        }
    }
    out
}

/// What the program must print, computed from its load commands.
fn expected(exe: &Path) -> String {
    let lc = load_commands(exe);
    let base = lc["__TEXT"].0;
    let get = |name: &str| {
        *lc.get(name)
            .unwrap_or_else(|| panic!("{}: no {name} in the load commands", exe.display()))
    };
    let range = |name: &str| {
        let (addr, size) = get(name);
        format!("{name} {:x} {:x}\n", addr - base, addr + size - base)
    };
    // Constant data: in __DATA_CONST when the image has that segment.
    let konst = lc
        .get("__DATA_CONST,__const")
        .or_else(|| lc.get("__DATA,__const"))
        .expect("a __const section")
        .0;
    format!(
        "sum 60\ndso 0\n{}{}{}const {:x} b\n{}{}",
        range("__DATA,__items"),
        range("__DATA,__none"),
        range("__TEXT,__text"),
        konst - base,
        range("__TEXT"),
        range("__DATA"),
    )
}

#[test]
fn boundaries_and_headers_have_their_addresses() {
    let dir = testkit::scratch_dir("linker_symbols/exe");
    let obj = compile(&dir, "prog", PROGRAM);
    let objs = [obj];
    for linker in [
        Linker::MachlinkChained,
        Linker::MachlinkClassic,
        Linker::LldChained,
    ] {
        let exe = dir.join(format!("prog-{}", linker.name()));
        testkit::link(linker, &objs, &exe, &[]);
        let lc = load_commands(&exe);
        // A section only a boundary names exists, empty, as in lld.
        assert_eq!(
            lc.get("__DATA,__none").map(|s| s.1),
            Some(0),
            "{}",
            exe.display()
        );
        assert_eq!(run_ok(&exe), expected(&exe), "{}", exe.display());
    }
    // The boundaries and headers are private: not in the symbol table,
    // not exported (only __mh_execute_header is).
    let ours = dir.join(format!("prog-{}", Linker::MachlinkChained.name()));
    let nm = tool("llvm-nm-19", &["-m"], &ours);
    assert!(!nm.contains("section$") && !nm.contains("segment$"), "{nm}");
    assert!(!nm.contains("___dso_handle"), "{nm}");
    assert!(
        nm.contains("[referenced dynamically] external __mh_execute_header"),
        "{nm}"
    );
    let lld = dir.join(format!("prog-{}", Linker::LldChained.name()));
    let cmp = testkit::semantic_diff::compare_files(&ours, &lld).unwrap();
    let mut allow = crate::semantic_diff::ALLOW.to_vec();
    allow.push(Allow {
        category: Category::Code,
        subject: "_main",
        ours: "*[got(local _items+0xc)](%rip), %rdx*",
        reference: "*[got(_printf)](%rip), %rdx*",
        reason: "segment$end$__TEXT is the first address of __DATA_CONST, which the diff \
                 names by the GOT slot there; lld and machlink order GOT slots differently \
                 (every slot is compared by name in the fixups category)",
    });
    let unexplained = cmp.unexplained(&allow);
    assert!(
        unexplained.is_empty(),
        "{}",
        unexplained
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const DYLIB: &str = r#"
extern char mh[] __asm("__mh_dylib_header");
extern char dso[] __asm("___dso_handle");
extern int items_start[] __asm("section$start$__DATA$__items");
extern int items_end[] __asm("section$end$__DATA$__items");
__attribute__((section("__DATA,__items"), used)) int items[4] = {1, 2, 3, 4};
long lib_dso(void) { return (long)(dso - mh); }
long lib_items(void) { return (long)((char *)items_start - mh); }
int lib_sum(void) {
    int s = 0;
    for (int *p = items_start; p < items_end; p++)
        s += *p;
    return s;
}
"#;

const DYLIB_MAIN: &str = r#"
#include <stdio.h>
long lib_dso(void);
long lib_items(void);
int lib_sum(void);
int main(void) {
    printf("%ld %lx %d\n", lib_dso(), lib_items(), lib_sum());
    return 0;
}
"#;

/// In a dylib the header is `__mh_dylib_header` (private), and boundaries
/// are offsets from it; macho-run loads the dylib slid.
#[test]
fn a_dylib_has_its_own_header_and_boundaries() {
    let dir = testkit::scratch_dir("linker_symbols/dylib");
    let lib_obj = compile(&dir, "lib", DYLIB);
    let main_obj = compile(&dir, "main", DYLIB_MAIN);
    for (tag, mut cmd) in [
        (
            "machlink",
            testkit::machlink_command(&dir.join("libm.dylib")),
        ),
        ("lld", testkit::lld_command(&dir.join("libl.dylib"))),
    ] {
        let lib: PathBuf = dir.join(if tag == "lld" {
            "libl.dylib"
        } else {
            "libm.dylib"
        });
        testkit::check(
            cmd.args(["-dylib", "-install_name", "@rpath/libx.dylib"])
                .arg(&lib_obj),
        );
        let exe = dir.join(format!("main-{tag}"));
        let mut link = testkit::machlink_command(&exe);
        testkit::check(
            link.arg(&main_obj)
                .arg(&lib)
                .args(["-rpath", "@executable_path"]),
        );
        std::fs::copy(&lib, dir.join("libx.dylib")).unwrap();
        let items = load_commands(&lib)["__DATA,__items"].0;
        assert_eq!(run_ok(&exe), format!("0 {items:x} 10\n"), "{tag}");
        let nm = tool("llvm-nm-19", &["-m"], &lib);
        assert!(!nm.contains("__mh_dylib_header"), "{tag}: {nm}");
        assert!(!nm.contains("__mh_execute_header"), "{tag}: {nm}");
    }
}

/// What lld refuses, machlink refuses with a message: another output
/// kind's header; and boundaries under `-incremental` (of a section, or
/// of a segment the image lacks), whose reserved room would move them. A
/// missing segment in a full link is created empty (see
/// `lld_parity::a_segment_only_boundaries_name_is_created_empty`).
#[test]
fn unavailable_linker_symbols_are_errors() {
    let dir = testkit::scratch_dir("linker_symbols/errors");
    let cases = [
        (
            "dylib_header",
            "extern char h[] __asm(\"__mh_dylib_header\");\nint main(void) { return h[0]; }\n",
            &[][..],
            "undefined symbol: __mh_dylib_header",
        ),
        (
            "no_segment_incremental",
            "extern char s[] __asm(\"segment$start$__NOSEG\");\nint main(void) { return s[0]; }\n",
            &["-incremental"][..],
            "segment$start$__NOSEG cannot be used with -incremental",
        ),
        (
            "incremental",
            "extern char s[] __asm(\"section$start$__TEXT$__text\");\nint main(void) { return s[0]; }\n",
            &["-incremental"][..],
            "cannot be used with -incremental",
        ),
    ];
    for (name, src, flags, message) in cases {
        let obj = compile(&dir, name, src);
        let out = dir.join(name);
        let o = capture(testkit::machlink_command(&out).args(flags).arg(&obj));
        assert_eq!(o.code, 1, "{name}: {}", o.stderr_str());
        assert!(
            o.stderr_str().contains("machlink: error: ") && o.stderr_str().contains(message),
            "{name}: {}",
            o.stderr_str()
        );
        assert!(!out.exists(), "{name}: an output was left behind");
    }
}
