use std::sync::Mutex;

use super::*;
use fangsheng::data::Cell;
use fangsheng::loo::LooDetail;
use fangsheng::model::{Irf, Logistic, ResponseModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The examinee sets passed to calibration by every test of this module
/// (tests tell theirs apart by examinee names).
static CALIBRATED: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

pub(super) fn record_calibration(train: &ResponseMatrix) {
    if let Ok(mut c) = CALIBRATED.lock() {
        c.push(train.examinees().iter().map(|e| e.to_string()).collect());
    }
}

/// The calibrations recorded so far whose examinees are named `prefix`N.
pub(super) fn calibrated(prefix: &str) -> Vec<Vec<String>> {
    CALIBRATED
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.iter().all(|e| e.starts_with(prefix)))
        .cloned()
        .collect()
}

/// 8 simulated examinees x 60 two-category-tagged 2PL items.
fn data() -> (ResponseMatrix, HashMap<ItemId, Tags>) {
    data_named("m")
}

/// A one-length, one-seed run of the 2PL with the default slope prior,
/// holding out examinees 0 and 4, offering `variants`.
pub(crate) fn config(tags: HashMap<ItemId, Tags>, variants: &[&str]) -> LabConfig {
    LabConfig {
        calibration: CalibrationConfig::default(),
        models: vec![ModelKind::TwoPl],
        lengths: vec![10],
        seeds: 1,
        seed: 1,
        plan: Plan::default(),
        score: BankScore::Blend,
        variants: variants
            .iter()
            .map(|v| Variant::parse(v).unwrap())
            .collect(),
        tags,
        held_out: Some(vec![0, 4]),
        cache: None,
        slope_priors: vec![None],
        inner_choice: false,
        inner_refit: false,
        inner_link: false,
        rescore_slope_prior: None,
        group_tags: Vec::new(),
        no_answer: None,
        record_asked: false,
        on_calibration: Some(Arc::new(record_calibration)),
    }
}

