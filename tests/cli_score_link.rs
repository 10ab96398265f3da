//! Score links end to end: `evaluate --write-score-link` fits one line per
//! length on the demo runs, `simulate --score-link` and
//! `exam --score-link` report their bank scores through it, and a link
//! fitted for another plan or length is refused.

mod common;

use common::{fangsheng, ok, path_str as s, stderr};

use std::path::Path;

use serde_json::Value;

const PARAMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/v1.json");
const RUNS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/runs.csv");

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Writes the demo runs' score link for 10- and 20-item exams of the
/// default plan.
fn demo_link(dir: &Path) -> std::path::PathBuf {
    let link = dir.join("link.json");
    let o = ok(fangsheng(&[
        "evaluate",
        "--responses",
        RUNS,
        "--lengths",
        "10,20",
        "--seeds",
        "2",
        "--out",
        s(&dir.join("loo.csv")),
        "--details",
        s(&dir.join("details.csv")),
        "--write-score-link",
        s(&link),
        "-q",
    ]));
    assert!(stderr(&o).contains("score link written"), "{}", stderr(&o));
    link
}

/// Intercept and slope of the least-squares line through `pairs`.
fn least_squares(pairs: &[(f64, f64)]) -> (f64, f64) {
    let n = pairs.len() as f64;
    let mp = pairs.iter().map(|x| x.0).sum::<f64>() / n;
    let my = pairs.iter().map(|x| x.1).sum::<f64>() / n;
    let sxy: f64 = pairs.iter().map(|x| (x.0 - mp) * (x.1 - my)).sum();
    let sxx: f64 = pairs.iter().map(|x| (x.0 - mp) * (x.0 - mp)).sum();
    let slope = sxy / sxx;
    (my - slope * mp, slope)
}

/// A 10-item demo exam reported through `link`, its result written to
/// `out`; its summary.
fn linked_demo_exam(link: &Path, out: &Path, extra: &[&str]) -> String {
    let args = [
        "exam",
        "--demo",
        "--max-items",
        "10",
        "--score-link",
        s(link),
        "--out",
        s(out),
        "-q",
    ];
    let o = ok(fangsheng(&[&args[..], extra].concat()));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (predicted, observed) of the `adaptive` row at `k` items.
fn adaptive_pairs(details: &Path, k: usize) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(details).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (m, i, e, p, o) = (
        col("method"),
        col("items"),
        col("model"),
        col("predicted_score"),
        col("observed_score"),
    );
    // A seed-free plan repeats each examinee's exam for every seed and the
    // link counts it once; otherwise every seed's exam is a pair.
    let rows: Vec<(String, String, String)> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[m] == "adaptive" && f[i] == k.to_string())
        .map(|f| (f[e].to_owned(), f[p].to_owned(), f[o].to_owned()))
        .collect();
    let mut first = std::collections::HashMap::new();
    let seed_free = rows
        .iter()
        .all(|(ex, pr, _)| first.entry(ex.clone()).or_insert(pr.clone()) == pr);
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .filter(|(ex, _, _)| !seed_free || seen.insert(ex.clone()))
        .map(|(_, pr, ob)| (pr.parse().unwrap(), ob.parse().unwrap()))
        .collect()
}

#[test]
fn the_written_line_is_least_squares_on_the_leave_one_out_exams() {
    let dir = tempfile::tempdir().unwrap();
    let link = demo_link(dir.path());
    let file = json(&link);
    assert_eq!(file["format"], "fangsheng-score-link/1");
    assert_eq!(file["plan"]["max_items"], 0);
    let lines = file["links"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let k = line["items"].as_u64().unwrap() as usize;
        // Refit the line by hand from the details the run wrote.
        let pairs = adaptive_pairs(&dir.path().join("details.csv"), k);
        assert!(pairs.len() >= 3, "{k}: {} pairs", pairs.len());
        let (intercept, slope) = least_squares(&pairs);
        // The details file holds 6 decimals: the refit agrees to ~1e-4.
        assert!(
            (line["slope"].as_f64().unwrap() - slope).abs() < 1e-3,
            "{k}: {line} vs slope {slope}"
        );
        assert!(
            (line["intercept"].as_f64().unwrap() - intercept).abs() < 1e-3,
            "{k}: {line}"
        );
        assert_eq!(line["n"].as_u64().unwrap() as usize, pairs.len());
        // One pair per demo model, or per model and seed: the demo bank has
        // twin items, so under random ties the two seeds' exams may differ.
        assert!([12, 24].contains(&pairs.len()), "{k}: {}", pairs.len());
        // However many seeds, the 12 models are the examinees the
        // prediction interval counts.
        assert_eq!(line["examinees"], 12, "{k}: {line}");
    }
}

