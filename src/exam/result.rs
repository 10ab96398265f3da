//! What an exam reports: the ability estimate, predicted benchmark scores,
//! and what it took to get them.

use serde::{Deserialize, Serialize};

use crate::cat::{IntervalBasis, Prediction, ScoreLink};
use crate::estimate::PredictedScore;
use crate::respond::{RequestRecord, TokenUsage};

/// The `format` value of the result files this version writes.
pub const RESULT_FORMAT: &str = "fangsheng-exam/1";

/// The calibration an exam used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The parameter file's `metadata.bank`.
    pub bank: Option<String>,
    /// Its `metadata.version`.
    pub version: Option<String>,
    /// SHA-256 of the file's bytes.
    pub digest: String,
}

/// The prompt an exam asked under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptRecord {
    /// Its format name ([`PromptSpec::format_name`](crate::prompt::PromptSpec::format_name)).
    pub format: String,
    /// SHA-256 of its settings ([`PromptSpec::hash`](crate::prompt::PromptSpec::hash)).
    pub hash: String,
    /// The format the calibration's runs were answered under, when the
    /// calibration records one (`metadata.provenance.prompt_format`).
    pub calibrated_format: Option<String>,
    /// Whether the calibration covers this prompt: `false` when the formats
    /// differ (the predictions assume the model answers as it did under the
    /// calibration's prompt, which nothing here has measured), `null` when
    /// the calibration records no format.
    pub covered: Option<bool>,
}

/// The result of one exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamResult {
    /// [`RESULT_FORMAT`].
    pub format: String,
    /// Who answered.
    pub backend: String,
    /// Ability estimate.
    pub theta: f64,
    /// Its standard error (`null` when infinite: no answer carried
    /// information).
    pub se: Option<f64>,
    /// `theta -/+ z se` at the level of `predicted_score`'s intervals.
    pub interval: Option<[f64; 2]>,
    /// Level of the intervals (0.95).
    pub level: f64,
    /// Predicted proportion correct on the whole bank and per category and
    /// dimension. With a score link, `bank` is the linked score (the
    /// category and dimension scores are the model's: the link was fitted
    /// on whole-bank scores only).
    pub predicted_score: Prediction,
    /// The score link applied to the bank score, when the exam had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_link: Option<AppliedLink>,
    /// Items answered (skipped ones not counted).
    pub items_used: usize,
    /// Items asked and skipped (no recorded answer).
    pub skipped: usize,
    /// Answers from which no answer could be extracted (scored wrong).
    pub unparseable: usize,
    /// Answers graded correct.
    pub correct: usize,
    /// Ids of the answered items, in order.
    pub items: Vec<String>,
    /// Why the exam stopped.
    pub stop_reason: String,
    /// Bank name.
    pub bank: String,
    /// Bank content digest.
    pub bank_digest: String,
    /// The calibration.
    pub calibration: Calibration,
    /// Seed of the session.
    pub seed: u64,
    /// Tokens used in all.
    pub tokens: TokenUsage,
    /// Sum of the successful requests' latencies, seconds.
    pub latency_seconds: f64,
    /// Sum of the time to each reply, retries included, seconds.
    pub elapsed_seconds: f64,
    /// Attempts in all.
    pub attempts: u64,
    /// When the exam began, UTC, RFC 3339 (a resumed exam keeps the time
    /// its journal began); `null` when unknown (results and journals
    /// written before exams recorded times).
    #[serde(default)]
    pub started: Option<String>,
    /// When the exam ended (its result was made), UTC, RFC 3339.
    #[serde(default)]
    pub finished: Option<String>,
    /// The software that ran the exam (`fangsheng 0.1.0`).
    #[serde(default)]
    pub software: String,
    /// What was sent to the model besides the prompts: its name, the
    /// endpoint and the sampling parameters (backends that call a server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestRecord>,
    /// The prompt format, and whether the calibration covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptRecord>,
    /// Whether the bank score and its interval come through an error model
    /// (`score_link`, fitted by leave-one-model-out) rather than the exam's
    /// posterior alone.
    #[serde(default)]
    pub error_model: bool,
    /// Where the bank score's interval comes from, and so whether it holds
    /// its level (each category and dimension score says the same of its
    /// own in `predicted_score`); `null` in results written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_interval: Option<IntervalBasis>,
    /// Whether the model examined (`request.model`) is one the calibration
    /// was fitted on: its prediction is then not a new model's, and the
    /// error model, which describes new models, does not describe it.
    /// `null` when the calibration names no examinees or nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_sample: Option<bool>,
}

/// A score link as applied to one exam's bank score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedLink {
    /// The line (`linked = intercept + slope * model score`).
    #[serde(flatten)]
    pub link: ScoreLink,
    /// The exam length the line was fitted for (the exam's own, or the
    /// longest fitted length below it).
    pub items: usize,
    /// The score-link file the line came from (the calibration's error
    /// model, or a file given with --score-link). Empty in results written
    /// before it was recorded.
    #[serde(default)]
    pub source: String,
    /// The model's bank score before linking.
    pub unlinked: PredictedScore,
    /// The group scores linked by their own lines (the file's group lines
    /// for this length), each with the model's score before linking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<AppliedGroupLink>,
}

/// A group line as applied to one exam's group score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedGroupLink {
    /// The tag (`category` or `dimension`).
    pub tag: String,
    /// The tag's value.
    pub value: String,
    /// The line.
    #[serde(flatten)]
    pub link: ScoreLink,
    /// The model's group score before linking.
    pub unlinked: PredictedScore,
}
