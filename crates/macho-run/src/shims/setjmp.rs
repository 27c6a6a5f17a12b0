//! setjmp/longjmp with macOS's jmp_buf size.
//!
//! macOS x86_64 `jmp_buf` is `int[37]` (148 bytes) and `sigjmp_buf`
//! `int[38]`; glibc's is 200 bytes, so glibc's setjmp would write past a
//! macOS program's buffer. These versions store 96 bytes:
//!
//! | offset | contents                                   |
//! |--------|--------------------------------------------|
//! | 0..48  | rbx, rbp, r12, r13, r14, r15               |
//! | 48     | rsp after return (the caller's rsp)        |
//! | 56     | return address                             |
//! | 64     | 1 when the signal mask was saved           |
//! | 72     | the signal mask (signals 1..64)            |
//! | 88     | mxcsr (4 bytes), x87 control word (2)      |
//!
//! `setjmp` saves the signal mask (BSD semantics), `_setjmp` does not,
//! `sigsetjmp` when its second argument is non-zero. Every longjmp variant
//! restores the mask exactly when it was saved.

use std::arch::global_asm;

global_asm!(
    ".globl macho_run_setjmp",
    ".globl macho_run_underscore_setjmp",
    ".globl macho_run_sigsetjmp",
    ".globl macho_run_longjmp",
    "macho_run_setjmp:",
    "    mov esi, 1",
    "    jmp macho_run_sigsetjmp",
    "macho_run_underscore_setjmp:",
    "    xor esi, esi",
    "macho_run_sigsetjmp:",
    "    mov [rdi], rbx",
    "    mov [rdi + 8], rbp",
    "    mov [rdi + 16], r12",
    "    mov [rdi + 24], r13",
    "    mov [rdi + 32], r14",
    "    mov [rdi + 40], r15",
    "    lea rdx, [rsp + 8]",
    "    mov [rdi + 48], rdx",
    "    mov rdx, [rsp]",
    "    mov [rdi + 56], rdx",
    "    stmxcsr [rdi + 88]",
    "    fnstcw [rdi + 92]",
    "    mov dword ptr [rdi + 64], esi",
    "    test esi, esi",
    "    jz 2f",
    // The stack is 8 mod 16 here (just after a call); realign for the call.
    "    sub rsp, 8",
    "    call {save_mask}",
    "    add rsp, 8",
    "2:",
    "    xor eax, eax",
    "    ret",
    "macho_run_longjmp:",
    "    cmp dword ptr [rdi + 64], 0",
    "    je 3f",
    "    push rdi",
    "    push rsi",
    "    sub rsp, 8",
    "    call {restore_mask}",
    "    add rsp, 8",
    "    pop rsi",
    "    pop rdi",
    "3:",
    "    mov eax, esi",
    "    test eax, eax",
    "    jnz 4f",
    "    mov eax, 1",
    "4:",
    "    mov rbx, [rdi]",
    "    mov rbp, [rdi + 8]",
    "    mov r12, [rdi + 16]",
    "    mov r13, [rdi + 24]",
    "    mov r14, [rdi + 32]",
    "    mov r15, [rdi + 40]",
    "    ldmxcsr [rdi + 88]",
    "    fldcw [rdi + 92]",
    "    mov rsp, [rdi + 48]",
    "    jmp qword ptr [rdi + 56]",
    save_mask = sym save_mask,
    restore_mask = sym restore_mask,
);

extern "C" {
    pub fn macho_run_setjmp();
    pub fn macho_run_underscore_setjmp();
    pub fn macho_run_sigsetjmp();
    pub fn macho_run_longjmp();
}

/// Stores the current signal mask (first 64 signals) at `buf + 72`.
extern "C" fn save_mask(buf: *mut u8) {
    // SAFETY: a zeroed sigset_t is valid; buf is the program's jmp_buf,
    // at least 148 bytes long.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        let first = std::ptr::read_unaligned(&set as *const _ as *const u64);
        std::ptr::write_unaligned(buf.add(72) as *mut u64, first);
    }
}

/// Restores the signal mask saved by [`save_mask`].
extern "C" fn restore_mask(buf: *const u8) {
    // SAFETY: as in save_mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let first = std::ptr::read_unaligned(buf.add(72) as *const u64);
        std::ptr::write_unaligned(&mut set as *mut _ as *mut u64, first);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// (macOS symbol, shim) pairs for the setjmp family.
pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_setjmp", macho_run_setjmp as *const () as usize),
        (
            "__setjmp",
            macho_run_underscore_setjmp as *const () as usize,
        ),
        ("_sigsetjmp", macho_run_sigsetjmp as *const () as usize),
        ("_longjmp", macho_run_longjmp as *const () as usize),
        ("__longjmp", macho_run_longjmp as *const () as usize),
        ("_siglongjmp", macho_run_longjmp as *const () as usize),
    ]
}
