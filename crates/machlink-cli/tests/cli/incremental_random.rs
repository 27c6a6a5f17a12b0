//! Randomised differential test of incremental relinking (issues #4, #14
//! and #15), for each target: a generated multi-object program is edited
//! step by step (functions grow, shrink, gain and lose calls and cleanups,
//! whose exception tables come and go with them, appear and disappear,
//! and move from one object to another, both objects changing in one step
//! as rustc's codegen units do; data and strings change). Some seeds make
//! one object C++ (linked with zig's libc++ and libc++abi): its functions
//! may `try` a call that throws and catch it at run time, under
//! macho-run's unwinder, and a function moving between it and a C object
//! changes personality (`___gxx_personality_v0` / `___gcc_personality_v0`).
//! Some seeds make another object Rust (rustc's own `#![no_std]` object
//! for the darwin target, with `extern "C"` functions and statics of the
//! same names), so functions move between rustc's and clang's objects.
//! Some seeds link with `-dead_strip`, and some of their functions are
//! reachable only through calls that edits add and remove, so code dead
//! in one step is live in the next. After every step the
//! incrementally relinked binary must print exactly what a fresh full link
//! of the same objects prints under macho-run, plain and slid, `machlink
//! verify` must pass, and an arm64 output's code signature must check;
//! at least half the steps must be updates, and a full link must give one
//! of the documented reasons. Failures name the target, the seed, the
//! step and the edit.
//!
//! The same steps run as a long campaign over ranges of seeds, with a
//! report and a shrinker for divergences: see [`campaign`] and
//! `campaigns/differential.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use testkit::cli::{incremental_command_for, incremental_line, machlink_verify, macho_run_with};
use testkit::{capture, Lcg, Target};

const OBJECTS: usize = 4;
const FUNCTIONS: usize = 6;
/// The object that is C++ in a seed with `cxx`.
const CXX_OBJECT: usize = OBJECTS - 1;
/// The object that is Rust in a seed with `rust`: rustc's own objects
/// (`#![no_std]`, `extern "C"` functions, `-C panic=abort`), with its
/// anonymous constants, `__const` pointer tables and unwind rows.
const RUST_OBJECT: usize = OBJECTS - 2;

/// One seed and what its program and links are like.
#[derive(Clone, Copy)]
struct Seed {
    seed: u64,
    /// Link with `-dead_strip` (fresh and incremental).
    dead_strip: bool,
    /// [`CXX_OBJECT`] is C++ with `try`/`catch`.
    cxx: bool,
    /// [`RUST_OBJECT`] is compiled by rustc.
    rust: bool,
}

const fn seed(seed: u64, dead_strip: bool, cxx: bool) -> Seed {
    Seed {
        seed,
        dead_strip,
        cxx,
        rust: false,
    }
}

/// A seed whose [`RUST_OBJECT`] is Rust.
const fn rust_seed(seed: u64, dead_strip: bool, cxx: bool) -> Seed {
    Seed {
        seed,
        dead_strip,
        cxx,
        rust: true,
    }
}

/// What one target's run covers. Odd seeds link with the classic
/// rebase/bind opcodes (`-no_fixup_chains`), even ones with chained
/// fixups, so each list holds both parities, and `-dead_strip` and C++
/// with each.
struct Plan {
    target: Target,
    seeds: &'static [Seed],
    steps: usize,
    /// The incremental links go to a resident machlink (`--serve`), one
    /// per seed, which keeps each output's session and watches its inputs
    /// between steps.
    served: bool,
}

const X86_64: Plan = Plan {
    target: Target::X86_64,
    seeds: &[
        seed(1, false, true),
        seed(7, true, true),
        seed(42, false, true),
        rust_seed(2028, true, false),
    ],
    steps: 55,
    served: false,
};

/// The x86_64 plan's kinds of program (plain, dead-stripped, C++, Rust)
/// under other seeds, served: a kept session and the inputs' watch must
/// give every step exactly what a process gives.
const SERVED_X86_64: Plan = Plan {
    target: Target::X86_64,
    seeds: &[
        seed(5, false, true),
        seed(12, true, true),
        seed(33, false, false),
        rust_seed(2030, true, false),
    ],
    steps: 50,
    served: true,
};

/// Every arm64 run goes through qemu (three per step), so the arm64 plan
/// is the acceptance minimum: 4 × 50 = 200 steps.
const ARM64: Plan = Plan {
    target: Target::Arm64,
    seeds: &[
        seed(3, true, false),
        seed(8, true, true),
        seed(13, false, true),
        rust_seed(2026, false, false),
    ],
    steps: 50,
    served: false,
};

/// The compiler flags of every object: `-fexceptions`, so that a
/// function with a cleanup gets a personality and an LSDA.
const CFLAGS: &[&str] = &["-O1", "-fexceptions"];

#[derive(Clone, Debug)]
struct Function {
    exists: bool,
    /// The object that defines it (moves change it).
    home: usize,
    salt: u32,
    /// Each op is one statement (see `op_text`).
    ops: Vec<u32>,
    /// Global indexes of callees (always smaller than the caller's).
    calls: Vec<usize>,
    /// Its local has a cleanup (`__attribute__((cleanup))`): with calls
    /// after it, the function gets a personality and an LSDA.
    cleanup: bool,
    /// In the C++ object, it calls `raise_N` in a `try` and catches what
    /// that throws (an `int`, for one value in four). In a C object this
    /// has no effect: a function moving there loses its handler.
    catches: bool,
}

