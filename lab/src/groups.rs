//! Per-group predictions of the experiments' exams: the engine's group
//! cells ([`fangsheng::loo::group_details`]), with the shrunk per-group
//! predictions of `subscore=TAG` plans in place of the posterior's.

use std::collections::BTreeMap;

use fangsheng::error::{Error, Result};
use fangsheng::estimate::PredictedScore;
use fangsheng::loo::{GroupTruth, LooGroupDetail, SeedRun, posterior_groups};

use crate::loo::{Fold, Prepared};

/// Each held-out examinee's predicted score on every value of `tag`, for
/// the exams of `runs` (one prepared plan per fold): the posterior of the
/// exam's answers, or the per-group model of a plan's `subscore=TAG` of
/// the same tag (no interval).
///
/// # Errors
/// An asked item without a recorded answer.
pub(crate) fn group_details(
    folds: &[Fold],
    truths: &[GroupTruth],
    prepared: &[Prepared],
    runs: &[SeedRun],
    labels: (&str, &str, usize),
    tag: &str,
) -> Result<Vec<LooGroupDetail>> {
    fangsheng::loo::group_details(folds, truths, runs, labels, tag, |fi, exam| {
        let (f, (design, _, sub), truth) = (&folds[fi], &prepared[fi], &truths[fi]);
        let Some(model) = sub.as_deref().filter(|m| m.tag() == tag) else {
            return posterior_groups(f, design, exam, tag, truth);
        };
        let ids = f.bank.ids();
        let answers: Vec<(usize, usize)> = exam
            .iter()
            .map(|&j| {
                f.replay.answer(0, j).map(|x| (j, x)).ok_or_else(|| {
                    Error::config(format!(
                        "group scores: item {} was asked but has no answer",
                        ids[j]
                    ))
                })
            })
            .collect::<Result<_>>()?;
        // Items without the tag form a group of their own in the model,
        // which no value of `truth` names.
        let scores: BTreeMap<String, f64> = model
            .predict_groups(&f.bank, design.plan().prior, &answers)
            .into_iter()
            .collect();
        Ok(truth
            .values
            .iter()
            .map(|v| PredictedScore {
                mean: scores.get(v).copied().unwrap_or(f64::NAN),
                lo: f64::NAN,
                hi: f64::NAN,
            })
            .collect())
    })
}
