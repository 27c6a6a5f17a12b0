//! Randomised differential test of incremental relinking (issues #4 and
//! #14), for each target: a generated multi-object program is edited step
//! by step (functions grow, shrink, gain and lose calls and cleanups,
//! whose exception tables come and go with them, appear and disappear;
//! data and strings change). After every step the
//! incrementally relinked binary must print exactly what a fresh full link
//! of the same objects prints under macho-run, plain and slid, `machlink
//! verify` must pass, and an arm64 output's code signature must check.
//! Failures name the target, the seed, the step and the edit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use testkit::cli::{incremental_command_for, incremental_line, machlink_verify, macho_run_with};
use testkit::{capture, Lcg, Target};

const OBJECTS: usize = 4;
const FUNCTIONS: usize = 6;

/// What one target's run covers. Odd seeds link with the classic
/// rebase/bind opcodes (`-no_fixup_chains`), even ones with chained
/// fixups, so each list holds both parities.
struct Plan {
    target: Target,
    seeds: &'static [u64],
    steps: usize,
}

const X86_64: Plan = Plan {
    target: Target::X86_64,
    seeds: &[1, 7, 42, 2026],
    steps: 55,
};

/// Every arm64 run goes through qemu (three per step), so the arm64 plan
/// is the acceptance minimum: 4 × 50 = 200 steps.
const ARM64: Plan = Plan {
    target: Target::Arm64,
    seeds: &[3, 8, 13, 2026],
    steps: 50,
};

/// The compiler flags of every object: `-fexceptions`, so that a
/// function with a cleanup gets a personality and an LSDA.
const CFLAGS: &[&str] = &["-O1", "-fexceptions"];

#[derive(Clone)]
struct Function {
    exists: bool,
    salt: u32,
    /// Each op is one statement (see `op_text`).
    ops: Vec<u32>,
    /// Global indexes of callees (always smaller than the caller's).
    calls: Vec<usize>,
    /// Its local has a cleanup (`__attribute__((cleanup))`): with calls
    /// after it, the function gets a personality and an LSDA.
    cleanup: bool,
}

struct Program {
    funcs: Vec<Function>,
    tables: Vec<Vec<i32>>,
    names: Vec<String>,
}

