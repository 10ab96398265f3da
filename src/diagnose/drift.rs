//! Parameter drift between two calibrations of a bank: which items moved by
//! more than their standard errors allow, and which were added or removed.
//!
//! For a parameter estimated as `p1 (SE s1)` in one version and `p2 (SE s2)`
//! in the other, `z = (p2 - p1) / sqrt(s1^2 + s2^2)`; the item has drifted
//! when `|z| > k` for any of its parameters (default `k = 2`). The two
//! calibrations are treated as independent, which makes the test
//! conservative when they share responses (the shared part moves together).
//! Both versions must be on one scale (fixed-anchor recalibration or
//! linking): a scale shift moves every item and is not drift of any.

use std::fmt;

use serde::Serialize;

use crate::bank::{ItemParams, ParamSet};
use crate::error::{Error, Result};
use crate::model::{Irf, ResponseModel};

/// One parameter's change between versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamShift {
    /// Parameter name: `a`, `b`, `g`, `u`, or `b1`, `b2`, ... for graded thresholds.
    pub param: String,
    /// Value in the old version.
    pub old: f64,
    /// Value in the new version.
    pub new: f64,
    /// `sqrt(se_old^2 + se_new^2)`.
    pub se: f64,
    /// `(new - old) / se`.
    pub z: f64,
}

/// How one item present in both versions changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemDrift {
    /// The item.
    pub id: String,
    /// Parameters with a standard error in both versions.
    pub shifts: Vec<ParamShift>,
    /// Largest `|z|` over `shifts` (NaN when none could be tested).
    pub max_abs_z: f64,
    /// `max_abs_z > k`.
    pub drifted: bool,
    /// Why the item could not be tested, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The comparison of two parameter sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// Threshold in combined standard errors.
    pub k: f64,
    /// Items in both versions, in the new version's order.
    pub items: Vec<ItemDrift>,
    /// Ids only in the new version.
    pub added: Vec<String>,
    /// Ids only in the old version.
    pub removed: Vec<String>,
    /// A warning when the versions' recorded latent scales differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_warning: Option<String>,
}

impl DriftReport {
    /// The items that drifted, largest `|z|` first.
    pub fn drifted(&self) -> Vec<&ItemDrift> {
        let mut d: Vec<&ItemDrift> = self.items.iter().filter(|i| i.drifted).collect();
        d.sort_by(|x, y| y.max_abs_z.total_cmp(&x.max_abs_z));
        d
    }

    /// Number of common items that could not be tested (no standard errors,
    /// or a different model in the two versions).
    pub fn n_untested(&self) -> usize {
        self.items.iter().filter(|i| i.shifts.is_empty()).count()
    }
}

/// Compares `old` with `new`, flagging parameters that moved by more than
/// `k` combined standard errors.
///
/// # Errors
/// A `k` that is not a positive finite number ([`ErrorKind::Config`](crate::ErrorKind::Config)).
pub fn compare(old: &ParamSet, new: &ParamSet, k: f64) -> Result<DriftReport> {
    if !(k.is_finite() && k > 0.0) {
        return Err(Error::config(format!(
            "the drift threshold k must be a positive number, got {k}"
        )));
    }
    let mut items = Vec::new();
    let mut added = Vec::new();
    for item in new.items() {
        match old.get(item.id.as_str()) {
            Some(before) => items.push(item_drift(before, item, k)),
            None => added.push(item.id.to_string()),
        }
    }
    let removed = old
        .items()
        .iter()
        .filter(|i| new.get(i.id.as_str()).is_none())
        .map(|i| i.id.to_string())
        .collect();
    let (s1, s2) = (old.metadata().scale, new.metadata().scale);
    let scale_warning =
        ((s1.mean - s2.mean).abs() > 1e-9 || (s1.sd - s2.sd).abs() > 1e-9).then(|| {
            format!(
                "the versions record different latent scales (mean {}, sd {} vs mean {}, sd {}): \
                 link them before reading drift",
                s1.mean, s1.sd, s2.mean, s2.sd
            )
        });
    Ok(DriftReport {
        k,
        items,
        added,
        removed,
        scale_warning,
    })
}

fn param_names(irf: &Irf) -> Vec<String> {
    match irf {
        Irf::Logistic(_) => ["a", "b", "g", "u"].map(String::from).to_vec(),
        Irf::Graded(g) => std::iter::once("a".to_owned())
            .chain((1..=g.thresholds().len()).map(|k| format!("b{k}")))
            .collect(),
    }
}

