//! Choosing the backend from the URL, connecting, and applying the embedded migrations.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Pool, Store, StoreError, StoreResult};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");

/// The database engine behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Postgres => "PostgreSQL",
            BackendKind::Sqlite => "SQLite",
        })
    }
}

/// The backend a database URL names: `postgres://`/`postgresql://` or `sqlite:`.
pub fn backend_for_url(url: &str) -> StoreResult<BackendKind> {
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(StoreError::InvalidUrl {
            reason: "no scheme; expected postgres://... or sqlite:...".into(),
        });
    };
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid_scheme {
        return Err(StoreError::InvalidUrl {
            reason: "no scheme; expected postgres://... or sqlite:...".into(),
        });
    }
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Ok(BackendKind::Postgres),
        "sqlite" => Ok(BackendKind::Sqlite),
        _ => Err(StoreError::UnsupportedUrl {
            scheme: scheme.to_string(),
        }),
    }
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a caller waits for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub busy_timeout: Duration,
    /// Apply pending migrations while connecting.
    pub migrate: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
            migrate: true,
        }
    }
}

/// What `migrate` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    pub backend: BackendKind,
    /// "version description" of each migration this call applied.
    pub applied: Vec<String>,
    /// The newest migration version the database is at.
    pub latest_version: Option<i64>,
}

impl Store {
    /// Connects to `url` with default options and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// Connects to `url` with `options`; applies pending migrations when `options.migrate`.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> StoreResult<Store> {
        let pool = match backend_for_url(url)? {
            BackendKind::Postgres => {
                let connect = PgConnectOptions::from_str(url)
                    .map_err(|e| invalid_url(&e))?
                    .application_name("linnstream");
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    // No ping before each use: it cost a round trip per query (per webhook
                    // batch on the receiver). A connection the server dropped fails its next
                    // query and is discarded; every caller already treats a failed query as
                    // "try again" (503 to Stream and Linnworks, the next cycle for jobs).
                    .test_before_acquire(false)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Postgres(pool)
            }
            BackendKind::Sqlite => {
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(|e| invalid_url(&e))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // In WAL mode NORMAL loses at most the last commits on power loss, never
                    // integrity; FULL would fsync every claim.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(options.busy_timeout)
                    .foreign_keys(true);
                // An in-memory database lives in SQLite's shared cache, where writers get
                // "table is locked" instead of waiting: give it a single connection.
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let max_connections = if in_memory {
                    1
                } else {
                    options.max_connections.max(1)
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pool::Sqlite(pool)
            }
        };
        let store = Store {
            pool,
            wakeups: Default::default(),
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the embedded migrations not yet applied. Safe when several processes start at
    /// once: on PostgreSQL the migrator holds an advisory lock while it works.
    pub async fn migrate(&self) -> StoreResult<MigrationReport> {
        match &self.pool {
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let result = run_migrations(&POSTGRES_MIGRATIONS, &mut *conn).await;
                if result.is_err() {
                    // The advisory lock is held by the session: never hand it back to the pool.
                    conn.close_on_drop();
                }
                result.map(|(applied, latest)| MigrationReport {
                    backend: BackendKind::Postgres,
                    applied,
                    latest_version: latest,
                })
            }
            Pool::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                run_migrations(&SQLITE_MIGRATIONS, &mut *conn)
                    .await
                    .map(|(applied, latest)| MigrationReport {
                        backend: BackendKind::Sqlite,
                        applied,
                        latest_version: latest,
                    })
            }
        }
    }
}

impl Store {
    /// SQLite: copies every committed page from the write-ahead log into the database file
    /// and truncates the log (`wal_checkpoint(TRUNCATE)`), so that copying the `.db` file
    /// alone copies the whole queue. Done on a clean shutdown; PostgreSQL needs nothing.
    /// A failure (another process reading the file) is logged: the data is still safe in
    /// the log, just not in the file alone.
    pub async fn checkpoint(&self) {
        let Pool::Sqlite(pool) = &self.pool else {
            return;
        };
        let result: Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(pool)
                .await;
        match result {
            Ok((0, _, _)) => {}
            Ok((_, log, done)) => tracing::warn!(
                "SQLite checkpoint incomplete ({done} of {log} pages; another process is reading the database): back it up with sqlite3 .backup, not by copying the file"
            ),
            Err(e) => tracing::warn!("SQLite checkpoint failed: {e}"),
        }
    }
}

/// Runs `migrator` and tells which migrations were new. We take the migrator's lock ourselves
/// (PostgreSQL advisory locks nest per session) so that reading the "before" list and creating
/// the bookkeeping table are serialised with other starting processes too.
async fn run_migrations<C: Migrate>(
    migrator: &Migrator,
    conn: &mut C,
) -> StoreResult<(Vec<String>, Option<i64>)> {
    conn.lock().await?;
    conn.ensure_migrations_table().await?;
    let before: Vec<i64> = conn
        .list_applied_migrations()
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    migrator.run_direct(conn).await?;
    let after = conn.list_applied_migrations().await?;
    conn.unlock().await?;
    let latest = after.iter().map(|m| m.version).max();
    let applied = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .filter(|m| !before.contains(&m.version) && after.iter().any(|a| a.version == m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    Ok((applied, latest))
}

fn invalid_url(e: &sqlx::Error) -> StoreError {
    StoreError::InvalidUrl {
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_chooses_the_backend() {
        for url in ["postgres://u@h/db", "postgresql://h/db", "POSTGRES://h"] {
            assert_eq!(
                backend_for_url(url).unwrap(),
                BackendKind::Postgres,
                "{url}"
            );
        }
        for url in ["sqlite:data.db", "sqlite://data.db", "sqlite::memory:"] {
            assert_eq!(backend_for_url(url).unwrap(), BackendKind::Sqlite, "{url}");
        }
    }

    #[test]
    fn an_unknown_scheme_is_a_clear_error() {
        let err = backend_for_url("mysql://root:hunter2@db/linn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported database URL scheme `mysql`: use postgres://, postgresql:// or sqlite:"
        );
        let err = backend_for_url("/var/lib/linnstream.db").unwrap_err();
        assert!(err.to_string().contains("no scheme"), "{err}");
        let err = backend_for_url("//user@host:5432").unwrap_err();
        assert!(err.to_string().contains("no scheme"), "{err}");
    }
}
