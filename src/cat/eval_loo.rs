//! Leave-one-examinee-out evaluation on real runs: calibrate on all
//! examinees but one, examine the held-out one by replay of its recorded
//! run, and compare the predicted bank score with its observed full-run
//! score. The held-out examinee's responses never enter its calibration.
//!
//! Each row of the result is one method at one length `k`, over every
//! held-out examinee and every seed:
//!
//! * `adaptive` (and each plan [`Variant`]): an adaptive exam of at most
//!   `k` items;
//! * `random-accuracy`: the plain proportion correct on `k` items drawn at
//!   random from the examinee's recorded run;
//! * `random-irt`: the same `k` items scored with the calibration
//!   (the plan's estimator and prior, the same [`BankScore`] rule);
//! * `adaptive inner-choice` (with [`LooConfig::inner_choice`]): per fold,
//!   the variant whose exams best predict the fold's own calibration
//!   examinees (a nested validation that never sees the held-out one,
//!   but scores the plans in-sample: on the examinees the bank was
//!   calibrated on);
//! * `adaptive inner-choice-refit` (with [`LooConfig::inner_refit`]): the
//!   same choice made out-of-sample: each calibration examinee is examined
//!   on a bank calibrated without it and without the held-out one;
//! * `adaptive <variant> linked`, `adaptive inner-choice-refit linked`
//!   and `random-irt linked` (with [`LooConfig::inner_link`]): the same
//!   predictions mapped by a [`ScoreLink`] fitted on the refit inner exams
//!   of the same kind, with the link's prediction interval;
//! * `irt-full-run` (once per calibration model): the whole recorded run
//!   scored with the calibration, the floor any exam of the bank can reach.
//!
//! With [`LooConfig::group_tags`], every adaptive exam's predicted score on
//! each value of a tag (e.g. each category) is also set against the
//! examinee's observed score on those items ([`LooReport::group_rows`]).
//!
//! Per seed, MAE, largest error and Spearman's correlation are taken over
//! the held-out examinees; the row reports their mean over seeds (and the
//! worst error of any seed). Over all seeds it also splits the squared
//! error into the part each examinee keeps on every seed and the part the
//! seed changes, and counts how often the 95% intervals
//! (the posterior's; a linked row's prediction interval; plain accuracy's
//! Wilson interval) hold the observed score.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bank::CatBank;
use super::design::Design;
use super::eval_fixed::{RandomExam, random_exam, rescored_runs, score_items, score_two_part};
use super::eval_groups::{
    LooGroupDetail, LooGroupRow, bank_cell, group_details, group_rows, group_truths,
    random_group_details,
};
use super::eval_metrics::{error_split, errors, exposure, interval_coverage, spearman};
use super::eval_subscore::SubscoreModel;
use super::eval_two_part::TwoPart;
use super::eval_variant::{Variant, prepare_design};
use super::evaluation::{BankScore, exam, examinee_seed};
use super::plan::{Plan, Prior};
use super::replay::Replay;
use super::score_link::ScoreLink;
use super::tags::Tags;
use crate::bank::{Metadata, ParamSet};
use crate::calibrate::{CalibrationConfig, NormalPrior, calibrate};
use crate::data::{Cell, ResponseMatrix, answered_only};
use crate::error::{Error, Result};
use crate::estimate::{Estimator, Method, PredictedScore};
use crate::ids::{ExamineeId, ItemId};
use crate::model::{Irf, ModelKind};

/// What a leave-one-out evaluation runs.
#[derive(Debug, Clone)]
pub struct LooConfig {
    /// Calibration settings; `model` is replaced by each of `models`.
    pub calibration: CalibrationConfig,
    /// Calibration models to compare (e.g. rasch, 2pl, 3pl).
    pub models: Vec<ModelKind>,
    /// Exam lengths `k`.
    pub lengths: Vec<usize>,
    /// Number of seeds; seed `s` is `seed + s`.
    pub seeds: usize,
    /// First seed.
    pub seed: u64,
    /// The base plan (`max_items` is set to each length).
    pub plan: Plan,
    /// How predicted bank scores are formed.
    pub score: BankScore,
    /// Plan variants run beside the base plan.
    pub variants: Vec<Variant>,
    /// Item tags (for content-balanced variants).
    pub tags: HashMap<ItemId, Tags>,
    /// Rows of the examinees held out in turn (all when `None`).
    pub held_out: Option<Vec<usize>>,
    /// A folder where each fold's calibration is saved and reused.
    pub cache: Option<PathBuf>,
    /// Slope priors to compare: each `Some(sd)` calibrates every model
    /// with `ln a ~ N(0, sd)` in place of its default slope prior (other
    /// priors unchanged; a stronger pull toward `a = 1` for items calibrated
    /// on few examinees), `None` with the default. Empty: the default only.
    pub slope_priors: Vec<Option<f64>>,
    /// Adds the row `adaptive inner-choice`: in each fold, the base plan or
    /// one of `variants`, whichever predicts the fold's calibration
    /// examinees' full-run scores best (mean absolute error of their own
    /// replayed exams, first seed, same length); the held-out examinee is
    /// then examined with it. Nothing of the held-out examinee enters the
    /// choice.
    pub inner_choice: bool,
    /// Adds the row `adaptive inner-choice-refit`, the out-of-sample form
    /// of `inner_choice`. In the fold of held-out examinee `m`, each
    /// calibration examinee `j` is examined by replay, with the base plan
    /// and every variant, on a bank calibrated without both `m` and `j`
    /// (same model, priors, quadrature and tolerance as the fold's; cached
    /// in `cache` under both names); the plan with the lowest mean absolute
    /// error over the `j`s at the same length (mean over `seeds` for plans
    /// that use them) examines `m` on the fold's bank. `m`'s responses
    /// enter no inner calibration.
    pub inner_refit: bool,
    /// Adds, for the base plan and every variant, the row `adaptive
    /// <variant> linked`: in the fold of held-out examinee `m`, a
    /// [`ScoreLink`] fitted on the refit inner exams of the fold's
    /// calibration examinees (as for `inner_refit`: each on a bank
    /// calibrated without it and `m`, pairs pooled over seeds) maps `m`'s
    /// prediction. Also the row `adaptive inner-choice-refit linked`: per
    /// fold, the plan whose linked inner predictions are best, each inner
    /// examinee linked by a line fitted on the other inner examinees; and
    /// `random-irt linked`, the random-item baseline mapped by a line
    /// fitted on the inner examinees' random-item exams (same seeds), so
    /// adaptive and random selection are compared under the same scoring.
    pub inner_link: bool,
    /// Adds, for the base plan and every variant, the row `adaptive
    /// <variant> rescored`: each exam chosen as usual, its answers then
    /// scored with a second calibration of the same fold whose slope prior
    /// is `ln a ~ N(0, sd)` (the plan's estimator, prior and bank-score
    /// rule), so one calibration selects the items and another predicts
    /// the bank score.
    pub rescore_slope_prior: Option<f64>,
    /// Tags whose per-value predicted scores are recorded for the base plan,
    /// every variant and the random-item baselines (each held-out exam's
    /// predicted score on every
    /// value of the tag against the examinee's observed score on those
    /// items): [`LooReport::group_details`] and, summarised with a
    /// cross-validated per-group line, [`LooReport::group_rows`].
    pub group_tags: Vec<String>,
    /// The two-part model (`benches/LOO.md`, session 10): the no-answer
    /// indicator of every response (a matrix in the index space of the
    /// responses, 1 where no answer was extracted). Each fold then
    /// calibrates its bank on the answered responses only and a second
    /// model on the indicators, and every exam, random-item score and floor
    /// is scored with both. `None`: no answer counts as a wrong answer.
    pub no_answer: Option<Arc<ResponseMatrix>>,
}

/// One method at one length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooRow {
    /// Calibration model.
    pub calibration: String,
    /// `adaptive`, `adaptive <variant>`, `random-accuracy`, `random-irt` or
    /// `irt-full-run`.
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
    pub examinee: String,
    /// Predicted bank score.
    pub predicted: f64,
    /// Lower end of its 95% interval (NaN for a method without one).
    pub predicted_lo: f64,
    /// Upper end of its 95% interval.
    pub predicted_hi: f64,
    /// Observed full-run score.
    pub observed: f64,
}

