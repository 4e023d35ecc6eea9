//! A circuit breaker per Stream account. When Stream keeps failing transiently (no
//! connection, timeouts, 5xx, 429), sending more orders only burns their time and Stream's
//! recovery: the breaker opens, sends to that account pause (orders stay queued, not Failed),
//! and after a backoff (exponential, capped, jittered) one send probes the account. A
//! success, or any answer that shows Stream is up, closes it; another transient failure
//! opens it again for longer.
//!
//! Every installation on the same Stream account (base URL and client id) shares one breaker
//! within a process, so one installation's probe speaks for all. The state lives in memory:
//! a restarted process starts closed and learns again from its first sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::remote::RemoteError;

/// How the breaker opens and backs off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive transient failures (each after the client's own retries) that open it.
    pub failure_threshold: u32,
    /// First open period; doubles with each consecutive opening.
    pub base_delay: Duration,
    /// Longest open period.
    pub max_delay: Duration,
    /// Each open period is scaled by a random factor in `1 ± jitter`, so installations and
    /// processes do not all probe at the same instant.
    pub jitter: f64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(300),
            jitter: 0.2,
        }
    }
}

impl BreakerPolicy {
    /// The open period after `opens` consecutive openings (from 1), before jitter.
    fn delay(&self, opens: u32) -> Duration {
        let factor = 2u32.saturating_pow(opens.saturating_sub(1).min(20));
        self.base_delay
            .saturating_mul(factor)
            .min(self.max_delay.max(self.base_delay))
    }
}

/// Which Stream account a breaker guards.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub base_url: String,
    pub client_id: String,
}

impl AccountKey {
    /// The Stream account an installation sends to.
    pub fn of(inst: &crate::config::InstallationConfig) -> Self {
        Self {
            base_url: inst
                .spec
                .stream
                .client_url
                .trim()
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            client_id: inst.credentials.stream_client_id.clone(),
        }
    }
}

/// The breaker's state as the admin API and dashboard show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerView {
    /// `closed`, `open` or `halfOpen` (the open period is over; the next send probes).
    pub state: &'static str,
    /// While open: when sends may probe the account again.
    pub open_until: Option<DateTime<Utc>>,
    /// Consecutive transient failures.
    pub failures: u32,
    /// Consecutive openings without a success in between (how far the backoff has grown).
    pub opens: u32,
    /// The last transient failure, as the client reported it.
    pub last_error: Option<String>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

/// What a sender may do now.
#[derive(Debug)]
pub enum Admission {
    /// Send freely.
    Closed,
    /// Send one order and report its outcome: this caller is the probe.
    Probe(ProbeGuard),
    /// Do not send before this time (another caller may be probing).
    Open { until: DateTime<Utc> },
}

#[derive(Default)]
struct State {
    failures: u32,
    opens: u32,
    open_until: Option<Instant>,
    open_until_wall: Option<DateTime<Utc>>,
    probing: bool,
    last_error: Option<String>,
    last_failure_at: Option<DateTime<Utc>>,
}

/// One account's breaker. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Breaker {
    state: Arc<Mutex<State>>,
    policy: Arc<Mutex<BreakerPolicy>>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("view", &self.view())
            .finish()
    }
}

impl Breaker {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn policy(&self) -> BreakerPolicy {
        *self.policy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a send may go out now.
    pub fn admit(&self) -> Admission {
        let mut s = self.lock();
        let Some(until) = s.open_until else {
            return Admission::Closed;
        };
        let wall = s.open_until_wall.unwrap_or_else(Utc::now);
        if Instant::now() < until || s.probing {
            return Admission::Open { until: wall };
        }
        s.probing = true;
        Admission::Probe(ProbeGuard {
            breaker: Some(self.clone()),
        })
    }

    /// As `admit`, without taking the probe: `Open` while sends are paused, else `Closed`
    /// (which, after the pause, means the next `admit` hands out the probe).
    pub fn peek(&self) -> Admission {
        let s = self.lock();
        match (s.open_until, s.open_until_wall) {
            (Some(until), Some(wall)) if Instant::now() < until || s.probing => {
                Admission::Open { until: wall }
            }
            _ => Admission::Closed,
        }
    }

