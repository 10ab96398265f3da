//! The record loop the CSV layouts share: each record after the header with
//! its line number, and the scores of a row's response columns.

use std::io::Read;
use std::path::Path;

use csv::ByteRecord;

use super::read::{csv_error, record_line};
use super::score::{Field, MissingTokens, parse_score};
use crate::error::{Error, Result};

/// Calls `row(record, line)` for each record after the header, in order,
/// reusing one buffer (a row allocates nothing of its own); stops at the
/// first error, `row`'s or the reader's (named with `source`).
pub(crate) fn for_each_record<R: Read>(
    csv: &mut csv::Reader<R>,
    source: &Path,
    mut row: impl FnMut(&ByteRecord, u64) -> Result<()>,
) -> Result<()> {
    let mut record = ByteRecord::new();
    while csv
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(e, source))?
    {
        row(&record, record_line(&record))?;
    }
    Ok(())
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

    fn reader(text: &str) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new().from_reader(text.as_bytes())
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
