//! Dynamic item templates: an item whose numbers, names and units are drawn
//! fresh for each exam, its answer computed by a rule.
//!
//! A template is an `items.jsonl` line with a `template` object; its
//! `question` holds `{placeholders}` (expressions of the small expression
//! language of [`Expr`]: `+ - * / // % ^`, parentheses,
//! comparisons, `round`, `min`, `max`, `if`, table lookups; `{{` and `}}`
//! for literal braces), and it has no `answer` or `choices` of its own:
//!
//! ```text
//! {"id": "demo-121", "type": "numeric", "tolerance": 0.001,
//!  "question": "Convert {x} {name[from]} to metres.",
//!  "template": {
//!    "slots": {"x": {"int": [2, 40]}, "from": {"choice": ["km", "mi"]}},
//!    "tables": {"name": {"km": "kilometres", "mi": "miles"},
//!               "metres": {"km": 1000, "mi": 1609.344}},
//!    "answer": "x * metres[from]"},
//!  "category": "units", "dimension": "general"}
//! ```
//!
//! - `slots`: typed values drawn per variant: `{"int": [lo, hi]}` (with an
//!   optional integer `"step"`), `{"decimal": [lo, hi], "step": s}`,
//!   `{"choice": [v1, v2, ...]}` (texts or numbers);
//! - `tables` (optional): lookup tables, lists (`days[(d + k) % 7]`) or
//!   objects (`metres[from]`), for unit conversions and names;
//! - `let` (optional): named expressions over slots and other `let`s;
//! - `where` (optional): conditions a draw must meet (`"x != y"`);
//! - `answer`: the rule computing the key: a number for `numeric` items, a
//!   text for `exact` ones, the correct choice's text for
//!   `multiple_choice`;
//! - multiple choice only: `distractors` (expressions; with the answer they
//!   make the choices, repeated values dropped, in an order shuffled per
//!   variant) or `choices` (expressions in a fixed order, the answer being
//!   one of them).
//!
//! Every variant of a template is asked under the template's id and shares
//! its calibrated parameters: the parameter file holds one entry for the
//! family. A variant is fixed by its slot values ([`Variant`]): the
//! question, the choices and their order all follow from them, which is what
//! lets a journal record a variant in a few bytes and a resumed exam rebuild
//! it exactly. [`Template::draw`] picks slot values from a seed, avoiding
//! the variants a campaign has used ([`UsedVariants`]) until the slot space
//! is exhausted.
//!
//! An [`Item`] holding a template also carries, in its ordinary fields, one
//! concrete variant (the *preview*, drawn from seed 0), so that code which
//! knows nothing of templates (bank summaries, few-shot examples, the
//! simulated backend) sees a well-formed item.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::content::{Item, ItemType, MAX_CHOICES, letter};
use super::content_parse::json_kind;
use super::template_expr::{Expr, Func, Table, Value, format_number};
use crate::error::{Error, Result};
use crate::prompt::braces::{BraceError, Braced, split_braces};

/// Random draws tried before walking the slot space in order.
const RANDOM_TRIES: u64 = 64;
/// The most slot assignments a draw walks through when random draws keep
/// hitting used or excluded ones.
const WALK_LIMIT: u64 = 1 << 20;
/// Draws checked when a template is read (every one must be computable).
pub const LOAD_SAMPLE: usize = 64;

/// Slot values by slot name: what fixes a variant.
pub type Slots = BTreeMap<String, Value>;

/// One slot: the values it can take.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    /// `lo, lo + step, ..., <= hi` (integers or decimals).
    Range {
        lo: f64,
        step: f64,
        n: u64,
        decimals: i32,
    },
    /// A list of values.
    Choice(Vec<Value>),
}

impl Slot {
    fn size(&self) -> u64 {
        match self {
            Slot::Range { n, .. } => *n,
            Slot::Choice(v) => v.len() as u64,
        }
    }

    fn value(&self, k: u64) -> Value {
        match self {
            Slot::Range {
                lo, step, decimals, ..
            } => {
                // Rounding to the step's decimals keeps 0.1 steps from
                // showing as 0.30000000000000004.
                let scale = 10f64.powi(*decimals);
                Value::Num(((lo + k as f64 * step) * scale).round() / scale)
            }
            Slot::Choice(v) => v[k as usize].clone(),
        }
    }

