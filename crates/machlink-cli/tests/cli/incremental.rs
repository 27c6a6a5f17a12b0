//! Incremental relinking (issue #4, and #14 for arm64): the driver (state,
//! change detection, lock, fallbacks with their reasons) and the update
//! scenarios, each run under macho-run before and after the update and
//! checked with `machlink verify`.
//!
//! Each scenario is a function of the target, run once per target by the
//! tests in the `x86_64` and `arm64` modules at the end of the file
//! (`cargo test ... -- incremental::arm64`). arm64 outputs are always
//! ad-hoc signed, so every arm64 update must go through the patched copy
//! renamed over the output, and its signature must hash every page.

use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{
    compile_with_for, incremental_command_for, incremental_line, interrupted, machlink_verify,
    macho_run, macho_run_with, run_ok,
};
use testkit::{capture, Outcome, Target};

/// A scenario's target and scratch directory.
struct Scenario {
    target: Target,
    dir: PathBuf,
}

impl Scenario {
    fn new(target: Target, name: &str) -> Scenario {
        let dir = testkit::scratch_dir(&format!("incremental/{name}-{}", target.arch()));
        Scenario { target, dir }
    }

    /// Writes `src` to NAME.c and compiles it with -O1 to NAME.o.
    fn compile(&self, name: &str, src: &str) -> PathBuf {
        self.compile_with(name, src, &["-O1"])
    }

    fn compile_with(&self, name: &str, src: &str, flags: &[&str]) -> PathBuf {
        compile_with_for(self.target, &self.dir, name, src, flags)
    }

    fn out(&self) -> PathBuf {
        self.dir.join("prog")
    }

    /// `machlink -incremental -v` for this target, minus the objects.
    fn command(&self, out: &Path) -> Command {
        incremental_command_for(self.target, out)
    }

    /// An incremental link that must succeed. A signed output (every arm64
    /// one) must hash every page after it, and an update of it must have
    /// been written on a copy renamed over the output (macOS kills a
    /// process whose signed file changed in place).
    fn link(&self, out: &Path, objs: &[&Path], extra: &[&str]) -> Outcome {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(out).map(|m| m.ino()).ok();
        let o = capture(self.command(out).args(extra).args(objs));
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        let signed = (self.target == Target::Arm64 && !extra.contains(&"-no_adhoc_codesign"))
            || extra.contains(&"-adhoc_codesign");
        if signed {
            let bytes = std::fs::read(out).unwrap();
            if let Err(e) = testkit::verify_adhoc_signature(&bytes) {
                panic!("after `{}`: {e}", incremental_line(&o));
            }
            if said(&o, "updated") {
                assert_ne!(
                    std::fs::metadata(out).unwrap().ino(),
                    inode.unwrap(),
                    "a signed output is replaced by a patched copy, not modified in place"
                );
            }
        }
        o
    }

    /// A full link of `objs` (not incremental) into `out`.
    fn fresh_link(&self, out: &Path, objs: &[&Path]) {
        testkit::check(testkit::machlink_command_for(self.target, out).args(objs));
    }
}

pub(crate) fn said(o: &Outcome, what: &str) -> bool {
    incremental_line(o).contains(what)
}

fn updated(o: &Outcome) {
    assert!(
        said(o, "updated 1 object(s)"),
        "expected an in-place update: {}",
        o.stderr_str()
    );
}

/// Runs a program with its preferred address taken, so it must slide.
fn run_slid(exe: &Path) -> Outcome {
    macho_run_with(exe, &[("MACHO_RUN_FORCE_SLIDE", "1")])
}

/// `machlink verify`'s report on an output that must pass.
pub(crate) fn verify(exe: &Path) -> String {
    let o = machlink_verify(exe);
    assert_eq!(o.code, 0, "verify: {}{}", o.stdout_str(), o.stderr_str());
    o.stdout_str()
}

/// What `llvm-objdump-19 --macho ARGS` prints for an output; it must read
/// it without a warning.
fn objdump(exe: &Path, args: &[&str]) -> String {
    let o = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .arg("--macho")
            .args(args)
            .arg(exe),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(!o.stderr_str().contains("warning"), "{}", o.stderr_str());
    o.stdout_str()
}

/// A function's address, and where the trampoline in its slot leads (None
/// when the slot holds its body).
fn slot_of(exe: &Path, sym: &str) -> (u64, Option<u64>) {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let addr = address_of(exe, sym);
    let text = file.section_by_name("__text").unwrap();
    let code = &text.data().unwrap()[(addr - text.address()) as usize..];
    let target = match file.architecture() {
        object::Architecture::X86_64 => x86_64_trampoline(code, addr),
        object::Architecture::Aarch64 => arm64_trampoline(code, addr),
        a => panic!("{a:?}"),
    };
    (addr, target)
}

/// A symbol's address in an output.
pub(crate) fn address_of(exe: &Path, sym: &str) -> u64 {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let s = file
        .symbols()
        .find(|s| s.name() == Ok(sym))
        .unwrap_or_else(|| panic!("{sym} not in the symbol table"));
    s.address()
}

/// Where a `jmp rel32` at `addr` leads.
fn x86_64_trampoline(code: &[u8], addr: u64) -> Option<u64> {
    (code[0] == 0xe9).then(|| {
        let d = i32::from_le_bytes(code[1..5].try_into().unwrap());
        (addr as i64 + 5 + i64::from(d)) as u64
    })
}

/// Where an arm64 trampoline at `addr` leads: `b imm26`, or
/// `adrp x16, page; add x16, x16, #off; br x16` for a body out of its
/// reach. (Decoded here from the Arm ARM's encodings, not with the
/// linker's own reader, so that the test checks what the linker wrote.)
fn arm64_trampoline(code: &[u8], addr: u64) -> Option<u64> {
    let word = |i: usize| u32::from_le_bytes(code[i * 4..i * 4 + 4].try_into().unwrap());
    // Sign-extends the low `bits` bits of `v`.
    let sext = |v: u32, bits: u32| i64::from(((v << (32 - bits)) as i32) >> (32 - bits));
    let first = word(0);
    if first & 0xfc00_0000 == 0x1400_0000 {
        return Some((addr as i64 + sext(first & 0x03ff_ffff, 26) * 4) as u64);
    }
    // adrp x16 / add x16, x16, #imm12 (no shift) / br x16
    let (add, br) = (word(1), word(2));
    if first & 0x9f00_001f != 0x9000_0010 || add & 0xffc0_03ff != 0x9100_0210 || br != 0xd61f_0200 {
        return None;
    }
    let pages = sext(((first >> 5) & 0x7_ffff) << 2 | (first >> 29) & 3, 21);
    let page = (addr & !0xfff) as i64 + (pages << 12);
    Some(page as u64 + u64::from((add >> 10) & 0xfff))
}

