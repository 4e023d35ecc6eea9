//! The shipping-integration gateway over HTTP, as Linnworks calls it: every endpoint through
//! the in-process simulators and a real store, on PostgreSQL (a fresh database per test,
//! failing when PostgreSQL is unreachable) and SQLite. Labels in the replies are decoded with
//! zbarimg (tracking number in the Code 128, tracking URL in the QR code) and poppler.

use linnstream::sync::RunContext;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use linnstream::config::InstallationConfig;
use linnstream::crd::installation::{CancelLabelMode, ShippingIntegration};
use linnstream::domain::LabelType;
use linnstream::domain::{AuditAction, AuditOutcome, OrderStatus};
use linnstream::server::gateway::{
    CANCEL_NOT_SUPPORTED, OPENAPI_JSON, UNKNOWN_TOKEN, WAIT_AT_MOST, gateway_router, service_id,
};
use linnstream::sim::kit::{RunningServer, serve_loopback};
use linnstream::sim::linnworks::NewOrder;
use linnstream::store::{AuditEntry, AuditQuery, Order, SendSuccess};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::linnworks::assert_written_back;
use crate::support::sync::{Harness, Options, PLAIN_SERVICE};

const TOKEN: &str = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
const OTHER_WORKER: &str = "another-worker";

on_both_backends!(
    a_completed_order_is_labelled_at_once,
    an_unsynced_order_is_sent_to_stream_first,
    a_suspended_installation_gets_no_label_and_sends_nothing,
    a_label_finishes_an_abandoned_write_back,
    an_order_in_progress_elsewhere_is_waited_for,
    an_order_that_stays_in_progress_times_out,
    a_failing_sync_answers_the_reason,
    copies_and_packages_follow_the_mapping_and_the_request,
    cancel_label_follows_the_installation_mode,
    manifests_are_created_and_printed,
    bad_calls_get_the_contract_error_and_change_nothing,
    setup_endpoints_describe_the_installation_read_only,
    the_openapi_description_matches_the_routes,
);

struct Gateway {
    h: Harness,
    url: String,
    _server: RunningServer,
}

impl Gateway {
    async fn start(backend: Backend) -> Gateway {
        Gateway::start_with(backend, Options::default()).await
    }

    async fn start_with(backend: Backend, options: Options) -> Gateway {
        let h = Harness::start_with(backend, options).await;
        h.update_installation(|i| i.credentials.gateway_token = Some(TOKEN.into()));
        let server = serve_loopback(gateway_router(h.engine.clone()))
            .await
            .expect("serve the gateway");
        Gateway {
            url: server.url(),
            h,
            _server: server,
        }
    }

    fn inst(&self) -> InstallationConfig {
        self.h.installation()
    }

    fn set_mapping(&self, change: impl Fn(&mut linnstream::crd::PostalServiceMappingSpec)) {
        self.h.update_installation(|i| {
            for m in &mut i.mappings {
                change(&mut m.spec);
            }
        });
    }

    fn set_cancel_mode(&self, mode: CancelLabelMode) {
        self.h.update_installation(|i| {
            i.spec.shipping_integration = Some(ShippingIntegration {
                cancel_label: mode,
                ..i.spec.shipping_integration.clone().unwrap_or_default()
            })
        });
    }

    /// POSTs raw bytes to an endpoint; the contract answers 200 with JSON, errors included.
    async fn post_raw(&self, path: &str, body: &[u8]) -> Value {
        let reply = self
            .h
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("gateway reachable");
        assert_eq!(reply.status().as_u16(), 200, "{path}");
        let text = reply.text().await.expect("body");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path} answered non-JSON {e}: {text}"))
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        self.post_raw(path, body.to_string().as_bytes()).await
    }

    async fn label(&self, body: &Value) -> Value {
        self.post("/api/Consignment/GenerateLabel", body).await
    }

    /// A GenerateLabel request for `order` with packages of the given sequence numbers.
    fn label_request(&self, order: &impl Named, sequences: &[i64]) -> Value {
        let inst = self.inst();
        let packages: Vec<Value> = sequences
            .iter()
            .map(|&n| {
                json!({
                    "SequenceNumber": n, "PackageWeight": 1250.0 * n as f64,
                    "PackageWidth": 30, "PackageHeight": 20, "PackageDepth": 10,
                    "PackageFormat": "Parcel",
                    "Items": [{"ItemName": "Oak chair", "ProductCode": "CH-1", "Quantity": 1,
                               "UnitValue": 89.0, "UnitWeight": 1250.0}]
                })
            })
            .collect();
        json!({
            "AuthorizationToken": TOKEN,
            "Name": "Jane Doe", "CompanyName": "", "AddressLine1": "1 High Street",
            "AddressLine2": null, "AddressLine3": "", "Town": "Leeds", "Region": "West Yorkshire",
            "CountryCode": "GB", "Postalcode": "LS6 1AA", "DeliveryNote": "", "Email": "jane@example.com",
            "Phone": "0113 496 0000",
            "OrderId": order.number(),
            "OrderReference": order.reference(),
            "OrderCurrency": "GBP", "OrderValue": 89.0, "PostageCharges": 4.99,
            "ServiceId": service_id(&inst, &inst.mappings[0]).to_string(),
            "Packages": packages,
            "OrderExtendedProperties": [],
            "ServiceConfigItems": null,
        })
    }

    /// An open order in Linnworks on the mapped service, not fetched yet.
    fn linnworks_order(&self) -> LinnworksOrder {
        let ids = self
            .h
            .linnworks
            .add_orders(vec![NewOrder {
                postal_service_name: Some(PLAIN_SERVICE.into()),
                ..NewOrder::default()
            }])
            .expect("add order");
        let lw = self
            .h
            .linnworks
            .order(&ids[0].to_string())
            .expect("in Linnworks");
        LinnworksOrder {
            order_id: ids[0].to_string(),
            number: lw["NumOrderId"].as_i64().expect("NumOrderId"),
            reference: lw["GeneralInfo"]["ReferenceNum"]
                .as_str()
                .expect("ReferenceNum")
                .to_string(),
        }
    }

    /// An open order fetched into the queue (Pending).
    async fn pending_order(&self) -> Order {
        let order = self.linnworks_order();
        linnstream::sync::fetch(&RunContext::new(
            &self.h.engine,
            &self.h.key,
            "test",
            "test",
        ))
        .await
        .expect("fetch");
        self.queued(&order.order_id).await
    }

    async fn queued(&self, order_id: &str) -> Order {
        self.h
            .db
            .store
            .order(&self.h.key.id(), order_id)
            .await
            .expect("store")
            .expect("queued")
    }

    async fn stream_orders(&self) -> Vec<Value> {
        let body: Value = self
            .h
            .http
            .get(format!("{}/_sim/orders", self.h.stream_url))
            .send()
            .await
            .expect("sim")
            .json()
            .await
            .expect("json");
        body["orders"].as_array().cloned().unwrap_or_default()
    }

    async fn label_audit(&self) -> Vec<AuditEntry> {
        self.h
            .db
            .store
            .audit_entries(&AuditQuery {
                installation: Some(self.h.key.id()),
                action: Some(AuditAction::Label),
                limit: 1000,
                ..AuditQuery::default()
            })
            .await
            .expect("audit")
    }

    async fn stream_fault(&self, fault: Value) {
        let reply = self
            .h
            .http
            .post(format!("{}/_sim/faults", self.h.stream_url))
            .json(&fault)
            .send()
            .await
            .expect("sim");
        assert!(reply.status().is_success());
    }
}

