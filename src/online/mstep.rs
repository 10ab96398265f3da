//! One new item's parameters from weighted responses at known abilities:
//! Fisher scoring in working coordinates with analytic gradients
//! ([`ResponseModel::grad_log_prob`]) and the calibration module's priors.
//!
//! The data are points `(theta_p, c_pk)`: expected (or, with abilities held
//! fixed, observed) counts of score `k` at ability `theta_p`. The objective
//! is `sum_p sum_k c_pk ln P_k(theta_p) + ln prior`; each step solves
//! `(I + Pi) delta = gradient` with `I = sum_p n_p sum_k P_k s_k s_k^T` the
//! expected information (`s_k` the score vector, `n_p = sum_k c_pk`) and
//! `Pi` the prior's negative curvature, halving the step until the
//! objective rises and the item stays valid.
//!
//! Working coordinates: `ln a`, intercepts `d = -a b` (each `d_k` of a graded
//! item), `logit g`, `logit u`; Rasch and 1PL items move `d` only (slope 1,
//! or the bank's common 1PL slope).

use crate::calibrate::PriorConfig;
use crate::error::{Error, Result};
use crate::model::{Graded, Irf, Logistic, ModelKind, ResponseModel};

/// Counts of each score at one ability.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub theta: f64,
    pub counts: Vec<f64>,
}

/// The fitted item: response function, standard errors aligned with
/// `irf.params()` (`NaN` for fixed parameters), and whether Newton settled.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    pub irf: Irf,
    pub se: Vec<f64>,
    pub converged: bool,
}

/// What is estimated: the model, its category count, and the common slope
/// of 1PL items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub kind: ModelKind,
    pub n_cat: usize,
    pub slope: f64,
    pub priors: PriorConfig,
}

