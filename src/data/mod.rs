//! Response data: the sparse examinees x items matrix and its file formats.
//!
//! [`read_responses`] loads long or wide CSV files (gzipped or not), or long
//! Parquet files (feature `polars`), into a
//! [`ResponseMatrix`]; [`recode_from_min`] shifts rating-scale categories so
//! each item starts at 0.

mod intern;
mod long;
mod matrix;
mod no_answer;
mod parquet;
mod read;
mod recode;
mod rows;
pub(crate) use rows::{LineTracked, next_record};
mod score;
mod wide;

pub use matrix::{Cell, ResponseMatrix};
pub use no_answer::{answered_only, read_responses_with_no_answer};
pub use read::{Layout, ReadOptions, read_responses, read_responses_from};
pub use recode::recode_from_min;
