//! Nothing a link's inputs name makes machlink write outside its output,
//! its state, journal and lock files (issue #17, adversarial inputs): no
//! path read from a `-filelist` is written, `-dependency_info` and `-map`
//! are written at the path the option gives and nowhere else, and a
//! symbolic link planted where machlink writes (the output, or any of the
//! files it keeps beside an `-incremental` output) is replaced, never
//! followed: its target is left alone. That is what ld64 and ld64.lld do
//! for `-o` (they rename a new file over the name); following a link
//! would let whoever can add a name to the output's directory (a shared
//! `/tmp`, another user's build tree) aim machlink's writes at a file of
//! their choosing, and refusing would be an error that repeats on every
//! run. A FIFO planted at a state file's name does not hang a run either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};
use testkit::cli::{compile, run_ok};
use testkit::{capture, Outcome};

const MAIN: &str = r#"#include <stdio.h>
int f(int);
int main(void) { printf("%d\n", f(4)); return 0; }
"#;

const LIB: [&str; 2] = [
    "int f(int x) { return x * 2; }\n",
    "int f(int x) { volatile int s = x; for (int i = 0; i < 5; i++) s = s * 3 + i; return s; }\n",
];

/// What version `v` of the program prints.
const PRINTS: [&str; 2] = ["8\n", "1030\n"];

/// Every file machlink may write beside an incremental output `prog`
/// (and the temporary names it writes them under).
const BESIDE: [&str; 10] = [
    "prog.machlink-lock",
    "prog.machlink-journal",
    "prog.machlink-journal.tmp",
    "prog.machlink-delta",
    "prog.machlink-delta.tmp",
    "prog.machlink-state",
    "prog.machlink-state.tmp",
    "prog.machlink-image",
    "prog.machlink-image.tmp",
    "prog.machlink-patching",
];

struct Prog {
    objs: PathBuf,
    main: PathBuf,
    lib: PathBuf,
    versions: Vec<Vec<u8>>,
}

impl Prog {
    fn new(dir: &Path) -> Prog {
        let objs = dir.join("objs");
        std::fs::create_dir_all(&objs).unwrap();
        let main = compile(&objs, "main", MAIN);
        let versions = LIB
            .iter()
            .enumerate()
            .map(|(i, src)| std::fs::read(compile(&objs, &format!("lib_v{i}"), src)).unwrap())
            .collect();
        let p = Prog {
            lib: objs.join("lib.o"),
            objs,
            main,
            versions,
        };
        p.set(0);
        p
    }

    fn set(&self, v: usize) {
        std::fs::write(&self.lib, &self.versions[v]).unwrap();
        let f = std::fs::File::options()
            .write(true)
            .open(&self.lib)
            .unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(1_700_000_000 + v as u64))
            .unwrap();
    }

    fn command(&self, out: &Path, extra: &[&str]) -> Command {
        let mut cmd = testkit::machlink_command_for(testkit::Target::X86_64, out);
        cmd.arg("-v").args(extra).arg(&self.main).arg(&self.lib);
        cmd
    }

    fn link(&self, out: &Path, extra: &[&str]) -> String {
        let o = capture(&mut self.command(out, extra));
        ok(&o)
    }
}

fn ok(o: &Outcome) -> String {
    assert_eq!(o.code, 0, "machlink failed: {}", o.stderr_str());
    o.stderr_str()
}

/// Every name under `dir` with what it is: a file's length and contents'
/// hash, a link's target, a directory.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link to {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                todo.push(p.clone());
                "dir".to_string()
            } else if m.is_file() {
                let bytes = std::fs::read(&p).unwrap();
                format!("{} bytes {:x}", bytes.len(), xxhash(&bytes))
            } else {
                "special".to_string()
            };
            all.insert(p, what);
        }
    }
    all
}

