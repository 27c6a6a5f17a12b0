//! libSystem's variadic functions (`printf(const char *, ...)`), and those
//! that take a `va_list`, on arm64.
//!
//! On x86_64 macOS and Linux pass `...` the same way (System V), so these
//! bind to glibc like any other function. On arm64 they do not: Apple's
//! ABI puts every variadic argument on the stack, in 8-byte slots starting
//! at the caller's `sp`, and its `va_list` is a plain `char *` into those
//! slots; Linux (AAPCS64) passes variadic arguments in registers first and
//! glibc's `va_list` is a 32-byte structure. A variadic call bound straight
//! to glibc does not crash: it prints whatever the registers hold. So on
//! arm64 every name of [`LIST`] is either shimmed (the entry points of
//! [`stdio`](super::stdio) for the formatted-I/O family, [`fixed_slots`]
//! for the rest) or refused by the binder, naming it
//! ([`crate::LoadError::Refused`]).

#[cfg(target_arch = "aarch64")]
mod apple_abi;
#[cfg(target_arch = "aarch64")]
mod fixed_slots;
mod optional_arg;

#[cfg(all(test, target_arch = "aarch64"))]
pub(crate) use apple_abi::caller;
#[cfg(target_arch = "aarch64")]
pub(crate) use apple_abi::{apple_va_entries, GlibcVaList};

/// libSystem's functions that take `...` or a `va_list` (C names, without
/// the leading underscore of their Mach-O symbols). Generous on purpose:
/// one missing here would be bound blindly to glibc on arm64.
pub const LIST: &[&str] = &[
    // Formatted output and input, on FILEs, strings, descriptors.
    "printf",
    "vprintf",
    "fprintf",
    "vfprintf",
    "sprintf",
    "vsprintf",
    "snprintf",
    "vsnprintf",
    "asprintf",
    "vasprintf",
    "dprintf",
    "vdprintf",
    "scanf",
    "vscanf",
    "fscanf",
    "vfscanf",
    "sscanf",
    "vsscanf",
    "__svfscanf",
    // What clang emits for the string forms under _FORTIFY_SOURCE (the
    // default on macOS), and glibc's names for the same, should a program
    // carry them.
    "__sprintf_chk",
    "__snprintf_chk",
    "__vsprintf_chk",
    "__vsnprintf_chk",
    "__printf_chk",
    "__fprintf_chk",
    "__vprintf_chk",
    "__vfprintf_chk",
    // Wide characters.
    "wprintf",
    "vwprintf",
    "fwprintf",
    "vfwprintf",
    "swprintf",
    "vswprintf",
    "wscanf",
    "vwscanf",
    "fwscanf",
    "vfwscanf",
    "swscanf",
    "vswscanf",
    // The xlocale forms, with an explicit locale.
    "printf_l",
    "vprintf_l",
    "fprintf_l",
    "vfprintf_l",
    "sprintf_l",
    "vsprintf_l",
    "snprintf_l",
    "vsnprintf_l",
    "asprintf_l",
    "vasprintf_l",
    "dprintf_l",
    "vdprintf_l",
    "scanf_l",
    "vscanf_l",
    "fscanf_l",
    "vfscanf_l",
    "sscanf_l",
    "vsscanf_l",
    "wprintf_l",
    "vwprintf_l",
    "fwprintf_l",
    "vfwprintf_l",
    "swprintf_l",
    "vswprintf_l",
    "wscanf_l",
    "vwscanf_l",
    "fwscanf_l",
    "vfwscanf_l",
    "swscanf_l",
    "vswscanf_l",
    "strfmon",
    "strfmon_l",
    // <err.h> and logging.
    "err",
    "verr",
    "errx",
    "verrx",
    "errc",
    "verrc",
    "warn",
    "vwarn",
    "warnx",
    "vwarnx",
    "warnc",
    "vwarnc",
    "syslog",
    "vsyslog",
    "asl_log",
    "asl_vlog",
    "asl_log_message",
    "os_log_with_args",
    "abort_report_np",
    // System calls whose last argument is optional.
    "open",
    "openat",
    "open_dprotected_np",
    "openat_dprotected_np",
    "guarded_open_np",
    "guarded_open_dprotected_np",
    "fcntl",
    "ioctl",
    "shm_open",
    "sem_open",
    "semctl",
    "ulimit",
    "syscall",
    "__syscall",
    // argv (and envp) as a NULL-terminated argument list.
    "execl",
    "execle",
    "execlp",
    // Calls a function with a variadic argument list.
    "makecontext",
    "sandbox_check",
];

