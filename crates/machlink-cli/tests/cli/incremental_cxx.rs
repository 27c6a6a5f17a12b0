//! Incremental updates of C++ objects with weak definitions, on both
//! targets: inline functions and template instantiations that several
//! objects define (exported weak definitions dyld coalesces, or hidden
//! ones the link coalesces), a type info thrown and caught across
//! objects. Each step edits one or more objects; after it the output runs
//! under macho-run like a fresh link of the same objects, passes `machlink
//! verify`, and its unwind rows match the fresh link's.
//!
//! The objects are linked `main.o a.o b.o`: `a.o`'s copies of the shared
//! weak definitions win, `b.o`'s are coalesced away.

use std::path::{Path, PathBuf};
use testkit::cli::incremental_line;
use testkit::unwind::check_update_like_fresh;
use testkit::{capture, Outcome, Target};

/// Shared by every object: an inline function, a template, and an
/// exception type whose type info is a weak definition. `a.o` and `b.o`
/// take the address of `bump` and of `scale`'s instantiations (`via`), so
/// that their copies are exported weak definitions, not ones the link may
/// hide; `twist` is one the link hides (`.weak_def_can_be_hidden`), also
/// coalesced between the two.
fn header(template_k: i32) -> String {
    format!(
        "#include <cstdio>\n\
         struct Oops {{ int code; }};\n\
         __attribute__((noinline)) inline int bump(int x) {{ \
         if (x < 0) throw Oops{{x}}; return x + 1; }}\n\
         template <class T> __attribute__((noinline)) T scale(T x) {{ \
         if (x > T(100000)) throw Oops{{int(x % 1000)}}; return x * T({template_k}); }}\n\
         __attribute__((noinline)) inline int twist(int x) {{ return x ^ 1; }}\n\
         template <class T> inline T via(T x) {{ T (*volatile f)(T) = &scale<T>; return f(x); }}\n\
         int from_a(int); int from_b(int); int grown(int);\n"
    )
}

const MAIN: &str = "int main() {\n\
    std::printf(\"%d %d\\n\", from_a(3), from_b(4));\n\
    try { from_a(-7); } catch (Oops o) { std::printf(\"caught %d\\n\", o.code); }\n\
    try { from_b(200000); } catch (Oops o) { std::printf(\"caught %d\\n\", o.code); }\n\
    std::printf(\"%d %d\\n\", from_a(10), grown(4));\n\
    return 0; }\n";

fn a_src(k: i32, extra: &str) -> String {
    format!(
        "__attribute__((noinline)) int from_a(int x) {{ int (*volatile b)(int) = &bump; \
         return via(b(x)) + {k} + twist({k}) - ({k} ^ 1); }}\n{extra}"
    )
}

fn b_src(k: i32) -> String {
    format!(
        "__attribute__((noinline)) int from_b(int x) {{ int (*volatile b)(int) = &bump; \
         return via(x) + b(twist({k}) ^ 1); }}\n"
    )
}

