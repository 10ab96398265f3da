//! The expression language of item templates: a small, safe arithmetic
//! language over slot values. Nothing is ever run as code: text is parsed
//! into an [`Expr`] tree here and evaluated by walking it.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! expr    := compare
//! compare := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/" | "//" | "%") unary)*
//! unary   := "-" unary | power
//! power   := atom ("^" unary)?          (right-associative: 2^3^2 = 2^9)
//! atom    := number | 'text' | "text" | name | name "[" expr "]"
//!          | function "(" expr ("," expr)* ")" | "(" expr ")"
//! ```
//!
//! `a // b` is `floor(a / b)` and `a % b` is `a - b floor(a / b)` (so
//! `-1 % 7 = 6`, as a weekday needs). Comparisons give 1 or 0. Functions:
//! `round(x)`, `round(x, n)` (n decimals), `floor`, `ceil`, `abs`, `sqrt`,
//! `min(..)`, `max(..)` (one or more arguments), `if(c, a, b)` (`a` when `c`
//! is not 0). `name[key]` looks `key` up in a table: a list by 0-based
//! position, an object by key text. `+` joins texts (a number joined to a
//! text is written as in questions, see [`format_number`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A value: a number or a text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (integers are exact up to 2^53).
    Num(f64),
    /// A text.
    Text(String),
}

impl Value {
    /// The number, or an error naming what needed one.
    fn num(&self, what: &str) -> Result<f64> {
        match self {
            Value::Num(x) => Ok(*x),
            Value::Text(t) => Err(Error::value(format!(
                "{what} needs a number, not the text '{t}'"
            ))),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(x) => f.write_str(&format_number(*x)),
            Value::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            // Integers as JSON integers, so journals read `12`, not `12.0`.
            Value::Num(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => s.serialize_i64(*x as i64),
            Value::Num(x) => s.serialize_f64(*x),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_f64()
                .map(Value::Num)
                .ok_or_else(|| serde::de::Error::custom("a number out of range")),
            serde_json::Value::String(s) => Ok(Value::Text(s)),
            other => Err(serde::de::Error::custom(format!(
                "a slot value is a number or a text, not {other}"
            ))),
        }
    }
}

/// A number as questions and answers show it: integers without decimals,
/// other numbers with at most 6 decimals and no trailing zeros (`0.1 + 0.2`
/// shows as `0.3`).
pub fn format_number(x: f64) -> String {
    let s = if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`: sum, or joined texts.
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `//`: floor of the quotient.
    IntDiv,
    /// `%`: remainder with the divisor's sign.
    Mod,
    /// `^`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `round(x)` or `round(x, n)`.
    Round,
    /// `floor(x)`
    Floor,
    /// `ceil(x)`
    Ceil,
    /// `abs(x)`
    Abs,
    /// `sqrt(x)`
    Sqrt,
    /// `min(x, ...)`
    Min,
    /// `max(x, ...)`
    Max,
    /// `if(c, a, b)`
    If,
}

impl Func {
    const ALL: [(&'static str, Func); 8] = [
        ("round", Func::Round),
        ("floor", Func::Floor),
        ("ceil", Func::Ceil),
        ("abs", Func::Abs),
        ("sqrt", Func::Sqrt),
        ("min", Func::Min),
        ("max", Func::Max),
        ("if", Func::If),
    ];

    fn by_name(name: &str) -> Option<Func> {
        Func::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn name(self) -> &'static str {
        Func::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Allowed argument counts, inclusive.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Round => (1, 2),
            Func::Min | Func::Max => (1, usize::MAX),
            Func::If => (3, 3),
            _ => (1, 1),
        }
    }

    /// True when `name` is a function's name (so no slot may take it).
    pub fn is_reserved(name: &str) -> bool {
        Func::by_name(name).is_some()
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal.
    Num(f64),
    /// A text literal.
    Text(String),
    /// A slot or a `let` value.
    Name(String),
    /// `table[key]`.
    Index(String, Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Text(String),
    Ident(String),
    Op(&'static str),
}

const OPS: [&str; 17] = [
    "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "^", "<", ">", "(", ")", ",", "[",
];

fn tokenize(src: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let x = text
                .parse()
                .map_err(|_| Error::value(format!("'{text}' is not a number")))?;
            tokens.push(Token::Num(x));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| Error::value(format!("a text opened with {c} is not closed")))?;
            tokens.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c == ']' {
            tokens.push(Token::Op("]"));
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| Error::value(format!("unexpected character '{c}'")))?;
            tokens.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, op: &str) -> Result<()> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(Error::value(format!("expected '{op}' {}", self.where_())))
        }
    }

