//! Fault injection: rules set through `POST /_sim/faults` that make matching requests
//! fail, slow down, hang, get rate-limited, or lose their connection after being applied.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pattern::path_matches;

/// Longest latency or hang a fault may ask for: a stuck test should still end.
const MAX_DELAY_MS: u64 = 600_000;

/// What a fault does to a matching request.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FaultAction {
    /// Answer `status` with `body` (JSON, or text when a string; the simulator's own
    /// error shape when omitted) without running the handler.
    Status {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
    },
    /// Wait, then handle the request normally.
    Latency { latency_ms: u64 },
    /// Hang for `hang_ms` (longer than the client's timeout), then answer 504 without
    /// running the handler: the request was not applied.
    Timeout {
        #[serde(default = "default_hang_ms")]
        hang_ms: u64,
    },
    /// Answer 429 with `Retry-After`, as seconds or (`httpDate: true`) as an HTTP date.
    RateLimited {
        #[serde(default = "default_retry_after")]
        retry_after_seconds: u64,
        #[serde(default)]
        http_date: bool,
    },
    /// Run the handler (the request is applied), then close the connection with no reply.
    Drop,
}

fn default_hang_ms() -> u64 {
    120_000
}

fn default_retry_after() -> u64 {
    1
}

/// A fault as posted: which requests, what happens, and how often.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FaultSpec {
    /// Path pattern: a glob with `*`, else a prefix; case-insensitive.
    pub path: String,
    /// HTTP method to match; any when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(flatten)]
    pub action: FaultAction,
    /// Act on this many matching calls, then stop. Every matching call when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Act on each matching call with this probability (0..1). Always when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') && !self.path.starts_with('*') {
            return Err(format!("path {:?}: must start with / or *", self.path));
        }
        if let Some(m) = &self.method
            && (m.is_empty() || !m.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Err(format!("method {m:?}: must be an HTTP method like POST"));
        }
        if let Some(rate) = self.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("rate {rate}: must be between 0 and 1"));
        }
        if self.times == Some(0) {
            return Err("times: must be at least 1 (omit it for every call)".into());
        }
        match &self.action {
            FaultAction::Status { status, .. } if !(400..=599).contains(status) => Err(format!(
                "status {status}: must be an error status, 400 to 599"
            )),
            FaultAction::Latency { latency_ms: ms } | FaultAction::Timeout { hang_ms: ms }
                if *ms > MAX_DELAY_MS =>
            {
                Err(format!("{ms} ms: at most {MAX_DELAY_MS} ms"))
            }
            FaultAction::RateLimited {
                retry_after_seconds,
                ..
            } if *retry_after_seconds > 3600 => Err(format!(
                "retryAfterSeconds {retry_after_seconds}: at most 3600"
            )),
            _ => Ok(()),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path_matches(&self.path, path)
    }
}

/// A fault as stored and listed.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Calls it will still act on, when limited by `times`.
    pub remaining: Option<u32>,
    /// Calls it has acted on.
    pub hits: u64,
}

#[derive(Default)]
pub struct FaultTable {
    inner: Mutex<(u64, Vec<Fault>)>,
}

impl FaultTable {
    pub fn add(&self, spec: FaultSpec) -> Result<Fault, String> {
        spec.validate()?;
        let mut guard = self.lock();
        guard.0 += 1;
        let fault = Fault {
            id: guard.0,
            remaining: spec.times,
            spec,
            hits: 0,
        };
        guard.1.push(fault.clone());
        Ok(fault)
    }

    pub fn list(&self) -> Vec<Fault> {
        self.lock().1.clone()
    }

    pub fn clear(&self) {
        self.lock().1.clear();
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut guard = self.lock();
        let before = guard.1.len();
        guard.1.retain(|f| f.id != id);
        guard.1.len() != before
    }

    /// The first fault that matches and fires for this call, counted as a hit.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut guard = self.lock();
        for fault in guard.1.iter_mut() {
            if fault.remaining == Some(0) || !fault.spec.matches(method, path) {
                continue;
            }
            if let Some(rate) = fault.spec.rate
                && rand::random::<f64>() >= rate
            {
                continue;
            }
            if let Some(left) = fault.remaining.as_mut() {
                *left -= 1;
            }
            fault.hits += 1;
            return Some(fault.clone());
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Fault>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> FaultSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn parses_every_kind() {
        for v in [
            json!({"path": "/a", "kind": "status", "status": 503, "times": 2}),
            json!({"path": "/a", "kind": "latency", "latencyMs": 50, "rate": 0.5}),
            json!({"path": "/a", "kind": "timeout"}),
            json!({"path": "/a", "kind": "rateLimited", "retryAfterSeconds": 2, "httpDate": true}),
            json!({"path": "/a", "method": "POST", "kind": "drop"}),
        ] {
            spec(v.clone())
                .validate()
                .unwrap_or_else(|e| panic!("{v}: {e}"));
        }
        assert!(
            serde_json::from_value::<FaultSpec>(json!({"path": "/a", "kind": "explode"})).is_err()
        );
    }

    #[test]
    fn rejects_bad_values_saying_which() {
        let e = spec(json!({"path": "/a", "kind": "status", "status": 200})).validate();
        assert!(e.unwrap_err().contains("status 200"));
        let e = spec(json!({"path": "/a", "kind": "drop", "rate": 1.5})).validate();
        assert!(e.unwrap_err().contains("rate"));
        let e = spec(json!({"path": "a", "kind": "drop"})).validate();
        assert!(e.unwrap_err().contains("path"));
    }

    #[test]
    fn times_counts_down_and_method_filters() {
        let t = FaultTable::default();
        t.add(spec(
            json!({"path": "/api/", "method": "post", "kind": "drop", "times": 2}),
        ))
        .unwrap();
        assert!(t.take("GET", "/api/x").is_none());
        assert!(t.take("POST", "/api/x").is_some());
        assert!(t.take("POST", "/API/y").is_some());
        assert!(t.take("POST", "/api/x").is_none());
        assert_eq!(t.list()[0].hits, 2);
        assert_eq!(t.list()[0].remaining, Some(0));
    }

    #[test]
    fn rate_zero_never_fires_and_one_always_does() {
        let t = FaultTable::default();
        t.add(spec(json!({"path": "/", "kind": "drop", "rate": 0.0})))
            .unwrap();
        assert!((0..50).all(|_| t.take("GET", "/x").is_none()));
        t.clear();
        t.add(spec(json!({"path": "/", "kind": "drop", "rate": 1.0})))
            .unwrap();
        assert!((0..50).all(|_| t.take("GET", "/x").is_some()));
    }
}
