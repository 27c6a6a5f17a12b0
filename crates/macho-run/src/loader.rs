//! Mapping segments into this process and writing fixups into them.
//!
//! The whole image range is reserved first (PROT_NONE), at the preferred
//! address when it is free and anywhere else otherwise (a slide, allowed for
//! PIE images only). Each segment then becomes read-write, receives its file
//! bytes, and gets its final protection once fixups are written.

use crate::error::LoadError;
use crate::fixups::{Action, Plan};
use crate::macho::{Image, Segment};
use object::macho;
use std::io;

/// The host's page size: the granularity of mappings and protections.
/// Mach-O segments are aligned to their architecture's page (4 KiB on
/// x86_64, 16 KiB on arm64), which [`map`] checks is a multiple of it.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

fn page_round_up(v: u64) -> u64 {
    let page = page_size();
    v.div_ceil(page) * page
}

/// The image as mapped: where it landed and how far it slid.
#[derive(Debug)]
pub struct Mapped {
    /// Runtime address minus preferred address (wrapping).
    pub slide: u64,
    /// Runtime address of the mach header.
    pub base: u64,
    range: (u64, u64),
}

impl Mapped {
    /// Runtime address of an unslid address.
    pub fn addr(&self, vmaddr: u64) -> u64 {
        vmaddr.wrapping_add(self.slide)
    }

    /// Stores a pointer into the image.
    ///
    /// # Safety
    /// `vmaddr..vmaddr+8` must lie in a mapped, writable segment; the fixup
    /// decoders check every slot against the segments before it gets here.
    pub unsafe fn write_u64(&self, vmaddr: u64, value: u64) {
        std::ptr::write_unaligned(self.addr(vmaddr) as *mut u64, value)
    }

    /// Reads a pointer-sized value from the mapped image.
    ///
    /// # Safety
    /// As for [`Mapped::write_u64`], for reading.
    pub unsafe fn read_u64(&self, vmaddr: u64) -> u64 {
        std::ptr::read_unaligned(self.addr(vmaddr) as *const u64)
    }

    /// The runtime address range of the whole image.
    pub fn range(&self) -> (u64, u64) {
        self.range
    }

    /// Gives the image's address range back (the fuzz entry: no code of
    /// it ever ran, and nothing points into it).
    pub(crate) fn unmap(self) {
        let (start, end) = self.range;
        // SAFETY: the range is the reservation `map` made for this image.
        unsafe { libc::munmap(start as *mut libc::c_void, (end - start) as usize) };
    }

    pub fn contains(&self, runtime_addr: u64, len: u64) -> bool {
        runtime_addr >= self.range.0 && runtime_addr.saturating_add(len) <= self.range.1
    }
}

fn mapped_segments<'a>(image: &'a Image) -> impl Iterator<Item = &'a Segment> {
    image
        .segments
        .iter()
        .filter(|s| s.vmsize > 0 && !s.is_page_zero())
}

/// Reserves address space and copies every segment's file bytes into it.
pub fn map(image: &Image) -> Result<Mapped, LoadError> {
    map_with(image, true)
}

/// [`map`], keeping `__PAGEZERO`'s range inaccessible or not (the fuzz
/// entry maps many images into one process and unmaps each).
pub(crate) fn map_with(image: &Image, page_zero: bool) -> Result<Mapped, LoadError> {
    let lo = mapped_segments(image).map(|s| s.vmaddr).min();
    let hi = mapped_segments(image).map(|s| s.vm_end()).max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Err(image.blame.whole("no segment to map"));
    };
    let page = page_size();
    let align = image.arch.segment_align;
    if !align.is_multiple_of(page) {
        return Err(image.blame.whole(format!(
            "this host's {page}-byte pages are larger than the image's {}-byte \
             segment alignment, so its segments cannot get their own protections",
            align
        )));
    }
    let size = page_round_up(hi - lo);
    let map_err = |what: &str| LoadError::Map {
        file: image.blame.file.clone(),
        what: what.into(),
        source: io::Error::last_os_error(),
    };
    if std::env::var_os(FORCE_SLIDE_ENV).is_some() && !image.is_dylib {
        // A placeholder, left in place, over the preferred range.
        reserve(Some(lo), size);
    }
    // A dylib is linked at address 0, which is never free: it always slides.
    let preferred = if image.is_dylib && lo == 0 {
        None
    } else {
        reserve(Some(lo), size)
    };
    let start = match preferred {
        Some(start) => start,
        None if !image.pie => {
            return Err(image.blame.whole(format!(
                "non-PIE image needs {lo:#x}..{hi:#x}, which is taken in this process"
            )))
        }
        None => reserve(None, size).ok_or_else(|| map_err("the image's address range"))?,
    };
    let slide = start.wrapping_sub(lo);
    let mapped = Mapped {
        slide,
        base: image.preferred_base().wrapping_add(slide),
        range: (start, start + size),
    };
    if slide == 0 && !image.is_dylib && page_zero {
        reserve_page_zero(image);
    }
    for seg in mapped_segments(image) {
        let addr = mapped.addr(seg.vmaddr);
        let len = page_round_up(seg.vmsize) as usize;
        // SAFETY: the range lies inside our reservation.
        if unsafe {
            libc::mprotect(
                addr as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        } != 0
        {
            return Err(map_err(&format!("segment {}", seg.name)));
        }
        let bytes = &image.data[seg.fileoff as usize..(seg.fileoff + seg.filesize) as usize];
        // SAFETY: the destination is writable and at least vmsize >= filesize long.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
    }
    Ok(mapped)
}