/// The result of [`leave_one_out`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooReport {
    /// The rows, by calibration model, then length, then method.
    pub rows: Vec<LooRow>,
    /// Examinees held out.
    pub held_out: Vec<String>,
    /// Items of the response matrix.
    pub n_items: usize,
    /// Calibration wall time per model (all folds), seconds.
    pub calibration_seconds: Vec<(String, f64)>,
    /// Every prediction behind the rows.
    pub details: Vec<LooDetail>,
    /// The variant the inner choice picked for each held-out examinee
    /// (empty unless [`LooConfig::inner_choice`], [`LooConfig::inner_refit`]
    /// or [`LooConfig::inner_link`]).
    pub inner_choices: Vec<InnerChoice>,
    /// The plan of each `adaptive` row (base plan and variants), as
    /// prepared for the first fold at the last length.
    pub plans: Vec<(String, Plan)>,
    /// Every per-group prediction of [`LooConfig::group_tags`] behind
    /// `group_rows`, and the bank score of the same exams under the tag
    /// [`BANK_TAG`](super::BANK_TAG).
    pub group_details: Vec<LooGroupDetail>,
    /// Per-group summaries ([`group_rows`] of `group_details`).
    pub group_rows: Vec<LooGroupRow>,
}

/// The plan variant the inner validation of one fold picked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InnerChoice {
    /// Calibration model (with its slope prior).
    pub calibration: String,
    /// Exam length.
    pub items: usize,
    /// The held-out examinee.
    pub examinee: String,
    /// The variant picked (`base` for the base plan).
    pub variant: String,
    /// `in-sample` ([`LooConfig::inner_choice`]), `refit`
    /// ([`LooConfig::inner_refit`]) or `refit-linked`
    /// ([`LooConfig::inner_link`]).
    pub mode: String,

    /// Every offered plan's inner mean absolute error (proportion) in this
    /// fold, base plan first: the scores the pick minimised (linked and
    /// cross-validated for `refit-linked`).
    pub inner_mae: Vec<(String, f64)>,
}

/// One held-out examinee with the bank calibrated without it.
pub(super) struct Fold {
    pub(super) row: usize,
    pub(super) bank: Arc<CatBank>,
    pub(super) replay: Replay,
    /// The ability distribution of the calibration examinees (see
    /// [`population`]), computed on first use: only `prior=empirical`
    /// variants need it, and it costs an EAP pass over every calibration
    /// run in each fold (22 + 462 folds in a refit run on MMLU-Pro).
    population: Mutex<Option<Prior>>,
    /// The calibration examinees' whole runs on the fold's bank.
    train: Replay,
    /// Per-group prediction models fitted on `train`, by tag.
    subscores: Mutex<HashMap<String, Arc<SubscoreModel>>>,
    /// With [`LooConfig::no_answer`]: the fold's no-answer model (`bank`,
    /// `replay` and `train` then hold the answered responses only).
    pub(super) two_part: Option<TwoPart>,
}

impl Fold {
    /// The held-out examinee's observed full-run score.
    pub(super) fn observed(&self) -> f64 {
        match &self.two_part {
            Some(tp) => tp.observed(),
            None => self.replay.observed(0),
        }
    }

    /// The calibration examinees' ability distribution, scored once.
    fn population(&self) -> Result<Prior> {
        if let Some(p) = self.population.lock().ok().and_then(|p| *p) {
            return Ok(p);
        }
        let p = population(&self.bank, &self.train)?;
        if let Ok(mut cached) = self.population.lock() {
            *cached = Some(p);
        }
        Ok(p)
    }

    /// The per-group model of tag `tag`, fitted on the calibration runs
    /// once and reused.
    fn subscore(&self, tag: &str) -> Result<Arc<SubscoreModel>> {
        if let Some(m) = self.subscores.lock().ok().and_then(|s| s.get(tag).cloned()) {
            return Ok(m);
        }
        let m = Arc::new(SubscoreModel::fit(&self.bank, tag, &self.train)?);
        if let Ok(mut s) = self.subscores.lock() {
            s.insert(tag.to_owned(), Arc::clone(&m));
        }
        Ok(m)
    }
}

/// The predictive distribution of a new examinee's ability from the
/// calibration examinees: `N(m, s^2 (1 + 1/n))`, with `m` and `s` the mean
/// and SD of the `n` examinees' EAP abilities on the fold's bank (each
/// scored from its whole run, so the prior hardly matters). It uses only
/// the examinees the fold was calibrated on.
fn population(bank: &CatBank, runs: &Replay) -> Result<Prior> {
    let irfs = bank.irfs();
    let thetas: Vec<f64> = (0..runs.len())
        .filter(|&e| !runs.run(e).is_empty())
        .map(|e| {
            let answers: Vec<(&Irf, usize)> = runs
                .run(e)
                .iter()
                .map(|&(j, x)| (&irfs[j as usize], x as usize))
                .collect();
            Estimator::new(Method::Eap).estimate(&answers).theta
        })
        .collect();
    let n = thetas.len() as f64;
    let mean = thetas.iter().sum::<f64>() / n;
    let var = thetas.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (n - 1.0);
    let sd = (var * (1.0 + 1.0 / n)).sqrt();
    if !(mean.is_finite() && sd.is_finite() && sd > 0.0) {
        return Err(Error::config(format!(
            "the calibration examinees' abilities give no population prior (mean {mean}, sd {sd})"
        )));
    }
    Ok(Prior { mean, sd, df: None })
}

/// A copy of `m` without the items nobody answered (calibration rejects them).
fn answered_items(m: &ResponseMatrix) -> Result<ResponseMatrix> {
    let keep: Vec<Option<u32>> = {
        let mut next = 0u32;
        (0..m.n_items())
            .map(|j| {
                (!m.item_responses(j).0.is_empty()).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    };
    if keep.iter().all(Option::is_some) {
        return Ok(m.clone());
    }
    let items = m
        .items()
        .iter()
        .zip(&keep)
        .filter(|(_, k)| k.is_some())
        .map(|(id, _)| id.clone())
        .collect();
    let cells = m
        .cells()
        .filter_map(|c| {
            keep[c.item as usize].map(|item| Cell {
                item,
                examinee: c.examinee,
                score: c.score,
            })
        })
        .collect();
    ResponseMatrix::new(
        m.examinees().to_vec(),
        items,
        cells,
        Some(m.weights().to_vec()),
    )
}

fn cache_file(dir: &std::path::Path, model: &str, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("loo-{model}-{safe}.json"))
}

/// The responses folds are cut from: all of them, and with
/// [`LooConfig::no_answer`] the answered ones (filtered once, not per fold).
#[derive(Clone, Copy)]
struct Data<'a> {
    responses: &'a ResponseMatrix,
    answered: Option<&'a ResponseMatrix>,
}

/// Calibrates without examinee `row` (or reads the cached calibration);
/// the fold examines `row`. An inner fold (`outer = Some(m)`) also leaves
/// out the outer fold's held-out examinee `m`. With
/// [`LooConfig::no_answer`] the bank is calibrated on the answered
/// responses and the no-answer indicators get a calibration of their own.
fn fold(
    Data {
        responses,
        answered,
    }: Data<'_>,
    config: &LooConfig,
    model: ModelKind,
    slope_prior: Option<f64>,
    row: usize,
    outer: Option<usize>,
) -> Result<Fold> {
    let keep = |e: usize, _: &ExamineeId| e != row && Some(e) != outer;
    let source = answered.unwrap_or(responses);
    let train = answered_items(&source.filter_examinees(keep))?;
    let label = match slope_prior {
        Some(sd) => format!("{model}-slope{sd}"),
        None => model.to_string(),
    };
    let setting = (model, slope_prior, row, outer);
    let bank_label = match answered {
        Some(_) => format!("{label}-answered"),
        None => label.clone(),
    };
    let params = fold_params(responses, &train, config, setting, &bank_label)?;
    let tags: HashMap<ItemId, Tags> = config
        .tags
        .iter()
        .filter(|(id, _)| params.index_of(id.as_str()).is_some())
        .map(|(id, t)| (id.clone(), t.clone()))
        .collect();
    let bank = Arc::new(CatBank::new(&params)?.with_tags(&tags)?);
    let own = |m: &ResponseMatrix| m.filter_examinees(|e, _| e == row);
    let two_part = match &config.no_answer {
        Some(flags) => {
            let flags_train = answered_items(&flags.filter_examinees(keep))?;
            // Without a single "no answer" there is nothing to calibrate.
            let flags_params = if flags_train.cells().any(|c| c.score > 0) {
                let label = format!("{label}-noanswer");
                Some(fold_params(
                    responses,
                    &flags_train,
                    config,
                    setting,
                    &label,
                )?)
            } else {
                None
            };
            let run = own(responses);
            Some(TwoPart::new(
                &bank,
                flags_params.as_ref(),
                &run,
                &own(flags),
            )?)
        }
        None => None,
    };
    let replay = Replay::new(&bank, &own(source))?;
    let train = Replay::new(&bank, &train)?;
    Ok(Fold {
        row,
        bank,
        replay,
        population: Mutex::new(None),
        train,
        subscores: Mutex::new(HashMap::new()),
        two_part,
    })
}

