//! The shared worker pool's coordination (docs/pool.md): installation leases (which worker
//! works on an installation now) and the MaxInstallationsPerBatch permits every pooled
//! worker shares. Times come from the application clock, like every lease in the store.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{BackendKind, Store, StoreResult, chrono_duration, now, picked, require, with_pool};

/// One installation's lease.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct InstallationLease {
    pub installation: String,
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const LEASE_COLUMNS: &str = "installation, holder, acquired_at, expires_at";

fn take_permit_sql(kind: BackendKind) -> String {
    format!(
        "{} UPDATE batch_permits SET holder = $1, expires_at = $2 \
         WHERE slot IN (SELECT slot FROM picked) RETURNING slot",
        picked(
            kind,
            "SELECT slot FROM batch_permits WHERE slot < $3 \
             AND (holder IS NULL OR expires_at < $4) ORDER BY slot LIMIT 1"
        )
    )
}

static TAKE_PERMIT_PG: LazyLock<String> = LazyLock::new(|| take_permit_sql(BackendKind::Postgres));
static TAKE_PERMIT_SQLITE: LazyLock<String> =
    LazyLock::new(|| take_permit_sql(BackendKind::Sqlite));

impl Store {
    /// Takes (or keeps) `installation`'s lease for `holder` until now + `ttl`: true when
    /// `holder` has it afterwards. Free, expired or already `holder`'s: taken; another
    /// holder's unexpired lease: refused. The check and the write are one statement.
    pub async fn acquire_lease(
        &self,
        installation: &str,
        holder: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        require("installation", installation)?;
        require("holder", holder)?;
        let at = now();
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO installation_leases (installation, holder, acquired_at, expires_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (installation) DO UPDATE SET holder = excluded.holder, \
                    acquired_at = CASE WHEN installation_leases.holder = excluded.holder \
                        THEN installation_leases.acquired_at ELSE excluded.acquired_at END, \
                    expires_at = excluded.expires_at \
                 WHERE installation_leases.holder = excluded.holder \
                    OR installation_leases.expires_at < $3",
            )
            .bind(installation)
            .bind(holder)
            .bind(at)
            .bind(at + chrono_duration(ttl))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Extends every unexpired lease of `holder` to now + `ttl`; returns the installations
    /// it still holds. A lease that expired before this renewal is not renewed: another
    /// worker may already have taken it, so the holder must stop working on it.
    pub async fn renew_leases(&self, holder: &str, ttl: Duration) -> StoreResult<Vec<String>> {
        require("holder", holder)?;
        let at = now();
        let mut held: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE installation_leases SET expires_at = $2 \
                 WHERE holder = $1 AND expires_at >= $3 RETURNING installation",
            )
            .bind(holder)
            .bind(at + chrono_duration(ttl))
            .bind(at)
            .fetch_all(pool)
            .await?
        });
        held.sort();
        Ok(held.into_iter().map(|(i,)| i).collect())
    }

    /// Gives `installation`'s lease back if `holder` has it; returns whether it did.
    pub async fn release_lease(&self, installation: &str, holder: &str) -> StoreResult<bool> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM installation_leases WHERE installation = $1 AND holder = $2")
                .bind(installation)
                .bind(holder)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Every lease, expired ones too, by installation.
    pub async fn leases(&self) -> StoreResult<Vec<InstallationLease>> {
        let sql = format!("SELECT {LEASE_COLUMNS} FROM installation_leases ORDER BY installation");
        let leases = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        Ok(leases)
    }

    /// The unexpired lease of `installation`, if any.
    pub async fn lease(&self, installation: &str) -> StoreResult<Option<InstallationLease>> {
        let sql = format!(
            "SELECT {LEASE_COLUMNS} FROM installation_leases \
             WHERE installation = $1 AND expires_at >= $2"
        );
        let lease = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(installation).bind(now()).fetch_optional(pool).await?
        });
        Ok(lease)
    }

    /// Makes sure permit slots 0..`count` exist (the limit may have been raised).
    pub async fn ensure_batch_permits(&self, count: u32) -> StoreResult<()> {
        with_pool!(self, pool => {
            for slot in 0..i64::from(count) {
                sqlx::query("INSERT INTO batch_permits (slot) VALUES ($1) ON CONFLICT (slot) DO NOTHING")
                    .bind(slot)
                    .execute(pool)
                    .await?;
            }
        });
        Ok(())
    }

    /// Takes a free permit slot below `limit` for `holder` until now + `ttl`; `None` when
    /// all `limit` are held. Slots must exist ([`Store::ensure_batch_permits`]).
    pub async fn take_batch_permit(
        &self,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> StoreResult<Option<i64>> {
        require("holder", holder)?;
        let at = now();
        let expires = at + chrono_duration(ttl);
        let limit = i64::from(limit);
        let rows: Vec<(i64,)> = super::fetch_all_claiming!(
            self,
            &TAKE_PERMIT_PG,
            &TAKE_PERMIT_SQLITE,
            [holder, expires, limit, at]
        );
        Ok(rows.first().map(|(slot,)| *slot))
    }

    /// Gives permit `slot` back if `holder` has it.
    pub async fn give_back_batch_permit(&self, slot: i64, holder: &str) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE batch_permits SET holder = NULL, expires_at = NULL \
                 WHERE slot = $1 AND holder = $2",
            )
            .bind(slot)
            .bind(holder)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Extends every permit `holder` has to now + `ttl`; returns how many.
    pub async fn renew_batch_permits(&self, holder: &str, ttl: Duration) -> StoreResult<u64> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE batch_permits SET expires_at = $2 WHERE holder = $1")
                .bind(holder)
                .bind(now() + chrono_duration(ttl))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }

    /// Permits held (unexpired) now, by anyone.
    pub async fn batch_permits_held(&self) -> StoreResult<u64> {
        let n: (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM batch_permits WHERE holder IS NOT NULL AND expires_at >= $1")
                .bind(now())
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n.0).unwrap_or(0))
    }
}
