//! Post-hoc replay: adaptive exams answered from recorded full runs.
//!
//! Each examinee's recorded responses are aligned to the bank once; an exam
//! then asks the recording for each selected item. An item the examinee has
//! no recorded answer for is skipped ([`Session::skip_index`]) and counted,
//! and the next best item is selected instead (the documented behaviour of
//! replay on incomplete runs).
//!
//! [`Session::skip_index`]: super::Session::skip_index

use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::ids::ExamineeId;
use crate::model::ResponseModel;

use super::bank::CatBank;

/// Recorded runs aligned to a bank.
///
/// ```
/// use fangsheng::cat::{CatBank, Replay};
/// use fangsheng::data::{Cell, ResponseMatrix};
/// use fangsheng::model::{Irf, Logistic};
///
/// let irfs: Vec<Irf> = (0..3).map(|j| Logistic::two_pl(1.0, j as f64).unwrap().into()).collect();
/// let bank = CatBank::from_parts(["a", "b", "c"].map(Into::into).to_vec(), irfs).unwrap();
/// let cells = vec![
///     Cell { examinee: 0, item: 0, score: 1 },
///     Cell { examinee: 0, item: 2, score: 0 },
/// ];
/// let runs = ResponseMatrix::new(vec!["m1".into()], ["a", "b", "c"].map(Into::into).to_vec(), cells, None).unwrap();
/// let replay = Replay::new(&bank, &runs).unwrap();
/// assert_eq!(replay.answer(0, 0), Some(1));
/// assert_eq!(replay.answer(0, 1), None); // no recorded answer: skipped in an exam
/// assert_eq!(replay.observed(0), 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct Replay {
    examinees: Vec<ExamineeId>,
    /// Per examinee: (bank index, score), sorted by bank index.
    runs: Vec<Vec<(u32, u8)>>,
    /// Per examinee: mean of `score / (K - 1)` over the recorded bank items.
    observed: Vec<f64>,
    /// Responses to items that are not in the bank (ignored).
    outside: usize,
}

impl Replay {
    /// Aligns the recorded runs `responses` to `bank`. Responses to items
    /// that are not in the bank are ignored and counted
    /// ([`Replay::outside_bank`]).
    ///
    /// # Errors
    /// A recorded score outside its item's categories
    /// ([`ErrorKind::Value`](crate::ErrorKind::Value)), naming the item and
    /// the examinee.
    pub fn new(bank: &CatBank, responses: &ResponseMatrix) -> Result<Self> {
        let column: Vec<Option<u32>> = responses
            .items()
            .iter()
            .map(|id| bank.index_of(id.as_str()).map(|j| j as u32))
            .collect();
        let mut runs = Vec::with_capacity(responses.n_examinees());
        let mut observed = Vec::with_capacity(responses.n_examinees());
        let mut outside = 0;
        for e in 0..responses.n_examinees() {
            let (items, scores) = responses.examinee_responses(e);
            let mut run = Vec::with_capacity(items.len());
            let mut total = 0.0;
            for (&c, &s) in items.iter().zip(scores) {
                let Some(j) = column[c as usize] else {
                    outside += 1;
                    continue;
                };
                let max = bank.irfs()[j as usize].n_categories() - 1;
                if s as usize > max {
                    return Err(Error::value(format!(
                        "examinee '{}' has score {s} but the item's categories are 0..={max}",
                        responses.examinees()[e]
                    ))
                    .for_item(bank.ids()[j as usize].as_str()));
                }
                total += s as f64 / max as f64;
                run.push((j, s));
            }
            run.sort_unstable_by_key(|r| r.0);
            observed.push(if run.is_empty() {
                f64::NAN
            } else {
                total / run.len() as f64
            });
            runs.push(run);
        }
        Ok(Replay {
            examinees: responses.examinees().to_vec(),
            runs,
            observed,
            outside,
        })
    }

    /// Number of examinees.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// True when there are no examinees.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Examinee ids, in row order.
    pub fn examinees(&self) -> &[ExamineeId] {
        &self.examinees
    }

    /// Examinee `e`'s recorded score on bank item `j`, if any.
    pub fn answer(&self, e: usize, j: usize) -> Option<usize> {
        let run = &self.runs[e];
        run.binary_search_by_key(&(j as u32), |r| r.0)
            .ok()
            .map(|i| run[i].1 as usize)
    }

    /// Examinee `e`'s recorded answers `(bank index, score)`, by bank index.
    pub fn run(&self, e: usize) -> &[(u32, u8)] {
        &self.runs[e]
    }

    /// Examinee `e`'s observed proportion of the maximum score over its
    /// recorded bank items (NaN when it has none): the full-run score the
    /// adaptive prediction is compared with.
    pub fn observed(&self, e: usize) -> f64 {
        self.observed[e]
    }

    /// Number of recorded responses to items that are not in the bank.
    pub fn outside_bank(&self) -> usize {
        self.outside
    }
}
