//! Locations (warehouses): `StockLocation` as `Inventory/GetStockLocations` answers it
//! (inventory.json and locations.json of Linnworks' public API specs; the call is not among
//! the files copied into the project's reference, see docs/sync.md).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::linnworks::serde_util::nullable;

/// `StockLocation`: the fields the warehouse mapping uses.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct StockLocation {
    pub stock_location_id: Uuid,
    #[serde(default, deserialize_with = "nullable")]
    pub location_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub is_fulfillment_center: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_tag: Option<String>,
}