#[derive(Clone, Debug)]
struct Program {
    funcs: Vec<Function>,
    tables: Vec<Vec<i32>>,
    names: Vec<String>,
    /// The links strip dead code: main and the pointer tables leave out
    /// each object's last function ([`Program::internal`]).
    dead_strip: bool,
    cxx: bool,
    rust: bool,
}

fn fname(g: usize) -> String {
    format!("f_{}_{}", g / FUNCTIONS, g % FUNCTIONS)
}

fn op_text(op: u32, o: usize) -> String {
    match op % 4 {
        0 => format!("s = s * {} + {};", op % 13 + 2, op % 1000),
        1 => format!("s ^= s >> {};", op % 11 + 1),
        2 => format!("s += (unsigned)tab_{o}[s % (unsigned)len_{o}];"),
        _ => format!(
            "for (int i = 0; i < {}; i++) s += (unsigned)(i ^ {});",
            op % 5 + 1,
            op % 97
        ),
    }
}

impl Program {
    fn new(rng: &mut Lcg, seed: Seed) -> Program {
        let mut funcs = Vec::new();
        for g in 0..OBJECTS * FUNCTIONS {
            let calls = (0..rng.next_u64() % 3)
                .filter(|_| g > 0)
                .map(|_| (rng.next_u64() % g as u64) as usize)
                .collect();
            funcs.push(Function {
                exists: true,
                home: g / FUNCTIONS,
                salt: (rng.next_u64() % 1000) as u32,
                ops: (0..1 + rng.next_u64() % 4)
                    .map(|_| rng.next_u64() as u32)
                    .collect(),
                calls,
                cleanup: rng.next_u64().is_multiple_of(4),
                catches: rng.next_u64().is_multiple_of(2),
            });
        }
        Program {
            funcs,
            tables: (0..OBJECTS)
                .map(|o| (0..8).map(|i| (o * 10 + i) as i32).collect())
                .collect(),
            names: (0..OBJECTS).map(|o| format!("object {o}")).collect(),
            dead_strip: seed.dead_strip,
            cxx: seed.cxx,
            rust: seed.rust,
        }
    }

    fn is_cxx(&self, o: usize) -> bool {
        self.cxx && o == CXX_OBJECT
    }

    fn is_rust(&self, o: usize) -> bool {
        self.rust && o == RUST_OBJECT
    }

    /// Every source file of the program, named, in link order (the
    /// objects, then main).
    fn sources(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = (0..OBJECTS)
            .map(|o| {
                let ext = if self.is_cxx(o) {
                    "cc"
                } else if self.is_rust(o) {
                    "rs"
                } else {
                    "c"
                };
                (format!("obj{o}.{ext}"), self.object_source(o))
            })
            .collect();
        files.push(("main.c".to_string(), self.main_source()));
        files
    }

    /// Removes function `g` and every call to it (the shrinker's step).
    fn without(&self, g: usize) -> Program {
        let mut p = self.clone();
        p.funcs[g].exists = false;
        for f in p.funcs.iter_mut() {
            f.calls.retain(|&c| c != g);
        }
        p
    }

    /// A function only other functions' calls reach (under `-dead_strip`):
    /// dead while nothing calls it, live again when an edit adds a call.
    fn internal(&self, g: usize) -> bool {
        self.dead_strip && g % FUNCTIONS == FUNCTIONS - 1
    }

    /// The existing functions `o` defines, in order.
    fn defined_in(&self, o: usize) -> Vec<usize> {
        (0..self.funcs.len())
            .filter(|&g| self.funcs[g].exists && self.funcs[g].home == o)
            .collect()
    }

    fn object_source(&self, o: usize) -> String {
        if self.is_rust(o) {
            return self.rust_object_source(o);
        }
        let cxx = self.is_cxx(o);
        // C linkage throughout, so that C objects call the C++ object's
        // functions and main reads its data by the same names.
        let mut s = String::from(if cxx { "extern \"C\" {\n" } else { "" });
        for g in 0..self.funcs.len() {
            if self.funcs[g].exists {
                s.push_str(&format!("int {}(int);\n", fname(g)));
            }
        }
        let t = &self.tables[o];
        s.push_str(&format!(
            "int tab_{o}[{}] = {{{}}};\nint len_{o} = {};\nconst char *name_{o} = \"{}\";\n",
            t.len(),
            t.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            t.len(),
            self.names[o]
        ));
        // What cleanups run and handlers catch adds up here, and main
        // prints it.
        s.push_str(&format!(
            "unsigned cleaned_{o};\nunsigned caught_{o};\nstatic void clean_{o}(volatile unsigned *p) {{ cleaned_{o} += *p & 15; }}\n"
        ));
        if cxx {
            // What the handlers try: a throw from a frame of its own, so
            // the unwinder walks out of it to the catching function.
            // `probe` always catches (main calls it), so the C++ runtime
            // is linked from the first link on whatever moves.
            s.push_str(&format!(
                "__attribute__((noinline)) static unsigned raise_{o}(unsigned v) {{\n    if ((v & 3) == 0) throw (int)(v % 1000);\n    return v + 1;\n}}\n\
                 int probe_{o}(int x) {{\n    try {{ return (int)raise_{o}((unsigned)x); }} catch (int e) {{ caught_{o} += 100; return -e; }}\n}}\n"
            ));
        }
        for g in self.defined_in(o) {
            let func = &self.funcs[g];
            let cleanup = if func.cleanup {
                format!(" __attribute__((cleanup(clean_{o})))")
            } else {
                String::new()
            };
            s.push_str(&format!(
                "int {}(int x) {{\n    volatile unsigned s{cleanup} = (unsigned)x + {};\n",
                fname(g),
                func.salt
            ));
            for &op in &func.ops {
                s.push_str(&format!("    {}\n", op_text(op, o)));
            }
            if cxx && func.catches {
                s.push_str(&format!(
                    "    try {{ s = raise_{o}(s); }} catch (int e) {{ s += (unsigned)e; caught_{o}++; }}\n"
                ));
            }
            for &c in &func.calls {
                s.push_str(&format!("    s += {}(s & 255);\n", fname(c)));
            }
            s.push_str("    return (int)s;\n}\n");
        }
        // Pointers to the object's functions: rebases whose number and
        // places change as functions come and go.
        let mine: Vec<String> = self
            .defined_in(o)
            .into_iter()
            .filter(|&g| !self.internal(g))
            .map(fname)
            .collect();
        s.push_str(&format!(
            "int (*ptrs_{o}[{}])(int) = {{{}}};\nint nptrs_{o} = {};\n",
            mine.len().max(1),
            if mine.is_empty() {
                "0".to_string()
            } else {
                mine.join(", ")
            },
            mine.len()
        ));
        if cxx {
            s.push_str("}\n");
        }
        s
    }

