//! Pacing of Stream order creation: additive increase, multiplicative decrease. A 429 (after
//! the client's own Retry-After waits) halves the pace and imposes a pause; each success
//! raises it a little, up to a ceiling. So sends settle just under whatever Stream allows
//! without a configured limit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Throttle {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// Permitted calls per second.
    rate: f64,
    next_slot: Instant,
}

/// Pace at start and after idling; high enough that the guide's batches of 5 are not slowed.
const START_RATE: f64 = 20.0;
const MAX_RATE: f64 = 200.0;
const MIN_RATE: f64 = 0.2;

impl Default for Throttle {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                rate: START_RATE,
                next_slot: Instant::now(),
            })),
        }
    }
}

impl Throttle {
    /// Waits for the next permitted slot.
    pub async fn acquire(&self) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = s.next_slot.max(now);
            s.next_slot = slot + Duration::from_secs_f64(1.0 / s.rate);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    pub fn success(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.rate = (s.rate + 0.5).min(MAX_RATE);
    }

    /// Stream refused for rate: halve the pace and pause for `retry_after` (or a second).
    pub fn rate_limited(&self, retry_after: Option<Duration>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.rate = (s.rate / 2.0).max(MIN_RATE);
        let pause = retry_after.unwrap_or(Duration::from_secs(1));
        s.next_slot = s.next_slot.max(Instant::now() + pause);
    }

    pub fn rate(&self) -> f64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_rate_limit_and_recovers_slowly() {
        let t = Throttle::default();
        t.rate_limited(Some(Duration::ZERO));
        assert_eq!(t.rate(), START_RATE / 2.0);
        t.success();
        assert_eq!(t.rate(), START_RATE / 2.0 + 0.5);
        for _ in 0..10_000 {
            t.success();
        }
        assert_eq!(t.rate(), MAX_RATE);
        for _ in 0..100 {
            t.rate_limited(Some(Duration::ZERO));
        }
        assert_eq!(t.rate(), MIN_RATE);
    }

    #[tokio::test]
    async fn slots_are_spaced_by_the_rate() {
        let t = Throttle::default();
        t.rate_limited(Some(Duration::ZERO)); // 10 per second
        let start = Instant::now();
        for _ in 0..4 {
            t.acquire().await;
        }
        // Three gaps of 100 ms after the first, immediate slot.
        assert!(
            start.elapsed() >= Duration::from_millis(290),
            "{:?}",
            start.elapsed()
        );
    }
}
