//! Splitting a template on its `{...}` placeholders.
//!
//! Prompt templates (`{question}`, `{choices}`, ...) and dynamic item
//! templates (`{a + b}`) share one escaping rule, `{{` and `}}` for literal
//! braces, so they share this scanner and differ only in what a placeholder
//! may contain.

/// One run of a template: literal text (escapes resolved) or the inside of a
/// `{...}` placeholder, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Braced {
    Text(String),
    Placeholder(String),
}

/// Why a template does not split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BraceError {
    /// A `{` never closed; holds what followed it.
    Unclosed(String),
    /// A `}` with no `{` before it.
    Stray,
}

/// Splits `src` into text and placeholders; adjacent text is merged, so
/// text and placeholders need not alternate but two texts never follow
/// each other.
pub(crate) fn split_braces(src: &str) -> Result<Vec<Braced>, BraceError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                text.push(c);
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(d) => inner.push(d),
                        None => return Err(BraceError::Unclosed(inner)),
                    }
                }
                if !text.is_empty() {
                    pieces.push(Braced::Text(std::mem::take(&mut text)));
                }
                pieces.push(Braced::Placeholder(inner));
            }
            '}' => return Err(BraceError::Stray),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Braced::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Braced {
        Braced::Text(s.to_owned())
    }

    fn slot(s: &str) -> Braced {
        Braced::Placeholder(s.to_owned())
    }

    #[test]
    fn splits_text_and_placeholders_with_escaped_braces() {
        assert_eq!(
            split_braces("a {{x}} {b}{ c }.").unwrap(),
            vec![text("a {x} "), slot("b"), slot(" c "), text(".")]
        );
        assert_eq!(split_braces("").unwrap(), vec![]);
    }

    #[test]
    fn reports_unclosed_and_stray_braces() {
        assert_eq!(
            split_braces("x {ab"),
            Err(BraceError::Unclosed("ab".to_owned()))
        );
        assert_eq!(split_braces("x } y"), Err(BraceError::Stray));
        // `}}}` is an escaped brace followed by a stray one.
        assert_eq!(split_braces("}}}"), Err(BraceError::Stray));
    }
}
