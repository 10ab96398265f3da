//! The four-parameter logistic family for dichotomous items.

use super::logspace::{ln_add_exp, ln_sigmoid, ln0, sigmoid};
use super::{ResponseModel, ThetaDerivs};
use crate::error::{Error, Result};

/// A dichotomous item: `P(theta) = g + (u - g) / (1 + exp(-a (theta - b)))`.
///
/// * `a > 0`: discrimination (slope at `b` is `a (u - g) / 4`);
/// * `b`: difficulty, the ability at which `P` is midway between `g` and `u`;
/// * `0 <= g < u <= 1`: lower (guessing) and upper asymptotes.
///
/// Parameters, in [`ResponseModel::params`] order: `[a, b, g, u]`. The Rasch,
/// 1PL and 2PL models are this with `g = 0, u = 1`; the 3PL with `u = 1`.
///
/// ```
/// use fangsheng::model::{Logistic, ResponseModel};
/// let item = Logistic::new(1.5, 0.2, 0.25, 1.0).unwrap();
/// assert!((item.prob(0.2, 1) - 0.625).abs() < 1e-12);
/// ```
///
/// # Errors
/// [`Logistic::new`] rejects a non-finite or non-positive `a`, a non-finite
/// `b`, and asymptotes outside `0 <= g < u <= 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logistic {
    a: f64,
    b: f64,
    g: f64,
    u: f64,
    // Cached logs of the asymptote gaps: every probability evaluation needs them.
    ln_g: f64,
    ln_1mu: f64,
    ln_span: f64,
}

impl Logistic {
    /// A 4PL item from discrimination, difficulty and asymptotes.
    pub fn new(a: f64, b: f64, g: f64, u: f64) -> Result<Self> {
        if !a.is_finite() || a <= 0.0 {
            return Err(Error::param(format!(
                "discrimination a must be a positive finite number, got {a}"
            )));
        }
        if !b.is_finite() {
            return Err(Error::param(format!(
                "difficulty b must be finite, got {b}"
            )));
        }
        if !g.is_finite() || !u.is_finite() || g < 0.0 || u > 1.0 || g >= u {
            return Err(Error::param(format!(
                "asymptotes must satisfy 0 <= g < u <= 1, got g = {g}, u = {u}"
            )));
        }
        Ok(Logistic {
            a,
            b,
            g,
            u,
            ln_g: ln0(g),
            ln_1mu: ln0(1.0 - u),
            ln_span: (u - g).ln(),
        })
    }

    /// A 2PL item (`g = 0`, `u = 1`).
    pub fn two_pl(a: f64, b: f64) -> Result<Self> {
        Self::new(a, b, 0.0, 1.0)
    }

    /// A Rasch item (`a = 1`, `g = 0`, `u = 1`).
    pub fn rasch(b: f64) -> Result<Self> {
        Self::new(1.0, b, 0.0, 1.0)
    }

    /// From mirt's slope-intercept form
    /// `P = g + (u - g) / (1 + exp(-(a theta + d)))`, so `b = -d / a`.
    pub fn from_slope_intercept(a: f64, d: f64, g: f64, u: f64) -> Result<Self> {
        if !a.is_finite() || a <= 0.0 {
            return Err(Error::param(format!(
                "slope a must be a positive finite number, got {a}"
            )));
        }
        Self::new(a, -d / a, g, u)
    }

    /// From catR's `(a, b, c, d)` naming with scaling constant `D`:
    /// `P = c + (d - c) / (1 + exp(-D a (theta - b)))`.
    pub fn from_catr(a: f64, b: f64, c: f64, d: f64, scale_d: f64) -> Result<Self> {
        Self::new(scale_d * a, b, c, d)
    }

    /// Discrimination.
    pub fn a(&self) -> f64 {
        self.a
    }
    /// Difficulty.
    pub fn b(&self) -> f64 {
        self.b
    }
    /// Lower asymptote (guessing).
    pub fn g(&self) -> f64 {
        self.g
    }
    /// Upper asymptote.
    pub fn u(&self) -> f64 {
        self.u
    }
    /// mirt's intercept `d = -a b`.
    pub fn intercept(&self) -> f64 {
        -self.a * self.b
    }
    /// catR's `(a, b, c, d)` with `D = 1`.
    pub fn to_catr(&self) -> [f64; 4] {
        [self.a, self.b, self.g, self.u]
    }

    #[inline]
    fn z(&self, theta: f64) -> f64 {
        self.a * (theta - self.b)
    }

