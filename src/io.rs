//! File helpers shared by every reader and writer: transparent gzip input,
//! atomic output (a file is either fully written or left as it was), the
//! one spelling of a number in a CSV cell ([`csv_float`]) and the one digest
//! of file contents ([`sha256_hex`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

/// `bytes` as a gzip stream that depends on nothing but `bytes`: no
/// timestamp or file name in the header, operating system "unknown", and
/// miniz_oxide's deflate at level 9 whatever backend flate2 was built with.
pub fn gzip_stable(bytes: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, mtime 0, XFL 2 (best), OS 255.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
    out.extend(miniz_oxide::deflate::compress_to_vec(bytes, 9));
    out.extend(crc32fast::hash(bytes).to_le_bytes());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.extend((bytes.len() as u32).to_le_bytes());
    out
}

/// Lower-case hex SHA-256 of `bytes`: how calibrations, banks, journals and
/// exports name the exact contents they were made from.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens `path` for buffered reading, decompressing it when it is gzip
/// (detected from the magic bytes, not the name).
pub fn open_read(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let magic = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads a whole (possibly gzipped) text file.
pub fn read_to_string(path: &Path) -> Result<String> {
    let mut s = String::new();
    open_read(path)?
        .read_to_string(&mut s)
        .map_err(|e| Error::io(path, e))?;
    Ok(s)
}

/// Writes `path` atomically: `write` fills a temporary file beside it, which
/// is flushed, synced and renamed over `path` only if `write` succeeds. On any
/// error the temporary file is removed and an existing `path` is untouched.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let dir = folder_of(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut buf = std::io::BufWriter::new(file);
        write(&mut buf)?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The folder `path` sits in (`.` for a bare file name).
fn folder_of(path: &Path) -> std::path::PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Checks, before a long job, that [`write_atomic`] will be able to write
/// `path` when the job ends: `path` is not a directory, and the nearest
/// existing folder on its way (its parent, or the ancestor `write_atomic`
/// would create the rest under) takes a new file. Creates nothing that
/// stays: a probe file is made and removed.
///
/// # Errors
/// [`ErrorKind::Io`](crate::ErrorKind::Io) naming `path` (or the folder)
/// and the reason.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::other("is a directory, not a file"),
        ));
    }
    let mut dir = folder_of(path);
    while !dir.exists() {
        dir = folder_of(&dir);
    }
    if !dir.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::other(format!("{} is not a folder", dir.display())),
        ));
    }
    let probe = dir.join(format!(".fangsheng-probe-{}", std::process::id()));
    File::create(&probe).map_err(|e| Error::io(path, e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes `value` as pretty-printed JSON with a final newline to `path`,
/// atomically ([`write_atomic`]); `what` names the document in an encoding
/// error (`cannot encode the {what}`).
pub fn write_json_atomic<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
    what: &str,
) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)
            .map_err(|e| Error::format(format!("cannot encode the {what}: {e}")))?;
        w.write_all(b"\n").map_err(|e| Error::io(path, e))
    })
}

/// Writes a CSV table: `header`, then `rows` (each as many fields);
/// `what` names the output in an I/O error.
///
/// # Errors
/// A failed write ([`ErrorKind::Io`](crate::ErrorKind::Io)).
pub fn write_csv_rows(
    w: &mut dyn Write,
    what: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<()> {
    let csv_err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header).map_err(csv_err)?;
    for row in rows {
        out.write_record(&row).map_err(csv_err)?;
    }
    out.flush().map_err(|e| Error::io(what, e))
}

/// A number as a CSV cell: `x` with `decimals` digits after the point, or an
/// empty cell when `x` is not finite. A missing or undefined value (an
/// infinite standard error, no estimate) is thereby an empty cell, which
/// every CSV reader (polars, pandas, R, this crate's) takes as missing,
/// where `NaN` or `inf` would be read as text or as a number.
///
/// ```
/// use fangsheng::io::csv_float;
/// assert_eq!(csv_float(0.123_456_78, 6), "0.123457");
/// assert_eq!(csv_float(-2.0, 3), "-2.000");
/// assert_eq!(csv_float(f64::INFINITY, 6), "");
/// assert_eq!(csv_float(f64::NAN, 6), "");
/// ```
pub fn csv_float(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_checks_refuse_folders_and_files_in_the_way_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // A file whose folders do not exist yet is fine: write_atomic makes them.
        check_writable(&dir.path().join("new/sub/out.csv")).unwrap();
        assert!(
            !dir.path().join("new").exists(),
            "the check creates nothing"
        );
        let e = check_writable(dir.path()).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        // A plain file where a folder should be.
        let blocker = dir.path().join("plain");
        std::fs::write(&blocker, "x").unwrap();
        let e = check_writable(&blocker.join("out.csv")).unwrap_err();
        assert!(e.to_string().contains("is not a folder"), "{e}");
        assert!(e.to_string().contains("out.csv"), "names the output: {e}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the blocker remains");
    }

    #[test]
    fn failed_write_leaves_existing_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::value("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&path, |w| {
            w.write_all(b"new").map_err(|e| Error::io(&path, e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn gzip_is_detected_by_content() {
        use flate2::{Compression, write::GzEncoder};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain-name.csv");
        let mut enc = GzEncoder::new(File::create(&path).unwrap(), Compression::fast());
        enc.write_all(b"a,b\n1,2\n").unwrap();
        enc.finish().unwrap();
        assert_eq!(read_to_string(&path).unwrap(), "a,b\n1,2\n");
    }
}
