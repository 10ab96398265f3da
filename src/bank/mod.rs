//! Item banks: calibrated parameter sets (and, later, item content).
//!
//! A [`ParamSet`] is what calibration writes and what scoring and adaptive
//! exams read: one [`ItemParams`] per item, plus file-level [`Metadata`].
//! On disk it is the versioned JSON format `fangsheng-params/1` or a CSV
//! form; see [`ParamSet::load`].

mod params;

pub use params::{ItemParams, Metadata, ParamSet, Scale};
