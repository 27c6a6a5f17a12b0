//! Everything that depends on the machine the program runs on: the Mach-O
//! CPU type macho-run accepts, the segment alignment it requires, the
//! assembly entry points that follow Darwin's register conventions
//! (setjmp/longjmp, `dyld_stub_binder`, the thread-local getter and, on
//! x86_64, `___chkstk_darwin`), the machine code of unbound-import traps,
//! and how a `__stubs` entry names its pointer slot.
//!
//! One module per architecture, chosen by `cfg(target_arch)`, so that a
//! build for x86_64 runs x86_64 programs and a build for aarch64 runs arm64
//! programs. Each exposes the same items; the rest of the crate only uses
//! `crate::arch::...`.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("macho-run runs x86_64 Mach-O on x86_64 and arm64 Mach-O on aarch64 only");

/// Human name of a Mach-O CPU type, for messages.
pub fn cpu_name(cputype: u32) -> String {
    use object::macho;
    match cputype {
        macho::CPU_TYPE_X86_64 => "x86_64".into(),
        macho::CPU_TYPE_ARM64 => "arm64".into(),
        macho::CPU_TYPE_ARM64_32 => "arm64_32".into(),
        macho::CPU_TYPE_X86 => "i386".into(),
        macho::CPU_TYPE_ARM => "arm".into(),
        macho::CPU_TYPE_POWERPC64 => "ppc64".into(),
        other => format!("cputype {other:#x}"),
    }
}
