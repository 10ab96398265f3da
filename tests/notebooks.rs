//! The notebooks in notebooks/ run headless on exports the CLI makes here:
//! a campaign of simulated models on the demo bank (results and journals),
//! a replay of the demo runs through `fangsheng simulate`, and
//! `fangsheng export` of both; then `jupyter nbconvert --execute` runs every
//! notebook with `FANGSHENG_NB_DATA` pointing at the exports.
//!
//! It needs the virtual environment `.venv` at the repository root with
//! notebooks/requirements.txt installed (`.ci/run` creates it); without it
//! the test fails and says how to make it.

mod common;

use common::{fangsheng, stderr};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const NOTEBOOKS: [&str; 3] = ["compare_models", "predicted_vs_observed", "item_map"];

fn repo(rel: &str) -> PathBuf {
    Path::new(REPO).join(rel)
}

fn ok(o: Output, what: &str) -> Output {
    assert!(o.status.success(), "{what} failed: {}", stderr(&o));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the commands that make the notebooks' inputs into `data`.
fn make_exports(work: &Path, data: &Path) {
    let (bank, params, runs) = (
        repo("item-banks/demo"),
        repo("calibration/demo/v1.json"),
        repo("calibration/demo/runs.csv"),
    );
    let campaign = work.join("campaign.toml");
    let models: String = [
        ("weak", -1.2),
        ("fair", -0.3),
        ("good", 0.5),
        ("strong", 1.3),
    ]
    .iter()
    .map(|(m, t)| format!("[[model]]\nname = \"{m}\"\nbackend = \"simulated\"\ntheta = {t}\n\n"))
    .collect();
    std::fs::write(&campaign, models).unwrap();
    let results = work.join("results");
    ok(
        fangsheng(&[
            "exam",
            "--bank",
            s(&bank),
            "--params",
            s(&params),
            "--campaign",
            s(&campaign),
            "--out",
            s(&results),
            "--max-items",
            "25",
            "--seed",
            "11",
            "--quiet",
        ]),
        "exam campaign",
    );
    let replay = work.join("replay.csv");
    ok(
        fangsheng(&[
            "simulate",
            "--params",
            s(&params),
            "--responses",
            s(&runs),
            "--max-items",
            "30",
            "--out",
            s(&replay),
            "--quiet",
        ]),
        "simulate replay",
    );
    let of = |ext: &str| -> Vec<String> {
        ["weak", "fair", "good", "strong"]
            .iter()
            .map(|m| results.join(format!("{m}{ext}")).display().to_string())
            .collect()
    };
    let (result_files, journals) = (of(".json"), of(".journal.jsonl"));
    let export = |table: &str, out: &str, from: &[String], extra: &[&str]| {
        let out = data.join(out);
        let mut args = vec!["export", table, "--out", s(&out)];
        args.extend(extra);
        args.push("--from");
        args.extend(from.iter().map(String::as_str));
        ok(fangsheng(&args), &format!("export {table}"));
    };
    export("abilities", "exam_abilities.csv", &result_files, &[]);
    export("scores", "exam_scores.csv", &result_files, &[]);
    export("steps", "exam_steps.csv", &journals, &[]);
    let mut item_sources = vec![params.display().to_string()];
    item_sources.extend(journals.iter().cloned());
    export("items", "items.csv", &item_sources, &["--bank", s(&bank)]);
    export(
        "abilities",
        "replay_abilities.csv",
        &[replay.display().to_string()],
        &[],
    );
}

#[test]
fn notebooks_execute_on_fresh_exports() {
    let jupyter = repo(".venv/bin/jupyter");
    assert!(
        jupyter.is_file(),
        "{} is missing: the notebook test needs the virtual environment with the pinned \
         requirements. Create it at the repository root with\n  python3 -m venv .venv && \
         .venv/bin/pip install -r notebooks/requirements.txt\n(.ci/run does this before the tests)",
        jupyter.display()
    );
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    make_exports(work.path(), &data);

    let executed = work.path().join("executed");
    let mut cmd = Command::new(&jupyter);
    cmd.args(["nbconvert", "--to", "notebook", "--execute", "--output-dir"])
        .arg(&executed)
        .arg("--ExecutePreprocessor.timeout=120")
        .env("FANGSHENG_NB_DATA", &data)
        // Matplotlib and Jupyter write caches and runtime files: keep them
        // inside the test's folder.
        .env("MPLCONFIGDIR", work.path().join("mpl"))
        .env("JUPYTER_RUNTIME_DIR", work.path().join("runtime"));
    for nb in NOTEBOOKS {
        cmd.arg(repo(&format!("notebooks/{nb}.ipynb")));
    }
    let o = cmd.output().expect("run jupyter nbconvert");
    ok(o, "jupyter nbconvert --execute");
    for nb in NOTEBOOKS {
        let out = executed.join(format!("{nb}.ipynb"));
        let text =
            std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        let book: serde_json::Value = serde_json::from_str(&text).unwrap();
        let code: Vec<&serde_json::Value> = book["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["cell_type"] == "code")
            .collect();
        assert!(
            code.iter().all(|c| c["execution_count"].is_number()),
            "{nb}: not every cell ran"
        );
        let errors: Vec<&serde_json::Value> = code
            .iter()
            .flat_map(|c| c["outputs"].as_array().unwrap())
            .filter(|o| o["output_type"] == "error")
            .collect();
        assert!(errors.is_empty(), "{nb}: {errors:?}");
        let images = code
            .iter()
            .flat_map(|c| c["outputs"].as_array().unwrap())
            .filter(|o| o["data"]["image/png"].is_string())
            .count();
        assert!(images >= 1, "{nb}: no figure");
    }
}

/// The committed notebooks have no outputs (they are made in CI).
#[test]
fn committed_notebooks_have_no_outputs() {
    for nb in NOTEBOOKS {
        let path = repo(&format!("notebooks/{nb}.ipynb"));
        let book: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for cell in book["cells"].as_array().unwrap() {
            if cell["cell_type"] == "code" {
                assert!(cell["outputs"].as_array().unwrap().is_empty(), "{nb}");
                assert!(cell["execution_count"].is_null(), "{nb}");
            }
        }
    }
}
