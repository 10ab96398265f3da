//! Multiple-choice letter extraction.
//!
//! Two tiers, tried in order:
//! 1. *Statements*: "The answer is (B)", "answer is: (I)", "Answer: b",
//!    "The correct option is C", `\boxed{D}`, `{"answer": "C"}`. Markdown
//!    emphasis is ignored ("**Answer:** **B**"). When there are several, the
//!    last one wins: a model that corrects itself states its final answer last.
//! 2. *A trailing letter*: the output ends with a lone capital such as "B.",
//!    "(C)" or "... so we pick (F)." (the whole output "B" included).
//!
//! Only letters within the item's choices count: a statement naming a letter
//! past the last choice is ignored. The original MMLU-Pro harness took the
//! first `answer is \(?([A-J])\)?` match, then `.*[aA]nswer:\s*([A-J])`, then
//! the last standalone capital A-J anywhere in the text; that last fallback is
//! deliberately not imitated, as it reads "I" in "I cannot answer" as choice I
//! (it scores at chance level on the shared generations).

use std::sync::LazyLock;

use regex::Regex;

use super::statement::{self, Trigger, strip_emphasis};

/// Choice-specific statements: "the correct option is (B)", "best choice
/// would be C".
static OPTION_SENTENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:option|choice)\s+(?:is|would\s+be|should\s+be|will\s+be|must\s+be)\s*:?[ \t]*",
    )
    .expect("valid pattern")
});

/// A capital closing the output: alone on the last line ("B", "(C)", "B."),
/// in brackets at the end of a sentence ("... is (F)."), or bare before a
/// final full stop ("I pick B."). A bare capital cut off mid-text ("the
/// molar mass of H", "P(H|E, F") is not an answer, nor is lowercase "(c)",
/// more often a sub-question label ("steps (a), (b), and (c).").
static TRAILING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|\s)(?:\(([A-Z])\)|\[([A-Z])\])[.!]?\s*$|(?:^|\n)[ \t]*([A-Z])[.!]?\s*$|\s([A-Z])[.!]\s*$",
    )
    .expect("valid pattern")
});

/// Wrappers models put before a letter, skipped before reading it. Longest
/// first, so `\textbf{` is not read as `\text`.
const OPENERS: [&str; 14] = [
    r"\boxed{",
    r"\textbf{",
    r"\text{",
    r"\mathrm{",
    r"\mathbf{",
    "$",
    "(",
    "[",
    "{",
    "\"",
    "'",
    "\u{201c}",
    "\u{2018}",
    "`",
];

/// Words between a trigger and the letter: "answer is option (B)".
const NOUNS: [&str; 3] = ["option", "choice", "letter"];

/// The letter a model chose among `n_choices` options labelled A, B, ...
/// (uppercase), or `None` when it states none within range.
///
/// `n_choices` above 26 is treated as 26. See the module docs for the forms
/// recognised.
///
/// ```
/// use fangsheng::grade::extract_choice;
///
/// assert_eq!(extract_choice("Let's think. The answer is (B).", 4), Some('B'));
/// assert_eq!(extract_choice("Answer: b", 4), Some('B'));
/// assert_eq!(extract_choice("The answer is (B). No wait, the answer is (C).", 4), Some('C'));
/// assert_eq!(extract_choice("The answer is (H).", 4), None); // only A-D exist
/// assert_eq!(extract_choice("I cannot answer this.", 10), None);
/// ```
pub fn extract_choice(output: &str, n_choices: usize) -> Option<char> {
    if n_choices == 0 {
        return None;
    }
    let last = (b'A' + n_choices.min(26) as u8 - 1) as char;
    let in_range = |c: char| (c.is_ascii_uppercase() && c <= last).then_some(c);
    let text = strip_emphasis(output);

    let mut stated: Option<(usize, char)> = None;
    let mut consider = |at: usize, letter: Option<char>| {
        if let Some(c) = letter.and_then(in_range)
            && stated.is_none_or(|(prev, _)| at >= prev)
        {
            stated = Some((at, c));
        }
    };
    for s in statement::statements(&text) {
        // After "Answer:" models often write prose ("Answer: A company ..."),
        // so an English-word letter needs more evidence there.
        let strict = s.trigger == Trigger::Label;
        consider(s.at, letter_at(s.text, strict));
    }
    for m in OPTION_SENTENCE.find_iter(&text) {
        consider(m.start(), letter_at(&text[m.end()..], false));
    }
    if let Some((_, c)) = stated {
        return Some(c);
    }

    let caps = TRAILING.captures(&text)?;
    let before = text[..caps.get(0)?.start()].trim_end();
    if before
        .get(before.len().saturating_sub(4)..)
        .is_some_and(|w| w.eq_ignore_ascii_case(" not"))
    {
        // "The answer is not (D)." rules a choice out.
        return None;
    }
    in_range((1..=4).find_map(|i| caps.get(i))?.as_str().chars().next()?)
}

