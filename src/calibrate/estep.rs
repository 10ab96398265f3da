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
//! on the side where the check fails. In the first cycle, when no window is
//! known yet, a coarse pass over every eighth node places the first window
//! (see `coarse_window`).
//!
//! With many items the table outgrows the caches (100,000 items x 121 nodes
//! is 194 MB), and reading one row per response, examinee by examinee, waits
//! on memory for each. Windowed cycles over such a table therefore run item
//! by item over blocks of examinees (`sweep`), reading the table in address
//! order. Every sum runs in ascending item order in both passes, so which
//! pass ran never shows in the result.

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

/// Spacing of the coarse nodes that place an examinee's first window.
const COARSE: usize = 8;

/// Tables larger than this (bytes) are read item by item (see [`sweep`])
/// rather than examinee by examinee: beyond the caches, the examinee-major
/// pass waits on memory for every response.
const SWEEP_BYTES: usize = 1 << 20;

/// Examinee `i`'s responses as `(item, score)` in ascending item order: the
/// order every node's sum runs in, whichever pass computes it.
fn sorted_responses(m: &ResponseMatrix, i: usize, out: &mut Vec<(u32, u8)>) {
    let (items, scores) = m.examinee_responses(i);
    out.clear();
    out.extend(items.iter().copied().zip(scores.iter().copied()));
    if !items.windows(2).all(|w| w[0] < w[1]) {
        out.sort_unstable_by_key(|r| r.0);
    }
}

/// Appends the unnormalised log posterior `ln w_q + sum_j ln P_j(x_j | z_q)`
/// at nodes `a..b`.
fn fill(
    table: &Table,
    ln_weights: &[f64],
    resp: &[(u32, u8)],
    out: &mut Vec<f64>,
    a: usize,
    b: usize,
) {
    let start = out.len();
    out.extend_from_slice(&ln_weights[a..b]);
    let out = &mut out[start..];
    for &(j, k) in resp {
        let row = &table.row(j as usize, k as usize)[a..b];
        for (v, r) in out.iter_mut().zip(row) {
            *v += r;
        }
    }
}

/// A first window for an examinee without one (the first EM cycle): the log
/// posterior at every `COARSE`-th node (and the last), in one pass over the
/// responses, and the nodes between the best coarse node's neighbours.
/// Because the log posterior is concave, its maximum lies there; the caller
/// then widens the window until the posterior is negligible at both edges,
/// as for any other window. This costs about `q / COARSE + 2 COARSE` nodes
/// per response instead of all `q`.
fn coarse_window(
    table: &Table,
    ln_weights: &[f64],
    resp: &[(u32, u8)],
    acc: &mut Vec<f64>,
) -> (usize, usize) {
    acc.clear();
    coarse_start(ln_weights, acc);
    for &(j, k) in resp {
        coarse_add(table.row(j as usize, k as usize), acc);
    }
    coarse_best(acc, ln_weights.len())
}

/// The coarse nodes' log prior weights, appended to `acc`.
fn coarse_start(ln_weights: &[f64], acc: &mut Vec<f64>) {
    let last = ln_weights.len() - 1;
    acc.extend(ln_weights.iter().step_by(COARSE));
    if last % COARSE != 0 {
        acc.push(ln_weights[last]);
    }
}

/// Adds a table row at the coarse nodes to `acc` (as laid out by
/// [`coarse_start`]).
#[inline]
fn coarse_add(row: &[f64], acc: &mut [f64]) {
    let last = row.len() - 1;
    let n_steps = last / COARSE + 1;
    for (v, r) in acc[..n_steps].iter_mut().zip(row.iter().step_by(COARSE)) {
        *v += r;
    }
    if last % COARSE != 0 {
        acc[n_steps] += row[last];
    }
}

/// The window between the neighbours of the best coarse node.
fn coarse_best(acc: &[f64], q: usize) -> (usize, usize) {
    let best = acc
        .iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (c, &v)| if v > b.1 { (c, v) } else { b },
        )
        .0;
    let node = (best * COARSE).min(q - 1);
    (node.saturating_sub(COARSE), (node + COARSE + 1).min(q))
}

/// One worker's buffers.
#[derive(Default)]
struct Scratch {
    buf: Vec<f64>,
    seg: Vec<f64>,
    resp: Vec<(u32, u8)>,
}

