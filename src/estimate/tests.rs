use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::posterior::grid_of;
use super::*;
use crate::ErrorKind;
use crate::model::{Graded, Irf, Logistic};
use crate::simulate::{draw_score, simulate_responses, standard_normals};

fn two_pl_bank(n: usize, seed: u64) -> Vec<Irf> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let a = rng.random_range(0.8..2.0);
            let b = rng.random_range(-2.5..2.5);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect()
}

fn simulate_pattern(items: &[Irf], theta: f64, seed: u64) -> Vec<(&Irf, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    items
        .iter()
        .map(|irf| (irf, draw_score(irf, theta, &mut rng) as usize))
        .collect()
}

fn all_methods() -> impl Iterator<Item = Estimator> {
    Method::ALL.into_iter().map(Estimator::new)
}

#[test]
fn method_names_round_trip() {
    for m in Method::ALL {
        assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            format!("\"{}\"", m.name())
        );
    }
    assert_eq!(" EAP ".parse::<Method>().unwrap(), Method::Eap);
    assert_eq!("Wle".parse::<Method>().unwrap(), Method::Wle);
    let err = "bayes".parse::<Method>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("ml, map, eap or wle"), "{err}");
    let m: Method = serde_json::from_str("\"map\"").unwrap();
    assert_eq!(m, Method::Map);
}

#[test]
fn prior_and_quadrature_validate() {
    assert!(AbilityPrior::normal(f64::NAN, 1.0).is_err());
    assert!(AbilityPrior::normal(0.0, -1.0).is_err());
    assert!(AbilityPrior::normal(0.0, f64::INFINITY).is_err());
    assert_eq!(
        AbilityPrior::default(),
        AbilityPrior::normal(0.0, 1.0).unwrap()
    );
    assert!(Quadrature::fixed(1, -4.0, 4.0).is_err());
    assert!(Quadrature::fixed(33, 4.0, -4.0).is_err());
    assert_eq!(Quadrature::fixed(33, -4.0, 4.0).unwrap(), Quadrature::CATR);
    assert_eq!(Quadrature::default(), Quadrature::Adaptive);
    // An invalid fixed grid falls back to the adaptive one.
    let items = two_pl_bank(10, 1);
    let r = simulate_pattern(&items, 0.3, 2);
    let bad = Estimator::new(Method::Eap).quadrature(Quadrature::Fixed {
        points: 0,
        lo: 1.0,
        hi: -1.0,
    });
    assert_eq!(bad.estimate(&r), Estimator::new(Method::Eap).estimate(&r));
}

#[test]
fn ability_serializes_with_lowercase_status() {
    let a = Ability {
        theta: 0.5,
        se: 0.25,
        n_items: 3,
        status: Status::NoResponses,
    };
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        json,
        r#"{"theta":0.5,"se":0.25,"n_items":3,"status":"noresponses"}"#
    );
    assert_eq!(
        serde_json::to_string(&Status::Boundary).unwrap(),
        "\"boundary\""
    );
}

#[test]
fn ml_and_map_solve_their_score_equations() {
    let items = two_pl_bank(30, 3);
    let r = simulate_pattern(&items, 0.4, 4);
    let pattern = pattern::Pattern::new(&r);
    let ml = Estimator::new(Method::Ml).estimate(&r);
    assert!(pattern.score_hess(ml.theta).0.abs() < 1e-9);
    assert!((ml.se - 1.0 / pattern.information(ml.theta).sqrt()).abs() < 1e-12);
    let map = Estimator::new(Method::Map).estimate(&r);
    assert!((pattern.score_hess(map.theta).0 - map.theta).abs() < 1e-9);
    let wle = Estimator::new(Method::Wle).estimate(&r);
    assert!(pattern.warm(wle.theta).0.abs() < 1e-9);
}