/// Set in the environment, makes macho-run occupy the image's preferred
/// address range before mapping, so a PIE image must slide. The tests use
/// it to check that every fixup honours the slide.
pub const FORCE_SLIDE_ENV: &str = "MACHO_RUN_FORCE_SLIDE";

/// Maps `size` bytes of inaccessible, unbacked address space: at exactly
/// `at` (never replacing an existing mapping), or anywhere when `at` is
/// None. Returns where it landed.
fn reserve(at: Option<u64>, size: u64) -> Option<u64> {
    let mut flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    if at.is_some() {
        flags |= libc::MAP_FIXED_NOREPLACE;
    }
    let hint = at.unwrap_or(0) as *mut libc::c_void;
    // SAFETY: an anonymous PROT_NONE mapping; with MAP_FIXED_NOREPLACE the
    // kernel fails instead of replacing anything already there.
    let p = unsafe { libc::mmap(hint, size as usize, libc::PROT_NONE, flags, -1, 0) };
    if p == libc::MAP_FAILED {
        return None;
    }
    if at.is_some_and(|a| a != p as u64) {
        // A kernel without MAP_FIXED_NOREPLACE treats the address as a hint.
        // SAFETY: we just created this mapping and nothing refers to it.
        unsafe { libc::munmap(p, size as usize) };
        return None;
    }
    Some(p as u64)
}

/// Keeps low addresses inaccessible as __PAGEZERO asks, so a null pointer
/// dereference faults as on macOS. Best effort: the kernel never maps the
/// first `mmap_min_addr` bytes anyway, and anything else already mapped
/// there stays.
fn reserve_page_zero(image: &Image) {
    let Some(zero) = image.segments.iter().find(|s| s.is_page_zero()) else {
        return;
    };
    let min_addr = std::fs::read_to_string("/proc/sys/vm/mmap_min_addr")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0x10000);
    let start = page_round_up(min_addr.max(zero.vmaddr));
    let end = zero.vm_end();
    if end > start {
        reserve(Some(start), end - start);
    }
}

/// The value a fixup stores: rebases slid, binds at the resolved address.
pub fn value_of(mapped: &Mapped, plan: &Plan, resolved: &[u64], f: &crate::fixups::Fixup) -> u64 {
    match f.action {
        Action::Rebase { target, high8 } => mapped.addr(target) | (u64::from(high8) << 56),
        Action::Bind { import, addend } => {
            let import_addr = resolved[import as usize];
            if import_addr == 0 {
                0 // a missing weak import reads as null
            } else {
                import_addr
                    .wrapping_add(plan.imports[import as usize].addend as u64)
                    .wrapping_add(addend as u64)
            }
        }
    }
}

/// Writes every fixup except those `skip` marks (deferred lazy binds).
pub fn apply(mapped: &Mapped, plan: &Plan, resolved: &[u64], skip: &[bool]) {
    for (i, f) in plan.fixups.iter().enumerate() {
        if skip.get(i).copied().unwrap_or(false) {
            continue;
        }
        let value = value_of(mapped, plan, resolved, f);
        // SAFETY: every slot was checked against the segments when decoded.
        unsafe { mapped.write_u64(f.vmaddr, value) };
    }
}

/// Gives every segment its final protection: initprot, and read-only where
/// the segment asks for it after fixups (SG_READ_ONLY, as __DATA_CONST).
pub fn protect(image: &Image, mapped: &Mapped) -> Result<(), LoadError> {
    for seg in mapped_segments(image) {
        let mut prot = 0;
        if seg.initprot & macho::VM_PROT_READ != 0 {
            prot |= libc::PROT_READ;
        }
        if seg.initprot & macho::VM_PROT_WRITE != 0 && seg.flags & macho::SG_READ_ONLY == 0 {
            prot |= libc::PROT_WRITE;
        }
        if seg.initprot & macho::VM_PROT_EXECUTE != 0 {
            prot |= libc::PROT_EXEC;
        }
        let addr = mapped.addr(seg.vmaddr) as *mut libc::c_void;
        let len = page_round_up(seg.vmsize) as usize;
        if prot & libc::PROT_EXEC != 0 {
            // SAFETY: the segment is mapped (and still writable): its code
            // was copied in, and fixups written, through the data cache.
            unsafe { crate::arch::flush_icache(addr as u64, len) };
        }
        // SAFETY: the segment lies inside our reservation.
        if unsafe { libc::mprotect(addr, len, prot) } != 0 {
            return Err(LoadError::Map {
                file: image.blame.file.clone(),
                what: format!("segment {} with its final protection", seg.name),
                source: io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}