/// How a label request names an order.
trait Named {
    fn number(&self) -> i64;
    fn reference(&self) -> String;
}

impl Named for Order {
    fn number(&self) -> i64 {
        self.num_order_id.expect("a Linnworks order number")
    }
    fn reference(&self) -> String {
        self.reference.clone().expect("a reference")
    }
}

/// An order Linnworks has and the queue may not.
#[derive(Clone)]
struct LinnworksOrder {
    order_id: String,
    number: i64,
    reference: String,
}

impl Named for LinnworksOrder {
    fn number(&self) -> i64 {
        self.number
    }
    fn reference(&self) -> String {
        self.reference.clone()
    }
}

/// Runs an installed tool; a missing one fails the test with what to do.
fn run(tool: &str, args: &[&str]) -> String {
    let output = match Command::new(tool).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: run scripts/test.sh, which installs zbar-tools and poppler-utils"
        ),
        Err(e) => panic!("could not run {tool}: {e}"),
    };
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn decode(b64: &Value) -> Vec<u8> {
    BASE64
        .decode(b64.as_str().expect("base64 text"))
        .expect("valid base64")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path.to_str().expect("utf-8").to_string()
}

/// Symbols zbar finds in a PNG, sorted, as (type, data).
fn scan(png: &[u8]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "label.png", png);
    let mut symbols: Vec<(String, String)> = run("zbarimg", &["--quiet", &path])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(kind, data)| (kind.to_string(), data.to_string()))
        .collect();
    symbols.sort();
    symbols
}

fn pdf_pages(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "label.pdf", pdf);
    run("pdfinfo", &[&path])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo reports pages")
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "doc.pdf", pdf);
    run("pdftotext", &["-layout", &path, "-"])
}

fn assert_ok(reply: &Value) {
    assert_eq!(reply["IsError"], json!(false), "{reply}");
    assert_eq!(reply["ErrorMessage"], json!(""), "{reply}");
}

fn error_of(reply: &Value) -> String {
    assert_eq!(reply["IsError"], json!(true), "expected an error: {reply}");
    reply["ErrorMessage"].as_str().expect("message").to_string()
}

/// Asserts each package's label scans as `order`'s tracking number and URL.
fn assert_scans_as(package: &Value, order: &Order) {
    let tracking = order.tracking_number.clone().expect("tracking number");
    let url = order.tracking_url.clone().expect("tracking URL");
    assert_eq!(package["TrackingNumber"], json!(tracking));
    let mut expected = vec![
        ("CODE-128".to_string(), tracking),
        ("QR-Code".to_string(), url),
    ];
    expected.sort();
    assert_eq!(scan(&decode(&package["PNGLabelDataBase64"])), expected);
}

