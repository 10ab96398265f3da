//! The JSON parameter file, format `fangsheng-params/1`.
//!
//! This is the form calibration writes and everything else reads: one JSON
//! object with the format tag, the file's metadata and the items.
//!
//! ```json
//! {
//!   "format": "fangsheng-params/1",
//!   "metadata": {
//!     "bank": "mmlu-pro",
//!     "version": "v1",
//!     "scale": {"mean": 0, "sd": 1},
//!     "provenance": {
//!       "seed": 42,
//!       "software": "fangsheng 0.1.0"
//!     }
//!   },
//!   "items": [
//!     {"id": "q1", "model": "2pl", "a": 1.2, "b": -0.3, "se": {"a": 0.1, "b": 0.05}},
//!     {"id": "q2", "model": "3pl", "a": 1, "b": 0.4, "g": 0.2},
//!     {"id": "q3", "model": "4pl", "a": 1, "b": 0.4, "g": 0.2, "u": 0.95},
//!     {"id": "q4", "model": "rasch", "b": 0.7},
//!     {"id": 17, "model": "1pl", "a": 0.9, "b": -1.1},
//!     {"id": "q5", "model": "grm", "a": 1.1, "thresholds": [-1, 0.2, 1.4], "se": {"a": 0.1, "thresholds": [0.2, 0.1, 0.2]}}
//!   ]
//! }
//! ```
//!
//! # Top level
//! * `format` (required): the string `"fangsheng-params/1"`. Any other value
//!   is refused, naming the value found and the one expected, so a file
//!   from a later format version is never half-read.
//! * `metadata` (optional, default: no bank or version, scale N(0, 1)):
//!   [`Metadata`] — `bank` and `version` (strings),
//!   `scale` (`mean`, `sd` of the calibration population's ability; `sd > 0`)
//!   and `provenance`, a free-form object (source runs, software, seed, fit,
//!   parent version). Other metadata keys are dropped with a warning: put
//!   free-form data under `provenance`.
//! * `items` (required): an array of item objects, in bank order.
//!
//! Other top-level keys are ignored with a warning.
//!
//! # Items
//! Every item has an `id` (a string, or an integer such as MMLU-Pro's
//! question ids, stored as its decimal text) unique in the file, and a
//! `model`: `rasch`, `1pl`, `2pl`, `3pl`, `4pl` or `grm` (see
//! [`ModelKind`]). The parameters are those of
//! [`Logistic`](crate::model::Logistic) and [`Graded`](crate::model::Graded):
//!
//! | model | required | optional (default) | must not appear |
//! |---|---|---|---|
//! | `rasch` | `b` | `a` (1, and must be 1) | `g` ≠ 0, `u` ≠ 1, `thresholds` |
//! | `1pl`, `2pl` | `a`, `b` | `g` (0, must be 0), `u` (1, must be 1) | `thresholds` |
//! | `3pl` | `a`, `b` | `g` (0), `u` (1, must be 1) | `thresholds` |
//! | `4pl` | `a`, `b` | `g` (0), `u` (1) | `thresholds` |
//! | `grm` | `a`, `thresholds` | | `b`, `g`, `u` |
//!
//! mirt's slope-intercept spelling is accepted on input: `d` instead of `b`
//! for dichotomous items (`P = g + (u - g) / (1 + exp(-(a theta + d)))`, so
//! `b = -d / a`) and `intercepts` instead of `thresholds` for graded items
//! (`b_k = -d_k / a`). Giving both spellings is an error. Files are always
//! written in the `b` form.
//!
//! `se` (optional) holds standard errors under the parameter names: `a`,
//! `b`, `g`, `u` for dichotomous items, `a` and `thresholds` (an array as
//! long as the thresholds, `null` where unknown) for graded items. Absent
//! entries are unknown (`NaN` in [`ItemParams::se`](crate::bank::ItemParams::se),
//! which is aligned with `irf.params()`), and only known ones are written.
//! Standard errors of `d` or `intercepts` cannot be converted without their
//! covariance with `a`, so they are dropped with a warning.
//!
//! A field whose value is `null` counts as absent. Other item keys are
//! ignored with a warning.
//!
//! # Checks on load
//! Each error names the file, the line the offending value starts on and
//! the item id:
//! * JSON syntax, a duplicate key, a number outside the `f64` range, a
//!   missing `format`/`items`, a missing required field or a field the model
//!   does not have: [`ErrorKind::Format`](crate::ErrorKind::Format);
//! * a wrong type (a string where a number belongs), an unknown model name,
//!   a non-positive scale `sd`: [`ErrorKind::Value`](crate::ErrorKind::Value);
//! * `a <= 0`, asymptotes outside `0 <= g < u <= 1`, thresholds not strictly
//!   increasing, a graded item with an empty threshold list, a fixed
//!   parameter given another value, a negative standard error:
//!   [`ErrorKind::Param`](crate::ErrorKind::Param);
//! * an id that appears twice: [`ErrorKind::Item`](crate::ErrorKind::Item).
//!
//! Warnings (in [`Loaded::warnings`](crate::bank::Loaded::warnings)), not
//! errors: `a > 10`, 1PL items with different slopes, ignored fields, a file
//! with no items.
//!
//! # Output
//! [`ParamSet::to_json_string`] writes the layout above: keys in a fixed
//! order (`provenance` keys sorted), one item per line, numbers in Rust's
//! shortest round-trip form (`format!("{}")`, or `"{:e}"` below `1e-5`
//! and from `1e16` in magnitude), and a final newline. Reading a written file
//! gives back exactly the same `f64` values, so writing it again gives the
//! same bytes.
//!
//! ```
//! use std::path::Path;
//! use fangsheng::bank::ParamSet;
//!
//! let text = r#"{"format": "fangsheng-params/1", "items": [
//!   {"id": 7, "model": "2pl", "a": 1.5, "d": -0.75},
//!   {"id": "q2", "model": "grm", "a": 1.1, "thresholds": [-1.0, 0.2, 1.4]}
//! ]}"#;
//! let loaded = ParamSet::from_json_str(text, Path::new("params.json")).unwrap();
//! assert!(loaded.warnings.is_empty());
//! let set = loaded.params;
//! assert_eq!(set.get("7").unwrap().irf.params(), vec![1.5, 0.5, 0.0, 1.0]);
//! # use fangsheng::model::ResponseModel;
//! assert_eq!(set.to_json_string(), "\
//! {
//!   \"format\": \"fangsheng-params/1\",
//!   \"metadata\": {
//!     \"scale\": {\"mean\": 0, \"sd\": 1}
//!   },
//!   \"items\": [
//!     {\"id\": \"7\", \"model\": \"2pl\", \"a\": 1.5, \"b\": 0.5},
//!     {\"id\": \"q2\", \"model\": \"grm\", \"a\": 1.1, \"thresholds\": [-1, 0.2, 1.4]}
//!   ]
//! }
//! ");
//! ```