    fn main_source(&self) -> String {
        let mut s = String::from("#include <stdio.h>\n");
        for o in 0..OBJECTS {
            s.push_str(&format!(
                "extern int tab_{o}[];\nextern int len_{o};\nextern const char *name_{o};\nextern int (*ptrs_{o}[])(int);\nextern int nptrs_{o};\nextern unsigned cleaned_{o};\nextern unsigned caught_{o};\n"
            ));
        }
        if self.cxx {
            s.push_str(&format!("int probe_{CXX_OBJECT}(int);\n"));
        }
        for (g, f) in self.funcs.iter().enumerate() {
            if f.exists {
                s.push_str(&format!("int {}(int);\n", fname(g)));
            }
        }
        s.push_str("int main(void) {\n");
        for o in 0..OBJECTS {
            s.push_str(&format!(
                "    {{ int t = 0; for (int i = 0; i < len_{o}; i++) t += tab_{o}[i]; printf(\"%s %d\\n\", name_{o}, t); }}\n    {{ int t = 0; for (int i = 0; i < nptrs_{o}; i++) t += ptrs_{o}[i](3); printf(\"ptrs_{o} %d\\n\", t); }}\n"
            ));
        }
        for (g, f) in self.funcs.iter().enumerate() {
            if f.exists && !self.internal(g) {
                s.push_str(&format!("    printf(\"{0} %d\\n\", {0}(7));\n", fname(g)));
            }
        }
        if self.cxx {
            s.push_str(&format!(
                "    printf(\"probe %d %d\\n\", probe_{CXX_OBJECT}(4), probe_{CXX_OBJECT}(5));\n"
            ));
        }
        for o in 0..OBJECTS {
            s.push_str(&format!(
                "    printf(\"cleaned_{o} %u caught_{o} %u\\n\", cleaned_{o}, caught_{o});\n"
            ));
        }
        s.push_str("    return 0;\n}\n");
        s
    }

    fn existing(&self, rng: &mut Lcg) -> usize {
        loop {
            let g = (rng.next_u64() % self.funcs.len() as u64) as usize;
            if self.funcs[g].exists {
                return g;
            }
        }
    }

