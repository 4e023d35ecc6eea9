//! The guide's rules of issue #14, end to end against both simulators and a real store (on
//! PostgreSQL and SQLite): the warehouse mapping (orders of several Linnworks locations and
//! both order types, as Stream receives them), DISPATCHED applied to every order of a run
//! (and idempotent), Delete Completed clearing everything the integration wrote, and a
//! suspended installation refusing manual sends.

use linnstream::config::MappingConfig;
use linnstream::domain::{AuditAction, AuditOutcome, OrderStatus};
use linnstream::sim::linnworks::{NewItem, NewOrder, NewPostalService, SimAddress};
use linnstream::store::{AuditQuery, Order};
use linnstream::sync::{self, DISPATCH_DATE_PROPERTY, RunContext, TRACKING_URL_PROPERTY};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::on_both_backends;
use crate::support;
use crate::support::db::Backend;
use crate::support::sync::{ACTOR, Harness, PLAIN_SERVICE};

on_both_backends!(
    each_location_ships_from_its_depot_for_deliveries_and_collections,
    a_location_entry_stream_cannot_serve_fails_validation_with_the_reason,
    dispatch_notes_every_order_of_the_run_and_records_the_date_once,
    dispatch_is_recorded_not_applied_while_dispatch_sync_is_off,
    delete_clears_tracking_url_and_planning_identifiers,
    a_failed_clear_is_audited_as_failed_and_finished_by_deleting_again,
    a_suspended_installation_refuses_manual_sends_with_the_guides_text,
    run_subscribes_dispatched_only_with_dispatch_sync,
    a_staging_account_creates_its_services_under_streamtech,
);

const COLLECT_SERVICE: &str = "Stream Collect";

fn customer(name: &str, line1: &str, town: &str, postcode: &str) -> SimAddress {
    SimAddress {
        full_name: name.into(),
        address1: line1.into(),
        town: town.into(),
        post_code: postcode.into(),
        country: "United Kingdom".into(),
        email: format!("{}@example.co.uk", name.to_lowercase().replace(' ', ".")),
        phone: "07700 900123".into(),
        ..SimAddress::default()
    }
}

/// A real-looking order: a named customer, two lines, on `service`, in `location`.
fn order(service: &str, location: Uuid, who: (&str, &str, &str, &str)) -> NewOrder {
    NewOrder {
        postal_service_name: Some(service.into()),
        location: Some(location),
        source: Some("EBAY".into()),
        channel_buyer_name: Some(who.0.to_lowercase().replace(' ', "_")),
        customer: Some(customer(who.0, who.1, who.2, who.3)),
        items: Some(vec![
            NewItem {
                sku: Some("SOFA-3S-GRY".into()),
                title: Some("Three-seater sofa, grey fabric".into()),
                quantity: Some(1),
                weight: Some(48.5),
                price: Some(599.0),
                ..NewItem::default()
            },
            NewItem {
                sku: Some("CUSH-SET-2".into()),
                title: Some("Scatter cushions, set of two".into()),
                quantity: Some(2),
                weight: Some(0.8),
                price: Some(24.0),
                ..NewItem::default()
            },
        ]),
        ..NewOrder::default()
    }
}

/// A Collection mapping next to the harness's delivery ones, and warehouses: Leeds (mapped
/// by name to NORTH's stock), Coventry (mapped by id to MIDLANDS, no method given) and the
/// Default location (not mapped).
async fn with_locations(h: &Harness) -> (Uuid, Uuid) {
    h.linnworks
        .add_postal_services(vec![NewPostalService {
            id: None,
            name: COLLECT_SERVICE.into(),
            vendor: Some("STREAM TECH".into()),
            tag: None,
            code: None,
            country: Some("GB".into()),
        }])
        .expect("postal service");
    let leeds = h.linnworks.add_location("Leeds Warehouse");
    let coventry = h.linnworks.add_location("Coventry Warehouse");
    h.update_installation(|i| {
        i.spec.locations = serde_json::from_value(json!([
            {"linnworksLocation": {"name": "leeds warehouse"}, "depot": "NORTH", "stockLocation": "LDS"},
            {"linnworksLocation": {"id": coventry.to_string()}, "depot": "MIDLANDS", "stockLocation": "COV"},
        ]))
        .expect("locations");
        i.mappings.push(MappingConfig {
            name: "collect".into(),
            spec: serde_json::from_value(json!({
                "installationRef": {"name": i.key.name},
                "postalService": {"name": COLLECT_SERVICE},
                "depot": "NORTH",
                "deliveryMethod": "NTH-COLL",
                "orderType": "Collection",
                "stockLocation": "LDS",
            }))
            .expect("mapping"),
        });
    });
    (leeds, coventry)
}

