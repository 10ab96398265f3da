//! The E-step: each examinee's posterior over the quadrature nodes, in log
//! space.
//!
//! `ln post_i(q) = ln w_q + sum_{j answered by i} ln P_j(x_ij | z_q) - ln L_i`,
//! where the `ln P` values come from a table built once per EM cycle (items x
//! categories x nodes), so the sum costs one vector addition per response.
//! `ln L_i` (the examinee's marginal log-likelihood) is a log-sum-exp, so
//! 12,000 responses, whose likelihood underflows any float as a product, are
//! no problem.
//!
//! A posterior is stored only over the contiguous nodes where it exceeds
//! `1e-14` of its maximum: for an LLM answering thousands of items that is a
//! handful of nodes, and the M-step's accumulation then costs responses x
//! (active nodes). When every item's log-likelihood is concave in theta
//! (Rasch, 1PL, 2PL, graded: not 3PL/4PL), the next cycle also computes the
//! sum only over a window around the previous active range; because the log
//! posterior is then concave, checking that it is negligible at both window
//! edges proves that nothing outside was missed, and the window is extended
//! on the side where the check fails.

use rayon::prelude::*;

use crate::data::ResponseMatrix;

use super::items::ItemState;
use super::mstep::logistic;
use super::quadrature::Grid;

/// `ln(1e-14)`: nodes whose posterior is below this fraction of the maximum
/// are dropped.
pub(crate) const LN_NEGLIGIBLE: f64 = -32.236_191_301_916_64;

/// One examinee's posterior over nodes `lo..lo + p.len()`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Posterior {
    pub lo: usize,
    pub p: Vec<f64>,
    /// Marginal log-likelihood `ln L_i` of the examinee's responses.
    pub ln_lik: f64,
    /// Nodes summed over in the next cycle (`lo..hi`).
    pub window: (usize, usize),
}

impl Posterior {
    /// Posterior mean and variance of `z`.
    pub fn moments(&self, nodes: &[f64]) -> (f64, f64) {
        let z = &nodes[self.lo..self.lo + self.p.len()];
        let mean: f64 = z.iter().zip(&self.p).map(|(z, p)| z * p).sum();
        let var: f64 = z
            .iter()
            .zip(&self.p)
            .map(|(z, p)| p * (z - mean) * (z - mean))
            .sum();
        (mean, var)
    }
}

/// `ln P_j(k | z_q)` for every item, category and node.
pub(crate) struct Table {
    q: usize,
    row: Vec<usize>,
    data: Vec<f64>,
}

impl Table {
    pub fn build(items: &[ItemState], grid: &Grid) -> Self {
        let q = grid.len();
        let mut row = Vec::with_capacity(items.len() + 1);
        let mut next = 0;
        for it in items {
            row.push(next);
            next += it.n_cat();
        }
        row.push(next);
        let mut data = vec![0.0; next * q];
        // Items own disjoint row ranges; split the buffer accordingly.
        let mut chunks: Vec<&mut [f64]> = Vec::with_capacity(items.len());
        let mut rest = data.as_mut_slice();
        for it in items {
            let (head, tail) = rest.split_at_mut(it.n_cat() * q);
            chunks.push(head);
            rest = tail;
        }
        chunks
            .into_par_iter()
            .zip(items.par_iter())
            .for_each(|(buf, it)| {
                if it.kind.is_dichotomous() {
                    // Both rows from one evaluation per node.
                    let (q0, q1) = buf.split_at_mut(q);
                    for ((v0, v1), &z) in q0.iter_mut().zip(q1.iter_mut()).zip(&grid.nodes) {
                        (*v1, *v0) = logistic::ln_pq(&it.p, z);
                    }
                } else {
                    for (k, rowbuf) in buf.chunks_mut(q).enumerate() {
                        for (v, &z) in rowbuf.iter_mut().zip(&grid.nodes) {
                            *v = it.ln_prob(z, k);
                        }
                    }
                }
            });
        Table { q, row, data }
    }

    #[inline]
    fn row(&self, item: usize, k: usize) -> &[f64] {
        let start = (self.row[item] + k) * self.q;
        &self.data[start..start + self.q]
    }
}

/// Nodes kept on each side of an examinee's non-negligible range as the
/// next cycle's window. Small, because a window that turns out too narrow
/// is extended on the side that needs it (at the cost of the extra nodes
/// only), not recomputed.
const MARGIN: usize = 2;

