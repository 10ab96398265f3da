//! The estimator: a method with its prior, quadrature and bounds, applied
//! to one response pattern.

use serde::{Deserialize, Serialize};

use super::method::Method;
use super::pattern::{LogPost, Pattern};
use super::posterior::{self, Posterior};
use super::prior::{AbilityPrior, Quadrature};
use super::search::{COARSE_STEP, Grid, maximize, root_down};
use crate::model::Irf;

/// How an estimate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// An interior estimate (always, for MAP and EAP with responses).
    Converged,
    /// ML or WLE: the estimate is a bound of the search interval, because the
    /// (weighted) likelihood still rises toward it: all-correct or all-wrong
    /// patterns, and any pattern whose maximum lies beyond the bounds.
    Boundary,
    /// The pattern held no usable response.
    NoResponses,
}

/// An ability estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ability {
    /// Estimated ability, in logits of the item parameters' scale.
    pub theta: f64,
    /// Standard error of `theta` (see [`Method`] for each method's formula);
    /// `+inf` when the responses carry no information.
    pub se: f64,
    /// Number of responses used.
    pub n_items: usize,
    /// How the estimate ended.
    pub status: Status,
}

/// Ability estimation with known item parameters.
///
/// Built from a [`Method`] with defaults (`N(0, 1)` prior, adaptive
/// quadrature, ML/WLE bounds `(-6, 6)`) and adjusted by the builder methods:
///
/// ```
/// use fangsheng::estimate::{Estimator, Method, AbilityPrior, Quadrature};
/// use fangsheng::model::{Irf, Logistic};
///
/// let items: Vec<Irf> = [-0.5, 0.0, 0.5]
///     .iter()
///     .map(|&b| Logistic::rasch(b).unwrap().into())
///     .collect();
/// let pattern: Vec<(&Irf, usize)> = items.iter().zip([1, 0, 1]).collect();
/// let est = Estimator::new(Method::Eap)
///     .prior(AbilityPrior::normal(0.0, 1.5).unwrap())
///     .quadrature(Quadrature::CATR);
/// let ability = est.estimate(&pattern);
/// assert!(ability.theta > 0.0 && ability.se < 1.5);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Estimator {
    method: Method,
    prior: AbilityPrior,
    quadrature: Quadrature,
    lo: f64,
    hi: f64,
}

impl Estimator {
    /// An estimator with the default prior `N(0, 1)`, adaptive quadrature and
    /// ML/WLE bounds `(-6, 6)`.
    pub fn new(method: Method) -> Self {
        Estimator {
            method,
            prior: AbilityPrior::default(),
            quadrature: Quadrature::Adaptive,
            lo: -6.0,
            hi: 6.0,
        }
    }

    /// The prior of MAP and EAP (and of [`Estimator::posterior`]).
    pub fn prior(mut self, p: AbilityPrior) -> Self {
        self.prior = p;
        self
    }

    /// The quadrature of EAP and [`Estimator::posterior`]. An invalid fixed
    /// grid is used as [`Quadrature::Adaptive`].
    pub fn quadrature(mut self, q: Quadrature) -> Self {
        self.quadrature = q.sanitized();
        self
    }

