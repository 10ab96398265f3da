//! End-to-end runs of `fangsheng simulate`: replay of recorded runs on the
//! demo bank, simulated examinees, determinism, content balance and bad
//! plans.

mod common;

use common::{fangsheng, ok, stderr};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Output;

const PARAMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/v1.json");
const RUNS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/runs.csv");
const HEADER: &str = "model,theta,se,n_items,stop_reason,predicted_score,predicted_lo,predicted_hi,observed_score,true_theta,skipped";

fn fixture(name: &str) -> String {
    common::fixture(&format!("simulate/{name}"))
        .display()
        .to_string()
}

/// `fangsheng simulate` replaying the demo runs on the demo calibration,
/// with `extra` flags.
fn replay(extra: &[&str]) -> Output {
    simulate(&["--responses", RUNS], extra)
}

/// `fangsheng simulate` of examinees on the demo calibration, with `extra`
/// flags (`--thetas N` among them).
fn simulated(extra: &[&str]) -> Output {
    simulate(&[], extra)
}

fn simulate(input: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["simulate", "--params", PARAMS];
    args.extend(input);
    args.extend(extra);
    fangsheng(&args)
}

/// CSV rows as maps from column name to text.
fn table(text: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap()
}

fn tmp(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Recorded answers per examinee in the demo runs.
fn recorded() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(RUNS).unwrap();
    let mut n = BTreeMap::new();
    for row in table(&text) {
        *n.entry(row["model"].clone()).or_default() += 1;
    }
    n
}

