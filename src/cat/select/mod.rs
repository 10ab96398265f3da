//! Item selection rules: which eligible item is asked next.
//!
//! Each rule ranks the eligible items and returns the best `k` (the
//! randomesque exposure control picks among them). Eligibility — not yet
//! administered, not excluded, in the content group and stratum due, not
//! blocked by exposure control — is decided by the session and passed in as
//! a predicate, so the rules know nothing of those constraints.

mod difficulty;
mod info;
mod kl;
mod random;
mod variance;

use std::fmt;
use std::str::FromStr;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::bank::CatBank;
use super::posterior::GridPosterior;
use crate::error::{Error, Result};

pub(crate) use info::max_info;

/// How the next item is chosen.
///
/// | rule | name | picks the eligible item with |
/// |---|---|---|
/// | [`MaxInfo`](SelectRule::MaxInfo) | `max-info` | largest Fisher information `I_j(theta_hat)` |
/// | [`Kl`](SelectRule::Kl) | `kl` | largest posterior-weighted Kullback-Leibler information (Chang & Ying, 1996) |
/// | [`MinVariance`](SelectRule::MinVariance) | `min-variance` | smallest expected posterior variance after its answer |
/// | [`ClosestDifficulty`](SelectRule::ClosestDifficulty) | `closest-b` | location nearest `theta_hat` (`b`; mean threshold for graded items) |
/// | [`Random`](SelectRule::Random) | `random` | uniform chance |
///
/// `kl` and `min-variance` integrate over the posterior for every candidate,
/// so they score only the `shortlist` items of highest information at the
/// current estimate (the plan's `shortlist`, default 50); maximum
/// information itself uses a bounded search over the bank's indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelectRule {
    /// Maximum Fisher information at the current estimate.
    MaxInfo,
    /// Posterior-weighted Kullback-Leibler information:
    /// `KL_j = sum_i w_i sum_k P_jk(theta_hat) ln(P_jk(theta_hat) / P_jk(theta_i))`
    /// over the posterior nodes `theta_i` with weights `w_i`.
    Kl,
    /// Minimum expected posterior variance:
    /// `EPV_j = sum_k P(X_j = k | x) Var(theta | x, X_j = k)`.
    MinVariance,
    /// Location (difficulty) nearest the current estimate.
    #[serde(rename = "closest-b")]
    ClosestDifficulty,
    /// Uniformly at random.
    Random,
}

impl SelectRule {
    /// All rules.
    pub const ALL: [SelectRule; 5] = [
        SelectRule::MaxInfo,
        SelectRule::Kl,
        SelectRule::MinVariance,
        SelectRule::ClosestDifficulty,
        SelectRule::Random,
    ];

    /// The name used in plans and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SelectRule::MaxInfo => "max-info",
            SelectRule::Kl => "kl",
            SelectRule::MinVariance => "min-variance",
            SelectRule::ClosestDifficulty => "closest-b",
            SelectRule::Random => "random",
        }
    }

    /// True for the rules that integrate over the posterior.
    pub(crate) fn needs_posterior(self) -> bool {
        matches!(self, SelectRule::Kl | SelectRule::MinVariance)
    }
}

impl fmt::Display for SelectRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SelectRule {
    type Err = Error;

    /// Parses a rule name, ignoring case and surrounding space.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the valid rules.
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        SelectRule::ALL
            .into_iter()
            .find(|r| r.name() == wanted)
            .ok_or_else(|| {
                Error::config(format!(
                    "unknown selection rule '{}' (expected max-info, kl, min-variance, closest-b or random)",
                    s.trim()
                ))
            })
    }
}

/// What a rule needs to rank items.
pub(crate) struct Candidates<'a> {
    pub(crate) bank: &'a CatBank,
    /// The current ability estimate.
    pub(crate) theta: f64,
    /// Discrimination range of the current a-stratum, if any.
    pub(crate) a_range: Option<(f64, f64)>,
    pub(crate) eligible: &'a dyn Fn(usize) -> bool,
}

/// The best `k` eligible items under `rule`, best first (for `random`, one
/// item); empty when no item is eligible.
pub(crate) fn rank(
    rule: SelectRule,
    c: &Candidates<'_>,
    k: usize,
    shortlist: usize,
    posterior: Option<&GridPosterior>,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    match (rule, posterior) {
        (SelectRule::MaxInfo, _) => max_info(c, k).into_items(),
        (SelectRule::Kl, Some(post)) => kl::rank(c, k, shortlist, post),
        (SelectRule::MinVariance, Some(post)) => variance::rank(c, k, shortlist, post),
        // Without a posterior (never, from the session) fall back to information.
        (SelectRule::Kl | SelectRule::MinVariance, None) => max_info(c, k).into_items(),
        (SelectRule::ClosestDifficulty, _) => difficulty::rank(c, k),
        (SelectRule::Random, _) => random::pick(c, rng).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in SelectRule::ALL {
            assert_eq!(r.name().parse::<SelectRule>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.name()));
        }
        let err = "maxinfo".parse::<SelectRule>().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(err.to_string().contains("max-info"));
    }
}
