# A function whose frame compact unwind cannot describe (a CFA expression),
# so the assembler gives it a DWARF-mode compact unwind entry and an FDE
# that the linker must carry into __eh_frame.
        .section __TEXT,__text,regular,pure_instructions
        .globl _odd_frame
        .p2align 4
_odd_frame:
        .cfi_startproc
        pushq   %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        .cfi_escape 0x10, 0x03, 0x02, 0x76, 0x00
        leal    (%rdi,%rdi,2), %eax
        popq    %rbp
        retq
        .cfi_endproc

        .globl _plain_frame
        .p2align 4
_plain_frame:
        .cfi_startproc
        pushq   %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        movq    %rsp, %rbp
        .cfi_def_cfa_register %rbp
        leal    1(%rdi), %eax
        popq    %rbp
        retq
        .cfi_endproc
.subsections_via_symbols