    /// Applies one random edit; returns its description and the files it
    /// changed (object indexes; OBJECTS stands for main).
    fn edit(&mut self, rng: &mut Lcg) -> (String, Vec<usize>) {
        let roll = rng.next_u64() % 118;
        let g = self.existing(rng);
        let o = self.funcs[g].home;
        match roll {
            0..=29 => {
                let n = 3 + rng.next_u64() % 10;
                for _ in 0..n {
                    self.funcs[g].ops.push(rng.next_u64() as u32);
                }
                (format!("grow {} by {n} statements", fname(g)), vec![o])
            }
            30..=44 => {
                let keep = 1 + self.funcs[g].ops.len() / 3;
                self.funcs[g].ops.truncate(keep);
                (format!("shrink {} to {keep} statements", fname(g)), vec![o])
            }
            45..=59 => {
                let callees: Vec<usize> = (0..g).filter(|&c| self.funcs[c].exists).collect();
                if callees.is_empty() {
                    return (format!("no callee for {}", fname(g)), vec![]);
                }
                let c = callees[(rng.next_u64() % callees.len() as u64) as usize];
                self.funcs[g].calls.push(c);
                (format!("{} calls {}", fname(g), fname(c)), vec![o])
            }
            60..=64 => {
                let f = &mut self.funcs[g];
                f.cleanup = !f.cleanup;
                let what = if f.cleanup { "gains" } else { "loses" };
                (format!("{} {what} a cleanup", fname(g)), vec![o])
            }
            65..=69 => {
                let f = &mut self.funcs[g];
                if f.calls.is_empty() {
                    f.salt += 1;
                    return (format!("{} changes a constant", fname(g)), vec![o]);
                }
                let c = f
                    .calls
                    .remove((rng.next_u64() % f.calls.len() as u64) as usize);
                (format!("{} stops calling {}", fname(g), fname(c)), vec![o])
            }
            70..=79 => {
                let t = &mut self.tables[o];
                let i = (rng.next_u64() % t.len() as u64) as usize;
                t[i] = (rng.next_u64() % 1000) as i32;
                (format!("tab_{o}[{i}] = {}", t[i]), vec![o])
            }
            80..=84 => {
                self.names[o] = format!("object {o} v{}", rng.next_u64() % 100);
                (format!("name_{o} = \"{}\"", self.names[o]), vec![o])
            }
            85..=87 => {
                let n = 8 + rng.next_u64() % 40;
                for _ in 0..n {
                    self.tables[o].push((rng.next_u64() % 50) as i32);
                }
                (format!("tab_{o} grows by {n}"), vec![o])
            }
            88..=93 => {
                // Remove a function and every call to it.
                self.funcs[g].exists = false;
                let mut changed = vec![o, OBJECTS];
                for f in self.funcs.iter_mut() {
                    if f.calls.contains(&g) {
                        f.calls.retain(|&c| c != g);
                        if f.exists {
                            changed.push(f.home);
                        }
                    }
                }
                changed.sort_unstable();
                changed.dedup();
                (format!("remove {}", fname(g)), changed)
            }
            94..=99 => match self.funcs.iter().position(|f| !f.exists) {
                Some(h) => {
                    self.funcs[h].exists = true;
                    let exists: Vec<bool> = self.funcs.iter().map(|f| f.exists).collect();
                    self.funcs[h].calls.retain(|&c| exists[c]);
                    (
                        format!("add back {}", fname(h)),
                        vec![self.funcs[h].home, OBJECTS],
                    )
                }
                None => {
                    self.funcs[g].salt += 7;
                    (format!("{} changes a constant", fname(g)), vec![o])
                }
            },
            100..=111 => {
                // Half the moves take a function with exception tables
                // (a cleanup, or a handler in the C++ object) along.
                let g = match self.with_tables() {
                    ref w if !w.is_empty() && rng.next_u64().is_multiple_of(2) => {
                        w[(rng.next_u64() % w.len() as u64) as usize]
                    }
                    _ => g,
                };
                let from = self.funcs[g].home;
                let to = (from + 1 + (rng.next_u64() % (OBJECTS as u64 - 1)) as usize) % OBJECTS;
                self.funcs[g].home = to;
                (
                    format!("move {} from obj{from} to obj{to}", fname(g)),
                    vec![from, to],
                )
            }
            _ if !self.cxx => {
                let f = &mut self.funcs[g];
                f.salt += 3;
                (format!("{} changes a constant", fname(g)), vec![o])
            }
            _ => {
                // A handler comes or goes in the C++ object, or a function
                // moves there with one.
                let here = self.defined_in(CXX_OBJECT);
                if here.is_empty() || rng.next_u64().is_multiple_of(4) {
                    let f = &mut self.funcs[g];
                    f.home = CXX_OBJECT;
                    f.catches = true;
                    let mut changed = vec![o, CXX_OBJECT];
                    changed.dedup();
                    return (
                        format!(
                            "{} moves from obj{o} to the C++ object with a handler",
                            fname(g)
                        ),
                        changed,
                    );
                }
                let h = here[(rng.next_u64() % here.len() as u64) as usize];
                let f = &mut self.funcs[h];
                f.catches = !f.catches;
                let what = if f.catches { "gains" } else { "loses" };
                (format!("{} {what} a try/catch", fname(h)), vec![CXX_OBJECT])
            }
        }
    }

    /// The existing functions with exception tables: a cleanup, or a
    /// handler in the C++ object.
    fn with_tables(&self) -> Vec<usize> {
        (0..self.funcs.len())
            .filter(|&g| {
                let f = &self.funcs[g];
                f.exists && (f.cleanup || (f.catches && self.is_cxx(f.home)))
            })
            .collect()
    }
}

impl Program {
    /// Object `o` in Rust, meaning what [`Program::object_source`]'s C
    /// means: `#[no_mangle] extern "C"` functions and statics of the same
    /// names (wrapping arithmetic, no bounds checks: the object links
    /// without Rust's core library), a cleanup as a `Drop` guard.
    fn rust_object_source(&self, o: usize) -> String {
        let mut s = String::from("#![no_std]\n#![allow(warnings)]\n");
        let elsewhere: Vec<String> = (0..self.funcs.len())
            .filter(|&g| self.funcs[g].exists && self.funcs[g].home != o)
            .map(|g| format!("    fn {}(x: i32) -> i32;\n", fname(g)))
            .collect();
        if !elsewhere.is_empty() {
            s.push_str(&format!("extern \"C\" {{\n{}}}\n", elsewhere.concat()));
        }
        let t = &self.tables[o];
        s.push_str(&format!(
            "#[no_mangle]\npub static mut tab_{o}: [i32; {}] = [{}];\n\
             #[no_mangle]\npub static mut len_{o}: i32 = {};\n\
             #[repr(transparent)]\npub struct Name(*const u8);\nunsafe impl Sync for Name {{}}\n\
             #[no_mangle]\npub static name_{o}: Name = Name(b\"{}\\0\".as_ptr());\n\
             #[no_mangle]\npub static mut cleaned_{o}: u32 = 0;\n\
             #[no_mangle]\npub static mut caught_{o}: u32 = 0;\n\
             struct Clean(u32);\nimpl Drop for Clean {{\n    fn drop(&mut self) {{\n        \
             unsafe {{ cleaned_{o} = cleaned_{o}.wrapping_add(core::ptr::read_volatile(&self.0) & 15) }}\n    }}\n}}\n",
            t.len(),
            t.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            t.len(),
            self.names[o]
        ));
        for g in self.defined_in(o) {
            let func = &self.funcs[g];
            s.push_str(&format!(
                "#[no_mangle]\npub extern \"C\" fn {}(x: i32) -> i32 {{\n    let mut s: u32 = (x as u32).wrapping_add({});\n",
                fname(g),
                func.salt
            ));
            if func.cleanup {
                s.push_str("    let mut clean = Clean(0);\n");
            }
            s.push_str("    unsafe {\n");
            for &op in &func.ops {
                s.push_str(&format!("        {}\n", rust_op_text(op, o)));
            }
            for &c in &func.calls {
                s.push_str(&format!(
                    "        s = s.wrapping_add({}((s & 255) as i32) as u32);\n",
                    fname(c)
                ));
            }
            s.push_str("    }\n");
            if func.cleanup {
                s.push_str("    clean.0 = s;\n");
            }
            s.push_str("    s as i32\n}\n");
        }
        let mine: Vec<String> = self
            .defined_in(o)
            .into_iter()
            .filter(|&g| !self.internal(g))
            .map(|g| format!("Some({})", fname(g)))
            .collect();
        s.push_str(&format!(
            "#[no_mangle]\npub static ptrs_{o}: [Option<extern \"C\" fn(i32) -> i32>; {}] = [{}];\n\
             #[no_mangle]\npub static nptrs_{o}: i32 = {};\n",
            mine.len().max(1),
            if mine.is_empty() {
                "None".to_string()
            } else {
                mine.join(", ")
            },
            mine.len()
        ));
        s
    }
}

