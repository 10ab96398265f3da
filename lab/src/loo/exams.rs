//! A plan variant prepared on a fold, and the held-out exams it gives.

use std::sync::Arc;

use fangsheng::cat::{BankScore, Design, Plan, Replay, examinee_seed, run};
use fangsheng::error::{Error, Result};
use fangsheng::estimate::PredictedScore;
use fangsheng::loo::{Exam, SeedRun, uses_randomness};
use fangsheng::online::NextItem;

use super::LabConfig;
use super::fold::Fold;
use crate::subscore::SubscoreModel;
use crate::variant::Variant;

/// A fold's plan variant checked against its bank, with its bank-score
/// rule and, for `subscore=TAG` variants, the per-group model.
pub(crate) type Prepared = (Arc<Design>, BankScore, Option<Arc<SubscoreModel>>);

/// Variant `v` of `base` on fold `f` (content targets of
/// `content=neyman:TAG` and the model of `subscore=TAG` come from the
/// fold's calibration runs).
pub(super) fn prepare(f: &Fold, v: &Variant, base: &Plan, config: &LabConfig) -> Result<Prepared> {
    let population = v.needs_population().then(|| f.population()).transpose()?;
    let (mut plan, score) = v.apply_with(base, config.score, &f.bank, population)?;
    if let (Some(tag), Some(content)) = (v.neyman_tag(), plan.content.as_mut()) {
        content.targets = f.subscore(tag)?.neyman_targets();
    }
    let sub = v.subscore_tag().map(|t| f.subscore(t)).transpose()?;
    Ok((
        Design::prepare(&f.bank, &plan, examinee_seed(config.seed, f.row))?,
        score,
        sub,
    ))
}

/// The exam of examinee `e` of `runs` under `p`, its session seeded by
/// `seed` and `who` (the examinee's row): the predicted bank score (with
/// its 95% interval; none for `subscore=TAG` plans) and the items asked.
pub(super) fn run_exam(
    f: &Fold,
    p: &Prepared,
    seed: u64,
    runs: &Replay,
    e: usize,
    who: usize,
) -> Result<Exam> {
    let (d, score, sub) = p;
    if let Some(tp) = &f.two_part {
        // Only the fold's own examinee has its no-answer record here.
        if e != 0 || sub.is_some() {
            return Err(Error::config(
                "the two-part model examines only held-out examinees, without subscore models",
            ));
        }
        return tp.exam(d, examinee_seed(seed, who), runs, *score);
    }
    let exam = run(d, examinee_seed(seed, who), |next| match next {
        NextItem::Operational(j) => runs.answer(e, j),
        NextItem::Pretest(_) => None,
    })?;
    let answers: Vec<(usize, usize)> = exam.steps.iter().map(|s| (s.item, s.score)).collect();
    let predicted = match sub {
        Some(m) => PredictedScore {
            mean: m.predict(&f.bank, d.plan().prior, &answers),
            lo: f64::NAN,
            hi: f64::NAN,
        },
        None => exam.outcome(0.95, *score).predicted,
    };
    Ok((predicted, answers.iter().map(|a| a.0).collect()))
}

/// The held-out examinees' exams under `chosen` (one prepared plan per
/// fold) for every seed; a plan without random choices is run once and
/// copied to every seed.
pub(super) fn held_out_runs(
    folds: &[Fold],
    chosen: &[&Prepared],
    seeds: &[u64],
) -> Result<Vec<SeedRun>> {
    let random = chosen.iter().any(|p| uses_randomness(&p.0));
    fangsheng::loo::held_out_runs(folds.len(), seeds, random, |fi, s| {
        let f = &folds[fi];
        run_exam(f, chosen[fi], s, &f.replay, 0, f.row)
    })
}
