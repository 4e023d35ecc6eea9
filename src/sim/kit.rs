//! What every simulator shares, as axum pieces: a request recorder, fault injection and
//! per-endpoint rate limits in front of the simulated API, their admin endpoints under
//! `/_sim/`, and a helper to serve a router in-process (see docs/simulators.md).
//!
//! A simulator builds its API router and hands it to [`SimKit::wrap`], which puts the
//! kit's middleware in front of every API route (and the fallback) and adds
//! `/_sim/requests`, `/_sim/faults` and `/_sim/rate-limits`. Serve the result with
//! [`serve`] or [`serve_loopback`]; the drop fault needs them (it kills the connection
//! through the listener they install).

mod faults;
mod mask;
mod pattern;
mod rate_limit;
mod recorder;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub use faults::{Fault, FaultAction, FaultSpec, FaultTable};
pub use mask::{MASK, form_urlencoded_pairs, is_secret_name, mask_json};
pub use pattern::path_matches;
pub use rate_limit::{RateLimitRule, RateLimiter};
pub use recorder::{RecordedRequest, Recorder};
pub use serve::{Connection, RunningServer, serve, serve_loopback};

/// Largest request body a simulator reads.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Formats an error reply in the simulated service's own shape (status, message).
pub type ErrorBody = Arc<dyn Fn(StatusCode, &str) -> Response + Send + Sync>;

/// Recorder, faults and rate limits of one simulator instance.
#[derive(Clone)]
pub struct SimKit {
    inner: Arc<KitState>,
}

struct KitState {
    recorder: Recorder,
    faults: FaultTable,
    limits: RateLimiter,
    error_body: ErrorBody,
}

impl SimKit {
    /// `default_limits`: the service's published per-minute limits. `error_body`: how the
    /// service words an error, used for the kit's own 429 and 504 replies.
    pub fn new(default_limits: Vec<RateLimitRule>, error_body: ErrorBody) -> Self {
        Self {
            inner: Arc::new(KitState {
                recorder: Recorder::default(),
                faults: FaultTable::default(),
                limits: RateLimiter::new(default_limits),
                error_body,
            }),
        }
    }

    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    pub fn faults(&self) -> &FaultTable {
        &self.inner.faults
    }

    pub fn rate_limits(&self) -> &RateLimiter {
        &self.inner.limits
    }

    /// `api` with the kit in front of every request, plus the kit's admin routes.
    pub fn wrap(&self, api: Router) -> Router {
        api.layer(middleware::from_fn_with_state(self.clone(), kit_middleware))
            .merge(self.admin_routes())
    }

    /// `/_sim/requests`, `/_sim/faults`, `/_sim/rate-limits`.
    pub fn admin_routes(&self) -> Router {
        Router::new()
            .route("/_sim/requests", get(list_requests).delete(clear_requests))
            .route(
                "/_sim/faults",
                get(list_faults).post(add_fault).delete(clear_faults),
            )
            .route("/_sim/faults/{id}", delete(remove_fault))
            .route(
                "/_sim/rate-limits",
                get(list_limits).put(set_limits).delete(reset_limits),
            )
            .with_state(self.clone())
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        (self.inner.error_body)(status, message)
    }
}