/// [`op_text`] in Rust.
fn rust_op_text(op: u32, o: usize) -> String {
    match op % 4 {
        0 => format!(
            "s = s.wrapping_mul({}).wrapping_add({});",
            op % 13 + 2,
            op % 1000
        ),
        1 => format!("s ^= s >> {};", op % 11 + 1),
        2 => format!(
            "s = s.wrapping_add(*(core::ptr::addr_of!(tab_{o}) as *const i32)\
             .add(s.checked_rem(len_{o} as u32).unwrap_or(0) as usize) as u32);"
        ),
        _ => format!(
            "for i in 0..{}u32 {{ s = s.wrapping_add(i ^ {}); }}",
            op % 5 + 1,
            op % 97
        ),
    }
}

/// rustc's flags for a Rust object: a `#![no_std]` library compiled to
/// one object, as one codegen unit of a crate would be.
const RUSTFLAGS: &[&str] = &[
    "--edition",
    "2021",
    "--crate-type=lib",
    "--emit=obj",
    "-C",
    "panic=abort",
    "-C",
    "codegen-units=1",
    "-O",
];

/// Compiles one source (C, C++ or Rust, by its extension) to the object
/// beside it.
fn compile_source(target: Target, src: &Path) {
    let obj = src.with_extension("o");
    match src.extension().and_then(|e| e.to_str()) {
        Some("cc") => testkit::compile_cxx_macos_for(target, src, &obj, CFLAGS),
        Some("rs") => testkit::check(
            testkit::rust::rustc()
                .args(RUSTFLAGS)
                .args(["--target", target.rust_triple()])
                .arg(src)
                .arg("-o")
                .arg(&obj),
        ),
        _ => testkit::compile_macos_for(target, src, &obj, CFLAGS),
    }
}

/// The generated functions a link kept (`-dead_strip` removes the
/// unreached ones from a fresh link).
fn generated_functions(exe: &Path) -> Vec<String> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut names: Vec<String> = file
        .symbols()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| n.starts_with("_f_"))
        .collect();
    names.sort();
    names
}

/// The generated functions' addresses in `exe`.
fn function_addresses(exe: &Path) -> BTreeMap<String, u64> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.symbols()
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .filter(|(n, _)| n.starts_with("_f_"))
        .collect()
}

/// Checks that every function of the fresh link unwinds in `inc` as in
/// `fresh` (`testkit::unwind::check_unwind`): the same compact encoding,
/// or (where clang deferred to DWARF, as it does for most arm64
/// functions) a row leading to an FDE for its body with the same call
/// frame instructions; the same personality (by name: compact unwind's
/// personality indexes may differ) and LSDA contents.
fn check_unwind(target: Target, inc: &Path, fresh: &Path, ctx: &str, line: &str) {
    let names = generated_functions(fresh);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        testkit::unwind::check_unwind(target, inc, fresh, &names)
    }));
    if checked.is_err() {
        panic!("{ctx}: a function's unwind information differs from a fresh link's\n{line}");
    }
}

fn run(exe: &Path) -> (i32, String) {
    run_with(exe, &[])
}

fn run_with(exe: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let o = macho_run_with(exe, env);
    (o.code, o.stdout_str() + &o.stderr_str())
}

/// What one step's incremental link did.
#[derive(Clone, Debug)]
struct StepRecord {
    /// `update`, `full`, `nothing` (no input changed) or `other`.
    outcome: &'static str,
    /// A full link's reason (without the scratch directory).
    reason: String,
    /// The incremental link's wall time.
    link_ms: f64,
    /// The whole step: edit, compiles, links and checks.
    step_ms: f64,
}

/// What one seed's run did.
#[derive(Default)]
struct Counts {
    steps: usize,
    updates: usize,
    fulls: usize,
    /// The reason of each full link.
    reasons: Vec<String>,
    /// The run stopped at a deadline before its last step.
    cut: bool,
}

