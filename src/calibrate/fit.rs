//! Item fit after calibration: infit/outfit mean squares for every item and
//! the S-X2 summed-score statistic where the data allow it.
//!
//! # Mean squares (Wright & Masters)
//! For each respondent `i` of item `j`, `E_i` and `V_i` are the item's
//! expected score `sum_c c P_jc(z)` and its variance, integrated over the
//! examinee's final posterior. `outfit = mean_i (x_i - E_i)^2 / V_i` and
//! `infit = sum_i (x_i - E_i)^2 / sum_i V_i` (frequency-weighted). Both are
//! near 1 for a fitting item. Computed for dichotomous and graded items from
//! the E-step posteriors: cost proportional to the number of responses.
//!
//! # S-X2 (Orlando & Thissen 2000, 2003; Kang & Chen 2008 for graded items)
//! Examinees are grouped by summed score `k` (the sum of their item scores),
//! which needs no ability estimate. For item `j`, score `k` and category `c`,
//! the observed proportion `O_jkc` among the `N_k` examinees with score `k`
//! is compared with the model's
//!
//! `E_jkc = sum_q w_q P_jc(z_q) L_-j(k - c | z_q) / sum_q w_q L(k | z_q)`,
//!
//! where `L(s | z)` is the probability of summed score `s` at `z` over all
//! items and `L_-j` the same without item `j`, both by the Lord-Wingersky
//! (1984) recursion `L_i(s | z) = sum_c P_ic(z) L_(i-1)(s - c | z)`, and
//! `w_q` are the quadrature weights of the N(0, 1) latent density the items
//! were calibrated under (the fitted items live on that standardised scale,
//! whatever scale is reported). `L_-j` of a dichotomous item is obtained by
//! dividing item `j` out of `L` (`L(s) = (1 - P) L_-j(s) + P L_-j(s - 1)`,
//! solved upwards when `P <= 1/2` and downwards otherwise, so every step
//! multiplies rounding errors by at most 1); a graded item's by running the
//! recursion without it.
//!
//! The statistic is Pearson's over the score groups,
//! `S-X2_j = sum_g sum_c (o_gc - e_gc)^2 / e_gc` with observed and expected
//! counts `o = N O`, `e = N E`; for a dichotomous item this is Orlando &
//! Thissen's `sum_k N_k (O_jk - E_jk)^2 / (E_jk (1 - E_jk))`. Scores `0` and
//! the maximum `S` are left out (the item's score is determined there), as
//! are categories impossible at a score (`c > k`, or `k - c` above what the
//! other items can reach).
//!
//! **Collapsing**: adjacent score groups are merged while any of a group's
//! possible cells has an expected count below [`MIN_EXPECTED`] = 1 (mirt's
//! `mincell` default): first from the low tail upwards, then from the high
//! tail downwards, then any short group left in the middle into its
//! neighbour with fewer examinees. For graded items (more than two
//! categories) a rare category would otherwise merge every score group into
//! one, so, as in mirt, categories collapse first: within each score group,
//! a category with an expected count below 1 merges into its adjacent
//! category with the smaller expected count, and score groups merge only
//! when their whole expected count is below 1.
//!
//! **Degrees of freedom**: `sum_g (cells of g - 1)` minus the item's
//! estimated parameters (Rasch/1PL 1, 2PL 2, 3PL 3, 4PL 4, graded with `K`
//! categories `K`). The shared Rasch/1PL slope is charged to no item, and
//! anchor items of an anchored calibration are charged their parameters
//! although they were not estimated (a conservative test for them). For a
//! dichotomous item: groups minus parameters. Not reported when `df < 1`.
//! `p = P(chi2_df > S-X2)` (statrs).
//!
//! **Which examinees**: summed scores are comparable only among examinees
//! who answered the same items. LLM data are sparse (each examinee answers a
//! different subset), so S-X2 uses the examinees who answered *every* item
//! of the calibration (frequency-weighted), and is computed only when there
//! are at least [`MIN_COMPLETE`] of them and at least [`MIN_PER_SCORE`] per
//! possible summed score (`N >= 5 (S + 1)`; fewer leave most score groups
//! empty and the collapsed table with little to test). Otherwise every item
//! reports why ([`SumScoreSkip`]), never a number. To test the fit of a
//! sparse bank, calibrate (or anchor) a complete block on its own.
//!
//! **Cost**: `Q (S + 1) sum_j K_j` for the recursion over all items, the
//! same again to divide each dichotomous item out, and `Q (S + 1) sum_i K_i`
//! per graded item. It runs once, after convergence, and is skipped above
//! [`MAX_WORK`] multiply-adds (reported as [`SumScoreSkip::TooCostly`]).
//! Checking whether it applies costs one pass over the examinees, so sparse
//! calibrations pay nothing.
//!
//! **Misfit flag**: with many items, `p < 0.05` flags 5% of fitting items;
//! [`ItemFlag::Misfit`](super::ItemFlag::Misfit) is raised by the
//! Benjamini-Hochberg (1995) procedure at false discovery rate
//! [`MISFIT_FDR`] = 0.05 over the items with an S-X2: the `r` items with the
//! smallest p-values are flagged for the largest `r` with
//! `p_(r) <= r 0.05 / m`.

