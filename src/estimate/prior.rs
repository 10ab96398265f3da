//! The prior on ability and the quadrature that integrates the posterior.

use crate::error::{Error, Result};

/// Half-width, in scale units, of the support a Student-t prior is truncated
/// to: `location +- 12 scale`.
///
/// Why truncate: a t prior's tails fall off as a power, `|z|^-(df + 1)`, so a
/// grid spanning the normal's `+- 7.5 sd` would cut off visible mass (t(4)
/// still has log density -6.8 at 7.5 scales), and with `df <= 1` an
/// all-correct pattern (likelihood tending to 1) would have no finite
/// posterior mean at all. Beyond 12 scales the t(4) density is below
/// `e^-9` of its peak and holds `2.7e-4` of its mass; abilities of 12
/// calibration SDs from the calibration population are no longer on the
/// bank's scale in any useful sense. Truncating makes every posterior
/// proper and bounded, and every grid finite, for any `df`.
pub const T_SUPPORT_SCALES: f64 = 12.0;

/// The prior on ability of MAP, EAP and the session posterior: a normal
/// `N(location, scale^2)`, or a Student-t with `df` degrees of freedom,
/// location and scale, truncated to `location +- 12 scale`
/// ([`T_SUPPORT_SCALES`]).
///
/// The t log density, up to a constant, is
/// `-(df + 1) / 2 ln(1 + z^2 / df)` with `z = (theta - location) / scale`;
/// `df = +inf` is the normal (`-z^2 / 2`, no truncation). A small fixed
/// `df` (Lange, Little & Taylor, 1989, use 4) keeps the normal's core but
/// stops shrinking examinees far from the calibration population.
///
/// ```
/// use fangsheng::estimate::AbilityPrior;
/// let p = AbilityPrior::normal(0.5, 2.0).unwrap();
/// assert_eq!((p.location(), p.scale(), p.df()), (0.5, 2.0, f64::INFINITY));
/// assert!(p.is_normal());
/// let t = AbilityPrior::student_t(0.0, 1.0, 4.0).unwrap();
/// assert_eq!(t.support(), (-12.0, 12.0));
/// assert!(AbilityPrior::normal(0.0, 0.0).is_err());
/// assert!(AbilityPrior::student_t(0.0, 1.0, 0.0).is_err());
/// ```
///
/// # Errors
/// The constructors reject a non-finite location, a scale that is not a
/// positive finite number, and a `df` that is not positive (`+inf` is
/// allowed and gives the normal; NaN is rejected).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbilityPrior {
    mean: f64,
    sd: f64,
    df: f64,
}

impl AbilityPrior {
    /// A normal prior `N(mean, sd^2)`.
    ///
    /// # Errors
    /// A non-finite mean; an `sd` that is not a positive finite number.
    pub fn normal(mean: f64, sd: f64) -> Result<Self> {
        Self::student_t(mean, sd, f64::INFINITY)
    }

    /// A Student-t prior with `df` degrees of freedom, centred on
    /// `location` with scale `scale`, truncated to `location +- 12 scale`;
    /// `df = +inf` gives [`AbilityPrior::normal`].
    ///
    /// # Errors
    /// A non-finite location; a scale that is not a positive finite number;
    /// `df` NaN or not positive.
    pub fn student_t(location: f64, scale: f64, df: f64) -> Result<Self> {
        if !location.is_finite() {
            return Err(Error::value(format!(
                "prior mean must be finite, got {location}"
            )));
        }
        if !scale.is_finite() || scale <= 0.0 {
            return Err(Error::value(format!(
                "prior standard deviation must be a positive finite number, got {scale}"
            )));
        }
        if df.is_nan() || df <= 0.0 {
            return Err(Error::value(format!(
                "prior degrees of freedom must be positive (or inf for the normal), got {df}"
            )));
        }
        Ok(AbilityPrior {
            mean: location,
            sd: scale,
            df,
        })
    }

