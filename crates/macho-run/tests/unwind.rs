//! macho-run's own unwinder (`macho_run::unwind`) on C programs compiled
//! with `-fexceptions`, linked by machlink and by ld64.lld-19, on both
//! targets, against the same C built natively with gcc (whose unwinder is
//! libgcc_s):
//!
//! - `_Unwind_Backtrace` names every frame of a chain whose functions
//!   have rows of each compact mode and DWARF rows (tests/unwind/chain.h);
//! - `_Unwind_RaiseException` searches every frame (calling
//!   `___gcc_personality_v0` for the frames with cleanups) and returns
//!   `_URC_END_OF_STACK`;
//! - `_Unwind_ForcedUnwind` runs every `__attribute__((cleanup))` through
//!   the landing pads and `_Unwind_Resume`, asking a stop function first.
//!
//! That each claimed mode really is in the linked image is checked with
//! `llvm-objdump-19 --unwind-info`. And a corrupted row must make the
//! program fail: nothing hides an unwinding bug of the linker.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testkit::unwind::dwarf_mode;
use testkit::{capture, mismatch, Linker, Outcome, Target};

const MACHO_RUN: &str = env!("CARGO_BIN_EXE_macho-run");
const MODES: [&str; 3] = ["backtrace", "raise", "forced"];

fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/unwind/{name}"))
}

/// Each source file with the flags that give its functions their rows.
/// zig's clang describes every instruction by default
/// (`-fasynchronous-unwind-tables`), which no arm64 compact encoding can;
/// synchronous tables get compact rows. x86_64 frameless rows need
/// `-fomit-frame-pointer`; functions with cleanups get DWARF rows anyway.
fn sources(target: Target) -> Vec<(String, Vec<&'static str>)> {
    let sync = ["-fno-asynchronous-unwind-tables", "-funwind-tables"];
    let frameless: Vec<&str> = match target {
        Target::X86_64 => vec!["-fomit-frame-pointer"],
        Target::Arm64 => sync.to_vec(),
    };
    let mut frame = vec!["-fno-omit-frame-pointer"];
    frame.extend(sync);
    vec![
        ("main.c".into(), vec![]),
        ("frame.c".into(), frame),
        ("frameless.c".into(), frameless),
        ("cleanup.c".into(), vec!["-fomit-frame-pointer"]),
    ]
}

/// The sources of the macOS builds: the chain, and the assembly catcher
/// for the `catch` mode (which gcc's build leaves out).
fn macos_sources(target: Target) -> Vec<(String, Vec<&'static str>)> {
    let mut all = sources(target);
    all[0].1.push("-DHAVE_CATCHER");
    all.push((format!("catcher-{}.s", target.arch()), vec![]));
    all
}

/// The compact mode (encoding bits 24..27) each function's row must have.
fn expected_modes(target: Target) -> Vec<(&'static str, u32, &'static str)> {
    match target {
        Target::X86_64 => vec![
            ("_via_frame", 1, "RBP frame"),
            ("_via_small", 2, "stack-immediate"),
            ("_via_big", 3, "stack-indirect"),
            ("_via_regs", 2, "stack-immediate"),
            ("_via_cleanup", 4, "DWARF"),
            ("_via_dwarf", 4, "DWARF"),
            ("_bottom", 4, "DWARF"),
            ("_catcher", 1, "RBP frame"),
            ("_expr_frame", 4, "DWARF"),
        ],
        Target::Arm64 => vec![
            ("_via_frame", 4, "frame"),
            ("_via_small", 4, "frame"),
            ("_via_big", 4, "frame"),
            ("_via_regs", 4, "frame"),
            ("_via_cleanup", 3, "DWARF"),
            ("_via_dwarf", 3, "DWARF"),
            ("_bottom", 3, "DWARF"),
            ("_catcher", 4, "frame"),
            ("_expr_frame", 3, "DWARF"),
        ],
    }
}

