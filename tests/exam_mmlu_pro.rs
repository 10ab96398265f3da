//! An adaptive MMLU-Pro exam as a user runs it: one command on the shipped
//! bank and calibration, against a loopback OpenAI-compatible server that
//! answers each question with Meta-Llama-3.1-70B-Instruct's recorded output
//! for it. The result must say what a reader needs to trust it.

mod common;
#[path = "support/server.rs"]
mod server;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use common::{mmlu_pro_bank, path_str, repo, stderr};
use fangsheng::bank::ItemBank;
use serde_json::Value;
use server::TestServer;

const MODEL: &str = "Meta-Llama-3_1-70B-Instruct";

/// The question and options as the bank's prompt lays them out, which is
/// how the server finds the recorded answer in a request.
fn question_key(question: &str, options: &str) -> String {
    format!("{question}\nOptions:\n{options}")
}

/// Question and options -> recorded output, for every item of the bank.
fn recorded_outputs() -> HashMap<String, String> {
    let bank = ItemBank::load(&mmlu_pro_bank()).unwrap();
    let mut by_id = HashMap::new();
    let path = common::mmlu_pro_generations();
    for line in fangsheng::io::open_read(&path).unwrap().lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        by_id.insert(
            v["item_id"].to_string(),
            v["output"].as_str().unwrap().to_owned(),
        );
    }
    let mut out = HashMap::new();
    for item in bank.items() {
        let options: Vec<String> = item
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}. {c}", fangsheng::bank::letter(i)))
            .collect();
        // The same question with the same options under two ids: either
        // recorded answer is the model's answer to it.
        out.entry(question_key(&item.question, &options.join("\n")))
            .or_insert_with(|| by_id[item.id.as_str()].clone());
    }
    out
}

/// The question and options a request asks, between MMLU-Pro's last
/// "Question:" line (worked examples come before it) and its "Answer:".
fn asked(body: &Value) -> Option<String> {
    let text = body["messages"].as_array()?.last()?["content"].as_str()?;
    let start = text.rfind("Question:\n")? + "Question:\n".len();
    let end = text.rfind("\nAnswer: Let's think step by step.")?;
    Some(text[start..end].to_owned())
}

/// The one command, from the repository root, against the server at `url`.
fn exam(url: &str, model: &str, extra: &[&str], out: &Path) -> std::process::Output {
    exam_on("item-banks/mmlu-pro", url, model, extra, out)
}

/// The same command on the bank folder `bank`.
fn exam_on(bank: &str, url: &str, model: &str, extra: &[&str], out: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .current_dir(repo(""))
        .args([
            "exam",
            "--bank",
            bank,
            "--params",
            "calibration/mmlu-pro/v1.json",
            "--backend",
            "openai",
            "--endpoint",
            url,
            "--model",
            model,
            "--out",
            path_str(out),
        ])
        .args(extra)
        .output()
        .expect("run fangsheng")
}

