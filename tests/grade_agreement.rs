//! Answer extraction measured against the original MMLU-Pro harness.
//!
//! For each recorded output of a model (the shipped
//! Meta-Llama-3.1-70B-Instruct generations; with `--ignored`, all four
//! models of the shared folder's `mmlu-pro/generations/`), the letter
//! `extract_choice` reads is compared with the harness's `pred` column of
//! the shipped runs. Run with `--nocapture` for the full report.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use common::{fixture, shared_data};
use fangsheng::bank::ItemBank;
use fangsheng::grade::{AnswerKey, Outcome, extract_choice, grade};
use fangsheng::io::open_read;
use regex::Regex;
use serde::Deserialize;

const MODELS: [&str; 4] = [
    "Llama-2-7b-hf",
    "Meta-Llama-3_1-70B-Instruct",
    "Phi-3-mini-4k-instruct",
    "gemini-1.5-flash-002",
];

#[derive(Deserialize)]
struct Generation {
    item_id: u64,
    model: String,
    output: String,
}

#[derive(Deserialize)]
struct Response {
    model: String,
    item_id: u64,
    correct: u8,
    pred: Option<String>,
}

/// (n_choices, answer letter) per item of the shipped bank.
fn items() -> HashMap<u64, (usize, char)> {
    let bank = ItemBank::load(&common::mmlu_pro_bank()).unwrap();
    bank.items()
        .iter()
        .map(|item| {
            let id = item.id.as_str().parse().expect("MMLU-Pro ids are numbers");
            (id, (item.choices.len(), item.key_letter().expect("a key")))
        })
        .collect()
}

/// (correct, pred) per (model, item) for the four models.
fn responses() -> HashMap<(String, u64), (u8, Option<char>)> {
    let path = common::mmlu_pro_runs();
    let mut reader = csv::Reader::from_reader(open_read(&path).unwrap());
    let mut out = HashMap::new();
    for row in reader.deserialize() {
        let r: Response = row.unwrap();
        if MODELS.contains(&r.model.as_str()) {
            let pred = r.pred.and_then(|p| p.chars().next());
            out.insert((r.model, r.item_id), (r.correct, pred));
        }
    }
    out
}

/// Why our letter differs from the harness's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The output holds no standalone capital A-J at all, yet the harness
    /// recorded a letter: a fallback value, not an extraction.
    HarnessPlaceholder,
    /// The harness's last resort, the last standalone capital A-J anywhere
    /// (e.g. "I" in "I cannot answer"), found a letter where the model
    /// states no answer in a form the harness knows.
    HarnessLooseFallback,
    /// The harness read the initial of a word as the letter:
    /// "The answer is (Cannot be determined)" gives C.
    HarnessReadWord,
    /// The harness's letter is not among the item's choices.
    HarnessOutOfRange,
    /// The harness read a stated answer, we none.
    HarnessOnly,
    /// We extract a letter, the harness none (its version for this model had
    /// no fallback after `answer is \(?([A-J])\)?`).
    OursOnly,
    /// Several answer statements: the harness took the first, we the last.
    FirstVersusLast,
    /// Both extracted, different letters, for another reason.
    Different,
}

/// Which step of the harness produced its letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `answer is \(?([A-J])\)?` (first match) or `.*[aA]nswer:\s*([A-J])`.
    Statement,
    /// The last standalone capital A-J.
    Loose,
    /// None of its steps finds a letter in the output.
    Nothing,
}

/// The harness's extraction steps (the TIGER-AI-Lab/MMLU-Pro evaluation
/// scripts), re-implemented to tell where its letters came from.
struct Harness {
    answer_is: Regex,
    answer_colon: Regex,
    standalone: Regex,
}

impl Harness {
    fn new() -> Self {
        Harness {
            answer_is: Regex::new(r"answer is \(?([A-J])\)?").unwrap(),
            // Leftmost-first with a greedy `.*` picks the same match as
            // Python's backtracking `re.search`.
            answer_colon: Regex::new(r".*[aA]nswer:\s*([A-J])").unwrap(),
            standalone: Regex::new(r"\b[A-J]\b").unwrap(),
        }
    }

