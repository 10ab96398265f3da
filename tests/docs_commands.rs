//! Every shell example of the user-facing documents runs as written on a
//! fresh clone: each document's `sh` blocks run in order, in one scratch
//! folder that holds the clone's `item-banks/` and `calibration/`, with the
//! `fangsheng` binary under test first on the PATH. Examples that talk to
//! an endpoint at `http://localhost:8000/v1` reach a loopback
//! OpenAI-compatible server standing in for it (its address replaces that
//! one), which answers every item "The answer is (A).".
//!
//! Lines that build or test the project itself (`cargo install`, `cargo
//! build`, `cargo fmt`, `cargo bench`, `bash .ci/test`) are not run: they
//! are what runs these tests. `cargo run --release --` is the binary.

mod common;
#[path = "support/server.rs"]
mod server;

use std::path::{Path, PathBuf};

use common::repo;

/// The `sh` blocks of a Markdown file, in order.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => blocks.push(current.take().unwrap_or_default()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Whether a command line builds or tests the project (not run here).
fn builds_the_project(line: &str) -> bool {
    let l = line.trim_start();
    [
        "cargo install",
        "cargo build",
        "cargo fmt",
        "cargo bench",
        "cargo clippy",
        "bash .ci/test",
    ]
    .iter()
    .any(|p| l.starts_with(p))
}

/// The script of one document: its blocks, with project builds left out,
/// `cargo run --release --` as the binary and the endpoint at `url`.
fn script(blocks: &[String], url: &str) -> String {
    let mut out = String::from("set -euo pipefail\n");
    for b in blocks {
        let mut skipping = false;
        for line in b.lines() {
            // A skipped command's continuation lines go with it.
            if skipping || builds_the_project(line) {
                skipping = line.trim_end().ends_with('\\');
                continue;
            }
            let line = line
                .replace("cargo run --release --", "fangsheng")
                .replace("http://localhost:8000/v1", url)
                .replace("OPENAI_API_KEY=...", "OPENAI_API_KEY=docs-test-key");
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Runs the `sh` examples of `doc` (a path in the repository) and asserts
/// that they all succeed; returns how many commands ran.
fn run_examples(doc: &str) -> usize {
    let text = std::fs::read_to_string(repo(doc)).unwrap();
    let blocks = sh_blocks(&text);
    assert!(!blocks.is_empty(), "{doc} has no sh examples");
    let server = server::TestServer::start(|_| Some("The answer is (A).".to_owned()));
    let script = script(&blocks, &format!("{}/v1", server.url()));
    let dir = tempfile::tempdir().unwrap();
    for folder in ["item-banks", "calibration"] {
        copy_dir(&repo(folder), &dir.path().join(folder));
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_fangsheng"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{doc}: an example failed\n--- script ---\n{script}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    script
        .lines()
        .filter(|l| l.trim_start().starts_with("fangsheng "))
        .count()
}

/// A copy of a folder (examples may write into the clone's folders; the
/// repository's own stay untouched).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_readme_examples_run() {
    assert!(run_examples("README.md") >= 10);
}

#[test]
fn the_guide_examples_run() {
    assert!(run_examples("docs/guide.md") >= 30);
}
