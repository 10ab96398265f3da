//! A one-line progress display on stderr for long runs: it appears only after
//! a second, only when stderr is a terminal, and never with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws a status line at most ten times a second.
pub struct ProgressLine {
    start: Instant,
    last: Option<Instant>,
    enabled: bool,
    drawn: bool,
}

impl ProgressLine {
    /// A progress line, shown only if `!quiet` and stderr is a terminal.
    pub fn new(quiet: bool) -> Self {
        ProgressLine {
            start: Instant::now(),
            last: None,
            enabled: !quiet && std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Time since the line was created.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Shows `message` if the run has lasted over a second and the last
    /// redraw is over 100 ms old.
    pub fn update(&mut self, message: impl FnOnce() -> String) {
        if !self.enabled || self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        self.drawn = true;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} [{:.1}s]",
            message(),
            self.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }

    /// Clears the line (before the summary is printed).
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}
