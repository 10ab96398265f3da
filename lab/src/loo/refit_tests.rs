use super::tests::{calibrated, data_named};
use super::*;
use fangsheng::loo::{LooDetail, LooRow};

fn config(tags: HashMap<ItemId, Tags>, in_sample: bool, refit: bool) -> LabConfig {
    LabConfig {
        lengths: vec![8, 16],
        seeds: 2,
        seed: 5,
        slope_priors: Vec::new(),
        inner_choice: in_sample,
        inner_refit: refit,
        ..super::tests::config(
            tags,
            &[
                "content=category",
                "select=closest-b",
                "exposure=randomesque:3",
            ],
        )
    }
}

const OFFERED: [&str; 4] = [
    "base",
    "content=category",
    "select=closest-b",
    "exposure=randomesque:3",
];

/// `c` scored every offered plan, in order, and picked the lowest.
fn assert_picks_the_lowest_offered(c: &InnerChoice) {
    let names: Vec<&str> = c.inner_mae.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, OFFERED);
    let best = c
        .inner_mae
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(c.variant, best.0, "{c:?}");
}

#[test]
fn refit_picks_one_offered_plan_per_fold_without_the_held_out_examinee() {
    let (m, tags) = data_named("nest");
    let dir = tempfile::tempdir().unwrap();
    let config = LabConfig {
        cache: Some(dir.path().to_path_buf()),
        ..config(tags, false, true)
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let methods: Vec<&str> = report.rows.iter().map(|r| r.method.as_str()).collect();
    assert!(
        methods.contains(&"adaptive inner-choice-refit"),
        "{methods:?}"
    );
    assert!(!methods.contains(&"adaptive inner-choice"), "{methods:?}");

    // One choice per length and fold, among the offered plans, the one
    // with the lowest inner MAE.
    assert_eq!(report.inner_choices.len(), 4);
    for c in &report.inner_choices {
        assert_eq!(c.mode, "refit");
        assert!(c.inner_mae.iter().all(|s| s.1.is_finite() && s.1 >= 0.0));
        assert_picks_the_lowest_offered(c);
    }

    // The calibrations: per held-out m, the outer one without m and
    // one without {m, j} for each of the 7 others; m never among them.
    let sets = calibrated("nest");
    let all: Vec<String> = m.examinees().iter().map(|e| e.to_string()).collect();
    let mut missing: Vec<Vec<String>> = sets
        .iter()
        .map(|s| all.iter().filter(|e| !s.contains(e)).cloned().collect())
        .collect();
    missing.sort();
    let mut expected: Vec<Vec<String>> = Vec::new();
    for held in [0, 4] {
        expected.push(vec![all[held].clone()]);
        for j in (0..8).filter(|&j| j != held) {
            let mut pair = vec![all[held].clone(), all[j].clone()];
            pair.sort();
            expected.push(pair);
        }
    }
    expected.sort();
    assert_eq!(missing, expected);

    // Every calibration was cached (the inner ones under both names),
    // and a rerun reads them all back: same picks, no new calibration.
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 16, "{files:?}");
    assert!(files.contains(&"loo-2pl-inner-nest4--nest0.json".to_owned()));
    let again = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    assert_eq!(calibrated("nest").len(), sets.len());
    assert_eq!(again.inner_choices, report.inner_choices);
}

#[test]
fn refit_leaves_the_in_sample_choice_unchanged() {
    let (m, tags) = data_named("same");
    let alone = leave_one_out(&m, &config(tags.clone(), true, false), &mut |_| {}).unwrap();
    let both = leave_one_out(&m, &config(tags, true, true), &mut |_| {}).unwrap();
    // As text: the floor's exposure is NaN, which equals nothing.
    let without_time = |rows: &[LooRow]| -> Vec<String> {
        rows.iter()
            .filter(|r| r.method != "adaptive inner-choice-refit")
            .map(|r| {
                format!(
                    "{:?}",
                    LooRow {
                        seconds: 0.0,
                        ..r.clone()
                    }
                )
            })
            .collect()
    };
    assert_eq!(without_time(&alone.rows), without_time(&both.rows));
    assert!(
        alone
            .rows
            .iter()
            .any(|r| r.method == "adaptive inner-choice")
    );
    assert_eq!(
        both.rows
            .iter()
            .filter(|r| r.method == "adaptive inner-choice-refit")
            .count(),
        2
    );
    let in_sample: Vec<&InnerChoice> = both
        .inner_choices
        .iter()
        .filter(|c| c.mode == "in-sample")
        .collect();
    assert_eq!(in_sample, alone.inner_choices.iter().collect::<Vec<_>>());
    assert!(alone.inner_choices.iter().all(|c| c.mode == "in-sample"));
}

