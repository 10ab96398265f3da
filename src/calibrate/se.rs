//! Standard errors of item parameters from the observed information of the
//! marginal likelihood, by Louis' (1982) formula:
//!
//! `I = sum_i w_i ( E_i[-d2 ln f_i] - Cov_i[d ln f_i] )`,
//!
//! where `f_i(theta) = prod_j P_j(x_ij | theta)` is examinee `i`'s
//! complete-data likelihood and `E_i`, `Cov_i` are taken over its posterior
//! on the quadrature nodes. The derivatives are the analytic ones of the
//! M-step. With priors, the information of the log prior is added (the
//! errors are then those of the posterior mode).
//!
//! * **Full matrix** (`"louis-full"`) when the bank has at most
//!   `FULL_LIMIT` (60) free parameters: all cross-item terms are kept; this is
//!   what mirt's Oakes/Louis errors compute, and it reproduces mirt's Rasch
//!   `SE(d1) = 0.100416` on LSAT7.
//! * **Per-item blocks** (`"louis-item-blocks"`) above that: each item's own
//!   block (and a common slope's own 1 x 1 block). This ignores the
//!   covariances between items that flow through the examinees' abilities,
//!   so it understates errors slightly when examinees answer few items; its
//!   cost is responses x active nodes, like one EM cycle.
//!
//! Errors of the reported parameters (`b = -d / a`, `g`, `u`, and slopes on a
//! Rasch latent scale) follow by the delta method with a numerical Jacobian of
//! the conversion.

use rayon::prelude::*;

use crate::data::ResponseMatrix;
use crate::model::ModelKind;

use super::estep::Posterior;
use super::items::ItemState;
use super::linalg::invert_spd;
use super::mstep::{self, Counts, graded, logistic};
use super::priors::ItemPriors;
use super::quadrature::Grid;

/// Largest number of free parameters for which the full matrix is used.
pub const FULL_LIMIT: usize = 60;

/// Where each item's working coordinates sit in the global parameter vector.
pub(crate) struct Layout {
    /// Global indices of each item's coordinates in `evaluate(.., true)`
    /// order (shared-slope items: `[slope, d]`).
    pub index: Vec<Vec<usize>>,
    /// Global index of each group's common slope (Rasch, 1PL).
    pub group_slope: [Option<usize>; 2],
    pub n: usize,
}

pub(crate) fn group_of(kind: ModelKind) -> Option<usize> {
    match kind {
        ModelKind::Rasch => Some(0),
        ModelKind::OnePl => Some(1),
        _ => None,
    }
}

impl Layout {
    pub fn new(items: &[ItemState]) -> Self {
        let mut n = 0;
        let mut own = Vec::with_capacity(items.len());
        for it in items {
            let k = it.coords().len();
            own.push((n..n + k).collect::<Vec<_>>());
            n += k;
        }
        let mut group_slope = [None, None];
        for it in items {
            if let Some(g) = group_of(it.kind) {
                if group_slope[g].is_none() {
                    group_slope[g] = Some(n);
                    n += 1;
                }
            }
        }
        let index = items
            .iter()
            .zip(own)
            .map(|(it, own)| match group_of(it.kind) {
                Some(g) => std::iter::once(group_slope[g].unwrap())
                    .chain(own)
                    .collect(),
                None => own,
            })
            .collect();
        Layout {
            index,
            group_slope,
            n,
        }
    }
}

/// Number of `evaluate(.., true)` coordinates of an item.
fn n_derivs(it: &ItemState) -> usize {
    if it.shares_slope() {
        2
    } else {
        it.coords().len()
    }
}

