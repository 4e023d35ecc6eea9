//! A stateful, in-memory simulator of the Linnworks API (see docs/simulators.md).
//!
//! It logs in like Linnworks (AuthorizeByApplication against the configured application
//! id, secret and installation token; a session token and `Server` pointing back at the
//! simulator; sessions that expire when idle), accepts JSON and form-encoded bodies,
//! answers in the reply shapes of Linnworks' OpenAPI files, and rejects what Linnworks
//! would with `{"Message": ...}`. The shared kit adds request recording, faults and the
//! published per-endpoint rate limits.

mod admin;
mod api;
mod decode;
mod model;
mod replay;
mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::sim::kit::{self, RateLimitRule, RunningServer, SimKit};
pub use model::{
    NewBin, NewBinItem, NewBox, NewItem, NewOrder, NewPostalService, NewProperty, SimAddress,
};

/// An error reply in Linnworks' shape: a status and `{"Message": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn required(field: &str) -> Self {
        Self::bad_request(format!("{field} is required"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message)
    }
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "Message": message }))).into_response()
}

/// A JSON reply. Linnworks' strings are UTF-16 and may hold an unpaired surrogate, which no
/// Rust string can: the simulator keeps one as `SURROGATE_MARK` (see `/_sim/orders`) and
/// writes it out as the escape Linnworks would send.
fn json_reply(value: &Value) -> Response {
    use crate::remote::text::SURROGATE_MARK;
    let mut text = value.to_string();
    if text.contains(SURROGATE_MARK) {
        text = text.replace(SURROGATE_MARK, "\\ud800");
    }
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The simulated account.
#[derive(Clone, Debug)]
pub struct LinnworksSimConfig {
    pub application_id: String,
    pub application_secret: String,
    pub installation_token: String,
    /// Idle time after which a session is refused with 401 (Linnworks: 20 minutes).
    pub session_ttl: Duration,
    /// The location new orders get by default (Linnworks' own Default location is the
    /// empty GUID).
    pub default_location: Uuid,
    /// Per-endpoint limits; Linnworks' published ones by default.
    pub rate_limits: Vec<RateLimitRule>,
}

/// Fixed demo credentials, printed by `linnstream simulate`.
pub const DEMO_APPLICATION_ID: &str = "6f1b9c1e-0d2a-4c41-9a57-0a1e5f6c7d01";
pub const DEMO_APPLICATION_SECRET: &str = "2b7e1516-28ae-4d2a-abf7-15880900cf02";
pub const DEMO_INSTALLATION_TOKEN: &str = "a3c5e7f9-1b2d-4e6f-8a0c-2e4f6a8c0e03";

impl Default for LinnworksSimConfig {
    fn default() -> Self {
        Self {
            application_id: DEMO_APPLICATION_ID.into(),
            application_secret: DEMO_APPLICATION_SECRET.into(),
            installation_token: DEMO_INSTALLATION_TOKEN.into(),
            session_ttl: Duration::from_secs(20 * 60),
            default_location: Uuid::nil(),
            rate_limits: default_rate_limits(),
        }
    }
}

/// Linnworks' published per-minute limits for the endpoints simulated (from the spec).
pub fn default_rate_limits() -> Vec<RateLimitRule> {
    crate::linnworks::PUBLISHED_RATE_LIMITS
        .iter()
        .map(|(call, limit)| RateLimitRule::new(format!("/api/{call}"), *limit))
        .collect()
}

/// One simulated Linnworks account; clones share state.
#[derive(Clone)]
pub struct LinnworksSim {
    shared: Arc<Shared>,
}

struct Shared {
    config: LinnworksSimConfig,
    kit: SimKit,
    store: Mutex<store::Store>,
}

type Handler = fn(&mut store::Store, decode::Fields) -> api::ApiResult;

impl LinnworksSim {
    pub fn new(config: LinnworksSimConfig) -> Self {
        let kit = SimKit::new(
            config.rate_limits.clone(),
            Arc::new(|status: StatusCode, message: &str| error_response(status, message)),
        );
        Self {
            shared: Arc::new(Shared {
                config,
                kit,
                store: Mutex::new(store::Store::new()),
            }),
        }
    }

    pub fn config(&self) -> &LinnworksSimConfig {
        &self.shared.config
    }

    /// Recorder, faults and rate limits.
    pub fn kit(&self) -> &SimKit {
        &self.shared.kit
    }

    fn store(&self) -> MutexGuard<'_, store::Store> {
        self.shared.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The whole simulator: API, kit and admin routes.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/api/Auth/AuthorizeByApplication", post(authorize))
            .route(
                "/api/Orders/GetOpenOrders",
                self.call(true, api::get_open_orders),
            )
            .route(
                "/api/Orders/GetOrdersById",
                self.call(true, api::get_orders_by_id),
            )
            .route(
                "/api/Orders/GetOrderPackagingCalculation",
                self.call(true, api::get_order_packaging_calculation),
            )
            .route(
                "/api/Orders/SetOrderShippingInfo",
                self.call(true, api::set_order_shipping_info),
            )
            .route(
                "/api/Orders/SetOrderGeneralInfo",
                self.call(true, api::set_order_general_info),
            )
            .route(
                "/api/Orders/AddOrdersNote",
                self.call(true, api::add_orders_note),
            )
            .route(
                "/api/Orders/AddExtendedProperties",
                self.call(true, api::add_extended_properties),
            )
            .route(
                "/api/Orders/SetExtendedProperties",
                self.call(true, api::set_extended_properties),
            )
            .route(
                "/api/Orders/ProcessOrder",
                self.call(true, api::process_order),
            )
            .route(
                "/api/OpenOrders/GetIdentifiers",
                self.call(false, api::get_identifiers),
            )
            .route(
                "/api/OpenOrders/SaveIdentifier",
                self.call(true, api::save_identifier),
            )
            .route(
                "/api/OpenOrders/AssignOrderIdentifier",
                self.call(true, |s, f| api::change_identifier(s, f, true)),
            )
            .route(
                "/api/OpenOrders/UnassignOrderIdentifier",
                self.call(true, |s, f| api::change_identifier(s, f, false)),
            )
            .route(
                "/api/PostalServices/GetPostalServices",
                self.call(false, api::get_postal_services),
            )
            // Clients call it with GET and with POST (no parameters either way).
            .route(
                "/api/Inventory/GetStockLocations",
                self.call(false, api::get_stock_locations)
                    .merge(self.call(true, api::get_stock_locations)),
            )
            .route(
                "/api/PostalServices/CreatePostalService",
                self.call(true, api::create_postal_service),
            )
            .route(
                "/api/PostalServices/UpdatePostalService",
                self.call(true, api::update_postal_service),
            )
            .fallback(|| async {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "No HTTP resource was found that matches the request URI",
                )
            })
            .with_state(self.clone());
        self.kit()
            .wrap(api)
            .merge(admin::routes().with_state(self.clone()))
    }

    /// A POST (or GET) endpoint that needs a session.
    fn call(&self, is_post: bool, handler: Handler) -> MethodRouter<LinnworksSim> {
        let run = move |State(sim): State<LinnworksSim>, headers: HeaderMap, body: Bytes| async move {
            sim.handle(&headers, &body, handler)
        };
        if is_post { post(run) } else { get(run) }
    }

    fn handle(&self, headers: &HeaderMap, body: &[u8], handler: Handler) -> Response {
        let result = self.authenticate(headers).and_then(|()| {
            let fields = decode::decode(headers, body)?;
            let mut store = self.store();
            handler(&mut store, fields)
        });
        match result {
            Ok(Some(value)) => json_reply(&value),
            Ok(None) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => e.into_response(),
        }
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        if !token.is_empty()
            && self
                .store()
                .touch_session(token, self.shared.config.session_ttl)
        {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Authorization has been denied for this request.",
            ))
        }
    }

    /// Adds orders, as `POST /_sim/orders` does; returns their ids.
    pub fn add_orders(&self, orders: Vec<NewOrder>) -> Result<Vec<Uuid>, ApiError> {
        let location = self.shared.config.default_location;
        let mut store = self.store();
        orders
            .into_iter()
            .map(|o| store.add_order(o, location))
            .collect()
    }

    /// Adds a location (warehouse) named `name`; returns its id (the same name again
    /// returns the existing one).
    pub fn add_location(&self, name: &str) -> Uuid {
        let mut store = self.store();
        if let Some((id, _)) = store.locations.iter().find(|(_, n)| n == name) {
            return *id;
        }
        let id = Uuid::new_v4();
        store.locations.push((id, name.to_string()));
        id
    }

    /// Adds postal services, as `POST /_sim/postal-services` does.
    pub fn add_postal_services(
        &self,
        services: Vec<NewPostalService>,
    ) -> Result<Vec<Uuid>, ApiError> {
        let mut store = self.store();
        services
            .into_iter()
            .map(|s| store.add_postal_service(s).map(|s| s.id))
            .collect()
    }

    /// The order as it now stands, in the `OrderDetails` shape; by GUID or NumOrderId.
    pub fn order(&self, key: &str) -> Option<Value> {
        let store = self.store();
        store
            .find_order(key)
            .map(|o| o.details_json(&store.identifiers))
    }

    /// Ends every session now: the next call gets 401.
    pub fn expire_sessions(&self) -> usize {
        self.store().expire_sessions()
    }

    /// A few postal services and open orders for the demo and for curl.
    pub fn seed_demo(&self, orders: usize) -> Result<(), ApiError> {
        self.add_postal_services(vec![
            NewPostalService {
                id: None,
                name: "Stream Next Day".into(),
                vendor: Some("STREAM TECH".into()),
                tag: None,
                code: Some("NEXTDAY".into()),
                country: Some("GB".into()),
            },
            NewPostalService {
                id: None,
                name: "Royal Mail 2nd Class".into(),
                vendor: Some("Royal Mail".into()),
                tag: None,
                code: None,
                country: Some("GB".into()),
            },
        ])?;
        let demo: Vec<NewOrder> = (0..orders)
            .map(|i| NewOrder {
                postal_service_name: Some(if i % 3 == 2 {
                    "Royal Mail 2nd Class".into()
                } else {
                    "Stream Next Day".into()
                }),
                items: Some(vec![
                    NewItem {
                        sku: Some(format!("CHAIR-{:02}", i + 1)),
                        title: Some("Oak dining chair".into()),
                        quantity: Some(2),
                        weight: Some(6.5),
                        price: Some(89.0),
                        ..NewItem::default()
                    },
                    NewItem {
                        sku: Some("TABLE-SET".into()),
                        title: Some("Table set (composite)".into()),
                        composite_sub_items: vec![
                            NewItem {
                                sku: Some("TABLE-TOP".into()),
                                title: Some("Table top".into()),
                                weight: Some(20.0),
                                ..NewItem::default()
                            },
                            NewItem {
                                sku: Some("TABLE-LEGS".into()),
                                title: Some("Table legs".into()),
                                weight: Some(8.0),
                                ..NewItem::default()
                            },
                        ],
                        ..NewItem::default()
                    },
                ]),
                ..NewOrder::default()
            })
            .collect();
        self.add_orders(demo).map(|_| ())
    }

    /// What `linnstream simulate` prints: the URL and the demo credentials.
    pub fn banner(&self, url: &str) -> String {
        let c = &self.shared.config;
        format!(
            "Linnworks simulator: {url}  (admin: {url}/_sim/, docs/simulators.md)\n  \
             application id {}  application secret {}  installation token {}\n",
            c.application_id, c.application_secret, c.installation_token
        )
    }

    /// Serves the simulator on `addr` (port 0 for a free one) in the background.
    pub async fn start(&self, addr: SocketAddr) -> std::io::Result<RunningServer> {
        kit::serve(self.router(), addr).await
    }

    /// Serves it on a free loopback port: for tests.
    pub async fn start_loopback(&self) -> std::io::Result<RunningServer> {
        kit::serve_loopback(self.router()).await
    }
}

