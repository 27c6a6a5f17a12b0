//! The global symbol table and resolution: strong, weak and tentative
//! definitions, private externs, weak imports, and the lld-style reporting of
//! undefined and duplicate symbols.
