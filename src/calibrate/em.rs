//! The EM driver: E-step, M-step, scale expansion, convergence, and the
//! assembly of the result.

use rayon::prelude::*;

use crate::data::ResponseMatrix;
use crate::error::Result;
use crate::model::{Irf, ModelKind};

use super::config::CalibrationConfig;
use super::estep::{self, Posterior, Table};
use super::items::ItemState;
use super::mstep::{self, Counts};
use super::prepare::{self, ItemData};
use super::priors::ItemPriors;
use super::quadrature::Grid;
use super::result::{Ability, Calibration, FittedItem, ItemFlag, LatentDistribution, Progress};
use super::{fit, se};

/// Calibrates the items of `responses` by marginal maximum likelihood
/// (Bock-Aitkin EM), calling `progress` once per EM cycle.
///
/// # Errors
/// Invalid configuration ([`ErrorKind::Config`](crate::ErrorKind::Config));
/// an empty matrix, an item nobody answered, a score outside what the item's
/// model allows, a graded item with an unobserved middle category, or a
/// matrix in which no item varies ([`ErrorKind::Value`](crate::ErrorKind::Value),
/// naming the item). A run that reaches `max_iterations` is not an error: the
/// result says `converged: false` and flags the items still moving.
pub fn calibrate(
    responses: &ResponseMatrix,
    config: &CalibrationConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Calibration> {
    run(responses, config, None, progress)
}

/// Items held at given parameters during an anchored calibration
/// (built by [`super::anchor`]).
#[derive(Debug, Clone)]
pub(crate) struct Fixed {
    /// Per column: the anchor's parameters in slope-intercept form on the
    /// anchor scale (`theta`, not `z`), or `None` for an item to estimate.
    pub items: Vec<Option<ItemState>>,
    /// Per column: the anchor's response function and standard errors,
    /// reported unchanged.
    pub reported: Vec<Option<(Irf, Option<Vec<f64>>)>>,
    /// The anchor-scale slope that free 1PL items share, when the anchors
    /// include 1PL items (otherwise the free 1PL items' slope is estimated).
    pub one_pl_slope: Option<f64>,
}

/// How the M-step treats an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Update {
    /// Newton on the item's own coordinates (for Rasch/1PL items: the
    /// intercept, the slope staying where it is).
    Own,
    /// Jointly with the other free items of its shared-slope group.
    Group,
    /// Not at all: an anchor item.
    Fixed,
}

