//! Adaptive exams of a model through a backend, journalled step by step.
//!
//! One exam is the loop of [`crate::cat::Session`] with a real answerer:
//! choose the next item, render its prompt ([`crate::prompt`]), ask the
//! backend ([`crate::respond`]), grade the output ([`crate::grade`]), record
//! the score, and append the step to the [`Journal`] — written and synced to
//! disk before the next item is chosen, so a crash loses at most the request
//! in flight. [`run`] starts an exam or resumes one from its journal: the
//! recorded answers are replayed into a fresh session (item selection is
//! deterministic for a seed), so a resumed exam asks no item twice and ends
//! with the same result as an uninterrupted one. [`ExamResult`] is what an
//! exam reports.

mod journal;
mod result;
mod runner;

pub use journal::{Contents, Header, JOURNAL_FORMAT, Journal, Step};
pub use result::{
    AppliedGroupLink, AppliedLink, Calibration, ExamResult, PromptRecord, RESULT_FORMAT,
};
pub use runner::{Exam, Progress, answer_key, run};
