//! Leave-one-model-out evaluation of a bank's adaptive exams on real runs:
//! calibrate on every examinee but one, examine the held-out one by replay
//! of its recorded run, and compare the predicted bank score with its
//! observed full-run score. The held-out examinee's responses never enter
//! its calibration, so the figures are what a new model can expect.
//!
//! Each row of the report is one method at one length `k`, over every
//! held-out examinee and every seed:
//!
//! * `adaptive`: an adaptive exam of at most `k` items with the plan;
//! * `random-accuracy`: the plain proportion correct on `k` items drawn at
//!   random from the examinee's recorded run, with its Wilson interval;
//! * `random-irt`: the same `k` items scored with the calibration (the
//!   plan's estimator and prior, the same [`BankScore`] rule);
//! * `irt-full-run` (once): the whole recorded run scored with the
//!   calibration, the floor any exam of the bank can reach.
//!
//! Per seed, MAE, largest error and Spearman's correlation are taken over
//! the held-out examinees; a row reports their mean over seeds (and the
//! worst error of any seed). Over all seeds it also splits the squared
//! error into the part each examinee keeps on every seed (`persistent`)
//! and the part the seed changes (`spread`), and counts how often the 95%
//! intervals hold the observed score (`coverage`, `width`).
//!
//! With [`LooConfig::group_tags`], every exam's predicted score on each
//! value of a tag (each category, say) is also set against the examinee's
//! observed score on those items ([`LooReport::group_rows`]). The report's
//! exams also fit the [`ScoreLink`](crate::cat::ScoreLink) lines of a
//! score-link file ([`fit_links`]).
//!
//! The pieces ([`Fold`], [`held_out_runs`], [`random_exam`], [`row_of`],
//! the group cells) are public so that studies can build other
//! evaluations from them.

mod baselines;
mod exams;
mod fold;
mod groups;
mod link;
mod output;
mod summary;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calibrate::CalibrationConfig;
use crate::cat::{BankScore, Content, Design, Plan, Tags, examinee_seed};
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;
use crate::ids::ItemId;

pub use baselines::{RandomExam, random_exam, random_items, score_items, scoring_design, wilson};
pub use exams::{Exam, SeedRun, adaptive_exam, held_out_runs, uses_randomness};
pub use fold::{Fold, FoldSpec, answered_items, fold_params};
pub use groups::{
    BANK_TAG, GroupTruth, LooGroupDetail, LooGroupRow, POOLED, bank_cell, group_details,
    group_rows, group_truths, posterior_groups, random_group_details,
};
pub use link::{describe_links, fit_links, link_file};
pub use output::{
    group_markdown, markdown, run_line, write_details, write_group_details, write_group_rows,
    write_rows,
};
pub use summary::{details_of, row_of};

/// A callback given the training data of each fold calibration run.
pub type CalibrationHook = Arc<dyn Fn(&ResponseMatrix) + Send + Sync>;

/// What a leave-one-out evaluation runs.
#[derive(Clone)]
pub struct LooConfig {
    /// Calibration of every fold: its model, priors and quadrature.
    pub calibration: CalibrationConfig,
    /// Exam lengths `k`.
    pub lengths: Vec<usize>,
    /// Number of seeds; seed `s` is `seed + s`.
    pub seeds: usize,
    /// First seed.
    pub seed: u64,
    /// The plan (`max_items` is set to each length).
    pub plan: Plan,
    /// Balance content over the values of this tag, with each fold's bank
    /// shares as targets.
    pub balance: Option<String>,
    /// How predicted bank scores are formed.
    pub score: BankScore,
    /// Item tags (content balance, group scores).
    pub tags: HashMap<ItemId, Tags>,
    /// Rows of the examinees held out in turn (all when `None`).
    pub held_out: Option<Vec<usize>>,
    /// A folder where each fold's calibration is saved and reused.
    pub cache: Option<PathBuf>,
    /// Tags whose per-value predicted scores are recorded for every method
    /// ([`LooReport::group_details`] and [`LooReport::group_rows`]).
    pub group_tags: Vec<String>,
    /// Called with the training data of every fold calibration that is run
    /// ([`FoldSpec::on_calibration`]).
    pub on_calibration: Option<CalibrationHook>,
}

