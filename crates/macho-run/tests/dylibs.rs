//! Programs split into a dylib and an executable: macho-run must find the
//! dylib (by `@rpath` through `-rpath @executable_path`, or by an absolute
//! install name), map it at a free address, fix it up, bind both images
//! two-level and run the dylib's initialisers first, so the program behaves
//! exactly as the same C compiled natively (byte-identical stdout, stderr
//! and exit code). Both images are linked by ld64.lld-19 and by machlink,
//! each in both fixup formats.

use macho_run::loader::FORCE_SLIDE_ENV;
use macho_run::shims::lazy::LAZY_ENV;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, run_corpus_program, Outcome, CORPUS_CFLAGS};

/// Corpus programs whose non-`main` sources make a self-contained dylib.
/// Left out: `globals_common` (main.c has tentative definitions, e.g.
/// `shared_total` and `shared_buf`, that the native link merges with a.c's
/// and b.c's commons; across a dylib boundary the executable gets its own
/// copy while the dylib uses its own, as under dyld, so main sees zeros),
/// and the single-source programs.
/// `tls_threads` is left out too: other.c uses a thread-local main.c
/// defines, and ld64.lld-19 refuses a TLV reference to an undefined symbol
/// even with `-undefined dynamic_lookup` (thread-locals in a dylib are
/// covered by `thread_locals_in_a_dylib` below). With each program, extra
/// flags for linking its dylib.
const SPLIT_PROGRAMS: &[(&str, &[&str])] = &[
    ("xobj_calls", &[]),
    ("fnptr_tables", &[]),
    ("ctor_dtor", &[]),
    ("weak_defs", &[]),
];

fn macho_run(exe: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_macho-run"));
    cmd.arg(exe);
    cmd
}

/// A linker and fixup format for both the dylib and the executable.
#[derive(Clone, Copy)]
enum Ld {
    Lld,
    Machlink,
}

/// Both linkers in both fixup formats (`classic`: `-no_fixup_chains`),
/// each named `lld-chained`, `machlink-classic`, ...
fn variants() -> Vec<(Ld, bool, String)> {
    let mut v = Vec::new();
    for ld in [Ld::Lld, Ld::Machlink] {
        for classic in [false, true] {
            let format = if classic { "classic" } else { "chained" };
            v.push((ld, classic, format!("{}-{format}", ld.name())));
        }
    }
    v
}

impl Ld {
    fn command(self, out: &Path) -> Command {
        match self {
            Ld::Lld => testkit::lld_command(out),
            Ld::Machlink => testkit::machlink_command(out),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ld::Lld => "lld",
            Ld::Machlink => "machlink",
        }
    }
}

/// Where the executable expects the dylib.
#[derive(Clone, Copy)]
enum Install {
    /// `@rpath/libprog.dylib`, with `-rpath @executable_path` in the executable.
    Rpath,
    /// The dylib's absolute path.
    Absolute,
}

/// Links `objs` into a dylib with `install_name`.
fn link_dylib(
    ld: Ld,
    classic: bool,
    objs: &[PathBuf],
    out: &Path,
    install_name: &str,
    extra: &[&str],
) {
    let mut cmd = ld.command(out);
    cmd.args(["-dylib", "-install_name", install_name])
        .args(extra);
    if classic {
        cmd.arg("-no_fixup_chains");
    }
    testkit::check(cmd.args(objs));
}

/// Links `objs` against `dylibs` into an executable.
fn link_exe(ld: Ld, classic: bool, objs: &[PathBuf], dylibs: &[&Path], out: &Path, extra: &[&str]) {
    let mut cmd = ld.command(out);
    if classic {
        cmd.arg("-no_fixup_chains");
    }
    testkit::check(cmd.args(extra).args(objs).args(dylibs));
}

