//! The admin API (`/api/admin/...`): what support staff and the `linnstream orders|audit|jobs`
//! commands use to see the order queue, the audit log and the scheduler, and to send,
//! resend, delete and re-fetch orders. JSON in and out; every call needs an admin token
//! (see [`auth`]); the browser dashboard ([`dashboard`]) signs in once and uses the same
//! API with a session cookie. Reads go to the store; actions go through `sync::manual` and
//! `sync::fetch` with the caller as the audited actor. See docs/admin.md.

mod actions;
pub(crate) mod auth;
pub(crate) mod dashboard;
pub(crate) mod error;
pub(crate) mod jobs;
pub(crate) mod overview;
mod params;
mod queries;
pub(crate) mod views;
mod webhook_events;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::server::errors::nul_path;
use crate::server::listener::{BodyPolicy, body_limit};

use crate::config::InstallationConfig;

use crate::domain::InstallationKey;
use crate::sync::Engine;

pub use auth::{AdminAuth, AdminAuthArgs, AdminAuthError, Caller};
pub use dashboard::dashboard_router;
pub use error::ApiError;

/// Where the admin API is mounted.
pub const API_PREFIX: &str = "/api/admin";

/// Largest request body the admin API and dashboard read (a selection of order ids or the
/// sign-in form: a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct AdminState {
    pub engine: Engine,
}

impl AdminState {
    /// The installation named in the path, if it is configured.
    pub fn installation(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<InstallationConfig, ApiError> {
        let key = InstallationKey::new(namespace, name);
        self.engine.installation(&key).ok_or_else(|| {
            ApiError::not_found(format!(
                "installation {key} not found; GET {API_PREFIX}/installations lists them"
            ))
        })
    }
}

/// The admin API under `/api/admin/` and the support dashboard under `/admin/`, both
/// behind `auth`.
pub fn admin_router(engine: Engine, auth: AdminAuth) -> Router {
    let policy = Arc::new(BodyPolicy {
        limit: MAX_BODY_BYTES,
        timeout: engine.settings().http.body_timeout(),
        refuse: |status, message| ApiError::new(status, message).into_response(),
    });
    let state = AdminState { engine };
    let inst = "/installations/{namespace}/{name}";
    let api = Router::new()
        .route("/session", get(queries::session))
        .route("/installations", get(queries::installations))
        .route(&format!("{inst}/orders"), get(queries::orders))
        .route(&format!("{inst}/orders/send"), post(actions::send))
        .route(&format!("{inst}/orders/resend"), post(actions::resend))
        .route(&format!("{inst}/orders/delete"), post(actions::delete))
        .route(&format!("{inst}/orders/{{order_id}}"), get(queries::order))
        .route(
            &format!("{inst}/orders/{{order_id}}/label.png"),
            get(overview::label_preview),
        )
        .route(&format!("{inst}/overview"), get(overview::overview))
        .route(&format!("{inst}/refetch"), post(actions::refetch))
        .route(&format!("{inst}/audit"), get(queries::audit))
        .route(&format!("{inst}/jobs"), get(queries::jobs))
        .route(&format!("{inst}/webhooks"), get(webhook_events::list))
        .route(
            &format!("{inst}/webhooks/{{event_id}}/retry"),
            post(webhook_events::retry),
        )
        .fallback(queries::not_found)
        .with_state(state)
        .layer(from_fn(refuse_unstorable))
        .layer(from_fn_with_state(policy.clone(), body_limit))
        .layer(from_fn_with_state(auth.clone(), auth::require_caller));
    Router::new().nest(API_PREFIX, api).merge(
        dashboard_router(auth)
            .layer(from_fn(refuse_unstorable))
            .layer(from_fn_with_state(policy, body_limit)),
    )
}

/// Refuses with 400 a path, query or JSON body holding a NUL character (U+0000): no store
/// keeps it, and a lookup with it would fail in the database rather than find nothing.
/// Runs after `body_limit`, so the body is already read (and bounded).
async fn refuse_unstorable(req: Request, next: Next) -> Response {
    let uri = req.uri();
    for (part, text) in [("path", uri.path()), ("query", uri.query().unwrap_or(""))] {
        if text.to_ascii_lowercase().contains("%00") {
            return ApiError::bad_request(format!(
                "the {part} holds a NUL character (%00), which no order id, name or filter contains"
            ))
            .into_response();
        }
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
        .into_response();
    };
    if bytes.contains(&0) {
        return ApiError::bad_request("the body holds a NUL byte").into_response();
    }
    if let Some(path) = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .as_ref()
        .and_then(nul_path)
    {
        let at = if path.is_empty() { "the body" } else { &path };
        return ApiError {
            parameter: (!path.is_empty()).then(|| path.clone()),
            ..ApiError::bad_request(format!(
                "{at} holds a NUL character (U+0000), which cannot be stored or looked up"
            ))
        }
        .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