fn gid(o: usize, f: usize) -> usize {
    o * FUNCTIONS + f
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
    fn new(rng: &mut Lcg) -> Program {
        let mut funcs = Vec::new();
        for g in 0..OBJECTS * FUNCTIONS {
            let calls = (0..rng.next_u64() % 3)
                .filter(|_| g > 0)
                .map(|_| (rng.next_u64() % g as u64) as usize)
                .collect();
            funcs.push(Function {
                exists: true,
                salt: (rng.next_u64() % 1000) as u32,
                ops: (0..1 + rng.next_u64() % 4)
                    .map(|_| rng.next_u64() as u32)
                    .collect(),
                calls,
                cleanup: rng.next_u64().is_multiple_of(4),
            });
        }
        Program {
            funcs,
            tables: (0..OBJECTS)
                .map(|o| (0..8).map(|i| (o * 10 + i) as i32).collect())
                .collect(),
            names: (0..OBJECTS).map(|o| format!("object {o}")).collect(),
        }
    }

    fn object_source(&self, o: usize) -> String {
        let mut s = String::new();
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
        // What cleanups run adds up here, and main prints it.
        s.push_str(&format!(
            "unsigned cleaned_{o};\nstatic void clean_{o}(volatile unsigned *p) {{ cleaned_{o} += *p & 15; }}\n"
        ));
        for f in 0..FUNCTIONS {
            let g = gid(o, f);
            let func = &self.funcs[g];
            if !func.exists {
                continue;
            }
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
            for &c in &func.calls {
                s.push_str(&format!("    s += {}(s & 255);\n", fname(c)));
            }
            s.push_str("    return (int)s;\n}\n");
        }
        // Pointers to the object's functions: rebases whose number and
        // places change as functions come and go.
        let mine: Vec<String> = (0..FUNCTIONS)
            .map(|f| gid(o, f))
            .filter(|&g| self.funcs[g].exists)
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
        s
    }

    fn main_source(&self) -> String {
        let mut s = String::from("#include <stdio.h>\n");
        for o in 0..OBJECTS {
            s.push_str(&format!(
                "extern int tab_{o}[];\nextern int len_{o};\nextern const char *name_{o};\nextern int (*ptrs_{o}[])(int);\nextern int nptrs_{o};\nextern unsigned cleaned_{o};\n"
            ));
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
            if f.exists {
                s.push_str(&format!("    printf(\"{0} %d\\n\", {0}(7));\n", fname(g)));
            }
        }
        for o in 0..OBJECTS {
            s.push_str(&format!(
                "    printf(\"cleaned_{o} %u\\n\", cleaned_{o});\n"
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
        let roll = rng.next_u64() % 100;
        let g = self.existing(rng);
        let o = g / FUNCTIONS;
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
                for (h, f) in self.funcs.iter_mut().enumerate() {
                    if f.calls.contains(&g) {
                        f.calls.retain(|&c| c != g);
                        changed.push(h / FUNCTIONS);
                    }
                }
                changed.sort_unstable();
                changed.dedup();
                (format!("remove {}", fname(g)), changed)
            }
            _ => match self.funcs.iter().position(|f| !f.exists) {
                Some(h) => {
                    self.funcs[h].exists = true;
                    let exists: Vec<bool> = self.funcs.iter().map(|f| f.exists).collect();
                    self.funcs[h].calls.retain(|&c| exists[c]);
                    (
                        format!("add back {}", fname(h)),
                        vec![h / FUNCTIONS, OBJECTS],
                    )
                }
                None => {
                    self.funcs[g].salt += 7;
                    (format!("{} changes a constant", fname(g)), vec![o])
                }
            },
        }
    }
}

fn source_path(dir: &Path, i: usize) -> PathBuf {
    if i == OBJECTS {
        dir.join("main.c")
    } else {
        dir.join(format!("obj{i}.c"))
    }
}

fn write_and_compile(target: Target, dir: &Path, p: &Program, files: &[usize]) {
    for &i in files {
        let text = if i == OBJECTS {
            p.main_source()
        } else {
            p.object_source(i)
        };
        std::fs::write(source_path(dir, i), text).unwrap();
    }
    testkit::parallel_for(files.len(), |k| {
        let src = source_path(dir, files[k]);
        testkit::compile_macos_for(target, &src, &src.with_extension("o"), CFLAGS);
    });
}

/// Each function's compact unwind encoding, looked up in `__unwind_info` at
/// its body (through a trampoline, if its slot holds one).
fn unwind_encodings(target: Target, exe: &Path) -> Vec<(String, Option<u32>)> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let arch = machlink::arch::by_name(target.arch()).unwrap();
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let text = file.section_by_name("__text").unwrap();
    let code = text.data().unwrap();
    let unwind = file.section_by_name("__unwind_info").unwrap();
    let unwind = unwind.data().unwrap();
    let base = 0x1_0000_0000u64;
    let mut out: Vec<(String, Option<u32>)> = file
        .symbols()
        .filter(|s| s.name().is_ok_and(|n| n.starts_with("_f_")))
        .map(|s| {
            let slot = s.address();
            // The generated functions never begin with a jump (each
            // starts by storing its volatile local), so one that does is
            // a trampoline.
            let at = (slot - text.address()) as usize;
            let addr = arch.read_trampoline(&code[at..], slot).unwrap_or(slot);
            let row = machlink::unwind_info::covering_row(unwind, (addr - base) as u32);
            (s.name().unwrap().to_string(), row.map(|r| r.1))
        })
        .collect();
    out.sort();
    out
}