    fn where_(&self) -> String {
        match self.tokens.get(self.pos) {
            None => "at the end".to_owned(),
            Some(Token::Num(x)) => format!("before {}", format_number(*x)),
            Some(Token::Text(t)) => format!("before '{t}'"),
            Some(Token::Ident(n)) => format!("before '{n}'"),
            Some(Token::Op(op)) => format!("before '{op}'"),
        }
    }

    fn compare(&mut self) -> Result<Expr> {
        let left = self.sum()?;
        let op = match self.peek_op() {
            Some("==") => BinOp::Eq,
            Some("!=") => BinOp::Ne,
            Some("<") => BinOp::Lt,
            Some("<=") => BinOp::Le,
            Some(">") => BinOp::Gt,
            Some(">=") => BinOp::Ge,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek_op() {
                Some("+") => BinOp::Add,
                Some("-") => BinOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek_op() {
                Some("*") => BinOp::Mul,
                Some("/") => BinOp::Div,
                Some("//") => BinOp::IntDiv,
                Some("%") => BinOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let base = self.atom()?;
        if self.eat("^") {
            return Ok(Expr::Binary(
                BinOp::Pow,
                Box::new(base),
                Box::new(self.unary()?),
            ));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Expr> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Num(x)) => Ok(Expr::Num(x)),
            Some(Token::Text(t)) => Ok(Expr::Text(t)),
            Some(Token::Op("(")) => {
                let e = self.compare()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Token::Ident(name)) => {
                if self.eat("(") {
                    let f = Func::by_name(&name).ok_or_else(|| {
                        let known: Vec<&str> = Func::ALL.iter().map(|(n, _)| *n).collect();
                        Error::value(format!(
                            "unknown function '{name}' (known: {})",
                            known.join(", ")
                        ))
                    })?;
                    let mut args = vec![self.compare()?];
                    while self.eat(",") {
                        args.push(self.compare()?);
                    }
                    self.expect(")")?;
                    let (lo, hi) = f.arity();
                    if args.len() < lo || args.len() > hi {
                        return Err(Error::value(format!(
                            "{name}() takes {}, not {} argument(s)",
                            if lo == hi {
                                lo.to_string()
                            } else if hi == usize::MAX {
                                format!("at least {lo}")
                            } else {
                                format!("{lo} to {hi}")
                            },
                            args.len()
                        )));
                    }
                    Ok(Expr::Call(f, args))
                } else if self.eat("[") {
                    let key = self.compare()?;
                    self.expect("]")?;
                    Ok(Expr::Index(name, Box::new(key)))
                } else {
                    Ok(Expr::Name(name))
                }
            }
            _ => {
                self.pos -= 1;
                Err(Error::value(format!("expected a value {}", self.where_())))
            }
        }
    }
}

impl Expr {
    /// Parses an expression.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] saying what was expected where, quoting
    /// the expression.
    pub fn parse(src: &str) -> Result<Expr> {
        let quoted = |e: Error| Error::value(format!("in '{src}': {}", e.message()));
        let tokens = tokenize(src).map_err(quoted)?;
        let mut p = Parser { tokens, pos: 0 };
        let e = p.compare().map_err(quoted)?;
        if p.pos < p.tokens.len() {
            return Err(quoted(Error::value(format!(
                "unexpected {}",
                p.where_().trim_start_matches("before ")
            ))));
        }
        Ok(e)
    }

    /// Calls `f` on every name this expression reads: `(name, is_table)`.
    pub fn visit_names(&self, f: &mut dyn FnMut(&str, bool)) {
        match self {
            Expr::Num(_) | Expr::Text(_) => {}
            Expr::Name(n) => f(n, false),
            Expr::Index(t, key) => {
                f(t, true);
                key.visit_names(f);
            }
            Expr::Neg(e) => e.visit_names(f),
            Expr::Binary(_, a, b) => {
                a.visit_names(f);
                b.visit_names(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit_names(f)),
        }
    }

    /// Evaluates the expression with the values `env` and the lookup tables
    /// `tables`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] for an unknown name or table key, a text
    /// where a number is needed, a division by zero, or a result that is
    /// not a finite number.
    pub fn eval(
        &self,
        env: &BTreeMap<String, Value>,
        tables: &BTreeMap<String, Table>,
    ) -> Result<Value> {
        let v = match self {
            Expr::Num(x) => Value::Num(*x),
            Expr::Text(t) => Value::Text(t.clone()),
            Expr::Name(n) => env
                .get(n)
                .cloned()
                .ok_or_else(|| Error::value(format!("unknown name '{n}'")))?,
            Expr::Index(t, key) => {
                let table = tables
                    .get(t)
                    .ok_or_else(|| Error::value(format!("unknown table '{t}'")))?;
                table
                    .get(&key.eval(env, tables)?)
                    .map_err(|e| Error::value(format!("table '{t}': {}", e.message())))?
            }
            Expr::Neg(e) => Value::Num(-e.eval(env, tables)?.num("'-'")?),
            Expr::Binary(op, a, b) => binary(*op, a.eval(env, tables)?, b.eval(env, tables)?)?,
            Expr::Call(f, args) => call(*f, args, env, tables)?,
        };
        match v {
            Value::Num(x) if !x.is_finite() => Err(Error::value(format!(
                "the result is not a finite number ({x})"
            ))),
            v => Ok(v),
        }
    }
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value> {
    let cmp = |ord: Option<std::cmp::Ordering>, keep: fn(std::cmp::Ordering) -> bool| {
        Value::Num(if ord.is_some_and(keep) { 1.0 } else { 0.0 })
    };
    let order = match (&a, &b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        _ => None,
    };
    Ok(match op {
        BinOp::Eq => Value::Num(f64::from(u8::from(a == b))),
        BinOp::Ne => Value::Num(f64::from(u8::from(a != b))),
        BinOp::Lt => cmp(order, |o| o.is_lt()),
        BinOp::Le => cmp(order, |o| o.is_le()),
        BinOp::Gt => cmp(order, |o| o.is_gt()),
        BinOp::Ge => cmp(order, |o| o.is_ge()),
        BinOp::Add => match (a, b) {
            (Value::Num(x), Value::Num(y)) => Value::Num(x + y),
            (a, b) => Value::Text(format!("{a}{b}")),
        },
        _ => {
            let name = match op {
                BinOp::Sub => "'-'",
                BinOp::Mul => "'*'",
                BinOp::Div => "'/'",
                BinOp::IntDiv => "'//'",
                BinOp::Mod => "'%'",
                _ => "'^'",
            };
            let (x, y) = (a.num(name)?, b.num(name)?);
            if matches!(op, BinOp::Div | BinOp::IntDiv | BinOp::Mod) && y == 0.0 {
                return Err(Error::value(format!("division by zero ({name})")));
            }
            Value::Num(match op {
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::IntDiv => (x / y).floor(),
                BinOp::Mod => x - y * (x / y).floor(),
                _ => x.powf(y),
            })
        }
    })
}

fn call(
    f: Func,
    args: &[Expr],
    env: &BTreeMap<String, Value>,
    tables: &BTreeMap<String, Table>,
) -> Result<Value> {
    if f == Func::If {
        // Only the branch taken is evaluated, so `if(y == 0, 0, x / y)` is
        // safe.
        let c = args[0].eval(env, tables)?;
        let taken = match c {
            Value::Num(x) => x != 0.0,
            Value::Text(t) => !t.is_empty(),
        };
        return args[if taken { 1 } else { 2 }].eval(env, tables);
    }
    let what = format!("{}()", f.name());
    let xs = args
        .iter()
        .map(|a| a.eval(env, tables)?.num(&what))
        .collect::<Result<Vec<f64>>>()?;
    let x = xs[0];
    Ok(Value::Num(match f {
        Func::Round => {
            let n = xs.get(1).copied().unwrap_or(0.0);
            if n.fract() != 0.0 || !(0.0..=12.0).contains(&n) {
                return Err(Error::value(format!(
                    "round(x, n) takes n decimals from 0 to 12, not {}",
                    format_number(n)
                )));
            }
            let scale = 10f64.powi(n as i32);
            (x * scale).round() / scale
        }
        Func::Floor => x.floor(),
        Func::Ceil => x.ceil(),
        Func::Abs => x.abs(),
        Func::Sqrt if x < 0.0 => {
            return Err(Error::value(format!(
                "sqrt() of the negative number {}",
                format_number(x)
            )));
        }
        Func::Sqrt => x.sqrt(),
        Func::Min => xs.iter().copied().fold(f64::INFINITY, f64::min),
        Func::Max => xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Func::If => unreachable!("handled above"),
    }))
}

/// A lookup table of a template: a list (indexed from 0) or a map from key
/// texts to values.
#[derive(Debug, Clone, PartialEq)]
pub enum Table {
    /// `["Monday", "Tuesday", ...]`
    List(Vec<Value>),
    /// `{"km": 1000, "mi": 1609.344}`
    Map(BTreeMap<String, Value>),
}

impl Table {
    /// The entry at `key`: a whole number for a list, a text (or a number,
    /// written as in questions) for a map.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] when there is no such entry.
    pub fn get(&self, key: &Value) -> Result<Value> {
        match self {
            Table::List(list) => {
                let i = key.num("a list table's index")?;
                if i.fract() != 0.0 || i < 0.0 || i >= list.len() as f64 {
                    return Err(Error::value(format!(
                        "no entry {} in a list of {}",
                        format_number(i),
                        list.len()
                    )));
                }
                Ok(list[i as usize].clone())
            }
            Table::Map(map) => {
                let k = key.to_string();
                map.get(&k)
                    .cloned()
                    .ok_or_else(|| Error::value(format!("no entry '{k}'")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Result<Value> {
        let mut tables = BTreeMap::new();
        tables.insert(
            "days".to_owned(),
            Table::List(vec![Value::Text("Mon".into()), Value::Text("Tue".into())]),
        );
        let mut m = BTreeMap::new();
        m.insert("km".to_owned(), Value::Num(1000.0));
        tables.insert("metres".to_owned(), Table::Map(m));
        let mut env = BTreeMap::new();
        env.insert("x".to_owned(), Value::Num(7.0));
        env.insert("u".to_owned(), Value::Text("km".into()));
        Expr::parse(src)?.eval(&env, &tables)
    }

    fn num(src: &str) -> f64 {
        match eval(src).unwrap() {
            Value::Num(x) => x,
            other => panic!("{src} gave {other:?}"),
        }
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(num("1 + 2 * 3"), 7.0);
        assert_eq!(num("(1 + 2) * 3"), 9.0);
        assert_eq!(num("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(num("-2 ^ 2"), -4.0);
        assert_eq!(num("7 // 2"), 3.0);
        assert_eq!(num("-7 // 2"), -4.0);
        assert_eq!(num("-1 % 7"), 6.0);
        assert_eq!(num("x % 3 + x / 2"), 1.0 + 3.5);
        assert_eq!(num("round(2 / 3, 2)"), 0.67);
        assert_eq!(num("round(2.5)"), 3.0);
        assert_eq!(num("min(4, x, 9) + max(1, 2)"), 6.0);
        assert_eq!(num("floor(2.7) + ceil(2.1) + abs(-1) + sqrt(16)"), 10.0);
        assert_eq!(num("if(x > 5, 1, 1 / 0)"), 1.0, "only the branch taken");
        assert_eq!(num("(x == 7) + (x != 7) + (x <= 7) + (u == 'km')"), 3.0);
        assert_eq!(num("x * metres[u]"), 7000.0);
        assert_eq!(eval("days[x % 2]").unwrap(), Value::Text("Tue".into()));
        assert_eq!(eval("'#' + x").unwrap(), Value::Text("#7".into()));
    }

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(2.54 * 3.0), "7.62");
        assert_eq!(format_number(1.0 / 3.0), "0.333333");
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let cases = [
            ("1 +", "expected a value at the end"),
            ("(1 + 2", "expected ')' at the end"),
            ("1 2", "unexpected 2"),
            ("foo(1)", "unknown function 'foo'"),
            ("round(1, 2, 3)", "round() takes 1 to 2, not 3"),
            ("x $ 2", "unexpected character '$'"),
            ("'open", "not closed"),
        ];
        for (src, want) in cases {
            let e = Expr::parse(src).unwrap_err();
            assert!(e.to_string().contains(want), "{src}: {e}");
            assert!(e.to_string().contains(src), "{src}: {e}");
        }
        let runtime = [
            ("x / (x - 7)", "division by zero"),
            ("u * 2", "needs a number, not the text 'km'"),
            ("metres['mi']", "table 'metres': no entry 'mi'"),
            ("days[2]", "no entry 2 in a list of 2"),
            ("sqrt(-1)", "negative"),
            ("round(x, 1.5)", "n decimals"),
            ("y + 1", "unknown name 'y'"),
            ("10 ^ 400", "not a finite number"),
        ];
        for (src, want) in runtime {
            let e = eval(src).unwrap_err();
            assert!(e.to_string().contains(want), "{src}: {e}");
        }
    }
}
