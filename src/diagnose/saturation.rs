//! Saturation at the frontier: does the bank still measure its best models?
//!
//! A bank saturates when the strongest models answer nearly everything: the
//! items left informative at their ability are few, so an exam cannot tell
//! them apart. [`saturation`] reports
//!
//! * the bank's test information `I(theta)` over a grid, and its peak;
//! * the frontier: the `top` strongest models and their mean ability
//!   `theta_f`;
//! * the share of items essentially always answered correctly by the top
//!   models: `P_j(theta) >= easy_p` (default 0.95) at every top model's
//!   ability (model-based), and, with responses, the share of items every top
//!   model that answered got right (observed);
//! * the standard error reachable at `theta_f`: with the whole bank,
//!   `1 / sqrt(I(theta_f))`, and with an ideal adaptive exam of
//!   `exam_length` items (default 50), `1 / sqrt(sum of the exam_length
//!   largest I_j(theta_f))`, a lower bound for any real exam of that length;
//! * a [`Recommendation`]: how many new items, at which difficulty, bring
//!   the adaptive exam to `target_se` (default 0.3) at the frontier.
//!
//! # The arithmetic of the recommendation
//! New items are assumed 2PL with the bank's median discrimination `a~` and
//! difficulties spread evenly over the top models' range (at least
//! `theta_f +- 0.5`). Each adds on average `i_new = mean_b a~^2 P (1 - P)`
//! at `theta_f` (`P` the new item's probability there), which is at most
//! `a~^2 / 4` for an item exactly at `theta_f`. The target needs
//! `I* = 1 / target_se^2`. An adaptive exam of length `L` takes the `L` most
//! informative items: the smallest `n` with the `L` largest of
//! `{I_j(theta_f)} + n x {i_new}` summing to `I*` is the number of new items
//! needed. When even `L` new items fall short (`L i_new < I*`), no number of
//! such items suffices at that length, and the report gives the exam length
//! that would. For the whole bank, `n = ceil((I* - I(theta_f)) / i_new)`.

use std::fmt;

use serde::Serialize;

use super::information::{
    InfoPoint, grid, information_curve, ranked_information, se_from_information,
};
use crate::bank::ParamSet;
use crate::data::ResponseMatrix;
use crate::error::{Error, Result};
use crate::model::{Irf, Logistic, ResponseModel};

/// Settings of [`saturation`].
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationConfig {
    /// Standard error wanted at the frontier (default 0.3).
    pub target_se: f64,
    /// How many of the strongest models make the frontier (default 3).
    pub top: usize,
    /// Length of the adaptive exam whose precision is reported (default 50).
    pub exam_length: usize,
    /// Probability of a correct answer from which an item counts as
    /// essentially always answered correctly (default 0.95).
    pub easy_p: f64,
    /// Spacing of the information grid (default 0.5).
    pub grid_step: f64,
}

impl Default for SaturationConfig {
    fn default() -> Self {
        SaturationConfig {
            target_se: 0.3,
            top: 3,
            exam_length: 50,
            easy_p: 0.95,
            grid_step: 0.5,
        }
    }
}

impl SaturationConfig {
    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if !(self.target_se.is_finite() && self.target_se > 0.0) {
            return bad(format!(
                "target SE must be a positive number, got {}",
                self.target_se
            ));
        }
        if self.top == 0 || self.exam_length == 0 {
            return bad("top and exam length must be at least 1".into());
        }
        if !(self.easy_p > 0.0 && self.easy_p < 1.0) {
            return bad(format!("easy_p must be in (0, 1), got {}", self.easy_p));
        }
        if !(self.grid_step.is_finite() && self.grid_step > 0.0) {
            return bad(format!(
                "grid step must be positive, got {}",
                self.grid_step
            ));
        }
        Ok(())
    }
}

/// A model's ability on the bank's scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelAbility {
    /// The model (examinee id).
    pub model: String,
    /// Its ability.
    pub theta: f64,
}

