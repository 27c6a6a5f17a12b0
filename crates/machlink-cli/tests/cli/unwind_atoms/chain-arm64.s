// Four functions in one __text section of an object without
// .subsections_via_symbols, so one atom holds them all, each calling the
// next: rows of every neighbour shape (compact then DWARF, DWARF then
// DWARF, DWARF then compact). The DWARF ones save a register where a CFI
// expression says, which no compact encoding expresses, and leave x29
// alone, so a wrong row (one following the frame-pointer chain) skips a
// frame.
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_compact_a
	.p2align	2
_compact_a:
	.cfi_startproc
	stp	x29, x30, [sp, #-16]!
	mov	x29, sp
	.cfi_def_cfa w29, 16
	.cfi_offset w30, -8
	.cfi_offset w29, -16
	bl	_dwarf_b
	ldp	x29, x30, [sp], #16
	ret
	.cfi_endproc

	.globl	_dwarf_b
	.p2align	2
_dwarf_b:
	.cfi_startproc
	sub	sp, sp, #32
	.cfi_def_cfa_offset 32
	str	x30, [sp]
	str	x19, [sp, #16]
	.cfi_offset w30, -32
	// DW_CFA_expression x19: CFA - 16
	.cfi_escape 0x10, 0x13, 0x02, 0x40, 0x1c
	mov	x19, #77
	bl	_dwarf_c
	ldr	x19, [sp, #16]
	ldr	x30, [sp]
	add	sp, sp, #32
	ret
	.cfi_endproc

	.globl	_dwarf_c
	.p2align	2
_dwarf_c:
	.cfi_startproc
	sub	sp, sp, #48
	.cfi_def_cfa_offset 48
	str	x30, [sp, #8]
	str	x20, [sp, #32]
	.cfi_offset w30, -40
	// DW_CFA_expression x20: CFA - 16
	.cfi_escape 0x10, 0x14, 0x02, 0x40, 0x1c
	mov	x20, #88
	bl	_compact_d
	ldr	x20, [sp, #32]
	ldr	x30, [sp, #8]
	add	sp, sp, #48
	ret
	.cfi_endproc

	.globl	_compact_d
	.p2align	2
_compact_d:
	.cfi_startproc
	stp	x29, x30, [sp, #-16]!
	mov	x29, sp
	.cfi_def_cfa w29, 16
	.cfi_offset w30, -8
	.cfi_offset w29, -16
	bl	_leaf
	ldp	x29, x30, [sp], #16
	ret
	.cfi_endproc
