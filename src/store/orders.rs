//! The order queue: storing fetched orders, claiming them for sending, recording the result,
//! retries, lease expiry, manual operations and the queue views.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use sqlx::types::Json;

use crate::observe::metrics as observe;

use super::model::{
    FetchedOrder, Order, OrderClaim, OrderPage, OrderQuery, QueueCounts, SendFailure, SendSuccess,
    Upserted,
};
use super::{
    BackendKind, Dialect, Store, StoreError, StoreResult, Work, chrono_duration,
    fetch_all_claiming, now, require, sql_limit, with_pool,
};
use crate::domain::OrderStatus::{self, *};
use crate::domain::lifecycle::{Cause, check_transition, sources};

const ORDER_COLUMNS: &str = "id, installation, order_id, num_order_id, reference, \
    postal_service_id, postal_service_name, order_type, status, attempts, last_http_status, \
    last_error, stream_order_id, consignment_no, tracking_number, tracking_url, snapshot, \
    version, claim_owner, lease_expires_at, created_at, updated_at, claimed_at, completed_at, \
    failed_at, validation_failed_at, retry_ready_at, released_at, deleted_at, written_back_at, \
    deferrals";

const SENT_SINCE: &str = "SELECT completed_at FROM orders \
    WHERE installation = $1 AND completed_at IS NOT NULL AND completed_at >= $2 \
    ORDER BY completed_at";

/// How often a single-order change re-reads the row after losing a race to another writer.
const OPTIMISTIC_TRIES: usize = 5;

