//! Details where machlink's output follows ld64.lld-19 (issue #12): the
//! header's cpusubtype, what an export list does to `__mh_execute_header`,
//! DTrace probe call sites, segment boundaries of a missing segment, and
//! sections left empty. Each test links with both linkers and compares.

use std::path::{Path, PathBuf};
use testkit::cli::{compile, run_ok, tool};
use testkit::Linker;

const HELLO: &str = r#"
#include <stdio.h>
int helper(int x) { return x * 2; }
int main(void) { printf("%d\n", helper(21)); return 0; }
"#;

/// Links `objs` with machlink and with lld (same flags); returns both.
fn both(dir: &Path, name: &str, objs: &[PathBuf], flags: &[&str]) -> (PathBuf, PathBuf) {
    let ours = dir.join(format!("{name}-machlink"));
    let lld = dir.join(format!("{name}-lld"));
    testkit::link(Linker::MachlinkChained, objs, &ours, flags);
    testkit::link(Linker::LldChained, objs, &lld, flags);
    (ours, lld)
}

/// The header's cputype and cpusubtype, as raw words.
fn cpu(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    let word = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    (word(4), word(8))
}

/// An x86_64 executable carries CPU_SUBTYPE_LIB64 (0x80000003) as lld and
/// ld64 write it; a dylib keeps the plain subtype (3).
#[test]
fn executables_carry_cpu_subtype_lib64() {
    let dir = testkit::scratch_dir("lld_parity/lib64");
    let obj = compile(&dir, "hello", HELLO);
    let objs = [obj];
    let (ours, lld) = both(&dir, "exe", &objs, &[]);
    assert_eq!(cpu(&ours), (0x0100_0007, 0x8000_0003));
    assert_eq!(cpu(&ours), cpu(&lld));
    assert_eq!(run_ok(&ours), "42\n");
    let (ours, lld) = both(&dir, "lib", &objs, &["-dylib"]);
    assert_eq!(cpu(&ours), (0x0100_0007, 3));
    assert_eq!(cpu(&ours), cpu(&lld));
}

