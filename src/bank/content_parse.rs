//! Reading and writing `items.jsonl` lines: one JSON object per item, checked
//! field by field so that every problem names its line and field.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::content::{Item, ItemType, letter, letter_index};
use crate::error::{Error, ErrorKind, Result};

/// The fields an item line may have.
pub(crate) const FIELDS: [&str; 12] = [
    "id",
    "question",
    "choices",
    "answer",
    "type",
    "tolerance",
    "rel_tolerance",
    "category",
    "dimension",
    "tags",
    "meta",
    "template",
];

/// Parses every non-blank line of `text` (the content of `file`): the items
/// of the good lines, and one error per bad line naming `file:line`.
/// A repeated id is an error on the later line.
pub(crate) fn parse_lines(text: &str, file: &Path) -> (Vec<Item>, Vec<Error>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| Error::format(format!("not valid JSON: {e}")))
            .and_then(|v| parse_value(&v));
        match parsed {
            Ok(item) => {
                if let Some(first) = seen.get(item.id.as_str()) {
                    problems.push(
                        Error::new(
                            ErrorKind::Item,
                            format!("id appears again (first on line {first})"),
                        )
                        .for_item(item.id.as_str())
                        .at_line(line_no)
                        .in_file(file),
                    );
                } else {
                    seen.insert(item.id.as_str().to_owned(), line_no);
                    items.push(item);
                }
            }
            Err(e) => problems.push(e.at_line(line_no).in_file(file)),
        }
    }
    (items, problems)
}

/// Turns one parsed line into a checked item.
///
/// The `type` may be left out: it is then `multiple_choice` when there are
/// choices, `numeric` when the answer is a JSON number, else `exact`. A
/// multiple-choice answer is a letter (either case) or, failing that, the
/// exact text of one of the choices.
pub(crate) fn parse_value(value: &Value) -> Result<Item> {
    let Value::Object(obj) = value else {
        return Err(Error::format(format!(
            "expected a JSON object, found {}",
            json_kind(value)
        )));
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => return Err(Error::format("missing field 'id'")),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(other) => {
            return Err(Error::value(format!(
                "field 'id' must be a string or an integer, found {}",
                json_kind(other)
            )));
        }
    };
    let located = |e: Error| e.for_item(id.as_str());
    parse_fields(obj, &id).map_err(located)
}

fn parse_fields(obj: &Map<String, Value>, id: &str) -> Result<Item> {
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Error::format(format!(
            "unknown field '{unknown}' (known: {}; put other data under 'meta')",
            FIELDS.join(", ")
        )));
    }
    let question = required_string(obj, "question")?;
    if let Some(spec) = obj.get("template").filter(|v| !v.is_null()) {
        return parse_template(obj, id, question, spec);
    }
    let choices = match obj.get("choices") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(Error::value(format!(
                    "choice {} is {}, not a string",
                    i + 1,
                    json_kind(other)
                ))),
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::value(format!(
                "field 'choices' must be a list of strings, found {}",
                json_kind(other)
            )));
        }
    };
    let (answer, answer_is_number) = match obj.get("answer") {
        None | Some(Value::Null) => return Err(Error::format("missing field 'answer'")),
        Some(Value::String(s)) => (s.trim().to_owned(), false),
        Some(Value::Number(n)) => (n.to_string(), true),
        Some(other) => {
            return Err(Error::value(format!(
                "field 'answer' must be a string or a number, found {}",
                json_kind(other)
            )));
        }
    };
    let kind = match optional_string(obj, "type")? {
        Some(name) => ItemType::parse(&name)?,
        None if !choices.is_empty() => ItemType::MultipleChoice,
        None if answer_is_number => ItemType::Numeric,
        None => ItemType::Exact,
    };
    let answer = if kind == ItemType::MultipleChoice {
        choice_letter(&answer, &choices)
    } else {
        answer
    };
    let tags = string_list(obj, "tags")?;
    let meta = meta_map(obj)?;
    let item = Item {
        id: id.into(),
        question,
        choices,
        answer,
        kind,
        tolerance: optional_number(obj, "tolerance")?,
        rel_tolerance: optional_number(obj, "rel_tolerance")?,
        category: optional_string(obj, "category")?,
        dimension: optional_string(obj, "dimension")?,
        tags,
        meta,
        template: None,
    };
    item.check()?;
    Ok(item)
}

