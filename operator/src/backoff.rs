//! Exponential backoff of failed reconciles, per Run.
//!
//! A Run whose reconcile keeps failing (an unreadable snapshot ConfigMap, an
//! image that is not allowed, an API server that refuses writes) is retried
//! after `initial`, then twice as long after each further failure, up to
//! `max`. One successful reconcile resets it. Pure: the caller passes the
//! time, so tests need no clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The delay before retrying after the `failures`-th consecutive failure
/// (1 for the first): `initial · 2^(failures-1)`, at most `max`.
pub fn error_delay(failures: u32, initial: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(u32::BITS - 1);
    initial.saturating_mul(1 << doublings).min(max)
}

/// Consecutive failures of one Run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failures {
    count: u32,
    retry_at: Instant,
}

/// Consecutive reconcile failures per Run, keyed by `namespace/name`.
#[derive(Debug, Clone)]
pub struct ErrorBackoff {
    initial: Duration,
    max: Duration,
    runs: HashMap<String, Failures>,
}

impl ErrorBackoff {
    /// Backoff from `initial` doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            runs: HashMap::new(),
        }
    }

    /// Records a failed reconcile of `run` at `now`; returns how long to wait
    /// before the next attempt.
    ///
    /// Entries whose retry is more than `max` overdue are dropped first: their
    /// Run was deleted (or its retry was never delivered), and keeping them
    /// would only grow the map.
    pub fn failed(&mut self, run: &str, now: Instant) -> Duration {
        let max = self.max;
        self.runs
            .retain(|_, f| now.saturating_duration_since(f.retry_at) <= max);
        let count = self.runs.get(run).map_or(0, |f| f.count).saturating_add(1);
        let delay = error_delay(count, self.initial, self.max);
        self.runs.insert(
            run.to_owned(),
            Failures {
                count,
                retry_at: now + delay,
            },
        );
        delay
    }

    /// Records a successful reconcile of `run`: its next failure starts from
    /// `initial` again.
    pub fn succeeded(&mut self, run: &str) {
        self.runs.remove(run);
    }

    /// How many consecutive failures are recorded for `run`.
    pub fn failures(&self, run: &str) -> u32 {
        self.runs.get(run).map_or(0, |f| f.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(300);

    #[test]
    fn the_delay_doubles_from_the_initial_delay_up_to_the_cap() {
        let delays: Vec<u64> = (1..=11).map(|n| error_delay(n, S, MAX).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn the_delay_never_overflows() {
        assert_eq!(
            error_delay(0, S, MAX),
            S,
            "zero counts as the first failure"
        );
        assert_eq!(error_delay(u32::MAX, S, MAX), MAX);
        assert_eq!(
            error_delay(64, Duration::from_secs(u64::MAX / 2), Duration::MAX),
            Duration::MAX
        );
    }

    #[test]
    fn consecutive_failures_of_one_run_back_off_and_a_success_resets_them() {
        let mut backoff = ErrorBackoff::new(S, MAX);
        let t = Instant::now();
        assert_eq!(backoff.failed("ns/a", t), S);
        assert_eq!(backoff.failed("ns/a", t + S), 2 * S);
        assert_eq!(backoff.failed("ns/a", t + 3 * S), 4 * S);
        assert_eq!(backoff.failures("ns/a"), 3);

        backoff.succeeded("ns/a");
        assert_eq!(backoff.failures("ns/a"), 0);
        assert_eq!(backoff.failed("ns/a", t + 10 * S), S);
    }

    #[test]
    fn runs_back_off_independently() {
        let mut backoff = ErrorBackoff::new(S, MAX);
        let t = Instant::now();
        backoff.failed("ns/a", t);
        backoff.failed("ns/a", t + S);
        assert_eq!(backoff.failed("ns/b", t + S), S);
        assert_eq!(
            backoff.failed("other/a", t + S),
            S,
            "the namespace is part of the key"
        );
        backoff.succeeded("ns/b");
        assert_eq!(backoff.failures("ns/a"), 2);
    }

    #[test]
    fn entries_of_runs_that_stopped_failing_long_ago_are_dropped() {
        let mut backoff = ErrorBackoff::new(S, MAX);
        let t = Instant::now();
        backoff.failed("ns/deleted", t);
        backoff.failed("ns/a", t + MAX);
        assert_eq!(
            backoff.failures("ns/deleted"),
            1,
            "overdue by less than the cap"
        );
        backoff.failed("ns/a", t + MAX + 2 * S);
        assert_eq!(backoff.failures("ns/deleted"), 0);
        assert_eq!(backoff.failures("ns/a"), 2);
    }
}