#[test]
fn linked_rows_map_each_folds_predictions_by_one_line() {
    let (m, tags) = data_named("link");
    let config = LabConfig {
        inner_link: true,
        ..config(tags, false, false)
    };
    let report = leave_one_out(&m, &config, &mut |_| {}).unwrap();
    let methods: Vec<&str> = report.rows.iter().map(|r| r.method.as_str()).collect();
    for plan in [
        "adaptive",
        "adaptive content=category",
        "adaptive select=closest-b",
        "adaptive exposure=randomesque:3",
    ] {
        assert!(methods.contains(&plan), "{methods:?}");
        let linked = format!("{plan} linked");
        assert!(methods.contains(&linked.as_str()), "{methods:?}");
    }
    assert!(methods.contains(&"adaptive inner-choice-refit linked"));
    // The unlinked refit choice is a separate option.
    assert!(!methods.contains(&"adaptive inner-choice-refit"));

    // Within a fold, plan and length, the linked prediction is one
    // increasing line (clamped to [0, 1]) of the unlinked one: check
    // it on the seeded plan, whose seeds give different predictions.
    let pred = |method: &str, k: usize, who: &str| -> Vec<f64> {
        report
            .details
            .iter()
            .filter(|d| d.method == method && d.items == k && d.examinee == who)
            .map(|d| d.predicted)
            .collect()
    };
    // The random-item IRT baseline is linked the same way, by a line
    // fitted on the inner examinees' random-item exams.
    for (raw_method, linked_method) in [
        (
            "adaptive exposure=randomesque:3",
            "adaptive exposure=randomesque:3 linked",
        ),
        ("random-irt", "random-irt linked"),
    ] {
        let mut lines_checked = 0;
        for who in &report.held_out {
            for k in [8, 16] {
                let raw = pred(raw_method, k, who);
                let linked = pred(linked_method, k, who);
                assert_eq!(raw.len(), 2);
                assert_eq!(linked.len(), 2);
                if (raw[0] - raw[1]).abs() < 1e-6 || linked.iter().any(|&l| l <= 0.0 || l >= 1.0) {
                    continue;
                }
                let slope = (linked[0] - linked[1]) / (raw[0] - raw[1]);
                // The inner fold's 7 examinees, nearly all scored well
                // by the bank, give a slope near 1: not flat, not
                // reversed.
                assert!(
                    slope > 0.2 && slope < 5.0,
                    "{linked_method} {who} {k}: {slope}"
                );
                lines_checked += 1;
            }
        }
        assert!(
            lines_checked > 0,
            "{linked_method}: no fold had two distinct predictions"
        );
    }

    // A linked interval is the fold's prediction interval: centred on
    // the linked prediction (unless clamped) with one half-width per
    // fold and length, whatever the seed.
    for who in &report.held_out {
        for k in [8, 16] {
            let halves: Vec<f64> = report
                .details
                .iter()
                .filter(|d| {
                    d.method == "adaptive exposure=randomesque:3 linked"
                        && d.items == k
                        && &d.examinee == who
                        && d.predicted_lo > 0.0
                        && d.predicted_hi < 1.0
                })
                .map(|d| {
                    let half = (d.predicted_hi - d.predicted_lo) / 2.0;
                    assert!((d.predicted - d.predicted_lo - half).abs() < 1e-9, "{d:?}");
                    half
                })
                .collect();
            assert!(
                halves
                    .iter()
                    .all(|h| (h - halves[0]).abs() < 1e-12 && *h > 0.0)
            );
        }
    }
    // Each row's coverage is the share of its intervals that hold the
    // observed score.
    for r in &report.rows {
        let with_interval: Vec<&LooDetail> = report
            .details
            .iter()
            .filter(|d| d.method == r.method && d.items == r.items)
            .filter(|d| d.predicted_lo.is_finite())
            .collect();
        if with_interval.is_empty() {
            assert!(r.coverage.is_nan(), "{}", r.method);
            continue;
        }
        let inside = with_interval
            .iter()
            .filter(|d| d.predicted_lo <= d.observed && d.observed <= d.predicted_hi)
            .count();
        let share = inside as f64 / with_interval.len() as f64;
        assert!((r.coverage - share).abs() < 1e-12, "{}", r.method);
        assert!(r.width > 0.0, "{}", r.method);
    }

    // One linked pick per fold and length, the plan with the lowest
    // cross-validated linked inner MAE.
    let picks: Vec<&InnerChoice> = report
        .inner_choices
        .iter()
        .filter(|c| c.mode == "refit-linked")
        .collect();
    assert_eq!(picks.len(), 4);
    for c in picks {
        assert_picks_the_lowest_offered(c);
        // The pick's linked prediction is the held-out row's value.
        let method = if c.variant == "base" {
            "adaptive linked".to_owned()
        } else {
            format!("adaptive {} linked", c.variant)
        };
        assert_eq!(
            pred("adaptive inner-choice-refit linked", c.items, &c.examinee),
            pred(&method, c.items, &c.examinee)
        );
    }
}
