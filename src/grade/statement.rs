//! Finding where a model states its answer in free text.
//!
//! Models announce answers in a handful of ways: "The answer is X",
//! "Answer: X", LaTeX `\boxed{X}`, or JSON `{"answer": "X"}`. Each is a
//! *statement*: a trigger followed by the answer text. When a model corrects
//! itself the last statement is the one that counts, so callers look at the
//! statements in order of position.

use std::sync::LazyLock;

use regex::Regex;

/// "answer is", "answer would be", allowing a filler adverb ("the answer is
/// therefore B") and a colon after the verb ("the answer is: (I)").
static VERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\banswer\s+(?:is|would\s+be|should\s+be|will\s+be|must\s+be)(?:\s+(?:therefore|thus|then|clearly|likely|probably|most\s+likely))?\s*,?:?[ \t]*",
    )
    .expect("valid pattern")
});

/// "Answer:", "Final answer:".
static LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\banswer\s*:[ \t]*").expect("valid pattern"));

/// The opening of a LaTeX `\boxed{..}` (also `\fbox{..}`).
static BOXED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\(?:boxed|fbox)\s*\{").expect("valid pattern"));

/// A JSON (or Python dict) key `"answer":` / `'answer':`.
static JSON_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)["'](?:final_)?answer["']\s*:\s*"#).expect("valid pattern"));

/// How an answer was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// "answer is" and its variants.
    Verb,
    /// "Answer:" and "Final answer:".
    Label,
    /// `\boxed{..}`: the text is the braces' content.
    Boxed,
    /// A JSON `"answer"` value: the text is the string (or bare value).
    Json,
}

/// One place where the model states an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    /// Byte offset of the trigger in the text (orders statements).
    pub at: usize,
    /// How the answer was announced.
    pub trigger: Trigger,
    /// The stated answer: the rest of the line for "answer is"/"Answer:" (the next
    /// non-empty line when the trigger ends its line), the braces' content
    /// for `\boxed`, the value for JSON.
    pub text: &'a str,
}

/// Every answer statement in `text`, ordered by position.
pub(crate) fn statements(text: &str) -> Vec<Statement<'_>> {
    let mut found = Vec::new();
    for (re, trigger) in [(&VERB, Trigger::Verb), (&LABEL, Trigger::Label)] {
        for m in re.find_iter(text) {
            found.push(Statement {
                at: m.start(),
                trigger,
                text: rest_of_line(&text[m.end()..]),
            });
        }
    }
    for m in BOXED.find_iter(text) {
        found.push(Statement {
            at: m.start(),
            trigger: Trigger::Boxed,
            text: balanced(&text[m.end()..]),
        });
    }
    for m in JSON_KEY.find_iter(text) {
        found.push(Statement {
            at: m.start(),
            trigger: Trigger::Json,
            text: json_value(&text[m.end()..]),
        });
    }
    found.sort_by_key(|s| s.at);
    found
}

/// The rest of the current line; when that is blank ("Answer:\n42"), the
/// next non-empty line.
fn rest_of_line(s: &str) -> &str {
    let line = s.split('\n').next().unwrap_or("");
    if !line.trim().is_empty() {
        return line.trim_end();
    }
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// The content up to the brace closing an already opened `{` (the rest of the
/// text when the output was cut off before it).
fn balanced(s: &str) -> &str {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    s
}

/// A JSON value starting `s`: a quoted string's content, or a bare value up
/// to the next `,`, `}` or line end.
fn json_value(s: &str) -> &str {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    return &s[1..i];
                }
            }
            &s[1..]
        }
        _ => {
            let end = s.find([',', '}', '\n']).unwrap_or(s.len());
            s[..end].trim()
        }
    }
}

/// `text` without markdown emphasis (`*`), which models wrap around answers
/// ("**Answer:** **B**") and which never carries an answer itself.
pub(crate) fn strip_emphasis(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('*') {
        text.replace('*', "").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(Trigger, &str)> {
        statements(s).iter().map(|s| (s.trigger, s.text)).collect()
    }

    #[test]
    fn finds_sentences_in_order() {
        assert_eq!(
            texts("So the answer is 4.\nWait. The answer is: 5 apples"),
            [(Trigger::Verb, "4."), (Trigger::Verb, "5 apples")]
        );
        assert_eq!(
            texts("Final Answer:\n\n  Paris  \nmore"),
            [(Trigger::Label, "Paris")]
        );
        assert_eq!(
            texts("the answer would be therefore 7"),
            [(Trigger::Verb, "7")]
        );
    }

    #[test]
    fn boxed_content_is_balanced() {
        assert_eq!(
            texts(r"$\boxed{\frac{1}{4}}$ and \boxed{x"),
            [(Trigger::Boxed, r"\frac{1}{4}"), (Trigger::Boxed, "x")]
        );
    }

    #[test]
    fn json_values() {
        assert_eq!(
            texts(r#"{"answer": "C", "why": "x"}"#),
            [(Trigger::Json, "C")]
        );
        assert_eq!(texts(r#"{'answer': 12.5}"#), [(Trigger::Json, "12.5")]);
        assert_eq!(
            texts(r#"{"answer": "say \"hi\""}"#),
            [(Trigger::Json, r#"say \"hi\""#)]
        );
    }

    #[test]
    fn no_statement_without_trigger() {
        assert!(statements("I think it is B").is_empty());
        // "answer" must be followed by a verb or a colon.
        assert!(statements("the answer key B").is_empty());
    }
}
