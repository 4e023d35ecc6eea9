//! The read side of the admin API: installations, orders, one order with its audit trail,
//! the audit log, the scheduler's jobs and the webhook events.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use chrono::Utc;
use serde_json::{Value, json};

use crate::config::InstallationConfig;
use crate::domain::Job;
use crate::domain::job::DATABASE_WIDE;
use crate::domain::{AuditAction, OrderStatus};
use crate::store::{AuditQuery, OrderQuery};
use crate::sync::breaker::AccountKey;
use crate::sync::scheduler::HEARTBEAT_INTERVAL;

use super::auth::Caller;
use super::error::ApiError;
use super::jobs::{JobFacts, JobView, assess, describe_schedule, enabled};
use super::params::Params;
use super::views::{AuditView, InstallationView, OrderView};
use super::{API_PREFIX, AdminState};

type Reply = Result<Json<Value>, ApiError>;

/// Longest search text, order id or correlation id accepted.
const MAX_TEXT: usize = 200;
/// Runs looked at per job for the last success.
const RUNS_PER_JOB: u32 = 50;

pub async fn not_found() -> ApiError {
    ApiError::not_found(format!(
        "no such admin API call; see docs/admin.md (calls start with {API_PREFIX}/installations)"
    ))
}

/// Who the caller is, the CSRF token a dashboard session must send with its writes, and
/// the selection limits of the actions.
pub async fn session(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
) -> Reply {
    Params::parse(q.as_deref(), &[])?;
    let settings = s.engine.settings();
    Ok(Json(json!({
        "actor": caller.actor(),
        "tokenName": caller.token_name,
        "user": caller.user,
        "csrfToken": caller.csrf,
        "limits": {
            "maxUserSelectedOrders": settings.max_user_selected_orders,
            "maxUserSelectedOrdersForDelete": settings.max_user_selected_orders_for_delete,
        },
    })))
}

pub async fn installations(State(s): State<AdminState>, RawQuery(q): RawQuery) -> Reply {
    Params::parse(q.as_deref(), &[])?;
    let store = s.engine.store();
    let mut out = Vec::new();
    for inst in s.engine.installations() {
        let id = inst.key.id();
        let jobs = job_views(&s, &inst).await?;
        out.push(InstallationView {
            namespace: inst.key.namespace.clone(),
            name: inst.key.name.clone(),
            suspended: inst.spec.suspend,
            order_sync_enabled: inst.spec.sync.order_sync_enabled,
            webhooks_enabled: inst.spec.webhooks.enabled,
            webhook_path: crate::domain::webhook::webhook_path(&inst.key),
            queue: store.queue_counts(&id).await?,
            webhooks: store.webhook_counts(&id).await?,
            overdue_jobs: jobs
                .iter()
                .filter(|j| j.overdue)
                .map(|j| j.job.to_string())
                .collect(),
            stream_breaker: s.engine.breakers().view(&AccountKey::of(&inst)),
            id,
        });
    }
    Ok(Json(json!({ "installations": out })))
}

