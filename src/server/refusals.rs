//! Refused callers, logged as summaries: refusals are counted per reason and logged as one
//! line per reason when the window (a minute) ends. Anyone can send requests that are refused; one WARN line each would let a stranger
//! fill the log and hide what matters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long refusals of one reason are counted before their summary is logged.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Counts refusals per reason; cheap to clone (shared counters).
#[derive(Clone)]
pub struct RefusalLog {
    surface: &'static str,
    window: Duration,
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl RefusalLog {
    /// `surface` names the listener in the log lines ("webhook", "gateway", "admin API").
    pub fn new(surface: &'static str) -> Self {
        Self::with_window(surface, WINDOW)
    }

    pub fn with_window(surface: &'static str, window: Duration) -> Self {
        Self {
            surface,
            window,
            counts: Arc::default(),
        }
    }

    /// Records one refusal for `reason` (a fixed text: no caller input, so the log cannot
    /// be fed arbitrary content).
    pub fn refused(&self, reason: &'static str) {
        let first = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = counts.is_empty();
            *counts.entry(reason).or_insert(0) += 1;
            was_empty
        };
        // The first refusal of a window schedules the window's summary.
        if first && let Ok(handle) = tokio::runtime::Handle::try_current() {
            let this = self.clone();
            handle.spawn(async move {
                tokio::time::sleep(this.window).await;
                this.flush();
            });
        }
    }

    /// Logs one line per reason refused in the window, and starts a new one.
    fn flush(&self) {
        let counts = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()));
        for (reason, count) in counts {
            tracing::warn!(
                "{} calls refused in the last {} s: {count} x {reason}",
                self.surface,
                self.window.as_secs()
            );
        }
    }

    /// Refusals counted in the current window, per reason.
    #[cfg(test)]
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refusals_are_counted_per_reason_and_reset_each_window() {
        let log = RefusalLog::with_window("test", Duration::from_secs(60));
        for _ in 0..500 {
            log.refused("bad token");
        }
        log.refused("unknown installation");
        assert_eq!(log.counts()["bad token"], 500);
        assert_eq!(log.counts()["unknown installation"], 1);
        tokio::time::sleep(Duration::from_secs(61)).await;
        tokio::task::yield_now().await;
        assert!(log.counts().is_empty());
    }
}
