//! Scoring of fixed item sets in the experiments, beside the engine's
//! baselines ([`fangsheng::loo::random_exam`], the floor): the random
//! items of a two-part fold, and rescoring (an exam's items kept, its
//! answers scored with a second calibration of the fold).

use fangsheng::cat::{BankScore, Plan, Session};
use fangsheng::error::{Error, Result};
use fangsheng::estimate::PredictedScore;
use fangsheng::loo::{RandomExam, SeedRun, random_items, score_items, scoring_design, wilson};
use rayon::prelude::*;

use crate::loo::{Fold, Prepared};
use crate::two_part::TwoPart;

/// `runs` (exams on `folds`, designed by `designs`) with each exam's
/// answers scored on the same fold's `second` calibration: the items stay
/// those the first calibration chose. Seeds that repeat the first seed's
/// exams (seed-free plans) repeat its scores.
pub(crate) fn rescored_runs(
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
                score_items(g, design.plan(), *score, &answers)
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

/// `k = base.max_items` random items of the fold's held-out run, as plain
/// accuracy and scored with the fold's calibration (both parts of the
/// two-part model on a two-part fold); the items are bank indices of the
/// fold's (answered) bank.
pub(crate) fn random_exam(
    f: &Fold,
    base: &Plan,
    score: BankScore,
    seed: u64,
) -> Result<(RandomExam, Vec<usize>)> {
    let Some(tp) = &f.two_part else {
        let exam = fangsheng::loo::random_exam(f, base, score, seed)?;
        let items = exam.items.iter().map(|p| p.0 as usize).collect();
        return Ok((exam, items));
    };
    let picked = random_items(f, tp.full.run(0), base.max_items, seed);
    // Scores are 0/1 here: the indicators' bank has no categories of the
    // answered bank's graded items.
    let correct = picked
        .iter()
        .map(|&(_, x)| f64::from(x.min(1)))
        .sum::<f64>();
    let items = picked
        .iter()
        .filter_map(|p| tp.answered_index(p.0 as usize))
        .collect();
    Ok((
        RandomExam {
            accuracy: wilson(correct, picked.len(), 0.95),
            irt: score_two_part(f, tp, base, score, &picked)?,
            items: picked,
        },
        items,
    ))
}

/// The two-part prediction of fold `f` from the items `picked` of its
/// examinee's whole run (no-answer-bank index, recorded score): `theta`
/// from the answered ones under `plan`'s estimator and prior.
pub(crate) fn score_two_part(
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