pub async fn orders(
    State(s): State<AdminState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Reply {
    let p = Params::parse(q.as_deref(), &["status", "search", "offset", "limit"])?;
    let query = OrderQuery {
        installation: s.installation(&namespace, &name)?.key.id(),
        status: p.choice("status", OrderStatus::ALL, OrderStatus::label)?,
        search: p.text("search", MAX_TEXT)?,
        offset: p.number("offset", 0, 0, 10_000_000)?,
        limit: u32::try_from(p.number("limit", 50, 1, 500)?).unwrap_or(500),
    };
    let store = s.engine.store();
    let page = store.list_orders(&query).await?;
    let counts = store.queue_counts(&query.installation).await?;
    let orders: Vec<OrderView> = page
        .orders
        .into_iter()
        .map(|o| OrderView::new(o, false))
        .collect();
    Ok(Json(json!({
        "installation": query.installation,
        "total": page.total,
        "offset": query.offset,
        "limit": query.limit,
        "counts": counts,
        "orders": orders,
    })))
}

pub async fn order(
    State(s): State<AdminState>,
    Path((namespace, name, order_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Reply {
    Params::parse(q.as_deref(), &[])?;
    let installation = s.installation(&namespace, &name)?.key.id();
    let store = s.engine.store();
    let Some(order) = store.order(&installation, &order_id).await? else {
        return Err(ApiError::not_found(format!(
            "order {order_id} is not in the queue of installation {installation}"
        )));
    };
    let trail = store
        .audit_entries(&AuditQuery {
            installation: Some(installation.clone()),
            order_id: Some(order_id.clone()),
            limit: 500,
            ..AuditQuery::default()
        })
        .await?;
    let trail: Vec<AuditView> = trail.into_iter().map(AuditView::from).collect();
    Ok(Json(json!({
        "installation": installation,
        "order": OrderView::new(order, true),
        "audit": trail,
    })))
}

pub async fn audit(
    State(s): State<AdminState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Reply {
    let p = Params::parse(
        q.as_deref(),
        &["orderId", "correlationId", "action", "from", "to", "limit"],
    )?;
    let query = AuditQuery {
        installation: Some(s.installation(&namespace, &name)?.key.id()),
        order_id: p.text("orderId", MAX_TEXT)?,
        correlation_id: p.text("correlationId", MAX_TEXT)?,
        action: p.choice("action", AuditAction::ALL, AuditAction::label)?,
        from: p.time("from")?,
        to: p.time("to")?,
        limit: u32::try_from(p.number("limit", 100, 1, 1000)?).unwrap_or(1000),
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && to <= from
    {
        return Err(ApiError::parameter("to", "must be later than from"));
    }
    let entries: Vec<AuditView> = s
        .engine
        .store()
        .audit_entries(&query)
        .await?
        .into_iter()
        .map(AuditView::from)
        .collect();
    Ok(Json(json!({
        "installation": query.installation,
        "limit": query.limit,
        "entries": entries,
    })))
}

/// Each job's view for one installation (every known job, enabled or not).
pub(crate) async fn job_views(
    s: &AdminState,
    inst: &InstallationConfig,
) -> Result<Vec<JobView>, ApiError> {
    let store = s.engine.store();
    let installation = inst.key.id();
    let now = Utc::now();
    let times = &inst.times;
    let scheduled_since = store
        .workers()
        .await?
        .into_iter()
        .filter(|w| w.installation.as_deref() == Some(installation.as_str()))
        .map(|w| w.started_at)
        .min();
    let mut views = Vec::with_capacity(Job::ALL.len());
    for job in Job::ALL {
        let owner = if job.is_database_wide() {
            DATABASE_WIDE
        } else {
            installation.as_str()
        };
        let runs = store.job_runs(owner, job.name(), RUNS_PER_JOB).await?;
        let next_run_at = store.next_run(owner, job.name()).await?;
        let facts = JobFacts {
            job,
            enabled: enabled(job, &inst.spec),
            times,
            runs: &runs,
            next_run_at,
            scheduled_since,
            now,
        };
        views.push(assess(&facts, describe_schedule(job, &inst.spec)));
    }
    Ok(views)
}

pub async fn jobs(
    State(s): State<AdminState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Reply {
    Params::parse(q.as_deref(), &[])?;
    let inst = s.installation(&namespace, &name)?;
    let installation = inst.key.id();
    let jobs = job_views(&s, &inst).await?;
    let now = Utc::now();
    // A loop beats every HEARTBEAT_INTERVAL; three missed beats and it counts as gone.
    let live_after = now - chrono::Duration::from_std(HEARTBEAT_INTERVAL * 3).unwrap_or_default();
    let workers: Vec<Value> = s
        .engine
        .store()
        .workers()
        .await?
        .into_iter()
        .filter(|w| w.installation.as_deref() == Some(installation.as_str()))
        .map(|w| {
            json!({
                "workerId": w.worker_id,
                "process": w.process,
                "startedAt": w.started_at,
                "lastBeatAt": w.last_beat_at,
                "live": w.last_beat_at >= live_after,
            })
        })
        .collect();
    Ok(Json(json!({
        "installation": installation,
        "now": now,
        "suspended": inst.spec.suspend,
        "jobs": jobs,
        "workers": workers,
        "streamBreaker": s.engine.breakers().view(&AccountKey::of(&inst)),
    })))
}
