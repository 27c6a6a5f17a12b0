//! macho-run's own unwinder for Mach-O images: what libunwind is to a
//! macOS program (the `_Unwind_*` interface of the Itanium C++ ABI, the
//! `_dyld_*` image queries, `___gcc_personality_v0`).
//!
//! Without it a program's `_Unwind_*` imports would bind to the host's
//! libgcc_s, which cannot read Mach-O unwind info. Here every frame is
//! stepped from the image's own tables, so an unwinding bug in a linker's
//! output shows up as a failure, never hidden by the host's unwinder:
//!
//! - [`registry`]: the loaded images and their unwind sections;
//! - [`compact`]: `__unwind_info` lookups and compact-encoding steps;
//! - [`dwarf`]: `__eh_frame` FDEs (through gimli) for DWARF-mode rows and
//!   functions the compact table does not list;
//! - [`api`]: the two-phase exception dispatch, forced unwinding,
//!   backtraces and the context accessors personality routines use;
//! - [`personality`]: the C personality routine (`cleanup` attributes);
//! - per-architecture registers and the assembly that captures them at
//!   entry and installs them at a landing pad.
//!
//! A frame whose PC is in no Mach-O image (macho-run's code that calls
//! `main`, the C library's thread start) ends the walk, so an exception
//! does not cross a host frame (a callback of glibc's `qsort` cannot throw
//! to the caller of `qsort`, as it could on macOS); a PC inside an image
//! with no unwind entry is an error reported on stderr.

mod api;
mod compact;
mod dwarf;
mod dyld;
mod personality;
pub mod registry;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
use aarch64 as arch;
#[cfg(target_arch = "x86_64")]
use x86_64 as arch;

pub use arch::Regs;
use registry::ImageRecord;

/// The compact-encoding mode that defers to an FDE, per architecture.
mod arch_modes {
    #[cfg(target_arch = "x86_64")]
    pub const DWARF: u32 = 0x0400_0000;
    #[cfg(target_arch = "aarch64")]
    pub const DWARF: u32 = 0x0300_0000;
}

/// (macOS symbol, shim) pairs: the `_Unwind_*` interface, the C
/// personality routine and dyld's image queries.
pub fn table() -> Vec<(&'static str, usize)> {
    let mut t = api::table();
    t.extend(dyld::table());
    t.extend(personality::table());
    t
}

/// Whether a libSystem name belongs to the unwinder (libunwind's C
/// interfaces, the FDE registry): those macho-run has are in [`table`],
/// and none of the others may bind to the host's libgcc_s.
pub fn is_unwinder_symbol(name: &str) -> bool {
    [
        "__Unwind_",
        "_unw_",
        "___unw_",
        "___register_frame",
        "___deregister_frame",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name.ends_with("_personality_v0")
}

/// Memory an unwinder may read: the current thread's stack (saved
/// registers, return addresses) and the images' own bytes. A corrupt
/// table then yields an error message instead of a wild read.
pub struct Mem {
    stack: Option<(u64, u64)>,
}

impl Mem {
    /// The bounds of the calling thread's stack (found once per thread:
    /// for the main thread glibc reads /proc/self/maps, and every landing
    /// pad's `_Unwind_Resume` starts a walk).
    pub fn current() -> Mem {
        thread_local! {
            static STACK: std::cell::OnceCell<Option<(u64, u64)>> = const { std::cell::OnceCell::new() };
        }
        let stack = STACK.with(|s| *s.get_or_init(Self::thread_stack));
        Mem { stack }
    }

    fn thread_stack() -> Option<(u64, u64)> {
        // SAFETY: pthread_getattr_np fills an attr for the calling thread;
        // it is destroyed after reading the stack bounds.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                None
            } else {
                let mut addr = std::ptr::null_mut();
                let mut size = 0;
                let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
                libc::pthread_attr_destroy(&mut attr);
                ok.then(|| (addr as u64, addr as u64 + size as u64))
            }
        }
    }

    /// A 64-bit word of the stack.
    pub fn stack(&self, at: u64) -> Result<u64, String> {
        let inside = match self.stack {
            Some((lo, hi)) => at >= lo && at.checked_add(8).is_some_and(|end| end <= hi),
            None => at != 0,
        };
        if !inside {
            return Err(format!(
                "the unwind info reads a saved value at {at:#x}, outside this thread's stack"
            ));
        }
        // SAFETY: inside the thread's stack mapping.
        Ok(unsafe { (at as *const u64).read_unaligned() })
    }

    /// A 32-bit word of some image's code (a `sub $N, %rsp` immediate).
    pub fn code_u32(&self, at: u64) -> Option<u32> {
        let rec = registry::image_for_pc(at)?;
        rec.contains_pc(at + 3).then_some(())?;
        // SAFETY: inside an image's mapped executable segment.
        Some(unsafe { (at as *const u32).read_unaligned() })
    }

    /// A pointer-sized word of `rec`'s mapped image (a GOT slot).
    pub fn image_word(rec: &ImageRecord, at: u64) -> Option<u64> {
        (at >= rec.range.0 && at.checked_add(8)? <= rec.range.1).then_some(())?;
        // SAFETY: inside the image's mapped range, readable after load.
        Some(unsafe { (at as *const u64).read_unaligned() })
    }
}

