//! Incremental relinking (issue #4): the driver (state, change detection,
//! lock, fallbacks with their reasons) and the update scenarios, each run
//! under macho-run before and after the update and checked with
//! `machlink verify`.

use object::{Object, ObjectSection, ObjectSymbol};
use std::path::Path;
use std::process::Command;
use testkit::cli::{
    compile, compile_with, incremental_command, incremental_line, interrupted, machlink_verify,
    macho_run, macho_run_with, run_ok,
};
use testkit::{capture, Outcome};

fn link(out: &Path, objs: &[&Path], extra: &[&str]) -> Outcome {
    let o = capture(incremental_command(out).args(extra).args(objs));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o
}

fn said(o: &Outcome, what: &str) -> bool {
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
fn verify(exe: &Path) -> String {
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

/// A function's address, and where the `jmp rel32` in its slot leads (None
/// when the slot holds its body).
fn slot_of(exe: &Path, sym: &str) -> (u64, Option<u64>) {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let s = file
        .symbols()
        .find(|s| s.name() == Ok(sym))
        .unwrap_or_else(|| panic!("{sym} not in the symbol table"));
    let addr = s.address();
    let text = file.section_by_name("__text").unwrap();
    let code = &text.data().unwrap()[(addr - text.address()) as usize..];
    let target = (code[0] == 0xe9).then(|| {
        let d = i32::from_le_bytes(code[1..5].try_into().unwrap());
        (addr as i64 + 5 + i64::from(d)) as u64
    });
    (addr, target)
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

#[test]
fn functions_are_updated_in_place_moved_behind_trampolines_and_moved_back() {
    let dir = testkit::scratch_dir("incremental/functions");
    let main = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(&f_body(1)));
    let out = dir.join("prog");
    let o = link(&out, &[&main, &lib_o], &[]);
    assert!(said(&o, "full link: first link (no output yet)"));
    let first = run_ok(&out);
    let at = first.split("at=").nth(1).unwrap().to_string();
    let (f_addr, none) = slot_of(&out, "_f");
    assert_eq!(none, None);

    // Edit in place: same size class, new behaviour, same address.
    compile(&dir, "lib", &lib(&f_body(2)));
    let o = link(&out, &[&main, &lib_o], &["-print_statistics"]);
    updated(&o);
    assert!(said(&o, "1 atoms in place, 0 moved"), "{}", o.stderr_str());
    // Unsigned: patched where it is, so nothing is cloned or copied.
    assert!(said(&o, "written in place"), "{}", o.stderr_str());
    let table = o.stderr_str();
    assert!(
        table.contains("patch and sync")
            && !table.contains("clone output")
            && !table.contains("copy output"),
        "{table}"
    );
    let second = run_ok(&out);
    assert_ne!(first, second);
    assert!(second.ends_with(&at), "&f moved: {second}");
    verify(&out);

    // Grow past the slot: a trampoline at f's address leads to the body.
    compile(&dir, "lib", &lib(&f_body(40)));
    let o = link(&out, &[&main, &lib_o], &[]);
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
    compile(&dir, "lib", &lib(&f_body(120)));
    let o = link(&out, &[&main, &lib_o], &[]);
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
    compile(&dir, "lib", &g_big);
    let o = link(&out, &[&main, &lib_o], &[]);
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
    compile(&dir, "lib", &lib(&f_body(1)));
    let o = link(&out, &[&main, &lib_o], &[]);
    updated(&o);
    assert_eq!(slot_of(&out, "_f"), (f_addr, None));
    assert_eq!(run_ok(&out), first);
    verify(&out);

    // The updated image behaves like a fresh link of the same objects.
    let fresh = dir.join("fresh");
    testkit::check(testkit::machlink_command(&fresh).arg(&main).arg(&lib_o));
    assert_eq!(
        run_ok(&fresh).split(" at=").next(),
        run_ok(&out).split(" at=").next()
    );
}

#[test]
fn literals_and_data_are_patched_and_pointers_rebased() {
    let dir = testkit::scratch_dir("incremental/data");
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
    let main = compile(&dir, "main", &main_src("hello", "1, 2, 3, 4"));
    let out = dir.join("prog");
    link(&out, &[&main], &[]);
    assert_eq!(run_ok(&out), "hello 10\n");

    // Only a string literal changes: a new literal in __cstring's reserve,
    // and the pointer to it rebased in place.
    compile(&dir, "main", &main_src("bonjour", "1, 2, 3, 4"));
    let o = link(&out, &[&main], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "bonjour 10\n");
    verify(&out);
    // Slid, the rebased pointer still finds the new literal.
    let o = run_slid(&out);
    assert_eq!(o.stdout_str(), "bonjour 10\n", "slid");

    // Data edited in place.
    compile(&dir, "main", &main_src("bonjour", "10, 20, 30, 40"));
    let o = link(&out, &[&main], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "bonjour 100\n");

    // Back to a literal the image already has: merged with that copy.
    compile(&dir, "main", &main_src("hello", "10, 20, 30, 40"));
    let o = link(&out, &[&main], &[]);
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

#[test]
fn functions_are_deleted_and_added_back_with_the_symbol_table_rewritten() {
    let dir = testkit::scratch_dir("incremental/symbols");
    let out = dir.join("prog");
    let main = compile(&dir, "main", PRINT_VALUE);
    let with_helper = "int helper(int x) { return x * 2; }\n__attribute__((noinline)) static int twice(int x) { return helper(x) + helper(x); }\nint value(void) { volatile int x = 3; return twice(x); }\n";
    let lib = compile(&dir, "lib", with_helper);
    link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "12\n");
    assert!(has_symbol(&out, "_helper"));
    let value_at = slot_of(&out, "_value").0;

    // Deleted: its slot is freed, its symbol and export are gone.
    compile(
        &dir,
        "lib",
        "int value(void) { volatile int x = 3; return x * 5; }\n",
    );
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "removed"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "15\n");
    assert!(!has_symbol(&out, "_helper") && !has_symbol(&out, "_twice"));
    assert_eq!(slot_of(&out, "_value").0, value_at);
    verify(&out);

    // Added back: new slots from the free list or the reserve.
    compile(&dir, "lib", with_helper);
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "added"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "12\n");
    assert!(has_symbol(&out, "_helper") && has_symbol(&out, "_twice"));
    verify(&out);
    let tables = objdump(&out, &["--syms", "--exports-trie", "--indirect-symbols"]);
    assert!(tables.contains("_helper"));

    // A function removed while another object still calls it: the same
    // undefined-symbol error as a full link.
    let caller = compile(
        &dir,
        "caller",
        "int helper(int);\nint call_helper(void) { return helper(1); }\n",
    );
    link(&out, &[&main, &lib, &caller], &[]);
    compile(&dir, "lib", "int value(void) { return 4; }\n");
    let o = capture(incremental_command(&out).args([&main, &lib, &caller]));
    assert_eq!(o.code, 1);
    assert!(
        o.stderr_str().contains("undefined symbol: _helper") && o.stderr_str().contains("caller.o"),
        "{}",
        o.stderr_str()
    );
}

