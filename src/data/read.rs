//! Reading response files (CSV, optionally gzipped) into a [`ResponseMatrix`].
//!
//! Two layouts are understood:
//!
//! - **long**: one row per examinee x item, with an examinee, an item and a
//!   score column (found by name; other columns are ignored). This is how
//!   LLM evaluation harnesses log runs.
//! - **wide**: one row per examinee, one column per item, optionally an id
//!   column and a frequency-weight column (pattern tables such as LSAT7).
//!   With [`ReadOptions::transpose`] rows are items and columns examinees.
//!
//! [`Layout::Auto`] picks long when the header names an examinee, an item
//! and a score column, else wide. Blank cells and `NA`, `NaN`, `nan`, `.`
//! (plus [`ReadOptions::missing`]) mean "not administered". Every problem is
//! reported with the file and 1-based line (the header is line 1).

use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::io::open_read;

use super::rows::LineTracked;
use super::score::MissingTokens;
use super::{long, wide};

/// How the rows and columns of a response file are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Long when the header has examinee, item and score columns, else wide.
    #[default]
    Auto,
    /// One row per examinee x item response.
    Long,
    /// One row per examinee (or per item, with `transpose`), one column per item.
    Wide,
}

impl FromStr for Layout {
    type Err = Error;

    /// Parses `auto`, `long` or `wide` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Layout::Auto),
            "long" => Ok(Layout::Long),
            "wide" => Ok(Layout::Wide),
            _ => Err(Error::config(format!(
                "unknown layout '{s}' (expected auto, long or wide)"
            ))),
        }
    }
}

/// How to read a response file. The default reads any layout with the
/// usual column names.
///
/// Options that only make sense for one layout (`examinee_col`, `item_col`,
/// `score_col` for long; `id_col`, `weight_col`, `transpose` for wide) also
/// select that layout under [`Layout::Auto`]; mixing the two kinds, or giving
/// one kind with the other layout, is a [`ErrorKind::Config`](crate::ErrorKind::Config) error.
#[derive(Default, Clone, Debug)]
pub struct ReadOptions {
    /// Which layout the file has.
    pub layout: Layout,
    /// Long: name of the examinee column (default: `model`, `examinee`,
    /// `examinee_id`, `person` or `subject`).
    pub examinee_col: Option<String>,
    /// Long: name of the item column (default: `item`, `item_id` or `question_id`).
    pub item_col: Option<String>,
    /// Long: name of the score column (default: `score`, `correct`, `x` or `response`).
    pub score_col: Option<String>,
    /// Wide: name of the examinee id column. Default: a column with an empty
    /// name (as R and pandas write row names) or named `id`, `examinee`,
    /// `model` or `person`; with none, rows are named `row1`, `row2`, ...
    /// With `transpose` it names the item id column (default: the first column).
    pub id_col: Option<String>,
    /// Wide: name of the frequency-weight column. Default: a column named
    /// `freq`, `frequency`, `weight` or `count` (any case); with none, every
    /// row has weight 1.
    pub weight_col: Option<String>,
    /// Wide: rows are items and columns examinees (e.g. the ChemBench matrix).
    pub transpose: bool,
    /// Tokens meaning "not administered" besides the empty field, `NA`,
    /// `NaN`, `nan` and `.`.
    pub missing: Vec<String>,
}

impl ReadOptions {
    fn has_long_options(&self) -> bool {
        self.examinee_col.is_some() || self.item_col.is_some() || self.score_col.is_some()
    }

    fn has_wide_options(&self) -> bool {
        self.id_col.is_some() || self.weight_col.is_some() || self.transpose
    }
}

/// Reads the response file at `path` (gzip is detected from its content; a
/// `.parquet` file is read in the long layout with the `polars` feature, see
/// `data/parquet.rs`).
///
/// # Errors
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read; [`ErrorKind::Format`](crate::ErrorKind::Format) for
/// malformed CSV, missing columns or a file without responses;
/// [`ErrorKind::Value`](crate::ErrorKind::Value) for a bad score or weight, or the same response
/// twice; [`ErrorKind::Config`](crate::ErrorKind::Config) for options naming columns that are not
/// there or contradicting each other. Each error names the file and, where
/// there is one, the line and item.
///
/// ```no_run
/// use fangsheng::data::{read_responses, ReadOptions};
/// let m = read_responses("responses.csv.gz".as_ref(), &ReadOptions::default())?;
/// println!("{} examinees x {} items", m.n_examinees(), m.n_items());
/// # Ok::<(), fangsheng::Error>(())
/// ```
pub fn read_responses(path: &Path, opts: &ReadOptions) -> Result<ResponseMatrix> {
    if super::parquet::is_parquet(path) {
        return super::parquet::read_parquet_responses(path, opts);
    }
    let reader = open_read(path)?;
    read_responses_from(reader, path, opts)
}

