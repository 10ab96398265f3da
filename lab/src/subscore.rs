//! Per-group predicted bank scores with empirical-Bayes shrinkage of each
//! group's ability deviation (a multidimensional correction of the
//! one-trait prediction, for evaluations that know the calibration runs).
//!
//! One latent trait does not capture a model strong in some subjects and
//! weak in others. For each value `c` of a tag (e.g. the MMLU-Pro
//! category) the examinee is given its own ability `theta_c = theta + d_c`,
//! with the deviation `d_c ~ N(m_c, tau_c^2)` across examinees. `m_c` and
//! `tau_c` are estimated from the calibration examinees' whole runs
//! ([`SubscoreModel::fit`]): with `theta_e` the EAP from all of examinee
//! `e`'s answers and `theta_ec` (standard error `s_ec`) from its answers in
//! group `c`, `d_ec = theta_ec - theta_e`, `m_c = mean_e d_ec` and
//! `tau_c^2 = max(0, var_e(d_ec) - mean_e(s_ec^2))` (method of moments: the
//! spread of the deviations less their sampling noise).
//!
//! A new examinee's exam answers `x` then give, for each group
//! ([`SubscoreModel::predict`]):
//!
//! * the posterior of `theta` from the answers outside the group (under the
//!   plan's prior), on a grid;
//! * the prior of `theta_c`: that posterior convolved with
//!   `N(m_c, tau_c^2)`;
//! * the posterior of `theta_c`: that prior times the likelihood of the
//!   group's own answers;
//! * the group's predicted score: the posterior mean of the group's mean
//!   expected proportion correct, plus the observed-minus-expected residual
//!   of its answered items over the group's size (the blended score, as
//!   [`BankScore::Blend`](super::BankScore::Blend)).
//!
//! The bank score is `sum_c (n_c / n) score_c`. With few answers in a
//! group its ability stays near the overall one (shrinkage `tau_c^2 I_c /
//! (1 + tau_c^2 I_c)` for a group information `I_c`); with `tau_c = 0` the
//! prediction is the one-trait blended bank score. Items without the tag
//! form one group with `tau = 0`.
//!
//! The residual SD of each group (SD over the calibration examinees of
//! their observed group score less the one-trait prediction at `theta_e`)
//! gives Neyman-style content targets ([`SubscoreModel::neyman_targets`]):
//! `n_c ∝ w_c S_c` with `w_c` the group's share of the bank.

use std::collections::BTreeMap;

use fangsheng::cat::CatBank;
use fangsheng::cat::Prior;
use fangsheng::cat::Replay;
use fangsheng::error::{Error, Result};
use fangsheng::estimate::{Estimator, Method};
use fangsheng::model::{Irf, ResponseModel};

/// Grid of the per-group posteriors: `[-GRID_HALF_WIDTH, GRID_HALF_WIDTH]`
/// around 0 in steps of [`GRID_STEP`] (wider than any calibrated ability of
/// a bank scaled to `N(0, 1)` examinees).
const GRID_HALF_WIDTH: f64 = 7.0;
/// See [`GRID_HALF_WIDTH`].
const GRID_STEP: f64 = 0.05;
/// The group of items without the tag.
const UNTAGGED: &str = "";

/// One group of items sharing a tag value.
#[derive(Debug, Clone, PartialEq)]
pub struct SubGroup {
    /// The tag value (empty for the items without the tag).
    pub value: String,
    /// Items of the bank in the group.
    pub n_items: usize,
    /// Mean deviation `m_c` of the group ability from the overall one over
    /// the calibration examinees.
    pub mean_deviation: f64,
    /// SD `tau_c` of the deviation across examinees (sampling noise removed).
    pub tau: f64,
    /// SD over the calibration examinees of the observed group score less
    /// the one-trait prediction (proportion units).
    pub residual_sd: f64,
    /// The group's mean expected proportion correct at each grid node.
    curve: Vec<f64>,
}

/// Per-group prediction for one bank (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscoreModel {
    tag: String,
    nodes: Vec<f64>,
    groups: Vec<SubGroup>,
    /// Group of each bank item.
    group_of: Vec<usize>,
}

fn proportion(irf: &Irf, x: usize) -> f64 {
    x as f64 / (irf.n_categories() - 1).max(1) as f64
}

