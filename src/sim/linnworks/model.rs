//! The simulated account's data, and how it renders in Linnworks' reply shapes
//! (orders.json `OpenOrder`, `OrderDetails`; openorders.json `Identifier`;
//! postalservices.json `PostalService`). Written from the spec independently of the
//! client's types, so a naming mistake on either side shows up in the contract tests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SimOrder {
    pub order_id: Uuid,
    pub num_order_id: i64,
    pub processed: bool,
    pub processed_at: Option<DateTime<Utc>>,
    pub status: i64,
    pub reference: String,
    pub secondary_reference: String,
    pub external_reference: String,
    pub received: DateTime<Utc>,
    pub source: String,
    pub sub_source: String,
    pub despatch_by: Option<DateTime<Utc>>,
    pub location: Uuid,
    pub hold_or_cancel: bool,
    pub is_parked: bool,
    /// Identifier tags, in the order they were assigned.
    pub identifiers: Vec<String>,
    pub vendor: String,
    pub postal_service_id: Option<Uuid>,
    pub postal_service_name: String,
    pub total_weight: f64,
    pub item_weight: f64,
    pub postage_cost: f64,
    pub tracking_number: String,
    pub manual_adjust: bool,
    pub channel_buyer_name: String,
    pub address: SimAddress,
    pub billing_address: SimAddress,
    pub currency: String,
    pub items: Vec<SimItem>,
    /// Split packaging: each bin lists order item rows and how many of each it holds.
    pub packaging_bins: Vec<Vec<(Uuid, i64)>>,
    pub extended_properties: Vec<SimProperty>,
    pub notes: Vec<SimNote>,
}

/// A customer address; `NewOrder` uses the same compact camelCase shape.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SimAddress {
    pub full_name: String,
    pub company: String,
    pub address1: String,
    pub address2: String,
    pub address3: String,
    pub town: String,
    pub region: String,
    pub post_code: String,
    pub country: String,
    pub email: String,
    pub phone: String,
}

#[derive(Clone, Debug)]
pub struct SimItem {
    pub row_id: Uuid,
    pub stock_item_id: Uuid,
    pub item_number: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub weight: f64,
    pub price: f64,
    pub barcode: String,
    pub bin_rack: String,
    pub is_service: bool,
    pub composite_sub_items: Vec<SimItem>,
    pub boxes: Vec<NewBox>,
}

#[derive(Clone, Debug)]
pub struct SimProperty {
    pub row_id: Uuid,
    pub name: String,
    pub value: String,
    pub kind: String,
}

