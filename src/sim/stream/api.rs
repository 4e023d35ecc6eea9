//! The Stream API as the simulator serves it under `/api` (reference section 3).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::Shared;
use super::reply;
use super::state::{ItemState, OrderRecord, Subscription, TokenRecord, new_token, new_tracking_id};
use super::validate::{check_create, check_patch};

/// Who is calling, once the token, party and nonce have been checked.
pub struct Caller {
    pub client_id: String,
    pub party: String,
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Checks `Authorization: Bearer`, `Stream-Party` and `Stream-Nonce`, in that order.
/// Refusals are boxed: a `Response` is large and the success path is the common one.
pub fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    let Some(auth) = header_text(headers, header::AUTHORIZATION.as_str()) else {
        return Err(Box::new(reply::error(
            StatusCode::UNAUTHORIZED,
            "AUTH_MISSING",
            "Authorization: Bearer <token> is required",
        )));
    };
    // [RV2] writes the scheme in lower case; schemes are case-insensitive.
    let token = match auth.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(Box::new(reply::error(
                StatusCode::UNAUTHORIZED,
                "AUTH_SCHEME",
                "the Authorization header must use the Bearer scheme",
            )));
        }
    };
    let party = header_text(headers, "stream-party").map(str::to_string);
    let nonce = header_text(headers, "stream-nonce").map(str::to_string);
    let mut inner = shared.lock();
    let client_id = match inner.tokens.get(token) {
        None => {
            return Err(Box::new(reply::error(
                StatusCode::UNAUTHORIZED,
                "TOKEN_INVALID",
                "the access token is not known",
            )));
        }
        Some(t) if t.expires_at <= Instant::now() => {
            return Err(Box::new(reply::error(
                StatusCode::UNAUTHORIZED,
                "TOKEN_EXPIRED",
                "the access token has expired",
            )));
        }
        Some(t) => t.client_id.clone(),
    };
    let Some(party) = party else {
        return Err(Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "PARTY_MISSING",
            "the Stream-Party header is required",
        )));
    };
    let client = shared
        .config
        .clients
        .iter()
        .find(|c| c.client_id == client_id);
    let allowed = party == client_id || client.is_some_and(|c| c.partner_ids.contains(&party));
    if !allowed {
        return Err(Box::new(reply::error(
            StatusCode::FORBIDDEN,
            "PARTY_MISMATCH",
            format!(
                "Stream-Party `{party}` is neither this client nor one of its partner accounts"
            ),
        )));
    }
    let Some(nonce) = nonce else {
        return Err(Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "NONCE_MISSING",
            "the Stream-Nonce header is required",
        )));
    };
    let memory = shared.config.nonce_memory;
    if !inner
        .nonces
        .entry(client_id.clone())
        .or_default()
        .record(&nonce, memory)
    {
        return Err(Box::new(reply::error(
            StatusCode::CONFLICT,
            "NONCE_REPEATED",
            "this Stream-Nonce was already used: every request needs a new one",
        )));
    }
    Ok(Caller { client_id, party })
}

fn parse_body(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "BODY_INVALID",
            format!("the body is not JSON: {e}"),
        ))
    })
}

/// `POST /oauth`: client credentials for a bearer token.
pub async fn oauth(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        // OAuth clients may also send the form encoding.
        Err(_) => match std::str::from_utf8(&body) {
            Ok(text) => Value::Object(
                text.split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
            ),
            Err(_) => Value::Null,
        },
    };
    let field = |k: &str| parsed.get(k).and_then(Value::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let (id, secret) = (field("client_id"), field("client_secret"));
    if id.is_empty() || secret.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    }
    let known = shared.config.clients.iter().find(|c| c.client_id == id);
    let Some(client) =
        known.filter(|c| constant_time_eq(c.client_secret.as_bytes(), secret.as_bytes()))
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the client id or secret is wrong",
        );
    };
    let token = new_token();
    let ttl = shared.config.token_ttl;
    shared.lock().tokens.insert(
        token.clone(),
        TokenRecord {
            client_id: client.client_id.clone(),
            expires_at: Instant::now() + ttl,
        },
    );
    axum::Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": "api",
    }))
    .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// OAuth errors carry both the OAuth fields and Stream's envelope, so either kind of client
/// can read them (*inferred*: no public source shows a failed token call).
fn oauth_error(status: StatusCode, code: &'static str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "error": code,
            "error_description": description,
            "response": {"valid": false, "errors": [
                {"code": code, "description": description, "severity": "error"}
            ]},
        })),
    )
        .into_response()
}

