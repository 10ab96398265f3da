//! The items table: one row per item of each parameter file, with its bank
//! tags, exposure in the given exams, and fit to their answers.

use std::collections::{BTreeMap, HashMap};

use super::abilities::no_data;
use super::schema::{ITEMS, TableKind};
use super::sources::{Content, Source};
use super::table::{ColumnType, Table, Value};
use crate::bank::{ItemBank, ItemParams, ParamSet};
use crate::error::{Error, Result};
use crate::model::{Irf, ResponseModel};

/// What the exam sources say about one exam: the items it asked (with the
/// score when recorded) and its final ability estimate.
#[derive(Debug, Default)]
struct ExamItems {
    answers: Vec<(String, Option<u8>)>,
    theta: Option<f64>,
}

impl ExamItems {
    fn has_scores(&self) -> bool {
        self.answers.iter().any(|a| a.1.is_some())
    }
}

/// The exams in the sources, by examinee (model) name. A model given both
/// as a result and a journal counts once, with the journal's scores.
fn exams(sources: &[&Source]) -> Result<BTreeMap<String, ExamItems>> {
    let mut out: BTreeMap<String, ExamItems> = BTreeMap::new();
    let mut keep = |name: String, exam: ExamItems| {
        let better = out
            .get(&name)
            .is_none_or(|old| exam.has_scores() || !old.has_scores());
        if better {
            out.insert(name, exam);
        }
    };
    for src in sources {
        match &src.content {
            Content::ExamResult(r) => keep(
                src.model_name(),
                ExamItems {
                    answers: r.items.iter().map(|i| (i.clone(), None)).collect(),
                    theta: Some(r.theta),
                },
            ),
            Content::Journal(j) => keep(
                src.model_name(),
                ExamItems {
                    answers: j
                        .steps
                        .iter()
                        .filter(|s| s.score.is_some())
                        .map(|s| (s.item_id.clone(), s.score))
                        .collect(),
                    theta: j.steps.last().map(|s| s.theta),
                },
            ),
            Content::SimulateTrace(steps) => {
                let mut by: BTreeMap<&str, ExamItems> = BTreeMap::new();
                for s in steps {
                    let e = by.entry(&s.model).or_default();
                    let score = u8::try_from(s.score).map_err(|_| {
                        Error::value(format!("score {} is not a category number", s.score))
                            .for_item(&s.item)
                            .in_file(&src.path)
                    })?;
                    e.answers.push((s.item.clone(), Some(score)));
                    e.theta = Some(s.theta);
                }
                for (name, e) in by {
                    keep(name.to_owned(), e);
                }
            }
            _ => return Err(no_data(src, "item data", "abilities")),
        }
    }
    Ok(out)
}

/// Per-item tallies over the exams.
#[derive(Debug, Default, Clone)]
struct Usage {
    exposure: usize,
    n_scored: usize,
    score_sum: f64,
}

/// Builds the items table from the parameter files among `sources`, the
/// bank `bank` (category and dimension), and the exam sources (results,
/// journals, traces: exposure and fit).
///
/// Exposure is the number of exams that asked the item and its share of the
/// exams. Fit uses each exam's final ability `theta_e`: with `E` and `V` the
/// item's expected score and its variance at `theta_e`, `outfit = mean
/// (x - E)^2 / V` and `infit = sum (x - E)^2 / sum V` over the scored
/// answers (Wright & Masters' mean squares at point estimates; near 1 for
/// a fitting item, noisy with few answers).
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) when no parameter file is
/// given or a source holds no item data (simulate exams, abilities).
pub fn items(sources: &[Source], bank: Option<&ItemBank>) -> Result<Table> {
    let (params, others): (Vec<&Source>, Vec<&Source>) = sources
        .iter()
        .partition(|s| matches!(s.content, Content::Params(_)));
    if params.is_empty() {
        return Err(Error::config(
            "exporting items needs a parameter file among the --from files",
        ));
    }
    let exams = exams(&others)?;
    let mut usage: HashMap<&str, Usage> = HashMap::new();
    for e in exams.values() {
        for (item, score) in &e.answers {
            let u = usage.entry(item.as_str()).or_default();
            u.exposure += 1;
            if let Some(s) = score {
                u.n_scored += 1;
                u.score_sum += f64::from(*s);
            }
        }
    }
    let n_thresholds = params
        .iter()
        .filter_map(|s| match &s.content {
            Content::Params(p) => Some(p.items()),
            _ => None,
        })
        .flatten()
        .map(|it| match &it.irf {
            Irf::Graded(g) => g.thresholds().len(),
            Irf::Logistic(_) => 0,
        })
        .max()
        .unwrap_or(0);
    let mut schema: Vec<(String, ColumnType)> =
        ITEMS.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect();
    schema.extend((1..=n_thresholds).map(|k| (format!("b{k}"), ColumnType::Float)));
    schema.extend((1..=n_thresholds).map(|k| (format!("se_b{k}"), ColumnType::Float)));
    let schema_ref: Vec<(&str, ColumnType)> =
        schema.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let mut table = Table::new(&schema_ref)?;
    debug_assert!(TableKind::Items.check(&table).is_ok());

    for src in params {
        let Content::Params(set) = &src.content else {
            continue;
        };
        for item in set.items() {
            let u = usage.get(item.id.as_str()).cloned().unwrap_or_default();
            let fit = fit(item, &exams);
            let row = item_row(set, item, bank, &u, exams.len(), fit, n_thresholds);
            table.push_row(row)?;
        }
    }
    Ok(table)
}

