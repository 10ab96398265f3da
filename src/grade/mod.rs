//! Grading a model's free-text output against an item's answer key.
//!
//! Models answer in prose; grading first *extracts* the answer (a choice
//! letter, a number, a short text) and then compares it with the key. An
//! output from which no answer can be extracted is [`Outcome::Unparseable`]:
//! it scores 0 like a wrong answer but is counted apart, since a high
//! unparseable rate points at the prompt or the extraction, not the model.
//!
//! ```
//! use fangsheng::grade::{AnswerKey, Grader, Outcome};
//!
//! let key = AnswerKey::Choice { letter: 'C', n_choices: 4 };
//! let grader = Grader::new(key)?;
//! let grade = grader.grade("Option B fails the units check. The answer is (C).");
//! assert_eq!((grade.score, grade.extracted.as_deref()), (1, Some("C")));
//! assert_eq!(grader.grade("I am not sure.").outcome, Outcome::Unparseable);
//!
//! let key = AnswerKey::Numeric { value: 0.25, abs_tol: 1e-9, rel_tol: 0.0 };
//! assert_eq!(fangsheng::grade::grade("so the answer is 1/4", &key)?.score, 1);
//! # Ok::<(), fangsheng::Error>(())
//! ```
//!
//! Extraction agrees with the original MMLU-Pro harness on the shared
//! generation files; `tests/grade_agreement.rs` measures it.

mod choice;
mod exact;
mod numeric;
mod statement;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use choice::extract_choice;

/// How an item is graded: its correct answer and the kind of comparison.
///
/// In JSON the kind is the `type` field:
/// `{"type": "multiple_choice", "letter": "B", "n_choices": 4}`,
/// `{"type": "exact", "answer": "Paris"}`,
/// `{"type": "numeric", "value": 9.81, "abs_tol": 0.01}` (tolerances default
/// to 0), `{"type": "regex", "pattern": "^(?i)yes\\b"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnswerKey {
    /// Multiple choice with options labelled `A`, `B`, ... (at most 26); the
    /// answer is extracted with [`extract_choice`].
    #[serde(rename = "multiple_choice")]
    Choice {
        /// The correct option's letter (either case).
        letter: char,
        /// How many options the item has.
        n_choices: usize,
    },
    /// A short text answer, compared after normalisation (case, whitespace,
    /// surrounding quotes and punctuation, a trailing period, LaTeX
    /// `\boxed{..}`/`\text{..}` wrappers). The output's last answer
    /// statement, its last line, or the whole output may match.
    Exact {
        /// The correct answer.
        answer: String,
    },
    /// A number: the one in the output's last answer statement, else the last
    /// number in the output (forms: "1,234.5", "-3e-2", "1/4", `\frac{1}{4}`,
    /// "50%", units after the number). Correct when
    /// `|x - value| <= max(abs_tol, rel_tol * |value|)`; a percentage `p%`
    /// matches as `p` or as `p / 100`.
    Numeric {
        /// The correct value.
        value: f64,
        /// Absolute tolerance (default 0).
        #[serde(default)]
        abs_tol: f64,
        /// Relative tolerance, a fraction of `|value|` (default 0).
        #[serde(default)]
        rel_tol: f64,
    },
    /// Correct when the output matches the regular expression anywhere
    /// (syntax of the `regex` crate; anchor it with `^..$` for a full match).
    Regex {
        /// The pattern.
        pattern: String,
    },
}

/// What grading concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The extracted answer matches the key (score 1).
    Correct,
    /// An answer was extracted and does not match (score 0).
    Wrong,
    /// No answer could be extracted (score 0), e.g. an empty output or prose
    /// stating no choice letter.
    Unparseable,
}

/// The grade of one output (named apart from [`crate::model::Graded`], the
/// graded response model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grade {
    /// 1 when correct, else 0.
    pub score: u8,
    /// The answer extracted from the output: the choice letter, the number's
    /// text, the matching text; `None` when unparseable.
    pub extracted: Option<String>,
    /// Correct, wrong or unparseable.
    pub outcome: Outcome,
}

