//! Contract tests: every Stream client call against the Stream simulator, in-process,
//! including token renewal, each kind of fault, envelope errors and warnings, a create whose
//! reply is lost, and webhook delivery to a receiver.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::NaiveDate;
use linnstream::remote::{RemoteErrorKind, RemoteOptions, RetryPolicy};
use linnstream::sim::kit::{RunningServer, serve_loopback};
use linnstream::sim::stream::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PARTNER_ID, StreamSim, StreamSimConfig,
};
use linnstream::stream::{
    Address, Contact, CreateOrderRequest, Customer, DeliveryMethodType, OrderGroup, OrderHeader,
    OrderHeaderPatch, OrderItem, OrderStatus, OrderType, Required, StreamClient, StreamCredentials,
    WebhookSubscription,
};
use serde_json::{Value, json};

struct Env {
    sim: StreamSim,
    server: RunningServer,
    client: StreamClient,
    http: reqwest::Client,
}

fn options(timeout: Duration) -> RemoteOptions {
    RemoteOptions {
        timeout,
        retry: RetryPolicy::default()
            .with_base_delay(Duration::from_millis(5))
            .with_max_retries(3),
        linnworks_pace_scale: 1.0,
    }
}

async fn env_with(timeout: Duration, partner: Option<&str>) -> Env {
    let config = StreamSimConfig {
        webhook_retry_delay: Duration::from_millis(20),
        webhook_max_attempts: 3,
        ..StreamSimConfig::default()
    };
    let sim = StreamSim::new(config).expect("sim");
    let server = sim.serve_loopback().await.expect("serve");
    let client = StreamClient::new(
        StreamCredentials {
            base_url: format!("{}/api", server.url()),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: DEMO_CLIENT_SECRET.into(),
            partner_account_id: partner.map(str::to_string),
        },
        &options(timeout),
    )
    .expect("client");
    Env {
        sim,
        server,
        client,
        http: reqwest::Client::new(),
    }
}

async fn env() -> Env {
    env_with(Duration::from_secs(5), None).await
}

