//! The bank an adaptive exam draws from: calibrated items with their tags,
//! exclusions and exposure-control parameters, plus the search indexes and
//! score curves built from them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use super::curve::Curve;
use super::exposure::ExposureParams;
use super::index::{InfoIndex, LocationIndex};
use super::tags::Tags;
use super::twins::Twins;
use crate::bank::ParamSet;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ItemId;
use crate::model::Irf;

/// The items of one tag value, with their score curve.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) value: String,
    pub(crate) curve: Curve,
}

/// Calibrated items ready for adaptive exams.
///
/// Built from a [`ParamSet`] (or ids and response functions), with optional
/// per-item [`Tags`], items excluded from every exam, and per-item exposure
/// parameters for Sympson-Hetter or eligibility control
/// ([`calibrate_exposure`](super::calibrate_exposure) sets them). Building
/// sorts the items for fast selection (`O(n log n)`); share one bank between
/// sessions with an `Arc`.
///
/// ```
/// use std::collections::HashMap;
/// use fangsheng::cat::{CatBank, Tags};
/// use fangsheng::model::{Irf, Logistic};
///
/// let irfs: Vec<Irf> = (0..4).map(|j| Logistic::two_pl(1.0, j as f64 - 1.5).unwrap().into()).collect();
/// let ids = ["q1", "q2", "q3", "q4"].map(Into::into).to_vec();
/// let tags = HashMap::from([("q1".into(), Tags::category("math"))]);
/// let bank = CatBank::from_parts(ids, irfs).unwrap().with_tags(&tags).unwrap();
/// assert_eq!(bank.tags(0).get("category"), Some("math"));
/// ```
#[derive(Debug)]
pub struct CatBank {
    ids: Vec<ItemId>,
    index: HashMap<ItemId, usize>,
    irfs: Vec<Irf>,
    tags: Vec<Tags>,
    excluded: Vec<bool>,
    exposure: Option<Vec<f64>>,
    info: InfoIndex,
    location: LocationIndex,
    twins: Twins,
    curve: OnceLock<Curve>,
    tag_curves: Mutex<HashMap<String, Arc<Vec<Group>>>>,
}

impl Clone for CatBank {
    fn clone(&self) -> Self {
        CatBank {
            ids: self.ids.clone(),
            index: self.index.clone(),
            irfs: self.irfs.clone(),
            tags: self.tags.clone(),
            excluded: self.excluded.clone(),
            exposure: self.exposure.clone(),
            info: self.info.clone(),
            location: self.location.clone(),
            twins: self.twins.clone(),
            curve: self.curve.clone(),
            tag_curves: Mutex::new(HashMap::new()),
        }
    }
}

fn unknown_item(id: &str) -> Error {
    Error::new(ErrorKind::Item, "not in the bank").for_item(id)
}

impl CatBank {
    /// A bank of every item of `params`, untagged.
    ///
    /// # Errors
    /// An empty parameter set ([`ErrorKind::Config`]).
    pub fn new(params: &ParamSet) -> Result<Self> {
        let (ids, irfs) = params
            .items()
            .iter()
            .map(|p| (p.id.clone(), p.irf.clone()))
            .unzip();
        Self::from_parts(ids, irfs)
    }

    /// A bank from item ids and their response functions (same length).
    ///
    /// # Errors
    /// Unequal lengths or no items ([`ErrorKind::Config`]); a repeated id
    /// ([`ErrorKind::Item`]).
    pub fn from_parts(ids: Vec<ItemId>, irfs: Vec<Irf>) -> Result<Self> {
        if ids.len() != irfs.len() {
            return Err(Error::config(format!(
                "{} item ids for {} response functions",
                ids.len(),
                irfs.len()
            )));
        }
        if ids.is_empty() {
            return Err(Error::config("the bank has no items"));
        }
        let mut index = HashMap::with_capacity(ids.len());
        for (j, id) in ids.iter().enumerate() {
            if index.insert(id.clone(), j).is_some() {
                return Err(
                    Error::new(ErrorKind::Item, "item id appears more than once")
                        .for_item(id.as_str()),
                );
            }
        }
        let n = ids.len();
        Ok(CatBank {
            info: InfoIndex::new(&irfs),
            location: LocationIndex::new(&irfs),
            twins: Twins::new(&irfs),
            ids,
            index,
            irfs,
            tags: vec![Tags::default(); n],
            excluded: vec![false; n],
            exposure: None,
            curve: OnceLock::new(),
            tag_curves: Mutex::new(HashMap::new()),
        })
    }