/// Reads responses from `reader` (plain CSV text); `source` is the name used
/// in error messages. Errors as for [`read_responses`].
///
/// ```
/// use std::path::Path;
/// use fangsheng::data::{read_responses_from, ReadOptions};
/// let csv = "model,item,score\nm1,q1,1\nm1,q2,0\nm2,q1,0\n";
/// let m = read_responses_from(csv.as_bytes(), Path::new("inline.csv"), &ReadOptions::default())?;
/// assert_eq!((m.n_examinees(), m.n_items(), m.n_responses()), (2, 2, 3));
/// # Ok::<(), fangsheng::Error>(())
/// ```
pub fn read_responses_from<R: Read>(
    reader: R,
    source: &Path,
    opts: &ReadOptions,
) -> Result<ResponseMatrix> {
    read_csv(reader, source, opts).map_err(|e| e.in_file(source))
}

fn read_csv<R: Read>(reader: R, source: &Path, opts: &ReadOptions) -> Result<ResponseMatrix> {
    read_csv_with(reader, source, opts, None).map(|(m, _)| m)
}

/// Reads a CSV response file; with `answer_col` (long layout only) it also
/// returns the no-answer indicator of every response, read in the same pass.
pub(crate) fn read_csv_with<R: Read>(
    reader: R,
    source: &Path,
    opts: &ReadOptions,
    answer_col: Option<&str>,
) -> Result<(ResponseMatrix, Option<ResponseMatrix>)> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineTracked::new(reader));
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| csv_error(e, source))?
        .iter()
        .map(|name| String::from_utf8_lossy(name.trim_ascii()).into_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(Error::format("the file is empty: no responses"));
    }
    let missing = MissingTokens::new(&opts.missing);
    let (m, no_answer) = match (resolve_layout(opts, &header)?, answer_col) {
        (Layout::Long, answer) => {
            let answer = answer
                .map(|name| named_column(&header, name, "answer column"))
                .transpose()?;
            long::read(&mut csv, &header, opts, &missing, source, answer)?
        }
        (_, Some(_)) => {
            return Err(Error::config(
                "an answer column needs the long layout (one row per examinee x item)",
            )
            .at_line(1));
        }
        (_, None) => (wide::read(&mut csv, &header, opts, &missing, source)?, None),
    };
    if m.n_responses() == 0 {
        let what = if m.n_examinees() == 0 || m.n_items() == 0 {
            "the file has a header but no data"
        } else {
            "every cell is missing"
        };
        return Err(Error::format(format!("no responses: {what}")));
    }
    Ok((m, no_answer))
}

/// Settles [`Layout::Auto`] and rejects options that contradict the layout.
fn resolve_layout(opts: &ReadOptions, header: &[String]) -> Result<Layout> {
    let (long_opts, wide_opts) = (opts.has_long_options(), opts.has_wide_options());
    let layout = match opts.layout {
        Layout::Auto if long_opts && wide_opts => {
            return Err(Error::config(
                "options for the long layout (examinee/item/score column) and for the wide \
                 layout (id/weight column, transpose) were both given",
            ));
        }
        Layout::Auto if long_opts => Layout::Long,
        Layout::Auto if wide_opts => Layout::Wide,
        Layout::Auto if long::looks_long(header) => Layout::Long,
        Layout::Auto => Layout::Wide,
        explicit => explicit,
    };
    match layout {
        Layout::Long if wide_opts => Err(Error::config(
            "id column, weight column and transpose apply to the wide layout, not long",
        )),
        Layout::Wide if long_opts => Err(Error::config(
            "examinee, item and score columns apply to the long layout, not wide",
        )),
        _ => Ok(layout),
    }
}

/// Index of the column called `name`: an exact match, else the only
/// case-insensitive one. A name that is absent is a [`ErrorKind::Config`](crate::ErrorKind::Config)
/// error listing the columns there are.
pub(crate) fn named_column(header: &[String], name: &str, option: &str) -> Result<usize> {
    let name = name.trim();
    if let Some(i) = header.iter().position(|h| h == name) {
        return Ok(i);
    }
    let folded: Vec<usize> = (0..header.len())
        .filter(|&i| header[i].eq_ignore_ascii_case(name))
        .collect();
    match folded.as_slice() {
        [i] => Ok(*i),
        [] => Err(Error::config(format!(
            "{option} '{name}' is not a column of the file (columns: {})",
            list_columns(header)
        ))
        .at_line(1)),
        _ => Err(Error::config(format!(
            "{option} '{name}' matches several columns that differ only in case"
        ))
        .at_line(1)),
    }
}

/// The first column whose name is one of `names` (any case).
pub(crate) fn find_column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
}

