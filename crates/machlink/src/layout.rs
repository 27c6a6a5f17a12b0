//! Assigning addresses: sections into segments, atoms into sections, with
//! slot headroom and reserved address space when linking incrementally.
