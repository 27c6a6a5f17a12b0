# int catcher(int (*fn)(int), int x): calls fn(x) with known values in
# every callee-saved register; an exception of class "MACHORUN" lands on
# Lpad (__gxx_personality_v0 in main.c reads the LSDA below), which checks
# the registers the unwinder restored through every frame in between and
# returns 1000 + the selector, or -1 if a register is wrong.
# Its row in __unwind_info is an RBP frame naming a personality and an LSDA.
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_catcher
	.p2align	4
_catcher:
	.cfi_startproc
	.cfi_personality 155, ___gxx_personality_v0
	.cfi_lsda 16, Lcatcher_lsda
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%rbx
	pushq	%rax
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	movq	%rdi, %rax
	movl	%esi, %edi
	movl	$0x1111, %ebx
	movl	$0x2222, %r12d
	movl	$0x3333, %r13d
	movl	$0x4444, %r14d
	movl	$0x5555, %r15d
	callq	*%rax
	jmp	Ldone
Lpad:
	cmpl	$0x1111, %ebx
	jne	Lbad
	cmpl	$0x2222, %r12d
	jne	Lbad
	cmpl	$0x3333, %r13d
	jne	Lbad
	cmpl	$0x4444, %r14d
	jne	Lbad
	cmpl	$0x5555, %r15d
	jne	Lbad
	leal	1000(%rdx), %eax
	jmp	Ldone
Lbad:
	movl	$-1, %eax
Ldone:
	addq	$8, %rsp
	popq	%rbx
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	popq	%rbp
	retq
	.cfi_endproc

# The LSDA, as __gxx_personality_v0 (main.c) reads it: the landing pad's offset
# from the function's start, and the selector it is entered with.
	.section	__TEXT,__gcc_except_tab
	.p2align	2
Lcatcher_lsda:
	.long	Lpad - _catcher
	.long	42

# int expr_frame(int x): calls via_frame(x) with rbx saved where a CFI
# expression says (DW_CFA_expression rbx: CFA - 16), which no compact
# encoding expresses: a DWARF row without a personality, whose rbx only
# the expression restores (catcher checks it).
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_expr_frame
	.p2align	4
_expr_frame:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_escape 0x10, 0x03, 0x02, 0x40, 0x1c
	movl	$0x7777, %ebx
	callq	_via_frame
	popq	%rbx
	retq
	.cfi_endproc

# Each function its own atom, as compilers mark their objects.
	.subsections_via_symbols
