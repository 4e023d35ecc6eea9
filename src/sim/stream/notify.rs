//! Webhook notifications: built per matching subscription, delivered in the background with
//! a few retries, every attempt recorded for `GET /_sim/webhooks`.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use super::Shared;
use super::state::{Attempt, Delivery, Subscription};

/// The event-specific members of a notification (besides `subscription`).
pub struct Notice {
    pub code: String,
    pub event: Value,
    /// Run-level: `run`, `orders` (and `group` for PLANNEDGROUP). Order-level: `order`.
    pub members: serde_json::Map<String, Value>,
}

fn body_for(sub: &Subscription, notice: &Notice) -> Value {
    let mut webhook = serde_json::Map::new();
    webhook.insert(
        "subscription".into(),
        json!({
            "party_id": sub.client_id,
            "id": sub.id,
            "event": sub.event,
            "event_type": sub.event_type,
            "url_path": sub.url,
            "http_method": sub.http_method,
        }),
    );
    webhook.insert("event".into(), notice.event.clone());
    webhook.extend(notice.members.clone());
    json!({ "webhook": webhook })
}

/// Queues a notification to every subscription of `client_id` that wants `notice.code`;
/// returns how many were queued.
pub fn dispatch(shared: &Arc<Shared>, client_id: &str, notice: &Notice) -> usize {
    let jobs: Vec<(u64, Subscription, Value)> = {
        let mut inner = shared.lock();
        let subs: Vec<Subscription> = inner
            .subscriptions
            .iter()
            .filter(|s| s.client_id == client_id && s.matches(&notice.code))
            .cloned()
            .collect();
        subs.into_iter()
            .map(|sub| {
                inner.next_delivery += 1;
                let id = inner.next_delivery;
                let body = body_for(&sub, notice);
                inner.deliveries.push(Delivery {
                    id,
                    subscription_id: sub.id,
                    party_id: sub.client_id.clone(),
                    event_code: notice.code.clone(),
                    url: sub.url.clone(),
                    state: "pending".into(),
                    auth_header_sent: sub.auth_header.is_some(),
                    body: body.clone(),
                    attempts: Vec::new(),
                });
                (id, sub, body)
            })
            .collect()
    };
    let queued = jobs.len();
    for (id, sub, body) in jobs {
        tokio::spawn(deliver(shared.clone(), id, sub, body));
    }
    queued
}

async fn deliver(shared: Arc<Shared>, id: u64, sub: Subscription, body: Value) {
    let max = shared.config.webhook_max_attempts.max(1);
    let mut delay = shared.config.webhook_retry_delay;
    for attempt in 1..=max {
        let method = if sub.http_method == "PUT" {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let mut request = shared
            .http
            .request(method, &sub.url)
            .header(reqwest::header::CONTENT_TYPE, &sub.content_type)
            .timeout(shared.config.webhook_timeout)
            .body(body.to_string());
        if let Some(secret) = &sub.auth_header {
            request = request.header(shared.config.webhook_auth_header_name.as_str(), secret);
        }
        let (status, error) = match request.send().await {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(describe(e))),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let last = ok || attempt == max;
        {
            let mut inner = shared.lock();
            if let Some(d) = inner.deliveries.iter_mut().find(|d| d.id == id) {
                d.attempts.push(Attempt {
                    attempt,
                    at: Utc::now(),
                    status,
                    error,
                    ok,
                });
                if last {
                    d.state = if ok { "delivered" } else { "failed" }.into();
                }
            }
        }
        if last {
            if !ok {
                tracing::warn!(delivery = id, url = %sub.url, "Stream simulator gave up delivering a webhook");
            }
            return;
        }
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2);
    }
}

/// A transport error without the URL's query (which might hold a secret).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}