/// A template line: no `answer` or `choices` of its own (the template
/// computes them), the type given or, with distractors or choices in the
/// template, inferred as multiple choice.
fn parse_template(
    obj: &Map<String, Value>,
    id: &str,
    question: String,
    spec: &Value,
) -> Result<Item> {
    for field in ["answer", "choices"] {
        if obj.get(field).is_some_and(|v| !v.is_null()) {
            return Err(Error::value(format!(
                "a template computes its {field}: give it as template.{field}{}, not as '{field}'",
                if field == "choices" {
                    " or template.distractors"
                } else {
                    ""
                }
            )));
        }
    }
    let kind = match optional_string(obj, "type")? {
        Some(name) => ItemType::parse(&name)?,
        None if spec.get("distractors").is_some() || spec.get("choices").is_some() => {
            ItemType::MultipleChoice
        }
        None => {
            return Err(Error::value(
                "a template needs its 'type' (multiple_choice, numeric or exact)",
            ));
        }
    };
    let base = Item {
        id: id.into(),
        question,
        choices: Vec::new(),
        answer: String::new(),
        kind,
        tolerance: optional_number(obj, "tolerance")?,
        rel_tolerance: optional_number(obj, "rel_tolerance")?,
        category: optional_string(obj, "category")?,
        dimension: optional_string(obj, "dimension")?,
        tags: string_list(obj, "tags")?,
        meta: meta_map(obj)?,
        template: None,
    };
    super::template::template_item(base, kind, spec)
}

/// The key letter for a multiple-choice answer: the letter itself (upper-
/// cased), or the letter of the choice whose text equals the answer. Anything
/// else is returned unchanged for [`Item::check`] to reject.
fn choice_letter(answer: &str, choices: &[String]) -> String {
    let mut chars = answer.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if letter_index(c).is_some_and(|i| i < choices.len()) {
            return c.to_ascii_uppercase().to_string();
        }
    }
    match choices.iter().position(|c| c.trim() == answer) {
        Some(i) if i < super::content::MAX_CHOICES => letter(i).to_string(),
        _ => answer.to_owned(),
    }
}

fn string_list(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(Error::value(format!(
                    "field '{field}' must be a list of strings, found {} in it",
                    json_kind(other)
                ))),
            })
            .collect(),
        Some(other) => Err(Error::value(format!(
            "field '{field}' must be a list of strings, found {}",
            json_kind(other)
        ))),
    }
}

fn meta_map(obj: &Map<String, Value>) -> Result<Map<String, Value>> {
    match obj.get("meta") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(Error::value(format!(
            "field 'meta' must be an object, found {}",
            json_kind(other)
        ))),
    }
}

fn required_string(obj: &Map<String, Value>, field: &str) -> Result<String> {
    match optional_string(obj, field)? {
        Some(s) => Ok(s),
        None if obj.get(field).is_some_and(|v| !v.is_null()) => {
            Err(Error::value(format!("field '{field}' is empty")))
        }
        None => Err(Error::format(format!("missing field '{field}'"))),
    }
}

fn optional_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Some(other) => Err(Error::value(format!(
            "field '{field}' must be a string, found {}",
            json_kind(other)
        ))),
    }
}

fn optional_number(obj: &Map<String, Value>, field: &str) -> Result<Option<f64>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::value(format!(
            "field '{field}' must be a number, found {}",
            json_kind(other)
        ))),
    }
}

