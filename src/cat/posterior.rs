//! The posterior of ability during an exam, on a grid updated one answer
//! at a time.
//!
//! Each answer adds `ln P_j(x_j | theta_i)` to every node's log weight, so a
//! step costs one evaluation per node instead of one per node and answered
//! item. The trapezoidal rule on a grid of spacing `h` integrates a bell of
//! SD `s` with relative error about `exp(-2 pi^2 s^2 / h^2)` (3e-9 at
//! `s = h`, 5e-20 at `s = 1.5 h`). The grid starts at the prior's
//! `mean +- 7.5 sd` (joined with `[-6, 6]`), spacing 0.1, where its ends
//! carry no weight (`e^-28` of the peak). When answers make the posterior
//! narrower than 1.5 spacings, or push weight onto an end node (an extreme
//! examinee), the grid is rebuilt once from the answers so far: spacing
//! `sd / 4` over the nodes that carry weight, widened on a side whose end
//! carries. A rebuild costs one evaluation per new node and answer, and
//! happens about once or twice per exam (the SD must fall by a factor of
//! about six between rebuilds). Only if a rebuilt grid still cannot hold
//! the posterior does the session use the estimator's adaptive quadrature
//! (module docs of [`crate::estimate`]). A plan that names a fixed grid
//! gets exactly that grid, as catR does.

use crate::estimate::{
    AbilityPrior, Ends, Estimator, Method, Posterior, TRUNCATED_END, grid_nodes,
};
use crate::model::{Irf, ResponseModel};

/// Default grid spacing, in logits.
const STEP: f64 = 0.1;
/// Prior SDs the first grid spans on each side of the prior mean.
const PRIOR_SDS: f64 = 7.5;
/// An end node this far (in log weight) below the peak carries no weight.
const NEGLIGIBLE: f64 = 25.0;
/// A rebuilt grid spans the nodes within this much of the peak (log weight).
const SPAN: f64 = 32.0;
/// The posterior SD must be at least this many spacings.
const MIN_SDS_PER_STEP: f64 = 1.5;
/// Spacing of a rebuilt grid, in posterior SDs.
const STEP_PER_SD: f64 = 0.25;
/// Largest spacing of a grid whose truncation end carries weight (within
/// [`TRUNCATED_END`] of the peak): Gregory's end weights make the error
/// `O(h^4)` there, about 2e-8 in the posterior mean and SD at 0.05 on the
/// tests' all-correct patterns.
const TRUNCATED_STEP: f64 = 0.05;
/// Rebuilds tried after one answer before giving up on the grid.
const REBUILDS: usize = 4;

/// The posterior of theta during an exam: the estimator's own
/// [`Posterior`] (nodes and normalised trapezoidal-rule weights, with its
/// mean, SD and quantiles), built here incrementally.
pub type GridPosterior = Posterior;

/// The running log weights of one exam.
#[derive(Debug, Clone)]
pub(crate) struct RunningPosterior {
    nodes: Vec<f64>,
    log_w: Vec<f64>,
    /// True when the plan fixed the grid: never rebuild or switch to
    /// adaptive quadrature.
    fixed: bool,
    /// False when the grid could not be made to hold the posterior.
    resolved: bool,
    /// The quadrature's end weights: catR's trapezoid on a plan's fixed
    /// grid, Gregory's on the running one.
    ends: Ends,
    prior: AbilityPrior,
    /// The answers so far, for rebuilds (empty with a fixed grid).
    answers: Vec<(Irf, usize)>,
}

/// Quadrature end weight and prior density, in logs, at each node.
fn prior_log_weights(nodes: &[f64], prior: AbilityPrior, ends: Ends) -> Vec<f64> {
    let n = nodes.len();
    nodes
        .iter()
        .enumerate()
        .map(|(i, &t)| ends.weight(i, n).ln() + prior.ln_kernel(t))
        .collect()
}

/// Peak log weight, posterior mean and SD of log weights on `nodes`.
fn moments(nodes: &[f64], log_w: &[f64]) -> (f64, f64, f64) {
    let peak = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    // Centre on the first node to keep the second moment well conditioned.
    let c = nodes[0];
    for (&t, &lw) in nodes.iter().zip(log_w) {
        let w = (lw - peak).exp();
        let d = t - c;
        m0 += w;
        m1 += w * d;
        m2 += w * d * d;
    }
    let mean = m1 / m0;
    let var = (m2 / m0 - mean * mean).max(0.0);
    (peak, c + mean, var.sqrt())
}

