//! A damaged incremental state never gives a wrong binary (issue #10).
//!
//! Bytes of a real state, delta and journal are flipped one at a time
//! (every byte for a small program, a sample of a few thousand for a large
//! one). After each flip an update with an edit runs, and its output must be
//! byte for byte either what the undamaged update writes or what a fresh
//! full link of the edited program writes: either the update was right or
//! the state was refused and a full link was made. Both of those are run
//! under macho-run once and print the same. No run may fail twice in a row.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use testkit::cli::{compile_with, incremental_command, interrupted, macho_run};
use testkit::{capture, Outcome};

/// One program: its objects (the last one is edited), and the versions of
/// the edited object (bytes).
struct Program {
    objects: Vec<(String, Vec<u8>)>,
    versions: Vec<Vec<u8>>,
}

const SMALL_MAIN: &str = r#"#include <stdio.h>
int f(int);
extern int counter;
const char *name(void);
int (*saved)(int) = f;
int main(void) {
    int s = 0;
    for (int i = 0; i < 5; i++) s += f(i);
    printf("%s s=%d counter=%d same=%d\n", name(), s, counter, saved == f);
    return 0;
}
"#;

const SMALL_LIB: [&str; 3] = [
    "int counter = 3;\n\
     int f(int x) { counter++; return x * 2; }\n\
     const char *name(void) { return \"one\"; }\n",
    // f outgrows its slot: it moves behind a trampoline.
    "int counter = 3;\n\
     int f(int x) { volatile int s = x; for (int i = 0; i < 9; i++) s = s * 7 + i; \
     counter += 2; return s + x * 3 + (s >> 3) + (s ^ 0x55) + (s & 0x3ff) * 11; }\n\
     const char *name(void) { return \"two\"; }\n",
    "int counter = 5;\n\
     int f(int x) { counter--; return x - 1; }\n\
     const char *name(void) { return \"three\"; }\n",
];

fn compile(dir: &Path, name: &str, src: &str) -> Vec<u8> {
    std::fs::read(compile_with(dir, name, src, &["-O1", "-g"])).unwrap()
}

fn small_program(dir: &Path) -> Program {
    let main = compile(dir, "main", SMALL_MAIN);
    let versions = SMALL_LIB
        .iter()
        .enumerate()
        .map(|(i, src)| compile(dir, &format!("lib_v{i}"), src))
        .collect();
    Program {
        objects: vec![("main.o".into(), main), ("lib.o".into(), Vec::new())],
        versions,
    }
}

/// A generated program (tests/gen/genprog.py) whose object 1 is edited: its
/// first function grows, then changes again.
fn large_program(dir: &Path) -> Program {
    let src = dir.join("src");
    testkit::check(
        Command::new("python3")
            .arg(testkit::workspace_root().join("tests/gen/genprog.py"))
            .args(["--objects", "24", "--functions", "60", "--out"])
            .arg(&src),
    );
    let srcs = testkit::c_sources(&src);
    let objs = testkit::compile_all_macos(&srcs, dir, &["-O1", "-fcommon", "-w"]);
    let edited = src.join("obj_0001.c");
    let text = std::fs::read_to_string(&edited).unwrap();
    let anchor = "uint64_t f_1_0(uint64_t x, unsigned d)\n{\n";
    assert!(text.contains(anchor), "genprog's function shape changed");
    let edit = |extra: &str| text.replacen(anchor, &format!("{anchor}{extra}\n"), 1);
    let versions = [
        text.clone(),
        edit("    for (unsigned i = 0; i < 13; i++) x = x * 0x9e3779b97f4a7c15ULL + i + d;"),
        edit("    x ^= 0x1234;"),
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| {
        let o = compile_with(dir, &format!("edit_v{i}"), t, &["-O1", "-fcommon", "-w"]);
        std::fs::read(o).unwrap()
    })
    .collect();
    let mut objects: Vec<(String, Vec<u8>)> = objs
        .iter()
        .filter(|o| !o.ends_with("obj_0001.o"))
        .map(|o| {
            let name = o.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(o).unwrap())
        })
        .collect();
    objects.push(("obj_0001.o".into(), Vec::new()));
    Program { objects, versions }
}

/// A fixed modification time per version of the edited object, so that
/// every link sees the same stamps and writes the same debug map.
fn version_time(v: usize) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + v as u64 * 1000)
}

fn write_with_time(path: &Path, bytes: &[u8], time: SystemTime) {
    std::fs::write(path, bytes).unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(time).unwrap();
}

/// The files an incremental output keeps beside it.
const SIDE: [&str; 3] = ["machlink-state", "machlink-delta", "machlink-journal"];

fn side(out: &Path, ext: &str) -> PathBuf {
    PathBuf::from(format!("{}.{ext}", out.display()))
}

/// The output and its side files at one moment.
#[derive(Clone)]
struct Snapshot {
    output: Vec<u8>,
    mtime: SystemTime,
    mode: u32,
    side: Vec<Option<Vec<u8>>>,
}