/// "a string", "an object", ... for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The item as one `items.jsonl` line (no newline), fields in a fixed order,
/// empty optional fields left out. Numeric answers are written as JSON
/// numbers when their text is one.
pub(crate) fn to_json_line(item: &Item) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        id: &'a str,
        question: &'a str,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        choices: &'a [String],
        #[serde(skip_serializing_if = "Value::is_null")]
        answer: Value,
        #[serde(rename = "type")]
        kind: ItemType,
        #[serde(skip_serializing_if = "Option::is_none")]
        tolerance: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rel_tolerance: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        category: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dimension: Option<&'a str>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        tags: &'a [String],
        #[serde(skip_serializing_if = "Map::is_empty")]
        meta: &'a Map<String, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        template: Option<&'a Value>,
    }
    // A template is written as read: its question with placeholders, no
    // answer or choices (the preview variant's are not part of the file).
    let template = item.template.as_deref();
    let answer = match item.kind {
        _ if template.is_some() => Value::Null,
        ItemType::Numeric => serde_json::from_str::<serde_json::Number>(item.answer.trim())
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(item.answer.clone())),
        _ => Value::String(item.answer.clone()),
    };
    let line = Line {
        id: item.id.as_str(),
        question: template.map_or(&item.question, |t| t.question_source()),
        choices: if template.is_some() {
            &[]
        } else {
            &item.choices
        },
        answer,
        kind: item.kind,
        tolerance: item.tolerance,
        rel_tolerance: item.rel_tolerance,
        category: item.category.as_deref(),
        dimension: item.dimension.as_deref(),
        tags: &item.tags,
        meta: &item.meta,
        template: template.map(|t| t.source()),
    };
    // Serialising plain strings, numbers and maps cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Item> {
        parse_value(&serde_json::from_str(line).unwrap())
    }

    #[test]
    fn type_is_inferred_and_letters_upper_cased() {
        let mc =
            parse(r#"{"id": 7, "question": "q", "choices": ["x", "y"], "answer": "b"}"#).unwrap();
        assert_eq!(
            (mc.id.as_str(), mc.kind, mc.answer.as_str()),
            ("7", ItemType::MultipleChoice, "B")
        );
        let num = parse(r#"{"id": "n", "question": "q", "answer": 2.5}"#).unwrap();
        assert_eq!(num.kind, ItemType::Numeric);
        assert_eq!(num.numeric_answer(), Some(2.5));
        let ex = parse(r#"{"id": "e", "question": "q", "answer": "Paris"}"#).unwrap();
        assert_eq!(ex.kind, ItemType::Exact);
    }

    #[test]
    fn choice_text_answer_becomes_its_letter() {
        let mc =
            parse(r#"{"id": 1, "question": "q", "choices": ["red", "blue"], "answer": "blue"}"#)
                .unwrap();
        assert_eq!(mc.key_letter(), Some('B'));
        assert_eq!(mc.key_index(), Some(1));
    }

    #[test]
    fn lines_round_trip() {
        let line = r#"{"id":"q1","question":"How far?","answer":12.5,"type":"numeric","tolerance":0.5,"category":"physics","dimension":"application","tags":["a","b"],"meta":{"src":"x"}}"#;
        let item = parse(line).unwrap();
        assert_eq!(to_json_line(&item), line);
        let mc = r#"{"id":"2","question":"Q?","choices":["x","y","z"],"answer":"C","type":"multiple_choice"}"#;
        assert_eq!(to_json_line(&parse(mc).unwrap()), mc);
    }

    #[test]
    fn problems_name_the_field() {
        let cases = [
            (r#"[1, 2]"#, "expected a JSON object, found a list"),
            (r#"{"question": "q", "answer": "a"}"#, "missing field 'id'"),
            (r#"{"id": 1, "answer": "a"}"#, "missing field 'question'"),
            (r#"{"id": 1, "question": "q"}"#, "missing field 'answer'"),
            (
                r#"{"id": 1.5, "question": "q", "answer": "a"}"#,
                "field 'id' must be a string or an integer",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "a", "type": "essay"}"#,
                "unknown type 'essay'",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "a", "colour": 1}"#,
                "unknown field 'colour'",
            ),
            (
                r#"{"id": 1, "question": "q", "choices": ["a", "b"], "answer": "C"}"#,
                "answer 'C' is not among the choices A..B",
            ),
            (
                r#"{"id": 1, "question": "q", "choices": ["a"], "answer": "A"}"#,
                "at least 2 choices",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "x", "type": "numeric"}"#,
                "not a finite number",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "x", "tolerance": 1}"#,
                "tolerances are only for numeric",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": 3, "tolerance": -1}"#,
                "not a finite number >= 0",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "x", "choices": ["a", "b"], "type": "exact"}"#,
                "choices are only for multiple_choice",
            ),
            (
                r#"{"id": 1, "question": "q", "answer": "x", "tags": "t"}"#,
                "field 'tags' must be a list",
            ),
        ];
        for (line, expected) in cases {
            let e = parse(line).unwrap_err();
            assert!(e.to_string().contains(expected), "{line}: {e}");
        }
    }
}
