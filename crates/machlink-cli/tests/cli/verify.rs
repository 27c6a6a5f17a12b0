//! `machlink verify`: outputs of machlink and ld64.lld-19 pass (programs,
//! dylibs, and a Rust program whose `__text` holds jump tables); a branch
//! into the middle of a function, a trampoline, and a trampoline chain are
//! told apart; an arm64 incremental image after a real update passes, and
//! its broken trampolines (a chain, into fill, out of `__text`, into its
//! own slot, a slot too small for the far form) fail; a closed stdout ends
//! it quietly.

use machlink::formats::uleb::{read_uleb, write_uleb};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::machlink_verify;
use testkit::{capture, Linker, Target};

fn build(work: &Path, linker: Linker, flags: &[&str], tag: &str) -> PathBuf {
    build_for(Target::X86_64, work, linker, flags, tag)
}

/// xobj_calls for `target`, linked by `linker` with `flags`.
fn build_for(target: Target, work: &Path, linker: Linker, flags: &[&str], tag: &str) -> PathBuf {
    let objs = testkit::compile_corpus_macos_for(target, "xobj_calls", work, &["-O1"]);
    let exe = work.join(format!("prog-{tag}"));
    testkit::link_for(target, linker, &objs, &exe, flags);
    exe
}

/// Writes `bytes` (an output with patched code) as `work/name`, runs
/// `machlink verify` on it, and checks its exit code and that its report
/// says `says`.
fn verify_patched(work: &Path, name: &str, bytes: &[u8], code: i32, says: &str) {
    let file = work.join(name);
    std::fs::write(&file, bytes).unwrap();
    let o = machlink_verify(&file);
    assert_eq!(o.code, code, "{name}: {}", o.stdout_str());
    assert!(o.stdout_str().contains(says), "{name}: {}", o.stdout_str());
}

#[test]
fn outputs_of_both_linkers_verify() {
    let work = testkit::scratch_dir("verify/ok");
    for (linker, flags, tag) in [
        (Linker::MachlinkChained, &[][..], "chained"),
        (Linker::MachlinkClassic, &[][..], "classic"),
        (
            Linker::MachlinkChained,
            &["-incremental"][..],
            "incremental",
        ),
        (Linker::LldChained, &[][..], "lld"),
    ] {
        let exe = build(&work, linker, flags, tag);
        let o = machlink_verify(&exe);
        assert_eq!(o.code, 0, "{tag}: {}{}", o.stdout_str(), o.stderr_str());
        assert!(o.stdout_str().contains(": ok ("), "{}", o.stdout_str());
    }
}

/// Address → file offset for __TEXT (file offset 0 maps the image base).
fn text_offset(addr: u64) -> usize {
    (addr - 0x1_0000_0000) as usize
}

fn functions(exe: &Path) -> Vec<u64> {
    let nm = capture(
        Command::new(testkit::require_tool("llvm-nm-19"))
            .args(["-n"])
            .arg(exe),
    )
    .stdout_str();
    nm.lines()
        .filter(|l| l.contains(" T ") && !l.ends_with("__mh_execute_header"))
        .map(|l| u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).unwrap())
        .collect()
}

fn write_jmp(bytes: &mut [u8], at: u64, to: u64) {
    let off = text_offset(at);
    bytes[off] = 0xe9;
    let disp = (to as i64 - (at as i64 + 5)) as i32;
    bytes[off + 1..off + 5].copy_from_slice(&disp.to_le_bytes());
}

#[test]
fn bad_branches_trampolines_and_chains_are_told_apart() {
    let work = testkit::scratch_dir("verify/bad");
    let exe = build(&work, Linker::MachlinkChained, &["-incremental"], "inc");
    let funcs = functions(&exe);
    assert!(funcs.len() >= 3, "{funcs:?}");
    let original = std::fs::read(&exe).unwrap();
    let sections = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args(["--macho", "--section-headers"])
            .arg(&exe),
    )
    .stdout_str();
    let text = sections.lines().find(|l| l.contains("__text")).unwrap();
    let f: Vec<&str> = text.split_whitespace().collect();
    let text_end = u64::from_str_radix(f[3], 16).unwrap() + u64::from_str_radix(f[2], 16).unwrap();
    let spare = text_end - 64; // in the reserved space at the end of __text

    // A branch into the middle of another function.
    let mut bytes = original.clone();
    write_jmp(&mut bytes, funcs[0] + 1, funcs[1] + 1);
    verify_patched(&work, "bad-branch", &bytes, 1, "which is no function start");

    // A trampoline into the reserve's int3 fill leads to no body.
    let mut bytes = original.clone();
    write_jmp(&mut bytes, funcs[0], spare);
    verify_patched(&work, "trampoline-to-fill", &bytes, 1, "trap or zero fill");

    // A trampoline: the first function's slot jumps to a moved body (a
    // `ret` in the reserve).
    bytes[text_offset(spare)] = 0xc3;
    verify_patched(&work, "trampoline", &bytes, 0, "1 trampolines");

    // A chain: the moved body jumps on again.
    write_jmp(&mut bytes, spare, spare + 32);
    verify_patched(&work, "chain", &bytes, 1, "a chain");
}

