//! What a calibration returns: fitted items with standard errors and flags,
//! the latent distribution, fit statistics, and abilities as a by-product.

use serde::{Deserialize, Serialize};

use crate::bank::{ItemParams, Metadata, ParamSet, Scale};
use crate::error::Result;
use crate::ids::{ExamineeId, ItemId};
use crate::model::{Irf, ModelKind};

/// A problem or peculiarity of one fitted item.
///
/// Flags never stop a calibration: a flagged item still has parameters
/// (kept finite by the priors), which the analyst may drop or keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemFlag {
    /// Every response is in the same category.
    NoVariance,
    /// A dichotomous item every respondent answered correctly.
    AllCorrect,
    /// A dichotomous item no respondent answered correctly.
    AllIncorrect,
    /// The item's parameters still moved by more than the tolerance in the
    /// last EM cycle, or its Newton M-step did not converge.
    NotConverged,
    /// `|b| > 6` (any threshold of a graded item).
    ExtremeDifficulty,
    /// `a > 10`.
    HighSlope,
    /// `a < 0.05`: the item barely discriminates (or discriminates
    /// negatively: slopes are kept positive).
    LowSlope,
    /// `g > 0.5`.
    HighGuessing,
    /// `u < 0.5`.
    LowUpper,
    /// The information matrix was singular: no standard errors.
    NoStandardErrors,
}

/// Outfit and infit mean squares of a dichotomous item (Wright & Masters):
/// `outfit = mean_i z_i^2` over respondents, `infit = sum_i (x_i - E_i)^2 /
/// sum_i V_i`, with `E_i`, `V_i` the posterior-expected score and its
/// variance, integrated over each examinee's posterior. Both near 1 for a
/// fitting item; above 1.3 signals noise, below 0.7 over-predictability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemFit {
    /// Unweighted mean square.
    pub outfit: f64,
    /// Information-weighted mean square.
    pub infit: f64,
}

/// One calibrated item, aligned with a column of the response matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedItem {
    /// The item's id.
    pub id: ItemId,
    /// The model it was calibrated under.
    pub kind: ModelKind,
    /// The fitted response function on the reported latent scale.
    pub irf: Irf,
    /// Standard errors aligned with `irf.params()` (`NaN` for parameters
    /// the model fixes), when requested and computable.
    pub se: Option<Vec<f64>>,
    /// Flags raised for this item.
    pub flags: Vec<ItemFlag>,
    /// Item fit (dichotomous items).
    pub fit: Option<ItemFit>,
    /// Number of examinees who answered the item (frequency-weighted).
    pub n_responses: f64,
}

/// The latent ability distribution of the calibration population,
/// `theta ~ N(mean, sd^2)`. The mean is 0 and the SD 1 except under the
/// Rasch model, whose latent SD is estimated (as in mirt), and in an
/// anchored calibration ([`calibrate_anchored`](super::calibrate_anchored)),
/// where both are estimated on the anchor scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatentDistribution {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

/// An examinee's ability from the final posterior: expected a posteriori
/// `theta` and the posterior SD as its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ability {
    /// The examinee.
    pub id: ExamineeId,
    /// Posterior mean of theta.
    pub theta: f64,
    /// Posterior standard deviation of theta.
    pub se: f64,
}

/// Per-iteration report passed to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// EM cycle, from 1.
    pub iteration: usize,
    /// Largest parameter change in this cycle.
    pub max_change: f64,
    /// Marginal log-likelihood at the start of the cycle (E-step).
    pub log_likelihood: f64,
}

/// The result of [`calibrate`](super::calibrate).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Items, in response-matrix column order.
    pub items: Vec<FittedItem>,
    /// The latent distribution the parameters refer to.
    pub latent: LatentDistribution,
    /// Marginal log-likelihood `sum_i w_i ln integral prod_j P_j(x_ij |
    /// theta) phi(theta) d theta` at the returned parameters (by quadrature).
    /// Prior terms are excluded, so it is comparable with mirt's and across
    /// models.
    pub log_likelihood: f64,
    /// `-2 lnL + 2 k`.
    pub aic: f64,
    /// `-2 lnL + k ln N`, `N` the (weighted) number of examinees.
    pub bic: f64,
    /// Number of estimated parameters `k` (a common slope counts once; the
    /// Rasch latent variance counts as one).
    pub n_parameters: usize,
    /// EM cycles run.
    pub iterations: usize,
    /// True when the largest parameter change fell below the tolerance.
    pub converged: bool,
    /// EAP ability and posterior SD of every examinee, in row order, under
    /// the fitted items and the latent distribution. Where an examinee's
    /// posterior is narrower than the quadrature spacing (thousands of
    /// responses), the grid cannot resolve it: its mode and curvature SD
    /// (Laplace approximation) are reported instead.
    pub abilities: Vec<Ability>,
    /// How standard errors were computed, when they were
    /// (`"louis-full"` or `"louis-item-blocks"`).
    pub se_method: Option<String>,
}

impl Calibration {
    /// The calibrated items as a parameter set, with the latent scale in the
    /// metadata and fit statistics added to its provenance (keys
    /// `log_likelihood`, `aic`, `bic`, `n_parameters`, `iterations`,
    /// `converged`, unless `metadata` already has them).
    ///
    /// # Errors
    /// Never for a calibration this crate produced; the parameter set
    /// re-validates items.
    pub fn to_param_set(&self, mut metadata: Metadata) -> Result<ParamSet> {
        metadata.scale = Scale {
            mean: self.latent.mean,
            sd: self.latent.sd,
        };
        let stats = [
            ("log_likelihood", serde_json::json!(self.log_likelihood)),
            ("aic", serde_json::json!(self.aic)),
            ("bic", serde_json::json!(self.bic)),
            ("n_parameters", serde_json::json!(self.n_parameters)),
            ("iterations", serde_json::json!(self.iterations)),
            ("converged", serde_json::json!(self.converged)),
        ];
        for (k, v) in stats {
            metadata.provenance.entry(k).or_insert(v);
        }
        let items = self
            .items
            .iter()
            .map(|it| ItemParams {
                id: it.id.clone(),
                kind: it.kind,
                irf: it.irf.clone(),
                se: it.se.clone(),
            })
            .collect();
        ParamSet::new(items, metadata)
    }
}