/// Adds the orders to Linnworks, fetches and sends them; the queue rows by Linnworks id.
async fn ship(h: &Harness, orders: Vec<NewOrder>) -> Vec<Order> {
    let ids = h.linnworks.add_orders(orders).expect("orders");
    linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "fetch", ACTOR))
        .await
        .expect("fetch");
    linnstream::sync::send_cycle(&RunContext::new(&h.engine, &h.key, "send", ACTOR))
        .await
        .expect("send");
    let mut out = Vec::new();
    for id in ids {
        out.push(
            h.db.store
                .order(&h.key.id(), &id.to_string())
                .await
                .expect("store")
                .expect("queued"),
        );
    }
    out
}

/// A delivery from Leeds and a collection from Coventry, shipped.
async fn leeds_delivery_and_coventry_collection(
    h: &Harness,
    leeds: Uuid,
    coventry: Uuid,
) -> Vec<Order> {
    ship(
        h,
        vec![
            order(
                PLAIN_SERVICE,
                leeds,
                ("Amelia Hart", "14 Kirkstall Road", "Leeds", "LS3 1JL"),
            ),
            order(
                COLLECT_SERVICE,
                coventry,
                ("Priya Shah", "22 Earlsdon Avenue", "Coventry", "CV5 6FQ"),
            ),
        ],
    )
    .await
}

/// The create bodies Stream received, by order number.
fn stream_bodies(h: &Harness) -> Vec<Value> {
    h.stream
        .kit()
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/orders/orders")
        .filter_map(|r| r.json.clone())
        .collect()
}

fn body_of<'a>(bodies: &'a [Value], order: &Order) -> &'a Value {
    let no = order.stream_order_id.as_deref().expect("sent");
    bodies
        .iter()
        .rev()
        .find(|b| b["header"]["orderNo"] == no)
        .unwrap_or_else(|| panic!("no create body for {no}"))
}

/// The order as the Stream simulator holds it (deleted ones too).
async fn stream_order(h: &Harness, order: &Order) -> Value {
    let no = order.stream_order_id.as_deref().expect("sent");
    let reply = h
        .http
        .get(format!("{}/_sim/orders/{no}", h.stream_url))
        .send()
        .await
        .expect("sim orders");
    assert!(reply.status().is_success(), "{no}: {}", reply.status());
    reply.json().await.expect("order json")
}

fn property(h: &Harness, order: &Order, name: &str) -> Option<String> {
    h.lw_order(order)["ExtendedProperties"]
        .as_array()
        .expect("properties")
        .iter()
        .find(|p| p["Name"] == name)
        .and_then(|p| p["Value"].as_str().map(str::to_string))
}