/// The calibration of one fold's training data `train` (read from the
/// cache under `label` when it holds the same fit): `setting` is the
/// model, slope prior, held-out row and outer row of [`fold`].
fn fold_params(
    responses: &ResponseMatrix,
    train: &ResponseMatrix,
    config: &LooConfig,
    (model, slope_prior, row, outer): (ModelKind, Option<f64>, usize, Option<usize>),
    label: &str,
) -> Result<ParamSet> {
    let id = &responses.examinees()[row];
    let priors = match slope_prior {
        Some(sd) => config
            .calibration
            .priors
            .with_slope(NormalPrior { mean: 0.0, sd }),
        None => config.calibration.priors,
    };
    // Everything the fold's calibration depends on, as text (numbers would
    // not survive a round trip through the file exactly).
    let held = match outer {
        Some(m) => format!("{} and inner {id}", responses.examinees()[m]),
        None => id.to_string(),
    };
    let key = serde_json::Value::String(format!(
        "held out {held}; {} responses; {model}; priors {priors:?}; quadrature {} on +-{}; tolerance {}",
        train.n_responses(),
        config.calibration.quadrature.points(),
        config.calibration.quadrature.range(),
        config.calibration.tolerance,
    ));
    let cached = config.cache.as_ref().map(|d| match outer {
        Some(m) => cache_file(
            d,
            &format!("{label}-inner"),
            &format!("{}--{id}", responses.examinees()[m]),
        ),
        None => cache_file(d, label, id.as_str()),
    });
    let loaded = cached
        .as_ref()
        .filter(|p| p.is_file())
        .and_then(|p| ParamSet::load(p).ok())
        .map(|l| l.params)
        .filter(|p| p.metadata().provenance.get("leave_one_out") == Some(&key));
    if let Some(p) = loaded {
        return Ok(p);
    }
    let calibration = CalibrationConfig {
        model,
        priors,
        item_models: None,
        standard_errors: false,
        ..config.calibration.clone()
    };
    #[cfg(test)]
    tests::record_calibration(train);
    let fit = calibrate(train, &calibration, &mut |_| {})
        .map_err(|e| Error::config(format!("calibration without {held}: {}", e.message())))?;
    let mut metadata = Metadata::default();
    metadata.provenance.insert("leave_one_out".into(), key);
    let params = fit.to_param_set(metadata)?;
    if let Some(p) = &cached {
        std::fs::create_dir_all(p.parent().unwrap_or(p)).map_err(|e| Error::io(p, e))?;
        params.save_json(p)?;
    }
    Ok(params)
}

/// Per-seed predictions over folds, and the items each exam used.
pub(super) struct SeedRun {
    pub(super) seed: u64,
    pub(super) predicted: Vec<PredictedScore>,
    pub(super) exams: Vec<Vec<usize>>,
}

fn details_of(
    row: &LooRow,
    runs: &[SeedRun],
    names: &[String],
    observed: &[f64],
) -> Vec<LooDetail> {
    runs.iter()
        .flat_map(|r| {
            r.predicted
                .iter()
                .enumerate()
                .map(move |(f, &p)| LooDetail {
                    calibration: row.calibration.clone(),
                    method: row.method.clone(),
                    items: row.items,
                    seed: r.seed,
                    examinee: names[f].clone(),
                    predicted: p.mean,
                    predicted_lo: p.lo,
                    predicted_hi: p.hi,
                    observed: observed[f],
                })
        })
        .collect()
}

fn row_of(
    calibration: &str,
    method: String,
    items: usize,
    observed: &[f64],
    runs: &[SeedRun],
    n_items: usize,
    seconds: f64,
) -> LooRow {
    let mut maes = Vec::new();
    let mut maxes = Vec::new();
    let mut rhos = Vec::new();
    let mut exps = Vec::new();
    let mut overlaps = Vec::new();
    let mut lengths = Vec::new();
    let means: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| r.predicted.iter().map(|p| p.mean).collect())
        .collect();
    for (r, m) in runs.iter().zip(&means) {
        let (mae, max) = errors(m, observed);
        maes.push(mae);
        maxes.push(max);
        rhos.push(spearman(m, observed));
        let (e, o) = exposure(&r.exams, n_items);
        exps.push(e);
        overlaps.push(o);
        lengths.extend(r.exams.iter().map(|e| e.len() as f64));
    }
    let predictions: Vec<&[f64]> = means.iter().map(|m| &m[..]).collect();
    let (persistent, spread) = error_split(&predictions, observed);
    let all: Vec<PredictedScore> = runs
        .iter()
        .flat_map(|r| r.predicted.iter().copied())
        .collect();
    let truth: Vec<f64> = runs.iter().flat_map(|_| observed.iter().copied()).collect();
    let (coverage, width) = interval_coverage(&all, &truth);
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len().max(1) as f64;
    let m = mean(&maes);
    let sd =
        (maes.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / maes.len().max(1) as f64).sqrt();
    LooRow {
        calibration: calibration.to_owned(),
        method,
        items,
        mae: m,
        mae_sd: sd,
        persistent,
        spread,
        coverage,
        width,
        max_error: mean(&maxes),
        worst: maxes.iter().copied().fold(f64::NAN, f64::max),
        spearman: mean(&rhos),
        mean_length: mean(&lengths),
        max_exposure: mean(&exps),
        mean_overlap: mean(&overlaps),
        seconds,
    }
}

