//! The adaptive loop, written once: select, answer, record, estimate,
//! stop. Every exam runs through [`run_session`] — simulated and replayed
//! exams ([`run`], [`replay_all`](super::replay_all),
//! [`simulate_all`](super::simulate_all)), exams against a backend with
//! their journal ([`crate::exam::run`]) and the evaluations built on the
//! engine — and they differ only in where the answers come from.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::design::Design;
use super::predict::{BankScore, bank_score};
use super::session::Session;
use super::stop::StopReason;
use crate::error::{Error, Result};
use crate::estimate::{Ability, PredictedScore};
use crate::online::NextItem;

/// What the examinee did with an item it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An answer with this score.
    Score(usize),
    /// No answer (a replayed run without that item, a backend with no
    /// recording of it): the item is not asked again, does not count
    /// toward the length, and the next best item is selected.
    Skip,
}

/// Where the answers of [`run_session`] come from.
pub trait Respondent {
    /// What a failure to answer is (a backend error, say).
    type Error: From<Error>;

    /// The answer to `item`, which `session` chose; `None` ends the exam
    /// before it (the answer source has nothing more to give).
    ///
    /// # Errors
    /// Whatever the source fails with; the exam stops there.
    fn answer(
        &mut self,
        session: &Session,
        item: NextItem,
    ) -> std::result::Result<Option<Answer>, Self::Error>;

    /// Called once `answer` has been recorded, so `session` holds the
    /// estimate after it (for a journal, a progress line). Does nothing by
    /// default.
    ///
    /// # Errors
    /// Whatever the callback fails with; the exam stops there.
    fn recorded(
        &mut self,
        session: &Session,
        item: NextItem,
        answer: Answer,
    ) -> std::result::Result<(), Self::Error> {
        let _ = (session, item, answer);
        Ok(())
    }
}

/// One answered operational step: the item asked, the answer, the
/// estimate after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Bank index of the item.
    pub item: usize,
    /// The score recorded.
    pub score: usize,
    /// Ability estimate after the answer.
    pub theta: f64,
    /// Its standard error.
    pub se: f64,
}

/// One answered pretest item: unscored, apart from the estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PretestStep {
    /// Index of the item in the plan's pretest pool.
    pub item: usize,
    /// The score recorded.
    pub score: usize,
    /// Its position among all the exam's answered steps, operational and
    /// pretest (0-based).
    pub position: usize,
}

/// A finished exam: the session as it stopped and what was answered.
#[derive(Debug)]
pub struct Run {
    /// The session after its last answer.
    pub session: Session,
    /// The answered operational steps, in order.
    pub steps: Vec<Step>,
    /// The answered pretest items, in order.
    pub pretest: Vec<PretestStep>,
    /// Whether the answer source ended the exam before a stopping rule did.
    pub ended: bool,
}

impl Run {
    /// The exam's summary with its predicted bank score formed by `score`
    /// at interval level `level`.
    pub fn outcome(&self, level: f64, score: BankScore) -> Outcome {
        Outcome {
            ability: self.session.estimate(),
            stop_reason: self.stop_reason(),
            predicted: bank_score(&self.session, level, score),
            steps: self.steps.clone(),
            pretest: self.pretest.clone(),
            skipped: self.session.skipped().len(),
        }
    }

    /// Why the exam ended: the stopping rule that held, or
    /// [`StopReason::Exhausted`] when the answer source ended it.
    pub fn stop_reason(&self) -> StopReason {
        self.session.stop_reason().unwrap_or(StopReason::Exhausted)
    }
}

/// The summary of one exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The final estimate.
    pub ability: Ability,
    /// Why the exam ended.
    pub stop_reason: StopReason,
    /// Predicted proportion of the whole bank, with its interval.
    pub predicted: PredictedScore,
    /// Every answered operational step, in order.
    pub steps: Vec<Step>,
    /// Every answered pretest item, in order (empty without pretest).
    pub pretest: Vec<PretestStep>,
    /// Items selected for which the answer source had no answer.
    pub skipped: usize,
}

/// Runs `session` to its end with answers from `respondent`.
///
/// # Errors
/// The respondent's errors; a score outside the item's categories.
pub fn run_session<R: Respondent + ?Sized>(
    mut session: Session,
    respondent: &mut R,
) -> std::result::Result<Run, R::Error> {
    let mut steps = Vec::with_capacity(session.plan().max_items);
    let mut pretest = Vec::new();
    let mut ended = false;
    while let Some(next) = session.next_any() {
        let Some(answer) = respondent.answer(&session, next)? else {
            ended = true;
            break;
        };
        match answer {
            Answer::Score(score) => {
                session.record_next(next, score)?;
                match next {
                    NextItem::Operational(item) => {
                        let a = session.estimate();
                        steps.push(Step {
                            item,
                            score,
                            theta: a.theta,
                            se: a.se,
                        });
                    }
                    NextItem::Pretest(item) => pretest.push(PretestStep {
                        item,
                        score,
                        position: steps.len() + pretest.len(),
                    }),
                }
            }
            Answer::Skip => session.skip_next(next)?,
        }
        respondent.recorded(&session, next, answer)?;
    }
    Ok(Run {
        session,
        steps,
        pretest,
        ended,
    })
}

/// A closure as a [`Respondent`]: `answer(item)` scores an item, `None`
/// skips it.
struct Answers<F>(F);

impl<F: FnMut(NextItem) -> Option<usize>> Respondent for Answers<F> {
    type Error = Error;

    fn answer(&mut self, _: &Session, item: NextItem) -> Result<Option<Answer>> {
        Ok(Some((self.0)(item).map_or(Answer::Skip, Answer::Score)))
    }
}

/// Runs one exam of `design` with random choices from `seed`; `answer`
/// scores each item asked (operational or pretest), `None` when the
/// source has no answer to it (the item is skipped, counted in
/// [`Outcome::skipped`], and the next best item is selected).
///
/// # Errors
/// A score outside the item's categories ([`ErrorKind::Value`](crate::ErrorKind::Value)).
pub fn run(
    design: &Arc<Design>,
    seed: u64,
    answer: impl FnMut(NextItem) -> Option<usize>,
) -> Result<Run> {
    run_session(
        Session::start(Arc::clone(design), seed),
        &mut Answers(answer),
    )
}