/// The export trie as llvm-objdump lists it: one name per line.
fn exported(path: &Path) -> Vec<String> {
    let text = tool("llvm-objdump-19", &["--macho", "--exports-trie"], path);
    let mut names: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("0x"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    names.sort();
    names
}

/// `__mh_execute_header`'s line in `llvm-nm -m`.
fn header_line(path: &Path) -> String {
    let nm = tool("llvm-nm-19", &["-m"], path);
    nm.lines()
        .find(|l| l.ends_with(" __mh_execute_header"))
        .unwrap_or_else(|| panic!("{}: no __mh_execute_header\n{nm}", path.display()))
        .split_once(')')
        .map(|(_, rest)| rest.trim().to_string())
        .unwrap()
}

/// An export list that does not name `__mh_execute_header`, and
/// `-no_exported_symbols`, hide it as they hide any other global.
#[test]
fn export_lists_decide_the_header_export_as_lld() {
    let dir = testkit::scratch_dir("lld_parity/exports");
    let obj = compile(&dir, "hello", HELLO);
    let objs = [obj];
    let list = dir.join("list");
    std::fs::write(&list, "_main\n__mh_execute_header\n").unwrap();
    let list_arg = list.to_str().unwrap();
    let cases: [(&str, &[&str], &[&str]); 4] = [
        ("plain", &[], &["__mh_execute_header", "_helper", "_main"]),
        ("one", &["-exported_symbol", "_main"], &["_main"]),
        (
            "list",
            &["-exported_symbols_list", list_arg],
            &["__mh_execute_header", "_main"],
        ),
        ("none", &["-no_exported_symbols"], &[]),
    ];
    for (name, flags, expected) in cases {
        let (ours, lld) = both(&dir, name, &objs, flags);
        assert_eq!(exported(&lld), expected, "lld, {name}");
        assert_eq!(exported(&ours), expected, "machlink, {name}");
        assert_eq!(header_line(&ours), header_line(&lld), "{name}");
        assert_eq!(run_ok(&ours), "42\n", "{name}");
    }
}

/// A program with DTrace static probes, its probe names spelled by asm
/// labels as <sys/sdt.h> spells them; `K` is edited between links.
fn probes_program(k: u32) -> String {
    format!(
        r#"
#include <stdio.h>
extern void probe_hit(int) __asm("___dtrace_probe$myprov$hit$v1$696e74");
extern int hit_enabled(void) __asm("___dtrace_isenabled$myprov$hit$v1");
int main(void) {{
    int e = hit_enabled();
    probe_hit({k});
    printf("enabled %d k {k}\n", e);
    if (hit_enabled()) probe_hit(8);
    return 0;
}}
"#
    )
}

/// The instruction bytes of `_main` up to its `retq`, from llvm-objdump's
/// disassembly (addresses dropped: the two linkers place it differently).
fn main_bytes(path: &Path) -> Vec<String> {
    let text = tool("llvm-objdump-19", &["-d", "--no-leading-addr"], path);
    let mut out = Vec::new();
    let body = text
        .split("<_main>:")
        .nth(1)
        .unwrap_or_else(|| panic!("{}: no _main\n{text}", path.display()));
    for line in body.lines().skip(1) {
        let mut fields = line.split('\t');
        out.push(fields.next().unwrap_or("").trim().to_string());
        if fields.next() == Some("retq") {
            return out;
        }
    }
    panic!("{}: no retq in _main\n{text}", path.display())
}

/// Calls to DTrace probe symbols are not imports: the call sites become
/// no-ops (a probe) or `xorl %eax, %eax` (an is-enabled test), byte for
/// byte as lld writes them, and the program runs with probes disabled.
#[test]
fn dtrace_probe_calls_are_rewritten_as_lld_rewrites_them() {
    let dir = testkit::scratch_dir("lld_parity/dtrace");
    let obj = compile(&dir, "probes", &probes_program(7));
    let (ours, lld) = both(&dir, "probes", &[obj], &[]);
    let code = main_bytes(&ours);
    assert_eq!(code, main_bytes(&lld), "_main differs from lld's");
    for site in ["90", "0f 1f 40 00", "33 c0"] {
        assert!(code.iter().any(|c| c == site), "no {site} in {code:?}");
    }
    assert!(
        !code.iter().any(|c| c.starts_with("e8 00 00 00 00")),
        "{code:?}"
    );
    let nm = tool("llvm-nm-19", &["-m"], &ours);
    assert!(!nm.contains("dtrace"), "{nm}");
    assert_eq!(run_ok(&ours), "enabled 0 k 7\n");
    assert_eq!(run_ok(&lld), "enabled 0 k 7\n");
}

/// An incremental update re-relocates the edited object's probe calls.
#[test]
fn dtrace_probe_calls_survive_incremental_updates() {
    let dir = testkit::scratch_dir("lld_parity/dtrace-incremental");
    let out = dir.join("prog");
    let main = compile(&dir, "probes", &probes_program(1));
    let other = compile(&dir, "other", "int other(void) { return 3; }\n");
    let link = || {
        let o = testkit::capture(testkit::cli::incremental_command(&out).args([&main, &other]));
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        testkit::cli::incremental_line(&o)
    };
    link();
    assert_eq!(run_ok(&out), "enabled 0 k 1\n");
    compile(&dir, "probes", &probes_program(2));
    let line = link();
    assert!(line.contains("updated 1 object(s)"), "{line}");
    assert_eq!(run_ok(&out), "enabled 0 k 2\n");
    let lld = dir.join("prog-lld");
    testkit::link(
        Linker::LldChained,
        &[main.clone(), other.clone()],
        &lld,
        &[],
    );
    // The incremental layout leaves room between sections: pc-relative
    // displacements (the string's `leaq`, the call to printf's stub)
    // differ from lld's; everything else, probe sites included, is equal.
    let fixed = |code: Vec<String>| -> Vec<String> {
        code.into_iter()
            .map(|c| {
                if c.starts_with("e8 ") || c.starts_with("48 8d 3d ") {
                    c[..c.len() - 11].to_string()
                } else {
                    c
                }
            })
            .collect()
    };
    assert_eq!(fixed(main_bytes(&out)), fixed(main_bytes(&lld)));
}

/// An assembly-only program (no unwind information at all) with a
/// section of its own in `__TEXT` and one in `__DATA`, nothing of which
/// `_main` uses.
const ASM_ONLY: &str = "\
.globl _main
_main:
  xorl %eax, %eax
  ret
.section __DATA,__mydata
_unused:
  .quad 5
.section __TEXT,__mytext,regular,pure_instructions
_deadfn:
  ret
.subsections_via_symbols
";

/// Section names and segment names of an output, in load-command order.
fn sections_and_segments(path: &Path) -> Vec<String> {
    let text = tool("llvm-objdump-19", &["--macho", "--private-headers"], path);
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("sectname ") || l.starts_with("segname "))
        .map(str::to_string)
        .collect()
}

