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

mod draw;
mod parse;
mod variants;

pub use draw::Draw;
pub use variants::{UsedVariants, Variant};

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use super::content::{Item, ItemType};
use super::template_expr::{Expr, Table, Value};
use crate::error::Result;

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

impl Template {
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

/// The template item of an `items.jsonl` line: the preview variant's fields
/// and the template.
///
/// # Errors
/// As [`Template::parse`].
pub(crate) fn template_item(base: Item, kind: ItemType, spec: &Json) -> Result<Item> {
    Template::parse(&base.question, kind, spec)?.into_item(base)
}

#[cfg(test)]
mod tests;
