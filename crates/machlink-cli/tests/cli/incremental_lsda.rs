//! Incremental updates of objects with exception tables, on both targets:
//! functions with a personality and an LSDA (C `-fexceptions` with
//! `__attribute__((cleanup))`, whose personality is
//! `___gcc_personality_v0`, and C++ `try`/`catch`, `___gxx_personality_v0`
//! with type infos), in `__unwind_info` (compact rows, the personality
//! array, the LSDA index) and in `__eh_frame` (FDEs with an LSDA pointer,
//! CIEs with a personality).
//!
//! Each step edits the library object (a function gains or loses its
//! LSDA, changes personality, grows and moves with its LSDA, or its LSDA
//! grows) and must be an update, not a full link. After it, the output
//! runs like a fresh link of the same objects, passes `machlink verify`,
//! and each function's unwind row names the fresh link's personality (by
//! the symbol its GOT slot holds) and an LSDA with the fresh link's
//! contents (`testkit::unwind::check_unwind`); a moved function's
//! trampoline has no LSDA. The C++ program throws through `f` and `g`
//! (a C cleanup runs, a C++ handler catches) under macho-run's unwinder,
//! which reads the updated tables.

use std::path::{Path, PathBuf};
use testkit::cli::incremental_line;
use testkit::unwind::{check_update_like_fresh, UnwindTables};
use testkit::{capture, Outcome, Target};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    C,
    Cxx,
}

fn compile(target: Target, dir: &Path, name: &str, lang: Lang, src: &str) -> PathBuf {
    let (ext, o) = match lang {
        Lang::C => ("c", dir.join(format!("{name}.o"))),
        Lang::Cxx => ("cpp", dir.join(format!("{name}.o"))),
    };
    let src_path = dir.join(format!("{name}.{ext}"));
    std::fs::write(&src_path, src).unwrap();
    match lang {
        Lang::C => testkit::compile_macos_for(target, &src_path, &o, &["-O1", "-fexceptions"]),
        Lang::Cxx => testkit::compile_cxx_macos_for(target, &src_path, &o, &["-O1"]),
    }
    o
}

fn link(target: Target, out: &Path, objs: &[PathBuf], incremental: bool) -> Outcome {
    let mut cmd = testkit::machlink_command_for(target, out);
    if incremental {
        cmd.args(["-incremental", "-v"]);
    }
    let o = capture(cmd.args(objs));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o
}

/// One edit of the library: what it does, its language and source,
/// whether `f` has an LSDA after it, and what the program's output ends
/// with (where exceptions were thrown and caught).
struct Step {
    what: &'static str,
    lang: Lang,
    src: String,
    f_lsda: bool,
    ends: &'static str,
}

/// Links the first version incrementally, then applies each step as an
/// update and checks it against a fresh link. `runtime` follows the
/// objects on every command line (archives).
fn run_steps(
    target: Target,
    dir: &Path,
    main: &Path,
    runtime: &[PathBuf],
    funcs: &[&str],
    steps: &[Step],
) {
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let objs = |lib: &Path| {
        let mut v = vec![main.to_path_buf(), lib.to_path_buf()];
        v.extend(runtime.iter().cloned());
        v
    };
    let (out, fresh) = (dir.join("prog"), dir.join("fresh"));
    let mut moved = false;
    for (i, step) in steps.iter().enumerate() {
        let ctx = format!("{} step {i} ({})", target.arch(), step.what);
        let lib = compile(target, dir, "lib", step.lang, &step.src);
        let o = link(target, &out, &objs(&lib), true);
        let line = incremental_line(&o);
        if i == 0 {
            assert!(line.contains("full link: first link"), "{ctx}: {line}");
        } else {
            assert!(
                line.contains("updated 1 object(s)"),
                "{ctx}: not an update: {}",
                o.stderr_str()
            );
        }
        link(target, &fresh, &objs(&lib), false);
        check_update_like_fresh(&ctx, target, &out, &fresh, funcs, |s| {
            s.ends_with(step.ends)
        });
        let t = UnwindTables::read(target, &out);
        let body = t.body("_f");
        moved |= body != t.addr("_f");
        let (start, _) = t.row(body);
        assert_eq!(
            t.row_lsda(start).is_some(),
            step.f_lsda,
            "{ctx}: f's row and its LSDA"
        );
    }
    assert!(moved, "{}: no step moved f", target.arch());
}

