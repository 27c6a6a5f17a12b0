//! The incremental engine: persistent state beside the output, change
//! detection, in-place patching, slot moves with trampolines (the distributed
//! jump table) and the journal that keeps an interrupted update from leaving a
//! runnable mix.
