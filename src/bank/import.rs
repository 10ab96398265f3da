//! Importing a dataset (JSON Lines or CSV, gzipped or not) as an item bank.
//!
//! An [`ImportSpec`] names which of the dataset's fields hold the id,
//! question, choices, answer, category and dimension; every record becomes an
//! [`Item`] checked exactly as a line of `items.jsonl` is, with errors naming
//! the input file and line.
//!
//! ```no_run
//! use std::path::Path;
//! use fangsheng::bank::{ImportSpec, import_to};
//!
//! // MMLU-Pro: {"question_id": 70, "question": "...", "options": [...],
//! //            "answer": "I", "category": "business", ...}
//! let spec = ImportSpec::new("question_id", "question", "answer")
//!     .choices(["options"])
//!     .category("category");
//! let bank = import_to(
//!     Path::new("items.jsonl.gz"),
//!     &spec,
//!     Path::new("item-banks/mmlu-pro"),
//!     true, // items.jsonl.gz
//! )?;
//! assert_eq!(bank.name(), "mmlu-pro");
//! # Ok::<(), fangsheng::Error>(())
//! ```

use std::path::Path;

use serde_json::{Map, Value};

use super::content::{ITEMS_FILE, ITEMS_FILE_GZ, Item, ItemBank, ItemType, MAX_CHOICES, letter};
use super::content_parse::{json_kind, parse_value};
use crate::data::{LineTracked, next_record};
use crate::error::{Error, ErrorKind, Result};

/// The layout of a dataset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line.
    JsonLines,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
}

/// Which dataset fields become which item fields.
///
/// Field names may be dotted paths into nested JSON objects (`meta.id`) when
/// no field has the dotted name itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    /// Field holding the item id (string or integer).
    pub id_field: String,
    /// Field holding the question text.
    pub question_field: String,
    /// One field holding the list of choices (a JSON list; in CSV a cell
    /// holding a JSON list), or several fields, one choice each (empty cells
    /// and nulls are skipped). Empty: no choices.
    pub choices_fields: Vec<String>,
    /// Field holding the answer: a letter, a choice's text, a text or a
    /// number (see [`ImportSpec::answer_index_base`]).
    pub answer_field: String,
    /// Field holding the category, if any.
    pub category_field: Option<String>,
    /// Field holding the dimension, if any.
    pub dimension_field: Option<String>,
    /// Dimension of every item when there is no dimension field (or the
    /// field is empty).
    pub dimension: Option<String>,
    /// Field holding tags: a JSON list, or a text split at `;`.
    pub tags_field: Option<String>,
    /// The type of every item; when not set it is inferred per record as in
    /// `items.jsonl` (choices: multiple choice; a numeric JSON answer:
    /// numeric; else exact).
    pub kind: Option<ItemType>,
    /// Absolute tolerance given to numeric items.
    pub tolerance: Option<f64>,
    /// When set, the answer field holds the correct choice's position,
    /// counted from this base (0 or 1), instead of its letter.
    pub answer_index_base: Option<usize>,
    /// Fields copied into each item's `meta`.
    pub keep_fields: Vec<String>,
    /// The input layout; `None` decides from the file name (`.csv`, `.tsv`,
    /// else JSON Lines), then from the content (a first character `{` is
    /// JSON Lines).
    pub format: Option<InputFormat>,
}

impl ImportSpec {
    /// A spec with the three required fields and nothing else.
    pub fn new(id_field: &str, question_field: &str, answer_field: &str) -> Self {
        ImportSpec {
            id_field: id_field.to_owned(),
            question_field: question_field.to_owned(),
            choices_fields: Vec::new(),
            answer_field: answer_field.to_owned(),
            category_field: None,
            dimension_field: None,
            dimension: None,
            tags_field: None,
            kind: None,
            tolerance: None,
            answer_index_base: None,
            keep_fields: Vec::new(),
            format: None,
        }
    }

    /// Sets the choices field(s).
    pub fn choices<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.choices_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the category field.
    pub fn category(mut self, field: &str) -> Self {
        self.category_field = Some(field.to_owned());
        self
    }

    /// Sets the dimension field.
    pub fn dimension_field(mut self, field: &str) -> Self {
        self.dimension_field = Some(field.to_owned());
        self
    }

    /// Gives every item this dimension (unless a dimension field has one).
    pub fn dimension(mut self, dimension: &str) -> Self {
        self.dimension = Some(dimension.to_owned());
        self
    }

    /// Sets the type of every item.
    pub fn kind(mut self, kind: ItemType) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Copies these fields into each item's `meta`.
    pub fn keep<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.keep_fields = fields.into_iter().map(Into::into).collect();
        self
    }
}

