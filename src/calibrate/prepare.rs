//! Checks the response matrix against the requested models and derives what
//! calibration needs per item: number of categories, counts, starting
//! values.
//!
//! Decisions on degenerate data (all documented in the module overview):
//! an empty matrix, an item nobody answered, a score a dichotomous model
//! cannot take, a graded item with an unobserved category below its highest
//! observed one, and a matrix in which no item varies are errors; an item
//! with no variance is kept, flagged and held finite by the priors.

use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::model::ModelKind;

use super::items::ItemState;

/// Per-item facts gathered before calibration.
#[derive(Debug, Clone)]
pub(crate) struct ItemData {
    pub n_cat: usize,
    /// Weighted count of each observed category.
    pub category_weight: Vec<f64>,
    pub n_responses: f64,
}

impl ItemData {
    /// True when responses (with positive weight) fall in two or more categories.
    pub fn has_variance(&self) -> bool {
        self.category_weight.iter().filter(|w| **w > 0.0).count() >= 2
    }
}

pub(crate) fn check(m: &ResponseMatrix, kinds: &[ModelKind]) -> Result<Vec<ItemData>> {
    if m.n_examinees() == 0 || m.n_items() == 0 || m.n_responses() == 0 {
        return Err(Error::value(format!(
            "nothing to calibrate: {} examinees, {} items, {} responses",
            m.n_examinees(),
            m.n_items(),
            m.n_responses()
        )));
    }
    let w = m.weights();
    let mut out = Vec::with_capacity(m.n_items());
    for (j, &kind) in kinds.iter().enumerate() {
        let id = m.items()[j].as_str();
        let (examinees, scores) = m.item_responses(j);
        let total: f64 = examinees.iter().map(|&i| w[i as usize]).sum();
        if examinees.is_empty() || total <= 0.0 {
            return Err(
                Error::value("nobody answered this item: drop it before calibrating").for_item(id),
            );
        }
        let max = m.max_score(j) as usize;
        if kind.is_dichotomous() && max > 1 {
            return Err(Error::value(format!(
                "score {max} on a dichotomous ({kind}) item: scores must be 0 or 1 (use grm for graded items)"
            ))
            .for_item(id));
        }
        let n_cat = (max + 1).max(2);
        let mut category_weight = vec![0.0; n_cat];
        for (&i, &s) in examinees.iter().zip(scores) {
            category_weight[s as usize] += w[i as usize];
        }
        if kind == ModelKind::Graded {
            if let Some(k) = (0..max).find(|&k| category_weight[k] == 0.0) {
                return Err(Error::value(format!(
                    "graded item has no response in category {k} but responses up to {max}: \
                     its thresholds are not identified; recode the scores to consecutive \
                     categories 0..K-1 (e.g. subtract 1 from 1-based scores)"
                ))
                .for_item(id));
            }
        }
        out.push(ItemData {
            n_cat,
            category_weight,
            n_responses: total,
        });
    }
    if !out.iter().any(ItemData::has_variance) {
        return Err(Error::value(
            "no item has variance (every item's responses are all in one category): \
             nothing to calibrate",
        ));
    }
    Ok(out)
}

/// `d = 1.18 logit(p)`: the intercept whose item, at slope 1 and over
/// N(0, 1) abilities, has about proportion `p` correct (logistic-normal
/// approximation `E[sigmoid(z + d)] ~ sigmoid(d / sqrt(1 + pi / 8))`).
fn start_intercept(p: f64) -> f64 {
    let p = p.clamp(0.01, 0.99);
    1.18 * (p / (1.0 - p)).ln()
}

/// Starting values: slope 1, intercepts from the observed proportions,
/// `g = 0.1`, `u = 0.95`.
pub(crate) fn start(kind: ModelKind, data: &ItemData) -> ItemState {
    let total = data.n_responses;
    let above = |k: usize| data.category_weight[k..].iter().sum::<f64>() / total;
    let p = match kind {
        ModelKind::Graded => {
            let mut d: Vec<f64> = (1..data.n_cat).map(|k| start_intercept(above(k))).collect();
            for k in 1..d.len() {
                if d[k] > d[k - 1] - 0.1 {
                    d[k] = d[k - 1] - 0.1;
                }
            }
            std::iter::once(1.0).chain(d).collect()
        }
        _ => {
            let g = if matches!(kind, ModelKind::ThreePl | ModelKind::FourPl) {
                0.1
            } else {
                0.0
            };
            let u = if kind == ModelKind::FourPl { 0.95 } else { 1.0 };
            vec![1.0, start_intercept(above(1)), g, u]
        }
    };
    ItemState { kind, p }
}
