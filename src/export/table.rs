//! [`Table`]: named columns of typed, nullable values — what every export
//! builds and every writer and reader moves to and from files.

use crate::error::{Error, Result};

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text.
    Str,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float, always finite (non-finite values are stored as null).
    Float,
    /// true or false.
    Bool,
}

impl ColumnType {
    /// The type's name in the schema docs: `str`, `int`, `float`, `bool`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Str => "str",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Bool => "bool",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent or unknown.
    Null,
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
    /// Finite float.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl Value {
    /// The column type the value belongs in (`None` for null, which fits
    /// any column).
    pub fn column_type(&self) -> Option<ColumnType> {
        match self {
            Value::Null => None,
            Value::Str(_) => Some(ColumnType::Str),
            Value::Int(_) => Some(ColumnType::Int),
            Value::Float(_) => Some(ColumnType::Float),
            Value::Bool(_) => Some(ColumnType::Bool),
        }
    }

    /// The float, when the value is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The integer, when the value is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(x) => Some(*x),
            _ => None,
        }
    }

    /// The text, when the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A float; `NaN` and infinities become null, so every format stores them
/// alike.
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        if x.is_finite() {
            Value::Float(x)
        } else {
            Value::Null
        }
    }
}

impl From<Option<f64>> for Value {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Value::Null, Value::from)
    }
}

impl From<i64> for Value {
    fn from(x: i64) -> Self {
        Value::Int(x)
    }
}

/// A count; one beyond `i64::MAX` (never met in practice) is null.
impl From<usize> for Value {
    fn from(x: usize) -> Self {
        i64::try_from(x).map_or(Value::Null, Value::Int)
    }
}

/// A seed or token count; one beyond `i64::MAX` is null.
impl From<u64> for Value {
    fn from(x: u64) -> Self {
        i64::try_from(x).map_or(Value::Null, Value::Int)
    }
}

impl From<Option<u64>> for Value {
    fn from(x: Option<u64>) -> Self {
        x.map_or(Value::Null, Value::from)
    }
}

impl From<bool> for Value {
    fn from(x: bool) -> Self {
        Value::Bool(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map_or(Value::Null, Value::Str)
    }
}

impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Value::Null, Value::from)
    }
}

/// Null for what every format would store as null: non-finite floats and
/// empty text (an empty CSV field is null).
fn normalise(v: Value) -> Value {
    match v {
        Value::Float(x) => Value::from(x),
        Value::Str(s) if s.is_empty() => Value::Null,
        other => other,
    }
}

/// One named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    name: String,
    ty: ColumnType,
    values: Vec<Value>,
}

impl Column {
    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type of its values.
    pub fn column_type(&self) -> ColumnType {
        self.ty
    }

    /// Its values, one per row (null or of the column's type).
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// A table: columns with unique names, all of the same length.
///
/// ```
/// use fangsheng::export::{ColumnType, Table, Value};
///
/// let mut t = Table::new(&[("model", ColumnType::Str), ("theta", ColumnType::Float)]).unwrap();
/// t.push_row(vec!["m1".into(), 0.5.into()]).unwrap();
/// t.push_row(vec!["m2".into(), f64::INFINITY.into()]).unwrap();
/// assert_eq!(t.n_rows(), 2);
/// assert_eq!(t.column("theta").unwrap().values()[1], Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<Column>,
    n_rows: usize,
}

impl Table {
    /// An empty table with the given columns.
    ///
    /// # Errors
    /// [`ErrorKind::Format`](crate::ErrorKind::Format) when a name is empty
    /// or appears twice.
    pub fn new(schema: &[(&str, ColumnType)]) -> Result<Self> {
        let mut columns: Vec<Column> = Vec::with_capacity(schema.len());
        for (name, ty) in schema {
            if name.is_empty() {
                return Err(Error::format("a column has an empty name"));
            }
            if columns.iter().any(|c| c.name == *name) {
                return Err(Error::format(format!("column '{name}' appears twice")));
            }
            columns.push(Column {
                name: (*name).to_owned(),
                ty: *ty,
                values: Vec::new(),
            });
        }
        Ok(Table { columns, n_rows: 0 })
    }

