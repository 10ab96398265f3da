//! From the fields of one item, as read from JSON or CSV, to a checked
//! [`ItemParams`]; and from all items to a checked [`ParamSet`].
//!
//! Both file forms fill a [`RawItem`] and hand it here, so the two apply the
//! same rules with the same messages: which fields each model needs, which it
//! fixes, the slope-intercept spellings, the standard errors, and the
//! warnings for suspicious values.

use std::collections::HashMap;
use std::path::Path;

use super::{ItemParams, Loaded, Metadata, ParamSet};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Graded, Irf, Logistic, ModelKind};

/// Discriminations above this load with a warning: on the usual logistic
/// metric (no `D = 1.7`) such slopes are almost always an estimation
/// artefact (a Heywood-like case), not a real item.
pub(crate) const A_WARN: f64 = 10.0;

/// One item's fields as found in a file; `None` where a field is absent.
#[derive(Debug, Default)]
pub(crate) struct RawItem {
    pub id: String,
    pub kind: Option<ModelKind>,
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// mirt's intercept `d = -a b` (dichotomous).
    pub d: Option<f64>,
    pub g: Option<f64>,
    pub u: Option<f64>,
    pub thresholds: Option<Vec<f64>>,
    /// mirt's intercepts `d_k = -a b_k` (graded).
    pub intercepts: Option<Vec<f64>>,
    /// Present when the file gave any standard error for the item.
    pub se: Option<RawSe>,
}

/// Standard errors as found in a file; `None` where absent.
#[derive(Debug, Default)]
pub(crate) struct RawSe {
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub g: Option<f64>,
    pub u: Option<f64>,
    pub thresholds: Option<Vec<Option<f64>>>,
}

/// An item's fields with the line it was read from.
pub(crate) struct Located {
    pub line: u64,
    pub raw: RawItem,
}

/// Turns one item's fields into parameters, with warnings (messages only;
/// the caller adds the position).
///
/// # Errors
/// `Format` for a missing required field or a field the model does not
/// have, `Param` for values the model rejects (through [`Logistic::new`] and
/// [`Graded::new`]) or a fixed parameter set to another value, `Value` for a
/// missing model.
pub(crate) fn build_item(raw: RawItem) -> Result<(ItemParams, Vec<String>)> {
    let Some(kind) = raw.kind else {
        return Err(Error::format("missing 'model'"));
    };
    let irf: Irf = if kind.is_dichotomous() {
        logistic(&raw, kind)?.into()
    } else {
        graded(&raw)?.into()
    };
    let se = raw.se.as_ref().map(|se| se_vector(se, &irf)).transpose()?;
    // All-absent standard errors say nothing: store them as none at all.
    let se = se.filter(|v| v.iter().any(|x| !x.is_nan()));
    let mut warnings = Vec::new();
    let a = match &irf {
        Irf::Logistic(m) => m.a(),
        Irf::Graded(m) => m.a(),
    };
    if a > A_WARN {
        warnings.push(format!(
            "discrimination a = {a} is above {A_WARN}; check the calibration"
        ));
    }
    let item = ItemParams {
        id: raw.id.into(),
        kind,
        irf,
        se,
    };
    Ok((item, warnings))
}

fn logistic(raw: &RawItem, kind: ModelKind) -> Result<Logistic> {
    if raw.thresholds.is_some() || raw.intercepts.is_some() {
        let field = if raw.thresholds.is_some() {
            "thresholds"
        } else {
            "intercepts"
        };
        return Err(Error::format(format!(
            "'{field}' belongs to grm items, but the model is '{kind}' (give 'b')"
        )));
    }
    let a = match (kind, raw.a) {
        (ModelKind::Rasch, None) => 1.0,
        (ModelKind::Rasch, Some(a)) if a != 1.0 => {
            return Err(Error::param(format!(
                "a Rasch item has a = 1, got a = {a} (use model '1pl' or '2pl' for other slopes)"
            )));
        }
        (_, Some(a)) => a,
        (_, None) => return Err(missing(kind, "'a'")),
    };
    let g = raw.g.unwrap_or(0.0);
    let u = raw.u.unwrap_or(1.0);
    let fixes_g = matches!(kind, ModelKind::Rasch | ModelKind::OnePl | ModelKind::TwoPl);
    if fixes_g && g != 0.0 {
        return Err(Error::param(format!(
            "model '{kind}' fixes g = 0, got g = {g} (use model '3pl' for a lower asymptote)"
        )));
    }
    if kind != ModelKind::FourPl && u != 1.0 {
        return Err(Error::param(format!(
            "model '{kind}' fixes u = 1, got u = {u} (use model '4pl' for an upper asymptote)"
        )));
    }
    match (raw.b, raw.d) {
        (Some(_), Some(_)) => Err(Error::format(
            "give either 'b' or the slope-intercept 'd', not both",
        )),
        (Some(b), None) => Logistic::new(a, b, g, u),
        (None, Some(d)) => Logistic::from_slope_intercept(a, d, g, u),
        (None, None) => Err(missing(kind, "'b' (or the slope-intercept 'd')")),
    }
}