impl Env {
    async fn admin_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.server.url()))
            .send()
            .await
            .expect("admin get")
            .json()
            .await
            .expect("admin json")
    }

    async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.server.url()))
            .json(&body)
            .send()
            .await
            .expect("admin post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn fault(&self, fault: Value) {
        let (status, body) = self.admin_post("/_sim/faults", fault).await;
        assert_eq!(status, 201, "{body}");
    }

    /// Recorded API requests matching method and path.
    fn requests(&self, method: &str, path: &str) -> Vec<linnstream::sim::kit::RecordedRequest> {
        self.sim
            .kit()
            .recorder()
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    async fn sim_orders(&self) -> Vec<Value> {
        self.admin_get("/_sim/orders").await["orders"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn address() -> Address {
    Address {
        name: "Ann Smith".into(),
        address1: "1 High Street".into(),
        address2: Some("Headingley".into()),
        country: "GB".into(),
        postcode: "LS6 1AA".into(),
        ..Address::default()
    }
}

fn contact() -> Contact {
    Contact {
        name: "Ann Smith".into(),
        tel1: Some("0113 496 0000".into()),
        mobile: None,
        email: Some("ann@example.com".into()),
    }
}

fn order(order_no: &str, order_type: OrderType, method: &str) -> CreateOrderRequest {
    CreateOrderRequest::new(
        OrderHeader {
            order_no: order_no.into(),
            order_date: NaiveDate::from_ymd_opt(2026, 6, 18).expect("date"),
            partner: None,
            order_type,
            service_level: Some("STANDARD".into()),
            services: vec![],
            customer: Customer {
                name: "Ann Smith".into(),
                address: address(),
                contact: contact(),
            },
            customer_order_no: Some(format!("LW-{order_no}")),
            order_notes: None,
            driver_notes: Some("Side door".into()),
        },
        OrderGroup {
            address: address(),
            contact: contact(),
            required: Some(Required {
                from_date_time: NaiveDate::from_ymd_opt(2026, 6, 20)
                    .and_then(|d| d.and_hms_opt(7, 0, 0))
                    .map(|t| t.and_utc()),
                to_date_time: NaiveDate::from_ymd_opt(2026, 6, 20)
                    .and_then(|d| d.and_hms_opt(18, 0, 0))
                    .map(|t| t.and_utc()),
            }),
            method: method.into(),
            items: vec![
                OrderItem {
                    sequence: 1,
                    parent_sequence: None,
                    code: "SOFA-3S".into(),
                    description: "Three-seat sofa".into(),
                    quantity: 1,
                    weight: 42.5,
                    cube: 1.8,
                    stock_location: Some("LDS".into()),
                    on_hand_date: NaiveDate::from_ymd_opt(2026, 6, 19),
                    package_id: Some("PKG-1".into()),
                    package_type: Some("BOX".into()),
                },
                OrderItem {
                    sequence: 2,
                    parent_sequence: None,
                    code: "CUSHION".into(),
                    description: "Cushion".into(),
                    quantity: 2,
                    weight: 0.8,
                    cube: 0.05,
                    stock_location: Some("LDS".into()),
                    on_hand_date: None,
                    package_id: None,
                    package_type: None,
                },
            ],
        },
    )
}

fn delivery(order_no: &str) -> CreateOrderRequest {
    order(order_no, OrderType::Delivery, "NTH-2MAN")
}

// --- token, headers -----------------------------------------------------------------------

#[tokio::test]
async fn one_token_is_fetched_for_concurrent_callers_and_reused() {
    let e = env().await;
    let calls = (0..6).map(|_| e.client.depots());
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.expect("depots").len(), 3);
    }
    e.client.depots().await.expect("again");
    assert_eq!(e.requests("POST", "/api/oauth").len(), 1);
    let oauth = &e.requests("POST", "/api/oauth")[0];
    let body = oauth.json.as_ref().expect("json");
    assert_eq!(body["grant_type"], "client_credentials");
    assert_eq!(body["client_id"], DEMO_CLIENT_ID);
    assert_eq!(
        body["client_secret"], "***",
        "the recorder masks the secret"
    );
}

#[tokio::test]
async fn every_call_carries_bearer_party_and_a_fresh_nonce() {
    let e = env().await;
    e.client.depots().await.expect("depots");
    e.client
        .create_order(&delivery("HDR-1"))
        .await
        .expect("create");
    e.client.find_order("HDR-1").await.expect("get");
    let api: Vec<_> = e
        .sim
        .kit()
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.path != "/api/oauth")
        .collect();
    assert_eq!(api.len(), 3);
    let mut nonces = std::collections::HashSet::new();
    for r in &api {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some("***")
        );
        assert_eq!(
            r.headers.get("stream-party").map(String::as_str),
            Some(DEMO_CLIENT_ID)
        );
        let nonce = r.headers.get("stream-nonce").expect("nonce");
        assert!(nonces.insert(nonce.clone()), "nonce {nonce} reused");
    }
}

#[tokio::test]
async fn a_partner_account_is_sent_as_the_party() {
    let e = env_with(Duration::from_secs(5), Some(DEMO_PARTNER_ID)).await;
    e.client
        .create_order(&delivery("PTN-1"))
        .await
        .expect("create as partner");
    let created = &e.requests("POST", "/api/orders/orders")[0];
    assert_eq!(
        created.headers.get("stream-party").map(String::as_str),
        Some(DEMO_PARTNER_ID)
    );
    assert_eq!(e.sim_orders().await[0]["party"], DEMO_PARTNER_ID);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_succeeds() {
    let e = env().await;
    e.client.depots().await.expect("first");
    let (status, body) = e.admin_post("/_sim/tokens/expire", json!({})).await;
    assert_eq!((status, body["expired"].as_u64()), (200, Some(1)));
    e.client.depots().await.expect("after expiry");
    assert_eq!(e.requests("POST", "/api/oauth").len(), 2);
    let statuses: Vec<Option<u16>> = e
        .requests("GET", "/api/depots/depots")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(200), Some(401), Some(200)]);
}

#[tokio::test]
async fn wrong_credentials_fail_with_status_and_message_but_no_secret() {
    let e = env().await;
    let client = StreamClient::new(
        StreamCredentials {
            base_url: format!("{}/api", e.server.url()),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: "wrong-secret-value".into(),
            partner_account_id: None,
        },
        &options(Duration::from_secs(5)),
    )
    .expect("client");
    let err = client.depots().await.expect_err("refused");
    assert_eq!(err.status, Some(401));
    assert_eq!(err.code.as_deref(), Some("invalid_client"));
    let text = err.to_string();
    assert!(text.contains("oauth") && text.contains("401"), "{text}");
    assert!(!text.contains("wrong-secret-value"), "{text}");
}

