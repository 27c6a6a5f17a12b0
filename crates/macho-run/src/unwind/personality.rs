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

/// Reads the LSDA's DWARF-encoded values.
struct Lsda {
    at: u64,
}

impl Lsda {
    fn u8(&mut self) -> u8 {
        // SAFETY: the LSDA is in the image's mapped `__gcc_except_tab`,
        // as the function's unwind row says.
        let v = unsafe { *(self.at as *const u8) };
        self.at += 1;
        v
    }

    fn uleb(&mut self) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = self.u8();
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                return v;
            }
        }
    }

    fn sleb(&mut self) -> i64 {
        let (mut v, mut shift) = (0i64, 0);
        loop {
            let b = self.u8();
            if shift < 64 {
                v |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return v;
            }
        }
    }

    fn fixed<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0; N];
        for x in &mut b {
            *x = self.u8();
        }
        b
    }

    /// A value in `DW_EH_PE_*` encoding `enc`.
    fn encoded(&mut self, enc: u8) -> Result<u64, String> {
        if enc == DW_EH_PE_OMIT {
            return Ok(0);
        }
        let start = self.at;
        let v = match enc & 0x0f {
            0x00 => u64::from_le_bytes(self.fixed::<8>()),
            0x01 => self.uleb(),
            0x02 => u64::from(u16::from_le_bytes(self.fixed::<2>())),
            0x03 => u64::from(u32::from_le_bytes(self.fixed::<4>())),
            0x04 => u64::from_le_bytes(self.fixed::<8>()),
            0x09 => self.sleb() as u64,
            0x0a => i16::from_le_bytes(self.fixed::<2>()) as i64 as u64,
            0x0b => i32::from_le_bytes(self.fixed::<4>()) as i64 as u64,
            0x0c => i64::from_le_bytes(self.fixed::<8>()) as u64,
            f => return Err(format!("LSDA value format {f:#x}")),
        };
        let v = match enc & 0x70 {
            0x00 => v,
            0x10 => v.wrapping_add(start),
            a => return Err(format!("LSDA value application {a:#x}")),
        };
        if enc & 0x80 != 0 {
            // SAFETY: an indirect value points at a pointer in the image.
            return Ok(unsafe { (v as *const u64).read_unaligned() });
        }
        Ok(v)
    }
}

/// The landing pad for `ip` in the LSDA at `lsda` of the function at
/// `start`, or None when the call site has none (or is not listed).
fn landing_pad(lsda: u64, start: u64, ip: u64) -> Result<Option<u64>, String> {
    let mut r = Lsda { at: lsda };
    let lp_enc = r.u8();
    let lp_start = if lp_enc == DW_EH_PE_OMIT {
        start
    } else {
        r.encoded(lp_enc)?
    };
    if r.u8() != DW_EH_PE_OMIT {
        r.uleb(); // type table offset: C has no catch clauses to look up
    }
    let cs_enc = r.u8();
    let len = r.uleb();
    let end = r.at + len;
    while r.at < end {
        let cs_start = r.encoded(cs_enc)?;
        let cs_len = r.encoded(cs_enc)?;
        let pad = r.encoded(cs_enc)?;
        r.uleb(); // action
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
    match landing_pad(frame.lsda, frame.start, ctx.regs.pc.wrapping_sub(1)) {
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
