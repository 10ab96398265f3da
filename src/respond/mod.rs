//! Who answers an exam's questions: a [`Backend`] takes a rendered
//! [`Prompt`] and returns the model's raw text as a [`Reply`].
//!
//! - [`OpenAi`]: an OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama,
//!   llama.cpp server, ...), with timeouts, retries and a concurrency limit;
//! - [`Command`]: a program that reads the prompt on stdin and writes the
//!   answer on stdout;
//! - [`Replay`]: recorded raw outputs of a past run, so recorded runs go
//!   through the same answer extraction as live ones;
//! - [`Simulated`]: a model of known ability answering with the calibrated
//!   probabilities.
//!
//! Backends only fetch text; grading it is the job of `crate::grade`. All are
//! `Send + Sync`: a campaign asks one backend from several threads.

mod argv;
mod command;
mod error;
mod openai;
mod replay;
mod retry;
mod semaphore;
mod simulated;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use argv::split_command_line;
pub use command::{Command, CommandConfig, CommandInput};
pub use error::{BackendError, BackendErrorKind};
pub use openai::{ApiKey, ApiKeySource, DEFAULT_API_KEY_ENV, OpenAi, OpenAiConfig};
pub use replay::Replay;
pub use retry::{RetryPolicy, parse_retry_after};
pub use semaphore::{Permit, Semaphore};
pub use simulated::Simulated;

use crate::bank::Item;
use crate::prompt::Prompt;

/// Tokens a request used, as reported by the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt.
    pub prompt: u64,
    /// Tokens in the completion.
    pub completion: u64,
}

/// A backend's answer to one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The model's raw output.
    pub text: String,
    /// Time of the request that succeeded.
    pub latency: Duration,
    /// Time from the first attempt to the reply, waits between retries
    /// included.
    pub elapsed: Duration,
    /// Token usage, when the backend reports it.
    pub usage: Option<TokenUsage>,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
    /// Why each failed attempt failed, in order (for journals and logs).
    pub retried: Vec<String>,
}

impl Reply {
    /// A reply that took no time and one attempt (replayed or simulated).
    pub fn immediate(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            latency: Duration::ZERO,
            elapsed: Duration::ZERO,
            usage: None,
            attempts: 1,
            retried: Vec::new(),
        }
    }
}

/// What a backend sends to a model besides the prompt, as recorded in a
/// result (never a secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The model name sent.
    pub model: String,
    /// The endpoint, without credentials or query string.
    pub endpoint: String,
    /// The sampling parameters sent with every request: `temperature`,
    /// `max_tokens` when set, and any further body fields (`top_p`,
    /// `seed`, `stop`, ...).
    pub sampling: serde_json::Map<String, serde_json::Value>,
}

/// Something that answers prompts.
pub trait Backend: Send + Sync {
    /// A short description for results and logs (never a secret):
    /// `openai https://host/v1 model=name`.
    fn describe(&self) -> String;

    /// The model, endpoint and sampling parameters this backend sends, for
    /// the result; `None` for backends that send nothing to a model server
    /// (replayed, simulated, a local command).
    fn request(&self) -> Option<RequestRecord> {
        None
    }

    /// Asks `prompt`, the rendered form of `item`. Live backends use only
    /// the prompt; [`Replay`] and [`Simulated`] use the item's id (and key,
    /// to simulate), never sending it anywhere.
    ///
    /// # Errors
    /// A [`BackendError`] whose kind tells whether the exam can go on (for
    /// example [`BackendErrorKind::NotRecorded`]: skip to another item).
    fn ask(&self, prompt: &Prompt, item: &Item) -> Result<Reply, BackendError>;
}

impl<B: Backend + ?Sized> Backend for Box<B> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn request(&self) -> Option<RequestRecord> {
        (**self).request()
    }
    fn ask(&self, prompt: &Prompt, item: &Item) -> Result<Reply, BackendError> {
        (**self).ask(prompt, item)
    }
}

impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn request(&self) -> Option<RequestRecord> {
        (**self).request()
    }
    fn ask(&self, prompt: &Prompt, item: &Item) -> Result<Reply, BackendError> {
        (**self).ask(prompt, item)
    }
}
