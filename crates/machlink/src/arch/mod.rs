//! Architecture-specific code behind one small trait, so that adding arm64
//! touches this folder only: relocation application and the trampolines
//! that an incremental update writes into a moved function's old slot.

pub mod x86_64;

/// What the linker needs to know about one target architecture.
pub trait Arch {
    /// The Mach-O `cputype`.
    const CPU_TYPE: u32;
    /// Size of the largest trampoline; every function slot is at least this
    /// large (invariant 3: room for a trampoline).
    const MAX_TRAMPOLINE: usize;

    /// Encodes a jump placed at address `from` that lands on `to`.
    /// Returns the number of bytes written into `out`, or `None` when this
    /// architecture cannot reach `to` from `from`.
    fn write_trampoline(out: &mut [u8], from: u64, to: u64) -> Option<usize>;

    /// Decodes a trampoline at `from`: the address it jumps to, if `code`
    /// starts with one.
    fn read_trampoline(code: &[u8], from: u64) -> Option<u64>;
}
