//! The images of the running program as dyld lists them: the main
//! executable first, then its dylibs in load order. Filled once at load
//! time, before any initialiser runs, and only read afterwards: by the
//! unwinder (which image holds a PC, where its `__unwind_info` and
//! `__eh_frame` are) and by the `_dyld_*` queries.

use crate::loader::Mapped;
use crate::macho::Image;
use std::ffi::CString;
use std::path::Path;
use std::sync::RwLock;

/// One loaded image, in runtime addresses.
#[derive(Debug)]
pub struct ImageRecord {
    /// The file it was read from, for `_dyld_get_image_name`.
    pub path: CString,
    /// Runtime address of the mach header: what `__unwind_info` offsets
    /// are relative to.
    pub header: u64,
    /// Runtime minus preferred addresses.
    pub slide: u64,
    /// The executable segments' runtime range (`__TEXT`): a PC inside it
    /// belongs to this image.
    pub text: (u64, u64),
    /// The whole image's runtime range.
    pub range: (u64, u64),
    /// `__TEXT,__unwind_info`, if the image has it.
    pub unwind_info: Option<(u64, u64)>,
    /// `__TEXT,__eh_frame`, if the image has it.
    pub eh_frame: Option<(u64, u64)>,
}

impl ImageRecord {
    pub fn contains_pc(&self, pc: u64) -> bool {
        pc >= self.text.0 && pc < self.text.1
    }

    /// The bytes of a runtime range of this image.
    ///
    /// # Safety
    /// The range must be one of this record's sections: mapped for the
    /// life of the process and never written after load.
    pub unsafe fn bytes(range: (u64, u64)) -> &'static [u8] {
        std::slice::from_raw_parts(range.0 as *const u8, (range.1 - range.0) as usize)
    }
}

// Records are leaked: images are never unloaded, so a reference stays
// valid without holding the lock while a frame is being stepped.
static IMAGES: RwLock<Vec<&'static ImageRecord>> = RwLock::new(Vec::new());

/// Records a mapped, fixed-up image (the main executable first).
pub fn register(image: &Image, mapped: &Mapped, path: &Path) {
    let mut text = (u64::MAX, 0);
    for s in &image.segments {
        if s.initprot & object::macho::VM_PROT_EXECUTE != 0 && s.vmsize > 0 {
            text.0 = text.0.min(mapped.addr(s.vmaddr));
            text.1 = text.1.max(mapped.addr(s.vmaddr + s.vmsize));
        }
    }
    let section = |name: &str| {
        image
            .sections()
            .find(|s| s.segname == "__TEXT" && s.sectname == name && s.size > 0)
            .map(|s| (mapped.addr(s.addr), mapped.addr(s.addr + s.size)))
            .filter(|&(lo, hi)| mapped.contains(lo, hi - lo))
    };
    let path = CString::new(path.as_os_str().as_encoded_bytes().to_vec()).unwrap_or_default();
    let record = ImageRecord {
        path,
        header: mapped.base,
        slide: mapped.slide,
        range: mapped.range(),
        text: if text.0 < text.1 { text } else { (0, 0) },
        unwind_info: section("__unwind_info"),
        eh_frame: section("__eh_frame"),
    };
    IMAGES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(Box::leak(Box::new(record)));
}

/// The image whose code holds `pc`.
pub fn image_for_pc(pc: u64) -> Option<&'static ImageRecord> {
    let images = IMAGES.read().unwrap_or_else(|e| e.into_inner());
    images.iter().copied().find(|r| r.contains_pc(pc))
}

/// The image at dyld index `i`.
pub fn image(i: usize) -> Option<&'static ImageRecord> {
    let images = IMAGES.read().unwrap_or_else(|e| e.into_inner());
    images.get(i).copied()
}

/// The image whose mach header is at `header`.
pub fn image_by_header(header: u64) -> Option<&'static ImageRecord> {
    let images = IMAGES.read().unwrap_or_else(|e| e.into_inner());
    images.iter().copied().find(|r| r.header == header)
}

pub fn count() -> usize {
    IMAGES.read().unwrap_or_else(|e| e.into_inner()).len()
}
