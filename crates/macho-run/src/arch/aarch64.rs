//! aarch64: Apple's arm64 conventions (AAPCS64 with Darwin's deviations),
//! 16 KiB Mach-O pages.

use object::macho;
use std::arch::global_asm;

/// The Mach-O name of the architecture this build runs.
pub const NAME: &str = "arm64";

/// The Mach-O CPU type this build runs.
pub const CPU_TYPE: u32 = macho::CPU_TYPE_ARM64;

/// macOS on Apple silicon uses 16 KiB pages, and ld64 aligns arm64
/// segments to them; the kernel refuses anything less.
pub const SEGMENT_ALIGN: u64 = 16 * 1024;

/// `CPU_SUBTYPE_ARM64E`: pointer authentication, which needs signed
/// pointers in the fixups and an ABI this host cannot provide.
const CPU_SUBTYPE_ARM64E: u32 = 2;

/// Accepts plain arm64 (ARM64_ALL = 0, ARM64_V8 = 1); refuses arm64e and
/// anything unknown.
pub fn check_subtype(cpusubtype: u32) -> Result<(), String> {
    match cpusubtype & !macho::CPU_SUBTYPE_MASK {
        macho::CPU_SUBTYPE_ARM64_ALL | macho::CPU_SUBTYPE_ARM64_V8 => Ok(()),
        CPU_SUBTYPE_ARM64E => Err("arm64e (pointer authentication) is not supported: \
             macho-run runs arm64 (ARM64_ALL or ARM64_V8) only"
            .into()),
        other => Err(format!(
            "unknown arm64 cpusubtype {other:#x} (macho-run runs ARM64_ALL or ARM64_V8)"
        )),
    }
}

// setjmp/longjmp with macOS's arm64 jmp_buf size: `jmp_buf` is `int[48]`
// (192 bytes) and `sigjmp_buf` `int[49]`; glibc's aarch64 jmp_buf is 312
// bytes, so glibc's setjmp would write past a macOS program's buffer.
// These store 184 bytes:
//
// | offset  | contents                                   |
// |---------|--------------------------------------------|
// | 0..80   | x19..x28                                   |
// | 80      | x29 (frame pointer), x30 (return address)  |
// | 96      | sp                                         |
// | 104     | 1 when the signal mask was saved (4 bytes) |
// | 112..176| d8..d15                                    |
// | 176     | the signal mask (signals 1..64)            |
//
// `setjmp` saves the signal mask (BSD semantics), `_setjmp` does not,
// `sigsetjmp` when its second argument is non-zero.
global_asm!(
    ".globl macho_run_setjmp",
    ".globl macho_run_underscore_setjmp",
    ".globl macho_run_sigsetjmp",
    ".globl macho_run_longjmp",
    "macho_run_setjmp:",
    "    mov w1, #1",
    "    b macho_run_sigsetjmp",
    "macho_run_underscore_setjmp:",
    "    mov w1, #0",
    "macho_run_sigsetjmp:",
    "    stp x19, x20, [x0]",
    "    stp x21, x22, [x0, #16]",
    "    stp x23, x24, [x0, #32]",
    "    stp x25, x26, [x0, #48]",
    "    stp x27, x28, [x0, #64]",
    "    stp x29, x30, [x0, #80]",
    "    mov x2, sp",
    "    str x2, [x0, #96]",
    "    str w1, [x0, #104]",
    "    stp d8, d9, [x0, #112]",
    "    stp d10, d11, [x0, #128]",
    "    stp d12, d13, [x0, #144]",
    "    stp d14, d15, [x0, #160]",
    "    cbz w1, 2f",
    // A frame, so the call keeps our return address (x30).
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    add x0, x0, #176",
    "    bl {save_mask}",
    "    ldp x29, x30, [sp], #16",
    "2:",
    "    mov w0, #0",
    "    ret",
    "macho_run_longjmp:",
    "    ldr w2, [x0, #104]",
    "    cbz w2, 3f",
    "    stp x0, x1, [sp, #-16]!",
    "    add x0, x0, #176",
    "    bl {restore_mask}",
    "    ldp x0, x1, [sp], #16",
    "3:",
    "    ldp x19, x20, [x0]",
    "    ldp x21, x22, [x0, #16]",
    "    ldp x23, x24, [x0, #32]",
    "    ldp x25, x26, [x0, #48]",
    "    ldp x27, x28, [x0, #64]",
    "    ldp x29, x30, [x0, #80]",
    "    ldr x2, [x0, #96]",
    "    mov sp, x2",
    "    ldp d8, d9, [x0, #112]",
    "    ldp d10, d11, [x0, #128]",
    "    ldp d12, d13, [x0, #144]",
    "    ldp d14, d15, [x0, #160]",
    // setjmp returns the value, or 1 for 0.
    "    cmp w1, #0",
    "    csinc w0, w1, wzr, ne",
    "    ret",
    save_mask = sym crate::shims::setjmp::save_mask,
    restore_mask = sym crate::shims::setjmp::restore_mask,
);