async fn a_completed_order_is_labelled_at_once(backend: Backend) {
    let g = Gateway::start(backend).await;
    let order = g.h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let created = g.stream_orders().await.len();
    let started = Instant::now();
    let reply = g.label(&g.label_request(&order, &[1])).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a synced order is labelled without waiting"
    );
    assert_ok(&reply);
    assert_eq!(reply["LeadTrackingNumber"], json!(order.tracking_number));
    assert_eq!(reply["Currency"], json!("GBP"));
    let packages = reply["Package"].as_array().expect("packages");
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["SequenceNumber"], json!(1));
    assert_eq!(packages[0]["AdditionalPngsBase64"], json!([]), "one copy");
    assert_eq!(
        (
            packages[0]["LabelWidth"].as_f64(),
            packages[0]["LabelHeight"].as_f64()
        ),
        (Some(4.0), Some(6.0))
    );
    assert_scans_as(&packages[0], &order);
    let pdfs = packages[0]["PDFBytesDocumentationBase64"]
        .as_array()
        .expect("PDF array");
    assert_eq!(pdfs.len(), 1);
    let pdf = decode(&pdfs[0]);
    assert_eq!(pdf_pages(&pdf), 1);
    let text = pdf_text(&pdf);
    assert!(
        text.contains(order.tracking_number.as_deref().unwrap_or("-")),
        "{text}"
    );
    assert!(text.to_uppercase().contains("JANE DOE"), "{text}");
    assert!(text.contains("Acme Homewares Ltd"), "the sender: {text}");

    assert_eq!(g.stream_orders().await.len(), created, "nothing sent again");
    assert_eq!(
        g.queued(&order.order_id).await.status,
        OrderStatus::Completed
    );
    let audit = g.label_audit().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, AuditOutcome::Success);
    assert_eq!(audit[0].order_id.as_deref(), Some(order.order_id.as_str()));
    assert_eq!(audit[0].actor, "linnworks");
    assert!(
        audit[0]
            .message
            .contains(order.tracking_number.as_deref().unwrap_or("-")),
        "{}",
        audit[0].message
    );

    // The tracking number is written back when Linnworks lost it.
    let clients = g.h.engine.clients(&g.inst()).expect("clients");
    clients
        .linnworks
        .set_order_shipping_info(
            order.order_id.parse().expect("guid"),
            &linnstream::linnworks::UpdateOrderShippingInfoRequest {
                tracking_number: Some(String::new()),
                ..Default::default()
            },
        )
        .await
        .expect("clear tracking");
    // A fresh gateway: the first one remembers it confirmed this order's tracking number.
    let fresh = serve_loopback(gateway_router(g.h.engine.clone()))
        .await
        .expect("serve");
    let reply: Value =
        g.h.http
            .post(format!("{}/api/Consignment/GenerateLabel", fresh.url()))
            .json(&g.label_request(&order, &[1]))
            .send()
            .await
            .expect("gateway")
            .json()
            .await
            .expect("json");
    assert_ok(&reply);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lw = g.h.lw_order(&order);
        if lw["ShippingInfo"]["TrackingNumber"] == json!(order.tracking_number) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tracking number not written back: {lw}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A label for a Completed order whose write-back to Linnworks failed and was given up by
/// its sender (older than the claim lease) writes it back in full, as a send cycle would.
async fn a_label_finishes_an_abandoned_write_back(backend: Backend) {
    const LEASE: u64 = 5;
    let g = Gateway::start_with(
        backend,
        Options {
            settings: linnstream::settings::SystemSettings {
                claim_lease_seconds: LEASE as u32,
                ..Default::default()
            },
            ..Options::default()
        },
    )
    .await;
    let order = g.linnworks_order();
    let shipping_info = json!({"path": "/api/Orders/SetOrderShippingInfo", "method": "POST",
        "kind": "status", "status": 500});
    let added =
        g.h.http
            .post(format!("{}/_sim/faults", g.h.linnworks_url))
            .json(&shipping_info)
            .send()
            .await
            .expect("sim");
    assert!(added.status().is_success());
    // The first label sends the order; its tracking number does not reach Linnworks.
    assert_ok(&g.label(&g.label_request(&order, &[1])).await);
    let queued = g.queued(&order.order_id).await;
    assert_eq!(queued.status, OrderStatus::Completed);
    assert!(queued.write_back_pending(), "{queued:?}");
    let lw = g.h.linnworks.order(&order.order_id).expect("in Linnworks");
    assert_eq!(lw["ShippingInfo"]["TrackingNumber"], json!(""), "{lw}");

    g.h.http
        .delete(format!("{}/_sim/faults", g.h.linnworks_url))
        .send()
        .await
        .expect("sim");
    tokio::time::sleep(Duration::from_secs(LEASE) + Duration::from_millis(500)).await;
    assert_ok(&g.label(&g.label_request(&order, &[1])).await);
    let write_back_audit = || async {
        g.h.db
            .store
            .audit_entries(&AuditQuery {
                installation: Some(g.h.key.id()),
                action: Some(AuditAction::WriteBack),
                ..AuditQuery::default()
            })
            .await
            .expect("audit")
    };
    // Done in the background, after the reply: recorded, then audited.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (done, audit) = loop {
        let now = g.queued(&order.order_id).await;
        let audit = write_back_audit().await;
        if !now.write_back_pending() && !audit.is_empty() {
            break (now, audit);
        }
        assert!(
            Instant::now() < deadline,
            "write-back still pending: {now:?} {audit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(done.written_back_at.is_some());
    let lw = g.h.linnworks.order(&order.order_id).expect("in Linnworks");
    assert_written_back(&lw, done.tracking_number.as_deref(), None);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, AuditOutcome::Success);
    assert_eq!(audit[0].actor, "linnworks");
    assert_eq!(g.stream_orders().await.len(), 1, "sent once");
}

