//! Tables as JSON: an array of row objects, keys in column order, `null`
//! for null (`pl.read_json` and `pandas.read_json` read it as is).
//!
//! ```json
//! [
//! {"model": "m1", "theta": 0.5, "n_items": 20},
//! {"model": "m2", "theta": -1.0, "n_items": null}
//! ]
//! ```
//!
//! Floats are written in Rust's shortest round-trip form and read back by
//! the small parser below, which (unlike a general JSON library's fast path)
//! parses every number with `str::parse`, so the same bits come back.

use std::io::Write;
use std::path::Path;

use super::schema::TableKind;
use super::table::{ColumnType, Table, Value};
use crate::error::{Error, Result};

/// Writes `table` as a JSON array of row objects.
///
/// # Errors
/// [`ErrorKind::Io`](crate::ErrorKind::Io) when writing fails.
pub fn write_json(table: &Table, w: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| Error::io("<output>", e);
    let keys: Vec<String> = table.columns().iter().map(|c| quote(c.name())).collect();
    let mut text = String::from("[");
    for row in 0..table.n_rows() {
        text.push_str(if row == 0 { "\n{" } else { ",\n{" });
        for (i, (c, key)) in table.columns().iter().zip(&keys).enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(key);
            text.push_str(": ");
            match &c.values()[row] {
                Value::Null => text.push_str("null"),
                Value::Str(s) => text.push_str(&quote(s)),
                Value::Int(x) => text.push_str(&x.to_string()),
                Value::Float(x) => text.push_str(&format!("{x:?}")),
                Value::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
            }
        }
        text.push('}');
        if text.len() > 1 << 16 {
            w.write_all(text.as_bytes()).map_err(io)?;
            text.clear();
        }
    }
    text.push_str(if table.n_rows() == 0 { "]\n" } else { "\n]\n" });
    w.write_all(text.as_bytes()).map_err(io)
}

fn quote(s: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

/// Reads a JSON table of kind `kind`: an array of row objects whose keys
/// are columns of the kind (absent keys are null). The columns are the
/// kind's fixed columns, then (items) the threshold columns met, in order.
///
/// # Errors
/// [`ErrorKind::Format`](crate::ErrorKind::Format) naming the line for
/// malformed JSON or a key that is not a column;
/// [`ErrorKind::Value`](crate::ErrorKind::Value) for a value of the wrong
/// type.
pub fn read_json(text: &str, source: &Path, kind: TableKind) -> Result<Table> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let at = |e: Error| e.in_file(source);
    let mut rows = p
        .document()
        .map_err(|(msg, pos)| at(Error::format(msg).at_line(line_of(text, pos))))?;
    for (_, row) in &mut rows {
        for (key, _) in row.iter_mut() {
            let current = kind.current_name(key);
            if current != key.as_str() {
                *key = current.to_owned();
            }
        }
    }
    let mut names: Vec<String> = kind.columns().iter().map(|c| c.0.to_owned()).collect();
    let mut extra: Vec<(usize, String)> = Vec::new();
    for (_, row) in &rows {
        for (key, _) in row {
            if !names.contains(key) && !extra.iter().any(|(_, n)| n == key) {
                match super::schema::threshold_number(key) {
                    Some(k) if kind == TableKind::Items => {
                        extra.push((k * 2 + usize::from(key.starts_with("se_")), key.clone()))
                    }
                    _ => {
                        return Err(at(Error::format(format!(
                            "key '{key}' is not a column of a {kind} table"
                        ))));
                    }
                }
            }
        }
    }
    // Thresholds b1..bK, then their standard errors se_b1..se_bK, as the
    // export writes them.
    extra.sort_by_key(|(k, _)| (k % 2, k / 2));
    names.extend(extra.into_iter().map(|(_, n)| n));
    let mut columns: Vec<(String, ColumnType, Vec<Value>)> = names
        .into_iter()
        .map(|n| {
            let ty = kind.column_type(&n).unwrap_or(ColumnType::Float);
            (n, ty, Vec::with_capacity(rows.len()))
        })
        .collect();
    for (pos, row) in rows {
        for (name, ty, values) in &mut columns {
            let v = row
                .iter()
                .find(|(k, _)| k == name)
                .map_or(Ok(Value::Null), |(_, v)| typed(v, *ty))
                .map_err(|msg| {
                    at(Error::value(format!("key '{name}': {msg}")).at_line(line_of(text, pos)))
                })?;
            values.push(v);
        }
    }
    Table::from_columns(columns).map_err(at)
}

fn line_of(text: &str, pos: usize) -> u64 {
    1 + text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// A scalar as parsed: numbers keep their text.
enum Scalar {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
}

fn typed(v: &Scalar, ty: ColumnType) -> std::result::Result<Value, String> {
    match (v, ty) {
        (Scalar::Null, _) => Ok(Value::Null),
        (Scalar::Str(s), ColumnType::Str) => Ok(Value::Str(s.clone())),
        (Scalar::Bool(b), ColumnType::Bool) => Ok(Value::Bool(*b)),
        (Scalar::Number(n), ColumnType::Int) => n
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("{n} is not an integer")),
        (Scalar::Number(n), ColumnType::Float) => n
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| format!("{n} is not a number")),
        (_, ty) => Err(format!("expected a value of type {}", ty.name())),
    }
}

