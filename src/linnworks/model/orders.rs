//! orders.json: open orders, order details and the write calls on them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::filters::{FieldSorting, FieldsFilter};
use super::identifiers::Identifier;
use crate::linnworks::serde_util::{datetime, nullable};

/// `POST /api/Orders/GetOpenOrders` body (`Orders_GetOpenOrdersRequest`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GetOpenOrdersRequest {
    pub entries_per_page: i32,
    /// From 1.
    pub page_number: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<FieldsFilter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sorting: Vec<FieldSorting>,
    /// The location to list orders of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfilment_center: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_filter: Option<String>,
}

/// `GenericPagedResult_OpenOrder`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenOrdersPage {
    #[serde(default, deserialize_with = "nullable")]
    pub page_number: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub entries_per_page: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub total_entries: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub total_pages: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub data: Vec<OpenOrder>,
}

/// `OpenOrder`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenOrder {
    pub order_id: Uuid,
    #[serde(default, deserialize_with = "nullable")]
    pub num_order_id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub general_info: OrderGeneralInfo,
    #[serde(default, deserialize_with = "nullable")]
    pub shipping_info: OrderShippingInfo,
    #[serde(default, deserialize_with = "nullable")]
    pub customer_info: OrderCustomerInfo,
    #[serde(default)]
    pub totals_info: Option<OrderTotalsInfo>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<OrderItem>,
    #[serde(default, deserialize_with = "nullable")]
    pub folder_name: Vec<String>,
}

/// `OrderDetails` (GetOrdersById).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderDetails {
    pub order_id: Uuid,
    #[serde(default, deserialize_with = "nullable")]
    pub num_order_id: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub processed: bool,
    #[serde(default, with = "datetime")]
    pub processed_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub fulfilment_location_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub general_info: OrderGeneralInfo,
    #[serde(default, deserialize_with = "nullable")]
    pub shipping_info: OrderShippingInfo,
    #[serde(default, deserialize_with = "nullable")]
    pub customer_info: OrderCustomerInfo,
    #[serde(default)]
    pub totals_info: Option<OrderTotalsInfo>,
    #[serde(default, deserialize_with = "nullable")]
    pub extended_properties: Vec<ExtendedProperty>,
    #[serde(default, deserialize_with = "nullable")]
    pub folder_name: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<OrderItem>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Vec<OrderNote>,
}

/// `OrderGeneralInfo`. Fields not modelled are kept in `other`, so an info read from
/// Linnworks can be written back with SetOrderGeneralInfo without losing anything.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderGeneralInfo {
    /// 0 UNPAID, 1 PAID, 2 RETURN, 3 PENDING, 4 RESEND.
    #[serde(default, deserialize_with = "nullable")]
    pub status: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub reference_num: Option<String>,
    #[serde(default)]
    pub secondary_reference: Option<String>,
    #[serde(default)]
    pub external_reference_num: Option<String>,
    #[serde(default, with = "datetime")]
    pub received_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub sub_source: Option<String>,
    #[serde(default, with = "datetime")]
    pub despatch_by_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub location: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub num_items: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub hold_or_cancel: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub is_parked: bool,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `OrderShippingInfo`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderShippingInfo {
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub postal_service_id: Option<Uuid>,
    #[serde(default)]
    pub postal_service_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub total_weight: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub item_weight: f64,
    #[serde(default)]
    pub package_category_id: Option<Uuid>,
    #[serde(default)]
    pub package_category: Option<String>,
    #[serde(default)]
    pub package_type_id: Option<Uuid>,
    #[serde(default)]
    pub package_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub postage_cost: f64,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub manual_adjust: bool,
}

/// `OrderCustomerInfo`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderCustomerInfo {
    #[serde(default)]
    pub channel_buyer_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub address: CustomerAddress,
    #[serde(default)]
    pub billing_address: Option<CustomerAddress>,
}

/// `CustomerAddress`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerAddress {
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub address3: Option<String>,
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub post_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub country_id: Option<Uuid>,
}

/// `OrderTotalsInfo`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderTotalsInfo {
    #[serde(default, deserialize_with = "nullable")]
    pub subtotal: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub postage_cost: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub tax: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub total_charge: f64,
    #[serde(default)]
    pub currency: Option<String>,
}

/// `OrderItem`; composite items carry their parts in `CompositeSubItems`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItem {
    #[serde(default)]
    pub item_id: Option<Uuid>,
    #[serde(default)]
    pub item_number: Option<String>,
    #[serde(rename = "SKU", default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub quantity: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub weight: f64,
    #[serde(default)]
    pub barcode_number: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub price_per_unit: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub cost_inc_tax: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub is_service: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub composite_sub_items: Vec<OrderItem>,
    #[serde(default)]
    pub bin_rack: Option<String>,
    #[serde(default)]
    pub stock_item_id: Option<Uuid>,
    #[serde(default)]
    pub row_id: Option<Uuid>,
    /// The stock item's boxes (`StockItemBoxConfiguration`): one unit ships in all of them.
    #[serde(default, deserialize_with = "nullable")]
    pub boxes: Vec<StockItemBox>,
}

/// `StockItemBoxConfiguration`: one box a unit of the item ships in. Dimensions are in the
/// account's dimension unit (centimetres by default: *inferred*, the spec names no unit).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct StockItemBox {
    #[serde(default, deserialize_with = "nullable")]
    pub box_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub width: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub height: f64,
    /// The box's depth (Linnworks calls it Length here).
    #[serde(default, deserialize_with = "nullable")]
    pub length: f64,
    #[serde(default, deserialize_with = "nullable")]
    pub logical_delete: bool,
}

