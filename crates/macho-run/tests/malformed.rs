//! Malformed or foreign inputs must give one clear error line naming the
//! file, what is wrong and where, and exit 126 (127 for unbound imports);
//! never a panic or a crash.

mod common;

use macho_run::macho::Image;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use testkit::{capture, Linker, Outcome};

fn macho_run(exe: &Path) -> Outcome {
    capture(Command::new(env!("CARGO_BIN_EXE_macho-run")).arg(exe))
}

const HELLO: &str = r#"
#include <stdio.h>
static int counter = 5;
int *pointer = &counter;
int main(void) { printf("hello %d\n", *pointer); return 0; }
"#;

/// A good executable built once: (chained-fixups build, classic build).
fn good() -> &'static (PathBuf, PathBuf) {
    static GOOD: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    GOOD.get_or_init(|| {
        let dir = testkit::scratch_dir("malformed-good");
        let src = dir.join("hello.c");
        std::fs::write(&src, HELLO).unwrap();
        let obj = dir.join("hello.o");
        testkit::compile_macos(&src, &obj, &["-O1"]);
        let chained = dir.join("hello-chained");
        let classic = dir.join("hello-classic");
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
        (chained, classic)
    })
}

/// Writes `bytes` to a file named `name` and runs it.
fn run_bytes(name: &str, bytes: &[u8]) -> (PathBuf, Outcome) {
    let dir = testkit::workspace_root().join("target/test-scratch/malformed");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = macho_run(&path);
    (path, out)
}

