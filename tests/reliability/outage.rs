//! Stream outages: while Stream answers 503 or refuses connections, orders wait in the queue
//! behind the account's circuit breaker without using up their retries; when Stream is back
//! every order reaches it once, with no human action. A permanent refusal still fails after
//! MaxRetryAttempts.

use linnstream::sync::RunContext;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::sync::{ACTOR, Harness, PLAIN_SERVICE};
use linnstream::domain::OrderStatus;
use linnstream::server::admin::{AdminAuth, admin_router};
use linnstream::sim::kit::{RunningServer, serve_loopback};
use linnstream::sim::linnworks::NewOrder;
use linnstream::store::Order;
use linnstream::sync::{AccountKey, BreakerPolicy, BreakerView, SendSummary, send_cycle};

const ORDERS: usize = 6;

/// Short pauses, so a test sees the breaker open, probe and close within a second.
fn fast_breaker(h: &Harness) {
    h.engine.breakers().set_policy(BreakerPolicy {
        failure_threshold: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(400),
        jitter: 0.2,
    });
}

async fn queue_orders(h: &Harness, n: usize) -> Vec<String> {
    let ids = h
        .linnworks
        .add_orders(
            (0..n)
                .map(|_| NewOrder {
                    postal_service_name: Some(PLAIN_SERVICE.into()),
                    ..NewOrder::default()
                })
                .collect(),
        )
        .expect("add orders");
    let fetched = linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "outage", ACTOR))
        .await
        .expect("fetch");
    assert_eq!(fetched.queued, n, "{fetched:?}");
    ids.iter().map(ToString::to_string).collect()
}

async fn orders(h: &Harness, ids: &[String]) -> Vec<Order> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            h.db.store
                .order(&h.key.id(), id)
                .await
                .expect("store")
                .expect("queued"),
        );
    }
    out
}

async fn fault(h: &Harness, fault: Value) {
    let reply = h
        .http
        .post(format!("{}/_sim/faults", h.stream_url))
        .json(&fault)
        .send()
        .await
        .expect("Stream simulator");
    assert!(reply.status().is_success(), "fault refused");
}

async fn clear_faults(h: &Harness) {
    h.http
        .delete(format!("{}/_sim/faults", h.stream_url))
        .send()
        .await
        .expect("Stream simulator");
}

const ADMIN_TOKEN: &str = "reliability-admin-token-0123456789";

/// The admin API over the harness's engine, as `run` serves it.
async fn admin(h: &Harness) -> RunningServer {
    let auth = AdminAuth::single(ADMIN_TOKEN).expect("admin token");
    serve_loopback(admin_router(h.engine.clone(), auth))
        .await
        .expect("serve the admin API")
}

/// The breaker as the admin API shows it: on the installations view and the scheduler view.
async fn admin_breaker(h: &Harness, admin: &RunningServer) -> (Value, Value) {
    let get = |path: String| async move {
        let reply = h
            .http
            .get(format!("{}/api/admin{path}", admin.url()))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin API");
        assert!(reply.status().is_success(), "{path}: {}", reply.status());
        reply.json::<Value>().await.expect("json")
    };
    let installations = get("/installations".into()).await;
    let jobs = get(format!(
        "/installations/{}/{}/jobs",
        h.key.namespace, h.key.name
    ))
    .await;
    (
        installations["installations"][0]["streamBreaker"].clone(),
        jobs["streamBreaker"].clone(),
    )
}

fn breaker(h: &Harness) -> BreakerView {
    h.engine.breakers().view(&AccountKey::of(&h.installation()))
}

async fn cycle(h: &Harness) -> SendSummary {
    send_cycle(&RunContext::new(&h.engine, &h.key, "outage", ACTOR))
        .await
        .expect("a send cycle during an outage still succeeds")
}

/// Nothing a person would have to fix: no order Failed, none tagged "Error from Stream".
async fn assert_waiting(h: &Harness, ids: &[String], when: &str) {
    for order in orders(h, ids).await {
        assert!(
            matches!(
                order.status,
                OrderStatus::Pending | OrderStatus::ReadyForRetry
            ),
            "{when}: {order:?}"
        );
        assert_eq!(order.retries_made(), 0, "{when}: retries used: {order:?}");
        assert!(
            !h.tags(&order).contains(&"ERROR_FROM_STREAM".to_string()),
            "{when}: tagged Error from Stream"
        );
    }
}