use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::data::ResponseMatrix;

use super::estep::Posterior;
use super::items::ItemState;
use super::quadrature::Grid;
use super::result::{ItemFit, SumScoreFit, SumScoreSkip};

/// Smallest expected count a cell of an S-X2 score group may have before the
/// group is merged with a neighbour (mirt's `mincell` default).
pub const MIN_EXPECTED: f64 = 1.0;

/// Fewest complete examinees (frequency-weighted) for S-X2.
pub const MIN_COMPLETE: f64 = 100.0;

/// Fewest complete examinees per possible summed score (`N >= 5 (S + 1)`).
pub const MIN_PER_SCORE: f64 = 5.0;

/// Most multiply-adds the S-X2 computation may take (about a second on one
/// core).
pub const MAX_WORK: f64 = 2e9;

/// False discovery rate of the misfit flag (Benjamini-Hochberg).
pub const MISFIT_FDR: f64 = 0.05;

/// Mean squares and S-X2 of every item (see the module docs). `None` for an
/// item whose expected-score variance is zero for every respondent.
pub(crate) fn item_fit(
    m: &ResponseMatrix,
    items: &[ItemState],
    posts: &[Posterior],
    grid: &Grid,
) -> Vec<Option<ItemFit>> {
    let mut sum_score = sum_score_fit(m, items, grid);
    flag_misfits(&mut sum_score);
    (0..items.len())
        .into_par_iter()
        .map(|j| {
            mean_squares(m, j, &items[j], posts, grid).map(|(outfit, infit)| ItemFit {
                outfit,
                infit,
                sum_score: sum_score[j],
            })
        })
        .collect()
}

/// `(outfit, infit)` of item `j`, integrating the expected score and its
/// variance over each respondent's posterior.
fn mean_squares(
    m: &ResponseMatrix,
    j: usize,
    it: &ItemState,
    posts: &[Posterior],
    grid: &Grid,
) -> Option<(f64, f64)> {
    let (examinees, scores) = m.item_responses(j);
    // Expected score and variance once per node of the item's range.
    let qlo = examinees.iter().map(|&i| posts[i as usize].lo).min()?;
    let qhi = examinees
        .iter()
        .map(|&i| posts[i as usize].lo + posts[i as usize].p.len())
        .max()?;
    let k = it.n_cat();
    let moments: Vec<(f64, f64)> = grid.nodes[qlo..qhi]
        .iter()
        .map(|&z| {
            if k == 2 {
                let p = it.ln_prob(z, 1).exp();
                return (p, p * (1.0 - p));
            }
            let probs: Vec<f64> = (0..k).map(|c| it.ln_prob(z, c).exp()).collect();
            let mean: f64 = probs.iter().enumerate().map(|(c, p)| c as f64 * p).sum();
            let var = probs
                .iter()
                .enumerate()
                .map(|(c, p)| (c as f64 - mean).powi(2) * p)
                .sum();
            (mean, var)
        })
        .collect();
    let (mut w_sum, mut out_sum, mut sq_sum, mut var_sum) = (0.0, 0.0, 0.0, 0.0);
    for (&i, &x) in examinees.iter().zip(scores) {
        let w = m.weights()[i as usize];
        let post = &posts[i as usize];
        let (mut e, mut v) = (0.0, 0.0);
        for (off, &p) in post.p.iter().enumerate() {
            let (mean, var) = moments[post.lo + off - qlo];
            e += p * mean;
            v += p * var;
        }
        let res2 = (f64::from(x) - e).powi(2);
        if v > 0.0 {
            w_sum += w;
            out_sum += w * res2 / v;
            sq_sum += w * res2;
            var_sum += w * v;
        }
    }
    (w_sum > 0.0 && var_sum > 0.0).then(|| (out_sum / w_sum, sq_sum / var_sum))
}

