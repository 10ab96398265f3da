//! Prompt templates: text with `{placeholder}`s, checked when parsed.

use std::fmt;

use super::braces::{BraceError, Braced, split_braces};
use crate::error::{Error, Result};

/// A value a template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{question}`: the question text.
    Question,
    /// `{choices}`: the lettered choices, one per line (`A. ...`), formatted
    /// by [`PromptConfig::choice_line`](super::PromptConfig::choice_line).
    Choices,
    /// `{n_choices}`: how many choices there are.
    NChoices,
    /// `{letters}`: the choice letters, `A, B, C, D`.
    Letters,
    /// `{first_letter}`: `A`.
    FirstLetter,
    /// `{last_letter}`: the last choice's letter.
    LastLetter,
    /// `{category}`: the item's category (empty when it has none).
    Category,
    /// `{dimension}`: the item's dimension (empty when it has none).
    Dimension,
    /// `{letter}`: in a choice line, the choice's letter.
    Letter,
    /// `{choice}`: in a choice line, the choice's text.
    Choice,
    /// `{answer}`: in a few-shot example's answer, the example's key.
    Answer,
    /// `{rationale}`: in a few-shot example's answer, its worked solution
    /// (the item's `meta.rationale`; empty when it has none).
    Rationale,
}

impl Placeholder {
    const ALL: [Placeholder; 12] = [
        Placeholder::Question,
        Placeholder::Choices,
        Placeholder::NChoices,
        Placeholder::Letters,
        Placeholder::FirstLetter,
        Placeholder::LastLetter,
        Placeholder::Category,
        Placeholder::Dimension,
        Placeholder::Letter,
        Placeholder::Choice,
        Placeholder::Answer,
        Placeholder::Rationale,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Question => "question",
            Placeholder::Choices => "choices",
            Placeholder::NChoices => "n_choices",
            Placeholder::Letters => "letters",
            Placeholder::FirstLetter => "first_letter",
            Placeholder::LastLetter => "last_letter",
            Placeholder::Category => "category",
            Placeholder::Dimension => "dimension",
            Placeholder::Letter => "letter",
            Placeholder::Choice => "choice",
            Placeholder::Answer => "answer",
            Placeholder::Rationale => "rationale",
        }
    }
}

/// Where a template is used, which decides the placeholders it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateRole {
    /// A question template: `{question}`, `{choices}`, `{n_choices}`,
    /// `{letters}`, `{first_letter}`, `{last_letter}`, `{category}`,
    /// `{dimension}`. Never `{answer}`: the key of the asked item has no way
    /// into its prompt.
    Question,
    /// A choice line: `{letter}` and `{choice}`.
    ChoiceLine,
    /// The answer of a few-shot example: `{answer}` (its key; for multiple
    /// choice the letter), `{choice}` (the correct choice's text, empty
    /// for other types) and `{rationale}` (its worked solution).
    ExampleAnswer,
}

impl TemplateRole {
    fn allows(self, p: Placeholder) -> bool {
        use Placeholder::*;
        match self {
            TemplateRole::Question => !matches!(p, Letter | Choice | Answer | Rationale),
            TemplateRole::ChoiceLine => matches!(p, Letter | Choice),
            TemplateRole::ExampleAnswer => matches!(p, Answer | Choice | Rationale),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Value(Placeholder),
}

/// A parsed template. `{{` and `}}` stand for literal braces.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl Template {
    /// Parses `source` for use as `role`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unclosed `{`, a
    /// stray `}`, an unknown placeholder, or one not allowed in this role
    /// (for example `{answer}` in a question template), naming it and listing
    /// the allowed ones.
    pub fn parse(source: &str, role: TemplateRole) -> Result<Self> {
        let allowed = || {
            Placeholder::ALL
                .iter()
                .filter(|p| role.allows(**p))
                .map(|p| format!("{{{}}}", p.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pieces = split_braces(source).map_err(|e| match e {
            BraceError::Unclosed(name) => Error::config(format!(
                "template has an unclosed '{{{name}' (write '{{{{' for a literal brace)"
            )),
            BraceError::Stray => {
                Error::config("template has a stray '}' (write '}}' for a literal brace)")
            }
        })?;
        let mut segments = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let name = match piece {
                Braced::Text(text) => {
                    segments.push(Segment::Text(text));
                    continue;
                }
                Braced::Placeholder(name) => name,
            };
            let Some(p) = Placeholder::ALL
                .into_iter()
                .find(|p| p.name() == name.trim())
            else {
                return Err(Error::config(format!(
                    "unknown placeholder '{{{name}}}' in template (allowed: {})",
                    allowed()
                )));
            };
            if !role.allows(p) {
                return Err(Error::config(format!(
                    "placeholder '{{{name}}}' is not allowed here (allowed: {})",
                    allowed()
                )));
            }
            segments.push(Segment::Value(p));
        }
        Ok(Template {
            source: source.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template uses placeholder `p`.
    pub fn uses(&self, p: Placeholder) -> bool {
        self.segments.contains(&Segment::Value(p))
    }

    /// Fills the placeholders with `value(p)`.
    pub(crate) fn fill(&self, value: impl Fn(Placeholder) -> String) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Value(p) => out.push_str(&value(*p)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escapes() {
        let t = Template::parse("{{x}} {question}? {n_choices}", TemplateRole::Question).unwrap();
        let out = t.fill(|p| match p {
            Placeholder::Question => "Why".into(),
            Placeholder::NChoices => "4".into(),
            _ => unreachable!(),
        });
        assert_eq!(out, "{x} Why? 4");
        assert!(t.uses(Placeholder::Question));
        assert!(!t.uses(Placeholder::Choices));
    }

    #[test]
    fn bad_templates_are_config_errors() {
        for (src, role, msg) in [
            ("{question", TemplateRole::Question, "unclosed"),
            ("a } b", TemplateRole::Question, "stray"),
            (
                "{nope}",
                TemplateRole::Question,
                "unknown placeholder '{nope}'",
            ),
            ("{answer}", TemplateRole::Question, "not allowed"),
            ("{question}", TemplateRole::ChoiceLine, "not allowed"),
        ] {
            let e = Template::parse(src, role).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config);
            assert!(e.to_string().contains(msg), "{src}: {e}");
        }
    }
}
