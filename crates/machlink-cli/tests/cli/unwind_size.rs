//! `__TEXT,__unwind_info` is exactly as large as its contents: the same
//! size as ld64.lld-19 gives the same objects, with the same rows split
//! into the same second-level pages. (It used to be reserved from an upper
//! bound, 20 times too large.) An incremental link keeps room for later
//! updates on top of that exact size, and no more.

use machlink::unwind_info::{parse_unwind_info_full, ParsedUnwindInfo};
use object::{Object, ObjectSection};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{Linker, CORPUS_CFLAGS};

/// The `__unwind_info` section of an executable (empty if it has none).
fn unwind_info(exe: &Path) -> Vec<u8> {
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name("__unwind_info")
        .map_or(Vec::new(), |s| s.data().unwrap().to_vec())
}

/// Rows as (offset from the first row, encoding), with the `__eh_frame`
/// offset of DWARF-mode encodings masked (machlink's `__eh_frame` keeps
/// every FDE of an object that needs one, lld's only the needed ones).
fn normalized_rows(p: &ParsedUnwindInfo) -> Vec<(u32, u32)> {
    let first = p.rows.first().map_or(0, |r| r.0);
    p.rows
        .iter()
        .map(|&(off, enc, _, _)| {
            let enc = if enc & 0x0f00_0000 == 0x0400_0000 {
                0x0400_0000
            } else {
                enc
            };
            (off - first, enc)
        })
        .collect()
}

/// Links `objs` with lld, machlink and machlink -incremental; checks the
/// sizes (and table shapes) against lld's and that all three run alike.
/// Returns (lld's size, page count).
fn compare_with_lld(name: &str, objs: &[PathBuf], work: &Path) -> (usize, usize) {
    let lld = work.join(format!("{name}-lld"));
    let ours = work.join(format!("{name}-machlink"));
    let incremental = work.join(format!("{name}-incremental"));
    testkit::link(Linker::LldChained, objs, &lld, &[]);
    testkit::link(Linker::MachlinkChained, objs, &ours, &[]);
    testkit::link(
        Linker::MachlinkChained,
        objs,
        &incremental,
        &["-incremental"],
    );
    let (want, got) = (unwind_info(&lld), unwind_info(&ours));
    assert!(!want.is_empty(), "{name}: lld wrote no __unwind_info");
    assert_eq!(
        got.len(),
        want.len(),
        "{name}: machlink's __unwind_info is {} bytes, lld's {}",
        got.len(),
        want.len()
    );
    let (pw, pg) = (
        parse_unwind_info_full(&want).expect("lld's table parses"),
        parse_unwind_info_full(&got).expect("machlink's table parses"),
    );
    assert_eq!(normalized_rows(&pg), normalized_rows(&pw), "{name}: rows");
    let shape = |p: &ParsedUnwindInfo| -> Vec<(u32, usize, usize)> {
        p.pages
            .iter()
            .map(|pg| (pg.kind, pg.entry_count, pg.local_encodings.len()))
            .collect()
    };
    assert_eq!(shape(&pg), shape(&pw), "{name}: second-level pages");
    assert_eq!(
        pg.common_encodings.len(),
        pw.common_encodings.len(),
        "{name}: common encodings"
    );

    // -incremental: the same rows (functions sit in larger slots, not far
    // enough apart to change the pages), then a quarter of the table's
    // size and a page of room.
    let inc = unwind_info(&incremental);
    let exact = want.len();
    assert_eq!(
        inc.len(),
        exact + exact / 4 + 4096,
        "{name}: -incremental __unwind_info"
    );
    let pi = parse_unwind_info_full(&inc).expect("incremental table parses");
    let encodings = |p: &ParsedUnwindInfo| -> Vec<u32> {
        normalized_rows(p).into_iter().map(|r| r.1).collect()
    };
    assert_eq!(encodings(&pi), encodings(&pw), "{name}: -incremental rows");
    assert_eq!(shape(&pi), shape(&pw), "{name}: -incremental pages");
    assert!(inc[exact..].iter().all(|&b| b == 0));

    let run =
        |exe: &Path| testkit::capture(Command::new(testkit::workspace_bin("macho-run")).arg(exe));
    let expected = run(&lld);
    for exe in [&ours, &incremental] {
        let got = run(exe);
        assert!(
            got == expected,
            "{}",
            testkit::mismatch(&format!("{name}: {}", exe.display()), &expected, &got)
        );
    }
    (exact, pw.pages.len())
}

