//! Ability estimates against published catR 3.17 values
//! (`../shared/reference/README.md`, "catR 3.17 on the TCALS bank" and
//! "Small hand-checkable cases"). catR uses `D = 1` here, like the engine.

mod common;

use fangsheng::estimate::{Estimator, Method, Quadrature, Status};
use fangsheng::model::{Irf, Logistic, ResponseModel};

/// Tolerance on theta and SE stated in the reference README.
const TOL: f64 = 1e-4;

/// catR's TCALS bank: 85 4PL items `(a, b, c, d)` with `D = 1`.
fn tcals_bank() -> Vec<Irf> {
    let path = common::data("classic/tcals_bank.csv");
    let mut reader = csv::Reader::from_path(&path).expect("open TCALS bank");
    let headers = reader.headers().expect("header").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing in {}", path.display()))
    };
    let (a, b, c, d) = (col("a"), col("b"), col("c"), col("d"));
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("TCALS record");
            let num = |i: usize| rec[i].parse::<f64>().expect("numeric parameter");
            Logistic::from_catr(num(a), num(b), num(c), num(d), 1.0)
                .expect("valid TCALS item")
                .into()
        })
        .collect()
}

/// The fixed pattern `(item, x)`, items numbered from 1.
fn tcals_pattern() -> Vec<(usize, usize)> {
    let path = common::data("classic/tcals_pattern_seed1_theta0.csv");
    let mut reader = csv::Reader::from_path(&path).expect("open TCALS pattern");
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("pattern record");
            (
                rec[0].parse().expect("item number"),
                rec[1].parse().expect("score"),
            )
        })
        .collect()
}

fn tcals_responses(bank: &[Irf]) -> Vec<(&Irf, usize)> {
    tcals_pattern()
        .into_iter()
        .map(|(item, x)| (&bank[item - 1], x))
        .collect()
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() < TOL,
        "{what}: got {got:.8}, catR gives {want:.8}"
    );
}

fn check(est: Estimator, responses: &[(&Irf, usize)], theta: f64, se: Option<f64>) {
    let name = est.method().to_string();
    let ability = est.estimate(responses);
    assert_eq!(ability.status, Status::Converged, "{name}");
    assert_eq!(ability.n_items, responses.len());
    assert_close(&format!("{name} theta"), ability.theta, theta);
    if let Some(se) = se {
        assert_close(&format!("{name} SE"), ability.se, se);
    }
}

#[test]
fn tcals_pattern_is_the_documented_one() {
    let bank = tcals_bank();
    let pattern = tcals_pattern();
    assert_eq!(bank.len(), 85);
    assert_eq!(pattern.len(), 85);
    assert_eq!(pattern.iter().filter(|(_, x)| *x == 1).count(), 75);
}

#[test]
fn tcals_item_information_at_zero() {
    let bank = tcals_bank();
    let want = [
        0.057072167,
        0.056417175,
        0.020856683,
        0.151074782,
        0.096404828,
    ];
    for (item, w) in bank.iter().zip(want) {
        assert!((item.information(0.0) - w).abs() < 1e-8);
    }
}

#[test]
fn tcals_ml() {
    let bank = tcals_bank();
    let r = tcals_responses(&bank);
    check(Estimator::new(Method::Ml), &r, 0.20334008, Some(0.18702390));
}

#[test]
fn tcals_map() {
    let bank = tcals_bank();
    let r = tcals_responses(&bank);
    check(
        Estimator::new(Method::Map),
        &r,
        0.19620470,
        Some(0.18325614),
    );
}

#[test]
fn tcals_eap_on_catr_grid() {
    let bank = tcals_bank();
    let r = tcals_responses(&bank);
    let est = Estimator::new(Method::Eap).quadrature(Quadrature::CATR);
    check(est, &r, 0.21057446, Some(0.19063565));
}

#[test]
fn tcals_eap_adaptive_is_the_continuous_answer() {
    // catR's 33-point grid (spacing 0.25) is coarse for a posterior SD of
    // 0.19: it overstates the SD by 1.1e-4. The adaptive grid gives the
    // integral itself, which a 4,001-point grid on [-4, 4] also gives.
    let bank = tcals_bank();
    let r = tcals_responses(&bank);
    let adaptive = Estimator::new(Method::Eap).estimate(&r);
    let fine = Estimator::new(Method::Eap)
        .quadrature(Quadrature::fixed(4001, -4.0, 4.0).unwrap())
        .estimate(&r);
    assert!((adaptive.theta - fine.theta).abs() < 1e-8);
    assert!((adaptive.se - fine.se).abs() < 1e-8);
    assert_close("adaptive EAP theta", adaptive.theta, 0.21057446);
    assert!((adaptive.se - 0.19063565).abs() < 2e-4);
}

#[test]
fn tcals_wle() {
    // catR's WL standard error is 1 / sqrt(I(theta_wle)); see the module docs.
    let bank = tcals_bank();
    let r = tcals_responses(&bank);
    check(
        Estimator::new(Method::Wle),
        &r,
        0.18390228,
        Some(0.18538094),
    );
}

fn rasch(bs: &[f64]) -> Vec<Irf> {
    bs.iter()
        .map(|&b| Logistic::rasch(b).unwrap().into())
        .collect()
}

#[test]
fn rasch_three_items() {
    let items = rasch(&[0.7, 0.9, 0.6]);
    let r: Vec<(&Irf, usize)> = items.iter().zip([0, 1, 0]).collect();
    check(Estimator::new(Method::Ml), &r, 0.03753525, None);
    let info: f64 = items.iter().map(|i| i.information(0.0)).sum();
    assert_close("1/sqrt(I(0))", 1.0 / info.sqrt(), 1.234664);
}

#[test]
fn rasch_two_items() {
    let items = rasch(&[-1.603, 0.909]);
    let r: Vec<(&Irf, usize)> = items.iter().zip([1, 0]).collect();
    check(Estimator::new(Method::Ml), &r, -0.3469769, None);
}

#[test]
fn four_pl_three_items() {
    let items: Vec<Irf> = [
        (1.32, -0.63, 0.17, 0.87),
        (1.07, 0.18, 0.10, 0.93),
        (0.84, -0.84, 0.19, 1.0),
    ]
    .iter()
    .map(|&(a, b, c, d)| Logistic::from_catr(a, b, c, d, 1.0).unwrap().into())
    .collect();
    let r: Vec<(&Irf, usize)> = items.iter().zip([0, 1, 0]).collect();
    check(Estimator::new(Method::Ml), &r, -1.793082, None);
    check(Estimator::new(Method::Map), &r, -0.4741753, None);
    // catR's default grid: 33 points on [-4, 4]. The posterior is broad
    // (SD 0.87), so the grid matters here: the trapezoid's halved end
    // weights are what reproduce catR's number.
    let eap = Estimator::new(Method::Eap).quadrature(Quadrature::CATR);
    check(eap, &r, -0.4565068, None);
}
