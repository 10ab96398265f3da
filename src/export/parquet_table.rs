//! Tables as Parquet, through polars (feature `polars`): `str` columns are
//! Parquet strings, `int` Int64, `float` Float64, `bool` Boolean, all
//! nullable.

use std::path::Path;

use polars::prelude::{
    Column as PlColumn, DataFrame, DataType, ParquetReader, ParquetWriter, SerReader,
};

use super::schema::TableKind;
use super::table::{ColumnType, Table, Value};
use crate::error::{Error, ErrorKind, Result};

fn polars_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Format, format!("{what} Parquet: {e}")).in_file(path)
}

/// The table as a polars data frame.
///
/// # Errors
/// [`ErrorKind::Format`] if polars refuses the columns.
pub fn to_data_frame(table: &Table) -> Result<DataFrame> {
    let columns: Vec<PlColumn> = table
        .columns()
        .iter()
        .map(|c| {
            let name = c.name().into();
            let v = c.values();
            match c.column_type() {
                ColumnType::Str => PlColumn::new(
                    name,
                    v.iter()
                        .map(|x| x.as_str().map(str::to_owned))
                        .collect::<Vec<_>>(),
                ),
                ColumnType::Int => {
                    PlColumn::new(name, v.iter().map(Value::as_i64).collect::<Vec<_>>())
                }
                ColumnType::Float => {
                    PlColumn::new(name, v.iter().map(Value::as_f64).collect::<Vec<_>>())
                }
                ColumnType::Bool => PlColumn::new(
                    name,
                    v.iter()
                        .map(|x| match x {
                            Value::Bool(b) => Some(*b),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                ),
            }
        })
        .collect();
    DataFrame::new(table.n_rows(), columns)
        .map_err(|e| Error::format(format!("building a data frame: {e}")))
}

/// Writes `table` as a Parquet file at `path` (atomically).
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be written.
pub fn write_parquet(table: &Table, path: &Path) -> Result<()> {
    let mut df = to_data_frame(table)?;
    crate::io::write_atomic(path, |w| {
        ParquetWriter::new(w)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| polars_error(path, "writing", e))
    })
}

/// Reads a Parquet file into a data frame.
///
/// # Errors
/// [`ErrorKind::Io`] when the file cannot be opened, [`ErrorKind::Format`]
/// when it is not Parquet.
pub fn read_data_frame(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| polars_error(path, "reading", e))
}

/// Reads a Parquet table of kind `kind`.
///
/// # Errors
/// As [`read_data_frame`]; [`ErrorKind::Format`] for a column the kind does
/// not have or of another type.
pub fn read_parquet(path: &Path, kind: TableKind) -> Result<Table> {
    let df = read_data_frame(path)?;
    let mut columns = Vec::with_capacity(df.width());
    for c in df.columns() {
        let raw = c.name().to_string();
        let name = kind.current_name(&raw).to_string();
        let ty = kind.column_type(&name).ok_or_else(|| {
            Error::format(format!("column '{name}' is not a column of a {kind} table"))
                .in_file(path)
        })?;
        let wrong = || {
            Error::format(format!(
                "column '{name}' has type {} where a {kind} table has {}",
                c.dtype(),
                ty.name()
            ))
            .in_file(path)
        };
        let values: Vec<Value> = match (ty, c.dtype()) {
            (_, DataType::Null) => vec![Value::Null; c.len()],
            (ColumnType::Str, DataType::String) => c
                .str()
                .map_err(|_| wrong())?
                .iter()
                .map(Value::from)
                .collect(),
            (ColumnType::Int, DataType::Int64) => c
                .i64()
                .map_err(|_| wrong())?
                .iter()
                .map(|x| x.map_or(Value::Null, Value::Int))
                .collect(),
            (ColumnType::Float, DataType::Float64) => c
                .f64()
                .map_err(|_| wrong())?
                .iter()
                .map(Value::from)
                .collect(),
            (ColumnType::Bool, DataType::Boolean) => c
                .bool()
                .map_err(|_| wrong())?
                .iter()
                .map(|x| x.map_or(Value::Null, Value::Bool))
                .collect(),
            _ => return Err(wrong()),
        };
        columns.push((name, ty, values));
    }
    let table = Table::from_columns(columns).map_err(|e| e.in_file(path))?;
    kind.check(&table).map_err(|e| e.in_file(path))?;
    Ok(table)
}
