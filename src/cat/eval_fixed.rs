//! Leave-one-out scoring of fixed item sets, apart from the adaptive
//! exams themselves: the random-item baselines (plain accuracy and IRT
//! scoring of `k` items drawn from the examinee's run), the floor (a whole
//! run scored with the fold's calibration) and rescoring (an exam's items
//! kept, its answers scored with a second calibration of the fold).

use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};

use super::design::Design;
use super::eval_loo::{Fold, Prepared, SeedRun};
use super::eval_two_part::TwoPart;
use super::evaluation::{BankScore, bank_score, examinee_seed};
use super::plan::Plan;
use super::session::Session;
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;
use crate::model::ResponseModel;

/// `runs` (exams on `folds`, designed by `designs`) with each exam's
/// answers scored on the same fold's `second` calibration: the items stay
/// those the first calibration chose. Seeds that repeat the first seed's
/// exams (seed-free plans) repeat its scores.
pub(super) fn rescored_runs(
    folds: &[Fold],
    second: &[Fold],
    designs: &[Prepared],
    runs: &[SeedRun],
) -> Result<Vec<SeedRun>> {
    let mut out: Vec<SeedRun> = Vec::with_capacity(runs.len());
    for r in runs {
        if let Some(first) = out.first().filter(|_| r.exams == runs[0].exams) {
            out.push(SeedRun {
                seed: r.seed,
                predicted: first.predicted.clone(),
                exams: r.exams.clone(),
            });
            continue;
        }
        let predicted = folds
            .par_iter()
            .zip(second)
            .zip(designs)
            .zip(&r.exams)
            .map(|(((f, g), (design, score, _)), items)| {
                let ids = f.bank.ids();
                let answers = items
                    .iter()
                    .map(|&j| {
                        let id = ids[j].as_str();
                        let x = f.replay.answer(0, j).ok_or_else(|| {
                            Error::config(format!(
                                "rescoring: item {id} was asked but has no answer"
                            ))
                        })?;
                        let k = g.bank.index_of(id).ok_or_else(|| {
                            Error::config(format!(
                                "rescoring: item {id} is not in the second calibration"
                            ))
                        })?;
                        Ok((k as u32, x as u8))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(score_items(g, design.plan(), *score, &answers)?.0)
            })
            .collect::<Result<Vec<PredictedScore>>>()?;
        out.push(SeedRun {
            seed: r.seed,
            predicted,
            exams: r.exams.clone(),
        });
    }
    Ok(out)
}

/// The random-item baselines of one exam.
pub(super) struct RandomExam {
    /// Plain accuracy on the items, with its 95% Wilson interval.
    pub(super) accuracy: PredictedScore,
    /// The items scored with the fold's calibration ([`score_items`]).
    pub(super) irt: PredictedScore,
    /// The items (bank indices).
    pub(super) items: Vec<usize>,
}

/// `k = base.max_items` items drawn at random (seeded by `seed` and the
/// fold's examinee row) from the fold's examinee's recorded run.
pub(super) fn random_exam(
    f: &Fold,
    base: &Plan,
    score: BankScore,
    seed: u64,
) -> Result<RandomExam> {
    let run = match &f.two_part {
        Some(tp) => tp.full.run(0),
        None => f.replay.run(0),
    };
    let k = base.max_items;
    let mut rng = ChaCha8Rng::seed_from_u64(examinee_seed(seed ^ 0xBA5E, f.row));
    let picked: Vec<(u32, u8)> = sample(&mut rng, run.len(), k.min(run.len()))
        .into_iter()
        .map(|i| run[i])
        .collect();
    if let Some(tp) = &f.two_part {
        // Scores are 0/1 here: the indicators' bank has no categories of
        // the answered bank's graded items.
        let correct = picked
            .iter()
            .map(|&(_, x)| f64::from(x.min(1)))
            .sum::<f64>();
        return Ok(RandomExam {
            accuracy: wilson(correct, picked.len(), 0.95),
            irt: score_two_part(f, tp, base, score, &picked)?,
            items: picked
                .iter()
                .filter_map(|p| tp.answered_index(p.0 as usize))
                .collect(),
        });
    }
    let irfs = f.bank.irfs();
    let correct = picked
        .iter()
        .map(|&(j, x)| x as f64 / (irfs[j as usize].n_categories() - 1) as f64)
        .sum::<f64>();
    let accuracy = wilson(correct, picked.len(), 0.95);
    let (irt, _) = score_items(f, base, score, &picked)?;
    Ok(RandomExam {
        accuracy,
        irt,
        items: picked.iter().map(|p| p.0 as usize).collect(),
    })
}

/// The proportion `correct / n` with its central `level` Wilson score
/// interval (the binomial interval that stays inside [0, 1] and keeps its
/// coverage for proportions near 0 or 1, where most LLM accuracies on easy
/// items sit). NaN throughout for `n = 0`.
pub(super) fn wilson(correct: f64, n: usize, level: f64) -> PredictedScore {
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
pub(super) fn scoring_design(f: &Fold, plan: &Plan, n: usize) -> Result<Arc<Design>> {
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
pub(super) fn score_items(
    f: &Fold,
    plan: &Plan,
    score: BankScore,
    items: &[(u32, u8)],
) -> Result<(PredictedScore, usize)> {
    let design = scoring_design(f, plan, items.len())?;
    let mut session = Session::start(design, 0);
    let ids = f.bank.ids();
    let answers: Vec<(&str, usize)> = items
        .iter()
        .map(|&(j, x)| (ids[j as usize].as_str(), x as usize))
        .collect();
    session.record_all(&answers)?;
    Ok((bank_score(&session, 0.95, score), items.len()))
}

/// The two-part prediction of fold `f` from the items `picked` of its
/// examinee's whole run (no-answer-bank index, recorded score): `theta`
/// from the answered ones under `plan`'s estimator and prior.
pub(super) fn score_two_part(
    f: &Fold,
    tp: &TwoPart,
    plan: &Plan,
    score: BankScore,
    picked: &[(u32, u8)],
) -> Result<PredictedScore> {
    tp.score_run(picked, f.bank.irfs(), score, |answers| {
        let design = scoring_design(f, plan, answers.len())?;
        let mut session = Session::start(design, 0);
        for &(j, x) in answers {
            session.record_index(j as usize, x as usize)?;
        }
        Ok(session.posterior().clone())
    })
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