/// Full links this program's edits may need, as the README's list of
/// fallbacks documents them (matched against `-v`'s reason).
/// The classic format re-encodes its rebase and bind streams in a full
/// link whenever pointers or imports change.
const DOCUMENTED_FALLBACKS: &[&str] = &[
    "with -no_fixup_chains",
    "classic lazy binding has no room",
    "out of reserved room",
    "fourth personality",
];

/// The reason a `-v` line gives for a full link, if it says one, without
/// the scratch directory (`obj2.o: the pointers in _ptrs_2 changed (...)`).
fn full_link_reason(line: &str) -> Option<String> {
    let at = line.find("full link")?;
    let reason = line[at..]
        .trim_start_matches("full link")
        .trim_start_matches(':');
    let reason = reason.split("; ").next().unwrap_or(reason).trim();
    let file = match reason.find(".o: ") {
        Some(end) => reason[..end].rfind('/').map_or(0, |slash| slash + 1),
        None => 0,
    };
    Some(reason[file..].to_string())
}

/// A reason without its explanation in parentheses, to count alike ones.
fn reason_summary(reason: &str) -> &str {
    reason.split(" (").next().unwrap_or(reason)
}

/// The link flags of a seed: odd seeds use the classic rebase/bind
/// opcodes, even ones chained fixups.
fn seed_flags(seed: Seed) -> Vec<String> {
    let mut flags = Vec::new();
    if seed.seed % 2 == 1 {
        flags.push("-no_fixup_chains".to_string());
    }
    if seed.dead_strip {
        flags.push("-dead_strip".to_string());
    }
    flags
}

/// One program's links in a directory of its own: its sources (each
/// compiled when its text changes), the incremental output, and a fresh
/// link of the same objects beside it.
struct Session {
    target: Target,
    dir: PathBuf,
    flags: Vec<String>,
    names: Vec<String>,
    /// What each source holds now ("" before its first write).
    texts: Vec<String>,
    /// The objects in link order, then the C++ runtime if there is C++.
    objs: Vec<PathBuf>,
    inc: PathBuf,
    fresh: PathBuf,
    /// The campaign's self-test: an update of a program whose sources
    /// hold this text counts as a divergence.
    plant: Option<String>,
    /// The functions' addresses in the last incremental output: an update
    /// keeps them (DESIGN invariant 1; a function moving between objects
    /// included).
    addresses: BTreeMap<String, u64>,
    /// The resident machlink the incremental links go to, if served.
    server: Option<testkit::cli::Server>,
}

impl Session {
    fn new(target: Target, dir: &Path, flags: &[String], sources: &[(String, String)]) -> Session {
        let names: Vec<String> = sources.iter().map(|(n, _)| n.clone()).collect();
        let mut objs: Vec<PathBuf> = names
            .iter()
            .map(|n| dir.join(n).with_extension("o"))
            .collect();
        if names.iter().any(|n| n.ends_with(".cc")) {
            objs.extend(testkit::cxx_runtime(target));
        }
        if names.iter().any(|n| n.ends_with(".rs")) {
            testkit::rust::require_rust_target(target.rust_triple());
        }
        Session {
            target,
            dir: dir.to_path_buf(),
            flags: flags.to_vec(),
            texts: vec![String::new(); names.len()],
            names,
            objs,
            inc: dir.join("incremental"),
            fresh: dir.join("fresh"),
            plant: None,
            addresses: BTreeMap::new(),
            server: None,
        }
    }

    /// Writes the sources whose text changed and compiles them.
    fn update_sources(&mut self, sources: &[(String, String)]) {
        let changed: Vec<usize> = (0..self.names.len())
            .filter(|&i| {
                assert_eq!(sources[i].0, self.names[i], "the program's files changed");
                sources[i].1 != self.texts[i]
            })
            .collect();
        for &i in &changed {
            std::fs::write(self.dir.join(&self.names[i]), &sources[i].1).unwrap();
            self.texts[i] = sources[i].1.clone();
        }
        testkit::parallel_for(changed.len(), |k| {
            compile_source(self.target, &self.dir.join(&self.names[changed[k]]));
        });
    }

