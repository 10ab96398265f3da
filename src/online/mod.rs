//! Online calibration of new (pretest) items: seeding them into adaptive
//! exams ([`Pretest`], administered by [`crate::cat::Session::next_any`];
//! simulated by [`crate::cat::simulate_all`]), and estimating the new
//! items' parameters afterwards from journals or a long CSV
//! ([`calibrate_new`], by MEM or with abilities fixed), with the
//! operational items' parameters held fixed so the new items land on the
//! bank's scale.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use fangsheng::bank::ParamSet;
//! use fangsheng::online::{OnlineConfig, PretestData, calibrate_new};
//!
//! let params = ParamSet::load("calibration/demo/v1.json".as_ref()).unwrap().params;
//! let journals = vec![PathBuf::from("a.journal.jsonl"), PathBuf::from("b.journal.jsonl")];
//! let (data, _warnings) = PretestData::from_journals(&journals, &params, None).unwrap();
//! let fit = calibrate_new(&data, &params, &OnlineConfig::default()).unwrap();
//! let new = fit.to_params(&data, &params, false).unwrap();
//! println!("{}", new.to_json_string());
//! ```

mod calibrate;
mod data;
mod mstep;
mod pretest;

pub use calibrate::{Method, NewItem, OnlineCalibration, OnlineConfig, calibrate_new};
pub use data::{Examinee, PretestData, journal_paths};
pub use pretest::{NextItem, Pretest, PretestSelect};
