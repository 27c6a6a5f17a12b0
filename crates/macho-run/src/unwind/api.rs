//! The `_Unwind_*` interface (Itanium C++ ABI, level 1), as libunwind
//! gives it to macOS programs: two-phase exception dispatch, forced
//! unwinding, backtraces, and the context accessors personality routines
//! call.
//!
//! Each entry point that walks the stack is an assembly trampoline (see
//! the per-architecture module) that captures its caller's registers and
//! calls the `*_from` function here; the walk starts at that caller.
//! Finding a landing pad installs its registers and never returns.

use super::arch::{capture_entry, macho_run_unwind_install};
use super::{find, report, step, Frame, Mem, Regs};
use std::ffi::c_int;

// _Unwind_Reason_Code
const NO_REASON: c_int = 0;
const FOREIGN_EXCEPTION_CAUGHT: c_int = 1;
const FATAL_PHASE2_ERROR: c_int = 2;
const FATAL_PHASE1_ERROR: c_int = 3;
const END_OF_STACK: c_int = 5;
const HANDLER_FOUND: c_int = 6;
const INSTALL_CONTEXT: c_int = 7;
const CONTINUE_UNWIND: c_int = 8;

// _Unwind_Action
const SEARCH_PHASE: c_int = 1;
const CLEANUP_PHASE: c_int = 2;
const HANDLER_FRAME: c_int = 4;
const FORCE_UNWIND: c_int = 8;
const END_OF_STACK_ACTION: c_int = 16;

/// `struct _Unwind_Exception` on 64-bit Darwin (and everywhere libunwind
/// is not SEH): 32 bytes, 16-byte aligned.
#[repr(C, align(16))]
pub struct UnwindException {
    pub exception_class: u64,
    pub exception_cleanup: Option<extern "C" fn(c_int, *mut UnwindException)>,
    /// The stop function of a forced unwind, 0 otherwise.
    pub private_1: u64,
    /// The handler frame's sp (or the stop function's parameter).
    pub private_2: u64,
}

/// `struct _Unwind_Context`: one frame's registers and function.
pub struct Context {
    pub regs: Regs,
    pub frame: Option<Frame>,
}

type Personality = extern "C" fn(c_int, c_int, u64, *mut UnwindException, *mut Context) -> c_int;
type Stop = extern "C" fn(c_int, c_int, u64, *mut UnwindException, *mut Context, u64) -> c_int;
type Trace = extern "C" fn(*mut Context, u64) -> c_int;

/// One step of a walk: the frame at `regs.pc`, the end of the stack, or
/// an error already reported.
enum Next {
    Frame(Frame),
    End,
    Error,
}

fn locate(regs: &Regs) -> Next {
    match find(regs.pc.wrapping_sub(1)) {
        Ok(Some(f)) => Next::Frame(f),
        Ok(None) => Next::End,
        Err(e) => {
            report(&e);
            Next::Error
        }
    }
}

fn advance(frame: &Frame, regs: &mut Regs, mem: &Mem) -> bool {
    match step(frame, regs, mem) {
        Ok(()) => true,
        Err(e) => {
            report(&e);
            false
        }
    }
}

fn call_personality(
    frame: &Frame,
    ctx: &mut Context,
    actions: c_int,
    exc: *mut UnwindException,
) -> c_int {
    // SAFETY: the personality pointer comes from the image's unwind
    // tables; exc is the caller's exception object.
    unsafe {
        let p: Personality = std::mem::transmute(frame.personality as usize);
        p(1, actions, (*exc).exception_class, exc, ctx)
    }
}

/// Phase 1: the sp of the first frame whose personality has a handler.
fn search(mut regs: Regs, exc: *mut UnwindException) -> Result<u64, c_int> {
    let mem = Mem::current();
    loop {
        let frame = match locate(&regs) {
            Next::Frame(f) => f,
            Next::End => return Err(END_OF_STACK),
            Next::Error => return Err(FATAL_PHASE1_ERROR),
        };
        if frame.personality != 0 {
            let mut ctx = Context {
                regs,
                frame: Some(frame),
            };
            match call_personality(&frame, &mut ctx, SEARCH_PHASE, exc) {
                HANDLER_FOUND => return Ok(regs.sp()),
                CONTINUE_UNWIND => {}
                _ => return Err(FATAL_PHASE1_ERROR),
            }
        }
        if !advance(&frame, &mut regs, &mem) {
            return Err(FATAL_PHASE1_ERROR);
        }
    }
}