/// A top model and how precisely the whole bank measures it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopModel {
    /// The model.
    pub model: String,
    /// Its ability.
    pub theta: f64,
    /// Rank among all models, 1 for the strongest.
    pub rank: usize,
    /// `1 / sqrt(I(theta))` with the whole bank.
    pub full_bank_se: f64,
    /// Share of items with `P >= easy_p` at its ability.
    pub easy_share: f64,
}

/// What to add to the bank to reach the target SE at the frontier; see the
/// [module documentation](self) for the arithmetic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// Median discrimination of the bank, assumed for new items.
    pub median_a: f64,
    /// Difficulty range for new items.
    pub b_range: [f64; 2],
    /// Average information one new item adds at the frontier.
    pub info_per_new_item: f64,
    /// `1 / target_se^2`.
    pub target_information: f64,
    /// `I(theta_f)` of the whole bank.
    pub full_bank_information: f64,
    /// Sum of the `exam_length` largest item informations at `theta_f`.
    pub adaptive_information: f64,
    /// New items for the whole bank to reach the target (0 if it does).
    pub new_items_full_bank: usize,
    /// New items for the adaptive exam to reach the target; `None` when no
    /// number of such items suffices at this exam length.
    pub new_items_adaptive: Option<usize>,
    /// Exam length at which the target is reachable with enough new items
    /// (when `new_items_adaptive` is `None`).
    pub exam_length_needed: Option<usize>,
    /// The recommendation in plain language, with its arithmetic.
    pub message: String,
}

/// The saturation report of a bank.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaturationReport {
    /// Number of items in the bank.
    pub n_items: usize,
    /// Number of models with an ability.
    pub n_models: usize,
    /// Test information over the grid.
    pub information: Vec<InfoPoint>,
    /// The grid point of highest information.
    pub peak: InfoPoint,
    /// The strongest models, strongest first.
    pub top_models: Vec<TopModel>,
    /// Mean ability of the top models.
    pub frontier_theta: f64,
    /// The `easy_p` threshold used.
    pub easy_p: f64,
    /// Items with `P >= easy_p` at every top model's ability.
    pub n_saturated: usize,
    /// `n_saturated / n_items`.
    pub saturated_share: f64,
    /// Items every top model that answered them got right, among the items
    /// at least one top model answered (with responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_saturated: Option<ObservedSaturation>,
    /// `1 / sqrt(I(theta_f))` of the whole bank.
    pub full_bank_se: f64,
    /// Length of the ideal adaptive exam.
    pub exam_length: usize,
    /// SE of that exam at `theta_f`.
    pub adaptive_se: f64,
    /// Target SE.
    pub target_se: f64,
    /// What to add.
    pub recommendation: Recommendation,
}

/// Observed saturation among the top models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ObservedSaturation {
    /// Items answered by at least one top model.
    pub n_items: usize,
    /// Of those, items every top model that answered got fully right.
    pub n_all_correct: usize,
    /// `n_all_correct / n_items`.
    pub share: f64,
}

