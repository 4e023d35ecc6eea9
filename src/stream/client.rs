//! The Stream API client: OAuth token reuse, the `Stream-Party` and `Stream-Nonce` headers on
//! every call, envelope errors and warnings, the shared retry policy, and a create that is
//! never blindly repeated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::envelope::{ApiMessage, Envelope, describe};
use super::model::{
    CreateOrderRequest, CreateReplyBody, CreatedOrder, Depot, OrderHeaderPatch, OrderStatus,
    StreamOrder, TokenReply, WebhookSubscription, WebhookSubscriptionInfo,
};
use super::token::{CachedToken, TokenCache};
use crate::remote::{
    Idempotency, RemoteError, RemoteErrorKind, RemoteOptions, RetryPolicy, parse_retry_after,
    read_reply,
};

const SERVICE: &str = "Stream";

/// How to reach one Stream account.
#[derive(Clone)]
pub struct StreamCredentials {
    /// API base, e.g. `https://www.go2stream.net/api` (no trailing slash needed).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The partner account id, when the installation operates under one: it is then sent as
    /// `Stream-Party` instead of the client id (*inferred* from the guide's partner settings).
    pub partner_account_id: Option<String>,
}

impl std::fmt::Debug for StreamCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCredentials")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("partner_account_id", &self.partner_account_id)
            .finish()
    }
}

/// A reply's payload together with the non-blocking messages Stream attached.
#[derive(Clone, Debug)]
pub struct WithWarnings<T> {
    pub value: T,
    pub warnings: Vec<ApiMessage>,
}

/// The Stream client of one account. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct StreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    credentials: StreamCredentials,
    retry: RetryPolicy,
    token: TokenCache,
}

/// Whether a failed create may nevertheless have been applied by Stream: the request was
/// sent and no verdict came back (timeout, broken connection, server error, unreadable 2xx).
fn may_have_applied(e: &RemoteError) -> bool {
    match e.kind {
        RemoteErrorKind::Timeout | RemoteErrorKind::Transport | RemoteErrorKind::InvalidReply => {
            true
        }
        RemoteErrorKind::Status => e.status.is_some_and(|s| s >= 500),
        RemoteErrorKind::Connect | RemoteErrorKind::Rejected | RemoteErrorKind::Request => false,
    }
}

