//! arm64 Mach-O programs, run by the x86_64 macho-run through its aarch64
//! build under qemu-aarch64 (the one entry point), compared with the same
//! C built natively by gcc. Each program is linked by ld64.lld-19 in both
//! fixup formats and run eagerly, slid, and (classic) with lazy binding
//! through dyld_stub_binder. Also: the arm64 files macho-run must refuse.
//!
//! The programs print with puts/fputs/fwrite only: the arm64 variadic
//! convention (printf and friends) is separate work.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, check, require_tool, Outcome};

/// The x86_64 build under test; it re-executes the aarch64 one.
const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");
const BUILD_AARCH64: &str = testkit::BUILD_AARCH64_MACHO_RUN;
const LAZY: &str = macho_run::shims::lazy::LAZY_ENV;
const SLIDE: &str = macho_run::loader::FORCE_SLIDE_ENV;

/// Fails (naming the command that fixes it) unless the aarch64 build of
/// macho-run and qemu-aarch64 are there.
fn require_aarch64_build() {
    testkit::require_aarch64_macho_run(Path::new(MACHO_RUN));
}

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/arm64/{name}.c"))
}

/// Compiles C for arm64 macOS 13 with zig's clang and the macOS headers.
fn compile_arm64(src: &Path, obj: &Path, flags: &[&str]) {
    check(
        testkit::zig_cc()
            // zig_cc names the x86_64 target; the last -target wins.
            .args([
                "-target",
                "aarch64-macos.13.0",
                "-O1",
                "-ffp-contract=off",
                "-w",
            ])
            .args(flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(obj),
    );
}

/// Links arm64 objects with ld64.lld-19; `chained` picks the fixup format.
fn link_arm64(objs: &[PathBuf], out: &Path, chained: bool) {
    let mut cmd = Command::new(require_tool("ld64.lld-19"));
    cmd.args([
        "-arch",
        "arm64",
        "-platform_version",
        "macos",
        "13.0",
        "13.0",
    ])
    .arg("-syslibroot")
    .arg(testkit::sdk_root())
    .args(["-lSystem", "-o"])
    .arg(out)
    .arg(if chained {
        "-fixup_chains"
    } else {
        "-no_fixup_chains"
    })
    .args(objs);
    check(&mut cmd);
}

/// An arm64 program in both fixup formats: (chained, classic).
fn build_arm64(name: &str, flags: &[&str]) -> (PathBuf, PathBuf) {
    let dir = testkit::scratch_dir(&format!("arm64/{name}"));
    let obj = dir.join(format!("{name}.o"));
    compile_arm64(&source(name), &obj, flags);
    let chained = dir.join(format!("{name}-chained"));
    let classic = dir.join(format!("{name}-classic"));
    link_arm64(std::slice::from_ref(&obj), &chained, true);
    link_arm64(std::slice::from_ref(&obj), &classic, false);
    (chained, classic)
}

/// tests/arm64/where.c built once for the tests that look at one image:
/// (chained, classic).
fn where_builds() -> (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_arm64("where", &[])).clone()
}

fn native(name: &str, flags: &[&str]) -> PathBuf {
    let dir = testkit::scratch_dir(&format!("arm64-native/{name}"));
    let exe = dir.join(name);
    let mut all = vec!["-O1", "-w", "-DNATIVE_GLIBC"];
    all.extend_from_slice(flags);
    testkit::build_native(&[source(name)], &exe, &all);
    exe
}

/// Environment variables for one run.
type Env<'a> = &'a [(&'a str, &'a str)];

