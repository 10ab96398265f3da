//! Which recorded responses had no extracted answer.
//!
//! LLM harnesses log the answer they extracted from a generation next to
//! its score (MMLU-Pro's `pred` column); when extraction fails the answer
//! is empty and the score is 0. A wrong answer and no answer at all are
//! different events (the second is mostly about output format and length),
//! so [`read_responses_with_no_answer`] reads them apart in the same pass
//! as the responses: a matrix of 0/1 indicators, 1 where the answer column
//! is empty or a missing token, in the index space of the responses.

use std::path::Path;

use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::io::open_read;

use super::read::{ReadOptions, read_csv_with};

/// The responses of the long-layout file `path` (read with `opts`, as
/// [`read_responses`](super::read_responses) reads them) and, in the same
/// pass, the no-answer indicator of every response, taken from the answer
/// column `answer_col`: 1 when its field is empty (or one of the missing
/// tokens), else 0. The indicators have the examinees and items of the
/// responses in the same order, and a cell exactly where the responses
/// have one; rows whose score is missing are left out of both.
///
/// # Errors
/// Those of [`read_responses`](super::read_responses), and
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when the file is
/// Parquet or not in the long layout, or has no column `answer_col`.
/// Errors name the file and, where there is one, the line.
///
/// ```
/// # use std::io::Write;
/// use fangsheng::data::{read_responses_with_no_answer, ReadOptions};
/// let mut f = tempfile::NamedTempFile::new()?;
/// write!(f, "model,item,score,pred\nm1,q1,1,A\nm1,q2,0,\n")?;
/// let (responses, no_answer) =
///     read_responses_with_no_answer(f.path(), &ReadOptions::default(), "pred")?;
/// assert_eq!(responses.n_responses(), 2);
/// let flags: Vec<u8> = no_answer.cells().map(|c| c.score).collect();
/// assert_eq!(flags, vec![0, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_responses_with_no_answer(
    path: &Path,
    opts: &ReadOptions,
    answer_col: &str,
) -> Result<(ResponseMatrix, ResponseMatrix)> {
    read(path, opts, answer_col).map_err(|e| e.in_file(path))
}

fn read(
    path: &Path,
    opts: &ReadOptions,
    answer_col: &str,
) -> Result<(ResponseMatrix, ResponseMatrix)> {
    if super::parquet::is_parquet(path) {
        return Err(Error::config(
            "an answer column is read from CSV files only (convert the Parquet file to CSV)",
        ));
    }
    match read_csv_with(open_read(path)?, path, opts, Some(answer_col))? {
        (responses, Some(no_answer)) => Ok((responses, no_answer)),
        // read_csv_with returns indicators whenever it is given a column.
        (_, None) => Err(Error::config(format!(
            "answer column '{answer_col}' gave no indicators"
        ))),
    }
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
    use crate::data::read_responses;
    use std::io::Write;

    const CSV: &str = "model,item_id,correct,pred\n\
                       m1,q1,1,A\n\
                       m1,q2,0,\n\
                       m2,q1,0,B\n\
                       m2,q2,NA,C\n\
                       m2,q3,0, NaN \n";

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn empty_answers_are_marked_and_missing_scores_left_out() {
        let f = file(CSV);
        let opts = ReadOptions::default();
        let (r, n) = read_responses_with_no_answer(f.path(), &opts, "pred").unwrap();
        // The responses are exactly what the plain reader gives.
        let plain = read_responses(f.path(), &opts).unwrap();
        let cells = |m: &ResponseMatrix| m.cells().collect::<Vec<_>>();
        assert_eq!(cells(&r), cells(&plain));
        assert_eq!(r.examinees(), plain.examinees());
        assert_eq!(r.items(), plain.items());
        assert_eq!(n.examinees(), r.examinees());
        assert_eq!(n.items(), r.items());
        let flags: Vec<(u32, u32, u8)> = n.cells().map(|c| (c.examinee, c.item, c.score)).collect();
        // m2's q2 has no score, so no cell; its q3 answer " NaN " is a missing token.
        assert_eq!(flags, vec![(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 2, 1)]);
        let kept: Vec<(u32, u32)> = answered_only(&r, &n)
            .unwrap()
            .cells()
            .map(|c| (c.examinee, c.item))
            .collect();
        assert_eq!(kept, vec![(0, 0), (1, 0)]);
    }

    #[test]
    fn extra_missing_tokens_also_mean_no_answer() {
        let f = file("model,item,score,answer\nm1,q1,0,[none]\nm1,q2,1,B\n");
        let opts = ReadOptions {
            missing: vec!["[none]".into()],
            ..Default::default()
        };
        let (_, n) = read_responses_with_no_answer(f.path(), &opts, "answer").unwrap();
        let flags: Vec<u8> = n.cells().map(|c| c.score).collect();
        assert_eq!(flags, vec![1, 0]);
    }

    #[test]
    fn unknown_column_wide_file_and_parquet_are_refused() {
        let f = file(CSV);
        let opts = ReadOptions::default();
        let e = read_responses_with_no_answer(f.path(), &opts, "answer").unwrap_err();
        assert!(e.to_string().contains("answer column 'answer'"), "{e}");
        assert!(e.to_string().contains("'pred'"), "lists the columns: {e}");
        assert!(
            e.to_string().contains(&f.path().display().to_string()),
            "{e}"
        );
        assert_eq!(e.line(), Some(1));

        let wide = file("id,q1,q2\nm1,1,0\n");
        let e = read_responses_with_no_answer(wide.path(), &opts, "pred").unwrap_err();
        assert!(e.to_string().contains("long layout"), "{e}");
        assert!(
            e.to_string().contains(&wide.path().display().to_string()),
            "{e}"
        );

        let e =
            read_responses_with_no_answer(Path::new("runs.parquet"), &opts, "pred").unwrap_err();
        assert!(e.to_string().contains("CSV files only"), "{e}");
    }

    #[test]
    fn a_bad_score_is_reported_as_by_the_plain_reader() {
        let f = file("model,item,score,pred\nm1,q1,7x,A\n");
        let e =
            read_responses_with_no_answer(f.path(), &ReadOptions::default(), "pred").unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
    }
}
