//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared data folder: `$FANGSHENG_SHARED`, else `../shared` beside the
/// checkout. A test that needs it fails (never skips) when it is missing.
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

/// A fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs the `fangsheng` binary with `args` and collects its output. The
/// provenance date is pinned (`SOURCE_DATE_EPOCH`) so that runs either side
/// of midnight UTC still write identical files.
pub fn fangsheng(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .expect("run fangsheng")
}

/// A command's standard error as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
