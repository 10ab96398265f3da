//! What an adaptive exam is compared against: `k` items drawn at random
//! from the held-out examinee's recorded run, as plain accuracy and scored
//! with the fold's calibration, and the floor, the whole run scored.

use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal};

use super::fold::Fold;
use crate::cat::{BankScore, Design, Plan, Session, bank_score, examinee_seed};
use crate::error::Result;
use crate::estimate::PredictedScore;
use crate::model::ResponseModel;

/// The random-item baselines of one exam.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomExam {
    /// Plain accuracy on the items, with its 95% Wilson interval.
    pub accuracy: PredictedScore,
    /// The items scored with the fold's calibration ([`score_items`]).
    pub irt: PredictedScore,
    /// The items (bank indices), with the recorded scores.
    pub items: Vec<(u32, u8)>,
}

/// The `k` items (at most the whole run) drawn at random, seeded by `seed`
/// and the row of `f`'s held-out examinee, from the recorded run `run`
/// (bank index, score).
pub fn random_items(f: &Fold, run: &[(u32, u8)], k: usize, seed: u64) -> Vec<(u32, u8)> {
    let mut rng = ChaCha8Rng::seed_from_u64(examinee_seed(seed ^ 0xBA5E, f.row));
    sample(&mut rng, run.len(), k.min(run.len()))
        .into_iter()
        .map(|i| run[i])
        .collect()
}

/// `k = plan.max_items` random items of `f`'s held-out run
/// ([`random_items`]) as plain accuracy and scored under `plan`'s estimator
/// and prior with rule `score`.
///
/// # Errors
/// As [`score_items`].
pub fn random_exam(f: &Fold, plan: &Plan, score: BankScore, seed: u64) -> Result<RandomExam> {
    let items = random_items(f, f.replay.run(0), plan.max_items, seed);
    let irfs = f.bank.irfs();
    let correct = items
        .iter()
        .map(|&(j, x)| x as f64 / (irfs[j as usize].n_categories() - 1) as f64)
        .sum::<f64>();
    Ok(RandomExam {
        accuracy: wilson(correct, items.len(), 0.95),
        irt: score_items(f, plan, score, &items)?,
        items,
    })
}

/// The proportion `correct / n` with its central `level` Wilson score
/// interval (the binomial interval that stays inside [0, 1] and keeps its
/// coverage for proportions near 0 or 1, where most LLM accuracies on easy
/// items sit). NaN throughout for `n = 0`.
pub fn wilson(correct: f64, n: usize, level: f64) -> PredictedScore {
    if n == 0 {
        return PredictedScore {
            mean: f64::NAN,
            lo: f64::NAN,
            hi: f64::NAN,
        };
    }
    let nf = n as f64;
    let p = correct / nf;
    let z = Normal::standard().inverse_cdf((1.0 + level) / 2.0);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    PredictedScore {
        mean: p,
        lo: (centre - half).max(0.0),
        hi: (centre + half).min(1.0),
    }
}

/// A design of fold `f` that scores `n` given answers under `plan`'s
/// estimator and prior: nothing of the plan that chooses items (content,
/// exposure, exclusions, enemies) can refuse one of them.
///
/// # Errors
/// As [`Design::new`].
pub fn scoring_design(f: &Fold, plan: &Plan, n: usize) -> Result<Arc<Design>> {
    let plan = Plan {
        max_items: n.max(1),
        min_items: 0,
        content: None,
        exposure: Default::default(),
        exclude: Vec::new(),
        enemies: Vec::new(),
        ..plan.clone()
    };
    Ok(Arc::new(Design::new(Arc::clone(&f.bank), plan)?))
}

/// The predicted bank score of fold `f` from the answers `items`
/// (bank index, score), under `plan`'s estimator and prior, with its 95%
/// interval.
///
/// # Errors
/// A score outside its item's categories.
pub fn score_items(
    f: &Fold,
    plan: &Plan,
    score: BankScore,
    items: &[(u32, u8)],
) -> Result<PredictedScore> {
    let design = scoring_design(f, plan, items.len())?;
    let mut session = Session::start(design, 0);
    let ids = f.bank.ids();
    let answers: Vec<(&str, usize)> = items
        .iter()
        .map(|&(j, x)| (ids[j as usize].as_str(), x as usize))
        .collect();
    session.record_all(&answers)?;
    Ok(bank_score(&session, 0.95, score))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_published_values() {
        // 40 of 50 at 95%: [0.6696, 0.8876] (Wilson 1927; e.g. Newcombe 1998's method 3).
        let w = wilson(40.0, 50, 0.95);
        assert_eq!(w.mean, 0.8);
        assert!(
            (w.lo - 0.6696).abs() < 1e-4 && (w.hi - 0.8876).abs() < 1e-4,
            "{w:?}"
        );
        // All correct: the interval stays below 1 without leaving [0, 1].
        let all = wilson(25.0, 25, 0.95);
        assert!(all.hi == 1.0 && all.lo > 0.85 && all.lo < 0.9, "{all:?}");
        assert!(wilson(0.0, 0, 0.95).mean.is_nan());
    }
}
