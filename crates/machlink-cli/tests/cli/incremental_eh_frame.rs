//! Incremental updates of objects whose functions unwind through DWARF
//! (`__eh_frame` FDEs, and `__unwind_info` rows that name them), on both
//! targets: clang's arm64 objects defer nearly every function to DWARF
//! (asynchronous unwind tables), and x86_64 frameless leaves compiled with
//! `-fomit-frame-pointer` have an FDE and no compact entry.
//!
//! After every step the output must run like a fresh full link of the same
//! objects (also slid), pass `machlink verify`, read cleanly in
//! llvm-objdump, and each function's row must lead to an FDE that
//! describes exactly that function's code, with the fresh link's call
//! frame instructions: the FDE a search of `__eh_frame` finds for it too.
//! (macho-run has no unwinder, so unwinding itself is checked through the
//! tables it would read.)

use std::path::{Path, PathBuf};
use testkit::cli::{incremental_line, machlink_verify, macho_run_with};
use testkit::unwind::{check_unwind, UnwindTables};
use testkit::{capture, Outcome, Target};

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int g(int);
int (*saved)(int) = f;
int main(void) {
    printf("f=%d g=%d same=%d\n", f(3), g(4), saved == f);
    return 0;
}
"#;

/// A leaf `f` of about `n` statements: a small frame on the stack (arm64:
/// DWARF; x86_64 without a frame pointer: an FDE only).
fn leaf(n: usize) -> String {
    let mut s = String::from("int f(int x) { volatile int s = x;");
    for i in 0..n {
        s.push_str(&format!(" s = s * {} + {};", i % 7 + 2, i));
    }
    s.push_str(" return s; }\n");
    s
}

/// An `f` that keeps five values across calls: callee-saved registers, so
/// a larger FDE on arm64 (and a compact frameless encoding on x86_64).
const CALLS: &str = "int f(int x) { int a = g(x), b = g(a + 1), c = g(b + 2), d = g(c + 3), \
                     e = g(d + 4); return (a + b + c + d + e + x) % 1000; }\n";

/// A function with a string: the object gains a `__cstring` section, and
/// arm64's section-start labels (`ltmpN`) are numbered anew.
const WHO: &str = "const char *who(void) { return \"lib\"; }\n";

/// The library: `f`, and `g`, which calls `h` when there is one; `extra`
/// after them.
fn lib(f: &str, with_h: bool, extra: &str) -> String {
    let h = "int h(int x) { volatile int s = x; s = s * 5 + 2; return s; }\n";
    let g = if with_h {
        "__attribute__((noinline)) int g(int x) { volatile int s = x; s = s + 1; \
         return s + h(x); }\n"
    } else {
        "__attribute__((noinline)) int g(int x) { volatile int s = x; s = s + 1; return s; }\n"
    };
    format!("int g(int);\n{}{f}{g}{extra}", if with_h { h } else { "" })
}

fn flags(target: Target) -> &'static [&'static str] {
    match target {
        Target::X86_64 => &["-O1", "-fomit-frame-pointer"],
        Target::Arm64 => &["-O1"],
    }
}

fn compile(target: Target, dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    testkit::compile_macos_for(target, &c, &o, flags(target));
    o
}

fn link(target: Target, out: &Path, objs: &[&Path], incremental: bool) -> Outcome {
    let mut cmd = testkit::machlink_command_for(target, out);
    if incremental {
        cmd.args(["-incremental", "-v"]);
    }
    let o = capture(cmd.args(objs));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o
}

/// What llvm-objdump-19 prints of the image's unwind tables; it must read
/// them without a warning.
fn objdump_reads(exe: &Path) {
    for what in ["--unwind-info", "--dwarf=frames"] {
        let o = capture(
            std::process::Command::new(testkit::require_tool("llvm-objdump-19"))
                .args(["--macho", what])
                .arg(exe),
        );
        assert_eq!(o.code, 0, "{what}: {}", o.stderr_str());
        let all = o.stdout_str() + &o.stderr_str();
        assert!(!all.contains("warning"), "{what}: {all}");
    }
}

