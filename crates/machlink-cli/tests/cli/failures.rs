//! Failures of the outside world (issue #10): a read-only output or
//! directory, a full disk, a crash or an error at each step of an update, a
//! journal that cannot be applied, outputs that are not regular files, and
//! symbolic and hard links. Each time the old output survives (or the new
//! one is whole), nothing runnable is ever a mix of the two, and the run
//! after the cause is removed succeeds. `-v` says what happened, in one
//! line.
//!
//! Some of these need root (tests run as root: see README.md): a private
//! tmpfs for the full disk, a private device node, and running machlink as
//! an unprivileged user to whom permissions apply.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};
use testkit::cli::{compile, interrupted, run_ok};
use testkit::{capture, Outcome};

const MAIN: &str = r#"#include <stdio.h>
int f(int);
const char *name(void);
int main(void) {
    printf("%s %d\n", name(), f(4));
    return 0;
}
"#;

const LIB: [&str; 2] = [
    "int f(int x) { return x * 2; }\nconst char *name(void) { return \"one\"; }\n",
    "int f(int x) { volatile int s = x; for (int i = 0; i < 9; i++) s = s * 7 + i; \
     return s + (s >> 3) + (s ^ 0x55) + (s & 0x3ff) * 11; }\n\
     const char *name(void) { return \"two\"; }\n",
];

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn require_root(what: &str) {
    assert!(
        is_root(),
        "this test needs root {what}; the test command runs as root (scripts/test.sh, see README.md)"
    );
}

/// A program's objects in `dir/objs`: main.o and lib.o (version 0), and the
/// compiled versions of lib.o to switch between.
struct Prog {
    dir: PathBuf,
    main: PathBuf,
    lib: PathBuf,
    versions: Vec<Vec<u8>>,
    /// The machlink binary and -syslibroot the runs use.
    machlink: PathBuf,
    sdk: PathBuf,
}

/// Whether the unprivileged user may do `test FLAG path` (-r, -x).
fn nobody_can(flag: &str, path: &Path) -> bool {
    use std::os::unix::process::CommandExt;
    Command::new("/usr/bin/test")
        .arg(flag)
        .arg(path)
        .uid(NOBODY)
        .gid(NOBODY)
        .status()
        .is_ok_and(|s| s.success())
}

impl Prog {
    fn new(name: &str) -> Prog {
        let dir = testkit::scratch_dir(&format!("failures/{name}"));
        Prog::in_dir(dir, testkit::workspace_bin("machlink"), testkit::sdk_root())
    }

