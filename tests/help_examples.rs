//! Every example in the `--help` of the commands below runs as written on a
//! fresh clone: each line that begins with `fangsheng ` (with its `\`
//! continuations) runs, in the order the help shows, in a temporary folder
//! where `item-banks` and `calibration` link to this checkout's, so relative
//! paths work and outputs land in the temporary folder. An example that
//! reaches an OpenAI-compatible endpoint talks to the loopback test server
//! instead of `http://localhost:8000/v1`. Each must exit 0, and none may
//! write into the linked folders.

mod common;
#[path = "support/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fangsheng::respond::split_command_line;
use server::TestServer;

/// The (sub)commands whose help examples must run; adding one is one line.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["score"],
    &["calibrate"],
    &["exam"],
    &["bank"],
    &["bank", "import"],
    &["bank", "diff"],
    &["bank", "validate"],
    &["bank", "info"],
    &["link"],
    &["calibrate-new"],
    &["diagnose"],
    &["diagnose", "saturation"],
    &["diagnose", "contamination"],
    &["export"],
    &["report"],
    &["simulate"],
    &["evaluate"],
];

/// The endpoint the examples name; the test server stands in for it.
const EXAMPLE_ENDPOINT: &str = "http://localhost:8000/v1";

/// The folders of the checkout the examples read.
const LINKED: [&str; 3] = ["item-banks", "calibration", "examples"];

fn help(command: &[&str]) -> String {
    let mut args = command.to_vec();
    args.push("--help");
    let o = common::ok(common::fangsheng(&args));
    common::stdout(&o)
}

/// The example command lines of a help text: lines that begin with
/// `fangsheng ` after indentation, joined with their `\` continuations.
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = help.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if !line.starts_with("fangsheng ") {
            continue;
        }
        let mut joined = String::new();
        let mut part = line;
        while let Some(head) = part.strip_suffix('\\') {
            joined.push_str(head.trim_end());
            joined.push(' ');
            part = lines.next().map_or("", str::trim);
        }
        joined.push_str(part);
        out.push(joined);
    }
    out
}

/// Every file under the linked folders with its length.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, u64> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, u64>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let len = std::fs::metadata(&path).unwrap().len();
                out.insert(path, len);
            }
        }
    }
    let mut out = BTreeMap::new();
    for name in LINKED {
        walk(&root.join(name), &mut out);
    }
    out
}

/// A folder to run one help's examples in, the checkout's data linked in.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in LINKED {
        std::os::unix::fs::symlink(common::repo(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn run(line: &str, dir: &Path, server: &TestServer) -> std::process::Output {
    let line = line.replace(EXAMPLE_ENDPOINT, &server.url());
    let words = split_command_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(words[0], "fangsheng");
    Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args(&words[1..])
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("run fangsheng")
}

#[test]
fn examples_are_extracted_with_their_continuations() {
    let text = "Examples:\n  fangsheng a --x 1 \\\n      --y 2\n  not this\n  fangsheng b\n";
    assert_eq!(examples(text), ["fangsheng a --x 1 --y 2", "fangsheng b"]);
}

#[test]
fn every_help_example_runs_on_a_fresh_clone() {
    // Any answer will do: a letter for multiple choice, wrong or right.
    let server = TestServer::start(|_| Some("The answer is B.".to_owned()));
    let before = snapshot(&common::repo(""));
    for command in COMMANDS {
        let name = format!("fangsheng {}", command.join(" "));
        let lines = examples(&help(command));
        assert!(!lines.is_empty(), "{name} --help shows no example");
        let dir = workdir();
        for line in &lines {
            let o = run(line, dir.path(), &server);
            assert!(
                o.status.success(),
                "{name} --help example failed:\n  {line}\n{}",
                common::stderr(&o)
            );
        }
    }
    assert_eq!(
        snapshot(&common::repo("")),
        before,
        "an example wrote into {LINKED:?}"
    );
}