    /// Records a send's outcome: a success or a permanent error (Stream answered) resets the
    /// breaker; a transient one counts towards opening it.
    pub fn record(&self, outcome: Result<(), &RemoteError>) {
        self.record_as(outcome, false);
    }

    fn record_as(&self, outcome: Result<(), &RemoteError>, probe: bool) {
        match outcome {
            Err(e) if e.is_transient() => self.failure(&e.to_string(), probe),
            _ => self.success(),
        }
    }

    fn success(&self) {
        let mut s = self.lock();
        if s.open_until.is_some() {
            tracing::info!("Stream answered again; sends to the account resume");
        }
        *s = State {
            last_error: s.last_error.take(),
            last_failure_at: s.last_failure_at,
            ..State::default()
        };
    }

    fn failure(&self, error: &str, probe: bool) {
        let policy = self.policy();
        let mut s = self.lock();
        s.failures = s.failures.saturating_add(1);
        s.last_error = Some(error.to_string());
        s.last_failure_at = Some(Utc::now());
        if probe {
            s.probing = false;
        } else if s.open_until.is_some() || s.failures < policy.failure_threshold.max(1) {
            // Already open (a send that started before it opened), or not yet at the
            // threshold: only the probe decides how long it stays open.
            return;
        }
        s.opens = s.opens.saturating_add(1);
        let delay = jittered(policy.delay(s.opens), policy.jitter);
        s.open_until = Some(Instant::now() + delay);
        s.open_until_wall =
            Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
        tracing::warn!(
            opens = s.opens,
            pause_ms = delay.as_millis() as u64,
            "Stream keeps failing; sends to the account pause until a probe succeeds: {error}"
        );
    }

    /// Whether sends are paused (open, or half-open with a probe out or due).
    pub fn is_open(&self) -> bool {
        self.lock().open_until.is_some()
    }

    pub fn view(&self) -> BreakerView {
        let s = self.lock();
        let state = match s.open_until {
            None => "closed",
            Some(until) if Instant::now() < until || s.probing => "open",
            Some(_) => "halfOpen",
        };
        BreakerView {
            state,
            open_until: s.open_until_wall.filter(|_| s.open_until.is_some()),
            failures: s.failures,
            opens: s.opens,
            last_error: s.last_error.clone(),
            last_failure_at: s.last_failure_at,
        }
    }
}

/// The probe's permit. Reporting the outcome through `record` ends it; dropped unreported
/// (the probe was never sent), it lets the next caller probe instead.
#[derive(Debug)]
pub struct ProbeGuard {
    breaker: Option<Breaker>,
}

impl ProbeGuard {
    pub fn record(mut self, outcome: Result<(), &RemoteError>) {
        if let Some(b) = self.breaker.take() {
            b.record_as(outcome, true);
        }
    }
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if let Some(b) = self.breaker.take() {
            b.lock().probing = false;
        }
    }
}

fn jittered(delay: Duration, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    if jitter == 0.0 {
        return delay;
    }
    let factor = 1.0 + jitter * (2.0 * rand::random::<f64>() - 1.0);
    delay.mul_f64(factor.max(0.0))
}

/// Every Stream account's breaker in this process.
#[derive(Clone, Default)]
pub struct Breakers {
    accounts: Arc<Mutex<HashMap<AccountKey, Breaker>>>,
    policy: Arc<Mutex<BreakerPolicy>>,
}

impl Breakers {
    /// The account's breaker, created closed on first use.
    pub fn get(&self, account: &AccountKey) -> Breaker {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        accounts
            .entry(account.clone())
            .or_insert_with(|| Breaker {
                state: Arc::default(),
                policy: self.policy.clone(),
            })
            .clone()
    }

    /// The account's breaker state, closed when it was never used.
    pub fn view(&self, account: &AccountKey) -> BreakerView {
        let known = self
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned();
        match known {
            Some(b) => b.view(),
            None => Breaker {
                state: Arc::default(),
                policy: self.policy.clone(),
            }
            .view(),
        }
    }