impl SubscoreModel {
    /// Groups the bank's items by tag `tag` with no deviation (`tau = 0`):
    /// the one-trait prediction. [`SubscoreModel::fit`] estimates the
    /// deviations.
    ///
    /// # Errors
    /// No item of the bank has the tag
    /// ([`ErrorKind::Config`](fangsheng::ErrorKind::Config)).
    pub fn unfitted(bank: &CatBank, tag: &str) -> Result<Self> {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for j in 0..bank.len() {
            let v = bank.tags(j).get(tag).unwrap_or(UNTAGGED);
            let n = index.len();
            index.entry(v.to_owned()).or_insert(n);
        }
        if index.keys().all(|v| v == UNTAGGED) {
            return Err(Error::config(format!(
                "subscore: unknown tag '{tag}' (no item of the bank has it)"
            )));
        }
        // Groups in value order.
        let order: Vec<String> = index.keys().cloned().collect();
        let position: BTreeMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, v)| (v.as_str(), i))
            .collect();
        let group_of: Vec<usize> = (0..bank.len())
            .map(|j| position[bank.tags(j).get(tag).unwrap_or(UNTAGGED)])
            .collect();
        let n_nodes = (2.0 * GRID_HALF_WIDTH / GRID_STEP).round() as usize + 1;
        let nodes: Vec<f64> = (0..n_nodes)
            .map(|k| -GRID_HALF_WIDTH + k as f64 * GRID_STEP)
            .collect();
        let irfs = bank.irfs();
        let mut groups: Vec<SubGroup> = order
            .iter()
            .map(|v| SubGroup {
                value: v.clone(),
                n_items: 0,
                mean_deviation: 0.0,
                tau: 0.0,
                residual_sd: 0.0,
                curve: vec![0.0; n_nodes],
            })
            .collect();
        for (j, irf) in irfs.iter().enumerate() {
            let g = &mut groups[group_of[j]];
            g.n_items += 1;
            let m = (irf.n_categories() - 1).max(1) as f64;
            for (c, &t) in g.curve.iter_mut().zip(&nodes) {
                *c += irf.expected_score(t) / m;
            }
        }
        for g in &mut groups {
            let n = g.n_items.max(1) as f64;
            g.curve.iter_mut().for_each(|c| *c /= n);
        }
        Ok(SubscoreModel {
            tag: tag.to_owned(),
            nodes,
            groups,
            group_of,
        })
    }

    /// Groups the bank's items by tag `tag` and estimates each group's
    /// deviation distribution and residual SD from `runs`, the whole
    /// recorded runs of the examinees the bank was calibrated on (see the
    /// module docs). A group answered by fewer than three examinees keeps
    /// `tau = 0`; the untagged group always does.
    ///
    /// # Errors
    /// As [`SubscoreModel::unfitted`].
    pub fn fit(bank: &CatBank, tag: &str, runs: &Replay) -> Result<Self> {
        let mut model = SubscoreModel::unfitted(bank, tag)?;
        let irfs = bank.irfs();
        let eap = Estimator::new(Method::Eap);
        let n_groups = model.groups.len();
        // Per group: (deviation, squared SE, observed - predicted score).
        let mut stats: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); n_groups];
        for e in 0..runs.len() {
            let run = runs.run(e);
            if run.is_empty() {
                continue;
            }
            let all: Vec<(&Irf, usize)> = run
                .iter()
                .map(|&(j, x)| (&irfs[j as usize], x as usize))
                .collect();
            let theta = eap.estimate(&all).theta;
            let mut by_group: Vec<Vec<(&Irf, usize)>> = vec![Vec::new(); n_groups];
            for &(j, x) in run {
                by_group[model.group_of[j as usize]].push((&irfs[j as usize], x as usize));
            }
            for (g, answers) in by_group.iter().enumerate() {
                if answers.is_empty() {
                    continue;
                }
                let a = eap.estimate(answers);
                let observed = answers
                    .iter()
                    .map(|&(irf, x)| proportion(irf, x))
                    .sum::<f64>()
                    / answers.len() as f64;
                let expected = answers
                    .iter()
                    .map(|&(irf, _)| irf.expected_score(theta) / (irf.n_categories() - 1) as f64)
                    .sum::<f64>()
                    / answers.len() as f64;
                stats[g].push((a.theta - theta, a.se * a.se, observed - expected));
            }
        }
        for (g, s) in model.groups.iter_mut().zip(&stats) {
            if g.value == UNTAGGED || s.len() < 3 {
                continue;
            }
            let n = s.len() as f64;
            let m = s.iter().map(|x| x.0).sum::<f64>() / n;
            let var = s.iter().map(|x| (x.0 - m) * (x.0 - m)).sum::<f64>() / (n - 1.0);
            let noise = s.iter().map(|x| x.1).sum::<f64>() / n;
            let r = s.iter().map(|x| x.2).sum::<f64>() / n;
            let rvar = s.iter().map(|x| (x.2 - r) * (x.2 - r)).sum::<f64>() / (n - 1.0);
            if m.is_finite() && var.is_finite() && noise.is_finite() {
                g.mean_deviation = m;
                g.tau = (var - noise).max(0.0).sqrt();
                g.residual_sd = rvar.sqrt();
            }
        }
        Ok(model)
    }

    /// The tag whose values are the groups.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The groups, in tag-value order (the untagged group first if any).
    pub fn groups(&self) -> &[SubGroup] {
        &self.groups
    }

    /// The same model with every tagged group's deviation set to
    /// `N(0, tau^2)` (for comparisons; `tau = 0` is the one-trait
    /// prediction).
    pub fn with_tau(mut self, tau: f64) -> Self {
        for g in &mut self.groups {
            if g.value != UNTAGGED {
                g.tau = tau.max(0.0);
                g.mean_deviation = 0.0;
            }
        }
        self
    }

    /// Neyman-style content targets: each tagged group's share of the bank
    /// times its residual SD, normalised to sum to 1 (the bank's shares when
    /// every residual SD is 0).
    pub fn neyman_targets(&self) -> BTreeMap<String, f64> {
        let tagged = || self.groups.iter().filter(|g| g.value != UNTAGGED);
        let w = |g: &SubGroup| g.n_items as f64 * g.residual_sd;
        let total: f64 = tagged().map(w).sum();
        let n: f64 = tagged().map(|g| g.n_items as f64).sum();
        tagged()
            .map(|g| {
                let t = if total > 0.0 {
                    w(g) / total
                } else {
                    g.n_items as f64 / n
                };
                (g.value.clone(), t)
            })
            .collect()
    }

    /// The predicted proportion of the bank's maximum score from the exam
    /// answers `(bank index, score)` under the ability prior `prior` (see
    /// the module docs). Answers with an index outside the bank or a score
    /// outside the item's categories are ignored.
    pub fn predict(&self, bank: &CatBank, prior: Prior, answers: &[(usize, usize)]) -> f64 {
        let n_bank: usize = self.groups.iter().map(|g| g.n_items).sum();
        self.predict_groups(bank, prior, answers)
            .iter()
            .zip(&self.groups)
            .map(|((_, s), g)| g.n_items as f64 / n_bank.max(1) as f64 * s)
            .sum()
    }

    /// The predicted proportion of each group's maximum score, in the
    /// order of [`SubscoreModel::groups`] (see [`SubscoreModel::predict`]).
    pub fn predict_groups(
        &self,
        bank: &CatBank,
        prior: Prior,
        answers: &[(usize, usize)],
    ) -> Vec<(String, f64)> {
        let irfs = bank.irfs();
        let answers: Vec<(usize, usize)> = answers
            .iter()
            .copied()
            .filter(|&(j, x)| j < irfs.len() && x < irfs[j].n_categories())
            .collect();
        let n_nodes = self.nodes.len();
        // The plan's own prior family (normal or Student t); a plan whose
        // prior does not validate was refused before any exam ran, so the
        // fallback only keeps this function total.
        let ability = prior.ability_prior().unwrap_or_default();
        let log_prior: Vec<f64> = self.nodes.iter().map(|&t| ability.ln_kernel(t)).collect();
        // Log-likelihood of each group's answers at each node.
        let mut group_ll = vec![vec![0.0; n_nodes]; self.groups.len()];
        for &(j, x) in &answers {
            let ll = &mut group_ll[self.group_of[j]];
            for (l, &t) in ll.iter_mut().zip(&self.nodes) {
                *l += irfs[j].log_prob(t, x);
            }
        }
        let total_ll: Vec<f64> = (0..n_nodes)
            .map(|k| group_ll.iter().map(|g| g[k]).sum())
            .collect();
        let mut scores = Vec::with_capacity(self.groups.len());
        for (c, g) in self.groups.iter().enumerate() {
            let post = if g.tau > 0.0 {
                // theta from the answers outside the group ...
                let outside = normalised(
                    &(0..n_nodes)
                        .map(|k| log_prior[k] + total_ll[k] - group_ll[c][k])
                        .collect::<Vec<_>>(),
                );
                // ... convolved with the deviation distribution ...
                let prior_c = convolve(&outside, g.mean_deviation, g.tau);
                // ... times the group's own answers.
                let log_post: Vec<f64> = prior_c
                    .iter()
                    .zip(&group_ll[c])
                    .map(|(&p, &l)| {
                        if p > 0.0 {
                            p.ln() + l
                        } else {
                            f64::NEG_INFINITY
                        }
                    })
                    .collect();
                normalised(&log_post)
            } else {
                normalised(
                    &(0..n_nodes)
                        .map(|k| log_prior[k] + total_ll[k])
                        .collect::<Vec<_>>(),
                )
            };
            let expected: f64 = post.iter().zip(&g.curve).map(|(w, f)| w * f).sum();
            let residual: f64 = answers
                .iter()
                .filter(|&&(j, _)| self.group_of[j] == c)
                .map(|&(j, x)| {
                    let irf = &irfs[j];
                    let m = (irf.n_categories() - 1).max(1) as f64;
                    let e: f64 = post
                        .iter()
                        .zip(&self.nodes)
                        .map(|(w, &t)| w * irf.expected_score(t))
                        .sum();
                    (x as f64 - e) / m
                })
                .sum();
            let group_score = (expected + residual / g.n_items.max(1) as f64).clamp(0.0, 1.0);
            scores.push((g.value.clone(), group_score));
        }
        scores
    }
}