/// The test's own decoder, on encodings from `llvm-mc -triple=aarch64`
/// (scenarios only reach the `adrp` form with bodies over 128 MiB away).
#[test]
fn arm64_trampolines_are_decoded() {
    let far = [
        [0xf0, 0x08, 0x00, 0xf0], // adrp x16, #0x11f000
        [0x10, 0x5a, 0x11, 0x91], // add x16, x16, #0x456
        [0x00, 0x02, 0x1f, 0xd6], // br x16
    ]
    .concat();
    assert_eq!(arm64_trampoline(&far, 0x1_0000_4abc), Some(0x1_0012_3456));
    let back = [0xf0, 0xff, 0xff, 0x17]; // b #-0x40
    assert_eq!(arm64_trampoline(&back, 0x1_0000_4000), Some(0x1_0000_3fc0));
    let body = [0xff, 0x43, 0x00, 0xd1, 0, 0, 0, 0, 0, 0, 0, 0]; // sub sp, sp, #0x10
    assert_eq!(arm64_trampoline(&body, 0x1_0000_4000), None);
}

/// A main that prints what `value()` in another object returns.
const PRINT_VALUE: &str =
    "#include <stdio.h>\nint value(void);\nint main(void) { printf(\"%d\\n\", value()); return 0; }\n";

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int g(int);
int (*saved)(int) = f;
int main(void) {
    printf("f=%d g=%d same=%d at=%lx\n", f(3), g(4), saved == f, (unsigned long)saved);
    return 0;
}
"#;

/// A body for `f` of roughly `n` statements.
fn f_body(n: usize) -> String {
    let mut s = String::from("int f(int x) { volatile int s = x;");
    for i in 0..n {
        s.push_str(&format!(" s = s * {} + {};", i % 7 + 2, i));
    }
    s.push_str(" return s; }\n");
    s
}

fn lib(f: &str) -> String {
    format!("{f}int g(int x) {{ return x + 1; }}\n")
}

fn functions_are_updated_in_place_moved_behind_trampolines_and_moved_back(t: Target) {
    let s = Scenario::new(t, "functions");
    let main = s.compile("main", MAIN);
    let lib_o = s.compile("lib", &lib(&f_body(1)));
    let out = s.out();
    let o = s.link(&out, &[&main, &lib_o], &[]);
    assert!(said(&o, "full link: first link (no output yet)"));
    let first = run_ok(&out);
    let at = first.split("at=").nth(1).unwrap().to_string();
    let (f_addr, none) = slot_of(&out, "_f");
    assert_eq!(none, None);

    // Edit in place: same size class, new behaviour, same address.
    s.compile("lib", &lib(&f_body(2)));
    let o = s.link(&out, &[&main, &lib_o], &["-print_statistics"]);
    updated(&o);
    assert!(said(&o, "1 atoms in place, 0 moved"), "{}", o.stderr_str());
    // An unsigned output (x86_64) is patched where it is, so nothing is
    // cloned or copied; a signed one (arm64) is written on a clone or copy.
    let table = o.stderr_str();
    if t == Target::X86_64 {
        assert!(said(&o, "written in place"), "{table}");
        assert!(
            table.contains("patch and sync")
                && !table.contains("clone output")
                && !table.contains("copy output"),
            "{table}"
        );
    } else {
        assert!(
            said(&o, "written on a clone") || said(&o, "written on a copy"),
            "{table}"
        );
    }
    let second = run_ok(&out);
    assert_ne!(first, second);
    assert!(second.ends_with(&at), "&f moved: {second}");
    verify(&out);

    // Grow past the slot: a trampoline at f's address leads to the body.
    s.compile("lib", &lib(&f_body(40)));
    let o = s.link(&out, &[&main, &lib_o], &[]);
    updated(&o);
    assert!(said(&o, "1 moved") && said(&o, "1 trampolines written"));
    let (addr, body1) = slot_of(&out, "_f");
    assert_eq!(addr, f_addr);
    let body1 = body1.expect("a trampoline in f's slot");
    let third = run_ok(&out);
    assert!(third.contains("same=1") && third.ends_with(&at), "{third}");
    let report = verify(&out);
    assert!(report.contains(" 1 trampolines"), "{report}");

    // Grow again: the trampoline is rewritten (no chain) and the
    // intermediate body freed, then reused by g when it grows.
    s.compile("lib", &lib(&f_body(120)));
    let o = s.link(&out, &[&main, &lib_o], &[]);
    updated(&o);
    let (_, body2) = slot_of(&out, "_f");
    let body2 = body2.unwrap();
    assert_ne!(body1, body2);
    let fourth = run_ok(&out);
    verify(&out);
    let g_big = format!(
        "{}int g(int x) {{ volatile int s = x;{} return s; }}\n",
        f_body(120),
        (0..30)
            .map(|i| format!(" s = s * {} + {i};", i % 5 + 2))
            .collect::<String>()
    );
    s.compile("lib", &g_big);
    let o = s.link(&out, &[&main, &lib_o], &[]);
    updated(&o);
    let (_, g_body) = slot_of(&out, "_g");
    assert_eq!(
        g_body,
        Some(body1),
        "g's new body reuses f's freed intermediate slot"
    );
    let fifth = run_ok(&out);
    assert_ne!(fourth, fifth);
    verify(&out);

    // Shrink: both bodies return to their slots.
    s.compile("lib", &lib(&f_body(1)));
    let o = s.link(&out, &[&main, &lib_o], &[]);
    updated(&o);
    assert_eq!(slot_of(&out, "_f"), (f_addr, None));
    assert_eq!(run_ok(&out), first);
    verify(&out);

    // The updated image behaves like a fresh link of the same objects.
    let fresh = s.dir.join("fresh");
    s.fresh_link(&fresh, &[&main, &lib_o]);
    assert_eq!(
        run_ok(&fresh).split(" at=").next(),
        run_ok(&out).split(" at=").next()
    );
}

fn literals_and_data_are_patched_and_pointers_rebased(t: Target) {
    let s = Scenario::new(t, "data");
    let main_src = |msg: &str, table: &str| {
        format!(
            r#"#include <stdio.h>
static int table[4] = {{{table}}};
const char *greeting = "{msg}";
int main(void) {{
    int s = 0;
    for (int i = 0; i < 4; i++) s += table[i];
    printf("%s %d\n", greeting, s);
    return 0;
}}
"#
        )
    };
    let main = s.compile("main", &main_src("hello", "1, 2, 3, 4"));
    let out = s.out();
    s.link(&out, &[&main], &[]);
    assert_eq!(run_ok(&out), "hello 10\n");

    // Only a string literal changes: a new literal in __cstring's reserve,
    // and the pointer to it rebased in place.
    s.compile("main", &main_src("bonjour", "1, 2, 3, 4"));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "bonjour 10\n");
    verify(&out);
    // Slid, the rebased pointer still finds the new literal.
    let o = run_slid(&out);
    assert_eq!(o.stdout_str(), "bonjour 10\n", "slid");

    // Data edited in place.
    s.compile("main", &main_src("bonjour", "10, 20, 30, 40"));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "bonjour 100\n");

    // Back to a literal the image already has: merged with that copy.
    s.compile("main", &main_src("hello", "10, 20, 30, 40"));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "hello 100\n");
    verify(&out);
}

