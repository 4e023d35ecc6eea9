//! Manifest endpoints: CreateManifest and PrintManifest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ContractError, ReplyStatus, error_constructor};
use super::token::AuthorizationToken;
use super::{Validate, wire};

/// Most distinct orders one CreateManifest may list (repeats are counted once).
pub const MAX_MANIFEST_ORDERS: usize = 2000;

/// CreateManifest: close the day for these orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateManifestRequest {
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
    /// Order ids as strings (the contract's `OrderId: [string]`).
    #[serde(rename = "OrderId", default, deserialize_with = "wire::list")]
    pub order_id: Vec<String>,
}

impl Validate for CreateManifestRequest {
    fn validate(&self) -> Result<(), ContractError> {
        if self.authorization_token.is_empty() {
            return Err(ContractError::required("AuthorizationToken"));
        }
        if self.order_id.is_empty() {
            return Err(ContractError::field(
                "OrderId",
                "must list at least one order",
            ));
        }
        if let Some(i) = self.order_id.iter().position(|id| id.trim().is_empty()) {
            return Err(ContractError::field(format!("OrderId[{i}]"), "is empty"));
        }
        let distinct = self.distinct_order_ids().len();
        if distinct > MAX_MANIFEST_ORDERS {
            return Err(ContractError::field(
                "OrderId",
                format!(
                    "lists {distinct} different orders; at most {MAX_MANIFEST_ORDERS} fit one manifest"
                ),
            ));
        }
        Ok(())
    }
}

impl CreateManifestRequest {
    /// The listed order ids, trimmed, each once, in the order first listed, with the index
    /// it was first listed at (for error messages).
    pub fn distinct_order_ids(&self) -> Vec<(usize, &str)> {
        let mut seen = std::collections::HashSet::new();
        self.order_id
            .iter()
            .enumerate()
            .map(|(i, id)| (i, id.trim()))
            .filter(|(_, id)| seen.insert(*id))
            .collect()
    }
}

/// CreateManifest reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CreateManifestResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "ManifestReference")]
    pub manifest_reference: String,
}

/// PrintManifest: the manifest document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrintManifestRequest {
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
    #[serde(
        rename = "ManifestReference",
        default,
        deserialize_with = "wire::string"
    )]
    pub manifest_reference: String,
}

impl Validate for PrintManifestRequest {
    fn validate(&self) -> Result<(), ContractError> {
        if self.authorization_token.is_empty() {
            return Err(ContractError::required("AuthorizationToken"));
        }
        if self.manifest_reference.trim().is_empty() {
            return Err(ContractError::required("ManifestReference"));
        }
        Ok(())
    }
}

/// PrintManifest reply: the PDF, base64 (see [`crate::labels::manifest`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PrintManifestResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    /// Note the lower-case "base64": the contract's spelling.
    #[serde(rename = "PDFbase64")]
    pub pdf_base64: String,
}

error_constructor!(CreateManifestResponse, PrintManifestResponse);
