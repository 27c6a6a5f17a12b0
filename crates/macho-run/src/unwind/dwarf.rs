//! DWARF call frame information from an image's `__TEXT,__eh_frame`,
//! read with gimli: the FDE a DWARF-mode compact row names (or the one a
//! search finds), its personality and LSDA from the augmentation, and the
//! step its CFA and register rules describe.

use super::registry::ImageRecord;
use super::{arch, Frame, How, Mem, Regs};
use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameOffset, EndianSlice, EvaluationResult, Location,
    NativeEndian, Pointer, RegisterRule, UnwindContext, UnwindExpression, UnwindSection, Value,
};

type Reader = EndianSlice<'static, NativeEndian>;
type Fde = gimli::FrameDescriptionEntry<Reader>;

fn section(rec: &ImageRecord) -> Option<(EhFrame<Reader>, BaseAddresses)> {
    let range = rec.eh_frame?;
    // SAFETY: the registry's section ranges stay mapped and unchanged.
    let bytes = unsafe { ImageRecord::bytes(range) };
    let mut eh = EhFrame::new(bytes, NativeEndian);
    eh.set_address_size(8);
    let bases = BaseAddresses::default()
        .set_eh_frame(range.0)
        .set_text(rec.text.0);
    Some((eh, bases))
}

fn pointer(rec: &ImageRecord, p: Option<Pointer>) -> Result<u64, String> {
    match p {
        None => Ok(0),
        Some(Pointer::Direct(a)) => Ok(a),
        Some(Pointer::Indirect(slot)) => Mem::image_word(rec, slot)
            .ok_or_else(|| format!("indirect pointer slot {slot:#x} is outside the image")),
    }
}

fn frame_of(rec: &'static ImageRecord, fde: &Fde, offset: u64) -> Result<Frame, String> {
    Ok(Frame {
        start: fde.initial_address(),
        end: fde.initial_address().wrapping_add(fde.len()),
        personality: pointer(rec, fde.personality())?,
        lsda: pointer(rec, fde.lsda())?,
        how: How::Dwarf(offset),
        image: rec,
    })
}

fn parse(rec: &ImageRecord, offset: u64) -> Result<(EhFrame<Reader>, BaseAddresses, Fde), String> {
    let (eh, bases) = section(rec).ok_or("the image has no __eh_frame")?;
    let fde = eh
        .fde_from_offset(
            &bases,
            EhFrameOffset(offset as usize),
            EhFrame::cie_from_offset,
        )
        .map_err(|e| format!("__eh_frame offset {offset:#x}: {e}"))?;
    Ok((eh, bases, fde))
}

/// The frame of the FDE at `offset`, which must cover `addr`.
pub fn frame_at(rec: &'static ImageRecord, offset: u64, addr: u64) -> Result<Frame, String> {
    let (_, _, fde) =
        parse(rec, offset).map_err(|e| format!("{}: {e}", rec.path.to_string_lossy()))?;
    if !fde.contains(addr) {
        return Err(format!(
            "{}: the FDE at __eh_frame offset {offset:#x} covers {:#x}..{:#x}, not pc {addr:#x}",
            rec.path.to_string_lossy(),
            fde.initial_address(),
            fde.initial_address().wrapping_add(fde.len())
        ));
    }
    frame_of(rec, &fde, offset)
}

/// The FDE covering `addr`, found by walking `__eh_frame`.
pub fn search(rec: &'static ImageRecord, addr: u64) -> Result<Option<Frame>, String> {
    let Some((eh, bases)) = section(rec) else {
        return Ok(None);
    };
    let mut entries = eh.entries(&bases);
    loop {
        let entry = entries
            .next()
            .map_err(|e| format!("{}: __eh_frame: {e}", rec.path.to_string_lossy()))?;
        match entry {
            None => return Ok(None),
            Some(gimli::CieOrFde::Cie(_)) => {}
            Some(gimli::CieOrFde::Fde(partial)) => {
                let Ok(fde) = partial.parse(EhFrame::cie_from_offset) else {
                    continue;
                };
                if fde.contains(addr) {
                    let offset = fde.offset() as u64;
                    return frame_of(rec, &fde, offset).map(Some);
                }
            }
        }
    }
}

