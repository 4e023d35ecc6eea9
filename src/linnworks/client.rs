//! Session handling and the one request path every typed call goes through.

use std::fmt;
use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::model::{AuthorizeByApplicationRequest, BaseSession};
use crate::remote::{
    Idempotency, Pacer, RemoteError, RemoteOptions, RetryPolicy, parse_retry_after, read_reply,
};

pub const SERVICE: &str = "Linnworks";

/// The three values an installation logs in with. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub application_id: String,
    pub application_secret: String,
    pub installation_token: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

impl From<&crate::config::Credentials> for Credentials {
    fn from(c: &crate::config::Credentials) -> Self {
        Self {
            application_id: c.linnworks_application_id.clone(),
            application_secret: c.linnworks_application_secret.clone(),
            installation_token: c.linnworks_installation_token.clone(),
        }
    }
}

/// A live Linnworks session. `Debug` never shows the token.
#[derive(Clone)]
pub struct Session {
    token: String,
    /// Base URL of later calls, without a trailing slash.
    pub server: String,
    pub user_email: Option<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("user_email", &self.user_email)
            .finish_non_exhaustive()
    }
}

/// One client per installation; cheap to clone (clones share the session).
#[derive(Clone)]
pub struct LinnworksClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    auth_base: String,
    credentials: Credentials,
    retry: RetryPolicy,
    pacer: Pacer,
    /// The current session. Held across a login, so concurrent callers wait for one
    /// login instead of each starting their own.
    session: Mutex<Option<Arc<Session>>>,
}

impl fmt::Debug for LinnworksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinnworksClient")
            .field("auth_base", &self.inner.auth_base)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl LinnworksClient {
    /// `api_base_url`: where to log in (`https://api.linnworks.net`, or a simulator).
    pub fn new(
        api_base_url: &str,
        credentials: Credentials,
        options: &RemoteOptions,
    ) -> Result<Self, RemoteError> {
        let auth_base = normalise_base(api_base_url).ok_or_else(|| {
            RemoteError::request(
                SERVICE,
                "client setup",
                format!("API base URL {api_base_url:?} is not an http(s) URL"),
            )
        })?;
        for (name, value) in [
            ("application id", &credentials.application_id),
            ("application secret", &credentials.application_secret),
            ("installation token", &credentials.installation_token),
        ] {
            if value.trim().is_empty() {
                return Err(RemoteError::request(
                    SERVICE,
                    "client setup",
                    format!("the {name} is empty"),
                ));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http: options.http_client()?,
                auth_base,
                credentials,
                retry: options.retry.clone(),
                pacer: Pacer::new(super::PUBLISHED_RATE_LIMITS, options.linnworks_pace_scale),
                session: Mutex::new(None),
            }),
        })
    }

    /// The current session, logging in first if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, RemoteError> {
        let mut guard = self.inner.session.lock().await;
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let fresh = Arc::new(self.login().await?);
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    /// Replaces `stale` with a new session, unless another caller already did.
    async fn renew(&self, stale: &Session) -> Result<Arc<Session>, RemoteError> {
        let mut guard = self.inner.session.lock().await;
        if let Some(current) = guard.as_ref()
            && current.token != stale.token
        {
            return Ok(current.clone());
        }
        *guard = None;
        let fresh = Arc::new(self.login().await?);
        *guard = Some(fresh.clone());
        Ok(fresh)
    }

    async fn login(&self) -> Result<Session, RemoteError> {
        const CALL: &str = "Auth/AuthorizeByApplication";
        let c = &self.inner.credentials;
        let body = AuthorizeByApplicationRequest {
            application_id: &c.application_id,
            application_secret: &c.application_secret,
            token: &c.installation_token,
        };
        let url = format!("{}/api/{CALL}", self.inner.auth_base);
        let reply: BaseSession = self
            .inner
            .retry
            .run(Idempotency::Idempotent, |_| {
                let pace = self.inner.pacer.wait(CALL);
                let request = self
                    .inner
                    .http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .json(&body);
                async move {
                    pace.await;
                    self.finish(CALL, request, None).await
                }
            })
            .await?;
        if reply.token.trim().is_empty() {
            return Err(RemoteError::invalid_reply(
                SERVICE,
                CALL,
                Some(200),
                "the reply has no session Token",
            ));
        }
        // `Server` is where every later call goes. A reply without one keeps the login
        // host (*inferred*: the real service always sends it).
        let server = match reply.server.as_deref().map(str::trim) {
            None | Some("") => self.inner.auth_base.clone(),
            Some(s) => normalise_base(s).ok_or_else(|| {
                RemoteError::invalid_reply(
                    SERVICE,
                    CALL,
                    Some(200),
                    format!("Server {s:?} is not an http(s) URL"),
                )
            })?,
        };
        tracing::debug!(server = %server, "Linnworks session started");
        Ok(Session {
            token: reply.token,
            server,
            user_email: reply.email,
        })
    }

    /// POSTs `body` as JSON to `/api/{call}` and decodes the reply.
    pub(super) async fn post<B, T>(
        &self,
        call: &'static str,
        body: &B,
        idempotency: Idempotency,
    ) -> Result<T, RemoteError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = serde_json::to_vec(body).map_err(|e| {
            RemoteError::request(SERVICE, call, format!("cannot encode the request: {e}"))
        })?;
        self.send(call, Method::POST, Some(body), idempotency).await
    }

    /// GETs `/api/{call}` and decodes the reply.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        call: &'static str,
    ) -> Result<T, RemoteError> {
        self.send(call, Method::GET, None, Idempotency::Idempotent)
            .await
    }

    /// One call with the current session; on 401 (an expired session) log in again and
    /// repeat it once. The retry policy handles everything else.
    async fn send<T: DeserializeOwned>(
        &self,
        call: &'static str,
        method: Method,
        body: Option<Vec<u8>>,
        idempotency: Idempotency,
    ) -> Result<T, RemoteError> {
        let session = self.session().await?;
        match self
            .send_with(&session, call, &method, body.as_deref(), idempotency)
            .await
        {
            Err(e) if e.is_unauthorized() => {
                tracing::info!(call, "Linnworks session refused (401); logging in again");
                let session = self.renew(&session).await?;
                self.send_with(&session, call, &method, body.as_deref(), idempotency)
                    .await
            }
            other => other,
        }
    }

    async fn send_with<T: DeserializeOwned>(
        &self,
        session: &Session,
        call: &'static str,
        method: &Method,
        body: Option<&[u8]>,
        idempotency: Idempotency,
    ) -> Result<T, RemoteError> {
        let url = format!("{}/api/{call}", session.server);
        let mut auth = HeaderValue::from_str(&session.token).map_err(|_| {
            RemoteError::invalid_reply(
                SERVICE,
                "Auth/AuthorizeByApplication",
                Some(200),
                "the session Token is not a valid header value",
            )
        })?;
        auth.set_sensitive(true);
        self.inner
            .retry
            .run(idempotency, |_| {
                let pace = self.inner.pacer.wait(call);
                let mut request = self
                    .inner
                    .http
                    .request(method.clone(), &url)
                    .header(AUTHORIZATION, auth.clone())
                    .header(ACCEPT, "application/json");
                if let Some(body) = body {
                    request = request
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.to_vec());
                }
                async move {
                    pace.await;
                    self.finish(call, request, Some(&session.token)).await
                }
            })
            .await
    }

    /// Sends, then turns a non-2xx reply into a `RemoteError` with the remote `Message`,
    /// and a 2xx reply into `T`. Secrets the remote may echo are redacted.
    async fn finish<T: DeserializeOwned>(
        &self,
        call: &'static str,
        request: reqwest::RequestBuilder,
        session_token: Option<&str>,
    ) -> Result<T, RemoteError> {
        let c = &self.inner.credentials;
        let secrets = [
            c.application_secret.as_str(),
            c.installation_token.as_str(),
            session_token.unwrap_or(""),
        ];
        let (status, headers, text) = read_reply(SERVICE, call, request)
            .await
            .map_err(|e| e.redact(&secrets))?;
        if !(200..300).contains(&status) {
            let (message, code) = error_message(&text);
            return Err(RemoteError::status(SERVICE, call, status, message, code)
                .with_retry_after(parse_retry_after(&headers))
                .redact(&secrets));
        }
        // 204 No Content (UpdatePostalService, SetOrderGeneralInfo) decodes as JSON null.
        let text = if text.trim().is_empty() {
            "null"
        } else {
            text.as_str()
        };
        // An unpaired surrogate escape in one order would otherwise fail the whole reply.
        let text = crate::remote::text::mark_lone_surrogates(text);
        serde_json::from_str(&text).map_err(|e| {
            RemoteError::invalid_reply(
                SERVICE,
                call,
                Some(status),
                format!("unexpected reply: {e}"),
            )
        })
    }
}

