//! Replays the fuzz corpora and regression inputs (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same entries the cargo-fuzz
//! targets call ([`machlink::fuzzing`]), on stable: none may panic. Then
//! hand-made inputs whose counts claim far more than their bytes hold must
//! be refused with an error that says so, and no input may make a reader
//! ask for a large block of memory (a counting allocator watches).

use machlink::fuzzing;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation any test here made.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// No reader needs a block this large for inputs of the sizes kept here
/// (the largest is some tens of KiB).
const LIMIT: usize = 64 << 20;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Runs every file of the target's corpus and regressions through `entry`;
/// how many there were. A panic names the file.
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(files) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files.map(|f| f.unwrap().path()).collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                panic!("fuzz input {} panicked", path.display());
            }
            n += 1;
        }
    }
    n
}

fn replays(target: &str, entry: fn(&[u8])) {
    let n = replay(target, entry);
    assert!(n > 0, "no inputs for fuzz target {target} under fuzz/");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < LIMIT, "an input made a {largest}-byte allocation");
}

#[test]
fn object_inputs() {
    replays("object", fuzzing::object);
}

#[test]
fn archive_inputs() {
    replays("archive", fuzzing::archive);
}

#[test]
fn tbd_inputs() {
    replays("tbd", fuzzing::tbd);
}

#[test]
fn dylib_inputs() {
    replays("dylib", fuzzing::dylib);
}

#[test]
fn state_inputs() {
    replays("state", fuzzing::state);
}

#[test]
fn journal_inputs() {
    replays("journal", fuzzing::journal);
}

#[test]
fn options_inputs() {
    replays("options", fuzzing::options);
}

// ---- Hand-made inputs: counts that claim more than the bytes hold. ----

use machlink::input::object::ObjectFile;

const LC_SEGMENT_64: u32 = 0x19;
const LC_SYMTAB: u32 = 0x2;

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn name16(b: &mut Vec<u8>, s: &str) {
    let mut n = [0u8; 16];
    n[..s.len()].copy_from_slice(s.as_bytes());
    b.extend_from_slice(&n);
}

/// An x86_64 MH_OBJECT: the header, then `commands` (already encoded).
fn object(ncmds: u32, commands: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [
        0xfeed_facf,
        0x0100_0007,
        3,
        1,
        ncmds,
        commands.len() as u32,
        0x2000,
        0,
    ] {
        put32(&mut b, v);
    }
    b.extend_from_slice(commands);
    b.extend_from_slice(tail);
    b
}

/// LC_SEGMENT_64 claiming `nsects` sections but holding `held` headers;
/// each section has `nreloc` relocations at `reloff`, `size` bytes of type
/// `flags`.
fn segment(nsects: u32, held: u32, nreloc: u32, reloff: u32, size: u64, flags: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put32(&mut b, LC_SEGMENT_64);
    put32(&mut b, 72 + 80 * held);
    name16(&mut b, "");
    for v in [0, size, 0, 0] {
        put64(&mut b, v);
    }
    for v in [7, 7, nsects, 0] {
        put32(&mut b, v);
    }
    for i in 0..held {
        name16(&mut b, &format!("__s{i}"));
        name16(&mut b, "__TEXT");
        put64(&mut b, 0); // addr
        put64(&mut b, size);
        for v in [0, 0, reloff, nreloc, flags, 0, 0, 0] {
            put32(&mut b, v);
        }
    }
    b
}

fn parse_err(data: &[u8]) -> String {
    match ObjectFile::parse(data, "crafted.o".into(), &machlink::arch::X86_64) {
        Ok(_) => panic!("the crafted object parsed"),
        Err(e) => e.to_string(),
    }
}

fn assert_small_allocations(what: &str, run: impl FnOnce()) {
    // Other tests run at the same time: measured as the largest request
    // since the start, which none of them comes near either.
    run();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < LIMIT, "{what}: a {largest}-byte allocation");
}

#[test]
fn object_claiming_2_pow_31_relocations() {
    let cmd = segment(1, 1, 1 << 31, 0x400, 0, 0);
    assert_small_allocations("2^31 relocations", || {
        let e = parse_err(&object(1, &cmd, &[]));
        assert!(
            e.contains("relocations of section") && e.contains("past the end"),
            "{e}"
        );
    });
}

#[test]
fn object_claiming_4g_sections() {
    let cmd = segment(u32::MAX, 1, 0, 0, 0, 0);
    assert_small_allocations("2^32-1 sections", || {
        let e = parse_err(&object(1, &cmd, &[]));
        assert!(e.contains("claims 4294967295 sections"), "{e}");
    });
}

#[test]
fn object_claiming_4g_symbols() {
    let mut cmd = Vec::new();
    for v in [LC_SYMTAB, 24, 0x100, u32::MAX, 0x100, 1] {
        put32(&mut cmd, v);
    }
    assert_small_allocations("2^32-1 symbols", || {
        let e = parse_err(&object(1, &cmd, &[0; 0x100]));
        assert!(
            e.contains("symbol table") && e.contains("past the end"),
            "{e}"
        );
    });
}

#[test]
fn object_claiming_4g_load_commands() {
    let cmd = segment(0, 0, 0, 0, 0, 0);
    assert_small_allocations("2^32-1 load commands", || {
        let e = parse_err(&object(u32::MAX, &cmd, &[]));
        assert!(e.contains("load command"), "{e}");
    });
}

#[test]
fn object_whose_sections_share_relocations() {
    // 200 sections, each naming the same 64 KiB of relocation entries.
    let n = 200;
    let commands_len = 72 + 80 * n;
    let reloff = 32 + commands_len;
    let cmd = segment(n, n, 8192, reloff, 0, 0);
    let data = object(1, &cmd, &vec![0u8; 8192 * 8]);
    assert_small_allocations("shared relocations", || {
        let e = parse_err(&data);
        assert!(e.contains("relocation entries overlap"), "{e}");
    });
}

#[test]
fn object_with_4g_zerofill_compact_unwind() {
    // __LD,__compact_unwind as zerofill: 4 GiB of entries with no bytes.
    let mut cmd = segment(1, 1, 0, 0, u32::MAX as u64, 1);
    cmd[72 + 16..72 + 22].copy_from_slice(b"__LD\0\0");
    cmd[72..72 + 16].copy_from_slice(b"__compact_unwind");
    assert_small_allocations("zerofill compact unwind", || {
        let _ = ObjectFile::parse(
            &object(1, &cmd, &[]),
            "crafted.o".into(),
            &machlink::arch::X86_64,
        );
    });
}

#[test]
fn tbd_with_huge_lists_and_aliases() {
    // A YAML alias "bomb": each list names the previous one nine times.
    let mut text = String::from(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ x86_64-macos ]\n\
         install-name: /usr/lib/libbomb.dylib\nexports:\n  - targets: [ x86_64-macos ]\n\
         \x20   symbols: &a0 [ _a, _b, _c, _d, _e, _f, _g, _h, _i ]\n",
    );
    for i in 1..9 {
        let p = i - 1;
        text.push_str(&format!(
            "  - targets: [ x86_64-macos ]\n    symbols: &a{i} [ *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p} ]\n"
        ));
    }
    text.push_str("...\n");
    assert_small_allocations("alias bomb", || {
        let Err(e) = machlink::input::tbd::parse_tbd(text.as_bytes(), "x86_64-macos") else {
            panic!("9^9 symbols read");
        };
        assert!(format!("{e:?}").contains("aliases expand"), "{e:?}");
    });
}
