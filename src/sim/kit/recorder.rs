//! Every API request a simulator received, in arrival order, with secrets masked: what
//! tests and people inspect to see exactly what a client sent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use axum::http::{HeaderMap, Method, Uri};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::mask::{self, MASK};

/// Oldest requests are forgotten past this many, so a long demo stays bounded.
const MAX_RECORDED: usize = 10_000;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Arrival number, from 1, never reused (also not after a clear).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    /// The query string, secret-named values masked.
    pub query: Option<String>,
    /// Header names in lower case; values of secret-named headers masked.
    pub headers: BTreeMap<String, String>,
    /// The body as text (lossy UTF-8); a JSON or form body re-encoded with secrets masked.
    pub body: String,
    /// The body as JSON: a JSON body, or a form body as an object whose JSON-valued
    /// fields are parsed; secrets masked. None for other bodies.
    pub json: Option<Value>,
    /// The status answered, once known; None while in flight or when the connection was dropped.
    pub status: Option<u16>,
    /// The injected fault or limit that acted on it, if any.
    pub fault: Option<String>,
}

#[derive(Default)]
pub struct Recorder {
    inner: Mutex<RecorderState>,
}

#[derive(Default)]
struct RecorderState {
    next_seq: u64,
    requests: VecDeque<RecordedRequest>,
}

impl Recorder {
    /// Records an arriving request and returns its `seq`.
    pub fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> u64 {
        let masked_headers = headers.iter().fold(
            BTreeMap::<String, String>::new(),
            |mut acc, (name, value)| {
                let v = if mask::is_secret_name(name.as_str()) {
                    MASK.to_string()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                acc.entry(name.as_str().to_string())
                    .and_modify(|existing| {
                        existing.push_str(", ");
                        existing.push_str(&v);
                    })
                    .or_insert(v);
                acc
            },
        );
        let content_type = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let (body_text, json) = describe_body(&content_type, body);
        let mut state = self.lock();
        state.next_seq += 1;
        let seq = state.next_seq;
        state.requests.push_back(RecordedRequest {
            seq,
            at: Utc::now(),
            method: method.as_str().to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(mask::mask_query),
            headers: masked_headers,
            body: body_text,
            json,
            status: None,
            fault: None,
        });
        while state.requests.len() > MAX_RECORDED {
            state.requests.pop_front();
        }
        seq
    }

    pub fn set_outcome(&self, seq: u64, status: Option<u16>, fault: Option<String>) {
        let mut state = self.lock();
        if let Some(r) = state.requests.iter_mut().rev().find(|r| r.seq == seq) {
            r.status = status;
            if fault.is_some() {
                r.fault = fault;
            }
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.lock().requests.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecorderState> {
        // A panic while holding the lock leaves only a log behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn describe_body(content_type: &str, body: &[u8]) -> (String, Option<Value>) {
    if body.is_empty() {
        return (String::new(), None);
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // Re-encoded from the masked JSON view, so secrets inside JSON-valued fields go too.
        let json = mask::form_to_json(body);
        let text = form_from_json(&json);
        return (text, Some(json));
    }
    if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
        mask::mask_json(&mut json);
        return (json.to_string(), Some(json));
    }
    (String::from_utf8_lossy(body).into_owned(), None)
}

fn form_from_json(json: &Value) -> String {
    let pairs: Vec<(String, String)> = json
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k.clone(), s.clone()),
                    other => (k.clone(), other.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_order_with_secrets_masked() {
        let r = Recorder::default();
        let mut h = HeaderMap::new();
        h.insert("authorization", "sess-123".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("stream-party", "party-1".parse().unwrap());
        let uri: Uri = "/api/x?access_token=abc&page=2".parse().unwrap();
        r.record(
            &Method::POST,
            &uri,
            &h,
            br#"{"ApplicationSecret":"s3cr3t","X":1}"#,
        );
        let mut f = HeaderMap::new();
        f.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let seq = r.record(
            &Method::POST,
            &"/api/y".parse().unwrap(),
            &f,
            b"request=%7B%22Token%22%3A%22t0k3n%22%7D&n=1",
        );
        r.set_outcome(seq, Some(200), None);
        let all = r.requests();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].headers["authorization"], "***");
        assert_eq!(all[0].headers["stream-party"], "party-1");
        assert_eq!(all[0].query.as_deref(), Some("access_token=***&page=2"));
        assert!(!all[0].body.contains("s3cr3t"));
        assert_eq!(all[0].json.as_ref().unwrap()["X"], 1);
        assert!(!all[1].body.contains("t0k3n"), "{}", all[1].body);
        assert_eq!(all[1].json.as_ref().unwrap()["request"]["Token"], "***");
        assert_eq!(all[1].status, Some(200));
        r.clear();
        assert!(r.requests().is_empty());
    }
}