    /// A program that the unprivileged user can link: in the workspace's
    /// scratch directory when that user can reach it (and run machlink and
    /// read the SDK there), else under the system's temporary directory
    /// with copies of machlink and the SDK's libSystem stub.
    fn for_nobody(name: &str) -> Prog {
        let (machlink, sdk) = (testkit::workspace_bin("machlink"), testkit::sdk_root());
        let scratch = testkit::scratch_dir(&format!("failures/{name}"));
        if !is_root()
            || (nobody_can("-x", &machlink)
                && nobody_can("-r", &sdk.join("usr/lib/libSystem.tbd"))
                && nobody_can("-x", &scratch))
        {
            return Prog::in_dir(scratch, machlink, sdk);
        }
        let dir = std::env::temp_dir().join(format!("machlink-failures-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        let lib = dir.join("sdk/usr/lib");
        std::fs::create_dir_all(&lib).unwrap();
        for d in [&dir, &dir.join("sdk"), &lib] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::copy(sdk.join("usr/lib/libSystem.tbd"), lib.join("libSystem.tbd")).unwrap();
        // Copied by a child process: a copy written here could leave its
        // write descriptor in a child that another test thread forks
        // meanwhile, and running the copy would then fail with "Text file
        // busy" (ETXTBSY).
        testkit::check(Command::new("cp").arg(&machlink).arg(dir.join("machlink")));
        let p = Prog::in_dir(dir.clone(), dir.join("machlink"), dir.join("sdk"));
        assert!(
            nobody_can("-x", &p.machlink),
            "user nobody cannot run {} (is {} mounted noexec?)",
            p.machlink.display(),
            std::env::temp_dir().display()
        );
        p
    }

    fn in_dir(dir: PathBuf, machlink: PathBuf, sdk: PathBuf) -> Prog {
        let objs = dir.join("objs");
        std::fs::create_dir_all(&objs).unwrap();
        let main = compile(&objs, "main", MAIN);
        let versions: Vec<Vec<u8>> = LIB
            .iter()
            .enumerate()
            .map(|(i, src)| std::fs::read(compile(&objs, &format!("lib_v{i}"), src)).unwrap())
            .collect();
        let p = Prog {
            lib: objs.join("lib.o"),
            dir,
            main,
            versions,
            machlink,
            sdk,
        };
        p.set(0);
        p
    }

    /// Puts version `v` of lib.o in place (with a time of its own).
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
        let mut cmd = testkit::ld64_command_in(&self.machlink, &self.sdk, out);
        cmd.args(["-v"]).args(extra).arg(&self.main).arg(&self.lib);
        cmd
    }

    fn link(&self, out: &Path, extra: &[&str]) -> Outcome {
        capture(&mut self.command(out, extra))
    }

    /// Updates to version 1 with `-incremental`, crashing at `point`.
    fn interrupted_update(&self, out: &Path, point: &str) {
        self.set(1);
        interrupted(&mut self.command(out, &["-incremental"]), point);
    }

    /// Links as an unprivileged user (root ignores permissions).
    fn link_as_nobody(&self, out: &Path, extra: &[&str]) -> Outcome {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.command(out, extra);
        if is_root() {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        capture(&mut cmd)
    }
}

fn ok(o: &Outcome) -> String {
    assert_eq!(o.code, 0, "machlink failed: {}", o.stderr_str());
    o.stderr_str()
}

const ONE: &str = "one 8\n";

/// What version 1 prints (computed like the C code does).
fn two() -> String {
    let mut s: i32 = 4;
    for i in 0..9 {
        s = s.wrapping_mul(7).wrapping_add(i);
    }
    format!(
        "two {}\n",
        s.wrapping_add(s >> 3)
            .wrapping_add(s ^ 0x55)
            .wrapping_add((s & 0x3ff) * 11)
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Only the output and the files an incremental output keeps beside it:
/// no pending journal (one marked done is kept for the next update), no
/// temporary or half-patched copies.
fn assert_clean(dir: &Path, allowed: &[&str]) {
    for n in names(dir) {
        let done_journal =
            n == "prog.machlink-journal" && !testkit::cli::journal_pending(&dir.join("prog"));
        assert!(
            done_journal
                || allowed.contains(&n.as_str())
                || [
                    "prog.machlink-state",
                    "prog.machlink-delta",
                    "prog.machlink-lock",
                    "prog.machlink-image"
                ]
                .contains(&n.as_str()),
            "{} was left in {}: {:?}",
            n,
            dir.display(),
            names(dir)
        );
    }
}

/// A run that failed saying `says`, and left the old output (`before`,
/// which prints `prints`) and nothing else behind.
fn failed_cleanly(o: &Outcome, says: &str, out: &Path, before: &[u8], prints: &str, also: &str) {
    assert_eq!(o.code, 1, "{}", o.stderr_str());
    assert!(
        o.stderr_str().contains(says),
        "expected {says:?} in: {}",
        o.stderr_str()
    );
    assert!(
        std::fs::read(out).unwrap() == before,
        "the old output survives"
    );
    assert_eq!(run_ok(out), prints);
    assert_clean(out.parent().unwrap(), &["prog", also]);
}

fn chown_nobody(p: &Path) {
    if is_root() {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

#[test]
fn a_read_only_output_is_replaced_as_plain_links_do_and_updates_go_on() {
    let p = Prog::for_nobody("read-only-output");
    let dir = p.dir.join("out");
    std::fs::create_dir(&dir).unwrap();
    chown_nobody(&dir);
    let out = dir.join("prog");
    ok(&p.link_as_nobody(&out, &["-incremental"]));
    assert_eq!(run_ok(&out), ONE);

    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    p.set(1);
    let said = ok(&p.link_as_nobody(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    assert_eq!(run_ok(&out), two());
    assert_eq!(mode(&out), 0o555, "the output keeps its mode");
    assert_clean(&dir, &["prog"]);

    // A plain link replaces it too (as ld64.lld does).
    p.set(0);
    ok(&p.link_as_nobody(&out, &[]));
    assert_eq!(run_ok(&out), ONE);
}

#[test]
fn a_read_only_directory_fails_cleanly_and_the_run_after_succeeds() {
    let p = Prog::for_nobody("read-only-directory");
    let dir = p.dir.join("out");
    std::fs::create_dir(&dir).unwrap();
    chown_nobody(&dir);
    let out = dir.join("prog");
    ok(&p.link_as_nobody(&out, &["-incremental"]));
    let before = std::fs::read(&out).unwrap();

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    p.set(1);
    // The error names the file it could not write.
    let o = p.link_as_nobody(&out, &["-incremental"]);
    let denied = "prog.machlink-journal: Permission denied";
    failed_cleanly(&o, denied, &out, &before, ONE, "prog");
    let o = p.link_as_nobody(&out, &[]);
    failed_cleanly(&o, "cannot create output", &out, &before, ONE, "prog");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let said = ok(&p.link_as_nobody(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    assert_eq!(run_ok(&out), two());
}

/// A private tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        require_root("to mount a private tmpfs");
        std::fs::create_dir_all(dir).unwrap();
        testkit::check(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir),
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    for chunk in [65536, 4096, 1] {
        let buf = vec![0xa5u8; chunk];
        loop {
            match f.write(&buf) {
                Ok(n) if n == chunk => continue,
                Ok(_) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_the_run_after_succeeds() {
    let p = Prog::new("full-disk");
    let fs = Tmpfs::mount(&p.dir.join("disk"), "3m");
    let dir = &fs.0;
    let out = dir.join("prog");
    let filler = dir.join("filler");
    ok(&p.link(&out, &["-incremental"]));
    let before = std::fs::read(&out).unwrap();

    // An update on a full disk.
    fill(&filler);
    p.set(1);
    let o = p.link(&out, &["-incremental"]);
    failed_cleanly(&o, "No space left", &out, &before, ONE, "filler");
    std::fs::remove_file(&filler).unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    assert_eq!(run_ok(&out), two());

    // A full link (plain, or -incremental without its state) on a full disk.
    let updated = std::fs::read(&out).unwrap();
    fill(&filler);
    p.set(0);
    std::fs::remove_file(dir.join("prog.machlink-state")).unwrap();
    for extra in [&["-incremental"][..], &[]] {
        let o = p.link(&out, extra);
        failed_cleanly(&o, "No space left", &out, &updated, &two(), "filler");
    }
    std::fs::remove_file(&filler).unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("full link"), "{said}");
    assert_eq!(run_ok(&out), ONE);
}

#[test]
fn a_crash_or_an_error_at_each_step_of_an_update_never_leaves_a_runnable_mix() {
    let p = Prog::new("faults");
    for signed in [false, true] {
        let extra: &[&str] = if signed {
            &["-incremental", "-adhoc_codesign"]
        } else {
            &["-incremental"]
        };
        // What the update writes, undisturbed (under the same file name:
        // a signature names its file).
        let reference = p.dir.join(format!("reference-{signed}")).join("prog");
        std::fs::create_dir(reference.parent().unwrap()).unwrap();
        p.set(0);
        ok(&p.link(&reference, extra));
        let old = std::fs::read(&reference).unwrap();
        p.set(1);
        ok(&p.link(&reference, extra));
        let new = std::fs::read(&reference).unwrap();
        assert_ne!(old, new);

        for var in ["MACHLINK_TEST_FAIL", "MACHLINK_TEST_CRASH"] {
            for point in testkit::cli::CRASH_POINTS {
                let case = format!("{var}={point} signed={signed}");
                let dir = p.dir.join(format!("{var}-{point}-{signed}"));
                std::fs::create_dir(&dir).unwrap();
                let out = dir.join("prog");
                p.set(0);
                ok(&p.link(&out, extra));
                assert!(
                    std::fs::read(&out).unwrap() == old,
                    "{case}: not the reference"
                );
                p.set(1);
                let o = capture(p.command(&out, extra).env(var, point));
                assert_ne!(o.code, 0, "{case}: the hook did not fire");
                let now = std::fs::read(&out).unwrap();
                let runnable = mode(&out) & 0o111 != 0;
                assert!(
                    !runnable || now == old || now == new,
                    "{case}: a runnable output is neither the old nor the new one"
                );
                let untouched = matches!(
                    point,
                    "journal" | "after-journal" | "delta" | "before-patch"
                ) || (signed && point == "mid-patch");
                if untouched {
                    assert!(
                        runnable && now == old,
                        "{case}: the old output must survive"
                    );
                }
                if var == "MACHLINK_TEST_FAIL" && untouched {
                    assert_clean(&dir, &["prog"]);
                }
                // The next run completes the update.
                let said = ok(&p.link(&out, extra));
                assert!(
                    said.contains("updated 1 object(s)")
                        || said.contains("finished an interrupted update"),
                    "{case}: {said}"
                );
                assert!(
                    std::fs::read(&out).unwrap() == new,
                    "{case}: not the update's output"
                );
                assert_eq!(run_ok(&out), two(), "{case}");
                assert_clean(&dir, &["prog"]);
            }
        }
    }
}

#[test]
fn a_journal_that_cannot_be_applied_is_discarded_and_a_full_link_follows() {
    let p = Prog::new("unappliable-journal");
    let out = p.dir.join("prog");
    let journal = p.dir.join("prog.machlink-journal");

    // The output was cut short after the journal was written.
    ok(&p.link(&out, &["-incremental"]));
    p.interrupted_update(&out, "after-journal");
    assert!(journal.is_file());
    let len = std::fs::metadata(&out).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&out)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("full link: discarded the journal of an interrupted update: the output is"),
        "{said}"
    );
    assert_eq!(run_ok(&out), two());
    assert!(!journal.exists());

    // A damaged journal, with the output half patched.
    p.set(0);
    ok(&p.link(&out, &["-incremental"]));
    p.interrupted_update(&out, "mid-patch");
    let mut bytes = std::fs::read(&journal).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&journal, bytes).unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("full link: discarded the journal of an interrupted update: it is damaged"),
        "{said}"
    );
    assert_eq!(run_ok(&out), two());
    assert_clean(&p.dir, &["prog", "objs", "prog.machlink-lock"]);
}

#[test]
fn deleting_the_state_and_journal_always_gives_a_clean_full_link() {
    let p = Prog::new("delete-state");
    let out = p.dir.join("prog");
    ok(&p.link(&out, &["-incremental"]));
    p.interrupted_update(&out, "mid-patch");
    assert_eq!(
        mode(&out) & 0o111,
        0,
        "a half-patched output is not runnable"
    );
    std::fs::remove_file(p.dir.join("prog.machlink-state")).unwrap();
    std::fs::remove_file(p.dir.join("prog.machlink-journal")).unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("full link: no incremental state beside the output"),
        "{said}"
    );
    assert_eq!(run_ok(&out), two());
    // A deleted output (rustc deletes it before it links) comes back from
    // the image link the state keeps, and is updated.
    std::fs::remove_file(&out).unwrap();
    p.set(0);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("the output was deleted since the last link; its image was kept")
            && said.contains("updated 1 object(s)"),
        "{said}"
    );
    assert_eq!(run_ok(&out), ONE);
    // Without it (or with another file there), a deleted output is
    // reported as missing.
    let image = p.dir.join("prog.machlink-image");
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(&image).unwrap();
    std::fs::write(&image, b"not the image").unwrap();
    p.set(1);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("full link: the output is missing"), "{said}");
    assert_eq!(run_ok(&out), two());
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(&image).unwrap();
    p.set(0);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("full link: the output is missing"), "{said}");
    assert_eq!(run_ok(&out), ONE);
}

/// An update gives the execute bits back last and does not sync that: a
/// power failure right after it may leave the finished output without
/// them and its journal marked done. The run after links in full (as it
/// does for any output without execute bits) instead of updating a file
/// that would keep the mode.
#[test]
fn an_output_left_without_execute_bits_is_linked_in_full() {
    let p = Prog::new("no-execute-bits");
    let out = p.dir.join("prog");
    ok(&p.link(&out, &["-incremental"]));
    p.set(1);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("full link: the output has no execute bits"),
        "{said}"
    );
    assert_eq!(mode(&out), 0o755);
    assert_eq!(run_ok(&out), two());
    // And the run after updates it again.
    p.set(0);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    assert_eq!((mode(&out), run_ok(&out)), (0o755, ONE.to_string()));
}

/// Reads a FIFO to its end on another thread.
fn read_fifo(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let path = path.to_path_buf();
    std::thread::spawn(move || std::fs::read(path).unwrap())
}

#[test]
fn outputs_that_are_not_regular_files_are_written_into_never_replaced() {
    let p = Prog::new("special-outputs");
    let dir = &p.dir;
    for extra in [&[][..], &["-incremental"]] {
        let regular = dir.join("regular");
        let _ = std::fs::remove_file(&regular);
        ok(&p.link(&regular, extra));
        let expected = std::fs::read(&regular).unwrap();

        // A FIFO: the output arrives through it whole.
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        testkit::check(Command::new("mkfifo").arg(&fifo));
        let reader = read_fifo(&fifo);
        let said = ok(&p.link(&fifo, extra));
        assert!(reader.join().unwrap() == expected, "{extra:?}: FIFO bytes");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        if !extra.is_empty() {
            assert!(
                said.contains("the output is a FIFO, not a regular file"),
                "{said}"
            );
        }

        // A private null device (what -o /dev/null reaches).
        require_root("to make a private device node");
        let null = dir.join("null");
        let _ = std::fs::remove_file(&null);
        testkit::check(Command::new("mknod").arg(&null).args(["c", "1", "3"]));
        let said = ok(&p.link(&null, extra));
        let m = std::fs::symlink_metadata(&null).unwrap();
        assert!(
            m.file_type().is_char_device(),
            "{extra:?}: the device was replaced"
        );
        assert_eq!(m.rdev(), libc::makedev(1, 3));
        if !extra.is_empty() {
            assert!(said.contains("the output is a character device"), "{said}");
        }

        // A link to a descriptor (as /dev/stdout is) whose file is regular:
        // written through, and the link stays.
        let via = dir.join("stdout-link");
        let _ = std::fs::remove_file(&via);
        std::os::unix::fs::symlink("/proc/self/fd/1", &via).unwrap();
        let captured = dir.join("captured");
        let o = capture(
            p.command(&via, extra)
                .stdout(std::fs::File::create(&captured).unwrap()),
        );
        ok(&o);
        assert!(
            std::fs::read(&captured).unwrap() == expected,
            "{extra:?}: captured bytes"
        );
        assert!(std::fs::symlink_metadata(&via)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    assert_clean(
        dir,
        &[
            "objs",
            "regular",
            "regular.machlink-state",
            "regular.machlink-lock",
            "regular.machlink-image",
            "fifo",
            "null",
            "stdout-link",
            "captured",
        ],
    );
}

#[test]
fn symbolic_and_hard_links_at_the_output_are_replaced_as_ld64_does() {
    let p = Prog::new("linked-outputs");
    let dir = &p.dir;
    let out = dir.join("prog");

    // A symbolic link is replaced by the output; its target is untouched.
    let target = dir.join("target");
    std::fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink(&target, &out).unwrap();
    ok(&p.link(&out, &[]));
    assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(run_ok(&out), ONE);

    // A hard link's other name keeps the old contents.
    let other = dir.join("other");
    std::fs::remove_file(&out).unwrap();
    std::fs::write(&other, b"old").unwrap();
    std::fs::hard_link(&other, &out).unwrap();
    ok(&p.link(&out, &[]));
    assert_eq!(std::fs::read(&other).unwrap(), b"old");
    assert_eq!(run_ok(&out), ONE);

    // The same for updates: a hard-linked output is updated on a copy.
    std::fs::remove_file(&out).unwrap();
    ok(&p.link(&out, &["-incremental"]));
    let keep = dir.join("keep");
    std::fs::hard_link(&out, &keep).unwrap();
    let v0 = std::fs::read(&out).unwrap();
    p.set(1);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    assert_eq!(run_ok(&out), two());
    assert!(
        std::fs::read(&keep).unwrap() == v0,
        "the other name keeps the old output"
    );

    // An output replaced by a symbolic link since: a full link replaces it.
    let real = dir.join("real");
    std::fs::rename(&out, &real).unwrap();
    std::os::unix::fs::symlink(&real, &out).unwrap();
    let before = std::fs::read(&real).unwrap();
    p.set(0);
    let said = ok(&p.link(&out, &["-incremental"]));
    assert!(
        said.contains("full link: the output was replaced by a symbolic link"),
        "{said}"
    );
    assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
    assert!(
        std::fs::read(&real).unwrap() == before,
        "the link target is untouched"
    );
    assert_eq!(run_ok(&out), ONE);
}

#[test]
fn verbose_prints_one_line_per_run() {
    let p = Prog::new("verbose");
    let out = p.dir.join("prog");
    let one_line = |o: &Outcome| {
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        assert!(o.stdout.is_empty(), "stdout: {}", o.stdout_str());
        assert_eq!(o.stderr_str().lines().count(), 1, "{}", o.stderr_str());
        o.stderr_str()
    };
    let said = one_line(&p.link(&out, &[]));
    assert!(said.starts_with("machlink: linked "), "{said}");
    let said = one_line(&p.link(&out, &["-incremental"]));
    assert!(
        said.starts_with(
            "machlink: incremental: full link: no incremental state beside the output"
        ),
        "{said}"
    );
    p.set(1);
    let said = one_line(&p.link(&out, &["-incremental"]));
    assert!(said.contains("updated 1 object(s)"), "{said}");
    // `-v` alone prints the version; --version on stdout.
    let o = capture(Command::new(testkit::workspace_bin("machlink")).arg("-v"));
    let said = one_line(&o);
    assert!(said.starts_with("machlink "), "{said}");
    let o = capture(Command::new(testkit::workspace_bin("machlink")).arg("--version"));
    assert_eq!(o.code, 0);
    assert!(o.stdout_str().starts_with("machlink "));
}
