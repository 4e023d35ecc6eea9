//! Orders posted to `POST /_sim/orders` in the `OrderDetails` shape Linnworks' API returns
//! (GetOrdersById), so that an order captured from a real account can be replayed. Read
//! with the same tolerance as a client (nulls for anything, numbers as numbers or strings
//! are not accepted where the spec says number); a field of the wrong type is refused with
//! its path.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::model::{NewBox, NewItem, NewOrder, NewProperty, SimAddress};

/// Whether a posted order is in the API's `OrderDetails` shape (PascalCase keys) rather
/// than the simulator's compact one.
pub fn is_order_details(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        ["OrderId", "NumOrderId", "GeneralInfo", "CustomerInfo"]
            .iter()
            .any(|k| o.contains_key(*k))
    })
}

/// Reads an `OrderDetails` as the order to add. `known_service` says whether the
/// simulator has a postal service id (a captured id from another account is replaced by
/// the service's name); `known_tag` whether it has an identifier tag (unknown ones are
/// left out).
pub fn from_order_details(
    value: &Value,
    known_service: &dyn Fn(Uuid) -> bool,
    known_tag: &dyn Fn(&str) -> bool,
) -> Result<NewOrder, String> {
    let root = obj(Some(value), "order")?.ok_or("the order must be an object")?;
    let general = obj(root.get("GeneralInfo"), "GeneralInfo")?;
    let shipping = obj(root.get("ShippingInfo"), "ShippingInfo")?;
    let customer = obj(root.get("CustomerInfo"), "CustomerInfo")?;
    let totals = obj(root.get("TotalsInfo"), "TotalsInfo")?;
    let g = |k: &str| general.and_then(|o| o.get(k));
    let sh = |k: &str| shipping.and_then(|o| o.get(k));
    let service_id = uuid(sh("PostalServiceId"), "ShippingInfo.PostalServiceId")?
        .filter(|id| !id.is_nil() && known_service(*id));
    let identifiers = each(g("Identifiers"), "GeneralInfo.Identifiers", |v, at| {
        text(v.get("Tag"), &format!("{at}.Tag"))
    })?
    .unwrap_or_default()
    .into_iter()
    .flatten()
    .filter(|t| known_tag(t))
    .collect();
    let delivery_address = match customer.and_then(|c| c.get("Address")) {
        None | Some(Value::Null) => None,
        Some(a) => Some(address(a, "CustomerInfo.Address")?),
    };
    let billing = match customer.and_then(|c| c.get("BillingAddress")) {
        None | Some(Value::Null) => None,
        Some(a) => Some(address(a, "CustomerInfo.BillingAddress")?),
    };
    let items = each(root.get("Items"), "Items", item)?;
    let properties = each(
        root.get("ExtendedProperties"),
        "ExtendedProperties",
        |v, at| {
            Ok(NewProperty {
                name: text(v.get("Name"), &format!("{at}.Name"))?.unwrap_or_default(),
                value: text(v.get("Value"), &format!("{at}.Value"))?.unwrap_or_default(),
                r#type: text(v.get("Type"), &format!("{at}.Type"))?,
            })
        },
    )?
    .unwrap_or_default();
    let notes = each(root.get("Notes"), "Notes", |v, at| {
        text(v.get("Note"), &format!("{at}.Note"))
    })?
    .unwrap_or_default()
    .into_iter()
    .flatten()
    .collect();
    Ok(NewOrder {
        order_id: uuid(root.get("OrderId"), "OrderId")?.filter(|id| !id.is_nil()),
        num_order_id: int(root.get("NumOrderId"), "NumOrderId")?,
        reference: text(g("ReferenceNum"), "GeneralInfo.ReferenceNum")?,
        secondary_reference: text(g("SecondaryReference"), "GeneralInfo.SecondaryReference")?,
        external_reference: text(
            g("ExternalReferenceNum"),
            "GeneralInfo.ExternalReferenceNum",
        )?,
        received_date: date(g("ReceivedDate"), "GeneralInfo.ReceivedDate")?,
        received_days_ago: None,
        source: text(g("Source"), "GeneralInfo.Source")?,
        sub_source: text(g("SubSource"), "GeneralInfo.SubSource")?,
        status: int(g("Status"), "GeneralInfo.Status")?,
        despatch_by_date: date(g("DespatchByDate"), "GeneralInfo.DespatchByDate")?,
        location: uuid(g("Location"), "GeneralInfo.Location")?,
        vendor: text(sh("Vendor"), "ShippingInfo.Vendor")?,
        postal_service_id: service_id,
        postal_service_name: text(sh("PostalServiceName"), "ShippingInfo.PostalServiceName")?,
        tracking_number: text(sh("TrackingNumber"), "ShippingInfo.TrackingNumber")?,
        total_weight: num(sh("TotalWeight"), "ShippingInfo.TotalWeight")?,
        postage_cost: num(sh("PostageCost"), "ShippingInfo.PostageCost")?,
        currency: text(
            totals.and_then(|t| t.get("Currency")),
            "TotalsInfo.Currency",
        )?,
        channel_buyer_name: text(
            customer.and_then(|c| c.get("ChannelBuyerName")),
            "CustomerInfo.ChannelBuyerName",
        )?,
        customer: delivery_address,
        billing_address: billing,
        items,
        identifiers,
        extended_properties: properties,
        notes,
        processed: boolean(root.get("Processed"), "Processed")?.unwrap_or(false),
        packaging_split: Vec::new(),
    })
}

