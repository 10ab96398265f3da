//! Stopping rules: when an exam ends, and why.
//!
//! Checked before each selection, in this order; the first that holds ends
//! the exam and is reported:
//!
//! 1. [`StopReason::MaxItems`]: `max_items` answers recorded;
//! 2. only from `min_items` answers on:
//!    [`StopReason::Precision`] (`se <= stop_se`),
//!    [`StopReason::ClassifiedAbove`] / [`StopReason::ClassifiedBelow`]
//!    (the confidence interval clears the cut, see [`Classify`]),
//!    [`StopReason::MinInformation`] (no eligible item left has
//!    `stop_information` at the estimate);
//! 3. [`StopReason::Exhausted`]: no item left to administer.

mod classify;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use classify::Classify;

use crate::estimate::Ability;

/// Why an exam ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The maximum number of items was reached.
    MaxItems,
    /// The standard error reached the target.
    Precision,
    /// The interval lies above the cut.
    ClassifiedAbove,
    /// The interval lies below the cut.
    ClassifiedBelow,
    /// No remaining item carries the minimum information.
    MinInformation,
    /// No eligible item is left.
    Exhausted,
}

impl StopReason {
    /// The name used in output files.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::MaxItems => "max-items",
            StopReason::Precision => "precision",
            StopReason::ClassifiedAbove => "classified-above",
            StopReason::ClassifiedBelow => "classified-below",
            StopReason::MinInformation => "min-information",
            StopReason::Exhausted => "exhausted",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rules that depend only on the answers so far (maximum length,
/// precision, classification); `cut` is the classification cut on the
/// theta scale, already resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rules {
    pub(crate) max_items: usize,
    pub(crate) min_items: usize,
    pub(crate) stop_se: Option<f64>,
    /// `(cut, z)`: the cut on the theta scale and the normal quantile of the
    /// interval.
    pub(crate) classify: Option<(f64, f64)>,
}

impl Rules {
    /// The first of rules 1-2 (without minimum information) that holds.
    pub(crate) fn check(&self, n: usize, ability: &Ability) -> Option<StopReason> {
        if n >= self.max_items {
            return Some(StopReason::MaxItems);
        }
        if n < self.min_items || n == 0 {
            return None;
        }
        if self.stop_se.is_some_and(|s| ability.se <= s) {
            return Some(StopReason::Precision);
        }
        if let Some((cut, z)) = self.classify {
            if ability.theta - z * ability.se > cut {
                return Some(StopReason::ClassifiedAbove);
            }
            if ability.theta + z * ability.se < cut {
                return Some(StopReason::ClassifiedBelow);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Status;

    fn ability(theta: f64, se: f64, n: usize) -> Ability {
        Ability {
            theta,
            se,
            n_items: n,
            status: Status::Converged,
        }
    }

    #[test]
    fn first_rule_met_wins_and_min_items_holds_back_the_others() {
        let rules = Rules {
            max_items: 10,
            min_items: 3,
            stop_se: Some(0.4),
            classify: Some((0.0, 1.96)),
        };
        assert_eq!(rules.check(2, &ability(2.0, 0.1, 2)), None);
        assert_eq!(
            rules.check(3, &ability(2.0, 0.3, 3)),
            Some(StopReason::Precision)
        );
        assert_eq!(
            rules.check(3, &ability(2.0, 0.5, 3)),
            Some(StopReason::ClassifiedAbove)
        );
        assert_eq!(
            rules.check(3, &ability(-2.0, 0.5, 3)),
            Some(StopReason::ClassifiedBelow)
        );
        assert_eq!(rules.check(3, &ability(0.5, 0.5, 3)), None);
        assert_eq!(
            rules.check(10, &ability(0.5, 0.5, 10)),
            Some(StopReason::MaxItems)
        );
    }
}
