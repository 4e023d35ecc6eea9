//! A claimer process is killed (SIGKILL) while it holds claims: its orders stay locked until
//! the lease lapses, then return to the queue; nothing is lost and nothing is sent twice.
//!
//! The child is this same test binary, running only `crash_child_claimer`.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use linnstream::store::{SendSuccess, Store, StoreOptions};

use linnstream::domain::OrderStatus;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::on_both_backends;
use crate::seed::{LEASE, seed_orders};
use crate::support::db::{Backend, TestDb};

const INST: &str = "default/crashy";
const CHILD_URL: &str = "LINNSTREAM_CRASH_CHILD_DATABASE_URL";
const CHILD_LEASE_MS: u64 = 5000;
const CHILD_CLAIMS: u32 = 8;
const ORDERS: usize = 20;

#[tokio::test]
#[ignore = "the child process of the crash tests, which run it themselves"]
async fn crash_child_claimer() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        eprintln!("not started by a crash test ({CHILD_URL} unset): nothing to do");
        return;
    };
    let options = StoreOptions {
        max_connections: 1,
        migrate: false,
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&url, &options)
        .await
        .expect("child connects");
    let claimed = store
        .claim(
            INST,
            CHILD_CLAIMS,
            "doomed-child",
            Duration::from_millis(CHILD_LEASE_MS),
        )
        .await
        .expect("child claims");
    let ids: Vec<String> = claimed.into_iter().map(|o| o.order_id).collect();
    let mut out = std::io::stdout();
    writeln!(out, "CLAIMED {}", ids.join(",")).expect("tell the parent");
    out.flush().expect("flush");
    // Hold the claims, as a worker stuck in a send would, until the parent kills us.
    tokio::time::sleep(Duration::from_secs(300)).await;
    panic!("the crash test should have killed this process");
}

async fn killed_claimer_loses_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    seed_orders(&db.store, INST, ORDERS).await;

    let exe = std::env::current_exe().expect("test binary path");
    let mut child = tokio::process::Command::new(exe)
        .args([
            "crash::crash_child_claimer",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_URL, &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the child claimer");
    let mut lines = BufReader::new(child.stdout.take().expect("child stdout")).lines();
    let claimed_line = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("read child") {
            if let Some(ids) = line.strip_prefix("CLAIMED ") {
                return ids.to_string();
            }
        }
        panic!("the child exited without claiming");
    })
    .await
    .expect("the child claims within two minutes");

    child.start_kill().expect("SIGKILL the child");
    let status = child.wait().await.expect("reap the child");
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");

    let doomed: HashSet<String> = claimed_line.split(',').map(str::to_string).collect();
    assert_eq!(doomed.len(), CHILD_CLAIMS as usize);
    let counts = db.store.queue_counts(INST).await.unwrap();
    assert_eq!(
        counts.in_progress,
        u64::from(CHILD_CLAIMS),
        "the dead worker's orders stay locked"
    );

    // While the lease holds, nobody else gets the dead worker's orders.
    let others = db.store.claim(INST, 100, "survivor", LEASE).await.unwrap();
    assert_eq!(others.len(), ORDERS - CHILD_CLAIMS as usize);
    assert!(others.iter().all(|o| !doomed.contains(&o.order_id)));
    for order in &others {
        db.store
            .complete_claim(&order.claim().unwrap(), &SendSuccess::default())
            .await
            .unwrap();
    }

    // After the lease, they are claimable again, exactly once.
    let mut lease_end = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    for id in &doomed {
        let order = db.store.order(INST, id).await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::InProgress);
        assert_eq!(order.claim_owner.as_deref(), Some("doomed-child"));
        lease_end = lease_end.max(order.lease_expires_at.expect("lease"));
    }
    let wait = (lease_end - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    let recovered = db.store.claim(INST, 100, "survivor", LEASE).await.unwrap();
    let recovered_ids: HashSet<String> = recovered.iter().map(|o| o.order_id.clone()).collect();
    assert_eq!(recovered_ids, doomed);
    assert_eq!(recovered.len(), doomed.len(), "no order handed out twice");
    for order in &recovered {
        assert_eq!(order.attempts, 2, "the interrupted attempt counts");
        db.store
            .complete_claim(&order.claim().unwrap(), &SendSuccess::default())
            .await
            .unwrap();
    }
    assert!(
        db.store
            .claim(INST, 100, "survivor", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let counts = db.store.queue_counts(INST).await.unwrap();
    assert_eq!(
        (counts.completed, counts.total()),
        (ORDERS as u64, ORDERS as u64)
    );
}

on_both_backends!(killed_claimer_loses_nothing);
