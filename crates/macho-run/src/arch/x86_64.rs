//! x86_64: System V registers, Darwin's x86_64 conventions, 4 KiB pages.

use object::macho;
use std::arch::global_asm;

/// The Mach-O name of the architecture this build runs.
pub const NAME: &str = "x86_64";

/// The Mach-O CPU type this build runs.
pub const CPU_TYPE: u32 = macho::CPU_TYPE_X86_64;

/// Mach-O x86_64 segments are aligned to 4 KiB, like Linux x86_64 pages.
pub const SEGMENT_ALIGN: u64 = 4096;

/// Every x86_64 subtype (ALL, H) runs the same instructions here.
pub fn check_subtype(_cpusubtype: u32) -> Result<(), String> {
    Ok(())
}

// setjmp/longjmp with macOS's x86_64 jmp_buf size: `jmp_buf` is `int[37]`
// (148 bytes) and `sigjmp_buf` `int[38]`; glibc's is 200 bytes, so glibc's
// setjmp would write past a macOS program's buffer. These store 96 bytes:
//
// | offset | contents                                   |
// |--------|--------------------------------------------|
// | 0..48  | rbx, rbp, r12, r13, r14, r15               |
// | 48     | rsp after return (the caller's rsp)        |
// | 56     | return address                             |
// | 64     | 1 when the signal mask was saved           |
// | 72     | the signal mask (signals 1..64)            |
// | 88     | mxcsr (4 bytes), x87 control word (2)      |
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
    "    lea rdi, [rdi + 72]",
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
    "    lea rdi, [rdi + 72]",
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
    save_mask = sym crate::shims::setjmp::save_mask,
    restore_mask = sym crate::shims::setjmp::restore_mask,
);

// dyld_stub_binder. On entry (from the stub helper): [rsp] = the image's
// __dyld_private, [rsp+8] = lazy bind offset, [rsp+16] = return address of
// the original call. Preserves every argument register (rdi, rsi, rdx,
// rcx, r8, r9, rax for variadic calls, xmm0-7), pops the two pushed words
// and jumps to the bound function.
global_asm!(
    ".globl macho_run_stub_binder",
    "macho_run_stub_binder:",
    "    push rbp",
    "    mov rbp, rsp",
    "    sub rsp, 192",
    "    mov [rsp], rdi",
    "    mov [rsp + 8], rsi",
    "    mov [rsp + 16], rdx",
    "    mov [rsp + 24], rcx",
    "    mov [rsp + 32], r8",
    "    mov [rsp + 40], r9",
    "    mov [rsp + 48], rax",
    "    movdqu [rsp + 64], xmm0",
    "    movdqu [rsp + 80], xmm1",
    "    movdqu [rsp + 96], xmm2",
    "    movdqu [rsp + 112], xmm3",
    "    movdqu [rsp + 128], xmm4",
    "    movdqu [rsp + 144], xmm5",
    "    movdqu [rsp + 160], xmm6",
    "    movdqu [rsp + 176], xmm7",
    "    mov rdi, [rbp + 16]",
    "    mov rsi, [rbp + 8]",
    "    call {resolve}",
    "    mov r11, rax",
    "    mov rdi, [rsp]",
    "    mov rsi, [rsp + 8]",
    "    mov rdx, [rsp + 16]",
    "    mov rcx, [rsp + 24]",
    "    mov r8, [rsp + 32]",
    "    mov r9, [rsp + 40]",
    "    mov rax, [rsp + 48]",
    "    movdqu xmm0, [rsp + 64]",
    "    movdqu xmm1, [rsp + 80]",
    "    movdqu xmm2, [rsp + 96]",
    "    movdqu xmm3, [rsp + 112]",
    "    movdqu xmm4, [rsp + 128]",
    "    movdqu xmm5, [rsp + 144]",
    "    movdqu xmm6, [rsp + 160]",
    "    movdqu xmm7, [rsp + 176]",
    "    mov rsp, rbp",
    "    pop rbp",
    "    add rsp, 16",
    "    jmp r11",
    resolve = sym crate::shims::lazy::resolve,
);

