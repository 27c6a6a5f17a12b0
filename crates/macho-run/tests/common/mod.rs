//! Helpers shared by macho-run's integration tests for editing Mach-O bytes.

use macho_run::macho::Image;

pub fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// File offsets of every `dyld_chained_starts_in_segment` of an image with
/// chained fixups.
pub fn chained_segment_starts(bytes: &[u8]) -> Vec<usize> {
    let image = Image::parse(bytes, "x").unwrap();
    let fixups = image
        .chained_fixups
        .expect("image has chained fixups")
        .offset as usize;
    let starts = fixups + u32_at(bytes, fixups + 4);
    (0..u32_at(bytes, starts))
        .map(|i| u32_at(bytes, starts + 4 + 4 * i))
        .filter(|&off| off != 0)
        .map(|off| starts + off)
        .collect()
}