fn write_words(bytes: &mut [u8], at: u64, words: &[u32]) {
    let off = text_offset(at);
    for (i, w) in words.iter().enumerate() {
        bytes[off + 4 * i..off + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
}

/// `b to` placed at `at`.
fn arm64_b(at: u64, to: u64) -> u32 {
    0x1400_0000 | (((to as i64 - at as i64) / 4) as u32 & 0x03ff_ffff)
}

/// arm64 outputs: `b`/`bl` are decoded, a branch into the middle of a
/// function is caught, and a slot holding a trampoline (a `b`, or the far
/// `adrp x16 / add x16 / br x16` form, then `brk` fill) to a moved body is
/// one hop, while a trampoline to another trampoline is a chain.
#[test]
fn arm64_branches_trampolines_and_chains_are_told_apart() {
    const BRK: u32 = 0xd420_0020;
    let work = testkit::scratch_dir("verify/arm64");
    let exe = build_for(Target::Arm64, &work, Linker::LldChained, &[], "arm64");
    let o = machlink_verify(&exe);
    assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
    let out = o.stdout_str();
    let branches: usize = out
        .split(" branches")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(branches > 10, "the arm64 code has bl calls: {out}");
    let funcs = functions(&exe);
    assert!(funcs.len() >= 4, "{funcs:?}");
    let original = std::fs::read(&exe).unwrap();
    let size = |i: usize| funcs[i + 1] - funcs[i];
    let biggest = (0..funcs.len() - 1).max_by_key(|&i| size(i)).unwrap();
    let (a, b) = (funcs[biggest], funcs[biggest] + 8);
    let other = funcs[if biggest == 0 { 1 } else { 0 }];
    let fill = |from: u64, len: u64| {
        vec![BRK; (len / 4) as usize]
            .into_iter()
            .enumerate()
            .map(move |(i, w)| (from + 4 * i as u64, w))
    };

    // A branch from another function into the middle of `biggest`.
    let mut bytes = original.clone();
    write_words(&mut bytes, other + 4, &[arm64_b(other + 4, b)]);
    verify_patched(&work, "bad-branch", &bytes, 1, "which is no function start");

    // A trampoline: `other`'s whole slot becomes `b` into `biggest` + fill.
    let mut bytes = original.clone();
    let other_size = funcs[funcs.iter().position(|&f| f == other).unwrap() + 1] - other;
    for (at, w) in fill(other, other_size) {
        write_words(&mut bytes, at, &[w]);
    }
    write_words(&mut bytes, other, &[arm64_b(other, b)]);
    verify_patched(&work, "trampoline", &bytes, 0, "1 trampolines");

    // The far form to the same place.
    let page = |x: u64| x & !0xfff;
    let pages = ((page(b) as i64 - page(other) as i64) >> 12) as u32;
    let adrp = 0x9000_0010 | ((pages & 3) << 29) | (((pages >> 2) & 0x7_ffff) << 5);
    let add = 0x9100_0210 | (((b & 0xfff) as u32) << 10);
    write_words(&mut bytes, other, &[adrp, add, 0xd61f_0200]);
    verify_patched(&work, "far-trampoline", &bytes, 0, "1 trampolines");

    // A chain: the body the trampoline reaches jumps on, then fill.
    write_words(&mut bytes, b, &[arm64_b(b, a + 16), BRK]);
    verify_patched(&work, "chain", &bytes, 1, "a chain");
}

/// A dylib with a jump table, a local helper and data: verify reads
/// MH_DYLIB images (based at 0, no LC_MAIN) from both linkers.
#[test]
fn dylibs_of_both_linkers_verify() {
    let work = testkit::scratch_dir("verify/dylib");
    let obj = testkit::cli::compile(
        &work,
        "lib",
        r#"
        #include <stdio.h>
        static int helper(int x) { return x * 3 + 1; }
        int lib_add(int a, int b) { return helper(a) + b; }
        int lib_switch(int k) {
            switch (k) {
            case 0: return 5; case 1: return puts("one"); case 2: return 9;
            case 3: return lib_add(k, 2); case 4: return 77; case 5: return helper(k);
            case 6: return 12; default: return -1;
            }
        }
        int lib_counter = 3;
        "#,
    );
    for (mut cmd, tag) in [
        (
            testkit::machlink_command(&work.join("libm.dylib")),
            "machlink",
        ),
        (testkit::lld_command(&work.join("liblld.dylib")), "lld"),
    ] {
        testkit::check(
            cmd.args(["-dylib", "-install_name", "@rpath/libx.dylib"])
                .arg(&obj),
        );
        let lib = work.join(if tag == "lld" {
            "liblld.dylib"
        } else {
            "libm.dylib"
        });
        let o = machlink_verify(&lib);
        assert_eq!(o.code, 0, "{tag}: {}{}", o.stdout_str(), o.stderr_str());
        assert!(
            o.stdout_str().contains(": ok ("),
            "{tag}: {}",
            o.stdout_str()
        );
        assert!(
            o.stdout_str().contains(" 3 exports"),
            "{tag}: {}",
            o.stdout_str()
        );
    }
    // An object file is still refused, saying what verify reads.
    let o = machlink_verify(&obj);
    assert_eq!(o.code, 1, "{}", o.stdout_str());
    assert!(
        o.stderr_str().contains("not an executable or a dylib"),
        "{}",
        o.stderr_str()
    );
}

/// The directory of the Rust standard library for macOS x86_64, or a
/// failure naming the setup script.
pub(crate) fn rust_darwin_target() -> PathBuf {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = capture(Command::new(&rustc).args([
        "--print",
        "target-libdir",
        "--target",
        "x86_64-apple-darwin",
    ]));
    let dir = PathBuf::from(out.stdout_str().trim());
    let has_std = std::fs::read_dir(&dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    });
    assert!(
        out.code == 0 && has_std,
        "the Rust target x86_64-apple-darwin is not installed (no libstd in {:?}): run `{}` first",
        dir,
        testkit::SETUP
    );
    dir
}

/// A Rust program for macOS, linked by ld64.lld-19 (rustc's ld64.lld
/// flavor passes `-flavor darwin` first, which machlink does not take yet).
/// rustc's `__text` holds jump tables (marked by LC_DATA_IN_CODE) and
/// padding, which verify must not decode as branches.
///
/// What the link needs: rustc links `-lSystem -lc -lm`; on macOS libc and
/// libm are libSystem, so a scratch -syslibroot holds libSystem.tbd and
/// libc.tbd/libm.tbd copies of it (libiconv is not needed). SDKROOT names
/// it too, so rustc does not go looking for xcrun.
#[test]
fn rust_program_linked_by_lld_verifies() {
    let work = testkit::scratch_dir("verify/rust");
    rust_darwin_target();
    let lld = testkit::require_tool("ld64.lld-19");
    let sdk = work.join("sdk");
    let lib = sdk.join("usr/lib");
    std::fs::create_dir_all(&lib).unwrap();
    let tbd = testkit::sdk_root().join("usr/lib/libSystem.tbd");
    for name in ["libSystem.tbd", "libc.tbd", "libm.tbd"] {
        std::fs::copy(&tbd, lib.join(name)).unwrap();
    }
    let src = work.join("prog.rs");
    std::fs::write(
        &src,
        r#"
use std::collections::HashMap;
fn kind(n: usize) -> &'static str {
    match n { 0 => "zero", 1 => "one", 2 => "two", 3 => "three", 4 => "four", 5 => "five", _ => "many" }
}
fn main() {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, a) in std::env::args().enumerate() {
        seen.insert(a, i);
    }
    let mut v: Vec<_> = seen.into_iter().collect();
    v.sort();
    println!("{} {v:?} {:.3}", kind(v.len()), (v.len() as f64).sqrt());
}
"#,
    )
    .unwrap();
    let exe = work.join("prog");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    testkit::check(
        Command::new(rustc)
            .env("SDKROOT", &sdk)
            .args(["--edition", "2021", "-O", "--target", "x86_64-apple-darwin"])
            .arg(format!("-Clinker={}", lld.display()))
            .args(["-Clinker-flavor=ld64.lld", "-Clink-arg=-syslibroot"])
            .arg(format!("-Clink-arg={}", sdk.display()))
            .arg("-o")
            .arg(&exe)
            .arg(&src),
    );
    let dice = capture(
        Command::new(testkit::require_tool("llvm-objdump-19"))
            .args(["--macho", "--data-in-code"])
            .arg(&exe),
    )
    .stdout_str();
    assert!(
        dice.contains("JUMP_TABLE32"),
        "the program should hold jump tables in __text:\n{dice}"
    );
    let o = machlink_verify(&exe);
    assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
    assert!(o.stdout_str().contains(": ok ("), "{}", o.stdout_str());

    // Without LC_DATA_IN_CODE (as in machlink's -incremental outputs, which
    // leave it out) the jump tables must still be told from code.
    let mut bytes = std::fs::read(&exe).unwrap();
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let (ncmds, mut at, mut cleared) = (u32_at(&bytes, 16), 32usize, false);
    for _ in 0..ncmds {
        let (cmd, size) = (u32_at(&bytes, at), u32_at(&bytes, at + 4) as usize);
        if cmd == 0x29 {
            // LC_DATA_IN_CODE: datasize 0
            bytes[at + 12..at + 16].copy_from_slice(&0u32.to_le_bytes());
            cleared = true;
        }
        at += size;
    }
    assert!(cleared, "no LC_DATA_IN_CODE in {}", exe.display());
    let bare = work.join("prog-no-data-in-code");
    std::fs::write(&bare, &bytes).unwrap();
    let o = machlink_verify(&bare);
    assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
}