/// The program's objects for `target`, compiled once per test process.
fn objects(target: Target) -> &'static [PathBuf] {
    static OBJS: [OnceLock<Vec<PathBuf>>; 2] = [OnceLock::new(), OnceLock::new()];
    OBJS[target as usize].get_or_init(|| {
        let dir = testkit::scratch_dir(&format!("unwind/objs-{}", target.arch()));
        macos_sources(target)
            .into_iter()
            .map(|(name, flags)| {
                let obj = dir.join(format!("{name}.o"));
                let mut all = vec!["-O1", "-fexceptions"];
                all.extend(flags);
                testkit::compile_macos_for(target, &source(&name), &obj, &all);
                obj
            })
            .collect()
    })
}

/// What the gcc build prints in each mode.
fn native() -> &'static [Outcome] {
    static NATIVE: OnceLock<Vec<Outcome>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        let dir = testkit::scratch_dir("unwind/native");
        let exe = dir.join("chain");
        let srcs: Vec<PathBuf> = sources(Target::X86_64)
            .iter()
            .map(|(n, _)| source(n))
            .collect();
        testkit::build_native(&srcs, &exe, &["-O1", "-fexceptions"]);
        MODES
            .iter()
            .map(|m| capture(Command::new(&exe).arg(m)))
            .collect()
    })
}

fn link(target: Target, linker: Linker, dir: &Path) -> PathBuf {
    if target == Target::Arm64 {
        testkit::require_aarch64_macho_run(Path::new(MACHO_RUN));
    }
    let exe = dir.join(format!("chain-{}-{}", target.arch(), linker.name()));
    testkit::link_for(target, linker, objects(target), &exe, &[]);
    exe
}

fn run(exe: &Path, mode: &str) -> Outcome {
    capture(Command::new(MACHO_RUN).arg(exe).arg(mode))
}

const LINKERS: [Linker; 2] = [Linker::MachlinkChained, Linker::LldChained];

