//! Online calibration: pretest seeding in adaptive sessions, the exam
//! runner and simulations, and `calibrate-new` (MEM and fixed abilities):
//! parameter recovery after 200 simulated exams, session properties,
//! journals, the command end to end and bad input.

mod common;

use common::path_str as s;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use fangsheng::bank::{ItemBank, ItemParams, Metadata, ParamSet};
use fangsheng::cat::{BankScore, CatBank, Design, Plan, Session, normal_thetas, simulate_all};
use fangsheng::exam::{Exam, Journal, run as run_exam};
use fangsheng::model::{Irf, Logistic, ModelKind, ResponseModel};
use fangsheng::online::{
    Examinee, Method, NextItem, OnlineConfig, Pretest, PretestData, PretestSelect, calibrate_new,
};
use fangsheng::prompt::PromptSpec;
use fangsheng::respond::Simulated;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` 2PL items `prefix000..` with a ~ U(0.8, 2), b ~ N(0, 1).
fn items(prefix: &str, n: usize, seed: u64) -> Vec<ItemParams> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let bs = fangsheng::simulate::standard_normals(n, &mut rng);
    bs.iter()
        .enumerate()
        .map(|(j, &b)| ItemParams {
            id: format!("{prefix}{j:03}").into(),
            kind: ModelKind::TwoPl,
            irf: Logistic::two_pl(rng.random_range(0.8..2.0), b)
                .unwrap()
                .into(),
            se: None,
        })
        .collect()
}

fn pool_plan(pool: &[ItemParams], count: usize, max_items: usize) -> Plan {
    Plan {
        max_items,
        pretest: Some(Pretest {
            items: pool.iter().map(|p| p.id.clone()).collect(),
            count,
            ..Pretest::default()
        }),
        ..Plan::default()
    }
}

#[test]
fn new_items_are_recovered_after_200_simulated_exams() {
    // 300-item calibrated 2PL bank, 30 operational items per exam, 10 of
    // 40 pretest items per exam, 200 N(0, 1) examinees.
    let bank_items = items("q", 300, 11);
    let truth = items("new", 40, 12);
    let params = ParamSet::new(bank_items, Metadata::default()).unwrap();
    let bank = Arc::new(CatBank::new(&params).unwrap());
    let design = Arc::new(Design::new(bank, pool_plan(&truth, 10, 30)).unwrap());
    let thetas = normal_thetas(200, 3);
    let irfs: Vec<Irf> = truth.iter().map(|p| p.irf.clone()).collect();
    let exams = simulate_all(
        &design,
        &thetas,
        Some(&irfs),
        3,
        0.95,
        BankScore::Blend,
        &|_| {},
    )
    .unwrap();
    let data = PretestData {
        items: truth.iter().map(|p| p.id.clone()).collect(),
        examinees: exams
            .iter()
            .map(|e| Examinee {
                id: e.index.to_string(),
                operational: e.outcome.steps.iter().map(|s| (s.item, s.score)).collect(),
                pretest: e
                    .outcome
                    .pretest
                    .iter()
                    .map(|p| (p.item, p.score))
                    .collect(),
                theta: Some(e.outcome.ability.theta),
            })
            .collect(),
        ..PretestData::default()
    };
    assert!(exams.iter().all(|e| e.outcome.steps.len() == 30));
    assert!(exams.iter().all(|e| e.outcome.pretest.len() == 10));
    for method in [Method::Mem, Method::Fixed] {
        let config = OnlineConfig {
            method,
            ..OnlineConfig::default()
        };
        let fit = calibrate_new(&data, &params, &config).unwrap();
        assert!(fit.converged, "{method:?}");
        let est: Vec<Vec<f64>> = fit
            .items
            .iter()
            .map(|i| i.params.as_ref().unwrap().irf.params())
            .collect();
        let tru: Vec<Vec<f64>> = truth.iter().map(|p| p.irf.params()).collect();
        let col = |v: &[Vec<f64>], k: usize| v.iter().map(|p| p[k]).collect::<Vec<_>>();
        let r_a = common::pearson(&col(&est, 0), &col(&tru, 0));
        let r_b = common::pearson(&col(&est, 1), &col(&tru, 1));
        eprintln!("{}: r(b) = {r_b:.3}, r(a) = {r_a:.3}", method.name());
        // The aim: b correlates >= 0.9 with the truth after 200 exams.
        assert!(r_b >= 0.9, "{method:?}: r(b) = {r_b}");
        // About 50 answers per item pin a only loosely (true a spans 0.8 to
        // 2): positive association is all that is asserted.
        assert!(r_a > 0.0, "{method:?}: r(a) = {r_a}");
    }
}

fn bank_and_pool() -> (Arc<CatBank>, Vec<ItemParams>) {
    let params = ParamSet::new(items("q", 120, 21), Metadata::default()).unwrap();
    (
        Arc::new(CatBank::new(&params).unwrap()),
        items("new", 12, 22),
    )
}

/// Runs a session to the end, answering operational item `j` by
/// `answer(j)` and pretest items by `pre`; returns (operational items,
/// pretest items, final theta).
fn run_session(
    s: &mut Session,
    answer: impl Fn(usize) -> usize,
    pre: impl Fn(usize) -> usize,
) -> (Vec<usize>, Vec<usize>, f64) {
    let (mut ops, mut pres) = (Vec::new(), Vec::new());
    while let Some(next) = s.next_any() {
        match next {
            NextItem::Operational(j) => {
                ops.push(j);
                s.record_next(next, answer(j)).unwrap();
            }
            NextItem::Pretest(p) => {
                pres.push(p);
                s.record_next(next, pre(p)).unwrap();
            }
        }
    }
    (ops, pres, s.estimate().theta)
}

#[test]
fn pretest_items_never_affect_theta_nor_repeat_and_fill_their_slots() {
    let (bank, pool) = bank_and_pool();
    let answer = |j: usize| (j * 7 + 3) % 5 / 3; // a fixed pattern of 0/1
    for select in [PretestSelect::Random, PretestSelect::NearAbility] {
        for seed in 0..10 {
            let mut plan = pool_plan(&pool, 6, 20);
            if let Some(p) = plan.pretest.as_mut() {
                p.select = select;
                p.provisional = pool
                    .iter()
                    .take(6)
                    .map(|i| (i.id.clone(), i.irf.params()[1]))
                    .collect();
            }
            let without = Plan {
                pretest: None,
                ..plan.clone()
            };
            // All-correct and all-wrong pretest answers: no effect either way.
            let mut a = Session::new(Arc::clone(&bank), plan.clone(), seed).unwrap();
            let (ops_a, pre_a, theta_a) = run_session(&mut a, answer, |_| 1);
            let mut b = Session::new(Arc::clone(&bank), plan, seed).unwrap();
            let (ops_b, _, theta_b) = run_session(&mut b, answer, |_| 0);
            let mut c = Session::new(Arc::clone(&bank), without, seed).unwrap();
            let (ops_c, pre_c, theta_c) = run_session(&mut c, answer, |_| 0);
            assert_eq!(ops_a, ops_c);
            assert_eq!(ops_b, ops_c);
            assert_eq!(theta_a.to_bits(), theta_c.to_bits());
            assert_eq!(theta_b.to_bits(), theta_c.to_bits());
            assert!(pre_c.is_empty());
            assert_eq!(
                ops_a.len(),
                20,
                "pretest items do not count toward the length"
            );
            assert_eq!(pre_a.len(), 6);
            let mut uniq = pre_a.clone();
            uniq.sort_unstable();
            uniq.dedup();
            assert_eq!(uniq.len(), 6, "a pretest item was repeated: {pre_a:?}");
            assert_eq!(a.n_administered(), 20);
            assert_eq!(a.pretest_asked().len(), 6);
        }
    }
}

#[test]
fn unreached_slots_are_asked_before_a_precision_stop_ends_the_exam() {
    let (bank, pool) = bank_and_pool();
    let mut plan = pool_plan(&pool, 4, 60);
    plan.stop_se = Some(0.45);
    plan.pretest.as_mut().unwrap().first = 55;
    let mut s = Session::new(bank, plan, 4).unwrap();
    let (ops, pre, _) = run_session(&mut s, |j| j % 2, |_| 1);
    assert!(ops.len() < 55, "{}", ops.len());
    assert_eq!(pre.len(), 4);
    assert!(s.stop_reason().is_some());
}

#[test]
fn restoring_a_saved_session_keeps_its_pretest_items() {
    let (bank, pool) = bank_and_pool();
    let plan = pool_plan(&pool, 5, 25);
    let answer = |j: usize| (j % 3 == 0) as usize;
    let mut whole = Session::new(Arc::clone(&bank), plan.clone(), 9).unwrap();
    let full = run_session(&mut whole, answer, |p| p % 2);
    for cut in [3, 8, 14, 22, 29] {
        let mut s = Session::new(Arc::clone(&bank), plan.clone(), 9).unwrap();
        let mut asked = 0;
        let (mut ops, mut pres) = (Vec::new(), Vec::new());
        while asked < cut {
            let next = s.next_any().unwrap();
            match next {
                NextItem::Operational(j) => {
                    ops.push(j);
                    s.record_next(next, answer(j)).unwrap();
                }
                NextItem::Pretest(p) => {
                    pres.push(p);
                    s.record_next(next, p % 2).unwrap();
                }
            }
            asked += 1;
        }
        // Offered but not answered when saved.
        let pending = s.next_any();
        let json = s.to_json();
        let mut back = Session::from_json(Arc::clone(&bank), &json).unwrap();
        assert_eq!(back.pretest_asked(), s.pretest_asked());
        assert_eq!(back.state(), s.state());
        assert_eq!(back.next_any(), pending);
        let (o, p, theta) = run_session(&mut back, answer, |p| p % 2);
        ops.extend(o);
        pres.extend(p);
        assert_eq!(ops, full.0, "cut {cut}");
        assert_eq!(pres, full.1, "cut {cut}");
        assert_eq!(theta.to_bits(), full.2.to_bits());
    }
}

#[test]
fn the_exam_runner_journals_pretest_steps_and_leaves_them_out_of_the_result() {
    let bank = ItemBank::load(Path::new("item-banks/demo")).unwrap();
    let all = ParamSet::load(Path::new("calibration/demo/v1.json"))
        .unwrap()
        .params;
    // The last 10 items lose their parameters: the pretest pool by default.
    let keep = all.len() - 10;
    let operational = ParamSet::new(all.items()[..keep].to_vec(), all.metadata().clone()).unwrap();
    let bytes = operational.to_json_string().into_bytes();
    let plan = Plan {
        max_items: 15,
        pretest: Some(Pretest {
            count: 3,
            first: 2,
            ..Pretest::default()
        }),
        ..Plan::default()
    };
    let exam = Exam::new(bank, operational, &bytes, plan, PromptSpec::default(), 5).unwrap();
    // The simulated model knows every item's true parameters.
    let backend = Simulated::new(0.3, all.items(), 5);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let result = run_exam(&exam, &backend, &journal, false, &mut |_| {}).unwrap();
    let c = Journal::read(&journal).unwrap();
    let pre: Vec<_> = c.steps.iter().filter(|s| s.pretest).collect();
    assert_eq!(pre.len(), 3);
    assert!(
        pre.iter()
            .all(|s| all.index_of(&s.item_id).unwrap() >= keep)
    );
    assert_eq!(result.items_used, 15);
    assert!(
        result
            .items
            .iter()
            .all(|id| !pre.iter().any(|s| &s.item_id == id))
    );
    // Resuming from the journal replays the pretest steps and finishes alike.
    let again = run_exam(&exam, &backend, &journal, true, &mut |_| {}).unwrap();
    assert_eq!(again.theta.to_bits(), result.theta.to_bits());
    assert_eq!(Journal::read(&journal).unwrap().steps.len(), 18);
}

fn write_params(dir: &Path, name: &str, items: Vec<ItemParams>) -> PathBuf {
    let path = dir.join(name);
    ParamSet::new(items, Metadata::default())
        .unwrap()
        .save_json(&path)
        .unwrap();
    path
}

/// `fangsheng calibrate-new` of `input` (`--journals DIR` or `--responses
/// FILE`) against the bank `params`, into `out`, with `extra` flags.
fn calibrate_new_cli(input: [&str; 2], params: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["calibrate-new", input[0], input[1]];
    args.extend(["--params", s(params), "--out", s(out)]);
    args.extend(extra);
    common::fangsheng(&args)
}