impl Grade {
    fn new(correct: bool, extracted: impl Into<String>) -> Self {
        Grade {
            score: u8::from(correct),
            extracted: Some(extracted.into()),
            outcome: if correct {
                Outcome::Correct
            } else {
                Outcome::Wrong
            },
        }
    }

    fn unparseable() -> Self {
        Grade {
            score: 0,
            extracted: None,
            outcome: Outcome::Unparseable,
        }
    }

    /// Whether the outcome is [`Outcome::Correct`].
    pub fn is_correct(&self) -> bool {
        self.outcome == Outcome::Correct
    }
}

/// An [`AnswerKey`] checked and prepared for grading many outputs (a regex
/// key is compiled once).
#[derive(Debug, Clone)]
pub struct Grader {
    key: AnswerKey,
    /// Set for [`AnswerKey::Regex`]; for [`AnswerKey::Exact`], the key's
    /// normalised answer is kept in `normalised`.
    regex: Option<Regex>,
    normalised: String,
}

impl Grader {
    /// Checks `key` and prepares it.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Value`] when a choice key has `n_choices` outside
    /// 1..=26 or a letter that is not among them, an exact key normalises to
    /// an empty string, a numeric key has a non-finite value or a negative or
    /// non-finite tolerance, or a regex key does not compile. Add the item
    /// with [`Error::for_item`].
    pub fn new(key: AnswerKey) -> Result<Self> {
        let mut regex = None;
        let mut normalised = String::new();
        match &key {
            AnswerKey::Choice { letter, n_choices } => {
                if !(1..=26).contains(n_choices) {
                    return Err(Error::value(format!(
                        "multiple-choice key with {n_choices} choices (expected 1 to 26)"
                    )));
                }
                let last = (b'A' + *n_choices as u8 - 1) as char;
                let upper = letter.to_ascii_uppercase();
                if !upper.is_ascii_uppercase() || upper > last {
                    return Err(Error::value(format!(
                        "answer letter '{letter}' is not among the choices A-{last}"
                    )));
                }
            }
            AnswerKey::Exact { answer } => {
                normalised = exact::normalise(answer);
                if normalised.is_empty() {
                    return Err(Error::value(format!(
                        "exact answer {answer:?} is empty once normalised"
                    )));
                }
            }
            AnswerKey::Numeric {
                value,
                abs_tol,
                rel_tol,
            } => {
                if !value.is_finite() {
                    return Err(Error::value(format!(
                        "numeric answer {value} is not finite"
                    )));
                }
                for (name, tol) in [("abs_tol", abs_tol), ("rel_tol", rel_tol)] {
                    if !(tol.is_finite() && *tol >= 0.0) {
                        return Err(Error::value(format!(
                            "{name} {tol} must be finite and non-negative"
                        )));
                    }
                }
            }
            AnswerKey::Regex { pattern } => {
                regex = Some(Regex::new(pattern).map_err(|e| {
                    Error::value(format!("answer pattern {pattern:?} is invalid: {e}"))
                })?);
            }
        }
        Ok(Grader {
            key,
            regex,
            normalised,
        })
    }

    /// The key this grader applies.
    pub fn key(&self) -> &AnswerKey {
        &self.key
    }

    /// Grades one raw model output. A blank output is always unparseable.
    pub fn grade(&self, output: &str) -> Grade {
        if output.trim().is_empty() {
            return Grade::unparseable();
        }
        match &self.key {
            AnswerKey::Choice { letter, n_choices } => match extract_choice(output, *n_choices) {
                Some(c) => Grade::new(c == letter.to_ascii_uppercase(), c),
                None => Grade::unparseable(),
            },
            AnswerKey::Exact { .. } => {
                let candidates = exact::candidates(output);
                let hit = candidates
                    .iter()
                    .find(|c| exact::normalise(c) == self.normalised);
                match hit {
                    Some(c) => Grade::new(true, c.trim()),
                    None => Grade::new(false, candidates[0].trim()),
                }
            }
            AnswerKey::Numeric {
                value,
                abs_tol,
                rel_tol,
            } => match numeric::answer_number(output) {
                Some(n) => {
                    let tol = abs_tol.max(rel_tol * value.abs());
                    let correct = n.readings().any(|x| (x - value).abs() <= tol);
                    Grade::new(correct, n.text)
                }
                None => Grade::unparseable(),
            },
            AnswerKey::Regex { .. } => {
                let found = self.regex.as_ref().and_then(|re| re.find(output));
                match found {
                    Some(m) => Grade::new(true, m.as_str()),
                    None => Grade {
                        score: 0,
                        extracted: None,
                        outcome: Outcome::Wrong,
                    },
                }
            }
        }
    }
}

