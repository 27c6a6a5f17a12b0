//! arm64 registers for unwinding: DWARF numbering (x0..x30 0..30, sp 31,
//! v0..v31 64..95, of which d8..d15 are callee-saved), the pc apart, the
//! entry trampolines that capture the caller's registers, and the jump
//! that installs a frame's registers at a landing pad.

use std::arch::global_asm;

/// DWARF registers 0..95, then the pc (and padding to 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Regs {
    pub r: [u64; 96],
    pub pc: u64,
    pad: u64,
}

pub const SP: u16 = 31;
/// The DWARF column holding the return address (lr).
pub const RA: u16 = 30;

impl Regs {
    pub fn get(&self, n: u16) -> Option<u64> {
        match n {
            0..=31 | 64..=95 => Some(self.r[n as usize]),
            _ => None,
        }
    }

    pub fn set(&mut self, n: u16, v: u64) -> bool {
        match n {
            0..=31 | 64..=95 => self.r[n as usize] = v,
            _ => return false,
        }
        true
    }

    pub fn sp(&self) -> u64 {
        self.r[SP as usize]
    }
}

// An entry point `$name` that captures its caller's registers (x19..x30,
// d8..d15 as they are at the call, sp, and lr as pc) into a `Regs` below
// a frame record of its own and calls `$imp(regs, a, b, c)` with its first
// three arguments shifted. `$imp` returns only to report a failure.
macro_rules! capture_entry {
    ($name:literal, $imp:path) => {
        std::arch::global_asm!(
            concat!(".globl ", $name),
            concat!($name, ":"),
            "    stp x29, x30, [sp, #-16]!",
            "    mov x29, sp",
            "    sub sp, sp, #784",
            "    mov x9, sp",
            "    mov x10, #0",
            "2:",
            "    str xzr, [x9], #8",
            "    add x10, x10, #1",
            "    cmp x10, #98",
            "    b.ne 2b",
            "    stp x19, x20, [sp, #152]",
            "    stp x21, x22, [sp, #168]",
            "    stp x23, x24, [sp, #184]",
            "    stp x25, x26, [sp, #200]",
            "    str x27, [sp, #216]",
            "    str x28, [sp, #224]",
            "    ldr x9, [x29]",
            "    str x9, [sp, #232]",
            "    str x30, [sp, #240]",
            "    add x9, x29, #16",
            "    str x9, [sp, #248]",
            "    str x30, [sp, #768]",
            "    add x9, sp, #576",
            "    stp d8, d9, [x9]",
            "    stp d10, d11, [x9, #16]",
            "    stp d12, d13, [x9, #32]",
            "    stp d14, d15, [x9, #48]",
            "    mov x3, x2",
            "    mov x2, x1",
            "    mov x1, x0",
            "    mov x0, sp",
            "    bl {imp}",
            "    mov sp, x29",
            "    ldp x29, x30, [sp], #16",
            "    ret",
            imp = sym $imp,
        );
    };
}
pub(super) use capture_entry;

// Installs `Regs` (in x0) and branches to its pc. x16 and x17 (the
// intra-procedure-call scratch registers) carry the pc and sp.
global_asm!(
    ".globl macho_run_unwind_install",
    "macho_run_unwind_install:",
    "    add x9, x0, #576",
    "    ldp d8, d9, [x9]",
    "    ldp d10, d11, [x9, #16]",
    "    ldp d12, d13, [x9, #32]",
    "    ldp d14, d15, [x9, #48]",
    "    ldr x16, [x0, #768]",
    "    ldr x17, [x0, #248]",
    "    mov sp, x17",
    "    ldp x2, x3, [x0, #16]",
    "    ldp x4, x5, [x0, #32]",
    "    ldp x6, x7, [x0, #48]",
    "    ldp x8, x9, [x0, #64]",
    "    ldp x10, x11, [x0, #80]",
    "    ldp x12, x13, [x0, #96]",
    "    ldp x14, x15, [x0, #112]",
    "    ldp x19, x20, [x0, #152]",
    "    ldp x21, x22, [x0, #168]",
    "    ldp x23, x24, [x0, #184]",
    "    ldp x25, x26, [x0, #200]",
    "    ldp x27, x28, [x0, #216]",
    "    ldp x29, x30, [x0, #232]",
    "    ldp x0, x1, [x0]",
    "    br x16",
);

extern "C" {
    /// Branches to `regs.pc` with every register of `regs`.
    pub fn macho_run_unwind_install(regs: *const Regs) -> !;
}
