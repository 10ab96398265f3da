//! The CSV form of a parameter set: one row per item, for spreadsheets and
//! for exchange with R and Python tools.
//!
//! ```text
//! id,model,a,b,g,u,b1,b2,b3,se_a,se_b,se_b1,se_b2,se_b3
//! q1,2pl,1.2,-0.3,0,1,,,,0.1,0.05,,,
//! q2,3pl,1,0.4,0.2,1,,,,,,,,
//! q4,rasch,1,0.7,0,1,,,,,,,,
//! q5,grm,1.1,,,,-1,0.2,1.4,0.1,,0.2,0.1,0.2
//! ```
//!
//! * The first line names the columns; their order is free and names are
//!   matched ignoring case and surrounding spaces. `id` and `model` are
//!   required; the rest are read when present.
//! * `a`, `b`, `g`, `u`: the parameters of dichotomous items, with the same
//!   defaults and rules as the JSON format ([`crate::bank::json`]): `g`
//!   defaults to 0, `u` to 1, a Rasch item's `a` to 1.
//! * `b1`, `b2`, ...: the thresholds of graded (`grm`) items, numbered
//!   from 1 without gaps; a graded item with fewer thresholds than there are
//!   columns leaves the last ones empty. Dichotomous rows leave them empty,
//!   graded rows leave `b`, `g`, `u` empty.
//! * mirt's slope-intercept spelling is accepted on input: a `d` column
//!   instead of `b` (`b = -d / a`) and `d1`, `d2`, ... instead of `b1`, ...
//!   (`b_k = -d_k / a`). A row filling both spellings is an error. (catR's
//!   `a,b,c,d` tables use `d` for the upper asymptote: such a file is refused
//!   because it fills both `b` and `d`, rather than misread.)
//! * `se_a`, `se_b`, `se_g`, `se_u`, `se_b1`, ...: standard errors; an empty
//!   cell is unknown.
//! * An empty cell, or `NA` as R writes it, is an absent value. Other columns
//!   are ignored with a warning.
//!
//! The metadata of the JSON format has no place here: a set read from CSV has
//! default metadata (no bank or version, scale N(0, 1)).
//!
//! Errors name the file and the 1-based line (the header is line 1), and the
//! item once its id is read. They are those of the JSON format plus:
//! a missing `id` or `model` column, a column named twice, numbered columns
//! with a gap, a row with a different number of fields than the header
//! ([`ErrorKind::Format`]); a cell that is not a
//! number ([`ErrorKind::Value`]).
//!
//! [`ParamSet::write_csv`] writes `id,model,a,b,g,u`, then `b1..bK` when the
//! set has graded items (`K` the most thresholds of any), then the standard
//! error columns that hold at least one known value; dichotomous rows give
//! all four of `a,b,g,u`, fixed ones included. Numbers use the same
//! shortest round-trip form as the JSON files, so reading a written file and
//! writing it again gives the same bytes.
//!
//! ```
//! use std::path::Path;
//! use fangsheng::bank::ParamSet;
//! use fangsheng::model::ResponseModel;
//!
//! let text = "id,model,a,d,g\nq1,3pl,2,-1,0.25\n";
//! let set = ParamSet::from_csv_reader(text.as_bytes(), Path::new("p.csv")).unwrap().params;
//! assert_eq!(set.get("q1").unwrap().irf.params(), vec![2.0, 0.5, 0.25, 1.0]);
//! let mut out = Vec::new();
//! set.write_csv(&mut out).unwrap();
//! assert_eq!(String::from_utf8(out).unwrap(), "id,model,a,b,g,u\nq1,3pl,2,0.5,0.25,1\n");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use super::fields::{self, Located, RawItem, RawSe};
use super::files::format_number;
use super::{Loaded, Metadata, ParamSet};
use crate::data::{LineTracked, next_record};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Irf, ModelKind, ResponseModel};

