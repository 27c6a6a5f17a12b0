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

use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testkit::cli::{incremental_line, machlink_verify, macho_run_with};
use testkit::unwind::{self, Fde, MODE_MASK};
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

/// The library: `f`, and `g`, which calls `h` when there is one.
fn lib(f: &str, with_h: bool) -> String {
    let h = "int h(int x) { volatile int s = x; s = s * 5 + 2; return s; }\n";
    let g = if with_h {
        "__attribute__((noinline)) int g(int x) { volatile int s = x; s = s + 1; \
         return s + h(x); }\n"
    } else {
        "__attribute__((noinline)) int g(int x) { volatile int s = x; s = s + 1; return s; }\n"
    };
    format!("int g(int);\n{}{f}{g}", if with_h { h } else { "" })
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

/// An image's functions and unwind tables.
struct Tables {
    target: Target,
    /// Address of each function symbol.
    symbols: BTreeMap<String, u64>,
    text: (u64, Vec<u8>),
    rows: Vec<(u32, u32)>,
    end: u32,
    fdes: Vec<Fde>,
    base: u64,
}

impl Tables {
    fn read(target: Target, exe: &Path) -> Tables {
        let data = std::fs::read(exe).unwrap();
        let file = object::File::parse(&*data).unwrap();
        let section = |name: &str| {
            let s = file
                .section_by_name(name)
                .unwrap_or_else(|| panic!("{} has no {name}", exe.display()));
            (s.address(), s.data().unwrap().to_vec())
        };
        let text = section("__text");
        let (_, info) = section("__unwind_info");
        let (eh_addr, eh) = section("__eh_frame");
        let (rows, end) = unwind::unwind_rows(&info).unwrap();
        let fdes = unwind::eh_frame_fdes(&eh, eh_addr).unwrap();
        let symbols = file
            .symbols()
            .filter(|s| {
                let a = s.address();
                s.is_definition() && a >= text.0 && a < text.0 + text.1.len() as u64
            })
            .map(|s| (s.name().unwrap().to_string(), s.address()))
            .collect();
        Tables {
            target,
            symbols,
            text,
            rows,
            end,
            fdes,
            base: 0x1_0000_0000,
        }
    }

    fn addr(&self, sym: &str) -> u64 {
        self.symbols[sym]
    }

    /// Where a function's code is: behind the trampoline in its slot, if
    /// its slot holds one.
    fn body(&self, sym: &str) -> u64 {
        let a = self.addr(sym);
        let code = &self.text.1[(a - self.text.0) as usize..];
        unwind::trampoline_target(self.target, code, a).unwrap_or(a)
    }

    /// The row covering `addr`: (its start address, encoding).
    fn row(&self, addr: u64) -> (u64, u32) {
        let (start, enc) = unwind::covering_row(&self.rows, self.end, (addr - self.base) as u32)
            .unwrap_or_else(|| panic!("no __unwind_info row covers {addr:#x}"));
        (self.base + u64::from(start), enc)
    }

    fn is_dwarf(&self, encoding: u32) -> bool {
        encoding & MODE_MASK == unwind::dwarf_mode(self.target)
    }

    /// The FDE a row's encoding names.
    fn fde_of(&self, encoding: u32) -> &Fde {
        let off = encoding & 0x00ff_ffff;
        self.fdes
            .iter()
            .find(|f| f.offset == off)
            .unwrap_or_else(|| panic!("no FDE at __eh_frame offset {off:#x}"))
    }

    /// The FDEs a search of `__eh_frame` finds for `addr`.
    fn search(&self, addr: u64) -> Vec<&Fde> {
        self.fdes.iter().filter(|f| f.covers(addr)).collect()
    }
}

/// Checks that `exe` (incrementally updated) unwinds `funcs` as `fresh`
/// (a full link of the same objects) does; returns each function's
/// encoding in `exe`.
fn check_unwind(target: Target, exe: &Path, fresh: &Path, funcs: &[&str]) -> Vec<u32> {
    let inc = Tables::read(target, exe);
    let full = Tables::read(target, fresh);
    let mut encodings = Vec::new();
    for &f in funcs {
        let (fa, fenc) = full.row(full.addr(f));
        assert_eq!(fa, full.addr(f), "fresh link: {f} has no row of its own");
        let (canonical, body) = (inc.addr(f), inc.body(f));
        let (start, enc) = inc.row(body);
        assert_eq!(start, body, "{f}'s code at {body:#x} has no row of its own");
        encodings.push(enc);
        if full.is_dwarf(fenc) {
            let want = full.fde_of(fenc);
            assert_eq!(want.pc_begin, fa, "fresh link: {f}'s FDE");
            assert!(inc.is_dwarf(enc), "{f}: encoding {enc:#x}, fresh {fenc:#x}");
            let fde = inc.fde_of(enc);
            assert_eq!(
                (fde.pc_begin, fde.pc_range),
                (body, want.pc_range),
                "{f}'s row leads to an FDE for another range"
            );
            assert_eq!(
                (&fde.program, &fde.cie_program),
                (&want.program, &want.cie_program),
                "{f}'s call frame instructions differ from a fresh link's"
            );
            let found: Vec<u32> = inc.search(body).iter().map(|d| d.offset).collect();
            assert_eq!(found, vec![fde.offset], "a search of __eh_frame for {f}");
        } else {
            assert_eq!(enc, fenc, "{f}'s compact unwind encoding");
            assert!(inc.search(body).is_empty(), "a stale FDE covers {f}");
        }
        if canonical != body {
            // The trampoline: a row of its own that does not lead to an FDE
            // describing something else, and no FDE found for it.
            let (start, enc) = inc.row(canonical);
            assert_eq!(start, canonical, "{f}'s trampoline has no row of its own");
            if inc.is_dwarf(enc) {
                assert!(inc.fde_of(enc).covers(canonical), "{f}'s trampoline row");
            }
            assert!(
                inc.search(canonical).is_empty(),
                "an FDE covers {f}'s trampoline"
            );
        }
    }
    // No two live FDEs describe the same code.
    let mut live: Vec<&Fde> = inc.fdes.iter().filter(|f| f.pc_range > 0).collect();
    live.sort_by_key(|f| f.pc_begin);
    for w in live.windows(2) {
        assert!(
            w[0].pc_begin + w[0].pc_range <= w[1].pc_begin,
            "FDEs at {:#x} and {:#x} overlap",
            w[0].offset,
            w[1].offset
        );
    }
    encodings
}

fn scenario(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental-eh-frame/{}", target.arch()));
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let main = compile(target, &dir, "main", MAIN);
    let lib_o = compile(target, &dir, "lib", &lib(&leaf(1), true));
    let (out, fresh) = (dir.join("prog"), dir.join("fresh"));
    let o = link(target, &out, &[&main, &lib_o], true);
    assert!(
        incremental_line(&o).contains("full link: first link"),
        "{}",
        o.stderr_str()
    );
    let f_addr = Tables::read(target, &out).addr("_f");
    let fde_offset = |exe: &Path| {
        let t = Tables::read(target, exe);
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
    let steps: [(&str, String, bool); 8] = [
        ("edit in place", leaf(2), true),
        ("grow behind a trampoline", leaf(12), true),
        ("grow again", leaf(30), true),
        ("calls: a larger FDE", CALLS.to_string(), true),
        ("shrink back into the slot", leaf(1), true),
        ("delete h", leaf(1), false),
        ("add h back", leaf(3), true),
        ("calls again", CALLS.to_string(), true),
    ];
    for (what, f, with_h) in steps {
        let before = fde_offset(&out);
        let lib_o = compile(target, &dir, "lib", &lib(&f, with_h));
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
        let t = Tables::read(target, &out);
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