/// Dead stripping that empties a section drops it (and a segment left
/// without sections), and a program without unwind information gets no
/// `__unwind_info`: the sections and segments are lld's.
#[test]
fn empty_sections_are_left_out_as_lld_does() {
    let dir = testkit::scratch_dir("lld_parity/empty-sections");
    let src = dir.join("asm.s");
    std::fs::write(&src, ASM_ONLY).unwrap();
    let obj = dir.join("asm.o");
    testkit::compile_macos(&src, &obj, &[]);
    let objs = [obj];
    for (name, flags) in [("stripped", &["-dead_strip"][..]), ("kept", &[][..])] {
        let (ours, lld) = both(&dir, name, &objs, flags);
        let layout = sections_and_segments(&ours);
        assert_eq!(layout, sections_and_segments(&lld), "{name}");
        assert!(
            !layout.iter().any(|l| l.contains("__unwind_info")),
            "{layout:?}"
        );
        assert_eq!(
            layout.iter().any(|l| l.contains("__mydata")),
            name == "kept",
            "{layout:?}"
        );
        let o = testkit::cli::macho_run(&ours);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr_str());
    }
}

const SEGMENT_BOUNDS: &str = r#"
#include <stdio.h>
extern char foo_start[] __asm("segment$start$__FOO");
extern char foo_end[] __asm("segment$end$__FOO");
extern char mh[] __asm("__mh_execute_header");
int x = 3;
int main(void) {
    printf("%lx %ld %d\n", (long)(foo_start - mh), (long)(foo_end - foo_start), x);
    return 0;
}
"#;

/// One segment's load command as llvm-objdump prints it, addresses and
/// all ("segname", "vmaddr", ..., "nsects" lines joined).
fn segment_command(path: &Path, name: &str) -> String {
    let text = tool("llvm-objdump-19", &["--macho", "--private-headers"], path);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("segname {name}"))
        .unwrap_or_else(|| panic!("{}: no segment {name}\n{text}", path.display()));
    lines[at..at + 9].join("; ")
}

/// `segment$start$SEG` / `segment$end$SEG` of a segment nothing else
/// creates: lld makes it, empty and writable, after the others (where
/// __LINKEDIT starts); so does machlink, and both boundaries are there.
#[test]
fn a_segment_only_boundaries_name_is_created_empty() {
    let dir = testkit::scratch_dir("lld_parity/empty-segment");
    let obj = compile(&dir, "bounds", SEGMENT_BOUNDS);
    let (ours, lld) = both(&dir, "bounds", &[obj], &[]);
    let foo = segment_command(&ours, "__FOO");
    assert_eq!(foo, segment_command(&lld, "__FOO"));
    assert!(
        foo.contains("vmsize 0x0000000000000000") && foo.contains("nsects 0"),
        "{foo}"
    );
    let start = foo
        .split("vmaddr 0x")
        .nth(1)
        .and_then(|v| u64::from_str_radix(&v[..16], 16).ok())
        .unwrap();
    let expected = format!("{:x} 0 3\n", start - 0x1_0000_0000);
    assert_eq!(run_ok(&ours), expected);
    assert_eq!(run_ok(&lld), expected);
    let verify = testkit::cli::machlink_verify(&ours);
    assert_eq!(verify.code, 0, "{}", verify.stderr_str());
}

/// Taking a probe symbol's address is an error naming the place (lld
/// writes the call-site bytes into the pointer instead).
#[test]
fn a_dtrace_probe_used_as_data_is_an_error() {
    let dir = testkit::scratch_dir("lld_parity/dtrace-data");
    let src = "extern void probe_hit(int) __asm(\"___dtrace_probe$myprov$hit$v1\");\n\
               void *ptr = (void *)&probe_hit;\n\
               int main(void) { return ptr != 0; }\n";
    let obj = compile(&dir, "pointer", src);
    let out = dir.join("pointer");
    let o = testkit::capture(testkit::machlink_command(&out).arg(&obj));
    let err = o.stderr_str();
    assert_eq!(o.code, 1, "{err}");
    assert!(
        err.contains("machlink: error: ")
            && err.contains("pointer.o")
            && err.contains("DTrace probe symbol can only be called")
            && err.contains("_ptr"),
        "{err}"
    );
    assert!(!out.exists());
}
