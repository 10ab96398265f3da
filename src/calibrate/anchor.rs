//! Recalibration on a stable scale: fixed item parameter calibration (FIPC)
//! with the latent distribution estimated.
//!
//! Items present in an earlier calibration (the *anchor* parameter set)
//! keep their parameters; every other item and every examinee is placed on
//! the anchor set's scale. The population is not assumed to be N(0, 1) on
//! that scale: a new cohort of stronger models would otherwise be squeezed
//! back to mean 0 and drag the new items' difficulties with it.
//!
//! # Method
//! EM on `theta ~ N(mu, sigma^2)` with `mu` and `sigma` estimated, the
//! normal-latent form of Kim's (2006) "multiple weights updating, multiple
//! EM cycles" FIPC (MWU-MEM; also called FIPC with prior update). Each cycle:
//!
//! 1. **E-step** over the standardised grid `z` (`theta = mu + sigma z`),
//!    with every anchor item expressed in `z` (`a_z = a sigma`,
//!    `d_z = d + a mu`, in slope-intercept form);
//! 2. **M-step** of the free items only (anchors are skipped);
//! 3. **M-step of the latent distribution**: the population's posterior mean
//!    `m` and SD `s` of `z` give `mu <- mu + sigma m`, `sigma <- sigma s`;
//!    free items are re-expressed for the new `z` (as the parameter-expanded
//!    EM of an ordinary run does) and the anchors recomputed from their
//!    fixed values.
//!
//! Convergence: largest change of any free item parameter, `mu` or `sigma`
//! below the tolerance. The estimated `mu`, `sigma` are the result's
//! [`Calibration::latent`] and go to the output's `metadata.scale`.
//!
//! Shared slopes: free Rasch items keep slope 1 on the anchor scale; free
//! 1PL items take the anchors' common 1PL slope when the anchors have 1PL
//! items (their own common slope is estimated otherwise). Priors act on the
//! free items' standardised (`z`) parameters, as in an ordinary run.
//!
//! Standard errors of free items: Louis' information at the anchored
//! solution, carried to the anchor scale by the delta method with `mu` and
//! `sigma` taken as known; anchor items keep the errors of the anchor file.
//!
//! ```
//! use fangsheng::bank::{ItemParams, Metadata, ParamSet};
//! use fangsheng::calibrate::{calibrate_anchored, CalibrationConfig};
//! use fangsheng::model::{Irf, Logistic, ModelKind};
//! use fangsheng::simulate::{simulate_responses, standard_normals};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
//! let irfs: Vec<Irf> = (0..20)
//!     .map(|j| Logistic::two_pl(1.2, -1.0 + 0.1 * j as f64).unwrap().into())
//!     .collect();
//! // A cohort one unit stronger than the anchor scale's population.
//! let thetas: Vec<f64> = standard_normals(400, &mut rng).iter().map(|t| t + 1.0).collect();
//! let responses = simulate_responses(&irfs, &thetas, 1.0, None, &mut rng);
//! // The first ten items are known from an earlier calibration.
//! let anchors = ParamSet::new(
//!     (0..10)
//!         .map(|j| ItemParams {
//!             id: responses.items()[j].clone(),
//!             kind: ModelKind::TwoPl,
//!             irf: irfs[j].clone(),
//!             se: None,
//!         })
//!         .collect(),
//!     Metadata::default(),
//! )
//! .unwrap();
//! let fit = calibrate_anchored(&responses, &CalibrationConfig::default(), &anchors, &mut |_| {})
//!     .unwrap();
//! assert!((fit.calibration.latent.mean - 1.0).abs() < 0.25);
//! assert_eq!(fit.calibration.items[0].irf, irfs[0]);
//! ```

use crate::bank::{ItemParams, Metadata, ParamSet};
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::model::{Irf, ModelKind, ResponseModel};

use super::config::CalibrationConfig;
use super::em::{self, Fixed};
use super::items::ItemState;
use super::result::{Calibration, Progress};

/// The result of [`calibrate_anchored`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnchoredCalibration {
    /// The calibration of the response matrix's items (column order), on
    /// the anchor scale; `latent` is the estimated `N(mu, sigma^2)` of this
    /// population on that scale.
    pub calibration: Calibration,
    /// Per column: true for an anchor item (parameters fixed).
    pub anchored: Vec<bool>,
    /// Anchor items with no column in the response matrix, copied unchanged
    /// (in anchor-file order) so that the new version is complete.
    pub carried: Vec<ItemParams>,
}