impl std::fmt::Debug for LooConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LooConfig")
            .field("calibration", &self.calibration)
            .field("lengths", &self.lengths)
            .field("seeds", &self.seeds)
            .field("seed", &self.seed)
            .field("plan", &self.plan)
            .field("balance", &self.balance)
            .field("score", &self.score)
            .field("held_out", &self.held_out)
            .field("cache", &self.cache)
            .field("group_tags", &self.group_tags)
            .finish_non_exhaustive()
    }
}

impl LooConfig {
    /// The evaluation of the default plan on 2PL calibrations: lengths 25,
    /// 50 and 100, 20 seeds from 1, every examinee held out in turn.
    pub fn new(calibration: CalibrationConfig) -> Self {
        LooConfig {
            calibration,
            lengths: vec![25, 50, 100],
            seeds: 20,
            seed: 1,
            plan: Plan::default(),
            balance: None,
            score: BankScore::default(),
            tags: HashMap::new(),
            held_out: None,
            cache: None,
            group_tags: Vec::new(),
            on_calibration: None,
        }
    }

    /// The plan at length `k`.
    pub fn plan_at(&self, k: usize) -> Plan {
        Plan {
            max_items: k,
            min_items: self.plan.min_items.min(k),
            ..self.plan.clone()
        }
    }

    /// The seeds of the evaluation, in order.
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds as u64).map(|s| self.seed + s).collect()
    }

    /// The rows held out in turn among `n` examinees.
    ///
    /// # Errors
    /// A row out of range, fewer than three examinees, no lengths or seeds.
    pub fn held_rows(&self, n: usize) -> Result<Vec<usize>> {
        if self.lengths.is_empty() || self.seeds == 0 {
            return Err(Error::config("leave-one-out needs lengths and seeds"));
        }
        if n < 3 {
            return Err(Error::config(
                "leave-one-out needs at least three examinees",
            ));
        }
        let held: Vec<usize> = match &self.held_out {
            Some(h) => h.clone(),
            None => (0..n).collect(),
        };
        match held.iter().find(|&&r| r >= n) {
            Some(r) => Err(Error::config(format!("held-out row {r} is out of range"))),
            None => Ok(held),
        }
    }
}

/// One method at one length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooRow {
    /// Calibration model.
    pub calibration: String,
    /// `adaptive`, `random-accuracy`, `random-irt` or `irt-full-run` (and
    /// the names of other methods a study adds).
    pub method: String,
    /// Exam length `k` (the mean run length for `irt-full-run`).
    pub items: usize,
    /// Mean over seeds of the mean absolute error (proportion).
    pub mae: f64,
    /// Standard deviation over seeds of the MAE.
    pub mae_sd: f64,
    /// Root mean square over examinees of each examinee's mean signed error
    /// over seeds: the error a seed does not change.
    pub persistent: f64,
    /// Root mean square over examinees of the standard deviation over seeds
    /// of each examinee's prediction; `persistent^2 + spread^2` is the mean
    /// squared error.
    pub spread: f64,
    /// Share of the (examinee, seed) predictions whose 95% interval holds
    /// the observed score (NaN for a method without intervals).
    pub coverage: f64,
    /// Mean width of those intervals (proportion).
    pub width: f64,
    /// Mean over seeds of the largest error over examinees.
    pub max_error: f64,
    /// Largest error over every seed and examinee.
    pub worst: f64,
    /// Mean over seeds of Spearman's correlation over examinees.
    pub spearman: f64,
    /// Mean number of items answered.
    pub mean_length: f64,
    /// Mean over seeds of the largest item exposure rate across the
    /// held-out examinees' exams.
    pub max_exposure: f64,
    /// Mean over seeds of the mean overlap between two exams.
    pub mean_overlap: f64,
    /// Wall time of the row's exams (with exposure-parameter simulation;
    /// without calibration), seconds.
    pub seconds: f64,
}

/// One held-out examinee's prediction by one method, length and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooDetail {
    /// Calibration model.
    pub calibration: String,
    /// Method, as in [`LooRow::method`].
    pub method: String,
    /// Exam length.
    pub items: usize,
    /// Seed.
    pub seed: u64,
    /// The held-out examinee.
    #[serde(rename = "model")]
    pub examinee: String,
    /// Predicted bank score.
    #[serde(rename = "predicted_score")]
    pub predicted: f64,
    /// Lower end of its 95% interval (NaN for a method without one).
    pub predicted_lo: f64,
    /// Upper end of its 95% interval.
    pub predicted_hi: f64,
    /// Observed full-run score.
    #[serde(rename = "observed_score")]
    pub observed: f64,
}