/// `GetOrderPackagingCalculationRequest` (sent wrapped as `{"request": ...}`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GetOrderPackagingCalculationRequest {
    #[serde(rename = "pkOrderIds")]
    pub pk_order_ids: Vec<Uuid>,
    #[serde(rename = "Recalculate")]
    pub recalculate: bool,
    #[serde(rename = "SaveRecalculation")]
    pub save_recalculation: bool,
}

/// `CalcOrderHeader`: an order's packaging as Linnworks has worked it out: the items
/// (composite parents left out) with their dimensions, and the split packaging bins.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CalcOrderHeader {
    #[serde(rename = "pkOrderID")]
    pub order_id: Uuid,
    #[serde(rename = "Items", default, deserialize_with = "nullable")]
    pub items: Vec<CalcOrderItem>,
    /// Split packaging: each bin is one package. Empty when the order is not split.
    #[serde(rename = "Bins", default, deserialize_with = "nullable")]
    pub bins: Vec<CalcBin>,
}

/// `CalcOrderItem`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CalcOrderItem {
    /// The order item's `RowId`.
    #[serde(rename = "fkOrderItemId", default)]
    pub order_item_id: Option<Uuid>,
    #[serde(rename = "nQty", default, deserialize_with = "nullable")]
    pub quantity: i32,
    #[serde(rename = "DimHeight", default, deserialize_with = "nullable")]
    pub height: f64,
    #[serde(rename = "DimWidth", default, deserialize_with = "nullable")]
    pub width: f64,
    #[serde(rename = "DimDepth", default, deserialize_with = "nullable")]
    pub depth: f64,
}

/// `CalcBin`: one package of a split order.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CalcBin {
    #[serde(rename = "pkBinId", default)]
    pub bin_id: Option<Uuid>,
    #[serde(rename = "Items", default, deserialize_with = "nullable")]
    pub items: Vec<CalcBinItem>,
}

/// `CalcBinItem`: how many of an order item are in a bin.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CalcBinItem {
    #[serde(rename = "fkOrderItemId", default)]
    pub order_item_id: Option<Uuid>,
    #[serde(rename = "Quantity", default, deserialize_with = "nullable")]
    pub quantity: i32,
}

/// `ExtendedProperty`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ExtendedProperty {
    /// Absent for a new property; Linnworks assigns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
    #[serde(default, deserialize_with = "nullable")]
    pub r#type: String,
}

/// `BasicExtendedProperty` (AddExtendedProperties).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BasicExtendedProperty {
    pub name: String,
    pub value: String,
    pub r#type: String,
}

/// `OrderNote` / `OrderNoteDto`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct OrderNote {
    #[serde(default)]
    pub order_note_id: Option<Uuid>,
    #[serde(default)]
    pub order_id: Option<Uuid>,
    #[serde(default, with = "datetime")]
    pub note_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "nullable")]
    pub internal: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub note: String,
    #[serde(default)]
    pub created_by: Option<String>,
}

/// `UpdateOrderShippingInfoRequest` (SetOrderShippingInfo `info`). Linnworks overwrites
/// every field sent; leave a field None to send nothing for it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateOrderShippingInfoRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_service_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postage_cost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual_adjust: Option<bool>,
}

impl UpdateOrderShippingInfoRequest {
    /// Every field as the order has it now, to change only some. Whether Linnworks keeps
    /// fields left out of `info` is not documented (*inferred* either way), so callers
    /// should start from the current values rather than send a partial info.
    pub fn from_current(current: &OrderShippingInfo) -> Self {
        Self {
            postal_service_id: current.postal_service_id,
            total_weight: Some(current.total_weight),
            item_weight: Some(current.item_weight),
            postage_cost: Some(current.postage_cost),
            tracking_number: current.tracking_number.clone(),
            manual_adjust: Some(current.manual_adjust),
        }
    }
}

/// `UpdateTotalsResult` (SetOrderShippingInfo reply).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTotalsResult {
    #[serde(default)]
    pub totals_info: Option<OrderTotalsInfo>,
    #[serde(default)]
    pub shipping_info: Option<OrderShippingInfo>,
}

/// `AddOrdersNoteRequest`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AddOrdersNoteRequest {
    pub order_ids: Vec<Uuid>,
    pub note_text: String,
    pub is_internal: bool,
    pub is_processing_note: bool,
}

/// `AddOrdersNoteResponse`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddOrdersNoteResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub order_notes: Vec<OrderNote>,
}

/// `AddExtendedPropertiesRequest` (sent wrapped as `{"request": ...}`, per the spec).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AddExtendedPropertiesRequest {
    pub order_id: Uuid,
    pub extended_properties: Vec<BasicExtendedProperty>,
}

/// `AddExtendedPropertiesResponse`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddExtendedPropertiesResponse {
    #[serde(default, deserialize_with = "nullable")]
    pub extended_properties_inserted: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub errors: Vec<String>,
}

/// `ClientContext` (ProcessOrder `context`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ClientContext {
    pub module: String,
}

/// `ProcessOrderResult`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessOrderResult {
    #[serde(default)]
    pub order_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub processed: bool,
    #[serde(default)]
    pub error: Option<String>,
}
