//! Signals: macOS numbers several signals differently (SIGBUS is 10, which
//! is SIGUSR1 on Linux; SIGUSR1 is 30), its `struct sigaction` is
//! { handler, u32 mask, int flags } (16 bytes, glibc's is 152) with other
//! SA_* bits, and its `sigset_t` is one u32. Handlers are installed through
//! a trampoline so the program sees macOS signal numbers.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

/// macOS signal number -> Linux (0: none, e.g. SIGEMT, SIGINFO).
const TO_LINUX: [c_int; 32] = [
    0, 1, 2, 3, 4, 5, 6, 0, 8, 9, 7, 11, 31, 13, 14, 15, 23, 19, 20, 18, 17, 21, 22, 29, 24, 25,
    26, 27, 28, 0, 10, 12,
];

fn to_linux(sig: c_int) -> Option<c_int> {
    TO_LINUX
        .get(usize::try_from(sig).ok()?)
        .copied()
        .filter(|&s| s != 0)
}

fn to_mac(sig: c_int) -> c_int {
    TO_LINUX
        .iter()
        .position(|&l| l == sig && sig != 0)
        .map_or(sig, |m| m as c_int)
}

/// macOS SA_* bits and Linux's.
const SA_FLAGS: &[(c_int, c_int)] = &[
    (0x01, libc::SA_ONSTACK),
    (0x02, libc::SA_RESTART),
    (0x04, libc::SA_RESETHAND),
    (0x08, libc::SA_NOCLDSTOP),
    (0x10, libc::SA_NODEFER),
    (0x20, libc::SA_NOCLDWAIT),
    (0x40, libc::SA_SIGINFO),
];

#[repr(C)]
struct MacSigaction {
    handler: usize,
    mask: u32,
    flags: c_int,
}

/// The program's handler per macOS signal number, called by the trampoline.
static HANDLERS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];

/// macOS `siginfo_t` (104 bytes on both architectures).
#[repr(C)]
struct MacSiginfo {
    signo: c_int,
    errno: c_int,
    code: c_int,
    pid: libc::pid_t,
    uid: libc::uid_t,
    status: c_int,
    addr: *mut c_void,
    value: usize,
    band: i64,
    pad: [u64; 7],
}

const _: () = assert!(std::mem::size_of::<MacSiginfo>() == 104);

/// Linux `si_code`s for signals sent by a process and macOS's numbers
/// (the fault codes, `SEGV_MAPERR` and the like, are the same).
const SI_CODES: &[(c_int, c_int)] = &[
    (libc::SI_USER, 0x10001),
    (libc::SI_QUEUE, 0x10002),
    (libc::SI_TIMER, 0x10003),
    (libc::SI_ASYNCIO, 0x10004),
    (libc::SI_MESGQ, 0x10005),
];

/// The siginfo a macOS handler reads: where a fault happened (Rust's
/// stack-overflow handler compares it with the guard page), who sent it.
unsafe fn mac_siginfo(mac: c_int, info: *const libc::siginfo_t) -> MacSiginfo {
    let i = &*info;
    let code = SI_CODES
        .iter()
        .find(|(l, _)| *l == i.si_code)
        .map_or(i.si_code, |&(_, m)| m);
    let faults = [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
    ];
    let (addr, pid, uid, status) = if faults.contains(&i.si_signo) {
        (i.si_addr(), 0, 0, 0)
    } else if i.si_signo == libc::SIGCHLD {
        (std::ptr::null_mut(), i.si_pid(), i.si_uid(), i.si_status())
    } else {
        (std::ptr::null_mut(), i.si_pid(), i.si_uid(), 0)
    };
    MacSiginfo {
        signo: mac,
        errno: i.si_errno,
        code,
        pid,
        uid,
        status,
        addr,
        value: 0,
        band: 0,
        pad: [0; 7],
    }
}

extern "C" fn trampoline(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let mac = to_mac(sig);
    let h = HANDLERS[mac as usize].load(Ordering::Relaxed);
    if h > 1 {
        // SAFETY: the kernel passes a valid siginfo (or none).
        let mut mac_info = (!info.is_null()).then(|| unsafe { mac_siginfo(mac, info) });
        let info = mac_info.as_mut().map_or(std::ptr::null_mut(), |i| {
            (i as *mut MacSiginfo).cast::<c_void>()
        });
        // SAFETY: h is the program's handler; a one-argument handler
        // ignores the extra argument registers. (The context keeps Linux's layout.)
        let f: extern "C" fn(c_int, *mut c_void, *mut c_void) = unsafe { std::mem::transmute(h) };
        f(mac, info, ctx);
    }
}

