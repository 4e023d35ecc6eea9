//! Errors of the admin API, answered as JSON: `{"error": "...", "parameter": "..."}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::server::errors::{RETRY_AFTER_SECONDS, StoreFailure};
use crate::store::StoreError;
use crate::sync::job_error::JobError;
use crate::sync::validation::ValidationError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The query parameter or body field at fault.
    pub parameter: Option<String>,
    /// More fields for the reply (e.g. the correlation id and per-order outcomes of a
    /// refused action).
    pub extra: Map<String, Value>,
    /// Seconds the caller should wait before retrying (a database outage).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            parameter: None,
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A bad query parameter or body field; the message starts with its name.
    pub fn parameter(name: &str, problem: impl std::fmt::Display) -> Self {
        Self {
            parameter: Some(name.to_string()),
            ..Self::bad_request(format!("{name}: {problem}"))
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.message));
        if let Some(p) = &self.parameter {
            body.insert("parameter".into(), json!(p));
        }
        body.extend(self.extra);
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"linnstream-admin\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::OrderNotFound { .. } => Self::not_found(e.to_string()),
            StoreError::AlreadyInProgress { .. } | StoreError::IllegalTransition { .. } => {
                Self::conflict(e.to_string())
            }
            _ => {
                // The driver's text (database and host names) stays in the log.
                tracing::error!("admin API: store error: {e}");
                let class = StoreFailure::of(&e);
                match class {
                    StoreFailure::Input => Self::bad_request(class.message()),
                    StoreFailure::Unavailable => Self {
                        retry_after: Some(RETRY_AFTER_SECONDS),
                        ..Self::new(StatusCode::SERVICE_UNAVAILABLE, class.message())
                    },
                    StoreFailure::Internal => {
                        Self::new(StatusCode::INTERNAL_SERVER_ERROR, class.message())
                    }
                }
            }
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let status = match e {
            ValidationError::TooManyOrdersSelected { .. } => StatusCode::BAD_REQUEST,
            ValidationError::InstallationInactive
            | ValidationError::NoActiveInstallations
            | ValidationError::OrderNotFoundInDatabase
            | ValidationError::OrderNotFoundInLinnworks => StatusCode::NOT_FOUND,
            ValidationError::LinnworksTokenInvalid => StatusCode::BAD_GATEWAY,
            _ => StatusCode::CONFLICT,
        };
        Self::new(status, e.to_string())
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Validation(v) => v.into(),
            JobError::Store(s) => s.into(),
            // Linnworks or Stream did not answer as needed: the gateway's upstream failed.
            JobError::Remote(r) => Self::new(StatusCode::BAD_GATEWAY, r.to_string()),
            JobError::Other(m) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}