#[test]
fn eap_and_map_shrink_toward_the_prior_mean() {
    let items = two_pl_bank(8, 5);
    // A high scorer: ML far above 0.
    let r: Vec<(&Irf, usize)> = items.iter().zip([1, 1, 1, 1, 1, 1, 0, 1]).collect();
    let ml = Estimator::new(Method::Ml).estimate(&r);
    assert!(ml.theta > 1.0, "{ml:?}");
    for m in [Method::Map, Method::Eap] {
        let est = Estimator::new(m).estimate(&r);
        assert!(est.theta > 0.0 && est.theta < ml.theta, "{m}: {est:?}");
        // A tighter prior pulls harder; a prior centred higher pulls up.
        let tight = Estimator::new(m)
            .prior(AbilityPrior::normal(0.0, 0.5).unwrap())
            .estimate(&r);
        assert!(tight.theta < est.theta, "{m}");
        let high = Estimator::new(m)
            .prior(AbilityPrior::normal(1.0, 1.0).unwrap())
            .estimate(&r);
        assert!(high.theta > est.theta, "{m}");
        assert!(est.se < 1.0, "{m}: data shrink the SD below the prior's");
    }
}

#[test]
fn ml_of_extreme_patterns_is_the_bound() {
    let items = two_pl_bank(20, 6);
    let right: Vec<(&Irf, usize)> = items.iter().map(|i| (i, 1)).collect();
    let wrong: Vec<(&Irf, usize)> = items.iter().map(|i| (i, 0)).collect();
    let pattern = pattern::Pattern::new(&right);
    let ml = Estimator::new(Method::Ml);
    let up = ml.estimate(&right);
    assert_eq!((up.theta, up.status), (6.0, Status::Boundary));
    assert!((up.se - 1.0 / pattern.information(6.0).sqrt()).abs() < 1e-12);
    let down = ml.clone().bounds(4.0, -4.0).estimate(&wrong);
    assert_eq!((down.theta, down.status), (-4.0, Status::Boundary));
    // WLE is finite for a perfect score on these items (Warm's correction).
    let wle = Estimator::new(Method::Wle).estimate(&right);
    assert_eq!(wle.status, Status::Converged);
    assert!(wle.theta > 2.0 && wle.theta < 6.0, "{wle:?}");
    // MAP and EAP always converge.
    for m in [Method::Map, Method::Eap] {
        let a = Estimator::new(m).estimate(&right);
        assert_eq!(a.status, Status::Converged);
        assert!(a.theta > 1.0 && a.theta < 6.0);
    }
}

#[test]
fn empty_pattern_gives_the_documented_result() {
    let prior = AbilityPrior::normal(0.3, 1.7).unwrap();
    for est in all_methods() {
        let a = est.clone().prior(prior).bounds(-4.0, 5.0).estimate(&[]);
        assert_eq!((a.n_items, a.status), (0, Status::NoResponses));
        match est.method() {
            Method::Map | Method::Eap => assert_eq!((a.theta, a.se), (0.3, 1.7)),
            Method::Ml | Method::Wle => {
                assert_eq!(a.theta, 0.5);
                assert_eq!(a.se, f64::INFINITY);
            }
        }
    }
}

#[test]
fn out_of_range_scores_are_ignored() {
    let items = two_pl_bank(5, 7);
    let mut r = simulate_pattern(&items, 0.0, 8);
    let clean = Estimator::new(Method::Eap).estimate(&r);
    r.push((&items[0], 2));
    r.push((&items[1], 99));
    let a = Estimator::new(Method::Eap).estimate(&r);
    assert_eq!(a, clean);
    assert_eq!(a.n_items, 5);
    let only_bad = [(&items[0], 7usize)];
    assert_eq!(
        Estimator::new(Method::Ml).estimate(&only_bad).status,
        Status::NoResponses
    );
}

#[test]
fn twelve_thousand_items_stay_finite() {
    let items = two_pl_bank(12_000, 9);
    let r = simulate_pattern(&items, 0.8, 10);
    for est in all_methods() {
        let a = est.estimate(&r);
        assert!(a.theta.is_finite() && a.se.is_finite(), "{a:?}");
        assert_eq!(a.status, Status::Converged);
        assert_eq!(a.n_items, 12_000);
        // SE ~ 1/sqrt(12000 * 0.3): the estimate is within a few SE of 0.8.
        assert!((a.theta - 0.8).abs() < 0.1, "{}: {a:?}", est.method());
        assert!(a.se < 0.03, "{}: {a:?}", est.method());
    }
}

