//! Atoms: the unit of layout. An atom is a contiguous piece of a section
//! (a function, a data object, a literal) with its relocations; incremental
//! updates replace, grow, move or free atoms one at a time.