fn path_segment(text: &str) -> String {
    // Order numbers are ours, but may hold characters that are not safe in a path.
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c.to_string()
            } else {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

impl StreamClient {
    pub fn new(
        credentials: StreamCredentials,
        options: &RemoteOptions,
    ) -> Result<Self, RemoteError> {
        let base = credentials
            .base_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        match reqwest::Url::parse(&base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(RemoteError::request(
                    SERVICE,
                    "client setup",
                    format!("base URL `{base}` must be an absolute http(s) URL"),
                ));
            }
        }
        if credentials.client_id.trim().is_empty() || credentials.client_secret.is_empty() {
            return Err(RemoteError::request(
                SERVICE,
                "client setup",
                "the client id and client secret must not be empty",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http: options.http_client()?,
                base,
                credentials,
                retry: options.retry.clone(),
                token: TokenCache::default(),
            }),
        })
    }

    /// The value sent as `Stream-Party`.
    pub fn party(&self) -> &str {
        let c = &self.inner.credentials;
        c.partner_account_id
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or(&c.client_id)
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.inner.credentials.client_secret.as_str()]
    }

    async fn fetch_token(&self) -> Result<CachedToken, RemoteError> {
        let c = &self.inner.credentials;
        let request = self
            .inner
            .http
            .post(format!("{}/oauth", self.inner.base))
            .header("Stream-Nonce", uuid::Uuid::new_v4().simple().to_string())
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": c.client_id,
                "client_secret": c.client_secret,
            }));
        let (status, headers, text) = read_reply(SERVICE, "oauth", request)
            .await
            .map_err(|e| e.redact(&self.secrets()))?;
        if !(200..300).contains(&status) {
            return Err(self.status_error("oauth", status, &headers, &text));
        }
        let reply: TokenReply = serde_json::from_str(&text).map_err(|e| {
            RemoteError::invalid_reply(SERVICE, "oauth", Some(status), format!("token reply: {e}"))
        })?;
        if reply.access_token.trim().is_empty() {
            return Err(RemoteError::invalid_reply(
                SERVICE,
                "oauth",
                Some(status),
                "the token reply has no access_token",
            ));
        }
        Ok(CachedToken::new(reply.access_token, reply.expires_in))
    }

    async fn token(&self) -> Result<String, RemoteError> {
        self.inner.token.get_or_fetch(|| self.fetch_token()).await
    }

    /// An error for a non-2xx reply, with Stream's own message and code when it gave them.
    fn status_error(
        &self,
        call: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        text: &str,
    ) -> RemoteError {
        let json: Option<Value> = serde_json::from_str(text).ok();
        let envelope = json.as_ref().and_then(Envelope::parse);
        let (message, code) = match (&envelope, &json) {
            (Some(env), _) if !env.messages.is_empty() => {
                let errors = env.errors();
                let shown = if errors.is_empty() {
                    env.messages.clone()
                } else {
                    errors
                };
                (
                    describe(&shown),
                    shown
                        .first()
                        .map(|m| m.code.clone())
                        .filter(|c| !c.is_empty()),
                )
            }
            (_, Some(v)) if v.get("error").is_some() => (
                v.get("error_description")
                    .or_else(|| v.get("error"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                v.get("error").and_then(Value::as_str).map(str::to_string),
            ),
            _ => (text.chars().take(200).collect(), None),
        };
        RemoteError::status(SERVICE, call, status, message, code)
            .with_retry_after(parse_retry_after(headers))
            .redact(&self.secrets())
    }

    /// One attempt of an API call: token, headers, and one token renewal on a 401.
    async fn send(
        &self,
        call: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Envelope, RemoteError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), format!("{}{path}", self.inner.base))
                .bearer_auth(&token)
                .header("Stream-Party", self.party())
                // A new nonce for every request, retries and renewals included.
                .header("Stream-Nonce", uuid::Uuid::new_v4().simple().to_string())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let (status, headers, text) = read_reply(SERVICE, call, request)
                .await
                .map_err(|e| e.redact(&[token.as_str()]))?;
            if status == 401 && !renewed {
                tracing::info!(call, "Stream refused the access token; renewing it once");
                self.inner.token.invalidate(&token).await;
                renewed = true;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(self
                    .status_error(call, status, &headers, &text)
                    .redact(&[token.as_str()]));
            }
            let json: Value = serde_json::from_str(&text).map_err(|e| {
                RemoteError::invalid_reply(
                    SERVICE,
                    call,
                    Some(status),
                    format!("reply is not JSON: {e}"),
                )
            })?;
            let envelope = Envelope::parse(&json).ok_or_else(|| {
                RemoteError::invalid_reply(
                    SERVICE,
                    call,
                    Some(status),
                    "reply has no `response` object",
                )
            })?;
            if envelope.failed() {
                let errors = envelope.errors();
                let message = if errors.is_empty() {
                    "Stream answered valid=false without an error message".to_string()
                } else {
                    describe(&errors)
                };
                let mut e = RemoteError::rejected(
                    SERVICE,
                    call,
                    message,
                    errors.first().map(|m| m.code.clone()),
                );
                e.status = Some(status);
                return Err(e.redact(&self.secrets()));
            }
            for w in envelope.warnings() {
                tracing::warn!(call, code = %w.code, severity = %w.severity, "Stream warning: {}", w.description);
            }
            return Ok(envelope);
        }
    }

    /// An API call with the retry policy around it.
    async fn call(
        &self,
        call: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency: Idempotency,
    ) -> Result<Envelope, RemoteError> {
        self.inner
            .retry
            .run(idempotency, |_| self.send(call, method.clone(), path, body))
            .await
    }

    fn payload<T: DeserializeOwned>(
        call: &str,
        env: &Envelope,
        key: &str,
    ) -> Result<T, RemoteError> {
        let value = env.body.get(key).cloned().ok_or_else(|| {
            RemoteError::invalid_reply(SERVICE, call, None, format!("reply has no response.{key}"))
        })?;
        serde_json::from_value(value).map_err(|e| {
            RemoteError::invalid_reply(SERVICE, call, None, format!("response.{key}: {e}"))
        })
    }

    /// Gets a token now (and caches it): a cheap check that the credentials work.
    pub async fn authenticate(&self) -> Result<(), RemoteError> {
        self.inner
            .retry
            .run(Idempotency::Idempotent, |_| async {
                self.token().await.map(|_| ())
            })
            .await
    }

    /// `GET /depots/depots`: depots with their delivery methods.
    pub async fn depots(&self) -> Result<Vec<Depot>, RemoteError> {
        let call = "depots/depots";
        let env = self
            .call(
                call,
                Method::GET,
                "/depots/depots",
                None,
                Idempotency::Idempotent,
            )
            .await?;
        Self::payload(call, &env, "depots")
    }

    /// `POST /orders/orders`. Never creates a second order: when an attempt may have reached
    /// Stream without its reply arriving, the next attempt first looks the order number up
    /// and, if Stream has it, returns it (`recovered: true`) instead of creating again.
    pub async fn create_order(
        &self,
        request: &CreateOrderRequest,
    ) -> Result<CreatedOrder, RemoteError> {
        let call = "orders/create";
        request
            .check()
            .map_err(|problem| RemoteError::request(SERVICE, call, problem))?;
        let body = serde_json::to_value(request)
            .map_err(|e| RemoteError::request(SERVICE, call, format!("body: {e}")))?;
        let order_no = request.header.order_no.as_str();
        let uncertain = AtomicBool::new(false);
        // Idempotent from the policy's point of view: each retry checks for the order first.
        self.inner
            .retry
            .run(Idempotency::Idempotent, |_| async {
                if uncertain.load(Ordering::SeqCst)
                    && let Some(found) = self.lookup_created(order_no).await?
                {
                    return Ok(found);
                }
                match self.send(call, Method::POST, "/orders/orders", Some(&body)).await {
                    Ok(env) => Self::created(call, &env),
                    Err(e) if uncertain.load(Ordering::SeqCst) && e.status == Some(409) => {
                        // The lost attempt landed after the lookup: take it.
                        match self.lookup_created(order_no).await? {
                            Some(found) => Ok(found),
                            None => Err(e),
                        }
                    }
                    Err(e) => {
                        if may_have_applied(&e) {
                            tracing::warn!(order_no, "a create may have reached Stream without a reply; checking before any retry: {e}");
                            uncertain.store(true, Ordering::SeqCst);
                        }
                        Err(e)
                    }
                }
            })
            .await
    }

    async fn lookup_created(&self, order_no: &str) -> Result<Option<CreatedOrder>, RemoteError> {
        let found = self.find_order_once(order_no).await?;
        Ok(found.map(|order| {
            tracing::info!(order_no, consignment = %order.header.consignment_no, "the earlier create had reached Stream");
            CreatedOrder {
                order_no: order.header.order_no,
                consignment_no: order.header.consignment_no,
                customer_order_no: order.header.customer_order_no,
                tracking_id: order.tracking_id,
                tracking_url: order.tracking_url,
                warnings: Vec::new(),
                recovered: true,
            }
        }))
    }

    fn created(call: &str, env: &Envelope) -> Result<CreatedOrder, RemoteError> {
        let body: CreateReplyBody = serde_json::from_value(env.body.clone()).map_err(|e| {
            RemoteError::invalid_reply(SERVICE, call, None, format!("create reply: {e}"))
        })?;
        if body.consignment_no.is_empty() {
            return Err(RemoteError::invalid_reply(
                SERVICE,
                call,
                None,
                "the create reply has no consignmentNo",
            ));
        }
        Ok(CreatedOrder {
            order_no: body.order_no,
            consignment_no: body.consignment_no,
            customer_order_no: body.customer_order_no,
            tracking_id: body.tracking_id,
            tracking_url: body.tracking_url,
            warnings: env.warnings(),
            recovered: false,
        })
    }

    async fn find_order_once(&self, reference: &str) -> Result<Option<StreamOrder>, RemoteError> {
        let call = "orders/get";
        let path = format!("/orders/orders/{}", path_segment(reference));
        match self.send(call, Method::GET, &path, None).await {
            Ok(env) => Self::payload(call, &env, "order").map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /orders/orders/{orderNo}` (an order number or a consignment number); `None`
    /// when Stream has no such order.
    pub async fn find_order(&self, reference: &str) -> Result<Option<StreamOrder>, RemoteError> {
        self.inner
            .retry
            .run(Idempotency::Idempotent, |_| self.find_order_once(reference))
            .await
    }

    /// `PATCH /orders/orders/{orderNo}`: changes the given header fields.
    pub async fn update_order(
        &self,
        order_no: &str,
        patch: &OrderHeaderPatch,
    ) -> Result<WithWarnings<()>, RemoteError> {
        let call = "orders/update";
        if patch.is_empty() {
            return Err(RemoteError::request(SERVICE, call, "nothing to change"));
        }
        let body = json!({ "header": patch });
        let path = format!("/orders/orders/{}", path_segment(order_no));
        // Setting fields to values is safe to repeat.
        let env = self
            .call(
                call,
                Method::PATCH,
                &path,
                Some(&body),
                Idempotency::Idempotent,
            )
            .await?;
        Ok(WithWarnings {
            value: (),
            warnings: env.warnings(),
        })
    }

    /// `DELETE /orders/orders/{orderNo}` (*inferred* path). A retry that finds the order gone
    /// counts as success: the lost attempt deleted it.
    pub async fn delete_order(&self, order_no: &str) -> Result<WithWarnings<()>, RemoteError> {
        let call = "orders/delete";
        let path = format!("/orders/orders/{}", path_segment(order_no));
        let env = self
            .inner
            .retry
            .run(Idempotency::Idempotent, |attempt| {
                let path = path.clone();
                async move {
                    match self.send(call, Method::DELETE, &path, None).await {
                        Err(e) if attempt > 1 && e.is_not_found() => Ok(None),
                        other => other.map(Some),
                    }
                }
            })
            .await?;
        Ok(WithWarnings {
            value: (),
            warnings: env.map(|e| e.warnings()).unwrap_or_default(),
        })
    }

    /// `GET /orders/status/{consignmentNo}` [ODOO].
    pub async fn order_status(&self, consignment_no: &str) -> Result<OrderStatus, RemoteError> {
        let call = "orders/status";
        let path = format!("/orders/status/{}", path_segment(consignment_no));
        let env = self
            .call(call, Method::GET, &path, None, Idempotency::Idempotent)
            .await?;
        Self::payload(call, &env, "orderStatus")
    }

    /// `POST /webhooks/webhooks` [GO2S-KB]; returns the subscription id. Not repeated after an
    /// uncertain failure (it would subscribe twice): the caller lists and reconciles instead.
    pub async fn subscribe(
        &self,
        subscription: &WebhookSubscription,
    ) -> Result<String, RemoteError> {
        let call = "webhooks/subscribe";
        let body = serde_json::to_value(subscription)
            .map_err(|e| RemoteError::request(SERVICE, call, format!("body: {e}")))?;
        let env = self
            .call(
                call,
                Method::POST,
                "/webhooks/webhooks",
                Some(&body),
                Idempotency::NotIdempotent,
            )
            .await?;
        match env.body.get("id") {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(RemoteError::invalid_reply(
                SERVICE,
                call,
                None,
                "the reply has no subscription id",
            )),
        }
    }

    /// `GET /webhooks/webhooks` (*inferred* path and shape): this account's subscriptions.
    pub async fn subscriptions(&self) -> Result<Vec<WebhookSubscriptionInfo>, RemoteError> {
        let call = "webhooks/list";
        let env = self
            .call(
                call,
                Method::GET,
                "/webhooks/webhooks",
                None,
                Idempotency::Idempotent,
            )
            .await?;
        Self::payload(call, &env, "webhooks")
    }

    /// `DELETE /webhooks/webhooks/{id}` (*inferred* path). Gone after a retry counts as done.
    pub async fn unsubscribe(&self, id: &str) -> Result<(), RemoteError> {
        let call = "webhooks/unsubscribe";
        let path = format!("/webhooks/webhooks/{}", path_segment(id));
        self.inner
            .retry
            .run(Idempotency::Idempotent, |attempt| {
                let path = path.clone();
                async move {
                    match self.send(call, Method::DELETE, &path, None).await {
                        Ok(_) => Ok(()),
                        Err(e) if attempt > 1 && e.is_not_found() => Ok(()),
                        Err(e) => Err(e),
                    }
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("LS-1001"), "LS-1001");
        assert_eq!(path_segment("A/B 1"), "A%2FB%201");
    }

    #[test]
    fn uncertain_failures_are_the_ones_that_may_have_applied() {
        let status = |s| RemoteError::status(SERVICE, "x", s, "", None);
        assert!(may_have_applied(&status(500)));
        assert!(may_have_applied(&status(503)));
        assert!(!may_have_applied(&status(429)));
        assert!(!may_have_applied(&status(400)));
        let kind = |kind| RemoteError {
            kind,
            status: None,
            ..status(0)
        };
        assert!(may_have_applied(&kind(RemoteErrorKind::Timeout)));
        assert!(may_have_applied(&kind(RemoteErrorKind::Transport)));
        assert!(!may_have_applied(&kind(RemoteErrorKind::Connect)));
    }

    #[test]
    fn party_is_the_partner_account_when_set() {
        let creds = |partner: Option<&str>| StreamCredentials {
            base_url: "http://127.0.0.1:1/api".into(),
            client_id: "CID".into(),
            client_secret: "secret".into(),
            partner_account_id: partner.map(str::to_string),
        };
        let opts = RemoteOptions::default();
        assert_eq!(
            StreamClient::new(creds(None), &opts)
                .expect("client")
                .party(),
            "CID"
        );
        assert_eq!(
            StreamClient::new(creds(Some("P1")), &opts)
                .expect("client")
                .party(),
            "P1"
        );
        assert_eq!(
            StreamClient::new(creds(Some(" ")), &opts)
                .expect("client")
                .party(),
            "CID"
        );
        let bad = StreamCredentials {
            base_url: "ftp://x".into(),
            ..creds(None)
        };
        assert!(StreamClient::new(bad, &opts).is_err());
        assert!(!format!("{:?}", creds(None)).contains("secret\""));
    }
}
