//! The dashboard's sign-in, session cookie and CSRF rules over plain HTTP (the browser
//! test, tests/admin/browser.rs, drives the pages themselves).

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::harness::{Backend, Harness, TOKEN};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_strict_session_cookie_and_writes_need_its_csrf_token() {
    let h = Harness::start_with(Backend::Sqlite, false).await;
    let (order_id, _) = h.sims.add_order(json!({"reference": "DASH-1"})).await;
    h.refetch().await;
    let http = no_redirects();

    // Not signed in: the page sends you to the sign-in form.
    let r = http.get(h.url("/admin/")).send().await.expect("answers");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/admin/login");
    let r = http
        .get(h.url("/admin/login"))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .contains("default-src 'self'")
    );
    assert!(r.text().await.expect("page").contains("name=\"token\""));

    // A wrong token: 401, the form again, no cookie.
    let r = http
        .post(h.url("/admin/login"))
        .form(&[("token", "wrong-token-0123456789"), ("name", "Dee")])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("That admin token is not valid.")
    );

    // A form posted from another site is refused, even with the right token.
    let r = http
        .post(h.url("/admin/login"))
        .header("Origin", "https://evil.example")
        .form(&[("token", TOKEN)])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(SET_COOKIE).is_none());

    // The right token behind an https proxy: a Secure, HttpOnly, SameSite=Strict session.
    let r = http
        .post(h.url("/admin/login"))
        .header("X-Forwarded-Proto", "https")
        .form(&[("token", TOKEN), ("name", "Dee Support")])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/admin/");
    let cookie = r.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_string();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
        "Max-Age=43",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains(TOKEN), "the cookie never holds the token");
    let session = cookie.split(';').next().expect("name=value").to_string();
    // Over plain http the cookie is not marked Secure (it would not be stored).
    let r = http
        .post(h.url("/admin/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .expect("answers");
    assert!(
        !r.headers()[SET_COOKIE]
            .to_str()
            .expect("cookie")
            .contains("Secure")
    );

    // Signed in: the app page, and the API with the session.
    let r = http
        .get(h.url("/admin/"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .expect("page")
            .contains("/admin/assets/app.js")
    );
    for (path, kind) in [
        ("/admin/assets/app.js", "text/javascript"),
        ("/admin/assets/app.css", "text/css"),
    ] {
        let r = http.get(h.url(path)).send().await.expect("answers");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with(kind)
        );
    }
    let me: Value = http
        .get(h.url("/api/admin/session"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(me["actor"], "Dee Support (token admin)");
    assert_eq!(me["limits"]["maxUserSelectedOrders"], 5);
    let csrf = me["csrfToken"].as_str().expect("csrf token").to_string();

    // A write with the cookie alone is refused; with the CSRF token it goes through.
    let send = h.url(&h.inst("orders/send"));
    let r = http
        .post(&send)
        .header("Cookie", &session)
        .json(&json!({"orderIds": [order_id]}))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(h.status_of(&order_id).await, "Pending");
    let r = http
        .post(&send)
        .header("Cookie", &session)
        .header("X-CSRF-Token", "not-the-token")
        .json(&json!({"orderIds": [order_id]}))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(&send)
        .header("Cookie", &session)
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"orderIds": [order_id]}))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::OK);
    let reply: Value = r.json().await.expect("json");
    assert_eq!(reply["actor"], "Dee Support (token admin)");
    assert_eq!(h.status_of(&order_id).await, "Completed");

    // Signing out needs the CSRF token and clears the cookie.
    let r = http
        .post(h.url("/admin/logout"))
        .header("Cookie", &session)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(h.url("/admin/logout"))
        .header("Cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .expect("cookie")
            .contains("Max-Age=0")
    );
}
