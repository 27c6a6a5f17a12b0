//! x86_64 registers for unwinding: DWARF numbering (rax 0, rdx 1, rcx 2,
//! rbx 3, rsi 4, rdi 5, rbp 6, rsp 7, r8..r15 8..15, return address 16),
//! the entry trampolines that capture the caller's registers, and the jump
//! that installs a frame's registers at a landing pad.

use std::arch::global_asm;

/// DWARF registers 0..15; the return address column (16) is `pc`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Regs {
    pub r: [u64; 16],
    pub pc: u64,
}

pub const SP: u16 = 7;
/// The DWARF column holding the return address.
pub const RA: u16 = 16;

impl Regs {
    pub fn get(&self, n: u16) -> Option<u64> {
        match n {
            0..=15 => Some(self.r[n as usize]),
            16 => Some(self.pc),
            _ => None,
        }
    }

    pub fn set(&mut self, n: u16, v: u64) -> bool {
        match n {
            0..=15 => self.r[n as usize] = v,
            16 => self.pc = v,
            _ => return false,
        }
        true
    }

    pub fn sp(&self) -> u64 {
        self.r[SP as usize]
    }
}

// An entry point `$name` that captures its caller's registers (the
// callee-saved ones as they are at the call, rsp after the return, the
// return address as pc) into a `Regs` on its own stack and calls
// `$imp(regs, a, b, c)` with its own first three arguments shifted. `$imp`
// returns only to report a failure; on success it installs a context.
macro_rules! capture_entry {
    ($name:literal, $imp:path) => {
        std::arch::global_asm!(
            concat!(".globl ", $name),
            concat!($name, ":"),
            // 136 bytes of Regs: rsp was 8 mod 16, now 0 for the call.
            "    sub rsp, 136",
            "    mov qword ptr [rsp], 0",
            "    mov qword ptr [rsp + 8], 0",
            "    mov qword ptr [rsp + 16], 0",
            "    mov [rsp + 24], rbx",
            "    mov qword ptr [rsp + 32], 0",
            "    mov qword ptr [rsp + 40], 0",
            "    mov [rsp + 48], rbp",
            "    lea rax, [rsp + 144]",
            "    mov [rsp + 56], rax",
            "    mov qword ptr [rsp + 64], 0",
            "    mov qword ptr [rsp + 72], 0",
            "    mov qword ptr [rsp + 80], 0",
            "    mov qword ptr [rsp + 88], 0",
            "    mov [rsp + 96], r12",
            "    mov [rsp + 104], r13",
            "    mov [rsp + 112], r14",
            "    mov [rsp + 120], r15",
            "    mov rax, [rsp + 136]",
            "    mov [rsp + 128], rax",
            "    mov rcx, rdx",
            "    mov rdx, rsi",
            "    mov rsi, rdi",
            "    mov rdi, rsp",
            "    call {imp}",
            "    add rsp, 136",
            "    ret",
            imp = sym $imp,
        );
    };
}
pub(super) use capture_entry;

// Installs `Regs` (in rdi) and resumes at its pc: the return address goes
// just below the target rsp, which belongs to the frames being discarded,
// and a `ret` pops it with every register in place.
global_asm!(
    ".globl macho_run_unwind_install",
    "macho_run_unwind_install:",
    "    mov rax, [rdi + 56]",
    "    sub rax, 8",
    "    mov rcx, [rdi + 128]",
    "    mov [rax], rcx",
    "    mov rdx, [rdi + 8]",
    "    mov rcx, [rdi + 16]",
    "    mov rbx, [rdi + 24]",
    "    mov rsi, [rdi + 32]",
    "    mov rbp, [rdi + 48]",
    "    mov r8, [rdi + 64]",
    "    mov r9, [rdi + 72]",
    "    mov r10, [rdi + 80]",
    "    mov r11, [rdi + 88]",
    "    mov r12, [rdi + 96]",
    "    mov r13, [rdi + 104]",
    "    mov r14, [rdi + 112]",
    "    mov r15, [rdi + 120]",
    "    mov rsp, rax",
    "    mov rax, [rdi]",
    "    mov rdi, [rdi + 40]",
    "    ret",
);

extern "C" {
    /// Jumps to `regs.pc` with every register of `regs`.
    pub fn macho_run_unwind_install(regs: *const Regs) -> !;
}
