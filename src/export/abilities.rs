//! The abilities table (one row per examinee and source) and its long
//! companion, the scores table (one row per examinee and item group).

use super::schema::TableKind;
use super::sources::{Content, Source};
use super::table::{Table, Value};
use crate::error::{Error, Result};
use crate::exam::Step;

/// Level of the intervals this module computes where a source gives none.
pub const DEFAULT_LEVEL: f64 = 0.95;

/// The standard normal quantile at 0.975: `theta -/+ Z95 * se` is the 95%
/// interval (Abramowitz & Stegun, table 26.5).
const Z95: f64 = 1.959_963_984_540_054;

/// One row, column by column (the order of [`super::schema::ABILITIES`]).
#[derive(Default)]
struct Row {
    model: String,
    source: &'static str,
    backend: Option<String>,
    theta: f64,
    se: Option<f64>,
    interval: Option<[f64; 2]>,
    level: Option<f64>,
    predicted: Option<[f64; 3]>,
    score_link: Option<String>,
    observed: Option<f64>,
    true_theta: Option<f64>,
    n_items: Option<i64>,
    skipped: Option<i64>,
    correct: Option<i64>,
    stop_reason: Option<String>,
    bank: Option<String>,
    bank_digest: Option<String>,
    calibration_version: Option<String>,
    calibration_digest: Option<String>,
    seed: Option<u64>,
    tokens: Option<(u64, u64)>,
    latency: Option<f64>,
}

impl Row {
    fn into_values(self, src: &Source) -> Vec<Value> {
        let se = self.se.filter(|s| s.is_finite());
        // Sources without an interval get the normal one at DEFAULT_LEVEL.
        let (interval, level) = match (self.interval, se) {
            (Some(i), _) => (Some(i), self.level),
            (None, Some(s)) => (
                Some([self.theta - Z95 * s, self.theta + Z95 * s]),
                Some(DEFAULT_LEVEL),
            ),
            (None, None) => (None, None),
        };
        let int = |x: Option<i64>| x.map_or(Value::Null, Value::Int);
        vec![
            self.model.into(),
            self.source.into(),
            self.backend.into(),
            self.theta.into(),
            se.into(),
            interval.map(|i| i[0]).into(),
            interval.map(|i| i[1]).into(),
            level.into(),
            self.predicted.map(|p| p[0]).into(),
            self.predicted.map(|p| p[1]).into(),
            self.predicted.map(|p| p[2]).into(),
            self.score_link.into(),
            self.observed.into(),
            self.true_theta.into(),
            int(self.n_items),
            int(self.skipped),
            int(self.correct),
            self.stop_reason.into(),
            self.bank.into(),
            self.bank_digest.into(),
            self.calibration_version.into(),
            self.calibration_digest.into(),
            self.seed.into(),
            self.tokens.map(|t| t.0).into(),
            self.tokens.map(|t| t.1).into(),
            self.latency.into(),
            src.timestamp.clone().into(),
            src.path.display().to_string().into(),
        ]
    }
}

fn count(n: usize) -> Option<i64> {
    i64::try_from(n).ok()
}

/// Builds the abilities table from exam results, journals, simulate exams
/// and abilities CSVs.
///
/// # Errors
/// [`ErrorKind::Config`](crate::ErrorKind::Config) naming a source that
/// holds no abilities (a parameter file, a trace).
pub fn abilities(sources: &[Source]) -> Result<Table> {
    let mut table = TableKind::Abilities.empty_table();
    for src in sources {
        let source = src.kind().name();
        let rows: Vec<Row> = match &src.content {
            Content::ExamResult(r) => vec![Row {
                model: src.model_name(),
                source,
                backend: Some(r.backend.clone()),
                theta: r.theta,
                se: r.se,
                interval: r.interval,
                level: Some(r.level),
                predicted: Some([
                    r.predicted_score.bank.mean,
                    r.predicted_score.bank.lo,
                    r.predicted_score.bank.hi,
                ]),
                score_link: r.score_link.as_ref().map(|l| l.link.to_string()),
                n_items: count(r.items_used),
                skipped: count(r.skipped),
                correct: count(r.correct),
                stop_reason: Some(r.stop_reason.clone()),
                bank: Some(r.bank.clone()),
                bank_digest: Some(r.bank_digest.clone()),
                calibration_version: r.calibration.version.clone(),
                calibration_digest: Some(r.calibration.digest.clone()),
                seed: Some(r.seed),
                tokens: Some((r.tokens.prompt, r.tokens.completion)),
                latency: Some(r.latency_seconds),
                ..Row::default()
            }],
            Content::Journal(j) => {
                let h = &j.header;
                let answered: Vec<&Step> = j.steps.iter().filter(|s| s.score.is_some()).collect();
                let last = j.steps.last();
                let tokens = j
                    .steps
                    .iter()
                    .filter_map(|s| s.usage.as_ref())
                    .fold((0, 0), |t, u| (t.0 + u.prompt, t.1 + u.completion));
                vec![Row {
                    model: src.model_name(),
                    source,
                    backend: Some(h.backend.clone()),
                    theta: last.map_or(f64::NAN, |s| s.theta),
                    se: last.and_then(|s| s.se),
                    n_items: count(answered.len()),
                    skipped: count(j.steps.len() - answered.len()),
                    correct: count(answered.iter().filter(|s| s.score == Some(1)).count()),
                    bank: Some(h.bank.clone()),
                    bank_digest: Some(h.bank_digest.clone()),
                    calibration_version: h.params_version.clone(),
                    calibration_digest: Some(h.params_digest.clone()),
                    seed: Some(h.seed),
                    tokens: Some(tokens),
                    latency: Some(j.steps.iter().map(|s| s.latency).sum()),
                    ..Row::default()
                }]
            }
            Content::SimulateExams { seed, exams, meta } => exams
                .iter()
                .map(|e| Row {
                    model: e.model.clone(),
                    source,
                    theta: e.theta,
                    se: Some(e.se),
                    predicted: Some(e.predicted),
                    score_link: meta
                        .as_ref()
                        .and_then(|m| m.score_link.as_ref())
                        .map(|l| l.1.to_string()),
                    observed: Some(e.observed),
                    true_theta: e.true_theta,
                    n_items: e.n_items,
                    skipped: e.skipped,
                    stop_reason: e.stop_reason.clone(),
                    seed: *seed,
                    bank: meta.as_ref().and_then(|m| m.bank.clone()),
                    calibration_version: meta.as_ref().and_then(|m| m.calibration_version.clone()),
                    calibration_digest: meta.as_ref().map(|m| m.calibration_digest.clone()),
                    ..Row::default()
                })
                .collect(),
            Content::Abilities(rows) => rows
                .iter()
                .map(|a| Row {
                    model: a.model.clone(),
                    source,
                    theta: a.theta,
                    se: Some(a.se),
                    n_items: a.n_items,
                    ..Row::default()
                })
                .collect(),
            Content::Params(_) | Content::SimulateTrace(_) => {
                return Err(no_data(src, "abilities", "items or steps"));
            }
        };
        for row in rows {
            table.push_row(row.into_values(src))?;
        }
    }
    Ok(table)
}