#[test]
fn unwind_info_size_matches_lld_on_corpus_programs() {
    let work = testkit::scratch_dir("machlink-unwind-size/corpus");
    for name in ["interp", "fnptr_tables", "qsort_bsearch", "setjmp_longjmp"] {
        let dir = testkit::workspace_root().join("tests/corpus").join(name);
        let srcs = testkit::c_sources(&dir);
        let out = work.join(name);
        std::fs::create_dir_all(&out).unwrap();
        let objs = testkit::compile_all_macos(&srcs, &out, CORPUS_CFLAGS);
        let (size, pages) = compare_with_lld(name, &objs, &work);
        // One page: what used to be a bound of several.
        assert_eq!(pages, 1, "{name}");
        assert!(size < 4096 + 512, "{name}: {size}");
    }
}

/// Many pages and many encodings: a generated program of 4,800 functions,
/// and 3,000 frameless functions with 240 frame sizes (more encodings than
/// the 127 common ones, so pages carry local encodings; the largest frames
/// have no compact unwind entry, only an FDE, so their rows defer to DWARF).
#[test]
fn unwind_info_size_matches_lld_with_many_pages_and_encodings() {
    let work = testkit::scratch_dir("machlink-unwind-size/generated");
    let src = work.join("src");
    testkit::check(
        Command::new("python3")
            .arg(testkit::workspace_root().join("tests/gen/genprog.py"))
            .args(["--objects", "12", "--functions", "400", "--out"])
            .arg(&src),
    );
    let srcs = testkit::c_sources(&src);
    let out = work.join("gen");
    std::fs::create_dir_all(&out).unwrap();
    let objs = testkit::compile_all_macos(&srcs, &out, CORPUS_CFLAGS);
    let (_, pages) = compare_with_lld("genprog", &objs, &work);
    assert!(pages >= 3, "genprog: {pages} pages");

    let mut c = String::new();
    let n = 3000;
    for k in 0..n {
        let size = 8 + 8 * (k % 240);
        c += &format!(
            "int g_{k}(int x) {{ volatile char buf[{size}]; buf[0] = (char)x; buf[1] = (char)(x >> 3); \
             buf[x & 7] = 1; return buf[1] + buf[0] + {k}; }}\n"
        );
    }
    c += "int (*const tab[])(int) = {";
    c += &(0..n)
        .map(|k| format!("g_{k}"))
        .collect::<Vec<_>>()
        .join(",");
    c += "};\nint main(int argc, char **argv) { (void)argv; int s = 0; \
          for (int i = 0; i < 3000; i++) s += tab[i](argc + i); return s & 0x7f; }\n";
    let many = work.join("many.c");
    std::fs::write(&many, c).unwrap();
    let obj = work.join("many.o");
    testkit::compile_macos(&many, &obj, &["-O1", "-fomit-frame-pointer"]);
    let (size, pages) = compare_with_lld("frames", &[obj], &work);
    assert!(pages >= 2, "frames: {pages} pages");
    let table = parse_unwind_info_full(&unwind_info(&work.join("frames-machlink"))).unwrap();
    assert_eq!(table.common_encodings.len(), 127, "frames: {size} bytes");
    assert!(table.pages.iter().any(|p| !p.local_encodings.is_empty()));
    assert!(table.rows.iter().any(|r| r.1 & 0x0f00_0000 == 0x0400_0000));
}