/// Phase 2: runs cleanups up to the handler frame (sp `handler`) and
/// installs the landing pad a personality chooses. Returns only on error.
fn cleanup(mut regs: Regs, exc: *mut UnwindException, handler: u64) -> c_int {
    let mem = Mem::current();
    loop {
        let frame = match locate(&regs) {
            Next::Frame(f) => f,
            Next::End | Next::Error => return FATAL_PHASE2_ERROR,
        };
        let at_handler = regs.sp() == handler;
        if frame.personality != 0 {
            let actions = CLEANUP_PHASE | if at_handler { HANDLER_FRAME } else { 0 };
            let mut ctx = Context {
                regs,
                frame: Some(frame),
            };
            match call_personality(&frame, &mut ctx, actions, exc) {
                INSTALL_CONTEXT => install(&ctx.regs),
                CONTINUE_UNWIND if !at_handler => {}
                _ => return FATAL_PHASE2_ERROR,
            }
        } else if at_handler {
            return FATAL_PHASE2_ERROR;
        }
        if !advance(&frame, &mut regs, &mem) {
            return FATAL_PHASE2_ERROR;
        }
    }
}

/// A forced unwind: every frame's cleanups, asking `stop` first.
fn forced(mut regs: Regs, exc: *mut UnwindException, stop: u64, param: u64) -> c_int {
    let mem = Mem::current();
    // SAFETY: the program passed a stop function of this signature.
    let stop: Stop = unsafe { std::mem::transmute(stop as usize) };
    // SAFETY: exc is the caller's exception object.
    let class = unsafe { (*exc).exception_class };
    loop {
        let frame = match locate(&regs) {
            Next::Frame(f) => f,
            Next::End => {
                let mut ctx = Context { regs, frame: None };
                let actions = CLEANUP_PHASE | FORCE_UNWIND | END_OF_STACK_ACTION;
                stop(1, actions, class, exc, &mut ctx, param);
                return END_OF_STACK;
            }
            Next::Error => return FATAL_PHASE2_ERROR,
        };
        let mut ctx = Context {
            regs,
            frame: Some(frame),
        };
        if stop(1, CLEANUP_PHASE | FORCE_UNWIND, class, exc, &mut ctx, param) != NO_REASON {
            return FATAL_PHASE2_ERROR;
        }
        if frame.personality != 0 {
            match call_personality(&frame, &mut ctx, CLEANUP_PHASE | FORCE_UNWIND, exc) {
                INSTALL_CONTEXT => install(&ctx.regs),
                CONTINUE_UNWIND => {}
                _ => return FATAL_PHASE2_ERROR,
            }
        }
        if !advance(&frame, &mut regs, &mem) {
            return FATAL_PHASE2_ERROR;
        }
    }
}

fn install(regs: &Regs) -> ! {
    // SAFETY: the registers describe a live frame of this thread, with a
    // landing pad as pc, as the personality routine chose.
    unsafe { macho_run_unwind_install(regs) }
}

extern "C" fn raise_from(regs: *const Regs, exc: *mut UnwindException) -> c_int {
    // SAFETY: the trampoline passes its captured registers.
    let regs = unsafe { *regs };
    match search(regs, exc) {
        Ok(handler) => {
            // SAFETY: exc is the program's exception object.
            unsafe {
                (*exc).private_1 = 0;
                (*exc).private_2 = handler;
            }
            cleanup(regs, exc, handler)
        }
        Err(code) => code,
    }
}

extern "C" fn resume_from(regs: *const Regs, exc: *mut UnwindException) {
    // SAFETY: as in raise_from.
    let (regs, p1, p2) = unsafe { (*regs, (*exc).private_1, (*exc).private_2) };
    let code = if p1 != 0 {
        forced(regs, exc, p1, p2)
    } else {
        cleanup(regs, exc, p2)
    };
    report(&format!(
        "_Unwind_Resume could not continue unwinding (reason {code})"
    ));
    // SAFETY: _Unwind_Resume must not return; libunwind aborts too.
    unsafe { libc::abort() }
}

extern "C" fn resume_or_rethrow_from(regs: *const Regs, exc: *mut UnwindException) -> c_int {
    // SAFETY: as in raise_from.
    let (p1, p2) = unsafe { ((*exc).private_1, (*exc).private_2) };
    if p1 == 0 {
        return raise_from(regs, exc);
    }
    // SAFETY: as above.
    forced(unsafe { *regs }, exc, p1, p2)
}

extern "C" fn forced_unwind_from(
    regs: *const Regs,
    exc: *mut UnwindException,
    stop: u64,
    param: u64,
) -> c_int {
    // SAFETY: as in raise_from.
    unsafe {
        (*exc).private_1 = stop;
        (*exc).private_2 = param;
        forced(*regs, exc, stop, param)
    }
}

extern "C" fn backtrace_from(regs: *const Regs, trace: Trace, arg: u64) -> c_int {
    // SAFETY: as in raise_from.
    let mut regs = unsafe { *regs };
    let mem = Mem::current();
    loop {
        let frame = match locate(&regs) {
            Next::Frame(f) => f,
            Next::End => return END_OF_STACK,
            Next::Error => return FATAL_PHASE1_ERROR,
        };
        let mut ctx = Context {
            regs,
            frame: Some(frame),
        };
        if trace(&mut ctx, arg) != NO_REASON {
            return FATAL_PHASE1_ERROR;
        }
        if !advance(&frame, &mut regs, &mem) {
            return FATAL_PHASE1_ERROR;
        }
    }
}

