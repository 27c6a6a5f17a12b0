//! Objective-C: `_objc_msgSend$sel` stubs in `__objc_stubs` (with their
//! `__objc_selrefs` and `__objc_methname` entries), the merged
//! `__objc_imageinfo`, `-ObjC` archive loading, and `-incremental` with
//! stubs. Objective-C programs cannot run here (no runtime), so outputs are
//! compared with ld64.lld-19's by the semantic diff, which names each
//! stub's selector load by the selector it reaches, and read directly.
//!
//! clang 19 has no `-fobjc-msgsend-selector-stubs` for x86_64, so the
//! calls to stubs are written in assembly, as lld's own tests do; the
//! classes and categories are clang-compiled Objective-C.

use crate::semantic_diff::{diff_pair, ALLOW};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::tool;
use testkit::semantic_diff::{Allow, Category};
use testkit::{capture, check, Linker};

/// libobjc's exports these programs use (the SDK in .toolchain has no
/// libobjc.tbd).
const LIBOBJC_TBD: &str = "--- !tapi-tbd
tbd-version: 4
targets: [ x86_64-macos ]
install-name: '/usr/lib/libobjc.A.dylib'
exports:
  - targets: [ x86_64-macos ]
    symbols: [ _objc_msgSend, _objc_alloc, __objc_empty_cache ]
    objc-classes: [ NSObject ]
...
";

/// A class with methods: selrefs, method names, class lists, image info.
const CLASS_M: &str = r#"
__attribute__((objc_root_class))
@interface Foo
+ (id)alloc;
- (int)length;
- (void)foo:(int)x bar:(int)y;
@end
@implementation Foo
+ (id)alloc { return 0; }
- (int)length { return 3; }
- (void)foo:(int)x bar:(int)y {}
@end
int go(id o) { [o foo:1 bar:2]; return [o length] + [Foo length]; }
int main(void) { return go([Foo alloc]); }
"#;

/// Calls through selector stubs (one selector also has an input selref,
/// one is sent twice), with unwind info so both linkers write
/// `__unwind_info`.
const STUBS_S: &str = r#"
.section __TEXT,__objc_methname,cstring_literals
lselref1:
  .asciz "length"
.section __DATA,__objc_selrefs,literal_pointers,no_dead_strip
.p2align 3
_sel_length:
  .quad lselref1
.text
.globl _use_stubs
.p2align 4
_use_stubs:
  .cfi_startproc
  pushq %rbp
  .cfi_def_cfa_offset 16
  callq "_objc_msgSend$length"
  callq "_objc_msgSend$foo:bar:"
  callq "_objc_msgSend$alloc"
  callq "_objc_msgSend$length"
  movq _sel_length(%rip), %rsi
  popq %rbp
  retq
  .cfi_endproc
.subsections_via_symbols
"#;

/// Differences accepted for Objective-C programs beyond [`ALLOW`].
const OBJC_ALLOW: &[Allow] = &[
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__objc_classname *",
        ours: "*",
        reference: "(none)",
        reason: "machlink keeps ld64's __objc_classname and __objc_methtype C-string \
                 sections; lld 19 merges them into __TEXT,__cstring. Their strings are compared \
                 as __cstring's in the data category",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__objc_methtype *",
        ours: "*",
        reference: "(none)",
        reason: "see __TEXT,__objc_classname",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__cstring *",
        ours: "(none)",
        reference: "*",
        reason: "lld's __cstring holds only the Objective-C metadata strings machlink keeps in \
                 their own sections (see __objc_classname)",
    },
    Allow {
        category: Category::Sections,
        subject: "__TEXT,__cstring size",
        ours: "*",
        reference: "*",
        reason: "lld's __cstring also holds the Objective-C metadata strings (see \
                 __objc_classname); every string is compared in the data category",
    },
];

fn objc_allow() -> Vec<Allow> {
    let mut v = ALLOW.to_vec();
    v.extend_from_slice(OBJC_ALLOW);
    v
}

fn clang_c(dir: &Path, name: &str, ext: &str, src: &str) -> PathBuf {
    let file = dir.join(format!("{name}.{ext}"));
    std::fs::write(&file, src).unwrap();
    let obj = dir.join(format!("{name}.o"));
    check(
        Command::new(testkit::require_tool("clang-19"))
            .args(["-target", "x86_64-apple-macos13", "-O1", "-w", "-c"])
            .arg(&file)
            .arg("-o")
            .arg(&obj),
    );
    obj
}