fn sigmoid(x: f64) -> f64 {
    crate::model::logspace::sigmoid(x)
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Spec {
    /// The response function at working coordinates `x`.
    fn irf(&self, x: &[f64]) -> Result<Irf> {
        Ok(match self.kind {
            ModelKind::Rasch => Logistic::rasch(-x[0])?.into(),
            ModelKind::OnePl => Logistic::two_pl(self.slope, -x[0] / self.slope)?.into(),
            ModelKind::TwoPl => Logistic::from_slope_intercept(x[0].exp(), x[1], 0.0, 1.0)?.into(),
            ModelKind::ThreePl => {
                Logistic::from_slope_intercept(x[0].exp(), x[1], sigmoid(x[2]), 1.0)?.into()
            }
            ModelKind::FourPl => {
                Logistic::from_slope_intercept(x[0].exp(), x[1], sigmoid(x[2]), sigmoid(x[3]))?
                    .into()
            }
            ModelKind::Graded => Graded::from_slope_intercept(x[0].exp(), &x[1..])?.into(),
        })
    }

    /// Starting coordinates from the points: slope 1, difficulties where
    /// the observed cumulative proportions put them around the mean ability.
    fn start(&self, points: &[Point]) -> Vec<f64> {
        let total: f64 = points.iter().map(|p| p.counts.iter().sum::<f64>()).sum();
        let mean = points
            .iter()
            .map(|p| p.theta * p.counts.iter().sum::<f64>())
            .sum::<f64>()
            / total.max(1e-12);
        // Intercept of P(X >= k) at slope 1: logit of the share at or above k.
        let d = |k: usize| {
            let above: f64 = points
                .iter()
                .map(|p| p.counts[k..].iter().sum::<f64>())
                .sum();
            let share = ((above + 0.5) / (total + 1.0)).clamp(0.02, 0.98);
            logit(share) - mean
        };
        match self.kind {
            ModelKind::Rasch => vec![d(1)],
            ModelKind::OnePl => vec![d(1) * self.slope],
            ModelKind::TwoPl => vec![0.0, d(1)],
            ModelKind::ThreePl => vec![0.0, d(1), logit(0.15)],
            ModelKind::FourPl => vec![0.0, d(1), logit(0.15), logit(0.95)],
            ModelKind::Graded => {
                let mut x = vec![0.0];
                for k in 1..self.n_cat {
                    let v = d(k);
                    // Intercepts must strictly decrease.
                    let v = x
                        .last()
                        .filter(|_| k > 1)
                        .map_or(v, |&prev: &f64| v.min(prev - 0.1));
                    x.push(v);
                }
                x
            }
        }
    }

    /// Score vectors of every category in working coordinates at `theta`.
    fn scores(&self, irf: &Irf, x: &[f64], theta: f64, out: &mut [Vec<f64>]) {
        let params = irf.params();
        let mut g = vec![0.0; params.len()];
        for (k, s) in out.iter_mut().enumerate() {
            irf.grad_log_prob(theta, k, &mut g);
            match self.kind {
                ModelKind::Rasch => s[0] = -g[1],
                ModelKind::OnePl => s[0] = -g[1] / self.slope,
                ModelKind::Graded => {
                    let a = params[0];
                    s[0] = a * g[0] - (1..params.len()).map(|i| params[i] * g[i]).sum::<f64>();
                    for i in 1..params.len() {
                        s[i] = -g[i] / a;
                    }
                }
                _ => {
                    let (a, b) = (params[0], params[1]);
                    s[0] = a * g[0] - b * g[1];
                    s[1] = -g[1] / a;
                    if x.len() > 2 {
                        let p = sigmoid(x[2]);
                        s[2] = p * (1.0 - p) * g[2];
                    }
                    if x.len() > 3 {
                        let p = sigmoid(x[3]);
                        s[3] = p * (1.0 - p) * g[3];
                    }
                }
            }
        }
    }

    /// Log prior of `x` with its gradient and negative curvature (diagonal).
    fn prior(&self, x: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let pr = self.priors.for_kind(self.kind);
        let (mut v, mut g, mut h) = (0.0, vec![0.0; x.len()], vec![0.0; x.len()]);
        let mut add = |i: usize, t: (f64, f64, f64)| {
            v += t.0;
            g[i] += t.1;
            h[i] -= t.2;
        };
        match self.kind {
            ModelKind::Rasch | ModelKind::OnePl => {
                if let Some(p) = pr.intercept {
                    add(0, p.on_value(x[0]));
                }
            }
            _ => {
                if let Some(p) = pr.log_slope {
                    add(0, p.on_value(x[0]));
                }
                let n_d = if self.kind == ModelKind::Graded {
                    x.len() - 1
                } else {
                    1
                };
                if let Some(p) = pr.intercept {
                    for (i, &d) in x.iter().enumerate().skip(1).take(n_d) {
                        add(i, p.on_value(d));
                    }
                }
                if self.kind != ModelKind::Graded {
                    if let (Some(p), true) = (pr.guessing, x.len() > 2) {
                        add(2, p.on_logit(sigmoid(x[2])));
                    }
                    if let (Some(p), true) = (pr.upper, x.len() > 3) {
                        add(3, p.on_logit(sigmoid(x[3])));
                    }
                }
            }
        }
        (v, g, h)
    }

    /// Objective, gradient and information (row-major) at `x`; `None` when
    /// `x` is not a valid item.
    fn evaluate(&self, points: &[Point], x: &[f64]) -> Option<(f64, Vec<f64>, Vec<f64>)> {
        let irf = self.irf(x).ok()?;
        let n = x.len();
        let (mut obj, mut grad, prior_h) = self.prior(x);
        let mut info = vec![0.0; n * n];
        for (i, h) in prior_h.iter().enumerate() {
            info[i * n + i] += h;
        }
        let mut s = vec![vec![0.0; n]; self.n_cat];
        for p in points {
            self.scores(&irf, x, p.theta, &mut s);
            let total: f64 = p.counts.iter().sum();
            for (k, sk) in s.iter().enumerate() {
                let lp = irf.log_prob(p.theta, k);
                let c = p.counts[k];
                if c > 0.0 {
                    obj += c * lp;
                    for (g, v) in grad.iter_mut().zip(sk) {
                        *g += c * v;
                    }
                }
                let w = total * lp.exp();
                for i in 0..n {
                    for j in 0..n {
                        info[i * n + j] += w * sk[i] * sk[j];
                    }
                }
            }
        }
        obj.is_finite().then_some((obj, grad, info))
    }

    /// Reported parameters' Jacobian with respect to the working
    /// coordinates, row-major (`params().len()` rows).
    fn jacobian(&self, irf: &Irf, x: &[f64]) -> Vec<f64> {
        let params = irf.params();
        let (rows, n) = (params.len(), x.len());
        let mut j = vec![0.0; rows * n];
        match self.kind {
            ModelKind::Rasch => j[n] = -1.0,
            ModelKind::OnePl => j[n] = -1.0 / self.slope,
            ModelKind::Graded => {
                let a = params[0];
                j[0] = a;
                for r in 1..rows {
                    j[r * n] = -params[r];
                    j[r * n + r] = -1.0 / a;
                }
            }
            _ => {
                let (a, b) = (params[0], params[1]);
                j[0] = a;
                j[n] = -b;
                j[n + 1] = -1.0 / a;
                for c in 2..n {
                    let p = sigmoid(x[c]);
                    j[c * n + c] = p * (1.0 - p);
                }
            }
        }
        j
    }

    /// Which reported parameters the model fixes.
    fn fixed(&self, rows: usize) -> Vec<bool> {
        match self.kind {
            ModelKind::Graded => vec![false; rows],
            ModelKind::Rasch | ModelKind::OnePl => vec![true, false, true, true],
            ModelKind::TwoPl => vec![false, false, true, true],
            ModelKind::ThreePl => vec![false, false, false, true],
            ModelKind::FourPl => vec![false; 4],
        }
    }

    /// Fits the item to `points`, starting from `start` (or the data's
    /// rough values).
    pub(crate) fn fit(&self, points: &[Point], start: Option<&[f64]>) -> Result<(Fit, Vec<f64>)> {
        let mut x = start.map_or_else(|| self.start(points), <[f64]>::to_vec);
        let Some(mut cur) = self.evaluate(points, &x) else {
            return Err(Error::value("no valid starting values"));
        };
        let mut converged = false;
        for _ in 0..200 {
            let obj = cur.0;
            let Some(step) = solve(&cur.2, &cur.1) else {
                break;
            };
            let mut scale = 1.0;
            let mut moved = false;
            for _ in 0..30 {
                let trial: Vec<f64> = x.iter().zip(&step).map(|(v, d)| v + scale * d).collect();
                if let Some(next) = self.evaluate(points, &trial) {
                    if next.0 >= obj - 1e-12 {
                        let change = step.iter().map(|d| (scale * d).abs()).fold(0.0, f64::max);
                        x = trial;
                        cur = next;
                        moved = true;
                        converged = change < 1e-7;
                        break;
                    }
                }
                scale *= 0.5;
            }
            if !moved {
                // No ascent along the scoring direction: at the optimum to
                // working precision.
                converged = cur.1.iter().all(|g| g.abs() < 1e-4);
                break;
            }
            if converged {
                break;
            }
        }
        let irf = self.irf(&x)?;
        let cov = invert(&cur.2, x.len());
        let jac = self.jacobian(&irf, &x);
        let rows = irf.params().len();
        let n = x.len();
        let fixed = self.fixed(rows);
        let se = (0..rows)
            .map(|r| match &cov {
                Some(cov) if !fixed[r] => {
                    let mut v = 0.0;
                    for i in 0..n {
                        for j in 0..n {
                            v += jac[r * n + i] * cov[i * n + j] * jac[r * n + j];
                        }
                    }
                    v.max(0.0).sqrt()
                }
                _ => f64::NAN,
            })
            .collect();
        Ok((Fit { irf, se, converged }, x))
    }
}

/// The inverse of a small symmetric positive-definite matrix (Gauss-Jordan
/// with partial pivoting); `None` when singular.
fn invert(m: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut a = m.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for c in 0..n {
        let piv = (c..n).max_by(|&x, &y| a[x * n + c].abs().total_cmp(&a[y * n + c].abs()))?;
        if a[piv * n + c].abs() < 1e-300 {
            return None;
        }
        for k in 0..n {
            a.swap(c * n + k, piv * n + k);
            inv.swap(c * n + k, piv * n + k);
        }
        let d = a[c * n + c];
        for k in 0..n {
            a[c * n + k] /= d;
            inv[c * n + k] /= d;
        }
        for r in (0..n).filter(|&r| r != c) {
            let f = a[r * n + c];
            if f != 0.0 {
                for k in 0..n {
                    a[r * n + k] -= f * a[c * n + k];
                    inv[r * n + k] -= f * inv[c * n + k];
                }
            }
        }
    }
    inv.iter().all(|v| v.is_finite()).then_some(inv)
}

/// Solves `m x = b` for a small matrix.
fn solve(m: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let inv = invert(m, n)?;
    Some(
        (0..n)
            .map(|i| (0..n).map(|j| inv[i * n + j] * b[j]).sum())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ModelKind) -> Spec {
        Spec {
            kind,
            n_cat: 2,
            slope: 1.0,
            priors: PriorConfig::none(),
        }
    }

    #[test]
    fn working_scores_match_finite_differences() {
        for kind in [ModelKind::TwoPl, ModelKind::ThreePl, ModelKind::FourPl] {
            let s = spec(kind);
            let x = [0.3_f64, -0.4, -1.5, 2.5][..match kind {
                ModelKind::TwoPl => 2,
                ModelKind::ThreePl => 3,
                _ => 4,
            }]
                .to_vec();
            let irf = s.irf(&x).unwrap();
            let mut out = vec![vec![0.0; x.len()]; 2];
            s.scores(&irf, &x, 0.7, &mut out);
            for (k, sk) in out.iter().enumerate() {
                for (i, &got) in sk.iter().enumerate() {
                    let h = 1e-6;
                    let mut up = x.clone();
                    up[i] += h;
                    let mut dn = x.clone();
                    dn[i] -= h;
                    let fd = (s.irf(&up).unwrap().log_prob(0.7, k)
                        - s.irf(&dn).unwrap().log_prob(0.7, k))
                        / (2.0 * h);
                    assert!((got - fd).abs() < 1e-6, "{kind} k{k} i{i}: {got} vs {fd}");
                }
            }
        }
    }

    #[test]
    fn fit_recovers_a_2pl_item_from_exact_counts() {
        // Expected counts of 1000 examinees per node under a = 1.4, b = 0.6:
        // the maximum-likelihood fit is the generating item.
        let truth = Logistic::two_pl(1.4, 0.6).unwrap();
        let points: Vec<Point> = (-30..=30)
            .map(|q| {
                let t = q as f64 * 0.1;
                let p = truth.prob(t, 1);
                Point {
                    theta: t,
                    counts: vec![1000.0 * (1.0 - p), 1000.0 * p],
                }
            })
            .collect();
        let (fit, _) = spec(ModelKind::TwoPl).fit(&points, None).unwrap();
        let p = fit.irf.params();
        assert!(fit.converged);
        assert!(
            (p[0] - 1.4).abs() < 1e-5 && (p[1] - 0.6).abs() < 1e-5,
            "{p:?}"
        );
        assert!(fit.se[0] > 0.0 && fit.se[1] > 0.0 && fit.se[2].is_nan());
    }
}