fn item_row(
    set: &ParamSet,
    item: &ItemParams,
    bank: Option<&ItemBank>,
    u: &Usage,
    n_exams: usize,
    fit: Option<(f64, f64)>,
    n_thresholds: usize,
) -> Vec<Value> {
    let meta = set.metadata();
    let content = bank.and_then(|b| b.get(item.id.as_str()));
    let se = |i: usize| -> Value { item.se.as_ref().and_then(|s| s.get(i).copied()).into() };
    let (abgu, abgu_se, thresholds): (Vec<Value>, Vec<Value>, &[f64]) = match &item.irf {
        Irf::Logistic(l) => (
            vec![l.a().into(), l.b().into(), l.g().into(), l.u().into()],
            (0..4).map(se).collect(),
            &[],
        ),
        Irf::Graded(g) => (
            vec![g.a().into(), Value::Null, Value::Null, Value::Null],
            vec![se(0), Value::Null, Value::Null, Value::Null],
            g.thresholds(),
        ),
    };
    let s_x2 = calibration_s_x2(set, item);
    let exams_given = n_exams > 0;
    let max_score = (item.irf.n_categories() - 1).max(1) as f64;
    let mut row: Vec<Value> = vec![
        item.id.as_str().into(),
        meta.bank.clone().into(),
        meta.version.clone().into(),
        content.and_then(|c| c.category.clone()).into(),
        content.and_then(|c| c.dimension.clone()).into(),
        item.kind.name().into(),
        item.irf.n_categories().into(),
    ];
    row.extend(abgu);
    row.extend(abgu_se);
    row.extend([
        if exams_given {
            u.exposure.into()
        } else {
            Value::Null
        },
        if exams_given {
            (u.exposure as f64 / n_exams as f64).into()
        } else {
            Value::Null
        },
        if exams_given {
            u.n_scored.into()
        } else {
            Value::Null
        },
        if u.n_scored > 0 {
            (u.score_sum / u.n_scored as f64 / max_score).into()
        } else {
            Value::Null
        },
        fit.map(|f| f.0).into(),
        fit.map(|f| f.1).into(),
        s_x2.map(|s| s.s_x2).into(),
        s_x2.map(|s| s.df as u64).into(),
        s_x2.map(|s| s.p).into(),
        flags(item, exams_given.then_some(u.exposure), fit, s_x2).into(),
    ]);
    row.extend((0..n_thresholds).map(|k| thresholds.get(k).copied().into()));
    row.extend((0..n_thresholds).map(|k| {
        if k < thresholds.len() {
            se(k + 1)
        } else {
            Value::Null
        }
    }));
    row
}

/// `(infit, outfit)` over the scored answers to `item` (see [`items`]).
fn fit(item: &ItemParams, exams: &BTreeMap<String, ExamItems>) -> Option<(f64, f64)> {
    let (mut sq, mut var, mut z2, mut n) = (0.0, 0.0, 0.0, 0usize);
    for e in exams.values() {
        let Some(theta) = e.theta.filter(|t| t.is_finite()) else {
            continue;
        };
        for (id, score) in &e.answers {
            let Some(x) = score.filter(|_| id == item.id.as_str()) else {
                continue;
            };
            let k = item.irf.n_categories();
            if usize::from(x) >= k {
                continue;
            }
            let mean: f64 = (0..k).map(|c| c as f64 * item.irf.prob(theta, c)).sum();
            let v: f64 = (0..k)
                .map(|c| (c as f64 - mean).powi(2) * item.irf.prob(theta, c))
                .sum();
            if v <= 0.0 {
                continue;
            }
            let r2 = (f64::from(x) - mean).powi(2);
            sq += r2;
            var += v;
            z2 += r2 / v;
            n += 1;
        }
    }
    (n > 0).then(|| (sq / var, z2 / n as f64))
}