#[test]
fn abilities_of_twenty_logits_stay_finite() {
    for truth in [-20.0, 20.0] {
        // Items near the examinee, so the estimate is interior.
        let items: Vec<Irf> = (0..200)
            .map(|j| Logistic::two_pl(1.5, truth + (j as f64 / 50.0 - 2.0)).unwrap())
            .map(Irf::from)
            .collect();
        let r = simulate_pattern(&items, truth, 11);
        for est in all_methods() {
            let a = est.clone().bounds(-30.0, 30.0).estimate(&r);
            assert!(a.theta.is_finite() && a.se.is_finite(), "{a:?}");
            // MAP and EAP are pulled toward 0 by N(0,1): 400 nats of prior
            // against ~100 of information, so only check direction there.
            assert!(a.theta * truth > 0.0, "{}: {a:?}", est.method());
            if matches!(est.method(), Method::Ml | Method::Wle) {
                assert!((a.theta - truth).abs() < 1.0, "{}: {a:?}", est.method());
            }
        }
        // With the default items at 0, the pattern is all-correct or all-wrong.
        let central = two_pl_bank(40, 12);
        let r = simulate_pattern(&central, truth, 13);
        for est in all_methods() {
            let a = est.estimate(&r);
            assert!(a.theta.is_finite() && a.se.is_finite(), "{a:?}");
        }
    }
}

#[test]
fn ml_finds_the_global_maximum_of_a_bimodal_3pl_likelihood() {
    // Hard items right and easy items wrong with heavy guessing: the
    // likelihood has a low-ability mode (guessing) and a high one.
    let items: Vec<Irf> = [
        (2.5, -1.5, 0.3),
        (2.5, -1.2, 0.3),
        (2.5, 1.8, 0.3),
        (2.5, 2.0, 0.3),
        (2.5, 2.2, 0.3),
    ]
    .iter()
    .map(|&(a, b, c)| Logistic::new(a, b, c, 1.0).unwrap().into())
    .collect();
    let r: Vec<(&Irf, usize)> = items.iter().zip([0, 0, 1, 1, 1]).collect();
    let pattern = pattern::Pattern::new(&r);
    let brute = (0..=12_000)
        .map(|i| -6.0 + i as f64 * 0.001)
        .max_by(|x, y| pattern.log_lik(*x).total_cmp(&pattern.log_lik(*y)))
        .unwrap();
    let ml = Estimator::new(Method::Ml).estimate(&r);
    assert!((ml.theta - brute).abs() < 1e-3, "{ml:?} vs {brute}");
    assert!(pattern.log_lik(ml.theta) >= pattern.log_lik(brute) - 1e-9);
}

#[test]
fn adaptive_quadrature_matches_a_very_fine_grid() {
    let fine = Quadrature::fixed(20_001, -10.0, 10.0).unwrap();
    for (n_items, truth) in [(5, 0.5), (5_000, -0.7)] {
        let items = two_pl_bank(n_items, 14);
        let r = simulate_pattern(&items, truth, 15);
        let est = Estimator::new(Method::Eap);
        let adaptive = est.estimate(&r);
        let reference = est.clone().quadrature(fine).estimate(&r);
        assert!(
            (adaptive.theta - reference.theta).abs() < 1e-6
                && (adaptive.se - reference.se).abs() < 1e-6,
            "{n_items} items: {adaptive:?} vs {reference:?}"
        );
        // The 5,000-item posterior is far narrower than catR's grid spacing.
        if n_items == 5_000 {
            assert!(adaptive.se < 0.05);
            let coarse = est.clone().quadrature(Quadrature::CATR).estimate(&r);
            assert!((coarse.se - reference.se).abs() > 1e-3, "{coarse:?}");
        }
    }
}

