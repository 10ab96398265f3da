//! Running a whole exam for one examinee whose answers come from a callback:
//! a simulated examinee of known ability, or the replay of a recorded run.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::session::Session;
use super::stop::StopReason;
use crate::error::Result;
use crate::estimate::{Ability, PredictedScore};
use crate::model::Irf;

/// One step of an exam: the item asked, the answer, the estimate after it.
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

/// The result of one simulated exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The final estimate.
    pub ability: Ability,
    /// Why the exam ended.
    pub stop_reason: StopReason,
    /// Predicted proportion of the whole bank, with its interval.
    pub predicted: PredictedScore,
    /// Every answered step, in order.
    pub steps: Vec<Step>,
    /// Items selected for which the answer source had no answer.
    pub skipped: usize,
}

/// Runs one exam of `design` with random choices from `seed`.
///
/// `answer(j)` gives the examinee's score on bank item `j`, or `None` when
/// it has none (a replayed run missing that item): the item is then
/// skipped, counted in [`Outcome::skipped`], and the next best item is
/// selected instead. `level` is the predicted score's interval level.
///
/// # Errors
/// A score outside the item's categories ([`ErrorKind::Value`](crate::ErrorKind::Value)).
pub fn simulate(
    design: &Arc<Design>,
    seed: u64,
    level: f64,
    mut answer: impl FnMut(usize) -> Option<usize>,
) -> Result<Outcome> {
    let mut session = Session::start(Arc::clone(design), seed);
    let mut steps = Vec::with_capacity(design.plan().max_items);
    while let Some(j) = session.next_index() {
        match answer(j) {
            Some(score) => {
                session.record_index(j, score)?;
                let a = session.estimate();
                steps.push(Step {
                    item: j,
                    score,
                    theta: a.theta,
                    se: a.se,
                });
            }
            None => session.skip_index(j)?,
        }
    }
    Ok(Outcome {
        ability: session.estimate(),
        stop_reason: session.stop_reason().unwrap_or(StopReason::Exhausted),
        predicted: session.predicted_score(level),
        steps,
        skipped: session.skipped().len(),
    })
}

/// An answer source for an examinee of known ability `theta`: scores drawn
/// from the items' response functions with a generator seeded by `seed`.
pub fn simulated_examinee(
    irfs: &[Irf],
    theta: f64,
    seed: u64,
) -> impl FnMut(usize) -> Option<usize> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    move |j| Some(crate::simulate::draw_score(&irfs[j], theta, &mut rng) as usize)
}
