//! The four exported tables and their columns (documented in
//! [`crate::export`]).

use std::fmt;
use std::str::FromStr;

use super::table::{ColumnType, Table};
use crate::error::{Error, Result};

use ColumnType::{Float, Int, Str};

/// Which table an export builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// One row per examinee (model) and source: ability and predicted score.
    Abilities,
    /// One row per examinee and item group: predicted scores per category
    /// and dimension (the long companion of `abilities`).
    Scores,
    /// One row per calibrated item.
    Items,
    /// One row per exam step.
    Steps,
}

/// Columns of the abilities table.
pub const ABILITIES: &[(&str, ColumnType)] = &[
    ("model", Str),
    ("source", Str),
    ("backend", Str),
    ("theta", Float),
    ("se", Float),
    ("lo", Float),
    ("hi", Float),
    ("level", Float),
    ("predicted_score", Float),
    ("predicted_lo", Float),
    ("predicted_hi", Float),
    ("score_link", Str),
    ("observed_score", Float),
    ("true_theta", Float),
    ("n_items", Int),
    ("skipped", Int),
    ("correct", Int),
    ("stop_reason", Str),
    ("bank", Str),
    ("bank_digest", Str),
    ("calibration_version", Str),
    ("calibration_digest", Str),
    ("seed", Int),
    ("prompt_tokens", Int),
    ("completion_tokens", Int),
    ("latency_seconds", Float),
    ("timestamp", Str),
    ("file", Str),
];

/// Columns of the scores table.
pub const SCORES: &[(&str, ColumnType)] = &[
    ("model", Str),
    ("scope", Str),
    ("group", Str),
    ("n_items", Int),
    ("predicted_score", Float),
    ("predicted_lo", Float),
    ("predicted_hi", Float),
    ("score_link", Str),
    ("level", Float),
    ("file", Str),
];

/// Fixed columns of the items table; `b1..bK` and `se_b1..se_bK` follow
/// when the set has graded items.
pub const ITEMS: &[(&str, ColumnType)] = &[
    ("id", Str),
    ("bank", Str),
    ("calibration_version", Str),
    ("category", Str),
    ("dimension", Str),
    ("irt_model", Str),
    ("n_categories", Int),
    ("a", Float),
    ("b", Float),
    ("g", Float),
    ("u", Float),
    ("se_a", Float),
    ("se_b", Float),
    ("se_g", Float),
    ("se_u", Float),
    ("exposure_count", Int),
    ("exposure_rate", Float),
    ("n_responses", Int),
    ("mean_score", Float),
    ("infit", Float),
    ("outfit", Float),
    ("s_x2", Float),
    ("s_x2_df", Int),
    ("s_x2_p", Float),
    ("flags", Str),
];

/// Columns of the steps table.
pub const STEPS: &[(&str, ColumnType)] = &[
    ("model", Str),
    ("source", Str),
    ("step", Int),
    ("item", Str),
    ("score", Int),
    ("outcome", Str),
    ("skipped", Str),
    ("theta", Float),
    ("se", Float),
    ("latency", Float),
    ("elapsed", Float),
    ("prompt_tokens", Int),
    ("completion_tokens", Int),
    ("attempts", Int),
    ("file", Str),
];

/// Columns renamed since tables were first written: `(table, old name,
/// name now)`. Readers take the old name for the new one, so files written
/// before still load.
const RENAMED: &[(TableKind, &str, &str)] = &[
    (TableKind::Abilities, "predicted", "predicted_score"),
    (TableKind::Abilities, "observed", "observed_score"),
    (TableKind::Scores, "predicted", "predicted_score"),
];

