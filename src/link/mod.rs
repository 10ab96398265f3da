//! Linking separate calibrations onto one scale.
//!
//! Two calibrations of overlapping item sets each fix their own scale (their
//! population has mean 0 and SD 1), so the same item gets different
//! parameters in each. Linking finds the linear map from the NEW scale to the
//! OLD one, `theta_old = A theta_new + B`, from the items they share, and
//! re-expresses NEW's items on OLD's scale:
//!
//! `a* = a / A`, `b* = A b + B` (each threshold of a graded item), `g`, `u`
//! unchanged; standard errors `se(a*) = se(a) / A`, `se(b*) = A se(b)`.
//!
//! Methods ([`Method`]):
//! * **Stocking-Lord** (default; Stocking & Lord 1983): `A, B` minimise the
//!   squared difference of the common items' test characteristic curves,
//!   `F(A, B) = sum_q w_q (T_old(theta_q) - T_new((theta_q - B) / A))^2`,
//!   with `T(theta) = sum_j E[X_j | theta]` over the common items. The
//!   points are 41 equally spaced standardised values `z_q` on `[-4, 4]`
//!   placed on OLD's scale (`theta_q = mean + sd z_q` with OLD's
//!   `metadata.scale`) and weighted by the N(0, 1) density of `z_q`
//!   (normalised), so the curves are matched where OLD's population lies.
//!   `F` is minimised by Gauss-Newton with Levenberg-Marquardt damping on the
//!   analytic Jacobian, started from the mean-sigma solution.
//! * **Mean-sigma** (Marco 1977): `A = sd(b_old) / sd(b_new)`,
//!   `B = mean(b_old) - A mean(b_new)` over the common items' difficulties
//!   (all thresholds of graded items). Simple, but sensitive to outlying
//!   difficulties.
//! * **Mean-mean** (Loyd & Hoover 1980): `A = mean(a_new) / mean(a_old)`,
//!   `B` as mean-sigma.
//!
//! When NEW has Rasch items the unit is fixed by `a = 1` in both
//! calibrations, so `A = 1` and only the shift `B` is estimated.
//!
//! ```
//! use fangsheng::bank::{ItemParams, Metadata, ParamSet};
//! use fangsheng::link::{common_items, link, Method, Transform};
//! use fangsheng::model::{Logistic, ModelKind};
//!
//! let old = ParamSet::new(
//!     (0..10)
//!         .map(|j| ItemParams {
//!             id: format!("q{j}").into(),
//!             kind: ModelKind::TwoPl,
//!             irf: Logistic::two_pl(0.8 + 0.1 * j as f64, -1.5 + 0.3 * j as f64).unwrap().into(),
//!             se: None,
//!         })
//!         .collect(),
//!     Metadata::default(),
//! )
//! .unwrap();
//! // NEW is OLD seen through theta_new = (theta_old - 0.5) / 1.3.
//! let new = Transform { a: 1.0 / 1.3, b: -0.5 / 1.3 }.apply_set(&old).unwrap();
//! let found = link(&old, &new, &common_items(&old, &new), Method::StockingLord).unwrap();
//! assert!((found.transform.a - 1.3).abs() < 1e-6);
//! assert!((found.transform.b - 0.5).abs() < 1e-6);
//! ```

mod moments;
mod stocking_lord;
mod transform;

use std::fmt;
use std::str::FromStr;

use crate::bank::ParamSet;
use crate::error::{Error, Result};
use crate::ids::ItemId;
use crate::model::{ModelKind, ResponseModel};

pub use stocking_lord::{GRID_POINTS, GRID_RANGE};
pub use transform::Transform;

/// A linking method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Test characteristic curve matching (Stocking & Lord 1983).
    #[default]
    StockingLord,
    /// Mean and SD of the difficulties (Marco 1977).
    MeanSigma,
    /// Mean of the slopes and mean of the difficulties (Loyd & Hoover 1980).
    MeanMean,
}

impl Method {
    /// The name used on the command line and in provenance.
    pub fn name(self) -> &'static str {
        match self {
            Method::StockingLord => "stocking-lord",
            Method::MeanSigma => "mean-sigma",
            Method::MeanMean => "mean-mean",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stocking-lord" | "sl" => Ok(Method::StockingLord),
            "mean-sigma" => Ok(Method::MeanSigma),
            "mean-mean" => Ok(Method::MeanMean),
            other => Err(Error::config(format!(
                "unknown linking method '{other}' (expected stocking-lord, mean-sigma or mean-mean)"
            ))),
        }
    }
}

