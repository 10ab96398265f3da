//! Model backends end to end: the OpenAI-compatible client against the test
//! server (replaying Meta-Llama-3.1-70B-Instruct's recorded MMLU-Pro
//! generations) with every injected fault, the command, replay and simulated
//! backends.
//!
//! No assertion here depends on how fast the machine is: times are only
//! checked as lower bounds the client itself must wait (`Retry-After`).

mod common;
#[path = "support/server.rs"]
mod server;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fangsheng::bank::{Item, ItemBank, ItemParams, ItemType};
use fangsheng::model::{Logistic, ModelKind};
use fangsheng::prompt::{Prompt, PromptConfig, render};
use fangsheng::respond::{
    ApiKey, ApiKeySource, Backend, BackendErrorKind, Command, CommandConfig, CommandInput, OpenAi,
    OpenAiConfig, Replay, RetryPolicy, Semaphore, Simulated,
};
use server::{Fault, TestServer};

const MODEL: &str = "Meta-Llama-3_1-70B-Instruct";

/// The MMLU-Pro bank and the recorded outputs of one model, loaded once.
struct Fixture {
    bank: ItemBank,
    replay: Replay,
    /// Items whose rendered question is unique among the first few hundred,
    /// with their prompts.
    asked: Vec<(Item, Prompt)>,
    /// Question text -> recorded output, for the server.
    by_question: Arc<HashMap<String, String>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let bank = ItemBank::load(&common::mmlu_pro_bank()).unwrap();
        let replay = Replay::load(&common::mmlu_pro_generations(), Some(MODEL)).unwrap();
        let config = PromptConfig::default();
        let mut by_question: HashMap<String, Option<String>> = HashMap::new();
        let mut asked = Vec::new();
        for item in bank.items().iter().take(400) {
            let prompt = render(item, &config);
            let output = replay.output(item.id.as_str()).unwrap().to_owned();
            // Two items with the same rendered question cannot be told apart
            // by the server: keep neither.
            by_question
                .entry(prompt.question().to_owned())
                .and_modify(|o| *o = None)
                .or_insert(Some(output));
            asked.push((item.clone(), prompt));
        }
        asked.retain(|(_, p)| by_question[p.question()].is_some());
        let by_question = by_question
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        Fixture {
            bank,
            replay,
            asked,
            by_question: Arc::new(by_question),
        }
    })
}

/// A server answering with the recorded output for the last user message.
fn replay_server() -> TestServer {
    let map = Arc::clone(&fixture().by_question);
    TestServer::start(move |body| {
        let last = body["messages"].as_array()?.last()?;
        map.get(last["content"].as_str()?).cloned()
    })
}

/// A client with short waits so fault tests stay quick.
fn client_config(server: &TestServer) -> OpenAiConfig {
    let mut c = OpenAiConfig::new(server.url(), MODEL);
    c.api_key = ApiKeySource::None;
    // Generous for a loaded 2-core machine; the stall faults outlast it.
    c.timeout = Duration::from_secs(2);
    c.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        seed: 7,
    };
    c
}

fn recorded(item: &Item) -> &'static str {
    fixture().replay.output(item.id.as_str()).unwrap()
}

#[test]
fn openai_backend_returns_the_recorded_generations() {
    let f = fixture();
    assert!(f.asked.len() > 350, "{} distinct prompts", f.asked.len());
    let server = replay_server();
    let client = OpenAi::new(client_config(&server)).unwrap();
    for (item, prompt) in f.asked.iter().take(25) {
        let reply = client.ask(prompt, item).unwrap();
        assert_eq!(reply.text, recorded(item), "item {}", item.id);
        assert_eq!(reply.attempts, 1);
        assert!(reply.retried.is_empty());
        let usage = reply.usage.unwrap();
        assert!(usage.prompt > 20 && usage.completion > 0, "{usage:?}");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 25);
    let body = &requests[0].body;
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(body.get("max_tokens").is_none());
    assert!(requests.iter().all(|r| r.authorization.is_none()));
}