/// Weights proportional to `exp(log_w)`, summing to 1.
fn normalised(log_w: &[f64]) -> Vec<f64> {
    let top = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return vec![1.0 / log_w.len() as f64; log_w.len()];
    }
    let w: Vec<f64> = log_w.iter().map(|&l| (l - top).exp()).collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

/// The distribution of `theta + d` on the same grid, `theta ~ w` and
/// `d ~ N(mean, sd^2)` (the kernel is cut at 8 SD and renormalised per
/// source node, so mass leaving the grid is put back on it).
fn convolve(w: &[f64], mean: f64, sd: f64) -> Vec<f64> {
    let n = w.len();
    let mut out = vec![0.0; n];
    let reach = (8.0 * sd / GRID_STEP).ceil() as isize + 1;
    let shift = mean / GRID_STEP;
    let top = w.iter().copied().fold(0.0, f64::max);
    for (k, &wk) in w.iter().enumerate() {
        if wk < top * 1e-14 {
            continue;
        }
        let centre = k as f64 + shift;
        let lo = ((centre.round() as isize) - reach).max(0);
        let hi = ((centre.round() as isize) + reach).min(n as isize - 1);
        if lo > hi {
            continue;
        }
        let kernel: Vec<f64> = (lo..=hi)
            .map(|m| (-0.5 * ((m as f64 - centre) * GRID_STEP / sd).powi(2)).exp())
            .collect();
        let s: f64 = kernel.iter().sum();
        if s > 0.0 {
            for (m, kv) in (lo..=hi).zip(kernel) {
                out[m as usize] += wk * kv / s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangsheng::cat::{BankScore, Design, Plan, Session, Tags, bank_score};
    use fangsheng::data::{Cell, ResponseMatrix};
    use fangsheng::model::Logistic;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// 200 items in two categories, `law` (items 0..80) and `math`.
    fn bank() -> CatBank {
        let irfs: Vec<Irf> = (0..200)
            .map(|j| {
                let b = (j % 40) as f64 / 10.0 - 2.0;
                Logistic::two_pl(0.8 + (j % 7) as f64 / 5.0, b)
                    .unwrap()
                    .into()
            })
            .collect();
        let ids: Vec<_> = (0..200).map(|j| format!("q{j}").into()).collect();
        let tags: HashMap<_, _> = (0..200)
            .map(|j| {
                let c = if j < 80 { "law" } else { "math" };
                (format!("q{j}").into(), Tags::category(c))
            })
            .collect();
        CatBank::from_parts(ids, irfs)
            .unwrap()
            .with_tags(&tags)
            .unwrap()
    }

    /// Examinees with law ability `theta + d` and math ability `theta - d`.
    fn runs(bank: &CatBank, spread: f64, n: usize, seed: u64) -> Replay {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut cells = Vec::new();
        for e in 0..n {
            let theta = rng.random::<f64>() * 2.0 - 1.0;
            let d = (rng.random::<f64>() * 2.0 - 1.0) * spread;
            for (j, irf) in bank.irfs().iter().enumerate() {
                let t = if j < 80 { theta + d } else { theta - d };
                let x = usize::from(rng.random::<f64>() < irf.expected_score(t));
                cells.push(Cell {
                    examinee: e as u32,
                    item: j as u32,
                    score: x as u8,
                });
            }
        }
        let m = ResponseMatrix::new(
            (0..n).map(|e| format!("m{e}").into()).collect(),
            bank.ids().to_vec(),
            cells,
            None,
        )
        .unwrap();
        Replay::new(bank, &m).unwrap()
    }

    #[test]
    fn without_deviation_it_is_the_one_trait_blended_score() {
        let bank = Arc::new(bank());
        let model = SubscoreModel::unfitted(&bank, "category").unwrap();
        let answers = [(3, 1), (50, 0), (90, 1), (120, 1), (199, 0), (7, 1)];
        let design = Arc::new(Design::new(Arc::clone(&bank), Plan::default()).unwrap());
        let mut session = Session::start(design, 0);
        for &(j, x) in &answers {
            session.record_index(j, x).unwrap();
        }
        let one_trait = bank_score(&session, 0.95, BankScore::Blend).mean;
        let ours = model.predict(&bank, Prior::default(), &answers);
        assert!((ours - one_trait).abs() < 2e-4, "{ours} vs {one_trait}");
    }

    #[test]
    fn deviations_are_estimated_from_the_runs_and_move_the_prediction() {
        let bank = bank();
        // Uniform(-0.6, 0.6) deviation: SD 0.35.
        let fitted = SubscoreModel::fit(&bank, "category", &runs(&bank, 0.6, 60, 1)).unwrap();
        let taus: Vec<f64> = fitted.groups().iter().map(|g| g.tau).collect();
        for t in &taus {
            assert!((0.2..0.55).contains(t), "{taus:?}");
        }
        let flat = SubscoreModel::fit(&bank, "category", &runs(&bank, 0.0, 60, 2)).unwrap();
        for g in flat.groups() {
            assert!(g.tau < 0.12, "{:?}", g.tau);
        }
        // An examinee right on every math item and wrong on every law item
        // it was asked: one trait takes a compromise ability; with
        // deviations allowed, the law group's prediction falls and the math
        // group's rises.
        let answers: Vec<(usize, usize)> = (0..200)
            .step_by(10)
            .map(|j| (j, usize::from(j >= 80)))
            .collect();
        let one = SubscoreModel::unfitted(&bank, "category").unwrap();
        let g1 = one.predict_groups(&bank, Prior::default(), &answers);
        let g2 = fitted.predict_groups(&bank, Prior::default(), &answers);
        assert_eq!((g1[0].0.as_str(), g1[1].0.as_str()), ("law", "math"));
        assert!(g2[0].1 < g1[0].1 - 0.02, "law {g2:?} vs {g1:?}");
        assert!(g2[1].1 > g1[1].1 + 0.02, "math {g2:?} vs {g1:?}");
        let p1 = one.predict(&bank, Prior::default(), &answers);
        assert!((p1 - (0.4 * g1[0].1 + 0.6 * g1[1].1)).abs() < 1e-12);
        assert!(
            (one.clone()
                .with_tau(0.0)
                .predict(&bank, Prior::default(), &answers)
                - p1)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn neyman_targets_follow_share_times_residual_sd() {
        let mut model = SubscoreModel::unfitted(&bank(), "category").unwrap();
        assert!((model.neyman_targets()["law"] - 0.4).abs() < 1e-12);
        model.groups[0].residual_sd = 0.3; // law
        model.groups[1].residual_sd = 0.1; // math
        let t = model.neyman_targets();
        // 80 x 0.3 = 24 against 120 x 0.1 = 12.
        assert!((t["law"] - 2.0 / 3.0).abs() < 1e-12, "{t:?}");
        assert!((t["math"] - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn unknown_tag_is_a_config_error() {
        let err = SubscoreModel::unfitted(&bank(), "dimension").unwrap_err();
        assert_eq!(err.kind(), fangsheng::ErrorKind::Config);
    }
}