use std::path::Path;
use std::str::FromStr;

use super::fields::{self, Located, RawItem, RawSe};
use super::files::format_number;
use super::json_text::{self, Json, Node, write_string, write_value};
use super::{FORMAT, ItemParams, Loaded, Metadata, ParamSet};
use crate::error::{Error, Result};
use crate::model::{Irf, ModelKind};

const METADATA_KEYS: [&str; 4] = ["bank", "version", "scale", "provenance"];

impl ParamSet {
    /// Reads a JSON parameter file's text; `source` names it in errors and
    /// warnings. The format is described in [`crate::bank::json`].
    ///
    /// # Errors
    /// The first problem found, naming `source`, the line and the item; see
    /// [the checks](crate::bank::json#checks-on-load).
    pub fn from_json_str(text: &str, source: &Path) -> Result<Loaded> {
        let root = json_text::parse(text).map_err(|e| e.in_file(source))?;
        let at = |e: Error, node: &Node| e.at_line(node.line).in_file(source);
        let Json::Object(top) = &root.value else {
            return Err(at(
                Error::format(format!(
                    "a parameter file is a JSON object, found {}",
                    root.type_name()
                )),
                &root,
            ));
        };
        let get = |key: &str| top.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        match get("format") {
            None => {
                return Err(at(
                    Error::format(format!("no \"format\" key (expected \"{FORMAT}\")")),
                    &root,
                ));
            }
            Some(Node {
                value: Json::String(f),
                ..
            }) if f == FORMAT => {}
            Some(node) => {
                let found = match &node.value {
                    Json::String(s) => format!("\"{s}\""),
                    _ => node.type_name().to_owned(),
                };
                return Err(at(
                    Error::format(format!(
                        "format is {found}, but this version reads \"{FORMAT}\""
                    )),
                    node,
                ));
            }
        }
        let mut warnings = Vec::new();
        for (k, node) in top {
            if !["format", "metadata", "items"].contains(&k.as_str()) {
                warnings.push(fields::warning(
                    source,
                    Some(node.line),
                    None,
                    &format!("key \"{k}\" is not part of the format and is ignored"),
                ));
            }
        }
        let metadata = match get("metadata") {
            None => Metadata::default(),
            Some(node) => metadata(node, source, &mut warnings).map_err(|e| at(e, node))?,
        };
        let Some(items_node) = get("items") else {
            return Err(at(Error::format("no \"items\" key"), &root));
        };
        let Json::Array(nodes) = &items_node.value else {
            return Err(at(
                Error::format(format!(
                    "\"items\" must be an array, found {}",
                    items_node.type_name()
                )),
                items_node,
            ));
        };
        let mut items = Vec::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            let raw = raw_item(node, index, source, &mut warnings).map_err(|e| at(e, node))?;
            items.push(Located {
                line: node.line,
                raw,
            });
        }
        fields::build_set(items, metadata, source, warnings)
    }

    /// The set as JSON text in the layout of [`crate::bank::json`]: stable key
    /// order, one item per line, shortest round-trip numbers, final newline.
    pub fn to_json_string(&self) -> String {
        let mut out = String::with_capacity(128 + 96 * self.len());
        out.push_str("{\n  \"format\": ");
        write_string(&mut out, FORMAT);
        out.push_str(",\n  \"metadata\": ");
        write_metadata(&mut out, self.metadata());
        out.push_str(",\n  \"items\": [");
        for (i, item) in self.items().iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            write_item(&mut out, item);
        }
        if !self.is_empty() {
            out.push_str("\n  ");
        }
        out.push_str("]\n}\n");
        out
    }
}

