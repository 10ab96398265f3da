//! EAP and MAP under a Student-t prior against brute force on a fine grid.

use super::*;
use crate::model::{Irf, Logistic, ResponseModel};

/// Brute-force posterior mean and SD: the t prior's whole support
/// (`location +- 12 scale`) on 400,001 equally spaced nodes, trapezoidal
/// rule, in log space. The spacing (6e-5 scales) is far below any
/// posterior SD below, so the rule is exact to well under 1e-9.
fn brute_eap(prior: AbilityPrior, pattern: &[(&Irf, usize)]) -> (f64, f64) {
    let (lo, hi) = prior.support();
    let n = 400_001;
    let h = (hi - lo) / (n - 1) as f64;
    let lp: Vec<f64> = (0..n)
        .map(|i| {
            let t = lo + i as f64 * h;
            let ll: f64 = pattern.iter().map(|(irf, k)| irf.log_prob(t, *k)).sum();
            let end = if i == 0 || i + 1 == n {
                0.5f64.ln()
            } else {
                0.0
            };
            end + prior.ln_kernel(t) + ll
        })
        .collect();
    let top = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for (i, &l) in lp.iter().enumerate() {
        let t = lo + i as f64 * h;
        let w = (l - top).exp();
        m0 += w;
        m1 += w * t;
        m2 += w * t * t;
    }
    let mean = m1 / m0;
    (mean, (m2 / m0 - mean * mean).sqrt())
}

