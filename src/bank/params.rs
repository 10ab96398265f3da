//! Calibrated item parameters in memory.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::ids::ItemId;
use crate::model::{Irf, ModelKind, ResponseModel};

/// One calibrated item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemParams {
    /// The item's id.
    pub id: ItemId,
    /// The model it was calibrated under.
    pub kind: ModelKind,
    /// Its response function.
    pub irf: Irf,
    /// Standard errors aligned with `irf.params()` (`NaN` where a parameter
    /// was fixed or its error is unknown), when the calibration produced them.
    pub se: Option<Vec<f64>>,
}

/// The latent scale the parameters are expressed on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    /// Mean of the calibration population's ability.
    pub mean: f64,
    /// Standard deviation of the calibration population's ability.
    pub sd: f64,
}

impl Default for Scale {
    fn default() -> Self {
        Scale { mean: 0.0, sd: 1.0 }
    }
}

/// File-level information about a parameter set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// Name of the bank the items belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// Version label of this calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The latent scale.
    #[serde(default)]
    pub scale: Scale,
    /// Where the parameters came from: source runs, software, date, seed,
    /// fit statistics, parent version. Free-form JSON object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub provenance: serde_json::Map<String, serde_json::Value>,
}

/// A set of calibrated items with unique ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    metadata: Metadata,
    items: Vec<ItemParams>,
    index: HashMap<ItemId, usize>,
}

impl ParamSet {
    /// Builds a set, checking that ids are unique and that each item's
    /// response function fits its kind (a graded function for `grm`, `g = 0`
    /// and `u = 1` for Rasch to 2PL, `u = 1` for the 3PL, `a = 1` for Rasch).
    pub fn new(items: Vec<ItemParams>, metadata: Metadata) -> Result<Self> {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            check_kind(item).map_err(|e| e.for_item(item.id.as_str()))?;
            if let Some(se) = &item.se {
                if se.len() != item.irf.params().len() {
                    return Err(Error::param(format!(
                        "{} standard errors for {} parameters",
                        se.len(),
                        item.irf.params().len()
                    ))
                    .for_item(item.id.as_str()));
                }
            }
            if index.insert(item.id.clone(), i).is_some() {
                return Err(Error::new(
                    crate::error::ErrorKind::Item,
                    "item id appears more than once",
                )
                .for_item(item.id.as_str()));
            }
        }
        Ok(ParamSet {
            metadata,
            items,
            index,
        })
    }

    /// File-level metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Mutable metadata (for recording provenance before saving).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Items in file order.
    pub fn items(&self) -> &[ItemParams] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the set has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Position of item `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The item with id `id`.
    pub fn get(&self, id: &str) -> Option<&ItemParams> {
        self.index_of(id).map(|i| &self.items[i])
    }

    /// For each column of `responses`, the position of that item in this set.
    ///
    /// # Errors
    /// An item of the response matrix that is not in the set
    /// ([`ErrorKind::Item`](crate::error::ErrorKind::Item)), or a score outside
    /// the item's categories ([`ErrorKind::Value`](crate::error::ErrorKind::Value)),
    /// naming the item and the examinee.
    pub fn align(&self, responses: &ResponseMatrix) -> Result<Vec<usize>> {
        let mut columns = Vec::with_capacity(responses.n_items());
        for (j, id) in responses.items().iter().enumerate() {
            let Some(pos) = self.index_of(id.as_str()) else {
                return Err(
                    Error::new(crate::error::ErrorKind::Item, "not in the parameter set")
                        .for_item(id.as_str()),
                );
            };
            let n_cat = self.items[pos].irf.n_categories();
            let (examinees, scores) = responses.item_responses(j);
            if let Some((e, s)) = examinees
                .iter()
                .zip(scores)
                .find(|(_, s)| **s as usize >= n_cat)
            {
                return Err(Error::value(format!(
                    "examinee '{}' has score {} but the item's categories are 0..={}",
                    responses.examinees()[*e as usize],
                    s,
                    n_cat - 1
                ))
                .for_item(id.as_str()));
            }
            columns.push(pos);
        }
        Ok(columns)
    }
}

fn check_kind(item: &ItemParams) -> Result<()> {
    let ok = match (&item.irf, item.kind) {
        (Irf::Graded(_), ModelKind::Graded) => true,
        (Irf::Logistic(m), ModelKind::Rasch) => m.a() == 1.0 && m.g() == 0.0 && m.u() == 1.0,
        (Irf::Logistic(m), ModelKind::OnePl | ModelKind::TwoPl) => m.g() == 0.0 && m.u() == 1.0,
        (Irf::Logistic(m), ModelKind::ThreePl) => m.u() == 1.0,
        (Irf::Logistic(_), ModelKind::FourPl) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::param(format!(
            "parameters {:?} do not fit model '{}'",
            item.irf.params(),
            item.kind
        )))
    }
}
