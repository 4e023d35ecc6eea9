//! Who may use the admin API and the dashboard: holders of an admin bearer token.
//!
//! Tokens come from `--admin-token` / `LINNSTREAM_ADMIN_TOKEN` (one token, named "admin")
//! and/or `--admin-token-file` / `LINNSTREAM_ADMIN_TOKEN_FILE` (e.g. a mounted Secret: one
//! bare token, or one `NAME TOKEN` line per person). The token's name is recorded in the
//! audit log as who did an action, optionally with the name the caller gives
//! (`X-Linnstream-User`, the CLI's `--user`, the sign-in form).
//!
//! API clients send `Authorization: Bearer TOKEN`. The dashboard signs in once and then
//! holds a session cookie: not the token itself but a signed, expiring session
//! (HMAC-SHA256 keyed with the token, so rotating the token ends every session made with
//! it). Cookie-authenticated writes must carry the session's CSRF token (`X-CSRF-Token`);
//! the cookie is also `SameSite=Strict` and `HttpOnly`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::error::ApiError;

pub const TOKEN_ENV: &str = "LINNSTREAM_ADMIN_TOKEN";
pub const TOKEN_FILE_ENV: &str = "LINNSTREAM_ADMIN_TOKEN_FILE";
/// Shorter tokens are refused: they could be guessed.
pub const MIN_TOKEN_LEN: usize = 16;
pub const SESSION_COOKIE: &str = "linnstream_admin_session";
/// How long a dashboard sign-in lasts: a working shift.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The caller's own name, recorded beside the token's name as who did an action.
pub const USER_HEADER: &str = "x-linnstream-user";
/// The admin token in a header of its own, for calls through the Kubernetes API server's
/// service proxy (`kubectl linnstream`): the API server consumes `Authorization` (the
/// caller's Kubernetes credentials) and does not pass it on. Like a bearer token, it needs
/// no CSRF token: browsers never add such a header by themselves.
pub const TOKEN_HEADER: &str = "x-linnstream-token";
/// The name of a token given without one.
pub const DEFAULT_TOKEN_NAME: &str = "admin";
const MAX_NAME_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// The admin tokens; cheap to clone.
#[derive(Clone)]
pub struct AdminAuth {
    inner: Arc<Inner>,
}

struct Inner {
    tokens: Vec<NamedToken>,
    always_secure: bool,
}

struct NamedToken {
    name: String,
    token: String,
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.inner.tokens.iter().map(|t| t.name.as_str()).collect();
        f.debug_struct("AdminAuth")
            .field("tokens", &names)
            .field("always_secure", &self.inner.always_secure)
            .finish()
    }
}

/// The command-line side of [`AdminAuth`], for `linnstream run` and the gateway.
#[derive(clap::Args, Clone, Default)]
pub struct AdminAuthArgs {
    /// Bearer token for the admin API and dashboard (at least 16 characters).
    #[arg(long, env = TOKEN_ENV, hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the admin token(s), e.g. a mounted Secret: one token, or one
    /// "NAME TOKEN" line per person (NAME is recorded in the audit log).
    #[arg(long, env = TOKEN_FILE_ENV)]
    pub admin_token_file: Option<PathBuf>,
    /// Always mark the session cookie Secure (by default it is when the request came over
    /// https, as X-Forwarded-Proto says).
    #[arg(long, env = "LINNSTREAM_ADMIN_SECURE_COOKIES")]
    pub admin_secure_cookies: bool,
}

impl fmt::Debug for AdminAuthArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuthArgs")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .field("admin_token_file", &self.admin_token_file)
            .field("admin_secure_cookies", &self.admin_secure_cookies)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminAuthError {
    #[error(
        "no admin token configured: set --admin-token ({TOKEN_ENV}) or --admin-token-file \
         ({TOKEN_FILE_ENV}); the admin API and dashboard are never served without one"
    )]
    Missing,
    #[error("cannot read the admin token file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// `origin` says where (flag, or file and line); never the token itself.
    #[error("{origin}: {problem}")]
    Invalid { origin: String, problem: String },
}