    fn contains(&self, v: &Value) -> bool {
        match (self, v) {
            (Slot::Range { lo, step, n, .. }, Value::Num(x)) => {
                let k = ((x - lo) / step).round();
                k >= 0.0 && (k as u64) < *n && self.value(k as u64) == *v
            }
            (Slot::Range { .. }, Value::Text(_)) => false,
            (Slot::Choice(list), v) => list.contains(v),
        }
    }
}

/// A piece of a question: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Expr(Expr),
}

/// How a multiple-choice template makes its choices.
#[derive(Debug, Clone, PartialEq)]
enum Choices {
    /// Not multiple choice.
    None,
    /// The answer and these, shuffled per variant.
    Distractors(Vec<Expr>),
    /// These, in order; the answer is one of them.
    Fixed(Vec<Expr>),
}

/// A parsed, checked item template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    kind: ItemType,
    question: Vec<Piece>,
    question_source: String,
    slots: BTreeMap<String, Slot>,
    tables: BTreeMap<String, Table>,
    lets: Vec<(String, Expr)>,
    conditions: Vec<Expr>,
    answer: Expr,
    choices: Choices,
    source: Json,
}

/// The variant an exam asked: its slot values, and the key they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Slot values by name.
    pub slots: Slots,
    /// The answer as the variant renders it: the number or text, or for
    /// multiple choice the correct choice's text.
    pub answer: String,
    /// The key letter of a multiple-choice variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<char>,
}

impl Variant {
    /// The variant's identity within its template: its slot values as
    /// canonical JSON.
    pub fn key_text(&self) -> String {
        slots_key(&self.slots)
    }
}

fn slots_key(slots: &Slots) -> String {
    serde_json::to_string(slots).unwrap_or_default()
}

/// What [`Template::draw`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// The variant as an item: the template's id, the drawn question, key and
    /// choices, and no template.
    pub item: Item,
    /// Its record.
    pub variant: Variant,
    /// True when every variant had been used: this one repeats.
    pub repeated: bool,
}

/// The variants a campaign has asked, per template id: shared by the exams
/// of a campaign (it is `Sync`), so that no two of them, and no exam and an
/// earlier one whose journal was read in, get the same variant while unused
/// ones remain.
#[derive(Debug, Default)]
pub struct UsedVariants {
    used: Mutex<HashMap<String, HashSet<String>>>,
}

impl UsedVariants {
    /// An empty set.
    pub fn new() -> Arc<Self> {
        Arc::new(UsedVariants::default())
    }

    /// Marks `variant` of template `item` as used; false when it already was.
    pub fn insert(&self, item: &str, variant: &Variant) -> bool {
        self.lock()
            .entry(item.to_owned())
            .or_default()
            .insert(variant.key_text())
    }

