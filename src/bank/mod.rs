//! Item banks: item content (`items.jsonl`) and calibrated parameter sets.
//!
//! A [`ParamSet`] is what calibration writes and what scoring and adaptive
//! exams read: one [`ItemParams`] per item, plus file-level [`Metadata`].
//! On disk it is the versioned JSON format `fangsheng-params/1` ([`json`])
//! or a CSV form ([`csv`]); [`ParamSet::load`] reads either, checking every
//! item and returning the set with its warnings as a [`Loaded`].

mod content;
mod content_check;
mod content_parse;
pub mod csv;
mod fields;
mod files;
pub mod import;
pub mod json;
mod json_text;
mod params;
pub mod template;
mod template_expr;

pub use content::{
    ITEMS_FILE, ITEMS_FILE_GZ, Item, ItemBank, ItemType, MAX_CHOICES, letter, letter_index,
};
pub use content_check::{BankInfo, Issue, Report, Severity};
pub use files::{FORMAT, Loaded};
pub use import::{ImportSpec, InputFormat, import, import_to};
pub use params::{EXAMINEE_NAMES_KEY, ItemParams, Metadata, PROMPT_FORMAT_KEY, ParamSet, Scale};
pub use template::{Draw, Slots, Template, UsedVariants, Variant};
pub use template_expr::{Expr, Table, Value, format_number};
