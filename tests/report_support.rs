//! Helpers shared by the report tests (`cli_report.rs`, `report_chromium.rs`,
//! which include this file with `#[path]`): the demo inputs a report is
//! drawn from, and running `fangsheng report`. Compiled alone it holds no
//! tests.
#![allow(dead_code)]

#[path = "common/mod.rs"]
pub mod common;

use std::path::{Path, PathBuf};

use common::{fangsheng, stderr};

/// A path under the checkout, as text.
pub fn root(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// A path as text.
pub fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Runs the demo simulate (30-item replays of the 12 demo runs, with a
/// trace) and a 20-item simulated exam (theta 0.5) into `dir`; returns the
/// files written: simulate CSV, trace CSV, exam result, exam journal.
pub fn demo_inputs(dir: &Path) -> Vec<String> {
    let params = root("calibration/demo/v1.json");
    let (sim, trace) = (dir.join("sim.csv"), dir.join("trace.csv"));
    let o = fangsheng(&[
        "simulate",
        "--params",
        &params,
        "--responses",
        &root("calibration/demo/runs.csv"),
        "--max-items",
        "30",
        "--trace",
        &p(&trace),
        "--out",
        &p(&sim),
        "--quiet",
    ]);
    assert!(o.status.success(), "simulate: {}", stderr(&o));
    let exam = dir.join("exam.json");
    let o = fangsheng(&[
        "exam",
        "--bank",
        &root("item-banks/demo"),
        "--params",
        &params,
        "--backend",
        "simulated",
        "--theta",
        "0.5",
        "--max-items",
        "20",
        "--out",
        &p(&exam),
        "--quiet",
    ]);
    assert!(o.status.success(), "exam: {}", stderr(&o));
    let journal = dir.join("exam.journal.jsonl");
    assert!(journal.is_file(), "no journal at {}", journal.display());
    vec![p(&sim), p(&trace), p(&exam), p(&journal)]
}

/// Runs `fangsheng report --from FROM --params <demo> --bank <demo> --out OUT`
/// and asserts it succeeded.
pub fn demo_report(from: &[String], out: &Path) {
    let o = fangsheng(&[
        "report",
        "--from",
        &from.join(","),
        "--params",
        &root("calibration/demo/v1.json"),
        "--bank",
        &root("item-banks/demo"),
        "--out",
        &p(out),
    ]);
    assert!(o.status.success(), "report: {}", stderr(&o));
}
