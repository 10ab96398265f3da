//! Checks of every family: analytic derivatives against central finite
//! differences, invariants, and numerical behaviour far from the items.

use proptest::prelude::*;

use super::*;

const H: f64 = 1e-5;

/// Central difference of `f` at `x`.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    (f(x + H) - f(x - H)) / (2.0 * H)
}

fn close(analytic: f64, numeric: f64, tol: f64) -> bool {
    (analytic - numeric).abs() <= tol * (1.0 + analytic.abs().max(numeric.abs()))
}

fn logistic() -> impl Strategy<Value = Logistic> {
    (0.2f64..4.0, -3.0f64..3.0, 0.01f64..0.4, 0.6f64..0.99)
        .prop_map(|(a, b, g, u)| Logistic::new(a, b, g, u).unwrap())
}

fn logistic_2pl() -> impl Strategy<Value = Logistic> {
    (0.2f64..4.0, -3.0f64..3.0).prop_map(|(a, b)| Logistic::two_pl(a, b).unwrap())
}

fn graded() -> impl Strategy<Value = Graded> {
    (
        0.2f64..3.5,
        -3.0f64..-1.0,
        prop::collection::vec(0.2f64..1.5, 1..5),
    )
        .prop_map(|(a, first, gaps)| {
            let mut t = vec![first];
            for g in gaps {
                let last = *t.last().unwrap();
                t.push(last + g);
            }
            Graded::new(a, t).unwrap()
        })
}

/// Checks theta derivatives and parameter gradients of `m` at `theta`.
fn check_derivatives(m: &Irf, theta: f64) -> Result<(), TestCaseError> {
    for k in 0..m.n_categories() {
        let d = m.theta_derivs(theta, k);
        prop_assert!(close(d.log_prob, m.log_prob(theta, k), 1e-12));
        let num1 = fd(|t| m.log_prob(t, k), theta);
        prop_assert!(close(d.d1, num1, 1e-5), "d1 {} vs {}", d.d1, num1);
        let num2 = fd(|t| m.theta_derivs(t, k).d1, theta);
        prop_assert!(close(d.d2, num2, 1e-5), "d2 {} vs {}", d.d2, num2);

        let params = m.params();
        let mut grad = vec![0.0; params.len()];
        m.grad_log_prob(theta, k, &mut grad);
        for j in 0..params.len() {
            if on_boundary(m, j) {
                // A central difference would step outside 0 <= g < u <= 1; the
                // 4PL strategy checks these entries at interior values.
                continue;
            }
            let eval = |v: f64| {
                let mut p = params.clone();
                p[j] = v;
                rebuild(m, &p).log_prob(theta, k)
            };
            let num = fd(eval, params[j]);
            prop_assert!(
                close(grad[j], num, 1e-5),
                "param {} category {}: analytic {} vs numeric {}",
                j,
                k,
                grad[j],
                num
            );
        }
    }
    Ok(())
}

fn on_boundary(m: &Irf, j: usize) -> bool {
    match m {
        Irf::Logistic(l) => (j == 2 && l.g() < H) || (j == 3 && l.u() > 1.0 - H),
        Irf::Graded(_) => false,
    }
}

fn rebuild(m: &Irf, p: &[f64]) -> Irf {
    match m {
        Irf::Logistic(_) => Logistic::new(p[0], p[1], p[2], p[3]).unwrap().into(),
        Irf::Graded(_) => Graded::new(p[0], p[1..].to_vec()).unwrap().into(),
    }
}

fn information_by_definition(m: &Irf, theta: f64) -> f64 {
    // I = sum_k P_k'^2 / P_k with P_k' by finite differences of P_k.
    (0..m.n_categories())
        .map(|k| {
            let dp = fd(|t| m.prob(t, k), theta);
            dp * dp / m.prob(theta, k)
        })
        .sum()
}