fn graded(raw: &RawItem) -> Result<Graded> {
    let kind = ModelKind::Graded;
    for (field, present) in [
        ("b", raw.b.is_some()),
        ("d", raw.d.is_some()),
        ("g", raw.g.is_some()),
        ("u", raw.u.is_some()),
    ] {
        if present {
            return Err(Error::format(format!(
                "'{field}' belongs to dichotomous items, but the model is 'grm' (give 'thresholds')"
            )));
        }
    }
    let Some(a) = raw.a else {
        return Err(missing(kind, "'a'"));
    };
    match (&raw.thresholds, &raw.intercepts) {
        (Some(_), Some(_)) => Err(Error::format(
            "give either 'thresholds' or the slope-intercept 'intercepts', not both",
        )),
        (Some(t), None) => Graded::new(a, t.clone()),
        (None, Some(d)) => Graded::from_slope_intercept(a, d),
        (None, None) => Err(missing(
            kind,
            "'thresholds' (or the slope-intercept 'intercepts')",
        )),
    }
}

fn missing(kind: ModelKind, field: &str) -> Error {
    Error::format(format!("model '{kind}' needs {field}, which is missing"))
}

/// The standard errors aligned with `irf.params()`, `NaN` where absent.
fn se_vector(se: &RawSe, irf: &Irf) -> Result<Vec<f64>> {
    let check = |name: &str, x: Option<f64>| -> Result<f64> {
        match x {
            None => Ok(f64::NAN),
            Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
            Some(x) => Err(Error::param(format!(
                "standard error of {name} must be a finite non-negative number, got {x}"
            ))),
        }
    };
    match irf {
        Irf::Logistic(_) => {
            if se.thresholds.is_some() {
                return Err(Error::format(
                    "standard errors of 'thresholds' given for a dichotomous item",
                ));
            }
            Ok(vec![
                check("a", se.a)?,
                check("b", se.b)?,
                check("g", se.g)?,
                check("u", se.u)?,
            ])
        }
        Irf::Graded(m) => {
            for (field, present) in [("b", se.b), ("g", se.g), ("u", se.u)] {
                if present.is_some() {
                    return Err(Error::format(format!(
                        "standard error of '{field}' given for a grm item"
                    )));
                }
            }
            let mut out = vec![check("a", se.a)?];
            match &se.thresholds {
                None => out.extend(std::iter::repeat_n(f64::NAN, m.thresholds().len())),
                Some(t) if t.len() != m.thresholds().len() => {
                    return Err(Error::format(format!(
                        "{} threshold standard errors for {} thresholds",
                        t.len(),
                        m.thresholds().len()
                    )));
                }
                Some(t) => {
                    for (k, x) in t.iter().enumerate() {
                        out.push(check(&format!("b{}", k + 1), *x)?);
                    }
                }
            }
            Ok(out)
        }
    }
}

/// A warning in the same `file:line: item 'id': message` shape as errors.
pub(crate) fn warning(source: &Path, line: Option<u64>, item: Option<&str>, msg: &str) -> String {
    let mut e = Error::value(msg).in_file(source);
    if let Some(l) = line {
        e = e.at_line(l);
    }
    if let Some(id) = item {
        e = e.for_item(id);
    }
    e.to_string()
}

