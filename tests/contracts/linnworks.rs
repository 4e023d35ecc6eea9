//! The Linnworks client against the Linnworks simulator, in-process over loopback HTTP:
//! every call, re-authorisation, each fault kind, error contents, and both encodings.

use std::time::{Duration, Instant};

use linnstream::linnworks::*;
use linnstream::remote::{RemoteErrorKind, RemoteOptions, RetryPolicy};
use linnstream::sim::kit::{FaultSpec, RunningServer};
use linnstream::sim::linnworks::{
    LinnworksSim, LinnworksSimConfig, NewItem, NewOrder, NewPostalService,
};
use serde_json::{Value, json};
use uuid::Uuid;

struct Fixture {
    sim: LinnworksSim,
    server: RunningServer,
    client: LinnworksClient,
}

fn options(timeout: Duration) -> RemoteOptions {
    RemoteOptions {
        timeout,
        retry: RetryPolicy {
            // A test waits out a Retry-After of a second or two, not a minute.
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
                .with_base_delay(Duration::from_millis(5))
                .with_max_retries(3)
        },
        linnworks_pace_scale: 1.0,
    }
}

fn credentials(config: &LinnworksSimConfig) -> Credentials {
    Credentials {
        application_id: config.application_id.clone(),
        application_secret: config.application_secret.clone(),
        installation_token: config.installation_token.clone(),
    }
}

async fn start_with(timeout: Duration) -> Fixture {
    let sim = LinnworksSim::default();
    let server = sim.start_loopback().await.expect("serve");
    let client = LinnworksClient::new(&server.url(), credentials(sim.config()), &options(timeout))
        .expect("client");
    Fixture {
        sim,
        server,
        client,
    }
}

async fn start() -> Fixture {
    start_with(Duration::from_secs(5)).await
}

impl Fixture {
    fn fault(&self, spec: Value) {
        let spec: FaultSpec = serde_json::from_value(spec).expect("fault spec");
        self.sim.kit().faults().add(spec).expect("fault");
    }

    fn calls_to(&self, path: &str) -> Vec<linnstream::sim::kit::RecordedRequest> {
        self.sim
            .kit()
            .recorder()
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    fn order(&self, id: Uuid) -> Value {
        self.sim.order(&id.to_string()).expect("order exists")
    }

    fn one_order(&self) -> Uuid {
        self.sim.add_orders(vec![NewOrder::default()]).expect("add")[0]
    }
}

const STREAM: &str = "Stream Next Day";

fn stream_service() -> NewPostalService {
    NewPostalService {
        id: None,
        name: STREAM.into(),
        vendor: Some("STREAM TECH".into()),
        tag: None,
        code: None,
        country: None,
    }
}

#[tokio::test]
async fn logs_in_once_and_uses_the_returned_server_and_session() {
    let f = start().await;
    f.one_order();
    let orders = f
        .client
        .get_all_open_orders(None, None, 50)
        .await
        .expect("orders");
    assert_eq!(orders.len(), 1);
    f.client.get_identifiers().await.expect("identifiers");
    let logins = f.calls_to("/api/Auth/AuthorizeByApplication");
    assert_eq!(logins.len(), 1);
    let body = logins[0].json.as_ref().expect("json body");
    assert_eq!(body["ApplicationId"], f.sim.config().application_id);
    assert_eq!(body["ApplicationSecret"], "***", "the recorder masks it");
    let open = &f.calls_to("/api/Orders/GetOpenOrders")[0];
    assert_eq!(open.headers["authorization"], "***");
    assert_eq!(open.json.as_ref().unwrap()["entriesPerPage"], 50);
    assert_eq!(open.json.as_ref().unwrap()["pageNumber"], 1);
    let session = f.client.session().await.expect("session");
    assert_eq!(session.server, f.server.url());
}

#[tokio::test]
async fn concurrent_callers_share_one_login() {
    let f = start().await;
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let c = f.client.clone();
            tokio::spawn(async move { c.get_identifiers().await })
        })
        .collect();
    for c in calls {
        c.await.expect("join").expect("call");
    }
    assert_eq!(f.calls_to("/api/Auth/AuthorizeByApplication").len(), 1);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_and_the_call_repeated() {
    let f = start().await;
    let id = f.one_order();
    f.client.get_orders_by_id(&[id]).await.expect("first call");
    assert_eq!(f.sim.expire_sessions(), 1);
    let details = f
        .client
        .get_orders_by_id(&[id])
        .await
        .expect("after expiry");
    assert_eq!(details[0].order_id, id);
    assert_eq!(f.calls_to("/api/Auth/AuthorizeByApplication").len(), 2);
    let statuses: Vec<Option<u16>> = f
        .calls_to("/api/Orders/GetOrdersById")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![Some(200), Some(401), Some(200)]);
}

