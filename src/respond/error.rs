//! Backend failures.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// What kind of failure a backend met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// A replay has no recorded output for the item: the exam skips to
    /// another item and counts it.
    NotRecorded,
    /// The backend is configured wrongly (bad endpoint URL, empty command,
    /// an item the simulation has no parameters for).
    Config,
    /// The connection failed, was refused, or was closed mid-response.
    Transport,
    /// The request took longer than its timeout.
    Timeout,
    /// The endpoint answered with an error status
    /// ([`BackendError::status`]).
    Status,
    /// The endpoint's answer was not the expected JSON.
    Malformed,
    /// The command could not run or exited with an error.
    Command,
}

/// A backend failure, with the number of attempts made. Its message names
/// the endpoint or program and never contains an API key.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendError {
    kind: BackendErrorKind,
    message: String,
    status: Option<u16>,
    attempts: u32,
}

impl BackendError {
    /// A new error after one attempt.
    pub fn new(kind: BackendErrorKind, message: impl Into<String>) -> Self {
        BackendError {
            kind,
            message: message.into(),
            status: None,
            attempts: 1,
        }
    }

    /// An HTTP error status.
    pub fn status_code(status: u16, message: impl Into<String>) -> Self {
        BackendError {
            status: Some(status),
            ..Self::new(BackendErrorKind::Status, message)
        }
    }

    /// The same error after `attempts` attempts.
    pub fn after(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The same error with its message replaced.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// What happened.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status, for [`BackendErrorKind::Status`].
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Attempts made before giving up.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether trying again may succeed: dropped connections, timeouts,
    /// malformed answers, and the statuses 408, 409, 425, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            BackendErrorKind::Transport
            | BackendErrorKind::Timeout
            | BackendErrorKind::Malformed => true,
            BackendErrorKind::Status => {
                matches!(self.status, Some(408 | 409 | 425 | 429 | 500..=599))
            }
            _ => false,
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {}

impl From<BackendError> for Error {
    fn from(e: BackendError) -> Self {
        let kind = match e.kind {
            BackendErrorKind::Config => ErrorKind::Config,
            BackendErrorKind::NotRecorded => ErrorKind::Item,
            _ => ErrorKind::Io,
        };
        Error::new(kind, e.message.clone()).with_source(e)
    }
}
