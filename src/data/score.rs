//! Turning one CSV field into a score, a "not administered" marker, or an
//! error saying what is wrong with it.
//!
//! Scores are whole, non-negative category numbers that fit in a `u8`.
//! Exports from R, pandas and spreadsheets write them as `1`, `1.0` or
//! `TRUE`, so all three spellings are accepted; anything that would need
//! rounding or clamping is rejected rather than guessed at.

/// Field values that always mean "not administered".
const BUILTIN_MISSING: [&str; 5] = ["", "NA", "NaN", "nan", "."];

/// The set of tokens that mark a cell as not administered.
#[derive(Debug, Clone)]
pub(crate) struct MissingTokens {
    extra: Vec<Vec<u8>>,
}

impl MissingTokens {
    /// The built-in tokens plus `extra` (compared after trimming whitespace).
    pub(crate) fn new(extra: &[String]) -> Self {
        MissingTokens {
            extra: extra.iter().map(|t| t.trim().as_bytes().to_vec()).collect(),
        }
    }

    /// True when the (already trimmed) field marks a missing cell.
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        BUILTIN_MISSING.iter().any(|t| t.as_bytes() == field)
            || self.extra.iter().any(|t| t.as_slice() == field)
    }
}

/// What one score field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The item was not administered to this examinee.
    Missing,
    /// An observed score.
    Score(u8),
}

/// Reads one score field. The error is the message only; the caller adds
/// the file, line and item it knows.
pub(crate) fn parse_score(raw: &[u8], missing: &MissingTokens) -> Result<Field, String> {
    let field = raw.trim_ascii();
    if missing.contains(field) {
        return Ok(Field::Missing);
    }
    // Fast path: plain digits, by far the most common spelling.
    if field.iter().all(u8::is_ascii_digit) {
        let mut v: u32 = 0;
        for &d in field {
            v = v * 10 + u32::from(d - b'0');
            if v > u32::from(u8::MAX) {
                return Err(too_large(field));
            }
        }
        return Ok(Field::Score(v as u8));
    }
    if field.eq_ignore_ascii_case(b"true") {
        return Ok(Field::Score(1));
    }
    if field.eq_ignore_ascii_case(b"false") {
        return Ok(Field::Score(0));
    }
    let text = String::from_utf8_lossy(field);
    let v: f64 = match text.parse() {
        Ok(v) => v,
        Err(_) => return Err(format!("score '{text}' is not a number")),
    };
    if !v.is_finite() {
        Err(format!("score '{text}' is not a finite number"))
    } else if v < 0.0 {
        Err(format!("score '{text}' is negative"))
    } else if v.fract() != 0.0 {
        Err(format!(
            "score '{text}' is not a whole number (scores are category numbers 0, 1, 2, ..)"
        ))
    } else if v > f64::from(u8::MAX) {
        Err(too_large(field))
    } else {
        Ok(Field::Score(v as u8))
    }
}

fn too_large(field: &[u8]) -> String {
    format!(
        "score '{}' is larger than 255, the highest category supported",
        String::from_utf8_lossy(field)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Field, String> {
        parse_score(s.as_bytes(), &MissingTokens::new(&["-9".to_string()]))
    }

    #[test]
    fn accepts_the_usual_spellings() {
        assert_eq!(parse("0"), Ok(Field::Score(0)));
        assert_eq!(parse(" 1 "), Ok(Field::Score(1)));
        assert_eq!(parse("1.0"), Ok(Field::Score(1)));
        assert_eq!(parse("0.0"), Ok(Field::Score(0)));
        assert_eq!(parse("3.000"), Ok(Field::Score(3)));
        assert_eq!(parse("TRUE"), Ok(Field::Score(1)));
        assert_eq!(parse("False"), Ok(Field::Score(0)));
        assert_eq!(parse("255"), Ok(Field::Score(255)));
        assert_eq!(parse("007"), Ok(Field::Score(7)));
    }

    #[test]
    fn missing_tokens_include_the_extra_ones() {
        for s in ["", "  ", "NA", "NaN", "nan", ".", "-9"] {
            assert_eq!(parse(s), Ok(Field::Missing), "{s:?}");
        }
        // Only the listed spellings: "na" is a typo, not a marker.
        assert!(parse("na").is_err());
    }

    #[test]
    fn rejects_what_would_need_guessing() {
        assert!(parse("x").unwrap_err().contains("not a number"));
        assert!(parse("-1").unwrap_err().contains("negative"));
        assert!(parse("0.5").unwrap_err().contains("not a whole number"));
        assert!(parse("256").unwrap_err().contains("larger than 255"));
        assert!(
            parse("99999999999999")
                .unwrap_err()
                .contains("larger than 255")
        );
        assert!(parse("256.0").unwrap_err().contains("larger than 255"));
        assert!(parse("inf").unwrap_err().contains("finite"));
    }
}