/// Brute-force mode: the best of 240,001 nodes over the support (spacing
/// 1e-4 scales) and the log posterior there.
fn brute_map(prior: AbilityPrior, pattern: &[(&Irf, usize)]) -> (f64, f64) {
    let (lo, hi) = prior.support();
    let n = 240_001;
    let h = (hi - lo) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            let t = lo + i as f64 * h;
            let ll: f64 = pattern.iter().map(|(irf, k)| irf.log_prob(t, *k)).sum();
            (t, prior.ln_kernel(t) + ll)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

fn log_post(prior: AbilityPrior, pattern: &[(&Irf, usize)], t: f64) -> f64 {
    prior.ln_kernel(t)
        + pattern
            .iter()
            .map(|(irf, k)| irf.log_prob(t, *k))
            .sum::<f64>()
}

/// A few test patterns: a mixed 2PL one, an all-correct one on hard
/// items (the examinee far out, where the t prior is convex), a 3PL one,
/// and a single informative item far from a narrow prior (two modes under
/// a Cauchy prior).
fn patterns() -> Vec<(Vec<Irf>, Vec<usize>)> {
    let two_pl = |a: f64, b: f64| -> Irf { Logistic::two_pl(a, b).unwrap().into() };
    let mixed: Vec<Irf> = (0..12)
        .map(|j| two_pl(0.8 + 0.1 * (j % 5) as f64, -1.5 + 0.25 * j as f64))
        .collect();
    let hard: Vec<Irf> = (0..25).map(|j| two_pl(1.2, 0.5 + 0.1 * j as f64)).collect();
    let three: Vec<Irf> = (0..8)
        .map(|j| {
            Logistic::new(1.5, -1.0 + 0.4 * j as f64, 0.2, 1.0)
                .unwrap()
                .into()
        })
        .collect();
    let far: Vec<Irf> = (0..6).map(|_| two_pl(2.0, 4.0)).collect();
    vec![
        (mixed, (0..12).map(|j| usize::from(j % 3 != 2)).collect()),
        (hard, vec![1; 25]),
        (three, vec![1, 1, 0, 1, 1, 0, 1, 0]),
        (far, vec![1, 1, 1, 0, 0, 0]),
    ]
}

/// t priors from heavy (df 0.5) to moderate (df 4) tails, off-centre and
/// scaled.
fn t_priors() -> [AbilityPrior; 3] {
    [
        AbilityPrior::student_t(0.0, 1.0, 4.0).unwrap(),
        AbilityPrior::student_t(0.5, 0.5, 1.0).unwrap(),
        AbilityPrior::student_t(-0.2, 2.0, 0.5).unwrap(),
    ]
}

#[test]
fn eap_with_a_t_prior_matches_brute_force_integration() {
    for prior in t_priors() {
        for (irfs, scores) in patterns() {
            let pattern: Vec<(&Irf, usize)> = irfs.iter().zip(scores).collect();
            let (mean, sd) = brute_eap(prior, &pattern);
            let got = Estimator::new(Method::Eap).prior(prior).estimate(&pattern);
            // Tolerance 1e-6: the adaptive grid's own accuracy (module docs).
            assert!(
                (got.theta - mean).abs() < 1e-6,
                "{prior:?}: {} vs {mean}",
                got.theta
            );
            assert!((got.se - sd).abs() < 1e-6, "{prior:?}: {} vs {sd}", got.se);
        }
    }
}

#[test]
fn map_with_a_t_prior_finds_the_global_mode() {
    for prior in t_priors() {
        for (irfs, scores) in patterns() {
            let pattern: Vec<(&Irf, usize)> = irfs.iter().zip(scores).collect();
            let (t_best, v_best) = brute_map(prior, &pattern);
            let got = Estimator::new(Method::Map).prior(prior).estimate(&pattern);
            // The mode is within one brute-force spacing (1e-4 scales) and its
            // value at least the best node's (up to rounding).
            let v = log_post(prior, &pattern, got.theta);
            assert!(
                v >= v_best - 1e-9,
                "{prior:?}: {} ({v}) vs {t_best} ({v_best})",
                got.theta
            );
            assert!(
                (got.theta - t_best).abs() < 2e-4 * prior.scale(),
                "{prior:?}: {} vs {t_best}",
                got.theta
            );
            assert!(got.se.is_finite() && got.se > 0.0);
        }
    }
}

#[test]
fn map_picks_the_higher_of_two_modes() {
    // Cauchy prior of scale 0.5 at 0 and two a = 1.8 items at b = 4, one
    // right: the likelihood's slope (about 1.8) is below the prior's
    // steepest pull (2, at one scale), so the log posterior has a local
    // maximum near the prior (about -7.0) and a higher one near 3.7 (about
    // -5.4); a Newton search from the prior's centre would stop at the first.
    let prior = AbilityPrior::student_t(0.0, 0.5, 1.0).unwrap();
    let irfs: Vec<Irf> = (0..2)
        .map(|_| Logistic::two_pl(1.8, 4.0).unwrap().into())
        .collect();
    let pattern: Vec<(&Irf, usize)> = irfs.iter().zip([1, 0]).collect();
    let obj = |t: f64| log_post(prior, &pattern, t);
    // Two local maxima exist (checked on a grid)...
    let nodes: Vec<f64> = (0..=2400).map(|i| -6.0 + i as f64 * 0.005).collect();
    let local = (1..nodes.len() - 1)
        .filter(|&i| obj(nodes[i]) > obj(nodes[i - 1]) && obj(nodes[i]) > obj(nodes[i + 1]))
        .count();
    assert_eq!(local, 2);
    // ...and MAP returns the global one.
    let (t_best, _) = brute_map(prior, &pattern);
    let got = Estimator::new(Method::Map).prior(prior).estimate(&pattern);
    assert!(t_best > 3.0, "{t_best}");
    assert!(
        (got.theta - t_best).abs() < 1e-3,
        "{} vs {t_best}",
        got.theta
    );
}

#[test]
fn all_correct_patterns_stay_finite_under_a_t_prior() {
    let irfs: Vec<Irf> = (0..40)
        .map(|_| Logistic::two_pl(2.0, 5.5).unwrap().into())
        .collect();
    let pattern: Vec<(&Irf, usize)> = irfs.iter().map(|i| (i, 1)).collect();
    for df in [0.5, 1.0, 4.0] {
        let prior = AbilityPrior::student_t(0.0, 1.0, df).unwrap();
        let (lo, hi) = prior.support();
        for method in [Method::Eap, Method::Map] {
            let a = Estimator::new(method).prior(prior).estimate(&pattern);
            assert!(
                a.theta.is_finite() && a.se.is_finite(),
                "df {df} {method}: {a:?}"
            );
            assert!(
                a.theta > 5.5 && a.theta >= lo && a.theta <= hi,
                "df {df} {method}: {a:?}"
            );
        }
        // Beyond the likelihood's reach the prior's tail decides: under a
        // heavier tail the all-correct examinee lands further out.
        let normal = Estimator::new(Method::Eap).estimate(&pattern);
        let t = Estimator::new(Method::Eap).prior(prior).estimate(&pattern);
        assert!(
            t.theta > normal.theta,
            "df {df}: {} vs {}",
            t.theta,
            normal.theta
        );
    }
}

#[test]
fn no_responses_give_the_prior_centre_and_spread() {
    let prior = AbilityPrior::student_t(0.3, 1.0, 4.0).unwrap();
    let a = Estimator::new(Method::Eap).prior(prior).estimate(&[]);
    assert_eq!(a.theta, 0.3);
    // The t(4) SD is sqrt(4 / 2) = 1.414 untruncated; the truncation at
    // +- 12 removes a little of it.
    assert!(a.se < 2f64.sqrt() && a.se > 1.35, "{}", a.se);
}

#[test]
fn infinite_df_reproduces_the_normal_exactly() {
    for (irfs, scores) in patterns() {
        let pattern: Vec<(&Irf, usize)> = irfs.iter().zip(scores).collect();
        for method in Method::ALL {
            let normal = Estimator::new(method)
                .prior(AbilityPrior::normal(0.2, 1.4).unwrap())
                .estimate(&pattern);
            let t = Estimator::new(method)
                .prior(AbilityPrior::student_t(0.2, 1.4, f64::INFINITY).unwrap())
                .estimate(&pattern);
            assert_eq!(normal, t);
        }
    }
}
