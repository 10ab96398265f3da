//! The posterior of ability during an exam, on a fixed grid updated one
//! answer at a time.
//!
//! Each answer adds `ln P_j(x_j | theta_i)` to every node's log weight, so a
//! step costs one evaluation per node (121 nodes for the `N(0, 1)` prior)
//! instead of one per node and answered item. The trapezoidal rule on this
//! grid (spacing `h = 0.1`) integrates a bell of SD `s` with relative error
//! about `exp(-2 pi^2 s^2 / h^2)`, 3e-9 at `s = h`; while the posterior SD
//! is at least the spacing the grid is used, and when it is narrower, or a
//! grid end still carries weight (an extreme examinee), the session uses
//! the estimator's adaptive quadrature instead (module docs of
//! [`crate::estimate`]). A plan that names a fixed grid gets exactly that
//! grid, as catR does.

use crate::estimate::{Estimator, Method, NormalPrior, Posterior};
use crate::model::{Irf, ResponseModel};

/// Default grid spacing, in logits.
const STEP: f64 = 0.1;
/// An end node this far (in log weight) below the peak carries no weight.
const NEGLIGIBLE: f64 = 25.0;

/// The posterior of theta during an exam: the estimator's own
/// [`Posterior`] (nodes and normalised trapezoidal-rule weights, with its
/// mean, SD and quantiles), built here incrementally.
pub type GridPosterior = Posterior;

/// The running log weights of one exam.
#[derive(Debug, Clone)]
pub(crate) struct RunningPosterior {
    nodes: Vec<f64>,
    log_w: Vec<f64>,
    /// True when the plan fixed the grid: never switch to adaptive.
    fixed: bool,
    prior: NormalPrior,
}

impl RunningPosterior {
    /// The prior on `points` nodes from `lo` to `hi`, or on the default grid
    /// (`[-6, 6]` joined with `mean +- 6 sd`, spacing 0.1).
    pub(crate) fn new(prior: NormalPrior, grid: Option<(usize, f64, f64)>) -> Self {
        let (points, lo, hi, fixed) = match grid {
            Some((points, lo, hi)) => (points, lo, hi, true),
            None => {
                let lo = (-6.0f64).min(prior.mean() - 6.0 * prior.sd());
                let hi = 6.0f64.max(prior.mean() + 6.0 * prior.sd());
                (((hi - lo) / STEP).ceil() as usize + 1, lo, hi, false)
            }
        };
        let step = (hi - lo) / (points - 1) as f64;
        let nodes: Vec<f64> = (0..points)
            .map(|i| {
                if i + 1 == points {
                    hi
                } else {
                    lo + i as f64 * step
                }
            })
            .collect();
        let log_w = nodes
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let z = (t - prior.mean()) / prior.sd();
                let end = if i == 0 || i + 1 == points {
                    0.5f64.ln()
                } else {
                    0.0
                };
                end - 0.5 * z * z
            })
            .collect();
        RunningPosterior {
            nodes,
            log_w,
            fixed,
            prior,
        }
    }

    /// Adds one answer.
    pub(crate) fn add(&mut self, irf: &Irf, score: usize) {
        for (lw, &t) in self.log_w.iter_mut().zip(&self.nodes) {
            *lw += irf.log_prob(t, score);
        }
    }

    /// The posterior given the answers added, on this grid when it resolves
    /// it, else by the estimator's adaptive quadrature over `responses`.
    pub(crate) fn posterior(&self, responses: &[(&Irf, usize)]) -> GridPosterior {
        let post = Posterior::from_log_weights(self.nodes.clone(), self.log_w.clone());
        if self.fixed {
            return post;
        }
        let peak = self.log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let n = self.log_w.len();
        let ends_carry = self.log_w[0] > peak - NEGLIGIBLE || self.log_w[n - 1] > peak - NEGLIGIBLE;
        if !ends_carry && post.sd() >= STEP {
            return post;
        }
        Estimator::new(Method::Eap)
            .prior(self.prior)
            .posterior(responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;

    fn pattern(n: usize) -> (Vec<Irf>, Vec<usize>) {
        let irfs: Vec<Irf> = (0..n)
            .map(|j| {
                Logistic::two_pl(
                    0.8 + 0.05 * (j % 20) as f64,
                    -2.0 + 4.0 * (j as f64 / n as f64),
                )
                .unwrap()
                .into()
            })
            .collect();
        let scores = (0..n).map(|j| usize::from(j % 3 != 0)).collect();
        (irfs, scores)
    }

    #[test]
    fn grid_and_adaptive_posteriors_agree() {
        for n in [1, 5, 40, 400] {
            let (irfs, scores) = pattern(n);
            let responses: Vec<(&Irf, usize)> = irfs.iter().zip(scores.iter().copied()).collect();
            let mut run = RunningPosterior::new(NormalPrior::default(), None);
            for &(irf, k) in &responses {
                run.add(irf, k);
            }
            let got = run.posterior(&responses);
            let want = Estimator::new(Method::Eap).posterior(&responses);
            assert!((got.mean() - want.mean()).abs() < 1e-6, "n {n}");
            assert!((got.sd() - want.sd()).abs() < 1e-6, "n {n}");
            for p in [0.025, 0.5, 0.975] {
                let (g, w) = (got.quantile(p), want.quantile(p));
                assert!(
                    (g - w).abs() < 2e-3 * want.sd().max(0.05),
                    "n {n} p {p}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn extreme_patterns_fall_back_to_adaptive_quadrature() {
        let irfs: Vec<Irf> = (0..30)
            .map(|_| Logistic::two_pl(2.0, 5.5).unwrap().into())
            .collect();
        let responses: Vec<(&Irf, usize)> = irfs.iter().map(|i| (i, 1)).collect();
        let mut run = RunningPosterior::new(NormalPrior::default(), None);
        for &(irf, k) in &responses {
            run.add(irf, k);
        }
        let want = Estimator::new(Method::Eap).posterior(&responses);
        assert!((run.posterior(&responses).mean() - want.mean()).abs() < 1e-9);
    }
}