/// Checks every item and the set as a whole; the result names `source` and
/// each problem's line.
///
/// `warnings` already holds the file-level warnings of the reader.
pub(crate) fn build_set(
    items: Vec<Located>,
    metadata: Metadata,
    source: &Path,
    mut warnings: Vec<String>,
) -> Result<Loaded> {
    let mut built = Vec::with_capacity(items.len());
    let mut first_line: HashMap<String, u64> = HashMap::with_capacity(items.len());
    for Located { line, raw } in items {
        let id = raw.id.clone();
        let place = |e: Error| e.for_item(id.as_str()).at_line(line).in_file(source);
        if let Some(first) = first_line.get(&id) {
            return Err(place(Error::new(
                ErrorKind::Item,
                format!("id appears more than once (first at line {first})"),
            )));
        }
        first_line.insert(id.clone(), line);
        let (item, item_warnings) = build_item(raw).map_err(place)?;
        warnings.extend(
            item_warnings
                .iter()
                .map(|w| warning(source, Some(line), Some(&id), w)),
        );
        built.push(item);
    }
    one_pl_slopes(&built, source, &mut warnings);
    if built.is_empty() {
        warnings.push(warning(source, None, None, "the file has no items"));
    }
    let params = ParamSet::new(built, metadata).map_err(|e| e.in_file(source))?;
    Ok(Loaded { params, warnings })
}

/// The 1PL shares one slope among its items; different slopes mean the file
/// was not produced by a 1PL calibration (or was edited), which is worth a
/// word but does not stop scoring.
fn one_pl_slopes(items: &[ItemParams], source: &Path, warnings: &mut Vec<String>) {
    let mut slopes = items.iter().filter_map(|it| match (&it.irf, it.kind) {
        (Irf::Logistic(m), ModelKind::OnePl) => Some((it.id.as_str(), m.a())),
        _ => None,
    });
    let Some((first_id, first_a)) = slopes.next() else {
        return;
    };
    if let Some((id, a)) = slopes.find(|(_, a)| *a != first_a) {
        warnings.push(warning(
            source,
            None,
            None,
            &format!(
                "1pl items should share one slope, but item '{first_id}' has a = {first_a} \
                 and item '{id}' has a = {a}"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResponseModel;

    fn raw(kind: ModelKind) -> RawItem {
        RawItem {
            id: "q".into(),
            kind: Some(kind),
            ..RawItem::default()
        }
    }

    #[test]
    fn defaults_fill_fixed_parameters() {
        let mut r = raw(ModelKind::Rasch);
        r.b = Some(0.5);
        let (item, w) = build_item(r).unwrap();
        assert_eq!(item.irf.params(), vec![1.0, 0.5, 0.0, 1.0]);
        assert!(w.is_empty());
        assert_eq!(item.se, None);
    }

    #[test]
    fn slope_intercept_matches_difficulty() {
        let mut r = raw(ModelKind::ThreePl);
        (r.a, r.d, r.g) = (Some(2.0), Some(-1.0), Some(0.2));
        let (item, _) = build_item(r).unwrap();
        assert_eq!(item.irf.params(), vec![2.0, 0.5, 0.2, 1.0]);
        let mut r = raw(ModelKind::Graded);
        r.a = Some(2.0);
        r.intercepts = Some(vec![2.0, -1.0]);
        let (item, _) = build_item(r).unwrap();
        assert_eq!(item.irf.params(), vec![2.0, -1.0, 0.5]);
    }

    #[test]
    fn fixed_parameters_must_keep_their_values() {
        let mut r = raw(ModelKind::TwoPl);
        (r.a, r.b, r.g) = (Some(1.0), Some(0.0), Some(0.2));
        let e = build_item(r).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Param);
        assert!(e.message().contains("fixes g = 0"), "{e}");
        let mut r = raw(ModelKind::Rasch);
        (r.a, r.b) = (Some(1.3), Some(0.0));
        assert_eq!(build_item(r).unwrap_err().kind(), ErrorKind::Param);
    }

    #[test]
    fn standard_errors_align_with_params() {
        let mut r = raw(ModelKind::Graded);
        r.a = Some(1.0);
        r.thresholds = Some(vec![-1.0, 1.0]);
        r.se = Some(RawSe {
            a: Some(0.1),
            thresholds: Some(vec![None, Some(0.3)]),
            ..RawSe::default()
        });
        let (item, _) = build_item(r).unwrap();
        let se = item.se.unwrap();
        assert_eq!(se.len(), 3);
        assert_eq!((se[0], se[2]), (0.1, 0.3));
        assert!(se[1].is_nan());
    }

    #[test]
    fn negative_standard_error_is_rejected() {
        let mut r = raw(ModelKind::TwoPl);
        (r.a, r.b) = (Some(1.0), Some(0.0));
        r.se = Some(RawSe {
            b: Some(-0.1),
            ..RawSe::default()
        });
        let e = build_item(r).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Param);
        assert!(e.message().contains("standard error of b"), "{e}");
    }
}
