//! What a label shows: a plain struct, independent of Linnworks, Stream and the store.

use crate::domain::LabelType;
use crate::domain::label::COPIES;

use super::error::LabelError;

/// A postal address as printed on a label. Empty fields are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelAddress {
    pub name: String,
    pub company: String,
    /// Street lines in order (Linnworks has up to three); empty ones are skipped.
    pub address_lines: Vec<String>,
    pub town: String,
    /// County or region.
    pub region: String,
    pub postcode: String,
    /// ISO 3166-1 alpha-2 code, e.g. `GB`.
    pub country_code: String,
    pub phone: String,
}

/// Everything one package's label carries.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelInput {
    pub label_type: LabelType,
    /// Identical copies wanted, 1..=5 (the mapping's Label Copies).
    pub copies: u32,
    pub sender: LabelAddress,
    pub recipient: LabelAddress,
    /// The Linnworks order reference (e.g. the channel reference or order number).
    pub order_reference: String,
    /// The installation's label reference, printed when set.
    pub label_reference: Option<String>,
    /// The service as the warehouse knows it, e.g. "Stream Next Day".
    pub service_name: String,
    /// The service's short code, printed under its name when set.
    pub service_code: String,
    /// This package's number, 1-based.
    pub package_number: u32,
    /// The number of packages in the consignment.
    pub package_count: u32,
    /// Stream's consignment number.
    pub consignment_number: String,
    /// Stream's tracking number: encoded as the Code 128 barcode.
    pub tracking_number: String,
    /// Stream's tracking URL: encoded as the QR code on types that have one.
    pub tracking_url: String,
    /// Package weight in kilograms, printed when known.
    pub weight_kg: Option<f64>,
}

impl LabelInput {
    /// Checks what a label cannot be drawn without. Fit checks (barcode width)
    /// happen during layout, where the space is known.
    pub fn validate(&self) -> Result<(), LabelError> {
        if !COPIES.contains(&self.copies) {
            return Err(LabelError::CopiesOutOfRange {
                copies: self.copies,
            });
        }
        if self.package_count == 0
            || self.package_number == 0
            || self.package_number > self.package_count
        {
            return Err(LabelError::PackageNumber {
                number: self.package_number,
                count: self.package_count,
            });
        }
        let tracking = self.tracking_number.trim();
        if tracking.is_empty() {
            return Err(LabelError::MissingField("tracking_number"));
        }
        if let Some(bad) = tracking.chars().find(|c| !matches!(c, ' '..='~')) {
            return Err(LabelError::TrackingNumberCharacter(bad));
        }
        if self.recipient.name.trim().is_empty() && self.recipient.company.trim().is_empty() {
            return Err(LabelError::MissingField("recipient.name"));
        }
        if self.label_type.has_qr() && self.tracking_url.trim().is_empty() {
            return Err(LabelError::MissingField("tracking_url"));
        }
        if let Some(kg) = self.weight_kg
            && !(kg.is_finite() && kg >= 0.0)
        {
            return Err(LabelError::Weight(kg));
        }
        Ok(())
    }
}
