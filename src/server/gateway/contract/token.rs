//! The integration's per-account token, kept out of logs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `AuthorizationToken` the integration issues in AddNewUser and Linnworks
/// sends on every later call. It is a credential: `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AuthorizationToken(#[serde(deserialize_with = "super::wire::string")] String);

impl AuthorizationToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for comparing against the store (in constant time).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for AuthorizationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorizationToken(***)")
    }
}
