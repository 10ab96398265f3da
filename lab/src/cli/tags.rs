//! Item tags read straight from a source's item file (CSV, or JSON lines
//! such as MMLU-Pro's `items.jsonl.gz`), without importing it as a bank.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use fangsheng::Error;
use fangsheng::cat::Tags;
use fangsheng::ids::ItemId;
use serde_json::Value;

/// Reads item tags from CSV (`id`, category and dimension columns) or JSON
/// lines (one object per item; numbers are read as text ids).
pub(super) fn read_tags(
    path: &Path,
    id_field: &str,
    tag_field: &str,
    dim_field: &str,
) -> anyhow::Result<HashMap<ItemId, Tags>> {
    let text = fangsheng::io::read_to_string(path)?;
    let mut out = HashMap::new();
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if text.trim_start().starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |msg: String| Error::format(msg).at_line(i as u64 + 1).in_file(path);
            let v: Value =
                serde_json::from_str(line).map_err(|e| at(format!("not a JSON object: {e}")))?;
            let id = v
                .get(id_field)
                .and_then(as_text)
                .ok_or_else(|| at(format!("no id field '{id_field}'")))?;
            let mut t = Tags::default();
            if let Some(c) = v.get(tag_field).and_then(as_text) {
                t = t.with("category", c);
            }
            if let Some(d) = v.get(dim_field).and_then(as_text) {
                t = t.with("dimension", d);
            }
            out.insert(ItemId::from(id), t);
        }
    } else {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .with_context(|| format!("{}: cannot read the header", path.display()))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let id_col = col(id_field)
            .with_context(|| format!("{}:1: no column '{id_field}'", path.display()))?;
        let (cat_col, dim_col) = (col(tag_field), col(dim_field));
        for (i, rec) in reader.records().enumerate() {
            let rec =
                rec.with_context(|| format!("{}:{}: malformed row", path.display(), i + 2))?;
            let get = |c: Option<usize>| {
                c.and_then(|c| rec.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let mut t = Tags::default();
            if let Some(c) = get(cat_col) {
                t = t.with("category", c);
            }
            if let Some(d) = get(dim_col) {
                t = t.with("dimension", d);
            }
            out.insert(ItemId::from(rec.get(id_col).unwrap_or("").trim()), t);
        }
    }
    Ok(out)
}
