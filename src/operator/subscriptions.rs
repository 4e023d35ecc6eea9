//! Stream webhook subscriptions of an Installation. With webhooks enabled, the operator
//! subscribes the receiver's public URL to the event codes the guide lists, with the
//! generated token as the auth header Stream echoes, and records the subscription ids in
//! status. A finalizer makes sure they are removed when the Installation is deleted; it
//! never blocks deletion for ever (see [`cleanup`]).
//!
//! Subscribing is not idempotent (a retried call would subscribe twice). The finalizer is
//! added before the first subscribe; when it is found already there with ids missing from
//! status (a status write lost after a subscribe), the operator lists the account's
//! subscriptions and adopts any for the same URL and event before subscribing the rest.
//! Listing is *inferred* from the reference; when it fails, the operator subscribes anyway.

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::EventType;
use serde_json::json;

use super::build::WebhookToken;
use super::context::Context;
use super::error::Error;
use super::status::ConditionFinding;
use crate::crd::Installation;
use crate::crd::installation::{WebhookSubscriptionRef, WebhookSubscriptions};
use crate::remote::RemoteOptions;
use crate::stream::subscriptions as diff;
use crate::stream::{StreamClient, StreamCredentials, WebhookSubscription};

use crate::domain::EventCode;

/// Holds deletion until the subscriptions are removed (or given up on).
pub const FINALIZER: &str = "linnstream.io/webhook-subscriptions";

/// What status records of the token: enough to notice a new one, nothing to guess it by.
pub fn token_fingerprint(token: &WebhookToken) -> String {
    token.fingerprint()[..12].to_string()
}

/// The result of one pass: the condition, what to record in status, and events to publish.
pub struct Outcome {
    pub finding: ConditionFinding,
    pub recorded: Option<WebhookSubscriptions>,
    pub events: Vec<(EventType, &'static str, String)>,
    /// A failure to retry soon (after the status is written).
    pub retry: Option<Error>,
}

/// What the subscriptions should be now.
pub enum Wanted {
    /// Webhooks are off: no subscriptions.
    None,
    /// Subscribed at `url` with `token`.
    At { url: String, token: WebhookToken },
    /// Wanted, but cannot be changed now (invalid spec, missing credentials): keep as is.
    Blocked(String),
}

async fn stream_client(ctx: &Context, inst: &Installation) -> Result<StreamClient, String> {
    let ns = inst.namespace().unwrap_or_default();
    let spec = &inst.spec.stream;
    let mut values = Vec::new();
    for (path, r) in [
        ("spec.stream.clientId", &spec.client_id.secret_key_ref),
        (
            "spec.stream.clientSecret",
            &spec.client_secret.secret_key_ref,
        ),
    ] {
        match ctx.secrets.value(&ns, r).await {
            Ok(Some(v)) => values.push(v),
            Ok(None) => {
                return Err(format!(
                    "Secret {:?} or its key {:?} ({path}) is missing",
                    r.name, r.key
                ));
            }
            Err(e) => return Err(format!("reading Secret {:?} ({path}): {e}", r.name)),
        }
    }
    let [client_id, client_secret] = <[String; 2]>::try_from(values)
        .map_err(|_| "the Stream credentials are incomplete".to_string())?;
    let partner_account_id = spec
        .partner_account
        .as_ref()
        .filter(|p| p.enabled)
        .and_then(|p| p.id.clone());
    StreamClient::new(
        StreamCredentials {
            base_url: spec.client_url.clone(),
            client_id,
            client_secret,
            partner_account_id,
        },
        &RemoteOptions::from_settings(&ctx.config.children.system),
    )
    .map_err(|e| e.to_string())
}

/// Sets the finalizer list, guarded by the resourceVersion read (a concurrent change makes
/// this fail with 409 and the reconcile is retried).
async fn set_finalizers(
    ctx: &Context,
    inst: &Installation,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    let ns = inst
        .namespace()
        .ok_or(Error::MissingMetadata("namespace"))?;
    let api: Api<Installation> = Api::namespaced(ctx.client.clone(), &ns);
    api.patch(
        &inst.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {
            "finalizers": finalizers,
            "resourceVersion": inst.resource_version(),
        }})),
    )
    .await?;
    Ok(())
}

