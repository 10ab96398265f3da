//! How well a run of exams did: error of the predicted scores against the
//! full-run scores, rank agreement, length, and item exposure.

use serde::{Deserialize, Serialize};

use super::batch::ExamResult;
use crate::estimate::PredictedScore;

/// Summary of a run of exams.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of exams.
    pub n: usize,
    /// Mean absolute error of predicted vs observed score (proportions).
    pub mae: f64,
    /// Largest absolute error.
    pub max_error: f64,
    /// Spearman rank correlation of predicted and observed scores.
    pub spearman: f64,
    /// Share of exams whose predicted-score interval holds the observed
    /// score (NaN when no exam has both).
    pub coverage: f64,
    /// Mean number of items answered.
    pub mean_length: f64,
    /// Largest share of exams that administered one item.
    pub max_exposure: f64,
    /// Mean overlap between two exams (see [`exposure`]).
    pub mean_overlap: f64,
    /// Items selected without a recorded answer, over all exams.
    pub skipped: usize,
    /// Root mean squared error of theta against the true ability
    /// (simulated examinees only).
    pub theta_rmse: Option<f64>,
}

impl Summary {
    /// Summarises `results` on a bank of `n_items` items. Exams whose
    /// observed score is NaN (no recorded answer) are left out of the error
    /// measures.
    pub fn new(results: &[ExamResult], n_items: usize) -> Self {
        let (pred, obs): (Vec<f64>, Vec<f64>) = results
            .iter()
            .filter(|r| !r.observed.is_nan())
            .map(|r| (r.outcome.predicted.mean, r.observed))
            .unzip();
        let (mae, max_error) = errors(&pred, &obs);
        let intervals: Vec<PredictedScore> = results.iter().map(|r| r.outcome.predicted).collect();
        let (coverage, _) = interval_coverage(&intervals, &obs);
        let exams: Vec<Vec<usize>> = results
            .iter()
            .map(|r| r.outcome.steps.iter().map(|s| s.item).collect())
            .collect();
        let (max_exposure, mean_overlap) = exposure(&exams, n_items);
        let truth: Vec<(f64, f64)> = results
            .iter()
            .filter_map(|r| r.true_theta.map(|t| (r.outcome.ability.theta, t)))
            .collect();
        let theta_rmse = (!truth.is_empty()).then(|| {
            (truth.iter().map(|(e, t)| (e - t) * (e - t)).sum::<f64>() / truth.len() as f64).sqrt()
        });
        Summary {
            n: results.len(),
            mae,
            max_error,
            spearman: spearman(&pred, &obs),
            coverage,
            mean_length: mean(&exams.iter().map(|e| e.len() as f64).collect::<Vec<_>>()),
            max_exposure,
            mean_overlap,
            skipped: results.iter().map(|r| r.outcome.skipped).sum(),
            theta_rmse,
        }
    }
}

fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        f64::NAN
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// Mean and largest absolute difference of paired values (NaN when empty).
pub fn errors(predicted: &[f64], observed: &[f64]) -> (f64, f64) {
    let abs: Vec<f64> = predicted
        .iter()
        .zip(observed)
        .map(|(p, o)| (p - o).abs())
        .collect();
    let max = abs.iter().copied().fold(f64::NAN, f64::max);
    (mean(&abs), max)
}

/// Splits the error of repeated predictions of the same examinees into the
/// part that repeats on every run and the part that changes between runs.
/// `runs[s][e]` is run `s`'s prediction for examinee `e`. Returns
/// `(persistent, spread)`: the root mean square over examinees of each
/// examinee's mean signed error over runs, and the root mean square over
/// examinees of the (population) standard deviation of its predictions over
/// runs. Their squares add up to the mean squared error over every run and
/// examinee, so a method whose error is mostly `persistent` gains nothing
/// from re-examining with another seed. NaN when there is no pair.
pub fn error_split(runs: &[&[f64]], observed: &[f64]) -> (f64, f64) {
    let n_runs = runs.len();
    if n_runs == 0 || observed.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (mut bias2, mut var) = (0.0, 0.0);
    for (e, o) in observed.iter().enumerate() {
        let errs: Vec<f64> = runs.iter().map(|r| r[e] - o).collect();
        let m = mean(&errs);
        bias2 += m * m;
        var += errs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n_runs as f64;
    }
    let n = observed.len() as f64;
    ((bias2 / n).sqrt(), (var / n).sqrt())
}

/// Share of `predicted` intervals that hold the paired `observed` value,
/// and their mean width, over the pairs with a finite interval and
/// observation (NaN for both when there is none).
pub fn interval_coverage(predicted: &[PredictedScore], observed: &[f64]) -> (f64, f64) {
    let (mut inside, mut width, mut n) = (0usize, 0.0, 0usize);
    for (p, &o) in predicted.iter().zip(observed) {
        if !(p.lo.is_finite() && p.hi.is_finite() && o.is_finite()) {
            continue;
        }
        n += 1;
        width += p.hi - p.lo;
        if p.lo <= o && o <= p.hi {
            inside += 1;
        }
    }
    if n == 0 {
        (f64::NAN, f64::NAN)
    } else {
        (inside as f64 / n as f64, width / n as f64)
    }
}

