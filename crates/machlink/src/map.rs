//! `-map FILE`: the link map ld64 writes: the object files, the output
//! sections, and every symbol with its address, size and file.

use crate::atom::NONE;
use crate::error::{LinkError, Result};
use crate::input::object::ObjectFile;
use crate::layout::{Content, Layout};
use std::fmt::Write as _;
use std::path::Path;

pub fn write_map(
    path: &Path,
    output: &Path,
    arch: &dyn crate::arch::Arch,
    objects: &[ObjectFile],
    layout: &Layout,
) -> Result<()> {
    let mut m = String::new();
    let _ = writeln!(m, "# Path: {}", output.display());
    let _ = writeln!(m, "# Arch: {}", arch.name());
    let _ = writeln!(m, "# Object files:");
    let _ = writeln!(m, "[{:>3}] linker synthesized", 0);
    for (i, o) in objects.iter().enumerate() {
        let _ = writeln!(m, "[{:>3}] {}", i + 1, o.name);
    }
    let _ = writeln!(m, "# Sections:\n# Address\tSize    \tSegment\tSection");
    for s in &layout.sections {
        let _ = writeln!(
            m,
            "0x{:08X}\t0x{:08X}\t{}\t{}",
            s.addr, s.size, s.segname, s.sectname
        );
    }
    let _ = writeln!(m, "# Symbols:\n# Address\tSize    \tFile  Name");
    let mut rows: Vec<(u64, u32, usize, &[u8])> = Vec::new();
    for s in &layout.sections {
        let Content::Atoms(list) = &s.content else {
            let name = match s.content {
                Content::Stubs => "<stubs>",
                Content::Got => "<GOT>",
                Content::ThreadPtrs => "<thread pointers>",
                Content::StubHelper => "<stub helper>",
                _ => "<lazy pointers>",
            };
            rows.push((s.addr, s.size as u32, 0, name.as_bytes()));
            continue;
        };
        for &(f, a) in list {
            let obj = &objects[f as usize];
            let atom = &obj.atoms[a as usize];
            let name = if atom.symbol == NONE {
                &b"<anonymous>"[..]
            } else {
                obj.symbols[atom.symbol as usize].name
            };
            rows.push((
                layout.atom_addr[f as usize][a as usize],
                atom.size,
                f as usize + 1,
                name,
            ));
        }
    }
    rows.sort_by_key(|r| r.0);
    for (addr, size, file, name) in rows {
        let _ = writeln!(
            m,
            "0x{addr:08X}\t0x{size:08X}\t[{file:>3}] {}",
            String::from_utf8_lossy(name)
        );
    }
    std::fs::write(path, m)
        .map_err(|e| LinkError::file(path.display(), format!("cannot write link map: {e}")))
}