fn has_symbol(exe: &Path, sym: &str) -> bool {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let found = file.symbols().any(|s| s.name() == Ok(sym));
    found
}

fn functions_are_deleted_and_added_back_with_the_symbol_table_rewritten(t: Target) {
    let s = Scenario::new(t, "symbols");
    let out = s.out();
    let main = s.compile("main", PRINT_VALUE);
    let with_helper = "int helper(int x) { return x * 2; }\n__attribute__((noinline)) static int twice(int x) { return helper(x) + helper(x); }\nint value(void) { volatile int x = 3; return twice(x); }\n";
    let lib = s.compile("lib", with_helper);
    s.link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "12\n");
    assert!(has_symbol(&out, "_helper"));
    let value_at = slot_of(&out, "_value").0;

    // Deleted: its slot is freed, its symbol and export are gone.
    s.compile(
        "lib",
        "int value(void) { volatile int x = 3; return x * 5; }\n",
    );
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "removed"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "15\n");
    assert!(!has_symbol(&out, "_helper") && !has_symbol(&out, "_twice"));
    assert_eq!(slot_of(&out, "_value").0, value_at);
    verify(&out);

    // Added back: new slots from the free list or the reserve.
    s.compile("lib", with_helper);
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "added"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "12\n");
    assert!(has_symbol(&out, "_helper") && has_symbol(&out, "_twice"));
    verify(&out);
    let tables = objdump(&out, &["--syms", "--exports-trie", "--indirect-symbols"]);
    assert!(tables.contains("_helper"));

    // A function removed while another object still calls it: the same
    // undefined-symbol error as a full link.
    let caller = s.compile(
        "caller",
        "int helper(int);\nint call_helper(void) { return helper(1); }\n",
    );
    s.link(&out, &[&main, &lib, &caller], &[]);
    s.compile("lib", "int value(void) { return 4; }\n");
    let o = capture(s.command(&out).args([&main, &lib, &caller]));
    assert_eq!(o.code, 1);
    assert!(
        o.stderr_str().contains("undefined symbol: _helper") && o.stderr_str().contains("caller.o"),
        "{}",
        o.stderr_str()
    );
}

fn arrays_that_outgrow_their_room_move_and_every_reference_follows(t: Target) {
    let s = Scenario::new(t, "data-moves");
    let out = s.out();
    // main.o refers to lib.o's table three ways: a load through its GOT
    // slot (relaxed by the link: a RIP-relative `lea`, or `adrp` + `add`),
    // an address taken in code, and a pointer stored in data (a rebase);
    // and to a hidden array directly (RIP-relative, or `adrp` + `ldr` at
    // an offset past its start).
    let main = s.compile(
        "main",
        r#"#include <stdio.h>
extern int table[];
extern int table_len;
extern long hidden[] __attribute__((visibility("hidden")));
int *stored = table;
int value(void);
int main(void) {
    int s = 0;
    for (int i = 0; i < table_len; i++) s += table[i];
    int *p = table;
    printf("%d %d %d %d %ld\n", s, stored == p, stored[table_len - 1], value(), hidden[1]);
    return 0;
}
"#,
    );
    let lib_src = |n: usize| {
        let values: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        format!(
            "int table[{n}] = {{{}}};\nint table_len = {n};\n__attribute__((visibility(\"hidden\"))) long hidden[{}] = {{0, {}}};\nstatic volatile int local[{n}] = {{1}};\nint value(void) {{ int s = 0; for (int i = 0; i < {n}; i++) s += local[i] + i; return s; }}\n",
            values.join(", "),
            n / 8 + 2,
            1000 + n
        )
    };
    let lib = s.compile("lib", &lib_src(4));
    s.link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "10 1 4 7 1004\n");
    for n in [40, 400] {
        let hidden_was = address_of(&out, "_hidden");
        s.compile("lib", &lib_src(n));
        let o = s.link(&out, &[&main, &lib], &[]);
        updated(&o);
        assert!(said(&o, "moved"), "{}", o.stderr_str());
        assert_ne!(
            address_of(&out, "_hidden"),
            hidden_was,
            "the hidden array moved"
        );
        let sum = n * (n + 1) / 2;
        let local = 1 + n * (n - 1) / 2;
        let expected = format!("{sum} 1 {n} {local} {}\n", 1000 + n);
        assert_eq!(run_ok(&out), expected);
        let slid = run_slid(&out);
        assert_eq!(slid.stdout_str(), expected, "slid");
        verify(&out);
    }
    assert!(has_symbol(&out, "_table"));
}