impl Default for LinnworksSim {
    fn default() -> Self {
        Self::new(LinnworksSimConfig::default())
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().as_bytes().ct_eq(b.as_bytes()).into()
}

/// `Auth/AuthorizeByApplication`: checks the three credentials, opens a session and
/// answers `BaseSession` with `Server` pointing back at this simulator.
async fn authorize(State(sim): State<LinnworksSim>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = match decode::decode(&headers, &body) {
        Ok(f) => f.unwrap_request(),
        Err(e) => return e.into_response(),
    };
    let get = |name: &str| fields.str(name).map(|v| v.unwrap_or_default());
    let (app_id, secret, token) =
        match (get("ApplicationId"), get("ApplicationSecret"), get("Token")) {
            (Ok(a), Ok(s), Ok(t)) => (a, s, t),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e.into_response(),
        };
    for (name, value) in [
        ("ApplicationId", &app_id),
        ("ApplicationSecret", &secret),
        ("Token", &token),
    ] {
        if value.trim().is_empty() {
            return ApiError::required(name).into_response();
        }
        if Uuid::parse_str(value.trim()).is_err() {
            return ApiError::bad_request(format!("{name} is not a valid GUID")).into_response();
        }
    }
    let c = &sim.shared.config;
    // All three compared, always, so timing does not tell which one was wrong.
    let ok = same(&app_id, &c.application_id)
        & same(&secret, &c.application_secret)
        & same(&token, &c.installation_token);
    if !ok {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Invalid application credentials or token",
        )
        .into_response();
    }
    let session = sim.store().start_session();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(json!({
        "Id": Uuid::new_v4(),
        "EntityId": Uuid::new_v4(),
        "DatabaseName": Value::Null,
        "DatabaseServer": Value::Null,
        "PrivateDatabaseServer": Value::Null,
        "DatabaseUser": Value::Null,
        "DatabasePassword": Value::Null,
        "AppName": "linnstream simulator",
        "sid_registration": Uuid::new_v4(),
        "UserName": "sim@example.com",
        "Md5Hash": Value::Null,
        "Locality": "EU",
        "SuperAdmin": false,
        "TTL": sim.shared.config.session_ttl.as_secs(),
        "Token": session,
        "AccessToken": Value::Null,
        "GroupName": Value::Null,
        "Device": Value::Null,
        "DeviceType": Value::Null,
        "UserType": "B2B",
        "Status": {"State": "AVAILABLE", "Reason": "", "Parameters": {}},
        "UserId": Uuid::new_v4(),
        "Properties": {},
        "Email": "sim@example.com",
        "Server": format!("http://{host}"),
        "PushServer": Value::Null,
    }))
    .into_response()
}
