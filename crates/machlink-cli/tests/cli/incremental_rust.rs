//! Incremental relinking in the edit–build loops of Rust and C (issue #15):
//!
//! - cargo with incremental compilation and machlink `-incremental` as the
//!   linker: rustc deletes the output before it links, passes `symbols.o`
//!   from a fresh temporary directory and renames the codegen-unit objects
//!   it recompiles; `-dead_strip` is always on. Every one-line edit, and a
//!   function moved from one module (codegen unit) to another, must be an
//!   update. Each output runs under macho-run, plain and slid, like a fresh
//!   link of the same inputs (made by a wrapper around machlink while
//!   rustc's temporaries exist), a caught panic included; it is also held
//!   to the semantic diff against that link and to `machlink verify`.
//! - C programs under macho-run, on both targets: `-dead_strip` with
//!   `-incremental`, a function moved between two objects that change
//!   together (its address kept), and clang compiling and linking in one
//!   step (objects at new temporary paths on every run).

use crate::incremental::{address_of, said, verify};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{
    compile_with_for, incremental_command_for, incremental_line, macho_run, macho_run_with, run_ok,
};
use testkit::semantic_diff::{compare_files, Allow, Category};
use testkit::{capture, require_tool, workspace_bin, Outcome, Target};

/// The cargo project: a binary with a few modules, no dependencies.
/// `scale` is `#[no_mangle]` so that moving it between modules moves one
/// symbol between codegen units.
const MAIN_RS: &str = r#"mod shapes;
mod stats;
mod text;

fn main() {
    let areas = shapes::areas(7);
    let s = stats::summary(&areas);
    println!("{}", text::report("areas", &s));
    // A panic unwound through the updated image's tables and caught.
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(|| text::checked(&s));
    println!("checked: {:?}", caught.map_err(|_| "panicked"));
}
"#;

const SHAPES_RS: &str = r#"pub fn areas(n: u32) -> Vec<f64> {
    (1..=n).map(|i| square(i as f64) + circle(i as f64)).collect()
}

pub fn square(s: f64) -> f64 {
    s * s
}

pub fn circle(r: f64) -> f64 {
    3.0 * r * r
}

#[no_mangle]
pub extern "C" fn scale(x: f64) -> f64 {
    x * 2.0
}
"#;

const STATS_RS: &str = r#"pub struct Summary {
    pub count: usize,
    pub total: f64,
    pub max: f64,
}

pub fn summary(v: &[f64]) -> Summary {
    Summary {
        count: v.len(),
        total: crate::shapes::scale(v.iter().sum()),
        max: v.iter().cloned().fold(0.0, f64::max),
    }
}
"#;

const TEXT_RS: &str = r#"use crate::stats::Summary;

pub fn checked(s: &Summary) -> usize {
    let _guard = Noisy("dropped while unwinding");
    if s.total > 100.0 {
        panic!("total {} too large", s.total);
    }
    s.count
}

struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            println!("{}", self.0);
        }
    }
}

pub fn report(name: &str, s: &Summary) -> String {
    format!("{name}: {} values, total {:.1}, max {:.1}", s.count, s.total, s.max)
}
"#;

