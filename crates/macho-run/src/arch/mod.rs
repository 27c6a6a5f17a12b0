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

/// What the Mach-O format asks of the programs of one CPU type, whatever
/// the host: readers of linker output (`Image::parse_linked`) accept every
/// architecture listed here; running needs the host's.
#[derive(Debug)]
pub struct FileArch {
    pub cputype: u32,
    /// The name Mach-O tools use (`x86_64`, `arm64`).
    pub name: &'static str,
    /// Segment alignment: the page size of macOS on that architecture.
    pub segment_align: u64,
    /// Accepts or refuses a `cpusubtype` (capability bits masked off).
    pub check_subtype: fn(u32) -> Result<(), String>,
}

/// `CPU_SUBTYPE_ARM64E`: pointer authentication, which needs signed
/// pointers in the fixups and an ABI this host cannot provide.
const CPU_SUBTYPE_ARM64E: u32 = 2;

/// The architectures macho-run knows.
pub const FILE_ARCHES: [FileArch; 2] = [
    FileArch {
        cputype: object::macho::CPU_TYPE_X86_64,
        name: "x86_64",
        segment_align: 4096,
        // Every x86_64 subtype (ALL, H) runs the same instructions.
        check_subtype: |_| Ok(()),
    },
    FileArch {
        cputype: object::macho::CPU_TYPE_ARM64,
        name: "arm64",
        // macOS on Apple silicon uses 16 KiB pages, and ld64 aligns arm64
        // segments to them; the kernel refuses anything less.
        segment_align: 16 * 1024,
        check_subtype: arm64_subtype,
    },
];

/// The rules for a CPU type, if macho-run knows it.
pub fn file_arch(cputype: u32) -> Option<&'static FileArch> {
    FILE_ARCHES.iter().find(|a| a.cputype == cputype)
}

/// The rules for the programs this build runs.
pub fn host() -> &'static FileArch {
    file_arch(CPU_TYPE).expect("the host architecture is in FILE_ARCHES")
}

/// Accepts plain arm64 (ARM64_ALL = 0, ARM64_V8 = 1); refuses arm64e and
/// anything unknown.
fn arm64_subtype(cpusubtype: u32) -> Result<(), String> {
    use object::macho;
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
    fn only_plain_arm64_subtypes_are_accepted() {
        use object::macho;
        let arm64 = file_arch(macho::CPU_TYPE_ARM64).unwrap();
        assert!((arm64.check_subtype)(macho::CPU_SUBTYPE_ARM64_ALL).is_ok());
        assert!((arm64.check_subtype)(macho::CPU_SUBTYPE_ARM64_V8).is_ok());
        let e = (arm64.check_subtype)(CPU_SUBTYPE_ARM64E).unwrap_err();
        assert!(e.contains("arm64e"), "{e}");
        let e = (arm64.check_subtype)(9).unwrap_err();
        assert!(e.contains("unknown arm64 cpusubtype 0x9"), "{e}");
        assert_eq!(host().cputype, CPU_TYPE);
        assert_eq!(host().name, NAME);
    }

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
