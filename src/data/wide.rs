//! The wide layout: one CSV row per examinee and one column per item, or,
//! transposed, one row per item and one column per examinee.
//!
//! Pattern tables (LSAT7, deAyala) carry a frequency column: each row stands
//! for that many examinees with the same responses, and becomes one examinee
//! with that weight.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::data::{Cell, ResponseMatrix};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{ExamineeId, ItemId};

use super::read::{ReadOptions, find_column, id_text, named_column};
use super::rows::{LineTracked, for_each_record, row_index, row_scores};
use super::score::MissingTokens;

/// Header names (any case) recognised as the examinee id column.
pub(crate) const ID_NAMES: &[&str] = &["id", "examinee", "model", "person"];
/// Header names (any case) recognised as the frequency-weight column.
pub(crate) const WEIGHT_NAMES: &[&str] = &["freq", "frequency", "weight", "count"];

/// Reads the records after the header.
pub(crate) fn read<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    header: &[String],
    opts: &ReadOptions,
    missing: &MissingTokens,
    source: &Path,
) -> Result<ResponseMatrix> {
    if opts.transpose {
        return read_transposed(csv, header, opts, missing, source);
    }
    let id_col = match &opts.id_col {
        Some(name) => Some(named_column(header, name, "id column")?),
        // R's write.csv and pandas' to_csv write row names under an empty name.
        None if header[0].is_empty() => Some(0),
        None => find_column(header, ID_NAMES),
    };
    let weight_col = match &opts.weight_col {
        Some(name) => Some(named_column(header, name, "weight column")?),
        None => find_column(header, WEIGHT_NAMES),
    };
    if id_col.is_some() && id_col == weight_col {
        return Err(Error::config(format!(
            "column '{}' cannot be both the id and the weight column",
            header[id_col.unwrap_or_default()]
        ))
        .at_line(1));
    }
    let item_cols: Vec<usize> = (0..header.len())
        .filter(|&c| Some(c) != id_col && Some(c) != weight_col)
        .collect();
    let items = header_ids::<ItemId>(header, &item_cols, "item", ErrorKind::Item)?;

    let mut examinees: Vec<ExamineeId> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut cells: Vec<Cell> = Vec::new();
    for_each_record(csv, source, |record, line| {
        let field = |col: usize| record.get(col).unwrap_or_default();
        let e = row_index(examinees.len(), line)?;
        let id = match id_col {
            Some(c) => id_text(field(c), "examinee", line)?.to_owned(),
            None => format!("row{}", examinees.len() + 1),
        };
        if let Some(first) = first_line.insert(id.clone(), line) {
            return Err(Error::value(format!(
                "examinee '{id}' appears twice (first on line {first})"
            ))
            .at_line(line));
        }
        if let Some(c) = weight_col {
            weights.push(parse_weight(field(c), &header[c], line)?);
        }
        row_scores(record, &item_cols, missing, |j, score| {
            cells.push(Cell {
                examinee: e,
                item: j as u32,
                score,
            });
        })
        .map_err(|(j, msg)| {
            Error::value(format!("examinee '{id}': {msg}"))
                .for_item(items[j].as_str())
                .at_line(line)
        })?;
        examinees.push(ExamineeId::from(id));
        Ok(())
    })?;
    let weights = weight_col.map(|_| weights);
    ResponseMatrix::new(examinees, items, cells, weights)
}