async fn each_location_ships_from_its_depot_for_deliveries_and_collections(backend: Backend) {
    let h = Harness::start(backend).await;
    let (leeds, coventry) = with_locations(&h).await;
    let orders = ship(
        &h,
        vec![
            order(
                PLAIN_SERVICE,
                leeds,
                ("Amelia Hart", "14 Kirkstall Road", "Leeds", "LS3 1JL"),
            ),
            order(
                PLAIN_SERVICE,
                coventry,
                (
                    "Oliver Grant",
                    "7 Far Gosford Street",
                    "Coventry",
                    "CV1 5DZ",
                ),
            ),
            order(
                COLLECT_SERVICE,
                coventry,
                ("Priya Shah", "22 Earlsdon Avenue", "Coventry", "CV5 6FQ"),
            ),
            order(
                PLAIN_SERVICE,
                Uuid::nil(),
                ("George Ellis", "3 Park Row", "Bristol", "BS1 5LJ"),
            ),
        ],
    )
    .await;
    for o in &orders {
        assert_eq!(o.status, OrderStatus::Completed, "{o:?}");
    }
    let bodies = stream_bodies(&h);
    let stock = |b: &Value, group: &str| -> Vec<Value> {
        b[group]["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["stockLocation"].clone())
            .collect()
    };
    // Leeds, by name: NORTH's stock; the service's own method.
    let b = body_of(&bodies, &orders[0]);
    assert_eq!(b["header"]["orderType"], "DELIVERY");
    assert_eq!(b["delivery"]["deliveryMethod"], "NTH-2MAN");
    assert_eq!(stock(b, "delivery"), [json!("LDS"), json!("LDS")]);
    // Coventry, by id: MIDLANDS, with MIDLANDS' method of the service's type.
    let b = body_of(&bodies, &orders[1]);
    assert_eq!(b["delivery"]["deliveryMethod"], "MID-2MAN");
    assert_eq!(stock(b, "delivery"), [json!("COV"), json!("COV")]);
    // A collection from Coventry: MIDLANDS' collection method.
    let b = body_of(&bodies, &orders[2]);
    assert_eq!(b["header"]["orderType"], "COLLECTION");
    assert_eq!(b["collection"]["collectionMethod"], "MID-COLL");
    assert_eq!(stock(b, "collection"), [json!("COV"), json!("COV")]);
    // The Default location has no entry: the postal service mapping's values.
    let b = body_of(&bodies, &orders[3]);
    assert_eq!(b["delivery"]["deliveryMethod"], "NTH-2MAN");
    assert_eq!(stock(b, "delivery"), [Value::Null, Value::Null]);

    // UseDefaultLocation names the Coventry entry: every order ships from MIDLANDS.
    h.update_installation(|i| {
        i.spec.sync.use_default_location = true;
        i.spec.sync.default_location = Some("Coventry Warehouse".into());
    });
    let more = ship(
        &h,
        vec![order(
            PLAIN_SERVICE,
            leeds,
            ("Harriet Moss", "9 Otley Road", "Leeds", "LS6 3AA"),
        )],
    )
    .await;
    let b = body_of(&stream_bodies(&h), &more[0]).clone();
    assert_eq!(b["delivery"]["deliveryMethod"], "MID-2MAN");
    assert_eq!(stock(&b, "delivery"), [json!("COV"), json!("COV")]);
    let trail =
        h.db.store
            .audit_entries(&AuditQuery {
                installation: Some(h.key.id()),
                order_id: Some(more[0].order_id.clone()),
                action: Some(AuditAction::Send),
                limit: 10,
                ..AuditQuery::default()
            })
            .await
            .expect("audit");
    assert!(
        trail
            .iter()
            .any(|a| a.message.contains("\"Coventry Warehouse\"")
                && a.message.contains("spec.locations[1]")),
        "{trail:?}"
    );
}

async fn a_location_entry_stream_cannot_serve_fails_validation_with_the_reason(backend: Backend) {
    let h = Harness::start(backend).await;
    let york = h.linnworks.add_location("York Warehouse");
    h.update_installation(|i| {
        i.spec.locations = serde_json::from_value(json!([
            {"linnworksLocation": {"id": york.to_string()}, "depot": "YORK"},
        ]))
        .expect("locations");
    });
    let o = ship(
        &h,
        vec![order(
            PLAIN_SERVICE,
            york,
            ("Isla Brown", "1 Stonegate", "York", "YO1 8AS"),
        )],
    )
    .await
    .remove(0);
    assert_eq!(o.status, OrderStatus::ValidationFailed, "{o:?}");
    let error = o.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("Postal service not fully configured")
            && error.contains("spec.locations[0]")
            && error.contains("\"YORK\""),
        "{error}"
    );
    assert!(stream_bodies(&h).is_empty(), "nothing reaches Stream");
}

/// Plans `orders` into run 4 on Saturday 2026-06-20 and dispatches the run; returns the
/// load id.
async fn plan_and_dispatch(h: &Harness, orders: &[&Order], events_before: usize) -> String {
    let list: Vec<Value> = orders
        .iter()
        .map(|o| json!({"orderNo": o.stream_order_id}))
        .collect();
    let planned = h
        .sim_event(json!({"action": "plan", "orders": list, "runNumber": 4,
                          "deliveryDate": "2026-06-20", "events": ["LOCKPLANNING"]}))
        .await;
    let load = planned["loadId"].as_str().expect("load id").to_string();
    h.sim_event(json!({"action": "dispatch", "loadId": load, "text": "Vehicle YK71 ABC"}))
        .await;
    h.wait_for_events(events_before + 2).await;
    load
}

