//! A score link: a straight line from the bank score an exam predicts to
//! the examinee's observed full-run score, fitted on exams whose truth is
//! known.
//!
//! A calibrated bank's predicted score is compressed toward the middle of
//! the calibration population: on MMLU-Pro the observed accuracy regresses
//! on the 2PL prediction with slope 1.09 for whole runs and 1.14 for
//! 50-item exams (posterior means shrink, and the 2PL curve does not
//! reproduce the observed score of an examinee whose right answers sit on
//! low-slope items). Exams of examinees left out of the calibration, each
//! replayed from its whole recorded run, give pairs (predicted, observed)
//! whose least-squares line undoes the compression for a new examinee
//! examined with the same plan and length.
//!
//! The same pairs say how far a linked score misses: the linked score's
//! interval is the line's prediction interval from their residuals. The
//! exam's posterior interval counts only its own measurement error: on
//! held-out MMLU-Pro models, mapped through the line, it held the observed
//! accuracy in 47% of 50-item content-balanced exams, the prediction
//! interval in 94% (`docs/validation.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::plan::Plan;
use crate::error::{Error, ErrorKind, Result};
use crate::estimate::PredictedScore;
use crate::io::sha256_hex;

/// The `format` value of score-link files.
pub const SCORE_LINK_FORMAT: &str = "fangsheng-score-link/1";

/// `observed = intercept + slope * predicted`, clamped to `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreLink {
    /// Intercept (proportion).
    pub intercept: f64,
    /// Slope.
    pub slope: f64,
    /// Pairs the line was fitted on (0 for the identity fallback).
    pub n: usize,
    /// Residual standard deviation of the fit (proportion; 0 for the
    /// identity fallback).
    pub residual_sd: f64,
    /// Distinct examinees behind the pairs (several pairs per examinee
    /// when exams were repeated with other seeds). Files written before
    /// it was kept read as 0: then each pair counts as one examinee.
    #[serde(default)]
    pub examinees: usize,
}

impl ScoreLink {
    /// The identity: predictions pass through unchanged.
    pub const IDENTITY: ScoreLink = ScoreLink {
        intercept: 0.0,
        slope: 1.0,
        n: 0,
        residual_sd: 0.0,
        examinees: 0,
    };

    /// The least-squares line through `pairs` of (predicted, observed);
    /// pairs with a non-finite value are left out. With fewer than three
    /// pairs, or predictions without spread, there is nothing to fit and
    /// the identity is returned.
    pub fn fit(pairs: &[(f64, f64)]) -> ScoreLink {
        let ok: Vec<(f64, f64)> = pairs
            .iter()
            .copied()
            .filter(|(p, y)| p.is_finite() && y.is_finite())
            .collect();
        let n = ok.len();
        if n < 3 {
            return ScoreLink::IDENTITY;
        }
        let nf = n as f64;
        let mp = ok.iter().map(|x| x.0).sum::<f64>() / nf;
        let my = ok.iter().map(|x| x.1).sum::<f64>() / nf;
        let spp: f64 = ok.iter().map(|x| (x.0 - mp) * (x.0 - mp)).sum();
        let spy: f64 = ok.iter().map(|x| (x.0 - mp) * (x.1 - my)).sum();
        // Spread below 1e-12 (a hundred-millionth of a point squared per
        // pair) is rounding, not information about a slope.
        if spp <= 1e-12 * nf {
            return ScoreLink::IDENTITY;
        }
        let slope = spy / spp;
        let intercept = my - slope * mp;
        let rss: f64 = ok
            .iter()
            .map(|&(p, y)| {
                let r = y - intercept - slope * p;
                r * r
            })
            .sum();
        ScoreLink {
            intercept,
            slope,
            n,
            residual_sd: (rss / (nf - 2.0)).sqrt(),
            examinees: n,
        }
    }

    /// [`ScoreLink::fit`] of pairs from repeated exams: `groups[i]` names
    /// the examinee of pair `i`, and the examinees (not the pairs) count
    /// for the prediction interval.
    pub fn fit_grouped(pairs: &[(f64, f64)], groups: &[usize]) -> ScoreLink {
        let mut link = ScoreLink::fit(pairs);
        if link.n > 0 {
            let mut distinct: Vec<usize> = pairs
                .iter()
                .zip(groups)
                .filter(|((p, y), _)| p.is_finite() && y.is_finite())
                .map(|(_, &g)| g)
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            link.examinees = distinct.len();
        }
        link
    }