#[test]
fn arrays_that_outgrow_their_room_move_and_every_reference_follows() {
    let dir = testkit::scratch_dir("incremental/data-moves");
    let out = dir.join("prog");
    // main.o refers to lib.o's table three ways: a RIP-relative load, an
    // address taken in code, and a pointer stored in data (a rebase).
    let main = compile(
        &dir,
        "main",
        r#"#include <stdio.h>
extern int table[];
extern int table_len;
int *stored = table;
int value(void);
int main(void) {
    int s = 0;
    for (int i = 0; i < table_len; i++) s += table[i];
    int *p = table;
    printf("%d %d %d %d\n", s, stored == p, stored[table_len - 1], value());
    return 0;
}
"#,
    );
    let lib_src = |n: usize| {
        let values: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        format!(
            "int table[{n}] = {{{}}};\nint table_len = {n};\nstatic volatile int local[{n}] = {{1}};\nint value(void) {{ int s = 0; for (int i = 0; i < {n}; i++) s += local[i] + i; return s; }}\n",
            values.join(", ")
        )
    };
    let lib = compile(&dir, "lib", &lib_src(4));
    link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "10 1 4 7\n");
    for n in [40, 400] {
        compile(&dir, "lib", &lib_src(n));
        let o = link(&out, &[&main, &lib], &[]);
        updated(&o);
        assert!(said(&o, "moved"), "{}", o.stderr_str());
        let sum = n * (n + 1) / 2;
        let local = 1 + n * (n - 1) / 2;
        let expected = format!("{sum} 1 {n} {local}\n");
        assert_eq!(run_ok(&out), expected);
        let slid = run_slid(&out);
        assert_eq!(slid.stdout_str(), expected, "slid");
        verify(&out);
    }
    assert!(has_symbol(&out, "_table"));
}

