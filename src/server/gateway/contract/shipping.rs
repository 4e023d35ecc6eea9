//! Consignment endpoints: GenerateLabel and CancelLabel.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::labels::RenderedLabel;

use super::error::{ContractError, ReplyStatus, error_constructor};
use super::setup::{ConfigItemValue, validate_config_values};
use super::token::AuthorizationToken;
use super::{Validate, wire};

/// A `{Name, Value}` pair (order and item extended properties).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NameValue {
    #[serde(rename = "Name", default, deserialize_with = "wire::string")]
    pub name: String,
    #[serde(rename = "Value", default, deserialize_with = "wire::string")]
    pub value: String,
}

/// An item in a package. Weights in grams, dimensions in centimetres.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PackageItem {
    #[serde(rename = "ItemName", default, deserialize_with = "wire::string")]
    pub item_name: String,
    #[serde(rename = "ProductCode", default, deserialize_with = "wire::string")]
    pub product_code: String,
    #[serde(rename = "Quantity", default)]
    pub quantity: i64,
    #[serde(rename = "UnitValue", default, deserialize_with = "wire::number")]
    pub unit_value: f64,
    #[serde(rename = "UnitWeight", default, deserialize_with = "wire::number")]
    pub unit_weight: f64,
    #[serde(rename = "Height", default, deserialize_with = "wire::number")]
    pub height: f64,
    #[serde(rename = "Width", default, deserialize_with = "wire::number")]
    pub width: f64,
    #[serde(rename = "Length", default, deserialize_with = "wire::number")]
    pub length: f64,
    #[serde(
        rename = "ExtendedProperties",
        default,
        deserialize_with = "wire::list"
    )]
    pub extended_properties: Vec<NameValue>,
}

/// A package to label. Weight in grams, dimensions in centimetres.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    /// 1-based; echoed in the reply.
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: i64,
    #[serde(rename = "PackageWeight", default, deserialize_with = "wire::number")]
    pub package_weight: f64,
    #[serde(rename = "PackageWidth", default, deserialize_with = "wire::number")]
    pub package_width: f64,
    #[serde(rename = "PackageHeight", default, deserialize_with = "wire::number")]
    pub package_height: f64,
    #[serde(rename = "PackageDepth", default, deserialize_with = "wire::number")]
    pub package_depth: f64,
    #[serde(rename = "PackageFormat", default, deserialize_with = "wire::string")]
    pub package_format: String,
    #[serde(rename = "Items", default, deserialize_with = "wire::list")]
    pub items: Vec<PackageItem>,
}

/// GenerateLabel: label the packages of one order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GenerateLabelRequest {
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
    /// Recipient name.
    #[serde(rename = "Name", default, deserialize_with = "wire::string")]
    pub name: String,
    #[serde(rename = "CompanyName", default, deserialize_with = "wire::string")]
    pub company_name: String,
    #[serde(rename = "AddressLine1", default, deserialize_with = "wire::string")]
    pub address_line1: String,
    #[serde(rename = "AddressLine2", default, deserialize_with = "wire::string")]
    pub address_line2: String,
    #[serde(rename = "AddressLine3", default, deserialize_with = "wire::string")]
    pub address_line3: String,
    #[serde(rename = "Town", default, deserialize_with = "wire::string")]
    pub town: String,
    #[serde(rename = "Region", default, deserialize_with = "wire::string")]
    pub region: String,
    #[serde(rename = "CountryCode", default, deserialize_with = "wire::string")]
    pub country_code: String,
    /// Lower-case c, as the contract spells it.
    #[serde(rename = "Postalcode", default, deserialize_with = "wire::string")]
    pub postalcode: String,
    #[serde(rename = "DeliveryNote", default, deserialize_with = "wire::string")]
    pub delivery_note: String,
    #[serde(rename = "Email", default, deserialize_with = "wire::string")]
    pub email: String,
    #[serde(rename = "Phone", default, deserialize_with = "wire::string")]
    pub phone: String,
    /// Linnworks' numeric order id.
    #[serde(rename = "OrderId")]
    pub order_id: i64,
    #[serde(rename = "OrderReference", default, deserialize_with = "wire::string")]
    pub order_reference: String,
    #[serde(rename = "OrderCurrency", default, deserialize_with = "wire::string")]
    pub order_currency: String,
    #[serde(rename = "OrderValue", default, deserialize_with = "wire::number")]
    pub order_value: f64,
    #[serde(rename = "PostageCharges", default, deserialize_with = "wire::number")]
    pub postage_charges: f64,
    /// The service's `ServiceUniqueId` from UserAvailableServices.
    #[serde(rename = "ServiceId")]
    pub service_id: Uuid,
    #[serde(rename = "Packages", default, deserialize_with = "wire::list")]
    pub packages: Vec<Package>,
    #[serde(
        rename = "OrderExtendedProperties",
        default,
        deserialize_with = "wire::list"
    )]
    pub order_extended_properties: Vec<NameValue>,
    /// Also sent as `SaveConfigItems`; both names are accepted.
    #[serde(
        rename = "ServiceConfigItems",
        alias = "SaveConfigItems",
        default,
        deserialize_with = "wire::list"
    )]
    pub service_config_items: Vec<ConfigItemValue>,
}

