//! Link errors. A failed link reports every problem it found (all undefined
//! and duplicate symbols, not just the first), each naming the file and
//! where in it, in the form users know from lld.

use std::fmt;

/// One or more errors that stop the link.
#[derive(Debug)]
pub struct LinkError {
    /// Each message is one complete diagnostic, possibly several lines.
    pub messages: Vec<String>,
}

impl LinkError {
    /// A command-line problem.
    pub fn usage(what: impl Into<String>) -> LinkError {
        LinkError {
            messages: vec![what.into()],
        }
    }

    /// A problem with one input file.
    pub fn file(file: impl fmt::Display, what: impl fmt::Display) -> LinkError {
        LinkError {
            messages: vec![format!("{file}: {what}")],
        }
    }

    /// Collects many diagnostics; None when there are none.
    pub fn many(messages: Vec<String>) -> Option<LinkError> {
        (!messages.is_empty()).then_some(LinkError { messages })
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LinkError {}

pub type Result<T> = std::result::Result<T, LinkError>;
