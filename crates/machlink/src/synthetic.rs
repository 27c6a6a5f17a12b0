//! Synthetic sections the linker creates: __stubs, __got, __la_symbol_ptr
//! and __stub_helper, __thread_ptrs, merged literals and __unwind_info.
