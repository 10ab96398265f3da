//! Turning an item into the prompt a model is sent.
//!
//! [`render`] fills the question template of the item's type
//! ([`PromptConfig`]) with the question and its lettered choices, adds the
//! system prompt and any few-shot examples, and returns a [`Prompt`]: chat
//! messages plus the SHA-256 of exactly what was rendered, which exam
//! journals record.
//!
//! The answer key never reaches the model: question templates cannot name
//! the answer (`{answer}` is refused there), and a few-shot example that is
//! the asked item itself is left out of its prompt. The rendered prompt is
//! therefore the same whatever the item's key is, which the tests check.
//!
//! ```
//! use fangsheng::bank::Item;
//! use fangsheng::prompt::{PromptConfig, render};
//!
//! let item = Item::multiple_choice("q1", "2 + 2 = ?", vec!["3".into(), "4".into()], 'B');
//! let prompt = render(&item, &PromptConfig::default());
//! let text = prompt.text();
//! assert!(text.contains("Question: 2 + 2 = ?\nOptions:\nA. 3\nB. 4\n"));
//! assert!(text.contains("\"The answer is (X)\""));
//! assert_eq!(prompt.hash().len(), 64);
//! ```

pub(crate) mod braces;
mod config;
mod template;

use serde::{Deserialize, Serialize};

pub use config::{
    CHOICE_LINE, DEFAULT_FORMAT, EXAMPLE_ANSWER, EXAMPLE_ANSWER_CHOICE, FewShotStyle,
    MULTIPLE_CHOICE, NUMERIC, PROMPT_FILE, PromptConfig, PromptSpec, SHORT_ANSWER, UNNAMED_FORMAT,
};
pub use template::{Placeholder, Template, TemplateRole};

use crate::bank::{Item, letter};

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions ahead of the conversation.
    System,
    /// The examiner.
    User,
    /// The model (few-shot answers).
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A rendered prompt: an optional system prompt and the conversation, the
/// last message being the asked question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    system: Option<String>,
    messages: Vec<Message>,
    hash: String,
}

impl Prompt {
    /// A prompt from its parts (the hash is computed here).
    pub fn new(system: Option<String>, messages: Vec<Message>) -> Self {
        let hash = hash_of(system.as_deref(), &messages);
        Prompt {
            system,
            messages,
            hash,
        }
    }

    /// The system prompt.
    pub fn system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    /// The conversation without the system prompt.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The messages of a chat request: the system prompt first, if any.
    pub fn chat_messages(&self) -> Vec<Message> {
        self.system
            .iter()
            .map(|s| Message {
                role: Role::System,
                content: s.clone(),
            })
            .chain(self.messages.iter().cloned())
            .collect()
    }

    /// The prompt as one text, for backends that take plain text: the system
    /// prompt and every message's content, separated by blank lines.
    pub fn text(&self) -> String {
        self.system
            .iter()
            .map(String::as_str)
            .chain(self.messages.iter().map(|m| m.content.as_str()))
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// The content of the last message: the asked question.
    pub fn question(&self) -> &str {
        self.messages.last().map_or("", |m| m.content.as_str())
    }

    /// SHA-256 (lower-case hex) of the rendered content, the JSON text
    /// `{"system":<string or null>,"messages":[{"role":..,"content":..},..]}`
    /// without spaces: equal hashes mean the model was sent the same thing.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

fn hash_of(system: Option<&str>, messages: &[Message]) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        system: Option<&'a str>,
        messages: &'a [Message],
    }
    let text = serde_json::to_string(&Canonical { system, messages }).unwrap_or_default();
    crate::io::sha256_hex(text.as_bytes())
}

/// Renders `item` as a prompt under `config`.
pub fn render(item: &Item, config: &PromptConfig) -> Prompt {
    let examples: Vec<&Item> = config
        .few_shot
        .iter()
        .filter(|e| !is_same_question(e, item))
        .filter(|e| config.few_shot_per_category.is_none() || e.category == item.category)
        .take(config.few_shot_per_category.unwrap_or(usize::MAX))
        .collect();
    let question = question_text(item, config);
    // The preamble opens the (first) user message, before any example.
    let preamble = config
        .preamble
        .as_ref()
        .map(|t| fill_question(t, item, config))
        .unwrap_or_default();
    let messages = match config.few_shot_style {
        FewShotStyle::Messages => {
            let mut m = Vec::with_capacity(2 * examples.len() + 1);
            for e in &examples {
                m.push(Message::user(question_text(e, config)));
                m.push(Message::assistant(example_answer(e, config)));
            }
            m.push(Message::user(question));
            m[0].content.insert_str(0, &preamble);
            m
        }
        FewShotStyle::Inline => {
            let mut text = preamble;
            for e in &examples {
                text.push_str(&question_text(e, config));
                text.push(' ');
                text.push_str(&example_answer(e, config));
                text.push_str("\n\n");
            }
            text.push_str(&question);
            vec![Message::user(text)]
        }
    };
    Prompt::new(config.system.clone(), messages)
}

/// An example is the asked item when it has its id or its question text
/// (compared ignoring case and runs of whitespace): banks may hold the same
/// question twice under two ids, and showing one's answer would give the
/// other's away.
fn is_same_question(example: &Item, asked: &Item) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    example.id == asked.id || norm(&example.question) == norm(&asked.question)
}

/// The item's question through its type's template. Only the question, the
/// choices and descriptive fields are available to the template.
fn question_text(item: &Item, config: &PromptConfig) -> String {
    fill_question(config.template(item.kind), item, config)
}

/// `template`, a question-role template, filled with `item`'s question,
/// choices and descriptive fields.
fn fill_question(template: &Template, item: &Item, config: &PromptConfig) -> String {
    let n = item.choices.len().min(crate::bank::MAX_CHOICES);
    template.fill(|p| match p {
        Placeholder::Question => item.question.clone(),
        Placeholder::Choices => item.choices[..n]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                config.choice_line.fill(|q| match q {
                    Placeholder::Letter => letter(i).to_string(),
                    Placeholder::Choice => c.clone(),
                    _ => String::new(),
                })
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Placeholder::NChoices => n.to_string(),
        Placeholder::Letters => (0..n)
            .map(|i| letter(i).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        Placeholder::FirstLetter => {
            if n > 0 {
                "A".into()
            } else {
                String::new()
            }
        }
        Placeholder::LastLetter => {
            if n > 0 {
                letter(n - 1).to_string()
            } else {
                String::new()
            }
        }
        Placeholder::Category => item.category.clone().unwrap_or_default(),
        Placeholder::Dimension => item.dimension.clone().unwrap_or_default(),
        // Refused in question templates by `Template::parse`.
        Placeholder::Letter
        | Placeholder::Choice
        | Placeholder::Answer
        | Placeholder::Rationale => String::new(),
    })
}

/// A worked example's answer: its key through the answer template.
fn example_answer(example: &Item, config: &PromptConfig) -> String {
    let choice = example
        .key_index()
        .map(|i| example.choices[i].clone())
        .unwrap_or_default();
    config.example_answers[config::type_index(example.kind)].fill(|p| match p {
        Placeholder::Answer => example.answer.clone(),
        Placeholder::Choice => choice.clone(),
        Placeholder::Rationale => example
            .meta
            .get("rationale")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    })
}

#[cfg(test)]
mod tests;