/// Builds the saturation report of `params` for models at `abilities`;
/// with `observed`, also the observed share of items the top models all got
/// right (rows matched to `abilities` by model id, columns to `params` by
/// item id; items not in `params` are ignored).
///
/// # Errors
/// An invalid configuration, an empty parameter set, or no model with a
/// finite ability ([`ErrorKind::Config`](crate::ErrorKind::Config) /
/// [`ErrorKind::Value`](crate::ErrorKind::Value)).
pub fn saturation(
    params: &ParamSet,
    abilities: &[ModelAbility],
    observed: Option<&ResponseMatrix>,
    config: &SaturationConfig,
) -> Result<SaturationReport> {
    config.check()?;
    if params.is_empty() {
        return Err(Error::value("the parameter set has no items"));
    }
    let mut ranked: Vec<&ModelAbility> = abilities.iter().filter(|m| m.theta.is_finite()).collect();
    if ranked.is_empty() {
        return Err(Error::value("no model has a finite ability"));
    }
    ranked.sort_by(|x, y| y.theta.total_cmp(&x.theta));
    let irfs: Vec<&Irf> = params.items().iter().map(|p| &p.irf).collect();
    let n = irfs.len();
    let top: Vec<&ModelAbility> = ranked.iter().take(config.top).copied().collect();
    let easy = |irf: &Irf, theta: f64| {
        irf.expected_score(theta) / (irf.n_categories() - 1) as f64 >= config.easy_p
    };
    let top_models: Vec<TopModel> = top
        .iter()
        .enumerate()
        .map(|(r, m)| TopModel {
            model: m.model.clone(),
            theta: m.theta,
            rank: r + 1,
            full_bank_se: se_from_information(super::information::test_information(&irfs, m.theta)),
            easy_share: irfs.iter().filter(|irf| easy(irf, m.theta)).count() as f64 / n as f64,
        })
        .collect();
    let frontier_theta = top.iter().map(|m| m.theta).sum::<f64>() / top.len() as f64;
    let n_saturated = irfs
        .iter()
        .filter(|irf| top.iter().all(|m| easy(irf, m.theta)))
        .count();

    let lo = (-4.0f64).min(ranked.last().map_or(-4.0, |m| (m.theta - 1.0).floor()));
    let hi = 4.0f64.max((ranked[0].theta + 1.0).ceil());
    let information = information_curve(&irfs, &grid(lo, hi, config.grid_step));
    let peak = *information
        .iter()
        .max_by(|x, y| x.information.total_cmp(&y.information))
        .expect("the grid has at least one point");

    let ranked_info = ranked_information(&irfs, frontier_theta);
    let full_info: f64 = ranked_info.iter().sum();
    let adaptive_info: f64 = ranked_info.iter().take(config.exam_length).sum();
    let recommendation = recommend(params, &top, frontier_theta, &ranked_info, config);
    Ok(SaturationReport {
        n_items: n,
        n_models: ranked.len(),
        information,
        peak,
        top_models,
        frontier_theta,
        easy_p: config.easy_p,
        n_saturated,
        saturated_share: n_saturated as f64 / n as f64,
        observed_saturated: observed.map(|m| observed_saturation(params, m, &top)),
        full_bank_se: se_from_information(full_info),
        exam_length: config.exam_length,
        adaptive_se: se_from_information(adaptive_info),
        target_se: config.target_se,
        recommendation,
    })
}

fn observed_saturation(
    params: &ParamSet,
    m: &ResponseMatrix,
    top: &[&ModelAbility],
) -> ObservedSaturation {
    let rows: Vec<bool> = m
        .examinees()
        .iter()
        .map(|e| top.iter().any(|t| t.model == e.as_str()))
        .collect();
    let (mut n_items, mut n_all_correct) = (0, 0);
    for (j, id) in m.items().iter().enumerate() {
        let Some(p) = params.get(id.as_str()) else {
            continue;
        };
        let max = (p.irf.n_categories() - 1) as u8;
        let (examinees, scores) = m.item_responses(j);
        let mut answered = false;
        let mut all = true;
        for (&e, &s) in examinees.iter().zip(scores) {
            if rows[e as usize] {
                answered = true;
                all &= s == max;
            }
        }
        if answered {
            n_items += 1;
            n_all_correct += usize::from(all);
        }
    }
    ObservedSaturation {
        n_items,
        n_all_correct,
        share: if n_items > 0 {
            n_all_correct as f64 / n_items as f64
        } else {
            f64::NAN
        },
    }
}