/// Runs the leave-one-out evaluation of `config` on `responses`.
/// `progress` receives a short status text now and then.
///
/// # Errors
/// No lengths, seeds or models, fewer than three examinees, a held-out row
/// out of range ([`ErrorKind::Config`](crate::ErrorKind::Config)); a
/// calibration that fails; a plan or variant the bank rejects.
pub fn leave_one_out(
    responses: &ResponseMatrix,
    config: &LooConfig,
    progress: &mut dyn FnMut(String),
) -> Result<LooReport> {
    if config.lengths.is_empty() || config.seeds == 0 || config.models.is_empty() {
        return Err(Error::config(
            "leave-one-out needs lengths, seeds and calibration models",
        ));
    }
    if responses.n_examinees() < 3 {
        return Err(Error::config(
            "leave-one-out needs at least three examinees",
        ));
    }
    let held: Vec<usize> = match &config.held_out {
        Some(h) => h.clone(),
        None => (0..responses.n_examinees()).collect(),
    };
    if let Some(&r) = held.iter().find(|&&r| r >= responses.n_examinees()) {
        return Err(Error::config(format!("held-out row {r} is out of range")));
    }
    if let Some(flags) = &config.no_answer {
        check_two_part(responses, flags, config)?;
    }
    let answered = config
        .no_answer
        .as_ref()
        .map(|n| answered_only(responses, n))
        .transpose()?;
    let data = Data {
        responses,
        answered: answered.as_ref(),
    };
    let seeds: Vec<u64> = (0..config.seeds as u64).map(|s| config.seed + s).collect();
    let mut rows = Vec::new();
    let mut calibration_seconds = Vec::new();
    let mut details = Vec::new();
    let mut inner_choices = Vec::new();
    let mut plans: Vec<(String, Plan)> = Vec::new();
    let mut group_cells = Vec::new();
    let names: Vec<String> = held
        .iter()
        .map(|&r| responses.examinees()[r].to_string())
        .collect();
    let slopes = if config.slope_priors.is_empty() {
        vec![None]
    } else {
        config.slope_priors.clone()
    };
    let settings = config
        .models
        .iter()
        .flat_map(|&m| slopes.iter().map(move |&s| (m, s)));
    for (model, slope_prior) in settings {
        let name = match slope_prior {
            Some(sd) => format!("{model} (ln a ~ N(0, {sd}))"),
            None => model.to_string(),
        };
        progress(format!("{name}: calibrating {} folds", held.len()));
        let t = Instant::now();
        let folds: Vec<Fold> = held
            .par_iter()
            .map(|&row| fold(data, config, model, slope_prior, row, None))
            .collect::<Result<_>>()?;
        calibration_seconds.push((name.clone(), t.elapsed().as_secs_f64()));
        let rescore_folds: Option<Vec<Fold>> = match config.rescore_slope_prior {
            Some(sd) => {
                progress(format!(
                    "{name}: calibrating {} folds for rescoring",
                    held.len()
                ));
                let t = Instant::now();
                let folds = held
                    .par_iter()
                    .map(|&row| fold(data, config, model, Some(sd), row, None))
                    .collect::<Result<Vec<_>>>()?;
                calibration_seconds.push((
                    format!("{name} rescoring (ln a ~ N(0, {sd}))"),
                    t.elapsed().as_secs_f64(),
                ));
                Some(folds)
            }
            None => None,
        };
        let observed: Vec<f64> = folds.iter().map(Fold::observed).collect();
        // Each held-out examinee's observed score per group, per tag.
        let truths = config
            .group_tags
            .iter()
            .map(|t| group_truths(&folds, t))
            .collect::<Result<Vec<_>>>()?;
        let n_items = folds[0].bank.len();

        // The floor: every recorded answer scored with the calibration.
        let t = Instant::now();
        let full: Vec<(PredictedScore, usize)> = folds
            .par_iter()
            .map(|f| match &f.two_part {
                Some(tp) => {
                    let run = tp.full.run(0);
                    Ok((
                        score_two_part(f, tp, &config.plan, BankScore::Model, run)?,
                        run.len(),
                    ))
                }
                None => score_items(f, &config.plan, BankScore::Model, f.replay.run(0)),
            })
            .collect::<Result<_>>()?;
        let run = SeedRun {
            seed: config.seed,
            predicted: full.iter().map(|x| x.0).collect(),
            exams: Vec::new(),
        };
        let mean_run = full.iter().map(|x| x.1).sum::<usize>() / full.len();
        let mut floor = row_of(
            &name,
            "irt-full-run".into(),
            mean_run,
            &observed,
            std::slice::from_ref(&run),
            n_items,
            t.elapsed().as_secs_f64(),
        );
        floor.mean_length = mean_run as f64;
        details.extend(details_of(&floor, &[run], &names, &observed));
        rows.push(floor);

        let mut variants = vec![Variant::base()];
        variants.extend(config.variants.iter().cloned());
        let refit = if (config.inner_refit && variants.len() > 1) || config.inner_link {
            let t = Instant::now();
            let runs = refit_runs(
                data,
                config,
                (model, slope_prior),
                &held,
                &variants,
                &seeds,
                &mut |done, total| {
                    progress(format!(
                        "{name}: inner calibrations and exams {done}/{total} ({:.0} s)",
                        t.elapsed().as_secs_f64()
                    ))
                },
            )?;
            calibration_seconds.push((format!("{name} inner refits"), t.elapsed().as_secs_f64()));
            Some(runs)
        } else {
            None
        };

        for (ki, &k) in config.lengths.iter().enumerate() {
            let row_at_k = |method: String, runs: &[SeedRun], secs: f64| {
                row_of(&name, method, k, &observed, runs, n_items, secs)
            };
            let base = base_plan(config, k);
            // Per variant, per fold: the prepared design (kept for the
            // inner choice).
            let mut all_designs: Vec<Vec<Prepared>> = Vec::new();
            // Per variant: the held-out predictions mapped by each fold's
            // inner link (with `inner_link`).
            let mut all_linked: Vec<Vec<SeedRun>> = Vec::new();
            for (vi, v) in variants.iter().enumerate() {
                progress(format!("{name}: {k} items, {}", v.name()));
                let t = Instant::now();
                let designs: Vec<Prepared> = folds
                    .par_iter()
                    .map(|f| prepare(f, v, &base, config))
                    .collect::<Result<_>>()?;
                let chosen: Vec<&Prepared> = designs.iter().collect();
                let runs = held_out_runs(&folds, &chosen, &seeds)?;
                let plan = designs[0].0.plan().clone();
                let rescored = rescore_folds
                    .as_ref()
                    .map(|second| {
                        let t = Instant::now();
                        let r = rescored_runs(&folds, second, &designs, &runs)?;
                        Ok::<_, Error>((r, t.elapsed().as_secs_f64()))
                    })
                    .transpose()?;
                let method = if v.name() == "base" {
                    "adaptive".to_owned()
                } else {
                    format!("adaptive {}", v.name())
                };
                match plans.iter_mut().find(|p| p.0 == method) {
                    Some(p) => p.1 = plan,
                    None => plans.push((method.clone(), plan)),
                }
                let row = row_at_k(method.clone(), &runs, t.elapsed().as_secs_f64());
                let row_details = details_of(&row, &runs, &names, &observed);
                if !config.group_tags.is_empty() {
                    group_cells.extend(row_details.iter().map(bank_cell));
                }
                for (ti, tag) in config.group_tags.iter().enumerate() {
                    progress(format!("{name}: {k} items, {}, scores by {tag}", v.name()));
                    group_cells.extend(group_details(
                        &folds,
                        &truths[ti],
                        &designs,
                        &runs,
                        (&name, &method, k),
                        tag,
                    )?);
                }
                details.extend(row_details);
                rows.push(row);
                if config.inner_choice || refit.is_some() {
                    all_designs.push(designs);
                }
                if let (true, Some(inner)) = (config.inner_link, &refit) {
                    let links: Vec<ScoreLink> = inner
                        .iter()
                        .map(|r| {
                            let (pairs, groups) = inner_pairs(r, ki, vi);
                            ScoreLink::fit_grouped(&pairs, &groups)
                        })
                        .collect();
                    let linked = linked_runs(&runs, &links);
                    let secs = t.elapsed().as_secs_f64();
                    let row = row_at_k(format!("{method} linked"), &linked, secs);
                    details.extend(details_of(&row, &linked, &names, &observed));
                    rows.push(row);
                    all_linked.push(linked);
                }
                if let Some((rescored, secs)) = rescored {
                    let row = row_at_k(format!("{method} rescored"), &rescored, secs);
                    details.extend(details_of(&row, &rescored, &names, &observed));
                    rows.push(row);
                }
            }

            // Each inner validation scores every plan per fold; the rows
            // and picks are then made the same way for both.
            let mut choices: Vec<(&str, &str, Instant, Vec<Vec<f64>>)> = Vec::new();
            if config.inner_choice && variants.len() > 1 {
                progress(format!("{name}: {k} items, inner choice"));
                let t = Instant::now();
                let scores: Vec<Vec<f64>> = folds
                    .par_iter()
                    .enumerate()
                    .map(|(fi, f)| {
                        (0..variants.len())
                            .map(|vi| inner_mae(f, &all_designs[vi][fi], config.seed))
                            .collect::<Result<Vec<f64>>>()
                    })
                    .collect::<Result<_>>()?;
                choices.push(("adaptive inner-choice", "in-sample", t, scores));
            }
            if let (true, Some(inner)) = (config.inner_refit, &refit) {
                progress(format!("{name}: {k} items, inner choice (refit)"));
                let t = Instant::now();
                let scores: Vec<Vec<f64>> = inner
                    .iter()
                    .map(|runs| {
                        (0..variants.len())
                            .map(|vi| refit_mae(runs, ki, vi))
                            .collect()
                    })
                    .collect();
                choices.push(("adaptive inner-choice-refit", "refit", t, scores));
            }
            // Each choice's row, runs, picks, per-fold scores and mode.
            type Made<'m> = (LooRow, Vec<SeedRun>, Vec<usize>, Vec<Vec<f64>>, &'m str);
            let mut made: Vec<Made> = Vec::new();
            if let (true, Some(inner)) = (config.inner_link, &refit) {
                let scores: Vec<Vec<f64>> = inner
                    .iter()
                    .map(|runs| {
                        (0..variants.len())
                            .map(|vi| {
                                let (pairs, groups) = inner_pairs(runs, ki, vi);
                                ScoreLink::cross_validated_mae(&pairs, &groups)
                            })
                            .collect()
                    })
                    .collect();
                let picks: Vec<usize> = scores.iter().map(|s| argmin(s)).collect();
                let runs: Vec<SeedRun> = (0..seeds.len())
                    .map(|si| SeedRun {
                        seed: seeds[si],
                        predicted: picks
                            .iter()
                            .enumerate()
                            .map(|(fi, &vi)| all_linked[vi][si].predicted[fi])
                            .collect(),
                        exams: picks
                            .iter()
                            .enumerate()
                            .map(|(fi, &vi)| all_linked[vi][si].exams[fi].clone())
                            .collect(),
                    })
                    .collect();
                let row = row_at_k("adaptive inner-choice-refit linked".into(), &runs, 0.0);
                made.push((row, runs, picks, scores, "refit-linked"));
            }
            for (method, mode, t, scores) in choices {
                let (row, runs, picks) = chosen_row(
                    &folds,
                    &all_designs,
                    &scores,
                    &seeds,
                    (&name, method, k),
                    &observed,
                    t,
                )?;
                made.push((row, runs, picks, scores, mode));
            }
            for (row, runs, picks, scores, mode) in made {
                details.extend(details_of(&row, &runs, &names, &observed));
                rows.push(row);
                inner_choices.extend(picks_of(
                    &picks,
                    &scores,
                    &variants,
                    &names,
                    (&name, k, mode),
                ));
            }

            // Baselines: the same k random recorded items per seed.
            let t = Instant::now();
            let mut acc_runs = Vec::new();
            let mut irt_runs = Vec::new();
            for &s in &seeds {
                let outs: Vec<RandomExam> = folds
                    .par_iter()
                    .map(|f| random_exam(f, &base, config.score, s))
                    .collect::<Result<_>>()?;
                let exams: Vec<Vec<usize>> = outs.iter().map(|o| o.items.clone()).collect();
                acc_runs.push(SeedRun {
                    seed: s,
                    predicted: outs.iter().map(|o| o.accuracy).collect(),
                    exams: exams.clone(),
                });
                irt_runs.push(SeedRun {
                    seed: s,
                    predicted: outs.iter().map(|o| o.irt).collect(),
                    exams,
                });
            }
            let secs = t.elapsed().as_secs_f64();
            let mut baselines = vec![("random-accuracy", acc_runs), ("random-irt", irt_runs)];
            if let (true, Some(inner)) = (config.inner_link, &refit) {
                // The inner random-IRT scores sit after the variants'.
                let links: Vec<ScoreLink> = inner
                    .iter()
                    .map(|r| {
                        let (pairs, groups) = inner_pairs(r, ki, variants.len());
                        ScoreLink::fit_grouped(&pairs, &groups)
                    })
                    .collect();
                let linked = linked_runs(&baselines[1].1, &links);
                baselines.push(("random-irt linked", linked));
            }
            for (ti, tag) in config.group_tags.iter().enumerate() {
                progress(format!("{name}: {k} items, random items, scores by {tag}"));
                group_cells.extend(random_group_details(
                    &folds,
                    &truths[ti],
                    &base,
                    &baselines[1].1,
                    (&name, k),
                    tag,
                )?);
            }
            for (method, runs) in &baselines {
                let row = row_at_k((*method).into(), runs, secs);
                let row_details = details_of(&row, runs, &names, &observed);
                if !config.group_tags.is_empty() && !method.ends_with("linked") {
                    group_cells.extend(row_details.iter().map(bank_cell));
                }
                details.extend(row_details);
                rows.push(row);
            }
        }
    }
    Ok(LooReport {
        rows,
        held_out: names,
        n_items: responses.n_items(),
        calibration_seconds,
        details,
        inner_choices,
        plans,
        group_rows: group_rows(&group_cells),
        group_details: group_cells,
    })
}

