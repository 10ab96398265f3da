//! Held-out model comparison: the split, the scores, and whether they pick
//! the model that generated the data.

mod common;

use std::collections::HashSet;

use fangsheng::ErrorKind;
use fangsheng::calibrate::{
    Calibration, CalibrationConfig, HoldoutScore, calibrate, evaluate_holdout, split_holdout,
};
use fangsheng::data::{Cell, ResponseMatrix};
use fangsheng::estimate::{AbilityPrior, Estimator, Method, Quadrature};
use fangsheng::model::{Irf, Logistic, ModelKind, ResponseModel};
use fangsheng::simulate::{simulate_responses, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fit(m: &ResponseMatrix, model: ModelKind) -> Calibration {
    let config = CalibrationConfig {
        model,
        standard_errors: false,
        ..CalibrationConfig::default()
    };
    calibrate(m, &config, &mut |_| {}).unwrap()
}

fn holdout_score(m: &ResponseMatrix, model: ModelKind, seed: u64) -> HoldoutScore {
    let (train, held) = split_holdout(m, 0.1, seed).unwrap();
    let cal = fit(&train, model);
    evaluate_holdout(&cal, &train, &held).unwrap()
}

/// `n_examinees` x `n_items` complete 2PL data, `b ~ U(-2, 2)`, slopes from
/// `slope`.
fn simulate(
    n_examinees: usize,
    n_items: usize,
    seed: u64,
    mut slope: impl FnMut(&mut ChaCha8Rng) -> f64,
) -> ResponseMatrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let irfs: Vec<Irf> = (0..n_items)
        .map(|_| {
            let a = slope(&mut rng);
            let b = rng.random_range(-2.0..2.0);
            Logistic::two_pl(a, b).unwrap().into()
        })
        .collect();
    let thetas = standard_normals(n_examinees, &mut rng);
    simulate_responses(&irfs, &thetas, 1.0, None, &mut rng)
}

#[test]
fn split_is_deterministic_disjoint_and_exact() {
    let m = simulate(300, 40, 1, |_| 1.0);
    let n = m.n_responses();
    let (train, held) = split_holdout(&m, 0.1, 7).unwrap();
    let (train2, held2) = split_holdout(&m, 0.1, 7).unwrap();
    assert_eq!(held, held2);
    assert_eq!(train, train2);
    assert_eq!(held.len(), 1_200);
    assert_eq!(train.n_responses(), n - 1_200);
    assert_eq!(train.items(), m.items());
    assert_eq!(train.examinees(), m.examinees());

    // Disjoint, and together exactly the original cells.
    let key = |c: &Cell| (c.examinee, c.item, c.score);
    let held_set: HashSet<_> = held.iter().map(key).collect();
    let train_set: HashSet<_> = train.cells().map(|c| key(&c)).collect();
    assert_eq!(held_set.len(), held.len());
    assert!(held_set.is_disjoint(&train_set));
    let all: HashSet<_> = m.cells().map(|c| key(&c)).collect();
    let union: HashSet<_> = held_set.union(&train_set).copied().collect();
    assert_eq!(union, all);

    // Another seed, another split of the same size.
    let (_, other) = split_holdout(&m, 0.1, 8).unwrap();
    assert_eq!(other.len(), 1_200);
    assert_ne!(other, held);

    // Spread over the matrix, not a block: every examinee keeps most of its
    // 40 cells and the held-out share per item is near 10%. With 300
    // examinees per item, the binomial SD of an item's share is 1.7%; 6 SD
    // bounds it.
    for j in 0..m.n_items() {
        let share = held.iter().filter(|c| c.item as usize == j).count() as f64 / 300.0;
        assert!((share - 0.1).abs() < 0.1, "item {j}: {share}");
    }
}

#[test]
fn bad_fractions_are_clear_errors() {
    let m = simulate(20, 5, 2, |_| 1.0);
    for f in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
        let e = split_holdout(&m, f, 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{f}");
        assert!(
            e.to_string().contains("strictly between 0 and 1"),
            "{f}: {e}"
        );
    }
}

