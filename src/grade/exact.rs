//! Normalised exact-match answers.
//!
//! Two strings match when they are equal after [`normalise`]: LaTeX wrappers
//! (`\boxed{..}`, `\text{..}`, `$..$`) and surrounding quotes, emphasis,
//! brackets and punctuation removed, whitespace collapsed, case folded.

use super::statement;

/// LaTeX commands whose braces only wrap the answer.
const WRAPPERS: [&str; 8] = [
    r"\boxed{",
    r"\fbox{",
    r"\textbf{",
    r"\texttt{",
    r"\text{",
    r"\mathrm{",
    r"\mathbf{",
    r"\emph{",
];

/// Characters stripped from both ends: quotes, emphasis and sentence
/// punctuation.
fn is_edge_noise(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '`'
            | '*'
            | '_'
            | '.'
            | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\u{201c}'
            | '\u{201d}'
            | '\u{2018}'
            | '\u{2019}'
    ) || c.is_whitespace()
}

/// The canonical form an exact answer is compared in: wrappers and edge
/// punctuation removed (repeatedly, so `**"\text{Paris}".**` is `paris`),
/// inner whitespace runs collapsed to one space, lowercased.
pub(crate) fn normalise(s: &str) -> String {
    let mut s = s;
    loop {
        let before = s;
        s = s.trim_matches(is_edge_noise);
        for w in WRAPPERS {
            if let Some(inner) = s.strip_prefix(w).and_then(|r| r.strip_suffix('}')) {
                s = inner;
            }
        }
        for (open, close) in [
            ("$$", "$$"),
            ("$", "$"),
            (r"\(", r"\)"),
            ("(", ")"),
            ("[", "]"),
        ] {
            if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
                s = inner;
            }
        }
        if s == before {
            break;
        }
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The candidate answers in `output`, most specific first: the last answer
/// statement (whole, then up to its first sentence end), the last non-empty
/// line, and the whole output.
pub(crate) fn candidates(output: &str) -> Vec<&str> {
    let mut found = Vec::new();
    if let Some(s) = statement::statements(output).last() {
        found.push(s.text);
        if let Some(end) = s.text.find(". ") {
            found.push(&s.text[..end]);
        }
    }
    if let Some(line) = output.lines().rev().find(|l| !l.trim().is_empty()) {
        found.push(line);
    }
    found.push(output);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_wrappers_and_noise() {
        assert_eq!(normalise("  Paris. "), "paris");
        assert_eq!(normalise(r#"**"\text{New   York}"**."#), "new york");
        assert_eq!(normalise(r"$\boxed{\text{Yes}}$"), "yes");
        assert_eq!(normalise("\u{201c}no\u{201d}"), "no");
        assert_eq!(normalise("(x + 1)"), "x + 1");
        assert_eq!(normalise("`ls -la`"), "ls -la");
        assert_eq!(normalise("C++"), "c++");
        assert_eq!(normalise("..."), "");
    }

    #[test]
    fn candidates_in_order() {
        assert_eq!(
            candidates("Thinking.\nThe answer is Paris. It is big.\nDone"),
            [
                "Paris. It is big.",
                "Paris",
                "Done",
                "Thinking.\nThe answer is Paris. It is big.\nDone"
            ]
        );
        assert_eq!(candidates("Lyon\n\n"), ["Lyon", "Lyon\n\n"]);
    }
}