/// The EM loop. With `fixed`, anchor items keep their parameters, the latent
/// distribution `theta ~ N(mu, sigma^2)` on the anchor scale is estimated
/// each cycle, and everything else is placed on that scale.
pub(crate) fn run(
    responses: &ResponseMatrix,
    config: &CalibrationConfig,
    fixed: Option<&Fixed>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Calibration> {
    let m = responses;
    let kinds = config.kinds(m.n_items())?;
    let data = prepare::check(m, &kinds)?;
    let grid = Grid::new(&config.quadrature);
    let priors: Vec<ItemPriors> = kinds.iter().map(|k| config.priors.for_kind(*k)).collect();
    let anchor_of = |j: usize| fixed.and_then(|f| f.items[j].as_ref());
    let updates: Vec<Update> = (0..kinds.len())
        .map(|j| match (anchor_of(j), kinds[j], fixed) {
            (Some(_), _, _) => Update::Fixed,
            (None, ModelKind::Rasch, Some(_)) => Update::Own,
            (None, ModelKind::OnePl, Some(f)) if f.one_pl_slope.is_some() => Update::Own,
            (None, ModelKind::Rasch | ModelKind::OnePl, _) => Update::Group,
            _ => Update::Own,
        })
        .collect();
    // Anchor scale: theta = mu + sigma z, estimated from the start values.
    let (mut mu, mut sigma) = (0.0, 1.0);
    let place_anchor = |state: &ItemState, mu: f64, sigma: f64| {
        let mut s = state.clone();
        s.rescale(mu, sigma);
        s
    };
    let mut items: Vec<ItemState> = kinds
        .iter()
        .zip(&data)
        .enumerate()
        .map(|(j, (k, d))| match anchor_of(j) {
            Some(a) => place_anchor(a, mu, sigma),
            None => {
                let mut s = prepare::start(*k, d);
                if let (Some(f), ModelKind::OnePl) = (fixed, *k) {
                    s.p[0] = f.one_pl_slope.unwrap_or(s.p[0]);
                }
                s
            }
        })
        .collect();
    let groups: [Vec<usize>; 2] = [ModelKind::Rasch, ModelKind::OnePl].map(|g| {
        (0..items.len())
            .filter(|&j| kinds[j] == g && updates[j] == Update::Group)
            .collect()
    });
    // Windowed E-steps need a log-concave posterior (see estep).
    let windowed = !kinds
        .iter()
        .any(|k| matches!(k, ModelKind::ThreePl | ModelKind::FourPl));
    let mut posts = vec![Posterior::default(); m.n_examinees()];
    let mut item_change = vec![f64::INFINITY; items.len()];
    let mut newton_ok = vec![true; items.len()];
    let mut converged = false;
    let mut iterations = 0;
    for iteration in 1..=config.max_iterations {
        iterations = iteration;
        let before = items.clone();
        let (mu_before, sigma_before) = (mu, sigma);
        let table = Table::build(&items, &grid);
        estep::run(m, &table, &grid, &mut posts, windowed);
        drop(table);
        let log_likelihood = estep::log_likelihood(m, &posts);
        m_step(
            m,
            &posts,
            &grid,
            &priors,
            &groups,
            &updates,
            &mut items,
            &mut newton_ok,
        );
        // Under anchors this is the M-step of the latent mean and SD (the
        // anchors' z-coordinates follow from the new mu, sigma); without,
        // parameter expansion back to N(0, 1).
        if config.scale_expansion || fixed.is_some() {
            let (mean, var) = estep::population_moments(m, &posts, &grid.nodes);
            let sd = var.sqrt();
            if mean.is_finite() && sd.is_finite() && sd > 0.0 {
                mu += sigma * mean;
                sigma *= sd;
                for (j, it) in items.iter_mut().enumerate() {
                    match anchor_of(j) {
                        Some(a) => *it = place_anchor(a, mu, sigma),
                        None => it.rescale(mean, sd),
                    }
                }
            }
        }
        for (j, c) in item_change.iter_mut().enumerate() {
            *c = if updates[j] == Update::Fixed {
                0.0
            } else {
                items[j].change(&before[j])
            };
        }
        let mut max_change = item_change.iter().copied().fold(0.0, f64::max);
        if fixed.is_some() {
            max_change = max_change
                .max((mu - mu_before).abs())
                .max((sigma - sigma_before).abs());
        }
        progress(&Progress {
            iteration,
            max_change,
            log_likelihood,
        });
        if max_change < config.tolerance {
            converged = true;
            break;
        }
    }
    let table = Table::build(&items, &grid);
    estep::run(m, &table, &grid, &mut posts, windowed);
    drop(table);
    let log_likelihood = estep::log_likelihood(m, &posts);
    // The reported scale: theta = mu + sigma z (anchored), theta = s z with
    // s the Rasch latent SD, or theta = z.
    let latent = if fixed.is_some() {
        LatentDistribution {
            mean: mu,
            sd: sigma,
        }
    } else {
        LatentDistribution {
            mean: 0.0,
            sd: groups[0].first().map_or(1.0, |&j| items[j].p[0]),
        }
    };
    let (ses, se_method) = if config.standard_errors {
        let (s, method) = se::standard_errors(m, &items, &posts, &grid, &priors);
        let s = match fixed {
            Some(_) if !kinds.contains(&ModelKind::Rasch) => s
                .into_iter()
                .map(|se| se.map(|v| z_to_theta_se(&v, sigma)))
                .collect(),
            _ => s,
        };
        (s, Some(method.to_string()))
    } else {
        (vec![None; items.len()], None)
    };
    let fits = fit::item_fit(m, &items, &posts, &grid);
    let mut fitted = Vec::with_capacity(items.len());
    for j in 0..items.len() {
        let id = m.items()[j].as_str();
        let anchored = fixed.and_then(|f| f.reported[j].as_ref());
        let (irf, se) = match anchored {
            Some((irf, se)) => (irf.clone(), se.clone()),
            None if fixed.is_some() => {
                let mut s = items[j].clone();
                s.rescale(-mu / sigma, 1.0 / sigma);
                (s.to_irf(1.0).map_err(|e| e.for_item(id))?, ses[j].clone())
            }
            None => (
                items[j].to_irf(latent.sd).map_err(|e| e.for_item(id))?,
                ses[j].clone(),
            ),
        };
        let mut flags = data_flags(&data[j], kinds[j]);
        if anchored.is_none() && (item_change[j] >= config.tolerance || !newton_ok[j]) {
            flags.push(ItemFlag::NotConverged);
        }
        flags.extend(parameter_flags(&irf));
        if anchored.is_none() && config.standard_errors && se.is_none() {
            flags.push(ItemFlag::NoStandardErrors);
        }
        if fits[j].is_some_and(|f| f.s_x2().is_some_and(|s| s.misfit)) {
            flags.push(ItemFlag::Misfit);
        }
        fitted.push(FittedItem {
            id: m.items()[j].clone(),
            kind: kinds[j],
            irf,
            se,
            flags,
            fit: fits[j],
            n_responses: data[j].n_responses,
        });
    }
    let n_parameters = if fixed.is_some() {
        (0..items.len())
            .filter(|&j| updates[j] != Update::Fixed)
            .map(|j| items[j].coords().len())
            .sum::<usize>()
            + groups.iter().filter(|g| !g.is_empty()).count()
            + 2
    } else {
        items.iter().map(|it| it.coords().len()).sum::<usize>()
            + groups.iter().filter(|g| !g.is_empty()).count()
    };
    let n_examinees: f64 = m.weights().iter().sum();
    let k = n_parameters as f64;
    let irfs: Vec<&Irf> = fitted.iter().map(|f| &f.irf).collect();
    let spacing = grid.nodes[1] - grid.nodes[0];
    let abilities = posts
        .par_iter()
        .enumerate()
        .map(|(e, p)| {
            let (mean, var) = p.moments(&grid.nodes);
            let eap = latent.mean + latent.sd * mean;
            let (theta, se) = if var.sqrt() < spacing {
                laplace_ability(m, e, &irfs, latent, eap)
            } else {
                (eap, latent.sd * var.sqrt())
            };
            Ability {
                id: m.examinees()[e].clone(),
                theta,
                se,
            }
        })
        .collect();
    Ok(Calibration {
        items: fitted,
        latent,
        log_likelihood,
        aic: -2.0 * log_likelihood + 2.0 * k,
        bic: -2.0 * log_likelihood + k * n_examinees.ln(),
        n_parameters,
        iterations,
        converged,
        abilities,
        se_method,
    })
}

/// Standard errors of reported parameters on the standardised scale `z`
/// carried to `theta = mu + sigma z` (delta method, `mu` and `sigma` taken
/// as known): slopes `/ sigma`, difficulties and thresholds `* sigma`,
/// asymptotes unchanged. Parameter order is `irf.params()`: `[a, b, g, u]`
/// or `[a, b_1, ..]`, and for the logistic family positions 2 and 3 are the
/// asymptotes.
fn z_to_theta_se(se: &[f64], sigma: f64) -> Vec<f64> {
    let logistic = se.len() == 4;
    se.iter()
        .enumerate()
        .map(|(i, v)| match i {
            0 => v / sigma,
            2 | 3 if logistic => *v,
            _ => v * sigma,
        })
        .collect()
}

/// One M-step: items with their own parameters in parallel, then each
/// shared-slope group jointly; anchor items are skipped.
#[allow(clippy::too_many_arguments)]
fn m_step(
    m: &ResponseMatrix,
    posts: &[Posterior],
    grid: &Grid,
    priors: &[ItemPriors],
    groups: &[Vec<usize>; 2],
    updates: &[Update],
    items: &mut [ItemState],
    newton_ok: &mut [bool],
) {
    let updated: Vec<Option<(ItemState, bool)>> = items
        .par_iter()
        .enumerate()
        .map(|(j, it)| {
            (updates[j] == Update::Own).then(|| {
                let c = mstep::counts(m, posts, j, it.n_cat());
                mstep::update_item(it, &c, &grid.nodes, &priors[j])
            })
        })
        .collect();
    for (j, u) in updated.into_iter().enumerate() {
        if let Some((it, ok)) = u {
            items[j] = it;
            newton_ok[j] = ok;
        }
    }
    for group in groups.iter().filter(|g| !g.is_empty()) {
        let members: Vec<ItemState> = group.iter().map(|&j| items[j].clone()).collect();
        let counts: Vec<Counts> = group
            .par_iter()
            .map(|&j| mstep::counts(m, posts, j, 2))
            .collect();
        let pr: Vec<ItemPriors> = group.iter().map(|&j| priors[j]).collect();
        let (s, d, ok) = mstep::update_group(&members, &counts, &grid.nodes, &pr);
        for (pos, &j) in group.iter().enumerate() {
            items[j].p[0] = s;
            items[j].p[1] = d[pos];
            newton_ok[j] = ok;
        }
    }
}

fn data_flags(d: &ItemData, kind: ModelKind) -> Vec<ItemFlag> {
    let mut flags = Vec::new();
    if !d.has_variance() {
        flags.push(ItemFlag::NoVariance);
        if kind.is_dichotomous() {
            flags.push(if d.category_weight[0] == 0.0 {
                ItemFlag::AllCorrect
            } else {
                ItemFlag::AllIncorrect
            });
        }
    }
    flags
}

/// Flags for parameters outside the usual range: `|b| > 6`, `a > 10`,
/// `a < 0.05`, `g > 0.5`, `u < 0.5`.
fn parameter_flags(irf: &Irf) -> Vec<ItemFlag> {
    let mut flags = Vec::new();
    let (a, bs, g, u) = match irf {
        Irf::Logistic(l) => (l.a(), vec![l.b()], l.g(), l.u()),
        Irf::Graded(gr) => (gr.a(), gr.thresholds().to_vec(), 0.0, 1.0),
    };
    if bs.iter().any(|b| b.abs() > 6.0) {
        flags.push(ItemFlag::ExtremeDifficulty);
    }
    if a > 10.0 {
        flags.push(ItemFlag::HighSlope);
    }
    if a < 0.05 {
        flags.push(ItemFlag::LowSlope);
    }
    if g > 0.5 {
        flags.push(ItemFlag::HighGuessing);
    }
    if u < 0.5 {
        flags.push(ItemFlag::LowUpper);
    }
    flags
}

/// Newton on the posterior mode stops after a step below this: the mode is
/// then within `O(1e-12)` (quadratic convergence), and the curvature of the
/// pass that produced the step, taken `1e-6` away from the mode, gives the
/// SD to a relative `O(1e-6)`, so no further pass over the responses is
/// needed for either.
const LAPLACE_DONE: f64 = 1e-6;

/// The posterior mode and curvature SD of examinee `e` under the fitted items
/// and the `N(latent.mean, latent.sd^2)` population: the Laplace approximation to its
/// EAP and posterior SD. Used when the posterior on the quadrature grid is
/// narrower than the node spacing (an LLM answering thousands of items),
/// where grid moments would snap theta to a node and understate the SD by
/// orders of magnitude. With thousands of responses the posterior is close to
/// normal, so mode and mean differ by O(SD^2).
fn laplace_ability(
    m: &ResponseMatrix,
    e: usize,
    irfs: &[&Irf],
    latent: LatentDistribution,
    start: f64,
) -> (f64, f64) {
    use crate::estimate::{AbilityPrior, Estimator, Method};
    use crate::model::ResponseModel;
    let (items, scores) = m.examinee_responses(e);
    let pattern: Vec<(&Irf, usize)> = items
        .iter()
        .zip(scores)
        .map(|(&j, &s)| (irfs[j as usize], s as usize))
        .collect();
    // 2PL, 1PL and Rasch items (no asymptotes) in closed form: with
    // `s = sigmoid(a (theta - b))`, `d ln P / d theta = a (x - s)` and
    // `d2 = -a^2 s (1 - s)`, one `exp` per response where the general
    // `theta_derivs` spends several logarithms.
    let plain: Option<Vec<(f64, f64, bool)>> = pattern
        .iter()
        .map(|(irf, s)| match irf {
            Irf::Logistic(l) if l.g() == 0.0 && l.u() == 1.0 => Some((l.a(), l.b(), *s == 1)),
            _ => None,
        })
        .collect();
    let precision = 1.0 / (latent.sd * latent.sd);
    // Gradient and curvature of the log posterior at theta.
    let derivs = |theta: f64| -> (f64, f64) {
        let prior = (-(theta - latent.mean) * precision, -precision);
        match &plain {
            Some(terms) => terms.iter().fold(prior, |(g, h), &(a, b, correct)| {
                let (s, sc, w) = super::mstep::logistic::sigmoid_pair(a * (theta - b));
                let d1 = if correct { a * sc } else { -a * s };
                (g + d1, h - a * a * w)
            }),
            None => pattern.iter().fold(prior, |(g, h), (irf, s)| {
                let d = irf.theta_derivs(theta, *s);
                (g + d.d1, h + d.d2)
            }),
        }
    };
    // Newton from the grid mean, which is already within a node of the mode:
    // a few steps, each one pass over the examinee's items.
    let mut theta = start;
    for _ in 0..30 {
        let (g, h) = derivs(theta);
        if !(h < 0.0 && g.is_finite()) {
            break;
        }
        let step = (-g / h).clamp(-0.5, 0.5);
        theta += step;
        if step.abs() < LAPLACE_DONE {
            return (theta, 1.0 / (-h).sqrt());
        }
    }
    // Not concave near the start (3PL/4PL patterns can be): the estimator's
    // global search, with the observed curvature where it is negative.
    let Ok(prior) = AbilityPrior::normal(latent.mean, latent.sd) else {
        return (start, f64::NAN);
    };
    let map = Estimator::new(Method::Map).prior(prior).estimate(&pattern);
    if !map.theta.is_finite() {
        return (start, f64::NAN);
    }
    let curvature: f64 = pattern
        .iter()
        .map(|(irf, s)| irf.theta_derivs(map.theta, *s).d2)
        .sum::<f64>()
        - precision;
    let se = if curvature < 0.0 {
        1.0 / (-curvature).sqrt()
    } else {
        map.se
    };
    (map.theta, se)
}
