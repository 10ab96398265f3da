//! The held-out examinees' exams: one prediction per fold and seed.

use std::sync::Arc;

use rayon::prelude::*;

use super::fold::Fold;
use crate::cat::{BankScore, Design, Exposure, NextItem, SelectRule, Ties, examinee_seed, run};
use crate::error::Result;
use crate::estimate::PredictedScore;

/// One seed's predictions over the folds, and the items each exam asked
/// (bank indices; empty for a prediction that asks no items).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Per fold, the predicted bank score with its interval.
    pub predicted: Vec<PredictedScore>,
    /// Per fold, the items asked in order.
    pub exams: Vec<Vec<usize>>,
}

/// What one exam gives: the prediction and the items asked.
pub type Exam = (PredictedScore, Vec<usize>);

/// The adaptive exam of fold `f`'s held-out examinee under `design`,
/// replayed from its recorded run; its session is seeded by `seed` and the
/// examinee's row, and its predicted bank score formed by `score` with its
/// 95% interval.
///
/// # Errors
/// As [`run`].
pub fn adaptive_exam(f: &Fold, design: &Arc<Design>, score: BankScore, seed: u64) -> Result<Exam> {
    let exam = run(design, examinee_seed(seed, f.row), |next| match next {
        NextItem::Operational(j) => f.replay.answer(0, j),
        NextItem::Pretest(_) => None,
    })?;
    let items = exam.steps.iter().map(|s| s.item).collect();
    Ok((exam.outcome(0.95, score).predicted, items))
}

/// Every fold's exam `exam(fold index, seed)` for every seed. When
/// `random` is false the exams do not depend on the seed: the first seed
/// is run and copied to the others.
///
/// # Errors
/// The first error of `exam`.
pub fn held_out_runs(
    n_folds: usize,
    seeds: &[u64],
    random: bool,
    exam: impl Fn(usize, u64) -> Result<Exam> + Sync,
) -> Result<Vec<SeedRun>> {
    let distinct = if random { seeds } else { &seeds[..1] };
    let mut runs = distinct
        .iter()
        .map(|&s| {
            let outs: Vec<Exam> = (0..n_folds)
                .into_par_iter()
                .map(|fi| exam(fi, s))
                .collect::<Result<_>>()?;
            let (predicted, exams) = outs.into_iter().unzip();
            Ok(SeedRun {
                seed: s,
                predicted,
                exams,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for &s in &seeds[distinct.len()..] {
        let copy = SeedRun {
            seed: s,
            ..runs[0].clone()
        };
        runs.push(copy);
    }
    Ok(runs)
}

/// True when exams of `design` depend on the seed: random starts or
/// selection, random choice between twin items on a bank that has twins,
/// or exposure control that draws.
pub fn uses_randomness(design: &Design) -> bool {
    let plan = design.plan();
    plan.start.random_items > 0
        || plan.select == SelectRule::Random
        || (plan.ties == Ties::Random && design.bank().has_twins())
        || !matches!(plan.exposure, Exposure::None | Exposure::AStratified { .. })
        || matches!(plan.exposure, Exposure::Randomesque { k } if k > 1)
}