/// The outcome of [`link`].
#[derive(Debug, Clone, PartialEq)]
pub struct Linking {
    /// The method used.
    pub method: Method,
    /// `theta_old = A theta_new + B`.
    pub transform: Transform,
    /// The common items used, in NEW's order.
    pub common: Vec<ItemId>,
    /// Stocking-Lord only: the criterion `F(A, B)` at the solution (weighted
    /// mean squared difference of the test characteristic curves, in score
    /// points squared) and the number of Gauss-Newton iterations.
    pub criterion: Option<(f64, usize)>,
}

impl Linking {
    /// NEW's items on OLD's scale, with the transformation recorded under
    /// `metadata.provenance.link` (`method`, `A`, `B`, `common_items`, and
    /// for Stocking-Lord `criterion`, `iterations` and the grid) and the
    /// scale mapped (`mean* = A mean + B`, `sd* = A sd`).
    ///
    /// # Errors
    /// A transformed item that is no longer valid (cannot happen for
    /// `A > 0` and finite `B`).
    pub fn apply(&self, new: &ParamSet) -> Result<ParamSet> {
        let mut out = self.transform.apply_set(new)?;
        let mut record = serde_json::json!({
            "method": self.method.name(),
            "A": self.transform.a,
            "B": self.transform.b,
            "common_items": self.common.len(),
        });
        if let Some((f, iterations)) = self.criterion {
            record["criterion"] = serde_json::json!(f);
            record["iterations"] = serde_json::json!(iterations);
            record["grid"] = serde_json::json!(format!(
                "{GRID_POINTS} points, z on [-{GRID_RANGE}, {GRID_RANGE}] on OLD's scale, N(0, 1) weights"
            ));
        }
        out.metadata_mut().provenance.insert("link".into(), record);
        Ok(out)
    }
}

/// Ids present in both sets, in NEW's order.
pub fn common_items(old: &ParamSet, new: &ParamSet) -> Vec<ItemId> {
    new.items()
        .iter()
        .filter(|it| old.get(it.id.as_str()).is_some())
        .map(|it| it.id.clone())
        .collect()
}

/// Finds `theta_old = A theta_new + B` from the `common` items.
///
/// # Errors
/// Fewer than two common items, a common id missing from either set, a
/// common item with a different number of categories in the two sets
/// (naming it), or degenerate common items (all difficulties equal, for
/// mean-sigma; no solution with `A > 0`).
pub fn link(old: &ParamSet, new: &ParamSet, common: &[ItemId], method: Method) -> Result<Linking> {
    if common.len() < 2 {
        return Err(Error::value(format!(
            "linking needs at least 2 common items, found {}",
            common.len()
        )));
    }
    let mut pairs = Vec::with_capacity(common.len());
    for id in common {
        let (Some(o), Some(n)) = (old.get(id.as_str()), new.get(id.as_str())) else {
            let missing = if old.get(id.as_str()).is_none() {
                "OLD"
            } else {
                "NEW"
            };
            return Err(
                Error::value(format!("common item is not in the {missing} parameter set"))
                    .for_item(id.as_str()),
            );
        };
        if o.irf.n_categories() != n.irf.n_categories() {
            return Err(Error::value(format!(
                "{} categories in OLD but {} in NEW: not the same item",
                o.irf.n_categories(),
                n.irf.n_categories()
            ))
            .for_item(id.as_str()));
        }
        pairs.push((&o.irf, &n.irf));
    }
    let unit_fixed = new.items().iter().any(|it| it.kind == ModelKind::Rasch);
    let (transform, criterion) = match method {
        Method::MeanSigma => (moments::mean_sigma(&pairs, unit_fixed)?, None),
        Method::MeanMean => (moments::mean_mean(&pairs, unit_fixed)?, None),
        Method::StockingLord => {
            let start = moments::mean_sigma(&pairs, unit_fixed).unwrap_or(Transform::IDENTITY);
            let scale = old.metadata().scale;
            let (t, f, it) = stocking_lord::solve(&pairs, scale, start, unit_fixed)?;
            (t, Some((f, it)))
        }
    };
    Ok(Linking {
        method,
        transform,
        common: common.to_vec(),
        criterion,
    })
}