/// Also with classic fixups run lazily bound (`MACHO_RUN_LAZY`): each
/// `_Unwind_*` entry point is then reached through the stub helper and
/// macho-run's `dyld_stub_binder`, which must hand it the caller's
/// registers untouched.
#[test]
fn c_unwinding_matches_gcc_on_both_targets_and_linkers() {
    let dir = testkit::scratch_dir("unwind/runs");
    let mut failures = Vec::new();
    let lazy = [(macho_run::shims::lazy::LAZY_ENV, "1")];
    for target in Target::ALL {
        let runs = [
            (Linker::MachlinkChained, &[][..]),
            (Linker::LldChained, &[][..]),
            (Linker::MachlinkClassic, &lazy[..]),
        ];
        for (linker, env) in runs {
            let exe = link(target, linker, &dir);
            for (mode, expected) in MODES.iter().zip(native()) {
                let got = capture(
                    Command::new(MACHO_RUN)
                        .arg(&exe)
                        .arg(mode)
                        .envs(env.iter().copied()),
                );
                if got.stdout != expected.stdout || got.code != expected.code {
                    let what = format!("{} {} {mode} {env:?}", target.arch(), linker.name());
                    failures.push(mismatch(&what, expected, &got));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The expected output is not trivially satisfied: it names every frame.
    let backtrace = native()[0].stdout_str();
    assert!(backtrace.contains("frame 7: main"), "{backtrace}");
    assert!(backtrace.contains("cfa ascending: yes"), "{backtrace}");
}

/// The encoding of the `__unwind_info` row covering a function, by name,
/// as `llvm-objdump-19 --unwind-info` lists the second-level entries (a
/// row may cover several functions: linkers fold equal neighbours).
fn encodings(exe: &Path) -> impl Fn(&str) -> u32 {
    use object::{Object, ObjectSymbol};
    let listing = testkit::cli::tool("llvm-objdump-19", &["--unwind-info"], exe);
    let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let mut rows: Vec<(u32, u32)> = listing
        .lines()
        .filter_map(|l| {
            let rest = l.trim().split_once("]: function offset=")?.1;
            let (off, enc) = rest.split_once(", encoding[")?;
            Some((hex(off), hex(enc.split_once("]=")?.1.trim())))
        })
        .collect();
    rows.sort();
    assert!(!rows.is_empty(), "no second-level entries in:\n{listing}");
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let symbols: Vec<(String, u64)> = file
        .symbols()
        .map(|s| (s.name().unwrap_or("").to_string(), s.address()))
        .collect();
    move |func| {
        let addr = symbols.iter().find(|(n, _)| n == func).expect(func).1;
        let off = (addr - 0x1_0000_0000) as u32;
        rows.iter()
            .rev()
            .find(|(start, _)| *start <= off)
            .expect(func)
            .1
    }
}

/// A handler found in the search phase (a personality and LSDA from a
/// compact row), every cleanup below it run in the cleanup phase, and the
/// landing pad entered with the callee-saved registers it had at the call,
/// restored through every kind of frame in between.
#[test]
fn a_handler_catches_with_every_register_restored() {
    let dir = testkit::scratch_dir("unwind/catch");
    let expected = "search: catcher has a handler\n\
                    cleanup bottom\n\
                    cleanup via_dwarf\n\
                    cleanup via_cleanup\n\
                    landing in catcher (selector 42)\n\
                    catcher returned 1042\n\
                    rethrow returned 5\n\
                    exception object deleted (reason 1)\n";
    for target in Target::ALL {
        for linker in LINKERS {
            let exe = link(target, linker, &dir);
            // At the preferred address and slid: the rows' offsets are
            // from the header, the personality's GOT slot is rebased.
            for slide in [false, true] {
                let mut cmd = Command::new(MACHO_RUN);
                cmd.arg(&exe).arg("catch");
                if slide {
                    cmd.env(macho_run::loader::FORCE_SLIDE_ENV, "1");
                }
                let got = capture(&mut cmd);
                assert_eq!(
                    (got.stdout_str().as_str(), got.code),
                    (expected, 0),
                    "{} {} (slid: {slide}): {}",
                    target.arch(),
                    linker.name(),
                    got.stderr_str()
                );
            }
        }
    }
}

#[test]
fn every_claimed_compact_mode_is_in_the_linked_images() {
    let dir = testkit::scratch_dir("unwind/modes");
    for target in Target::ALL {
        for linker in LINKERS {
            let exe = link(target, linker, &dir);
            let encoding_of = encodings(&exe);
            for (func, mode, name) in expected_modes(target) {
                let encoding = encoding_of(func);
                assert_eq!(
                    (encoding >> 24) & 0xf,
                    mode,
                    "{} {}: {func} should have a {name} row, has {encoding:#010x}",
                    target.arch(),
                    linker.name()
                );
            }
            // The catcher's personality and LSDA are in __unwind_info: a
            // personality index and the LSDA bit.
            let catcher = encoding_of("_catcher");
            assert!(
                catcher & 0x3000_0000 != 0 && catcher & 0x4000_0000 != 0,
                "{} {}: catcher's row {catcher:#010x} names no personality or LSDA",
                target.arch(),
                linker.name()
            );
            // Saved registers in the frames' encodings: x86_64's RBP frame
            // and frameless rows list some, arm64's frame rows name the
            // x19..x28 pairs and d8/d9.
            let regs = &encoding_of;
            match target {
                Target::X86_64 => {
                    assert_ne!(regs("_via_frame") & 0x7fff, 0);
                    assert_eq!((regs("_via_regs") >> 10) & 7, 6, "six saved registers");
                }
                Target::Arm64 => {
                    assert_eq!(regs("_via_regs") & 0x1f, 0x1f, "x19..x28 pairs");
                    assert_ne!(regs("_via_frame") & 0xf00, 0, "a d8..d15 pair");
                }
            }
        }
    }
}

/// Rewrites the encoding of the row covering `func` in the image's
/// `__unwind_info` (in a compressed page: the common or page encoding
/// the entry names).
fn corrupt_row(exe: &Path, func: &str, corrupt: impl Fn(u32) -> u32) {
    use object::{Object, ObjectSection, ObjectSymbol};
    let mut data = std::fs::read(exe).unwrap();
    let (sect_off, target_off) = {
        let file = object::File::parse(&*data).unwrap();
        let s = file.section_by_name("__unwind_info").unwrap();
        let sym = file.symbols().find(|s| s.name() == Ok(func)).unwrap();
        let base = 0x1_0000_0000u64;
        (
            s.file_range().unwrap().0 as usize,
            (sym.address() - base) as u32,
        )
    };
    let u32_at = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    let u16_at = |d: &[u8], at: usize| u16::from_le_bytes(d[at..at + 2].try_into().unwrap());
    let d = &data[sect_off..];
    let common = u32_at(d, 4) as usize;
    let common_count = u32_at(d, 8) as usize;
    let index = u32_at(d, 20) as usize;
    let count = u32_at(d, 24) as usize;
    let mut slot = None;
    for i in 0..count - 1 {
        let first = u32_at(d, index + 12 * i);
        let next = u32_at(d, index + 12 * (i + 1));
        if target_off < first || target_off >= next {
            continue;
        }
        let page = u32_at(d, index + 12 * i + 4) as usize;
        let entries = page + u16_at(d, page + 4) as usize;
        let n = u16_at(d, page + 6) as usize;
        match u32_at(d, page) {
            2 => {
                slot = (0..n)
                    .find(|&k| u32_at(d, entries + 8 * k) == target_off)
                    .map(|k| entries + 8 * k + 4);
            }
            3 => {
                let page_encodings = page + u16_at(d, page + 8) as usize;
                let k = (0..n)
                    .find(|&k| first + (u32_at(d, entries + 4 * k) & 0xff_ffff) == target_off)
                    .expect("the function's entry");
                let idx = (u32_at(d, entries + 4 * k) >> 24) as usize;
                slot = Some(if idx < common_count {
                    common + 4 * idx
                } else {
                    page_encodings + 4 * (idx - common_count)
                });
            }
            kind => panic!("page kind {kind}"),
        }
    }
    let at = sect_off + slot.unwrap_or_else(|| panic!("no row for {func}"));
    let old = u32_at(&data, at);
    data[at..at + 4].copy_from_slice(&corrupt(old).to_le_bytes());
    std::fs::write(exe, data).unwrap();
}

#[test]
fn a_corrupted_unwind_row_makes_the_program_fail() {
    let dir = testkit::scratch_dir("unwind/corrupt");
    for target in Target::ALL {
        let exe = link(target, Linker::MachlinkChained, &dir);
        // via_small's row is wrong: on x86_64 a stack-immediate frame of
        // one word (the return address read from the slot below it); on
        // arm64 a DWARF row naming offset 0 of `__eh_frame`, a CIE. (A
        // wrong arm64 frame row would go unnoticed: the frame-pointer
        // chain it leaves alone leads back to the right frames.)
        corrupt_row(&exe, "_via_small", |e| match target {
            Target::X86_64 => (e & !0x00ff_0000) | 0x0001_0000,
            Target::Arm64 => 0x0300_0000,
        });
        for (mode, expected) in MODES.iter().zip(native()) {
            if *mode == "raise" {
                continue;
            }
            let got = run(&exe, mode);
            assert!(
                got.stdout != expected.stdout || got.code != expected.code,
                "{} {mode}: the corrupted row went unnoticed:\n{}",
                target.arch(),
                got.stdout_str()
            );
            assert!(
                !got.stdout_str().contains("via_frame"),
                "{} {mode}: unwound past the corrupted row into via_frame:\n{}",
                target.arch(),
                got.stdout_str()
            );
        }
    }
}

/// A function whose row has no compact encoding is found by searching
/// `__eh_frame`, as libunwind does: a DWARF row zeroed still unwinds.
#[test]
fn a_function_without_a_compact_row_is_found_in_eh_frame() {
    let dir = testkit::scratch_dir("unwind/search");
    for target in Target::ALL {
        for linker in LINKERS {
            let exe = link(target, linker, &dir);
            corrupt_row(&exe, "_via_cleanup", |e| {
                assert_eq!(e & 0x0f00_0000, dwarf_mode(target), "a DWARF row");
                0
            });
            for (mode, expected) in MODES.iter().zip(native()) {
                let got = run(&exe, mode);
                assert!(
                    got.stdout == expected.stdout && got.code == expected.code,
                    "{}",
                    mismatch(
                        &format!("{} {} {mode}", target.arch(), linker.name()),
                        expected,
                        &got
                    )
                );
            }
        }
    }
}

/// A program whose `__unwind_info` lacks a row for a function on the
/// stack gets a clear message, not a crash.
#[test]
fn a_frame_without_unwind_info_is_reported() {
    let dir = testkit::scratch_dir("unwind/missing");
    for target in Target::ALL {
        let exe = link(target, Linker::MachlinkChained, &dir);
        corrupt_row(&exe, "_via_big", |_| 0);
        let got = run(&exe, "backtrace");
        let err = got.stderr_str();
        assert!(
            err.contains("macho-run: unwind: no unwind info for pc"),
            "{}: {err}",
            target.arch()
        );
        assert!(
            got.stdout_str()
                .contains("backtrace returned 3 after 4 frames"),
            "{}: {}",
            target.arch(),
            got.stdout_str()
        );
    }
}

/// dyld's image queries (what Rust std's backtraces symbolise with) and a
/// backtrace through a dylib's frame between two of the program's.
#[test]
fn dyld_queries_and_a_backtrace_across_a_dylib() {
    let dir = testkit::scratch_dir("unwind/dyld");
    let expected = "images: 2\n\
                    image 0: dyldprog, magic 0xfeedfacf, slides agree: yes\n\
                    image 1: libunwlib.dylib, magic 0xfeedfacf, slides agree: yes\n\
                    image 0 is the program: yes\n\
                    past the last image: null\n\
                    a stack address is in an image: no\n\
                    frame 0: image 0, unwind info yes\n\
                    frame 1: image 1, unwind info yes\n\
                    frame 2: image 0, unwind info yes\n\
                    backtrace returned 3\n\
                    lib_call returned 84\n";
    for target in Target::ALL {
        if target == Target::Arm64 {
            testkit::require_aarch64_macho_run(Path::new(MACHO_RUN));
        }
        let objs = dir.join(target.arch());
        std::fs::create_dir_all(&objs).unwrap();
        let compile = |name: &str| {
            let obj = objs.join(format!("{name}.o"));
            testkit::compile_macos_for(target, &source(&format!("{name}.c")), &obj, &["-O1"]);
            obj
        };
        let (main, lib) = (compile("dyld"), compile("unwlib"));
        for linker in LINKERS {
            let out = objs.join(linker.name());
            std::fs::create_dir_all(&out).unwrap();
            let dylib = out.join("libunwlib.dylib");
            let install = ["-dylib", "-install_name", "@rpath/libunwlib.dylib"];
            testkit::link_for(target, linker, std::slice::from_ref(&lib), &dylib, &install);
            let exe = out.join("dyldprog");
            let objs = [main.clone(), dylib];
            testkit::link_for(target, linker, &objs, &exe, &["-rpath", "@executable_path"]);
            let got = capture(Command::new(MACHO_RUN).arg(&exe));
            assert_eq!(
                (got.stdout_str().as_str(), got.code),
                (expected, 0),
                "{} {}: {}",
                target.arch(),
                linker.name(),
                got.stderr_str()
            );
        }
    }
}
