//! A plan variant prepared on a fold, and the held-out exams it gives.

use std::sync::Arc;

use rayon::prelude::*;

use crate::cat::design::Design;
use crate::cat::eval_subscore::SubscoreModel;
use crate::cat::eval_variant::{Variant, prepare_design};
use crate::cat::evaluation::{BankScore, exam, examinee_seed};
use crate::cat::plan::Plan;
use crate::cat::replay::Replay;
use crate::error::{Error, Result};
use crate::estimate::PredictedScore;

use super::LooConfig;
use super::fold::Fold;
use super::summary::SeedRun;

/// A fold's plan variant checked against its bank, with its bank-score
/// rule and, for `subscore=TAG` variants, the per-group model.
pub(in crate::cat) type Prepared = (Arc<Design>, BankScore, Option<Arc<SubscoreModel>>);

/// Variant `v` of `base` on fold `f` (content targets of
/// `content=neyman:TAG` and the model of `subscore=TAG` come from the
/// fold's calibration runs).
pub(super) fn prepare(f: &Fold, v: &Variant, base: &Plan, config: &LooConfig) -> Result<Prepared> {
    let population = v.needs_population().then(|| f.population()).transpose()?;
    let (mut plan, score) = v.apply_with(base, config.score, &f.bank, population)?;
    if let (Some(tag), Some(content)) = (v.neyman_tag(), plan.content.as_mut()) {
        content.targets = f.subscore(tag)?.neyman_targets();
    }
    let sub = v.subscore_tag().map(|t| f.subscore(t)).transpose()?;
    Ok((
        prepare_design(&f.bank, &plan, examinee_seed(config.seed, f.row))?,
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
) -> Result<(PredictedScore, Vec<usize>)> {
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
    let o = exam(d, examinee_seed(seed, who), 0.95, *score, |j| {
        runs.answer(e, j)
    })?;
    let predicted = match sub {
        Some(m) => {
            let answers: Vec<(usize, usize)> = o.steps.iter().map(|s| (s.item, s.score)).collect();
            let mean = m.predict(&f.bank, d.plan().prior, &answers);
            PredictedScore {
                mean,
                lo: f64::NAN,
                hi: f64::NAN,
            }
        }
        None => o.predicted,
    };
    Ok((predicted, o.steps.iter().map(|s| s.item).collect()))
}

/// The held-out examinees' exams under `chosen` (one prepared plan per
/// fold) for every seed. A plan without random choices (none of its own,
/// and first-twin ties or a bank without twins) gives every seed the same
/// exams: the first seed is run and copied.
pub(super) fn held_out_runs(
    folds: &[Fold],
    chosen: &[&Prepared],
    seeds: &[u64],
) -> Result<Vec<SeedRun>> {
    let random = chosen.iter().any(|p| uses_randomness(&p.0));
    let distinct = if random { seeds } else { &seeds[..1] };
    let mut runs = distinct
        .iter()
        .map(|&s| {
            let outs: Vec<(PredictedScore, Vec<usize>)> = folds
                .par_iter()
                .zip(chosen)
                .map(|(f, p)| run_exam(f, p, s, &f.replay, 0, f.row))
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
            predicted: runs[0].predicted.clone(),
            exams: runs[0].exams.clone(),
        };
        runs.push(copy);
    }
    Ok(runs)
}

/// True when exams of `design` depend on the seed.
pub(super) fn uses_randomness(design: &Design) -> bool {
    use crate::cat::exposure::Exposure;
    use crate::cat::select::SelectRule;
    let plan = design.plan();
    plan.start.random_items > 0
        || plan.select == SelectRule::Random
        || (plan.ties == crate::cat::Ties::Random && design.bank().twins().any())
        || !matches!(plan.exposure, Exposure::None | Exposure::AStratified { .. })
        || matches!(plan.exposure, Exposure::Randomesque { k } if k > 1)
}
