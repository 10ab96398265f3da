//! OpenAI-compatible chat endpoints: `POST <endpoint>/chat/completions`.
//!
//! The request body is `{"model", "messages", "temperature", "max_tokens"}`
//! (plus any extra fields of the configuration); the reply's text is
//! `choices[0].message.content` and its token counts `usage.prompt_tokens`
//! and `usage.completion_tokens`. OpenAI, vLLM, Ollama, llama.cpp's server
//! and most hosted models speak this.
//!
//! The API key is read once, from an environment variable, and is only ever
//! written into the `Authorization` header: `Debug` shows it as
//! `<redacted>`, and error messages (which may quote the server's reply) have
//! it masked.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::retry::{RetryPolicy, parse_retry_after};
use super::semaphore::Semaphore;
use super::{Backend, BackendError, BackendErrorKind, Reply, RequestRecord, TokenUsage};
use crate::bank::Item;
use crate::prompt::Prompt;

/// The environment variable the API key is read from by default.
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// A secret API key. It has no `Display`, and its `Debug` prints
/// `ApiKey(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the API key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKeySource {
    /// No key: no `Authorization` header (local servers).
    None,
    /// The named environment variable; when it is unset or empty, no key.
    Env(String),
    /// This key.
    Value(ApiKey),
}

impl Default for ApiKeySource {
    fn default() -> Self {
        ApiKeySource::Env(DEFAULT_API_KEY_ENV.to_owned())
    }
}

impl ApiKeySource {
    /// The key, looking variables up with `env`.
    ///
    /// # Errors
    /// [`BackendErrorKind::Config`] when the variable is set but not UTF-8.
    fn resolve(
        &self,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Option<ApiKey>, BackendError> {
        match self {
            ApiKeySource::None => Ok(None),
            ApiKeySource::Value(k) => Ok(Some(k.clone()).filter(|k| !k.0.is_empty())),
            ApiKeySource::Env(name) => match env(name) {
                None => Ok(None),
                Some(v) => match v.into_string() {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(ApiKey(s.trim().to_owned()))),
                    Err(_) => Err(BackendError::new(
                        BackendErrorKind::Config,
                        format!("environment variable {name} is not valid UTF-8"),
                    )),
                },
            },
        }
    }
}

/// Settings of an [`OpenAi`] backend.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// Base URL, up to and without `/chat/completions`
    /// (`https://api.openai.com/v1`, `http://localhost:8000/v1`).
    pub endpoint: String,
    /// Model name sent as `model`.
    pub model: String,
    /// Sampling temperature (default 0: the most likely answer, for
    /// reproducible exams).
    pub temperature: f64,
    /// Longest completion, in tokens (default: the server's).
    pub max_tokens: Option<u32>,
    /// Where the API key comes from (default: `$OPENAI_API_KEY`, optional).
    pub api_key: ApiKeySource,
    /// Limit on one request, from connecting to the last byte of the reply
    /// (default 120 s).
    pub timeout: Duration,
    /// Retries (default [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Requests in flight at once through this backend (default 4).
    pub concurrency: usize,
    /// Further fields of the request body (`top_p`, `seed`, `stop`, ...).
    pub extra: Map<String, Value>,
}

impl OpenAiConfig {
    /// Defaults for `model` at `endpoint`.
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            endpoint: endpoint.into(),
            model: model.into(),
            temperature: 0.0,
            max_tokens: None,
            api_key: ApiKeySource::default(),
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            concurrency: 4,
            extra: Map::new(),
        }
    }
}

/// A chat-completions client with retries and a concurrency limit.
pub struct OpenAi {
    config: OpenAiConfig,
    url: String,
    key: Option<ApiKey>,
    agent: ureq::Agent,
    limiter: Arc<Semaphore>,
    rng: Mutex<ChaCha8Rng>,
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAi")
            .field("url", &self.url)
            .field("model", &self.config.model)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.config.timeout)
            .field("retry", &self.config.retry)
            .field("concurrency", &self.limiter.limit())
            .finish()
    }
}