/// Reads a dataset as a bank named after the input file (its name without
/// extensions). Nothing is written; see [`import_to`].
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be read; for a bad record, the
/// error names the input file and line: a line that is not JSON, a field of
/// the spec the record lacks, a choices field that is not a list, an answer
/// not among the choices, a repeated id, ... All records must import; the
/// first error is returned.
pub fn import(path: &Path, spec: &ImportSpec) -> Result<ItemBank> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.split('.').next().unwrap_or("bank").to_owned();
    let text = crate::io::read_to_string(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let format = spec.format.unwrap_or_else(|| detect(path, text));
    let records = match format {
        InputFormat::JsonLines => json_records(text, path)?,
        InputFormat::Csv => csv_records(text, b',', path)?,
        InputFormat::Tsv => csv_records(text, b'\t', path)?,
    };
    let mut items: Vec<Item> = Vec::with_capacity(records.len());
    let mut seen = std::collections::HashMap::new();
    for (line, record) in records {
        let located = |e: Error| e.at_line(line).in_file(path);
        let item = convert(&record, spec, format).map_err(located)?;
        if let Some(first) = seen.insert(item.id.clone(), line) {
            return Err(Error::new(
                ErrorKind::Item,
                format!("id appears again (first on line {first})"),
            )
            .for_item(item.id.as_str())
            .at_line(line)
            .in_file(path));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(Error::format("no records to import").in_file(path));
    }
    ItemBank::from_items(name, items).map_err(|e| e.in_file(path))
}

/// Imports `path` ([`import`]) as the bank `out_dir` (named after the
/// folder) and writes `out_dir/items.jsonl` atomically, or
/// `out_dir/items.jsonl.gz` when `gzip` is set. The other form, if the
/// folder had it, is removed once the new file is complete, so the folder
/// never holds two versions of the bank.
///
/// # Errors
/// Those of [`import`], or [`ErrorKind::Io`] when writing fails; on any error
/// the folder's existing items file is left as it was.
pub fn import_to(path: &Path, spec: &ImportSpec, out_dir: &Path, gzip: bool) -> Result<ItemBank> {
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bank".into());
    let bank = import(path, spec)?.with_name(name);
    let (written, other) = if gzip {
        (bank.save_gzipped(out_dir)?, out_dir.join(ITEMS_FILE))
    } else {
        (bank.save(out_dir)?, out_dir.join(ITEMS_FILE_GZ))
    };
    if other.is_file() && other != written {
        std::fs::remove_file(&other).map_err(|e| Error::io(&other, e))?;
    }
    Ok(bank)
}

fn detect(path: &Path, text: &str) -> InputFormat {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") {
        InputFormat::Csv
    } else if name.ends_with(".tsv") {
        InputFormat::Tsv
    } else if name.ends_with(".jsonl")
        || name.ends_with(".ndjson")
        || name.ends_with(".json")
        || text.trim_start().starts_with('{')
    {
        InputFormat::JsonLines
    } else {
        InputFormat::Csv
    }
}

/// (line, record) for every non-blank line.
fn json_records(text: &str, path: &Path) -> Result<Vec<(u64, Map<String, Value>)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let located = |e: Error| e.at_line(line_no).in_file(path);
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => out.push((line_no, obj)),
            Ok(other) => {
                return Err(located(Error::format(format!(
                    "expected a JSON object, found {}",
                    json_kind(&other)
                ))));
            }
            Err(e) => return Err(located(Error::format(format!("not valid JSON: {e}")))),
        }
    }
    Ok(out)
}

/// (line, record) per CSV row, every cell a JSON string.
fn csv_records(text: &str, delimiter: u8, path: &Path) -> Result<Vec<(u64, Map<String, Value>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(LineTracked::new(text.as_bytes()));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::format(format!("bad header: {e}")).in_file(path))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut out = Vec::new();
    let mut row = csv::StringRecord::new();
    while let Some(line) = next_record(&mut reader, &mut row).map_err(|(e, line)| {
        Error::format(format!("bad CSV row: {e}"))
            .at_line(line.unwrap_or(0))
            .in_file(path)
    })? {
        let obj = header
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.clone(), Value::String(v.to_owned())))
            .collect();
        out.push((line, obj));
    }
    Ok(out)
}

/// The value of `field` in `record`: the field itself, else a dotted path.
fn lookup<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    if let Some(v) = record.get(field) {
        return Some(v);
    }
    let mut parts = field.split('.');
    let mut cur = record.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

fn required<'a>(record: &'a Map<String, Value>, field: &str, role: &str) -> Result<&'a Value> {
    match lookup(record, field) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(Error::format(format!(
            "no field '{field}' (the {role} field)"
        ))),
    }
}

/// A cell that may be a string, for the optional text fields.
fn optional_text(record: &Map<String, Value>, field: Option<&str>) -> Result<Option<Value>> {
    let Some(field) = field else { return Ok(None) };
    match lookup(record, field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(Value::String(s.clone()))),
        Some(Value::Number(n)) => Ok(Some(Value::String(n.to_string()))),
        Some(other) => Err(Error::value(format!(
            "field '{field}' must be a string, found {}",
            json_kind(other)
        ))),
    }
}

