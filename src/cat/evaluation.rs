//! Running one plan for many examinees: replayed runs or simulated
//! examinees of known ability, in parallel and reproducibly.
//!
//! Examinee `i` of a run with seed `s` gets its own seed
//! [`examinee_seed`]`(s, i)` for the session's random choices (and, when
//! simulated, a second stream for its answers), so results do not depend on
//! the number of threads or on which other examinees are in the run.
//!
//! # Predicted bank score
//! [`BankScore::Model`] is the session's prediction: the posterior mean of
//! the bank's expected proportion `f(theta)`. [`BankScore::Blend`] uses that
//! the administered items are part of the bank and their answers are known:
//!
//! `p = (sum_{j in A} x_j / m_j + sum_{j not in A} E[E[X_j | theta] / m_j | x]) / N`
//!
//! with `A` the administered items, `m_j = K_j - 1` and `N` the bank size;
//! its interval is the model's shifted by the same amount.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::replay::Replay;
use super::session::Session;
use super::simulate::{Outcome, Step, simulated_examinee};
use super::stop::StopReason;
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;
use crate::model::ResponseModel;

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

/// A well-mixed seed for examinee `index` of a run seeded by `seed`
/// (SplitMix64 of both): neighbouring indexes get unrelated streams.
pub fn examinee_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of a simulated examinee's answers (a stream apart from the
/// session's).
fn answer_seed(seed: u64) -> u64 {
    examinee_seed(seed ^ 0x5EED_0FA5_5E55, 0)
}

/// Runs one exam of `design` answered by `answer` (as
/// [`simulate`](super::simulate)), with the predicted bank score formed by
/// `score`.
///
/// # Errors
/// A score outside the item's categories.
pub fn exam(
    design: &Arc<Design>,
    seed: u64,
    level: f64,
    score: BankScore,
    mut answer: impl FnMut(usize) -> Option<usize>,
) -> Result<Outcome> {
    let mut session = Session::start(Arc::clone(design), seed);
    let mut steps = Vec::with_capacity(design.plan().max_items);
    while let Some(j) = session.next_index() {
        match answer(j) {
            Some(x) => {
                session.record_index(j, x)?;
                let a = session.estimate();
                steps.push(Step {
                    item: j,
                    score: x,
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
        predicted: bank_score(&session, level, score),
        steps,
        skipped: session.skipped().len(),
    })
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

/// One examinee's exam in a run, with what it is compared against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamResult {
    /// Row of the examinee in the run.
    pub index: usize,
    /// The exam.
    pub outcome: Outcome,
    /// The full-run score: the observed proportion of the maximum over all
    /// recorded bank items (replay), or the true expected proportion of the
    /// bank (simulation).
    pub observed: f64,
    /// The true ability of a simulated examinee.
    pub true_theta: Option<f64>,
}

/// Runs `design` for every examinee of `replay` in parallel; examinee `e`'s
/// session is seeded by [`examinee_seed`]`(seed, e)`. `progress` is called
/// (from worker threads) after each exam with the number finished.
///
/// # Errors
/// As [`exam`].
pub fn replay_all(
    design: &Arc<Design>,
    replay: &Replay,
    seed: u64,
    level: f64,
    score: BankScore,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<ExamResult>> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    (0..replay.len())
        .into_par_iter()
        .map(|e| {
            let outcome = exam(design, examinee_seed(seed, e), level, score, |j| {
                replay.answer(e, j)
            })?;
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            Ok(ExamResult {
                index: e,
                outcome,
                observed: replay.observed(e),
                true_theta: None,
            })
        })
        .collect()
}

/// `n` abilities drawn from `N(0, 1)` with a generator seeded by `seed`.
pub fn normal_thetas(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    crate::simulate::standard_normals(n, &mut rng)
}

/// Runs `design` for simulated examinees of abilities `thetas` in parallel,
/// each answering from the items' response functions; the observed score
/// is the true expected proportion of the bank at its ability.
///
/// # Errors
/// As [`exam`].
pub fn simulate_all(
    design: &Arc<Design>,
    thetas: &[f64],
    seed: u64,
    level: f64,
    score: BankScore,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<ExamResult>> {
    let bank = design.bank();
    let done = std::sync::atomic::AtomicUsize::new(0);
    thetas
        .par_iter()
        .enumerate()
        .map(|(i, &theta)| {
            let s = examinee_seed(seed, i);
            let answers = simulated_examinee(bank.irfs(), theta, answer_seed(s));
            let outcome = exam(design, s, level, score, answers)?;
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            Ok(ExamResult {
                index: i,
                outcome,
                observed: bank.curve().eval(bank.irfs(), theta),
                true_theta: Some(theta),
            })
        })
        .collect()
}
