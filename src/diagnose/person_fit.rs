//! Person fit: does a model's response pattern look like the IRT model's,
//! or does it do well on hard items and poorly on easy ones?
//!
//! The statistic is Snijders' (2001) `l_z*`, the standardised log-likelihood
//! `l_z` corrected for `theta` being estimated from the same responses.
//! For dichotomous items at the estimate `theta^`, with `p_j = P_j(theta^)`,
//! `q_j = 1 - p_j`, `p'_j = dP_j / d theta`:
//!
//! * `w_j = ln(p_j / q_j)`, so that `l_0 - E[l_0] = W = sum_j (x_j - p_j) w_j`;
//! * the estimator solves `sum_j (x_j - p_j) r_j + r_0 = 0` with
//!   `r_j = p'_j / (p_j q_j)`; for Warm's WLE (used here, since it stays
//!   finite and unbiased for long patterns) `r_0 = J / (2 I)`;
//! * `c = sum_j p'_j w_j / sum_j p'_j r_j`, `w~_j = w_j - c r_j`;
//! * `l_z* = (W + c r_0) / sqrt(sum_j w~_j^2 p_j q_j)`.
//!
//! `l_z*` is asymptotically standard normal for a fitting pattern (the
//! uncorrected `l_z` has a variance below 1, hence too few flags). Large
//! negative values mean misfit; a pattern is flagged when `l_z*` is below a
//! one-sided threshold (default `-2.326`, i.e. `alpha = 0.01`). Graded items
//! are left out of the statistic. The most surprising responses of a pattern
//! are those with the smallest `P(x_j | theta^)`: right answers to hard
//! items, wrong answers to easy ones.

use serde::Serialize;

use crate::model::{Irf, ResponseModel};

/// `l_z*` of a dichotomous pattern at a WLE `theta`; `None` when fewer than
/// two dichotomous items, or no variance (every `p_j` at 0 or 1).
pub fn lz_star(pattern: &[(&Irf, usize)], theta: f64) -> Option<f64> {
    let mut terms = Vec::with_capacity(pattern.len());
    let (mut info, mut j_sum) = (0.0, 0.0);
    for &(irf, x) in pattern {
        if irf.n_categories() != 2 {
            continue;
        }
        let d = irf.theta_derivs(theta, 1);
        let p = d.log_prob.exp();
        let q = 1.0 - p;
        if !(p > 0.0 && q > 0.0) {
            continue;
        }
        let dp = p * d.d1;
        let w = d.log_prob - irf.log_prob(theta, 0);
        let r = dp / (p * q);
        terms.push((x as f64, p, q, dp, w, r));
        info += irf.information(theta);
        j_sum += irf.warm_j(theta);
    }
    if terms.len() < 2 || info <= 0.0 {
        return None;
    }
    let r0 = j_sum / (2.0 * info);
    let (num, den) = terms
        .iter()
        .fold((0.0, 0.0), |(n, d), &(_, _, _, dp, w, r)| {
            (n + dp * w, d + dp * r)
        });
    let c = num / den;
    let (mut w_sum, mut var) = (0.0, 0.0);
    for &(x, p, q, _, w, r) in &terms {
        let wt = w - c * r;
        w_sum += (x - p) * w;
        var += wt * wt * p * q;
    }
    (var > 0.0).then(|| (w_sum + c * r0) / var.sqrt())
}

/// The uncorrected `l_z = W / sqrt(sum_j p_j q_j w_j^2)` (Drasgow, Levine &
/// Williams, 1985), for comparison.
pub fn lz(pattern: &[(&Irf, usize)], theta: f64) -> Option<f64> {
    let (mut w_sum, mut var) = (0.0, 0.0);
    for &(irf, x) in pattern.iter().filter(|(irf, _)| irf.n_categories() == 2) {
        let p = irf.prob(theta, 1);
        let w = irf.log_prob(theta, 1) - irf.log_prob(theta, 0);
        w_sum += (x as f64 - p) * w;
        var += p * (1.0 - p) * w * w;
    }
    (var > 0.0).then(|| w_sum / var.sqrt())
}