#[test]
fn calls_to_new_libsystem_functions_get_stubs_and_binds_in_headroom() {
    let dir = testkit::scratch_dir("incremental/imports");
    let out = dir.join("prog");
    let main = compile(&dir, "main", PRINT_VALUE);
    let lib = compile(&dir, "lib", "int value(void) { return 3; }\n");
    link(&out, &[&main, &lib], &[]);
    assert_eq!(run_ok(&out), "3\n");
    compile(
        &dir,
        "lib",
        "#include <stdio.h>\n#include <stdlib.h>\nint value(void) {\n    char buf[16];\n    snprintf(buf, sizeof buf, \"%d\", 40);\n    puts(\"side\");\n    return atoi(buf) + 2;\n}\n",
    );
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "3 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "side\n42\n");
    let slid = run_slid(&out);
    assert_eq!(slid.stdout_str(), "side\n42\n");
    verify(&out);
    let tables = objdump(&out, &["--dyld-info", "--indirect-symbols", "--syms"]);
    for import in ["_atoi", "_puts", "_snprintf"] {
        assert!(
            tables
                .lines()
                .any(|l| l.contains("bind") && l.ends_with(import)),
            "no bind for {import}:\n{tables}"
        );
    }
    // A later edit that uses them again finds them imported.
    compile(
        &dir,
        "lib",
        "#include <stdio.h>\nint value(void) { puts(\"again\"); return 5; }\n",
    );
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "0 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "again\n5\n");

    // The classic format has no room for them: a full link says so.
    compile(&dir, "lib", "int value(void) { return 6; }\n");
    link(&out, &[&main, &lib], &["-no_fixup_chains"]);
    compile(
        &dir,
        "lib",
        "#include <stdio.h>\nint value(void) { puts(\"x\"); return 7; }\n",
    );
    let o = link(&out, &[&main, &lib], &["-no_fixup_chains"]);
    assert!(
        said(&o, "full link") && said(&o, "_puts") && said(&o, "classic"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "x\n7\n");
}

#[test]
fn thread_local_variables_are_added_in_reserved_room() {
    let dir = testkit::scratch_dir("incremental/thread-locals");
    let out = dir.join("prog");
    let main = compile(&dir, "main", PRINT_VALUE);
    // A program's first thread-local variables: their (empty) sections were
    // reserved, and __tlv_bootstrap becomes a new import. Then more of them:
    // descriptors, template space and their binds to __tlv_bootstrap come
    // from reserved room.
    let lib = compile(&dir, "lib", "int value(void) { return 3; }\n");
    link(&out, &[&main, &lib], &[]);
    compile(
        &dir,
        "lib",
        "_Thread_local int counter = 41;\n_Thread_local int bump;\nint value(void) { return ++counter + bump++; }\n",
    );
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert!(said(&o, "1 new imports"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "42\n");
    verify(&out);
    compile(
        &dir,
        "lib",
        "_Thread_local int counter = 99;\n_Thread_local int bump;\n_Thread_local int step = 5;\n_Thread_local long zero;\nint value(void) { zero += 1; return (counter += step) + (int)zero + bump++; }\n",
    );
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "105\n");
    verify(&out);
}

#[test]
fn a_new_weak_winner_falls_back_with_its_reason_and_new_commons_update() {
    let dir = testkit::scratch_dir("incremental/fallbacks");
    let out = dir.join("prog");
    let main = compile(&dir, "main", PRINT_VALUE);
    let weak_a = compile(
        &dir,
        "a",
        "__attribute__((weak)) int value(void) { return 1; }\n",
    );
    let weak_b = compile(
        &dir,
        "b",
        "__attribute__((weak)) int value(void) { return 2; }\n",
    );
    link(&out, &[&main, &weak_a, &weak_b], &[]);
    assert_eq!(run_ok(&out), "1\n");
    // b's definition becomes strong: it now wins.
    compile(&dir, "b", "int value(void) { return 2; }\n");
    let o = link(&out, &[&main, &weak_a, &weak_b], &[]);
    assert!(said(&o, "full link:"), "{}", o.stderr_str());
    assert!(
        said(&o, "b.o"),
        "the reason names the object: {}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "2\n");

    // A new tentative definition (a common): storage from the reserve,
    // recorded like the full link's commons, and a symbol for it.
    let lib = compile(&dir, "lib", "int value(void) { return 3; }\n");
    link(&out, &[&main, &lib], &[]);
    let common = dir.join("common.c");
    std::fs::write(
        &common,
        "int (*hook)(void);\nint counter;\nint value(void) { counter += 2; return hook ? hook() : 6 + counter; }\n",
    )
    .unwrap();
    testkit::compile_macos(&common, &lib, &["-O1", "-fcommon"]);
    let o = link(&out, &[&main, &lib], &[]);
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
    testkit::compile_macos(&common, &lib, &["-O1", "-fcommon"]);
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "9\n");
}

#[test]
fn unchanged_inputs_leave_the_output_alone_and_other_changes_relink_with_a_reason() {
    let dir = testkit::scratch_dir("incremental/driver");
    let main = compile(&dir, "main", PRINT_VALUE);
    let lib = compile(&dir, "lib", "int value(void) { return 1; }\n");
    let out = dir.join("prog");
    let state = dir.join("prog.machlink-state");

    let o = link(&out, &[&main, &lib], &[]);
    assert!(
        said(&o, "full link: first link (no output yet)"),
        "{}",
        o.stderr_str()
    );
    assert!(state.is_file());
    assert_eq!(run_ok(&out), "1\n");
    let written = std::fs::metadata(&out).unwrap().modified().unwrap();

    let o = link(&out, &[&main, &lib], &[]);
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
    let o = link(&out, &[&main, &lib], &[]);
    assert!(said(&o, "nothing changed"), "{}", o.stderr_str());
    assert!(dir.join("prog.machlink-delta").is_file());

    // New contents: an update.
    let lib2 = compile(&dir, "lib2", "int value(void) { return 2; }\n");
    std::fs::copy(&lib2, &lib).unwrap();
    let o = link(&out, &[&main, &lib], &[]);
    updated(&o);
    assert_eq!(run_ok(&out), "2\n");

    // Other options, an output changed behind our back, a broken state.
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the options changed"), "{}", o.stderr_str());
    std::fs::write(&out, b"tampered").unwrap();
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(said(&o, "the output was changed"), "{}", o.stderr_str());
    assert_eq!(run_ok(&out), "2\n");
    std::fs::write(&state, b"not a state").unwrap();
    let o = link(&out, &[&main, &lib], &["-dead_strip"]);
    assert!(
        said(
            &o,
            "full link: the incremental state is damaged: its header is not"
        ),
        "{}",
        o.stderr_str()
    );
    let o = link(&out, &[&lib, &main], &["-dead_strip"]);
    assert!(said(&o, "the list of inputs changed"), "{}", o.stderr_str());
}

#[test]
fn an_interrupted_update_is_finished_by_the_next_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = testkit::scratch_dir("incremental/journal");
    let main = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(&f_body(1)));
    let out = dir.join("prog");
    link(&out, &[&main, &lib_o], &[]);
    let before = run_ok(&out);
    compile(&dir, "lib", &lib(&f_body(40)));

    // The update dies after its first patch (a test hook standing in for
    // a crash or kill -9): the output must not be runnable meanwhile.
    interrupted(
        incremental_command(&out).arg(&main).arg(&lib_o),
        "mid-patch",
    );
    assert!(dir.join("prog.machlink-journal").is_file());
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o111,
        0,
        "a half-patched output must not be executable"
    );

    // The next run finishes it; nothing else changed, so nothing more to do.
    let o = link(&out, &[&main, &lib_o], &[]);
    assert!(
        said(&o, "finished an interrupted update") && said(&o, "nothing changed"),
        "{}",
        o.stderr_str()
    );
    assert!(!dir.join("prog.machlink-journal").exists());
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111);
    let after = run_ok(&out);
    assert_ne!(before, after);
    verify(&out);
    let fresh = dir.join("fresh");
    testkit::check(testkit::machlink_command(&fresh).arg(&main).arg(&lib_o));
    assert_eq!(
        run_ok(&fresh).split(" at=").next(),
        after.split(" at=").next()
    );
}