fn calls_to_new_libsystem_functions_get_stubs_and_binds_in_headroom(t: Target) {
    let s = Scenario::new(t, "imports");
    let out = s.out();
    let main = s.compile("main", PRINT_VALUE);
    let lib = s.compile("lib", "int value(void) { return 3; }\n");
    s.link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "3\n");
    s.compile(
        "lib",
        "#include <stdio.h>\n#include <stdlib.h>\nint value(void) {\n    char buf[16];\n    snprintf(buf, sizeof buf, \"%d\", 40);\n    puts(\"side\");\n    fputs(\"out\\n\", stdout);\n    return atoi(buf) + 2;\n}\n",
    );
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    // (`stdout` is `___stdoutp`, a data import loaded through a new GOT
    // slot.)
    assert!(said(&o, "5 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "side\nout\n42\n");
    let slid = run_slid(&out);
    assert_eq!(slid.stdout_str(), "side\nout\n42\n");
    verify(&out);
    let tables = objdump(&out, &["--dyld-info", "--indirect-symbols", "--syms"]);
    for import in ["_atoi", "_puts", "_snprintf", "_fputs", "___stdoutp"] {
        assert!(
            tables
                .lines()
                .any(|l| l.contains("bind") && l.ends_with(import)),
            "no bind for {import}:\n{tables}"
        );
    }
    // A later edit that uses them again finds them imported.
    s.compile(
        "lib",
        "#include <stdio.h>\nint value(void) { puts(\"again\"); return 5; }\n",
    );
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "0 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "again\n5\n");

    // The classic format has no room for them: a full link says so.
    s.compile("lib", "int value(void) { return 6; }\n");
    s.link(&out, &[&main, &lib], &["-no_fixup_chains"]);
    s.compile(
        "lib",
        "#include <stdio.h>\nint value(void) { puts(\"x\"); return 7; }\n",
    );
    let o = s.link(&out, &[&main, &lib], &["-no_fixup_chains"]);
    assert!(
        said(&o, "full link") && said(&o, "_puts") && said(&o, "classic"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "x\n7\n");
}

fn thread_local_variables_are_added_in_reserved_room(t: Target) {
    let s = Scenario::new(t, "thread-locals");
    let out = s.out();
    let main = s.compile("main", PRINT_VALUE);
    // A program's first thread-local variables: their (empty) sections were
    // reserved, and __tlv_bootstrap becomes a new import. Then more of them:
    // descriptors, template space and their binds to __tlv_bootstrap come
    // from reserved room.
    let lib = s.compile("lib", "int value(void) { return 3; }\n");
    s.link(&out, &[&main, &lib], &[]);
    s.compile(
        "lib",
        "_Thread_local int counter = 41;\n_Thread_local int bump;\nint value(void) { return ++counter + bump++; }\n",
    );
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "1 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "42\n");
    verify(&out);
    s.compile(
        "lib",
        "_Thread_local int counter = 99;\n_Thread_local int bump;\n_Thread_local int step = 5;\n_Thread_local long zero;\nint value(void) { zero += 1; return (counter += step) + (int)zero + bump++; }\n",
    );
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "105\n");
    verify(&out);
}

fn a_new_weak_winner_falls_back_with_its_reason_and_new_commons_update(t: Target) {
    let s = Scenario::new(t, "fallbacks");
    let out = s.out();
    let main = s.compile("main", PRINT_VALUE);
    let weak_a = s.compile("a", "__attribute__((weak)) int value(void) { return 1; }\n");
    let weak_b = s.compile("b", "__attribute__((weak)) int value(void) { return 2; }\n");
    s.link(&out, &[&main, &weak_a, &weak_b], &[]);
    assert_eq!(run_ok(&out), "1\n");
    // b's definition becomes strong: it now wins.
    s.compile("b", "int value(void) { return 2; }\n");
    let o = s.link(&out, &[&main, &weak_a, &weak_b], &[]);
    assert!(said(&o, "full link:"), "{}", o.stderr_str());
    assert!(
        said(&o, "b.o"),
        "the reason names the object: {}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "2\n");

    // A new tentative definition (a common): storage from the reserve,
    // recorded like the full link's commons, and a symbol for it.
    let lib = s.compile("lib", "int value(void) { return 3; }\n");
    s.link(&out, &[&main, &lib], &[]);
    let common = s.dir.join("common.c");
    std::fs::write(
        &common,
        "int (*hook)(void);\nint counter;\nint value(void) { counter += 2; return hook ? hook() : 6 + counter; }\n",
    )
    .unwrap();
    testkit::compile_macos_for(t, &common, &lib, &["-O1", "-fcommon"]);
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "8\n");
    assert!(has_symbol(&out, "_hook") && has_symbol(&out, "_counter"));
    verify(&out);
    // ...and later edits of that object keep the storage.
    std::fs::write(
        &common,
        "int (*hook)(void);\nint counter;\nint value(void) { counter += 3; return hook ? hook() : 6 + counter; }\n",
    )
    .unwrap();
    testkit::compile_macos_for(t, &common, &lib, &["-O1", "-fcommon"]);
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "9\n");
}

fn unchanged_inputs_leave_the_output_alone_and_other_changes_relink_with_a_reason(t: Target) {
    let s = Scenario::new(t, "driver");
    let main = s.compile("main", PRINT_VALUE);
    let lib = s.compile("lib", "int value(void) { return 1; }\n");
    let out = s.out();
    let state = s.dir.join("prog.machlink-state");

    let o = s.link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "full link: first link (no output yet)"),
        "{}",
        o.stderr_str()
    );
    assert!(state.is_file());
    assert_eq!(run_ok(&out), "1\n");
    let written = std::fs::metadata(&out).unwrap().modified().unwrap();

    let o = s.link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "nothing changed in 3 inputs"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().modified().unwrap(),
        written,
        "output rewritten"
    );

    // A new stamp on the same contents: the hash says nothing changed, and
    // the new stamp is recorded in the delta.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&lib, std::fs::read(&lib).unwrap()).unwrap();
    let o = s.link(&out, &[&main, &lib], &[]);
    assert!(said(&o, "nothing changed"), "{}", o.stderr_str());
    assert!(s.dir.join("prog.machlink-delta").is_file());

    // New contents: an update.
    let lib2 = s.compile("lib2", "int value(void) { return 2; }\n");
    std::fs::copy(&lib2, &lib).unwrap();
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "2\n");

    // Other options, an output changed behind our back, a broken state.
    let o = s.link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the options changed"), "{}", o.stderr_str());
    std::fs::write(&out, b"tampered").unwrap();
    let o = s.link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the output was changed"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "2\n");
    std::fs::write(&state, b"not a state").unwrap();
    let o = s.link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(
        said(
            &o,
            "full link: the incremental state is damaged: its header is not"
        ),
        "{}",
        o.stderr_str()
    );
    let o = s.link(&out, &[&lib, &main], &["-dead_strip"]);
    assert!(said(&o, "the list of inputs changed"), "{}", o.stderr_str());
}

