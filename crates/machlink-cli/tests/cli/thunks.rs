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
