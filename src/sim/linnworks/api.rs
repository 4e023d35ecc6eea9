//! The simulated Linnworks endpoints. Each takes the decoded body and answers in the
//! spec's reply shape, or with `{"Message": ...}` and the status Linnworks would use.

use std::cmp::Ordering;

use chrono::{DateTime, Duration as Days, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ApiError;
use super::decode::Fields;
use super::model::*;
use super::store::Store;

pub type ApiResult = Result<Option<Value>, ApiError>;

const TEXT_TYPES: &[&str] = &["Equal", "Contains", "StartWith", "EndsWith"];
const DATE_TYPES: &[&str] = &["Range", "OlderThan", "LastDays"];
const DIRECTIONS: &[&str] = &["Ascending", "Descending"];

/// The spec's FieldCode enum up to the last code the simulator filters or sorts on, so a
/// code sent as a number maps to its name.
const FIELD_CODES: &[&str] = &[
    "NONE",
    "GENERAL_INFO",
    "GENERAL_INFO_ORDER_ID",
    "GENERAL_INFO_REFERENCE_NUMBER",
    "GENERAL_INFO_CHANNEL_REFERENCE_NUMBER",
    "GENERAL_INFO_EXTERNAL_REFERENCE_NUMBER",
    "GENERAL_INFO_DATE",
    "GENERAL_INFO_SOURCE",
    "GENERAL_INFO_SUBSOURCE",
    "GENERAL_INFO_LABEL_PRINTED",
    "GENERAL_INFO_INVOICE_PRINTED",
    "GENERAL_INFO_PICK_LIST_PRINTED",
    "GENERAL_INFO_IS_RULE_RUN",
    "GENERAL_INFO_NOTES",
    "GENERAL_INFO_LOCKED",
    "GENERAL_INFO_PARKED",
    "GENERAL_INFO_PART_SHIPPED",
    "GENERAL_INFO_TAG",
    "GENERAL_INFO_IDENTIFIER",
    "GENERAL_INFO_STATUS",
    "GENERAL_INFO_DESPATCHBYDATE",
    "GENERAL_INFO_ITEMS_COUNT",
    "GENERAL_INFO_SHIPPING_LABEL_ERROR",
    "GENERAL_INFO_HAS_SHIPPING_LABEL_ERROR",
    "SHIPPING_INFORMATION",
    "SHIPPING_INFORMATION_VENDOR",
    "SHIPPING_INFORMATION_SERVICE",
    "SHIPPING_INFORMATION_WEIGHT",
    "SHIPPING_INFORMATION_PACKAGING_GROUP",
    "SHIPPING_INFORMATION_PACKAGING_TYPE",
    "SHIPPING_INFORMATION_COST",
    "SHIPPING_INFORMATION_TRACKING_NUMBER",
    "SHIPPING_INFORMATION_SERVICE_ID",
];

/// `Orders/GetOpenOrders`: unprocessed orders, filtered, sorted and paged.
pub fn get_open_orders(store: &mut Store, f: Fields) -> ApiResult {
    let per_page = f
        .i64("entriesPerPage")?
        .ok_or_else(|| ApiError::required("entriesPerPage"))?;
    let page = f
        .i64("pageNumber")?
        .ok_or_else(|| ApiError::required("pageNumber"))?;
    if per_page < 1 {
        return Err(ApiError::bad_request("entriesPerPage must be at least 1"));
    }
    if page < 1 {
        return Err(ApiError::bad_request("pageNumber must be at least 1"));
    }
    if f.str("additionalFilter")?
        .is_some_and(|s| !s.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "additionalFilter is not supported by the simulator",
        ));
    }
    let location = f.uuid("fulfilmentCenter")?;
    let filters = match f.object("filters")? {
        Some(filters) => parse_filters(&filters)?,
        None => Vec::new(),
    };
    let sorting = parse_sorting(&f)?;
    let now = Utc::now();
    let mut orders: Vec<&SimOrder> = store
        .orders
        .values()
        .filter(|o| !o.processed)
        .filter(|o| location.is_none_or(|l| o.location == l))
        .filter(|o| filters.iter().all(|flt| flt.matches(o, now)))
        .collect();
    orders.sort_by(|a, b| {
        for (code, descending) in &sorting {
            let ord = match code.as_str() {
                "GENERAL_INFO_DATE" => a.received.cmp(&b.received),
                _ => a.num_order_id.cmp(&b.num_order_id),
            };
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        a.num_order_id.cmp(&b.num_order_id)
    });
    let total = orders.len() as i64;
    let total_pages = (total + per_page - 1) / per_page;
    let data: Vec<Value> = orders
        .iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(|o| o.open_order_json(&store.identifiers))
        .collect();
    Ok(Some(json!({
        "PageNumber": page,
        "EntriesPerPage": per_page,
        "TotalEntries": total,
        "TotalPages": total_pages,
        "Data": data,
    })))
}