impl ParamSet {
    /// Reads the CSV form (see [`crate::bank::csv`]); `source` names the
    /// file in errors and warnings.
    ///
    /// # Errors
    /// The first problem found, naming `source`, the line and the item; see
    /// [`crate::bank::csv`] and [the JSON checks](crate::bank::json#checks-on-load).
    pub fn from_csv_reader<R: Read>(r: R, source: &Path) -> Result<Loaded> {
        let mut reader = ::csv::ReaderBuilder::new()
            .trim(::csv::Trim::All)
            .from_reader(LineTracked::new(r));
        let header = reader
            .headers()
            .map_err(|e| {
                let line = e.position().map(|p| p.line());
                csv_error(e, line, source)
            })?
            .clone();
        let mut warnings = Vec::new();
        let cols = Columns::find(&header, source, &mut warnings)
            .map_err(|e| e.at_line(1).in_file(source))?;
        let mut items = Vec::new();
        let mut record = ::csv::StringRecord::new();
        while let Some(line) =
            next_record(&mut reader, &mut record).map_err(|(e, line)| csv_error(e, line, source))?
        {
            let raw = cols
                .row(&record)
                .map_err(|e| e.at_line(line).in_file(source))?;
            items.push(Located { line, raw });
        }
        fields::build_set(items, Metadata::default(), source, warnings)
    }

    /// Writes the set in the CSV form (see [`crate::bank::csv`]); the
    /// metadata is not written.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when `w` fails.
    pub fn write_csv<W: Write>(&self, w: W) -> Result<()> {
        let io = |e: ::csv::Error| Error::new(ErrorKind::Io, e.to_string()).with_source(e);
        let layout = Layout::of(self);
        let mut out = ::csv::Writer::from_writer(w);
        out.write_record(layout.header()).map_err(io)?;
        for item in self.items() {
            out.write_record(layout.row(item)).map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::new(ErrorKind::Io, e.to_string()).with_source(e))
    }
}

fn csv_error(e: ::csv::Error, line: Option<u64>, source: &Path) -> Error {
    let err = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::format(format!(
            "the row has {len} fields, but the header has {expected_len}"
        )),
        ::csv::ErrorKind::Utf8 { .. } => Error::format("the text is not valid UTF-8"),
        _ => Error::format(e.to_string()),
    };
    let err = match line {
        Some(l) => err.at_line(l),
        None => err,
    };
    err.with_source(e).in_file(source)
}

/// Positions of the known columns in a CSV header.
#[derive(Debug, Default)]
struct Columns {
    id: usize,
    model: usize,
    named: HashMap<&'static str, usize>,
    /// `b1..bK`, `d1..dK`, `se_b1..se_bK`, in order of `k`.
    thresholds: Vec<usize>,
    intercepts: Vec<usize>,
    se_thresholds: Vec<usize>,
}

const NAMED: [&str; 11] = [
    "id", "model", "a", "b", "d", "g", "u", "se_a", "se_b", "se_g", "se_u",
];

