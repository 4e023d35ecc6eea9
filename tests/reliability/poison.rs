//! Orders Linnworks holds with text the queue cannot store as it is: each is refused on its
//! own (Validation Failed, naming the field) while the rest of the page reaches Stream.

use linnstream::sync::RunContext;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::sync::{ACTOR, Harness, PLAIN_SERVICE};
use linnstream::domain::OrderStatus;
use linnstream::server::admin::{AdminAuth, admin_router};
use linnstream::sim::kit::serve_loopback;

/// A customer address that passes validation; `address1` as given.
fn customer(address1: &str) -> Value {
    json!({
        "fullName": "Ann Example", "address1": address1, "town": "Leeds",
        "postCode": "LS1 4AB", "country": "United Kingdom",
        "email": "ann@example.com", "phone": "+44 113 496 0001",
    })
}

/// Posts orders to the Linnworks simulator's `/_sim/orders` as raw JSON text (so it can
/// carry escapes no Rust string holds) and returns their ids.
async fn add_raw_orders(h: &Harness, body: String) -> Vec<String> {
    let reply = h
        .http
        .post(format!("{}/_sim/orders", h.linnworks_url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("Linnworks simulator");
    let status = reply.status();
    let text = reply.text().await.expect("body");
    assert!(
        status.is_success(),
        "{status}: {}",
        &text[..text.len().min(300)]
    );
    let orders: Vec<Value> =
        serde_json::from_str(&linnstream::remote::text::mark_lone_surrogates(&text))
            .expect("the simulator answers JSON");
    orders
        .iter()
        .map(|o| o["OrderId"].as_str().expect("OrderId").to_string())
        .collect()
}

async fn a_poisoned_order_is_refused_alone_and_the_rest_reach_stream(backend: Backend) {
    let h = Harness::start(backend).await;
    let good = |n: usize| json!({"postalServiceName": PLAIN_SERVICE, "customer": customer(&format!("{n} Good Street"))});
    let mut orders = vec![good(1), good(2)];
    // A clean billing address, so correcting the delivery address is all it takes.
    let nul = json!({
        "postalServiceName": PLAIN_SERVICE,
        "customer": customer("1 High\u{0}Street"),
        "billingAddress": customer("1 High Street"),
    });
    orders.push(nul);
    orders.push(good(3));
    let long = json!({
        "postalServiceName": PLAIN_SERVICE,
        "customer": customer("2 Long Lane"),
        "items": [{"sku": "BIG", "title": "x".repeat(1 << 20), "quantity": 1, "weight": 1.0}],
    });
    orders.push(long);
    orders.push(good(4));
    // The lone surrogate cannot be built as a Rust string: it goes in as JSON text.
    let mut body = serde_json::to_string(&orders).expect("json");
    let surrogate =
        json!({"postalServiceName": PLAIN_SERVICE, "customer": customer("3 SURROGATE Road")});
    let surrogate = serde_json::to_string(&surrogate)
        .expect("json")
        .replace("SURROGATE", "\\ud800");
    body.insert_str(body.len() - 1, &format!(",{surrogate}"));
    let ids = add_raw_orders(&h, body).await;
    assert_eq!(ids.len(), 7);
    let (nul_id, long_id, surrogate_id) = (&ids[2], &ids[4], &ids[6]);
    let good_ids: Vec<&String> = [0, 1, 3, 5].iter().map(|&i| &ids[i]).collect();

    // The fetch succeeds and counts the three.
    let summary = linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
        .await
        .expect("the fetch succeeds despite the poisoned orders");
    assert_eq!(summary.relevant, 7, "{summary:?}");
    assert_eq!(summary.queued, 4, "{summary:?}");
    assert_eq!(summary.bad_data, 3, "{summary:?}");

    // Sending: every good order completes.
    for _ in 0..3 {
        linnstream::sync::send_cycle(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
            .await
            .expect("send");
    }
    let store = &h.db.store;
    let in_stream = h.stream_orders().await.len();
    assert_eq!(in_stream, 4, "exactly the four good orders reached Stream");
    for id in &good_ids {
        let order = store
            .order(&h.key.id(), id)
            .await
            .expect("store")
            .expect("queued");
        assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
        let lw = h.lw_order(&order);
        let tracking = lw["ShippingInfo"]["TrackingNumber"].as_str().unwrap_or("");
        assert_eq!(
            Some(tracking),
            order.tracking_number.as_deref(),
            "tracking in Linnworks"
        );
        assert!(!tracking.is_empty());
    }

    // Each poisoned order is Validation Failed, named by its field.
    let expect = [
        (
            nul_id,
            "CustomerInfo.Address.Address1 contains a NUL character",
        ),
        (long_id, "Items[0].Title is 1048576 characters long"),
        (
            surrogate_id,
            "CustomerInfo.Address.Address1 contains an unpaired UTF-16 surrogate",
        ),
    ];
    for (id, reason) in expect {
        let order = store
            .order(&h.key.id(), id)
            .await
            .expect("store")
            .expect("the poisoned order is queued so someone sees it");
        assert_eq!(order.status, OrderStatus::ValidationFailed, "{order:?}");
        let error = order.last_error.as_deref().unwrap_or("");
        assert!(error.contains(reason), "{reason:?} not in {error:?}");
        assert!(
            h.tags(&order).contains(&"ERROR_FROM_STREAM".to_string()),
            "tagged Error from Stream in Linnworks"
        );
    }

    // The manual re-fetch (admin API, dashboard) answers success and changes nothing.
    let token = "reliability-admin-token-0123456789";
    let admin = serve_loopback(admin_router(
        h.engine.clone(),
        AdminAuth::single(token).expect("admin token"),
    ))
    .await
    .expect("serve the admin API");
    let reply = h
        .http
        .post(format!(
            "{}/api/admin/installations/{}/{}/refetch",
            admin.url(),
            h.key.namespace,
            h.key.name
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("admin API");
    assert_eq!(reply.status().as_u16(), 200);
    let again: Value = reply.json().await.expect("json");
    let summary = &again["summary"];
    assert_eq!(
        (
            &summary["queued"],
            &summary["corrected"],
            &summary["badData"]
        ),
        (&json!(0), &json!(0), &json!(3)),
        "{again}"
    );

    // Corrected in Linnworks, the NUL order goes out on the next fetch and send.
    let fixed = h
        .http
        .patch(format!("{}/_sim/orders/{nul_id}", h.linnworks_url))
        .json(&json!({"customer": {"address1": "1 High Street"}}))
        .send()
        .await
        .expect("Linnworks simulator");
    assert!(fixed.status().is_success());
    let corrected = linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
        .await
        .expect("fetch");
    assert_eq!(corrected.corrected, 1, "{corrected:?}");
    linnstream::sync::send_cycle(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
        .await
        .expect("send");
    let order = store
        .order(&h.key.id(), nul_id)
        .await
        .expect("store")
        .expect("queued");
    assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
}

async fn an_order_poisoned_after_it_was_queued_fails_alone_at_send(backend: Backend) {
    let h = Harness::start(backend).await;
    let orders: Vec<Value> = (1..=3)
        .map(|n| json!({"postalServiceName": PLAIN_SERVICE, "customer": customer(&format!("{n} Good Street"))}))
        .collect();
    let ids = add_raw_orders(&h, serde_json::to_string(&orders).expect("json")).await;
    linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
        .await
        .expect("fetch");
    // Someone pastes a NUL into the address after the fetch queued it.
    let patched = h
        .http
        .patch(format!("{}/_sim/orders/{}", h.linnworks_url, ids[1]))
        .header("content-type", "application/json")
        .body(r#"{"customer": {"address1": "9 Bad\u0000Row"}}"#)
        .send()
        .await
        .expect("Linnworks simulator");
    assert!(patched.status().is_success());
    let sent = linnstream::sync::send_cycle(&RunContext::new(&h.engine, &h.key, "poison", ACTOR))
        .await
        .expect("the batch is sent despite the poisoned order");
    assert_eq!((sent.completed, sent.invalid), (2, 1), "{sent:?}");
    let bad =
        h.db.store
            .order(&h.key.id(), &ids[1])
            .await
            .expect("store")
            .expect("queued");
    assert_eq!(bad.status, OrderStatus::ValidationFailed);
    let error = bad.last_error.unwrap_or_default();
    assert!(
        error.contains("CustomerInfo.Address.Address1 contains a NUL character"),
        "{error}"
    );
}

on_both_backends!(
    a_poisoned_order_is_refused_alone_and_the_rest_reach_stream,
    an_order_poisoned_after_it_was_queued_fails_alone_at_send,
);
