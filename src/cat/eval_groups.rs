//! Per-group predictions of leave-one-out exams: each held-out exam's
//! predicted score on every value of a tag (e.g. each MMLU-Pro category),
//! set against the examinee's observed score on those items in its whole
//! run, and their summary with a cross-validated per-group score link.
//!
//! `exam` reports these per-group scores beside the bank score; their
//! intervals come from the one-ability posterior, which cannot see a
//! model being stronger in one subject than its overall ability says.
//! The cross-validated line says what a per-group line written by
//! `--write-score-link` would do for a model it was not fitted on: for
//! held-out examinee `m`, the line of group `c` is fitted on the other
//! held-out examinees' pairs (their exams' predicted group score and
//! observed group score, pooled over seeds) and maps `m`'s prediction,
//! with the line's prediction interval.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::eval_fixed::{scoring_design, wilson};
use super::eval_loo::{Fold, LooDetail, Prepared, SeedRun};
use super::eval_metrics::interval_coverage;
use super::eval_subscore::SubscoreModel;
use super::plan::Plan;
use super::score_link::ScoreLink;
use super::session::Session;
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
    pub examinee: String,
    /// The tag.
    pub tag: String,
    /// The tag's value that defines the group.
    pub value: String,
    /// Items of the exam in the group.
    pub asked: usize,
    /// Predicted group score.
    pub predicted: f64,
    /// Lower end of its 95% interval (NaN for a method without one).
    pub predicted_lo: f64,
    /// Upper end of its 95% interval.
    pub predicted_hi: f64,
    /// The examinee's observed score on the group's items of its whole
    /// run (NaN when it answered none).
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
pub(super) fn bank_cell(d: &LooDetail) -> LooGroupDetail {
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
pub(super) struct GroupTruth {
    values: Vec<String>,
    observed: Vec<f64>,
}

/// The [`GroupTruth`] of every fold for `tag`.
///
/// # Errors
/// A tag no item of the bank has.
pub(super) fn group_truths(folds: &[Fold], tag: &str) -> Result<Vec<GroupTruth>> {
    folds
        .par_iter()
        .map(|f| {
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
/// the exams of `runs` (one prepared plan per fold, `truths` from
/// [`group_truths`]): the exam's answers are recorded in a new session of
/// the fold's design and the posterior gives [`Session::predicted_by`]; a
/// plan with a per-group model of the same tag (`subscore=TAG`) gives that
/// model's shrunk predictions (no interval).
///
/// # Errors
/// An asked item without a recorded answer.
pub(super) fn group_details(
    folds: &[Fold],
    truths: &[GroupTruth],
    prepared: &[Prepared],
    runs: &[SeedRun],
    (calibration, method, items): (&str, &str, usize),
    tag: &str,
) -> Result<Vec<LooGroupDetail>> {
    over_exams(folds, runs, |fi, f, exam, seed| {
        let (design, _, sub) = &prepared[fi];
        let truth = &truths[fi];
        let predicted = exam_groups(f, design, sub.as_deref(), exam, tag, truth)?;
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
fn over_exams(
    folds: &[Fold],
    runs: &[SeedRun],
    cells: impl Fn(usize, &Fold, &[usize], u64) -> Result<Vec<LooGroupDetail>> + Sync,
) -> Result<Vec<LooGroupDetail>> {
    let mut out = Vec::new();
    for r in runs {
        let per_fold: Vec<Vec<LooGroupDetail>> = folds
            .par_iter()
            .enumerate()
            .zip(&r.exams)
            .map(|((fi, f), exam)| cells(fi, f, exam, r.seed))
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
pub(super) fn random_group_details(
    folds: &[Fold],
    truths: &[GroupTruth],
    plan: &Plan,
    runs: &[SeedRun],
    (calibration, items): (&str, usize),
    tag: &str,
) -> Result<Vec<LooGroupDetail>> {
    over_exams(folds, runs, |fi, f, exam, seed| {
        let truth = &truths[fi];
        let design = scoring_design(f, plan, exam.len())?;
        let irt = exam_groups(f, &design, None, exam, tag, truth)?;
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

/// The exam's predicted score on each group of `truth`, in its order: from
/// `sub`, a per-group model of the same tag, when given; otherwise from
/// the posterior of a session of `design` that recorded the exam's answers.
fn exam_groups(
    f: &Fold,
    design: &Arc<Design>,
    sub: Option<&SubscoreModel>,
    exam: &[usize],
    tag: &str,
    truth: &GroupTruth,
) -> Result<Vec<PredictedScore>> {
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
    let scores: BTreeMap<String, PredictedScore> = match sub.filter(|m| m.tag() == tag) {
        // Items without the tag form a group of their own in the model,
        // which no value of `truth` names.
        Some(model) => model
            .predict_groups(&f.bank, design.plan().prior, &answers)
            .into_iter()
            .map(|(v, s)| {
                let p = PredictedScore {
                    mean: s,
                    lo: f64::NAN,
                    hi: f64::NAN,
                };
                (v, p)
            })
            .collect(),
        None => {
            let mut session = Session::start(Arc::clone(design), 0);
            let named: Vec<(&str, usize)> =
                answers.iter().map(|&(j, x)| (ids[j].as_str(), x)).collect();
            session.record_all(&named)?;
            session
                .predicted_by(tag, 0.95)?
                .into_iter()
                .map(|g| (g.value, g.score))
                .collect()
        }
    };
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
struct Scored {
    predicted: PredictedScore,
    linked: PredictedScore,
    observed: f64,
    asked: usize,
}

/// Every cell of one group with the prediction mapped by the line fitted on
/// the other examinees' cells.
fn cross_validated(ds: &[&LooGroupDetail]) -> Vec<Scored> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cat::eval_loo::tests::{config, data_named};
    use crate::cat::{BankScore, LooConfig, leave_one_out};

    fn cell(examinee: &str, seed: u64, predicted: f64, observed: f64) -> LooGroupDetail {
        LooGroupDetail {
            calibration: "2pl".into(),
            method: "adaptive".into(),
            items: 10,
            seed,
            examinee: examinee.into(),
            tag: "category".into(),
            value: "a".into(),
            asked: 3,
            predicted,
            predicted_lo: predicted - 0.01,
            predicted_hi: predicted + 0.01,
            observed,
        }
    }

    #[test]
    fn each_examinee_is_mapped_by_the_line_of_the_others() {
        // Four examinees on observed = 0.1 + 0.8 p exactly (two seeds each),
        // a fifth 0.2 above it: the fifth's line is exact and misses it by
        // 0.2 with a zero-width interval; the others' lines are pulled up by
        // the fifth and miss.
        let line = |p: f64| 0.1 + 0.8 * p;
        let mut ds = Vec::new();
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            for seed in 0..2 {
                let p = 0.2 + 0.1 * i as f64 + 0.01 * seed as f64;
                ds.push(cell(name, seed, p, line(p)));
            }
        }
        for seed in 0..2 {
            let p = 0.45 + 0.01 * seed as f64;
            ds.push(cell("e", seed, p, line(p) + 0.2));
        }
        let refs: Vec<&LooGroupDetail> = ds.iter().collect();
        let scored = cross_validated(&refs);
        for (d, s) in ds.iter().zip(&scored) {
            let miss = (s.linked.mean - d.observed).abs();
            if d.examinee == "e" {
                assert!((miss - 0.2).abs() < 1e-12, "{miss}");
                assert!((s.linked.hi - s.linked.lo).abs() < 1e-12);
            } else {
                assert!(miss > 1e-3, "{} is linked by a line without e", d.examinee);
            }
            assert_eq!(s.predicted.mean, d.predicted);
        }
        let rows = group_rows(&ds);
        assert_eq!(rows.len(), 1, "one value: no pooled row");
        let r = &rows[0];
        assert_eq!(r.cells, 10);
        let unlinked: f64 = ds.iter().map(|d| (d.predicted - d.observed).abs()).sum();
        assert!((r.mae - unlinked / 10.0).abs() < 1e-12);
        let linked: f64 = scored
            .iter()
            .zip(&ds)
            .map(|(s, d)| (s.linked.mean - d.observed).abs())
            .sum();
        assert!((r.linked_mae - linked / 10.0).abs() < 1e-12);
        // The unlinked intervals (+-0.01) hold the observed scores only near
        // the line's fixed point p = 0.5: examinee d's two cells.
        assert!((r.coverage - 0.2).abs() < 1e-12, "{}", r.coverage);
        assert!((r.width - 0.02).abs() < 1e-12);
    }

    #[test]
    fn group_scores_add_up_to_the_bank_score_of_the_same_exams() {
        let (m, tags) = data_named("g");
        let config = LooConfig {
            seeds: 2,
            score: BankScore::Model,
            group_tags: vec!["category".into()],
            ..config(
                tags,
                &["content=category", "content=category+subscore=category"],
            )
        };
        let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        // The fixture tags every third of its 60 items `a`, the rest `b`.
        let share = |v: &str| if v == "a" { 20.0 / 60.0 } else { 40.0 / 60.0 };
        let methods = [
            "adaptive",
            "adaptive content=category",
            "adaptive content=category+subscore=category",
            "random-irt",
            "random-accuracy",
        ];
        for method in methods {
            let row = report.rows.iter().find(|r| r.method == method).unwrap();
            let mut asked = 0;
            for d in report.details.iter().filter(|d| d.method == method) {
                let cells: Vec<&LooGroupDetail> = report
                    .group_details
                    .iter()
                    .filter(|g| {
                        g.tag == "category"
                            && g.method == method
                            && g.seed == d.seed
                            && g.examinee == d.examinee
                    })
                    .collect();
                let values: Vec<&str> = cells.iter().map(|g| g.value.as_str()).collect();
                assert_eq!(values, ["a", "b"], "{method}");
                // Every fixture examinee answered every item, so the group
                // scores weighted by group size give the whole-run score ...
                let observed: f64 = cells.iter().map(|g| share(&g.value) * g.observed).sum();
                assert!((observed - d.observed).abs() < 1e-12, "{method}");
                // ... and, the bank curve being the size-weighted mean of
                // the group curves, the predictions give the bank's: the
                // session rebuilt from the exam's answers has its posterior.
                // Plain accuracy is the groups' accuracies weighted by the
                // items drawn from each.
                let (predicted, without_interval) = if method == "random-accuracy" {
                    let drawn = cells.iter().filter(|g| g.asked > 0);
                    let correct: f64 = drawn.map(|g| g.asked as f64 * g.predicted).sum();
                    (correct / 10.0, false)
                } else {
                    let p = cells.iter().map(|g| share(&g.value) * g.predicted).sum();
                    (p, method.contains("subscore"))
                };
                assert!(
                    (predicted - d.predicted).abs() < 1e-9,
                    "{method}: {predicted} vs {}",
                    d.predicted
                );
                assert!(
                    cells
                        .iter()
                        .filter(|g| g.asked > 0)
                        .all(|g| g.predicted_lo.is_nan() == without_interval)
                );
                asked += cells.iter().map(|g| g.asked).sum::<usize>();
            }
            let exams = report.details.iter().filter(|d| d.method == method).count();
            assert!((asked as f64 / exams as f64 - row.mean_length).abs() < 1e-12);
            // The bank-score rows of the group summary are the row's own.
            let bank = report
                .group_rows
                .iter()
                .find(|r| r.method == method && r.tag == BANK_TAG)
                .unwrap();
            assert!((bank.mae - row.mae).abs() < 1e-12, "{method}");
            assert_eq!(bank.coverage.is_nan(), row.coverage.is_nan());
            if !row.coverage.is_nan() {
                assert!((bank.coverage - row.coverage).abs() < 1e-12);
            }
            let by_value: Vec<&LooGroupRow> = report
                .group_rows
                .iter()
                .filter(|r| r.method == method && r.tag == "category")
                .collect();
            let values: Vec<&str> = by_value.iter().map(|r| r.value.as_str()).collect();
            assert_eq!(values, ["a", "b", POOLED]);
            assert_eq!(by_value[2].cells, by_value[0].cells + by_value[1].cells);
            assert_eq!(by_value[0].cells, 2 * 2, "2 held out x 2 seeds per value");
        }
        // Rows without group scores have none.
        assert!(
            report
                .group_details
                .iter()
                .all(|g| methods.contains(&g.method.as_str()))
        );
    }

    #[test]
    fn an_unknown_tag_is_refused() {
        let (m, tags) = data_named("u");
        let config = LooConfig {
            group_tags: vec!["flavour".into()],
            ..config(tags, &[])
        };
        let e = leave_one_out(&m, &config, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("flavour"), "{e}");
    }
}