/// The result of [`leave_one_out`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooReport {
    /// The rows, by calibration, then length, then method.
    pub rows: Vec<LooRow>,
    /// Examinees held out.
    pub held_out: Vec<String>,
    /// Items of the response matrix.
    pub n_items: usize,
    /// Calibration wall time (all folds), seconds, by calibration.
    pub calibration_seconds: Vec<(String, f64)>,
    /// Every prediction behind the rows.
    pub details: Vec<LooDetail>,
    /// The plan of each adaptive method, as prepared for the first fold
    /// at the last length.
    pub plans: Vec<(String, Plan)>,
    /// Every per-group prediction of [`LooConfig::group_tags`] behind
    /// `group_rows`, and the bank score of the same exams under the tag
    /// [`BANK_TAG`].
    pub group_details: Vec<LooGroupDetail>,
    /// Per-group summaries ([`group_rows`] of `group_details`).
    pub group_rows: Vec<LooGroupRow>,
}

/// The adaptive method's name in the rows.
pub const ADAPTIVE: &str = "adaptive";

/// Runs the leave-one-out evaluation of `config` on `responses`.
/// `progress` receives a short status text now and then.
///
/// # Errors
/// No lengths or seeds, fewer than three examinees, a held-out row out of
/// range, a balance or group tag no item has
/// ([`ErrorKind::Config`](crate::ErrorKind::Config)); a calibration that
/// fails; a plan the folds' banks reject.
pub fn leave_one_out(
    responses: &ResponseMatrix,
    config: &LooConfig,
    progress: &mut dyn FnMut(String),
) -> Result<LooReport> {
    let held = config.held_rows(responses.n_examinees())?;
    let seeds = config.seed_list();
    let name = config.calibration.model.to_string();
    progress(format!("{name}: calibrating {} folds", held.len()));
    let t = Instant::now();
    let spec = FoldSpec {
        calibration: &config.calibration,
        tags: &config.tags,
        cache: config.cache.as_deref().map(|d| (d, name.as_str())),
        on_calibration: config
            .on_calibration
            .as_deref()
            .map(|f| f as &(dyn Fn(&ResponseMatrix) + Sync)),
    };
    let folds: Vec<Fold> = held
        .par_iter()
        .map(|&row| Fold::new(responses, spec, row, None))
        .collect::<Result<_>>()?;
    let mut report = LooReport {
        rows: Vec::new(),
        held_out: folds.iter().map(|f| f.examinee().to_string()).collect(),
        n_items: responses.n_items(),
        calibration_seconds: vec![(name.clone(), t.elapsed().as_secs_f64())],
        details: Vec::new(),
        plans: Vec::new(),
        group_details: Vec::new(),
        group_rows: Vec::new(),
    };
    let eval = Evaluation {
        name: &name,
        config,
        observed: folds.iter().map(Fold::observed).collect(),
        truths: config
            .group_tags
            .iter()
            .map(|t| group_truths(&folds, t))
            .collect::<Result<_>>()?,
        folds: &folds,
        seeds: &seeds,
    };
    eval.floor(&mut report)?;
    for &k in &config.lengths {
        progress(format!("{name}: {k} items, adaptive exams"));
        eval.adaptive(k, &mut report)?;
        progress(format!("{name}: {k} items, random items"));
        eval.baselines(k, &mut report)?;
    }
    report.group_rows = group_rows(&report.group_details);
    Ok(report)
}

/// One calibration's folds and what every row shares.
struct Evaluation<'a> {
    name: &'a str,
    config: &'a LooConfig,
    folds: &'a [Fold],
    /// The held-out examinees' observed full-run scores, by fold.
    observed: Vec<f64>,
    /// Per group tag, per fold, the observed group scores.
    truths: Vec<Vec<GroupTruth>>,
    seeds: &'a [u64],
}