async fn dispatch_notes_every_order_of_the_run_and_records_the_date_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let (leeds, coventry) = with_locations(&h).await;
    h.update_installation(|i| i.spec.sync.order_dispatch_sync_enabled = true);
    let orders = leeds_delivery_and_coventry_collection(&h, leeds, coventry).await;
    let (a, b) = (&orders[0], &orders[1]);
    // The property write fails once: the event is retried, and the note it had already
    // added is not added again.
    let fault = h
        .http
        .post(format!("{}/_sim/faults", h.linnworks_url))
        .json(&json!({"path": "/api/Orders/AddExtendedProperties", "kind": "status", "status": 500, "times": 1}))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status().as_u16(), 201);
    let load = plan_and_dispatch(&h, &[a, b], 0).await;
    // LOCKPLANNING, then DISPATCHED failing once and applied on its retry.
    let summary = h.process_all().await;
    assert_eq!(
        (summary.applied, summary.retrying, summary.failed),
        (2, 1, 0),
        "{summary:?}"
    );

    for (o, seq) in [(a, 1), (b, 2)] {
        let notes: Vec<String> = h
            .notes(o)
            .into_iter()
            .filter(|n| n.contains("(DISPATCHED)"))
            .collect();
        assert_eq!(notes.len(), 1, "one dispatch note: {notes:?}");
        let note = &notes[0];
        assert!(
            note.contains("run RUN 04")
                && note.contains(&load)
                && note.contains("on 2026-06-20 at ")
                && note.contains(o.consignment_no.as_deref().expect("consignment"))
                && note.contains("Vehicle YK71 ABC"),
            "{note}"
        );
        let internal = h.lw_order(o)["Notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n["Note"] == note.as_str() && n["Internal"] == true);
        assert!(internal, "the dispatch note is internal");
        let when = property(&h, o, DISPATCH_DATE_PROPERTY).expect("dispatch date");
        assert!(when.starts_with("2026-06-20T"), "{when}");
        assert_eq!(h.planning_tags(o), ["RUN_04", "SATURDAY"], "seq {seq}");
    }
    // Both orders were released in Stream by the dispatch.
    for o in [a, b] {
        let s = stream_order(&h, o).await;
        assert_eq!(s["status"], "RELEASED", "{s}");
    }

    // Replayed: the same notification stored again (as a re-delivery after the store
    // forgot it would be) changes nothing in Linnworks.
    let before: Vec<Value> = [a, b].iter().map(|o| h.lw_order(o)).collect();
    let events = h.events().await;
    let dispatched = events
        .iter()
        .find(|e| e.event_code == "DISPATCHED")
        .expect("stored");
    let parsed =
        linnstream::stream::notification::parse(dispatched.body.as_bytes()).expect("parse");
    let mut replay = linnstream::sync::new_stored_event(
        &h.key.id(),
        &parsed,
        &dispatched.body,
        chrono::Utc::now(),
    );
    replay.dedup_key.push_str("#replay");
    h.db.store
        .insert_webhook_event(&replay)
        .await
        .expect("stored again");
    let summary = h.process_all().await;
    assert_eq!(summary.failed, 0, "{summary:?}");
    let after: Vec<Value> = [a, b].iter().map(|o| h.lw_order(o)).collect();
    assert_eq!(before, after, "a replayed DISPATCHED changes nothing");
}