#[test]
fn each_injected_fault_is_recovered_by_one_retry() {
    let f = fixture();
    let server = replay_server();
    let client = OpenAi::new(client_config(&server)).unwrap();
    let faults = [
        Fault::RateLimited {
            retry_after_secs: 0,
        },
        Fault::ServerError,
        Fault::Status(503),
        Fault::Stall(Duration::from_secs(8)),
        Fault::MalformedJson,
        Fault::CloseMidBody,
    ];
    for (fault, (item, prompt)) in faults.iter().zip(&f.asked) {
        server.push_faults([fault.clone()]);
        let reply = client
            .ask(prompt, item)
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(reply.text, recorded(item), "{fault:?}");
        assert_eq!(reply.attempts, 2, "{fault:?}: {:?}", reply.retried);
        assert_eq!(reply.retried.len(), 1);
        assert_eq!(server.pending_faults(), 0);
    }
    let retried_kinds: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.outcome.clone())
        .collect();
    assert_eq!(retried_kinds.iter().filter(|o| *o == "ok").count(), 6);
}

#[test]
fn the_retry_causes_say_what_went_wrong() {
    let f = fixture();
    let server = replay_server();
    let mut config = client_config(&server);
    config.retry.max_attempts = 6;
    let client = OpenAi::new(config).unwrap();
    server.push_faults([
        Fault::ServerError,
        Fault::Stall(Duration::from_secs(8)),
        Fault::MalformedJson,
        Fault::CloseMidBody,
        Fault::RateLimited {
            retry_after_secs: 0,
        },
    ]);
    let (item, prompt) = &f.asked[10];
    let reply = client.ask(prompt, item).unwrap();
    assert_eq!(reply.attempts, 6);
    assert_eq!(reply.text, recorded(item));
    let causes = reply.retried.join(" | ");
    for expected in [
        "status 500",
        "timed out",
        "malformed response",
        "connection failed",
        "status 429",
    ] {
        assert!(causes.contains(expected), "{expected} not in {causes}");
    }
}

#[test]
fn gives_up_after_the_last_attempt_with_a_clear_error() {
    let f = fixture();
    let server = replay_server();
    let mut config = client_config(&server);
    config.retry.max_attempts = 3;
    let client = OpenAi::new(config).unwrap();
    server.push_faults(std::iter::repeat_n(Fault::ServerError, 10));
    let (item, prompt) = &f.asked[0];
    let e = client.ask(prompt, item).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Status);
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.attempts(), 3);
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{}/chat/completions: ", server.url())),
        "{msg}"
    );
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
    assert!(msg.contains("status 500 Internal Server Error"), "{msg}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.pending_faults(), 7);
}

#[test]
fn client_errors_are_not_retried() {
    let f = fixture();
    let server = replay_server();
    let client = OpenAi::new(client_config(&server)).unwrap();
    server.push_faults([Fault::Status(400)]);
    let (item, prompt) = &f.asked[0];
    let e = client.ask(prompt, item).unwrap_err();
    assert_eq!(
        (e.kind(), e.status(), e.attempts()),
        (BackendErrorKind::Status, Some(400), 1)
    );
    assert!(
        e.to_string().contains("failed after 1 attempt: status 400"),
        "{e}"
    );
}

#[test]
fn an_unreachable_endpoint_fails_after_its_retries() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"), MODEL);
    config.api_key = ApiKeySource::None;
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let client = OpenAi::new(config).unwrap();
    let (item, prompt) = &fixture().asked[0];
    let e = client.ask(prompt, item).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transport);
    assert_eq!(e.attempts(), 3);
    let msg = e.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("gave up after 3 attempts"), "{msg}");
}