async fn an_unsynced_order_is_sent_to_stream_first(backend: Backend) {
    let g = Gateway::start(backend).await;
    // Order Sync Enabled off: a label request still sends the order.
    g.h.update_installation(|i| i.spec.sync.order_sync_enabled = false);
    let order = g.linnworks_order();
    assert!(g.stream_orders().await.is_empty());
    let reply = g.label(&g.label_request(&order, &[1])).await;
    assert_ok(&reply);
    let stream = g.stream_orders().await;
    assert_eq!(
        stream.len(),
        1,
        "the order was created in Stream: {stream:?}"
    );
    let queued = g.queued(&order.order_id).await;
    assert_eq!(queued.status, OrderStatus::Completed);
    assert_eq!(stream[0]["consignmentNo"], json!(queued.consignment_no));
    assert_scans_as(&reply["Package"][0], &queued);
    assert_eq!(
        g.h.lw_order(&queued)["ShippingInfo"]["TrackingNumber"],
        json!(queued.tracking_number),
        "the tracking number is in Linnworks"
    );
    let audit = g.label_audit().await;
    assert!(
        audit[0].message.contains("sent to Stream first"),
        "{}",
        audit[0].message
    );

    // An order Linnworks does not have: the reason, nothing sent.
    let unknown = LinnworksOrder {
        order_id: String::new(),
        number: 987_654,
        reference: "NO-SUCH-ORDER".into(),
    };
    let message = error_of(&g.label(&g.label_request(&unknown, &[1])).await);
    assert!(
        message.contains("not an open order in Linnworks"),
        "{message}"
    );
    assert_eq!(g.stream_orders().await.len(), 1);
}

async fn a_suspended_installation_gets_no_label_and_sends_nothing(backend: Backend) {
    let g = Gateway::start(backend).await;
    g.h.update_installation(|i| i.spec.suspend = true);
    let order = g.linnworks_order();
    let message = error_of(&g.label(&g.label_request(&order, &[1])).await);
    assert!(
        message.starts_with("Installation not found or inactive"),
        "the guide's text: {message}"
    );
    assert!(g.stream_orders().await.is_empty(), "nothing sent to Stream");
    let audit = g.label_audit().await;
    assert!(
        audit[0].outcome == AuditOutcome::Failure
            && audit[0]
                .message
                .starts_with("Installation not found or inactive"),
        "{audit:?}"
    );
    // With no active installation at all, an unknown token hears why nothing is served.
    let mut unknown = g.label_request(&order, &[1]);
    unknown["AuthorizationToken"] = json!("0f0e0d0c-0b0a-4909-8807-060504030201");
    let message = error_of(&g.label(&unknown).await);
    assert!(
        message.starts_with("No active installations available"),
        "{message}"
    );

    // Resumed: the same request sends the order first and labels it.
    g.h.update_installation(|i| i.spec.suspend = false);
    assert_ok(&g.label(&g.label_request(&order, &[1])).await);
    assert_eq!(g.stream_orders().await.len(), 1);
}

/// Claims `order` as another worker would, and completes it after `after` from a task.
async fn claim_elsewhere(g: &Gateway, order: &Order, complete_after: Option<Duration>) {
    let claimed =
        g.h.db
            .store
            .claim_order(
                &g.h.key.id(),
                &order.order_id,
                OTHER_WORKER,
                Duration::from_secs(300),
            )
            .await
            .expect("claim");
    let claim = claimed.claim().expect("claimed");
    if let Some(after) = complete_after {
        let store = g.h.db.store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            store
                .complete_claim(
                    &claim,
                    &SendSuccess {
                        http_status: Some(200),
                        stream_order_id: Some("SO-ELSEWHERE".into()),
                        consignment_no: Some("CN-ELSEWHERE".into()),
                        tracking_number: Some("TRK-ELSEWHERE-1".into()),
                        tracking_url: Some("https://track.example/TRK-ELSEWHERE-1".into()),
                    },
                )
                .await
                .expect("the other worker completes");
        });
    }
}

async fn an_order_in_progress_elsewhere_is_waited_for(backend: Backend) {
    let g = Gateway::start(backend).await;
    let order = g.pending_order().await;
    claim_elsewhere(&g, &order, Some(Duration::from_secs(1))).await;
    let started = Instant::now();
    let reply = g.label(&g.label_request(&order, &[1])).await;
    let took = started.elapsed();
    assert_ok(&reply);
    assert!(
        took >= Duration::from_millis(900) && took < WAIT_AT_MOST,
        "waited {took:?}"
    );
    let queued = g.queued(&order.order_id).await;
    assert_eq!(queued.tracking_number.as_deref(), Some("TRK-ELSEWHERE-1"));
    assert_scans_as(&reply["Package"][0], &queued);
    assert!(
        g.stream_orders().await.is_empty(),
        "the gateway did not send it itself"
    );
    let audit = g.label_audit().await;
    assert!(audit[0].message.contains("waited"), "{}", audit[0].message);
}

async fn an_order_that_stays_in_progress_times_out(backend: Backend) {
    let g = Gateway::start(backend).await;
    let order = g.pending_order().await;
    claim_elsewhere(&g, &order, None).await;
    let started = Instant::now();
    let message = error_of(&g.label(&g.label_request(&order, &[1])).await);
    let took = started.elapsed();
    assert!(
        took >= WAIT_AT_MOST - Duration::from_millis(100)
            && took < WAIT_AT_MOST + Duration::from_secs(3),
        "answered after {took:?}"
    );
    assert!(message.contains("still being sent to Stream"), "{message}");
    let queued = g.queued(&order.order_id).await;
    assert_eq!(queued.status, OrderStatus::InProgress);
    assert_eq!(
        queued.claim_owner.as_deref(),
        Some(OTHER_WORKER),
        "the claim is untouched"
    );
    let audit = g.label_audit().await;
    assert_eq!(audit[0].outcome, AuditOutcome::Failure);
    assert!(audit[0].duration_ms >= 5_000, "{:?}", audit[0]);

    // A worker that stopped mid-send: once its lease lapses, the label call sends the order.
    let abandoned = g.pending_order().await;
    g.h.db
        .store
        .claim_order(
            &g.h.key.id(),
            &abandoned.order_id,
            OTHER_WORKER,
            Duration::from_millis(1),
        )
        .await
        .expect("claim");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let reply = g.label(&g.label_request(&abandoned, &[1])).await;
    assert_ok(&reply);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "no waiting for a lapsed claim"
    );
    let queued = g.queued(&abandoned.order_id).await;
    assert_eq!(queued.status, OrderStatus::Completed);
    assert_eq!(g.stream_orders().await.len(), 1, "sent by the label call");
}

