//! The `PostalServiceMapping` resource: one Linnworks postal service mapped to a Stream
//! depot and delivery method, with the guide's "Per-Service Settings".
// kube-derive's repeated `printcolumn(...)` entries trip this lint; they are distinct columns.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::Condition;
use crate::domain::{LabelType, OrderType};

#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "linnstream.io",
    version = "v1alpha1",
    kind = "PostalServiceMapping",
    namespaced,
    status = "PostalServiceMappingStatus",
    shortname = "lspsm",
    category = "linnstream",
    doc = "A Linnworks postal service mapped to a Stream depot and delivery method.",
    printcolumn(
        name = "Installation",
        type_ = "string",
        json_path = ".spec.installationRef.name"
    ),
    printcolumn(name = "Depot", type_ = "string", json_path = ".spec.depot"),
    printcolumn(name = "Method", type_ = "string", json_path = ".spec.deliveryMethod"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the Ready condition is what it is.",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        description = "The Ready condition's explanation.",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PostalServiceMappingSpec {
    /// The Installation (in the same namespace) this service belongs to.
    pub installation_ref: InstallationRef,
    /// The Linnworks postal service: its id, its name, or both.
    pub postal_service: PostalServiceRef,
    /// StreamDepot: the Stream depot that handles these shipments.
    #[schemars(length(min = 1, max = 100))]
    pub depot: String,
    /// StreamDeliveryMethod: the delivery method code at that depot.
    #[schemars(length(min = 1, max = 100))]
    pub delivery_method: String,
    /// StreamOrderType: create a Delivery or a Collection order.
    #[serde(default)]
    pub order_type: OrderType,
    /// StreamService: optional service code sent in the order header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub service: Option<String>,
    /// StreamServiceLevel: optional service level code sent in the order header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub service_level: Option<String>,
    /// Stream stock location for the items of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub stock_location: Option<String>,
    /// ShippingLabelType: the label format.
    #[serde(default)]
    pub label_type: LabelType,
    /// LabelCopies: copies per package, 1 to 5.
    #[serde(default = "default_copies")]
    #[schemars(range(min = 1, max = 5))]
    pub label_copies: u8,
    /// SkipCompositeParent: leave composite parents out and send their children.
    #[serde(default = "default_true")]
    pub skip_composite_parent: bool,
    /// OverridePkgSplit: one package per item line instead of the order's packaging split.
    #[serde(default)]
    pub override_packaging_split: bool,
    /// ProcessedOnDelivered: mark the Linnworks order processed on DELIVERED or COLLECTED.
    #[serde(default)]
    pub processed_on_delivered: bool,
}

fn default_copies() -> u8 {
    1
}
fn default_true() -> bool {
    true
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InstallationRef {
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    )]
    pub name: String,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
// "An id or a name" is in the schema: see `MAPPING_RULES` in `crd/mod.rs`.
#[serde(rename_all = "camelCase")]
pub struct PostalServiceRef {
    /// pkPostalServiceId in Linnworks (a GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = GUID_PATTERN))]
    pub id: Option<String>,
    /// The postal service name in Linnworks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
}

pub const GUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Written only by the operator.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PostalServiceMappingStatus {
    /// The `.metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and the conditions behind it, one per type, each with a reason and message.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The Linnworks postal service id this mapping resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_postal_service_id: Option<String>,
}
