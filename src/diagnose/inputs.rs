//! The small CSV files the diagnostics read: model abilities and model
//! release dates.

use std::path::Path;

use super::saturation::ModelAbility;
use crate::data::{LineTracked, next_record};
use crate::error::{Error, Result};

/// Column names accepted for the model id, in order of preference.
const MODEL_COLUMNS: [&str; 4] = ["model", "examinee", "id", "name"];

/// Reads a CSV (gzip allowed) with a header, returning for each data row its
/// line and the fields of the columns `wanted` (each the first header name
/// of its list present, compared case-insensitively).
fn read_columns(path: &Path, wanted: &[&[&str]]) -> Result<Vec<(u64, Vec<String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(LineTracked::new(crate::io::open_read(path)?));
    let fail = |e: csv::Error, line: Option<u64>| {
        let err = Error::format(format!("malformed CSV: {e}")).in_file(path);
        match line {
            Some(l) => err.at_line(l),
            None => err,
        }
    };
    let header = reader
        .headers()
        .map_err(|e| {
            let line = e.position().map(|p| p.line());
            fail(e, line)
        })?
        .clone();
    let mut index = Vec::with_capacity(wanted.len());
    for names in wanted {
        let found = names
            .iter()
            .find_map(|n| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n)));
        match found {
            Some(i) => index.push(i),
            None => {
                return Err(Error::format(format!(
                    "no column named {} in the header",
                    names.join(" or ")
                ))
                .in_file(path)
                .at_line(1));
            }
        }
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    while let Some(line) = next_record(&mut reader, &mut record).map_err(|(e, l)| fail(e, l))? {
        rows.push((
            line,
            index.iter().map(|&i| record[i].trim().to_owned()).collect(),
        ));
    }
    Ok(rows)
}

/// Reads abilities: a CSV with a model column (`model`, `examinee`, `id` or
/// `name`) and a `theta` column, as `fangsheng score` and `calibrate
/// --abilities` write them. Other columns are ignored.
///
/// # Errors
/// A missing column, an empty id, a duplicate model or a theta that is not a
/// finite number, naming the file and line.
pub fn read_abilities(path: &Path) -> Result<Vec<ModelAbility>> {
    let rows = read_columns(path, &[&MODEL_COLUMNS, &["theta"]])?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, f) in rows {
        let at = |e: Error| e.in_file(path).at_line(line);
        if f[0].is_empty() {
            return Err(at(Error::value("the model id is empty")));
        }
        let theta: f64 = f[1]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| {
                at(Error::value(format!(
                    "theta '{}' is not a finite number",
                    f[1]
                )))
            })?;
        if !seen.insert(f[0].clone()) {
            return Err(at(Error::value(format!("model '{}' appears twice", f[0]))));
        }
        out.push(ModelAbility {
            model: f[0].clone(),
            theta,
        });
    }
    Ok(out)
}

/// A calendar date `(year, month, day)` from `YYYY-MM-DD`, `YYYY-MM` or
/// `YYYY` (a partial date stands for its first day).
///
/// # Errors
/// Any other text, or a month or day out of range.
pub fn parse_date(text: &str) -> Result<(u32, u32, u32)> {
    let bad = || Error::value(format!("'{text}' is not a date (YYYY-MM-DD)"));
    let parts: Vec<&str> = text.trim().split('-').collect();
    if parts.is_empty() || parts.len() > 3 || parts[0].len() != 4 {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let y = num(parts[0])?;
    let m = parts.get(1).map_or(Ok(1), |s| num(s))?;
    let d = parts.get(2).map_or(Ok(1), |s| num(s))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok((y, m, d))
}

/// The models of a metadata CSV (columns `model` and `release_date`)
/// released strictly after `after`.
///
/// # Errors
/// A missing column or a malformed date, naming the file and line.
pub fn released_after(path: &Path, after: &str) -> Result<Vec<String>> {
    let cutoff = parse_date(after)?;
    let rows = read_columns(
        path,
        &[&MODEL_COLUMNS, &["release_date", "released", "date"]],
    )?;
    let mut out = Vec::new();
    for (line, f) in rows {
        let date = parse_date(&f[1]).map_err(|e| e.in_file(path).at_line(line))?;
        if date > cutoff {
            out.push(f[0].clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_abilities_and_release_dates() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "examinee,theta,se\nm1,0.5,0.1\nm2,-1,0.2\n").unwrap();
        let got = read_abilities(&a).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].model.as_str(), got[1].theta), ("m2", -1.0));

        std::fs::write(&a, "model,theta\nm1,0.5\nm2,abc\n").unwrap();
        let e = read_abilities(&a).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("abc"), "{e}");

        let m = dir.path().join("meta.csv");
        std::fs::write(
            &m,
            "model,release_date\nold,2023-01-05\nnew,2024-07-01\nsame,2024-06-30\n",
        )
        .unwrap();
        assert_eq!(released_after(&m, "2024-06-30").unwrap(), ["new"]);
        assert_eq!(released_after(&m, "2024").unwrap(), ["new", "same"]);
        assert!(parse_date("2024-13-01").is_err() && parse_date("24-01-01").is_err());
    }
}