    /// The step that yields a letter for `text`, with the letter and the
    /// character after it.
    fn step(&self, text: &str) -> (Step, Option<char>, Option<char>) {
        for re in [&self.answer_is, &self.answer_colon] {
            if let Some(c) = re.captures(text) {
                let m = c.get(1).unwrap();
                let next = text[m.end()..].chars().next();
                return (Step::Statement, m.as_str().chars().next(), next);
            }
        }
        match self.standalone.find_iter(text).last() {
            Some(m) => (Step::Loose, m.as_str().chars().next(), None),
            None => (Step::Nothing, None, None),
        }
    }

    /// Every `answer is` letter, in order.
    fn all_answer_is(&self, text: &str) -> Vec<char> {
        self.answer_is
            .captures_iter(text)
            .filter_map(|c| c[1].chars().next())
            .collect()
    }
}

/// One disagreement, kept for the report.
struct Case {
    item: u64,
    pred: Option<char>,
    ours: Option<char>,
    answer: char,
    tail: String,
}

/// Counts for one model (or all).
#[derive(Default)]
struct Tally {
    n: usize,
    agree: usize,
    /// Items whose harness pred is an extraction: empty, or read from an
    /// answer statement (not a placeholder or the loose fallback).
    comparable: usize,
    agree_comparable: usize,
    /// Items where the recorded `correct` equals (our letter == key).
    correct_same: usize,
    /// Items scored correct by our extraction and by the record.
    ours_right: usize,
    recorded_right: usize,
    ours_unparseable: usize,
    harness_empty: usize,
    kinds: BTreeMap<Kind, Vec<Case>>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.n += other.n;
        self.agree += other.agree;
        self.comparable += other.comparable;
        self.agree_comparable += other.agree_comparable;
        self.correct_same += other.correct_same;
        self.ours_right += other.ours_right;
        self.recorded_right += other.recorded_right;
        self.ours_unparseable += other.ours_unparseable;
        self.harness_empty += other.harness_empty;
    }

    fn agreement(&self) -> f64 {
        self.agree as f64 / self.n as f64
    }

    fn comparable_agreement(&self) -> f64 {
        self.agree_comparable as f64 / self.comparable as f64
    }

    fn correct_agreement(&self) -> f64 {
        self.correct_same as f64 / self.n as f64
    }

    fn count(&self, kind: Kind) -> usize {
        self.kinds.get(&kind).map_or(0, Vec::len)
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<28} {:>6} {:>8.4} {:>10.4} {:>9.4} {:>6.4} {:>6.4} {:>6} {:>8}",
            self.n,
            self.agreement(),
            self.comparable_agreement(),
            self.correct_agreement(),
            self.ours_right as f64 / self.n as f64,
            self.recorded_right as f64 / self.n as f64,
            self.ours_unparseable,
            self.harness_empty,
        );
        for (kind, cases) in &self.kinds {
            let right = |f: fn(&Case) -> Option<char>| {
                cases.iter().filter(|c| f(c) == Some(c.answer)).count()
            };
            println!(
                "    {kind:?}: {} (harness right {}, ours right {})",
                cases.len(),
                right(|c| c.pred),
                right(|c| c.ours),
            );
            for c in cases.iter().take(3) {
                println!(
                    "        item {}: harness {:?}, ours {:?}, key {}: ...{}",
                    c.item, c.pred, c.ours, c.answer, c.tail
                );
            }
        }
    }
}

/// The last `n` characters of `s`, on one line.
fn tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let start = chars.len().saturating_sub(n);
    chars[start..]
        .iter()
        .collect::<String>()
        .replace('\n', "\\n")
}