/// How to step out of one frame.
#[derive(Clone, Copy, Debug)]
enum How {
    Compact(compact::Row),
    /// The FDE at this offset of the image's `__eh_frame`.
    Dwarf(u64),
}

/// What the unwinder knows about the function of one frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub start: u64,
    pub end: u64,
    pub personality: u64,
    pub lsda: u64,
    how: How,
    image: &'static ImageRecord,
}

/// The function holding `addr` (for a return address: the address
/// minus one, so a call that ends its function still finds it). None when
/// `addr` is in no Mach-O image: the walk is over.
pub fn find(addr: u64) -> Result<Option<Frame>, String> {
    let Some(rec) = registry::image_for_pc(addr) else {
        return Ok(None);
    };
    let off = addr.wrapping_sub(rec.header);
    if let (Some(range), Ok(off32)) = (rec.unwind_info, u32::try_from(off)) {
        let row = compact::lookup(rec, range, off32)
            .map_err(|e| format!("{}: __unwind_info: {e}", rec.path.to_string_lossy()))?;
        if let Some(row) = row.filter(|r| r.encoding & compact::MODE_MASK != 0) {
            if let Some(fde) = compact::dwarf_offset(row.encoding) {
                return dwarf::frame_at(rec, fde, addr).map(Some);
            }
            return Ok(Some(Frame {
                start: row.start,
                end: row.end,
                personality: row.personality,
                lsda: row.lsda,
                how: How::Compact(row),
                image: rec,
            }));
        }
    }
    // No compact row: an FDE may still cover it (an unwinder searches
    // `__eh_frame` too); nothing at all is an error in the image.
    match dwarf::search(rec, addr)? {
        Some(frame) => Ok(Some(frame)),
        None => Err(format!(
            "no unwind info for pc {addr:#x} in {} (offset {off:#x}): neither __unwind_info nor __eh_frame covers it",
            rec.path.to_string_lossy()
        )),
    }
}

/// Steps `regs` from `frame` to its caller.
pub fn step(frame: &Frame, regs: &mut Regs, mem: &Mem) -> Result<(), String> {
    let before = (regs.pc, regs.sp());
    match frame.how {
        How::Compact(row) => compact::step(&row, regs, mem),
        How::Dwarf(fde) => dwarf::step(frame.image, fde, before.0.wrapping_sub(1), regs, mem),
    }
    .map_err(|e| {
        format!(
            "cannot step out of the function at {:#x} in {} (pc {:#x}): {e}",
            frame.start,
            frame.image.path.to_string_lossy(),
            before.0
        )
    })?;
    // Every caller's frame is above its callee's: a step that does not
    // move the stack up would loop.
    if regs.sp() <= before.1 {
        return Err(format!(
            "the unwind info of the function at {:#x} in {} does not move the stack up (sp {:#x} -> {:#x})",
            frame.start,
            frame.image.path.to_string_lossy(),
            before.1,
            regs.sp()
        ));
    }
    Ok(())
}

/// Reports an unwinding failure the way every other macho-run error is.
fn report(what: &str) {
    eprintln!("macho-run: unwind: {what}");
}