/// Refuses what the two-part model does not cover: indicators of another
/// matrix, and the options whose exams it does not replay.
fn check_two_part(
    responses: &ResponseMatrix,
    flags: &ResponseMatrix,
    config: &LooConfig,
) -> Result<()> {
    if flags.examinees() != responses.examinees()
        || flags.items() != responses.items()
        || flags.n_responses() != responses.n_responses()
    {
        return Err(Error::config(
            "the no-answer indicators do not match the responses (another file?)",
        ));
    }
    let refused = [
        (!config.group_tags.is_empty(), "group scores"),
        (config.rescore_slope_prior.is_some(), "rescoring"),
        (config.inner_choice, "the in-sample inner choice"),
        (
            config.variants.iter().any(|v| v.subscore_tag().is_some()),
            "subscore variants",
        ),
    ];
    match refused.iter().find(|r| r.0) {
        Some((_, what)) => Err(Error::config(format!(
            "the two-part (no-answer) model does not support {what}"
        ))),
        None => Ok(()),
    }
}

/// The base plan at length `k`.
fn base_plan(config: &LooConfig, k: usize) -> Plan {
    Plan {
        max_items: k,
        min_items: config.plan.min_items.min(k),
        ..config.plan.clone()
    }
}

/// The row of an inner choice: per fold, the variant with the lowest
/// `scores[fold][variant]` examines the held-out examinee. Returns the row,
/// its runs and the picks. `what` is (calibration, method, length).
fn chosen_row(
    folds: &[Fold],
    designs: &[Vec<Prepared>],
    scores: &[Vec<f64>],
    seeds: &[u64],
    what: (&str, &str, usize),
    observed: &[f64],
    started: Instant,
) -> Result<(LooRow, Vec<SeedRun>, Vec<usize>)> {
    let picks: Vec<usize> = scores.iter().map(|s| argmin(s)).collect();
    let chosen: Vec<&Prepared> = picks
        .iter()
        .enumerate()
        .map(|(fi, &vi)| &designs[vi][fi])
        .collect();
    let runs = held_out_runs(folds, &chosen, seeds)?;
    let row = row_of(
        what.0,
        what.1.into(),
        what.2,
        observed,
        &runs,
        folds[0].bank.len(),
        started.elapsed().as_secs_f64(),
    );
    Ok((row, runs, picks))
}

/// The [`InnerChoice`]s of `picks`; `what` is (calibration, length, mode).
fn picks_of(
    picks: &[usize],
    scores: &[Vec<f64>],
    variants: &[Variant],
    names: &[String],
    what: (&str, usize, &str),
) -> Vec<InnerChoice> {
    picks
        .iter()
        .enumerate()
        .map(|(fi, &vi)| InnerChoice {
            calibration: what.0.to_owned(),
            items: what.1,
            examinee: names[fi].clone(),
            variant: variants[vi].name(),
            mode: what.2.to_owned(),
            inner_mae: variants
                .iter()
                .zip(&scores[fi])
                .map(|(v, &s)| (v.name(), s))
                .collect(),
        })
        .collect()
}

/// One calibration examinee's exams in an inner fold of the refit choice.
struct InnerRun {
    /// Its observed full-run score (on the inner fold's bank).
    observed: f64,
    /// Predicted bank scores by length, variant and seed (one seed for
    /// plans without random choices; empty when `observed` is not finite);
    /// after the variants, with `inner_link`, the random-IRT baseline's,
    /// one per seed.
    predicted: Vec<Vec<Vec<f64>>>,
}