fn item_drift(old: &ItemParams, new: &ItemParams, k: f64) -> ItemDrift {
    let id = new.id.to_string();
    let untested = |note: &str| ItemDrift {
        id: id.clone(),
        shifts: Vec::new(),
        max_abs_z: f64::NAN,
        drifted: false,
        note: Some(note.to_owned()),
    };
    let (p1, p2) = (old.irf.params(), new.irf.params());
    if old.kind != new.kind || p1.len() != p2.len() {
        return untested(&format!("model changed from {} to {}", old.kind, new.kind));
    }
    let (Some(se1), Some(se2)) = (&old.se, &new.se) else {
        return untested("no standard errors");
    };
    let shifts: Vec<ParamShift> = param_names(&new.irf)
        .into_iter()
        .enumerate()
        .filter_map(|(i, param)| {
            let se = (se1[i] * se1[i] + se2[i] * se2[i]).sqrt();
            (se.is_finite() && se > 0.0).then(|| ParamShift {
                param,
                old: p1[i],
                new: p2[i],
                se,
                z: (p2[i] - p1[i]) / se,
            })
        })
        .collect();
    if shifts.is_empty() {
        return untested("no standard errors");
    }
    let max_abs_z = shifts.iter().map(|s| s.z.abs()).fold(0.0, f64::max);
    ItemDrift {
        id,
        shifts,
        max_abs_z,
        drifted: max_abs_z > k,
        note: None,
    }
}

/// Lists at most `n` ids, then how many more there are.
pub(crate) fn list_ids(ids: &[String], n: usize) -> String {
    let mut text = ids.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > n {
        text += &format!(", ... and {} more", ids.len() - n);
    }
    text
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let drifted = self.drifted();
        writeln!(
            f,
            "{} items in both versions: {} drifted beyond {} combined SEs, {} untested; {} added, {} removed",
            self.items.len(),
            drifted.len(),
            self.k,
            self.n_untested(),
            self.added.len(),
            self.removed.len()
        )?;
        if let Some(w) = &self.scale_warning {
            writeln!(f, "warning: {w}")?;
        }
        if !drifted.is_empty() {
            writeln!(
                f,
                "{:<20} {:>5} {:>10} {:>10} {:>8} {:>7}",
                "item", "param", "old", "new", "se", "z"
            )?;
            for item in drifted {
                for s in item.shifts.iter().filter(|s| s.z.abs() > self.k) {
                    writeln!(
                        f,
                        "{:<20} {:>5} {:>10.4} {:>10.4} {:>8.4} {:>7.2}",
                        item.id, s.param, s.old, s.new, s.se, s.z
                    )?;
                }
            }
        }
        if !self.added.is_empty() {
            writeln!(f, "added: {}", list_ids(&self.added, 20))?;
        }
        if !self.removed.is_empty() {
            writeln!(f, "removed: {}", list_ids(&self.removed, 20))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Metadata;
    use crate::model::{Logistic, ModelKind};

    fn item(id: &str, a: f64, b: f64, se: Option<[f64; 2]>) -> ItemParams {
        ItemParams {
            id: id.into(),
            kind: ModelKind::TwoPl,
            irf: Logistic::two_pl(a, b).unwrap().into(),
            se: se.map(|[sa, sb]| vec![sa, sb, f64::NAN, f64::NAN]),
        }
    }

    fn set(items: Vec<ItemParams>) -> ParamSet {
        ParamSet::new(items, Metadata::default()).unwrap()
    }

    #[test]
    fn flags_shifts_beyond_k_combined_ses_and_lists_membership_changes() {
        let old = set(vec![
            item("q1", 1.0, 0.0, Some([0.1, 0.1])),
            item("q2", 1.0, 0.0, Some([0.1, 0.1])),
            item("gone", 1.0, 0.0, Some([0.1, 0.1])),
            item("q3", 1.0, 0.0, None),
        ]);
        let new = set(vec![
            // b moved by 0.3 against a combined SE of 0.1414: z = 2.12.
            item("q1", 1.0, 0.3, Some([0.1, 0.1])),
            // b moved by 0.25: z = 1.77, within 2 SEs.
            item("q2", 1.0, 0.25, Some([0.1, 0.1])),
            item("q3", 1.0, 2.0, Some([0.1, 0.1])),
            item("new", 1.0, 0.0, None),
        ]);
        let r = compare(&old, &new, 2.0).unwrap();
        let flagged: Vec<&str> = r.drifted().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(flagged, ["q1"]);
        let q1 = &r.items[0];
        assert!((q1.max_abs_z - 0.3 / 0.02f64.sqrt()).abs() < 1e-9);
        assert_eq!(r.added, ["new"]);
        assert_eq!(r.removed, ["gone"]);
        assert_eq!(r.n_untested(), 1);
        assert!(r.to_string().contains("1 drifted"));
        assert!(compare(&old, &new, 0.0).is_err());
    }
}
