//! Response logs in Parquet (feature `polars`): the long layout, one row per
//! examinee x item, as large evaluation harnesses store them.
//!
//! The examinee, item and score columns are found as in the CSV long layout
//! (names `model`/`examinee`/..., `item`/`item_id`/`question_id`,
//! `score`/`correct`/...; or [`ReadOptions`]'s `examinee_col`, `item_col`,
//! `score_col`). Ids may be text or integers; scores integers, whole floats
//! or booleans; a null score is "not administered". The three columns are
//! then read by the CSV long reader, so every check (duplicates, score
//! range, ids) is the same; an error's line `N` is data row `N - 1` of the
//! file, as if it were CSV with a header line.

use std::path::Path;

use super::ResponseMatrix;
use super::read::ReadOptions;
use crate::error::Result;

/// True when `path` names a Parquet file (`.parquet` or `.pq`, any case).
pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Reads a long-layout Parquet response file.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) in a build without the
/// `polars` feature, or for wide-layout options; otherwise the errors of the
/// CSV long layout ([`super::read_responses`]), naming the file.
#[cfg(not(feature = "polars"))]
pub(crate) fn read_parquet_responses(path: &Path, _opts: &ReadOptions) -> Result<ResponseMatrix> {
    Err(crate::error::Error::config(
        "reading Parquet needs the polars feature: rebuild with --features polars",
    )
    .in_file(path))
}

/// Reads a long-layout Parquet response file.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) for wide-layout options
/// or a named column that is absent; [`ErrorKind::Format`](crate::ErrorKind::Format)
/// when the file is not Parquet or lacks a column; otherwise the errors of
/// the CSV long layout ([`super::read_responses`]), naming the file.
#[cfg(feature = "polars")]
pub(crate) fn read_parquet_responses(path: &Path, opts: &ReadOptions) -> Result<ResponseMatrix> {
    imp::read(path, opts).map_err(|e| e.in_file(path))
}

#[cfg(feature = "polars")]
mod imp {
    use std::path::Path;

    use polars::prelude::{Column, DataType, ParquetReader, SerReader};

    use super::super::long::{EXAMINEE_NAMES, ITEM_NAMES, SCORE_NAMES};
    use super::super::read::{
        Layout, ReadOptions, find_column, list_columns, named_column, read_responses_from,
    };
    use super::ResponseMatrix;
    use crate::error::{Error, Result};

    pub(super) fn read(path: &Path, opts: &ReadOptions) -> Result<ResponseMatrix> {
        if opts.layout == Layout::Wide
            || opts.id_col.is_some()
            || opts.weight_col.is_some()
            || opts.transpose
        {
            return Err(Error::config(
                "Parquet response files are read in the long layout (examinee, item, score columns)",
            ));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::format(format!("reading Parquet: {e}")))?;
        let header: Vec<String> = df.columns().iter().map(|c| c.name().to_string()).collect();
        let pick = |option: &Option<String>, role: &str, names: &[&str]| match option {
            Some(name) => named_column(&header, name, &format!("{role} column")),
            None => find_column(&header, names).ok_or_else(|| {
                Error::format(format!(
                    "no {role} column: expected one named {} (columns found: {})",
                    names.join(", "),
                    list_columns(&header)
                ))
            }),
        };
        let cols = [
            pick(&opts.examinee_col, "examinee", EXAMINEE_NAMES)?,
            pick(&opts.item_col, "item", ITEM_NAMES)?,
            pick(&opts.score_col, "score", SCORE_NAMES)?,
        ];
        let texts = cols
            .iter()
            .map(|&i| cells(&df.columns()[i]))
            .collect::<Result<Vec<_>>>()?;
        // The three columns as CSV text for the long reader: one set of
        // checks for both file types.
        let mut csv_text = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| Error::format(format!("re-encoding rows: {e}"));
        csv_text
            .write_record(cols.iter().map(|&i| header[i].as_str()))
            .map_err(err)?;
        for ((e, i), x) in texts[0].iter().zip(&texts[1]).zip(&texts[2]) {
            csv_text.write_record([e, i, x]).map_err(err)?;
        }
        let bytes = csv_text
            .into_inner()
            .map_err(|e| Error::format(format!("re-encoding rows: {e}")))?;
        let long = ReadOptions {
            layout: Layout::Long,
            examinee_col: Some(header[cols[0]].clone()),
            item_col: Some(header[cols[1]].clone()),
            score_col: Some(header[cols[2]].clone()),
            missing: opts.missing.clone(),
            ..ReadOptions::default()
        };
        read_responses_from(bytes.as_slice(), path, &long)
    }

    /// A column's cells as text (empty for null).
    fn cells(c: &Column) -> Result<Vec<String>> {
        let bad =
            |e: polars::error::PolarsError| Error::format(format!("column '{}': {e}", c.name()));
        let dtype = c.dtype().clone();
        Ok(match dtype {
            DataType::String => c
                .str()
                .map_err(bad)?
                .iter()
                .map(|s| s.unwrap_or("").to_owned())
                .collect(),
            DataType::Boolean => c
                .bool()
                .map_err(bad)?
                .iter()
                .map(|b| b.map(|b| b.to_string()).unwrap_or_default())
                .collect(),
            DataType::Float32 | DataType::Float64 => c
                .cast(&DataType::Float64)
                .map_err(bad)?
                .f64()
                .map_err(bad)?
                .iter()
                .map(|x| x.map(|x| x.to_string()).unwrap_or_default())
                .collect(),
            d if d.is_integer() => c
                .cast(&DataType::Int64)
                .map_err(bad)?
                .i64()
                .map_err(bad)?
                .iter()
                .map(|x| x.map(|x| x.to_string()).unwrap_or_default())
                .collect(),
            DataType::Null => vec![String::new(); c.len()],
            other => {
                return Err(Error::format(format!(
                    "column '{}' has type {other}: expected text, integers, floats or booleans",
                    c.name()
                )));
            }
        })
    }
}

#[cfg(all(test, feature = "polars"))]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame, ParquetWriter};

    fn write(path: &Path, columns: Vec<Column>) {
        let mut df = DataFrame::new_infer_height(columns).unwrap();
        let f = std::fs::File::create(path).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
    }

    #[test]
    fn long_parquet_reads_like_the_csv() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.parquet");
        write(
            &p,
            vec![
                Column::new("model".into(), ["m1", "m1", "m2"]),
                Column::new("question_id".into(), [17i64, 18, 17]),
                Column::new("correct".into(), [Some(true), Some(false), None]),
            ],
        );
        let m = super::super::read_responses(&p, &ReadOptions::default()).unwrap();
        assert_eq!((m.n_examinees(), m.n_items(), m.n_responses()), (2, 2, 2));
        assert_eq!(m.items()[0].as_str(), "17");
        let csv = "model,question_id,correct\nm1,17,1\nm1,18,0\nm2,17,\n";
        let from_csv = super::super::read_responses_from(
            csv.as_bytes(),
            Path::new("r.csv"),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(m, from_csv);
    }

    #[test]
    fn duplicates_and_missing_columns_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.parquet");
        write(
            &p,
            vec![
                Column::new("model".into(), ["m1", "m1"]),
                Column::new("item".into(), ["q", "q"]),
                Column::new("score".into(), [1i32, 0]),
            ],
        );
        let e = super::super::read_responses(&p, &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("d.parquet:3:"), "{e}");
        assert!(e.to_string().contains("second response"), "{e}");
        let p = dir.path().join("n.parquet");
        write(&p, vec![Column::new("model".into(), ["m1"])]);
        let e = super::super::read_responses(&p, &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no item column"), "{e}");
    }
}
