//! `linnstream orders|audit|jobs` against the admin API served on a loopback port.

use std::process::Output;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Backend, Harness, NAME, NAMESPACE, TOKEN};

async fn linnstream(h: &Harness, token: &str, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"));
    cmd.args(args)
        .arg("--server")
        .arg(h.admin.url())
        .env("LINNSTREAM_ADMIN_TOKEN", token)
        .env("LINNSTREAM_INSTALLATION", format!("{NAMESPACE}/{NAME}"))
        .env("LINNSTREAM_USER", "cli-tester")
        .env_remove("LINNSTREAM_SERVER");
    cmd.output().await.expect("run linnstream")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_shows_acts_and_reports_refusals() {
    let h = Harness::start_with(Backend::Sqlite, false).await;
    let (pending, _) = h.sims.add_order(json!({"reference": "CLI-5001"})).await;
    let (to_send, _) = h.sims.add_order(json!({"reference": "CLI-5002"})).await;

    let out = linnstream(&h, TOKEN, &["orders", "refetch"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 queued"), "{}", stdout(&out));

    // A readable table of the queue.
    let out = linnstream(&h, TOKEN, &["orders", "list"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let header = table.lines().next().expect("header");
    assert!(
        header.starts_with("ORDER ID")
            && header.contains("STATUS")
            && header.contains("LAST ERROR"),
        "{table}"
    );
    assert!(
        table.contains("CLI-5001") && table.contains("CLI-5002"),
        "{table}"
    );
    assert!(table.contains("Pending"), "{table}");
    assert!(table.contains("orders 1-2 of 2"), "{table}");

    // Send one; its outcome and the correlation id are printed.
    let out = linnstream(&h, TOKEN, &["orders", "send", &to_send]).await;
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let sent = stdout(&out);
    assert!(sent.starts_with("send: correlation id "), "{sent}");
    assert!(sent.contains("by cli-tester (token admin)"), "{sent}");
    assert!(sent.contains("Completed"), "{sent}");

    // JSON output is the API's reply.
    let out = linnstream(
        &h,
        TOKEN,
        &["orders", "list", "--status", "Completed", "-o", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["total"], 1);
    assert_eq!(json["orders"][0]["orderId"], to_send.as_str());

    // One order with its audit trail.
    let out = linnstream(&h, TOKEN, &["orders", "show", &to_send]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("Status            Completed"), "{shown}");
    assert!(shown.contains("Tracking number"), "{shown}");
    assert!(
        shown.contains("Audit trail") && shown.contains("Send"),
        "{shown}"
    );

    // Deleting a Pending order: the server's message, a non-zero exit, nothing changed.
    let out = linnstream(&h, TOKEN, &["orders", "delete", &pending]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Only Completed orders can be deleted"),
        "{err}"
    );
    assert!(err.contains("HTTP 409"), "{err}");
    assert_eq!(h.status_of(&pending).await, "Pending");

    // A bad parameter is named.
    let out = linnstream(&h, TOKEN, &["orders", "list", "--status", "Shipped"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("status: unknown value \"Shipped\""),
        "{}",
        stderr(&out)
    );

    // The audit log, filtered by order; the jobs table.
    let out = linnstream(&h, TOKEN, &["audit", "--order-id", &pending]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let audit = stdout(&out);
    assert!(
        audit.contains("Delete") && audit.contains("cli-tester (token admin)"),
        "{audit}"
    );
    let out = linnstream(&h, TOKEN, &["jobs"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let jobs = stdout(&out);
    assert!(
        jobs.contains("fetch-orders") && jobs.contains("sync-master-data-postal-services"),
        "{jobs}"
    );
    assert!(jobs.contains("disabled"), "order sync is off: {jobs}");

    // A wrong token: the server's 401 message, non-zero exit, no data.
    let out = linnstream(&h, "wrong-token-0123456789", &["orders", "list"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the admin token is not valid (HTTP 401"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("CLI-500"));

    // No server there.
    let (status, _) = h.get("/api/admin/installations").await;
    assert_eq!(status, StatusCode::OK);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args([
            "jobs",
            "--server",
            "http://127.0.0.1:9",
            "--token",
            TOKEN,
            "-i",
            "shop/acme",
        ])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the linnstream admin API"),
        "{}",
        stderr(&out)
    );
}
