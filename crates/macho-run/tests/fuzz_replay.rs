//! Replays the `macho_run_load` fuzz corpus and regression inputs
//! (`fuzz/corpus/macho_run_load/`, `fuzz/regressions/macho_run_load/`)
//! through the entry the cargo-fuzz target calls, on stable: parsing,
//! fixups, binding and mapping, no code run. None may panic.

use std::path::{Path, PathBuf};

#[test]
fn macho_run_load_inputs() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(files) = std::fs::read_dir(fuzz.join(dir).join("macho_run_load")) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files.map(|f| f.unwrap().path()).collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| macho_run::fuzzing::load(&data)).is_err() {
                panic!("fuzz input {} panicked", path.display());
            }
            n += 1;
        }
    }
    assert!(
        n > 0,
        "no inputs for fuzz target macho_run_load under fuzz/"
    );
}

/// A classic-fixups executable whose bind stream is replaced by a few
/// opcodes binding one slot 2^48 times (a skip that wraps back to it): the
/// plan must stop with an error, not grow without end.
#[test]
fn bind_opcodes_repeating_one_slot() {
    use macho_run::macho::Image;
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/macho_run_load");
    let seed = std::fs::read_dir(&fuzz)
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("x86_64-classic"))
        .min()
        .expect("a classic x86_64 executable in the corpus");
    let mut data = std::fs::read(&seed).unwrap();
    let (bind, seg) = {
        let image = Image::parse_linked_any_arch(&data, "seed").unwrap();
        let info = image.dyld_info.expect("classic fixups");
        let seg = image
            .segments
            .iter()
            .position(|s| s.name.starts_with("__DATA") && s.vmsize >= 8)
            .expect("a data segment");
        (info.bind, seg as u8)
    };
    let uleb = |mut v: u64, out: &mut Vec<u8>| loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    };
    // ordinal 1, name "_x", pointer, segment `seg` offset 0, then
    // DO_BIND_ULEB_TIMES_SKIPPING_ULEB 2^48 times, skip -8.
    let mut ops = vec![0x11, 0x40, b'_', b'x', 0, 0x51, 0x70 | seg, 0x00, 0xc0];
    uleb(1 << 48, &mut ops);
    uleb(u64::MAX - 7, &mut ops);
    ops.push(0x00);
    assert!(
        ops.len() as u64 <= bind.size,
        "the seed's bind stream is too short"
    );
    let at = bind.offset as usize;
    data[at..at + ops.len()].copy_from_slice(&ops);
    data[at + ops.len()..at + bind.size as usize].fill(0);
    let image = Image::parse_linked_any_arch(&data, "crafted").unwrap();
    let e = macho_run::fixups::plan(&image).expect_err("2^48 binds of one slot");
    assert!(e.to_string().contains("more fixups"), "{e}");
}