// --- depots, orders -------------------------------------------------------------------------

#[tokio::test]
async fn depots_come_with_their_delivery_methods() {
    let e = env().await;
    let depots = e.client.depots().await.expect("depots");
    let north = depots.iter().find(|d| d.id == "NORTH").expect("north");
    assert_eq!(north.address.postcode, "LS11 5RT");
    assert_eq!(
        north.stock_location.as_ref().map(|s| s.id.as_str()),
        Some("LDS")
    );
    let kinds: Vec<_> = north
        .delivery_methods
        .iter()
        .map(|m| m.method_type.clone())
        .collect();
    for k in [
        DeliveryMethodType::Delivery,
        DeliveryMethodType::Courier,
        DeliveryMethodType::Collection,
        DeliveryMethodType::Trunk,
    ] {
        assert!(kinds.contains(&k), "{k:?}");
    }
}

#[tokio::test]
async fn delivery_and_collection_orders_are_created_and_read_back() {
    let e = env().await;
    let d = e
        .client
        .create_order(&delivery("ORD-1"))
        .await
        .expect("delivery");
    assert!(!d.recovered && d.warnings.is_empty(), "{d:?}");
    assert_eq!(d.order_no, "ORD-1");
    assert!(d.consignment_no.starts_with("SC"));
    assert!(d.tracking_url.ends_with(&d.tracking_id));
    let c = e
        .client
        .create_order(&order("ORD-2", OrderType::Collection, "NTH-COLL"))
        .await
        .expect("collection");
    assert_ne!(c.consignment_no, d.consignment_no);

    // What Stream received is what the reference describes.
    let sim = e.admin_get("/_sim/orders/ORD-1").await;
    let sent = &sim["request"];
    assert_eq!(sent["header"]["orderDate"], "2026-06-18");
    assert_eq!(sent["header"]["orderType"], "DELIVERY");
    assert_eq!(sent["delivery"]["deliveryMethod"], "NTH-2MAN");
    assert_eq!(
        sent["delivery"]["required"]["fromDateTime"],
        "2026-06-20T07-00Z"
    );
    assert_eq!(sent["delivery"]["items"][0]["weight"], 42.5);
    assert_eq!(sent["delivery"]["items"][0]["onHandDate"], "2026-06-19");
    assert!(sent["delivery"]["items"][1].get("onHandDate").is_none());
    assert_eq!(
        sim["order"]["groups"][0]["items"][0]["onHandDate"], "2026-06-19",
        "the simulator keeps the hands-on date"
    );
    let coll = e.admin_get("/_sim/orders/ORD-2").await;
    assert_eq!(
        coll["request"]["collection"]["collectionMethod"],
        "NTH-COLL"
    );

    let got = e
        .client
        .find_order("ORD-1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got.header.consignment_no, d.consignment_no);
    assert_eq!(
        OrderStatus::parse(&got.header.order_status),
        OrderStatus::Unconfirmed
    );
    assert_eq!(got.tracking_id, d.tracking_id);
    assert_eq!(got.groups[0].items.len(), 2);
    assert!(got.groups[0].run_details.is_none());
    assert_eq!(
        got.groups[0]
            .required
            .as_ref()
            .and_then(|r| r.from_date_time)
            .map(|t| t.to_rfc3339()),
        Some("2026-06-20T07:00:00+00:00".into())
    );
    // By consignment number too, as [ODOO] does.
    let by_consignment = e
        .client
        .find_order(&d.consignment_no)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(by_consignment.header.order_no, "ORD-1");
    assert_eq!(
        e.client
            .order_status(&d.consignment_no)
            .await
            .expect("status"),
        OrderStatus::Unconfirmed
    );
    assert!(e.client.find_order("NOPE").await.expect("lookup").is_none());
}

#[tokio::test]
async fn envelope_errors_fail_with_codes_and_warnings_are_returned() {
    let e = env().await;
    // Unknown delivery method: Stream's errors, with their codes, in the error.
    let err = e
        .client
        .create_order(&order("BAD-1", OrderType::Delivery, "NOPE"))
        .await
        .expect_err("rejected");
    assert_eq!(err.status, Some(400));
    assert_eq!(err.code.as_deref(), Some("UNKNOWN_DELIVERY_METHOD"));
    assert!(err.message.contains("NOPE"), "{err}");
    // A collection method cannot serve a delivery.
    let err = e
        .client
        .create_order(&order("BAD-2", OrderType::Delivery, "NTH-COLL"))
        .await
        .expect_err("rejected");
    assert_eq!(err.code.as_deref(), Some("METHOD_TYPE_MISMATCH"));
    assert_eq!(
        e.requests("POST", "/api/orders/orders").len(),
        2,
        "client errors are not retried"
    );

    // Warnings do not fail the call and are handed back.
    let mut quiet = delivery("WARN-1");
    quiet.group.contact = Contact {
        name: "Ann".into(),
        ..Contact::default()
    };
    let created = e
        .client
        .create_order(&quiet)
        .await
        .expect("created despite warnings");
    assert_eq!(created.warnings.len(), 1, "{:?}", created.warnings);
    assert_eq!(created.warnings[0].code, "CONTACT_MISSING");
    assert_eq!(
        created.warnings[0].severity,
        linnstream::stream::Severity::Warning
    );

    // A duplicate order number is refused, and Stream keeps one order.
    let err = e
        .client
        .create_order(&delivery("WARN-1"))
        .await
        .expect_err("duplicate");
    assert_eq!(
        (err.status, err.code.as_deref()),
        (Some(409), Some("DUPLICATE_ORDER"))
    );
    assert_eq!(e.sim_orders().await.len(), 1);

    // Too long a description never leaves the client.
    let mut long = delivery("LONG-1");
    long.group.items[0].description = "x".repeat(141);
    let err = e.client.create_order(&long).await.expect_err("too long");
    assert_eq!(err.kind, RemoteErrorKind::Request);
    assert!(err.message.contains("141 characters"), "{err}");
    assert_eq!(e.requests("POST", "/api/orders/orders").len(), 4);
}

#[tokio::test]
async fn orders_are_patched_and_deleted_while_unplanned_only() {
    let e = env().await;
    e.client
        .create_order(&delivery("UPD-1"))
        .await
        .expect("create");
    let patch = OrderHeaderPatch {
        driver_notes: Some("Ring twice".into()),
        customer_order_no: Some("LW-9".into()),
        ..OrderHeaderPatch::default()
    };
    e.client.update_order("UPD-1", &patch).await.expect("patch");
    let got = e
        .client
        .find_order("UPD-1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got.groups[0].driver_notes.as_deref(), Some("Ring twice"));
    assert_eq!(got.header.customer_order_no.as_deref(), Some("LW-9"));
    let sent = &e.requests("PATCH", "/api/orders/orders/UPD-1")[0];
    assert_eq!(
        sent.json.as_ref().expect("json"),
        &json!({"header": {"customerOrderNo": "LW-9", "driverNotes": "Ring twice"}})
    );
    let err = e
        .client
        .update_order("NOPE", &patch)
        .await
        .expect_err("missing");
    assert!(err.is_not_found());

    e.client.delete_order("UPD-1").await.expect("delete");
    assert!(e.client.find_order("UPD-1").await.expect("get").is_none());
    assert_eq!(
        e.admin_get("/_sim/orders/UPD-1").await["status"],
        "CANCELLED"
    );
    // The order number is free again.
    e.client
        .create_order(&delivery("UPD-1"))
        .await
        .expect("re-create");

    e.client
        .create_order(&delivery("UPD-2"))
        .await
        .expect("create");
    let (status, body) = e
        .admin_post("/_sim/events", json!({"action": "plan", "orders": [{"orderNo": "UPD-2"}], "runNumber": 2, "deliveryDate": "2026-06-22"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let err = e.client.delete_order("UPD-2").await.expect_err("planned");
    assert_eq!(
        (err.status, err.code.as_deref()),
        (Some(409), Some("ORDER_PLANNED"))
    );
}

// --- faults -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_5xx_is_retried_until_success() {
    let e = env().await;
    e.fault(json!({"path": "/api/depots/depots", "kind": "status", "status": 503, "times": 2}))
        .await;
    assert_eq!(e.client.depots().await.expect("depots").len(), 3);
    let statuses: Vec<_> = e
        .requests("GET", "/api/depots/depots")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn persistent_5xx_gives_up_with_status_message_and_attempts() {
    let e = env().await;
    e.fault(json!({"path": "/api/depots/depots", "kind": "status", "status": 500}))
        .await;
    let err = e.client.depots().await.expect_err("gives up");
    assert_eq!((err.status, err.attempts), (Some(500), 4));
    assert!(err.message.contains("Simulated failure"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let e = env_with(Duration::from_millis(400), None).await;
    e.client.authenticate().await.expect("token");
    e.fault(json!({"path": "/api/depots/depots", "kind": "timeout", "hangMs": 1500, "times": 1}))
        .await;
    assert_eq!(e.client.depots().await.expect("depots").len(), 3);
    assert_eq!(e.requests("GET", "/api/depots/depots").len(), 2);
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let e = env().await;
    e.client.authenticate().await.expect("token");
    e.fault(json!({"path": "/api/depots/depots", "kind": "rateLimited", "retryAfterSeconds": 1, "times": 1})).await;
    let started = Instant::now();
    e.client.depots().await.expect("depots");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let e = env().await;
    e.fault(json!({"path": "/api/orders/status/*", "kind": "drop", "times": 1}))
        .await;
    let created = e
        .client
        .create_order(&delivery("DROP-1"))
        .await
        .expect("create");
    assert_eq!(
        e.client
            .order_status(&created.consignment_no)
            .await
            .expect("status"),
        OrderStatus::Unconfirmed
    );
    assert_eq!(
        e.requests(
            "GET",
            &format!("/api/orders/status/{}", created.consignment_no)
        )
        .len(),
        2
    );
}

#[tokio::test]
async fn a_create_whose_reply_is_lost_is_recovered_without_a_second_order() {
    let e = env().await;
    e.fault(json!({"path": "/api/orders/orders", "method": "POST", "kind": "drop", "times": 1}))
        .await;
    let created = e
        .client
        .create_order(&delivery("LOST-1"))
        .await
        .expect("recovered");
    assert!(created.recovered);
    let orders = e.sim_orders().await;
    assert_eq!(orders.len(), 1, "exactly one order in Stream");
    assert_eq!(
        created.consignment_no,
        orders[0]["consignmentNo"].as_str().expect("consignment")
    );
    assert_eq!(
        created.tracking_id,
        orders[0]["trackingId"].as_str().expect("tracking")
    );
    assert_eq!(
        e.requests("POST", "/api/orders/orders").len(),
        1,
        "no second create was sent"
    );
    assert_eq!(e.requests("GET", "/api/orders/orders/LOST-1").len(), 1);
}

#[tokio::test]
async fn a_create_that_failed_before_reaching_stream_is_sent_again_once() {
    for fault in [
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 502, "times": 1}),
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "timeout", "hangMs": 1500, "times": 1}),
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "rateLimited", "retryAfterSeconds": 0, "times": 1}),
    ] {
        let e = env_with(Duration::from_millis(500), None).await;
        e.fault(fault.clone()).await;
        let created = e
            .client
            .create_order(&delivery("RETRY-1"))
            .await
            .expect("created");
        assert!(!created.recovered, "{fault}");
        assert_eq!(e.sim_orders().await.len(), 1, "{fault}");
        assert_eq!(e.requests("POST", "/api/orders/orders").len(), 2, "{fault}");
        // A 429 was refused before processing: no lookup needed. The others check first.
        let lookups = e.requests("GET", "/api/orders/orders/RETRY-1").len();
        assert_eq!(
            lookups,
            usize::from(fault["kind"] != "rateLimited"),
            "{fault}"
        );
    }
}

#[tokio::test]
async fn a_create_that_keeps_failing_creates_nothing() {
    let e = env().await;
    e.fault(
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 503}),
    )
    .await;
    let err = e
        .client
        .create_order(&delivery("FAIL-1"))
        .await
        .expect_err("fails");
    assert_eq!((err.status, err.attempts), (Some(503), 4));
    assert!(e.sim_orders().await.is_empty());
}