impl RunningPosterior {
    /// The prior on `points` nodes from `lo` to `hi`, or on the default grid
    /// (`mean +- 7.5 sd` joined with `[-6, 6]`, spacing 0.1).
    pub(crate) fn new(prior: AbilityPrior, grid_spec: Option<(usize, f64, f64)>) -> Self {
        let (points, lo, hi, fixed) = match grid_spec {
            Some((points, lo, hi)) => (points, lo, hi, true),
            None => {
                let (lo, hi) = if prior.is_normal() {
                    let (m, s) = (prior.location(), prior.scale());
                    (
                        (-6.0f64).min(m - PRIOR_SDS * s),
                        6.0f64.max(m + PRIOR_SDS * s),
                    )
                } else {
                    prior.support()
                };
                (((hi - lo) / STEP).ceil() as usize + 1, lo, hi, false)
            }
        };
        let nodes = grid_nodes(points, lo, hi);
        let ends = if fixed {
            Ends::Trapezoid
        } else {
            Ends::Gregory
        };
        let log_w = prior_log_weights(&nodes, prior, ends);
        RunningPosterior {
            nodes,
            log_w,
            fixed,
            resolved: true,
            ends,
            prior,
            answers: Vec::new(),
        }
    }

    /// Adds one answer (and rebuilds the grid if it no longer resolves the
    /// posterior).
    pub(crate) fn add(&mut self, irf: &Irf, score: usize) {
        for (lw, &t) in self.log_w.iter_mut().zip(&self.nodes) {
            *lw += irf.log_prob(t, score);
        }
        if self.fixed {
            return;
        }
        self.answers.push((irf.clone(), score));
        self.resolved = false;
        for _ in 0..REBUILDS {
            match self.rebuild_window() {
                None => {
                    self.resolved = true;
                    return;
                }
                Some((lo, hi, step)) => self.rebuild(lo, hi, step),
            }
        }
        self.resolved = self.rebuild_window().is_none();
    }

    /// `None` when the grid resolves the posterior; else the window and
    /// spacing of a grid that should.
    fn rebuild_window(&self) -> Option<(f64, f64, f64)> {
        let n = self.nodes.len();
        let (peak, mean, sd) = moments(&self.nodes, &self.log_w);
        let h = (self.nodes[n - 1] - self.nodes[0]) / (n - 1) as f64;
        // An end on a t prior's support has nothing beyond it.
        let (low_end, high_end) = self.prior.support();
        let low_heavy = self.nodes[0] > low_end && self.log_w[0] > peak - NEGLIGIBLE;
        let high_heavy = self.nodes[n - 1] < high_end && self.log_w[n - 1] > peak - NEGLIGIBLE;
        let narrow = sd < MIN_SDS_PER_STEP * h;
        // Weight piled against a t prior's truncation end: the integrand
        // does not vanish there, so the quadrature error is `O(h^4)` (with
        // Gregory's end weights) rather than exponentially small, and such a
        // grid needs a finer spacing than the default.
        let cut = |i: usize, end: f64| self.nodes[i] == end && self.log_w[i] > peak - TRUNCATED_END;
        let cut_coarse = h > TRUNCATED_STEP && (cut(0, low_end) || cut(n - 1, high_end));
        if !(low_heavy || high_heavy || narrow || cut_coarse)
            || !sd.is_finite()
            || !peak.is_finite()
        {
            return None;
        }
        let first = self.log_w.iter().position(|&lw| lw > peak - SPAN)?;
        let last = self.log_w.iter().rposition(|&lw| lw > peak - SPAN)?;
        let (mut lo, mut hi) = (self.nodes[first] - h, self.nodes[last] + h);
        // A side whose end carries weight may hide more beyond it.
        let width = (hi - lo).max(8.0 * sd);
        if low_heavy {
            lo -= width;
        }
        if high_heavy {
            hi += width;
        }
        let (lo, hi) = (lo.max(low_end), hi.min(high_end));
        let step = if narrow { STEP_PER_SD * sd } else { h };
        let step = if cut_coarse {
            step.min(TRUNCATED_STEP)
        } else {
            step
        };
        let step = step.max(1e-9 * (1.0 + mean.abs()));
        Some((lo, hi, step))
    }

