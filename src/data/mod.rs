//! Response data: the sparse examinees x items matrix and its file formats.

mod matrix;

pub use matrix::{Cell, ResponseMatrix};