fn median(mut x: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

/// Information at `theta` of the `length` best items of `old` (descending)
/// joined with `n_new` items of information `i_new` each.
fn best_exam(old: &[f64], i_new: f64, n_new: usize, length: usize) -> f64 {
    let (mut total, mut o, mut left) = (0.0, 0, n_new);
    for _ in 0..length {
        let next_old = old.get(o).copied().unwrap_or(0.0);
        if left > 0 && i_new > next_old {
            total += i_new;
            left -= 1;
        } else if o < old.len() {
            total += next_old;
            o += 1;
        } else if left > 0 {
            total += i_new;
            left -= 1;
        }
    }
    total
}

fn recommend(
    params: &ParamSet,
    top: &[&ModelAbility],
    theta_f: f64,
    ranked_info: &[f64],
    config: &SaturationConfig,
) -> Recommendation {
    let median_a = median(
        params
            .items()
            .iter()
            .map(|p| match &p.irf {
                Irf::Logistic(m) => m.a(),
                Irf::Graded(g) => g.a(),
            })
            .collect(),
    );
    let (tmin, tmax) = top.iter().fold((theta_f, theta_f), |(lo, hi), m| {
        (lo.min(m.theta), hi.max(m.theta))
    });
    let b_range = [tmin.min(theta_f - 0.5), tmax.max(theta_f + 0.5)];
    let points = 21;
    let info_per_new_item = (0..points)
        .map(|i| {
            let b = b_range[0] + (b_range[1] - b_range[0]) * i as f64 / (points - 1) as f64;
            Logistic::two_pl(median_a, b).map_or(0.0, |m| m.information(theta_f))
        })
        .sum::<f64>()
        / points as f64;
    let target = 1.0 / (config.target_se * config.target_se);
    let full: f64 = ranked_info.iter().sum();
    let length = config.exam_length;
    let adaptive = best_exam(ranked_info, info_per_new_item, 0, length);
    let new_items_full_bank = if full >= target || info_per_new_item <= 0.0 {
        0
    } else {
        ((target - full) / info_per_new_item).ceil() as usize
    };
    let new_items_adaptive =
        (0..=length).find(|&n| best_exam(ranked_info, info_per_new_item, n, length) >= target);
    let exam_length_needed = if new_items_adaptive.is_none() && info_per_new_item > 0.0 {
        // With unlimited new items the best exam of length m takes, at each
        // step, the better of the next old item and a new one.
        let mut total = 0.0;
        let mut o = 0;
        let mut m = 0;
        while total < target && m < 1_000_000 {
            let next_old = ranked_info.get(o).copied().unwrap_or(0.0);
            if next_old > info_per_new_item {
                total += next_old;
                o += 1;
            } else {
                total += info_per_new_item;
            }
            m += 1;
        }
        Some(m)
    } else {
        None
    };
    let message = recommendation_text(&RecText {
        theta_f,
        median_a,
        b_range,
        i_new: info_per_new_item,
        target,
        full,
        adaptive,
        n_full: new_items_full_bank,
        n_adaptive: new_items_adaptive,
        length_needed: exam_length_needed,
        config,
    });
    Recommendation {
        median_a,
        b_range,
        info_per_new_item,
        target_information: target,
        full_bank_information: full,
        adaptive_information: adaptive,
        new_items_full_bank,
        new_items_adaptive,
        exam_length_needed,
        message,
    }
}

struct RecText<'a> {
    theta_f: f64,
    median_a: f64,
    b_range: [f64; 2],
    i_new: f64,
    target: f64,
    full: f64,
    adaptive: f64,
    n_full: usize,
    n_adaptive: Option<usize>,
    length_needed: Option<usize>,
    config: &'a SaturationConfig,
}