fn setup(dir: &str) -> (PathBuf, Vec<PathBuf>) {
    testkit::require_tool("ld64.lld-19");
    let work = testkit::scratch_dir(dir);
    let tbd = work.join("libobjc.tbd");
    std::fs::write(&tbd, LIBOBJC_TBD).unwrap();
    let class = clang_c(&work, "class", "m", CLASS_M);
    let stubs = clang_c(&work, "stubs", "s", STUBS_S);
    (work, vec![class, stubs, tbd])
}

/// Links `inputs` with both linkers (chained and classic) and `flags`;
/// returns the unexplained differences.
fn diff_both(work: &Path, label: &str, inputs: &[PathBuf], flags: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for (format, ours, reference) in [
        ("chained", Linker::MachlinkChained, Linker::LldChained),
        ("classic", Linker::MachlinkClassic, Linker::LldClassic),
    ] {
        let a = work.join(format!("{label}-{}", ours.name()));
        let b = work.join(format!("{label}-{}", reference.name()));
        testkit::link(ours, inputs, &a, flags);
        testkit::link(reference, inputs, &b, flags);
        problems.extend(diff_pair(
            &format!("{label} ({format})"),
            &a,
            &b,
            &objc_allow(),
        ));
    }
    problems
}

/// The 13-byte x86_64 stubs of `exe`, each checked by hand: its selector
/// load reaches a selref slot whose pointer (a plain address, or a chained
/// fixup whose low 36 bits are the target's address) points at the
/// selector of the stub's symbol in `__objc_methname`, and its jump goes
/// through the GOT slot of `_objc_msgSend`. Returns the selectors in stub
/// order.
fn check_stubs_by_hand(exe: &Path) -> Vec<String> {
    let listing = tool(
        "llvm-objdump-19",
        &[
            "--macho",
            "-d",
            "--section=__objc_stubs",
            "--no-show-raw-insn",
        ],
        exe,
    );
    let words = |section: &str| -> Vec<(u64, String)> {
        tool(
            "llvm-objdump-19",
            &["--macho", &format!("--section={section}")],
            exe,
        )
        .lines()
        .filter_map(|l| {
            let (addr, rest) = l.split_once(|c: char| c.is_whitespace())?;
            Some((u64::from_str_radix(addr, 16).ok()?, rest.trim().to_string()))
        })
        .collect()
    };
    let selrefs = words("__DATA,__objc_selrefs");
    let names = words("__TEXT,__objc_methname");
    let stubs = listing
        .split("Contents of (__TEXT,__objc_stubs) section")
        .nth(1)
        .expect("stubs");
    let mut sels = Vec::new();
    let mut current = None;
    for line in stubs.lines() {
        if let Some(name) = line.strip_prefix("_objc_msgSend$") {
            current = Some(name.trim_end_matches(':').to_string());
            continue;
        }
        let Some(sel) = &current else { continue };
        let Some((addr, rest)) = line.trim().split_once(':') else {
            continue;
        };
        let addr = u64::from_str_radix(addr, 16).unwrap();
        if rest.contains("movq") {
            let disp = rest.split("0x").nth(1).unwrap().split('(').next().unwrap();
            let slot = addr + 7 + u64::from_str_radix(disp, 16).unwrap();
            let raw = selrefs
                .iter()
                .find(|(a, _)| *a == slot)
                .and_then(|(_, w)| w.split_whitespace().next())
                .and_then(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
                .unwrap_or_else(|| panic!("no selref at {slot:#x}: {selrefs:?}"));
            let target = raw & 0xf_ffff_ffff;
            let name = names
                .iter()
                .find(|(a, _)| *a == target)
                .map(|(_, n)| n.as_str());
            // The symbol's selector ends where objdump's label adds a ':'.
            assert_eq!(
                name.map(|n| n.trim_end_matches(':')),
                Some(sel.as_str()),
                "stub of {sel} loads the selref at {slot:#x} -> {target:#x}"
            );
            sels.push(sel.clone());
        } else if rest.contains("jmpq") {
            assert!(
                rest.contains("_objc_msgSend"),
                "stub of {sel} does not jump to objc_msgSend: {line}"
            );
        }
    }
    sels
}

#[test]
fn objc_msgsend_stubs_mean_the_same_as_lld_in_both_modes() {
    let (work, inputs) = setup("objc-stubs");
    let mut problems = diff_both(&work, "fast", &inputs, &[]);
    problems.extend(diff_both(
        &work,
        "explicit-fast",
        &inputs,
        &["-objc_stubs_fast"],
    ));
    problems.extend(diff_both(&work, "small", &inputs, &["-objc_stubs_small"]));
    problems.extend(diff_both(&work, "dead-strip", &inputs, &["-dead_strip"]));
    assert!(
        problems.is_empty(),
        "unexplained differences:\n{}",
        problems.join("\n")
    );
    // One stub per selector, in first-reference order (as lld), each
    // loading its own selector; the names are merged into __objc_methname.
    let exe = work.join("fast-machlink-chained");
    let sels = check_stubs_by_hand(&exe);
    assert_eq!(sels, ["alloc", "foo:bar", "length"], "stubs");
    let names = tool(
        "llvm-objdump-19",
        &["--macho", "--section=__TEXT,__objc_methname"],
        &exe,
    );
    for sel in ["alloc", "foo:bar:", "length"] {
        let n = names
            .lines()
            .filter(|l| l.ends_with(&format!("  {sel}")))
            .count();
        assert_eq!(n, 1, "{sel} once in __objc_methname:\n{names}");
    }
    // The stub symbols are local (private externs of the linker), and
    // stubs are not functions.
    let nm = tool("llvm-nm-19", &["-m"], &exe);
    let line = nm
        .lines()
        .find(|l| l.ends_with(" _objc_msgSend$length"))
        .expect("stub symbol");
    assert!(
        line.contains("(__TEXT,__objc_stubs) non-external (was a private external)"),
        "{line}"
    );
    let starts = tool("llvm-objdump-19", &["--macho", "--function-starts"], &exe);
    let stub_addr = line.split_whitespace().next().unwrap();
    assert!(
        !starts.contains(stub_addr),
        "stub listed as a function start"
    );
}

#[test]
fn objc_stubs_small_on_x86_64_warns_and_writes_fast_stubs_as_lld() {
    let (work, inputs) = setup("objc-stubs-small");
    let out = work.join("small");
    let mut cmd = testkit::machlink_command(&out);
    let o = capture(cmd.arg("-objc_stubs_small").args(&inputs));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    assert!(
        o.stderr_str().contains(
            "machlink: warning: -objc_stubs_small is not yet implemented for x86_64, \
             defaulting to -objc_stubs_fast"
        ),
        "{}",
        o.stderr_str()
    );
    let fast = work.join("fast");
    testkit::link(Linker::MachlinkChained, &inputs, &fast, &[]);
    // The same bytes: small stubs on x86_64 are fast stubs.
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&fast).unwrap());
    // Without objc_msgSend anywhere, the stubs' reference is undefined.
    let o = capture(testkit::machlink_command(&work.join("none")).args(&inputs[1..2]));
    assert_ne!(o.code, 0);
    assert!(
        o.stderr_str()
            .contains("undefined symbol: _objc_msgSend\n>>> referenced by <objc stubs>:"),
        "{}",
        o.stderr_str()
    );
}