/// Asserts a clean refusal: the exit status, one `macho-run: error:` line
/// naming the file and containing `what`.
fn assert_refused(path: &Path, out: &Outcome, status: i32, what: &str) {
    let err = out.stderr_str();
    assert_eq!(
        out.code,
        status,
        "{}: wrong exit status; stderr: {err}",
        path.display()
    );
    assert!(
        out.stdout.is_empty(),
        "nothing may run: stdout {:?}",
        out.stdout_str()
    );
    assert_eq!(
        err.lines().count(),
        1,
        "one error line expected, got: {err}"
    );
    assert!(err.starts_with("macho-run: error: "), "{err}");
    assert!(
        err.contains(&*path.to_string_lossy()),
        "error must name the file: {err}"
    );
    assert!(err.contains(what), "error must say {what:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offsets of every load command, with its cmd value.
fn load_commands(bytes: &[u8]) -> Vec<(usize, u32)> {
    let ncmds = u32::from_le_bytes(bytes[16..20].try_into().unwrap());
    let mut at = 32usize;
    let mut out = Vec::new();
    for _ in 0..ncmds {
        let cmd = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
        out.push((at, cmd));
        at += size as usize;
    }
    out
}

#[test]
fn the_good_builds_run() {
    let (chained, classic) = good();
    for exe in [chained, classic] {
        let out = macho_run(exe);
        assert_eq!(
            (out.code, out.stdout_str()),
            (0, "hello 5\n".to_string()),
            "{}",
            out.stderr_str()
        );
    }
}

#[test]
fn truncated_files_are_refused() {
    let bytes = read(&good().0);
    let (p, out) = run_bytes("trunc-header", &bytes[..20]);
    assert_refused(&p, &out, 126, "header is truncated");
    let (p, out) = run_bytes("trunc-commands", &bytes[..200]);
    assert_refused(&p, &out, 126, "past the end of the file");
    let (p, out) = run_bytes("trunc-half", &bytes[..bytes.len() / 2]);
    assert_refused(&p, &out, 126, "outside the file");
    let (p, out) = run_bytes("empty", &[]);
    assert_refused(&p, &out, 126, "too short");
}

#[test]
fn a_load_command_with_a_bad_size_is_refused() {
    let mut bytes = read(&good().0);
    let (first, _) = load_commands(&bytes)[0];
    put_u32(&mut bytes, first + 4, 12);
    let (p, out) = run_bytes("bad-cmdsize", &bytes);
    assert_refused(&p, &out, 126, "bad size 12");
    assert!(
        out.stderr_str().contains("at file offset 0x20"),
        "{}",
        out.stderr_str()
    );

    let mut bytes = read(&good().0);
    put_u32(&mut bytes, first + 4, 0x10_0000);
    let (p, out) = run_bytes("huge-cmdsize", &bytes);
    assert_refused(&p, &out, 126, "bad size");
}

#[test]
fn an_out_of_range_segment_is_refused() {
    let mut bytes = read(&good().0);
    let image = Image::parse(&bytes, "x").unwrap();
    let data_index = image
        .segments
        .iter()
        .position(|s| s.name == "__DATA")
        .expect("__DATA");
    let (at, _) = load_commands(&bytes)
        .into_iter()
        .filter(|&(_, cmd)| cmd == object::macho::LC_SEGMENT_64)
        .nth(data_index)
        .unwrap();
    drop(image);
    put_u64(&mut bytes, at + 40, 0x7fff_0000); // fileoff
    let (p, out) = run_bytes("segment-out-of-range", &bytes);
    assert_refused(&p, &out, 126, "segment __DATA: file range 0x7fff0000");
}

#[test]
fn a_fixup_chain_pointing_outside_any_segment_is_refused() {
    let mut bytes = read(&good().0);
    let seg_starts = common::chained_segment_starts(&bytes);
    let first = *seg_starts.first().expect("some segment has fixups");
    // dyld_chained_starts_in_segment.segment_offset: move the chain far away.
    put_u64(&mut bytes, first + 8, 0x40_0000_0000);
    let (p, out) = run_bytes("chain-outside", &bytes);
    assert_refused(&p, &out, 126, "fixup chain points outside any segment");
}

#[test]
fn a_rebase_opcode_outside_its_segment_is_refused() {
    let mut bytes = read(&good().1);
    let image = Image::parse(&bytes, "x").unwrap();
    let rebase = image.dyld_info.expect("classic build has dyld info").rebase;
    drop(image);
    // Replace the stream: segment 2, offset 0xffffff (a 4-byte ULEB), rebase once.
    let stream = [0x11, 0x22, 0xff, 0xff, 0xff, 0x07, 0x51, 0x00];
    let at = rebase.offset as usize;
    assert!(rebase.size as usize >= stream.len());
    bytes[at..at + stream.len()].copy_from_slice(&stream);
    let (p, out) = run_bytes("rebase-outside", &bytes);
    assert_refused(&p, &out, 126, "lies outside the segment");
}

#[test]
fn a_missing_lc_main_is_refused() {
    let mut bytes = read(&good().0);
    let (at, _) = load_commands(&bytes)
        .into_iter()
        .find(|&(_, cmd)| cmd == object::macho::LC_MAIN)
        .unwrap();
    put_u32(&mut bytes, at, 0x7e); // some command dyld would ignore
    let (p, out) = run_bytes("no-main", &bytes);
    assert_refused(&p, &out, 126, "no LC_MAIN");
}

#[test]
fn an_elf_file_is_refused() {
    let elf = std::env::current_exe().unwrap();
    let (p, out) = run_bytes("an-elf", &read(&elf));
    assert_refused(&p, &out, 126, "is an ELF file");
}

/// A CPU type macho-run runs nowhere. (arm64 programs run, through the
/// aarch64 build: tests/arm64.rs has their refusals.)
#[test]
fn a_foreign_cpu_type_is_refused() {
    let mut bytes = read(&good().0);
    put_u32(&mut bytes, 4, object::macho::CPU_TYPE_POWERPC64);
    let (p, out) = run_bytes("ppc64", &bytes);
    assert_refused(&p, &out, 126, "wrong architecture: ppc64 Mach-O");
    put_u32(&mut bytes, 4, 0x1234);
    let (p, out) = run_bytes("cputype-0x1234", &bytes);
    assert_refused(&p, &out, 126, "wrong architecture: cputype 0x1234 Mach-O");
}

#[test]
fn a_missing_file_is_refused() {
    let path = testkit::workspace_root().join("target/test-scratch/no-such-file");
    let out = macho_run(&path);
    assert_refused(&path, &out, 126, "cannot read");
}

/// Builds tests/programs/unbound.c with extra compiler flags.
fn unbound_program(flags: &[&str], name: &str) -> PathBuf {
    let dir = testkit::scratch_dir(name);
    let src = testkit::workspace_root().join("tests/programs/unbound.c");
    let obj = dir.join("unbound.o");
    testkit::compile_macos(&src, &obj, flags);
    let exe = dir.join("unbound");
    testkit::link(
        Linker::LldChained,
        &[obj],
        &exe,
        &["-undefined", "dynamic_lookup"],
    );
    exe
}

#[test]
fn unbound_imports_used_as_data_are_listed_at_load_time() {
    let exe = unbound_program(&["-O1", "-DUSE_DATA"], "unbound-data");
    let out = macho_run(&exe);
    assert_refused(&exe, &out, 127, "unbound import(s)");
    let err = out.stderr_str();
    assert!(err.contains("_machlink_missing_variable"), "{err}");
    assert!(err.contains("_machlink_other_missing_variable"), "{err}");
}

#[test]
fn an_unbound_function_traps_only_when_called() {
    let exe = unbound_program(&["-O1"], "unbound-call");
    let out = macho_run(&exe);
    assert_eq!(
        (out.code, out.stdout_str()),
        (0, "never called it\n".into()),
        "{}",
        out.stderr_str()
    );

    let out = capture(
        Command::new(env!("CARGO_BIN_EXE_macho-run"))
            .arg(&exe)
            .env("MODE", "call-missing"),
    );
    assert_eq!(out.code, 127, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "about to call\n");
    assert!(
        out.stderr_str()
            .contains("called _machlink_missing_function, which is not bound"),
        "{}",
        out.stderr_str()
    );
}
