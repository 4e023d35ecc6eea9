//! `/healthz`, `/readyz` and `/metrics`, the same on every long-running process.
//!
//! - `/healthz` (liveness): 200 while the process serves HTTP. It checks nothing else on
//!   purpose: a database outage must not make Kubernetes restart every pod.
//! - `/readyz` (readiness): 200 when the database answers within 2 s and every check the
//!   process adds passes (a worker: its Installation's settings are known and its loops
//!   beat); otherwise 503 with the reasons, one per line.
//! - `/metrics`: the process's metrics in the Prometheus text format.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::store::Store;

/// How long the database may take to answer `SELECT 1` before the process is not ready.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// A readiness check: `Err(reason)` makes `/readyz` answer 503.
pub type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Readiness {
    store: Option<Store>,
    checks: Vec<Check>,
}

impl Readiness {
    pub fn new(store: Store) -> Self {
        Self {
            store: Some(store),
            checks: Vec::new(),
        }
    }

    pub fn with_check(
        mut self,
        check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Every reason the process is not ready; empty when it is.
    pub async fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(store) = &self.store {
            match tokio::time::timeout(DATABASE_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => problems.push(format!("the database does not answer: {e}")),
                Err(_) => problems.push(format!(
                    "the database did not answer within {} s",
                    DATABASE_TIMEOUT.as_secs()
                )),
            }
        }
        for check in &self.checks {
            if let Err(reason) = check() {
                problems.push(reason);
            }
        }
        problems
    }
}

/// A check that fails while a scheduler loop of this process has not gone round within
/// `within` (or none has started yet).
pub fn loops_beat(within: Duration) -> impl Fn() -> Result<(), String> + Send + Sync + 'static {
    move || match crate::observe::silent_loops(within) {
        None => Err("no scheduler loop has started yet".to_string()),
        Some(silent) if silent.is_empty() => Ok(()),
        Some(silent) => Err(format!(
            "scheduler loop(s) silent for more than {} s: {}",
            within.as_secs(),
            silent.join(", ")
        )),
    }
}

async fn healthz() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

async fn readyz(State(r): State<Readiness>) -> (StatusCode, String) {
    let problems = r.problems().await;
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            problems.iter().map(|p| format!("{p}\n")).collect(),
        )
    }
}

/// The exposition content type of the text format prometheus-client writes.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics_handler() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        crate::observe::metrics().encode(),
    )
}

/// The three routes, to merge into a process's router.
pub fn routes<S: Clone + Send + Sync + 'static>(readiness: Readiness) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(readiness)
        .route("/metrics", get(metrics_handler))
}
