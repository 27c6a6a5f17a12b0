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

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn plus_one(x: u64) -> u64 {
        x + 1
    }

    /// A trap passes its name to its target and jumps (not calls) there, so
    /// a target that returns returns to the trap's caller: running one
    /// checks the generated code and the cache flush.
    #[test]
    fn trap_code_jumps_to_its_target_with_the_name_as_argument() {
        let code = trap_code(41, plus_one as *const () as u64);
        assert_eq!(code.len(), TRAP_SIZE);
        // SAFETY: a fresh anonymous mapping, written, flushed, then made
        // executable before the call.
        unsafe {
            let page = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(page, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(code.as_ptr(), page as *mut u8, code.len());
            flush_icache(page as u64, code.len());
            assert_eq!(
                libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC),
                0
            );
            let trap: extern "C" fn() -> u64 = std::mem::transmute(page);
            assert_eq!(trap(), 42);
            libc::munmap(page, 4096);
        }
    }
}
