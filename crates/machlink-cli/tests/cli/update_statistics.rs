//! What `-v` and `-print_statistics` say of arm64 incremental updates: the
//! counts of the `-v` line (atoms in place, moved, added, removed,
//! trampolines, new imports) against what each edit did and what the
//! image shows (the slot's trampoline, `machlink verify`'s count), its
//! bytes and patches against the bytes that changed in the file, and the
//! update's phase table.

use std::path::{Path, PathBuf};
use testkit::cli::{compile_with_for, incremental_line, machlink_verify, run_ok};
use testkit::{capture, Outcome, Target};

/// The compiler's defaults: on arm64 every function here with a stack
/// frame gets an FDE in `__eh_frame`, which the updates replay too (FDEs
/// are not counted as atoms).
const CFLAGS: &[&str] = &["-O1"];

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int g(int);
int (*saved)(int) = f;
int main(void) {
    printf("f=%d g=%d same=%d\n", f(3), g(4), saved == f);
    return 0;
}
"#;

/// f with about `n` statements, then g (which says hello through puts,
/// a new import, when `puts` is set).
fn lib(n: usize, puts: bool) -> String {
    // (noinline: an edit of f changes f alone, not a copy of it in g)
    let mut s = String::from(
        "#include <stdio.h>\n__attribute__((noinline)) int f(int x) { volatile int s = x;",
    );
    for i in 0..n {
        s.push_str(&format!(" s = s * {} + {i};", i % 7 + 2));
    }
    s.push_str(" return s; }\n");
    // g keeps a frame (it calls f) with or without puts, so its DWARF
    // unwind record keeps its CIE.
    if puts {
        s.push_str("int g(int x) { puts(\"hello from g\"); return f(x) + 1; }\n");
    } else {
        s.push_str("int g(int x) { return f(x) + 1; }\n");
    }
    s
}

/// The counts of an update's `-v` line, in its order.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    objects: u64,
    in_place: u64,
    moved: u64,
    added: u64,
    removed: u64,
    trampolines: u64,
    imports: u64,
}

/// The `-v` line of an update: its counts, and its bytes and patches.
fn parse(line: &str) -> (Counts, u64, u64) {
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .filter(|w| !w.is_empty() && !w.contains('.'))
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(
        line.starts_with("machlink: incremental: updated ") && n.len() >= 9,
        "not an update: {line}"
    );
    let counts = Counts {
        objects: n[0],
        in_place: n[1],
        moved: n[2],
        added: n[3],
        removed: n[4],
        trampolines: n[5],
        imports: n[6],
    };
    (counts, n[7], n[8])
}

struct Program {
    dir: PathBuf,
    main: PathBuf,
    exe: PathBuf,
}

impl Program {
    fn link(&self, lib: &Path, extra: &[&str]) -> Outcome {
        let o = capture(
            testkit::machlink_command_for(Target::Arm64, &self.exe)
                .args(["-incremental", "-v"])
                .args(extra)
                .arg(&self.main)
                .arg(lib),
        );
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        o
    }

    /// Recompiles lib.o, updates the image and checks the `-v` counts, and
    /// that every byte that changed in the file lies in what the update
    /// says it wrote. Returns the bytes and patches it reported.
    fn update(&self, src: &str, want: Counts) -> (u64, u64) {
        let before = std::fs::read(&self.exe).unwrap();
        let lib = compile_with_for(Target::Arm64, &self.dir, "lib", src, CFLAGS);
        let o = self.link(&lib, &[]);
        let (counts, bytes, patches) = parse(&incremental_line(&o));
        assert_eq!(counts, want, "{}", incremental_line(&o));
        let after = std::fs::read(&self.exe).unwrap();
        assert_eq!(before.len(), after.len(), "an update keeps the file's size");
        let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count() as u64;
        assert!(
            changed > 0 && changed <= bytes && patches > 0 && patches <= bytes,
            "{changed} bytes changed, the update says {bytes} bytes in {patches} patches"
        );
        // Invariant 7: the update writes what changed (code, its tables,
        // the hashes of the touched pages), not the program.
        assert!(
            bytes < after.len() as u64 / 16,
            "{bytes} bytes written of {}",
            after.len()
        );
        (bytes, patches)
    }

    /// The image passes `machlink verify`; its trampoline count.
    fn trampolines(&self) -> u64 {
        let o = machlink_verify(&self.exe);
        assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
        let out = o.stdout_str();
        out.split(" trampolines")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{out}"))
    }

