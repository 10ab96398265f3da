//! Scoring many examinees, and the proportion correct a whole bank predicts.

use rayon::prelude::*;

use super::estimator::{Ability, Estimator};
use super::posterior::Posterior;
use crate::data::ResponseMatrix;
use crate::model::{Irf, ResponseModel};

/// Estimates every examinee of `matrix` (rows in order), in parallel.
///
/// `irfs[j]` is the response function of column `j`. Responses to a column
/// without a function (`j >= irfs.len()`) or with a score outside the item's
/// categories are ignored; an examinee without usable responses gets the
/// estimator's [`Status::NoResponses`](super::Status::NoResponses) result.
/// Frequency weights do not change an examinee's estimate and are not used.
pub fn score_matrix(est: &Estimator, matrix: &ResponseMatrix, irfs: &[&Irf]) -> Vec<Ability> {
    (0..matrix.n_examinees())
        .into_par_iter()
        .map_init(Vec::new, |pattern: &mut Vec<(&Irf, usize)>, e| {
            pattern.clear();
            let (items, scores) = matrix.examinee_responses(e);
            pattern.extend(
                items
                    .iter()
                    .zip(scores)
                    .filter_map(|(&j, &s)| irfs.get(j as usize).map(|irf| (*irf, s as usize))),
            );
            est.estimate(pattern)
        })
        .collect()
}

/// The proportion of the maximum score expected on the whole bank at
/// `theta`: `(1 / n) sum_j E[X_j | theta] / (K_j - 1)`, the predicted
/// proportion correct for dichotomous items. Increasing in `theta`.
/// NaN for an empty bank.
pub fn expected_proportion(irfs: &[&Irf], theta: f64) -> f64 {
    let total: f64 = irfs
        .iter()
        .map(|irf| irf.expected_score(theta) / (irf.n_categories() - 1) as f64)
        .sum();
    total / irfs.len() as f64
}

/// A predicted score on a bank with its interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PredictedScore {
    /// Posterior mean of the expected proportion.
    pub mean: f64,
    /// Lower end of the central interval.
    pub lo: f64,
    /// Upper end of the central interval.
    pub hi: f64,
}

/// The proportion of the bank `irfs` an examinee is predicted to score:
/// the posterior mean of [`expected_proportion`], and the central `level`
/// interval (e.g. 0.95) obtained by mapping the posterior quantiles of
/// `theta` at `(1 - level) / 2` and `(1 + level) / 2` through it (it is
/// increasing, so quantiles map to quantiles). `level` is clamped to
/// `[0, 1]`; NaN is treated as 0 (the interval shrinks to the median).
pub fn predicted_score(posterior: &Posterior, irfs: &[&Irf], level: f64) -> PredictedScore {
    let level = if level.is_nan() {
        0.0
    } else {
        level.clamp(0.0, 1.0)
    };
    let tail = 0.5 * (1.0 - level);
    PredictedScore {
        mean: posterior.expect(|t| expected_proportion(irfs, t)),
        lo: expected_proportion(irfs, posterior.quantile(tail)),
        hi: expected_proportion(irfs, posterior.quantile(1.0 - tail)),
    }
}