fn invalid(origin: &str, problem: impl Into<String>) -> AdminAuthError {
    AdminAuthError::Invalid {
        origin: origin.to_string(),
        problem: problem.into(),
    }
}

fn check_name(origin: &str, name: &str) -> Result<(), AdminAuthError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            origin,
            format!(
                "token name {name:?} must be 1-{MAX_NAME_LEN} letters, digits, '.', '_', '-' or '@'"
            ),
        ))
    }
}

fn check_token(origin: &str, token: &str) -> Result<(), AdminAuthError> {
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(invalid(
            origin,
            format!(
                "the token is too short ({} characters); use at least {MIN_TOKEN_LEN}",
                token.chars().count()
            ),
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            origin,
            "the token must not contain spaces or control characters",
        ));
    }
    Ok(())
}

/// Reads a token file: `TOKEN` or `NAME TOKEN` per line; blank lines and `#` comments skipped.
pub fn parse_token_file(origin: &str, text: &str) -> Result<Vec<(String, String)>, AdminAuthError> {
    let mut tokens = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{origin}, line {}", n + 1);
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, token) = match parts.as_slice() {
            [token] => (DEFAULT_TOKEN_NAME, *token),
            [name, token] => (*name, *token),
            _ => return Err(invalid(&at, "expected TOKEN or NAME TOKEN")),
        };
        check_name(&at, name)?;
        check_token(&at, token)?;
        tokens.push((name.to_string(), token.to_string()));
    }
    Ok(tokens)
}

