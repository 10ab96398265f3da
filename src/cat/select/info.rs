//! Maximum Fisher information at the current estimate.

use super::Candidates;
use crate::cat::index::TopK;

/// The `k` eligible items of highest information at `c.theta`, by the
/// bank's bounded search (see [`crate::cat`]'s index notes).
pub(crate) fn max_info(c: &Candidates<'_>, k: usize) -> TopK {
    c.bank
        .info_index()
        .top(c.bank.irfs(), c.theta, k, c.a_range, c.eligible)
}
