//! `___gcc_personality_v0`: the personality routine of C compiled with
//! `-fexceptions`, which only has cleanups (`__attribute__((cleanup))`):
//! in the cleanup phase, the call-site table of the function's LSDA names
//! the landing pad for the pc, entered with the exception in GR 0.

use super::api::{Context, UnwindException};
use std::ffi::c_int;

const FATAL_PHASE1_ERROR: c_int = 3;
const INSTALL_CONTEXT: c_int = 7;
const CONTINUE_UNWIND: c_int = 8;
const SEARCH_PHASE: c_int = 1;

const DW_EH_PE_OMIT: u8 = 0xff;

/// Reads the LSDA's DWARF-encoded values, never past the image that
/// holds it.
struct Lsda {
    at: u64,
    start: u64,
    end: u64,
}

impl Lsda {
    fn u8(&mut self) -> Result<u8, String> {
        if self.at >= self.end {
            return Err(format!("the LSDA runs past its image at {:#x}", self.at));
        }
        // SAFETY: inside the image's mapped range (checked above).
        let v = unsafe { *(self.at as *const u8) };
        self.at += 1;
        Ok(v)
    }

    fn uleb(&mut self) -> Result<u64, String> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
    }

    fn sleb(&mut self) -> Result<i64, String> {
        let (mut v, mut shift) = (0i64, 0);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                v |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0; N];
        for x in &mut b {
            *x = self.u8()?;
        }
        Ok(b)
    }

    /// A value in `DW_EH_PE_*` encoding `enc`.
    fn encoded(&mut self, enc: u8) -> Result<u64, String> {
        if enc == DW_EH_PE_OMIT {
            return Ok(0);
        }
        let start = self.at;
        let v = match enc & 0x0f {
            0x00 => u64::from_le_bytes(self.fixed::<8>()?),
            0x01 => self.uleb()?,
            0x02 => u64::from(u16::from_le_bytes(self.fixed::<2>()?)),
            0x03 => u64::from(u32::from_le_bytes(self.fixed::<4>()?)),
            0x04 => u64::from_le_bytes(self.fixed::<8>()?),
            0x09 => self.sleb()? as u64,
            0x0a => i16::from_le_bytes(self.fixed::<2>()?) as i64 as u64,
            0x0b => i32::from_le_bytes(self.fixed::<4>()?) as i64 as u64,
            0x0c => i64::from_le_bytes(self.fixed::<8>()?) as u64,
            f => return Err(format!("LSDA value format {f:#x}")),
        };
        let v = match enc & 0x70 {
            0x00 => v,
            0x10 => v.wrapping_add(start),
            a => return Err(format!("LSDA value application {a:#x}")),
        };
        if enc & 0x80 != 0 {
            if v < self.start || v.checked_add(8).is_none_or(|e| e > self.end) {
                return Err(format!("LSDA indirect pointer {v:#x} is outside its image"));
            }
            // SAFETY: inside the image's mapped range (checked above).
            return Ok(unsafe { (v as *const u64).read_unaligned() });
        }
        Ok(v)
    }
}

/// The landing pad for `ip` in the LSDA at `lsda` of the function at
/// `start` (in an image mapped at `image`), or None when the call site
/// has none (or is not listed).
fn landing_pad(lsda: u64, image: (u64, u64), start: u64, ip: u64) -> Result<Option<u64>, String> {
    if lsda < image.0 {
        return Err(format!("the LSDA at {lsda:#x} is outside its image"));
    }
    let mut r = Lsda {
        at: lsda,
        start: image.0,
        end: image.1,
    };
    let lp_enc = r.u8()?;
    let lp_start = if lp_enc == DW_EH_PE_OMIT {
        start
    } else {
        r.encoded(lp_enc)?
    };
    if r.u8()? != DW_EH_PE_OMIT {
        r.uleb()?; // type table offset: C has no catch clauses to look up
    }
    let cs_enc = r.u8()?;
    let len = r.uleb()?;
    let end = r.at.saturating_add(len);
    while r.at < end {
        let cs_start = r.encoded(cs_enc)?;
        let cs_len = r.encoded(cs_enc)?;
        let pad = r.encoded(cs_enc)?;
        r.uleb()?; // action
        let lo = start.wrapping_add(cs_start);
        if ip < lo {
            break;
        }
        if ip < lo.wrapping_add(cs_len) {
            return Ok((pad != 0).then(|| lp_start.wrapping_add(pad)));
        }
    }
    Ok(None)
}

extern "C" fn gcc_personality_v0(
    version: c_int,
    actions: c_int,
    _class: u64,
    exc: *mut UnwindException,
    c: *mut Context,
) -> c_int {
    if version != 1 || c.is_null() {
        return FATAL_PHASE1_ERROR;
    }
    // SAFETY: the unwinder passes its own live context.
    let ctx = unsafe { &mut *c };
    // Cleanups only: nothing to find in the search phase.
    if actions & SEARCH_PHASE != 0 {
        return CONTINUE_UNWIND;
    }
    let Some(frame) = ctx.frame else {
        return CONTINUE_UNWIND;
    };
    if frame.lsda == 0 {
        return CONTINUE_UNWIND;
    }
    let ip = ctx.regs.pc.wrapping_sub(1);
    match landing_pad(frame.lsda, frame.image.range, frame.start, ip) {
        Ok(Some(pad)) => {
            ctx.regs.set(0, exc as u64);
            ctx.regs.set(1, 0);
            ctx.regs.pc = pad;
            INSTALL_CONTEXT
        }
        Ok(None) => CONTINUE_UNWIND,
        Err(e) => {
            super::report(&format!(
                "LSDA at {:#x} of the function at {:#x}: {e}",
                frame.lsda, frame.start
            ));
            FATAL_PHASE1_ERROR
        }
    }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![(
        "___gcc_personality_v0",
        gcc_personality_v0 as *const () as usize,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A C function's LSDA: landing pads relative to the function start,
    /// call sites in ULEB128 (what clang writes): [0x10, +0x10) lands at
    /// 0x40, [0x30, +0x8) has no landing pad.
    const LSDA: [u8; 12] = [
        0xff, 0xff, 0x01, 8, 0x10, 0x10, 0x40, 0x00, 0x30, 0x08, 0x00, 0x00,
    ];

    #[test]
    fn call_sites_name_landing_pads() {
        let at = LSDA.as_ptr() as u64;
        let image = (at, at + LSDA.len() as u64);
        let start = 0x1000;
        let pad = |ip| landing_pad(at, image, start, ip).unwrap();
        assert_eq!(pad(start + 0x15), Some(start + 0x40));
        assert_eq!(pad(start + 0x32), None, "a call site without a pad");
        assert_eq!(pad(start + 0x5), None, "before every call site");
        assert_eq!(pad(start + 0x100), None, "past every call site");
    }

    #[test]
    fn an_lsda_running_past_its_image_is_an_error() {
        let at = LSDA.as_ptr() as u64;
        let e = landing_pad(at, (at, at + 6), 0x1000, 0x1040).unwrap_err();
        assert!(e.contains("runs past its image"), "{e}");
        let e = landing_pad(at, (at + 1, at + 12), 0x1000, 0x1040).unwrap_err();
        assert!(e.contains("outside its image"), "{e}");
    }
}
