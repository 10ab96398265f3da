//! Item response functions.
//!
//! Every item family implements [`ResponseModel`]: the probability of each
//! score category given ability `theta`, computed in log space, its first two
//! derivatives with respect to `theta`, its gradient with respect to the item's
//! own parameters, and the Fisher information it carries about `theta`.
//!
//! Two families cover the models the engine calibrates and administers:
//!
//! * [`Logistic`]: dichotomous items (scores 0 and 1) under the four-parameter
//!   logistic model `P(theta) = g + (u - g) / (1 + exp(-a (theta - b)))`.
//!   The Rasch, 1PL, 2PL and 3PL models are this function with parameters
//!   held fixed (`g = 0`, `u = 1`, and for Rasch `a = 1`); [`ModelKind`]
//!   records which constraint an item was calibrated under.
//! * [`Graded`]: Samejima's graded response model for items scored
//!   `0..K-1`, with `P(X >= k) = 1 / (1 + exp(-a (theta - b_k)))` and
//!   ordered thresholds `b_1 < ... < b_{K-1}`.
//!
//! [`Irf`] is the closed set of families as one value, so banks can hold mixed
//! item types without boxing.

mod graded;
mod kind;
mod logistic;
pub(crate) mod logspace;

pub use graded::Graded;
pub use kind::ModelKind;
pub use logistic::Logistic;

/// Derivatives of `ln P(X = k | theta)` with respect to `theta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThetaDerivs {
    /// `ln P(X = k | theta)`.
    pub log_prob: f64,
    /// `d ln P / d theta`.
    pub d1: f64,
    /// `d^2 ln P / d theta^2`.
    pub d2: f64,
}

/// The methods every item family provides.
///
/// Scores are category indices `0..n_categories()`; for dichotomous items 1 is
/// correct. Implementations stay finite for any finite `theta` (the engine is
/// tested at `|theta| = 20` and beyond) and never underflow to a probability
/// of exactly zero where the true value is positive but tiny: work with
/// [`ResponseModel::log_prob`] rather than multiplying probabilities.
pub trait ResponseModel {
    /// Number of score categories (2 for dichotomous items).
    fn n_categories(&self) -> usize;

    /// `ln P(X = score | theta)`. `score` must be below `n_categories()`.
    fn log_prob(&self, theta: f64, score: usize) -> f64;

    /// `P(X = score | theta)`.
    fn prob(&self, theta: f64, score: usize) -> f64 {
        self.log_prob(theta, score).exp()
    }

    /// `ln P` and its first two derivatives with respect to `theta`.
    fn theta_derivs(&self, theta: f64, score: usize) -> ThetaDerivs;

    /// Fisher information about `theta`:
    /// `I(theta) = sum_k P_k(theta) (d ln P_k / d theta)^2`.
    fn information(&self, theta: f64) -> f64 {
        (0..self.n_categories())
            .map(|k| {
                let d = self.theta_derivs(theta, k);
                d.log_prob.exp() * d.d1 * d.d1
            })
            .sum()
    }

    /// Warm's `J(theta) = sum_k P_k' P_k'' / P_k`, the term that corrects
    /// the bias of the maximum-likelihood estimate in the weighted likelihood
    /// estimator.
    fn warm_j(&self, theta: f64) -> f64 {
        (0..self.n_categories())
            .map(|k| {
                let d = self.theta_derivs(theta, k);
                // P'/P = d1 and P''/P = d2 + d1^2, so P' P'' / P = P d1 (d2 + d1^2).
                d.log_prob.exp() * d.d1 * (d.d2 + d.d1 * d.d1)
            })
            .sum()
    }

    /// Expected score `E[X | theta] = sum_k k P_k(theta)`; for dichotomous
    /// items the probability of a correct answer.
    fn expected_score(&self, theta: f64) -> f64 {
        (1..self.n_categories())
            .map(|k| k as f64 * self.prob(theta, k))
            .sum()
    }

    /// The item's parameters, in the order documented by the family.
    fn params(&self) -> Vec<f64>;

    /// Gradient of `ln P(X = score | theta)` with respect to [`params`],
    /// written into `out` (whose length must equal `params().len()`).
    ///
    /// [`params`]: ResponseModel::params
    fn grad_log_prob(&self, theta: f64, score: usize, out: &mut [f64]);
}

/// One item's response function: any of the supported families.
#[derive(Debug, Clone, PartialEq)]
pub enum Irf {
    /// A dichotomous item (Rasch, 1PL, 2PL, 3PL or 4PL).
    Logistic(Logistic),
    /// A polytomous item under the graded response model.
    Graded(Graded),
}

macro_rules! dispatch {
    ($self:ident, $inner:ident => $body:expr) => {
        match $self {
            Irf::Logistic($inner) => $body,
            Irf::Graded($inner) => $body,
        }
    };
}

impl ResponseModel for Irf {
    fn n_categories(&self) -> usize {
        dispatch!(self, m => m.n_categories())
    }
    fn log_prob(&self, theta: f64, score: usize) -> f64 {
        dispatch!(self, m => m.log_prob(theta, score))
    }
    fn prob(&self, theta: f64, score: usize) -> f64 {
        dispatch!(self, m => m.prob(theta, score))
    }
    fn theta_derivs(&self, theta: f64, score: usize) -> ThetaDerivs {
        dispatch!(self, m => m.theta_derivs(theta, score))
    }
    fn information(&self, theta: f64) -> f64 {
        dispatch!(self, m => m.information(theta))
    }
    fn warm_j(&self, theta: f64) -> f64 {
        dispatch!(self, m => m.warm_j(theta))
    }
    fn expected_score(&self, theta: f64) -> f64 {
        dispatch!(self, m => m.expected_score(theta))
    }
    fn params(&self) -> Vec<f64> {
        dispatch!(self, m => m.params())
    }
    fn grad_log_prob(&self, theta: f64, score: usize, out: &mut [f64]) {
        dispatch!(self, m => m.grad_log_prob(theta, score, out))
    }
}

impl From<Logistic> for Irf {
    fn from(m: Logistic) -> Self {
        Irf::Logistic(m)
    }
}

impl From<Graded> for Irf {
    fn from(m: Graded) -> Self {
        Irf::Graded(m)
    }
}

#[cfg(test)]
mod tests;