/// The header as `a, b, c` for messages (long headers cut short).
pub(crate) fn list_columns(header: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = header
        .iter()
        .take(SHOWN)
        .map(|h| format!("'{h}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if header.len() > SHOWN {
        s.push_str(&format!(", ... ({} in all)", header.len()));
    }
    s
}

/// Converts a CSV reader error into the crate's error, keeping its line.
pub(crate) fn csv_error(err: csv::Error, source: &Path) -> Error {
    let line = err.position().map(|p| p.line());
    csv_error_on(err, source, line)
}

/// As [`csv_error`], placed on `line` (the caller's own count of lines).
pub(crate) fn csv_error_on(err: csv::Error, source: &Path, line: Option<u64>) -> Error {
    let e = match err.into_kind() {
        csv::ErrorKind::Io(io) => return Error::io(source, io),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::format(format!(
            "malformed row: it has {len} fields but the header has {expected_len}"
        )),
        csv::ErrorKind::Utf8 { err, .. } => Error::format(format!("invalid UTF-8: {err}")),
        other => Error::format(format!("malformed CSV: {other:?}")),
    };
    match line {
        Some(l) => e.at_line(l),
        None => e,
    }
}

/// The 1-based line a record starts on (the header is line 1).
pub(crate) fn record_line(record: &csv::ByteRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

/// A field as an id: trimmed UTF-8, not empty. `what` names it in errors.
pub(crate) fn id_text<'a>(field: &'a [u8], what: &str, line: u64) -> Result<&'a str> {
    let text = std::str::from_utf8(field.trim_ascii())
        .map_err(|_| Error::format(format!("{what} id is not valid UTF-8")).at_line(line))?;
    if text.is_empty() {
        return Err(Error::value(format!("{what} id is empty")).at_line(line));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn layout_parses_and_defaults_to_auto() {
        assert_eq!("LONG".parse::<Layout>().unwrap(), Layout::Long);
        assert_eq!("wide".parse::<Layout>().unwrap(), Layout::Wide);
        assert_eq!(Layout::default(), Layout::Auto);
        assert_eq!(
            "tall".parse::<Layout>().unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn auto_layout_follows_options_then_header() {
        let long_header = header(&["model", "item_id", "correct"]);
        let wide_header = header(&["a", "b"]);
        let auto = ReadOptions::default();
        assert_eq!(resolve_layout(&auto, &long_header).unwrap(), Layout::Long);
        assert_eq!(resolve_layout(&auto, &wide_header).unwrap(), Layout::Wide);
        let transposed = ReadOptions {
            transpose: true,
            ..Default::default()
        };
        assert_eq!(
            resolve_layout(&transposed, &long_header).unwrap(),
            Layout::Wide
        );
        let both = ReadOptions {
            transpose: true,
            score_col: Some("s".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_layout(&both, &wide_header).unwrap_err().kind(),
            ErrorKind::Config
        );
        let contradiction = ReadOptions {
            layout: Layout::Long,
            weight_col: Some("freq".into()),
            ..Default::default()
        };
        assert!(resolve_layout(&contradiction, &long_header).is_err());
    }

    #[test]
    fn named_column_prefers_exact_then_unique_folded_match() {
        let h = header(&["Freq", "freq", "Weight"]);
        assert_eq!(named_column(&h, "freq", "--weight-col").unwrap(), 1);
        assert_eq!(named_column(&h, "weight", "--weight-col").unwrap(), 2);
        assert!(named_column(&h, "FREQ", "--weight-col").is_err());
        let e = named_column(&h, "n", "--weight-col").unwrap_err();
        assert_eq!((e.kind(), e.line()), (ErrorKind::Config, Some(1)));
        assert!(e.message().contains("'Weight'"), "{e}");
    }

    fn read_str(csv: &str) -> Result<ResponseMatrix> {
        read_responses_from(csv.as_bytes(), Path::new("t.csv"), &ReadOptions::default())
    }

    #[test]
    fn byte_order_mark_does_not_hide_the_first_column() {
        // Spreadsheet exports often start with a UTF-8 BOM.
        let m = read_str("\u{feff}model,item,score\nm,q,1\n").unwrap();
        assert_eq!((m.n_examinees(), m.n_items()), (1, 1));
    }

    #[test]
    fn windows_line_endings_read_like_unix_ones() {
        let m = read_str("a,b\r\n1,0\r\n0,1\r\n").unwrap();
        assert_eq!(m.n_responses(), 4);
        assert_eq!(m.items()[1].as_str(), "b");
    }

    #[test]
    fn a_file_with_every_cell_missing_has_no_responses() {
        let e = read_str("a,b\nNA,\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format);
        assert!(e.to_string().starts_with("t.csv: no responses"), "{e}");
    }
}
