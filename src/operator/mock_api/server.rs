//! The mocked API server: answers from a table what a small cluster holding the example
//! Secrets would, and records every request.

use std::sync::{Arc, Mutex};

use axum::http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

use crate::crd::Installation;

pub const NS: &str = "shop";
pub const DATABASE_SECRET: &str = "linnstream-database";
/// The key names of the example Secrets (examples/secrets.yaml) and the database Secret.
pub const SECRETS: [(&str, &[&str]); 3] = [
    ("acme-stream", &["client-id", "client-secret"]),
    (
        "acme-linnworks",
        &[
            "application-id",
            "application-secret",
            "installation-token",
            "authorization-token",
        ],
    ),
    (DATABASE_SECRET, &["url"]),
];

/// One request the reconcile made.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: String,
    pub body: Value,
}

impl Call {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_status_write(&self) -> bool {
        self.method == Method::PATCH && self.path.ends_with("/status")
    }

    pub fn is_apply(&self) -> bool {
        self.method == Method::PATCH
            && !self.is_status_write()
            && self.content_type == "application/apply-patch+yaml"
    }

    pub fn is_event(&self) -> bool {
        self.method == Method::POST
            && self.path == format!("/apis/events.k8s.io/v1/namespaces/{NS}/events")
    }
}

/// What the mocked API server holds: the Secrets that exist, and the path of an object
/// whose apply fails (500) while set.
pub struct Cluster {
    pub installation: Installation,
    pub missing_secrets: Vec<&'static str>,
    pub failing_apply: Mutex<Option<String>>,
}

pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "reason": reason, "message": message, "code": code,
    })
}

impl Cluster {
    pub fn answer(&self, call: &Call) -> (StatusCode, Value) {
        let secrets = format!("/api/v1/namespaces/{NS}/secrets/");
        if call.method == Method::GET
            && let Some(name) = call.path.strip_prefix(&secrets)
        {
            let Some((_, keys)) = SECRETS
                .iter()
                .find(|(n, _)| *n == name && !self.missing_secrets.contains(n))
            else {
                let message = format!("secrets {name:?} not found");
                return (
                    StatusCode::NOT_FOUND,
                    status_body(404, "NotFound", &message),
                );
            };
            // Values are never read by the checks; any base64 will do.
            let data: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| (k.to_string(), json!("dmFsdWU=")))
                .collect();
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": NS, "resourceVersion": "7"},
                "data": data,
            });
            return (StatusCode::OK, secret);
        }
        if call.is_status_write() {
            let mut inst = serde_json::to_value(&self.installation).expect("installation json");
            inst["status"] = call.body["status"].clone();
            return (StatusCode::OK, inst);
        }
        if call.is_apply() {
            if self.failing_apply.lock().expect("lock").as_deref() == Some(call.path.as_str()) {
                let message = "etcdserver: request timed out";
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    status_body(500, "InternalError", message),
                );
            }
            let mut obj = call.body.clone();
            obj["metadata"]["resourceVersion"] = json!("11");
            obj["metadata"]["generation"] = json!(1);
            return (StatusCode::OK, obj);
        }
        if call.is_event() {
            return (StatusCode::CREATED, call.body.clone());
        }
        let message = format!("no answer for {} {}", call.method, call.path);
        (
            StatusCode::NOT_FOUND,
            status_body(404, "NotFound", &message),
        )
    }
}

/// A client whose requests `cluster` answers, and the log of those requests. The answering
/// task ends when the last clone of the client is dropped.
pub fn mock_client(cluster: Arc<Cluster>) -> (Client, Arc<Mutex<Vec<Call>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = calls.clone();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("request body");
            let call = Call {
                method: parts.method.clone(),
                path: parts.uri.path().to_string(),
                query: serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
                    .expect("query"),
                content_type: parts
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (status, answer) = cluster.answer(&call);
            log.lock().expect("log").push(call);
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).expect("json")))
                .expect("response");
            respond.send_response(response);
        }
    });
    (Client::new(service, NS), calls)
}