/// Runs the E-step for every examinee, updating `posts` in place.
/// With `windowed`, sums only over each examinee's window, extended until
/// the log posterior is negligible at both of its edges (see the module
/// documentation for why that is safe). Every node's sum runs over the
/// examinee's responses in the same order whatever the window, so the result
/// is bit-identical to a full pass.
pub(crate) fn run(
    m: &ResponseMatrix,
    table: &Table,
    grid: &Grid,
    posts: &mut [Posterior],
    windowed: bool,
) {
    let q = grid.len();
    posts.par_iter_mut().enumerate().for_each_init(
        || (Vec::new(), Vec::new()),
        |(buf, seg), (i, post)| {
            let (items, scores) = m.examinee_responses(i);
            let (mut lo, mut hi) = if windowed && post.window.0 < post.window.1 {
                post.window
            } else {
                (0, q)
            };
            // Appends the log posterior (unnormalised) at nodes a..b.
            let fill = |out: &mut Vec<f64>, a: usize, b: usize| {
                let start = out.len();
                out.extend_from_slice(&grid.ln_weights[a..b]);
                let out = &mut out[start..];
                for (&j, &k) in items.iter().zip(scores) {
                    let row = &table.row(j as usize, k as usize)[a..b];
                    for (v, r) in out.iter_mut().zip(row) {
                        *v += r;
                    }
                }
            };
            buf.clear();
            fill(buf, lo, hi);
            let max = loop {
                let max = buf.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let grow_lo = lo > 0 && buf[0] - max >= LN_NEGLIGIBLE;
                let grow_hi = hi < q && buf[hi - lo - 1] - max >= LN_NEGLIGIBLE;
                if !(grow_lo || grow_hi) {
                    break max;
                }
                let ext = (hi - lo).max(8);
                if grow_lo {
                    let new_lo = lo.saturating_sub(ext);
                    seg.clear();
                    fill(seg, new_lo, lo);
                    seg.extend_from_slice(buf);
                    std::mem::swap(buf, seg);
                    lo = new_lo;
                }
                if grow_hi {
                    let new_hi = (hi + ext).min(q);
                    fill(buf, hi, new_hi);
                    hi = new_hi;
                }
            };
            let first = buf
                .iter()
                .position(|v| v - max >= LN_NEGLIGIBLE)
                .unwrap_or(0);
            let last = buf
                .iter()
                .rposition(|v| v - max >= LN_NEGLIGIBLE)
                .unwrap_or(0);
            post.p.clear();
            post.p
                .extend(buf[first..=last].iter().map(|v| (v - max).exp()));
            let sum: f64 = post.p.iter().sum();
            let inv = 1.0 / sum;
            post.p.iter_mut().for_each(|p| *p *= inv);
            post.ln_lik = max + sum.ln();
            post.lo = lo + first;
            let width = last - first + 1;
            post.window = (
                post.lo.saturating_sub(MARGIN),
                (post.lo + width + MARGIN).min(q),
            );
        },
    );
}

/// Marginal log-likelihood `sum_i w_i ln L_i`, summed in examinee order.
pub(crate) fn log_likelihood(m: &ResponseMatrix, posts: &[Posterior]) -> f64 {
    m.weights()
        .iter()
        .zip(posts)
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, p)| w * p.ln_lik)
        .sum()
}

/// Weighted mean and variance of the latent variable over all examinees
/// (the M-step of a free latent mean and variance).
pub(crate) fn population_moments(
    m: &ResponseMatrix,
    posts: &[Posterior],
    nodes: &[f64],
) -> (f64, f64) {
    let mut w_sum = 0.0;
    let mut m1 = 0.0;
    let mut m2 = 0.0;
    for (w, p) in m.weights().iter().zip(posts) {
        if *w == 0.0 {
            continue;
        }
        let (mean, var) = p.moments(nodes);
        w_sum += w;
        m1 += w * mean;
        m2 += w * (var + mean * mean);
    }
    let mean = m1 / w_sum;
    (mean, (m2 / w_sum - mean * mean).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::config::QuadratureConfig;
    use crate::data::Cell;
    use crate::model::ModelKind;

    fn matrix(n_items: usize, pattern: impl Fn(usize) -> u8) -> ResponseMatrix {
        let cells = (0..n_items)
            .map(|j| Cell {
                examinee: 0,
                item: j as u32,
                score: pattern(j),
            })
            .collect();
        ResponseMatrix::new(
            vec!["m".into()],
            (0..n_items).map(|j| format!("q{j}").into()).collect(),
            cells,
            None,
        )
        .unwrap()
    }

    fn items(n: usize) -> Vec<ItemState> {
        (0..n)
            .map(|j| ItemState {
                kind: ModelKind::TwoPl,
                p: vec![1.0 + (j % 5) as f64 * 0.2, (j % 7) as f64 - 3.0, 0.0, 1.0],
            })
            .collect()
    }

    #[test]
    fn posterior_normalises_and_survives_12000_responses() {
        let grid = Grid::new(&QuadratureConfig::default());
        let n = 12_000;
        let m = matrix(n, |j| ((j * 7919) % 3 == 0) as u8);
        let its = items(n);
        let table = Table::build(&its, &grid);
        let mut posts = vec![Posterior::default()];
        run(&m, &table, &grid, &mut posts, false);
        let p = &posts[0];
        let total: f64 = p.p.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert!(p.ln_lik.is_finite() && p.ln_lik < -1000.0, "{}", p.ln_lik);
        // Concentrated: a handful of nodes out of 121.
        assert!(p.p.len() < 20, "{}", p.p.len());
        // Direct check of ln L against a brute-force log-sum-exp.
        let brute: Vec<f64> = (0..grid.len())
            .map(|q| {
                grid.ln_weights[q]
                    + (0..n)
                        .map(|j| {
                            its[j].ln_prob(grid.nodes[q], m.examinee_responses(0).1[j] as usize)
                        })
                        .sum::<f64>()
            })
            .collect();
        let max = brute.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ln_l = max + brute.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        assert!((ln_l - p.ln_lik).abs() < 1e-9 * ln_l.abs());
    }

    #[test]
    fn windowed_pass_equals_full_pass() {
        let grid = Grid::new(&QuadratureConfig::default());
        let m = matrix(300, |j| (j % 3 == 0) as u8);
        let its = items(300);
        let table = Table::build(&its, &grid);
        let mut full = vec![Posterior::default()];
        run(&m, &table, &grid, &mut full, false);
        let mut win = full.clone();
        // A deliberately wrong window far from the posterior gets widened.
        win[0].window = (0, 10);
        run(&m, &table, &grid, &mut win, true);
        assert_eq!(full[0].lo, win[0].lo);
        for (a, b) in full[0].p.iter().zip(&win[0].p) {
            assert!((a - b).abs() < 1e-15);
        }
        // And the window it leaves behind reproduces it too.
        let mut again = win.clone();
        run(&m, &table, &grid, &mut again, true);
        assert_eq!(again[0].p, win[0].p);
    }
}
