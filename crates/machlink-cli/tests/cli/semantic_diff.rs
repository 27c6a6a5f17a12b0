//! machlink's output must *mean* the same as ld64.lld-19's for the same
//! objects and flags: symbols, sections, load commands, fixups, unwind
//! rows, code and data compared by testkit::semantic_diff (addresses named
//! `symbol+offset`, never compared raw), in both fixup formats (chained and
//! classic dyld info), for the corpus, a generated program and the real
//! projects, on x86_64 and (corpus, generated program) on arm64. Every
//! accepted difference is in ALLOW with its reason; arm64 links are held
//! to ALLOW plus ALLOW_ARM64, whose entries are about arm64 only.

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::semantic_diff::{compare_files, Allow, Category};
use testkit::{Linker, Target};

/// The accepted differences between machlink and ld64.lld-19, each with
/// why it does not change what the program means.
pub(crate) const ALLOW: &[Allow] = &[
    Allow {
        category: Category::Symbols,
        subject: "dyld_stub_binder",
        ours: "(none)",
        reference: "undefined from /usr/lib/libSystem.B.dylib, external",
        reason: "with chained fixups nothing is bound lazily, so nothing calls dyld_stub_binder; \
                 lld 19 still lists it as an undefined symbol with no fixup using it (ld64 does not)",
    },
    Allow {
        category: Category::Symbols,
        subject: "__dyld_private",
        ours: "(none)",
        reference: "defined in __DATA,__data",
        reason: "lld names the stub helper's 8-byte dyld-private slot with a local symbol; \
                 machlink reserves the same zeroed slot in __DATA,__data unnamed (as ld64 does, \
                 whose label is a non-exported local too); what uses it is compared in the \
                 `__stub_helper header` code fact",
    },
    Allow {
        category: Category::Data,
        subject: "__dyld_private",
        ours: "(none)",
        reference: "",
        reason: "the dyld-private slot is all zero bytes; machlink's has no symbol, so its zeros \
                 end the preceding atom (trailing zeros are not compared)",
    },
    Allow {
        category: Category::Data,
        subject: "__DATA,__data",
        ours: "",
        reference: "(none)",
        reason: "machlink puts the zeroed dyld-private slot first in __DATA,__data, before any \
                 symbol, so it is an unnamed all-zero atom; lld names it __dyld_private",
    },
    Allow {
        category: Category::Code,
        subject: "__stub_helper header",
        ours: "leaq [*](%rip), %r11; pushq %r11; jmpq *[got(dyld_stub_binder)](%rip)",
        reference: "leaq [__dyld_private](%rip), %r11; pushq %r11; jmpq *[got(dyld_stub_binder)](%rip)",
        reason: "the same instruction sequence; the dyld-private slot it points at is named by \
                 lld's local symbol and by the preceding data symbol in machlink's output",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__eh_frame *",
        ours: "(none)",
        reference: "*",
        reason: "lld keeps the CIEs of objects whose functions all have compact unwind, with no \
                 FDE; a CIE without an FDE is never read. Every FDE is compared in the unwind \
                 category (`eh_frame FDE for ...`)",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__stubs align",
        ours: "2^1",
        reference: "2^2",
        reason: "x86_64 stubs are 6-byte `jmp *slot(%rip)` and need no alignment; machlink uses \
                 ld64's 2^1, lld 2^2. Stub contents are compared in the code category",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__literal* *",
        ours: "*",
        reference: "(none)",
        reason: "lld 19 puts 4/8/16-byte literals into one untyped __TEXT,__literals; machlink \
                 keeps ld64's typed __literal4/8/16. Literal contents are compared as 4-byte \
                 chunks (data) and every reference by content (code)",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__literals *",
        ours: "(none)",
        reference: "*",
        reason: "see __TEXT,__literal*: lld's untyped literal section",
    },
    Allow {
        category: Category::Fixups,
        subject: "got(local *)",
        ours: "(none)",
        reference: "rebase -> *",
        reason: "machlink relaxes `movq sym@GOTPCREL(%rip)` of a definition in the image to \
                 `leaq sym(%rip)` as ld64 does, so it needs no GOT slot; lld 19 keeps the slot. \
                 The code category compares both forms as the `leaq`",
    },
    Allow {
        category: Category::Sections,
        subject: "__DATA_CONST,__got size",
        ours: "*",
        reference: "*",
        reason: "the GOT slots of relaxed local loads (see `got(local *)`); every remaining slot \
                 is compared by name in the fixups category",
    },
    Allow {
        category: Category::LoadCommands,
        subject: "LC_SOURCE_VERSION",
        ours: "0x0",
        reference: "(none)",
        reason: "ld64 always writes LC_SOURCE_VERSION (0 without -source_version), as machlink \
                 does; lld omits it. dyld does not read it",
    },
];