/// `-map` with `-incremental`: the map describes the output of every run,
/// so each run links in full (an update would leave the map describing
/// the image before it), says why, and keeps no state.
fn a_link_map_is_never_left_describing_an_older_image(t: Target) {
    let s = Scenario::new(t, "link-map");
    let main = s.compile("main", PRINT_VALUE);
    let lib = s.compile("lib", "int value(void) { return 1; }\n");
    let out = s.out();
    let map = s.dir.join("prog.map");
    let flags = ["-map", map.to_str().unwrap()];
    s.link(&out, &[&main, &lib], &[]);
    assert!(s.dir.join("prog.machlink-state").is_file());
    let o = s.link(&out, &[&main, &lib], &flags);
    assert!(
        said(&o, "full link: -map asks for a link map"),
        "{}",
        o.stderr_str()
    );
    assert!(std::fs::read_to_string(&map).unwrap().contains("_value"));

    // A new function: the map of the next run lists it.
    let lib2 = s.compile(
        "lib2",
        "int helper_added(int x) { return x + 1; }\nint value(void) { return helper_added(1); }\n",
    );
    std::fs::copy(&lib2, &lib).unwrap();
    let o = s.link(&out, &[&main, &lib], &flags);
    assert!(
        said(&o, "full link: -map asks for a link map"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "2\n");
    assert!(
        std::fs::read_to_string(&map)
            .unwrap()
            .contains("_helper_added"),
        "the map lists the function the edit added"
    );
    // Without -map again: the options changed, and the state comes back.
    let o = s.link(&out, &[&main, &lib], &[]);
    assert!(said(&o, "full link"), "{}", o.stderr_str());
    let o = s.link(&out, &[&main, &lib], &[]);
    assert!(said(&o, "nothing changed"), "{}", o.stderr_str());
}

/// An incremental link gives each function a slot of its size plus a
/// quarter, so `__text` may end anywhere: the stubs after it keep their
/// alignment (arm64 instructions are 4 bytes) whatever size the last
/// function has. (A function of N `nop`s and `return 3`: 4N + 8 bytes.)
fn stubs_stay_aligned_after_a_last_function_of_any_size(t: Target) {
    let s = Scenario::new(t, "stub-alignment");
    let main = s.compile("main", PRINT_VALUE);
    for nops in 16..20 {
        let body = "nop\\n".repeat(nops);
        let lib = s.compile(
            &format!("lib{nops}"),
            &format!("int value(void) {{ __asm__ volatile(\"{body}\"); return {nops}; }}\n"),
        );
        let out = s.dir.join(format!("prog{nops}"));
        s.link(&out, &[&main, &lib], &[]);
        assert_eq!(run_ok(&out), format!("{nops}\n"));
        verify(&out);
    }
}

fn an_interrupted_update_is_finished_by_the_next_run(t: Target) {
    use std::os::unix::fs::PermissionsExt;
    let s = Scenario::new(t, "journal");
    let main = s.compile("main", MAIN);
    let small = s.compile("small", &lib(&f_body(1)));
    let grown = s.compile("grown", &lib(&f_body(40)));
    let lib_o = s.dir.join("lib.o");
    let fresh = s.dir.join("fresh");
    s.fresh_link(&fresh, &[&main, &grown]);
    let expected = run_ok(&fresh);
    let expected = expected.split(" at=").next().unwrap();
    let executable = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o111 != 0;
    for point in testkit::cli::CRASH_POINTS {
        let out = s.dir.join(format!("prog-{point}"));
        std::fs::copy(&small, &lib_o).unwrap();
        s.link(&out, &[&main, &lib_o], &[]);
        let before_bytes = std::fs::read(&out).unwrap();
        let before = run_ok(&out);
        std::fs::copy(&grown, &lib_o).unwrap();

        // The update dies there (a test hook standing in for a crash or
        // kill -9). What is at the output path is the old image, or not
        // executable, or (checked below) the finished update.
        interrupted(s.command(&out).arg(&main).arg(&lib_o), point);
        let crashed = std::fs::read(&out).unwrap();
        let runnable_and_new = executable(&out) && crashed != before_bytes;
        if executable(&out) && crashed == before_bytes {
            assert_eq!(run_ok(&out), before, "{point}");
        }

        // The next run finishes it (nothing else changed, so nothing more
        // to do), or, when the journal was never written, updates anew.
        let o = s.link(&out, &[&main, &lib_o], &[]);
        let finished = said(&o, "finished an interrupted update") && said(&o, "nothing changed");
        assert!(
            finished || (point == "journal" && said(&o, "updated 1 object(s)")),
            "{point}: {}",
            o.stderr_str()
        );
        let leftovers: Vec<_> = std::fs::read_dir(&s.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("prog-{point}.")))
            .filter(|n| {
                n.ends_with(".tmp")
                    || (n.ends_with("journal") && testkit::cli::journal_pending(&out))
                    || n.ends_with("patching")
            })
            .collect();
        assert!(leftovers.is_empty(), "{point}: left behind {leftovers:?}");
        assert!(executable(&out), "{point}");
        if runnable_and_new {
            assert!(
                std::fs::read(&out).unwrap() == crashed,
                "{point}: a runnable output at the path was not the finished update"
            );
        }
        let after = run_ok(&out);
        assert_ne!(before, after, "{point}");
        assert_eq!(after.split(" at=").next().unwrap(), expected, "{point}");
        verify(&out);
    }
}

fn signed_outputs_are_patched_on_a_copy_with_their_touched_pages_rehashed(t: Target) {
    use std::os::unix::fs::MetadataExt;
    let s = Scenario::new(t, "signed");
    let main = s.compile("main", MAIN);
    let lib_o = s.compile("lib", &lib(&f_body(1)));
    let out = s.out();
    s.link(&out, &[&main, &lib_o], &["-adhoc_codesign"]);
    let inode = std::fs::metadata(&out).unwrap().ino();
    s.compile("lib", &lib(&f_body(40)));
    let o = s.link(
        &out,
        &[&main, &lib_o],
        &["-adhoc_codesign", "-print_statistics"],
    );
    updated(&o);
    // (`Scenario::link` checked every page's hash.)
    assert_ne!(
        std::fs::metadata(&out).unwrap().ino(),
        inode,
        "a signed output is replaced by a patched copy, not modified in place"
    );
    // A clone where the scratch directory's filesystem has them, a copy
    // elsewhere; either way timed, with the rehash.
    let table = o.stderr_str();
    let (clone, copy) = (
        said(&o, "written on a clone"),
        said(&o, "written on a copy"),
    );
    assert!(clone || copy, "{table}");
    let phase = if clone { "clone output" } else { "copy output" };
    assert!(
        table.contains(phase) && table.contains("rehash signature"),
        "{table}"
    );
    assert!(run_ok(&out).contains("same=1"));
    verify(&out);
}

/// A real clone needs a filesystem that has them: an XFS made with
/// reflinks, mounted from a loop file in the scratch directory.
fn signed_outputs_on_a_filesystem_with_clones_are_patched_on_a_clone(t: Target) {
    let fs = testkit::ReflinkMount::new(&format!("incremental/signed-clone-{}", t.arch()));
    let s = Scenario {
        target: t,
        dir: fs.dir.clone(),
    };
    let main = s.compile("main", MAIN);
    let lib_o = s.compile("lib", &lib(&f_body(1)));
    let out = s.out();
    s.link(&out, &[&main, &lib_o], &["-adhoc_codesign"]);
    let before = run_ok(&out);
    for (body, edit) in [(2, "1 atoms in place"), (40, "1 moved")] {
        s.compile("lib", &lib(&f_body(body)));
        let o = s.link(
            &out,
            &[&main, &lib_o],
            &["-adhoc_codesign", "-print_statistics"],
        );
        updated(&o);
        assert!(said(&o, edit), "{}", o.stderr_str());
        assert!(said(&o, "written on a clone"), "{}", o.stderr_str());
        assert!(
            o.stderr_str().contains("clone output"),
            "{}",
            o.stderr_str()
        );
        let after = run_ok(&out);
        assert_ne!(before, after);
        assert_eq!(before.split(" at=").nth(1), after.split(" at=").nth(1));
        verify(&out);
        assert!(!s.dir.join("prog.machlink-patching").exists());
        assert!(!testkit::cli::journal_pending(&out));
    }
    // The clone's result is what a fresh link of the same inputs makes.
    let fresh = s.dir.join("fresh");
    s.fresh_link(&fresh, &[&main, &lib_o]);
    assert_eq!(
        run_ok(&fresh).split(" at=").next(),
        run_ok(&out).split(" at=").next()
    );
}

#[test]
fn concurrent_incremental_links_of_one_output_take_turns() {
    let s = Scenario::new(Target::X86_64, "lock");
    let main = s.compile("main", "int main(void) { return 7; }\n");
    let out = s.out();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            testkit::machlink_command(&out)
                .args(["-incremental"])
                .arg(&main)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let code = macho_run(&out).code;
    assert_eq!(code, 7);
    assert!(s.dir.join("prog.machlink-state").is_file());
}