async fn dispatch_is_recorded_not_applied_while_dispatch_sync_is_off(backend: Backend) {
    let h = Harness::start(backend).await;
    let orders = h.ship(PLAIN_SERVICE, 2).await;
    plan_and_dispatch(&h, &[&orders[0], &orders[1]], 0).await;
    let summary = h.process_all().await;
    assert_eq!((summary.applied, summary.skipped), (1, 1), "{summary:?}");
    for o in &orders {
        assert!(
            !h.notes(o).iter().any(|n| n.contains("DISPATCHED")),
            "{:?}",
            h.notes(o)
        );
        assert_eq!(property(&h, o, DISPATCH_DATE_PROPERTY), None);
    }
    let log =
        h.db.store
            .audit_entries(&AuditQuery {
                installation: Some(h.key.id()),
                action: Some(AuditAction::Webhook),
                limit: 100,
                ..AuditQuery::default()
            })
            .await
            .expect("audit");
    assert!(
        log.iter().any(|e| e.outcome == AuditOutcome::Skipped
            && e.message.contains("orderDispatchSyncEnabled")),
        "{log:?}"
    );
}

/// Ships two orders of two locations (a delivery and a collection), plans them into run 4
/// with sequences on, then takes them out of the run in Stream (a planned order cannot be
/// deleted there; Linnworks keeps the plan's identifiers). One also carries an identifier
/// the integration does not manage.
async fn shipped_planned_unplanned(h: &Harness) -> Vec<Order> {
    let (leeds, coventry) = with_locations(h).await;
    h.update_installation(|i| i.spec.webhooks.group_sequence_identifiers = true);
    let orders = leeds_delivery_and_coventry_collection(h, leeds, coventry).await;
    let list: Vec<Value> = orders
        .iter()
        .map(|o| json!({"orderNo": o.stream_order_id}))
        .collect();
    h.sim_event(json!({"action": "plan", "orders": list, "runNumber": 4,
                       "deliveryDate": "2026-06-20", "events": ["LOCKPLANNING"]}))
        .await;
    h.wait_for_events(1).await;
    let summary = h.process_all().await;
    assert_eq!(summary.applied, 1, "{summary:?}");
    for o in &orders {
        h.sim_event(json!({"action": "unplan", "orderNo": o.stream_order_id}))
            .await;
    }
    let clients = h.engine.clients(&h.installation()).expect("clients");
    clients
        .linnworks
        .assign_order_identifier(
            &[Uuid::parse_str(&orders[0].order_id).expect("id")],
            "SCHEDULED",
        )
        .await
        .expect("tag");
    for o in &orders {
        assert!(property(h, o, TRACKING_URL_PROPERTY).is_some_and(|u| !u.is_empty()));
        let tags = h.planning_tags(o);
        assert!(
            tags.contains(&"RUN_04".to_string())
                && tags.contains(&"SATURDAY".to_string())
                && tags.iter().any(|t| t.starts_with("SEQ_")),
            "{tags:?}"
        );
    }
    orders
}

async fn delete_clears_tracking_url_and_planning_identifiers(backend: Backend) {
    let h = Harness::start(backend).await;
    let orders = shipped_planned_unplanned(&h).await;
    let ids: Vec<String> = orders.iter().map(|o| o.order_id.clone()).collect();
    let outcomes = sync::delete_completed(&RunContext::new(&h.engine, &h.key, "del", "bob"), &ids)
        .await
        .expect("delete runs");
    for (o, outcome) in orders.iter().zip(&outcomes) {
        assert_eq!(outcome.status, "Deleted", "{outcome:?}");
        let lw = h.lw_order(o);
        assert_eq!(lw["ShippingInfo"]["TrackingNumber"], "", "{lw}");
        assert_eq!(
            property(&h, o, TRACKING_URL_PROPERTY).as_deref(),
            Some(""),
            "StreamTrackingURL emptied"
        );
        let managed: Vec<String> = h.tags(o).into_iter().filter(|t| t != "SCHEDULED").collect();
        assert!(managed.is_empty(), "{managed:?}");
        let row =
            h.db.store
                .order(&h.key.id(), &o.order_id)
                .await
                .expect("store")
                .expect("row");
        assert_eq!(row.status, OrderStatus::Deleted);
        // Stream received the delete and no longer has the order.
        let no = o.stream_order_id.as_deref().expect("sent");
        let deletes = h
            .stream
            .kit()
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE" && r.path.ends_with(no))
            .count();
        assert_eq!(deletes, 1, "one DELETE for {no}");
        let s = stream_order(&h, o).await;
        assert_eq!(s["deleted"], true, "{s}");
        assert!(
            s["history"]
                .as_array()
                .is_some_and(|h| h.contains(&json!("UNPLANNED"))),
            "{s}"
        );
    }
    assert!(
        h.tags(&orders[0]).contains(&"SCHEDULED".to_string()),
        "identifiers the integration does not manage stay"
    );
}

