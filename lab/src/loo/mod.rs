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
//! * `adaptive inner-choice` (with [`LabConfig::inner_choice`]): per fold,
//!   the variant whose exams best predict the fold's own calibration
//!   examinees (a nested validation that never sees the held-out one,
//!   but scores the plans in-sample: on the examinees the bank was
//!   calibrated on);
//! * `adaptive inner-choice-refit` (with [`LabConfig::inner_refit`]): the
//!   same choice made out-of-sample: each calibration examinee is examined
//!   on a bank calibrated without it and without the held-out one;
//! * `adaptive <variant> linked`, `adaptive inner-choice-refit linked`
//!   and `random-irt linked` (with [`LabConfig::inner_link`]): the same
//!   predictions mapped by a [`ScoreLink`](fangsheng::cat::ScoreLink) fitted on the refit inner exams
//!   of the same kind, with the link's prediction interval;
//! * `irt-full-run` (once per calibration model): the whole recorded run
//!   scored with the calibration, the floor any exam of the bank can reach.
//!
//! With [`LabConfig::group_tags`], every adaptive exam's predicted score on
//! each value of a tag (e.g. each category) is also set against the
//! examinee's observed score on those items (the report's `group_rows`).
//!
//! The rows are the engine's ([`fangsheng::loo`]): the same folds,
//! summaries, baselines and group cells, with the plan variants and inner
//! validations on top.
//!
//! Per seed, MAE, largest error and Spearman's correlation are taken over
//! the held-out examinees; the row reports their mean over seeds (and the
//! worst error of any seed). Over all seeds it also splits the squared
//! error into the part each examinee keeps on every seed and the part the
//! seed changes, and counts how often the 95% intervals
//! (the posterior's; a linked row's prediction interval; plain accuracy's
//! Wilson interval) hold the observed score.

mod exams;
mod fold;
mod inner;
#[cfg(test)]
mod refit_tests;
mod setting;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use fangsheng::calibrate::CalibrationConfig;
use fangsheng::cat::{BankScore, Plan, Tags};
use fangsheng::data::{ResponseMatrix, answered_only};
use fangsheng::error::{Error, Result};
use fangsheng::ids::ItemId;
use fangsheng::loo::{CalibrationHook, LooReport, group_rows, group_truths};
use fangsheng::model::ModelKind;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::variant::Variant;

pub(crate) use exams::Prepared;
pub(crate) use fold::Fold;

use fold::{Data, fold};
use inner::refit_runs;
use setting::{Collected, Setting};

/// What a leave-one-out evaluation runs.
#[derive(Clone)]
pub struct LabConfig {
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
    /// [`ScoreLink`](fangsheng::cat::ScoreLink) fitted on the refit inner exams of the fold's
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
    /// items): [`LabReport::group_details`] and, summarised with a
    /// cross-validated per-group line, [`LabReport::group_rows`].
    pub group_tags: Vec<String>,
    /// The two-part model ([`crate::two_part`]): the no-answer
    /// indicator of every response (a matrix in the index space of the
    /// responses, 1 where no answer was extracted). Each fold then
    /// calibrates its bank on the answered responses only and a second
    /// model on the indicators, and every exam, random-item score and floor
    /// is scored with both. `None`: no answer counts as a wrong answer.
    pub no_answer: Option<Arc<ResponseMatrix>>,
    /// Keeps the items every exam behind the rows asked, in order, with
    /// their recorded scores ([`LabReport::asked`]): what an analyst needs
    /// to see why one examinee's exams go wrong.
    pub record_asked: bool,
    /// Called with the training data of every fold calibration that is run
    /// ([`fangsheng::loo::FoldSpec::on_calibration`]).
    pub on_calibration: Option<CalibrationHook>,
}

/// The items one exam behind a row asked (with [`LabConfig::record_asked`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LooAsked {
    /// Calibration model.
    pub calibration: String,
    /// Method, as in [`fangsheng::loo::LooRow::method`].
    pub method: String,
    /// Exam length.
    pub items: usize,
    /// Seed.
    pub seed: u64,
    /// The held-out examinee.
    pub examinee: String,
    /// The items asked, in order, each with the examinee's recorded score
    /// (`None` where its run has no answer: an item of the two-part model
    /// with no answer extracted). A random draw of the two-part model can
    /// meet an item no calibration examinee answered, which the fold's
    /// bank lacks; it counts toward the length but is not listed.
    pub asked: Vec<(ItemId, Option<u8>)>,
}