/// macOS `stack_t`: { sp, size, flags } (Linux's is { sp, flags, size }).
#[repr(C)]
struct MacStack {
    sp: *mut c_void,
    size: usize,
    flags: c_int,
}

/// macOS SS_ONSTACK and SS_DISABLE, and Linux's.
const SS_FLAGS: &[(c_int, c_int)] = &[(1, libc::SS_ONSTACK), (4, libc::SS_DISABLE)];

unsafe extern "C" fn sigaltstack(new: *const MacStack, old: *mut MacStack) -> c_int {
    let convert = |flags: c_int, to_linux: bool| {
        SS_FLAGS
            .iter()
            .map(|&(m, l)| if to_linux { (m, l) } else { (l, m) })
            .filter(|(from, _)| flags & from != 0)
            .fold(0, |acc, (_, to)| acc | to)
    };
    let linux_new = (!new.is_null()).then(|| libc::stack_t {
        ss_sp: (*new).sp,
        ss_flags: convert((*new).flags, true),
        ss_size: (*new).size,
    });
    let mut prev: libc::stack_t = std::mem::zeroed();
    let rc = libc::sigaltstack(
        linux_new.as_ref().map_or(std::ptr::null(), |s| s),
        &mut prev,
    );
    if rc == 0 && !old.is_null() {
        old.write(MacStack {
            sp: prev.ss_sp,
            size: prev.ss_size,
            flags: convert(prev.ss_flags, false),
        });
    }
    rc
}

pub(super) unsafe fn linux_set(mask: u32) -> libc::sigset_t {
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    for mac in 1..32 {
        if mask & (1 << (mac - 1)) != 0 {
            if let Some(l) = to_linux(mac) {
                libc::sigaddset(&mut set, l);
            }
        }
    }
    set
}

unsafe fn mac_set(set: &libc::sigset_t) -> u32 {
    (1..32)
        .filter(|&mac| to_linux(mac).is_some_and(|l| libc::sigismember(set, l) == 1))
        .fold(0, |acc, mac| acc | 1 << (mac - 1))
}

fn einval() -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = libc::EINVAL };
    -1
}

unsafe extern "C" fn sigaction(
    sig: c_int,
    act: *const MacSigaction,
    old: *mut MacSigaction,
) -> c_int {
    if !(1..32).contains(&sig) {
        return einval();
    }
    let slot = &HANDLERS[sig as usize];
    let Some(lsig) = to_linux(sig) else {
        // No such signal on Linux: remember the handler; it never runs.
        if !old.is_null() {
            old.write(MacSigaction {
                handler: slot.load(Ordering::Relaxed),
                mask: 0,
                flags: 0,
            });
        }
        if !act.is_null() {
            slot.store((*act).handler, Ordering::Relaxed);
        }
        return 0;
    };
    let mut new: libc::sigaction = std::mem::zeroed();
    if !act.is_null() {
        let a = &*act;
        new.sa_sigaction = if a.handler <= 1 {
            a.handler
        } else {
            trampoline as *const () as usize
        };
        new.sa_mask = linux_set(a.mask);
        new.sa_flags = SA_FLAGS
            .iter()
            .filter(|(m, _)| a.flags & m != 0)
            .fold(0, |acc, (_, l)| acc | l);
        if a.handler > 1 {
            new.sa_flags |= libc::SA_SIGINFO;
        }
    }
    let mut prev: libc::sigaction = std::mem::zeroed();
    let rc = libc::sigaction(
        lsig,
        if act.is_null() {
            std::ptr::null()
        } else {
            &new
        },
        &mut prev,
    );
    if rc != 0 {
        return rc;
    }
    if !old.is_null() {
        let handler = if prev.sa_sigaction == trampoline as *const () as usize {
            slot.load(Ordering::Relaxed)
        } else {
            prev.sa_sigaction
        };
        let flags = SA_FLAGS
            .iter()
            .filter(|(_, l)| prev.sa_flags & l != 0)
            .fold(0, |acc, (m, _)| acc | m);
        old.write(MacSigaction {
            handler,
            mask: mac_set(&prev.sa_mask),
            flags,
        });
    }
    if !act.is_null() {
        slot.store((*act).handler, Ordering::Relaxed);
    }
    0
}

