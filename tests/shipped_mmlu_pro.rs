//! The shipped MMLU-Pro bank, its calibration and its error model: they
//! describe the same items, and `exam` and `simulate` report through the
//! error model by default, only when it fits.

mod common;

use std::path::Path;

use common::{fangsheng, ok, path_str, repo, stderr};
use fangsheng::bank::{ItemBank, ParamSet};
use fangsheng::cat::{CatBank, Content, ErrorModel, Plan, Tags};

const BANK: &str = "item-banks/mmlu-pro";
const PARAMS: &str = "calibration/mmlu-pro/v1.json";
const RUNS: &str = "calibration/mmlu-pro/runs.csv.gz";

fn params_path() -> std::path::PathBuf {
    repo(PARAMS)
}

#[test]
fn bank_calibration_and_error_model_describe_the_same_items() {
    let bank = ItemBank::load(&repo(BANK)).unwrap();
    assert_eq!(bank.len(), 12_032);
    let params = ParamSet::load(&params_path()).unwrap().params;
    assert_eq!(params.len(), 12_032);
    assert!(
        bank.items()
            .iter()
            .all(|i| params.index_of(i.id.as_str()).is_some()),
        "every item is calibrated"
    );
    let tags = Tags::of_bank(&bank);
    let cat = CatBank::new(&params).unwrap().with_tags(&tags).unwrap();
    let content = Content::default_for(&cat).expect("the bank has categories");
    assert_eq!(content.tag, "category");
    assert_eq!(content.targets.len(), 14);

    let bytes = std::fs::read(params_path()).unwrap();
    let ErrorModel::Found { path, file } = ErrorModel::beside(&params_path(), &bytes).unwrap()
    else {
        panic!("the error model beside {PARAMS} is missing or stale");
    };
    assert!(path.ends_with("calibration/mmlu-pro/v1.link.json"));
    // The default plan balanced as exam balances it is the plan the links
    // were fitted for, at each length.
    let plan = Plan {
        content: Some(content),
        ..Plan::default()
    };
    for (max_items, line) in [(50, 50), (25, 25), (100, 100), (30, 25), (400, 100)] {
        let l = file
            .length_for(&Plan {
                max_items,
                ..plan.clone()
            })
            .unwrap();
        assert_eq!(l.items, line, "{max_items} items");
        assert_eq!(l.link.examinees, 22);
        // 14 categories and the one dimension.
        assert_eq!(l.groups.len(), 15);
    }
    assert!(
        file.length_for(&Plan {
            max_items: 10,
            ..plan.clone()
        })
        .is_err(),
        "no line is shorter than 25 items"
    );
    // An unbalanced plan is not the plan of the links.
    assert!(file.length_for(&Plan::default()).is_err());
}

/// Two models' recorded runs in a file of their own: to the calibration it
/// is a file it was not fitted on.
fn two_runs(dir: &Path) -> std::path::PathBuf {
    let text = fangsheng::io::read_to_string(&repo(RUNS)).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 || line.starts_with("Yi-34B,") || line.starts_with("Meta-Llama-3-8B,") {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = dir.join("two.csv");
    std::fs::write(&path, out).unwrap();
    path
}

/// (predicted_score, predicted_lo, predicted_hi) of each row of a
/// simulate CSV.
fn predictions(path: &Path) -> Vec<[f64; 3]> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (p, lo, hi) = (
        col("predicted_score"),
        col("predicted_lo"),
        col("predicted_hi"),
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            [p, lo, hi].map(|c| rec[c].parse::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn a_replay_reports_through_the_error_model_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let runs = two_runs(dir.path());
    let out = dir.path().join("linked.csv");
    let (params, bank) = (params_path(), repo(BANK));
    let base = [
        "simulate",
        "--params",
        path_str(&params),
        "--bank",
        path_str(&bank),
        "--responses",
        path_str(&runs),
    ];
    let o = ok(fangsheng(&[&base[..], &["--out", path_str(&out)]].concat()));
    assert!(
        stderr(&o).contains("error model: ") && stderr(&o).contains("v1.link.json"),
        "{}",
        stderr(&o)
    );
    let linked = predictions(&out);
    let own = dir.path().join("own.csv");
    let o = ok(fangsheng(
        &[
            &base[..],
            &["--out", path_str(&own), "--score-link", "none"],
        ]
        .concat(),
    ));
    assert!(stderr(&o).contains("score link: none"), "{}", stderr(&o));
    let unlinked = predictions(&own);
    assert_eq!(linked.len(), 2);
    for (l, u) in linked.iter().zip(&unlinked) {
        // The 50-item line's prediction interval: +-1.96 or so residual
        // SDs of about 3 points, several times the posterior's width.
        let (wl, wu) = (l[2] - l[1], u[2] - u[1]);
        assert!(wl > 0.08 && wl < 0.2, "linked width {wl}");
        assert!(wl > 2.0 * wu, "linked {wl} against posterior {wu}");
        assert!((l[0] - u[0]).abs() > 1e-6, "the line moves the score");
    }
    let meta = std::fs::read_to_string(dir.path().join("linked.csv.meta.json")).unwrap();
    assert!(meta.contains("score_link"), "{meta}");
}

#[test]
fn an_in_sample_replay_says_so_and_keeps_its_own_scores() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("in-sample.csv");
    let o = ok(fangsheng(&[
        "simulate",
        "--params",
        path_str(&params_path()),
        "--bank",
        path_str(&repo(BANK)),
        "--responses",
        path_str(&repo(RUNS)),
        "--max-items",
        "10",
        "--out",
        path_str(&out),
    ]));
    let err = stderr(&o);
    assert!(err.contains("in-sample replay"), "{err}");
    assert!(!err.contains("error model: "), "{err}");
    assert_eq!(predictions(&out).len(), 22);
}

#[test]
fn a_stale_error_model_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    // The calibration changed by one digit of its provenance: the link
    // beside it records the old digest.
    let text = std::fs::read_to_string(params_path()).unwrap();
    let changed = text.replacen("\"seed\": 1,", "\"seed\": 2,", 1);
    assert_ne!(changed, text);
    let params = dir.path().join("v1.json");
    std::fs::write(&params, changed).unwrap();
    std::fs::copy(
        repo("calibration/mmlu-pro/v1.link.json"),
        dir.path().join("v1.link.json"),
    )
    .unwrap();
    let runs = two_runs(dir.path());
    let o = ok(fangsheng(&[
        "simulate",
        "--params",
        path_str(&params),
        "--bank",
        path_str(&repo(BANK)),
        "--responses",
        path_str(&runs),
        "--out",
        path_str(&dir.path().join("s.csv")),
    ]));
    let err = stderr(&o);
    assert!(
        err.contains("belongs to another version") && err.contains("not used"),
        "{err}"
    );
}

