//! Names of the ability estimators.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which estimator turns a response pattern into an ability estimate.
///
/// | method | estimate | standard error |
/// |---|---|---|
/// | `ml` | argmax of `ln L(theta)` within the bounds | `1 / sqrt(I(theta))` |
/// | `map` | argmax of `ln L(theta) + ln phi((theta - mu) / sigma)` | `1 / sqrt(I(theta) + 1 / sigma^2)` (a t prior: its curvature at the mode, floored at 0, for `1 / sigma^2`) |
/// | `eap` | posterior mean `E[theta | x]` | posterior SD |
/// | `wle` | root of `d ln L / d theta + J / (2 I)` (Warm, 1989) | `1 / sqrt(I(theta))` |
///
/// `I` is the test (expected Fisher) information, `J` Warm's bias term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Maximum likelihood.
    Ml,
    /// Maximum a posteriori (Bayes modal) under the ability prior.
    Map,
    /// Expected a posteriori under the ability prior.
    Eap,
    /// Warm's weighted likelihood estimator.
    Wle,
}

impl Method {
    /// All methods.
    pub const ALL: [Method; 4] = [Method::Ml, Method::Map, Method::Eap, Method::Wle];

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ml => "ml",
            Method::Map => "map",
            Method::Eap => "eap",
            Method::Wle => "wle",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    /// Parses `ml`, `map`, `eap` or `wle`, ignoring case and surrounding space.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the valid values.
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        Method::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| {
                Error::config(format!(
                    "unknown estimation method '{}' (expected ml, map, eap or wle)",
                    s.trim()
                ))
            })
    }
}
