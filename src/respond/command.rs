//! A program as the model: the prompt goes to its stdin, the answer comes
//! from its stdout.

use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Backend, BackendError, BackendErrorKind, Reply};
use crate::bank::Item;
use crate::prompt::{Message, Prompt};

/// What the program reads on stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommandInput {
    /// The prompt as plain text ([`Prompt::text`]).
    #[default]
    Text,
    /// The prompt as one JSON object `{"system": .., "messages": [..]}`.
    Json,
}

/// Settings of a [`Command`] backend.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandConfig {
    /// The program and its arguments (run directly, not through a shell).
    pub argv: Vec<String>,
    /// Limit on one run (default 300 s); the program is killed past it.
    pub timeout: Duration,
    /// What the program reads.
    pub input: CommandInput,
}

impl CommandConfig {
    /// Runs `argv` with the default timeout, plain-text input.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        CommandConfig {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout: Duration::from_secs(300),
            input: CommandInput::Text,
        }
    }
}

/// Runs a program once per prompt.
#[derive(Debug, Clone)]
pub struct Command {
    config: CommandConfig,
}

impl Command {
    /// A backend running `config.argv`.
    ///
    /// # Errors
    /// [`BackendErrorKind::Config`] when `argv` is empty.
    pub fn new(config: CommandConfig) -> Result<Self, BackendError> {
        if config.argv.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(BackendError::new(
                BackendErrorKind::Config,
                "the command backend needs a program to run",
            ));
        }
        Ok(Command { config })
    }

    fn program(&self) -> &str {
        &self.config.argv[0]
    }

    fn input(&self, prompt: &Prompt) -> Vec<u8> {
        match self.config.input {
            CommandInput::Text => prompt.text().into_bytes(),
            CommandInput::Json => {
                #[derive(Serialize)]
                struct Input<'a> {
                    system: Option<&'a str>,
                    messages: &'a [Message],
                }
                serde_json::to_vec(&Input {
                    system: prompt.system(),
                    messages: prompt.messages(),
                })
                .unwrap_or_default()
            }
        }
    }

    fn error(&self, kind: BackendErrorKind, what: impl std::fmt::Display) -> BackendError {
        BackendError::new(kind, format!("command '{}': {what}", self.program()))
    }
}

fn read_all(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error ends the output early; what was read is kept.
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

/// The last 500 characters of stderr, trimmed.
fn stderr_excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let start = text.char_indices().rev().nth(499).map_or(0, |(i, _)| i);
    if text.is_empty() {
        "(no stderr)".to_owned()
    } else if start > 0 {
        format!("...{}", &text[start..])
    } else {
        text.to_owned()
    }
}

impl Backend for Command {
    fn describe(&self) -> String {
        format!("command {}", self.config.argv.join(" "))
    }

    fn ask(&self, prompt: &Prompt, _item: &Item) -> Result<Reply, BackendError> {
        let start = Instant::now();
        let mut child: Child = std::process::Command::new(self.program())
            .args(&self.config.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.error(BackendErrorKind::Command, format!("cannot start: {e}")))?;
        let input = self.input(prompt);
        let mut stdin = child.stdin.take();
        let writer = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                // A program that does not read its input closes the pipe
                // early; that is its business, not an error.
                let _ = s.write_all(&input);
            }
        });
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= self.config.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // The readers may wait on a grandchild still holding the
                    // pipes; they end with it and are not joined here.
                    return Err(self.error(
                        BackendErrorKind::Timeout,
                        format!("no answer within {:?}; killed", self.config.timeout),
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    let _ = child.kill();
                    return Err(self.error(BackendErrorKind::Command, e));
                }
            }
        };
        let _ = writer.join();
        let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
        let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        if !status.success() {
            return Err(self.error(
                BackendErrorKind::Command,
                format!("exited with {status}: {}", stderr_excerpt(&err)),
            ));
        }
        let elapsed = start.elapsed();
        Ok(Reply {
            text: String::from_utf8_lossy(&out).into_owned(),
            latency: elapsed,
            elapsed,
            usage: None,
            attempts: 1,
            retried: Vec::new(),
        })
    }
}
