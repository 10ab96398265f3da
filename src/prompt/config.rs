//! What a prompt looks like: templates per item type, system prompt, few-shot
//! examples; and [`PromptSpec`], the same as plain text for exam plans.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::template::{Template, TemplateRole};
use crate::bank::{Item, ItemBank, ItemType};
use crate::error::{Error, Result};

/// The default question template for multiple-choice items.
pub const MULTIPLE_CHOICE: &str = "Answer the following multiple-choice question. \
Reason step by step, then end your reply with \"The answer is (X)\", where X is \
the letter ({first_letter}-{last_letter}) of the correct option.\n\
\n\
Question: {question}\n\
Options:\n\
{choices}\n\
Answer: Let's think step by step.";

/// The default question template for exact-match and regex items.
pub const SHORT_ANSWER: &str = "Answer the following question. Reason step by step, \
then end your reply with \"The answer is X\", where X is your final answer, as short \
as possible.\n\
\n\
Question: {question}\n\
Answer: Let's think step by step.";

/// The default question template for numeric items.
pub const NUMERIC: &str = "Answer the following question. Reason step by step, \
then end your reply with \"The answer is X\", where X is a single number.\n\
\n\
Question: {question}\n\
Answer: Let's think step by step.";

/// The default choice line: `A. Paris`.
pub const CHOICE_LINE: &str = "{letter}. {choice}";

/// The default answer of a multiple-choice few-shot example.
pub const EXAMPLE_ANSWER_CHOICE: &str = "The answer is ({answer}).";

/// The default answer of other few-shot examples.
pub const EXAMPLE_ANSWER: &str = "The answer is {answer}.";

/// How few-shot examples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FewShotStyle {
    /// As earlier chat turns: a user message with the example's question and
    /// an assistant message with its answer, per example.
    #[default]
    Messages,
    /// In the one user message, each example's question followed by its
    /// answer, before the asked question.
    Inline,
}

/// Everything that decides how an item is turned into a prompt.
///
/// ```
/// use fangsheng::bank::{Item, ItemType};
/// use fangsheng::prompt::{PromptConfig, render};
///
/// let config = PromptConfig::default()
///     .with_system("You are a careful expert.")
///     .with_template(ItemType::Exact, "Q: {question}\nA:")?;
/// let item = Item::open("q1", "Capital of France?", ItemType::Exact, "Paris");
/// let prompt = render(&item, &config);
/// assert_eq!(prompt.messages()[0].content, "Q: Capital of France?\nA:");
/// assert!(!prompt.text().contains("Paris"));
/// # Ok::<(), fangsheng::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PromptConfig {
    pub(super) system: Option<String>,
    /// Question templates in [`ItemType::ALL`] order.
    pub(super) templates: [Template; 4],
    /// Few-shot answer templates in [`ItemType::ALL`] order.
    pub(super) example_answers: [Template; 4],
    pub(super) choice_line: Template,
    pub(super) few_shot: Vec<Item>,
    pub(super) few_shot_style: FewShotStyle,
    pub(super) few_shot_per_category: Option<usize>,
    pub(super) preamble: Option<Template>,
}

pub(super) fn type_index(kind: ItemType) -> usize {
    ItemType::ALL
        .iter()
        .position(|&t| t == kind)
        .unwrap_or_default()
}

fn builtin(source: &str, role: TemplateRole) -> Template {
    // The built-in templates are constants checked by the tests below.
    Template::parse(source, role).unwrap_or_else(|e| unreachable!("built-in template: {e}"))
}

impl Default for PromptConfig {
    fn default() -> Self {
        let q = |s| builtin(s, TemplateRole::Question);
        let a = |s| builtin(s, TemplateRole::ExampleAnswer);
        PromptConfig {
            system: None,
            templates: [
                q(MULTIPLE_CHOICE),
                q(SHORT_ANSWER),
                q(NUMERIC),
                q(SHORT_ANSWER),
            ],
            example_answers: [
                a(EXAMPLE_ANSWER_CHOICE),
                a(EXAMPLE_ANSWER),
                a(EXAMPLE_ANSWER),
                a(EXAMPLE_ANSWER),
            ],
            choice_line: builtin(CHOICE_LINE, TemplateRole::ChoiceLine),
            few_shot: Vec::new(),
            few_shot_style: FewShotStyle::default(),
            few_shot_per_category: None,
            preamble: None,
        }
    }
}

impl PromptConfig {
    /// Sets the system prompt.
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the question template of items of type `kind`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a malformed
    /// template ([`Template::parse`] with [`TemplateRole::Question`]).
    pub fn with_template(mut self, kind: ItemType, source: &str) -> Result<Self> {
        self.templates[type_index(kind)] = Template::parse(source, TemplateRole::Question)?;
        Ok(self)
    }