/// `GET /depots/depots`.
pub async fn depots(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&shared, &headers) {
        return *r;
    }
    reply::ok(json!({ "depots": shared.config.depots }), &[])
}

fn host_of(headers: &HeaderMap) -> String {
    header_text(headers, header::HOST.as_str())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn created_reply(o: &OrderRecord, warnings: &[super::validate::Problem]) -> Response {
    reply::ok(
        json!({
            "consignmentNo": o.consignment_no,
            "orderNo": o.order.order_no,
            "customerOrderNo": o.header_changes.get("customerOrderNo").cloned()
                .unwrap_or_else(|| json!(o.order.customer_order_no)),
            "trackingURL": o.tracking_url,
            "trackingId": o.tracking_id,
        }),
        warnings,
    )
}

/// `POST /orders/orders`.
pub async fn create_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (order, warnings) = match check_create(&body, &shared.config.depots) {
        Ok(ok) => ok,
        Err(findings) => {
            return reply::rejected(
                StatusCode::BAD_REQUEST,
                &findings.errors,
                &findings.warnings,
            );
        }
    };
    let mut inner = shared.lock();
    if inner
        .find_live(&caller.client_id, &order.order_no)
        .is_some()
    {
        return reply::error(
            StatusCode::CONFLICT,
            "DUPLICATE_ORDER",
            format!("an order with orderNo `{}` already exists", order.order_no),
        );
    }
    let consignment_no = inner.new_consignment();
    let group_id = inner.new_group_id();
    let tracking_id = new_tracking_id();
    let record = OrderRecord {
        client_id: caller.client_id,
        party: caller.party,
        consignment_no,
        tracking_url: format!("http://{}/track/{tracking_id}", host_of(&headers)),
        tracking_id,
        group_id,
        status: "UNCONFIRMED".to_string(),
        created_at: Utc::now(),
        request_body: body,
        warnings: warnings
            .iter()
            .map(|w| format!("{}: {}", w.code, w.description))
            .collect(),
        header_changes: serde_json::Map::new(),
        items: order
            .items
            .iter()
            .map(|i| ItemState {
                item: i.clone(),
                delivered_at: None,
                collected_at: None,
            })
            .collect(),
        planning: None,
        deleted_at: None,
        history: Vec::new(),
        order,
    };
    let response = created_reply(&record, &warnings);
    inner.orders.push(record);
    response
}

fn not_found(reference: &str) -> Response {
    reply::error(
        StatusCode::NOT_FOUND,
        "ORDER_NOT_FOUND",
        format!("no order `{reference}`"),
    )
}

/// `GET /orders/orders/{orderNo}`; a consignment number is accepted too ([ODOO] sends one).
pub async fn get_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let inner = shared.lock();
    match inner.find_live(&caller.client_id, &reference) {
        Some(i) => {
            let o = &inner.orders[i];
            reply::ok(
                json!({"order": o.to_stream_json(&shared.depot_postcode(&o.order.depot_id))}),
                &[],
            )
        }
        None => not_found(&reference),
    }
}

/// Statuses from which an order can no longer be changed or deleted.
fn is_final(status: &str) -> bool {
    matches!(
        status,
        "DELIVERED" | "PARTDELVRD" | "COLLECTED" | "PARTCOLLECTED" | "COMPLETED" | "CANCELLED"
    )
}

/// `PATCH /orders/orders/{orderNo}`: partial header update.
pub async fn patch_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let changes = match check_patch(&body) {
        Ok(c) => c,
        Err(f) => return reply::rejected(StatusCode::BAD_REQUEST, &f.errors, &f.warnings),
    };
    let mut inner = shared.lock();
    let Some(i) = inner.find_live(&caller.client_id, &reference) else {
        return not_found(&reference);
    };
    let order = &mut inner.orders[i];
    if is_final(&order.status) {
        return reply::error(
            StatusCode::CONFLICT,
            "ORDER_LOCKED",
            format!(
                "order `{reference}` is {} and can no longer be changed",
                order.status
            ),
        );
    }
    for (k, v) in changes {
        order.header_changes.insert(k, v);
    }
    created_reply(order, &[])
}