    /// `(ln P, ln Q)` where `Q = 1 - P`, each from a sum of positive terms
    /// (`P = g + (u-g) s(z)`, `Q = (1-u) + (u-g) s(-z)`), so neither cancels.
    #[inline]
    pub fn ln_p_q(&self, theta: f64) -> (f64, f64) {
        let z = self.z(theta);
        let ln_p = ln_add_exp(self.ln_g, self.ln_span + ln_sigmoid(z));
        let ln_q = ln_add_exp(self.ln_1mu, self.ln_span + ln_sigmoid(-z));
        (ln_p, ln_q)
    }

    /// Shared pieces of the derivatives: `s = sigmoid(z)`, `s' = sigmoid(-z)`,
    /// `r = (u-g) s / P` and `rq = (u-g) s' / Q`, both in `(0, 1]`.
    #[inline]
    fn pieces(&self, theta: f64) -> Pieces {
        let z = self.z(theta);
        let (ln_p, ln_q) = self.ln_p_q(theta);
        Pieces {
            s: sigmoid(z),
            sc: sigmoid(-z),
            r: (self.ln_span + ln_sigmoid(z) - ln_p).exp(),
            rq: (self.ln_span + ln_sigmoid(-z) - ln_q).exp(),
            ln_p,
            ln_q,
        }
    }
}

struct Pieces {
    s: f64,
    sc: f64,
    r: f64,
    rq: f64,
    ln_p: f64,
    ln_q: f64,
}

impl ResponseModel for Logistic {
    fn n_categories(&self) -> usize {
        2
    }

    #[inline]
    fn log_prob(&self, theta: f64, score: usize) -> f64 {
        // Only the side asked for: this sits in every likelihood sum.
        let z = self.z(theta);
        if score == 0 {
            ln_add_exp(self.ln_1mu, self.ln_span + ln_sigmoid(-z))
        } else {
            ln_add_exp(self.ln_g, self.ln_span + ln_sigmoid(z))
        }
    }

    fn theta_derivs(&self, theta: f64, score: usize) -> ThetaDerivs {
        let p = self.pieces(theta);
        let a2 = self.a * self.a;
        // P' = a (u-g) s s', P'' = a^2 (u-g) s s' (s' - s).
        if score == 0 {
            // ln Q: d1 = -P'/Q, d2 = -P''/Q - d1^2.
            let d1 = -self.a * p.s * p.rq;
            let d2 = -a2 * p.s * (p.sc - p.s) * p.rq - d1 * d1;
            ThetaDerivs {
                log_prob: p.ln_q,
                d1,
                d2,
            }
        } else {
            let d1 = self.a * p.sc * p.r;
            let d2 = a2 * p.sc * (p.sc - p.s) * p.r - d1 * d1;
            ThetaDerivs {
                log_prob: p.ln_p,
                d1,
                d2,
            }
        }
    }

    #[inline]
    fn information(&self, theta: f64) -> f64 {
        // P'^2 / (P Q) = (a s' r)(a s rq).
        let p = self.pieces(theta);
        self.a * self.a * p.sc * p.r * p.s * p.rq
    }

    #[inline]
    fn expected_score(&self, theta: f64) -> f64 {
        self.g + (self.u - self.g) * sigmoid(self.z(theta))
    }

    fn params(&self) -> Vec<f64> {
        vec![self.a, self.b, self.g, self.u]
    }

    fn grad_log_prob(&self, theta: f64, score: usize, out: &mut [f64]) {
        assert_eq!(out.len(), 4, "a logistic item has 4 parameters");
        let p = self.pieces(theta);
        let t = theta - self.b;
        // dP/da = (u-g) s s' t, dP/db = -(u-g) s s' a, dP/dg = s', dP/du = s.
        if score == 0 {
            // d ln Q = -dP / Q; (u-g) s s' / Q = s rq.
            out[0] = -p.s * p.rq * t;
            out[1] = p.s * p.rq * self.a;
            out[2] = -(ln_sigmoid(-self.z(theta)) - p.ln_q).exp();
            out[3] = -(ln_sigmoid(self.z(theta)) - p.ln_q).exp();
        } else {
            out[0] = p.sc * p.r * t;
            out[1] = -p.sc * p.r * self.a;
            out[2] = (ln_sigmoid(-self.z(theta)) - p.ln_p).exp();
            out[3] = (ln_sigmoid(self.z(theta)) - p.ln_p).exp();
        }
    }
}
