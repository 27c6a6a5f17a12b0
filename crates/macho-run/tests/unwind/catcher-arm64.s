// int catcher(int (*fn)(int), int x): calls fn(x) with known values in
// x19..x28, d8 and d9; an exception of class "MACHORUN" lands on Lpad
// (__gxx_personality_v0 in main.c reads the LSDA below), which checks the
// registers the unwinder restored through every frame in between and
// returns 1000 + the selector, or -1 if a register is wrong.
// Its row in __unwind_info is a frame (all five register pairs and
// d8/d9) naming a personality and an LSDA.
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_catcher
	.p2align	2
_catcher:
	.cfi_startproc
	.cfi_personality 155, ___gxx_personality_v0
	.cfi_lsda 16, Lcatcher_lsda
	stp	d9, d8, [sp, #-112]!
	stp	x28, x27, [sp, #16]
	stp	x26, x25, [sp, #32]
	stp	x24, x23, [sp, #48]
	stp	x22, x21, [sp, #64]
	stp	x20, x19, [sp, #80]
	stp	x29, x30, [sp, #96]
	add	x29, sp, #96
	.cfi_def_cfa w29, 16
	.cfi_offset w30, -8
	.cfi_offset w29, -16
	.cfi_offset w19, -24
	.cfi_offset w20, -32
	.cfi_offset w21, -40
	.cfi_offset w22, -48
	.cfi_offset w23, -56
	.cfi_offset w24, -64
	.cfi_offset w25, -72
	.cfi_offset w26, -80
	.cfi_offset w27, -88
	.cfi_offset w28, -96
	.cfi_offset b8, -104
	.cfi_offset b9, -112
	mov	x8, x0
	mov	w0, w1
	mov	x19, #1019
	mov	x20, #1020
	mov	x21, #1021
	mov	x22, #1022
	mov	x23, #1023
	mov	x24, #1024
	mov	x25, #1025
	mov	x26, #1026
	mov	x27, #1027
	mov	x28, #1028
	fmov	d8, #1.5
	fmov	d9, #2.5
	blr	x8
	b	Ldone
Lpad:
	cmp	x19, #1019
	b.ne	Lbad
	cmp	x20, #1020
	b.ne	Lbad
	cmp	x21, #1021
	b.ne	Lbad
	cmp	x22, #1022
	b.ne	Lbad
	cmp	x23, #1023
	b.ne	Lbad
	cmp	x24, #1024
	b.ne	Lbad
	cmp	x25, #1025
	b.ne	Lbad
	cmp	x26, #1026
	b.ne	Lbad
	cmp	x27, #1027
	b.ne	Lbad
	cmp	x28, #1028
	b.ne	Lbad
	fmov	d16, #1.5
	fcmp	d8, d16
	b.ne	Lbad
	fmov	d16, #2.5
	fcmp	d9, d16
	b.ne	Lbad
	add	w0, w1, #1000
	b	Ldone
Lbad:
	mov	w0, #-1
Ldone:
	ldp	x29, x30, [sp, #96]
	ldp	x20, x19, [sp, #80]
	ldp	x22, x21, [sp, #64]
	ldp	x24, x23, [sp, #48]
	ldp	x26, x25, [sp, #32]
	ldp	x28, x27, [sp, #16]
	ldp	d9, d8, [sp], #112
	ret
	.cfi_endproc

// The LSDA, as __gxx_personality_v0 (main.c) reads it: the landing pad's offset
// from the function's start, and the selector it is entered with.
	.section	__TEXT,__gcc_except_tab
	.p2align	2
Lcatcher_lsda:
	.long	Lpad - _catcher
	.long	42

// int expr_frame(int x): calls via_frame(x) with x19 saved where a CFI
// expression says (DW_CFA_expression x19: CFA - 16), which no compact
// encoding expresses: a DWARF row without a personality, whose x19 only
// the expression restores (catcher checks it).
	.section	__TEXT,__text,regular,pure_instructions
	.globl	_expr_frame
	.p2align	2
_expr_frame:
	.cfi_startproc
	sub	sp, sp, #32
	.cfi_def_cfa_offset 32
	stp	x29, x30, [sp]
	str	x19, [sp, #16]
	.cfi_offset w30, -24
	.cfi_offset w29, -32
	.cfi_escape 0x10, 0x13, 0x02, 0x40, 0x1c
	mov	x29, sp
	mov	x19, #77
	bl	_via_frame
	ldr	x19, [sp, #16]
	ldp	x29, x30, [sp]
	add	sp, sp, #32
	ret
	.cfi_endproc

// Each function its own atom, as compilers mark their objects.
	.subsections_via_symbols