/// Gradient and Hessian (row-major) of `ln P_j(k | z)` in the item's
/// `evaluate(.., true)` coordinates, written into `g` (length
/// [`n_derivs`]) and `h` (its square).
fn item_derivs(it: &ItemState, z: f64, k: usize, g: &mut [f64], h: &mut [f64]) {
    match it.kind {
        ModelKind::Graded => {
            g.fill(0.0);
            h.fill(0.0);
            graded::add_derivs(&it.p, z, k, 1.0, g, h);
        }
        ModelKind::Rasch | ModelKind::OnePl | ModelKind::TwoPl => {
            // No asymptotes: with s = sigmoid(a z + d), the gradient in
            // (a, d) is (x - s)(z, 1) and the Hessian -s (1 - s)(z, 1)(z, 1)^T,
            // one exp where the general derivatives take several.
            let (s, sc, w) = logistic::sigmoid_pair(it.p[0] * z + it.p[1]);
            let res = if k == 1 { sc } else { -s };
            g[0] = res * z;
            g[1] = res;
            h[0] = -w * z * z;
            h[1] = -w * z;
            h[2] = -w * z;
            h[3] = -w;
        }
        kind => {
            let coords = ItemState::logistic_coords(kind);
            let d = logistic::derivs(&it.p, z, k);
            let n = coords.len();
            for (r, &cr) in coords.iter().enumerate() {
                g[r] = d.grad[cr];
                for (c, &cc) in coords.iter().enumerate() {
                    h[r * n + c] = d.hess[cr][cc];
                }
            }
        }
    }
}

/// Covariance of the working parameters: full matrix or item blocks.
pub(crate) enum Covariance {
    Full(Vec<f64>),
    Blocks {
        items: Vec<Option<Vec<f64>>>,
        slopes: [Option<f64>; 2],
    },
}

impl Covariance {
    /// Covariance between global indices `a` and `b` as seen by item `j`.
    fn get(&self, layout: &Layout, j: usize, a: usize, b: usize) -> f64 {
        match self {
            Covariance::Full(m) => m[a * layout.n + b],
            Covariance::Blocks { items, slopes } => {
                let slope = |x: usize| layout.group_slope.iter().position(|s| *s == Some(x));
                match (slope(a), slope(b)) {
                    (Some(ga), Some(gb)) if ga == gb => slopes[ga].unwrap_or(f64::NAN),
                    (None, None) => {
                        let idx = &layout.index[j];
                        let own: Vec<usize> = idx
                            .iter()
                            .copied()
                            .filter(|x| slope(*x).is_none())
                            .collect();
                        let pa = own.iter().position(|x| *x == a);
                        let pb = own.iter().position(|x| *x == b);
                        match (&items[j], pa, pb) {
                            (Some(c), Some(pa), Some(pb)) => c[pa * own.len() + pb],
                            _ => f64::NAN,
                        }
                    }
                    _ => 0.0,
                }
            }
        }
    }
}

fn prior_hessian(it: &ItemState, pr: &ItemPriors, nodes: &[f64]) -> Vec<f64> {
    let empty = Counts {
        qlo: 0,
        nq: 0,
        r: Vec::new(),
    };
    let mut zero = it.clone();
    // evaluate() needs valid parameters, which `it` has; only the prior part
    // survives with empty counts.
    zero.p.clone_from(&it.p);
    mstep::evaluate(&zero, &empty, nodes, pr, true)
        .map(|e| e.hess)
        .unwrap_or_default()
}