impl AdminAuth {
    /// Named tokens; refused when empty, a name repeats, or a token is weak.
    pub fn new(tokens: Vec<(String, String)>) -> Result<Self, AdminAuthError> {
        if tokens.is_empty() {
            return Err(AdminAuthError::Missing);
        }
        let mut named: Vec<NamedToken> = Vec::with_capacity(tokens.len());
        for (name, token) in tokens {
            let origin = format!("admin token {name:?}");
            check_name(&origin, &name)?;
            check_token(&origin, &token)?;
            if named.iter().any(|t| t.name == name) {
                return Err(invalid(&origin, "the name is given more than once"));
            }
            if named.iter().any(|t| t.token == token) {
                return Err(invalid(&origin, "the same token is given twice"));
            }
            named.push(NamedToken { name, token });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                tokens: named,
                always_secure: false,
            }),
        })
    }

    /// One token, named "admin".
    pub fn single(token: &str) -> Result<Self, AdminAuthError> {
        check_token(&format!("--admin-token ({TOKEN_ENV})"), token)?;
        Self::new(vec![(DEFAULT_TOKEN_NAME.to_string(), token.to_string())])
    }

    /// Always mark the session cookie Secure.
    pub fn with_secure_cookies(self, always: bool) -> Self {
        let inner = Inner {
            tokens: self
                .inner
                .tokens
                .iter()
                .map(|t| NamedToken {
                    name: t.name.clone(),
                    token: t.token.clone(),
                })
                .collect(),
            always_secure: always,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// From the flags (or their environment variables); fails when none is set.
    pub fn from_args(args: &AdminAuthArgs) -> Result<Self, AdminAuthError> {
        let mut tokens = Vec::new();
        if let Some(token) = args.admin_token.as_deref().filter(|t| !t.trim().is_empty()) {
            let token = token.trim();
            check_token(&format!("--admin-token ({TOKEN_ENV})"), token)?;
            tokens.push((DEFAULT_TOKEN_NAME.to_string(), token.to_string()));
        }
        if let Some(path) = &args.admin_token_file {
            let text = std::fs::read_to_string(path).map_err(|source| AdminAuthError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let origin = format!("admin token file {}", path.display());
            let from_file = parse_token_file(&origin, &text)?;
            if from_file.is_empty() {
                return Err(invalid(&origin, "the file holds no token"));
            }
            tokens.extend(from_file);
        }
        Ok(Self::new(tokens)?.with_secure_cookies(args.admin_secure_cookies))
    }

    /// From `LINNSTREAM_ADMIN_TOKEN` and `LINNSTREAM_ADMIN_TOKEN_FILE`.
    pub fn from_env() -> Result<Self, AdminAuthError> {
        let args = AdminAuthArgs {
            admin_token: std::env::var(TOKEN_ENV).ok(),
            admin_token_file: std::env::var_os(TOKEN_FILE_ENV).map(PathBuf::from),
            admin_secure_cookies: std::env::var("LINNSTREAM_ADMIN_SECURE_COOKIES")
                .is_ok_and(|v| v == "true" || v == "1"),
        };
        Self::from_args(&args)
    }

    /// The name of the token presented, comparing with every token in constant time so
    /// the reply's timing does not tell how much of a token matched.
    pub fn verify_token(&self, presented: &str) -> Option<&str> {
        let mut found = None;
        for t in &self.inner.tokens {
            if bool::from(t.token.as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(t.name.as_str());
            }
        }
        found
    }

    fn token_named(&self, name: &str) -> Option<&NamedToken> {
        self.inner.tokens.iter().find(|t| t.name == name)
    }

    /// A new signed session for the holder of `token_name`, valid until `expires`.
    pub fn new_session(
        &self,
        token_name: &str,
        user: Option<&str>,
        expires: DateTime<Utc>,
    ) -> Option<Session> {
        let token = self.token_named(token_name)?;
        let nonce: [u8; 16] = rand::random();
        let payload = format!(
            "v1.{}.{}.{}.{}",
            expires.timestamp(),
            URL_SAFE_NO_PAD.encode(token_name),
            URL_SAFE_NO_PAD.encode(user.unwrap_or("")),
            URL_SAFE_NO_PAD.encode(nonce)
        );
        let mac = sign(&token.token, payload.as_bytes())?;
        let csrf = csrf_for(&token.token, &payload)?;
        Some(Session {
            cookie_value: format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac)),
            caller: Caller {
                token_name: token_name.to_string(),
                user: user.map(str::to_string),
                csrf: Some(csrf),
            },
            expires,
        })
    }

    /// The session a cookie value holds, if it is well formed, signed by a current token
    /// and not expired.
    pub fn verify_session(&self, value: &str, now: DateTime<Utc>) -> Option<Caller> {
        let (payload, mac) = value.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let parts: Vec<&str> = payload.split('.').collect();
        let [version, expires, name, user, _nonce] = parts.as_slice() else {
            return None;
        };
        if *version != "v1" {
            return None;
        }
        let name = String::from_utf8(URL_SAFE_NO_PAD.decode(name).ok()?).ok()?;
        let token = self.token_named(&name)?;
        let mut verifier = HmacSha256::new_from_slice(token.token.as_bytes()).ok()?;
        verifier.update(payload.as_bytes());
        verifier.verify_slice(&mac).ok()?;
        let expires: i64 = expires.parse().ok()?;
        if now.timestamp() >= expires {
            return None;
        }
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        Some(Caller {
            token_name: name,
            user: Some(user).filter(|u| !u.is_empty()),
            csrf: Some(csrf_for(&token.token, payload)?),
        })
    }

    /// Whether cookies set in reply to a request with these headers are marked Secure.
    pub fn secure_for(&self, headers: &HeaderMap) -> bool {
        self.inner.always_secure || came_over_https(headers)
    }

    /// Who is calling: a bearer token, or a session cookie (whose writes must carry the
    /// session's CSRF token).
    pub fn authenticate(&self, headers: &HeaderMap, method: &Method) -> Result<Caller, ApiError> {
        if let Some(value) = headers.get(TOKEN_HEADER) {
            let token = value.to_str().unwrap_or("").trim();
            let Some(name) = self.verify_token(token) else {
                return Err(ApiError::unauthorized("the admin token is not valid"));
            };
            return Ok(Caller {
                token_name: name.to_string(),
                user: user_header(headers)?,
                csrf: None,
            });
        }
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or("");
            let Some(token) = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            else {
                return Err(ApiError::unauthorized(
                    "the Authorization header must be `Bearer <admin token>`",
                ));
            };
            let Some(name) = self.verify_token(token.trim()) else {
                return Err(ApiError::unauthorized("the admin token is not valid"));
            };
            return Ok(Caller {
                token_name: name.to_string(),
                user: user_header(headers)?,
                csrf: None,
            });
        }
        let Some(cookie) = cookie_value(headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "sign in first: send `Authorization: Bearer <admin token>` or sign in to the dashboard",
            ));
        };
        let Some(caller) = self.verify_session(cookie, Utc::now()) else {
            return Err(ApiError::unauthorized(
                "the session has expired or is not valid; sign in again",
            ));
        };
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let expected = caller.csrf.as_deref().unwrap_or("");
            if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "the X-CSRF-Token header is missing or does not match this session; reload the dashboard",
                ));
            }
        }
        Ok(caller)
    }
}

