//! The retry policy of both clients: exponential backoff with jitter (via `backon`) on
//! 5xx, 408, 429, timeouts and broken connections, honouring `Retry-After` on 429 and 503.
//! A request that is not idempotent is retried only where it certainly was not applied
//! (no connection, or refused by a rate limit), unless its caller declares it safe.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{RemoteError, RemoteErrorKind};
use crate::settings::SystemSettings;

/// Whether repeating a request could apply it twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Safe to repeat (reads, overwriting updates, creates the caller de-duplicates):
    /// retried on every transient failure.
    Idempotent,
    /// Repeating could apply it twice: retried only on a failed connection (nothing was
    /// sent) or a 429 (refused before it was processed).
    NotIdempotent,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (StreamApiMaxRetryAttempts).
    pub max_retries: u32,
    /// First backoff delay; doubles each retry. Tests set it to a few milliseconds.
    pub base_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Longest `Retry-After` waited in line; a remote asking for more ends the retries and
    /// the error carries its `retry_after` for the caller's scheduler.
    pub max_retry_after: Duration,
    /// Random jitter on each backoff delay, so clients do not retry in step.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::from_settings(&SystemSettings::default())
    }
}

impl RetryPolicy {
    pub fn from_settings(settings: &SystemSettings) -> Self {
        Self {
            max_retries: settings.stream_api_max_retry_attempts,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            jitter: true,
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self.max_delay = self.max_delay.max(base_delay);
        self
    }

    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Whether this error may be retried for a request of this idempotency.
    pub fn is_retryable(err: &RemoteError, idempotency: Idempotency) -> bool {
        let transient_status = matches!(err.status, Some(s) if s >= 500 || s == 408 || s == 429);
        match idempotency {
            Idempotency::Idempotent => match err.kind {
                RemoteErrorKind::Status => transient_status,
                RemoteErrorKind::Timeout
                | RemoteErrorKind::Connect
                | RemoteErrorKind::Transport => true,
                RemoteErrorKind::InvalidReply
                | RemoteErrorKind::Rejected
                | RemoteErrorKind::Request => false,
            },
            Idempotency::NotIdempotent => {
                err.kind == RemoteErrorKind::Connect
                    || (err.kind == RemoteErrorKind::Status && err.status == Some(429))
            }
        }
    }

    /// Runs `op` (given the attempt number, from 1) until it succeeds, fails for good, or
    /// the retries run out. The error returned is the last one, with `attempts` set.
    /// Callers whose request is not idempotent can still pass `Idempotent` when `op`
    /// checks, on attempts after the first, whether an earlier attempt landed.
    pub async fn run<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        mut op: F,
    ) -> Result<T, RemoteError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, RemoteError>>,
    {
        let attempts = AtomicU32::new(0);
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay.max(self.base_delay))
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize);
        if self.jitter {
            backoff = backoff.with_jitter();
        }
        let max_retry_after = self.max_retry_after;
        let result = (|| {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            op(attempt)
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &RemoteError| Self::is_retryable(e, idempotency))
        .adjust(move |e: &RemoteError, planned: Option<Duration>| {
            // `planned` is None once the retries are used up: Retry-After never adds one.
            let planned = planned?;
            match (e.status, e.retry_after) {
                (Some(429 | 503), Some(asked)) if asked > max_retry_after => None,
                (Some(429 | 503), Some(asked)) => Some(asked),
                _ => Some(planned),
            }
        })
        .notify(|e: &RemoteError, delay: Duration| {
            crate::observe::metrics::remote_retry(e.service);
            tracing::warn!(
                service = e.service,
                call = %e.call,
                delay_ms = delay.as_millis() as u64,
                "retrying after: {e}"
            );
        })
        .await;
        result.map_err(|mut e| {
            e.attempts = attempts.load(Ordering::SeqCst).max(1);
            e
        })
    }
}

/// `Retry-After` as a delay: either delay-seconds or an HTTP date (a past date means now).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // HTTP dates are RFC 1123 ("Sun, 06 Nov 1994 08:49:37 GMT"), which RFC 2822 parsing reads.
    let when = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((when - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Instant;

    fn fast() -> RetryPolicy {
        RetryPolicy::default()
            .with_base_delay(Duration::from_millis(1))
            .with_max_retries(3)
    }

    fn status(code: u16) -> RemoteError {
        RemoteError::status("Test", "call", code, "boom", None)
    }

    async fn run_failing(
        policy: &RetryPolicy,
        idem: Idempotency,
        errors: Vec<RemoteError>,
    ) -> (Result<u32, RemoteError>, u32) {
        let errors = Mutex::new(errors.into_iter());
        let calls = AtomicU32::new(0);
        let result = policy
            .run(idem, |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                let next = errors.lock().unwrap().next();
                async move {
                    match next {
                        Some(e) => Err(e),
                        None => Ok(attempt),
                    }
                }
            })
            .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn retries_5xx_408_429_then_succeeds() {
        let (r, calls) = run_failing(
            &fast(),
            Idempotency::Idempotent,
            vec![status(503), status(408), status(429)],
        )
        .await;
        assert_eq!(r.unwrap(), 4);
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_attempt_count() {
        let (r, calls) = run_failing(&fast(), Idempotency::Idempotent, vec![status(500); 10]).await;
        let e = r.unwrap_err();
        assert_eq!(calls, 4);
        assert_eq!(e.attempts, 4);
        assert!(e.to_string().contains("after 4 attempts"), "{e}");
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let (r, calls) = run_failing(&fast(), Idempotency::Idempotent, vec![status(400)]).await;
        assert_eq!(r.unwrap_err().status, Some(400));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn not_idempotent_retries_only_unapplied_failures() {
        let (r, calls) = run_failing(&fast(), Idempotency::NotIdempotent, vec![status(500)]).await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let timeout = RemoteError {
            kind: RemoteErrorKind::Timeout,
            status: None,
            ..status(0)
        };
        let (r, calls) = run_failing(&fast(), Idempotency::NotIdempotent, vec![timeout]).await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let connect = RemoteError {
            kind: RemoteErrorKind::Connect,
            status: None,
            ..status(0)
        };
        let (r, calls) = run_failing(
            &fast(),
            Idempotency::NotIdempotent,
            vec![connect, status(429)],
        )
        .await;
        assert!(r.is_ok());
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn retry_after_is_honoured_and_capped() {
        let asked = status(429).with_retry_after(Some(Duration::from_millis(300)));
        let started = Instant::now();
        let (r, _) = run_failing(&fast(), Idempotency::Idempotent, vec![asked]).await;
        assert!(r.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(300));

        let too_long = status(503).with_retry_after(Some(Duration::from_secs(3600)));
        let (r, calls) = run_failing(&fast(), Idempotency::Idempotent, vec![too_long]).await;
        assert_eq!(r.unwrap_err().retry_after, Some(Duration::from_secs(3600)));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn zero_retries_means_one_attempt() {
        let (r, calls) = run_failing(
            &fast().with_max_retries(0),
            Idempotency::Idempotent,
            vec![status(503)],
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(7)));
        let soon = (Utc::now() + chrono::Duration::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        h.insert(RETRY_AFTER, soon.parse().unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h), None);
    }
}
