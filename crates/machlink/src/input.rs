//! Reading inputs: MH_OBJECT files split into atoms, static archives
//! pulled on demand, TAPI text stubs (.tbd), binary dylibs and universal (fat)
//! files.