    /// The interval ML and WLE search (MAP and EAP are not bounded: a
    /// normal prior keeps them finite, a t prior is truncated to its
    /// support). Reversed bounds are swapped; non-finite
    /// or equal bounds are ignored and the previous ones kept.
    pub fn bounds(mut self, lo: f64, hi: f64) -> Self {
        if lo.is_finite() && hi.is_finite() && lo != hi {
            self.lo = lo.min(hi);
            self.hi = lo.max(hi);
        }
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Estimates ability from `(item, score)` pairs.
    ///
    /// Pairs whose score is not one of the item's categories are ignored.
    /// Without usable responses the result has status
    /// [`Status::NoResponses`] and is, for MAP and EAP, the prior mean and SD;
    /// for ML and WLE, the midpoint of the bounds with `se = +inf`.
    /// Never panics.
    pub fn estimate(&self, responses: &[(&Irf, usize)]) -> Ability {
        let pattern = Pattern::new(responses);
        let n_items = pattern.len();
        if n_items == 0 {
            return self.no_responses();
        }
        let (theta, se, status) = match self.method {
            Method::Ml => self.ml(pattern),
            Method::Map => self.map(pattern),
            Method::Eap => {
                let post = self.posterior_of(pattern);
                (post.mean(), post.sd(), Status::Converged)
            }
            Method::Wle => self.wle(pattern),
        };
        Ability {
            theta,
            se,
            n_items,
            status,
        }
    }

    /// The posterior of `theta` on the estimator's quadrature grid with its
    /// prior, whatever the method (the distribution EAP summarises).
    pub fn posterior(&self, responses: &[(&Irf, usize)]) -> Posterior {
        self.posterior_of(Pattern::new(responses))
    }

    fn posterior_of(&self, pattern: Pattern<'_>) -> Posterior {
        match self.quadrature {
            Quadrature::Fixed { points, lo, hi } => {
                posterior::fixed(pattern, self.prior, points, lo, hi)
            }
            Quadrature::Adaptive => posterior::adaptive(pattern, self.prior),
        }
    }

    fn no_responses(&self) -> Ability {
        let (theta, se) = match self.method {
            Method::Map | Method::Eap if self.prior.is_normal() => {
                (self.prior.location(), self.prior.scale())
            }
            // The truncated t's SD has no closed form worth keeping: the
            // EAP of no answers is the prior's mean and SD on the grid.
            Method::Map | Method::Eap => {
                let post = self.posterior_of(Pattern::new(&[]));
                (self.prior.location(), post.sd())
            }
            Method::Ml | Method::Wle => (0.5 * (self.lo + self.hi), f64::INFINITY),
        };
        Ability {
            theta,
            se,
            n_items: 0,
            status: Status::NoResponses,
        }
    }

    fn ml(&self, pattern: Pattern<'_>) -> (f64, f64, Status) {
        let obj = LogPost {
            pattern,
            prior: None,
        };
        let max = maximize(&obj, self.lo, self.hi, false);
        let se = 1.0 / pattern.information(max.theta).sqrt();
        (max.theta, se, status_of(max.at_edge))
    }

    fn map(&self, pattern: Pattern<'_>) -> (f64, f64, Status) {
        let obj = LogPost {
            pattern,
            prior: Some(self.prior),
        };
        let (lo, hi, slide) = self.prior.search_window();
        let theta = maximize(&obj, lo, hi, slide).theta;
        // The prior's curvature at the mode: `1 / sigma^2` for the normal;
        // for a t it is negative beyond `sqrt(df)` scales, where it adds no
        // precision (floored at 0).
        let precision = (-self.prior.ln_kernel_derivs(theta).1).max(0.0);
        let se = 1.0 / (pattern.information(theta) + precision).sqrt();
        (theta, se, Status::Converged)
    }

    /// Roots of Warm's estimating function where it crosses from positive to
    /// negative (maxima of the weighted likelihood), plus a bound the
    /// function still points to; among these the one with the largest
    /// `ln L + ln(I) / 2` (Warm's weighted log-likelihood for the 1PL/2PL and
    /// graded items, a tie-break for the 3PL/4PL).
    fn wle(&self, pattern: Pattern<'_>) -> (f64, f64, Status) {
        let psi = |t: f64| pattern.warm(t).0;
        let n = Grid::nodes_for(self.lo, self.hi, COARSE_STEP).clamp(21, 601);
        let grid = Grid::scan(self.lo, self.hi, n, psi);
        let v = &grid.values;
        let mut candidates: Vec<(f64, bool)> = Vec::new();
        if v[0] <= 0.0 {
            candidates.push((self.lo, true));
        }
        for i in 0..n - 1 {
            if v[i] > 0.0 && v[i + 1] <= 0.0 {
                candidates.push((root_down(psi, grid.node(i), grid.node(i + 1)), false));
            }
        }
        if v[n - 1] > 0.0 {
            candidates.push((self.hi, true));
        }
        // NaN never wins: it sorts below every number.
        let weighted = |t: f64| {
            let v = pattern.log_lik(t) + 0.5 * pattern.information(t).ln();
            if v.is_nan() { f64::NEG_INFINITY } else { v }
        };
        let (theta, at_bound) = candidates
            .into_iter()
            .map(|(t, b)| (t, b, weighted(t)))
            .max_by(|x, y| x.2.total_cmp(&y.2))
            .map_or((0.5 * (self.lo + self.hi), false), |(t, b, _)| (t, b));
        let se = 1.0 / pattern.information(theta).sqrt();
        (theta, se, status_of(at_bound))
    }
}

fn status_of(at_bound: bool) -> Status {
    if at_bound {
        Status::Boundary
    } else {
        Status::Converged
    }
}
