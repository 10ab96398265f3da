//! Ability estimation given item parameters.
//!
//! An [`Estimator`] turns one examinee's `(item, score)` pairs into an
//! [`Ability`] (`theta`, standard error, status) by one of four [`Method`]s;
//! [`score_matrix`] does it for every row of a [`ResponseMatrix`] in
//! parallel, and [`predicted_score`] turns a [`Posterior`] into the
//! proportion of a whole bank the examinee is expected to score.
//!
//! All sums are of log-probabilities and their `theta` derivatives, so a
//! 12,000-item pattern and `|theta|` of 20 stay finite. The scaling constant
//! is `D = 1` (the item parameters' own logit scale). Standard errors follow
//! catR (Magis & Raiche, 2012), which the reference tests reproduce to 1e-4
//! on its TCALS bank.
//!
//! # Methods
//!
//! With `ln L(theta) = sum_j ln P_j(x_j | theta)`, test information
//! `I(theta) = sum_j I_j(theta)` and Warm's `J(theta) = sum_j J_j(theta)`
//! ([`ResponseModel::warm_j`]):
//!
//! * **ML** maximises `ln L` over the bounds (default `[-6, 6]`).
//!   `SE = 1 / sqrt(I(theta))`. When the likelihood still rises at a bound
//!   (all-correct or all-wrong patterns, or a maximum beyond the bounds), the
//!   estimate is that bound, the SE is evaluated there, and the status is
//!   [`Status::Boundary`].
//! * **MAP** maximises `ln L + ln phi((theta - mu) / sigma)` (unbounded: the
//!   normal prior keeps the mode finite). `SE = 1 / sqrt(I(theta) + 1 / sigma^2)`,
//!   expected information plus the prior's precision, as catR's Bayes modal SE.
//! * **EAP** is the posterior mean on the quadrature grid, and its SE the
//!   posterior standard deviation.
//! * **WLE** (Warm, 1989) solves `d ln L / d theta + J / (2 I) = 0` within
//!   the bounds. Its SE is `1 / sqrt(I(theta_wle))`: of the candidate formulas
//!   (this one, the sandwich `sqrt(I) / (I - d/dtheta [J / (2I)])`, and
//!   `1 / sqrt(I - d/dtheta [J / (2I)])`) only this one reproduces catR's
//!   0.18538094 on the TCALS pattern. A WLE at a bound has status
//!   [`Status::Boundary`].
//!
//! # Maximisation and root finding
//!
//! When every answered item is Rasch, 1PL, 2PL or graded, `ln L` is concave
//! in `theta`: the gradient's signs at the ends of the search interval say
//! whether the maximum is inside, and Newton's method on the gradient, kept
//! inside that bracket by bisection, finds it (ML, MAP).
//!
//! The 3PL and 4PL likelihoods can have several local maxima, where Newton's
//! method from a fixed start wanders. Then ML and MAP first evaluate the
//! objective on a grid of spacing at most 0.2 over the search interval, take
//! the best node, and solve within its two neighbouring cells by bracketed
//! Newton (golden-section search if the cell does not bracket a maximum).
//!
//! The search interval is the bounds for ML and WLE. For MAP it is `[-6, 6]`
//! joined with the prior's `mu +- 6 sigma`, slid outward while the maximum
//! is on its edge.
//!
//! # Student-t prior
//!
//! [`AbilityPrior::student_t`] gives a t prior (location, scale, `df`),
//! truncated to `location +- 12 scale` ([`T_SUPPORT_SCALES`] says why). Its
//! log density is convex beyond `sqrt(df)` scales, so with a t prior the log
//! posterior is treated like a 3PL one: MAP and the adaptive quadrature's
//! mode search scan the whole support on the coarse grid first (no sliding:
//! a mode on a truncation end is the mode), then refine, which finds the
//! global mode when a second local one exists. MAP's SE adds the prior's
//! curvature at the mode, floored at 0 where the t is convex. The adaptive
//! grid never extends past the support; when an end of the support carries
//! posterior weight (within `e^-12` of the peak), the density jumps there,
//! the trapezoidal rule would be only `O(h^2)` accurate, and the adaptive
//! grid's Gregory end weights (`O(h^4)`) on a spacing of at most 0.05 keep
//! the error near 1e-8. `df = inf` is the normal and runs the normal's
//! code unchanged.
//!
//! WLE always scans Warm's estimating function on the grid (the weighted
//! likelihood can be bimodal even for the 2PL when few items have spread
//! difficulties), solves each sign change from + to - by Illinois regula
//! falsi, and among several roots (and a bound the function still points to)
//! takes the one with the largest `ln L + ln(I) / 2`, which is Warm's
//! weighted log-likelihood for the 1PL/2PL and a tie-break otherwise.

//! # Quadrature
//!
//! [`Quadrature::Fixed`] is catR's grid: `points` equally spaced nodes from
//! `lo` to `hi`, trapezoidal rule, prior density times likelihood as weight.
//! With 33 points on `[-4, 4]` ([`Quadrature::CATR`]) it reproduces catR's
//! EAP numbers exactly (the trapezoid's halved end weights matter for broad
//! posteriors: -0.4565068 on the 4PL hand case, against -0.4565963 with plain
//! node weights).
//!
//! A fixed grid fails on long tests: with thousands of items the posterior SD
//! is about 0.02, far below a 0.25 grid spacing. [`Quadrature::Adaptive`]
//! (the default) therefore places the grid where the posterior is:
//!
//! 1. Find the posterior mode as MAP does (bracketed Newton for concave
//!    patterns; otherwise a coarse grid of spacing 0.2 over `[-6, 6]` joined
//!    with `mu +- 6 sigma`, slid outward if the mode is beyond it, then
//!    bracketed Newton).
//! 2. Take the scale `s = 1 / sqrt(-d^2 ln posterior / d theta^2)` at the mode
//!    (or the coarse grid's posterior SD where the curvature is not negative).
//! 3. Window: `mode +- 9 s`; with a coarse grid, widened to cover every coarse
//!    node whose log posterior is within 30 of the peak, plus one coarse cell
//!    (so a second mode of a 3PL posterior is not cut off).
//! 4. Integrate with the trapezoidal rule (Gregory's end weights, which
//!    matter only when an end carries weight) on at least 121 nodes and at most
//!    `s / 4` apart (up to 4,001 nodes). If either end of the window still
//!    has a log posterior within 30 of the maximum (a skewed tail), widen that
//!    side by half the window and repeat.
//!
//! The tests check that it agrees with a 20,001-point fixed grid to 1e-6 on
//! a 5-item and on a 5,000-item pattern.
//!
//! [`ResponseMatrix`]: crate::data::ResponseMatrix
//! [`ResponseModel::warm_j`]: crate::model::ResponseModel::warm_j

mod estimator;
mod method;
mod pattern;
mod posterior;
mod prior;
mod score;
mod search;

pub use estimator::{Ability, Estimator, Status};
pub use method::Method;
pub use posterior::Posterior;
pub(crate) use posterior::{Ends, TRUNCATED_END, grid_nodes};
pub use prior::{AbilityPrior, Quadrature, T_SUPPORT_SCALES};
pub use score::{PredictedScore, expected_proportion, predicted_score, score_matrix};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_t;
