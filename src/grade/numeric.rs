//! Reading numbers out of free text.
//!
//! Recognised forms: integers and decimals with an optional sign (ASCII or
//! Unicode minus) and currency sign ("-$3.50"), thousands separators
//! ("1,234.5"), exponents ("-3e-2", "3 \times 10^{5}", "2^10"), fractions
//! ("1/4", `\frac{1}{4}`), percentages ("50%", "50 percent", `50\%`). Units
//! after a number are left alone ("42 kg" reads 42).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::statement::{self, Trigger};

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \\d?frac\s*\{\s*(?P<fnum>[-+−]?\d+(?:\.\d+)?)\s*\}\s*\{\s*(?P<fden>[-+−]?\d+(?:\.\d+)?)\s*\}
        |
        (?P<sign>[-+−])?\$?
        (?P<mant>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
        (?:[eE](?P<exp>[-+−]?\d+))?
        (?:\s*(?:\\times|×|\*|x|\\cdot)\s*10\s*\^\s*\{?\s*(?P<pow10>[-+−]?\d+)\s*\}?)?
        (?:\^\s*\{?\s*(?P<pow>[-+−]?\d+)\s*\}?)?
        (?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?
        (?P<pct>\s*(?:\\?%|percent\b))?
        ",
    )
    .expect("valid pattern")
});

/// A number found in text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number<'a> {
    /// Its value, percentages not divided by 100 ("50%" is 50).
    pub value: f64,
    /// Written as a percentage: it also reads as `value / 100`.
    pub percent: bool,
    /// The text it was read from.
    pub text: &'a str,
}

impl Number<'_> {
    /// The readings of the number: its value, and for a percentage also the
    /// fraction (50% is both 50 and 0.5).
    pub fn readings(&self) -> impl Iterator<Item = f64> {
        std::iter::once(self.value).chain(self.percent.then_some(self.value / 100.0))
    }
}

/// Every number in `text`, in order. Digits glued to a preceding letter or
/// digit ("CO2", "x2", "v1.2") are not numbers.
pub(crate) fn numbers(text: &str) -> Vec<Number<'_>> {
    NUMBER
        .captures_iter(text)
        .filter(|caps| {
            let start = caps.get(0).map_or(0, |m| m.start());
            !text[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
        .filter_map(|caps| {
            let m = caps.get(0)?;
            let value = value_of(&caps)?;
            value.is_finite().then(|| Number {
                value,
                percent: caps.name("pct").is_some(),
                text: m.as_str().trim(),
            })
        })
        .collect()
}

/// The number a model gives as its answer: the first number of its last
/// answer statement (of its first sentence, after the last `=` in it, so
/// "the answer is 3 + 4 = 7. Then ..." reads 7), else the last number in the
/// output.
pub(crate) fn answer_number(output: &str) -> Option<Number<'_>> {
    for s in statement::statements(output).iter().rev() {
        let mut text = s.text;
        if let Some(end) = text.find(". ") {
            text = &text[..end];
        }
        if matches!(s.trigger, Trigger::Verb | Trigger::Label | Trigger::Boxed)
            && let Some(eq) = text.rfind('=')
        {
            text = &text[eq + 1..];
        }
        if let Some(n) = numbers(text).into_iter().next() {
            return Some(n);
        }
    }
    numbers(output).pop()
}

fn value_of(caps: &Captures) -> Option<f64> {
    let float = |name: &str| -> Option<f64> {
        let s = caps.name(name)?.as_str().replace('−', "-").replace(',', "");
        s.parse().ok()
    };
    if caps.name("fnum").is_some() {
        let den = float("fden")?;
        return (den != 0.0).then(|| float("fnum").map(|n| n / den))?;
    }
    let mut value = float("mant")?;
    if let Some(e) = float("exp") {
        value *= 10f64.powf(e);
    }
    if let Some(p) = float("pow10") {
        value *= 10f64.powf(p);
    }
    if let Some(p) = float("pow") {
        value = value.powf(p);
    }
    if let Some(den) = float("den") {
        if den == 0.0 {
            return None;
        }
        value /= den;
    }
    if caps.name("sign").is_some_and(|s| s.as_str() != "+") {
        value = -value;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first number in `s`, as a value (percentages not divided by 100).
    fn parse_numeric(s: &str) -> Option<f64> {
        numbers(s).first().map(|n| n.value)
    }

    fn values(s: &str) -> Vec<(f64, bool)> {
        numbers(s).iter().map(|n| (n.value, n.percent)).collect()
    }

    #[track_caller]
    fn close(got: Option<f64>, want: f64) {
        let got = got.expect("a number");
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} != {want}"
        );
    }

    #[test]
    fn plain_forms() {
        close(parse_numeric("1,234.5"), 1234.5);
        close(parse_numeric("-3e-2"), -0.03);
        close(parse_numeric("−7"), -7.0);
        close(parse_numeric("+2.5E3"), 2500.0);
        close(parse_numeric(".5"), 0.5);
        close(parse_numeric("12."), 12.0);
        close(parse_numeric("-$3.50"), -3.5);
        close(parse_numeric("$1,000,000"), 1e6);
        assert_eq!(parse_numeric("none"), None);
    }

    #[test]
    fn fractions_powers_percentages() {
        close(parse_numeric("1/4"), 0.25);
        close(parse_numeric("-1 / 8"), -0.125);
        close(parse_numeric(r"\frac{3}{4}"), 0.75);
        close(parse_numeric(r"\dfrac{-1}{2}"), -0.5);
        close(parse_numeric(r"3 \times 10^{5}"), 3e5);
        close(parse_numeric("6.02 × 10^23"), 6.02e23);
        close(parse_numeric("2^10"), 1024.0);
        assert_eq!(values("50%"), [(50.0, true)]);
        assert_eq!(values(r"12.5\% and 3 percent"), [(12.5, true), (3.0, true)]);
        assert_eq!(parse_numeric("1/0"), None);
    }

    #[test]
    fn units_and_glued_digits() {
        assert_eq!(values("42 kg"), [(42.0, false)]);
        assert_eq!(values("42kg, 3m/s"), [(42.0, false), (3.0, false)]);
        assert_eq!(values("CO2 and H2O at 300 K"), [(300.0, false)]);
        assert_eq!(values("1,2,3"), [(1.0, false), (2.0, false), (3.0, false)]);
    }

    #[test]
    fn answer_number_prefers_the_last_statement() {
        let n = |s| answer_number(s).map(|n| n.value);
        assert_eq!(
            n("5 apples and 3 pears: 8 fruit. The answer is 8."),
            Some(8.0)
        );
        assert_eq!(n("The answer is 3 + 4 = 7 apples, i.e. 7"), Some(7.0));
        assert_eq!(n(r"so $\boxed{\frac{1}{4}}$, about 0.3"), Some(0.25));
        assert_eq!(n("The answer is 10. No: the answer is 12"), Some(12.0));
        assert_eq!(n("Answer: unclear.\nWe have 2, then 9"), Some(9.0));
        assert_eq!(n("no digits"), None);
    }
}
