//! Held-out model comparison: hide a random share of the observed cells,
//! calibrate on the rest, and score how well the fitted model predicts the
//! hidden responses.
//!
//! In-sample fit (log-likelihood, AIC, BIC) rewards extra parameters; on LLM
//! data, where each item has only tens of respondents, a 3PL can fit the
//! training cells well and predict new ones badly. The held-out
//! log-likelihood per response answers "which model predicts unseen cells
//! best" directly.
//!
//! ```
//! use fangsheng::calibrate::{calibrate, evaluate_holdout, split_holdout, CalibrationConfig};
//! use fangsheng::model::{Irf, Logistic};
//! use fangsheng::simulate::{simulate_responses, standard_normals};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let irfs: Vec<Irf> = (0..20)
//!     .map(|j| Logistic::two_pl(1.0, -1.0 + 0.1 * j as f64).unwrap().into())
//!     .collect();
//! let responses = simulate_responses(&irfs, &standard_normals(300, &mut rng), 1.0, None, &mut rng);
//! let (train, held) = split_holdout(&responses, 0.1, 7).unwrap();
//! assert_eq!(held.len(), 600);
//! let fit = calibrate(&train, &CalibrationConfig::default(), &mut |_| {}).unwrap();
//! let score = evaluate_holdout(&fit, &train, &held).unwrap();
//! assert_eq!(score.scored, 600);
//! assert!(score.mean_log_likelihood < 0.0 && score.accuracy > 0.5);
//! ```
//!
//! # The split
//! Exactly `round(fraction * n)` of the `n` observed cells are held out,
//! every subset of that size equally likely (Knuth's selection sampling,
//! Algorithm S, driven by `ChaCha8Rng::seed_from_u64(seed)`): the same
//! matrix and seed give the same split on every machine. For a
//! frequency-weighted pattern table a held-out cell hides that item for
//! every examinee the pattern stands for, and it counts with the pattern's
//! weight in the scores.
//!
//! # The scores
//! Each held-out cell `(i, j, x)` is predicted by the posterior predictive
//! distribution `p_k = E[P_j(k | theta) | training responses of i]`, with
//! examinee `i`'s posterior under the fitted items and the calibration's
//! latent distribution, integrated on the adaptive grid of
//! [`Estimator::posterior`] (at least 121 nodes placed where the posterior
//! is, so it is exact to about 1e-6 both for a 5-item examinee and for an
//! LLM with thousands of responses, whose posterior is far narrower than the
//! calibration grid). Over the scored cells, weighted by the examinee's
//! frequency weight:
//! * `mean_log_likelihood = sum w ln p_x / sum w` (higher is better; `ln 0.5
//!   = -0.693` is a coin flip);
//! * `accuracy`: share of cells whose most probable category is `x` (for a
//!   dichotomous item, predicting correct when `p_1 >= 0.5`);
//! * `brier = sum w (1/2) sum_k (p_k - [x = k])^2 / sum w`, which for a
//!   dichotomous item is `(p_1 - x)^2` (lower is better; 0.25 for always
//!   predicting 0.5).
//!
//! Held-out cells that cannot be predicted are counted, not scored: the item
//! was not calibrated (no training response, or dropped by the caller), the
//! examinee has no training response on a calibrated item, or the score is
//! a category the fitted item does not have.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Cell, ResponseMatrix};
use crate::error::{Error, Result};
use crate::estimate::{AbilityPrior, Estimator, Method, Posterior};
use crate::model::{Irf, ResponseModel};

use super::result::Calibration;

/// Splits the observed cells of `m` into a training matrix and held-out
/// cells: exactly `round(fraction * m.n_responses())` cells, chosen
/// uniformly at random with `ChaCha8Rng::seed_from_u64(seed)`, are held out.
///
/// The training matrix has the same examinees, items (in the same order, so
/// held-out cells index into it) and weights as `m`; an item or examinee may
/// be left with no training response. Held-out cells are returned grouped by
/// examinee, in the order of [`ResponseMatrix::cells`].
///
/// # Errors
/// `fraction` not strictly between 0 and 1 ([`ErrorKind::Config`]).
///
/// [`ErrorKind::Config`]: crate::ErrorKind::Config
pub fn split_holdout(
    m: &ResponseMatrix,
    fraction: f64,
    seed: u64,
) -> Result<(ResponseMatrix, Vec<Cell>)> {
    if !(fraction.is_finite() && fraction > 0.0 && fraction < 1.0) {
        return Err(Error::config(format!(
            "the held-out fraction must be strictly between 0 and 1, got {fraction}"
        )));
    }
    let n = m.n_responses();
    let want = (fraction * n as f64).round() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held = Vec::with_capacity(want);
    let mut train = Vec::with_capacity(n - want);
    // Algorithm S: cell t (of n) is taken with probability
    // (still wanted) / (still to see), which yields exactly `want` cells,
    // each subset equally likely, in one pass without an index array.
    for (t, cell) in m.cells().enumerate() {
        let remaining = (n - t) as f64;
        if ((remaining * rng.random::<f64>()) as usize) < want - held.len() {
            held.push(cell);
        } else {
            train.push(cell);
        }
    }
    let train = ResponseMatrix::new(
        m.examinees().to_vec(),
        m.items().to_vec(),
        train,
        Some(m.weights().to_vec()),
    )
    .expect("a subset of a valid matrix's cells is valid");
    Ok((train, held))
}

