//! The webhook receiver: `POST /webhooks/{namespace}/{name}`, where Stream delivers the
//! notifications of one installation. It verifies the auth header Stream echoes, parses the
//! notification (both envelope shapes), checks the tenant, and stores the event durably
//! before answering; the webhook processing job applies it later. It never calls Linnworks
//! or Stream, so it keeps accepting events while they are down.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, RequestExt as _};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{InstallationConfig, Snapshot};

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome};
use crate::server::errors::{RETRY_AFTER_SECONDS, StoreFailure, nul_path};
use crate::server::ingest::GroupCommit;
use crate::server::listener::{BodyPolicy, body_limit};
use crate::server::refusals::RefusalLog;
use crate::store::{ReceiptAudit, WebhookReceipt};
use crate::stream::notification::{self, MAX_BODY_BYTES};
use crate::sync::RunContext;
use crate::sync::engine::Engine;
use crate::sync::process_webhooks::new_stored_event;
use crate::sync::run_context::correlation_id;

/// Who the receiver names as the actor of received events in the audit log.
pub const ACTOR: &str = "stream-webhook";

use crate::domain::webhook::ROUTE;

type TokenLookup = dyn Fn(&InstallationKey) -> Option<String> + Send + Sync;

/// How the receiver knows the token each installation's notifications must carry: the
/// value subscribed as Stream's `auth_header`, which Stream sends back on every call
/// (*inferred*: as the `Authorization` header; the header name is configurable).
///
/// - The operator's per-installation receiver: [`WebhookAuth::fixed`] with the Secret
///   `NAME-webhook-auth` key `token` (env `LINNSTREAM_WEBHOOK_AUTH_TOKEN`).
/// - A process serving several installations (standalone `run`, the demo):
///   [`WebhookAuth::derived`] from one secret: each installation's token is
///   HMAC-SHA256(secret, "linnstream-webhook-v1:" + namespace/name), URL-safe base64, so
///   tokens differ per installation and none is stored.
/// - Anything else: [`WebhookAuth::new`] with a lookup.
///
/// An installation without a token refuses every notification.
#[derive(Clone)]
pub struct WebhookAuth {
    header: HeaderName,
    lookup: Arc<TokenLookup>,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuth")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl WebhookAuth {
    /// Tokens from `lookup`, in the `Authorization` header.
    pub fn new(
        lookup: impl Fn(&InstallationKey) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            header: header::AUTHORIZATION,
            lookup: Arc::new(lookup),
        }
    }

    /// One installation with one token (the operator runs a receiver per installation).
    pub fn fixed(key: InstallationKey, token: String) -> Self {
        Self::new(move |k| (*k == key).then(|| token.clone()))
    }

    /// Every installation's token derived from `secret` (see the type's documentation).
    pub fn derived(secret: impl Into<Vec<u8>>) -> Self {
        let secret: Vec<u8> = secret.into();
        Self::new(move |k| Some(derive_token(&secret, k)))
    }

    /// Reads the token from another header than `Authorization`.
    pub fn with_header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The token `key`'s notifications must carry: also what to subscribe with.
    pub fn token_for(&self, key: &InstallationKey) -> Option<String> {
        (self.lookup)(key).filter(|t| !t.is_empty())
    }

    /// Whether the header value carries `key`'s token. Compared as SHA-256 digests in
    /// constant time, so neither the content nor the length of the token leaks through
    /// timing. A `Bearer ` prefix is tolerated (*inferred*: Stream is documented to echo the
    /// value verbatim, but a proxy or a later Stream version may add the scheme).
    fn accepts(&self, key: &InstallationKey, presented: Option<&[u8]>) -> bool {
        // An unknown installation is compared against a token nobody can present, so it
        // costs the same as a known one and its refusal cannot tell the two apart.
        let expected = self.token_for(key);
        let known = expected.is_some();
        let expected = Sha256::digest(expected.unwrap_or_default().as_bytes());
        let presented_any = presented.is_some();
        let presented = presented.unwrap_or_default();
        let bare = presented
            .strip_prefix(b"Bearer ")
            .unwrap_or(presented)
            .trim_ascii();
        let exact = Sha256::digest(presented.trim_ascii());
        let stripped = Sha256::digest(bare);
        let matches = bool::from(expected.ct_eq(&exact) | expected.ct_eq(&stripped));
        known && presented_any && matches
    }
}

