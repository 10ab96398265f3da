//! Differential item functioning against a cohort: is an item easier for
//! the focal models than their ability explains?
//!
//! Two one-sided tests, each per item, given ability estimates of every
//! examinee (the matching variable) and the bank's item parameters:
//!
//! * **Likelihood ratio of a cohort-specific difficulty shift**
//!   ([`shift_test`], the default). With abilities held at their estimates
//!   and the item's slope (and asymptotes) at the bank's values, the item's
//!   difficulty is re-estimated as a shift `b -> b - beta`: since a logistic
//!   function depends on `theta - b` only, `ln L_G(beta) = sum_{i in G}
//!   ln P_j(x_ij | theta_i + beta)` for a group `G` (graded items: every
//!   threshold moves). Under no DIF both groups share one shift; under DIF
//!   each has its own, so the alternative separates into two one-parameter
//!   fits: `LR = 2 [max ln L_R + max ln L_F - max (ln L_R + ln L_F)]`,
//!   chi-square(1) under no DIF. The effect is `delta^ = beta^_F - beta^_R`
//!   (positive: easier for the cohort), and the signed root
//!   `z = sign(delta^) sqrt(LR)` gives the one-sided p-value `1 - Phi(z)`.
//!   Re-estimating the reference difficulty matters: a bank calibrated on
//!   responses that include the leak has the leak partly absorbed into `b`,
//!   which a test against the calibrated `b` would miss. Each shift is
//!   maximised on `[-6, 6]` by safeguarded Newton. Continuous abilities need
//!   no stratification, which matters for LLM cohorts of a few tens.
//! * **Mantel-Haenszel** ([`mantel_haenszel`]) with ability strata: the
//!   examinees are cut into `K` strata at the quantiles of their estimated
//!   `theta`, and per stratum the 2 x 2 table focal/reference x right/wrong
//!   (graded items: top category or not) enters the MH statistic
//!   `z = (sum A_k - sum E[A_k] - 1/2) / sqrt(sum Var[A_k])`, `A_k` the
//!   focal examinees right in stratum `k`, `E[A_k] = n_Fk m_1k / N_k`,
//!   `Var[A_k] = n_Fk n_Rk m_1k m_0k / (N_k^2 (N_k - 1))` (Holland & Thayer,
//!   1988), one-sided `p = 1 - Phi(z)`. The effect is the log of the common
//!   odds ratio `alpha_MH = sum (A_k D_k / N_k) / sum (B_k C_k / N_k)` of the
//!   focal group's odds over the reference group's. Strata are few because
//!   cohorts are small: a stratum with only focal or only reference models
//!   carries no information, so the default is `K = clamp(min(n_F, n_R) / 5,
//!   2, 5)` (about five models of the smaller group per stratum).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::model::{Irf, ResponseModel};

/// Which DIF test to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifMethod {
    /// Likelihood ratio of a cohort-specific difficulty shift.
    LikelihoodRatio,
    /// Mantel-Haenszel with ability strata.
    MantelHaenszel,
}

impl std::str::FromStr for DifMethod {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lr" | "likelihood-ratio" | "likelihood_ratio" => Ok(DifMethod::LikelihoodRatio),
            "mh" | "mantel-haenszel" | "mantel_haenszel" => Ok(DifMethod::MantelHaenszel),
            other => Err(crate::Error::config(format!(
                "unknown DIF method '{other}' (expected lr or mh)"
            ))),
        }
    }
}

impl std::fmt::Display for DifMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DifMethod::LikelihoodRatio => "likelihood ratio (b shift)",
            DifMethod::MantelHaenszel => "Mantel-Haenszel",
        })
    }
}

/// The outcome of one item's test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DifTest {
    /// Effect in favour of the focal group: `delta^` (logits of ability)
    /// for the likelihood ratio, `ln alpha_MH` for Mantel-Haenszel.
    pub effect: f64,
    /// Signed test statistic (standard normal under no DIF).
    pub z: f64,
    /// One-sided p-value `1 - Phi(z)`.
    pub p_value: f64,
}

impl DifTest {
    /// No test possible (no focal responses, or no variation).
    pub const NONE: DifTest = DifTest {
        effect: f64::NAN,
        z: f64::NAN,
        p_value: f64::NAN,
    };
}

/// `1 - Phi(z)`.
pub(crate) fn upper_tail(z: f64) -> f64 {
    let n = Normal::standard();
    n.sf(z)
}