capture_entry!("macho_run_unwind_raise", raise_from);
capture_entry!("macho_run_unwind_resume", resume_from);
capture_entry!("macho_run_unwind_resume_or_rethrow", resume_or_rethrow_from);
capture_entry!("macho_run_unwind_forced", forced_unwind_from);
capture_entry!("macho_run_unwind_backtrace", backtrace_from);

extern "C" {
    fn macho_run_unwind_raise();
    fn macho_run_unwind_resume();
    fn macho_run_unwind_resume_or_rethrow();
    fn macho_run_unwind_forced();
    fn macho_run_unwind_backtrace();
}

extern "C" fn delete_exception(exc: *mut UnwindException) {
    // SAFETY: the program's exception object, with its own cleanup.
    unsafe {
        if let Some(f) = (*exc).exception_cleanup {
            f(FOREIGN_EXCEPTION_CAUGHT, exc);
        }
    }
}

fn ctx<'a>(c: *mut Context) -> &'a mut Context {
    // SAFETY: personality routines and trace callbacks get the context
    // this module made, alive for the call.
    unsafe { &mut *c }
}

extern "C" fn get_gr(c: *mut Context, i: c_int) -> u64 {
    match u16::try_from(i).ok().and_then(|n| ctx(c).regs.get(n)) {
        Some(v) => v,
        None => {
            report(&format!("_Unwind_GetGR of unknown register {i}"));
            0
        }
    }
}

extern "C" fn set_gr(c: *mut Context, i: c_int, v: u64) {
    if !u16::try_from(i).is_ok_and(|n| ctx(c).regs.set(n, v)) {
        report(&format!("_Unwind_SetGR of unknown register {i}"));
    }
}

extern "C" fn get_ip(c: *mut Context) -> u64 {
    ctx(c).regs.pc
}

extern "C" fn get_ip_info(c: *mut Context, before_insn: *mut c_int) -> u64 {
    if !before_insn.is_null() {
        // SAFETY: the caller's int. Frames are never signal frames here.
        unsafe { *before_insn = 0 };
    }
    ctx(c).regs.pc
}

extern "C" fn set_ip(c: *mut Context, v: u64) {
    ctx(c).regs.pc = v;
}

/// libunwind answers with the frame's sp, and so do we.
extern "C" fn get_cfa(c: *mut Context) -> u64 {
    ctx(c).regs.sp()
}

extern "C" fn get_lsda(c: *mut Context) -> u64 {
    ctx(c).frame.map_or(0, |f| f.lsda)
}

extern "C" fn get_region_start(c: *mut Context) -> u64 {
    ctx(c).frame.map_or(0, |f| f.start)
}

extern "C" fn get_rel_base(_c: *mut Context) -> u64 {
    0
}

extern "C" fn find_enclosing_function(pc: u64) -> u64 {
    match find(pc) {
        Ok(Some(f)) => f.start,
        _ => 0,
    }
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        (
            "__Unwind_RaiseException",
            macho_run_unwind_raise as *const () as usize,
        ),
        (
            "__Unwind_Resume",
            macho_run_unwind_resume as *const () as usize,
        ),
        (
            "__Unwind_Resume_or_Rethrow",
            macho_run_unwind_resume_or_rethrow as *const () as usize,
        ),
        (
            "__Unwind_ForcedUnwind",
            macho_run_unwind_forced as *const () as usize,
        ),
        (
            "__Unwind_Backtrace",
            macho_run_unwind_backtrace as *const () as usize,
        ),
        (
            "__Unwind_DeleteException",
            delete_exception as *const () as usize,
        ),
        ("__Unwind_GetGR", get_gr as *const () as usize),
        ("__Unwind_SetGR", set_gr as *const () as usize),
        ("__Unwind_GetIP", get_ip as *const () as usize),
        ("__Unwind_GetIPInfo", get_ip_info as *const () as usize),
        ("__Unwind_SetIP", set_ip as *const () as usize),
        ("__Unwind_GetCFA", get_cfa as *const () as usize),
        (
            "__Unwind_GetLanguageSpecificData",
            get_lsda as *const () as usize,
        ),
        (
            "__Unwind_GetRegionStart",
            get_region_start as *const () as usize,
        ),
        (
            "__Unwind_GetDataRelBase",
            get_rel_base as *const () as usize,
        ),
        (
            "__Unwind_GetTextRelBase",
            get_rel_base as *const () as usize,
        ),
        (
            "__Unwind_FindEnclosingFunction",
            find_enclosing_function as *const () as usize,
        ),
    ]
}