#[test]
fn replay_writes_one_row_per_examinee_and_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (out, trace) = (tmp(dir.path(), "exams.csv"), tmp(dir.path(), "trace.csv"));
    let o = ok(replay(&[
        "--max-items",
        "20",
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().next(), Some(HEADER));
    let rows = table(&text);
    let counts = recorded();
    assert_eq!(rows.len(), counts.len());
    for r in &rows {
        assert_eq!(r["n_items"], "20");
        assert_eq!(r["true_theta"], "", "a replay has no true ability");
        assert_eq!(r["stop_reason"], "max-items");
        let (p, lo, hi) = (
            num(r, "predicted_score"),
            num(r, "predicted_lo"),
            num(r, "predicted_hi"),
        );
        assert!(lo <= p && p <= hi && (0.0..=1.0).contains(&p), "{r:?}");
    }
    // Summary on stderr names the measures.
    let err = stderr(&o);
    for word in [
        "MAE",
        "max error",
        "Spearman",
        "mean",
        "max rate",
        "overlap",
    ] {
        assert!(err.contains(word), "{word} missing in: {err}");
    }
    // The interval coverage it reports is the share of rows whose interval
    // holds the observed score.
    let inside = rows
        .iter()
        .filter(|r| {
            let o = num(r, "observed_score");
            num(r, "predicted_lo") <= o && o <= num(r, "predicted_hi")
        })
        .count();
    let share = format!(
        "held the observed score in {:.1}% of exams",
        100.0 * inside as f64 / rows.len() as f64
    );
    assert!(err.contains(&share), "{share} missing in: {err}");
    let steps = table(&std::fs::read_to_string(&trace).unwrap());
    assert_eq!(steps.len(), 20 * rows.len());
    assert_eq!(
        std::fs::read_to_string(&trace).unwrap().lines().next(),
        Some("model,step,item,score,theta,se")
    );
    // Every traced item was answered in the recording, never twice.
    let runs = table(&std::fs::read_to_string(RUNS).unwrap());
    let answered: std::collections::HashSet<(String, String)> = runs
        .iter()
        .map(|r| (r["model"].clone(), r["item"].clone()))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for s in &steps {
        let key = (s["model"].clone(), s["item"].clone());
        assert!(answered.contains(&key), "{key:?} has no recorded answer");
        assert!(seen.insert(key.clone()), "{key:?} asked twice");
    }
    // The sidecar records what the CSV's fixed columns cannot: the seed,
    // the calibration and the digest of the file it describes.
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("exams.csv.meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["seed"], 1, "{meta}");
    assert_eq!(meta["bank"], "demo", "{meta}");
    assert_eq!(meta["calibration_version"], "v1", "{meta}");
    assert!(
        meta["out_digest"].as_str().is_some_and(|d| d.len() == 64),
        "{meta}"
    );
}

#[test]
fn replay_skips_and_counts_items_without_a_recorded_answer() {
    // With no length limit every exam runs the bank out: it answers each
    // recorded item once and skips each of the 126 it has no answer for.
    let o = ok(replay(&["--max-items", "126", "-q"]));
    let rows = table(&String::from_utf8_lossy(&o.stdout));
    for (name, n) in recorded() {
        let r = rows.iter().find(|r| r["model"] == name).unwrap();
        assert_eq!(num(r, "n_items") as usize, n, "{name}");
        assert_eq!(num(r, "skipped") as usize, 126 - n, "{name}");
        assert_eq!(r["stop_reason"], "exhausted");
        // The whole run answered: the blended prediction differs from the
        // observed score only through the model's expectation on the
        // 126 - n unrecorded items (each moves it by at most 1/126).
        let gap = (num(r, "predicted_score") - num(r, "observed_score")).abs();
        assert!(gap <= (126 - n) as f64 / 126.0 + 1e-6, "{r:?}");
    }
    assert!(stderr(&o).contains(&format!(
        "{} selected items skipped",
        recorded().values().map(|n| 126 - n).sum::<usize>()
    )));
}

#[test]
fn the_same_seed_gives_identical_output_and_another_seed_differs() {
    let run = |seed: &str| {
        let o = ok(replay(&[
            "--plan",
            &fixture("randomesque.toml"),
            "--seed",
            seed,
            "-q",
        ]));
        o.stdout
    };
    let (a, b, c) = (run("5"), run("5"), run("6"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let sim = |seed: &str| {
        ok(simulated(&[
            "--thetas",
            "50",
            "--seed",
            seed,
            "--max-items",
            "10",
            "-q",
        ]))
        .stdout
    };
    assert_eq!(sim("3"), sim("3"));
    assert_ne!(sim("3"), sim("4"));
}

fn theta_rmse(max_items: &str) -> f64 {
    let o = ok(simulated(&[
        "--thetas",
        "400",
        "--seed",
        "11",
        "--max-items",
        max_items,
        "-q",
    ]));
    let rows = table(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(rows.len(), 400);
    let se: f64 = rows
        .iter()
        .map(|r| (num(r, "theta") - num(r, "true_theta")).powi(2))
        .sum();
    (se / rows.len() as f64).sqrt()
}

#[test]
fn simulated_examinees_are_recovered_better_by_longer_exams() {
    let (r5, r15, r40) = (theta_rmse("5"), theta_rmse("15"), theta_rmse("40"));
    assert!(r5 > r15 && r15 > r40, "RMSE {r5} {r15} {r40}");
    // 40 of 126 demo items (mean information near 0.5 at theta = 0) leave an
    // SE of about 0.25-0.3; the prior keeps it under 0.4.
    assert!(r40 < 0.4, "{r40}");
}

#[test]
fn json_output_holds_the_seed_plan_summary_and_exams() {
    let o = ok(simulated(&[
        "--thetas",
        "20",
        "--seed",
        "9",
        "--max-items",
        "8",
        "--json",
        "-q",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seed"], 9);
    assert!(v["plan"].as_str().unwrap().contains("max_items = 8"));
    assert_eq!(v["exams"].as_array().unwrap().len(), 20);
    assert!(v["exams"][0]["true_theta"].is_number());
    assert_eq!(v["summary"]["n"], 20);
}

#[test]
fn content_balance_over_the_banks_categories_keeps_groups_within_one_item() {
    let dir = tempfile::tempdir().unwrap();
    let trace = tmp(dir.path(), "t.csv");
    let bank = common::repo("item-banks/demo");
    ok(replay(&[
        "--max-items",
        "15",
        "--bank",
        bank.to_str().unwrap(),
        "--balance",
        "category",
        "--trace",
        trace.to_str().unwrap(),
        "-q",
    ]));
    // The demo bank's category of every item, and their shares.
    let items = std::fs::read_to_string(bank.join("items.jsonl")).unwrap();
    let mut category: HashMap<String, String> = HashMap::new();
    for line in items.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        category.insert(
            v["id"].as_str().unwrap().to_owned(),
            v["category"].as_str().unwrap().to_owned(),
        );
    }
    let mut share: BTreeMap<&str, f64> = BTreeMap::new();
    for c in category.values() {
        *share.entry(c).or_default() += 1.0 / category.len() as f64;
    }
    assert!(share.len() >= 3, "{share:?}");
    let mut counts: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for s in table(&std::fs::read_to_string(&trace).unwrap()) {
        let c = category[&s["item"]].clone();
        *counts
            .entry(s["model"].clone())
            .or_default()
            .entry(c)
            .or_default() += 1.0;
    }
    assert_eq!(counts.len(), recorded().len());
    for (name, by) in counts {
        for (c, t) in &share {
            let n = by.get(*c).copied().unwrap_or(0.0);
            assert!(
                (n - 15.0 * t).abs() <= 1.0,
                "{name}: {n} of {c}, target {}",
                15.0 * t
            );
        }
    }
}

#[test]
fn bad_plans_fail_with_the_plan_file_named() {
    let cases = [
        ("unknown_tag.toml", "unknown tag 'subject'"),
        ("targets_sum.toml", "sum to 1"),
        ("unknown_rule.toml", "unknown variant"),
        ("too_long.toml", "fewer than min_items"),
    ];
    for (file, want) in cases {
        let path = fixture(file);
        let o = replay(&["--plan", &path]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let err = stderr(&o);
        assert!(err.contains(&path), "{file}: {err}");
        assert!(err.contains(want), "{file}: {err}");
    }
    let o = replay(&["--select", "best"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown selection rule 'best'"));
    let dir = tempfile::tempdir().unwrap();
    let ties = tmp(dir.path(), "ties.toml");
    std::fs::write(&ties, "ties = \"sometimes\"\n").unwrap();
    let o = replay(&["--plan", ties.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("ties.toml") && err.contains("`random` or `first`"),
        "{err}"
    );
    let o = fangsheng(&["simulate", "--params", PARAMS]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--responses"));
    // Balance needs the bank whose tags it balances.
    let o = replay(&["--balance", "category"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--bank"), "{}", stderr(&o));
}
