//! Item calibration by marginal maximum likelihood: Bock-Aitkin EM in log
//! space over the observed cells only, built for LLM-shaped data (few
//! examinees, many items, most cells missing) as well as classic tests.
//!
//! ```
//! use fangsheng::calibrate::{calibrate, CalibrationConfig};
//! use fangsheng::model::{Irf, Logistic};
//! use fangsheng::simulate::{simulate_responses, standard_normals};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let irfs: Vec<Irf> = (0..20)
//!     .map(|j| Logistic::two_pl(1.0, -1.0 + 0.1 * j as f64).unwrap().into())
//!     .collect();
//! let thetas = standard_normals(500, &mut rng);
//! let responses = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
//! let fit = calibrate(&responses, &CalibrationConfig::default(), &mut |_| {}).unwrap();
//! assert!(fit.converged);
//! assert_eq!(fit.items.len(), 20);
//! ```
//!
//! # The algorithm
//! * **E-step** (`estep.rs`): each examinee's log posterior over quadrature
//!   nodes is the log prior weight plus a table lookup per response
//!   (`ln P_j(x | z_q)`, built once per cycle), normalised by log-sum-exp.
//!   Each posterior is kept only over the nodes where it is above `1e-14` of
//!   its maximum.
//! * **M-step** (`mstep/`): per item, expected counts `r_jkq` are summed
//!   over the item's respondents, then Newton's method with analytic
//!   gradients and Hessians maximises the expected complete-data
//!   log-likelihood plus the log prior, items in parallel. Cost and memory
//!   are proportional to the number of responses (times the active nodes),
//!   never to examinees x items.
//! * **Scale expansion** (parameter-expanded EM, Liu, Rubin & Wu 1998): after
//!   each M-step the population's posterior mean and SD are computed and the
//!   items re-expressed so that the latent distribution is again N(0, 1)
//!   (`a <- a sd`, `d <- d + a mean`). Plain EM crawls along this direction
//!   when every examinee answers thousands of items (each posterior is then
//!   pinned by the data, and only the N(0, 1) prior, weak against thousands
//!   of responses, moves the scale); the expansion takes the step EM would
//!   need thousands of cycles for. Without priors, its fixed point is the
//!   maximum-likelihood estimate; with priors, the latent scale is defined by
//!   the population (mean 0, SD 1) and the priors regularise items within it.
//! * **Convergence**: largest absolute change of any `a`, `d`, `g`, `u` (and
//!   the Rasch latent SD) in a cycle below `tolerance`.
//!
//! # Models
//! Internally every item is in slope-intercept form on the standardised
//! scale `z ~ N(0, 1)`: `P = g + (u - g) sigmoid(a z + d)` (graded:
//! `P(X >= k) = sigmoid(a z + d_k)`). Rasch items share one slope `s`, which
//! is the latent SD of mirt's Rasch model (`a = 1`, `theta ~ N(0, s^2)`):
//! results are reported on that scale (`theta = s z`, `b = -d`). 1PL items
//! share one slope with the latent N(0, 1). Items of different models may be
//! mixed ([`CalibrationConfig::item_models`]); with Rasch items in the bank,
//! every item is reported on the Rasch scale.
//!
//! # Quadrature
//! Default 121 rectangular points on `[-6, 6]`; see [`QuadratureConfig`] for
//! why mirt's 61 is too coarse for LLM data.
//!
//! # Priors
//! See [`priors`]: on by default (weak for Rasch/1PL/2PL/graded, BILOG-MG's
//! for 3PL/4PL), [`PriorConfig::none`] for plain ML.
//!
//! # Degenerate data
//! * empty matrix, or no item with variance: error;
//! * an item nobody answered: error naming it (drop the column first);
//! * an item with one observed category (all correct / all wrong): kept,
//!   flagged ([`ItemFlag::NoVariance`], [`ItemFlag::AllCorrect`] /
//!   [`ItemFlag::AllIncorrect`]); with priors its estimate is finite (and
//!   usually flagged as extreme), without priors it runs to the edge of what
//!   Newton reaches and is flagged not converged;
//! * a graded item with an unobserved category below its highest observed
//!   one (e.g. 1-based scores): error naming the item and the category;
//!   categories are never silently collapsed, since that would change what a
//!   score means when the bank is used;
//! * a graded item whose responses are all 0 is fitted as two categories and
//!   flagged;
//! * an examinee with no or one response, or with all answers correct:
//!   fine (its posterior is mostly or partly the prior).
//!
//! # Standard errors, fit, abilities
//! Standard errors: observed information by Louis' formula (`se.rs`: full matrix up to 60 free parameters, per-item blocks above).
//! Item fit ([`ItemFit`], `fit.rs`), computed once after convergence:
//! infit/outfit mean squares for every item, and Orlando & Thissen's S-X2
//! (Kang & Chen's generalisation for graded items): observed against
//! expected category proportions per summed score, the expected ones from
//! the Lord-Wingersky recursion under the calibrated N(0, 1) latent density,
//! score groups with an expected count below 1 collapsed from both tails,
//! `df = cells - groups - item parameters`, p-values from the chi-squared
//! distribution. Summed scores compare only among examinees who answered the
//! same items, so S-X2 uses the examinees who answered every item, and is
//! computed only when there are at least `max(100, 5 (S + 1))` of them (`S`
//! the highest possible summed score) and the recursion costs under 2e9
//! operations; otherwise each item says why ([`SumScoreSkip`]). Items whose
//! S-X2 survives a Benjamini-Hochberg correction at false discovery rate
//! 0.05 are flagged [`ItemFlag::Misfit`]. Parameter files record the S-X2
//! results under `metadata.provenance.item_fit`. Abilities: EAP and posterior SD from the final
//! E-step; for an examinee whose posterior is narrower than the node spacing
//! (an LLM with thousands of responses), the posterior mode and curvature SD
//! under the fitted items (Laplace approximation) instead, since grid moments
//! would snap it to a node.
//!
//! # Anchored recalibration
//! [`calibrate_anchored`] holds the items of an earlier calibration at their
//! parameters and places new items and examinees on that scale, estimating
//! the latent mean and SD (fixed item parameter calibration with the prior
//! updated each EM cycle; see [`anchor`]).
//!
//! # Determinism
//! Every sum runs in a fixed order (per examinee, per item, then in index
//! order), whatever the number of threads: the same input gives
//! bit-identical output.

pub mod anchor;
mod config;
mod em;
mod estep;
mod fit;
pub mod holdout;
mod items;
mod linalg;
mod mstep;
mod prepare;
pub mod priors;
mod quadrature;
mod result;
mod se;

pub use anchor::{AnchoredCalibration, calibrate_anchored};
pub use config::{CalibrationConfig, QuadratureConfig};
pub use em::calibrate;
pub use holdout::{HoldoutScore, evaluate_holdout, split_holdout};
pub use priors::{BetaPrior, ItemPriors, NormalPrior, PriorConfig};
pub use result::{
    Ability, Calibration, FittedItem, ItemFit, ItemFlag, LatentDistribution, Progress, SumScoreFit,
    SumScoreSkip,
};
