//! A tiny OpenAI-compatible chat server for tests, on loopback only.
//!
//! It answers `POST .../chat/completions` with whatever its `answer`
//! function returns for the request body (for example a recorded generation
//! looked up by the question text), and can be scripted to fail: each
//! request takes the next [`Fault`] from the queue, if any. It records every
//! request (arrival time, `Authorization` header, body, what it did) and the
//! largest number of requests it was handling at once.
//!
//! Everything is bounded: a budget of requests (after which it answers 503),
//! read timeouts on connections, stalls that end when the server stops. The
//! server stops, and its threads are joined, when it is dropped.
//!
//! Use from a test file with `#[path = "support/server.rs"] mod server;`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A scripted failure for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After: <secs>`.
    RateLimited { retry_after_secs: u64 },
    /// 500 Internal Server Error.
    ServerError,
    /// Any status, with a JSON error body.
    Status(u16),
    /// Wait this long before answering normally (past the client's timeout).
    Stall(Duration),
    /// 200 with a body that is cut-off JSON.
    MalformedJson,
    /// 200 announcing the full body's length, then closing the connection
    /// after half of it.
    CloseMidBody,
}

impl Fault {
    fn name(&self) -> String {
        match self {
            Fault::RateLimited { retry_after_secs } => {
                format!("429 retry-after {retry_after_secs}")
            }
            Fault::ServerError => "500".into(),
            Fault::Status(s) => s.to_string(),
            Fault::Stall(d) => format!("stall {d:?}"),
            Fault::MalformedJson => "malformed json".into(),
            Fault::CloseMidBody => "close mid-body".into(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// When its headers had arrived.
    pub at: Instant,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The parsed body (`Null` if it was not JSON).
    pub body: Value,
    /// What the server did: `ok`, a fault's name, or an error status.
    pub outcome: String,
}

type Answer = dyn Fn(&Value) -> Option<String> + Send + Sync;

struct Shared {
    stop: AtomicBool,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<Logged>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Mutex<Duration>,
    expected_key: Mutex<Option<String>>,
    answer: Box<Answer>,
    budget: AtomicUsize,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// The running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Requests a server handles before it answers 503 to everything.
pub const REQUEST_BUDGET: usize = 2_000;

impl TestServer {
    /// Starts a server on `127.0.0.1` (a free port) whose replies are
    /// `answer(request body)`; `None` gives a 404 "no recorded answer".
    pub fn start(answer: impl Fn(&Value) -> Option<String> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
            expected_key: Mutex::new(None),
            answer: Box::new(answer),
            budget: AtomicUsize::new(REQUEST_BUDGET),
            workers: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        TestServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL to configure a client with: `http://127.0.0.1:PORT/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues faults: the next requests get them, one each, in order.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.faults.lock().unwrap().extend(faults);
    }

    /// Faults not yet used.
    pub fn pending_faults(&self) -> usize {
        self.shared.faults.lock().unwrap().len()
    }

    /// Delays every normal reply by `d` (to make requests overlap).
    pub fn set_delay(&self, d: Duration) {
        *self.shared.delay.lock().unwrap() = d;
    }

    /// Requires `Authorization: Bearer <key>`; other requests get a 401
    /// whose body quotes the header they sent (as careless servers do).
    pub fn require_key(&self, key: &str) {
        *self.shared.expected_key.lock().unwrap() = Some(key.to_owned());
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The most requests handled at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        let workers = std::mem::take(&mut *self.shared.workers.lock().unwrap());
        for w in workers {
            let _ = w.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let _ = handle(stream, &shared);
            })
        };
        let mut workers = shared.workers.lock().unwrap();
        workers.retain(|w| !w.is_finished());
        workers.push(worker);
    }
}

struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut authorization = None;
    let mut header_bytes = 0;
    loop {
        let mut h = String::new();
        let n = reader.read_line(&mut h)?;
        header_bytes += n;
        if n == 0 || header_bytes > 64 * 1024 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => authorization = Some(value.to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length.min(16 << 20)];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        authorization,
        body,
    }))
}

fn respond(stream: &mut TcpStream, status: u16, extra: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        reason(status),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn completion(model: &Value, text: &str, request: &Value) -> String {
    let words = |s: &str| s.split_whitespace().count();
    let prompt_tokens: usize = request["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| words(m["content"].as_str().unwrap_or("")))
                .sum()
        })
        .unwrap_or(0);
    let completion_tokens = words(text);
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    })
    .to_string()
}

/// Sleeps `d` unless the server stops first.
fn pause(d: Duration, shared: &Shared) {
    let end = Instant::now() + d;
    while Instant::now() < end && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5).min(end - Instant::now()));
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let Some(request) = read_request(&stream)? else {
        return Ok(());
    };
    if shared.stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    let n = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let mut conn = Conn {
        stream: &mut stream,
        in_flight: Some(&shared.in_flight),
    };
    let result = serve(&mut conn, shared, request);
    conn.end();
    result
}

/// A request's connection while it counts as in flight.
struct Conn<'a> {
    stream: &'a mut TcpStream,
    /// The counter to decrement when the request stops counting (`None`
    /// once it has).
    in_flight: Option<&'a AtomicUsize>,
}

impl Conn<'_> {
    /// The request stops counting as in flight. This happens before the
    /// response's first byte is written: a client that has its response
    /// may send the next request at once, and a count that ended only
    /// after the write would see the two overlap on a busy machine.
    fn end(&mut self) {
        if let Some(n) = self.in_flight.take() {
            n.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn respond(&mut self, status: u16, extra: &str, body: &str) -> std::io::Result<()> {
        self.end();
        respond(self.stream, status, extra, body)
    }
}

fn serve(conn: &mut Conn<'_>, shared: &Shared, request: Request) -> std::io::Result<()> {
    let at = Instant::now();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let log = |outcome: String| {
        shared.log.lock().unwrap().push(Logged {
            at,
            authorization: request.authorization.clone(),
            body: body.clone(),
            outcome,
        })
    };
    let error_body = |msg: &str| json!({"error": {"message": msg}}).to_string();
    if shared
        .budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
        .is_err()
    {
        log("503 budget".into());
        return conn.respond(503, "", &error_body("request budget exhausted"));
    }
    if request.method != "POST" || !request.path.ends_with("/chat/completions") {
        log("404 path".into());
        return conn.respond(404, "", &error_body("no such route"));
    }
    let expected = shared.expected_key.lock().unwrap().clone();
    if let Some(key) = expected {
        if request.authorization.as_deref() != Some(&format!("Bearer {key}")) {
            log("401".into());
            let sent = request.authorization.clone().unwrap_or_default();
            return conn.respond(
                401,
                "",
                &error_body(&format!("invalid credentials: {sent}")),
            );
        }
    }
    let Some(text) = (shared.answer)(&body) else {
        log("404 answer".into());
        return conn.respond(404, "", &error_body("no recorded answer for this prompt"));
    };
    let fault = shared.faults.lock().unwrap().pop_front();
    let full = completion(&body["model"], &text, &body);
    match fault {
        None => {
            log("ok".into());
            let delay = *shared.delay.lock().unwrap();
            pause(delay, shared);
            conn.respond(200, "", &full)
        }
        Some(fault) => {
            log(fault.name());
            match fault {
                Fault::RateLimited { retry_after_secs } => conn.respond(
                    429,
                    &format!("Retry-After: {retry_after_secs}\r\n"),
                    &error_body("rate limited"),
                ),
                Fault::ServerError => conn.respond(500, "", &error_body("internal error")),
                Fault::Status(s) => conn.respond(s, "", &error_body("scripted status")),
                Fault::Stall(d) => {
                    pause(d, shared);
                    // The client has usually gone; a failed write is expected.
                    let _ = conn.respond(200, "", &full);
                    Ok(())
                }
                Fault::MalformedJson => {
                    let mut cut = full.len() / 2;
                    while !full.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    conn.respond(200, "", &full[..cut])
                }
                Fault::CloseMidBody => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        full.len()
                    );
                    conn.end();
                    conn.stream.write_all(head.as_bytes())?;
                    conn.stream.write_all(&full.as_bytes()[..full.len() / 2])?;
                    conn.stream.flush()?;
                    conn.stream.shutdown(Shutdown::Both)
                }
            }
        }
    }
}