/// A plain JSON error for the kit's admin endpoints.
pub fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn kit_middleware(State(kit): State<SimKit>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sim/") {
        return next.run(req).await;
    }
    let connection = req.extensions().get::<ConnectInfo<Connection>>().cloned();
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return kit.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body unreadable or larger than 10 MiB",
            );
        }
    };
    let recorder = kit.recorder();
    let seq = recorder.record(&parts.method, &parts.uri, &parts.headers, &bytes);
    let path = parts.uri.path().to_string();
    let method = parts.method.as_str().to_string();

    if let Err(wait) = kit.rate_limits().check(&path) {
        let mut resp = kit.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests: this endpoint's per-minute limit is reached",
        );
        set_retry_after(&mut resp, wait, false);
        recorder.set_outcome(seq, Some(429), Some("rateLimit".into()));
        return resp;
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    let fault = kit.faults().take(&method, &path);
    let fault_name = fault
        .as_ref()
        .map(|f| format!("{}#{}", kind_name(&f.spec.action), f.id));
    let response = match fault.map(|f| f.spec.action) {
        None => next.run(req).await,
        Some(FaultAction::Status { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                None => kit.error(status, "Simulated failure"),
                Some(Value::String(text)) => (status, text).into_response(),
                Some(v) => (status, Json(v)).into_response(),
            }
        }
        Some(FaultAction::Latency { latency_ms }) => {
            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
            next.run(req).await
        }
        Some(FaultAction::Timeout { hang_ms }) => {
            tokio::time::sleep(Duration::from_millis(hang_ms)).await;
            kit.error(StatusCode::GATEWAY_TIMEOUT, "Simulated timeout")
        }
        Some(FaultAction::RateLimited {
            retry_after_seconds,
            http_date,
        }) => {
            let mut resp = kit.error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            set_retry_after(
                &mut resp,
                Duration::from_secs(retry_after_seconds),
                http_date,
            );
            resp
        }
        Some(FaultAction::Drop) => {
            let applied = next.run(req).await;
            match connection {
                Some(ConnectInfo(conn)) => {
                    conn.kill();
                    recorder.set_outcome(seq, None, fault_name);
                    // Never written: the connection fails as soon as hyper tries.
                    return applied;
                }
                None => kit.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "drop fault needs the simulator served by sim::kit::serve",
                ),
            }
        }
    };
    recorder.set_outcome(seq, Some(response.status().as_u16()), fault_name);
    response
}

fn kind_name(action: &FaultAction) -> &'static str {
    match action {
        FaultAction::Status { .. } => "status",
        FaultAction::Latency { .. } => "latency",
        FaultAction::Timeout { .. } => "timeout",
        FaultAction::RateLimited { .. } => "rateLimited",
        FaultAction::Drop => "drop",
    }
}

fn set_retry_after(resp: &mut Response, wait: Duration, http_date: bool) {
    let value = if http_date {
        (chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    } else {
        wait.as_secs().to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

async fn list_requests(State(kit): State<SimKit>) -> Json<Vec<RecordedRequest>> {
    Json(kit.recorder().requests())
}

async fn clear_requests(State(kit): State<SimKit>) -> StatusCode {
    kit.recorder().clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(kit): State<SimKit>) -> Json<Vec<Fault>> {
    Json(kit.faults().list())
}

async fn add_fault(State(kit): State<SimKit>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("fault: {e}")),
    };
    match kit.faults().add(spec) {
        Ok(fault) => (StatusCode::CREATED, Json(fault)).into_response(),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("fault: {e}")),
    }
}

async fn clear_faults(State(kit): State<SimKit>) -> StatusCode {
    kit.faults().clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(kit): State<SimKit>, Path(id): Path<u64>) -> Response {
    if kit.faults().remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        admin_error(StatusCode::NOT_FOUND, format!("no fault with id {id}"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    rules: Vec<RateLimitRule>,
}

async fn list_limits(State(kit): State<SimKit>) -> Json<Value> {
    Json(json!({ "rules": kit.rate_limits().rules() }))
}

async fn set_limits(State(kit): State<SimKit>, body: Bytes) -> Response {
    let parsed: LimitsBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("rate limits: {e}")),
    };
    match kit.rate_limits().set_rules(parsed.rules) {
        Ok(()) => Json(json!({ "rules": kit.rate_limits().rules() })).into_response(),
        Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("rate limits: {e}")),
    }
}

async fn reset_limits(State(kit): State<SimKit>) -> Json<Value> {
    kit.rate_limits().reset();
    Json(json!({ "rules": kit.rate_limits().rules() }))
}