    /// Half the width of the central `level` prediction interval of a
    /// linked score: `t * s * sqrt(1 + 1/n_e)`, Student's `t` quantile at
    /// `(1 + level) / 2` with `n_e - 2` degrees of freedom, `s` the residual
    /// SD and `n_e` the examinees. The residuals are errors of exams of
    /// examinees left out of their calibration, so this interval counts
    /// what the exam's posterior cannot see: calibration error, misfit and
    /// the luck of the items asked. The slope's own uncertainty is left out
    /// (a file does not keep the predictions' spread). `None` for the
    /// identity fallback or fewer than three examinees.
    pub fn half_width(&self, level: f64) -> Option<f64> {
        // At most `n`; the identity fallback (n = 0) falls out here too.
        let n_e = if self.examinees > 0 {
            self.examinees
        } else {
            self.n
        };
        if n_e < 3 || !self.residual_sd.is_finite() || !(0.0..1.0).contains(&level) {
            return None;
        }
        let df = (n_e - 2) as f64;
        let t = StudentsT::new(0.0, 1.0, df)
            .ok()?
            .inverse_cdf((1.0 + level) / 2.0);
        Some(t * self.residual_sd * (1.0 + 1.0 / n_e as f64).sqrt())
    }

    /// The linked score of prediction `p`.
    pub fn apply(&self, p: f64) -> f64 {
        (self.intercept + self.slope * p).clamp(0.0, 1.0)
    }

    /// `score` linked: the mean mapped by the line, and the central
    /// `level` interval [`ScoreLink::half_width`] around it (clamped to
    /// [0, 1]). Without a fitted line (the identity fallback) the posterior
    /// interval's ends are mapped instead (a decreasing line, which a sane
    /// fit never gives, swaps them).
    pub fn apply_score(&self, score: PredictedScore, level: f64) -> PredictedScore {
        let mean = self.apply(score.mean);
        if let Some(h) = self.half_width(level) {
            return PredictedScore {
                mean,
                lo: (mean - h).clamp(0.0, 1.0),
                hi: (mean + h).clamp(0.0, 1.0),
            };
        }
        let (a, b) = (self.apply(score.lo), self.apply(score.hi));
        PredictedScore {
            mean,
            lo: a.min(b),
            hi: a.max(b),
        }
    }

    /// Mean absolute error of linking each pair with the line fitted on
    /// the others (leave-one-out), for judging a plan by its linked
    /// predictions without scoring a pair with a line it helped fit.
    /// `groups[i]` names the examinee of pair `i`: every pair of that
    /// examinee (one per seed) is left out together. Infinite without
    /// pairs.
    pub fn cross_validated_mae(pairs: &[(f64, f64)], groups: &[usize]) -> f64 {
        let mut sum = 0.0;
        let mut n = 0usize;
        for (&(p, y), line) in pairs.iter().zip(ScoreLink::leave_group_out(pairs, groups)) {
            if !(p.is_finite() && y.is_finite()) {
                continue;
            }
            sum += (line.apply(p) - y).abs();
            n += 1;
        }
        if n == 0 {
            f64::INFINITY
        } else {
            sum / n as f64
        }
    }

    /// The share of pairs whose observed score lies in the `level`
    /// prediction interval of the line fitted on the other examinees'
    /// pairs ([`ScoreLink::leave_group_out`]): the coverage a new model can
    /// expect, measured without scoring a pair with a line it helped fit.
    /// `None` without pairs.
    pub fn cross_validated_coverage(
        pairs: &[(f64, f64)],
        groups: &[usize],
        level: f64,
    ) -> Option<f64> {
        let mut held = 0usize;
        let mut n = 0usize;
        for (&(p, y), line) in pairs.iter().zip(ScoreLink::leave_group_out(pairs, groups)) {
            if !(p.is_finite() && y.is_finite()) {
                continue;
            }
            let s = line.apply_score(
                PredictedScore {
                    mean: p,
                    lo: p,
                    hi: p,
                },
                level,
            );
            held += usize::from(s.lo <= y && y <= s.hi);
            n += 1;
        }
        (n > 0).then(|| held as f64 / n as f64)
    }

