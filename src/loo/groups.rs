//! Per-group predictions of leave-one-out exams: each held-out exam's
//! predicted score on every value of a tag (e.g. each MMLU-Pro category),
//! set against the examinee's observed score on those items in its whole
//! run, and their summary with a cross-validated per-group score link.
//!
//! `exam` reports these per-group scores beside the bank score; their
//! intervals come from the one-ability posterior, which cannot see a
//! model being stronger in one subject than its overall ability says.
//! The cross-validated line says what a per-group line of a score-link
//! file would do for a model it was not fitted on: for
//! held-out examinee `m`, the line of group `c` is fitted on the other
//! held-out examinees' pairs (their exams' predicted group score and
//! observed group score, pooled over seeds) and maps `m`'s prediction,
//! with the line's prediction interval.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::LooDetail;
use super::baselines::{scoring_design, wilson};
use super::exams::SeedRun;
use super::fold::Fold;
use crate::cat::{Design, Plan, ScoreLink, Session, interval_coverage};
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;
use crate::model::ResponseModel;

/// The pseudo-tag of the bank score in [`LooGroupRow`]s: its rows check the
/// cross-validated line against the bank score's own link.
pub const BANK_TAG: &str = "(bank)";
/// The value of a row pooling every value of a tag.
pub const POOLED: &str = "(all)";

/// One held-out examinee's predicted score on one group of items, by one
/// method, length and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooGroupDetail {
    /// Calibration model.
    pub calibration: String,
    /// Method, as in [`LooRow::method`](super::LooRow::method).
    pub method: String,
    /// Exam length.
    pub items: usize,
    /// Seed.
    pub seed: u64,
    /// The held-out examinee.
    #[serde(rename = "model")]
    pub examinee: String,
    /// The tag.
    pub tag: String,
    /// The tag's value that defines the group.
    pub value: String,
    /// Items of the exam in the group.
    pub asked: usize,
    /// Predicted group score.
    #[serde(rename = "predicted_score")]
    pub predicted: f64,
    /// Lower end of its 95% interval (NaN for a method without one).
    pub predicted_lo: f64,
    /// Upper end of its 95% interval.
    pub predicted_hi: f64,
    /// The examinee's observed score on the group's items of its whole
    /// run (NaN when it answered none).
    #[serde(rename = "observed_score")]
    pub observed: f64,
}

/// The per-group predictions of one method at one length, summarised
/// over held-out examinees and seeds, as predicted and through the
/// cross-validated per-group line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooGroupRow {
    /// Calibration model.
    pub calibration: String,
    /// Method.
    pub method: String,
    /// Exam length.
    pub items: usize,
    /// The tag ([`BANK_TAG`] for the bank score).
    pub tag: String,
    /// The tag's value ([`POOLED`] for all values together).
    pub value: String,
    /// (examinee, seed) cells with a finite prediction and observation.
    pub cells: usize,
    /// Mean items of the exam in the group.
    pub mean_asked: f64,
    /// Mean absolute error (proportion).
    pub mae: f64,
    /// Share of the cells whose 95% interval holds the observed score (NaN
    /// without intervals).
    pub coverage: f64,
    /// Mean width of those intervals.
    pub width: f64,
    /// Mean absolute error of the cross-validated linked score.
    pub linked_mae: f64,
    /// Coverage of the linked score's 95% prediction interval.
    pub linked_coverage: f64,
    /// Mean width of the linked intervals.
    pub linked_width: f64,
}

/// A bank-score prediction as a cell of the pseudo-tag [`BANK_TAG`].
pub fn bank_cell(d: &LooDetail) -> LooGroupDetail {
    LooGroupDetail {
        calibration: d.calibration.clone(),
        method: d.method.clone(),
        items: d.items,
        seed: d.seed,
        examinee: d.examinee.clone(),
        tag: BANK_TAG.to_owned(),
        value: "bank".to_owned(),
        asked: d.items,
        predicted: d.predicted,
        predicted_lo: d.predicted_lo,
        predicted_hi: d.predicted_hi,
        observed: d.observed,
    }
}