#[test]
fn adaptive_quadrature_follows_a_shifted_wide_prior() {
    let items = two_pl_bank(20, 16);
    let r = simulate_pattern(&items, 3.0, 17);
    let prior = AbilityPrior::normal(2.0, 3.0).unwrap();
    let est = Estimator::new(Method::Eap).prior(prior);
    let reference = est
        .clone()
        .quadrature(Quadrature::fixed(20_001, -20.0, 25.0).unwrap())
        .estimate(&r);
    let adaptive = est.estimate(&r);
    assert!((adaptive.theta - reference.theta).abs() < 1e-6);
    assert!((adaptive.se - reference.se).abs() < 1e-6);
}

fn mixed_bank() -> Vec<Irf> {
    vec![
        Graded::new(1.2, vec![-1.5, -0.2, 1.0]).unwrap().into(),
        Logistic::new(1.4, 0.3, 0.2, 1.0).unwrap().into(),
        Graded::new(0.9, vec![-0.5, 0.8]).unwrap().into(),
        Logistic::two_pl(1.0, -0.6).unwrap().into(),
        Graded::new(1.6, vec![-1.0, 0.0, 0.7, 1.9]).unwrap().into(),
    ]
}

#[test]
fn graded_items_work_in_every_estimator() {
    let items = mixed_bank();
    let low: Vec<(&Irf, usize)> = items.iter().zip([0, 0, 1, 0, 1]).collect();
    let mid: Vec<(&Irf, usize)> = items.iter().zip([1, 1, 1, 1, 2]).collect();
    let high: Vec<(&Irf, usize)> = items.iter().zip([3, 1, 2, 1, 3]).collect();
    for est in all_methods() {
        let [a, b, c] = [&low, &mid, &high].map(|r| est.estimate(r));
        for x in [a, b, c] {
            assert_eq!(x.status, Status::Converged, "{}: {x:?}", est.method());
            assert!(x.se.is_finite() && x.se > 0.0);
        }
        assert!(
            a.theta < b.theta && b.theta < c.theta,
            "{}: {a:?} {b:?} {c:?}",
            est.method()
        );
    }
    // The graded score equation is solved exactly.
    let pattern = pattern::Pattern::new(&mid);
    let ml = Estimator::new(Method::Ml).estimate(&mid);
    assert!(pattern.score_hess(ml.theta).0.abs() < 1e-9);
}

#[test]
fn score_matrix_matches_one_by_one_estimates() {
    let items = mixed_bank();
    let refs: Vec<&Irf> = items.iter().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let mut thetas = standard_normals(30, &mut rng);
    thetas.push(0.0);
    let full = simulate_responses(&items, &thetas, 0.7, None, &mut rng);
    // Drop every response of the last examinee.
    let last = full.n_examinees() - 1;
    let cells: Vec<_> = full
        .cells()
        .filter(|c| c.examinee as usize != last)
        .collect();
    let matrix = crate::data::ResponseMatrix::new(
        full.examinees().to_vec(),
        full.items().to_vec(),
        cells,
        None,
    )
    .unwrap();
    for est in all_methods() {
        let scored = score_matrix(&est, &matrix, &refs);
        assert_eq!(scored.len(), matrix.n_examinees());
        for (e, got) in scored.iter().enumerate() {
            let (its, scores) = matrix.examinee_responses(e);
            let r: Vec<(&Irf, usize)> = its
                .iter()
                .zip(scores)
                .map(|(&j, &s)| (&items[j as usize], s as usize))
                .collect();
            assert_eq!(*got, est.estimate(&r));
        }
        assert_eq!(scored[last].status, Status::NoResponses);
    }
    // Columns without a response function are ignored, not a panic.
    let fewer = score_matrix(&Estimator::new(Method::Eap), &matrix, &refs[..2]);
    assert_eq!(fewer.len(), matrix.n_examinees());
}