async fn a_failing_sync_answers_the_reason(backend: Backend) {
    let g = Gateway::start(backend).await;
    g.stream_fault(json!({
        "path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 503,
        "body": {"message": "Stream is down for maintenance"}
    }))
    .await;
    let order = g.linnworks_order();
    let message = error_of(&g.label(&g.label_request(&order, &[1])).await);
    assert!(message.contains("could not be sent to Stream"), "{message}");
    assert!(
        message.contains("503"),
        "Stream's status is the reason: {message}"
    );
    // An outage, not a refusal: the order stays queued with its retries, not Failed.
    assert_eq!(g.queued(&order.order_id).await.status, OrderStatus::Pending);
    let audit = g.label_audit().await;
    assert_eq!(audit[0].outcome, AuditOutcome::Failure);
    assert_eq!(audit[0].message, message);
    assert_eq!(audit[0].order_id.as_deref(), Some(order.order_id.as_str()));
}

async fn copies_and_packages_follow_the_mapping_and_the_request(backend: Backend) {
    let g = Gateway::start(backend).await;
    let order = g.h.ship(PLAIN_SERVICE, 1).await.remove(0);
    g.set_mapping(|m| m.label_copies = 5);
    // Sequence numbers as Linnworks sends them, out of order on purpose.
    let reply = g.label(&g.label_request(&order, &[3, 1, 2])).await;
    assert_ok(&reply);
    let packages = reply["Package"].as_array().expect("packages");
    let sequences: Vec<i64> = packages
        .iter()
        .map(|p| p["SequenceNumber"].as_i64().expect("number"))
        .collect();
    assert_eq!(sequences, [3, 1, 2], "as requested");
    for package in packages {
        let seq = package["SequenceNumber"].as_i64().expect("number");
        let copies = package["AdditionalPngsBase64"].as_array().expect("copies");
        assert_eq!(copies.len(), 4, "five copies: the label and four more");
        let first = decode(&package["PNGLabelDataBase64"]);
        for copy in copies {
            assert_eq!(decode(copy), first, "copies are identical");
        }
        assert_scans_as(package, &order);
        let pdf = decode(&package["PDFBytesDocumentationBase64"][0]);
        assert_eq!(pdf_pages(&pdf), 5, "one page per copy");
        let text = pdf_text(&pdf);
        assert!(text.contains(&format!("Package {seq} of 3")), "{text}");
    }

    // One copy, a compact label without QR code.
    g.set_mapping(|m| {
        m.label_copies = 1;
        m.label_type = LabelType::Compact;
    });
    let reply = g.label(&g.label_request(&order, &[1])).await;
    assert_ok(&reply);
    let package = &reply["Package"][0];
    assert_eq!(package["AdditionalPngsBase64"], json!([]));
    assert!(
        package["LabelWidth"]
            .as_f64()
            .is_some_and(|w| (w - 3.94).abs() < 0.01)
    );
    assert_eq!(
        scan(&decode(&package["PNGLabelDataBase64"])),
        vec![(
            "CODE-128".to_string(),
            order.tracking_number.clone().expect("tracking")
        )]
    );
    assert_eq!(
        pdf_pages(&decode(&package["PDFBytesDocumentationBase64"][0])),
        1
    );
}

