//! The M-step: expected counts per item from the posteriors, then Newton
//! steps on each item's expected complete-data log-likelihood plus its log
//! prior, with analytic gradients and Hessians.
//!
//! For item `j` the counts are `r_jkq = sum_i w_i post_i(q)` over the
//! examinees `i` who scored `k`, read through the by-item index, so the
//! M-step after accumulation costs items x categories x nodes, whatever the
//! number of examinees. Items are independent and run in parallel (each
//! item's sums run in a fixed order, so results do not depend on threads);
//! Rasch and 1PL items share a slope and are solved jointly by Newton on the
//! arrowhead system (common slope + one intercept per item).

pub(crate) mod graded;
pub(crate) mod logistic;

use rayon::prelude::*;

use crate::data::ResponseMatrix;
use crate::model::ModelKind;

use super::estep::Posterior;
use super::items::ItemState;
use super::linalg::{cholesky, cholesky_solve};
use super::priors::ItemPriors;

/// Expected counts of one item: `r[k * nq + (q - qlo)]`.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    pub qlo: usize,
    pub nq: usize,
    pub r: Vec<f64>,
}

/// Accumulates the expected counts of item `j` with `n_cat` categories.
pub(crate) fn counts(m: &ResponseMatrix, posts: &[Posterior], j: usize, n_cat: usize) -> Counts {
    let (examinees, scores) = m.item_responses(j);
    let weights = m.weights();
    let mut qlo = usize::MAX;
    let mut qhi = 0;
    for &i in examinees {
        let p = &posts[i as usize];
        qlo = qlo.min(p.lo);
        qhi = qhi.max(p.lo + p.p.len());
    }
    if qlo >= qhi {
        return Counts {
            qlo: 0,
            nq: 0,
            r: Vec::new(),
        };
    }
    let nq = qhi - qlo;
    let mut r = vec![0.0; n_cat * nq];
    for (&i, &k) in examinees.iter().zip(scores) {
        let post = &posts[i as usize];
        let w = weights[i as usize];
        if w == 0.0 {
            continue;
        }
        let start = k as usize * nq + post.lo - qlo;
        for (acc, &p) in r[start..start + post.p.len()].iter_mut().zip(&post.p) {
            *acc += w * p;
        }
    }
    Counts { qlo, nq, r }
}

/// Objective value, gradient and Hessian (row-major) in some coordinates.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    pub f: f64,
    pub grad: Vec<f64>,
    pub hess: Vec<f64>,
}

/// Expected complete-data log-likelihood plus log prior of `item` at its
/// current parameters, with derivatives in its free coordinates
/// ([`ItemState::coords`]); with `with_slope`, shared-slope items are
/// differentiated in `(a, d)` (the slope prior is then not applied: the
/// common slope has none). `None` when the parameters are invalid.
pub(crate) fn evaluate(
    item: &ItemState,
    c: &Counts,
    nodes: &[f64],
    priors: &ItemPriors,
    with_slope: bool,
) -> Option<Eval> {
    if !item.is_valid() {
        return None;
    }
    let nodes = &nodes[c.qlo..c.qlo + c.nq];
    let mut e = match item.kind {
        ModelKind::Graded => {
            let n = item.p.len();
            let mut grad = vec![0.0; n];
            let mut hess = vec![0.0; n * n];
            let mut f = 0.0;
            for k in 0..n {
                let row = &c.r[k * c.nq..(k + 1) * c.nq];
                for (&t, &r) in nodes.iter().zip(row) {
                    if r > 0.0 {
                        f += r * graded::add_derivs(&item.p, t, k, r, &mut grad, &mut hess);
                    }
                }
            }
            Eval { f, grad, hess }
        }
        ModelKind::Rasch | ModelKind::OnePl | ModelKind::TwoPl => {
            let (r0, r1) = c.r.split_at(c.nq);
            let (f, g, h) = logistic::two_pl_objective(item.p[0], item.p[1], nodes, r0, r1);
            if item.shares_slope() && !with_slope {
                Eval {
                    f,
                    grad: vec![g[1]],
                    hess: vec![h[1][1]],
                }
            } else {
                Eval {
                    f,
                    grad: g.to_vec(),
                    hess: vec![h[0][0], h[0][1], h[1][0], h[1][1]],
                }
            }
        }
        kind => {
            let coords = ItemState::logistic_coords(kind);
            let n = coords.len();
            let mut grad = vec![0.0; n];
            let mut hess = vec![0.0; n * n];
            let mut f = 0.0;
            for x in 0..2 {
                let row = &c.r[x * c.nq..(x + 1) * c.nq];
                for (&t, &r) in nodes.iter().zip(row) {
                    if r > 0.0 {
                        let d = logistic::derivs(&item.p, t, x);
                        f += r * d.ln_p;
                        for (i, &ci) in coords.iter().enumerate() {
                            grad[i] += r * d.grad[ci];
                            for (jj, &cj) in coords.iter().enumerate() {
                                hess[i * n + jj] += r * d.hess[ci][cj];
                            }
                        }
                    }
                }
            }
            Eval { f, grad, hess }
        }
    };
    add_priors(item, priors, with_slope, &mut e);
    e.f.is_finite().then_some(e)
}