/// HMAC-SHA256(secret, "linnstream-webhook-v1:" + namespace/name), URL-safe base64 without
/// padding (43 characters, safe in a header).
pub fn derive_token(secret: &[u8], key: &InstallationKey) -> String {
    // HMAC takes keys of any length; were that ever refused, the empty token makes every
    // notification be refused rather than accepted.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(b"linnstream-webhook-v1:");
    mac.update(key.id().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The shortest webhook secret or token accepted: 32 bytes (256 bits), as long as the
/// HMAC-SHA256 key it is; a shorter one could be guessed, and every token computed from it.
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a webhook secret or token shorter than [`MIN_SECRET_BYTES`]; `setting` names
/// where it came from (flag, environment variable or file), never its value.
pub fn check_secret(secret: &str, setting: &str) -> Result<(), String> {
    let len = secret.trim().len();
    if len < MIN_SECRET_BYTES {
        return Err(format!(
            "{setting} is {len} bytes long; use at least {MIN_SECRET_BYTES} random bytes \
             (e.g. `openssl rand -hex 32`), or leave it unset for a random one"
        ));
    }
    Ok(())
}

/// How JSON text writes a NUL character.
const NUL_ESCAPE: &[u8] = b"\\u0000";

/// The one reply to every unauthenticated call: an unknown installation and a wrong token
/// look the same, so the receiver does not confirm which installations exist.
const UNAUTHORIZED: &str = "the auth header is missing or does not match this webhook URL's token";

#[derive(Clone)]
struct Receiver {
    engine: Engine,
    auth: WebhookAuth,
    refusals: RefusalLog,
    commits: GroupCommit,
}

/// The installation an authenticated call is for: the settings snapshot it was checked
/// against, shared rather than copied per request.
#[derive(Clone)]
struct Caller {
    snapshot: Arc<Snapshot>,
    key: InstallationKey,
}

/// The webhook receiver's routes. A call is authenticated before its body is read, so a
/// stranger cannot make the receiver buffer anything; then bodies over
/// `notification::MAX_BODY_BYTES` are refused with 413, and bodies slower than the body
/// timeout with 408, before the handler runs.
pub fn webhook_router(engine: Engine, auth: WebhookAuth) -> Router {
    let policy = Arc::new(BodyPolicy {
        limit: MAX_BODY_BYTES,
        timeout: engine.settings().http.body_timeout(),
        refuse: |status, reason| refuse(status, reason),
    });
    let receiver = Receiver {
        commits: GroupCommit::start(engine.store().clone()),
        engine,
        auth,
        refusals: RefusalLog::new("webhook"),
    };
    Router::new()
        .route(ROUTE, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(policy, body_limit))
        .route_layer(from_fn_with_state(receiver.clone(), authenticate))
        .route_layer(from_fn_with_state(
            configured(&receiver.engine),
            crate::observe::metrics::count_webhook_refusals,
        ))
        .with_state(receiver)
}

/// Whether an installation id (`namespace/name`) is configured here.
fn configured(engine: &Engine) -> crate::observe::metrics::KnownInstallation {
    let engine = engine.clone();
    Arc::new(move |id: &str| {
        id.split_once('/')
            .is_some_and(|(ns, name)| engine.has_installation(&InstallationKey::new(ns, name)))
    })
}

/// Lets through a call whose path names a configured installation and whose auth header
/// carries its token, with the installation as a request extension; answers every other
/// one with the same 401.
async fn authenticate(State(receiver): State<Receiver>, mut req: Request, next: Next) -> Response {
    let Ok(Path((namespace, name))) = req.extract_parts::<Path<(String, String)>>().await else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the path must be /webhooks/{namespace}/{name}",
        );
    };
    let key = InstallationKey::new(namespace, name);
    let presented = req
        .headers()
        .get(&receiver.auth.header)
        .map(|v| v.as_bytes());
    let missing = presented.is_none();
    let accepted = receiver.auth.accepts(&key, presented);
    let snapshot = receiver.engine.snapshot();
    if accepted && snapshot.get(&key).is_some() {
        req.extensions_mut().insert(Caller { snapshot, key });
        next.run(req).await
    } else {
        receiver.refusals.refused(if missing {
            "the auth header is missing"
        } else {
            "the auth header does not match (or no such installation)"
        });
        refuse(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
    }
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({ "error": reason.into() }))).into_response()
}

/// Whether `party` names the installation's Stream account: its client id, or the partner
/// account it acts for.
fn is_own_party(inst: &InstallationConfig, party: &str) -> bool {
    let party = party.trim();
    let partner = inst
        .spec
        .stream
        .partner_account
        .as_ref()
        .filter(|p| p.enabled)
        .and_then(|p| p.id.as_deref());
    party == inst.credentials.stream_client_id.trim() || partner.is_some_and(|p| party == p.trim())
}

