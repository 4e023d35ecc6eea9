//! The overview: one installation at a glance, for the dashboard's charts and the plugin's
//! status. Orders by status, orders sent per hour over the last 24 hours and the last 7
//! days (hourly buckets, oldest first, the current hour last), the failure rate, the
//! webhook backlog and every job's last run; and the label preview of one order.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::OrderStatus;

use super::AdminState;
use super::error::ApiError;
use super::params::Params;
use super::queries::job_views;

/// One hour of the sent-orders charts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HourBucket {
    /// The hour's start (UTC).
    pub start: DateTime<Utc>,
    pub sent: u64,
}

/// `hours` hourly buckets ending with the hour holding `now`, counting `sent` (sorted or
/// not); times outside the window are left out.
pub fn hourly(sent: &[DateTime<Utc>], now: DateTime<Utc>, hours: i64) -> Vec<HourBucket> {
    let current = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let first = current - Duration::hours(hours - 1);
    let mut buckets: Vec<HourBucket> = (0..hours)
        .map(|i| HourBucket {
            start: first + Duration::hours(i),
            sent: 0,
        })
        .collect();
    for at in sent {
        let index = (*at - first).num_hours();
        if *at >= first
            && let Some(bucket) = usize::try_from(index).ok().and_then(|i| buckets.get_mut(i))
        {
            bucket.sent += 1;
        }
    }
    buckets
}

pub(crate) async fn overview(
    State(s): State<AdminState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let inst = s.installation(&namespace, &name)?;
    let installation = inst.key.id();
    let store = s.engine.store();
    let now = Utc::now();
    let queue = store.queue_counts(&installation).await?;
    let week = hourly(&[], now, 24 * 7);
    let since = week.first().map_or(now, |b| b.start);
    let sent = store.sent_since(&installation, since).await?;
    let per_hour_7d = hourly(&sent, now, 24 * 7);
    let per_hour_24h = hourly(&sent, now, 24);
    let failing = queue.get(OrderStatus::Failed) + queue.get(OrderStatus::ValidationFailed);
    // Deleted orders left the queue on purpose; they count neither way.
    let live = queue.total() - queue.get(OrderStatus::Deleted);
    let failure_rate = if live == 0 {
        0.0
    } else {
        failing as f64 / live as f64
    };
    let webhooks = store.webhook_counts(&installation).await?;
    let jobs = job_views(&s, &inst).await?;
    Ok(Json(json!({
        "installation": installation,
        "now": now,
        "queue": queue,
        "failing": failing,
        "failureRate": failure_rate,
        "sentLast24h": per_hour_24h.iter().map(|b| b.sent).sum::<u64>(),
        "sentLast7d": per_hour_7d.iter().map(|b| b.sent).sum::<u64>(),
        "sentPerHour24h": per_hour_24h,
        "sentPerHour7d": per_hour_7d,
        "webhooks": webhooks,
        "webhookBacklog": webhooks.pending + webhooks.ready_for_retry,
        "jobs": jobs,
    })))
}

/// The label the gateway would print for a Completed order, as a PNG.
pub(crate) async fn label_preview(
    State(s): State<AdminState>,
    Path((namespace, name, order_id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let inst = s.installation(&namespace, &name)?;
    let installation = inst.key.id();
    let Some(order) = s.engine.store().order(&installation, &order_id).await? else {
        return Err(ApiError::not_found(format!(
            "order {order_id} is not in the queue of installation {installation}"
        )));
    };
    let png =
        tokio::task::spawn_blocking(move || crate::server::gateway::preview_png(&inst, &order))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("label rendering stopped: {e}"),
                )
            })?
            .map_err(ApiError::conflict)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_fall_in_their_hour_and_old_ones_are_left_out() {
        let now: DateTime<Utc> = "2026-03-02T10:30:00Z".parse().expect("time");
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let sent = [
            at("2026-03-02T10:05:00Z"),
            at("2026-03-02T10:29:59Z"),
            at("2026-03-02T09:00:00Z"),
            at("2026-03-01T11:00:00Z"),
            at("2026-03-01T10:59:59Z"),
        ];
        let b = hourly(&sent, now, 24);
        assert_eq!(b.len(), 24);
        assert_eq!(b[0].start, at("2026-03-01T11:00:00Z"));
        assert_eq!(b[0].sent, 1);
        assert_eq!(b[22].sent, 1);
        assert_eq!(b[23].start, at("2026-03-02T10:00:00Z"));
        assert_eq!(b[23].sent, 2);
        assert_eq!(b.iter().map(|x| x.sent).sum::<u64>(), 4);
    }
}
