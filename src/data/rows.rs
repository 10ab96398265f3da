//! The record loop the CSV layouts share: each record after the header with
//! its line number, and the scores of a row's response columns.
//!
//! The csv crate's own line numbers are wrong after an empty line
//! (BurntSushi/rust-csv#208) and in files with `\r\n` line ends (each
//! `\r\n` counts as one line end and an empty line), so errors would name
//! the wrong line. [`LineTracked`] counts lines on the bytes' way to the
//! parser and gives each record the line its content starts on.

use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;

use csv::{ByteRecord, StringRecord};

use super::read::{csv_error_on, record_line};
use super::score::{Field, MissingTokens, parse_score};
use crate::error::{Error, Result};

/// A reader that notes where each line's content starts as the bytes pass
/// to the parser: (byte offset of the line's first byte that is not `\r`
/// or `\n`, line number). Entries are dropped as records are looked up in
/// order, so it holds about one parser buffer's worth of lines.
#[derive(Debug)]
pub(crate) struct LineTracked<R> {
    inner: R,
    /// Offset of the next byte.
    offset: u64,
    /// 1-based number of the line the next byte belongs to.
    line: u64,
    /// True once the current line has a byte other than `\r` / `\n`.
    has_content: bool,
    starts: VecDeque<(u64, u64)>,
}

impl<R: Read> LineTracked<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineTracked {
            inner,
            offset: 0,
            line: 1,
            has_content: false,
            starts: VecDeque::new(),
        }
    }

    /// The line of the record the parser placed at byte `byte`. The
    /// parser's offset may point at the line ends before the record (after
    /// a `\r\n` or an empty line), so this is the first line with content
    /// at or after it. Calls must come in increasing `byte` order;
    /// `fallback` is used if the record's bytes were never seen.
    pub(crate) fn record_line(&mut self, byte: u64, fallback: u64) -> u64 {
        while self.starts.front().is_some_and(|&(at, _)| at < byte) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(fallback, |&(_, line)| line)
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.line += 1;
                self.has_content = false;
            } else if b != b'\r' && !self.has_content {
                self.has_content = true;
                self.starts.push_back((self.offset, self.line));
            }
            self.offset += 1;
        }
    }
}

impl<R: Read> Read for LineTracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

/// Calls `row(record, line)` for each record after the header, in order,
/// reusing one buffer (a row allocates nothing of its own); stops at the
/// first error, `row`'s or the reader's (named with `source`).
pub(crate) fn for_each_record<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    source: &Path,
    mut row: impl FnMut(&ByteRecord, u64) -> Result<()>,
) -> Result<()> {
    let mut record = ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {
                let line = line_of(csv, record.position()).unwrap_or_else(|| record_line(&record));
                row(&record, line)?;
            }
            Ok(false) => return Ok(()),
            Err(e) => {
                let line = line_of(csv, e.position());
                return Err(csv_error_on(e, source, line));
            }
        }
    }
}

/// Reads the next record of `csv` into `record`: `Ok(Some(line))` with the
/// line its content starts on, `Ok(None)` at the end, or the parser's error
/// with the line it happened on (for readers outside this module).
pub(crate) fn next_record<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    record: &mut StringRecord,
) -> std::result::Result<Option<u64>, (csv::Error, Option<u64>)> {
    match csv.read_record(record) {
        Ok(true) => Ok(Some(line_of(csv, record.position()).unwrap_or(0))),
        Ok(false) => Ok(None),
        Err(e) => {
            let line = line_of(csv, e.position());
            Err((e, line))
        }
    }
}

/// The line of a parser position, corrected by the tracker.
fn line_of<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    position: Option<&csv::Position>,
) -> Option<u64> {
    let (byte, line) = position.map(|p| (p.byte(), p.line()))?;
    Some(csv.get_mut().record_line(byte, line))
}

/// The 0-based index of the next row as a matrix index, given `n` rows so
/// far.
pub(crate) fn row_index(n: usize, line: u64) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::value("more than 2^32 rows").at_line(line))
}

