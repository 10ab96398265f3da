//! The library's one error type.
//!
//! Every error carries a [`ErrorKind`] and, where it is known, the position of
//! the problem: the file, the line (1-based, counting the header) and the item
//! id. Its `Display` puts them in the order a person looks for them:
//! `responses.csv:17: item 'q42': score 3 is outside the item's categories 0..1`.

use std::fmt;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, broadly; the message says exactly what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file failed.
    Io,
    /// A file is not well-formed (CSV, JSON, TOML syntax; missing columns).
    Format,
    /// A value is well-formed but not acceptable (non-numeric, out of range).
    Value,
    /// An item parameter violates its model's constraints.
    Param,
    /// An item id is not in the bank or parameter set, or appears twice.
    Item,
    /// Options or a plan contradict each other or name unknown things.
    Config,
    /// A numerical procedure could not produce a result.
    Numeric,
}

/// An error with the place it happened.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    line: Option<u64>,
    item: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a message saying what is wrong.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            path: None,
            line: None,
            item: None,
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::Value`].
    pub fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }

    /// Shorthand for [`ErrorKind::Format`].
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, message)
    }

    /// Shorthand for [`ErrorKind::Param`].
    pub fn param(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Param, message)
    }

    /// Shorthand for [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// An I/O failure on `path`. The I/O error's text becomes the message
    /// (not also a source, which would print it twice in an error chain).
    pub fn io(path: impl AsRef<Path>, err: std::io::Error) -> Self {
        let mut e = Self::new(ErrorKind::Io, err.to_string());
        e.path = Some(path.as_ref().to_path_buf());
        e
    }

    /// Attach the file the problem is in (kept if one is already set).
    pub fn in_file(mut self, path: impl AsRef<Path>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Attach the 1-based line number (kept if one is already set).
    pub fn at_line(mut self, line: u64) -> Self {
        if self.line.is_none() {
            self.line = Some(line);
        }
        self
    }

    /// Attach the item id (kept if one is already set).
    pub fn for_item(mut self, id: impl Into<String>) -> Self {
        if self.item.is_none() {
            self.item = Some(id.into());
        }
        self
    }

    /// Attach an underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The broad kind of problem.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file the problem is in, when known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line of the problem, when known.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The item concerned, when known.
    pub fn item(&self) -> Option<&str> {
        self.item.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{}: ", p.display(), l)?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {}: ", l)?,
            (None, None) => {}
        }
        if let Some(item) = &self.item {
            write!(f, "item '{}': ", item)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_file_line_item_then_message() {
        let e = Error::value("score 3 is outside the item's categories 0..1")
            .for_item("q42")
            .at_line(17)
            .in_file("responses.csv");
        assert_eq!(
            e.to_string(),
            "responses.csv:17: item 'q42': score 3 is outside the item's categories 0..1"
        );
        assert_eq!(e.kind(), ErrorKind::Value);
    }

    #[test]
    fn inner_position_wins_over_outer() {
        let e = Error::format("bad").at_line(3).at_line(9);
        assert_eq!(e.line(), Some(3));
    }
}