#[test]
fn predictive_probability_matches_a_fine_fixed_grid() {
    // One examinee with 5 training responses, one held-out cell: the score
    // must equal ln E[P(x | theta)] integrated on a 20,001-point grid.
    let m = simulate(400, 6, 3, |r| r.random_range(0.8..1.6));
    let cal = fit(&m, ModelKind::TwoPl);
    let train = m.filter_examinees(|_, _| true);
    let (items, scores) = m.examinee_responses(0);
    // Hold out examinee 0's last cell: rebuild a training matrix without it.
    let last = Cell {
        examinee: 0,
        item: items[items.len() - 1],
        score: scores[scores.len() - 1],
    };
    let cells: Vec<Cell> = train.cells().filter(|c| *c != last).collect();
    let train =
        ResponseMatrix::new(m.examinees().to_vec(), m.items().to_vec(), cells, None).unwrap();
    let score = evaluate_holdout(&cal, &train, &[last]).unwrap();
    assert_eq!(score.scored, 1);

    let irfs: Vec<&Irf> = cal.items.iter().map(|it| &it.irf).collect();
    let pattern: Vec<(&Irf, usize)> = items[..items.len() - 1]
        .iter()
        .zip(scores)
        .map(|(&j, &s)| (irfs[j as usize], s as usize))
        .collect();
    let post = Estimator::new(Method::Eap)
        .prior(AbilityPrior::normal(cal.latent.mean, cal.latent.sd).unwrap())
        .quadrature(Quadrature::fixed(20_001, -10.0, 10.0).unwrap())
        .posterior(&pattern);
    let irf = irfs[last.item as usize];
    let p1 = post.expect(|t| irf.prob(t, 1));
    let px = if last.score == 1 { p1 } else { 1.0 - p1 };
    assert!(
        (score.mean_log_likelihood - px.ln()).abs() < 1e-6,
        "{} vs {}",
        score.mean_log_likelihood,
        px.ln()
    );
    assert!((score.brier - (p1 - last.score as f64).powi(2)).abs() < 1e-6);
    let predicted = u8::from(p1 >= 0.5);
    assert_eq!(score.accuracy, f64::from(u8::from(predicted == last.score)));
}

#[test]
fn cells_without_training_data_are_counted_not_scored() {
    let m = simulate(200, 10, 4, |_| 1.0);
    // Calibrate without item 3 (as the CLI does with unanswered columns);
    // examinee 5 keeps no training response.
    let train = m.filter_examinees(|_, _| true);
    let held: Vec<Cell> = train
        .cells()
        .filter(|c| c.examinee == 5 || (c.item == 3 && c.examinee < 20))
        .collect();
    let cells: Vec<Cell> = train.cells().filter(|c| !held.contains(c)).collect();
    let train =
        ResponseMatrix::new(m.examinees().to_vec(), m.items().to_vec(), cells, None).unwrap();
    let fitted_on = train.filter_items(|j, _| j != 3);
    let cal = fit(&fitted_on, ModelKind::TwoPl);
    let score = evaluate_holdout(&cal, &train, &held).unwrap();
    assert_eq!(score.held_out, 10 + 19);
    assert_eq!(score.skipped_item, 20, "item 3 is not calibrated");
    assert_eq!(score.skipped_examinee, 9, "examinee 5's other cells");
    assert_eq!(score.scored, 0);
    assert!(score.mean_log_likelihood.is_nan());
}

/// Held-out log-likelihood per response of Rasch and 2PL on the same
/// splits, seeds 1..=3.
fn compare(m: &ResponseMatrix) -> Vec<(f64, f64)> {
    (1..=3)
        .map(|seed| {
            let rasch = holdout_score(m, ModelKind::Rasch, seed);
            let two_pl = holdout_score(m, ModelKind::TwoPl, seed);
            assert_eq!(rasch.scored, two_pl.scored);
            println!(
                "seed {seed}: rasch {:.5} (acc {:.4}, brier {:.5}), 2pl {:.5} (acc {:.4}, brier {:.5})",
                rasch.mean_log_likelihood,
                rasch.accuracy,
                rasch.brier,
                two_pl.mean_log_likelihood,
                two_pl.accuracy,
                two_pl.brier
            );
            (rasch.mean_log_likelihood, two_pl.mean_log_likelihood)
        })
        .collect()
}

