//! A stateful, in-memory simulator of the Stream (Go2Stream) API, close enough to the
//! reference (`shared/reference/external-apis.md` section 3) that a client which works against
//! it would work against Stream.
//!
//! The API is served under `/api` (the real base URL is `https://www.go2stream.net/api`), so a
//! client's base URL is `http://HOST:PORT/api`. The admin API sits under `/_sim/`.

mod admin;
mod api;
pub mod config;
mod notify;
mod reply;
mod state;
pub mod validate;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::sim::kit::{ErrorBody, RunningServer, SimKit, serve, serve_loopback};

pub use config::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PARTNER_ID, SimClient, SimDeliveryMethod, SimDepot,
    StreamSimConfig, default_depots,
};

/// State shared by every handler.
pub struct Shared {
    config: StreamSimConfig,
    inner: Mutex<state::Inner>,
    http: reqwest::Client,
}

impl Shared {
    /// The lock is never held across an await, so a poisoned lock only means a handler
    /// panicked mid-update; the simulator keeps serving what it has.
    fn lock(&self) -> MutexGuard<'_, state::Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn depot_postcode(&self, depot_id: &str) -> String {
        self.config
            .depots
            .iter()
            .find(|d| d.id == depot_id)
            .map(|d| d.address.postcode.clone())
            .unwrap_or_default()
    }
}

/// The Stream simulator. Cheap to clone; every clone shares the same memory.
#[derive(Clone)]
pub struct StreamSim {
    shared: Arc<Shared>,
    kit: SimKit,
}

impl StreamSim {
    /// A simulator seeded from `config`, refused when the seed is inconsistent.
    pub fn new(config: StreamSimConfig) -> Result<Self, String> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("webhook HTTP client: {e}"))?;
        // Stream publishes no rate limits: none by default, settable via /_sim/rate-limits.
        let error_body: ErrorBody = Arc::new(|status: StatusCode, message: &str| {
            reply::error(status, "SIMULATED", message)
        });
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                inner: Mutex::new(state::Inner::default()),
                http,
            }),
            kit: SimKit::new(Vec::new(), error_body),
        })
    }

    /// What `linnstream simulate` prints for the Stream simulator served at `url`
    /// (`http://HOST:PORT`): the API base and the credentials of every seeded client.
    pub fn banner(&self, url: &str) -> String {
        let mut text =
            format!("Stream simulator: {url}/api  (admin: {url}/_sim/, docs/simulators.md)\n");
        for c in &self.shared.config.clients {
            text.push_str(&format!(
                "  client id {}  client secret {}",
                c.client_id, c.client_secret
            ));
            if !c.partner_ids.is_empty() {
                text.push_str(&format!("  partner accounts {}", c.partner_ids.join(", ")));
            }
            text.push('\n');
        }
        text
    }

    /// The recorder, faults and rate limits in front of this simulator's API.
    pub fn kit(&self) -> &SimKit {
        &self.kit
    }

    /// Serves the simulator (kit included) on a free loopback port: for tests.
    pub async fn serve_loopback(&self) -> std::io::Result<RunningServer> {
        serve_loopback(self.router()).await
    }

    /// Serves the simulator (kit included) on `addr`.
    pub async fn serve(&self, addr: std::net::SocketAddr) -> std::io::Result<RunningServer> {
        serve(self.router(), addr).await
    }

    pub fn config(&self) -> &StreamSimConfig {
        &self.shared.config
    }

    /// The API under `/api`, the tracking pages under `/track`, and the admin API under
    /// `/_sim/`, with the simulator kit (request recorder, faults, rate limits) in front.
    pub fn router(&self) -> Router {
        self.kit.wrap(self.bare_router())
    }

    /// The simulator's routes without the kit.
    pub fn bare_router(&self) -> Router {
        let api = Router::new()
            .route("/oauth", post(api::oauth))
            .route("/depots/depots", get(api::depots))
            .route("/orders/orders", post(api::create_order))
            .route(
                "/orders/orders/{reference}",
                get(api::get_order)
                    .patch(api::patch_order)
                    .delete(api::delete_order),
            )
            .route("/orders/status/{consignment}", get(api::order_status))
            .route(
                "/webhooks/webhooks",
                post(api::subscribe).get(api::list_subscriptions),
            )
            .route(
                "/webhooks/webhooks/{id}",
                axum::routing::delete(api::unsubscribe),
            );
        Router::new()
            .nest("/api", api)
            .route("/track/{tracking}", get(api::tracking_page))
            .route("/_sim/orders", get(admin::list_orders))
            .route("/_sim/orders/{reference}", get(admin::get_order))
            .route("/_sim/events", post(admin::post_event))
            .route("/_sim/webhooks", get(admin::webhooks))
            .route("/_sim/tokens/expire", post(admin::expire_tokens))
            .route(
                "/_sim/inbox",
                post(admin::inbox_receive).get(admin::inbox_list),
            )
            .with_state(self.shared.clone())
    }
}
