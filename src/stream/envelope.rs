//! Stream's reply envelope: `{"response": {"valid": bool, "errors": [{code, description,
//! severity}], ...payload}}`. Only messages of severity `error` fail a call; the others
//! (warnings, info) are handed back to the caller and logged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// How serious a message in the envelope is. Anything but `error` lets the call succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
    /// A severity this client does not know; treated as non-blocking, as the reference says
    /// only `error` blocks.
    #[serde(untagged)]
    Other(String),
}

impl Severity {
    fn from_text(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "error" | "fatal" => Self::Error,
            "warning" | "warn" => Self::Warning,
            "info" | "information" => Self::Info,
            _ => Self::Other(text.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_text(&String::deserialize(d)?))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error => f.write_str("error"),
            Self::Warning => f.write_str("warning"),
            Self::Info => f.write_str("info"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// One entry of `response.errors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiMessage {
    pub code: String,
    pub description: String,
    pub severity: Severity,
}

impl ApiMessage {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Reads one message tolerantly: `code` may be a number or a string; the text may be
    /// under `description` (the reference, [RV2]) or `message` (what [ODOO] reads); a missing
    /// severity is taken as `error`, the cautious reading (*inferred*).
    fn from_value(v: &Value) -> Self {
        let text = |key: &str| match v.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Self {
            code: text("code").unwrap_or_default(),
            description: text("description")
                .or_else(|| text("message"))
                .unwrap_or_default(),
            severity: text("severity").map_or(Severity::Error, |s| Severity::from_text(&s)),
        }
    }
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            write!(f, "{}: {}", self.severity, self.description)
        } else {
            write!(f, "{} {}: {}", self.severity, self.code, self.description)
        }
    }
}

/// An envelope split into its verdict, its messages and the rest of `response`.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub valid: bool,
    pub messages: Vec<ApiMessage>,
    /// The `response` object itself (payload fields sit beside `valid` and `errors`).
    pub body: Value,
}

impl Envelope {
    /// Reads `{"response": {...}}`. Returns `None` when the JSON has no `response` object,
    /// which callers report as an unreadable reply.
    pub fn parse(json: &Value) -> Option<Self> {
        let body = json.get("response")?.clone();
        if !body.is_object() {
            return None;
        }
        let messages = match body.get("errors") {
            Some(Value::Array(items)) => items.iter().map(ApiMessage::from_value).collect(),
            _ => Vec::new(),
        };
        // A reply without `valid` is judged by its messages alone (*inferred* tolerance).
        let valid = body.get("valid").and_then(Value::as_bool).unwrap_or(true);
        Some(Self {
            valid,
            messages,
            body,
        })
    }

    pub fn errors(&self) -> Vec<ApiMessage> {
        self.messages
            .iter()
            .filter(|m| m.is_error())
            .cloned()
            .collect()
    }

    pub fn warnings(&self) -> Vec<ApiMessage> {
        self.messages
            .iter()
            .filter(|m| !m.is_error())
            .cloned()
            .collect()
    }

    /// Whether the call failed: any `error` message fails it, and so does `valid: false`
    /// (a reply that says it is invalid without saying why still carries no usable result).
    pub fn failed(&self) -> bool {
        !self.valid || self.messages.iter().any(ApiMessage::is_error)
    }
}

/// Joins messages for an error text: `error E100: missing orderNo; error E101: ...`.
pub fn describe(messages: &[ApiMessage]) -> String {
    messages
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_error_severity_fails() {
        let warned = Envelope::parse(&json!({"response": {"valid": true, "errors": [
            {"code": "W1", "description": "no phone", "severity": "warning"}
        ]}}))
        .expect("envelope");
        assert!(!warned.failed());
        assert_eq!(warned.warnings().len(), 1);

        let failed = Envelope::parse(&json!({"response": {"valid": false, "errors": [
            {"code": 100, "message": "orderNo missing", "severity": "ERROR"},
            {"code": "W1", "description": "no phone", "severity": "warning"}
        ]}}))
        .expect("envelope");
        assert!(failed.failed());
        let errors = failed.errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "100");
        assert_eq!(errors[0].description, "orderNo missing");
        assert_eq!(describe(&errors), "error 100: orderNo missing");
    }

    #[test]
    fn invalid_without_messages_fails_and_missing_response_is_unreadable() {
        let bare = Envelope::parse(&json!({"response": {"valid": false}})).expect("envelope");
        assert!(bare.failed());
        assert!(Envelope::parse(&json!({"access_token": "x"})).is_none());
    }
}
