//! Minimum expected posterior variance (van der Linden, 1998).

use super::{Candidates, info::max_info};
use crate::cat::index::TopK;
use crate::cat::posterior::GridPosterior;
use crate::model::ResponseModel;

/// The `k` best of the `shortlist` most informative eligible items by
/// smallest `EPV_j = sum_k (S2_k - S1_k^2 / m_k)`, where over the posterior
/// nodes `m_k = sum_i w_i P_jk(theta_i)`, `S1_k = sum_i w_i P_jk theta_i`
/// and `S2_k = sum_i w_i P_jk theta_i^2`: the posterior variance after
/// answer `k`, weighted by that answer's predictive probability `m_k`.
pub(crate) fn rank(
    c: &Candidates<'_>,
    k: usize,
    shortlist: usize,
    post: &GridPosterior,
) -> Vec<usize> {
    let short = max_info(c, shortlist.max(k));
    // Centre theta for the sums: variance is shift-invariant, and centring
    // avoids cancellation in S2 - S1^2 / m.
    let centre = post.mean();
    let mut top = TopK::new(k);
    for &(_, j) in short.scored() {
        let irf = &c.bank.irfs()[j];
        let mut epv = 0.0;
        for cat in 0..irf.n_categories() {
            let (mut m, mut s1, mut s2) = (0.0, 0.0, 0.0);
            for (&t, &w) in post.nodes().iter().zip(post.weights()) {
                let wp = w * irf.prob(t, cat);
                let d = t - centre;
                m += wp;
                s1 += wp * d;
                s2 += wp * d * d;
            }
            if m > 0.0 {
                epv += s2 - s1 * s1 / m;
            }
        }
        top.offer(-epv, j);
    }
    top.into_items()
}
