//! Writes the embedded demo: the item bank `item-banks/demo/items.jsonl`
//! (original, generated items), its calibration `calibration/demo/v1.json`
//! (SIMULATED parameters) and `calibration/demo/runs.csv` (SIMULATED past
//! runs of fictional models).
//!
//! The bank ends with six dynamic item templates (`template` lines, see
//! `fangsheng::bank::template`): each exam draws fresh variants of them, and
//! each family has one simulated parameter entry. Their parameters and runs
//! come from a generator of their own, so the 120 fixed items keep theirs.
//!
//! Run from the repository root: `cargo run --example demo_data`.
//! Deterministic: one seeded generator drives everything, so a rerun rewrites
//! the same bytes.
//!
//! Every item is written here from templates (arithmetic, unit conversion,
//! logic and ordering puzzles, string tasks), tagged with a category and one
//! of the dimensions general / industry / application / safety. Each template
//! also gives a rough complexity in `[0, 1]` (more digits, more people to
//! order, a longer word, ...), and the simulated difficulty is drawn around
//! it, so that harder-looking items tend to be harder in the demo.

use std::fmt::Write as _;
use std::path::Path;

use fangsheng::bank::{Item, ItemBank, ItemParams, ItemType, Metadata, ParamSet};
use fangsheng::model::{Irf, Logistic, ModelKind};
use fangsheng::simulate::{simulate_responses, standard_normals};
use fangsheng::{ExamineeId, ItemId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 20261128;
const BANK_DIR: &str = "item-banks/demo";
const PARAMS_FILE: &str = "calibration/demo/v1.json";
const RUNS_FILE: &str = "calibration/demo/runs.csv";

/// Fictional models and their simulated abilities.
const MODELS: [(&str, f64); 12] = [
    ("demo-tiny-1b", -2.0),
    ("demo-small-3b", -1.3),
    ("demo-small-7b", -0.8),
    ("demo-mid-13b", -0.3),
    ("demo-mid-34b", 0.1),
    ("demo-large-70b", 0.5),
    ("demo-large-70b-chat", 0.7),
    ("demo-xl-180b", 1.1),
    ("demo-moe-8x7b", 0.3),
    ("demo-reasoner", 1.6),
    ("demo-frontier-a", 2.2),
    ("demo-frontier-b", 2.6),
];

const NAMES: [&str; 8] = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana"];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WORDS: [&str; 16] = [
    "planet", "garden", "rocket", "window", "silver", "harbor", "lantern", "compass", "orchard",
    "meadow", "thunder", "biscuit", "calendar", "elephant", "notebook", "umbrella",
];

/// The items being generated, with the complexity of each.
struct Bank {
    rng: ChaCha8Rng,
    items: Vec<(Item, f64)>,
}

impl Bank {
    fn id(&self) -> String {
        format!("demo-{:03}", self.items.len() + 1)
    }

    /// Adds an item, filling in the id, category and dimension.
    fn push(&mut self, mut item: Item, category: &str, dimension: &str, complexity: f64) {
        item.id = ItemId::from(self.id());
        item.category = Some(category.to_owned());
        item.dimension = Some(dimension.to_owned());
        item.tags = vec!["demo".to_owned(), "generated".to_owned()];
        self.items.push((item, complexity.clamp(0.0, 1.0)));
    }

    /// A multiple-choice item: the answer among distinct distractors, at a
    /// random position.
    fn mc(
        &mut self,
        question: String,
        answer: String,
        distractors: Vec<String>,
        (category, dimension, complexity): (&str, &str, f64),
    ) {
        let mut choices = vec![answer.clone()];
        for d in distractors {
            if !choices.contains(&d) {
                choices.push(d);
            }
        }
        shuffle(&mut choices, &mut self.rng);
        let key = choices.iter().position(|c| *c == answer).unwrap_or(0);
        let item = Item::multiple_choice("", question, choices, (b'A' + key as u8) as char);
        self.push(item, category, dimension, complexity);
    }