fn metadata(node: &Node, source: &Path, warnings: &mut Vec<String>) -> Result<Metadata> {
    let Json::Object(fields) = &node.value else {
        return Err(Error::format(format!(
            "\"metadata\" must be an object, found {}",
            node.type_name()
        )));
    };
    for (k, v) in fields {
        if !METADATA_KEYS.contains(&k.as_str()) {
            warnings.push(fields::warning(
                source,
                Some(v.line),
                None,
                &format!(
                    "metadata key \"{k}\" is not part of the format and is dropped \
                     (free-form data goes under \"provenance\")"
                ),
            ));
        }
    }
    let m: Metadata = serde_json::from_value(node.to_value())
        .map_err(|e| Error::format(format!("\"metadata\": {e}")))?;
    let s = m.scale;
    if s.sd <= 0.0 || !s.sd.is_finite() {
        return Err(Error::value(format!(
            "metadata scale sd must be positive, got {}",
            s.sd
        )));
    }
    Ok(m)
}

/// Reads one item object's fields; positions of field errors are the
/// field's line, the caller adds the item's.
fn raw_item(
    node: &Node,
    index: usize,
    source: &Path,
    warnings: &mut Vec<String>,
) -> Result<RawItem> {
    let Json::Object(fields) = &node.value else {
        return Err(Error::format(format!(
            "items[{index}] must be an object, found {}",
            node.type_name()
        )));
    };
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| v.value != Json::Null)
    };
    let id = match get("id") {
        None => {
            return Err(Error::format(format!("items[{index}] has no \"id\"")));
        }
        Some(n) => match &n.value {
            Json::String(s) if !s.trim().is_empty() => s.clone(),
            Json::Number(t) if t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok() => t.clone(),
            _ => {
                return Err(Error::value(format!(
                    "items[{index}]: \"id\" must be a non-empty string or an integer, found {}",
                    describe(n)
                ))
                .at_line(n.line));
            }
        },
    };
    let with_id = |e: Error| e.for_item(id.as_str());
    let kind = match get("model") {
        None => None,
        Some(n) => match &n.value {
            Json::String(s) => {
                Some(ModelKind::from_str(s).map_err(|e| with_id(e.at_line(n.line)))?)
            }
            _ => {
                return Err(with_id(
                    Error::value(format!(
                        "\"model\" must be a string, found {}",
                        n.type_name()
                    ))
                    .at_line(n.line),
                ));
            }
        },
    };
    let num = |key: &str| get(key).map(|n| number(n, key)).transpose();
    let list = |key: &str| {
        get(key)
            .map(|n| {
                array(n, key)?
                    .iter()
                    .map(|x| number(x, key))
                    .collect::<Result<Vec<f64>>>()
            })
            .transpose()
    };
    let mut raw = RawItem {
        id: id.clone(),
        kind,
        a: num("a").map_err(with_id)?,
        b: num("b").map_err(with_id)?,
        d: num("d").map_err(with_id)?,
        g: num("g").map_err(with_id)?,
        u: num("u").map_err(with_id)?,
        thresholds: list("thresholds").map_err(with_id)?,
        intercepts: list("intercepts").map_err(with_id)?,
        se: None,
    };
    if let Some(se) = get("se") {
        raw.se = Some(raw_se(se, &id, source, warnings).map_err(with_id)?);
    }
    const KNOWN: [&str; 10] = [
        "id",
        "model",
        "a",
        "b",
        "d",
        "g",
        "u",
        "thresholds",
        "intercepts",
        "se",
    ];
    for (k, v) in fields {
        if !KNOWN.contains(&k.as_str()) {
            warnings.push(fields::warning(
                source,
                Some(v.line),
                Some(&id),
                &format!("key \"{k}\" is not part of the format and is ignored"),
            ));
        }
    }
    Ok(raw)
}