/// Grades `output` against `key`: [`Grader::new`] then [`Grader::grade`].
/// Prepare a [`Grader`] instead when grading many outputs for one key.
///
/// # Errors
/// As [`Grader::new`], when the key is invalid.
pub fn grade(output: &str, key: &AnswerKey) -> Result<Grade> {
    Ok(Grader::new(key.clone())?.grade(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    fn choice(letter: char, n_choices: usize) -> AnswerKey {
        AnswerKey::Choice { letter, n_choices }
    }

    fn numeric(value: f64, abs_tol: f64, rel_tol: f64) -> AnswerKey {
        AnswerKey::Numeric {
            value,
            abs_tol,
            rel_tol,
        }
    }

    fn exact(answer: &str) -> AnswerKey {
        AnswerKey::Exact {
            answer: answer.into(),
        }
    }

    fn regex(pattern: &str) -> AnswerKey {
        AnswerKey::Regex {
            pattern: pattern.into(),
        }
    }

    #[track_caller]
    fn outcome(output: &str, key: &AnswerKey) -> (Outcome, Option<String>) {
        let g = grade(output, key).unwrap();
        assert_eq!(g.score, u8::from(g.outcome == Outcome::Correct));
        (g.outcome, g.extracted)
    }

    #[test]
    fn choice_keys() {
        let key = choice('b', 4);
        assert_eq!(
            outcome("The answer is (B).", &key),
            (Outcome::Correct, Some("B".into()))
        );
        assert_eq!(
            outcome("Answer: d", &key),
            (Outcome::Wrong, Some("D".into()))
        );
        assert_eq!(
            outcome("The answer is (F).", &key),
            (Outcome::Unparseable, None)
        );
        assert_eq!(outcome("", &key), (Outcome::Unparseable, None));
        assert_eq!(outcome(" \n\t", &key), (Outcome::Unparseable, None));
    }

    #[test]
    fn exact_keys() {
        let key = exact("New York");
        assert_eq!(
            outcome("The answer is \"new york\".", &key).0,
            Outcome::Correct
        );
        assert_eq!(
            outcome(r"Final answer: $\boxed{\text{New York}}$", &key).0,
            Outcome::Correct
        );
        assert_eq!(
            outcome("We reason...\n**New  York.**\n", &key).0,
            Outcome::Correct
        );
        assert_eq!(
            outcome("The answer is Boston. Sure.", &key),
            (Outcome::Wrong, Some("Boston. Sure.".into()))
        );
        assert_eq!(outcome("New York City", &key).0, Outcome::Wrong);
        assert_eq!(outcome("", &key), (Outcome::Unparseable, None));
    }

    #[test]
    fn numeric_keys() {
        let key = numeric(1234.5, 0.01, 0.0);
        assert_eq!(
            outcome("The total is 1,234.5 dollars.", &key),
            (Outcome::Correct, Some("1,234.5".into()))
        );
        assert_eq!(outcome("The answer is 1234.52", &key).0, Outcome::Wrong);
        assert_eq!(outcome("no idea", &key), (Outcome::Unparseable, None));

        let key = numeric(-0.03, 0.0, 1e-9);
        assert_eq!(outcome("x = -3e-2 m", &key).0, Outcome::Correct);
        assert_eq!(outcome("x = 3e-2 m", &key).0, Outcome::Wrong);

        let key = numeric(0.25, 0.0, 1e-9);
        assert_eq!(outcome("The answer is 1/4.", &key).0, Outcome::Correct);
        assert_eq!(outcome("It is 25%", &key).0, Outcome::Correct);
        let key = numeric(25.0, 0.0, 0.0);
        assert_eq!(outcome("It is 25%", &key).0, Outcome::Correct);

        // Relative tolerance scales with the key's magnitude.
        let key = numeric(1e6, 0.0, 0.01);
        assert_eq!(outcome("about 1,005,000 people", &key).0, Outcome::Correct);
        assert_eq!(outcome("about 1,015,000 people", &key).0, Outcome::Wrong);
        // The last answer statement wins over numbers after it.
        let key = numeric(42.0, 0.0, 0.0);
        assert_eq!(
            outcome("The answer is 42 kg (92.6 lb). Check: 6*7=42+1=43", &key).0,
            Outcome::Correct
        );
    }

    #[test]
    fn regex_keys() {
        let grader = Grader::new(regex(r"(?i)\byes\b")).unwrap();
        let g = grader.grade("Yes, it is.");
        assert_eq!(
            (g.outcome, g.extracted.as_deref()),
            (Outcome::Correct, Some("Yes"))
        );
        assert_eq!(grader.grade("Eyes are blue").outcome, Outcome::Wrong);
        assert_eq!(grader.grade("").outcome, Outcome::Unparseable);
    }

    #[test]
    fn invalid_keys_are_errors() {
        for key in [
            choice('E', 4),
            choice('A', 0),
            choice('A', 27),
            choice('3', 4),
            exact(" \"\". "),
            numeric(f64::NAN, 0.0, 0.0),
            numeric(1.0, -1.0, 0.0),
            numeric(1.0, 0.0, f64::INFINITY),
            regex("(unclosed"),
        ] {
            let err = Grader::new(key.clone()).expect_err(&format!("{key:?}"));
            assert_eq!(err.kind(), ErrorKind::Value, "{key:?}: {err}");
        }
    }

    #[test]
    fn keys_round_trip_through_json() {
        let json = r#"[
            {"type": "multiple_choice", "letter": "B", "n_choices": 4},
            {"type": "exact", "answer": "Paris"},
            {"type": "numeric", "value": 9.81, "abs_tol": 0.01},
            {"type": "regex", "pattern": "^yes"}
        ]"#;
        let keys: Vec<AnswerKey> = serde_json::from_str(json).unwrap();
        assert_eq!(keys[0], choice('B', 4));
        assert_eq!(keys[2], numeric(9.81, 0.01, 0.0));
        let back: Vec<AnswerKey> =
            serde_json::from_str(&serde_json::to_string(&keys).unwrap()).unwrap();
        assert_eq!(back, keys);
        let g = Grader::new(keys[0].clone()).unwrap().grade("B");
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"score":1,"extracted":"B","outcome":"correct"}"#
        );
    }

    /// Fragments models write, so that random texts exercise every pattern.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("The answer is ".to_string()),
            Just("Answer:".to_string()),
            Just("option ".to_string()),
            Just(r"\boxed{".to_string()),
            Just(r#"{"answer": ""#.to_string()),
            Just("1,234.5".to_string()),
            Just(r"\frac{1}{0}".to_string()),
            Just("%".to_string()),
            Just("e-".to_string()),
            Just("**".to_string()),
            "[A-Ja-j()\\[\\]{}$.:;,'\" \n\u{a0}\u{2212}é0-9/^x*]{0,6}",
        ]
    }

    proptest! {
        /// Grading never panics and keeps score, outcome and extraction
        /// consistent, whatever the text.
        #[test]
        fn grading_any_text_is_consistent(
            parts in prop::collection::vec(fragment(), 0..12),
            n in 0usize..30,
        ) {
            let text = parts.concat();
            let letter = extract_choice(&text, n);
            prop_assert!(letter.is_none_or(|c| c.is_ascii_uppercase() && ((c as u8 - b'A') as usize) < n));
            for key in [
                choice('A', n.clamp(1, 26)),
                exact("1,234.5"),
                numeric(1234.5, 0.0, 1e-9),
                regex(r"\d+"),
            ] {
                let g = grade(&text, &key).unwrap();
                prop_assert_eq!(g.score, u8::from(g.outcome == Outcome::Correct));
                prop_assert_eq!(g.extracted.is_none(), g.outcome == Outcome::Unparseable
                    || matches!(key, AnswerKey::Regex { .. }) && g.outcome == Outcome::Wrong);
            }
        }
    }
}