type Row = Vec<(String, Scalar)>;
type ParseResult<T> = std::result::Result<T, (String, usize)>;

/// A JSON parser for arrays of flat objects.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn fail<T>(&self, msg: impl Into<String>) -> ParseResult<T> {
        Err((msg.into(), self.i))
    }

    fn skip_ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> ParseResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            self.fail(format!("expected '{}'", b as char))
        }
    }

    fn document(&mut self) -> ParseResult<Vec<(usize, Row)>> {
        if self.s.starts_with("\u{feff}".as_bytes()) {
            self.i = 3;
        }
        self.expect(b'[')
            .or_else(|_| self.fail("not a JSON table: expected an array of row objects"))?;
        let mut rows = Vec::new();
        if !self.eat(b']') {
            loop {
                self.skip_ws();
                let pos = self.i;
                rows.push((pos, self.object()?));
                if self.eat(b']') {
                    break;
                }
                self.expect(b',')?;
            }
        }
        self.skip_ws();
        if self.i < self.s.len() {
            return self.fail("text after the end of the table");
        }
        Ok(rows)
    }

    fn object(&mut self) -> ParseResult<Row> {
        self.expect(b'{')
            .or_else(|_| self.fail("expected a row object"))?;
        let mut row: Row = Vec::new();
        if self.eat(b'}') {
            return Ok(row);
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            if row.iter().any(|(k, _)| *k == key) {
                return self.fail(format!("key '{key}' appears twice in a row"));
            }
            self.expect(b':')?;
            let value = self.scalar()?;
            row.push((key, value));
            if self.eat(b'}') {
                return Ok(row);
            }
            self.expect(b',')?;
        }
    }

    fn scalar(&mut self) -> ParseResult<Scalar> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        for (word, v) in [
            ("null", Scalar::Null),
            ("true", Scalar::Bool(true)),
            ("false", Scalar::Bool(false)),
        ] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(v);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Scalar::Str),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                // Only ASCII was consumed.
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                if text.parse::<f64>().is_err() {
                    return Err((format!("'{text}' is not a number"), start));
                }
                Ok(Scalar::Number(text))
            }
            Some(b'[' | b'{') => self.fail("nested arrays and objects are not table cells"),
            _ => self.fail("expected a value"),
        }
    }

    fn string(&mut self) -> ParseResult<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return self.fail("expected a string");
        }
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return self.fail("unterminated string");
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.fail("unterminated string");
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return self.fail("bad escape in a string"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).or_else(|_| self.fail("a string is not UTF-8"))
    }

    fn hex4(&mut self) -> ParseResult<u32> {
        let digits = self.s.get(self.i..self.i + 4).unwrap_or_default();
        let text = std::str::from_utf8(digits).unwrap_or("");
        let v = u32::from_str_radix(text, 16).or_else(|_| self.fail("bad \\u escape"))?;
        if text.len() != 4 {
            return self.fail("bad \\u escape");
        }
        self.i += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> ParseResult<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                return self.fail("lone surrogate in a \\u escape");
            }
            self.i += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.fail("lone surrogate in a \\u escape");
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).map_or_else(|| self.fail("bad \\u escape"), Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps_row(model: &str, theta: f64) -> Table {
        let mut t = TableKind::Steps.empty_table();
        let mut row = vec![Value::Null; t.n_columns()];
        row[0] = model.into();
        row[2] = Value::Int(3);
        row[7] = theta.into();
        t.push_row(row).unwrap();
        t
    }

    #[test]
    fn strings_and_floats_round_trip() {
        let t = steps_row("m \"q\" \\ é \u{1F600}\n", 0.1 + 0.2);
        let mut out = Vec::new();
        write_json(&t, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let back = read_json(&text, Path::new("t.json"), TableKind::Steps).unwrap();
        assert_eq!(back, t);
        let escaped = text.replace('\u{1F600}', "\\ud83d\\ude00");
        let back = read_json(&escaped, Path::new("t.json"), TableKind::Steps).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn errors_name_the_line() {
        let e = read_json(
            "[\n{\"model\": 1}\n]",
            Path::new("t.json"),
            TableKind::Steps,
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("key 'model'"), "{e}");
        let e = read_json("[\n{\"nope\": 1}]", Path::new("t.json"), TableKind::Steps).unwrap_err();
        assert!(e.to_string().contains("'nope'"), "{e}");
        let e = read_json("{}", Path::new("t.json"), TableKind::Steps).unwrap_err();
        assert!(e.to_string().contains("array of row objects"), "{e}");
        let e = read_json(
            "[{\"model\": \"a\"}] x",
            Path::new("t.json"),
            TableKind::Steps,
        )
        .unwrap_err();
        assert!(e.to_string().contains("after the end"), "{e}");
    }
}