/// How well a calibration predicts held-out cells (see the
/// [module documentation](self) for the formulas).
///
/// Counts are of cells; the means weight each cell by its examinee's
/// frequency weight (1 unless the data was a pattern table). The means are
/// `NaN` when no cell was scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoldoutScore {
    /// Held-out cells given.
    pub held_out: usize,
    /// Cells scored.
    pub scored: usize,
    /// Cells skipped because their item has no calibrated parameters (no
    /// training response).
    pub skipped_item: usize,
    /// Cells skipped because their examinee has no training response on a
    /// calibrated item.
    pub skipped_examinee: usize,
    /// Cells skipped because the score is not a category of the fitted item.
    pub skipped_category: usize,
    /// Total weight of the scored cells.
    pub weight: f64,
    /// Weighted sum of `ln p_x` over the scored cells.
    pub log_likelihood: f64,
    /// Held-out log-likelihood per response, `log_likelihood / weight`.
    pub mean_log_likelihood: f64,
    /// Share of scored cells whose most probable category is the observed one.
    pub accuracy: f64,
    /// Mean Brier score `(1/2) sum_k (p_k - [x = k])^2`.
    pub brier: f64,
}

/// Per-examinee sums, added up in examinee order for a deterministic total.
#[derive(Debug, Default, Clone, Copy)]
struct Partial {
    scored: usize,
    skipped_item: usize,
    skipped_examinee: usize,
    skipped_category: usize,
    weight: f64,
    log_likelihood: f64,
    correct: f64,
    brier: f64,
}

/// Scores `cal`, fitted on `train`, on the held-out cells `held` (indices
/// into `train`'s rows and columns, as [`split_holdout`] returns them).
///
/// Items are matched by id, so `cal` may have been fitted on a copy of
/// `train` with some columns dropped (e.g. items left without training
/// responses); held-out cells of such items are counted in
/// [`HoldoutScore::skipped_item`]. Each examinee's posterior uses its
/// training responses on calibrated items and the prior
/// `N(cal.latent.mean, cal.latent.sd^2)`. Examinees are processed in
/// parallel and summed in order: the result does not depend on the number
/// of threads.
///
/// # Errors
/// A held-out cell outside `train`'s dimensions, or a calibration whose
/// latent SD is not positive ([`ErrorKind::Value`](crate::ErrorKind::Value)).
pub fn evaluate_holdout(
    cal: &Calibration,
    train: &ResponseMatrix,
    held: &[Cell],
) -> Result<HoldoutScore> {
    if let Some(c) = held
        .iter()
        .find(|c| c.examinee as usize >= train.n_examinees() || c.item as usize >= train.n_items())
    {
        return Err(Error::value(format!(
            "held-out cell ({}, {}) is outside the {} x {} training matrix",
            c.examinee,
            c.item,
            train.n_examinees(),
            train.n_items()
        )));
    }
    let prior = AbilityPrior::normal(cal.latent.mean, cal.latent.sd)?;
    let fitted: HashMap<&str, &Irf> = cal
        .items
        .iter()
        .map(|it| (it.id.as_str(), &it.irf))
        .collect();
    let irfs: Vec<Option<&Irf>> = train
        .items()
        .iter()
        .map(|id| fitted.get(id.as_str()).copied())
        .collect();

    let mut by_examinee: Vec<Vec<Cell>> = vec![Vec::new(); train.n_examinees()];
    for c in held {
        by_examinee[c.examinee as usize].push(*c);
    }
    let estimator = Estimator::new(Method::Eap).prior(prior);
    let partials: Vec<Partial> = by_examinee
        .par_iter()
        .enumerate()
        .map(|(e, cells)| score_examinee(train, e, cells, &irfs, &estimator))
        .collect();

    let mut total = Partial::default();
    for p in &partials {
        total.scored += p.scored;
        total.skipped_item += p.skipped_item;
        total.skipped_examinee += p.skipped_examinee;
        total.skipped_category += p.skipped_category;
        total.weight += p.weight;
        total.log_likelihood += p.log_likelihood;
        total.correct += p.correct;
        total.brier += p.brier;
    }
    let mean = |x: f64| {
        if total.weight > 0.0 {
            x / total.weight
        } else {
            f64::NAN
        }
    };
    Ok(HoldoutScore {
        held_out: held.len(),
        scored: total.scored,
        skipped_item: total.skipped_item,
        skipped_examinee: total.skipped_examinee,
        skipped_category: total.skipped_category,
        weight: total.weight,
        log_likelihood: total.log_likelihood,
        mean_log_likelihood: mean(total.log_likelihood),
        accuracy: mean(total.correct),
        brier: mean(total.brier),
    })
}