#[tokio::test]
async fn sessions_expire_after_the_idle_ttl() {
    let sim = LinnworksSim::new(LinnworksSimConfig {
        session_ttl: Duration::from_millis(200),
        ..LinnworksSimConfig::default()
    });
    let server = sim.start_loopback().await.expect("serve");
    let client = LinnworksClient::new(
        &server.url(),
        credentials(sim.config()),
        &options(Duration::from_secs(5)),
    )
    .unwrap();
    client.get_identifiers().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.get_identifiers().await.unwrap();
    let logins = sim
        .kit()
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("AuthorizeByApplication"))
        .count();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn wrong_credentials_fail_with_status_and_message_and_no_secret() {
    let f = start().await;
    let secret = "0f0f0f0f-1111-2222-3333-444444444444";
    let bad = LinnworksClient::new(
        &f.server.url(),
        Credentials {
            application_id: f.sim.config().application_id.clone(),
            application_secret: secret.into(),
            installation_token: f.sim.config().installation_token.clone(),
        },
        &options(Duration::from_secs(5)),
    )
    .unwrap();
    let e = bad.get_identifiers().await.unwrap_err();
    assert_eq!(e.status, Some(401));
    assert_eq!(e.call, "Auth/AuthorizeByApplication");
    assert_eq!(e.message, "Invalid application credentials or token");
    let text = format!("{e} {e:?}");
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains(&f.sim.config().installation_token), "{text}");
}