fn convert(record: &Map<String, Value>, spec: &ImportSpec, format: InputFormat) -> Result<Item> {
    let id = required(record, &spec.id_field, "id")?.clone();
    let item_id = match &id {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    convert_fields(record, spec, format, id).map_err(|e| e.for_item(item_id))
}

fn convert_fields(
    record: &Map<String, Value>,
    spec: &ImportSpec,
    format: InputFormat,
    id: Value,
) -> Result<Item> {
    let mut out = Map::new();
    out.insert("id".into(), id);
    out.insert(
        "question".into(),
        required(record, &spec.question_field, "question")?.clone(),
    );
    let choices = choices(record, spec, format)?;
    let mut answer = required(record, &spec.answer_field, "answer")?.clone();
    if let Some(base) = spec.answer_index_base {
        answer = Value::String(index_letter(&answer, base, choices.len())?);
    }
    if format != InputFormat::JsonLines && spec.kind.is_none() && choices.is_empty() {
        // CSV cells are all text: a cell that reads as a number is a
        // numeric answer, as a JSON number would be.
        if let Value::String(s) = &answer {
            if let Ok(n) = serde_json::from_str::<serde_json::Number>(s.trim()) {
                answer = Value::Number(n);
            }
        }
    }
    out.insert("answer".into(), answer);
    if !choices.is_empty() {
        out.insert("choices".into(), Value::Array(choices));
    }
    if let Some(kind) = spec.kind {
        out.insert("type".into(), Value::String(kind.as_str().into()));
    }
    if let Some(c) = optional_text(record, spec.category_field.as_deref())? {
        out.insert("category".into(), c);
    }
    let dimension = optional_text(record, spec.dimension_field.as_deref())?
        .or_else(|| spec.dimension.clone().map(Value::String));
    if let Some(d) = dimension {
        out.insert("dimension".into(), d);
    }
    if let Some(field) = &spec.tags_field {
        let tags = match lookup(record, field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(Value::String(s)) => s
                .split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_owned()))
                .collect(),
            Some(other) => {
                return Err(Error::value(format!(
                    "tags field '{field}' must be a list or a text, found {}",
                    json_kind(other)
                )));
            }
        };
        if !tags.is_empty() {
            out.insert("tags".into(), Value::Array(tags));
        }
    }
    let is_numeric = spec.kind == Some(ItemType::Numeric)
        || (spec.kind.is_none() && out.get("choices").is_none() && out["answer"].is_number());
    if let (Some(t), true) = (spec.tolerance, is_numeric) {
        out.insert("tolerance".into(), Value::from(t));
    }
    let mut meta = Map::new();
    for field in &spec.keep_fields {
        if let Some(v) = lookup(record, field) {
            meta.insert(field.clone(), v.clone());
        }
    }
    if !meta.is_empty() {
        out.insert("meta".into(), Value::Object(meta));
    }
    parse_value(&Value::Object(out))
}

fn choices(
    record: &Map<String, Value>,
    spec: &ImportSpec,
    format: InputFormat,
) -> Result<Vec<Value>> {
    match spec.choices_fields.as_slice() {
        [] => Ok(Vec::new()),
        [field] => match required(record, field, "choices")? {
            Value::Array(list) => Ok(list.clone()),
            Value::String(s) if format != InputFormat::JsonLines => {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::Array(list)) => Ok(list),
                    _ => Err(Error::value(format!(
                        "choices field '{field}' does not hold a JSON list; \
                         name one column per choice instead"
                    ))),
                }
            }
            other => Err(Error::value(format!(
                "choices field '{field}' must be a list, found {}",
                json_kind(other)
            ))),
        },
        fields => {
            let mut out = Vec::with_capacity(fields.len());
            for field in fields {
                match lookup(record, field) {
                    None => {
                        return Err(Error::format(format!(
                            "no field '{field}' (a choices field)"
                        )));
                    }
                    Some(Value::Null) => {}
                    Some(Value::String(s)) if s.trim().is_empty() => {}
                    Some(v) => out.push(v.clone()),
                }
            }
            Ok(out)
        }
    }
}

/// The letter of a 0- or 1-based choice index given as a number or text.
fn index_letter(answer: &Value, base: usize, n_choices: usize) -> Result<String> {
    let index = match answer {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    let Some(index) = index else {
        return Err(Error::value(format!(
            "answer {answer} is not a choice index"
        )));
    };
    let pos = (index as usize).checked_sub(base);
    match pos {
        Some(p) if p < n_choices && p < MAX_CHOICES => Ok(letter(p).to_string()),
        _ => Err(Error::value(format!(
            "answer index {index} (counted from {base}) is not among the {n_choices} choices"
        ))),
    }
}