impl TableKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [TableKind; 4] = [
        TableKind::Abilities,
        TableKind::Scores,
        TableKind::Items,
        TableKind::Steps,
    ];

    /// The name used on the command line: `abilities`, `scores`, `items`,
    /// `steps`.
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Abilities => "abilities",
            TableKind::Scores => "scores",
            TableKind::Items => "items",
            TableKind::Steps => "steps",
        }
    }

    /// The fixed columns of the table, in order.
    pub fn columns(self) -> &'static [(&'static str, ColumnType)] {
        match self {
            TableKind::Abilities => ABILITIES,
            TableKind::Scores => SCORES,
            TableKind::Items => ITEMS,
            TableKind::Steps => STEPS,
        }
    }

    /// The name column `name` of a file of this kind has now: `name` itself,
    /// or the new name of a column renamed since (`predicted` is
    /// `predicted_score` in abilities and scores, `observed` is
    /// `observed_score` in abilities).
    pub fn current_name(self, name: &str) -> &str {
        RENAMED
            .iter()
            .find(|(kind, old, _)| *kind == self && *old == name)
            .map_or(name, |(_, _, new)| new)
    }

    /// The type of column `name` in this table: a fixed column, or for
    /// items a numbered threshold `b<k>` / `se_b<k>` (`k >= 1`).
    pub fn column_type(self, name: &str) -> Option<ColumnType> {
        if let Some((_, t)) = self.columns().iter().find(|(n, _)| *n == name) {
            return Some(*t);
        }
        (self == TableKind::Items && threshold_number(name).is_some()).then_some(Float)
    }

    /// An empty table with the fixed columns.
    pub fn empty_table(self) -> Table {
        // The fixed schemas have unique, non-empty names (tested below).
        Table::new(self.columns()).unwrap_or_else(|_| unreachable!("fixed schemas are valid"))
    }

    /// Checks that `table` has exactly this kind's columns, in order and of
    /// the right types (for items, threshold columns after the fixed ones).
    ///
    /// # Errors
    /// [`ErrorKind::Format`](crate::ErrorKind::Format) naming the first
    /// column that differs.
    pub fn check(self, table: &Table) -> Result<()> {
        let fixed = self.columns();
        let schema = table.schema();
        for (i, (name, ty)) in schema.iter().enumerate() {
            let expected = match fixed.get(i) {
                Some((n, t)) if n == name => Some(*t),
                Some((n, _)) => {
                    return Err(Error::format(format!(
                        "column {} is '{name}' where a {} table has '{n}'",
                        i + 1,
                        self.name()
                    )));
                }
                None => self.column_type(name),
            };
            match expected {
                Some(t) if t == *ty => {}
                Some(t) => {
                    return Err(Error::format(format!(
                        "column '{name}' is {} where a {} table has {}",
                        ty.name(),
                        self.name(),
                        t.name()
                    )));
                }
                None => {
                    return Err(Error::format(format!(
                        "column '{name}' is not a column of a {} table",
                        self.name()
                    )));
                }
            }
        }
        if schema.len() < fixed.len() {
            return Err(Error::format(format!(
                "a {} table has {} columns, this one {} (missing '{}')",
                self.name(),
                fixed.len(),
                schema.len(),
                fixed[schema.len()].0
            )));
        }
        Ok(())
    }
}

/// `k` of a threshold column `b<k>` or `se_b<k>`.
pub(crate) fn threshold_number(name: &str) -> Option<usize> {
    let digits = name
        .strip_prefix("se_b")
        .or_else(|| name.strip_prefix('b'))?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TableKind {
    type Err = Error;

    /// Parses `abilities`, `scores`, `items` or `steps`.
    fn from_str(s: &str) -> Result<Self> {
        TableKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                Error::config(format!(
                    "unknown table '{s}' (expected abilities, scores, items or steps)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_schemas_are_valid_and_checked() {
        for k in TableKind::ALL {
            let t = k.empty_table();
            k.check(&t).unwrap();
            assert_eq!(k.name().parse::<TableKind>().unwrap(), k);
        }
        let wrong = Table::new(&[("model", Str)]).unwrap();
        let e = TableKind::Steps.check(&wrong).unwrap_err();
        assert!(e.to_string().contains("missing 'source'"), "{e}");
        assert!("item".parse::<TableKind>().is_err());
    }

    #[test]
    fn renamed_columns_map_to_the_current_schema() {
        for (kind, old, new) in RENAMED {
            assert_eq!(kind.current_name(old), *new);
            assert!(kind.column_type(new).is_some(), "{new} is a {kind} column");
            assert!(kind.column_type(old).is_none(), "{old} is gone from {kind}");
        }
        assert_eq!(TableKind::Steps.current_name("predicted"), "predicted");
        assert_eq!(TableKind::Abilities.current_name("theta"), "theta");
    }

    #[test]
    fn threshold_columns_are_numbered_from_one() {
        assert_eq!(threshold_number("b3"), Some(3));
        assert_eq!(threshold_number("se_b12"), Some(12));
        for bad in ["b", "b0", "se_b", "bank", "b01", "se_a"] {
            assert_eq!(threshold_number(bad), None, "{bad}");
        }
        assert_eq!(TableKind::Items.column_type("se_b2"), Some(Float));
        assert_eq!(TableKind::Steps.column_type("b2"), None);
    }
}
