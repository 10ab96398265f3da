//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The shared data folder: `$FANGSHENG_SHARED`, else `../shared` beside the
/// checkout. A test that needs it has `shared` in its name and is marked
/// `#[ignore]` (`.ci/run` runs those with `--ignored`); it fails, never
/// skips, when the folder is missing.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("FANGSHENG_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("data").is_dir(),
        "shared data not found at {} (set FANGSHENG_SHARED to the folder holding data/ and reference/)",
        dir.display()
    );
    dir
}

/// A file under `shared/data/`.
pub fn shared_data(rel: &str) -> PathBuf {
    let p = shared_dir().join("data").join(rel);
    assert!(p.is_file(), "missing shared data file {}", p.display());
    p
}

/// A shipped data file under `tests/data/` (`classic/LSAT7.csv`, ...).
pub fn data(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel);
    assert!(p.is_file(), "missing test data file {}", p.display());
    p
}

/// The 22 shipped MMLU-Pro runs (long format: `model,item_id,correct,pred`).
pub fn mmlu_pro_runs() -> PathBuf {
    repo("calibration/mmlu-pro/runs.csv.gz")
}

/// The shipped MMLU-Pro bank folder.
pub fn mmlu_pro_bank() -> PathBuf {
    repo("item-banks/mmlu-pro")
}

/// The shipped recorded generations of one model on every MMLU-Pro item.
pub fn mmlu_pro_generations() -> PathBuf {
    data("mmlu-pro/Meta-Llama-3_1-70B-Instruct.jsonl.gz")
}

/// A fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs the `fangsheng` binary with `args` and collects its output. The
/// provenance date is pinned (`SOURCE_DATE_EPOCH`) so that runs either side
/// of midnight UTC still write identical files.
pub fn fangsheng(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .expect("run fangsheng")
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A command's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `o`, after asserting that its command succeeded (its stderr otherwise).
pub fn ok(o: Output) -> Output {
    assert!(o.status.success(), "failed: {}", stderr(&o));
    o
}

/// A path as the `&str` a command line takes.
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A file or folder of this checkout (`item-banks/demo`, ...).
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Pearson's correlation of `x` and `y`.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    sxy / (sxx * syy).sqrt()
}
