//! Tables as CSV: a header of column names, then one line per row. Null is
//! the empty field; floats are written in Rust's shortest round-trip form
//! (`{:?}`: `0.5`, `1.0`, `1e-7`), so reading gives back the same bits.

use std::io::{Read, Write};
use std::path::Path;

use super::schema::TableKind;
use super::table::{ColumnType, Table, Value};
use crate::error::{Error, Result};

/// The text of one cell (empty for null).
pub(crate) fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Bool(b) => b.to_string(),
    }
}

/// Writes `table` as CSV.
///
/// # Errors
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when writing fails.
pub fn write_csv(table: &Table, w: &mut dyn Write) -> Result<()> {
    let err = |e: csv::Error| Error::format(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(w);
    out.write_record(table.columns().iter().map(|c| c.name()))
        .map_err(err)?;
    for row in 0..table.n_rows() {
        out.write_record(table.columns().iter().map(|c| cell_text(&c.values()[row])))
            .map_err(err)?;
    }
    out.flush().map_err(|e| Error::io("<output>", e))
}

/// Reads a CSV table of kind `kind` (column types come from its schema);
/// `source` names the file in errors.
///
/// # Errors
/// [`ErrorKind::Format`](crate::ErrorKind::Format) naming the line for
/// malformed CSV, a column the kind does not have, or columns out of order;
/// [`ErrorKind::Value`](crate::ErrorKind::Value) naming the line and column
/// for a cell that is not of its column's type.
pub fn read_csv(r: impl Read, source: &Path, kind: TableKind) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new().from_reader(r);
    let at = |e: Error| e.in_file(source);
    let headers = reader
        .headers()
        .map_err(|e| at(Error::format(format!("cannot read the header: {e}")).at_line(1)))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for name in headers.iter() {
        let name = kind.current_name(name);
        let ty = kind.column_type(name).ok_or_else(|| {
            at(
                Error::format(format!("column '{name}' is not a column of a {kind} table"))
                    .at_line(1),
            )
        })?;
        columns.push((name.to_owned(), ty, Vec::new()));
    }
    for (i, rec) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let rec =
            rec.map_err(|e| at(Error::format(format!("malformed row: {e}")).at_line(line)))?;
        for ((name, ty, values), field) in columns.iter_mut().zip(rec.iter()) {
            let v = parse_cell(field, *ty)
                .map_err(|msg| at(Error::value(format!("column '{name}': {msg}")).at_line(line)))?;
            values.push(v);
        }
    }
    let table = Table::from_columns(columns).map_err(at)?;
    kind.check(&table).map_err(at)?;
    Ok(table)
}

/// One CSV cell as a value of type `ty`.
fn parse_cell(field: &str, ty: ColumnType) -> std::result::Result<Value, String> {
    if field.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        ColumnType::Str => Ok(Value::Str(field.to_owned())),
        ColumnType::Int => field
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("'{field}' is not an integer")),
        ColumnType::Float => field
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| format!("'{field}' is not a number")),
        ColumnType::Bool => match field {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("'{field}' is not true or false")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_exactly() {
        for x in [0.1 + 0.2, 1.0, -1e-300, 1.234_567_890_123_456_7e18, 5e-324] {
            let text = cell_text(&Value::Float(x));
            assert_eq!(
                parse_cell(&text, ColumnType::Float).unwrap(),
                Value::Float(x)
            );
        }
        assert_eq!(parse_cell("7", ColumnType::Int).unwrap(), Value::Int(7));
        assert!(parse_cell("7.5", ColumnType::Int).is_err());
        assert_eq!(parse_cell("", ColumnType::Float).unwrap(), Value::Null);
    }

    #[test]
    fn tables_written_before_the_renames_read_as_the_current_schema() {
        let old: Vec<&str> = TableKind::Abilities
            .columns()
            .iter()
            .map(|c| match c.0 {
                "predicted_score" => "predicted",
                "observed_score" => "observed",
                n => n,
            })
            .collect();
        let mut row = vec![""; old.len()];
        let at = |n: &str| old.iter().position(|c| *c == n).unwrap();
        row[at("model")] = "m1";
        row[at("theta")] = "0.5";
        row[at("predicted")] = "0.75";
        row[at("observed")] = "0.7";
        let text = format!("{}\n{}\n", old.join(","), row.join(","));
        let t = read_csv(text.as_bytes(), Path::new("old.csv"), TableKind::Abilities).unwrap();
        assert_eq!(t.get(0, "predicted_score"), Some(&Value::Float(0.75)));
        assert_eq!(t.get(0, "observed_score"), Some(&Value::Float(0.7)));
        // Written back, it has the current names.
        let mut out = Vec::new();
        write_csv(&t, &mut out).unwrap();
        let header = String::from_utf8(out).unwrap();
        assert!(header.contains(",predicted_score,") && !header.contains(",predicted,"));
        let json = r#"[{"model": "m1", "theta": 0.5, "predicted": 0.75, "observed": 0.7}]"#;
        let t = super::super::read_json(json, Path::new("old.json"), TableKind::Abilities).unwrap();
        assert_eq!(t.get(0, "predicted_score"), Some(&Value::Float(0.75)));
        assert_eq!(t.get(0, "observed_score"), Some(&Value::Float(0.7)));
    }

    #[test]
    fn bad_cells_name_line_and_column() {
        // Columns out of order, then too few columns.
        let text = "model,step\nm,1\n";
        let e = read_csv(text.as_bytes(), Path::new("s.csv"), TableKind::Steps).unwrap_err();
        assert!(e.to_string().contains("column 2 is 'step'"), "{e}");
        let text = "model,source\nm,journal\n";
        let e = read_csv(text.as_bytes(), Path::new("s.csv"), TableKind::Steps).unwrap_err();
        assert!(e.to_string().contains("missing 'step'"), "{e}");
        let header: Vec<&str> = TableKind::Steps.columns().iter().map(|c| c.0).collect();
        let mut row = vec![""; header.len()];
        row[2] = "two";
        let text = format!("{}\n{}\n", header.join(","), row.join(","));
        let e = read_csv(text.as_bytes(), Path::new("s.csv"), TableKind::Steps).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("column 'step'"), "{e}");
    }
}
