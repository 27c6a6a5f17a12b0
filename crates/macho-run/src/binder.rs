//! Binding imports: each import of the plan gets an address, from a loaded
//! image (the program itself or one of its dylibs, see [`crate::images`]) or
//! from the host.
//!
//! An import nobody provides is fatal when the program uses it as data (a
//! pointer it may read at any time). When every use is through a stub, the
//! program only calls it, perhaps never, so a trap that names the symbol
//! stands in and fires only if it is called, as a lazily bound call would
//! fail on macOS.
//!
//! On arm64 a variadic libSystem function with no shim is refused outright
//! (see [`crate::shims::variadic`]): bound to glibc it would run and read
//! its arguments from the wrong place.

use crate::arch::TRAP_SIZE;
use crate::error::LoadError;
use crate::fixups::{Action, Import, Plan};
use crate::macho::Image;
use object::macho;
use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};

/// Addresses of every import (0 for a missing weak import); `resolve` finds
/// an import's address by its name and ordinal.
pub fn bind(
    image: &Image,
    plan: &Plan,
    mut resolve: impl FnMut(&Import) -> Option<u64>,
) -> Result<Vec<u64>, LoadError> {
    let call_slots = call_only_slots(image);
    let mut data_uses = vec![false; plan.imports.len()];
    for f in &plan.fixups {
        if let Action::Bind { import, .. } = f.action {
            if !call_slots.contains(&f.vmaddr) {
                data_uses[import as usize] = true;
            }
        }
    }
    let mut unbound = Vec::new();
    let mut refused = Vec::new();
    let mut traps = Traps::default();
    let mut addrs = Vec::with_capacity(plan.imports.len());
    for (i, import) in plan.imports.iter().enumerate() {
        let addr = match resolve(import) {
            Some(a) => a,
            None if import.weak => 0,
            None if crate::shims::variadic::refused(&import.name) => {
                refused.push(import.name.clone());
                0
            }
            None if !data_uses[i] => traps.make(&import.name)?,
            None => {
                unbound.push(import.name.clone());
                0
            }
        };
        addrs.push(addr);
    }
    if !refused.is_empty() {
        refused.sort();
        refused.dedup();
        return Err(LoadError::Refused {
            file: image.blame.file.clone(),
            names: refused,
        });
    }
    if !unbound.is_empty() {
        unbound.sort();
        unbound.dedup();
        return Err(LoadError::Unbound {
            file: image.blame.file.clone(),
            names: unbound,
        });
    }
    Ok(addrs)
}

/// Slots through which the program only calls: lazy symbol pointers and the
/// pointers that `__stubs` entries jump through (recognised per
/// architecture by [`crate::arch::stub_slot`]).
fn call_only_slots(image: &Image) -> HashSet<u64> {
    let mut slots = HashSet::new();
    for s in image.sections() {
        match s.kind() {
            macho::S_LAZY_SYMBOL_POINTERS => {
                slots.extend((0..s.size / 8).map(|i| s.addr + i * 8));
            }
            macho::S_SYMBOL_STUBS if s.reserved2 > 0 => {
                let Some(bytes) = section_bytes(image, s) else {
                    continue;
                };
                for (i, stub) in bytes.chunks_exact(s.reserved2 as usize).enumerate() {
                    let addr = s.addr + (i as u64) * u64::from(s.reserved2);
                    slots.extend(crate::arch::stub_slot(stub, addr));
                }
            }
            _ => {}
        }
    }
    slots
}

fn section_bytes<'a>(image: &Image<'a>, s: &crate::macho::Section) -> Option<&'a [u8]> {
    let start = s.offset as usize;
    image.data.get(start..start.checked_add(s.size as usize)?)
}

/// Executable stubs that report a call to an unbound import and exit 127.
#[derive(Default)]
struct Traps {
    page: Option<(*mut u8, usize)>,
    used: usize,
}

const TRAP_PAGE: usize = 64 * 1024;

extern "C" fn unbound_called(name: *const c_char) -> ! {
    // SAFETY: name is a leaked CString made in Traps::make.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    eprintln!("macho-run: the program called {name}, which is not bound (no shim or host symbol)");
    // SAFETY: ending the process; stdio of the program is not flushed on
    // purpose, as dyld would not either.
    unsafe { libc::_exit(crate::error::EXIT_UNBOUND) }
}

impl Traps {
    fn make(&mut self, name: &str) -> Result<u64, LoadError> {
        if self.page.is_none_or(|(_, len)| self.used + TRAP_SIZE > len) {
            // SAFETY: a fresh anonymous mapping.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    TRAP_PAGE,
                    libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(LoadError::Map {
                    file: name.into(),
                    what: "trap page".into(),
                    source: std::io::Error::last_os_error(),
                });
            }
            self.page = Some((p as *mut u8, TRAP_PAGE));
            self.used = 0;
        }
        let (page, _) = self.page.unwrap();
        let cname = CString::new(name).unwrap_or_default().into_raw();
        let code = crate::arch::trap_code(cname as u64, unbound_called as *const () as u64);
        // SAFETY: the trap page has room for one more trap (checked above);
        // the cache flush covers exactly the bytes just written.
        let at = unsafe { page.add(self.used) };
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), at, TRAP_SIZE);
            crate::arch::flush_icache(at as u64, TRAP_SIZE);
        }
        self.used += TRAP_SIZE;
        Ok(at as u64)
    }
}
