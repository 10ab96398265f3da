//! Predicted benchmark scores: the proportion of the whole bank (and of
//! each tag group) an examinee is expected to score, from the posterior.
//!
//! With `f(theta)` the mean over a group's items of
//! `E[X_j | theta] / (K_j - 1)` (proportion correct for dichotomous items),
//! the prediction is the posterior mean `E[f(theta) | x]`, and its interval
//! maps the posterior quantiles of theta through `f`, which is increasing
//! (as [`crate::estimate::predicted_score`] does; here `f` is read from a
//! table built once per bank, see the bank's curves).
//!
//! # Blended bank score
//! [`BankScore::Model`] is the session's prediction: the posterior mean of
//! the bank's expected proportion `f(theta)`. [`BankScore::Blend`] uses that
//! the administered items are part of the bank and their answers are known:
//!
//! `p = (sum_{j in A} x_j / m_j + sum_{j not in A} E[E[X_j | theta] / m_j | x]) / N`
//!
//! with `A` the administered items, `m_j = K_j - 1` and `N` the bank size;
//! its interval is the model's shifted by the same amount.

use serde::{Deserialize, Serialize};

use super::curve::Curve;
use super::posterior::GridPosterior;
use super::score_link::IntervalBasis;
use super::session::Session;
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;
use crate::model::{Irf, ResponseModel};

/// The predicted score on one group of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    /// The tag value that defines the group.
    pub value: String,
    /// Number of items in the group.
    pub n_items: usize,
    /// The predicted proportion with its interval.
    pub score: PredictedScore,
    /// Where the interval comes from, and so whether it holds its level
    /// (set by exams; `None` where nothing says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<IntervalBasis>,
}

/// Predicted scores on the whole bank and per category and dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// On the whole bank.
    pub bank: PredictedScore,
    /// Per category (empty when no item has one).
    pub category: Vec<GroupScore>,
    /// Per dimension (empty when no item has one).
    pub dimension: Vec<GroupScore>,
}

/// How an exam's predicted score on the whole bank is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BankScore {
    /// The model's expected proportion under the posterior, for every item.
    Model,
    /// Observed answers on administered items, the model's expectation on
    /// the rest (the default).
    #[default]
    Blend,
}

impl std::str::FromStr for BankScore {
    type Err = Error;

    /// Parses `model` or `blend`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the valid values.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "model" => Ok(BankScore::Model),
            "blend" => Ok(BankScore::Blend),
            other => Err(Error::config(format!(
                "unknown bank score '{other}' (expected model or blend)"
            ))),
        }
    }
}

/// The predicted bank score of `session` under rule `score`.
pub fn bank_score(session: &Session, level: f64, score: BankScore) -> PredictedScore {
    let model = session.predicted_score(level);
    if score == BankScore::Model || session.responses().is_empty() {
        return model;
    }
    let irfs = session.bank().irfs();
    let post = session.posterior();
    let residual: f64 = session
        .responses()
        .iter()
        .map(|&(j, x)| {
            let irf = &irfs[j];
            let m = (irf.n_categories() - 1) as f64;
            (x as f64 - post.expect(|t| irf.expected_score(t))) / m
        })
        .sum();
    let shift = residual / irfs.len() as f64;
    PredictedScore {
        mean: (model.mean + shift).clamp(0.0, 1.0),
        lo: (model.lo + shift).clamp(0.0, 1.0),
        hi: (model.hi + shift).clamp(0.0, 1.0),
    }
}

pub(crate) fn predict(
    curve: &Curve,
    irfs: &[Irf],
    post: &GridPosterior,
    level: f64,
) -> PredictedScore {
    let level = if level.is_nan() {
        0.0
    } else {
        level.clamp(0.0, 1.0)
    };
    let tail = 0.5 * (1.0 - level);
    PredictedScore {
        mean: post.expect(|t| curve.eval(irfs, t)),
        lo: curve.eval(irfs, post.quantile(tail)),
        hi: curve.eval(irfs, post.quantile(1.0 - tail)),
    }
}

impl Session {
    /// The predicted proportion of the whole bank's maximum score, with the
    /// central `level` interval (e.g. 0.95).
    pub fn predicted_score(&self, level: f64) -> PredictedScore {
        let bank = self.bank();
        predict(bank.curve(), bank.irfs(), self.posterior(), level)
    }

    /// The predicted score on each group of items sharing a value of tag
    /// `tag`, in value order.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when no item has the tag.
    pub fn predicted_by(&self, tag: &str, level: f64) -> Result<Vec<GroupScore>> {
        let bank = self.bank();
        let groups = bank.tag_groups(tag).ok_or_else(|| {
            Error::config(format!("unknown tag '{tag}' (no item of the bank has it)"))
        })?;
        let post = self.posterior();
        Ok(groups
            .iter()
            .map(|g| GroupScore {
                value: g.value.clone(),
                n_items: g.curve.len(),
                score: predict(&g.curve, bank.irfs(), post, level),
                interval: None,
            })
            .collect())
    }

    /// Predicted scores on the bank and per category and dimension.
    pub fn prediction(&self, level: f64) -> Prediction {
        Prediction {
            bank: self.predicted_score(level),
            category: self.predicted_by("category", level).unwrap_or_default(),
            dimension: self.predicted_by("dimension", level).unwrap_or_default(),
        }
    }
}
