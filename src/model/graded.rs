//! Samejima's graded response model for items scored `0..K-1`.

use super::logspace::{ln_1m_exp, ln_sigmoid, sigmoid};
use super::{ResponseModel, ThetaDerivs};
use crate::error::{Error, Result};

/// A graded item: `P(X >= k) = 1 / (1 + exp(-a (theta - b_k)))` for
/// `k = 1..K-1`, with `P(X >= 0) = 1`, `P(X >= K) = 0` and
/// `P(X = k) = P(X >= k) - P(X >= k+1)`.
///
/// Parameters, in [`ResponseModel::params`] order: `[a, b_1, ..., b_{K-1}]`.
/// With `K = 2` it is the 2PL.
///
/// ```
/// use fangsheng::model::{Graded, ResponseModel};
/// let item = Graded::new(1.2, vec![-1.0, 0.0, 1.5]).unwrap();
/// let total: f64 = (0..4).map(|k| item.prob(0.3, k)).sum();
/// assert!((total - 1.0).abs() < 1e-12);
/// ```
///
/// # Errors
/// [`Graded::new`] rejects a non-positive or non-finite `a`, fewer than one
/// threshold, non-finite thresholds and thresholds that are not strictly
/// increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    a: f64,
    thresholds: Vec<f64>,
}

impl Graded {
    /// A graded item from its slope and strictly increasing thresholds.
    pub fn new(a: f64, thresholds: Vec<f64>) -> Result<Self> {
        if !a.is_finite() || a <= 0.0 {
            return Err(Error::param(format!(
                "discrimination a must be a positive finite number, got {a}"
            )));
        }
        if thresholds.is_empty() {
            return Err(Error::param(
                "a graded item needs at least one threshold (two categories)",
            ));
        }
        if let Some(bad) = thresholds.iter().find(|t| !t.is_finite()) {
            return Err(Error::param(format!(
                "thresholds must be finite, got {bad}"
            )));
        }
        if let Some(w) = thresholds.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::param(format!(
                "thresholds must be strictly increasing, got {} then {}",
                w[0], w[1]
            )));
        }
        Ok(Graded { a, thresholds })
    }

    /// From mirt's slope-intercept form `P(X >= k) = 1 / (1 + exp(-(a theta + d_k)))`
    /// with decreasing intercepts `d_1 > d_2 > ...`, so `b_k = -d_k / a`.
    pub fn from_slope_intercept(a: f64, intercepts: &[f64]) -> Result<Self> {
        if !a.is_finite() || a <= 0.0 {
            return Err(Error::param(format!(
                "slope a must be a positive finite number, got {a}"
            )));
        }
        Self::new(a, intercepts.iter().map(|d| -d / a).collect())
    }

    /// Discrimination.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// Thresholds `b_1 < ... < b_{K-1}`.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// mirt's intercepts `d_k = -a b_k`.
    pub fn intercepts(&self) -> Vec<f64> {
        self.thresholds.iter().map(|b| -self.a * b).collect()
    }

    /// The logits of the two cumulative curves bounding category `k`:
    /// `x = a (theta - b_k)` (None for k = 0, where `P(X >= 0) = 1`) and
    /// `y = a (theta - b_{k+1})` (None for the top category).
    #[inline]
    fn bounds(&self, theta: f64, k: usize) -> (Option<f64>, Option<f64>) {
        let x = (k > 0).then(|| self.a * (theta - self.thresholds[k - 1]));
        let y = self.thresholds.get(k).map(|b| self.a * (theta - b));
        (x, y)
    }

    fn check_score(&self, k: usize) {
        assert!(
            k <= self.thresholds.len(),
            "score {k} is outside categories 0..={}",
            self.thresholds.len()
        );
    }
}

impl ResponseModel for Graded {
    fn n_categories(&self) -> usize {
        self.thresholds.len() + 1
    }

    fn log_prob(&self, theta: f64, k: usize) -> f64 {
        self.check_score(k);
        // s(x) - s(y) = s(x) s(-y) (1 - exp(y - x)) for x > y: no cancellation.
        match self.bounds(theta, k) {
            (None, Some(y)) => ln_sigmoid(-y),
            (Some(x), None) => ln_sigmoid(x),
            (Some(x), Some(y)) => ln_sigmoid(x) + ln_sigmoid(-y) + ln_1m_exp(y - x),
            (None, None) => unreachable!("a graded item has at least one threshold"),
        }
    }

    fn theta_derivs(&self, theta: f64, k: usize) -> ThetaDerivs {
        let log_prob = self.log_prob(theta, k);
        // y - x does not depend on theta, so d ln P / d theta = a (1 - s(x) - s(y))
        // with s(x) = 1 for the bottom category and s(y) = 0 for the top one.
        let (x, y) = self.bounds(theta, k);
        let (sx, vx) = x.map_or((1.0, 0.0), |x| (sigmoid(x), sigmoid(x) * sigmoid(-x)));
        let (sy, vy) = y.map_or((0.0, 0.0), |y| (sigmoid(y), sigmoid(y) * sigmoid(-y)));
        ThetaDerivs {
            log_prob,
            d1: self.a * (1.0 - sx - sy),
            d2: -self.a * self.a * (vx + vy),
        }
    }

    fn params(&self) -> Vec<f64> {
        let mut p = Vec::with_capacity(self.thresholds.len() + 1);
        p.push(self.a);
        p.extend_from_slice(&self.thresholds);
        p
    }

    fn grad_log_prob(&self, theta: f64, k: usize, out: &mut [f64]) {
        assert_eq!(out.len(), self.thresholds.len() + 1, "gradient length");
        self.check_score(k);
        out.fill(0.0);
        let (x, y) = self.bounds(theta, k);
        // d ln P / dx and d ln P / dy, from ln s(x) + ln s(-y) + ln(1 - e^(y-x)).
        let gap_term = match (x, y) {
            (Some(x), Some(y)) => 1.0 / (x - y).exp_m1(),
            _ => 0.0,
        };
        if let Some(x) = x {
            let dx = sigmoid(-x) + gap_term;
            out[0] += dx * (theta - self.thresholds[k - 1]);
            out[k] += -dx * self.a;
        }
        if let Some(y) = y {
            let dy = -sigmoid(y) - gap_term;
            out[0] += dy * (theta - self.thresholds[k]);
            out[k + 1] += -dy * self.a;
        }
    }
}