#[test]
fn signed_outputs_are_patched_on_a_copy_with_their_touched_pages_rehashed() {
    use std::os::unix::fs::MetadataExt;
    let dir = testkit::scratch_dir("incremental/signed");
    let main = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(&f_body(1)));
    let out = dir.join("prog");
    link(&out, &[&main, &lib_o], &["-adhoc_codesign"]);
    testkit::check_adhoc_signature(&std::fs::read(&out).unwrap());
    let inode = std::fs::metadata(&out).unwrap().ino();
    compile(&dir, "lib", &lib(&f_body(40)));
    let o = link(
        &out,
        &[&main, &lib_o],
        &["-adhoc_codesign", "-print_statistics"],
    );
    updated(&o);
    testkit::check_adhoc_signature(&std::fs::read(&out).unwrap());
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

#[test]
fn signed_outputs_on_a_filesystem_with_clones_are_patched_on_a_clone() {
    // A real clone needs a filesystem that has them: an XFS made with
    // reflinks, mounted from a loop file in the scratch directory.
    let fs = testkit::ReflinkMount::new("incremental/signed-clone");
    let dir = fs.dir.clone();
    let main = compile(&dir, "main", MAIN);
    let lib_o = compile(&dir, "lib", &lib(&f_body(1)));
    let out = dir.join("prog");
    link(&out, &[&main, &lib_o], &["-adhoc_codesign"]);
    let before = run_ok(&out);
    for (body, edit) in [(2, "1 atoms in place"), (40, "1 moved")] {
        compile(&dir, "lib", &lib(&f_body(body)));
        let o = link(
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
        testkit::check_adhoc_signature(&std::fs::read(&out).unwrap());
        let after = run_ok(&out);
        assert_ne!(before, after);
        assert_eq!(before.split(" at=").nth(1), after.split(" at=").nth(1));
        verify(&out);
        assert!(!dir.join("prog.machlink-patching").exists());
        assert!(!dir.join("prog.machlink-journal").exists());
    }
    // The clone's result is what a fresh link of the same inputs makes.
    let fresh = dir.join("fresh");
    testkit::check(testkit::machlink_command(&fresh).arg(&main).arg(&lib_o));
    assert_eq!(
        run_ok(&fresh).split(" at=").next(),
        run_ok(&out).split(" at=").next()
    );
}

#[test]
fn concurrent_incremental_links_of_one_output_take_turns() {
    let dir = testkit::scratch_dir("incremental/lock");
    let main = compile(&dir, "main", "int main(void) { return 7; }\n");
    let out = dir.join("prog");
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
    assert!(dir.join("prog.machlink-state").is_file());
}

#[test]
fn the_demo_moves_a_function_behind_a_trampoline_without_a_compiler() {
    // No compiler or SDK on PATH: the demo brings its own objects and stub.
    let o = capture(
        Command::new(testkit::workspace_bin("machlink"))
            .arg("demo")
            .env("PATH", "/nonexistent"),
    );
    let out = o.stdout_str();
    assert_eq!(o.code, 0, "{out}{}", o.stderr_str());
    for expected in [
        "full link: first link (no output yet)",
        "hello, linker\nhello, world\n",
        "updated 1 object(s): 0 atoms in place, 1 moved",
        "is now a 5-byte `jmp` trampoline",
        "hello again, linker (2 vowels)",
        "greet returned 3 in total; &greet is stable: yes",
        "3. `machlink verify`",
        "   ok: ",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

/// After updates, the debug map still leads dsymutil to every object's
/// DWARF (the changed object's new modification time) and names where a
/// moved function's code now is, so the .dSYM verifies and places it there.
#[test]
fn the_debug_map_follows_updates() {
    let dir = testkit::scratch_dir("incremental/debug-map");
    let compile_g = |name: &str, src: &str| compile_with(&dir, name, src, &["-g", "-O1"]);
    let main = compile_g("main", MAIN);
    let lib_o = compile_g("lib", &lib(&f_body(1)));
    let out = dir.join("prog");
    link(&out, &[&main, &lib_o], &[]);
    let dsym = |tag: &str| {
        let d = dir.join(format!("prog-{tag}.dSYM"));
        let o = capture(
            Command::new(testkit::require_tool("dsymutil-19"))
                .arg(&out)
                .arg("-o")
                .arg(&d),
        );
        assert!(
            o.code == 0 && o.stderr.is_empty(),
            "{tag}: dsymutil: {}{}",
            o.stdout_str(),
            o.stderr_str()
        );
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
    updated(&link(&out, &[&main, &lib_o], &[]));
    dsym("in-place");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    compile_g("lib", &lib(&f_body(40)));
    updated(&link(&out, &[&main, &lib_o], &[]));
    let (_, body) = slot_of(&out, "_f");
    let body = body.expect("f moved behind a trampoline");
    let info = dsym("moved");
    assert!(
        info.contains(&format!("DW_AT_low_pc\t(0x{body:016x})")),
        "the dSYM places f at its body {body:#x}:\n{info}"
    );
}