/// Whether the Mach-O symbol `name` (`_printf`, `_open$NOCANCEL`) is one
/// of [`LIST`]'s functions.
pub fn is_listed(name: &str) -> bool {
    let Some(c_name) = name.strip_prefix('_') else {
        return false;
    };
    let base = c_name.split_once('$').map_or(c_name, |(base, _)| base);
    LIST.contains(&base)
}

/// Whether an import the host could not resolve is refused because it is
/// variadic, rather than unbound: on arm64 [`crate::shims::Host`] resolves
/// a listed function only to its shim, and one without a shim must not
/// run at all (a trap would stand in for it only until it is called, and
/// a program that imports it means to call it).
pub fn refused(name: &str) -> bool {
    cfg!(target_arch = "aarch64") && is_listed(name)
}

/// The variadic functions that are not formatted I/O (those are
/// [`super::stdio`]'s): on arm64 entry points for Apple's convention; on
/// x86_64, where glibc's functions and the other shims take `...` as macOS
/// passes it, only the ones whose constants need translating.
pub fn table() -> Vec<(&'static str, usize)> {
    #[cfg(target_arch = "aarch64")]
    return fixed_slots::table();
    #[cfg(not(target_arch = "aarch64"))]
    vec![
        ("_ioctl", optional_arg::ioctl as *const () as usize),
        ("_shm_open", optional_arg::shm_open as *const () as usize),
        ("_sem_open", optional_arg::sem_open as *const () as usize),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shims::Host;

    #[test]
    fn listed_names_match_with_underscore_and_any_suffix() {
        assert!(is_listed("_printf"));
        assert!(is_listed("_open$NOCANCEL"));
        assert!(is_listed("_fcntl$UNIX2003"));
        assert!(is_listed("___sprintf_chk"));
        assert!(!is_listed("printf"), "not a C symbol");
        assert!(!is_listed("_puts"));
        assert!(!is_listed("_printfx"));
    }

    #[test]
    fn every_shimmed_variadic_entry_is_on_the_list() {
        for (name, _) in crate::shims::stdio::variadic_table()
            .into_iter()
            .chain(table())
        {
            assert!(
                is_listed(name),
                "{name} is shimmed as variadic but not listed"
            );
        }
    }

    /// On arm64 a listed name resolves to a shim of this module or of
    /// stdio's variadic entry points (never to another shim made for the
    /// x86_64 convention), or to nothing; elsewhere to whatever it did.
    #[test]
    fn listed_names_resolve_only_to_variadic_shims_on_arm64() {
        let host = Host::new();
        let entries: Vec<u64> = crate::shims::stdio::variadic_table()
            .into_iter()
            .chain(table())
            .map(|(_, addr)| addr as u64)
            .collect();
        for c_name in LIST {
            for suffix in ["", "$NOCANCEL", "$UNIX2003"] {
                let name = format!("_{c_name}{suffix}");
                let Some(addr) = host.lookup(&name) else {
                    continue;
                };
                if cfg!(target_arch = "aarch64") {
                    assert!(
                        entries.contains(&addr),
                        "{name} resolves to {addr:#x}, not to an arm64 variadic shim"
                    );
                }
            }
        }
    }

    #[test]
    fn unshimmed_variadic_functions_are_refused_by_name_on_arm64() {
        let host = Host::new();
        // glibc has strfmon and syscall; neither may be bound blindly.
        for name in ["_strfmon", "_syscall"] {
            assert_eq!(refused(name), cfg!(target_arch = "aarch64"), "{name}");
            assert_eq!(
                host.lookup(name).is_none(),
                cfg!(target_arch = "aarch64"),
                "{name}"
            );
        }
        assert!(!refused("_puts"));
        let e = crate::LoadError::Refused {
            file: "prog".into(),
            names: vec!["_strfmon".into(), "_syscall".into()],
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("prog: 2 variadic import(s)") && msg.ends_with(": _strfmon, _syscall"),
            "{msg}"
        );
        assert_eq!(e.exit_status(), crate::EXIT_UNBOUND);
    }
}
