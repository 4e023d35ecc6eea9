//! Test databases, shared by every test crate that needs the store: a fresh PostgreSQL
//! database per test (random name, dropped at the end; the test FAILS when PostgreSQL is
//! unreachable) or a SQLite file in a temporary folder; and `on_both_backends!`, which runs
//! a test on each.
#![allow(dead_code)]

use linnstream::store::{Store, StoreOptions};
use sqlx::Connection;

/// The server tests use; `scripts/test.sh` starts one on the default address.
pub fn postgres_admin_url() -> String {
    std::env::var("LINNSTREAM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// An empty PostgreSQL database with a random name, dropped when this is dropped.
pub struct PgDb {
    pub url: String,
    name: String,
}

/// Creates an empty database with a random name.
pub async fn create_postgres_database() -> PgDb {
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "these tests need PostgreSQL, which is not reachable at {}: {e}. \
             Start it (scripts/test.sh does) or point LINNSTREAM_TEST_POSTGRES_URL at one.",
                redacted(&admin)
            )
        });
    let name = format!("linnstream_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    PgDb {
        url: with_database(&admin, &name),
        name,
    }
}

impl Drop for PgDb {
    /// Drops the database from a thread of its own, so that it also runs while a failed test
    /// unwinds inside the async runtime.
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = postgres_admin_url();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    conn.close().await.ok();
                }
            });
        });
        let _ = dropper.join();
    }
}

pub enum Backend {
    Postgres,
    Sqlite,
}

/// A store on a fresh database, removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    // Dropped after `store` (fields drop in order), which the database drop does not need:
    // it forces connections closed.
    _pg: Option<PgDb>,
    _dir: Option<tempfile::TempDir>,
}

pub fn test_options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    }
}

/// The store itself, so a test of the store can take `&TestDb` as its `&Store`.
impl std::ops::Deref for TestDb {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Postgres => TestDb::postgres().await,
            Backend::Sqlite => TestDb::sqlite().await,
        }
    }

    pub async fn postgres() -> TestDb {
        let pg = create_postgres_database().await;
        let store = Store::connect_with(&pg.url, &test_options())
            .await
            .expect("connect to the test database");
        TestDb {
            store,
            url: pg.url.clone(),
            _pg: Some(pg),
            _dir: None,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        // The file does not exist yet: connecting creates it.
        let url = format!("sqlite:{}", dir.path().join("queue.db").display());
        let store = Store::connect_with(&url, &test_options())
            .await
            .expect("open the test database");
        TestDb {
            store,
            url,
            _pg: None,
            _dir: Some(dir),
        }
    }

    /// Another store on the same database (another worker process, as far as the database
    /// can tell).
    pub async fn connect_again(&self, max_connections: u32) -> Store {
        let options = StoreOptions {
            max_connections,
            migrate: false,
            ..StoreOptions::default()
        };
        Store::connect_with(&self.url, &options)
            .await
            .expect("second connection")
    }
}

/// Runs each named test of the calling module once on PostgreSQL (`postgres::NAME`) and once
/// on SQLite (`sqlite::NAME`).
///
/// - `on_both_backends!(a, b)`: each is an `async fn(Backend)`.
/// - `on_both_backends!(with setup; a, b)`: `setup` is an `async fn(Backend) -> F` and each
///   test an `async fn(&F)`; the fixture lives until the test ends.
#[macro_export]
macro_rules! on_both_backends {
    (with $setup:path; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@tests postgres Postgres with $setup; $($name),*);
        $crate::on_both_backends!(@tests sqlite Sqlite with $setup; $($name),*);
    };
    (@tests $module:ident $backend:ident with $setup:path; $($name:ident),*) => {
        mod $module {
            // `setup` as named in the calling module.
            #[allow(unused_imports)]
            use super::*;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = $setup($crate::support::db::Backend::$backend).await;
                    super::$name(&fixture).await;
                }
            )*
        }
    };
    (@tests $module:ident $backend:ident; $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::db::Backend::$backend).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@tests postgres Postgres; $($name),*);
        $crate::on_both_backends!(@tests sqlite Sqlite; $($name),*);
    };
}