/// Reads a choice letter at the start of `s` (after wrappers such as `(`,
/// `\boxed{` or "option"), uppercased.
///
/// The letter must not run on into a word ("Industrial" is not choice I),
/// and a lowercase letter in round brackets is a part label, not a choice.
/// A bare letter that is also an English word ("a", "A", "I") followed by a
/// lowercase word is prose, not a choice; lowercase letters always get that
/// test, "A" and "I" only when `strict`.
fn letter_at(s: &str, strict: bool) -> Option<char> {
    let mut rest = s.trim_start();
    let mut wrapped = false;
    let mut in_parens = false;
    'skip: loop {
        for opener in OPENERS {
            if let Some(r) = rest.strip_prefix(opener) {
                rest = r.trim_start();
                wrapped = true;
                in_parens = opener == "(";
                continue 'skip;
            }
        }
        for noun in NOUNS {
            let after = rest
                .get(..noun.len())
                .filter(|head| head.eq_ignore_ascii_case(noun))
                .map(|_| &rest[noun.len()..]);
            if let Some(after) = after
                && after.starts_with(|c: char| c.is_whitespace() || c == ':')
            {
                rest = after.trim_start_matches(|c: char| c.is_whitespace() || c == ':');
                continue 'skip;
            }
        }
        break;
    }
    let mut chars = rest.chars();
    let c = chars.next().filter(char::is_ascii_alphabetic)?;
    let after = chars.as_str();
    if after.starts_with(|n: char| n.is_alphanumeric() || n == '_') {
        return None;
    }
    // "(a)", "(b)" label the parts of a multi-part question.
    if in_parens && c.is_ascii_lowercase() {
        return None;
    }
    let word_like = c.is_ascii_lowercase() || (strict && matches!(c, 'A' | 'I'));
    if !wrapped && word_like {
        let mut next = after.chars();
        if next.next().is_some_and(|n| n == ' ') && next.next().is_some_and(|n| n.is_lowercase()) {
            return None;
        }
    }
    Some(c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(output: &str, n: usize, want: Option<char>) {
        assert_eq!(extract_choice(output, n), want, "output: {output:?}");
    }

    #[test]
    fn answer_is_forms() {
        check(
            "Let's think step by step. The answer is (B).",
            10,
            Some('B'),
        );
        check("so the answer is B.", 10, Some('B'));
        check("the answer is b.", 10, Some('B'));
        check("The answer is 'c'.", 10, Some('C'));
        check("The answer is: (I)", 10, Some('I'));
        check("answer is: (I)\n", 10, Some('I'));
        check("The correct answer is option C because ...", 10, Some('C'));
        check("the answer is option\u{a0}(D)", 10, Some('D'));
        check("the answer is choice: E", 10, Some('E'));
        check("The answer is therefore (E)", 10, Some('E'));
        check("The answer is A because the others fail.", 10, Some('A'));
        check("The answer would be (J)", 10, Some('J'));
    }

    #[test]
    fn answer_colon_forms() {
        check("Answer: b", 4, Some('B'));
        check("Answer: B", 4, Some('B'));
        check("**Answer:** **C**", 4, Some('C'));
        check("Final answer: D) 42 kg", 4, Some('D'));
        check("Answer:\n(A)", 4, Some('A'));
    }

    #[test]
    fn markup_and_json() {
        check("**B**", 4, Some('B'));
        check(r"Final answer: $\boxed{D}$", 4, Some('D'));
        check(r"so \boxed{\text{C}}", 4, Some('C'));
        check(r#"{"answer": "C"}"#, 4, Some('C'));
        check(r#"{'answer': 'b', "reason": "x"}"#, 4, Some('B'));
        check("The correct option is (D).", 4, Some('D'));
    }

    #[test]
    fn trailing_letter() {
        check("B.", 4, Some('B'));
        check("(C)", 4, Some('C'));
        check("B", 4, Some('B'));
        check(
            "After all that, the only valid conclusion is (F).\n\n",
            10,
            Some('F'),
        );
        check("Comparing the options, I pick\nC", 4, Some('C'));
        check("Explain the steps (a), (b), and (c).", 4, None);
        check("so I pick B.", 4, Some('B'));
        check("[D]", 4, Some('D'));
        check("Among them the best fit is (A)", 4, Some('A'));
    }

    #[test]
    fn last_statement_wins() {
        check(
            "The answer is (B). Hmm, I made an error; the answer is (D).",
            4,
            Some('D'),
        );
        check("Answer: A\nOn reflection, Answer: C", 4, Some('C'));
        // A statement outranks a trailing letter, even an earlier one.
        check(
            "The answer is (B). Option (C) is tempting but wrong: C",
            4,
            Some('B'),
        );
    }

    #[test]
    fn letters_outside_the_choices_are_ignored() {
        check("The answer is (E).", 4, None);
        check(
            "The answer is (B). Actually the answer is (E).",
            4,
            Some('B'),
        );
        check("E", 4, None);
        check("The answer is (J).", 10, Some('J'));
        check("The answer is (K).", 10, None);
        check("The answer is (A).", 0, None);
    }

    #[test]
    fn prose_is_not_an_answer() {
        check("", 10, None);
        check("   \n", 10, None);
        check("I cannot answer this without the tables.", 10, None);
        check("The answer is Industrial ecosystems.", 10, None);
        check("Answer: Cannot be determined.", 10, None);
        check("Answer: A company should diversify.", 10, None);
        check("Answer: I think it is unclear", 10, None);
        check("the answer is a matter of taste", 10, None);
        check("The answer is not listed.", 10, None);
        check("So the answer is not (D).", 10, None);
        check("We need vitamin D to", 10, None);
        check("The answer is (", 10, None);
        // Outputs cut off at the token limit end on any letter.
        check("the molar mass of H", 10, None);
        check("= P(H|E, F", 10, None);
        check("so option D", 10, None);
        check("The options are:\n(C", 10, None);
        // Lowercase in round brackets labels the parts of a question.
        check(
            "The answer to (b) is 150. The answer is (a) and (b).",
            10,
            None,
        );
    }
}