/// The result of [`leave_one_out`]: the engine's report of every row,
/// with what only the experiments record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    /// The rows, details, plans and group scores.
    #[serde(flatten)]
    pub loo: LooReport,
    /// The variant the inner choice picked for each held-out examinee
    /// (empty unless [`LabConfig::inner_choice`], [`LabConfig::inner_refit`]
    /// or [`LabConfig::inner_link`]).
    pub inner_choices: Vec<InnerChoice>,
    /// The items of every exam behind the rows, by row and seed (empty
    /// unless [`LabConfig::record_asked`]; the floor asks no items).
    pub asked: Vec<LooAsked>,
}

/// The experiments read the engine's report through theirs.
impl Deref for LabReport {
    type Target = LooReport;

    fn deref(&self) -> &LooReport {
        &self.loo
    }
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
    /// `in-sample` ([`LabConfig::inner_choice`]), `refit`
    /// ([`LabConfig::inner_refit`]) or `refit-linked`
    /// ([`LabConfig::inner_link`]).
    pub mode: String,

    /// Every offered plan's inner mean absolute error (proportion) in this
    /// fold, base plan first: the scores the pick minimised (linked and
    /// cross-validated for `refit-linked`).
    pub inner_mae: Vec<(String, f64)>,
}

/// Runs the leave-one-out evaluation of `config` on `responses`.
/// `progress` receives a short status text now and then.
///
/// # Errors
/// No lengths, seeds or models, fewer than three examinees, a held-out row
/// out of range ([`ErrorKind::Config`](fangsheng::ErrorKind::Config)); a
/// calibration that fails; a plan or variant the bank rejects.
pub fn leave_one_out(
    responses: &ResponseMatrix,
    config: &LabConfig,
    progress: &mut dyn FnMut(String),
) -> Result<LabReport> {
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
    let names: Vec<String> = held
        .iter()
        .map(|&r| responses.examinees()[r].to_string())
        .collect();
    let slopes = if config.slope_priors.is_empty() {
        vec![None]
    } else {
        config.slope_priors.clone()
    };
    let mut variants = vec![Variant::base()];
    variants.extend(config.variants.iter().cloned());
    let mut out = Collected::default();
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
        out.calibration_seconds
            .push((name.clone(), t.elapsed().as_secs_f64()));
        let rescore: Option<Vec<Fold>> = match config.rescore_slope_prior {
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
                out.calibration_seconds.push((
                    format!("{name} rescoring (ln a ~ N(0, {sd}))"),
                    t.elapsed().as_secs_f64(),
                ));
                Some(folds)
            }
            None => None,
        };
        let observed: Vec<f64> = folds.iter().map(Fold::observed).collect();
        let truths = config
            .group_tags
            .iter()
            .map(|t| group_truths(&folds, t))
            .collect::<Result<Vec<_>>>()?;
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
            out.calibration_seconds
                .push((format!("{name} inner refits"), t.elapsed().as_secs_f64()));
            Some(runs)
        } else {
            None
        };
        let setting = Setting {
            name: &name,
            config,
            folds: &folds,
            rescore: rescore.as_deref(),
            observed: &observed,
            truths: &truths,
            names: &names,
            seeds: &seeds,
            variants: &variants,
            refit: refit.as_deref(),
        };
        setting.floor(&mut out)?;
        for (ki, &k) in config.lengths.iter().enumerate() {
            let base = base_plan(config, k);
            let tried = setting.variants((ki, k), &base, &mut out, progress)?;
            setting.choices((ki, k), &tried, &mut out, progress)?;
            setting.baselines((ki, k), &base, &mut out, progress)?;
        }
    }
    Ok(LabReport {
        loo: LooReport {
            rows: out.rows,
            held_out: names,
            n_items: responses.n_items(),
            calibration_seconds: out.calibration_seconds,
            details: out.details,
            plans: out.plans,
            group_rows: group_rows(&out.group_cells),
            group_details: out.group_cells,
        },
        inner_choices: out.inner_choices,
        asked: out.asked,
    })
}

/// Refuses what the two-part model does not cover: indicators of another
/// matrix, and the options whose exams it does not replay.
fn check_two_part(
    responses: &ResponseMatrix,
    flags: &ResponseMatrix,
    config: &LabConfig,
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
fn base_plan(config: &LabConfig, k: usize) -> Plan {
    Plan {
        max_items: k,
        min_items: config.plan.min_items.min(k),
        ..config.plan.clone()
    }
}