fn sign(key: &str, message: &[u8]) -> Option<Vec<u8>> {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

fn csrf_for(token: &str, payload: &str) -> Option<String> {
    let mac = sign(token, format!("csrf.{payload}").as_bytes())?;
    Some(URL_SAFE_NO_PAD.encode(mac))
}

fn came_over_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split([';', ','])
                .any(|p| p.trim().eq_ignore_ascii_case("proto=https"))
        });
    forwarded_proto || forwarded
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Checks a name a person gives for themselves (the user header, the sign-in form).
pub fn check_user_name(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(format!("at most {MAX_NAME_LEN} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("control characters are not allowed".into());
    }
    Ok(Some(value.to_string()))
}

fn user_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(USER_HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request(format!("{USER_HEADER}: must be plain text")))?;
    check_user_name(text).map_err(|e| ApiError::bad_request(format!("{USER_HEADER}: {e}")))
}

/// A signed-in dashboard session.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie_value: String,
    pub caller: Caller,
    pub expires: DateTime<Utc>,
}

impl Session {
    /// The `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure when `secure`.
    pub fn set_cookie(&self, secure: bool) -> Option<HeaderValue> {
        let max_age = (self.expires - Utc::now()).num_seconds().max(0);
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
            self.cookie_value
        ))
        .ok()
    }
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("linnstream_admin_session=; Max-Age=0"))
}

/// Who is making a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The name of the admin token used.
    pub token_name: String,
    /// The name the caller gave for themselves, if any.
    pub user: Option<String>,
    /// The CSRF token of a cookie session (`None` for bearer callers).
    pub csrf: Option<String>,
}

impl Caller {
    /// Who did it, for the audit log: "alice (token admin)", or the token's name alone.
    pub fn actor(&self) -> String {
        match &self.user {
            Some(user) if *user != self.token_name => {
                format!("{user} (token {})", self.token_name)
            }
            _ => self.token_name.clone(),
        }
    }
}