async fn a_failed_clear_is_audited_as_failed_and_finished_by_deleting_again(backend: Backend) {
    let h = Harness::start(backend).await;
    let orders = shipped_planned_unplanned(&h).await;
    let o = &orders[0];
    let fault = h
        .http
        .post(format!("{}/_sim/faults", h.linnworks_url))
        .json(&json!({"path": "/api/OpenOrders/UnassignOrderIdentifier", "kind": "status", "status": 500}))
        .send()
        .await
        .expect("fault");
    assert_eq!(fault.status().as_u16(), 201);
    let ids = vec![o.order_id.clone()];
    let outcomes =
        sync::delete_completed(&RunContext::new(&h.engine, &h.key, "del-1", "bob"), &ids)
            .await
            .expect("delete runs");
    assert_eq!(outcomes[0].status, "Completed", "{outcomes:?}");
    assert!(
        outcomes[0]
            .message
            .contains("clearing it in Linnworks failed")
            && outcomes[0].message.contains("delete it again"),
        "{outcomes:?}"
    );
    let row =
        h.db.store
            .order(&h.key.id(), &o.order_id)
            .await
            .expect("store")
            .expect("row");
    assert_eq!(row.status, OrderStatus::Completed, "not Deleted");
    let trail =
        h.db.store
            .audit_entries(&AuditQuery {
                installation: Some(h.key.id()),
                order_id: Some(o.order_id.clone()),
                action: Some(AuditAction::Delete),
                limit: 10,
                ..AuditQuery::default()
            })
            .await
            .expect("audit");
    assert!(
        trail.iter().any(|a| a.outcome == AuditOutcome::Failure
            && a.correlation_id == "del-1"
            && a.message.contains("clearing it in Linnworks failed")
            && a.message.contains("identifier RUN_04")),
        "{trail:?}"
    );
    assert!(
        !trail.iter().any(|a| a.outcome == AuditOutcome::Success),
        "never audited as cleared: {trail:?}"
    );

    h.http
        .delete(format!("{}/_sim/faults", h.linnworks_url))
        .send()
        .await
        .expect("faults");
    let outcomes =
        sync::delete_completed(&RunContext::new(&h.engine, &h.key, "del-2", "bob"), &ids)
            .await
            .expect("delete runs");
    assert_eq!(outcomes[0].status, "Deleted", "{outcomes:?}");
    let managed: Vec<String> = h.tags(o).into_iter().filter(|t| t != "SCHEDULED").collect();
    assert!(managed.is_empty(), "{managed:?}");
    assert_eq!(h.lw_order(o)["ShippingInfo"]["TrackingNumber"], "");
}

async fn a_suspended_installation_refuses_manual_sends_with_the_guides_text(backend: Backend) {
    let h = Harness::start(backend).await;
    let ids = h
        .linnworks
        .add_orders(vec![NewOrder {
            postal_service_name: Some(PLAIN_SERVICE.into()),
            ..NewOrder::default()
        }])
        .expect("order");
    linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "fetch", ACTOR))
        .await
        .expect("fetch");
    h.update_installation(|i| i.spec.suspend = true);
    let selected = vec![ids[0].to_string()];
    for result in [
        sync::send_selected(&RunContext::new(&h.engine, &h.key, "c", "bob"), &selected).await,
        sync::resend_failed(&RunContext::new(&h.engine, &h.key, "c", "bob"), &selected).await,
        sync::delete_completed(&RunContext::new(&h.engine, &h.key, "c", "bob"), &selected).await,
    ] {
        let e = result.expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("Installation not found or inactive"),
            "{e}"
        );
    }
    let e = linnstream::sync::send_cycle(&RunContext::new(&h.engine, &h.key, "c", ACTOR))
        .await
        .expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("Installation not found or inactive"),
        "{e}"
    );
    assert!(stream_bodies(&h).is_empty(), "nothing reached Stream");
    let row =
        h.db.store
            .order(&h.key.id(), &ids[0].to_string())
            .await
            .expect("store")
            .expect("row");
    assert_eq!(row.status, OrderStatus::Pending, "untouched");

    // Resumed: the same manual send goes through.
    h.update_installation(|i| i.spec.suspend = false);
    let sent = sync::send_selected(&RunContext::new(&h.engine, &h.key, "c", "bob"), &selected)
        .await
        .expect("sent");
    assert_eq!(sent[0].status, "Completed", "{sent:?}");
}

