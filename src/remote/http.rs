//! The HTTP client both API clients use, and reading a reply into status, headers and text.

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::{RemoteError, RetryPolicy};
use crate::settings::SystemSettings;

/// Timeout and retry policy for one remote, from the system settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteOptions {
    /// Whole-request timeout (StreamApiTimeout).
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Linnworks calls are paced to the published per-minute limits times this (0: not
    /// paced). 1 in production; tests and benchmarks whose simulator scales its limits
    /// scale this alike.
    pub linnworks_pace_scale: f64,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self::from_settings(&SystemSettings::default())
    }
}

impl RemoteOptions {
    pub fn from_settings(settings: &SystemSettings) -> Self {
        Self {
            timeout: settings.stream_api_timeout(),
            retry: RetryPolicy::from_settings(settings),
            linnworks_pace_scale: 1.0,
        }
    }

    /// A client for this timeout: after [`share_http_clients`], the process's one client
    /// for it, shared by every installation's API clients.
    pub fn http_client(&self) -> Result<reqwest::Client, RemoteError> {
        let Some(shared) = SHARED.get() else {
            return build_http_client(self.timeout);
        };
        let mut clients = shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&self.timeout) {
            return Ok(client.clone());
        }
        let client = build_http_client(self.timeout)?;
        clients.insert(self.timeout, client.clone());
        Ok(client)
    }
}

type SharedClients = std::sync::Mutex<std::collections::HashMap<Duration, reqwest::Client>>;
static SHARED: std::sync::OnceLock<SharedClients> = std::sync::OnceLock::new();

/// From now on the API clients of every installation share one HTTP client per timeout
/// (one connection pool and one TLS configuration, not one per installation: a pooled
/// worker holds hundreds; requests carry their credentials themselves). Only for a process
/// with one async runtime: a client's connections belong to the runtime that made them.
pub fn share_http_clients() {
    let _ = SHARED.set(SharedClients::default());
}

/// A client with the given whole-request timeout, no redirects (an API that redirects is
/// misconfigured, and a redirect must not carry credentials elsewhere), and our user agent.
pub fn build_http_client(timeout: Duration) -> Result<reqwest::Client, RemoteError> {
    reqwest::Client::builder()
        .user_agent(concat!("linnstream/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| RemoteError::from_reqwest("HTTP", "client setup", e))
}

/// Sends a request and reads the whole reply. Transport failures become `RemoteError`s;
/// the status is returned as is, for the client to judge with its own error shape.
pub async fn read_reply(
    service: &'static str,
    call: &str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, HeaderMap, String), RemoteError> {
    let started = std::time::Instant::now();
    let reply = async {
        let response = request
            .send()
            .await
            .map_err(|e| RemoteError::from_reqwest(service, call, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| RemoteError::from_reqwest(service, call, e))?;
        Ok((status, headers, text))
    }
    .await;
    let status = reply.as_ref().ok().map(|(s, _, _)| *s);
    crate::observe::metrics::remote_request(service, call, status, started.elapsed());
    reply
}