#[test]
fn posterior_quantiles_are_monotone_and_centred() {
    // Trapezoid weights of a uniform density on [-1, 1].
    let post = grid_of(vec![-1.0, 0.0, 1.0], vec![0.25, 0.5, 0.25]);
    assert_eq!(post.mean(), 0.0);
    assert!((post.sd() - 0.5f64.sqrt()).abs() < 1e-15);
    assert_eq!(post.quantile(0.0), -1.0);
    assert_eq!(post.quantile(1.0), 1.0);
    assert!(post.quantile(f64::NAN).is_nan());
    for p in [0.1, 0.3125, 0.5, 0.9] {
        assert!((post.quantile(p) - (2.0 * p - 1.0)).abs() < 1e-12, "{p}");
    }

    let items = two_pl_bank(10, 19);
    let r = simulate_pattern(&items, 0.2, 20);
    let post = Estimator::new(Method::Eap).posterior(&r);
    let qs: Vec<f64> = (1..100).map(|i| post.quantile(i as f64 / 100.0)).collect();
    assert!(qs.windows(2).all(|w| w[0] < w[1]));
    // Close to normal: the quartiles are about mean -+ 0.674 SD.
    let (m, s) = (post.mean(), post.sd());
    assert!((post.quantile(0.25) - (m - 0.6745 * s)).abs() < 0.05 * s);
    assert!((post.quantile(0.75) - (m + 0.6745 * s)).abs() < 0.05 * s);
    let total: f64 = post.weights().iter().sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert_eq!(post.nodes().len(), post.weights().len());
    assert!((post.expect(|_| 2.0) - 2.0).abs() < 1e-12);
}

#[test]
fn prior_only_posterior_is_the_prior() {
    let prior = AbilityPrior::normal(-0.5, 2.0).unwrap();
    let post = Estimator::new(Method::Eap).prior(prior).posterior(&[]);
    assert!((post.mean() + 0.5).abs() < 1e-9);
    assert!((post.sd() - 2.0).abs() < 1e-6);
    // Normal quantiles to 1e-4 SD (z values from R's qnorm).
    for (p, z) in [
        (0.5, 0.0),
        (0.975, 1.959963985),
        (0.025, -1.959963985),
        (0.8, 0.8416212336),
    ] {
        let q = post.quantile(p);
        assert!((q - (-0.5 + 2.0 * z)).abs() < 2e-4, "{p}: {q}");
    }
}

#[test]
fn predicted_score_brackets_its_mean_and_is_monotone() {
    let items = two_pl_bank(15, 21);
    let bank: Vec<&Irf> = items.iter().collect();
    assert!(expected_proportion(&[], 0.0).is_nan());
    let curve: Vec<f64> = (-40..=40)
        .map(|i| expected_proportion(&bank, i as f64 / 10.0))
        .collect();
    assert!(curve.windows(2).all(|w| w[0] < w[1]));
    // Graded items count as proportions of their maximum score.
    let mixed = mixed_bank();
    let mixed_refs: Vec<&Irf> = mixed.iter().collect();
    let p = expected_proportion(&mixed_refs, 0.0);
    assert!(p > 0.0 && p < 1.0);
    assert!(expected_proportion(&mixed_refs, 30.0) > 0.999);

    let est = Estimator::new(Method::Eap);
    let mut previous: Option<PredictedScore> = None;
    for right in [3, 8, 13] {
        let r: Vec<(&Irf, usize)> = items
            .iter()
            .enumerate()
            .map(|(j, irf)| (irf, usize::from(j < right)))
            .collect();
        let post = est.posterior(&r);
        let p95 = predicted_score(&post, &bank, 0.95);
        let p50 = predicted_score(&post, &bank, 0.5);
        assert!(p95.lo < p95.mean && p95.mean < p95.hi, "{p95:?}");
        assert!(p95.lo < p50.lo && p50.hi < p95.hi);
        assert_eq!(p50.mean, p95.mean);
        let point = predicted_score(&post, &bank, f64::NAN);
        assert_eq!(point.lo, point.hi);
        if let Some(prev) = previous {
            assert!(p95.mean > prev.mean && p95.lo > prev.lo && p95.hi > prev.hi);
        }
        previous = Some(p95);
    }
}

