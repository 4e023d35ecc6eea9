//! openorders.json: order identifiers (the tags shown on orders).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::linnworks::serde_util::nullable;

/// `Identifier`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Identifier {
    /// Internal id; 0 for a new identifier in SaveIdentifier.
    #[serde(default, deserialize_with = "nullable")]
    pub identifier_id: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub is_custom: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Internal tag, used to assign it to orders (e.g. `SENT_TO_STREAM`).
    #[serde(default, deserialize_with = "nullable")]
    pub tag: String,
    /// Name shown on orders (e.g. `Sent to Stream`).
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// `SaveIdentifiersRequest`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct SaveIdentifiersRequest<'a> {
    pub identifier: &'a Identifier,
}

/// `ChangeOrderIdentifierRequest` (Assign/UnassignOrderIdentifier).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeOrderIdentifierRequest<'a> {
    pub order_ids: &'a [Uuid],
    pub tag: &'a str,
}

/// `AssignResult`: which orders changed and which already were as asked.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AssignResult {
    #[serde(default, deserialize_with = "nullable")]
    pub changed: Vec<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub not_changed: Vec<Uuid>,
}
