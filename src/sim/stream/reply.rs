//! Stream's reply envelope as the simulator writes it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::validate::Problem;

fn messages(errors: &[Problem], warnings: &[Problem]) -> Vec<Value> {
    errors
        .iter()
        .map(|p| json!({"code": p.code, "description": p.description, "severity": "error"}))
        .chain(
            warnings.iter().map(
                |p| json!({"code": p.code, "description": p.description, "severity": "warning"}),
            ),
        )
        .collect()
}

/// `{"response": {"valid": true, "errors": [warnings...], ...payload}}` with 200.
pub fn ok(payload: Value, warnings: &[Problem]) -> Response {
    let mut body = Map::new();
    body.insert("valid".into(), Value::Bool(true));
    body.insert("errors".into(), Value::Array(messages(&[], warnings)));
    if let Value::Object(extra) = payload {
        body.extend(extra);
    }
    (StatusCode::OK, Json(json!({ "response": body }))).into_response()
}

/// `{"response": {"valid": false, "errors": [...]}}` with the given status.
pub fn rejected(status: StatusCode, errors: &[Problem], warnings: &[Problem]) -> Response {
    (
        status,
        Json(json!({"response": {"valid": false, "errors": messages(errors, warnings)}})),
    )
        .into_response()
}

/// A single-error rejection.
pub fn error(status: StatusCode, code: &'static str, description: impl Into<String>) -> Response {
    rejected(
        status,
        &[Problem {
            code,
            description: description.into(),
        }],
        &[],
    )
}

/// Admin API errors: plain `{"error": "..."}`.
pub fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}
