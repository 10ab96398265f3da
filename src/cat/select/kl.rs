//! Posterior-weighted Kullback-Leibler information (Chang & Ying, 1996).

use super::{Candidates, info::max_info};
use crate::cat::index::TopK;
use crate::cat::posterior::GridPosterior;
use crate::model::ResponseModel;

/// The `k` best of the `shortlist` most informative eligible items by
/// `KL_j = sum_i w_i sum_k P_jk(theta_hat) (ln P_jk(theta_hat) - ln P_jk(theta_i))`.
pub(crate) fn rank(
    c: &Candidates<'_>,
    k: usize,
    shortlist: usize,
    post: &GridPosterior,
) -> Vec<usize> {
    let short = max_info(c, shortlist.max(k));
    let mut top = TopK::new(k);
    for &(_, j) in short.scored() {
        let irf = &c.bank.irfs()[j];
        let mut kl = 0.0;
        for cat in 0..irf.n_categories() {
            let ln_hat = irf.log_prob(c.theta, cat);
            let p_hat = ln_hat.exp();
            let cross: f64 = post
                .nodes()
                .iter()
                .zip(post.weights())
                .map(|(&t, &w)| w * irf.log_prob(t, cat))
                .sum();
            kl += p_hat * (ln_hat - cross);
        }
        top.offer(kl, j);
    }
    top.into_items()
}
