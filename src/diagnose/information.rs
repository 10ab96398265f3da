//! Test information over ability: how precisely a set of items can measure
//! an examinee at each `theta`.

use serde::Serialize;

use crate::model::{Irf, ResponseModel};

/// Test information and the standard error it allows at one ability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InfoPoint {
    /// Ability.
    pub theta: f64,
    /// Test information `I(theta) = sum_j I_j(theta)`.
    pub information: f64,
    /// `1 / sqrt(I(theta))`, the smallest standard error of a maximum
    /// likelihood estimate from these items (`+inf` without information).
    pub se: f64,
}

/// `1 / sqrt(info)`, `+inf` when there is no information.
pub fn se_from_information(info: f64) -> f64 {
    if info > 0.0 {
        1.0 / info.sqrt()
    } else {
        f64::INFINITY
    }
}

/// Test information `I(theta) = sum_j I_j(theta)` of `irfs`.
pub fn test_information(irfs: &[&Irf], theta: f64) -> f64 {
    irfs.iter().map(|irf| irf.information(theta)).sum()
}

/// Test information at each ability of `grid`.
pub fn information_curve(irfs: &[&Irf], grid: &[f64]) -> Vec<InfoPoint> {
    grid.iter()
        .map(|&theta| {
            let information = test_information(irfs, theta);
            InfoPoint {
                theta,
                information,
                se: se_from_information(information),
            }
        })
        .collect()
}

/// Item informations at `theta`, largest first: what an adaptive exam that
/// always picks the most informative item can collect at that ability.
pub fn ranked_information(irfs: &[&Irf], theta: f64) -> Vec<f64> {
    let mut info: Vec<f64> = irfs.iter().map(|irf| irf.information(theta)).collect();
    info.sort_by(|x, y| y.total_cmp(x));
    info
}

/// The equally spaced grid `lo, lo + step, ...` up to `hi` (inclusive,
/// within rounding).
pub fn grid(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if !(step > 0.0 && hi >= lo) {
        return vec![lo];
    }
    let n = ((hi - lo) / step + 1e-9).floor() as usize;
    (0..=n).map(|i| lo + step * i as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;

    #[test]
    fn two_pl_information_peaks_at_b_with_a_squared_over_four() {
        let item: Irf = Logistic::two_pl(1.6, 0.5).unwrap().into();
        let curve = information_curve(&[&item], &grid(-1.5, 2.5, 0.5));
        let peak = curve
            .iter()
            .max_by(|x, y| x.information.total_cmp(&y.information))
            .unwrap();
        assert_eq!(peak.theta, 0.5);
        assert!((peak.information - 1.6 * 1.6 / 4.0).abs() < 1e-12);
        assert!((peak.se - 1.0 / (0.64f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn ranking_is_descending_and_grid_is_inclusive() {
        let items: Vec<Irf> = [-2.0, 0.0, 3.0]
            .iter()
            .map(|&b| Logistic::two_pl(1.0, b).unwrap().into())
            .collect();
        let refs: Vec<&Irf> = items.iter().collect();
        let r = ranked_information(&refs, 0.0);
        assert!((r[0] - 0.25).abs() < 1e-12 && r[1] > r[2]);
        assert_eq!(grid(-1.0, 1.0, 0.5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(se_from_information(0.0), f64::INFINITY);
    }
}