/// Builds the scores table: for every exam result, its predicted score on
/// the bank (scope `bank`, group empty) and per category and dimension.
/// Simulate exams give their bank score only.
///
/// # Errors
/// As [`abilities`], for sources without predicted scores.
pub fn scores(sources: &[Source]) -> Result<Table> {
    let mut table = TableKind::Scores.empty_table();
    for src in sources {
        let file: Value = src.path.display().to_string().into();
        let mut push = |model: &str,
                        scope: &str,
                        group: Option<&str>,
                        n: Option<usize>,
                        p: [f64; 3],
                        link: Option<String>,
                        level: f64| {
            table.push_row(vec![
                model.into(),
                scope.into(),
                group.into(),
                n.map_or(Value::Null, Value::from),
                p[0].into(),
                p[1].into(),
                p[2].into(),
                link.into(),
                level.into(),
                file.clone(),
            ])
        };
        match &src.content {
            Content::ExamResult(r) => {
                let model = src.model_name();
                let ps = &r.predicted_score;
                let b = &ps.bank;
                let link = r.score_link.as_ref();
                let bank_line = link.map(|l| l.link.to_string());
                push(
                    &model,
                    "bank",
                    None,
                    None,
                    [b.mean, b.lo, b.hi],
                    bank_line,
                    r.level,
                )?;
                for (scope, groups) in [("category", &ps.category), ("dimension", &ps.dimension)] {
                    for g in groups {
                        let s = &g.score;
                        let line = link
                            .and_then(|l| {
                                l.groups
                                    .iter()
                                    .find(|a| a.tag == scope && a.value == g.value)
                            })
                            .map(|a| a.link.to_string());
                        push(
                            &model,
                            scope,
                            Some(&g.value),
                            Some(g.n_items),
                            [s.mean, s.lo, s.hi],
                            line,
                            r.level,
                        )?;
                    }
                }
            }
            Content::SimulateExams { exams, meta, .. } => {
                let line = meta
                    .as_ref()
                    .and_then(|m| m.score_link.as_ref())
                    .map(|l| l.1.to_string());
                for e in exams {
                    push(
                        &e.model,
                        "bank",
                        None,
                        None,
                        e.predicted,
                        line.clone(),
                        DEFAULT_LEVEL,
                    )?;
                }
            }
            _ => {
                return Err(no_data(
                    src,
                    "predicted scores",
                    "abilities, items or steps",
                ));
            }
        }
    }
    Ok(table)
}

/// The error for a source that has nothing for the table asked.
pub(crate) fn no_data(src: &Source, what: &str, instead: &str) -> Error {
    Error::config(format!(
        "a {} file holds no {what} (export {instead} from it)",
        describe(src)
    ))
    .in_file(&src.path)
}

fn describe(src: &Source) -> &'static str {
    match src.kind() {
        super::sources::SourceKind::ExamResult => "exam result",
        super::sources::SourceKind::Journal => "journal",
        super::sources::SourceKind::SimulateExams => "simulate exams",
        super::sources::SourceKind::SimulateTrace => "simulate trace",
        super::sources::SourceKind::Params => "parameter",
        super::sources::SourceKind::Abilities => "abilities",
    }
}