    /// Rebuilds the grid on `[lo, hi]` at spacing about `step` from the
    /// prior and every answer.
    fn rebuild(&mut self, lo: f64, hi: f64, step: f64) {
        let points = (((hi - lo) / step).ceil() as usize + 1).clamp(3, 4001);
        self.nodes = grid_nodes(points, lo, hi);
        self.log_w = prior_log_weights(&self.nodes, self.prior, self.ends);
        for (irf, score) in &self.answers {
            for (lw, &t) in self.log_w.iter_mut().zip(&self.nodes) {
                *lw += irf.log_prob(t, *score);
            }
        }
    }

    /// The posterior given the answers added, on this grid when it resolves
    /// it, else by the estimator's adaptive quadrature over `responses`.
    pub(crate) fn posterior(&self, responses: &[(&Irf, usize)]) -> GridPosterior {
        if self.fixed || self.resolved {
            return Posterior::from_log_weights(self.nodes.clone(), self.log_w.clone(), self.ends);
        }
        Estimator::new(Method::Eap)
            .prior(self.prior)
            .posterior(responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::AbilityPrior;
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
            let mut run = RunningPosterior::new(AbilityPrior::default(), None);
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
    fn extreme_patterns_rebuild_the_grid() {
        let irfs: Vec<Irf> = (0..30)
            .map(|_| Logistic::two_pl(2.0, 5.5).unwrap().into())
            .collect();
        let responses: Vec<(&Irf, usize)> = irfs.iter().map(|i| (i, 1)).collect();
        let mut run = RunningPosterior::new(AbilityPrior::default(), None);
        for &(irf, k) in &responses {
            run.add(irf, k);
        }
        let want = Estimator::new(Method::Eap).posterior(&responses);
        let got = run.posterior(&responses);
        assert!(run.resolved && !run.fixed);
        assert!(
            (got.mean() - want.mean()).abs() < 1e-6,
            "{} vs {}",
            got.mean(),
            want.mean()
        );
        assert!((got.sd() - want.sd()).abs() < 1e-6);
    }

    #[test]
    fn narrow_posteriors_get_a_finer_grid() {
        // 200 answers to a = 3 items: posterior SD about 0.05, half the
        // first grid's spacing.
        let irfs: Vec<Irf> = (0..200)
            .map(|j| {
                Logistic::two_pl(3.0, 0.3 + 0.01 * (j % 7) as f64)
                    .unwrap()
                    .into()
            })
            .collect();
        let responses: Vec<(&Irf, usize)> =
            irfs.iter().enumerate().map(|(j, i)| (i, j % 2)).collect();
        let mut run = RunningPosterior::new(AbilityPrior::default(), None);
        for &(irf, k) in &responses {
            run.add(irf, k);
        }
        let want = Estimator::new(Method::Eap).posterior(&responses);
        let got = run.posterior(&responses);
        assert!(want.sd() < 0.08, "{}", want.sd());
        let h = run.nodes[1] - run.nodes[0];
        assert!(h * MIN_SDS_PER_STEP <= got.sd() && run.resolved, "{h}");
        assert!((got.mean() - want.mean()).abs() < 1e-8 * (1.0 + want.mean().abs()));
        assert!((got.sd() - want.sd()).abs() < 1e-8);
    }

    /// 30 items nobody of ordinary ability gets right (`a = 2`, `b = 5.5`):
    /// answered all correct, they pile a t posterior against its upper
    /// truncation end.
    fn very_hard_items() -> Vec<Irf> {
        (0..30)
            .map(|_| Logistic::two_pl(2.0, 5.5).unwrap().into())
            .collect()
    }

    /// t priors of 4, 1 and 0.5 df.
    fn t_priors() -> [AbilityPrior; 3] {
        [
            AbilityPrior::student_t(0.0, 1.0, 4.0).unwrap(),
            AbilityPrior::student_t(0.5, 0.7, 1.0).unwrap(),
            AbilityPrior::student_t(0.0, 1.0, 0.5).unwrap(),
        ]
    }

    #[test]
    fn t_prior_grid_matches_adaptive_quadrature() {
        // Mixed patterns of 1-400 answers and an all-correct one piling
        // weight on the truncation end, under t priors of 4, 1 and 0.5 df.
        let hard = very_hard_items();
        for prior in t_priors() {
            let mut cases: Vec<Vec<(&Irf, usize)>> = Vec::new();
            let patterns: Vec<_> = [1, 5, 40, 400].into_iter().map(pattern).collect();
            for (irfs, scores) in &patterns {
                cases.push(irfs.iter().zip(scores.iter().copied()).collect());
            }
            cases.push(hard.iter().map(|i| (i, 1)).collect());
            for responses in &cases {
                let n = responses.len();
                let mut run = RunningPosterior::new(prior, None);
                for &(irf, k) in responses {
                    run.add(irf, k);
                }
                let got = run.posterior(responses);
                let want = Estimator::new(Method::Eap)
                    .prior(prior)
                    .posterior(responses);
                assert!(run.resolved, "{prior:?} n {n}");
                let (lo, hi) = prior.support();
                assert!(run.nodes[0] >= lo && run.nodes[run.nodes.len() - 1] <= hi);
                // Weight against the truncation end (the all-correct case):
                // both grids are O(h^4) accurate there (spacing 0.05), 2e-7
                // each (see the test below); else 1e-6 as above.
                let tol = if n == 30 { 4e-7 } else { 1e-6 };
                assert!(
                    (got.mean() - want.mean()).abs() < tol,
                    "{prior:?} n {n}: {} vs {}",
                    got.mean(),
                    want.mean()
                );
                assert!(
                    (got.sd() - want.sd()).abs() < tol,
                    "{prior:?} n {n}: {} vs {}",
                    got.sd(),
                    want.sd()
                );
            }
        }
    }

    #[test]
    fn weight_on_a_truncation_end_is_integrated_to_fourth_order() {
        // All-correct answers to very hard items pile the posterior against
        // the t prior's upper truncation end. Gregory's end weights make the
        // quadrature error fall 16-fold per halving of the spacing; the
        // session's grid (spacing 0.05 there) and the estimator agree with
        // a 200,001-node grid within 2e-7 (1e-7 measured).
        let hard = very_hard_items();
        for prior in &t_priors()[..2] {
            let prior = *prior;
            let (lo, hi) = prior.support();
            let responses: Vec<(&Irf, usize)> = hard.iter().map(|i| (i, 1)).collect();
            // A fixed grid (no rebuilds) with the running grid's end weights.
            let on_grid = |points: usize| {
                let nodes = grid_nodes(points, lo, hi);
                let mut r = RunningPosterior {
                    log_w: prior_log_weights(&nodes, prior, Ends::Gregory),
                    nodes,
                    ends: Ends::Gregory,
                    ..RunningPosterior::new(prior, Some((points, lo, hi)))
                };
                for &(irf, k) in &responses {
                    r.add(irf, k);
                }
                r.posterior(&[])
            };
            let reference = on_grid(200_001);
            let err = |p: &Posterior| {
                (p.mean() - reference.mean())
                    .abs()
                    .max((p.sd() - reference.sd()).abs())
            };
            // Spacing 0.2, 0.1, 0.05 over the 24-scale support.
            let scale = prior.scale();
            let points = |h: f64| ((hi - lo) / (h * scale)).round() as usize + 1;
            let errors: Vec<f64> = [0.2, 0.1, 0.05]
                .iter()
                .map(|&h| err(&on_grid(points(h))))
                .collect();
            for w in errors.windows(2) {
                let ratio = w[0] / w[1];
                assert!(ratio > 10.0 && ratio < 24.0, "{prior:?}: {errors:?}");
            }
            let mut run = RunningPosterior::new(prior, None);
            for &(irf, k) in &responses {
                run.add(irf, k);
            }
            let session = run.posterior(&responses);
            let estimator = Estimator::new(Method::Eap)
                .prior(prior)
                .posterior(&responses);
            assert!(run.resolved);
            assert!(err(&session) < 2e-7, "{prior:?}: {}", err(&session));
            // The quantiles behind predicted-score intervals read the
            // density back from the weights, Gregory's end weights included.
            for p in [0.025, 0.5, 0.975] {
                let d = session.quantile(p) - reference.quantile(p);
                assert!(d.abs() < 2e-5 * reference.sd(), "{prior:?} p {p}: {d}");
            }
            assert!(err(&estimator) < 2e-7, "{prior:?}: {}", err(&estimator));
            // Far fewer nodes than the 4,001 the trapezoid needed.
            assert!(
                session.nodes().len() <= 2 * points(0.05),
                "{}",
                session.nodes().len()
            );
        }
    }
}
