//! When to try a request again, and how long to wait first.

use std::time::Duration;

use rand::Rng;

/// Retries with exponential backoff and jitter.
///
/// After failed attempt `n` (1-based) the wait is drawn uniformly from
/// `[d/2, d]` with `d = min(max_delay, base_delay * 2^(n-1))` ("equal
/// jitter": spreads the retries of parallel workers while keeping a floor).
/// When the server sent `Retry-After`, the wait is at least that long (capped
/// at `max_retry_after`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff after the first failure, before jitter.
    pub base_delay: Duration,
    /// Longest backoff, before jitter.
    pub max_delay: Duration,
    /// Longest wait a `Retry-After` header may impose.
    pub max_retry_after: Duration,
    /// Seed of the jitter's random numbers.
    pub seed: u64,
}

impl Default for RetryPolicy {
    /// 6 attempts, 1 s base, 60 s cap on backoff, `Retry-After` honoured up
    /// to 5 minutes: a full run of retries spans about a minute of backoff
    /// (1+2+4+8+16 s, halved at worst), enough to ride out a restarting
    /// server or a rate-limit window.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            seed: 0,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based), given the
    /// server's `Retry-After`, if any.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let doubling = 2f64.powi(attempt.saturating_sub(1).min(62) as i32);
        let d = (self.base_delay.as_secs_f64() * doubling).min(self.max_delay.as_secs_f64());
        let backoff = d * (0.5 + 0.5 * rng.random::<f64>());
        let floor = retry_after.map_or(0.0, |r| r.min(self.max_retry_after).as_secs_f64());
        Duration::from_secs_f64(backoff.max(floor))
    }
}

/// Reads a `Retry-After` value given in seconds (`"2"`, `"1.5"`). The
/// HTTP-date form is not understood (`None`): the backoff applies then.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for attempt in 1..10 {
            let d = (100.0 * 2f64.powi(attempt - 1)).min(1000.0) / 1000.0;
            for _ in 0..50 {
                let w = p.delay(attempt as u32, None, &mut rng).as_secs_f64();
                assert!(
                    w >= d / 2.0 - 1e-9 && w <= d + 1e-9,
                    "attempt {attempt}: {w}"
                );
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor_with_a_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), &mut rng),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(50)), &mut rng),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