/// Parses the response fields `cols` of `record`, calling `score(k, s)` for
/// each observed score of `cols[k]` (missing ones are passed over). The
/// first field that is not a score stops it with `Err((k, message))`, for
/// the caller to name the examinee, item and line.
pub(crate) fn row_scores(
    record: &ByteRecord,
    cols: &[usize],
    missing: &MissingTokens,
    mut score: impl FnMut(usize, u8),
) -> std::result::Result<(), (usize, String)> {
    for (k, &c) in cols.iter().enumerate() {
        match parse_score(record.get(c).unwrap_or_default(), missing) {
            Ok(Field::Score(s)) => score(k, s),
            Ok(Field::Missing) => {}
            Err(msg) => return Err((k, msg)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> csv::Reader<LineTracked<&[u8]>> {
        csv::ReaderBuilder::new().from_reader(LineTracked::new(text.as_bytes()))
    }

    fn lines(text: &str) -> Vec<(String, u64)> {
        let mut seen = Vec::new();
        for_each_record(&mut reader(text), Path::new("f.csv"), |r, line| {
            seen.push((String::from_utf8(r.get(0).unwrap().to_vec()).unwrap(), line));
            Ok(())
        })
        .unwrap();
        seen
    }

    #[test]
    fn records_after_empty_lines_get_their_own_line() {
        // Each record's first field is the line it is on.
        let want =
            |v: &[u64]| -> Vec<(String, u64)> { v.iter().map(|&l| (l.to_string(), l)).collect() };
        assert_eq!(lines("h\n2\n\n4\n5\n"), want(&[2, 4, 5]));
        assert_eq!(lines("h\n2\n\n\n\n6\n7\n\n9"), want(&[2, 6, 7, 9]));
        assert_eq!(lines("h\r\n2\r\n\r\n4\r\n\r\n\r\n7\r\n"), want(&[2, 4, 7]));
        // A quoted field spanning lines, and an empty line inside one.
        let text = "h,x\n2,\"a\n\nb\"\n\n6,y\n";
        let got: Vec<u64> = lines(text).into_iter().map(|(_, l)| l).collect();
        assert_eq!(got, vec![2, 6]);
        // An empty line straight after the header.
        assert_eq!(lines("h\n\n3\n"), want(&[3]));
    }

    #[test]
    fn large_inputs_cross_buffer_boundaries() {
        // Empty lines placed around the csv reader's buffer size.
        let mut text = String::from("h,x\n");
        let mut line = 2u64;
        let mut want = Vec::new();
        for i in 0..20_000u64 {
            if i % 997 == 0 {
                text.push('\n');
                line += 1;
            }
            text.push_str(&format!("{line},{}\n", "z".repeat((i % 13) as usize)));
            want.push(line);
            line += 1;
        }
        let got: Vec<u64> = lines(&text)
            .into_iter()
            .map(|(f, l)| {
                assert_eq!(f, l.to_string());
                l
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn records_come_with_their_lines_and_errors_stop_the_loop() {
        let mut csv = reader("a,b\n1,2\n3,4\n5,6\n7,8\n");
        let mut seen = Vec::new();
        let e = for_each_record(&mut csv, Path::new("f.csv"), |r, line| {
            seen.push((r.get(0).unwrap().to_vec(), line));
            if line == 4 {
                return Err(Error::value("stop").at_line(line));
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.line(), Some(4));
        // Line 4 was read, then the loop stopped: 5 never was.
        assert_eq!(
            seen,
            vec![(b"1".to_vec(), 2), (b"3".to_vec(), 3), (b"5".to_vec(), 4)]
        );
    }

    #[test]
    fn row_scores_pass_over_missing_and_name_the_bad_column() {
        let missing = MissingTokens::new(&[]);
        let record = ByteRecord::from(vec!["id", "1", "NA", "0", "x"]);
        let mut got = Vec::new();
        let err = row_scores(&record, &[1, 2, 3, 4], &missing, |k, s| got.push((k, s)));
        assert_eq!(got, vec![(0, 1), (2, 0)]);
        assert_eq!(err.unwrap_err().0, 3);
        assert!(row_scores(&record, &[1, 2, 3], &missing, |_, _| {}).is_ok());
        assert_eq!(row_index(7, 2).unwrap(), 7);
        assert!(row_index(usize::MAX, 2).is_err());
    }
}