async fn cancel_label_follows_the_installation_mode(backend: Backend) {
    let g = Gateway::start(backend).await;
    let orders = g.h.ship(PLAIN_SERVICE, 2).await;
    let cancel = |o: &Order| json!({"AuthorizationToken": TOKEN, "OrderReference": o.reference.clone().expect("reference")});
    let stream_status = |orders: &[Value], o: &Order| {
        orders
            .iter()
            .find(|s| s["consignmentNo"] == json!(o.consignment_no))
            .map(|s| s["deleted"].clone())
            .expect("in Stream")
    };

    // AlwaysSucceed, the default: success, nothing done.
    let reply = g
        .post("/api/Consignment/CancelLabel", &cancel(&orders[0]))
        .await;
    assert_ok(&reply);
    assert_eq!(
        g.queued(&orders[0].order_id).await.status,
        OrderStatus::Completed
    );
    assert_eq!(
        stream_status(&g.stream_orders().await, &orders[0]),
        json!(false)
    );

    // Refuse: the contract's error, nothing done.
    g.set_cancel_mode(CancelLabelMode::Refuse);
    let reply = g
        .post("/api/Consignment/CancelLabel", &cancel(&orders[0]))
        .await;
    assert_eq!(error_of(&reply), CANCEL_NOT_SUPPORTED);
    assert_eq!(
        g.queued(&orders[0].order_id).await.status,
        OrderStatus::Completed
    );

    // DeleteUnplanned: an unplanned order is deleted from Stream and cleared in Linnworks.
    g.set_cancel_mode(CancelLabelMode::DeleteUnplanned);
    let reply = g
        .post("/api/Consignment/CancelLabel", &cancel(&orders[0]))
        .await;
    assert_ok(&reply);
    assert_eq!(
        g.queued(&orders[0].order_id).await.status,
        OrderStatus::Deleted
    );
    assert_eq!(
        stream_status(&g.stream_orders().await, &orders[0]),
        json!(true)
    );
    assert_eq!(
        g.h.lw_order(&orders[0])["ShippingInfo"]["TrackingNumber"],
        json!("")
    );
    // A label for it now says why there is none.
    let message = error_of(&g.label(&g.label_request(&orders[0], &[1])).await);
    assert!(message.contains("deleted from Stream"), "{message}");

    // A planned order: Stream refuses, and the reply says so.
    g.h.plan(&[&orders[1]], 3, "2026-06-22", None).await;
    let message = error_of(
        &g.post("/api/Consignment/CancelLabel", &cancel(&orders[1]))
            .await,
    );
    assert!(message.contains("cannot be cancelled"), "{message}");
    assert!(
        message.to_uppercase().contains("PLANNED"),
        "Stream's reason: {message}"
    );
    assert_eq!(
        g.queued(&orders[1].order_id).await.status,
        OrderStatus::Completed
    );
    assert_eq!(
        stream_status(&g.stream_orders().await, &orders[1]),
        json!(false)
    );

    let outcomes: Vec<AuditOutcome> = g
        .label_audit()
        .await
        .iter()
        .rev()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            AuditOutcome::Skipped,
            AuditOutcome::Failure,
            AuditOutcome::Success,
            AuditOutcome::Failure, // the label refused for the deleted order
            AuditOutcome::Failure,
        ]
    );
}

async fn manifests_are_created_and_printed(backend: Backend) {
    let g = Gateway::start(backend).await;
    let orders = g.h.ship(PLAIN_SERVICE, 2).await;
    let pending = g.pending_order().await;
    let create = |ids: Vec<String>| json!({"AuthorizationToken": TOKEN, "OrderId": ids});

    // By order number and by Linnworks id.
    let reply = g
        .post(
            "/api/Manifest/CreateManifest",
            &create(vec![
                orders[0].num_order_id.expect("number").to_string(),
                orders[1].order_id.to_uppercase(),
            ]),
        )
        .await;
    assert_ok(&reply);
    let reference = reply["ManifestReference"]
        .as_str()
        .expect("reference")
        .to_string();
    assert!(reference.starts_with("MAN-"), "{reference}");

    let printed = g
        .post(
            "/api/Manifest/PrintManifest",
            &json!({"AuthorizationToken": TOKEN, "ManifestReference": reference}),
        )
        .await;
    assert_ok(&printed);
    let pdf = decode(&printed["PDFbase64"]);
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    assert!(text.contains(&reference), "{text}");
    for o in &orders {
        assert!(
            text.contains(o.tracking_number.as_deref().expect("tracking")),
            "{text}"
        );
        assert!(
            text.contains(o.consignment_no.as_deref().expect("consignment")),
            "{text}"
        );
    }
    assert!(text.contains("Acme Homewares Ltd"), "{text}");

    // An order not in Stream: nothing recorded, the reply names it.
    let before =
        g.h.db
            .store
            .manifests(&g.h.key.id(), 100)
            .await
            .expect("list")
            .len();
    let message = error_of(
        &g.post(
            "/api/Manifest/CreateManifest",
            &create(vec![orders[0].order_id.clone(), pending.order_id.clone()]),
        )
        .await,
    );
    assert!(message.starts_with("OrderId[1]"), "{message}");
    assert!(message.contains("Pending"), "{message}");
    let message = error_of(
        &g.post(
            "/api/Manifest/CreateManifest",
            &create(vec!["424242".into()]),
        )
        .await,
    );
    assert!(message.contains("OrderId[0] \"424242\""), "{message}");
    assert_eq!(
        g.h.db
            .store
            .manifests(&g.h.key.id(), 100)
            .await
            .expect("list")
            .len(),
        before
    );

    let message = error_of(
        &g.post(
            "/api/Manifest/PrintManifest",
            &json!({"AuthorizationToken": TOKEN, "ManifestReference": "MAN-19990101-XXXXXX"}),
        )
        .await,
    );
    assert!(
        message.contains("is not a manifest of this account"),
        "{message}"
    );
}

/// What a refused call must leave untouched.
async fn state(g: &Gateway) -> (String, usize, usize, usize) {
    let counts =
        g.h.db
            .store
            .queue_counts(&g.h.key.id())
            .await
            .expect("counts");
    let audit =
        g.h.db
            .store
            .audit_entries(&AuditQuery {
                limit: 10_000,
                ..AuditQuery::default()
            })
            .await
            .expect("audit")
            .len();
    let manifests =
        g.h.db
            .store
            .manifests(&g.h.key.id(), 100)
            .await
            .expect("manifests")
            .len();
    (
        format!("{counts:?}"),
        audit,
        manifests,
        g.stream_orders().await.len(),
    )
}

