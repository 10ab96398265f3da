//! Calibrated item parameters in memory.

use std::collections::HashMap;
use std::path::Path;

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

/// Helpers for the provenance every written version carries.
impl Metadata {
    /// The prompt format the calibration runs were answered under
    /// (`provenance.prompt_format`, written by `fangsheng calibrate
    /// --prompt-format`), when recorded.
    pub fn prompt_format(&self) -> Option<&str> {
        self.provenance
            .get(PROMPT_FORMAT_KEY)
            .and_then(serde_json::Value::as_str)
    }

    /// Whether the calibration was fitted on an examinee named `name`:
    /// `None` when the provenance names no examinees.
    pub fn fitted_on(&self, name: &str) -> Option<bool> {
        let names = self
            .provenance
            .get("data")?
            .get(EXAMINEE_NAMES_KEY)?
            .as_array()?;
        Some(names.iter().any(|n| n.as_str() == Some(name)))
    }

    /// Whether the provenance records `path` (by digest) among its
    /// `sources`: a calibration fitted on that file.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when `path` cannot be read.
    pub fn records_source(&self, path: &Path) -> Result<bool> {
        let digest = Self::file_record(path)?.get("sha256").cloned();
        Ok(self
            .provenance
            .get("sources")
            .and_then(|s| s.as_array())
            .is_some_and(|sources| {
                sources
                    .iter()
                    .any(|s| s.get("sha256").is_some() && s.get("sha256") == digest.as_ref())
            }))
    }

    /// `{"path": .., "sha256": ..}` for a source or parent file: the
    /// lower-case hex SHA-256 of its bytes as stored (a gzipped file is
    /// hashed compressed), so a later reader can check it has the same file.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read.
    pub fn file_record(path: &Path) -> Result<serde_json::Value> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(serde_json::json!({
            "path": path.display().to_string(),
            "sha256": hex,
        }))
    }

    /// The record of a parent version: [`Metadata::file_record`] of its file
    /// plus its bank and version labels (when it has them).
    ///
    /// # Errors
    /// As [`Metadata::file_record`].
    pub fn parent_record(path: &Path, parent: &Metadata) -> Result<serde_json::Value> {
        let mut record = Self::file_record(path)?;
        if let Some(obj) = record.as_object_mut() {
            if let Some(bank) = &parent.bank {
                obj.insert("bank".into(), serde_json::json!(bank));
            }
            if let Some(version) = &parent.version {
                obj.insert("version".into(), serde_json::json!(version));
            }
        }
        Ok(record)
    }

    /// The UTC calendar date `YYYY-MM-DD` of a Unix time in seconds
    /// (proleptic Gregorian; days from the epoch converted with Hinnant's
    /// civil-from-days algorithm).
    ///
    /// ```
    /// use fangsheng::bank::Metadata;
    /// assert_eq!(Metadata::utc_date(0), "1970-01-01");
    /// assert_eq!(Metadata::utc_date(951_782_400), "2000-02-29");
    /// assert_eq!(Metadata::utc_date(-1), "1969-12-31");
    /// ```
    pub fn utc_date(unix_seconds: i64) -> String {
        let days = unix_seconds.div_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02}")
    }
}

impl Default for Scale {
    fn default() -> Self {
        Scale { mean: 0.0, sd: 1.0 }
    }
}

/// The provenance key of the prompt format a calibration's runs were
/// answered under.
pub const PROMPT_FORMAT_KEY: &str = "prompt_format";

/// The key, in the provenance's `data`, of the names of the examinees a
/// calibration was fitted on (written when they are few, as LLM runs are).
pub const EXAMINEE_NAMES_KEY: &str = "examinee_names";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_on_reads_the_examinee_names_when_recorded() {
        let mut m = Metadata::default();
        assert_eq!(m.fitted_on("a"), None);
        m.provenance.insert(
            "data".into(),
            serde_json::json!({"examinees": 2, EXAMINEE_NAMES_KEY: ["a", "b"]}),
        );
        assert_eq!(m.fitted_on("a"), Some(true));
        assert_eq!(m.fitted_on("c"), Some(false));
        assert_eq!(m.prompt_format(), None);
        m.provenance
            .insert(PROMPT_FORMAT_KEY.into(), serde_json::json!("f-1"));
        assert_eq!(m.prompt_format(), Some("f-1"));
    }
}