    /// Sets the question template of every item type.
    ///
    /// # Errors
    /// As [`PromptConfig::with_template`].
    pub fn with_template_all(mut self, source: &str) -> Result<Self> {
        let t = Template::parse(source, TemplateRole::Question)?;
        self.templates = std::array::from_fn(|_| t.clone());
        Ok(self)
    }

    /// Sets how each choice is written (default `{letter}. {choice}`).
    ///
    /// # Errors
    /// As [`Template::parse`] with [`TemplateRole::ChoiceLine`].
    pub fn with_choice_line(mut self, source: &str) -> Result<Self> {
        self.choice_line = Template::parse(source, TemplateRole::ChoiceLine)?;
        Ok(self)
    }

    /// Sets how the answer of a few-shot example of type `kind` is written.
    ///
    /// # Errors
    /// As [`Template::parse`] with [`TemplateRole::ExampleAnswer`].
    pub fn with_example_answer(mut self, kind: ItemType, source: &str) -> Result<Self> {
        self.example_answers[type_index(kind)] =
            Template::parse(source, TemplateRole::ExampleAnswer)?;
        Ok(self)
    }

    /// Sets the few-shot examples: items shown with their answers before the
    /// asked question. An example that is the asked item itself (same id or
    /// same question text) is left out of that item's prompt, so an item's
    /// key never reaches the model when it is asked.
    ///
    /// # Errors
    /// [`ErrorKind::Value`](crate::ErrorKind::Value) for a malformed example
    /// ([`Item::check`]).
    pub fn with_few_shot(mut self, examples: Vec<Item>, style: FewShotStyle) -> Result<Self> {
        for e in &examples {
            e.check()?;
        }
        self.few_shot = examples;
        self.few_shot_style = style;
        Ok(self)
    }

    /// Shows each asked item only the first `n` examples of its own
    /// category (MMLU-Pro's harness shows five).
    pub fn with_few_shot_per_category(mut self, n: usize) -> Self {
        self.few_shot_per_category = Some(n);
        self
    }

    /// Sets a text that opens the prompt once, before any worked example:
    /// a question-role template, so `{category}` names the asked item's
    /// category.
    ///
    /// # Errors
    /// As [`Template::parse`] with [`TemplateRole::Question`].
    pub fn with_preamble(mut self, source: &str) -> Result<Self> {
        self.preamble = Some(Template::parse(source, TemplateRole::Question)?);
        Ok(self)
    }

    /// The system prompt.
    pub fn system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    /// The question template for items of type `kind`.
    pub fn template(&self, kind: ItemType) -> &Template {
        &self.templates[type_index(kind)]
    }

    /// The few-shot examples.
    pub fn few_shot(&self) -> &[Item] {
        &self.few_shot
    }

    /// How each choice line is written.
    pub fn choice_line(&self) -> &Template {
        &self.choice_line
    }
}

/// A prompt configuration as written in an exam plan (TOML or JSON), or in
/// a bank folder's [`PROMPT_FILE`] (the same keys at top level), the
/// bank's own prompt:
///
/// ```toml
/// [prompt]
/// format = "my-format-1"                          # the name results record
/// system = "You are an expert."
/// template = "Q: {question}\n{choices}\nAnswer:"   # all types
/// [prompt.templates]
/// numeric = "Compute: {question}\nAnswer:"        # one type
/// choice_line = "({letter}) {choice}"
/// few_shot = ["70", "71"]                          # bank item ids
/// few_shot_style = "inline"
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// Name of the prompt format, recorded with each result and compared
    /// with the format the calibration runs were answered under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// System prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Question template for every type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Question templates per type name (override `template`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub templates: std::collections::BTreeMap<String, String>,
    /// Choice line template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice_line: Option<String>,
    /// Few-shot answer templates per type name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub example_answers: std::collections::BTreeMap<String, String>,
    /// Ids of bank items to show as worked examples.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub few_shot: Vec<String>,
    /// Layout of the examples.
    #[serde(default)]
    pub few_shot_style: FewShotStyle,
    /// A file of worked examples (items in the bank format, JSON Lines,
    /// gzip allowed; an item's `meta.rationale` is its `{rationale}`),
    /// shown besides those of `few_shot`. A relative path is read from the
    /// bank folder for a bank's own [`PROMPT_FILE`], else from the current
    /// folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot_file: Option<String>,
    /// Show each asked item only the first N examples of its own category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub few_shot_per_category: Option<usize>,
    /// A text opening the prompt once, before any example (a question
    /// template: `{category}` names the asked item's category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preamble: Option<String>,
    /// The folder relative `few_shot_file` paths are read from.
    #[serde(skip)]
    pub base_dir: Option<std::path::PathBuf>,
}

