//! x86_64 branch decoding for `machlink verify`: variable-length
//! instructions (decoded with iced-x86), with jump tables that may sit in
//! `__text` without LC_DATA_IN_CODE.

use super::{Code, Piece, Report};
use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction};

/// Bytes that pad code rather than being code: int3 fill and zeros.
fn is_fill(b: u8) -> bool {
    b == 0xcc || b == 0
}

/// Reads the jump table at `body[pos..]` (piece address `lo`): 32-bit
/// entries, each an offset from the table's start to a case in the
/// function `func`. Records the cases; returns where the table ends (`pos`
/// itself when the bytes there are no such table).
fn skip_jump_table(
    body: &[u8],
    lo: u64,
    mut pos: usize,
    func: (u64, u64),
    tables: &[u64],
    cases: &mut Vec<u64>,
) -> usize {
    let mut base = lo + pos as u64;
    while let Some(e) = body.get(pos..pos + 4) {
        let at = lo + pos as u64;
        if cases.contains(&at) {
            break; // code resumes: a case lands here
        }
        if tables.contains(&at) {
            base = at; // the next table, adjacent to this one
        }
        let entry = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let case = base.wrapping_add_signed(i64::from(entry));
        if case < func.0 || case >= func.1 || (case >= base && case < at + 4) {
            break;
        }
        cases.push(case);
        pos += 4;
    }
    pos
}

pub(super) fn check_branches(code: &Code, report: &mut Report) {
    // Where the code at `addr` jumps, if it is a trampoline: a `jmp rel32`
    // to a place that is no function or stub (see `may_be_trampoline`),
    // followed by int3
    // padding (a function that starts with a jump into its own code has
    // code after the jump, not padding).
    let hop = |addr: u64| -> Option<(u64, u64)> {
        let bytes = code.bytes_at(addr)?;
        let mut d = Decoder::with_ip(64, bytes, addr, DecoderOptions::NONE);
        let i = d.decode();
        let to = i.near_branch_target();
        let padded = bytes.get(5).is_none_or(|&b| b == 0xcc);
        (i.is_jmp_near() && i.len() == 5 && padded && code.may_be_trampoline(addr, to))
            .then_some((to, 5))
    };
    let mut instr = Instruction::default();
    for piece in code.pieces() {
        let Piece { lo, hi, func, body } = piece;
        let fhi = func.1;
        let mut d = Decoder::with_ip(64, body, lo, DecoderOptions::NONE);
        // After an instruction control does not fall through (ret, jmp,
        // ud2, ...), int3 and zero fill is padding, not code.
        let mut after_end = false;
        // Jump tables this piece's code points at (`lea reg, [rip+table]`
        // into its own function), and the case targets read from them.
        let mut tables: Vec<u64> = Vec::new();
        let mut cases: Vec<u64> = Vec::new();
        let mut pos = 0usize;
        while pos < body.len() {
            let ip = lo + pos as u64;
            // Data in code (a jump table): skip it, decode on after it.
            if let Some(dhi) = code.data_in_code_end(ip) {
                pos = (dhi.min(hi) - lo) as usize;
                after_end = true;
                continue;
            }
            if after_end && is_fill(body[pos]) {
                pos += 1;
                continue;
            }
            // Images without LC_DATA_IN_CODE (incremental ones leave it
            // out): a jump table is data too. Code seldom falls into one,
            // but a call that does not return may precede it; then it must
            // read as a table of several entries (LLVM makes tables of
            // four cases or more).
            if tables.contains(&ip) && !cases.contains(&ip) {
                let skipped = skip_jump_table(body, lo, pos, func, &tables, &mut cases);
                let entries = (skipped - pos) / 4;
                if entries >= if after_end { 1 } else { 3 } {
                    pos = skipped;
                    after_end = true;
                    continue;
                }
            }
            if d.set_position(pos).is_err() {
                break;
            }
            d.set_ip(ip);
            d.decode_out(&mut instr);
            pos += instr.len().max(1);
            if instr.mnemonic() == iced_x86::Mnemonic::Lea && instr.is_ip_rel_memory_operand() {
                let table = instr.ip_rel_memory_address();
                if table > ip && table < fhi && !tables.contains(&table) {
                    tables.push(table);
                }
            }
            let flow = instr.flow_control();
            after_end = match flow {
                FlowControl::Return
                | FlowControl::UnconditionalBranch
                | FlowControl::IndirectBranch
                | FlowControl::Exception
                | FlowControl::Interrupt => true,
                _ => after_end && instr.mnemonic() == iced_x86::Mnemonic::Nop,
            };
            if !matches!(
                flow,
                FlowControl::Call
                    | FlowControl::UnconditionalBranch
                    | FlowControl::ConditionalBranch
            ) || !(instr.is_call_near()
                || instr.is_jmp_near()
                || instr.is_jcc_short_or_near()
                || instr.is_jmp_short())
            {
                continue;
            }
            if code.check_branch(report, instr.ip(), instr.near_branch_target(), func, hop) {
                // The rest of the trampoline's slot is padding.
                break;
            }
        }
    }
}