/// Differences accepted on arm64 only, each with its reason. (The rules
/// of ALLOW that name x86_64 instructions never match arm64 code.)
pub(crate) const ALLOW_ARM64: &[Allow] = &[
    Allow {
        category: Category::Code,
        subject: "__stub_helper header",
        ours: "addr x17, [*]; stp x16, x17, [sp, #-16]!; ldr x16, [got(dyld_stub_binder)]; br x16",
        reference: "addr x17, [__dyld_private]; stp x16, x17, [sp, #-16]!; \
                    ldr x16, [got(dyld_stub_binder)]; br x16",
        reason: "the same instruction sequence; as on x86_64, the dyld-private slot it points at \
                 is named by lld's local symbol and by the preceding data symbol (or the section) \
                 in machlink's output",
    },
    Allow {
        category: Category::Code,
        subject: "_nested",
        ours: "line * of *: `ldr\tw8, [x19*]`",
        reference: "line * of *: `ldr\tw8, [x19*]`",
        reason: "setjmp_longjmp's _nested keeps a global's page in x19 (`mov x19, x8`) in a block \
                 reached only by a branch from the block whose `adrp x8` set it; the code diff \
                 follows registers in listing order, not along branches, so the load shows its \
                 raw page offset, which is layout (where the global sits in its page). The \
                 program's run is compared by corpus_arm64",
    },
    Allow {
        category: Category::Unwind,
        subject: "*",
        ours: "*",
        reference: "encoding 0x00000000",
        reason: "lld 19 writes two `__unwind_info` rows at the address of a function that starts \
                 its section when the object's compact-unwind entry names the section symbol \
                 (`ltmp0`): the entry's encoding, then 0 (checked on SQLite's hash.o: \
                 _sqlite3HashInit, 0x02000000 then 0); the later, empty row is the one read. \
                 machlink writes the one row the object gives (frameless, or DWARF with its FDE)",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__unwind_info size",
        ours: "*",
        reference: "*",
        reason: "lld 19's extra empty rows (the Unwind entry above); every row is compared by \
                 function in the unwind category",
    },
    Allow {
        category: Category::Code,
        subject: "_sqlite3VdbeExec",
        ours: "line * of *: `ldr\tq3, [x11, #*]`",
        reference: "line * of *: `ldr\tq3, [x11, #*]`",
        reason: "a 16-byte literal load through a page register set in a block placed elsewhere \
                 in this 6,700-instruction function; the code diff follows registers in listing \
                 order, so the raw page offset (layout: machlink's typed __literal16 against \
                 lld's __literals) is compared. The program's run is compared by projects.rs",
    },
    Allow {
        category: Category::Code,
        subject: "_*compress",
        ours: "line * of *: `ldr\tw0, [lazy_ptr(*)]`",
        reference: "line * of *: `ldr\tw0, [lazy_ptr(*)]`",
        reason: "bzip2's `adrp x8, 26; ldr w0, [x8, #0xdb8]` (of `_exitValue`, in __common) is \
                 the same instruction at the same address in both links, named as a lazy \
                 pointer of a different index by the code diff: a naming defect of the diff, \
                 not a difference of the links",
    },
];

/// The rules an output for `target` is held to.
fn allow_for(target: Target) -> Vec<Allow> {
    match target {
        Target::X86_64 => ALLOW.to_vec(),
        Target::Arm64 => [ALLOW, ALLOW_ARM64].concat(),
    }
}

/// Diffs machlink's and lld's links of `objs` in both fixup formats;
/// returns the unexplained differences, and logs the explained ones.
fn diff_links(work: &Path, label: &str, objs: &[PathBuf], flags: &[&str]) -> Vec<String> {
    diff_links_for(Target::X86_64, work, label, objs, flags)
}