/// Slopes U(0.3, 2.5): a Rasch fit forces them equal. Observed gap at
/// seeds 1..=3: 0.016-0.021 nats per response (with accuracy and Brier also
/// favouring the 2PL); the threshold 0.01 is half the smallest.
#[test]
fn two_pl_predicts_better_when_slopes_vary() {
    let m = simulate(1_000, 50, 5, |r| r.random_range(0.3..2.5));
    for (rasch, two_pl) in compare(&m) {
        assert!(two_pl > rasch + 0.01, "2PL {two_pl} vs Rasch {rasch}");
    }
}

/// All slopes 1: the 2PL's 50 extra slopes can only fit noise. Its expected
/// excess held-out loss is about (extra parameters) / (2 x training cells)
/// = 50 / 90,000 ~ 0.0006 nats per response; observed Rasch advantage at
/// seeds 1..=3: 0.0004-0.0008. "Not worse within noise" is stated as: Rasch
/// is never behind by more than 0.002 (about three times the expected gap).
#[test]
fn rasch_is_not_worse_on_rasch_data() {
    let m = simulate(1_000, 50, 6, |_| 1.0);
    for (rasch, two_pl) in compare(&m) {
        assert!(rasch > two_pl - 0.002, "Rasch {rasch} vs 2PL {two_pl}");
    }
}

// ---- End to end: `fangsheng calibrate --hold-out` and unanswered items ----

fn fangsheng(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(args)
        .output()
        .expect("run fangsheng")
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn cli_holdout_is_reported_and_deterministic() {
    let input = common::data("classic/LSAT7_expanded.csv");
    let dir = tempfile::tempdir().unwrap();
    let outs = [dir.path().join("a.json"), dir.path().join("b.json")];
    for out in &outs {
        let o = fangsheng(&[
            "calibrate",
            "-r",
            input.to_str().unwrap(),
            "--hold-out",
            "0.2",
            "--seed",
            "3",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(err.contains("log-likelihood per response"), "{err}");
    }
    let bytes = |p: &std::path::Path| std::fs::read(p).unwrap();
    assert_eq!(bytes(&outs[0]), bytes(&outs[1]));
    let h = &json(&outs[0])["metadata"]["provenance"]["holdout"];
    // 1,000 x 5 complete: 20% of 5,000 cells.
    assert_eq!(h["held_out"], 1_000);
    assert_eq!(h["scored"], 1_000);
    assert_eq!(h["seed"], 3);
    assert_eq!(h["fraction"], 0.2);
    let ll = h["mean_log_likelihood"].as_f64().unwrap();
    // LSAT7 items are easy (60-90% correct): a useful model beats a coin
    // flip (-0.693) but cannot be near certain.
    assert!(-0.69 < ll && ll < -0.3, "{ll}");
    let data = &json(&outs[0])["metadata"]["provenance"]["data"];
    assert_eq!(data["responses"], 4_000, "the fit uses the training cells");

    let o = fangsheng(&[
        "calibrate",
        "-r",
        input.to_str().unwrap(),
        "--hold-out",
        "1",
        "-o",
        dir.path().join("c.json").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("strictly between 0 and 1"));
    assert!(!dir.path().join("c.json").exists());
}

#[test]
fn cli_drops_items_nobody_answered() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.csv");
    // q3 and q5 are blank for every examinee.
    let mut text = String::from("id,q1,q2,q3,q4,q5\n");
    for i in 0..40 {
        let x = |k: usize| ((i * 7 + k * 3) % 5 < 3) as u8;
        text.push_str(&format!("m{i},{},{},,{},\n", x(1), x(2), x(4)));
    }
    std::fs::write(&input, text).unwrap();
    let out = dir.path().join("out.json");
    let o = fangsheng(&[
        "calibrate",
        "-r",
        input.to_str().unwrap(),
        "--id-col",
        "id",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("dropped 2 items with no response: q3, q5"),
        "{err}"
    );
    let v = json(&out);
    let ids: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q1", "q2", "q4"]);
    assert_eq!(
        v["metadata"]["provenance"]["data"]["dropped_unanswered_items"],
        2
    );
}
