# Four functions in one __text section of an object without
# .subsections_via_symbols, so one atom holds them all, each calling the
# next: rows of every neighbour shape (compact then DWARF, DWARF then
# DWARF, DWARF then compact). The DWARF ones save a register where a CFI
# expression says, which no compact encoding expresses; and none of them
# keeps a frame pointer, so a wrong row loses or skips frames.
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_compact_a
	.p2align	4
_compact_a:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	callq	_dwarf_b
	popq	%rbp
	retq
	.cfi_endproc

	.globl	_dwarf_b
	.p2align	4
_dwarf_b:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	# DW_CFA_expression rbx: CFA - 16
	.cfi_escape 0x10, 0x03, 0x02, 0x40, 0x1c
	subq	$16, %rsp
	.cfi_def_cfa_offset 32
	movl	$0x7777, %ebx
	callq	_dwarf_c
	addq	$16, %rsp
	popq	%rbx
	retq
	.cfi_endproc

	.globl	_dwarf_c
	.p2align	4
_dwarf_c:
	.cfi_startproc
	pushq	%r12
	.cfi_def_cfa_offset 16
	# DW_CFA_expression r12: CFA - 16
	.cfi_escape 0x10, 0x0c, 0x02, 0x40, 0x1c
	subq	$32, %rsp
	.cfi_def_cfa_offset 48
	movl	$0x8888, %r12d
	callq	_compact_d
	addq	$32, %rsp
	popq	%r12
	retq
	.cfi_endproc

	.globl	_compact_d
	.p2align	4
_compact_d:
	.cfi_startproc
	subq	$24, %rsp
	.cfi_def_cfa_offset 32
	callq	_leaf
	addq	$24, %rsp
	retq
	.cfi_endproc