/// `f` with a cleanup around `calls` calls of `ext` (an LSDA with a call
/// site per call), or without one.
fn c_f(cleanup: bool, calls: usize, k: u32) -> String {
    let var = if cleanup {
        "int s __attribute__((cleanup(done))) = x;"
    } else {
        "int s = x;"
    };
    let mut body = String::new();
    for i in 0..calls {
        body.push_str(&format!(" ext(s + {i});"));
    }
    format!("int f(int x) {{ {var}{body} return s + {k}; }}\n")
}

const C_PRELUDE: &str = "#include <stdio.h>\nvoid ext(int);\n\
    static void done(int *p) { printf(\"done %d\\n\", *p); }\n";

/// `g`, plain or with a cleanup; `h` with `n` nested cleanups (a larger
/// LSDA as `n` grows).
fn c_lib(f: &str, g_cleanup: bool, h_cleanups: usize) -> String {
    let g = if g_cleanup {
        "int g(int x) { int t __attribute__((cleanup(done))) = x * 2; ext(t); return t; }\n"
    } else {
        "int g(int x) { ext(x); return x * 2; }\n"
    };
    let mut h = String::from("int h(int x) {");
    for i in 0..h_cleanups {
        h.push_str(&format!(
            " int v{i} __attribute__((cleanup(done))) = x + {i}; ext(v{i});"
        ));
    }
    h.push_str(" return x; }\n");
    format!("{C_PRELUDE}{f}{g}{h}")
}

const C_MAIN: &str = "#include <stdio.h>\nint f(int);\nint g(int);\nint h(int);\n\
    void ext(int x) { printf(\"ext %d\\n\", x); }\n\
    int main(void) { printf(\"%d\\n\", f(2)); printf(\"%d\\n\", g(3)); \
    printf(\"%d\\n\", h(4)); return 0; }\n";

fn c_cleanups(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental-lsda-c/{}", target.arch()));
    let main = compile(target, &dir, "main", Lang::C, C_MAIN);
    let step = |what, src, f_lsda| Step {
        what,
        lang: Lang::C,
        src,
        f_lsda,
        ends: "",
    };
    let steps = [
        step(
            "first link: no cleanups",
            c_lib(&c_f(false, 1, 1), false, 0),
            false,
        ),
        step(
            "f and h gain the image's first cleanups: a new personality import, the first \
             LSDAs and FDEs (in the sections an incremental link reserves empty)",
            c_lib(&c_f(true, 1, 1), false, 1),
            true,
        ),
        step("edit f in place", c_lib(&c_f(true, 1, 2), false, 1), true),
        step(
            "grow f: it moves, its LSDA follows",
            c_lib(&c_f(true, 12, 2), false, 1),
            true,
        ),
        step(
            "g gains a cleanup (and an LSDA)",
            c_lib(&c_f(true, 12, 2), true, 1),
            true,
        ),
        step(
            "f loses its cleanup (and its LSDA)",
            c_lib(&c_f(false, 12, 3), true, 1),
            false,
        ),
        step("h's LSDA grows", c_lib(&c_f(false, 12, 3), true, 4), false),
        step(
            "f gains its cleanup back, larger",
            c_lib(&c_f(true, 20, 4), true, 4),
            true,
        ),
        step("h shrinks", c_lib(&c_f(true, 20, 4), true, 1), true),
    ];
    run_steps(
        target,
        &dir,
        &main,
        &[],
        &["_f", "_g", "_h", "_main"],
        &steps,
    );
}

#[test]
fn x86_64_c_cleanups_update_personality_and_lsda_rows() {
    c_cleanups(Target::X86_64);
}

#[test]
fn arm64_c_cleanups_update_personality_and_lsda_rows() {
    c_cleanups(Target::Arm64);
}

/// The C++ program: `guarded` catches an `int` (so the image has
/// `___gxx_personality_v0` and `__ZTIi`), `ext` throws one past 1000.
/// `main` has `f` and `g` throw through their frames: a C `f` runs its
/// cleanup (its LSDA and the C personality), a C++ one catches.
const CXX_MAIN: &str = "#include <cstdio>\n\
    extern \"C\" int f(int); extern \"C\" int g(int);\n\
    extern \"C\" void ext(int x) { std::printf(\"ext %d\\n\", x); if (x > 1000) throw x; }\n\
    int guarded(int x) { try { return f(x); } catch (int e) { return e; } }\n\
    int guarded_g(int x) { try { return g(x); } catch (int e) { return -e; } }\n\
    int main() { std::printf(\"%d %d\\n\", guarded(1), g(2)); \
    std::printf(\"%d\\n\", guarded(5000)); std::printf(\"%d\\n\", guarded_g(3000)); \
    return 0; }\n";