async fn bad_calls_get_the_contract_error_and_change_nothing(backend: Backend) {
    let g = Gateway::start(backend).await;
    let shipped = g.h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let order = g.linnworks_order();
    let good_label = g.label_request(&order, &[1]);
    let before = state(&g).await;

    // A valid request with a token no installation has, on every endpoint that takes one.
    let mut wrong = good_label.clone();
    wrong["AuthorizationToken"] = json!("not-the-token");
    let calls: Vec<(&str, Value)> = vec![
        (
            "/api/Setup/UserConfig",
            json!({"AuthorizationToken": "not-the-token"}),
        ),
        (
            "/api/Setup/UpdateConfig",
            json!({"AuthorizationToken": "not-the-token", "ConfigStatus": "CONFIGURED", "ConfigItems": []}),
        ),
        (
            "/api/Setup/ConfigDeleted",
            json!({"AuthorizationToken": "not-the-token"}),
        ),
        (
            "/api/Setup/UserAvailableServices",
            json!({"AuthorizationToken": "not-the-token"}),
        ),
        (
            "/api/Setup/ExtendedPropertyMapping",
            json!({"AuthorizationToken": "not-the-token"}),
        ),
        ("/api/Consignment/GenerateLabel", wrong),
        (
            "/api/Consignment/CancelLabel",
            json!({"AuthorizationToken": "not-the-token", "OrderReference": shipped.reference}),
        ),
        (
            "/api/Manifest/CreateManifest",
            json!({"AuthorizationToken": "not-the-token", "OrderId": [shipped.order_id]}),
        ),
        (
            "/api/Manifest/PrintManifest",
            json!({"AuthorizationToken": "not-the-token", "ManifestReference": "MAN-1"}),
        ),
    ];
    for (path, body) in &calls {
        let reply = g.post(path, body).await;
        assert_eq!(error_of(&reply), UNKNOWN_TOKEN, "{path}");
        assert!(
            !reply.to_string().contains("not-the-token"),
            "{path} echoed the token"
        );
    }

    // Missing fields, wrong types, broken JSON: the field is named.
    let mut no_order_id = good_label.clone();
    no_order_id
        .as_object_mut()
        .expect("object")
        .remove("OrderId");
    let mut bad_weight = good_label.clone();
    bad_weight["Packages"][0]["PackageWeight"] = json!("heavy");
    let mut no_packages = good_label.clone();
    no_packages["Packages"] = json!([]);
    let mut bad_country = good_label.clone();
    bad_country["CountryCode"] = json!("GBR");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("/api/Consignment/GenerateLabel", no_order_id.to_string().into_bytes(), "OrderId is required"),
        ("/api/Consignment/GenerateLabel", bad_weight.to_string().into_bytes(), "Packages[0].PackageWeight has the wrong type"),
        ("/api/Consignment/GenerateLabel", no_packages.to_string().into_bytes(), "Packages must list at least one package"),
        ("/api/Consignment/GenerateLabel", bad_country.to_string().into_bytes(), "CountryCode must be a two-letter"),
        ("/api/Consignment/GenerateLabel", b"{\"AuthorizationToken\": ".to_vec(), "request body is not valid JSON"),
        ("/api/Consignment/GenerateLabel", b"".to_vec(), "request body is empty"),
        ("/api/Consignment/GenerateLabel", b"[1, 2]".to_vec(), "request body must be a JSON object"),
        ("/api/Consignment/CancelLabel", json!({"AuthorizationToken": TOKEN}).to_string().into_bytes(), "OrderReference is required"),
        ("/api/Setup/UserConfig", b"{}".to_vec(), "AuthorizationToken is required"),
        ("/api/Setup/UpdateConfig", json!({"AuthorizationToken": TOKEN, "ConfigStatus": "X", "ConfigItems": [{"ConfigItemId": 7}]}).to_string().into_bytes(), "ConfigItems[0].ConfigItemId has the wrong type"),
        ("/api/Setup/AddNewUser", json!({"LinnworksUniqueIdentifier": "not-a-guid", "Email": "a@b.c", "AccountName": "A"}).to_string().into_bytes(), "LinnworksUniqueIdentifier has the wrong type"),
        ("/api/Manifest/CreateManifest", json!({"AuthorizationToken": TOKEN, "OrderId": "1"}).to_string().into_bytes(), "OrderId has the wrong type"),
        ("/api/Manifest/CreateManifest", json!({"AuthorizationToken": TOKEN, "OrderId": []}).to_string().into_bytes(), "OrderId must list at least one order"),
        ("/api/Manifest/PrintManifest", json!({"AuthorizationToken": TOKEN}).to_string().into_bytes(), "ManifestReference is required"),
        ("/api/Setup/UserAvailableServices", json!({"AuthorizationToken": 12}).to_string().into_bytes(), "AuthorizationToken has the wrong type"),
    ];
    for (path, body, expected) in &cases {
        let reply = g.post_raw(path, body).await;
        let message = error_of(&reply);
        assert!(
            message.starts_with(expected),
            "{path}: {message:?} should start with {expected:?}"
        );
    }
    // Error replies keep the reply's shape: lists empty, never null.
    let reply = g.post_raw("/api/Consignment/GenerateLabel", b"{}").await;
    assert_eq!(reply["Package"], json!([]));
    let reply = g.post_raw("/api/Setup/UserAvailableServices", b"{}").await;
    assert_eq!(reply["Services"], json!([]));

    assert_eq!(state(&g).await, before, "nothing changed");
    assert!(
        g.h.db
            .store
            .order(&g.h.key.id(), &order.order_id)
            .await
            .expect("store")
            .is_none(),
        "the unsynced order was not fetched"
    );
}