proptest! {
    #[test]
    fn logistic_derivatives_match_finite_differences(m in logistic(), theta in -4.0f64..4.0) {
        check_derivatives(&Irf::from(m), theta)?;
    }

    #[test]
    fn two_pl_derivatives_match_finite_differences(m in logistic_2pl(), theta in -4.0f64..4.0) {
        check_derivatives(&Irf::from(m), theta)?;
    }

    #[test]
    fn graded_derivatives_match_finite_differences(m in graded(), theta in -4.0f64..4.0) {
        check_derivatives(&Irf::from(m), theta)?;
    }

    #[test]
    fn information_matches_its_definition(
        m in prop_oneof![logistic().prop_map(Irf::from), graded().prop_map(Irf::from)],
        theta in -4.0f64..4.0,
    ) {
        let analytic = m.information(theta);
        let numeric = information_by_definition(&m, theta);
        prop_assert!(close(analytic, numeric, 1e-5), "{} vs {}", analytic, numeric);
    }

    #[test]
    fn warm_j_matches_its_definition(
        m in prop_oneof![logistic().prop_map(Irf::from), graded().prop_map(Irf::from)],
        theta in -4.0f64..4.0,
    ) {
        let numeric: f64 = (0..m.n_categories())
            .map(|k| {
                let p1 = fd(|t| m.prob(t, k), theta);
                let p2 = fd(|t| fd(|s| m.prob(s, k), t), theta);
                p1 * p2 / m.prob(theta, k)
            })
            .sum();
        let analytic = m.warm_j(theta);
        prop_assert!((analytic - numeric).abs() < 1e-3 * (1.0 + numeric.abs()), "{} vs {}", analytic, numeric);
    }

    #[test]
    fn category_probabilities_sum_to_one(
        m in prop_oneof![logistic().prop_map(Irf::from), graded().prop_map(Irf::from)],
        theta in -25.0f64..25.0,
    ) {
        let total: f64 = (0..m.n_categories()).map(|k| m.prob(theta, k)).sum();
        prop_assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn probability_at_b_is_midway_between_asymptotes(m in logistic()) {
        let p = m.prob(m.b(), 1);
        prop_assert!((p - (m.g() + m.u()) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn two_pl_information_is_symmetric_about_b(m in logistic_2pl(), d in 0.0f64..5.0) {
        let lo = m.information(m.b() - d);
        let hi = m.information(m.b() + d);
        prop_assert!((lo - hi).abs() < 1e-12 * (1.0 + lo));
        prop_assert!(m.information(m.b()) >= lo - 1e-15);
        prop_assert!((m.information(m.b()) - m.a() * m.a() / 4.0).abs() < 1e-12);
    }

    #[test]
    fn everything_is_finite_far_from_the_items(
        m in prop_oneof![logistic().prop_map(Irf::from), logistic_2pl().prop_map(Irf::from), graded().prop_map(Irf::from)],
        theta in prop_oneof![Just(-20.0), Just(20.0), Just(-200.0), Just(200.0), -40.0f64..40.0],
    ) {
        for k in 0..m.n_categories() {
            let d = m.theta_derivs(theta, k);
            prop_assert!(d.log_prob.is_finite() && d.log_prob <= 0.0, "ln P = {}", d.log_prob);
            prop_assert!(d.d1.is_finite() && d.d2.is_finite());
            let mut grad = vec![0.0; m.params().len()];
            m.grad_log_prob(theta, k, &mut grad);
            // d ln P / dg = s(-z) / P really is astronomically large when g = 0
            // and P is tiny; only the slope and location entries must stay finite.
            prop_assert!(grad[..2].iter().all(|v| v.is_finite()), "{:?}", grad);
            prop_assert!(grad.iter().all(|v| !v.is_nan()), "{:?}", grad);
        }
        prop_assert!(m.information(theta).is_finite() && m.information(theta) >= 0.0);
        prop_assert!(m.warm_j(theta).is_finite());
    }
}

#[test]
fn a_twelve_thousand_item_pattern_has_a_finite_log_likelihood() {
    // Products of 12,000 probabilities underflow; sums of logs must not.
    let items: Vec<Logistic> = (0..12_000)
        .map(|i| {
            Logistic::two_pl(1.0 + (i % 7) as f64 * 0.3, -3.0 + (i % 61) as f64 * 0.1).unwrap()
        })
        .collect();
    for &theta in &[-20.0, -3.0, 0.0, 3.0, 20.0] {
        let ll: f64 = items
            .iter()
            .enumerate()
            .map(|(i, m)| m.log_prob(theta, i % 2))
            .sum();
        assert!(ll.is_finite() && ll < 0.0, "theta {theta}: {ll}");
    }
}

#[test]
fn conversions_round_trip() {
    let m = Logistic::from_slope_intercept(1.7058010, 1.8042190, 0.0, 1.0).unwrap();
    assert!((m.b() + 1.8042190 / 1.7058010).abs() < 1e-15);
    assert!((m.intercept() - 1.8042190).abs() < 1e-12);
    let c = Logistic::from_catr(2.225, -1.885, 0.21, 1.0, 1.0).unwrap();
    assert_eq!(c.to_catr(), [2.225, -1.885, 0.21, 1.0]);
    let g = Graded::from_slope_intercept(1.041, &[4.864, 2.640, -1.466]).unwrap();
    let back = g.intercepts();
    for (x, y) in back.iter().zip([4.864, 2.640, -1.466]) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn constructors_reject_invalid_parameters() {
    assert!(Logistic::new(0.0, 0.0, 0.0, 1.0).is_err());
    assert!(Logistic::new(-1.0, 0.0, 0.0, 1.0).is_err());
    assert!(Logistic::new(1.0, f64::NAN, 0.0, 1.0).is_err());
    assert!(Logistic::new(1.0, 0.0, 0.5, 0.5).is_err());
    assert!(Logistic::new(1.0, 0.0, -0.1, 1.0).is_err());
    assert!(Logistic::new(1.0, 0.0, 0.1, 1.1).is_err());
    assert!(Graded::new(1.0, vec![]).is_err());
    assert!(Graded::new(1.0, vec![0.5, 0.5]).is_err());
    assert!(Graded::new(1.0, vec![1.0, 0.0]).is_err());
}

#[test]
fn tcals_item_information_matches_catr() {
    // catR 3.17, items 1-5 of the TCALS bank at theta = 0 (../shared/reference/README.md).
    let bank = [
        (2.225, -1.885, 0.21, 1.0, 0.057072167),
        (1.174, -2.411, 0.212, 1.0, 0.056417175),
        (2.104, -2.439, 0.192, 1.0, 0.020856683),
        (2.691, -1.282, 0.294, 1.0, 0.151074782),
        (1.256, -1.93, 0.17, 1.0, 0.096404828),
    ];
    for (a, b, c, d, expected) in bank {
        let m = Logistic::from_catr(a, b, c, d, 1.0).unwrap();
        assert!(
            (m.information(0.0) - expected).abs() < 1e-8,
            "{} vs {}",
            m.information(0.0),
            expected
        );
    }
}