pub fn has_finalizer(inst: &Installation) -> bool {
    inst.finalizers().iter().any(|f| f == FINALIZER)
}

async fn add_finalizer(ctx: &Context, inst: &Installation) -> Result<(), Error> {
    if has_finalizer(inst) {
        return Ok(());
    }
    let mut list = inst.finalizers().to_vec();
    list.push(FINALIZER.to_string());
    set_finalizers(ctx, inst, list).await
}

pub async fn remove_finalizer(ctx: &Context, inst: &Installation) -> Result<(), Error> {
    if !has_finalizer(inst) {
        return Ok(());
    }
    let list = inst
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(ctx, inst, list).await
}

/// Unsubscribes `subs`; returns those that could not be removed, with the last error.
async fn unsubscribe_all(
    client: &StreamClient,
    subs: &[WebhookSubscriptionRef],
) -> (Vec<WebhookSubscriptionRef>, Option<String>) {
    let mut left = Vec::new();
    let mut error = None;
    for s in subs {
        match client.unsubscribe(&s.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                error = Some(e.to_string());
                left.push(s.clone());
            }
        }
    }
    (left, error)
}

/// The recorded subscriptions, as the shared diff sees them.
fn held(current: Option<&WebhookSubscriptions>) -> Vec<diff::Held> {
    let Some(c) = current else {
        return Vec::new();
    };
    c.subscriptions
        .iter()
        .map(|s| diff::Held {
            id: s.id.clone(),
            event: s.event.clone(),
            url: c.url.clone(),
            auth: Some(c.token_fingerprint.clone()),
        })
        .collect()
}

fn subscription_ref(h: diff::Held) -> WebhookSubscriptionRef {
    WebhookSubscriptionRef {
        event: h.event,
        id: h.id,
    }
}

