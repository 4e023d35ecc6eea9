use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// `POST /api/Auth/AuthorizeByApplication` body (auth.json `AuthorizeByApplicationRequest`).
#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeByApplicationRequest<'a> {
    pub application_id: &'a str,
    pub application_secret: &'a str,
    pub token: &'a str,
}

/// auth.json `BaseSession`: the session token and the server for later calls.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BaseSession {
    /// The session token: goes in `Authorization` on every later call.
    pub token: String,
    /// Base URL for later calls (e.g. `https://eu-ext.linnworks.net`).
    #[serde(default)]
    pub server: Option<String>,
    #[serde(rename = "TTL", default)]
    pub ttl: Option<i64>,
    #[serde(default)]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub status: Option<StatusDetails>,
}

impl std::fmt::Debug for BaseSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseSession")
            .field("token", &"***")
            .field("server", &self.server)
            .field("ttl", &self.ttl)
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .finish()
    }
}

/// auth.json `StatusDetails`; `State` is a string enum in the spec (AVAILABLE,
/// LOCKED_BASIC, LOCKED_FULL, MAINTENANCE), kept as JSON in case it arrives as a number.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatusDetails {
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub reason: Option<String>,
}
