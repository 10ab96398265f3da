//! Setting Sympson-Hetter and eligibility parameters by simulation.

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Exposure, ExposureParams};
use crate::cat::bank::CatBank;
use crate::cat::batch::simulated_examinee;
use crate::cat::design::Design;
use crate::cat::plan::Plan;
use crate::cat::run::run;
use crate::error::{Error, Result};
use crate::online::NextItem;

/// The result of [`calibrate_exposure`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExposureFit {
    /// The per-item parameters after the last iteration.
    pub params: ExposureParams,
    /// Largest exposure rate observed in each iteration's simulation
    /// (the first is without control).
    pub max_rate: Vec<f64>,
}

/// A well-mixed seed for examinee `i` of iteration `it` (SplitMix64).
fn mix(seed: u64, it: usize, i: usize) -> u64 {
    let mut z = seed
        .wrapping_add((it as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add((i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED69));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sets the exposure parameters of the plan's Sympson-Hetter or
/// eligibility control by simulation, for a target maximum rate `r_max`.
///
/// Starting from 1 for every item, each of `iterations` rounds runs the
/// plan's exam for simulated examinees of abilities `thetas` (answers drawn
/// from the model; fresh random streams each round, in parallel) and then
/// updates every item's parameter:
///
/// * Sympson-Hetter: with `P(S_j)` the share of exams in which the rule
///   selected item `j`, `K_j <- min(K_j, r / P(S_j))` when `P(S_j) > r`.
///   The original procedure sets `K_j = min(1, r / P(S_j))` afresh each
///   round; restricting one item sends its selections to the next best,
///   which then over-shoots, and items swing between restricted and free
///   (in the property test, aiming at 0.21, the largest rate stayed near
///   0.29 through 12 rounds). Keeping each round's restriction converges from
///   one side: a parameter only falls;
/// * eligibility: with `r_j` the share of exams that administered `j`,
///   `E_j <- min(1, E_j r / r_j)` (van der Linden & Veldkamp, 2004),
///   1 for items never administered.
///
/// `r_max` is a maximum, and each round's rates are estimates from `n`
/// exams (binomial SD `sqrt(r_max (1 - r_max) / n)`, 0.019 for `n = 500`
/// at 0.25): an item whose rate the round under-estimates keeps too large
/// a parameter, and dozens of items sit at the aim. The update therefore
/// aims two such SDs below the target, `r = r_max - 2 sqrt(r_max (1 -
/// r_max) / n)` (at least `r_max / 2`), so that the realised maximum rate
/// stays at or just under `r_max` instead of about two SDs above it.
///
/// Use several hundred examinees drawn from the population the exams are
/// for (e.g. `N(0, 1)`) and 10-20 iterations; the returned
/// [`ExposureFit::max_rate`] shows the convergence.
///
/// # Errors
/// A plan without Sympson-Hetter or eligibility control, no examinees or
/// iterations ([`ErrorKind::Config`](crate::ErrorKind::Config)); the plan's
/// errors as in [`Design::new`].
pub fn calibrate_exposure(
    bank: &CatBank,
    plan: &Plan,
    thetas: &[f64],
    iterations: usize,
    seed: u64,
) -> Result<ExposureFit> {
    let (r_max, sympson_hetter) = match plan.exposure {
        Exposure::SympsonHetter { r_max } => (r_max, true),
        Exposure::Eligibility { r_max } => (r_max, false),
        _ => {
            return Err(Error::config(
                "calibrate_exposure needs a plan with sympson-hetter or eligibility control",
            ));
        }
    };
    if thetas.is_empty() || iterations == 0 {
        return Err(Error::config(
            "calibrate_exposure needs at least one examinee and one iteration",
        ));
    }
    let n_items = bank.len();
    let n = thetas.len() as f64;
    let aim = (r_max - 2.0 * (r_max * (1.0 - r_max) / n).sqrt()).max(0.5 * r_max);
    let mut params = vec![1.0; n_items];
    let mut max_rate = Vec::with_capacity(iterations);
    for it in 0..iterations {
        let mut working = bank.clone();
        working.set_exposure(params.clone());
        let design = Arc::new(Design::new(Arc::new(working), plan.clone())?);
        let (selected, administered) = thetas
            .par_iter()
            .enumerate()
            .map(|(i, &theta)| {
                let s = mix(seed, it, i);
                let mut answer = simulated_examinee(design.bank().irfs(), theta, s ^ 0x5EED);
                let exam = run(&design, s, |next| match next {
                    NextItem::Operational(j) => answer(j),
                    NextItem::Pretest(_) => None,
                })?;
                let session = &exam.session;
                let mut sel = session.selections().to_vec();
                sel.sort_unstable();
                sel.dedup();
                let adm: Vec<usize> = session.responses().iter().map(|r| r.0).collect();
                Ok((sel, adm))
            })
            .try_fold(
                || (vec![0u32; n_items], vec![0u32; n_items]),
                |(mut s, mut a), r: Result<(Vec<usize>, Vec<usize>)>| {
                    let (sel, adm) = r?;
                    sel.into_iter().for_each(|j| s[j] += 1);
                    adm.into_iter().for_each(|j| a[j] += 1);
                    Ok::<_, Error>((s, a))
                },
            )
            .try_reduce(
                || (vec![0u32; n_items], vec![0u32; n_items]),
                |(mut s1, mut a1), (s2, a2)| {
                    s1.iter_mut().zip(s2).for_each(|(x, y)| *x += y);
                    a1.iter_mut().zip(a2).for_each(|(x, y)| *x += y);
                    Ok((s1, a1))
                },
            )?;
        max_rate.push(
            administered
                .iter()
                .map(|&c| c as f64 / n)
                .fold(0.0, f64::max),
        );
        for j in 0..n_items {
            params[j] = if sympson_hetter {
                let ps = selected[j] as f64 / n;
                if ps > aim {
                    params[j].min(aim / ps)
                } else {
                    params[j]
                }
            } else {
                let r = administered[j] as f64 / n;
                if r > 0.0 {
                    (params[j] * aim / r).min(1.0)
                } else {
                    1.0
                }
            };
        }
    }
    let params = ExposureParams::new(bank.ids().iter().cloned().zip(params).collect());
    Ok(ExposureFit { params, max_rate })
}