fn address(v: &Value, at: &str) -> Result<SimAddress, String> {
    let field = |k: &str| text(v.get(k), &format!("{at}.{k}")).map(Option::unwrap_or_default);
    if !v.is_object() {
        return Err(format!("{at}: must be an object"));
    }
    Ok(SimAddress {
        full_name: field("FullName")?,
        company: field("Company")?,
        address1: field("Address1")?,
        address2: field("Address2")?,
        address3: field("Address3")?,
        town: field("Town")?,
        region: field("Region")?,
        post_code: field("PostCode")?,
        country: field("Country")?,
        email: field("EmailAddress")?,
        phone: field("PhoneNumber")?,
    })
}

fn item(v: &Value, at: &str) -> Result<NewItem, String> {
    if !v.is_object() {
        return Err(format!("{at}: must be an object"));
    }
    let get = |k: &str| v.get(k);
    let path = |k: &str| format!("{at}.{k}");
    let children = each(get("CompositeSubItems"), &path("CompositeSubItems"), item)?;
    // Boxes marked deleted are not the item's any more.
    let boxes = each(get("Boxes"), &path("Boxes"), |b, at| {
        if boolean(b.get("LogicalDelete"), &format!("{at}.LogicalDelete"))? == Some(true) {
            return Ok(None);
        }
        Ok(Some(NewBox {
            name: text(b.get("BoxName"), &format!("{at}.BoxName"))?,
            width: num(b.get("Width"), &format!("{at}.Width"))?.unwrap_or(0.0),
            height: num(b.get("Height"), &format!("{at}.Height"))?.unwrap_or(0.0),
            length: num(b.get("Length"), &format!("{at}.Length"))?.unwrap_or(0.0),
        }))
    })?
    .unwrap_or_default();
    Ok(NewItem {
        sku: text(get("SKU"), &path("SKU"))?,
        title: text(get("Title"), &path("Title"))?,
        quantity: int(get("Quantity"), &path("Quantity"))?,
        weight: num(get("Weight"), &path("Weight"))?,
        price: num(get("PricePerUnit"), &path("PricePerUnit"))?,
        barcode: text(get("BarcodeNumber"), &path("BarcodeNumber"))?,
        bin_rack: text(get("BinRack"), &path("BinRack"))?,
        item_number: text(get("ItemNumber"), &path("ItemNumber"))?,
        is_service: boolean(get("IsService"), &path("IsService"))?.unwrap_or(false),
        composite_sub_items: children.unwrap_or_default(),
        boxes: boxes.into_iter().flatten().collect(),
    })
}

/// Each element of a list read with `read` (given its path), or None when the list is
/// absent or null.
fn each<T>(
    v: Option<&Value>,
    at: &str,
    read: impl Fn(&Value, &str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, e)| read(e, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("{at}: must be an array")),
    }
}

fn obj<'a>(v: Option<&'a Value>, at: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(format!("{at}: must be an object")),
    }
}

fn text(v: Option<&Value>, at: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{at}: must be a string")),
    }
}

fn num(v: Option<&Value>, at: &str) -> Result<Option<f64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(format!("{at}: must be a number")),
    }
}

fn int(v: Option<&Value>, at: &str) -> Result<Option<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{at}: must be a whole number")),
        Some(_) => Err(format!("{at}: must be a whole number")),
    }
}

fn boolean(v: Option<&Value>, at: &str) -> Result<Option<bool>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("{at}: must be true or false")),
    }
}

fn uuid(v: Option<&Value>, at: &str) -> Result<Option<Uuid>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| format!("{at}: `{s}` is not a GUID")),
        Some(_) => Err(format!("{at}: must be a GUID string")),
    }
}

/// Linnworks writes unset dates as .NET's `DateTime.MinValue`: read as no date.
fn date(v: Option<&Value>, at: &str) -> Result<Option<DateTime<Utc>>, String> {
    match text(v, at)? {
        None => Ok(None),
        Some(s) if s.starts_with("0001-01-01") || s.is_empty() => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                // .NET often leaves the zone out: UTC (*inferred*, as the client reads it).
                chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                    .map(|n| n.and_utc())
            })
            .map(Some)
            .map_err(|_| format!("{at}: `{s}` is not a date-time")),
    }
}
