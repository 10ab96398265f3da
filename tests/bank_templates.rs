//! Dynamic item templates end to end: drawn answers follow the rule on the
//! recorded slots, variants do not repeat within a campaign until the slot
//! space is exhausted, a resumed exam asks the same variants, and the key
//! never reaches a prompt.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fangsheng::bank::{Item, ItemBank, ItemParams, ParamSet, UsedVariants};
use fangsheng::cat::Plan;
use fangsheng::exam::{Exam, Journal, Progress, Step, run};
use fangsheng::prompt::{PromptConfig, PromptSpec, render};
use fangsheng::respond::Simulated;
use proptest::prelude::*;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn demo() -> (ItemBank, ParamSet, Vec<u8>) {
    let bank = ItemBank::load(&repo("item-banks/demo")).unwrap();
    let bytes = std::fs::read(repo("calibration/demo/v1.json")).unwrap();
    let params = ParamSet::load(&repo("calibration/demo/v1.json"))
        .unwrap()
        .params;
    (bank, params, bytes)
}

fn templates(bank: &ItemBank) -> Vec<&Item> {
    bank.items()
        .iter()
        .filter(|i| i.template.is_some())
        .collect()
}

/// The demo's templates alone, with their parameters, as a small bank whose
/// every exam asks each of them once.
fn template_exam(seed: u64, used: Option<Arc<UsedVariants>>) -> (Exam, Vec<ItemParams>) {
    let (bank, params, bytes) = demo();
    let items: Vec<Item> = templates(&bank).into_iter().cloned().collect();
    let ids: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let kept: Vec<ItemParams> = params
        .items()
        .iter()
        .filter(|p| ids.contains(p.id.as_str()))
        .cloned()
        .collect();
    let n = items.len();
    let bank = ItemBank::from_items("demo-templates", items).unwrap();
    let params = ParamSet::new(kept.clone(), params.metadata().clone()).unwrap();
    let plan = Plan {
        max_items: n,
        min_items: n,
        stop_se: None,
        ..Plan::default()
    };
    let mut exam = Exam::new(bank, params, &bytes, plan, PromptSpec::default(), seed).unwrap();
    if let Some(used) = used {
        exam = exam.with_used_variants(used);
    }
    (exam, kept)
}

