//! Client-side pacing to published per-minute limits. Linnworks publishes a limit per
//! endpoint (150 or 250 calls a minute); a client that only reacts to 429 loses a whole
//! `Retry-After` second per refusal, with every call in flight waiting behind it. Keeping to
//! the limit in the first place never draws a 429 (unless another client shares the
//! account), and a burst below the limit is never slowed.
//!
//! The rule is the same sliding window the service applies: at most `limit` calls in any
//! minute. A call waits for the earliest moment that keeps the rule, counting calls still
//! waiting for theirs.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The window of a per-minute limit, plus a margin for calls that arrive at the remote
/// side sooner after one another than they left (latency varies).
const WINDOW: Duration = Duration::from_millis(60_250);

#[derive(Clone, Default)]
pub struct Pacer {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Calls per minute, by call name.
    limits: HashMap<&'static str, u32>,
    /// Start times of calls (past, or reserved in the future), oldest first, per call name.
    starts: Mutex<HashMap<&'static str, VecDeque<Instant>>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limits", &self.inner.limits.len())
            .finish()
    }
}

impl Pacer {
    /// Paces the named calls to `per_minute × scale` each (at least one a minute); other
    /// calls are not paced. A scale of 0 or less paces nothing.
    pub fn new(limits: &[(&'static str, u32)], scale: f64) -> Self {
        if scale <= 0.0 || !scale.is_finite() {
            return Self::default();
        }
        let limits = limits
            .iter()
            .map(|(call, per_minute)| {
                let scaled = (f64::from(*per_minute) * scale).floor();
                (*call, scaled.clamp(1.0, f64::from(u32::MAX)) as u32)
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                limits,
                starts: Mutex::default(),
            }),
        }
    }

    /// The per-minute limit `call` is paced to, if any.
    pub fn limit(&self, call: &str) -> Option<u32> {
        self.inner.limits.get(call).copied()
    }

    /// Waits until `call` may start without exceeding its limit.
    pub async fn wait(&self, call: &'static str) {
        let at = self.reserve(call, Instant::now());
        tokio::time::sleep_until(at).await;
    }

    /// Reserves the earliest start at or after `now` that keeps `call` within its limit.
    fn reserve(&self, call: &'static str, now: Instant) -> Instant {
        let Some(limit) = self.limit(call) else {
            return now;
        };
        let limit = limit as usize;
        let mut starts = self.inner.starts.lock().unwrap_or_else(|p| p.into_inner());
        let times = starts.entry(call).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        // Never before a reserved start: the list stays sorted, and a start only has to be
        // checked against the window that ends at it.
        let mut at = times.back().copied().map_or(now, |last| last.max(now));
        if times.len() >= limit {
            let nth_latest = times[times.len() - limit];
            at = at.max(nth_latest + WINDOW);
        }
        times.push_back(at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_within_the_limit_is_not_slowed() {
        let p = Pacer::new(&[("A", 3)], 1.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(p.reserve("A", t0), t0);
        }
        // The fourth waits for the first to leave the window.
        assert_eq!(p.reserve("A", t0), t0 + WINDOW);
        // Other calls are not affected.
        assert_eq!(p.reserve("B", t0), t0);
    }

    #[test]
    fn no_window_ever_holds_more_than_the_limit() {
        let p = Pacer::new(&[("A", 5)], 2.0);
        assert_eq!(p.limit("A"), Some(10));
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for i in 0..200u64 {
            // Callers arrive every 100 ms, far faster than 10 a minute.
            starts.push(p.reserve("A", t0 + Duration::from_millis(100 * i)));
        }
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        for (i, s) in starts.iter().enumerate() {
            let in_window = starts[i..]
                .iter()
                .take_while(|t| t.duration_since(*s) < WINDOW)
                .count();
            assert!(in_window <= 10, "{in_window} calls within a minute");
        }
        // And the pace is the limit, not slower: 200 calls at 10 a minute take 19 windows.
        let span = starts[199].duration_since(starts[0]);
        assert!(span <= WINDOW * 19 + Duration::from_secs(1), "{span:?}");
    }

    #[test]
    fn a_scale_of_zero_paces_nothing() {
        let p = Pacer::new(&[("A", 1)], 0.0);
        let t0 = Instant::now();
        assert_eq!(p.reserve("A", t0), t0);
        assert_eq!(p.reserve("A", t0), t0);
        assert_eq!(p.limit("A"), None);
    }
}
