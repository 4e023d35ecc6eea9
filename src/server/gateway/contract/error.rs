//! Contract errors and the reply fields every endpoint carries.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A request Linnworks sent that the integration cannot accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ContractError {
    /// The contract field at fault as a path (`Packages[1].SequenceNumber`),
    /// empty when the body as a whole is wrong.
    pub field: String,
    pub message: String,
}

impl ContractError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn body(message: impl Into<String>) -> Self {
        Self::field("", message)
    }

    /// `field is required`.
    pub fn required(field: impl Into<String>) -> Self {
        Self::field(field, "is required")
    }

    fn describe(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{} {}", self.field, self.message)
        }
    }

    /// Turns a serde error with its path into a field error. serde reports a
    /// missing field on the enclosing object, so its name is moved into the path.
    pub(crate) fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        let text = match text.find(" at line ") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
        let parent = if path == "." { String::new() } else { path };
        if let Some(name) = text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let field = if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            };
            return Self::required(field);
        }
        if inner.is_syntax() || inner.is_eof() {
            return Self::body(format!("request body is not valid JSON: {text}"));
        }
        if parent.is_empty() {
            Self::body(format!("request body: {text}"))
        } else {
            Self::field(parent, format!("has the wrong type or value: {text}"))
        }
    }
}

/// `IsError` and `ErrorMessage`, carried by every reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ReplyStatus {
    #[serde(rename = "IsError")]
    pub is_error: bool,
    #[serde(
        rename = "ErrorMessage",
        default,
        deserialize_with = "super::wire::string"
    )]
    pub error_message: String,
}

impl ReplyStatus {
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            is_error: true,
            error_message: message.into(),
        }
    }
}

/// The contract's bare error reply: `{"IsError": true, "ErrorMessage": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorReply {
    #[serde(flatten)]
    pub status: ReplyStatus,
}

impl ErrorReply {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            status: ReplyStatus::error(message),
        }
    }
}

impl From<&ContractError> for ErrorReply {
    fn from(e: &ContractError) -> Self {
        Self::new(e.to_string())
    }
}

/// Gives a reply type an `error(message)` constructor: the status set, every
/// other field empty (lists `[]`, never `null`).
macro_rules! error_constructor {
    ($($reply:ty),* $(,)?) => {$(
        impl $reply {
            /// This reply as a contract error (`IsError: true`).
            pub fn error(message: impl Into<String>) -> Self {
                let mut reply = Self::default();
                reply.status = $crate::server::gateway::contract::ReplyStatus::error(message);
                reply
            }
        }
    )*};
}
pub(crate) use error_constructor;