    /// Location: the normal's mean, the t's centre.
    pub fn location(&self) -> f64 {
        self.mean
    }

    /// Scale: the normal's standard deviation, the t's scale (its SD is
    /// `scale sqrt(df / (df - 2))` for `df > 2`, before truncation).
    pub fn scale(&self) -> f64 {
        self.sd
    }

    /// Degrees of freedom (`+inf` for the normal).
    pub fn df(&self) -> f64 {
        self.df
    }

    /// True for the normal (`df = +inf`).
    pub fn is_normal(&self) -> bool {
        self.df == f64::INFINITY
    }

    /// The interval outside which the density is 0: the whole line for the
    /// normal, `location +- 12 scale` for a t ([`T_SUPPORT_SCALES`]).
    pub fn support(&self) -> (f64, f64) {
        if self.is_normal() {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            let half = T_SUPPORT_SCALES * self.sd;
            (self.mean - half, self.mean + half)
        }
    }

    /// The interval MAP and the adaptive quadrature's mode search scan, and
    /// whether the search may slide outward: for the normal `[-6, 6]`
    /// joined with `mean +- 6 sd`, sliding (the mode is always interior);
    /// for a t its support, not sliding (a mode at a truncation bound is the
    /// mode).
    pub(crate) fn search_window(&self) -> (f64, f64, bool) {
        if self.is_normal() {
            let (mu, sigma) = (self.mean, self.sd);
            (
                (-6.0f64).min(mu - 6.0 * sigma),
                6.0f64.max(mu + 6.0 * sigma),
                true,
            )
        } else {
            let (lo, hi) = self.support();
            (lo, hi, false)
        }
    }

    /// `ln` of the density up to a constant: `-z^2 / 2` (normal), or
    /// `-(df + 1) / 2 ln(1 + z^2 / df)` inside the support and `-inf`
    /// outside it (t), with `z = (theta - location) / scale`.
    #[inline]
    pub fn ln_kernel(&self, theta: f64) -> f64 {
        let z = (theta - self.mean) / self.sd;
        if self.is_normal() {
            return -0.5 * z * z;
        }
        // Tested on theta against the support's own ends, so a grid node
        // placed exactly on an end is inside.
        let (lo, hi) = self.support();
        if !(theta >= lo && theta <= hi) {
            return f64::NEG_INFINITY;
        }
        -0.5 * (self.df + 1.0) * (z * z / self.df).ln_1p()
    }

    /// First and second derivatives of [`Self::ln_kernel`] in `theta`
    /// (for a t, those of the untruncated density, also outside the
    /// support): `-(df + 1) z / (scale (df + z^2))` and
    /// `-(df + 1) (df - z^2) / (scale^2 (df + z^2)^2)`; the second is
    /// positive (the log density convex) for `|z| > sqrt(df)`.
    #[inline]
    pub(crate) fn ln_kernel_derivs(&self, theta: f64) -> (f64, f64) {
        if self.is_normal() {
            let prec = 1.0 / (self.sd * self.sd);
            return (-(theta - self.mean) * prec, -prec);
        }
        let z = (theta - self.mean) / self.sd;
        let q = self.df + z * z;
        let k = self.df + 1.0;
        (
            -k * z / (self.sd * q),
            -k * (self.df - z * z) / (self.sd * self.sd * q * q),
        )
    }
}