    /// Builds a table from whole columns (as the readers do).
    ///
    /// # Errors
    /// [`ErrorKind::Format`](crate::ErrorKind::Format) for a duplicate or
    /// empty name, columns of different lengths, or a value of another type
    /// than its column's.
    pub fn from_columns(columns: Vec<(String, ColumnType, Vec<Value>)>) -> Result<Self> {
        let schema: Vec<(&str, ColumnType)> =
            columns.iter().map(|(n, t, _)| (n.as_str(), *t)).collect();
        let mut table = Table::new(&schema)?;
        let n_rows = columns.first().map_or(0, |c| c.2.len());
        for (i, (name, ty, values)) in columns.into_iter().enumerate() {
            if values.len() != n_rows {
                return Err(Error::format(format!(
                    "column '{name}' has {} values, the first column {n_rows}",
                    values.len()
                )));
            }
            if let Some(bad) = values
                .iter()
                .find(|v| v.column_type().is_some_and(|t| t != ty))
            {
                return Err(Error::format(format!(
                    "column '{name}' of type {} holds {bad:?}",
                    ty.name()
                )));
            }
            table.columns[i].values = values.into_iter().map(normalise).collect();
        }
        table.n_rows = n_rows;
        Ok(table)
    }

    /// Appends one row, values in column order. A non-finite float and an
    /// empty text are stored as null.
    ///
    /// # Errors
    /// [`ErrorKind::Format`](crate::ErrorKind::Format) when the row has
    /// another number of values than the table has columns, or a value is
    /// not of its column's type.
    pub fn push_row(&mut self, row: Vec<Value>) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::format(format!(
                "a row of {} values for {} columns",
                row.len(),
                self.columns.len()
            )));
        }
        for (c, v) in self.columns.iter().zip(&row) {
            if v.column_type().is_some_and(|t| t != c.ty) {
                return Err(Error::format(format!(
                    "column '{}' of type {} given {v:?}",
                    c.name,
                    c.ty.name()
                )));
            }
        }
        for (c, v) in self.columns.iter_mut().zip(row) {
            c.values.push(normalise(v));
        }
        self.n_rows += 1;
        Ok(())
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Column names and types, in order.
    pub fn schema(&self) -> Vec<(&str, ColumnType)> {
        self.columns.iter().map(|c| (c.name(), c.ty)).collect()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// The cell at row `row` of column `name`.
    pub fn get(&self, row: usize, name: &str) -> Option<&Value> {
        self.column(name).and_then(|c| c.values.get(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_against_the_columns() {
        let mut t = Table::new(&[("a", ColumnType::Int), ("b", ColumnType::Str)]).unwrap();
        assert!(t.push_row(vec![1i64.into()]).is_err());
        let e = t.push_row(vec!["x".into(), "y".into()]).unwrap_err();
        assert!(e.to_string().contains("column 'a'"), "{e}");
        t.push_row(vec![Value::Null, "y".into()]).unwrap();
        assert_eq!(t.n_rows(), 1);
        assert_eq!(t.get(0, "b").unwrap().as_str(), Some("y"));
        assert!(Table::new(&[("a", ColumnType::Int), ("a", ColumnType::Str)]).is_err());
    }

    #[test]
    fn columns_of_unequal_length_are_refused() {
        let e = Table::from_columns(vec![
            ("a".into(), ColumnType::Int, vec![Value::Int(1)]),
            ("b".into(), ColumnType::Int, vec![]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("'b'"), "{e}");
        let e =
            Table::from_columns(vec![("a".into(), ColumnType::Int, vec![0.5.into()])]).unwrap_err();
        assert!(e.to_string().contains("type int"), "{e}");
    }
}
