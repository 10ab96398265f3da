//! End-to-end runs of `fangsheng bank`: importing MMLU-Pro and small
//! fixtures, `info` and `validate` on the demo bank, bad input, and the
//! consistency of the demo bank with its simulated calibration.

mod common;

use common::{path_str, repo, stderr, stdout};

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use fangsheng::bank::{ItemBank, ItemType, ParamSet};

fn fangsheng(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run fangsheng")
}

fn fixture(name: &str) -> String {
    common::fixture(&format!("bank_cli/{name}"))
        .display()
        .to_string()
}

const DEMO_BANK: &str = "item-banks/demo";
const DEMO_PARAMS: &str = "calibration/demo/v1.json";

#[test]
#[ignore = "imports MMLU-Pro's raw items from ../shared (FANGSHENG_SHARED); .ci/run runs it with --ignored"]
fn imports_mmlu_pro_into_a_bank_shared() {
    let input = common::shared_data("mmlu-pro/items.jsonl.gz");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mmlu-pro");
    let o = fangsheng(&[
        "bank",
        "import",
        input.to_str().unwrap(),
        "--id-field",
        "question_id",
        "--question-field",
        "question",
        "--choices-field",
        "options",
        "--answer-field",
        "answer",
        "--category-field",
        "category",
        "--dimension",
        "general",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // 12,032 questions in the MMLU-Pro test split (../shared/data/README.md).
    assert!(
        stdout(&o).contains("bank 'mmlu-pro': 12032 items"),
        "{}",
        stdout(&o)
    );
    let bank = ItemBank::load(&out).unwrap();
    assert_eq!(bank.name(), "mmlu-pro");
    assert_eq!(bank.len(), 12032);
    let info = bank.info();
    assert_eq!(info.by_type.get("multiple_choice"), Some(&12032));
    assert_eq!(info.by_dimension.get("general"), Some(&12032));
    assert_eq!(info.by_category.len(), 14);
    assert_eq!(info.by_category.values().sum::<usize>(), 12032);
    // The first record of the file: question_id 70, answer "I".
    let first = &bank.items()[0];
    assert_eq!(first.id.as_str(), "70");
    assert_eq!(first.key_letter(), Some('I'));
    assert_eq!(first.category.as_deref(), Some("business"));
    assert!(bank.items().iter().all(|i| i.key_index().is_some()));
}

#[test]
fn imports_csv_with_one_column_per_choice_and_1_based_answers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("quiz");
    let o = fangsheng(&[
        "bank",
        "import",
        &fixture("quiz.csv"),
        "--id-field",
        "id",
        "--question-field",
        "q",
        "--choices-field",
        "A,B,C,D",
        "--answer-field",
        "key",
        "--answer-index-base",
        "1",
        "--dimension-field",
        "dim",
        "--tags-field",
        "tags",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bank = ItemBank::load(&out).unwrap();
    let prime = bank.get("1").unwrap();
    assert_eq!(prime.choices, ["4", "6", "7", "9"]);
    assert_eq!(prime.key_letter(), Some('C'));
    assert_eq!(prime.tags, ["demo", "primes"]);
    // The empty fourth choice cell is dropped, leaving three choices.
    let force = bank.get("2").unwrap();
    assert_eq!(force.choices.len(), 3);
    assert_eq!(force.key_index(), Some(1));
    assert_eq!(force.dimension.as_deref(), Some("industry"));
}

#[test]
fn import_refuses_to_replace_a_bank_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "bank".to_string(),
            "import".into(),
            fixture("good.jsonl"),
            "--id-field".into(),
            "qid".into(),
            "--question-field".into(),
            "text".into(),
            "--choices-field".into(),
            "opts".into(),
            "--answer-field".into(),
            "key".into(),
            "--category-field".into(),
            "topic".into(),
            "--out".into(),
            out.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |a: Vec<String>| fangsheng(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(args(&[])).status.success());
    let items = out.join("items.jsonl");
    std::fs::write(&items, "sentinel\n").unwrap();
    let o = run(args(&[]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&items).unwrap(), "sentinel\n");
    let o = run(args(&["--force"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let bank = ItemBank::load(&out).unwrap();
    // The answer "red" was given as a choice's text: it becomes its letter.
    assert_eq!(bank.get("g2").unwrap().key_letter(), Some('A'));
}

/// Runs an import of `input` (fields of the bank_cli fixtures) into `out`.
fn import_fixture(input: &str, out: &Path) -> Output {
    import_qid_fixture(input, out, &["--choices-field", "opts"])
}

/// `bank import` of a fixture whose records have `qid`, `text` and `key`,
/// with `extra` flags.
fn import_qid_fixture(input: &str, out: &Path, extra: &[&str]) -> Output {
    let input = fixture(input);
    let mut args = vec![
        "bank",
        "import",
        &input,
        "--id-field",
        "qid",
        "--question-field",
        "text",
        "--answer-field",
        "key",
        "--out",
        path_str(out),
    ];
    args.extend(extra);
    fangsheng(&args)
}

#[test]
fn import_of_a_bad_line_names_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad");
    let o = import_fixture("bad_line3.jsonl", &out);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad_line3.jsonl:3:"), "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    assert!(!out.exists(), "no bank folder may be left behind");
}

#[test]
fn import_of_an_answer_not_among_the_choices_names_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad");
    let o = import_fixture("answer_not_in_choices.jsonl", &out);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("answer_not_in_choices.jsonl:2:"), "{err}");
    assert!(err.contains("item 'c2'"), "{err}");
    assert!(err.contains("not among the choices A..C"), "{err}");
    assert!(!out.exists());
}

#[test]
fn import_rejects_flags_that_contradict_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = import_qid_fixture("good.jsonl", &out, &["--type", "multiple_choice"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("needs a --choices-field"),
        "{}",
        stderr(&o)
    );
    let o = import_qid_fixture("good.jsonl", &out, &["--answer-index-base", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
}

#[test]
fn validate_passes_on_the_demo_bank() {
    let o = fangsheng(&[
        "bank",
        "validate",
        "--bank",
        DEMO_BANK,
        "--params",
        DEMO_PARAMS,
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("bank 'demo': 126 items, 126 calibrated"),
        "{out}"
    );
    assert!(out.contains("0 errors, 0 warnings"), "{out}");
}

#[test]
fn validate_lists_uncalibrated_items_and_exits_2() {
    let full = ParamSet::load(&repo(DEMO_PARAMS)).unwrap().params;
    let missing = ["demo-005", "demo-117"];
    let kept: Vec<_> = full
        .items()
        .iter()
        .filter(|p| !missing.contains(&p.id.as_str()))
        .cloned()
        .collect();
    let partial = ParamSet::new(kept, full.metadata().clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.json");
    partial.save_json(&path).unwrap();
    let o = fangsheng(&[
        "bank",
        "validate",
        "--bank",
        DEMO_BANK,
        "--params",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    for id in missing {
        assert!(
            out.contains(&format!("error: item '{id}': not calibrated")),
            "{out}"
        );
    }
    assert!(out.contains("124 calibrated"), "{out}");
    assert!(stderr(&o).contains("2 errors"), "{}", stderr(&o));

    let o = fangsheng(&[
        "bank",
        "validate",
        "--bank",
        DEMO_BANK,
        "--params",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["n_calibrated"], 124);
    let items: Vec<&str> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, missing);
}

#[test]
fn validate_reports_a_broken_bank_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bank = dir.path().join("broken");
    std::fs::create_dir(&bank).unwrap();
    let mut text = std::fs::read_to_string(repo("item-banks/demo/items.jsonl")).unwrap();
    text.push_str("{\"id\": \"extra\", \"question\": \"q\"}\n");
    std::fs::write(bank.join("items.jsonl"), text).unwrap();
    let o = fangsheng(&[
        "bank",
        "validate",
        "--bank",
        bank.to_str().unwrap(),
        "--params",
        DEMO_PARAMS,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("items.jsonl:127:"), "{err}");
    assert!(err.contains("missing field 'answer'"), "{err}");
}

#[test]
fn info_counts_the_demo_bank_and_its_calibration() {
    let o = fangsheng(&["bank", "info", "--bank", DEMO_BANK, "--params", DEMO_PARAMS]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "bank 'demo': 126 items",
        "by type:",
        "by category:",
        "by dimension:",
        "126 items calibrated (100.0%)",
        "difficulty b",
    ] {
        assert!(out.contains(needle), "{needle} not in\n{out}");
    }

    let o = fangsheng(&[
        "bank",
        "info",
        "--bank",
        DEMO_BANK,
        "--params",
        DEMO_PARAMS,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n_items"], 126);
    let total = |key: &str| -> u64 {
        v[key]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    assert_eq!(total("by_type"), 126);
    assert_eq!(total("by_category"), 126);
    assert_eq!(total("by_dimension"), 126);
    let cal = &v["calibration"];
    assert_eq!(cal["calibrated_share"], 1.0);
    let (lo, hi) = (
        cal["difficulty"][0].as_f64().unwrap(),
        cal["difficulty"][1].as_f64().unwrap(),
    );
    assert!(lo < -1.0 && hi > 1.0, "difficulty range {lo}..{hi}");

    // Without parameters: no calibration section.
    let o = fangsheng(&["bank", "info", "--bank", DEMO_BANK]);
    assert!(o.status.success());
    assert!(!stdout(&o).contains("calibrated"));
}

#[test]
fn help_shows_examples() {
    let o = fangsheng(&["bank", "import", "--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("fangsheng bank import examples/quiz.csv"),
        "{out}"
    );
    assert!(out.contains("--answer-index-base"), "{out}");
    let o = fangsheng(&["bank", "--help"]);
    assert!(stdout(&o).contains("fangsheng bank validate --bank item-banks/demo"));
}

/// The demo bank the project ships (written by `cargo run --example
/// demo_data`): well-formed, covering its categories and dimensions, with
/// ids matching its simulated calibration and runs.
#[test]
fn demo_bank_matches_its_calibration_and_runs() {
    let bank = ItemBank::load(&repo(DEMO_BANK)).unwrap();
    assert_eq!(bank.name(), "demo");
    assert_eq!(bank.len(), 126);
    for item in bank.items() {
        item.check().unwrap();
        if item.kind == ItemType::MultipleChoice {
            let key = item.key_index().expect("key among the choices");
            assert!(key < item.choices.len());
            let distinct: BTreeSet<&String> = item.choices.iter().collect();
            assert_eq!(distinct.len(), item.choices.len(), "{}", item.id);
        } else {
            assert!(item.choices.is_empty());
        }
    }
    let questions: BTreeSet<&str> = bank.items().iter().map(|i| i.question.as_str()).collect();
    assert_eq!(questions.len(), bank.len(), "every question is different");
    let info = bank.info();
    for c in ["arithmetic", "units", "logic", "text"] {
        assert!(info.by_category.get(c).copied().unwrap_or(0) >= 20, "{c}");
    }
    for d in ["general", "industry", "application", "safety"] {
        assert!(info.by_dimension.get(d).copied().unwrap_or(0) >= 5, "{d}");
    }
    for t in ["multiple_choice", "numeric", "exact"] {
        assert!(info.by_type.get(t).copied().unwrap_or(0) >= 10, "{t}");
    }

    let params = ParamSet::load(&repo(DEMO_PARAMS)).unwrap();
    assert!(params.warnings.is_empty(), "{:?}", params.warnings);
    let params = params.params;
    let bank_ids: Vec<&str> = bank.items().iter().map(|i| i.id.as_str()).collect();
    let param_ids: Vec<&str> = params.items().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(bank_ids, param_ids);
    assert!(bank.validate_against(&params).issues.is_empty());
    let prov = &params.metadata().provenance;
    assert_eq!(prov.get("simulated"), Some(&serde_json::Value::Bool(true)));
    assert!(prov["note"].as_str().unwrap().contains("SIMULATED"));

    let runs = std::fs::read_to_string(repo("calibration/demo/runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert_eq!(lines.next(), Some("model,item,correct"));
    let mut models = BTreeSet::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "{line}");
        assert!(bank.get(f[1]).is_some(), "{line}");
        assert!(f[2] == "0" || f[2] == "1", "{line}");
        models.insert(f[0].to_owned());
    }
    assert_eq!(models.len(), 12);
}

/// The generated answers are right: recomputed here from the question text
/// for the templates whose answer follows from it mechanically.
#[test]
fn demo_answers_recompute_from_their_questions() {
    let bank = ItemBank::load(&repo(DEMO_BANK)).unwrap();
    let mut checked = 0;
    for item in bank.items() {
        let q = item.question.as_str();
        let key_text = || item.choices[item.key_index().unwrap()].clone();
        if let Some(rest) = q.strip_prefix("What is ").and_then(|r| r.strip_suffix('?')) {
            let parts: Vec<&str> = rest.split(' ').collect();
            if let [x, op, y] = parts[..] {
                let (x, y): (i64, i64) = (x.parse().unwrap(), y.parse().unwrap());
                let ans = match op {
                    "+" => x + y,
                    "-" => x - y,
                    "×" => x * y,
                    _ => continue,
                };
                assert_eq!(key_text(), ans.to_string(), "{q}");
                checked += 1;
            }
        } else if let Some(w) = q
            .strip_prefix("Write the word '")
            .and_then(|r| r.strip_suffix("' backwards."))
        {
            assert_eq!(item.answer, w.chars().rev().collect::<String>(), "{q}");
            checked += 1;
        } else if let Some(w) = q
            .strip_prefix("How many letters are in the word '")
            .and_then(|r| r.strip_suffix("'?"))
        {
            assert_eq!(item.numeric_answer(), Some(w.len() as f64), "{q}");
            checked += 1;
        } else if let Some(c) = q
            .strip_prefix("Convert ")
            .and_then(|r| r.strip_suffix(" °C to degrees Fahrenheit."))
        {
            let c: f64 = c.parse().unwrap();
            let f = item.numeric_answer().unwrap();
            assert!((f - (c * 1.8 + 32.0)).abs() < 1e-9, "{q}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} items recomputed");
}

#[test]
fn imports_gzipped_csv_of_numeric_items_with_a_tolerance() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("sums.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&input).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(b"id,q,n,topic\ns1,What is 1.5 + 2?,3.5,sums\ns2,What is 10 / 4?,2.5,sums\n")
        .unwrap();
    gz.finish().unwrap();
    let out = dir.path().join("sums");
    let o = fangsheng(&[
        "bank",
        "import",
        input.to_str().unwrap(),
        "--id-field",
        "id",
        "--question-field",
        "q",
        "--answer-field",
        "n",
        "--category-field",
        "topic",
        "--type",
        "numeric",
        "--tolerance",
        "0.5",
        "--dimension",
        "application",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bank = ItemBank::load(&out).unwrap();
    assert_eq!(bank.len(), 2);
    let s2 = bank.get("s2").unwrap();
    assert_eq!(s2.kind, ItemType::Numeric);
    assert_eq!(s2.numeric_answer(), Some(2.5));
    assert_eq!(s2.tolerance, Some(0.5));
    assert_eq!(s2.category.as_deref(), Some("sums"));
    assert_eq!(s2.dimension.as_deref(), Some("application"));
}