/// `'A', 'B'`: the stored names of `statuses`, for an SQL `IN (...)` list. The names are
/// compile-time identifiers, never input, so inlining them is safe.
fn sql_list(statuses: &[OrderStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `IN (...)` list of the statuses `cause` may move to `to`, from the lifecycle table.
fn from_list(to: OrderStatus, cause: Cause) -> String {
    sql_list(&sources(to, cause))
}

/// Statuses whose stored details a re-fetch refreshes: not yet sent successfully and not in
/// flight, so the next send uses what Linnworks holds now.
fn refreshable() -> String {
    sql_list(&[Pending, ValidationFailed, Failed, ReadyForRetry])
}

macro_rules! sql {
    ($name:ident = $($fmt:tt)*) => {
        static $name: LazyLock<String> = LazyLock::new(|| format!($($fmt)*));
    };
}

sql!(
    SELECT_BY_KEY = "SELECT {ORDER_COLUMNS} FROM orders WHERE installation = $1 AND order_id = $2"
);
sql!(SELECT_BY_ID = "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
sql!(
    SELECT_BY_CONSIGNMENT = "SELECT {ORDER_COLUMNS} FROM orders \
    WHERE installation = $1 AND consignment_no = $2 ORDER BY id DESC LIMIT 1"
);

sql!(
    SELECT_BY_NUM = "SELECT {ORDER_COLUMNS} FROM orders \
    WHERE installation = $1 AND num_order_id = $2 ORDER BY id DESC LIMIT 1"
);
sql!(
    SELECT_BY_REFERENCE = "SELECT {ORDER_COLUMNS} FROM orders \
    WHERE installation = $1 AND reference = $2 ORDER BY id DESC LIMIT 1"
);

sql!(
    INSERT_FETCHED = "INSERT INTO orders (installation, order_id, num_order_id, reference, \
        postal_service_id, postal_service_name, order_type, snapshot, status, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{}', $9, $9) \
    ON CONFLICT (installation, order_id) DO NOTHING RETURNING {ORDER_COLUMNS}",
    Pending.as_str()
);

sql!(
    REFRESH_FETCHED = "UPDATE orders SET num_order_id = $3, reference = $4, \
        postal_service_id = $5, postal_service_name = $6, order_type = $7, snapshot = $8, \
        updated_at = $9, version = version + 1 \
    WHERE installation = $1 AND order_id = $2 AND status IN ({}) \
      AND (num_order_id IS DISTINCT FROM $3 OR reference IS DISTINCT FROM $4 \
        OR postal_service_id IS DISTINCT FROM $5 OR postal_service_name IS DISTINCT FROM $6 \
        OR order_type IS DISTINCT FROM $7 OR snapshot IS DISTINCT FROM $8) \
    RETURNING {ORDER_COLUMNS}",
    refreshable()
);

/// Claims the oldest claimable orders of one installation in one statement. PostgreSQL skips
/// rows another claimer has locked, so concurrent claimers never wait for or share an order;
/// SQLite runs it inside an IMMEDIATE transaction, which serialises claimers.
fn claim_batch_sql(kind: BackendKind) -> String {
    let claimable = from_list(InProgress, Cause::Claim);
    let pick = super::picked(
        kind,
        &format!(
            "SELECT id FROM orders WHERE installation = $1 AND status IN ({claimable}) \
            ORDER BY created_at, id LIMIT $5"
        ),
    );
    format!(
        "{pick} \
        UPDATE orders SET status = '{in_progress}', claimed_from = status, claim_owner = $2, \
            lease_expires_at = $3, claimed_at = $4, updated_at = $4, attempts = attempts + 1, \
            version = version + 1 \
        WHERE id IN (SELECT id FROM picked) AND status IN ({claimable}) \
        RETURNING {ORDER_COLUMNS}",
        in_progress = InProgress.as_str(),
    )
}
static CLAIM_BATCH_PG: LazyLock<String> = LazyLock::new(|| claim_batch_sql(BackendKind::Postgres));
static CLAIM_BATCH_SQLITE: LazyLock<String> =
    LazyLock::new(|| claim_batch_sql(BackendKind::Sqlite));

sql!(
    CLAIM_ONE = "UPDATE orders SET status = '{}', claimed_from = status, claim_owner = $2, \
        lease_expires_at = $3, claimed_at = $4, updated_at = $4, attempts = attempts + 1, \
        version = version + 1 \
    WHERE id = $1 AND version = $5 RETURNING {ORDER_COLUMNS}",
    InProgress.as_str()
);

// Returns In Progress orders whose lease has lapsed to the status they were claimed from.
// `$2` limits it to one installation and `$3` to one order when not NULL.
sql!(
    RELEASE_EXPIRED = "UPDATE orders SET status = COALESCE(claimed_from, '{pending}'), \
        claim_owner = NULL, lease_expires_at = NULL, claimed_from = NULL, released_at = $1, \
        updated_at = $1, version = version + 1 \
    WHERE status IN ({leased}) AND lease_expires_at < $1 \
      AND ($2 IS NULL OR installation = $2) AND ($3 IS NULL OR id = $3) \
    RETURNING id, installation",
    pending = Pending.as_str(),
    leased = from_list(Pending, Cause::LeaseExpired)
);

// Hands back one worker's unfinished claims (orderly shutdown) to the status each was
// claimed from. `$3`: the claim's attempt is given back (no Stream call started); else it
// counts, so the next send looks the order up in Stream before creating it. `$4` limits
// it to one order when not NULL.
sql!(
    RELEASE_CLAIMS = "UPDATE orders SET status = COALESCE(claimed_from, '{pending}'), \
        claim_owner = NULL, lease_expires_at = NULL, claimed_from = NULL, released_at = $2, \
        updated_at = $2, version = version + 1, \
        attempts = CASE WHEN $3 AND attempts > 0 THEN attempts - 1 ELSE attempts END \
    WHERE claim_owner = $1 AND status IN ({claimed}) AND ($4 IS NULL OR id = $4) \
    RETURNING id, installation",
    pending = Pending.as_str(),
    claimed = from_list(Pending, Cause::Release)
);

sql!(
    RENEW_CLAIM = "UPDATE orders SET lease_expires_at = $4 \
    WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status = '{}' \
    RETURNING lease_expires_at",
    InProgress.as_str()
);

sql!(
    COMPLETE_CLAIM = "UPDATE orders SET status = '{to}', completed_at = $4, updated_at = $4, \
        last_http_status = $5, last_error = NULL, stream_order_id = $6, consignment_no = $7, \
        tracking_number = $8, tracking_url = $9, claim_owner = NULL, lease_expires_at = NULL, \
        claimed_from = NULL, written_back_at = NULL, version = version + 1 \
    WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({from}) \
    RETURNING {ORDER_COLUMNS}",
    to = Completed.as_str(),
    from = from_list(Completed, Cause::Complete)
);

/// Takes the oldest pending write-backs of one installation: Completed orders not yet written
/// back to Linnworks and untouched for the grace period (`$2` is now minus the grace). Taking
/// one stamps `updated_at`, so no other caller takes it again for a grace period: concurrent
/// retriers never share a write-back, and one that keeps failing goes to the back of the line.
fn take_write_backs_sql(kind: BackendKind) -> String {
    let completed = Completed.as_str();
    let pick = super::picked(
        kind,
        &format!(
            "SELECT id FROM orders WHERE installation = $1 \
            AND status = '{completed}' AND written_back_at IS NULL AND updated_at < $2 \
            ORDER BY updated_at, id LIMIT $4"
        ),
    );
    format!(
        "{pick} \
        UPDATE orders SET updated_at = $3, version = version + 1 \
        WHERE id IN (SELECT id FROM picked) \
          AND status = '{completed}' AND written_back_at IS NULL AND updated_at < $2 \
        RETURNING {ORDER_COLUMNS}"
    )
}
static TAKE_WRITE_BACKS_PG: LazyLock<String> =
    LazyLock::new(|| take_write_backs_sql(BackendKind::Postgres));
static TAKE_WRITE_BACKS_SQLITE: LazyLock<String> =
    LazyLock::new(|| take_write_backs_sql(BackendKind::Sqlite));

sql!(
    MARK_WRITTEN_BACK = "UPDATE orders SET written_back_at = $3, updated_at = $3, \
        version = version + 1 \
    WHERE installation = $1 AND order_id = $2 AND status = '{}' AND written_back_at IS NULL \
    RETURNING {ORDER_COLUMNS}",
    Completed.as_str()
);

sql!(
    FAIL_CLAIM = "UPDATE orders SET status = '{to}', failed_at = $4, updated_at = $4, \
        last_http_status = $5, last_error = $6, claim_owner = NULL, lease_expires_at = NULL, \
        claimed_from = NULL, version = version + 1 \
    WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({from}) \
    RETURNING {ORDER_COLUMNS}",
    to = Failed.as_str(),
    from = from_list(Failed, Cause::Fail)
);

// Returns a claimed order to the status it was claimed from because Stream could not be
// reached: the send is counted in `deferrals`, so it does not use up MaxRetryAttempts.
sql!(
    DEFER_CLAIM = "UPDATE orders SET status = COALESCE(claimed_from, '{pending}'), \
        updated_at = $4, last_http_status = $5, last_error = $6, deferrals = deferrals + 1, \
        claim_owner = NULL, lease_expires_at = NULL, claimed_from = NULL, version = version + 1 \
    WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({from}) \
    RETURNING {ORDER_COLUMNS}",
    pending = Pending.as_str(),
    from = from_list(Pending, Cause::Defer)
);

sql!(
    FAIL_CLAIM_VALIDATION = "UPDATE orders SET status = '{to}', validation_failed_at = $4, \
        updated_at = $4, last_http_status = NULL, last_error = $5, claim_owner = NULL, \
        lease_expires_at = NULL, claimed_from = NULL, version = version + 1 \
    WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({from}) \
    RETURNING {ORDER_COLUMNS}",
    to = ValidationFailed.as_str(),
    from = from_list(ValidationFailed, Cause::FailValidation)
);

sql!(
    PROMOTE_FAILED = "UPDATE orders SET status = '{to}', retry_ready_at = $3, updated_at = $3, \
        version = version + 1 \
    WHERE installation = $1 AND status IN ({from}) AND attempts - deferrals <= $2",
    to = ReadyForRetry.as_str(),
    from = from_list(ReadyForRetry, Cause::PromoteRetry)
);

sql!(
    SET_VALIDATION_FAILED = "UPDATE orders SET status = '{}', validation_failed_at = $3, \
        updated_at = $3, last_error = $4, last_http_status = NULL, version = version + 1 \
    WHERE id = $1 AND version = $2 RETURNING {ORDER_COLUMNS}",
    ValidationFailed.as_str()
);

sql!(
    SET_REVALIDATED = "UPDATE orders SET status = '{}', updated_at = $3, last_error = NULL, \
        version = version + 1 \
    WHERE id = $1 AND version = $2 RETURNING {ORDER_COLUMNS}",
    Pending.as_str()
);

sql!(
    SET_RESEND = "UPDATE orders SET status = '{}', retry_ready_at = $3, updated_at = $3, \
        attempts = 0, deferrals = 0, version = version + 1 \
    WHERE id = $1 AND version = $2 RETURNING {ORDER_COLUMNS}",
    ReadyForRetry.as_str()
);

sql!(
    SET_DELETED = "UPDATE orders SET status = '{}', deleted_at = $3, updated_at = $3, \
        version = version + 1 \
    WHERE id = $1 AND version = $2 RETURNING {ORDER_COLUMNS}",
    Deleted.as_str()
);

const COUNT_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM orders WHERE installation = $1 GROUP BY status";
const COUNT_ALL_BY_STATUS: &str =
    "SELECT installation, status, COUNT(*) FROM orders GROUP BY installation, status";

/// A single-order change applied by `Store::transition`.
#[derive(Clone, Copy)]
enum Manual<'a> {
    ValidationFailed(&'a str),
    Revalidated,
    Resend,
    Delete,
}

impl Manual<'_> {
    fn target(self) -> (OrderStatus, Cause) {
        match self {
            Manual::ValidationFailed(_) => (ValidationFailed, Cause::FailValidation),
            Manual::Revalidated => (Pending, Cause::Revalidate),
            Manual::Resend => (ReadyForRetry, Cause::ManualResend),
            Manual::Delete => (Deleted, Cause::Delete),
        }
    }
}

/// `order` just moved into its status (counted for `/metrics`); returns it.
fn transitioned(order: Order) -> Order {
    observe::order_transition(&order.installation, order.status);
    order
}

fn sort_oldest_first(orders: &mut [Order]) {
    orders.sort_by_key(|o| (o.created_at, o.id));
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Stores an order fetched from Linnworks: new orders become Pending; known ones keep their
    /// status and get their details refreshed unless they are in flight or done.
    pub async fn upsert_fetched(&self, order: &FetchedOrder) -> StoreResult<(Upserted, Order)> {
        require("installation", &order.installation)?;
        require("Linnworks order id", &order.order_id)?;
        let at = now();
        let snapshot = order.snapshot.as_ref().map(Json);
        let inserted: Option<Order> = with_pool!(self, pool => {
            sqlx::query_as(&INSERT_FETCHED)
                .bind(&order.installation)
                .bind(&order.order_id)
                .bind(order.num_order_id)
                .bind(&order.reference)
                .bind(&order.postal_service_id)
                .bind(&order.postal_service_name)
                .bind(order.order_type.as_str())
                .bind(snapshot)
                .bind(at)
                .fetch_optional(pool)
                .await?
        });
        if let Some(row) = inserted {
            observe::order_transition(&row.installation, row.status);
            return Ok((Upserted::Inserted, row));
        }
        let refreshed: Option<Order> = with_pool!(self, pool => {
            sqlx::query_as(&REFRESH_FETCHED)
                .bind(&order.installation)
                .bind(&order.order_id)
                .bind(order.num_order_id)
                .bind(&order.reference)
                .bind(&order.postal_service_id)
                .bind(&order.postal_service_name)
                .bind(order.order_type.as_str())
                .bind(snapshot)
                .bind(at)
                .fetch_optional(pool)
                .await?
        });
        let row = match refreshed {
            Some(row) => row,
            None => {
                self.order_or_not_found(&order.installation, &order.order_id)
                    .await?
            }
        };
        let outcome = if row.status == ValidationFailed {
            Upserted::ValidationFailed
        } else {
            Upserted::Unchanged
        };
        Ok((outcome, row))
    }

    /// Claims up to `n` (at most 10,000) Pending or Ready for Retry orders of `installation`,
    /// oldest first, for `worker` until `lease` from now; first returns lapsed claims of the
    /// installation to the queue. No two callers ever receive the same order.
    pub async fn claim(
        &self,
        installation: &str,
        n: u32,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<Vec<Order>> {
        require("worker id", worker)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let at = now();
        let expires = at + chrono_duration(lease);
        let limit = sql_limit(n);
        let mut claimed: Vec<Order> = match &self.pool {
            super::Pool::Postgres(pool) => {
                // Two statements, each atomic: a lapsed claim released here is claimable by
                // this call or by any concurrent one.
                sqlx::query(&RELEASE_EXPIRED)
                    .bind(at)
                    .bind(installation)
                    .bind(None::<i64>)
                    .execute(pool)
                    .await?;
                sqlx::query_as(&CLAIM_BATCH_PG)
                    .bind(installation)
                    .bind(worker)
                    .bind(expires)
                    .bind(at)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            super::Pool::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                sqlx::query(&RELEASE_EXPIRED)
                    .bind(at)
                    .bind(installation)
                    .bind(None::<i64>)
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as(&CLAIM_BATCH_SQLITE)
                    .bind(installation)
                    .bind(worker)
                    .bind(expires)
                    .bind(at)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
        };
        sort_oldest_first(&mut claimed);
        claimed
            .iter()
            .for_each(|o| observe::order_transition(installation, o.status));
        Ok(claimed)
    }

    /// Claims one named order (manual send, label on demand). Fails with `AlreadyInProgress`
    /// while another worker holds it, and with `IllegalTransition` unless it is Pending or Ready
    /// for Retry.
    pub async fn claim_order(
        &self,
        installation: &str,
        order_id: &str,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<Order> {
        require("worker id", worker)?;
        for _ in 0..OPTIMISTIC_TRIES {
            let current = self.order_or_not_found(installation, order_id).await?;
            let at = now();
            if current.status == InProgress {
                let lapsed = current.lease_expires_at.is_none_or(|t| t < at);
                if !lapsed {
                    return Err(StoreError::AlreadyInProgress {
                        installation: installation.into(),
                        order_id: order_id.into(),
                    });
                }
                self.release_lapsed(at, Some(installation), Some(current.id))
                    .await?;
                continue;
            }
            check_transition(current.status, InProgress, Cause::Claim).map_err(|e| {
                StoreError::IllegalTransition {
                    installation: installation.into(),
                    order_id: order_id.into(),
                    from: e.from,
                    to: e.to,
                }
            })?;
            let claimed: Option<Order> = with_pool!(self, pool => {
                sqlx::query_as(&CLAIM_ONE)
                    .bind(current.id)
                    .bind(worker)
                    .bind(at + chrono_duration(lease))
                    .bind(at)
                    .bind(current.version)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(order) = claimed {
                observe::order_transition(installation, order.status);
                return Ok(order);
            }
        }
        Err(StoreError::Contended {
            installation: installation.into(),
            order_id: order_id.into(),
        })
    }

    /// Extends a claim's lease to `lease` from now, for sends that take long; returns the new
    /// expiry. Fails with `OrderClaimLost` if the claim is no longer held.
    pub async fn renew_claim(
        &self,
        claim: &OrderClaim,
        lease: Duration,
    ) -> StoreResult<chrono::DateTime<chrono::Utc>> {
        let expires = now() + chrono_duration(lease);
        let renewed: Option<(chrono::DateTime<chrono::Utc>,)> = with_pool!(self, pool => {
            sqlx::query_as(&RENEW_CLAIM)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(expires)
                .fetch_optional(pool)
                .await?
        });
        match renewed {
            Some((t,)) => Ok(t),
            None => Err(self.claim_lost(claim).await),
        }
    }

    /// Records that Stream accepted a claimed order: In Progress -> Completed, with the Stream
    /// order id, consignment, tracking number and URL.
    pub async fn complete_claim(
        &self,
        claim: &OrderClaim,
        result: &SendSuccess,
    ) -> StoreResult<Order> {
        let done: Option<Order> = with_pool!(self, pool => {
            sqlx::query_as(&COMPLETE_CLAIM)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(now())
                .bind(result.http_status)
                .bind(&result.stream_order_id)
                .bind(&result.consignment_no)
                .bind(&result.tracking_number)
                .bind(&result.tracking_url)
                .fetch_optional(pool)
                .await?
        });
        match done {
            Some(order) => Ok(transitioned(order)),
            None => Err(self.claim_lost(claim).await),
        }
    }

    /// Records that a send failed: In Progress -> Failed, with the HTTP status and error.
    pub async fn fail_claim(
        &self,
        claim: &OrderClaim,
        failure: &SendFailure,
    ) -> StoreResult<Order> {
        self.end_claim_failed(&FAIL_CLAIM, claim, failure)
            .await
            .map(transitioned)
    }

    /// Records that a send could not reach Stream (down, timing out, 5xx, 429): the order goes
    /// back to the status it was claimed from (Pending or Ready for Retry), with the error
    /// kept, and the send does not count against MaxRetryAttempts. `attempts` still grows, so
    /// the next send looks the order up in Stream before creating it (the lost attempt may
    /// have landed).
    pub async fn defer_claim(
        &self,
        claim: &OrderClaim,
        failure: &SendFailure,
    ) -> StoreResult<Order> {
        self.end_claim_failed(&DEFER_CLAIM, claim, failure).await
    }

    /// Ends a claim with a failed send, by `sql` (Failed, or deferred back to the queue).
    async fn end_claim_failed(
        &self,
        sql: &str,
        claim: &OrderClaim,
        failure: &SendFailure,
    ) -> StoreResult<Order> {
        let done: Option<Order> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(now())
                .bind(failure.http_status)
                .bind(&failure.error)
                .fetch_optional(pool)
                .await?
        });
        match done {
            Some(order) => Ok(order),
            None => Err(self.claim_lost(claim).await),
        }
    }

    /// Records that a claimed order failed validation: In Progress -> Validation Failed.
    pub async fn fail_claim_validation(
        &self,
        claim: &OrderClaim,
        message: &str,
    ) -> StoreResult<Order> {
        let done: Option<Order> = with_pool!(self, pool => {
            sqlx::query_as(&FAIL_CLAIM_VALIDATION)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(now())
                .bind(message)
                .fetch_optional(pool)
                .await?
        });
        match done {
            Some(order) => Ok(transitioned(order)),
            None => Err(self.claim_lost(claim).await),
        }
    }

    /// Records that a Completed order's write-back to Linnworks (tracking number, tracking
    /// URL, identifiers) is done. Returns the order, or `None` when it is not Completed or was
    /// already written back (so at most one caller sees `Some`).
    pub async fn mark_written_back(
        &self,
        installation: &str,
        order_id: &str,
    ) -> StoreResult<Option<Order>> {
        require("installation", installation)?;
        require("Linnworks order id", order_id)?;
        let row = with_pool!(self, pool => {
            sqlx::query_as(&MARK_WRITTEN_BACK)
                .bind(installation)
                .bind(order_id)
                .bind(now())
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Takes up to `n` (0: the default limit) Completed orders of `installation` whose
    /// write-back to Linnworks is pending and that nobody has touched for `grace` (their
    /// sender, or an earlier retry, has given up on them), oldest first. Each taken order is
    /// stamped (`updated_at`), so no caller takes it again before another `grace` has passed:
    /// concurrent retriers never get the same order, and one that keeps failing is retried
    /// once per `grace`, behind the others.
    pub async fn take_pending_write_backs(
        &self,
        installation: &str,
        grace: Duration,
        n: u32,
    ) -> StoreResult<Vec<Order>> {
        require("installation", installation)?;
        let at = now();
        let cutoff = at - chrono_duration(grace);
        let limit = sql_limit(n);
        let mut taken: Vec<Order> = fetch_all_claiming!(
            self,
            &TAKE_WRITE_BACKS_PG,
            &TAKE_WRITE_BACKS_SQLITE,
            [installation, cutoff, at, limit]
        );
        taken.sort_by_key(|o| (o.completed_at, o.id));
        Ok(taken)
    }

    /// Moves Failed orders of `installation` to Ready for Retry while they have had fewer than
    /// `max_retry_attempts` retries (an order is sent at most 1 + MaxRetryAttempts times, not
    /// counting sends deferred because Stream was unavailable);
    /// returns how many moved.
    pub async fn promote_failed(
        &self,
        installation: &str,
        max_retry_attempts: u32,
    ) -> StoreResult<u64> {
        let result = with_pool!(self, pool => {
            sqlx::query(&PROMOTE_FAILED)
                .bind(installation)
                .bind(i64::from(max_retry_attempts))
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        observe::order_transitions(installation, ReadyForRetry, result);
        Ok(result)
    }

    /// Returns every In Progress order whose lease has lapsed (its worker died or hung) to the
    /// status it was claimed from; returns how many.
    pub async fn release_expired(&self) -> StoreResult<u64> {
        self.release_lapsed(now(), None, None).await
    }

    /// Hands every claim `worker` still holds back to the queue at once (an orderly
    /// shutdown), each to the status it was claimed from; returns how many. The orders in
    /// `stream_started` (row ids) may have reached Stream: their attempt counts, so their
    /// next send looks them up in Stream first. The others get their attempt back.
    pub async fn release_claims(&self, worker: &str, stream_started: &[i64]) -> StoreResult<u64> {
        require("worker id", worker)?;
        let at = now();
        let mut released = 0;
        // Few (a batch or two in flight), so one statement each is fine.
        for id in stream_started {
            released += self
                .release_claims_where(worker, at, false, Some(*id))
                .await?;
        }
        released += self.release_claims_where(worker, at, true, None).await?;
        Ok(released)
    }

    async fn release_claims_where(
        &self,
        worker: &str,
        at: chrono::DateTime<chrono::Utc>,
        give_back_attempt: bool,
        id: Option<i64>,
    ) -> StoreResult<u64> {
        let released: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(&RELEASE_CLAIMS)
                .bind(worker)
                .bind(at)
                .bind(give_back_attempt)
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        // Back in the queue: whichever process serves the installation sends them now.
        let n = released.len() as u64;
        let installations: Vec<String> = released.into_iter().map(|(_, i)| i).collect();
        self.wake_all_of(&installations, Work::Send).await;
        Ok(n)
    }

    async fn release_lapsed(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        installation: Option<&str>,
        id: Option<i64>,
    ) -> StoreResult<u64> {
        let released: Vec<(i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(&RELEASE_EXPIRED)
                .bind(at)
                .bind(installation)
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        // One order taken over by its caller needs no signal; a sweep wakes the senders.
        let n = released.len() as u64;
        if id.is_none() {
            let installations: Vec<String> = released.into_iter().map(|(_, i)| i).collect();
            self.wake_all_of(&installations, Work::Send).await;
        }
        Ok(n)
    }

    /// Marks an order invalid at fetch time (Pending -> Validation Failed), or updates the
    /// message of one already Validation Failed. An In Progress order must be failed through
    /// its claim (`fail_claim_validation`).
    pub async fn mark_validation_failed(
        &self,
        installation: &str,
        order_id: &str,
        message: &str,
    ) -> StoreResult<Order> {
        self.transition(installation, order_id, Manual::ValidationFailed(message))
            .await
    }

    /// Puts a re-fetched, now valid order back in the queue: Validation Failed -> Pending.
    pub async fn mark_revalidated(&self, installation: &str, order_id: &str) -> StoreResult<Order> {
        self.transition(installation, order_id, Manual::Revalidated)
            .await
    }

    /// Manual resend of a Failed order: Failed -> Ready for Retry with the attempt count reset.
    pub async fn resend(&self, installation: &str, order_id: &str) -> StoreResult<Order> {
        // No wake-up here: the manual send that calls this claims the order next, and a
        // woken scheduler must not take it first (see `sync::manual::send_selected`).
        self.transition(installation, order_id, Manual::Resend)
            .await
    }

    /// Records a manual delete of a Completed order: Completed -> Deleted.
    pub async fn mark_deleted(&self, installation: &str, order_id: &str) -> StoreResult<Order> {
        self.transition(installation, order_id, Manual::Delete)
            .await
    }

    /// Reads the row, checks the change against the lifecycle, and writes it only if nobody
    /// wrote the row in between (same version); re-reads and re-checks after losing a race.
    async fn transition(
        &self,
        installation: &str,
        order_id: &str,
        change: Manual<'_>,
    ) -> StoreResult<Order> {
        let (to, cause) = change.target();
        for _ in 0..OPTIMISTIC_TRIES {
            let current = self.order_or_not_found(installation, order_id).await?;
            let restating = matches!(change, Manual::ValidationFailed(_)) && current.status == to;
            if current.status == InProgress && matches!(change, Manual::ValidationFailed(_)) {
                return Err(StoreError::AlreadyInProgress {
                    installation: installation.into(),
                    order_id: order_id.into(),
                });
            }
            if !restating {
                check_transition(current.status, to, cause).map_err(|e| {
                    StoreError::IllegalTransition {
                        installation: installation.into(),
                        order_id: order_id.into(),
                        from: e.from,
                        to: e.to,
                    }
                })?;
            }
            let at = now();
            let written: Option<Order> = with_pool!(self, pool => {
                let query = match change {
                    Manual::ValidationFailed(message) => sqlx::query_as(&SET_VALIDATION_FAILED)
                        .bind(current.id)
                        .bind(current.version)
                        .bind(at)
                        .bind(message),
                    Manual::Revalidated => sqlx::query_as(&SET_REVALIDATED)
                        .bind(current.id)
                        .bind(current.version)
                        .bind(at),
                    Manual::Resend => sqlx::query_as(&SET_RESEND)
                        .bind(current.id)
                        .bind(current.version)
                        .bind(at),
                    Manual::Delete => sqlx::query_as(&SET_DELETED)
                        .bind(current.id)
                        .bind(current.version)
                        .bind(at),
                };
                query.fetch_optional(pool).await?
            });
            if let Some(order) = written {
                if !restating {
                    observe::order_transition(installation, order.status);
                }
                return Ok(order);
            }
        }
        Err(StoreError::Contended {
            installation: installation.into(),
            order_id: order_id.into(),
        })
    }

    /// One order by (installation, Linnworks order id).
    pub async fn order(&self, installation: &str, order_id: &str) -> StoreResult<Option<Order>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_BY_KEY)
                .bind(installation)
                .bind(order_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// One order by its internal row id.
    pub async fn order_by_row_id(&self, id: i64) -> StoreResult<Option<Order>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_BY_ID).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// The newest order of `installation` with this Stream consignment number (webhooks match
    /// orders by it).
    pub async fn order_by_consignment(
        &self,
        installation: &str,
        consignment_no: &str,
    ) -> StoreResult<Option<Order>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_BY_CONSIGNMENT)
                .bind(installation)
                .bind(consignment_no)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// The newest order of `installation` with this Linnworks order number (NumOrderId), as
    /// the shipping-integration calls name orders.
    pub async fn order_by_num_order_id(
        &self,
        installation: &str,
        num_order_id: i64,
    ) -> StoreResult<Option<Order>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_BY_NUM)
                .bind(installation)
                .bind(num_order_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// The newest order of `installation` with exactly this Linnworks reference number.
    pub async fn order_by_reference(
        &self,
        installation: &str,
        reference: &str,
    ) -> StoreResult<Option<Order>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_BY_REFERENCE)
                .bind(installation)
                .bind(reference)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// A page of one installation's orders, newest first, optionally of one status and
    /// matching a search text; with the number of matching orders.
    pub async fn list_orders(&self, query: &OrderQuery) -> StoreResult<OrderPage> {
        let limit = sql_limit(query.limit);
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let search = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let page = with_pool!(self, pool => {
            let filter = |qb: &mut sqlx::QueryBuilder<'_, _>| {
                qb.push(" WHERE installation = ").push_bind(query.installation.clone());
                if let Some(status) = query.status {
                    qb.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(s) = search {
                    qb.push(" AND (order_id = ").push_bind(s.to_string());
                    qb.push(" OR CAST(num_order_id AS TEXT) = ").push_bind(s.to_string());
                    qb.push(" OR stream_order_id = ").push_bind(s.to_string());
                    qb.push(" OR consignment_no = ").push_bind(s.to_string());
                    qb.push(" OR LOWER(reference) LIKE ").push_bind(escape_like(s));
                    qb.push(" ESCAPE '\\')");
                }
            };
            let mut count = super::builder(pool, "SELECT COUNT(*) FROM orders");
            filter(&mut count);
            let (total,): (i64,) = count.build_query_as().fetch_one(pool).await?;
            let mut rows = super::builder(pool, &format!("SELECT {ORDER_COLUMNS} FROM orders"));
            filter(&mut rows);
            rows.push(" ORDER BY created_at DESC, id DESC LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset);
            let orders: Vec<Order> = rows.build_query_as().fetch_all(pool).await?;
            OrderPage {
                orders,
                total: u64::try_from(total).unwrap_or(0),
            }
        });
        Ok(page)
    }

    /// Orders per status for one installation.
    pub async fn queue_counts(&self, installation: &str) -> StoreResult<QueueCounts> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(COUNT_BY_STATUS).bind(installation).fetch_all(pool).await?
        });
        let mut counts = QueueCounts::default();
        for (status, n) in rows {
            let status: OrderStatus = status
                .parse()
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?;
            counts.set(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    /// When each order of `installation` sent to Stream since `since` completed (its last
    /// successful send), oldest first: the overview's "orders sent" charts bucket these.
    pub async fn sent_since(
        &self,
        installation: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<chrono::DateTime<chrono::Utc>>> {
        let rows: Vec<(chrono::DateTime<chrono::Utc>,)> = with_pool!(self, pool => {
            sqlx::query_as(SENT_SINCE).bind(installation).bind(since).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }

    /// Orders per status for every installation that has orders.
    pub async fn queue_counts_all(&self) -> StoreResult<BTreeMap<String, QueueCounts>> {
        let rows: Vec<(String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(COUNT_ALL_BY_STATUS).fetch_all(pool).await?
        });
        let mut all: BTreeMap<String, QueueCounts> = BTreeMap::new();
        for (installation, status, n) in rows {
            let status: OrderStatus = status
                .parse()
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?;
            all.entry(installation)
                .or_default()
                .set(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(all)
    }

    async fn order_or_not_found(&self, installation: &str, order_id: &str) -> StoreResult<Order> {
        self.order(installation, order_id)
            .await?
            .ok_or_else(|| StoreError::OrderNotFound {
                installation: installation.into(),
                order_id: order_id.into(),
            })
    }

    /// Why a claim-checked write matched no row.
    async fn claim_lost(&self, claim: &OrderClaim) -> StoreError {
        match self.order_by_row_id(claim.id).await {
            Ok(Some(order)) => StoreError::OrderClaimLost {
                installation: claim.installation.clone(),
                order_id: claim.order_id.clone(),
                owner: claim.owner.clone(),
                status: order.status,
            },
            Ok(None) => StoreError::OrderNotFound {
                installation: claim.installation.clone(),
                order_id: claim.order_id.clone(),
            },
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("AB_1%"), "%ab\\_1\\%%");
        assert_eq!(escape_like("x\\y"), "%x\\\\y%");
    }

    #[test]
    fn batch_statements_use_the_lifecycle_table() {
        assert!(CLAIM_BATCH_PG.contains("status IN ('Pending', 'ReadyForRetry')"));
        assert!(CLAIM_BATCH_PG.contains("FOR UPDATE SKIP LOCKED"));
        assert!(!CLAIM_BATCH_SQLITE.contains("SKIP LOCKED"));
        assert!(PROMOTE_FAILED.contains("status IN ('Failed')"));
        assert!(RELEASE_EXPIRED.contains("status IN ('InProgress')"));
        assert!(COMPLETE_CLAIM.contains("status IN ('InProgress')"));
        assert!(COMPLETE_CLAIM.contains("written_back_at = NULL"));
        assert!(TAKE_WRITE_BACKS_PG.contains("FOR UPDATE SKIP LOCKED"));
        assert!(!TAKE_WRITE_BACKS_SQLITE.contains("SKIP LOCKED"));
    }
}