/// What an updated output may have that a fresh link of the same inputs
/// has not, and why that does not change what the program means.
const UPDATE_ALLOW: &[Allow] = &[
    Allow {
        category: Category::Data,
        subject: "literal pool chunk *",
        ours: "*",
        reference: "*",
        reason: "an update places a new literal (`3.25`) in the section's reserve and leaves \
                 the old one where it was: literals are shared by content across objects and \
                 an update never frees them. Every use of a literal is still compared, by \
                 content, in the code category",
    },
    Allow {
        category: Category::Fixups,
        subject: "*",
        ours: "*__TEXT,__const+0x*",
        reference: "*__TEXT,__const+0x*",
        reason: "rustc's string pieces and panic locations in __TEXT,__const have no symbols, \
                 so the diff names them by their offset in the section, which is layout: an \
                 update frees an edited constant's room where it was and places the new one \
                 in the reserve, a fresh link packs them in input order",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*__TEXT,__const+0x*",
        reference: "*__TEXT,__const+0x*",
        reason: "the same unnamed constants (see the fixups rule), reached by RIP-relative \
                 operands",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "* ... ; *",
        reference: "* ... ; *",
        reason: "several local functions of one name (rustc's `Debug::fmt` shims), listed \
                 together and cut short by the report: their operands reach the unnamed \
                 constants of the rules above",
    },
    Allow {
        category: Category::Data,
        subject: "*",
        ours: "*__TEXT,__const+0x*",
        reference: "*__TEXT,__const+0x*",
        reason: "pointers to the unnamed constants of the fixups rule",
    },
    Allow {
        category: Category::Data,
        subject: "__TEXT,__const",
        ours: "*",
        reference: "*",
        reason: "the unnamed constants themselves, compared by offset (layout): an update \
                 leaves an edited one's old room as zero bytes",
    },
    Allow {
        category: Category::Sections,
        subject: "* size",
        ours: "*",
        reference: "*",
        reason: "a section's size is layout: an update fills a grown function's slot headroom \
                 or places new atoms after the last one, a fresh link gives every atom a slot of \
                 its new size plus headroom",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*(outside sections: image+0x*",
        reference: "*(outside sections: image+0x*",
        reason: "bytes past a function's last instruction (rustc's jump tables and padding in \
                 __text) that llvm-objdump decodes as instructions: their `operands` are data, \
                 and a function placed elsewhere reads as a different address",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*`(end)`",
        reference: "*`brk\t#0x1`",
        reason: "arm64 trap fill after a function's last instruction: a function that grew into \
                 its slot's headroom ends where the fresh link's slot still has padding",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*`(end)`",
        reference: "*`.long\t0x*`",
        reason: "bytes after the last function of __text (the section's reserve) that \
                 llvm-objdump shows as data words: layout, not code",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*`brk\t#0x1`",
        reference: "*`(end)`",
        reason: "arm64 trap fill after a function: a new function placed at the end of \
                 __text's used part is followed by the trapping rest of the section's reserve",
    },
    Allow {
        category: Category::Code,
        subject: "*",
        ours: "*",
        reference: "*[__TEXT,__const+0x*",
        reason: "an unnamed constant (see the fixups rule) that the update placed after the \
                 section's last named one, so the diff names it after that symbol in ours and \
                 by its section offset in the fresh link",
    },
    Allow {
        category: Category::Unwind,
        subject: "eh_frame FDE for *",
        ours: "present",
        reference: "(none)",
        reason: "the FDE a moved or removed function leaves in __eh_frame: an update gives it a \
                 pc_range of 0, so no unwinder's search finds it (the rows of every function \
                 are compared in the unwind category)",
    },
    Allow {
        category: Category::Unwind,
        subject: ".Lfunc_end*",
        ours: "*",
        reference: "*",
        reason: "an assembler label just past a function: what starts there (padding, a \
                 moved body, the next function) is layout",
    },
];

/// The linker cargo runs: machlink as asked (its stderr appended to
/// `LOG`), then, while rustc's temporaries still exist, a fresh link of
/// the same arguments into `OUT.fresh` (its state removed first, so it is
/// a full link with the same options).
fn wrapper_script(machlink: &Path, log: &Path) -> String {
    format!(
        r#"#!/bin/sh
"{ml}" "$@" 2>>"{log}" || exit $?
next=0
out=
for a in "$@"; do
  shift
  if [ "$next" = 1 ]; then out="$a.fresh"; set -- "$@" "$out"; next=0; continue; fi
  [ "$a" = -o ] && next=1
  set -- "$@" "$a"
done
rm -f "$out".machlink-*
exec "{ml}" "$@" 2>>"{log}.fresh"
"#,
        ml = machlink.display(),
        log = log.display()
    )
}

/// A cargo project for `triple` linked through [`wrapper_script`], with
/// incremental compilation and `-incremental -v` (and `-dead_strip`, which
/// rustc always passes).
struct CargoProject {
    dir: PathBuf,
    triple: &'static str,
    log: PathBuf,
}

impl CargoProject {
    fn new(target: Target) -> CargoProject {
        let triple = match target {
            Target::X86_64 => "x86_64-apple-darwin",
            Target::Arm64 => "aarch64-apple-darwin",
        };
        let work = testkit::scratch_dir(&format!("incremental_rust/cargo-{}", target.arch()));
        let sdk = crate::toolchains::rust_sdk(&work);
        let dir = work.join("edits");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join(".cargo")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"edits\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n\n[workspace]\n",
        )
        .unwrap();
        let log = work.join("link.log");
        let wrapper = work.join("machlink-and-fresh");
        std::fs::write(&wrapper, wrapper_script(&workspace_bin("machlink"), &log)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            dir.join(".cargo/config.toml"),
            format!(
                "[target.{triple}]\n\
                 linker = {:?}\n\
                 rustflags = [\"-C\", \"linker-flavor=ld64.lld\", \"-C\", \
                 \"link-arg=-incremental\", \"-C\", \"link-arg=-v\"]\n\
                 \n\
                 [env]\n\
                 SDKROOT = {:?}\n",
                wrapper.display().to_string(),
                sdk.display().to_string()
            ),
        )
        .unwrap();
        for (name, src) in [
            ("main.rs", MAIN_RS),
            ("shapes.rs", SHAPES_RS),
            ("stats.rs", STATS_RS),
            ("text.rs", TEXT_RS),
        ] {
            std::fs::write(dir.join("src").join(name), src).unwrap();
        }
        CargoProject { dir, triple, log }
    }

    /// Replaces `old` with `new` in src/FILE (the edit must apply).
    fn edit(&self, file: &str, old: &str, new: &str) {
        let path = self.dir.join("src").join(file);
        let src = std::fs::read_to_string(&path).unwrap();
        assert!(src.contains(old), "{file} has no `{old}`");
        std::fs::write(&path, src.replacen(old, new, 1)).unwrap();
    }

    /// `cargo build` (debug, incremental compilation); returns the `-v`
    /// line of its link, which must have happened.
    fn build(&self) -> String {
        let _ = std::fs::remove_file(&self.log);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let o = capture(
            Command::new(cargo)
                .current_dir(&self.dir)
                .env("CARGO_INCREMENTAL", "1")
                .env("CARGO_TARGET_DIR", self.dir.join("target"))
                // The outer `cargo test` must not leak its own settings in.
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .env_remove("CARGO_BUILD_TARGET")
                .env_remove("CARGO_BUILD_RUSTFLAGS")
                .args(["build", "--offline", "--target", self.triple]),
        );
        assert_eq!(o.code, 0, "cargo build: {}", o.stderr_str());
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let line = log
            .lines()
            .find(|l| l.starts_with("machlink: incremental: "))
            .unwrap_or_else(|| panic!("cargo did not link (no -v line):\n{log}"))
            .to_string();
        line
    }

    fn output(&self) -> PathBuf {
        self.dir
            .join("target")
            .join(self.triple)
            .join("debug/deps")
            .join(self.binary_name())
    }

    /// rustc's output in deps/ (`edits-HASH`, the file without a dot).
    fn binary_name(&self) -> String {
        let deps = self.dir.join("target").join(self.triple).join("debug/deps");
        std::fs::read_dir(&deps)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("edits-") && !n.contains('.'))
            .unwrap_or_else(|| panic!("no edits-HASH in {}", deps.display()))
    }

    /// The output passes `machlink verify` and means what a fresh link of
    /// the same inputs means.
    fn check(&self, step: &str, line: &str) {
        let out = self.output();
        verify(&out);
        let mut fresh = out.clone().into_os_string();
        fresh.push(".fresh");
        self.runs_like(step, &out, Path::new(&fresh));
        let cmp = compare_files(&out, Path::new(&fresh))
            .unwrap_or_else(|e| panic!("{step}: cannot compare: {e}"));
        let unexplained: Vec<_> = cmp
            .unexplained(UPDATE_ALLOW)
            .into_iter()
            .filter(|d| !appended_after(d))
            .collect();
        assert!(
            unexplained.is_empty(),
            "{step}: the output differs from a fresh link of the same inputs ({line}):\n{}",
            unexplained
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl CargoProject {
    /// The updated output prints, plain and slid, what the fresh link of
    /// the same inputs prints (the panic included: unwinding goes through
    /// the updated `__unwind_info`, `__eh_frame` and LSDAs).
    fn runs_like(&self, step: &str, out: &Path, fresh: &Path) {
        let expected = macho_run(fresh);
        assert_eq!(
            expected.code,
            0,
            "{step}: the fresh link does not run: {}",
            expected.stderr_str()
        );
        assert!(
            expected
                .stdout_str()
                .contains("dropped while unwinding\nchecked: Err(\"panicked\")"),
            "{step}: the program did not panic and catch it: {}",
            expected.stdout_str()
        );
        for env in [&[][..], &[("MACHO_RUN_FORCE_SLIDE", "1")][..]] {
            let got = macho_run_with(out, env);
            assert_eq!(
                (got.code, got.stdout_str()),
                (expected.code, expected.stdout_str()),
                "{step}: the update runs unlike a fresh link ({env:?}): {}",
                got.stderr_str()
            );
        }
    }
}

/// A data symbol that runs longer in the update than in the fresh link:
/// the update placed new unnamed constants after it (in its section's
/// reserve), and the diff counts bytes up to the next symbol as its own.
fn appended_after(d: &testkit::semantic_diff::Difference) -> bool {
    let total = |v: &str| -> Option<u32> {
        let rest = v.strip_prefix("line ")?;
        let (_, after) = rest.split_once(" of ")?;
        after.split(':').next()?.trim().parse().ok()
    };
    d.category == Category::Data
        && matches!((total(&d.ours), total(&d.reference)), (Some(o), Some(r)) if o > r)
}

/// The edit–build loop: a first build links in full (keeping every atom
/// under `-dead_strip`, said once), then each edit is an update although
/// rustc deleted the output and passed new temporary paths, and the move
/// of `scale` from `shapes` to `stats` keeps its address.
fn cargo_edit_build_loop_updates(target: Target) {
    crate::verify::rust_darwin_target();
    let p = CargoProject::new(target);
    let line = p.build();
    assert!(
        line.contains("full link") && line.contains("-dead_strip keeps every atom"),
        "{line}"
    );
    p.check("first build", &line);
    let scale = address_of(&p.output(), "_scale");
    let edits: [(&str, &str, &str, &str); 4] = [
        ("a constant", "shapes.rs", "3.0 * r * r", "3.25 * r * r"),
        (
            "a format string",
            "text.rs",
            "total {:.1}",
            "sum of all {:.1}",
        ),
        ("a function body", "shapes.rs", "s * s\n", "s * s + 1.0\n"),
        ("main", "main.rs", "areas(7)", "areas(9)"),
    ];
    let mut updates = 0;
    for (what, file, old, new) in edits {
        p.edit(file, old, new);
        let line = p.build();
        assert!(
            line.contains("the output was deleted since the last link; its image was kept"),
            "editing {what}: the deleted output must be brought back: {line}"
        );
        p.check(what, &line);
        assert!(
            line.contains("updated"),
            "editing {what}: expected an update: {line}"
        );
        updates += 1;
        assert_eq!(address_of(&p.output(), "_scale"), scale, "{what}");
    }
    // `scale` moves from the shapes codegen unit to the stats one.
    p.edit(
        "shapes.rs",
        "#[no_mangle]\npub extern \"C\" fn scale(x: f64) -> f64 {\n    x * 2.0\n}\n",
        "",
    );
    p.edit(
        "stats.rs",
        "pub struct Summary",
        "#[no_mangle]\npub extern \"C\" fn scale(x: f64) -> f64 {\n    x * 2.0\n}\n\npub struct Summary",
    );
    p.edit("stats.rs", "crate::shapes::scale", "scale");
    let line = p.build();
    assert!(
        line.contains("updated") && line.contains("definitions moved between objects"),
        "moving scale between codegen units: {line}"
    );
    updates += 1;
    assert_eq!(
        address_of(&p.output(), "_scale"),
        scale,
        "a function moved between objects keeps its address"
    );
    p.check("move", &line);
    assert_eq!(updates, 5, "every edit is an update");
    eprintln!(
        "cargo edit-build loop ({}): {updates} of 5 edits were updates",
        p.triple
    );
}

/// A C program whose dead code `-dead_strip` would remove: under
/// `-incremental` it is kept (said once), and an edit that calls it again
/// is an update that runs like a fresh `-dead_strip` link.
fn dead_strip_is_kept_and_updated(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental_rust/dead-strip-{}", target.arch()));
    let out = dir.join("prog");
    let fresh = dir.join("fresh");
    let main = |call: &str| {
        format!(
            "#include <stdio.h>\nint used(int);\nint unused(int);\n\
             int main(void) {{ printf(\"%d\\n\", {call}); return 0; }}\n"
        )
    };
    let lib = "int unused(int x) { return x * 7; }\nint used(int x) { return x + 1; }\n";
    let objs = [
        compile_with_for(target, &dir, "main", &main("used(4)"), &["-O1"]),
        compile_with_for(target, &dir, "lib", lib, &["-O1"]),
    ];
    let link = |extra: &[&str]| -> Outcome {
        let o = capture(
            incremental_command_for(target, &out)
                .arg("-dead_strip")
                .args(extra)
                .args(&objs),
        );
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        o
    };
    let o = link(&[]);
    let line = incremental_line(&o);
    assert!(
        line.contains("-dead_strip keeps every atom under -incremental"),
        "{line}"
    );
    assert_eq!(run_ok(&out), "5\n");
    let unused = address_of(&out, "_unused");
    compile_with_for(target, &dir, "main", &main("unused(4) + used(1)"), &["-O1"]);
    let o = link(&[]);
    let line = incremental_line(&o);
    assert!(said(&o, "updated 1 object(s)"), "{line}");
    assert!(
        !line.contains("-dead_strip"),
        "said once, by the full link: {line}"
    );
    verify(&out);
    testkit::check(
        testkit::machlink_command_for(target, &fresh)
            .arg("-dead_strip")
            .args(&objs),
    );
    assert_eq!(run_ok(&out), run_ok(&fresh));
    assert_eq!(run_ok(&out), "30\n");
    assert_eq!(address_of(&out, "_unused"), unused);
}

/// Two objects that change together while a function moves from one to
/// the other (as rustc re-partitions codegen units): an update, with the
/// function at its old address, running like a fresh link.
fn a_function_moved_between_objects_keeps_its_address(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental_rust/moved-{}", target.arch()));
    let out = dir.join("prog");
    let fresh = dir.join("fresh");
    let a1 = "int g(int);\nint f(int x) { return x * 3 + 1; }\nint h(int x) { return g(x) - 1; }\n";
    let b1 = "#include <stdio.h>\nint f(int);\nint h(int);\n\
              int g(int x) { return f(x) + 2; }\n\
              int main(void) { printf(\"%d %d\\n\", g(5), h(2)); return 0; }\n";
    // f moves to b.o (and grows); a.o now calls it.
    let a2 = "int g(int);\nint f(int);\nint h(int x) { return g(x) - f(1); }\n";
    let b2 = "#include <stdio.h>\nint h(int);\n\
              int f(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x + 7; return s; }\n\
              int g(int x) { return f(x) + 2; }\n\
              int main(void) { printf(\"%d %d\\n\", g(5), h(2)); return 0; }\n";
    let flags = ["-O1", "-fno-inline"];
    let build = |a: &str, b: &str| {
        [
            compile_with_for(target, &dir, "a", a, &flags),
            compile_with_for(target, &dir, "b", b, &flags),
        ]
    };
    let objs = build(a1, b1);
    let link = || -> Outcome {
        let o = capture(
            incremental_command_for(target, &out)
                .arg("-dead_strip")
                .args(&objs),
        );
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        o
    };
    link();
    assert_eq!(run_ok(&out), "18 8\n");
    let f = address_of(&out, "_f");
    build(a2, b2);
    let o = link();
    let line = incremental_line(&o);
    assert!(
        said(&o, "updated 2 object(s)") && line.contains("1 definitions moved between objects"),
        "{line}"
    );
    verify(&out);
    assert_eq!(address_of(&out, "_f"), f, "f keeps its address: {line}");
    testkit::check(testkit::machlink_command_for(target, &fresh).args(&objs));
    assert_eq!(run_ok(&out), run_ok(&fresh));
}

/// `clang a.c b.c -o prog` compiles to temporaries with new names on every
/// run (`/tmp/a-1b2c3d.o`) and links them: an unchanged program leaves the
/// output alone, an edit is an update reading the edited object from its
/// new temporary path, and the output runs like a fresh link.
fn clang_one_step_builds_update(target: Target) {
    let dir = testkit::scratch_dir(&format!("incremental_rust/clang-{}", target.arch()));
    let out = dir.join("prog");
    let (a, b) = (dir.join("a.c"), dir.join("b.c"));
    let clang_target = match target {
        Target::X86_64 => "x86_64-apple-macos13",
        Target::Arm64 => "arm64-apple-macos13",
    };
    // The temporaries go to a directory of the test's own. (No headers:
    // clang-19 has no macOS SDK headers here, so printf is declared.)
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let clang = |output: &Path, extra: &[&str]| -> Outcome {
        let o = capture(
            Command::new(require_tool("clang-19"))
                .env("TMPDIR", &tmp)
                .args(["-target", clang_target, "-O1", "-isysroot"])
                .arg(testkit::sdk_root())
                .arg(format!("--ld-path={}", workspace_bin("machlink").display()))
                .args(extra)
                .args([&a, &b])
                .arg("-o")
                .arg(output),
        );
        assert_eq!(o.code, 0, "clang: {}", o.stderr_str());
        o
    };
    let inc = ["-Wl,-incremental", "-Wl,-v", "-Wl,-dead_strip"];
    std::fs::write(&a, "int twice(int x) { return 2 * x; }\n").unwrap();
    let main = |n: u32| {
        format!(
            "int printf(const char *, ...);\nint twice(int);\n\
             int main(void) {{ printf(\"%d\\n\", twice({n})); return 0; }}\n"
        )
    };
    std::fs::write(&b, main(20)).unwrap();
    let o = clang(&out, &inc);
    assert!(
        incremental_line(&o).contains("full link"),
        "{}",
        o.stderr_str()
    );
    assert_eq!(run_ok(&out), "40\n");
    let o = clang(&out, &inc);
    assert!(
        incremental_line(&o).contains("nothing changed"),
        "the same objects at new temporary paths: {}",
        o.stderr_str()
    );
    std::fs::write(&a, "int twice(int x) { return 2 * x + 1; }\n").unwrap();
    let o = clang(&out, &inc);
    assert!(said(&o, "updated 1 object(s)"), "{}", o.stderr_str());
    verify(&out);
    let fresh = dir.join("fresh");
    clang(&fresh, &["-Wl,-dead_strip"]);
    assert_eq!(run_ok(&out), run_ok(&fresh));
    assert_eq!(run_ok(&out), "41\n");
    // Nothing of theirs is left in the temporary directory, and nothing
    // of ours points there: the state matched them by content alone.
    assert!(std::fs::read_dir(&tmp).unwrap().next().is_none());
}

mod x86_64 {
    use super::*;

    #[test]
    fn cargo_edit_build_loop_updates() {
        super::cargo_edit_build_loop_updates(Target::X86_64);
    }

    #[test]
    fn dead_strip_is_kept_and_updated() {
        super::dead_strip_is_kept_and_updated(Target::X86_64);
    }

    #[test]
    fn a_function_moved_between_objects_keeps_its_address() {
        super::a_function_moved_between_objects_keeps_its_address(Target::X86_64);
    }

    #[test]
    fn clang_one_step_builds_update() {
        super::clang_one_step_builds_update(Target::X86_64);
    }
}

mod arm64 {
    use super::*;

    #[test]
    fn cargo_edit_build_loop_updates() {
        super::cargo_edit_build_loop_updates(Target::Arm64);
    }

    #[test]
    fn dead_strip_is_kept_and_updated() {
        super::dead_strip_is_kept_and_updated(Target::Arm64);
    }

    #[test]
    fn a_function_moved_between_objects_keeps_its_address() {
        super::a_function_moved_between_objects_keeps_its_address(Target::Arm64);
    }

    #[test]
    fn clang_one_step_builds_update() {
        super::clang_one_step_builds_update(Target::Arm64);
    }
}
