//! The admin API (`/api/admin/...`): what support staff and the `linnstream orders|audit|jobs`
//! commands use to see the order queue, the audit log and the scheduler, and to send,
//! resend, delete and re-fetch orders. JSON in and out; every call needs an admin token
//! (see [`auth`]); the browser dashboard ([`dashboard`]) signs in once and uses the same
//! API with a session cookie. Reads go to the store; actions go through `sync::manual` and
//! `sync::fetch` with the caller as the audited actor. See docs/admin.md.

mod actions;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod jobs;
mod params;
mod queries;
pub mod views;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::config::{InstallationConfig, InstallationKey};
use crate::sync::Engine;

pub use auth::{AdminAuth, AdminAuthArgs, AdminAuthError, Caller};
pub use dashboard::dashboard_router;
pub use error::ApiError;

/// Where the admin API is mounted.
pub const API_PREFIX: &str = "/api/admin";

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
        .route(&format!("{inst}/refetch"), post(actions::refetch))
        .route(&format!("{inst}/audit"), get(queries::audit))
        .route(&format!("{inst}/jobs"), get(queries::jobs))
        .route(&format!("{inst}/webhooks"), get(queries::webhooks))
        .fallback(queries::not_found)
        .with_state(state)
        .layer(from_fn_with_state(auth.clone(), auth::require_caller));
    Router::new()
        .nest(API_PREFIX, api)
        .merge(dashboard_router(auth))
}