/// One worker's copy of the program, in its own directory.
struct Bench {
    dir: PathBuf,
    out: PathBuf,
    objects: Vec<PathBuf>,
    versions: Vec<Vec<u8>>,
}

impl Bench {
    fn new(dir: PathBuf, program: &Program) -> Bench {
        std::fs::create_dir_all(&dir).unwrap();
        let objects: Vec<PathBuf> = program
            .objects
            .iter()
            .map(|(name, bytes)| {
                let p = dir.join(name);
                write_with_time(&p, bytes, version_time(0));
                p
            })
            .collect();
        Bench {
            out: dir.join("prog"),
            dir,
            objects,
            versions: program.versions.clone(),
        }
    }

    fn set_version(&self, v: usize) {
        let edited = self.objects.last().unwrap();
        write_with_time(edited, &self.versions[v], version_time(v + 1));
    }

    /// The incremental link (`-incremental -v`) of the bench's objects.
    fn command(&self) -> Command {
        let mut cmd = incremental_command(&self.out);
        cmd.args(&self.objects);
        cmd
    }

    fn link(&self) -> Outcome {
        capture(&mut self.command())
    }

    fn link_ok(&self) -> Outcome {
        let o = self.link();
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        o
    }

    fn snapshot(&self) -> Snapshot {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(&self.out).unwrap();
        Snapshot {
            output: std::fs::read(&self.out).unwrap(),
            mtime: m.modified().unwrap(),
            mode: m.permissions().mode(),
            side: SIDE
                .iter()
                .map(|e| std::fs::read(side(&self.out, e)).ok())
                .collect(),
        }
    }