/// Splits one corpus program, links it every way and runs it; returns how
/// each run differed from the native build.
fn check_split(name: &str, dylib_flags: &[&str]) -> (Vec<String>, usize) {
    let dir = testkit::corpus_dir(name);
    let work = testkit::scratch_dir(&format!("dylibs/{name}"));
    let srcs = testkit::c_sources(&dir);
    let native = work.join("native");
    testkit::build_native(&srcs, &native, CORPUS_CFLAGS);
    let expected = run_corpus_program(&mut Command::new(&native), &[]);
    assert_eq!(expected.code, 0, "{name}: native build fails");

    let objs = testkit::compile_all_macos(&srcs, &work, CORPUS_CFLAGS);
    let is_main = |o: &PathBuf| o.file_stem().is_some_and(|s| s == "main");
    let main_objs: Vec<PathBuf> = objs.iter().filter(|o| is_main(o)).cloned().collect();
    let lib_objs: Vec<PathBuf> = objs.iter().filter(|o| !is_main(o)).cloned().collect();
    assert!(
        main_objs.len() == 1 && !lib_objs.is_empty(),
        "{name}: needs main.c and other sources"
    );

    let mut problems = Vec::new();
    let mut runs = 0;
    for ld in [Ld::Lld, Ld::Machlink] {
        for classic in [false, true] {
            for install in [Install::Rpath, Install::Absolute] {
                let variant = format!(
                    "{}-{}-{}",
                    ld.name(),
                    if classic { "classic" } else { "chained" },
                    match install {
                        Install::Rpath => "rpath",
                        Install::Absolute => "absolute",
                    }
                );
                let out_dir = work.join(&variant);
                std::fs::create_dir_all(&out_dir).unwrap();
                let dylib = out_dir.join("libprog.dylib");
                let exe = out_dir.join("prog");
                let (install_name, extra): (String, &[&str]) = match install {
                    Install::Rpath => (
                        "@rpath/libprog.dylib".into(),
                        &["-rpath", "@executable_path"],
                    ),
                    Install::Absolute => (dylib.display().to_string(), &[]),
                };
                link_dylib(ld, classic, &lib_objs, &dylib, &install_name, dylib_flags);
                link_exe(ld, classic, &main_objs, &[&dylib], &exe, extra);
                let mut modes: Vec<(&str, Option<&str>)> =
                    vec![("", None), (" (slid)", Some(FORCE_SLIDE_ENV))];
                if classic {
                    modes.push((" (lazy)", Some(LAZY_ENV)));
                }
                for (mode, env) in modes {
                    let extra_env: Vec<(&str, &str)> = env.iter().map(|&v| (v, "1")).collect();
                    let got = run_corpus_program(&mut macho_run(&exe), &extra_env);
                    runs += 1;
                    if got != expected {
                        let what = format!("{name} split into a dylib, {variant}{mode}");
                        problems.push(testkit::mismatch(&what, &expected, &got));
                    }
                }
            }
        }
    }
    (problems, runs)
}

#[test]
fn split_corpus_programs_behave_as_native_builds() {
    let results = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(SPLIT_PROGRAMS.len(), |i| {
        let (name, flags) = SPLIT_PROGRAMS[i];
        let r = check_split(name, flags);
        results.lock().unwrap().push(r);
    });
    let results = results.into_inner().unwrap();
    let runs: usize = results.iter().map(|r| r.1).sum();
    let problems: Vec<String> = results.into_iter().flat_map(|r| r.0).collect();
    assert!(
        problems.is_empty(),
        "{} of {runs} runs differ from the native build:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "dylibs: {} split programs, {runs} runs match their native builds",
        SPLIT_PROGRAMS.len()
    );
}

// ---------------------------------------------------------------------------
// Dylibs that load dylibs, re-exports, weak dylibs, missing dylibs
// ---------------------------------------------------------------------------

const BASE_C: &str = r#"
#include <stdio.h>
int base_ready;
int base_value(void) { return base_ready ? 40 : -1; }
__attribute__((constructor)) static void base_init(void) { base_ready = 1; printf("init base\n"); }
"#;

const MID_C: &str = r#"
#include <stdio.h>
extern int base_value(void);
extern int base_ready;
int *mid_sees = &base_ready;
int mid_value(void) { return base_value() + 2; }
__attribute__((constructor)) static void mid_init(void) { printf("init mid (base ready %d)\n", *mid_sees); }
"#;

const MAIN_C: &str = r#"
#include <stdio.h>
extern int mid_value(void);
extern int base_value(void);
__attribute__((constructor)) static void main_init(void) { printf("init main\n"); }
int main(void) { printf("mid %d base %d\n", mid_value(), base_value()); return 0; }
"#;

const CHAIN_OUTPUT: &str = "init base\ninit mid (base ready 1)\ninit main\nmid 42 base 40\n";

fn compile_src(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    testkit::compile_macos(&c, &o, &["-O1"]);
    o
}

fn assert_output(out: &Outcome, stdout: &str, what: &str) {
    assert_eq!(
        (out.code, out.stdout_str().as_str()),
        (0, stdout),
        "{what}: stderr: {}",
        out.stderr_str()
    );
}