fn scenario(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental-eh-frame/{}", target.arch()));
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let main = compile(target, &dir, "main", MAIN);
    let lib_o = compile(target, &dir, "lib", &lib(&leaf(1), true, ""));
    let (out, fresh) = (dir.join("prog"), dir.join("fresh"));
    let o = link(target, &out, &[&main, &lib_o], true);
    assert!(
        incremental_line(&o).contains("full link: first link"),
        "{}",
        o.stderr_str()
    );
    let f_addr = UnwindTables::read(target, &out).addr("_f");
    let fde_offset = |exe: &Path| {
        let t = UnwindTables::read(target, exe);
        let (_, enc) = t.row(t.body("_f"));
        t.is_dwarf(enc).then_some(enc & 0x00ff_ffff)
    };
    assert!(
        fde_offset(&out).is_some(),
        "{}: f does not defer to DWARF",
        target.arch()
    );
    let mut fde_moved = false;
    let mut compact_f = false;
    let steps: [(&str, String, bool, &str); 9] = [
        ("edit in place", leaf(2), true, ""),
        ("grow behind a trampoline", leaf(12), true, ""),
        ("grow again", leaf(30), true, ""),
        ("calls: a larger FDE", CALLS.to_string(), true, ""),
        ("shrink back into the slot", leaf(1), true, ""),
        ("delete h", leaf(1), false, ""),
        ("add h back", leaf(3), true, ""),
        ("a string and a new section", leaf(3), true, WHO),
        ("calls again", CALLS.to_string(), true, WHO),
    ];
    for (what, f, with_h, extra) in steps {
        let before = fde_offset(&out);
        let lib_o = compile(target, &dir, "lib", &lib(&f, with_h, extra));
        let o = link(target, &out, &[&main, &lib_o], true);
        let line = incremental_line(&o);
        assert!(
            line.contains("updated 1 object(s)"),
            "{} {what}: {}",
            target.arch(),
            o.stderr_str()
        );
        link(target, &fresh, &[&main, &lib_o], false);
        let want = macho_run_with(&fresh, &[]);
        assert_eq!(want.code, 0, "fresh link: {}", want.stderr_str());
        for env in [&[][..], &[("MACHO_RUN_FORCE_SLIDE", "1")][..]] {
            let got = macho_run_with(&out, env);
            assert_eq!(
                (got.code, got.stdout_str()),
                (want.code, want.stdout_str()),
                "{} {what} {env:?}: {}",
                target.arch(),
                got.stderr_str()
            );
        }
        assert!(want.stdout_str().contains("same=1"));
        let v = machlink_verify(&out);
        assert_eq!(
            v.code,
            0,
            "{what}: verify: {}{}",
            v.stdout_str(),
            v.stderr_str()
        );
        objdump_reads(&out);
        let funcs: &[&str] = if with_h {
            &["_f", "_g", "_h", "_main"]
        } else {
            &["_f", "_g", "_main"]
        };
        let encodings = check_unwind(target, &out, &fresh, funcs);
        let t = UnwindTables::read(target, &out);
        assert_eq!(t.addr("_f"), f_addr, "{what}: f's address changed");
        compact_f |= !t.is_dwarf(encodings[0]);
        let after = fde_offset(&out);
        fde_moved |= before.is_some() && after.is_some() && before != after;
    }
    match target {
        // The larger FDE outgrew its room and went to the reserve.
        Target::Arm64 => assert!(fde_moved, "no step moved f's FDE"),
        // f switched between an FDE and a compact encoding.
        Target::X86_64 => assert!(compact_f, "f never had a compact encoding"),
    }
}

#[test]
fn x86_64_functions_with_fdes_are_updated_moved_removed_and_added() {
    scenario(Target::X86_64);
}

#[test]
fn arm64_functions_with_fdes_are_updated_moved_removed_and_added() {
    scenario(Target::Arm64);
}

/// A cleanup under `-fexceptions` gives the object a personality and an
/// LSDA in `__eh_frame`: the edit is an update (its CIE names the
/// personality through its GOT slot, its FDE the LSDA), and the result
/// runs its cleanup as a fresh link does (`incremental_lsda` checks the
/// tables row by row). (On arm64 this program's first incremental link
/// also needs `__stubs` aligned after code slots whose headroom is not a
/// whole number of instructions.)
fn personality_updates(target: Target) {
    let dir = testkit::scratch_dir(&format!(
        "incremental-eh-frame-personality/{}",
        target.arch()
    ));
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let compile = |name: &str, src: &str| {
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, src).unwrap();
        let o = dir.join(format!("{name}.o"));
        testkit::compile_macos_for(target, &c, &o, &["-O1", "-fexceptions"]);
        o
    };
    let main = compile(
        "main",
        "#include <stdio.h>\nint f(int);\nvoid ext(int x) { printf(\"ext %d\\n\", x); }\n\
         int main(void) { printf(\"%d\\n\", f(2)); return 0; }\n",
    );
    let lib = |k: u32| {
        compile(
            "lib",
            &format!(
                "#include <stdio.h>\nvoid ext(int);\n\
                 static void done(int *p) {{ printf(\"done %d\\n\", *p); }}\n\
                 int f(int x) {{ int s __attribute__((cleanup(done))) = x; ext(s); \
                 return s + {k}; }}\n"
            ),
        )
    };
    let out = dir.join("prog");
    let lib_o = lib(1);
    link(target, &out, &[&main, &lib_o], true);
    let lib_o = lib(2);
    let o = link(target, &out, &[&main, &lib_o], true);
    let line = incremental_line(&o);
    assert!(line.contains("updated 1 object(s)"), "{line}");
    let v = machlink_verify(&out);
    assert_eq!(v.code, 0, "verify: {}{}", v.stdout_str(), v.stderr_str());
    let run = macho_run_with(&out, &[]);
    assert_eq!(
        (run.code, run.stdout_str().as_str()),
        (0, "ext 2\ndone 2\n4\n"),
        "{}",
        run.stderr_str()
    );
}

#[test]
fn x86_64_personalities_in_eh_frame_are_updated() {
    personality_updates(Target::X86_64);
}

#[test]
fn arm64_personalities_in_eh_frame_are_updated() {
    personality_updates(Target::Arm64);
}
