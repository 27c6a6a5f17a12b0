//! What the deployment target (`-platform_version macos MIN SDK`,
//! `-macos_version_min`) decides about the output, by ld64.lld's rules:
//! whether constant data gets its own `__DATA_CONST` segment, and which
//! load command records the target.

use crate::options::Options;

/// macOS 10.15: the first target whose dyld makes `__DATA_CONST`
/// read-only after fixups; for older targets ld64 and lld keep constant
/// data in `__DATA`.
const DATA_CONST_MACOS: u32 = 0x000a_0f00;

/// macOS 10.14: the first target whose dyld reads LC_BUILD_VERSION;
/// older targets get LC_VERSION_MIN_MACOSX.
const BUILD_VERSION_MACOS: u32 = 0x000a_0e00;

impl Options {
    /// Whether constant data (`__const`, the GOT, initializer lists) goes
    /// to a `__DATA_CONST` segment: `-data_const` / `-no_data_const`, else
    /// lld's default (`dataConstDefault`): not for targets before macOS
    /// 10.15, nor for `-no_pie` executables (`-no_pie` is only kept for
    /// executables, see `check_output_kind`); otherwise yes.
    pub fn data_const(&self) -> bool {
        match self.data_const {
            Some(explicit) => explicit,
            None => self.platform_min >= DATA_CONST_MACOS && self.pie,
        }
    }

    /// Whether the target is recorded as LC_BUILD_VERSION (macOS 10.14
    /// and later) rather than LC_VERSION_MIN_MACOSX, as lld decides.
    pub fn uses_build_version(&self) -> bool {
        self.platform_min >= BUILD_VERSION_MACOS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: u32) -> Options {
        Options {
            platform_min: min,
            ..Options::default()
        }
    }

    #[test]
    fn data_const_follows_the_target_unless_asked() {
        assert!(!at(0x000a_0c00).data_const()); // 10.12, rustc's default
        assert!(!at(0x000a_0e06).data_const()); // 10.14.6
        assert!(at(0x000a_0f00).data_const()); // 10.15
        assert!(at(0x000d_0000).data_const());
        let mut o = at(0x000a_0c00);
        o.data_const = Some(true);
        assert!(o.data_const());
        let mut o = at(0x000f_0000);
        o.data_const = Some(false);
        assert!(!o.data_const());
    }

    #[test]
    fn build_version_from_macos_10_14() {
        assert!(!at(0x000a_0d00).uses_build_version());
        assert!(at(0x000a_0e00).uses_build_version());
        assert!(at(0x000b_0000).uses_build_version());
    }
}
