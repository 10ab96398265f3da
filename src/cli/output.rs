//! Writing results: to a file atomically, or to standard output.

use std::io::Write;
use std::path::Path;

use fangsheng::{Error, Result};

/// Writes what `write` produces to `path` atomically (no partial file on
/// error), or to standard output when `path` is `None`.
pub fn emit(path: Option<&Path>, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    match path {
        Some(p) => fangsheng::io::write_atomic(p, write),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            write(&mut lock)?;
            lock.flush().map_err(|e| Error::io("<stdout>", e))
        }
    }
}