async fn run_subscribes_dispatched_only_with_dispatch_sync(backend: Backend) {
    let h = Harness::start(backend).await;
    let subscribed = |h: &Harness| {
        let inst = h.installation();
        let (engine, auth) = (h.engine.clone(), h.auth.clone());
        async move {
            let n = linnstream::app::ensure_subscriptions(&engine, &inst, &auth)
                .await
                .expect("subscribe");
            let url = linnstream::app::webhook_url(&inst).expect("url");
            let stream = engine.clients(&inst).expect("clients").stream;
            let mut events: Vec<String> = stream
                .subscriptions()
                .await
                .expect("list")
                .into_iter()
                .filter(|s| s.url_path == url)
                .map(|s| s.event)
                .collect();
            events.sort();
            (n, events)
        }
    };
    let (n, events) = subscribed(&h).await;
    assert_eq!(n, 8);
    assert!(!events.contains(&"DISPATCHED".to_string()), "{events:?}");
    h.update_installation(|i| i.spec.sync.order_dispatch_sync_enabled = true);
    let (n, events) = subscribed(&h).await;
    assert_eq!((n, events.len()), (9, 9), "{events:?}");
    assert!(events.contains(&"DISPATCHED".to_string()), "{events:?}");
    // Off again: a new start subscribes without it (the old ones for the URL are replaced).
    h.update_installation(|i| i.spec.sync.order_dispatch_sync_enabled = false);
    let (_, events) = subscribed(&h).await;
    assert!(!events.contains(&"DISPATCHED".to_string()), "{events:?}");
}

async fn a_staging_account_creates_its_services_under_streamtech(backend: Backend) {
    let h = Harness::start_with(
        backend,
        support::sync::Options {
            master_data: false,
            ..support::sync::Options::default()
        },
    )
    .await;
    h.update_installation(|i| {
        i.spec.stream.environment = linnstream::crd::installation::StreamEnvironment::Staging
    });
    let summary =
        linnstream::sync::sync_postal_services(&RunContext::new(&h.engine, &h.key, "md", ACTOR))
            .await
            .expect("postal services");
    assert!(summary.created > 0, "{summary:?}");
    let clients = h.engine.clients(&h.installation()).expect("clients");
    let services = clients
        .linnworks
        .get_postal_services()
        .await
        .expect("services");
    let created: Vec<&str> = services
        .iter()
        .filter(|s| {
            s.service
                .postal_service_code
                .as_deref()
                .is_some_and(|c| c.starts_with("STREAM:"))
        })
        .map(|s| s.service.vendor.as_str())
        .collect();
    assert_eq!(created.len(), summary.created, "{created:?}");
    assert!(created.iter().all(|v| *v == "STREAMTECH"), "{created:?}");
    // Orders on a STREAMTECH service are the integration's: a mapped one is sent.
    let stream_service = services
        .iter()
        .find(|s| s.service.postal_service_code.as_deref() == Some("STREAM:NORTH:NTH-2MAN"))
        .expect("the NORTH two-man service");
    let name = stream_service.service.postal_service_name.clone();
    h.update_installation(|i| {
        i.mappings[0].spec.postal_service.name = Some(name.clone());
    });
    let sent = ship(
        &h,
        vec![NewOrder {
            postal_service_name: Some(name.clone()),
            customer: Some(customer("Noah Reid", "5 Castle Street", "York", "YO1 9RN")),
            ..NewOrder::default()
        }],
    )
    .await;
    assert_eq!(sent[0].status, OrderStatus::Completed, "{:?}", sent[0]);
    assert_eq!(
        h.lw_order(&sent[0])["ShippingInfo"]["Vendor"],
        "STREAMTECH",
        "the order ships under the staging vendor"
    );
}
