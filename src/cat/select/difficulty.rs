//! Closest difficulty: the item whose location is nearest the estimate
//! (catR's `bOpt`; the classic rule within a-stratified designs).

use super::Candidates;

/// The `k` eligible items of location nearest `c.theta`, nearest first.
pub(crate) fn rank(c: &Candidates<'_>, k: usize) -> Vec<usize> {
    c.bank.location_index().nearest(c.theta, k, c.eligible)
}