fn recommendation_text(r: &RecText) -> String {
    let (t, l) = (r.config.target_se, r.config.exam_length);
    let mut s = String::new();
    let se = |i: f64| se_from_information(i);
    if r.adaptive >= r.target {
        s += &format!(
            "The bank still measures the frontier: a {l}-item adaptive exam reaches SE {:.3} <= {t} \
             at theta {:.2}. No new items are needed for precision there.",
            se(r.adaptive),
            r.theta_f
        );
        return s;
    }
    s += &format!(
        "The frontier is under-measured: at theta {:.2} a {l}-item adaptive exam reaches SE {:.3} \
         and the whole bank SE {:.3}, above the target {t}. ",
        r.theta_f,
        se(r.adaptive),
        se(r.full)
    );
    match r.n_adaptive {
        Some(n) => {
            s += &format!(
                "Add {n} new items with difficulty b in [{:.2}, {:.2}] (discrimination about {:.2}).",
                r.b_range[0], r.b_range[1], r.median_a
            )
        }
        None => {
            s += &format!(
                "Add hard items with difficulty b in [{:.2}, {:.2}] (discrimination about {:.2}): \
                 with such items even a {l}-item exam made only of them falls short; it would take \
                 {} items per exam.",
                r.b_range[0],
                r.b_range[1],
                r.median_a,
                r.length_needed.map_or("more".into(), |m| m.to_string())
            )
        }
    }
    s += &format!(
        "\nArithmetic: target information I* = 1 / {t}^2 = {:.2}. The {l} most informative items \
         give {:.2} at theta {:.2}; the whole bank gives {:.2}. A new 2PL item with a = {:.2} and b \
         spread over [{:.2}, {:.2}] adds on average a^2 P (1 - P) = {:.4} there (at most a^2 / 4 = \
         {:.4} at b = theta).",
        r.target,
        r.adaptive,
        r.theta_f,
        r.full,
        r.median_a,
        r.b_range[0],
        r.b_range[1],
        r.i_new,
        r.median_a * r.median_a / 4.0
    );
    if let Some(n) = r.n_adaptive {
        s += &format!(
            " Replacing the exam's weakest items by new ones, {n} new items bring its {l} best \
             items to I >= {:.2}.",
            r.target
        );
    } else {
        s += &format!(
            " {l} new items give at most {l} x {:.4} = {:.2} < {:.2}.",
            r.i_new,
            l as f64 * r.i_new,
            r.target
        );
    }
    if r.n_full > 0 {
        s += &format!(
            " For the whole bank: ceil(({:.2} - {:.2}) / {:.4}) = {} new items.",
            r.target, r.full, r.i_new, r.n_full
        );
    }
    s
}

