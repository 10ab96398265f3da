//! Classification against a cut score.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::{Error, Result};

/// Stop when the central `level` interval `theta +- z se` lies entirely
/// above or below a cut: `cut` on the theta scale, or `cut_score`, a
/// proportion of the bank's maximum score, turned into the theta at which
/// the bank's expected proportion equals it. Exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classify {
    /// Cut on the theta scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<f64>,
    /// Cut as a proportion of the bank, in `(0, 1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut_score: Option<f64>,
    /// Confidence level of the interval, in `(0, 1)` (default 0.95).
    #[serde(default = "default_level")]
    pub level: f64,
}

fn default_level() -> f64 {
    0.95
}

impl Classify {
    pub(crate) fn validate(&self) -> Result<()> {
        match (self.cut, self.cut_score) {
            (Some(c), None) if c.is_finite() => {}
            (None, Some(p)) if p > 0.0 && p < 1.0 => {}
            (Some(_), Some(_)) | (None, None) => {
                return Err(Error::config(
                    "classify: give exactly one of cut (theta) and cut_score (proportion)",
                ));
            }
            _ => {
                return Err(Error::config(
                    "classify: cut must be finite and cut_score in (0, 1)",
                ));
            }
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::config(format!(
                "classify: level must be in (0, 1), got {}",
                self.level
            )));
        }
        Ok(())
    }

    /// The normal quantile `z` of the two-sided interval.
    pub(crate) fn z(&self) -> f64 {
        Normal::standard().inverse_cdf(0.5 * (1.0 + self.level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_of_95_percent_is_1_96() {
        let c = Classify {
            cut: Some(0.0),
            cut_score: None,
            level: 0.95,
        };
        assert!((c.z() - 1.959964).abs() < 1e-6);
    }
}
