//! Crashes, shutdowns, retention and backups, with the real `linnstream run` binary against
//! the simulators (served in-process): killed with SIGKILL again and again while orders
//! sync; stopped with SIGTERM in the middle of sending; a clean stop of a SQLite-backed
//! process backed up by copying the `.db` file alone; and the daily prune.

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use linnstream::domain::{
    AuditAction, AuditOutcome, JobOutcome, OrderStatus, OrderType, WebhookStatus,
};
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, order};
use linnstream::store::{
    AuditQuery, FetchedOrder, ManifestConsignment, NewAuditEntry, NewWebhookEvent, OrderQuery,
    SendFailure, Store,
};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::db::{Backend, TestDb};

const INST: &str = "default/acme";
const ADMIN_TOKEN: &str = "lifecycle-admin-token-0123456789";

on_both_backends!(
    killed_five_times_while_syncing_loses_and_duplicates_nothing,
    sigterm_mid_send_hands_the_claims_back_for_the_next_process,
    the_daily_prune_removes_old_history_and_keeps_recent,
    one_process_gets_each_days_prune,
    handed_back_claims_keep_their_attempt_only_when_stream_may_have_the_order,
);

/// `linnstream run` on `database_url`, its log in `log`, with `args` added; the admin token
/// comes from the environment, never the command line.
pub(crate) fn spawn_run(resources: &Path, database_url: &str, log: &Path, args: &[&str]) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["run", "--no-master-data", "-f"])
        .arg(resources)
        .args(["--database-url", database_url, "--listen", "127.0.0.1:0"])
        .args(args)
        .env("LINNSTREAM_LOG", "info")
        .env("LINNSTREAM_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start linnstream run")
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
}

