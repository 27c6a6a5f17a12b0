//! Loader features the corpus does not reach by itself: every chained
//! import format, the 64-bit-offset pointer format, sliding, and weak
//! imports that stay unbound.

mod common;

use macho_run::fixups::{self, Action};
use macho_run::macho::Image;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{capture, Linker, Outcome};

fn macho_run(exe: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_macho-run"));
    cmd.arg(exe);
    cmd
}

/// Builds tests/programs/NAME.c with `flags`, linked by ld64.lld-19.
fn build(
    name: &str,
    variant: &str,
    flags: &[&str],
    linker: Linker,
    link_flags: &[&str],
) -> PathBuf {
    let dir = testkit::scratch_dir(&format!("loading/{name}{variant}"));
    let src = testkit::workspace_root().join(format!("tests/programs/{name}.c"));
    let obj = dir.join(format!("{name}.o"));
    testkit::compile_macos(&src, &obj, flags);
    let exe = dir.join(name);
    testkit::link(linker, &[obj], &exe, link_flags);
    exe
}

fn assert_runs(out: &Outcome, stdout: &str) {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr_str());
    assert_eq!(out.stdout_str(), stdout);
}

/// `imports_format` from the image's LC_DYLD_CHAINED_FIXUPS header.
fn imports_format(exe: &Path) -> usize {
    let bytes = std::fs::read(exe).unwrap();
    let image = Image::parse(&bytes, "x").unwrap();
    common::u32_at(
        &bytes,
        image.chained_fixups.expect("chained fixups").offset as usize + 20,
    )
}

#[test]
fn all_three_chained_import_formats_bind_with_their_addends() {
    let cases: [(&str, usize, &str); 3] = [
        ("", 1, ""),
        ("-DWIDE_ADDEND", 2, "maplower['Q'] = q\n"),
        ("-DHUGE_ADDEND", 3, "far - magic = 100000000\n"),
    ];
    for (define, format, extra) in cases {
        let mut flags = vec!["-O1"];
        if !define.is_empty() {
            flags.push(define);
        }
        let exe = build("import_addends", define, &flags, Linker::LldChained, &[]);
        assert_eq!(
            imports_format(&exe),
            format,
            "{define}: the linker chose another format"
        );
        let out = capture(&mut macho_run(&exe));
        assert_runs(&out, &format!("encoding is 8 bytes in: 8\n{extra}"));
    }
}

#[test]
fn dyld_chained_ptr_64_offset_rebases_from_the_image_base() {
    let exe = build("where_am_i", "", &["-O1"], Linker::LldChained, &[]);
    let mut bytes = std::fs::read(&exe).unwrap();
    let image = Image::parse(&bytes, "x").unwrap();
    let base = image.preferred_base();
    let plan = fixups::plan(&image).unwrap();
    // Rewrite every rebase's target from an address to an offset from the
    // image base, and every segment's pointer_format from 2 to 6.
    let mut edits = Vec::new();
    for f in &plan.fixups {
        if let Action::Rebase { target, .. } = f.action {
            let seg = image.segment_at(f.vmaddr).unwrap();
            let at = (seg.fileoff + f.vmaddr - seg.vmaddr) as usize;
            let raw = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            edits.push((at, (raw & !0xF_FFFF_FFFF) | (target - base)));
        }
    }
    assert!(edits.len() >= 2, "where_am_i has pointers in data");
    drop(image);
    for seg_start in common::chained_segment_starts(&bytes) {
        let fmt = seg_start + 6;
        assert_eq!(u16::from_le_bytes([bytes[fmt], bytes[fmt + 1]]), 2);
        bytes[fmt..fmt + 2].copy_from_slice(&6u16.to_le_bytes());
    }
    for (at, raw) in edits {
        bytes[at..at + 8].copy_from_slice(&raw.to_le_bytes());
    }
    let rewritten = exe.with_file_name("where_am_i-offset");
    std::fs::write(&rewritten, &bytes).unwrap();
    let expected = "data pointer ok: 1\nfunction pointer ok: 1\n";
    assert_runs(
        &capture(&mut macho_run(&rewritten)),
        &format!("preferred\n{expected}"),
    );
    let slid = capture(macho_run(&rewritten).env(macho_run::loader::FORCE_SLIDE_ENV, "1"));
    assert_runs(&slid, &format!("slid\n{expected}"));
}

#[test]
fn an_image_whose_address_is_taken_slides_in_both_fixup_formats() {
    let expected = "data pointer ok: 1\nfunction pointer ok: 1\n";
    for linker in [Linker::LldChained, Linker::LldClassic, Linker::Zig] {
        let exe = build("where_am_i", linker.name(), &["-O1"], linker, &[]);
        assert_runs(
            &capture(&mut macho_run(&exe)),
            &format!("preferred\n{expected}"),
        );
        let slid = capture(macho_run(&exe).env(macho_run::loader::FORCE_SLIDE_ENV, "1"));
        assert_runs(&slid, &format!("slid\n{expected}"));
    }
}

#[test]
fn missing_weak_imports_read_as_null() {
    for linker in [Linker::LldChained, Linker::LldClassic] {
        let exe = build(
            "weak_import",
            linker.name(),
            &["-O1"],
            linker,
            &["-undefined", "dynamic_lookup"],
        );
        let out = capture(&mut macho_run(&exe));
        assert_runs(
            &out,
            "absent function is NULL\nabsent variable is NULL\nabs is bound: 5\n",
        );
    }
}

/// MACHO_RUN_LAZY really defers lazy binds to the stub helper: with the
/// helper's code replaced by `ud2`, the eager default still runs, the lazy
/// mode traps on the first call.
#[test]
fn lazy_mode_goes_through_the_stub_helper() {
    let exe = build("where_am_i", "lazy", &["-O1"], Linker::LldClassic, &[]);
    let expected = "preferred\ndata pointer ok: 1\nfunction pointer ok: 1\n";
    let lazy = capture(macho_run(&exe).env(macho_run::shims::lazy::LAZY_ENV, "1"));
    assert_runs(&lazy, expected);
    let mut bytes = std::fs::read(&exe).unwrap();
    let image = Image::parse(&bytes, "x").unwrap();
    let helper = image
        .sections()
        .find(|s| s.sectname == "__stub_helper")
        .expect("classic output has __stub_helper")
        .clone();
    drop(image);
    let at = helper.offset as usize;
    for pair in bytes[at..at + helper.size as usize].chunks_mut(2) {
        pair.copy_from_slice(&[0x0f, 0x0b][..pair.len()]);
    }
    let broken = exe.with_file_name("where_am_i-ud2");
    std::fs::write(&broken, &bytes).unwrap();
    assert_runs(&capture(&mut macho_run(&broken)), expected);
    let trapped = capture(macho_run(&broken).env(macho_run::shims::lazy::LAZY_ENV, "1"));
    const SIGILL: i32 = 4;
    assert_eq!(trapped.code, 128 + SIGILL, "{}", trapped.stderr_str());
}
