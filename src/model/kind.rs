//! Names of the calibrated models.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The model an item was calibrated under: which parameters were free.
///
/// | kind | free parameters | fixed |
/// |---|---|---|
/// | `rasch` | b | a = 1, g = 0, u = 1 (latent variance estimated) |
/// | `1pl` | b, one a shared by all 1PL items | g = 0, u = 1 |
/// | `2pl` | a, b | g = 0, u = 1 |
/// | `3pl` | a, b, g | u = 1 |
/// | `4pl` | a, b, g, u | |
/// | `grm` | a, b_1 .. b_{K-1} | |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum ModelKind {
    /// Rasch model.
    #[serde(rename = "rasch")]
    Rasch,
    /// One-parameter logistic with a common slope.
    #[serde(rename = "1pl")]
    OnePl,
    /// Two-parameter logistic.
    #[serde(rename = "2pl")]
    TwoPl,
    /// Three-parameter logistic (lower asymptote).
    #[serde(rename = "3pl")]
    ThreePl,
    /// Four-parameter logistic (both asymptotes).
    #[serde(rename = "4pl")]
    FourPl,
    /// Graded response model.
    #[serde(rename = "grm", alias = "graded")]
    Graded,
}

impl ModelKind {
    /// All kinds, in order of complexity.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Rasch,
        ModelKind::OnePl,
        ModelKind::TwoPl,
        ModelKind::ThreePl,
        ModelKind::FourPl,
        ModelKind::Graded,
    ];

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Rasch => "rasch",
            ModelKind::OnePl => "1pl",
            ModelKind::TwoPl => "2pl",
            ModelKind::ThreePl => "3pl",
            ModelKind::FourPl => "4pl",
            ModelKind::Graded => "grm",
        }
    }

    /// True for the dichotomous (logistic) kinds.
    pub fn is_dichotomous(self) -> bool {
        !matches!(self, ModelKind::Graded)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rasch" => Ok(ModelKind::Rasch),
            "1pl" => Ok(ModelKind::OnePl),
            "2pl" => Ok(ModelKind::TwoPl),
            "3pl" => Ok(ModelKind::ThreePl),
            "4pl" => Ok(ModelKind::FourPl),
            "grm" | "graded" => Ok(ModelKind::Graded),
            other => Err(Error::value(format!(
                "unknown model '{other}' (expected rasch, 1pl, 2pl, 3pl, 4pl or grm)"
            ))),
        }
    }
}