#[test]
fn simulate_and_exam_report_linked_scores() {
    let dir = tempfile::tempdir().unwrap();
    let link = demo_link(dir.path());
    let link_at = |k: u64| -> fangsheng::cat::ScoreLink {
        let file = json(&link);
        let l = file["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["items"] == k)
            .unwrap()
            .clone();
        serde_json::from_value(l).unwrap()
    };
    let line = |k: u64| -> (f64, f64) {
        let l = link_at(k);
        (l.intercept, l.slope)
    };

    // simulate: the same exams with and without the link.
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--params",
            PARAMS,
            "--responses",
            RUNS,
            "--max-items",
            "20",
            "--out",
            s(out),
            "-q",
        ];
        args.extend(extra);
        ok(fangsheng(&args));
        let text = std::fs::read_to_string(out).unwrap();
        text.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let num = |i: usize| f[i].parse::<f64>().unwrap();
                (num(5), num(6), num(7))
            })
            .collect::<Vec<_>>()
    };
    let plain = run(&dir.path().join("plain.csv"), &[]);
    let linked_out = dir.path().join("linked.csv");
    let linked = run(&linked_out, &["--score-link", s(&link)]);
    let (a, b) = line(20);
    assert!(b > 0.0);
    assert_eq!(plain.len(), linked.len());
    // The linked interval is the link's prediction interval around the
    // linked score, not the exam's posterior interval moved along.
    let half = link_at(20).half_width(0.95).unwrap();
    assert!(half > 0.0);
    let mut moved = 0;
    for ((p, _, _), (l, llo, lhi)) in plain.iter().zip(&linked) {
        // Columns are written with 6 decimals.
        assert!((l - (a + b * p).clamp(0.0, 1.0)).abs() < 2e-6, "{p} -> {l}");
        assert!((llo - (l - half).clamp(0.0, 1.0)).abs() < 4e-6, "{l} {llo}");
        assert!((lhi - (l + half).clamp(0.0, 1.0)).abs() < 4e-6, "{l} {lhi}");
        moved += usize::from((l - p).abs() > 1e-3);
    }
    assert!(moved > 0, "the link changed nothing");
    let meta = json(&dir.path().join("linked.csv.meta.json"));
    assert_eq!(meta["score_link"][0], s(&link));
    assert_eq!(meta["score_link"][1]["slope"].as_f64().unwrap(), b);
    assert!(json(&dir.path().join("plain.csv.meta.json"))["score_link"].is_null());

    // exam: the result keeps the model's score beside the linked one.
    let out = dir.path().join("exam.json");
    // The link was fitted without --bank, on unbalanced exams.
    let stdout = linked_demo_exam(&link, &out, &["--balance", "none"]);
    assert!(stdout.contains("linked:"), "{stdout}");
    // The demo's per-category lines are the model's own scores; the summary
    // says so rather than let them pass for linked ones.
    assert!(
        stdout.contains("group scores below are the model's own, not linked"),
        "{stdout}"
    );
    let r = json(&out);
    let (a, b) = line(10);
    let unlinked = r["score_link"]["unlinked"]["mean"].as_f64().unwrap();
    let bank = r["predicted_score"]["bank"]["mean"].as_f64().unwrap();
    assert!((bank - (a + b * unlinked).clamp(0.0, 1.0)).abs() < 1e-12);
    assert_eq!(r["score_link"]["items"], 10);
    // Without the flag the result has no link and the model's score.
    assert!(stdout.contains("prediction interval"), "{stdout}");
    assert!(
        !stdout.contains("the interval counts this exam's measurement error only"),
        "{stdout}"
    );
    let plain = dir.path().join("plain.json");
    let o = ok(fangsheng(&[
        "exam",
        "--demo",
        "--max-items",
        "10",
        "--balance",
        "none",
        "--out",
        s(&plain),
        "-q",
    ]));
    // Without a link the summary says what the posterior interval leaves out.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("the interval counts this exam's measurement error only"),
        "{stdout}"
    );
    let p = json(&plain);
    assert!(p.get("score_link").is_none());
    assert_eq!(
        p["predicted_score"]["bank"]["mean"].as_f64().unwrap(),
        unlinked
    );

    // The abilities export says which predicted scores went through a link.
    let exported = |from: &Path| -> Vec<String> {
        let o = ok(fangsheng(&["export", "abilities", "--from", s(from)]));
        let table = fangsheng::export::read_csv(
            o.stdout.as_slice(),
            from,
            fangsheng::export::TableKind::Abilities,
        )
        .unwrap();
        (0..table.n_rows())
            .map(|r| match table.get(r, "score_link") {
                Some(fangsheng::export::Value::Str(t)) => t.clone(),
                _ => String::new(),
            })
            .collect()
    };
    assert_eq!(
        exported(&out),
        [format!("{a:.6} + {b:.6} x")],
        "exam result"
    );
    assert_eq!(exported(&plain), [String::new()]);
    let (a20, b20) = line(20);
    let sims = exported(&linked_out);
    assert_eq!(sims.len(), linked.len());
    assert!(
        sims.iter().all(|t| *t == format!("{a20:.6} + {b20:.6} x")),
        "{sims:?}"
    );
    assert!(
        exported(&dir.path().join("plain.csv"))
            .iter()
            .all(String::is_empty)
    );
}

