//! fangsheng: adaptive dynamic testing of large language models.
//!
//! Data flows one way through the crate:
//! responses ([`data`]) -> calibration ([`calibrate`]) -> item parameters
//! ([`bank`]) -> adaptive exams ([`cat`], against a backend: [`exam`]) ->
//! ability estimates and predicted bank scores ([`estimate`]) -> tables
//! for analysts ([`export`], [`report`]). [`loo`] measures how well a
//! bank's short exams predict a new model's score, leaving each calibration
//! model out in turn. Item response functions live in [`model`]; every
//! fallible function returns [`Error`], which names the file, line and item
//! a problem was found at.
//!
//! ```
//! use fangsheng::model::{Irf, Logistic};
//! use fangsheng::estimate::{Estimator, Method};
//!
//! let items: Vec<Irf> = [-1.0, 0.0, 1.0]
//!     .iter()
//!     .map(|&b| Logistic::two_pl(1.2, b).unwrap().into())
//!     .collect();
//! let pattern: Vec<(&Irf, usize)> = items.iter().zip([1, 1, 0]).collect();
//! let ability = Estimator::new(Method::Eap).estimate(&pattern);
//! assert!(ability.theta > 0.0 && ability.se > 0.0);
//! ```

pub mod bank;
pub mod calibrate;
pub mod cat;
pub mod data;
pub mod diagnose;
pub mod error;
pub mod estimate;
pub mod exam;
pub mod export;
pub mod grade;
pub mod ids;
pub mod io;
pub mod link;
pub mod loo;
pub mod model;
pub mod online;
pub mod prompt;
pub mod report;
pub mod respond;
pub mod simulate;

pub use error::{Error, ErrorKind, Result};
pub use ids::{ExamineeId, ItemId};
