//! Tables written and read back equal in every format, with awkward values
//! (quotes, commas, newlines, non-ASCII text, extreme and shortest-form
//! floats, nulls), graded items' threshold columns, and schema checks on
//! read.

use std::path::Path;

use fangsheng::export::{
    ColumnType, Format, Table, TableKind, Value, export, read_source, read_table, write_table,
};

/// Every format this build writes.
fn formats() -> Vec<Format> {
    let mut f = vec![Format::Csv, Format::Json];
    if Format::Parquet.is_available() {
        f.push(Format::Parquet);
    }
    f
}

fn back(table: &Table, kind: TableKind, dir: &Path) {
    for format in formats() {
        let path = dir.join(format!("t.{format}"));
        write_table(table, &path, format).unwrap();
        let read = read_table(&path, kind, format).unwrap();
        assert_eq!(&read, table, "{kind} as {format}");
    }
}

/// A steps table whose every column holds an awkward value or a null.
fn awkward_steps() -> Table {
    let mut t = TableKind::Steps.empty_table();
    let texts = [
        "plain",
        "comma, \"quoted\"",
        "line\nbreak\r\n",
        "é ü 数学 \u{1F600}",
        "tab\tand \\ backslash",
    ];
    let floats = [
        0.1 + 0.2,
        -0.0,
        1e-300,
        1.797_693_134_862_315_7e308,
        5e-324,
        123_456_789.123_456_79,
        -2.5e16,
    ];
    for i in 0..14 {
        let row: Vec<Value> = TableKind::Steps
            .columns()
            .iter()
            .enumerate()
            .map(|(c, (_, ty))| {
                if (i + c) % 5 == 4 {
                    return Value::Null;
                }
                match ty {
                    ColumnType::Str => texts[(i + c) % texts.len()].into(),
                    ColumnType::Int => Value::Int([0, -1, i64::MAX, i64::MIN, 42][(i + c) % 5]),
                    ColumnType::Float => floats[(i + c) % floats.len()].into(),
                    ColumnType::Bool => Value::Bool(i % 2 == 0),
                }
            })
            .collect();
        t.push_row(row).unwrap();
    }
    t
}

#[test]
fn awkward_values_round_trip_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    back(&awkward_steps(), TableKind::Steps, dir.path());
}

#[test]
fn empty_tables_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for kind in TableKind::ALL {
        back(&kind.empty_table(), kind, dir.path());
    }
}

#[test]
fn graded_items_get_threshold_columns_that_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let params = dir.path().join("p.csv");
    std::fs::write(
        &params,
        "id,model,a,b,g,u,b1,b2,b3,se_a,se_b,se_b1,se_b2,se_b3\n\
         q1,2pl,1.2,-0.3,0,1,,,,0.1,0.05,,,\n\
         q2,grm,1.1,,,,-1,0.2,1.4,0.1,,0.2,0.1,0.2\n\
         q3,grm,0.9,,,,-0.5,0.5,,,,,,\n\
         q4,3pl,20,7,0.6,1,,,,,,,,\n",
    )
    .unwrap();
    let t = export(TableKind::Items, &[read_source(&params).unwrap()], None).unwrap();
    TableKind::Items.check(&t).unwrap();
    let names: Vec<&str> = t.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        &names[names.len() - 6..],
        ["b1", "b2", "b3", "se_b1", "se_b2", "se_b3"]
    );
    assert_eq!(t.get(1, "b3"), Some(&Value::Float(1.4)));
    assert_eq!(t.get(1, "se_b2"), Some(&Value::Float(0.1)));
    assert_eq!(t.get(2, "b3"), Some(&Value::Null));
    assert_eq!(t.get(1, "b"), Some(&Value::Null));
    assert_eq!(t.get(0, "se_b"), Some(&Value::Float(0.05)));
    assert_eq!(t.get(1, "n_categories"), Some(&Value::Int(4)));
    assert_eq!(
        t.get(3, "flags").and_then(Value::as_str),
        Some("extreme_difficulty;high_slope;high_guessing")
    );
    back(&t, TableKind::Items, dir.path());
}

#[test]
fn reading_checks_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let t = awkward_steps();
    let path = dir.path().join("steps.csv");
    write_table(&t, &path, Format::Csv).unwrap();
    // A steps table is not an abilities table.
    let e = read_table(&path, TableKind::Abilities, Format::Csv).unwrap_err();
    assert!(e.to_string().contains("steps.csv"), "{e}");
    assert!(
        e.to_string().contains("not a column of a abilities table"),
        "{e}"
    );
    // A column out of order is named.
    let text = std::fs::read_to_string(&path).unwrap();
    let swapped = text.replacen("model,source", "source,model", 1);
    std::fs::write(&path, swapped).unwrap();
    let e = read_table(&path, TableKind::Steps, Format::Csv).unwrap_err();
    assert!(e.to_string().contains("column 1 is 'source'"), "{e}");
    // A JSON value of the wrong type names its line.
    let json = dir.path().join("steps.json");
    std::fs::write(&json, "[\n{\"model\": \"m\"},\n{\"step\": \"two\"}\n]\n").unwrap();
    let e = read_table(&json, TableKind::Steps, Format::Json).unwrap_err();
    assert_eq!(e.line(), Some(3), "{e}");
}

#[test]
fn parquet_without_the_feature_says_how_to_get_it() {
    if Format::Parquet.is_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    let e = write_table(&awkward_steps(), &path, Format::Parquet).unwrap_err();
    assert!(e.to_string().contains("--features polars"), "{e}");
    assert!(!path.exists());
    let e = fangsheng::data::read_responses(&path, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("--features polars"), "{e}");
}

#[cfg(feature = "polars")]
#[test]
fn parquet_response_logs_read_like_their_csv() {
    use fangsheng::data::{ReadOptions, read_responses};
    let dir = tempfile::tempdir().unwrap();
    // The demo runs (model,item,correct) as a Parquet log with integer scores.
    let csv_path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/calibration/demo/runs.csv"
    ));
    let from_csv = read_responses(csv_path, &ReadOptions::default()).unwrap();
    let text = std::fs::read_to_string(csv_path).unwrap();
    let (mut models, mut items, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        models.push(f[0].to_owned());
        items.push(f[1].to_owned());
        scores.push(f[2].parse::<i64>().unwrap());
    }
    let mut t = Table::new(&[
        ("model", ColumnType::Str),
        ("item", ColumnType::Str),
        ("correct", ColumnType::Int),
    ])
    .unwrap();
    for ((m, i), s) in models.into_iter().zip(items).zip(scores) {
        t.push_row(vec![m.into(), i.into(), Value::Int(s)]).unwrap();
    }
    let mut df = fangsheng::export::to_data_frame(&t).unwrap();
    let path = dir.path().join("runs.parquet");
    let f = std::fs::File::create(&path).unwrap();
    polars::prelude::ParquetWriter::new(f)
        .finish(&mut df)
        .unwrap();
    let from_parquet = read_responses(&path, &ReadOptions::default()).unwrap();
    assert_eq!(from_parquet, from_csv);
}