#[tokio::test]
async fn api_errors_carry_status_and_message_without_the_session_token() {
    let f = start().await;
    let missing = Uuid::new_v4();
    let e = f
        .client
        .set_order_shipping_info(
            missing,
            &UpdateOrderShippingInfoRequest {
                tracking_number: Some("T1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(400));
    assert_eq!(e.call, "Orders/SetOrderShippingInfo");
    assert_eq!(e.message, format!("Order with id {missing} was not found"));
    assert_eq!(e.attempts, 1, "a 400 is not retried");
    let text = format!("{e}");
    for secret in [
        &f.sim.config().application_secret,
        &f.sim.config().installation_token,
    ] {
        assert!(!text.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn open_orders_are_paged_and_the_helper_fetches_every_page() {
    let f = start().await;
    let ids = f.sim.add_orders(vec![NewOrder::default(); 5]).unwrap();
    let page = f
        .client
        .get_open_orders(&GetOpenOrdersRequest {
            entries_per_page: 2,
            page_number: 3,
            filters: None,
            sorting: vec![],
            fulfilment_center: None,
            additional_filter: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (page.total_entries, page.total_pages, page.page_number),
        (5, 3, 3)
    );
    assert_eq!(page.data.len(), 1);
    let all = f.client.get_all_open_orders(None, None, 2).await.unwrap();
    let got: Vec<Uuid> = all.iter().map(|o| o.order_id).collect();
    assert_eq!(got, ids, "every order once, in NumOrderId order");
    assert_eq!(f.calls_to("/api/Orders/GetOpenOrders").len(), 4);
}

#[tokio::test]
async fn open_orders_filter_by_lookback_vendor_and_location() {
    let f = start().await;
    f.sim.add_postal_services(vec![stream_service()]).unwrap();
    let other_location = Uuid::new_v4();
    let ids = f
        .sim
        .add_orders(vec![
            NewOrder {
                postal_service_name: Some(STREAM.into()),
                received_days_ago: Some(1),
                ..Default::default()
            },
            NewOrder {
                postal_service_name: Some(STREAM.into()),
                received_days_ago: Some(10),
                ..Default::default()
            },
            NewOrder {
                vendor: Some("Royal Mail".into()),
                ..Default::default()
            },
            NewOrder {
                postal_service_name: Some(STREAM.into()),
                location: Some(other_location),
                ..Default::default()
            },
        ])
        .unwrap();
    let filters = FieldsFilter {
        text_fields: vec![TextFieldFilter {
            filter_type: TextFilterType::Equal,
            text: "STREAM TECH".into(),
            field_code: FieldCode::ShippingInformationVendor,
        }],
        date_fields: vec![DateFieldFilter::received_in_last_days(7)],
    };
    let got: Vec<Uuid> = f
        .client
        .get_all_open_orders(Some(filters.clone()), Some(Uuid::nil()), 50)
        .await
        .unwrap()
        .iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(got, vec![ids[0]]);
    let sent = &f.calls_to("/api/Orders/GetOpenOrders")[0];
    let body = sent.json.as_ref().unwrap();
    assert_eq!(body["filters"]["DateFields"][0]["Type"], "LastDays");
    assert_eq!(
        body["filters"]["DateFields"][0]["FieldCode"],
        "GENERAL_INFO_DATE"
    );
    assert_eq!(
        body["filters"]["TextFields"][0]["FieldCode"],
        "SHIPPING_INFORMATION_VENDOR"
    );
    let elsewhere = f
        .client
        .get_all_open_orders(Some(filters), Some(other_location), 50)
        .await
        .unwrap();
    assert_eq!(elsewhere.len(), 1);
    assert_eq!(elsewhere[0].order_id, ids[3]);
}

#[tokio::test]
async fn order_details_carry_items_composites_address_and_shipping() {
    let f = start().await;
    f.sim.add_postal_services(vec![stream_service()]).unwrap();
    let ids = f
        .sim
        .add_orders(vec![NewOrder {
            reference: Some("REF-9".into()),
            postal_service_name: Some(STREAM.into()),
            items: Some(vec![NewItem {
                sku: Some("SET".into()),
                quantity: Some(2),
                composite_sub_items: vec![NewItem {
                    sku: Some("PART".into()),
                    weight: Some(3.25),
                    ..Default::default()
                }],
                ..Default::default()
            }]),
            ..Default::default()
        }])
        .unwrap();
    let unknown = Uuid::new_v4();
    let details = f.client.get_orders_by_id(&[ids[0], unknown]).await.unwrap();
    assert_eq!(details.len(), 1, "unknown ids are left out");
    let d = &details[0];
    assert_eq!(d.general_info.reference_num.as_deref(), Some("REF-9"));
    assert!(d.general_info.received_date.is_some());
    assert_eq!(d.general_info.location, Some(Uuid::nil()));
    assert_eq!(d.shipping_info.vendor.as_deref(), Some("STREAM TECH"));
    assert_eq!(d.shipping_info.postal_service_name.as_deref(), Some(STREAM));
    assert!(d.shipping_info.postal_service_id.is_some());
    assert_eq!(
        d.customer_info.address.post_code.as_deref(),
        Some("LS1 1AA")
    );
    assert_eq!(d.items[0].sku.as_deref(), Some("SET"));
    assert_eq!(d.items[0].quantity, 2);
    assert_eq!(
        d.items[0].composite_sub_items[0].sku.as_deref(),
        Some("PART")
    );
    assert_eq!(d.items[0].composite_sub_items[0].weight, 3.25);
    assert!(!d.processed);
}

#[tokio::test]
async fn writes_tracking_notes_properties_and_processes() {
    let f = start().await;
    let id = f.one_order();
    let current = f.client.get_orders_by_id(&[id]).await.unwrap().remove(0);
    let mut info = UpdateOrderShippingInfoRequest::from_current(&current.shipping_info);
    info.tracking_number = Some("STRM-0001".into());
    let reply = f.client.set_order_shipping_info(id, &info).await.unwrap();
    assert_eq!(
        reply.shipping_info.unwrap().tracking_number.as_deref(),
        Some("STRM-0001")
    );
    assert_eq!(f.order(id)["ShippingInfo"]["TrackingNumber"], "STRM-0001");
    let sent = &f.calls_to("/api/Orders/SetOrderShippingInfo")[0];
    assert_eq!(sent.json.as_ref().unwrap()["orderId"], id.to_string());
    assert_eq!(
        sent.json.as_ref().unwrap()["info"]["TrackingNumber"],
        "STRM-0001"
    );

    let notes = f
        .client
        .add_orders_note(&AddOrdersNoteRequest {
            order_ids: vec![id],
            note_text: "Delivered to front door".into(),
            is_internal: false,
            is_processing_note: false,
        })
        .await
        .unwrap();
    assert_eq!(notes[0].note, "Delivered to front door");
    assert_eq!(f.order(id)["Notes"][0]["Note"], "Delivered to front door");

    let prop = |name: &str, value: &str| BasicExtendedProperty {
        name: name.into(),
        value: value.into(),
        r#type: "Info".into(),
    };
    let added = f
        .client
        .add_extended_properties(id, vec![prop("Driver", "Sam"), prop("Vehicle", "VN-12")])
        .await
        .unwrap();
    assert_eq!(added.extended_properties_inserted, 2);
    let again = f
        .client
        .add_extended_properties(id, vec![prop("Driver", "Sam")])
        .await
        .unwrap();
    assert_eq!(
        again.extended_properties_inserted, 0,
        "same name and value skipped"
    );
    let mut stored = f.client.get_orders_by_id(&[id]).await.unwrap()[0]
        .extended_properties
        .clone();
    let driver = stored.iter_mut().find(|p| p.name == "Driver").unwrap();
    driver.value = "Alex".into();
    let changed = driver.clone();
    let set = f
        .client
        .set_extended_properties(
            id,
            &[
                changed.clone(),
                ExtendedProperty {
                    row_id: None,
                    name: "TrackingUrl".into(),
                    value: "https://track.example/1".into(),
                    r#type: "Info".into(),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(set.len(), 2);
    assert!(set[1].row_id.is_some());
    let props = f.order(id)["ExtendedProperties"].clone();
    assert_eq!(props.as_array().unwrap().len(), 3);
    assert!(
        props
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "Driver" && p["Value"] == "Alex")
    );

    let result = f.client.process_order(id, true, None).await.unwrap();
    assert!(result.processed);
    assert_eq!(f.order(id)["Processed"], true);
    assert!(
        f.client
            .get_all_open_orders(None, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let twice = f.client.process_order(id, true, None).await.unwrap();
    assert!(!twice.processed);
    assert!(twice.error.is_some());
}

#[tokio::test]
async fn general_info_round_trips_through_set_order_general_info() {
    let f = start().await;
    let id = f.one_order();
    let mut info = f.client.get_orders_by_id(&[id]).await.unwrap()[0]
        .general_info
        .clone();
    let despatch = chrono::DateTime::parse_from_rfc3339("2026-07-01T09:00:00Z")
        .unwrap()
        .to_utc();
    info.despatch_by_date = Some(despatch);
    f.client
        .set_order_general_info(id, &info, false)
        .await
        .unwrap();
    assert_eq!(
        f.order(id)["GeneralInfo"]["DespatchByDate"],
        "2026-07-01T09:00:00Z"
    );
    let sent = &f.calls_to("/api/Orders/SetOrderGeneralInfo")[0];
    let body = sent.json.as_ref().unwrap();
    assert_eq!(body["wasDraft"], false);
    assert!(
        body["info"]["PickwaveIds"].is_array(),
        "unmodelled fields are sent back"
    );
}

#[tokio::test]
async fn identifiers_are_saved_assigned_and_unassigned() {
    let f = start().await;
    let id = f.one_order();
    let saved = f
        .client
        .save_identifier(&Identifier {
            tag: "SENT_TO_STREAM".into(),
            name: "Sent to Stream".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(saved.identifier_id > 0 && saved.is_custom);
    let renamed = f
        .client
        .save_identifier(&Identifier {
            name: "Sent To Stream".into(),
            ..saved.clone()
        })
        .await
        .unwrap();
    assert_eq!(renamed.identifier_id, saved.identifier_id);
    let all = f.client.get_identifiers().await.unwrap();
    assert_eq!(all.iter().filter(|i| i.tag == "SENT_TO_STREAM").count(), 1);

    let r = f
        .client
        .assign_order_identifier(&[id], "SENT_TO_STREAM")
        .await
        .unwrap();
    assert_eq!(r.changed, vec![id]);
    let r = f
        .client
        .assign_order_identifier(&[id], "SENT_TO_STREAM")
        .await
        .unwrap();
    assert_eq!(r.not_changed, vec![id]);
    let order = f.order(id);
    assert_eq!(
        order["GeneralInfo"]["Identifiers"][0]["Tag"],
        "SENT_TO_STREAM"
    );
    assert_eq!(
        order["GeneralInfo"]["Identifiers"][0]["Name"],
        "Sent To Stream"
    );
    f.client
        .unassign_order_identifier(&[id], "SENT_TO_STREAM")
        .await
        .unwrap();
    assert_eq!(f.order(id)["GeneralInfo"]["Identifiers"], json!([]));

    let e = f
        .client
        .assign_order_identifier(&[id], "NO_SUCH")
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("NO_SUCH"), "{e}");
    let e = f
        .client
        .assign_order_identifier(&[Uuid::new_v4()], "SENT_TO_STREAM")
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(400));
}

#[tokio::test]
async fn postal_services_are_listed_created_and_updated() {
    let f = start().await;
    let created = f
        .client
        .create_postal_service(&PostalService {
            postal_service_name: "STREAM Two Man".into(),
            vendor: "STREAM TECH".into(),
            postal_service_code: Some("2MAN".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = created.pk_postal_service_id.expect("id assigned");
    let dup = f.client.create_postal_service(&created).await.unwrap_err();
    assert_eq!(dup.status, Some(400));
    f.client
        .update_postal_service(&PostalService {
            postal_service_name: "STREAM Two Man Delivery".into(),
            ..created.clone()
        })
        .await
        .unwrap();
    let all = f.client.get_postal_services().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, Some(id));
    assert_eq!(all[0].service.pk_postal_service_id, Some(id));
    assert_eq!(
        all[0].service.postal_service_name,
        "STREAM Two Man Delivery"
    );
    assert_eq!(all[0].service.vendor, "STREAM TECH");
    let sent = &f.calls_to("/api/PostalServices/CreatePostalService")[0];
    assert_eq!(
        sent.json.as_ref().unwrap()["PostalServiceDetails"]["PostalServiceName"],
        "STREAM Two Man"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let f = start().await;
    f.fault(json!({"path": "/api/OpenOrders/GetIdentifiers", "kind": "status", "status": 503, "times": 2}));
    f.client
        .get_identifiers()
        .await
        .expect("third attempt succeeds");
    assert_eq!(f.calls_to("/api/OpenOrders/GetIdentifiers").len(), 3);
}

#[tokio::test]
async fn persistent_server_errors_give_the_status_and_message() {
    let f = start().await;
    f.fault(
        json!({"path": "/api/OpenOrders/GetIdentifiers", "kind": "status", "status": 500,
                   "body": {"Message": "Internal error 42"}}),
    );
    let e = f.client.get_identifiers().await.unwrap_err();
    assert_eq!(e.status, Some(500));
    assert_eq!(e.message, "Internal error 42");
    assert_eq!(e.attempts, 4);
}

#[tokio::test]
async fn a_hung_request_times_out_and_is_retried() {
    let f = start_with(Duration::from_millis(300)).await;
    f.client.get_identifiers().await.unwrap(); // log in first
    f.fault(json!({"path": "/api/OpenOrders/GetIdentifiers", "kind": "timeout", "hangMs": 5000, "times": 1}));
    f.client
        .get_identifiers()
        .await
        .expect("retried after the timeout");
    f.fault(json!({"path": "/api/OpenOrders/GetIdentifiers", "kind": "timeout", "hangMs": 5000}));
    let e = f.client.get_identifiers().await.unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Timeout);
    assert_eq!(e.attempts, 4);
}

#[tokio::test]
async fn rate_limits_are_honoured_with_retry_after() {
    let f = start().await;
    f.fault(json!({"path": "/api/Orders/AddOrdersNote", "kind": "rateLimited", "retryAfterSeconds": 1, "times": 1}));
    let id = f.one_order();
    let started = Instant::now();
    f.client
        .add_orders_note(&AddOrdersNoteRequest {
            order_ids: vec![id],
            note_text: "n".into(),
            is_internal: true,
            is_processing_note: false,
        })
        .await
        .expect("retried after Retry-After");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(f.order(id)["Notes"].as_array().unwrap().len(), 1);

    // The simulator's own per-endpoint limit answers 429 with Retry-After too.
    f.sim
        .kit()
        .rate_limits()
        .set_rules(vec![linnstream::sim::kit::RateLimitRule::new(
            "/api/OpenOrders/GetIdentifiers",
            1,
        )])
        .unwrap();
    f.client.get_identifiers().await.unwrap();
    let e = f.client.get_identifiers().await.unwrap_err();
    assert_eq!(e.status, Some(429));
    let wait = e.retry_after.expect("Retry-After");
    assert!(
        wait > Duration::from_secs(50),
        "{wait:?}: longer than we wait in line"
    );
    assert_eq!(e.attempts, 1);
}

#[tokio::test]
async fn default_rate_limits_are_the_published_ones() {
    let sim = LinnworksSim::default();
    let rules = sim.kit().rate_limits().rules();
    let limit = |p: &str| rules.iter().find(|r| r.path == p).map(|r| r.per_minute);
    assert_eq!(limit("/api/Orders/GetOpenOrders"), Some(250));
    assert_eq!(limit("/api/Orders/AddOrdersNote"), Some(150));
    assert_eq!(limit("/api/Auth/AuthorizeByApplication"), Some(150));
    assert_eq!(limit("/api/Orders/GetOrderPackagingCalculation"), Some(150));
}

#[tokio::test]
async fn dropped_connections_retry_idempotent_calls_only() {
    let f = start().await;
    let id = f.one_order();
    f.fault(json!({"path": "/api/Orders/SetOrderShippingInfo", "kind": "drop", "times": 1}));
    f.client
        .set_order_shipping_info(
            id,
            &UpdateOrderShippingInfoRequest {
                tracking_number: Some("T-DROP".into()),
                ..Default::default()
            },
        )
        .await
        .expect("an overwrite is safe to repeat");
    assert_eq!(f.calls_to("/api/Orders/SetOrderShippingInfo").len(), 2);

    f.fault(json!({"path": "/api/Orders/AddOrdersNote", "kind": "drop", "times": 1}));
    let e = f
        .client
        .add_orders_note(&AddOrdersNoteRequest {
            order_ids: vec![id],
            note_text: "once".into(),
            is_internal: false,
            is_processing_note: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Transport, "{e}");
    assert_eq!(e.attempts, 1);
    assert_eq!(
        f.order(id)["Notes"].as_array().unwrap().len(),
        1,
        "applied once, not repeated"
    );
}

/// Raw requests, as Linnworks' method pages show them: form fields holding JSON.
#[tokio::test]
async fn the_simulator_accepts_json_and_form_encodings() {
    let f = start().await;
    let id = f.one_order();
    let http = reqwest::Client::new();
    let c = f.sim.config();
    let login: Value = http
        .post(format!(
            "{}/api/Auth/AuthorizeByApplication",
            f.server.url()
        ))
        .form(&[
            ("ApplicationId", c.application_id.as_str()),
            ("ApplicationSecret", c.application_secret.as_str()),
            ("Token", c.installation_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["Token"].as_str().expect("session token").to_string();
    let server = login["Server"].as_str().unwrap().to_string();
    let info = r#"{"TrackingNumber":"FORM-1","PostageCost":4.5}"#;
    let r = http
        .post(format!("{server}/api/Orders/SetOrderShippingInfo"))
        .header("Authorization", &token)
        .form(&[("orderId", id.to_string().as_str()), ("info", info)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(f.order(id)["ShippingInfo"]["TrackingNumber"], "FORM-1");
    assert_eq!(f.order(id)["ShippingInfo"]["PostageCost"], 4.5);

    let r = http
        .post(format!("{server}/api/Orders/AddOrdersNote"))
        .header("Authorization", &token)
        .form(&[(
            "request",
            format!(r#"{{"OrderIds":["{id}"],"NoteText":"via form","IsInternal":true}}"#),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http
        .post(format!("{server}/api/Orders/GetOpenOrders"))
        .header("Authorization", &token)
        .json(&json!({"entriesPerPage": 10, "pageNumber": 1}))
        .send()
        .await
        .unwrap();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["TotalEntries"], 1);
    assert_eq!(page["Data"][0]["OrderId"], id.to_string());
    assert_eq!(f.order(id)["Notes"][0]["Note"], "via form");
}

#[tokio::test]
async fn the_simulator_rejects_what_linnworks_would() {
    let f = start().await;
    let id = f.one_order();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}/api/{p}", f.server.url());
    let r = http
        .post(url("Orders/GetOpenOrders"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["Message"],
        "Authorization has been denied for this request."
    );
    let c = f.sim.config();
    let login: Value = http
        .post(url("Auth/AuthorizeByApplication"))
        .json(&json!({"ApplicationId": c.application_id, "ApplicationSecret": c.application_secret, "Token": c.installation_token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["Token"].as_str().unwrap().to_string();
    for (path, body, needle) in [
        (
            "Orders/SetOrderShippingInfo",
            json!({"info": {}}),
            "orderId is required",
        ),
        (
            "Orders/SetOrderShippingInfo",
            json!({"orderId": id}),
            "info is required",
        ),
        (
            "Orders/SetOrderShippingInfo",
            json!({"orderId": "x", "info": {}}),
            "not a valid GUID",
        ),
        (
            "Orders/GetOpenOrders",
            json!({"pageNumber": 1}),
            "entriesPerPage is required",
        ),
        (
            "Orders/GetOrdersById",
            json!({"pkOrderIds": "abc"}),
            "pkOrderIds must be an array",
        ),
        (
            "Orders/AddOrdersNote",
            json!({"OrderIds": [Uuid::new_v4()], "NoteText": "x"}),
            "was not found",
        ),
        (
            "OpenOrders/SaveIdentifier",
            json!({"Identifier": {"Name": "x"}}),
            "Identifier.Tag is required",
        ),
    ] {
        let r = http
            .post(url(path))
            .header("Authorization", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        let message = r.json::<Value>().await.unwrap()["Message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(needle), "{path}: {message}");
    }
}

#[tokio::test]
async fn admin_api_seeds_and_shows_orders() {
    let f = start().await;
    let http = reqwest::Client::new();
    let base = f.server.url();
    let r = http
        .post(format!("{base}/_sim/postal-services"))
        .json(&json!({"name": "Stream Next Day", "vendor": "STREAM TECH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{base}/_sim/orders"))
        .json(
            &json!([{"reference": "A-1", "postalServiceName": "Stream Next Day",
                        "items": [{"sku": "X", "quantity": 3}]}, {}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Vec<Value> = r.json().await.unwrap();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["ShippingInfo"]["Vendor"], "STREAM TECH");
    assert_eq!(created[0]["Items"][0]["Quantity"], 3);
    let num = created[1]["NumOrderId"].as_i64().unwrap();
    let by_num: Value = http
        .get(format!("{base}/_sim/orders/{num}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_num["OrderId"], created[1]["OrderId"]);
    let all: Vec<Value> = http
        .get(format!("{base}/_sim/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let r = http
        .post(format!("{base}/_sim/orders"))
        .json(&json!({"items": [{"quantity": 0}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("items[0].quantity"));
    let r = http
        .post(format!("{base}/_sim/orders"))
        .json(&json!({"colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("colour"));
    let r = http
        .get(format!("{base}/_sim/orders/{}", Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r: Value = http
        .post(format!("{base}/_sim/sessions/expire"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["expired"], 0);
}

/// Keys whose Swagger type is a string or an object (or a date-time): the only ones a
/// Linnworks reply may carry as `null`. Guids, numbers and booleans are .NET value types
/// and never null on the wire.
const NULLABLE: &[&str] = &[
    "ProcessedDateTime",
    "DespatchByDate",
    "LabelError",
    "InvoicePrintError",
    "PickListPrintError",
    "SiteCode",
    "ScheduledDelivery",
    "TaxId",
    "TaxNumber",
    "Fulfillment",
    "PrintModule",
    "PrintModuleTitle",
    "ThreeDimPackaging",
];

fn nulls(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if v.is_null() && !NULLABLE.contains(&k.as_str()) {
                    found.push(format!("{at}.{k}"));
                }
                nulls(v, &format!("{at}.{k}"), found);
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                nulls(v, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn value_types_are_never_null_and_countries_have_ids() {
    let f = start().await;
    f.sim.add_postal_services(vec![stream_service()]).unwrap();
    let composite: NewItem = serde_json::from_value(json!({
        "sku": "SET", "quantity": 2, "compositeSubItems": [
            {"sku": "PART", "quantity": 4, "weight": 1.5,
             "boxes": [{"width": 10.0, "height": 20.0, "length": 30.0}]}
        ]
    }))
    .unwrap();
    let mut nowhere = NewOrder {
        postal_service_name: Some(STREAM.into()),
        ..Default::default()
    };
    nowhere.customer = Some(serde_json::from_value(json!({"country": "Narnia"})).unwrap());
    let ids = f
        .sim
        .add_orders(vec![
            NewOrder {
                items: Some(vec![composite]),
                notes: vec!["Leave with neighbour".into()],
                ..Default::default()
            },
            nowhere,
        ])
        .unwrap();
    let details = f.client.get_order_values_by_id(&ids).await.unwrap();
    let open = f
        .client
        .get_all_open_order_values(None, None, 100)
        .await
        .unwrap();
    let mut found = Vec::new();
    nulls(&Value::Array(details.clone()), "GetOrdersById", &mut found);
    nulls(&Value::Array(open), "GetOpenOrders", &mut found);
    assert!(found.is_empty(), "null value types: {found:?}");
    // One fixed Guid per country, the empty Guid for an unknown one.
    let country_id = |d: &Value| d["CustomerInfo"]["Address"]["CountryId"].clone();
    let uk = country_id(&details[0]);
    assert!(uk.is_string() && uk != json!(Uuid::nil()), "{uk}");
    assert_eq!(country_id(&details[1]), json!(Uuid::nil()));
    assert_eq!(
        details[0]["Items"][0]["CompositeSubItems"][0]["Boxes"][0]["Length"],
        json!(30.0)
    );
    let typed = f.client.get_orders_by_id(&ids[..1]).await.unwrap();
    let part = &typed[0].items[0].composite_sub_items[0];
    assert_eq!((part.boxes[0].width, part.boxes[0].height), (10.0, 20.0));
}

#[tokio::test]
async fn packaging_calculation_lists_children_dimensions_and_bins() {
    let f = start().await;
    let order: NewOrder = serde_json::from_value(json!({
        "items": [
            {"sku": "SET", "quantity": 2, "compositeSubItems": [
                {"sku": "TOP", "quantity": 2, "weight": 20.0,
                 "boxes": [{"width": 100.0, "height": 5.0, "length": 60.0}]},
                {"sku": "LEG", "quantity": 8, "weight": 1.0}
            ]},
            {"sku": "LAMP", "quantity": 1}
        ],
        "packagingSplit": [
            {"items": [{"sku": "TOP", "quantity": 2}, {"sku": "LEG", "quantity": 8}]},
            {"items": [{"sku": "LAMP", "quantity": 1}]}
        ]
    }))
    .unwrap();
    let id = f.sim.add_orders(vec![order]).unwrap()[0];
    let calc = f
        .client
        .get_order_packaging(&[id, Uuid::new_v4()])
        .await
        .unwrap();
    assert_eq!(calc.len(), 1, "unknown ids are left out");
    let c = &calc[0];
    assert_eq!(c.order_id, id);
    let skus_and_quantities: Vec<i32> = c.items.iter().map(|i| i.quantity).collect();
    assert_eq!(
        skus_and_quantities,
        [2, 8, 1],
        "composite parents are left out"
    );
    assert_eq!(
        (c.items[0].width, c.items[0].height, c.items[0].depth),
        (100.0, 5.0, 60.0)
    );
    assert_eq!(c.bins.len(), 2);
    let details = f.client.get_orders_by_id(&[id]).await.unwrap();
    let top_row = details[0].items[0].composite_sub_items[0].row_id;
    assert_eq!(c.bins[0].items[0].order_item_id, top_row);
    assert_eq!(c.bins[0].items[1].quantity, 8);
    let calls = f.calls_to("/api/Orders/GetOrderPackagingCalculation");
    assert_eq!(calls.len(), 1);
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body["request"]["Recalculate"], false, "{body}");
    assert_eq!(body["request"]["SaveRecalculation"], false, "{body}");
    let bad = f.sim.add_orders(vec![
        serde_json::from_value(
            json!({"packagingSplit": [{"items": [{"sku": "NOPE", "quantity": 1}]}]}),
        )
        .unwrap(),
    ]);
    let message = bad.expect_err("unknown SKU").message;
    assert!(
        message.contains("packagingSplit[0].items[0].sku"),
        "{message}"
    );
}

#[tokio::test]
async fn orders_in_the_order_details_shape_are_replayed() {
    let f = start().await;
    f.sim.add_postal_services(vec![stream_service()]).unwrap();
    let original: NewOrder = serde_json::from_value(json!({
        "reference": "EBAY-77", "postalServiceName": STREAM, "source": "EBAY",
        "customer": {"fullName": "Sato Yuki", "address1": "1-2-3 Shibuya", "town": "Tokyo",
                     "postCode": "150-0002", "country": "Japan", "phone": "+81 3 1234 5678"},
        "items": [
            {"sku": "SET", "title": "Tea set", "quantity": 2, "compositeSubItems": [
                {"sku": "POT", "quantity": 2, "weight": 0.9,
                 "boxes": [{"width": 20.0, "height": 15.0, "length": 20.0}]},
                {"sku": "CUP", "quantity": 12, "weight": 0.2}
            ]}
        ],
        "extendedProperties": [{"name": "Gift", "value": "Yes"}],
        "notes": ["Fragile"]
    }))
    .unwrap();
    let id = f.sim.add_orders(vec![original]).unwrap()[0];
    let mut captured = f.order(id);
    let new_id = Uuid::new_v4();
    captured["OrderId"] = json!(new_id);
    captured["NumOrderId"] = json!(987654);
    // As captured from another account: its own postal service id.
    captured["ShippingInfo"]["PostalServiceId"] = json!(Uuid::new_v4());
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_sim/orders", f.server.url()))
        .json(&json!([captured]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let replayed = f.order(new_id);
    let original = f.order(id);
    for pointer in [
        "/GeneralInfo/ReferenceNum",
        "/GeneralInfo/Source",
        "/GeneralInfo/ReceivedDate",
        "/ShippingInfo/PostalServiceId",
        "/ShippingInfo/PostalServiceName",
        "/CustomerInfo/Address",
        "/Items/0/SKU",
        "/Items/0/Quantity",
        "/Items/0/CompositeSubItems/0/Quantity",
        "/Items/0/CompositeSubItems/0/Weight",
        "/Items/0/CompositeSubItems/0/Boxes/0/Width",
        "/Items/0/CompositeSubItems/1/Quantity",
        "/ExtendedProperties/0/Value",
        "/Notes/0/Note",
    ] {
        assert_eq!(
            replayed.pointer(pointer),
            original.pointer(pointer),
            "{pointer}"
        );
    }
    assert_eq!(replayed["NumOrderId"], 987654);
    // A field of the wrong type is refused with its path.
    let mut broken = f.order(id);
    broken["OrderId"] = json!(Uuid::new_v4());
    broken["NumOrderId"] = json!(987655);
    broken["Items"][0]["Quantity"] = json!("two");
    let r = http
        .post(format!("{}/_sim/orders", f.server.url()))
        .json(&broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Items[0].Quantity: must be a whole number"),
        "{text}"
    );
}
