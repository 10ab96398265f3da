//! Reading a template: the `template` object's slots, tables, `let`s,
//! conditions, answer and choices, and the question's placeholders, with
//! the checks made when an item bank is loaded.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value as Json};

use super::{Choices, LOAD_SAMPLE, Piece, Slot, Template};
use crate::bank::content::ItemType;
use crate::bank::content_parse::json_kind;
use crate::bank::template_expr::{Expr, Func, Table, Value, format_number};
use crate::error::{Error, Result};
use crate::prompt::braces::{BraceError, Braced, split_braces};

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
        let tables = parse_tables(obj)?;
        let lets_src = parse_lets(obj)?;
        check_definitions(&slots, &lets_src, &tables)?;
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
        let choices = parse_choices(kind, obj)?;
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
        template.check_draws(LOAD_SAMPLE)?;
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
}

/// The `tables` of a template object: lists or objects of values.
fn parse_tables(obj: &Map<String, Json>) -> Result<BTreeMap<String, Table>> {
    match obj.get("tables") {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
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
            .collect(),
        Some(other) => Err(Error::value(format!(
            "template.tables must be an object, found {}",
            json_kind(other)
        ))),
    }
}

/// The `let`s of a template object, before `order_lets` orders them.
fn parse_lets(obj: &Map<String, Json>) -> Result<Vec<(String, Expr)>> {
    match obj.get("let") {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(m)) => m
            .iter()
            .map(|(name, v)| match v {
                Json::String(s) => Ok((name.clone(), expr_at(s, &format!("let '{name}'"))?)),
                other => Err(Error::value(format!(
                    "let '{name}' must be an expression text, found {}",
                    json_kind(other)
                ))),
            })
            .collect(),
        Some(other) => Err(Error::value(format!(
            "template.let must be an object, found {}",
            json_kind(other)
        ))),
    }
}

/// Every slot, `let` and table name is a name an expression can read,
/// and none is defined twice.
fn check_definitions(
    slots: &BTreeMap<String, Slot>,
    lets_src: &[(String, Expr)],
    tables: &BTreeMap<String, Table>,
) -> Result<()> {
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
    Ok(())
}

/// How a template of type `kind` makes its choices.
fn parse_choices(kind: ItemType, obj: &Map<String, Json>) -> Result<Choices> {
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
    match (kind, parse_list("distractors")?, parse_list("choices")?) {
        (ItemType::MultipleChoice, Some(d), None) => Ok(Choices::Distractors(d)),
        (ItemType::MultipleChoice, None, Some(c)) => Ok(Choices::Fixed(c)),
        (ItemType::MultipleChoice, Some(_), Some(_)) => Err(Error::value(
            "give template.distractors or template.choices, not both",
        )),
        (ItemType::MultipleChoice, None, None) => Err(Error::value(
            "a multiple_choice template needs template.distractors or template.choices",
        )),
        (ItemType::Numeric | ItemType::Exact, None, None) => Ok(Choices::None),
        (ItemType::Numeric | ItemType::Exact, _, _) => Err(Error::value(format!(
            "distractors and choices are only for multiple_choice templates, not '{kind}'"
        ))),
        (ItemType::Regex, _, _) => Err(Error::value(
            "templates are multiple_choice, numeric or exact, not regex",
        )),
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

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}