/// Compares our extraction with the harness on one model's generations.
fn tally_model(
    model: &str,
    path: &Path,
    items: &HashMap<u64, (usize, char)>,
    responses: &HashMap<(String, u64), (u8, Option<char>)>,
    harness: &Harness,
) -> Tally {
    let mut t = Tally::default();
    for (i, line) in open_read(path).unwrap().lines().enumerate() {
        let at = format!("{}:{}", path.display(), i + 1);
        let g: Generation = serde_json::from_str(&line.unwrap()).expect(&at);
        assert_eq!(g.model, model, "{at}");
        let (n_choices, answer) = items[&g.item_id];
        let (correct, pred) = responses[&(model.to_string(), g.item_id)];
        let ours = extract_choice(&g.output, n_choices);

        t.n += 1;
        t.harness_empty += usize::from(pred.is_none());
        t.ours_unparseable += usize::from(ours.is_none());
        t.correct_same += usize::from(u8::from(ours == Some(answer)) == correct);
        t.ours_right += usize::from(ours == Some(answer));
        t.recorded_right += usize::from(correct == 1);
        let (step, letter, next) = harness.step(&g.output);
        let fallback = pred.is_some() && step != Step::Statement;
        if !fallback {
            t.comparable += 1;
            t.agree_comparable += usize::from(ours == pred);
        }
        if ours == pred {
            t.agree += 1;
            continue;
        }
        let kind = match (pred, ours) {
            (Some(_), _) if step == Step::Nothing => Kind::HarnessPlaceholder,
            (Some(_), _) if step == Step::Loose => Kind::HarnessLooseFallback,
            (Some(p), _) => {
                assert_eq!(letter, Some(p), "{at}: harness re-implementation");
                let all = harness.all_answer_is(&g.output);
                if next.is_some_and(char::is_alphanumeric) {
                    Kind::HarnessReadWord
                } else if usize::from(p as u8 - b'A') >= n_choices {
                    Kind::HarnessOutOfRange
                } else if ours.is_none() {
                    Kind::HarnessOnly
                } else if all.first() == Some(&p) && all[1..].iter().any(|&c| Some(c) == ours) {
                    Kind::FirstVersusLast
                } else {
                    Kind::Different
                }
            }
            (None, Some(_)) => Kind::OursOnly,
            (None, None) => unreachable!("agreement handled above"),
        };
        t.kinds.entry(kind).or_default().push(Case {
            item: g.item_id,
            pred,
            ours,
            answer,
            tail: tail(&g.output, 160),
        });
    }
    t
}

/// Measured on the recorded generations (printed with `--nocapture`):
///
/// | model                       | agree  | comparable | correct= | acc    | acc0   |
/// |-----------------------------|--------|------------|----------|--------|--------|
/// | Llama-2-7b-hf               | 0.9978 | 0.9978     | 0.9998   | 0.1837 | 0.1834 |
/// | Meta-Llama-3_1-70B-Instruct | 0.9791 | 0.9997     | 0.9974   | 0.6258 | 0.6282 |
/// | Phi-3-mini-4k-instruct      | 0.9798 | 0.9798     | 0.9938   | 0.4175 | 0.4148 |
/// | gemini-1.5-flash-002        | 0.9578 | 0.9903     | 0.9913   | 0.6389 | 0.6409 |
/// | overall (48,108 outputs)    | 0.9786 | 0.9919     | 0.9956   | 0.4664 | 0.4668 |
///
/// `agree`: our letter equals the harness's `pred` (both empty counts).
/// `comparable`: the same, leaving out the outputs whose harness letter is
/// not an extraction: a constant placeholder where the output holds no
/// letter at all (188, all "G", Llama-3.1) or the loose last-capital
/// fallback (455, right 40 times: chance level). `correct=`: the recorded
/// `correct` equals (our letter == key). `acc`/`acc0`: accuracy with our
/// extraction / as recorded. The remaining disagreements are by design: we
/// take the last of several stated answers where the harness took the first
/// (153), and we read "Answer: F" or a closing "(F)." where the harness
/// versions used for Llama-2 and Phi-3 had no fallback at all (210).
const MEASURED_COMPARABLE: [f64; 4] = [0.9978, 0.9997, 0.9798, 0.9903];