    /// Links incrementally and afresh, and checks the incremental output
    /// against the fresh one: the same output under macho-run, plain and
    /// slid, the same unwind information, `machlink verify`, and an arm64
    /// signature that checks. Panics, naming `ctx`, at the first
    /// difference; with `strict`, also at a full link for a reason
    /// [`DOCUMENTED_FALLBACKS`] does not list.
    fn link_and_check(&mut self, ctx: &str, strict: bool) -> StepRecord {
        let started = Instant::now();
        let mut cmd = incremental_command_for(self.target, &self.inc);
        cmd.args(&self.flags).args(&self.objs);
        if let Some(server) = &mut self.server {
            // (A client that finds no server links itself, silently: the
            // server must still be there.)
            assert!(
                server.running() && server.socket.exists(),
                "{ctx}: the server has gone"
            );
            cmd.env("MACHLINK_SERVER", &server.socket);
        }
        let o = capture(&mut cmd);
        let link_ms = started.elapsed().as_secs_f64() * 1e3;
        assert_eq!(
            o.code,
            0,
            "{ctx}: incremental link failed: {}",
            o.stderr_str()
        );
        let line = incremental_line(&o);
        if std::env::var_os("MACHLINK_RANDOM_TRACE").is_some() {
            eprintln!("{ctx}: {line}");
        }
        let (outcome, reason) = if line.contains("updated") {
            ("update", String::new())
        } else if let Some(reason) = full_link_reason(&line) {
            ("full", reason)
        } else if line.contains("nothing changed") {
            ("nothing", String::new())
        } else {
            ("other", line.clone())
        };
        if strict && outcome == "full" && !ctx.contains("first link") {
            eprintln!("{ctx}: {line}");
            assert!(
                DOCUMENTED_FALLBACKS.iter().any(|d| reason.contains(d)),
                "{ctx}: a full link for a reason this test does not expect: {line}"
            );
        }
        let f = capture(
            testkit::machlink_command_for(self.target, &self.fresh)
                .args(&self.flags)
                .args(&self.objs),
        );
        assert_eq!(f.code, 0, "{ctx}: full link failed: {}", f.stderr_str());
        let (a, b) = (run(&self.inc), run(&self.fresh));
        assert_eq!(
            a, b,
            "{ctx}: the incrementally linked program differs from a fresh link\n{line}"
        );
        assert_eq!(a.0, 0, "{ctx}: {}", a.1);
        check_unwind(self.target, &self.inc, &self.fresh, ctx, &line);
        // Slid, every rebased pointer of the patched image must still hold.
        let slid = run_with(&self.inc, &[("MACHO_RUN_FORCE_SLIDE", "1")]);
        assert_eq!(slid, b, "{ctx}: the slid program differs\n{line}");
        let v = machlink_verify(&self.inc);
        assert_eq!(
            v.code,
            0,
            "{ctx}: verify: {}{}\n{}",
            v.stdout_str(),
            v.stderr_str(),
            o.stderr_str()
        );
        if self.target == Target::Arm64 {
            let bytes = std::fs::read(&self.inc).unwrap();
            if let Err(e) = testkit::verify_adhoc_signature(&bytes) {
                panic!("{ctx}: the code signature does not check: {e}\n{line}");
            }
        }
        let addresses = function_addresses(&self.inc);
        if outcome == "update" {
            for (name, was) in &self.addresses {
                if let Some(now) = addresses.get(name) {
                    assert_eq!(
                        now, was,
                        "{ctx}: an update moved the canonical address of {name}\n{line}"
                    );
                }
            }
        }
        self.addresses = addresses;
        if let Some(plant) = &self.plant {
            if outcome == "update" && self.texts.iter().any(|t| t.contains(plant.as_str())) {
                panic!(
                    "{ctx}: the incrementally linked program differs from a fresh link \
                     (planted: {plant:?})\n{line}"
                );
            }
        }
        StepRecord {
            outcome,
            reason,
            link_ms,
            step_ms: 0.0,
        }
    }

    /// The oracle of last resort: the native build of the program prints
    /// what the incremental output prints (C and C++ by gcc, Rust by
    /// rustc for the host).
    fn native_check(&self, ctx: &str) {
        let native = self.dir.join("native");
        let mut srcs = Vec::new();
        let mut libs: Vec<String> = Vec::new();
        for name in &self.names {
            let src = self.dir.join(name);
            if name.ends_with(".rs") {
                let obj = self.dir.join(format!("{name}.native.o"));
                testkit::check(
                    testkit::rust::rustc()
                        .args(RUSTFLAGS)
                        .arg(&src)
                        .arg("-o")
                        .arg(&obj),
                );
                libs.push(obj.display().to_string());
            } else {
                if name.ends_with(".cc") {
                    libs.push("-lstdc++".to_string());
                }
                srcs.push(src);
            }
        }
        let libs: Vec<&str> = libs.iter().map(String::as_str).collect();
        testkit::build_native_with(&srcs, &native, CFLAGS, &libs);
        let n = capture(&mut Command::new(&native));
        assert_eq!(
            (n.code, n.stdout_str()),
            run(&self.inc),
            "{ctx}: final program differs from its native build"
        );
    }
}

/// How [`run_seed`] runs.
struct RunOptions {
    /// The seed's scratch directory (emptied first).
    dir: PathBuf,
    /// Fail at a full link for an undocumented reason.
    strict: bool,
    /// Stop after the step running at this time.
    deadline: Option<Instant>,
    /// Every step's edit and the program it linked, for the shrinker
    /// (filled as the run goes, so it is there after a failure).
    history: Vec<(String, Program)>,
    /// Every step's record (the first link's included).
    records: Vec<StepRecord>,
    /// See [`Session::plant`].
    plant: Option<String>,
}

impl RunOptions {
    fn new(dir: PathBuf) -> RunOptions {
        RunOptions {
            dir,
            strict: true,
            deadline: None,
            history: Vec::new(),
            records: Vec::new(),
            plant: None,
        }
    }
}

/// Runs one seed for `steps` edits.
fn run_seed(
    target: Target,
    seed: Seed,
    steps: usize,
    served: bool,
    opts: &mut RunOptions,
) -> Counts {
    let arch = target.arch();
    let n = seed.seed;
    let _ = std::fs::remove_dir_all(&opts.dir);
    std::fs::create_dir_all(&opts.dir).unwrap();
    let mut rng = Lcg(n);
    let mut p = Program::new(&mut rng, seed);
    let mut session = Session::new(target, &opts.dir, &seed_flags(seed), &p.sources());
    session.plant = opts.plant.clone();
    if served {
        session.server = Some(testkit::cli::Server::start(&opts.dir, &[]));
    }
    let mut counts = Counts::default();
    for step in 0..=steps {
        if step > 0 && opts.deadline.is_some_and(|d| Instant::now() >= d) {
            counts.cut = true;
            break;
        }
        let started = Instant::now();
        let what = if step == 0 {
            "first link".to_string()
        } else {
            p.edit(&mut rng).0
        };
        opts.history.push((what.clone(), p.clone()));
        session.update_sources(&p.sources());
        let ctx = format!("{arch} seed {n}, step {step} ({what})");
        let mut record = session.link_and_check(&ctx, opts.strict);
        record.step_ms = started.elapsed().as_secs_f64() * 1e3;
        if step > 0 {
            counts.steps += 1;
            match record.outcome {
                "update" => counts.updates += 1,
                "full" => {
                    counts.fulls += 1;
                    counts.reasons.push(record.reason.clone());
                }
                _ => {}
            }
        }
        opts.records.push(record);
    }
    session.native_check(&format!("{arch} seed {n}"));
    counts
}