/// Rows are items (id in the first column, or `id_col`), columns examinees.
fn read_transposed<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    header: &[String],
    opts: &ReadOptions,
    missing: &MissingTokens,
    source: &Path,
) -> Result<ResponseMatrix> {
    if opts.weight_col.is_some() {
        return Err(Error::config(
            "a weight column does not apply to a transposed file (columns are examinees)",
        ));
    }
    let id_col = match &opts.id_col {
        Some(name) => named_column(header, name, "id column")?,
        None => 0,
    };
    let examinee_cols: Vec<usize> = (0..header.len()).filter(|&c| c != id_col).collect();
    let examinees = header_ids::<ExamineeId>(header, &examinee_cols, "examinee", ErrorKind::Value)?;

    let mut items: Vec<ItemId> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut cells: Vec<Cell> = Vec::new();
    for_each_record(csv, source, |record, line| {
        let j = row_index(items.len(), line)?;
        let id = id_text(record.get(id_col).unwrap_or_default(), "item", line)?.to_owned();
        if let Some(first) = first_line.insert(id.clone(), line) {
            return Err(Error::new(
                ErrorKind::Item,
                format!("item id appears twice (first on line {first})"),
            )
            .for_item(id)
            .at_line(line));
        }
        row_scores(record, &examinee_cols, missing, |e, score| {
            cells.push(Cell {
                examinee: e as u32,
                item: j,
                score,
            });
        })
        .map_err(|(e, msg)| {
            Error::value(format!("column '{}': {msg}", header[examinee_cols[e]]))
                .for_item(id.as_str())
                .at_line(line)
        })?;
        items.push(ItemId::from(id));
        Ok(())
    })?;
    ResponseMatrix::new(examinees, items, cells, None)
}

/// Ids taken from the header names of `cols`: each must be non-empty and
/// appear once (a repeat is an error of `dup_kind`).
fn header_ids<T: From<String>>(
    header: &[String],
    cols: &[usize],
    what: &str,
    dup_kind: ErrorKind,
) -> Result<Vec<T>> {
    if cols.is_empty() {
        return Err(Error::format(format!("the header names no {what} columns")).at_line(1));
    }
    let mut first: HashMap<&str, usize> = HashMap::new();
    for &c in cols {
        let name = header[c].as_str();
        if name.is_empty() {
            return Err(Error::format(format!(
                "column {} has no name, so it cannot be an {what} id",
                c + 1
            ))
            .at_line(1));
        }
        if let Some(f) = first.insert(name, c) {
            return Err(Error::new(
                dup_kind,
                format!(
                    "{what} '{name}' names columns {} and {} of the header",
                    f + 1,
                    c + 1
                ),
            )
            .at_line(1));
        }
    }
    Ok(cols.iter().map(|&c| T::from(header[c].clone())).collect())
}

/// A frequency weight: a finite, non-negative number (counts, or survey
/// weights that need not be whole).
fn parse_weight(field: &[u8], column: &str, line: u64) -> Result<f64> {
    let text = String::from_utf8_lossy(field.trim_ascii());
    match text.parse::<f64>() {
        Ok(w) if w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(Error::value(format!(
            "column '{column}': weight '{text}' is not a non-negative number"
        ))
        .at_line(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_must_be_non_negative_numbers() {
        assert_eq!(parse_weight(b" 12 ", "freq", 2).unwrap(), 12.0);
        assert_eq!(parse_weight(b"0.5", "freq", 2).unwrap(), 0.5);
        for bad in [&b"-1"[..], b"", b"NA", b"inf", b"x"] {
            let e = parse_weight(bad, "freq", 7).unwrap_err();
            assert_eq!((e.kind(), e.line()), (ErrorKind::Value, Some(7)));
            assert!(e.message().contains("'freq'"), "{e}");
        }
    }

    #[test]
    fn header_ids_reject_blank_and_repeated_names() {
        let h: Vec<String> = ["", "a", "b", "a"].iter().map(|s| s.to_string()).collect();
        let ok: Vec<ItemId> = header_ids(&h, &[1, 2], "item", ErrorKind::Item).unwrap();
        assert_eq!(ok, vec![ItemId::from("a"), ItemId::from("b")]);
        let blank = header_ids::<ItemId>(&h, &[0, 1], "item", ErrorKind::Item).unwrap_err();
        assert_eq!(blank.kind(), ErrorKind::Format);
        let dup = header_ids::<ItemId>(&h, &[1, 2, 3], "item", ErrorKind::Item).unwrap_err();
        assert_eq!((dup.kind(), dup.line()), (ErrorKind::Item, Some(1)));
        assert!(dup.message().contains("columns 2 and 4"), "{dup}");
    }
}