/// After updates, the debug map still leads dsymutil to every object's
/// DWARF (the changed object's new modification time) and names where a
/// moved function's code now is, so the .dSYM verifies and places it there.
fn the_debug_map_follows_updates(t: Target) {
    let s = Scenario::new(t, "debug-map");
    let compile_g = |name: &str, src: &str| s.compile_with(name, src, &["-g", "-O1"]);
    let main = compile_g("main", MAIN);
    let lib_o = compile_g("lib", &lib(&f_body(1)));
    let out = s.out();
    s.link(&out, &[&main, &lib_o], &[]);
    let dsym = |tag: &str| {
        let d = s.dir.join(format!("prog-{tag}.dSYM"));
        testkit::cli::dsymutil_quietly(&out, &d, tag);
        let v = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .arg("--verify")
                .arg(&d),
        );
        assert!(
            v.stdout_str().contains("No errors."),
            "{tag}: {}",
            v.stdout_str()
        );
        let info = capture(
            Command::new(testkit::require_tool("llvm-dwarfdump-19"))
                .args(["--debug-info", "--name=f"])
                .arg(&d),
        );
        info.stdout_str()
    };
    dsym("first");
    // Recompiled in place (a new timestamp), then grown past its slot.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    compile_g("lib", &lib(&f_body(2)));
    updated(&s.link(&out, &[&main, &lib_o], &[]));
    dsym("in-place");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    compile_g("lib", &lib(&f_body(40)));
    updated(&s.link(&out, &[&main, &lib_o], &[]));
    let (_, body) = slot_of(&out, "_f");
    let body = body.expect("f moved behind a trampoline");
    let info = dsym("moved");
    assert!(
        info.contains(&format!("DW_AT_low_pc\t(0x{body:016x})")),
        "the dSYM places f at its body {body:#x}:\n{info}"
    );

    // Recompiled under a new name, the old one deleted (as rustc renames
    // the codegen units it recompiles): the group's N_OSO names the new
    // object, which dsymutil reads (it would warn of the missing old one),
    // and the symbol tables stay where they are.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let renamed = compile_g("lib-renamed", &lib(&f_body(41)));
    std::fs::remove_file(&lib_o).unwrap();
    let o = s.link(&out, &[&main, &renamed], &[]);
    updated(&o);
    assert!(!said(&o, "symbol tables rewritten"), "{}", o.stderr_str());
    let map = testkit::cli::tool("llvm-nm-19", &["-a"], &out);
    assert!(
        map.contains("lib-renamed.o") && !map.contains("/lib.o"),
        "the debug map names the renamed object:\n{map}"
    );
    dsym("renamed");
}

/// A function removed by one update and its neighbour grown into the
/// freed room by the next: the moved body lies where the removed function
/// was, between the trampoline's slot and the next function. The update
/// lists the body in LC_FUNCTION_STARTS, so `machlink verify` sees where
/// the trampoline's slot ends (it used to read the body as inside it);
/// a trampoline that really jumps into its own slot still fails.
fn a_body_moved_into_a_removed_neighbours_slot_verifies(t: Target) {
    let s = Scenario::new(t, "into-freed-slot");
    let out = s.out();
    let main = s.compile(
        "main",
        "#include <stdio.h>\nint f(int); int h(int);\n\
         int main(void) { printf(\"%d %d\\n\", f(3), h(4)); return 0; }\n",
    );
    let g = "int g(int x) { volatile int s = x; s = s * 5 + 1; s = s * 7 + 2; s = s * 3 + 3;\
             s = s * 9 + 4; s = s * 11 + 5; s = s * 13 + 6; return s; }\n";
    let h = "int h(int x) { return x + 1; }\n";
    let lib = s.compile("lib", &format!("{}{g}{h}", f_body(1)));
    s.link(&out, &[&main, &lib], &[]);
    let (f_at, g_at) = (address_of(&out, "_f"), address_of(&out, "_g"));
    let h_at = address_of(&out, "_h");
    assert!(f_at < g_at && g_at < h_at, "f, g, h in order");
    verify(&out);

    // g removed: its slot is freed.
    s.compile("lib", &format!("{}{h}", f_body(1)));
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "1 removed"), "{}", o.stderr_str());
    verify(&out);

    // f grown by two statements: past its slot, into g's freed room.
    s.compile("lib", &format!("{}{h}", f_body(3)));
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "1 trampolines written"), "{}", o.stderr_str());
    let (addr, body) = slot_of(&out, "_f");
    assert_eq!(addr, f_at);
    let body = body.expect("a trampoline in f's slot");
    assert!(
        (g_at..h_at).contains(&body),
        "f's body {body:#x} is in g's freed slot [{g_at:#x}, {h_at:#x})"
    );
    let report = verify(&out);
    assert!(report.contains(" 1 trampolines"), "{report}");
    let fresh = s.dir.join("fresh");
    s.fresh_link(&fresh, &[&main, &lib]);
    assert_eq!(run_ok(&out), run_ok(&fresh));

    // A trampoline into its own slot (code there, not fill) is still a
    // violation: f's slot ends where its body starts.
    let mut bytes = std::fs::read(&out).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let text = file.section_by_name("__text").unwrap();
    let off = |a: u64| (text.file_range().unwrap().0 + a - text.address()) as usize;
    let inside = f_at + 8;
    assert!(inside + 4 <= body);
    let (jump, ret): (Vec<u8>, &[u8]) = match t {
        Target::X86_64 => {
            let rel = (inside as i64 - (f_at as i64 + 5)) as i32;
            ([&[0xe9][..], &rel.to_le_bytes()].concat(), &[0xc3])
        }
        Target::Arm64 => {
            let b = 0x1400_0000 | (((inside - f_at) / 4) as u32 & 0x03ff_ffff);
            (b.to_le_bytes().to_vec(), &[0xc0, 0x03, 0x5f, 0xd6])
        }
    };
    let (at_f, at_inside) = (off(f_at), off(inside));
    bytes[at_f..at_f + jump.len()].copy_from_slice(&jump);
    bytes[at_inside..at_inside + ret.len()].copy_from_slice(ret);
    let bad = s.dir.join("own-slot");
    std::fs::write(&bad, &bytes).unwrap();
    let o = machlink_verify(&bad);
    assert_eq!(o.code, 1, "{}{}", o.stdout_str(), o.stderr_str());
    assert!(
        o.stdout_str().contains(&format!(
            "jumps to {inside:#x}, inside the slot of the trampoline at {f_at:#x}"
        )),
        "{}",
        o.stdout_str()
    );
}