async fn stream_down_for_ten_cycles_then_back_completes_every_order_once(backend: Backend) {
    let h = Harness::start(backend).await;
    fast_breaker(&h);
    let admin = admin(&h).await;
    let ids = queue_orders(&h, ORDERS).await;
    let account = h.installation();

    // Six cycles of 503s; the first create of the outage lands in Stream but its reply is
    // lost (the connection drops), so the order must later be found, not created again.
    fault(
        &h,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "drop", "times": 1}),
    )
    .await;
    fault(
        &h,
        json!({"path": "/api/*", "kind": "status", "status": 503}),
    )
    .await;
    let mut paused_cycles = 0;
    let mut seen_open = false;
    for n in 1..=6 {
        let s = cycle(&h).await;
        assert_eq!((s.completed, s.failed), (0, 0), "cycle {n}: {s:?}");
        paused_cycles += usize::from(s.paused_until.is_some());
        // Two reads, so the pause may end in between: each view is judged on its own.
        let (listed, scheduler) = admin_breaker(&h, &admin).await;
        for view in [&listed, &scheduler] {
            let state = view["state"].as_str().unwrap_or_default();
            assert!(["open", "halfOpen", "closed"].contains(&state), "{view}");
            if state == "open" {
                seen_open = true;
                assert!(view["openUntil"].is_string(), "{view}");
                assert!(view["failures"].as_u64() >= Some(3), "{view}");
                assert!(
                    view["lastError"]
                        .as_str()
                        .is_some_and(|e| e.contains("503")),
                    "{view}"
                );
            }
        }
        assert_waiting(&h, &ids, &format!("503 cycle {n}")).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let view = breaker(&h);
    assert!(
        seen_open,
        "the admin API showed the breaker open during the outage"
    );
    assert!(view.failures >= 3, "{view:?}");
    assert!(
        view.last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{view:?}"
    );

    // Four cycles of refused connections (Stream's address stops answering).
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let real_url = account.spec.stream.client_url.clone();
    h.update_installation(|i| i.spec.stream.client_url = format!("http://127.0.0.1:{dead}/api"));
    for n in 7..=10 {
        let s = cycle(&h).await;
        assert_eq!((s.completed, s.failed), (0, 0), "cycle {n}: {s:?}");
        paused_cycles += usize::from(s.paused_until.is_some());
        assert_waiting(&h, &ids, &format!("refused cycle {n}")).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(paused_cycles > 0, "some cycles were paused by the breaker");
    assert!(
        breaker(&h)
            .last_error
            .is_some_and(|e| e.contains("connect")),
        "refused connections are what the breaker saw last"
    );

    // Stream is back: no one touches anything, cycles keep running.
    clear_faults(&h).await;
    h.update_installation(|i| i.spec.stream.client_url = real_url.clone());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        cycle(&h).await;
        let all = orders(&h, &ids).await;
        if all.iter().all(|o| o.status == OrderStatus::Completed) {
            break;
        }
        assert!(Instant::now() < deadline, "not all Completed: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(breaker(&h).state, "closed", "{:?}", breaker(&h));
    let (listed, scheduler) = admin_breaker(&h, &admin).await;
    assert_eq!(
        (&listed["state"], &scheduler["state"]),
        (&json!("closed"), &json!("closed"))
    );

    let in_stream = h.stream_orders().await;
    assert_eq!(in_stream.len(), ORDERS, "exactly one Stream order each");
    for order in orders(&h, &ids).await {
        let matching = in_stream
            .iter()
            .filter(|s| s["orderNo"].as_str() == order.stream_order_id.as_deref())
            .count();
        assert_eq!(matching, 1, "{order:?}");
        assert_eq!(order.retries_made(), 0, "attempts not used up: {order:?}");
        let lw = h.lw_order(&order);
        assert_eq!(
            lw["ShippingInfo"]["TrackingNumber"].as_str(),
            order.tracking_number.as_deref(),
            "tracking number in Linnworks"
        );
        let tags = h.tags(&order);
        assert!(tags.contains(&"SENT_TO_STREAM".to_string()), "{tags:?}");
        assert!(!tags.contains(&"ERROR_FROM_STREAM".to_string()), "{tags:?}");
    }
}

async fn a_permanent_refusal_still_fails_after_max_retry_attempts(backend: Backend) {
    let h = Harness::start(backend).await;
    fast_breaker(&h);
    let ids = queue_orders(&h, 1).await;
    fault(
        &h,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 400}),
    )
    .await;
    let max = h.engine.settings().max_retry_attempts;
    for _ in 0..=max + 2 {
        cycle(&h).await;
    }
    let order = orders(&h, &ids).await.remove(0);
    assert_eq!(order.status, OrderStatus::Failed, "{order:?}");
    assert_eq!(
        order.attempts,
        max + 1,
        "first send plus MaxRetryAttempts retries"
    );
    assert_eq!(order.last_http_status, Some(400));
    assert!(h.tags(&order).contains(&"ERROR_FROM_STREAM".to_string()));
    assert_eq!(
        breaker(&h).state,
        "closed",
        "a refusal shows Stream is up: nothing is paused"
    );
    assert!(h.stream_orders().await.is_empty());
}

on_both_backends!(
    stream_down_for_ten_cycles_then_back_completes_every_order_once,
    a_permanent_refusal_still_fails_after_max_retry_attempts,
);