/// One failed attempt: the error, and the server's `Retry-After`.
struct Failure {
    error: BackendError,
    retry_after: Option<Duration>,
}

impl From<BackendError> for Failure {
    fn from(error: BackendError) -> Self {
        Failure {
            error,
            retry_after: None,
        }
    }
}

impl OpenAi {
    /// A backend with its own concurrency limit of `config.concurrency`,
    /// reading the API key now.
    ///
    /// # Errors
    /// [`BackendErrorKind::Config`] for an endpoint that is not an `http://`
    /// or `https://` URL, or an API key variable that is not UTF-8.
    pub fn new(config: OpenAiConfig) -> Result<Self, BackendError> {
        let limiter = Arc::new(Semaphore::new(config.concurrency));
        Self::with_limiter(config, limiter)
    }

    /// A backend sharing `limiter` with others (for example every model
    /// served by one machine).
    ///
    /// # Errors
    /// As [`OpenAi::new`].
    pub fn with_limiter(
        config: OpenAiConfig,
        limiter: Arc<Semaphore>,
    ) -> Result<Self, BackendError> {
        let endpoint = config.endpoint.trim().trim_end_matches('/');
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(BackendError::new(
                BackendErrorKind::Config,
                format!("endpoint '{endpoint}' is not an http:// or https:// URL"),
            ));
        }
        let url = format!("{endpoint}/chat/completions");
        let key = config.api_key.resolve(|name| std::env::var_os(name))?;
        let mut builder = ureq::Agent::config_builder();
        if is_loopback(endpoint) {
            // A proxy from the environment cannot reach this machine's own
            // loopback server: talk to it directly.
            builder = builder.proxy(None);
        }
        let agent_config = builder
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("fangsheng/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(config.concurrency.max(1))
            .build();
        let rng = Mutex::new(ChaCha8Rng::seed_from_u64(config.retry.seed));
        Ok(OpenAi {
            url,
            key,
            agent: ureq::Agent::new_with_config(agent_config),
            limiter,
            rng,
            config,
        })
    }

    /// The full request URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether an API key will be sent.
    pub fn has_api_key(&self) -> bool {
        self.key.is_some()
    }

    /// The JSON body for `prompt`.
    fn body(&self, prompt: &Prompt) -> String {
        let mut body = json!({
            "model": self.config.model,
            "messages": prompt.chat_messages(),
            "temperature": self.config.temperature,
        });
        if let Value::Object(obj) = &mut body {
            if let Some(m) = self.config.max_tokens {
                obj.insert("max_tokens".into(), Value::from(m));
            }
            for (k, v) in &self.config.extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        body.to_string()
    }

    /// Masks the key in text that may quote it (a server echoing headers).
    fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(k) if !k.0.is_empty() => text.replace(&k.0, "<redacted>"),
            _ => text.to_owned(),
        }
    }

    /// One request, without retries.
    fn attempt(&self, body: &str) -> Result<(String, Option<TokenUsage>), Failure> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(k) = &self.key {
            request = request.header("Authorization", format!("Bearer {}", k.0));
        }
        let mut response = request
            .send(body)
            .map_err(|e| Failure::from(classify(&e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Failure::from(classify(&e)))?;
        if !(200..300).contains(&status) {
            let reason = http_reason(status);
            return Err(Failure {
                error: BackendError::status_code(
                    status,
                    format!("status {status} {reason}: {}", excerpt(&self.redact(&text))),
                ),
                retry_after,
            });
        }
        parse_completion(&text).map_err(Failure::from)
    }
}

/// `endpoint` without the credentials a URL may carry (`user:secret@`) or
/// its query string (some gateways take a key there), for results.
fn public_endpoint(endpoint: &str) -> String {
    let without_query = endpoint.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => without_query.to_owned(),
    }
}