/// The refit inner validation of `setting` (model, slope prior): for each
/// held-out row `m` (outer fold), each other examinee `j` examined with
/// every variant on a bank calibrated without `m` and `j`. The `j`s of a
/// fold are calibrated in parallel; `progress` gets (inner folds done,
/// total) after each outer fold.
fn refit_runs(
    data: Data<'_>,
    config: &LooConfig,
    setting: (ModelKind, Option<f64>),
    held: &[usize],
    variants: &[Variant],
    seeds: &[u64],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<InnerRun>>> {
    let n = data.responses.n_examinees();
    let total = held.len() * (n - 1);
    progress(0, total);
    let mut out = Vec::with_capacity(held.len());
    for &m in held {
        let inner: Vec<usize> = (0..n).filter(|&j| j != m).collect();
        let runs = inner
            .par_iter()
            .map(|&j| inner_run(data, config, setting, m, j, variants, seeds))
            .collect::<Result<Vec<_>>>()?;
        out.push(runs);
        progress(out.len() * (n - 1), total);
    }
    Ok(out)
}

/// Examinee `j`'s exams on the bank calibrated without `j` and `m`, for
/// every length and variant (design and session seeds as the held-out
/// examinees' exams: `j`'s row).
fn inner_run(
    data: Data<'_>,
    config: &LooConfig,
    (model, slope_prior): (ModelKind, Option<f64>),
    m: usize,
    j: usize,
    variants: &[Variant],
    seeds: &[u64],
) -> Result<InnerRun> {
    let f = fold(data, config, model, slope_prior, j, Some(m))?;
    let observed = f.observed();
    if !observed.is_finite() {
        return Ok(InnerRun {
            observed,
            predicted: Vec::new(),
        });
    }
    let predicted = config
        .lengths
        .iter()
        .map(|&k| {
            let base = base_plan(config, k);
            variants
                .iter()
                .map(|v| {
                    let p = prepare(&f, v, &base, config)?;
                    let distinct = if uses_randomness(&p.0) {
                        seeds
                    } else {
                        &seeds[..1]
                    };
                    distinct
                        .iter()
                        .map(|&s| Ok(run_exam(&f, &p, s, &f.replay, 0, f.row)?.0.mean))
                        .collect::<Result<Vec<f64>>>()
                })
                .chain(config.inner_link.then(|| {
                    seeds
                        .iter()
                        .map(|&s| Ok(random_exam(&f, &base, config.score, s)?.irt.mean))
                        .collect::<Result<Vec<f64>>>()
                }))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(InnerRun {
        observed,
        predicted,
    })
}

/// The refit inner score of variant `vi` at length index `ki` in one outer
/// fold: the mean over seeds of the mean absolute error over its inner
/// examinees (infinite when none has a finite observed score).
fn refit_mae(runs: &[InnerRun], ki: usize, vi: usize) -> f64 {
    // Every inner examinee ran the plan with the same seeds, so the mean
    // over seeds of per-seed means is the mean over all pairs.
    let (pairs, _) = inner_pairs(runs, ki, vi);
    if pairs.is_empty() {
        return f64::INFINITY;
    }
    pairs.iter().map(|(p, y)| (p - y).abs()).sum::<f64>() / pairs.len() as f64
}

/// The (predicted, observed) pairs of variant `vi` at length index `ki` in
/// one outer fold's inner exams (one per seed the plan was run with), and
/// the inner examinee of each pair.
fn inner_pairs(runs: &[InnerRun], ki: usize, vi: usize) -> (Vec<(f64, f64)>, Vec<usize>) {
    let mut pairs = Vec::new();
    let mut groups = Vec::new();
    for (j, r) in runs.iter().enumerate() {
        if r.predicted.is_empty() {
            continue;
        }
        for &p in &r.predicted[ki][vi] {
            pairs.push((p, r.observed));
            groups.push(j);
        }
    }
    (pairs, groups)
}

/// `runs` with fold `f`'s prediction mapped by `links[f]`.
fn linked_runs(runs: &[SeedRun], links: &[ScoreLink]) -> Vec<SeedRun> {
    runs.iter()
        .map(|r| SeedRun {
            seed: r.seed,
            predicted: r
                .predicted
                .iter()
                .zip(links)
                .map(|(&p, l)| l.apply_score(p, 0.95))
                .collect(),
            exams: r.exams.clone(),
        })
        .collect()
}

/// A fold's plan variant checked against its bank, with its bank-score
/// rule and, for `subscore=TAG` variants, the per-group model.
pub(super) type Prepared = (Arc<Design>, BankScore, Option<Arc<SubscoreModel>>);

/// Variant `v` of `base` on fold `f` (content targets of
/// `content=neyman:TAG` and the model of `subscore=TAG` come from the
/// fold's calibration runs).
fn prepare(f: &Fold, v: &Variant, base: &Plan, config: &LooConfig) -> Result<Prepared> {
    let population = v.needs_population().then(|| f.population()).transpose()?;
    let (mut plan, score) = v.apply_with(base, config.score, &f.bank, population)?;
    if let (Some(tag), Some(content)) = (v.neyman_tag(), plan.content.as_mut()) {
        content.targets = f.subscore(tag)?.neyman_targets();
    }
    let sub = v.subscore_tag().map(|t| f.subscore(t)).transpose()?;
    Ok((
        prepare_design(&f.bank, &plan, examinee_seed(config.seed, f.row))?,
        score,
        sub,
    ))
}

/// The exam of examinee `e` of `runs` under `p`, its session seeded by
/// `seed` and `who` (the examinee's row): the predicted bank score (with
/// its 95% interval; none for `subscore=TAG` plans) and the items asked.
fn run_exam(
    f: &Fold,
    p: &Prepared,
    seed: u64,
    runs: &Replay,
    e: usize,
    who: usize,
) -> Result<(PredictedScore, Vec<usize>)> {
    let (d, score, sub) = p;
    if let Some(tp) = &f.two_part {
        // Only the fold's own examinee has its no-answer record here.
        if e != 0 || sub.is_some() {
            return Err(Error::config(
                "the two-part model examines only held-out examinees, without subscore models",
            ));
        }
        return tp.exam(d, examinee_seed(seed, who), runs, *score);
    }
    let o = exam(d, examinee_seed(seed, who), 0.95, *score, |j| {
        runs.answer(e, j)
    })?;
    let predicted = match sub {
        Some(m) => {
            let answers: Vec<(usize, usize)> = o.steps.iter().map(|s| (s.item, s.score)).collect();
            let mean = m.predict(&f.bank, d.plan().prior, &answers);
            PredictedScore {
                mean,
                lo: f64::NAN,
                hi: f64::NAN,
            }
        }
        None => o.predicted,
    };
    Ok((predicted, o.steps.iter().map(|s| s.item).collect()))
}

/// Mean absolute error of `p`'s predictions for the fold's calibration
/// examinees (their exams replayed from their own runs, scored with the
/// bank calibrated on them): the inner validation score, which never sees
/// the held-out examinee.
fn inner_mae(f: &Fold, p: &Prepared, seed: u64) -> Result<f64> {
    let mut sum = 0.0;
    let mut n = 0usize;
    for e in 0..f.train.len() {
        let observed = f.train.observed(e);
        if !observed.is_finite() {
            continue;
        }
        // Calibration examinees get session seeds apart from held-out rows.
        let (predicted, _) = run_exam(f, p, seed, &f.train, e, INNER_SEED_OFFSET + e)?;
        sum += (predicted.mean - observed).abs();
        n += 1;
    }
    Ok(if n == 0 {
        f64::INFINITY
    } else {
        sum / n as f64
    })
}

/// The held-out examinees' exams under `chosen` (one prepared plan per
/// fold) for every seed. A plan without random choices (none of its own,
/// and first-twin ties or a bank without twins) gives every seed the same
/// exams: the first seed is run and copied.
fn held_out_runs(folds: &[Fold], chosen: &[&Prepared], seeds: &[u64]) -> Result<Vec<SeedRun>> {
    let random = chosen.iter().any(|p| uses_randomness(&p.0));
    let distinct = if random { seeds } else { &seeds[..1] };
    let mut runs = distinct
        .iter()
        .map(|&s| {
            let outs: Vec<(PredictedScore, Vec<usize>)> = folds
                .par_iter()
                .zip(chosen)
                .map(|(f, p)| run_exam(f, p, s, &f.replay, 0, f.row))
                .collect::<Result<_>>()?;
            let (predicted, exams) = outs.into_iter().unzip();
            Ok(SeedRun {
                seed: s,
                predicted,
                exams,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for &s in &seeds[distinct.len()..] {
        let copy = SeedRun {
            seed: s,
            predicted: runs[0].predicted.clone(),
            exams: runs[0].exams.clone(),
        };
        runs.push(copy);
    }
    Ok(runs)
}

/// Added to a calibration examinee's row for its session seed in the inner
/// validation, apart from the held-out rows.
const INNER_SEED_OFFSET: usize = 1 << 24;

/// Index of the smallest value (the first of ties; NaN never wins).
fn argmin(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v < x[best] || x[best].is_nan() {
            best = i;
        }
    }
    best
}

/// True when exams of `design` depend on the seed.
fn uses_randomness(design: &Design) -> bool {
    use super::exposure::Exposure;
    use super::select::SelectRule;
    let plan = design.plan();
    plan.start.random_items > 0
        || plan.select == SelectRule::Random
        || (plan.ties == super::Ties::Random && design.bank().twins().any())
        || !matches!(plan.exposure, Exposure::None | Exposure::AStratified { .. })
        || matches!(plan.exposure, Exposure::Randomesque { k } if k > 1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::cat::Ties;
    use crate::model::{Logistic, ResponseModel};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn random_ties_make_a_plan_seeded_only_on_a_bank_with_twins() {
        let bank = |bs: &[f64]| {
            let ids = (0..bs.len())
                .map(|j| ItemId::from(format!("i{j}")))
                .collect();
            let irfs = bs
                .iter()
                .map(|&b| Logistic::two_pl(1.0, b).unwrap().into())
                .collect();
            Arc::new(CatBank::from_parts(ids, irfs).unwrap())
        };
        let design = |bank: Arc<CatBank>, ties| {
            let plan = Plan {
                max_items: 2,
                ties,
                ..Plan::default()
            };
            Design::new(bank, plan).unwrap()
        };
        let twins = bank(&[0.0, 1.0, 0.0]);
        let distinct = bank(&[0.0, 1.0, 2.0]);
        assert!(uses_randomness(&design(twins.clone(), Ties::Random)));
        assert!(!uses_randomness(&design(twins, Ties::First)));
        assert!(!uses_randomness(&design(distinct, Ties::Random)));
    }

    /// The examinee sets passed to calibration by every test of this module
    /// (tests tell theirs apart by examinee names).
    static CALIBRATED: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

    pub(super) fn record_calibration(train: &ResponseMatrix) {
        if let Ok(mut c) = CALIBRATED.lock() {
            c.push(train.examinees().iter().map(|e| e.to_string()).collect());
        }
    }

    /// The calibrations recorded so far whose examinees are named `prefix`N.
    pub(super) fn calibrated(prefix: &str) -> Vec<Vec<String>> {
        CALIBRATED
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.iter().all(|e| e.starts_with(prefix)))
            .cloned()
            .collect()
    }

    /// 8 simulated examinees x 60 two-category-tagged 2PL items.
    fn data() -> (ResponseMatrix, HashMap<ItemId, Tags>) {
        data_named("m")
    }

    /// A one-length, one-seed run of the 2PL with the default slope prior,
    /// holding out examinees 0 and 4, offering `variants`.
    pub(in crate::cat) fn config(tags: HashMap<ItemId, Tags>, variants: &[&str]) -> LooConfig {
        LooConfig {
            calibration: CalibrationConfig::default(),
            models: vec![ModelKind::TwoPl],
            lengths: vec![10],
            seeds: 1,
            seed: 1,
            plan: Plan::default(),
            score: BankScore::Blend,
            variants: variants
                .iter()
                .map(|v| Variant::parse(v).unwrap())
                .collect(),
            tags,
            held_out: Some(vec![0, 4]),
            cache: None,
            slope_priors: vec![None],
            inner_choice: false,
            inner_refit: false,
            inner_link: false,
            rescore_slope_prior: None,
            group_tags: Vec::new(),
            no_answer: None,
        }
    }

    /// [`data`] with examinees named `prefix`0 to `prefix`7.
    pub(in crate::cat) fn data_named(prefix: &str) -> (ResponseMatrix, HashMap<ItemId, Tags>) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let items: Vec<Irf> = (0..60)
            .map(|j| {
                Logistic::two_pl(0.6 + (j % 5) as f64 * 0.4, (j % 12) as f64 / 3.0 - 2.0)
                    .unwrap()
                    .into()
            })
            .collect();
        let mut cells = Vec::new();
        for e in 0..8u32 {
            let theta = e as f64 / 2.0 - 1.75;
            for (j, irf) in items.iter().enumerate() {
                let x = u8::from(rng.random::<f64>() < irf.expected_score(theta));
                cells.push(Cell {
                    examinee: e,
                    item: j as u32,
                    score: x,
                });
            }
        }
        let ids: Vec<ItemId> = (0..60).map(|j| format!("q{j}").into()).collect();
        let tags = ids
            .iter()
            .enumerate()
            .map(|(j, id)| {
                (
                    id.clone(),
                    Tags::category(if j % 3 == 0 { "a" } else { "b" }),
                )
            })
            .collect();
        let m = ResponseMatrix::new(
            (0..8).map(|e| format!("{prefix}{e}").into()).collect(),
            ids,
            cells,
            None,
        )
        .unwrap();
        (m, tags)
    }

    #[test]
    fn each_slope_prior_and_subscore_variant_gets_its_rows() {
        let (m, tags) = data();
        let config = LooConfig {
            slope_priors: vec![None, Some(0.25)],
            inner_choice: true,
            ..config(
                tags,
                &[
                    "content=category",
                    "content=category+subscore=category",
                    "content=neyman:category",
                ],
            )
        };
        let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        let names: Vec<&str> = report
            .calibration_seconds
            .iter()
            .map(|c| c.0.as_str())
            .collect();
        assert_eq!(names, ["2pl", "2pl (ln a ~ N(0, 0.25))"]);
        for cal in names {
            let methods: Vec<&str> = report
                .rows
                .iter()
                .filter(|r| r.calibration == cal)
                .map(|r| r.method.as_str())
                .collect();
            for m in [
                "irt-full-run",
                "adaptive",
                "adaptive content=category",
                "adaptive content=category+subscore=category",
                "adaptive content=neyman:category",
                "random-irt",
                "adaptive inner-choice",
            ] {
                assert!(methods.contains(&m), "{cal}: {m} missing from {methods:?}");
            }
        }
        // One inner choice per calibration and held-out examinee, among
        // the base plan and the variants.
        assert_eq!(report.inner_choices.len(), 4);
        for c in &report.inner_choices {
            assert!(
                [
                    "base",
                    "content=category",
                    "content=category+subscore=category",
                    "content=neyman:category"
                ]
                .contains(&c.variant.as_str()),
                "{c:?}"
            );
        }
        // The stronger slope prior changes the calibration, hence the floor.
        let floor: Vec<f64> = report
            .rows
            .iter()
            .filter(|r| r.method == "irt-full-run")
            .map(|r| r.mae)
            .collect();
        assert!((floor[0] - floor[1]).abs() > 1e-9, "{floor:?}");
    }

    /// Rescoring with the calibration that chose the items gives back the
    /// exam's own predictions; with another slope prior it moves them.
    #[test]
    fn rescored_rows_score_the_same_exams_with_the_second_calibration() {
        let (m, tags) = data_named("re");
        let pred = |report: &LooReport, method: &str| -> Vec<f64> {
            report
                .details
                .iter()
                .filter(|d| d.method == method)
                .map(|d| d.predicted)
                .collect()
        };
        let same = LooConfig {
            slope_priors: vec![Some(0.5)],
            rescore_slope_prior: Some(0.5),
            ..config(
                tags.clone(),
                &["content=category", "exposure=randomesque:3"],
            )
        };
        let report = leave_one_out(&m, &same, &mut |_| {}).unwrap();
        for plan in [
            "adaptive",
            "adaptive content=category",
            "adaptive exposure=randomesque:3",
        ] {
            let own = pred(&report, plan);
            let again = pred(&report, &format!("{plan} rescored"));
            assert_eq!(own.len(), again.len(), "{plan}");
            assert!(!own.is_empty());
            for (a, b) in own.iter().zip(&again) {
                assert!((a - b).abs() < 1e-9, "{plan}: {a} vs {b}");
            }
        }
        let other = LooConfig {
            rescore_slope_prior: Some(0.25),
            ..config(tags, &["content=category"])
        };
        let report = leave_one_out(&m, &other, &mut |_| {}).unwrap();
        let own = pred(&report, "adaptive content=category");
        let again = pred(&report, "adaptive content=category rescored");
        assert_eq!(own.len(), again.len());
        assert!(
            own.iter().zip(&again).any(|(a, b)| (a - b).abs() > 1e-4),
            "{own:?} {again:?}"
        );
        assert!(again.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    /// The population is scored on first use, by `prior=empirical`
    /// variants only; such a variant still gets its rows beside others.
    #[test]
    fn empirical_prior_variant_scores_the_population_on_demand() {
        let (m, tags) = data_named("pop");
        let config = LooConfig {
            held_out: Some(vec![0, 7]),
            ..config(tags, &["content=category", "prior=empirical"])
        };
        let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        for method in ["adaptive content=category", "adaptive prior=empirical"] {
            let row = report.rows.iter().find(|r| r.method == method);
            assert!(row.is_some_and(|r| r.mae.is_finite()), "{method}: {row:?}");
        }
        // The fold's population is the calibration examinees' EAP spread.
        let data = Data {
            responses: &m,
            answered: None,
        };
        let fold = fold(data, &config, ModelKind::TwoPl, None, 0, None).unwrap();
        assert!(fold.population.lock().unwrap().is_none());
        let p = fold.population().unwrap();
        assert_eq!(*fold.population.lock().unwrap(), Some(p));
        assert!(p.sd > 0.5 && p.sd < 2.5 && p.mean.abs() < 1.0, "{p:?}");
    }
}

#[cfg(test)]
mod refit_tests {
    use super::tests::{calibrated, data_named};
    use super::*;

    fn config(tags: HashMap<ItemId, Tags>, in_sample: bool, refit: bool) -> LooConfig {
        LooConfig {
            lengths: vec![8, 16],
            seeds: 2,
            seed: 5,
            slope_priors: Vec::new(),
            inner_choice: in_sample,
            inner_refit: refit,
            ..super::tests::config(
                tags,
                &[
                    "content=category",
                    "select=closest-b",
                    "exposure=randomesque:3",
                ],
            )
        }
    }

    const OFFERED: [&str; 4] = [
        "base",
        "content=category",
        "select=closest-b",
        "exposure=randomesque:3",
    ];

    /// `c` scored every offered plan, in order, and picked the lowest.
    fn assert_picks_the_lowest_offered(c: &InnerChoice) {
        let names: Vec<&str> = c.inner_mae.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, OFFERED);
        let best = c
            .inner_mae
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert_eq!(c.variant, best.0, "{c:?}");
    }

    #[test]
    fn refit_picks_one_offered_plan_per_fold_without_the_held_out_examinee() {
        let (m, tags) = data_named("nest");
        let dir = tempfile::tempdir().unwrap();
        let config = LooConfig {
            cache: Some(dir.path().to_path_buf()),
            ..config(tags, false, true)
        };
        let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        let methods: Vec<&str> = report.rows.iter().map(|r| r.method.as_str()).collect();
        assert!(
            methods.contains(&"adaptive inner-choice-refit"),
            "{methods:?}"
        );
        assert!(!methods.contains(&"adaptive inner-choice"), "{methods:?}");

        // One choice per length and fold, among the offered plans, the one
        // with the lowest inner MAE.
        assert_eq!(report.inner_choices.len(), 4);
        for c in &report.inner_choices {
            assert_eq!(c.mode, "refit");
            assert!(c.inner_mae.iter().all(|s| s.1.is_finite() && s.1 >= 0.0));
            assert_picks_the_lowest_offered(c);
        }

        // The calibrations: per held-out m, the outer one without m and
        // one without {m, j} for each of the 7 others; m never among them.
        let sets = calibrated("nest");
        let all: Vec<String> = m.examinees().iter().map(|e| e.to_string()).collect();
        let mut missing: Vec<Vec<String>> = sets
            .iter()
            .map(|s| all.iter().filter(|e| !s.contains(e)).cloned().collect())
            .collect();
        missing.sort();
        let mut expected: Vec<Vec<String>> = Vec::new();
        for held in [0, 4] {
            expected.push(vec![all[held].clone()]);
            for j in (0..8).filter(|&j| j != held) {
                let mut pair = vec![all[held].clone(), all[j].clone()];
                pair.sort();
                expected.push(pair);
            }
        }
        expected.sort();
        assert_eq!(missing, expected);

        // Every calibration was cached (the inner ones under both names),
        // and a rerun reads them all back: same picks, no new calibration.
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 16, "{files:?}");
        assert!(files.contains(&"loo-2pl-inner-nest4--nest0.json".to_owned()));
        let again = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        assert_eq!(calibrated("nest").len(), sets.len());
        assert_eq!(again.inner_choices, report.inner_choices);
    }

    #[test]
    fn refit_leaves_the_in_sample_choice_unchanged() {
        let (m, tags) = data_named("same");
        let alone = leave_one_out(&m, &config(tags.clone(), true, false), &mut |_| {}).unwrap();
        let both = leave_one_out(&m, &config(tags, true, true), &mut |_| {}).unwrap();
        // As text: the floor's exposure is NaN, which equals nothing.
        let without_time = |rows: &[LooRow]| -> Vec<String> {
            rows.iter()
                .filter(|r| r.method != "adaptive inner-choice-refit")
                .map(|r| {
                    format!(
                        "{:?}",
                        LooRow {
                            seconds: 0.0,
                            ..r.clone()
                        }
                    )
                })
                .collect()
        };
        assert_eq!(without_time(&alone.rows), without_time(&both.rows));
        assert!(
            alone
                .rows
                .iter()
                .any(|r| r.method == "adaptive inner-choice")
        );
        assert_eq!(
            both.rows
                .iter()
                .filter(|r| r.method == "adaptive inner-choice-refit")
                .count(),
            2
        );
        let in_sample: Vec<&InnerChoice> = both
            .inner_choices
            .iter()
            .filter(|c| c.mode == "in-sample")
            .collect();
        assert_eq!(in_sample, alone.inner_choices.iter().collect::<Vec<_>>());
        assert!(alone.inner_choices.iter().all(|c| c.mode == "in-sample"));
    }

    #[test]
    fn linked_rows_map_each_folds_predictions_by_one_line() {
        let (m, tags) = data_named("link");
        let config = LooConfig {
            inner_link: true,
            ..config(tags, false, false)
        };
        let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
        let methods: Vec<&str> = report.rows.iter().map(|r| r.method.as_str()).collect();
        for plan in [
            "adaptive",
            "adaptive content=category",
            "adaptive select=closest-b",
            "adaptive exposure=randomesque:3",
        ] {
            assert!(methods.contains(&plan), "{methods:?}");
            let linked = format!("{plan} linked");
            assert!(methods.contains(&linked.as_str()), "{methods:?}");
        }
        assert!(methods.contains(&"adaptive inner-choice-refit linked"));
        // The unlinked refit choice is a separate option.
        assert!(!methods.contains(&"adaptive inner-choice-refit"));

        // Within a fold, plan and length, the linked prediction is one
        // increasing line (clamped to [0, 1]) of the unlinked one: check
        // it on the seeded plan, whose seeds give different predictions.
        let pred = |method: &str, k: usize, who: &str| -> Vec<f64> {
            report
                .details
                .iter()
                .filter(|d| d.method == method && d.items == k && d.examinee == who)
                .map(|d| d.predicted)
                .collect()
        };
        // The random-item IRT baseline is linked the same way, by a line
        // fitted on the inner examinees' random-item exams.
        for (raw_method, linked_method) in [
            (
                "adaptive exposure=randomesque:3",
                "adaptive exposure=randomesque:3 linked",
            ),
            ("random-irt", "random-irt linked"),
        ] {
            let mut lines_checked = 0;
            for who in &report.held_out {
                for k in [8, 16] {
                    let raw = pred(raw_method, k, who);
                    let linked = pred(linked_method, k, who);
                    assert_eq!(raw.len(), 2);
                    assert_eq!(linked.len(), 2);
                    if (raw[0] - raw[1]).abs() < 1e-6
                        || linked.iter().any(|&l| l <= 0.0 || l >= 1.0)
                    {
                        continue;
                    }
                    let slope = (linked[0] - linked[1]) / (raw[0] - raw[1]);
                    // The inner fold's 7 examinees, nearly all scored well
                    // by the bank, give a slope near 1: not flat, not
                    // reversed.
                    assert!(
                        slope > 0.2 && slope < 5.0,
                        "{linked_method} {who} {k}: {slope}"
                    );
                    lines_checked += 1;
                }
            }
            assert!(
                lines_checked > 0,
                "{linked_method}: no fold had two distinct predictions"
            );
        }

        // A linked interval is the fold's prediction interval: centred on
        // the linked prediction (unless clamped) with one half-width per
        // fold and length, whatever the seed.
        for who in &report.held_out {
            for k in [8, 16] {
                let halves: Vec<f64> = report
                    .details
                    .iter()
                    .filter(|d| {
                        d.method == "adaptive exposure=randomesque:3 linked"
                            && d.items == k
                            && &d.examinee == who
                            && d.predicted_lo > 0.0
                            && d.predicted_hi < 1.0
                    })
                    .map(|d| {
                        let half = (d.predicted_hi - d.predicted_lo) / 2.0;
                        assert!((d.predicted - d.predicted_lo - half).abs() < 1e-9, "{d:?}");
                        half
                    })
                    .collect();
                assert!(
                    halves
                        .iter()
                        .all(|h| (h - halves[0]).abs() < 1e-12 && *h > 0.0)
                );
            }
        }
        // Each row's coverage is the share of its intervals that hold the
        // observed score.
        for r in &report.rows {
            let with_interval: Vec<&LooDetail> = report
                .details
                .iter()
                .filter(|d| d.method == r.method && d.items == r.items)
                .filter(|d| d.predicted_lo.is_finite())
                .collect();
            if with_interval.is_empty() {
                assert!(r.coverage.is_nan(), "{}", r.method);
                continue;
            }
            let inside = with_interval
                .iter()
                .filter(|d| d.predicted_lo <= d.observed && d.observed <= d.predicted_hi)
                .count();
            let share = inside as f64 / with_interval.len() as f64;
            assert!((r.coverage - share).abs() < 1e-12, "{}", r.method);
            assert!(r.width > 0.0, "{}", r.method);
        }

        // One linked pick per fold and length, the plan with the lowest
        // cross-validated linked inner MAE.
        let picks: Vec<&InnerChoice> = report
            .inner_choices
            .iter()
            .filter(|c| c.mode == "refit-linked")
            .collect();
        assert_eq!(picks.len(), 4);
        for c in picks {
            assert_picks_the_lowest_offered(c);
            // The pick's linked prediction is the held-out row's value.
            let method = if c.variant == "base" {
                "adaptive linked".to_owned()
            } else {
                format!("adaptive {} linked", c.variant)
            };
            assert_eq!(
                pred("adaptive inner-choice-refit linked", c.items, &c.examinee),
                pred(&method, c.items, &c.examinee)
            );
        }
    }
}
