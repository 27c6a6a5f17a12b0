//! Apple's arm64 variadic convention, and how a shim reaches glibc from it.
//!
//! A caller of `f(named..., ...)` puts the named arguments where a
//! non-variadic call would (x0–x7, q0–q7) and every variadic argument in
//! the 8-byte slots at its `sp` (promoted: char and short to int, float to
//! double; Apple's `long double` is a double). `va_start` makes a `char *`
//! to the first slot and `va_arg` walks it. So at the first instruction of
//! a variadic function, `sp` *is* the `va_list` the body would build: an
//! entry point moves it into the register after the named arguments and
//! branches to the function's `va_list` form, whose shim turns the `char *`
//! into a glibc `va_list` ([`GlibcVaList`]).

use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

/// glibc's AArch64 `va_list` (`__va_list` of the AAPCS64). `va_arg` takes
/// an argument from the general registers' save area while `gr_offs` is
/// negative, from the vector registers' while `vr_offs` is, and otherwise
/// from `stack`, advancing it by the argument's size rounded up to 8: the
/// layout of Apple's slots.
#[repr(C)]
pub struct GlibcVaList {
    stack: *mut c_void,
    gr_top: *mut c_void,
    vr_top: *mut c_void,
    gr_offs: c_int,
    vr_offs: c_int,
}

const _: () = assert!(std::mem::size_of::<GlibcVaList>() == 32);

impl GlibcVaList {
    /// A list whose registers are used up, so that every argument comes
    /// from Apple's slots at `apple`, in order.
    pub fn over(apple: *mut c_void) -> GlibcVaList {
        GlibcVaList {
            stack: apple,
            gr_top: null_mut(),
            vr_top: null_mut(),
            gr_offs: 0,
            vr_offs: 0,
        }
    }

    /// The `va_list` argument of glibc's `v` functions: a pointer to the
    /// list, which the callee advances (it is ours to spend).
    pub fn as_arg(&mut self) -> *mut c_void {
        (self as *mut GlibcVaList).cast()
    }
}

/// Defines arm64 entry points, each a few instructions that put the
/// optional arguments where a fixed-argument shim wants them and branch to
/// it (a tail call: the caller's `sp`, the slots, stays as it was), and
/// `fn $table()` listing them by Mach-O name:
///
/// ```ignore
/// apple_va_entries! {
///     fn table;
///     "_printf" = macho_run_a64_printf["mov x1, sp"] => vprintf;
/// }
/// ```
macro_rules! apple_va_entries {
    (fn $table:ident; $($name:literal = $label:ident[$($insn:literal),+] => $target:path;)+) => {
        $(
            std::arch::global_asm!(
                ".pushsection .text, \"ax\", %progbits",
                concat!(".globl ", stringify!($label)),
                ".p2align 2",
                concat!(".type ", stringify!($label), ", %function"),
                concat!(stringify!($label), ":"),
                $(concat!("    ", $insn),)+
                "    b {target}",
                concat!(".size ", stringify!($label), ", . - ", stringify!($label)),
                ".popsection",
                target = sym $target,
            );
        )+
        extern "C" {
            $(fn $label();)+
        }
        pub fn $table() -> Vec<(&'static str, usize)> {
            vec![$(($name, $label as *const () as usize)),+]
        }
    };
}

pub(crate) use apple_va_entries;

/// Calls functions the way an arm64 macOS caller does, for tests: the
/// named arguments in x0–x7, the variadic ones in slots at `sp`.
#[cfg(test)]
pub mod caller {
    // macho_run_test_apple_call(f, named: *const [u64; 8], slots, count):
    // copies `count` slots below sp (keeping it 16-byte aligned), loads
    // x0–x7 and calls f.
    std::arch::global_asm!(
        ".pushsection .text, \"ax\", %progbits",
        ".globl macho_run_test_apple_call",
        ".p2align 2",
        "macho_run_test_apple_call:",
        "    stp x29, x30, [sp, #-32]!",
        "    mov x29, sp",
        "    stp x19, x20, [sp, #16]",
        "    mov x19, x0",
        "    mov x20, x1",
        "    add x9, x3, #1",
        "    and x9, x9, #-2",
        "    lsl x9, x9, #3",
        "    sub sp, sp, x9",
        "    mov x10, #0",
        "1:",
        "    cmp x10, x3",
        "    b.hs 2f",
        "    ldr x11, [x2, x10, lsl #3]",
        "    str x11, [sp, x10, lsl #3]",
        "    add x10, x10, #1",
        "    b 1b",
        "2:",
        "    ldp x0, x1, [x20]",
        "    ldp x2, x3, [x20, #16]",
        "    ldp x4, x5, [x20, #32]",
        "    ldp x6, x7, [x20, #48]",
        "    blr x19",
        "    mov sp, x29",
        "    ldp x19, x20, [sp, #16]",
        "    ldp x29, x30, [sp], #32",
        "    ret",
        ".popsection",
    );

    extern "C" {
        fn macho_run_test_apple_call(
            f: u64,
            named: *const u64,
            slots: *const u64,
            count: usize,
        ) -> u64;
    }

    /// Calls `f(named..., slots...)` as an Apple arm64 caller of a variadic
    /// function; returns x0.
    pub fn call(f: u64, named: &[u64], slots: &[u64]) -> u64 {
        let mut regs = [0u64; 8];
        regs[..named.len()].copy_from_slice(named);
        // SAFETY: the test passes the arguments f expects.
        unsafe { macho_run_test_apple_call(f, regs.as_ptr(), slots.as_ptr(), slots.len()) }
    }

    /// A variadic argument slot holding a double.
    pub fn double(x: f64) -> u64 {
        x.to_bits()
    }

    /// A slot holding a pointer.
    pub fn ptr<T>(p: *const T) -> u64 {
        p as u64
    }
}