fn raw_se(node: &Node, id: &str, source: &Path, warnings: &mut Vec<String>) -> Result<RawSe> {
    let Json::Object(fields) = &node.value else {
        return Err(Error::value(format!(
            "\"se\" must be an object, found {}",
            node.type_name()
        ))
        .at_line(node.line));
    };
    let mut se = RawSe::default();
    for (k, v) in fields {
        if v.value == Json::Null {
            continue;
        }
        let name = format!("se.{k}");
        match k.as_str() {
            "a" => se.a = Some(number(v, &name)?),
            "b" => se.b = Some(number(v, &name)?),
            "g" => se.g = Some(number(v, &name)?),
            "u" => se.u = Some(number(v, &name)?),
            "thresholds" => {
                se.thresholds = Some(
                    array(v, &name)?
                        .iter()
                        .map(|x| match x.value {
                            Json::Null => Ok(None),
                            _ => number(x, &name).map(Some),
                        })
                        .collect::<Result<_>>()?,
                );
            }
            "d" | "intercepts" => warnings.push(fields::warning(
                source,
                Some(v.line),
                Some(id),
                &format!(
                    "standard errors of slope-intercept \"{k}\" are ignored: converting \
                     them to the difficulty form needs their covariance with a"
                ),
            )),
            _ => warnings.push(fields::warning(
                source,
                Some(v.line),
                Some(id),
                &format!("key \"se.{k}\" is not part of the format and is ignored"),
            )),
        }
    }
    Ok(se)
}

fn number(node: &Node, key: &str) -> Result<f64> {
    node.as_f64().ok_or_else(|| {
        Error::value(format!(
            "\"{key}\" must be a number, found {}",
            describe(node)
        ))
        .at_line(node.line)
    })
}

