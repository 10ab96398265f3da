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