/// The full observed information (Louis), plus prior information.
fn full_information(
    m: &ResponseMatrix,
    items: &[ItemState],
    posts: &[Posterior],
    grid: &Grid,
    priors: &[ItemPriors],
    layout: &Layout,
) -> Vec<f64> {
    let n = layout.n;
    let chunk = 256;
    let parts: Vec<Vec<f64>> = (0..m.n_examinees())
        .collect::<Vec<_>>()
        .par_chunks(chunk)
        .map(|rows| {
            let mut info = vec![0.0; n * n];
            let mut s = vec![0.0; n];
            let l_max = items.iter().map(n_derivs).max().unwrap_or(0);
            let mut g = vec![0.0; l_max];
            let mut h = vec![0.0; l_max * l_max];
            let mut es = vec![0.0; n];
            let mut ess = vec![0.0; n * n];
            let mut eh = vec![0.0; n * n];
            for &i in rows {
                let w = m.weights()[i];
                let post = &posts[i];
                if w == 0.0 {
                    continue;
                }
                let (its, scores) = m.examinee_responses(i);
                es.fill(0.0);
                ess.fill(0.0);
                eh.fill(0.0);
                for (off, &p) in post.p.iter().enumerate() {
                    let z = grid.nodes[post.lo + off];
                    s.fill(0.0);
                    for (&j, &k) in its.iter().zip(scores) {
                        let idx = &layout.index[j as usize];
                        let l = idx.len();
                        let (g, h) = (&mut g[..l], &mut h[..l * l]);
                        item_derivs(&items[j as usize], z, k as usize, g, h);
                        for a in 0..l {
                            s[idx[a]] += g[a];
                            for b in 0..l {
                                eh[idx[a] * n + idx[b]] -= p * h[a * l + b];
                            }
                        }
                    }
                    for a in 0..n {
                        es[a] += p * s[a];
                        if s[a] != 0.0 {
                            for b in 0..n {
                                ess[a * n + b] += p * s[a] * s[b];
                            }
                        }
                    }
                }
                for a in 0..n {
                    for b in 0..n {
                        info[a * n + b] += w * (eh[a * n + b] - ess[a * n + b] + es[a] * es[b]);
                    }
                }
            }
            info
        })
        .collect();
    let mut info = vec![0.0; n * n];
    for part in parts {
        info.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    for (j, it) in items.iter().enumerate() {
        let h = prior_hessian(it, &priors[j], &grid.nodes);
        let idx = &layout.index[j];
        let l = idx.len();
        for a in 0..l {
            for b in 0..l {
                if let Some(v) = h.get(a * l + b) {
                    info[idx[a] * n + idx[b]] -= v;
                }
            }
        }
    }
    info
}

/// Per-item blocks of the information; common slopes get a 1 x 1 block.
fn block_covariance(
    m: &ResponseMatrix,
    items: &[ItemState],
    posts: &[Posterior],
    grid: &Grid,
    priors: &[ItemPriors],
) -> Covariance {
    // (own block, slope contribution [E(-h_ss) - sum r g_s^2 .. ]) per item.
    let per_item: Vec<(Option<Vec<f64>>, f64)> = (0..items.len())
        .into_par_iter()
        .map(|j| {
            let it = &items[j];
            let n_cat = it.n_cat();
            let c = mstep::counts(m, posts, j, n_cat);
            let l = n_derivs(it);
            // Derivative tables over the item's node range.
            let mut gt = vec![0.0; n_cat * c.nq * l];
            let mut info = vec![0.0; l * l];
            let (mut g, mut h) = (vec![0.0; l], vec![0.0; l * l]);
            for k in 0..n_cat {
                for qi in 0..c.nq {
                    let r = c.r[k * c.nq + qi];
                    if r == 0.0 {
                        // No respondent's posterior reaches this node: it
                        // adds nothing to the sums below.
                        continue;
                    }
                    let z = grid.nodes[c.qlo + qi];
                    item_derivs(it, z, k, &mut g, &mut h);
                    gt[(k * c.nq + qi) * l..(k * c.nq + qi + 1) * l].copy_from_slice(&g);
                    for a in 0..l {
                        for b in 0..l {
                            info[a * l + b] -= r * (h[a * l + b] + g[a] * g[b]);
                        }
                    }
                }
            }
            let (examinees, scores) = m.item_responses(j);
            let mut mi = vec![0.0; l];
            for (&i, &k) in examinees.iter().zip(scores) {
                let w = m.weights()[i as usize];
                let post = &posts[i as usize];
                mi.fill(0.0);
                for (off, &p) in post.p.iter().enumerate() {
                    let qi = post.lo + off - c.qlo;
                    let g = &gt[(k as usize * c.nq + qi) * l..(k as usize * c.nq + qi + 1) * l];
                    for a in 0..l {
                        mi[a] += p * g[a];
                    }
                }
                for a in 0..l {
                    for b in 0..l {
                        info[a * l + b] += w * mi[a] * mi[b];
                    }
                }
            }
            let ph = prior_hessian(it, &priors[j], &grid.nodes);
            for (v, h) in info.iter_mut().zip(&ph) {
                *v -= h;
            }
            if it.shares_slope() {
                // Own block is d alone; the slope's diagonal goes to its group.
                (invert_spd(&info[3..4], 1), info[0])
            } else {
                (invert_spd(&info, l), 0.0)
            }
        })
        .collect();
    let mut slope_info = [0.0, 0.0];
    for (it, (_, s)) in items.iter().zip(&per_item) {
        if let Some(g) = group_of(it.kind) {
            slope_info[g] += s;
        }
    }
    let slopes = [0, 1].map(|g| (slope_info[g] > 0.0).then(|| 1.0 / slope_info[g]));
    Covariance::Blocks {
        items: per_item.into_iter().map(|(c, _)| c).collect(),
        slopes,
    }
}

/// Standard errors of each item's reported parameters (`irf.params()`
/// order; `NaN` where fixed), or `None` for an item whose information could
/// not be inverted; and the method's name.
pub(crate) fn standard_errors(
    m: &ResponseMatrix,
    items: &[ItemState],
    posts: &[Posterior],
    grid: &Grid,
    priors: &[ItemPriors],
) -> (Vec<Option<Vec<f64>>>, &'static str) {
    let layout = Layout::new(items);
    let (cov, method) = if layout.n <= FULL_LIMIT {
        let info = full_information(m, items, posts, grid, priors, &layout);
        match invert_spd(&info, layout.n) {
            Some(inv) => (Covariance::Full(inv), "louis-full"),
            None => (
                block_covariance(m, items, posts, grid, priors),
                "louis-item-blocks",
            ),
        }
    } else {
        (
            block_covariance(m, items, posts, grid, priors),
            "louis-item-blocks",
        )
    };
    let rasch_slope = layout.group_slope[0];
    let latent_sd = rasch_slope
        .and_then(|_| items.iter().find(|it| it.kind == ModelKind::Rasch))
        .map_or(1.0, |it| it.p[0]);
    let ses = items
        .iter()
        .enumerate()
        .map(|(j, it)| {
            // Variables: the item's coordinates and, on a Rasch scale, its SD.
            let mut vars = layout.index[j].clone();
            if let Some(rs) = rasch_slope {
                if !vars.contains(&rs) {
                    vars.push(rs);
                }
            }
            let coords = it.coords();
            let eval = |delta: &[f64]| -> Vec<f64> {
                // delta is aligned with `vars`.
                let mut x = coords.clone();
                let mut item = it.clone();
                let mut sd = latent_sd;
                for (v, dv) in vars.iter().zip(delta) {
                    if Some(*v) == rasch_slope {
                        sd += dv;
                    }
                    if it.shares_slope() && *v == layout.index[j][0] {
                        item.p[0] += dv;
                    } else if let Some(pos) = layout.index[j].iter().position(|x| x == v) {
                        let pos = if it.shares_slope() { pos - 1 } else { pos };
                        x[pos] += dv;
                    }
                }
                let mut out = item.with_coords(&x);
                if it.shares_slope() {
                    out.p[0] = item.p[0];
                }
                out.reported(sd)
            };
            let h = 1e-6;
            let base = eval(&vec![0.0; vars.len()]);
            let jac: Vec<Vec<f64>> = (0..vars.len())
                .map(|v| {
                    let mut up = vec![0.0; vars.len()];
                    let mut dn = vec![0.0; vars.len()];
                    up[v] = h;
                    dn[v] = -h;
                    eval(&up)
                        .iter()
                        .zip(eval(&dn))
                        .map(|(a, b)| (a - b) / (2.0 * h))
                        .collect()
                })
                .collect();
            let fixed = it.fixed_reported();
            let mut out = vec![f64::NAN; base.len()];
            for (r, o) in out.iter_mut().enumerate() {
                if fixed[r] {
                    continue;
                }
                let mut var = 0.0;
                for (a, &va) in vars.iter().enumerate() {
                    for (b, &vb) in vars.iter().enumerate() {
                        var += jac[a][r] * jac[b][r] * cov.get(&layout, j, va, vb);
                    }
                }
                *o = if var >= 0.0 { var.sqrt() } else { f64::NAN };
            }
            let usable = out.iter().zip(&fixed).all(|(v, f)| *f || v.is_finite());
            usable.then_some(out)
        })
        .collect();
    (ses, method)
}