    /// Marks every `(template id, variant)` as used, for example those of a
    /// journal read back (`Contents::variants` in `crate::exam`).
    pub fn extend<'a>(&self, variants: impl IntoIterator<Item = (&'a str, &'a Variant)>) {
        let mut used = self.lock();
        for (item, v) in variants {
            used.entry(item.to_owned())
                .or_default()
                .insert(v.key_text());
        }
    }

    /// Whether `variant` of template `item` was used.
    pub fn contains(&self, item: &str, variant: &Variant) -> bool {
        self.lock()
            .get(item)
            .is_some_and(|s| s.contains(&variant.key_text()))
    }

    /// How many variants of template `item` were used.
    pub fn count(&self, item: &str) -> usize {
        self.lock().get(item).map_or(0, HashSet::len)
    }

    fn has_key(&self, item: &str, key: &str) -> bool {
        self.lock().get(item).is_some_and(|s| s.contains(key))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        // A panic elsewhere while holding the lock leaves a set that is still
        // a valid set of strings: carry on with it.
        self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A stable 64-bit mix of a seed, a text and a number (FNV-1a, then
/// SplitMix64 finalisation), independent of platform and of Rust's hashing.
fn mix(seed: u64, text: &str, n: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in text.bytes().chain(n.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn json_value(v: &Json, what: &str) -> Result<Value> {
    match v {
        Json::Number(n) => n
            .as_f64()
            .map(Value::Num)
            .ok_or_else(|| Error::value(format!("{what}: a number out of range"))),
        Json::String(s) => Ok(Value::Text(s.clone())),
        other => Err(Error::value(format!(
            "{what} must be a number or a text, found {}",
            json_kind(other)
        ))),
    }
}

fn decimals_of(x: f64) -> i32 {
    (0..=9)
        .find(|&d| {
            let scale = 10f64.powi(d);
            ((x * scale).round() - x * scale).abs() < 1e-9 * scale.max(1.0)
        })
        .unwrap_or(9)
}

fn parse_slot(name: &str, spec: &Json) -> Result<Slot> {
    let bad = |msg: String| Error::value(format!("slot '{name}': {msg}"));
    let Json::Object(obj) = spec else {
        return Err(bad(format!(
            "expected an object such as {{\"int\": [1, 10]}}, found {}",
            json_kind(spec)
        )));
    };
    let kind = ["int", "decimal", "choice"]
        .into_iter()
        .find(|k| obj.contains_key(*k))
        .ok_or_else(|| bad("give one of \"int\", \"decimal\" or \"choice\"".into()))?;
    if let Some(k) = obj.keys().find(|k| *k != kind && *k != "step") {
        return Err(bad(format!("unknown key '{k}' (known: {kind}, step)")));
    }
    if kind == "choice" {
        if obj.contains_key("step") {
            return Err(bad("a choice slot has no step".into()));
        }
        let Some(Json::Array(list)) = obj.get("choice") else {
            return Err(bad("\"choice\" must be a list of values".into()));
        };
        let values = list
            .iter()
            .map(|v| json_value(v, "a choice"))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| bad(e.message().to_owned()))?;
        if values.is_empty() {
            return Err(bad("the choice list is empty".into()));
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(bad(format!("'{v}' is listed twice")));
            }
        }
        return Ok(Slot::Choice(values));
    }
    let bounds = match obj.get(kind) {
        Some(Json::Array(b)) if b.len() == 2 => b,
        _ => return Err(bad(format!("\"{kind}\" must be a list [lo, hi]"))),
    };
    let num = |v: &Json, what: &str| -> Result<f64> {
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(format!("{what} must be a number, found {}", json_kind(v))))
    };
    let (lo, hi) = (num(&bounds[0], "lo")?, num(&bounds[1], "hi")?);
    let step = match obj.get("step") {
        Some(s) => num(s, "step")?,
        None if kind == "int" => 1.0,
        None => return Err(bad("a decimal slot needs a \"step\"".into())),
    };
    if kind == "int" && [lo, hi, step].iter().any(|x| x.fract() != 0.0) {
        return Err(bad(
            "an int slot's bounds and step must be whole numbers".into()
        ));
    }
    if step <= 0.0 {
        return Err(bad(format!("step {} is not positive", format_number(step))));
    }
    if hi < lo {
        return Err(bad(format!(
            "hi {} is below lo {}",
            format_number(hi),
            format_number(lo)
        )));
    }
    let n = ((hi - lo) / step + 1e-9).floor() as u64 + 1;
    Ok(Slot::Range {
        lo,
        step,
        n,
        decimals: decimals_of(lo).max(decimals_of(step)),
    })
}

/// Splits a question into text and `{expression}` placeholders.
fn parse_question(src: &str) -> Result<Vec<Piece>> {
    let braced = split_braces(src).map_err(|e| match e {
        BraceError::Unclosed(inner) => Error::value(format!(
            "the question has a '{{' without its '}}' (write '{{{{' for a brace): {{{inner}"
        )),
        BraceError::Stray => {
            Error::value("the question has a '}' without its '{' (write '}}' for a brace)")
        }
    })?;
    let pieces = braced
        .into_iter()
        .map(|b| match b {
            Braced::Text(text) => Ok(Piece::Text(text)),
            Braced::Placeholder(inner) => Expr::parse(&inner)
                .map(Piece::Expr)
                .map_err(|e| Error::value(format!("question: {}", e.message()))),
        })
        .collect::<Result<Vec<_>>>()?;
    if !pieces.iter().any(|p| matches!(p, Piece::Expr(_))) {
        return Err(Error::value(
            "the question has no {placeholder}: every variant would be the same question",
        ));
    }
    Ok(pieces)
}

fn string_list(obj: &Map<String, Json>, key: &str) -> Result<Option<Vec<String>>> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(list)) => list
            .iter()
            .map(|v| match v {
                Json::String(s) => Ok(s.clone()),
                other => Err(Error::value(format!(
                    "template.{key} must be a list of expression texts, found {} in it",
                    json_kind(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(other) => Err(Error::value(format!(
            "template.{key} must be a list of expression texts, found {}",
            json_kind(other)
        ))),
    }
}

fn expr_at(src: &str, what: &str) -> Result<Expr> {
    Expr::parse(src).map_err(|e| Error::value(format!("{what}: {}", e.message())))
}

impl Template {
    /// The fields a `template` object may have.
    pub const FIELDS: [&'static str; 7] = [
        "slots",
        "tables",
        "let",
        "where",
        "answer",
        "distractors",
        "choices",
    ];

    /// Parses and checks a template: the item's `question` (with
    /// placeholders), its type, and the `template` object.
    ///
    /// Checked here: the structure; that every name an expression reads is
    /// a slot, a `let` or (in `name[..]`) a table, with no cycle among the
    /// `let`s; that every slot shows in the question (else two variants
    /// would read the same); that the type is `multiple_choice` (with
    /// `distractors` or `choices`), `numeric` or `exact`; and that
    /// [`LOAD_SAMPLE`] draws all give a well-formed item (the answer
    /// computable, a number for numeric items, among at least two distinct
    /// choices for multiple choice).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] saying what is wrong (the caller adds the
    /// file, line and item).
    pub fn parse(question: &str, kind: ItemType, spec: &Json) -> Result<Self> {
        let Json::Object(obj) = spec else {
            return Err(Error::value(format!(
                "field 'template' must be an object, found {}",
                json_kind(spec)
            )));
        };
        if let Some(k) = obj.keys().find(|k| !Self::FIELDS.contains(&k.as_str())) {
            return Err(Error::value(format!(
                "unknown field 'template.{k}' (known: {})",
                Self::FIELDS.join(", ")
            )));
        }
        let slots = match obj.get("slots") {
            Some(Json::Object(m)) if !m.is_empty() => m
                .iter()
                .map(|(name, s)| Ok((name.clone(), parse_slot(name, s)?)))
                .collect::<Result<BTreeMap<_, _>>>()?,
            _ => {
                return Err(Error::value(
                    "template.slots must be an object with at least one slot",
                ));
            }
        };
        let tables = match obj.get("tables") {
            None | Some(Json::Null) => BTreeMap::new(),
            Some(Json::Object(m)) => m
                .iter()
                .map(|(name, t)| {
                    let what = format!("table '{name}'");
                    let table = match t {
                        Json::Array(list) => Table::List(
                            list.iter()
                                .map(|v| json_value(v, &what))
                                .collect::<Result<_>>()?,
                        ),
                        Json::Object(m) => Table::Map(
                            m.iter()
                                .map(|(k, v)| Ok((k.clone(), json_value(v, &what)?)))
                                .collect::<Result<_>>()?,
                        ),
                        other => {
                            return Err(Error::value(format!(
                                "{what} must be a list or an object, found {}",
                                json_kind(other)
                            )));
                        }
                    };
                    Ok((name.clone(), table))
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(Error::value(format!(
                    "template.tables must be an object, found {}",
                    json_kind(other)
                )));
            }
        };
        let lets_src: Vec<(String, Expr)> = match obj.get("let") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Object(m)) => m
                .iter()
                .map(|(name, v)| match v {
                    Json::String(s) => Ok((name.clone(), expr_at(s, &format!("let '{name}'"))?)),
                    other => Err(Error::value(format!(
                        "let '{name}' must be an expression text, found {}",
                        json_kind(other)
                    ))),
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(Error::value(format!(
                    "template.let must be an object, found {}",
                    json_kind(other)
                )));
            }
        };
        for name in slots
            .keys()
            .chain(lets_src.iter().map(|(n, _)| n))
            .chain(tables.keys())
        {
            if !is_identifier(name) || Func::is_reserved(name) {
                return Err(Error::value(format!(
                    "'{name}' cannot name a slot, let or table (use letters, digits and _, not a function's name)"
                )));
            }
        }
        for name in lets_src.iter().map(|(n, _)| n).chain(tables.keys()) {
            if slots.contains_key(name) {
                return Err(Error::value(format!("'{name}' is defined twice")));
            }
        }
        if let Some(name) = lets_src
            .iter()
            .map(|(n, _)| n)
            .find(|n| tables.contains_key(*n))
        {
            return Err(Error::value(format!("'{name}' is defined twice")));
        }
        let lets = order_lets(lets_src, &slots)?;
        let answer = match obj.get("answer") {
            Some(Json::String(s)) => expr_at(s, "template.answer")?,
            Some(Json::Number(n)) => Expr::Num(n.as_f64().unwrap_or(f64::NAN)),
            None | Some(Json::Null) => {
                return Err(Error::value(
                    "missing field 'template.answer' (the rule computing the key)",
                ));
            }
            Some(other) => {
                return Err(Error::value(format!(
                    "template.answer must be an expression text, found {}",
                    json_kind(other)
                )));
            }
        };
        let parse_list = |key: &str| -> Result<Option<Vec<Expr>>> {
            string_list(obj, key)?
                .map(|list| {
                    list.iter()
                        .enumerate()
                        .map(|(i, s)| expr_at(s, &format!("template.{key}[{i}]")))
                        .collect()
                })
                .transpose()
        };
        let choices = match (kind, parse_list("distractors")?, parse_list("choices")?) {
            (ItemType::MultipleChoice, Some(d), None) => Choices::Distractors(d),
            (ItemType::MultipleChoice, None, Some(c)) => Choices::Fixed(c),
            (ItemType::MultipleChoice, Some(_), Some(_)) => {
                return Err(Error::value(
                    "give template.distractors or template.choices, not both",
                ));
            }
            (ItemType::MultipleChoice, None, None) => {
                return Err(Error::value(
                    "a multiple_choice template needs template.distractors or template.choices",
                ));
            }
            (ItemType::Numeric | ItemType::Exact, None, None) => Choices::None,
            (ItemType::Numeric | ItemType::Exact, _, _) => {
                return Err(Error::value(format!(
                    "distractors and choices are only for multiple_choice templates, not '{kind}'"
                )));
            }
            (ItemType::Regex, _, _) => {
                return Err(Error::value(
                    "templates are multiple_choice, numeric or exact, not regex",
                ));
            }
        };
        let conditions = string_list(obj, "where")?
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, s)| expr_at(s, &format!("template.where[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        let template = Template {
            kind,
            question: parse_question(question)?,
            question_source: question.to_owned(),
            slots,
            tables,
            lets,
            conditions,
            answer,
            choices,
            source: spec.clone(),
        };
        template.check_names()?;
        template.check_sample(LOAD_SAMPLE)?;
        Ok(template)
    }

    /// Every name read is defined, and every slot shows in the question.
    fn check_names(&self) -> Result<()> {
        let mut problem = None;
        let mut check = |e: &Expr, what: &str| {
            e.visit_names(&mut |name, is_table| {
                let known = if is_table {
                    self.tables.contains_key(name)
                } else {
                    self.slots.contains_key(name) || self.lets.iter().any(|(n, _)| n == name)
                };
                if !known && problem.is_none() {
                    problem = Some(Error::value(format!(
                        "{what} reads {} '{name}', which is not defined (slots: {}; lets: {}; tables: {})",
                        if is_table { "table" } else { "name" },
                        list(self.slots.keys()),
                        list(self.lets.iter().map(|(n, _)| n)),
                        list(self.tables.keys()),
                    )));
                }
            })
        };
        for (name, e) in &self.lets {
            check(e, &format!("let '{name}'"));
        }
        for p in &self.question {
            if let Piece::Expr(e) = p {
                check(e, "the question");
            }
        }
        check(&self.answer, "template.answer");
        if let Choices::Distractors(list) | Choices::Fixed(list) = &self.choices {
            for e in list {
                check(e, "a choice");
            }
        }
        for e in &self.conditions {
            check(e, "template.where");
        }
        if let Some(p) = problem {
            return Err(p);
        }
        // A slot the question never shows would make distinct variants read
        // the same: the campaign would think it asks something new.
        let mut shown = HashSet::new();
        let mut stack: Vec<&Expr> = self
            .question
            .iter()
            .filter_map(|p| match p {
                Piece::Expr(e) => Some(e),
                Piece::Text(_) => None,
            })
            .collect();
        while let Some(e) = stack.pop() {
            e.visit_names(&mut |name, is_table| {
                if !is_table && shown.insert(name.to_owned()) {
                    if let Some((_, le)) = self.lets.iter().find(|(n, _)| n == name) {
                        stack.push(le);
                    }
                }
            });
        }
        if let Some(hidden) = self.slots.keys().find(|s| !shown.contains(*s)) {
            return Err(Error::value(format!(
                "slot '{hidden}' does not show in the question, so variants differing in it would read the same"
            )));
        }
        Ok(())
    }

    /// Draws `n` variants from a fixed seed and builds each: the first
    /// failure is returned with the slot values that caused it.
    fn check_sample(&self, n: usize) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7e3a_11d0);
        let size = self.space_size();
        let mut found = false;
        for i in 0..n as u64 {
            let index = if size <= n as u64 {
                i % size
            } else {
                rng.random_range(0..size)
            };
            let slots = self.slots_at(index);
            match self.admits(&slots) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => return Err(with_slots(e, &slots)),
            }
            found = true;
            self.build_parts(&slots)
                .map_err(|e| with_slots(e, &slots))?;
        }
        if !found && self.first_admitted(0, size.min(WALK_LIMIT)).is_none() {
            return Err(Error::value(
                "no slot values meet every template.where condition",
            ));
        }
        Ok(())
    }

    /// Checks `n` draws (for `fangsheng bank validate`, which looks further
    /// than loading does).
    ///
    /// # Errors
    /// As [`Template::parse`], for the first bad draw, with its slot values.
    pub fn check_draws(&self, n: usize) -> Result<()> {
        self.check_sample(n)
    }

    /// The item type of the variants.
    pub fn kind(&self) -> ItemType {
        self.kind
    }

    /// The question with its placeholders, as written.
    pub fn question_source(&self) -> &str {
        &self.question_source
    }

    /// The `template` object as written.
    pub fn source(&self) -> &Json {
        &self.source
    }

    /// Number of slot assignments (the product of the slots' sizes,
    /// saturating), before `where` conditions.
    pub fn space_size(&self) -> u64 {
        self.slots
            .values()
            .fold(1u64, |acc, s| acc.saturating_mul(s.size()))
    }

    /// Number of distinct variants: slot assignments meeting the `where`
    /// conditions, counted when there are at most about a million, else
    /// [`Template::space_size`].
    pub fn n_variants(&self) -> u64 {
        let size = self.space_size();
        if size > WALK_LIMIT {
            return size;
        }
        (0..size)
            .filter(|&i| self.admits(&self.slots_at(i)).unwrap_or(false))
            .count() as u64
    }

    /// The slot values of assignment `index` (mixed radix over the slots in
    /// name order).
    fn slots_at(&self, mut index: u64) -> Slots {
        let mut slots = Slots::new();
        for (name, slot) in &self.slots {
            let n = slot.size();
            slots.insert(name.clone(), slot.value(index % n));
            index /= n;
        }
        slots
    }

    fn env(&self, slots: &Slots) -> Result<BTreeMap<String, Value>> {
        let mut env = slots.clone();
        for (name, e) in &self.lets {
            let v = e
                .eval(&env, &self.tables)
                .map_err(|err| Error::value(format!("let '{name}': {}", err.message())))?;
            env.insert(name.clone(), v);
        }
        Ok(env)
    }

    /// Whether `slots` meet the `where` conditions.
    fn admits(&self, slots: &Slots) -> Result<bool> {
        if self.conditions.is_empty() {
            return Ok(true);
        }
        let env = self.env(slots)?;
        for c in &self.conditions {
            let v = c
                .eval(&env, &self.tables)
                .map_err(|e| Error::value(format!("template.where: {}", e.message())))?;
            if v == Value::Num(0.0) || v == Value::Text(String::new()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn first_admitted(&self, from: u64, limit: u64) -> Option<Slots> {
        let size = self.space_size();
        (0..limit.min(size))
            .map(|k| self.slots_at((from + k) % size))
            .find(|s| self.admits(s).unwrap_or(false))
    }

    /// Question, choices, key letter and answer text of the variant `slots`.
    fn build_parts(&self, slots: &Slots) -> Result<(String, Vec<String>, String, Variant)> {
        let env = self.env(slots)?;
        let eval = |e: &Expr, what: &str| {
            e.eval(&env, &self.tables)
                .map_err(|err| Error::value(format!("{what}: {}", err.message())))
        };
        let mut question = String::new();
        for p in &self.question {
            match p {
                Piece::Text(t) => question.push_str(t),
                Piece::Expr(e) => question.push_str(&eval(e, "the question")?.to_string()),
            }
        }
        let answer = eval(&self.answer, "template.answer")?;
        let answer_text = answer.to_string();
        let variant = |key: Option<char>| Variant {
            slots: slots.clone(),
            answer: answer_text.clone(),
            key,
        };
        match (&self.choices, self.kind) {
            (Choices::None, ItemType::Numeric) => {
                if let Value::Text(t) = &answer {
                    return Err(Error::value(format!(
                        "template.answer of a numeric template gave the text '{t}'"
                    )));
                }
                Ok((question, Vec::new(), answer_text.clone(), variant(None)))
            }
            (Choices::None, _) => {
                if answer_text.trim().is_empty() {
                    return Err(Error::value("template.answer gave an empty text"));
                }
                Ok((question, Vec::new(), answer_text.clone(), variant(None)))
            }
            (Choices::Fixed(list), _) => {
                let texts = list
                    .iter()
                    .map(|e| eval(e, "a choice").map(|v| v.to_string()))
                    .collect::<Result<Vec<_>>>()?;
                check_choices(&texts)?;
                let k = texts
                    .iter()
                    .position(|c| *c == answer_text)
                    .ok_or_else(|| {
                        Error::value(format!(
                            "the answer '{answer_text}' is not among the choices {texts:?}"
                        ))
                    })?;
                let key = letter(k);
                Ok((question, texts, key.to_string(), variant(Some(key))))
            }
            (Choices::Distractors(list), _) => {
                let mut texts = vec![answer_text.clone()];
                for e in list {
                    let t = eval(e, "a distractor")?.to_string();
                    if !texts.contains(&t) {
                        texts.push(t);
                    }
                }
                if texts.len() < 2 {
                    return Err(Error::value(format!(
                        "every distractor equals the answer '{answer_text}': fewer than 2 choices"
                    )));
                }
                check_choices(&texts)?;
                // The order follows from the slot values alone, so a
                // journalled variant is rebuilt with the same letters.
                let mut rng = ChaCha8Rng::seed_from_u64(mix(0, &slots_key(slots), 0));
                for i in (1..texts.len()).rev() {
                    let j = rng.random_range(0..=i);
                    texts.swap(i, j);
                }
                let k = texts.iter().position(|c| *c == answer_text).unwrap_or(0);
                let key = letter(k);
                Ok((question, texts, key.to_string(), variant(Some(key))))
            }
        }
    }

    /// The variant `slots` of the template item `base`: `base` with the
    /// drawn question, choices and key, and no template.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] naming the item when a slot is missing,
    /// unknown or outside its values, or the variant cannot be built.
    pub fn instance(&self, base: &Item, slots: &Slots) -> Result<(Item, Variant)> {
        let located = |e: Error| e.for_item(base.id.as_str());
        if let Some(name) = self.slots.keys().find(|n| !slots.contains_key(*n)) {
            return Err(located(Error::value(format!("no value for slot '{name}'"))));
        }
        for (name, v) in slots {
            match self.slots.get(name) {
                None => return Err(located(Error::value(format!("no slot '{name}'")))),
                Some(s) if !s.contains(v) => {
                    return Err(located(Error::value(format!(
                        "'{v}' is not a value of slot '{name}'"
                    ))));
                }
                Some(_) => {}
            }
        }
        let (question, choices, answer, variant) = self
            .build_parts(slots)
            .map_err(|e| located(with_slots(e, slots)))?;
        let item = Item {
            question,
            choices,
            answer,
            template: None,
            ..base.clone()
        };
        item.check()?;
        Ok((item, variant))
    }

    /// Draws a variant of template item `base` for an exam with seed `seed`,
    /// avoiding the variants in `used` (which it does not update).
    ///
    /// Draw `t = 0, 1, ...` takes the slot assignment numbered by a
    /// generator seeded from `(seed, item id, t)`; after 64 draws that are
    /// used or fail the `where` conditions, the slot space is walked in
    /// order from the last one. When every admitted variant is used (the
    /// slot space is exhausted), the first admitted draw is returned with
    /// `repeated` set.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] naming the item when no slot values meet
    /// the `where` conditions or the variant cannot be built.
    pub fn draw(&self, base: &Item, seed: u64, used: &UsedVariants) -> Result<Draw> {
        let id = base.id.as_str();
        let size = self.space_size();
        let mut first = None;
        let mut pick = |slots: Slots| -> Result<Option<Slots>> {
            if !self.admits(&slots).map_err(|e| e.for_item(id))? {
                return Ok(None);
            }
            if used.has_key(id, &slots_key(&slots)) {
                first.get_or_insert(slots);
                return Ok(None);
            }
            Ok(Some(slots))
        };
        let mut last = 0;
        let mut chosen = None;
        for t in 0..RANDOM_TRIES {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, id, t));
            last = rng.random_range(0..size);
            if let Some(s) = pick(self.slots_at(last))? {
                chosen = Some(s);
                break;
            }
        }
        if chosen.is_none() {
            for k in 1..=size.min(WALK_LIMIT) {
                if let Some(s) = pick(self.slots_at((last + k) % size))? {
                    chosen = Some(s);
                    break;
                }
            }
        }
        let (slots, repeated) = match (chosen, first) {
            (Some(s), _) => (s, false),
            (None, Some(f)) => (f, true),
            (None, None) => {
                return Err(
                    Error::value("no slot values meet every template.where condition").for_item(id),
                );
            }
        };
        let (item, variant) = self.instance(base, &slots)?;
        Ok(Draw {
            item,
            variant,
            repeated,
        })
    }
}

/// Orders `let`s so that each comes after those it reads, refusing cycles.
fn order_lets(
    mut pending: Vec<(String, Expr)>,
    slots: &BTreeMap<String, Slot>,
) -> Result<Vec<(String, Expr)>> {
    let names: HashSet<String> = pending.iter().map(|(n, _)| n.clone()).collect();
    let mut done: HashSet<String> = slots.keys().cloned().collect();
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, e)| {
            let mut ok = true;
            e.visit_names(&mut |n, is_table| {
                if !is_table && names.contains(n) && !done.contains(n) {
                    ok = false;
                }
            });
            ok
        });
        let Some(i) = ready else {
            let stuck: Vec<&str> = pending.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::value(format!(
                "the lets {} depend on each other in a cycle",
                stuck.join(", ")
            )));
        };
        let (name, e) = pending.remove(i);
        done.insert(name.clone());
        ordered.push((name, e));
    }
    Ok(ordered)
}