// --- webhooks -------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

async fn receiver() -> (RunningServer, Received) {
    let got = Received::default();
    let ok = got.clone();
    let router = Router::new()
        .route(
            "/hooks/ok",
            post(move |headers: HeaderMap, body: Bytes| {
                let ok = ok.clone();
                async move {
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    ok.0.lock().expect("lock").push((headers, json));
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/hooks/broken",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    (serve_loopback(router).await.expect("receiver"), got)
}

async fn wait_for<F: Fn() -> bool>(what: &str, done: F) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhooks_are_subscribed_listed_delivered_with_the_auth_header_and_unsubscribed() {
    let e = env().await;
    let (hooks, got) = receiver().await;
    let url = format!("{}/hooks/ok", hooks.url());
    let delivered_id = e
        .client
        .subscribe(&WebhookSubscription::post_json(
            "DELIVERED",
            &url,
            Some("hook-secret-1".into()),
        ))
        .await
        .expect("subscribe");
    e.client
        .subscribe(&WebhookSubscription::post_json(
            "LOCKPLANNING",
            &url,
            Some("hook-secret-1".into()),
        ))
        .await
        .expect("subscribe");
    let subs = e.client.subscriptions().await.expect("list");
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].url_path, url);
    assert_eq!(subs[1].event_type, "RUN");
    let recorded = &e.requests("POST", "/api/webhooks/webhooks")[0];
    assert_eq!(recorded.json.as_ref().expect("json")["auth_header"], "***");

    let a = e
        .client
        .create_order(&delivery("WH-1"))
        .await
        .expect("create");
    let b = e
        .client
        .create_order(&delivery("WH-2"))
        .await
        .expect("create");
    let (status, plan) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "plan", "orders": [{"orderNo": "WH-2", "sequence": 1}, {"orderNo": "WH-1", "sequence": 2}],
                   "runNumber": 3, "deliveryDate": "2026-06-20"}),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["notificationsQueued"], 1,
        "only LOCKPLANNING is subscribed"
    );
    wait_for("the planning webhook", || {
        got.0.lock().expect("lock").len() == 1
    })
    .await;
    let (status, deliver) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "deliver", "orderNo": "WH-1"}),
        )
        .await;
    assert_eq!(status, 200, "{deliver}");
    wait_for("the delivery webhook", || {
        got.0.lock().expect("lock").len() == 2
    })
    .await;

    let received = got.0.lock().expect("lock").clone();
    for (headers, _) in &received {
        assert_eq!(
            headers.get("authorization").and_then(|v| v.to_str().ok()),
            Some("hook-secret-1")
        );
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
    let lock = &received[0].1["webhook"];
    assert_eq!(lock["subscription"]["party_id"], DEMO_CLIENT_ID);
    assert_eq!(lock["event"]["event_code"], "LOCKPLANNING");
    assert_eq!(lock["run"]["description"], "RUN 03");
    assert_eq!(
        lock["orders"],
        json!([{"sequence": 1, "order": b.consignment_no}, {"sequence": 2, "order": a.consignment_no}])
    );
    let delivered = &received[1].1["webhook"];
    assert_eq!(delivered["event"]["event_code"], "DELIVERED");
    assert_eq!(delivered["order"]["id"], a.consignment_no.as_str());
    assert_eq!(delivered["subscription"]["id"].to_string(), delivered_id);

    // The integration's own notification parser reads what the simulator sends.
    let parsed = linnstream::stream::notification::parse(received[0].1.to_string().as_bytes())
        .expect("parse");
    assert_eq!(
        (parsed.code.as_str(), parsed.run_number),
        ("LOCKPLANNING", Some(3))
    );
    assert_eq!(parsed.delivery_date, NaiveDate::from_ymd_opt(2026, 6, 20));
    assert_eq!(parsed.party_id.as_deref(), Some(DEMO_CLIENT_ID));

    // The order reflects its run and delivery.
    let order = e
        .client
        .find_order("WH-1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        OrderStatus::parse(&order.header.order_status),
        OrderStatus::Delivered
    );
    let run = order.groups[0].run_details.as_ref().expect("run");
    assert_eq!(
        (run.description.as_str(), run.group_sequence),
        ("RUN 03", 2)
    );
    assert!(order.groups[0].items.iter().all(|i| i.delivered));

    // After unsubscribing, nothing more arrives.
    e.client
        .unsubscribe(&delivered_id)
        .await
        .expect("unsubscribe");
    assert_eq!(e.client.subscriptions().await.expect("list").len(), 1);
    let (_, deliver) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "deliver", "orderNo": "WH-2"}),
        )
        .await;
    assert_eq!(deliver["notificationsQueued"], 0);
    let err = e.client.unsubscribe(&delivered_id).await.expect_err("gone");
    assert!(err.is_not_found());
}

