//! One method's predictions over seeds and folds: their summary row and
//! the details behind it.

use super::exams::SeedRun;
use super::{LooDetail, LooRow};
use crate::cat::{error_split, errors, exposure_stats, interval_coverage, spearman};
use crate::estimate::PredictedScore;

/// Every prediction of `runs` as a detail of `row`; `names` and `observed`
/// are the held-out examinees' names and observed scores, by fold.
pub fn details_of(
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

/// The summary row of method `method` of calibration `calibration` at
/// length `items` from its `runs`: `observed` by fold, `n_items` in the
/// bank (for exposure rates), `seconds` of wall time.
pub fn row_of(
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
        let (e, o) = exposure_stats(&r.exams, n_items);
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