/// `fangsheng simulate` of `n` examinees on `bank` whose pretest items
/// answer by `truth`, journals into `journals`, exams into `out`, with
/// `extra` flags.
fn simulate_pretest_cli(
    bank: &Path,
    n: &str,
    truth: &Path,
    journals: &Path,
    out: &Path,
    extra: &[&str],
) -> Output {
    let mut args = vec!["simulate", "--params", s(bank), "--thetas", n];
    args.extend(["--pretest-truth", s(truth), "--journals-out", s(journals)]);
    args.extend(["--out", s(out), "-q"]);
    args.extend(extra);
    common::fangsheng(&args)
}

#[test]
fn calibrate_new_runs_end_to_end_from_simulated_journals() {
    let dir = tempfile::tempdir().unwrap();
    let bank = write_params(dir.path(), "bank.json", items("q", 150, 31));
    let truth = write_params(dir.path(), "truth.json", items("new", 8, 32));
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, "max_items = 20\n[pretest]\ncount = 4\n").unwrap();
    let journals = dir.path().join("journals");
    let csv = dir.path().join("pre.csv");
    let exams = dir.path().join("exams.csv");
    let extra = ["--plan", s(&plan), "--pretest-out", s(&csv)];
    let o = simulate_pretest_cli(&bank, "120", &truth, &journals, &exams, &extra);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let one = Journal::read(&journals.join("sim00001.jsonl")).unwrap();
    assert_eq!(one.steps.iter().filter(|s| s.pretest).count(), 4);
    assert_eq!(one.steps.len(), 24);

    let out = dir.path().join("new.json");
    let o = calibrate_new_cli(["--journals", s(&journals)], &bank, &out, &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let new = ParamSet::load(&out).unwrap().params;
    assert_eq!(new.len(), 8);
    assert!(new.items().iter().all(|i| i.se.is_some()));
    let prov = &new.metadata().provenance["online_calibration"];
    assert_eq!(prov["method"], "mem");
    assert_eq!(prov["examinees"], 120);
    assert_eq!(prov["sources"].as_array().unwrap().len(), 120);
    assert_eq!(prov["sources_digest"].as_str().unwrap().len(), 64);
    let n: u64 = prov["n_responses"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(n, 480);

    // The CSV gives the same estimates as the journals under the fixed
    // method (the same answers and final estimates), and --merge keeps
    // the bank.
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    for (input, path) in [
        (["--journals", s(&journals)], &a),
        (["--responses", s(&csv)], &b),
    ] {
        let o = calibrate_new_cli(input, &bank, path, &["--method", "fixed", "--merge"]);
        assert!(o.status.success(), "{}", common::stderr(&o));
    }
    let (a, b) = (
        ParamSet::load(&a).unwrap().params,
        ParamSet::load(&b).unwrap().params,
    );
    assert_eq!(a.len(), 158);
    for item in &a.items()[150..] {
        let other = b.get(item.id.as_str()).unwrap();
        for (x, y) in item.irf.params().iter().zip(other.irf.params()) {
            assert!((x - y).abs() < 1e-4, "{}: {x} vs {y}", item.id);
        }
    }
}

#[test]
fn bad_input_is_refused_or_flagged_without_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bank = write_params(dir.path(), "bank.json", items("q", 60, 41));
    let other = write_params(dir.path(), "other.json", items("q", 60, 42));
    let truth = write_params(dir.path(), "truth.json", items("new", 3, 43));
    let journals = dir.path().join("j");
    let exams = dir.path().join("x.csv");
    let extra = ["--pretest-count", "2", "--max-items", "10"];
    let o = simulate_pretest_cli(&bank, "30", &truth, &journals, &exams, &extra);
    assert!(o.status.success(), "{}", common::stderr(&o));
    // Journals written under another calibration.
    let out = dir.path().join("new.json");
    let o = calibrate_new_cli(["--journals", s(&journals)], &other, &out, &[]);
    assert!(!o.status.success());
    let err = common::stderr(&o);
    assert!(
        err.contains("another calibration") && err.contains("sim000"),
        "{err}"
    );
    assert!(!out.exists());

    // A pretest item asked but never answered, and one with few answers.
    let csv = dir.path().join("r.csv");
    let mut text = String::from("examinee,item,score,theta\n");
    for e in 0..30 {
        text.push_str(&format!("m{e},q001,{},0.1\nm{e},q002,1,0.1\n", e % 2));
        text.push_str(&format!("m{e},fresh,{},0.1\n", (e % 3 == 0) as u8));
    }
    text.push_str("m0,unanswered,,0.1\nm1,rare,1,0.1\nm2,rare,0,0.1\n");
    std::fs::write(&csv, text).unwrap();
    let o = calibrate_new_cli(["--responses", s(&csv)], &bank, &out, &[]);
    let err = common::stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("'unanswered' (0 answers): no responses"),
        "{err}"
    );
    assert!(err.contains("'rare' (2 answers): few responses"), "{err}");
    let new = ParamSet::load(&out).unwrap().params;
    assert!(new.get("unanswered").is_none() && new.get("fresh").is_some());
    let prov = &new.metadata().provenance["online_calibration"]["flagged"];
    assert_eq!(prov["unanswered"], "no responses");

    // A score a dichotomous model cannot take names the item.
    std::fs::write(&csv, "examinee,item,score\nm1,q001,1\nm1,new9,2\n").unwrap();
    let o = calibrate_new_cli(["--responses", s(&csv)], &bank, &out, &[]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("new9"),
        "{}",
        common::stderr(&o)
    );
}