enum Filter {
    Text {
        code: String,
        kind: String,
        text: String,
    },
    Date {
        kind: String,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        days: Option<i64>,
    },
}

impl Filter {
    fn matches(&self, o: &SimOrder, now: DateTime<Utc>) -> bool {
        match self {
            Filter::Text { code, kind, text } => {
                let values: Vec<String> = match code.as_str() {
                    "SHIPPING_INFORMATION_VENDOR" => vec![o.vendor.clone()],
                    "SHIPPING_INFORMATION_SERVICE" => vec![o.postal_service_name.clone()],
                    "SHIPPING_INFORMATION_TRACKING_NUMBER" => vec![o.tracking_number.clone()],
                    "SHIPPING_INFORMATION_SERVICE_ID" => {
                        vec![
                            o.postal_service_id
                                .map(|i| i.to_string())
                                .unwrap_or_default(),
                        ]
                    }
                    "GENERAL_INFO_REFERENCE_NUMBER" => vec![o.reference.clone()],
                    "GENERAL_INFO_SOURCE" => vec![o.source.clone()],
                    "GENERAL_INFO_ORDER_ID" => vec![o.num_order_id.to_string()],
                    "GENERAL_INFO_IDENTIFIER" => o.identifiers.clone(),
                    _ => Vec::new(),
                };
                let text = text.to_lowercase();
                values.iter().any(|v| {
                    let v = v.to_lowercase();
                    match kind.as_str() {
                        "Equal" => v == text,
                        "Contains" => v.contains(&text),
                        "StartWith" => v.starts_with(&text),
                        _ => v.ends_with(&text),
                    }
                })
            }
            Filter::Date {
                kind,
                from,
                to,
                days,
            } => match kind.as_str() {
                "LastDays" => o.received >= now - Days::days(days.unwrap_or(0)),
                "OlderThan" => o.received < now - Days::days(days.unwrap_or(0)),
                _ => from.is_none_or(|f| o.received >= f) && to.is_none_or(|t| o.received <= t),
            },
        }
    }
}