/// rustc links the codegen units it reuses under each session's new names
/// (hard links of its cache) and deletes the old names: such an input is
/// the very file recorded, taken as unchanged without being read. Another
/// file at a new name is still read, even with the recorded size and
/// modification time, and its edit replayed.
fn hard_links_at_new_paths_are_the_same_input(t: Target) {
    let s = Scenario::new(t, "hard-links");
    let out = s.out();
    let main = s.compile("main", PRINT_VALUE);
    let lib_a = s.compile("lib", "int value(void) { return 111; }\n");
    s.link(&out, &[&main, &lib_a], &[]);
    assert_eq!(run_ok(&out), "111\n");

    let lib_b = s.dir.join("lib-b.o");
    std::fs::hard_link(&lib_a, &lib_b).unwrap();
    std::fs::remove_file(&lib_a).unwrap();
    let o = s.link(&out, &[&main, &lib_b], &[]);
    assert!(said(&o, "nothing changed"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "111\n");

    // Same size and time as lib-b.o, other bytes, another file (compiled
    // as lib.o again, a new file now: names can change an object's size).
    let edited = s.compile("lib", "int value(void) { return 222; }\n");
    let lib_c = s.dir.join("lib-c.o");
    std::fs::copy(&edited, &lib_c).unwrap();
    let recorded = std::fs::metadata(&lib_b).unwrap();
    assert_eq!(std::fs::metadata(&lib_c).unwrap().len(), recorded.len());
    std::fs::File::options()
        .write(true)
        .open(&lib_c)
        .unwrap()
        .set_modified(recorded.modified().unwrap())
        .unwrap();
    std::fs::remove_file(&lib_b).unwrap();
    let o = s.link(&out, &[&main, &lib_c], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "222\n");
    verify(&out);
}

/// Each rename of an edited object adds its new path at the string
/// table's end, in the room the full link reserved; when that room is full
/// the update writes the tables again, packed (the old paths dropped),
/// and goes on updating: renames never force a full link.
fn renamed_objects_fill_the_string_room_and_the_tables_are_packed(t: Target) {
    let s = Scenario::new(t, "renames");
    let out = s.out();
    let main = s.compile_with("main", PRINT_VALUE, &["-g", "-O1"]);
    let lib = |k: usize| {
        s.compile_with(
            &format!("lib-renamed-for-the-{k}th-time-with-a-long-name"),
            &format!("int value(void) {{ return {k}; }}\n"),
            &["-g", "-O1"],
        )
    };
    let first = lib(0);
    s.link(&out, &[&main, &first], &[]);
    let mut previous = first;
    let mut packed = 0;
    for k in 1..60 {
        let next = lib(k);
        std::fs::remove_file(&previous).unwrap();
        let o = s.link(&out, &[&main, &next], &[]);
        updated(&o);
        if said(&o, "symbol tables rewritten") {
            packed += 1;
        }
        assert_eq!(run_ok(&out), format!("{k}\n"));
        previous = next;
    }
    assert!(packed > 0, "the string table's room never filled");
    assert!(packed < 10, "the tables were rewritten {packed} times");
    verify(&out);
}

/// rustc's edit loop: the codegen units it reuses come at new names
/// (hard links, the old names deleted) beside the one it recompiled. An
/// update points every debug-map group's N_OSO at its object's new path
/// (the renamed ones over their old paths, which rustc's names keep the
/// length of; the replayed one at the string table's end), so dsymutil
/// finds every object, also when a renamed object is replayed later.
fn debug_map_groups_follow_renamed_objects(t: Target) {
    let s = Scenario::new(t, "oso-renames");
    let out = s.out();
    let compile_g = |name: &str, src: &str| s.compile_with(name, src, &["-g", "-O1"]);
    let lib = |k: u32| format!("int value(void) {{ return {k}; }}\n");
    let check = |tag: &str, want: &str, present: &[&str], gone: &[&str]| {
        assert_eq!(run_ok(&out), want, "{tag}");
        let map = testkit::cli::tool("llvm-nm-19", &["-a"], &out);
        for p in present {
            assert!(
                map.contains(&format!("/{p} ")) || map.contains(&format!("/{p}\n")),
                "{tag}: no N_OSO for {p}:\n{map}"
            );
        }
        for g in gone {
            assert!(
                !map.contains(&format!("/{g}")),
                "{tag}: {g} still named:\n{map}"
            );
        }
        let d = s.dir.join(format!("prog-{tag}.dSYM"));
        testkit::cli::dsymutil_quietly(&out, &d, tag);
        verify(&out);
    };
    let main_a = compile_g("main-a", PRINT_VALUE);
    let lib_a = compile_g("lib-a", &lib(1));
    s.link(&out, &[&main_a, &lib_a], &[]);
    check("first", "1\n", &["main-a.o", "lib-a.o"], &[]);

    // main reused under a new name, lib recompiled under another.
    let rename = |from: &Path, name: &str| {
        let to = s.dir.join(name);
        std::fs::hard_link(from, &to).unwrap();
        std::fs::remove_file(from).unwrap();
        to
    };
    let main_b = rename(&main_a, "main-b.o");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let lib_b = compile_g("lib-b", &lib(2));
    std::fs::remove_file(&lib_a).unwrap();
    let o = s.link(&out, &[&main_b, &lib_b], &[]);
    updated(&o);
    assert!(!said(&o, "symbol tables rewritten"), "{}", o.stderr_str());
    check(
        "renamed",
        "2\n",
        &["main-b.o", "lib-b.o"],
        &["main-a.o", "lib-a.o"],
    );

    // Again: main's group is found under the name the last update gave it.
    let main_c = rename(&main_b, "main-c.o");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let lib_c = compile_g("lib-c", &lib(3));
    std::fs::remove_file(&lib_b).unwrap();
    updated(&s.link(&out, &[&main_c, &lib_c], &[]));
    check(
        "again",
        "3\n",
        &["main-c.o", "lib-c.o"],
        &["main-b.o", "lib-b.o"],
    );

    // Now main is the one recompiled: its replay finds its group there too.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let main_d = compile_g(
        "main-d",
        "#include <stdio.h>\nint value(void);\nint main(void) { printf(\"%d!\\n\", value()); return 0; }\n",
    );
    std::fs::remove_file(&main_c).unwrap();
    let lib_d = rename(&lib_c, "lib-d.o");
    updated(&s.link(&out, &[&main_d, &lib_d], &[]));
    check(
        "replayed",
        "3!\n",
        &["main-d.o", "lib-d.o"],
        &["main-c.o", "lib-c.o"],
    );
}

