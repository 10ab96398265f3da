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

    /// Shows a bar for `done` of `total` units of work, with the time left
    /// extrapolated from the rate so far.
    pub fn update_count(&mut self, label: &str, done: usize, total: usize) {
        let elapsed = self.elapsed().as_secs_f64();
        self.update(|| bar(label, done, total, elapsed));
    }

    /// Clears the line (before the summary is printed).
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}

impl Drop for ProgressLine {
    /// An error leaving a command early is printed on a clean line, not on
    /// the end of a half-drawn bar.
    fn drop(&mut self) {
        self.finish();
    }
}

/// `label [#####---------------]  25% 5 of 20, about 3s left`.
fn bar(label: &str, done: usize, total: usize, elapsed_secs: f64) -> String {
    const WIDTH: usize = 20;
    let done = done.min(total);
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    let left = if done == 0 || done == total {
        String::new()
    } else {
        let secs = elapsed_secs * (total - done) as f64 / done as f64;
        format!(", about {secs:.0}s left")
    };
    format!(
        "{label} [{}{}] {:>3.0}% {done} of {total}{left}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        fraction * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bar_fills_in_proportion_and_extrapolates_the_time_left() {
        assert_eq!(
            bar("exams", 5, 20, 2.0),
            "exams [#####---------------]  25% 5 of 20, about 6s left"
        );
        assert_eq!(
            bar("exams", 0, 20, 0.5),
            "exams [--------------------]   0% 0 of 20"
        );
        assert_eq!(
            bar("exams", 25, 20, 9.0),
            "exams [####################] 100% 20 of 20"
        );
        assert!(bar("exams", 0, 0, 0.0).contains("100%"));
    }
}