/// An item's S-X2 as calibration recorded it in the parameter file
/// (`metadata.provenance.item_fit.items.<id>`; see
/// [`Calibration::item_fit_provenance`](crate::calibrate::Calibration::item_fit_provenance)).
#[derive(Debug, Clone, Copy, PartialEq)]
struct RecordedSx2 {
    s_x2: f64,
    df: usize,
    p: f64,
    misfit: bool,
}

/// The recorded S-X2 of `item`, when the file has one (entries of another
/// shape, e.g. edited by hand, count as absent).
fn calibration_s_x2(set: &ParamSet, item: &ItemParams) -> Option<RecordedSx2> {
    let entry = set
        .metadata()
        .provenance
        .get("item_fit")?
        .get("items")?
        .get(item.id.as_str())?;
    Some(RecordedSx2 {
        s_x2: entry.get("s_x2")?.as_f64()?,
        df: usize::try_from(entry.get("df")?.as_u64()?).ok()?,
        p: entry.get("p")?.as_f64()?,
        misfit: entry
            .get("misfit")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    })
}

/// Flags, `;`-separated: parameters outside the usual range (the thresholds
/// of calibration's flags: `|b| > 6` extreme_difficulty, `a > 10`
/// high_slope, `a < 0.05` low_slope, `g > 0.5` high_guessing, `u < 0.5`
/// low_upper), `never_administered` when exams were given and none asked
/// the item, and `misfit` when infit or outfit is outside 0.7..1.3 or
/// calibration flagged the item's S-X2 (Benjamini-Hochberg at false
/// discovery rate 0.05).
fn flags(
    item: &ItemParams,
    exposure: Option<usize>,
    fit: Option<(f64, f64)>,
    s_x2: Option<RecordedSx2>,
) -> Option<String> {
    let (a, bs, g, u) = match &item.irf {
        Irf::Logistic(l) => (l.a(), vec![l.b()], l.g(), l.u()),
        Irf::Graded(gr) => (gr.a(), gr.thresholds().to_vec(), 0.0, 1.0),
    };
    let checks = [
        (bs.iter().any(|b| b.abs() > 6.0), "extreme_difficulty"),
        (a > 10.0, "high_slope"),
        (a < 0.05, "low_slope"),
        (g > 0.5, "high_guessing"),
        (u < 0.5, "low_upper"),
        (exposure == Some(0), "never_administered"),
        (
            fit.is_some_and(|(i, o)| !(0.7..=1.3).contains(&i) || !(0.7..=1.3).contains(&o))
                || s_x2.is_some_and(|s| s.misfit),
            "misfit",
        ),
    ];
    let on: Vec<&str> = checks.iter().filter(|c| c.0).map(|c| c.1).collect();
    (!on.is_empty()).then(|| on.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ItemId;
    use crate::model::{Logistic, ModelKind};

    #[test]
    fn fit_is_one_in_expectation_and_flags_follow_the_ranges() {
        let irf: Irf = Logistic::two_pl(1.0, 0.0).unwrap().into();
        let item = ItemParams {
            id: ItemId::from("q"),
            kind: ModelKind::TwoPl,
            irf,
            se: None,
        };
        // At theta = 0, P = 0.5: each answer's squared residual is 0.25 and
        // its variance 0.25, so both mean squares are exactly 1.
        let mut exams = BTreeMap::new();
        for (name, x) in [("a", 1u8), ("b", 0)] {
            exams.insert(
                name.to_owned(),
                ExamItems {
                    answers: vec![("q".into(), Some(x))],
                    theta: Some(0.0),
                },
            );
        }
        let (infit, outfit) = fit(&item, &exams).unwrap();
        assert!((infit - 1.0).abs() < 1e-12 && (outfit - 1.0).abs() < 1e-12);
        assert_eq!(flags(&item, Some(2), Some((infit, outfit)), None), None);
        assert_eq!(
            flags(&item, Some(0), Some((2.0, 1.0)), None).as_deref(),
            Some("never_administered;misfit")
        );
        let sx2 = |misfit| RecordedSx2 {
            s_x2: 30.0,
            df: 3,
            p: 1e-6,
            misfit,
        };
        assert_eq!(flags(&item, None, None, Some(sx2(false))), None);
        assert_eq!(
            flags(&item, None, None, Some(sx2(true))).as_deref(),
            Some("misfit")
        );
    }
}
