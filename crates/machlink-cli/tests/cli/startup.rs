//! How the `machlink` binary starts: where build.rs could link it
//! statically (Linux with glibc's static archives), it runs without the
//! dynamic loader, which is much of a short run's time otherwise.
#![cfg(machlink_static)]

/// ELF program header types.
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

/// The types of `elf`'s program headers (a 64-bit little-endian ELF).
fn segment_types(elf: &[u8]) -> Vec<u32> {
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "a 64-bit little-endian ELF");
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count)
        .map(|i| {
            let at = phoff + i * size;
            u32::from_le_bytes(elf[at..at + 4].try_into().unwrap())
        })
        .collect()
}

#[test]
fn the_static_build_needs_no_dynamic_loader() {
    // A library that std names and build.rs does not map to its archive
    // would make the linker record it as needed, in an executable that
    // has no dynamic loader to load it: it would crash at once.
    let exe = testkit::workspace_bin("machlink");
    let types = segment_types(&std::fs::read(&exe).unwrap());
    assert!(
        !types.contains(&PT_INTERP) && !types.contains(&PT_DYNAMIC),
        "{} is not a static executable: segment types {types:?}",
        exe.display()
    );
    let o = testkit::capture(std::process::Command::new(&exe).arg("--help"));
    assert_eq!(o.code, 0, "{}", o.stderr_str());
}