#[derive(Clone, Debug)]
pub struct SimNote {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub text: String,
    pub internal: bool,
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimIdentifier {
    pub id: i64,
    pub is_custom: bool,
    pub image_url: String,
    pub tag: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimPostalService {
    pub id: Uuid,
    pub name: String,
    pub vendor: String,
    pub tag: String,
    pub code: String,
    pub country: String,
    pub tracking_number_required: bool,
    pub weight_required: bool,
}

fn date(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn opt_date(d: &Option<DateTime<Utc>>) -> Value {
    d.as_ref().map_or(Value::Null, |d| Value::String(date(d)))
}

pub fn identifier_json(i: &SimIdentifier) -> Value {
    json!({
        "IdentifierId": i.id,
        "IsCustom": i.is_custom,
        "ImageId": Uuid::nil(),
        "ImageUrl": i.image_url,
        "Tag": i.tag,
        "Name": i.name,
    })
}

pub fn postal_service_json(s: &SimPostalService) -> Value {
    json!({
        "PostalServiceName": s.name,
        "PostalServiceTag": s.tag,
        "ServiceCountry": s.country,
        "PostalServiceCode": s.code,
        "Vendor": s.vendor,
        "PrintModule": Value::Null,
        "PrintModuleTitle": Value::Null,
        "pkPostalServiceId": s.id,
        "TrackingNumberRequired": s.tracking_number_required,
        "WeightRequired": s.weight_required,
        "IgnorePackagingGroup": false,
        "fkShippingAPIConfigId": 0,
        "IntegratedServiceId": Uuid::nil(),
    })
}

/// `PostalService_WithChannelAndShippingLinks`, as GetPostalServices lists them.
pub fn postal_service_with_links_json(s: &SimPostalService) -> Value {
    let mut v = postal_service_json(s);
    if let Value::Object(map) = &mut v {
        map.insert("id".into(), json!(s.id));
        map.insert("hasMappedShippingService".into(), json!(false));
        map.insert("Channels".into(), json!([]));
        map.insert("ShippingServices".into(), json!([]));
    }
    v
}

fn address_json(a: &SimAddress) -> Value {
    json!({
        "EmailAddress": a.email,
        "Address1": a.address1,
        "Address2": a.address2,
        "Address3": a.address3,
        "Town": a.town,
        "Region": a.region,
        "PostCode": a.post_code,
        "Country": a.country,
        "Continent": "",
        "FullName": a.full_name,
        "Company": a.company,
        "PhoneNumber": a.phone,
        // A Guid is a value type in Linnworks' API: never null on the wire.
        "CountryId": country_id(&a.country),
    })
}

/// The id Linnworks gives a country: one fixed Guid per country (here derived from its
/// ISO 3166-1 numeric code), the empty Guid when the text names no country.
pub fn country_id(country: &str) -> Uuid {
    crate::sync::country::country_code(country)
        .and_then(|code| celes::Country::from_alpha2(code).ok())
        .map_or(Uuid::nil(), |c| {
            Uuid::from_u128(0x1e4f_0000_0000_4000_8000_0000_0000_0000 | c.value as u128)
        })
}

fn box_json(b: &NewBox, i: usize) -> Value {
    json!({
        "BoxId": i + 1,
        "StockItemIntId": 0,
        "BoxName": b.name.clone().unwrap_or_else(|| format!("Box {}", i + 1)),
        "Width": b.width,
        "Height": b.height,
        "Length": b.length,
        "Weight": 0.0,
        "ValuePercentage": 0.0,
        "Barcode": "",
        "PackagingTypeId": Uuid::nil(),
        "LogicalDelete": false,
    })
}

fn item_json(order_id: Uuid, i: &SimItem) -> Value {
    let cost = i.price * i.quantity as f64;
    let mut first = json!({
        "ItemId": i.stock_item_id,
        "ItemNumber": i.item_number,
        "SKU": i.sku,
        "ItemSource": "DIRECT",
        "Title": i.title,
        "Quantity": i.quantity,
        "CategoryName": "Default",
        "StockLevelsSpecified": false,
        "OnOrder": 0,
        "InOrderBook": 0,
        "Level": 0,
        "MinimumLevel": 0,
        "AvailableStock": 0,
        "PricePerUnit": i.price,
        "UnitCost": 0.0,
        "Discount": 0.0,
        "Tax": 0.0,
        "TaxRate": 0.0,
        "Cost": cost,
        "CostIncTax": cost,
        "CompositeSubItems": i.composite_sub_items.iter().map(|s| item_json(order_id, s)).collect::<Vec<_>>(),
    });
    // Two halves: one json! of this size exceeds the macro recursion limit.
    let rest = json!({
        "IsService": i.is_service,
        "SalesTax": 0.0,
        "TaxCostInclusive": true,
        "PartShipped": false,
        "Weight": i.weight,
        "BarcodeNumber": i.barcode,
        "Market": 0,
        "ChannelSKU": i.sku,
        "ChannelTitle": i.title,
        "HasImage": false,
        "ImageId": Uuid::nil(),
        "AdditionalInfo": [],
        "StockLevelIndicator": 0,
        "BinRack": i.bin_rack,
        "BinRacks": [],
        "InventoryTrackingType": 0,
        "isBatchedStockItem": false,
        "IsWarehouseManaged": false,
        "IsUnlinked": false,
        "StockItemIntId": 0,
        "Boxes": i.boxes.iter().enumerate().map(|(n, b)| box_json(b, n)).collect::<Vec<_>>(),
        "RowId": i.row_id,
        "OrderId": order_id,
        "StockItemId": i.stock_item_id,
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut first, rest) {
        a.extend(b);
    }
    first
}

impl SimOrder {
    fn subtotal(&self) -> f64 {
        self.items.iter().map(|i| i.price * i.quantity as f64).sum()
    }

    fn general_info_json(&self, identifiers: &[SimIdentifier]) -> Value {
        let idents: Vec<Value> = self
            .identifiers
            .iter()
            .filter_map(|tag| identifiers.iter().find(|i| &i.tag == tag))
            .map(identifier_json)
            .collect();
        json!({
            "Status": self.status,
            "LabelPrinted": false,
            "LabelError": Value::Null,
            "InvoicePrinted": false,
            "InvoicePrintError": Value::Null,
            "PickListPrinted": false,
            "PickListPrintError": Value::Null,
            "IsRuleRun": true,
            "Notes": self.notes.len(),
            "PartShipped": false,
            "Marker": 0,
            "IsParked": self.is_parked,
            "Identifiers": idents,
            "ReferenceNum": self.reference,
            "SecondaryReference": self.secondary_reference,
            "ExternalReferenceNum": self.external_reference,
            "ReceivedDate": date(&self.received),
            "Source": self.source,
            "SubSource": self.sub_source,
            "SiteCode": Value::Null,
            "HoldOrCancel": self.hold_or_cancel,
            "DespatchByDate": opt_date(&self.despatch_by),
            "ScheduledDelivery": Value::Null,
            "HasScheduledDelivery": false,
            "Location": self.location,
            "NumItems": self.items.len(),
            "PickwaveIds": [],
            "PIIRedactionDays": 0,
            "StockAllocationType": "NotAllocated",
        })
    }

    pub fn shipping_info_json(&self) -> Value {
        json!({
            "Vendor": self.vendor,
            "PostalServiceId": self.postal_service_id.unwrap_or_default(),
            "PostalServiceName": self.postal_service_name,
            "TotalWeight": self.total_weight,
            "ItemWeight": self.item_weight,
            "PackageCategoryId": Uuid::nil(),
            "PackageCategory": "Default",
            "PackageTypeId": Uuid::nil(),
            "PackageType": "Default",
            "PostageCost": self.postage_cost,
            "PostageCostExTax": self.postage_cost,
            "TrackingNumber": self.tracking_number,
            "ManualAdjust": self.manual_adjust,
        })
    }

    pub fn totals_info_json(&self) -> Value {
        let subtotal = self.subtotal();
        json!({
            "Subtotal": subtotal,
            "PostageCost": self.postage_cost,
            "PostageCostExTax": self.postage_cost,
            "Tax": 0.0,
            "TotalCharge": subtotal + self.postage_cost,
            "PaymentMethod": "Default",
            "PaymentMethodId": Uuid::nil(),
            "ProfitMargin": 0.0,
            "TotalDiscount": 0.0,
            "Currency": self.currency,
            "CountryTaxRate": 0.0,
            "ConversionRate": 1.0,
        })
    }

    fn customer_info_json(&self) -> Value {
        json!({
            "ChannelBuyerName": self.channel_buyer_name,
            "Address": address_json(&self.address),
            "BillingAddress": address_json(&self.billing_address),
        })
    }

    fn items_json(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|i| item_json(self.order_id, i))
            .collect()
    }

    /// `OpenOrder` (GetOpenOrders).
    pub fn open_order_json(&self, identifiers: &[SimIdentifier]) -> Value {
        json!({
            "NumOrderId": self.num_order_id,
            "GeneralInfo": self.general_info_json(identifiers),
            "ShippingInfo": self.shipping_info_json(),
            "CustomerInfo": self.customer_info_json(),
            "TotalsInfo": self.totals_info_json(),
            "TaxInfo": {"TaxNumber": Value::Null},
            "FolderName": [],
            "IsPostFilteredOut": false,
            "CanFulfil": true,
            "Fulfillment": Value::Null,
            "Items": self.items_json(),
            "HasItems": !self.items.is_empty(),
            "TotalItemsSum": self.items.iter().map(|i| i.quantity).sum::<i64>(),
            "OrderId": self.order_id,
        })
    }

    /// `OrderDetails` (GetOrdersById, and the admin view).
    pub fn details_json(&self, identifiers: &[SimIdentifier]) -> Value {
        json!({
            "OrderId": self.order_id,
            "NumOrderId": self.num_order_id,
            "Processed": self.processed,
            "ProcessedDateTime": opt_date(&self.processed_at),
            "FulfilmentLocationId": self.location,
            "GeneralInfo": self.general_info_json(identifiers),
            "ShippingInfo": self.shipping_info_json(),
            "CustomerInfo": self.customer_info_json(),
            "TotalsInfo": self.totals_info_json(),
            "ExtendedProperties": self.extended_properties.iter().map(property_json).collect::<Vec<_>>(),
            "FolderName": [],
            "Items": self.items_json(),
            "Notes": self.notes.iter().map(|n| note_json(self.order_id, n)).collect::<Vec<_>>(),
            "PaidDateTime": date(&self.received),
            "TaxId": Value::Null,
        })
    }
}

pub fn property_json(p: &SimProperty) -> Value {
    json!({"RowId": p.row_id, "Name": p.name, "Value": p.value, "Type": p.kind})
}

pub fn note_json(order_id: Uuid, n: &SimNote) -> Value {
    json!({
        "OrderNoteId": n.id,
        "OrderId": order_id,
        "NoteDate": date(&n.at),
        "Internal": n.internal,
        "Note": n.text,
        "CreatedBy": n.created_by,
        "NoteTypeId": 0,
    })
}

/// An order as posted to `POST /_sim/orders`: compact, camelCase, everything optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewOrder {
    pub order_id: Option<Uuid>,
    pub num_order_id: Option<i64>,
    pub reference: Option<String>,
    pub secondary_reference: Option<String>,
    pub external_reference: Option<String>,
    pub received_date: Option<DateTime<Utc>>,
    /// Received this many days ago (an alternative to `receivedDate`, for lookback tests).
    pub received_days_ago: Option<i64>,
    pub source: Option<String>,
    pub sub_source: Option<String>,
    pub status: Option<i64>,
    pub despatch_by_date: Option<DateTime<Utc>>,
    pub location: Option<Uuid>,
    /// Defaults to the vendor of the postal service, if one is given.
    pub vendor: Option<String>,
    /// Must be a known postal service when given.
    pub postal_service_id: Option<Uuid>,
    /// Matched against known postal services (case-insensitive) when no id is given.
    pub postal_service_name: Option<String>,
    pub tracking_number: Option<String>,
    pub total_weight: Option<f64>,
    pub postage_cost: Option<f64>,
    pub currency: Option<String>,
    pub channel_buyer_name: Option<String>,
    pub customer: Option<SimAddress>,
    pub billing_address: Option<SimAddress>,
    /// One default item when omitted.
    pub items: Option<Vec<NewItem>>,
    /// Identifier tags; each must exist.
    pub identifiers: Vec<String>,
    pub extended_properties: Vec<NewProperty>,
    pub notes: Vec<String>,
    pub processed: bool,
    /// Linnworks' split packaging: each bin lists items by SKU (composite children
    /// included) and how many of each it holds.
    pub packaging_split: Vec<NewBin>,
}

/// One bin of a split order, as posted.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBin {
    pub items: Vec<NewBinItem>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBinItem {
    pub sku: String,
    pub quantity: i64,
}

/// A box one unit of an item ships in (`StockItemBoxConfiguration`); centimetres.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBox {
    #[serde(default)]
    pub name: Option<String>,
    pub width: f64,
    pub height: f64,
    pub length: f64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NewItem {
    pub sku: Option<String>,
    pub title: Option<String>,
    pub quantity: Option<i64>,
    /// Kilograms, per unit.
    pub weight: Option<f64>,
    pub price: Option<f64>,
    pub barcode: Option<String>,
    pub bin_rack: Option<String>,
    pub item_number: Option<String>,
    pub is_service: bool,
    pub composite_sub_items: Vec<NewItem>,
    /// The boxes one unit ships in (centimetres).
    pub boxes: Vec<NewBox>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewProperty {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub r#type: Option<String>,
}

/// A postal service as posted to `POST /_sim/postal-services`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPostalService {
    #[serde(default)]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

impl NewItem {
    pub fn build(&self, index: usize) -> SimItem {
        let n = index + 1;
        SimItem {
            row_id: Uuid::new_v4(),
            stock_item_id: Uuid::new_v4(),
            item_number: self
                .item_number
                .clone()
                .unwrap_or_else(|| format!("ITEM-{n}")),
            sku: self.sku.clone().unwrap_or_else(|| format!("SKU-{n:03}")),
            title: self
                .title
                .clone()
                .unwrap_or_else(|| format!("Sample item {n}")),
            quantity: self.quantity.unwrap_or(1),
            weight: self.weight.unwrap_or(0.5),
            price: self.price.unwrap_or(10.0),
            barcode: self.barcode.clone().unwrap_or_default(),
            bin_rack: self.bin_rack.clone().unwrap_or_default(),
            is_service: self.is_service,
            composite_sub_items: self
                .composite_sub_items
                .iter()
                .enumerate()
                .map(|(i, s)| s.build(i))
                .collect(),
            boxes: self.boxes.clone(),
        }
    }

    pub fn validate(&self, at: &str) -> Result<(), String> {
        if let Some(q) = self.quantity
            && q < 1
        {
            return Err(format!("{at}.quantity: must be at least 1"));
        }
        if let Some(w) = self.weight
            && !(w >= 0.0 && w.is_finite())
        {
            return Err(format!("{at}.weight: must be zero or more"));
        }
        for (i, b) in self.boxes.iter().enumerate() {
            for (name, v) in [
                ("width", b.width),
                ("height", b.height),
                ("length", b.length),
            ] {
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(format!("{at}.boxes[{i}].{name}: must be zero or more"));
                }
            }
        }
        for (i, s) in self.composite_sub_items.iter().enumerate() {
            s.validate(&format!("{at}.compositeSubItems[{i}]"))?;
        }
        Ok(())
    }
}

/// The address new orders get when none is posted.
pub fn default_address() -> SimAddress {
    SimAddress {
        full_name: "Alex Example".into(),
        company: String::new(),
        address1: "1 High Street".into(),
        address2: String::new(),
        address3: String::new(),
        town: "Leeds".into(),
        region: "West Yorkshire".into(),
        post_code: "LS1 1AA".into(),
        country: "United Kingdom".into(),
        email: "alex@example.com".into(),
        phone: "0113 496 0000".into(),
    }
}