/// `DELETE /orders/orders/{orderNo}` (*inferred* path): only while unplanned.
pub async fn delete_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut inner = shared.lock();
    let Some(i) = inner.find_live(&caller.client_id, &reference) else {
        return not_found(&reference);
    };
    let order = &mut inner.orders[i];
    if !matches!(order.status.as_str(), "UNCONFIRMED" | "CONFIRMED") {
        return reply::error(
            StatusCode::CONFLICT,
            "ORDER_PLANNED",
            format!(
                "order `{reference}` is {} and can no longer be deleted",
                order.status
            ),
        );
    }
    order.status = "CANCELLED".to_string();
    order.deleted_at = Some(Utc::now());
    reply::ok(json!({}), &[])
}

/// `GET /orders/status/{consignmentNo}` [ODOO].
pub async fn order_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(consignment): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let inner = shared.lock();
    let found = inner.orders.iter().find(|o| {
        o.is_live() && o.client_id == caller.client_id && o.consignment_no == consignment
    });
    match found {
        Some(o) => reply::ok(json!({"orderStatus": o.status}), &[]),
        None => reply::error(
            StatusCode::NOT_FOUND,
            "ORDER_NOT_FOUND",
            format!("no order with consignment number `{consignment}`"),
        ),
    }
}

/// `POST /webhooks/webhooks` [GO2S-KB].
pub async fn subscribe(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let body = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let mut errors = Vec::new();
    let mut problem = |code: &'static str, d: String| {
        errors.push(super::validate::Problem {
            code,
            description: d,
        })
    };
    let event = field("event").unwrap_or_default().to_string();
    if event.is_empty() {
        problem("FIELD_REQUIRED", "event is required".into());
    }
    let url = field("url_path").unwrap_or_default().to_string();
    // Stream calls the subscriber, so the URL must be absolute (*inferred* from its use).
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => problem(
            "FIELD_FORMAT",
            format!("url_path `{url}` must be an absolute http(s) URL"),
        ),
    }
    let method = field("http_method").unwrap_or("POST").to_ascii_uppercase();
    if !matches!(method.as_str(), "POST" | "PUT") {
        problem(
            "FIELD_FORMAT",
            format!("http_method `{method}` must be POST or PUT"),
        );
    }
    let content_type = field("content_type")
        .unwrap_or("application/json")
        .to_string();
    if !content_type.eq_ignore_ascii_case("application/json") {
        problem(
            "FIELD_FORMAT",
            format!("content_type `{content_type}` is not supported; use application/json"),
        );
    }
    if !errors.is_empty() {
        return reply::rejected(StatusCode::BAD_REQUEST, &errors, &[]);
    }
    let mut inner = shared.lock();
    inner.next_subscription += 1;
    let id = inner.next_subscription;
    inner.subscriptions.push(Subscription {
        id,
        client_id: caller.client_id,
        event: event.to_ascii_uppercase(),
        event_type: field("event_type").unwrap_or_default().to_string(),
        url,
        http_method: method,
        content_type,
        auth_header: field("auth_header").map(str::to_string),
        created_at: Utc::now(),
    });
    reply::ok(json!({ "id": id }), &[])
}

/// `GET /webhooks/webhooks` (*inferred*): the caller's subscriptions.
pub async fn list_subscriptions(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let inner = shared.lock();
    let list: Vec<Value> = inner
        .subscriptions
        .iter()
        .filter(|s| s.client_id == caller.client_id)
        .map(Subscription::to_public_json)
        .collect();
    reply::ok(json!({ "webhooks": list }), &[])
}

/// `DELETE /webhooks/webhooks/{id}` (*inferred*).
pub async fn unsubscribe(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut inner = shared.lock();
    let position = id.parse::<u64>().ok().and_then(|id| {
        inner
            .subscriptions
            .iter()
            .position(|s| s.id == id && s.client_id == caller.client_id)
    });
    match position {
        Some(i) => {
            inner.subscriptions.remove(i);
            reply::ok(json!({}), &[])
        }
        None => reply::error(
            StatusCode::NOT_FOUND,
            "SUBSCRIPTION_NOT_FOUND",
            format!("no webhook subscription `{id}`"),
        ),
    }
}

/// `GET /track/{trackingId}`: the public tracking page the tracking URL points at.
pub async fn tracking_page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let inner = shared.lock();
    match inner.orders.iter().find(|o| o.tracking_id == id) {
        Some(o) => (
            StatusCode::OK,
            format!(
                "Stream tracking {id}\nconsignment {}\nstatus {}\n",
                o.consignment_no, o.status
            ),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "unknown tracking id\n").into_response(),
    }
}