fn array<'a>(node: &'a Node, key: &str) -> Result<&'a [Node]> {
    match &node.value {
        Json::Array(xs) => Ok(xs),
        _ => Err(Error::value(format!(
            "\"{key}\" must be an array of numbers, found {}",
            describe(node)
        ))
        .at_line(node.line)),
    }
}

/// A value's type, and the value itself when it is short text or a number.
fn describe(node: &Node) -> String {
    match &node.value {
        Json::String(s) if s.chars().count() <= 40 => format!("the string \"{s}\""),
        Json::Number(t) => format!("the number {t}"),
        _ => node.type_name().to_owned(),
    }
}

fn write_metadata(out: &mut String, m: &Metadata) {
    out.push_str("{\n");
    if let Some(bank) = &m.bank {
        out.push_str("    \"bank\": ");
        write_string(out, bank);
        out.push_str(",\n");
    }
    if let Some(version) = &m.version {
        out.push_str("    \"version\": ");
        write_string(out, version);
        out.push_str(",\n");
    }
    out.push_str(&format!(
        "    \"scale\": {{\"mean\": {}, \"sd\": {}}}",
        format_number(m.scale.mean),
        format_number(m.scale.sd)
    ));
    if !m.provenance.is_empty() {
        out.push_str(",\n    \"provenance\": ");
        write_value(out, &serde_json::Value::Object(m.provenance.clone()), 4);
    }
    out.push_str("\n  }");
}

fn write_item(out: &mut String, item: &ItemParams) {
    let num = |out: &mut String, key: &str, x: f64| {
        out.push_str(&format!(", \"{key}\": {}", format_number(x)));
    };
    out.push_str("{\"id\": ");
    write_string(out, item.id.as_str());
    out.push_str(&format!(", \"model\": \"{}\"", item.kind));
    let known = |i: usize| item.se.as_ref().map_or(f64::NAN, |se| se[i]);
    let mut se = String::new();
    match &item.irf {
        Irf::Logistic(m) => {
            if item.kind != ModelKind::Rasch {
                num(out, "a", m.a());
            }
            num(out, "b", m.b());
            if matches!(item.kind, ModelKind::ThreePl | ModelKind::FourPl) {
                num(out, "g", m.g());
            }
            if item.kind == ModelKind::FourPl {
                num(out, "u", m.u());
            }
            for (i, key) in ["a", "b", "g", "u"].into_iter().enumerate() {
                if !known(i).is_nan() {
                    num(&mut se, key, known(i));
                }
            }
        }
        Irf::Graded(m) => {
            num(out, "a", m.a());
            out.push_str(", \"thresholds\": ");
            write_list(out, m.thresholds().iter().copied());
            if !known(0).is_nan() {
                num(&mut se, "a", known(0));
            }
            let k = m.thresholds().len();
            if (1..=k).any(|i| !known(i).is_nan()) {
                se.push_str(", \"thresholds\": ");
                write_list(&mut se, (1..=k).map(known));
            }
        }
    }
    if !se.is_empty() {
        // `se` holds ", \"a\": ..." pieces; drop the first separator.
        out.push_str(&format!(", \"se\": {{{}}}", &se[2..]));
    }
    out.push('}');
}