    /// For each pair, the line ([`ScoreLink::fit_grouped`]) fitted on the
    /// pairs of the other groups: `groups[i]` names the examinee of pair
    /// `i`, and every pair of that examinee is left out together. One fit
    /// per examinee.
    pub fn leave_group_out(pairs: &[(f64, f64)], groups: &[usize]) -> Vec<ScoreLink> {
        let mut lines: std::collections::BTreeMap<usize, ScoreLink> = Default::default();
        groups
            .iter()
            .map(|&g| {
                *lines.entry(g).or_insert_with(|| {
                    let (rest, rest_groups): (Vec<(f64, f64)>, Vec<usize>) = pairs
                        .iter()
                        .zip(groups)
                        .filter(|&(_, &h)| h != g)
                        .map(|(&p, &h)| (p, h))
                        .unzip();
                    ScoreLink::fit_grouped(&rest, &rest_groups)
                })
            })
            .collect()
    }
}

impl std::fmt::Display for ScoreLink {
    /// `a + b x`, six decimals (the export's `score_link` column).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.6} + {:.6} x", self.intercept, self.slope)
    }
}

/// One length's line in a [`ScoreLinkFile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LengthLink {
    /// The exam length (`max_items`) the pairs came from.
    pub items: usize,
    /// The line.
    #[serde(flatten)]
    pub link: ScoreLink,
    /// Lines of group scores (per value of a tag, e.g. each category), fitted
    /// the same way on the same exams' predicted and observed group scores.
    /// A group score's posterior interval leaves out the model's own
    /// strength by subject, which one ability cannot see in a few items:
    /// on held-out MMLU-Pro models the per-category posterior intervals of
    /// 50-item exams held the observed category score in 35% of exams, the
    /// lines' prediction intervals in 93% (`docs/validation.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupLink>,
    /// The measured coverage of the line's 95% prediction intervals
    /// ([`ScoreLink::cross_validated_coverage`]); `None` in files written
    /// before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
}

impl LengthLink {
    /// The line of the group of items with value `value` of tag `tag`.
    pub fn group(&self, tag: &str, value: &str) -> Option<&ScoreLink> {
        self.groups
            .iter()
            .find(|g| g.tag == tag && g.value == value)
            .map(|g| &g.link)
    }
}

/// The line of one group's score in a [`LengthLink`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLink {
    /// The tag (e.g. `category`).
    pub tag: String,
    /// The tag's value that defines the group.
    pub value: String,
    /// The line.
    #[serde(flatten)]
    pub link: ScoreLink,
    /// The measured coverage of the line's 95% prediction intervals, as
    /// for [`LengthLink::coverage`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
}

/// Lines whose measured coverage falls below this are said not to hold
/// their 95% level: with tens of models a measured coverage is itself
/// uncertain (22 examinees x 20 seeds: about +-2 points for the bank line),
/// so the floor leaves room for that and flags only a clear shortfall.
pub const COVERAGE_FLOOR: f64 = 0.90;

/// Where a stated interval comes from, and so whether it can be trusted to
/// hold its level on a model outside the calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalBasis {
    /// A line of the error model whose measured coverage reached
    /// [`COVERAGE_FLOOR`] (or was not measured).
    ErrorModel,
    /// A line of the error model whose measured coverage fell short of
    /// [`COVERAGE_FLOOR`]: too little calibration data for this group to
    /// state an honest interval.
    ErrorModelShort,
    /// The exam's posterior alone: it counts the exam's measurement error,
    /// not the calibration's, and does not hold its level on models outside
    /// the calibration.
    Posterior,
}

impl IntervalBasis {
    /// The basis of an interval through a line of measured `coverage`.
    pub fn of_line(coverage: Option<f64>) -> Self {
        match coverage {
            Some(c) if c < COVERAGE_FLOOR => IntervalBasis::ErrorModelShort,
            _ => IntervalBasis::ErrorModel,
        }
    }
}

/// Score links of one plan at several lengths, as saved by
/// `fangsheng evaluate --write-score-link` and read by
/// `--score-link` of `simulate` and `exam`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreLinkFile {
    /// [`SCORE_LINK_FORMAT`].
    pub format: String,
    /// Where the pairs came from (responses, calibration, examinees).
    pub source: String,
    /// The plan of the exams, with `max_items` and `min_items` set to 0 and
    /// no pretest: a link only holds for exams of the same plan (a file
    /// written before plans had `ties` holds for `ties = "first"`).
    #[serde(deserialize_with = "super::plan::saved_plan")]
    pub plan: Plan,
    /// One line per length.
    pub links: Vec<LengthLink>,
    /// The calibration the file is the error model of (`path` and `sha256`
    /// of its parameter file): `exam` and `simulate` use the file found
    /// beside that calibration ([`ErrorModel::beside`]) only while the
    /// digest matches. Absent in a free-standing link file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<serde_json::Value>,
}

