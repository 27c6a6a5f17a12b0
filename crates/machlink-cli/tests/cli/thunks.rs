//! Range-extension thunks (arm64, whose `b`/`bl` reach ±128 MiB): a
//! program whose `__text` is larger than that links, its far calls go
//! through thunks (forward, backward, and to an import's stub after
//! `__text`), its near calls stay direct, and it runs under macho-run.
//! ld64.lld-19 links the same object for reference: the same thunks, by
//! name, and the same output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{incremental_line, tool};
use testkit::{capture, require_tool, sdk_root, workspace_bin, Outcome};

/// Two small functions at the start of `__text`, a never-executed
/// function of 130 MiB of zeros, then one more function: `_main` calls
/// `_puts` (whose stub follows `__text`) and `_far_forward` across the
/// padding; `_far_forward` calls `_puts` nearby and `_early` back across
/// it; `_early` calls `_puts` across it.
const FAR_S: &str = r#"  .section __TEXT,__text,regular,pure_instructions
  .globl _main
  .p2align 2
_main:
  stp x29, x30, [sp, #-16]!
  mov x29, sp
  adrp x0, l_start@PAGE
  add x0, x0, l_start@PAGEOFF
  bl _puts
  bl _far_forward
  mov w0, #0
  ldp x29, x30, [sp], #16
  ret

  .globl _early
  .p2align 2
_early:
  stp x29, x30, [sp, #-16]!
  mov x29, sp
  adrp x0, l_early@PAGE
  add x0, x0, l_early@PAGEOFF
  bl _puts
  ldp x29, x30, [sp], #16
  ret

  .globl _padding
  .p2align 2
_padding:
  brk #1
  .space 0x8200000
  ret

  .globl _far_forward
  .p2align 2
_far_forward:
  stp x29, x30, [sp, #-16]!
  mov x29, sp
  adrp x0, l_far@PAGE
  add x0, x0, l_far@PAGEOFF
  bl _puts
  bl _early
  ldp x29, x30, [sp], #16
  ret

  .section __TEXT,__cstring,cstring_literals
l_start:
  .asciz "start"
l_early:
  .asciz "early"
l_far:
  .asciz "far"
.subsections_via_symbols
"#;

/// A call from the middle of a 260 MiB function to a function after it:
/// 130 MiB from either end of its function, no island can be within reach.
const UNREACHABLE_S: &str = r#"  .section __TEXT,__text,regular,pure_instructions
  .globl _main
  .p2align 2
_main:
  .space 0x8200000
  bl _target
  .space 0x8200000
  ret

  .globl _target
  .p2align 2
_target:
  ret
.subsections_via_symbols
"#;

/// Assembles `src` for arm64 macOS into `dir/NAME.o`.
fn assemble(dir: &Path, name: &str, src: &str) -> PathBuf {
    let s = dir.join(format!("{name}.s"));
    std::fs::write(&s, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    let out = capture(
        Command::new(require_tool("clang-19"))
            .args(["-target", "arm64-apple-macos13", "-c"])
            .arg(&s)
            .arg("-o")
            .arg(&o),
    );
    assert_eq!(out.code, 0, "clang-19: {}", out.stderr_str());
    o
}

/// The ld64 command line of an arm64 executable, minus the objects.
fn arm64_command(linker: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(linker);
    cmd.args([
        "-arch",
        "arm64",
        "-platform_version",
        "macos",
        "13.0",
        "13.0",
    ])
    .arg("-syslibroot")
    .arg(sdk_root())
    .args(["-lSystem", "-o"])
    .arg(out);
    cmd
}

fn link(linker: &Path, out: &Path, obj: &Path, extra: &[&str]) -> Outcome {
    capture(arm64_command(linker, out).args(extra).arg(obj))
}

/// Symbol name → address, from `llvm-nm-19`, and the names nm calls
/// "was a private external" (how lld writes thunk symbols).
fn symbols(exe: &Path) -> (BTreeMap<String, u64>, Vec<String>) {
    let mut addrs = BTreeMap::new();
    let mut private = Vec::new();
    for line in tool("llvm-nm-19", &["-m", "--defined-only"], exe).lines() {
        let Some((addr, rest)) = line.split_once(' ') else {
            continue;
        };
        let name = rest.rsplit(' ').next().unwrap().to_string();
        if rest.contains("(was a private external)") {
            private.push(name.clone());
        }
        addrs.insert(name, u64::from_str_radix(addr, 16).unwrap());
    }
    (addrs, private)
}

/// The instructions of `exe` in `[start, start + len)`, as objdump prints
/// them (`bl\t0x100000450 <_puts.thunk.0>`). Only a window, and not in
/// `--macho` mode, which disassembles the whole 130 MiB function anyway.
fn instructions(exe: &Path, start: u64, len: u64) -> Vec<String> {
    let text = tool(
        "llvm-objdump-19",
        &[
            "-d",
            "--no-show-raw-insn",
            &format!("--start-address={start:#x}"),
            &format!("--stop-address={:#x}", start + len),
        ],
        exe,
    );
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(addr, _)| u64::from_str_radix(addr.trim(), 16).is_ok())
        .map(|(_, insn)| insn.trim().to_string())
        .collect()
}

/// The hexadecimal number after `prefix` in `insn`.
fn hex_after(insn: &str, prefix: &str) -> u64 {
    let rest = insn
        .split_once(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in {insn:?}"))
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).unwrap()
}

/// Where a thunk (`adrp x16, PAGE` / `add x16, x16, #OFF` / `br x16`)
/// jumps.
fn thunk_target(exe: &Path, at: u64) -> u64 {
    let insns = instructions(exe, at, 12);
    assert!(
        insns.len() == 3
            && insns[0].starts_with("adrp\tx16, 0x")
            && insns[1].starts_with("add\tx16, x16, #0x")
            && insns[2] == "br\tx16",
        "{}: not a far thunk at {at:#x}: {insns:?}",
        exe.display()
    );
    hex_after(&insns[0], ", 0x") + hex_after(&insns[1], "#0x")
}

/// The calls of a function (up to its `ret`): where each `bl` lands and
/// the symbol objdump names there (empty when none starts there).
fn calls(exe: &Path, at: u64) -> Vec<(u64, String)> {
    instructions(exe, at, 64)
        .into_iter()
        .take_while(|i| i != "ret")
        .filter(|i| i.starts_with("bl\t"))
        .map(|i| {
            let to = hex_after(&i, "0x");
            let name = match i.split_once('<') {
                Some((_, n)) if !n.contains('+') => n.trim_end_matches('>').to_string(),
                _ => String::new(),
            };
            (to, name)
        })
        .collect()
}

/// The address of `__stubs` (the only stub is `_puts`'s).
fn stubs_addr(exe: &Path) -> u64 {
    let headers = tool("llvm-objdump-19", &["--macho", "--section-headers"], exe);
    let line = headers
        .lines()
        .find(|l| l.contains("__stubs"))
        .expect("a __stubs section");
    let addr = line.split_whitespace().nth(3).unwrap();
    u64::from_str_radix(addr, 16).unwrap()
}

/// Checks that the far calls of [`FAR_S`] go through thunks that land on
/// their targets and the near one stays direct; returns the thunks'
/// names.
fn check_thunks(exe: &Path) -> Vec<String> {
    let (addrs, private) = symbols(exe);
    let names =
        |f: &str| -> Vec<String> { calls(exe, addrs[f]).into_iter().map(|c| c.1).collect() };
    assert_eq!(
        names("_main"),
        ["_puts.thunk.0", "_far_forward.thunk.0"],
        "{}",
        exe.display()
    );
    assert_eq!(names("_early"), ["_puts.thunk.0"], "{}", exe.display());
    // The call to `_puts` near its stub stays direct.
    let far: Vec<(u64, String)> = calls(exe, addrs["_far_forward"]);
    assert!(
        far.len() == 2 && far[0].0 == stubs_addr(exe) && far[1].1 == "_early.thunk.0",
        "{}: _far_forward calls {far:?}",
        exe.display()
    );
    let targets = [
        ("_puts.thunk.0", stubs_addr(exe)),
        ("_far_forward.thunk.0", addrs["_far_forward"]),
        ("_early.thunk.0", addrs["_early"]),
    ];
    for (thunk, target) in targets {
        assert_eq!(
            thunk_target(exe, addrs[thunk]),
            target,
            "{}: {thunk} does not land on its target",
            exe.display()
        );
        assert!(private.iter().any(|p| p == thunk), "{thunk} not private");
    }
    let mut thunks: Vec<String> = addrs
        .keys()
        .filter(|n| n.contains(".thunk."))
        .cloned()
        .collect();
    thunks.sort();
    thunks
}

fn run(exe: &Path) -> Outcome {
    capture(Command::new(workspace_bin("macho-run")).arg(exe))
}

#[test]
fn far_calls_go_through_thunks_and_run() {
    let dir = testkit::scratch_dir("thunks-far");
    let obj = assemble(&dir, "far", FAR_S);
    let lld = dir.join("far-lld");
    let o = link(&require_tool("ld64.lld-19"), &lld, &obj, &[]);
    assert_eq!(o.code, 0, "ld64.lld-19: {}", o.stderr_str());
    let ours = dir.join("far-machlink");
    let o = link(&workspace_bin("machlink"), &ours, &obj, &[]);
    assert_eq!(o.code, 0, "machlink: {}", o.stderr_str());
    assert_eq!(check_thunks(&ours), check_thunks(&lld));
    // Thunks are not functions of the image: no LC_FUNCTION_STARTS entry,
    // as lld does it.
    let starts = |exe: &Path| {
        tool("llvm-objdump-19", &["--macho", "--function-starts"], exe)
            .lines()
            .skip(1)
            .count()
    };
    assert_eq!(starts(&ours), 4);
    assert_eq!(starts(&lld), 4);
    for exe in [&lld, &ours] {
        let o = run(exe);
        assert_eq!(
            (o.code, o.stdout_str().as_str()),
            (0, "start\nfar\nearly\n"),
            "{} under macho-run: {}",
            exe.display(),
            o.stderr_str()
        );
        // Every branch lands on a function, a stub or a thunk (which has a
        // symbol), as `machlink verify` checks.
        let v = testkit::cli::machlink_verify(exe);
        assert_eq!(v.code, 0, "{}{}", v.stdout_str(), v.stderr_str());
    }
}

#[test]
fn incremental_links_with_thunks_are_full_links_without_state() {
    let dir = testkit::scratch_dir("thunks-incremental");
    let obj = assemble(&dir, "far", FAR_S);
    let out = dir.join("far");
    for _ in 0..2 {
        let o = link(
            &workspace_bin("machlink"),
            &out,
            &obj,
            &["-incremental", "-v"],
        );
        assert_eq!(o.code, 0, "machlink: {}", o.stderr_str());
        let line = incremental_line(&o);
        assert!(
            line.contains("full link") && line.contains("3 thunks"),
            "{line}"
        );
    }
    check_thunks(&out);
    let o = run(&out);
    assert_eq!(o.stdout_str(), "start\nfar\nearly\n", "{}", o.stderr_str());
}

#[test]
fn a_call_no_island_can_reach_is_an_error() {
    let dir = testkit::scratch_dir("thunks-unreachable");
    let obj = assemble(&dir, "deep", UNREACHABLE_S);
    let o = link(&workspace_bin("machlink"), &dir.join("deep"), &obj, &[]);
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    let err = o.stderr_str();
    assert!(
        err.contains("a call to _target")
            && err.contains("136314888 bytes from its target")
            && err.contains("no island of thunks"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The program of the moved-body tests, in three objects linked in this
/// order: `FIRST_S` (`_f`, `_main`, `_helper`, at the start of `__text`),
/// [`GIANT_S`] (`{SIZE}` bytes of never-executed code) and [`LAST_S`]
/// (`_report`, which prints what `_f` returned). `_main` calls `_report`
/// through a pointer, so no call spans the giant function and the full
/// link needs no thunks. `{F}` is `_f`'s body.
const FIRST_S: &str = r#"  .section __TEXT,__text,regular,pure_instructions
  .globl _f
  .p2align 2
_f:
{F}

  .globl _main
  .p2align 2
_main:
  stp x29, x30, [sp, #-16]!
  mov x29, sp
  bl _f
  adrp x8, _report_ptr@PAGE
  ldr x8, [x8, _report_ptr@PAGEOFF]
  blr x8
  bl _helper
  ldp x29, x30, [sp], #16
  ret

  .globl _helper
  .p2align 2
_helper:
  mov w0, #0
  ret

  .section __TEXT,__cstring,cstring_literals
l_grew:
  .asciz "f grew"

  .section __DATA,__data
  .p2align 3
_report_ptr:
  .quad _report
.subsections_via_symbols
"#;

const GIANT_S: &str = r#"  .section __TEXT,__text,regular,pure_instructions
  .globl _giant
  .p2align 2
_giant:
  brk #1
  .space {SIZE}
  ret
.subsections_via_symbols
"#;

/// `_report(w0)`: puts "f returned 42" when w0 is 42, else "f returned 7".
const LAST_S: &str = r#"  .section __TEXT,__text,regular,pure_instructions
  .globl _report
  .p2align 2
_report:
  stp x29, x30, [sp, #-16]!
  mov x29, sp
  cmp w0, #42
  adrp x0, l_seven@PAGE
  add x0, x0, l_seven@PAGEOFF
  adrp x1, l_fortytwo@PAGE
  add x1, x1, l_fortytwo@PAGEOFF
  csel x0, x1, x0, eq
  bl _puts
  ldp x29, x30, [sp], #16
  ret

  .section __TEXT,__cstring,cstring_literals
l_seven:
  .asciz "f returned 7"
l_fortytwo:
  .asciz "f returned 42"
.subsections_via_symbols
"#;

/// `_f` at first: returns 7, in an 8-byte slot with its headroom.
const F_SMALL: &str = "  mov w0, #7\n  ret";
/// `_f` grown past its slot: puts "f grew" (a call to `_puts`'s stub) and
/// returns 42.
const F_GROWN: &str = "  stp x29, x30, [sp, #-16]!
  mov x29, sp
  adrp x0, l_grew@PAGE
  add x0, x0, l_grew@PAGEOFF
  bl _puts
  mov w0, #42
  ldp x29, x30, [sp], #16
  ret";
/// [`F_GROWN`] that also calls `_helper`, which stayed before the giant
/// function, out of a `bl`'s reach from `_f`'s moved body.
const F_CALLS_BACK: &str = "  stp x29, x30, [sp, #-16]!
  mov x29, sp
  adrp x0, l_grew@PAGE
  add x0, x0, l_grew@PAGEOFF
  bl _puts
  bl _helper
  mov w0, #42
  ldp x29, x30, [sp], #16
  ret";

/// Links `objs` (in order) for arm64 into `out`.
fn link_objects(out: &Path, objs: &[PathBuf], extra: &[&str]) -> Outcome {
    capture(
        arm64_command(&workspace_bin("machlink"), out)
            .args(extra)
            .args(objs),
    )
}

/// The output of `exe` under macho-run, plain and slid (they must agree),
/// after `machlink verify` and the signature check.
fn checked_run(exe: &Path, what: &str) -> String {
    let v = testkit::cli::machlink_verify(exe);
    assert_eq!(
        v.code,
        0,
        "{what}: verify: {}{}",
        v.stdout_str(),
        v.stderr_str()
    );
    if let Err(e) = testkit::verify_adhoc_signature(&std::fs::read(exe).unwrap()) {
        panic!("{what}: the code signature does not check: {e}");
    }
    let o = run(exe);
    assert_eq!(o.code, 0, "{what}: {}", o.stderr_str());
    let slid = testkit::cli::macho_run_with(exe, &[("MACHO_RUN_FORCE_SLIDE", "1")]);
    assert_eq!(
        (slid.code, slid.stdout_str()),
        (0, o.stdout_str()),
        "{what}: slid: {}",
        slid.stderr_str()
    );
    o.stdout_str()
}

/// The moved-body program with a giant function of `giant_size` bytes,
/// linked incrementally and fresh at each step.
struct MovedBody {
    dir: PathBuf,
    giant_size: u64,
    others: [PathBuf; 2],
    out: PathBuf,
    fresh: PathBuf,
    start: std::time::Instant,
}

impl MovedBody {
    fn new(name: &str, giant_size: u64) -> MovedBody {
        testkit::require_aarch64_macho_run(&workspace_bin("macho-run"));
        let dir = testkit::scratch_dir(name);
        let giant = GIANT_S.replace("{SIZE}", &format!("{giant_size:#x}"));
        MovedBody {
            others: [
                assemble(&dir, "giant", &giant),
                assemble(&dir, "last", LAST_S),
            ],
            out: dir.join("incremental"),
            fresh: dir.join("fresh"),
            dir,
            giant_size,
            start: std::time::Instant::now(),
        }
    }

    /// Links with `f` as `_f`'s body, incrementally and fresh; both must
    /// run alike (see [`checked_run`]). Returns the `-v` line and what
    /// the program printed.
    fn step(&self, f: &str, what: &str) -> (String, String) {
        let first = assemble(&self.dir, "first", &FIRST_S.replace("{F}", f));
        let objs = [first, self.others[0].clone(), self.others[1].clone()];
        let o = link_objects(&self.out, &objs, &["-incremental", "-v"]);
        assert_eq!(o.code, 0, "{what}: {}", o.stderr_str());
        let f = link_objects(&self.fresh, &objs, &[]);
        assert_eq!(f.code, 0, "{what}: fresh link: {}", f.stderr_str());
        let printed = checked_run(&self.out, what);
        assert_eq!(
            printed,
            run(&self.fresh).stdout_str(),
            "{what}: differs from a fresh link"
        );
        (incremental_line(&o), printed)
    }

    /// The first link: a full link that needs no thunks (so it keeps its
    /// incremental state).
    fn first_link(&self) {
        let (line, printed) = self.step(F_SMALL, "first link");
        assert!(
            line.contains("full link") && !line.contains("thunks"),
            "the first link needs no thunks and keeps its state: {line}"
        );
        assert_eq!(printed, "f returned 7\n");
    }

    /// `_f` grows out of its slot: an update. Returns its slot's and its
    /// new body's addresses, after checking that the body's call to
    /// `_puts` lands on its stub.
    fn grow(&self) -> (u64, u64) {
        let (line, printed) = self.step(F_GROWN, "f grows");
        assert!(line.contains("updated"), "{line}");
        assert_eq!(printed, "f grew\nf returned 42\n");
        let (addrs, _) = symbols(&self.out);
        let slot = addrs["_f"];
        let code = std::fs::read(&self.out).unwrap();
        let arm64 = machlink::arch::by_name("arm64").unwrap();
        let at = (slot - 0x1_0000_0000) as usize;
        let body = arm64
            .read_trampoline(&code[at..], slot)
            .expect("_f's slot holds a trampoline");
        assert!(
            body > addrs["_giant"] + self.giant_size,
            "_f's body at {body:#x} is not in the reserve after the giant function"
        );
        assert_eq!(
            calls(&self.out, body)[0],
            (stubs_addr(&self.out), String::new()),
            "the moved body's call to _puts does not land on its stub"
        );
        (slot, body)
    }

    /// Reports the time taken and the outputs' sizes, and removes them.
    fn finish(self) {
        let mib = |p: &Path| std::fs::metadata(p).unwrap().len() >> 20;
        eprintln!(
            "{}: {:.1?}, outputs of {} MiB (incremental) and {} MiB (fresh)",
            self.dir.display(),
            self.start.elapsed(),
            mib(&self.out),
            mib(&self.fresh)
        );
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// Issue #14: a function whose grown body lands out of `b` reach of its
/// slot (past 130 MiB of code, where no call spans the reach, so the full
/// link needs no thunks) gets the long trampoline, and its body's call to
/// `_puts`'s stub is in reach; a body whose own call cannot reach makes
/// the update fall back with that call as the reason. Each step prints
/// what a fresh link prints. Disk: an incremental output of 204 MiB (130
/// MiB of code, its slot's headroom and the section's reserve) and a
/// fresh one of 131 MiB, removed at the end.
#[test]
fn a_body_moved_out_of_branch_reach_takes_the_long_trampoline() {
    let t = MovedBody::new("thunks-moved-body-far", 0x8200000);
    t.first_link();
    let (slot, body) = t.grow();
    thunk_target(&t.out, slot);
    let reach = machlink::arch::by_name("arm64").unwrap().branch_reach();
    assert!(body - slot > reach, "{body:#x} is in b reach of {slot:#x}");

    let (line, printed) = t.step(F_CALLS_BACK, "f calls back across the giant function");
    assert!(
        line.contains("full link")
            && line.contains("branch to _helper is out of range")
            && line.contains("bytes away")
            && line.contains("in symbol _f+"),
        "{line}"
    );
    assert_eq!(printed, "f grew\nf returned 42\n");
    t.finish();
}

/// Issue #14: with 105 MiB of code (under the 128 MiB a `bl` reaches, but
/// over it with every slot's growth room), the incremental layout keeps
/// `__text`, its reserve and `__stubs` in one branch's reach: the full
/// link needs no thunks, the grown `_f` is reached with a plain `b`, and
/// its new body calls `_puts`'s stub and `_helper` (before the giant
/// function) directly, in an update.
#[test]
fn under_the_branch_reach_a_moved_body_reaches_everything() {
    let t = MovedBody::new("thunks-moved-body-near", 105 << 20);
    t.first_link();
    let (slot, body) = t.grow();
    let code = std::fs::read(&t.out).unwrap();
    let at = (slot - 0x1_0000_0000) as usize;
    let word = u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
    assert_eq!(word & 0xfc00_0000, 0x1400_0000, "_f's slot is not a b");

    let (line, printed) = t.step(F_CALLS_BACK, "f calls back across the giant function");
    assert!(line.contains("updated"), "{line}");
    assert_eq!(printed, "f grew\nf returned 42\n");
    let (addrs, _) = symbols(&t.out);
    let body_now = machlink::arch::by_name("arm64")
        .unwrap()
        .read_trampoline(&std::fs::read(&t.out).unwrap()[at..], slot)
        .unwrap();
    assert!(body_now > addrs["_giant"], "{body_now:#x} {body:#x}");
    assert_eq!(
        calls(&t.out, body_now)
            .into_iter()
            .map(|c| c.0)
            .collect::<Vec<_>>(),
        [stubs_addr(&t.out), addrs["_helper"]]
    );
    t.finish();
}
