//! A counting semaphore: at most `n` requests in flight across threads.

use std::sync::{Condvar, Mutex, PoisonError};

/// Limits how many holders of a [`Permit`] exist at once. Share it in an
/// `Arc` to give several backends (say, several models on one server) one
/// common limit.
#[derive(Debug)]
pub struct Semaphore {
    limit: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
}

/// A slot of a [`Semaphore`], given back when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `limit` slots (at least 1).
    pub fn new(limit: usize) -> Self {
        Semaphore {
            limit: limit.max(1),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The number of slots.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits for a free slot and takes it.
    pub fn acquire(&self) -> Permit<'_> {
        // The counter stays consistent even if a holder panicked, so a
        // poisoned lock is used as it is.
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use >= self.limit {
            in_use = self
                .freed
                .wait(in_use)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *in_use += 1;
        Permit { semaphore: self }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut in_use = self
            .semaphore
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_use -= 1;
        self.semaphore.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_holders_than_slots() {
        let sem = Semaphore::new(3);
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let _p = sem.acquire();
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        std::thread::yield_now();
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(*sem.in_use.lock().unwrap(), 0);
    }
}
