//! The library API (issue #4): a program built from machine code in memory,
//! updated in place, grown behind a trampoline, and run under macho-run
//! after every flush; for x86_64 and for arm64 (whose data references are
//! `adrp` pairs: a page and a page-offset relocation each).

use machlink::image::{write_minimal_sdk, ImageConfig, IncrementalImage, Reloc, RelocKind};
use std::path::Path;
use std::process::Command;

fn run(exe: &Path) -> String {
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

/// A target's machine code for the scenario.
struct Code {
    arch: &'static str,
    /// `main`: printf(_format, value(), _counter); return 0.
    main: Vec<u8>,
    main_relocs: Vec<Reloc>,
    /// `value`: returns `value`, grown by `n` instructions that change
    /// nothing.
    returns: fn(value: u32, n: usize) -> Vec<u8>,
    /// The first instruction of a trampoline (its opcode bits), to find
    /// one in `_value`'s slot.
    trampoline: fn(&[u8]) -> bool,
}

fn x86_64() -> Code {
    Code {
        arch: "x86_64",
        main: vec![
            0x55, 0x48, 0x89, 0xe5, // push rbp; mov rbp, rsp
            0xe8, 0, 0, 0, 0, // call _value
            0x89, 0xc6, // mov esi, eax
            0x8b, 0x15, 0, 0, 0, 0, // mov edx, [rip + _counter]
            0x48, 0x8d, 0x3d, 0, 0, 0, 0, // lea rdi, [rip + _format]
            0x31, 0xc0, // xor eax, eax
            0xe8, 0, 0, 0, 0, // call _printf
            0x31, 0xc0, 0x5d, 0xc3, // xor eax, eax; pop rbp; ret
        ],
        main_relocs: vec![
            reloc(5, RelocKind::Call, "_value"),
            reloc(13, RelocKind::PcRel32, "_counter"),
            reloc(20, RelocKind::PcRel32, "_format"),
            reloc(27, RelocKind::Call, "_printf"),
        ],
        // mov eax, imm32; add eax, 0 (n times); ret
        returns: |value, n| {
            let mut code = vec![0xb8];
            code.extend_from_slice(&value.to_le_bytes());
            for _ in 0..n {
                code.extend_from_slice(&[0x83, 0xc0, 0]);
            }
            code.push(0xc3);
            code
        },
        trampoline: |slot| slot.first() == Some(&0xe9), // jmp rel32
    }
}

fn words(code: &[u32]) -> Vec<u8> {
    code.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Apple's arm64 ABI passes printf's variadic arguments on the stack.
fn arm64() -> Code {
    Code {
        arch: "arm64",
        main: words(&[
            0xd100_83ff, // sub sp, sp, #32
            0xa901_7bfd, // stp x29, x30, [sp, #16]
            0x9100_43fd, // add x29, sp, #16
            0x9400_0000, // bl _value
            0x9000_0008, // adrp x8, _counter@GOTPAGE
            0xf940_0108, // ldr x8, [x8, _counter@GOTPAGEOFF]
            0xf940_0108, // ldr x8, [x8]
            0xa900_23e0, // stp x0, x8, [sp]
            0x9000_0000, // adrp x0, _format@PAGE
            0x9100_0000, // add x0, x0, _format@PAGEOFF
            0x9400_0000, // bl _printf
            0x5280_0000, // mov w0, #0
            0xa941_7bfd, // ldp x29, x30, [sp, #16]
            0x9100_83ff, // add sp, sp, #32
            0xd65f_03c0, // ret
        ]),
        main_relocs: vec![
            reloc(12, RelocKind::Call, "_value"),
            reloc(16, RelocKind::GotPage, "_counter"),
            reloc(20, RelocKind::GotPageOffset, "_counter"),
            reloc(32, RelocKind::Page, "_format"),
            reloc(36, RelocKind::PageOffset, "_format"),
            reloc(40, RelocKind::Call, "_printf"),
        ],
        // mov w0, #value; add w0, w0, #0 (n times); ret
        returns: |value, n| {
            let mut code = vec![0x5280_0000 | (value & 0xffff) << 5];
            code.extend(std::iter::repeat_n(0x1100_0000, n));
            code.push(0xd65f_03c0);
            words(&code)
        },
        trampoline: |slot| {
            let first = slot
                .get(..4)
                .map(|w| u32::from_le_bytes(w.try_into().unwrap()));
            // b imm26, or adrp x16 (the far form)
            first.is_some_and(|w| w & 0xfc00_0000 == 0x1400_0000 || w & 0x9f00_001f == 0x9000_0010)
        },
    }
}

/// The first bytes of `_value`'s slot in the output.
fn value_slot(exe: &Path) -> Vec<u8> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let sym = file.symbols().find(|s| s.name() == Ok("_value")).unwrap();
    let text = file.section_by_name("__text").unwrap();
    let at = (sym.address() - text.address()) as usize;
    text.data().unwrap()[at..at + 16].to_vec()
}

fn scenario(code: Code) {
    let dir = testkit::scratch_dir(&format!("api/image-{}", code.arch));
    write_minimal_sdk(&dir.join("sdk")).unwrap();
    let exe = dir.join("prog");
    let mut config = ImageConfig::new(dir.join("sdk"));
    config.arch = code.arch.into();
    let mut image = IncrementalImage::create(&exe, config).unwrap();
    image.define_cstring("main", "_format", "value=%d counter=%d\n");
    image.define_data("data", "_counter", &7u64.to_le_bytes(), &[], true);
    image.define_function("main", "_main", &code.main, &code.main_relocs);
    image.define_function("value", "_value", &(code.returns)(1, 0), &[]);
    let s = image.flush().unwrap();
    assert!(s.incremental.unwrap().starts_with("full link"));
    assert_eq!(run(&exe), "value=1 counter=7\n");

    // In place.
    image.define_function("value", "_value", &(code.returns)(2, 0), &[]);
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(s.contains("1 atoms in place, 0 moved"), "{s}");
    assert!(!(code.trampoline)(&value_slot(&exe)));
    assert_eq!(run(&exe), "value=2 counter=7\n");

    // Grown past the slot: moved behind a trampoline.
    image.define_function("value", "_value", &(code.returns)(3, 20), &[]);
    let s = image.flush().unwrap().incremental.unwrap();
    assert!(
        s.contains("1 moved") && s.contains("1 trampolines written"),
        "{s}"
    );
    assert!((code.trampoline)(&value_slot(&exe)));
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

#[test]
fn functions_and_data_defined_in_memory_are_linked_and_updated() {
    scenario(x86_64());
}

#[test]
fn arm64_functions_and_data_defined_in_memory_are_linked_and_updated() {
    testkit::require_aarch64_macho_run(&testkit::workspace_bin("macho-run"));
    scenario(arm64());
}

/// What a target cannot state is refused when the unit is written, naming
/// the definition: x86_64 has no page relocations, and arm64 no 32-bit
/// pc-relative field.
#[test]
fn relocations_the_target_has_no_form_for_are_refused() {
    let dir = testkit::scratch_dir("api/refused");
    write_minimal_sdk(&dir.join("sdk")).unwrap();
    for (arch, kind) in [("x86_64", RelocKind::Page), ("arm64", RelocKind::PcRel32)] {
        let mut config = ImageConfig::new(dir.join("sdk"));
        config.arch = arch.into();
        let mut image = IncrementalImage::create(&dir.join(arch), config).unwrap();
        image.define_function("main", "_main", &[0; 8], &[reloc(0, kind, "_main")]);
        let e = image.flush().unwrap_err().to_string();
        assert!(e.contains("in _main") && e.contains(arch), "{arch}: {e}");
    }
}
