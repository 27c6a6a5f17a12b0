//! x86_64: the variadic stdio functions that work on macOS FILEs
//! (`fprintf`, `printf`, `fscanf`, ..., and `warn`/`err`, which write to
//! stderr). The others (`snprintf`, `sscanf`, ...) are glibc's own: the
//! System V ABI passes `...` and `va_list` the same on macOS and Linux.
//!
//! Stable Rust cannot define a C variadic function, so each entry point is
//! a few instructions of assembly that do what a C compiler's prologue
//! does for `...`: spill the argument registers into a register save area,
//! build a System V `va_list` over it and the caller's stack arguments, and
//! call the `v` form of the function (in [`super::super::calls`]) with it.

use super::super::calls;
use crate::shims::xlocale;
use std::arch::global_asm;

/// Defines `$name(named..., ...)` calling `$target(named..., va_list)`:
/// `$gp` is the bytes of named integer arguments (8 each), `$ap` the
/// register that carries the `va_list` pointer (the next argument's).
macro_rules! va_entry {
    ($name:literal, $gp:literal, $ap:literal, $target:path) => {
        global_asm!(
            concat!(".globl ", $name),
            concat!($name, ":"),
            "    push rbp",
            "    mov rbp, rsp",
            // 176 bytes of register save area, then the 24-byte va_list;
            // 208 keeps rsp 16-byte aligned for the call.
            "    sub rsp, 208",
            "    mov [rsp], rdi",
            "    mov [rsp + 8], rsi",
            "    mov [rsp + 16], rdx",
            "    mov [rsp + 24], rcx",
            "    mov [rsp + 32], r8",
            "    mov [rsp + 40], r9",
            "    movdqu [rsp + 48], xmm0",
            "    movdqu [rsp + 64], xmm1",
            "    movdqu [rsp + 80], xmm2",
            "    movdqu [rsp + 96], xmm3",
            "    movdqu [rsp + 112], xmm4",
            "    movdqu [rsp + 128], xmm5",
            "    movdqu [rsp + 144], xmm6",
            "    movdqu [rsp + 160], xmm7",
            // gp_offset, fp_offset, overflow_arg_area, reg_save_area.
            concat!("    mov dword ptr [rsp + 176], ", $gp),
            "    mov dword ptr [rsp + 180], 48",
            "    lea rax, [rbp + 16]",
            "    mov [rsp + 184], rax",
            "    mov [rsp + 192], rsp",
            concat!("    lea ", $ap, ", [rsp + 176]"),
            "    call {target}",
            "    leave",
            "    ret",
            target = sym $target,
        );
    };
}

va_entry!("macho_run_fprintf", "16", "rdx", calls::vfprintf);
va_entry!("macho_run_printf", "8", "rsi", calls::vprintf);
va_entry!("macho_run_fscanf", "16", "rdx", calls::vfscanf);
va_entry!("macho_run_scanf", "8", "rsi", calls::vscanf);
va_entry!("macho_run_fwprintf", "16", "rdx", calls::vfwprintf);
va_entry!("macho_run_wprintf", "8", "rsi", calls::vwprintf);
va_entry!("macho_run_fwscanf", "16", "rdx", calls::vfwscanf);
va_entry!("macho_run_wscanf", "8", "rsi", calls::vwscanf);
va_entry!("macho_run_warn", "8", "rsi", calls::vwarn);
va_entry!("macho_run_warnx", "8", "rsi", calls::vwarnx);
va_entry!("macho_run_err", "16", "rdx", calls::verr);
va_entry!("macho_run_errx", "16", "rdx", calls::verrx);
va_entry!("macho_run_warnc", "16", "rdx", calls::vwarnc);
va_entry!("macho_run_errc", "24", "rcx", calls::verrc);
// The xlocale forms libc++ formats and parses numbers with.
va_entry!("macho_run_snprintf_l", "32", "r8", xlocale::vsnprintf_l);
va_entry!("macho_run_asprintf_l", "24", "rcx", xlocale::vasprintf_l);
va_entry!("macho_run_sscanf_l", "24", "rcx", xlocale::vsscanf_l);

extern "C" {
    fn macho_run_fprintf();
    fn macho_run_printf();
    fn macho_run_fscanf();
    fn macho_run_scanf();
    fn macho_run_fwprintf();
    fn macho_run_wprintf();
    fn macho_run_fwscanf();
    fn macho_run_wscanf();
    fn macho_run_warn();
    fn macho_run_warnx();
    fn macho_run_err();
    fn macho_run_errx();
    fn macho_run_warnc();
    fn macho_run_errc();
    fn macho_run_snprintf_l();
    fn macho_run_asprintf_l();
    fn macho_run_sscanf_l();
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_fprintf", macho_run_fprintf as *const () as usize),
        ("_printf", macho_run_printf as *const () as usize),
        ("_fscanf", macho_run_fscanf as *const () as usize),
        ("_scanf", macho_run_scanf as *const () as usize),
        ("_fwprintf", macho_run_fwprintf as *const () as usize),
        ("_wprintf", macho_run_wprintf as *const () as usize),
        ("_fwscanf", macho_run_fwscanf as *const () as usize),
        ("_wscanf", macho_run_wscanf as *const () as usize),
        ("_warn", macho_run_warn as *const () as usize),
        ("_warnx", macho_run_warnx as *const () as usize),
        ("_err", macho_run_err as *const () as usize),
        ("_errx", macho_run_errx as *const () as usize),
        ("_warnc", macho_run_warnc as *const () as usize),
        ("_errc", macho_run_errc as *const () as usize),
        ("_snprintf_l", macho_run_snprintf_l as *const () as usize),
        ("_asprintf_l", macho_run_asprintf_l as *const () as usize),
        ("_sscanf_l", macho_run_sscanf_l as *const () as usize),
        ("_vsnprintf_l", xlocale::vsnprintf_l as *const () as usize),
        ("_vasprintf_l", xlocale::vasprintf_l as *const () as usize),
        ("_vsscanf_l", xlocale::vsscanf_l as *const () as usize),
    ]
}
