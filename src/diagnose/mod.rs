//! Bank health diagnostics: saturation of the frontier, contamination and
//! drift.
//!
//! * [`saturation()`]: does the bank still measure its strongest models?
//!   Test information, the frontier, items the top models always get
//!   right, the SE reachable there, and how many new items at which
//!   difficulty would bring it to a target ([`mod@saturation`] module docs).
//! * [`contamination()`]: items easier for a cohort of models than their
//!   ability explains (DIF: likelihood ratio of a difficulty shift, or
//!   Mantel-Haenszel with ability strata; Benjamini-Hochberg FDR), and
//!   models whose response patterns misfit (Snijders' `l_z*`).
//! * [`drift::compare`]: items whose parameters moved beyond their
//!   standard errors between two versions, and items added or removed.
//!
//! Building blocks: [`information`] (test information), [`dif`],
//! [`person_fit`], [`fdr`], [`inputs`] (abilities and release-date CSVs).

pub mod contamination;
pub mod dif;
pub mod drift;
pub mod fdr;
pub mod information;
pub mod inputs;
pub mod person_fit;
pub mod saturation;

pub use contamination::{
    ContaminationConfig, ContaminationReport, ItemDif, PersonFit, contamination,
};
pub use dif::DifMethod;
pub use drift::{DriftReport, ItemDrift, compare};
pub use saturation::{ModelAbility, SaturationConfig, SaturationReport, saturation};