impl GenerateLabelRequest {
    /// Street lines in order, empty ones dropped.
    pub fn address_lines(&self) -> Vec<String> {
        [
            &self.address_line1,
            &self.address_line2,
            &self.address_line3,
        ]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect()
    }
}

fn non_negative(field: String, value: f64) -> Result<(), ContractError> {
    if !value.is_finite() || value < 0.0 {
        return Err(ContractError::field(
            field,
            format!("must be a number of at least 0, got {value}"),
        ));
    }
    Ok(())
}

/// Most packages one GenerateLabel may ask labels for. Each is rendered (times the
/// mapping's Label Copies, 1-5) into the one reply, so an unbounded list could exhaust the
/// process; no real consignment comes near it.
pub const MAX_PACKAGES: usize = 50;

impl Validate for GenerateLabelRequest {
    fn validate(&self) -> Result<(), ContractError> {
        if self.authorization_token.is_empty() {
            return Err(ContractError::required("AuthorizationToken"));
        }
        if self.name.trim().is_empty() && self.company_name.trim().is_empty() {
            return Err(ContractError::field(
                "Name",
                "is required (or CompanyName): the label needs a recipient",
            ));
        }
        if self.address_line1.trim().is_empty() {
            return Err(ContractError::required("AddressLine1"));
        }
        let country = self.country_code.trim();
        if country.is_empty() {
            return Err(ContractError::required("CountryCode"));
        }
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ContractError::field(
                "CountryCode",
                format!("must be a two-letter ISO 3166-1 code, got {country:?}"),
            ));
        }
        if self.order_id <= 0 {
            return Err(ContractError::field(
                "OrderId",
                format!("must be a positive order number, got {}", self.order_id),
            ));
        }
        if self.order_reference.trim().is_empty() {
            return Err(ContractError::required("OrderReference"));
        }
        non_negative("OrderValue".into(), self.order_value)?;
        non_negative("PostageCharges".into(), self.postage_charges)?;
        if self.service_id.is_nil() {
            return Err(ContractError::field(
                "ServiceId",
                "must not be the nil GUID",
            ));
        }
        if self.packages.is_empty() {
            return Err(ContractError::field(
                "Packages",
                "must list at least one package",
            ));
        }
        if self.packages.len() > MAX_PACKAGES {
            return Err(ContractError::field(
                "Packages",
                format!(
                    "lists {} packages; at most {MAX_PACKAGES} can be labelled in one call",
                    self.packages.len()
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.packages.iter().enumerate() {
            let at = format!("Packages[{i}]");
            if p.sequence_number < 1 {
                return Err(ContractError::field(
                    format!("{at}.SequenceNumber"),
                    format!("must be 1 or more, got {}", p.sequence_number),
                ));
            }
            if !seen.insert(p.sequence_number) {
                return Err(ContractError::field(
                    format!("{at}.SequenceNumber"),
                    format!("repeats sequence number {}", p.sequence_number),
                ));
            }
            non_negative(format!("{at}.PackageWeight"), p.package_weight)?;
            non_negative(format!("{at}.PackageWidth"), p.package_width)?;
            non_negative(format!("{at}.PackageHeight"), p.package_height)?;
            non_negative(format!("{at}.PackageDepth"), p.package_depth)?;
            for (j, item) in p.items.iter().enumerate() {
                if item.quantity < 0 {
                    return Err(ContractError::field(
                        format!("{at}.Items[{j}].Quantity"),
                        format!("must be 0 or more, got {}", item.quantity),
                    ));
                }
                non_negative(format!("{at}.Items[{j}].UnitValue"), item.unit_value)?;
                non_negative(format!("{at}.Items[{j}].UnitWeight"), item.unit_weight)?;
            }
        }
        validate_config_values("ServiceConfigItems", &self.service_config_items)
    }
}

/// One labelled package in the GenerateLabel reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LabelPackage {
    /// As in the request.
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: i64,
    #[serde(rename = "TrackingNumber")]
    pub tracking_number: String,
    /// The first copy of the label.
    #[serde(rename = "PNGLabelDataBase64")]
    pub png_label_data_base64: String,
    /// Further copies (Label Copies above 1), one PNG each.
    #[serde(rename = "AdditionalPngsBase64")]
    pub additional_pngs_base64: Vec<String>,
    /// PDF documents printed with the label: here the label itself as a PDF (every copy a
    /// page), as the guide says each label is returned as a PNG image and a PDF document.
    /// Always an array, never null.
    #[serde(rename = "PDFBytesDocumentationBase64")]
    pub pdf_bytes_documentation_base64: Vec<String>,
    /// Label size in inches.
    #[serde(rename = "LabelWidth")]
    pub label_width: f64,
    #[serde(rename = "LabelHeight")]
    pub label_height: f64,
}

impl LabelPackage {
    /// The reply entry for a rendered label: first PNG as the label, the other
    /// copies as additional PNGs, and the label PDF as the one document.
    pub fn from_rendered(
        sequence_number: i64,
        tracking_number: impl Into<String>,
        label: &RenderedLabel,
    ) -> Self {
        let mut pngs = label.pngs.iter().map(|png| BASE64.encode(png));
        Self {
            sequence_number,
            tracking_number: tracking_number.into(),
            png_label_data_base64: pngs.next().unwrap_or_default(),
            additional_pngs_base64: pngs.collect(),
            pdf_bytes_documentation_base64: vec![BASE64.encode(&label.pdf)],
            label_width: label.width_inches,
            label_height: label.height_inches,
        }
    }
}

/// GenerateLabel reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GenerateLabelResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "LeadTrackingNumber")]
    pub lead_tracking_number: String,
    #[serde(rename = "Cost")]
    pub cost: f64,
    #[serde(rename = "Currency")]
    pub currency: String,
    #[serde(rename = "Package")]
    pub package: Vec<LabelPackage>,
}

/// CancelLabel: Linnworks cancels an order's label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CancelLabelRequest {
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
    #[serde(rename = "OrderReference", default, deserialize_with = "wire::string")]
    pub order_reference: String,
}

impl Validate for CancelLabelRequest {
    fn validate(&self) -> Result<(), ContractError> {
        if self.authorization_token.is_empty() {
            return Err(ContractError::required("AuthorizationToken"));
        }
        if self.order_reference.trim().is_empty() {
            return Err(ContractError::required("OrderReference"));
        }
        Ok(())
    }
}

/// CancelLabel reply (status only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CancelLabelResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
}

error_constructor!(GenerateLabelResponse, CancelLabelResponse);