impl Evaluation<'_> {
    fn names(&self) -> Vec<String> {
        self.folds
            .iter()
            .map(|f| f.examinee().to_string())
            .collect()
    }

    /// Adds the row of `runs` and its details; `grouped` rows also give
    /// the bank-score cells of the group summary.
    fn push(&self, report: &mut LooReport, row: LooRow, runs: &[SeedRun], grouped: bool) {
        let details = details_of(&row, runs, &self.names(), &self.observed);
        if grouped && !self.config.group_tags.is_empty() {
            report.group_details.extend(details.iter().map(bank_cell));
        }
        report.details.extend(details);
        report.rows.push(row);
    }

    fn row(&self, method: &str, k: usize, runs: &[SeedRun], seconds: f64) -> LooRow {
        let n_items = self.folds[0].bank.len();
        row_of(
            self.name,
            method.to_owned(),
            k,
            &self.observed,
            runs,
            n_items,
            seconds,
        )
    }

    /// The floor: every recorded answer scored with the calibration.
    fn floor(&self, report: &mut LooReport) -> Result<()> {
        let t = Instant::now();
        let plan = &self.config.plan;
        let full: Vec<PredictedScore> = self
            .folds
            .par_iter()
            .map(|f| score_items(f, plan, BankScore::Model, f.replay.run(0)))
            .collect::<Result<_>>()?;
        let run = SeedRun {
            seed: self.config.seed,
            predicted: full,
            exams: Vec::new(),
        };
        let total: usize = self.folds.iter().map(|f| f.replay.run(0).len()).sum();
        let mean_run = total / self.folds.len();
        let runs = std::slice::from_ref(&run);
        let mut floor = self.row("irt-full-run", mean_run, runs, t.elapsed().as_secs_f64());
        floor.mean_length = mean_run as f64;
        self.push(report, floor, runs, false);
        Ok(())
    }

    /// The plan's adaptive exams at length `k`.
    fn adaptive(&self, k: usize, report: &mut LooReport) -> Result<()> {
        let t = Instant::now();
        let config = self.config;
        let designs = self
            .folds
            .par_iter()
            .map(|f| {
                let mut plan = config.plan_at(k);
                if let Some(tag) = &config.balance {
                    plan.content = Some(Content::mirroring(&f.bank, tag)?);
                    plan.validate()?;
                }
                Design::prepare(&f.bank, &plan, examinee_seed(config.seed, f.row))
            })
            .collect::<Result<Vec<_>>>()?;
        let random = designs.iter().any(|d| uses_randomness(d));
        let runs = held_out_runs(self.folds.len(), self.seeds, random, |fi, s| {
            adaptive_exam(&self.folds[fi], &designs[fi], config.score, s)
        })?;
        let plan = designs[0].plan().clone();
        match report.plans.iter_mut().find(|p| p.0 == ADAPTIVE) {
            Some(p) => p.1 = plan,
            None => report.plans.push((ADAPTIVE.to_owned(), plan)),
        }
        let row = self.row(ADAPTIVE, k, &runs, t.elapsed().as_secs_f64());
        self.push(report, row, &runs, true);
        for (ti, tag) in config.group_tags.iter().enumerate() {
            let truths = &self.truths[ti];
            report.group_details.extend(group_details(
                self.folds,
                truths,
                &runs,
                (self.name, ADAPTIVE, k),
                tag,
                |fi, exam| posterior_groups(&self.folds[fi], &designs[fi], exam, tag, &truths[fi]),
            )?);
        }
        Ok(())
    }

    /// The random-item baselines at length `k`: the same `k` random
    /// recorded items per seed, as plain accuracy and scored with the
    /// calibration.
    fn baselines(&self, k: usize, report: &mut LooReport) -> Result<()> {
        let t = Instant::now();
        let plan = self.config.plan_at(k);
        let mut accuracy = Vec::new();
        let mut irt = Vec::new();
        for &s in self.seeds {
            let outs: Vec<RandomExam> = self
                .folds
                .par_iter()
                .map(|f| random_exam(f, &plan, self.config.score, s))
                .collect::<Result<_>>()?;
            let exams: Vec<Vec<usize>> = outs
                .iter()
                .map(|o| o.items.iter().map(|p| p.0 as usize).collect())
                .collect();
            accuracy.push(SeedRun {
                seed: s,
                predicted: outs.iter().map(|o| o.accuracy).collect(),
                exams: exams.clone(),
            });
            irt.push(SeedRun {
                seed: s,
                predicted: outs.iter().map(|o| o.irt).collect(),
                exams,
            });
        }
        let secs = t.elapsed().as_secs_f64();
        for (ti, tag) in self.config.group_tags.iter().enumerate() {
            report.group_details.extend(random_group_details(
                self.folds,
                &self.truths[ti],
                &plan,
                &irt,
                (self.name, k),
                tag,
            )?);
        }
        for (method, runs) in [("random-accuracy", &accuracy), ("random-irt", &irt)] {
            let row = self.row(method, k, runs, secs);
            self.push(report, row, runs, true);
        }
        Ok(())
    }
}
