//! The leave-one-out on small simulated data: which examinees each fold
//! calibrates on, the rows and details it reports, the group scores and the
//! score links fitted on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::cat::{CatBank, Ties};
use crate::data::Cell;
use crate::model::{Irf, Logistic, ModelKind, ResponseModel};

#[test]
fn random_ties_make_a_plan_seeded_only_on_a_bank_with_twins() {
    let bank = |bs: &[f64]| {
        let ids = (0..bs.len())
            .map(|j| ItemId::from(format!("i{j}")))
            .collect();
        let irfs = bs
            .iter()
            .map(|&b| Logistic::two_pl(1.0, b).unwrap().into())
            .collect();
        Arc::new(CatBank::from_parts(ids, irfs).unwrap())
    };
    let design = |bank: Arc<CatBank>, ties| {
        let plan = Plan {
            max_items: 2,
            ties,
            ..Plan::default()
        };
        Design::new(bank, plan).unwrap()
    };
    let twins = bank(&[0.0, 1.0, 0.0]);
    let distinct = bank(&[0.0, 1.0, 2.0]);
    assert!(uses_randomness(&design(twins.clone(), Ties::Random)));
    assert!(!uses_randomness(&design(twins, Ties::First)));
    assert!(!uses_randomness(&design(distinct, Ties::Random)));
}

/// The examinee sets passed to calibration by every test of this module
/// (tests tell theirs apart by examinee names).
static CALIBRATED: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

fn record_calibration(train: &ResponseMatrix) {
    if let Ok(mut c) = CALIBRATED.lock() {
        c.push(train.examinees().iter().map(|e| e.to_string()).collect());
    }
}

/// The calibrations recorded so far whose examinees are named `prefix`N.
fn calibrated(prefix: &str) -> Vec<Vec<String>> {
    CALIBRATED
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.iter().all(|e| e.starts_with(prefix)))
        .cloned()
        .collect()
}

/// A one-length, one-seed run of the 2PL, holding out examinees 0 and 4.
fn config(tags: HashMap<ItemId, Tags>) -> LooConfig {
    LooConfig {
        lengths: vec![10],
        seeds: 1,
        tags,
        held_out: Some(vec![0, 4]),
        on_calibration: Some(Arc::new(record_calibration)),
        ..LooConfig::new(CalibrationConfig::default())
    }
}

/// 8 simulated examinees named `prefix`0 to `prefix`7 x 60 2PL items,
/// every third tagged category `a`, the others `b`.
pub(super) fn data_named(prefix: &str) -> (ResponseMatrix, HashMap<ItemId, Tags>) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let items: Vec<Irf> = (0..60)
        .map(|j| {
            Logistic::two_pl(0.6 + (j % 5) as f64 * 0.4, (j % 12) as f64 / 3.0 - 2.0)
                .unwrap()
                .into()
        })
        .collect();
    let mut cells = Vec::new();
    for e in 0..8u32 {
        let theta = e as f64 / 2.0 - 1.75;
        for (j, irf) in items.iter().enumerate() {
            let x = u8::from(rng.random::<f64>() < irf.expected_score(theta));
            cells.push(Cell {
                examinee: e,
                item: j as u32,
                score: x,
            });
        }
    }
    let ids: Vec<ItemId> = (0..60).map(|j| format!("q{j}").into()).collect();
    let tags = ids
        .iter()
        .enumerate()
        .map(|(j, id)| {
            (
                id.clone(),
                Tags::category(if j % 3 == 0 { "a" } else { "b" }),
            )
        })
        .collect();
    let m = ResponseMatrix::new(
        (0..8).map(|e| format!("{prefix}{e}").into()).collect(),
        ids,
        cells,
        None,
    )
    .unwrap();
    (m, tags)
}