/// What a step's link must say under `-v`.
enum Expect {
    /// An update of this many objects.
    Update(usize),
    /// A full link, for this reason (what the update cannot do yet).
    FullLink(&'static str),
}

struct Step {
    what: &'static str,
    template_k: i32,
    a: String,
    b: String,
    expect: Expect,
    ends: &'static str,
}

fn compile(target: Target, dir: &Path, name: &str, src: &str) -> PathBuf {
    let src_path = dir.join(format!("{name}.cpp"));
    let o = dir.join(format!("{name}.o"));
    // Rewrite only what changed: an unchanged object must stay unchanged.
    if std::fs::read_to_string(&src_path).ok().as_deref() != Some(src) {
        std::fs::write(&src_path, src).unwrap();
        testkit::compile_cxx_macos_for(target, &src_path, &o, &["-O1"]);
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

fn cxx_weak(target: Target) {
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    }
    let dir = testkit::scratch_dir(&format!("incremental-cxx-weak/{}", target.arch()));
    let runtime = testkit::cxx_runtime(target);
    // `bump` and `scale<int>` through the slots the image has for them
    // (their addresses were taken before).
    let grown_try = "int grown(int x) { int (*volatile b)(int) = &bump; int s = 0; \
        for (int i = 0; i < x; i++) { \
        try { s += b(-i - 1); } catch (Oops o) { s += o.code * 3; } \
        try { s += via(i * 200000); } catch (Oops o) { s -= o.code; } } return s; }\n";
    let direct_call =
        "int grown(int x) { try { return bump(-x); } catch (Oops o) { return 9; } }\n";
    let steps = [
        Step {
            what: "first link",
            template_k: 2,
            a: a_src(1, "int grown(int x) { return x; }\n"),
            b: b_src(1),
            expect: Expect::Update(0),
            ends: "9 10\ncaught -7\ncaught 0\n23 4\n",
        },
        Step {
            what: "a non-inline function of the object whose weak copies win",
            template_k: 2,
            a: a_src(5, "int grown(int x) { return x; }\n"),
            b: b_src(1),
            expect: Expect::Update(1),
            ends: "13 10\ncaught -7\ncaught 0\n27 4\n",
        },
        Step {
            what: "a non-inline function of the object whose weak copies are coalesced away",
            template_k: 2,
            a: a_src(5, "int grown(int x) { return x; }\n"),
            b: b_src(9),
            expect: Expect::Update(1),
            ends: "13 18\ncaught -7\ncaught 0\n27 4\n",
        },
        Step {
            what: "a new function in the object whose weak copies are coalesced away (its \
                   symbols are written again)",
            template_k: 2,
            a: a_src(5, "int grown(int x) { return x; }\n"),
            b: format!("{}int spare(int x) {{ return twist(x) * 2; }}\n", b_src(9)),
            expect: Expect::Update(1),
            ends: "13 18\ncaught -7\ncaught 0\n27 4\n",
        },
        Step {
            what: "the template's body (both objects instantiating it)",
            template_k: 3,
            a: a_src(5, "int grown(int x) { return x; }\n"),
            b: b_src(9),
            expect: Expect::Update(2),
            ends: "17 22\ncaught -7\ncaught 0\n38 4\n",
        },
        Step {
            what: "a function grows a try/catch calling the weak definitions",
            template_k: 3,
            a: a_src(5, grown_try),
            b: b_src(9),
            expect: Expect::Update(1),
            ends: "17 22\ncaught -7\ncaught 0\n38 -30\n",
        },
        Step {
            what: "a first direct call of a weak definition (a new stub)",
            template_k: 3,
            a: a_src(5, direct_call),
            b: b_src(9),
            expect: Expect::FullLink(
                "__Z4bumpi is a weak definition dyld coalesces, reached through a stub",
            ),
            ends: "17 22\ncaught -7\ncaught 0\n38 9\n",
        },
        Step {
            what: "a new instantiation of the template",
            template_k: 3,
            a: a_src(
                5,
                &format!("{grown_try}long wide(long x) {{ return via(x); }}\n"),
            ),
            b: b_src(9),
            expect: Expect::FullLink("is a new weak definition dyld coalesces"),
            ends: "17 22\ncaught -7\ncaught 0\n38 -30\n",
        },
    ];
    let funcs = [
        "_main",
        "__Z6from_ai",
        "__Z6from_bi",
        "__Z4bumpi",
        "__Z5scaleIiET_S0_",
        "__Z5growni",
        "__Z5twisti",
    ];
    let (out, fresh) = (dir.join("prog"), dir.join("fresh"));
    for (i, step) in steps.iter().enumerate() {
        let ctx = format!("{} step {i} ({})", target.arch(), step.what);
        let h = header(step.template_k);
        let objs: Vec<PathBuf> = [
            compile(target, &dir, "main", &format!("{h}{MAIN}")),
            compile(target, &dir, "a", &format!("{h}{}", step.a)),
            compile(target, &dir, "b", &format!("{h}{}", step.b)),
        ]
        .into_iter()
        .chain(runtime.iter().cloned())
        .collect();
        let o = link(target, &out, &objs, true);
        let line = incremental_line(&o);
        match step.expect {
            _ if i == 0 => assert!(line.contains("full link: first link"), "{ctx}: {line}"),
            Expect::Update(n) => assert!(
                line.contains(&format!("updated {n} object(s)")),
                "{ctx}: not an update of {n}: {}",
                o.stderr_str()
            ),
            Expect::FullLink(why) => assert!(
                line.contains("full link") && line.contains(why),
                "{ctx}: not a full link because {why:?}: {}",
                o.stderr_str()
            ),
        }
        link(target, &fresh, &objs, false);
        check_update_like_fresh(&ctx, target, &out, &fresh, &funcs, |s| s == step.ends);
    }
}

#[test]
fn x86_64_cxx_weak_definitions_update() {
    cxx_weak(Target::X86_64);
}

#[test]
fn arm64_cxx_weak_definitions_update() {
    cxx_weak(Target::Arm64);
}