/// `P_jc(z_q)` of one item, node-major: `[q * K + c]`.
fn category_probs(it: &ItemState, grid: &Grid) -> Vec<f64> {
    let k = it.n_cat();
    grid.nodes
        .iter()
        .flat_map(|&z| (0..k).map(move |c| it.ln_prob(z, c).exp()))
        .collect()
}

/// Lord-Wingersky recursion at one node: the distribution of the summed
/// score given the items' category probabilities (`probs[i]` sums to 1).
/// `out[s] = P(sum of scores = s)`, `s = 0..=sum_i (K_i - 1)`.
pub(crate) fn lord_wingersky<'a>(probs: impl IntoIterator<Item = &'a [f64]>) -> Vec<f64> {
    let mut dist = vec![1.0];
    for p in probs {
        let mut next = vec![0.0; dist.len() + p.len() - 1];
        for (s, &l) in dist.iter().enumerate() {
            for (c, &pc) in p.iter().enumerate() {
                next[s + c] += l * pc;
            }
        }
        dist = next;
    }
    dist
}

/// Divides a dichotomous item with `P(correct) = p` out of a summed-score
/// distribution `l` (length `S + 1`), writing the distribution of the other
/// items (length `S`) to `out`. Solves `l(s) = (1 - p) r(s) + p r(s - 1)`
/// upwards when `p <= 1/2` and downwards otherwise, so that each step scales
/// the error carried from the previous one by `p / (1 - p)` or its inverse,
/// at most 1. Rounding can leave tiny negative values: clamped to 0.
pub(crate) fn remove_dichotomous(l: &[f64], p: f64, out: &mut Vec<f64>) {
    let n = l.len() - 1;
    out.clear();
    out.resize(n, 0.0);
    if n == 0 {
        return;
    }
    let q = 1.0 - p;
    if p <= 0.5 {
        let mut prev = 0.0;
        for s in 0..n {
            let r = ((l[s] - p * prev) / q).max(0.0);
            out[s] = r;
            prev = r;
        }
    } else {
        let mut next = 0.0;
        for s in (1..=n).rev() {
            let r = ((l[s] - q * next) / p).max(0.0);
            out[s - 1] = r;
            next = r;
        }
    }
}

/// `num[s * K + c] = sum_q w_q P_jc(z_q) L_-j(s - c | z_q)` for item `j`
/// (`K` categories), given the full-bank score distributions `full[q]` and
/// the category probabilities `node(i, q)`; divided by the marginal
/// `sum_q w_q L(s | z_q)` it is the expected proportion `E_jsc`.
fn numerators<'a>(
    j: usize,
    n_items: usize,
    weights: &[f64],
    full: &[Vec<f64>],
    node: &dyn Fn(usize, usize) -> &'a [f64],
) -> Vec<f64> {
    let k = node(j, 0).len();
    let top = full[0].len() - 1;
    let mut num = vec![0.0; (top + 1) * k];
    let mut rest = Vec::with_capacity(top + 2 - k);
    for (q, (w, l)) in weights.iter().zip(full).enumerate() {
        let p = node(j, q);
        if k == 2 {
            remove_dichotomous(l, p[1], &mut rest);
        } else {
            rest = lord_wingersky((0..n_items).filter(|&i| i != j).map(|i| node(i, q)));
        }
        for (t, &r) in rest.iter().enumerate() {
            for (c, &pc) in p.iter().enumerate() {
                num[(t + c) * k + c] += w * pc * r;
            }
        }
    }
    num
}

/// One summed-score group of an S-X2 table for one item: observed and
/// expected counts per category and which categories can occur.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScoreGroup {
    pub n: f64,
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    pub possible: Vec<bool>,
}