/// The file of a bank folder that holds the bank's own prompt (the format
/// its calibration runs were answered under, or the nearest the bank
/// ships), used when an exam plan sets none.
pub const PROMPT_FILE: &str = "prompt.toml";

/// The format name of the built-in prompt.
pub const DEFAULT_FORMAT: &str = "fangsheng-default";

/// The format name of prompt settings that give none.
pub const UNNAMED_FORMAT: &str = "unnamed";

impl PromptSpec {
    /// The bank folder `dir`'s own prompt ([`PROMPT_FILE`]), `None` when it
    /// has none.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) naming the file for
    /// TOML that is not a prompt; [`ErrorKind::Io`](crate::ErrorKind::Io)
    /// when it cannot be read.
    pub fn of_bank(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(PROMPT_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        let text = crate::io::read_to_string(&path)?;
        let spec: PromptSpec = toml::from_str(&text)
            .map_err(|e| Error::config(format!("not a prompt: {e}")).in_file(&path))?;
        Ok(Some(PromptSpec {
            base_dir: Some(dir.to_path_buf()),
            ..spec
        }))
    }

    /// The name results record: `format`, else [`DEFAULT_FORMAT`] for the
    /// built-in prompt and [`UNNAMED_FORMAT`] for other settings.
    pub fn format_name(&self) -> &str {
        match &self.format {
            Some(name) => name,
            None if *self == PromptSpec::default() => DEFAULT_FORMAT,
            None => UNNAMED_FORMAT,
        }
    }

    /// SHA-256 of the settings as JSON (fields in declaration order, maps
    /// sorted) and, with a `few_shot_file`, of that file's bytes: equal
    /// hashes, the same prompt for every item of a bank.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the examples file cannot
    /// be read.
    pub fn hash(&self) -> Result<String> {
        let mut text = serde_json::to_string(self).unwrap_or_default();
        if let Some(path) = self.few_shot_path() {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            text.push('\n');
            text.push_str(&crate::io::sha256_hex(&bytes));
        }
        Ok(crate::io::sha256_hex(text.as_bytes()))
    }

    /// Where `few_shot_file` is read from.
    fn few_shot_path(&self) -> Option<std::path::PathBuf> {
        let file = Path::new(self.few_shot_file.as_deref()?);
        Some(match &self.base_dir {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_path_buf(),
        })
    }

    /// Builds the configuration, taking few-shot examples from `bank`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for a malformed
    /// template, an unknown type name, or a few-shot id not in the bank.
    pub fn build(&self, bank: &ItemBank) -> Result<PromptConfig> {
        let mut config = PromptConfig::default();
        if let Some(s) = &self.system {
            config = config.with_system(s.clone());
        }
        if let Some(t) = &self.template {
            config = config.with_template_all(t)?;
        }
        for (name, t) in &self.templates {
            config = config.with_template(ItemType::parse(name).map_err(to_config)?, t)?;
        }
        if let Some(t) = &self.choice_line {
            config = config.with_choice_line(t)?;
        }
        for (name, t) in &self.example_answers {
            config = config.with_example_answer(ItemType::parse(name).map_err(to_config)?, t)?;
        }
        let mut examples = self
            .few_shot
            .iter()
            .map(|id| {
                bank.get(id).cloned().ok_or_else(|| {
                    Error::config(format!(
                        "few-shot item '{id}' is not in bank '{}'",
                        bank.name()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(path) = self.few_shot_path() {
            let text = crate::io::read_to_string(&path)?;
            examples.extend(
                ItemBank::from_jsonl("few-shot", &text, &path)?
                    .items()
                    .to_vec(),
            );
        }
        if let Some(t) = &self.preamble {
            config = config.with_preamble(t)?;
        }
        if let Some(n) = self.few_shot_per_category {
            config = config.with_few_shot_per_category(n);
        }
        config.with_few_shot(examples, self.few_shot_style)
    }
}

fn to_config(e: Error) -> Error {
    Error::config(e.message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_parse() {
        for s in [MULTIPLE_CHOICE, SHORT_ANSWER, NUMERIC] {
            Template::parse(s, TemplateRole::Question).unwrap();
        }
        Template::parse(CHOICE_LINE, TemplateRole::ChoiceLine).unwrap();
        for s in [EXAMPLE_ANSWER, EXAMPLE_ANSWER_CHOICE] {
            Template::parse(s, TemplateRole::ExampleAnswer).unwrap();
        }
    }
}
