//! Moment methods: mean-sigma and mean-mean.

use super::Transform;
use crate::error::{Error, Result};
use crate::model::{Irf, ResponseModel};

/// Slope and difficulties (all thresholds) of a response function.
fn a_and_bs(irf: &Irf) -> (f64, Vec<f64>) {
    match irf {
        Irf::Logistic(l) => (l.a(), vec![l.b()]),
        Irf::Graded(g) => (g.a(), g.thresholds().to_vec()),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt()
}

/// The common items' difficulties, OLD then NEW, threshold by threshold.
fn difficulties(pairs: &[(&Irf, &Irf)]) -> (Vec<f64>, Vec<f64>) {
    let mut old = Vec::new();
    let mut new = Vec::new();
    for (o, n) in pairs {
        debug_assert_eq!(o.n_categories(), n.n_categories());
        old.extend(a_and_bs(o).1);
        new.extend(a_and_bs(n).1);
    }
    (old, new)
}

fn with_slope(a: f64, old: &[f64], new: &[f64]) -> Result<Transform> {
    let t = Transform {
        a,
        b: mean(old) - a * mean(new),
    };
    if t.a.is_finite() && t.a > 0.0 && t.b.is_finite() {
        Ok(t)
    } else {
        Err(Error::value(format!(
            "the common items give no usable linking slope (A = {a})"
        )))
    }
}

/// `A = sd(b_old) / sd(b_new)`, `B = mean(b_old) - A mean(b_new)`; `A = 1`
/// when `unit_fixed`.
pub(super) fn mean_sigma(pairs: &[(&Irf, &Irf)], unit_fixed: bool) -> Result<Transform> {
    let (old, new) = difficulties(pairs);
    let a = if unit_fixed {
        1.0
    } else {
        let s = sd(&new);
        if s <= 0.0 {
            return Err(Error::value(
                "the common items all have the same difficulty in NEW: mean-sigma is undefined",
            ));
        }
        sd(&old) / s
    };
    with_slope(a, &old, &new)
}

/// `A = mean(a_new) / mean(a_old)`, `B = mean(b_old) - A mean(b_new)`;
/// `A = 1` when `unit_fixed`.
pub(super) fn mean_mean(pairs: &[(&Irf, &Irf)], unit_fixed: bool) -> Result<Transform> {
    let (old, new) = difficulties(pairs);
    let a = if unit_fixed {
        1.0
    } else {
        let a_old: Vec<f64> = pairs.iter().map(|(o, _)| a_and_bs(o).0).collect();
        let a_new: Vec<f64> = pairs.iter().map(|(_, n)| a_and_bs(n).0).collect();
        mean(&a_new) / mean(&a_old)
    };
    with_slope(a, &old, &new)
}