/// Writes `[x1, x2, ...]`, with `null` for `NaN` (an unknown standard error).
fn write_list(out: &mut String, xs: impl Iterator<Item = f64>) {
    out.push('[');
    for (i, x) in xs.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if x.is_nan() {
            out.push_str("null");
        } else {
            out.push_str(&format_number(x));
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::model::ResponseModel;
    use rand::{Rng, SeedableRng};

    fn load(text: &str) -> Result<Loaded> {
        ParamSet::from_json_str(text, Path::new("p.json"))
    }

    fn doc(items: &str) -> String {
        format!("{{\"format\": \"{FORMAT}\", \"items\": [\n{items}\n]}}")
    }

    #[test]
    fn random_sets_round_trip_exactly() {
        // Full-precision doubles, which the default serde_json parser would
        // misread about one time in ten.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let mut items = Vec::new();
            for j in 0..20 {
                let a = rng.random_range(0.2..3.0);
                let b = rng.random_range(-3.0..3.0);
                let (kind, irf): (ModelKind, Irf) = match j % 3 {
                    0 => (
                        ModelKind::TwoPl,
                        crate::model::Logistic::two_pl(a, b).unwrap().into(),
                    ),
                    1 => {
                        let g = rng.random_range(0.0..0.3);
                        let u = rng.random_range(0.8..1.0);
                        let m = crate::model::Logistic::new(a, b, g, u).unwrap();
                        (ModelKind::FourPl, m.into())
                    }
                    _ => {
                        let t = vec![b - 1.0, b, b + rng.random_range(0.1..1.0)];
                        (
                            ModelKind::Graded,
                            crate::model::Graded::new(a, t).unwrap().into(),
                        )
                    }
                };
                let n = irf.params().len();
                let se = (0..n).map(|_| rng.random_range(1e-9..0.5)).collect();
                items.push(ItemParams {
                    id: format!("i{j}").into(),
                    kind,
                    irf,
                    se: Some(se),
                });
            }
            let mut meta = Metadata::default();
            meta.scale.sd = rng.random_range(0.5..2.0);
            meta.provenance
                .insert("loglik".into(), rng.random_range(-1e5..0.0).into());
            let set = ParamSet::new(items, meta).unwrap();
            let text = set.to_json_string();
            let back = load(&text).unwrap();
            assert!(back.warnings.is_empty());
            assert_eq!(back.params, set);
            assert_eq!(back.params.to_json_string(), text);
        }
    }

    #[test]
    fn integer_ids_are_kept_as_text() {
        let l = load(&doc(
            r#"{"id": 12345678901234567890, "model": "rasch", "b": 0}"#,
        ))
        .unwrap();
        assert_eq!(l.params.items()[0].id.as_str(), "12345678901234567890");
        let e = load(&doc(r#"{"id": 1.5, "model": "rasch", "b": 0}"#)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Value);
        assert!(e.message().contains("the number 1.5"), "{e}");
    }

    #[test]
    fn field_errors_point_at_the_field_line() {
        let e = load(&doc(
            "{\"id\": \"q1\", \"model\": \"2pl\",\n \"a\": \"high\", \"b\": 0}",
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Value);
        assert_eq!((e.line(), e.item()), (Some(3), Some("q1")));
        assert_eq!(
            e.to_string(),
            "p.json:3: item 'q1': \"a\" must be a number, found the string \"high\""
        );
    }

    #[test]
    fn null_fields_count_as_absent() {
        let l = load(&doc(
            r#"{"id": "q", "model": "3pl", "a": 1, "b": 0, "g": null, "se": {"a": null}}"#,
        ))
        .unwrap();
        assert_eq!(l.params.items()[0].irf.params(), vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(l.params.items()[0].se, None);
    }

    #[test]
    fn unknown_keys_and_intercept_errors_warn() {
        let l = load(&format!(
            "{{\"format\": \"{FORMAT}\", \"note\": 1, \"metadata\": {{\"owner\": \"x\"}},\n\
             \"items\": [{{\"id\": \"q\", \"model\": \"2pl\", \"a\": 1, \"d\": 0, \"c\": 0.2, \
             \"se\": {{\"d\": 0.1}}}}]}}"
        ))
        .unwrap();
        assert_eq!(l.warnings.len(), 4, "{:?}", l.warnings);
        assert!(
            l.warnings[0].starts_with("p.json:1: key \"note\""),
            "{:?}",
            l.warnings
        );
        assert!(l.warnings.iter().any(|w| w.contains("item 'q': key \"c\"")));
    }

    #[test]
    fn scale_sd_must_be_positive() {
        let e = load(&format!(
            "{{\"format\": \"{FORMAT}\", \"metadata\": {{\"scale\": {{\"mean\": 0, \"sd\": 0}}}}, \"items\": []}}"
        ))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Value);
        assert!(
            e.to_string().starts_with("p.json:1: metadata scale sd"),
            "{e}"
        );
    }
}
