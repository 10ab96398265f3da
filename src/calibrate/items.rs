//! Items as the engine works on them: slope-intercept parameters, the
//! coordinates Newton steps move, and the conversion to [`crate::model`].

use crate::error::Result;
use crate::model::{Graded, Irf, Logistic, ModelKind};

use super::mstep::{graded, logistic};

/// One item during calibration.
///
/// `p` is `[a, d, g, u]` for dichotomous kinds and `[a, d_1, .., d_{K-1}]`
/// for graded items, on the standardised latent scale `z ~ N(0, 1)`.
/// Rasch and 1PL items carry their group's common slope in `p[0]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemState {
    pub kind: ModelKind,
    pub p: Vec<f64>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    crate::model::logspace::sigmoid(x)
}

impl ItemState {
    /// Number of score categories.
    pub fn n_cat(&self) -> usize {
        match self.kind {
            ModelKind::Graded => self.p.len(),
            _ => 2,
        }
    }

    /// True for Rasch and 1PL items, whose slope is shared by their group.
    pub fn shares_slope(&self) -> bool {
        matches!(self.kind, ModelKind::Rasch | ModelKind::OnePl)
    }

    /// `ln P(X = k | z)`.
    #[inline]
    pub fn ln_prob(&self, z: f64, k: usize) -> f64 {
        match self.kind {
            ModelKind::Graded => graded::ln_prob(&self.p, z, k),
            _ => {
                let (lp, lq) = logistic::ln_pq(&self.p, z);
                if k == 1 { lp } else { lq }
            }
        }
    }

    /// Working coordinates of a dichotomous item that Newton moves (indices
    /// into `(a, d, gamma, nu)`); for shared-slope items only `d`.
    pub fn logistic_coords(kind: ModelKind) -> &'static [usize] {
        use logistic::{A, D, GAMMA, NU};
        match kind {
            ModelKind::Rasch | ModelKind::OnePl => &[D],
            ModelKind::TwoPl => &[A, D],
            ModelKind::ThreePl => &[A, D, GAMMA],
            ModelKind::FourPl => &[A, D, GAMMA, NU],
            ModelKind::Graded => &[],
        }
    }

    /// The free working coordinates (`ln`-free: `a`, `d`, logits of `g`, `u`).
    pub fn coords(&self) -> Vec<f64> {
        match self.kind {
            ModelKind::Graded => self.p.clone(),
            kind => Self::logistic_coords(kind)
                .iter()
                .map(|&c| match c {
                    2 => logit(self.p[2]),
                    3 => logit(self.p[3]),
                    i => self.p[i],
                })
                .collect(),
        }
    }

    /// The item with its free coordinates set to `x`.
    pub fn with_coords(&self, x: &[f64]) -> ItemState {
        let mut out = self.clone();
        match self.kind {
            ModelKind::Graded => out.p.copy_from_slice(x),
            kind => {
                for (&c, &v) in Self::logistic_coords(kind).iter().zip(x) {
                    out.p[c] = match c {
                        2 | 3 => sigmoid(v),
                        _ => v,
                    };
                }
            }
        }
        out
    }

    /// True when the parameters define a valid item.
    pub fn is_valid(&self) -> bool {
        let a = self.p[0];
        if !(a.is_finite() && a > 0.0) || self.p.iter().any(|v| !v.is_finite()) {
            return false;
        }
        match self.kind {
            ModelKind::Graded => self.p[1..].windows(2).all(|w| w[0] > w[1]),
            _ => self.p[2] >= 0.0 && self.p[3] <= 1.0 && self.p[2] < self.p[3],
        }
    }

    /// Re-expresses the item for `z = (theta - mean) / sd`, i.e. for a latent
    /// variable `theta` with the given mean and SD: `a theta' + d` with
    /// `theta' = mean + sd z` gives slope `a sd` and intercept `d + a mean`.
    pub fn rescale(&mut self, mean: f64, sd: f64) {
        let a = self.p[0];
        self.p[0] = a * sd;
        match self.kind {
            ModelKind::Graded => self.p[1..].iter_mut().for_each(|d| *d += a * mean),
            _ => self.p[1] += a * mean,
        }
    }

    /// Parameters compared between EM cycles for convergence: slope,
    /// intercepts, and the asymptotes on the probability scale.
    pub fn change(&self, other: &ItemState) -> f64 {
        self.p
            .iter()
            .zip(&other.p)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// The reported response function on the scale `theta = latent_sd * z`:
    /// slope `a / latent_sd`, intercepts unchanged.
    pub fn to_irf(&self, latent_sd: f64) -> Result<Irf> {
        let a = self.p[0] / latent_sd;
        Ok(match self.kind {
            ModelKind::Graded => Graded::from_slope_intercept(a, &self.p[1..])?.into(),
            ModelKind::Rasch => Logistic::rasch(-self.p[1])?.into(),
            _ => Logistic::from_slope_intercept(a, self.p[1], self.p[2], self.p[3])?.into(),
        })
    }

    /// The reported parameters in `irf.params()` order, without validation
    /// (for numerical Jacobians): `[a, b, g, u]` or `[a, b_1, ..]`.
    pub fn reported(&self, latent_sd: f64) -> Vec<f64> {
        let a = self.p[0] / latent_sd;
        match self.kind {
            ModelKind::Graded => std::iter::once(a)
                .chain(self.p[1..].iter().map(|d| -d / a))
                .collect(),
            ModelKind::Rasch => vec![1.0, -self.p[1], 0.0, 1.0],
            _ => vec![a, -self.p[1] / a, self.p[2], self.p[3]],
        }
    }

    /// Which reported parameters the model fixes (their SE is `NaN`).
    pub fn fixed_reported(&self) -> Vec<bool> {
        match self.kind {
            ModelKind::Graded => vec![false; self.p.len()],
            ModelKind::Rasch => vec![true, false, true, true],
            ModelKind::OnePl | ModelKind::TwoPl => vec![false, false, true, true],
            ModelKind::ThreePl => vec![false, false, false, true],
            ModelKind::FourPl => vec![false; 4],
        }
    }
}