impl Default for AbilityPrior {
    /// The standard normal, `N(0, 1)`.
    fn default() -> Self {
        AbilityPrior {
            mean: 0.0,
            sd: 1.0,
            df: f64::INFINITY,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{Continuous, StudentsT};

    #[test]
    fn t_log_density_matches_statrs_up_to_a_constant() {
        // statrs' StudentsT::ln_pdf is the full normalised density; the
        // kernel drops only the constant, so the difference is flat.
        for (loc, scale, df) in [(0.0, 1.0, 4.0), (0.7, 2.0, 1.0), (-1.0, 0.5, 30.0)] {
            let p = AbilityPrior::student_t(loc, scale, df).unwrap();
            let reference = StudentsT::new(loc, scale, df).unwrap();
            let c0 = reference.ln_pdf(loc) - p.ln_kernel(loc);
            for z in [-11.9, -6.0, -2.0, -0.3, 0.0, 1.0, 2.5, 8.0, 11.99] {
                let t = loc + z * scale;
                let c = reference.ln_pdf(t) - p.ln_kernel(t);
                assert!((c - c0).abs() < 1e-12, "df {df} z {z}: {c} vs {c0}");
            }
            // Truncated outside location +- 12 scale, the ends included.
            let (lo, hi) = p.support();
            assert!(p.ln_kernel(lo).is_finite() && p.ln_kernel(hi).is_finite());
            assert_eq!(p.ln_kernel(loc + 12.01 * scale), f64::NEG_INFINITY);
            assert_eq!(p.ln_kernel(loc - 12.01 * scale), f64::NEG_INFINITY);
        }
    }

    #[test]
    fn t_derivatives_match_finite_differences() {
        for df in [0.5, 1.0, 4.0, 30.0] {
            let p = AbilityPrior::student_t(0.3, 1.5, df).unwrap();
            for z in [-10.0, -3.0, -1.0, -0.2, 0.0, 0.5, 2.0, 2.1, 7.0] {
                let t = 0.3 + 1.5 * z;
                let h = 1e-5;
                let fd1 = (p.ln_kernel(t + h) - p.ln_kernel(t - h)) / (2.0 * h);
                let fd2 =
                    (p.ln_kernel(t + h) - 2.0 * p.ln_kernel(t) + p.ln_kernel(t - h)) / (h * h);
                let (d1, d2) = p.ln_kernel_derivs(t);
                assert!(
                    (d1 - fd1).abs() < 1e-7 * (1.0 + d1.abs()),
                    "df {df} z {z}: {d1} vs {fd1}"
                );
                assert!(
                    (d2 - fd2).abs() < 1e-4 * (1.0 + d2.abs()),
                    "df {df} z {z}: {d2} vs {fd2}"
                );
                // Convex beyond sqrt(df) scales, concave inside.
                if z.abs() > df.sqrt() + 1e-9 {
                    assert!(d2 > 0.0, "df {df} z {z}");
                } else if z.abs() < df.sqrt() - 1e-9 {
                    assert!(d2 < 0.0, "df {df} z {z}");
                }
            }
        }
    }

    #[test]
    fn infinite_df_is_the_normal_and_bad_df_is_rejected() {
        let n = AbilityPrior::normal(0.4, 1.3).unwrap();
        assert_eq!(AbilityPrior::student_t(0.4, 1.3, f64::INFINITY).unwrap(), n);
        assert_eq!(
            AbilityPrior::default(),
            AbilityPrior::normal(0.0, 1.0).unwrap()
        );
        assert_eq!(n.support(), (f64::NEG_INFINITY, f64::INFINITY));
        for t in [-30.0, -1.0, 0.4, 2.0, 50.0] {
            let z: f64 = (t - 0.4) / 1.3;
            assert_eq!(n.ln_kernel(t), -0.5 * z * z);
        }
        for df in [0.0, -4.0, f64::NAN, f64::NEG_INFINITY] {
            let err = AbilityPrior::student_t(0.0, 1.0, df).unwrap_err();
            assert!(err.to_string().contains("degrees of freedom"), "{err}");
        }
        assert!(AbilityPrior::student_t(f64::NAN, 1.0, 4.0).is_err());
        assert!(AbilityPrior::student_t(0.0, -1.0, 4.0).is_err());
        assert!(AbilityPrior::student_t(0.0, 1.0, 1e-3).is_ok());
    }
}
