//! Which recorded responses had no extracted answer.
//!
//! LLM harnesses log the answer they extracted from a generation next to
//! its score (MMLU-Pro's `pred` column); when extraction fails the answer
//! is empty and the score is 0. A wrong answer and no answer at all are
//! different events (the second is mostly about output format and length),
//! so [`read_no_answer`] reads them apart: a matrix of 0/1 indicators, 1
//! where the answer column is empty or a missing token, in the index space
//! of the response matrix read from the same file.

use std::collections::HashMap;
use std::path::Path;

use crate::data::{Cell, ResponseMatrix};
use crate::error::{Error, Result};
use crate::io::open_read;

use super::long::{EXAMINEE_NAMES, ITEM_NAMES, column, looks_long};
use super::read::{ReadOptions, named_column};
use super::rows::{LineTracked, for_each_record};
use super::score::MissingTokens;

/// The no-answer indicator of every response of `responses` (read from
/// the long-layout file `path` with `opts`), taken from the answer column
/// `answer_col`: 1 when its field is empty (or one of the missing tokens),
/// else 0. The result has the examinees and items of `responses` in the
/// same order, and a cell exactly where `responses` has one; rows whose
/// score was missing are ignored.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when the file is not in
/// the long layout or has no column `answer_col`;
/// [`ErrorKind::Value`](crate::ErrorKind::Value) when a response of
/// `responses` has no row in the file (it was read from another file).
/// Errors name the file and, where there is one, the line.
pub fn read_no_answer(
    path: &Path,
    opts: &ReadOptions,
    answer_col: &str,
    responses: &ResponseMatrix,
) -> Result<ResponseMatrix> {
    read(path, opts, answer_col, responses).map_err(|e| e.in_file(path))
}

fn read(
    path: &Path,
    opts: &ReadOptions,
    answer_col: &str,
    responses: &ResponseMatrix,
) -> Result<ResponseMatrix> {
    if super::parquet::is_parquet(path) {
        return Err(Error::config(
            "an answer column is read from CSV files only (convert the Parquet file to CSV)",
        ));
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(LineTracked::new(open_read(path)?));
    let header: Vec<String> = csv
        .byte_headers()
        .map_err(|e| super::read::csv_error(e, path))?
        .iter()
        .map(|name| String::from_utf8_lossy(name.trim_ascii()).into_owned())
        .collect();
    if opts.transpose || opts.id_col.is_some() || !(looks_long(&header) || opts.score_col.is_some())
    {
        return Err(Error::config(
            "an answer column needs the long layout (one row per examinee x item)",
        )
        .at_line(1));
    }
    let examinee_col = column(&header, &opts.examinee_col, "examinee", EXAMINEE_NAMES)?;
    let item_col = column(&header, &opts.item_col, "item", ITEM_NAMES)?;
    let answer = named_column(&header, answer_col, "answer column")?;
    let missing = MissingTokens::new(&opts.missing);

    let examinees = positions(responses.examinees().iter().map(|id| id.as_str()));
    let items = positions(responses.items().iter().map(|id| id.as_str()));
    // Per examinee, the items it has a response to (sorted), to keep only
    // the rows that became cells.
    let answered: Vec<Vec<u32>> = (0..responses.n_examinees())
        .map(|e| {
            let mut its = responses.examinee_responses(e).0.to_vec();
            its.sort_unstable();
            its
        })
        .collect();
    let mut cells = Vec::with_capacity(responses.n_responses());
    for_each_record(&mut csv, path, |record, _line| {
        let field = |col: usize| record.get(col).unwrap_or_default().trim_ascii();
        let (Some(&e), Some(&j)) = (
            examinees.get(field(examinee_col)),
            items.get(field(item_col)),
        ) else {
            return Ok(());
        };
        if answered[e as usize].binary_search(&j).is_err() {
            return Ok(());
        }
        cells.push(Cell {
            examinee: e,
            item: j,
            score: u8::from(missing.contains(field(answer))),
        });
        Ok(())
    })?;
    if cells.len() != responses.n_responses() {
        return Err(Error::value(format!(
            "{} responses but {} rows with an answer column match them: the answers \
             come from another file",
            responses.n_responses(),
            cells.len()
        )));
    }
    ResponseMatrix::new(
        responses.examinees().to_vec(),
        responses.items().to_vec(),
        cells,
        Some(responses.weights().to_vec()),
    )
}

/// Each id's position, looked up by its bytes as the CSV reader gives them.
fn positions<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<&'a [u8], u32> {
    ids.enumerate()
        .map(|(i, id)| (id.as_bytes(), i as u32))
        .collect()
}

