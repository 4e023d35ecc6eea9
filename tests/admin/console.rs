//! The webhook events view and retry, the overview and the label preview, through the admin
//! API and the `linnstream webhook-events` command; each run on PostgreSQL and on SQLite.

use std::process::Output;

use linnstream::domain::LabelType;
use linnstream::labels::LabelSize;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Harness, NAME, NAMESPACE, TOKEN, png_size, seed_failed_webhook};
use crate::on_both_backends;

on_both_backends!(
    webhook_events_are_listed_filtered_and_a_failed_one_retried,
    the_overview_counts_and_buckets_and_the_label_preview_is_a_png,
    the_cli_lists_and_retries_webhook_events,
);

fn installation() -> String {
    format!("{NAMESPACE}/{NAME}")
}

fn event(list: &Value, id: i64) -> &Value {
    list["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("event {id} listed: {list}"))
}

pub async fn webhook_events_are_listed_filtered_and_a_failed_one_retried(backend: Backend) {
    let h = Harness::start(backend).await;
    let store = &h.db.store;
    let delivered = seed_failed_webhook(
        store,
        &installation(),
        "DELIVERED",
        "CN-7001",
        "Linnworks answered 500 adding the note",
    )
    .await;
    let planned = seed_failed_webhook(
        store,
        &installation(),
        "PLANNED",
        "CN-7002",
        "no such order",
    )
    .await;

    // The installations list says where Stream posts them.
    let (_, list) = h.get("/api/admin/installations").await;
    assert_eq!(
        list["installations"][0]["webhookPath"],
        format!("/webhooks/{NAMESPACE}/{NAME}"),
        "{list}"
    );

    // Every event with code, status, retries, last error and the orders concerned.
    let (status, all) = h.get(&h.inst("webhooks")).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["counts"]["failed"], 2, "{all}");
    let e = event(&all, delivered);
    assert_eq!(e["eventCode"], "DELIVERED");
    assert_eq!(e["status"], "Failed");
    assert_eq!(e["retryCount"], 1);
    assert_eq!(e["lastError"], "Linnworks answered 500 adding the note");
    assert_eq!(e["orders"], json!(["CN-7001"]));

    // Filters by code and by status (either spelling).
    let (status, by_code) = h.get(&h.inst("webhooks?code=PLANNED")).await;
    assert_eq!(status, StatusCode::OK, "{by_code}");
    let ids: Vec<&Value> = by_code["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, vec![&json!(planned)], "{by_code}");
    let (_, none) = h
        .get(&h.inst("webhooks?code=PLANNED&status=Processed"))
        .await;
    assert_eq!(none["events"], json!([]), "{none}");
    let (_, ready) = h.get(&h.inst("webhooks?status=ready%20for%20retry")).await;
    assert_eq!(ready["events"], json!([]), "{ready}");
    let (status, bad) = h.get(&h.inst("webhooks?status=Lost")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["parameter"], "status");
    let long = "X".repeat(65);
    let (status, bad) = h.get(&h.inst(&format!("webhooks?code={long}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["parameter"], "code");

    // Retry: the event is queued again with its retry count reset, audited with who did it.
    let (status, retried) = h
        .post_as(
            &h.inst(&format!("webhooks/{delivered}/retry")),
            json!({}),
            Some("Sam Support"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["event"]["status"], "Ready for Retry", "{retried}");
    assert_eq!(retried["event"]["retryCount"], 0);
    assert_eq!(retried["actor"], "Sam Support (token admin)");
    let correlation = retried["correlationId"].as_str().expect("correlation id");
    let (_, audit) = h
        .get(&h.inst(&format!("audit?correlationId={correlation}")))
        .await;
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "Webhook");
    assert_eq!(entries[0]["outcome"], "Success");
    assert_eq!(entries[0]["actor"], "Sam Support (token admin)");
    let message = entries[0]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("webhook event {delivered} (DELIVERED)"))
            && message.contains("queued for retry"),
        "{message}"
    );
    let (_, after) = h.get(&h.inst("webhooks")).await;
    assert_eq!(event(&after, delivered)["status"], "Ready for Retry");
    assert_eq!(after["counts"]["failed"], 1, "{after}");

    // Only a Failed event can be retried; the refusal is audited too.
    let (status, again) = h
        .post(&h.inst(&format!("webhooks/{delivered}/retry")), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("Only Failed webhook events can be retried")),
        "{again}"
    );
    let correlation = again["correlationId"].as_str().expect("correlation id");
    let (_, audit) = h
        .get(&h.inst(&format!("audit?correlationId={correlation}")))
        .await;
    assert_eq!(audit["entries"][0]["outcome"], "Failure", "{audit}");

    // Unknown ids, another installation's events and malformed ids are refused by name.
    let other = seed_failed_webhook(store, "shop/other", "DELIVERED", "CN-9", "x").await;
    for (id, want) in [
        (other.to_string(), StatusCode::NOT_FOUND),
        ("999999".to_string(), StatusCode::NOT_FOUND),
        ("abc".to_string(), StatusCode::BAD_REQUEST),
        ("-1".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = h
            .post(&h.inst(&format!("webhooks/{id}/retry")), json!({}))
            .await;
        assert_eq!(status, want, "retry {id}: {body}");
    }
    let (_, other_list) = h.get(&h.inst("webhooks")).await;
    assert_eq!(other_list["events"].as_array().map(Vec::len), Some(2));
}

pub async fn the_overview_counts_and_buckets_and_the_label_preview_is_a_png(backend: Backend) {
    let h = Harness::start_with(backend, false).await;
    let (sent, _) = h.sims.add_order(json!({"reference": "OV-1"})).await;
    let (sent_too, _) = h.sims.add_order(json!({"reference": "OV-2"})).await;
    let (refused, _) = h.sims.add_order(json!({"reference": "OV-3"})).await;
    let (waiting, _) = h.sims.add_order(json!({"reference": "OV-4"})).await;
    h.refetch().await;
    let (status, body) = h
        .post(
            &h.inst("orders/send"),
            json!({"orderIds": [sent, sent_too]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h.sims.refuse_stream_orders(400, 1).await;
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [refused]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    seed_failed_webhook(&h.db.store, &installation(), "DELIVERED", "CN-1", "x").await;

    let (status, o) = h.get(&h.inst("overview")).await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["queue"]["completed"], 2, "{o}");
    assert_eq!(o["queue"]["failed"], 1, "{o}");
    assert_eq!(o["queue"]["pending"], 1, "{o}");
    assert_eq!(o["failing"], 1);
    assert_eq!(o["failureRate"], 0.25);
    assert_eq!(o["sentLast24h"], 2);
    assert_eq!(o["sentLast7d"], 2);
    let hours = o["sentPerHour24h"].as_array().expect("24 h buckets");
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours[23]["sent"], 2,
        "the current hour holds both sends: {o}"
    );
    assert_eq!(o["sentPerHour7d"].as_array().map(Vec::len), Some(168));
    assert_eq!(o["webhooks"]["failed"], 1);
    assert_eq!(o["webhookBacklog"], 0);
    let jobs: Vec<&str> = o["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["job"].as_str())
        .collect();
    // Every scheduled job, the database-wide daily prune included.
    assert_eq!(
        jobs,
        [
            "fetch-orders",
            "send-orders",
            "process-webhooks",
            "sync-master-data-identifiers",
            "sync-master-data-postal-services",
            "prune-history"
        ],
        "{jobs:?}"
    );
    let (status, bad) = h.get(&h.inst("overview?hours=3")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    // The label preview: the PNG the gateway prints for a Completed order, at its size.
    let label = |order: &str| {
        h.http
            .get(h.url(&h.inst(&format!("orders/{order}/label.png"))))
            .bearer_auth(TOKEN)
            .send()
    };
    let r = label(&sent).await.expect("label preview answers");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let bytes = r.bytes().await.expect("png bytes");
    let size = LabelSize::of(LabelType::Default);
    assert_eq!(
        png_size(&bytes),
        Some((size.png_width(), size.png_height())),
        "a Default label PNG"
    );
    let decoded = image::load_from_memory(&bytes).expect("a decodable PNG");
    assert_eq!(decoded.width(), size.png_width());
    // Not Completed yet: no label, and the reason.
    let r = label(&waiting).await.expect("label preview answers");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("only Completed orders have a label")),
        "{body}"
    );
    let r = label("no-such-order").await.expect("label preview answers");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = h
        .http
        .get(h.url(&h.inst(&format!("orders/{sent}/label.png"))))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token, no label");
}

async fn linnstream(h: &Harness, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(args)
        .arg("--server")
        .arg(h.admin.url())
        .env("LINNSTREAM_ADMIN_TOKEN", TOKEN)
        .env("LINNSTREAM_INSTALLATION", installation())
        .env("LINNSTREAM_USER", "cli-tester")
        .env_remove("LINNSTREAM_SERVER")
        .output()
        .await
        .expect("run linnstream")
}

pub async fn the_cli_lists_and_retries_webhook_events(backend: Backend) {
    let h = Harness::start(backend).await;
    let id = seed_failed_webhook(
        &h.db.store,
        &installation(),
        "DELIVERED",
        "CN-8001",
        "Linnworks answered 500",
    )
    .await;
    let out = linnstream(&h, &["webhook-events", "list", "--status", "Failed"]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 failed"), "{text}");
    let header = text.lines().nth(1).expect("header");
    assert!(
        header.starts_with("ID") && header.contains("CODE") && header.contains("ORDERS"),
        "{text}"
    );
    assert!(
        text.contains("DELIVERED")
            && text.contains("CN-8001")
            && text.contains("Linnworks answered 500"),
        "{text}"
    );
    let out = linnstream(&h, &["webhook-events", "list", "--code", "PLANNED"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("no webhook events match"));

    let out = linnstream(&h, &["webhook-events", "retry", &id.to_string()]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("queued for retry by cli-tester (token admin)")
            && text.contains("now Ready for Retry"),
        "{text}"
    );
    // A second retry is refused with the server's message and a non-zero exit.
    let out = linnstream(&h, &["webhook-events", "retry", &id.to_string()]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Only Failed webhook events can be retried"),
        "{err}"
    );
    let out = linnstream(&h, &["webhook-events", "--output", "json", "list"]).await;
    let json: Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(json["events"][0]["status"], "Ready for Retry", "{json}");
}

#[tokio::test]
async fn webhook_token_prints_the_path_and_the_derived_token_never_the_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "0123456789abcdef0123456789abcdef-secret";
    let file = dir.path().join("webhook-secret");
    std::fs::write(&file, format!("{secret}\n")).expect("write secret");
    let run = |args: Vec<String>, env_secret: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"));
        cmd.arg("webhook-token")
            .args(args)
            .env_remove("LINNSTREAM_WEBHOOK_SECRET")
            .env_remove("LINNSTREAM_WEBHOOK_SECRET_FILE");
        if let Some(s) = env_secret {
            cmd.env("LINNSTREAM_WEBHOOK_SECRET", s);
        }
        cmd.output()
    };
    let expected = linnstream::server::derive_token(
        secret.as_bytes(),
        &linnstream::domain::InstallationKey::new("default", "acme"),
    );
    let out = run(
        vec![
            "acme".into(),
            "--webhook-secret-file".into(),
            file.display().to_string(),
        ],
        None,
    )
    .await
    .expect("run");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("webhook path: /webhooks/default/acme"),
        "{text}"
    );
    assert!(text.contains(&expected), "{text}");
    assert!(!text.contains(secret), "the secret is never printed");
    let out = run(vec!["default/acme".into(), "--quiet".into()], Some(secret))
        .await
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    // Refusals name what is wrong, never the secret.
    let out = run(vec!["Shop/Acme!".into()], Some(secret))
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use NAMESPACE/NAME"));
    let out = run(vec!["acme".into()], Some("short")).await.expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("LINNSTREAM_WEBHOOK_SECRET is 5 bytes long") && !err.contains("short\n"),
        "{err}"
    );
    let out = run(vec!["acme".into()], None).await.expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("LINNSTREAM_WEBHOOK_SECRET or --webhook-secret-file is required")
    );
}