/// Checks that every function of `inc` unwinds as in `fresh`: the same
/// compact encoding, or (where clang deferred to DWARF, as it does for
/// most arm64 functions) a row leading to an FDE for its body with the
/// same call frame instructions (see `incremental_eh_frame`).
fn check_unwind(target: Target, inc: &Path, fresh: &Path, ctx: &str, line: &str) {
    let encodings = unwind_encodings(target, fresh);
    let has_eh_frame = {
        use object::Object;
        let data = std::fs::read(fresh).unwrap();
        object::File::parse(&*data)
            .unwrap()
            .section_by_name("__eh_frame")
            .is_some()
    };
    if !has_eh_frame {
        assert_eq!(
            unwind_encodings(target, inc),
            encodings,
            "{ctx}: a function's unwind encoding differs from a fresh link's\n{line}"
        );
        return;
    }
    // An FDE's offset in the encoding depends on the layout, so DWARF
    // rows are compared through the FDEs they name.
    let names: Vec<&str> = encodings.iter().map(|(n, _)| n.as_str()).collect();
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

/// What one seed's run did.
#[derive(Default)]
struct Counts {
    steps: usize,
    updates: usize,
    fulls: usize,
}

/// Runs one seed for `steps` edits.
fn run_seed(target: Target, seed: u64, steps: usize) -> Counts {
    let arch = target.arch();
    let dir = testkit::scratch_dir(&format!("incremental/random-{arch}-{seed}"));
    let mut rng = Lcg(seed);
    let mut p = Program::new(&mut rng);
    let all: Vec<usize> = (0..=OBJECTS).collect();
    write_and_compile(target, &dir, &p, &all);
    let objs: Vec<PathBuf> = all
        .iter()
        .map(|&i| source_path(&dir, i).with_extension("o"))
        .collect();
    let inc = dir.join("incremental");
    let fresh = dir.join("fresh");
    let format: &[&str] = if seed % 2 == 1 {
        &["-no_fixup_chains"]
    } else {
        &[]
    };
    let mut counts = Counts::default();
    for step in 0..=steps {
        let what = if step == 0 {
            "first link".to_string()
        } else {
            let (what, files) = p.edit(&mut rng);
            write_and_compile(target, &dir, &p, &files);
            what
        };
        let ctx = format!("{arch} seed {seed}, step {step} ({what})");
        let o = capture(
            incremental_command_for(target, &inc)
                .args(format)
                .args(&objs),
        );
        assert_eq!(
            o.code,
            0,
            "{ctx}: incremental link failed: {}",
            o.stderr_str()
        );
        let line = incremental_line(&o);
        if step > 0 {
            counts.steps += 1;
            if line.contains("updated") {
                counts.updates += 1;
            } else if line.contains("full link") {
                counts.fulls += 1;
                eprintln!("{ctx}: {line}");
            }
        }
        let f = capture(
            testkit::machlink_command_for(target, &fresh)
                .args(format)
                .args(&objs),
        );
        assert_eq!(f.code, 0, "{ctx}: full link failed: {}", f.stderr_str());
        let (a, b) = (run(&inc), run(&fresh));
        assert_eq!(
            a, b,
            "{ctx}: the incrementally linked program differs from a fresh link\n{line}"
        );
        assert_eq!(a.0, 0, "{ctx}: {}", a.1);
        check_unwind(target, &inc, &fresh, &ctx, &line);
        // Slid, every rebased pointer of the patched image must still hold.
        let slid = run_with(&inc, &[("MACHO_RUN_FORCE_SLIDE", "1")]);
        assert_eq!(slid, b, "{ctx}: the slid program differs\n{line}");
        let v = machlink_verify(&inc);
        assert_eq!(
            v.code,
            0,
            "{ctx}: verify: {}{}\n{}",
            v.stdout_str(),
            v.stderr_str(),
            o.stderr_str()
        );
        if target == Target::Arm64 {
            let bytes = std::fs::read(&inc).unwrap();
            if let Err(e) = testkit::verify_adhoc_signature(&bytes) {
                panic!("{ctx}: the code signature does not check: {e}\n{line}");
            }
        }
    }
    // The oracle of last resort: the native build of the final program.
    let srcs: Vec<PathBuf> = all.iter().map(|&i| source_path(&dir, i)).collect();
    let native = dir.join("native");
    testkit::build_native(&srcs, &native, CFLAGS);
    let n = capture(&mut Command::new(&native));
    assert_eq!(
        (n.code, n.stdout_str()),
        run(&inc),
        "{arch} seed {seed}: final program differs from its native build"
    );
    counts
}

/// Runs `plan`'s seeds (or only `MACHLINK_RANDOM_SEED=N`, which reruns
/// the seed a failure names), in parallel, and checks that enough steps
/// were real incremental updates.
fn run_plan(plan: &Plan) {
    let arch = plan.target.arch();
    let seeds: Vec<u64> = match std::env::var("MACHLINK_RANDOM_SEED") {
        Ok(s) => vec![s.parse().expect("MACHLINK_RANDOM_SEED is a number")],
        Err(_) => plan.seeds.to_vec(),
    };
    if seeds.len() > 1 {
        let parities: Vec<u64> = seeds.iter().map(|s| s % 2).collect();
        assert!(
            parities.contains(&0) && parities.contains(&1),
            "{arch}: the seeds must cover both fixup formats"
        );
    }
    let start = Instant::now();
    let results: Vec<std::sync::Mutex<Counts>> = seeds.iter().map(|_| Default::default()).collect();
    testkit::parallel_for(seeds.len(), |i| {
        *results[i].lock().unwrap() = run_seed(plan.target, seeds[i], plan.steps);
    });
    let results: Vec<Counts> = results
        .into_iter()
        .map(|m| m.into_inner().unwrap())
        .collect();
    let steps: usize = results.iter().map(|r| r.steps).sum();
    let updates: usize = results.iter().map(|r| r.updates).sum();
    let fulls: usize = results.iter().map(|r| r.fulls).sum();
    eprintln!(
        "{arch}: {steps} random edit steps over {} seeds in {:.0?}: {updates} incremental \
         updates, {fulls} full links",
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
fn arm64_incremental_relinks_match_fresh_links_over_random_edits() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    run_plan(&ARM64);
}