impl fmt::Display for SaturationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Saturation of a bank of {} items, {} models with abilities",
            self.n_items, self.n_models
        )?;
        writeln!(f, "\nTest information over theta (* frontier, ^ peak):")?;
        writeln!(f, "{:>7} {:>12} {:>8}", "theta", "information", "SE")?;
        let step = self
            .information
            .get(1)
            .map_or(1.0, |p| p.theta - self.information[0].theta);
        for p in &self.information {
            let mark = if (p.theta - self.frontier_theta).abs() <= step / 2.0 {
                " *"
            } else if p.theta == self.peak.theta {
                " ^"
            } else {
                ""
            };
            writeln!(
                f,
                "{:>7.2} {:>12.2} {:>8.3}{mark}",
                p.theta, p.information, p.se
            )?;
        }
        writeln!(
            f,
            "\nTop {} models (frontier theta {:.3}):",
            self.top_models.len(),
            self.frontier_theta
        )?;
        for m in &self.top_models {
            writeln!(
                f,
                "  {:>2}. {:<40} theta {:>7.3}  full-bank SE {:.3}  items with P >= {}: {:.1}%",
                m.rank,
                m.model,
                m.theta,
                m.full_bank_se,
                self.easy_p,
                100.0 * m.easy_share
            )?;
        }
        writeln!(
            f,
            "\nItems essentially always answered correctly by the top models (P >= {} at every top theta): {} of {} ({:.1}%)",
            self.easy_p,
            self.n_saturated,
            self.n_items,
            100.0 * self.saturated_share
        )?;
        if let Some(o) = self.observed_saturated.filter(|o| o.n_items > 0) {
            writeln!(
                f,
                "Observed: every top model that answered got it right on {} of {} items ({:.1}%)",
                o.n_all_correct,
                o.n_items,
                100.0 * o.share
            )?;
        }
        writeln!(
            f,
            "\nSE at the frontier (theta {:.3}): whole bank {:.3}, {}-item adaptive exam {:.3} (target {})",
            self.frontier_theta,
            self.full_bank_se,
            self.exam_length,
            self.adaptive_se,
            self.target_se
        )?;
        writeln!(f, "\nRecommendation: {}", self.recommendation.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::{ItemParams, Metadata};
    use crate::model::ModelKind;

    fn bank(bs: &[f64], a: f64) -> ParamSet {
        let items = bs
            .iter()
            .enumerate()
            .map(|(j, &b)| ItemParams {
                id: format!("q{j}").into(),
                kind: ModelKind::TwoPl,
                irf: Logistic::two_pl(a, b).unwrap().into(),
                se: None,
            })
            .collect();
        ParamSet::new(items, Metadata::default()).unwrap()
    }

    fn models(thetas: &[f64]) -> Vec<ModelAbility> {
        thetas
            .iter()
            .enumerate()
            .map(|(i, &theta)| ModelAbility {
                model: format!("m{i}"),
                theta,
            })
            .collect()
    }

    #[test]
    fn best_exam_swaps_in_better_new_items() {
        let old = [1.0, 0.5, 0.1];
        assert_eq!(best_exam(&old, 0.3, 0, 2), 1.5);
        assert!((best_exam(&old, 0.7, 1, 2) - 1.7).abs() < 1e-12);
        assert!((best_exam(&old, 2.0, 5, 2) - 4.0).abs() < 1e-12);
        // Fewer old items than the exam length: new items fill the gap.
        assert!((best_exam(&old, 0.05, 2, 5) - 1.7).abs() < 1e-12);
    }

    #[test]
    fn an_easy_bank_is_saturated_at_the_top_and_needs_hard_items() {
        // 400 items with b in [-2, 1], a = 1.2; top models at theta 3.
        let bs: Vec<f64> = (0..400).map(|j| -2.0 + 3.0 * j as f64 / 399.0).collect();
        let p = bank(&bs, 1.2);
        let abilities = models(&[0.0, 1.0, 3.0, 3.1, 2.9]);
        let r = saturation(&p, &abilities, None, &SaturationConfig::default()).unwrap();
        assert!((r.frontier_theta - 3.0).abs() < 1e-12);
        assert!(r.adaptive_se > 0.3 && r.full_bank_se < r.adaptive_se);
        let rec = &r.recommendation;
        assert!(
            rec.b_range[0] >= 2.4 && rec.b_range[1] <= 3.6,
            "{:?}",
            rec.b_range
        );
        assert!((rec.median_a - 1.2).abs() < 1e-12);
        let n = rec
            .new_items_adaptive
            .expect("reachable with 50 items at a = 1.2");
        // A new item adds at most 1.2^2 / 4 = 0.36 at theta 3, the bank's
        // best items (b near 1) about 0.11: n x 0.34 + (50 - n) x 0.1 >= 11.1
        // needs n of about 25.
        assert!((15..=35).contains(&n), "{n}");
        assert!(
            best_exam(
                &ranked_information(&p.items().iter().map(|i| &i.irf).collect::<Vec<_>>(), 3.0),
                rec.info_per_new_item,
                n,
                50
            ) >= rec.target_information
        );
        assert!(rec.message.contains("Add") && rec.message.contains("above the target"));
        assert!(r.saturated_share > 0.3, "{}", r.saturated_share);
    }

    #[test]
    fn a_well_targeted_bank_needs_nothing() {
        let bs: Vec<f64> = (0..200).map(|j| -3.0 + 6.0 * j as f64 / 199.0).collect();
        let p = bank(&bs, 2.0);
        let r = saturation(&p, &models(&[0.5, 1.0]), None, &SaturationConfig::default()).unwrap();
        assert!(r.adaptive_se <= 0.3);
        assert_eq!(r.recommendation.new_items_adaptive, Some(0));
        assert!(r.recommendation.message.contains("No new items"));
    }

    #[test]
    fn rejects_bad_input() {
        let p = bank(&[0.0], 1.0);
        let cfg = SaturationConfig {
            target_se: 0.0,
            ..Default::default()
        };
        assert!(saturation(&p, &models(&[0.0]), None, &cfg).is_err());
        assert!(saturation(&p, &models(&[f64::NAN]), None, &SaturationConfig::default()).is_err());
    }
}
