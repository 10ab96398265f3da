//! End-to-end tests of `fangsheng exam`: the replay and openai backends on a
//! 30-item fixture bank (tests/fixtures/exam2), faults, an unreachable
//! endpoint, SIGKILL and resume, API-key hygiene, refusing foreign journals.

mod common;

use common::{path_str as s, stderr};
#[path = "support/server.rs"]
mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use server::{Fault, TestServer};

const MODEL: &str = "fixture-model";

fn fx(rel: &str) -> String {
    common::fixture(&format!("exam2/{rel}"))
        .to_string_lossy()
        .into_owned()
}

fn exam_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fangsheng"));
    c.arg("exam")
        .args(["--bank", &fx("bank"), "--params", &fx("params.json")])
        .args(["--max-items", "12", "--seed", "5"])
        .args(args);
    c
}

fn run(args: &[&str]) -> Output {
    exam_cmd(args).output().expect("run fangsheng")
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.ends_with('}'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The recorded outputs of the fixture model, by item id.
fn generations() -> HashMap<String, String> {
    std::fs::read_to_string(fx("generations.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["item_id"].as_str().unwrap().to_owned(),
                v["output"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The item a chat request asks: its questions read "Item NN: ...".
fn asked_item(body: &Value) -> Option<String> {
    let text = body["messages"].as_array()?.last()?["content"].as_str()?;
    let at = text.find("Item ")?;
    Some(format!("q{}", &text[at + 5..at + 7]))
}

/// A server answering like the fixture model's recorded run.
fn recorded_server() -> TestServer {
    let gens = generations();
    TestServer::start(move |body| asked_item(body).and_then(|id| gens.get(&id).cloned()))
}

/// A replay run of the fixture model (the reference result).
fn replay_result(dir: &Path) -> Value {
    let out = dir.join("replay.json");
    let o = run(&[
        "--backend",
        "replay",
        "--replay",
        &fx("generations.jsonl"),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&out)
}

/// A result without its `started` and `finished` times, after checking
/// that both are there, RFC 3339 UTC, and in order.
fn untimed(r: &Value) -> Value {
    let (started, finished) = times(r);
    assert!(
        started <= finished,
        "started {started} after finished {finished}"
    );
    let mut r = r.clone();
    let o = r.as_object_mut().unwrap();
    o.remove("started");
    o.remove("finished");
    r
}

/// A result's `started` and `finished`, checked to be `YYYY-MM-DDTHH:MM:SSZ`.
fn times(r: &Value) -> (String, String) {
    let t = |k: &str| {
        let v = r[k].as_str().unwrap_or_else(|| panic!("no {k} in {r}"));
        assert!(
            v.len() == 20 && v.as_bytes()[10] == b'T' && v.ends_with('Z'),
            "{k}: {v}"
        );
        v.to_owned()
    };
    (t("started"), t("finished"))
}

/// The parts of a result that must not depend on how the answers arrived.
fn outcome(r: &Value) -> Value {
    serde_json::json!([
        r["theta"],
        r["se"],
        r["items"],
        r["predicted_score"],
        r["stop_reason"],
        r["correct"],
        r["unparseable"],
        r["seed"],
        r["bank_digest"],
        r["calibration"]
    ])
}

#[test]
fn replay_exam_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let r = replay_result(dir.path());
    assert_eq!(r["format"], "fangsheng-exam/1");
    untimed(&r);
    assert_eq!(r["items_used"], 12);
    assert_eq!(r["stop_reason"], "max-items");
    assert_eq!(r["seed"], 5);
    assert_eq!(r["calibration"]["version"], "v1");
    let theta = r["theta"].as_f64().unwrap();
    let se = r["se"].as_f64().unwrap();
    let iv = &r["interval"];
    assert!(iv[0].as_f64().unwrap() < theta && theta < iv[1].as_f64().unwrap());
    assert!(se > 0.0 && se < 1.0, "se {se}");
    let p = r["predicted_score"]["bank"]["mean"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0);
    assert_eq!(
        r["predicted_score"]["category"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        r["predicted_score"]["dimension"].as_array().unwrap().len(),
        2
    );

    // The journal: a header, then one graded step per item, consistent with
    // the result and with the recorded outputs.
    let j = journal(&dir.path().join("replay.journal.jsonl"));
    assert_eq!(j[0]["record"], "header");
    assert_eq!(j[0]["seed"], 5);
    assert_eq!(j[0]["params_version"], "v1");
    let steps = &j[1..];
    assert_eq!(steps.len(), 12);
    let gens = generations();
    let ids: Vec<&str> = steps
        .iter()
        .map(|s| s["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(serde_json::json!(ids), r["items"]);
    for st in steps {
        assert_eq!(
            st["output"].as_str(),
            gens.get(st["item_id"].as_str().unwrap())
                .map(String::as_str)
        );
        assert_eq!(st["prompt_hash"].as_str().unwrap().len(), 64);
    }
    let correct = steps.iter().filter(|s| s["outcome"] == "correct").count();
    let unparseable = steps
        .iter()
        .filter(|s| s["outcome"] == "unparseable")
        .count();
    assert_eq!(r["correct"], correct);
    assert_eq!(r["unparseable"], unparseable);
    assert_eq!(steps.last().unwrap()["theta"], r["theta"]);
}

#[test]
fn openai_exam_recovers_from_faults_and_keeps_the_key_secret() {
    let dir = tempfile::tempdir().unwrap();
    let reference = replay_result(dir.path());
    let server = recorded_server();
    let key = "sk-test-5ecret-k3y-4c9f";
    server.require_key(key);
    server.push_faults([
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::ServerError,
        Fault::MalformedJson,
        Fault::CloseMidBody,
        Fault::Stall(Duration::from_secs(5)),
    ]);
    let out = dir.path().join("live.json");
    let jpath = dir.path().join("live.jsonl");
    let o = exam_cmd(&[
        "--backend",
        "openai",
        "--endpoint",
        &server.url(),
        "--model",
        MODEL,
        "--api-key-env",
        "FS_EXAM_TEST_KEY",
        "--timeout",
        "2",
        "--backoff-ms",
        "20",
        "--journal",
        s(&jpath),
        "--out",
        s(&out),
    ])
    .env("FS_EXAM_TEST_KEY", key)
    .output()
    .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(server.pending_faults(), 0);
    let r = json(&out);
    // Same answers, same grading: the same exam as the replay.
    assert_eq!(outcome(&r), outcome(&reference));
    assert!(
        r["attempts"].as_u64().unwrap() >= 12 + 5,
        "{}",
        r["attempts"]
    );
    // The key went to the server and nowhere else.
    let sent = server.requests();
    assert!(
        sent.iter()
            .all(|l| l.authorization.as_deref() == Some(&format!("Bearer {key}")[..]))
    );
    for (what, text) in [
        ("result", std::fs::read_to_string(&out).unwrap()),
        ("journal", std::fs::read_to_string(&jpath).unwrap()),
        ("stderr", err.clone()),
        ("stdout", String::from_utf8_lossy(&o.stdout).into_owned()),
    ] {
        assert!(!text.contains(key), "the API key leaked into the {what}");
        assert!(
            !text.contains("5ecret"),
            "part of the API key leaked into the {what}"
        );
    }
}

#[test]
fn unreachable_endpoint_exits_2_naming_it_and_keeps_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let jpath = dir.path().join("j.jsonl");
    let out = dir.path().join("r.json");
    let o = run(&[
        "--backend",
        "openai",
        "--endpoint",
        &url,
        "--model",
        MODEL,
        "--max-attempts",
        "3",
        "--backoff-ms",
        "10",
        "--journal",
        s(&jpath),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("3 attempt"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(!out.exists(), "no result after a failed exam");
    let j = journal(&jpath);
    assert_eq!(j.len(), 1, "header only");
    assert_eq!(j[0]["record"], "header");
}

#[test]
fn exam_killed_mid_request_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let reference = replay_result(dir.path());
    let server = recorded_server();
    server.set_delay(Duration::from_millis(300));
    let jpath = dir.path().join("k.jsonl");
    let out = dir.path().join("k.json");
    let args = [
        "--backend",
        "openai",
        "--endpoint",
        &server.url(),
        "--model",
        MODEL,
        "--api-key-env",
        "FS_EXAM_NO_KEY",
        "--journal",
        s(&jpath),
        "--out",
        s(&out),
    ];
    let mut child = exam_cmd(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it while its fifth request is in flight (the server is slow).
    let mut waited = 0;
    while server.requests().len() < 5 {
        std::thread::sleep(Duration::from_millis(20));
        waited += 1;
        assert!(waited < 3_000, "the exam never reached its fifth request");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let asked_before = server.requests().len();
    let done: Vec<String> = journal(&jpath)[1..]
        .iter()
        .map(|s| s["item_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!done.is_empty() && done.len() < 12, "{done:?}");
    assert!(!out.exists());

    server.set_delay(Duration::ZERO);
    let mut resume_args = args.to_vec();
    resume_args.push("--resume");
    let o = run(&resume_args);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&out);
    assert_eq!(outcome(&r), outcome(&reference));
    // The resumed exam keeps the time the killed one began (its journal
    // header's), and every step is timed, in order, within the exam.
    let (started, finished) = times(&r);
    untimed(&r);
    let j = journal(&jpath);
    assert_eq!(j[0]["time"].as_str(), Some(started.as_str()));
    let mut last = started.clone();
    for step in &j[1..] {
        let t = step["time"].as_str().unwrap().to_owned();
        assert!(last <= t, "step time {t} before {last}");
        last = t;
    }
    assert!(last <= finished, "{last} after {finished}");

    // No answered item was asked again after the resume.
    let log = server.requests();
    let asked_after: Vec<String> = log[asked_before..]
        .iter()
        .map(|l| asked_item(&l.body).unwrap())
        .collect();
    for id in &done {
        assert!(
            !asked_after.contains(id),
            "item {id} asked twice: {asked_after:?}"
        );
    }
    assert_eq!(done.len() + asked_after.len(), 12);
    let j = journal(&jpath);
    assert_eq!(j.len(), 13);
    assert_eq!(j.iter().filter(|r| r["record"] == "header").count(), 1);
}

/// Arguments of a replayed exam journalled to `dir/j.jsonl` with its result
/// in `dir/r.json`, and those two paths.
fn journalled_replay(dir: &Path) -> (Vec<String>, PathBuf, PathBuf) {
    let (journal, out) = (dir.join("j.jsonl"), dir.join("r.json"));
    let args = [
        "--backend",
        "replay",
        "--replay",
        &fx("generations.jsonl"),
        "--journal",
        s(&journal),
        "--out",
        s(&out),
    ]
    .map(str::to_owned)
    .to_vec();
    (args, journal, out)
}

#[test]
fn resume_refuses_a_journal_of_another_calibration_or_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (owned, _, out) = journalled_replay(dir.path());
    let base: Vec<&str> = owned.iter().map(String::as_str).collect();
    let o = run(&base);
    assert!(o.status.success(), "{}", stderr(&o));

    // Without --resume an existing journal is never overwritten.
    let o = run(&base);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));

    let v2 = fx("params_v2.json");
    let o = Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args([
            "exam",
            "--bank",
            &fx("bank"),
            "--params",
            &v2,
            "--max-items",
            "12",
        ])
        .args(["--seed", "5", "--resume"])
        .args(&base)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("another calibration")
            && err.contains("version v1")
            && err.contains("version v2"),
        "{err}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_fangsheng"))
        .args([
            "exam",
            "--bank",
            &fx("bank"),
            "--params",
            &fx("params.json"),
        ])
        .args(["--max-items", "12", "--seed", "6", "--resume"])
        .args(&base)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("seed is 5, this run's is 6"),
        "{}",
        stderr(&o)
    );

    // Resuming a finished exam with the same settings asks nothing and
    // gives the same result.
    let before = json(&out);
    let mut same = base.to_vec();
    same.push("--resume");
    let o = run(&same);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = json(&out);
    // Everything but the finishing time; the start is the journal's.
    assert_eq!(untimed(&after), untimed(&before));
    assert_eq!(after["started"], before["started"]);
    assert!(times(&before).1 <= times(&after).1);
}

#[test]
fn a_journal_from_before_the_ties_setting_resumes_only_with_first_twin_ties() {
    let dir = tempfile::tempdir().unwrap();
    let (owned, jpath, out) = journalled_replay(dir.path());
    let base: Vec<&str> = owned.iter().map(String::as_str).collect();
    // `ties` is a plan-file key (no flag).
    let plan = dir.path().join("first-ties.toml");
    std::fs::write(&plan, "max_items = 50\nties = \"first\"\n").unwrap();
    let first: Vec<&str> = base.iter().copied().chain(["--plan", s(&plan)]).collect();
    let o = run(&first);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = json(&out);
    // Rewrite the header as an older version wrote it: no `ties` in the plan.
    let text = std::fs::read_to_string(&jpath).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut header: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(header["record"], "header");
    assert_eq!(header["plan"]["ties"], "first");
    header["plan"].as_object_mut().unwrap().remove("ties");
    lines[0] = header.to_string();
    std::fs::write(&jpath, lines.join("\n") + "\n").unwrap();

    // Those exams broke ties by bank order: the default plan differs.
    let mut resume: Vec<&str> = base.to_vec();
    resume.push("--resume");
    let o = run(&resume);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("exam plan differs") && err.contains(r#""ties":"first""#),
        "{err}"
    );
    let mut resume_first = first.clone();
    resume_first.push("--resume");
    let o = run(&resume_first);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(untimed(&json(&out)), untimed(&before));
}

/// MMLU-Pro, end to end through the library: the shipped bank, a 2PL
/// calibration fitted here on the 21 other models, and a 50-item adaptive
/// exam replaying Meta-Llama-3_1-70B-Instruct's recorded outputs. Its
/// predicted accuracy must land within 5 points of the model's recorded
/// full-bank accuracy, 0.628 (`correct` in the shipped runs).
#[test]
fn mmlu_pro_llama_70b_instruct_50_items_predicts_its_accuracy() {
    use fangsheng::bank::{ItemBank, Metadata};
    use fangsheng::calibrate::{CalibrationConfig, calibrate};
    use fangsheng::cat::Plan;
    use fangsheng::data::{ReadOptions, read_responses};
    use fangsheng::exam::{Exam, run};
    use fangsheng::model::ModelKind;
    use fangsheng::prompt::PromptSpec;
    use fangsheng::respond::Replay;

    const TARGET: &str = "Meta-Llama-3_1-70B-Instruct";
    let dir = tempfile::tempdir().unwrap();
    let bank = ItemBank::load(&common::mmlu_pro_bank()).unwrap();

    let all = read_responses(&common::mmlu_pro_runs(), &ReadOptions::default()).unwrap();
    let recorded = {
        let e = all
            .examinees()
            .iter()
            .position(|id| id.as_str() == TARGET)
            .unwrap();
        let (_, scores) = all.examinee_responses(e);
        scores.iter().map(|&s| f64::from(s)).sum::<f64>() / scores.len() as f64
    };
    // The published run's accuracy.
    assert!(
        (recorded - 0.628).abs() < 0.0005,
        "recorded accuracy {recorded}"
    );
    let others = all.filter_examinees(|_, id| id.as_str() != TARGET);
    assert_eq!(others.n_examinees(), 21);
    let config = CalibrationConfig {
        model: ModelKind::TwoPl,
        standard_errors: false,
        ..CalibrationConfig::default()
    };
    let fit = calibrate(&others, &config, &mut |_| {}).unwrap();
    let meta = Metadata {
        bank: Some("mmlu-pro".into()),
        version: Some("test-21-models".into()),
        ..Metadata::default()
    };
    let params_path = dir.path().join("params.json");
    fit.to_param_set(meta)
        .unwrap()
        .save_json(&params_path)
        .unwrap();

    let params = fangsheng::bank::ParamSet::load(&params_path)
        .unwrap()
        .params;
    let bytes = std::fs::read(&params_path).unwrap();
    // Selection by closest difficulty, not maximum information: with 21
    // examinees the 2PL slopes of many items are extreme, and maximum
    // information rides on them (measured: predicted 0.571 with an SE of
    // 0.095 after 50 items, an overconfident estimate 5.7 points low;
    // kl 0.569; closest-b 0.602; the full 12,000-item exam 0.611).
    let plan = Plan {
        max_items: 50,
        select: "closest-b".parse().unwrap(),
        ..Plan::default()
    };
    let exam = Exam::new(bank, params, &bytes, plan, PromptSpec::default(), 11).unwrap();
    let replay = Replay::load(&common::mmlu_pro_generations(), Some(TARGET)).unwrap();
    let r = run(
        &exam,
        &replay,
        &dir.path().join("j.jsonl"),
        false,
        &mut |_| {},
    )
    .unwrap();
    let predicted = r.predicted_score.bank.mean;
    println!(
        "{TARGET}: 50-item predicted accuracy {predicted:.3} (recorded {recorded:.3}), theta {:.3} se {:?}, {} correct, {} unparseable",
        r.theta, r.se, r.correct, r.unparseable
    );
    assert_eq!(r.items_used, 50);
    assert!(
        (predicted - recorded).abs() <= 0.05,
        "predicted {predicted:.3} vs recorded {recorded:.3}"
    );
}

#[test]
fn campaign_runs_each_model_with_its_own_journal_and_result() {
    let dir = tempfile::tempdir().unwrap();
    let reference = replay_result(dir.path());
    let campaign = dir.path().join("campaign.toml");
    std::fs::write(
        &campaign,
        format!(
            "[[model]]\nname = \"recorded\"\nbackend = \"replay\"\nreplay = {:?}\n\n\
             [[model]]\nname = \"strong\"\nbackend = \"simulated\"\ntheta = 2.0\n",
            fx("generations.jsonl")
        ),
    )
    .unwrap();
    let out = dir.path().join("results");
    let o = run(&["--campaign", s(&campaign), "--out", s(&out)]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // Progress lines carry their model's name.
    assert!(err.lines().any(|l| l.starts_with("recorded: ")), "{err}");
    assert!(err.lines().any(|l| l.starts_with("strong: ")), "{err}");
    let recorded = json(&out.join("recorded.json"));
    assert_eq!(outcome(&recorded), outcome(&reference));
    let strong = json(&out.join("strong.json"));
    assert_eq!(strong["items_used"], 12);
    // The table on stdout compares the models, strongest first.
    let table = String::from_utf8(o.stdout.clone()).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].starts_with("model "), "{table}");
    let (first, second) = if strong["theta"].as_f64() > recorded["theta"].as_f64() {
        ("strong", "recorded")
    } else {
        ("recorded", "strong")
    };
    assert!(
        rows[1].starts_with(first) && rows[2].starts_with(second),
        "{table}"
    );
    let theta = format!("{:.3}", strong["theta"].as_f64().unwrap());
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("strong") && l.contains(&theta)),
        "{table}"
    );
    assert!(strong["backend"].as_str().unwrap().contains("simulated"));
    for name in ["recorded", "strong"] {
        assert_eq!(
            journal(&out.join(format!("{name}.journal.jsonl"))).len(),
            13
        );
    }
}

/// The README's first command: `fangsheng exam --demo` needs no files, runs
/// again and again from any folder (its journal is scratch), prints the
/// summary, and writes a result only when asked.
#[test]
fn demo_exam_runs_twice_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let demo = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_fangsheng"))
            .current_dir(dir.path())
            .args(["exam", "--demo", "-q"])
            .args(extra)
            .output()
            .expect("run fangsheng");
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let first = demo(&[]);
    let second = demo(&[]);
    assert_eq!(first, second, "same seed, same exam");
    for needle in [
        "bank 'demo'",
        "SIMULATED",
        "true theta is 0.8",
        "predicted score on the whole bank",
        "dimension safety",
        // No error model ships with the demo: the group intervals say
        // they cannot hold.
        "the category and dimension intervals count this exam's measurement error only",
    ] {
        assert!(first.contains(needle), "{needle} not in\n{first}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );

    let out = dir.path().join("demo.json");
    let text = demo(&["--theta", "-1", "--max-items", "10", "--out", s(&out)]);
    assert!(text.contains("after 10 items"), "{text}");
    let r = json(&out);
    assert_eq!(r["bank"], "demo");
    assert_eq!(r["items_used"], 10);
    assert_eq!(r["calibration"]["version"], "v1");
    assert!(r["backend"].as_str().unwrap().contains("theta=-1"));
    // The embedded bank is the shipped one: same digest as loading it.
    let shipped = fangsheng::bank::ItemBank::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/item-banks/demo"
    )))
    .unwrap();
    assert_eq!(r["bank_digest"], shipped.digest());
}

/// `--command` is split like a shell line: the quoted script reaches `sh -c`
/// as one argument, and every answer it prints goes through extraction.
#[test]
fn command_backend_runs_a_quoted_program_line() {
    let dir = tempfile::tempdir().unwrap();
    let (out, jr) = (dir.path().join("r.json"), dir.path().join("j.jsonl"));
    let o = run(&[
        "--backend",
        "command",
        "--command",
        r#"sh -c 'cat > /dev/null; echo "The answer is (A)"'"#,
        "--out",
        s(&out),
        "--journal",
        s(&jr),
        "--verbose",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // --verbose prints a line per step even though stderr is a pipe here.
    assert_eq!(
        err.lines().filter(|l| l.contains(" item ")).count(),
        12,
        "{err}"
    );
    let steps: Vec<Value> = journal(&jr).into_iter().skip(1).collect();
    assert_eq!(steps.len(), 12);
    assert!(steps.iter().all(|s| s["extracted"] == "A"), "{steps:?}");
    assert_eq!(json(&out)["items_used"], 12);
    let bad = run(&[
        "--backend",
        "command",
        "--command",
        "sh -c 'open",
        "--out",
        s(&out),
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("single quote"), "{}", stderr(&bad));
}

/// A campaign's exams never share a template variant, and a later exam told
/// about the campaign's journals (--avoid-variants) avoids theirs too.
#[test]
fn campaign_exams_draw_distinct_template_variants() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = dir.path().join("models.toml");
    std::fs::write(
        &campaign,
        "[[model]]\nname = \"low\"\nbackend = \"simulated\"\ntheta = -1.0\n\n\
         [[model]]\nname = \"mid\"\nbackend = \"simulated\"\ntheta = 0.5\n\n\
         [[model]]\nname = \"high\"\nbackend = \"simulated\"\ntheta = 2.0\n",
    )
    .unwrap();
    let bank = concat!(env!("CARGO_MANIFEST_DIR"), "/item-banks/demo");
    let params = concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/demo/v1.json");
    let out = dir.path().join("results");
    let exam = |extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_fangsheng"))
            .args(["exam", "--bank", bank, "--params", params, "-q"])
            .args(["--max-items", "126", "--seed", "3"])
            .args(extra)
            .output()
            .expect("run fangsheng");
        assert!(o.status.success(), "{}", stderr(&o));
    };
    exam(&["--campaign", s(&campaign), "--out", s(&out)]);
    let single = dir.path().join("later.json");
    exam(&[
        "--backend",
        "simulated",
        "--theta",
        "1",
        "--avoid-variants",
        s(&out),
        "--out",
        s(&single),
    ]);
    let mut journals: Vec<_> = ["low", "mid", "high"]
        .iter()
        .map(|m| out.join(format!("{m}.journal.jsonl")))
        .collect();
    journals.push(dir.path().join("later.journal.jsonl"));
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for j in &journals {
        for rec in journal(j).iter().filter(|r| r["record"] == "step") {
            if let Some(v) = rec.get("variant") {
                n += 1;
                let key = (rec["item_id"].to_string(), v["slots"].to_string());
                assert!(seen.insert(key.clone()), "{key:?} asked twice");
            }
        }
    }
    assert_eq!(n, 4 * 6, "every exam ran the bank out, templates included");
}