/// prog (in DIR) loads DIR/lib/libmid.dylib (`@rpath`, `-rpath
/// @executable_path/lib`), which loads DIR/lib/sub/libbase.dylib.
/// Linked by lld: libbase's install name is `@loader_path/sub/...` and
/// libmid re-exports it (`-reexport_library`), so the executable, linked
/// against libmid only, binds base_value through libmid's ordinal.
/// Linked by machlink (which has no `-reexport_library`): libbase is
/// `@rpath/sub/...`, found through libmid's `-rpath @loader_path` and the
/// executable's own rpath, and loaded once. Either way initialisers run
/// base, mid, main.
#[test]
fn dylibs_load_their_own_dylibs_and_reexports_bind() {
    for (ld, classic, variant) in variants() {
        let dir = testkit::scratch_dir(&format!("dylibs/chain-{variant}"));
        let libdir = dir.join("lib");
        std::fs::create_dir_all(libdir.join("sub")).unwrap();
        let base = libdir.join("sub/libbase.dylib");
        let mid = libdir.join("libmid.dylib");
        let exe = dir.join("prog");
        let reexport = matches!(ld, Ld::Lld);
        link_dylib(
            ld,
            classic,
            &[compile_src(&dir, "base", BASE_C)],
            &base,
            if reexport {
                "@loader_path/sub/libbase.dylib"
            } else {
                "@rpath/sub/libbase.dylib"
            },
            &[],
        );
        let mut cmd = ld.command(&mid);
        cmd.args(["-dylib", "-install_name", "@rpath/libmid.dylib"]);
        if reexport {
            cmd.arg("-reexport_library").arg(&base);
        } else {
            cmd.args(["-rpath", "@loader_path"]).arg(&base);
        }
        cmd.arg(compile_src(&dir, "mid", MID_C));
        if classic {
            cmd.arg("-no_fixup_chains");
        }
        testkit::check(&mut cmd);
        let exe_libs: Vec<&Path> = if reexport {
            vec![&mid]
        } else {
            vec![&mid, &base]
        };
        link_exe(
            ld,
            classic,
            &[compile_src(&dir, "main", MAIN_C)],
            &exe_libs,
            &exe,
            &["-rpath", "@executable_path/lib"],
        );
        for env in [None, Some(FORCE_SLIDE_ENV), Some(LAZY_ENV)] {
            let mut cmd = macho_run(&exe);
            if let Some(v) = env {
                cmd.env(v, "1");
            }
            assert_output(
                &capture(&mut cmd),
                CHAIN_OUTPUT,
                &format!("{variant} {env:?}"),
            );
        }
    }
}

const WEAK_LIB_C: &str = "int lib_value(void) { return 42; }\n";

const WEAK_MAIN_C: &str = r#"
#include <stdio.h>
extern int lib_value(void) __attribute__((weak_import));
int main(void) {
    if (lib_value) printf("lib %d\n", lib_value()); else printf("no lib\n");
    return 0;
}
"#;

const STRONG_MAIN_C: &str = r#"
#include <stdio.h>
extern int lib_value(void);
int main(void) { printf("lib %d\n", lib_value()); return 0; }
"#;

/// Builds an executable linked against libweak.dylib (`@rpath`), weakly
/// (`-weak_library`, and a weak import) or not; returns (executable, dylib).
fn weak_program(name: &str, weak: bool) -> (PathBuf, PathBuf) {
    let dir = testkit::scratch_dir(&format!("dylibs/{name}"));
    let lib = dir.join("libweak.dylib");
    let exe = dir.join("prog");
    link_dylib(
        Ld::Lld,
        false,
        &[compile_src(&dir, "lib", WEAK_LIB_C)],
        &lib,
        "@rpath/libweak.dylib",
        &[],
    );
    let main = compile_src(&dir, "main", if weak { WEAK_MAIN_C } else { STRONG_MAIN_C });
    let mut cmd = testkit::lld_command(&exe);
    cmd.args(["-rpath", "@executable_path"]).arg(main);
    if weak {
        cmd.arg("-weak_library").arg(&lib);
    } else {
        cmd.arg(&lib);
    }
    testkit::check(&mut cmd);
    (exe, lib)
}

#[test]
fn a_missing_weak_dylib_leaves_its_imports_null() {
    let (exe, lib) = weak_program("weak-dylib", true);
    assert_output(
        &capture(&mut macho_run(&exe)),
        "lib 42\n",
        "weak dylib present",
    );
    std::fs::remove_file(&lib).unwrap();
    assert_output(
        &capture(&mut macho_run(&exe)),
        "no lib\n",
        "weak dylib missing",
    );
}