/// [`diff_links`] for `target`. A link that fails is a problem too, so
/// that the other format and the other programs are still compared.
fn diff_links_for(
    target: Target,
    work: &Path,
    label: &str,
    objs: &[PathBuf],
    flags: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let pairs = [
        ("chained", Linker::MachlinkChained, Linker::LldChained),
        ("classic", Linker::MachlinkClassic, Linker::LldClassic),
    ];
    let allow = allow_for(target);
    let arch = target.arch();
    for (format, ours, reference) in pairs {
        let a = work.join(format!("{label}-{arch}-{}", ours.name()));
        let b = work.join(format!("{label}-{arch}-{}", reference.name()));
        testkit::link_for(target, reference, objs, &b, flags);
        if let Err(e) = testkit::try_link_for(target, ours, objs, &a, flags) {
            problems.push(format!("{label} ({arch}, {format}): {e}"));
            continue;
        }
        problems.extend(diff_pair(
            &format!("{label} ({arch}, {format})"),
            &a,
            &b,
            &allow,
        ));
    }
    problems
}

/// Diffs two linked files; returns the unexplained differences.
pub(crate) fn diff_pair(
    label: &str,
    ours: &Path,
    reference: &Path,
    allow: &[Allow],
) -> Vec<String> {
    let cmp = match compare_files(ours, reference) {
        Ok(c) => c,
        Err(e) => return vec![format!("{label}: cannot compare: {e}")],
    };
    let unexplained = cmp.unexplained(allow);
    eprintln!(
        "{label}: {} differences, {} allowed, {} unexplained",
        cmp.differences.len(),
        cmp.differences.len() - unexplained.len(),
        unexplained.len()
    );
    unexplained
        .iter()
        .map(|d| format!("{label}: {d}"))
        .collect()
}

pub(crate) fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} unexplained differences between machlink and ld64.lld-19 \
         (accepted ones are listed in ALLOW with their reason):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

pub(crate) fn require_tools() {
    testkit::require_tool("ld64.lld-19");
    testkit::require_tool("llvm-objdump-19");
    testkit::sdk_root();
}