impl ScoreGroup {
    /// True when the group must be merged with a neighbour: some possible
    /// cell has an expected count below [`MIN_EXPECTED`] (dichotomous), or,
    /// when categories collapse within the group (graded), even all of them
    /// together do.
    fn short(&self, by_category: bool) -> bool {
        let mut possible = self
            .possible
            .iter()
            .zip(&self.expected)
            .filter(|(ok, _)| **ok)
            .map(|(_, &e)| e);
        if by_category {
            possible.sum::<f64>() < MIN_EXPECTED
        } else {
            possible.any(|e| e < MIN_EXPECTED)
        }
    }

    fn absorb(&mut self, other: &ScoreGroup) {
        self.n += other.n;
        for c in 0..self.observed.len() {
            self.observed[c] += other.observed[c];
            self.expected[c] += other.expected[c];
            self.possible[c] |= other.possible[c];
        }
    }

    /// `(observed, expected)` per cell: the possible categories, with
    /// adjacent ones merged while a cell's expected count is below
    /// [`MIN_EXPECTED`] when `by_category` (the first short cell goes to
    /// its neighbour with the smaller expected count, the lower one on a
    /// tie).
    fn cells(&self, by_category: bool) -> Vec<(f64, f64)> {
        let mut cells: Vec<(f64, f64)> = (0..self.observed.len())
            .filter(|&c| self.possible[c])
            .map(|c| (self.observed[c], self.expected[c]))
            .collect();
        while by_category && cells.len() > 1 {
            let Some(i) = cells.iter().position(|c| c.1 < MIN_EXPECTED) else {
                break;
            };
            let into = if i == 0 {
                1
            } else if i + 1 == cells.len() || cells[i - 1].1 <= cells[i + 1].1 {
                i - 1
            } else {
                i + 1
            };
            let (o, e) = cells.remove(i);
            let into = if into > i { into - 1 } else { into };
            cells[into].0 += o;
            cells[into].1 += e;
        }
        cells
    }
}

/// Merges adjacent groups until none is short ([`ScoreGroup::short`]), or
/// one group is left: the low tail upwards, the high tail downwards, then
/// short middle groups into their neighbour with fewer examinees (the lower
/// one on a tie). `by_category`: categories of graded items collapse within
/// groups afterwards ([`pearson`]), so a group is short only when its
/// expected count as a whole is.
pub(crate) fn collapse(mut groups: Vec<ScoreGroup>, by_category: bool) -> Vec<ScoreGroup> {
    let short = |g: &ScoreGroup| g.short(by_category);
    while groups.len() > 1 && short(&groups[0]) {
        let first = groups.remove(0);
        groups[0].absorb(&first);
    }
    while groups.len() > 1 && short(&groups[groups.len() - 1]) {
        let last = groups.pop().unwrap_or_else(|| unreachable!("len > 1"));
        let at = groups.len() - 1;
        groups[at].absorb(&last);
    }
    while groups.len() > 1 {
        let Some(i) = groups.iter().position(short) else {
            break;
        };
        let into = if i == 0 {
            1
        } else if i + 1 == groups.len() || groups[i - 1].n <= groups[i + 1].n {
            i - 1
        } else {
            i + 1
        };
        let g = groups.remove(i);
        let into = if into > i { into - 1 } else { into };
        groups[into].absorb(&g);
    }
    groups
}

/// `(S-X2, cells - groups)` of a collapsed table: Pearson's statistic over
/// the cells ([`ScoreGroup::cells`]) with a positive expectation.
pub(crate) fn pearson(groups: &[ScoreGroup], by_category: bool) -> (f64, usize) {
    let (mut x2, mut df) = (0.0, 0usize);
    for g in groups {
        let mut n_cells = 0usize;
        for (o, e) in g.cells(by_category) {
            if e > 0.0 {
                x2 += (o - e).powi(2) / e;
                n_cells += 1;
            }
        }
        df += n_cells.saturating_sub(1);
    }
    (x2, df)
}