/// An authenticated call (see [`authenticate`]) with its body read.
async fn receive(
    State(receiver): State<Receiver>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let Some(inst) = caller.snapshot.get(&caller.key) else {
        return refuse(StatusCode::UNAUTHORIZED, UNAUTHORIZED);
    };
    let key = caller.key;
    let audit = |outcome: AuditOutcome, message: String| {
        let run = RunContext::start(&receiver.engine, &key, ACTOR);
        async move {
            run.audit(AuditAction::Webhook, None, outcome, message, started)
                .await;
        }
    };
    if !inst.spec.webhooks.enabled {
        let reason = format!(
            "webhooks are disabled for installation {key} (spec.webhooks.enabled is false)"
        );
        audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
        return refuse(StatusCode::CONFLICT, reason);
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = e.status();
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the body is larger than {MAX_BODY_BYTES} bytes")
            } else {
                format!("the body could not be read: {}", e.body_text())
            };
            audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
            return refuse(status, reason);
        }
    };
    let event = match notification::parse(&body) {
        Ok(e) => e,
        Err(e) => {
            let reason = format!("not a Stream notification: {e}");
            audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
            return refuse(StatusCode::BAD_REQUEST, reason);
        }
    };
    // JSON text carries a NUL only as the escape `\u0000`: only then is the body read a
    // second time to find where.
    if let Some(path) = body
        .windows(NUL_ESCAPE.len())
        .any(|w| w == NUL_ESCAPE)
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .as_ref()
        .and_then(nul_path)
    {
        let reason = format!(
            "{} holds a NUL character (U+0000), which cannot be stored; the event is refused \
             and should not be delivered again",
            if path.is_empty() { "the body" } else { &path }
        );
        audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
        return refuse(StatusCode::BAD_REQUEST, reason);
    }
    if let Some(party) = event.party_id.as_deref()
        && !is_own_party(inst, party)
    {
        let reason =
            format!("subscription.party_id {party:?} is not this installation's Stream account");
        audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
        return refuse(StatusCode::FORBIDDEN, reason);
    }
    // Stored bodies are text; a notification is JSON, hence UTF-8 (parse checked it). The
    // buffer becomes the stored text without a copy when nothing else holds it.
    let text = String::from_utf8(Vec::from(body))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let installation = key.id();
    let stored = new_stored_event(&installation, &event, text, chrono::Utc::now());
    let subject = format!("{} for {}", event.code, stored.order_refs.join(", "));
    let receipt = WebhookReceipt {
        event: stored,
        audit: Some(ReceiptAudit {
            subject,
            correlation_id: correlation_id(),
            actor: ACTOR.to_string(),
            started,
        }),
    };
    match receiver.commits.store(receipt).await {
        Ok(inserted) => {
            crate::observe::metrics::webhook_received(&installation, inserted.duplicate);
            (
                StatusCode::OK,
                Json(json!({"stored": true, "duplicate": inserted.duplicate, "id": inserted.id})),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(installation = %key, "could not store a webhook event: {e}");
            match StoreFailure::of(&e) {
                // Stream would deliver it again for ever: refuse it for good.
                StoreFailure::Input => {
                    let reason = format!(
                        "the event cannot be stored: {}",
                        StoreFailure::Input.message()
                    );
                    audit(AuditOutcome::Failure, format!("webhook refused: {reason}")).await;
                    refuse(StatusCode::BAD_REQUEST, reason)
                }
                // Not acknowledged, so Stream delivers it again.
                _ => {
                    let mut response = refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the event could not be stored; deliver it again later",
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
                    response
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_tokens_differ_per_installation_and_are_stable() {
        let a = InstallationKey::new("shop", "acme");
        let b = InstallationKey::new("shop", "acme2");
        let t = derive_token(b"s3cret", &a);
        assert_eq!(t.len(), 43);
        assert_eq!(t, derive_token(b"s3cret", &a));
        assert_ne!(t, derive_token(b"s3cret", &b));
        assert_ne!(t, derive_token(b"other", &a));
        let auth = WebhookAuth::derived(b"s3cret".to_vec());
        assert!(auth.accepts(&a, Some(t.as_bytes())));
        assert!(auth.accepts(&a, Some(format!("Bearer {t}").as_bytes())));
        assert!(!auth.accepts(&b, Some(t.as_bytes())));
        assert!(!auth.accepts(&a, None));
        assert!(!auth.accepts(&a, Some(b"")));
    }

    #[test]
    fn a_fixed_token_serves_its_installation_only() {
        let a = InstallationKey::new("shop", "acme");
        let auth = WebhookAuth::fixed(a.clone(), "tok".into());
        assert!(auth.accepts(&a, Some(b"tok")));
        assert!(!auth.accepts(&a, Some(b"tok2")));
        assert!(!auth.accepts(&InstallationKey::new("x", "acme"), Some(b"tok")));
        assert!(!format!("{auth:?}").contains("tok"));
    }
}