#[test]
fn a_link_of_another_plan_length_or_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = demo_link(dir.path());
    let refuse = |args: &[&str], needles: &[&str]| {
        let o = fangsheng(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = stderr(&o);
        for n in needles {
            assert!(err.contains(n), "{n} not in {err}");
        }
    };
    let out = dir.path().join("x.csv");
    let sim = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "simulate",
            "--params",
            PARAMS,
            "--responses",
            RUNS,
            "--out",
            s(&out),
            "--score-link",
            s(&link),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let args = sim(&["--max-items", "5"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuse(&args, &["link.json", "10, 20", "5"]);
    let args = sim(&["--max-items", "10", "--select", "random"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuse(&args, &["link.json", "another plan", "select"]);
    refuse(
        &[
            "exam",
            "--demo",
            "--max-items",
            "10",
            "--estimator",
            "map",
            "--score-link",
            s(&link),
        ],
        &["link.json", "estimator"],
    );
    // Not a link file at all.
    refuse(
        &[
            "exam",
            "--demo",
            "--max-items",
            "10",
            "--score-link",
            PARAMS,
        ],
        &["v1.json", "not a score-link file"],
    );
    assert!(!out.exists(), "a refused run wrote its output");
    // Group summaries need the bank whose tags define the groups.
    refuse(
        &[
            "evaluate",
            "--responses",
            RUNS,
            "--group-out",
            s(&dir.path().join("g.csv")),
        ],
        &["--bank"],
    );
}

const BANK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/item-banks/demo");

/// Rows of a CSV file the commands write (no quoted fields in these), as
/// maps from column to value.
fn rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn group_lines_are_fitted_per_category_and_link_the_exam_scores() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.json");
    let (groups, loo) = (dir.path().join("groups.csv"), dir.path().join("loo.csv"));
    let o = ok(fangsheng(&[
        "evaluate",
        "--responses",
        RUNS,
        "--bank",
        BANK,
        "--lengths",
        "10",
        "--seeds",
        "2",
        "--group-out",
        s(&groups),
        "--out",
        s(&loo),
        "--write-score-link",
        s(&link),
        "-q",
    ]));
    let err = stderr(&o);
    assert!(err.contains("per-group scores"), "{err}");
    assert!(err.contains("and 8 group lines"), "{err}");
    // One line per category and dimension of the demo bank (each line is
    // least squares on its group cells: the library's tests check it).
    let file = json(&link);
    let lines = file["links"][0]["groups"].as_array().unwrap();
    assert_eq!(lines.len(), 8);
    for line in lines {
        assert!(["category", "dimension"].contains(&line["tag"].as_str().unwrap()));
        assert_eq!(line["examinees"], 12, "{line}");
        assert!([12, 24].contains(&line["n"].as_u64().unwrap()), "{line}");
    }

    // The summary's bank rows are the leave-one-out rows' own errors, and
    // each tag's pooled row counts every (model, seed, value) cell.
    let summary = rows(&groups);
    let main = rows(&loo);
    let adaptive = main
        .iter()
        .find(|r| r["method"] == "adaptive" && r["items"] == "10")
        .unwrap();
    let bank = summary
        .iter()
        .find(|r| r["method"] == "adaptive" && r["tag"] == "(bank)")
        .unwrap();
    let num =
        |r: &std::collections::HashMap<String, String>, c: &str| -> f64 { r[c].parse().unwrap() };
    assert!((num(bank, "mae") - num(adaptive, "mae")).abs() < 2e-6);
    assert!((num(bank, "coverage") - num(adaptive, "coverage")).abs() < 2e-6);
    for tag in ["category", "dimension"] {
        let pooled = summary
            .iter()
            .find(|r| r["method"] == "adaptive" && r["tag"] == tag && r["value"] == "(all)")
            .unwrap();
        assert_eq!(pooled["cells"], (12 * 2 * 4).to_string(), "{tag}");
    }

    // exam: every category and dimension score goes through its own line.
    let out = dir.path().join("exam.json");
    let stdout = linked_demo_exam(&link, &out, &[]);
    assert!(
        stdout.contains("each group score below is linked by its own line"),
        "{stdout}"
    );
    let r = json(&out);
    let applied = r["score_link"]["groups"].as_array().unwrap();
    assert_eq!(applied.len(), 8);
    for a in applied {
        let (tag, value) = (a["tag"].as_str().unwrap(), a["value"].as_str().unwrap());
        let line: fangsheng::cat::ScoreLink = serde_json::from_value(
            lines
                .iter()
                .find(|l| l["tag"] == tag && l["value"] == value)
                .unwrap()
                .clone(),
        )
        .unwrap();
        let shown = r["predicted_score"][tag]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["value"] == value)
            .unwrap()["score"]
            .clone();
        let unlinked = a["unlinked"]["mean"].as_f64().unwrap();
        let mean = shown["mean"].as_f64().unwrap();
        assert!((mean - line.apply(unlinked)).abs() < 1e-12, "{tag} {value}");
        let half = line.half_width(0.95).unwrap();
        assert!((shown["lo"].as_f64().unwrap() - (mean - half).clamp(0.0, 1.0)).abs() < 1e-12);
        assert!((shown["hi"].as_f64().unwrap() - (mean + half).clamp(0.0, 1.0)).abs() < 1e-12);
    }

    // The scores export names the line each row went through.
    let o = ok(fangsheng(&["export", "scores", "--from", s(&out)]));
    let table = fangsheng::export::read_csv(
        o.stdout.as_slice(),
        &out,
        fangsheng::export::TableKind::Scores,
    )
    .unwrap();
    let text = |r: usize, c: &str| match table.get(r, c) {
        Some(fangsheng::export::Value::Str(t)) => t.clone(),
        _ => String::new(),
    };
    assert_eq!(table.n_rows(), 9, "bank + 4 categories + 4 dimensions");
    for r in 0..table.n_rows() {
        let expected = if text(r, "scope") == "bank" {
            json(&out)["score_link"].clone()
        } else {
            lines
                .iter()
                .find(|l| {
                    l["tag"] == text(r, "scope").as_str() && l["value"] == text(r, "group").as_str()
                })
                .unwrap()
                .clone()
        };
        let line: fangsheng::cat::ScoreLink = serde_json::from_value(expected).unwrap();
        assert_eq!(text(r, "score_link"), line.to_string(), "row {r}");
    }
}

/// Each line of a written link carries its measured coverage; an exam
/// through a group line measured below the floor marks that group's
/// interval as not holding its level and says so, the others as the error
/// model's.
#[test]
fn a_group_line_measured_short_marks_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("grouped.json");
    let bank = concat!(env!("CARGO_MANIFEST_DIR"), "/item-banks/demo");
    ok(fangsheng(&[
        "evaluate",
        "--responses",
        RUNS,
        "--bank",
        bank,
        "--balance",
        "none",
        "--lengths",
        "10",
        "--seeds",
        "2",
        "--out",
        s(&dir.path().join("loo.csv")),
        "--write-score-link",
        s(&link),
        "-q",
    ]));
    let mut file = json(&link);
    let line = &mut file["links"][0];
    let c = line["coverage"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&c), "{c}");
    let groups = line["groups"].as_array_mut().unwrap();
    assert!(groups.len() > 2);
    for g in groups.iter() {
        let c = g["coverage"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{g}");
    }
    // Every group held when measured, but one: arithmetic.
    for g in groups.iter_mut() {
        let short = g["tag"] == "category" && g["value"] == "arithmetic";
        g["coverage"] = Value::from(if short { 0.8 } else { 0.95 });
    }
    line["coverage"] = Value::from(0.95);
    std::fs::write(&link, serde_json::to_string(&file).unwrap()).unwrap();

    let out = dir.path().join("r.json");
    let summary = linked_demo_exam(&link, &out, &["--balance", "none"]);
    let r = json(&out);
    assert_eq!(r["bank_interval"], "error-model");
    for (tag, key) in [("category", "category"), ("dimension", "dimension")] {
        for g in r["predicted_score"][key].as_array().unwrap() {
            let expected = if tag == "category" && g["value"] == "arithmetic" {
                "error-model-short"
            } else {
                "error-model"
            };
            assert_eq!(g["interval"], expected, "{g}");
        }
    }
    assert!(
        summary.contains("the intervals of category arithmetic do not hold their level"),
        "{summary}"
    );
    assert!(
        summary.contains("(interval does not hold its level)"),
        "{summary}"
    );
}