async fn setup_endpoints_describe_the_installation_read_only(backend: Backend) {
    let g = Gateway::start(backend).await;
    let token = json!({"AuthorizationToken": TOKEN});

    let message = error_of(
        &g.post(
            "/api/Setup/AddNewUser",
            &json!({"LinnworksUniqueIdentifier": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "Email": "owner@acme.example", "AccountName": "Acme"}),
        )
        .await,
    );
    assert!(message.contains("platform team"), "{message}");
    assert!(message.contains("Installation"), "{message}");

    let config = g.post("/api/Setup/UserConfig", &token).await;
    assert_ok(&config);
    assert_eq!(config["IsConfigActive"], json!(true));
    assert_eq!(config["ConfigStatus"], json!("CONFIGURED"));
    let items = config["ConfigStage"]["ConfigItems"]
        .as_array()
        .expect("items");
    let item = |id: &str| {
        items
            .iter()
            .find(|i| i["ConfigItemId"] == json!(id))
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    assert_eq!(
        item("CompanyName")["SelectedValue"],
        json!("Acme Homewares Ltd")
    );
    assert_eq!(item("OrderNumPrefix")["SelectedValue"], json!("T-"));
    assert!(items.iter().all(|i| i["ReadOnly"] == json!(true)));
    let text = config.to_string();
    for secret in [
        linnstream::sim::stream::DEMO_CLIENT_SECRET,
        linnstream::sim::linnworks::DEMO_INSTALLATION_TOKEN,
        TOKEN,
    ] {
        assert!(
            !text.contains(secret),
            "a credential leaked into UserConfig"
        );
    }

    // Saving what is there succeeds; changing anything is refused and changes nothing.
    let save = |value: &str| {
        json!({"AuthorizationToken": TOKEN, "ConfigStatus": "CONFIGURED",
               "ConfigItems": [{"ConfigItemId": "CompanyName", "SelectedValue": value}]})
    };
    assert_ok(
        &g.post("/api/Setup/UpdateConfig", &save("Acme Homewares Ltd"))
            .await,
    );
    let message = error_of(&g.post("/api/Setup/UpdateConfig", &save("Evil Corp")).await);
    assert!(
        message.starts_with("ConfigItems[0] (Company Name) cannot be changed"),
        "{message}"
    );
    assert_eq!(g.inst().spec.sender.company_name, "Acme Homewares Ltd");

    let suspended = {
        g.h.update_installation(|i| i.spec.suspend = true);
        g.post("/api/Setup/UserConfig", &token).await
    };
    assert_eq!(suspended["IsConfigActive"], json!(false));
    assert_eq!(suspended["ConfigStatus"], json!("SUSPENDED"));

    assert_ok(&g.post("/api/Setup/ConfigDeleted", &token).await);
    assert!(
        g.h.engine.installation(&g.h.key).is_some(),
        "still configured"
    );

    let services = g.post("/api/Setup/UserAvailableServices", &token).await;
    assert_ok(&services);
    let list = services["Services"].as_array().expect("services");
    let names: Vec<&str> = list
        .iter()
        .filter_map(|s| s["ServiceName"].as_str())
        .collect();
    assert_eq!(names, ["Stream Signed", "Stream Standard"]);
    let standard = &list[1];
    assert_eq!(standard["ServiceTag"], json!("standard"));
    assert_eq!(standard["ServiceCode"], json!("NTH-2MAN"));
    let inst = g.inst();
    let mapping = inst
        .mappings
        .iter()
        .find(|m| m.name == "standard")
        .expect("mapping");
    assert_eq!(
        standard["ServiceUniqueId"],
        json!(service_id(&inst, mapping).to_string())
    );
    let again = g.post("/api/Setup/UserAvailableServices", &token).await;
    assert_eq!(again["Services"], services["Services"], "ids are stable");
    let property = |name: &str| {
        standard["ServiceProperty"]
            .as_array()
            .expect("properties")
            .iter()
            .find(|p| p["PropertyName"] == json!(name))
            .map(|p| p["PropertyValue"].clone())
    };
    assert_eq!(property("Depot"), Some(json!("NORTH")));
    assert_eq!(property("LabelCopies"), Some(json!("1")));

    let mapping = g.post("/api/Setup/ExtendedPropertyMapping", &token).await;
    assert_ok(&mapping);
    assert_eq!(mapping["Items"], json!([]));
}

async fn the_openapi_description_matches_the_routes(backend: Backend) {
    let g = Gateway::start(backend).await;
    let served: Value =
        g.h.http
            .get(format!("{}/openapi.json", g.url))
            .send()
            .await
            .expect("gateway")
            .json()
            .await
            .expect("JSON");
    assert_eq!(
        served,
        serde_json::from_str::<Value>(OPENAPI_JSON).expect("JSON")
    );
    // Every described gateway operation is served (the webhook receiver and /healthz are
    // served by the processes that mount this router beside theirs).
    for (path, item) in served["paths"].as_object().expect("paths") {
        if path.starts_with("/webhooks/") || path == "/healthz" {
            continue;
        }
        for method in item.as_object().expect("operations").keys() {
            let request = match method.as_str() {
                "get" => g.h.http.get(format!("{}{path}", g.url)),
                "post" => g.h.http.post(format!("{}{path}", g.url)).body("{}"),
                other => panic!("unexpected method {other}"),
            };
            let reply = request.send().await.expect("gateway");
            assert_eq!(
                reply.status().as_u16(),
                200,
                "{method} {path} is described but not served"
            );
        }
    }
    let missing =
        g.h.http
            .post(format!("{}/api/Consignment/Nope", g.url))
            .send()
            .await
            .expect("gateway");
    assert_eq!(missing.status().as_u16(), 404);
}