#[tokio::test]
async fn failed_webhook_deliveries_are_retried_and_recorded() {
    let e = env().await;
    let (hooks, _) = receiver().await;
    e.client
        .subscribe(&WebhookSubscription::post_json(
            "PARTCOLLECTED",
            &format!("{}/hooks/broken", hooks.url()),
            None,
        ))
        .await
        .expect("subscribe");
    e.client
        .create_order(&order("COL-1", OrderType::Collection, "NTH-COLL"))
        .await
        .expect("create");
    let (status, body) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "part-collect", "orderNo": "COL-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"], json!([1]));
    let started = Instant::now();
    loop {
        let hooks = e.admin_get("/_sim/webhooks").await;
        let d = &hooks["deliveries"][0];
        if d["state"] == "failed" {
            let statuses: Vec<_> = d["attempts"]
                .as_array()
                .expect("attempts")
                .iter()
                .map(|a| a["status"].clone())
                .collect();
            assert_eq!(statuses, [json!(500), json!(500), json!(500)]);
            assert_eq!(d["eventCode"], "PARTCOLLECTED");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{hooks}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Delivering a collection is refused.
    let (status, body) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "deliver", "orderNo": "COL-1"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

// --- the simulator refuses what Stream would ---------------------------------------------

#[tokio::test]
async fn the_simulator_refuses_bad_tokens_parties_and_nonces() {
    let e = env().await;
    let base = format!("{}/api", e.server.url());
    let token: Value = e
        .http
        .post(format!("{base}/oauth"))
        .json(&json!({"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}))
        .send()
        .await
        .expect("oauth")
        .json()
        .await
        .expect("json");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let token = token["access_token"].as_str().expect("token").to_string();
    let call = |auth: Option<String>, party: Option<&str>, nonce: Option<&str>| {
        let mut r = e.http.get(format!("{base}/depots/depots"));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        if let Some(p) = party {
            r = r.header("Stream-Party", p);
        }
        if let Some(n) = nonce {
            r = r.header("Stream-Nonce", n);
        }
        async move {
            let resp = r.send().await.expect("send");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            (
                status,
                body["response"]["errors"][0]["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                body["response"]["valid"].clone(),
            )
        }
    };
    let bearer = Some(format!("Bearer {token}"));
    assert_eq!(call(None, Some(DEMO_CLIENT_ID), Some("n1")).await.0, 401);
    assert_eq!(
        call(Some("Bearer nope".into()), Some(DEMO_CLIENT_ID), Some("n2"))
            .await
            .1,
        "TOKEN_INVALID"
    );
    assert_eq!(
        call(bearer.clone(), None, Some("n3")).await.1,
        "PARTY_MISSING"
    );
    assert_eq!(
        call(bearer.clone(), Some("SOMEONE-ELSE"), Some("n4"))
            .await
            .1,
        "PARTY_MISMATCH"
    );
    assert_eq!(
        call(bearer.clone(), Some(DEMO_CLIENT_ID), None).await.1,
        "NONCE_MISSING"
    );
    let ok = call(bearer.clone(), Some(DEMO_CLIENT_ID), Some("n5")).await;
    assert_eq!((ok.0, ok.2), (200, json!(true)));
    let replay = call(bearer.clone(), Some(DEMO_CLIENT_ID), Some("n5")).await;
    assert_eq!(
        (replay.0, replay.1.as_str(), replay.2),
        (409, "NONCE_REPEATED", json!(false))
    );
    // Lower-case scheme, as [RV2] sends it.
    assert_eq!(
        call(
            Some(format!("bearer {token}")),
            Some(DEMO_PARTNER_ID),
            Some("n6")
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn planned_group_and_dispatch_events_carry_their_run() {
    let e = env().await;
    let (hooks, got) = receiver().await;
    e.client
        .subscribe(&WebhookSubscription::post_json(
            "*",
            &format!("{}/hooks/ok", hooks.url()),
            None,
        ))
        .await
        .expect("subscribe to everything");
    let a = e
        .client
        .create_order(&delivery("GRP-1"))
        .await
        .expect("create");
    let b = e
        .client
        .create_order(&delivery("GRP-2"))
        .await
        .expect("create");
    let (status, plan) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "plan", "orders": [{"orderNo": "GRP-1"}, {"orderNo": "GRP-2"}], "runNumber": 12,
                   "deliveryDate": "2026-06-21", "loadId": "L-12", "events": ["OPENPLANNING", "PLANNEDGROUP"]}),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["notificationsQueued"], 3,
        "one OPENPLANNING, one PLANNEDGROUP per order"
    );
    let (status, dispatched) = e
        .admin_post(
            "/_sim/events",
            json!({"action": "dispatch", "loadId": "L-12"}),
        )
        .await;
    assert_eq!(status, 200, "{dispatched}");
    wait_for("four notifications", || {
        got.0.lock().expect("lock").len() == 4
    })
    .await;
    let bodies: Vec<Value> = got
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, b)| b["webhook"].clone())
        .collect();
    let groups: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["event"]["event_code"] == "PLANNEDGROUP")
        .collect();
    assert_eq!(groups.len(), 2);
    for g in &groups {
        assert_eq!(g["group"]["loadId"], "L-12");
        assert_eq!(g["run"]["description"], "RUN 12");
        assert_eq!(g["orders"][0]["sequence"], g["group"]["int_seq"]);
    }
    let dispatch = bodies
        .iter()
        .find(|b| b["event"]["event_code"] == "DISPATCHED")
        .expect("dispatched");
    assert_eq!(dispatch["orders"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        e.client
            .order_status(&a.consignment_no)
            .await
            .expect("status"),
        OrderStatus::Released
    );
    let order = e
        .client
        .find_order(&b.consignment_no)
        .await
        .expect("get")
        .expect("found");
    let group = &order.groups[0];
    assert_eq!(
        group
            .run_details
            .as_ref()
            .map(|r| (r.id.as_str(), r.group_sequence)),
        Some(("L-12", 2))
    );
    assert!(group.run_details.as_ref().is_some_and(|r| r.dispatched));
    // Locked by PLANNEDGROUP: an arrival estimate, 20 minutes after the first stop.
    assert_eq!(
        group.estimate_arrival_date_time.map(|t| t.to_rfc3339()),
        Some("2026-06-21T07:20:00+00:00".into())
    );
    // The tracking URL leads to a page with the order's status.
    let page = e
        .http
        .get(&order.tracking_url)
        .send()
        .await
        .expect("track")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("RELEASED") && page.contains(&b.consignment_no),
        "{page}"
    );
    // Bad admin requests say what is wrong.
    let (status, body) = e.admin_post("/_sim/events", json!({"action": "plan", "orders": [{"orderNo": "GRP-1"}], "runNumber": 1, "deliveryDate": "21/06/2026"})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("21/06/2026")),
        "{body}"
    );
    let (status, _) = e
        .admin_post("/_sim/events", json!({"action": "teleport"}))
        .await;
    assert_eq!(status, 400);
}

/// Stream may also answer 200 with `valid: false`: only error-severity messages fail a call.
#[tokio::test]
async fn a_200_reply_fails_only_on_error_severity() {
    use axum::routing::get;
    let router = Router::new()
        .route(
            "/api/oauth",
            post(|| async {
                axum::Json(
                    json!({"access_token": "t1", "token_type": "Bearer", "expires_in": 3600}),
                )
            }),
        )
        .route(
            "/api/depots/depots",
            get(|| async {
                axum::Json(json!({"response": {"valid": false, "errors": [
                    {"code": "D42", "description": "depot list unavailable", "severity": "error"},
                    {"code": "W1", "description": "slow", "severity": "warning"}]}}))
            }),
        )
        .route(
            "/api/orders/status/{c}",
            get(|| async {
                axum::Json(
                    json!({"response": {"valid": true, "orderStatus": "PARTDELVRD", "errors": [
                    {"code": 7, "message": "status is cached", "severity": "info"}]}}),
                )
            }),
        );
    let fake = serve_loopback(router).await.expect("fake");
    let client = StreamClient::new(
        StreamCredentials {
            base_url: format!("{}/api/", fake.url()),
            client_id: "C1".into(),
            client_secret: "S1-secret".into(),
            partner_account_id: None,
        },
        &options(Duration::from_secs(5)),
    )
    .expect("client");
    let err = client.depots().await.expect_err("error severity fails");
    assert_eq!(err.kind, RemoteErrorKind::Rejected);
    assert_eq!(
        (err.status, err.code.as_deref(), err.attempts),
        (Some(200), Some("D42"), 1)
    );
    assert_eq!(err.message, "error D42: depot list unavailable");
    assert_eq!(
        client
            .order_status("SC1")
            .await
            .expect("info does not fail"),
        OrderStatus::PartDelivered
    );
}