// dyld_stub_binder. The arm64 stub helper header does
// `stp x16, x17, [sp, #-16]!` with x16 = the lazy bind offset (from the
// entry's `ldr w16`) and x17 = &__dyld_private, then branches here; x30 is
// still the return address of the original call. Preserves the argument
// registers (x0-x7, x8 for indirect results, q0-q7), pops the 16 bytes and
// branches to the bound function.
global_asm!(
    ".globl macho_run_stub_binder",
    "macho_run_stub_binder:",
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    sub sp, sp, #208",
    "    stp x0, x1, [sp]",
    "    stp x2, x3, [sp, #16]",
    "    stp x4, x5, [sp, #32]",
    "    stp x6, x7, [sp, #48]",
    "    str x8, [sp, #64]",
    "    stp q0, q1, [sp, #80]",
    "    stp q2, q3, [sp, #112]",
    "    stp q4, q5, [sp, #144]",
    "    stp q6, q7, [sp, #176]",
    // The lazy bind offset and __dyld_private, as the helper pushed them.
    "    ldp x0, x1, [x29, #16]",
    "    bl {resolve}",
    "    mov x16, x0",
    "    ldp x0, x1, [sp]",
    "    ldp x2, x3, [sp, #16]",
    "    ldp x4, x5, [sp, #32]",
    "    ldp x6, x7, [sp, #48]",
    "    ldr x8, [sp, #64]",
    "    ldp q0, q1, [sp, #80]",
    "    ldp q2, q3, [sp, #112]",
    "    ldp q4, q5, [sp, #144]",
    "    ldp q6, q7, [sp, #176]",
    "    mov sp, x29",
    "    ldp x29, x30, [sp], #16",
    "    add sp, sp, #16",
    "    br x16",
    resolve = sym crate::shims::lazy::resolve,
);