    /// Changes how every breaker opens and backs off (tests shorten the delays).
    pub fn set_policy(&self, policy: BreakerPolicy) {
        *self.policy.lock().unwrap_or_else(|p| p.into_inner()) = policy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> RemoteError {
        RemoteError::status("Stream", "orders/create", 503, "unavailable", None)
    }

    fn breakers(base_ms: u64) -> Breakers {
        let b = Breakers::default();
        b.set_policy(BreakerPolicy {
            failure_threshold: 2,
            base_delay: Duration::from_millis(base_ms),
            max_delay: Duration::from_millis(base_ms * 4),
            jitter: 0.0,
        });
        b
    }

    fn account() -> AccountKey {
        AccountKey {
            base_url: "https://stream.example/api".into(),
            client_id: "acme".into(),
        }
    }

    #[test]
    fn opens_after_the_threshold_probes_once_and_closes_on_success() {
        let all = breakers(40);
        let b = all.get(&account());
        b.record(Err(&down()));
        assert!(matches!(b.admit(), Admission::Closed));
        b.record(Err(&down()));
        assert!(matches!(b.admit(), Admission::Open { .. }));
        assert_eq!(all.view(&account()).state, "open");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(b.view().state, "halfOpen");
        let Admission::Probe(probe) = b.admit() else {
            panic!("expected a probe")
        };
        // Only one probe at a time.
        assert!(matches!(b.admit(), Admission::Open { .. }));
        probe.record(Ok(()));
        assert!(matches!(b.admit(), Admission::Closed));
        let view = b.view();
        assert_eq!(view.state, "closed");
        assert!(view.last_error.is_some_and(|e| e.contains("503")));
    }

    #[test]
    fn a_failed_probe_reopens_for_longer_up_to_the_cap() {
        let b = breakers(20).get(&account());
        b.record(Err(&down()));
        b.record(Err(&down()));
        let mut last = Duration::ZERO;
        for opens in 2..=5 {
            std::thread::sleep(Duration::from_millis(90));
            let Admission::Probe(probe) = b.admit() else {
                panic!("expected a probe")
            };
            let before = Instant::now();
            probe.record(Err(&down()));
            assert_eq!(b.view().opens, opens);
            let Admission::Open { until } = b.admit() else {
                panic!("expected open")
            };
            let pause = (until - Utc::now()).to_std().unwrap_or_default() + before.elapsed();
            assert!(pause <= Duration::from_millis(81), "{pause:?}");
            assert!(pause + Duration::from_millis(5) >= last.min(Duration::from_millis(80)));
            last = pause;
        }
    }

    #[test]
    fn a_permanent_error_means_stream_is_up() {
        let b = breakers(1000).get(&account());
        b.record(Err(&down()));
        let refused = RemoteError::status("Stream", "orders/create", 400, "bad postcode", None);
        b.record(Err(&refused));
        b.record(Err(&down()));
        assert!(matches!(b.admit(), Admission::Closed));
    }

    #[test]
    fn an_unused_probe_lets_the_next_caller_probe() {
        let b = breakers(1).get(&account());
        b.record(Err(&down()));
        b.record(Err(&down()));
        std::thread::sleep(Duration::from_millis(5));
        let Admission::Probe(probe) = b.admit() else {
            panic!("expected a probe")
        };
        drop(probe);
        assert!(matches!(b.admit(), Admission::Probe(_)));
    }

    #[test]
    fn installations_on_one_account_share_it() {
        let all = breakers(1000);
        all.get(&account()).record(Err(&down()));
        all.get(&account()).record(Err(&down()));
        assert!(matches!(
            all.get(&account()).admit(),
            Admission::Open { .. }
        ));
        let other = AccountKey {
            client_id: "other".into(),
            ..account()
        };
        assert!(matches!(all.get(&other).admit(), Admission::Closed));
        assert_eq!(all.view(&other).state, "closed");
    }
}