/// Search range of the difficulty shift.
const SHIFT_BOUND: f64 = 6.0;

/// The difficulty shift `beta^` maximising `sum ln P(x_i | theta_i + beta)`
/// over `[-6, 6]`, and the maximum.
fn best_shift(irf: &Irf, pattern: &[(f64, usize)]) -> (f64, f64) {
    let derivs = |delta: f64| {
        pattern
            .iter()
            .fold((0.0, 0.0, 0.0), |(l, g, h), &(theta, x)| {
                let d = irf.theta_derivs(theta + delta, x);
                (l + d.log_prob, g + d.d1, h + d.d2)
            })
    };
    let (mut lo, mut hi) = (-SHIFT_BOUND, SHIFT_BOUND);
    let delta = if derivs(hi).1 >= 0.0 {
        hi
    } else if derivs(lo).1 <= 0.0 {
        lo
    } else {
        // Bracket of a maximum: gradient positive at lo, negative at hi.
        let mut x = 0.0;
        let mut g = derivs(x).1;
        for _ in 0..100 {
            if g > 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let h = derivs(x).2;
            let newton = x - g / h;
            x = if h < 0.0 && newton > lo && newton < hi {
                newton
            } else {
                (lo + hi) / 2.0
            };
            g = derivs(x).1;
            if g.abs() < 1e-10 || hi - lo < 1e-10 {
                break;
            }
        }
        x
    };
    (delta, derivs(delta).0)
}

/// Likelihood-ratio test that `irf` is easier for the `focal` examinees
/// `(theta_i, score_i)` than for the `reference` ones; see the
/// [module documentation](self).
pub fn shift_test(irf: &Irf, focal: &[(f64, usize)], reference: &[(f64, usize)]) -> DifTest {
    if focal.is_empty() || reference.is_empty() {
        return DifTest::NONE;
    }
    let (beta_f, l_f) = best_shift(irf, focal);
    let (beta_r, l_r) = best_shift(irf, reference);
    let both: Vec<(f64, usize)> = focal.iter().chain(reference).copied().collect();
    let (_, l_0) = best_shift(irf, &both);
    let lr = (2.0 * (l_f + l_r - l_0)).max(0.0);
    let effect = beta_f - beta_r;
    let z = effect.signum() * lr.sqrt();
    DifTest {
        effect,
        z,
        p_value: upper_tail(z),
    }
}

/// One response for Mantel-Haenszel: the examinee's stratum, whether it is
/// in the focal group, and whether the answer was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MhResponse {
    /// Ability stratum, `0..n_strata`.
    pub stratum: usize,
    /// Focal (cohort) examinee.
    pub focal: bool,
    /// Right answer.
    pub right: bool,
}

/// Mantel-Haenszel test that the item is easier for the focal group; see the
/// [module documentation](self).
pub fn mantel_haenszel(responses: &[MhResponse], n_strata: usize) -> DifTest {
    // Per stratum: focal right, focal wrong, reference right, reference wrong.
    let mut t = vec![[0.0f64; 4]; n_strata];
    for r in responses {
        if let Some(cell) = t.get_mut(r.stratum) {
            let k = match (r.focal, r.right) {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (false, false) => 3,
            };
            cell[k] += 1.0;
        }
    }
    let (mut a, mut e, mut v, mut num, mut den) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &[fa, fb, rc, rd] in &t {
        let n = fa + fb + rc + rd;
        let (nf, nr, m1, m0) = (fa + fb, rc + rd, fa + rc, fb + rd);
        if nf == 0.0 || nr == 0.0 || n < 2.0 {
            continue;
        }
        a += fa;
        e += nf * m1 / n;
        v += nf * nr * m1 * m0 / (n * n * (n - 1.0));
        num += fa * rd / n;
        den += fb * rc / n;
    }
    if v <= 0.0 {
        return DifTest::NONE;
    }
    let z = (a - e - 0.5) / v.sqrt();
    DifTest {
        effect: (num / den).ln(),
        z,
        p_value: upper_tail(z),
    }
}

/// The default number of Mantel-Haenszel strata for groups of `n_focal` and
/// `n_reference` examinees: `clamp(min / 5, 2, 5)`.
pub fn default_strata(n_focal: usize, n_reference: usize) -> usize {
    (n_focal.min(n_reference) / 5).clamp(2, 5)
}

