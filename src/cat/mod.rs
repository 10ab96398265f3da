//! Adaptive exams: after each answer, re-estimate ability and ask the item
//! that is most informative for it.
//!
//! The loop has catsim's five steps, each a separate piece passed the
//! session's state explicitly:
//!
//! 1. **start** — the plan's [`Start`]: a fixed ability for the first
//!    selection, or a random pre-block of items;
//! 2. **select** — a [`SelectRule`] among the eligible items: not yet
//!    administered, not excluded (by the bank, the plan, or an enemy set of
//!    an administered item), in the content group that is furthest below
//!    its target ([`Content`]), in the a-stratum of the current stage, and
//!    let through by [`Exposure`] control; among items with identical
//!    parameters the seed draws one ([`Ties`]);
//! 3. **answer** — outside the library: the caller asks the item and grades
//!    it, then [`Session::record`]s the score;
//! 4. **estimate** — the plan's estimator (EAP by default; ML and WLE fall
//!    back to another estimator while every answer is at the same extreme);
//! 5. **stop** — the first [`StopReason`] that holds.
//!
//! A [`CatBank`] holds the calibrated items with their tags; a [`Plan`]
//! (TOML) says how exams run; a [`Design`] is a plan checked against a
//! bank, shared by many [`Session`]s. [`run`] runs a whole exam for one
//! examinee from an answer callback: it is the one adaptive loop, which
//! every exam goes through ([`run_session`] with a [`Respondent`]); [`calibrate_exposure`] sets
//! Sympson-Hetter or eligibility parameters by simulation.
//!
//! # Speed
//! Maximum-information selection does not evaluate every item: the bank
//! keeps logistic items in buckets of similar discrimination sorted by
//! difficulty, and an upper bound on information that falls with the
//! distance `|theta - b|` ends each bucket's outward walk early (module
//! `index`). `kl` and `min-variance` score a shortlist of the most
//! informative items. Predicted scores read a tabulated bank curve.

mod bank;
mod batch;
mod content;
mod curve;
mod design;
mod estimation;
mod exposure;
mod index;
mod metrics;
mod plan;
mod posterior;
mod predict;
mod replay;
mod run;
mod score_link;
mod select;
mod session;
mod state;
mod stop;
mod tags;
mod twins;

pub use crate::online::{NextItem, Pretest, PretestSelect};
pub use bank::CatBank;
pub use batch::{
    ExamResult, examinee_seed, normal_thetas, replay_all, simulate_all, simulated_examinee,
};
pub use content::{Content, DEFAULT_BALANCE_TAG, NO_BALANCE, bank_shares, default_balance};
pub use design::{Design, EXPOSURE_ROUNDS, EXPOSURE_SIMULEES};
pub use exposure::{Exposure, ExposureFit, ExposureParams, calibrate_exposure};
pub use metrics::{
    Summary, error_split, errors, exposure as exposure_stats, interval_coverage, spearman,
};
pub(crate) use plan::fill_saved_ties;
pub use plan::{Grid, Plan, Prior, Start};
pub use posterior::GridPosterior;
pub use predict::{BankScore, GroupScore, Prediction, bank_score};
pub use replay::Replay;
pub use run::{Answer, Outcome, PretestStep, Respondent, Run, Step, run, run_session};
pub use score_link::{
    COVERAGE_FLOOR, ErrorModel, GroupLink, IntervalBasis, LengthLink, SCORE_LINK_FORMAT, ScoreLink,
    ScoreLinkFile, same_plan,
};
pub use select::SelectRule;
pub use session::Session;
pub use state::{SESSION_FORMAT, SessionState};
pub use stop::{Classify, StopReason};
pub use tags::Tags;
pub use twins::Ties;

#[cfg(test)]
mod tests;