fn parse_filters(filters: &Fields) -> Result<Vec<Filter>, ApiError> {
    const TEXT_CODES: &[&str] = &[
        "SHIPPING_INFORMATION_VENDOR",
        "SHIPPING_INFORMATION_SERVICE",
        "SHIPPING_INFORMATION_TRACKING_NUMBER",
        "SHIPPING_INFORMATION_SERVICE_ID",
        "GENERAL_INFO_REFERENCE_NUMBER",
        "GENERAL_INFO_SOURCE",
        "GENERAL_INFO_ORDER_ID",
        "GENERAL_INFO_IDENTIFIER",
    ];
    let mut out = Vec::new();
    for (i, t) in filters.objects("TextFields")?.iter().enumerate() {
        let at = format!("filters.TextFields[{i}]");
        let code = t
            .enum_name("FieldCode", FIELD_CODES)?
            .ok_or_else(|| ApiError::required(&format!("{at}.FieldCode")))?;
        if !TEXT_CODES.contains(&code.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{at}.FieldCode {code} is not supported by the simulator (see docs/simulators.md)"
            )));
        }
        out.push(Filter::Text {
            code,
            kind: t
                .enum_name("Type", TEXT_TYPES)?
                .unwrap_or_else(|| "Equal".into()),
            text: t.str("Text")?.unwrap_or_default(),
        });
    }
    for (i, d) in filters.objects("DateFields")?.iter().enumerate() {
        let at = format!("filters.DateFields[{i}]");
        let code = d
            .enum_name("FieldCode", FIELD_CODES)?
            .ok_or_else(|| ApiError::required(&format!("{at}.FieldCode")))?;
        if code != "GENERAL_INFO_DATE" {
            return Err(ApiError::bad_request(format!(
                "{at}.FieldCode {code} is not supported by the simulator; use GENERAL_INFO_DATE"
            )));
        }
        let kind = d
            .enum_name("Type", DATE_TYPES)?
            .ok_or_else(|| ApiError::required(&format!("{at}.Type")))?;
        let days = d.i64("Value")?;
        if kind != "Range" && days.is_none_or(|v| v < 0) {
            return Err(ApiError::bad_request(format!(
                "{at}.Value: days, 0 or more"
            )));
        }
        out.push(Filter::Date {
            kind,
            from: d.datetime("DateFrom")?,
            to: d.datetime("DateTo")?,
            days,
        });
    }
    for other in ["NumericFields", "BooleanFields", "ListFields"] {
        if !filters.objects(other)?.is_empty() {
            return Err(ApiError::bad_request(format!(
                "filters.{other} is not supported by the simulator"
            )));
        }
    }
    Ok(out)
}

fn parse_sorting(f: &Fields) -> Result<Vec<(String, bool)>, ApiError> {
    let mut sorting = Vec::new();
    let mut entries: Vec<(i64, Fields)> = f
        .objects("sorting")?
        .into_iter()
        .map(|s| Ok((s.i64("Order")?.unwrap_or(0), s)))
        .collect::<Result<_, ApiError>>()?;
    entries.sort_by_key(|(order, _)| *order);
    for (i, (_, s)) in entries.iter().enumerate() {
        let code = s
            .enum_name("FieldCode", FIELD_CODES)?
            .ok_or_else(|| ApiError::required(&format!("sorting[{i}].FieldCode")))?;
        if !matches!(code.as_str(), "GENERAL_INFO_ORDER_ID" | "GENERAL_INFO_DATE") {
            return Err(ApiError::bad_request(format!(
                "sorting[{i}].FieldCode {code} is not supported by the simulator"
            )));
        }
        let descending = s.enum_name("Direction", DIRECTIONS)?.as_deref() == Some("Descending");
        sorting.push((code, descending));
    }
    Ok(sorting)
}

/// `Orders/GetOrdersById`: details of known orders, open or processed; unknown ids are
/// left out (*inferred*).
pub fn get_orders_by_id(store: &mut Store, f: Fields) -> ApiResult {
    let ids = f
        .uuids("pkOrderIds")?
        .ok_or_else(|| ApiError::required("pkOrderIds"))?;
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.orders.get(id))
        .map(|o| o.details_json(&store.identifiers))
        .collect();
    Ok(Some(Value::Array(found)))
}

/// `Orders/GetOrderPackagingCalculation`: each known order's packaging as it stands
/// (`CalcOrderHeader`): its items without composite parents, with their dimensions, and
/// its split packaging bins. Recalculation is not simulated: the flags are read and the
/// stored packaging is answered.
pub fn get_order_packaging_calculation(store: &mut Store, f: Fields) -> ApiResult {
    let f = f.unwrap_request();
    let ids = f
        .uuids("pkOrderIds")?
        .ok_or_else(|| ApiError::required("pkOrderIds"))?;
    for flag in ["Recalculate", "SaveRecalculation"] {
        f.bool(flag)?;
    }
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| store.orders.get(id))
        .map(packaging_json)
        .collect();
    Ok(Some(Value::Array(found)))
}