impl Columns {
    fn find(
        header: &::csv::StringRecord,
        source: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<Self> {
        if header.iter().all(str::is_empty) {
            return Err(Error::format(
                "the file is empty: expected a header line such as id,model,a,b,g,u",
            ));
        }
        let mut named: HashMap<&'static str, usize> = HashMap::new();
        let mut numbered: [BTreeMap<usize, usize>; 3] = Default::default();
        for (i, raw) in header.iter().enumerate() {
            let name = raw.to_ascii_lowercase();
            if let Some(&key) = NAMED.iter().find(|k| **k == name) {
                if named.insert(key, i).is_some() {
                    return Err(Error::format(format!("column '{key}' appears twice")));
                }
                continue;
            }
            let numbered_as = ["b", "d", "se_b"].iter().enumerate().find_map(|(n, p)| {
                let digits = name.strip_prefix(p)?;
                if digits.starts_with('0') {
                    return None;
                }
                digits.parse::<usize>().ok().map(|k| (n, k))
            });
            match numbered_as {
                Some((n, k)) => {
                    if numbered[n].insert(k, i).is_some() {
                        return Err(Error::format(format!("column '{name}' appears twice")));
                    }
                }
                None => warnings.push(fields::warning(
                    source,
                    Some(1),
                    None,
                    &format!("column '{raw}' is not part of the format and is ignored"),
                )),
            }
        }
        let mut cols = Columns::default();
        for (prefix, map, out) in [
            ("b", &numbered[0], &mut cols.thresholds),
            ("d", &numbered[1], &mut cols.intercepts),
            ("se_b", &numbered[2], &mut cols.se_thresholds),
        ] {
            for (expected, (&k, &i)) in (1..).zip(map) {
                if k != expected {
                    return Err(Error::format(format!(
                        "numbered columns must run {prefix}1, {prefix}2, ... without gaps, \
                         but {prefix}{expected} is missing"
                    )));
                }
                out.push(i);
            }
        }
        for key in ["id", "model"] {
            if !named.contains_key(key) {
                return Err(Error::format(format!("no '{key}' column")));
            }
        }
        cols.id = named["id"];
        cols.model = named["model"];
        cols.named = named;
        Ok(cols)
    }

    fn row(&self, record: &::csv::StringRecord) -> Result<RawItem> {
        let cell = |i: usize| record.get(i).unwrap_or("");
        let id = cell(self.id);
        if id.is_empty() {
            return Err(Error::format("the id is empty"));
        }
        let with_id = |e: Error| e.for_item(id);
        let kind = match cell(self.model) {
            "" => None,
            m => Some(ModelKind::from_str(m).map_err(with_id)?),
        };
        let named = |key: &str| match self.named.get(key) {
            None => Ok(None),
            Some(&i) => number(cell(i), key),
        };
        let numbered = |cols: &[usize], prefix: &str| -> Result<Vec<Option<f64>>> {
            cols.iter()
                .enumerate()
                .map(|(k, &i)| number(cell(i), &format!("{prefix}{}", k + 1)))
                .collect()
        };
        let thresholds =
            leading(&numbered(&self.thresholds, "b").map_err(with_id)?, "b").map_err(with_id)?;
        let intercepts =
            leading(&numbered(&self.intercepts, "d").map_err(with_id)?, "d").map_err(with_id)?;
        let se = RawSe {
            a: named("se_a").map_err(with_id)?,
            b: named("se_b").map_err(with_id)?,
            g: named("se_g").map_err(with_id)?,
            u: named("se_u").map_err(with_id)?,
            thresholds: se_thresholds(
                numbered(&self.se_thresholds, "se_b").map_err(with_id)?,
                thresholds.as_ref().or(intercepts.as_ref()).map(Vec::len),
            )
            .map_err(with_id)?,
        };
        let any_se = se.a.is_some()
            || se.b.is_some()
            || se.g.is_some()
            || se.u.is_some()
            || se.thresholds.is_some();
        Ok(RawItem {
            id: id.to_owned(),
            kind,
            a: named("a").map_err(with_id)?,
            b: named("b").map_err(with_id)?,
            d: named("d").map_err(with_id)?,
            g: named("g").map_err(with_id)?,
            u: named("u").map_err(with_id)?,
            thresholds,
            intercepts,
            se: any_se.then_some(se),
        })
    }
}

/// A cell as a number: `None` when empty or `NA`.
fn number(cell: &str, column: &str) -> Result<Option<f64>> {
    if cell.is_empty() || cell == "NA" {
        return Ok(None);
    }
    cell.parse()
        .map(Some)
        .map_err(|_| Error::value(format!("column '{column}': '{cell}' is not a number")))
}

/// The filled cells of `b1..bK` (or `d1..dK`), which must come first:
/// `None` when all are empty.
fn leading(cells: &[Option<f64>], prefix: &str) -> Result<Option<Vec<f64>>> {
    let n = cells.iter().take_while(|c| c.is_some()).count();
    if let Some(k) = cells[n..].iter().position(Option::is_some) {
        return Err(Error::format(format!(
            "{prefix}{} is given but {prefix}{} is empty; fill thresholds from {prefix}1 on",
            n + k + 1,
            n + 1
        )));
    }
    Ok((n > 0).then(|| cells[..n].iter().flatten().copied().collect()))
}

/// The threshold standard errors for an item with `n_thresholds` thresholds
/// (`None` for dichotomous items): empty cells beyond the item's own
/// thresholds are the other graded items' columns.
fn se_thresholds(
    cells: Vec<Option<f64>>,
    n_thresholds: Option<usize>,
) -> Result<Option<Vec<Option<f64>>>> {
    if cells.iter().all(Option::is_none) {
        return Ok(None);
    }
    let Some(n) = n_thresholds else {
        // Handed on whole; the item check rejects it for a dichotomous item.
        return Ok(Some(cells));
    };
    if let Some(k) = cells.iter().skip(n).position(Option::is_some) {
        return Err(Error::format(format!(
            "se_b{} is given but the item has {n} thresholds",
            n + k + 1
        )));
    }
    Ok(Some(cells.into_iter().take(n).collect()))
}

/// Which columns a written file has, decided from the whole set so every
/// row has the same fields.
struct Layout {
    n_thresholds: usize,
    /// Known somewhere: se of a, b, g, u.
    se_named: [bool; 4],
    n_se_thresholds: usize,
}

impl Layout {
    fn of(set: &ParamSet) -> Self {
        let mut l = Layout {
            n_thresholds: 0,
            se_named: [false; 4],
            n_se_thresholds: 0,
        };
        for item in set.items() {
            let se = item.se.as_deref().unwrap_or(&[]);
            let known = |i: usize| se.get(i).is_some_and(|x| !x.is_nan());
            l.se_named[0] |= known(0);
            match &item.irf {
                Irf::Logistic(_) => (1..4).for_each(|i| l.se_named[i] |= known(i)),
                Irf::Graded(m) => {
                    let k = m.thresholds().len();
                    l.n_thresholds = l.n_thresholds.max(k);
                    if let Some(last) = (1..=k).rev().find(|&i| known(i)) {
                        l.n_se_thresholds = l.n_se_thresholds.max(last);
                    }
                }
            }
        }
        l
    }

    fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = ["id", "model", "a", "b", "g", "u"].map(String::from).into();
        h.extend((1..=self.n_thresholds).map(|k| format!("b{k}")));
        for (i, name) in ["se_a", "se_b", "se_g", "se_u"].into_iter().enumerate() {
            if self.se_named[i] {
                h.push(name.to_owned());
            }
        }
        h.extend((1..=self.n_se_thresholds).map(|k| format!("se_b{k}")));
        h
    }

    fn row(&self, item: &super::ItemParams) -> Vec<String> {
        let num = |x: f64| {
            if x.is_nan() {
                String::new()
            } else {
                format_number(x)
            }
        };
        let se = item.se.as_deref().unwrap_or(&[]);
        let se_at = |i: usize| se.get(i).map_or(String::new(), |x| num(*x));
        let mut r = vec![item.id.to_string(), item.kind.to_string()];
        match &item.irf {
            Irf::Logistic(m) => {
                r.extend(m.params().into_iter().map(num));
                r.extend(std::iter::repeat_n(String::new(), self.n_thresholds));
            }
            Irf::Graded(m) => {
                let t = m.thresholds();
                r.extend([num(m.a()), String::new(), String::new(), String::new()]);
                r.extend(t.iter().map(|x| num(*x)));
                r.extend(std::iter::repeat_n(
                    String::new(),
                    self.n_thresholds - t.len(),
                ));
            }
        }
        let graded = matches!(item.irf, Irf::Graded(_));
        for i in 0..4 {
            if self.se_named[i] {
                // Slot 0 is a for both families; slots 1..3 are b, g, u only
                // for dichotomous items (a graded item's slot 1 is b1).
                r.push(if i == 0 || !graded {
                    se_at(i)
                } else {
                    String::new()
                });
            }
        }
        for k in 1..=self.n_se_thresholds {
            r.push(if graded { se_at(k) } else { String::new() });
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Loaded> {
        ParamSet::from_csv_reader(text.as_bytes(), Path::new("p.csv"))
    }

    fn write(set: &ParamSet) -> String {
        let mut out = Vec::new();
        set.write_csv(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let l = load("U, B ,Model,ID,a,g\n0.9,0.1,4pl,q1,1.5,0.2\n").unwrap();
        assert_eq!(l.params.items()[0].irf.params(), vec![1.5, 0.1, 0.2, 0.9]);
    }

    #[test]
    fn graded_rows_may_have_fewer_thresholds() {
        let text = "id,model,a,b,g,u,b1,b2,b3,se_a,se_b1,se_b2,se_b3\n\
                    q1,grm,1,,,,-1,0,1,0.1,0.2,0.2,0.3\n\
                    q2,grm,2,,,,-0.5,0.5,,,,0.4,\n\
                    q3,2pl,1,0,0,1,,,,0.1,,,\n";
        let l = load(text).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(l.params.items()[1].irf.params(), vec![2.0, -0.5, 0.5]);
        let se = l.params.items()[1].se.clone().unwrap();
        assert!(se[0].is_nan() && se[1].is_nan() && se[2] == 0.4);
        // se_b is absent: the dichotomous item has only se_a.
        assert_eq!(
            write(&l.params),
            "id,model,a,b,g,u,b1,b2,b3,se_a,se_b1,se_b2,se_b3\n\
             q1,grm,1,,,,-1,0,1,0.1,0.2,0.2,0.3\n\
             q2,grm,2,,,,-0.5,0.5,,,,0.4,\n\
             q3,2pl,1,0,0,1,,,,0.1,,,\n"
        );
    }

    #[test]
    fn threshold_gaps_are_errors() {
        let e = load("id,model,a,b1,b3\nq,grm,1,0,1\n").unwrap_err();
        assert_eq!((e.kind(), e.line()), (ErrorKind::Format, Some(1)));
        assert!(e.message().contains("b2 is missing"), "{e}");
        let e = load("id,model,a,b1,b2\nq,grm,1,,1\n").unwrap_err();
        assert_eq!(
            (e.kind(), e.line(), e.item()),
            (ErrorKind::Format, Some(2), Some("q"))
        );
        let e = load("id,model,a,b1,se_b1,se_b2\nq,grm,1,0,0.1,0.1\n").unwrap_err();
        assert!(e.message().contains("se_b2 is given"), "{e}");
    }

    #[test]
    fn header_problems_are_reported_at_line_one() {
        for (text, msg) in [
            ("", "empty"),
            ("id,a,b\nq,1,0\n", "no 'model' column"),
            ("id,model,a,A\n", "column 'a' appears twice"),
        ] {
            let e = load(text).unwrap_err();
            assert_eq!(
                (e.kind(), e.line()),
                (ErrorKind::Format, Some(1)),
                "{text:?}"
            );
            assert!(e.message().contains(msg), "{e}");
        }
        let l = load("id,model,b,comment\nq,rasch,0,hello\n").unwrap();
        assert_eq!(
            l.warnings,
            ["p.csv:1: column 'comment' is not part of the format and is ignored"]
        );
    }

    #[test]
    fn ragged_rows_and_na_cells() {
        let e = load("id,model,b\nq,rasch\n").unwrap_err();
        assert_eq!((e.kind(), e.line()), (ErrorKind::Format, Some(2)));
        assert!(e.message().contains("2 fields"), "{e}");
        let l = load("id,model,a,b,g,u\nq,2pl,1,0,NA,NA\n").unwrap();
        assert_eq!(l.params.items()[0].irf.params(), vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn catr_tables_are_refused_not_misread() {
        let e = load("id,model,a,b,c,d\nq,4pl,1,0,0.2,0.9\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format);
        assert!(e.message().contains("either 'b' or"), "{e}");
    }
}