/// Waits up to `limit` for the process to exit; how long it took.
fn wait_exit(child: &mut Child, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn kill9(mut child: Child) {
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
}

/// The base URL the process listens on, from its log.
pub(crate) async fn listening_url(log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("linnstream is running on ").nth(1)
            && let Some(url) = rest.split(';').next()
        {
            return url.trim().to_string();
        }
        assert!(Instant::now() < deadline, "never started: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn world_with_orders(n: i64, first: i64) -> (World, tempfile::TempDir) {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    world
        .write_resources(&dir.path().join("resources"), &WorldSettings::default())
        .expect("resources");
    if n > 0 {
        world
            .add_orders((first..first + n).map(|k| order(k, NEXT_DAY)).collect())
            .expect("orders");
    }
    (world, dir)
}

async fn stream_fault(world: &World, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", world.stream_server.url()))
        .json(&body)
        .send()
        .await
        .expect("sim");
    assert!(r.status().is_success());
}

async fn clear_stream_faults(world: &World) {
    reqwest::Client::new()
        .delete(format!("{}/_sim/faults", world.stream_server.url()))
        .send()
        .await
        .expect("sim");
}

/// Order numbers of the orders Stream holds, one entry per Stream order.
async fn stream_order_numbers(world: &World) -> Vec<String> {
    let body: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    body["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|o| o["orderNo"].as_str().map(str::to_string))
        .collect()
}

fn assert_one_stream_order_each(numbers: &[String], n: usize) {
    let unique: HashSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), n, "every order reached Stream");
    assert_eq!(numbers.len(), n, "no order reached Stream twice");
}

async fn wait_until(
    store: &Store,
    what: &str,
    limit: Duration,
    done: impl Fn(&linnstream::store::QueueCounts) -> bool,
) -> linnstream::store::QueueCounts {
    let deadline = Instant::now() + limit;
    loop {
        let counts = store.queue_counts(INST).await.unwrap_or_default();
        if done(&counts) {
            return counts;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not reached in {limit:?}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn killed_five_times_while_syncing_loses_and_duplicates_nothing(backend: Backend) {
    const ORDERS: u64 = 200;
    let db = TestDb::new(backend).await;
    let (world, dir) = world_with_orders(ORDERS as i64, 21_001).await;
    // Slow enough that every kill lands with sends in flight.
    stream_fault(
        &world,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "latency", "latencyMs": 60}),
    )
    .await;
    let resources = dir.path().join("resources");
    // A short lease, so a killed process's claims come back within seconds.
    let args = [
        "--stream-api-timeout-seconds",
        "2",
        "--stream-api-max-retry-attempts",
        "1",
        "--claim-lease-seconds",
        "5",
        "--max-batch-size-per-installation",
        "10",
        "--max-retry-attempts",
        "20",
    ];
    let mut completed_before = 0;
    for round in 0..5 {
        let log = dir.path().join(format!("run-{round}.log"));
        let child = spawn_run(&resources, &db.url, &log, &args);
        let at_kill = wait_until(&db.store, "progress", Duration::from_secs(90), |c| {
            c.completed >= completed_before + 10 && c.in_progress > 0
        })
        .await;
        kill9(child);
        assert!(
            at_kill.completed < ORDERS,
            "round {round} killed too late to prove anything: {at_kill:?}"
        );
        completed_before = at_kill.completed;
    }
    let log = dir.path().join("run-last.log");
    let mut last = spawn_run(&resources, &db.url, &log, &args);
    let counts = wait_until(
        &db.store,
        "every order Completed",
        Duration::from_secs(180),
        |c| c.completed == ORDERS,
    )
    .await;
    sigterm(&last);
    wait_exit(&mut last, Duration::from_secs(30));
    assert_eq!(counts.total(), ORDERS, "none lost, none added: {counts:?}");
    assert_one_stream_order_each(&stream_order_numbers(&world).await, ORDERS as usize);
}

async fn sigterm_mid_send_hands_the_claims_back_for_the_next_process(backend: Backend) {
    const ORDERS: u64 = 30;
    const GRACE_SECONDS: u64 = 2;
    let db = TestDb::new(backend).await;
    let (world, dir) = world_with_orders(ORDERS as i64, 22_001).await;
    // Stream hangs on every create (and never applies it): the process cannot finish
    // its sends within the grace period.
    stream_fault(
        &world,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "timeout", "hangMs": 60000}),
    )
    .await;
    let resources = dir.path().join("resources");
    // A lease far longer than the test: only the hand-back can make the orders claimable.
    let args = [
        "--claim-lease-seconds",
        "3600",
        "--max-batch-size-per-installation",
        "10",
        "--shutdown-grace-seconds",
        "2",
    ];
    let mut first = spawn_run(&resources, &db.url, &dir.path().join("first.log"), &args);
    wait_until(&db.store, "sends in flight", Duration::from_secs(60), |c| {
        c.total() == ORDERS && c.in_progress > 0
    })
    .await;
    sigterm(&first);
    let (status, took) = wait_exit(&mut first, Duration::from_secs(60));
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(
        took < Duration::from_secs(GRACE_SECONDS + 5),
        "exits within the grace period (plus the hand-back), not after the sends: {took:?}"
    );
    let orders = db
        .store
        .list_orders(&OrderQuery {
            installation: INST.into(),
            limit: 1000,
            ..OrderQuery::default()
        })
        .await
        .expect("orders")
        .orders;
    assert_eq!(orders.len() as u64, ORDERS);
    let in_progress: Vec<_> = orders
        .iter()
        .filter(|o| o.status == OrderStatus::InProgress)
        .map(|o| o.num_order_id)
        .collect();
    assert!(in_progress.is_empty(), "left In Progress: {in_progress:?}");
    let released: Vec<_> = orders
        .iter()
        .filter(|o| o.status != OrderStatus::Completed)
        .collect();
    assert!(
        !released.is_empty(),
        "the sends should have been cut off by the grace period"
    );
    for o in &released {
        assert_eq!(o.status, OrderStatus::Pending, "{o:?}");
        assert!(
            o.attempts <= 1,
            "a handed-back order uses no attempt beyond a send that may have reached Stream: {o:?}"
        );
    }

    clear_stream_faults(&world).await;
    let restarted_at = Instant::now();
    let mut second = spawn_run(&resources, &db.url, &dir.path().join("second.log"), &args);
    wait_until(
        &db.store,
        "every order Completed",
        Duration::from_secs(60),
        |c| c.completed == ORDERS,
    )
    .await;
    assert!(
        restarted_at.elapsed() < Duration::from_secs(60),
        "sent at once, not after the hour-long lease"
    );
    sigterm(&second);
    let (status, _) = wait_exit(&mut second, Duration::from_secs(30));
    assert!(status.success());
    assert_one_stream_order_each(&stream_order_numbers(&world).await, ORDERS as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_clean_stop_the_sqlite_file_alone_holds_the_whole_queue() {
    const ORDERS: u64 = 40;
    let (world, dir) = world_with_orders(ORDERS as i64, 23_001).await;
    let file: PathBuf = dir.path().join("queue.db");
    let url = format!("sqlite:{}", file.display());
    let resources = dir.path().join("resources");
    let mut run = spawn_run(&resources, &url, &dir.path().join("run.log"), &[]);
    // Read through a separate connection, closed before the stop so it cannot hold the
    // log open.
    let store = Store::connect(&url).await.expect("store");
    let counts = wait_until(
        &store,
        "every order Completed",
        Duration::from_secs(90),
        |c| c.completed == ORDERS,
    )
    .await;
    store.close().await;
    sigterm(&run);
    let (status, _) = wait_exit(&mut run, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");

    let wal = dir.path().join("queue.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "everything checkpointed into the .db file");
    let backup = tempfile::tempdir().expect("tempdir");
    let copy = backup.path().join("copy.db");
    std::fs::copy(&file, &copy).expect("copy the .db file alone");
    let restored = Store::connect(&format!("sqlite:{}", copy.display()))
        .await
        .expect("open the copy");
    let restored_counts = restored.queue_counts(INST).await.expect("counts");
    assert_eq!(restored_counts, counts, "the copy holds the whole queue");
    assert_eq!(stream_order_numbers(&world).await.len() as u64, ORDERS);
}

async fn the_daily_prune_removes_old_history_and_keeps_recent(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let (_world, dir) = world_with_orders(0, 0).await;
    let now = Utc::now();
    let old = now - chrono::Duration::days(45);
    let recent = now - chrono::Duration::days(5);

    for (at, message) in [(old, "old"), (recent, "recent")] {
        store
            .audit(&NewAuditEntry {
                at,
                installation: INST.into(),
                order_id: None,
                correlation_id: message.into(),
                action: AuditAction::Fetch,
                outcome: AuditOutcome::Success,
                message: message.into(),
                duration_ms: 1,
                actor: "test".into(),
            })
            .await
            .expect("audit");
        store
            .record_job_run(INST, "fetch-orders", at, at, JobOutcome::Succeeded, message)
            .await
            .expect("job run");
    }
    // Events: an old and a recent processed one, and an old one never processed (kept
    // whatever its age: it still has work to do).
    for (key, at) in [
        ("old-done", old),
        ("recent-done", recent),
        ("old-open", old),
    ] {
        store
            .insert_webhook_event(&NewWebhookEvent {
                installation: INST.into(),
                dedup_key: key.into(),
                received_at: at,
                body: "{}".into(),
                event_code: "DELIVERED".into(),
                consignment_no: None,
                order_no: None,
                order_refs: vec![key.into()],
                run: None,
                group: None,
            })
            .await
            .expect("event");
    }
    for event in store
        .claim_webhook_events(INST, 10, "test", Duration::from_secs(60))
        .await
        .expect("claim")
    {
        if event.dedup_key.ends_with("-done") {
            store
                .mark_webhook_processed(&event.claim().expect("claimed"))
                .await
                .expect("processed");
        }
    }
    let consignment = ManifestConsignment {
        order_id: "o".into(),
        consignment_no: "C1".into(),
        ..ManifestConsignment::default()
    };
    let old_manifest = store
        .create_manifest(INST, std::slice::from_ref(&consignment))
        .await
        .expect("manifest");
    let recent_manifest = store
        .create_manifest(INST, &[consignment])
        .await
        .expect("manifest");
    backdate_manifest(&db, old_manifest.id, old).await;

    let log = dir.path().join("run.log");
    let mut run = spawn_run(
        &dir.path().join("resources"),
        &db.url,
        &log,
        &["--audit-retention-days", "30"],
    );
    let url = listening_url(&log).await;
    let prune = wait_for_prune_run(&url).await;
    assert_eq!(prune["lastRun"]["outcomeCode"], "Succeeded", "{prune}");
    assert_eq!(prune["overdue"], false, "{prune}");
    let message = prune["lastRun"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1 audit entries, 1 webhook events, 1 job runs, 1 manifests"),
        "{message}"
    );
    // `linnstream jobs` shows it too.
    let out = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["jobs", "--server", &url, "-i", INST])
        .env("LINNSTREAM_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("linnstream jobs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("prune-history"))
        .unwrap_or_else(|| panic!("no prune-history row: {text}"));
    assert!(
        line.contains("Succeeded") && line.contains("daily"),
        "{line}"
    );
    sigterm(&run);
    wait_exit(&mut run, Duration::from_secs(30));

    let audit = store
        .audit_entries(&AuditQuery {
            installation: Some(INST.into()),
            ..AuditQuery::default()
        })
        .await
        .expect("audit");
    let messages: Vec<&str> = audit.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages.contains(&"recent") && !messages.contains(&"old"),
        "{messages:?}"
    );
    let runs = store
        .job_runs(INST, "fetch-orders", 100)
        .await
        .expect("runs");
    assert!(runs.iter().all(|r| r.started_at > old), "{runs:?}");
    assert!(runs.iter().any(|r| r.message == "recent"), "{runs:?}");
    let events = store
        .list_webhook_events(INST, None, 100)
        .await
        .expect("events");
    let mut kept: Vec<(&str, WebhookStatus)> = events
        .iter()
        .map(|e| (e.dedup_key.as_str(), e.status))
        .collect();
    kept.sort_by_key(|(key, _)| *key);
    assert_eq!(
        kept,
        [
            ("old-open", WebhookStatus::Pending),
            ("recent-done", WebhookStatus::Processed)
        ]
    );
    assert!(
        store
            .manifest(INST, &old_manifest.reference)
            .await
            .expect("manifest")
            .is_none()
    );
    assert!(
        store
            .manifest(INST, &recent_manifest.reference)
            .await
            .expect("manifest")
            .is_some()
    );
}

/// The prune job's row of the scheduler view once it has run.
async fn wait_for_prune_run(url: &str) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = http
            .get(format!("{url}/api/admin/installations/default/acme/jobs"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await;
        if let Ok(reply) = reply
            && reply.status().is_success()
        {
            let body: Value = reply.json().await.expect("json");
            let prune = body["jobs"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|j| j["job"] == "prune-history")
                .cloned()
                .unwrap_or_else(|| panic!("the prune job is not in the scheduler view: {body}"));
            if prune["lastRun"]["finishedAt"].is_string() {
                return prune;
            }
        }
        assert!(Instant::now() < deadline, "the prune never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Manifests are created "now" by the store; the test needs an old one.
async fn backdate_manifest(db: &TestDb, id: i64, at: chrono::DateTime<Utc>) {
    let sql = "UPDATE manifests SET created_at = $1 WHERE id = $2";
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
        sqlx::query(sql)
            .bind(at)
            .bind(id)
            .execute(&pool)
            .await
            .expect("backdate");
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
        sqlx::query(sql)
            .bind(at)
            .bind(id)
            .execute(&pool)
            .await
            .expect("backdate");
        pool.close().await;
    }
}

/// However many processes look at once, exactly one runs the day's prune.
async fn one_process_gets_each_days_prune(backend: Backend) {
    let db = TestDb::new(backend).await;
    let now = Utc::now();
    let tomorrow = now + chrono::Duration::days(1);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = db.connect_again(2).await;
        tasks.push(tokio::spawn(async move {
            store
                .take_due_run("*", "prune-history", now, tomorrow)
                .await
                .expect("take")
        }));
    }
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.expect("task"));
    }
    assert_eq!(taken, 1, "one process runs the prune");
    // Not again until it is due.
    let later = now + chrono::Duration::hours(23);
    assert!(
        !db.store
            .take_due_run(
                "*",
                "prune-history",
                later,
                later + chrono::Duration::days(1)
            )
            .await
            .expect("take")
    );
    let next_day = tomorrow + chrono::Duration::seconds(1);
    assert!(
        db.store
            .take_due_run(
                "*",
                "prune-history",
                next_day,
                next_day + chrono::Duration::days(1)
            )
            .await
            .expect("take")
    );
}

/// The store side of a hand-back: at once (whatever the lease), to the status each order
/// was claimed from, with the attempt given back unless its Stream create may have started
/// (then the next send is attempt 2 and looks the order up in Stream first).
async fn handed_back_claims_keep_their_attempt_only_when_stream_may_have_the_order(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    for n in 1..=4 {
        store
            .upsert_fetched(&FetchedOrder {
                installation: INST.into(),
                order_id: format!("00000000-0000-4000-8000-00000000000{n}"),
                num_order_id: Some(n),
                reference: None,
                postal_service_id: None,
                postal_service_name: Some(NEXT_DAY.into()),
                order_type: OrderType::Delivery,
                snapshot: None,
            })
            .await
            .expect("fetched");
    }
    let hour = Duration::from_secs(3600);
    // Order 1 failed once and is Ready for Retry when the stopping worker claims it.
    let first = store.claim(INST, 1, "earlier", hour).await.expect("claim");
    store
        .fail_claim(
            &first[0].claim().expect("claimed"),
            &SendFailure {
                http_status: Some(503),
                error: "down".into(),
            },
        )
        .await
        .expect("failed");
    store.promote_failed(INST, 3).await.expect("promote");
    let held = store
        .claim(INST, 10, "stopping", hour)
        .await
        .expect("claim");
    assert_eq!(held.len(), 4);
    let by_num = |n: i64| {
        held.iter()
            .find(|o| o.num_order_id == Some(n))
            .expect("held")
    };
    // Orders 1 and 2 had their Stream create started; 3 and 4 did not.
    let started = [by_num(1).id, by_num(2).id];
    // Another worker's claims are not this worker's to hand back.
    assert_eq!(
        store
            .release_claims("someone-else", &started)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.release_claims("stopping", &started).await.unwrap(), 4);
    let mut after: Vec<(i64, OrderStatus, u32)> = Vec::new();
    for o in &held {
        let now = store
            .order(INST, &o.order_id)
            .await
            .unwrap()
            .expect("order");
        assert!(
            now.claim_owner.is_none() && now.lease_expires_at.is_none(),
            "{now:?}"
        );
        after.push((
            now.num_order_id.unwrap_or_default(),
            now.status,
            now.attempts,
        ));
    }
    after.sort_by_key(|a| a.0);
    assert_eq!(
        after,
        [
            (1, OrderStatus::ReadyForRetry, 2),
            (2, OrderStatus::Pending, 1),
            (3, OrderStatus::Pending, 0),
            (4, OrderStatus::Pending, 0),
        ]
    );
    // Claimable again at once, although the lease had an hour to run.
    let again = store.claim(INST, 10, "next", hour).await.expect("claim");
    assert_eq!(again.len(), 4);
    assert_eq!(store.release_claims("stopping", &[]).await.unwrap(), 0);

    // Webhook events held by the stopping worker are claimable again at once too.
    store
        .insert_webhook_event(&NewWebhookEvent {
            installation: INST.into(),
            dedup_key: "held".into(),
            received_at: Utc::now(),
            body: "{}".into(),
            event_code: "DELIVERED".into(),
            consignment_no: None,
            order_no: None,
            order_refs: vec!["held".into()],
            run: None,
            group: None,
        })
        .await
        .expect("event");
    let held = store
        .claim_webhook_events(INST, 10, "stopping", hour)
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    assert_eq!(store.release_webhook_claims("stopping").await.unwrap(), 1);
    let again = store
        .claim_webhook_events(INST, 10, "next", hour)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].retry_count, 0, "no retry used");
}