#[test]
fn a_missing_required_dylib_is_a_clear_error() {
    let (exe, lib) = weak_program("missing-dylib", false);
    assert_output(&capture(&mut macho_run(&exe)), "lib 42\n", "dylib present");
    std::fs::remove_file(&lib).unwrap();
    let out = capture(&mut macho_run(&exe));
    let err = out.stderr_str();
    assert_eq!(out.code, 127, "{err}");
    assert_eq!(out.stdout_str(), "");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
    assert!(
        err.contains("cannot find dylib @rpath/libweak.dylib"),
        "names the install name: {err}"
    );
    assert!(
        err.contains(&format!("tried {}", lib.display())),
        "names the path tried: {err}"
    );
}

const TLV_LIB_C: &str = r#"
_Thread_local int lib_counter = 5;
static _Thread_local char lib_name[8] = "lib";
int lib_bump(void) { lib_name[0] = 'L'; return ++lib_counter; }
const char *lib_tag(void) { return lib_name; }
"#;

const TLV_MAIN_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
extern _Thread_local int lib_counter;
extern int lib_bump(void);
extern const char *lib_tag(void);
_Thread_local int main_counter = 100;
static int seen[2];
static void *worker(void *arg) {
    (void)arg;
    main_counter++;
    seen[0] = lib_bump() + lib_bump();
    seen[1] = main_counter + lib_counter;
    return 0;
}
int main(void) {
    pthread_t t;
    lib_bump();
    pthread_create(&t, 0, worker, 0);
    pthread_join(t, 0);
    printf("thread %d %d; main %d %d %s\n", seen[0], seen[1], lib_counter, main_counter, lib_tag());
    return 0;
}
"#;

/// Thread-locals defined in a dylib, used there and (through an imported
/// descriptor) by the executable, which has thread-locals of its own: each
/// image gets its own per-thread template.
#[test]
fn thread_locals_in_a_dylib() {
    for (ld, classic, variant) in variants() {
        let dir = testkit::scratch_dir(&format!("dylibs/tlv-{variant}"));
        let lib = dir.join("libtlv.dylib");
        let exe = dir.join("prog");
        link_dylib(
            ld,
            classic,
            &[compile_src(&dir, "lib", TLV_LIB_C)],
            &lib,
            &lib.display().to_string(),
            &[],
        );
        link_exe(
            ld,
            classic,
            &[compile_src(&dir, "main", TLV_MAIN_C)],
            &[&lib],
            &exe,
            &[],
        );
        for env in [None, Some(FORCE_SLIDE_ENV)] {
            let mut cmd = macho_run(&exe);
            if let Some(v) = env {
                cmd.env(v, "1");
            }
            assert_output(
                &capture(&mut cmd),
                "thread 13 108; main 6 100 Lib\n",
                &format!("{variant} {env:?}"),
            );
        }
    }
}

const FLAT_LIB_C: &str = r#"
extern int from_main(int);
int lib_calls_main(int x) { return from_main(x) * 2; }
"#;

const FLAT_MAIN_C: &str = r#"
#include <stdio.h>
extern int lib_calls_main(int);
int from_main(int x) { return x + 1; }
int main(void) { printf("flat %d\n", lib_calls_main(20)); return 0; }
"#;

/// A dylib linked with `-undefined dynamic_lookup` finds a function the
/// executable defines by a flat lookup (ordinal -2) over every image.
#[test]
fn flat_lookups_search_every_image() {
    for (ld, classic, variant) in variants() {
        let dir = testkit::scratch_dir(&format!("dylibs/flat-{variant}"));
        let lib = dir.join("libflat.dylib");
        let exe = dir.join("prog");
        link_dylib(
            ld,
            classic,
            &[compile_src(&dir, "lib", FLAT_LIB_C)],
            &lib,
            "@executable_path/libflat.dylib",
            &["-undefined", "dynamic_lookup"],
        );
        link_exe(
            ld,
            classic,
            &[compile_src(&dir, "main", FLAT_MAIN_C)],
            &[&lib],
            &exe,
            &[],
        );
        assert_output(&capture(&mut macho_run(&exe)), "flat 42\n", &variant);
    }
}