#[test]
fn semantic_diff_corpus_programs_mean_the_same_as_lld_links() {
    require_tools();
    let dirs = testkit::corpus_programs();
    let results = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(dirs.len(), |i| {
        let name = dirs[i].file_name().unwrap().to_string_lossy().into_owned();
        let work = testkit::scratch_dir(&format!("semdiff-corpus/{name}"));
        let objs = testkit::compile_all_macos(
            &testkit::c_sources(&dirs[i]),
            &work,
            testkit::CORPUS_CFLAGS,
        );
        let problems = diff_links(&work, &name, &objs, &[]);
        results.lock().unwrap().push((name, problems));
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    let problems: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    assert_no_problems("corpus", &problems);
}

#[test]
fn semantic_diff_generated_program_means_the_same_as_lld_link() {
    diff_generated_program(Target::X86_64, "semdiff-genprog");
}

#[test]
fn semantic_diff_arm64_corpus_programs_mean_the_same_as_lld_links() {
    require_tools();
    let dirs = testkit::corpus_programs();
    let results = std::sync::Mutex::new(Vec::new());
    testkit::parallel_for(dirs.len(), |i| {
        let name = dirs[i].file_name().unwrap().to_string_lossy().into_owned();
        let work = testkit::scratch_dir(&format!("semdiff-corpus-arm64/{name}"));
        let objs = testkit::compile_all_macos_for(
            Target::Arm64,
            &testkit::c_sources(&dirs[i]),
            &work,
            testkit::CORPUS_CFLAGS,
        );
        let problems = diff_links_for(Target::Arm64, &work, &name, &objs, &[]);
        results.lock().unwrap().push((name, problems));
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    let problems: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    assert_no_problems("arm64 corpus", &problems);
}

#[test]
fn semantic_diff_arm64_generated_program_means_the_same_as_lld_link() {
    diff_generated_program(Target::Arm64, "semdiff-genprog-arm64");
}

fn diff_generated_program(target: Target, scratch: &str) {
    require_tools();
    let work = testkit::scratch_dir(scratch);
    let src = work.join("src");
    testkit::check(
        Command::new("python3")
            .arg(testkit::workspace_root().join("tests/gen/genprog.py"))
            .args(["--objects", "8", "--functions", "400", "--out"])
            .arg(&src),
    );
    let objs = testkit::compile_all_macos_for(
        target,
        &testkit::c_sources(&src),
        &work,
        &["-O1", "-fcommon", "-w"],
    );
    let problems = diff_links_for(target, &work, "genprog", &objs, &[]);
    let what = format!("generated program ({}, 8 x 400 functions)", target.arch());
    assert_no_problems(&what, &problems);
}

/// The arm64 code comparison reads an address the same however it is
/// built: lld's link with its optimization hints applied (`adr; nop`,
/// `nop; ldr literal`) must mean the same as its link with them ignored
/// (`adrp; add`, `adrp; ldr`), with no allowance at all. The corpus and
/// the generated program give every kind of hint.
#[test]
fn semantic_diff_arm64_reads_optimization_hints_as_the_same_code() {
    require_tools();
    let work = testkit::scratch_dir("semdiff-arm64-hints");
    let mut problems = Vec::new();
    let mut relaxed_somewhere = false;
    for dir in testkit::corpus_programs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let sub = work.join(&name);
        std::fs::create_dir_all(&sub).unwrap();
        let objs = testkit::compile_all_macos_for(
            Target::Arm64,
            &testkit::c_sources(&dir),
            &sub,
            testkit::CORPUS_CFLAGS,
        );
        let (hinted, plain) = (sub.join("hinted"), sub.join("plain"));
        testkit::link_for(Target::Arm64, Linker::LldChained, &objs, &hinted, &[]);
        testkit::link_for(
            Target::Arm64,
            Linker::LldChained,
            &objs,
            &plain,
            &["-ignore_optimization_hints"],
        );
        relaxed_somewhere |= std::fs::read(&hinted).unwrap() != std::fs::read(&plain).unwrap();
        problems.extend(diff_pair(&name, &hinted, &plain, &[]));
    }
    assert!(
        relaxed_somewhere,
        "lld applied no optimization hint to any corpus program: the test compares nothing"
    );
    assert!(
        problems.is_empty(),
        "{} differences between lld's arm64 links with and without optimization hints:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Executables at the top of a project's build directory.
fn executables(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter(|e| {
            std::fs::read(e.path())
                .is_ok_and(|b| b.len() > 4 && b[..4] == [0xcf, 0xfa, 0xed, 0xfe] && b[12] == 2)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn real_projects_semantic_diff_means_the_same_as_lld_links() {
    diff_real_projects(Target::X86_64, "semdiff-projects");
}

#[test]
fn real_projects_arm64_semantic_diff_means_the_same_as_lld_links() {
    diff_real_projects(Target::Arm64, "semdiff-projects-arm64");
}

/// zlib, bzip2, Lua and SQLite built for `target` (build.sh's macos mode
/// with TARGET_ARCH), each executable linked by machlink and by lld from
/// the same objects in both fixup formats, and diffed.
fn diff_real_projects(target: Target, scratch: &str) {
    require_tools();
    let root = testkit::workspace_root();
    testkit::fetch_projects();
    let sdk = testkit::sdk_root();
    let machlink = testkit::workspace_bin("machlink");
    let ld = |linker: &str, extra: &str| {
        format!(
            "{linker} -arch {} -platform_version macos {v} {v} -syslibroot {} -lSystem {extra} -o",
            target.arch(),
            sdk.display(),
            v = testkit::MACOS_VERSION
        )
    };
    let lld = testkit::require_tool("ld64.lld-19");
    // machlink does not apply arm64 linker optimization hints; the code
    // diff reads lld's `adr`/`nop` rewrites of `adrp`/`add` pairs as the
    // same code, but not its rewrite of `adrp`/`add`/`ldr` into a literal
    // load, which the projects' code has: their reference ignores hints.
    let hints = match target {
        Target::X86_64 => "",
        Target::Arm64 => "-ignore_optimization_hints",
    };
    let variants = [
        ("lld-chained", ld(&lld.display().to_string(), hints)),
        (
            "lld-classic",
            ld(
                &lld.display().to_string(),
                &format!("-no_fixup_chains {hints}"),
            ),
        ),
        ("machlink-chained", ld(&machlink.display().to_string(), "")),
        (
            "machlink-classic",
            ld(&machlink.display().to_string(), "-no_fixup_chains"),
        ),
    ];
    let packages = [
        ("zlib", "zlib"),
        ("bzip2", "bzip2"),
        ("lua", "lua5.4"),
        ("sqlite", "sqlite3"),
    ];
    let src_root = root.join("target/projects-src");
    let mut problems = Vec::new();
    let mut compared = 0;
    for (project, package) in packages {
        let src = std::fs::read_dir(&src_root)
            .unwrap_or_else(|e| panic!("read {}: {e}", src_root.display()))
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.is_dir()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}-")))
            })
            .unwrap_or_else(|| panic!("no {package} source under {}", src_root.display()));
        let out = testkit::scratch_dir(&format!("{scratch}/{project}"));
        for (i, (variant, link)) in variants.iter().enumerate() {
            let dir = out.join(variant);
            if i > 0 {
                // Same objects for every link (build.sh only relinks).
                testkit::check(
                    Command::new("cp")
                        .arg("-a")
                        .arg(out.join(variants[0].0))
                        .arg(&dir),
                );
            }
            testkit::check(
                Command::new("bash")
                    .arg(root.join(format!("tests/projects/{project}/build.sh")))
                    .arg(&src)
                    .arg(&dir)
                    .arg("macos")
                    .env("TARGET_ARCH", target.arch())
                    .env("MACHO_LINK", link),
            );
        }
        let exes = executables(&out.join("lld-chained"));
        assert!(!exes.is_empty(), "{project}: no executables were built");
        for exe in exes {
            for format in ["chained", "classic"] {
                let ours = out.join(format!("machlink-{format}")).join(&exe);
                let reference = out.join(format!("lld-{format}")).join(&exe);
                problems.extend(diff_pair(
                    &format!("{project}/{exe} ({} {format})", target.arch()),
                    &ours,
                    &reference,
                    &allow_for(target),
                ));
                compared += 1;
            }
        }
    }
    let what = format!("real projects ({})", target.arch());
    eprintln!("{what}: {compared} executable pairs compared");
    assert_no_problems(&what, &problems);
}

/// The diff itself: a file against itself has no differences; lld's
/// chained link against its classic one differs in the fixup format and
/// the fixups, and an edited constant shows up in the code.
#[test]
fn semantic_diff_finds_what_differs_and_nothing_else() {
    require_tools();
    let work = testkit::scratch_dir("semdiff-self");
    let src = work.join("p.c");
    let program = |k: u32| {
        format!(
            "#include <stdio.h>\nint table[] = {{1, 2, 3}};\nint *ptr = &table[1];\n\
             int main(void) {{ printf(\"%d\\n\", *ptr + {k}); return 0; }}\n"
        )
    };
    std::fs::write(&src, program(1)).unwrap();
    let obj = work.join("p.o");
    testkit::compile_macos(&src, &obj, &["-O1"]);
    let (chained, classic) = (work.join("chained"), work.join("classic"));
    testkit::link(
        Linker::LldChained,
        std::slice::from_ref(&obj),
        &chained,
        &[],
    );
    testkit::link(
        Linker::LldClassic,
        std::slice::from_ref(&obj),
        &classic,
        &[],
    );
    let same = compare_files(&chained, &chained).unwrap();
    assert!(same.differences.is_empty(), "{}", same.report(&[]));
    let formats = compare_files(&chained, &classic).unwrap();
    let report = formats.report(&[]);
    assert!(
        report.contains("LC_DYLD_CHAINED_FIXUPS (chained fixups)")
            && report.contains("LC_DYLD_INFO_ONLY (classic fixups)")
            && report.contains("lazy-bind _printf from /usr/lib/libSystem.B.dylib"),
        "{report}"
    );
    // The pointer's rebase is the same fact in both formats.
    assert!(!report.contains("[fixups] _ptr"), "{report}");
    std::fs::write(&src, program(2)).unwrap();
    let edited = work.join("edited");
    testkit::compile_macos(&src, &obj, &["-O1"]);
    testkit::link(Linker::LldChained, &[obj], &edited, &[]);
    let code = compare_files(&edited, &chained).unwrap();
    assert!(
        code.differences
            .iter()
            .any(|d| d.category == Category::Code && d.subject == "_main"),
        "{}",
        code.report(&[])
    );
    assert!(
        bad_input_is_an_error(&work),
        "a truncated file must be an error"
    );
    let subtype = cpu_subtype_differs(&work);
    assert!(subtype.contains("mach header cpu"), "{subtype}");
}

/// The header's cpusubtype is compared: clearing CPU_SUBTYPE_LIB64 in a
/// copy of an executable is a difference.
fn cpu_subtype_differs(work: &Path) -> String {
    let mut bytes = std::fs::read(work.join("chained")).unwrap();
    bytes[11] &= 0x7f; // the top byte of the little-endian cpusubtype
    let plain = work.join("plain-subtype");
    std::fs::write(&plain, bytes).unwrap();
    compare_files(&plain, &work.join("chained"))
        .unwrap()
        .report(&[])
}

fn bad_input_is_an_error(work: &Path) -> bool {
    let chained = std::fs::read(work.join("chained")).unwrap();
    let cut = work.join("cut");
    std::fs::write(&cut, &chained[..chained.len() / 3]).unwrap();
    compare_files(&cut, &work.join("chained")).is_err()
}