    /// This bank with the tags of the items named in `tags` (others keep
    /// theirs).
    ///
    /// # Errors
    /// A tagged id that is not in the bank ([`ErrorKind::Item`]).
    pub fn with_tags(mut self, tags: &HashMap<ItemId, Tags>) -> Result<Self> {
        for (id, t) in tags {
            let j = self
                .index_of(id.as_str())
                .ok_or_else(|| unknown_item(id.as_str()))?;
            self.tags[j] = t.clone();
        }
        self.tag_curves = Mutex::new(HashMap::new());
        Ok(self)
    }

    /// This bank with the items `ids` excluded from every exam.
    ///
    /// # Errors
    /// An id that is not in the bank ([`ErrorKind::Item`]).
    pub fn exclude<S: AsRef<str>>(mut self, ids: &[S]) -> Result<Self> {
        for id in ids {
            let j = self
                .index_of(id.as_ref())
                .ok_or_else(|| unknown_item(id.as_ref()))?;
            self.excluded[j] = true;
        }
        Ok(self)
    }

    /// This bank with per-item exposure parameters (items not named get 1).
    ///
    /// # Errors
    /// An id that is not in the bank ([`ErrorKind::Item`]).
    pub fn with_exposure_params(mut self, params: &ExposureParams) -> Result<Self> {
        let mut values = vec![1.0; self.len()];
        for (id, &v) in params.values() {
            let j = self
                .index_of(id.as_str())
                .ok_or_else(|| unknown_item(id.as_str()))?;
            values[j] = v;
        }
        self.exposure = Some(values);
        Ok(self)
    }

    pub(crate) fn set_exposure(&mut self, values: Vec<f64>) {
        self.exposure = Some(values);
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always false: a bank has at least one item.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Item ids, in bank order.
    pub fn ids(&self) -> &[ItemId] {
        &self.ids
    }

    /// Items with identical response functions (see [`Ties`](super::Ties)).
    pub(crate) fn twins(&self) -> &Twins {
        &self.twins
    }

    /// Whether some items have identical parameters (twins, between which
    /// [`Ties`](super::Ties) decides).
    pub fn has_twins(&self) -> bool {
        self.twins.any()
    }

    /// Response functions, in bank order.
    pub fn irfs(&self) -> &[Irf] {
        &self.irfs
    }

    /// The position of item `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The tags of item `j`.
    pub fn tags(&self, j: usize) -> &Tags {
        &self.tags[j]
    }

    /// True when item `j` is excluded from every exam.
    pub fn is_excluded(&self, j: usize) -> bool {
        self.excluded[j]
    }

    /// Exposure parameter of item `j` (`None` when the bank has none).
    pub fn exposure_param(&self, j: usize) -> Option<f64> {
        self.exposure.as_ref().map(|v| v[j])
    }

    /// Per-item exposure parameters as a map (`None` when the bank has none).
    pub fn exposure_params(&self) -> Option<ExposureParams> {
        self.exposure
            .as_ref()
            .map(|v| ExposureParams::new(self.ids.iter().cloned().zip(v.iter().copied()).collect()))
    }

    /// True when some item has tag `name`.
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags.iter().any(|t| t.get(name).is_some())
    }

    pub(crate) fn info_index(&self) -> &InfoIndex {
        &self.info
    }

    pub(crate) fn location_index(&self) -> &LocationIndex {
        &self.location
    }

    /// The expected-proportion curve of the whole bank.
    pub(crate) fn curve(&self) -> &Curve {
        self.curve
            .get_or_init(|| Curve::new(&self.irfs, (0..self.len() as u32).collect()))
    }

    /// One curve per value of tag `name`, values in sorted order; `None`
    /// when no item has the tag.
    pub(crate) fn tag_groups(&self, name: &str) -> Option<Arc<Vec<Group>>> {
        let mut cache = self.tag_curves.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = cache.get(name) {
            return Some(Arc::clone(g));
        }
        let mut members: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (j, t) in self.tags.iter().enumerate() {
            if let Some(v) = t.get(name) {
                members.entry(v).or_default().push(j as u32);
            }
        }
        if members.is_empty() {
            return None;
        }
        let groups: Vec<Group> = members
            .into_iter()
            .map(|(value, items)| Group {
                value: value.to_owned(),
                curve: Curve::new(&self.irfs, items),
            })
            .collect();
        let groups = Arc::new(groups);
        cache.insert(name.to_owned(), Arc::clone(&groups));
        Some(groups)
    }
}