fn check_choices(texts: &[String]) -> Result<()> {
    if texts.len() > MAX_CHOICES {
        return Err(Error::value(format!(
            "{} choices, more than the {MAX_CHOICES} letters A..Z",
            texts.len()
        )));
    }
    if let Some(t) = texts.iter().find(|t| t.trim().is_empty()) {
        return Err(Error::value(format!("a choice is empty ('{t}')")));
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

/// The error with the slot values that caused it.
fn with_slots(e: Error, slots: &Slots) -> Error {
    let shown: Vec<String> = slots.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let mut out = Error::new(
        e.kind(),
        format!("{} (with {})", e.message(), shown.join(", ")),
    );
    if let Some(item) = e.item() {
        out = out.for_item(item);
    }
    out
}

/// The template item of an `items.jsonl` line: the preview variant's fields
/// and the template.
///
/// # Errors
/// As [`Template::parse`].
pub(crate) fn template_item(base: Item, kind: ItemType, spec: &Json) -> Result<Item> {
    Template::parse(&base.question, kind, spec)?.into_item(base)
}

impl Template {
    /// The template item with `base`'s id, type, tolerances and labels: its
    /// ordinary fields hold the preview variant (drawn from seed 0).
    ///
    /// # Errors
    /// As [`Template::draw`].
    pub fn into_item(self, base: Item) -> Result<Item> {
        let base = Item {
            kind: self.kind,
            ..base
        };
        let preview = self.draw(&base, 0, &UsedVariants::default())?;
        Ok(Item {
            template: Some(Arc::new(self)),
            ..preview.item
        })
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