impl Backend for OpenAi {
    fn describe(&self) -> String {
        format!("openai {} model={}", self.url, self.config.model)
    }

    fn request(&self) -> Option<RequestRecord> {
        let mut sampling = Map::new();
        sampling.insert("temperature".into(), Value::from(self.config.temperature));
        if let Some(m) = self.config.max_tokens {
            sampling.insert("max_tokens".into(), Value::from(m));
        }
        for (k, v) in &self.config.extra {
            sampling.insert(k.clone(), v.clone());
        }
        Some(RequestRecord {
            model: self.config.model.clone(),
            endpoint: public_endpoint(&self.config.endpoint),
            sampling,
        })
    }

    /// Sends the prompt, retrying failures that may pass
    /// ([`BackendError::is_retryable`]) up to `retry.max_attempts` attempts
    /// in all. The concurrency slot is held during each attempt and released
    /// while waiting to retry.
    fn ask(&self, prompt: &Prompt, _item: &Item) -> Result<Reply, BackendError> {
        let body = self.body(prompt);
        let start = Instant::now();
        let max_attempts = self.config.retry.max_attempts.max(1);
        let mut retried = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let t0 = Instant::now();
            let outcome = {
                let _permit = self.limiter.acquire();
                self.attempt(&body)
            };
            match outcome {
                Ok((text, usage)) => {
                    return Ok(Reply {
                        text,
                        latency: t0.elapsed(),
                        elapsed: start.elapsed(),
                        usage,
                        attempts: attempt,
                        retried,
                    });
                }
                Err(f) if f.error.is_retryable() && attempt < max_attempts => {
                    retried.push(f.error.message().to_owned());
                    let wait = {
                        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
                        self.config.retry.delay(attempt, f.retry_after, &mut *rng)
                    };
                    std::thread::sleep(wait);
                }
                Err(f) => {
                    let what = if f.error.is_retryable() {
                        format!("gave up after {attempt} attempts; last error")
                    } else {
                        format!(
                            "failed after {attempt} attempt{}",
                            if attempt == 1 { "" } else { "s" }
                        )
                    };
                    let message = format!("{}: {what}: {}", self.url, f.error.message());
                    return Err(f.error.after(attempt).with_message(message));
                }
            }
        }
    }
}

/// Whether the URL's host is this machine (`localhost`, `127.x.y.z`, `::1`).
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Sorts a transport-level failure of `ureq`.
fn classify(e: &ureq::Error) -> BackendError {
    use ureq::Error as E;
    let kind = match e {
        E::Timeout(_) => BackendErrorKind::Timeout,
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => BackendErrorKind::Timeout,
        E::BadUri(_) | E::Http(_) | E::RequireHttpsOnly(_) | E::InvalidProxyUrl => {
            BackendErrorKind::Config
        }
        _ => BackendErrorKind::Transport,
    };
    let message = match kind {
        BackendErrorKind::Timeout => format!("timed out ({e})"),
        BackendErrorKind::Transport => format!("connection failed ({e})"),
        _ => e.to_string(),
    };
    BackendError::new(kind, message)
}

/// The text and usage of a chat-completions response.
fn parse_completion(text: &str) -> Result<(String, Option<TokenUsage>), BackendError> {
    let malformed = |what: &str| {
        BackendError::new(
            BackendErrorKind::Malformed,
            format!("malformed response ({what}): {}", excerpt(text)),
        )
    };
    let v: Value = serde_json::from_str(text).map_err(|e| malformed(&format!("not JSON: {e}")))?;
    let message = v
        .get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .ok_or_else(|| malformed("no choices[0].message"))?;
    // A null content (a refusal or a tool call) is an empty answer, which
    // grades as unparseable, not a transport problem worth retrying.
    let content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(_) => return Err(malformed("choices[0].message.content is not text")),
    };
    let usage = v.get("usage").and_then(|u| {
        Some(TokenUsage {
            prompt: u.get("prompt_tokens")?.as_u64()?,
            completion: u.get("completion_tokens")?.as_u64()?,
        })
    });
    Ok((content, usage))
}