#[test]
fn each_fold_calibrates_without_its_examinee_and_every_method_gets_its_rows() {
    let (m, tags) = data_named("fold");
    let config = LooConfig {
        lengths: vec![8, 12],
        seeds: 3,
        balance: Some("category".into()),
        ..config(tags)
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    assert_eq!(report.held_out, ["fold0", "fold4"]);
    let sets = calibrated("fold");
    assert_eq!(sets.len(), 2, "one calibration per fold");
    for held in ["fold0", "fold4"] {
        let set = sets.iter().find(|s| !s.iter().any(|e| e == held)).unwrap();
        assert_eq!(set.len(), 7, "{held}: every other examinee");
    }
    let methods: Vec<(&str, usize)> = report
        .rows
        .iter()
        .map(|r| (r.method.as_str(), r.items))
        .collect();
    assert_eq!(
        methods,
        [
            ("irt-full-run", 60),
            ("adaptive", 8),
            ("random-accuracy", 8),
            ("random-irt", 8),
            ("adaptive", 12),
            ("random-accuracy", 12),
            ("random-irt", 12),
        ]
    );
    // Two held-out examinees x three seeds per row; the floor once each.
    assert_eq!(report.details.len(), 2 + 6 * 6);
    for r in &report.rows {
        assert!(r.mae.is_finite() && r.mae < 0.5, "{r:?}");
        if r.method != "irt-full-run" {
            assert!((r.mean_length - r.items as f64).abs() < 1e-12, "{r:?}");
        }
    }
    // The plan recorded is the balanced one the exams ran.
    let plan = &report.plans[0].1;
    assert_eq!(plan.content.as_ref().unwrap().tag, "category");
    assert_eq!(plan.max_items, 12);
    // Every prediction of a row is behind its MAE.
    for r in &report.rows {
        let mine: Vec<&LooDetail> = report
            .details
            .iter()
            .filter(|d| d.method == r.method && d.items == r.items)
            .collect();
        let per_seed = mine.len()
            / mine
                .iter()
                .map(|d| d.seed)
                .collect::<std::collections::HashSet<_>>()
                .len();
        assert_eq!(per_seed, 2);
        let mae = mine
            .iter()
            .map(|d| (d.predicted - d.observed).abs())
            .sum::<f64>()
            / mine.len() as f64;
        assert!(
            (mae - r.mae).abs() < 1e-12,
            "{}: {mae} vs {}",
            r.method,
            r.mae
        );
    }
}

#[test]
fn a_cached_fold_is_read_back_instead_of_calibrated_again() {
    let (m, tags) = data_named("cache");
    let dir = tempfile::tempdir().unwrap();
    let config = LooConfig {
        cache: Some(dir.path().to_owned()),
        ..config(tags)
    };
    let first = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let calibrations = calibrated("cache").len();
    assert_eq!(calibrations, 2);
    let again = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    assert_eq!(
        calibrated("cache").len(),
        calibrations,
        "nothing calibrated again"
    );
    assert_eq!(first.details, again.details);
    // Another model is another calibration, never a cached one.
    let rasch = LooConfig {
        calibration: CalibrationConfig {
            model: ModelKind::Rasch,
            ..CalibrationConfig::default()
        },
        ..config.clone()
    };
    leave_one_out(&m, &rasch, &mut |_| {}).unwrap();
    assert_eq!(calibrated("cache").len(), calibrations + 2);
}

#[test]
fn score_links_fit_the_held_out_pairs_of_their_method() {
    let (m, tags) = data_named("link");
    let config = LooConfig {
        held_out: None,
        seeds: 2,
        group_tags: vec!["category".into()],
        ..config(tags)
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let links = fit_links(&report, ADAPTIVE, &[10]);
    assert_eq!(links.len(), 1);
    let pairs: Vec<(f64, f64)> = report
        .details
        .iter()
        .filter(|d| d.method == ADAPTIVE)
        .map(|d| (d.predicted, d.observed))
        .collect();
    let seeded = pairs.len() == 16;
    let line = links[0].link;
    assert_eq!(line.examinees, 8);
    assert_eq!(line.n, if seeded { 16 } else { 8 });
    // The least-squares line of those pairs.
    let kept = if seeded { &pairs[..] } else { &pairs[..8] };
    let (slope, intercept) = least_squares(kept);
    assert!((line.slope - slope).abs() < 1e-9, "{line:?}");
    assert!((line.intercept - intercept).abs() < 1e-9);
    // One line per category value, least squares on that value's cells
    // of the same exams.
    let values: Vec<&str> = links[0].groups.iter().map(|g| g.value.as_str()).collect();
    assert_eq!(values, ["a", "b"]);
    for g in &links[0].groups {
        let cells: Vec<(f64, f64)> = report
            .group_details
            .iter()
            .filter(|d| d.method == ADAPTIVE && d.tag == "category" && d.value == g.value)
            .filter(|d| seeded || d.seed == config.seed)
            .map(|d| (d.predicted, d.observed))
            .collect();
        assert_eq!(g.link.n, cells.len());
        assert_eq!(g.link.examinees, 8);
        let (slope, intercept) = least_squares(&cells);
        assert!((g.link.slope - slope).abs() < 1e-9, "{g:?}");
        assert!((g.link.intercept - intercept).abs() < 1e-9, "{g:?}");
    }
}

/// Slope and intercept of the least-squares line through `pairs`.
fn least_squares(pairs: &[(f64, f64)]) -> (f64, f64) {
    let n = pairs.len() as f64;
    let mx = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (sxy / sxx, my - sxy / sxx * mx)
}

fn cell(examinee: &str, seed: u64, predicted: f64, observed: f64) -> LooGroupDetail {
    LooGroupDetail {
        calibration: "2pl".into(),
        method: "adaptive".into(),
        items: 10,
        seed,
        examinee: examinee.into(),
        tag: "category".into(),
        value: "a".into(),
        asked: 3,
        predicted,
        predicted_lo: predicted - 0.01,
        predicted_hi: predicted + 0.01,
        observed,
    }
}

#[test]
fn each_examinee_is_mapped_by_the_line_of_the_others() {
    // Four examinees on observed = 0.1 + 0.8 p exactly (two seeds each),
    // a fifth 0.2 above it: the fifth's line is exact and misses it by
    // 0.2 with a zero-width interval; the others' lines are pulled up by
    // the fifth and miss.
    let line = |p: f64| 0.1 + 0.8 * p;
    let mut ds = Vec::new();
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        for seed in 0..2 {
            let p = 0.2 + 0.1 * i as f64 + 0.01 * seed as f64;
            ds.push(cell(name, seed, p, line(p)));
        }
    }
    for seed in 0..2 {
        let p = 0.45 + 0.01 * seed as f64;
        ds.push(cell("e", seed, p, line(p) + 0.2));
    }
    let refs: Vec<&LooGroupDetail> = ds.iter().collect();
    let scored = groups::cross_validated(&refs);
    for (d, s) in ds.iter().zip(&scored) {
        let miss = (s.linked.mean - d.observed).abs();
        if d.examinee == "e" {
            assert!((miss - 0.2).abs() < 1e-12, "{miss}");
            assert!((s.linked.hi - s.linked.lo).abs() < 1e-12);
        } else {
            assert!(miss > 1e-3, "{} is linked by a line without e", d.examinee);
        }
        assert_eq!(s.predicted.mean, d.predicted);
    }
    let rows = group_rows(&ds);
    assert_eq!(rows.len(), 1, "one value: no pooled row");
    let r = &rows[0];
    assert_eq!(r.cells, 10);
    let unlinked: f64 = ds.iter().map(|d| (d.predicted - d.observed).abs()).sum();
    assert!((r.mae - unlinked / 10.0).abs() < 1e-12);
    let linked: f64 = scored
        .iter()
        .zip(&ds)
        .map(|(s, d)| (s.linked.mean - d.observed).abs())
        .sum();
    assert!((r.linked_mae - linked / 10.0).abs() < 1e-12);
    // The unlinked intervals (+-0.01) hold the observed scores only near
    // the line's fixed point p = 0.5: examinee d's two cells.
    assert!((r.coverage - 0.2).abs() < 1e-12, "{}", r.coverage);
    assert!((r.width - 0.02).abs() < 1e-12);
}

#[test]
fn group_scores_add_up_to_the_bank_score_of_the_same_exams() {
    let (m, tags) = data_named("g");
    let config = LooConfig {
        seeds: 2,
        score: BankScore::Model,
        group_tags: vec!["category".into()],
        ..config(tags)
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    // The fixture tags every third of its 60 items `a`, the rest `b`.
    let share = |v: &str| if v == "a" { 20.0 / 60.0 } else { 40.0 / 60.0 };
    let methods = ["adaptive", "random-irt", "random-accuracy"];
    for method in methods {
        let row = report.rows.iter().find(|r| r.method == method).unwrap();
        let mut asked = 0;
        for d in report.details.iter().filter(|d| d.method == method) {
            let cells: Vec<&LooGroupDetail> = report
                .group_details
                .iter()
                .filter(|g| {
                    g.tag == "category"
                        && g.method == method
                        && g.seed == d.seed
                        && g.examinee == d.examinee
                })
                .collect();
            let values: Vec<&str> = cells.iter().map(|g| g.value.as_str()).collect();
            assert_eq!(values, ["a", "b"], "{method}");
            // Every fixture examinee answered every item, so the group
            // scores weighted by group size give the whole-run score ...
            let observed: f64 = cells.iter().map(|g| share(&g.value) * g.observed).sum();
            assert!((observed - d.observed).abs() < 1e-12, "{method}");
            // ... and, the bank curve being the size-weighted mean of
            // the group curves, the predictions give the bank's: the
            // session rebuilt from the exam's answers has its posterior.
            // Plain accuracy is the groups' accuracies weighted by the
            // items drawn from each.
            let predicted = if method == "random-accuracy" {
                let drawn = cells.iter().filter(|g| g.asked > 0);
                let correct: f64 = drawn.map(|g| g.asked as f64 * g.predicted).sum();
                correct / 10.0
            } else {
                cells.iter().map(|g| share(&g.value) * g.predicted).sum()
            };
            assert!(
                (predicted - d.predicted).abs() < 1e-9,
                "{method}: {predicted} vs {}",
                d.predicted
            );
            assert!(
                cells
                    .iter()
                    .filter(|g| g.asked > 0)
                    .all(|g| g.predicted_lo.is_finite())
            );
            asked += cells.iter().map(|g| g.asked).sum::<usize>();
        }
        let exams = report.details.iter().filter(|d| d.method == method).count();
        assert!((asked as f64 / exams as f64 - row.mean_length).abs() < 1e-12);
        // The bank-score rows of the group summary are the row's own.
        let bank = report
            .group_rows
            .iter()
            .find(|r| r.method == method && r.tag == BANK_TAG)
            .unwrap();
        assert!((bank.mae - row.mae).abs() < 1e-12, "{method}");
        assert_eq!(bank.coverage.is_nan(), row.coverage.is_nan());
        if !row.coverage.is_nan() {
            assert!((bank.coverage - row.coverage).abs() < 1e-12);
        }
        let by_value: Vec<&LooGroupRow> = report
            .group_rows
            .iter()
            .filter(|r| r.method == method && r.tag == "category")
            .collect();
        let values: Vec<&str> = by_value.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, ["a", "b", POOLED]);
        assert_eq!(by_value[2].cells, by_value[0].cells + by_value[1].cells);
        assert_eq!(by_value[0].cells, 2 * 2, "2 held out x 2 seeds per value");
    }
    // Rows without group scores have none.
    assert!(
        report
            .group_details
            .iter()
            .all(|g| methods.contains(&g.method.as_str()))
    );
}

#[test]
fn an_unknown_tag_is_refused() {
    let (m, tags) = data_named("u");
    let config = LooConfig {
        group_tags: vec!["flavour".into()],
        ..config(tags)
    };
    let e = leave_one_out(&m, &config, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("flavour"), "{e}");
}