/// Runs `exe` (directly, or under macho-run) with fixed args and env.
fn run(runner: Option<&Path>, exe: &Path, args: &[&str], env: Env) -> Outcome {
    let mut cmd = match runner {
        Some(r) => {
            let mut c = Command::new(r);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    capture(
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .envs(env.iter().copied()),
    )
}

/// Builds `name` natively and for arm64 and checks every arm64 run
/// (chained, classic, slid, lazy) against the native one: stdout, stderr
/// and exit status. Returns the arm64 builds.
fn matches_native(name: &str, flags: &[&str], args: &[&str]) -> (PathBuf, PathBuf) {
    require_aarch64_build();
    let expected = run(None, &native(name, flags), args, &[]);
    let mut mismatches = Vec::new();
    let (chained, classic) = build_arm64(name, flags);
    let runs: [(&Path, &str, Env); 5] = [
        (&chained, "chained", &[]),
        (&chained, "chained, slid", &[(SLIDE, "1")]),
        (&classic, "classic", &[]),
        (&classic, "classic, slid", &[(SLIDE, "1")]),
        (
            &classic,
            "classic, lazy, slid",
            &[(LAZY, "1"), (SLIDE, "1")],
        ),
    ];
    for (exe, what, env) in runs {
        let got = run(Some(Path::new(MACHO_RUN)), exe, args, env);
        if got != expected {
            mismatches.push(testkit::mismatch(
                &format!("{name} ({what})"),
                &expected,
                &got,
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    (chained, classic)
}

#[test]
fn arm64_setjmp_longjmp_keep_registers_masks_and_the_macos_jmp_buf_size() {
    matches_native("setjmp", &[], &[]);
}

#[test]
fn arm64_calls_initialisers_errno_and_stdio_match_native() {
    matches_native("calls", &[], &["first", "second"]);
}

#[test]
fn arm64_ctype_and_signed_char_match_native() {
    matches_native("ctype", &[], &[]);
}

/// `long double` is `double` on Apple arm64: the `l` functions bind to the
/// host's double functions, not glibc aarch64's quad ones.
#[test]
fn arm64_long_double_functions_are_their_double_twins() {
    matches_native("longdouble", &[], &[]);
}

#[test]
fn arm64_thread_locals_per_thread_match_native() {
    matches_native("tlv", &[], &[]);
}

#[test]
fn arm64_stack_protector_passes_and_catches_an_overrun() {
    let (chained, classic) = matches_native("protector", &["-fstack-protector-all"], &[]);
    for exe in [chained, classic] {
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &["smash"], &[]);
        const SIGABRT: i32 = 6;
        assert_eq!(out.code, 128 + SIGABRT, "{}", out.stderr_str());
        assert!(
            out.stderr_str().contains("stack buffer overflow detected"),
            "{}",
            out.stderr_str()
        );
    }
}

#[test]
fn arm64_images_run_at_their_address_or_slid() {
    require_aarch64_build();
    for exe in <[PathBuf; 2]>::from(where_builds()) {
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &[], &[]);
        assert_eq!(
            out.stdout_str(),
            "preferred\nrebased pointer ok\n",
            "{}",
            out.stderr_str()
        );
        let out = run(Some(Path::new(MACHO_RUN)), &exe, &[], &[(SLIDE, "1")]);
        assert_eq!(
            out.stdout_str(),
            "slid\nrebased pointer ok\n",
            "{}",
            out.stderr_str()
        );
    }
}

/// (file offset, size) of section `sect` in a 64-bit Mach-O, read from the
/// load commands directly (the library's reader accepts only the host's
/// architecture).
fn section_range(bytes: &[u8], sect: &str) -> (usize, usize) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let mut at = 32;
    for _ in 0..u32_at(16) {
        if u32_at(at) == object::macho::LC_SEGMENT_64 as usize {
            for i in 0..u32_at(at + 64) {
                let s = at + 72 + i * 80;
                let name = &bytes[s..s + 16];
                if name.starts_with(sect.as_bytes()) && name.get(sect.len()).is_none_or(|&b| b == 0)
                {
                    return (u32_at(s + 48), u64_at(s + 40));
                }
            }
        }
        at += u32_at(at + 4);
    }
    panic!("no section {sect}");
}

/// MACHO_RUN_LAZY really sends arm64 calls through the stub helper and
/// dyld_stub_binder: with the helper's code replaced by `udf`, the eager
/// default still runs, the lazy mode traps on the first call.
#[test]
fn arm64_lazy_mode_goes_through_the_stub_helper() {
    require_aarch64_build();
    let (_, classic) = where_builds();
    let x86 = Path::new(MACHO_RUN);
    let lazy = run(Some(x86), &classic, &[], &[(LAZY, "1")]);
    let expected = "preferred\nrebased pointer ok\n";
    assert_eq!(lazy.stdout_str(), expected, "{}", lazy.stderr_str());
    let mut bytes = std::fs::read(&classic).unwrap();
    let (at, size) = section_range(&bytes, "__stub_helper");
    bytes[at..at + size].fill(0); // udf #0
    let broken = classic.with_file_name("where-udf");
    std::fs::write(&broken, &bytes).unwrap();
    let eager = run(Some(x86), &broken, &[], &[]);
    assert_eq!(eager.stdout_str(), expected, "{}", eager.stderr_str());
    let trapped = run(Some(x86), &broken, &[], &[(LAZY, "1")]);
    const SIGILL: i32 = 4;
    assert_eq!(trapped.code, 128 + SIGILL, "{}", trapped.stderr_str());
}

/// Asserts a clean refusal: exit 126, nothing on stdout, one
/// `macho-run: error:` line naming the file and saying `what`.
fn assert_refused(path: &Path, out: &Outcome, what: &str) {
    let err = out.stderr_str();
    assert_eq!(out.code, 126, "{}: stderr: {err}", path.display());
    assert!(out.stdout.is_empty(), "stdout {:?}", out.stdout_str());
    assert_eq!(err.lines().count(), 1, "one error line expected: {err}");
    assert!(err.starts_with("macho-run: error: "), "{err}");
    assert!(
        err.contains(&*path.to_string_lossy()),
        "must name the file: {err}"
    );
    assert!(err.contains(what), "must say {what:?}: {err}");
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// How a test damages a file's bytes.
type Damage = Box<dyn FnOnce(&mut Vec<u8>)>;

/// Writes a damaged copy of a good arm64 build and runs it.
fn run_damaged(good: &Path, name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> (PathBuf, Outcome) {
    let mut bytes = std::fs::read(good).unwrap();
    damage(&mut bytes);
    let path = good.with_file_name(name);
    std::fs::write(&path, &bytes).unwrap();
    let out = run(Some(Path::new(MACHO_RUN)), &path, &[], &[]);
    (path, out)
}

#[test]
fn malformed_arm64_files_are_refused_by_the_aarch64_build() {
    require_aarch64_build();
    let (chained, _) = where_builds();
    let cases: [(&str, &str, Damage); 6] = [
        (
            "trunc-header",
            "header is truncated",
            Box::new(|b| b.truncate(20)),
        ),
        (
            "trunc-commands",
            "past the end of the file",
            Box::new(|b| b.truncate(200)),
        ),
        (
            "trunc-half",
            "outside the file",
            Box::new(|b| b.truncate(b.len() / 2)),
        ),
        (
            "arm64e",
            "arm64e (pointer authentication) is not supported",
            Box::new(|b| put_u32(b, 8, 2)),
        ),
        (
            "subtype-7",
            "unknown arm64 cpusubtype 0x7",
            Box::new(|b| put_u32(b, 8, 7)),
        ),
        (
            "bad-cputype",
            "wrong architecture: cputype 0x1234 Mach-O, but this macho-run runs x86_64",
            Box::new(|b| put_u32(b, 4, 0x1234)),
        ),
    ];
    for (name, what, damage) in cases {
        let (path, out) = run_damaged(&chained, name, damage);
        assert_refused(&path, &out, what);
    }
}

/// arm64 segments must sit on macOS's 16 KiB arm64 pages (4 KiB would do on
/// the Linux host, but the file would not load on macOS).
#[test]
fn an_arm64_segment_off_a_16k_page_is_refused() {
    require_aarch64_build();
    let (chained, _) = where_builds();
    let (path, out) = run_damaged(&chained, "linkedit-4k", |b| {
        // __LINKEDIT, the last segment: moving it 4 KiB up overlaps nothing.
        let mut at = 32;
        loop {
            let cmd = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            if cmd == object::macho::LC_SEGMENT_64 && b[at + 8..].starts_with(b"__LINKEDIT\0") {
                let vmaddr = u64::from_le_bytes(b[at + 24..at + 32].try_into().unwrap());
                b[at + 24..at + 32].copy_from_slice(&(vmaddr + 0x1000).to_le_bytes());
                return;
            }
            at += u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
        }
    });
    assert_refused(
        &path,
        &out,
        "segment __LINKEDIT is not aligned to arm64's 16 KiB pages",
    );
}

/// The aarch64 build refuses an x86_64 program, as the x86_64 build
/// refuses a CPU type it cannot run.
#[test]
fn the_aarch64_build_refuses_an_x86_64_program() {
    require_aarch64_build();
    let dir = testkit::scratch_dir("arm64/x86-on-aarch64");
    let obj = dir.join("where.o");
    testkit::compile_macos(&source("ctype"), &obj, &["-O1"]);
    let exe = dir.join("x86-program");
    testkit::link(testkit::Linker::LldChained, &[obj], &exe, &[]);
    let x86 = Path::new(MACHO_RUN);
    let arm = x86
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("aarch64-unknown-linux-gnu")
        .join(x86.parent().unwrap().file_name().unwrap())
        .join("macho-run");
    let out = capture(
        Command::new("qemu-aarch64")
            .arg("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")
            .args(["--library-path", "/usr/aarch64-linux-gnu/lib"])
            .arg(arm)
            .arg(&exe),
    );
    assert_refused(
        &exe,
        &out,
        "wrong architecture: x86_64 Mach-O, but this macho-run runs arm64",
    );
}

/// Without the aarch64 build, an arm64 program is refused with the command
/// that builds it.
#[test]
fn a_missing_aarch64_build_is_named_with_its_build_command() {
    require_aarch64_build();
    let (chained, _) = where_builds();
    let missing = chained.with_file_name("no-such-macho-run");
    let out = run(
        Some(Path::new(MACHO_RUN)),
        &chained,
        &[],
        &[(macho_run::foreign::AARCH64_ENV, missing.to_str().unwrap())],
    );
    assert_refused(&chained, &out, BUILD_AARCH64);
}

/// `(vmaddr, fileoff)` of every LC_SEGMENT_64, in load command order (the
/// order of the chained-fixups segment table).
fn segments(bytes: &[u8]) -> Vec<(u64, u64)> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let mut at = 32;
    let mut out = Vec::new();
    for _ in 0..u32_at(16) {
        if u32_at(at) == object::macho::LC_SEGMENT_64 as usize {
            out.push((u64_at(at + 24), u64_at(at + 40)));
        }
        at += u32_at(at + 4);
    }
    out
}

/// Rewrites an lld arm64 output from `DYLD_CHAINED_PTR_64` (rebase targets
/// are vmaddrs) to `DYLD_CHAINED_PTR_64_OFFSET` (offsets from the image
/// base), walking every chain of every 16 KiB page. Returns the rebases
/// rewritten.
fn to_ptr_64_offset(bytes: &mut [u8], base: u64) -> usize {
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap());
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let segs = segments(bytes);
    let mut at = 32;
    let mut fixups = None;
    for _ in 0..u32_at(bytes, 16) {
        if u32_at(bytes, at) == object::macho::LC_DYLD_CHAINED_FIXUPS {
            fixups = Some(u32_at(bytes, at + 8) as usize);
        }
        at += u32_at(bytes, at + 4) as usize;
    }
    let fixups = fixups.expect("LC_DYLD_CHAINED_FIXUPS");
    let image_starts = fixups + u32_at(bytes, fixups + 4) as usize;
    let mut rebases = 0;
    for (seg, &(vmaddr, fileoff)) in segs.iter().enumerate() {
        let off = u32_at(bytes, image_starts + 4 + 4 * seg) as usize;
        if off == 0 {
            continue;
        }
        let starts = image_starts + off;
        let page_size = u16_at(bytes, starts + 4) as u64;
        assert_eq!(page_size, 16384, "arm64 chains are per 16 KiB page");
        assert_eq!(
            u16_at(bytes, starts + 6),
            2,
            "lld writes DYLD_CHAINED_PTR_64"
        );
        bytes[starts + 6..starts + 8].copy_from_slice(&6u16.to_le_bytes());
        assert_eq!(u64_at(bytes, starts + 8), vmaddr - base, "segment_offset");
        for page in 0..u16_at(bytes, starts + 20) as u64 {
            let start = u16_at(bytes, starts + 22 + 2 * page as usize);
            if start == 0xffff {
                continue;
            }
            let mut at = (fileoff + page * page_size + u64::from(start)) as usize;
            loop {
                let raw = u64_at(bytes, at);
                let mut new = raw;
                if raw >> 63 == 0 {
                    let target = raw & 0xf_ffff_ffff;
                    new = (raw & !0xf_ffff_ffff) | (target - base);
                    rebases += 1;
                }
                bytes[at..at + 8].copy_from_slice(&new.to_le_bytes());
                let next = (raw >> 51) & 0xfff;
                if next == 0 {
                    break;
                }
                at += next as usize * 4;
            }
        }
    }
    rebases
}

/// Both chained pointer formats a non-arm64e image may use: lld writes
/// `DYLD_CHAINED_PTR_64`; the same image rewritten to `_64_OFFSET` must
/// run the same, at its address and slid.
#[test]
fn arm64_dyld_chained_ptr_64_offset_rebases_from_the_image_base() {
    require_aarch64_build();
    let (chained, _) = where_builds();
    let mut bytes = std::fs::read(&chained).unwrap();
    let rebases = to_ptr_64_offset(&mut bytes, 0x1_0000_0000);
    assert!(rebases > 0, "where.c has a rebased pointer");
    let offset = chained.with_file_name("where-ptr-64-offset");
    std::fs::write(&offset, &bytes).unwrap();
    for (env, first) in [(None, "preferred"), (Some(SLIDE), "slid")] {
        let envs: Vec<(&str, &str)> = env.map(|e| (e, "1")).into_iter().collect();
        let out = run(Some(Path::new(MACHO_RUN)), &offset, &[], &envs);
        assert_eq!(
            out.stdout_str(),
            format!("{first}\nrebased pointer ok\n"),
            "{}",
            out.stderr_str()
        );
    }
}

/// The library's entry point for tools (`run_file_in_child`, used by
/// `machlink demo` and the examples) runs arm64 programs too.
#[test]
fn run_file_in_child_runs_an_arm64_program() {
    require_aarch64_build();
    let (chained, _) = where_builds();
    let status = macho_run::run_file_in_child(&chained, &[]).expect("fork");
    assert_eq!(status, 0);
    // The aarch64 build's refusal comes back as the status.
    let mut bytes = std::fs::read(&chained).unwrap();
    put_u32(&mut bytes, 8, 2);
    let arm64e = chained.with_file_name("where-arm64e-in-child");
    std::fs::write(&arm64e, &bytes).unwrap();
    let status = macho_run::run_file_in_child(&arm64e, &[]).expect("fork");
    assert_eq!(status, 126);
}

/// An arm64 program with its own dylib (`@rpath`, thread-local, exported
/// data, initialiser) in both fixup formats, eager, slid and lazy, against
/// the native build of both sources as one program.
#[test]
fn arm64_a_program_and_its_dylib_match_native() {
    require_aarch64_build();
    let dir = testkit::scratch_dir("arm64/dylib");
    let native_exe = dir.join("native");
    testkit::build_native(
        &[source("dylib_lib"), source("dylib_main")],
        &native_exe,
        &["-O1", "-w"],
    );
    let expected = run(None, &native_exe, &[], &[]);
    assert_eq!(expected.code, 0, "{}", expected.stderr_str());
    let (lib_obj, main_obj) = (dir.join("lib.o"), dir.join("main.o"));
    compile_arm64(&source("dylib_lib"), &lib_obj, &[]);
    compile_arm64(&source("dylib_main"), &main_obj, &[]);
    let mut mismatches = Vec::new();
    for chained in [true, false] {
        let sub = dir.join(if chained { "chained" } else { "classic" });
        std::fs::create_dir_all(&sub).unwrap();
        let format = if chained {
            "-fixup_chains"
        } else {
            "-no_fixup_chains"
        };
        let lld = || {
            let mut c = Command::new(require_tool("ld64.lld-19"));
            c.args([
                "-arch",
                "arm64",
                "-platform_version",
                "macos",
                "13.0",
                "13.0",
            ])
            .arg("-syslibroot")
            .arg(testkit::sdk_root())
            .args(["-lSystem", format]);
            c
        };
        let dylib = sub.join("libx.dylib");
        check(
            lld()
                .args(["-dylib", "-install_name", "@rpath/libx.dylib", "-o"])
                .arg(&dylib)
                .arg(&lib_obj),
        );
        let exe = sub.join("main");
        check(
            lld()
                .args(["-rpath", "@executable_path", "-o"])
                .arg(&exe)
                .arg(&main_obj)
                .arg(&dylib),
        );
        for env in [&[][..], &[(SLIDE, "1")], &[(LAZY, "1"), (SLIDE, "1")]] {
            let got = run(Some(Path::new(MACHO_RUN)), &exe, &[], env);
            if got != expected {
                mismatches.push(testkit::mismatch(
                    &format!("{format} {env:?}"),
                    &expected,
                    &got,
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Tools that read linker output can parse arm64 images on any host
/// (`parse_linked_any_arch`); running, and `parse_linked` (whose users
/// decode x86_64 code), still need the host's architecture.
#[test]
fn arm64_outputs_are_readable_on_any_host() {
    let (chained, classic) = where_builds();
    for exe in [chained, classic] {
        let bytes = std::fs::read(&exe).unwrap();
        let name = exe.display().to_string();
        let image = macho_run::macho::Image::parse_linked_any_arch(&bytes, &name)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(image.arch.name, "arm64");
        let plan = macho_run::fixups::plan(&image).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !plan.fixups.is_empty(),
            "{name}: where.c has rebases and binds"
        );
        if cfg!(target_arch = "x86_64") {
            let e = macho_run::macho::Image::parse(&bytes, &name).unwrap_err();
            assert!(e.to_string().contains("wrong architecture: arm64"), "{e}");
            let e = macho_run::macho::Image::parse_linked(&bytes, &name).unwrap_err();
            assert!(e.to_string().contains("wrong architecture: arm64"), "{e}");
        }
    }
}