fn packaging_json(o: &SimOrder) -> Value {
    fn calc_items(items: &[SimItem], parent: Option<Uuid>, out: &mut Vec<Value>) {
        for i in items.iter().filter(|i| !i.is_service) {
            if i.composite_sub_items.is_empty() {
                let first = i.boxes.first();
                out.push(json!({
                    "fkStockItemId": i.stock_item_id,
                    "fkOrderItemId": i.row_id,
                    "StockItemIntId": 0,
                    "SKU": i.sku,
                    "nQty": i.quantity,
                    "ItemWeight": i.weight,
                    "DimHeight": first.map_or(0.0, |b| b.height),
                    "DimWidth": first.map_or(0.0, |b| b.width),
                    "DimDepth": first.map_or(0.0, |b| b.length),
                    "PackageGroup": Uuid::nil(),
                    "fkCompositeParentRowId": parent.unwrap_or_default(),
                    "IsCompositeChild": parent.is_some(),
                    "Boxes": [],
                }));
            } else {
                calc_items(&i.composite_sub_items, Some(i.row_id), out);
            }
        }
    }
    let mut items = Vec::new();
    calc_items(&o.items, None, &mut items);
    let bins: Vec<Value> = o
        .packaging_bins
        .iter()
        .enumerate()
        .map(|(b, bin)| {
            let bin_id = Uuid::from_u128(o.order_id.as_u128() ^ (b as u128 + 1));
            json!({
                "pkBinId": bin_id,
                "TrackingNumber": "",
                "LabelId": "",
                "Weight": 0.0,
                "Cost": 0.0,
                "fkPackagingTypeId": Uuid::nil(),
                "Width": 0.0,
                "Height": 0.0,
                "Depth": 0.0,
                "PackagingWeight": 0.0,
                "ItemWeight": 0.0,
                "ManualAdjust": false,
                "Items": bin.iter().enumerate().map(|(n, (row, qty))| json!({
                    "ShippingOrderItemId": n + 1,
                    "BinId": bin_id,
                    "fkOrderItemId": row,
                    "BoxId": 0,
                    "Quantity": qty,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "pkOrderID": o.order_id,
        "nOrderId": o.num_order_id,
        "fkPostalServiceId": o.postal_service_id.unwrap_or_default(),
        "fkCountryId": country_id(&o.address.country),
        "cCountry": o.address.country,
        "ItemWeight": o.item_weight,
        "fkPackagingGroupId": Uuid::nil(),
        "fkPackagingTypeId": Uuid::nil(),
        "IsSplitPackaging": !bins.is_empty(),
        "PackagingWeight": 0.0,
        "TotalWeight": o.total_weight,
        "TotalWidth": 0.0,
        "TotalHeight": 0.0,
        "TotalDepth": 0.0,
        "ManualAdjust": o.manual_adjust,
        "CanAutoSplit": false,
        "IsAutoSplit": false,
        "SplitPackageCount": bins.len(),
        "LabelPrinted": false,
        "CalculationHints": [],
        "Items": items,
        "Bins": bins,
        "DimMethod": "LEGACY",
    })
}

/// `Orders/SetOrderShippingInfo`: fields left out of `info` keep their value (*inferred*).
pub fn set_order_shipping_info(store: &mut Store, f: Fields) -> ApiResult {
    let order_id = f.req_uuid("orderId")?;
    let info = f.req_object("info")?;
    let service = match info.uuid("PostalServiceId")? {
        Some(id) if !id.is_nil() => Some(store.postal_service(id).cloned().ok_or_else(|| {
            ApiError::bad_request(format!(
                "info.PostalServiceId: postal service {id} was not found"
            ))
        })?),
        _ => None,
    };
    let (total_weight, item_weight, postage_cost) = (
        info.f64("TotalWeight")?,
        info.f64("ItemWeight")?,
        info.f64("PostageCost")?,
    );
    let (tracking, manual) = (info.str("TrackingNumber")?, info.bool("ManualAdjust")?);
    let order = store.order_mut(order_id)?;
    if order.processed {
        return Err(ApiError::bad_request(format!(
            "Order {order_id} is processed and cannot be changed"
        )));
    }
    if let Some(s) = service {
        order.postal_service_id = Some(s.id);
        order.postal_service_name = s.name;
        order.vendor = s.vendor;
    }
    if let Some(v) = total_weight {
        order.total_weight = v;
    }
    if let Some(v) = item_weight {
        order.item_weight = v;
    }
    if let Some(v) = postage_cost {
        order.postage_cost = v;
    }
    if let Some(v) = tracking {
        order.tracking_number = v;
    }
    if let Some(v) = manual {
        order.manual_adjust = v;
    }
    Ok(Some(json!({
        "TotalsInfo": order.totals_info_json(),
        "ShippingInfo": order.shipping_info_json(),
    })))
}

/// `Orders/SetOrderGeneralInfo`: the reference, source, dates, location and flags sent.
pub fn set_order_general_info(store: &mut Store, f: Fields) -> ApiResult {
    let order_id = f.req_uuid("orderId")?;
    let info = f.req_object("info")?;
    let (reference, secondary, external) = (
        info.str("ReferenceNum")?,
        info.str("SecondaryReference")?,
        info.str("ExternalReferenceNum")?,
    );
    let (source, sub_source) = (info.str("Source")?, info.str("SubSource")?);
    let (received, despatch) = (
        info.datetime("ReceivedDate")?,
        info.datetime("DespatchByDate")?,
    );
    let (location, status) = (info.uuid("Location")?, info.i64("Status")?);
    let (hold, parked) = (info.bool("HoldOrCancel")?, info.bool("IsParked")?);
    let order = store.order_mut(order_id)?;
    macro_rules! set {
        ($field:expr, $value:expr) => {
            if let Some(v) = $value {
                $field = v;
            }
        };
    }
    set!(order.reference, reference);
    set!(order.secondary_reference, secondary);
    set!(order.external_reference, external);
    set!(order.source, source);
    set!(order.sub_source, sub_source);
    set!(order.received, received);
    set!(order.location, location);
    set!(order.status, status);
    set!(order.hold_or_cancel, hold);
    set!(order.is_parked, parked);
    if despatch.is_some() {
        order.despatch_by = despatch;
    }
    Ok(None)
}

/// `Orders/AddOrdersNote`.
pub fn add_orders_note(store: &mut Store, f: Fields) -> ApiResult {
    let f = f.unwrap_request();
    let ids = f
        .uuids("OrderIds")?
        .ok_or_else(|| ApiError::required("OrderIds"))?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("OrderIds must not be empty"));
    }
    let text = f.str("NoteText")?.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::required("NoteText"));
    }
    let internal = f.bool("IsInternal")?.unwrap_or(false);
    store.check_orders_exist(&ids, "OrderIds")?;
    let mut notes = Vec::new();
    for id in ids {
        let order = store.order_mut(id)?;
        let note = SimNote {
            id: Uuid::new_v4(),
            at: Utc::now(),
            text: text.clone(),
            internal,
            created_by: "API".into(),
        };
        notes.push(note_json(id, &note));
        order.notes.push(note);
    }
    Ok(Some(json!({ "OrderNotes": notes })))
}

/// `Orders/AddExtendedProperties`: skips properties matching an existing name and value.
pub fn add_extended_properties(store: &mut Store, f: Fields) -> ApiResult {
    let f = f.unwrap_request();
    let order_id = f.req_uuid("OrderId")?;
    let props = parse_properties(&f.objects("ExtendedProperties")?, "ExtendedProperties")?;
    let order = store.order_mut(order_id)?;
    let mut inserted = 0;
    for (_, name, value, kind) in props {
        if order
            .extended_properties
            .iter()
            .any(|p| p.name == name && p.value == value)
        {
            continue;
        }
        order.extended_properties.push(SimProperty {
            row_id: Uuid::new_v4(),
            name,
            value,
            kind,
        });
        inserted += 1;
    }
    Ok(Some(
        json!({ "ExtendedPropertiesInserted": inserted, "Errors": [] }),
    ))
}

/// `Orders/SetExtendedProperties`: updates by RowId, else adds.
pub fn set_extended_properties(store: &mut Store, f: Fields) -> ApiResult {
    let order_id = f.req_uuid("orderId")?;
    if !f.has("extendedProperties") {
        return Err(ApiError::required("extendedProperties"));
    }
    let props = parse_properties(&f.objects("extendedProperties")?, "extendedProperties")?;
    let order = store.order_mut(order_id)?;
    let mut stored = Vec::new();
    for (row_id, name, value, kind) in props {
        let existing =
            row_id.and_then(|r| order.extended_properties.iter_mut().find(|p| p.row_id == r));
        let prop = match existing {
            Some(p) => {
                p.name = name;
                p.value = value;
                p.kind = kind;
                p.clone()
            }
            None => {
                let p = SimProperty {
                    row_id: row_id.unwrap_or_else(Uuid::new_v4),
                    name,
                    value,
                    kind,
                };
                order.extended_properties.push(p.clone());
                p
            }
        };
        stored.push(property_json(&prop));
    }
    Ok(Some(Value::Array(stored)))
}

type PropertyIn = (Option<Uuid>, String, String, String);

fn parse_properties(items: &[Fields], field: &str) -> Result<Vec<PropertyIn>, ApiError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = p.str("Name")?.unwrap_or_default();
            if name.trim().is_empty() {
                return Err(ApiError::required(&format!("{field}[{i}].Name")));
            }
            Ok((
                p.uuid("RowId")?.filter(|r| !r.is_nil()),
                name,
                p.str("Value")?.unwrap_or_default(),
                p.str("Type")?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// `Orders/ProcessOrder`. An already processed order answers `Processed: false` with an
/// `Error` (*inferred*).
pub fn process_order(store: &mut Store, f: Fields) -> ApiResult {
    let order_id = f.req_uuid("orderId")?;
    let order = store.order_mut(order_id)?;
    if order.processed {
        return Ok(Some(json!({
            "OrderId": order_id,
            "Processed": false,
            "Error": "Order is already processed",
        })));
    }
    order.processed = true;
    order.processed_at = Some(Utc::now());
    Ok(Some(
        json!({ "OrderId": order_id, "Processed": true, "Error": Value::Null }),
    ))
}

/// `OpenOrders/GetIdentifiers`.
pub fn get_identifiers(store: &mut Store, _: Fields) -> ApiResult {
    Ok(Some(Value::Array(
        store.identifiers.iter().map(identifier_json).collect(),
    )))
}

/// `OpenOrders/SaveIdentifier`.
pub fn save_identifier(store: &mut Store, f: Fields) -> ApiResult {
    let f = f.unwrap_request();
    let ident = f.req_object("Identifier")?;
    let tag = ident.str("Tag")?.unwrap_or_default();
    if tag.trim().is_empty() {
        return Err(ApiError::required("Identifier.Tag"));
    }
    let name = ident.str("Name")?.unwrap_or_else(|| tag.clone());
    let saved = store.save_identifier(
        ident.i64("IdentifierId")?,
        tag,
        name,
        ident.str("ImageUrl")?.unwrap_or_default(),
    )?;
    Ok(Some(identifier_json(&saved)))
}

/// `OpenOrders/AssignOrderIdentifier` and `UnassignOrderIdentifier`.
pub fn change_identifier(store: &mut Store, f: Fields, assign: bool) -> ApiResult {
    let f = f.unwrap_request();
    let ids = f
        .uuids("OrderIds")?
        .ok_or_else(|| ApiError::required("OrderIds"))?;
    let tag = f.str("Tag")?.unwrap_or_default();
    if tag.trim().is_empty() {
        return Err(ApiError::required("Tag"));
    }
    let tag = store
        .identifier_by_tag(&tag)
        .map(|i| i.tag.clone())
        .ok_or_else(|| ApiError::bad_request(format!("Tag: no identifier with tag '{tag}'")))?;
    store.check_orders_exist(&ids, "OrderIds")?;
    let (mut changed, mut not_changed) = (Vec::new(), Vec::new());
    for id in ids {
        let order = store.order_mut(id)?;
        let has = order.identifiers.contains(&tag);
        if assign && !has {
            order.identifiers.push(tag.clone());
            changed.push(id);
        } else if !assign && has {
            order.identifiers.retain(|t| *t != tag);
            changed.push(id);
        } else {
            not_changed.push(id);
        }
    }
    Ok(Some(
        json!({ "Changed": changed, "NotChanged": not_changed }),
    ))
}

/// `Inventory/GetStockLocations`: every location as a `StockLocation`.
pub fn get_stock_locations(store: &mut Store, _: Fields) -> ApiResult {
    Ok(Some(Value::Array(
        store
            .locations
            .iter()
            .enumerate()
            .map(|(i, (id, name))| {
                json!({
                    "StockLocationId": id,
                    "LocationName": name,
                    "IsFulfillmentCenter": false,
                    "IsNotTrackable": false,
                    "IsWarehouseManaged": false,
                    "LocationTag": "",
                    "Address1": "", "Address2": "", "City": "", "County": "",
                    "Country": "", "ZipCode": "",
                    "CountInOrderUntilAcknowledgement": false,
                    "FulfilmentCenterDeductStockWhenProcessed": false,
                    "StockLocationIntId": i + 1,
                })
            })
            .collect(),
    )))
}

/// `PostalServices/GetPostalServices`.
pub fn get_postal_services(store: &mut Store, _: Fields) -> ApiResult {
    Ok(Some(Value::Array(
        store
            .postal_services
            .iter()
            .map(postal_service_with_links_json)
            .collect(),
    )))
}

/// `PostalServices/CreatePostalService`.
pub fn create_postal_service(store: &mut Store, f: Fields) -> ApiResult {
    let d = f.req_object("PostalServiceDetails")?;
    let id = match d.uuid("pkPostalServiceId")? {
        Some(id) if !id.is_nil() => Some(id),
        _ => None,
    };
    let service = store.add_postal_service(NewPostalService {
        id,
        name: d.str("PostalServiceName")?.unwrap_or_default(),
        vendor: d.str("Vendor")?,
        tag: d.str("PostalServiceTag")?,
        code: d.str("PostalServiceCode")?,
        country: d.str("ServiceCountry")?,
    })?;
    let stored = store
        .postal_services
        .iter_mut()
        .find(|s| s.id == service.id)
        .ok_or_else(|| ApiError::bad_request("postal service vanished"))?;
    stored.tracking_number_required = d.bool("TrackingNumberRequired")?.unwrap_or(false);
    stored.weight_required = d.bool("WeightRequired")?.unwrap_or(false);
    Ok(Some(postal_service_json(stored)))
}

/// `PostalServices/UpdatePostalService`: changes the fields sent; orders on the service
/// show the new name and vendor.
pub fn update_postal_service(store: &mut Store, f: Fields) -> ApiResult {
    let d = f.req_object("PostalServiceDetails")?;
    let id = d.req_uuid("pkPostalServiceId")?;
    let name = d.str("PostalServiceName")?;
    if let Some(n) = &name
        && store
            .postal_services
            .iter()
            .any(|s| s.id != id && s.name.eq_ignore_ascii_case(n))
    {
        return Err(ApiError::bad_request(format!(
            "A postal service named '{n}' already exists"
        )));
    }
    let service = store
        .postal_services
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::bad_request(format!("Postal service {id} was not found")))?;
    if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
        service.name = n;
    }
    if let Some(v) = d.str("Vendor")? {
        service.vendor = v;
    }
    if let Some(v) = d.str("PostalServiceTag")? {
        service.tag = v;
    }
    if let Some(v) = d.str("PostalServiceCode")? {
        service.code = v;
    }
    if let Some(v) = d.str("ServiceCountry")? {
        service.country = v;
    }
    if let Some(v) = d.bool("TrackingNumberRequired")? {
        service.tracking_number_required = v;
    }
    if let Some(v) = d.bool("WeightRequired")? {
        service.weight_required = v;
    }
    let (name, vendor) = (service.name.clone(), service.vendor.clone());
    for order in store
        .orders
        .values_mut()
        .filter(|o| o.postal_service_id == Some(id))
    {
        order.postal_service_name = name.clone();
        order.vendor = vendor.clone();
    }
    Ok(None)
}
