//! The admin API scenarios, each run on PostgreSQL and on SQLite.

use chrono::{Duration, Utc};
use linnstream::domain::JobOutcome;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Harness, NAME, NAMESPACE, TOKEN};
use crate::on_both_backends;

on_both_backends!(
    orders_are_listed_filtered_and_searched,
    an_order_shows_its_audit_trail,
    send_and_resend_keep_the_guides_limits,
    delete_refuses_other_statuses_and_deletes_completed,
    wrong_or_missing_credentials_get_401_and_no_data,
    bad_parameters_are_refused_naming_them,
    jobs_show_runs_and_flag_overdue_ones,
);

fn ids(list: &Value) -> Vec<String> {
    list["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["orderId"].as_str().expect("orderId").to_string())
        .collect()
}

fn a_leeds_customer_without_postcode() -> Value {
    json!({"fullName": "Pat Jones", "address1": "2 Mill Lane", "town": "Leeds",
           "postCode": "", "country": "United Kingdom", "email": "pat@example.com",
           "phone": "0113 496 0001"})
}

pub async fn orders_are_listed_filtered_and_searched(backend: Backend) {
    let h = Harness::start(backend).await;
    let (first, _) = h.sims.add_order(json!({"reference": "WEB-1001"})).await;
    let (second, second_num) = h.sims.add_order(json!({"reference": "WEB-1002"})).await;
    let (invalid, _) = h
        .sims
        .add_order(
            json!({"reference": "WEB-1003", "customer": a_leeds_customer_without_postcode()}),
        )
        .await;

    let fetched = h.refetch().await;
    assert_eq!(fetched["summary"]["queued"], 2, "{fetched}");
    assert_eq!(fetched["summary"]["invalid"], 1, "{fetched}");
    assert_eq!(fetched["actor"], "admin");

    let (status, all) = h.get(&h.inst("orders")).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 3);
    assert_eq!(all["counts"]["pending"], 2);
    assert_eq!(all["counts"]["validationFailed"], 1);
    let listed = ids(&all);
    assert_eq!(listed.len(), 3);
    for id in [&first, &second, &invalid] {
        assert!(listed.contains(id), "{id} listed");
    }

    // Filter by status, in the guide's words or the stored name.
    for status_param in [
        "Validation%20Failed",
        "ValidationFailed",
        "validation%20failed",
    ] {
        let (status, failed) = h
            .get(&h.inst(&format!("orders?status={status_param}")))
            .await;
        assert_eq!(status, StatusCode::OK, "{failed}");
        assert_eq!(ids(&failed), vec![invalid.clone()]);
        let order = &failed["orders"][0];
        assert_eq!(order["status"], "Validation Failed");
        assert_eq!(order["reference"], "WEB-1003");
        let reason = order["lastError"].as_str().expect("the reason is shown");
        assert!(
            reason.starts_with("Missing delivery address fields") && reason.contains("Postcode"),
            "{reason}"
        );
    }

    // Search by reference (part of it, any case), by number, by id.
    let (_, by_ref) = h.get(&h.inst("orders?search=web-1002")).await;
    assert_eq!(ids(&by_ref), vec![second.clone()]);
    let (_, by_num) = h.get(&h.inst(&format!("orders?search={second_num}"))).await;
    assert_eq!(ids(&by_num), vec![second.clone()]);
    let (_, by_id) = h.get(&h.inst(&format!("orders?search={first}"))).await;
    assert_eq!(ids(&by_id), vec![first.clone()]);
    let (_, none) = h.get(&h.inst("orders?search=NOPE-9")).await;
    assert_eq!(none["total"], 0);

    // Paging: newest first, with the total.
    let (_, page1) = h.get(&h.inst("orders?limit=2")).await;
    let (_, page2) = h.get(&h.inst("orders?limit=2&offset=2")).await;
    assert_eq!(page1["total"], 3);
    assert_eq!(ids(&page1).len(), 2);
    assert_eq!(ids(&page2).len(), 1);
    let mut both = [ids(&page1), ids(&page2)].concat();
    both.sort();
    let mut expected = listed.clone();
    expected.sort();
    assert_eq!(both, expected);

    // The installation list carries the queue counts.
    let (status, list) = h.get("/api/admin/installations").await;
    assert_eq!(status, StatusCode::OK);
    let inst = &list["installations"][0];
    assert_eq!(inst["id"], format!("{NAMESPACE}/{NAME}"));
    assert_eq!(inst["queue"]["pending"], 2);
    assert_eq!(inst["queue"]["validationFailed"], 1);
    assert_eq!(inst["webhooks"]["pending"], 0);

    // An unknown installation or order is a 404 with a message.
    let (status, body) = h.get("/api/admin/installations/shop/nobody/orders").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("shop/nobody"))
    );
    let (status, body) = h.get(&h.inst("orders/not-an-order")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

pub async fn an_order_shows_its_audit_trail(backend: Backend) {
    let h = Harness::start(backend).await;
    let (order_id, _) = h.sims.add_order(json!({"reference": "WEB-2001"})).await;
    let fetch = h.refetch().await;
    let (status, sent) = h
        .post_as(
            &h.inst("orders/send"),
            json!({"orderIds": [order_id]}),
            Some("Alice"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["actor"], "Alice (token admin)");
    assert_eq!(sent["outcomes"][0]["status"], "Completed", "{sent}");
    assert_eq!(sent["outcomes"][0]["ok"], true);
    let correlation = sent["correlationId"].as_str().expect("correlation id");
    assert_ne!(
        correlation,
        fetch["correlationId"].as_str().expect("fetch id")
    );

    let detail = h.order(&order_id).await;
    let order = &detail["order"];
    assert_eq!(order["status"], "Completed");
    assert_eq!(order["reference"], "WEB-2001");
    for field in [
        "streamOrderId",
        "consignmentNo",
        "trackingNumber",
        "trackingUrl",
    ] {
        assert!(
            order[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} is shown: {order}"
        );
    }
    // This Linnworks has no "Sent to Stream" identifier (master data never ran), so the
    // write-back cannot finish: the order says so, and a later send cycle retries it.
    assert_eq!(order["writeBackPending"], true, "{order}");
    assert!(order["writtenBackAt"].is_null(), "{order}");
    let lw: Value = reqwest::get(format!("{}/_sim/orders/{order_id}", h.sims.linnworks.url()))
        .await
        .expect("sim reachable")
        .json()
        .await
        .expect("json");
    assert_eq!(
        lw["ShippingInfo"]["TrackingNumber"], order["trackingNumber"],
        "the tracking number itself did reach Linnworks: {lw}"
    );
    assert_eq!(
        order["linnworks"]["OrderId"],
        order_id.as_str(),
        "the fetched order"
    );
    let trail = detail["audit"].as_array().expect("audit trail");
    let send = trail
        .iter()
        .find(|e| e["action"] == "Send")
        .expect("the send is in the trail");
    assert_eq!(send["outcome"], "Success");
    assert_eq!(send["correlationId"], correlation);
    assert_eq!(send["actor"], "Alice (token admin)");
    assert!(trail.iter().all(|e| e["orderId"] == order_id.as_str()));

    // The audit log by correlation id shows exactly that action.
    let (status, by_correlation) = h
        .get(&h.inst(&format!("audit?correlationId={correlation}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_correlation}");
    let entries = by_correlation["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["correlationId"] == correlation));
    // ... and by action: the fetch, done by the token's holder.
    let (_, fetches) = h.get(&h.inst("audit?action=Fetch")).await;
    let fetches = fetches["entries"].as_array().expect("entries");
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0]["actor"], "admin");
    assert_eq!(fetches[0]["correlationId"], fetch["correlationId"]);
    // A time window after everything is empty; one around it is not.
    let later = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let (_, empty) = h
        .get(&h.inst(&format!("audit?from={}", urlencode(&later))))
        .await;
    assert_eq!(empty["entries"].as_array().map(Vec::len), Some(0));
    let (_, today) = h
        .get(&h.inst(&format!(
            "audit?from={}&limit=1",
            Utc::now().date_naive().format("%Y-%m-%d")
        )))
        .await;
    assert_eq!(today["entries"].as_array().map(Vec::len), Some(1));
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

pub async fn send_and_resend_keep_the_guides_limits(backend: Backend) {
    let h = Harness::start_with(backend, false).await;
    let mut orders = Vec::new();
    for i in 0..6 {
        orders.push(
            h.sims
                .add_order(json!({"reference": format!("WEB-30{i}")}))
                .await
                .0,
        );
    }
    h.refetch().await;

    // Six is one more than MaxUserSelectedOrders (5): refused, nothing sent.
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": orders}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"],
        "Too many orders selected: 6 orders selected, the maximum is 5; reduce the selection"
    );
    assert_eq!(body["parameter"], "orderIds");
    assert!(
        h.sims.stream_orders().await.is_empty(),
        "nothing reached Stream"
    );

    // Stream refuses the first one: it is Failed with Stream's status and message.
    h.sims.refuse_stream_orders(400, 1).await;
    let (status, sent) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [orders[0]]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["outcomes"][0]["status"], "Failed", "{sent}");
    assert_eq!(sent["outcomes"][0]["ok"], false);
    let failed = h.order(&orders[0]).await;
    assert_eq!(failed["order"]["status"], "Failed");
    assert_eq!(failed["order"]["lastHttpStatus"], 400);
    assert!(
        failed["order"]["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );

    // Resending a Pending order is refused whole, with the failed one beside it: nothing
    // changes, and the refusal is audited with who tried.
    let (status, refused) = h
        .post_as(
            &h.inst("orders/resend"),
            json!({"orderIds": [orders[0], orders[1]]}),
            Some("bob"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let message = refused["error"].as_str().expect("message");
    assert!(
        message.starts_with("Only Failed orders can be resent"),
        "{message}"
    );
    assert!(
        message.contains(&format!("order {} is Pending", orders[1])),
        "{message}"
    );
    assert_eq!(h.status_of(&orders[0]).await, "Failed");
    assert_eq!(h.status_of(&orders[1]).await, "Pending");
    let correlation = refused["correlationId"].as_str().expect("correlation id");
    let (_, audit) = h
        .get(&h.inst(&format!("audit?correlationId={correlation}")))
        .await;
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "Resend");
    assert_eq!(entries[0]["outcome"], "Failure");
    assert_eq!(entries[0]["actor"], "bob (token admin)");
    assert_eq!(entries[0]["orderId"], orders[1].as_str());

    // Resending the Failed order sends it: Completed, with tracking.
    let (status, resent) = h
        .post(&h.inst("orders/resend"), json!({"orderIds": [orders[0]]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    assert_eq!(resent["action"], "resend");
    assert_eq!(resent["outcomes"][0]["status"], "Completed", "{resent}");
    let done = h.order(&orders[0]).await;
    assert_eq!(done["order"]["status"], "Completed");
    assert!(done["order"]["trackingNumber"].as_str().is_some());
    assert_eq!(h.sims.stream_orders().await.len(), 1);

    // Sending a Completed order again is reported, not repeated.
    let (status, again) = h
        .post(
            &h.inst("orders/send"),
            json!({"orderIds": [orders[0], orders[0]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["outcomes"].as_array().map(Vec::len),
        Some(1),
        "duplicates dropped"
    );
    assert_eq!(again["outcomes"][0]["ok"], false);
    assert_eq!(h.sims.stream_orders().await.len(), 1);
}

pub async fn delete_refuses_other_statuses_and_deletes_completed(backend: Backend) {
    let h = Harness::start_with(backend, false).await;
    let (pending, _) = h.sims.add_order(json!({"reference": "WEB-4001"})).await;
    let (completed, _) = h.sims.add_order(json!({"reference": "WEB-4002"})).await;
    h.refetch().await;
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [completed]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.status_of(&completed).await, "Completed");

    // A Pending order cannot be deleted: the guide's message, and nothing changes.
    let (status, refused) = h
        .post_as(
            &h.inst("orders/delete"),
            json!({"orderIds": [pending]}),
            Some("carol"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        refused["error"],
        format!(
            "Only Completed orders can be deleted; Pending, Failed or In Progress orders cannot be deleted (order {pending} is Pending)"
        )
    );
    assert_eq!(refused["outcomes"][0]["ok"], false);
    assert_eq!(h.status_of(&pending).await, "Pending");
    let trail = h.order(&pending).await["audit"].clone();
    let refusal = trail
        .as_array()
        .and_then(|t| t.iter().find(|e| e["action"] == "Delete"))
        .expect("the refusal is audited")
        .clone();
    assert_eq!(refusal["outcome"], "Failure");
    assert_eq!(refusal["actor"], "carol (token admin)");

    // With a Completed order in the selection too, the whole selection is refused.
    let (status, _) = h
        .post(
            &h.inst("orders/delete"),
            json!({"orderIds": [completed, pending]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(h.status_of(&completed).await, "Completed");

    // Eleven is one more than MaxUserSelectedOrdersForDelete (10).
    let eleven: Vec<String> = (0..11).map(|i| format!("order-{i}")).collect();
    let (status, body) = h
        .post(&h.inst("orders/delete"), json!({"orderIds": eleven}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e
                .starts_with("Too many orders selected: 11 orders selected, the maximum is 10")),
        "{body}"
    );

    // Deleting the Completed order removes it from Stream and marks it Deleted.
    let (status, deleted) = h
        .post(&h.inst("orders/delete"), json!({"orderIds": [completed]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["outcomes"][0]["status"], "Deleted");
    assert_eq!(deleted["outcomes"][0]["ok"], true);
    assert_eq!(h.status_of(&completed).await, "Deleted");
    let stream = h.sims.stream_orders().await;
    assert_eq!(stream.len(), 1);
    assert_eq!(stream[0]["deleted"], true, "{stream:?}");
}

pub async fn wrong_or_missing_credentials_get_401_and_no_data(backend: Backend) {
    let h = Harness::start(backend).await;
    let (order_id, _) = h.sims.add_order(json!({"reference": "SECRET-REF-1"})).await;
    h.refetch().await;
    let paths = [
        "/api/admin/installations".to_string(),
        h.inst("orders"),
        h.inst(&format!("orders/{order_id}")),
        h.inst("audit"),
        h.inst("jobs"),
        h.inst("webhooks"),
        "/api/admin/no-such-call".to_string(),
    ];
    let wrong = format!("{TOKEN}x");
    for path in &paths {
        for auth in [
            None,
            Some(format!("Bearer {wrong}")),
            Some(format!("Basic {TOKEN}")),
            Some(TOKEN.to_string()),
        ] {
            let mut request = h.http.get(h.url(path));
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            let r = request.send().await.expect("answers");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path} with {auth:?}");
            assert!(r.headers().get("www-authenticate").is_some());
            let text = r.text().await.expect("body");
            let body: Value = serde_json::from_str(&text).expect("a JSON error");
            assert!(body["error"].is_string(), "{text}");
            assert!(
                !text.contains("SECRET-REF-1") && !text.contains(&order_id),
                "{text}"
            );
            assert!(!text.contains(TOKEN), "the token is never echoed");
        }
    }
    // Actions without the token do nothing.
    let r = h
        .http
        .post(h.url(&h.inst("orders/send")))
        .json(&json!({"orderIds": [order_id]}))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.status_of(&order_id).await, "Pending");
    assert!(h.sims.stream_orders().await.is_empty());
    // A forged session cookie is no better.
    let r = h
        .http
        .get(h.url(&h.inst("orders")))
        .header(
            "Cookie",
            "linnstream_admin_session=v1.9999999999.YWRtaW4..AAAA.AAAA",
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

pub async fn bad_parameters_are_refused_naming_them(backend: Backend) {
    let h = Harness::start(backend).await;
    let cases = [
        ("orders?status=Shipped", "status"),
        ("orders?limit=0", "limit"),
        ("orders?limit=501", "limit"),
        ("orders?offset=-1", "offset"),
        ("orders?limit=ten", "limit"),
        ("orders?stauts=Pending", "stauts"),
        ("orders?status=Pending&status=Failed", "status"),
        ("audit?from=yesterday", "from"),
        ("audit?to=2026-13-01", "to"),
        ("audit?from=2026-06-02&to=2026-06-01", "to"),
        ("audit?action=Teleport", "action"),
        ("audit?limit=1001", "limit"),
        ("webhooks?status=Lost", "status"),
        ("jobs?verbose=1", "verbose"),
    ];
    for (path, parameter) in cases {
        let (status, body) = h.get(&h.inst(path)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        let message = body["error"].as_str().expect("message");
        assert!(
            message.starts_with(&format!("{parameter}: ")),
            "{path}: {message}"
        );
    }
    let (_, body) = h.get(&h.inst("orders?status=Shipped")).await;
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("expected one of: Pending, In Progress, Completed")),
        "{body}"
    );

    // Bodies: the field at fault is named; a non-JSON body is refused.
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": []}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "orderIds: select at least one order");
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": ["ok", " "]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["parameter"], "orderIds[1]");
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orders": ["x"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown field `orders`")),
        "{body}"
    );
    let r = h
        .http
        .post(h.url(&h.inst("orders/delete")))
        .bearer_auth(TOKEN)
        .body("orderIds=x")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

pub async fn jobs_show_runs_and_flag_overdue_ones(backend: Backend) {
    let h = Harness::start(backend).await;
    let store = &h.db.store;
    let inst = format!("{NAMESPACE}/{NAME}");
    let now = Utc::now();
    // Fetch ran a minute ago; identifiers last succeeded three days ago and failed last night.
    store
        .record_job_run(
            &inst,
            "fetch-orders",
            now - Duration::minutes(1),
            now - Duration::seconds(55),
            JobOutcome::Succeeded,
            "3 open orders, 3 for Stream: 3 queued, 0 failed validation, 0 corrected",
        )
        .await
        .expect("record");
    store
        .record_job_run(
            &inst,
            "sync-master-data-identifiers",
            now - Duration::days(3),
            now - Duration::days(3),
            JobOutcome::Succeeded,
            "identifiers registered",
        )
        .await
        .expect("record");
    store
        .record_job_run(
            &inst,
            "sync-master-data-identifiers",
            now - Duration::hours(8),
            now - Duration::hours(8),
            JobOutcome::Failed,
            "Linnworks answered 503",
        )
        .await
        .expect("record");
    store
        .set_next_run(&inst, "fetch-orders", now + Duration::minutes(4))
        .await
        .expect("next run");
    // Webhook processing is disabled for this installation: never overdue.
    store
        .set_next_run(&inst, "process-webhooks", now - Duration::days(1))
        .await
        .expect("next run");

    let (status, body) = h.get(&h.inst("jobs")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jobs = body["jobs"].as_array().expect("jobs");
    let job = |name: &str| {
        jobs.iter()
            .find(|j| j["job"] == name)
            .unwrap_or_else(|| panic!("{name} listed: {body}"))
            .clone()
    };
    assert_eq!(jobs.len(), 6, "every job, master data and pruning included");
    let fetch = job("fetch-orders");
    assert_eq!(fetch["overdue"], false, "{fetch}");
    assert_eq!(fetch["lastRun"]["outcome"], "Succeeded");
    assert!(fetch["nextRunAt"].is_string());
    assert_eq!(fetch["schedule"], "every 5m");
    let identifiers = job("sync-master-data-identifiers");
    assert_eq!(identifiers["overdue"], true, "{identifiers}");
    assert_eq!(identifiers["lastRun"]["outcome"], "Failed");
    let reason = identifiers["overdueReason"].as_str().expect("reason");
    assert!(
        reason.contains("more than twice its period of 1d"),
        "{reason}"
    );
    assert!(
        reason.ends_with("failed: Linnworks answered 503"),
        "{reason}"
    );
    let webhooks = job("process-webhooks");
    assert_eq!(webhooks["enabled"], false);
    assert_eq!(webhooks["overdue"], false);
    // Never ran, and no worker has been scheduling it: nothing to compare with yet.
    assert_eq!(job("sync-master-data-postal-services")["overdue"], false);

    // The installation list names the overdue jobs.
    let (_, list) = h.get("/api/admin/installations").await;
    assert_eq!(
        list["installations"][0]["overdueJobs"],
        json!(["sync-master-data-identifiers"])
    );

    // The worker loops scheduling the installation are listed, live while they beat.
    store
        .heartbeat("worker-1/shop/acme", "run", Some(&inst))
        .await
        .expect("heartbeat");
    let (_, body) = h.get(&h.inst("jobs")).await;
    assert_eq!(body["workers"][0]["live"], true, "{body}");
}
