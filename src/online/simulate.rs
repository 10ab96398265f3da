//! Simulated exams with pretest items: examinees of known ability answer
//! the operational items from the bank's response functions and the
//! pretest items from their true ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::cat::{
    BankScore, Design, ExamResult, Outcome, Session, Step, StopReason, bank_score, examinee_seed,
    simulated_examinee,
};
use crate::error::{Error, Result};
use crate::model::Irf;

/// One simulated exam with its pretest answers.
#[derive(Debug, Clone, PartialEq)]
pub struct PretestExam {
    /// The operational exam, as [`crate::cat::simulate_all`] reports it.
    pub result: ExamResult,
    /// Pretest answers `(pool index, score)` in order.
    pub pretest: Vec<(usize, usize)>,
    /// Position of each pretest answer among all the exam's steps (0-based).
    pub positions: Vec<usize>,
}

/// Runs `design` (whose plan seeds pretest items) for examinees of
/// abilities `thetas`; `truth[p]` answers pool item `p`. Seeds follow
/// [`crate::cat::simulate_all`]: examinee `i`'s session is seeded by
/// [`examinee_seed`]`(seed, i)` and its operational answers come from the
/// same stream as there, so the operational exams equal those of the plan
/// without pretest; pretest answers use a stream of their own.
///
/// # Errors
/// A pool whose length differs from `truth`'s ([`ErrorKind::Config`](crate::ErrorKind::Config));
/// as [`Session::record_next`].
pub fn simulate_pretest(
    design: &Arc<Design>,
    thetas: &[f64],
    truth: &[Irf],
    seed: u64,
    level: f64,
    score: BankScore,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<PretestExam>> {
    let pool = design.plan().pretest.as_ref().map_or(0, |p| p.items.len());
    if pool != truth.len() {
        return Err(Error::config(format!(
            "{} true response functions for a pretest pool of {pool} items",
            truth.len()
        )));
    }
    let bank = design.bank();
    let done = AtomicUsize::new(0);
    thetas
        .par_iter()
        .enumerate()
        .map(|(i, &theta)| {
            let s = examinee_seed(seed, i);
            // The operational answer stream of `simulate_all`.
            let mut answer =
                simulated_examinee(bank.irfs(), theta, examinee_seed(s ^ 0x5EED_0FA5_5E55, 0));
            let mut pre_rng = ChaCha8Rng::seed_from_u64(examinee_seed(s ^ 0x9E7E_5700, 1));
            let mut session = Session::start(Arc::clone(design), s);
            let (mut steps, mut pretest, mut positions) = (Vec::new(), Vec::new(), Vec::new());
            while let Some(next) = session.next_any() {
                match next {
                    crate::online::NextItem::Operational(j) => {
                        let x = answer(j).unwrap_or(0);
                        session.record_next(next, x)?;
                        let a = session.estimate();
                        steps.push(Step {
                            item: j,
                            score: x,
                            theta: a.theta,
                            se: a.se,
                        });
                    }
                    crate::online::NextItem::Pretest(p) => {
                        let x =
                            crate::simulate::draw_score(&truth[p], theta, &mut pre_rng) as usize;
                        session.record_next(next, x)?;
                        positions.push(steps.len() + pretest.len());
                        pretest.push((p, x));
                    }
                }
            }
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            Ok(PretestExam {
                result: ExamResult {
                    index: i,
                    outcome: Outcome {
                        ability: session.estimate(),
                        stop_reason: session.stop_reason().unwrap_or(StopReason::Exhausted),
                        predicted: bank_score(&session, level, score),
                        steps,
                        skipped: session.skipped().len(),
                    },
                    observed: bank.curve().eval(bank.irfs(), theta),
                    true_theta: Some(theta),
                },
                pretest,
                positions,
            })
        })
        .collect()
}