/// BSD `signal`: handlers stay installed and interrupted calls restart.
unsafe extern "C" fn signal(sig: c_int, handler: usize) -> usize {
    let act = MacSigaction {
        handler,
        mask: 0,
        flags: 0x02,
    };
    let mut old = MacSigaction {
        handler: 0,
        mask: 0,
        flags: 0,
    };
    if sigaction(sig, &act, &mut old) != 0 {
        return usize::MAX; // SIG_ERR
    }
    old.handler
}

unsafe extern "C" fn raise(sig: c_int) -> c_int {
    match to_linux(sig) {
        Some(l) => libc::raise(l),
        None => einval(),
    }
}

unsafe extern "C" fn kill(pid: libc::pid_t, sig: c_int) -> c_int {
    match if sig == 0 { Some(0) } else { to_linux(sig) } {
        Some(l) => libc::kill(pid, l),
        None => einval(),
    }
}

unsafe extern "C" fn sigprocmask(how: c_int, set: *const u32, old: *mut u32) -> c_int {
    // SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK are 1, 2, 3 on macOS, 0, 1, 2 on Linux.
    let lset = if set.is_null() {
        None
    } else {
        Some(linux_set(*set))
    };
    let mut prev: libc::sigset_t = std::mem::zeroed();
    let rc = libc::pthread_sigmask(
        how - 1,
        lset.as_ref().map_or(std::ptr::null(), |s| s),
        &mut prev,
    );
    if rc != 0 {
        *libc::__errno_location() = rc;
        return -1;
    }
    if !old.is_null() {
        *old = mac_set(&prev);
    }
    0
}

/// `pthread_sigmask` returns the error number instead of setting errno.
unsafe extern "C" fn pthread_sigmask(how: c_int, set: *const u32, old: *mut u32) -> c_int {
    if sigprocmask(how, set, old) == 0 {
        0
    } else {
        *libc::__errno_location()
    }
}

// The sigset_t helpers are macros in macOS's <signal.h>, but libSystem
// exports them too; glibc's would write 128 bytes into a 4-byte set.
unsafe extern "C" fn sigemptyset(set: *mut u32) -> c_int {
    *set = 0;
    0
}
unsafe extern "C" fn sigfillset(set: *mut u32) -> c_int {
    *set = u32::MAX;
    0
}
unsafe extern "C" fn sigaddset(set: *mut u32, sig: c_int) -> c_int {
    if !(1..32).contains(&sig) {
        return einval();
    }
    *set |= 1 << (sig - 1);
    0
}
unsafe extern "C" fn sigdelset(set: *mut u32, sig: c_int) -> c_int {
    if !(1..32).contains(&sig) {
        return einval();
    }
    *set &= !(1 << (sig - 1));
    0
}
unsafe extern "C" fn sigismember(set: *const u32, sig: c_int) -> c_int {
    if !(1..32).contains(&sig) {
        return einval();
    }
    ((*set >> (sig - 1)) & 1) as c_int
}

pub fn table() -> Vec<(&'static str, usize)> {
    vec![
        ("_sigaction", sigaction as *const () as usize),
        ("_sigaltstack", sigaltstack as *const () as usize),
        ("_signal", signal as *const () as usize),
        ("_raise", raise as *const () as usize),
        ("_kill", kill as *const () as usize),
        ("_sigprocmask", sigprocmask as *const () as usize),
        ("_pthread_sigmask", pthread_sigmask as *const () as usize),
        ("_sigemptyset", sigemptyset as *const () as usize),
        ("_sigfillset", sigfillset as *const () as usize),
        ("_sigaddset", sigaddset as *const () as usize),
        ("_sigdelset", sigdelset as *const () as usize),
        ("_sigismember", sigismember as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI32;

    static SEEN: AtomicI32 = AtomicI32::new(0);
    extern "C" fn record(sig: c_int) {
        SEEN.store(sig, Ordering::SeqCst);
    }

    #[test]
    fn numbers_round_trip() {
        for mac in 1..32 {
            if let Some(l) = to_linux(mac) {
                assert_eq!(to_mac(l), mac);
            }
        }
        assert_eq!(to_linux(10), Some(libc::SIGBUS));
        assert_eq!(to_linux(30), Some(libc::SIGUSR1));
    }

    #[test]
    fn handler_sees_the_macos_number() {
        // SAFETY: installs a handler for SIGUSR2 (macOS 31) and raises it.
        unsafe {
            let old = signal(31, record as *const () as usize);
            assert_eq!(old, 0, "SIG_DFL before");
            assert_eq!(raise(31), 0);
            assert_eq!(SEEN.load(Ordering::SeqCst), 31);
            assert_eq!(signal(31, 0), record as *const () as usize);
        }
    }
}