/// The first 200 characters of a reply body, on one line.
fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    match trimmed.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &trimmed[..i]),
        None if trimmed.is_empty() => "(empty body)".to_owned(),
        None => trimmed.to_owned(),
    }
}

fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_endpoints_carry_no_credentials() {
        for (given, recorded) in [
            ("https://api.example.com/v1", "https://api.example.com/v1"),
            (
                "https://user:sk-secret@host:8443/v1",
                "https://host:8443/v1",
            ),
            ("http://host/v1?api-key=sk-secret", "http://host/v1"),
            ("https://k@host", "https://host"),
            ("localhost:8000/v1#x", "localhost:8000/v1"),
        ] {
            assert_eq!(public_endpoint(given), recorded, "{given}");
        }
    }

    #[test]
    fn the_request_record_lists_what_is_sent() {
        let mut c = OpenAiConfig::new("https://u:p@host/v1", "m");
        c.api_key = ApiKeySource::None;
        c.max_tokens = Some(2048);
        c.extra.insert("top_p".into(), json!(0.9));
        let r = OpenAi::new(c).unwrap().request().unwrap();
        assert_eq!(r.model, "m");
        assert_eq!(r.endpoint, "https://host/v1");
        assert_eq!(
            Value::Object(r.sampling),
            json!({"temperature": 0.0, "max_tokens": 2048, "top_p": 0.9})
        );
    }

    #[test]
    fn key_from_env_is_optional_and_trimmed() {
        let src = ApiKeySource::Env("K".into());
        assert_eq!(src.resolve(|_| None).unwrap(), None);
        assert_eq!(src.resolve(|_| Some(" ".into())).unwrap(), None);
        assert_eq!(
            src.resolve(|n| (n == "K").then(|| "sk-1 \n".into()))
                .unwrap(),
            Some(ApiKey::new("sk-1"))
        );
        assert_eq!(
            ApiKeySource::None.resolve(|_| Some("x".into())).unwrap(),
            None
        );
        assert_eq!(
            format!("{:?}", ApiKey::new("sk-secret")),
            "ApiKey(<redacted>)"
        );
    }

    #[test]
    fn completions_parse_and_malformed_ones_are_retryable() {
        let ok = r#"{"choices":[{"message":{"role":"assistant","content":"The answer is (B)."}}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#;
        let (text, usage) = parse_completion(ok).unwrap();
        assert_eq!(text, "The answer is (B).");
        assert_eq!(
            usage,
            Some(TokenUsage {
                prompt: 12,
                completion: 5
            })
        );
        let null = r#"{"choices":[{"message":{"content":null}}]}"#;
        assert_eq!(parse_completion(null).unwrap(), (String::new(), None));
        for bad in [
            r#"{"choices":["#,
            r#"{"error":"x"}"#,
            "",
            r#"{"choices":[{"message":{"content":3}}]}"#,
        ] {
            let e = parse_completion(bad).unwrap_err();
            assert_eq!(e.kind(), BackendErrorKind::Malformed, "{bad}");
            assert!(e.is_retryable());
        }
    }

    #[test]
    fn bad_endpoints_are_config_errors() {
        let e = OpenAi::new(OpenAiConfig::new("localhost:8000", "m")).unwrap_err();
        assert_eq!(e.kind(), BackendErrorKind::Config);
        let ok = OpenAi::new(OpenAiConfig::new("http://127.0.0.1:9/v1/", "m")).unwrap();
        assert_eq!(ok.url(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://localhost/v1",
            "http://[::1]:9/v1",
            "https://user@127.0.0.2",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.1:80",
            "http://[2001:db8::1]/",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\nb"), "a b");
        assert_eq!(excerpt(""), "(empty body)");
        assert!(excerpt(&"x".repeat(500)).len() < 210);
    }
}
