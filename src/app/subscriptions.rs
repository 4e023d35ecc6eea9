//! Points Stream's webhooks at this process's receiver: for every installation with webhooks
//! enabled, one subscription per event code the integration acts on (DISPATCHED only with
//! IsOrderDispatchSyncEnabled). Stale subscriptions to
//! the same URL (an earlier run, an old token) are replaced, so Stream never holds two.

use crate::config::InstallationConfig;
use crate::server::webhooks::WebhookAuth;
use crate::stream::WebhookSubscription;
use crate::stream::subscriptions as diff;
use crate::sync::Engine;

use crate::domain::EventCode;

/// Where Stream sends an installation's webhooks, when they are enabled.
pub fn webhook_url(inst: &InstallationConfig) -> Option<String> {
    let base = inst.spec.webhooks.public_base_url.as_deref()?;
    inst.spec
        .webhooks
        .enabled
        .then(|| crate::domain::webhook::webhook_url(base, &inst.key))
}

/// Subscribes one installation; returns how many subscriptions it now has.
pub async fn ensure(
    engine: &Engine,
    inst: &InstallationConfig,
    auth: &WebhookAuth,
) -> anyhow::Result<usize> {
    let Some(url) = webhook_url(inst) else {
        return Ok(0);
    };
    let token = auth
        .token_for(&inst.key)
        .ok_or_else(|| anyhow::anyhow!("no webhook token for {}", inst.key))?;
    let stream = engine.clients(inst)?.stream;
    let events = EventCode::subscribed_codes(inst.spec.sync.order_dispatch_sync_enabled);
    let plan = diff::plan(
        &diff::Wanted {
            url: &url,
            auth: &token,
            events: &events,
        },
        diff::Held::listed_at(stream.subscriptions().await?, &url),
    );
    for stale in plan.replace.iter().chain(&plan.retire) {
        stream.unsubscribe(&stale.id).await?;
    }
    for event in &plan.create {
        stream
            .subscribe(&WebhookSubscription::post_json(
                event,
                &url,
                Some(token.clone()),
            ))
            .await?;
    }
    Ok(events.len())
}

/// Subscribes every installation, logging (not failing on) the ones Stream refuses, so one
/// bad account does not stop the others.
pub async fn ensure_all(engine: &Engine, auth: &WebhookAuth) {
    for inst in engine.installations() {
        match ensure(engine, &inst, auth).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(installation = %inst.key, subscriptions = n, "Stream webhooks point at {}", webhook_url(&inst).unwrap_or_default())
            }
            Err(e) => {
                tracing::error!(installation = %inst.key, "could not subscribe to Stream webhooks: {e}")
            }
        }
    }
}
