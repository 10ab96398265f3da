//! End-to-end runs of `fangsheng calibrate` on the classic data sets and fixtures.

mod common;

use common::{fangsheng, stderr};

use std::path::Path;

fn items_json(path: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["items"].clone()
}

/// A shipped data file as a command-line argument.
fn data(rel: &str) -> String {
    common::data(rel).display().to_string()
}

#[test]
fn lsat7_table_and_expanded_matrix_give_the_same_items_and_mirt_values() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("table.json"),
        dir.path().join("expanded.json"),
    );
    let mirt = [
        "--model",
        "2pl",
        "--prior",
        "none",
        "--quad-points",
        "61",
        "--quad-range",
        "-6,6",
        "-q",
    ];
    for (input, out) in [
        ("classic/LSAT7.csv", &a),
        ("classic/LSAT7_expanded.csv", &b),
    ] {
        let mut args = vec!["calibrate", "-r"];
        let input = data(input);
        args.push(&input);
        args.extend_from_slice(&mirt);
        let out_s = out.to_str().unwrap();
        args.extend_from_slice(&["-o", out_s]);
        let o = fangsheng(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (ia, ib) = (items_json(&a), items_json(&b));
    // Same estimates whichever layout: frequency weights are exact.
    for (x, y) in ia.as_array().unwrap().iter().zip(ib.as_array().unwrap()) {
        for key in ["a", "b"] {
            let (p, q) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!((p - q).abs() < 1e-9, "{key}: {p} vs {q}");
        }
    }
    // mirt 1.47, ../shared/reference/README.md: (a, d) within 1e-3.
    let reference = [
        (0.9879254, 1.8560600),
        (1.0808850, 0.8079786),
        (1.7058010, 1.8042190),
        (0.7651853, 0.4859966),
        (0.7357980, 1.8545130),
    ];
    // Item 3's slope gets 1.5e-3: the likelihood is flat along it and mirt's
    // EM stops short of the optimum (see tests/calibrate_reference.rs).
    for (j, (item, (a_ref, d_ref))) in ia.as_array().unwrap().iter().zip(reference).enumerate() {
        let (a, b) = (item["a"].as_f64().unwrap(), item["b"].as_f64().unwrap());
        let tol_a = if j == 2 { 1.5e-3 } else { 1e-3 };
        assert!((a - a_ref).abs() < tol_a, "a {a} vs {a_ref}");
        assert!((-a * b - d_ref).abs() < 1e-3, "d {} vs {d_ref}", -a * b);
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    let ll = meta["metadata"]["provenance"]["log_likelihood"]
        .as_f64()
        .unwrap();
    assert!((ll + 2658.805).abs() < 1e-2, "log-likelihood {ll}");
    assert_eq!(meta["metadata"]["provenance"]["converged"], true);
}

#[test]
fn same_input_gives_byte_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let outs: Vec<_> = (0..2)
        .map(|i| dir.path().join(format!("run{i}.json")))
        .collect();
    let input = data("classic/LSAT7_expanded.csv");
    for out in &outs {
        let o = fangsheng(&[
            "calibrate",
            "-r",
            &input,
            "--model",
            "3pl",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::read(&outs[0]).unwrap(),
        std::fs::read(&outs[1]).unwrap()
    );
}

#[test]
fn graded_science_with_csv_copy_and_abilities() {
    let dir = tempfile::tempdir().unwrap();
    let (json, csv, abil) = (
        dir.path().join("s.json"),
        dir.path().join("s.csv"),
        dir.path().join("ab.csv"),
    );
    let o = fangsheng(&[
        "calibrate",
        "-r",
        &data("classic/Science.csv"),
        "--model",
        "auto",
        "--recode-min-to-zero",
        "--prior",
        "none",
        "--quad-points",
        "61",
        "-q",
        "-o",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--abilities",
        abil.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // mirt 1.47 graded model on Science: Future a = 2.296, d = (5.238, 2.216, -1.965); 1e-2.
    let items = items_json(&json);
    let future = &items[2];
    assert_eq!(future["model"], "grm");
    let a = future["a"].as_f64().unwrap();
    assert!((a - 2.296).abs() < 1e-2, "a {a}");
    for (t, d_ref) in future["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .zip([5.238, 2.216, -1.965])
    {
        let d = -a * t.as_f64().unwrap();
        assert!((d - d_ref).abs() < 1e-2, "d {d} vs {d_ref}");
    }
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.starts_with("id,model,"), "{csv_text}");
    let ab = std::fs::read_to_string(&abil).unwrap();
    assert_eq!(ab.lines().count(), 393);
    assert!(ab.starts_with("model,theta,se,n_items\n"));
}

#[test]
fn non_convergence_is_written_and_marked_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l.json");
    let input = data("classic/LSAT7.csv");
    let o = fangsheng(&[
        "calibrate",
        "-r",
        &input,
        "--max-iter",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("warning: EM did not converge"));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(meta["metadata"]["provenance"]["converged"], false);
    std::fs::remove_file(&out).unwrap();
    let o = fangsheng(&[
        "calibrate",
        "-r",
        &input,
        "--max-iter",
        "3",
        "--strict",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(out.exists(), "the result is still written under --strict");
}

fn assert_fails(args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mut all = args.to_vec();
    all.extend_from_slice(&["-o", out.to_str().unwrap()]);
    let o = fangsheng(&all);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "stderr lacks '{n}': {err}");
    }
    assert!(!out.exists());
}

#[test]
fn bad_input_is_refused_clearly() {
    let f = |n: &str| {
        common::fixture(&format!("calibrate/{n}"))
            .display()
            .to_string()
    };
    assert_fails(
        &["calibrate", "-r", &f("empty.csv")],
        &["empty.csv", "no responses"],
    );
    assert_fails(
        &["calibrate", "-r", &f("no_variance.csv")],
        &["no_variance.csv", "variance"],
    );
    let lsat = data("classic/LSAT7.csv");
    assert_fails(
        &[
            "calibrate",
            "-r",
            &lsat,
            "--item-models",
            &f("item_models_twice.csv"),
        ],
        &["item_models_twice.csv:3", "Item.1", "twice"],
    );
    assert_fails(
        &[
            "calibrate",
            "-r",
            &lsat,
            "--item-models",
            &f("item_models_unknown.csv"),
        ],
        &["item_models_unknown.csv:3", "5pl"],
    );
    assert_fails(
        &[
            "calibrate",
            "-r",
            &data("classic/Science.csv"),
            "--model",
            "grm",
        ],
        &["Comfort", "category 0"],
    );
    assert_fails(&["calibrate", "-r", &lsat, "--model", "6pl"], &["6pl"]);
}

/// `--slope-prior-sd` replaces the slope prior: a tight one pulls every
/// LSAT7 slope toward 1 (ln a toward 0), it is recorded in the provenance,
/// and a non-positive SD is refused before anything is written.
#[test]
fn slope_prior_sd_pulls_slopes_toward_one_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("classic/LSAT7.csv");
    let fit = |extra: &[&str], out: &Path| {
        let mut args = vec!["calibrate", "-r", &input, "--model", "2pl", "-q"];
        args.extend_from_slice(extra);
        let out_s = out.to_str().unwrap().to_owned();
        args.extend_from_slice(&["-o", &out_s]);
        fangsheng(&args)
    };
    let (loose, tight) = (dir.path().join("loose.json"), dir.path().join("tight.json"));
    assert!(fit(&[], &loose).status.success());
    assert!(fit(&["--slope-prior-sd", "0.1"], &tight).status.success());
    let spread = |path: &Path| {
        items_json(path)
            .as_array()
            .unwrap()
            .iter()
            .map(|it| it["a"].as_f64().unwrap().ln().abs())
            .fold(0.0, f64::max)
    };
    let (loose_spread, tight_spread) = (spread(&loose), spread(&tight));
    // LSAT7's slopes run 0.74-1.71 (|ln a| up to 0.53); N(0, 0.1) on ln a
    // with 1,000 examinees still shrinks the largest one clearly.
    assert!(
        tight_spread < 0.8 * loose_spread,
        "max |ln a|: {tight_spread} with SD 0.1 vs {loose_spread} by default"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tight).unwrap()).unwrap();
    assert_eq!(meta["metadata"]["provenance"]["slope_prior_sd"], 0.1);

    let refused = dir.path().join("refused.json");
    let o = fit(&["--slope-prior-sd", "0"], &refused);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--slope-prior-sd"), "{}", stderr(&o));
    assert!(!refused.exists());
}

/// `--quad-range` takes `LO,HI` as `score --quad-range` does: an asymmetric
/// grid runs and is recorded, a range without the latent mean inside or the
/// old half-width form is refused by name.
#[test]
fn quad_range_takes_two_ends_and_may_be_asymmetric() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("classic/LSAT7.csv");
    let out = dir.path().join("asym.json");
    let o = fangsheng(&[
        "calibrate",
        "-r",
        &input,
        "--quad-points",
        "121",
        "--quad-range",
        "-4,8",
        "-q",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let q = &meta["metadata"]["provenance"]["quadrature"];
    assert_eq!(q["points"], 121);
    let range: Vec<f64> = q["range"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(range, [-4.0, 8.0]);
    for (range, needle) in [
        ("1,8", "LO < 0 < HI"),
        ("6", "takes LO,HI"),
        ("4,-4", "LO < HI"),
    ] {
        assert_fails(
            &["calibrate", "-r", &input, "--quad-range", range],
            &["--quad-range", needle],
        );
    }
}
