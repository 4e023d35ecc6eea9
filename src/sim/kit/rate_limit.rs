//! Per-endpoint rate limits: requests per minute per path, answered with 429 and
//! `Retry-After` when exceeded. Each simulator supplies its default table.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::pattern::path_matches;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitRule {
    /// Path pattern (glob with `*`, else prefix). Each concrete path counts separately.
    pub path: String,
    pub per_minute: u32,
}

impl RateLimitRule {
    pub fn new(path: impl Into<String>, per_minute: u32) -> Self {
        Self {
            path: path.into(),
            per_minute,
        }
    }
}

pub struct RateLimiter {
    defaults: Vec<RateLimitRule>,
    inner: Mutex<LimiterState>,
}

struct LimiterState {
    rules: Vec<RateLimitRule>,
    /// Arrival times within the window, per lower-cased path.
    seen: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(defaults: Vec<RateLimitRule>) -> Self {
        Self {
            inner: Mutex::new(LimiterState {
                rules: defaults.clone(),
                seen: HashMap::new(),
            }),
            defaults,
        }
    }

    pub fn rules(&self) -> Vec<RateLimitRule> {
        self.lock().rules.clone()
    }

    /// Replaces the table and forgets past requests.
    pub fn set_rules(&self, rules: Vec<RateLimitRule>) -> Result<(), String> {
        for (i, r) in rules.iter().enumerate() {
            if r.per_minute == 0 {
                return Err(format!("rules[{i}].perMinute: must be at least 1"));
            }
            if !r.path.starts_with('/') && !r.path.starts_with('*') {
                return Err(format!(
                    "rules[{i}].path {:?}: must start with / or *",
                    r.path
                ));
            }
        }
        let mut state = self.lock();
        state.rules = rules;
        state.seen.clear();
        Ok(())
    }

    /// Back to the simulator's defaults, past requests forgotten.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.rules = self.defaults.clone();
        state.seen.clear();
    }

    /// Counts a request; `Err(retry_after)` when it exceeds its path's limit (not counted).
    pub fn check(&self, path: &str) -> Result<(), Duration> {
        self.check_at(path, Instant::now())
    }

    fn check_at(&self, path: &str, now: Instant) -> Result<(), Duration> {
        let mut state = self.lock();
        let Some(limit) = state
            .rules
            .iter()
            .find(|r| path_matches(&r.path, path))
            .map(|r| r.per_minute as usize)
        else {
            return Ok(());
        };
        let times = state.seen.entry(path.to_ascii_lowercase()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= limit {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            // Whole seconds, rounded up, at least one: what a Retry-After header can say.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Duration::from_secs(secs.max(1)));
        }
        times.push_back(now);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_path_per_minute() {
        let l = RateLimiter::new(vec![RateLimitRule::new("/api/", 2)]);
        let t0 = Instant::now();
        assert!(l.check_at("/api/a", t0).is_ok());
        assert!(l.check_at("/api/a", t0 + Duration::from_secs(10)).is_ok());
        let wait = l
            .check_at("/API/a", t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(l.check_at("/api/b", t0 + Duration::from_secs(20)).is_ok());
        assert!(l.check_at("/other", t0).is_ok());
        assert!(l.check_at("/api/a", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn rules_can_be_replaced_and_reset() {
        let l = RateLimiter::new(vec![RateLimitRule::new("/a", 1)]);
        l.set_rules(vec![]).unwrap();
        assert!((0..5).all(|_| l.check("/a").is_ok()));
        assert!(l.set_rules(vec![RateLimitRule::new("/a", 0)]).is_err());
        l.reset();
        assert!(l.check("/a").is_ok());
        assert!(l.check("/a").is_err());
    }
}