/// Completes examinee `i`'s posterior from its unnormalised log posterior
/// on nodes `lo..hi` (in `s.buf`): widens the window while the posterior is
/// not negligible at an edge, then normalises. `s.resp` holds the sorted
/// responses when `have_resp`, and is filled on first need otherwise.
#[allow(clippy::too_many_arguments)]
fn finish(
    m: &ResponseMatrix,
    i: usize,
    table: &Table,
    grid: &Grid,
    post: &mut Posterior,
    (mut lo, mut hi): (usize, usize),
    s: &mut Scratch,
    mut have_resp: bool,
) {
    let q = grid.len();
    let Scratch { buf, seg, resp } = s;
    let max = loop {
        let max = buf.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let grow_lo = lo > 0 && buf[0] - max >= LN_NEGLIGIBLE;
        let grow_hi = hi < q && buf[hi - lo - 1] - max >= LN_NEGLIGIBLE;
        if !(grow_lo || grow_hi) {
            break max;
        }
        if !have_resp {
            sorted_responses(m, i, resp);
            have_resp = true;
        }
        let ext = (hi - lo).max(8);
        if grow_lo {
            let new_lo = lo.saturating_sub(ext);
            seg.clear();
            fill(table, &grid.ln_weights, resp, seg, new_lo, lo);
            seg.extend_from_slice(buf);
            std::mem::swap(buf, seg);
            lo = new_lo;
        }
        if grow_hi {
            let new_hi = (hi + ext).min(q);
            fill(table, &grid.ln_weights, resp, buf, hi, new_hi);
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
}

/// Runs the E-step for every examinee, updating `posts` in place.
/// With `windowed`, sums only over each examinee's window (placed by a
/// coarse pass when it has none yet), extended until the log posterior is
/// negligible at both of its edges (see the module documentation for why
/// that is safe). Every node's sum runs over the examinee's responses in
/// ascending item order whatever the window and whichever pass computes it
/// (examinee by examinee, or [`sweep`]), so the result is bit-identical to a
/// full pass and independent of the number of threads.
pub(crate) fn run(
    m: &ResponseMatrix,
    table: &Table,
    grid: &Grid,
    posts: &mut [Posterior],
    windowed: bool,
) {
    let q = grid.len();
    if windowed && !posts.is_empty() && table.data.len() * 8 > SWEEP_BYTES {
        if posts.iter().any(|p| p.window.0 >= p.window.1) {
            coarse_sweep(m, table, grid, posts);
        }
        sweep(m, table, grid, posts);
        return;
    }
    posts
        .par_iter_mut()
        .enumerate()
        .for_each_init(Scratch::default, |s, (i, post)| {
            sorted_responses(m, i, &mut s.resp);
            let (lo, hi) = match (windowed, post.window) {
                (true, (a, b)) if a < b => (a, b),
                (true, _) => coarse_window(table, &grid.ln_weights, &s.resp, &mut s.buf),
                (false, _) => (0, q),
            };
            s.buf.clear();
            fill(table, &grid.ln_weights, &s.resp, &mut s.buf, lo, hi);
            finish(m, i, table, grid, post, (lo, hi), s, true);
        });
}

/// Runs `f(e0, block)` on blocks of consecutive examinees (the first one
/// `e0`), one block per thread, in parallel. The item-by-item passes give
/// the same result whatever the split.
fn for_each_block(posts: &mut [Posterior], f: impl Fn(usize, &mut [Posterior]) + Sync) {
    let size = posts
        .len()
        .div_ceil(rayon::current_num_threads().clamp(1, posts.len()));
    posts
        .par_chunks_mut(size)
        .enumerate()
        .for_each(|(b, block)| f(b * size, block));
}

/// Calls `f(item, examinee - e0, score)` for every response of examinees
/// `e0..e1`, items in ascending order.
fn block_responses(
    m: &ResponseMatrix,
    e0: usize,
    e1: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    for j in 0..m.n_items() {
        let (examinees, scores) = m.item_responses(j);
        for (&i, &k) in examinees.iter().zip(scores) {
            let i = i as usize;
            if (e0..e1).contains(&i) {
                f(j, i - e0, k as usize);
            }
        }
    }
}

/// [`coarse_window`] for every examinee without a window, item by item over
/// blocks of examinees as in [`sweep`] (same sums in the same order, so the
/// same windows).
fn coarse_sweep(m: &ResponseMatrix, table: &Table, grid: &Grid, posts: &mut [Posterior]) {
    let mut one = Vec::new();
    coarse_start(&grid.ln_weights, &mut one);
    let width = one.len();
    for_each_block(posts, |e0, block| {
        let e1 = e0 + block.len();
        let mut acc = Vec::with_capacity(block.len() * width);
        for _ in 0..block.len() {
            acc.extend_from_slice(&one);
        }
        block_responses(m, e0, e1, |j, l, k| {
            if block[l].window.0 >= block[l].window.1 {
                coarse_add(table.row(j, k), &mut acc[l * width..(l + 1) * width]);
            }
        });
        for (l, post) in block.iter_mut().enumerate() {
            if post.window.0 >= post.window.1 {
                post.window = coarse_best(&acc[l * width..(l + 1) * width], grid.len());
            }
        }
    });
}

/// The windowed E-step item by item: examinees are split into one block
/// per thread, and each block walks the items in order, adding each of its
/// respondents' table row over that respondent's window to the respondent's
/// running sum. The table is then read in address order (once per block)
/// instead of at a random row per response, which on LLM-shaped data (many
/// items, a table of hundreds of MB) is what the examinee-major pass spends
/// its time waiting for. Each examinee's sums still run in ascending item
/// order, so the result equals the examinee-major pass bit for bit, and
/// does not depend on the block boundaries.
fn sweep(m: &ResponseMatrix, table: &Table, grid: &Grid, posts: &mut [Posterior]) {
    for_each_block(posts, |e0, block| {
        let e1 = e0 + block.len();
        let mut starts = Vec::with_capacity(block.len() + 1);
        let mut acc = Vec::new();
        for p in block.iter() {
            starts.push(acc.len());
            acc.extend_from_slice(&grid.ln_weights[p.window.0..p.window.1]);
        }
        starts.push(acc.len());
        block_responses(m, e0, e1, |j, l, k| {
            let (lo, hi) = block[l].window;
            let row = &table.row(j, k)[lo..hi];
            for (v, r) in acc[starts[l]..starts[l + 1]].iter_mut().zip(row) {
                *v += r;
            }
        });
        let mut s = Scratch::default();
        for (l, post) in block.iter_mut().enumerate() {
            s.buf.clear();
            s.buf.extend_from_slice(&acc[starts[l]..starts[l + 1]]);
            let window = post.window;
            finish(m, e0 + l, table, grid, post, window, &mut s, false);
        }
    });
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

    #[test]
    fn item_by_item_sweep_equals_examinee_by_examinee_pass() {
        // 700 items make a table over SWEEP_BYTES, so windowed passes run as
        // sweeps; cells arrive in a scrambled order, so sums must be put in
        // item order to agree bit for bit.
        let grid = Grid::new(&QuadratureConfig::default());
        let (n_ex, n_items) = (5, 700);
        let mut cells: Vec<Cell> = (0..n_ex * n_items)
            .map(|c| (c * 7919) % (n_ex * n_items))
            .filter(|c| c % 11 != 3)
            .map(|c| {
                let (e, j) = (c % n_ex, c / n_ex);
                Cell {
                    examinee: e as u32,
                    item: j as u32,
                    score: ((j * (e + 2)) % 5 < e) as u8,
                }
            })
            .collect();
        cells.swap(0, 1000);
        let m = ResponseMatrix::new(
            (0..n_ex).map(|e| format!("m{e}").into()).collect(),
            (0..n_items).map(|j| format!("q{j}").into()).collect(),
            cells,
            None,
        )
        .unwrap();
        let table = Table::build(&items(n_items), &grid);
        assert!(table.data.len() * 8 > SWEEP_BYTES);
        let mut full = vec![Posterior::default(); n_ex];
        run(&m, &table, &grid, &mut full, false);
        let mut win = vec![Posterior::default(); n_ex];
        run(&m, &table, &grid, &mut win, true);
        let mut again = win.clone();
        // A stale window far off for one examinee: extended, same result.
        again[1].window = (0, 3);
        run(&m, &table, &grid, &mut again, true);
        for e in 0..n_ex {
            for other in [&win, &again] {
                assert_eq!(full[e].lo, other[e].lo, "examinee {e}");
                assert_eq!(full[e].p, other[e].p, "examinee {e}");
                assert_eq!(full[e].ln_lik, other[e].ln_lik, "examinee {e}");
            }
        }
    }

    #[test]
    fn first_window_from_the_coarse_pass_equals_full_pass() {
        // Narrow and wide posteriors, in the middle and at both ends of the
        // grid (all wrong, all right), on grids whose last node is and is
        // not a coarse node.
        // (number of items, score of item j)
        type Pattern = (usize, fn(usize) -> u8);
        let patterns: [Pattern; 4] = [
            (300, |j| (j % 3 == 0) as u8),
            (8, |j| (j % 2) as u8),
            (40, |_| 0),
            (40, |_| 1),
        ];
        for points in [121, 61, 50] {
            let grid = Grid::new(&QuadratureConfig::new(points, 6.0).unwrap());
            for (n, pattern) in patterns {
                let m = matrix(n, pattern);
                let table = Table::build(&items(n), &grid);
                let mut full = vec![Posterior::default()];
                run(&m, &table, &grid, &mut full, false);
                let mut win = vec![Posterior::default()];
                run(&m, &table, &grid, &mut win, true);
                assert_eq!(full[0].lo, win[0].lo, "{points} nodes, {n} items");
                assert_eq!(full[0].p, win[0].p, "{points} nodes, {n} items");
                assert_eq!(full[0].ln_lik, win[0].ln_lik);
            }
        }
    }
}