/// [`data`] with examinees named `prefix`0 to `prefix`7.
pub(crate) fn data_named(prefix: &str) -> (ResponseMatrix, HashMap<ItemId, Tags>) {
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
fn each_slope_prior_and_subscore_variant_gets_its_rows() {
    let (m, tags) = data();
    let config = LabConfig {
        slope_priors: vec![None, Some(0.25)],
        inner_choice: true,
        ..config(
            tags,
            &[
                "content=category",
                "content=category+subscore=category",
                "content=neyman:category",
            ],
        )
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let names: Vec<&str> = report
        .calibration_seconds
        .iter()
        .map(|c| c.0.as_str())
        .collect();
    assert_eq!(names, ["2pl", "2pl (ln a ~ N(0, 0.25))"]);
    for cal in names {
        let methods: Vec<&str> = report
            .rows
            .iter()
            .filter(|r| r.calibration == cal)
            .map(|r| r.method.as_str())
            .collect();
        for m in [
            "irt-full-run",
            "adaptive",
            "adaptive content=category",
            "adaptive content=category+subscore=category",
            "adaptive content=neyman:category",
            "random-irt",
            "adaptive inner-choice",
        ] {
            assert!(methods.contains(&m), "{cal}: {m} missing from {methods:?}");
        }
    }
    // One inner choice per calibration and held-out examinee, among
    // the base plan and the variants.
    assert_eq!(report.inner_choices.len(), 4);
    for c in &report.inner_choices {
        assert!(
            [
                "base",
                "content=category",
                "content=category+subscore=category",
                "content=neyman:category"
            ]
            .contains(&c.variant.as_str()),
            "{c:?}"
        );
    }
    // The stronger slope prior changes the calibration, hence the floor.
    let floor: Vec<f64> = report
        .rows
        .iter()
        .filter(|r| r.method == "irt-full-run")
        .map(|r| r.mae)
        .collect();
    assert!((floor[0] - floor[1]).abs() > 1e-9, "{floor:?}");
}

/// Rescoring with the calibration that chose the items gives back the
/// exam's own predictions; with another slope prior it moves them.
#[test]
fn rescored_rows_score_the_same_exams_with_the_second_calibration() {
    let (m, tags) = data_named("re");
    let pred = |report: &LabReport, method: &str| -> Vec<f64> {
        report
            .details
            .iter()
            .filter(|d| d.method == method)
            .map(|d| d.predicted)
            .collect()
    };
    let same = LabConfig {
        slope_priors: vec![Some(0.5)],
        rescore_slope_prior: Some(0.5),
        ..config(
            tags.clone(),
            &["content=category", "exposure=randomesque:3"],
        )
    };
    let report = leave_one_out(&m, &same, &mut |_| {}).unwrap();
    for plan in [
        "adaptive",
        "adaptive content=category",
        "adaptive exposure=randomesque:3",
    ] {
        let own = pred(&report, plan);
        let again = pred(&report, &format!("{plan} rescored"));
        assert_eq!(own.len(), again.len(), "{plan}");
        assert!(!own.is_empty());
        for (a, b) in own.iter().zip(&again) {
            assert!((a - b).abs() < 1e-9, "{plan}: {a} vs {b}");
        }
    }
    let other = LabConfig {
        rescore_slope_prior: Some(0.25),
        ..config(tags, &["content=category"])
    };
    let report = leave_one_out(&m, &other, &mut |_| {}).unwrap();
    let own = pred(&report, "adaptive content=category");
    let again = pred(&report, "adaptive content=category rescored");
    assert_eq!(own.len(), again.len());
    assert!(
        own.iter().zip(&again).any(|(a, b)| (a - b).abs() > 1e-4),
        "{own:?} {again:?}"
    );
    assert!(again.iter().all(|p| (0.0..=1.0).contains(p)));
}

/// The population is scored on first use, by `prior=empirical`
/// variants only; such a variant still gets its rows beside others.
#[test]
fn empirical_prior_variant_scores_the_population_on_demand() {
    let (m, tags) = data_named("pop");
    let config = LabConfig {
        held_out: Some(vec![0, 7]),
        ..config(tags, &["content=category", "prior=empirical"])
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    for method in ["adaptive content=category", "adaptive prior=empirical"] {
        let row = report.rows.iter().find(|r| r.method == method);
        assert!(row.is_some_and(|r| r.mae.is_finite()), "{method}: {row:?}");
    }
    // The fold's population is the calibration examinees' EAP spread.
    let data = Data {
        responses: &m,
        answered: None,
    };
    let fold = fold(data, &config, ModelKind::TwoPl, None, 0, None).unwrap();
    assert!(fold.population.lock().unwrap().is_none());
    let p = fold.population().unwrap();
    assert_eq!(*fold.population.lock().unwrap(), Some(p));
    assert!(p.sd > 0.5 && p.sd < 2.5 && p.mean.abs() < 1.0, "{p:?}");
}

#[test]
fn recorded_exams_hold_the_items_and_answers_behind_each_prediction() {
    let (m, tags) = data();
    let config = LabConfig {
        seeds: 2,
        record_asked: true,
        ..config(tags, &["content=category"])
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let plain = leave_one_out(
        &m,
        &LabConfig {
            record_asked: false,
            ..config.clone()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(plain.asked.is_empty());
    assert_eq!(plain.details, report.details, "recording changes nothing");

    let items = m.item_index();
    let recorded = |e: &str, id: &ItemId| {
        let row = m.examinees().iter().position(|x| x.as_str() == e).unwrap();
        let (its, xs) = m.examinee_responses(row);
        let j = items[id.as_str()] as u32;
        its.iter().position(|&i| i == j).map(|p| xs[p])
    };
    let exams: Vec<&LooDetail> = report
        .details
        .iter()
        .filter(|d| d.method != "irt-full-run")
        .collect();
    // One record per exam (the floor asks nothing), in the details' order.
    assert_eq!(report.asked.len(), exams.len());
    for (d, a) in exams.iter().zip(&report.asked) {
        let key = |m: &str, k, s, e: &str| (m.to_owned(), k, s, e.to_owned());
        assert_eq!(
            key(&a.method, a.items, a.seed, &a.examinee),
            key(&d.method, d.items, d.seed, &d.examinee)
        );
        assert_eq!(a.asked.len(), d.items, "{} of {}", d.method, d.examinee);
        let distinct: std::collections::HashSet<&ItemId> = a.asked.iter().map(|x| &x.0).collect();
        assert_eq!(distinct.len(), a.asked.len(), "an item asked twice");
        for (id, score) in &a.asked {
            assert_eq!(*score, recorded(&a.examinee, id), "{id} of {}", a.examinee);
        }
        if d.method == "random-accuracy" {
            // The plain accuracy is the mean of the recorded answers.
            let mean =
                a.asked.iter().map(|x| f64::from(x.1.unwrap())).sum::<f64>() / a.asked.len() as f64;
            assert!(
                (mean - d.predicted).abs() < 1e-12,
                "{mean} vs {}",
                d.predicted
            );
        }
    }
}

/// A `subscore=TAG` plan's group scores come from its per-group model:
/// shrunk predictions without an interval, which add up (weighted by group
/// size) to the plan's bank score.
#[test]
fn subscore_group_scores_are_the_models_own_and_add_up_to_its_bank_score() {
    let (m, tags) = data_named("sub");
    let config = LabConfig {
        seeds: 2,
        score: BankScore::Model,
        group_tags: vec!["category".into()],
        ..config(tags, &["content=category+subscore=category"])
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let method = "adaptive content=category+subscore=category";
    // The fixture tags every third of its 60 items `a`, the rest `b`.
    let share = |v: &str| if v == "a" { 20.0 / 60.0 } else { 40.0 / 60.0 };
    let details: Vec<&LooDetail> = report
        .details
        .iter()
        .filter(|d| d.method == method)
        .collect();
    assert_eq!(details.len(), 4, "2 held out x 2 seeds");
    for d in details {
        let cells: Vec<_> = report
            .group_details
            .iter()
            .filter(|g| {
                g.tag == "category"
                    && g.method == method
                    && g.seed == d.seed
                    && g.examinee == d.examinee
            })
            .collect();
        assert_eq!(cells.len(), 2);
        assert!(
            cells
                .iter()
                .all(|g| g.predicted_lo.is_nan() && g.predicted_hi.is_nan())
        );
        let predicted: f64 = cells.iter().map(|g| share(&g.value) * g.predicted).sum();
        assert!(
            (predicted - d.predicted).abs() < 1e-9,
            "{predicted} vs {}",
            d.predicted
        );
    }
}
