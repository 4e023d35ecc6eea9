//! Upgrading a database made by an older version: migration 3 (the durable write-back)
//! counts orders completed before it as written back, so an upgrade does not write their
//! tracking details to Linnworks again, and leaves every other order as it was.

use std::path::Path;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use linnstream::store::{Order, Store};
use sqlx::Connection;
use sqlx::migrate::Migrator;

use crate::support::db::{create_postgres_database, test_options};

const INST: &str = "default/upgraded";

/// A migrator of the backend's migrations up to 0002 (copied byte for byte, so their
/// checksums match the ones embedded in the binary).
async fn migrations_before_write_back(backend: &str, dir: &Path) -> Migrator {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for name in ["0001_store.sql", "0002_manifests.sql"] {
        std::fs::copy(source.join(name), dir.join(name)).expect("copy migration");
    }
    Migrator::new(dir).await.expect("old migrations")
}

const INSERT: &str = "INSERT INTO orders (installation, order_id, status, tracking_number, \
    created_at, updated_at, completed_at) VALUES ($1, $2, $3, $4, $5, $5, $6)";

fn times() -> (DateTime<Utc>, DateTime<Utc>) {
    let created = Utc::now().trunc_subsecs(6) - Duration::hours(2);
    (created, created + Duration::minutes(5))
}

async fn check_upgraded(url: &str, completed_at: DateTime<Utc>) {
    let store = Store::connect_with(url, &test_options())
        .await
        .expect("the new version migrates the old database");
    let sent: Order = store.order(INST, "SENT").await.unwrap().expect("kept");
    assert_eq!(sent.written_back_at, Some(completed_at));
    assert!(!sent.write_back_pending(), "{sent:?}");
    let queued = store.order(INST, "QUEUED").await.unwrap().expect("kept");
    assert_eq!(queued.written_back_at, None);
    let taken = store
        .take_pending_write_backs(INST, std::time::Duration::ZERO, 0)
        .await
        .unwrap();
    assert!(taken.is_empty(), "nothing to write back again: {taken:?}");
}

#[tokio::test]
async fn store_postgres_upgrade_counts_sent_orders_as_written_back() {
    let pg = create_postgres_database().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let old = migrations_before_write_back("postgres", dir.path()).await;
    let (created, completed) = times();
    let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    old.run(&mut conn).await.expect("old schema");
    for (id, status, done) in [
        ("SENT", "Completed", Some(completed)),
        ("QUEUED", "Pending", None),
    ] {
        sqlx::query(INSERT)
            .bind(INST)
            .bind(id)
            .bind(status)
            .bind(done.map(|_| "TRK-OLD"))
            .bind(created)
            .bind(done)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    check_upgraded(&pg.url, completed).await;
}

#[tokio::test]
async fn store_sqlite_upgrade_counts_sent_orders_as_written_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let old = migrations_before_write_back("sqlite", &migrations).await;
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("old.db").display());
    let (created, completed) = times();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    old.run(&mut conn).await.expect("old schema");
    for (id, status, done) in [
        ("SENT", "Completed", Some(completed)),
        ("QUEUED", "Pending", None),
    ] {
        sqlx::query(INSERT)
            .bind(INST)
            .bind(id)
            .bind(status)
            .bind(done.map(|_| "TRK-OLD"))
            .bind(created)
            .bind(done)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    check_upgraded(
        &format!("sqlite:{}", dir.path().join("old.db").display()),
        completed,
    )
    .await;
}