#[test]
fn simulated_examinees_are_recovered_with_honest_standard_errors() {
    let items = two_pl_bank(40, 22);
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let thetas = standard_normals(2_000, &mut rng);
    let matrix = simulate_responses(&items, &thetas, 1.0, None, &mut rng);
    let refs: Vec<&Irf> = items.iter().collect();
    for method in [Method::Eap, Method::Wle] {
        let est = score_matrix(&Estimator::new(method), &matrix, &refs);
        let n = est.len() as f64;
        let rmse = (est
            .iter()
            .zip(&thetas)
            .map(|(a, t)| (a.theta - t).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let mean_se = est.iter().map(|a| a.se).sum::<f64>() / n;
        let ratio = rmse / mean_se;
        assert!(
            (0.85..1.15).contains(&ratio),
            "{method}: RMSE {rmse}, mean SE {mean_se}"
        );
        let covered = est
            .iter()
            .zip(&thetas)
            .filter(|(a, t)| (a.theta - **t).abs() <= 1.96 * a.se)
            .count() as f64
            / n;
        if method == Method::Eap {
            // Binomial SD of the coverage at n = 2,000 is 0.005.
            eprintln!("EAP: RMSE {rmse:.4}, mean SE {mean_se:.4}, coverage {covered:.4}");
            assert!((0.93..=0.97).contains(&covered), "EAP coverage {covered}");
        }
    }
}

#[test]
fn concave_and_grid_searches_agree() {
    let items = two_pl_bank(25, 24);
    // The same items with a negligible lower asymptote are not log-concave
    // by type, so they take the coarse-grid path.
    let guessing: Vec<Irf> = items
        .iter()
        .filter_map(|irf| match irf {
            Irf::Logistic(l) => Some(Logistic::new(l.a(), l.b(), 1e-300, 1.0).unwrap().into()),
            Irf::Graded(_) => None,
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let scores: Vec<usize> = items
        .iter()
        .map(|irf| draw_score(irf, -0.4, &mut rng) as usize)
        .collect();
    let concave: Vec<(&Irf, usize)> = items.iter().zip(scores.iter().copied()).collect();
    let gridded: Vec<(&Irf, usize)> = guessing.iter().zip(scores.iter().copied()).collect();
    assert!(pattern::Pattern::new(&concave).log_concave());
    assert!(!pattern::Pattern::new(&gridded).log_concave());
    for est in all_methods() {
        let (a, b) = (est.estimate(&concave), est.estimate(&gridded));
        assert!(
            (a.theta - b.theta).abs() < 1e-9,
            "{}: {a:?} {b:?}",
            est.method()
        );
        assert!((a.se - b.se).abs() < 1e-9, "{}: {a:?} {b:?}", est.method());
    }
}

#[test]
fn map_and_eap_follow_a_mode_beyond_the_default_range() {
    // 12,000 Rasch items at b = 0, all right: the MAP solves
    // 12000 (1 - P(theta)) = theta, about 7.2, outside [-6, 6].
    let items: Vec<Irf> = (0..12_000)
        .map(|_| Logistic::rasch(0.0).unwrap().into())
        .collect();
    let r: Vec<(&Irf, usize)> = items.iter().map(|i| (i, 1)).collect();
    let map = Estimator::new(Method::Map).estimate(&r);
    assert_eq!(map.status, Status::Converged);
    let q = 1.0 / (1.0 + map.theta.exp());
    assert!((12_000.0 * q - map.theta).abs() < 1e-9, "{map:?}");
    assert!(map.theta > 7.0 && map.theta < 7.5);
    let eap = Estimator::new(Method::Eap).estimate(&r);
    assert!(
        (eap.theta - map.theta).abs() < 0.2 && eap.se < 0.5,
        "{eap:?}"
    );
    let ml = Estimator::new(Method::Ml).estimate(&r);
    assert_eq!((ml.theta, ml.status), (6.0, Status::Boundary));
}