/// One fold's groups of one tag: the tag's values, sorted (the order of
/// [`Session::predicted_by`]), and the held-out examinee's observed
/// proportion of the maximum on each over its whole recorded run (NaN for a
/// value it answered nothing in). It does not depend on the exam, so it is
/// computed once per fold, not once per exam.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTruth {
    /// The tag's values, sorted.
    pub values: Vec<String>,
    /// The observed proportion on each value's items.
    pub observed: Vec<f64>,
}

/// The [`GroupTruth`] of every fold for `tag`.
///
/// # Errors
/// A tag no item of the bank has.
pub fn group_truths<F: AsRef<Fold> + Sync>(folds: &[F], tag: &str) -> Result<Vec<GroupTruth>> {
    folds
        .par_iter()
        .map(|f| {
            let f = f.as_ref();
            let groups = f.bank.tag_groups(tag).ok_or_else(|| {
                Error::config(format!("unknown tag '{tag}' (no item of the bank has it)"))
            })?;
            let values: Vec<String> = groups.iter().map(|g| g.value.clone()).collect();
            let mut sum = vec![0.0; values.len()];
            let mut n = vec![0usize; values.len()];
            let irfs = f.bank.irfs();
            for &(j, x) in f.replay.run(0) {
                let j = j as usize;
                if let Some(g) = group_index(f, j, tag, &values) {
                    sum[g] += f64::from(x) / (irfs[j].n_categories() - 1) as f64;
                    n[g] += 1;
                }
            }
            let observed = sum
                .iter()
                .zip(&n)
                .map(|(&s, &n)| if n == 0 { f64::NAN } else { s / n as f64 })
                .collect();
            Ok(GroupTruth { values, observed })
        })
        .collect()
}

/// The index in `values` (sorted) of item `j`'s value of `tag`.
fn group_index(f: &Fold, j: usize, tag: &str, values: &[String]) -> Option<usize> {
    let v = f.bank.tags(j).get(tag)?;
    values.binary_search_by(|x| x.as_str().cmp(v)).ok()
}

/// The items of `exam` in each group of `truth`.
fn asked_by_group(f: &Fold, exam: &[usize], tag: &str, truth: &GroupTruth) -> Vec<Vec<usize>> {
    let mut asked = vec![Vec::new(); truth.values.len()];
    for &j in exam {
        if let Some(g) = group_index(f, j, tag, &truth.values) {
            asked[g].push(j);
        }
    }
    asked
}

/// Each held-out examinee's predicted score on every value of `tag`, for
/// the exams of `runs` (`truths` from [`group_truths`]): `predict(fold
/// index, exam)` gives the exam's predicted score on each value of the
/// fold's truth, in its order (for example [`posterior_groups`]).
///
/// # Errors
/// The first error of `predict`.
pub fn group_details<F: AsRef<Fold> + Sync>(
    folds: &[F],
    truths: &[GroupTruth],
    runs: &[SeedRun],
    (calibration, method, items): (&str, &str, usize),
    tag: &str,
    predict: impl Fn(usize, &[usize]) -> Result<Vec<PredictedScore>> + Sync,
) -> Result<Vec<LooGroupDetail>> {
    over_exams(folds, runs, |fi, f, exam, seed| {
        let truth = &truths[fi];
        let predicted = predict(fi, exam)?;
        let asked = asked_by_group(f, exam, tag, truth);
        let at = ExamCells::new(f, (calibration, items), seed, tag);
        Ok((0..truth.values.len())
            .map(|g| {
                let (v, o) = (&truth.values[g], truth.observed[g]);
                at.cell(method, v, asked[g].len(), predicted[g], o)
            })
            .collect())
    })
}

/// `cells` of each fold's exam (by fold index) in every run, in run then
/// fold order.
fn over_exams<F: AsRef<Fold> + Sync>(
    folds: &[F],
    runs: &[SeedRun],
    cells: impl Fn(usize, &Fold, &[usize], u64) -> Result<Vec<LooGroupDetail>> + Sync,
) -> Result<Vec<LooGroupDetail>> {
    let mut out = Vec::new();
    for r in runs {
        let per_fold: Vec<Vec<LooGroupDetail>> = folds
            .par_iter()
            .enumerate()
            .zip(&r.exams)
            .map(|((fi, f), exam)| cells(fi, f.as_ref(), exam, r.seed))
            .collect::<Result<_>>()?;
        out.extend(per_fold.into_iter().flatten());
    }
    Ok(out)
}