/// One unexpected response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Surprise {
    /// The item.
    pub item: String,
    /// The score given.
    pub score: usize,
    /// Probability of a right answer (the top category) at `theta^`.
    pub p_correct: f64,
    /// The item's difficulty `b` (graded items: their middle threshold).
    pub b: f64,
}

/// The `n` responses of `pattern` with the smallest `P(x_j | theta)`,
/// least likely first. `ids[k]` names `pattern[k]`'s item.
pub fn most_surprising(
    pattern: &[(&Irf, usize)],
    ids: &[&str],
    theta: f64,
    n: usize,
) -> Vec<Surprise> {
    let mut scored: Vec<(f64, usize)> = pattern
        .iter()
        .enumerate()
        .map(|(k, &(irf, x))| (irf.log_prob(theta, x), k))
        .collect();
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    scored
        .into_iter()
        .take(n)
        .map(|(_, k)| {
            let (irf, x) = pattern[k];
            let top = irf.n_categories() - 1;
            let b = match irf {
                Irf::Logistic(m) => m.b(),
                Irf::Graded(g) => g.thresholds()[g.thresholds().len() / 2],
            };
            Surprise {
                item: ids[k].to_owned(),
                score: x,
                p_correct: irf.prob(theta, top),
                b,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::{Estimator, Method};
    use crate::model::Logistic;
    use crate::simulate::draw_score;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Under the model, l_z* with a WLE theta is close to N(0, 1) while the
    /// uncorrected l_z has a variance below 1 (Snijders, 2001, Table 1
    /// reports variances of l_z of about 0.7-0.8 at 40-80 items).
    #[test]
    fn corrected_statistic_is_standard_normal_under_the_model() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let items: Vec<Irf> = (0..60)
            .map(|_| {
                let a = rng.random_range(0.8..2.0);
                let b = rng.random_range(-2.0..2.0);
                Logistic::two_pl(a, b).unwrap().into()
            })
            .collect();
        let est = Estimator::new(Method::Wle);
        let (mut star, mut plain) = (Vec::new(), Vec::new());
        for t in crate::simulate::standard_normals(1500, &mut rng) {
            let pattern: Vec<(&Irf, usize)> = items
                .iter()
                .map(|irf| (irf, draw_score(irf, t, &mut rng) as usize))
                .collect();
            let a = est.estimate(&pattern);
            if a.status != crate::estimate::Status::Converged {
                continue;
            }
            star.push(lz_star(&pattern, a.theta).unwrap());
            plain.push(lz(&pattern, a.theta).unwrap());
        }
        let moments = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64,
            )
        };
        let (m_star, v_star) = moments(&star);
        let (_, v_plain) = moments(&plain);
        // 1,500 patterns: SE of the mean 0.026, of the variance about 0.04;
        // the approximation itself is asymptotic, hence the wider band.
        assert!(
            m_star.abs() < 0.15 && (v_star - 1.0).abs() < 0.15,
            "{m_star} {v_star}"
        );
        assert!(v_plain < v_star, "{v_plain} {v_star}");
    }

    #[test]
    fn a_pattern_right_on_hard_items_and_wrong_on_easy_ones_misfits() {
        let items: Vec<Irf> = (0..40)
            .map(|j| Logistic::two_pl(1.5, -2.0 + 0.1 * j as f64).unwrap().into())
            .collect();
        // Reversed Guttman pattern: wrong on the 20 easiest, right on the 20 hardest.
        let pattern: Vec<(&Irf, usize)> = items
            .iter()
            .enumerate()
            .map(|(j, irf)| (irf, usize::from(j >= 20)))
            .collect();
        let theta = Estimator::new(Method::Wle).estimate(&pattern).theta;
        let z = lz_star(&pattern, theta).unwrap();
        assert!(z < -5.0, "{z}");
        let ids: Vec<String> = (0..40).map(|j| format!("q{j}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let s = most_surprising(&pattern, &id_refs, theta, 2);
        // The hardest item answered right and the easiest answered wrong are the least likely.
        let named: Vec<&str> = s.iter().map(|x| x.item.as_str()).collect();
        assert!(named.contains(&"q39") || named.contains(&"q0"), "{named:?}");
    }
}
