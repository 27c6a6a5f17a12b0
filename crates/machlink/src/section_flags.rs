//! Questions about a section's `flags` word, shared by input and output
//! sections.

use object::macho;

/// The section type (`S_REGULAR`, `S_ZEROFILL`, ...).
pub fn kind(flags: u32) -> u32 {
    flags & macho::SECTION_TYPE
}

/// Zero-fill sections occupy address space but no file bytes.
pub fn is_zerofill(flags: u32) -> bool {
    matches!(
        kind(flags),
        macho::S_ZEROFILL | macho::S_GB_ZEROFILL | macho::S_THREAD_LOCAL_ZEROFILL
    )
}

/// Sections that hold instructions.
pub fn is_code(flags: u32) -> bool {
    flags & (macho::S_ATTR_PURE_INSTRUCTIONS | macho::S_ATTR_SOME_INSTRUCTIONS) != 0
}