fn xxhash(bytes: &[u8]) -> u64 {
    // FNV-1a: enough to tell contents apart here.
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A file that machlink must never write, and a name in a directory of
/// its own that it must never create.
struct Victims {
    dir: PathBuf,
    file: PathBuf,
    absent: PathBuf,
}

const VICTIM: &[u8] = b"a file of someone else's\n";

impl Victims {
    fn new(dir: &Path) -> Victims {
        let dir = dir.join("victims");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("precious");
        std::fs::write(&file, VICTIM).unwrap();
        Victims {
            absent: dir.join("never-created"),
            dir,
            file,
        }
    }

    fn untouched(&self, case: &str) {
        assert_eq!(
            std::fs::read(&self.file).unwrap(),
            VICTIM,
            "{case}: machlink wrote through a planted link into another file"
        );
        assert!(
            !self.absent.exists(),
            "{case}: machlink created a file a planted link names"
        );
        let names: Vec<_> = std::fs::read_dir(&self.dir).unwrap().collect();
        assert_eq!(names.len(), 1, "{case}: {names:?}");
    }
}

/// Plants a symbolic link (to the victim, or to a name that does not
/// exist) or a FIFO at `path`.
fn plant(path: &Path, what: usize, v: &Victims) {
    let _ = std::fs::remove_file(path);
    match what {
        0 => std::os::unix::fs::symlink(&v.file, path).unwrap(),
        1 => std::os::unix::fs::symlink(&v.absent, path).unwrap(),
        _ => testkit::check(Command::new("mkfifo").arg(path)),
    }
}

const PLANTED: [&str; 3] = ["link to a file", "dangling link", "FIFO"];

#[test]
fn links_planted_beside_an_incremental_output_are_replaced_never_followed() {
    let dir = testkit::scratch_dir("path_safety/beside");
    let p = Prog::new(&dir);
    let v = Victims::new(&dir);
    for signed in [false, true] {
        let extra: &[&str] = if signed {
            &["-incremental", "-adhoc_codesign"]
        } else {
            &["-incremental"]
        };
        for name in BESIDE {
            for (what, planted) in PLANTED.iter().enumerate() {
                let case = format!("{planted} at {name}, signed={signed}");
                let out_dir = dir.join("out");
                let _ = std::fs::remove_dir_all(&out_dir);
                std::fs::create_dir(&out_dir).unwrap();
                let out = out_dir.join("prog");

                // Before the first link.
                p.set(0);
                plant(&out_dir.join(name), what, &v);
                p.link(&out, extra);
                assert_eq!(run_ok(&out), PRINTS[0], "{case}");
                v.untouched(&case);

                // Before an update.
                plant(&out_dir.join(name), what, &v);
                p.set(1);
                p.link(&out, extra);
                assert_eq!(run_ok(&out), PRINTS[1], "{case}");
                v.untouched(&case);

                // And the run after that is an update again.
                p.set(0);
                let said = p.link(&out, extra);
                assert_eq!(run_ok(&out), PRINTS[0], "{case}");
                assert!(said.contains("updated 1 object(s)"), "{case}: {said}");
                v.untouched(&case);
            }
        }
    }
}

#[test]
fn a_planted_link_at_the_output_of_a_plain_link_is_replaced() {
    let dir = testkit::scratch_dir("path_safety/output");
    let p = Prog::new(&dir);
    let v = Victims::new(&dir);
    for (what, planted) in PLANTED.iter().enumerate().take(2) {
        let out = dir.join("prog");
        plant(&out, what, &v);
        p.link(&out, &[]);
        assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
        assert_eq!(run_ok(&out), PRINTS[0]);
        v.untouched(planted);
    }
}

#[test]
fn dependency_info_and_map_are_written_where_the_options_say_and_nowhere_else() {
    let dir = testkit::scratch_dir("path_safety/named-files");
    let p = Prog::new(&dir);
    let v = Victims::new(&dir);
    let out_dir = dir.join("out");
    let out = out_dir.join("prog");
    let deps = out_dir.join("deps.dat");
    let map = out_dir.join("prog.map");
    for extra in [&[][..], &["-incremental"]] {
        for what in [None, Some(0), Some(1)] {
            let case = format!("{extra:?} {:?}", what.map(|w| PLANTED[w]));
            let _ = std::fs::remove_dir_all(&out_dir);
            std::fs::create_dir(&out_dir).unwrap();
            for f in [&deps, &map] {
                let _ = std::fs::remove_file(f);
                if let Some(w) = what {
                    plant(f, w, &v);
                }
            }
            let before = snapshot(&dir);
            let mut args = extra.to_vec();
            args.extend(["-dependency_info", deps.to_str().unwrap()]);
            args.extend(["-map", map.to_str().unwrap()]);
            p.link(&out, &args);
            v.untouched(&case);
            for f in [&deps, &map] {
                assert!(
                    std::fs::symlink_metadata(f).unwrap().is_file(),
                    "{case}: {} is written as a file of its own",
                    f.display()
                );
            }
            let info = std::fs::read(&deps).unwrap();
            assert!(info.starts_with(b"\0machlink-"), "{case}");
            // (0x40, the output's record, is '@'.)
            let needle = format!("@{}\0", out.display()).into_bytes();
            assert!(
                info.windows(needle.len()).any(|w| w == needle),
                "{case}: the output's record"
            );
            // Nothing else changed but the output, its state and these.
            let after = snapshot(&dir);
            for (path, was) in &before {
                if after.get(path) != Some(was) {
                    let name = path.file_name().unwrap().to_string_lossy();
                    assert!(
                        name.starts_with("prog") || name == "deps.dat",
                        "{case}: {} changed",
                        path.display()
                    );
                }
            }
            for path in after.keys() {
                let name = path.file_name().unwrap().to_string_lossy();
                assert!(
                    before.contains_key(path) || name.starts_with("prog") || name == "deps.dat",
                    "{case}: {} appeared",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn paths_in_a_filelist_are_only_read() {
    let dir = testkit::scratch_dir("path_safety/filelist");
    let p = Prog::new(&dir);
    let v = Victims::new(&dir);
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("prog");
    let rel = |o: &Path| o.strip_prefix(&p.objs).unwrap().display().to_string();
    let lists: Vec<(String, Option<&Path>, bool)> = vec![
        // The inputs, plain and relative to the list's directory.
        (
            format!("{}\n{}\n", p.main.display(), p.lib.display()),
            None,
            true,
        ),
        (
            format!("{}\n{}\n", rel(&p.main), rel(&p.lib)),
            Some(&p.objs),
            true,
        ),
        // Names that look like options or outputs, and the victim itself
        // as an input: read (or found missing), never written.
        (
            format!(
                "{}\n-o {}\n{}\n",
                p.main.display(),
                v.absent.display(),
                p.lib.display()
            ),
            None,
            false,
        ),
        (
            format!(
                "{}\n{}\n{}\n",
                p.main.display(),
                v.file.display(),
                p.lib.display()
            ),
            None,
            false,
        ),
        (
            format!("{}\n../victims/never-created\n", rel(&p.main)),
            Some(&p.objs),
            false,
        ),
    ];
    for (i, (list, under, links)) in lists.iter().enumerate() {
        let filelist = dir.join(format!("list{i}"));
        std::fs::write(&filelist, list).unwrap();
        let arg = match under {
            Some(d) => format!("{},{}", filelist.display(), d.display()),
            None => filelist.display().to_string(),
        };
        for extra in [&[][..], &["-incremental"]] {
            let _ = std::fs::remove_dir_all(&out_dir);
            std::fs::create_dir(&out_dir).unwrap();
            let before = snapshot(&dir);
            let mut cmd = testkit::machlink_command_for(testkit::Target::X86_64, &out);
            let o = capture(cmd.args(extra).args(["-filelist", &arg]));
            let case = format!("list {i} {extra:?}: {list:?}");
            assert_eq!(o.code == 0, *links, "{case}: {}", o.stderr_str());
            v.untouched(&case);
            let after = snapshot(&dir);
            for (path, what) in &after {
                if path.starts_with(&out_dir) && *path != out_dir {
                    continue;
                }
                assert_eq!(
                    before.get(path),
                    Some(what),
                    "{case}: {} was written",
                    path.display()
                );
            }
            let inside = |p: &&PathBuf| p.starts_with(&out_dir) && **p != out_dir;
            assert_eq!(
                before.keys().filter(|p| !inside(p)).count(),
                after.keys().filter(|p| !inside(p)).count(),
                "{case}"
            );
            if *links {
                assert_eq!(run_ok(&out), PRINTS[0], "{case}");
            } else {
                assert!(!out.exists(), "{case}: a failed link leaves no output");
            }
        }
    }
}