fn ids(subs: &[WebhookSubscriptionRef]) -> String {
    subs.iter()
        .map(|s| format!("{} ({})", s.event, s.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Brings the subscriptions to `wanted`.
pub async fn reconcile(ctx: &Context, inst: &Installation, wanted: Wanted) -> Outcome {
    let current = inst
        .status
        .as_ref()
        .and_then(|s| s.webhook_subscriptions.clone())
        .filter(|c| !c.subscriptions.is_empty());
    match wanted {
        Wanted::Blocked(why) => {
            let finding = match &current {
                Some(c) => ConditionFinding::ok(
                    "Subscribed",
                    format!(
                        "{} events at {} (not re-checked: {why})",
                        c.subscriptions.len(),
                        c.url
                    ),
                ),
                None => {
                    ConditionFinding::problem("NotSubscribed", format!("cannot subscribe: {why}"))
                }
            };
            Outcome {
                finding,
                recorded: current,
                events: Vec::new(),
                retry: None,
            }
        }
        Wanted::None => unsubscribe_when_disabled(ctx, inst, current).await,
        Wanted::At { url, token } => subscribe(ctx, inst, current, url, token).await,
    }
}

async fn unsubscribe_when_disabled(
    ctx: &Context,
    inst: &Installation,
    current: Option<WebhookSubscriptions>,
) -> Outcome {
    let disabled = ConditionFinding::ok("WebhooksDisabled", "spec.webhooks.enabled is false");
    let Some(current) = current else {
        let retry = remove_finalizer(ctx, inst).await.err();
        return Outcome {
            finding: disabled,
            recorded: None,
            events: Vec::new(),
            retry,
        };
    };
    let client = match stream_client(ctx, inst).await {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                finding: disabled,
                recorded: Some(current),
                events: Vec::new(),
                retry: Some(Error::Webhooks(format!("cannot unsubscribe: {e}"))),
            };
        }
    };
    let (left, error) = unsubscribe_all(&client, &current.subscriptions).await;
    let removed: Vec<WebhookSubscriptionRef> = current
        .subscriptions
        .iter()
        .filter(|s| !left.contains(s))
        .cloned()
        .collect();
    let mut events = Vec::new();
    if !removed.is_empty() {
        events.push((
            EventType::Normal,
            "WebhookUnsubscribed",
            format!(
                "webhooks disabled: removed Stream subscriptions {}",
                ids(&removed)
            ),
        ));
    }
    if left.is_empty() {
        let retry = remove_finalizer(ctx, inst).await.err();
        Outcome {
            finding: disabled,
            recorded: None,
            events,
            retry,
        }
    } else {
        Outcome {
            finding: disabled,
            recorded: Some(WebhookSubscriptions {
                subscriptions: left,
                ..current
            }),
            events,
            retry: Some(Error::Webhooks(error.unwrap_or_default())),
        }
    }
}

/// One subscribe pass: what is in Stream for this Installation so far, and the events to
/// publish about it.
struct Pass {
    keep: Vec<WebhookSubscriptionRef>,
    events: Vec<(EventType, &'static str, String)>,
}

async fn subscribe(
    ctx: &Context,
    inst: &Installation,
    current: Option<WebhookSubscriptions>,
    url: String,
    token: WebhookToken,
) -> Outcome {
    let fingerprint = token_fingerprint(&token);
    let wanted = EventCode::subscribed_codes(inst.spec.sync.order_dispatch_sync_enabled);
    let plan = diff::plan(
        &diff::Wanted {
            url: &url,
            auth: &fingerprint,
            events: &wanted,
        },
        held(current.as_ref()),
    );
    let settled = plan.is_settled();
    let refs = |list: Vec<diff::Held>| list.into_iter().map(subscription_ref).collect::<Vec<_>>();
    let missing = plan.create;
    let stale = refs(plan.replace);
    // Events no longer wanted (DISPATCHED after IsOrderDispatchSyncEnabled was turned off)
    // are removed after the wanted ones are in place.
    let unwanted = refs(plan.retire);
    let mut pass = Pass {
        keep: refs(plan.keep),
        events: Vec::new(),
    };
    let subscribed = |keep: &[WebhookSubscriptionRef]| {
        ConditionFinding::ok(
            "Subscribed",
            format!("{} events delivered to {url}", keep.len()),
        )
    };
    if settled {
        return Outcome {
            finding: subscribed(&pass.keep),
            recorded: current,
            events: Vec::new(),
            retry: None,
        };
    }
    let client = match stream_client(ctx, inst).await {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot reach Stream: {e}"), current, Vec::new()),
    };
    // The finalizer goes on before the first subscribe; finding it already there with ids
    // missing means an earlier pass may have subscribed without recording the ids.
    let earlier_attempt = has_finalizer(inst);
    // Before anything exists in Stream that deletion must remove.
    if let Err(e) = add_finalizer(ctx, inst).await {
        return failed(format!("adding the finalizer: {e}"), current, Vec::new());
    }
    if !stale.is_empty() {
        if let Err(outcome) = remove_stale(&client, &stale, current, &mut pass).await {
            return outcome;
        }
    } else if earlier_attempt {
        adopt_unrecorded(&client, &url, &missing, &mut pass.keep).await;
    }
    let mut error = create_missing(&client, &url, &token, &missing, &mut pass).await;
    pass.keep
        .sort_by_key(|k| wanted.iter().position(|e| *e == k.event));
    if error.is_none() {
        error = retire_unwanted(&client, unwanted, &mut pass).await;
    } else {
        pass.keep.extend(unwanted);
    }
    let recorded = (!pass.keep.is_empty()).then(|| WebhookSubscriptions {
        url: url.clone(),
        token_fingerprint: fingerprint,
        subscriptions: pass.keep.clone(),
    });
    match error {
        Some(e) => failed(e, recorded, pass.events),
        None => Outcome {
            finding: subscribed(&pass.keep),
            recorded,
            events: pass.events,
            retry: None,
        },
    }
}

fn failed(
    message: String,
    recorded: Option<WebhookSubscriptions>,
    events: Vec<(EventType, &'static str, String)>,
) -> Outcome {
    Outcome {
        finding: ConditionFinding::problem("SubscribeFailed", message.clone()),
        recorded,
        events,
        retry: Some(Error::Webhooks(message)),
    }
}

/// Removes the subscriptions made for a previous URL or token. When some remain, the
/// pass stops with them recorded, so the next pass (or deletion) removes them.
async fn remove_stale(
    client: &StreamClient,
    stale: &[WebhookSubscriptionRef],
    current: Option<WebhookSubscriptions>,
    pass: &mut Pass,
) -> Result<(), Outcome> {
    let (left, error) = unsubscribe_all(client, stale).await;
    if !left.is_empty() {
        let recorded = current.map(|c| WebhookSubscriptions {
            subscriptions: left,
            ..c
        });
        return Err(failed(
            format!(
                "removing the subscriptions for the previous URL or token: {}",
                error.unwrap_or_default()
            ),
            recorded,
            std::mem::take(&mut pass.events),
        ));
    }
    pass.events.push((
        EventType::Normal,
        "WebhookUnsubscribed",
        format!(
            "the webhook URL or token changed: removed Stream subscriptions {}",
            ids(stale)
        ),
    ));
    Ok(())
}

/// Adopts subscriptions made for this URL whose ids were never recorded (an earlier pass
/// whose status write was lost). Only after an earlier attempt, and when no record says
/// they carry another token: listing costs a reply with every subscription of the Stream
/// account. A failed listing adopts nothing (the missing ones are subscribed).
async fn adopt_unrecorded(
    client: &StreamClient,
    url: &str,
    missing: &[&str],
    keep: &mut Vec<WebhookSubscriptionRef>,
) {
    let Ok(listed) = client.subscriptions().await else {
        return;
    };
    let taken: Vec<&str> = keep.iter().map(|k| k.id.as_str()).collect();
    let adopted = diff::adoptable(&listed, url, missing, &taken);
    keep.extend(
        adopted
            .into_iter()
            .map(|(event, id)| WebhookSubscriptionRef {
                event: event.to_string(),
                id,
            }),
    );
}

/// Subscribes every missing event not already kept, in order; stops at the first failure
/// and returns it.
async fn create_missing(
    client: &StreamClient,
    url: &str,
    token: &WebhookToken,
    missing: &[&str],
    pass: &mut Pass,
) -> Option<String> {
    let mut added = Vec::new();
    let mut error = None;
    for event in missing.iter().copied() {
        if pass.keep.iter().any(|k| k.event == event) {
            continue;
        }
        let sub = WebhookSubscription::post_json(event, url, Some(token.expose().to_string()));
        match client.subscribe(&sub).await {
            Ok(id) => {
                let r = WebhookSubscriptionRef {
                    event: event.to_string(),
                    id,
                };
                added.push(r.clone());
                pass.keep.push(r);
            }
            Err(e) => {
                error = Some(format!("subscribing to {event}: {e}"));
                break;
            }
        }
    }
    if !added.is_empty() {
        pass.events.push((
            EventType::Normal,
            "WebhookSubscribed",
            format!("subscribed {url} to Stream events {}", ids(&added)),
        ));
    }
    error
}

/// Removes the subscriptions no longer wanted. Those that remain in Stream stay recorded,
/// so the next pass (or deletion) removes them; returns why they remain.
async fn retire_unwanted(
    client: &StreamClient,
    unwanted: Vec<WebhookSubscriptionRef>,
    pass: &mut Pass,
) -> Option<String> {
    if unwanted.is_empty() {
        return None;
    }
    let (left, failure) = unsubscribe_all(client, &unwanted).await;
    let removed: Vec<WebhookSubscriptionRef> = unwanted
        .iter()
        .filter(|s| !left.contains(s))
        .cloned()
        .collect();
    if !removed.is_empty() {
        pass.events.push((
            EventType::Normal,
            "WebhookUnsubscribed",
            format!(
                "no longer wanted (spec.sync.orderDispatchSyncEnabled is false): removed Stream subscriptions {}",
                ids(&removed)
            ),
        ));
    }
    if left.is_empty() {
        return None;
    }
    pass.keep.extend(left);
    Some(format!(
        "removing subscriptions no longer wanted: {}",
        failure.unwrap_or_default()
    ))
}

/// On deletion: removes the recorded subscriptions, then the finalizer. Gives up (with a
/// warning event naming the ids to remove by hand) when the credentials are gone or after
/// `finalizer_timeout` since deletion began, so deletion is never blocked for ever.
pub async fn cleanup(ctx: &Context, inst: &Installation) -> Result<(), Error> {
    if !has_finalizer(inst) {
        return Ok(());
    }
    let subs = inst
        .status
        .as_ref()
        .and_then(|s| s.webhook_subscriptions.clone())
        .map(|s| s.subscriptions)
        .unwrap_or_default();
    if subs.is_empty() {
        return remove_finalizer(ctx, inst).await;
    }
    async fn give_up(
        ctx: &Context,
        inst: &Installation,
        subs: &[WebhookSubscriptionRef],
        why: String,
    ) -> Result<(), Error> {
        ctx.event(
            inst,
            EventType::Warning,
            "WebhookUnsubscribeAbandoned",
            format!(
                "gave up removing Stream webhook subscriptions {} ({why}); remove them in Stream by hand",
                ids(subs)
            ),
        )
        .await;
        remove_finalizer(ctx, inst).await
    }
    let client = match stream_client(ctx, inst).await {
        Ok(c) => c,
        // Without credentials (e.g. the namespace is being deleted) waiting cannot help.
        Err(e) => return give_up(ctx, inst, &subs, e).await,
    };
    let (left, error) = unsubscribe_all(&client, &subs).await;
    if left.is_empty() {
        ctx.event(
            inst,
            EventType::Normal,
            "WebhookUnsubscribed",
            format!("removed Stream webhook subscriptions {}", ids(&subs)),
        )
        .await;
        return remove_finalizer(ctx, inst).await;
    }
    let error = error.unwrap_or_default();
    let deleting_for = inst
        .metadata
        .deletion_timestamp
        .as_ref()
        .map(|t| {
            let since = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
            std::time::Duration::try_from(since).unwrap_or_default()
        })
        .unwrap_or_default();
    if deleting_for >= ctx.config.finalizer_timeout {
        let why = format!(
            "still failing after {}: {error}",
            super::status::human(ctx.config.finalizer_timeout)
        );
        return give_up(ctx, inst, &subs, why).await;
    }
    Err(Error::Webhooks(format!(
        "removing subscriptions {}: {error}",
        ids(&left)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstallationKey;

    #[test]
    fn the_url_is_the_public_base_and_the_receiver_path() {
        let key = InstallationKey::new("shop", "acme");
        assert_eq!(
            crate::domain::webhook::webhook_url("https://hooks.example.com/", &key),
            "https://hooks.example.com/webhooks/shop/acme"
        );
        assert_eq!(
            crate::domain::webhook::webhook_url("https://hooks.example.com/base", &key),
            "https://hooks.example.com/base/webhooks/shop/acme"
        );
        let fp = token_fingerprint(&WebhookToken::generate());
        assert_eq!(fp.len(), 12);
    }
}
