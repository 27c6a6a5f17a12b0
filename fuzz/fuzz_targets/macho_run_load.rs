#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| macho_run::fuzzing::load(data));