/// Tallies one model and checks what holds for every model: comparable
/// agreement within 0.3 points of the measured figure, accuracy through our
/// extraction within 0.4 points of the recorded one (largest measured gap:
/// 0.0027, Phi-3), and no in-range stated answer the harness read that we
/// miss.
fn check_model(
    model: &str,
    path: &Path,
    items: &HashMap<u64, (usize, char)>,
    responses: &HashMap<(String, u64), (u8, Option<char>)>,
) -> Tally {
    let measured = MEASURED_COMPARABLE[MODELS.iter().position(|m| *m == model).unwrap()];
    let t = tally_model(model, path, items, responses, &Harness::new());
    t.print(model);
    assert!(
        t.comparable_agreement() >= measured - 0.003,
        "{model}: comparable agreement {:.4}",
        t.comparable_agreement()
    );
    let gap = (t.ours_right as f64 - t.recorded_right as f64) / t.n as f64;
    assert!(gap.abs() <= 0.004, "{model}: accuracy gap {gap:.4}");
    assert_eq!(t.count(Kind::HarnessOnly), 0, "{model}");
    t
}

fn print_header() {
    println!(
        "{:<28} {:>6} {:>8} {:>10} {:>9} {:>6} {:>6} {:>6} {:>8}",
        "model", "items", "agree", "comparable", "correct=", "acc", "acc0", "ours-", "harness-"
    );
}

/// The harness's letters on outputs holding no letter at all are a
/// constant, not random: all "G", all 188 of them Llama-3.1's.
fn assert_placeholders(t: &Tally) {
    let placeholders = &t.kinds[&Kind::HarnessPlaceholder];
    assert_eq!(placeholders.len(), 188);
    assert!(placeholders.iter().all(|c| c.pred == Some('G')));
}

#[test]
fn choice_extraction_agrees_with_the_mmlu_pro_harness_on_llama_70b() {
    let model = "Meta-Llama-3_1-70B-Instruct";
    print_header();
    let t = check_model(
        model,
        &common::mmlu_pro_generations(),
        &items(),
        &responses(),
    );
    assert_eq!(t.n, 12_032);
    // Measured 0.9974.
    assert!(t.correct_agreement() >= 0.996);
    assert_placeholders(&t);
}

#[test]
#[ignore = "reads four models' generations from ../shared (FANGSHENG_SHARED); .ci/run runs it with --ignored"]
fn choice_extraction_agrees_with_the_mmlu_pro_harness_on_four_models_shared() {
    let (items, responses) = (items(), responses());
    let mut total = Tally::default();
    print_header();
    for model in MODELS {
        let path = shared_data(&format!("mmlu-pro/generations/{model}.jsonl.gz"));
        let t = check_model(model, &path, &items, &responses);
        total.add(&t);
        for (kind, cases) in t.kinds {
            total.kinds.entry(kind).or_default().extend(cases);
        }
    }
    total.print("overall");

    assert_eq!(total.n, 48_108);
    assert!(total.comparable_agreement() >= 0.99);
    assert!(total.agreement() >= 0.976);
    assert!(total.correct_agreement() >= 0.994);
    assert_placeholders(&total);
}

/// One hand-written case of `tests/fixtures/grade/cases.jsonl`.
#[derive(Deserialize)]
struct FixtureCase {
    why: String,
    key: AnswerKey,
    output: String,
    outcome: Outcome,
    extracted: Option<String>,
}

#[test]
fn fixture_cases_grade_as_annotated() {
    let path = fixture("grade/cases.jsonl");
    let mut n = 0;
    for (i, line) in open_read(&path).unwrap().lines().enumerate() {
        let at = format!("{}:{}", path.display(), i + 1);
        let case: FixtureCase = serde_json::from_str(&line.unwrap()).expect(&at);
        let g = grade(&case.output, &case.key).expect(&at);
        assert_eq!(
            (g.outcome, g.extracted.as_deref()),
            (case.outcome, case.extracted.as_deref()),
            "{at}: {}",
            case.why
        );
        assert_eq!(g.score, u8::from(case.outcome == Outcome::Correct), "{at}");
        n += 1;
    }
    assert_eq!(n, 30);
}
