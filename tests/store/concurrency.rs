//! Many claimers on one database: every order is claimed exactly once and none is lost; many
//! processes migrating one database at once all succeed.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::Connection;

use linnstream::store::{FetchedOrder, SendSuccess, Store, StoreOptions};

use linnstream::domain::{OrderStatus, OrderType};

use crate::support::db::{Backend, TestDb, create_postgres_database};

const INST: &str = "default/busy";

/// Stores `n` orders with `writers` concurrent connections.
async fn seed(db: &TestDb, n: usize, writers: usize) {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(writers) {
                let order = FetchedOrder {
                    installation: INST.into(),
                    order_id: format!("ORD-{i:05}"),
                    num_order_id: Some(i as i64),
                    reference: None,
                    postal_service_id: None,
                    postal_service_name: None,
                    order_type: OrderType::Delivery,
                    snapshot: None,
                };
                store.upsert_fetched(&order).await.expect("seed order");
            }
        }));
    }
    for t in tasks {
        t.await.expect("seeder");
    }
}

/// Runs `claimers` workers, each with its own pool (as separate processes would), claiming
/// batches and completing them until the queue is empty; returns every claimed order id.
async fn drain(db: &TestDb, claimers: usize, batch: u32) -> Vec<String> {
    let mut tasks = Vec::new();
    for c in 0..claimers {
        let store = db.connect_again(2).await;
        tasks.push(tokio::spawn(async move {
            let worker = format!("claimer-{c}");
            let mut mine = Vec::new();
            let mut empty_rounds = 0;
            while empty_rounds < 3 {
                let claimed = store
                    .claim(INST, batch, &worker, Duration::from_secs(300))
                    .await
                    .expect("claim");
                assert!(
                    claimed.len() <= batch as usize,
                    "{worker} claimed {} orders with a limit of {batch}",
                    claimed.len()
                );
                if claimed.is_empty() {
                    empty_rounds += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                empty_rounds = 0;
                for order in claimed {
                    assert_eq!(order.claim_owner.as_deref(), Some(worker.as_str()));
                    let claim = order.claim().expect("claim");
                    store
                        .complete_claim(&claim, &SendSuccess::default())
                        .await
                        .expect("the claimer that holds an order can complete it");
                    mine.push(order.order_id);
                }
            }
            store.close().await;
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("claimer"));
    }
    all
}

async fn assert_each_claimed_once(db: &TestDb, claimed: Vec<String>, n: usize) {
    let unique: HashSet<&String> = claimed.iter().collect();
    assert_eq!(unique.len(), claimed.len(), "an order was claimed twice");
    assert_eq!(claimed.len(), n, "every order is claimed");
    let counts = db.store.queue_counts(INST).await.unwrap();
    assert_eq!(counts.completed, n as u64);
    assert_eq!(counts.total(), n as u64, "nothing lost");
    let page = db
        .store
        .list_orders(&linnstream::store::OrderQuery {
            installation: INST.into(),
            status: Some(OrderStatus::Completed),
            search: None,
            offset: 0,
            limit: 10_000,
        })
        .await
        .unwrap();
    assert!(
        page.orders.iter().all(|o| o.attempts == 1),
        "each order was sent once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_postgres_eight_claimers_claim_5000_orders_exactly_once() {
    let db = TestDb::new(Backend::Postgres).await;
    seed(&db, 5000, 4).await;
    let claimed = drain(&db, 8, 7).await;
    assert_each_claimed_once(&db, claimed, 5000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_sqlite_four_claimers_claim_1000_orders_exactly_once() {
    let db = TestDb::new(Backend::Sqlite).await;
    seed(&db, 1000, 2).await;
    let claimed = drain(&db, 4, 5).await;
    assert_each_claimed_once(&db, claimed, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_postgres_migrators_started_together_all_succeed() {
    let db = create_postgres_database().await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let options = StoreOptions {
                max_connections: 1,
                ..StoreOptions::default()
            };
            let store = Store::connect_with(&url, &options).await?;
            store.close().await;
            Ok::<_, linnstream::store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await
            .expect("migrator task")
            .expect("every concurrent start migrates or waits");
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let applied: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    assert_eq!(
        applied,
        vec![
            (1, true),
            (2, true),
            (3, true),
            (4, true),
            (5, true),
            (6, true)
        ],
        "each migration applied exactly once"
    );
    let store = Store::connect_with(
        &db.url,
        &StoreOptions {
            migrate: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(store.migrate().await.unwrap().applied.is_empty());
    assert_eq!(
        store.queue_counts(INST).await.unwrap().total(),
        0,
        "schema usable"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_sqlite_in_memory_database_serves_concurrent_claimers() {
    let store = Store::connect("sqlite::memory:")
        .await
        .expect("in-memory store");
    for i in 0..60 {
        let order = FetchedOrder {
            installation: INST.into(),
            order_id: format!("M-{i}"),
            num_order_id: None,
            reference: None,
            postal_service_id: None,
            postal_service_name: None,
            order_type: OrderType::Delivery,
            snapshot: None,
        };
        store.upsert_fetched(&order).await.unwrap();
    }
    let mut tasks = Vec::new();
    for c in 0..3 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim(INST, 4, &format!("c{c}"), Duration::from_secs(60))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                for order in batch {
                    store
                        .complete_claim(&order.claim().unwrap(), &SendSuccess::default())
                        .await
                        .unwrap();
                    mine.push(order.order_id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (60, 60));
    assert_eq!(store.queue_counts(INST).await.unwrap().completed, 60);
}