/// A C++ `f` that calls `ext` `calls` times in a `try`, catching an `int`
/// and, with `all`, anything else.
fn cxx_f(calls: usize, all: bool, k: u32) -> String {
    let mut body = String::new();
    for i in 0..calls {
        body.push_str(&format!(" ext(x + {i});"));
    }
    let rest = if all {
        " catch (...) { return -1; }"
    } else {
        ""
    };
    format!(
        "extern \"C\" int f(int x) {{ try {{{body} }} catch (int e) {{ return e + 1; }}{rest} \
         return x + {k}; }}\n"
    )
}

fn cxx_lib(f: &str, g_catches: bool) -> String {
    let g = if g_catches {
        "extern \"C\" int g(int x) { try { ext(x); } catch (int e) { return e; } return x * 3; }\n"
    } else {
        "extern \"C\" int g(int x) { ext(x); return x * 3; }\n"
    };
    format!("extern \"C\" void ext(int);\n{f}{g}")
}

fn cxx_exceptions(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental-lsda-cxx/{}", target.arch()));
    let main = compile(target, &dir, "main", Lang::Cxx, CXX_MAIN);
    let c = |what, src, f_lsda, ends| Step {
        what,
        lang: Lang::C,
        src,
        f_lsda,
        ends,
    };
    let cxx = |what, src, f_lsda, ends| Step {
        what,
        lang: Lang::Cxx,
        src,
        f_lsda,
        ends,
    };
    let c_g = "int g(int x) { ext(x); return x * 3; }\n";
    let steps = [
        c(
            "first link: f in C with a cleanup",
            format!("{C_PRELUDE}{}{c_g}", c_f(true, 1, 1)),
            true,
            "ext 5000\ndone 5000\n5000\next 3000\n-3000\n",
        ),
        cxx(
            "f in C++: its personality changes",
            cxx_lib(&cxx_f(1, false, 1), false),
            true,
            "ext 5000\n5001\next 3000\n-3000\n",
        ),
        cxx(
            "f grows and catches anything: it moves, its LSDA grows",
            cxx_lib(&cxx_f(12, true, 1), false),
            true,
            "ext 5000\n5001\next 3000\n-3000\n",
        ),
        cxx(
            "g gains a try (an LSDA with a type info)",
            cxx_lib(&cxx_f(12, true, 2), true),
            true,
            "ext 5000\n5001\next 3000\n3000\n",
        ),
        cxx(
            "g also catches a long: a type info the image defines, now reached through the \
             GOT (a new slot)",
            format!(
                "extern \"C\" void ext(int);\n{}extern \"C\" int g(int x) {{ try {{ ext(x); }} \
                 catch (long l) {{ return 7; }} catch (int e) {{ return e; }} return x * 3; }}\n",
                cxx_f(12, true, 2)
            ),
            true,
            "ext 5000\n5001\next 3000\n3000\n",
        ),
        cxx(
            "f loses its try (and its LSDA)",
            cxx_lib(
                "extern \"C\" int f(int x) { ext(x); return x + 5; }\n",
                true,
            ),
            false,
            "ext 5000\n5000\next 3000\n3000\n",
        ),
        c(
            "back to C: f's cleanup has the C personality again",
            format!("{C_PRELUDE}{}{c_g}", c_f(true, 3, 6)),
            true,
            "ext 5000\ndone 5000\n5000\next 3000\n-3000\n",
        ),
    ];
    let runtime = testkit::cxx_runtime(target);
    let funcs = [
        "_f",
        "_g",
        "_main",
        "__Z7guardedi",
        "__Z9guarded_gi",
        "_ext",
    ];
    run_steps(target, &dir, &main, &runtime, &funcs, &steps);
}

#[test]
fn x86_64_cxx_exception_tables_update_with_their_functions() {
    cxx_exceptions(Target::X86_64);
}

#[test]
fn arm64_cxx_exception_tables_update_with_their_functions() {
    cxx_exceptions(Target::Arm64);
}
