//! The library API (issue #4): a program built from machine code in memory,
//! updated in place, grown behind a trampoline, and run under macho-run
//! after every flush.

use machlink::image::{write_minimal_sdk, ImageConfig, IncrementalImage, Reloc, RelocKind};
use std::process::Command;

fn run(exe: &std::path::Path) -> String {
    let o = testkit::capture(Command::new(testkit::workspace_bin("macho-run")).arg(exe));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
    o.stdout_str()
}

fn reloc(offset: u32, kind: RelocKind, target: &str) -> Reloc {
    Reloc {
        offset,
        kind,
        target: target.into(),
        addend: 0,
    }
}

/// `mov eax, imm32; ret`, padded with `n` extra `add eax, 0` to grow it.
fn returns(value: u32, n: usize) -> Vec<u8> {
    let mut code = vec![0xb8];
    code.extend_from_slice(&value.to_le_bytes());
    for _ in 0..n {
        code.extend_from_slice(&[0x83, 0xc0, 0]);
    }
    code.push(0xc3);
    code
}

#[test]
fn functions_and_data_defined_in_memory_are_linked_and_updated() {
    let dir = testkit::scratch_dir("api/image");
    write_minimal_sdk(&dir.join("sdk")).unwrap();
    let exe = dir.join("prog");
    let mut image = IncrementalImage::create(&exe, ImageConfig::new(dir.join("sdk"))).unwrap();
    // main: printf(format, value(), counter); return 0
    image.define_cstring("main", "_format", "value=%d counter=%d\n");
    image.define_data("data", "_counter", &7u64.to_le_bytes(), &[], true);
    image.define_function(
        "main",
        "_main",
        &[
            0x55, 0x48, 0x89, 0xe5, // push rbp; mov rbp, rsp
            0xe8, 0, 0, 0, 0, // call _value
            0x89, 0xc6, // mov esi, eax
            0x8b, 0x15, 0, 0, 0, 0, // mov edx, [rip + _counter]
            0x48, 0x8d, 0x3d, 0, 0, 0, 0, // lea rdi, [rip + _format]
            0x31, 0xc0, // xor eax, eax
            0xe8, 0, 0, 0, 0, // call _printf
            0x31, 0xc0, 0x5d, 0xc3, // xor eax, eax; pop rbp; ret
        ],
        &[
            reloc(5, RelocKind::Call, "_value"),
            reloc(13, RelocKind::PcRel32, "_counter"),
            reloc(20, RelocKind::PcRel32, "_format"),
            reloc(27, RelocKind::Call, "_printf"),
        ],
    );
    image.define_function("value", "_value", &returns(1, 0), &[]);
    let s = image.flush().unwrap();
    assert!(s.incremental.unwrap().starts_with("full link"));
    assert_eq!(run(&exe), "value=1 counter=7\n");

    // In place.
    image.define_function("value", "_value", &returns(2, 0), &[]);
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(s.contains("1 atoms in place, 0 moved"), "{s}");
    assert_eq!(run(&exe), "value=2 counter=7\n");

    // Grown past the slot: moved behind a trampoline.
    image.define_function("value", "_value", &returns(3, 20), &[]);
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(
        s.contains("1 moved") && s.contains("1 trampolines written"),
        "{s}"
    );
    assert_eq!(run(&exe), "value=3 counter=7\n");

    // Data changed in place; nothing else flushed twice.
    image.define_data("data", "_counter", &9u64.to_le_bytes(), &[], true);
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(s.starts_with("updated 1 object(s)"), "{s}");
    assert_eq!(run(&exe), "value=3 counter=9\n");
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(s.starts_with("nothing changed"), "{s}");

    // A removed definition that is still referenced is the same error as
    // in a full link.
    assert!(image.remove("value", "_value"));
    let e = image.flush().unwrap_err().to_string();
    assert!(e.contains("undefined symbol: _value"), "{e}");
}