/// Ranks from 1, ties given their average rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut k = i;
        while k + 1 < order.len() && x[order[k + 1]] == x[order[i]] {
            k += 1;
        }
        let avg = (i + k) as f64 / 2.0 + 1.0;
        for &o in &order[i..=k] {
            r[o] = avg;
        }
        i = k + 1;
    }
    r
}

/// Spearman's rank correlation: Pearson's correlation of the ranks (ties
/// share their average rank). NaN for fewer than two pairs or a constant
/// side.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let (rx, ry) = (ranks(&x[..n]), ranks(&y[..n]));
    let (mx, my) = (mean(&rx), mean(&ry));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (rx[i] - mx, ry[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Item exposure of a set of exams (each a list of distinct bank indexes):
/// the largest share of exams that contain one item, and the mean overlap
/// between two exams, `sum_j c_j (c_j - 1) / (n (n - 1) L)` with `c_j` the
/// exams containing item `j`, `n` exams and `L` their mean length (the
/// expected share of one exam's items that another also has). NaN overlap
/// for fewer than two exams.
pub fn exposure(exams: &[Vec<usize>], n_items: usize) -> (f64, f64) {
    let n = exams.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut count = vec![0u64; n_items];
    let mut total = 0usize;
    for exam in exams {
        total += exam.len();
        for &j in exam {
            if let Some(c) = count.get_mut(j) {
                *c += 1;
            }
        }
    }
    let max_rate = count.iter().copied().max().unwrap_or(0) as f64 / n as f64;
    let length = total as f64 / n as f64;
    let overlap = if n < 2 || length == 0.0 {
        f64::NAN
    } else {
        let pairs: f64 = count
            .iter()
            .map(|&c| (c * c.saturating_sub(1)) as f64)
            .sum();
        pairs / (n as f64 * (n as f64 - 1.0) * length)
    };
    (max_rate, overlap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_matches_hand_values() {
        // Perfectly monotone, reversed, and a hand-computed case with a tie:
        // x ranks (1, 2.5, 2.5, 4), y ranks (1, 3, 2, 4): r = 4.5 / sqrt(4.5 * 5).
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 90.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((r - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-12, "{r}");
        assert!(spearman(&[1.0], &[1.0]).is_nan());
    }

    #[test]
    fn exposure_of_identical_and_disjoint_exams() {
        let same = vec![vec![0, 1], vec![0, 1], vec![0, 1]];
        assert_eq!(exposure(&same, 4), (1.0, 1.0));
        let disjoint = vec![vec![0, 1], vec![2, 3]];
        assert_eq!(exposure(&disjoint, 4), (0.5, 0.0));
        // Exams {0,1} and {1,2}: half of each exam is shared.
        let (max, overlap) = exposure(&[vec![0, 1], vec![1, 2]], 3);
        assert_eq!(max, 1.0);
        assert!((overlap - 0.5).abs() < 1e-12);
    }

    #[test]
    fn error_split_squares_add_up_to_the_mean_squared_error() {
        let observed = [0.5, 0.2, 0.9];
        let runs = [[0.6, 0.1, 0.9], [0.4, 0.4, 0.8], [0.7, 0.2, 0.95]];
        let views: Vec<&[f64]> = runs.iter().map(|r| &r[..]).collect();
        let (persistent, spread) = error_split(&views, &observed);
        let mse = runs
            .iter()
            .flat_map(|r| r.iter().zip(&observed).map(|(p, o)| (p - o) * (p - o)))
            .sum::<f64>()
            / 9.0;
        assert!((persistent * persistent + spread * spread - mse).abs() < 1e-12);
        // Examinee 0's errors are 0.1, -0.1, 0.2: mean 1/15, the others by hand.
        let means = [0.2 / 3.0, 0.1 / 3.0, -0.05 / 3.0];
        let b = (means.iter().map(|m| m * m).sum::<f64>() / 3.0).sqrt();
        assert!((persistent - b).abs() < 1e-12, "{persistent} vs {b}");
        // One run: everything persists; identical runs: no spread.
        let (p1, s1) = error_split(&views[..1], &observed);
        assert_eq!(s1, 0.0);
        let rms = ((0.01 + 0.01 + 0.0) / 3.0f64).sqrt();
        assert!((p1 - rms).abs() < 1e-12);
        assert!(error_split(&[], &observed).0.is_nan());
    }

    #[test]
    fn errors_are_mean_and_max_absolute_differences() {
        let (mae, max) = errors(&[0.5, 0.2, 0.9], &[0.4, 0.4, 0.9]);
        assert!((mae - 0.1).abs() < 1e-12 && (max - 0.2).abs() < 1e-12);
    }
}
