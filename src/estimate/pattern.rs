//! Sums over one examinee's responses: log-likelihood, its derivatives,
//! information and Warm's term, all from per-item log-space quantities.

use super::prior::NormalPrior;
use crate::model::{Irf, ResponseModel};

/// A response pattern. Pairs whose score is outside the item's categories
/// are skipped everywhere (the estimators must not panic on bad input).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pattern<'a> {
    responses: &'a [(&'a Irf, usize)],
}

impl<'a> Pattern<'a> {
    pub(crate) fn new(responses: &'a [(&'a Irf, usize)]) -> Self {
        Pattern { responses }
    }

    fn iter(&self) -> impl Iterator<Item = (&'a Irf, usize)> + 'a {
        self.responses
            .iter()
            .copied()
            .filter(|(irf, k)| *k < irf.n_categories())
    }

    /// Number of usable responses.
    pub(crate) fn len(&self) -> usize {
        self.iter().count()
    }

    /// `ln L(theta) = sum_j ln P_j(x_j | theta)`.
    pub(crate) fn log_lik(&self, theta: f64) -> f64 {
        self.iter().map(|(irf, k)| irf.log_prob(theta, k)).sum()
    }

    /// `(d ln L / d theta, d^2 ln L / d theta^2)`.
    pub(crate) fn score_hess(&self, theta: f64) -> (f64, f64) {
        self.iter().fold((0.0, 0.0), |(g, h), (irf, k)| {
            let d = irf.theta_derivs(theta, k);
            (g + d.d1, h + d.d2)
        })
    }

    /// Test information `I(theta) = sum_j I_j(theta)` of the answered items.
    pub(crate) fn information(&self, theta: f64) -> f64 {
        self.iter().map(|(irf, _)| irf.information(theta)).sum()
    }

    /// Warm's estimating function `d ln L / d theta + J / (2 I)` and the
    /// information `I`. Far outside the items' range `I` can underflow to 0;
    /// the correction is then dropped (it is bounded, the score is not).
    pub(crate) fn warm(&self, theta: f64) -> (f64, f64) {
        let (score, info, j) = self.iter().fold((0.0, 0.0, 0.0), |(s, i, j), (irf, k)| {
            (
                s + irf.theta_derivs(theta, k).d1,
                i + irf.information(theta),
                j + irf.warm_j(theta),
            )
        });
        let correction = if info > 0.0 && j.is_finite() {
            j / (2.0 * info)
        } else {
            0.0
        };
        (score + correction, info)
    }
}

/// The function the modal estimators maximise: `ln L`, plus the log prior
/// kernel for MAP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogPost<'a> {
    pub(crate) pattern: Pattern<'a>,
    pub(crate) prior: Option<NormalPrior>,
}

impl LogPost<'_> {
    /// Value at `theta`.
    pub(crate) fn value(&self, theta: f64) -> f64 {
        let lp = self.prior.map_or(0.0, |p| p.ln_kernel(theta));
        self.pattern.log_lik(theta) + lp
    }

    /// First and second derivatives at `theta`.
    pub(crate) fn grad_hess(&self, theta: f64) -> (f64, f64) {
        let (g, h) = self.pattern.score_hess(theta);
        let (pg, ph) = self.prior.map_or((0.0, 0.0), |p| p.ln_kernel_derivs(theta));
        (g + pg, h + ph)
    }

    /// First derivative at `theta`.
    pub(crate) fn grad(&self, theta: f64) -> f64 {
        self.grad_hess(theta).0
    }
}