/// The held-out cells of examinee `e`, predicted from its posterior on the
/// training responses.
fn score_examinee(
    train: &ResponseMatrix,
    e: usize,
    cells: &[Cell],
    irfs: &[Option<&Irf>],
    estimator: &Estimator,
) -> Partial {
    let mut out = Partial::default();
    if cells.is_empty() {
        return out;
    }
    let (items, scores) = train.examinee_responses(e);
    let pattern: Vec<(&Irf, usize)> = items
        .iter()
        .zip(scores)
        .filter_map(|(&j, &s)| irfs[j as usize].map(|irf| (irf, s as usize)))
        .filter(|(irf, s)| *s < irf.n_categories())
        .collect();
    let posterior = (!pattern.is_empty()).then(|| estimator.posterior(&pattern));
    let w = train.weights()[e];
    for c in cells {
        let Some(irf) = irfs[c.item as usize] else {
            out.skipped_item += 1;
            continue;
        };
        let Some(post) = &posterior else {
            out.skipped_examinee += 1;
            continue;
        };
        let x = c.score as usize;
        if x >= irf.n_categories() {
            out.skipped_category += 1;
            continue;
        }
        let (ln_px, probs) = predict(post, irf, x);
        // Most probable category, ties to the higher one (p_1 = 0.5 predicts correct).
        let mode = (0..probs.len())
            .rev()
            .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
            .unwrap_or(0);
        let brier: f64 = probs
            .iter()
            .enumerate()
            .map(|(k, p)| (p - if k == x { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / 2.0;
        out.scored += 1;
        out.weight += w;
        out.log_likelihood += w * ln_px;
        out.correct += if mode == x { w } else { 0.0 };
        out.brier += w * brier;
    }
    out
}

/// `ln E[P(x | theta)]` over the posterior, in log space (an item far from
/// the examinee can have `P` below `f64`'s range), and the predictive
/// probability of every category.
fn predict(post: &Posterior, irf: &Irf, x: usize) -> (f64, Vec<f64>) {
    let terms: Vec<f64> = post
        .nodes()
        .iter()
        .zip(post.weights())
        .map(|(&t, &w)| w.ln() + irf.log_prob(t, x))
        .collect();
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ln_px = if max.is_finite() {
        max + terms.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
    } else {
        max
    };
    let probs = (0..irf.n_categories())
        .map(|k| post.expect(|t| irf.prob(t, k)))
        .collect();
    (ln_px, probs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ExamineeId, ItemId};

    fn matrix(n_examinees: usize, n_items: usize) -> ResponseMatrix {
        let cells = (0..n_examinees)
            .flat_map(|i| {
                (0..n_items).map(move |j| Cell {
                    examinee: i as u32,
                    item: j as u32,
                    score: ((i + j) % 2) as u8,
                })
            })
            .collect();
        ResponseMatrix::new(
            (0..n_examinees)
                .map(|i| ExamineeId::from(format!("m{i}")))
                .collect(),
            (0..n_items)
                .map(|j| ItemId::from(format!("q{j}")))
                .collect(),
            cells,
            None,
        )
        .unwrap()
    }

    #[test]
    fn split_takes_the_rounded_count() {
        let m = matrix(7, 13); // 91 cells
        for (fraction, want) in [(0.1, 9), (0.5, 46), (0.004, 0), (0.999, 91)] {
            let (train, held) = split_holdout(&m, fraction, 3).unwrap();
            assert_eq!(held.len(), want, "fraction {fraction}");
            assert_eq!(train.n_responses() + held.len(), 91);
        }
    }

    #[test]
    fn out_of_range_cells_are_an_error() {
        let m = matrix(3, 3);
        let bad = [Cell {
            examinee: 5,
            item: 0,
            score: 1,
        }];
        let cal_err = evaluate_holdout_with_dummy(&m, &bad);
        assert!(cal_err.contains("outside"), "{cal_err}");
    }

    fn evaluate_holdout_with_dummy(m: &ResponseMatrix, held: &[Cell]) -> String {
        use crate::calibrate::result::LatentDistribution;
        let cal = Calibration {
            items: vec![],
            latent: LatentDistribution { mean: 0.0, sd: 1.0 },
            log_likelihood: 0.0,
            aic: 0.0,
            bic: 0.0,
            n_parameters: 0,
            iterations: 0,
            converged: true,
            abilities: vec![],
            se_method: None,
        };
        evaluate_holdout(&cal, m, held).unwrap_err().to_string()
    }
}
