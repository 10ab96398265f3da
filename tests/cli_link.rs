//! End-to-end runs of `fangsheng calibrate --anchor` and `fangsheng link`
//! on simulated response files with known truth.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::stderr;
use fangsheng::bank::{Metadata, ParamSet};
use fangsheng::link::Transform;
use fangsheng::model::{Irf, Logistic};
use fangsheng::simulate::{draw_score, standard_normals};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const ITEMS: usize = 30;

/// Runs the binary with a fixed `SOURCE_DATE_EPOCH` (86,400 s: 1970-01-02).
fn fangsheng(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "86400")
        .output()
        .expect("run fangsheng")
}

fn ok(args: &[&str]) -> Output {
    let o = fangsheng(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn fail(args: &[&str]) -> String {
    let o = fangsheng(args);
    assert!(!o.status.success(), "{args:?} should fail");
    stderr(&o)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn item<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|it| it["id"] == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

fn id(j: usize) -> String {
    format!("q{j:02}")
}

/// A long response file: `n` examinees from `N(mean, sd^2)` answering
/// `items` of the 2PL bank.
fn write_responses(
    path: &Path,
    truth: &[Irf],
    items: std::ops::Range<usize>,
    n: usize,
    (mean, sd): (f64, f64),
    rng: &mut ChaCha8Rng,
) {
    let mut text = String::from("model,item,correct\n");
    for (i, z) in standard_normals(n, rng).iter().enumerate() {
        let theta = mean + sd * z;
        for j in items.clone() {
            let x = draw_score(&truth[j], theta, rng);
            text.push_str(&format!("m{i:04},{},{x}\n", id(j)));
        }
    }
    std::fs::write(path, text).unwrap();
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    v1: PathBuf,
    /// Items 5..30 answered by a cohort from N(0.8, 1.2^2).
    new_runs: PathBuf,
}

/// V1: items 0..25 calibrated on 500 examinees from N(0, 1).
fn setup(seed: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let truth: Vec<Irf> = (0..ITEMS)
        .map(|_| {
            Logistic::two_pl(rng.random_range(0.8..2.0), rng.random_range(-1.5..1.5))
                .unwrap()
                .into()
        })
        .collect();
    let (old_runs, new_runs) = (path.join("old.csv"), path.join("new.csv"));
    write_responses(&old_runs, &truth, 0..25, 500, (0.0, 1.0), &mut rng);
    write_responses(&new_runs, &truth, 5..ITEMS, 500, (0.8, 1.2), &mut rng);
    let v1 = path.join("v1.json");
    ok(&[
        "calibrate",
        "-r",
        s(&old_runs),
        "--bank",
        "sim",
        "--version",
        "v1",
        "-q",
        "-o",
        s(&v1),
    ]);
    Setup {
        _dir: dir,
        dir: path,
        v1,
        new_runs,
    }
}

fn sha256(path: &Path) -> Value {
    Metadata::file_record(path).unwrap()["sha256"].clone()
}

#[test]
fn anchored_recalibration_keeps_anchors_carries_the_rest_and_records_provenance() {
    let st = setup(21);
    let v2 = st.dir.join("v2.json");
    let args = [
        "calibrate",
        "-r",
        s(&st.new_runs),
        "--anchor",
        s(&st.v1),
        "--version",
        "v2",
        "-q",
        "-o",
        s(&v2),
    ];
    let o = ok(&args);
    assert!(
        stderr(&o).contains("anchored: 20 items fixed"),
        "{}",
        stderr(&o)
    );
    let (a, b) = (json(&st.v1), json(&v2));
    // Complete: 20 anchors answered, 5 carried over, 5 new.
    assert_eq!(b["items"].as_array().unwrap().len(), ITEMS);
    for j in 0..25 {
        assert_eq!(item(&a, &id(j)), item(&b, &id(j)), "anchor {}", id(j));
    }
    // The new cohort's scale: mean 0.8, SD 1.2 on V1's scale (sampling and
    // V1's estimation error allow 0.2).
    let scale = &b["metadata"]["scale"];
    let (mean, sd) = (
        scale["mean"].as_f64().unwrap(),
        scale["sd"].as_f64().unwrap(),
    );
    assert!((mean - 0.8).abs() < 0.2, "{scale}");
    assert!((sd - 1.2).abs() < 0.2, "{scale}");
    let p = &b["metadata"]["provenance"];
    assert_eq!(p["parent"]["version"], "v1");
    assert_eq!(p["parent"]["sha256"], sha256(&st.v1));
    assert_eq!(p["sources"][0]["sha256"], sha256(&st.new_runs));
    assert_eq!(p["date"], "1970-01-02");
    assert_eq!(p["model"], "2pl");
    assert_eq!(p["anchor"]["carried_over"], 5);
    assert_eq!(p["anchor"]["new_items"], 5);
    assert!(p["log_likelihood"].is_number() && p["bic"].is_number());
    // Same input and SOURCE_DATE_EPOCH: byte-identical.
    let again = st.dir.join("v2b.json");
    let mut args2 = args;
    args2[args2.len() - 1] = s(&again);
    ok(&args2);
    assert_eq!(std::fs::read(&v2).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn separate_calibration_linked_by_stocking_lord_matches_the_anchored_one() {
    let st = setup(22);
    let (free, linked, anchored) = (
        st.dir.join("free.json"),
        st.dir.join("linked.json"),
        st.dir.join("anchored.json"),
    );
    ok(&["calibrate", "-r", s(&st.new_runs), "-q", "-o", s(&free)]);
    ok(&[
        "calibrate",
        "-r",
        s(&st.new_runs),
        "--anchor",
        s(&st.v1),
        "-q",
        "-o",
        s(&anchored),
    ]);
    let o = ok(&["link", s(&st.v1), s(&free), "--out", s(&linked)]);
    assert!(stderr(&o).contains("20 common items"), "{}", stderr(&o));
    let l = json(&linked);
    let rec = &l["metadata"]["provenance"]["link"];
    let (a, b) = (rec["A"].as_f64().unwrap(), rec["B"].as_f64().unwrap());
    println!("CLI Stocking-Lord on separate calibrations: A = {a:.4}, B = {b:.4} (truth 1.2, 0.8)");
    assert_eq!(rec["method"], "stocking-lord");
    assert_eq!(rec["common_items"], 20);
    assert!((a - 1.2).abs() < 0.15 && (b - 0.8).abs() < 0.15, "{rec}");
    let parents = &l["metadata"]["provenance"]["parents"];
    assert_eq!(parents["old"]["sha256"], sha256(&st.v1));
    assert_eq!(parents["new"]["sha256"], sha256(&free));
    // The new items agree with the anchored calibration's.
    let an = json(&anchored);
    for j in 25..ITEMS {
        let (x, y) = (item(&l, &id(j)), item(&an, &id(j)));
        let (bx, by) = (x["b"].as_f64().unwrap(), y["b"].as_f64().unwrap());
        assert!((bx - by).abs() < 0.2, "{}: {bx} vs {by}", id(j));
    }
    // Mean-sigma is the documented alternative.
    let ms = st.dir.join("ms.json");
    ok(&[
        "link",
        s(&st.v1),
        s(&free),
        "--method",
        "mean-sigma",
        "--out",
        s(&ms),
    ]);
    assert_eq!(
        json(&ms)["metadata"]["provenance"]["link"]["method"],
        "mean-sigma"
    );
}

#[test]
fn link_recovers_a_known_transformation_exactly() {
    let st = setup(23);
    let v1 = ParamSet::load(&st.v1).unwrap().params;
    // NEW = V1 seen on a scale with theta_v1 = 1.35 theta_new - 0.6.
    let (big_a, big_b) = (1.35, -0.6);
    let to_new = Transform {
        a: 1.0 / big_a,
        b: -big_b / big_a,
    };
    let new = to_new.apply_set(&v1).unwrap();
    let new_path = st.dir.join("new.json");
    new.save_json(&new_path).unwrap();
    let common = st.dir.join("common.txt");
    std::fs::write(&common, "id\n# a subset\nq00\nq03\nq07\nq11\nq19\n").unwrap();
    for method in ["stocking-lord", "mean-sigma", "mean-mean"] {
        let out = st.dir.join(format!("{method}.json"));
        ok(&[
            "link",
            s(&st.v1),
            s(&new_path),
            "--method",
            method,
            "--common-items",
            s(&common),
            "--out",
            s(&out),
        ]);
        let l = json(&out);
        let rec = &l["metadata"]["provenance"]["link"];
        let (a, b) = (rec["A"].as_f64().unwrap(), rec["B"].as_f64().unwrap());
        assert!((a - big_a).abs() < 1e-3, "{method}: A {a}");
        assert!((b - big_b).abs() < 1e-3, "{method}: B {b}");
        assert_eq!(rec["common_items"], 5);
        // Linked items equal V1's, standard errors included.
        let v = json(&st.v1);
        for j in 0..25 {
            let (x, y) = (item(&l, &id(j)), item(&v, &id(j)));
            for key in ["a", "b"] {
                let (p, q) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
                assert!((p - q).abs() < 1e-6, "{method} {} {key}: {p} vs {q}", id(j));
            }
        }
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let st = setup(24);
    let out = st.dir.join("out.json");
    let runs = s(&st.new_runs);
    // Anchor file not found.
    let e = fail(&[
        "calibrate",
        "-r",
        runs,
        "--anchor",
        "/no/such/v1.json",
        "-o",
        s(&out),
    ]);
    assert!(e.contains("/no/such/v1.json"), "{e}");
    // No anchor item in the responses.
    let other = st.dir.join("other.json");
    let v1 = ParamSet::load(&st.v1).unwrap().params;
    let renamed: Vec<_> = v1
        .items()
        .iter()
        .map(|it| fangsheng::bank::ItemParams {
            id: format!("x{}", it.id).into(),
            ..it.clone()
        })
        .collect();
    ParamSet::new(renamed, Metadata::default())
        .unwrap()
        .save_json(&other)
        .unwrap();
    let e = fail(&[
        "calibrate",
        "-r",
        runs,
        "--anchor",
        s(&other),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("none of the 25 anchor items"), "{e}");
    // Anchors calibrated under another model than the one asked for.
    let e = fail(&[
        "calibrate",
        "-r",
        runs,
        "--model",
        "3pl",
        "--anchor",
        s(&st.v1),
        "-o",
        s(&out),
    ]);
    assert!(e.contains("item 'q05'") && e.contains("2pl"), "{e}");
    assert!(!out.exists());
    // Link with fewer than 2 common items.
    let one = st.dir.join("one.txt");
    std::fs::write(&one, "q03\n").unwrap();
    let e = fail(&[
        "link",
        s(&st.v1),
        s(&st.v1),
        "--common-items",
        s(&one),
        "--out",
        s(&out),
    ]);
    assert!(e.contains("at least 2 common items, found 1"), "{e}");
    let e = fail(&["link", s(&st.v1), s(&other), "--out", s(&out)]);
    assert!(e.contains("at least 2 common items, found 0"), "{e}");
    // A listed common item that is not in a file: file and line.
    let bad = st.dir.join("bad.txt");
    std::fs::write(&bad, "q01\nq99\n").unwrap();
    let e = fail(&[
        "link",
        s(&st.v1),
        s(&st.v1),
        "--common-items",
        s(&bad),
        "--out",
        s(&out),
    ]);
    assert!(e.contains("bad.txt:2: item 'q99'"), "{e}");
    let e = fail(&[
        "link",
        s(&st.v1),
        s(&st.v1),
        "--method",
        "equipercentile",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("unknown linking method"), "{e}");
    assert!(!out.exists());
}