/// Steps `regs` through the row of the FDE at `offset` for `addr`.
pub fn step(
    rec: &ImageRecord,
    offset: u64,
    addr: u64,
    regs: &mut Regs,
    mem: &Mem,
) -> Result<(), String> {
    let (eh, bases, fde) = parse(rec, offset)?;
    let mut ctx = UnwindContext::new();
    let row = fde
        .unwind_info_for_address(&eh, &bases, &mut ctx, addr)
        .map_err(|e| format!("CFI of the FDE at {offset:#x}: {e}"))?;
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => regs
            .get(register.0)
            .ok_or_else(|| format!("CFA based on unknown register {}", register.0))?
            .wrapping_add(*offset as u64),
        CfaRule::Expression(e) => evaluate(&eh, e, regs, mem, None)?,
    };
    let mut new = *regs;
    let mut ra_undefined = false;
    for (reg, rule) in row.registers() {
        let value = match rule {
            RegisterRule::Undefined => {
                ra_undefined |= reg.0 == arch::RA;
                continue;
            }
            RegisterRule::SameValue => continue,
            RegisterRule::Offset(n) => mem.stack(cfa.wrapping_add(*n as u64))?,
            RegisterRule::ValOffset(n) => cfa.wrapping_add(*n as u64),
            RegisterRule::Register(r) => regs
                .get(r.0)
                .ok_or_else(|| format!("rule copies unknown register {}", r.0))?,
            RegisterRule::Constant(c) => *c,
            RegisterRule::Expression(e) => mem.stack(evaluate(&eh, e, regs, mem, Some(cfa))?)?,
            RegisterRule::ValExpression(e) => evaluate(&eh, e, regs, mem, Some(cfa))?,
            other => {
                return Err(format!(
                    "register {} has an unsupported rule {other:?}",
                    reg.0
                ))
            }
        };
        if !new.set(reg.0, value) {
            return Err(format!("rule for unknown register {}", reg.0));
        }
    }
    // The return address column gives the caller's pc; an undefined one
    // marks the outermost frame.
    new.pc = if ra_undefined {
        0
    } else {
        new.get(arch::RA).unwrap_or(0)
    };
    new.set(arch::SP, cfa);
    *regs = new;
    Ok(())
}

/// The value of a CFI expression (`DW_CFA_def_cfa_expression`,
/// `DW_CFA_expression`, `DW_CFA_val_expression`): registers are the
/// frame's, memory is the thread's stack, and register rules start with
/// the CFA on the stack.
fn evaluate(
    eh: &EhFrame<Reader>,
    expr: &UnwindExpression<usize>,
    regs: &Regs,
    mem: &Mem,
    cfa: Option<u64>,
) -> Result<u64, String> {
    let err = |e: gimli::Error| format!("CFI expression: {e}");
    let encoding = gimli::Encoding {
        address_size: 8,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut eval = expr.get(eh).map_err(err)?.evaluation(encoding);
    if let Some(cfa) = cfa {
        eval.set_initial_value(cfa);
    }
    let mut state = eval.evaluate().map_err(err)?;
    loop {
        state = match state {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresRegister { register, .. } => {
                let v = regs.get(register.0).ok_or_else(|| {
                    format!("CFI expression reads unknown register {}", register.0)
                })?;
                eval.resume_with_register(Value::Generic(v)).map_err(err)?
            }
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let word = mem.stack(address)?;
                let v = if size >= 8 {
                    word
                } else {
                    word & ((1u64 << (8 * size)) - 1)
                };
                eval.resume_with_memory(Value::Generic(v)).map_err(err)?
            }
            other => return Err(format!("CFI expression needs {other:?}")),
        };
    }
    match eval.as_result() {
        [piece] => match &piece.location {
            Location::Address { address } => Ok(*address),
            Location::Value { value } => value.to_u64(u64::MAX).map_err(err),
            other => Err(format!("CFI expression yields {other:?}")),
        },
        pieces => Err(format!("CFI expression yields {} pieces", pieces.len())),
    }
}