#[test]
fn an_exam_records_the_error_model_it_used() {
    let dir = tempfile::tempdir().unwrap();
    let exam = |extra: &[&str], name: &str| {
        let out = dir.path().join(format!("{name}.json"));
        let o = ok(fangsheng(
            &[
                &[
                    "exam",
                    "--bank",
                    path_str(&repo(BANK)),
                    "--params",
                    path_str(&params_path()),
                    "--backend",
                    "simulated",
                    "--theta",
                    "0.3",
                    "--out",
                    path_str(&out),
                ][..],
                extra,
            ]
            .concat(),
        ));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        (v, stderr(&o))
    };
    let (v, err) = exam(&[], "default");
    assert!(err.contains("error model: "), "{err}");
    let link = &v["score_link"];
    assert_eq!(link["items"], 50, "{link}");
    assert!(
        link["source"].as_str().unwrap().ends_with("v1.link.json"),
        "{link}"
    );
    assert_eq!(v["items_used"], 50);
    // A 30-item exam is linked by the 25-item line.
    let (v, _) = exam(&["--max-items", "30"], "thirty");
    assert_eq!(v["score_link"]["items"], 25);
    // Without content balance the links do not fit: the exam says so and
    // reports the model's own score.
    let (v, err) = exam(&["--balance", "none"], "unbalanced");
    assert!(err.contains("not used"), "{err}");
    assert!(v["score_link"].is_null());
}

/// `item-banks/mmlu-pro/rebuild.sh` rebuilds the four shipped files byte for
/// byte from MMLU-Pro's test split and the published runs, with this build
/// of the tool; given a validation split beside them (here two stand-in
/// lines in its format, with `cot_content`), it also writes the worked
/// examples and makes the 5-shot prompt the bank's own.
#[test]
#[ignore = "rebuilds from MMLU-Pro's raw files in ../shared (FANGSHENG_SHARED); .ci/run runs it with --ignored"]
fn the_shipped_files_rebuild_byte_for_byte_shared() {
    let raw = common::shared_data("mmlu-pro/items.jsonl.gz");
    let src = tempfile::tempdir().unwrap();
    for name in ["items.jsonl.gz", "responses.csv.gz"] {
        std::os::unix::fs::symlink(raw.parent().unwrap().join(name), src.path().join(name))
            .unwrap();
    }
    std::fs::write(
        src.path().join("validation.jsonl"),
        concat!(
            r#"{"question_id": 0, "question": "Find the characteristic of the ring 2Z.", "options": ["0", "30", "3"], "answer": "A", "answer_index": 0, "cot_content": "A: Let's think step by step. A characteristic of a ring is R is n. The answer is (A).", "category": "math", "src": "cot_lib-abstract_algebra"}"#,
            "\n",
            r#"{"question_id":1,"question":"Which?","options":["x","y"],"answer":"B","answer_index":1,"cot_content":"A: Let's think step by step. Because. The answer is (B).","category":"law","src":"cot_lib-law"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("bash")
        .arg(repo("item-banks/mmlu-pro/rebuild.sh"))
        .arg(src.path())
        .arg(out.path())
        .env("FANGSHENG", env!("CARGO_BIN_EXE_fangsheng"))
        .output()
        .expect("run bash");
    assert!(o.status.success(), "rebuild failed: {}", stderr(&o));
    for rel in [
        "item-banks/mmlu-pro/items.jsonl.gz",
        "calibration/mmlu-pro/runs.csv.gz",
        "calibration/mmlu-pro/v1.json",
        "calibration/mmlu-pro/v1.link.json",
    ] {
        let rebuilt = std::fs::read(out.path().join(rel)).unwrap();
        let shipped = std::fs::read(repo(rel)).unwrap();
        assert!(
            rebuilt == shipped,
            "{rel}: the rebuilt file differs from the shipped one"
        );
    }
    let bank = out.path().join("item-banks/mmlu-pro");
    assert_eq!(
        std::fs::read(bank.join("prompt.toml")).unwrap(),
        std::fs::read(repo("item-banks/mmlu-pro/prompt-5shot.toml")).unwrap()
    );
    let examples: Vec<serde_json::Value> = std::fs::read_to_string(bank.join("few-shot.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(examples.len(), 2);
    assert_eq!(
        examples[0]["meta"]["rationale"],
        "A characteristic of a ring is R is n. The answer is (A)."
    );
    assert_eq!(
        examples[1]["meta"]["rationale"],
        "Because. The answer is (B)."
    );
    assert_eq!(examples[1]["category"], "law");
}