impl AnchoredCalibration {
    /// Number of anchor items found in the responses.
    pub fn n_anchored(&self) -> usize {
        self.anchored.iter().filter(|a| **a).count()
    }

    /// The new version: the calibrated columns followed by the carried-over
    /// anchors, with the estimated latent mean and SD as `metadata.scale`
    /// and the fit statistics (see [`Calibration::to_param_set`]) and
    /// `anchor` counts (`in_responses`, `carried_over`, `new_items`) in the
    /// provenance.
    ///
    /// # Errors
    /// Never for a calibration this crate produced.
    pub fn to_param_set(&self, mut metadata: Metadata) -> Result<ParamSet> {
        let n_anchored = self.n_anchored();
        metadata.provenance.entry("anchor").or_insert_with(|| {
            serde_json::json!({
                "in_responses": n_anchored,
                "carried_over": self.carried.len(),
                "new_items": self.anchored.len() - n_anchored,
            })
        });
        let set = self.calibration.to_param_set(metadata)?;
        let mut items = set.items().to_vec();
        items.extend(self.carried.iter().cloned());
        ParamSet::new(items, set.metadata().clone())
    }
}

/// Calibrates `responses` with the items of `anchors` held at their
/// parameters, estimating the latent mean and SD on the anchor scale (see
/// the module documentation for the method).
///
/// # Errors
/// Those of [`calibrate`](super::calibrate); and, naming the item, an anchor
/// whose model differs from the one `config` asks for it, or a score above
/// an anchor's categories; an error when no anchor item appears in the
/// responses (nothing would tie the calibration to the anchor scale).
pub fn calibrate_anchored(
    responses: &ResponseMatrix,
    config: &CalibrationConfig,
    anchors: &ParamSet,
    progress: &mut dyn FnMut(&Progress),
) -> Result<AnchoredCalibration> {
    let kinds = config.kinds(responses.n_items())?;
    let mut fixed = Fixed {
        items: Vec::with_capacity(kinds.len()),
        reported: Vec::with_capacity(kinds.len()),
        one_pl_slope: None,
    };
    let mut present = vec![false; anchors.len()];
    for (j, id) in responses.items().iter().enumerate() {
        let Some(pos) = anchors.index_of(id.as_str()) else {
            fixed.items.push(None);
            fixed.reported.push(None);
            continue;
        };
        present[pos] = true;
        let anchor = &anchors.items()[pos];
        if anchor.kind != kinds[j] {
            return Err(Error::value(format!(
                "the anchor file calibrated this item as {} but this calibration asks for {}: \
                 use the anchor's model for it (--item-models) or drop it from the anchors",
                anchor.kind, kinds[j]
            ))
            .for_item(id.as_str()));
        }
        let n_cat = anchor.irf.n_categories();
        if responses.max_score(j) as usize >= n_cat {
            return Err(Error::value(format!(
                "score {} but the anchor item's categories are 0..={}",
                responses.max_score(j),
                n_cat - 1
            ))
            .for_item(id.as_str()));
        }
        if anchor.kind == ModelKind::OnePl && fixed.one_pl_slope.is_none() {
            fixed.one_pl_slope = Some(anchor_slope(&anchor.irf));
        }
        fixed.items.push(Some(state_of(anchor)));
        fixed
            .reported
            .push(Some((anchor.irf.clone(), anchor.se.clone())));
    }
    let anchored: Vec<bool> = fixed.items.iter().map(Option::is_some).collect();
    if !anchored.contains(&true) {
        return Err(Error::value(format!(
            "none of the {} anchor items appears in the responses: nothing ties this \
             calibration to the anchor scale (check that the item ids match)",
            anchors.len()
        )));
    }
    let calibration = em::run(responses, config, Some(&fixed), progress)?;
    let carried = anchors
        .items()
        .iter()
        .zip(&present)
        .filter(|(_, p)| !**p)
        .map(|(it, _)| it.clone())
        .collect();
    Ok(AnchoredCalibration {
        calibration,
        anchored,
        carried,
    })
}

fn anchor_slope(irf: &Irf) -> f64 {
    match irf {
        Irf::Logistic(l) => l.a(),
        Irf::Graded(g) => g.a(),
    }
}

/// An anchor item in the engine's slope-intercept form on its own scale.
fn state_of(item: &ItemParams) -> ItemState {
    let p = match &item.irf {
        Irf::Logistic(l) => vec![l.a(), l.intercept(), l.g(), l.u()],
        Irf::Graded(g) => std::iter::once(g.a()).chain(g.intercepts()).collect(),
    };
    ItemState { kind: item.kind, p }
}