/// [`group_details`] of the random-item baselines: `runs` hold each
/// fold's random items; `random-irt` scores them under `plan`'s estimator
/// and prior (as the baseline's bank score), `random-accuracy` takes each
/// group's proportion correct on its asked items, with its Wilson
/// interval (NaN for a group none was drawn from).
///
/// # Errors
/// As [`group_details`].
pub fn random_group_details<F: AsRef<Fold> + Sync>(
    folds: &[F],
    truths: &[GroupTruth],
    plan: &Plan,
    runs: &[SeedRun],
    (calibration, items): (&str, usize),
    tag: &str,
) -> Result<Vec<LooGroupDetail>> {
    over_exams(folds, runs, |fi, f, exam, seed| {
        let truth = &truths[fi];
        let design = scoring_design(f, plan, exam.len())?;
        let irt = posterior_groups(f, &design, exam, tag, truth)?;
        let asked = asked_by_group(f, exam, tag, truth);
        let irfs = f.bank.irfs();
        let at = ExamCells::new(f, (calibration, items), seed, tag);
        let mut cells = Vec::with_capacity(2 * truth.values.len());
        for (g, js) in asked.iter().enumerate() {
            let correct: f64 = js
                .iter()
                .filter_map(|&j| {
                    let m = (irfs[j].n_categories() - 1) as f64;
                    f.replay.answer(0, j).map(|x| x as f64 / m)
                })
                .sum();
            let accuracy = wilson(correct, js.len(), 0.95);
            let (v, o) = (&truth.values[g], truth.observed[g]);
            cells.push(at.cell("random-accuracy", v, js.len(), accuracy, o));
            cells.push(at.cell("random-irt", v, js.len(), irt[g], o));
        }
        Ok(cells)
    })
}

/// What the cells of one held-out exam share.
struct ExamCells<'a> {
    calibration: &'a str,
    items: usize,
    seed: u64,
    examinee: String,
    tag: &'a str,
}

impl<'a> ExamCells<'a> {
    fn new(f: &Fold, (calibration, items): (&'a str, usize), seed: u64, tag: &'a str) -> Self {
        ExamCells {
            calibration,
            items,
            seed,
            examinee: f.replay.examinees()[0].to_string(),
            tag,
        }
    }

    fn cell(
        &self,
        method: &str,
        value: &str,
        asked: usize,
        p: PredictedScore,
        observed: f64,
    ) -> LooGroupDetail {
        LooGroupDetail {
            calibration: self.calibration.to_owned(),
            method: method.to_owned(),
            items: self.items,
            seed: self.seed,
            examinee: self.examinee.clone(),
            tag: self.tag.to_owned(),
            value: value.to_owned(),
            asked,
            predicted: p.mean,
            predicted_lo: p.lo,
            predicted_hi: p.hi,
            observed,
        }
    }
}

/// The exam's predicted score on each group of `truth`, in its order, from
/// the posterior of a session of `design` that recorded the exam's answers
/// (NaN for a value the bank has no item of).
///
/// # Errors
/// An asked item without a recorded answer.
pub fn posterior_groups(
    f: &Fold,
    design: &Arc<Design>,
    exam: &[usize],
    tag: &str,
    truth: &GroupTruth,
) -> Result<Vec<PredictedScore>> {
    let ids = f.bank.ids();
    let answers: Vec<(&str, usize)> = exam
        .iter()
        .map(|&j| {
            f.replay
                .answer(0, j)
                .map(|x| (ids[j].as_str(), x))
                .ok_or_else(|| {
                    Error::config(format!(
                        "group scores: item {} was asked but has no answer",
                        ids[j]
                    ))
                })
        })
        .collect::<Result<_>>()?;
    let mut session = Session::start(Arc::clone(design), 0);
    session.record_all(&answers)?;
    let scores: BTreeMap<String, PredictedScore> = session
        .predicted_by(tag, 0.95)?
        .into_iter()
        .map(|g| (g.value, g.score))
        .collect();
    let missing = PredictedScore {
        mean: f64::NAN,
        lo: f64::NAN,
        hi: f64::NAN,
    };
    Ok(truth
        .values
        .iter()
        .map(|v| scores.get(v).copied().unwrap_or(missing))
        .collect())
}

/// Summary rows of `details`: per calibration, method, length and tag, one
/// row per value and one pooling all values ([`POOLED`]), in the order the
/// details first name them.
pub fn group_rows(details: &[LooGroupDetail]) -> Vec<LooGroupRow> {
    // (calibration, method, items, tag) -> value -> cells, in first-seen order.
    type Key<'a> = (&'a str, &'a str, usize, &'a str);
    let mut keys: Vec<Key> = Vec::new();
    let mut cells: BTreeMap<Key, BTreeMap<&str, Vec<&LooGroupDetail>>> = BTreeMap::new();
    for d in details {
        let key = (
            d.calibration.as_str(),
            d.method.as_str(),
            d.items,
            d.tag.as_str(),
        );
        if !cells.contains_key(&key) {
            keys.push(key);
        }
        cells
            .entry(key)
            .or_default()
            .entry(d.value.as_str())
            .or_default()
            .push(d);
    }
    let mut rows = Vec::new();
    for key in keys {
        let by_value = &cells[&key];
        let mut pooled: Vec<Scored> = Vec::new();
        for (value, ds) in by_value {
            let scored = cross_validated(ds);
            rows.push(summary(key, value, &scored));
            pooled.extend(scored);
        }
        if by_value.len() > 1 {
            rows.push(summary(key, POOLED, &pooled));
        }
    }
    rows
}

