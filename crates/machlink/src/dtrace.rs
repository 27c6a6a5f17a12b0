//! DTrace static probes (USDT). A probe site in an object is a call to an
//! undefined `___dtrace_probe$PROVIDER$NAME$...` symbol, and an is-enabled
//! test a call to `___dtrace_isenabled$...`. As ld64 and lld do, the
//! linker defines these names itself (they are never imports nor undefined
//! symbol errors) and rewrites each call site in place: a probe becomes
//! no-ops and an is-enabled test returns 0, until the kernel patches the
//! sites at run time. No DOF section describing the probes is generated
//! (as lld; `-dtrace FILE` is refused).

/// What a call to a DTrace symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeCall {
    /// `___dtrace_probe...`: fires the probe.
    Probe,
    /// `___dtrace_isenabled...`: whether the probe is enabled (an int).
    IsEnabled,
}

impl ProbeCall {
    /// Reads a symbol name; None for names that are not DTrace's. lld
    /// matches the prefixes alone, so does machlink.
    pub fn of(name: &[u8]) -> Option<ProbeCall> {
        if name.starts_with(b"___dtrace_probe") {
            Some(ProbeCall::Probe)
        } else if name.starts_with(b"___dtrace_isenabled") {
            Some(ProbeCall::IsEnabled)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProbeCall;

    #[test]
    fn probe_names_are_recognised_by_prefix() {
        assert_eq!(
            ProbeCall::of(b"___dtrace_probe$prov$hit$v1$696e74"),
            Some(ProbeCall::Probe)
        );
        assert_eq!(
            ProbeCall::of(b"___dtrace_isenabled$prov$hit$v1"),
            Some(ProbeCall::IsEnabled)
        );
        assert_eq!(ProbeCall::of(b"___dtrace_other$x"), None);
        assert_eq!(ProbeCall::of(b"_dtrace_probe"), None);
    }
}
