//! The shared simulator kit (recorder, faults, rate limits, serving) and the shared
//! remote retry policy, end to end over real loopback HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use linnstream::remote::{
    Idempotency, RemoteError, RemoteErrorKind, RetryPolicy, build_http_client, parse_retry_after,
    read_reply,
};
use linnstream::sim::kit::{self, RateLimitRule, SimKit};
use serde_json::{Value, json};

struct Fixture {
    server: kit::RunningServer,
    applied: Arc<AtomicU32>,
    http: reqwest::Client,
}

async fn start(limits: Vec<RateLimitRule>) -> Fixture {
    let applied = Arc::new(AtomicU32::new(0));
    let api = Router::new()
        .route(
            "/api/apply",
            post(|State(n): State<Arc<AtomicU32>>| async move {
                let now = n.fetch_add(1, Ordering::SeqCst) + 1;
                axum::Json(json!({ "applied": now }))
            }),
        )
        .route("/api/ping", get(|| async { "pong" }))
        .with_state(applied.clone());
    let kit = SimKit::new(
        limits,
        Arc::new(|status: StatusCode, message: &str| {
            (status, axum::Json(json!({ "Message": message }))).into_response()
        }),
    );
    let server = kit::serve_loopback(kit.wrap(api)).await.expect("serve");
    Fixture {
        server,
        applied,
        http: reqwest::Client::new(),
    }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn fault(&self, spec: Value) {
        let r = self
            .http
            .post(self.url("/_sim/faults"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    async fn requests(&self) -> Vec<Value> {
        self.http
            .get(self.url("/_sim/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One call through the shared retry policy, as the API clients make them.
    async fn call(
        &self,
        policy: &RetryPolicy,
        timeout: Duration,
        idem: Idempotency,
    ) -> Result<Value, RemoteError> {
        let http = build_http_client(timeout).unwrap();
        let url = self.url("/api/apply");
        policy
            .run(idem, |_| {
                let req = http.post(&url).json(&json!({}));
                async move {
                    let (status, headers, text) = read_reply("Test", "apply", req).await?;
                    if status >= 400 {
                        let message = serde_json::from_str::<Value>(&text)
                            .ok()
                            .and_then(|v| v["Message"].as_str().map(String::from))
                            .unwrap_or(text);
                        return Err(RemoteError::status("Test", "apply", status, message, None)
                            .with_retry_after(parse_retry_after(&headers)));
                    }
                    serde_json::from_str(&text).map_err(|e| {
                        RemoteError::invalid_reply("Test", "apply", Some(status), e.to_string())
                    })
                }
            })
            .await
    }
}

fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(5))
        .with_max_retries(retries)
}

#[tokio::test]
async fn recorder_keeps_requests_in_order_with_secrets_masked() {
    let f = start(vec![]).await;
    f.http
        .post(f.url("/api/apply?client_secret=zz&x=1"))
        .header("Authorization", "session-abc")
        .json(&json!({"ApplicationSecret": "hush", "ApplicationId": "app"}))
        .send()
        .await
        .unwrap();
    f.http
        .post(f.url("/api/apply"))
        .form(&[("orderId", "o-1"), ("info", r#"{"Token":"t-9","N":2}"#)])
        .send()
        .await
        .unwrap();
    f.http.get(f.url("/api/ping")).send().await.unwrap();
    let recorded = f.requests().await;
    assert_eq!(recorded.len(), 3);
    let text = serde_json::to_string(&recorded).unwrap();
    for secret in ["session-abc", "hush", "zz", "t-9"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(recorded[0]["method"], "POST");
    assert_eq!(recorded[0]["path"], "/api/apply");
    assert_eq!(recorded[0]["query"], "client_secret=***&x=1");
    assert_eq!(recorded[0]["headers"]["authorization"], "***");
    assert_eq!(recorded[0]["json"]["ApplicationId"], "app");
    assert_eq!(recorded[0]["status"], 200);
    assert_eq!(recorded[1]["json"]["orderId"], "o-1");
    assert_eq!(recorded[1]["json"]["info"]["N"], 2);
    assert_eq!(recorded[2]["path"], "/api/ping");

    let cleared = f.http.delete(f.url("/_sim/requests")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(f.requests().await.is_empty());
}

#[tokio::test]
async fn status_fault_for_n_calls_then_retry_succeeds() {
    let f = start(vec![]).await;
    f.fault(json!({"path": "/api/apply", "kind": "status", "status": 503, "times": 2}))
        .await;
    let v = f
        .call(&fast(3), Duration::from_secs(5), Idempotency::Idempotent)
        .await
        .unwrap();
    assert_eq!(v["applied"], 1);
    let statuses: Vec<Value> = f
        .requests()
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(503), json!(503), json!(200)]);
    let faults: Vec<Value> = f
        .http
        .get(f.url("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults[0]["hits"], 2);
    assert_eq!(faults[0]["remaining"], 0);
}

#[tokio::test]
async fn status_fault_error_carries_status_and_message_after_retries() {
    let f = start(vec![]).await;
    f.fault(
        json!({"path": "/api/", "kind": "status", "status": 500, "body": {"Message": "db down"}}),
    )
    .await;
    let e = f
        .call(&fast(2), Duration::from_secs(5), Idempotency::Idempotent)
        .await
        .unwrap_err();
    assert_eq!(e.status, Some(500));
    assert_eq!(e.message, "db down");
    assert_eq!(e.attempts, 3);
    assert_eq!(f.applied.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn timeout_fault_times_the_client_out_without_applying() {
    let f = start(vec![]).await;
    f.fault(json!({"path": "/api/apply", "kind": "timeout", "hangMs": 5000, "times": 1}))
        .await;
    let e = f
        .call(
            &fast(0),
            Duration::from_millis(300),
            Idempotency::Idempotent,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Timeout);
    // The next call is not hung, and the retry policy recovers from a timeout.
    f.fault(json!({"path": "/api/apply", "kind": "timeout", "hangMs": 5000, "times": 1}))
        .await;
    let v = f
        .call(
            &fast(1),
            Duration::from_millis(300),
            Idempotency::Idempotent,
        )
        .await
        .unwrap();
    assert_eq!(v["applied"], 1);
}

#[tokio::test]
async fn rate_limited_fault_retry_after_is_honoured_in_seconds_and_dates() {
    let f = start(vec![]).await;
    f.fault(
        json!({"path": "/api/apply", "kind": "rateLimited", "retryAfterSeconds": 1, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let v = f
        .call(&fast(1), Duration::from_secs(5), Idempotency::NotIdempotent)
        .await
        .unwrap();
    assert_eq!(v["applied"], 1);
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );

    f.fault(json!({"path": "/api/apply", "kind": "rateLimited", "retryAfterSeconds": 2, "httpDate": true, "times": 1}))
        .await;
    let r = f.http.post(f.url("/api/apply")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait = parse_retry_after(r.headers()).expect("Retry-After");
    assert!(wait <= Duration::from_secs(2), "{wait:?}");
    assert_eq!(
        r.json::<Value>().await.unwrap()["Message"],
        "Too many requests"
    );
}

#[tokio::test]
async fn drop_fault_applies_the_request_then_closes_the_connection() {
    let f = start(vec![]).await;
    f.fault(json!({"path": "/api/apply", "method": "POST", "kind": "drop", "times": 1}))
        .await;
    let e = f
        .call(&fast(3), Duration::from_secs(5), Idempotency::NotIdempotent)
        .await
        .unwrap_err();
    assert_eq!(e.kind, RemoteErrorKind::Transport, "{e}");
    assert_eq!(
        e.attempts, 1,
        "a non-idempotent call is not repeated blindly"
    );
    assert_eq!(f.applied.load(Ordering::SeqCst), 1, "the handler ran");

    // Idempotent calls are retried after a dropped connection.
    f.fault(json!({"path": "/api/apply", "kind": "drop", "times": 1}))
        .await;
    let v = f
        .call(&fast(3), Duration::from_secs(5), Idempotency::Idempotent)
        .await
        .unwrap();
    assert_eq!(v["applied"], 3);
}

#[tokio::test]
async fn latency_and_rate_faults() {
    let f = start(vec![]).await;
    f.fault(json!({"path": "/api/ping", "kind": "latency", "latencyMs": 200}))
        .await;
    let started = Instant::now();
    let r = f.http.get(f.url("/api/ping")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "pong");
    assert!(started.elapsed() >= Duration::from_millis(200));

    f.http.delete(f.url("/_sim/faults")).send().await.unwrap();
    f.fault(json!({"path": "/api/*", "kind": "status", "status": 502, "rate": 0.0}))
        .await;
    for _ in 0..10 {
        let r = f.http.get(f.url("/api/ping")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn bad_fault_specs_are_refused_with_the_reason() {
    let f = start(vec![]).await;
    for (spec, needle) in [
        (
            json!({"path": "/a", "kind": "status", "status": 200}),
            "status 200",
        ),
        (json!({"path": "/a", "kind": "warp"}), "unknown variant"),
        (json!({"path": "/a", "kind": "drop", "rate": 2}), "rate"),
        (json!({"kind": "drop"}), "path"),
    ] {
        let r = f
            .http
            .post(f.url("/_sim/faults"))
            .json(&spec)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{spec}: {body}"
        );
    }
}

#[tokio::test]
async fn per_endpoint_rate_limits_answer_429_with_retry_after() {
    let f = start(vec![RateLimitRule::new("/api/ping", 2)]).await;
    for _ in 0..2 {
        assert_eq!(
            f.http
                .get(f.url("/api/ping"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let r = f.http.get(f.url("/api/ping")).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait = parse_retry_after(r.headers()).expect("Retry-After");
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    // Other paths are not limited.
    assert_eq!(
        f.http
            .post(f.url("/api/apply"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let table: Value = f
        .http
        .get(f.url("/_sim/rate-limits"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        table,
        json!({"rules": [{"path": "/api/ping", "perMinute": 2}]})
    );
    let r = f
        .http
        .put(f.url("/_sim/rate-limits"))
        .json(&json!({"rules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        f.http
            .get(f.url("/api/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = f
        .http
        .delete(f.url("/_sim/rate-limits"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["rules"][0]["perMinute"], 2);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let f = start(vec![]).await;
    let url = f.url("/api/ping");
    f.server.shutdown().await;
    let e = reqwest::Client::new().get(&url).send().await.unwrap_err();
    assert!(e.is_connect(), "{e}");
}