#[test]
fn objc_image_info_is_merged_into_one_record() {
    let (work, mut inputs) = setup("objc-imageinfo");
    // A second Objective-C object: two input records, one output record.
    let cat = clang_c(
        &work,
        "category",
        "m",
        "__attribute__((objc_root_class)) @interface Foo - (int)length; @end\n\
         @interface Foo (Extra) - (int)twice; @end\n\
         @implementation Foo (Extra) - (int)twice { return 2 * [self length]; } @end\n",
    );
    inputs.insert(1, cat);
    let problems = diff_both(&work, "merged", &inputs, &[]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let exe = work.join("merged-machlink-chained");
    let info = tool(
        "llvm-objdump-19",
        &["--macho", "--section=__DATA_CONST,__objc_imageinfo"],
        &exe,
    );
    let bytes: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("0000"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .collect();
    assert_eq!(
        bytes,
        ["00", "00", "00", "00", "40", "00", "00", "00"],
        "{info}"
    );
}

/// `-ObjC` loads archive members that define a class or a category,
/// which no symbol pulls in; other members stay out.
#[test]
fn objc_flag_loads_class_and_category_members() {
    let (work, inputs) = setup("objc-flag");
    let tbd = inputs[2].clone();
    let class = clang_c(
        &work,
        "libclass",
        "m",
        "__attribute__((objc_root_class)) @interface Widget - (int)size; @end\n\
         @implementation Widget - (int)size { return 4; } @end\n",
    );
    let category = clang_c(
        &work,
        "libcat",
        "m",
        "__attribute__((objc_root_class)) @interface Gadget - (int)size; @end\n\
         @interface Gadget (Extra) - (int)more; @end\n\
         @implementation Gadget (Extra) - (int)more { return 1; } @end\n",
    );
    let plain = clang_c(
        &work,
        "libplain",
        "c",
        "int plain_helper(void) { return 7; }\n",
    );
    let main = clang_c(
        &work,
        "main",
        "c",
        "int puts(const char *);\nint main(void) { return puts(\"hi\") < 0; }\n",
    );
    let lib = work.join("libthings.a");
    let _ = std::fs::remove_file(&lib);
    check(
        Command::new(testkit::require_tool("llvm-ar-19"))
            .arg("rcs")
            .arg(&lib)
            .args([&class, &category, &plain]),
    );
    let inputs = vec![main, lib, tbd];
    // -U: Gadget's category refers to the class, defined nowhere here.
    let flags = ["-U", "_OBJC_CLASS_$_Gadget"];
    let without = work.join("without");
    testkit::link(Linker::MachlinkChained, &inputs, &without, &flags);
    let nm = tool("llvm-nm-19", &["-m"], &without);
    assert!(!nm.contains("Widget") && !nm.contains("Gadget"), "{nm}");
    let mut with_flags = flags.to_vec();
    with_flags.push("-ObjC");
    let problems = diff_both(&work, "objc", &inputs, &with_flags);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let with = work.join("objc-machlink-chained");
    let nm = tool("llvm-nm-19", &["-m"], &with);
    assert!(nm.contains("_OBJC_CLASS_$_Widget"), "{nm}");
    assert!(nm.contains("-[Gadget(Extra) more]"), "{nm}");
    assert!(!nm.contains("_plain_helper"), "{nm}");
    // -t lists the members -ObjC loaded.
    let o = capture(
        testkit::machlink_command(&work.join("traced"))
            .args(["-t", "-ObjC"])
            .args(flags)
            .args(&inputs),
    );
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    let t = o.stdout_str();
    assert!(
        t.contains("libthings.a(libclass.o)") && t.contains("libthings.a(libcat.o)"),
        "{t}"
    );
    assert!(!t.contains("libplain.o"), "{t}");
}

/// An incremental update that keeps the selectors patches in place; one
/// that sends a new selector falls back to a full link that says why, and
/// the result means the same as lld's link.
#[test]
fn objc_stubs_with_incremental_fall_back_for_new_selectors() {
    let (work, inputs) = setup("objc-incremental");
    let out = work.join("inc");
    let run = |inputs: &[PathBuf]| {
        let o = capture(testkit::cli::incremental_command(&out).args(inputs));
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        testkit::cli::incremental_line(&o)
    };
    run(&inputs);
    // Same selectors, different code: updated in place.
    let edited = STUBS_S.replace("popq %rbp", "xorl %eax, %eax\n  popq %rbp");
    std::fs::write(work.join("stubs.s"), edited).unwrap();
    clang_c(
        &work,
        "stubs",
        "s",
        &std::fs::read_to_string(work.join("stubs.s")).unwrap(),
    );
    let line = run(&inputs);
    assert!(line.contains("updated 1 object"), "{line}");
    // A new selector needs a new stub: a full link.
    let edited = STUBS_S.replace(
        "callq \"_objc_msgSend$alloc\"",
        "callq \"_objc_msgSend$alloc\"\n  callq \"_objc_msgSend$brandNew\"",
    );
    clang_c(&work, "stubs", "s", &edited);
    let line = run(&inputs);
    assert!(
        line.contains("full link") && line.contains("_objc_msgSend$brandNew"),
        "{line}"
    );
    let sels = check_stubs_by_hand(&out);
    assert_eq!(sels, ["alloc", "brandNew", "foo:bar", "length"], "stubs");
}