/// S-X2 of every item, or why not (see the module docs).
fn sum_score_fit(
    m: &ResponseMatrix,
    items: &[ItemState],
    grid: &Grid,
) -> Vec<Result<SumScoreFit, SumScoreSkip>> {
    let n_items = items.len();
    let skip_all = |why: SumScoreSkip| vec![Err(why); n_items];
    let max_cat: Vec<usize> = items.iter().map(|it| it.n_cat() - 1).collect();
    // Scores above an item's top category cannot pass the calibration's
    // checks; the guard keeps the indexing below safe regardless.
    let complete: Vec<usize> = (0..m.n_examinees())
        .filter(|&e| {
            let (its, scores) = m.examinee_responses(e);
            its.len() == n_items
                && its
                    .iter()
                    .zip(scores)
                    .all(|(&j, &x)| usize::from(x) <= max_cat[j as usize])
        })
        .collect();
    let n_complete: f64 = complete.iter().map(|&e| m.weights()[e]).sum();
    let top: usize = max_cat.iter().sum();
    let needed = MIN_COMPLETE.max(MIN_PER_SCORE * (top + 1) as f64);
    if n_complete < needed {
        return skip_all(SumScoreSkip::TooFewComplete {
            complete: n_complete,
            needed,
        });
    }
    let n_cat_total: f64 = items.iter().map(|it| it.n_cat() as f64).sum();
    let per_pass = grid.len() as f64 * (top + 1) as f64 * n_cat_total;
    let n_graded = items.iter().filter(|it| it.n_cat() > 2).count();
    let work = per_pass * (2.0 + n_graded as f64);
    if work > MAX_WORK {
        return skip_all(SumScoreSkip::TooCostly {
            work,
            limit: MAX_WORK,
        });
    }

    // Observed counts per item: [score * K_j + category].
    let mut observed: Vec<Vec<f64>> = max_cat
        .iter()
        .map(|&mc| vec![0.0; (top + 1) * (mc + 1)])
        .collect();
    let mut n_at = vec![0.0; top + 1];
    for &e in &complete {
        let w = m.weights()[e];
        let (its, scores) = m.examinee_responses(e);
        let s: usize = scores.iter().map(|&x| usize::from(x)).sum();
        n_at[s] += w;
        for (&j, &x) in its.iter().zip(scores) {
            let j = j as usize;
            observed[j][s * (max_cat[j] + 1) + usize::from(x)] += w;
        }
    }

    let probs: Vec<Vec<f64>> = items
        .par_iter()
        .map(|it| category_probs(it, grid))
        .collect();
    let weights: Vec<f64> = grid.ln_weights.iter().map(|v| v.exp()).collect();
    let node = |j: usize, q: usize| -> &[f64] {
        let k = max_cat[j] + 1;
        &probs[j][q * k..(q + 1) * k]
    };
    let full: Vec<Vec<f64>> = (0..grid.len())
        .into_par_iter()
        .map(|q| lord_wingersky((0..n_items).map(|j| node(j, q))))
        .collect();
    let marginal: Vec<f64> = (0..=top)
        .map(|s| (0..grid.len()).map(|q| weights[q] * full[q][s]).sum())
        .collect();

    let results: Vec<Result<SumScoreFit, SumScoreSkip>> = (0..n_items)
        .into_par_iter()
        .map(|j| {
            let k = max_cat[j] + 1;
            let rest_top = top - max_cat[j];
            let num = numerators(j, n_items, &weights, &full, &node);
            let groups: Vec<ScoreGroup> = (1..top)
                .map(|s| {
                    let row = s * k..(s + 1) * k;
                    let expected = num[row.clone()]
                        .iter()
                        .map(|&v| {
                            if marginal[s] > 0.0 {
                                n_at[s] * v / marginal[s]
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    ScoreGroup {
                        n: n_at[s],
                        observed: observed[j][row].to_vec(),
                        expected,
                        possible: (0..k).map(|c| c <= s && s - c <= rest_top).collect(),
                    }
                })
                .collect();
            let by_category = k > 2;
            let groups = collapse(groups, by_category);
            let (s_x2, cells_df) = pearson(&groups, by_category);
            let n_params = items[j].coords().len();
            if cells_df <= n_params {
                return Err(SumScoreSkip::NoDegreesOfFreedom);
            }
            let df = cells_df - n_params;
            let p = ChiSquared::new(df as f64)
                .map(|d| d.sf(s_x2))
                .unwrap_or(f64::NAN);
            if !(s_x2.is_finite() && p.is_finite()) {
                return Err(SumScoreSkip::NoDegreesOfFreedom);
            }
            Ok(SumScoreFit {
                s_x2,
                df,
                p,
                n_groups: groups.len(),
                n_examinees: n_complete,
                misfit: false,
            })
        })
        .collect();
    results
}

/// Sets `misfit` by the Benjamini-Hochberg procedure at [`MISFIT_FDR`] over
/// the items with an S-X2.
fn flag_misfits(fits: &mut [Result<SumScoreFit, SumScoreSkip>]) {
    let mut order: Vec<(f64, usize)> = fits
        .iter()
        .enumerate()
        .filter_map(|(j, f)| f.as_ref().ok().map(|f| (f.p, j)))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let m = order.len() as f64;
    let cut = order
        .iter()
        .enumerate()
        .filter(|(r, (p, _))| *p <= (*r + 1) as f64 * MISFIT_FDR / m)
        .map(|(r, _)| r + 1)
        .max()
        .unwrap_or(0);
    for &(_, j) in &order[..cut] {
        if let Ok(f) = &mut fits[j] {
            f.misfit = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelKind;

    /// `P(X = c)` of a small bank at one node, for the brute-force checks.
    fn bank_probs() -> Vec<Vec<f64>> {
        vec![
            vec![0.3, 0.7],
            vec![0.9, 0.1],
            vec![0.2, 0.5, 0.3],
            vec![0.45, 0.55],
            vec![0.01, 0.99],
            vec![0.1, 0.2, 0.3, 0.4],
            vec![0.6, 0.4],
        ]
    }

    /// The summed-score distribution by enumerating every response pattern.
    fn brute_force(probs: &[Vec<f64>]) -> Vec<f64> {
        let top: usize = probs.iter().map(|p| p.len() - 1).sum();
        let mut dist = vec![0.0; top + 1];
        let n_patterns: usize = probs.iter().map(Vec::len).product();
        for mut code in 0..n_patterns {
            let (mut prob, mut score) = (1.0, 0);
            for p in probs {
                let c = code % p.len();
                code /= p.len();
                prob *= p[c];
                score += c;
            }
            dist[score] += prob;
        }
        dist
    }

    #[test]
    fn lord_wingersky_equals_enumeration_of_all_patterns() {
        let probs = bank_probs();
        let lw = lord_wingersky(probs.iter().map(Vec::as_slice));
        let bf = brute_force(&probs);
        assert_eq!(lw.len(), bf.len());
        for (a, b) in lw.iter().zip(&bf) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert!((lw.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn dividing_an_item_out_equals_the_recursion_without_it() {
        let dich: Vec<Vec<f64>> = (0..40)
            .map(|i| {
                let p = 1.0 / (1.0 + (-(i as f64 - 20.0) / 3.0).exp());
                vec![1.0 - p, p]
            })
            .collect();
        let full = lord_wingersky(dich.iter().map(Vec::as_slice));
        let mut rest = Vec::new();
        for j in 0..dich.len() {
            remove_dichotomous(&full, dich[j][1], &mut rest);
            let direct = lord_wingersky(
                dich.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != j)
                    .map(|(_, p)| p.as_slice()),
            );
            for (a, b) in rest.iter().zip(&direct) {
                assert!((a - b).abs() < 1e-12, "item {j}: {a} vs {b}");
            }
        }
    }

    fn group(n: f64, o: [f64; 2], e: [f64; 2]) -> ScoreGroup {
        ScoreGroup {
            n,
            observed: o.to_vec(),
            expected: e.to_vec(),
            possible: vec![true, true],
        }
    }

    #[test]
    fn collapsing_merges_short_tails_and_keeps_totals() {
        let groups = vec![
            group(1.0, [1.0, 0.0], [0.8, 0.2]),
            group(3.0, [2.0, 1.0], [2.0, 1.0]),
            group(10.0, [5.0, 5.0], [4.0, 6.0]),
            group(0.5, [0.0, 0.5], [0.1, 0.4]),
            group(10.0, [3.0, 7.0], [4.0, 6.0]),
            group(2.0, [0.0, 2.0], [0.5, 1.5]),
        ];
        let total: f64 = groups.iter().map(|g| g.observed.iter().sum::<f64>()).sum();
        let out = collapse(groups, false);
        assert!(out.iter().all(|g| !g.short(false)), "{out:?}");
        // Low tail: 1 + 3 merge (0.2 < 1, then 3.0, 1.2 both >= 1); high
        // tail: 2 + 10; the middle 0.5 goes to its smaller neighbour (10 vs
        // 12: the lower one).
        let ns: Vec<f64> = out.iter().map(|g| g.n).collect();
        assert_eq!(ns, vec![4.0, 10.5, 12.0]);
        let after: f64 = out.iter().map(|g| g.observed.iter().sum::<f64>()).sum();
        assert_eq!(total, after);
        // Dichotomous Pearson equals N (O - E)^2 / (E (1 - E)) per group.
        let (x2, df) = pearson(&out, false);
        let direct: f64 = out
            .iter()
            .map(|g| {
                let (o, e) = (g.observed[1] / g.n, g.expected[1] / g.n);
                g.n * (o - e).powi(2) / (e * (1.0 - e))
            })
            .sum();
        assert!((x2 - direct).abs() < 1e-12);
        assert_eq!(df, 3);
    }

    #[test]
    fn graded_categories_collapse_within_groups_before_groups_merge() {
        let g = |o: [f64; 3], e: [f64; 3]| ScoreGroup {
            n: e.iter().sum(),
            observed: o.to_vec(),
            expected: e.to_vec(),
            possible: vec![true; 3],
        };
        // The rare category 0 (expected 0.3, 0.4) would merge both groups
        // under the dichotomous rule; by category, each group keeps its own
        // cells: category 0 joins category 1.
        let groups = vec![
            g([1.0, 4.0, 5.0], [0.3, 4.7, 5.0]),
            g([0.0, 3.0, 9.0], [0.4, 2.6, 9.0]),
        ];
        assert_eq!(collapse(groups.clone(), false).len(), 1);
        let out = collapse(groups, true);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].cells(true), vec![(5.0, 5.0), (5.0, 5.0)]);
        let (x2, df) = pearson(&out, true);
        assert_eq!(df, 2);
        assert!(x2.abs() < 1e-12, "{x2}");
    }

    #[test]
    fn benjamini_hochberg_flags_the_step_up_set() {
        let fit = |p: f64| {
            Ok(SumScoreFit {
                s_x2: 1.0,
                df: 1,
                p,
                n_groups: 3,
                n_examinees: 100.0,
                misfit: false,
            })
        };
        // m = 4: thresholds 0.0125, 0.025, 0.0375, 0.05. The third p (0.03)
        // passes its threshold, so the first three are flagged even though
        // 0.02 > 0.0125 alone would not be.
        let mut fits = vec![
            fit(0.03),
            fit(0.5),
            fit(0.02),
            Err(SumScoreSkip::NoDegreesOfFreedom),
            fit(0.001),
        ];
        flag_misfits(&mut fits);
        let flagged: Vec<bool> = fits
            .iter()
            .map(|f| f.as_ref().is_ok_and(|f| f.misfit))
            .collect();
        assert_eq!(flagged, vec![true, false, true, false, true]);
    }

    #[test]
    fn expected_category_proportions_sum_to_one_per_score() {
        // A mixed bank at one grid: the numerators over categories add up to
        // the marginal score probability, for the divided-out and the
        // recomputed path alike.
        let grid = Grid::new(&crate::calibrate::QuadratureConfig::new(21, 5.0).unwrap());
        let items = [
            ItemState {
                kind: ModelKind::TwoPl,
                p: vec![1.2, 0.3, 0.0, 1.0],
            },
            ItemState {
                kind: ModelKind::Graded,
                p: vec![0.9, 1.5, 0.0, -1.2],
            },
            ItemState {
                kind: ModelKind::ThreePl,
                p: vec![1.5, -0.5, 0.2, 1.0],
            },
        ];
        let probs: Vec<Vec<f64>> = items.iter().map(|it| category_probs(it, &grid)).collect();
        let w: Vec<f64> = grid.ln_weights.iter().map(|v| v.exp()).collect();
        let node = |j: usize, q: usize| {
            let k = items[j].n_cat();
            &probs[j][q * k..(q + 1) * k]
        };
        let full: Vec<Vec<f64>> = (0..grid.len())
            .map(|q| lord_wingersky((0..3).map(|i| node(i, q))))
            .collect();
        let top = 1 + 3 + 1;
        let marginal: Vec<f64> = (0..=top)
            .map(|s| w.iter().zip(&full).map(|(w, l)| w * l[s]).sum())
            .collect();
        for j in [0, 1, 2] {
            let k = items[j].n_cat();
            let num = numerators(j, 3, &w, &full, &node);
            for s in 0..=top {
                let sum: f64 = num[s * k..(s + 1) * k].iter().sum();
                assert!((sum - marginal[s]).abs() < 1e-14, "item {j} score {s}");
            }
        }
    }
}
