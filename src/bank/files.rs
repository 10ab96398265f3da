//! Loading and saving parameter files: the entry points shared by the JSON
//! and CSV forms, and the number formatting both use.

use std::path::Path;

use super::ParamSet;
use crate::error::{Error, Result};

/// The `format` value of the JSON parameter files this version reads and writes.
pub const FORMAT: &str = "fangsheng-params/1";

/// A parameter set read from a file, with the warnings found while checking it.
///
/// Warnings are problems that do not stop the set from being used (such as a
/// discrimination above 10); each names the file, line and item, for example
/// `params.json:9: item 'q7': discrimination a = 12.3 is above 10`.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The parameters.
    pub params: ParamSet,
    /// One sentence per suspicious but acceptable value or ignored field.
    pub warnings: Vec<String>,
}

impl ParamSet {
    /// Reads a parameter file in the JSON format ([`crate::bank::json`]) or
    /// the CSV form ([`crate::bank::csv`]), gzipped or not.
    ///
    /// The form is decided by content, not by name: a file whose first
    /// non-blank character is `{` is JSON, anything else is CSV. A leading
    /// UTF-8 byte-order mark is ignored.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the file cannot be read or
    /// is not UTF-8; otherwise the errors of [`ParamSet::from_json_str`] or
    /// [`ParamSet::from_csv_reader`], each naming the file and line.
    pub fn load(path: &Path) -> Result<Loaded> {
        let text = crate::io::read_to_string(path)?;
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if body.trim_start().starts_with('{') {
            Self::from_json_str(body, path)
        } else {
            Self::from_csv_reader(body.as_bytes(), path)
        }
    }

    /// Writes the set as JSON ([`ParamSet::to_json_string`]) to `path`,
    /// atomically: on failure an existing file at `path` is left as it was.
    pub fn save_json(&self, path: &Path) -> Result<()> {
        let text = self.to_json_string();
        crate::io::write_atomic(path, |w| {
            w.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
        })
    }

    /// Writes the set in the CSV form ([`ParamSet::write_csv`]) to `path`,
    /// atomically. The metadata is not part of the CSV form and is not saved.
    pub fn save_csv(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, |w| self.write_csv(w).map_err(|e| e.in_file(path)))
    }
}

/// Formats a finite number so that reading it back gives the same `f64`.
///
/// Rust's `{}` prints the shortest digits that round-trip; numbers below
/// `1e-5` or from `1e16` in magnitude use `{:e}` (also shortest) so they stay
/// short. Zero is written `0` whatever its sign. Both forms are valid JSON
/// numbers and parse with `str::parse::<f64>`.
pub(crate) fn format_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    if (1e-5..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_stay_short() {
        assert_eq!(format_number(1.2), "1.2");
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(2e20), "2e20");
        assert_eq!(format_number(0.30000000000000004), "0.30000000000000004");
        for x in [1e-5, 9.99999e-6, 1e16, 123456.789, -3.25e-300, f64::MAX] {
            assert_eq!(format_number(x).parse::<f64>().unwrap(), x);
        }
    }
}
