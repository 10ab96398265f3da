//! End-to-end tests of `fangsheng diagnose` and `fangsheng bank diff`.

mod common;

use std::path::{Path, PathBuf};

use common::{fangsheng, path_str, stderr, stdout};
use fangsheng::bank::{ItemParams, Metadata, ParamSet};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::simulate_responses;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A 40-item bank (b from -2 to 1.9), with standard errors, saved to `path`;
/// items listed in `shift` have their b moved by 1.
fn write_bank(path: &Path, shift: &[usize]) -> ParamSet {
    let items = (0..40)
        .map(|j| ItemParams {
            id: format!("q{j:02}").into(),
            kind: ModelKind::TwoPl,
            irf: Logistic::two_pl(
                1.2,
                -2.0 + 0.1 * j as f64 + if shift.contains(&j) { 1.0 } else { 0.0 },
            )
            .unwrap()
            .into(),
            se: Some(vec![0.1, 0.1, f64::NAN, f64::NAN]),
        })
        .collect();
    let set = ParamSet::new(items, Metadata::default()).unwrap();
    set.save_json(path).unwrap();
    set
}

/// Long responses of 12 models (m00..m11, thetas -1.5..2.9) to the bank.
fn write_responses(path: &Path, set: &ParamSet) {
    let irfs: Vec<Irf> = set.items().iter().map(|p| p.irf.clone()).collect();
    let thetas: Vec<f64> = (0..12).map(|i| -1.5 + 0.4 * i as f64).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let ids = set.items().iter().map(|p| p.id.clone()).collect();
    let m = simulate_responses(&irfs, &thetas, 1.0, Some(ids), &mut rng);
    let mut text = String::from("model,item,correct\n");
    for c in m.cells() {
        text += &format!(
            "m{:02},{},{}\n",
            c.examinee,
            m.items()[c.item as usize],
            c.score
        );
    }
    std::fs::write(path, text).unwrap();
}

/// The bank (`p.json`) and its responses (`r.csv`) written in `dir`.
fn bank_and_responses(dir: &Path) -> (PathBuf, PathBuf) {
    let (p, r) = (dir.join("p.json"), dir.join("r.csv"));
    let set = write_bank(&p, &[]);
    write_responses(&r, &set);
    (p, r)
}

#[test]
fn saturation_from_responses_and_from_abilities() {
    let dir = tempfile::tempdir().unwrap();
    let (p, r) = bank_and_responses(dir.path());
    let a = dir.path().join("a.csv");
    let (ps, rs) = (path_str(&p), path_str(&r));

    let o = fangsheng(&["diagnose", "saturation", "--params", ps, "--responses", rs]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("Top 3 models") && text.contains("Recommendation:"),
        "{text}"
    );
    assert!(text.contains("Observed:"), "{text}");

    std::fs::write(&a, "model,theta\nweak,-1\nstrong,3.2\n").unwrap();
    let json_out = dir.path().join("s.json");
    let o = fangsheng(&[
        "diagnose",
        "saturation",
        "--params",
        ps,
        "--abilities",
        a.to_str().unwrap(),
        "--top",
        "1",
        "--json",
        "--out",
        json_out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    assert_eq!(v["top_models"][0]["model"], "strong");
    assert_eq!(v["frontier_theta"], 3.2);
    assert!(v["adaptive_se"].as_f64().unwrap() > 0.3);
    assert!(v["recommendation"]["b_range"][0].as_f64().unwrap() >= 2.7);

    let o = fangsheng(&["diagnose", "saturation", "--params", ps]);
    assert!(!o.status.success());
    let o = fangsheng(&[
        "diagnose",
        "saturation",
        "--params",
        "missing.json",
        "--abilities",
        a.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.json"), "{}", stderr(&o));
}

#[test]
fn contamination_with_a_listed_cohort_and_a_metadata_file() {
    let dir = tempfile::tempdir().unwrap();
    let (p, r) = bank_and_responses(dir.path());
    let old = dir.path().join("old.json");
    write_bank(&old, &[3, 7]);
    let (ps, rs) = (path_str(&p), path_str(&r));

    let o = fangsheng(&[
        "diagnose",
        "contamination",
        "--params",
        ps,
        "--responses",
        rs,
        "--cohort",
        "m01,m03,m05,m07,m09",
        "--previous",
        old.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Cohort: 5 models against 7"), "{text}");
    assert!(
        text.contains("(c) Drift") && text.contains("2 drifted"),
        "{text}"
    );

    let o = fangsheng(&[
        "diagnose",
        "contamination",
        "--params",
        ps,
        "--responses",
        rs,
        "--cohort",
        "m01,m03",
        "--dif",
        "mh",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    assert!(
        csv.starts_with("check,id,effect,statistic,p_value,q_value,flagged\n"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("item_dif,")).count(),
        40
    );
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("person_fit,")).count(),
        12
    );

    let meta = dir.path().join("meta.csv");
    std::fs::write(
        &meta,
        "model,release_date\nm00,2023-01-01\nm10,2024-08-01\nm11,2024-09-15\n",
    )
    .unwrap();
    let o = fangsheng(&[
        "diagnose",
        "contamination",
        "--params",
        ps,
        "--responses",
        rs,
        "--models-meta",
        meta.to_str().unwrap(),
        "--after",
        "2024-06-30",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["n_focal"], 2);
    assert_eq!(v["items"].as_array().unwrap().len(), 40);
    assert_eq!(v["method"], "likelihood_ratio");

    let o = fangsheng(&[
        "diagnose",
        "contamination",
        "--params",
        ps,
        "--responses",
        rs,
        "--cohort",
        "nobody",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nobody"), "{}", stderr(&o));
}

#[test]
fn bank_diff_lists_moved_added_and_removed_items() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = (dir.path().join("v1.json"), dir.path().join("v2.json"));
    write_bank(&v1, &[]);
    let moved = write_bank(&v2, &[2, 5]);
    // v2 without q39 and with a new item.
    let mut items: Vec<ItemParams> = moved.items()[..39].to_vec();
    items.push(ItemParams {
        id: "fresh".into(),
        kind: ModelKind::TwoPl,
        irf: Logistic::two_pl(1.0, 0.0).unwrap().into(),
        se: None,
    });
    ParamSet::new(items, Metadata::default())
        .unwrap()
        .save_json(&v2)
        .unwrap();
    let o = fangsheng(&["bank", "diff", v1.to_str().unwrap(), v2.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("2 drifted beyond 2 combined SEs"), "{text}");
    assert!(text.contains("q02") && text.contains("q05"), "{text}");
    assert!(
        text.contains("added: fresh") && text.contains("removed: q39"),
        "{text}"
    );
    // A shift of 1 against a combined SE of 0.141 is z = 7.07: below k = 8 nothing drifts.
    let o = fangsheng(&[
        "bank",
        "diff",
        v1.to_str().unwrap(),
        v2.to_str().unwrap(),
        "--k",
        "8",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["drifted"] == false)
    );
    assert_eq!(v["removed"][0], "q39");
}
