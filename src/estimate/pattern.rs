//! Sums over one examinee's responses: log-likelihood, its derivatives,
//! information and Warm's term, all from per-item log-space quantities.

use super::prior::AbilityPrior;
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

    /// True when every item's log-probability is concave in `theta` (Rasch,
    /// 1PL, 2PL and graded items; not 3PL/4PL, whose asymptotes break it), so
    /// `ln L` has a single maximum and Newton's method needs no grid.
    pub(crate) fn log_concave(&self) -> bool {
        self.iter().all(|(irf, _)| match irf {
            Irf::Logistic(l) => l.g() == 0.0 && l.u() == 1.0,
            Irf::Graded(_) => true,
        })
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
    /// information `I`, from one pass over each item's categories:
    /// `I_j = sum_k P_k d1_k^2`, `J_j = sum_k P_k d1_k (d2_k + d1_k^2)` with
    /// `d1, d2` the derivatives of `ln P_k` (the formulas of
    /// [`ResponseModel::information`] and [`ResponseModel::warm_j`]). Far
    /// outside the items' range `I` can underflow to 0; the correction is
    /// then dropped (it is bounded, the score is not).
    pub(crate) fn warm(&self, theta: f64) -> (f64, f64) {
        let (mut score, mut info, mut j) = (0.0, 0.0, 0.0);
        for (irf, x) in self.iter() {
            for k in 0..irf.n_categories() {
                let d = irf.theta_derivs(theta, k);
                let p = d.log_prob.exp();
                info += p * d.d1 * d.d1;
                j += p * d.d1 * (d.d2 + d.d1 * d.d1);
                if k == x {
                    score += d.d1;
                }
            }
        }
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
    pub(crate) prior: Option<AbilityPrior>,
}

impl LogPost<'_> {
    /// True when the objective is concave: a concave pattern (see
    /// [`Pattern::log_concave`]) and no prior or a normal one. A Student-t
    /// prior's log density is convex beyond `sqrt(df)` scales, so the sum
    /// may have several local maxima.
    pub(crate) fn log_concave(&self) -> bool {
        self.pattern.log_concave() && self.prior.is_none_or(|p| p.is_normal())
    }

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