/// The names of the output's symbols, sorted.
fn symbol_names(exe: &Path) -> Vec<String> {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut names: Vec<String> = file
        .symbols()
        .map(|s| s.name().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

/// rustc names its anonymous constants with linker-private labels
/// (`l_anon.<hash>.<n>`), and an edit of a string literal adds or drops
/// one. The output lists no such label, so an update that only changes
/// them leaves the symbol tables as they are (it used to write them again
/// whole: 31 of ripgrep's 37 ms); one that adds a real symbol still
/// rewrites them. Either way the output has a fresh link's symbols.
fn linker_private_labels_come_and_go_without_a_symbol_table_rewrite(t: Target) {
    let s = Scenario::new(t, "private-labels");
    let out = s.out();
    let src = |second: bool, helper: bool| {
        let mut c = String::from(
            "#include <stdio.h>\nstatic const char first[] __asm__(\"l_first\") = \"one\";\n",
        );
        if second {
            c += "static const char second[] __asm__(\"l_second\") = \"two\";\n";
        }
        if helper {
            c += "int helper(void) { return 7; }\n";
        }
        c += if second {
            "int main(void) { printf(\"%s %s\\n\", first, second); return 0; }\n"
        } else {
            // (printf either way: a lone "%s\n" would become puts, a new import.)
            "int main(void) { printf(\"%s %s\\n\", first, \"-\"); return 0; }\n"
        };
        c
    };
    let main = s.compile("main", &src(true, false));
    s.link(&out, &[&main], &[]);
    assert_eq!(run_ok(&out), "one two\n");
    let names = symbol_names(&out);
    assert!(!names.iter().any(|n| n.starts_with("l_")), "{names:?}");

    // A label dropped: updated, tables left alone.
    s.compile("main", &src(false, false));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert!(!said(&o, "symbol tables rewritten"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "one -\n");
    assert_eq!(symbol_names(&out), names);
    verify(&out);

    // And added back.
    s.compile("main", &src(true, false));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert!(!said(&o, "symbol tables rewritten"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "one two\n");
    assert_eq!(symbol_names(&out), names);
    verify(&out);

    // A new function is a new symbol: the tables are written again, and
    // list what a fresh link of the same object lists.
    s.compile("main", &src(false, true));
    let o = s.link(&out, &[&main], &[]);
    updated(&o);
    assert!(said(&o, "symbol tables rewritten"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "one -\n");
    let fresh = s.dir.join("fresh");
    s.fresh_link(&fresh, &[&main]);
    assert_eq!(symbol_names(&out), symbol_names(&fresh));
    verify(&out);
}

/// A function whose bytes and relocations stay the same but whose callee
/// is another symbol (at the same index of the object's symbol table: the
/// old callee is no longer referenced, the new one sorts in its place) is
/// rewritten; its unchanged neighbour is left as it is. An update leaves
/// only atoms whose replay hash, which names targets by name, is the same.
/// The full link records no hashes, so the first update rewrites the whole
/// object: the step back is the one that compares them (with targets
/// hashed by symbol index it printed 42).
fn a_callee_renamed_at_the_same_symbol_index_is_rewritten(t: Target) {
    let s = Scenario::new(t, "renamed-callee");
    let lib = s.compile(
        "lib",
        "int aaa(void) { return 1; }\nint bbb(void) { return 2; }\n",
    );
    let main_src = |callee: &str| {
        format!(
            r#"#include <stdio.h>
int {callee}(void);
__attribute__((noinline)) int x(void) {{ return {callee}(); }}
__attribute__((noinline)) int y(void) {{ return 40; }}
int main(void) {{
    printf("%d\n", x() + y());
    return 0;
}}
"#
        )
    };
    let main = s.compile("main", &main_src("aaa"));
    let out = s.out();
    s.link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "41\n");
    s.compile("main", &main_src("bbb"));
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "42\n");
    verify(&out);
    s.compile("main", &main_src("aaa"));
    let o = s.link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "41\n");
}

/// An edit loop on one function of an object with many: each update's
/// journal holds the output's patches and the bytes of the delta that
/// changed, not the whole delta, whether the function stays in its slot,
/// moves to a body behind a trampoline, or moves back (a field whose
/// encoded length changed used to shift the rest of the delta, which was
/// then journaled whole: 92 KB for a 500-function object).
fn an_edit_loop_journals_only_what_changed(t: Target) {
    let s = Scenario::new(t, "journal_size");
    let main = s.compile("main", MAIN);
    let others: String = (0..150)
        .map(|i| format!("int h{i}(int x) {{ return x * {} + {i}; }}\n", i % 5 + 2))
        .collect();
    let lib_with = |f: &str| format!("{others}{}", lib(f));
    let lib_o = s.compile("lib", &lib_with(&f_body(1)));
    let out = s.out();
    s.link(&out, &[&main, &lib_o], &[]);
    for (step, n) in [2, 40, 3, 41, 4, 40].into_iter().enumerate() {
        s.compile("lib", &lib_with(&f_body(n)));
        let o = s.link(&out, &[&main, &lib_o], &[]);
        updated(&o);
        assert!(run_ok(&out).starts_with("f="), "{}", o.stderr_str());
        // (The first update has no delta file to patch: it writes it whole.)
        if step > 0 {
            // The journal's sealed length follows its 8-byte mark.
            let journal = std::fs::read(s.dir.join("prog.machlink-journal")).unwrap();
            let journaled = u64::from_le_bytes(journal[8..16].try_into().unwrap());
            let whole = std::fs::metadata(s.dir.join("prog.machlink-delta"))
                .unwrap()
                .len();
            assert!(
                journaled * 4 < whole,
                "step {step} (f of {n} statements): {journaled} bytes journaled for a {whole}-byte delta; {}",
                o.stderr_str()
            );
        }
    }
    verify(&out);
}

/// One test per target for each scenario: `incremental::x86_64::NAME` and
/// `incremental::arm64::NAME`.
macro_rules! for_each_target {
    ($($scenario:ident),* $(,)?) => {
        mod x86_64 {
            $(#[test]
            fn $scenario() {
                super::$scenario(testkit::Target::X86_64)
            })*
        }
        mod arm64 {
            $(#[test]
            fn $scenario() {
                super::$scenario(testkit::Target::Arm64)
            })*
        }
    };
}

for_each_target!(
    functions_are_updated_in_place_moved_behind_trampolines_and_moved_back,
    literals_and_data_are_patched_and_pointers_rebased,
    functions_are_deleted_and_added_back_with_the_symbol_table_rewritten,
    arrays_that_outgrow_their_room_move_and_every_reference_follows,
    calls_to_new_libsystem_functions_get_stubs_and_binds_in_headroom,
    thread_local_variables_are_added_in_reserved_room,
    a_new_weak_winner_falls_back_with_its_reason_and_new_commons_update,
    unchanged_inputs_leave_the_output_alone_and_other_changes_relink_with_a_reason,
    an_interrupted_update_is_finished_by_the_next_run,
    signed_outputs_are_patched_on_a_copy_with_their_touched_pages_rehashed,
    signed_outputs_on_a_filesystem_with_clones_are_patched_on_a_clone,
    stubs_stay_aligned_after_a_last_function_of_any_size,
    the_debug_map_follows_updates,
    a_body_moved_into_a_removed_neighbours_slot_verifies,
    a_callee_renamed_at_the_same_symbol_index_is_rewritten,
    a_link_map_is_never_left_describing_an_older_image,
    linker_private_labels_come_and_go_without_a_symbol_table_rewrite,
    hard_links_at_new_paths_are_the_same_input,
    renamed_objects_fill_the_string_room_and_the_tables_are_packed,
    debug_map_groups_follow_renamed_objects,
    an_edit_loop_journals_only_what_changed,
);
