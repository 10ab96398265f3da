//! The long layout: one CSV row per examinee x item response.
//!
//! Examinees and items are numbered in the order they first appear. Ids are
//! interned from the raw bytes of each record (see [`super::intern`]), so a
//! row that repeats known ids allocates nothing: a 260,000-row evaluation log
//! reads in one pass.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;
use std::path::Path;

use crate::data::{Cell, ResponseMatrix};
use crate::error::{Error, Result};
use crate::ids::{ExamineeId, ItemId};

use super::intern::{FastHash, Interner};
use super::read::{ReadOptions, find_column, list_columns, named_column};
use super::rows::{LineTracked, for_each_record};
use super::score::{Field, MissingTokens, parse_score};

/// Header names (any case) recognised as the examinee column.
pub(crate) const EXAMINEE_NAMES: &[&str] =
    &["model", "examinee", "examinee_id", "person", "subject"];
/// Header names (any case) recognised as the item column.
pub(crate) const ITEM_NAMES: &[&str] = &["item", "item_id", "question_id"];
/// Header names (any case) recognised as the score column.
pub(crate) const SCORE_NAMES: &[&str] = &["score", "correct", "x", "response"];

/// True when the header has an examinee, an item and a score column.
pub(crate) fn looks_long(header: &[String]) -> bool {
    [EXAMINEE_NAMES, ITEM_NAMES, SCORE_NAMES]
        .iter()
        .all(|names| find_column(header, names).is_some())
}

/// Reads the records after the header. With `answer_col` (the index of
/// the column holding the extracted answer) it also returns, cell for
/// cell, the no-answer indicator: 1 where that field is empty or a missing
/// token (see [`super::no_answer`]).
pub(crate) fn read<R: Read>(
    csv: &mut csv::Reader<LineTracked<R>>,
    header: &[String],
    opts: &ReadOptions,
    missing: &MissingTokens,
    source: &Path,
    answer_col: Option<usize>,
) -> Result<(ResponseMatrix, Option<ResponseMatrix>)> {
    let examinee_col = column(header, &opts.examinee_col, "examinee", EXAMINEE_NAMES)?;
    let item_col = column(header, &opts.item_col, "item", ITEM_NAMES)?;
    let score_col = column(header, &opts.score_col, "score", SCORE_NAMES)?;
    if examinee_col == item_col || examinee_col == score_col || item_col == score_col {
        return Err(Error::config(format!(
            "the examinee, item and score columns must differ, got '{}', '{}' and '{}'",
            header[examinee_col], header[item_col], header[score_col]
        ))
        .at_line(1));
    }
    let score_name = &header[score_col];

    let mut examinees = Interner::default();
    let mut items = Interner::default();
    let mut cells: Vec<Cell> = Vec::new();
    // The no-answer indicator of each cell, in the order of `cells`.
    let mut no_answer: Vec<u8> = Vec::new();
    // (examinee, item) -> line it was first seen on, to name both lines of a duplicate.
    let mut seen: HashMap<u64, u64, FastHash> = HashMap::default();
    for_each_record(csv, source, |record, line| {
        let field = |col: usize| record.get(col).unwrap_or_default();
        let e = examinees.intern(field(examinee_col), "examinee", line)?;
        let j = items.intern(field(item_col), "item", line)?;
        let score = match parse_score(field(score_col), missing) {
            Ok(Field::Score(s)) => s,
            Ok(Field::Missing) => return Ok(()),
            Err(msg) => {
                return Err(Error::value(format!("column '{score_name}': {msg}"))
                    .for_item(items.ids[j as usize].as_str())
                    .at_line(line));
            }
        };
        match seen.entry((u64::from(e) << 32) | u64::from(j)) {
            Entry::Occupied(first) => {
                return Err(Error::value(format!(
                    "examinee '{}' has a second response to this item (the first is on line {})",
                    examinees.ids[e as usize],
                    first.get()
                ))
                .for_item(items.ids[j as usize].as_str())
                .at_line(line));
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        if let Some(col) = answer_col {
            no_answer.push(u8::from(missing.contains(field(col).trim_ascii())));
        }
        cells.push(Cell {
            examinee: e,
            item: j,
            score,
        });
        Ok(())
    })?;
    let examinees: Vec<ExamineeId> = examinees.ids.into_iter().map(ExamineeId::from).collect();
    let items: Vec<ItemId> = items.ids.into_iter().map(ItemId::from).collect();
    let flags = match answer_col {
        Some(_) => {
            let flagged = cells
                .iter()
                .zip(&no_answer)
                .map(|(c, &x)| Cell { score: x, ..*c })
                .collect();
            Some(ResponseMatrix::new(
                examinees.clone(),
                items.clone(),
                flagged,
                None,
            )?)
        }
        None => None,
    };
    Ok((ResponseMatrix::new(examinees, items, cells, None)?, flags))
}

/// The column for one role: the option's name when given, else the first
/// header name from `names`.
pub(crate) fn column(
    header: &[String],
    option: &Option<String>,
    role: &str,
    names: &[&str],
) -> Result<usize> {
    match option {
        Some(name) => named_column(header, name, &format!("{role} column")),
        None => find_column(header, names).ok_or_else(|| {
            Error::format(format!(
                "no {role} column in a long-layout file: expected one named {} \
                 (columns found: {})",
                names.join(", "),
                list_columns(header)
            ))
            .at_line(1)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_headers_are_recognised_in_any_case() {
        let h = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(looks_long(&h(&["Model", "ITEM_ID", "correct", "pred"])));
        assert!(looks_long(&h(&["person", "question_id", "x"])));
        assert!(!looks_long(&h(&["model", "q1", "q2"])));
    }
}