// The thread-local getter: descriptor in x0, variable address out in x0.
// Darwin's arm64 TLS convention lets the caller assume every other
// register survives (the compiler only gives up x0 and the x30 of its
// `blr`), so this saves x1-x18 and all of q0-q31 (a C call may clobber
// their upper halves, even of q8-q15) around tlv_lookup.
global_asm!(
    ".globl macho_run_tlv_get_addr",
    "macho_run_tlv_get_addr:",
    "    stp x29, x30, [sp, #-16]!",
    "    mov x29, sp",
    "    sub sp, sp, #656",
    "    stp x1, x2, [sp]",
    "    stp x3, x4, [sp, #16]",
    "    stp x5, x6, [sp, #32]",
    "    stp x7, x8, [sp, #48]",
    "    stp x9, x10, [sp, #64]",
    "    stp x11, x12, [sp, #80]",
    "    stp x13, x14, [sp, #96]",
    "    stp x15, x16, [sp, #112]",
    "    stp x17, x18, [sp, #128]",
    "    stp q0, q1, [sp, #144]",
    "    stp q2, q3, [sp, #176]",
    "    stp q4, q5, [sp, #208]",
    "    stp q6, q7, [sp, #240]",
    "    stp q8, q9, [sp, #272]",
    "    stp q10, q11, [sp, #304]",
    "    stp q12, q13, [sp, #336]",
    "    stp q14, q15, [sp, #368]",
    "    stp q16, q17, [sp, #400]",
    "    stp q18, q19, [sp, #432]",
    "    stp q20, q21, [sp, #464]",
    "    stp q22, q23, [sp, #496]",
    "    stp q24, q25, [sp, #528]",
    "    stp q26, q27, [sp, #560]",
    "    stp q28, q29, [sp, #592]",
    "    stp q30, q31, [sp, #624]",
    "    bl {lookup}",
    "    ldp x1, x2, [sp]",
    "    ldp x3, x4, [sp, #16]",
    "    ldp x5, x6, [sp, #32]",
    "    ldp x7, x8, [sp, #48]",
    "    ldp x9, x10, [sp, #64]",
    "    ldp x11, x12, [sp, #80]",
    "    ldp x13, x14, [sp, #96]",
    "    ldp x15, x16, [sp, #112]",
    "    ldp x17, x18, [sp, #128]",
    "    ldp q0, q1, [sp, #144]",
    "    ldp q2, q3, [sp, #176]",
    "    ldp q4, q5, [sp, #208]",
    "    ldp q6, q7, [sp, #240]",
    "    ldp q8, q9, [sp, #272]",
    "    ldp q10, q11, [sp, #304]",
    "    ldp q12, q13, [sp, #336]",
    "    ldp q14, q15, [sp, #368]",
    "    ldp q16, q17, [sp, #400]",
    "    ldp q18, q19, [sp, #432]",
    "    ldp q20, q21, [sp, #464]",
    "    ldp q22, q23, [sp, #496]",
    "    ldp q24, q25, [sp, #528]",
    "    ldp q26, q27, [sp, #560]",
    "    ldp q28, q29, [sp, #592]",
    "    ldp q30, q31, [sp, #624]",
    "    mov sp, x29",
    "    ldp x29, x30, [sp], #16",
    "    ret",
    lookup = sym crate::shims::tlv::tlv_lookup,
);

extern "C" {
    pub fn macho_run_setjmp();
    pub fn macho_run_underscore_setjmp();
    pub fn macho_run_sigsetjmp();
    pub fn macho_run_longjmp();
    pub fn macho_run_stub_binder();
    pub fn macho_run_tlv_get_addr();
}

/// libSystem entry points whose arm64 ABI needs code of our own. (arm64
/// macOS has no `___chkstk_darwin` calls: clang does not probe arm64
/// frames through a helper.)
pub fn shims() -> Vec<(&'static str, usize)> {
    vec![("_nexttowardf", nexttowardf as *const () as usize)]
}

// `long double` is `double` on Apple arm64 but IEEE quad (passed in q
// registers, 16 bytes in memory) in glibc aarch64. Every libSystem
// function whose signature has a long double is therefore the host's
// double function under another name: `sqrtl` is `sqrt`, `strtold` is
// `strtod`. Binding the glibc `l` functions would hand them the wrong bits.

/// libm functions whose `l` form (`sqrtl`, `cexpl`, ...) is, with a
/// 64-bit long double, the same as the double form.
const LONG_DOUBLE_MATH: &[&str] = &[
    "acos",
    "asin",
    "atan",
    "atan2",
    "cos",
    "sin",
    "tan",
    "acosh",
    "asinh",
    "atanh",
    "cosh",
    "sinh",
    "tanh",
    "exp",
    "exp2",
    "expm1",
    "frexp",
    "ilogb",
    "ldexp",
    "log",
    "log10",
    "log1p",
    "log2",
    "logb",
    "modf",
    "scalbn",
    "scalbln",
    "cbrt",
    "fabs",
    "hypot",
    "pow",
    "sqrt",
    "erf",
    "erfc",
    "lgamma",
    "tgamma",
    "ceil",
    "floor",
    "nearbyint",
    "rint",
    "lrint",
    "llrint",
    "round",
    "lround",
    "llround",
    "trunc",
    "fmod",
    "remainder",
    "remquo",
    "copysign",
    "nan",
    "nextafter",
    "fdim",
    "fmax",
    "fmin",
    "fma",
    "cabs",
    "carg",
    "cimag",
    "creal",
    "conj",
    "cproj",
    "cexp",
    "clog",
    "cpow",
    "csqrt",
    "csin",
    "ccos",
    "ctan",
    "casin",
    "cacos",
    "catan",
    "csinh",
    "ccosh",
    "ctanh",
    "casinh",
    "cacosh",
    "catanh",
];

