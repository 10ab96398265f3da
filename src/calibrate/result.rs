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
    /// The item's S-X2 is significant after the Benjamini-Hochberg
    /// correction at false discovery rate 0.05 ([`SumScoreFit::misfit`]).
    Misfit,
}

/// Fit of one item (see the [module docs](super) for when each part is
/// computed).
///
/// * Outfit and infit mean squares (Wright & Masters): `outfit = mean_i
///   (x_i - E_i)^2 / V_i` over respondents, `infit = sum_i (x_i - E_i)^2 /
///   sum_i V_i`, with `E_i`, `V_i` the expected score and its variance
///   integrated over each examinee's posterior. Both near 1 for a fitting
///   item; above 1.3 signals noise, below 0.7 over-predictability.
/// * S-X2 (Orlando & Thissen 2000; Kang & Chen 2008 for graded items):
///   observed against expected category proportions per summed score, over
///   the examinees who answered every item; or why it was not computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemFit {
    /// Unweighted mean square.
    pub outfit: f64,
    /// Information-weighted mean square.
    pub infit: f64,
    /// The summed-score statistic, or why there is none.
    pub sum_score: std::result::Result<SumScoreFit, SumScoreSkip>,
}

impl ItemFit {
    /// The S-X2 result, when computed.
    pub fn s_x2(&self) -> Option<&SumScoreFit> {
        self.sum_score.as_ref().ok()
    }
}

/// Orlando & Thissen's S-X2 of one item:
/// `S-X2 = sum_g sum_c (o_gc - e_gc)^2 / e_gc` over collapsed summed-score
/// groups `g` and the item's categories `c` (for a dichotomous item
/// `sum_k N_k (O_k - E_k)^2 / (E_k (1 - E_k))`), referred to a chi-squared
/// distribution with `df = sum_g (cells_g - 1) - parameters`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SumScoreFit {
    /// The statistic.
    pub s_x2: f64,
    /// Degrees of freedom (at least 1).
    pub df: usize,
    /// `P(chi2_df > s_x2)`.
    pub p: f64,
    /// Score groups left after collapsing.
    pub n_groups: usize,
    /// Complete examinees the table was built from (frequency-weighted).
    pub n_examinees: f64,
    /// Flagged by the Benjamini-Hochberg procedure at a false discovery
    /// rate of 0.05 over the bank's S-X2 p-values (raises
    /// [`ItemFlag::Misfit`]).
    pub misfit: bool,
}

/// Why an item has no S-X2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SumScoreSkip {
    /// Too few examinees answered every item: summed scores are comparable
    /// only among examinees who answered the same items (sparse LLM data).
    TooFewComplete {
        /// Examinees with complete data (frequency-weighted).
        complete: f64,
        /// The number needed: `max(100, 5 (S + 1))`, `S` the highest
        /// possible summed score.
        needed: f64,
    },
    /// After collapsing, no degrees of freedom are left beyond the item's
    /// parameters.
    NoDegreesOfFreedom,
    /// The summed-score recursion would take more than `limit`
    /// multiply-adds.
    TooCostly {
        /// Estimated multiply-adds.
        work: f64,
        /// The limit.
        limit: f64,
    },
}

impl std::fmt::Display for SumScoreSkip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SumScoreSkip::TooFewComplete { complete, needed } => write!(
                f,
                "{complete} examinees answered every item, {needed} needed \
                 (summed scores compare only on the same items)"
            ),
            SumScoreSkip::NoDegreesOfFreedom => {
                f.write_str("no degrees of freedom left after collapsing score groups")
            }
            SumScoreSkip::TooCostly { work, limit } => write!(
                f,
                "the summed-score recursion would take {work:.3e} operations (limit {limit:.0e})"
            ),
        }
    }
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
    /// Item fit: mean squares and S-X2 (`None` only when the item's
    /// expected-score variance vanishes for every respondent).
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
    /// `converged`, unless `metadata` already has them), and the items' S-X2
    /// under `item_fit` (see [`Calibration::item_fit_provenance`]).
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
        if let Some(v) = self.item_fit_provenance() {
            metadata.provenance.entry("item_fit").or_insert(v);
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

    /// The S-X2 results as recorded in a parameter file's provenance:
    ///
    /// ```json
    /// "item_fit": {
    ///   "statistic": "S-X2",
    ///   "examinees": 1000,
    ///   "min_expected": 1,
    ///   "misfit_rule": "Benjamini-Hochberg, false discovery rate 0.05",
    ///   "items": {"q1": {"s_x2": 3.2, "df": 2, "p": 0.2, "misfit": false}},
    ///   "skipped": {"q7": "no degrees of freedom left after collapsing score groups"}
    /// }
    /// ```
    ///
    /// When no item has an S-X2, only `statistic` and `skipped` (one reason
    /// for the whole calibration, e.g. too few complete examinees). `None`
    /// when no item has fit at all.
    pub fn item_fit_provenance(&self) -> Option<serde_json::Value> {
        use serde_json::{Map, Value, json};
        let fits: Vec<(&FittedItem, &ItemFit)> = self
            .items
            .iter()
            .filter_map(|it| it.fit.as_ref().map(|f| (it, f)))
            .collect();
        let mut computed = Map::new();
        let mut skipped = Map::new();
        let mut examinees = None;
        for (it, f) in &fits {
            match &f.sum_score {
                Ok(s) => {
                    examinees = Some(s.n_examinees);
                    computed.insert(
                        it.id.to_string(),
                        json!({"s_x2": s.s_x2, "df": s.df, "p": s.p, "misfit": s.misfit}),
                    );
                }
                Err(why) => {
                    skipped.insert(it.id.to_string(), Value::String(why.to_string()));
                }
            }
        }
        if fits.is_empty() {
            return None;
        }
        let mut out = Map::new();
        out.insert("statistic".into(), json!("S-X2"));
        match examinees {
            Some(n) => {
                out.insert("examinees".into(), json!(n));
                out.insert("min_expected".into(), json!(super::fit::MIN_EXPECTED));
                out.insert(
                    "misfit_rule".into(),
                    json!("Benjamini-Hochberg, false discovery rate 0.05"),
                );
                out.insert("items".into(), Value::Object(computed));
                if !skipped.is_empty() {
                    out.insert("skipped".into(), Value::Object(skipped));
                }
            }
            None => {
                let reason = fits.iter().find_map(|(_, f)| f.sum_score.err());
                out.insert("skipped".into(), json!(reason.map(|r| r.to_string())));
            }
        }
        Some(Value::Object(out))
    }
}