#[test]
fn retry_after_is_honoured() {
    let f = fixture();
    let server = replay_server();
    let client = OpenAi::new(client_config(&server)).unwrap();
    server.push_faults([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    let (item, prompt) = &f.asked[3];
    let reply = client.ask(prompt, item).unwrap();
    assert_eq!(reply.attempts, 2);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    // The backoff alone would wait at most 5 ms; the server asked for 1 s.
    // Only a lower bound: a slow machine can only make the gap longer.
    let gap = log[1].at - log[0].at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert!(reply.elapsed >= Duration::from_millis(950));
}

#[test]
fn the_concurrency_limit_holds_across_threads() {
    let f = fixture();
    let server = replay_server();
    server.set_delay(Duration::from_millis(30));
    let mut config = client_config(&server);
    config.concurrency = 2;
    config.timeout = Duration::from_secs(10);
    let client = OpenAi::new(config).unwrap();
    std::thread::scope(|s| {
        for chunk in f.asked[..24].chunks(3) {
            let client = &client;
            s.spawn(move || {
                for (item, prompt) in chunk {
                    assert_eq!(client.ask(prompt, item).unwrap().text, recorded(item));
                }
            });
        }
    });
    assert_eq!(server.requests().len(), 24);
    let peak = server.max_in_flight();
    assert!((1..=2).contains(&peak), "peak {peak} in flight");
}

#[test]
fn a_shared_limiter_bounds_several_backends_together() {
    let f = fixture();
    let server = replay_server();
    server.set_delay(Duration::from_millis(20));
    let limiter = Arc::new(Semaphore::new(1));
    let clients: Vec<OpenAi> = (0..3)
        .map(|_| {
            let mut c = client_config(&server);
            c.timeout = Duration::from_secs(10);
            c.concurrency = 8;
            OpenAi::with_limiter(c, Arc::clone(&limiter)).unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for (client, chunk) in clients.iter().zip(f.asked[..12].chunks(4)) {
            s.spawn(move || {
                for (item, prompt) in chunk {
                    client.ask(prompt, item).unwrap();
                }
            });
        }
    });
    assert_eq!(server.max_in_flight(), 1);
}

#[test]
fn the_api_key_is_sent_but_never_shown() {
    const SECRET: &str = "sk-test-5ecret-e3b0c44298fc";
    let f = fixture();
    let server = replay_server();
    server.require_key(SECRET);
    let mut config = client_config(&server);
    config.api_key = ApiKeySource::Value(ApiKey::new(SECRET));
    config.retry.max_attempts = 2;
    let client = OpenAi::new(config.clone()).unwrap();
    assert!(client.has_api_key());
    let (item, prompt) = &f.asked[0];
    assert_eq!(client.ask(prompt, item).unwrap().text, recorded(item));
    assert_eq!(
        server.requests()[0].authorization.as_deref(),
        Some(format!("Bearer {SECRET}").as_str())
    );
    let mut shown = vec![
        format!("{client:?}"),
        format!("{config:?}"),
        client.describe(),
    ];
    // Failures after retries.
    server.push_faults([Fault::ServerError, Fault::CloseMidBody]);
    let e = client.ask(prompt, item).unwrap_err();
    shown.push(e.to_string());
    shown.push(format!("{e:?}"));
    shown.push(fangsheng::Error::from(e).to_string());
    // A wrong key that the server quotes back in its 401 body.
    let mut wrong = config.clone();
    let wrong_key = "sk-wrong-9f86d081884c7d65";
    wrong.api_key = ApiKeySource::Value(ApiKey::new(wrong_key));
    let e = OpenAi::new(wrong).unwrap().ask(prompt, item).unwrap_err();
    assert_eq!((e.status(), e.attempts()), (Some(401), 1));
    assert!(
        e.to_string()
            .contains("invalid credentials: Bearer <redacted>"),
        "{e}"
    );
    shown.push(e.to_string());
    shown.push(format!("{e:?}"));
    for text in &shown {
        assert!(!text.contains(SECRET), "key shown in: {text}");
        assert!(!text.contains(wrong_key), "key shown in: {text}");
        assert!(!text.contains("5ecret"), "part of the key shown in: {text}");
    }
}

#[test]
fn system_prompt_max_tokens_and_extra_fields_reach_the_endpoint() {
    let f = fixture();
    let server = replay_server();
    let mut config = client_config(&server);
    config.max_tokens = Some(512);
    config.temperature = 0.2;
    config.extra.insert("seed".into(), 11.into());
    let client = OpenAi::new(config).unwrap();
    let prompt_config = PromptConfig::default().with_system("You are an expert.");
    let (item, _) = &f.asked[0];
    let prompt = render(item, &prompt_config);
    assert_eq!(client.ask(&prompt, item).unwrap().text, recorded(item));
    let body = &server.requests()[0].body;
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["seed"], 11);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "You are an expert.");
    assert_eq!(body["messages"][1]["content"], prompt.question());
}

fn any_item() -> (Item, Prompt) {
    let item = Item::multiple_choice(
        "demo-1",
        "Which number is even?",
        vec!["3".into(), "4".into(), "5".into()],
        'B',
    );
    let prompt = render(&item, &PromptConfig::default().with_system("Be brief."));
    (item, prompt)
}

