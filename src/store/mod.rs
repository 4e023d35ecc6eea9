//! The store: the order queue state machine, webhook events, audit log, master data, job runs
//! and worker heartbeats, behind one handle with two backends.
//!
//! PostgreSQL is the production backend (several workers and replicas at once); SQLite is the
//! embedded default for one process. The backend is chosen by the URL scheme. Both run the same
//! SQL wherever the dialects agree (SQLite accepts PostgreSQL's `$1` placeholders); the few
//! statements that differ are chosen per backend. Schema migrations are embedded in the binary
//! and applied at connect (see docs/store.md).

mod audit;
mod connect;
mod error;
pub(crate) mod gauges;
mod jobs;

mod manifests;
mod master_data;
mod model;
mod orders;
mod pool;
mod retention;
mod wakeups;
mod webhooks;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use connect::{BackendKind, MigrationReport, StoreOptions, backend_for_url};
pub use error::{StoreError, StoreResult};
pub use manifests::{ManifestConsignment, StoredManifest};
pub use model::*;
pub use pool::InstallationLease;
pub use retention::PruneReport;
pub use wakeups::{Wakeup, Wakeups, Work};

/// A cheap-to-clone handle on the database (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Shared by every clone: the wake-up signals of this process (see [`wakeups`]).
    wakeups: std::sync::Arc<Wakeups>,
}

#[derive(Clone, Debug)]
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to the backend's pool. The body is compiled once per
/// backend, so it may use any API both backends implement.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Postgres($pool) => $body,
            $crate::store::Pool::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs a claim-style statement (see [`picked`]) and returns its rows: on PostgreSQL as it
/// is, on SQLite inside an IMMEDIATE transaction, which serialises claimers.
macro_rules! fetch_all_claiming {
    ($store:expr, $pg:expr, $sqlite:expr, [$($bind:expr),* $(,)?]) => {
        match &$store.pool {
            $crate::store::Pool::Postgres(pool) => {
                sqlx::query_as($pg)$(.bind($bind))*.fetch_all(pool).await?
            }
            $crate::store::Pool::Sqlite(pool) => {
                use $crate::store::Dialect as _;
                let mut tx = pool.begin_write().await?;
                let rows = sqlx::query_as($sqlite)$(.bind($bind))*.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows
            }
        }
    };
}
pub(crate) use fetch_all_claiming;

/// What differs between the backends, for code written once over both pools.
pub(crate) trait Dialect {
    type Db: sqlx::Database;
    /// The backend, for choosing between per-backend SQL.
    fn kind(&self) -> BackendKind;
    /// Begins a transaction that writes. SQLite takes the write lock at BEGIN (IMMEDIATE), so a
    /// transaction never fails half-way with a stale snapshot; PostgreSQL locks rows as it goes.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl Dialect for PgPool {
    type Db = Postgres;
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

impl Dialect for SqlitePool {
    type Db = Sqlite;
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

/// `WITH picked AS (...)`: the rows a claim-style `UPDATE ... WHERE id IN (SELECT id FROM
/// picked)` takes. On PostgreSQL the pick skips rows other claimers have locked, and is a
/// materialised CTE, run once: as a plain `IN (subquery)` PostgreSQL may rescan it, skip the
/// rows the statement already updated, and take more than the `LIMIT`. SQLite callers run
/// the statement in an IMMEDIATE transaction, which serialises them.
pub(crate) fn picked(kind: BackendKind, select_ids: &str) -> String {
    match kind {
        BackendKind::Postgres => {
            format!("WITH picked AS MATERIALIZED ({select_ids} FOR UPDATE SKIP LOCKED)")
        }
        BackendKind::Sqlite => format!("WITH picked AS ({select_ids})"),
    }
}

/// The current time at the database's precision (microseconds), so that a value written and
/// read back compares equal. All timestamps come from the application clock: replicas must
/// keep their clocks in step (NTP), and leases should be far longer than any clock skew.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A `chrono` duration from a `std` one, saturating at the largest representable value.
pub(crate) fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Sends one wake-up per payload (PostgreSQL).
const NOTIFY_ALL: &str = "SELECT pg_notify($1, p) FROM UNNEST($2::text[]) AS p";

/// Rows a query returns when its caller gives no limit (0).
pub const DEFAULT_LIMIT: u32 = 100;
/// The most rows one query returns.
pub const MAX_LIMIT: u32 = 10_000;

/// `n` as an SQL `LIMIT`: 0 means `DEFAULT_LIMIT`, and no query returns more than `MAX_LIMIT`.
pub(crate) fn sql_limit(n: u32) -> i64 {
    let n = if n == 0 { DEFAULT_LIMIT } else { n };
    i64::from(n.min(MAX_LIMIT))
}

/// Refuses an empty key: it would silently match nothing or store an unfindable row.
pub(crate) fn require(what: &str, value: &str) -> StoreResult<()> {
    if value.trim().is_empty() {
        Err(StoreError::InvalidArgument(format!(
            "{what} must not be empty"
        )))
    } else {
        Ok(())
    }
}

/// A query builder for `pool`'s backend (the pool only fixes the type).
pub(crate) fn builder<'a, DB: sqlx::Database>(
    _pool: &sqlx::Pool<DB>,
    sql: &str,
) -> sqlx::QueryBuilder<'a, DB> {
    sqlx::QueryBuilder::new(sql)
}

impl Store {
    /// Which backend this store runs on.
    pub fn backend(&self) -> BackendKind {
        with_pool!(self, pool => pool.kind())
    }

    /// Closes every connection; later calls fail. SQLite first moves everything from its
    /// write-ahead log into the database file, so that the file alone is a full copy.
    pub async fn close(&self) {
        self.checkpoint().await;
        with_pool!(self, pool => pool.close().await)
    }

    /// A waiter for `installation`'s signals of `work` (see [`wakeups`]). On PostgreSQL the
    /// first call starts this process's `LISTEN` connection (one of the pool's connections).
    pub async fn wakeup(&self, installation: &str, work: Work) -> Wakeup {
        if let Pool::Postgres(pool) = &self.pool {
            self.wakeups.listen(pool).await;
        }
        self.wakeups.subscribe(installation, work)
    }

    /// Signals `installation`'s `work` to whichever process serves it: `NOTIFY` on
    /// PostgreSQL, in-process on SQLite. A failed signal is logged; the interval covers it.
    pub async fn wake(&self, installation: &str, work: Work) {
        self.wake_all_of(&[installation.to_string()], work).await;
    }

    /// [`Store::wake`] for several installations (each once), in one statement on
    /// PostgreSQL.
    pub async fn wake_all_of(&self, installations: &[String], work: Work) {
        let unique: std::collections::BTreeSet<&String> = installations.iter().collect();
        match &self.pool {
            Pool::Postgres(pool) => {
                let payloads: Vec<String> = unique.iter().map(|i| work.payload(i)).collect();
                if let Err(e) = sqlx::query(NOTIFY_ALL)
                    .bind(wakeups::CHANNEL)
                    .bind(&payloads)
                    .execute(pool)
                    .await
                {
                    tracing::warn!(
                        installations = payloads.len(),
                        work = work.as_str(),
                        "could not send wake-ups: {e}"
                    );
                }
            }
            Pool::Sqlite(_) => {
                for installation in unique {
                    self.wakeups.wake_local(installation, work);
                }
            }
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }
}