/// One cell: the prediction, its cross-validated linked form, the truth and
/// the items asked in the group.
pub(super) struct Scored {
    pub(super) predicted: PredictedScore,
    pub(super) linked: PredictedScore,
    observed: f64,
    asked: usize,
}

/// Every cell of one group with the prediction mapped by the line fitted on
/// the other examinees' cells.
pub(super) fn cross_validated(ds: &[&LooGroupDetail]) -> Vec<Scored> {
    let mut names: Vec<&str> = ds.iter().map(|d| d.examinee.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let group_of = |d: &LooGroupDetail| names.binary_search(&d.examinee.as_str()).unwrap_or(0);
    let groups: Vec<usize> = ds.iter().map(|d| group_of(d)).collect();
    let pairs: Vec<(f64, f64)> = ds.iter().map(|d| (d.predicted, d.observed)).collect();
    ds.iter()
        .zip(ScoreLink::leave_group_out(&pairs, &groups))
        .map(|(d, line)| {
            let predicted = PredictedScore {
                mean: d.predicted,
                lo: d.predicted_lo,
                hi: d.predicted_hi,
            };
            Scored {
                predicted,
                linked: line.apply_score(predicted, 0.95),
                observed: d.observed,
                asked: d.asked,
            }
        })
        .collect()
}

fn summary(
    (calibration, method, items, tag): (&str, &str, usize, &str),
    value: &str,
    cells: &[Scored],
) -> LooGroupRow {
    let ok: Vec<&Scored> = cells
        .iter()
        .filter(|c| c.predicted.mean.is_finite() && c.observed.is_finite())
        .collect();
    let n = ok.len();
    let mean = |f: &dyn Fn(&Scored) -> f64| {
        if n == 0 {
            f64::NAN
        } else {
            ok.iter().map(|c| f(c)).sum::<f64>() / n as f64
        }
    };
    let observed: Vec<f64> = ok.iter().map(|c| c.observed).collect();
    let predicted: Vec<PredictedScore> = ok.iter().map(|c| c.predicted).collect();
    let linked: Vec<PredictedScore> = ok.iter().map(|c| c.linked).collect();
    let (coverage, width) = interval_coverage(&predicted, &observed);
    let (linked_coverage, linked_width) = interval_coverage(&linked, &observed);
    LooGroupRow {
        calibration: calibration.to_owned(),
        method: method.to_owned(),
        items,
        tag: tag.to_owned(),
        value: value.to_owned(),
        cells: n,
        mean_asked: mean(&|c| c.asked as f64),
        mae: mean(&|c| (c.predicted.mean - c.observed).abs()),
        coverage,
        width,
        linked_mae: mean(&|c| (c.linked.mean - c.observed).abs()),
        linked_coverage,
        linked_width,
    }
}
