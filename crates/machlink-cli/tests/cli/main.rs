//! machlink end to end: every integration test of the `machlink` command,
//! built as ONE test binary (`cargo test -p machlink-cli --test cli`), one
//! module per subject. A test's name is `module::test_name`, so
//! `cargo test --test cli incremental::` runs one module and the filters
//! of `scripts/test.sh --offline` (`real_projects_`, `fetch_`) still match.
//!
//! The modules share one process and run concurrently (one test thread per
//! core), so they must not touch process-global state: no
//! `std::env::set_var`, no current-directory or umask changes, and a
//! scratch directory name (`testkit::scratch_dir`) used by one test only;
//! testkit panics when two tests claim the same or nested scratch names.
//! Helpers used by several modules live in `testkit::cli`.

mod archives;
mod arm64;
mod corpus;
mod corpus_arm64;
mod crates_io;
mod cxx_programs;
mod damaged_state;
mod debug_map;
mod demo;
mod dylibs;
mod errors;
mod failures;
mod fault_campaign;
mod flags;
mod flat_namespace;
mod incremental;
mod incremental_cxx;
mod incremental_eh_frame;
mod incremental_lsda;
mod incremental_random;
mod incremental_rust;
mod ld64_flags;
mod linker_symbols;
mod lld_parity;
mod objc;
mod option_effects;
mod option_table;
mod output_flags;
mod path_safety;
mod projects;
mod relocations;
mod robustness;
mod rust_programs;
mod semantic_diff;
mod serve;
mod split_corpus;
mod startup;
mod thunks;
mod toolchains;
mod tools;
mod unwind_atoms;
mod unwind_size;
mod update_statistics;
mod verify;
mod weak;