/// The host function that implements macOS symbol `name` on this
/// architecture when it is not the one of the same name: the long double
/// functions, which are their double twins here.
pub fn rename(name: &str) -> Option<&str> {
    let c_name = name.strip_prefix('_')?;
    match c_name {
        "strtold" => Some("strtod"),
        "wcstold" => Some("wcstod"),
        // nexttoward(double, long double) is nextafter(double, double).
        "nexttoward" => Some("nextafter"),
        _ => {
            let base = c_name.strip_suffix('l')?;
            LONG_DOUBLE_MATH.contains(&base).then_some(base)
        }
    }
}

/// Long double functions with no host twin (their locale argument is
/// macOS's): left unbound rather than bound to glibc's quad versions, so a
/// call stops with a message naming them.
pub fn unsupported(name: &str) -> bool {
    matches!(name, "_strtold_l" | "_wcstold_l")
}

/// `nexttowardf(float, long double)` with a 64-bit long double: the next
/// float after `x` in the direction of the double `y`.
extern "C" fn nexttowardf(x: f32, y: f64) -> f32 {
    if x.is_nan() || y.is_nan() {
        return (f64::from(x) + y) as f32;
    }
    if f64::from(x) == y {
        return y as f32;
    }
    let toward = if y > f64::from(x) {
        f32::INFINITY
    } else {
        f32::NEG_INFINITY
    };
    // SAFETY: a libm function on plain values.
    unsafe { nextafterf(x, toward) }
}

extern "C" {
    fn nextafterf(x: f32, y: f32) -> f32;
}

/// arm64 macOS has only 64-bit-inode `stat`/`readdir`/..., under the plain
/// names (x86_64's `$INODE64` variants).
pub const PLAIN_NAMES_ARE_INODE64: bool = true;

/// Bytes of one unbound-import trap.
pub const TRAP_SIZE: usize = 32;

/// Machine code that calls `target(name)`; `target` never returns.
/// `ldr x0, name; ldr x16, target; br x16; nop; .quad name; .quad target`.
pub fn trap_code(name: u64, target: u64) -> Vec<u8> {
    let mut code = Vec::with_capacity(TRAP_SIZE);
    for insn in [
        ldr_literal(0, 16),
        ldr_literal(16, 24 - 4),
        0xd61f_0200, // br x16
        0xd503_201f, // nop, to 8-align the literals
    ] {
        code.extend_from_slice(&u32::to_le_bytes(insn));
    }
    code.extend_from_slice(&name.to_le_bytes());
    code.extend_from_slice(&target.to_le_bytes());
    code
}

/// `ldr x<rt>, .+offset` (64-bit load from a PC-relative literal).
fn ldr_literal(rt: u32, offset: u32) -> u32 {
    0x5800_0000 | ((offset / 4) << 5) | rt
}

fn insn(stub: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        stub.get(i * 4..i * 4 + 4)?.try_into().ok()?,
    ))
}

/// The pointer slot a `__stubs` entry at unslid `addr` branches through:
/// `adrp x16, page; ldr x16, [x16, #off]; br x16` (what ld64 and lld emit)
/// or `ldr x16, literal; br x16`.
pub fn stub_slot(stub: &[u8], addr: u64) -> Option<u64> {
    const BR_X16: u32 = 0xd61f_0200;
    let first = insn(stub, 0)?;
    if first & 0xff00_001f == 0x5800_0010 && insn(stub, 1)? == BR_X16 {
        // ldr x16, literal: a signed 19-bit word offset.
        let imm19 = ((first >> 5) & 0x7ffff) as i64;
        let offset = (imm19 << 45) >> 43;
        return Some(addr.wrapping_add(offset as u64));
    }
    let second = insn(stub, 1)?;
    let is_adrp_x16 = first & 0x9f00_001f == 0x9000_0010;
    let is_ldr_x16_x16 = second & 0xffc0_03ff == 0xf940_0210;
    if !is_adrp_x16 || !is_ldr_x16_x16 || insn(stub, 2)? != BR_X16 {
        return None;
    }
    let immlo = i64::from((first >> 29) & 0x3);
    let immhi = i64::from((first >> 5) & 0x7ffff);
    // A signed 21-bit page count.
    let pages = (((immhi << 2) | immlo) << 43) >> 43;
    let page = (addr & !0xfff).wrapping_add((pages << 12) as u64);
    let scaled = u64::from((second >> 10) & 0xfff) * 8;
    Some(page + scaled)
}