    /// What the image prints equals what a fresh link of the same objects
    /// prints.
    fn runs_like_a_fresh_link(&self) -> String {
        let fresh = self.dir.join("fresh");
        testkit::check(
            testkit::machlink_command_for(Target::Arm64, &fresh)
                .arg(&self.main)
                .arg(self.dir.join("lib.o")),
        );
        let out = run_ok(&self.exe);
        assert_eq!(out, run_ok(&fresh));
        out
    }
}

/// The first word of f's slot is a `b` (the trampoline the update wrote).
fn slot_holds_a_b(exe: &Path) -> bool {
    let dis = testkit::cli::tool("llvm-objdump-19", &["--macho", "-d"], exe);
    let mut lines = dis.lines().skip_while(|l| *l != "_f:");
    lines.next();
    lines.next().is_some_and(|l| l.contains("\tb\t"))
}

fn lib_f(n: usize) -> String {
    lib(n, false)
}

fn counts(in_place: u64, moved: u64, trampolines: u64, imports: u64) -> Counts {
    Counts {
        objects: 1,
        in_place,
        moved,
        added: 0,
        removed: 0,
        trampolines,
        imports,
    }
}

#[test]
fn arm64_update_statistics_count_what_each_update_did() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    let dir = testkit::scratch_dir("update-statistics/arm64");
    let p = Program {
        main: compile_with_for(Target::Arm64, &dir, "main", MAIN, CFLAGS),
        exe: dir.join("prog"),
        dir: dir.clone(),
    };
    let lib_o = compile_with_for(Target::Arm64, &dir, "lib", &lib(1, false), CFLAGS);
    let o = p.link(&lib_o, &[]);
    assert!(
        incremental_line(&o).contains("full link: first link"),
        "{}",
        o.stderr_str()
    );
    assert!(p.runs_like_a_fresh_link().contains("same=1"));

    // f edited within its slot: one atom in place, nothing else.
    p.update(&lib_f(2), counts(1, 0, 0, 0));
    assert_eq!(p.trampolines(), 0);
    p.runs_like_a_fresh_link();

    // f outgrows its slot: moved, one trampoline, which the slot holds
    // and verify counts.
    p.update(&lib_f(60), counts(0, 1, 1, 0));
    assert!(slot_holds_a_b(&p.exe));
    assert_eq!(p.trampolines(), 1);
    p.runs_like_a_fresh_link();

    // Grown again: moved again, the one trampoline rewritten (no chain).
    p.update(&lib_f(150), counts(0, 1, 1, 0));
    assert_eq!(p.trampolines(), 1);
    p.runs_like_a_fresh_link();

    // g now calls puts: a new import (a stub and GOT entry in reserve),
    // a new string literal, and g outgrows its slot too.
    let want = Counts {
        added: 1,
        ..counts(0, 1, 1, 1)
    };
    let (bytes, patches) = p.update(&lib(150, true), want);
    assert!(
        patches >= 4,
        "g, its trampoline, the literal, the stub: {bytes} in {patches}"
    );
    assert_eq!(p.trampolines(), 2);
    assert!(p.runs_like_a_fresh_link().contains("hello from g"));

    // -print_statistics times an update's steps on stderr.
    std::thread::sleep(std::time::Duration::from_millis(10));
    let lib_o = compile_with_for(Target::Arm64, &dir, "lib", &lib(3, true), CFLAGS);
    let o = p.link(&lib_o, &["-print_statistics"]);
    assert!(
        incremental_line(&o).contains("updated 1 object(s)"),
        "{}",
        o.stderr_str()
    );
    check_phase_table(&o.stderr_str());
    p.runs_like_a_fresh_link();
}

/// The phase table of an update: its steps, each timed, and a total that
/// is their sum.
fn check_phase_table(stderr: &str) {
    let table: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("phase"))
        .collect();
    let ms = |name: &str| -> f64 {
        let row = table
            .iter()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in:\n{stderr}"));
        row.split_whitespace()
            .rev()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let steps = [
        "map output",
        "replay objects",
        "unwind info",
        "journal and patch",
    ];
    let sum: f64 = steps.iter().map(|s| ms(s)).sum();
    let total = ms("total");
    assert!(
        total > 0.0 && sum <= total + 0.01,
        "{sum} > {total}:\n{stderr}"
    );
}