fn add_priors(item: &ItemState, pr: &ItemPriors, with_slope: bool, e: &mut Eval) {
    let n = e.grad.len();
    let mut add = |i: usize, (v, g, h): (f64, f64, f64)| {
        e.f += v;
        e.grad[i] += g;
        e.hess[i * n + i] += h;
    };
    match item.kind {
        ModelKind::Graded => {
            if let Some(p) = pr.log_slope {
                add(0, p.on_log(item.p[0]));
            }
            if let Some(p) = pr.intercept {
                for k in 1..item.p.len() {
                    add(k, p.on_value(item.p[k]));
                }
            }
        }
        kind => {
            let shared = item.shares_slope();
            let d_index = if shared && !with_slope { 0 } else { 1 };
            if !shared {
                if let Some(p) = pr.log_slope {
                    add(0, p.on_log(item.p[0]));
                }
            }
            if let Some(p) = pr.intercept {
                add(d_index, p.on_value(item.p[1]));
            }
            if matches!(kind, ModelKind::ThreePl | ModelKind::FourPl) {
                if let Some(p) = pr.guessing {
                    add(2, p.on_logit(item.p[2]));
                }
            }
            if kind == ModelKind::FourPl {
                if let Some(p) = pr.upper {
                    add(3, p.on_logit(item.p[3]));
                }
            }
        }
    }
}

/// Solves `(-H) x = g`, damping `-H` towards its diagonal when it is not
/// positive definite (a Levenberg-Marquardt fallback for 3PL/4PL curvature).
fn newton_direction(e: &Eval) -> Vec<f64> {
    let n = e.grad.len();
    let mut m: Vec<f64> = e.hess.iter().map(|h| -h).collect();
    let scale = (0..n).map(|i| m[i * n + i].abs()).fold(1e-8, f64::max);
    let mut lambda = 0.0;
    for _ in 0..12 {
        if let Some(l) = cholesky(&m, n) {
            return cholesky_solve(&l, n, &e.grad);
        }
        let next = if lambda == 0.0 {
            1e-6 * scale
        } else {
            lambda * 10.0
        };
        for i in 0..n {
            m[i * n + i] += next - lambda;
        }
        lambda = next;
    }
    e.grad.iter().map(|g| g / scale).collect()
}

/// Largest step of one Newton iteration in any coordinate: keeps early
/// iterations from leaping across the parameter space.
const MAX_STEP: f64 = 2.0;

/// Newton stops after a step below this.
const TINY_STEP: f64 = 1e-9;

/// Newton also stops after a full (undamped) step below this: Newton
/// converges quadratically, so what is left after a full step of `1e-6` is
/// of order `1e-12`, far below the EM tolerance. Stopping here rather than
/// at [`TINY_STEP`] saves the one extra objective evaluation per item that
/// most M-steps of a converging EM would otherwise spend. A Newton direction
/// already below this is taken without evaluating the objective at its end
/// (a step that small on a concave objective is accepted at `t = 1`), which
/// saves one more: a late EM cycle then costs one evaluation per item.
const FULL_STEP_DONE: f64 = 1e-6;

/// True when a Newton iteration that moved by `step` (after damping by `t`)
/// ends the iteration.
fn newton_done(step: f64, t: f64) -> bool {
    step < TINY_STEP || (t == 1.0 && step < FULL_STEP_DONE)
}