/// The `Message` (and `Code`, if any) of a Linnworks error body, or the body's text.
fn error_message(text: &str) -> (String, Option<String>) {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return (text.trim().to_string(), None);
    };
    let find = |names: &[&str]| {
        map.iter()
            .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
    };
    let message =
        find(&["Message", "ExceptionMessage", "error"]).unwrap_or_else(|| text.to_string());
    (message, find(&["Code"]))
}

/// `https://host[:port][/path]` without trailing slashes or a trailing `/api`; None when
/// not an http(s) URL.
fn normalise_base(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let url = url.strip_suffix("/api").unwrap_or(url);
    Some(url.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(
            normalise_base("https://eu-ext.linnworks.net/").as_deref(),
            Some("https://eu-ext.linnworks.net")
        );
        assert_eq!(
            normalise_base("https://eu-ext.linnworks.net/api").as_deref(),
            Some("https://eu-ext.linnworks.net")
        );
        assert_eq!(normalise_base("ftp://x").as_deref(), None);
        assert_eq!(normalise_base("not a url").as_deref(), None);
    }

    #[test]
    fn error_bodies_give_message_and_code() {
        assert_eq!(
            error_message(r#"{"Message":"Order not found","Code":"E1"}"#),
            ("Order not found".into(), Some("E1".into()))
        );
        assert_eq!(error_message("Bad gateway").0, "Bad gateway");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials {
            application_id: "app".into(),
            application_secret: "very-secret".into(),
            installation_token: "tok-123".into(),
        };
        let text = format!("{c:?}");
        assert!(!text.contains("very-secret") && !text.contains("tok-123"));
    }
}