/// `responses` without the cells `no_answer` marks 1 (the responses that
/// had an answer), in the same index space.
pub fn answered_only(
    responses: &ResponseMatrix,
    no_answer: &ResponseMatrix,
) -> Result<ResponseMatrix> {
    // Per examinee, (item, indicator) sorted by item.
    let flags: Vec<Vec<(u32, u8)>> = (0..no_answer.n_examinees())
        .map(|e| {
            let (its, xs) = no_answer.examinee_responses(e);
            let mut f: Vec<(u32, u8)> = its.iter().copied().zip(xs.iter().copied()).collect();
            f.sort_unstable();
            f
        })
        .collect();
    let cells = responses
        .cells()
        .filter(|c| {
            let f = &flags[c.examinee as usize];
            f.binary_search_by_key(&c.item, |p| p.0)
                .map_or(true, |i| f[i].1 == 0)
        })
        .collect();
    ResponseMatrix::new(
        responses.examinees().to_vec(),
        responses.items().to_vec(),
        cells,
        Some(responses.weights().to_vec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_responses_from;
    use std::io::Write;

    const CSV: &str = "model,item_id,correct,pred\n\
                       m1,q1,1,A\n\
                       m1,q2,0,\n\
                       m2,q1,0,B\n\
                       m2,q2,NA,C\n\
                       m2,q3,0,NaN\n";

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    /// The fixture's file, its responses and the default options.
    fn fixture() -> (tempfile::NamedTempFile, ResponseMatrix, ReadOptions) {
        let f = file(CSV);
        let opts = ReadOptions::default();
        let r = read_responses_from(CSV.as_bytes(), f.path(), &opts).unwrap();
        (f, r, opts)
    }

    #[test]
    fn empty_answers_are_marked_and_missing_scores_left_out() {
        let (f, r, opts) = fixture();
        let n = read_no_answer(f.path(), &opts, "pred", &r).unwrap();
        assert_eq!(n.examinees(), r.examinees());
        assert_eq!(n.items(), r.items());
        let flags: Vec<(u32, u32, u8)> = n.cells().map(|c| (c.examinee, c.item, c.score)).collect();
        // m2's q2 has no score, so no cell; its q3 answer "NaN" is a missing token.
        assert_eq!(flags, vec![(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 2, 1)]);
        let kept: Vec<(u32, u32)> = answered_only(&r, &n)
            .unwrap()
            .cells()
            .map(|c| (c.examinee, c.item))
            .collect();
        assert_eq!(kept, vec![(0, 0), (1, 0)]);
    }

    #[test]
    fn unknown_column_wide_file_and_other_file_are_refused() {
        let (f, r, opts) = fixture();
        let e = read_no_answer(f.path(), &opts, "answer", &r).unwrap_err();
        assert!(e.to_string().contains("answer column 'answer'"), "{e}");
        assert!(
            e.to_string().contains(&f.path().display().to_string()),
            "{e}"
        );

        let wide = file("id,q1,q2\nm1,1,0\n");
        let e = read_no_answer(wide.path(), &opts, "pred", &r).unwrap_err();
        assert!(e.to_string().contains("long layout"), "{e}");

        let e = read_no_answer(Path::new("runs.parquet"), &opts, "pred", &r).unwrap_err();
        assert!(e.to_string().contains("CSV files only"), "{e}");

        let other = file("model,item_id,correct,pred\nm1,q1,1,A\n");
        let e = read_no_answer(other.path(), &opts, "pred", &r).unwrap_err();
        assert!(e.to_string().contains("another file"), "{e}");
    }
}