// The thread-local getter: descriptor in rdi, variable address out in rax.
// Darwin's TLS calling convention has the caller keep only rax and rdi
// clobbered, so this saves everything a C call may change and calls
// tlv_lookup.
global_asm!(
    ".globl macho_run_tlv_get_addr",
    "macho_run_tlv_get_addr:",
    "    push rbp",
    "    mov rbp, rsp",
    "    push rcx",
    "    push rdx",
    "    push rsi",
    "    push r8",
    "    push r9",
    "    push r10",
    "    push r11",
    "    push rdi",
    // rsp is now 16-byte aligned (entry was 8 mod 16, then 9 pushes).
    "    sub rsp, 256",
    "    movdqu [rsp], xmm0",
    "    movdqu [rsp + 16], xmm1",
    "    movdqu [rsp + 32], xmm2",
    "    movdqu [rsp + 48], xmm3",
    "    movdqu [rsp + 64], xmm4",
    "    movdqu [rsp + 80], xmm5",
    "    movdqu [rsp + 96], xmm6",
    "    movdqu [rsp + 112], xmm7",
    "    movdqu [rsp + 128], xmm8",
    "    movdqu [rsp + 144], xmm9",
    "    movdqu [rsp + 160], xmm10",
    "    movdqu [rsp + 176], xmm11",
    "    movdqu [rsp + 192], xmm12",
    "    movdqu [rsp + 208], xmm13",
    "    movdqu [rsp + 224], xmm14",
    "    movdqu [rsp + 240], xmm15",
    "    call {lookup}",
    "    movdqu xmm0, [rsp]",
    "    movdqu xmm1, [rsp + 16]",
    "    movdqu xmm2, [rsp + 32]",
    "    movdqu xmm3, [rsp + 48]",
    "    movdqu xmm4, [rsp + 64]",
    "    movdqu xmm5, [rsp + 80]",
    "    movdqu xmm6, [rsp + 96]",
    "    movdqu xmm7, [rsp + 112]",
    "    movdqu xmm8, [rsp + 128]",
    "    movdqu xmm9, [rsp + 144]",
    "    movdqu xmm10, [rsp + 160]",
    "    movdqu xmm11, [rsp + 176]",
    "    movdqu xmm12, [rsp + 192]",
    "    movdqu xmm13, [rsp + 208]",
    "    movdqu xmm14, [rsp + 224]",
    "    movdqu xmm15, [rsp + 240]",
    "    add rsp, 256",
    "    pop rdi",
    "    pop r11",
    "    pop r10",
    "    pop r9",
    "    pop r8",
    "    pop rsi",
    "    pop rdx",
    "    pop rcx",
    "    pop rbp",
    "    ret",
    lookup = sym crate::shims::tlv::tlv_lookup,
);

// `___chkstk_darwin`: called with the frame size in rax before a function
// moves rsp down by more than a page; touches every page in between so a
// guard page is hit in order. Preserves every register.
global_asm!(
    ".globl macho_run_chkstk_darwin",
    "macho_run_chkstk_darwin:",
    "    push rcx",
    "    push rax",
    "    lea rcx, [rsp + 24]",
    "2:",
    "    cmp rax, 0x1000",
    "    jb 3f",
    "    sub rcx, 0x1000",
    "    or qword ptr [rcx], 0",
    "    sub rax, 0x1000",
    "    jmp 2b",
    "3:",
    "    sub rcx, rax",
    "    or qword ptr [rcx], 0",
    "    pop rax",
    "    pop rcx",
    "    ret",
);

extern "C" {
    pub fn macho_run_setjmp();
    pub fn macho_run_underscore_setjmp();
    pub fn macho_run_sigsetjmp();
    pub fn macho_run_longjmp();
    pub fn macho_run_stub_binder();
    pub fn macho_run_tlv_get_addr();
    fn macho_run_chkstk_darwin();
}

/// libSystem entry points that exist only on this architecture.
pub fn shims() -> Vec<(&'static str, usize)> {
    vec![(
        "___chkstk_darwin",
        macho_run_chkstk_darwin as *const () as usize,
    )]
}

/// Host functions standing for macOS ones of another name on this
/// architecture: none (x86_64 long double is the x87 format in both).
pub fn rename(_name: &str) -> Option<&str> {
    None
}

/// macOS functions this architecture cannot bind: none.
pub fn unsupported(_name: &str) -> bool {
    false
}

/// x86_64 macOS keeps 32-bit-inode `stat`/`readdir`/... under the plain
/// names and the 64-bit-inode ones under `$INODE64`.
pub const PLAIN_NAMES_ARE_INODE64: bool = false;

/// Bytes of one unbound-import trap.
pub const TRAP_SIZE: usize = 22;

/// Machine code that calls `target(name)`; `target` never returns.
pub fn trap_code(name: u64, target: u64) -> Vec<u8> {
    let mut code = Vec::with_capacity(TRAP_SIZE);
    code.extend_from_slice(&[0x48, 0xbf]); // movabs rdi, name
    code.extend_from_slice(&name.to_le_bytes());
    code.extend_from_slice(&[0x48, 0xb8]); // movabs rax, target
    code.extend_from_slice(&target.to_le_bytes());
    code.extend_from_slice(&[0xff, 0xe0]); // jmp rax
    code
}

/// The pointer slot a `__stubs` entry at unslid `addr` jumps through, when
/// it is the usual `jmp *disp32(%rip)`.
pub fn stub_slot(stub: &[u8], addr: u64) -> Option<u64> {
    if stub.len() < 6 || stub[..2] != [0xff, 0x25] {
        return None;
    }
    let disp = i32::from_le_bytes(stub[2..6].try_into().ok()?);
    Some((addr + 6).wrapping_add(disp as i64 as u64))
}

/// x86 keeps instruction fetches coherent with stores: nothing to do.
///
/// # Safety
/// Always safe here; the aarch64 version needs a mapped range.
pub unsafe fn flush_icache(_start: u64, _len: usize) {}