/// A file in the dylib's place that is not a dylib (garbage, or an
/// executable) is refused with one line naming that file and the problem.
#[test]
fn a_dylib_that_is_not_a_dylib_is_refused() {
    let (exe, lib) = weak_program("bad-dylib", false);
    std::fs::write(&lib, b"not a mach-o at all").unwrap();
    let out = capture(&mut macho_run(&exe));
    let err = out.stderr_str();
    assert_eq!(out.code, 126, "{err}");
    assert!(
        err.contains(&format!("{}: not a Mach-O file (bad magic)", lib.display())),
        "{err}"
    );
    std::fs::copy(&exe, &lib).unwrap();
    let out = capture(&mut macho_run(&exe));
    let err = out.stderr_str();
    assert_eq!(out.code, 126, "{err}");
    assert!(
        err.contains("not a dylib (filetype 2, expected MH_DYLIB = 6)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
}

const COALESCE_LIB_C: &str = r#"
__attribute__((weak)) int pick(void) { return 1; }
__attribute__((weak)) int wvar = 10;
__attribute__((weak)) int only_lib(void) { return 3; }
__attribute__((weak)) int both(void) { return 4; }
int lib_pick(void) { return both() * 1000 + pick() * 100 + wvar + only_lib(); }
int *lib_wvar(void) { return &wvar; }
"#;

const COALESCE_MAIN_C: &str = r#"
#include <stdio.h>
int pick(void) { return 2; }
int wvar = 20;
__attribute__((weak)) int both(void) { return 5; }
extern int lib_pick(void);
extern int *lib_wvar(void);
int main(void) {
    printf("%d %d %d %d\n", pick(), both(), lib_pick(), lib_wvar() == &wvar);
    return 0;
}
"#;

/// The executable's strong definitions override a dylib's weak ones, also
/// for the dylib's own references, as dyld coalesces them: chained images
/// through weak-lookup imports (ordinal -3), classic ones through the weak
/// bind stream. A weak definition in both images is the executable's (the
/// first in load order) in both; one nobody overrides stays the dylib's.
/// Both images linked by ld64.lld-19 and by machlink.
#[test]
fn weak_definitions_coalesce_across_images() {
    for (ld, classic, variant) in variants() {
        let dir = testkit::scratch_dir(&format!("dylibs/coalesce-{variant}"));
        let lib = dir.join("libw.dylib");
        let exe = dir.join("prog");
        let lib_obj = compile_src(&dir, "lib", COALESCE_LIB_C);
        link_dylib(ld, classic, &[lib_obj], &lib, "@rpath/libw.dylib", &[]);
        let main_obj = compile_src(&dir, "main", COALESCE_MAIN_C);
        link_exe(
            ld,
            classic,
            &[main_obj],
            &[&lib],
            &exe,
            &["-rpath", "@executable_path"],
        );
        for env in [None, Some(FORCE_SLIDE_ENV), Some(LAZY_ENV)] {
            let mut cmd = macho_run(&exe);
            if let Some(v) = env {
                cmd.env(v, "1");
            }
            assert_output(
                &capture(&mut cmd),
                "2 5 5223 1\n",
                &format!("{variant} {env:?}"),
            );
        }
    }
}

/// As under dyld, only images whose header says MH_WEAK_DEFINES take part
/// in coalescing: with the flag cleared in the executable, its definitions
/// are passed over, and every weakly bound reference (the executable's
/// own too) reaches the dylib's weak definitions.
#[test]
fn an_image_without_mh_weak_defines_is_passed_over_when_coalescing() {
    const MH_WEAK_DEFINES: u32 = 0x8000;
    let dir = testkit::scratch_dir("dylibs/coalesce-flag");
    let lib = dir.join("libw.dylib");
    let exe = dir.join("prog");
    let lib_obj = compile_src(&dir, "lib", COALESCE_LIB_C);
    link_dylib(Ld::Lld, false, &[lib_obj], &lib, "@rpath/libw.dylib", &[]);
    let main_obj = compile_src(&dir, "main", COALESCE_MAIN_C);
    link_exe(
        Ld::Lld,
        false,
        &[main_obj],
        &[&lib],
        &exe,
        &["-rpath", "@executable_path"],
    );
    assert_output(&capture(&mut macho_run(&exe)), "2 5 5223 1\n", "flag set");
    let mut bytes = std::fs::read(&exe).unwrap();
    let flags = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    assert!(flags & MH_WEAK_DEFINES != 0, "lld sets MH_WEAK_DEFINES");
    bytes[24..28].copy_from_slice(&(flags & !MH_WEAK_DEFINES).to_le_bytes());
    let cleared = dir.join("prog-cleared");
    std::fs::write(&cleared, &bytes).unwrap();
    std::fs::set_permissions(
        &cleared,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    assert_output(
        &capture(&mut macho_run(&cleared)),
        "2 4 4113 0\n",
        "flag cleared",
    );
}