/// Middleware: lets a request through only with a valid token or session, and hands the
/// handlers its [`Caller`].
pub async fn require_caller(
    State(auth): State<AdminAuth>,
    mut req: Request,
    next: Next,
) -> Response {
    match auth.authenticate(req.headers(), req.method()) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-admin-token-0001";

    fn auth() -> AdminAuth {
        AdminAuth::new(vec![
            ("admin".into(), TOKEN.into()),
            ("alice".into(), "alice-token-0123456789".into()),
        ])
        .expect("valid tokens")
    }

    #[test]
    fn tokens_are_checked_and_named() {
        let auth = auth();
        assert_eq!(auth.verify_token(TOKEN), Some("admin"));
        assert_eq!(auth.verify_token("alice-token-0123456789"), Some("alice"));
        assert_eq!(auth.verify_token("s3cret-admin-token-000"), None);
        assert_eq!(auth.verify_token(""), None);
        let e = AdminAuth::single("short").expect_err("weak token");
        assert!(e.to_string().contains("too short (5 characters)"), "{e}");
        assert!(
            !e.to_string().contains("short\""),
            "the token is never echoed: {e}"
        );
        assert!(matches!(
            AdminAuth::new(vec![]),
            Err(AdminAuthError::Missing)
        ));
    }

    #[test]
    fn token_files_hold_one_token_or_named_lines() {
        let one = parse_token_file("f", &format!("{TOKEN}\n")).expect("bare token");
        assert_eq!(one, vec![("admin".to_string(), TOKEN.to_string())]);
        let named = parse_token_file(
            "f",
            "# support staff\nalice alice-token-0123456789\n\nbob bob-token-01234567890\n",
        )
        .expect("named tokens");
        assert_eq!(named.len(), 2);
        assert_eq!(named[1].0, "bob");
        let e = parse_token_file("f", "alice x y\n").expect_err("three words");
        assert_eq!(e.to_string(), "f, line 1: expected TOKEN or NAME TOKEN");
        let e = parse_token_file("f", "\nal!ce alice-token-0123456789").expect_err("bad name");
        assert!(e.to_string().starts_with("f, line 2: token name"), "{e}");
    }

    #[test]
    fn sessions_are_signed_expire_and_carry_a_csrf_token() {
        let auth = auth();
        let now = Utc::now();
        let session = auth
            .new_session(
                "alice",
                Some("Alice Smith"),
                now + chrono::Duration::hours(1),
            )
            .expect("session");
        let caller = auth
            .verify_session(&session.cookie_value, now)
            .expect("valid session");
        assert_eq!(caller.actor(), "Alice Smith (token alice)");
        assert_eq!(caller.csrf, session.caller.csrf);
        assert!(caller.csrf.as_deref().is_some_and(|c| c.len() >= 40));
        assert!(
            !session.cookie_value.contains("alice-token"),
            "the cookie never holds the token"
        );
        // Expired.
        assert!(
            auth.verify_session(&session.cookie_value, now + chrono::Duration::hours(2))
                .is_none()
        );
        // Tampered: another name, or another expiry, with the old signature.
        let forged = session.cookie_value.replacen(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("admin"),
            1,
        );
        assert!(auth.verify_session(&forged, now).is_none());
        // Signed with a token that is no longer configured.
        let rotated = AdminAuth::new(vec![("alice".into(), "alice-token-rotated-000".into())])
            .expect("tokens");
        assert!(rotated.verify_session(&session.cookie_value, now).is_none());
        // Another session has another CSRF token.
        let other = auth
            .new_session("alice", None, now + chrono::Duration::hours(1))
            .expect("session");
        assert_ne!(other.caller.csrf, session.caller.csrf);
    }

    #[test]
    fn cookie_writes_need_the_csrf_token_and_bearer_calls_do_not() {
        let auth = auth();
        let session = auth
            .new_session("admin", None, Utc::now() + chrono::Duration::hours(1))
            .expect("session");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!(
                "other=1; {SESSION_COOKIE}={}",
                session.cookie_value
            ))
            .expect("header"),
        );
        assert!(auth.authenticate(&headers, &Method::GET).is_ok());
        let e = auth
            .authenticate(&headers, &Method::POST)
            .expect_err("no csrf");
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        headers.insert(
            CSRF_HEADER,
            HeaderValue::from_str(session.caller.csrf.as_deref().expect("csrf")).expect("header"),
        );
        assert!(auth.authenticate(&headers, &Method::POST).is_ok());

        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("header"),
        );
        bearer.insert(USER_HEADER, HeaderValue::from_static("bob"));
        let caller = auth.authenticate(&bearer, &Method::POST).expect("bearer");
        assert_eq!(caller.actor(), "bob (token admin)");
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46eA=="),
        );
        let e = auth.authenticate(&bearer, &Method::GET).expect_err("basic");
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn secure_cookies_follow_the_forwarded_scheme() {
        let auth = auth();
        let mut headers = HeaderMap::new();
        assert!(!auth.secure_for(&headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(auth.secure_for(&headers));
        assert!(
            auth.clone()
                .with_secure_cookies(true)
                .secure_for(&HeaderMap::new())
        );
        let session = auth
            .new_session("admin", None, Utc::now() + chrono::Duration::hours(1))
            .expect("session");
        let cookie = session.set_cookie(true).expect("cookie");
        let cookie = cookie.to_str().expect("text");
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Strict"));
        assert!(cookie.ends_with("; Secure"));
    }
}
