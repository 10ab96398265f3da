//! What a calibration run is asked to do: models, quadrature, priors,
//! convergence. [`CalibrationConfig::default`] gives the documented defaults.

use crate::error::{Error, Result};
use crate::model::ModelKind;

use super::priors::PriorConfig;

/// Settings of one calibration run.
///
/// ```
/// use fangsheng::calibrate::{CalibrationConfig, PriorConfig, QuadratureConfig};
/// use fangsheng::model::ModelKind;
/// // mirt's defaults, as used by the reference tests.
/// let config = CalibrationConfig {
///     model: ModelKind::TwoPl,
///     quadrature: QuadratureConfig::new(61, 6.0).unwrap(),
///     priors: PriorConfig::none(),
///     ..CalibrationConfig::default()
/// };
/// assert_eq!(config.tolerance, 1e-4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationConfig {
    /// Model of every item without an override (default 2PL).
    pub model: ModelKind,
    /// Per matrix column override, for mixed banks (e.g. `grm` and `2pl`).
    /// Its length must equal the number of items.
    pub item_models: Option<Vec<ModelKind>>,
    /// Quadrature grid of the latent dimension.
    pub quadrature: QuadratureConfig,
    /// Priors on item parameters.
    pub priors: PriorConfig,
    /// Convergence when the largest absolute change of any item parameter
    /// (slope, intercepts, asymptotes; and the latent SD under Rasch) in one
    /// EM cycle is below this (default `1e-4`, as mirt).
    pub tolerance: f64,
    /// Upper bound on EM cycles (default 2,000; mirt's default is 500, but
    /// calibration on LLM data is cheap per cycle and a cut-off short of
    /// convergence is worse than a longer run).
    pub max_iterations: usize,
    /// Compute standard errors of the item parameters (default true).
    pub standard_errors: bool,
    /// Rescale the latent distribution to N(0, 1) after every M-step
    /// (parameter-expanded EM; default true). See the module documentation.
    /// An anchored calibration ([`calibrate_anchored`](super::calibrate_anchored))
    /// always re-estimates the latent mean and SD instead, whatever this says.
    pub scale_expansion: bool,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        CalibrationConfig {
            model: ModelKind::TwoPl,
            item_models: None,
            quadrature: QuadratureConfig::default(),
            priors: PriorConfig::default(),
            tolerance: 1e-4,
            max_iterations: 2_000,
            standard_errors: true,
            scale_expansion: true,
        }
    }
}

impl CalibrationConfig {
    /// The model of each of `n_items` columns.
    ///
    /// # Errors
    /// `item_models` of the wrong length, a non-positive or non-finite
    /// tolerance, or zero iterations.
    pub fn kinds(&self, n_items: usize) -> Result<Vec<ModelKind>> {
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(Error::config(format!(
                "tolerance must be a positive number, got {}",
                self.tolerance
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::config("max_iterations must be at least 1"));
        }
        match &self.item_models {
            None => Ok(vec![self.model; n_items]),
            Some(k) if k.len() == n_items => Ok(k.clone()),
            Some(k) => Err(Error::config(format!(
                "{} per-item models for {} items",
                k.len(),
                n_items
            ))),
        }
    }
}

/// A rectangular quadrature grid: `points` equally spaced nodes on
/// `[lo, hi]` of the standardised latent variable (`[-6, 6]` by default),
/// weighted by the N(0, 1) density and normalised to sum to one (as mirt and
/// BILOG do). The range may be asymmetric, e.g. `[-4, 8]` for a population
/// whose strongest examinees sit far above the rest: the weights are the
/// N(0, 1) density renormalised over the grid, so the latent scale is
/// unchanged wherever both ranges hold the density's mass.
///
/// Default: **121 points on [-6, 6]** (spacing 0.1). mirt uses 61 points
/// (spacing 0.2), which is ample for classic tests where a posterior has an
/// SD of 0.3 or more. An LLM that answers thousands of items has a posterior
/// SD of 0.02-0.05, narrower than the spacing: its posterior then sits on one
/// or two nodes and EM moves it only in jumps. A prototype calibrating 22
/// models x 12,032 MMLU-Pro items stalled and shifted the scale by about 0.5
/// with 41-61 nodes; 121 nodes or more fixed it. The engine stores each
/// examinee's posterior only over the nodes where it is non-negligible, so a
/// finer grid costs little on such data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuadratureConfig {
    points: usize,
    lo: f64,
    hi: f64,
}

impl QuadratureConfig {
    /// `points` nodes on `[-range, range]`.
    ///
    /// # Errors
    /// Fewer than 5 or more than 10,000 points, or a range that is not a
    /// positive finite number.
    pub fn new(points: usize, range: f64) -> Result<Self> {
        if !(range.is_finite() && range > 0.0) {
            return Err(Error::config(format!(
                "quadrature range must be a positive number, got {range}"
            )));
        }
        Self::between(points, -range, range)
    }

    /// `points` nodes on `[lo, hi]`.
    ///
    /// ```
    /// use fangsheng::calibrate::QuadratureConfig;
    /// let q = QuadratureConfig::between(121, -4.0, 8.0)?;
    /// assert_eq!(q.bounds(), (-4.0, 8.0));
    /// # Ok::<(), fangsheng::Error>(())
    /// ```
    ///
    /// # Errors
    /// Fewer than 5 or more than 10,000 points, or ends that are not finite
    /// with `lo < 0 < hi` (the grid must hold the latent mean).
    pub fn between(points: usize, lo: f64, hi: f64) -> Result<Self> {
        if !(5..=10_000).contains(&points) {
            return Err(Error::config(format!(
                "quadrature needs 5 to 10,000 points, got {points}"
            )));
        }
        if !(lo.is_finite() && hi.is_finite() && lo < 0.0 && hi > 0.0) {
            return Err(Error::config(format!(
                "quadrature range must have finite ends LO < 0 < HI (the latent mean 0 inside), \
                 got [{lo}, {hi}]"
            )));
        }
        Ok(QuadratureConfig { points, lo, hi })
    }

    /// Number of nodes.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The ends `(lo, hi)` of the grid.
    pub fn bounds(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }

    /// Half-width of a symmetric grid; for an asymmetric one, the larger
    /// distance of an end from 0 (use [`bounds`](Self::bounds) for both ends).
    pub fn range(&self) -> f64 {
        self.hi.max(-self.lo)
    }
}

impl Default for QuadratureConfig {
    fn default() -> Self {
        QuadratureConfig {
            points: 121,
            lo: -6.0,
            hi: 6.0,
        }
    }
}
