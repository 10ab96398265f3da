//! Random selection among the eligible items.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Candidates;

/// Draws before giving up on rejection sampling and listing the eligible
/// items (a bank that is mostly administered or excluded).
const TRIES: usize = 32;

/// One eligible item drawn uniformly, or `None` when there is none.
pub(crate) fn pick(c: &Candidates<'_>, rng: &mut ChaCha8Rng) -> Option<usize> {
    let n = c.bank.len();
    for _ in 0..TRIES {
        let j = rng.random_range(0..n);
        if (c.eligible)(j) {
            return Some(j);
        }
    }
    let eligible: Vec<usize> = (0..n).filter(|&j| (c.eligible)(j)).collect();
    if eligible.is_empty() {
        None
    } else {
        Some(eligible[rng.random_range(0..eligible.len())])
    }
}
