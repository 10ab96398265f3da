//! Running one plan for many examinees: replayed runs or simulated
//! examinees of known ability, in parallel and reproducibly.
//!
//! Examinee `i` of a run with seed `s` gets its own seed
//! [`examinee_seed`]`(s, i)` for the session's random choices (and, when
//! simulated, streams of its own for its operational and pretest answers),
//! so results do not depend on the number of threads or on which other
//! examinees are in the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::design::Design;
use super::predict::BankScore;
use super::replay::Replay;
use super::run::{Outcome, run};
use crate::error::{Error, Result};
use crate::model::Irf;
use crate::online::NextItem;

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

/// The seed of a simulated examinee's operational answers (a stream apart
/// from the session's).
fn answer_seed(seed: u64) -> u64 {
    examinee_seed(seed ^ 0x5EED_0FA5_5E55, 0)
}

/// The seed of a simulated examinee's pretest answers (apart from its
/// operational ones, so seeding pretest items changes none of those).
fn pretest_seed(seed: u64) -> u64 {
    examinee_seed(seed ^ 0x9E7E_5700, 1)
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
/// session is seeded by [`examinee_seed`]`(seed, e)`. Pretest items, which
/// a recorded run has no answers to, are skipped. `progress` is called
/// (from worker threads) after each exam with the number finished.
///
/// # Errors
/// As [`run`].
pub fn replay_all(
    design: &Arc<Design>,
    replay: &Replay,
    seed: u64,
    level: f64,
    score: BankScore,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<ExamResult>> {
    let done = AtomicUsize::new(0);
    (0..replay.len())
        .into_par_iter()
        .map(|e| {
            let exam = run(design, examinee_seed(seed, e), |next| match next {
                NextItem::Operational(j) => replay.answer(e, j),
                NextItem::Pretest(_) => None,
            })?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            Ok(ExamResult {
                index: e,
                outcome: exam.outcome(level, score),
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
/// each answering the operational items from the bank's response functions
/// and the plan's pretest items from `pretest[p]`, the true response
/// function of pool item `p` (without one, pretest items are skipped). The
/// observed score is the true expected proportion of the bank at the
/// examinee's ability. The operational exams are the same with and without
/// pretest items.
///
/// # Errors
/// A `pretest` whose length differs from the plan's pool
/// ([`ErrorKind::Config`](crate::ErrorKind::Config)); as [`run`].
pub fn simulate_all(
    design: &Arc<Design>,
    thetas: &[f64],
    pretest: Option<&[Irf]>,
    seed: u64,
    level: f64,
    score: BankScore,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<ExamResult>> {
    let pool = design.plan().pretest.as_ref().map_or(0, |p| p.items.len());
    if let Some(truth) = pretest.filter(|t| t.len() != pool) {
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
            let mut operational = simulated_examinee(bank.irfs(), theta, answer_seed(s));
            let mut pretest_rng = ChaCha8Rng::seed_from_u64(pretest_seed(s));
            let exam = run(design, s, |next| match next {
                NextItem::Operational(j) => operational(j),
                NextItem::Pretest(p) => pretest.map(|truth| {
                    crate::simulate::draw_score(&truth[p], theta, &mut pretest_rng) as usize
                }),
            })?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            Ok(ExamResult {
                index: i,
                outcome: exam.outcome(level, score),
                observed: bank.curve().eval(bank.irfs(), theta),
                true_theta: Some(theta),
            })
        })
        .collect()
}