/// The error model found beside a parameter file `<stem>.json`: the score
/// link file `<stem>.link.json` written for it by `fangsheng evaluate
/// --error-model`.
#[derive(Debug, Clone)]
pub enum ErrorModel {
    /// No link file beside the parameter file.
    Absent,
    /// A link file written for another version of the parameter file (the
    /// digest it records differs): not used.
    Stale {
        /// The link file.
        path: PathBuf,
    },
    /// The link file of this calibration.
    Found {
        /// The link file.
        path: PathBuf,
        /// Its content.
        file: Box<ScoreLinkFile>,
    },
}

impl ErrorModel {
    /// Where the error model of parameter file `params` lives:
    /// `calibration/mmlu-pro/v1.json` -> `calibration/mmlu-pro/v1.link.json`.
    pub fn path_beside(params: &Path) -> PathBuf {
        let stem = params
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = stem
            .strip_suffix(".gz")
            .unwrap_or(&stem)
            .trim_end_matches(".json")
            .trim_end_matches(".csv");
        params.with_file_name(format!("{stem}.link.json"))
    }

    /// The error model of the calibration whose parameter file is `params`
    /// with content `params_bytes`.
    ///
    /// # Errors
    /// A link file that exists but cannot be read or is not a score-link
    /// file ([`ScoreLinkFile::load`]).
    pub fn beside(params: &Path, params_bytes: &[u8]) -> Result<ErrorModel> {
        let path = Self::path_beside(params);
        if !path.is_file() {
            return Ok(ErrorModel::Absent);
        }
        let file = ScoreLinkFile::load(&path)?;
        let recorded = file
            .calibration
            .as_ref()
            .and_then(|c| c.get("sha256"))
            .and_then(|d| d.as_str());
        if recorded != Some(sha256_hex(params_bytes).as_str()) {
            return Ok(ErrorModel::Stale { path });
        }
        Ok(ErrorModel::Found {
            path,
            file: Box::new(file),
        })
    }
}

impl ScoreLinkFile {
    /// A file for exams of `plan` (its lengths are the links' own).
    pub fn new(source: impl Into<String>, plan: &Plan, links: Vec<LengthLink>) -> Self {
        ScoreLinkFile {
            format: SCORE_LINK_FORMAT.to_owned(),
            source: source.into(),
            plan: without_length(plan),
            links,
            calibration: None,
        }
    }