#[test]
fn one_command_runs_an_mmlu_pro_exam_and_records_what_it_asked_under() {
    let outputs = recorded_outputs();
    let server = TestServer::start(move |body| asked(body).and_then(|q| outputs.get(&q).cloned()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let url = server.url();
    let o = exam(&url, MODEL, &["--max-tokens", "2048"], &out);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();

    // 50 items by default, every one answered from the recording (a
    // request the server could not match would have been a 404).
    assert_eq!(r["items_used"], 50, "{err}");
    assert_eq!(r["skipped"], 0);

    // What was sent, and under which prompt.
    assert_eq!(r["request"]["model"], MODEL);
    assert_eq!(r["request"]["endpoint"], url.as_str());
    assert_eq!(r["request"]["sampling"]["temperature"], 0.0);
    assert_eq!(r["request"]["sampling"]["max_tokens"], 2048);
    assert_eq!(r["prompt"]["format"], "mmlu-pro-cot-0shot");
    assert_eq!(r["prompt"]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(r["prompt"]["calibrated_format"], "mmlu-pro-cot-5shot");
    assert_eq!(r["prompt"]["covered"], false);
    assert!(err.contains("the calibration does not cover it"), "{err}");
    assert_eq!(
        r["software"],
        concat!("fangsheng ", env!("CARGO_PKG_VERSION"))
    );

    // Each request was MMLU-Pro's instruction for the item's own category,
    // sent with the recorded sampling parameters.
    let bank_items = ItemBank::load(&mmlu_pro_bank()).unwrap();
    let categories: HashMap<&str, &str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let item = bank_items.get(id.as_str().unwrap()).unwrap();
            (item.question.as_str(), item.category.as_deref().unwrap())
        })
        .collect();
    let requests = server.requests();
    assert_eq!(requests.len(), 50);
    for req in &requests {
        let body = &req.body;
        assert_eq!(body["model"], MODEL);
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["max_tokens"], 2048);
        let text = body["messages"][0]["content"].as_str().unwrap();
        let (question, category) = categories
            .iter()
            .find(|(q, _)| text.contains(&format!("Question:\n{q}\nOptions:")))
            .expect("a request for an item the result lists");
        let _ = question;
        assert!(
            text.starts_with(&format!(
                "The following are multiple choice questions (with answers) about {category}. Think step by step"
            )),
            "{text}"
        );
    }

    // The bank score comes through the shipped error model, and so do the
    // category scores, each line with its measured coverage: a category
    // whose line fell short says its interval does not hold.
    assert_eq!(r["error_model"], true);
    assert_eq!(r["bank_interval"], "error-model");
    let categories = r["predicted_score"]["category"].as_array().unwrap();
    assert_eq!(categories.len(), 14);
    let link: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("calibration/mmlu-pro/v1.link.json")).unwrap(),
    )
    .unwrap();
    let fifty = link["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["items"] == 50)
        .unwrap();
    for c in categories {
        let value = c["value"].as_str().unwrap();
        let line = fifty["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["tag"] == "category" && g["value"] == value)
            .unwrap();
        let coverage = line["coverage"].as_f64().unwrap();
        let expected = if coverage < fangsheng::cat::COVERAGE_FLOOR {
            "error-model-short"
        } else {
            "error-model"
        };
        assert_eq!(c["interval"], expected, "{value}: coverage {coverage}");
        let named = err.contains(&format!("category {value}"));
        assert_eq!(named, expected == "error-model-short", "{value}\n{err}");
    }
    assert!(
        r["score_link"]["source"]
            .as_str()
            .unwrap()
            .ends_with("v1.link.json"),
        "{}",
        r["score_link"]
    );
    assert!(err.contains("error model"), "{err}");

    // The calibration names its 22 models: this one is among them, and the
    // result says so.
    assert_eq!(r["in_sample"], true);
    assert!(err.contains("in-sample exam"), "{err}");

    // Its recorded full-bank accuracy is 0.628 (`correct` in the shipped
    // runs). The model is one of the calibration's 22, so this checks the
    // plumbing, not a new model's error (`fangsheng evaluate` measures
    // that): in-sample, 50-item predictions are stretched away from the
    // middle (the in-sample replay of `fangsheng simulate` gives this model
    // 0.687 before the link, measured), and the error model, fitted on
    // held-out models, stretches further (0.722 measured here).
    let bank = &r["predicted_score"]["bank"];
    let mean = bank["mean"].as_f64().unwrap();
    let unlinked = r["score_link"]["unlinked"]["mean"].as_f64().unwrap();
    println!("predicted {mean:.3} (unlinked {unlinked:.3}), recorded 0.628");
    assert!((mean - 0.628).abs() < 0.12, "{mean}");
    assert!((unlinked - 0.628).abs() < 0.08, "{unlinked}");
    let (lo, hi) = (bank["lo"].as_f64().unwrap(), bank["hi"].as_f64().unwrap());
    assert!(lo < mean && mean < hi && hi - lo < 0.2, "[{lo}, {hi}]");

    // The report leads with the prediction and says the exam is in-sample.
    let page = dir.path().join("report.html");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(["report", "--from", path_str(&out), "--out", path_str(&page)])
        .output()
        .expect("run fangsheng");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = std::fs::read_to_string(&page).unwrap();
    assert!(
        doc.contains("In-sample: 1 of these 1 models are ones the calibration was fitted on"),
        "{doc}"
    );
    assert!(
        doc.contains(&format!("<td class=\"num\">{:.3}</td>", mean)),
        "{doc}"
    );

    // A model the calibration never saw is not in-sample.
    let other = dir.path().join("other.json");
    let o = exam(&url, "a-new-model", &["--max-items", "5"], &other);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    assert_eq!(r["in_sample"], false);
    assert!(!err.contains("in-sample exam"), "{err}");
}

/// Under the bank's 5-shot prompt (`prompt-5shot.toml` as the bank's
/// prompt, with worked examples of every category beside it), the result
/// says the calibration covers the prompt, and each request carries five
/// examples of the item's own category before its question. The examples
/// here are stand-ins: MMLU-Pro's validation split does not ship.
#[test]
fn under_the_five_shot_prompt_the_calibration_covers_the_exam() {
    let dir = tempfile::tempdir().unwrap();
    let bank_dir = dir.path().join("mmlu-pro");
    std::fs::create_dir(&bank_dir).unwrap();
    std::fs::copy(
        repo("item-banks/mmlu-pro/items.jsonl.gz"),
        bank_dir.join("items.jsonl.gz"),
    )
    .unwrap();
    std::fs::copy(
        repo("item-banks/mmlu-pro/prompt-5shot.toml"),
        bank_dir.join("prompt.toml"),
    )
    .unwrap();
    let bank = ItemBank::load(&mmlu_pro_bank()).unwrap();
    let mut categories: Vec<&str> = bank
        .items()
        .iter()
        .filter_map(|i| i.category.as_deref())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    let mut lines = String::new();
    for c in &categories {
        for k in 0..6 {
            lines.push_str(&format!(
                "{{\"id\":\"{c}-{k}\",\"question\":\"Worked {c} {k}?\",\"choices\":[\"x\",\"y\"],\
                 \"answer\":\"A\",\"category\":\"{c}\",\"meta\":{{\"rationale\":\"So (A). The answer is (A).\"}}}}\n"
            ));
        }
    }
    std::fs::write(bank_dir.join("few-shot.jsonl"), lines).unwrap();

    let outputs = recorded_outputs();
    let server = TestServer::start(move |body| asked(body).and_then(|q| outputs.get(&q).cloned()));
    let out = dir.path().join("r.json");
    let o = exam_on(
        path_str(&bank_dir),
        &server.url(),
        "a-new-model",
        &["--max-items", "10"],
        &out,
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["items_used"], 10);
    assert_eq!(r["prompt"]["format"], "mmlu-pro-cot-5shot");
    assert_eq!(r["prompt"]["covered"], true);
    assert!(!err.contains("does not cover"), "{err}");
    for req in server.requests() {
        let text = req.body["messages"][0]["content"].as_str().unwrap();
        assert_eq!(text.matches("Question:\n").count(), 6, "{text}");
        assert_eq!(text.matches("The answer is (A).\n\n").count(), 5, "{text}");
        let category = categories
            .iter()
            .find(|c| {
                text.starts_with(&format!(
                    "The following are multiple choice questions (with answers) about {c}."
                ))
            })
            .expect("the instruction names a category");
        assert_eq!(
            text.matches(&format!("Worked {category} ")).count(),
            5,
            "{text}"
        );
    }
}