#[test]
fn command_backend_passes_the_prompt_on_stdin() {
    let (item, prompt) = any_item();
    let cat = Command::new(CommandConfig::new(["cat"])).unwrap();
    let reply = cat.ask(&prompt, &item).unwrap();
    assert_eq!(reply.text, prompt.text());
    assert!(reply.text.starts_with("Be brief.\n\n"));

    let mut json = CommandConfig::new(["cat"]);
    json.input = CommandInput::Json;
    let reply = Command::new(json).unwrap().ask(&prompt, &item).unwrap();
    let v: serde_json::Value = serde_json::from_str(&reply.text).unwrap();
    assert_eq!(v["system"], "Be brief.");
    assert_eq!(v["messages"][0]["content"], prompt.question());

    let sh = Command::new(CommandConfig::new([
        "sh",
        "-c",
        "grep -q 'Which number is even' && echo 'The answer is (B).'",
    ]))
    .unwrap();
    assert_eq!(sh.ask(&prompt, &item).unwrap().text, "The answer is (B).\n");
}

#[test]
fn command_failures_are_reported_with_stderr() {
    let (item, prompt) = any_item();
    let failing = Command::new(CommandConfig::new([
        "sh",
        "-c",
        "cat >/dev/null; echo 'model not loaded' >&2; exit 3",
    ]))
    .unwrap();
    let e = failing.ask(&prompt, &item).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Command);
    let msg = e.to_string();
    assert!(msg.contains("command 'sh'"), "{msg}");
    assert!(msg.contains("model not loaded"), "{msg}");
    assert!(msg.contains('3'), "{msg}");

    let missing = Command::new(CommandConfig::new(["/nonexistent/fangsheng-model"])).unwrap();
    let e = missing.ask(&prompt, &item).unwrap_err();
    assert!(e.to_string().contains("cannot start"), "{e}");

    let mut slow = CommandConfig::new(["sleep", "20"]);
    slow.timeout = Duration::from_millis(200);
    let e = Command::new(slow).unwrap().ask(&prompt, &item).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Timeout);

    assert_eq!(
        Command::new(CommandConfig::new(Vec::<String>::new()))
            .unwrap_err()
            .kind(),
        BackendErrorKind::Config
    );
}

#[test]
fn replay_backend_answers_from_the_recorded_run() {
    let f = fixture();
    assert_eq!(f.replay.model(), MODEL);
    assert_eq!(f.replay.len(), 12_032);
    let item = f.bank.get("70").unwrap();
    let prompt = render(item, &PromptConfig::default());
    let reply = f.replay.ask(&prompt, item).unwrap();
    assert!(reply.text.contains("The answer is (I)"), "{}", reply.text);
    assert_eq!(reply.attempts, 1);
    assert!(f.replay.describe().contains(MODEL));

    let stranger = Item::open("no-such-item", "?", ItemType::Exact, "x");
    let e = f.replay.ask(&prompt, &stranger).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::NotRecorded);
    assert!(e.to_string().contains("no-such-item"), "{e}");
}

#[test]
fn replay_files_with_several_models_need_a_model_name() {
    let path = common::fixture("exam/generations_two_models.jsonl");
    let e = Replay::load(&path, None).unwrap_err();
    assert_eq!(e.kind(), fangsheng::ErrorKind::Config);
    assert!(e.to_string().contains("model-a, model-b"), "{e}");
    let a = Replay::load(&path, Some("model-b")).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a.output("2"), Some(""));
    let e = Replay::load(&path, Some("model-c")).unwrap_err();
    assert!(
        e.to_string().contains("no outputs of model 'model-c'"),
        "{e}"
    );

    let bad = common::fixture("exam/generations_bad.jsonl");
    let e = Replay::load(&bad, None).unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("no 'output'"), "{e}");
}