    /// Reads a score-link file.
    ///
    /// # Errors
    /// I/O; not JSON or not this format ([`ErrorKind::Format`]); a line
    /// with a non-finite number ([`ErrorKind::Value`]); all naming `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::io::read_to_string(path)?;
        let file: ScoreLinkFile = serde_json::from_str(&text).map_err(|e| {
            Error::new(ErrorKind::Format, format!("not a score-link file: {e}")).in_file(path)
        })?;
        if file.format != SCORE_LINK_FORMAT {
            return Err(Error::new(
                ErrorKind::Format,
                format!("format '{}' is not {SCORE_LINK_FORMAT}", file.format),
            )
            .in_file(path));
        }
        if let Some(l) = file
            .links
            .iter()
            .find(|l| !(l.link.intercept.is_finite() && l.link.slope.is_finite()))
        {
            return Err(Error::new(
                ErrorKind::Value,
                format!(
                    "the {}-item line has a non-finite intercept or slope",
                    l.items
                ),
            )
            .in_file(path));
        }
        Ok(file)
    }

    /// Writes the file atomically (an existing file is replaced only when
    /// the new one is complete).
    ///
    /// # Errors
    /// I/O, naming `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_json_atomic(path, self, "score link")
    }

    /// The line for exams of `plan`: the plan must be the file's (apart
    /// from its lengths); the line is the one of `plan.max_items`, else of
    /// the longest length below it.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the plan settings that differ, or the
    /// lengths the file has when all are longer than the plan's.
    pub fn link_for(&self, plan: &Plan) -> Result<ScoreLink> {
        self.length_for(plan).map(|l| l.link)
    }

    /// The lines (bank and groups) for exams of `plan`, checked as
    /// [`ScoreLinkFile::link_for`] does.
    ///
    /// # Errors
    /// As [`ScoreLinkFile::link_for`].
    pub fn length_for(&self, plan: &Plan) -> Result<&LengthLink> {
        let a = serde_json::to_value(&self.plan).unwrap_or_default();
        let b = serde_json::to_value(without_length(plan)).unwrap_or_default();
        if !same_plan(&a, &b) {
            let differ: Vec<String> = match (a.as_object(), b.as_object()) {
                (Some(a), Some(b)) => {
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    keys.into_iter()
                        .filter(|k| match (a.get(*k), b.get(*k)) {
                            (Some(x), Some(y)) => !same_plan(x, y),
                            _ => true,
                        })
                        .cloned()
                        .collect()
                }
                _ => Vec::new(),
            };
            return Err(Error::config(format!(
                "the score link was fitted for another plan (differs in: {}); a link only holds for exams of its own plan",
                differ.join(", ")
            )));
        }
        // A length without a line of its own takes the longest shorter
        // one: exams grow more accurate with length, so the shorter line's
        // prediction interval is wider than the length's own would be.
        self.links
            .iter()
            .filter(|l| l.items <= plan.max_items)
            .max_by_key(|l| l.items)
            .ok_or_else(|| {
                let have: Vec<String> = self.links.iter().map(|l| l.items.to_string()).collect();
                Error::config(format!(
                    "the score link has lines for {} items, none for {} items or fewer",
                    have.join(", "),
                    plan.max_items
                ))
            })
    }
}

/// Whether two plans (as JSON) are the same plan, numbers within 1e-6:
/// content targets taken from a bank's tag shares differ in the last digits
/// after a JSON round trip, and between a leave-one-out fold's bank and the
/// whole bank.
pub fn same_plan(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_plan(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_plan(v, w)))
        }
        _ => a == b,
    }
}

