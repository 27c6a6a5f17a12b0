//! Static archives: the symbol table says which member defines which
//! symbol, so members are parsed only when resolution needs them (or all of
//! them under `-all_load` / `-force_load`).

use crate::error::{LinkError, Result};
use object::read::archive::ArchiveFile;

/// An archive's members and its symbol index.
pub struct Archive<'a> {
    pub name: String,
    /// (member name, member data, modification time), in archive order.
    pub members: Vec<(String, &'a [u8], u64)>,
    /// (symbol name, index into `members`).
    pub symbols: Vec<(&'a [u8], u32)>,
    /// `-load_hidden` / `-hidden-l`: members' globals become private externs.
    pub hidden: bool,
}

impl<'a> Archive<'a> {
    pub fn parse(data: &'a [u8], name: String) -> Result<Archive<'a>> {
        let err = |e: object::Error| LinkError::file(&name, format!("malformed archive: {e}"));
        let ar = ArchiveFile::parse(data).map_err(err)?;
        let mut members = Vec::new();
        let mut by_offset = std::collections::HashMap::new();
        for m in ar.members() {
            let m = m.map_err(err)?;
            let mname = String::from_utf8_lossy(m.name()).into_owned();
            if mname.starts_with("__.SYMDEF") || mname == "/" || mname == "//" {
                continue;
            }
            let (offset, _) = m.file_range();
            by_offset.insert(offset, members.len() as u32);
            members.push((mname, m.data(data).map_err(err)?, m.date().unwrap_or(0)));
        }
        let mut symbols = Vec::new();
        if let Some(table) = ar.symbols().map_err(err)? {
            for sym in table {
                let sym = sym.map_err(err)?;
                // The table records member header offsets; key by data offset.
                let offset = sym.offset().0;
                let index = ar
                    .member(sym.offset())
                    .ok()
                    .and_then(|m| by_offset.get(&m.file_range().0).copied())
                    .ok_or_else(|| LinkError::file(&name, format!("symbol table entry points at offset {offset:#x}, which is no member")))?;
                symbols.push((sym.name(), index));
            }
        }
        Ok(Archive {
            name,
            members,
            symbols,
            hidden: false,
        })
    }

    /// `archive.a(member.o)`, as diagnostics name a member.
    pub fn member_name(&self, index: u32) -> String {
        format!("{}({})", self.name, self.members[index as usize].0)
    }
}
