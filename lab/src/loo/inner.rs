//! Inner validation inside each fold: the in-sample and refit choices of
//! a plan, and the refit inner exams behind the score link.

use std::time::Instant;

use rayon::prelude::*;

use crate::fixed::random_exam;
use crate::variant::Variant;
use fangsheng::cat::ScoreLink;
use fangsheng::error::Result;
use fangsheng::model::ModelKind;

use fangsheng::loo::{LooRow, SeedRun, row_of, uses_randomness};

use super::exams::{Prepared, held_out_runs, prepare, run_exam};
use super::fold::{Data, Fold, fold};
use super::{InnerChoice, LabConfig, base_plan};

/// One calibration examinee's exams in an inner fold of the refit choice.
pub(super) struct InnerRun {
    /// Its observed full-run score (on the inner fold's bank).
    pub(super) observed: f64,
    /// Predicted bank scores by length, variant and seed (one seed for
    /// plans without random choices; empty when `observed` is not finite);
    /// after the variants, with `inner_link`, the random-IRT baseline's,
    /// one per seed.
    pub(super) predicted: Vec<Vec<Vec<f64>>>,
}

/// The refit inner validation of `setting` (model, slope prior): for each
/// held-out row `m` (outer fold), each other examinee `j` examined with
/// every variant on a bank calibrated without `m` and `j`. The `j`s of a
/// fold are calibrated in parallel; `progress` gets (inner folds done,
/// total) after each outer fold.
pub(super) fn refit_runs(
    data: Data<'_>,
    config: &LabConfig,
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
pub(super) fn inner_run(
    data: Data<'_>,
    config: &LabConfig,
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
                        .map(|&s| Ok(random_exam(&f, &base, config.score, s)?.0.irt.mean))
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

/// The (predicted, observed) pairs of variant `vi` at length index `ki` in
/// one outer fold's inner exams (one per seed the plan was run with), and
/// the inner examinee of each pair.
pub(super) fn inner_pairs(
    runs: &[InnerRun],
    ki: usize,
    vi: usize,
) -> (Vec<(f64, f64)>, Vec<usize>) {
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

/// The refit inner score of variant `vi` at length index `ki` in one outer
/// fold: the mean over seeds of the mean absolute error over its inner
/// examinees (infinite when none has a finite observed score).
pub(super) fn refit_mae(runs: &[InnerRun], ki: usize, vi: usize) -> f64 {
    // Every inner examinee ran the plan with the same seeds, so the mean
    // over seeds of per-seed means is the mean over all pairs.
    let (pairs, _) = inner_pairs(runs, ki, vi);
    if pairs.is_empty() {
        return f64::INFINITY;
    }
    pairs.iter().map(|(p, y)| (p - y).abs()).sum::<f64>() / pairs.len() as f64
}

/// `runs` with fold `f`'s prediction mapped by the link fitted on fold
/// `f`'s inner exams of variant `vi` at length index `ki` (`vi` one past
/// the variants: the random-IRT baseline).
pub(super) fn linked_runs(
    runs: &[SeedRun],
    inner: &[Vec<InnerRun>],
    ki: usize,
    vi: usize,
) -> Vec<SeedRun> {
    let links: Vec<ScoreLink> = inner
        .iter()
        .map(|r| {
            let (pairs, groups) = inner_pairs(r, ki, vi);
            ScoreLink::fit_grouped(&pairs, &groups)
        })
        .collect();
    runs.iter()
        .map(|r| SeedRun {
            seed: r.seed,
            predicted: r
                .predicted
                .iter()
                .zip(&links)
                .map(|(&p, l)| l.apply_score(p, 0.95))
                .collect(),
            exams: r.exams.clone(),
        })
        .collect()
}

/// Mean absolute error of `p`'s predictions for the fold's calibration
/// examinees (their exams replayed from their own runs, scored with the
/// bank calibrated on them): the inner validation score, which never sees
/// the held-out examinee.
pub(super) fn inner_mae(f: &Fold, p: &Prepared, seed: u64) -> Result<f64> {
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

/// The row of an inner choice: per fold, the variant with the lowest
/// `scores[fold][variant]` examines the held-out examinee. Returns the row,
/// its runs and the picks. `what` is (calibration, method, length).
pub(super) fn chosen_row(
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
pub(super) fn picks_of(
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

/// Added to a calibration examinee's row for its session seed in the inner
/// validation, apart from the held-out rows.
pub(super) const INNER_SEED_OFFSET: usize = 1 << 24;

/// Index of the smallest value (the first of ties; NaN never wins).
pub(super) fn argmin(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v < x[best] || x[best].is_nan() {
            best = i;
        }
    }
    best
}