/// The plan without what a link does not depend on: the lengths (a file
/// holds one line per length) and pretest seeding (pretest items are not
/// scored).
fn without_length(plan: &Plan) -> Plan {
    Plan {
        max_items: 0,
        min_items: 0,
        pretest: None,
        ..plan.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_recovered_and_applied() {
        // observed = 0.1 + 1.2 * predicted exactly, so the fit is exact.
        let pairs: Vec<(f64, f64)> = (0..10)
            .map(|i| {
                let p = 0.2 + 0.05 * i as f64;
                (p, 0.1 + 1.2 * p - 0.15)
            })
            .collect();
        let link = ScoreLink::fit(&pairs);
        assert!((link.slope - 1.2).abs() < 1e-12, "{link:?}");
        assert!((link.intercept + 0.05).abs() < 1e-12, "{link:?}");
        assert_eq!(link.n, 10);
        assert!(link.residual_sd < 1e-12);
        assert!((link.apply(0.5) - 0.55).abs() < 1e-12);
        assert_eq!(link.to_string(), "-0.050000 + 1.200000 x");
        // Clamped to a proportion.
        assert_eq!(link.apply(0.95), 1.0);
        assert_eq!(link.apply(0.0), 0.0);
    }

    #[test]
    fn residual_sd_matches_a_hand_computation() {
        // Points (0,0), (1,1), (2,0), (3,1): OLS slope 0.2, intercept 0.2,
        // residuals -0.2, 0.6, -0.6, 0.2, RSS 0.8, SD sqrt(0.8 / 2).
        let link = ScoreLink::fit(&[(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (3.0, 1.0)]);
        assert!((link.slope - 0.2).abs() < 1e-12, "{link:?}");
        assert!((link.intercept - 0.2).abs() < 1e-12, "{link:?}");
        assert!((link.residual_sd - 0.4f64.sqrt()).abs() < 1e-12, "{link:?}");
    }

    #[test]
    fn too_few_or_flat_pairs_give_the_identity() {
        assert_eq!(ScoreLink::fit(&[]), ScoreLink::IDENTITY);
        assert_eq!(
            ScoreLink::fit(&[(0.3, 0.4), (0.5, 0.6)]),
            ScoreLink::IDENTITY
        );
        assert_eq!(
            ScoreLink::fit(&[(0.3, 0.4), (0.3, 0.6), (0.3, 0.1)]),
            ScoreLink::IDENTITY
        );
        // Non-finite pairs do not count toward the three.
        assert_eq!(
            ScoreLink::fit(&[(0.3, 0.4), (0.5, f64::NAN), (0.6, 0.7)]),
            ScoreLink::IDENTITY
        );
        assert_eq!(ScoreLink::IDENTITY.apply(0.37), 0.37);
    }

    #[test]
    fn cross_validation_leaves_each_examinee_out_whole() {
        // Two seeds per examinee with identical pairs: if a pair were
        // linked with a line fitted on its twin, an outlier examinee would
        // pull its own line toward itself and look better than it is.
        let base = [(0.2, 0.2), (0.4, 0.4), (0.6, 0.6), (0.8, 0.8)];
        let mut pairs = Vec::new();
        let mut groups = Vec::new();
        for (g, &p) in base.iter().enumerate() {
            for _ in 0..2 {
                pairs.push(p);
                groups.push(g);
            }
        }
        // On a perfect line every left-out pair is predicted exactly.
        assert!(ScoreLink::cross_validated_mae(&pairs, &groups) < 1e-12);
        // Move one examinee off the line: its error is judged by the line
        // of the other three (exactly y = p), so it is its full offset.
        pairs[6].1 = 0.7;
        pairs[7].1 = 0.7;
        let mae = ScoreLink::cross_validated_mae(&pairs, &groups);
        let by_hand = {
            // Fits without examinee 0, 1, 2 pass through (0.8, 0.7) and the
            // others; compute them with the fit itself, but examinee 3's
            // term must be exactly 0.1.
            let mut s = 0.0;
            for g in 0..4 {
                let rest: Vec<(f64, f64)> = pairs
                    .iter()
                    .zip(&groups)
                    .filter(|&(_, &h)| h != g)
                    .map(|(&q, _)| q)
                    .collect();
                let l = ScoreLink::fit(&rest);
                s += 2.0 * (l.apply(pairs[2 * g].0) - pairs[2 * g].1).abs();
            }
            s / 8.0
        };
        assert!((mae - by_hand).abs() < 1e-12);
        let without_3: Vec<(f64, f64)> = pairs[..6].to_vec();
        assert!((ScoreLink::fit(&without_3).apply(0.8) - 0.8).abs() < 1e-12);
        assert!(ScoreLink::cross_validated_mae(&[], &[]).is_infinite());
    }

    #[test]
    fn a_fitted_link_gives_the_prediction_interval() {
        let link = ScoreLink {
            intercept: -0.05,
            slope: 1.2,
            n: 420,
            residual_sd: 0.02,
            examinees: 21,
        };
        let posterior = PredictedScore {
            mean: 0.5,
            lo: 0.4,
            hi: 0.6,
        };
        let s = link.apply_score(posterior, 0.95);
        // t(19) at 0.975 is 2.0930241 (tables); sqrt(1 + 1/21) = 1.0235326.
        let half = 0.02 * 2.093_024_1 * 1.023_532_6;
        assert!((s.mean - 0.55).abs() < 1e-12);
        assert!((s.lo - (0.55 - half)).abs() < 1e-6, "{s:?}");
        assert!((s.hi - (0.55 + half)).abs() < 1e-6, "{s:?}");
        // Wider at a higher level, clamped at the ends of the scale.
        assert!(link.half_width(0.99).unwrap() > half);
        let top = link.apply_score(
            PredictedScore {
                mean: 0.85,
                ..posterior
            },
            0.95,
        );
        assert_eq!(top.hi, 1.0);
        // A file from before `examinees` was kept counts each pair.
        let old = ScoreLink {
            examinees: 0,
            n: 21,
            ..link
        };
        assert!((old.half_width(0.95).unwrap() - half).abs() < 1e-6);
    }

    #[test]
    fn without_a_line_the_posterior_interval_is_mapped() {
        let s = ScoreLink::IDENTITY.apply_score(
            PredictedScore {
                mean: 0.5,
                lo: 0.4,
                hi: 0.6,
            },
            0.95,
        );
        assert_eq!((s.mean, s.lo, s.hi), (0.5, 0.4, 0.6));
        // Two examinees are no line to speak of, however many pairs.
        let two = ScoreLink::fit_grouped(
            &[(0.3, 0.4), (0.31, 0.4), (0.5, 0.6), (0.52, 0.61)],
            &[0, 0, 1, 1],
        );
        assert_eq!((two.n, two.examinees), (4, 2));
        assert!(two.half_width(0.95).is_none());
        let down = ScoreLink {
            slope: -1.0,
            intercept: 1.0,
            n: 2,
            residual_sd: 0.0,
            examinees: 2,
        };
        let s = down.apply_score(
            PredictedScore {
                mean: 0.5,
                lo: 0.4,
                hi: 0.7,
            },
            0.95,
        );
        assert!(s.lo <= s.mean && s.mean <= s.hi, "{s:?}");
    }

    #[test]
    fn grouped_fits_count_examinees_with_a_usable_pair() {
        let pairs = [
            (0.2, 0.25),
            (0.21, 0.25),
            (0.4, 0.5),
            (0.6, f64::NAN),
            (0.8, 0.9),
        ];
        let link = ScoreLink::fit_grouped(&pairs, &[0, 0, 1, 2, 3]);
        assert_eq!((link.n, link.examinees), (4, 3));
        let plain = ScoreLink::fit(&pairs);
        assert_eq!(plain.examinees, 4);
        assert_eq!((plain.intercept, plain.slope), (link.intercept, link.slope));
    }

    /// Coverage by simulation: scores observed as a line of the prediction
    /// plus normal noise (SD 0.03), 20 examinees to fit each link, a new
    /// examinee to cover; 4,000 replications. The interval leaves out the
    /// slope's uncertainty, which costs a little coverage away from the
    /// mean prediction, so the tolerance is asymmetric around 0.95.
    #[test]
    fn prediction_intervals_cover_new_examinees_about_as_often_as_stated() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let observe = |p: f64, rng: &mut rand_chacha::ChaCha8Rng| {
            -0.06 + 1.14 * p + 0.03 * crate::simulate::standard_normals(1, rng)[0]
        };
        let (mut inside, reps) = (0, 4000);
        for _ in 0..reps {
            let pairs: Vec<(f64, f64)> = (0..20)
                .map(|_| {
                    let p = rng.random_range(0.2..0.8);
                    (p, observe(p, &mut rng))
                })
                .collect();
            let link = ScoreLink::fit(&pairs);
            let p = rng.random_range(0.2..0.8);
            let y = observe(p, &mut rng);
            let s = link.apply_score(
                PredictedScore {
                    mean: p,
                    lo: p,
                    hi: p,
                },
                0.95,
            );
            if s.lo <= y && y <= s.hi {
                inside += 1;
            }
        }
        let coverage = inside as f64 / reps as f64;
        assert!((0.925..=0.965).contains(&coverage), "coverage {coverage}");
    }

    #[test]
    fn a_file_round_trips_and_holds_only_for_its_plan_and_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.json");
        let plan = Plan {
            max_items: 50,
            ..Plan::default()
        };
        let line = ScoreLink {
            intercept: -0.06,
            slope: 1.14,
            n: 22,
            residual_sd: 0.03,
            examinees: 22,
        };
        let file = ScoreLinkFile::new(
            "test",
            &plan,
            vec![
                LengthLink {
                    items: 25,
                    link: ScoreLink::IDENTITY,
                    groups: Vec::new(),
                    coverage: None,
                },
                LengthLink {
                    items: 50,
                    link: line,
                    groups: vec![GroupLink {
                        tag: "category".into(),
                        value: "math".into(),
                        link: ScoreLink { slope: 1.3, ..line },
                        coverage: Some(0.85),
                    }],
                    coverage: Some(0.94),
                },
            ],
        );
        file.save(&path).unwrap();
        let back = ScoreLinkFile::load(&path).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.link_for(&plan).unwrap(), line);
        let fifty = back.length_for(&plan).unwrap();
        assert_eq!(fifty.group("category", "math").unwrap().slope, 1.3);
        assert!(fifty.group("category", "law").is_none());
        assert!(fifty.group("dimension", "math").is_none());
        // A length without group lines writes no `groups` key, so files
        // without group lines read as before.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("\"groups\"").count(), 1, "{text}");
        // Another length of the same plan.
        let short = Plan {
            max_items: 25,
            min_items: 5,
            ..plan.clone()
        };
        assert_eq!(back.link_for(&short).unwrap(), ScoreLink::IDENTITY);
        // A length between two lines takes the shorter one's line (its
        // interval is the wider); one below every line has none.
        let between = Plan {
            max_items: 40,
            ..plan.clone()
        };
        assert_eq!(back.length_for(&between).unwrap().items, 25);
        let missing = Plan {
            max_items: 20,
            ..plan.clone()
        };
        let e = back.link_for(&missing).unwrap_err().to_string();
        assert!(e.contains("25, 50") && e.contains("20"), "{e}");
        // Another plan.
        let other = Plan {
            select: crate::cat::SelectRule::Random,
            ..plan.clone()
        };
        let e = back.link_for(&other).unwrap_err().to_string();
        assert!(e.contains("differs in: select"), "{e}");
        // A file written before plans had `ties` was fitted on first-twin
        // exams: it holds for those, not for the default random ties.
        let mut old = serde_json::to_value(&back).unwrap();
        old["plan"].as_object_mut().unwrap().remove("ties");
        std::fs::write(&path, old.to_string()).unwrap();
        let old = ScoreLinkFile::load(&path).unwrap();
        let e = old.link_for(&plan).unwrap_err().to_string();
        assert!(e.contains("differs in: ties"), "{e}");
        let first = Plan {
            ties: crate::cat::Ties::First,
            ..plan.clone()
        };
        assert_eq!(old.link_for(&first).unwrap(), line);
    }

    #[test]
    fn cross_validated_coverage_is_near_the_level_for_a_true_line() {
        use rand::{Rng, SeedableRng};
        // 60 examinees x 3 seeds on `observed = -0.06 + 1.14 p + N(0, 0.03)`:
        // each examinee's intervals come from the line fitted on the others.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut pairs, mut groups) = (Vec::new(), Vec::new());
        for g in 0..60 {
            let p = rng.random_range(0.2..0.8);
            for _ in 0..3 {
                let noise = 0.03 * crate::simulate::standard_normals(1, &mut rng)[0];
                pairs.push((p, -0.06 + 1.14 * p + noise));
                groups.push(g);
            }
        }
        let c = ScoreLink::cross_validated_coverage(&pairs, &groups, 0.95).unwrap();
        assert!((0.90..=0.99).contains(&c), "{c}");
        // A line fitted on too little: two examinees give no interval from
        // the others' single examinee, so nothing is held.
        let few = [(0.3, 0.31), (0.5, 0.52)];
        assert_eq!(
            ScoreLink::cross_validated_coverage(&few, &[0, 1], 0.95),
            Some(0.0)
        );
        assert_eq!(ScoreLink::cross_validated_coverage(&[], &[], 0.95), None);
        assert_eq!(
            IntervalBasis::of_line(Some(0.93)),
            IntervalBasis::ErrorModel
        );
        assert_eq!(
            IntervalBasis::of_line(Some(0.85)),
            IntervalBasis::ErrorModelShort
        );
        assert_eq!(IntervalBasis::of_line(None), IntervalBasis::ErrorModel);
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{\"format\": \"fangsheng-params/1\"}").unwrap();
        let e = ScoreLinkFile::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("bad.json") && e.contains("not a score-link file"),
            "{e}"
        );
        let file = ScoreLinkFile::new("t", &Plan::default(), Vec::new());
        let mut v = serde_json::to_value(&file).unwrap();
        v["format"] = "fangsheng-score-link/9".into();
        std::fs::write(&path, v.to_string()).unwrap();
        let e = ScoreLinkFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("fangsheng-score-link/9"), "{e}");
        // A group line without its tag is not a score-link file.
        let mut v = serde_json::to_value(&file).unwrap();
        v["links"] = serde_json::json!([{"items": 50, "intercept": 0.0, "slope": 1.0,
            "n": 0, "residual_sd": 0.0, "groups": [{"value": "law", "intercept": 0.0,
            "slope": 1.0, "n": 0, "residual_sd": 0.0}]}]);
        std::fs::write(&path, v.to_string()).unwrap();
        let e = ScoreLinkFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("tag"), "{e}");
        // A file that fails to save leaves the old one intact.
        let good = dir.path().join("good.json");
        file.save(&good).unwrap();
        let before = std::fs::read(&good).unwrap();
        assert!(file.save(&dir.path().join("no/such/dir/\0x")).is_err());
        assert_eq!(std::fs::read(&good).unwrap(), before);
    }
}
