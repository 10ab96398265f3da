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

    /// Shows a bar for an iteration that stops when `change` falls below
    /// `tolerance` or at `max_iterations`, whichever comes first. EM's
    /// largest parameter change shrinks roughly geometrically, so progress
    /// is measured on the log scale from the first cycle's change down to
    /// the tolerance.
    pub fn update_convergence(&mut self, label: &str, step: Convergence) {
        let elapsed = self.elapsed().as_secs_f64();
        self.update(|| {
            let detail = format!(
                " cycle {}, change {:.1e} -> {:.0e}",
                step.iteration, step.change, step.tolerance
            );
            draw(label, step.fraction(), &detail, elapsed)
        });
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

/// Where an iterative fit stands: see [`ProgressLine::update_convergence`].
#[derive(Debug, Clone, Copy)]
pub struct Convergence {
    /// Cycle, from 1.
    pub iteration: usize,
    /// The first cycle's change: the start of the log scale.
    pub first_change: f64,
    /// This cycle's change.
    pub change: f64,
    /// The change that stops the fit.
    pub tolerance: f64,
    /// The cycle that stops the fit regardless.
    pub max_iterations: usize,
}

impl Convergence {
    /// Share of the work done, in [0, 1]: the further of the log-scale
    /// distance covered toward the tolerance and the share of the cycle
    /// budget spent.
    pub fn fraction(&self) -> f64 {
        let by_cycles = self.iteration as f64 / self.max_iterations.max(1) as f64;
        let span = (self.first_change / self.tolerance).ln();
        let by_change = if !self.change.is_finite() {
            // No usable change (e.g. a NaN from a failing cycle): count cycles.
            0.0
        } else if span > 0.0 && self.change > 0.0 {
            (self.first_change / self.change).ln() / span
        } else {
            // Already below the tolerance at the first cycle, or no change.
            1.0
        };
        let f = by_change.max(by_cycles);
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// `label [#####---------------]  25% 5 of 20, about 3s left`.
fn bar(label: &str, done: usize, total: usize, elapsed_secs: f64) -> String {
    let done = done.min(total);
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    draw(
        label,
        fraction,
        &format!(" {done} of {total}"),
        elapsed_secs,
    )
}

/// `label [bar] percent{detail}, about Ns left`, the time left extrapolated
/// from the rate so far.
fn draw(label: &str, fraction: f64, detail: &str, elapsed_secs: f64) -> String {
    const WIDTH: usize = 20;
    let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    let left = if fraction <= 0.0 || fraction >= 1.0 {
        String::new()
    } else {
        let secs = elapsed_secs * (1.0 - fraction) / fraction;
        format!(", about {secs:.0}s left")
    };
    format!(
        "{label} [{}{}] {:>3.0}%{detail}{left}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        fraction * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::{Convergence, bar, draw};

    #[test]
    fn convergence_moves_on_the_log_scale_of_the_change() {
        let at = |iteration, change| Convergence {
            iteration,
            first_change: 1.0,
            change,
            tolerance: 1e-4,
            max_iterations: 500,
        };
        assert!((at(1, 1.0).fraction() - 1.0 / 500.0).abs() < 1e-12);
        assert!((at(10, 1e-2).fraction() - 0.5).abs() < 1e-12);
        assert_eq!(at(30, 1e-5).fraction(), 1.0);
        // The cycle budget wins when the change stalls.
        assert!((at(400, 0.5).fraction() - 0.8).abs() < 1e-12);
        // A non-finite change never draws a broken bar.
        assert_eq!(at(2, f64::NAN).fraction(), 2.0 / 500.0);
        assert_eq!(
            draw("calibrating", 0.5, " cycle 10", 4.0),
            "calibrating [##########----------]  50% cycle 10, about 4s left"
        );
    }

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
