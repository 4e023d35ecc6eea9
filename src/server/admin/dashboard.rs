//! The support dashboard in the browser, under `/admin/`: a sign-in page that turns the
//! admin token into a session cookie, and a small single-page app (assets embedded in the
//! binary) over the admin API on the same origin.
//!
//! CSRF: the session cookie is `SameSite=Strict` and `HttpOnly`; every cookie-authenticated
//! write to the API must also carry the session's CSRF token in `X-CSRF-Token` (checked in
//! [`super::auth`]), and the sign-in and sign-out forms are refused when their `Origin`
//! names another site. Pages are served with a strict Content-Security-Policy (no inline
//! script or style, nothing from other origins), may not be framed, and send no referrer to
//! other sites (`same-origin`: with `no-referrer` browsers send `Origin: null` on the
//! sign-in form).

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use super::auth::{
    AdminAuth, SESSION_COOKIE, SESSION_TTL, check_user_name, clear_cookie, cookie_value,
};

/// Where the dashboard is mounted.
pub const DASHBOARD_PREFIX: &str = "/admin";

const INDEX_HTML: &str = include_str!("assets/index.html");
const LOGIN_HTML: &str = include_str!("assets/login.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// A failed sign-in waits this long, so tokens cannot be guessed quickly.
const FAILED_SIGN_IN_DELAY: Duration = Duration::from_millis(400);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The dashboard's pages and assets.
pub fn dashboard_router(auth: AdminAuth) -> Router {
    Router::new()
        .route(DASHBOARD_PREFIX, get(|| async { Redirect::to("/admin/") }))
        .route("/admin/", get(index))
        .route("/admin/login", get(login_page).post(sign_in))
        .route("/admin/logout", axum::routing::post(sign_out))
        .route(
            "/admin/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/admin/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .with_state(auth)
        .layer(map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Embedded in the binary: a new version comes with a restart, so revalidate.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn login_html(error: Option<&str>, name: &str) -> String {
    let error = error
        .map(|e| {
            format!(
                "<div class=\"banner error\" id=\"login-error\" role=\"alert\">{}</div>",
                escape(e)
            )
        })
        .unwrap_or_default();
    LOGIN_HTML
        .replace("{{error}}", &error)
        .replace("{{name}}", &escape(name))
}

/// The app for a signed-in browser; the sign-in page for anyone else.
async fn index(State(auth): State<AdminAuth>, headers: HeaderMap) -> Response {
    let signed_in = cookie_value(&headers, SESSION_COOKIE)
        .and_then(|v| auth.verify_session(v, Utc::now()))
        .is_some();
    if signed_in {
        html(StatusCode::OK, INDEX_HTML.to_string())
    } else {
        see_other("/admin/login", None)
    }
}

fn see_other(location: &'static str, cookie: Option<HeaderValue>) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn login_page() -> Response {
    html(StatusCode::OK, login_html(None, ""))
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
}

/// Whether a form post comes from this site: browsers send `Origin` on POST; a request
/// without one is not a cross-site browser form.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(origin_host) = origin.split_once("://").map(|(_, rest)| rest) else {
        return false;
    };
    let origin_host = origin_host.trim_end_matches('/');
    [header::HOST.as_str(), "x-forwarded-host"]
        .iter()
        .any(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|host| host.trim().eq_ignore_ascii_case(origin_host))
        })
}

async fn sign_in(State(auth): State<AdminAuth>, headers: HeaderMap, body: Bytes) -> Response {
    if !same_origin(&headers) {
        return html(
            StatusCode::FORBIDDEN,
            login_html(Some("Sign in from this site's own sign-in page."), ""),
        );
    }
    let form: SignInForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => {
            return html(
                StatusCode::BAD_REQUEST,
                login_html(
                    Some(&format!("The sign-in form could not be read: {e}")),
                    "",
                ),
            );
        }
    };
    let name = match check_user_name(&form.name) {
        Ok(name) => name,
        Err(e) => {
            return html(
                StatusCode::BAD_REQUEST,
                login_html(Some(&format!("Your name: {e}")), ""),
            );
        }
    };
    let shown_name = name.clone().unwrap_or_default();
    let Some(token_name) = auth.verify_token(form.token.trim()).map(str::to_string) else {
        tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
        let problem = if form.token.trim().is_empty() {
            "Enter the admin token."
        } else {
            "That admin token is not valid."
        };
        return html(
            StatusCode::UNAUTHORIZED,
            login_html(Some(problem), &shown_name),
        );
    };
    let expires = Utc::now() + chrono::Duration::from_std(SESSION_TTL).unwrap_or_default();
    let Some(session) = auth.new_session(&token_name, name.as_deref(), expires) else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            login_html(Some("The session could not be created."), &shown_name),
        );
    };
    tracing::info!(actor = %session.caller.actor(), "signed in to the dashboard");
    see_other("/admin/", session.set_cookie(auth.secure_for(&headers)))
}

#[derive(Deserialize)]
struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session. Needs the session's CSRF token, so another site cannot sign people out.
async fn sign_out(State(auth): State<AdminAuth>, headers: HeaderMap, body: Bytes) -> Response {
    let form: SignOutForm = serde_urlencoded::from_bytes(&body).unwrap_or(SignOutForm {
        csrf: String::new(),
    });
    let caller =
        cookie_value(&headers, SESSION_COOKIE).and_then(|v| auth.verify_session(v, Utc::now()));
    if let Some(caller) = caller {
        let expected = caller.csrf.unwrap_or_default();
        if !same_origin(&headers) || !bool::from(form.csrf.as_bytes().ct_eq(expected.as_bytes())) {
            return html(
                StatusCode::FORBIDDEN,
                login_html(Some("Sign out from the dashboard's own button."), ""),
            );
        }
    }
    see_other(
        "/admin/login",
        Some(clear_cookie(auth.secure_for(&headers))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_page_escapes_what_it_repeats() {
        let page = login_html(Some("<b>bad</b>"), "\"><script>");
        assert!(page.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(page.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn form_posts_from_other_sites_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("ops.example.com"));
        assert!(same_origin(&h), "no Origin: not a cross-site browser form");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://ops.example.com"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://public.example.com"),
        );
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("public.example.com"),
        );
        assert!(same_origin(&h), "behind a proxy that rewrites Host");
    }
}