extern "C" {
    /// libgcc's cache maintenance: cleans the data cache and invalidates
    /// the instruction cache over a range.
    fn __clear_cache(start: *mut libc::c_char, end: *mut libc::c_char);
}

/// Makes code just written to memory visible to instruction fetch: aarch64
/// instruction caches are not coherent with data stores.
///
/// # Safety
/// `start..start+len` must be mapped.
pub unsafe fn flush_icache(start: u64, len: usize) {
    let start = start as *mut libc::c_char;
    __clear_cache(start, start.add(len));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stub(insns: &[u32]) -> Vec<u8> {
        insns.iter().flat_map(|i| i.to_le_bytes()).collect()
    }

    #[test]
    fn stubs_name_the_slot_they_branch_through() {
        const BR_X16: u32 = 0xd61f_0200;
        // adrp x16, +4 pages; ldr x16, [x16, #0x10]; br x16 (as lld emits).
        let forward = stub(&[0x9000_0030, 0xf940_0a10, BR_X16]);
        assert_eq!(stub_slot(&forward, 0x1_0000_0500), Some(0x1_0000_4010));
        // adrp x16, -4 pages.
        let backward = stub(&[0x90ff_fff0, 0xf940_0a10, BR_X16]);
        assert_eq!(stub_slot(&backward, 0x1_0000_8004), Some(0x1_0000_4010));
        // ldr x16, .+8; br x16.
        let literal = stub(&[0x5800_0050, BR_X16, 0]);
        assert_eq!(stub_slot(&literal, 0x1000), Some(0x1008));
        // Another register, or not a branch: not a stub we know.
        assert_eq!(
            stub_slot(&stub(&[0x9000_0031, 0xf940_0a31, 0xd61f_0220]), 0),
            None
        );
        assert_eq!(stub_slot(&stub(&[0x9000_0030, 0xf940_0a10, 0]), 0), None);
        assert_eq!(stub_slot(&[0, 0], 0), None);
    }

    #[test]
    fn only_plain_arm64_subtypes_are_accepted() {
        assert!(check_subtype(macho::CPU_SUBTYPE_ARM64_ALL).is_ok());
        assert!(check_subtype(macho::CPU_SUBTYPE_ARM64_V8).is_ok());
        assert!(check_subtype(CPU_SUBTYPE_ARM64E)
            .unwrap_err()
            .contains("arm64e"));
        assert!(check_subtype(9)
            .unwrap_err()
            .contains("unknown arm64 cpusubtype 0x9"));
    }

    #[test]
    fn long_double_functions_are_their_double_twins() {
        assert_eq!(rename("_sqrtl"), Some("sqrt"));
        assert_eq!(rename("_cexpl"), Some("cexp"));
        assert_eq!(rename("_strtold"), Some("strtod"));
        assert_eq!(rename("_nexttoward"), Some("nextafter"));
        assert_eq!(rename("_sqrt"), None);
        assert_eq!(rename("_strtol"), None, "not a long double function");
        assert_eq!(rename("_labs"), None, "not a long double function");
        assert!(unsupported("_strtold_l"));
        assert_eq!(nexttowardf(1.0, 2.0), 1.0 + f32::EPSILON);
        assert_eq!(nexttowardf(3.0, 3.0), 3.0);
        assert!(nexttowardf(1.0, 0.0) < 1.0);
    }
}