    /// Puts a snapshot back, with one byte of one side file flipped.
    fn restore(&self, s: &Snapshot, flip: Option<(usize, usize)>) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::remove_file(&self.out);
        write_with_time(&self.out, &s.output, s.mtime);
        std::fs::set_permissions(&self.out, std::fs::Permissions::from_mode(s.mode)).unwrap();
        for (i, ext) in SIDE.iter().enumerate() {
            let p = side(&self.out, ext);
            match &s.side[i] {
                Some(bytes) => {
                    let mut bytes = bytes.clone();
                    if let Some((file, at)) = flip {
                        if file == i {
                            bytes[at] ^= 1 << (at % 8);
                        }
                    }
                    std::fs::write(&p, bytes).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
    }

    fn forget(&self) {
        let _ = std::fs::remove_file(&self.out);
        for ext in SIDE {
            let _ = std::fs::remove_file(side(&self.out, ext));
        }
    }

    fn output(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap()
    }
}

/// What one kind of damage is checked against: the snapshot it starts
/// from, the version the update brings, and the two right answers.
struct Case {
    name: &'static str,
    file: usize,
    start: Snapshot,
    version: usize,
    updated: Vec<u8>,
    fresh: Vec<u8>,
}

/// Builds the cases of one worker: state flips (no delta yet, update
/// v0 -> v1), delta flips (after that update, then v1 -> v2) and journal
/// flips (the v1 -> v2 update interrupted after its journal).
fn cases(b: &Bench) -> Vec<Case> {
    b.forget();
    b.set_version(1);
    b.link_ok();
    let fresh1 = b.output();
    b.forget();
    b.set_version(2);
    b.link_ok();
    let fresh2 = b.output();
    b.forget();

    b.set_version(0);
    b.link_ok();
    let s0 = b.snapshot();
    let update_to = |v: usize| {
        b.set_version(v);
        let o = b.link_ok();
        let said = o.stderr_str();
        assert!(said.contains("updated 1 object(s)"), "{said}");
        b.output()
    };
    let updated1 = update_to(1);
    let s1 = b.snapshot();
    let updated2 = update_to(2);

    b.restore(&s1, None);
    interrupted(&mut b.command(), "after-journal");
    let sj = b.snapshot();
    assert!(sj.side[2].is_some(), "no journal after the crash");

    // The right answers run alike (and as the program should).
    for (a, f) in [(&updated1, &fresh1), (&updated2, &fresh2)] {
        let pa = b.dir.join("check-updated");
        let pf = b.dir.join("check-fresh");
        std::fs::write(&pa, a).unwrap();
        std::fs::write(&pf, f).unwrap();
        for p in [&pa, &pf] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let (ra, rf) = (macho_run(&pa), macho_run(&pf));
        assert_eq!(ra.code, 0, "{}", ra.stderr_str());
        assert_eq!(ra.stdout, rf.stdout, "an update and a fresh link disagree");
    }
    vec![
        Case {
            name: "state",
            file: 0,
            start: s0,
            version: 1,
            updated: updated1,
            fresh: fresh1,
        },
        Case {
            name: "delta",
            file: 1,
            start: s1,
            version: 2,
            updated: updated2.clone(),
            fresh: fresh2.clone(),
        },
        Case {
            name: "journal",
            file: 2,
            start: sj,
            version: 2,
            updated: updated2,
            fresh: fresh2,
        },
    ]
}

#[derive(Default)]
struct Tally {
    /// Size of the file flipped.
    bytes: usize,
    flips: usize,
    same_as_update: usize,
    full_links: usize,
    /// Runs that failed (each followed by one that succeeded).
    errors: usize,
    wrong: Vec<String>,
    /// How many full links gave each reason (its first words).
    reasons: std::collections::BTreeMap<String, usize>,
}

/// Flips each offset of `offsets` in the case's file, runs the update and
/// checks the result.
fn flip_all(b: &Bench, case: &Case, offsets: &[usize], tally: &mut Tally) {
    b.set_version(case.version);
    for &at in offsets {
        b.restore(&case.start, Some((case.file, at)));
        let mut o = b.link();
        if o.code != 0 {
            tally.errors += 1;
            let again = b.link();
            if again.code != 0 {
                tally.wrong.push(format!(
                    "{} byte {at}: two failed runs in a row:\n{}\n{}",
                    case.name,
                    o.stderr_str(),
                    again.stderr_str()
                ));
                continue;
            }
            o = again;
        }
        tally.flips += 1;
        let got = b.output();
        let line = o.stderr_str();
        if got == case.updated {
            tally.same_as_update += 1;
        } else if got == case.fresh {
            tally.full_links += 1;
            let reason = line
                .split("full link: ")
                .nth(1)
                .map(|r| {
                    r.split([':', ';', '('])
                        .next()
                        .unwrap_or(r)
                        .trim()
                        .to_string()
                })
                .unwrap_or_else(|| "?".into());
            *tally.reasons.entry(reason).or_default() += 1;
        } else {
            let r = macho_run(&b.out);
            tally.wrong.push(format!(
                "{} byte {at}: the output is neither the update's nor a fresh link's \
                 (it runs with exit {} and prints {:?}); machlink said: {line}",
                case.name,
                r.code,
                r.stdout_str()
            ));
        }
    }
}

/// Runs `offsets(case)` for every case on two workers (each with its own
/// copy of the program) and checks the tally.
fn campaign(name: &str, program: &Program, offsets: impl Fn(&Case) -> Vec<usize> + Sync) {
    let root = testkit::scratch_dir(&format!("damaged-state/{name}"));
    let workers = 2;
    let tallies: Vec<(String, Tally)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let root = &root;
                let offsets = &offsets;
                scope.spawn(move || {
                    let b = Bench::new(root.join(format!("w{w}")), program);
                    let mut out = Vec::new();
                    for case in cases(&b) {
                        let all = offsets(&case);
                        // Worker w takes every workers-th offset.
                        let mine: Vec<usize> =
                            all.iter().copied().skip(w).step_by(workers).collect();
                        let mut tally = Tally {
                            bytes: case.start.side[case.file].as_ref().map_or(0, Vec::len),
                            ..Default::default()
                        };
                        flip_all(&b, &case, &mine, &mut tally);
                        out.push((case.name.to_string(), tally));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let mut wrong = Vec::new();
    for case in ["state", "delta", "journal"] {
        let mut t = Tally::default();
        for (_, x) in tallies.iter().filter(|(n, _)| n == case) {
            t.bytes = x.bytes;
            t.flips += x.flips;
            t.same_as_update += x.same_as_update;
            t.full_links += x.full_links;
            t.errors += x.errors;
            for (r, n) in &x.reasons {
                *t.reasons.entry(r.clone()).or_default() += n;
            }
            wrong.extend(x.wrong.iter().cloned());
        }
        eprintln!(
            "{name} {case} ({} bytes): {} flips: {} updated as undamaged, {} full links, \
             {} failed once; full-link reasons: {:?}",
            t.bytes, t.flips, t.same_as_update, t.full_links, t.errors, t.reasons
        );
        assert!(t.flips > 0, "{name} {case}: nothing flipped");
    }
    assert!(
        wrong.is_empty(),
        "{} flip(s) went wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_byte_of_a_small_programs_state_delta_and_journal_flipped_never_gives_a_wrong_binary() {
    let dir = testkit::scratch_dir("damaged-state/small-objects");
    let program = small_program(&dir);
    campaign("small", &program, |case| {
        let len = case.start.side[case.file].as_ref().unwrap().len();
        (0..len).collect()
    });
}

#[test]
fn sampled_bytes_of_a_large_programs_state_delta_and_journal_flipped_never_give_a_wrong_binary() {
    let dir = testkit::scratch_dir("damaged-state/large-objects");
    let program = large_program(&dir);
    campaign("large", &program, |case| {
        let len = case.start.side[case.file].as_ref().unwrap().len();
        let samples = match case.name {
            "state" => 2400,
            _ => 400,
        };
        // Every byte of the first 256 (headers), then a seeded sample.
        let mut rng = testkit::Lcg(0x5eed ^ len as u64);
        let mut offsets: Vec<usize> = (0..len.min(256)).collect();
        while offsets.len() < samples.min(len) {
            offsets.push(rng.next_u64() as usize % len);
        }
        offsets
    });
}