/// Links `states` (each a program's named sources) in order in a new
/// session in `dir`, the first as a full link and each next one as an
/// update, checking each as [`Session::link_and_check`] does; the first
/// failure's message.
fn replay(
    target: Target,
    flags: &[String],
    states: &[Vec<(String, String)>],
    dir: &Path,
    plant: Option<&str>,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    campaign::catching(|| {
        let mut session = Session::new(target, dir, flags, &states[0]);
        session.plant = plant.map(str::to_string);
        for (i, sources) in states.iter().enumerate() {
            session.update_sources(sources);
            let what = if i == 0 { "first link" } else { "update" };
            session.link_and_check(&format!("replay step {i} ({what})"), false);
        }
    })
}

/// Runs `plan`'s seeds (or only `MACHLINK_RANDOM_SEED=N`, which reruns
/// the seed a failure names), in parallel, and checks that enough steps
/// were real incremental updates.
fn run_plan(plan: &Plan) {
    let arch = plan.target.arch();
    let seeds: Vec<Seed> = match std::env::var("MACHLINK_RANDOM_SEED") {
        Ok(s) => {
            let n: u64 = s.parse().expect("MACHLINK_RANDOM_SEED is a number");
            // A seed the plan does not list runs plain, unless
            // MACHLINK_RANDOM_DEAD_STRIP=1, MACHLINK_RANDOM_CXX=1 or
            // MACHLINK_RANDOM_RUST=1 say.
            let on = |v: &str| std::env::var(v).is_ok_and(|v| v == "1");
            let listed = plan.seeds.iter().find(|s| s.seed == n).copied();
            vec![listed.unwrap_or(Seed {
                seed: n,
                dead_strip: on("MACHLINK_RANDOM_DEAD_STRIP"),
                cxx: on("MACHLINK_RANDOM_CXX"),
                rust: on("MACHLINK_RANDOM_RUST"),
            })]
        }
        Err(_) => plan.seeds.to_vec(),
    };
    if seeds.len() > 1 {
        let parities: Vec<u64> = seeds.iter().map(|s| s.seed % 2).collect();
        assert!(
            parities.contains(&0) && parities.contains(&1),
            "{arch}: the seeds must cover both fixup formats"
        );
    }
    let start = Instant::now();
    let results: Vec<std::sync::Mutex<Counts>> = seeds.iter().map(|_| Default::default()).collect();
    testkit::parallel_for(seeds.len(), |i| {
        let n = seeds[i].seed;
        let dir = testkit::scratch_dir(&format!("incremental/random-{arch}-{n}"));
        let mut opts = RunOptions::new(dir);
        *results[i].lock().unwrap() =
            run_seed(plan.target, seeds[i], plan.steps, plan.served, &mut opts);
    });
    let results: Vec<Counts> = results
        .into_iter()
        .map(|m| m.into_inner().unwrap())
        .collect();
    let steps: usize = results.iter().map(|r| r.steps).sum();
    let updates: usize = results.iter().map(|r| r.updates).sum();
    let fulls: usize = results.iter().map(|r| r.fulls).sum();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results.iter().flat_map(|r| &r.reasons) {
        *reasons.entry(reason_summary(r)).or_default() += 1;
    }
    eprintln!(
        "{arch}: {steps} random edit steps over {} seeds in {:.0?}: {updates} incremental \
         updates, {fulls} full links {reasons:?}",
        seeds.len(),
        start.elapsed()
    );
    assert!(steps >= 200 || seeds.len() == 1);
    // Most edits must take the incremental path, or this test proves little.
    assert!(
        updates * 2 >= steps,
        "{arch}: only {updates} of {steps} steps were incremental updates"
    );
}

#[test]
fn incremental_relinks_match_fresh_links_over_random_edits() {
    run_plan(&X86_64);
}

#[test]
fn served_incremental_relinks_match_fresh_links_over_random_edits() {
    run_plan(&SERVED_X86_64);
}

#[test]
fn arm64_incremental_relinks_match_fresh_links_over_random_edits() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    run_plan(&ARM64);
}

/// The reproducers the campaign's shrinker made for divergences it found
/// (`incremental_random/reproducers/NAME/`, see [`campaign`]): each must
/// now link and run like a fresh link at every step.
#[test]
fn shrunk_reproducers_stay_fixed() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/incremental_random/reproducers");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (target, flags, states) = campaign::read_reproducer(&case);
        if target == Target::Arm64 {
            testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
        }
        let dir = testkit::scratch_dir(&format!("incremental/reproducer-{name}"));
        if let Err(e) = replay(target, &flags, &states, &dir, None) {
            panic!("reproducer {name}: {e}");
        }
    }
}

mod campaign;
