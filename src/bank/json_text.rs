//! A small JSON reader that keeps what parameter files need and
//! `serde_json::Value` drops: the line each value starts on (so errors can
//! say `params.json:14`), and each number's text (so it is converted with
//! Rust's correctly rounded `str::parse::<f64>`; serde_json without its
//! `float_roundtrip` feature misreads about one 17-digit float in ten by one
//! ulp, which would break exact save/load round trips).
//!
//! It accepts exactly RFC 8259 JSON and rejects duplicate object keys, which
//! in a parameter file are always a mistake.

use crate::error::{Error, Result};

/// Nesting deeper than this is refused rather than risking the stack on a
/// hostile file; parameter files nest four levels.
const MAX_DEPTH: usize = 128;

/// A JSON value with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: u64,
    pub value: Json,
}

/// A JSON value; numbers keep their text, objects their key order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The value's type, as a message would name it.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The number's value, correctly rounded (`None` if not a number).
    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            // The parser only accepts text that parses to a finite f64.
            Json::Number(t) => t.parse().ok(),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (for serde-derived types such as
    /// `Metadata`), keeping integers as integers and floats exact.
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(t) => {
                if let Ok(i) = t.parse::<i64>() {
                    Value::from(i)
                } else if let Ok(u) = t.parse::<u64>() {
                    Value::from(u)
                } else {
                    // Finite by construction, so from_f64 always succeeds.
                    t.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(Value::Null, Value::Number)
                }
            }
            Json::String(s) => Value::String(s.clone()),
            Json::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Json::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }
}

/// Parses a whole JSON text.
///
/// # Errors
/// [`ErrorKind::Format`](crate::ErrorKind::Format) at the line of the first
/// syntax error, a duplicate key, a number outside the `f64` range, or
/// nesting deeper than 128.
pub(crate) fn parse(text: &str) -> Result<Node> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        line: 1,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u64,
}

impl Parser<'_> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::format(format!("invalid JSON: {}", msg.into())).at_line(self.line)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected '{}' {}", c as char, self.found())))
        }
    }

    /// Describes the next character for a message.
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "but the text ended".to_owned(),
            Some(c) => format!("but found '{c}'"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let line = self.line;
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Json::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Json::Number(self.number()?),
            Some(b't') => self.word("true", Json::Bool(true))?,
            Some(b'f') => self.word("false", Json::Bool(false))?,
            Some(b'n') => self.word("null", Json::Null)?,
            _ => return Err(self.err(format!("expected a value {}", self.found()))),
        };
        Ok(Node { line, value })
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json> {
        if self.s[self.pos..].starts_with(w.as_bytes()) {
            self.pos += w.len();
            Ok(v)
        } else {
            Err(self.err(format!("expected a value {}", self.found())))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json> {
        self.pos += 1;
        let mut fields: Vec<(String, Node)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            if !fields.is_empty() && self.peek() == Some(b'}') {
                return Err(self.err("a comma before '}' (JSON has no trailing commas)"));
            }
            if self.peek() != Some(b'"') {
                return Err(self.err(format!("expected a quoted key {}", self.found())));
            }
            let key = self.string()?;
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(self.err(format!("key \"{key}\" appears twice in one object")));
            }
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            fields.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(fields));
                }
                _ => return Err(self.err(format!("expected ',' or '}}' {}", self.found()))),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            if !items.is_empty() && self.peek() == Some(b']') {
                return Err(self.err("a comma before ']' (JSON has no trailing commas)"));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.err(format!("expected ',' or ']' {}", self.found()))),
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control
            // character; it is valid UTF-8 because it lies between ASCII bytes.
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                None => return Err(self.err("a string is not closed")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek();
                    self.pos += 1;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode_escape()?),
                        _ => return Err(self.err("unknown escape in a string")),
                    }
                }
                Some(_) => {
                    return Err(self.err("control character inside a string (escape it)"));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("\\u must be followed by four hex digits"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.s[self.pos..].starts_with(b"\\u") {
                return Err(self.err("unpaired surrogate in a \\u escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err("unpaired surrogate in a \\u escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("unpaired surrogate in a \\u escape"))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return Err(self.err("malformed number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("malformed number"));
            }
        }
        let text = &self.text[start..self.pos];
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(text.to_owned()),
            _ => Err(self.err(format!("number {text} is outside the range of f64"))),
        }
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `v` pretty-printed: objects one key per line with keys sorted
/// (so the output does not depend on how the value was built), arrays of
/// scalars on one line, two-space indentation starting at `indent`.
pub(crate) fn write_value(out: &mut String, v: &serde_json::Value, indent: usize) {
    use serde_json::Value;
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(x)) => out.push_str(&super::files::format_number(x)),
            (None, None, None) => out.push_str("null"),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Array(a) if a.iter().all(|x| !x.is_array() && !x.is_object()) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, x, indent);
            }
            out.push(']');
        }
        Value::Array(a) => {
            out.push_str("[\n");
            for (i, x) in a.iter().enumerate() {
                pad(out, indent + 2);
                write_value(out, x, indent + 2);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push(']');
        }
        Value::Object(o) if o.is_empty() => out.push_str("{}"),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                pad(out, indent + 2);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, &o[k.as_str()], indent + 2);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(n: &'a Node, key: &str) -> &'a Node {
        match &n.value {
            Json::Object(o) => &o.iter().find(|(k, _)| k == key).unwrap().1,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn values_know_their_line() {
        let n =
            parse("{\n \"a\": [1,\n 2.5e-3],\n \"b\": \"x\\u00e9\\ud83d\\ude00\\n\"\n}").unwrap();
        assert_eq!(n.line, 1);
        let a = field(&n, "a");
        assert_eq!(a.line, 2);
        let Json::Array(xs) = &a.value else { panic!() };
        assert_eq!((xs[0].line, xs[1].line), (2, 3));
        assert_eq!(xs[1].as_f64(), Some(2.5e-3));
        assert_eq!(field(&n, "b").value, Json::String("xé😀\n".into()));
    }

    #[test]
    fn floats_are_read_exactly() {
        // serde_json's default parser reads this one as ...525.
        let n = parse("[1.2636613420866523]").unwrap();
        let Json::Array(xs) = &n.value else { panic!() };
        assert_eq!(xs[0].as_f64(), Some(1.2636613420866523));
    }

    #[test]
    fn malformed_text_is_an_error_with_its_line() {
        for (text, line) in [
            ("{\"a\": 1,\n}", 2),
            ("[1,\n]", 2),
            ("{\"a\": 01}", 1),
            ("[1, 2\n\n", 3),
            ("{\"a\": 1, \"a\": 2}", 1),
            ("[1e999]", 1),
            ("[\"\\ud800\"]", 1),
            ("{} x", 1),
            ("[tru]", 1),
            ("", 1),
            ("[\"a\nb\"]", 1),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Format, "{text:?}");
            assert_eq!(e.line(), Some(line), "{text:?}: {e}");
        }
        let deep = "[".repeat(1000);
        assert!(parse(&deep).unwrap_err().message().contains("deeper"));
    }

    #[test]
    fn written_values_parse_back_equal() {
        let v: serde_json::Value = serde_json::json!({
            "z": [1, 2.5, "s\"\\\u{1}"], "a": {"k": [], "m": {}, "n": [{"x": null}]},
            "big": u64::MAX, "neg": -3, "t": true
        });
        let mut s = String::new();
        write_value(&mut s, &v, 0);
        assert!(s.starts_with("{\n  \"a\": {\n"), "{s}");
        assert_eq!(parse(&s).unwrap().to_value(), v);
    }
}
