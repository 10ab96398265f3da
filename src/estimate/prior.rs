//! The prior on ability and the quadrature that integrates the posterior.

use crate::error::{Error, Result};

/// A normal prior `theta ~ N(mean, sd^2)` on ability.
///
/// ```
/// use fangsheng::estimate::NormalPrior;
/// let p = NormalPrior::new(0.5, 2.0).unwrap();
/// assert_eq!((p.mean(), p.sd()), (0.5, 2.0));
/// assert!(NormalPrior::new(0.0, 0.0).is_err());
/// ```
///
/// # Errors
/// [`NormalPrior::new`] rejects a non-finite mean and an `sd` that is not a
/// positive finite number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalPrior {
    mean: f64,
    sd: f64,
}

impl NormalPrior {
    /// A normal prior with the given mean and standard deviation.
    pub fn new(mean: f64, sd: f64) -> Result<Self> {
        if !mean.is_finite() {
            return Err(Error::value(format!(
                "prior mean must be finite, got {mean}"
            )));
        }
        if !sd.is_finite() || sd <= 0.0 {
            return Err(Error::value(format!(
                "prior standard deviation must be a positive finite number, got {sd}"
            )));
        }
        Ok(NormalPrior { mean, sd })
    }

    /// Prior mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Prior standard deviation.
    pub fn sd(&self) -> f64 {
        self.sd
    }

    /// `ln phi` up to a constant: `-(theta - mean)^2 / (2 sd^2)`.
    #[inline]
    pub(crate) fn ln_kernel(&self, theta: f64) -> f64 {
        let z = (theta - self.mean) / self.sd;
        -0.5 * z * z
    }

    /// First and second derivatives of [`Self::ln_kernel`].
    #[inline]
    pub(crate) fn ln_kernel_derivs(&self, theta: f64) -> (f64, f64) {
        let prec = 1.0 / (self.sd * self.sd);
        (-(theta - self.mean) * prec, -prec)
    }
}

impl Default for NormalPrior {
    /// The standard normal, `N(0, 1)`.
    fn default() -> Self {
        NormalPrior { mean: 0.0, sd: 1.0 }
    }
}

/// How the posterior of `theta` is integrated (EAP and [`Posterior`]).
///
/// [`Posterior`]: super::Posterior
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Quadrature {
    /// `points` equally spaced nodes from `lo` to `hi`, both ends included
    /// (R's `seq(lo, hi, length.out = points)`), integrated by the
    /// trapezoidal rule with the prior density as weight. This is catR's
    /// convention and reproduces its EAP numbers exactly; see
    /// [`Quadrature::CATR`]. A grid with fewer than 2 points, non-finite ends
    /// or `lo >= hi` is used as the default [`Quadrature::Adaptive`].
    Fixed {
        /// Number of nodes (at least 2).
        points: usize,
        /// First node.
        lo: f64,
        /// Last node.
        hi: f64,
    },
    /// A grid placed where the posterior is, fine enough for any test length
    /// (see the [module documentation](super) for the algorithm).
    #[default]
    Adaptive,
}

impl Quadrature {
    /// catR's default EAP grid: 33 points on `[-4, 4]`.
    pub const CATR: Quadrature = Quadrature::Fixed {
        points: 33,
        lo: -4.0,
        hi: 4.0,
    };

    /// A validated fixed grid.
    ///
    /// # Errors
    /// Fewer than 2 points, non-finite ends, or `lo >= hi`.
    pub fn fixed(points: usize, lo: f64, hi: f64) -> Result<Self> {
        if points < 2 || !lo.is_finite() || !hi.is_finite() || lo >= hi {
            return Err(Error::value(format!(
                "a quadrature grid needs at least 2 points on a finite interval lo < hi, \
                 got {points} points on [{lo}, {hi}]"
            )));
        }
        Ok(Quadrature::Fixed { points, lo, hi })
    }

    /// The grid actually used: an invalid fixed grid becomes adaptive.
    pub(crate) fn sanitized(self) -> Self {
        match self {
            Quadrature::Fixed { points, lo, hi } => {
                Quadrature::fixed(points, lo, hi).unwrap_or(Quadrature::Adaptive)
            }
            Quadrature::Adaptive => Quadrature::Adaptive,
        }
    }
}
