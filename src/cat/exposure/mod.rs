//! Exposure control: keeping popular items from appearing in too many exams.
//!
//! * **Randomesque** (Kingsbury & Zara, 1989): pick at random among the `k`
//!   best items of the selection rule.
//! * **a-stratification** (Chang & Ying, 1999): split the bank into `strata`
//!   by discrimination `a` (equal counts, low `a` first) and the exam into as
//!   many equal stages; stage `s` draws from stratum `s` (the next stratum
//!   with items left when it is used up), saving the high-`a` items for
//!   late, well-located selections. Pair it with `select = "closest-b"` for
//!   the classic design.
//! * **Sympson-Hetter** (1985): each item has a parameter `K_j` in `(0, 1]`;
//!   when the rule selects item `j`, it is administered with probability
//!   `K_j`, else it is set aside for the rest of the exam and the rule picks
//!   again. Exposure rate = `P(selected) K_j`.
//! * **Item eligibility** (van der Linden & Veldkamp, 2004): each item has a
//!   probability `E_j`; at the start of an exam each item is made eligible
//!   with that probability, once.
//!
//! The per-item parameters live in the bank ([`CatBank::with_exposure_params`])
//! and are set by [`calibrate_exposure`], which simulates exams and lowers
//! the parameters of over-exposed items until the maximum exposure rate
//! reaches the target `r_max`. If every eligible item is used up or set
//! aside, the set-aside and ineligible items come back (an exam never ends
//! early because of exposure control).
//!
//! [`CatBank::with_exposure_params`]: super::CatBank::with_exposure_params

mod calibrate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::ItemId;

pub use calibrate::{ExposureFit, calibrate_exposure};

/// The exposure-control method of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Exposure {
    /// No control: always the rule's best item.
    #[default]
    None,
    /// Uniform choice among the rule's `k` best items.
    Randomesque {
        /// Number of best items to choose among (at least 1).
        k: usize,
    },
    /// Stages drawing from strata of increasing discrimination.
    AStratified {
        /// Number of strata and stages (1 to `max_items`).
        strata: usize,
    },
    /// Sympson-Hetter probabilistic filter, parameters from the bank.
    SympsonHetter {
        /// Target maximum exposure rate, in `(0, 1]` (used when calibrating).
        r_max: f64,
    },
    /// Item-eligibility control, probabilities from the bank.
    Eligibility {
        /// Target maximum exposure rate, in `(0, 1]` (used when calibrating).
        r_max: f64,
    },
}

impl std::str::FromStr for Exposure {
    type Err = Error;

    /// Parses `none`, `randomesque:K`, `a-stratified:S`, `sympson-hetter:R`
    /// or `eligibility:R`.
    ///
    /// # Errors
    /// Any other text ([`ErrorKind::Config`](crate::ErrorKind::Config),
    /// naming the valid forms).
    fn from_str(text: &str) -> Result<Self> {
        let (how, x) = text.split_once(':').unwrap_or((text, ""));
        let x = x.trim();
        let parsed = match how.trim() {
            "none" => Some(Exposure::None),
            "randomesque" => x.parse().ok().map(|k| Exposure::Randomesque { k }),
            "a-stratified" => x
                .parse()
                .ok()
                .map(|strata| Exposure::AStratified { strata }),
            "sympson-hetter" => x
                .parse()
                .ok()
                .map(|r_max| Exposure::SympsonHetter { r_max }),
            "eligibility" => x.parse().ok().map(|r_max| Exposure::Eligibility { r_max }),
            _ => None,
        };
        parsed.ok_or_else(|| {
            Error::config(format!(
                "exposure '{text}': expected none, randomesque:K, a-stratified:S, sympson-hetter:R or eligibility:R"
            ))
        })
    }
}

impl Exposure {
    pub(crate) fn validate(&self, max_items: usize) -> Result<()> {
        match *self {
            Exposure::None => Ok(()),
            Exposure::Randomesque { k: 0 } => {
                Err(Error::config("exposure: randomesque k must be at least 1"))
            }
            Exposure::AStratified { strata } if strata == 0 || strata > max_items => {
                Err(Error::config(format!(
                    "exposure: a-stratified strata must be between 1 and max_items ({max_items}), got {strata}"
                )))
            }
            Exposure::SympsonHetter { r_max } | Exposure::Eligibility { r_max }
                if !(r_max > 0.0 && r_max <= 1.0) =>
            {
                Err(Error::config(format!(
                    "exposure: r_max must be in (0, 1], got {r_max}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// True for the methods that need per-item parameters.
    pub(crate) fn uses_params(&self) -> bool {
        matches!(
            self,
            Exposure::SympsonHetter { .. } | Exposure::Eligibility { .. }
        )
    }

    /// The number of best items the rule returns for this method.
    pub(crate) fn candidates(&self) -> usize {
        match *self {
            Exposure::Randomesque { k } => k,
            _ => 1,
        }
    }
}

/// Per-item exposure parameters: Sympson-Hetter `K_j` or eligibility
/// probabilities `E_j`, each in `(0, 1]`. Serialises as a JSON object
/// `{"item id": value, ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExposureParams {
    values: BTreeMap<ItemId, f64>,
}

impl ExposureParams {
    /// Parameters from a map (values are clamped to `[0, 1]`; NaN becomes 1).
    pub fn new(values: BTreeMap<ItemId, f64>) -> Self {
        let values = values
            .into_iter()
            .map(|(id, v)| (id, if v.is_nan() { 1.0 } else { v.clamp(0.0, 1.0) }))
            .collect();
        ExposureParams { values }
    }

    /// The parameters by item.
    pub fn values(&self) -> &BTreeMap<ItemId, f64> {
        &self.values
    }

    /// The parameter of item `id` (1 when not listed).
    pub fn get(&self, id: &str) -> f64 {
        self.values.get(id).copied().unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_read_from_toml_tables() {
        #[derive(Deserialize)]
        struct W {
            exposure: Exposure,
        }
        let w: W = toml::from_str("[exposure]\nmethod = \"sympson-hetter\"\nr_max = 0.2").unwrap();
        assert_eq!(w.exposure, Exposure::SympsonHetter { r_max: 0.2 });
        let w: W = toml::from_str("[exposure]\nmethod = \"a-stratified\"\nstrata = 4").unwrap();
        assert_eq!(w.exposure, Exposure::AStratified { strata: 4 });
        assert!(toml::from_str::<W>("[exposure]\nmethod = \"randomesque\"\nk = 2\nr = 1").is_err());
        assert!(Exposure::AStratified { strata: 11 }.validate(10).is_err());
    }
}