/// Stratum of each `theta`: `k` such that `theta` lies between the
/// `k / n` and `(k + 1) / n` quantiles of `thetas` (ties go together).
pub fn strata(thetas: &[f64], n: usize) -> Vec<usize> {
    let mut sorted: Vec<f64> = thetas.iter().copied().filter(|t| t.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let cuts: Vec<f64> = (1..n)
        .map(|k| {
            sorted
                .get(k * sorted.len() / n)
                .copied()
                .unwrap_or(f64::INFINITY)
        })
        .collect();
    thetas
        .iter()
        .map(|t| cuts.iter().filter(|&&c| *t >= c).count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Logistic;
    use crate::simulate::draw_score;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn shift_test_finds_a_planted_shift_and_not_a_null_one() {
        let irf: Irf = Logistic::two_pl(1.3, 0.2).unwrap().into();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let thetas = crate::simulate::standard_normals(400, &mut rng);
        let shifted: Irf = Logistic::two_pl(1.3, 0.2 - 1.0).unwrap().into();
        let leaked: Vec<(f64, usize)> = thetas
            .iter()
            .map(|&t| (t, draw_score(&shifted, t, &mut rng) as usize))
            .collect();
        let reference: Vec<(f64, usize)> = thetas
            .iter()
            .map(|&t| (t, draw_score(&irf, t, &mut rng) as usize))
            .collect();
        let r = shift_test(&irf, &leaked, &reference);
        // 400 responses a group: the SE of delta^ is about 0.18.
        assert!((r.effect - 1.0).abs() < 0.5, "{r:?}");
        assert!(r.p_value < 1e-6);
        let null: Vec<(f64, usize)> = thetas
            .iter()
            .map(|&t| (t, draw_score(&irf, t, &mut rng) as usize))
            .collect();
        let r = shift_test(&irf, &null, &reference);
        assert!(r.effect.abs() < 0.6 && r.p_value > 1e-3, "{r:?}");
    }

    #[test]
    fn all_correct_focal_answers_give_a_large_shift_and_a_small_p() {
        let irf: Irf = Logistic::two_pl(1.0, 0.0).unwrap().into();
        let focal: Vec<(f64, usize)> = (0..20).map(|i| (-1.0 + 0.1 * i as f64, 1)).collect();
        // The reference group answers as the model says: right above b = 0.
        let reference: Vec<(f64, usize)> = (0..40)
            .map(|i| (-2.0 + 0.1 * i as f64, usize::from(i % 2 == 0)))
            .collect();
        let r = shift_test(&irf, &focal, &reference);
        assert!(r.effect > 4.0, "{r:?}");
        assert!(r.p_value < 1e-4, "{r:?}");
        assert!(shift_test(&irf, &[], &reference).p_value.is_nan());
    }

    #[test]
    fn mantel_haenszel_matches_a_hand_computation() {
        // One stratum: focal 8 right 2 wrong, reference 5 right 5 wrong.
        // E[A] = 10 * 13 / 20 = 6.5; Var = 10 * 10 * 13 * 7 / (400 * 19)
        // = 1.19737; z = (8 - 6.5 - 0.5) / sqrt(1.19737) = 0.91387;
        // alpha = (8 * 5 / 20) / (2 * 5 / 20) = 4.
        let mut rs = Vec::new();
        for (focal, right, n) in [
            (true, true, 8),
            (true, false, 2),
            (false, true, 5),
            (false, false, 5),
        ] {
            rs.extend((0..n).map(|_| MhResponse {
                stratum: 0,
                focal,
                right,
            }));
        }
        let r = mantel_haenszel(&rs, 1);
        assert!((r.z - 0.913_870).abs() < 1e-5, "{r:?}");
        assert!((r.effect - 4f64.ln()).abs() < 1e-12);
        assert!((r.p_value - 0.180_40).abs() < 1e-4);
    }

    #[test]
    fn strata_cut_at_quantiles() {
        let t = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(strata(&t, 3), vec![0, 0, 1, 1, 2, 2]);
        assert_eq!(default_strata(20, 40), 4);
        assert_eq!(default_strata(3, 19), 2);
        assert_eq!(
            "mh".parse::<DifMethod>().unwrap(),
            DifMethod::MantelHaenszel
        );
        assert!("x".parse::<DifMethod>().is_err());
    }
}