/// Maximises `eval` from `x0` by damped Newton with step halving.
/// Returns the maximiser and whether the last step was below `1e-9`.
pub(crate) fn newton(
    x0: Vec<f64>,
    eval: impl Fn(&[f64]) -> Option<Eval>,
    max_iter: usize,
) -> (Vec<f64>, bool) {
    let mut x = x0;
    let Some(mut e) = eval(&x) else {
        return (x, false);
    };
    for _ in 0..max_iter {
        let mut dir = newton_direction(&e);
        let big = dir.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !big.is_finite() {
            return (x, false);
        }
        if big < FULL_STEP_DONE {
            // The full step is what the line search below would accept at
            // `t = 1` and then stop on; taking it without the evaluation
            // gives the same point one objective evaluation sooner.
            let xn = x.iter().zip(&dir).map(|(v, d)| v + d).collect();
            return (xn, true);
        }
        if big > MAX_STEP {
            dir.iter_mut().for_each(|v| *v *= MAX_STEP / big);
        }
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial: Vec<f64> = x.iter().zip(&dir).map(|(v, d)| v + t * d).collect();
            if let Some(et) = eval(&trial) {
                if et.f >= e.f - 1e-12 * e.f.abs() {
                    accepted = Some((trial, et));
                    break;
                }
            }
            t *= 0.5;
        }
        let Some((xn, en)) = accepted else {
            return (x, true);
        };
        let step = big.min(MAX_STEP) * t;
        x = xn;
        e = en;
        if newton_done(step, t) {
            return (x, true);
        }
    }
    (x, false)
}

/// M-step of one item with its own parameters. Returns the updated item and
/// whether Newton converged.
pub(crate) fn update_item(
    item: &ItemState,
    c: &Counts,
    nodes: &[f64],
    priors: &ItemPriors,
) -> (ItemState, bool) {
    let (x, ok) = newton(
        item.coords(),
        |x| evaluate(&item.with_coords(x), c, nodes, priors, false),
        50,
    );
    (item.with_coords(&x), ok)
}

/// Joint M-step of items sharing one slope (`items[j].p[0]` is the common
/// slope): Newton on `(s, d_1, .., d_n)` whose Hessian is an arrowhead, solved
/// through its Schur complement. Returns the new slope, intercepts and
/// whether Newton converged.
pub(crate) fn update_group(
    items: &[ItemState],
    counts: &[Counts],
    nodes: &[f64],
    priors: &[ItemPriors],
) -> (f64, Vec<f64>, bool) {
    let at = |s: f64, d: &[f64]| -> Option<Vec<Eval>> {
        (0..items.len())
            .into_par_iter()
            .map(|j| {
                let mut it = items[j].clone();
                it.p[0] = s;
                it.p[1] = d[j];
                evaluate(&it, &counts[j], nodes, &priors[j], true)
            })
            .collect()
    };
    let total = |es: &[Eval]| es.iter().map(|e| e.f).sum::<f64>();
    let mut s = items[0].p[0];
    let mut d: Vec<f64> = items.iter().map(|it| it.p[1]).collect();
    let Some(mut es) = at(s, &d) else {
        return (s, d, false);
    };
    let mut f = total(&es);
    for _ in 0..50 {
        // M = -H: m_ss, m_sj, m_jj; gradient g_s, g_j.
        let mut g_s = 0.0;
        let mut m_ss = 0.0;
        let mut schur_g = 0.0;
        let mut schur_m = 0.0;
        for e in &es {
            let (m_sj, m_jj) = (-e.hess[1], (-e.hess[3]).max(1e-12));
            g_s += e.grad[0];
            m_ss += -e.hess[0];
            schur_g += m_sj * e.grad[1] / m_jj;
            schur_m += m_sj * m_sj / m_jj;
        }
        let denom = m_ss - schur_m;
        let ds = if denom > 1e-12 {
            (g_s - schur_g) / denom
        } else {
            0.0
        };
        let mut dd: Vec<f64> = es
            .iter()
            .map(|e| (e.grad[1] - (-e.hess[1]) * ds) / (-e.hess[3]).max(1e-12))
            .collect();
        let mut ds = ds;
        let big = dd.iter().fold(ds.abs(), |m, v| m.max(v.abs()));
        if !big.is_finite() {
            return (s, d, false);
        }
        if big < FULL_STEP_DONE {
            // As in `newton`: the full step, without evaluating it.
            let dn = d.iter().zip(&dd).map(|(v, x)| v + x).collect();
            return (s + ds, dn, true);
        }
        if big > MAX_STEP {
            ds *= MAX_STEP / big;
            dd.iter_mut().for_each(|v| *v *= MAX_STEP / big);
        }
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let sn = s + t * ds;
            let dn: Vec<f64> = d.iter().zip(&dd).map(|(v, x)| v + t * x).collect();
            if let Some(en) = at(sn, &dn) {
                let fn_ = total(&en);
                if fn_ >= f - 1e-12 * f.abs() {
                    s = sn;
                    d = dn;
                    es = en;
                    f = fn_;
                    accepted = true;
                    break;
                }
            }
            t *= 0.5;
        }
        if !accepted || newton_done(big.min(MAX_STEP) * t, t) {
            return (s, d, true);
        }
    }
    (s, d, false)
}