/// `machlink verify X | head -1` with the reader gone before anything is
/// written: no panic, and the exit status is the checks' (0 for a good
/// image, 1 for a bad one). --version and --help end quietly alike.
#[test]
fn closed_stdout_ends_quietly() {
    let work = testkit::scratch_dir("verify/closed-stdout");
    let exe = build(&work, Linker::MachlinkChained, &[], "ok");
    let run = |args: &[&std::ffi::OsStr]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(testkit::workspace_bin("machlink"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        (out.status.code(), stderr)
    };
    let verify = std::ffi::OsStr::new("verify");
    let (code, stderr) = run(&[verify, exe.as_os_str(), exe.as_os_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let missing = work.join("missing");
    let (code, stderr) = run(&[verify, exe.as_os_str(), missing.as_os_str()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    for flag in ["--version", "--help"] {
        let (code, stderr) = run(&[std::ffi::OsStr::new(flag)]);
        assert_eq!(code, Some(0), "{flag}: {stderr}");
    }
}

/// `llvm-nm -n` address of `sym` in `exe`.
fn address_of(exe: &Path, sym: &str) -> u64 {
    let nm = testkit::cli::tool("llvm-nm-19", &["-n"], exe);
    let line = nm
        .lines()
        .find(|l| l.ends_with(&format!(" {sym}")))
        .unwrap_or_else(|| panic!("no {sym} in:\n{nm}"));
    u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap()
}

/// `(addr, size)` of the section `name` from llvm-objdump's headers.
fn section(exe: &Path, name: &str) -> (u64, u64) {
    let headers = testkit::cli::tool("llvm-objdump-19", &["--macho", "--section-headers"], exe);
    let f: Vec<&str> = headers
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no {name} in:\n{headers}"))
        .split_whitespace()
        .collect();
    (
        u64::from_str_radix(f[3], 16).unwrap(),
        u64::from_str_radix(f[2], 16).unwrap(),
    )
}

/// Adds a function start at `addr` to LC_FUNCTION_STARTS, in the room the
/// blob has (an incremental image reserves some).
fn add_function_start(bytes: &mut [u8], addr: u64) {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let (mut at, mut blob) = (32usize, None);
    for _ in 0..u32_at(bytes, 16) {
        if u32_at(bytes, at) == 0x26 {
            blob = Some((
                u32_at(bytes, at + 8) as usize,
                u32_at(bytes, at + 12) as usize,
            ));
        }
        at += u32_at(bytes, at + 4) as usize;
    }
    let (off, size) = blob.expect("LC_FUNCTION_STARTS");
    let image_base = 0x1_0000_0000u64;
    let mut starts = Vec::new();
    let (mut pos, mut last) = (0usize, image_base);
    while let Some(delta) = read_uleb(&bytes[off..off + size], &mut pos).filter(|&d| d != 0) {
        last += delta;
        starts.push(last);
    }
    starts.push(addr);
    starts.sort_unstable();
    let (mut out, mut prev) = (Vec::new(), image_base);
    for s in starts {
        write_uleb(&mut out, s - prev);
        prev = s;
    }
    assert!(out.len() < size, "no room for another function start");
    out.resize(size, 0);
    bytes[off..off + size].copy_from_slice(&out);
}

/// An arm64 `-incremental` image after a real update that moved `f`
/// behind a trampoline passes; patched copies of it fail for a chain of
/// two trampolines, a trampoline into the reserve's fill (the middle of
/// nowhere), out of its section or into its own slot, and a trampoline
/// slot smaller than the far form; the far form itself passes.
#[test]
fn arm64_incremental_images_and_their_broken_trampolines() {
    const BRK: u32 = 0xd420_0020;
    const CFLAGS: &[&str] = &["-O1"];
    let work = testkit::scratch_dir("verify/arm64-incremental");
    let compile = |name: &str, src: &str| {
        testkit::cli::compile_with_for(Target::Arm64, &work, name, src, CFLAGS)
    };
    let main = compile(
        "main",
        "#include <stdio.h>\nint f(int); int g(int);\n\
         int main(void) { printf(\"%d %d\\n\", f(2), g(3)); return 0; }\n",
    );
    let lib = |n: usize| {
        let body: String = (0..n).map(|i| format!(" s = s * 3 + {i};")).collect();
        format!("int f(int x) {{ volatile int s = x;{body} return s; }}\nint g(int x) {{ return x + 1; }}\n")
    };
    let exe = work.join("prog");
    let link = || {
        let o = capture(
            testkit::machlink_command_for(Target::Arm64, &exe)
                .args(["-incremental", "-v"])
                .arg(&main)
                .arg(work.join("lib.o")),
        );
        assert_eq!(o.code, 0, "{}", o.stderr_str());
        testkit::cli::incremental_line(&o)
    };
    compile("lib", &lib(1));
    link();
    compile("lib", &lib(60));
    let line = link();
    assert!(line.contains("1 trampolines written"), "{line}");
    let o = machlink_verify(&exe);
    assert_eq!(o.code, 0, "{}{}", o.stdout_str(), o.stderr_str());
    assert!(
        o.stdout_str().contains(" 1 trampolines"),
        "{}",
        o.stdout_str()
    );

    let (f, g) = (address_of(&exe, "_f"), address_of(&exe, "_g"));
    assert!(g > f, "f's slot is not the last of __text");
    let original = std::fs::read(&exe).unwrap();
    let first = u32::from_le_bytes(original[text_offset(f)..][..4].try_into().unwrap());
    assert_eq!(first & 0xfc00_0000, 0x1400_0000, "f's slot holds a `b`");
    let body = f.wrapping_add_signed(i64::from(((first << 6) as i32) >> 6) * 4);
    let (text, text_size) = section(&exe, "__text");
    assert!(body > g && body < text + text_size);
    let far = |at: u64, to: u64| {
        let pages = (((to & !0xfff) as i64 - (at & !0xfff) as i64) >> 12) as u32;
        let adrp = 0x9000_0010 | ((pages & 3) << 29) | (((pages >> 2) & 0x7_ffff) << 5);
        [
            adrp,
            0x9100_0210 | (((to & 0xfff) as u32) << 10),
            0xd61f_0200,
        ]
    };

    // The far form of the same trampoline.
    let mut bytes = original.clone();
    write_words(&mut bytes, f, &far(f, body));
    verify_patched(&work, "far", &bytes, 0, "1 trampolines");

    // A chain: the moved body is itself a trampoline, to a second body.
    let mut bytes = original.clone();
    write_words(&mut bytes, body, &[arm64_b(body, body + 16), BRK]);
    verify_patched(&work, "chain", &bytes, 1, "a chain");

    // Into the middle of nowhere: the reserve's brk fill at __text's end.
    let nowhere = text + text_size - 64;
    let mut bytes = original.clone();
    write_words(&mut bytes, f, &[arm64_b(f, nowhere)]);
    verify_patched(&work, "nowhere", &bytes, 1, "trap or zero fill");

    // Out of __text: the far form to a string literal.
    let (cstring, _) = section(&exe, "__cstring");
    let mut bytes = original.clone();
    write_words(&mut bytes, f, &far(f, cstring));
    verify_patched(
        &work,
        "out-of-text",
        &bytes,
        1,
        "outside its section (__text)",
    );

    // Into its own slot, which the trampoline owns.
    let mut bytes = original.clone();
    write_words(&mut bytes, f, &[arm64_b(f, f + 8)]);
    write_words(&mut bytes, f + 8, &[0xd65f_03c0]); // ret: code, not fill
    verify_patched(
        &work,
        "own-slot",
        &bytes,
        1,
        "inside the slot of the trampoline",
    );

    // A slot of 8 bytes holding a trampoline: no room for the far form.
    let mut bytes = original.clone();
    add_function_start(&mut bytes, f + 8);
    verify_patched(
        &work,
        "small-slot",
        &bytes,
        1,
        "fills a slot of 8 bytes, less than the largest trampoline (12 bytes)",
    );
}