/// The fraction of correct simulated answers is the model's probability.
#[test]
fn simulated_backend_answers_with_the_calibrated_probabilities() {
    let n = 4000;
    let irf = Logistic::two_pl(1.2, 0.0).unwrap();
    let params: Vec<ItemParams> = (0..n)
        .map(|i| ItemParams {
            id: format!("s{i}").into(),
            kind: ModelKind::TwoPl,
            irf: irf.into(),
            se: None,
        })
        .collect();
    let items: Vec<Item> = (0..n)
        .map(|i| {
            let choices = (0..4).map(|c| format!("option {c}")).collect();
            Item::multiple_choice(format!("s{i}"), format!("question {i}"), choices, 'C')
        })
        .collect();
    let theta = 0.5;
    let sim = Simulated::new(theta, &params, 42);
    let p = sim.p_correct("s0").unwrap();
    assert!((p - 1.0 / (1.0 + (-0.6f64).exp())).abs() < 1e-12);
    let config = PromptConfig::default();
    let mut correct = 0;
    let mut wrong_letters = HashMap::new();
    for item in &items {
        let reply = sim.ask(&render(item, &config), item).unwrap();
        match reply.text.as_str() {
            "The answer is (C)." => correct += 1,
            other => *wrong_letters.entry(other.to_owned()).or_insert(0) += 1,
        }
    }
    let share = correct as f64 / n as f64;
    let se = (p * (1.0 - p) / n as f64).sqrt();
    // 4.5 standard errors: fails by chance about once in 150,000 seeds.
    assert!((share - p).abs() < 4.5 * se, "share {share} vs p {p}");
    // Wrong answers use the three other letters, about equally.
    let mut keys: Vec<_> = wrong_letters.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "The answer is (A).",
            "The answer is (B).",
            "The answer is (D)."
        ]
    );
    let n_wrong = (n - correct) as f64;
    for (k, v) in &wrong_letters {
        let q = *v as f64 / n_wrong;
        assert!(
            (q - 1.0 / 3.0).abs() < 4.5 * (2.0 / 9.0 / n_wrong).sqrt(),
            "{k}: {q}"
        );
    }
    // The same seed gives the same answers in any order; another seed differs.
    let again = Simulated::new(theta, &params, 42);
    let other = Simulated::new(theta, &params, 43);
    let mut differs = 0;
    for item in items.iter().rev().take(200) {
        let prompt = render(item, &config);
        let a = sim.ask(&prompt, item).unwrap().text;
        assert_eq!(again.ask(&prompt, item).unwrap().text, a);
        differs += usize::from(other.ask(&prompt, item).unwrap().text != a);
    }
    assert!(differs > 20, "{differs}");
}

#[test]
fn simulated_open_answers_are_right_or_clearly_wrong() {
    let irf = |b: f64| Logistic::two_pl(1.0, b).unwrap().into();
    let params = [
        ("easy", irf(-30.0)),
        ("hard", irf(30.0)),
        ("easy-n", irf(-30.0)),
        ("hard-n", irf(30.0)),
        ("regex", irf(-30.0)),
    ]
    .map(|(id, irf)| ItemParams {
        id: id.into(),
        kind: ModelKind::TwoPl,
        irf,
        se: None,
    });
    let sim = Simulated::new(0.0, &params, 1);
    let ask = |item: &Item| sim.ask(&render(item, &PromptConfig::default()), item);
    let exact = |id: &str| Item::open(id, "Capital of France?", ItemType::Exact, "Paris");
    assert_eq!(ask(&exact("easy")).unwrap().text, "The answer is Paris.");
    assert_eq!(ask(&exact("hard")).unwrap().text, "The answer is unknown.");
    let mut num = Item::open("easy-n", "g in m/s^2?", ItemType::Numeric, "9.81");
    num.tolerance = Some(0.05);
    assert_eq!(ask(&num).unwrap().text, "The answer is 9.81.");
    num.id = "hard-n".into();
    let text = ask(&num).unwrap().text;
    let value: f64 = text
        .trim_start_matches("The answer is ")
        .trim_end_matches('.')
        .parse()
        .unwrap();
    assert!((value - 9.81).abs() > 0.05, "{text}");
    let mut re = Item::open("regex", "Say yes", ItemType::Regex, "^(?i)yes");
    let e = ask(&re).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Config);
    re.meta.insert("example".into(), "yes".into());
    // A regex key is matched against the whole output: the example alone.
    assert_eq!(ask(&re).unwrap().text, "yes");
    let e = ask(&exact("uncalibrated")).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Config);
}

#[test]
fn backends_are_usable_as_trait_objects_from_threads() {
    let f = fixture();
    let backends: Vec<Box<dyn Backend>> = vec![
        Box::new(f.replay.clone()),
        Box::new(Command::new(CommandConfig::new(["cat"])).unwrap()),
    ];
    std::thread::scope(|s| {
        for b in &backends {
            s.spawn(move || {
                let (item, prompt) = &f.asked[0];
                assert!(!b.ask(prompt, item).unwrap().text.is_empty());
            });
        }
    });
}