fn exam_steps(exam: &Exam, params: &[ItemParams], journal: &Path, resume: bool) -> Vec<Step> {
    let backend = Simulated::new(0.5, params, 3);
    run(exam, &backend, journal, resume, &mut |_: Progress<'_>| {}).unwrap();
    Journal::read(journal).unwrap().steps
}

#[test]
fn the_demo_bank_ships_templates_of_each_kind_with_their_family_parameters() {
    let (bank, params, _) = demo();
    let t = templates(&bank);
    assert!(t.len() >= 4 && t.len() <= 6, "{} templates", t.len());
    let cats: HashSet<&str> = t.iter().filter_map(|i| i.category.as_deref()).collect();
    for c in ["arithmetic", "units", "logic"] {
        assert!(cats.contains(c), "no {c} template");
    }
    for item in &t {
        assert!(item.dimension.is_some(), "{}", item.id);
        assert!(
            params.get(item.id.as_str()).is_some(),
            "one entry per family"
        );
        assert!(item.template.as_ref().unwrap().n_variants() >= 20);
    }
    assert!(bank.validate_against(&params).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the seed, a drawn variant's key is what its template's rule
    /// gives on the recorded slot values, and the recorded variant rebuilds
    /// the same item.
    #[test]
    fn drawn_answers_follow_the_rule_on_the_recorded_slots(seed in any::<u64>(), which in 0usize..6) {
        let (bank, _, _) = demo();
        let ts = templates(&bank);
        let item = ts[which % ts.len()];
        let t = item.template.as_ref().unwrap();
        let d = t.draw(item, seed, &UsedVariants::default()).unwrap();
        // The recorded variant goes through the journal's JSON.
        let json = serde_json::to_string(&d.variant).unwrap();
        let recorded: fangsheng::bank::Variant = serde_json::from_str(&json).unwrap();
        let (again, v) = t.instance(item, &recorded.slots).unwrap();
        prop_assert_eq!(&again, &d.item);
        prop_assert_eq!(&v, &d.variant);
        again.check().unwrap();
        match again.key_index() {
            Some(k) => prop_assert_eq!(&again.choices[k], &recorded.answer),
            None => prop_assert_eq!(&again.answer, &recorded.answer),
        }
        // The rule itself, recomputed here for the templates whose answer
        // is a plain formula of the slots.
        let n = |name: &str| match &recorded.slots[name] {
            fangsheng::bank::Value::Num(x) => *x,
            other => panic!("{other:?}"),
        };
        match item.id.as_str() {
            "demo-121" => prop_assert_eq!(again.numeric_answer().unwrap(), n("n") * n("k") * n("m")),
            "demo-122" => prop_assert_eq!(recorded.answer.parse::<f64>().unwrap(), n("bill") - n("q") * n("p")),
            "demo-124" => {
                let fits = n("n") * n("w") <= 1000.0 * n("t");
                prop_assert_eq!(recorded.answer.as_str(), if fits { "Yes" } else { "No" });
            }
            _ => {}
        }
    }
}

#[test]
fn variants_never_repeat_within_a_campaign_until_the_space_is_exhausted() {
    // Ten exams (models) of one campaign, all with the same seed, share a
    // used set: no variant of any template is asked twice.
    let dir = tempfile::tempdir().unwrap();
    let used = UsedVariants::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for model in 0..10 {
        let (exam, params) = template_exam(7, Some(Arc::clone(&used)));
        let steps = exam_steps(
            &exam,
            &params,
            &dir.path().join(format!("m{model}.jsonl")),
            false,
        );
        assert_eq!(steps.len(), 6);
        for s in steps {
            let v = s.variant.expect("a template step records its variant");
            assert!(
                seen.insert((s.item_id.clone(), v.key_text())),
                "{} repeated",
                s.item_id
            );
        }
    }
    // Without a shared set the same seed gives the same variants: the set
    // is what keeps a campaign's exams apart.
    let (a, params) = template_exam(7, None);
    let (b, _) = template_exam(7, None);
    let va = exam_steps(&a, &params, &dir.path().join("a.jsonl"), false);
    let vb = exam_steps(&b, &params, &dir.path().join("b.jsonl"), false);
    let key = |s: &[Step]| -> Vec<String> {
        s.iter()
            .map(|s| s.variant.as_ref().unwrap().key_text())
            .collect()
    };
    assert_eq!(key(&va), key(&vb));
}

#[test]
fn concurrent_exams_of_a_campaign_never_share_a_variant() {
    // A campaign runs its models' exams at once on one used set. Each
    // round starts 8 exams with the same seed together, so they reach for
    // the same variants at the same moments: a draw that looked before
    // another exam's claim must not ask the variant again.
    let dir = tempfile::tempdir().unwrap();
    for round in 0..12 {
        let used = UsedVariants::new();
        let start = std::sync::Barrier::new(8);
        let steps: Vec<Vec<Step>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|model| {
                    let (exam, params) = template_exam(round, Some(Arc::clone(&used)));
                    let journal = dir.path().join(format!("r{round}-m{model}.jsonl"));
                    let start = &start;
                    s.spawn(move || {
                        start.wait();
                        exam_steps(&exam, &params, &journal, false)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for s in steps.iter().flatten() {
            let v = s
                .variant
                .as_ref()
                .expect("a template step records its variant");
            assert!(
                seen.insert((s.item_id.clone(), v.key_text())),
                "round {round}: {} asked twice",
                s.item_id
            );
        }
        assert_eq!(seen.len(), 8 * 6);
    }
}

#[test]
fn an_exhausted_slot_space_repeats_with_a_note() {
    // A template with 3 variants, asked by 5 exams of one campaign: the
    // first 3 get the 3 variants, the next ones repeat and say so.
    let line = r#"{"id":"tiny","question":"What is {x} times two?","type":"numeric","template":{"slots":{"x":{"int":[1,3]}},"answer":"2 * x"}}"#;
    let bank = ItemBank::from_jsonl("tiny", &format!("{line}\n"), Path::new("tiny.jsonl")).unwrap();
    let params = ParamSet::new(
        vec![ItemParams {
            id: "tiny".into(),
            kind: fangsheng::model::ModelKind::TwoPl,
            irf: fangsheng::model::Logistic::two_pl(1.0, 0.0).unwrap().into(),
            se: None,
        }],
        Default::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let used = UsedVariants::new();
    let mut asked = Vec::new();
    let mut notes = 0;
    for k in 0..5 {
        let plan = Plan {
            max_items: 1,
            min_items: 1,
            stop_se: None,
            ..Plan::default()
        };
        let exam = Exam::new(
            bank.clone(),
            params.clone(),
            b"p",
            plan,
            PromptSpec::default(),
            11,
        )
        .unwrap()
        .with_used_variants(Arc::clone(&used));
        let backend = Simulated::new(0.0, params.items(), 1);
        let path = dir.path().join(format!("{k}.jsonl"));
        run(&exam, &backend, &path, false, &mut |p| {
            if let Progress::Note(n) = p {
                assert!(n.contains("every variant of template 'tiny'"), "{n}");
                notes += 1;
            }
        })
        .unwrap();
        let steps = Journal::read(&path).unwrap().steps;
        asked.push(steps[0].variant.clone().unwrap().slots["x"].to_string());
    }
    let first: HashSet<&String> = asked[..3].iter().collect();
    assert_eq!(first.len(), 3, "{asked:?}");
    assert_eq!(notes, 2);
    assert_eq!(used.count("tiny"), 3);
}

#[test]
fn a_resumed_exam_asks_the_same_variants() {
    let dir = tempfile::tempdir().unwrap();
    // Uninterrupted, with other exams' variants already used.
    let used = UsedVariants::new();
    let (warm, params) = template_exam(5, Some(Arc::clone(&used)));
    exam_steps(&warm, &params, &dir.path().join("other.jsonl"), false);
    let (full, _) = template_exam(21, Some(Arc::clone(&used)));
    let whole = exam_steps(&full, &params, &dir.path().join("whole.jsonl"), false);

    // The same exam cut after 3 steps, then resumed by a new process whose
    // used set is read back from the campaign's journals (the other exam's
    // and its own).
    let cut = dir.path().join("cut.jsonl");
    let text = std::fs::read_to_string(dir.path().join("whole.jsonl")).unwrap();
    let kept: Vec<&str> = text.lines().take(4).collect();
    std::fs::write(&cut, format!("{}\n", kept.join("\n"))).unwrap();
    let used = UsedVariants::new();
    used.extend(
        Journal::read(&dir.path().join("other.jsonl"))
            .unwrap()
            .variants(),
    );
    let (resumed, _) = template_exam(21, Some(Arc::clone(&used)));
    let steps = exam_steps(&resumed, &params, &cut, true);
    assert_eq!(steps.len(), whole.len());
    for (a, b) in steps.iter().zip(&whole) {
        assert_eq!(
            (&a.item_id, &a.prompt_hash, &a.variant, &a.output),
            (&b.item_id, &b.prompt_hash, &b.variant, &b.output)
        );
    }

    // A journal whose recorded variant the template cannot give is refused.
    let forged = text.replacen("\"slots\":{", "\"slots\":{\"zz\":1,", 1);
    let bad = dir.path().join("forged.jsonl");
    std::fs::write(&bad, forged).unwrap();
    let (again, _) = template_exam(21, None);
    let backend = Simulated::new(0.5, &params, 3);
    let e = run(&again, &backend, &bad, true, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("no slot 'zz'"), "{e}");
}

#[test]
fn the_key_never_reaches_a_prompt() {
    let (bank, _, _) = demo();
    let config = PromptConfig::default();
    for item in templates(&bank) {
        let t = item.template.as_ref().unwrap();
        for seed in 0..40 {
            let d = t.draw(item, seed, &UsedVariants::default()).unwrap();
            let prompt = render(&d.item, &config);
            // The prompt is the same whatever the key says...
            let mut other = d.item.clone();
            other.answer = match other.key_letter() {
                Some(k) => if k == 'A' { "B" } else { "A" }.to_owned(),
                None => "0".to_owned(),
            };
            assert_eq!(render(&other, &config).hash(), prompt.hash());
            // ...and shows no computed numeric answer.
            if let Some(x) = d.item.numeric_answer() {
                let text = prompt.text();
                let words: Vec<&str> = text
                    .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .collect();
                let shown = fangsheng::bank::format_number(x);
                assert!(
                    !words.contains(&shown.as_str()),
                    "{}: {shown} in {}",
                    item.id,
                    prompt.text()
                );
            }
        }
    }
}