    /// A numeric item with an absolute and/or relative tolerance.
    fn numeric(
        &mut self,
        question: String,
        answer: f64,
        (tolerance, rel_tolerance): (Option<f64>, Option<f64>),
        (category, dimension, complexity): (&str, &str, f64),
    ) {
        let mut item = Item::open("", question, ItemType::Numeric, num(answer));
        item.tolerance = tolerance;
        item.rel_tolerance = rel_tolerance;
        self.push(item, category, dimension, complexity);
    }

    /// An exact-match item.
    fn exact(&mut self, question: String, answer: &str, spec: (&str, &str, f64)) {
        let item = Item::open("", question, ItemType::Exact, answer);
        self.push(item, spec.0, spec.1, spec.2);
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..=hi)
    }
}

/// Fisher-Yates with the given generator.
fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// A number as an answer text: at most 4 decimals, no trailing zeros.
fn num(x: f64) -> String {
    let s = format!("{:.4}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Near-miss distractors for an integer answer.
fn int_distractors(ans: i64, spread: i64) -> Vec<String> {
    [
        ans + 1,
        ans - spread,
        ans + spread,
        ans - 1,
        ans + 2 * spread,
    ]
    .iter()
    .map(|x| x.to_string())
    .collect()
}

fn arithmetic(b: &mut Bank) {
    // Plain operations, multiple choice: more digits, harder.
    for i in 0..10 {
        let digits = 1 + i / 4;
        let hi = 10i64.pow(digits as u32) - 1;
        let (x, y) = (b.range(hi / 10 + 2, hi), b.range(hi / 10 + 2, hi));
        let (q, ans, c) = match i % 3 {
            0 => (format!("What is {x} + {y}?"), x + y, 0.05),
            1 => (
                format!("What is {} - {}?", x.max(y), x.min(y)),
                x.max(y) - x.min(y),
                0.1,
            ),
            _ => (format!("What is {x} × {y}?"), x * y, 0.25),
        };
        let spread = if ans.abs() > 100 { 10 } else { 3 };
        let mut d = int_distractors(ans, spread);
        d.truncate(3);
        let complexity = c + 0.2 * (digits - 1) as f64;
        b.mc(q, ans.to_string(), d, ("arithmetic", "general", complexity));
    }
    // Several steps, numeric answer.
    for i in 0..10 {
        let (q, ans, c) = match i % 4 {
            0 => {
                let (x, y, z) = (b.range(12, 60), b.range(3, 19), b.range(10, 99));
                (format!("Compute {x} × {y} - {z}."), x * y - z, 0.35)
            }
            1 => {
                let x = b.range(11, 35);
                (format!("What is {x} squared?"), x * x, 0.3)
            }
            2 => {
                let (y, k) = (b.range(3, 14), b.range(12, 80));
                (format!("What is {} divided by {y}?", y * k), k, 0.35)
            }
            _ => {
                let (x, y, z) = (b.range(2, 9), b.range(11, 40), b.range(2, 9));
                (
                    format!("Compute ({x} + {y}) × {z} - {x}."),
                    (x + y) * z - x,
                    0.5,
                )
            }
        };
        let complexity = c + 0.04 * i as f64;
        b.numeric(
            q,
            ans as f64,
            (None, None),
            ("arithmetic", "general", complexity),
        );
    }
    // Everyday percentages and averages.
    for i in 0..8 {
        if i % 2 == 0 {
            let price = 20 * b.range(2, 15);
            let pct = [10, 15, 20, 25, 30][b.range(0, 4) as usize];
            let q = format!(
                "A jacket costs {price} dollars and is discounted by {pct}%. What is the sale price in dollars?"
            );
            let ans = price as f64 * (100 - pct) as f64 / 100.0;
            b.numeric(
                q,
                ans,
                (Some(0.01), None),
                ("arithmetic", "application", 0.45),
            );
        } else {
            let n = 3 + i as usize / 3;
            let xs: Vec<i64> = (0..n).map(|_| b.range(50, 99)).collect();
            let mean = xs.iter().sum::<i64>() as f64 / n as f64;
            let list: Vec<String> = xs.iter().map(|x| x.to_string()).collect();
            let q = format!(
                "A student scored {} on {n} tests. What is the average score? Give two decimals if needed.",
                list.join(", ")
            );
            b.numeric(
                q,
                (mean * 100.0).round() / 100.0,
                (Some(0.01), None),
                ("arithmetic", "application", 0.4 + 0.1 * n as f64 / 5.0),
            );
        }
    }
    // Production and logistics.
    for i in 0..6 {
        match i % 3 {
            0 => {
                let (r, h) = (b.range(12, 95), b.range(6, 12));
                let q = format!(
                    "A machine makes {r} parts per hour. How many parts does it make in a shift of {h} hours?"
                );
                b.numeric(
                    q,
                    (r * h) as f64,
                    (None, None),
                    ("arithmetic", "industry", 0.3),
                );
            }
            1 => {
                let (n, k, p) = (b.range(8, 40), b.range(6, 24), b.range(3, 12));
                let q = format!(
                    "A pallet holds {n} boxes of {k} units each. How many units are on {p} pallets?"
                );
                let ans = n * k * p;
                let d = int_distractors(ans, n * k);
                b.mc(q, ans.to_string(), d, ("arithmetic", "industry", 0.5));
            }
            _ => {
                let total = 50 * b.range(4, 40);
                let bad = b.range(3, 30);
                let q = format!(
                    "A batch of {total} parts has {bad} defective ones. What percentage of the batch is defective?"
                );
                let ans = 100.0 * bad as f64 / total as f64;
                b.numeric(q, ans, (Some(0.05), None), ("arithmetic", "industry", 0.6));
            }
        }
    }
    // Load limits (safety).
    let (rating, weight) = (b.range(35, 60), b.range(4, 9));
    b.numeric(
        format!(
            "A shelf is rated for at most {rating} kg. Boxes weigh {weight} kg each. How many boxes can it hold without exceeding its rating?"
        ),
        (rating / weight) as f64,
        (None, None),
        ("arithmetic", "safety", 0.45),
    );
    let (people, each) = (b.range(5, 9), b.range(70, 90));
    let limit = people * each + b.range(-60, -10);
    b.mc(
        format!(
            "A lift is rated for {limit} kg. {people} people weighing {each} kg each want to ride together. Is that within the rating?"
        ),
        "No".into(),
        vec!["Yes".into()],
        ("arithmetic", "safety", 0.4),
    );
}

fn units(b: &mut Bank) {
    // (from, to, factor, dimension, complexity, exact factor)
    let conversions: [(&str, &str, f64, &str, f64, bool); 12] = [
        ("kilometres", "metres", 1000.0, "general", 0.1, true),
        ("metres", "centimetres", 100.0, "general", 0.1, true),
        ("kilograms", "grams", 1000.0, "general", 0.1, true),
        ("hours", "minutes", 60.0, "general", 0.15, true),
        ("litres", "millilitres", 1000.0, "general", 0.1, true),
        ("miles", "kilometres", 1.609344, "application", 0.5, false),
        ("inches", "centimetres", 2.54, "application", 0.45, false),
        (
            "pounds",
            "kilograms",
            0.45359237,
            "application",
            0.55,
            false,
        ),
        ("cubic metres", "litres", 1000.0, "industry", 0.35, true),
        ("kilowatts", "watts", 1000.0, "industry", 0.2, true),
        ("metric tonnes", "kilograms", 1000.0, "industry", 0.25, true),
        (
            "metres per second",
            "kilometres per hour",
            3.6,
            "industry",
            0.6,
            false,
        ),
    ];
    for round in 0..2 {
        for (from, to, factor, dim, c, exact) in conversions {
            let x = if round == 0 {
                b.range(2, 40) as f64
            } else {
                b.range(11, 99) as f64 / 10.0
            };
            let q = format!("Convert {} {from} to {to}.", num(x));
            let ans = x * factor;
            // Exact metric factors need no slack beyond rounding; imperial
            // ones allow 1% for the rounded factors people remember.
            let tol = if exact {
                (Some(0.001), None)
            } else {
                (None, Some(0.01))
            };
            b.numeric(q, ans, tol, ("units", dim, c + 0.1 * round as f64));
        }
    }
    // Temperatures: an offset as well as a factor.
    // One cool and one warm temperature, so that the two questions differ.
    for (lo, hi) in [(-10, 14), (15, 40)] {
        let c = b.range(lo, hi);
        b.numeric(
            format!("Convert {c} °C to degrees Fahrenheit."),
            c as f64 * 9.0 / 5.0 + 32.0,
            (Some(0.5), None),
            ("units", "application", 0.65),
        );
    }
    // Food safety temperatures (USDA/FDA guidance: fridge at or below 4 °C /
    // 40 °F, freezer at -18 °C / 0 °F, poultry cooked to 74 °C / 165 °F).
    b.numeric(
        "A freezer should keep food at -18 °C. What is that in degrees Fahrenheit?".into(),
        -0.4,
        (Some(0.5), None),
        ("units", "safety", 0.7),
    );
    b.numeric(
        "Poultry should be cooked to an internal temperature of 74 °C. What is that in degrees Fahrenheit?".into(),
        165.2,
        (Some(0.5), None),
        ("units", "safety", 0.65),
    );
    b.mc(
        "Which of these is a safe storage temperature for a household refrigerator?".into(),
        "4 °C".into(),
        vec!["12 °C".into(), "20 °C".into(), "30 °C".into()],
        ("units", "safety", 0.2),
    );
    b.mc(
        "Which of these is the usual recommended temperature for a household freezer?".into(),
        "-18 °C".into(),
        vec!["0 °C".into(), "5 °C".into(), "10 °C".into()],
        ("units", "safety", 0.3),
    );
}

fn logic(b: &mut Bank) {
    // Ordering: n people, n - 1 comparisons given in shuffled order.
    let relations = [
        ("taller than", "tallest", "shortest"),
        ("older than", "oldest", "youngest"),
        ("faster than", "fastest", "slowest"),
    ];
    for i in 0..12 {
        let n = 3 + i / 4;
        let mut people: Vec<&str> = NAMES.to_vec();
        shuffle(&mut people, &mut b.rng);
        people.truncate(n);
        let (rel, top, bottom) = relations[i % 3];
        let mut facts: Vec<String> = people
            .windows(2)
            .map(|w| format!("{} is {rel} {}.", w[0], w[1]))
            .collect();
        shuffle(&mut facts, &mut b.rng);
        let (word, ans) = if b.rng.random::<bool>() {
            (top, people[0])
        } else {
            (bottom, people[n - 1])
        };
        let q = format!("{} Who is the {word}?", facts.join(" "));
        let d = people
            .iter()
            .filter(|p| **p != ans)
            .map(|p| p.to_string())
            .collect();
        b.mc(
            q,
            ans.into(),
            d,
            ("logic", "general", 0.2 + 0.22 * (n - 3) as f64),
        );
    }
    // Number sequences.
    for i in 0..8 {
        // Starts of the same pattern (i and i + 4) never coincide.
        let start = i as i64 + b.range(1, 4);
        let (terms, next, c): (Vec<i64>, i64, f64) = match i % 4 {
            0 => {
                let step = b.range(2, 9);
                let t: Vec<i64> = (0..4).map(|k| start + k * step).collect();
                (t, start + 4 * step, 0.15)
            }
            1 => {
                let r = b.range(2, 3);
                let t: Vec<i64> = (0..4).map(|k| start * r.pow(k as u32)).collect();
                (t, start * r.pow(4), 0.3)
            }
            2 => {
                // Differences growing by one: 1, 2, 4, 7, 11, ...
                let t: Vec<i64> = (0..5).map(|k| start + k * (k + 1) / 2).collect();
                (t, start + 15, 0.55)
            }
            _ => {
                // Two interleaved sequences.
                let (s1, s2) = (b.range(2, 6), b.range(2, 6));
                let t: Vec<i64> = (0..6)
                    .map(|k| {
                        if k % 2 == 0 {
                            start + s1 * (k / 2)
                        } else {
                            10 * start - s2 * (k / 2)
                        }
                    })
                    .collect();
                (t, start + 3 * s1, 0.75)
            }
        };
        let list: Vec<String> = terms.iter().map(|x| x.to_string()).collect();
        b.numeric(
            format!("What number comes next: {}, ?", list.join(", ")),
            next as f64,
            (None, None),
            ("logic", "general", c),
        );
    }
    // Days of the week.
    for i in 0..6 {
        let today = b.range(0, 6) as usize;
        let k = if i < 3 {
            b.range(2, 9)
        } else {
            b.range(15, 100)
        };
        let ans = DAYS[(today + k as usize) % 7];
        let d = (1..4)
            .map(|s| DAYS[(today + k as usize + s) % 7].to_string())
            .collect();
        b.mc(
            format!(
                "If today is {}, what day of the week will it be in {k} days?",
                DAYS[today]
            ),
            ans.into(),
            d,
            ("logic", "application", if i < 3 { 0.3 } else { 0.6 }),
        );
    }
    // Rules applied to cases.
    let rules: [(&str, &str, &str, f64); 4] = [
        (
            "Only certified operators may drive the forklift. Dana is not certified. May Dana drive the forklift?",
            "No",
            "safety",
            0.1,
        ),
        (
            "Every pressure vessel must be inspected at least once a year. Tank T is a pressure vessel last inspected two years ago. Does tank T meet the rule?",
            "No",
            "safety",
            0.25,
        ),
        (
            "All orders over 500 dollars need a manager's approval. An order of 650 dollars was placed without approval. Does it break the rule?",
            "Yes",
            "industry",
            0.35,
        ),
        (
            "Helmets are required in zone B. Workers in zone A may enter zone B only through gate 3. Sam walked from zone A through gate 3 without a helmet and is now in zone B. Is Sam following the rules?",
            "No",
            "safety",
            0.45,
        ),
    ];
    for (q, ans, dim, c) in rules {
        let other = if ans == "Yes" { "No" } else { "Yes" };
        b.mc(
            q.into(),
            ans.into(),
            vec![other.into(), "Cannot be determined".into()],
            ("logic", dim, c),
        );
    }
}

fn text(b: &mut Bank) {
    let mut words = WORDS.to_vec();
    shuffle(&mut words, &mut b.rng);
    for w in &words[..6] {
        let ans: String = w.chars().rev().collect();
        let c = 0.2 + 0.08 * (w.len() - 6) as f64;
        b.exact(
            format!("Write the word '{w}' backwards."),
            &ans,
            ("text", "general", c),
        );
    }
    for w in &words[6..11] {
        b.numeric(
            format!("How many letters are in the word '{w}'?"),
            w.len() as f64,
            (None, None),
            ("text", "general", 0.1 + 0.05 * (w.len() - 6) as f64),
        );
    }
    for w in &words[11..16] {
        let ans: String = w.chars().filter(|c| !"aeiou".contains(*c)).collect();
        b.exact(
            format!("Remove every vowel (a, e, i, o, u) from the word '{w}'. What is left?"),
            &ans,
            ("text", "application", 0.35 + 0.05 * (w.len() - 6) as f64),
        );
    }
    for i in 0..4 {
        let mut pick = WORDS.to_vec();
        shuffle(&mut pick, &mut b.rng);
        pick.truncate(3 + i);
        let first = pick.iter().min().copied().unwrap_or_default();
        b.exact(
            format!(
                "Which of these words comes first in alphabetical order: {}?",
                pick.join(", ")
            ),
            first,
            ("text", "general", 0.25 + 0.1 * i as f64),
        );
    }
    let suppliers = ["Northwind", "Bluebell", "Castor"];
    for s in suppliers {
        let batch = b.range(10, 99);
        let code = format!("{}{batch}", &s[..3].to_uppercase());
        b.exact(
            format!(
                "A part code is the first three letters of the supplier's name in capitals followed by the batch number. What is the code for supplier {s}, batch {batch}?"
            ),
            &code,
            ("text", "industry", 0.3),
        );
    }
    b.mc(
        "Which two household cleaning products must never be mixed because they release a toxic gas?".into(),
        "Bleach and ammonia".into(),
        vec![
            "Soap and water".into(),
            "Vinegar and water".into(),
            "Baking soda and water".into(),
        ],
        ("text", "safety", 0.2),
    );
}

/// Dynamic item templates: each exam draws fresh numbers, names and units,
/// and every variant shares the template's (simulated) parameters.
/// `(item line without id, category, dimension, complexity)`.
fn templates() -> Vec<(serde_json::Value, &'static str, &'static str, f64)> {
    use serde_json::json;
    vec![
        (
            json!({
                "question": "A crate holds {n} boxes of {k} bottles each. How many bottles are in {m} crates?",
                "type": "numeric",
                "template": {
                    "slots": {"n": {"int": [4, 24]}, "k": {"int": [6, 24]}, "m": {"int": [2, 9]}},
                    "answer": "n * k * m"
                }
            }),
            "arithmetic",
            "industry",
            0.45,
        ),
        (
            json!({
                "question": "{name} buys {q} notebooks at {p} dollars each and pays with a {bill}-dollar note. How much change does {name} get, in dollars?",
                "type": "multiple_choice",
                "template": {
                    "slots": {
                        "name": {"choice": NAMES},
                        "q": {"int": [2, 6]},
                        "p": {"decimal": [1.5, 4.5], "step": 0.5},
                        "bill": {"choice": [20, 50]}
                    },
                    "where": ["q * p < bill"],
                    "answer": "bill - q * p",
                    "distractors": ["q * p", "bill - (q - 1) * p", "bill - q * p + 1"]
                }
            }),
            "arithmetic",
            "application",
            0.4,
        ),
        (
            json!({
                "question": "Convert {x} {from[u]} to {to[u]}.",
                "type": "numeric",
                "rel_tolerance": 0.005,
                "template": {
                    "slots": {"x": {"int": [2, 95]}, "u": {"int": [0, 5]}},
                    "tables": {
                        "from": ["kilometres", "kilograms", "hours", "miles", "inches", "pounds"],
                        "to": ["metres", "grams", "minutes", "kilometres", "centimetres", "kilograms"],
                        "factor": [1000, 1000, 60, 1.609344, 2.54, 0.45359237]
                    },
                    "answer": "round(x * factor[u], 4)"
                }
            }),
            "units",
            "general",
            0.35,
        ),
        (
            json!({
                "question": "A crane is rated for {t} metric tonnes. Can it safely lift {n} pallets weighing {w} kg each in one load?",
                "type": "multiple_choice",
                "template": {
                    "slots": {"t": {"int": [2, 8]}, "n": {"int": [4, 20]}, "w": {"int": [150, 600], "step": 50}},
                    "where": ["abs(n * w - 1000 * t) >= 200"],
                    "answer": "if(n * w <= 1000 * t, 'Yes', 'No')",
                    "choices": ["'Yes'", "'No'"]
                }
            }),
            "units",
            "safety",
            0.5,
        ),
        (
            json!({
                "question": "If today is {days[d]}, what day of the week will it be in {k} days?",
                "type": "multiple_choice",
                "template": {
                    "slots": {"d": {"int": [0, 6]}, "k": {"int": [10, 60]}},
                    "tables": {"days": DAYS},
                    "answer": "days[(d + k) % 7]",
                    "distractors": ["days[(d + k + 1) % 7]", "days[(d + k + 6) % 7]", "days[(d + k + 3) % 7]"]
                }
            }),
            "logic",
            "application",
            0.55,
        ),
        (
            json!({
                "question": "{a} is older than {b}. {c} is younger than {b}. Who is the oldest of the three?",
                "type": "exact",
                "template": {
                    "slots": {"a": {"choice": NAMES}, "b": {"choice": NAMES}, "c": {"choice": NAMES}},
                    "where": ["a != b", "b != c", "a != c"],
                    "answer": "a"
                }
            }),
            "logic",
            "general",
            0.35,
        ),
    ]
}

/// Adds the templates, each parsed and checked as a bank line would be.
fn add_templates(b: &mut Bank) -> fangsheng::Result<()> {
    for (mut line, category, dimension, complexity) in templates() {
        line["id"] = b.id().into();
        let text = format!("{line}\n");
        let parsed = ItemBank::from_jsonl("templates", &text, Path::new("<demo_data templates>"))?;
        let item = parsed.items()[0].clone();
        b.push(item, category, dimension, complexity);
        if let Some(last) = b.items.last_mut() {
            last.0.tags.push("template".to_owned());
        }
    }
    Ok(())
}

fn main() -> fangsheng::Result<()> {
    let mut bank = Bank {
        rng: ChaCha8Rng::seed_from_u64(SEED),
        items: Vec::new(),
    };
    arithmetic(&mut bank);
    units(&mut bank);
    logic(&mut bank);
    text(&mut bank);
    let n_fixed = bank.items.len();
    add_templates(&mut bank)?;
    let Bank { mut rng, items } = bank;
    // The templates' parameters and runs come from a generator of their
    // own, so that the fixed items keep their parameters and runs byte for
    // byte (earlier figures on the demo bank stay valid).
    let mut template_rng = ChaCha8Rng::seed_from_u64(SEED + 1);

    // Simulated parameters: difficulty around the complexity mapped to [-2, 2.8]
    // with noise, log-normal slopes, and a lower asymptote near chance for
    // multiple choice (3PL); open answers cannot be guessed (2PL).
    let mut params = Vec::with_capacity(items.len());
    for (i, (item, complexity)) in items.iter().enumerate() {
        let rng = if i < n_fixed {
            &mut rng
        } else {
            &mut template_rng
        };
        let z = standard_normals(2, rng);
        let a = 1.2 * (0.3 * z[0]).exp();
        let b = -2.0 + 4.8 * complexity + 0.5 * z[1];
        let (kind, irf) = if item.kind == ItemType::MultipleChoice {
            let chance = 1.0 / item.choices.len() as f64;
            let g = chance * rng.random_range(0.5..1.0);
            (ModelKind::ThreePl, Logistic::new(a, b, g, 1.0)?)
        } else {
            (ModelKind::TwoPl, Logistic::two_pl(a, b)?)
        };
        params.push(ItemParams {
            id: item.id.clone(),
            kind,
            irf: Irf::from(irf),
            se: None,
        });
    }
    let items: Vec<Item> = items.into_iter().map(|(item, _)| item).collect();
    let bank = ItemBank::from_items("demo", items)?;
    bank.save(Path::new(BANK_DIR))?;

    let thetas: Vec<f64> = MODELS.iter().map(|m| m.1).collect();
    // Each model answered 85% of the items, as recorded runs often miss some.
    let simulate = |params: &[ItemParams], rng: &mut ChaCha8Rng| {
        let irfs: Vec<Irf> = params.iter().map(|p| p.irf.clone()).collect();
        let ids: Vec<ItemId> = params.iter().map(|p| p.id.clone()).collect();
        simulate_responses(&irfs, &thetas, 0.85, Some(ids), rng)
    };
    let runs = [
        simulate(&params[..n_fixed], &mut rng),
        simulate(&params[n_fixed..], &mut template_rng),
    ];

    let mut metadata = Metadata {
        bank: Some("demo".into()),
        version: Some("v1".into()),
        ..Metadata::default()
    };
    let prov = &mut metadata.provenance;
    prov.insert("simulated".into(), true.into());
    prov.insert(
        "note".into(),
        "SIMULATED demonstration parameters, not fitted to any real model: difficulty b drawn \
         around each generated item's complexity, log-normal a, 3PL with g near chance for \
         multiple choice, 2PL for open answers."
            .into(),
    );
    prov.insert("generator".into(), "cargo run --example demo_data".into());
    prov.insert("seed".into(), SEED.into());
    let params = ParamSet::new(params, metadata)?;
    params.save_json(Path::new(PARAMS_FILE))?;

    let mut csv = String::from("model,item,correct\n");
    for runs in &runs {
        for cell in runs.cells() {
            let _ = writeln!(
                csv,
                "{},{},{}",
                ExamineeId::from(MODELS[cell.examinee as usize].0),
                runs.items()[cell.item as usize],
                cell.score
            );
        }
    }
    fangsheng::io::write_atomic(Path::new(RUNS_FILE), |w| {
        w.write_all(csv.as_bytes())
            .map_err(|e| fangsheng::Error::io(RUNS_FILE, e))
    })?;
    eprintln!(
        "wrote {BANK_DIR}/items.jsonl ({} items), {PARAMS_FILE} and {RUNS_FILE} ({} responses)",
        bank.len(),
        runs.iter().map(|r| r.n_responses()).sum::<usize>()
    );
    Ok(())
}
